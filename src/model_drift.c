/*-------------------------------------------------------------------------
 * model_drift.c
 *	  Monitoring a deployed model: risk.feature_drift, the CSI of every
 *	  feature of a model between a reference slice and a current one,
 *	  ranked; risk.score_drift, the PSI of the model's score between them.
 *
 * Both take the two slices as queries (or tables) named reference rows
 * and current rows, so the direction cannot be flipped by mistake (risk.psi's
 * boolean says which rows are the actual ones, and a user who reads it as
 * "is the training row" gets another number).  Each is one SQL statement
 * over the union of the two slices, run as the caller: the aggregates are
 * risk.csi and risk.psi themselves (bins at the reference's quantiles),
 * one scan for every feature.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "catalog.h"
#include "model_alias.h"
#include "model_cache.h"

PG_FUNCTION_INFO_V1(risk_feature_drift);
PG_FUNCTION_INFO_V1(risk_score_drift);

static char *
slice_arg(FunctionCallInfo fcinfo, int arg, const char *what)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the %s query must not be NULL", what)));
	return catalog_query_text(text_to_cstring(PG_GETARG_TEXT_PP(arg)));
}

static int
bins_arg(FunctionCallInfo fcinfo, int arg)
{
	int			bins = PG_ARGISNULL(arg) ? 10 : PG_GETARG_INT32(arg);

	if (bins < 2 || bins > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bins must be from 2 to 10000, not %d", bins)));
	return bins;
}

/* The column types of a query's result, by preparing it (nothing runs). */
static TupleDesc
query_columns(const char *sql, const char *what)
{
	SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);
	List	   *sources;
	TupleDesc	desc;

	if (plan == NULL)
		elog(ERROR, "could not prepare the %s query: %s", what, SPI_result_code_string(SPI_result));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("the %s query must be a SELECT (or a table's name)", what)));
	sources = SPI_plan_get_plan_sources(plan);
	desc = CreateTupleDescCopy(((CachedPlanSource *) linitial(sources))->resultDesc);
	SPI_freeplan(plan);
	return desc;
}

/* The feature's column in desc (0-based), or an error naming the slice. */
static int
feature_column(TupleDesc desc, const char *feature, const char *what, const char *model)
{
	int			found = -1;

	for (int a = 0; a < desc->natts; a++)
		if (!TupleDescAttr(desc, a)->attisdropped && strcmp(NameStr(TupleDescAttr(desc, a)->attname), feature) == 0)
		{
			if (found >= 0)
				ereport(ERROR,
						(errcode(ERRCODE_AMBIGUOUS_COLUMN),
						 errmsg("the %s query has more than one column \"%s\"", what, feature)));
			found = a;
		}
	if (found < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("the %s query has no column \"%s\", a feature of model \"%s\"", what, feature, model)));
	return found;
}

/* A feature column as double precision: booleans as 0 and 1. */
static void
append_value(StringInfo buf, const char *alias, const char *feature, Oid type)
{
	appendStringInfo(buf, "%s.%s", alias, quote_identifier(feature));
	if (type == BOOLOID)
		appendStringInfoString(buf, "::pg_catalog.int4");
	appendStringInfoString(buf, "::pg_catalog.float8");
}

/*
 * risk.feature_drift(model, reference_rows, current_rows, bins) -> (rank,
 * feature, csi, reference_count, current_count, reference_missing, current_missing)
 */
Datum
risk_feature_drift(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *ref = model_ref_check(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0));
	char	   *reference = slice_arg(fcinfo, 1, "reference");
	char	   *current = slice_arg(fcinfo, 2, "current");
	int			bins = bins_arg(fcinfo, 3);
	CachedModel *m;
	int			nf;
	char	  **names;
	char	   *model_name;
	TupleDesc	rdesc,
				cdesc;
	StringInfoData sql,
				ref_cols,
				cur_cols;
	int		   *order;
	double	   *csi;
	bool	   *csi_null;
	HeapTuple	row;
	TupleDesc	desc;
	int64		rows[2];
	bool		isnull;

	InitMaterializedSRF(fcinfo, 0);
	m = model_cache_pin(ref);
	nf = m->num_features;
	names = palloc(sizeof(char *) * nf);
	for (int f = 0; f < nf; f++)
		names[f] = pstrdup(m->feature_names[f]);
	model_name = pstrdup(m->name);
	model_cache_unpin(m);

	catalog_spi_connect();
	rdesc = query_columns(reference, "reference");
	cdesc = query_columns(current, "current");
	initStringInfo(&sql);
	initStringInfo(&ref_cols);
	initStringInfo(&cur_cols);
	appendStringInfoString(&sql, "SELECT pg_catalog.count(*) FILTER (WHERE NOT u.is_current),"
						   " pg_catalog.count(*) FILTER (WHERE u.is_current)");
	for (int f = 0; f < nf; f++)
	{
		int			ra = feature_column(rdesc, names[f], "reference", model_name);
		int			ca = feature_column(cdesc, names[f], "current", model_name);

		appendStringInfo(&ref_cols, ", ");
		append_value(&ref_cols, "risk_reference", names[f], TupleDescAttr(rdesc, ra)->atttypid);
		appendStringInfo(&ref_cols, " AS f%d", f);
		appendStringInfo(&cur_cols, ", ");
		append_value(&cur_cols, "risk_current", names[f], TupleDescAttr(cdesc, ca)->atttypid);
		appendStringInfo(&cur_cols, " AS f%d", f);
		appendStringInfo(&sql, ", risk.csi(u.f%d, u.is_current, %d),"
						 " pg_catalog.count(*) FILTER (WHERE NOT u.is_current AND u.f%d IS NULL),"
						 " pg_catalog.count(*) FILTER (WHERE u.is_current AND u.f%d IS NULL)", f, bins, f, f);
	}
	appendStringInfo(&sql, " FROM (SELECT false AS is_current%s FROM (%s) AS risk_reference"
					 " UNION ALL SELECT true%s FROM (%s) AS risk_current) AS u",
					 ref_cols.data, reference, cur_cols.data, current);
	if (SPI_execute(sql.data, false, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not compute the drift of the features");
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	rows[0] = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
	rows[1] = DatumGetInt64(SPI_getbinval(row, desc, 2, &isnull));
	csi = palloc(sizeof(double) * nf);
	csi_null = palloc(sizeof(bool) * nf);
	order = palloc(sizeof(int) * nf);
	for (int f = 0; f < nf; f++)
	{
		Datum		d = SPI_getbinval(row, desc, 3 + 3 * f, &csi_null[f]);

		csi[f] = csi_null[f] ? 0 : DatumGetFloat8(d);
		order[f] = f;
	}
	/* ranked: the largest CSI first, NULL last, ties in the model's order */
	for (int i = 1; i < nf; i++)
		for (int j = i; j > 0; j--)
		{
			int			a = order[j - 1],
						b = order[j];
			bool		swap = csi_null[a] ? !csi_null[b] : (!csi_null[b] && csi[b] > csi[a]);

			if (!swap)
				break;
			order[j - 1] = b;
			order[j] = a;
		}
	for (int k = 0; k < nf; k++)
	{
		int			f = order[k];
		Datum		values[7];
		bool		nulls[7] = {false};
		int64		miss[2];

		miss[0] = DatumGetInt64(SPI_getbinval(row, desc, 4 + 3 * f, &isnull));
		miss[1] = DatumGetInt64(SPI_getbinval(row, desc, 5 + 3 * f, &isnull));
		values[0] = Int32GetDatum(k + 1);
		values[1] = CStringGetTextDatum(names[f]);
		values[2] = Float8GetDatum(csi[f]);
		nulls[2] = csi_null[f];
		values[3] = Int64GetDatum(rows[0]);
		values[4] = Int64GetDatum(rows[1]);
		values[5] = Float8GetDatum(rows[0] ? (double) miss[0] / rows[0] : 0);
		nulls[5] = rows[0] == 0;
		values[6] = Float8GetDatum(rows[1] ? (double) miss[1] / rows[1] : 0);
		nulls[6] = rows[1] == 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * risk.score_drift(model, reference_rows, current_rows, bins) -> (psi,
 * reference_count, current_count, reference_mean, current_mean): the rows of
 * each slice scored with risk.score(model, row).
 */
Datum
risk_score_drift(PG_FUNCTION_ARGS)
{
	char	   *ref = model_ref_check(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0));
	char	   *reference = slice_arg(fcinfo, 1, "reference");
	char	   *current = slice_arg(fcinfo, 2, "current");
	int			bins = bins_arg(fcinfo, 3);
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(ref)};
	StringInfoData sql;
	TupleDesc	desc;
	Datum		values[5];
	bool		nulls[5];
	HeapTuple	tuple;

	catalog_spi_connect();
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT risk.psi(u.s, u.is_current, %d),"
					 " pg_catalog.count(*) FILTER (WHERE NOT u.is_current), pg_catalog.count(*) FILTER (WHERE u.is_current),"
					 " pg_catalog.avg(u.s) FILTER (WHERE NOT u.is_current), pg_catalog.avg(u.s) FILTER (WHERE u.is_current)"
					 " FROM (SELECT false AS is_current, risk.score($1, risk_reference) AS s FROM (%s) AS risk_reference"
					 " UNION ALL SELECT true, risk.score($1, risk_current) FROM (%s) AS risk_current) AS u",
					 bins, reference, current);
	if (SPI_execute_with_args(sql.data, 1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not compute the drift of the score");
	for (int i = 0; i < 5; i++)
		values[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &nulls[i]);
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "risk.score_drift must return a composite type");
	desc = BlessTupleDesc(desc);
	tuple = heap_form_tuple(desc, values, nulls);
	tuple = SPI_copytuple(tuple);
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}

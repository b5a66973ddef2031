/*-------------------------------------------------------------------------
 * feature_array.c
 *	  The one reader of feature arrays (float4[] or float8[]) for every
 *	  scoring path: risk.score, score_margin, score_classes,
 *	  score_contributions, score_xgboost* and the scoring trigger.  Its
 *	  checks, and so its errors and SQLSTATEs, are the same everywhere.
 *	  And its inverse, for the trigger's features= column.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"
#include "access/htup_details.h"

#include "feature_array.h"

void
features_not_finite(const CachedModel *m, int feature)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("feature %d (\"%s\") of model \"%s\" is infinite or out of float4 range",
					feature + 1, m->feature_names[feature], m->name),
			 errhint("XGBoost's predict() refuses infinite inputs too; use NULL or NaN for a missing value.")));
}

static void
check_shape(const CachedModel *m, ArrayType *a)
{
	int			n;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features must be a one-dimensional array"),
				 errdetail("The array has %d dimensions.", ARR_NDIM(a))));
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	if (n != m->num_features)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" expects %d features, got %d",
						m->name, m->num_features, n),
				 errhint("SELECT * FROM risk.model_features('%s') lists them in order.", m->name)));
}

void
features_read_array(const CachedModel *m, ArrayType *a, Oid elemtype, float *row)
{
	const bits8 *bitmap = ARR_NULLBITMAP(a);
	int			n;

	check_shape(m, a);
	n = m->num_features;
	if (elemtype == FLOAT4OID)
	{
		const float *data = (const float *) ARR_DATA_PTR(a);

		if (bitmap == NULL)
			memcpy(row, data, sizeof(float) * n);
		else
			for (int i = 0; i < n; i++)
				row[i] = (bitmap[i / 8] & (1 << (i % 8))) ? *data++ : NAN;
	}
	else if (elemtype == FLOAT8OID)
	{
		const double *data = (const double *) ARR_DATA_PTR(a);

		for (int i = 0; i < n; i++)
			row[i] = (bitmap && !(bitmap[i / 8] & (1 << (i % 8)))) ? NAN : (float) *data++;
	}
	else
		elog(ERROR, "features of type %u are not read as an array", elemtype);
	for (int i = 0; i < n; i++)
		if (unlikely(isinf(row[i])))
			features_not_finite(m, i);
}

ArrayType *
features_make_array(const float *row, int n, Oid elemtype)
{
	Datum	   *values = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};
	ArrayType  *a;

	Assert(elemtype == FLOAT4OID || elemtype == FLOAT8OID);
	for (int i = 0; i < n; i++)
	{
		nulls[i] = isnan(row[i]);
		values[i] = elemtype == FLOAT4OID ? Float4GetDatum(row[i]) : Float8GetDatum((double) row[i]);
	}
	if (elemtype == FLOAT4OID)
		a = construct_md_array(values, nulls, 1, dims, lbs, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
	else
		a = construct_md_array(values, nulls, 1, dims, lbs, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
							   TYPALIGN_DOUBLE);
	pfree(values);
	pfree(nulls);
	return a;
}

FeatureType
features_column_type(Oid typid)
{
	switch (getBaseType(typid))
	{
		case FLOAT4OID:
			return FT_FLOAT4;
		case FLOAT8OID:
			return FT_FLOAT8;
		case INT2OID:
			return FT_INT2;
		case INT4OID:
			return FT_INT4;
		case INT8OID:
			return FT_INT8;
		case NUMERICOID:
			return FT_NUMERIC;
		case BOOLOID:
			return FT_BOOL;
	}
	return FT_NONE;
}

/* ---- a row type's columns bound to the model's features, by name ---- */


static FeatureType
feature_type(Oid typid, const CachedModel *m, int feature, const char *colname)
{
	FeatureType t = features_column_type(typid);

	if (t == FT_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" has type %s, which model \"%s\" cannot use as a feature",
						colname, format_type_be(typid), m->name),
				 errhint(FEATURE_TYPES_HINT)));
	return t;
}

static char *
feature_list(const CachedModel *m)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < m->num_features && buf.len < 400; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", m->feature_names[i]);
	if (buf.len >= 400)
		appendStringInfoString(&buf, ", ...");
	return buf.data;
}

static void
bind_row(RowBinding *b, const CachedModel *m, MemoryContext mcxt, HeapTupleHeader rec)
{
	Oid			typid = HeapTupleHeaderGetTypeId(rec);
	int32		typmod = HeapTupleHeaderGetTypMod(rec);
	TupleDesc	td;
	MemoryContext old;

	if (b->rowtype == typid && b->rowtypmod == typmod && b->rowtype != InvalidOid)
		return;

	td = lookup_rowtype_tupdesc(typid, typmod);
	old = MemoryContextSwitchTo(mcxt);
	if (b->tupdesc)
	{
		FreeTupleDesc(b->tupdesc);
		pfree(b->values);
		pfree(b->nulls);
		pfree(b->attno);
		pfree(b->type);
	}
	b->tupdesc = CreateTupleDescCopy(td);
	b->values = palloc(sizeof(Datum) * Max(td->natts, 1));
	b->nulls = palloc(sizeof(bool) * Max(td->natts, 1));
	b->attno = palloc(sizeof(int) * Max(m->num_features, 1));
	b->type = palloc(sizeof(FeatureType) * Max(m->num_features, 1));
	MemoryContextSwitchTo(old);
	b->rowtype = InvalidOid;	/* until the binding is complete */

	for (int f = 0; f < m->num_features; f++)
	{
		const char *want = m->feature_names[f];
		int			found = -1;

		for (int a = 0; a < td->natts; a++)
		{
			Form_pg_attribute att = TupleDescAttr(td, a);

			if (att->attisdropped || strcmp(NameStr(att->attname), want) != 0)
				continue;
			if (found >= 0)
			{
				ReleaseTupleDesc(td);
				ereport(ERROR,
						(errcode(ERRCODE_AMBIGUOUS_COLUMN),
						 errmsg("row has more than one column \"%s\", a feature of model \"%s\"",
								want, m->name),
						 errdetail("Columns %d and %d have the same name.", found + 1, a + 1),
						 errhint("Give each column of the row its own name.")));
			}
			found = a;
		}
		if (found < 0)
		{
			ReleaseTupleDesc(td);
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("row has no column \"%s\", a feature of model \"%s\"", want, m->name),
					 errdetail("Model \"%s\" version %d reads the columns: %s.",
							   m->name, m->version, feature_list(m)),
					 errhint("Rename or add the column in the query, e.g. SELECT risk.score('%s', t) FROM (SELECT ... AS %s, ...) t.",
							 m->name, want)));
		}
		b->attno[f] = found;
		b->type[f] = feature_type(TupleDescAttr(td, found)->atttypid, m, f, want);
	}
	ReleaseTupleDesc(td);
	b->rowtype = typid;
	b->rowtypmod = typmod;
}

void
features_read_record(RowBinding *b, const CachedModel *m, MemoryContext mcxt, HeapTupleHeader rec, float *row)
{
	HeapTupleData tuple;

	bind_row(b, m, mcxt, rec);
	tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = rec;
	heap_deform_tuple(&tuple, b->tupdesc, b->values, b->nulls);

	for (int f = 0; f < m->num_features; f++)
	{
		int			a = b->attno[f];
		Datum		d = b->values[a];
		float		v;

		if (b->nulls[a])
		{
			row[f] = NAN;
			continue;
		}
		v = features_column_value(b->type[f], d);
		if (unlikely(isinf(v)))
			features_not_finite(m, f);
		row[f] = v;
	}
}


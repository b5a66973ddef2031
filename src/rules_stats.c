/*-------------------------------------------------------------------------
 * rules_stats.c
 *	  risk.rule_stats: each rule's hits per day on a table the scoring
 *	  trigger decided, from the hits and shadow_hits columns it wrote;
 *	  with a label, the fraud and good orders among them, their amounts,
 *	  precision, recall and the fraud no other block or review rule caught
 *	  (the rule set tells allow rules apart: the action of each key in its
 *	  latest published version).  One query over the table, for the daily
 *	  dashboard (a materialized view).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "catalog.h"

/* The column `name` of relid, quoted; errors (42703, 42804) when it is missing or of another type. */
static const char *
stats_column(Oid relid, const char *name, Oid type, const char *what)
{
	AttrNumber	att = get_attnum(relid, name);
	Oid			t;

	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("table %s has no column \"%s\" for the %s", get_rel_name(relid), name, what)));
	t = get_atttype(relid, att);
	if (OidIsValid(type) && t != type)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of %s is %s, not %s, for the %s", name, get_rel_name(relid),
						format_type_be(t), format_type_be(type), what)));
	return quote_identifier(name);
}

/*
 * The keys of the allow rules of the rule set `name` (NULL: of the rule sets
 * of relid), each key's action being that of its latest published version,
 * as a text[] in the caller's memory.  Read as the owner of the rule
 * tables: the caller reads only which of the keys its table records are
 * allow rules.  SPI is connected.
 */
static Datum
stats_allow_keys(const char *name, Oid relid)
{
	Oid			argtypes[2] = {TEXTOID, OIDOID};
	Datum		args[2];
	char		nulls[2] = {' ', ' '};
	CatalogIdentity saved;
	bool		isnull;
	Datum		keys;

	if (name)
		args[0] = CStringGetTextDatum(name);
	else
		nulls[0] = 'n';
	args[1] = ObjectIdGetDatum(relid);
	catalog_as_owner("published_rules", &saved);
	if (name &&
		(SPI_execute_with_args("SELECT 1 FROM " RISK_SCHEMA ".rule_sets WHERE name OPERATOR(pg_catalog.=) $1",
							   1, argtypes, args, nulls, true, 1) != SPI_OK_SELECT || SPI_processed == 0))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("rule set \"%s\" does not exist", name)));
	if (SPI_execute_with_args("SELECT COALESCE(pg_catalog.array_agg(k.key), '{}'::pg_catalog.text[])"
							  " FROM (SELECT DISTINCT ON (r.key) r.key, r.action"
							  " FROM " RISK_SCHEMA ".published_rules r JOIN " RISK_SCHEMA ".rule_sets s"
							  " ON s.name OPERATOR(pg_catalog.=) r.rule_set"
							  " WHERE CASE WHEN $1 IS NULL THEN s.relation::pg_catalog.oid OPERATOR(pg_catalog.=) $2"
							  " ELSE s.name OPERATOR(pg_catalog.=) $1 END"
							  " ORDER BY r.key, r.version DESC) k"
							  " WHERE k.action OPERATOR(pg_catalog.=) 'allow'",
							  2, argtypes, args, nulls, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the actions of the rules");
	catalog_as_caller(&saved);
	keys = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return SPI_datumTransfer(keys, false, -1);
}

/* risk.rule_stats(relation, since, until, label, amount, at, hits, shadow_hits, rule_set) */
PG_FUNCTION_INFO_V1(risk_rule_stats);
Datum
risk_rule_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid;
	const char *label = NULL;
	const char *amount;
	const char *at;
	const char *hits;
	const char *shadow;
	char	   *q;
	Oid			argtypes[3] = {TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTARRAYOID};
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("the table must not be NULL")));
	relid = PG_GETARG_OID(0);
	if (!PG_ARGISNULL(3))
		label = stats_column(relid, text_to_cstring(PG_GETARG_TEXT_PP(3)), BOOLOID, "label");
	amount = stats_column(relid, PG_ARGISNULL(4) ? "amount" : text_to_cstring(PG_GETARG_TEXT_PP(4)), InvalidOid, "amount");
	at = stats_column(relid, PG_ARGISNULL(5) ? "created_at" : text_to_cstring(PG_GETARG_TEXT_PP(5)), TIMESTAMPTZOID, "time");
	hits = stats_column(relid, PG_ARGISNULL(6) ? "hits" : text_to_cstring(PG_GETARG_TEXT_PP(6)), TEXTARRAYOID, "enforced hits");
	shadow = stats_column(relid, PG_ARGISNULL(7) ? "shadow_hits" : text_to_cstring(PG_GETARG_TEXT_PP(7)), TEXTARRAYOID,
						  "shadow hits");
	if (PG_ARGISNULL(1))
		nulls[0] = 'n';
	else
		args[0] = PG_GETARG_DATUM(1);
	if (PG_ARGISNULL(2))
		nulls[1] = 'n';
	else
		args[1] = PG_GETARG_DATUM(2);
	q = psprintf("WITH o AS MATERIALIZED ("
				 " SELECT t.%s::pg_catalog.date AS day, %s%s::pg_catalog.bool AS fraud,"
				 " t.%s::pg_catalog.float8 AS amount,"
				 " COALESCE(t.%s, '{}'::pg_catalog.text[]) AS hits, COALESCE(t.%s, '{}'::pg_catalog.text[]) AS shadow"
				 " FROM %s t"
				 " WHERE ($1 IS NULL OR t.%s OPERATOR(pg_catalog.>=) $1) AND ($2 IS NULL OR t.%s OPERATOR(pg_catalog.<) $2)),"
				 " d AS (SELECT day, pg_catalog.count(*) AS orders, pg_catalog.count(*) FILTER (WHERE fraud) AS fraud_orders"
				 " FROM o GROUP BY day),"
				 " h AS (SELECT o.day, k.key, k.mode, o.fraud, o.amount,"
				 " (SELECT pg_catalog.count(*) FROM pg_catalog.unnest(o.hits OPERATOR(pg_catalog.||) o.shadow) y"
				 " WHERE y OPERATOR(pg_catalog.<>) ALL ($3)) AS n"
				 " FROM o, LATERAL (SELECT x, 'enforce' FROM pg_catalog.unnest(o.hits) x"
				 " UNION ALL SELECT x, 'shadow' FROM pg_catalog.unnest(o.shadow) x) k(key, mode))"
				 " SELECT h.day, h.key, h.mode, d.orders, pg_catalog.count(*),"
				 " pg_catalog.count(*)::pg_catalog.float8 OPERATOR(pg_catalog./) d.orders,"
				 " %s, %s, %s, %s, %s, %s"
				 " FROM h JOIN d ON d.day OPERATOR(pg_catalog.=) h.day"
				 " GROUP BY h.day, h.key, h.mode, d.orders, d.fraud_orders ORDER BY 1, 3, 2",
				 at, label ? "t." : "", label ? label : "NULL", amount, hits, shadow,
				 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid)),
				 at, at,
				 label ? "pg_catalog.count(*) FILTER (WHERE h.fraud)" : "NULL::pg_catalog.int8",
				 label ? "pg_catalog.count(*) FILTER (WHERE h.fraud)::pg_catalog.float8 OPERATOR(pg_catalog./) pg_catalog.count(*)"
				 : "NULL::pg_catalog.float8",
				 label ? "pg_catalog.count(*) FILTER (WHERE h.fraud)::pg_catalog.float8 OPERATOR(pg_catalog./) "
				 "NULLIF(d.fraud_orders, 0)" : "NULL::pg_catalog.float8",
				 label ? "COALESCE(pg_catalog.sum(h.amount) FILTER (WHERE h.fraud), 0)" : "NULL::pg_catalog.float8",
				 label ? "COALESCE(pg_catalog.sum(h.amount) FILTER (WHERE NOT h.fraud), 0)" : "NULL::pg_catalog.float8",
				 label ? "CASE WHEN h.key OPERATOR(pg_catalog.=) ANY ($3) THEN NULL"
				 " ELSE pg_catalog.count(*) FILTER (WHERE h.fraud AND h.n OPERATOR(pg_catalog.=) 1) END" : "NULL::pg_catalog.int8");
	InitMaterializedSRF(fcinfo, 0);
	catalog_spi_connect();
	args[2] = stats_allow_keys(PG_NARGS() <= 8 || PG_ARGISNULL(8) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(8)), relid);
	if (SPI_execute_with_args(q, 3, argtypes, args, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the hits of %s", get_rel_name(relid));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		values[12];
		bool		isnull[12];

		for (int c = 0; c < 12; c++)
			values[c] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c + 1, &isnull[c]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	SPI_finish();
	return (Datum) 0;
}

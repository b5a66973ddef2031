/*-------------------------------------------------------------------------
 * backtest.c
 *	  risk.backtest: a draft or published rule set run over history, in one
 *	  scan, against the version deciding today.
 *
 * The work is an aggregate, risk._backtest, so that PostgreSQL can split
 * the scan over parallel workers (combine, serialize): each row of the
 * history is decided by the tested version and by the baseline exactly as
 * the trigger would have decided it at the order's time (its features of
 * then, lists as of then, now() its time), and counted: per rule its hits,
 * the fraud and good orders among them and their amounts, its errors, and
 * the fraud only it catches; per version its decisions; and how decisions
 * change from the baseline to the tested version.  risk.backtest builds the
 * query from the history the analyst names, leaves out (and counts) the
 * orders whose labels are not mature, and returns the report as jsonb;
 * risk.backtest_rules, backtest_decisions and backtest_changes read it as
 * rows.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "catalog.h"
#include "decision.h"
#include "feature_array.h"
#include "forest.h"
#include "rules.h"

#define BACKTEST_FORMAT 1

typedef struct Counts
{
	int64		orders;
	int64		fraud;
	double		fraud_amount;
	double		good_amount;
} Counts;

typedef struct RuleMeta
{
	char	   *key;
	Decision	action;
	RuleMode	mode;
	int32		priority;
} RuleMeta;

typedef struct BacktestState
{
	char		rule_set[64];
	int32		version;		/* 0: the draft */
	int32		baseline;		/* 0: none */
	int			nrules;
	RuleMeta   *meta;
	Counts	   *hits;			/* per rule */
	Counts	   *unique;			/* fraud only this block or review rule catches */
	int64	   *errors;
	Counts		decisions[2][3];	/* [tested, baseline][decision] */
	Counts		changes[3][3];	/* [baseline][tested] */
	Counts		total;
	int64		immature;
	/* to evaluate (not serialized) */
	bool		ready;
	CompiledRuleSet *tested;
	bool		tested_is_draft;
	CompiledRuleSet *base;
	CachedModel *model;
	float	   *row;
	Datum	   *values;
	bool	   *nulls;
	MemoryContextCallback release;
} BacktestState;

static void
release(void *arg)
{
	BacktestState *s = (BacktestState *) arg;

	if (s->tested && !s->tested_is_draft)
		rules_unpin(s->tested);
	if (s->base)
		rules_unpin(s->base);
	if (s->model)
		model_cache_unpin(s->model);
	s->tested = s->base = NULL;
	s->model = NULL;
}

static void
add(Counts *c, bool fraud, double amount)
{
	c->orders++;
	if (fraud)
	{
		c->fraud++;
		c->fraud_amount += amount;
	}
	else
		c->good_amount += amount;
}

static void
merge(Counts *a, const Counts *b)
{
	a->orders += b->orders;
	a->fraud += b->fraud;
	a->fraud_amount += b->fraud_amount;
	a->good_amount += b->good_amount;
}

static void
state_arrays(BacktestState *s, int nrules)
{
	s->nrules = nrules;
	s->meta = palloc0(sizeof(RuleMeta) * Max(nrules, 1));
	s->hits = palloc0(sizeof(Counts) * Max(nrules, 1));
	s->unique = palloc0(sizeof(Counts) * Max(nrules, 1));
	s->errors = palloc0(sizeof(int64) * Max(nrules, 1));
}

/* First row (in this process): compile the versions, pin the model. */
static void
state_setup(BacktestState *s, FunctionCallInfo fcinfo, MemoryContext aggcxt)
{
	char	   *name = catalog_check_name(PG_GETARG_TEXT_PP(1), "rule set");
	RuleSetInfo set = rules_set_info(name);
	Oid			rowtype = get_fn_expr_argtype(fcinfo->flinfo, 4);
	TupleDesc	desc;
	MemoryContext old = MemoryContextSwitchTo(aggcxt);

	if (pg_class_aclcheck(catalog_relid("published_rules"), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, "published_rules");
	strlcpy(s->rule_set, name, sizeof(s->rule_set));
	s->version = PG_GETARG_INT32(2);
	s->baseline = PG_GETARG_INT32(3);
	if (get_rel_type_id(set.relid) != rowtype)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("rule set \"%s\" decides rows of table %s, not %s", name,
						format_type_be(get_rel_type_id(set.relid)), format_type_be(rowtype))));
	s->release.func = release;
	s->release.arg = s;
	MemoryContextRegisterResetCallback(aggcxt, &s->release);
	s->model = model_cache_pin(set.model);
	desc = lookup_rowtype_tupdesc_copy(rowtype, -1);
	if (s->version == 0)
	{
		s->tested = rules_compile_draft(&set, desc, get_rel_name(set.relid), s->model, aggcxt);
		s->tested_is_draft = true;
	}
	else
		s->tested = rules_pin(&set, s->version, set.relid, desc, get_rel_name(set.relid), s->model);
	if (s->baseline > 0)
		s->base = rules_pin(&set, s->baseline, set.relid, desc, get_rel_name(set.relid), s->model);
	state_arrays(s, s->tested->nrules);
	for (int i = 0; i < s->nrules; i++)
	{
		s->meta[i].key = pstrdup(s->tested->rules[i].def.key);
		s->meta[i].action = s->tested->rules[i].def.action;
		s->meta[i].mode = s->tested->rules[i].def.mode;
		s->meta[i].priority = s->tested->rules[i].def.priority;
	}
	s->row = palloc(sizeof(float) * s->model->num_features);
	s->values = palloc(sizeof(Datum) * Max(desc->natts, 1));
	s->nulls = palloc(sizeof(bool) * Max(desc->natts, 1));
	s->ready = true;
	MemoryContextSwitchTo(old);
}

/*
 * risk._backtest(state, rule_set, version, baseline, row, features, score,
 *                at, fraud, amount, mature)
 */
PG_FUNCTION_INFO_V1(risk_backtest_add);
Datum
risk_backtest_add(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	BacktestState *s;
	RuleInput	in;
	RowDecision d,
				b;
	Thresholds	th;
	bool		fraud;
	double		amount;
	ArrayType  *features;
	int			catching = 0;
	int			last = -1;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "risk._backtest_add called in non-aggregate context");
	s = PG_ARGISNULL(0) ? NULL : (BacktestState *) PG_GETARG_POINTER(0);
	if (s == NULL)
		s = MemoryContextAllocZero(aggcxt, sizeof(BacktestState));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("risk._backtest needs the rule set, the version and the baseline")));
	if (!s->ready)
		state_setup(s, fcinfo, aggcxt);
	if (PG_ARGISNULL(4))
		PG_RETURN_POINTER(s);
	if (!PG_ARGISNULL(10) && !PG_GETARG_BOOL(10))
	{
		s->immature++;
		PG_RETURN_POINTER(s);
	}
	if (PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a history row has NULL features")));
	features = PG_GETARG_ARRAYTYPE_P(5);
	features_read_array(s->model, features, ARR_ELEMTYPE(features), s->row);
	in.score = PG_ARGISNULL(6) ? decision_score(s->model, s->row) : PG_GETARG_FLOAT8(6);
	if (PG_ARGISNULL(7))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a history row has no time"),
				 errhint("Lists and now() are read at the order's time.")));
	in.at = PG_GETARG_TIMESTAMPTZ(7);
	fraud = !PG_ARGISNULL(8) && PG_GETARG_BOOL(8);
	amount = PG_ARGISNULL(9) ? 0 : PG_GETARG_FLOAT8(9);
	if (isinf(amount) || isnan(amount))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("a history row's amount is not finite")));
	decision_row_columns(PG_GETARG_HEAPTUPLEHEADER(4), s->values, s->nulls);
	in.values = s->values;
	in.nulls = s->nulls;
	in.features = s->row;
	th = decision_thresholds(s->tested->model);

	decision_make(s->tested, &in, &th, &d);
	add(&s->total, fraud, amount);
	add(&s->decisions[0][d.decision], fraud, amount);
	for (int i = 0; i < s->nrules; i++)
	{
		if (d.outcomes == NULL)
			break;
		if (d.outcomes[i] == OUTCOME_HIT)
		{
			add(&s->hits[i], fraud, amount);
			if (s->meta[i].action != DECISION_ALLOW)
			{
				catching++;
				last = i;
			}
		}
		else if (d.outcomes[i] == OUTCOME_ERROR)
			s->errors[i]++;
	}
	if (catching == 1)
		add(&s->unique[last], fraud, amount);
	if (s->base)
		decision_make(s->base, &in, &th, &b);
	else
	{
		memset(&b, 0, sizeof(b));
		b.decision = decision_by_thresholds(&th, in.score);
	}
	add(&s->decisions[1][b.decision], fraud, amount);
	add(&s->changes[b.decision][d.decision], fraud, amount);
	if (d.outcomes)
		pfree(d.outcomes), pfree(d.errors);
	if (b.outcomes)
		pfree(b.outcomes), pfree(b.errors);
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(risk_backtest_combine);
Datum
risk_backtest_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	BacktestState *a = PG_ARGISNULL(0) ? NULL : (BacktestState *) PG_GETARG_POINTER(0);
	BacktestState *b = PG_ARGISNULL(1) ? NULL : (BacktestState *) PG_GETARG_POINTER(1);

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "risk._backtest_combine called in non-aggregate context");
	if (b == NULL || b->meta == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL || a->meta == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(aggcxt);

		a = palloc0(sizeof(BacktestState));
		memcpy(a->rule_set, b->rule_set, sizeof(a->rule_set));
		a->version = b->version;
		a->baseline = b->baseline;
		state_arrays(a, b->nrules);
		for (int i = 0; i < b->nrules; i++)
		{
			a->meta[i] = b->meta[i];
			a->meta[i].key = pstrdup(b->meta[i].key);
		}
		MemoryContextSwitchTo(old);
	}
	if (a->nrules != b->nrules)
		elog(ERROR, "risk._backtest_combine: states of different rule sets");
	for (int i = 0; i < a->nrules; i++)
	{
		merge(&a->hits[i], &b->hits[i]);
		merge(&a->unique[i], &b->unique[i]);
		a->errors[i] += b->errors[i];
	}
	for (int v = 0; v < 2; v++)
		for (int x = 0; x < 3; x++)
			merge(&a->decisions[v][x], &b->decisions[v][x]);
	for (int x = 0; x < 3; x++)
		for (int y = 0; y < 3; y++)
			merge(&a->changes[x][y], &b->changes[x][y]);
	merge(&a->total, &b->total);
	a->immature += b->immature;
	PG_RETURN_POINTER(a);
}

static void
send_counts(StringInfo buf, const Counts *c)
{
	pq_sendint64(buf, c->orders);
	pq_sendint64(buf, c->fraud);
	pq_sendfloat8(buf, c->fraud_amount);
	pq_sendfloat8(buf, c->good_amount);
}

static void
recv_counts(StringInfo buf, Counts *c)
{
	c->orders = pq_getmsgint64(buf);
	c->fraud = pq_getmsgint64(buf);
	c->fraud_amount = pq_getmsgfloat8(buf);
	c->good_amount = pq_getmsgfloat8(buf);
}

PG_FUNCTION_INFO_V1(risk_backtest_serialize);
Datum
risk_backtest_serialize(PG_FUNCTION_ARGS)
{
	BacktestState *s = (BacktestState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, BACKTEST_FORMAT);
	pq_sendstring(&buf, s->rule_set);
	pq_sendint32(&buf, s->version);
	pq_sendint32(&buf, s->baseline);
	pq_sendint32(&buf, s->meta ? s->nrules : -1);
	for (int i = 0; s->meta && i < s->nrules; i++)
	{
		pq_sendstring(&buf, s->meta[i].key);
		pq_sendbyte(&buf, (uint8) s->meta[i].action);
		pq_sendbyte(&buf, (uint8) s->meta[i].mode);
		pq_sendint32(&buf, s->meta[i].priority);
		send_counts(&buf, &s->hits[i]);
		send_counts(&buf, &s->unique[i]);
		pq_sendint64(&buf, s->errors[i]);
	}
	for (int v = 0; v < 2; v++)
		for (int x = 0; x < 3; x++)
			send_counts(&buf, &s->decisions[v][x]);
	for (int x = 0; x < 3; x++)
		for (int y = 0; y < 3; y++)
			send_counts(&buf, &s->changes[x][y]);
	send_counts(&buf, &s->total);
	pq_sendint64(&buf, s->immature);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(risk_backtest_deserialize);
Datum
risk_backtest_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggcxt;
	MemoryContext old;
	StringInfoData buf;
	BacktestState *s;
	int			n;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "risk._backtest_deserialize called in non-aggregate context");
	old = MemoryContextSwitchTo(aggcxt);
	s = palloc0(sizeof(BacktestState));
	buf.data = VARDATA_ANY(bytes);
	buf.len = VARSIZE_ANY_EXHDR(bytes);
	buf.maxlen = buf.len;
	buf.cursor = 0;
	if (pq_getmsgbyte(&buf) != BACKTEST_FORMAT)
		elog(ERROR, "risk._backtest_deserialize: unknown format");
	strlcpy(s->rule_set, pq_getmsgstring(&buf), sizeof(s->rule_set));
	s->version = pq_getmsgint(&buf, 4);
	s->baseline = pq_getmsgint(&buf, 4);
	n = pq_getmsgint(&buf, 4);
	if (n >= 0)
	{
		state_arrays(s, n);
		for (int i = 0; i < n; i++)
		{
			s->meta[i].key = pstrdup(pq_getmsgstring(&buf));
			s->meta[i].action = (Decision) pq_getmsgbyte(&buf);
			s->meta[i].mode = (RuleMode) pq_getmsgbyte(&buf);
			s->meta[i].priority = pq_getmsgint(&buf, 4);
			recv_counts(&buf, &s->hits[i]);
			recv_counts(&buf, &s->unique[i]);
			s->errors[i] = pq_getmsgint64(&buf);
		}
	}
	for (int v = 0; v < 2; v++)
		for (int x = 0; x < 3; x++)
			recv_counts(&buf, &s->decisions[v][x]);
	for (int x = 0; x < 3; x++)
		for (int y = 0; y < 3; y++)
			recv_counts(&buf, &s->changes[x][y]);
	recv_counts(&buf, &s->total);
	s->immature = pq_getmsgint64(&buf);
	pq_getmsgend(&buf);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(s);
}

static void
json_counts(StringInfo out, const Counts *c)
{
	appendStringInfo(out, "\"orders\": " INT64_FORMAT ", \"fraud_orders\": " INT64_FORMAT
					 ", \"fraud_amount\": %.17g, \"good_amount\": %.17g",
					 c->orders, c->fraud, c->fraud_amount, c->good_amount);
}

PG_FUNCTION_INFO_V1(risk_backtest_final);
Datum
risk_backtest_final(PG_FUNCTION_ARGS)
{
	BacktestState *s = PG_ARGISNULL(0) ? NULL : (BacktestState *) PG_GETARG_POINTER(0);
	StringInfoData out;

	if (s == NULL || s->meta == NULL)
		PG_RETURN_NULL();
	initStringInfo(&out);
	appendStringInfoString(&out, "{\"rule_set\": ");
	escape_json(&out, s->rule_set);
	if (s->version > 0)
		appendStringInfo(&out, ", \"version\": %d", s->version);
	else
		appendStringInfoString(&out, ", \"version\": \"draft\"");
	if (s->baseline > 0)
		appendStringInfo(&out, ", \"baseline\": %d, ", s->baseline);
	else
		appendStringInfoString(&out, ", \"baseline\": null, ");
	json_counts(&out, &s->total);
	appendStringInfo(&out, ", \"immature_orders\": " INT64_FORMAT ", \"rules\": [", s->immature);
	for (int i = 0; i < s->nrules; i++)
	{
		appendStringInfoString(&out, i ? ", {\"key\": " : "{\"key\": ");
		escape_json(&out, s->meta[i].key);
		appendStringInfo(&out, ", \"action\": \"%s\", \"mode\": \"%s\", \"priority\": %d, \"hits\": {",
						 decision_name(s->meta[i].action), mode_name(s->meta[i].mode), s->meta[i].priority);
		json_counts(&out, &s->hits[i]);
		appendStringInfoString(&out, "}, \"unique\": {");
		json_counts(&out, &s->unique[i]);
		appendStringInfo(&out, "}, \"errors\": " INT64_FORMAT "}", s->errors[i]);
	}
	appendStringInfoString(&out, "], \"decisions\": [");
	for (int v = 0; v < 2; v++)
		for (int x = 0; x < 3; x++)
		{
			appendStringInfo(&out, "%s{\"version\": \"%s\", \"decision\": \"%s\", ", v + x ? ", " : "",
							 v == 0 ? "tested" : "baseline", decision_name((Decision) x));
			json_counts(&out, &s->decisions[v][x]);
			appendStringInfoChar(&out, '}');
		}
	appendStringInfoString(&out, "], \"changes\": [");
	for (int x = 0, first = 1; x < 3; x++)
		for (int y = 0; y < 3; y++)
		{
			if (x == y)
				continue;
			appendStringInfo(&out, "%s{\"from\": \"%s\", \"to\": \"%s\", ", first ? "" : ", ",
							 decision_name((Decision) x), decision_name((Decision) y));
			json_counts(&out, &s->changes[x][y]);
			appendStringInfoChar(&out, '}');
			first = 0;
		}
	appendStringInfoString(&out, "]}");
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data)));
}

/* ------------------------------------------------------------------------
 * risk.backtest: the query over the history
 * ------------------------------------------------------------------------
 */

static char *
text_arg(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/* A column of the history, by name; errors (42703) naming what it is for. */
static const char *
history_column(TupleDesc hd, const char *name, const char *what, bool required)
{
	for (int i = 0; i < hd->natts; i++)
		if (!TupleDescAttr(hd, i)->attisdropped && strcmp(NameStr(TupleDescAttr(hd, i)->attname), name) == 0)
			return quote_identifier(name);
	if (required)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("the history has no column \"%s\" for the %s", name, what),
				 errhint("Name it with the %s argument of risk.backtest.", what)));
	return NULL;
}

/*
 * risk.backtest(rule_set, history, version, baseline, labels_as_of,
 *               min_label_age, label, amount, at, label_known_at, features, score)
 */
PG_FUNCTION_INFO_V1(risk_backtest);
Datum
risk_backtest(PG_FUNCTION_ARGS)
{
	char	   *name = catalog_check_name(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0), "rule set");
	char	   *history = text_arg(fcinfo, 1);
	RuleSetInfo set;
	int32		version;
	int32		baseline;
	StringInfoData q;
	StringInfoData source;
	SPIPlanPtr	plan;
	TupleDesc	hd;
	TupleDesc	rd;
	const char *label,
			   *amount,
			   *at,
			   *known,
			   *features,
			   *score;
	bool		isnull;
	Datum		result;
	Oid			argtypes[2] = {TIMESTAMPTZOID, INTERVALOID};
	Datum		args[2];
	char		nulls[2] = {' ', ' '};

	if (history == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the history must not be NULL"),
				 errhint("Name a table or view, or give a query.")));
	set = rules_set_info(name);
	if (!PG_ARGISNULL(2) && PG_GETARG_INT32(2) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rule set versions are numbered from 1, not %d", PG_GETARG_INT32(2))));
	version = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2);
	baseline = PG_ARGISNULL(3) ? set.current : PG_GETARG_INT32(3);
	if (baseline < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the baseline is a version (0: the thresholds alone), not %d", baseline)));
	rules_validate(name, version);
	if (baseline > 0)
		rules_validate(name, baseline);

	/* a table or view by name, else a query */
	initStringInfo(&source);
	if (strspn(history, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.\"") == strlen(history))
		appendStringInfo(&source, "SELECT * FROM %s", history);
	else
		appendStringInfoString(&source, history);
	catalog_spi_connect();
	plan = SPI_prepare(psprintf("SELECT * FROM (%s) h LIMIT 0", source.data), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare the history");
	if (SPI_execute_plan(plan, NULL, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the history");
	hd = CreateTupleDescCopy(SPI_tuptable->tupdesc);
	label = history_column(hd, PG_ARGISNULL(6) ? "is_fraud" : text_arg(fcinfo, 6), "label", true);
	amount = history_column(hd, PG_ARGISNULL(7) ? "amount" : text_arg(fcinfo, 7), "amount", true);
	at = history_column(hd, PG_ARGISNULL(8) ? "created_at" : text_arg(fcinfo, 8), "at", true);
	known = PG_ARGISNULL(9) ? NULL : history_column(hd, text_arg(fcinfo, 9), "label_known_at", true);
	features = history_column(hd, PG_ARGISNULL(10) ? "features" : text_arg(fcinfo, 10), "features", true);
	score = PG_ARGISNULL(11) ? history_column(hd, "score", "score", false)
		: history_column(hd, text_arg(fcinfo, 11), "score", true);

	/* the row of the rule set's table, from the history's columns of the same names */
	rd = lookup_rowtype_tupdesc_copy(get_rel_type_id(set.relid), -1);
	initStringInfo(&q);
	appendStringInfo(&q, "SELECT " RISK_SCHEMA "._backtest(%s, %d, %d, ROW(",
					 quote_literal_cstr(name), version, baseline);
	for (int i = 0, first = 1; i < rd->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(rd, i);
		const char *c;

		if (a->attisdropped)
			continue;
		c = history_column(hd, NameStr(a->attname), NULL, false);
		appendStringInfo(&q, "%s%s%s::%s", first ? "" : ", ", c ? "h." : "", c ? c : "NULL",
						 format_type_with_typemod(a->atttypid, a->atttypmod));
		first = 0;
	}
	appendStringInfo(&q, ")::%s, h.%s, %s%s, h.%s, ",
					 format_type_be_qualified(get_rel_type_id(set.relid)), features,
					 score ? "h." : "", score ? score : "NULL::pg_catalog.float8", at);
	/* the label as known at labels_as_of */
	if (known && !PG_ARGISNULL(4))
		appendStringInfo(&q, "h.%s AND h.%s OPERATOR(pg_catalog.<=) $1, ", label, known);
	else
		appendStringInfo(&q, "h.%s, ", label);
	appendStringInfo(&q, "h.%s::pg_catalog.float8, ", amount);
	/* mature: placed at least min_label_age before labels_as_of */
	if (!PG_ARGISNULL(4))
		appendStringInfo(&q, "h.%s OPERATOR(pg_catalog.<=) ($1 OPERATOR(pg_catalog.-) COALESCE($2, '0'::pg_catalog.interval))", at);
	else
		appendStringInfoString(&q, "true");
	appendStringInfo(&q, ") FROM (%s) h", source.data);
	if (PG_ARGISNULL(4))
		nulls[0] = 'n';
	else
		args[0] = PG_GETARG_DATUM(4);
	if (PG_ARGISNULL(5))
		nulls[1] = 'n';
	else
		args[1] = PG_GETARG_DATUM(5);
	if (!PG_ARGISNULL(5) && PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min_label_age needs labels_as_of"),
				 errhint("Labels are mature when the order was placed min_label_age before labels_as_of.")));
	if (SPI_execute_with_args(q.data, 2, argtypes, args, nulls, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not run the backtest");
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
		result = SPI_datumTransfer(result, false, -1);
	SPI_finish();
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

/*-------------------------------------------------------------------------
 * rules_sql.c
 *	  risk.decide and risk.explain_rules: a rule set's decision of a row in
 *	  a query, exactly as the scoring trigger makes it (decision.c), so that
 *	  a table scored in batch gets the decisions and hits the trigger gives.
 *
 * The caller needs SELECT on risk.published_rules (who may read the rules
 * may run them), and what scoring needs; the rules run as the caller.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "catalog.h"
#include "decision.h"
#include "feature_array.h"
#include "forest.h"
#include "rules.h"

/* What one call site keeps for its query: the model and the rules, pinned. */
typedef struct DecideCall
{
	char		rule_set[64];
	int32		requested;		/* the version argument, 0 for the current */
	uint64		generation;		/* model_cache_generation when pinned */
	RuleSetInfo set;
	int32		version;		/* the version deciding, 0: none published */
	CachedModel *model;
	CompiledRuleSet *rules;
	MemoryContextCallback release_model;
	MemoryContextCallback release_rules;
	float	   *row;
	double	   *phi;
	Datum	   *values;				/* the row's columns */
	bool	   *nulls;
} DecideCall;

static DecideCall *
decide_call(FunctionCallInfo fcinfo, const char *name, int32 requested)
{
	DecideCall *c = (DecideCall *) fcinfo->flinfo->fn_extra;
	MemoryContext mcxt = fcinfo->flinfo->fn_mcxt;
	Oid			rowtype = get_fn_expr_argtype(fcinfo->flinfo, 1);
	Oid			published;
	TupleDesc	desc;

	if (c != NULL && c->model != NULL && c->generation == model_cache_generation &&
		(c->rules != NULL || c->version == 0) &&
		c->requested == requested && strcmp(c->rule_set, name) == 0)
		return c;
	if (c == NULL)
	{
		c = MemoryContextAllocZero(mcxt, sizeof(DecideCall));
		model_cache_unpin_at_reset(mcxt, &c->release_model, &c->model);
		rules_unpin_at_reset(mcxt, &c->release_rules, &c->rules);
		fcinfo->flinfo->fn_extra = c;
	}
	if (c->model)
		model_cache_unpin(c->model);
	if (c->rules)
		rules_unpin(c->rules);
	c->model = NULL;
	c->rules = NULL;
	published = catalog_relid("published_rules");
	if (pg_class_aclcheck(published, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, "published_rules");
	c->set = rules_set_info(name);
	if (get_rel_type_id(c->set.relid) != rowtype)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("rule set \"%s\" decides rows of table %s, not %s", name,
						format_type_be(get_rel_type_id(c->set.relid)), format_type_be(rowtype)),
				 errhint("Pass the table's row, e.g. risk.decide('%s', o, ...) FROM %s o.", name,
						 format_type_be(get_rel_type_id(c->set.relid)))));
	strlcpy(c->rule_set, name, sizeof(c->rule_set));
	c->requested = requested;
	c->model = model_cache_pin(c->set.model);
	c->generation = model_cache_generation;
	c->version = requested > 0 ? requested : c->set.current;
	desc = lookup_rowtype_tupdesc_copy(rowtype, -1);
	if (c->version > 0)
		c->rules = rules_pin(&c->set, c->version, c->set.relid, desc, get_rel_name(c->set.relid), c->model);
	if (c->row)
		pfree(c->row);
	if (c->phi)
		pfree(c->phi);
	if (c->values)
		pfree(c->values), pfree(c->nulls);
	c->row = MemoryContextAlloc(mcxt, sizeof(float) * c->model->num_features);
	c->phi = MemoryContextAlloc(mcxt, sizeof(double) * (c->model->num_features + 1));
	c->values = MemoryContextAlloc(mcxt, sizeof(Datum) * Max(desc->natts, 1));
	c->nulls = MemoryContextAlloc(mcxt, sizeof(bool) * Max(desc->natts, 1));
	FreeTupleDesc(desc);
	return c;
}

/* Reads the arguments and decides; false when the row or the features are NULL. */
static bool
decide_row(FunctionCallInfo fcinfo, DecideCall **call, RowDecision *d, Thresholds *th)
{
	char	   *name;
	int32		requested;
	DecideCall *c;
	RuleInput	in;
	ArrayType  *features;

	name = catalog_check_name(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0), "rule set");
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return false;
	requested = PG_ARGISNULL(5) ? 0 : PG_GETARG_INT32(5);
	if (!PG_ARGISNULL(5) && requested <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rule set versions are numbered from 1, not %d", requested)));
	c = decide_call(fcinfo, name, requested);
	features = PG_GETARG_ARRAYTYPE_P(2);
	features_read_array(c->model, features, ARR_ELEMTYPE(features), c->row);
	if (PG_ARGISNULL(3))
		in.score = decision_score(c->model, c->row);
	else
	{
		in.score = PG_GETARG_FLOAT8(3);
		if (isnan(in.score))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the score must not be NaN")));
	}
	in.at = PG_ARGISNULL(4) ? GetCurrentStatementStartTimestamp() : PG_GETARG_TIMESTAMPTZ(4);
	in.features = c->row;
	decision_row_columns(PG_GETARG_HEAPTUPLEHEADER(1), c->values, c->nulls);
	in.values = c->values;
	in.nulls = c->nulls;
	*th = decision_thresholds(c->set.model);
	decision_make(c->rules, &in, th, d);
	*call = c;
	return true;
}

PG_FUNCTION_INFO_V1(risk_decide);
Datum
risk_decide(PG_FUNCTION_ARGS)
{
	DecideCall *c;
	RowDecision d;
	Thresholds	th;
	TupleDesc	result;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};
	ArrayType  *a;

	if (!decide_row(fcinfo, &c, &d, &th))
		PG_RETURN_NULL();
	if (get_call_result_type(fcinfo, NULL, &result) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "risk.decide must return a composite type");
	values[0] = CStringGetTextDatum(decision_name(d.decision));
	a = decision_rule_keys(c->rules, &d, RULE_ENFORCE, OUTCOME_HIT);
	nulls[1] = a == NULL;
	values[1] = PointerGetDatum(a);
	a = decision_rule_keys(c->rules, &d, RULE_SHADOW, OUTCOME_HIT);
	nulls[2] = a == NULL;
	values[2] = PointerGetDatum(a);
	a = decision_rule_keys(c->rules, &d, RULE_ENFORCE, OUTCOME_ERROR);
	nulls[3] = a == NULL;
	values[3] = PointerGetDatum(a);
	nulls[4] = c->version == 0;
	values[4] = Int32GetDatum(c->version);
	a = decision_reasons(c->rules, &d, c->model, c->row, c->phi,
						 forest_can_explain(c->model->forest) ? Min(th.reasons, MAX_REASONS) : 0);
	nulls[5] = a == NULL;
	values[5] = PointerGetDatum(a);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(result), values, nulls)));
}

PG_FUNCTION_INFO_V1(risk_explain_rules);
Datum
risk_explain_rules(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DecideCall *c;
	RowDecision d;
	Thresholds	th;
	static const char *const outcomes[] = {"miss", "hit", "error"};

	InitMaterializedSRF(fcinfo, 0);
	if (!decide_row(fcinfo, &c, &d, &th) || c->rules == NULL)
		return (Datum) 0;
	for (int i = 0; i < c->rules->nrules; i++)
	{
		const CompiledRule *r = &c->rules->rules[i];
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		values[0] = CStringGetTextDatum(r->def.key);
		values[1] = CStringGetTextDatum(decision_name(r->def.action));
		values[2] = CStringGetTextDatum(mode_name(r->def.mode));
		values[3] = Int32GetDatum(r->def.priority);
		values[4] = CStringGetTextDatum(r->def.mode == RULE_OFF ? "off" : outcomes[d.outcomes[i]]);
		if (d.outcomes[i] == OUTCOME_ERROR && d.errors[i])
			values[5] = CStringGetTextDatum(d.errors[i]);
		else
			nulls[5] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

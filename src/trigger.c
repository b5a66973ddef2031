/*-------------------------------------------------------------------------
 * trigger.c
 *	  risk.score_trigger: scores each row as it is inserted, and writes the
 *	  score, a decision and its reasons into the row.
 *
 *		CREATE TRIGGER score BEFORE INSERT ON orders FOR EACH ROW
 *		  EXECUTE FUNCTION risk.score_trigger('model', 'schema.features_function',
 *		                                      'score'[, 'decision'[, 'reasons']]);
 *
 * The features function takes the table's row and returns the model's
 * features as float8[] or real[], in its order; it is where the online
 * velocity states are kept (it may update them: the trigger calls it once
 * per row).  The decision is 'block' at or above the model's block
 * threshold, 'review' at or above its review threshold, else 'allow', from
 * risk.decision_thresholds (read once per backend, again after any change
 * to the table: a committed change holds from the next statement).  The
 * reasons, only for rows sent to review or blocked, are the names of the
 * features with the largest positive SHAP values (forest_explain.c), as
 * many as the thresholds row says.
 *
 * Everything the arguments name is checked on the first row, with an
 * error naming what is wrong.  An unqualified features function is the
 * one of that name in the table's schema: the inserting session's
 * search_path has no say.  Its array is read by feature_array.c, as
 * risk.score reads one.  The model is pinned for the statement, and
 * pinned again (its new version) after a change to the registry.  The
 * features function runs before the row is stored: states it updates count
 * the row even if a later trigger or ON CONFLICT DO NOTHING drops it.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "funcapi.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/acl.h"
#include "utils/regproc.h"
#include "utils/rel.h"

#include "feature_array.h"
#include "model_cache.h"
#include "trigger.h"

#define MAX_REASONS 20

/* ------------------------------------------------------------------------
 * Decision thresholds, cached per backend
 * ------------------------------------------------------------------------
 */

typedef struct Thresholds
{
	char		model[MODEL_NAME_MAX + 1];
	double		review;
	double		block;
	int			reasons;
} Thresholds;

static HTAB *thresholds = NULL;
static bool thresholds_valid = false;
static Oid	thresholds_relid = InvalidOid;

void
trigger_relation_changed(Oid relid)
{
	if (relid == InvalidOid || relid == thresholds_relid || thresholds_relid == InvalidOid)
		thresholds_valid = false;
}

/* Reads risk.decision_thresholds (in the schema of the trigger function fn) into the cache. */
static void
thresholds_load(Oid fn)
{
	Oid			schema = get_func_namespace(fn);
	HASHCTL		ctl;
	char	   *query;

	if (thresholds)
		hash_destroy(thresholds);
	thresholds = NULL;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = MODEL_NAME_MAX + 1;
	ctl.entrysize = sizeof(Thresholds);
	ctl.hcxt = TopMemoryContext;
	thresholds = hash_create("risk decision thresholds", 16, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	thresholds_relid = get_relname_relid("decision_thresholds", schema);
	/* valid from now: a change while we read makes us read again */
	thresholds_valid = true;
	query = psprintf("SELECT model, review, block, reasons FROM %s.decision_thresholds",
					 quote_identifier(get_namespace_name(schema)));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PG_TRY();
	{
		/* not read-only: a fresh snapshot, seeing what was committed before this statement */
		if (SPI_execute(query, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read %s", query);
	}
	PG_CATCH();
	{
		thresholds_valid = false;	/* read again next time */
		PG_RE_THROW();
	}
	PG_END_TRY();
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *name = TextDatumGetCString(SPI_getbinval(t, d, 1, &isnull));
		Thresholds *e;
		bool		found;

		if (strlen(name) > MODEL_NAME_MAX)
			continue;
		e = hash_search(thresholds, name, HASH_ENTER, &found);
		e->review = DatumGetFloat8(SPI_getbinval(t, d, 2, &isnull));
		e->block = DatumGetFloat8(SPI_getbinval(t, d, 3, &isnull));
		e->reasons = DatumGetInt32(SPI_getbinval(t, d, 4, &isnull));
	}
	SPI_finish();
}

static const Thresholds *
thresholds_of(Oid fn, const char *model)
{
	const Thresholds *t;

	if (!thresholds_valid)
		thresholds_load(fn);
	t = hash_search(thresholds, model, HASH_FIND, NULL);
	if (t == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("model \"%s\" has no decision thresholds", model),
				 errhint("INSERT INTO %s.decision_thresholds (model, review, block) VALUES (%s, 0.5, 0.9);",
						 quote_identifier(get_namespace_name(get_func_namespace(fn))), quote_literal_cstr(model))));
	return t;
}

/* ------------------------------------------------------------------------
 * The trigger
 * ------------------------------------------------------------------------
 */

/* What a trigger's arguments resolve to, for one statement. */
typedef struct TriggerState
{
	Oid			trigger;		/* the trigger this is for */
	char		model_name[MODEL_NAME_MAX + 1];
	CachedModel *model;			/* pinned for the statement */
	uint64		generation;
	FmgrInfo	features;		/* the features function */
	Oid			features_type;	/* FLOAT8ARRAYOID or FLOAT4ARRAYOID */
	int			score_att;		/* 1-based columns; 0: not written */
	int			decision_att;
	int			reasons_att;
	float	   *row;
	double	   *phi;
	MemoryContextCallback release;
} TriggerState;

/* Column `name` of the table, of type `type` (or error naming both). */
static int
column_of(Relation rel, const char *trigger, const char *name, Oid type, const char *what)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (a->attisdropped || strcmp(NameStr(a->attname), name) != 0)
			continue;
		if (a->atttypid != type)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("risk.score_trigger %s: column \"%s\" of \"%s\" must be %s for the %s, not %s",
							trigger, name, RelationGetRelationName(rel), format_type_be(type), what,
							format_type_be(a->atttypid))));
		return i + 1;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("risk.score_trigger %s: table \"%s\" has no column \"%s\" for the %s",
					trigger, RelationGetRelationName(rel), name, what)));
	return 0;
}

/*
 * The features function: named in the arguments, taking the table's row.
 * An unqualified name is looked up in the table's schema, never under the
 * inserting session's search_path: whoever inserts cannot put a function
 * of their own in its place.
 */
static void
features_function(TriggerState *st, Relation rel, const char *trigger, const char *name, MemoryContext mcxt)
{
	Oid			rowtype = RelationGetForm(rel)->reltype;
	List	   *names = stringToQualifiedNameList(name);
	Oid			fn;
	Oid			ret;

	if (list_length(names) == 1)
		names = lcons(makeString(get_namespace_name(RelationGetNamespace(rel))), names);
	fn = LookupFuncName(names, 1, &rowtype, true);
	if (!OidIsValid(fn))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("risk.score_trigger %s: no function %s(%s)", trigger,
						NameListToString(names), format_type_be(rowtype)),
				 errdetail("An unqualified features function is looked up in the schema of table \"%s\".",
						   RelationGetRelationName(rel)),
				 errhint("The features function takes the table's row and returns the model's features as float8[] or real[]; "
						 "name it with its schema, e.g. 'public.order_features'.")));
	if (pg_proc_aclcheck(fn, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("risk.score_trigger %s: permission denied for function %s", trigger,
						NameListToString(names))));
	ret = get_func_rettype(fn);
	if (ret != FLOAT8ARRAYOID && ret != FLOAT4ARRAYOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("risk.score_trigger %s: %s returns %s, not float8[] or real[]",
						trigger, NameListToString(names), format_type_be(ret))));
	fmgr_info_cxt(fn, &st->features, mcxt);
	st->features_type = ret;
}

/* The statement's state: the arguments checked on its first row. */
static TriggerState *
trigger_state(FunctionCallInfo fcinfo, TriggerData *td)
{
	TriggerState *st = (TriggerState *) fcinfo->flinfo->fn_extra;
	Trigger    *tg = td->tg_trigger;
	MemoryContext mcxt = fcinfo->flinfo->fn_mcxt;

	if (st != NULL && st->trigger == tg->tgoid && st->model != NULL &&
		st->generation == model_cache_generation)
		return st;
	if (st == NULL)
	{
		st = MemoryContextAllocZero(mcxt, sizeof(TriggerState));
		model_cache_unpin_at_reset(mcxt, &st->release, &st->model);
		fcinfo->flinfo->fn_extra = st;
	}
	if (st->model)
	{
		model_cache_unpin(st->model);
		st->model = NULL;
	}
	if (tg->tgnargs < 3 || tg->tgnargs > 5)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("risk.score_trigger %s takes 3 to 5 arguments, not %d", tg->tgname, tg->tgnargs),
				 errhint("risk.score_trigger('model', 'features_function', 'score_column'[, 'decision_column'[, 'reasons_column']])")));
	st->trigger = tg->tgoid;
	strlcpy(st->model_name, registry_check_name(cstring_to_text(tg->tgargs[0])), sizeof(st->model_name));
	features_function(st, td->tg_relation, tg->tgname, tg->tgargs[1], mcxt);
	st->score_att = column_of(td->tg_relation, tg->tgname, tg->tgargs[2], FLOAT8OID, "score");
	st->decision_att = tg->tgnargs > 3 ? column_of(td->tg_relation, tg->tgname, tg->tgargs[3], TEXTOID, "decision") : 0;
	st->reasons_att = tg->tgnargs > 4 ? column_of(td->tg_relation, tg->tgname, tg->tgargs[4], TEXTARRAYOID, "reasons") : 0;
	st->model = model_cache_pin(st->model_name);
	st->generation = model_cache_generation;
	if (st->model->forest->num_groups != 1)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("risk.score_trigger %s: model \"%s\" (%s) predicts one value per class",
						tg->tgname, st->model_name, st->model->forest->objective),
				 errhint("The trigger scores with single-output models.")));
	if (st->reasons_att > 0 && !forest_can_explain(st->model->forest))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("risk.score_trigger %s: model \"%s\" has no node covers (sum_hessian), which reasons need",
						tg->tgname, st->model_name)));
	if (st->row)
		pfree(st->row);
	if (st->phi)
		pfree(st->phi);
	st->row = MemoryContextAlloc(mcxt, sizeof(float) * st->model->num_features);
	st->phi = MemoryContextAlloc(mcxt, sizeof(double) * (st->model->num_features + 1));
	return st;
}

/* The features of a row, from the features function, into st->row. */
static void
row_features(TriggerState *st, TriggerData *td)
{
	Datum		row = heap_copy_tuple_as_datum(td->tg_trigtuple, RelationGetDescr(td->tg_relation));
	LOCAL_FCINFO(call, 1);
	Datum		result;

	InitFunctionCallInfoData(*call, &st->features, 1, InvalidOid, NULL, NULL);
	call->args[0].value = row;
	call->args[0].isnull = false;
	result = FunctionCallInvoke(call);
	if (call->isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("risk.score_trigger %s: the features function returned NULL",
						td->tg_trigger->tgname)));
	/* read and checked as risk.score reads an array: the same errors */
	features_read_array(st->model, DatumGetArrayTypeP(result),
						st->features_type == FLOAT8ARRAYOID ? FLOAT8OID : FLOAT4OID, st->row);
}

/* The names of the k features pushing the margin up the most, as text[]. */
static Datum
reasons_of(TriggerState *st, int k)
{
	const Forest *f = st->model->forest;
	Datum	   *names = palloc(sizeof(Datum) * Max(k, 1));
	int			n = 0;
	bool	   *taken;

	if (!forest_can_explain(f))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" has no node covers (sum_hessian), which reasons need", st->model_name)));
	forest_contributions(f, st->row, st->phi);
	taken = palloc0(sizeof(bool) * f->num_features);
	while (n < k)
	{
		int			best = -1;

		for (int i = 0; i < f->num_features; i++)
			if (!taken[i] && st->phi[i] > 0 && (best < 0 || st->phi[i] > st->phi[best]))
				best = i;
		if (best < 0)
			break;
		taken[best] = true;
		names[n++] = CStringGetTextDatum(st->model->feature_names[best]);
	}
	return PointerGetDatum(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* CONTEXT of an error while a row is scored: which trigger, on which table. */
static void
trigger_error_context(void *arg)
{
	TriggerData *td = (TriggerData *) arg;

	errcontext("risk.score_trigger %s on table %s", td->tg_trigger->tgname,
			   RelationGetRelationName(td->tg_relation));
}

PG_FUNCTION_INFO_V1(risk_score_trigger);
Datum
risk_score_trigger(PG_FUNCTION_ARGS)
{
	ErrorContextCallback context;
	TriggerData *td = (TriggerData *) fcinfo->context;
	TriggerState *st;
	const Thresholds *th;
	float		margin;
	double		score;
	const char *decision;
	int			cols[3];
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	int			n = 0;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("risk.score_trigger must be fired BEFORE INSERT FOR EACH ROW")));
	context.callback = trigger_error_context;
	context.arg = td;
	context.previous = error_context_stack;
	error_context_stack = &context;
	st = trigger_state(fcinfo, td);
	row_features(st, td);
	forest_margins(st->model->forest, st->row, &margin);
	forest_transform(st->model->forest, &margin);
	score = margin;
	cols[n] = st->score_att;
	values[n++] = Float8GetDatum(score);
	if (st->decision_att > 0 || st->reasons_att > 0)
	{
		th = thresholds_of(fcinfo->flinfo->fn_oid, st->model_name);
		decision = score >= th->block ? "block" : score >= th->review ? "review" : "allow";
		if (st->decision_att > 0)
		{
			cols[n] = st->decision_att;
			values[n++] = CStringGetTextDatum(decision);
		}
		if (st->reasons_att > 0)
		{
			cols[n] = st->reasons_att;
			if (decision[0] != 'a' && th->reasons > 0)
				values[n] = reasons_of(st, Min(th->reasons, MAX_REASONS));
			else
				nulls[n] = true;	/* no reasons for allowed rows: nobody reads them */
			n++;
		}
	}
	error_context_stack = context.previous;
	return PointerGetDatum(heap_modify_tuple_by_cols(td->tg_trigtuple, RelationGetDescr(td->tg_relation),
													 n, cols, values, nulls));
}

/*-------------------------------------------------------------------------
 * trigger.c
 *	  risk.score_trigger: scores each row as it is inserted, and writes the
 *	  score, a decision and its reasons into the row.
 *
 *		CREATE TRIGGER score BEFORE INSERT ON orders FOR EACH ROW
 *		  EXECUTE FUNCTION risk.score_trigger('model', 'schema.features_function',
 *		                                      'score'[, 'decision'[, 'reasons'
 *		                                      [, 'features=column', 'rules=rule_set', 'hits=column', ...]]]);
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
 * many as the thresholds row says.  With features=column, the row keeps
 * the features it was scored with (float4[] or float8[], missing values
 * NULL), for backtests and training on what the model saw.
 *
 * With rules=rule_set, the rule set's current version (chosen at the first
 * row of the statement, for all its rows) is evaluated on each row after the
 * score, as the table's owner, and decides with the thresholds by the one
 * policy of rules_policy.c (decision.c does the row's decision, the same for
 * risk.decide); the options name the columns that record the enforced and
 * shadow hits, the rules that raised, and the version.
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
#include "catalog/partition.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "funcapi.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/acl.h"
#include "utils/regproc.h"
#include "utils/rel.h"

#include "catalog.h"
#include "decision.h"
#include "feature_set.h"
#include "feature_array.h"
#include "model_alias.h"
#include "model_cache.h"
#include "bucket.h"
#include "rules.h"

/* ------------------------------------------------------------------------
 * The trigger
 * ------------------------------------------------------------------------
 */

/* What a trigger's arguments resolve to, for one statement. */
typedef struct TriggerState
{
	Oid			trigger;		/* the trigger this is for */
	char		model_name[MODEL_REF_MAX + 1];	/* a reference: name, name@alias, name@3 */
	CachedModel *model;			/* pinned for the statement */
	uint64		generation;
	FmgrInfo	features;		/* the features function */
	TupleDesc	features_desc;	/* the row type it takes: the table's, or on Citus the distributed table's */
	TupleConversionMap *features_map;	/* from a shard's row to it, when their columns differ */
	Oid			features_type;	/* FLOAT8ARRAYOID, FLOAT4ARRAYOID or RECORDOID (a row, bound by name) */
	RowBinding	binding;		/* of a features function's row */
	FeatureSet *fs;				/* or a feature set (pinned for the statement) */
	int		   *fs_map;			/* per model feature: the set's feature */
	Oid		   *fs_stores;		/* on a Citus shard: per entity, the store's shard next to it; else NULL */
	AttrNumber	fs_arrival_att; /* the set's arrival column, in the trigger's relation */
	bool		has_arrival;	/* the row's arrival number, for the set's arrival column */
	int64		arrival;
	double	   *fs_out;
	bool	   *fs_null;
	int			score_att;		/* 1-based columns; 0: not written */
	int			decision_att;
	int			reasons_att;
	int			features_att;	/* features=column */
	Oid			features_elem;	/* its element type; JSONBOID: an object by name */
	/* a challenger (challenger=ref): shadow, or deciding for a canary */
	char	   *challenger_ref;	/* NULL: none */
	CachedModel *challenger;	/* pinned for the statement */
	MemoryContextCallback release_challenger;
	int			challenger_score_att;
	int			champion_score_att;
	int			model_version_att;
	int			canary_unit_att;	/* 0: no canary (shadow only) */
	int			in_canary_att;
	int32		canary_cut;		/* buckets of 10,000 below it decide with the challenger */
	char	   *canary_salt;
	FmgrInfo	unit_out;		/* the unit column's output function */
	float	   *row;
	double	   *phi;
	MemoryContextCallback release;
	/* rules (the rules= option) */
	char	   *rule_set;		/* NULL: decided by the thresholds only */
	bool		rules_ready;	/* the version is chosen for the statement */
	int32		rules_version;	/* 0: nothing published */
	CompiledRuleSet *rules;		/* pinned for the statement */
	MemoryContextCallback release_rules;
	int			hits_att;
	int			shadow_hits_att;
	int			errors_att;
	int			version_att;
	Datum	   *values;			/* the row's columns, for the rules */
	bool	   *nulls;
	bool	   *warned;			/* per rule: its error was reported this statement */
} TriggerState;

/* Column `name` of the table, of type `type` or `type2` (or error naming both); any type for InvalidOid. */
static int
column_of2(Relation rel, const char *trigger, const char *name, Oid type, Oid type2, const char *what)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (a->attisdropped || strcmp(NameStr(a->attname), name) != 0)
			continue;
		if (type != InvalidOid && a->atttypid != type && (type2 == InvalidOid || a->atttypid != type2))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("risk.score_trigger %s: column \"%s\" of \"%s\" must be %s%s%s for the %s, not %s",
							trigger, name, RelationGetRelationName(rel), format_type_be(type),
							type2 == InvalidOid ? "" : " or ", type2 == InvalidOid ? "" : format_type_be(type2),
							what, format_type_be(a->atttypid))));
		return i + 1;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("risk.score_trigger %s: table \"%s\" has no column \"%s\" for the %s",
					trigger, RelationGetRelationName(rel), name, what)));
	return 0;
}

static int
column_of(Relation rel, const char *trigger, const char *name, Oid type, const char *what)
{
	return column_of2(rel, trigger, name, type, InvalidOid, what);
}

/*
 * The features function: named in the arguments, taking the table's row.
 * An unqualified name is looked up in the table's schema, never under the
 * inserting session's search_path: whoever inserts cannot put a function
 * of their own in its place.  On a shard of a Citus distributed table, the
 * function takes the distributed table's row: the shard's row is passed
 * as one, its columns matched by name.
 */
static void
features_function(TriggerState *st, Relation rel, const char *trigger, const char *name, MemoryContext mcxt)
{
	Oid			rowtype = RelationGetForm(rel)->reltype;
	List	   *names = stringToQualifiedNameList(name);
	Oid			fn;
	Oid			ret;
	Oid			table = catalog_citus_table_of(RelationGetRelid(rel));
	MemoryContext old = MemoryContextSwitchTo(mcxt);

	if (OidIsValid(table))
	{
		rowtype = get_rel_type_id(table);
		st->features_desc = lookup_rowtype_tupdesc_copy(rowtype, -1);
		st->features_map = convert_tuples_by_name(RelationGetDescr(rel), st->features_desc);
	}
	else
		st->features_desc = CreateTupleDescCopy(RelationGetDescr(rel));
	MemoryContextSwitchTo(old);

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
	if (ret != FLOAT8ARRAYOID && ret != FLOAT4ARRAYOID && !type_is_rowtype(ret))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("risk.score_trigger %s: %s returns %s, not float8[], real[] or a row",
						trigger, NameListToString(names), format_type_be(ret)),
				 errhint("A row's columns are bound to the model's features by name.")));
	fmgr_info_cxt(fn, &st->features, mcxt);
	st->features_type = type_is_rowtype(ret) ? RECORDOID : ret;
}

/* The options after the positional arguments: name=value, each once. */
static void
trigger_options(TriggerState *st, Relation rel, Trigger *tg, int first, MemoryContext mcxt)
{
	for (int i = first; i < tg->tgnargs; i++)
	{
		const char *arg = tg->tgargs[i];
		const char *eq = strchr(arg, '=');
		char	   *name = eq ? pnstrdup(arg, eq - arg) : pstrdup(arg);
		const char *value = eq ? eq + 1 : "";
		int		   *att = NULL;
		Oid			type = TEXTARRAYOID;
		const char *what = NULL;

		if (eq == NULL || *value == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("risk.score_trigger %s: argument %d \"%s\" is not name=value", tg->tgname, i + 1, arg),
					 errhint("The arguments after the reasons column are options: features=column, rules=rule_set, "
							 "hits=column, shadow_hits=column, rule_errors=column, rules_version=column, "
							 "model_version=column, challenger=model@alias, challenger_score=column, "
							 "champion_score=column, canary_unit=column, canary_percent=number, canary_salt=text, "
							 "in_canary=column.")));
		if (strcmp(name, "features") == 0)
		{
			Oid			t;

			st->features_att = column_of2(rel, tg->tgname, value, InvalidOid, InvalidOid, "features");
			t = TupleDescAttr(RelationGetDescr(rel), st->features_att - 1)->atttypid;
			if (t != FLOAT4ARRAYOID && t != FLOAT8ARRAYOID && t != JSONBOID)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("risk.score_trigger %s: the features column \"%s\" is %s, not real[], "
								"double precision[] or jsonb", tg->tgname, value, format_type_be(t))));
			st->features_elem = t == JSONBOID ? JSONBOID : get_element_type(t);
			continue;
		}
		if (strcmp(name, "rules") == 0)
		{
			st->rule_set = MemoryContextStrdup(mcxt, catalog_check_name(cstring_to_text(value), "rule set"));
			continue;
		}
		if (strcmp(name, "challenger") == 0)
		{
			st->challenger_ref = MemoryContextStrdup(mcxt, model_ref_check(cstring_to_text(value)));
			continue;
		}
		if (strcmp(name, "canary_salt") == 0)
		{
			st->canary_salt = MemoryContextStrdup(mcxt, value);
			continue;
		}
		if (strcmp(name, "canary_percent") == 0)
		{
			char	   *end;
			double		p = strtod(value, &end);

			if (*end != '\0' || !(p > 0 && p <= 100))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("risk.score_trigger %s: canary_percent must be a number above 0 and at most 100, not \"%s\"",
								tg->tgname, value)));
			st->canary_cut = (int32) rint(p * 100);
			if (st->canary_cut < 1)
				st->canary_cut = 1;
			continue;
		}
		if (strcmp(name, "canary_unit") == 0)
		{
			Oid			typid;
			Oid			out;
			bool		varlena;

			st->canary_unit_att = column_of2(rel, tg->tgname, value, InvalidOid, InvalidOid, "canary unit");
			typid = TupleDescAttr(RelationGetDescr(rel), st->canary_unit_att - 1)->atttypid;
			getTypeOutputInfo(typid, &out, &varlena);
			fmgr_info_cxt(out, &st->unit_out, mcxt);
			continue;
		}
		if (strcmp(name, "hits") == 0)
			att = &st->hits_att, what = "enforced rules that hit";
		else if (strcmp(name, "shadow_hits") == 0)
			att = &st->shadow_hits_att, what = "shadow rules that hit";
		else if (strcmp(name, "rule_errors") == 0)
			att = &st->errors_att, what = "rules that raised";
		else if (strcmp(name, "rules_version") == 0)
			att = &st->version_att, what = "rule set version", type = INT4OID;
		else if (strcmp(name, "model_version") == 0)
			att = &st->model_version_att, what = "model version", type = INT4OID;
		else if (strcmp(name, "challenger_score") == 0)
			att = &st->challenger_score_att, what = "challenger's score", type = FLOAT8OID;
		else if (strcmp(name, "champion_score") == 0)
			att = &st->champion_score_att, what = "champion's score", type = FLOAT8OID;
		else if (strcmp(name, "in_canary") == 0)
			att = &st->in_canary_att, what = "canary", type = BOOLOID;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("risk.score_trigger %s: unknown option \"%s\"", tg->tgname, name),
					 errhint("The options are features, rules, hits, shadow_hits, rule_errors, rules_version, "
							 "model_version, challenger, challenger_score, champion_score, canary_unit, canary_percent, "
							 "canary_salt and in_canary.")));
		*att = column_of(rel, tg->tgname, value, type, what);
	}
	if (st->rule_set == NULL && (st->hits_att || st->shadow_hits_att || st->errors_att || st->version_att))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("risk.score_trigger %s: hits, shadow_hits, rule_errors and rules_version need rules=rule_set",
						tg->tgname)));
	if (st->challenger_ref == NULL &&
		(st->challenger_score_att || st->champion_score_att || st->canary_unit_att || st->canary_cut ||
		 st->canary_salt || st->in_canary_att))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("risk.score_trigger %s: challenger_score, champion_score and the canary options need challenger=model",
						tg->tgname)));
	if ((st->canary_unit_att != 0) != (st->canary_cut != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("risk.score_trigger %s: a canary needs both canary_unit=column and canary_percent=number",
						tg->tgname),
				 errhint("Without them the challenger scores in shadow only.")));
	if (st->challenger_ref && st->canary_salt == NULL)
		st->canary_salt = st->challenger_ref;
	if (st->rule_set != NULL && st->decision_att == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("risk.score_trigger %s: rules decide, so they need the decision column", tg->tgname)));
}

/*
 * The rule set's version for the statement: its current version, as
 * committed before the statement began, compiled against this table and the
 * pinned model.  Chosen once per statement; compiled again (the same
 * version) only if the model changes under the statement.
 */
static void
trigger_rules(TriggerState *st, Relation rel, Trigger *tg, MemoryContext mcxt)
{
	RuleSetInfo set;
	ModelRef	ref;
	Oid			userid;
	int			sec_context;

	if (st->rule_set == NULL)
		return;
	if (st->rules && registry_same_stamp(&st->rules->model_stamp, &st->model->stamp))
		return;
	if (st->rules)
	{
		rules_unpin(st->rules);
		st->rules = NULL;
	}
	set = rules_set_info(st->rule_set);
	if (set.relid != RelationGetRelid(rel) &&
		set.relid != catalog_citus_table_of(RelationGetRelid(rel)) &&
		!(rel->rd_rel->relispartition && list_member_oid(get_partition_ancestors(RelationGetRelid(rel)), set.relid)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("risk.score_trigger %s: rule set \"%s\" decides the rows of table %s, not of %s",
						tg->tgname, set.name, format_type_be(get_rel_type_id(set.relid)),
						RelationGetRelationName(rel))));
	model_ref_parse(st->model_name, &ref);
	if (strcmp(set.model, ref.name) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("risk.score_trigger %s: rule set \"%s\" reads the features of model \"%s\", not \"%s\"",
						tg->tgname, set.name, set.model, st->model_name)));
	if (!st->rules_ready)
	{
		st->rules_version = set.current;
		st->rules_ready = true;
	}
	if (st->rules_version == 0)
		return;					/* nothing published yet: the thresholds decide */
	/* compiled as the table's owner, who runs them */
	GetUserIdAndSecContext(&userid, &sec_context);
	SetUserIdAndSecContext(RelationGetForm(rel)->relowner,
						   sec_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	st->rules = rules_pin(&set, st->rules_version, RelationGetRelid(rel), RelationGetDescr(rel), RelationGetRelationName(rel),
						  st->model);
	SetUserIdAndSecContext(userid, sec_context);
	if (st->warned)
		pfree(st->warned);
	st->warned = MemoryContextAllocZero(mcxt, sizeof(bool) * Max(st->rules->nrules, 1));
}

/* The statement's state: the arguments checked on its first row. */
/*
 * The challenger scores the champion's feature vector: it must read the
 * same features, in the same order, and give one value.
 */
static void
check_challenger(TriggerState *st, Trigger *tg)
{
	CachedModel *c = st->challenger;
	CachedModel *m = st->model;

	if (c->forest->num_groups != 1)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("risk.score_trigger %s: challenger \"%s\" (%s) predicts one value per class",
						tg->tgname, st->challenger_ref, c->forest->objective)));
	if (c->num_features != m->num_features)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("risk.score_trigger %s: challenger \"%s\" reads %d features, champion \"%s\" %d",
						tg->tgname, st->challenger_ref, c->num_features, st->model_name, m->num_features),
				 errhint("The challenger scores the champion's feature vector: train it on the same features.")));
	for (int f = 0; f < m->num_features; f++)
		if (strcmp(c->feature_names[f], m->feature_names[f]) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("risk.score_trigger %s: feature %d is \"%s\" for challenger \"%s\" but \"%s\" for champion \"%s\"",
							tg->tgname, f + 1, c->feature_names[f], st->challenger_ref, m->feature_names[f],
							st->model_name),
					 errhint("The challenger scores the champion's feature vector: train it on the same features.")));
}

/* Whether the row's unit is in the canary: risk.bucket(salt, unit, 10000) < the cut. */
static bool
row_in_canary(TriggerState *st, TriggerData *td)
{
	bool		isnull;
	Datum		unit;
	char	   *text;

	if (st->canary_unit_att == 0)
		return false;
	unit = heap_getattr(td->tg_trigtuple, st->canary_unit_att, RelationGetDescr(td->tg_relation), &isnull);
	if (isnull)
		return false;			/* no unit, no experiment: the champion decides */
	text = OutputFunctionCall(&st->unit_out, unit);
	return bucket_of(st->canary_salt, strlen(st->canary_salt), text, strlen(text), 10000) < st->canary_cut;
}

/* The model's features, by name, among the feature set's. */
static void
bind_feature_set(TriggerState *st, Relation rel, Trigger *tg, MemoryContext mcxt)
{
	FeatureSet *fs = st->fs;
	CachedModel *m = st->model;
	Oid			table = catalog_citus_table_of(RelationGetRelid(rel));

	if (fs->events != RelationGetRelid(rel) && fs->events != table)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("risk.score_trigger %s: feature set \"%s\" is declared over table \"%s\", not \"%s\"",
						tg->tgname, fs->name, get_rel_name(fs->events), RelationGetRelationName(rel))));
	st->fs_stores = NULL;
	st->fs_arrival_att = fs->arrival_att;
	if (fs->events == table)
	{
		/* on a shard: the set's expressions read the table's row; each state is kept next to the shard */
		MemoryContext old = MemoryContextSwitchTo(mcxt);

		st->features_desc = lookup_rowtype_tupdesc_copy(get_rel_type_id(table), -1);
		st->features_map = convert_tuples_by_name(RelationGetDescr(rel), st->features_desc);
		MemoryContextSwitchTo(old);
		if (fs->arrival_att)
			st->fs_arrival_att = get_attnum(RelationGetRelid(rel), get_attname(table, fs->arrival_att, false));
		st->fs_stores = MemoryContextAlloc(mcxt, sizeof(Oid) * Max(1, fs->nentities));
		for (int i = 0; i < fs->nentities; i++)
		{
			st->fs_stores[i] = catalog_citus_colocated_shard(fs->entities[i].store, RelationGetRelid(rel));
			if (!OidIsValid(st->fs_stores[i]))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("risk.score_trigger %s: entity \"%s\" of feature set \"%s\" is not the distribution column of \"%s\"",
								tg->tgname, fs->entities[i].name, fs->name, get_rel_name(table)),
						 errdetail("Its events are on every shard, and its states on the coordinator: a trigger on a shard cannot keep them."),
						 errhint("Score on the shards with a feature set whose entities are the distribution column; "
								 "%s_features() computes the others exactly from the coordinator.", fs->name)));
		}
	}
	st->fs_map = MemoryContextAlloc(mcxt, sizeof(int) * Max(1, m->num_features));
	st->fs_out = MemoryContextAlloc(mcxt, sizeof(double) * Max(1, fs->nfeatures));
	st->fs_null = MemoryContextAlloc(mcxt, sizeof(bool) * Max(1, fs->nfeatures));
	for (int i = 0; i < m->num_features; i++)
	{
		st->fs_map[i] = -1;
		for (int f = 0; f < fs->nfeatures; f++)
			if (strcmp(fs->features[f].name, m->feature_names[i]) == 0)
				st->fs_map[i] = f;
		if (st->fs_map[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("risk.score_trigger %s: feature set \"%s\" has no feature \"%s\", feature %d of model \"%s\"",
							tg->tgname, fs->name, m->feature_names[i], i + 1, m->name),
					 errhint("SELECT risk.check_feature_set('%s', '%s') compares them.", fs->name, m->name)));
	}
}

static TriggerState *
trigger_state(FunctionCallInfo fcinfo, TriggerData *td)
{
	TriggerState *st = (TriggerState *) fcinfo->flinfo->fn_extra;
	Trigger    *tg = td->tg_trigger;
	MemoryContext mcxt = fcinfo->flinfo->fn_mcxt;
	Relation	rel = td->tg_relation;

	if (st != NULL && st->trigger == tg->tgoid && st->model != NULL &&
		st->generation == model_cache_generation)
		return st;
	if (st == NULL)
	{
		/* the first row of the statement: hear of what was committed before it */
		AcceptInvalidationMessages();
		st = MemoryContextAllocZero(mcxt, sizeof(TriggerState));
		model_cache_unpin_at_reset(mcxt, &st->release, &st->model);
		model_cache_unpin_at_reset(mcxt, &st->release_challenger, &st->challenger);
		rules_unpin_at_reset(mcxt, &st->release_rules, &st->rules);
		fcinfo->flinfo->fn_extra = st;
	}
	if (st->model)
	{
		model_cache_unpin(st->model);
		st->model = NULL;
	}
	if (tg->tgnargs < 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("risk.score_trigger %s takes at least 3 arguments, not %d", tg->tgname, tg->tgnargs),
				 errhint("risk.score_trigger('model', 'features_function', 'score_column'[, 'decision_column'[, 'reasons_column'[, 'rules=rule_set', ...]]])")));
	st->trigger = tg->tgoid;
	strlcpy(st->model_name, model_ref_check(cstring_to_text(tg->tgargs[0])), sizeof(st->model_name));
	st->fs = NULL;
	st->features_map = NULL;
	if (strchr(tg->tgargs[1], '.') == NULL && feature_set_exists(tg->tgargs[1]))
		st->fs = feature_set_pin(tg->tgargs[1], mcxt);
	else
		features_function(st, rel, tg->tgname, tg->tgargs[1], mcxt);
	st->score_att = column_of(rel, tg->tgname, tg->tgargs[2], FLOAT8OID, "score");
	/* an empty decision or reasons argument: that column is not written */
	st->decision_att = tg->tgnargs > 3 && tg->tgargs[3][0] != '\0'
		? column_of(rel, tg->tgname, tg->tgargs[3], TEXTOID, "decision") : 0;
	st->reasons_att = tg->tgnargs > 4 && tg->tgargs[4][0] != '\0'
		? column_of(rel, tg->tgname, tg->tgargs[4], TEXTARRAYOID, "reasons") : 0;
	st->rule_set = NULL;
	st->hits_att = st->shadow_hits_att = st->errors_att = st->version_att = st->features_att = 0;
	st->challenger_ref = st->canary_salt = NULL;
	st->challenger_score_att = st->champion_score_att = st->model_version_att = 0;
	st->canary_unit_att = st->in_canary_att = st->canary_cut = 0;
	if (st->challenger)
	{
		model_cache_unpin(st->challenger);
		st->challenger = NULL;
	}
	trigger_options(st, rel, tg, 5, mcxt);
	st->model = model_cache_pin(st->model_name);
	if (st->challenger_ref)
	{
		st->challenger = model_cache_pin(st->challenger_ref);
		check_challenger(st, tg);
	}
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
	memset(&st->binding, 0, sizeof(st->binding));
	if (st->fs)
		bind_feature_set(st, rel, tg, mcxt);
	st->phi = MemoryContextAlloc(mcxt, sizeof(double) * (st->model->num_features + 1));
	if (st->values == NULL)
	{
		int			natts = RelationGetDescr(rel)->natts;

		st->values = MemoryContextAlloc(mcxt, sizeof(Datum) * Max(natts, 1));
		st->nulls = MemoryContextAlloc(mcxt, sizeof(bool) * Max(natts, 1));
	}
	trigger_rules(st, rel, tg, mcxt);
	return st;
}

/* The features of a row, from the features function, into st->row. */
static void
row_features(TriggerState *st, TriggerData *td)
{
	Datum		row;
	LOCAL_FCINFO(call, 1);
	Datum		result;

	if (st->fs)
	{
		st->has_arrival = feature_set_online(st->fs, st->features_map ? execute_attr_map_tuple(td->tg_trigtuple, st->features_map)
											 : td->tg_trigtuple, st->fs_stores, st->fs_out, st->fs_null, &st->arrival);
		for (int i = 0; i < st->model->num_features; i++)
		{
			int			f = st->fs_map[i];

			st->row[i] = st->fs_null[f] ? NAN : (float) st->fs_out[f];
			if (unlikely(isinf(st->row[i])))
				features_not_finite(st->model, i);
		}
		return;
	}
	/* as the row type the function takes (on Citus, the distributed table's) */
	row = heap_copy_tuple_as_datum(st->features_map ? execute_attr_map_tuple(td->tg_trigtuple, st->features_map)
								   : td->tg_trigtuple, st->features_desc);

	InitFunctionCallInfoData(*call, &st->features, 1, InvalidOid, NULL, NULL);
	call->args[0].value = row;
	call->args[0].isnull = false;
	result = FunctionCallInvoke(call);
	if (call->isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("risk.score_trigger %s: the features function returned NULL",
						td->tg_trigger->tgname)));
	if (st->features_type == RECORDOID)
	{
		/* bound by name, as risk.score binds a row */
		features_read_record(&st->binding, st->model, st->features.fn_mcxt, DatumGetHeapTupleHeader(result),
							 st->row);
		return;
	}
	/* read and checked as risk.score reads an array: the same errors */
	features_read_array(st->model, DatumGetArrayTypeP(result),
						st->features_type == FLOAT8ARRAYOID ? FLOAT8OID : FLOAT4OID, st->row);
}

/*
 * The rules on the row, as the owner of the table (as PostgreSQL runs
 * foreign-key checks): the inserting role needs no privilege on the rules,
 * and cannot make them run code of its own.
 */
static void
row_rules(TriggerState *st, TriggerData *td, double score, const Thresholds *th, RowDecision *d)
{
	RuleInput	in;
	Oid			userid;
	int			sec_context;

	heap_deform_tuple(td->tg_trigtuple, RelationGetDescr(td->tg_relation), st->values, st->nulls);
	in.values = st->values;
	in.nulls = st->nulls;
	in.features = st->row;
	in.score = score;
	in.at = GetCurrentStatementStartTimestamp();
	GetUserIdAndSecContext(&userid, &sec_context);
	SetUserIdAndSecContext(RelationGetForm(td->tg_relation)->relowner,
						   sec_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	decision_make(st->rules, &in, th, d);
	SetUserIdAndSecContext(userid, sec_context);
	for (int i = 0; i < st->rules->nrules; i++)
		if (d->outcomes[i] == OUTCOME_ERROR && !st->warned[i])
		{
			st->warned[i] = true;
			ereport(WARNING,
					(errcode(ERRCODE_WARNING),
					 errmsg("rule \"%s\" of rule set \"%s\" version %d raised an error: %s",
							st->rules->rules[i].def.key, st->rule_set, st->rules_version,
							d->errors[i] ? d->errors[i] : "?"),
					 errdetail("The row was decided without it; this statement reports each rule's first error only."),
					 st->errors_att ? 0 : errhint("The rule_errors= option names a text[] column that records them per row.")));
		}
}

/* The features as served, by name: missing ones null, values as the model read them (float4). */
static Datum
features_as_jsonb(const CachedModel *m, const float *row)
{
	JsonbParseState *ps = NULL;
	JsonbValue *res;

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < m->num_features; i++)
	{
		JsonbValue	k;
		JsonbValue	v;

		k.type = jbvString;
		k.val.string.val = m->feature_names[i];
		k.val.string.len = strlen(m->feature_names[i]);
		pushJsonbValue(&ps, WJB_KEY, &k);
		if (isnan(row[i]))
			v.type = jbvNull;
		else
		{
			v.type = jbvNumeric;
			v.val.numeric = DatumGetNumeric(DirectFunctionCall1(float4_numeric, Float4GetDatum(row[i])));
		}
		pushJsonbValue(&ps, WJB_VALUE, &v);
	}
	res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(res));
}

/* CONTEXT of an error while a row is scored: which trigger, on which table. */
static void
trigger_error_context(void *arg)
{
	TriggerData *td = (TriggerData *) arg;

	errcontext("risk.score_trigger %s on table %s", td->tg_trigger->tgname,
			   RelationGetRelationName(td->tg_relation));
}

#define MAX_COLUMNS 16

PG_FUNCTION_INFO_V1(risk_score_trigger);
Datum
risk_score_trigger(PG_FUNCTION_ARGS)
{
	ErrorContextCallback context;
	TriggerData *td = (TriggerData *) fcinfo->context;
	TriggerState *st;
	double		score;
	CachedModel *decider;		/* the champion, or the challenger for a canary's row */
	int			cols[MAX_COLUMNS];
	Datum		values[MAX_COLUMNS];
	bool		nulls[MAX_COLUMNS];
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
	score = decision_score(st->model, st->row);
	decider = st->model;
	memset(nulls, 0, sizeof(nulls));
	if (st->challenger)
	{
		double		challenger_score = decision_score(st->challenger, st->row);
		bool		canary = row_in_canary(st, td);

		if (st->challenger_score_att > 0)
		{
			cols[n] = st->challenger_score_att;
			values[n++] = Float8GetDatum(challenger_score);
		}
		if (st->champion_score_att > 0)
		{
			cols[n] = st->champion_score_att;
			values[n++] = Float8GetDatum(score);
		}
		if (st->in_canary_att > 0)
		{
			cols[n] = st->in_canary_att;
			values[n++] = BoolGetDatum(canary);
		}
		if (canary)
		{
			decider = st->challenger;
			score = challenger_score;
		}
	}
	if (st->model_version_att > 0)
	{
		cols[n] = st->model_version_att;
		values[n++] = Int32GetDatum(decider->version);
	}
	cols[n] = st->score_att;
	values[n++] = Float8GetDatum(score);
	if (st->fs && st->has_arrival)
	{
		cols[n] = st->fs_arrival_att;
		values[n++] = Int64GetDatum(st->arrival);
	}
	if (st->features_att > 0)
	{
		cols[n] = st->features_att;
		values[n++] = st->features_elem == JSONBOID ? features_as_jsonb(st->model, st->row)
			: PointerGetDatum(features_make_array(st->row, st->model->num_features, st->features_elem));
	}
	if (st->decision_att > 0 || st->reasons_att > 0)
	{
		Thresholds	th = decision_thresholds_of(decider->name, decider->version);
		RowDecision d;
		ArrayType  *a;

		if (st->rules)
			row_rules(st, td, score, &th, &d);
		else
		{
			memset(&d, 0, sizeof(d));
			d.decision = decision_by_thresholds(&th, score);
		}
		if (st->decision_att > 0)
		{
			cols[n] = st->decision_att;
			values[n++] = CStringGetTextDatum(decision_name(d.decision));
		}
		if (st->reasons_att > 0)
		{
			cols[n] = st->reasons_att;
			a = decision_reasons(st->rules, &d, decider, st->row, st->phi, Min(th.reasons, MAX_REASONS));
			nulls[n] = a == NULL;	/* none for allowed rows: nobody reads them */
			values[n++] = PointerGetDatum(a);
		}
		if (st->hits_att > 0)
		{
			cols[n] = st->hits_att;
			a = decision_rule_keys(st->rules, &d, RULE_ENFORCE, OUTCOME_HIT);
			nulls[n] = a == NULL;
			values[n++] = PointerGetDatum(a);
		}
		if (st->shadow_hits_att > 0)
		{
			cols[n] = st->shadow_hits_att;
			a = decision_rule_keys(st->rules, &d, RULE_SHADOW, OUTCOME_HIT);
			nulls[n] = a == NULL;
			values[n++] = PointerGetDatum(a);
		}
		if (st->errors_att > 0)
		{
			cols[n] = st->errors_att;
			a = decision_rule_keys(st->rules, &d, RULE_ENFORCE, OUTCOME_ERROR);
			nulls[n] = a == NULL;
			values[n++] = PointerGetDatum(a);
		}
		if (st->version_att > 0)
		{
			cols[n] = st->version_att;
			nulls[n] = st->rules_version == 0;
			values[n++] = Int32GetDatum(st->rules_version);
		}
	}
	error_context_stack = context.previous;
	return PointerGetDatum(heap_modify_tuple_by_cols(td->tg_trigtuple, RelationGetDescr(td->tg_relation),
													 n, cols, values, nulls));
}

/*-------------------------------------------------------------------------
 * rules_catalog.c
 *	  The rule sets' tables: creating a set, publishing its draft, approving
 *	  and rolling back versions, checking rules, and this backend's cache of
 *	  compiled versions.
 *
 * risk.rules holds the drafts, edited with plain INSERT, UPDATE and
 * DELETE.  risk.publish_rules validates every draft rule of a set (each
 * error names its rule), copies what it validated into an immutable new
 * version and makes it current, in the caller's transaction: a failed
 * publish changes nothing.  A set that requires approval waits for
 * risk.approve_rules by another role.  risk.rollback_rules makes an older
 * approved version current again.  Each of these records who and when in
 * risk.rule_publications.  They write as the owner of the extension's
 * tables; EXECUTE on them (revoked from PUBLIC) is the privilege to publish.
 *
 * Each backend keeps the rule sets' rows (reread after a change to
 * risk.rule_sets is committed: a publish holds from the next statement)
 * and the versions it has compiled, each against one table and one version
 * of the model, pinned by the statements that use them.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "model_cache.h"
#include "rules.h"

/* ------------------------------------------------------------------------
 * The cache
 * ------------------------------------------------------------------------
 */

typedef struct SetEntry
{
	char		name[64];		/* hash key */
	RuleSetInfo info;
} SetEntry;

static HTAB *sets = NULL;
static bool sets_valid = false;
static Oid	sets_relid = InvalidOid;

static RuleDef *draft_rules(const char *set, int *n);

/* compiled versions: a short list, searched linearly */
static List *compiled = NIL;

static void
retire(CompiledRuleSet *rs)
{
	compiled = list_delete_ptr(compiled, rs);
	if (rs->pins == 0)
		MemoryContextDelete(rs->mcxt);
	else
		rs->retired = true;
}

void
rules_relation_changed(Oid relid)
{
	if (relid == InvalidOid || relid == sets_relid)
	{
		sets_valid = false;
		/* a publish: compile again at the next use (drops versions nobody needs) */
		while (compiled != NIL)
			retire((CompiledRuleSet *) linitial(compiled));
		return;
	}
	{
		List	   *all = list_copy(compiled);
		ListCell   *lc;

		foreach(lc, all)
		{
			CompiledRuleSet *rs = (CompiledRuleSet *) lfirst(lc);

			if (rs->relid == relid)
				retire(rs);
		}
		list_free(all);
	}
}

static void
sets_load(void)
{
	HASHCTL		ctl;

	if (sets)
		hash_destroy(sets);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = 64;
	ctl.entrysize = sizeof(SetEntry);
	ctl.hcxt = TopMemoryContext;
	sets = hash_create("risk rule sets", 16, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	sets_relid = catalog_read_relid("rule_sets");
	sets_valid = true;			/* a change while we read makes us read again */
	catalog_read(psprintf("SELECT name, relation::pg_catalog.oid, model, current_version, require_approval FROM %s",
						  catalog_read_name("rule_sets")), "rule_sets", &sets_valid);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *name = TextDatumGetCString(SPI_getbinval(t, d, 1, &isnull));
		SetEntry   *e;
		Datum		current;

		if (strlen(name) >= 64)
			continue;
		e = hash_search(sets, name, HASH_ENTER, NULL);
		memset(&e->info, 0, sizeof(e->info));
		strlcpy(e->info.name, name, sizeof(e->info.name));
		e->info.relid = DatumGetObjectId(SPI_getbinval(t, d, 2, &isnull));
		strlcpy(e->info.model, TextDatumGetCString(SPI_getbinval(t, d, 3, &isnull)), sizeof(e->info.model));
		current = SPI_getbinval(t, d, 4, &isnull);
		e->info.current = isnull ? 0 : DatumGetInt32(current);
		e->info.require_approval = DatumGetBool(SPI_getbinval(t, d, 5, &isnull));
	}
	SPI_finish();
}

static void
no_such_rule_set(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("rule set \"%s\" does not exist", name),
			 errhint("Create it with risk.create_rule_set(); SELECT name FROM risk.rule_sets lists them.")));
}

RuleSetInfo
rules_set_info(const char *name)
{
	SetEntry   *e = NULL;

	if (!sets_valid)
		sets_load();
	if (strlen(name) < 64)
		e = hash_search(sets, name, HASH_FIND, NULL);
	if (e == NULL)
		no_such_rule_set(name);
	return e->info;
}

/* The rules of a published version, in the current memory context (SPI connected). */
static RuleDef *
version_rules(const char *set, int32 version, int *n)
{
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		args[2] = {CStringGetTextDatum(set), Int32GetDatum(version)};
	RuleDef    *defs;
	CatalogIdentity id;
	MemoryContext cxt = CurrentMemoryContext;

	catalog_as_owner("published_rules", &id);
	if (SPI_execute_with_args(psprintf("SELECT v.version, r.key, r.expression, r.action, r.mode, r.priority, "
									   "r.description FROM %s v LEFT JOIN %s r ON r.rule_set OPERATOR(pg_catalog.=) v.rule_set "
									   "AND r.version OPERATOR(pg_catalog.=) v.version "
									   "WHERE v.rule_set OPERATOR(pg_catalog.=) $1 AND v.version OPERATOR(pg_catalog.=) $2",
									   catalog_read_name("rule_versions"), catalog_read_name("published_rules")),
							  2, argtypes, args, NULL, IsInParallelMode(), 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read " RISK_SCHEMA ".published_rules");
	catalog_as_caller(&id);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("rule set \"%s\" has no version %d", set, version),
				 errhint("SELECT * FROM risk.rule_versions WHERE rule_set = '%s' lists its versions.", set)));
	defs = MemoryContextAllocZero(cxt, sizeof(RuleDef) * SPI_processed);
	*n = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		RuleDef    *r = &defs[*n];
		Datum		key = SPI_getbinval(t, d, 2, &isnull);

		if (isnull)
			continue;			/* a version without rules */
		r->key = MemoryContextStrdup(cxt, TextDatumGetCString(key));
		r->expression = MemoryContextStrdup(cxt, TextDatumGetCString(SPI_getbinval(t, d, 3, &isnull)));
		if (!decision_parse(TextDatumGetCString(SPI_getbinval(t, d, 4, &isnull)), &r->action) ||
			!mode_parse(TextDatumGetCString(SPI_getbinval(t, d, 5, &isnull)), &r->mode))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("rule \"%s\" of rule set \"%s\" version %d has an unknown action or mode", r->key, set, version)));
		r->priority = DatumGetInt32(SPI_getbinval(t, d, 6, &isnull));
		r->description = MemoryContextStrdup(cxt, TextDatumGetCString(SPI_getbinval(t, d, 7, &isnull)));
		(*n)++;
	}
	return defs;
}

CompiledRuleSet *
rules_pin(const RuleSetInfo *set, int32 version, Oid relid, TupleDesc desc, const char *relname,
		  const CachedModel *model)
{
	RuleContext cx;
	RuleDef    *defs;
	int			n;
	CompiledRuleSet *rs;
	MemoryContext old;
	ListCell   *lc;
	Oid			userid = GetUserId();

	foreach(lc, compiled)
	{
		CompiledRuleSet *c = (CompiledRuleSet *) lfirst(lc);

		if (c->version == version && c->relid == relid && c->userid == userid &&
			registry_same_stamp(&c->model_stamp, &model->stamp) &&
			strcmp(c->name, set->name) == 0 && strcmp(c->model, model->name) == 0)
		{
			c->pins++;
			return c;
		}
	}
	catalog_spi_connect();
	defs = version_rules(set->name, version, &n);
	cx.rule_set = set->name;
	cx.desc = desc;
	cx.relname = relname;
	cx.model = model->name;
	cx.num_features = model->num_features;
	cx.feature_names = model->feature_names;
	rs = rules_compile_set(&cx, version, defs, n, CacheMemoryContext);
	SPI_finish();
	rs->relid = relid;
	rs->userid = userid;
	strlcpy(rs->model, model->name, sizeof(rs->model));
	rs->model_stamp = model->stamp;
	rs->pins = 1;
	old = MemoryContextSwitchTo(TopMemoryContext);
	compiled = lappend(compiled, rs);
	MemoryContextSwitchTo(old);
	return rs;
}

CompiledRuleSet *
rules_compile_draft(const RuleSetInfo *set, TupleDesc desc, const char *relname,
					const CachedModel *model, MemoryContext parent)
{
	RuleContext cx;
	RuleDef    *defs;
	int			n;
	CompiledRuleSet *rs;

	catalog_spi_connect();
	defs = draft_rules(set->name, &n);
	cx.rule_set = set->name;
	cx.desc = desc;
	cx.relname = relname;
	cx.model = model->name;
	cx.num_features = model->num_features;
	cx.feature_names = model->feature_names;
	rs = rules_compile_set(&cx, 0, defs, n, parent);
	SPI_finish();
	for (int i = 0; i < rs->nrules; i++)
		if (rs->rules[i].def.mode != RULE_OFF && rs->rules[i].state == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rule set \"%s\", draft rule \"%s\": %s", set->name, rs->rules[i].def.key,
							rs->rules[i].broken),
					 errhint("SELECT * FROM risk.check_rules('%s') lists the draft's invalid rules.", set->name)));
	rs->relid = set->relid;
	rs->userid = GetUserId();
	strlcpy(rs->model, model->name, sizeof(rs->model));
	rs->model_stamp = model->stamp;
	return rs;
}

void
rules_free(CompiledRuleSet *rs)
{
	MemoryContextDelete(rs->mcxt);
}

void
rules_unpin(CompiledRuleSet *rs)
{
	Assert(rs->pins > 0);
	if (--rs->pins == 0 && rs->retired)
		MemoryContextDelete(rs->mcxt);
}

static void
unpin_held(void *arg)
{
	CompiledRuleSet **holder = (CompiledRuleSet **) arg;

	if (*holder)
		rules_unpin(*holder);
	*holder = NULL;
}

void
rules_unpin_at_reset(MemoryContext mcxt, MemoryContextCallback *cb, CompiledRuleSet **holder)
{
	cb->func = unpin_held;
	cb->arg = holder;
	MemoryContextRegisterResetCallback(mcxt, cb);
}

/* ------------------------------------------------------------------------
 * Validating rules
 * ------------------------------------------------------------------------
 */

/* What a set's rules are checked against: its table's columns and its model's features. */
typedef struct Target
{
	RuleContext cx;
	CachedModel *model;
	Relation	rel;
} Target;

static void
target_open(Target *t, const char *set, Oid relid, const char *model)
{
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the table of rule set \"%s\" (OID %u) no longer exists", set, relid)));
	t->rel = relation_open(relid, AccessShareLock);
	t->model = model_cache_pin(model);
	t->cx.rule_set = set;
	t->cx.desc = RelationGetDescr(t->rel);
	t->cx.relname = RelationGetRelationName(t->rel);
	t->cx.model = t->model->name;
	t->cx.num_features = t->model->num_features;
	t->cx.feature_names = t->model->feature_names;
}

static void
target_close(Target *t)
{
	model_cache_unpin(t->model);
	relation_close(t->rel, AccessShareLock);
}

/*
 * Compiles one rule in a subtransaction; NULL when it is valid, else the
 * error, its message naming the rule and its hint saying what rules read.
 */
/* A rule compiled as publishing checks it, for rules_try. */
typedef struct RuleCheck
{
	const Target *t;
	const RuleDef *r;
} RuleCheck;

static void
check_rule_expression(void *arg)
{
	RuleCheck  *c = (RuleCheck *) arg;
	List	   *lists;
	bool		contained;
	Expr	   *expr = rules_compile_expression(&c->t->cx, c->r->key, c->r->expression, &lists, &contained);
	Oid			userid;
	int			sec_context;

	/* and the table's owner, who runs the rules in the trigger, may run what it calls */
	GetUserIdAndSecContext(&userid, &sec_context);
	SetUserIdAndSecContext(RelationGetForm(c->t->rel)->relowner,
						   sec_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	(void) ExecInitExpr(expr, NULL);
	SetUserIdAndSecContext(userid, sec_context);
}

static ErrorData *
check_rule(const Target *t, const RuleDef *r)
{
	RuleCheck	c = {t, r};
	ErrorData  *e;

	if (rules_try(check_rule_expression, &c, &e))
		return NULL;
	if (strstr(e->message, "rule \"") != e->message)
		e->message = psprintf("rule \"%s\": %s", r->key, e->message);
	if (e->hint == NULL && e->sqlerrcode == ERRCODE_UNDEFINED_COLUMN)
		e->hint = psprintf("A rule reads the columns of table %s (new.name), the features of model \"%s\" "
						   "(features.name; SELECT * FROM risk.model_features('%s') lists them), and score.",
						   t->cx.relname, t->model->name, t->model->name);
	e->detail = e->detail ? e->detail : psprintf("The expression: %s", r->expression);
	e->cursorpos = 0;
	e->internalpos = 0;
	e->context = NULL;
	return e;
}

static void
raise_rule_error(ErrorData *e, const char *set)
{
	ereport(ERROR,
			(errcode(e->sqlerrcode),
			 errmsg("rule set \"%s\", %s", set, e->message),
			 e->detail ? errdetail("%s", e->detail) : 0,
			 e->hint ? errhint("%s", e->hint) : 0));
}

/* Reads a set's row, locked when for_update (SPI connected, as the owner). */
static RuleSetInfo
set_row(const char *name, bool for_update)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};
	RuleSetInfo info;
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;
	Datum		current;

	if (for_update)
		catalog_citus_check_write("rule_sets");
	if (SPI_execute_with_args(for_update
							  ? "SELECT relation::pg_catalog.oid, model, current_version, require_approval "
							  "FROM " RISK_SCHEMA ".rule_sets WHERE name OPERATOR(pg_catalog.=) $1 FOR UPDATE"
							  : "SELECT relation::pg_catalog.oid, model, current_version, require_approval "
							  "FROM " RISK_SCHEMA ".rule_sets WHERE name OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, false, 0) < 0)
		elog(ERROR, "could not read " RISK_SCHEMA ".rule_sets");
	if (SPI_processed == 0)
		no_such_rule_set(name);
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	memset(&info, 0, sizeof(info));
	strlcpy(info.name, name, sizeof(info.name));
	info.relid = DatumGetObjectId(SPI_getbinval(t, d, 1, &isnull));
	strlcpy(info.model, TextDatumGetCString(SPI_getbinval(t, d, 2, &isnull)), sizeof(info.model));
	current = SPI_getbinval(t, d, 3, &isnull);
	info.current = isnull ? 0 : DatumGetInt32(current);
	info.require_approval = DatumGetBool(SPI_getbinval(t, d, 4, &isnull));
	return info;
}

/* The draft rules of a set (SPI connected), in the current memory context. */
static RuleDef *
draft_rules(const char *set, int *n)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(set)};
	RuleDef    *defs;
	MemoryContext cxt = CurrentMemoryContext;

	if (SPI_execute_with_args("SELECT key, expression, action, mode, priority, description "
							  "FROM " RISK_SCHEMA ".rules WHERE rule_set OPERATOR(pg_catalog.=) $1 "
							  "ORDER BY key COLLATE pg_catalog.\"C\"",
							  1, argtypes, args, NULL, IsInParallelMode(), 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read " RISK_SCHEMA ".rules");
	*n = (int) SPI_processed;
	defs = MemoryContextAllocZero(cxt, sizeof(RuleDef) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;

		defs[i].key = MemoryContextStrdup(cxt, TextDatumGetCString(SPI_getbinval(t, d, 1, &isnull)));
		defs[i].expression = MemoryContextStrdup(cxt, TextDatumGetCString(SPI_getbinval(t, d, 2, &isnull)));
		(void) decision_parse(TextDatumGetCString(SPI_getbinval(t, d, 3, &isnull)), &defs[i].action);
		(void) mode_parse(TextDatumGetCString(SPI_getbinval(t, d, 4, &isnull)), &defs[i].mode);
		defs[i].priority = DatumGetInt32(SPI_getbinval(t, d, 5, &isnull));
		defs[i].description = MemoryContextStrdup(cxt, TextDatumGetCString(SPI_getbinval(t, d, 6, &isnull)));
	}
	return defs;
}

/* Every rule valid, or the first error raised (rules in key order). */
static void
validate_all(const RuleSetInfo *set, const RuleDef *defs, int n)
{
	Target		t;

	target_open(&t, set->name, set->relid, set->model);
	PG_TRY();
	{
		for (int i = 0; i < n; i++)
		{
			ErrorData  *e = check_rule(&t, &defs[i]);

			if (e)
				raise_rule_error(e, set->name);
		}
	}
	PG_FINALLY();
	{
		target_close(&t);		/* the model's pin is not the resource owner's: give it back */
	}
	PG_END_TRY();
}

void
rules_validate(const char *name, int32 version)
{
	CatalogIdentity id;
	RuleSetInfo set;
	RuleDef    *defs;
	int			n;

	catalog_spi_connect();
	catalog_as_owner("rule_sets", &id);
	set = set_row(name, false);
	catalog_as_caller(&id);
	defs = version == 0 ? draft_rules(name, &n) : version_rules(name, version, &n);
	validate_all(&set, defs, n);
	SPI_finish();
}

static char *
caller(const CatalogIdentity *id)
{
	return GetUserNameFromId(id->userid, false);
}

/* Makes a version current and logs it (SPI connected, as the owner). */
static void
make_current(const char *set, int32 version, const char *event, const char *who, Datum note, bool note_null)
{
	Oid			argtypes[5] = {TEXTOID, INT4OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		args[5] = {CStringGetTextDatum(set), Int32GetDatum(version), CStringGetTextDatum(event),
	CStringGetTextDatum(who), note};
	char		nulls[5] = {' ', ' ', ' ', ' ', note_null ? 'n' : ' '};

	if (SPI_execute_with_args("UPDATE " RISK_SCHEMA ".rule_sets SET current_version = $2 "
							  "WHERE name OPERATOR(pg_catalog.=) $1", 2, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update " RISK_SCHEMA ".rule_sets");
	if (SPI_execute_with_args("INSERT INTO " RISK_SCHEMA ".rule_publications "
							  "(rule_set, seq, version, event, published_by, published_at, note) "
							  "SELECT $1, COALESCE(pg_catalog.max(seq), 0) OPERATOR(pg_catalog.+) 1, "
							  "$2, $3, $4, pg_catalog.now(), $5 FROM " RISK_SCHEMA ".rule_publications "
							  "WHERE rule_set OPERATOR(pg_catalog.=) $1",
							  5, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into " RISK_SCHEMA ".rule_publications");
}

static char *
set_name_arg(FunctionCallInfo fcinfo)
{
	return catalog_check_name(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0), "rule set");
}

/* ------------------------------------------------------------------------
 * SQL functions
 * ------------------------------------------------------------------------
 */

/* risk.create_rule_set(name, relation, model, description, require_approval) */
PG_FUNCTION_INFO_V1(risk_create_rule_set);
Datum
risk_create_rule_set(PG_FUNCTION_ARGS)
{
	char	   *name = set_name_arg(fcinfo);
	Oid			relid;
	char	   *model;
	CatalogIdentity id;
	Oid			argtypes[6] = {TEXTOID, OIDOID, TEXTOID, TEXTOID, BOOLOID, TEXTOID};
	Datum		args[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	CachedModel *m;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a rule set needs a table and a model")));
	relid = PG_GETARG_OID(1);
	if (get_rel_relkind(relid) != RELKIND_RELATION && get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", get_rel_name(relid) ? get_rel_name(relid) : "?"),
				 errhint("A rule set decides the rows inserted into a table.")));
	model = registry_check_name(PG_GETARG_TEXT_PP(2));
	m = model_cache_pin(model); /* it exists, and we may read it */
	model_cache_unpin(m);
	catalog_citus_check_write("rule_sets");
	catalog_spi_connect();
	catalog_as_owner("rule_sets", &id);
	args[0] = CStringGetTextDatum(name);
	args[1] = ObjectIdGetDatum(relid);
	args[2] = CStringGetTextDatum(model);
	if (PG_ARGISNULL(3))
		nulls[3] = 'n';
	else
		args[3] = PG_GETARG_DATUM(3);
	args[4] = BoolGetDatum(!PG_ARGISNULL(4) && PG_GETARG_BOOL(4));
	args[5] = CStringGetTextDatum(caller(&id));
	if (SPI_execute_with_args("INSERT INTO " RISK_SCHEMA ".rule_sets "
							  "(name, relation, model, description, require_approval, created_by, created_at) "
							  "VALUES ($1, $2::pg_catalog.regclass, $3, $4, $5, $6, pg_catalog.now()) "
							  "ON CONFLICT (name) DO NOTHING",
							  6, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into " RISK_SCHEMA ".rule_sets");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("rule set \"%s\" already exists", name)));
	catalog_as_caller(&id);
	SPI_finish();
	PG_RETURN_VOID();
}

/* risk.publish_rules(rule_set, note) -> the new version */
PG_FUNCTION_INFO_V1(risk_publish_rules);
Datum
risk_publish_rules(PG_FUNCTION_ARGS)
{
	char	   *name = set_name_arg(fcinfo);
	CatalogIdentity id;
	RuleSetInfo set;
	RuleDef    *defs;
	int			n;
	int32		version;
	bool		isnull;
	char	   *who;
	Oid			vtypes[5] = {TEXTOID, TEXTOID, TEXTOID, BOOLOID, INT4OID};
	Datum		vargs[5];
	char		vnulls[5] = {' ', ' ', ' ', ' ', ' '};

	catalog_spi_connect();
	catalog_as_owner("rule_sets", &id);
	who = caller(&id);
	set = set_row(name, true);
	defs = draft_rules(name, &n);
	/* validated as the caller: what a rule calls runs with the publisher's rights here */
	catalog_as_caller(&id);
	validate_all(&set, defs, n);
	catalog_as_owner("rule_sets", &id);
	vargs[0] = CStringGetTextDatum(name);
	vargs[1] = CStringGetTextDatum(who);
	if (PG_ARGISNULL(1))
		vnulls[2] = 'n';
	else
		vargs[2] = PG_GETARG_DATUM(1);
	vargs[3] = BoolGetDatum(set.require_approval);
	vnulls[4] = 'n';
	/* the next version (the set's row is locked), then the version: two plain statements, as Citus runs them */
	if (SPI_execute_with_args("SELECT COALESCE(pg_catalog.max(version), 0) OPERATOR(pg_catalog.+) 1 "
							  "FROM " RISK_SCHEMA ".rule_versions WHERE rule_set OPERATOR(pg_catalog.=) $1",
							  1, vtypes, vargs, NULL, false, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read " RISK_SCHEMA ".rule_versions");
	version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	vargs[4] = Int32GetDatum(version);
	vnulls[4] = ' ';
	if (SPI_execute_with_args("INSERT INTO " RISK_SCHEMA ".rule_versions "
							  "(rule_set, version, created_by, created_at, approved_by, approved_at, note) "
							  "VALUES ($1, $5, $2, pg_catalog.now(), CASE WHEN $4 THEN NULL ELSE $2 END, "
							  "CASE WHEN $4 THEN NULL ELSE pg_catalog.now() END, $3)",
							  5, vtypes, vargs, vnulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into " RISK_SCHEMA ".rule_versions");
	for (int i = 0; i < n; i++)
	{
		Oid			types[8] = {TEXTOID, INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, TEXTOID};
		Datum		args[8] = {CStringGetTextDatum(name), Int32GetDatum(version),
			CStringGetTextDatum(defs[i].key), CStringGetTextDatum(defs[i].expression),
			CStringGetTextDatum(decision_name(defs[i].action)), CStringGetTextDatum(mode_name(defs[i].mode)),
		Int32GetDatum(defs[i].priority), CStringGetTextDatum(defs[i].description)};

		if (SPI_execute_with_args("INSERT INTO " RISK_SCHEMA ".published_rules "
								  "(rule_set, version, key, expression, action, mode, priority, description) "
								  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
								  8, types, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into " RISK_SCHEMA ".published_rules");
	}
	if (!set.require_approval)
		make_current(name, version, "publish", who, PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1), PG_ARGISNULL(1));
	else
		ereport(NOTICE,
				(errmsg("version %d of rule set \"%s\" waits for approval", version, name),
				 errhint("Another role runs SELECT risk.approve_rules('%s', %d);", name, version)));
	catalog_as_caller(&id);
	SPI_finish();
	PG_RETURN_INT32(version);
}

/* The creator and approver of a version (SPI connected, as the owner); errors when there is none. */
static void
version_row(const char *set, int32 version, char **created_by, char **approved_by)
{
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		args[2] = {CStringGetTextDatum(set), Int32GetDatum(version)};
	bool		isnull;
	Datum		a;

	if (SPI_execute_with_args("SELECT created_by, approved_by FROM " RISK_SCHEMA ".rule_versions "
							  "WHERE rule_set OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
							  2, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read " RISK_SCHEMA ".rule_versions");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("rule set \"%s\" has no version %d", set, version),
				 errhint("SELECT * FROM risk.rule_versions WHERE rule_set = '%s' lists its versions.", set)));
	*created_by = pstrdup(NameStr(*DatumGetName(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull))));
	a = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	*approved_by = isnull ? NULL : pstrdup(NameStr(*DatumGetName(a)));
}

/* Validates a stored version against today's table and model (as the caller). */
static void
validate_version(const RuleSetInfo *set, int32 version, CatalogIdentity *id)
{
	int			n;
	RuleDef    *defs = version_rules(set->name, version, &n);

	catalog_as_caller(id);
	validate_all(set, defs, n);
	catalog_as_owner("rule_sets", id);
}

/*
 * What approving and rolling back start with: the version argument, SPI,
 * the owner's identity, the set's row locked, and the version's row.
 */
typedef struct VersionCommand
{
	char	   *name;
	int32		version;
	CatalogIdentity id;
	char	   *who;
	RuleSetInfo set;
	char	   *created_by;
	char	   *approved_by;
} VersionCommand;

static void
version_command(FunctionCallInfo fcinfo, VersionCommand *c, const char *what)
{
	c->name = set_name_arg(fcinfo);
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("the version to %s must not be NULL", what)));
	c->version = PG_GETARG_INT32(1);
	catalog_spi_connect();
	catalog_as_owner("rule_sets", &c->id);
	c->who = caller(&c->id);
	c->set = set_row(c->name, true);
	version_row(c->name, c->version, &c->created_by, &c->approved_by);
}

/* risk.approve_rules(rule_set, version, note) -> version */
PG_FUNCTION_INFO_V1(risk_approve_rules);
Datum
risk_approve_rules(PG_FUNCTION_ARGS)
{
	VersionCommand c;
	Oid			argtypes[3] = {TEXTOID, INT4OID, TEXTOID};
	Datum		args[3];

	version_command(fcinfo, &c, "approve");
	if (c.approved_by != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version %d of rule set \"%s\" was approved by %s", c.version, c.name, c.approved_by),
				 errhint("risk.rollback_rules('%s', %d) makes an approved version current again.", c.name, c.version)));
	if (strcmp(c.created_by, c.who) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("version %d of rule set \"%s\" was published by %s, who cannot approve it",
						c.version, c.name, c.who),
				 errdetail("Rule set \"%s\" requires a second role to approve each version.", c.name)));
	validate_version(&c.set, c.version, &c.id);
	args[0] = CStringGetTextDatum(c.name);
	args[1] = Int32GetDatum(c.version);
	args[2] = CStringGetTextDatum(c.who);
	if (SPI_execute_with_args("UPDATE " RISK_SCHEMA ".rule_versions SET approved_by = $3, approved_at = pg_catalog.now() "
							  "WHERE rule_set OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
							  3, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update " RISK_SCHEMA ".rule_versions");
	make_current(c.name, c.version, "approve", c.who, PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), PG_ARGISNULL(2));
	catalog_as_caller(&c.id);
	SPI_finish();
	PG_RETURN_INT32(c.version);
}

/* risk.rollback_rules(rule_set, version, note) -> version */
PG_FUNCTION_INFO_V1(risk_rollback_rules);
Datum
risk_rollback_rules(PG_FUNCTION_ARGS)
{
	VersionCommand c;

	version_command(fcinfo, &c, "roll back to");
	if (c.approved_by == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("version %d of rule set \"%s\" was never approved", c.version, c.name),
				 errhint("Another role approves it with risk.approve_rules('%s', %d).", c.name, c.version)));
	validate_version(&c.set, c.version, &c.id);
	make_current(c.name, c.version, "rollback", c.who, PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), PG_ARGISNULL(2));
	catalog_as_caller(&c.id);
	SPI_finish();
	PG_RETURN_INT32(c.version);
}

/* risk.check_rules(rule_set, version DEFAULT NULL) -> (key, sqlstate, message, hint) of each invalid rule */
PG_FUNCTION_INFO_V1(risk_check_rules);
Datum
risk_check_rules(PG_FUNCTION_ARGS)
{
	char	   *name = set_name_arg(fcinfo);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CatalogIdentity id;
	RuleSetInfo set;
	RuleDef    *defs;
	int			n;
	Target		t;

	InitMaterializedSRF(fcinfo, 0);
	catalog_spi_connect();
	catalog_as_owner("rule_sets", &id);
	set = set_row(name, false);
	catalog_as_caller(&id);
	/* the draft read as the caller; a version's rules to whoever may read versions */
	if (!PG_ARGISNULL(1) && pg_class_aclcheck(catalog_relid("published_rules"), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, "published_rules");
	defs = PG_ARGISNULL(1) ? draft_rules(name, &n) : version_rules(name, PG_GETARG_INT32(1), &n);
	target_open(&t, set.name, set.relid, set.model);
	PG_TRY();
	{
	for (int i = 0; i < n; i++)
	{
		ErrorData  *e = check_rule(&t, &defs[i]);
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		if (e == NULL)
			continue;
		values[0] = CStringGetTextDatum(defs[i].key);
		values[1] = CStringGetTextDatum(unpack_sql_state(e->sqlerrcode));
		values[2] = CStringGetTextDatum(e->message);
		if (e->hint)
			values[3] = CStringGetTextDatum(e->hint);
		else
			nulls[3] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	}
	PG_FINALLY();
	{
		target_close(&t);
	}
	PG_END_TRY();
	SPI_finish();
	return (Datum) 0;
}

/* ------------------------------------------------------------------------
 * The tables' triggers
 * ------------------------------------------------------------------------
 */

/* BEFORE UPDATE on risk.rules: who changed the draft rule, and when. */
PG_FUNCTION_INFO_V1(risk_rule_touched);
Datum
risk_rule_touched(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	int			cols[2];
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_UPDATE(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("risk._rule_touched() must be a BEFORE UPDATE row trigger")));
	desc = RelationGetDescr(td->tg_relation);
	cols[0] = SPI_fnumber(desc, "updated_by");
	cols[1] = SPI_fnumber(desc, "updated_at");
	values[0] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	values[1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	return PointerGetDatum(heap_modify_tuple_by_cols(td->tg_newtuple, desc, 2, cols, values, nulls));
}

/* Whether the update changes only the columns named (and found NULL in the old row: set once). */
static bool
only_sets(TriggerData *td, const char *const *cols, int ncols)
{
	TupleDesc	desc = RelationGetDescr(td->tg_relation);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);
		bool		settable = false;
		bool		n1,
					n2;
		Datum		v1,
					v2;

		if (a->attisdropped)
			continue;
		for (int c = 0; c < ncols; c++)
			settable |= strcmp(NameStr(a->attname), cols[c]) == 0;
		v1 = heap_getattr(td->tg_trigtuple, i + 1, desc, &n1);
		v2 = heap_getattr(td->tg_newtuple, i + 1, desc, &n2);
		if (settable)
		{
			if (!n1 && !(n2 == n1 && datumIsEqual(v1, v2, a->attbyval, a->attlen)))
				return false;	/* set once */
			continue;
		}
		if (n1 != n2 || (!n1 && !datumIsEqual(v1, v2, a->attbyval, a->attlen)))
			return false;
	}
	return true;
}

/*
 * BEFORE UPDATE OR DELETE (and TRUNCATE) on the published rules and the
 * list items: history is kept.  The only changes: a list item marked
 * removed, once; a version approved, once.
 */
PG_FUNCTION_INFO_V1(risk_history_kept);
Datum
risk_history_kept(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const char *table;
	static const char *const removal[] = {"removed_by", "removed_at", "removed_reason"};
	static const char *const approval[] = {"approved_by", "approved_at"};

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("risk._history_kept() must be a BEFORE trigger")));
	table = RelationGetRelationName(td->tg_relation);
	/* on Citus, fired on a node's copy (<table>_<shard>): the table's name */
	if (strcmp(table, "list_items") != 0 && strcmp(table, "rule_versions") != 0)
	{
		Oid			logical = catalog_citus_table_of(RelationGetRelid(td->tg_relation));

		if (OidIsValid(logical))
			table = get_rel_name(logical);
	}
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		if (strcmp(table, "list_items") == 0 && only_sets(td, removal, 3))
			return PointerGetDatum(td->tg_newtuple);
		if (strcmp(table, "rule_versions") == 0 && only_sets(td, approval, 2))
			return PointerGetDatum(td->tg_newtuple);
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("%s." "%s keeps its history: its rows are never changed or deleted", RISK_SCHEMA, table),
			 strcmp(table, "list_items") == 0
			 ? errhint("risk.remove_from_list() takes a value off its list and keeps the item.")
			 : errhint("Publish a new version with risk.publish_rules(), or make an older one current with risk.rollback_rules().")));
	return PointerGetDatum(NULL);
}

/*-------------------------------------------------------------------------
 * model_alias.c
 *	  Aliases of model versions (champion, challenger, ...): moving one,
 *	  rolling it back through its history, removing it; and reading one
 *	  for the model cache.
 *
 * An alias is a row of risk.model_aliases, so a move is atomic at commit
 * and undone by ROLLBACK; every session sees a committed move from its
 * next statement (a statement trigger on the table invalidates the model
 * caches, as the registry's does).  Every move is appended to
 * risk.model_alias_history.  risk.rollback_alias walks that history as a
 * stack: it undoes the latest move not yet undone, so three moves v1 -> v2
 * -> v3 roll back to v2, then to v1 (not back to v3).  A version an alias
 * points at cannot be dropped.  The functions write as the owner of the
 * extension's tables; EXECUTE on them (revoked from PUBLIC) is the
 * privilege to deploy.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

#include "catalog.h"
#include "model_alias.h"

PG_FUNCTION_INFO_V1(risk_set_alias);
PG_FUNCTION_INFO_V1(risk_rollback_alias);
PG_FUNCTION_INFO_V1(risk_remove_alias);
PG_FUNCTION_INFO_V1(risk_reference_version);

#define ALIASES RISK_SCHEMA ".model_aliases"
#define HISTORY RISK_SCHEMA ".model_alias_history"

/* ---- references ---- */

static void
bad_ref(const char *ref, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_NAME),
			 errmsg("invalid model reference \"%s\"", ref),
			 errdetail("%s", detail),
			 errhint("Name a model as name (its current version), name@3 (version 3) or name@alias (e.g. name@champion).")));
}

/* An alias: 1 to 63 letters, digits, _ . : -, starting with a letter. */
static bool
valid_alias(const char *a)
{
	size_t		n = strlen(a);

	return n >= 1 && n <= ALIAS_NAME_MAX &&
		((a[0] >= 'a' && a[0] <= 'z') || (a[0] >= 'A' && a[0] <= 'Z')) &&
		strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-") == n;
}

void
model_ref_parse(const char *ref, ModelRef *out)
{
	const char *at = strchr(ref, '@');
	size_t		name_len = at ? (size_t) (at - ref) : strlen(ref);

	memset(out, 0, sizeof(*out));
	if (name_len == 0 || name_len > MODEL_NAME_MAX)
		bad_ref(ref, "A model name has 1 to 63 bytes.");
	memcpy(out->name, ref, name_len);
	if (at == NULL)
		return;
	at++;
	if (*at >= '0' && *at <= '9')
	{
		char	   *end;
		long		v;

		errno = 0;
		v = strtol(at, &end, 10);
		if (errno != 0 || *end != '\0' || v < 1 || v > PG_INT32_MAX)
			bad_ref(ref, "A version is a whole number from 1.");
		out->version = (int32) v;
		return;
	}
	if (!valid_alias(at))
		bad_ref(ref, "An alias has 1 to 63 letters, digits, _ . : or -, and starts with a letter.");
	strlcpy(out->alias, at, sizeof(out->alias));
}

char *
model_ref_check(text *ref)
{
	char	   *s;
	ModelRef	r;

	if (ref == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be NULL")));
	s = text_to_cstring(ref);
	if (strchr(s, '@') == NULL)
		return registry_check_name(ref);
	model_ref_parse(s, &r);
	(void) registry_check_name(cstring_to_text(r.name));
	return s;
}

Oid
alias_relid(void)
{
	Oid			schema = get_namespace_oid(RISK_SCHEMA, true);

	return OidIsValid(schema) ? get_relname_relid("model_aliases", schema) : InvalidOid;
}

int32
alias_version(const char *name, const char *alias, Snapshot snapshot)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2] = {CStringGetTextDatum(name), CStringGetTextDatum(alias)};
	CatalogIdentity id;
	SPIPlanPtr	plan;
	int			ret;
	bool		isnull;
	int32		version = 0;

	catalog_as_owner("model_aliases", &id);
	plan = SPI_prepare(psprintf("SELECT version FROM %s"
								" WHERE name OPERATOR(pg_catalog.=) $1 AND alias OPERATOR(pg_catalog.=) $2",
								catalog_read_name("model_aliases")),
					   2, argtypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare an alias query: %s", SPI_result_code_string(SPI_result));
	ret = SPI_execute_snapshot(plan, args, NULL, snapshot, InvalidSnapshot, true, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read " ALIASES ": %s", SPI_result_code_string(ret));
	if (SPI_processed > 0)
		version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freeplan(plan);
	catalog_as_caller(&id);
	return version;
}

/* ---- moving ---- */

static char *
alias_arg(FunctionCallInfo fcinfo, int arg)
{
	char	   *a;

	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("alias must not be NULL")));
	a = text_to_cstring(PG_GETARG_TEXT_PP(arg));
	if (!valid_alias(a))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid alias \"%s\"", a),
				 errdetail("An alias has 1 to 63 letters, digits, _ . : or -, and starts with a letter "
						   "(name@3 means version 3).")));
	return a;
}

/* SPI connected, as the owner: one mover of (name, alias) at a time. */
static void
lock_alias(const char *name, const char *alias)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(psprintf("%s@%s", name, alias))};

	if (SPI_execute_with_args("SELECT pg_catalog.pg_advisory_xact_lock("
							  "pg_catalog.hashtext('" ALIASES "'), pg_catalog.hashtext($1))",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not lock the alias");
}

/* The version the alias points at now (after the lock: the newest committed state), or 0. */
static int32
current_target(const char *name, const char *alias)
{
	return alias_version(name, alias, GetLatestSnapshot());
}

static bool
version_exists(const char *name, int32 version)
{
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		args[2] = {CStringGetTextDatum(name), Int32GetDatum(version)};

	if (SPI_execute_with_args("SELECT 1 FROM " RISK_SCHEMA ".model_registry"
							  " WHERE name OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
							  2, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the model registry");
	return SPI_processed > 0;
}

/* Points the alias at version (0: removes it) and appends the move to the history. */
static void
apply_move(const char *name, const char *alias, int32 version, int32 previous, const char *action,
		   const char *who, FunctionCallInfo fcinfo, int note_arg)
{
	Oid			argtypes[7] = {TEXTOID, TEXTOID, INT4OID, INT4OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		args[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	int			ret;

	args[0] = CStringGetTextDatum(name);
	args[1] = CStringGetTextDatum(alias);
	args[2] = Int32GetDatum(version);
	nulls[2] = version > 0 ? ' ' : 'n';
	args[3] = Int32GetDatum(previous);
	nulls[3] = previous > 0 ? ' ' : 'n';
	args[4] = CStringGetTextDatum(action);
	args[5] = CStringGetTextDatum(who);
	if (PG_ARGISNULL(note_arg))
		nulls[6] = 'n', args[6] = (Datum) 0;
	else
		args[6] = PG_GETARG_DATUM(note_arg);

	if (version > 0)
		ret = SPI_execute_with_args("INSERT INTO " ALIASES " (name, alias, version, moved_at, moved_by)"
									" VALUES ($1, $2, $3, pg_catalog.now(), $6)"
									" ON CONFLICT (name, alias) DO UPDATE SET version = EXCLUDED.version,"
									" moved_at = EXCLUDED.moved_at, moved_by = EXCLUDED.moved_by",
									6, argtypes, args, nulls, false, 0);
	else
		ret = SPI_execute_with_args("DELETE FROM " ALIASES
									" WHERE name OPERATOR(pg_catalog.=) $1 AND alias OPERATOR(pg_catalog.=) $2",
									2, argtypes, args, nulls, false, 0);
	if (ret != SPI_OK_INSERT && ret != SPI_OK_DELETE)
		elog(ERROR, "could not move the alias");
	if (SPI_execute_with_args("INSERT INTO " HISTORY
							  " (name, alias, seq, version, previous_version, action, moved_by, moved_at, note)"
							  " SELECT $1, $2, COALESCE(pg_catalog.max(seq), 0) OPERATOR(pg_catalog.+) 1,"
							  " $3, $4, $5, $6, pg_catalog.now(), $7 FROM " HISTORY
							  " WHERE name OPERATOR(pg_catalog.=) $1 AND alias OPERATOR(pg_catalog.=) $2",
							  7, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the move of the alias");
}

/* risk.set_alias(name, alias, version, note) -> the version it pointed at before, or NULL */
Datum
risk_set_alias(PG_FUNCTION_ARGS)
{
	char	   *name = registry_check_name(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0));
	char	   *alias = alias_arg(fcinfo, 1);
	int32		version;
	int32		previous;
	CatalogIdentity id;
	char	   *who = GetUserNameFromId(GetUserId(), false);

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("version must not be NULL"),
				 errhint("risk.remove_alias removes an alias.")));
	version = PG_GETARG_INT32(2);
	catalog_spi_connect();
	catalog_as_owner("model_aliases", &id);
	lock_alias(name, alias);
	if (!version_exists(name, version))
		registry_no_such_model(name, version);
	previous = current_target(name, alias);
	if (previous != version)
		apply_move(name, alias, version, previous, "set", who, fcinfo, 3);
	else
		ereport(NOTICE,
				(errmsg("alias \"%s\" of model \"%s\" already points at version %d", alias, name, version)));
	catalog_as_caller(&id);
	SPI_finish();
	if (previous == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(previous);
}

/*
 * The version the latest move not yet undone came from: walking the
 * history from the newest move, each rollback undoes one earlier move.
 */
static int32
rollback_target(const char *name, const char *alias, int32 *undone_seq)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2] = {CStringGetTextDatum(name), CStringGetTextDatum(alias)};
	int			skip = 0;

	if (SPI_execute_with_args("SELECT action, previous_version, seq FROM " HISTORY
							  " WHERE name OPERATOR(pg_catalog.=) $1 AND alias OPERATOR(pg_catalog.=) $2"
							  " ORDER BY seq DESC", 2, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read " HISTORY);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		char	   *action = SPI_getvalue(tup, SPI_tuptable->tupdesc, 1);
		bool		isnull;
		Datum		prev = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);

		if (strcmp(action, "rollback") == 0)
		{
			skip++;
			continue;
		}
		if (skip > 0)
		{
			skip--;
			continue;
		}
		*undone_seq = DatumGetInt32(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
		return isnull ? 0 : DatumGetInt32(prev);
	}
	*undone_seq = 0;
	return 0;
}

/* risk.rollback_alias(name, alias, note) -> the version it points at now */
Datum
risk_rollback_alias(PG_FUNCTION_ARGS)
{
	char	   *name = registry_check_name(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0));
	char	   *alias = alias_arg(fcinfo, 1);
	int32		current;
	int32		target;
	int32		seq;
	CatalogIdentity id;
	char	   *who = GetUserNameFromId(GetUserId(), false);

	catalog_spi_connect();
	catalog_as_owner("model_aliases", &id);
	lock_alias(name, alias);
	current = current_target(name, alias);
	target = rollback_target(name, alias, &seq);
	if (target == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("alias \"%s\" of model \"%s\" has no earlier version to roll back to", alias, name),
				 errdetail(seq == 0 ? "It was never moved."
						   : "Its first move, the one left to undo, created it."),
				 errhint("SELECT * FROM risk.model_alias_history WHERE name = '%s' AND alias = '%s' shows its moves.",
						 name, alias)));
	if (!version_exists(name, target))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("alias \"%s\" of model \"%s\" would roll back to version %d, which was dropped",
						alias, name, target),
				 errhint("Point it at a version with risk.set_alias.")));
	apply_move(name, alias, target, current, "rollback", who, fcinfo, 2);
	catalog_as_caller(&id);
	SPI_finish();
	PG_RETURN_INT32(target);
}

/* risk.remove_alias(name, alias, note) -> the version it pointed at */
Datum
risk_remove_alias(PG_FUNCTION_ARGS)
{
	char	   *name = registry_check_name(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0));
	char	   *alias = alias_arg(fcinfo, 1);
	int32		current;
	CatalogIdentity id;
	char	   *who = GetUserNameFromId(GetUserId(), false);

	catalog_spi_connect();
	catalog_as_owner("model_aliases", &id);
	lock_alias(name, alias);
	current = current_target(name, alias);
	if (current == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no alias \"%s\"", name, alias)));
	apply_move(name, alias, 0, current, "remove", who, fcinfo, 2);
	catalog_as_caller(&id);
	SPI_finish();
	PG_RETURN_INT32(current);
}

/*
 * risk._reference_version(ref): the version a reference names, for the
 * SQL functions that describe a model (describe_model, model_features):
 * name@3 is 3, name@alias the alias's version (42704 when it has none),
 * a bare name NULL (they take the highest).
 */
Datum
risk_reference_version(PG_FUNCTION_ARGS)
{
	char	   *ref = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ModelRef	r;
	int32		version;
	bool		xact_only;

	if (strchr(ref, '@') == NULL)
		PG_RETURN_NULL();
	ref = model_ref_check(PG_GETARG_TEXT_PP(0));
	model_ref_parse(ref, &r);
	if (r.version > 0)
		PG_RETURN_INT32(r.version);
	if (r.alias[0] == '\0')
		PG_RETURN_NULL();
	catalog_spi_connect();
	/* the planner may call this (describe_model inlined) before the statement's snapshot sees earlier ones */
	version = alias_version(r.name, r.alias, registry_snapshot(&xact_only));
	SPI_finish();
	if (version == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no alias \"%s\"", r.name, r.alias)));
	PG_RETURN_INT32(version);
}

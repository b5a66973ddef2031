/*-------------------------------------------------------------------------
 * registry.c
 *	  The model registry: importing model versions (from bytes or from a
 *	  server file), dropping them, and reading them back for the cache.
 *
 * Every import is checked end to end before anything is stored: libxgboost
 * reads the bytes, we read its JSON and compile the trees.  A model that
 * cannot be scored is never registered.  Rows are written with SPI as the
 * calling user, so the table's privileges decide who may import and drop.
 * Every query names its objects with their schema and its operators as
 * OPERATOR(pg_catalog.=): no caller's search_path can change what it runs.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "catalog.h"
#include "registry.h"

PG_FUNCTION_INFO_V1(risk_import_model);
PG_FUNCTION_INFO_V1(risk_load_model);
PG_FUNCTION_INFO_V1(risk_drop_model);
PG_FUNCTION_INFO_V1(risk_registry_changed);

#define QUALIFIED_TABLE REGISTRY_SCHEMA "." REGISTRY_TABLE

CompiledModel *
registry_compile(const char *bytes, size_t len)
{
	CompiledModel *m = palloc0(sizeof(CompiledModel));
	char	   *json;
	size_t		json_len;

	m->format = xgb_detect_format(bytes, len);
	json = xgb_read_model(bytes, len, &json_len);
	if (json_len > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("XGBoost model is too large"),
				 errdetail("Its JSON form has %zu bytes.", json_len)));
	m->spec = model_json_parse(json, (int) json_len);
	m->forest = forest_compile(m->spec);
	return m;
}

char *
registry_check_name(text *name)
{
	char	   *s;
	int			len;

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name must not be NULL")));
	s = text_to_cstring(name);
	len = strlen(s);
	if (len == 0 || len > MODEL_NAME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid model name \"%s\"", s),
				 errdetail("A model name has 1 to %d bytes.", MODEL_NAME_MAX)));
	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c < 0x20 || c == 0x7f || c == '@')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_NAME),
					 errmsg("invalid model name \"%s\"", s),
					 errdetail("A model name has no control characters and no \"@\".")));
	}
	if (s[0] == ' ' || s[len - 1] == ' ')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid model name \"%s\"", s),
				 errdetail("A model name does not start or end with a space.")));
	return s;
}

void
registry_require(Oid relid, AclMode modes)
{
	if (!OidIsValid(relid))
		relid = get_relname_relid(REGISTRY_TABLE, get_namespace_oid(REGISTRY_SCHEMA, true));
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the model registry " REGISTRY_SCHEMA "." REGISTRY_TABLE " does not exist"),
				 errhint("CREATE EXTENSION risk in this database.")));
	/* one mode at a time: pg_class_aclcheck is satisfied by any of them */
	for (AclMode m = 1; m != 0 && m <= modes; m <<= 1)
	{
		AclResult	acl;

		if ((modes & m) == 0)
			continue;
		acl = pg_class_aclcheck(relid, GetUserId(), m);
		if (acl != ACLCHECK_OK)
			aclcheck_error(acl, OBJECT_TABLE, REGISTRY_TABLE);
	}
}

void
registry_no_such_model(const char *name, int32 version)
{
	if (version != MODEL_ANY_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" has no version %d", name, version),
				 errhint("SELECT * FROM risk.models lists the imported models.")));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("model \"%s\" does not exist", name),
			 errhint("Import it with risk.import_model() or risk.load_model(); "
					 "SELECT * FROM risk.models lists the imported models.")));
}

/*
 * Runs a read-only registry query, under the given snapshot if any.  SPI
 * leaves its own memory context current; we give the caller's back.
 */
static void
registry_query(const char *sql, int nargs, Oid *argtypes, Datum *args, Snapshot snapshot)
{
	MemoryContext caller = CurrentMemoryContext;
	int			ret;

	if (snapshot == InvalidSnapshot)
		ret = SPI_execute_with_args(sql, nargs, argtypes, args, NULL, true, 1);
	else
	{
		SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

		if (plan == NULL)
			elog(ERROR, "could not prepare a registry query: %s", SPI_result_code_string(SPI_result));
		ret = SPI_execute_snapshot(plan, args, NULL, snapshot, InvalidSnapshot, true, false, 1);
		SPI_freeplan(plan);
	}
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read the model registry: %s", SPI_result_code_string(ret));
	MemoryContextSwitchTo(caller);
}

/*
 * The snapshot to read the registry with.  Under READ COMMITTED, the newest
 * one: it sees every commit whose invalidation we have already received (a
 * transaction becomes visible before it sends them), so the answer stays
 * right until the next invalidation.  Under REPEATABLE READ and in parallel
 * mode, the statement's own snapshot, and the answer holds for this
 * transaction only.
 */
Snapshot
registry_snapshot(bool *xact_only)
{
	if (IsolationUsesXactSnapshot() || IsInParallelMode())
	{
		*xact_only = true;
		return ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot();
	}
	*xact_only = false;
	return GetLatestSnapshot();
}

/* The stamp of the row SPI just read, from its columns xmin and ctid. */
static void
read_stamp(int xmin_col, RegistryStamp *stamp)
{
	HeapTuple	row = SPI_tuptable->vals[0];
	TupleDesc	desc = SPI_tuptable->tupdesc;
	bool		isnull;

	stamp->xmin = DatumGetTransactionId(SPI_getbinval(row, desc, xmin_col, &isnull));
	ItemPointerCopy((ItemPointer) DatumGetPointer(SPI_getbinval(row, desc, xmin_col + 1, &isnull)),
					&stamp->ctid);
}

int32
registry_current_version(const char *name, Snapshot snapshot, RegistryStamp *stamp)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};
	bool		isnull;

	registry_query(psprintf("SELECT version, xmin, ctid FROM %s"
							" WHERE name OPERATOR(pg_catalog.=) $1 ORDER BY version DESC LIMIT 1",
							catalog_read_name(REGISTRY_TABLE)),
				   1, argtypes, args, snapshot);
	if (SPI_processed == 0)
		return 0;
	if (stamp)
		read_stamp(2, stamp);
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

bool
registry_version_stamp(const char *name, int32 version, Snapshot snapshot, RegistryStamp *stamp)
{
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		args[2] = {CStringGetTextDatum(name), Int32GetDatum(version)};

	registry_query(psprintf("SELECT version, xmin, ctid FROM %s"
							" WHERE name OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
							catalog_read_name(REGISTRY_TABLE)),
				   2, argtypes, args, snapshot);
	if (SPI_processed == 0)
		return false;
	if (stamp)
		read_stamp(2, stamp);
	return true;
}

bytea *
registry_fetch(const char *name, int32 version, Snapshot snapshot, ArrayType **feature_names,
			   RegistryStamp *stamp)
{
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		args[2] = {CStringGetTextDatum(name), Int32GetDatum(version)};
	bool		isnull;
	bytea	   *bytes;

	registry_query(psprintf("SELECT model, feature_names, xmin, ctid FROM %s"
							" WHERE name OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
							catalog_read_name(REGISTRY_TABLE)),
				   2, argtypes, args, snapshot);
	if (SPI_processed == 0)
		registry_no_such_model(name, version);

	/* copies in the caller's memory context */
	bytes = DatumGetByteaPCopy(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 1, &isnull));
	*feature_names = DatumGetArrayTypePCopy(SPI_getbinval(SPI_tuptable->vals[0],
														  SPI_tuptable->tupdesc, 2, &isnull));
	read_stamp(3, stamp);
	return bytes;
}

/* ---- feature names ---- */

static ArrayType *
names_to_array(char **names, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(names[i]);
	return construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT);
}

static int
cmp_name_index(const void *a, const void *b, void *arg)
{
	char	  **names = (char **) arg;
	int			i = *(const int *) a;
	int			j = *(const int *) b;
	int			c = strcmp(names[i], names[j]);

	return c != 0 ? c : (i > j) - (i < j);
}

/* Errors naming the first repeated name; O(n log n), so 100,000 names take milliseconds. */
static void
check_no_duplicates(char **names, int n, const char *whose)
{
	int		   *order = palloc(sizeof(int) * Max(n, 1));

	for (int i = 0; i < n; i++)
		order[i] = i;
	qsort_arg(order, n, sizeof(int), cmp_name_index, names);
	for (int k = 1; k < n; k++)
		if (strcmp(names[order[k - 1]], names[order[k]]) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s feature names repeat \"%s\"", whose, names[order[k - 1]]),
					 errdetail("Features %d and %d have the same name.", order[k - 1] + 1, order[k] + 1)));
	pfree(order);
}

/*
 * The model's feature names: the ones it carries, the ones given by the
 * caller (which must then agree), or XGBoost's defaults f0, f1, ...
 */
static ArrayType *
resolve_feature_names(const ModelSpec *spec, ArrayType *given)
{
	int			nf = spec->num_feature;
	char	  **names;

	if (spec->num_feature_names > 0 && spec->num_feature_names != nf)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed XGBoost model"),
				 errdetail("The model has %d features but %d feature names.",
						   nf, spec->num_feature_names)));

	for (int i = 0; i < spec->num_feature_names; i++)
		if (spec->feature_names[i][0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("malformed XGBoost model"),
					 errdetail("The model's feature name %d is empty.", i + 1),
					 errhint("Save the model with a name for every feature, or with none (then pass feature_names).")));

	if (given != NULL)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		if (ARR_NDIM(given) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("feature_names must be a one-dimensional array")));
		deconstruct_array(given, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
		if (n != nf)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("feature_names has %d names but the model has %d features", n, nf)));
		names = palloc(sizeof(char *) * Max(nf, 1));
		for (int i = 0; i < n; i++)
		{
			if (nulls[i] || VARSIZE_ANY_EXHDR(DatumGetTextPP(elems[i])) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("feature name %d is NULL or empty", i + 1)));
			names[i] = TextDatumGetCString(elems[i]);
		}
		check_no_duplicates(names, nf, "the given");
		for (int i = 0; i < spec->num_feature_names; i++)
			if (strcmp(names[i], spec->feature_names[i]) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("feature_names do not match the names stored in the model"),
						 errdetail("Feature %d is \"%s\" in the model but \"%s\" in feature_names.",
								   i + 1, spec->feature_names[i], names[i]),
						 errhint("Omit feature_names to use the model's own names.")));
		return names_to_array(names, nf);
	}
	if (spec->num_feature_names > 0)
	{
		check_no_duplicates(spec->feature_names, nf, "the model's");
		return names_to_array(spec->feature_names, nf);
	}
	names = palloc(sizeof(char *) * Max(nf, 1));
	for (int i = 0; i < nf; i++)
		names[i] = psprintf("f%d", i);
	return names_to_array(names, nf);
}

/* ---- import ---- */

/* Classes a model tells apart: 2 for binary objectives, k for multi-class, else 0. */
static int
model_num_classes(const Forest *f)
{
	if (f->output == OUTPUT_SOFTPROB || f->output == OUTPUT_SOFTMAX)
		return f->num_groups;
	if (strncmp(f->objective, "binary:", 7) == 0)
		return 2;
	return 0;
}

#define STORE_NARGS 16

int32
registry_store(const char *name, const char *bytes, size_t len,
			ArrayType *given_names, Jsonb *metadata)
{
	MemoryContext work = AllocSetContextCreate(CurrentMemoryContext, "risk import",
											   ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(work);
	CompiledModel *m = registry_compile(bytes, len);
	const Forest *f = m->forest;
	const ModelSpec *spec = m->spec;
	int32		version;
	int			nclasses = model_num_classes(f);
	Oid			argtypes[STORE_NARGS] = {TEXTOID, INT4OID, TEXTOID, BYTEAOID, TEXTARRAYOID,
		TEXTARRAYOID, INT4OID, TEXTOID, TEXTOID, INT4OID, INT4OID, INT4OID,
	INT4OID, FLOAT8OID, TEXTOID, JSONBOID};
	Datum		args[STORE_NARGS];
	char		nulls[STORE_NARGS];
	bytea	   *stored;

	stored = palloc_extended(len + VARHDRSZ, MCXT_ALLOC_HUGE);
	SET_VARSIZE(stored, len + VARHDRSZ);
	memcpy(VARDATA(stored), bytes, len);

	memset(nulls, ' ', sizeof(nulls));
	args[0] = CStringGetTextDatum(name);
	/* args[1], the version, once the registry is locked */
	args[2] = CStringGetTextDatum(xgb_format_name(m->format));
	args[3] = PointerGetDatum(stored);
	args[4] = PointerGetDatum(resolve_feature_names(spec, given_names));
	if (spec->num_feature_types == spec->num_feature)
		args[5] = PointerGetDatum(names_to_array(spec->feature_types, spec->num_feature_types));
	else
		nulls[5] = 'n';
	args[6] = Int32GetDatum(f->num_features);
	args[7] = CStringGetTextDatum(f->objective);
	args[8] = CStringGetTextDatum(spec->booster);
	args[9] = Int32GetDatum(f->num_trees);
	args[10] = Int32GetDatum(nclasses);
	nulls[10] = nclasses ? ' ' : 'n';
	args[11] = Int32GetDatum(f->max_depth);
	args[12] = Int32GetDatum(f->num_leaves);
	if (spec->base_score)
		args[13] = Float8GetDatum((double) strtof(spec->base_score, NULL));
	else
		nulls[13] = 'n';
	args[14] = CStringGetTextDatum(psprintf("%d.%d.%d", spec->version[0],
											spec->version[1], spec->version[2]));
	args[15] = metadata ? JsonbPGetDatum(metadata) : (Datum) 0;
	nulls[15] = metadata ? ' ' : 'n';

	catalog_citus_check_write("model_registry");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* one importer per name at a time, so versions go 1, 2, 3, ... */
	if (SPI_execute_with_args("SELECT pg_catalog.pg_advisory_xact_lock("
							  "pg_catalog.hashtext('" QUALIFIED_TABLE "'), pg_catalog.hashtext($1))",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not lock the model registry");
	/* the newest committed state, whatever the isolation level: versions never repeat */
	version = registry_current_version(name, GetLatestSnapshot(), NULL) + 1;
	args[1] = Int32GetDatum(version);

	if (SPI_execute_with_args("INSERT INTO " QUALIFIED_TABLE
							  " (name, version, format, model, feature_names, feature_types,"
							  "  num_features, objective, booster, num_trees, num_classes,"
							  "  max_depth, num_leaves, base_score, xgboost_version, metadata)"
							  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
							  "  $14, $15, coalesce($16, '{}'::pg_catalog.jsonb))",
							  STORE_NARGS, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not store the model");
	SPI_finish();

	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return version;
}

static ArrayType *
optional_array(FunctionCallInfo fcinfo, int arg)
{
	return PG_ARGISNULL(arg) ? NULL : PG_GETARG_ARRAYTYPE_P(arg);
}

static Jsonb *
optional_jsonb(FunctionCallInfo fcinfo, int arg)
{
	Jsonb	   *j;

	if (PG_ARGISNULL(arg))
		return NULL;
	j = PG_GETARG_JSONB_P(arg);
	if (!JB_ROOT_IS_OBJECT(j) || JB_ROOT_IS_SCALAR(j))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("metadata must be a JSON object")));
	return j;
}

/* risk.import_model(name, model bytea, feature_names, metadata) -> version */
Datum
risk_import_model(PG_FUNCTION_ARGS)
{
	char	   *name = registry_check_name(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0));
	bytea	   *model;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model bytes must not be NULL")));
	registry_require(InvalidOid, ACL_SELECT | ACL_INSERT);
	model = PG_GETARG_BYTEA_PP(1);
	PG_RETURN_INT32(registry_store(name, VARDATA_ANY(model), VARSIZE_ANY_EXHDR(model),
								optional_array(fcinfo, 2), optional_jsonb(fcinfo, 3)));
}

/* Reads a whole server file; the caller has checked the privilege. */
static char *
read_server_file(const char *path, size_t *len)
{
	FILE	   *file;
	struct stat st;
	char	   *buf;

	file = AllocateFile(path, PG_BINARY_R);
	if (file == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open model file \"%s\": %m", path)));
	if (fstat(fileno(file), &st) < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat model file \"%s\": %m", path)));
	if (S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model file \"%s\" is a directory", path)));
	if ((size_t) st.st_size > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model file \"%s\" is too large", path),
				 errdetail("Models of up to 1 GB can be stored.")));
	buf = palloc(st.st_size + 1);
	*len = fread(buf, 1, st.st_size, file);
	if (ferror(file))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read model file \"%s\": %m", path)));
	FreeFile(file);
	return buf;
}

/* risk.load_model(name, path, feature_names, metadata) -> version */
Datum
risk_load_model(PG_FUNCTION_ARGS)
{
	char	   *name = registry_check_name(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0));
	char	   *path;
	char	   *bytes;
	size_t		len;

	if (!superuser() && !has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to load a model from a server file"),
				 errdetail("Only superusers and roles with the privileges of pg_read_server_files may read server files."),
				 errhint("Pass the file's bytes to risk.import_model() instead.")));
	registry_require(InvalidOid, ACL_SELECT | ACL_INSERT);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model file path must not be NULL")));
	path = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bytes = read_server_file(path, &len);
	PG_RETURN_INT32(registry_store(name, bytes, len, optional_array(fcinfo, 2),
								optional_jsonb(fcinfo, 3)));
}

/* risk.drop_model(name, version DEFAULT NULL) -> versions dropped */
Datum
risk_drop_model(PG_FUNCTION_ARGS)
{
	char	   *name = registry_check_name(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0));
	bool		all = PG_ARGISNULL(1);
	int32		version = all ? 0 : PG_GETARG_INT32(1);
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		args[2] = {CStringGetTextDatum(name), Int32GetDatum(version)};
	uint64		dropped;

	registry_require(InvalidOid, ACL_SELECT | ACL_DELETE);
	catalog_citus_check_write("model_registry");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* a deployed version stays: an alias points at it (0.1.0 has no aliases) */
	if (OidIsValid(get_relname_relid("model_aliases", get_namespace_oid(REGISTRY_SCHEMA, true))))
	{
		CatalogIdentity id;

		catalog_as_owner("model_aliases", &id);
		if (SPI_execute_with_args(all
								  ? "SELECT alias, version FROM " REGISTRY_SCHEMA ".model_aliases"
								  " WHERE name OPERATOR(pg_catalog.=) $1 ORDER BY alias LIMIT 1"
								  : "SELECT alias, version FROM " REGISTRY_SCHEMA ".model_aliases"
								  " WHERE name OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2"
								  " ORDER BY alias LIMIT 1",
								  all ? 1 : 2, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the model aliases");
		catalog_as_caller(&id);
		if (SPI_processed > 0)
		{
			char	   *alias = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("cannot drop version %s of model \"%s\": alias \"%s\" points at it", v, name, alias),
					 errhint("Move the alias with risk.set_alias or risk.rollback_alias, or remove it with risk.remove_alias, first.")));
		}
	}
	if (SPI_execute_with_args(all
							  ? "DELETE FROM " QUALIFIED_TABLE " WHERE name OPERATOR(pg_catalog.=) $1"
							  : "DELETE FROM " QUALIFIED_TABLE " WHERE name OPERATOR(pg_catalog.=) $1"
							  " AND version OPERATOR(pg_catalog.=) $2",
							  all ? 1 : 2, argtypes, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not drop the model");
	dropped = SPI_processed;
	SPI_finish();
	if (dropped == 0)
		registry_no_such_model(name, all ? MODEL_ANY_VERSION : version);
	PG_RETURN_INT32((int32) dropped);
}

/*
 * Statement trigger on the registry: tell every backend's model cache.
 * The relcache invalidation is transactional: sent at commit, dropped at
 * rollback, and seen by this backend at its next command.
 */
Datum
risk_registry_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("risk._registry_changed() must be called as a trigger")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}

/*-------------------------------------------------------------------------
 * feature_set_declare.c
 *	  Declaring a feature set: risk.create_feature_set, risk.add_entity,
 *	  risk.add_feature, risk.drop_feature_set, risk.check_feature_set,
 *	  risk.rebuild_feature_states.
 *
 * Everything is checked when declared, with an error naming what is
 * wrong: columns and expressions (parsed over the event table's row),
 * windows, delays, caps, names.  Expressions are stored as canonical text
 * (feature_set.c).  Each entity kind gets a store, a table of the
 * declaring role in the event table's schema (<set>_<entity>: entity,
 * state), and the set a batch function <set>_features(since, until),
 * generated again after each change, that returns the event table's key,
 * its time and every feature by name.  The catalog rows are written as the
 * extension's owner, the stores and the function as the caller.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "catalog.h"
#include "feature_set.h"
#include "model_cache.h"

/* ------------------------------------------------------------------------
 * Checks
 * ------------------------------------------------------------------------
 */

static char *
arg_text(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* A name used in the names of tables and functions: lower case letters, digits, _. */
static void
check_ident(const char *name, const char *what)
{
	size_t		n = strlen(name);

	if (n == 0 || n > 40 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != n ||
		(name[0] >= '0' && name[0] <= '9'))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid %s name \"%s\"", what, name),
				 errdetail("A %s name has 1 to 40 characters: lower-case letters, digits and _, "
						   "not starting with a digit (it names tables and functions).", what)));
}

typedef struct SetRow
{
	char	   *name;
	Oid			events;
	char	   *time_column;
	char	   *tie_break;
	char	   *arrival;
	Oid			owner;
	char	   *schema;			/* the event table's (and so the set's objects') */
} SetRow;

/* The set's row; errors when there is none, or when the caller may not change it. */
static SetRow
set_row(const char *name, bool change)
{
	MemoryContext outer = CurrentMemoryContext;
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};
	SetRow		r;
	bool		isnull;
	char	   *v;

	CatalogIdentity id;

	catalog_spi_connect();
	catalog_as_owner("feature_sets", &id);
	if (SPI_execute_with_args("SELECT events::pg_catalog.oid, time_column::pg_catalog.text, "
							  "tie_break::pg_catalog.text, owner::pg_catalog.text, arrival::pg_catalog.text FROM " RISK_SCHEMA
							  ".feature_sets WHERE name OPERATOR(pg_catalog.=) $1",
							  1, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read risk.feature_sets");
	catalog_as_caller(&id);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("feature set \"%s\" does not exist", name),
				 errhint("Create it with risk.create_feature_set.")));
	r.name = MemoryContextStrdup(outer, name);
	r.events = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	r.time_column = MemoryContextStrdup(outer, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
	v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	r.tie_break = v ? MemoryContextStrdup(outer, v) : NULL;
	r.owner = get_role_oid(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4), false);
	v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5);
	r.arrival = v ? MemoryContextStrdup(outer, v) : NULL;
	v = get_namespace_name(get_rel_namespace(r.events));	/* NULL once the table is dropped */
	r.schema = v ? MemoryContextStrdup(outer, v) : NULL;
	SPI_finish();
	if (change && !has_privs_of_role(GetUserId(), r.owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only the role that created feature set \"%s\" may change it", name)));
	return r;
}

static void
spi_run(const char *query, int expect)
{
	int			rc = SPI_execute(query, false, 0);

	if (rc != expect)
		elog(ERROR, "could not run %s: %s", query, SPI_result_code_string(rc));
}

/* The interval as microseconds, checked as a window (or a delay) is. */
static int64
window_width(Interval *iv, const char *feature, const char *what)
{
	int64		w;

	if (iv->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("feature \"%s\": a %s cannot be in months or years", feature, what),
				 errhint("Write it in days, hours, minutes or seconds: '30 days', not '1 month'.")));
	w = iv->time + (int64) iv->day * USECS_PER_DAY;
	if (!velocity_width_ok(w))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("feature \"%s\": a %s must be positive and shorter than 100,000 days", feature, what)));
	return w;
}

/* ------------------------------------------------------------------------
 * The batch function
 * ------------------------------------------------------------------------
 */

/* The event table's key for the batch function's rows: a one-column primary key, or the tie-break. */
static char *
id_column(Relation rel, const char *tie_break)
{
	Oid			pk = RelationGetPrimaryKeyIndex(rel);

	if (OidIsValid(pk))
	{
		HeapTuple	t = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pk));
		Form_pg_index ix = (Form_pg_index) GETSTRUCT(t);
		char	   *name = NULL;

		if (ix->indnkeyatts == 1 && ix->indkey.values[0] > 0)
			name = pstrdup(NameStr(TupleDescAttr(RelationGetDescr(rel), ix->indkey.values[0] - 1)->attname));
		ReleaseSysCache(t);
		if (name)
			return name;
	}
	return tie_break ? pstrdup(tie_break) : NULL;
}

static char *
qualified(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid));
}

static char *
batch_function_name(const SetRow *r, bool served)
{
	return quote_qualified_identifier(r->schema, psprintf(served ? "%s_features_served" : "%s_features", r->name));
}

static char *
arrival_sequence(const char *schema, const char *set)
{
	return quote_qualified_identifier(schema, psprintf("%s_arrival", set));
}

/* Drops the batch function, if there is one (SPI connected). */
static void
drop_batch(const SetRow *r, bool served)
{
	char	   *fn = psprintf("%s(timestamptz, timestamptz)", batch_function_name(r, served));
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(fn)};

	if (SPI_execute_with_args("SELECT pg_catalog.to_regprocedure($1)", 1, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not look up %s", fn);
	if (SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) != NULL)
		spi_run(psprintf("DROP FUNCTION %s", fn), SPI_OK_UTILITY);
}

static void generate_batch_ordered(const SetRow *r, bool served);

/*
 * (Re)creates <set>_features(since, until) for the declaration as it is
 * now, and with an arrival column <set>_features_served (SPI connected).
 */
static void
generate_batch(const SetRow *r)
{
	generate_batch_ordered(r, false);
	if (r->arrival)
		generate_batch_ordered(r, true);
}

static void
generate_batch_ordered(const SetRow *r, bool served)
{
	Relation	rel = table_open(r->events, AccessShareLock);
	char	   *id = id_column(rel, r->tie_break);
	StringInfoData sig,
				sel,
				inner;
	char	   *order;
	Oid			idtype;
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(r->name)};
	SPITupleTable *ents;
	uint64		nents;
	int			nrow = 0;

	idtype = TupleDescAttr(RelationGetDescr(rel), get_attnum(r->events, id) - 1)->atttypid;
	order = r->tie_break ? psprintf("o.%s, o.%s", quote_identifier(r->time_column), quote_identifier(r->tie_break))
		: psprintf("o.%s", quote_identifier(r->time_column));
	if (served)
		order = psprintf("o.%s NULLS FIRST, %s", quote_identifier(r->arrival), order);
	initStringInfo(&sig);
	initStringInfo(&sel);
	initStringInfo(&inner);
	appendStringInfo(&sig, "%s %s, %s timestamptz", quote_identifier(id), format_type_be_qualified(idtype),
					 quote_identifier(r->time_column));
	appendStringInfo(&sel, "SELECT b.id, b.at");
	appendStringInfo(&inner, "SELECT o.%s AS id, o.%s AS at, " RISK_SCHEMA ".feature_set_row(%s, o) AS r",
					 quote_identifier(id), quote_identifier(r->time_column), quote_literal_cstr(r->name));

	if (SPI_execute_with_args("SELECT entity, expression FROM " RISK_SCHEMA ".feature_set_entities "
							  "WHERE feature_set OPERATOR(pg_catalog.=) $1", 1, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read risk.feature_set_entities");
	ents = SPI_tuptable;
	nents = SPI_processed;
	for (uint64 i = 0; i < nents; i++)
		appendStringInfo(&inner, ", " RISK_SCHEMA ".feature_set_window(%s, %s, o) OVER (PARTITION BY (%s) ORDER BY %s) AS e%d",
						 quote_literal_cstr(r->name),
						 quote_literal_cstr(SPI_getvalue(ents->vals[i], ents->tupdesc, 1)),
						 SPI_getvalue(ents->vals[i], ents->tupdesc, 2), order, (int) i);

	/* each feature: its slot in the row's array or in its entity's */
	if (SPI_execute_with_args("SELECT f.name, f.entity, "
							  "pg_catalog.row_number() OVER (PARTITION BY f.entity ORDER BY f.position) "
							  "FROM " RISK_SCHEMA ".feature_set_features f "
							  "WHERE f.feature_set OPERATOR(pg_catalog.=) $1 ORDER BY f.position",
							  1, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read risk.feature_set_features");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		char	   *name = SPI_getvalue(t, SPI_tuptable->tupdesc, 1);
		char	   *entity = SPI_getvalue(t, SPI_tuptable->tupdesc, 2);
		int			slot = atoi(SPI_getvalue(t, SPI_tuptable->tupdesc, 3));

		appendStringInfo(&sig, ", %s double precision", quote_identifier(name));
		if (entity == NULL)
			appendStringInfo(&sel, ", b.r[%d]", ++nrow);
		else
			for (uint64 j = 0; j < nents; j++)
				if (strcmp(SPI_getvalue(ents->vals[j], ents->tupdesc, 1), entity) == 0)
					appendStringInfo(&sel, ", b.e%d[%d]", (int) j, slot);
	}
	drop_batch(r, served);
	spi_run(psprintf("CREATE FUNCTION %s(since timestamptz DEFAULT NULL, until timestamptz DEFAULT NULL) "
					 "RETURNS TABLE (%s) LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $risk$ "
					 "#variable_conflict use_column\nBEGIN RETURN QUERY "
					 "%s FROM (%s FROM %s o WHERE $2 IS NULL OR o.%s < $2) b WHERE $1 IS NULL OR b.at >= $1; END $risk$",
					 batch_function_name(r, served), sig.data, sel.data, inner.data, qualified(r->events),
					 quote_identifier(r->time_column)), SPI_OK_UTILITY);
	spi_run(psprintf("COMMENT ON FUNCTION %s(timestamptz, timestamptz) IS %s", batch_function_name(r, served),
					 quote_literal_cstr(served ?
										psprintf("The features feature set %s served to the events of %s with time in "
												 "[since, until): each entity's events replayed in the order of %s, "
												 "as the scoring trigger applied them (generated: do not edit).",
												 r->name, get_rel_name(r->events), r->arrival) :
										psprintf("The features of feature set %s for the events of %s with time in "
												 "[since, until), each from the events before it "
												 "(generated by risk.add_feature: do not edit).",
												 r->name, get_rel_name(r->events)))),
			SPI_OK_UTILITY);
	table_close(rel, AccessShareLock);
}

/* ------------------------------------------------------------------------
 * risk.create_feature_set(name, events, time_column, tie_break, description)
 * ------------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(risk_create_feature_set);
Datum
risk_create_feature_set(PG_FUNCTION_ARGS)
{
	char	   *name = arg_text(fcinfo, 0, "a feature set's name");
	Oid			events;
	char	   *time_column = arg_text(fcinfo, 2, "time_column");
	char	   *tie_break = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	char	   *arrival = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	Relation	rel;
	AttrNumber	att;
	CatalogIdentity id;
	SetRow		r;

	check_ident(name, "feature set");
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a feature set needs its event table, not NULL")));
	events = PG_GETARG_OID(1);
	if (pg_class_aclcheck(events, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(events))));
	rel = table_open(events, AccessShareLock);
	if (rel->rd_rel->relkind != RELKIND_RELATION && rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", RelationGetRelationName(rel))));
	att = get_attnum(events, time_column);
	if (att <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of table \"%s\" does not exist", time_column, RelationGetRelationName(rel))));
	if (TupleDescAttr(RelationGetDescr(rel), att - 1)->atttypid != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the time column \"%s\" is %s, not timestamptz", time_column,
						format_type_be(TupleDescAttr(RelationGetDescr(rel), att - 1)->atttypid))));
	if (tie_break)
	{
		att = get_attnum(events, tie_break);
		if (att <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of table \"%s\" does not exist", tie_break, RelationGetRelationName(rel))));
		if (!OidIsValid(lookup_type_cache(TupleDescAttr(RelationGetDescr(rel), att - 1)->atttypid,
										  TYPECACHE_LT_OPR)->lt_opr))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("the tie-break column \"%s\" has no ordering", tie_break)));
	}
	if (arrival)
	{
		att = get_attnum(events, arrival);
		if (att <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of table \"%s\" does not exist", arrival, RelationGetRelationName(rel))));
		if (TupleDescAttr(RelationGetDescr(rel), att - 1)->atttypid != INT8OID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("the arrival column \"%s\" is %s, not bigint", arrival,
							format_type_be(TupleDescAttr(RelationGetDescr(rel), att - 1)->atttypid))));
		if (strcmp(arrival, time_column) == 0 || (tie_break && strcmp(arrival, tie_break) == 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the arrival column must be a column of its own, not the time or the tie-break")));
	}
	if (id_column(rel, tie_break) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("table \"%s\" has no primary key on one column and no tie-break column",
						RelationGetRelationName(rel)),
				 errhint("The batch function returns the key of each event: give the table a primary key, "
						 "or name a tie-break column that tells same-time events apart.")));
	table_close(rel, AccessShareLock);

	if (!catalog_citus_known_everywhere(events))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("feature set \"%s\": table %s is on the coordinator only", name, get_rel_name(events)),
				 errdetail("The extension's catalog is on every node of the Citus cluster, and its rows name the table."),
				 errhint("Distribute it (create_distributed_table), or add it to Citus's metadata: "
						 "SELECT citus_add_local_table_to_metadata('%s').", get_rel_name(events))));
	catalog_citus_check_write("feature_sets");
	catalog_spi_connect();
	{
		Oid			types[7] = {TEXTOID, OIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
		Datum		args[7];
		char		nulls[7] = {' ', ' ', ' ', tie_break ? ' ' : 'n', ' ', PG_ARGISNULL(5) ? 'n' : ' ',
		arrival ? ' ' : 'n'};

		args[0] = CStringGetTextDatum(name);
		args[1] = ObjectIdGetDatum(events);
		args[2] = CStringGetTextDatum(time_column);
		args[3] = tie_break ? CStringGetTextDatum(tie_break) : (Datum) 0;
		args[4] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
		args[5] = PG_ARGISNULL(5) ? (Datum) 0 : PG_GETARG_DATUM(5);
		args[6] = arrival ? CStringGetTextDatum(arrival) : (Datum) 0;
		if (SPI_execute_with_args("SELECT 1 FROM " RISK_SCHEMA ".feature_sets WHERE name OPERATOR(pg_catalog.=) $1",
								  1, types, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read risk.feature_sets");
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("feature set \"%s\" already exists", name)));
		catalog_as_owner("feature_sets", &id);
		if (SPI_execute_with_args("INSERT INTO " RISK_SCHEMA ".feature_sets (name, events, time_column, tie_break, "
								  "owner, description, arrival) VALUES ($1, $2, $3, $4, $5, $6, $7)",
								  7, types, args, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into risk.feature_sets");
		catalog_as_caller(&id);
		if (arrival)
			spi_run(psprintf("CREATE SEQUENCE %s", arrival_sequence(get_namespace_name(get_rel_namespace(events)), name)),
					SPI_OK_UTILITY);
	}
	SPI_finish();
	r = set_row(name, true);
	catalog_spi_connect();
	generate_batch(&r);
	SPI_finish();
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * Entities
 * ------------------------------------------------------------------------
 */

/* Whether the set has entity `entity`. */
static bool
has_entity(const SetRow *r, const char *entity)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2] = {CStringGetTextDatum(r->name), CStringGetTextDatum(entity)};
	bool		found;

	catalog_spi_connect();
	if (SPI_execute_with_args("SELECT 1 FROM " RISK_SCHEMA ".feature_set_entities WHERE feature_set "
							  "OPERATOR(pg_catalog.=) $1 AND entity OPERATOR(pg_catalog.=) $2",
							  2, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read risk.feature_set_entities");
	found = SPI_processed > 0;
	SPI_finish();
	return found;
}

/* Declares entity kind `entity` of expression `text` and creates its store. */
static void
entity_add(const SetRow *r, const char *entity, const char *source)
{
	Relation	rel = table_open(r->events, AccessShareLock);
	int			nest;
	Node	   *expr;
	char	   *canonical;
	Oid			type;
	TypeCacheEntry *tc;
	char	   *store;
	CatalogIdentity id;

	check_ident(entity, "entity");
	if (has_entity(r, entity))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("feature set \"%s\" already has entity \"%s\"", r->name, entity)));
	expr = feature_transform(rel, feature_raw_expr(source, "entity"), InvalidOid, "entity", source);
	type = exprType(expr);
	tc = lookup_type_cache(type, TYPECACHE_BTREE_OPFAMILY | TYPECACHE_HASH_EXTENDED_PROC);
	if (!OidIsValid(tc->btree_opf) || !OidIsValid(tc->hash_extended_proc))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("entity \"%s\" is %s, which cannot key a table", entity, format_type_be(type)),
				 errhint("Cast it to text, bigint or another type with ordering and hashing.")));
	nest = feature_path_push();
	canonical = feature_deparse(rel, expr);
	feature_path_pop(nest);
	store = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
									   psprintf("%s_%s", r->name, entity));
	table_close(rel, AccessShareLock);

	catalog_spi_connect();
	/* fillfactor 50 keeps updates of a state on its page, toast_tuple_target keeps it in the row */
	spi_run(psprintf("CREATE TABLE %s (entity %s PRIMARY KEY, state " RISK_SCHEMA ".feature_state NOT NULL) "
					 "WITH (fillfactor = 50, toast_tuple_target = 8160)", store, format_type_be_qualified(type)),
			SPI_OK_UTILITY);
	spi_run(psprintf("COMMENT ON TABLE %s IS %s", store,
					 quote_literal_cstr(psprintf("The %s states of feature set %s: one row per entity, written by "
												 "its scoring trigger, rebuilt by risk.rebuild_feature_states.",
												 entity, r->name))), SPI_OK_UTILITY);
	/* on Citus: next to the events' shards when the entity is their distribution column */
	(void) catalog_citus_place_store(r->events, IsA(expr, Var) ? ((Var *) expr)->varattno : 0, store);
	{
		Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
		Datum		args[4] = {CStringGetTextDatum(r->name), CStringGetTextDatum(entity),
		CStringGetTextDatum(canonical), CStringGetTextDatum(store)};

		catalog_as_owner("feature_set_entities", &id);
		if (SPI_execute_with_args("INSERT INTO " RISK_SCHEMA ".feature_set_entities (feature_set, entity, expression, store) "
								  "VALUES ($1, $2, $3, $4::pg_catalog.regclass)", 4, types, args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into risk.feature_set_entities");
		catalog_as_caller(&id);
	}
	SPI_finish();
}

PG_FUNCTION_INFO_V1(risk_add_entity);
Datum
risk_add_entity(PG_FUNCTION_ARGS)
{
	SetRow		r = set_row(arg_text(fcinfo, 0, "a feature set's name"), true);

	catalog_citus_check_write("feature_sets");

	entity_add(&r, arg_text(fcinfo, 1, "an entity's name"), arg_text(fcinfo, 2, "an entity's expression"));
	catalog_spi_connect();
	generate_batch(&r);
	SPI_finish();
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * risk.add_feature(set, name, expression, per, within, delay,
 *					include_current, max_distinct)
 * ------------------------------------------------------------------------
 */

typedef struct Aggregate
{
	const char *name;			/* as written */
	const char *stored;			/* risk.feature_set_features.aggregate */
	int			nargs;
	bool		window;			/* needs within */
	bool		delay;			/* may be delayed */
	bool		include;		/* may include the current event */
	bool		cap;			/* takes max_distinct */
} Aggregate;

static const Aggregate aggregates[] = {
	{"count", "count", 0, true, true, true, false},
	{"count", "count_distinct", 1, true, false, true, true},
	{"sum", "sum", 1, true, true, true, false},
	{"avg", "avg", 1, true, true, true, false},
	{"is_new", "is_new", 1, true, false, false, true},
	{"seconds_since_first", "seconds_since_first", 0, false, false, false, false},
	{"seconds_since_last", "seconds_since_last", 0, false, false, false, false},
	{"ratio_to_avg", "ratio_to_avg", 1, true, true, true, false},
};

static void pg_attribute_noreturn()
bad_aggregate(const char *feature, const char *text, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("feature \"%s\": \"%s\" is not an aggregate over the entity's events", feature, text),
			 errdetail("%s", detail),
			 errhint("Write count(*), count(distinct x), sum(x), avg(x), is_new(x), seconds_since_first(), "
					 "seconds_since_last() or ratio_to_avg(x), each optionally with FILTER (WHERE condition).")));
}

PG_FUNCTION_INFO_V1(risk_add_feature);
Datum
risk_add_feature(PG_FUNCTION_ARGS)
{
	SetRow		r = set_row(arg_text(fcinfo, 0, "a feature set's name"), true);
	char	   *name = arg_text(fcinfo, 1, "a feature's name");
	char	   *source = arg_text(fcinfo, 2, "a feature's expression");
	char	   *per = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	Interval   *within = PG_ARGISNULL(4) ? NULL : PG_GETARG_INTERVAL_P(4);
	Interval   *delay = PG_ARGISNULL(5) ? NULL : PG_GETARG_INTERVAL_P(5);
	bool		include = !PG_ARGISNULL(6) && PG_GETARG_BOOL(6);
	bool		has_cap = !PG_ARGISNULL(7);
	int32		cap = has_cap ? PG_GETARG_INT32(7) : 0;
	const char *aggregate = NULL;
	char	   *argument = NULL;
	char	   *filter = NULL;
	Relation	rel;
	Node	   *raw;
	int			nest;
	int32		position;
	CatalogIdentity id;

	catalog_citus_check_write("feature_sets");

	if (strlen(name) == 0 || strlen(name) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid feature name \"%s\"", name),
				 errdetail("A feature's name has 1 to 63 bytes (it names a column of the batch function).")));
	rel = table_open(r.events, AccessShareLock);
	raw = feature_raw_expr(source, "feature");
	if (per == NULL)
	{
		Node	   *expr;

		if (within || delay || include || has_cap)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("feature \"%s\" is an expression of the row: it takes no within, delay, "
							"include_current or max_distinct", name),
					 errhint("Aggregates over an entity's events name the entity: per => 'device_id'.")));
		expr = feature_transform(rel, raw, FLOAT8OID, "feature", source);
		nest = feature_path_push();
		argument = feature_deparse(rel, expr);
		feature_path_pop(nest);
	}
	else
	{
		FuncCall   *fc;
		const Aggregate *agg = NULL;
		char	   *fname;
		int			nargs;

		if (!IsA(raw, FuncCall))
			bad_aggregate(name, source, "It is not a call of an aggregate.");
		fc = (FuncCall *) raw;
		fname = strVal(llast(fc->funcname));
		nargs = list_length(fc->args);
		if (list_length(fc->funcname) > 1 && strcmp(strVal(linitial(fc->funcname)), "risk") != 0)
			bad_aggregate(name, source, "Its function is not one of the feature aggregates.");
		if (fc->over || fc->agg_order || fc->agg_within_group || fc->func_variadic)
			bad_aggregate(name, source, "It has OVER, ORDER BY, WITHIN GROUP or VARIADIC, which features do not take.");
		for (int i = 0; i < lengthof(aggregates); i++)
			if (strcmp(aggregates[i].name, fname) == 0 && aggregates[i].nargs == (fc->agg_star ? 0 : nargs) &&
				(strcmp(aggregates[i].stored, "count_distinct") == 0) == fc->agg_distinct)
				agg = &aggregates[i];
		if (agg == NULL && strcmp(fname, "count") == 0 && nargs == 1 && !fc->agg_distinct)
			bad_aggregate(name, source, "count(x) is written count(*) FILTER (WHERE x IS NOT NULL).");
		if (agg == NULL)
			bad_aggregate(name, source, "Its function, or its number of arguments, is not one of the feature aggregates.");
		aggregate = agg->stored;
		if (agg->window && within == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("feature \"%s\": %s needs a window, within => '1 hour'", name, agg->name)));
		if (!agg->window && within)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("feature \"%s\": %s takes no window: it reads the entity's whole history", name, agg->name)));
		if (delay && within == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("feature \"%s\": a delay needs a window", name),
					 errhint("A delayed window is (t - delay - within, t - delay]: give within too.")));
		if (delay && !agg->delay)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("feature \"%s\": %s cannot be delayed", name, aggregate),
					 errdetail("Delayed windows count, sum and average; distinct values and first/last times are read up to the event.")));
		if (delay && include)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("feature \"%s\": a delayed window cannot include the current event", name)));
		if (include && !agg->include)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("feature \"%s\": %s cannot include the current event", name, agg->name)));
		if (has_cap && !agg->cap)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("feature \"%s\": max_distinct caps count(distinct x) and is_new(x) only", name)));
		if (has_cap && cap < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("feature \"%s\": max_distinct must be at least 1, not %d", name, cap)));
		if (within)
		{
			int64		w = window_width(within, name, "window");

			if (delay && !velocity_width_ok(w + window_width(delay, name, "delay")))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("feature \"%s\": the window and its delay reach back 100,000 days or more", name)));
		}
		nest = feature_path_push();
		if (agg->nargs == 1)
		{
			bool		key = strcmp(aggregate, "count_distinct") == 0 || strcmp(aggregate, "is_new") == 0;
			Node	   *arg;

			feature_path_pop(nest);
			arg = feature_transform(rel, linitial(fc->args), key ? InvalidOid : FLOAT8OID, "feature", source);
			if (key && !OidIsValid(lookup_type_cache(exprType(arg), TYPECACHE_HASH_EXTENDED_PROC)->hash_extended_proc))
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_FUNCTION),
						 errmsg("feature \"%s\" cannot count distinct values of type %s", name,
								format_type_be(exprType(arg))),
						 errhint("Cast the values to text, or to another type that can be hashed.")));
			nest = feature_path_push();
			argument = feature_deparse(rel, arg);
		}
		if (fc->agg_filter)
		{
			Node	   *f;

			feature_path_pop(nest);
			f = feature_transform(rel, fc->agg_filter, BOOLOID, "filter", source);
			nest = feature_path_push();
			filter = feature_deparse(rel, f);
		}
		feature_path_pop(nest);
	}
	table_close(rel, AccessShareLock);

	/* the entity: one declared, or a column of the event table, declared now */
	if (per && !has_entity(&r, per))
	{
		if (get_attnum(r.events, per) <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("feature \"%s\": feature set \"%s\" has no entity \"%s\", and table \"%s\" no such column",
							name, r.name, per, get_rel_name(r.events)),
					 errhint("Declare an entity of an expression with risk.add_entity('%s', '%s', 'expression').",
							 r.name, per)));
		entity_add(&r, per, quote_identifier(per));
	}

	catalog_spi_connect();
	{
		Oid			types[11] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		INTERVALOID, INTERVALOID, BOOLOID, INT4OID};
		Datum		args[11];
		char		nulls[11];

		memset(nulls, ' ', sizeof(nulls));
		args[0] = CStringGetTextDatum(r.name);
		args[1] = CStringGetTextDatum(name);
		args[2] = CStringGetTextDatum(source);
#define SET_TEXT(i, v) (args[i] = (v) ? CStringGetTextDatum(v) : (Datum) 0, nulls[i] = (v) ? ' ' : 'n')
		SET_TEXT(3, aggregate);
		SET_TEXT(4, argument);
		SET_TEXT(5, filter);
		SET_TEXT(6, per);
#undef SET_TEXT
		args[7] = within ? IntervalPGetDatum(within) : (Datum) 0;
		nulls[7] = within ? ' ' : 'n';
		args[8] = delay ? IntervalPGetDatum(delay) : (Datum) 0;
		nulls[8] = delay ? ' ' : 'n';
		args[9] = BoolGetDatum(include);
		args[10] = Int32GetDatum(cap);
		nulls[10] = has_cap ? ' ' : 'n';
		if (SPI_execute_with_args("SELECT 1 FROM " RISK_SCHEMA ".feature_set_features WHERE feature_set "
								  "OPERATOR(pg_catalog.=) $1 AND name OPERATOR(pg_catalog.=) $2",
								  2, types, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read risk.feature_set_features");
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("feature set \"%s\" already has a feature \"%s\"", r.name, name)));
		catalog_as_owner("feature_set_features", &id);
		if (SPI_execute_with_args("INSERT INTO " RISK_SCHEMA ".feature_set_features (feature_set, position, name, "
								  "expression, aggregate, argument, filter, entity, within, delay, include_current, "
								  "max_distinct) SELECT $1, COALESCE(pg_catalog.max(position), 0) "
								  "OPERATOR(pg_catalog.+) 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM "
								  RISK_SCHEMA ".feature_set_features WHERE feature_set OPERATOR(pg_catalog.=) $1 "
								  "RETURNING position", 11, types, args, nulls, false, 0) != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "could not insert into risk.feature_set_features");
		{
			bool		isnull;

			position = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		}
		catalog_as_caller(&id);
	}
	generate_batch(&r);
	SPI_finish();
	PG_RETURN_INT32(position);
}

/* ------------------------------------------------------------------------
 * risk.drop_feature_set(name)
 * ------------------------------------------------------------------------
 */

/*
 * Deletes the set's catalog rows, then drops its batch functions, its
 * arrival sequence and its stores, those that are still there (SPI
 * connected).  The rows go first: the sql_drop trigger below then sees the
 * stores as no set's.
 */
static void
drop_set(const SetRow *r)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(r->name)};
	CatalogIdentity id;
	List	   *stores = NIL;
	ListCell   *lc;

	if (SPI_execute_with_args("SELECT store::pg_catalog.oid FROM " RISK_SCHEMA ".feature_set_entities "
							  "WHERE feature_set OPERATOR(pg_catalog.=) $1", 1, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read risk.feature_set_entities");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		stores = lappend_oid(stores, DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
																	  1, &isnull)));
	}
	catalog_as_owner("feature_sets", &id);
	spi_run(psprintf("DELETE FROM " RISK_SCHEMA ".feature_set_features WHERE feature_set OPERATOR(pg_catalog.=) %s",
					 quote_literal_cstr(r->name)), SPI_OK_DELETE);
	spi_run(psprintf("DELETE FROM " RISK_SCHEMA ".feature_set_entities WHERE feature_set OPERATOR(pg_catalog.=) %s",
					 quote_literal_cstr(r->name)), SPI_OK_DELETE);
	spi_run(psprintf("DELETE FROM " RISK_SCHEMA ".feature_sets WHERE name OPERATOR(pg_catalog.=) %s",
					 quote_literal_cstr(r->name)), SPI_OK_DELETE);
	catalog_as_caller(&id);
	drop_batch(r, false);
	if (r->arrival)
	{
		char	   *seq = arrival_sequence(r->schema, r->name);

		drop_batch(r, true);
		args[0] = CStringGetTextDatum(seq);
		if (SPI_execute_with_args("SELECT pg_catalog.to_regclass($1)", 1, types, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not look up %s", seq);
		if (SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) != NULL)
			spi_run(psprintf("DROP SEQUENCE %s", seq), SPI_OK_UTILITY);
	}
	foreach(lc, stores)
		if (get_rel_name(lfirst_oid(lc)) != NULL)
			spi_run(psprintf("DROP TABLE %s", qualified(lfirst_oid(lc))), SPI_OK_UTILITY);
}

PG_FUNCTION_INFO_V1(risk_drop_feature_set);
Datum
risk_drop_feature_set(PG_FUNCTION_ARGS)
{
	SetRow		r = set_row(arg_text(fcinfo, 0, "a feature set's name"), true);

	catalog_citus_check_write("feature_sets");

	catalog_spi_connect();
	drop_set(&r);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * The sql_drop event trigger risk_feature_set_dropped.  A set whose event
 * table is dropped goes with it: its rows, functions, sequence and stores
 * (dropped as the set's owner, whose they are), as a table's indexes go
 * with the table; the stores hold nothing the events did not.  A store
 * dropped on its own would leave the set without the states it serves
 * from: that is refused.
 */
PG_FUNCTION_INFO_V1(risk_feature_set_dropped);
Datum
risk_feature_set_dropped(PG_FUNCTION_ARGS)
{
	MemoryContext outer = CurrentMemoryContext;
	CatalogIdentity id;
	List	   *sets = NIL;
	List	   *schemas = NIL;
	ListCell   *ls,
			   *lc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("risk.feature_set_dropped() is called by its event trigger only")));
	/*
	 * on Citus, the copies of this node (catalog_citus.c); none while they
	 * are being dropped.  A worker drops its copies of the tables the
	 * coordinator drops: the coordinator drops the sets.
	 */
	if (!catalog_read_local("feature_sets") || !catalog_read_local("feature_set_entities") ||
		catalog_citus_is_worker())
		PG_RETURN_NULL();
	catalog_spi_connect();
	catalog_as_owner("feature_sets", &id);
	if (SPI_execute(psprintf("SELECT s.name, d.schema_name FROM %s s, pg_catalog.pg_event_trigger_dropped_objects() d "
							 "WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
							 "AND d.objsubid OPERATOR(pg_catalog.=) 0 "
							 "AND d.objid OPERATOR(pg_catalog.=) s.events::pg_catalog.oid",
							 catalog_read_name("feature_sets")),
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read risk.feature_sets");
	catalog_as_caller(&id);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		sets = lappend(sets, MemoryContextStrdup(outer, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1)));
		schemas = lappend(schemas, MemoryContextStrdup(outer, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2)));
	}
	forboth(ls, sets, lc, schemas)
	{
		SetRow		r = set_row(lfirst(ls), false);
		CatalogIdentity as_owner;

		r.schema = lfirst(lc);
		GetUserIdAndSecContext(&as_owner.userid, &as_owner.sec_context);
		SetUserIdAndSecContext(r.owner, as_owner.sec_context | SECURITY_LOCAL_USERID_CHANGE);
		drop_set(&r);
		SetUserIdAndSecContext(as_owner.userid, as_owner.sec_context);
	}
	catalog_as_owner("feature_sets", &id);
	if (SPI_execute(psprintf("SELECT e.feature_set, d.object_identity FROM %s e, "
							 "pg_catalog.pg_event_trigger_dropped_objects() d "
							 "WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
							 "AND d.objsubid OPERATOR(pg_catalog.=) 0 "
							 "AND d.objid OPERATOR(pg_catalog.=) e.store::pg_catalog.oid",
							 catalog_read_name("feature_set_entities")),
					false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read risk.feature_set_entities");
	catalog_as_caller(&id);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop %s: it is a store of feature set \"%s\"",
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2),
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
				 errhint("Drop the set with risk.drop_feature_set(), or its event table.")));
	SPI_finish();
	PG_RETURN_NULL();
}

/* ------------------------------------------------------------------------
 * risk.check_feature_set(set, model): the same features, in the same order
 * ------------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(risk_check_feature_set);
Datum
risk_check_feature_set(PG_FUNCTION_ARGS)
{
	char	   *set = arg_text(fcinfo, 0, "a feature set's name");
	char	   *ref = arg_text(fcinfo, 1, "a model");
	FeatureSet *fs = feature_set_pin(set, CurrentMemoryContext);
	CachedModel *m = model_cache_pin(ref);
	int			n = Min(fs->nfeatures, m->num_features);

	for (int i = 0; i < n; i++)
		if (strcmp(fs->features[i].name, m->feature_names[i]) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("feature set \"%s\" disagrees with model \"%s\" at feature %d", set, ref, i + 1),
					 errdetail("The feature set has \"%s\" there, the model \"%s\".",
							   fs->features[i].name, m->feature_names[i])));
	if (fs->nfeatures != m->num_features)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("feature set \"%s\" has %d features, model \"%s\" %d", set, fs->nfeatures, ref,
						m->num_features),
				 errdetail("The first %d agree.", n)));
	model_cache_unpin(m);
	PG_RETURN_BOOL(true);
}

/* ------------------------------------------------------------------------
 * risk.rebuild_feature_states(set): every store from the events
 * ------------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(risk_rebuild_feature_states);
Datum
risk_rebuild_feature_states(PG_FUNCTION_ARGS)
{
	SetRow		r = set_row(arg_text(fcinfo, 0, "a feature set's name"), true);
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(r.name)};
	SPITupleTable *ents;
	uint64		nents;
	int64		written = 0;
	char	   *order = r.tie_break ? psprintf("o.%s, o.%s", quote_identifier(r.time_column), quote_identifier(r.tie_break))
		: psprintf("o.%s", quote_identifier(r.time_column));

	catalog_spi_connect();
	if (SPI_execute_with_args("SELECT entity, expression, store::pg_catalog.oid FROM " RISK_SCHEMA
							  ".feature_set_entities WHERE feature_set OPERATOR(pg_catalog.=) $1 ORDER BY entity",
							  1, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read risk.feature_set_entities");
	ents = SPI_tuptable;
	nents = SPI_processed;
	for (uint64 i = 0; i < nents; i++)
	{
		bool		isnull;
		char	   *entity = SPI_getvalue(ents->vals[i], ents->tupdesc, 1);
		char	   *expr = SPI_getvalue(ents->vals[i], ents->tupdesc, 2);
		Oid			store = DatumGetObjectId(SPI_getbinval(ents->vals[i], ents->tupdesc, 3, &isnull));
		int			nest;
		char	   *query;

		spi_run(psprintf("TRUNCATE %s", qualified(store)), SPI_OK_UTILITY);
		nest = feature_path_push();
		query = psprintf("INSERT INTO %s (entity, state) SELECT (%s), " RISK_SCHEMA ".feature_state_agg(%s, %s, o ORDER BY %s) "
						 "FROM %s o WHERE (%s) IS NOT NULL AND o.%s IS NOT NULL GROUP BY 1",
						 qualified(store), expr, quote_literal_cstr(r.name), quote_literal_cstr(entity), order,
						 qualified(r.events), expr, quote_identifier(r.time_column));
		spi_run(query, SPI_OK_INSERT);
		written += SPI_processed;
		feature_path_pop(nest);
	}
	SPI_finish();
	PG_RETURN_INT64(written);
}

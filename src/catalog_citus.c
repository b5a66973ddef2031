/*-------------------------------------------------------------------------
 * catalog_citus.c
 *	  Where this node reads the extension's tables from.
 *
 * On one server, a table is read where it is.  On Citus, once
 * risk.distribute_catalog() has made the extension's tables reference
 * tables, every node holds a full copy of each, under the name
 * <table>_<shard id>, written by Citus in the same distributed transaction
 * on every node.  The caches read that copy, not the table: a query of the
 * table itself is a distributed query, which a query running on a shard
 * (a score on a worker) may not start.  The copy's triggers tell this
 * node's caches at commit, as the table's own do on one server.
 *
 * Writes still go to the table itself, so that Citus writes every copy.
 *
 * Answers are kept per backend until a relation cache invalidation of the
 * table (Citus sends one when it distributes it) or of everything.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "catalog.h"

#define MAX_TABLES 32

typedef struct ReadTable
{
	char		name[NAMEDATALEN];
	Oid			relid;			/* risk.<name> */
	Oid			read_relid;		/* what is read: itself or this node's copy */
	char	   *read_name;		/* its qualified name, in TopMemoryContext */
	bool		no_copy;		/* a Citus table, of which this node has no copy */
} ReadTable;

static ReadTable tables[MAX_TABLES];
static int	ntables = 0;

void
catalog_relation_changed(Oid relid)
{
	for (int i = 0; i < ntables; i++)
		if (relid == InvalidOid || tables[i].relid == relid || tables[i].read_relid == relid)
		{
			/* forget them all: cheap to ask again, and rare */
			for (int j = 0; j < ntables; j++)
				if (tables[j].read_name)
					pfree(tables[j].read_name);
			ntables = 0;
			return;
		}
}

/*
 * This node's copy of reference table relid; InvalidOid when it is not a
 * reference table (*no_copy false) or has no copy here (*no_copy true).
 */
static Oid
local_copy(Oid relid, const char *name, bool *no_copy)
{
	Oid			shard_catalog = get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE);
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	Oid			copy = InvalidOid;

	*no_copy = false;
	if (!OidIsValid(shard_catalog) || !OidIsValid(get_extension_oid("citus", true)))
		return InvalidOid;
	catalog_spi_connect();
	/* a reference table has one shard, and a copy of it on every node */
	if (SPI_execute_with_args("SELECT s.shardid FROM pg_catalog.pg_dist_shard s, pg_catalog.pg_dist_partition p "
							  "WHERE s.logicalrelid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass "
							  "AND p.logicalrelid OPERATOR(pg_catalog.=) s.logicalrelid "
							  "AND p.partmethod OPERATOR(pg_catalog.=) 'n' AND p.repmodel OPERATOR(pg_catalog.=) 't'",
							  1, argtypes, args, NULL, true, 2) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_dist_shard");
	if (SPI_processed == 1)
	{
		bool		isnull;
		int64		shard = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		char	   *copy_name = psprintf("%s_" INT64_FORMAT, name, shard);

		copy = get_relname_relid(copy_name, get_rel_namespace(relid));
		*no_copy = !OidIsValid(copy);
	}
	SPI_finish();
	return copy;
}

static ReadTable *
read_table(const char *name)
{
	ReadTable  *t;
	Oid			relid;
	Oid			read;
	bool		no_copy;

	for (int i = 0; i < ntables; i++)
		if (strcmp(tables[i].name, name) == 0)
			return &tables[i];
	if (ntables == MAX_TABLES)
		catalog_relation_changed(InvalidOid);
	relid = catalog_relid(name);
	read = local_copy(relid, name, &no_copy);
	if (!OidIsValid(read))
		read = relid;
	t = &tables[ntables];
	strlcpy(t->name, name, sizeof(t->name));
	t->relid = relid;
	t->read_relid = read;
	t->no_copy = no_copy;
	t->read_name = MemoryContextStrdup(TopMemoryContext,
									   quote_qualified_identifier(RISK_SCHEMA, get_rel_name(read)));
	ntables++;
	return t;
}

Oid
catalog_read_relid(const char *name)
{
	return read_table(name)->read_relid;
}

const char *
catalog_read_name(const char *name)
{
	return read_table(name)->read_name;
}

bool
catalog_read_local(const char *name)
{
	return !read_table(name)->no_copy;
}

/*
 * Event trigger at the start of DROP EXTENSION: when risk is dropped on a
 * Citus coordinator, the copies of its tables on every node go first.
 * Citus removes a dropped table's metadata but keeps the copies of a table
 * that belonged to an extension, which would be left behind on every node.
 * In the same distributed transaction: a DROP that fails keeps them.
 */
PG_FUNCTION_INFO_V1(risk_extension_dropping);
Datum
risk_extension_dropping(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata = (EventTriggerData *) fcinfo->context;
	DropStmt   *stmt;
	ListCell   *lc;
	bool		risk = false;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("risk.extension_dropping() is called by its event trigger only")));
	if (!IsA(trigdata->parsetree, DropStmt) || ((DropStmt *) trigdata->parsetree)->removeType != OBJECT_EXTENSION)
		PG_RETURN_NULL();
	stmt = (DropStmt *) trigdata->parsetree;
	foreach(lc, stmt->objects)
		if (strcmp(strVal(lfirst(lc)), "risk") == 0)
			risk = true;
	if (!risk || !OidIsValid(get_extension_oid("citus", true)) ||
		!OidIsValid(get_relname_relid("pg_dist_local_group", PG_CATALOG_NAMESPACE)))
		PG_RETURN_NULL();
	catalog_spi_connect();
	if (SPI_execute("SELECT pg_catalog.citus_drop_all_shards(p.logicalrelid, n.nspname::pg_catalog.text, "
					"c.relname::pg_catalog.text, false) "
					"FROM pg_catalog.pg_dist_partition p, pg_catalog.pg_class c, pg_catalog.pg_namespace n, "
					"pg_catalog.pg_depend d, pg_catalog.pg_extension e "
					"WHERE c.oid OPERATOR(pg_catalog.=) p.logicalrelid::pg_catalog.oid "
					"AND n.oid OPERATOR(pg_catalog.=) c.relnamespace "
					"AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
					"AND d.objid OPERATOR(pg_catalog.=) c.oid AND d.deptype OPERATOR(pg_catalog.=) 'e' "
					"AND d.refobjid OPERATOR(pg_catalog.=) e.oid AND e.extname OPERATOR(pg_catalog.=) 'risk' "
					"AND (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g) OPERATOR(pg_catalog.=) 0",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not drop the shards of the extension's tables");
	SPI_finish();
	PG_RETURN_NULL();
}

/*
 * The Citus table whose shard relid is, or InvalidOid.  A trigger on a
 * distributed table runs on its shards, with the shard's row type; it
 * names its features function, rule set and feature set for the table.
 * A shard is <table>_<shard id>, in the table's schema.
 */
Oid
catalog_citus_table_of(Oid relid)
{
	char	   *name = get_rel_name(relid);
	char	   *sep = name ? strrchr(name, '_') : NULL;
	Oid			shard_catalog = get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE);
	Oid			table = InvalidOid;
	int64		shard;
	char	   *end;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1];

	if (sep == NULL || sep[1] < '0' || sep[1] > '9' || !OidIsValid(shard_catalog) ||
		!OidIsValid(get_extension_oid("citus", true)))
		return InvalidOid;
	errno = 0;
	shard = strtoi64(sep + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return InvalidOid;
	args[0] = Int64GetDatum(shard);
	catalog_spi_connect();
	if (SPI_execute_with_args("SELECT s.logicalrelid::pg_catalog.oid FROM pg_catalog.pg_dist_shard s "
							  "WHERE s.shardid OPERATOR(pg_catalog.=) $1", 1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_dist_shard");
	if (SPI_processed == 1)
	{
		bool		isnull;
		Oid			candidate = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		char	   *candidate_name = get_rel_name(candidate);

		/* the shard's name is the table's, and in its schema */
		if (candidate_name && strlen(candidate_name) == (size_t) (sep - name) &&
			strncmp(candidate_name, name, sep - name) == 0 &&
			get_rel_namespace(candidate) == get_rel_namespace(relid))
			table = candidate;
	}
	SPI_finish();
	return table;
}

/*
 * The shard of table on this node that holds the hash range of shard (a
 * shard of another table of table's colocation group), or InvalidOid: where
 * a trigger running on shard keeps what it keeps next to the shard's rows.
 */
Oid
catalog_citus_colocated_shard(Oid table, Oid shard)
{
	char	   *name = get_rel_name(shard);
	char	   *sep = name ? strrchr(name, '_') : NULL;
	Oid			argtypes[2] = {INT8OID, OIDOID};
	Datum		args[2];
	Oid			result = InvalidOid;
	char	   *end;

	if (sep == NULL || !OidIsValid(catalog_citus_table_of(shard)))
		return InvalidOid;
	args[0] = Int64GetDatum(strtoi64(sep + 1, &end, 10));
	args[1] = ObjectIdGetDatum(table);
	catalog_spi_connect();
	/*
	 * the same hash range of a co-located table; or, for a table of the
	 * coordinator (a Citus local table, one shard), the other's one shard
	 */
	if (SPI_execute_with_args("SELECT s2.shardid FROM pg_catalog.pg_dist_shard s1, pg_catalog.pg_dist_partition p1, "
							  "pg_catalog.pg_dist_partition p2, pg_catalog.pg_dist_shard s2 "
							  "WHERE s1.shardid OPERATOR(pg_catalog.=) $1 "
							  "AND p1.logicalrelid OPERATOR(pg_catalog.=) s1.logicalrelid "
							  "AND p2.logicalrelid OPERATOR(pg_catalog.=) $2::pg_catalog.regclass "
							  "AND s2.logicalrelid OPERATOR(pg_catalog.=) p2.logicalrelid "
							  "AND ((p1.partmethod OPERATOR(pg_catalog.=) 'h' AND p2.partmethod OPERATOR(pg_catalog.=) 'h' "
							  "      AND p2.colocationid OPERATOR(pg_catalog.=) p1.colocationid "
							  "      AND s2.shardminvalue OPERATOR(pg_catalog.=) s1.shardminvalue) "
							  "  OR (p1.partmethod OPERATOR(pg_catalog.=) 'n' AND p1.repmodel OPERATOR(pg_catalog.=) 's' "
							  "      AND p2.partmethod OPERATOR(pg_catalog.=) 'n' AND p2.repmodel OPERATOR(pg_catalog.=) 's'))",
							  2, argtypes, args, NULL, true, 2) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_dist_shard");
	if (SPI_processed == 1)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

		result = get_relname_relid(psprintf("%s_" INT64_FORMAT, get_rel_name(table), id), get_rel_namespace(table));
	}
	SPI_finish();
	return result;
}

/*
 * On Citus, places store, a new table keyed by its column "entity", for
 * the rows of events keyed by events' column column (0: an expression):
 * distributed with events' shards when events is distributed by that
 * column ('c'), else added to Citus's metadata on the coordinator ('l', so
 * that every node knows its name).  0 when events is not a Citus table.
 */
char
catalog_citus_place_store(Oid events, AttrNumber column, const char *store)
{
	Oid			argtypes[2] = {OIDOID, TEXTOID};
	Datum		args[2] = {ObjectIdGetDatum(events), CStringGetTextDatum(store)};
	char		placed = 0;

	if (!OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE)) ||
		!OidIsValid(get_extension_oid("citus", true)))
		return 0;
	catalog_spi_connect();
	if (SPI_execute_with_args("SELECT p.partmethod::pg_catalog.text, "
							  "(SELECT a.attnum FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) p.logicalrelid "
							  " AND a.attname::pg_catalog.text OPERATOR(pg_catalog.=) "
							  " pg_catalog.column_to_column_name(p.logicalrelid, p.partkey)) "
							  "FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_dist_partition");
	if (SPI_processed == 1)
	{
		bool		isnull;
		char	   *method = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		Datum		key = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);

		placed = (method[0] == 'h' && !isnull && column != 0 && DatumGetInt16(key) == column) ? 'c' : 'l';
		/*
		 * the store's shards are created over one connection per node, as
		 * the catalog's reference tables are then written (Citus refuses a
		 * parallel operation before a write to a table with foreign keys to
		 * reference tables): for the rest of the declaring transaction
		 */
		if (SPI_execute("SELECT pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true)",
						false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not set citus.multi_shard_modify_mode");
		if (SPI_execute_with_args(placed == 'c'
								  ? "SELECT pg_catalog.create_distributed_table($2::pg_catalog.regclass, 'entity', "
								  "colocate_with => $1::pg_catalog.regclass::pg_catalog.text)"
								  : "SELECT pg_catalog.citus_add_local_table_to_metadata($2::pg_catalog.regclass)",
								  2, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not place %s on Citus", store);
	}
	SPI_finish();
	return placed;
}

/* Whether this node is a Citus worker (Citus installed, and not the coordinator). */
bool
catalog_citus_is_worker(void)
{
	bool		worker = false;

	if (!OidIsValid(get_extension_oid("citus", true)))
		return false;
	catalog_spi_connect();
	if (SPI_execute("SELECT NOT pg_catalog.citus_is_coordinator()", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not ask Citus whether this node is the coordinator");
	if (SPI_processed == 1)
	{
		bool		isnull;

		worker = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	return worker;
}

/*
 * Whether every node of a Citus cluster knows relid: always without Citus or
 * before risk.distribute_catalog() (the catalog stays on this node); after
 * it, when relid is a Citus table (the catalog's rows name it on every node).
 */
bool
catalog_citus_known_everywhere(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	bool		known;

	if (catalog_read_relid("feature_sets") == catalog_relid("feature_sets"))
		return true;
	catalog_spi_connect();
	if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_dist_partition "
							  "WHERE logicalrelid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_dist_partition");
	known = SPI_processed > 0;
	SPI_finish();
	return known;
}

/*
 * Citus refuses a write to a reference table that other tables reference
 * by foreign key (the registry, lists, rule sets, feature sets) once the
 * transaction has run a query over a distributed table through several
 * connections to a node ("cannot modify table ... because there was a
 * parallel operation on a distributed table", as XX000).  Before a call
 * writes such a table (each has a column "name"), an empty update of it
 * (as its owner: the caller may insert, not update) asks Citus, so that the
 * call fails at once, with 25001 and what to do, before its work.
 */
void
catalog_citus_check_write(const char *table)
{
	MemoryContext caller = CurrentMemoryContext;
	CatalogIdentity id;

	if (catalog_read_relid(table) == catalog_relid(table))
		return;
	catalog_spi_connect();
	catalog_as_owner(table, &id);
	PG_TRY();
	{
		if (SPI_execute(psprintf("UPDATE " RISK_SCHEMA ".%s SET name = name WHERE false", table), false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not ask Citus whether %s can be written", table);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_INTERNAL_ERROR || edata->message == NULL ||
			strstr(edata->message, "parallel operation on a distributed table") == NULL)
			PG_RE_THROW();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("cannot write " RISK_SCHEMA ".%s in this transaction: it has run a query over a distributed table in parallel",
						table),
				 errdetail("Citus writes a reference table that others reference over one connection per node, "
						   "which a transaction that used several cannot do (%s).", edata->message),
				 errhint("Make this call in its own transaction, or before the transaction's first query "
						 "over a distributed table, or begin the transaction with "
						 "SET LOCAL citus.multi_shard_modify_mode TO 'sequential'.")));
	}
	PG_END_TRY();
	catalog_as_caller(&id);
	SPI_finish();
}

/*
 * risk.train reads its rows and then registers the model: its queries run
 * sequentially, one connection per node, for the length of the call, as
 * Citus's own hint says (SET LOCAL citus.multi_shard_modify_mode TO
 * 'sequential'), after catalog_citus_check_write.  The setting is undone at
 * the end of the call, or with the (sub)transaction on an error.
 */
int
catalog_citus_sequential(const char *table)
{
	int			level;

	if (catalog_read_relid(table) == catalog_relid(table))
		return -1;
	catalog_citus_check_write(table);
	level = NewGUCNestLevel();
	(void) set_config_option("citus.multi_shard_modify_mode", "sequential", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

void
catalog_citus_end_sequential(int level)
{
	if (level >= 0)
		AtEOXact_GUC(true, level);
}

/*-------------------------------------------------------------------------
 * velocity_store.c
 *	  risk.velocity_track: adds an event to an entity's velocity state kept
 *	  in a table (the store) and returns the state with it, without an SQL
 *	  statement: what a scoring trigger's features function calls for each
 *	  entity of a new row.
 *
 * The store is a table of one entity kind: its primary key (or another
 * unique index on one column) is the entity, and one column holds the
 * state (risk.velocity_state).  An entity's row is found through that
 * index, seeing committed rows and our own (a dirty snapshot), and updated
 * in place, on its page when there is room (a HOT update).  A row another
 * transaction is changing is waited for, then found again, as an UPDATE
 * does under READ COMMITTED; under REPEATABLE READ and SERIALIZABLE a row
 * changed since the transaction's snapshot is a serialization failure, as
 * for an UPDATE.  An entity seen for the first time is inserted with
 * INSERT ... ON CONFLICT (entity) DO NOTHING (a plan kept per store); when another
 * transaction inserted it first, it is updated instead.
 *
 * Rows are taken in the order of the calls: transactions that track their
 * entities in the same order wait for each other rather than deadlock.
 *
 * A row the transaction itself wrote is found again where it wrote it,
 * without the index: the versions one transaction leaves behind cannot be
 * pruned before it ends, so a bulk load (a COPY of many orders of one
 * shop) would otherwise walk a longer chain of them at every order.  The
 * transaction holds that row's lock, so the version it wrote is the row's
 * latest, unless it changed the row since by other means or rolled back a
 * savepoint: such a remembered place is checked, and forgotten.
 *
 * A row is written through the executor's own pieces, as logical
 * replication's apply writes it: stored generated columns are computed,
 * NOT NULL and CHECK constraints checked, the publications' replica
 * identity required, and every index (expression, partial, exclusion
 * constraints too) updated by ExecInsertIndexTuples; the executor state
 * that holds the compiled constraints is kept per store.  Stores have no
 * triggers (foreign keys included), rules or row-level security: a store
 * with any is refused.  The update runs at a command of its own, after the
 * calling statement's: a statement that changes the same row itself
 * (UPDATE store SET state = risk.velocity_track(...)) gets an error from
 * PostgreSQL rather than silently updating nothing.  Privileges are checked
 * before the table is opened or locked.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/nodeModifyTable.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "nodes/makefuncs.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "parser/parse_coerce.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "velocity.h"

#define FN "risk.velocity_track"

/* ------------------------------------------------------------------------
 * Stores, checked once per backend (again after a change to the table)
 * ------------------------------------------------------------------------
 */

typedef struct Store
{
	Oid			relid;			/* hash key */
	bool		valid;			/* false: the table changed, check it again */
	AttrNumber	entity_att;
	AttrNumber	state_att;
	Oid			entity_type;
	Oid			index;			/* the unique index on the entity */
	FmgrInfo	eq;				/* its equality procedure */
	Oid			collation;
	SPIPlanPtr	insert;			/* INSERT ... ON CONFLICT (entity) DO NOTHING; NULL until needed */
	EState	   *estate;			/* for updates: the compiled constraints and */
	ResultRelInfo *rri;			/* generated columns; NULL until needed */
} Store;

static HTAB *stores = NULL;

/* where this transaction last wrote each entity's row, by store (see the file's header) */
typedef struct WrittenKey
{
	Oid			relid;
	uint32		hash;			/* of the entity's datum image */
} WrittenKey;

typedef struct Written
{
	WrittenKey	key;
	Datum		entity;			/* in written_cxt */
	ItemPointerData tid;
} Written;

static HTAB *written = NULL;	/* in TopTransactionContext; NULL between transactions */
static bool written_callbacks = false;

static void
forget_written(void)
{
	written = NULL;				/* its memory goes with TopTransactionContext */
}

static void
written_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PREPARE)
		forget_written();
}

static void
written_subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	/* a rolled-back savepoint's versions are dead: find those rows again by the index */
	if (event == SUBXACT_EVENT_ABORT_SUB && written != NULL)
	{
		hash_destroy(written);
		written = NULL;
	}
}

static uint32
entity_hash(Store *s, Datum entity)
{
	int16		typlen;
	bool		typbyval;

	get_typlenbyval(s->entity_type, &typlen, &typbyval);
	return datum_image_hash(entity, typbyval, typlen);
}

/* The row this transaction last wrote for the entity, into slot; false when unknown or changed since. */
static bool
written_find(Store *s, Relation rel, Datum entity, TupleTableSlot *slot)
{
	WrittenKey	key = {s->relid, 0};
	Written    *w;
	int16		typlen;
	bool		typbyval;
	SnapshotData dirty;

	if (written == NULL)
		return false;
	key.hash = entity_hash(s, entity);
	w = hash_search(written, &key, HASH_FIND, NULL);
	if (w == NULL)
		return false;
	get_typlenbyval(s->entity_type, &typlen, &typbyval);
	if (!datum_image_eq(w->entity, entity, typbyval, typlen) ||
		ItemPointerGetBlockNumber(&w->tid) >= RelationGetNumberOfBlocks(rel) ||
		!table_tuple_fetch_row_version(rel, &w->tid, SnapshotAny, slot))
		return false;
	/* still the entity's row, and its latest version: ours, not updated or deleted since */
	InitDirtySnapshot(dirty);
	if (!table_tuple_satisfies_snapshot(rel, slot, &dirty) || TransactionIdIsValid(dirty.xmax))
		return false;
	{
		bool		isnull;
		Datum		stored = slot_getattr(slot, s->entity_att, &isnull);

		if (isnull || !datum_image_eq(stored, entity, typbyval, typlen))
			return false;
	}
	return true;
}

static void
written_remember(Store *s, Datum entity, ItemPointer tid)
{
	WrittenKey	key = {s->relid, 0};
	Written    *w;
	bool		found;
	int16		typlen;
	bool		typbyval;

	if (!written_callbacks)
	{
		RegisterXactCallback(written_xact_callback, NULL);
		RegisterSubXactCallback(written_subxact_callback, NULL);
		written_callbacks = true;
	}
	if (written == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(WrittenKey);
		ctl.entrysize = sizeof(Written);
		ctl.hcxt = TopTransactionContext;
		written = hash_create("risk store rows written", 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	get_typlenbyval(s->entity_type, &typlen, &typbyval);
	key.hash = entity_hash(s, entity);
	w = hash_search(written, &key, HASH_ENTER, &found);
	if (!found || !datum_image_eq(w->entity, entity, typbyval, typlen))
	{
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

		if (found && !typbyval)
			pfree(DatumGetPointer(w->entity));
		w->entity = datumCopy(entity, typbyval, typlen);
		MemoryContextSwitchTo(old);
	}
	w->tid = *tid;
}

/* the SQL name of the caller, for messages */
static const char *store_fn = FN;

void
velocity_store_relation_changed(Oid relid)
{
	HASH_SEQ_STATUS seq;
	Store	   *s;

	bool		store = relid == InvalidOid;

	if (stores != NULL)
	{
		hash_seq_init(&seq, stores);
		while ((s = hash_seq_search(&seq)) != NULL)
			if (relid == InvalidOid || s->relid == relid)
			{
				s->valid = false;
				store = true;
			}
	}
	/* a store truncated, altered or rewritten: its rows are found by the index again */
	if (store && written != NULL)
	{
		hash_destroy(written);
		written = NULL;
	}
}

static void
store_refuse(Relation rel, const char *what, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s: store \"%s\" %s", store_fn, RelationGetRelationName(rel), what),
			 errdetail("%s updates the store's rows without an UPDATE statement, which would fire them.", store_fn),
			 errhint("%s", hint)));
}

/* The store's one column of type risk.velocity_state. */
static AttrNumber
state_column(Relation rel, Oid state_type)
{
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	found = InvalidAttrNumber;

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (a->attisdropped || a->atttypid != state_type)
			continue;
		if (found != InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_AMBIGUOUS_COLUMN),
					 errmsg("%s: store \"%s\" has more than one column of type %s", store_fn,
							RelationGetRelationName(rel), format_type_be(state_type)),
					 errhint("Keep one entity kind's states per table, one state per row.")));
		found = i + 1;
	}
	if (found == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s: store \"%s\" has no column of type %s", store_fn,
						RelationGetRelationName(rel), format_type_be(state_type)),
				 errhint("A store is e.g. CREATE TABLE device_velocity (device_id bigint PRIMARY KEY, "
						 "state risk.velocity_state NOT NULL).")));
	return found;
}

/* Whether index idx is unique on one plain column, so that it finds an entity's row. */
static bool
is_entity_key(Relation idx)
{
	Form_pg_index ix = idx->rd_index;

	return ix->indisunique && ix->indimmediate && ix->indisvalid && ix->indnkeyatts == 1 &&
		ix->indkey.values[0] != 0 && idx->rd_rel->relam == BTREE_AM_OID &&
		heap_attisnull(idx->rd_indextuple, Anum_pg_index_indpred, NULL);
}

/* The entity's column, the key's equality procedure and collation, for the index scans. */
static void
entity_key(Store *s, Relation rel, Relation idx)
{
	Oid			type = idx->rd_opcintype[0];
	Oid			op = get_opfamily_member(idx->rd_opfamily[0], type, type, BTEqualStrategyNumber);

	if (!OidIsValid(op))
		elog(ERROR, "no equality operator for %s in index \"%s\"",
			 format_type_be(type), RelationGetRelationName(idx));
	s->index = RelationGetRelid(idx);
	s->entity_att = idx->rd_index->indkey.values[0];
	s->entity_type = TupleDescAttr(RelationGetDescr(rel), s->entity_att - 1)->atttypid;
	fmgr_info_cxt(get_opcode(op), &s->eq, TopMemoryContext);
	s->collation = idx->rd_indcollation[0];
}

/*
 * Checks the table as a store: its state column, the index that finds an
 * entity (the primary key if it is on one column), nothing an UPDATE
 * statement would do that tracking does not (triggers, rules, policies).
 */
static void
store_check(Store *s, Relation rel, Oid state_type)
{
	List	   *indexes;
	ListCell   *lc;

	if (rel->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s: \"%s\" is not a table", store_fn, RelationGetRelationName(rel)),
				 errhint("Keep the states in a plain table (not partitioned) with the entity as its primary key.")));
	s->state_att = state_column(rel, state_type);
	if (rel->trigdesc != NULL && rel->trigdesc->numtriggers > 0)
		store_refuse(rel, "has triggers (or foreign keys)",
					 "Keep velocity states in a table of their own, without triggers or foreign keys.");
	if (rel->rd_rules != NULL)
		store_refuse(rel, "has rules", "Keep velocity states in a table of their own, without rules.");
	if (rel->rd_rel->relrowsecurity)
		store_refuse(rel, "has row-level security",
					 "Keep velocity states in a table of their own, without row-level security.");

	s->index = InvalidOid;
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);

		if (is_entity_key(idx) && (!OidIsValid(s->index) || idx->rd_index->indisprimary))
			entity_key(s, rel, idx);
		index_close(idx, AccessShareLock);
	}
	list_free(indexes);
	if (!OidIsValid(s->index))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
				 errmsg("%s: store \"%s\" has no primary key on one column, the entity", store_fn,
						RelationGetRelationName(rel)),
				 errhint("E.g. ALTER TABLE %s ADD PRIMARY KEY (device_id);",
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													RelationGetRelationName(rel)))));
	if (s->entity_att == s->state_att)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
				 errmsg("%s: the key of store \"%s\" is its state", store_fn, RelationGetRelationName(rel))));
}

/*
 * Errors unless the current role may read, insert into and update the
 * store, or when it does not exist: before the table is opened or locked,
 * at every call, as a statement's privileges are (roles change without
 * touching the table).
 */
static void
store_privileges(Oid relid)
{
	static const struct
	{
		AclMode		mode;
		const char *what;
	}			needed[] = {{ACL_SELECT, "read"}, {ACL_UPDATE, "update"}, {ACL_INSERT, "insert into"}};
	bool		missing = false;
	AclMode		all = ACL_SELECT | ACL_INSERT | ACL_UPDATE;
	AclMode		have = pg_class_aclmask_ext(relid, GetUserId(), all, ACLMASK_ALL, &missing);

	if (missing)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("%s: store with OID %u does not exist", store_fn, relid)));
	if (have == all)
		return;
	for (int i = 0; i < lengthof(needed); i++)
		if ((have & needed[i].mode) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("%s: permission denied to %s store \"%s\"", store_fn, needed[i].what, get_rel_name(relid)),
					 errhint("Tracking needs SELECT, INSERT and UPDATE on the store.")));
}

void
velocity_store_privileges(Oid relid, const char *fn)
{
	store_fn = fn;
	store_privileges(relid);
	store_fn = FN;
}

/* The store of an open table: checked when first seen or changed since. */
static Store *
store_of(Relation rel, Oid state_type)
{
	Oid			relid = RelationGetRelid(rel);
	Store	   *s;
	bool		found;

	if (stores == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(Store);
		ctl.hcxt = TopMemoryContext;
		stores = hash_create("risk velocity stores", 8, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	s = hash_search(stores, &relid, HASH_ENTER, &found);
	if (!found)
	{
		memset(s, 0, sizeof(*s));
		s->relid = relid;
	}
	if (!s->valid)
	{
		if (s->insert)
			SPI_freeplan(s->insert);
		s->insert = NULL;
		if (s->estate)
			FreeExecutorState(s->estate);
		s->estate = NULL;
		s->rri = NULL;
		s->valid = true;		/* from now: a change while we check makes us check again */
		PG_TRY();
		{
			store_check(s, rel, state_type);
		}
		PG_CATCH();
		{
			s->valid = false;
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	return s;
}

/* ------------------------------------------------------------------------
 * Finding, updating and inserting a state
 * ------------------------------------------------------------------------
 */

static void
serialization_failure(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("could not serialize access due to concurrent update")));
}

/*
 * The latest version of the entity's row into slot (false: none), once no
 * other transaction is changing it.
 */
static bool
store_find(Store *s, Relation rel, Relation idx, Datum entity, TupleTableSlot *slot)
{
	for (;;)
	{
		SnapshotData dirty;
		ScanKeyData key;
		IndexScanDesc scan;
		TransactionId xwait;
		bool		found;

		InitDirtySnapshot(dirty);
		ScanKeyEntryInitializeWithInfo(&key, 0, 1, BTEqualStrategyNumber, InvalidOid,
									   s->collation, &s->eq, entity);
		scan = index_beginscan(rel, idx, &dirty, 1, 0);
		index_rescan(scan, &key, 1, NULL, 0);
		found = index_getnext_slot(scan, ForwardScanDirection, slot);
		index_endscan(scan);
		if (!found)
			return false;
		xwait = TransactionIdIsValid(dirty.xmin) ? dirty.xmin : dirty.xmax;
		if (!TransactionIdIsValid(xwait))
			break;
		XactLockTableWait(xwait, rel, &slot->tts_tid, XLTW_Update);
		CHECK_FOR_INTERRUPTS();
	}

	/* a row the transaction's snapshot does not see: not ours to change there */
	if (IsolationUsesXactSnapshot() && !table_tuple_satisfies_snapshot(rel, slot, GetActiveSnapshot()))
	{
		bool		isnull;
		TransactionId xmin = DatumGetTransactionId(slot_getsysattr(slot, MinTransactionIdAttributeNumber, &isnull));

		if (!TransactionIdIsCurrentTransactionId(xmin))
			serialization_failure();
	}
	return true;
}

/*
 * The executor state the store's updates run in, kept with the store (its
 * compiled CHECK constraints and generated columns), for relation rel
 * opened by this call: a result relation of rel, with the state column
 * updated, its indexes open until store_estate_done.
 */
static EState *
store_estate(Store *s, Relation rel)
{
	EState	   *estate = s->estate;

	if (estate == NULL)
	{
		MemoryContext old;
		RangeTblEntry *rte;

		estate = CreateExecutorState();
		MemoryContextSetParent(estate->es_query_cxt, TopMemoryContext);
		old = MemoryContextSwitchTo(estate->es_query_cxt);
		rte = makeNode(RangeTblEntry);
		rte->rtekind = RTE_RELATION;
		rte->relid = RelationGetRelid(rel);
		rte->relkind = rel->rd_rel->relkind;
		rte->rellockmode = RowExclusiveLock;
		rte->requiredPerms = ACL_SELECT | ACL_UPDATE;
		rte->selectedCols = bms_make_singleton(s->entity_att - FirstLowInvalidHeapAttributeNumber);
		rte->updatedCols = bms_make_singleton(s->state_att - FirstLowInvalidHeapAttributeNumber);
		ExecInitRangeTable(estate, list_make1(rte));
		s->rri = makeNode(ResultRelInfo);
		InitResultRelInfo(s->rri, rel, 1, NULL, 0);
		MemoryContextSwitchTo(old);
		s->estate = estate;
	}
	/* this call's relation (the same table, checked since its last change) */
	s->rri->ri_RelationDesc = rel;
	estate->es_snapshot = GetActiveSnapshot();
	estate->es_output_cid = GetCurrentCommandId(true);
	{
		MemoryContext old = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));

		s->rri->ri_NumIndices = 0;
		ExecOpenIndices(s->rri, false);
		MemoryContextSwitchTo(old);
	}
	return estate;
}

static void
store_estate_done(Store *s)
{
	ExecCloseIndices(s->rri);
	s->rri->ri_NumIndices = 0;
	ResetPerTupleExprContext(s->estate);
}

/*
 * Replaces the state of the row in `old` by `state`, through `new`, as an
 * UPDATE would: generated columns, constraints, replica identity, indexes.
 * False when another transaction changed the row first (find it again).
 */
static bool
store_update(Store *s, Relation rel, TupleTableSlot *old, TupleTableSlot *new, Datum state)
{
	int			natts = RelationGetDescr(rel)->natts;
	EState	   *estate;
	TM_FailureData tmfd;
	LockTupleMode lockmode;
	bool		update_indexes;
	TM_Result	result;

	slot_getallattrs(old);
	ExecClearTuple(new);
	memcpy(new->tts_values, old->tts_values, sizeof(Datum) * natts);
	memcpy(new->tts_isnull, old->tts_isnull, sizeof(bool) * natts);
	new->tts_values[s->state_att - 1] = state;
	new->tts_isnull[s->state_att - 1] = false;
	ExecStoreVirtualTuple(new);

	/* a command of its own, after the statement's (see the file's header) */
	CommandCounterIncrement();
	estate = store_estate(s, rel);
	if (rel->rd_att->constr && rel->rd_att->constr->has_generated_stored)
		ExecComputeStoredGenerated(s->rri, estate, new, CMD_UPDATE);
	if (rel->rd_att->constr)
		ExecConstraints(s->rri, new, estate);
	CheckCmdReplicaIdentity(rel, CMD_UPDATE);
	result = table_tuple_update(rel, &old->tts_tid, new, estate->es_output_cid, estate->es_snapshot,
								InvalidSnapshot, true, &tmfd, &lockmode, &update_indexes);
	switch (result)
	{
		case TM_Ok:
			break;
		case TM_Updated:
		case TM_Deleted:
			store_estate_done(s);
			if (IsolationUsesXactSnapshot())
				serialization_failure();
			return false;
		case TM_SelfModified:
		case TM_Invisible:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("%s: a row of store \"%s\" was already changed by this statement", store_fn,
							RelationGetRelationName(rel)),
					 errhint("Do not change a store's rows in the statement that tracks events into it.")));
			break;
		default:
			elog(ERROR, "unexpected result %d updating a row of \"%s\"", result, RelationGetRelationName(rel));
	}
	if (update_indexes && s->rri->ri_NumIndices > 0)
		list_free(ExecInsertIndexTuples(s->rri, new, estate, true, false, NULL, NIL));
	store_estate_done(s);
	return true;
}

/* Inserts the entity's first state; false when another transaction inserted it first. */
static bool
store_insert(Store *s, Relation rel, Oid state_type, Datum entity, Datum state)
{
	Datum		values[2] = {entity, state};
	uint64		inserted;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (s->insert == NULL)
	{
		TupleDesc	desc = RelationGetDescr(rel);
		Oid			types[2] = {s->entity_type, state_type};
		const char *entity = quote_identifier(NameStr(TupleDescAttr(desc, s->entity_att - 1)->attname));

		/* only the entity's own conflict is skipped: any other unique index still errors */
		char	   *query = psprintf("INSERT INTO %s (%s, %s) VALUES ($1, $2) ON CONFLICT (%s) DO NOTHING",
									 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
																RelationGetRelationName(rel)),
									 entity,
									 quote_identifier(NameStr(TupleDescAttr(desc, s->state_att - 1)->attname)),
									 entity);
		SPIPlanPtr	plan = SPI_prepare(query, 2, types);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare %s: %s", query, SPI_result_code_string(SPI_result));
		s->insert = plan;
	}
	if (SPI_execute_plan(s->insert, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into \"%s\"", RelationGetRelationName(rel));
	inserted = SPI_processed;
	SPI_finish();
	return inserted == 1;
}

/* ------------------------------------------------------------------------
 * risk.velocity_track(store, entity, at, amount[, key], windows[, max_distinct])
 * ------------------------------------------------------------------------
 */

/* What a call site keeps between rows (fn_extra). */
typedef struct TrackCall
{
	Oid			state_type;
	VelocityKeyHash key;
	VelocityWindowsArg windows;
	Oid			entity_from;	/* the entity argument's type, */
	Oid			entity_to;		/* the store's entity type, */
	FmgrInfo	entity_cast;	/* and the cast between them (fn_oid 0: none needed) */
} TrackCall;

static void
null_argument(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg(FN " %s must not be NULL", what)));
}

/* The entity argument as a value of the store's entity column (an implicit cast). */
static Datum
entity_arg(FunctionCallInfo fcinfo, TrackCall *call, Store *s, Relation rel)
{
	Oid			from = get_fn_expr_argtype(fcinfo->flinfo, 1);

	if (call->entity_from != from || call->entity_to != s->entity_type)
	{
		Oid			fn = InvalidOid;
		CoercionPathType path = find_coercion_pathway(s->entity_type, from, COERCION_IMPLICIT, &fn);

		if (path == COERCION_PATH_FUNC && get_func_nargs(fn) == 1)
			fmgr_info_cxt(fn, &call->entity_cast, fcinfo->flinfo->fn_mcxt);
		else if (path == COERCION_PATH_RELABELTYPE)
			call->entity_cast.fn_oid = InvalidOid;
		else
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s: the entity is %s, but store \"%s\" is keyed by %s", store_fn,
							format_type_be(from), RelationGetRelationName(rel), format_type_be(s->entity_type)),
					 errhint("Cast the entity to %s.", format_type_be(s->entity_type))));
		call->entity_from = from;
		call->entity_to = s->entity_type;
	}
	if (!OidIsValid(call->entity_cast.fn_oid))
		return PG_GETARG_DATUM(1);
	return FunctionCall1(&call->entity_cast, PG_GETARG_DATUM(1));
}

/* An error naming the entity, as text. */
static char *
entity_text(Store *s, Datum entity)
{
	Oid			out;
	bool		varlena;

	getTypeOutputInfo(s->entity_type, &out, &varlena);
	return OidOutputFunctionCall(out, entity);
}

/*
 * The entity's row read, changed by `change` and written (see velocity.h).
 * rel is open with RowExclusiveLock.
 */
Datum
velocity_store_apply(Relation rel, Oid state_type, Datum entity, const char *fn,
					 VelocityStoreChange change, void *arg)
{
	Store	   *s;
	Relation	idx;
	TupleTableSlot *old;
	TupleTableSlot *new;
	Datum		state;

	store_fn = fn;
	s = store_of(rel, state_type);
	idx = index_open(s->index, RowExclusiveLock);
	old = table_slot_create(rel, NULL);
	new = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsVirtual);
	for (;;)
	{
		bool		found = written_find(s, rel, entity, old) || store_find(s, rel, idx, entity, old);
		Datum		stored = (Datum) 0;
		bool		isnull = false;

		if (found)
		{
			stored = slot_getattr(old, s->state_att, &isnull);
			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("%s: the state of entity %s in store \"%s\" is NULL",
								fn, entity_text(s, entity), RelationGetRelationName(rel)),
						 errhint("Delete the row, or rebuild the store's states.")));
		}
		state = change(stored, arg);
		if (found && store_update(s, rel, old, new, state))
		{
			written_remember(s, entity, &new->tts_tid);
			break;
		}
		if (!found && store_insert(s, rel, state_type, entity, state))
			break;
		CHECK_FOR_INTERRUPTS();
	}
	ExecDropSingleTupleTableSlot(old);
	ExecDropSingleTupleTableSlot(new);
	index_close(idx, NoLock);
	/* the next change of this row, in this statement too, sees this one */
	CommandCounterIncrement();
	store_fn = FN;
	return state;
}

/* What velocity_track's change does: the event added to the stored state. */
typedef struct TrackChange
{
	Relation	rel;
	Store	   *s;
	Datum		entity;
	int			nwindows;
	const int64 *widths;
	int32		max_distinct;
	VelocityEvent ev;
} TrackChange;

static Datum
track_change(Datum stored, void *arg)
{
	TrackChange *c = arg;
	Datum		state = velocity_state_added(stored, c->nwindows, c->widths, c->max_distinct, &c->ev);

	if (state == (Datum) 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(FN ": the state of entity %s in store \"%s\" has other windows "
						"or another max_distinct than this call's",
						entity_text(c->s, c->entity), RelationGetRelationName(c->rel)),
				 errhint("Pass the windows and max_distinct the store's states were made with, "
						 "or rebuild them with risk.velocity_state_agg.")));
	return state;
}

PG_FUNCTION_INFO_V1(risk_velocity_track);
Datum
risk_velocity_track(PG_FUNCTION_ARGS)
{
	int			key = PG_NARGS() == 7 ? 4 : -1;
	int			windows_argno = key < 0 ? 4 : 5;
	TrackCall  *call = fcinfo->flinfo->fn_extra;
	TrackChange c;
	Relation	rel;
	Datum		state;

	if (call == NULL)
	{
		call = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(TrackCall));
		call->state_type = get_func_rettype(fcinfo->flinfo->fn_oid);
		fcinfo->flinfo->fn_extra = call;
	}
	if (PG_ARGISNULL(0))
		null_argument("store");
	c.nwindows = velocity_windows_arg(fcinfo, windows_argno, FN, &call->windows);
	c.widths = call->windows.widths;
	c.max_distinct = velocity_max_distinct_arg(fcinfo, windows_argno + 1, FN);
	/* no entity or no time: no event, nothing tracked */
	if (PG_ARGISNULL(1) || !velocity_event_args(fcinfo, 2, key, FN, &call->key, &c.ev))
		PG_RETURN_NULL();
	PreventCommandIfReadOnly(FN "()");
	PreventCommandIfParallelMode(FN "()");

	store_fn = FN;
	store_privileges(PG_GETARG_OID(0));
	rel = try_relation_open(PG_GETARG_OID(0), RowExclusiveLock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg(FN ": store with OID %u does not exist", PG_GETARG_OID(0))));
	c.rel = rel;
	c.s = store_of(rel, call->state_type);
	c.entity = entity_arg(fcinfo, call, c.s, rel);
	state = velocity_store_apply(rel, call->state_type, c.entity, FN, track_change, &c);
	relation_close(rel, NoLock);
	PG_RETURN_DATUM(state);
}

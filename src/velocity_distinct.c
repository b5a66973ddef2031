/*-------------------------------------------------------------------------
 * velocity_distinct.c
 *	  The distinct values of a window frame, and what analysts ask of them:
 *
 *	  risk.count_distinct(value)       exact distinct count, which PostgreSQL
 *	                                   refuses as count(DISTINCT) in windows;
 *	  risk.is_new(value)               the frame's last value appears in no
 *	                                   other row of the frame;
 *	  risk.last_k_distinct(value, k)   the k most recent distinct values.
 *
 * The state is a multiset: each distinct non-NULL value with how many rows
 * of the frame carry it, in a simplehash table hashed and compared with the
 * type's default hash opclass (and the call's collation), and a list of the
 * values by their most recent row.  Adding a row bumps its value's count and
 * moves it to the front; the moving-aggregate inverse, called when a row
 * leaves the frame (always its oldest), lowers the count and forgets the
 * value at zero.  So a sliding frame costs O(1) amortized per row, whatever
 * its width.
 *
 * count_distinct also splits (parallel query, Citus): states combine by
 * adding counts, and are written as (count, value) pairs with the type's
 * binary send function, behind a format version byte; the state is a
 * risk.aggregate_state of its own kind, whose type is named when it is not
 * built in, so that another node reads it.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "agg_state.h"
#include "aggregates.h"
#include "velocity.h"

/* 2: the type and collation as agg_state.h writes them (1 wrote oids; never stored) */
#define DISTINCT_FORMAT_VERSION 2

struct DistinctState;

/* One distinct value of the frame, on the recency list. */
typedef struct ValueNode
{
	Datum		value;			/* copied into the state's context */
	int64		rows;			/* rows of the frame with this value */
	struct ValueNode *newer;
	struct ValueNode *older;
} ValueNode;

typedef struct DistinctEntry
{
	Datum		value;			/* the node's */
	ValueNode  *node;
	uint32		hash;
	char		status;			/* simplehash's */
} DistinctEntry;

static uint32 value_hash(struct DistinctState *st, Datum value);
static bool value_equal(struct DistinctState *st, Datum a, Datum b);

#define SH_PREFIX		valueset
#define SH_ELEMENT_TYPE DistinctEntry
#define SH_KEY_TYPE		Datum
#define SH_KEY			value
#define SH_HASH_KEY(tb, key) value_hash((struct DistinctState *) (tb)->private_data, key)
#define SH_EQUAL(tb, a, b) value_equal((struct DistinctState *) (tb)->private_data, a, b)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) a->hash
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

typedef struct DistinctState
{
	MemoryContext mcxt;			/* where the table and the values live */
	Oid			type;
	Oid			collation;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	FmgrInfo   *hash_proc;		/* from the type cache: lives as long as it */
	FmgrInfo   *eq_proc;
	valueset_hash *table;
	int64		distinct;		/* values with rows > 0 */
	ValueNode  *newest;			/* the recency list */
	ValueNode  *oldest;
	bool		last_null;		/* the row added last had a NULL value */
	int			k;				/* last_k_distinct's k, once known */
} DistinctState;

static uint32
value_hash(DistinctState *st, Datum value)
{
	return DatumGetUInt32(FunctionCall1Coll(st->hash_proc, st->collation, value));
}

static bool
value_equal(DistinctState *st, Datum a, Datum b)
{
	return DatumGetBool(FunctionCall2Coll(st->eq_proc, st->collation, a, b));
}

static DistinctState *
state_create(MemoryContext mcxt, Oid type, Oid collation)
{
	TypeCacheEntry *tc = velocity_hashable_type(type, "risk.count_distinct", "count");
	DistinctState *st;

	st = MemoryContextAllocZero(mcxt, sizeof(DistinctState));
	st->mcxt = mcxt;
	st->type = type;
	st->collation = collation;
	get_typlenbyvalalign(type, &st->typlen, &st->typbyval, &st->typalign);
	st->hash_proc = &tc->hash_proc_finfo;
	st->eq_proc = &tc->eq_opr_finfo;
	st->table = valueset_create(mcxt, 64, st);
	return st;
}

static void
unlink_node(DistinctState *st, ValueNode *n)
{
	if (n->newer)
		n->newer->older = n->older;
	else
		st->newest = n->older;
	if (n->older)
		n->older->newer = n->newer;
	else
		st->oldest = n->newer;
	n->newer = n->older = NULL;
}

static void
push_newest(DistinctState *st, ValueNode *n)
{
	n->older = st->newest;
	n->newer = NULL;
	if (st->newest)
		st->newest->newer = n;
	else
		st->oldest = n;
	st->newest = n;
}

/* Adds `rows` rows of `value`, which becomes the most recent. */
static void
state_add(DistinctState *st, Datum value, int64 rows)
{
	bool		found;
	DistinctEntry *e = valueset_insert(st->table, value, &found);

	if (!found)
	{
		MemoryContext old = MemoryContextSwitchTo(st->mcxt);
		ValueNode  *n = palloc0(sizeof(ValueNode));

		/* the key was stored as the caller's datum: keep our own copy */
		n->value = datumCopy(value, st->typbyval, st->typlen);
		MemoryContextSwitchTo(old);
		e->value = n->value;
		e->node = n;
		st->distinct++;
	}
	else
		unlink_node(st, e->node);
	push_newest(st, e->node);
	e->node->rows += rows;
	st->last_null = false;
}

/* Takes one row of `value` away; false when the state never held it. */
static bool
state_remove(DistinctState *st, Datum value)
{
	DistinctEntry *e = valueset_lookup(st->table, value);
	ValueNode  *n;

	if (e == NULL)
		return false;
	n = e->node;
	if (--n->rows > 0)
		return true;			/* its most recent row is still in the frame */
	valueset_delete_item(st->table, e);
	unlink_node(st, n);
	if (!st->typbyval)
		pfree(DatumGetPointer(n->value));
	pfree(n);
	st->distinct--;
	return true;
}

/* risk.aggregate_state's kind: written and read below */
static const AggStateKind distinct_kind;

static DistinctState *
get_state(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, fn);
	DistinctState *st = agg_state_arg(fcinfo, 0, &distinct_kind, aggcontext);
	Oid			type;
	Oid			collation;

	if (st != NULL)
		return st;
	type = risk_agg_input_type(fcinfo, 1, fn, &collation);
	return state_create(aggcontext, type, collation);
}

static Datum
distinct_result(FunctionCallInfo fcinfo, DistinctState *st)
{
	return agg_state_result(fcinfo, st, &distinct_kind, st->mcxt);
}

/* ---- SQL-callable ---- */

PG_FUNCTION_INFO_V1(risk_count_distinct_add);
Datum
risk_count_distinct_add(PG_FUNCTION_ARGS)
{
	DistinctState *st = get_state(fcinfo, "risk.count_distinct");

	if (!PG_ARGISNULL(1))
		state_add(st, PG_GETARG_DATUM(1), 1);
	else
		st->last_null = true;
	return distinct_result(fcinfo, st);
}

/* The moving-aggregate inverse: a row leaves the window frame. */
PG_FUNCTION_INFO_V1(risk_count_distinct_remove);
Datum
risk_count_distinct_remove(PG_FUNCTION_ARGS)
{
	DistinctState *st;

	(void) risk_aggcontext(fcinfo, "risk_count_distinct_remove");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();		/* nothing to undo: let the executor restart */
	st = (DistinctState *) PG_GETARG_POINTER(0);
	if (!PG_ARGISNULL(1) && !state_remove(st, PG_GETARG_DATUM(1)))
		PG_RETURN_NULL();		/* can't happen; recompute rather than guess */
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(risk_is_new_final);
Datum
risk_is_new_final(PG_FUNCTION_ARGS)
{
	DistinctState *st = PG_ARGISNULL(0) ? NULL : (DistinctState *) PG_GETARG_POINTER(0);

	if (st == NULL || st->last_null || st->newest == NULL)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(st->newest->rows == 1);
}

/* last_k_distinct's transition: the value, and k (read once). */
PG_FUNCTION_INFO_V1(risk_last_k_add);
Datum
risk_last_k_add(PG_FUNCTION_ARGS)
{
	DistinctState *st = get_state(fcinfo, "risk.last_k_distinct");

	if (st->k == 0)
	{
		if (PG_ARGISNULL(2))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("k must not be NULL")));
		if (PG_GETARG_INT32(2) < 1 || PG_GETARG_INT32(2) > 10000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("k must be between 1 and 10000, not %d", PG_GETARG_INT32(2))));
		st->k = PG_GETARG_INT32(2);
	}
	if (!PG_ARGISNULL(1))
		state_add(st, PG_GETARG_DATUM(1), 1);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(risk_last_k_final);
Datum
risk_last_k_final(PG_FUNCTION_ARGS)
{
	DistinctState *st = PG_ARGISNULL(0) ? NULL : (DistinctState *) PG_GETARG_POINTER(0);
	Datum	   *values;
	int			n = 0;

	if (st == NULL || st->newest == NULL)
		PG_RETURN_NULL();
	values = palloc(sizeof(Datum) * Min(st->k, st->distinct));
	for (ValueNode *v = st->newest; v != NULL && n < st->k; v = v->older)
		values[n++] = v->value;
	PG_RETURN_ARRAYTYPE_P(construct_array(values, n, st->type, st->typlen, st->typbyval,
										  st->typalign));
}

PG_FUNCTION_INFO_V1(risk_count_distinct_final);
Datum
risk_count_distinct_final(PG_FUNCTION_ARGS)
{
	DistinctState *st = agg_state_arg(fcinfo, 0, &distinct_kind, NULL);

	PG_RETURN_INT64(st ? st->distinct : 0);
}

PG_FUNCTION_INFO_V1(risk_count_distinct_combine);
Datum
risk_count_distinct_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk.count_distinct");
	DistinctState *into = agg_state_arg(fcinfo, 0, &distinct_kind, aggcontext);
	DistinctState *from = agg_state_arg(fcinfo, 1, &distinct_kind, NULL);

	if (from == NULL)
		return agg_state_result(fcinfo, into, &distinct_kind, aggcontext);
	if (into == NULL)
		into = state_create(aggcontext, from->type, from->collation);
	for (ValueNode *v = from->oldest; v != NULL; v = v->newer)
		state_add(into, v->value, v->rows);
	return agg_state_result(fcinfo, into, &distinct_kind, aggcontext);
}

/*
 * The bytes: version, type, collation, number of values, then per value,
 * oldest first (so that the reader keeps the recency order), its row count
 * and its send() bytes with their length.
 */
static void
distinct_write(const void *state, StringInfo buf)
{
	const DistinctState *st = state;
	Oid			send;
	bool		varlena;
	FmgrInfo	send_fn;

	getTypeBinaryOutputInfo(st->type, &send, &varlena);
	fmgr_info(send, &send_fn);
	pq_sendbyte(buf, DISTINCT_FORMAT_VERSION);
	agg_state_write_type(buf, st->type);
	agg_state_write_collation(buf, st->collation);
	pq_sendint64(buf, st->distinct);
	for (ValueNode *v = st->oldest; v != NULL; v = v->newer)
	{
		bytea	   *bytes = SendFunctionCall(&send_fn, v->value);

		pq_sendint64(buf, v->rows);
		pq_sendint32(buf, VARSIZE(bytes) - VARHDRSZ);
		pq_sendbytes(buf, VARDATA(bytes), VARSIZE(bytes) - VARHDRSZ);
		pfree(bytes);
	}
}

static void *
distinct_read(StringInfo buf, MemoryContext cxt)
{
	const char *what = "risk.count_distinct";
	DistinctState *st;
	Oid			type;
	Oid			collation;
	Oid			recv;
	Oid			ioparam;
	FmgrInfo	recv_fn;
	int64		n;

	risk_state_version(buf, DISTINCT_FORMAT_VERSION, what);
	type = agg_state_read_type(buf, what);
	collation = agg_state_read_collation(buf, what);
	risk_state_need(buf, 8, what);
	n = pq_getmsgint64(buf);
	if (n < 0)
		risk_state_corrupt(what, "It has a negative number of values.");
	st = state_create(cxt, type, collation);
	getTypeBinaryInputInfo(type, &recv, &ioparam);
	fmgr_info(recv, &recv_fn);
	for (int64 i = 0; i < n; i++)
	{
		int64		rows;
		int			len;
		StringInfoData value_buf;

		risk_state_need(buf, 12, what);
		rows = pq_getmsgint64(buf);
		len = pq_getmsgint(buf, 4);
		if (rows < 1)
			risk_state_corrupt(what, "A value of it has no rows.");
		risk_state_need(buf, len, what);
		/* receive functions expect their own, NUL-terminated buffer */
		initStringInfo(&value_buf);
		appendBinaryStringInfo(&value_buf, pq_getmsgbytes(buf, len), len);
		state_add(st, ReceiveFunctionCall(&recv_fn, &value_buf, ioparam, -1), rows);
		pfree(value_buf.data);
	}
	if (st->distinct != n)
		risk_state_corrupt(what, "A value appears in it twice.");
	return st;
}

static const AggStateKind distinct_kind = {AGG_STATE_DISTINCT, "risk.count_distinct", distinct_write, distinct_read};

/* the anyelement aggregate's state is internal: its bytes for parallel query */
PG_FUNCTION_INFO_V1(risk_count_distinct_serialize);
Datum
risk_count_distinct_serialize(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	(void) risk_aggcontext(fcinfo, "risk_count_distinct_serialize");
	pq_begintypsend(&buf);
	distinct_write(PG_GETARG_POINTER(0), &buf);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(risk_count_distinct_deserialize);
Datum
risk_count_distinct_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk_count_distinct_deserialize");
	StringInfoData buf;
	void	   *st;

	risk_state_bytes(&buf, PG_GETARG_BYTEA_PP(0));
	st = distinct_read(&buf, aggcontext);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

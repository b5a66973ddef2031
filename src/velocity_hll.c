/*-------------------------------------------------------------------------
 * velocity_hll.c
 *	  risk.approx_count_distinct(anyelement): a HyperLogLog distinct count
 *	  that rows can also leave, so it slides with a window frame.
 *
 * A plain HyperLogLog keeps, per register, the highest rank seen; that
 * cannot be undone when a row leaves a sliding frame.  We keep instead how
 * many rows of the frame gave each (register, rank) pair — a sparse table,
 * as small as the frame is — and each register's highest rank with a count,
 * which is the plain sketch.  A row entering adds one to its pair; a row
 * leaving takes one away and, when that empties the register's highest
 * rank, finds the next one below.  A histogram of register values keeps the
 * estimate O(1) per row.  (The hll extension keeps only the plain sketch:
 * no inverse, so PostgreSQL would rebuild it for every row of a sliding
 * window.)
 *
 * 2^12 registers: standard error 1.04 / sqrt(4096) = 1.6%, and small
 * counts, through linear counting, within one or two of the exact count.
 * Values are hashed with the type's 64-bit extended hash function.
 *
 * The state splits (parallel query, Citus) as a risk.aggregate_state of its
 * own kind: the (register, rank) pairs with their rows, which add up.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "port/pg_bitutils.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "agg_state.h"
#include "aggregates.h"
#include "velocity.h"

/* 2: the type and collation as agg_state.h writes them (1 wrote oids; never stored) */
#define HLL_FORMAT_VERSION	2
#define HLL_P				12
#define HLL_M				(1 << HLL_P)
#define HLL_MAX_RANK		(64 - HLL_P + 1)
#define HLL_SEED			UINT64CONST(0x5f2a9c1d3e7b4601)

/* (register << 8 | rank) -> rows of the frame that gave it */
typedef struct PairEntry
{
	uint32		pair;
	uint64		rows;
	char		status;
} PairEntry;

#define SH_PREFIX		pairs
#define SH_ELEMENT_TYPE PairEntry
#define SH_KEY_TYPE		uint32
#define SH_KEY			pair
#define SH_HASH_KEY(tb, key) murmurhash32(key)
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

typedef struct HllState
{
	Oid			type;
	Oid			collation;
	FmgrInfo   *hash_proc;		/* the type's extended (64-bit) hash */
	pairs_hash *pairs;
	uint8		reg[HLL_M];		/* highest rank with rows, 0 if none */
	uint32		hist[HLL_MAX_RANK + 1]; /* registers per value of reg[] */
} HllState;

#define PAIR(r, k)	(((uint32) (r) << 8) | (uint32) (k))

static HllState *
state_create(MemoryContext mcxt, Oid type, Oid collation)
{
	TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_HASH_EXTENDED_PROC_FINFO);
	HllState   *st;

	if (!OidIsValid(tc->hash_extended_proc_finfo.fn_oid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("risk.approx_count_distinct cannot count values of type %s",
						format_type_be(type)),
				 errdetail("The type has no extended hash function."),
				 errhint("Cast the values to text, or to another type that can be hashed.")));
	st = MemoryContextAllocZero(mcxt, sizeof(HllState));
	st->type = type;
	st->collation = collation;
	st->hash_proc = &tc->hash_extended_proc_finfo;
	st->pairs = pairs_create(mcxt, 64, NULL);
	st->hist[0] = HLL_M;
	return st;
}

static void
set_register(HllState *st, int r, int rank)
{
	st->hist[st->reg[r]]--;
	st->reg[r] = (uint8) rank;
	st->hist[rank]++;
}

static void
pair_add(HllState *st, int r, int rank, uint64 rows)
{
	bool		found;
	PairEntry  *e = pairs_insert(st->pairs, PAIR(r, rank), &found);

	e->rows = found ? e->rows + rows : rows;
	if (rank > st->reg[r])
		set_register(st, r, rank);
}

/* The register and rank a value lands on. */
static void
locate(HllState *st, Datum value, int *r, int *rank)
{
	uint64		h = DatumGetUInt64(FunctionCall2Coll(st->hash_proc, st->collation, value,
													 UInt64GetDatum(HLL_SEED)));
	uint64		rest = h << HLL_P;	/* the 64 - P bits below the register's */

	*r = (int) (h >> (64 - HLL_P));
	*rank = rest == 0 ? HLL_MAX_RANK : 63 - pg_leftmost_one_pos64(rest) + 1;
}

/* Takes one row away; false when the state never had it. */
static bool
value_remove(HllState *st, Datum value)
{
	int			r;
	int			rank;
	PairEntry  *e;

	locate(st, value, &r, &rank);
	e = pairs_lookup(st->pairs, PAIR(r, rank));
	if (e == NULL)
		return false;
	if (--e->rows > 0)
		return true;
	pairs_delete_item(st->pairs, e);
	if (rank == st->reg[r])
	{
		int			k = rank - 1;

		while (k > 0 && pairs_lookup(st->pairs, PAIR(r, k)) == NULL)
			k--;
		set_register(st, r, k);
	}
	return true;
}

/* HyperLogLog's estimate, with linear counting for small counts. */
static int64
estimate(const HllState *st)
{
	const double m = HLL_M;
	const double alpha = 0.7213 / (1.0 + 1.079 / m);
	double		z = 0;
	double		e;

	for (int k = 0; k <= HLL_MAX_RANK; k++)
		if (st->hist[k])
			z += ldexp((double) st->hist[k], -k);
	e = alpha * m * m / z;
	if (e <= 2.5 * m && st->hist[0] > 0)
		e = m * log(m / st->hist[0]);
	return (int64) llround(e);
}

/* ---- SQL-callable ---- */

/* risk.aggregate_state's kind: written and read below */
static const AggStateKind hll_kind;

PG_FUNCTION_INFO_V1(risk_hll_add);
Datum
risk_hll_add(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk.approx_count_distinct");
	HllState   *st = agg_state_arg(fcinfo, 0, &hll_kind, aggcontext);

	if (st == NULL)
	{
		Oid			collation;
		Oid			type = risk_agg_input_type(fcinfo, 1, "risk.approx_count_distinct", &collation);

		st = state_create(aggcontext, type, collation);
	}
	if (!PG_ARGISNULL(1))
	{
		int			r;
		int			rank;

		locate(st, PG_GETARG_DATUM(1), &r, &rank);
		pair_add(st, r, rank, 1);
	}
	return agg_state_result(fcinfo, st, &hll_kind, aggcontext);
}

/* The moving-aggregate inverse: a row leaves the window frame. */
PG_FUNCTION_INFO_V1(risk_hll_remove);
Datum
risk_hll_remove(PG_FUNCTION_ARGS)
{
	HllState   *st;

	(void) risk_aggcontext(fcinfo, "risk_hll_remove");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (HllState *) PG_GETARG_POINTER(0);
	if (!PG_ARGISNULL(1) && !value_remove(st, PG_GETARG_DATUM(1)))
		PG_RETURN_NULL();		/* can't happen; recompute rather than guess */
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(risk_hll_final);
Datum
risk_hll_final(PG_FUNCTION_ARGS)
{
	HllState   *st = agg_state_arg(fcinfo, 0, &hll_kind, NULL);

	PG_RETURN_INT64(st ? estimate(st) : 0);
}

PG_FUNCTION_INFO_V1(risk_hll_combine);
Datum
risk_hll_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk.approx_count_distinct");
	HllState   *into = agg_state_arg(fcinfo, 0, &hll_kind, aggcontext);
	HllState   *from = agg_state_arg(fcinfo, 1, &hll_kind, NULL);
	pairs_iterator it;
	PairEntry  *e;

	if (from == NULL)
		return agg_state_result(fcinfo, into, &hll_kind, aggcontext);
	if (into == NULL)
		into = state_create(aggcontext, from->type, from->collation);
	pairs_start_iterate(from->pairs, &it);
	while ((e = pairs_iterate(from->pairs, &it)) != NULL)
		pair_add(into, e->pair >> 8, e->pair & 0xFF, e->rows);
	return agg_state_result(fcinfo, into, &hll_kind, aggcontext);
}

/* The bytes: version, type, collation, number of pairs, then (pair, rows) each. */
static void
hll_write(const void *state, StringInfo buf)
{
	const HllState *st = state;
	pairs_iterator it;
	PairEntry  *e;

	pq_sendbyte(buf, HLL_FORMAT_VERSION);
	agg_state_write_type(buf, st->type);
	agg_state_write_collation(buf, st->collation);
	pq_sendint32(buf, st->pairs->members);
	pairs_start_iterate(st->pairs, &it);
	while ((e = pairs_iterate(st->pairs, &it)) != NULL)
	{
		pq_sendint32(buf, e->pair);
		pq_sendint64(buf, e->rows);
	}
}

static void *
hll_read(StringInfo buf, MemoryContext cxt)
{
	const char *what = "risk.approx_count_distinct";
	HllState   *st;
	Oid			type;
	Oid			collation;
	uint32		n;

	risk_state_version(buf, HLL_FORMAT_VERSION, what);
	type = agg_state_read_type(buf, what);
	collation = agg_state_read_collation(buf, what);
	risk_state_need(buf, 4, what);
	n = pq_getmsgint(buf, 4);
	risk_state_need(buf, (int64) n * 12, what);
	st = state_create(cxt, type, collation);
	for (uint32 i = 0; i < n; i++)
	{
		uint32		pair = pq_getmsgint(buf, 4);
		uint64		rows = pq_getmsgint64(buf);
		int			r = pair >> 8;
		int			rank = pair & 0xFF;

		if (r >= HLL_M || rank < 1 || rank > HLL_MAX_RANK || rows == 0 || rows > PG_INT64_MAX)
			risk_state_corrupt(what, "A register, a rank or a count in it cannot be.");
		if (pairs_lookup(st->pairs, pair) != NULL)
			risk_state_corrupt(what, "A register's rank appears in it twice.");
		pair_add(st, r, rank, rows);
	}
	return st;
}

static const AggStateKind hll_kind = {AGG_STATE_HLL, "risk.approx_count_distinct", hll_write, hll_read};

/* the anyelement aggregate's state is internal: its bytes for parallel query */
PG_FUNCTION_INFO_V1(risk_hll_serialize);
Datum
risk_hll_serialize(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	(void) risk_aggcontext(fcinfo, "risk_hll_serialize");
	pq_begintypsend(&buf);
	hll_write(PG_GETARG_POINTER(0), &buf);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(risk_hll_deserialize);
Datum
risk_hll_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk_hll_deserialize");
	StringInfoData buf;
	void	   *st;

	risk_state_bytes(&buf, PG_GETARG_BYTEA_PP(0));
	st = hll_read(&buf, aggcontext);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

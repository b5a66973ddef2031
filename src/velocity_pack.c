/*-------------------------------------------------------------------------
 * velocity_pack.c
 *	  risk.velocity(at, amount, key, windows, include_current): the common
 *	  feature pack — count, sum and distinct count of key — for several
 *	  trailing windows at once, in one pass over a partition.
 *
 * A window function over OVER (PARTITION BY entity ORDER BY at).  For the
 * event at time t, window w holds the partition's events with time in
 * [t - w, t) — or [t - w, t] with include_current, ties included, as
 * RANGE BETWEEN w PRECEDING AND CURRENT ROW does.
 *
 * One pass: a tail pointer adds each event once, when the first later
 * event needs it; each window's head pointer takes it away once, when it
 * falls out of that window.  Events between the widest window's head and
 * the tail are kept in our own buffer (time, amount, key), so the
 * partition's rows are read once.  Distinct counts share one hash table:
 * each key carries its number of rows in every window, and a window's
 * distinct count is the number of keys with a non-zero count there.  Each
 * event costs O(number of windows), whatever the windows' widths.
 *
 * risk.velocity_tiled is the same with tiled windows (velocity_windows.c):
 * a window starts at the start of the tile holding t - w, the values the
 * online state (velocity_state.c) gives.
 *
 * The result is a double precision array: the counts of the windows in
 * their order, then the sums, then the distinct counts.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "windowapi.h"

#include "velocity.h"

#define MAX_WINDOWS VELOCITY_MAX_WINDOWS

enum
{
	ARG_AT,
	ARG_AMOUNT,
	ARG_KEY,
	ARG_WINDOWS,
	ARG_INCLUDE,
	ARG_MAX_DISTINCT
};

typedef struct PackEvent
{
	TimestampTz at;
	double		amount;
	bool		has_amount;
	bool		has_key;
	Datum		key;			/* copied into the partition's context */
	uint32		hash;			/* of the key, computed once */
} PackEvent;

struct PackState;

typedef struct KeyEntry
{
	Datum		key;
	int32	   *rows;			/* per window */
	int32		held;			/* windows where rows > 0 */
	uint32		hash;
	char		status;
} KeyEntry;

static uint32 key_hash(struct PackState *st, Datum key);
static bool key_equal(struct PackState *st, Datum a, Datum b);

#define SH_PREFIX		packkeys
#define SH_ELEMENT_TYPE KeyEntry
#define SH_KEY_TYPE		Datum
#define SH_KEY			key
#define SH_HASH_KEY(tb, k) key_hash((struct PackState *) (tb)->private_data, k)
#define SH_EQUAL(tb, a, b) key_equal((struct PackState *) (tb)->private_data, a, b)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) a->hash
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

typedef struct PackWindow
{
	int64		width;			/* microseconds */
	int64		hop;			/* tiled: the tile width; exact: 0 */
	int64		head;			/* first buffered event still in the window */
	int64		count;
	DD			sum;			/* of the amounts */
	int64		distinct;
} PackWindow;

typedef struct PackState
{
	bool		ready;
	bool		arguments_vary;	/* windows, include_current or max_distinct not a constant */
	ArrayType  *windows;		/* then the partition's first windows */
	MemoryContext mcxt;			/* the partition's */
	int			nwindows;
	int			widest;
	bool		include_current;
	bool		tiled;
	int32		max_distinct;	/* distinct counts capped here; 0: no cap */
	const char *fn;				/* the SQL name, for messages */
	PackWindow	w[MAX_WINDOWS];
	/* events [base, base + nbuf) of the partition, read in order */
	PackEvent  *buf;
	int64		base;
	int64		nbuf;
	int64		cap;
	int64		added;			/* events before this one are in the windows */
	bool		exhausted;		/* nothing after the buffer (end, or NULL time) */
	TimestampTz last_at;		/* of the current row, to check the order */
	bool		seen_any;		/* a row with a time has been current */
	/* keys */
	Oid			key_type;
	int16		key_len;
	bool		key_byval;
	Oid			collation;
	FmgrInfo   *hash_proc;
	FmgrInfo   *eq_proc;
	packkeys_hash *keys;
} PackState;

static uint32
key_hash(PackState *st, Datum key)
{
	return DatumGetUInt32(FunctionCall1Coll(st->hash_proc, st->collation, key));
}

static bool
key_equal(PackState *st, Datum a, Datum b)
{
	return DatumGetBool(FunctionCall2Coll(st->eq_proc, st->collation, a, b));
}

/* First call in a partition: read the windows, the flag and the key type. */
static void
setup(WindowObject winobj, FunctionCallInfo fcinfo, PackState *st, const char *fn)
{
	bool		isnull;
	Datum		d;
	ArrayType  *arr;
	TypeCacheEntry *tc;

	st->mcxt = GetMemoryChunkContext(st);
	d = WinGetFuncArgCurrent(winobj, ARG_WINDOWS, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s windows must not be NULL", fn)));
	arr = DatumGetArrayTypeP(d);
	{
		int64		widths[MAX_WINDOWS];

		st->nwindows = velocity_parse_windows(fn, arr, widths);
		for (int i = 0; i < st->nwindows; i++)
		{
			st->w[i].width = widths[i];
			st->w[i].hop = st->tiled ? velocity_tile_hop(widths[i]) : 0;
			if (widths[i] > st->w[st->widest].width)
				st->widest = i;
		}
	}
	st->include_current = DatumGetBool(WinGetFuncArgCurrent(winobj, ARG_INCLUDE, &isnull));
	if (isnull)
		st->include_current = false;
	if (PG_NARGS() > ARG_MAX_DISTINCT)
	{
		d = WinGetFuncArgCurrent(winobj, ARG_MAX_DISTINCT, &isnull);
		if (!isnull && DatumGetInt32(d) < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s max_distinct must be at least 1, not %d", fn, DatumGetInt32(d)),
					 errhint("Pass NULL for exact distinct counts without a cap.")));
		st->max_distinct = isnull ? 0 : DatumGetInt32(d);
	}

	st->key_type = get_fn_expr_argtype(fcinfo->flinfo, ARG_KEY);
	tc = velocity_hashable_type(st->key_type, fn, "count distinct");
	get_typlenbyval(st->key_type, &st->key_len, &st->key_byval);
	st->collation = PG_GET_COLLATION();
	st->hash_proc = &tc->hash_proc_finfo;
	st->eq_proc = &tc->eq_opr_finfo;
	st->keys = packkeys_create(st->mcxt, 256, st);
	st->cap = 1024;
	st->buf = MemoryContextAlloc(st->mcxt, sizeof(PackEvent) * st->cap);
	/* arguments that are not constants are checked on every row (same_arguments) */
	st->arguments_vary = !get_fn_expr_arg_stable(fcinfo->flinfo, ARG_WINDOWS) ||
		!get_fn_expr_arg_stable(fcinfo->flinfo, ARG_INCLUDE) ||
		(PG_NARGS() > ARG_MAX_DISTINCT && !get_fn_expr_arg_stable(fcinfo->flinfo, ARG_MAX_DISTINCT));
	if (st->arguments_vary)
	{
		st->windows = MemoryContextAlloc(st->mcxt, VARSIZE(arr));
		memcpy(st->windows, arr, VARSIZE(arr));
	}
	st->ready = true;
}

/* The windows, include_current and max_distinct of this row: those of the partition's first. */
static void
same_arguments(WindowObject winobj, FunctionCallInfo fcinfo, PackState *st)
{
	bool		isnull;
	Datum		d = WinGetFuncArgCurrent(winobj, ARG_WINDOWS, &isnull);
	ArrayType  *arr = isnull ? NULL : DatumGetArrayTypeP(d);
	bool		include;
	int32		max_distinct = 0;

	include = DatumGetBool(WinGetFuncArgCurrent(winobj, ARG_INCLUDE, &isnull)) && !isnull;
	if (PG_NARGS() > ARG_MAX_DISTINCT)
	{
		d = WinGetFuncArgCurrent(winobj, ARG_MAX_DISTINCT, &isnull);
		max_distinct = isnull ? 0 : DatumGetInt32(d);
	}
	if (arr == NULL || VARSIZE(arr) != VARSIZE(st->windows) || memcmp(arr, st->windows, VARSIZE(arr)) != 0 ||
		include != st->include_current || max_distinct != st->max_distinct)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs the same windows, include_current and max_distinct on every row of a partition",
						st->fn),
				 errhint("Pass them as constants.")));
}

static PackEvent *
event_at(PackState *st, int64 pos)
{
	return &st->buf[pos - st->base];
}

/* An event enters every window. */
static void
add_event(PackState *st, const PackEvent *ev)
{
	for (int i = 0; i < st->nwindows; i++)
	{
		st->w[i].count++;
		if (ev->has_amount)
		{
			dd_add(&st->w[i].sum, ev->amount);
			if (isinf(st->w[i].sum.hi) || isnan(st->w[i].sum.hi))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("%s sum out of range for double precision", st->fn)));
		}
	}
	if (ev->has_key)
	{
		bool		found;
		KeyEntry   *e = packkeys_insert_hash(st->keys, ev->key, ev->hash, &found);

		if (!found)
		{
			MemoryContext old = MemoryContextSwitchTo(st->mcxt);

			/* the table's own copy: the event's goes when the event does */
			e->key = datumCopy(ev->key, st->key_byval, st->key_len);
			e->rows = palloc0(sizeof(int32) * st->nwindows);
			e->held = 0;
			MemoryContextSwitchTo(old);
		}
		for (int i = 0; i < st->nwindows; i++)
			if (e->rows[i]++ == 0)
			{
				st->w[i].distinct++;
				e->held++;
			}
	}
}

/* An event leaves window i. */
static void
remove_event(PackState *st, int i, const PackEvent *ev)
{
	PackWindow *w = &st->w[i];

	w->count--;
	if (ev->has_amount)
		dd_add(&w->sum, -ev->amount);
	if (w->count == 0)
		w->sum.hi = w->sum.lo = 0;
	if (ev->has_key)
	{
		KeyEntry   *e = packkeys_lookup_hash(st->keys, ev->key, ev->hash);

		if (e == NULL)
			elog(ERROR, "%s lost a key", st->fn);
		if (--e->rows[i] == 0)
		{
			w->distinct--;
			if (--e->held == 0)
			{
				/* out of every window: forget the key */
				Datum		key = e->key;

				pfree(e->rows);
				packkeys_delete_item(st->keys, e);
				if (!st->key_byval)
					pfree(DatumGetPointer(key));
			}
		}
	}
}

/* An event from the values of an argument list (the key copied). */
static void
fill_event(PackState *st, PackEvent *ev, TimestampTz at, Datum amount, bool amount_null,
		   Datum key, bool key_null)
{
	ev->at = at;
	ev->has_amount = !amount_null;
	ev->amount = amount_null ? 0 : DatumGetFloat8(amount);
	if (isnan(ev->amount) || isinf(ev->amount))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s cannot sum infinite or NaN amounts", st->fn)));
	ev->has_key = !key_null;
	if (key_null)
		ev->key = (Datum) 0;
	else
	{
		MemoryContext old = MemoryContextSwitchTo(st->mcxt);

		ev->key = datumCopy(key, st->key_byval, st->key_len);
		MemoryContextSwitchTo(old);
		ev->hash = key_hash(st, ev->key);
	}
}

/*
 * Reads the row just after the buffer when it is a tie of time t (for
 * include_current); false when it is not, or there is none.
 */
static bool
read_tie(WindowObject winobj, PackState *st, TimestampTz t, PackEvent *ev)
{
	int64		pos = st->base + st->nbuf;
	bool		isnull;
	bool		isout;
	Datum		at;
	Datum		amount;
	bool		amount_null;
	Datum		key;

	at = WinGetFuncArgInPartition(winobj, ARG_AT, pos, WINDOW_SEEK_HEAD, false, &isnull, &isout);
	if (isout || isnull)
	{
		st->exhausted = true;	/* NULL times sort last: nothing after them counts */
		return false;
	}
	if (DatumGetTimestampTz(at) != t)
		return false;
	amount = WinGetFuncArgInPartition(winobj, ARG_AMOUNT, pos, WINDOW_SEEK_HEAD, false,
									  &amount_null, &isout);
	key = WinGetFuncArgInPartition(winobj, ARG_KEY, pos, WINDOW_SEEK_HEAD, false, &isnull, &isout);
	fill_event(st, ev, t, amount, amount_null, key, isnull);
	return true;
}

static void
append(PackState *st, const PackEvent *ev)
{
	if (st->nbuf == st->cap)
	{
		st->cap *= 2;
		st->buf = repalloc_huge(st->buf, sizeof(PackEvent) * st->cap);
	}
	st->buf[st->nbuf++] = *ev;
}

/* Forgets buffered events that every window has let go. */
static void
compact(PackState *st)
{
	int64		keep = st->w[st->widest].head;
	int64		drop = keep - st->base;

	if (drop < 1024 || drop < st->nbuf / 2)
		return;
	if (!st->key_byval)
		for (int64 i = 0; i < drop; i++)
			if (st->buf[i].has_key)
				pfree(DatumGetPointer(st->buf[i].key));
	memmove(st->buf, st->buf + drop, sizeof(PackEvent) * (st->nbuf - drop));
	st->nbuf -= drop;
	st->base = keep;
}

static Datum
velocity_window(FunctionCallInfo fcinfo, bool tiled)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	PackState  *st = WinGetPartitionLocalMemory(winobj, sizeof(PackState));
	bool		isnull;
	TimestampTz t;
	Datum	   *out;

	if (!st->ready)
	{
		st->tiled = tiled;
		st->fn = tiled ? "risk.velocity_tiled" : "risk.velocity";
		setup(winobj, fcinfo, st, st->fn);
		st->last_at = DT_NOBEGIN;
	}
	else if (unlikely(st->arguments_vary))
		same_arguments(winobj, fcinfo, st);

	t = DatumGetTimestampTz(WinGetFuncArgCurrent(winobj, ARG_AT, &isnull));
	if (isnull)
		PG_RETURN_NULL();
	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s cannot use an infinite time", st->fn)));
	if (t < st->last_at)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs its window ordered by its time argument", st->fn),
				 errhint("Write OVER (PARTITION BY ... ORDER BY at), with the same at as the first argument.")));
	st->last_at = t;

	/*
	 * Rows are read once, as the current row (cheap: its values are at hand),
	 * except ties read ahead for include_current.
	 */
	{
		int64		cur = WinGetCurrentPosition(winobj);

		if (cur > st->base + st->nbuf)
		{
			/* rows were skipped: NULL times, sorted first; anywhere else, misordered */
			if (st->seen_any)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s needs its window ordered by its time argument", st->fn),
						 errdetail("A row with a NULL time is followed by rows with times."),
						 errhint("Write OVER (PARTITION BY ... ORDER BY at), with the same at as the first argument.")));
			st->base = st->added = cur;
		}
		st->seen_any = true;
		if (cur == st->base + st->nbuf)
		{
			PackEvent	ev;
			bool		amount_null;
			bool		key_null;
			Datum		amount = WinGetFuncArgCurrent(winobj, ARG_AMOUNT, &amount_null);
			Datum		key = WinGetFuncArgCurrent(winobj, ARG_KEY, &key_null);

			fill_event(st, &ev, t, amount, amount_null, key, key_null);
			append(st, &ev);
		}
	}
	if (st->include_current)
	{
		PackEvent	ev;

		while (!st->exhausted && read_tie(winobj, st, t, &ev))
			append(st, &ev);
	}

	/* the tail: every event before t (or at t, with include_current) */
	while (st->added < st->base + st->nbuf)
	{
		PackEvent  *ev = event_at(st, st->added);

		if (st->include_current ? ev->at > t : ev->at >= t)
			break;
		add_event(st, ev);
		st->added++;
	}

	/* the heads: what has fallen out of each window */
	for (int i = 0; i < st->nwindows; i++)
	{
		PackWindow *w = &st->w[i];
		TimestampTz start = w->hop ? velocity_tiled_start(t, w->width, w->hop) : t - w->width;

		if (w->head < st->base)
			w->head = st->base;

		while (w->head < st->added && event_at(st, w->head)->at < start)
		{
			remove_event(st, i, event_at(st, w->head));
			w->head++;
		}
	}
	compact(st);

	out = palloc(sizeof(Datum) * 3 * st->nwindows);
	for (int i = 0; i < st->nwindows; i++)
	{
		out[i] = Float8GetDatum((double) st->w[i].count);
		out[st->nwindows + i] = Float8GetDatum(st->w[i].sum.hi + st->w[i].sum.lo);
		out[2 * st->nwindows + i] = Float8GetDatum((double) (st->max_distinct > 0 ?
															 Min(st->w[i].distinct, st->max_distinct) :
															 st->w[i].distinct));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(out, 3 * st->nwindows, FLOAT8OID, 8,
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* Exact sliding windows: [t - w, t). */
PG_FUNCTION_INFO_V1(risk_velocity);
Datum
risk_velocity(PG_FUNCTION_ARGS)
{
	return velocity_window(fcinfo, false);
}

/* Tiled windows, as the online state keeps them: [tile start of t - w, t). */
PG_FUNCTION_INFO_V1(risk_velocity_tiled);
Datum
risk_velocity_tiled(PG_FUNCTION_ARGS)
{
	return velocity_window(fcinfo, true);
}

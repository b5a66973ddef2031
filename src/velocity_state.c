/*-------------------------------------------------------------------------
 * velocity_state.c
 *	  risk.velocity_state: an entity's velocity features kept online.  A
 *	  trigger or an UPSERT adds each event as it is inserted
 *	  (risk.velocity_add) and reads the features of any time from then on
 *	  (risk.velocity_read); risk.velocity_state_agg builds the same state
 *	  from history.  The values are risk.velocity_tiled's.
 *
 * Windows are tiled (velocity_windows.c): each hop is a level of tiles,
 * and a tile holds the count and sum of its events, and the number of keys
 * last seen in it.  A window's features are the sums over its tiles, so a
 * read costs O(tiles in the window) and an event O(levels), however long
 * the history.  Keys are told apart by a 64-bit hash (the type's extended
 * hash) and kept, with the time each was last seen, in an open-addressing
 * table; keys and tiles every window has left are dropped.  With a cap on
 * distinct counts (max_distinct K), the stored state holds only the keys
 * of the latest events and the K most recent others.
 *
 * The events at the latest time (the head) are also counted apart, so a
 * read at that time can leave them out: features strictly before t, as
 * risk.velocity_tiled computes them, even after events tied at t were
 * added.  For each head key the head keeps the time it was seen before.
 *
 * Events may come in any order; the state is the same.  A read at a time
 * earlier than the latest event (a late event's own read) reads at the
 * latest event's time.
 *
 * On disk the state is one varlena in the machine's layout (StateDisk),
 * kept small: an UPDATE that rewrites a row of up to about 4 kB can stay
 * on its page (a HOT update), which is most of the cost of an insert.
 * send/receive and text (hex of the same bytes) use a portable, canonical
 * form, checked in full when read back.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "port/pg_bitutils.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "agg_state.h"
#include "velocity.h"

#define FORM_VERSION 1			/* the portable form (send/receive, text) */
#define DISK_VERSION 2			/* the stored form; 1 was an earlier layout */
#define STATE_ANY 0x01			/* holds at least one event */
#define STATE_WIDE 0x02			/* stored: tile counts in 64 bits */
#define STATE_KEYED 0x04		/* stored: tiles have distinct counts */
#define NO_TIME PG_INT64_MIN	/* a key never seen before the head */
#define MIN_KEYCAP 8
#define MAX_EVENTS (INT64CONST(1) << 53)	/* per level, in a state read from outside */

typedef struct Tile
{
	int64		idx;			/* tile number: floor(time / hop) */
	int64		count;			/* events */
	DD			sum;			/* of their amounts */
	int64		distinct;		/* keys last seen in this tile */
} Tile;

typedef struct KeySlot
{
	uint64		hash;			/* 0: an empty slot */
	TimestampTz seen;			/* the latest time of the key; NO_TIME: forgotten */
} KeySlot;

typedef struct HeadKey
{
	uint64		hash;
	TimestampTz before;			/* the latest time of the key before the head */
} HeadKey;

typedef struct Level
{
	int64		hop;
	int64		reach;			/* the widest window of this hop */
	int64		ntiles;
	int64		cap;
	Tile	   *tiles;			/* by idx, ascending */
} Level;

typedef struct VState
{
	int32		max_distinct;	/* distinct counts capped here; 0: no cap */
	int			nwindows;
	int64		width[VELOCITY_MAX_WINDOWS];
	int64		hop[VELOCITY_MAX_WINDOWS];
	int			level[VELOCITY_MAX_WINDOWS];
	int			nlevels;
	Level		lv[VELOCITY_MAX_WINDOWS];	/* by hop, ascending */
	bool		any;
	TimestampTz last;			/* the latest event's time */
	int64		head_count;		/* events at last */
	DD			head_sum;
	int64		nhead;
	int64		headcap;
	HeadKey    *head;			/* keys of the events at last */
	int64		nkeys;			/* keys held (seen set) */
	int64		nused;			/* slots in use, forgotten keys too */
	int64		keycap;			/* 0 or a power of two */
	KeySlot    *keys;
} VState;

/*
 * The stored form.  After the fixed part, 8-byte items first:
 *   int64 width[nwindows], int64 ntiles[nlevels],
 *   HeadKey head[nhead], KeySlot keys[nkeys] (the live keys, in no order),
 *   double sum_hi[tiles], double sum_lo[tiles]  (level by level),
 *   with STATE_WIDE: int64 count[tiles] (and distinct[tiles] with STATE_KEYED);
 * then 4-byte items:
 *   int32 back[tiles]: the tile's distance from its level's latest tile,
 *   without STATE_WIDE: int32 count[tiles] (and distinct[tiles] with STATE_KEYED).
 * A tile stores in 28 bytes, 24 without keys, so that the state of a busy
 * entity with a capped distinct count still fits twice in a page.
 */
typedef struct StateDisk
{
	int32		vl_len_;
	uint8		version;
	uint8		nwindows;
	uint8		flags;
	uint8		unused;
	int32		max_distinct;
	int32		nhead;
	int32		nkeys;
	int32		unused2;
	TimestampTz last;
	int64		head_count;
	DD			head_sum;
	int64		data[FLEXIBLE_ARRAY_MEMBER];
} StateDisk;

#define STATE_FIXED offsetof(StateDisk, data)

/* ------------------------------------------------------------------------
 * Windows and levels
 * ------------------------------------------------------------------------
 */

/* Groups the windows by hop into levels; widths and hops already set. */
static void
set_levels(VState *s)
{
	s->nlevels = 0;
	for (int i = 0; i < s->nwindows; i++)
	{
		int			at = 0;

		while (at < s->nlevels && s->lv[at].hop < s->hop[i])
			at++;
		if (at == s->nlevels || s->lv[at].hop != s->hop[i])
		{
			memmove(&s->lv[at + 1], &s->lv[at], sizeof(Level) * (s->nlevels - at));
			memset(&s->lv[at], 0, sizeof(Level));
			s->lv[at].hop = s->hop[i];
			s->nlevels++;
		}
		s->lv[at].reach = Max(s->lv[at].reach, s->width[i]);
	}
	for (int i = 0; i < s->nwindows; i++)
		for (int l = 0; l < s->nlevels; l++)
			if (s->lv[l].hop == s->hop[i])
				s->level[i] = l;
}

static void
set_windows(VState *s, int n, const int64 *widths)
{
	s->nwindows = n;
	for (int i = 0; i < n; i++)
	{
		s->width[i] = widths[i];
		s->hop[i] = velocity_tile_hop(widths[i]);
	}
	set_levels(s);
}

/* The first tile a level still needs: where its widest window starts at last. */
static int64
level_first(const VState *s, const Level *lv)
{
	return velocity_floor_div(s->last - lv->reach, lv->hop);
}

/* ------------------------------------------------------------------------
 * Tiles
 * ------------------------------------------------------------------------
 */

/* The tile idx of a level, made when missing; NULL when it is too old. */
static Tile *
tile_get(const VState *s, Level *lv, int64 idx, bool make)
{
	int64		lo = 0;
	int64		hi = lv->ntiles;

	if (idx < level_first(s, lv))
		return NULL;
	if (lv->ntiles > 0 && lv->tiles[lv->ntiles - 1].idx == idx)
		return &lv->tiles[lv->ntiles - 1];
	if (lv->ntiles == 0 || lv->tiles[lv->ntiles - 1].idx < idx)
		lo = hi = lv->ntiles;	/* the usual case: a new latest tile */
	else
		while (lo < hi)
		{
			int64		mid = lo + (hi - lo) / 2;

			if (lv->tiles[mid].idx < idx)
				lo = mid + 1;
			else
				hi = mid;
		}
	if (lo < lv->ntiles && lv->tiles[lo].idx == idx)
		return &lv->tiles[lo];
	if (!make)
		return NULL;
	if (lv->ntiles == lv->cap)
	{
		lv->cap = Max(8, lv->cap * 2);
		lv->tiles = lv->tiles ? repalloc_huge(lv->tiles, sizeof(Tile) * lv->cap)
			: palloc(sizeof(Tile) * lv->cap);
	}
	memmove(&lv->tiles[lo + 1], &lv->tiles[lo], sizeof(Tile) * (lv->ntiles - lo));
	memset(&lv->tiles[lo], 0, sizeof(Tile));
	lv->tiles[lo].idx = idx;
	lv->ntiles++;
	return &lv->tiles[lo];
}

/* Drops the tiles no window can reach any more. */
static void
trim_tiles(VState *s)
{
	for (int l = 0; l < s->nlevels; l++)
	{
		Level	   *lv = &s->lv[l];
		int64		first = level_first(s, lv);
		int64		drop = 0;

		while (drop < lv->ntiles && lv->tiles[drop].idx < first)
			drop++;
		if (drop > 0)
		{
			memmove(lv->tiles, lv->tiles + drop, sizeof(Tile) * (lv->ntiles - drop));
			lv->ntiles -= drop;
		}
	}
}

/* ------------------------------------------------------------------------
 * Keys
 * ------------------------------------------------------------------------
 */

static KeySlot *
key_find(const VState *s, uint64 hash)
{
	uint64		mask;
	uint64		i;

	if (s->keycap == 0)
		return NULL;
	mask = (uint64) s->keycap - 1;
	for (i = hash & mask;; i = (i + 1) & mask)
	{
		if (s->keys[i].hash == hash)
			return &s->keys[i];
		if (s->keys[i].hash == 0)
			return NULL;
	}
}

/* A time some window can still reach: in a tile some level keeps. */
static bool
time_live(const VState *s, TimestampTz t)
{
	for (int l = 0; l < s->nlevels; l++)
		if (velocity_floor_div(t, s->lv[l].hop) >= level_first(s, &s->lv[l]))
			return true;
	return false;
}

/* A key still counted somewhere: held, and seen where a window reaches. */
static bool
key_live(const VState *s, const KeySlot *k)
{
	return k->hash != 0 && k->seen != NO_TIME && time_live(s, k->seen);
}

static void
key_put(KeySlot *keys, int64 cap, uint64 hash, TimestampTz seen)
{
	uint64		mask = (uint64) cap - 1;
	uint64		i = hash & mask;

	while (keys[i].hash != 0)
		i = (i + 1) & mask;
	keys[i].hash = hash;
	keys[i].seen = seen;
}

/* An empty key table for `n` keys and `more`: at most 3/4 full then. */
static KeySlot *
keys_alloc(int64 n, int64 more, int64 *cap)
{
	*cap = MIN_KEYCAP;
	while (3 * *cap < 4 * (n + more))
		*cap *= 2;
	return palloc0(sizeof(KeySlot) * *cap);
}

/* Rebuilds the key table with the live keys alone, with room for `more`. */
static void
keys_rebuild(VState *s, int64 more)
{
	int64		live = 0;
	int64		cap;
	KeySlot    *keys;

	for (int64 i = 0; i < s->keycap; i++)
		if (key_live(s, &s->keys[i]))
			live++;
	keys = keys_alloc(live, more, &cap);
	for (int64 i = 0; i < s->keycap; i++)
		if (key_live(s, &s->keys[i]))
			key_put(keys, cap, s->keys[i].hash, s->keys[i].seen);
	if (s->keys)
		pfree(s->keys);
	s->keys = keys;
	s->keycap = cap;
	s->nkeys = s->nused = live;
}

/*
 * The slot of a key, held from now on: the caller sets its time when it
 * is NO_TIME (a new key, or one forgotten).
 */
static KeySlot *
key_get(VState *s, uint64 hash)
{
	KeySlot    *k = key_find(s, hash);

	if (k == NULL)
	{
		if (4 * (s->nused + 1) > 3 * s->keycap)
			keys_rebuild(s, 1);
		key_put(s->keys, s->keycap, hash, NO_TIME);
		s->nused++;
		k = key_find(s, hash);
	}
	if (k->seen == NO_TIME)
		s->nkeys++;
	return k;
}

static HeadKey *
head_find(const VState *s, uint64 hash)
{
	for (int64 i = 0; i < s->nhead; i++)
		if (s->head[i].hash == hash)
			return &s->head[i];
	return NULL;
}

static void
head_append(VState *s, uint64 hash, TimestampTz before)
{
	if (s->nhead == s->headcap)
	{
		s->headcap = Max(4, s->headcap * 2);
		s->head = s->head ? repalloc_huge(s->head, sizeof(HeadKey) * s->headcap)
			: palloc(sizeof(HeadKey) * s->headcap);
	}
	s->head[s->nhead].hash = hash;
	s->head[s->nhead].before = before;
	s->nhead++;
}

/* A key's latest time moves from `from` to `to` (either NO_TIME: none), in every level. */
static void
key_moves(VState *s, TimestampTz from, TimestampTz to)
{
	for (int l = 0; l < s->nlevels; l++)
	{
		Level	   *lv = &s->lv[l];
		Tile	   *t;

		if (from != NO_TIME && (t = tile_get(s, lv, velocity_floor_div(from, lv->hop), false)))
			t->distinct--;
		if (to != NO_TIME && (t = tile_get(s, lv, velocity_floor_div(to, lv->hop), true)))
			t->distinct++;
	}
}

/*
 * A key ranked for the cap: the time it was last seen before the latest
 * events (for a head key, its time before the head).
 */
typedef struct Ranked
{
	TimestampTz time;
	uint64		hash;
	KeySlot    *key;			/* a key not in the head */
	HeadKey    *head;			/* or a head key */
} Ranked;

/* Most recent first; among keys of the same time, by hash. */
static int
cmp_recent(const void *a, const void *b)
{
	const Ranked *x = a;
	const Ranked *y = b;

	if (x->time != y->time)
		return x->time > y->time ? -1 : 1;
	return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* A key is dropped: no tile counts it any more. */
static void
key_forget(VState *s, KeySlot *k)
{
	key_moves(s, k->seen, NO_TIME);
	k->seen = NO_TIME;
	s->nkeys--;
}

/* A ranked key beyond the cap: forgotten, or a head key's time before set to none. */
static void
rank_drop(VState *s, Ranked *r)
{
	if (r->key)
		key_forget(s, r->key);
	else
		r->head->before = NO_TIME;
}

/*
 * With a cap of K distinct keys.  Rank the keys by the time each was last
 * seen before the latest events (the head): the K first, and the head's
 * keys, are kept, and the others forgotten.  Then each capped count is
 * exact: without the head, a window with at most K keys holds only ranked
 * keys it keeps, and one with more holds the K first; with the head, the
 * same goes for the head's keys and the K - nhead first others.  Between
 * trims any superset of those keys will do.
 *
 * Ranks do not change when a key enters the head, so the kept keys do not
 * depend on the order of the events, and a head key ranked after K has its
 * time before set to none (as for a forgotten key): equal states print
 * equal.  An insert adds at most one key to a trimmed state, dropped
 * without sorting.
 */
static void
keys_trim(VState *s)
{
	Ranked	   *rank;
	int64		n = 0;
	int64		excess;

	if (s->max_distinct == 0 || s->nkeys <= s->max_distinct)
		return;
	rank = palloc(sizeof(Ranked) * (s->keycap + s->nhead));
	for (int64 i = 0; i < s->keycap; i++)
		if (key_live(s, &s->keys[i]) && s->keys[i].seen != s->last)
		{
			Ranked	   *r = &rank[n++];

			r->time = s->keys[i].seen;
			r->hash = s->keys[i].hash;
			r->key = &s->keys[i];
			r->head = NULL;
		}
	for (int64 h = 0; h < s->nhead; h++)
		if (s->head[h].before != NO_TIME && time_live(s, s->head[h].before))
		{
			Ranked	   *r = &rank[n++];

			r->time = s->head[h].before;
			r->hash = s->head[h].hash;
			r->key = NULL;
			r->head = &s->head[h];
		}
	excess = n - s->max_distinct;
	if (excess > 8)
	{
		qsort(rank, n, sizeof(Ranked), cmp_recent);
		for (int64 i = s->max_distinct; i < n; i++)
			rank_drop(s, &rank[i]);
	}
	else
		for (; excess > 0; excess--)
		{
			int64		least = 0;

			for (int64 i = 1; i < n; i++)
				if (cmp_recent(&rank[i], &rank[least]) > 0)
					least = i;
			rank_drop(s, &rank[least]);
			rank[least] = rank[--n];
		}
	pfree(rank);
}

/* Trims the keys to the cap once they have grown half as many again. */
static void
keys_maybe_trim(VState *s)
{
	if (s->max_distinct > 0 && 2 * s->nkeys > 3 * (int64) s->max_distinct + 2 * s->nhead + 16)
		keys_trim(s);
}

/* ------------------------------------------------------------------------
 * Events and reads
 * ------------------------------------------------------------------------
 */

static void
check_sum(DD *sum)
{
	if (isinf(sum->hi) || isnan(sum->hi))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("risk.velocity_add sum out of range for double precision")));
}

/* One event: at time t, an amount (or none), a key's hash (or none). */
static void
state_add(VState *s, TimestampTz t, bool has_amount, double amount, bool has_key, uint64 hash)
{
	bool		in_head;

	if (!s->any || t > s->last)
	{
		s->any = true;
		s->last = t;
		s->head_count = 0;
		s->head_sum.hi = s->head_sum.lo = 0;
		s->nhead = 0;
		trim_tiles(s);
	}
	in_head = (t == s->last);
	if (in_head)
	{
		s->head_count++;
		if (has_amount)
		{
			dd_add(&s->head_sum, amount);
			check_sum(&s->head_sum);
		}
	}
	for (int l = 0; l < s->nlevels; l++)
	{
		Tile	   *tile = tile_get(s, &s->lv[l], velocity_floor_div(t, s->lv[l].hop), true);

		if (tile == NULL)
			continue;			/* a late event no window reaches */
		tile->count++;
		if (has_amount)
		{
			dd_add(&tile->sum, amount);
			check_sum(&tile->sum);
		}
	}
	if (has_key)
	{
		KeySlot    *k = key_get(s, hash);

		if (in_head && k->seen != t)
			head_append(s, hash, k->seen);	/* the key's first event at last */
		else if (!in_head && k->seen == s->last)
		{
			/* a late event of a head key: its time before the head moves */
			HeadKey    *h = head_find(s, hash);

			if (h && (h->before == NO_TIME || h->before < t))
				h->before = t;
		}
		if (k->seen == NO_TIME || k->seen < t)
		{
			key_moves(s, k->seen, t);
			k->seen = t;
		}
		keys_maybe_trim(s);
	}
}

/*
 * The features at time t: counts, sums, distinct counts of each window, in
 * out[0 .. 3 * nwindows).  Events at t itself are counted with
 * include_current; a read at the latest time leaves out the whole head
 * without it.  Tiles before the latest time's windows are gone: an earlier
 * t reads at the latest time.
 */
static void
state_read(const VState *s, TimestampTz t, bool include_current, double *out)
{
	int			n = s->nwindows;
	bool		drop_head;

	if (s->any && t < s->last)
		t = s->last;
	drop_head = s->any && t == s->last && !include_current;

	for (int i = 0; i < n; i++)
	{
		const Level *lv = &s->lv[s->level[i]];
		int64		first = velocity_floor_div(t - s->width[i], lv->hop);
		int64		count = 0;
		int64		distinct = 0;
		DD			sum = {0, 0};

		for (int64 j = lv->ntiles - 1; j >= 0 && lv->tiles[j].idx >= first; j--)
		{
			count += lv->tiles[j].count;
			dd_add(&sum, lv->tiles[j].sum.hi);
			dd_add(&sum, lv->tiles[j].sum.lo);
			distinct += lv->tiles[j].distinct;
		}
		if (drop_head)
		{
			TimestampTz start = first * lv->hop;

			count -= s->head_count;
			dd_add(&sum, -s->head_sum.hi);
			dd_add(&sum, -s->head_sum.lo);
			for (int64 h = 0; h < s->nhead; h++)
				if (s->head[h].before == NO_TIME || s->head[h].before < start)
					distinct--;
		}
		if (count == 0)
			sum.hi = sum.lo = 0;
		if (s->max_distinct > 0 && distinct > s->max_distinct)
			distinct = s->max_distinct;
		out[i] = (double) count;
		out[n + i] = sum.hi + sum.lo;
		out[2 * n + i] = (double) distinct;
	}
}

/* ------------------------------------------------------------------------
 * The stored form
 * ------------------------------------------------------------------------
 */

/* The flags of the stored form: which tile fields it has, and how wide. */
static int
store_flags(const VState *s)
{
	int			flags = s->any ? STATE_ANY : 0;

	for (int l = 0; l < s->nlevels; l++)
		for (int64 j = 0; j < s->lv[l].ntiles; j++)
		{
			if (s->lv[l].tiles[j].count > PG_INT32_MAX)
				flags |= STATE_WIDE;
			if (s->lv[l].tiles[j].distinct != 0)
				flags |= STATE_KEYED;
		}
	return flags;
}

static Size
state_size(const VState *s, int flags, int64 nlive)
{
	int64		tiles = 0;
	Size		counts;

	for (int l = 0; l < s->nlevels; l++)
		tiles += s->lv[l].ntiles;
	counts = (flags & STATE_KEYED ? 2 : 1) * (flags & STATE_WIDE ? sizeof(int64) : sizeof(int32));
	return STATE_FIXED + sizeof(int64) * (s->nwindows + s->nlevels) +
		sizeof(HeadKey) * s->nhead + sizeof(KeySlot) * nlive +
		(2 * sizeof(double) + sizeof(int32) + counts) * tiles;
}

/* The latest tile of a level: tiles are stored by their distance from it. */
static int64
level_latest(const VState *s, const Level *lv)
{
	return velocity_floor_div(s->last, lv->hop);
}

/*
 * The stored form of a state, its keys trimmed to the cap first.  Only the
 * live keys are stored; loading rebuilds their table.
 */
static StateDisk *
state_store(VState *s)
{
	int			flags;
	int64		nlive = 0;
	Size		size;
	StateDisk  *d;
	char	   *p;

	keys_trim(s);
	flags = store_flags(s);
	for (int64 i = 0; i < s->keycap; i++)
		if (key_live(s, &s->keys[i]))
			nlive++;
	size = state_size(s, flags, nlive);
	if (size > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("risk.velocity_state would have %zu bytes, more than a value can hold", size),
				 errdetail("It keeps %lld distinct keys and %lld keys of its latest events.",
						   (long long) nlive, (long long) s->nhead),
				 errhint("Cap the distinct counts with max_distinct.")));
	d = palloc0(size);			/* no stray padding bytes on disk */
	SET_VARSIZE(d, size);
	d->version = DISK_VERSION;
	d->nwindows = s->nwindows;
	d->flags = flags;
	d->max_distinct = s->max_distinct;
	d->nhead = s->nhead;
	d->nkeys = nlive;
	d->last = s->last;
	d->head_count = s->head_count;
	d->head_sum = s->head_sum;
	p = (char *) d->data;
#define PUT(src, bytes) do { if ((bytes) > 0) memcpy(p, (src), (bytes)); p += (bytes); } while (0)
#define PUT_TILES(type, expr) \
	for (int l = 0; l < s->nlevels; l++) \
		for (int64 j = 0; j < s->lv[l].ntiles; j++) \
		{ \
			const Tile *t = &s->lv[l].tiles[j]; \
			type v = (expr); \
			PUT(&v, sizeof(type)); \
		}
	PUT(s->width, sizeof(int64) * s->nwindows);
	for (int l = 0; l < s->nlevels; l++)
		PUT(&s->lv[l].ntiles, sizeof(int64));
	PUT(s->head, sizeof(HeadKey) * s->nhead);
	for (int64 i = 0; i < s->keycap; i++)
		if (key_live(s, &s->keys[i]))
			PUT(&s->keys[i], sizeof(KeySlot));
	PUT_TILES(double, t->sum.hi);
	PUT_TILES(double, t->sum.lo);
	if (flags & STATE_WIDE)
	{
		PUT_TILES(int64, t->count);
		if (flags & STATE_KEYED)
			PUT_TILES(int64, t->distinct);
	}
	PUT_TILES(int32, (int32) (level_latest(s, &s->lv[l]) - t->idx));
	if (!(flags & STATE_WIDE))
	{
		PUT_TILES(int32, (int32) t->count);
		if (flags & STATE_KEYED)
			PUT_TILES(int32, (int32) t->distinct);
	}
#undef PUT_TILES
#undef PUT
	Assert(p == (char *) d + size);
	return d;
}

/*
 * The state of stored bytes.  With keys, with its key table and arrays of
 * its own that can grow, to add events to; without, to read features only.
 */
static void
state_load(StateDisk *d, VState *s, bool keys)
{
	const char *p = (const char *) d->data;
	int64		widths[VELOCITY_MAX_WINDOWS];
	int64		nlive;

	if (d->version != DISK_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("velocity state stored in an unknown layout (version %d)", d->version),
				 errhint("Rebuild the state from its events with risk.velocity_state_agg.")));
	memset(s, 0, sizeof(VState));
	memcpy(widths, p, sizeof(int64) * d->nwindows);
	p += sizeof(int64) * d->nwindows;
	set_windows(s, d->nwindows, widths);
	s->max_distinct = d->max_distinct;
	s->any = (d->flags & STATE_ANY) != 0;
	s->last = d->last;
	s->head_count = d->head_count;
	s->head_sum = d->head_sum;
	for (int l = 0; l < s->nlevels; l++)
	{
		Level	   *lv = &s->lv[l];

		memcpy(&lv->ntiles, p, sizeof(int64));
		p += sizeof(int64);
		lv->cap = lv->ntiles;
		lv->tiles = palloc0(sizeof(Tile) * Max(1, lv->ntiles));
	}
	s->nhead = s->headcap = d->nhead;
	if (keys)
	{
		s->head = palloc(sizeof(HeadKey) * Max(1, s->nhead));
		memcpy(s->head, p, sizeof(HeadKey) * s->nhead);
	}
	else
		s->head = (HeadKey *) p;
	p += sizeof(HeadKey) * s->nhead;
	nlive = d->nkeys;
	if (keys)
	{
		s->keys = keys_alloc(nlive, 1, &s->keycap);
		for (int64 i = 0; i < nlive; i++)
		{
			KeySlot		k;

			memcpy(&k, p + sizeof(KeySlot) * i, sizeof(KeySlot));
			key_put(s->keys, s->keycap, k.hash, k.seen);
		}
		s->nkeys = s->nused = nlive;
	}
	p += sizeof(KeySlot) * nlive;
#define TAKE_TILES(type, field) \
	for (int l = 0; l < s->nlevels; l++) \
		for (int64 j = 0; j < s->lv[l].ntiles; j++) \
		{ \
			type v; \
			memcpy(&v, p, sizeof(type)); \
			p += sizeof(type); \
			s->lv[l].tiles[j].field = v; \
		}
	TAKE_TILES(double, sum.hi);
	TAKE_TILES(double, sum.lo);
	if (d->flags & STATE_WIDE)
	{
		TAKE_TILES(int64, count);
		if (d->flags & STATE_KEYED)
			TAKE_TILES(int64, distinct);
	}
	TAKE_TILES(int32, idx);
	for (int l = 0; l < s->nlevels; l++)
		for (int64 j = 0; j < s->lv[l].ntiles; j++)
			s->lv[l].tiles[j].idx = level_latest(s, &s->lv[l]) - s->lv[l].tiles[j].idx;
	if (!(d->flags & STATE_WIDE))
	{
		TAKE_TILES(int32, count);
		if (d->flags & STATE_KEYED)
			TAKE_TILES(int32, distinct);
	}
#undef TAKE_TILES
}

static VState *
state_arg(FunctionCallInfo fcinfo, int argno, bool keys)
{
	VState	   *s = palloc(sizeof(VState));

	state_load((StateDisk *) PG_DETOAST_DATUM(PG_GETARG_DATUM(argno)), s, keys);
	return s;
}

/* ------------------------------------------------------------------------
 * The portable form (send/receive, and text as its hex)
 *
 * version, windows (count, then width and hop of each), flags, last,
 * head count and sum, each level's tiles (count, then idx, count, sum hi,
 * sum lo, distinct), head keys (count, then hash, before), keys still
 * counted (count, then hash, seen), in ascending order of hash: equal
 * states have equal forms.
 * ------------------------------------------------------------------------
 */

static int
cmp_slot(const void *a, const void *b)
{
	uint64		x = ((const KeySlot *) a)->hash;
	uint64		y = ((const KeySlot *) b)->hash;

	return x < y ? -1 : x > y;
}

static int
cmp_head(const void *a, const void *b)
{
	uint64		x = ((const HeadKey *) a)->hash;
	uint64		y = ((const HeadKey *) b)->hash;

	return x < y ? -1 : x > y;
}

static void
state_send(const VState *s, StringInfo buf)
{
	KeySlot    *live = palloc(sizeof(KeySlot) * Max(1, s->nkeys));
	HeadKey    *head = palloc(sizeof(HeadKey) * Max(1, s->nhead));
	int64		nlive = 0;

	pq_sendbyte(buf, FORM_VERSION);
	pq_sendbyte(buf, s->nwindows);
	for (int i = 0; i < s->nwindows; i++)
	{
		pq_sendint64(buf, s->width[i]);
		pq_sendint64(buf, s->hop[i]);
	}
	pq_sendint32(buf, s->max_distinct);
	pq_sendbyte(buf, s->any ? STATE_ANY : 0);
	pq_sendint64(buf, s->last);
	pq_sendint64(buf, s->head_count);
	pq_sendfloat8(buf, s->head_sum.hi);
	pq_sendfloat8(buf, s->head_sum.lo);
	for (int l = 0; l < s->nlevels; l++)
	{
		pq_sendint64(buf, s->lv[l].ntiles);
		for (int64 j = 0; j < s->lv[l].ntiles; j++)
		{
			const Tile *t = &s->lv[l].tiles[j];

			pq_sendint64(buf, t->idx);
			pq_sendint64(buf, t->count);
			pq_sendfloat8(buf, t->sum.hi);
			pq_sendfloat8(buf, t->sum.lo);
			pq_sendint64(buf, t->distinct);
		}
	}
	if (s->nhead > 0)
		memcpy(head, s->head, sizeof(HeadKey) * s->nhead);
	qsort(head, s->nhead, sizeof(HeadKey), cmp_head);
	pq_sendint64(buf, s->nhead);
	for (int64 h = 0; h < s->nhead; h++)
	{
		/* a time before every window reads as none: send it so */
		pq_sendint64(buf, (int64) head[h].hash);
		pq_sendint64(buf, head[h].before != NO_TIME && time_live(s, head[h].before) ?
					  head[h].before : NO_TIME);
	}
	for (int64 i = 0; i < s->keycap; i++)
		if (s->keys[i].hash != 0 && key_live(s, &s->keys[i]))
			live[nlive++] = s->keys[i];
	qsort(live, nlive, sizeof(KeySlot), cmp_slot);
	pq_sendint64(buf, nlive);
	for (int64 i = 0; i < nlive; i++)
	{
		pq_sendint64(buf, (int64) live[i].hash);
		pq_sendint64(buf, live[i].seen);
	}
	pfree(live);
	pfree(head);
}

/* Reading the portable form: every read is checked against the end. */
typedef struct Reader
{
	const char *p;
	const char *end;
	bool		binary;			/* the binary form (22P03), not text (22P02) */
} Reader;

static void pg_attribute_noreturn()
bad_state(const Reader *r, const char *detail)
{
	ereport(ERROR,
			(errcode(r->binary ? ERRCODE_INVALID_BINARY_REPRESENTATION : ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid risk.velocity_state"),
			 errdetail("%s", detail)));
}

static uint64
read_u64(Reader *r)
{
	uint64		v = 0;

	if (r->end - r->p < 8)
		bad_state(r, "The value ends too soon.");
	for (int i = 0; i < 8; i++)
		v = (v << 8) | (unsigned char) *r->p++;
	return v;
}

static int64
read_i64(Reader *r)
{
	return (int64) read_u64(r);
}

static int32
read_i32(Reader *r)
{
	uint32		v = 0;

	if (r->end - r->p < 4)
		bad_state(r, "The value ends too soon.");
	for (int i = 0; i < 4; i++)
		v = (v << 8) | (unsigned char) *r->p++;
	return (int32) v;
}

static double
read_f8(Reader *r)
{
	union
	{
		uint64		i;
		double		f;
	}			v;

	v.i = read_u64(r);
	if (isnan(v.f) || isinf(v.f))
		bad_state(r, "A sum is not finite.");
	return v.f;
}

static int
read_byte(Reader *r)
{
	if (r->p >= r->end)
		bad_state(r, "The value ends too soon.");
	return (unsigned char) *r->p++;
}

/* A count of items of `bytes` each that the rest of the value can hold. */
static int64
read_count(Reader *r, Size bytes)
{
	int64		n = read_i64(r);

	if (n < 0 || (uint64) n > (Size) (r->end - r->p) / bytes)
		bad_state(r, "A count does not fit the value.");
	return n;
}

/* Checks a state read from outside, so that nothing we do with it can go wrong. */
static void
state_check(const Reader *r, VState *s)
{
	int64		total = 0;
	int64	   *given;

	for (int l = 0; l < s->nlevels; l++)
		total += s->lv[l].ntiles;
	given = palloc(sizeof(int64) * Max(1, total));

	/* tiles in order, inside the windows, with sane counts */
	total = 0;
	for (int l = 0; l < s->nlevels; l++)
	{
		Level	   *lv = &s->lv[l];
		int64		events = 0;
		Tile	   *latest;

		for (int64 j = 0; j < lv->ntiles; j++)
		{
			Tile	   *t = &lv->tiles[j];

			if (t->count < 0 || t->distinct < 0 || t->distinct > t->count)
				bad_state(r, "A tile has a negative count, or more keys than events.");
			if (j > 0 && t->idx <= lv->tiles[j - 1].idx)
				bad_state(r, "Tiles are not in order.");
			if (t->idx < level_first(s, lv) || t->idx > velocity_floor_div(s->last, lv->hop))
				bad_state(r, "A tile lies outside the windows.");
			if (t->count > MAX_EVENTS - events)
				bad_state(r, "It counts too many events.");
			events += t->count;
			given[total++] = t->distinct;
			t->distinct = 0;
		}
		/* the latest events are in the latest tile */
		latest = s->any ? tile_get(s, lv, velocity_floor_div(s->last, lv->hop), false) : NULL;
		if (s->any && (latest == NULL || latest->count < s->head_count))
			bad_state(r, "The latest events are not in the latest tile.");
	}

	/* the distinct counts are what the keys make them */
	for (int64 i = 0; i < s->keycap; i++)
	{
		KeySlot    *k = &s->keys[i];

		if (k->hash == 0)
			continue;
		for (int l = 0; l < s->nlevels; l++)
		{
			Level	   *lv = &s->lv[l];
			int64		idx = velocity_floor_div(k->seen, lv->hop);
			Tile	   *t = tile_get(s, lv, idx, false);

			if (t)
				t->distinct++;
			else if (idx >= level_first(s, lv))
				bad_state(r, "A key was seen in a tile without events.");
		}
	}
	total = 0;
	for (int l = 0; l < s->nlevels; l++)
		for (int64 j = 0; j < s->lv[l].ntiles; j++)
			if (s->lv[l].tiles[j].distinct != given[total++])
				bad_state(r, "A tile's count of keys does not match the keys.");
	pfree(given);

	/* the head's keys: the keys seen at the latest time, in order */
	{
		int64		at_last = 0;

		for (int64 i = 0; i < s->keycap; i++)
			if (s->keys[i].hash != 0 && s->keys[i].seen == s->last)
				at_last++;
		if (at_last != s->nhead)
			bad_state(r, "The keys of the latest events are not the keys seen then.");
	}
	for (int64 h = 0; h < s->nhead; h++)
	{
		KeySlot    *k = key_find(s, s->head[h].hash);

		if (k == NULL || k->seen != s->last)
			bad_state(r, "A key of the latest events is not among the keys.");
		if (s->head[h].before != NO_TIME &&
			(s->head[h].before >= s->last || !IS_VALID_TIMESTAMP(s->head[h].before)))
			bad_state(r, "A key of the latest events was seen at an invalid time before them.");
		if (h > 0 && s->head[h].hash <= s->head[h - 1].hash)
			bad_state(r, "The keys of the latest events are not in order.");
	}
	if (s->nhead > s->head_count)
		bad_state(r, "The latest events have more keys than events.");
}

static VState *
state_receive(Reader *r)
{
	VState	   *s = palloc0(sizeof(VState));
	int64		widths[VELOCITY_MAX_WINDOWS];
	int64		nlive;
	uint64		prev = 0;
	int			flags;

	if (read_byte(r) != FORM_VERSION)
		bad_state(r, "Its format version is unknown (this version of risk reads format 1).");
	s->nwindows = read_byte(r);
	if (s->nwindows < 1 || s->nwindows > VELOCITY_MAX_WINDOWS)
		bad_state(r, "It has no windows, or too many.");
	for (int i = 0; i < s->nwindows; i++)
	{
		widths[i] = read_i64(r);
		if (!velocity_width_ok(widths[i]) || read_i64(r) != velocity_tile_hop(widths[i]))
			bad_state(r, "A window has a bad width or hop.");
	}
	set_windows(s, s->nwindows, widths);
	s->max_distinct = read_i32(r);
	if (s->max_distinct < 0)
		bad_state(r, "The cap on distinct counts is negative.");
	flags = read_byte(r);
	if (flags & ~STATE_ANY)
		bad_state(r, "Unknown flags.");
	s->any = (flags & STATE_ANY) != 0;
	s->last = read_i64(r);
	if (s->any ? TIMESTAMP_NOT_FINITE(s->last) || !IS_VALID_TIMESTAMP(s->last) : s->last != 0)
		bad_state(r, "The latest time is not a valid time.");
	s->head_count = read_i64(r);
	s->head_sum.hi = read_f8(r);
	s->head_sum.lo = read_f8(r);
	if (s->any ? s->head_count < 1 : s->head_count != 0)
		bad_state(r, "The count of the latest events is wrong.");
	for (int l = 0; l < s->nlevels; l++)
	{
		Level	   *lv = &s->lv[l];

		lv->ntiles = lv->cap = read_count(r, 40);
		lv->tiles = palloc(sizeof(Tile) * Max(1, lv->ntiles));
		for (int64 j = 0; j < lv->ntiles; j++)
		{
			lv->tiles[j].idx = read_i64(r);
			lv->tiles[j].count = read_i64(r);
			lv->tiles[j].sum.hi = read_f8(r);
			lv->tiles[j].sum.lo = read_f8(r);
			lv->tiles[j].distinct = read_i64(r);
		}
		if (!s->any && lv->ntiles > 0)
			bad_state(r, "An empty state has tiles.");
	}
	s->nhead = s->headcap = read_count(r, 16);
	s->head = palloc(sizeof(HeadKey) * Max(1, s->nhead));
	for (int64 h = 0; h < s->nhead; h++)
	{
		s->head[h].hash = read_u64(r);
		s->head[h].before = read_i64(r);
	}
	nlive = read_count(r, 16);
	s->keycap = MIN_KEYCAP;
	while (3 * s->keycap < 4 * nlive)
		s->keycap *= 2;
	s->keys = palloc0(sizeof(KeySlot) * s->keycap);
	for (int64 i = 0; i < nlive; i++)
	{
		uint64		hash = read_u64(r);
		TimestampTz seen = read_i64(r);

		if (hash == 0 || (i > 0 && hash <= prev))
			bad_state(r, "Keys are not in order.");
		prev = hash;
		if (!s->any || seen > s->last || !IS_VALID_TIMESTAMP(seen))
			bad_state(r, "A key was seen at an invalid time.");
		key_put(s->keys, s->keycap, hash, seen);
	}
	s->nkeys = s->nused = nlive;
	if (r->p != r->end)
		bad_state(r, "It has bytes after its end.");
	state_check(r, s);
	return s;
}

/* ------------------------------------------------------------------------
 * Type I/O
 * ------------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(risk_velocity_state_in);
Datum
risk_velocity_state_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);
	size_t		len = strlen(text);
	char	   *bytes;
	Reader		r = {NULL, NULL, false};

	if (len < 2 || text[0] != '\\' || text[1] != 'x')
		bad_state(&r, "A velocity state is written \\x followed by hexadecimal digits.");
	bytes = palloc((len - 2) / 2 + 1);
	r.p = bytes;
	r.end = bytes + hex_decode(text + 2, len - 2, bytes);
	PG_RETURN_POINTER(state_store(state_receive(&r)));
}

/* A stored state, in the form it is sent in: keys over its cap dropped. */
static VState *
state_arg_canonical(FunctionCallInfo fcinfo)
{
	VState	   *s = state_arg(fcinfo, 0, true);

	if (s->max_distinct > 0)
		keys_trim(s);
	return s;
}

PG_FUNCTION_INFO_V1(risk_velocity_state_out);
Datum
risk_velocity_state_out(PG_FUNCTION_ARGS)
{
	VState	   *s = state_arg_canonical(fcinfo);
	StringInfoData buf;
	char	   *text;

	initStringInfo(&buf);
	state_send(s, &buf);
	text = palloc(2 * buf.len + 3);
	text[0] = '\\';
	text[1] = 'x';
	text[2 + hex_encode(buf.data, buf.len, text + 2)] = '\0';
	PG_RETURN_CSTRING(text);
}

PG_FUNCTION_INFO_V1(risk_velocity_state_recv);
Datum
risk_velocity_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	Reader		r = {NULL, NULL, true};

	r.p = buf->data + buf->cursor;
	r.end = buf->data + buf->len;
	buf->cursor = buf->len;
	PG_RETURN_POINTER(state_store(state_receive(&r)));
}

PG_FUNCTION_INFO_V1(risk_velocity_state_send);
Datum
risk_velocity_state_send(PG_FUNCTION_ARGS)
{
	VState	   *s = state_arg_canonical(fcinfo);
	StringInfoData buf;

	pq_begintypsend(&buf);
	state_send(s, &buf);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ------------------------------------------------------------------------
 * SQL functions
 * ------------------------------------------------------------------------
 */

/* The cap on distinct counts in argument argno (NULL: none). */
int32
velocity_max_distinct_arg(FunctionCallInfo fcinfo, int argno, const char *fn)
{
	int32		k;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return 0;
	k = PG_GETARG_INT32(argno);
	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s max_distinct must be at least 1, not %d", fn, k),
				 errhint("Pass NULL for exact distinct counts without a cap.")));
	return k;
}

/* risk.velocity_init(windows interval[], max_distinct integer): an empty state. */
PG_FUNCTION_INFO_V1(risk_velocity_state_new);
Datum
risk_velocity_state_new(PG_FUNCTION_ARGS)
{
	VState		s;
	int64		widths[VELOCITY_MAX_WINDOWS];
	int			n;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("risk.velocity_init windows must not be NULL")));
	n = velocity_parse_windows("risk.velocity_init", PG_GETARG_ARRAYTYPE_P(0), widths);
	memset(&s, 0, sizeof(s));
	set_windows(&s, n, widths);
	s.max_distinct = velocity_max_distinct_arg(fcinfo, 1, "risk.velocity_init");
	PG_RETURN_POINTER(state_store(&s));
}

/*
 * What a call site keeps between rows (fn_extra): the key type's hash
 * function and, for the aggregate, the windows argument last parsed.
 */
typedef struct CallCache
{
	VelocityKeyHash key;
	VelocityWindowsArg windows;
} CallCache;

static CallCache *
call_cache(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CallCache));
	return fcinfo->flinfo->fn_extra;
}

/* The 64-bit hash of a key argument, with the type's extended hash (kept in kh). */
static uint64
key_hash(FunctionCallInfo fcinfo, int argno, const char *fn, VelocityKeyHash *kh)
{
	Oid			collation;
	Oid			type = risk_agg_input_type(fcinfo, argno, fn, &collation);
	uint64		h;

	if (kh->type != type)
	{
		TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_HASH_EXTENDED_PROC_FINFO);

		if (!OidIsValid(tc->hash_extended_proc_finfo.fn_oid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("%s cannot count distinct values of type %s", fn, format_type_be(type)),
					 errdetail("The type has no default hash operator class with a 64-bit hash."),
					 errhint("Cast the values to text, or to another type that can be hashed.")));
		fmgr_info_copy(&kh->proc, &tc->hash_extended_proc_finfo, fcinfo->flinfo->fn_mcxt);
		kh->type = type;
	}
	h = DatumGetUInt64(FunctionCall2Coll(&kh->proc, collation,
										 PG_GETARG_DATUM(argno), UInt64GetDatum(0)));
	return h == 0 ? 1 : h;		/* 0 marks an empty slot */
}

/*
 * The window widths of argument argno (into wa->widths; their number
 * returned), parsed once for a run of rows that pass the same array.
 */
int
velocity_windows_arg(FunctionCallInfo fcinfo, int argno, const char *fn, VelocityWindowsArg *wa)
{
	ArrayType  *arr;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s windows must not be NULL", fn)));
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (wa->copy == NULL || VARSIZE(wa->copy) != VARSIZE(arr) ||
		memcmp(wa->copy, arr, VARSIZE(arr)) != 0)
	{
		wa->n = velocity_parse_windows(fn, arr, wa->widths);
		if (wa->copy)
			pfree(wa->copy);
		wa->copy = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARSIZE(arr));
		memcpy(wa->copy, arr, VARSIZE(arr));
	}
	return wa->n;
}

/* Whether a state has these windows and this cap. */
static bool
same_windows(const VState *s, int n, const int64 *widths, int32 max_distinct)
{
	return s->nwindows == n && s->max_distinct == max_distinct &&
		memcmp(s->width, widths, sizeof(int64) * n) == 0;
}

/* Every row of an aggregate group and every partial state: the same windows and cap. */
static void
check_same_windows(const VState *s, int n, const int64 *widths, int32 max_distinct)
{
	if (!same_windows(s, n, widths, max_distinct))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("risk.velocity_state_agg needs the same windows and max_distinct on every row")));
}

static TimestampTz
event_time(FunctionCallInfo fcinfo, int argno, const char *fn)
{
	TimestampTz t = PG_GETARG_TIMESTAMPTZ(argno);

	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s cannot use an infinite time", fn)));
	return t;
}

/*
 * The event of arguments at, at + 1 (amount) and key (none when key < 0 or
 * past the last argument); false for a NULL time (no event).
 */
bool
velocity_event_args(FunctionCallInfo fcinfo, int at, int key, const char *fn,
					VelocityKeyHash *kh, VelocityEvent *ev)
{
	if (PG_ARGISNULL(at))
		return false;
	ev->has_amount = !PG_ARGISNULL(at + 1);
	ev->amount = ev->has_amount ? PG_GETARG_FLOAT8(at + 1) : 0;
	if (isnan(ev->amount) || isinf(ev->amount))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s cannot sum infinite or NaN amounts", fn)));
	ev->at = event_time(fcinfo, at, fn);
	ev->has_key = key >= 0 && PG_NARGS() > key && !PG_ARGISNULL(key);
	ev->hash = ev->has_key ? key_hash(fcinfo, key, fn, kh) : 0;
	return true;
}

/* The event of arguments at, amount[, key] of a call keeping a CallCache. */
static bool
event_args(FunctionCallInfo fcinfo, int at, const char *fn, VelocityEvent *ev)
{
	return velocity_event_args(fcinfo, at, at + 2, fn, &call_cache(fcinfo)->key, ev);
}

/*
 * A stored state (0: none yet, an empty one of these windows and cap) with
 * one more event; 0 when the stored state has other windows or another cap.
 */
Datum
velocity_state_added(Datum stored, int nwindows, const int64 *widths, int32 max_distinct,
					 const VelocityEvent *ev)
{
	VState	   *s = palloc0(sizeof(VState));

	if (stored == (Datum) 0)
	{
		set_windows(s, nwindows, widths);
		s->max_distinct = max_distinct;
	}
	else
	{
		state_load((StateDisk *) PG_DETOAST_DATUM(stored), s, true);
		if (!same_windows(s, nwindows, widths, max_distinct))
			return (Datum) 0;
	}
	state_add(s, ev->at, ev->has_amount, ev->amount, ev->has_key, ev->hash);
	return PointerGetDatum(state_store(s));
}

/* risk.velocity_add(state, at, amount[, key]): the state with one more event. */
PG_FUNCTION_INFO_V1(risk_velocity_add);
Datum
risk_velocity_add(PG_FUNCTION_ARGS)
{
	VState	   *s;
	VelocityEvent ev;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("risk.velocity_add needs a state, not NULL"),
				 errhint("Start from risk.velocity_init(windows), e.g. coalesce(state, risk.velocity_init('{1 hour,1 day}')).")));
	if (PG_ARGISNULL(1))
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));	/* no time: not an event */
	s = state_arg(fcinfo, 0, true);
	if (event_args(fcinfo, 1, "risk.velocity_add", &ev))
		state_add(s, ev.at, ev.has_amount, ev.amount, ev.has_key, ev.hash);
	PG_RETURN_POINTER(state_store(s));
}

/* risk.velocity_read(state, at, include_current): the features at a time. */
PG_FUNCTION_INFO_V1(risk_velocity_read);
Datum
risk_velocity_read(PG_FUNCTION_ARGS)
{
	VState	   *s = state_arg(fcinfo, 0, false);
	TimestampTz t = event_time(fcinfo, 1, "risk.velocity_read");
	double	   *values = palloc(sizeof(double) * 3 * s->nwindows);
	Datum	   *out = palloc(sizeof(Datum) * 3 * s->nwindows);

	state_read(s, t, PG_GETARG_BOOL(2), values);
	for (int i = 0; i < 3 * s->nwindows; i++)
		out[i] = Float8GetDatum(values[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, 3 * s->nwindows, FLOAT8OID, 8,
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* ------------------------------------------------------------------------
 * risk.velocity_state_agg(at, amount, key, windows): the state of history
 * ------------------------------------------------------------------------
 */

/* risk.aggregate_state's kind: written and read below */
static const AggStateKind velocity_kind;

PG_FUNCTION_INFO_V1(risk_velocity_state_agg_step);
Datum
risk_velocity_state_agg_step(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk.velocity_state_agg");
	MemoryContext old;
	VState	   *s = agg_state_arg(fcinfo, 0, &velocity_kind, aggcontext);
	VelocityEvent ev;
	bool		is_event = event_args(fcinfo, 1, "risk.velocity_state_agg", &ev);
	VelocityWindowsArg *wa = &call_cache(fcinfo)->windows;
	int			n = velocity_windows_arg(fcinfo, 4, "risk.velocity_state_agg", wa);
	const int64 *widths = wa->widths;
	int32		max_distinct = velocity_max_distinct_arg(fcinfo, 5, "risk.velocity_state_agg");

	/* the key hashed above, in the call's memory; the state lives in the aggregate's */
	old = MemoryContextSwitchTo(aggcontext);
	if (s == NULL)
	{
		s = palloc0(sizeof(VState));
		set_windows(s, n, widths);
		s->max_distinct = max_distinct;
	}
	else
		check_same_windows(s, n, widths, max_distinct);
	if (is_event)
		state_add(s, ev.at, ev.has_amount, ev.amount, ev.has_key, ev.hash);
	MemoryContextSwitchTo(old);
	return agg_state_result(fcinfo, s, &velocity_kind, aggcontext);
}

PG_FUNCTION_INFO_V1(risk_velocity_state_agg_final);
Datum
risk_velocity_state_agg_final(PG_FUNCTION_ARGS)
{
	VState	   *s = agg_state_arg(fcinfo, 0, &velocity_kind, NULL);

	if (s == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(state_store(s));
}

/*
 * b merged into a (same windows): tiles add up, a key's latest time is the
 * later of the two, and the head is the events at the later latest time.
 */
static void
state_merge(VState *a, const VState *b)
{
	TimestampTz last;
	int64		nhead = 0;
	HeadKey    *head = NULL;

	check_same_windows(a, b->nwindows, b->width, b->max_distinct);
	if (!b->any)
		return;
	last = a->any ? Max(a->last, b->last) : b->last;

	/*
	 * The head keys at `last`: those of either side's head there, once each,
	 * with the later of their times before it on either side.
	 */
	head = palloc(sizeof(HeadKey) * Max(1, a->nhead + b->nhead));
	for (int side = 0; side < 2; side++)
	{
		const VState *x = side ? b : a;

		if (x->any && x->last == last && x->nhead > 0)
		{
			memcpy(head + nhead, x->head, sizeof(HeadKey) * x->nhead);
			nhead += x->nhead;
		}
	}
	qsort(head, nhead, sizeof(HeadKey), cmp_head);
	{
		int64		n = 0;

		for (int64 h = 0; h < nhead; h++)
		{
			if (n > 0 && head[n - 1].hash == head[h].hash)
			{
				if (head[n - 1].before == NO_TIME || head[n - 1].before < head[h].before)
					head[n - 1].before = head[h].before;
				continue;
			}
			head[n++] = head[h];
		}
		nhead = n;
	}
	for (int64 h = 0; h < nhead; h++)
		for (int side = 0; side < 2; side++)
		{
			const VState *x = side ? b : a;
			KeySlot    *k = x->any ? key_find(x, head[h].hash) : NULL;

			/* seen on this side only before `last`: that is its time before */
			if (k && k->seen < last && (head[h].before == NO_TIME || head[h].before < k->seen))
				head[h].before = k->seen;
		}
	if (!a->any || a->last < last)
	{
		a->head_count = 0;
		a->head_sum.hi = a->head_sum.lo = 0;
	}
	if (b->last == last)
	{
		a->head_count += b->head_count;
		dd_add(&a->head_sum, b->head_sum.hi);
		dd_add(&a->head_sum, b->head_sum.lo);
		check_sum(&a->head_sum);
	}
	a->any = true;
	a->last = last;
	if (a->head)
		pfree(a->head);
	a->head = head;
	a->nhead = a->headcap = nhead;
	trim_tiles(a);

	/* counts and sums */
	for (int l = 0; l < a->nlevels; l++)
		for (int64 j = 0; j < b->lv[l].ntiles; j++)
		{
			const Tile *bt = &b->lv[l].tiles[j];
			Tile	   *t = tile_get(a, &a->lv[l], bt->idx, true);

			if (t == NULL)
				continue;
			t->count += bt->count;
			dd_add(&t->sum, bt->sum.hi);
			dd_add(&t->sum, bt->sum.lo);
			check_sum(&t->sum);
		}

	/* keys: the later time of each, and the distinct counts recounted */
	for (int64 i = 0; i < b->keycap; i++)
		if (b->keys[i].hash != 0 && b->keys[i].seen != NO_TIME)
		{
			KeySlot    *k = key_get(a, b->keys[i].hash);

			if (k->seen == NO_TIME || k->seen < b->keys[i].seen)
				k->seen = b->keys[i].seen;
		}
	for (int l = 0; l < a->nlevels; l++)
		for (int64 j = 0; j < a->lv[l].ntiles; j++)
			a->lv[l].tiles[j].distinct = 0;
	for (int64 i = 0; i < a->keycap; i++)
		if (a->keys[i].hash != 0)
			key_moves(a, NO_TIME, a->keys[i].seen);
	keys_maybe_trim(a);
}

PG_FUNCTION_INFO_V1(risk_velocity_state_agg_combine);
Datum
risk_velocity_state_agg_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk.velocity_state_agg");
	MemoryContext old;
	VState	   *a = agg_state_arg(fcinfo, 0, &velocity_kind, aggcontext);
	VState	   *b = agg_state_arg(fcinfo, 1, &velocity_kind, NULL);

	if (b == NULL)
		return agg_state_result(fcinfo, a, &velocity_kind, aggcontext);
	old = MemoryContextSwitchTo(aggcontext);
	if (a == NULL)
	{
		a = palloc0(sizeof(VState));
		set_windows(a, b->nwindows, b->width);
		a->max_distinct = b->max_distinct;
	}
	state_merge(a, b);
	MemoryContextSwitchTo(old);
	return agg_state_result(fcinfo, a, &velocity_kind, aggcontext);
}

/*
 * The kind's bytes: the state's portable form (risk.velocity_state's
 * send), its keys trimmed to the cap as the stored form has them; read
 * back, every byte checked.
 */
static void
velocity_write(const void *state, StringInfo buf)
{
	keys_trim((VState *) state);
	state_send(state, buf);
}

static void *
velocity_read(StringInfo buf, MemoryContext cxt)
{
	Reader		r = {buf->data + buf->cursor, buf->data + buf->len, true};
	MemoryContext old = MemoryContextSwitchTo(cxt);
	VState	   *s = state_receive(&r);

	MemoryContextSwitchTo(old);
	buf->cursor = buf->len;
	return s;
}

static const AggStateKind velocity_kind = {AGG_STATE_VELOCITY, "risk.velocity_state_agg", velocity_write,
										   velocity_read};

/* the anyelement aggregate's state is internal: its bytes for parallel query */
PG_FUNCTION_INFO_V1(risk_velocity_state_agg_serialize);
Datum
risk_velocity_state_agg_serialize(PG_FUNCTION_ARGS)
{
	risk_aggcontext(fcinfo, "risk.velocity_state_agg");
	PG_RETURN_POINTER(state_store((VState *) PG_GETARG_POINTER(0)));
}

PG_FUNCTION_INFO_V1(risk_velocity_state_agg_deserialize);
Datum
risk_velocity_state_agg_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk.velocity_state_agg");
	MemoryContext old = MemoryContextSwitchTo(aggcontext);
	VState	   *s = state_arg(fcinfo, 0, true);

	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(s);
}

/* ------------------------------------------------------------------------
 * The core, for feature sets (feature_state.c): states as C values
 * ------------------------------------------------------------------------
 */

VelocityState *
velocity_state_create(int nwindows, const int64 *widths, int32 max_distinct)
{
	VState	   *s = palloc0(sizeof(VState));

	set_windows(s, nwindows, widths);
	s->max_distinct = max_distinct;
	return s;
}

VelocityState *
velocity_state_load(const void *disk)
{
	VState	   *s = palloc(sizeof(VState));

	state_load((StateDisk *) disk, s, true);
	return s;
}

bytea *
velocity_state_store(VelocityState *s)
{
	return (bytea *) state_store(s);
}

bool
velocity_state_has_windows(const VelocityState *s, int nwindows, const int64 *widths, int32 max_distinct)
{
	return same_windows(s, nwindows, widths, max_distinct);
}

void
velocity_state_add(VelocityState *s, const VelocityEvent *ev)
{
	state_add(s, ev->at, ev->has_amount, ev->amount, ev->has_key, ev->hash);
}

void
velocity_state_trim(VelocityState *s)
{
	keys_trim(s);
}

void
velocity_state_read(const VelocityState *s, TimestampTz t, bool include_current, double *out)
{
	state_read(s, t, include_current, out);
}

/*
 * Whether window i holds a key, read at t as velocity_state_read reads it:
 * seen where the window starts or later, among the events a read with
 * include_current counts (without it, the head's own sightings are left
 * out).
 */
bool
velocity_state_holds_key(const VelocityState *s, uint64 hash, int i, TimestampTz t, bool include_current)
{
	const KeySlot *k = key_find(s, hash);
	TimestampTz seen;
	int64		hop = s->hop[i];

	if (k == NULL || k->seen == NO_TIME || !s->any)
		return false;
	if (t < s->last)
		t = s->last;
	seen = k->seen;
	if (!include_current && t == s->last && seen == s->last)
	{
		const HeadKey *h = head_find(s, hash);

		seen = h ? h->before : NO_TIME;
		if (seen == NO_TIME)
			return false;
	}
	return velocity_floor_div(seen, hop) >= velocity_floor_div(t - s->width[i], hop);
}

void
velocity_state_send(const VelocityState *s, StringInfo buf)
{
	state_send(s, buf);
}

VelocityState *
velocity_state_receive(const char *bytes, int len, bool binary)
{
	Reader		r;

	r.p = bytes;
	r.end = bytes + len;
	r.binary = binary;
	return state_receive(&r);
}

/*-------------------------------------------------------------------------
 * velocity.h
 *	  What the velocity aggregates and risk.velocity share: hashable value
 *	  types, the reading of serialized states, window widths and tiles.
 *-------------------------------------------------------------------------
 */
#ifndef RISK_VELOCITY_H
#define RISK_VELOCITY_H

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/timestamp.h"
#include "utils/builtins.h"
#include "utils/typcache.h"
#include "utils/relcache.h"

#include "aggregates.h"

/*
 * The type cache entry of a type whose values we hash and compare (default
 * hash opclass); errors, as "<fn> cannot <verb> values of type ...", when
 * it has none.
 */
static inline TypeCacheEntry *
velocity_hashable_type(Oid type, const char *fn, const char *verb)
{
	TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_HASH_PROC_FINFO |
										   TYPECACHE_EQ_OPR_FINFO);

	if (!OidIsValid(tc->hash_proc_finfo.fn_oid) || !OidIsValid(tc->eq_opr_finfo.fn_oid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("%s cannot %s values of type %s", fn, verb, format_type_be(type)),
				 errdetail("The type has no default hash operator class."),
				 errhint("Cast the values to text, or to another type that can be hashed.")));
	return tc;
}

/* Windows: velocity_windows.c */
#define VELOCITY_MAX_WINDOWS 16

/* Reads an interval[] of 1 to 16 window widths (microseconds); errors name fn. */
extern int	velocity_parse_windows(const char *fn, ArrayType *arr, int64 *widths);
/* One window's width (microseconds); errors name fn. */
extern int64 velocity_window_width(const char *fn, Interval *iv);
/* A width velocity_parse_windows could have returned. */
extern bool velocity_width_ok(int64 width);
/* The tile width (hop) of a tiled window of this width. */
extern int64 velocity_tile_hop(int64 width);

/* floor(a / b) for b > 0, also for a < 0 (times before 2000). */
static inline int64
velocity_floor_div(int64 a, int64 b)
{
	int64		q = a / b;

	if (a % b < 0)
		q--;
	return q;
}

/* Where a tiled window of this width and hop starts, for an event at t. */
static inline int64
velocity_tiled_start(int64 t, int64 width, int64 hop)
{
	return velocity_floor_div(t - width, hop) * hop;
}

/* Online states: velocity_state.c, for the store (velocity_store.c) */

/* A key type's 64-bit hash function, looked up once per call site. */
typedef struct VelocityKeyHash
{
	Oid			type;
	FmgrInfo	proc;
} VelocityKeyHash;

/* One event: a time, an amount (or none), a key's hash (or none). */
typedef struct VelocityEvent
{
	TimestampTz at;
	bool		has_amount;
	double		amount;
	bool		has_key;
	uint64		hash;
} VelocityEvent;

/* A call site's windows argument, parsed once for a run of rows passing the same array. */
typedef struct VelocityWindowsArg
{
	ArrayType  *copy;			/* the array last parsed, in fn_mcxt */
	int			n;
	int64		widths[VELOCITY_MAX_WINDOWS];
} VelocityWindowsArg;

/* The number of windows of argument argno, their widths in wa->widths; errors name fn. */
extern int	velocity_windows_arg(FunctionCallInfo fcinfo, int argno, const char *fn, VelocityWindowsArg *wa);
/*
 * The event of arguments at, at + 1 (amount) and key (none when key < 0);
 * false for a NULL time, which is no event.  Errors name fn.
 */
extern bool velocity_event_args(FunctionCallInfo fcinfo, int at, int key, const char *fn,
								VelocityKeyHash *kh, VelocityEvent *ev);
/* The cap on distinct counts in argument argno: 0 for NULL (none), else at least 1. */
extern int32 velocity_max_distinct_arg(FunctionCallInfo fcinfo, int argno, const char *fn);
/*
 * A stored risk.velocity_state (0: none yet, an empty one of these windows
 * and cap) with one more event; 0 when it has other windows or another cap.
 */
extern Datum velocity_state_added(Datum stored, int nwindows, const int64 *widths,
								  int32 max_distinct, const VelocityEvent *ev);

/*
 * The state as a C value (velocity_state.c), for feature sets: made empty,
 * loaded from its stored bytes (8-byte aligned), events added, keys trimmed
 * to the cap (as storing does), read, stored, sent and received in the
 * portable form (checked in full: 22P03 when binary, else 22P02).
 */
typedef struct VState VelocityState;

extern VelocityState *velocity_state_create(int nwindows, const int64 *widths, int32 max_distinct);
extern VelocityState *velocity_state_load(const void *disk);
extern bytea *velocity_state_store(VelocityState *s);
extern bool velocity_state_has_windows(const VelocityState *s, int nwindows, const int64 *widths,
									   int32 max_distinct);
extern void velocity_state_add(VelocityState *s, const VelocityEvent *ev);
extern void velocity_state_trim(VelocityState *s);
/* counts, sums, distinct counts of each window: out[0 .. 3 * nwindows) */
extern void velocity_state_read(const VelocityState *s, TimestampTz t, bool include_current, double *out);
extern bool velocity_state_holds_key(const VelocityState *s, uint64 hash, int window, TimestampTz t,
									 bool include_current);
extern void velocity_state_send(const VelocityState *s, StringInfo buf);
extern VelocityState *velocity_state_receive(const char *bytes, int len, bool binary);

/*
 * The store (velocity_store.c): registers the invalidation of its per-backend cache.
 */
extern void velocity_store_relation_changed(Oid relid);

/*
 * Read-modify-write of one entity's row in a store (velocity_store.c):
 * the row is found (waited for when another transaction changes it),
 * `change` gets its state (0 when the entity is new) and returns the new
 * one, written through the executor.  `change` may be called again when
 * another transaction wrote the row first.  Privileges are the caller's
 * to check.  Returns the state written.
 */
typedef Datum (*VelocityStoreChange) (Datum stored, void *arg);

/* Errors unless the current role may read, insert into and update the store. */
extern void velocity_store_privileges(Oid relid, const char *fn);
extern Datum velocity_store_apply(Relation rel, Oid state_type, Datum entity, const char *fn,
								  VelocityStoreChange change, void *arg);

#endif							/* RISK_VELOCITY_H */

/*-------------------------------------------------------------------------
 * aggregates.h
 *	  What every aggregate of the extension shares: the aggregate's memory
 *	  context, and double-double sums.
 *-------------------------------------------------------------------------
 */
#ifndef RISK_AGGREGATES_H
#define RISK_AGGREGATES_H

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"

/*
 * The aggregate's memory context.  The support functions of an aggregate
 * can be called directly (those of risk.score_summary take no internal
 * argument): an error then.
 */
static inline MemoryContext
risk_aggcontext(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s is a support function of an aggregate and cannot be called directly", fn),
				 errhint("Call the aggregate it belongs to.")));
	return aggcontext;
}

/*
 * A state's bytes that cannot be (a state read from risk.aggregate_state's
 * text can come from anyone): an error, never a guess.
 */
static inline void
risk_state_corrupt(const char *what, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid state of %s", what),
			 errdetail("%s", detail)));
}

/* The version byte at the start of a state's bytes: another version is refused. */
static inline void
risk_state_version(StringInfo buf, int version, const char *what)
{
	if (buf->cursor >= buf->len)
		risk_state_corrupt(what, "It is empty.");
	if (pq_getmsgbyte(buf) != version)
		risk_state_corrupt(what, psprintf("Its format version is %d; this build reads version %d.",
										  (uint8) buf->data[buf->cursor - 1], version));
}

/* Fail unless n more bytes remain. */
static inline void
risk_state_need(StringInfo buf, int64 n, const char *what)
{
	if (n < 0 || n > buf->len - buf->cursor)
		risk_state_corrupt(what, "It ends early.");
}

/*
 * A reader over a serialized state (a deserialize function's bytea), with
 * the pq_getmsg functions; a state of another version is refused.
 */
static inline void
risk_state_reader(StringInfo buf, bytea *bytes, int version, const char *what)
{
	buf->data = VARDATA_ANY(bytes);
	buf->len = buf->maxlen = VARSIZE_ANY_EXHDR(bytes);
	buf->cursor = 0;
	risk_state_version(buf, version, what);
}

/* A reader over a deserialize function's bytea. */
static inline void
risk_state_bytes(StringInfo buf, bytea *bytes)
{
	buf->data = VARDATA_ANY(bytes);
	buf->len = buf->maxlen = VARSIZE_ANY_EXHDR(bytes);
	buf->cursor = 0;
}

/*
 * A combine function's answer when its second state is NULL: the first,
 * or NULL when both are (a parallel worker that saw no row sends NULL, and
 * a pointer to nothing must not pass for a state).
 */
static inline Datum
risk_combine_first(FunctionCallInfo fcinfo, void *first)
{
	if (first == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(first);
}

/*
 * A double-double sum: an unevaluated pair hi + lo (Knuth's TwoSum), so
 * that subtracting a value back out undoes adding it to about 1e-32.
 */
typedef struct DD
{
	double		hi;
	double		lo;
} DD;

static inline void
dd_add(DD *s, double x)
{
	double		t = s->hi + x;
	double		b = t - s->hi;
	double		err = (s->hi - (t - b)) + (x - b);

	s->lo += err;
	s->hi = t + s->lo;
	s->lo -= s->hi - t;
}

#endif

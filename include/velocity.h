/*-------------------------------------------------------------------------
 * velocity.h
 *	  What the velocity aggregates share.
 *-------------------------------------------------------------------------
 */
#ifndef RISK_VELOCITY_H
#define RISK_VELOCITY_H

#include "fmgr.h"

/* The aggregate's memory context; "can't happen" outside an aggregate. */
static inline MemoryContext
velocity_aggcontext(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "%s called in non-aggregate context", fn);
	return aggcontext;
}

#endif							/* RISK_VELOCITY_H */

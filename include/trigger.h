/*-------------------------------------------------------------------------
 * trigger.h
 *	  The scoring trigger's per-backend set-up.
 *-------------------------------------------------------------------------
 */
#ifndef RISK_TRIGGER_H
#define RISK_TRIGGER_H

/* Registers the invalidation of the cached decision thresholds. */
extern void trigger_init(void);

#endif

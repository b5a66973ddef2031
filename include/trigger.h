/*-------------------------------------------------------------------------
 * trigger.h
 *	  The scoring trigger's per-backend set-up.
 *-------------------------------------------------------------------------
 */
#ifndef RISK_TRIGGER_H
#define RISK_TRIGGER_H

/* A relation changed (the relcache callback): the decision thresholds perhaps. */
extern void trigger_relation_changed(Oid relid);

#endif

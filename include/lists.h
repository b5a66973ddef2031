/*-------------------------------------------------------------------------
 * lists.h
 *	  Named lists (risk.lists, risk.list_items) and this backend's copy of
 *	  them, which risk.in_list reads.
 *-------------------------------------------------------------------------
 */
#ifndef RISK_LISTS_H
#define RISK_LISTS_H

/* A relation changed (the relcache callback): risk.lists perhaps. */
extern void lists_relation_changed(Oid relid);

/*
 * Loads the list of that name now when it is not current (rules do before
 * they run, so that risk.in_list only looks up); false when there is none.
 */
extern bool lists_preload(const char *name);

#endif							/* RISK_LISTS_H */

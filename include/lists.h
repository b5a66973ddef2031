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

/*
 * Set while contained rules run (rules_eval.c): risk.in_list may then only
 * look up lists already loaded; one that would need reading raises an
 * internal error, which no rule's error handling takes for the rule's.
 */
extern bool lists_lookup_only;

#endif							/* RISK_LISTS_H */

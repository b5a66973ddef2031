/*-------------------------------------------------------------------------
 * model_cache.h
 *	  Per-backend cache of compiled models.
 *-------------------------------------------------------------------------
 */
#ifndef RISK_MODEL_CACHE_H
#define RISK_MODEL_CACHE_H

#include "registry.h"
#include "utils/timestamp.h"

typedef struct CachedModel
{
	char		name[MODEL_NAME_MAX + 1];
	int32		version;
	RegistryStamp stamp;		/* the registry row it was compiled from */
	Forest	   *forest;
	int			num_features;
	char	  **feature_names;	/* num_features names */
	XgbBooster *booster;		/* libxgboost's copy, made on first use */
	MemoryContext mcxt;			/* holds all of the above */
	TimestampTz compiled_at;
	int64		uses;			/* queries that have pinned it */
	uint64		last_used;		/* when it was last pinned, for LRU eviction */
	Size		bytes;			/* its memory, as compiled */
	int			pins;			/* callers using it now */
	bool		retired;		/* stale: free when the last pin goes */
	bool		by_reference;	/* pinned by name@alias or name@version at least once */
} CachedModel;

/*
 * Bumped whenever the registry may have changed (a commit by anyone, our own
 * next command, a rollback).  Holders of a pin compare it per call.
 */
extern uint64 model_cache_generation;

/* risk.model_cache_size, in kB */
extern int	model_cache_size_kb;

/* A relation changed (the relcache callback): the registry perhaps. */
extern void model_cache_relation_changed(Oid relid);

/*
 * The version a model reference names (name: the current version; name@3;
 * name@alias, see model_alias.h), compiled; pinned until model_cache_unpin.
 */
extern CachedModel *model_cache_pin(const char *ref);
extern void model_cache_unpin(CachedModel *model);
/*
 * Unpins *holder (and sets it to NULL) when mcxt is reset or deleted: for
 * a caller that keeps its pin across calls, in fn_extra.  cb lives as long
 * as mcxt.
 */
extern void model_cache_unpin_at_reset(MemoryContext mcxt, MemoryContextCallback *cb, CachedModel **holder);

/* libxgboost's booster for a cached model (the reference path). */
extern XgbBooster *model_cache_booster(CachedModel *model);

#endif							/* RISK_MODEL_CACHE_H */

/*-------------------------------------------------------------------------
 * risk.c
 *	  Module entry point: library set-up done once per backend, the
 *	  settings (risk.*), and the one relcache-invalidation callback that
 *	  tells every cache of the extension (PostgreSQL allows ten such
 *	  callbacks per backend, for all extensions together).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "utils/guc.h"
#include "utils/inval.h"

#include "catalog.h"
#include "decision.h"
#include "feature_set.h"
#include "lists.h"
#include "model_cache.h"
#include "rules.h"
#include "train.h"
#include "velocity.h"
#include "xgb_bridge.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* A relation changed (InvalidOid: maybe any): each cache forgets what it read of it. */
static void
relcache_changed(Datum arg, Oid relid)
{
	catalog_relation_changed(relid);
	model_cache_relation_changed(relid);
	decision_relation_changed(relid);
	rules_relation_changed(relid);
	lists_relation_changed(relid);
	velocity_store_relation_changed(relid);
	feature_set_relation_changed(relid);
}

void
_PG_init(void)
{
	DefineCustomIntVariable("risk.model_cache_size",
							"Memory this session's compiled models may keep.",
							"Least recently used models that no running query holds are freed beyond it; "
							"a model is compiled again at its next use.",
							&model_cache_size_kb,
							128 * 1024, 0, INT_MAX / 1024,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("risk.train_memory_limit",
							"Memory one risk.train may use: the rows it reads and what libxgboost allocates.",
							"risk.train refuses rows or a training beyond it before it starts, and the "
							"training process cannot map more.",
							&train_memory_limit_kb,
							2 * 1024 * 1024, 64 * 1024, INT_MAX,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("risk.train_max_threads",
							"Threads one risk.train may run libxgboost with (its nthread).",
							"Also the default nthread: pass nthread in params to reproduce a model "
							"on a server with another setting.",
							&train_max_threads,
							4, 1, 1024,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("risk");
	xgb_init();
	CacheRegisterRelcacheCallback(relcache_changed, (Datum) 0);
}

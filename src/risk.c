/*-------------------------------------------------------------------------
 * risk.c
 *	  Module entry point: library set-up done once per backend.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "model_cache.h"
#include "trigger.h"
#include "velocity.h"
#include "xgb_bridge.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	xgb_init();
	model_cache_init();
	trigger_init();
	velocity_store_init();
	MarkGUCPrefixReserved("risk");
}

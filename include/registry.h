/*-------------------------------------------------------------------------
 * registry.h
 *	  The model registry: the table risk.model_registry and what reads it.
 *-------------------------------------------------------------------------
 */
#ifndef RISK_REGISTRY_H
#define RISK_REGISTRY_H

#include "storage/itemptr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/snapshot.h"

#include "forest.h"
#include "xgb_bridge.h"

#define REGISTRY_SCHEMA		"risk"
#define REGISTRY_TABLE		"model_registry"
#define MODEL_NAME_MAX		63

/* A model read from its bytes and checked, ready to score. */
typedef struct CompiledModel
{
	ModelFormat format;
	ModelSpec  *spec;
	Forest	   *forest;
} CompiledModel;

/* Bytes in any XGBoost format -> checked, compiled model (CurrentMemoryContext). */
extern CompiledModel *registry_compile(const char *bytes, size_t len);

/*
 * Checks the bytes end to end (libxgboost reads them in a child, we compile
 * them) and stores them as the next version of name; returns the version.
 * feature_names and metadata may be NULL.  SPI must not be connected.
 */
extern int32 registry_store(const char *name, const char *bytes, size_t len,
							ArrayType *feature_names, Jsonb *metadata);

/* Checks a model name given by a user; returns it as a C string. */
extern char *registry_check_name(text *name);

/*
 * Which stored row a version was read from: a new import, even one that
 * reuses a dropped version's number, is a new row with another stamp.
 */
typedef struct RegistryStamp
{
	TransactionId xmin;
	ItemPointerData ctid;
} RegistryStamp;

static inline bool
registry_same_stamp(const RegistryStamp *a, const RegistryStamp *b)
{
	return a->xmin == b->xmin && ItemPointerEquals((ItemPointer) &a->ctid, (ItemPointer) &b->ctid);
}

/*
 * The snapshot to read the registry and the aliases with: the newest one
 * under READ COMMITTED (it sees this transaction's earlier statements even
 * while the planner evaluates a STABLE function), the statement's own under
 * REPEATABLE READ and in parallel mode (*xact_only: the answer holds for
 * this transaction only).
 */
extern Snapshot registry_snapshot(bool *xact_only);

/*
 * The latest version of a model, or 0 when it has none, and (when stamp is
 * not NULL) its row's stamp.  SPI must be connected; with InvalidSnapshot
 * the query runs as any other would.
 */
extern int32 registry_current_version(const char *name, Snapshot snapshot,
									  RegistryStamp *stamp);

/* Whether a version is stored, and (when stamp is not NULL) its row's stamp.  SPI connected. */
extern bool registry_version_stamp(const char *name, int32 version, Snapshot snapshot,
								   RegistryStamp *stamp);

/*
 * One stored version: its bytes, feature names and stamp, copied into the
 * current memory context.  Errors when it does not exist.  SPI must be
 * connected.
 */
extern bytea *registry_fetch(const char *name, int32 version, Snapshot snapshot,
							 ArrayType **feature_names, RegistryStamp *stamp);

/*
 * Errors unless the current user holds every privilege in `modes` on the
 * registry (relid, or looked up when InvalidOid).  Checked before any work.
 */
extern void registry_require(Oid relid, AclMode modes);

/* Errors that a model, or (when version is not MODEL_ANY_VERSION) one version of it, is not there. */
#define MODEL_ANY_VERSION PG_INT32_MIN
extern void registry_no_such_model(const char *name, int32 version) pg_attribute_noreturn();

#endif							/* RISK_REGISTRY_H */

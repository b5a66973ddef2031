/*-------------------------------------------------------------------------
 * model_alias.h
 *	  Model references and aliases.  Every scoring path names a model by a
 *	  reference: "name" (its current version, the highest), "name@3" (that
 *	  version), or "name@alias" (the version the alias points at now, in
 *	  risk.model_aliases: champion, challenger, anything).
 *-------------------------------------------------------------------------
 */
#ifndef RISK_MODEL_ALIAS_H
#define RISK_MODEL_ALIAS_H

#include "utils/snapshot.h"

#include "registry.h"

#define ALIAS_NAME_MAX		63
#define MODEL_REF_MAX		(MODEL_NAME_MAX + 1 + ALIAS_NAME_MAX)

typedef struct ModelRef
{
	char		name[MODEL_NAME_MAX + 1];
	char		alias[ALIAS_NAME_MAX + 1];	/* "" unless name@alias */
	int32		version;		/* name@3: 3; else 0 */
} ModelRef;

/* Splits and checks a reference (42602 when malformed). */
extern void model_ref_parse(const char *ref, ModelRef *out);

/* A reference given by a user, checked; returned as a C string. */
extern char *model_ref_check(text *ref);

/*
 * The version alias points at for model name, or 0 when it has none; read
 * as the owner of risk.model_aliases with the given snapshot (SPI must be
 * connected).
 */
extern int32 alias_version(const char *name, const char *alias, Snapshot snapshot);

/* The OID of risk.model_aliases, or InvalidOid (for the cache's invalidation). */
extern Oid	alias_relid(void);

#endif							/* RISK_MODEL_ALIAS_H */

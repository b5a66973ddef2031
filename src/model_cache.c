/*-------------------------------------------------------------------------
 * model_cache.c
 *	  Per-backend cache of compiled models, in its own memory context.
 *
 * Two maps: model name -> its current version and the stamp of its row (a
 * cheap answer that must be re-asked after any registry change), and
 * (name, version) -> the compiled forest, with the stamp of the row it was
 * compiled from.  A statement trigger on the registry sends a relcache
 * invalidation for the table; our relcache callback only bumps a
 * generation counter.  Invalidations are transactional, so a commit by
 * another session is seen by our next statement, our own change by our next
 * command, and a rollback changes nothing anyone sees.
 *
 * A compiled model survives registry changes that do not touch it: when its
 * name's current version is asked again, models of another version or of
 * another row (a version number reused after a drop) are evicted, and the
 * one that is still current is reused.
 *
 * Callers pin a model for as long as they hold a pointer to it (score.c
 * pins per query, in fn_extra); a stale model is retired and freed once
 * nobody holds it, never under a running query.
 *
 * The cache is bounded: beyond risk.model_cache_size (the compiled forests'
 * memory; libxgboost's own copies, made only by risk.score_xgboost, are
 * outside it), the least recently pinned models that no query holds are
 * freed, and compiled again when next used.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "catalog.h"
#include "model_alias.h"
#include "model_cache.h"

/* a reference: name, name@version or name@alias */
typedef struct CurrentKey
{
	char		name[MODEL_REF_MAX + 1];
} CurrentKey;

typedef struct CurrentEntry
{
	CurrentKey	key;
	int32		version;
	RegistryStamp stamp;		/* of its row */
	uint64		generation;		/* valid while model_cache_generation is this */
	LocalTransactionId lxid;	/* and, if set, only in this transaction */
} CurrentEntry;

typedef struct CompiledKey
{
	char		name[MODEL_NAME_MAX + 1];
	int32		version;
} CompiledKey;

typedef struct CompiledEntry
{
	CompiledKey key;
	CachedModel *model;
} CompiledEntry;

uint64		model_cache_generation = 1;

static MemoryContext CacheContext = NULL;
static HTAB *current_versions = NULL;
static HTAB *compiled_models = NULL;
static List *retired = NIL;		/* pinned models waiting to be freed */
static uint64 seen_generation = 0;
static Oid	registry_table = InvalidOid;	/* risk.model_registry: its privileges */
static Oid	registry_relid = InvalidOid;
static Oid	aliases_relid = InvalidOid;

int			model_cache_size_kb = 128 * 1024;
static uint64 use_clock = 0;	/* ticks at every pin: models' last_used */

void
model_cache_relation_changed(Oid relid)
{
	/* no catalog access here: just note that we must look again */
	if (relid == InvalidOid || relid == registry_relid || registry_relid == InvalidOid ||
		relid == aliases_relid)
		model_cache_generation++;
}

static void
create_maps(void)
{
	HASHCTL		ctl;

	CacheContext = AllocSetContextCreate(TopMemoryContext, "risk model cache",
										 ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(CurrentKey);
	ctl.entrysize = sizeof(CurrentEntry);
	ctl.hcxt = CacheContext;
	current_versions = hash_create("risk current model versions", 16, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.keysize = sizeof(CompiledKey);
	ctl.entrysize = sizeof(CompiledEntry);
	compiled_models = hash_create("risk compiled models", 16, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static void
free_model(CachedModel *m)
{
	/* the booster's reset callback frees libxgboost's memory too */
	MemoryContextDelete(m->mcxt);
}

/* Frees a compiled model now, or once the last query holding it lets go. */
static void
evict(CompiledEntry *e)
{
	CachedModel *m = e->model;

	hash_search(compiled_models, &e->key, HASH_REMOVE, NULL);
	if (m->pins == 0)
		free_model(m);
	else
	{
		MemoryContext old = MemoryContextSwitchTo(CacheContext);

		m->retired = true;
		retired = lappend(retired, m);
		MemoryContextSwitchTo(old);
	}
}

/*
 * Frees the least recently used models nobody holds until the cache fits
 * risk.model_cache_size; `keep` (just compiled, about to be used) stays,
 * even when it alone is larger.
 */
static void
evict_beyond_limit(CachedModel *keep)
{
	for (;;)
	{
		HASH_SEQ_STATUS seq;
		CompiledEntry *e;
		CompiledEntry *oldest = NULL;
		Size		total = 0;

		hash_seq_init(&seq, compiled_models);
		while ((e = hash_seq_search(&seq)) != NULL)
		{
			total += e->model->bytes;
			if (e->model != keep && e->model->pins == 0 &&
				(oldest == NULL || e->model->last_used < oldest->model->last_used))
				oldest = e;
		}
		if (total <= (Size) model_cache_size_kb * 1024 || oldest == NULL)
			return;
		evict(oldest);
	}
}

/*
 * Evicts the compiled models of `name` that are no longer what their
 * version is: a version number reused by a newer import, or (version 0,
 * the model no longer exists) all of them.  When `current` (the name's
 * current version was looked up), also the other versions that were only
 * ever reached by the bare name: they are superseded.  Versions reached by
 * an alias or a version number (a champion and a challenger) stay, and the
 * least recently used go beyond risk.model_cache_size.
 */
static void
evict_stale(const char *name, int32 version, const RegistryStamp *stamp, bool current)
{
	HASH_SEQ_STATUS seq;
	CompiledEntry *e;

	hash_seq_init(&seq, compiled_models);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (strcmp(e->key.name, name) == 0 &&
			(version == 0 ||
			 (e->key.version == version && !registry_same_stamp(&e->model->stamp, stamp)) ||
			 (current && e->key.version != version && !e->model->by_reference)))
			evict(e);			/* removing the current entry is allowed */
}

/* After a registry change: answers must be asked again; free what nobody holds. */
static void
refresh_after_invalidation(void)
{
	ListCell   *lc;
	List	   *still = NIL;
	MemoryContext old;

	if (seen_generation != model_cache_generation)
	{
		seen_generation = model_cache_generation;
		registry_table = get_relname_relid(REGISTRY_TABLE, get_namespace_oid(REGISTRY_SCHEMA, true));
		/* what is read, and invalidated: this node's copy on Citus (catalog_citus.c) */
		registry_relid = OidIsValid(registry_table) ? catalog_read_relid(REGISTRY_TABLE) : InvalidOid;
		aliases_relid = OidIsValid(alias_relid()) ? catalog_read_relid("model_aliases") : InvalidOid;
	}

	foreach(lc, retired)
	{
		CachedModel *m = (CachedModel *) lfirst(lc);

		if (m->pins == 0)
			free_model(m);
		else
		{
			old = MemoryContextSwitchTo(CacheContext);
			still = lappend(still, m);
			MemoryContextSwitchTo(old);
		}
	}
	list_free(retired);
	retired = still;
}

static char **
names_from_array(ArrayType *arr, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	char	  **names;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	names = palloc(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
		names[i] = nulls[i] ? pstrdup("") : TextDatumGetCString(elems[i]);
	return names;
}

/* Reads one version from the registry and compiles it into its own context. */
static CachedModel *
load_model(const char *name, int32 version, Snapshot snapshot)
{
	MemoryContext mcxt = AllocSetContextCreate(CurrentMemoryContext, "risk model",
											   ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(mcxt);
	CachedModel *m = palloc0(sizeof(CachedModel));
	ArrayType  *names;
	bytea	   *bytes = registry_fetch(name, version, snapshot, &names, &m->stamp);
	CompiledModel *cm;
	int			nnames;

	MemoryContextSetIdentifier(mcxt, m->name);
	strlcpy(m->name, name, sizeof(m->name));
	m->version = version;
	m->mcxt = mcxt;
	m->compiled_at = GetCurrentTimestamp();

	cm = registry_compile(VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes));
	m->forest = cm->forest;
	m->num_features = m->forest->num_features;
	m->feature_names = names_from_array(names, &nnames);
	if (nnames != m->num_features)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("model \"%s\" version %d has %d feature names for %d features",
						name, version, nnames, m->num_features)));
	pfree(bytes);

	MemoryContextSwitchTo(old);
	return m;
}

CachedModel *
model_cache_pin(const char *ref)
{
	ModelRef	r;
	CurrentKey	ckey;
	CurrentEntry *cur;
	CompiledKey key;
	CompiledEntry *e;
	bool		found;
	bool		connected = false;
	bool		xact_only = false;
	Snapshot	snapshot = InvalidSnapshot;

	if (CacheContext == NULL)
		create_maps();

	/* see what other sessions committed since our last look */
	AcceptInvalidationMessages();
	refresh_after_invalidation();

	/* cached or not, scoring reads the registry: the caller must be allowed to */
	registry_require(registry_table, ACL_SELECT);

	memset(&ckey, 0, sizeof(ckey));
	strlcpy(ckey.name, ref, sizeof(ckey.name));
	model_ref_parse(ref, &r);
	cur = hash_search(current_versions, &ckey, HASH_FIND, NULL);
	if (cur == NULL || cur->generation != model_cache_generation ||
		(cur->lxid != InvalidLocalTransactionId && cur->lxid != MyProc->lxid))
	{
		int32		version;
		RegistryStamp stamp;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		connected = true;
		snapshot = registry_snapshot(&xact_only);
		if (r.version == 0 && r.alias[0] == '\0')
			version = registry_current_version(r.name, snapshot, &stamp);
		else
		{
			int32		want = r.version;

			if (r.alias[0] != '\0' && (want = alias_version(r.name, r.alias, snapshot)) == 0)
			{
				hash_search(current_versions, &ckey, HASH_REMOVE, NULL);
				if (registry_current_version(r.name, snapshot, NULL) == 0)
					registry_no_such_model(r.name, MODEL_ANY_VERSION);
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("model \"%s\" has no alias \"%s\"", r.name, r.alias),
						 errhint("risk.set_alias('%s', '%s', version) points it at a version; "
								 "SELECT * FROM risk.model_aliases lists the aliases.", r.name, r.alias)));
			}
			version = registry_version_stamp(r.name, want, snapshot, &stamp) ? want : -want;
			if (version < 0)
			{
				hash_search(current_versions, &ckey, HASH_REMOVE, NULL);
				registry_no_such_model(r.name, want);
			}
		}
		evict_stale(r.name, version, &stamp, r.version == 0 && r.alias[0] == '\0');
		if (version == 0)
		{
			hash_search(current_versions, &ckey, HASH_REMOVE, NULL);
			registry_no_such_model(r.name, MODEL_ANY_VERSION);
		}
		cur = hash_search(current_versions, &ckey, HASH_ENTER, NULL);
		cur->version = version;
		cur->stamp = stamp;
		cur->generation = model_cache_generation;
		cur->lxid = xact_only ? MyProc->lxid : InvalidLocalTransactionId;
	}

	memset(&key, 0, sizeof(key));
	strlcpy(key.name, r.name, sizeof(key.name));
	key.version = cur->version;
	e = hash_search(compiled_models, &key, HASH_FIND, &found);
	if (!found)
	{
		CachedModel *m;

		if (!connected)
		{
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed");
			connected = true;
			snapshot = registry_snapshot(&xact_only);
		}
		m = load_model(r.name, key.version, snapshot);
		/* compiled without error: now it may live as long as the cache */
		MemoryContextSetParent(m->mcxt, CacheContext);
		m->bytes = MemoryContextMemAllocated(m->mcxt, true);
		e = hash_search(compiled_models, &key, HASH_ENTER, NULL);
		e->model = m;
		evict_beyond_limit(m);
	}
	if (connected)
		SPI_finish();

	if (r.version != 0 || r.alias[0] != '\0')
		e->model->by_reference = true;
	e->model->pins++;
	e->model->uses++;
	e->model->last_used = ++use_clock;
	return e->model;
}

void
model_cache_unpin(CachedModel *model)
{
	Assert(model->pins > 0);
	model->pins--;
	/* a retired model is freed at the next pin, outside any callback */
}

static void
unpin_held(void *arg)
{
	CachedModel **holder = (CachedModel **) arg;

	if (*holder)
		model_cache_unpin(*holder);
	*holder = NULL;
}

void
model_cache_unpin_at_reset(MemoryContext mcxt, MemoryContextCallback *cb, CachedModel **holder)
{
	cb->func = unpin_held;
	cb->arg = holder;
	MemoryContextRegisterResetCallback(mcxt, cb);
}

XgbBooster *
model_cache_booster(CachedModel *model)
{
	if (model->booster == NULL)
	{
		MemoryContext old;
		ArrayType  *names;
		bytea	   *bytes;
		bool		xact_only;
		RegistryStamp stamp;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		bytes = registry_fetch(model->name, model->version,
							   registry_snapshot(&xact_only), &names, &stamp);
		/* libxgboost's copy must be of the very row our forest came from */
		if (!registry_same_stamp(&stamp, &model->stamp))
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("model \"%s\" version %d was replaced while this query used it",
							model->name, model->version),
					 errhint("Run the query again.")));
		{
			size_t		json_len;
			char	   *json = xgb_read_model(VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes),
											  &json_len);

			old = MemoryContextSwitchTo(model->mcxt);
			model->booster = xgb_load(json, json_len);
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
	}
	return model->booster;
}

/* Asks the registry about every cached name, evicting what is stale. */
static void
verify_all(void)
{
	HASH_SEQ_STATUS seq;
	CompiledEntry *e;
	List	   *names = NIL;
	ListCell   *lc;
	bool		xact_only;
	Snapshot	snapshot;

	hash_seq_init(&seq, compiled_models);
	while ((e = hash_seq_search(&seq)) != NULL)
		names = lappend(names, pstrdup(e->key.name));
	if (names == NIL)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	snapshot = registry_snapshot(&xact_only);
	foreach(lc, names)
	{
		RegistryStamp stamp;
		int32		version = registry_current_version(lfirst(lc), snapshot, &stamp);

		evict_stale(lfirst(lc), version, &stamp, true);
	}
	/* what is left: each version must still be stored, as the row it was compiled from */
	hash_seq_init(&seq, compiled_models);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		RegistryStamp stamp;

		if (!registry_version_stamp(e->key.name, e->key.version, snapshot, &stamp) ||
			!registry_same_stamp(&e->model->stamp, &stamp))
			evict(e);
	}
	SPI_finish();
}

/*
 * risk.cached_models(): what this backend holds compiled, for checking that
 * a model is compiled once and reused, and what it costs in memory.
 */
PG_FUNCTION_INFO_V1(risk_cached_models);
Datum
risk_cached_models(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	CompiledEntry *e;

	InitMaterializedSRF(fcinfo, 0);
	if (CacheContext == NULL)
		return (Datum) 0;

	/* evict what registry changes have made stale before listing */
	AcceptInvalidationMessages();
	refresh_after_invalidation();
	verify_all();

	hash_seq_init(&seq, compiled_models);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		CachedModel *m = e->model;
		Datum		values[6];
		bool		nulls[6] = {0};

		values[0] = CStringGetTextDatum(m->name);
		values[1] = Int32GetDatum(m->version);
		values[2] = TimestampTzGetDatum(m->compiled_at);
		values[3] = Int64GetDatum(m->uses);
		values[4] = Int64GetDatum((int64) MemoryContextMemAllocated(m->mcxt, true));
		values[5] = BoolGetDatum(m->booster != NULL);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

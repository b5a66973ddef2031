/*-------------------------------------------------------------------------
 * catalog.h
 *	  What the extension's own tables share: finding them, and writing them
 *	  as their owner on behalf of the caller (rule sets, lists).
 *-------------------------------------------------------------------------
 */
#ifndef RISK_CATALOG_H
#define RISK_CATALOG_H

#define RISK_SCHEMA "risk"

/* The OID of table risk.<name>; errors (42P01) when the extension is not there. */
extern Oid	catalog_relid(const char *name);

/*
 * Runs the following SPI work as the owner of risk.<table>, for the
 * functions that write the extension's audited tables (the caller's EXECUTE
 * on them is the privilege); the saved identity is restored by
 * catalog_as_caller, or by the abort of the (sub)transaction on error.
 */
typedef struct CatalogIdentity
{
	Oid			userid;
	int			sec_context;
} CatalogIdentity;

extern void catalog_as_owner(const char *table, CatalogIdentity *saved);
extern void catalog_as_caller(const CatalogIdentity *saved);

/* SPI_connect, or an error. */
extern void catalog_spi_connect(void);

/*
 * What a cache reads of the extension's tables: connects SPI and runs the
 * query with a fresh snapshot (what was committed before this statement),
 * as the owner of risk.<owner_table> (NULL: as the caller).  On error,
 * *valid is cleared (the cache reads again next time).  The caller reads
 * SPI_tuptable and calls SPI_finish.
 */
extern void catalog_read(const char *query, const char *owner_table, bool *valid);

/*
 * What a cache reads for risk.<name>: the table, or this node's copy of it
 * once Citus has made it a reference table (catalog_citus.c); its OID (what
 * the cache's invalidation is for) and its qualified name for the query.
 * Writes go to risk.<name> itself.
 */
extern Oid	catalog_read_relid(const char *name);
extern const char *catalog_read_name(const char *name);

/*
 * False when risk.<name> is a Citus table of which this node holds no copy
 * (a worker while the shard is being dropped): reading it here would be a
 * distributed query.
 */
extern bool catalog_read_local(const char *name);
extern void catalog_relation_changed(Oid relid);

/* The Citus table of which relid is a shard, or InvalidOid (catalog_citus.c). */
extern Oid	catalog_citus_table_of(Oid relid);
/* This node's shard of table next to shard, a shard of a table of its colocation group, or InvalidOid. */
extern Oid	catalog_citus_colocated_shard(Oid table, Oid shard);
/*
 * A new store of events' entities, keyed by its column "entity", placed on
 * Citus: 'c' co-located with events (events is distributed by column), 'l'
 * on the coordinator, known to every node; 0: events is not a Citus table.
 */
extern char catalog_citus_place_store(Oid events, AttrNumber column, const char *store);
/* Whether this node is a Citus worker. */
extern bool catalog_citus_is_worker(void);
/* Whether every node knows relid, as the distributed catalog's rows that name it need (catalog_citus.c). */
extern bool catalog_citus_known_everywhere(Oid relid);

/*
 * Before a call writes one of the extension's tables that others reference
 * by foreign key: on Citus with the distributed catalog, 25001 when the
 * transaction can no longer write it (catalog_citus.c).
 */
extern void catalog_citus_check_write(const char *table);
/*
 * The same, then the call's queries run over one connection per node until
 * catalog_citus_end_sequential(the level returned, or -1).
 */
extern int	catalog_citus_sequential(const char *table);
extern void catalog_citus_end_sequential(int level);

/* Checks a name for a list or rule set (42602), as the tables' CHECK would. */
extern char *catalog_check_name(text *name, const char *what);

/* A query given by a user as the text to run: a table's name becomes SELECT * FROM it. */
extern char *catalog_query_text(const char *query);

#endif							/* RISK_CATALOG_H */

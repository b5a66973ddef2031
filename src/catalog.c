/*-------------------------------------------------------------------------
 * catalog.c
 *	  Helpers for the extension's own tables: their OIDs, the identity their
 *	  writers run as, and the names they accept.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "catalog.h"

Oid
catalog_relid(const char *name)
{
	Oid			schema = get_namespace_oid(RISK_SCHEMA, true);
	Oid			relid = OidIsValid(schema) ? get_relname_relid(name, schema) : InvalidOid;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table " RISK_SCHEMA ".%s does not exist", name),
				 errhint("CREATE EXTENSION risk (or ALTER EXTENSION risk UPDATE) in this database.")));
	return relid;
}

void
catalog_as_owner(const char *table, CatalogIdentity *saved)
{
	Oid			relid = catalog_relid(table);
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	GetUserIdAndSecContext(&saved->userid, &saved->sec_context);
	SetUserIdAndSecContext(owner, saved->sec_context | SECURITY_LOCAL_USERID_CHANGE);
}

void
catalog_as_caller(const CatalogIdentity *saved)
{
	SetUserIdAndSecContext(saved->userid, saved->sec_context);
}

void
catalog_spi_connect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

void
catalog_read(const char *query, const char *owner_table, bool *valid)
{
	CatalogIdentity id;

	catalog_spi_connect();
	if (owner_table)
		catalog_as_owner(owner_table, &id);
	PG_TRY();
	{
		/*
		 * not read-only: a fresh snapshot; but in a parallel worker the
		 * query's, as the leader and the other workers read
		 */
		if (SPI_execute(query, IsInParallelMode(), 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read: %s", query);
	}
	PG_CATCH();
	{
		*valid = false;
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (owner_table)
		catalog_as_caller(&id);
}

char *
catalog_check_name(text *name, const char *what)
{
	char	   *s;
	size_t		n;

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a %s name must not be NULL", what)));
	s = text_to_cstring(name);
	n = strlen(s);
	if (n == 0 || n > 63 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-") != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid %s name \"%s\"", what, s),
				 errdetail("A %s name has 1 to 63 characters: letters, digits, _ . : -", what)));
	return s;
}

/* The query as the text to run: a table's name becomes SELECT * FROM it. */
char *
catalog_query_text(const char *query)
{
	List	   *names;
	RangeVar   *rv;
	Oid			relid;

	if (strspn(query, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$.\"") != strlen(query))
		return pstrdup(query);
	PG_TRY();
	{
		names = stringToQualifiedNameList(query);
	}
	PG_CATCH();
	{
		FlushErrorState();
		names = NIL;
	}
	PG_END_TRY();
	if (names == NIL)
		return pstrdup(query);
	rv = makeRangeVarFromNameList(names);
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (!OidIsValid(relid))
		return pstrdup(query);
	return psprintf("SELECT * FROM %s", quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
																	   get_rel_name(relid)));
}

/*-------------------------------------------------------------------------
 * lists.c
 *	  Named lists of values that rules test: risk.create_list,
 *	  risk.add_to_list, risk.remove_from_list, risk.in_list, and this
 *	  backend's copy of each list it reads.
 *
 * Items are never deleted: each is on its list from valid_from until it
 * expires or is removed (removal only marks it), so a backtest asks what
 * the list held at an order's time.  This backend keeps, per list it has
 * read, a hash table of its values, each with the spans of time it was on
 * the list: a membership test is one hash lookup (for an inet list, one per
 * prefix length the list holds).  Every write bumps the list's revision in
 * risk.lists, whose statement trigger tells every backend at commit; a
 * backend then rereads the revisions (one small query) and reloads only the
 * lists that changed, at their next use.
 *
 * Lists are read and written as the owner of the extension's tables: the
 * writers record the caller as added_by or removed_by, and EXECUTE on them
 * (revoked from PUBLIC) is the privilege to change lists.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "lists.h"

/* A span of time an item was on its list: [from, until). */
typedef struct ListSpan
{
	TimestampTz from;
	TimestampTz until;
} ListSpan;

typedef struct ListKey
{
	const char *data;
	uint32		len;
} ListKey;

typedef struct ListMember
{
	ListKey		key;
	uint32		hash;
	char		status;
	int			nspans;
	ListSpan	span;			/* the first one */
	ListSpan   *more;			/* the others (nspans - 1), or NULL */
} ListMember;

#define SH_PREFIX		members
#define SH_ELEMENT_TYPE	ListMember
#define SH_KEY_TYPE		ListKey
#define SH_KEY			key
#define SH_HASH_KEY(tb, k)	hash_bytes((const unsigned char *) (k).data, (k).len)
#define SH_EQUAL(tb, a, b)	((a).len == (b).len && memcmp((a).data, (b).data, (a).len) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a)	((a)->hash)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* inet keys: family, prefix length, then the address masked to it */
#define INET_KEY_MAX (2 + 16)

typedef struct CachedList
{
	char		name[64];		/* hash key */
	bool		is_inet;
	bool		loaded;
	bool		seen;			/* still in risk.lists at the last check */
	int64		revision;		/* of the items loaded */
	int64		items;
	MemoryContext mcxt;			/* holds members and their keys */
	members_hash *members;
	/* inet lists: the prefix lengths present, longest first, per family */
	int			nprefixes[2];
	uint8		prefixes[2][129];
} CachedList;

static HTAB *lists = NULL;
static bool lists_checked = false;	/* revisions read since the last change */
static Oid	lists_relid = InvalidOid;
static uint64 lists_generation = 1;
bool		lists_lookup_only = false;

void
lists_relation_changed(Oid relid)
{
	if (relid == InvalidOid || relid == lists_relid)
	{
		lists_checked = false;
		lists_generation++;
	}
}

static void
list_unload(CachedList *l)
{
	if (l->mcxt)
		MemoryContextDelete(l->mcxt);
	l->mcxt = NULL;
	l->members = NULL;
	l->loaded = false;
	l->items = 0;
	l->nprefixes[0] = l->nprefixes[1] = 0;
}

/* Reads every list's kind and revision; forgets lists that changed or went. */
static void
lists_check(void)
{
	HASHCTL		ctl;
	HASH_SEQ_STATUS seq;
	CachedList *l;

	if (lists == NULL)
	{
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = 64;
		ctl.entrysize = sizeof(CachedList);
		ctl.hcxt = TopMemoryContext;
		lists = hash_create("risk lists", 16, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	lists_relid = catalog_read_relid("lists");
	lists_checked = true;		/* a change while we read makes us read again */
	hash_seq_init(&seq, lists);
	while ((l = hash_seq_search(&seq)) != NULL)
		l->seen = false;
	catalog_read(psprintf("SELECT name, kind, revision FROM %s", catalog_read_name("lists")), "lists", &lists_checked);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *name = TextDatumGetCString(SPI_getbinval(t, d, 1, &isnull));
		bool		is_inet = strcmp(TextDatumGetCString(SPI_getbinval(t, d, 2, &isnull)), "inet") == 0;
		int64		revision = DatumGetInt64(SPI_getbinval(t, d, 3, &isnull));
		bool		found;

		if (strlen(name) >= 64)
			continue;
		l = hash_search(lists, name, HASH_ENTER, &found);
		if (!found)
		{
			memset(((char *) l) + 64, 0, sizeof(CachedList) - 64);
			l->is_inet = is_inet;
		}
		else if (l->loaded && (l->revision != revision || l->is_inet != is_inet))
			list_unload(l);
		l->is_inet = is_inet;
		l->seen = true;
	}
	SPI_finish();
	hash_seq_init(&seq, lists);
	while ((l = hash_seq_search(&seq)) != NULL)
		if (!l->seen)
		{
			list_unload(l);
			hash_search(lists, l->name, HASH_REMOVE, NULL);
		}
}

/* The key of an inet value masked to `bits`, into key (INET_KEY_MAX bytes); its length. */
static uint32
inet_key(const inet *ip, int bits, char *key)
{
	int			family = ip_family(ip);
	int			size = family == PGSQL_AF_INET ? 4 : 16;
	const unsigned char *addr = ip_addr(ip);

	key[0] = (char) family;
	key[1] = (char) bits;
	for (int i = 0; i < size; i++)
	{
		int			keep = Min(Max(bits - 8 * i, 0), 8);

		key[2 + i] = (char) (addr[i] & (unsigned char) (0xFF00 >> keep));
	}
	return 2 + size;
}

static void
add_span(CachedList *l, const char *key, uint32 len, TimestampTz from, TimestampTz until)
{
	ListKey		k;
	ListMember *m;
	bool		found;

	if (until <= from)
		return;					/* removed before it began */
	k.data = key;
	k.len = len;
	m = members_insert(l->members, k, &found);
	if (!found)
	{
		char	   *copy = MemoryContextAlloc(l->mcxt, len);

		memcpy(copy, key, len);
		m->key.data = copy;
		m->key.len = len;
		m->nspans = 1;
		m->span.from = from;
		m->span.until = until;
		m->more = NULL;
		return;
	}
	if (m->more == NULL)
		m->more = MemoryContextAlloc(l->mcxt, sizeof(ListSpan) * 4);
	else if ((m->nspans & (m->nspans - 1)) == 0 && m->nspans >= 4)
		m->more = repalloc(m->more, sizeof(ListSpan) * m->nspans * 2);
	m->more[m->nspans - 1].from = from;
	m->more[m->nspans - 1].until = until;
	m->nspans++;
}

/* Reads the items of a list into its hash table, in batches. */
static void
list_load(CachedList *l)
{
	CatalogIdentity id;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	SPIPlanPtr	plan;
	Portal		portal;
	bool		seen[2][129];
	MemoryContext old;
	MemoryContext scratch;

	list_unload(l);
	l->mcxt = AllocSetContextCreate(TopMemoryContext, "risk list", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSetIdentifier(l->mcxt, MemoryContextStrdup(l->mcxt, l->name));
	l->members = members_create(l->mcxt, 64, NULL);
	memset(seen, 0, sizeof(seen));
	args[0] = CStringGetTextDatum(l->name);
	catalog_spi_connect();
	catalog_as_owner("list_items", &id);
	plan = SPI_prepare(psprintf("SELECT l.revision, i.value, i.valid_from, LEAST(i.expires_at, i.removed_at) "
								"FROM %s l LEFT JOIN %s i ON i.list OPERATOR(pg_catalog.=) l.name "
								"WHERE l.name OPERATOR(pg_catalog.=) $1",
								catalog_read_name("lists"), catalog_read_name("list_items")), 1, argtypes);
	if (plan == NULL)
		elog(ERROR, "could not read the items of list \"%s\"", l->name);
	portal = SPI_cursor_open(NULL, plan, args, NULL, IsInParallelMode());
	scratch = AllocSetContextCreate(CurrentMemoryContext, "risk list batch", ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		/* the batch's conversions in scratch memory; the members in the list's */
		old = MemoryContextSwitchTo(scratch);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	t = SPI_tuptable->vals[i];
			TupleDesc	d = SPI_tuptable->tupdesc;
			bool		isnull;
			Datum		value;
			TimestampTz from,
						until;

			l->revision = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
			value = SPI_getbinval(t, d, 2, &isnull);
			if (isnull)
				continue;		/* an empty list */
			from = DatumGetTimestampTz(SPI_getbinval(t, d, 3, &isnull));
			until = DatumGetTimestampTz(SPI_getbinval(t, d, 4, &isnull));
			if (isnull)
				until = DT_NOEND;
			if (l->is_inet)
			{
				char		key[INET_KEY_MAX];
				inet	   *ip = DatumGetInetPP(DirectFunctionCall1(inet_in, CStringGetDatum(TextDatumGetCString(value))));
				int			f = ip_family(ip) == PGSQL_AF_INET ? 0 : 1;

				add_span(l, key, inet_key(ip, ip_bits(ip), key), from, until);
				seen[f][ip_bits(ip)] = true;
			}
			else
			{
				text	   *v = DatumGetTextPP(value);

				add_span(l, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), from, until);
			}
			l->items++;
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(scratch);
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(scratch);
	SPI_cursor_close(portal);
	catalog_as_caller(&id);
	SPI_finish();
	for (int f = 0; f < 2; f++)
		for (int b = 128; b >= 0; b--)
			if (seen[f][b])
				l->prefixes[f][l->nprefixes[f]++] = (uint8) b;
	l->loaded = true;
}

static CachedList *
lists_get(const char *name, bool missing_ok)
{
	CachedList *l = NULL;

	if (!lists_checked || lists == NULL)
		lists_check();
	if (strlen(name) < 64)
		l = hash_search(lists, name, HASH_FIND, NULL);
	if (l == NULL)
	{
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("list \"%s\" does not exist", name),
				 errhint("Create it with risk.create_list(); SELECT name FROM risk.lists lists them.")));
	}
	if (!l->loaded)
		list_load(l);
	return l;
}

bool
lists_preload(const char *name)
{
	return lists_get(name, true) != NULL;
}

static bool
member_at(const ListMember *m, TimestampTz at)
{
	if (m == NULL)
		return false;
	if (m->span.from <= at && at < m->span.until)
		return true;
	for (int i = 0; i < m->nspans - 1; i++)
		if (m->more[i].from <= at && at < m->more[i].until)
			return true;
	return false;
}

static bool
contains_text(CachedList *l, const char *data, uint32 len, TimestampTz at)
{
	ListKey		k;

	k.data = data;
	k.len = len;
	return member_at(members_lookup(l->members, k), at);
}

static bool
contains_inet(CachedList *l, const inet *ip, TimestampTz at)
{
	int			f = ip_family(ip) == PGSQL_AF_INET ? 0 : 1;
	char		key[INET_KEY_MAX];
	ListKey		k;

	k.data = key;
	for (int i = 0; i < l->nprefixes[f]; i++)
	{
		int			bits = l->prefixes[f][i];

		if (bits > ip_bits(ip))
			continue;			/* a narrower network than the value */
		k.len = inet_key(ip, bits, key);
		if (member_at(members_lookup(l->members, k), at))
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------------
 * Values as lists hold them
 * ------------------------------------------------------------------------
 */

/* How one call site turns its values into keys, kept in fn_extra. */
typedef struct ValueReader
{
	Oid			type;
	bool		is_text;		/* text or varchar: the bytes as they are */
	bool		is_inet;		/* inet or cidr */
	FmgrInfo	out;
} ValueReader;

static void
value_reader(ValueReader *r, Oid type, MemoryContext mcxt)
{
	Oid			out;
	bool		varlena;

	r->type = type;
	r->is_text = type == TEXTOID || type == VARCHAROID;
	r->is_inet = type == INETOID || type == CIDROID;
	getTypeOutputInfo(type, &out, &varlena);
	fmgr_info_cxt(out, &r->out, mcxt);
}

/* The value as an inet list holds it (inet, cidr, or text that reads as one). */
static inet *
value_as_inet(const ValueReader *r, Datum value)
{
	if (r->is_inet)
		return DatumGetInetPP(value);
	return DatumGetInetPP(DirectFunctionCall1(inet_in, CStringGetDatum(OutputFunctionCall((FmgrInfo *) &r->out, value))));
}

/* The value as a text list holds it: its text. */
static text *
value_as_text(const ValueReader *r, Datum value)
{
	if (r->is_text)
		return DatumGetTextPP(value);
	return cstring_to_text(OutputFunctionCall((FmgrInfo *) &r->out, value));
}

/* The canonical text of an item of an inet list: the network masked to its length. */
static text *
inet_item_text(inet *ip)
{
	inet	   *masked = palloc0(sizeof(inet));
	char		key[INET_KEY_MAX];

	inet_key(ip, ip_bits(ip), key);
	ip_family(masked) = ip_family(ip);
	ip_bits(masked) = ip_bits(ip);
	memcpy(ip_addr(masked), key + 2, ip_addrsize(ip));
	SET_INET_VARSIZE(masked);
	return cstring_to_text(DatumGetCString(DirectFunctionCall1(inet_out, InetPGetDatum(masked))));
}

/* ------------------------------------------------------------------------
 * risk.in_list
 * ------------------------------------------------------------------------
 */

typedef struct InListCall
{
	char		name[64];
	CachedList *list;
	uint64		generation;
	ValueReader reader;
} InListCall;

static bool
in_list(FunctionCallInfo fcinfo, TimestampTz at)
{
	InListCall *c = (InListCall *) fcinfo->flinfo->fn_extra;
	text	   *name = PG_GETARG_TEXT_PP(0);
	Datum		value = PG_GETARG_DATUM(1);
	Oid			type = get_fn_expr_argtype(fcinfo->flinfo, 1);

	if (c == NULL)
	{
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(InListCall));
		fcinfo->flinfo->fn_extra = c;
	}
	if (c->list == NULL || c->generation != lists_generation || !c->list->loaded ||
		VARSIZE_ANY_EXHDR(name) != strlen(c->name) ||
		memcmp(VARDATA_ANY(name), c->name, VARSIZE_ANY_EXHDR(name)) != 0)
	{
		char	   *s = text_to_cstring(name);
		uint64		generation = lists_generation;	/* before: a change while we read is seen next time */

		if (lists_lookup_only)
		{
			CachedList *l = lists_checked && lists && strlen(s) < 64 ? hash_search(lists, s, HASH_FIND, NULL) : NULL;

			if (l == NULL || !l->loaded)
				elog(ERROR, "risk.in_list: list \"%s\" was not loaded before its rules ran", s);
		}
		c->list = lists_get(s, false);
		strlcpy(c->name, s, sizeof(c->name));
		c->generation = generation;
	}
	if (c->reader.type != type)
	{
		if (!OidIsValid(type))
			elog(ERROR, "could not determine the type of the value");
		value_reader(&c->reader, type, fcinfo->flinfo->fn_mcxt);
	}
	if (c->list->is_inet)
	{
		if (!c->reader.is_inet && !c->reader.is_text)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("list \"%s\" holds IP addresses and networks, not %s", c->name, format_type_be(type)),
					 errhint("Pass an inet or cidr value, or its text.")));
		return contains_inet(c->list, value_as_inet(&c->reader, value), at);
	}
	else
	{
		text	   *t = value_as_text(&c->reader, value);

		return contains_text(c->list, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), at);
	}
}

PG_FUNCTION_INFO_V1(risk_in_list);
Datum
risk_in_list(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(in_list(fcinfo, GetCurrentStatementStartTimestamp()));
}

PG_FUNCTION_INFO_V1(risk_in_list_at);
Datum
risk_in_list_at(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(in_list(fcinfo, PG_GETARG_TIMESTAMPTZ(2)));
}

/* ------------------------------------------------------------------------
 * The writers
 * ------------------------------------------------------------------------
 */

static char *
caller_name(const CatalogIdentity *id)
{
	return GetUserNameFromId(id->userid, false);
}

/* Locks the list's row and bumps its revision; returns whether it is an inet list. */
static bool
list_touch(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};
	bool		isnull;

	catalog_citus_check_write("lists");
	if (SPI_execute_with_args("UPDATE " RISK_SCHEMA ".lists SET revision = revision OPERATOR(pg_catalog.+) 1 "
							  "WHERE name OPERATOR(pg_catalog.=) $1 RETURNING kind",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not update " RISK_SCHEMA ".lists");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("list \"%s\" does not exist", name),
				 errhint("Create it with risk.create_list(); SELECT name FROM risk.lists lists them.")));
	return strcmp(TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
				  "inet") == 0;
}

/* The text a list holds for a value of the function's argument argno. */
static text *
item_text(FunctionCallInfo fcinfo, int argno, bool is_inet)
{
	ValueReader r;

	value_reader(&r, get_fn_expr_argtype(fcinfo->flinfo, argno), CurrentMemoryContext);
	if (is_inet)
		return inet_item_text(value_as_inet(&r, PG_GETARG_DATUM(argno)));
	return value_as_text(&r, PG_GETARG_DATUM(argno));
}

static void
require_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the %s must not be NULL", what)));
}

/* risk.create_list(name, kind DEFAULT 'text', description DEFAULT NULL) */
PG_FUNCTION_INFO_V1(risk_create_list);
Datum
risk_create_list(PG_FUNCTION_ARGS)
{
	char	   *name = catalog_check_name(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0), "list");
	char	   *kind;
	CatalogIdentity id;
	Oid			argtypes[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};

	require_arg(fcinfo, 1, "kind of a list");
	kind = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strcmp(kind, "text") != 0 && strcmp(kind, "inet") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown kind of list \"%s\"", kind),
				 errhint("A list is of kind text (values compared as text) or inet (addresses and networks).")));
	catalog_citus_check_write("lists");
	catalog_spi_connect();
	catalog_as_owner("lists", &id);
	args[0] = CStringGetTextDatum(name);
	args[1] = CStringGetTextDatum(kind);
	if (PG_ARGISNULL(2))
		nulls[2] = 'n';
	else
		args[2] = PG_GETARG_DATUM(2);
	args[3] = CStringGetTextDatum(caller_name(&id));
	if (SPI_execute_with_args("INSERT INTO " RISK_SCHEMA ".lists (name, kind, description, created_by, created_at) "
							  "VALUES ($1, $2, $3, $4, pg_catalog.now()) ON CONFLICT (name) DO NOTHING",
							  4, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into " RISK_SCHEMA ".lists");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("list \"%s\" already exists", name)));
	catalog_as_caller(&id);
	SPI_finish();
	PG_RETURN_VOID();
}

/* risk.add_to_list(list, value, reason, expires_at, valid_from) -> item id */
PG_FUNCTION_INFO_V1(risk_add_to_list);
Datum
risk_add_to_list(PG_FUNCTION_ARGS)
{
	char	   *name = catalog_check_name(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0), "list");
	CatalogIdentity id;
	Oid			argtypes[6] = {TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID};
	Datum		args[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	TimestampTz from = PG_ARGISNULL(4) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(4);
	bool		isnull;
	int64		item;

	require_arg(fcinfo, 1, "value to put on a list");
	if (!PG_ARGISNULL(3) && PG_GETARG_TIMESTAMPTZ(3) <= from)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an item must expire after it becomes valid"),
				 errdetail("expires_at %s is not after valid_from %s.",
						   timestamptz_to_str(PG_GETARG_TIMESTAMPTZ(3)), timestamptz_to_str(from))));
	catalog_spi_connect();
	catalog_as_owner("list_items", &id);
	args[0] = CStringGetTextDatum(name);
	args[1] = PointerGetDatum(item_text(fcinfo, 1, list_touch(name)));
	if (PG_ARGISNULL(2))
		nulls[2] = 'n';
	else
		args[2] = PG_GETARG_DATUM(2);
	if (PG_ARGISNULL(3))
		nulls[3] = 'n';
	else
		args[3] = PG_GETARG_DATUM(3);
	args[4] = TimestampTzGetDatum(from);
	args[5] = CStringGetTextDatum(caller_name(&id));
	if (SPI_execute_with_args("INSERT INTO " RISK_SCHEMA ".list_items "
							  "(list, value, reason, expires_at, valid_from, added_by, added_at) "
							  "VALUES ($1, $2, $3, $4, $5, $6, pg_catalog.now()) RETURNING id",
							  6, argtypes, args, nulls, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not insert into " RISK_SCHEMA ".list_items");
	item = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	catalog_as_caller(&id);
	SPI_finish();
	PG_RETURN_INT64(item);
}

/* risk.remove_from_list(list, value, reason) -> items removed */
PG_FUNCTION_INFO_V1(risk_remove_from_list);
Datum
risk_remove_from_list(PG_FUNCTION_ARGS)
{
	char	   *name = catalog_check_name(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0), "list");
	CatalogIdentity id;
	Oid			argtypes[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	uint64		removed;

	require_arg(fcinfo, 1, "value to take off a list");
	catalog_spi_connect();
	catalog_as_owner("list_items", &id);
	args[0] = CStringGetTextDatum(name);
	args[1] = PointerGetDatum(item_text(fcinfo, 1, list_touch(name)));
	if (PG_ARGISNULL(2))
		nulls[2] = 'n';
	else
		args[2] = PG_GETARG_DATUM(2);
	args[3] = CStringGetTextDatum(caller_name(&id));
	if (SPI_execute_with_args("UPDATE " RISK_SCHEMA ".list_items "
							  "SET removed_by = $4, removed_at = pg_catalog.now(), removed_reason = $3 "
							  "WHERE list OPERATOR(pg_catalog.=) $1 AND value OPERATOR(pg_catalog.=) $2 "
							  "AND removed_at IS NULL "
							  "AND (expires_at IS NULL OR expires_at OPERATOR(pg_catalog.>) pg_catalog.now())",
							  4, argtypes, args, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update " RISK_SCHEMA ".list_items");
	removed = SPI_processed;
	catalog_as_caller(&id);
	SPI_finish();
	PG_RETURN_INT32((int32) removed);
}

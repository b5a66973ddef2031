/*-------------------------------------------------------------------------
 * pg_shim.c
 *	  What the fuzzed code needs of a PostgreSQL backend, outside one: a
 *	  palloc that tracks every chunk (freed after each input, so that the
 *	  sanitizers see use-after-free and the fuzzer no growth), ereport that
 *	  jumps back to the harness at ERROR, no interrupts, and the few
 *	  backend helpers the readers call (the wire format, hex, detoasting).
 *	  Everything else the linked files name aborts if it is ever called.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdlib.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/memutils.h"

#include "pg_shim.h"

/* ---- memory: every chunk on a list, freed by shim_free_all ---- */

typedef struct Chunk
{
	struct Chunk *prev;
	struct Chunk *next;
	Size		size;
	double		align;			/* the user's memory follows, MAXALIGNed */
} Chunk;

#define CHUNK_HEADER offsetof(Chunk, align)
static Chunk chunks = {&chunks, &chunks, 0, 0};
static Size live_bytes = 0;

static void *
chunk_alloc(Size size, bool zero)
{
	Chunk	   *c;

	if (size > MaxAllocHugeSize || live_bytes + size > SHIM_MEMORY_LIMIT)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory (shim)")));
	c = zero ? calloc(1, CHUNK_HEADER + size) : malloc(CHUNK_HEADER + size);
	if (c == NULL)
		abort();
	c->size = size;
	c->next = chunks.next;
	c->prev = &chunks;
	chunks.next->prev = c;
	chunks.next = c;
	live_bytes += size;
	return (char *) c + CHUNK_HEADER;
}

static Chunk *
chunk_of(void *p)
{
	return (Chunk *) ((char *) p - CHUNK_HEADER);
}

void
pfree(void *p)
{
	Chunk	   *c = chunk_of(p);

	c->prev->next = c->next;
	c->next->prev = c->prev;
	live_bytes -= c->size;
	free(c);
}

void *
repalloc(void *p, Size size)
{
	Chunk	   *c = chunk_of(p);
	void	   *n = chunk_alloc(size, false);

	memcpy(n, p, Min(size, c->size));
	pfree(p);
	return n;
}

void	   *palloc(Size size) { return chunk_alloc(size, false); }
void	   *palloc0(Size size) { return chunk_alloc(size, true); }
void	   *palloc_extended(Size size, int flags) { return chunk_alloc(size, (flags & MCXT_ALLOC_ZERO) != 0); }
void	   *repalloc_huge(void *p, Size size) { return repalloc(p, size); }
void	   *MemoryContextAlloc(MemoryContext c, Size size) { return chunk_alloc(size, false); }
void	   *MemoryContextAllocZero(MemoryContext c, Size size) { return chunk_alloc(size, true); }
void	   *MemoryContextAllocExtended(MemoryContext c, Size size, int flags) { return palloc_extended(size, flags); }
void	   *MemoryContextAllocHuge(MemoryContext c, Size size) { return chunk_alloc(size, false); }

char *
pstrdup(const char *s)
{
	Size		n = strlen(s) + 1;

	return memcpy(chunk_alloc(n, false), s, n);
}

char *
pnstrdup(const char *s, Size len)
{
	char	   *d = chunk_alloc(len + 1, false);

	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

void
shim_free_all(void)
{
	while (chunks.next != &chunks)
		pfree((char *) chunks.next + CHUNK_HEADER);
}

MemoryContext CurrentMemoryContext = NULL;
MemoryContext TopMemoryContext = NULL;

/* ---- errors: ERROR jumps back to the harness ---- */

sigjmp_buf *PG_exception_stack = NULL;
ErrorContextCallback *error_context_stack = NULL;
static int	error_level;

bool
errstart(int elevel, const char *domain)
{
	error_level = elevel;
	return elevel >= ERROR;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (error_level >= ERROR && PG_exception_stack != NULL)
		siglongjmp(*PG_exception_stack, 1);
	abort();					/* an error outside the harness's PG_TRY */
}

int			errcode(int sqlerrcode) { return 0; }
int			errmsg(const char *fmt,...) { return 0; }
int			errmsg_internal(const char *fmt,...) { return 0; }
int			errdetail(const char *fmt,...) { return 0; }
int			errdetail_internal(const char *fmt,...) { return 0; }
int			errhint(const char *fmt,...) { return 0; }
int			errcontext_msg(const char *fmt,...) { return 0; }
bool		errsave_start(struct Node *context, const char *domain) { return true; }

void
pg_re_throw(void)
{
	siglongjmp(*PG_exception_stack, 1);
}

/* ---- the backend's state the code reads ---- */

volatile sig_atomic_t InterruptPending = false;

void
ProcessInterrupts(void)
{
}

void
check_stack_depth(void)
{
	/* deep recursion is the sanitizer's business here: it reports a stack overflow */
}

struct varlena *
pg_detoast_datum_packed(struct varlena *datum)
{
	if (VARATT_IS_EXTERNAL(datum) || VARATT_IS_COMPRESSED(datum))
		abort();
	return datum;
}

struct varlena *
pg_detoast_datum(struct varlena *datum)
{
	if (VARATT_IS_EXTENDED(datum))
		abort();				/* the harnesses make plain 4-byte-header values only */
	return datum;
}

/* ---- the wire format (libpq/pqformat.c's behaviour: 08P01 at the end of the data) ---- */

static void
need(StringInfo msg, int n)
{
	if (n < 0 || msg->cursor + n > msg->len)
		ereport(ERROR, (errcode(ERRCODE_PROTOCOL_VIOLATION), errmsg("insufficient data left in message")));
}

int
pq_getmsgbyte(StringInfo msg)
{
	need(msg, 1);
	return (unsigned char) msg->data[msg->cursor++];
}

unsigned int
pq_getmsgint(StringInfo msg, int b)
{
	unsigned int v = 0;

	need(msg, b);
	for (int i = 0; i < b; i++)
		v = (v << 8) | (unsigned char) msg->data[msg->cursor++];
	return v;
}

int64
pq_getmsgint64(StringInfo msg)
{
	uint64		v = 0;

	need(msg, 8);
	for (int i = 0; i < 8; i++)
		v = (v << 8) | (unsigned char) msg->data[msg->cursor++];
	return (int64) v;
}

float8
pq_getmsgfloat8(StringInfo msg)
{
	union
	{
		float8		f;
		int64		i;
	}			u;

	u.i = pq_getmsgint64(msg);
	return u.f;
}

void
pq_getmsgend(StringInfo msg)
{
	if (msg->cursor != msg->len)
		ereport(ERROR, (errcode(ERRCODE_PROTOCOL_VIOLATION), errmsg("invalid message format")));
}

void
pq_sendfloat8(StringInfo buf, float8 f)
{
	union
	{
		float8		f;
		int64		i;
	}			u;

	u.f = f;
	pq_sendint64(buf, u.i);
}

void
pq_begintypsend(StringInfo buf)
{
	initStringInfo(buf);
	appendStringInfoSpaces(buf, VARHDRSZ);
}

bytea *
pq_endtypsend(StringInfo buf)
{
	bytea	   *result = (bytea *) buf->data;

	SET_VARSIZE(result, buf->len);
	return result;
}

/* ---- one-dimensional arrays of fixed-length, by-value elements (velocity_read's result) ---- */

ArrayType *
construct_array(Datum *elems, int nelems, Oid elmtype, int elmlen, bool elmbyval, char elmalign)
{
	Size		size = ARR_OVERHEAD_NONULLS(1) + (Size) nelems * elmlen;
	ArrayType  *a;

	if (elmlen != 8 || !elmbyval)
		abort();
	a = palloc0(size);
	SET_VARSIZE(a, size);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = elmtype;
	ARR_DIMS(a)[0] = nelems;
	ARR_LBOUND(a)[0] = 1;
	for (int i = 0; i < nelems; i++)
		memcpy(ARR_DATA_PTR(a) + (Size) i * 8, &elems[i], 8);
	return a;
}

/* ---- hex (utils/adt/encode.c) ---- */

uint64
hex_encode(const char *src, size_t len, char *dst)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++)
	{
		*dst++ = digits[(unsigned char) src[i] >> 4];
		*dst++ = digits[(unsigned char) src[i] & 15];
	}
	return (uint64) len * 2;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid hexadecimal digit")));
	return 0;
}

uint64
hex_decode(const char *src, size_t len, char *dst)
{
	char	   *p = dst;

	for (size_t i = 0; i < len;)
	{
		if (src[i] == ' ' || src[i] == '\n' || src[i] == '\t' || src[i] == '\r')
		{
			i++;
			continue;
		}
		if (i + 1 >= len)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid hexadecimal data")));
		*p++ = (char) (hex_value(src[i]) << 4 | hex_value(src[i + 1]));
		i += 2;
	}
	return p - dst;
}

char *
MemoryContextStrdup(MemoryContext context, const char *string)
{
	return pstrdup(string);
}

/*-------------------------------------------------------------------------
 * agg_state.c
 *	  risk.aggregate_state: an aggregate's C structure as a type (see
 *	  agg_state.h).  Its expanded form in the aggregate, its flat form,
 *	  and its text (\x and hexadecimal) and binary I/O.
 *
 * The type's input checks the envelope (version, a known tag, a length);
 * the kind's reader checks the rest when an aggregate reads the state, so
 * that this layer knows no aggregate.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "nodes/nodeFuncs.h"
#include "nodes/value.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "agg_state.h"
#include "aggregates.h"

#define ENVELOPE_VERSION 1
#define ENVELOPE_BYTES 2
#define MAX_TAG AGG_STATE_VELOCITY

typedef struct ExpandedAggState
{
	ExpandedObjectHeader hdr;
	const AggStateKind *kind;
	void	   *state;			/* in the aggregate's memory */
	StringInfo	bytes;			/* the kind's bytes, between get_flat_size and flatten */
} ExpandedAggState;

Oid
risk_arg_type(FunctionCallInfo fcinfo, int argno)
{
	Oid			type = get_fn_expr_argtype(fcinfo->flinfo, argno);

	/* called without an expression (Citus calls the support functions so): as declared */
	if (!OidIsValid(type))
	{
		HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));

		if (!HeapTupleIsValid(tuple))
			elog(ERROR, "cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
		if (argno < ((Form_pg_proc) GETSTRUCT(tuple))->pronargs)
			type = ((Form_pg_proc) GETSTRUCT(tuple))->proargtypes.values[argno];
		ReleaseSysCache(tuple);
	}
	return type;
}

Oid
risk_agg_input_type(FunctionCallInfo fcinfo, int argno, const char *fn, Oid *collation)
{
	Oid			type = get_fn_expr_argtype(fcinfo->flinfo, argno);
	Aggref	   *aggref;
	Node	   *wrapped = NULL;
	Node	   *arg = NULL;

	*collation = PG_GET_COLLATION();
	if (OidIsValid(type))
		return type;
	aggref = AggGetAggref(fcinfo);
	if (aggref != NULL)
	{
		ListCell   *lc;

		/* the wrapper's last argument: ours, or the row of ours */
		foreach(lc, aggref->args)
			if (!((TargetEntry *) lfirst(lc))->resjunk)
				wrapped = (Node *) ((TargetEntry *) lfirst(lc))->expr;
		if (wrapped != NULL && IsA(wrapped, RowExpr))
		{
			List	   *fields = ((RowExpr *) wrapped)->args;

			arg = argno <= list_length(fields) ? list_nth(fields, argno - 1) : NULL;
			if (arg != NULL)
				*collation = exprCollation(arg);	/* a row's collation is none */
		}
		else if (argno == 1)
			arg = wrapped;
	}
	if (arg == NULL || exprType(arg) == RECORDOID)
		ereport(ERROR,
				(errcode(ERRCODE_INDETERMINATE_DATATYPE),
				 errmsg("could not determine the type of argument %d of %s", argno, fn),
				 errdetail("It was called without an expression and not by an aggregate that wraps it.")));
	return exprType(arg);
}

/* ------------------------------------------------------------------------
 * Types and collations in a state's bytes
 * ------------------------------------------------------------------------
 */

static void
write_named(StringInfo buf, Oid oid, Oid nsp, const char *name)
{
	char	   *nspname;

	pq_sendint32(buf, oid);
	if (oid >= FirstNormalObjectId)
	{
		/* with their NULs, in the server's encoding (pq_sendstring would convert them) */
		nspname = get_namespace_name(nsp);
		appendBinaryStringInfo(buf, nspname, strlen(nspname) + 1);
		appendBinaryStringInfo(buf, name, strlen(name) + 1);
	}
}

/* A NUL-terminated string of the bytes, checked. */
static const char *
read_string(StringInfo buf, const char *what)
{
	const char *s = buf->data + buf->cursor;
	const char *end = memchr(s, '\0', buf->len - buf->cursor);

	if (end == NULL)
		risk_state_corrupt(what, "A name in it has no end.");
	buf->cursor += end - s + 1;
	return s;
}

void
agg_state_write_type(StringInfo buf, Oid type)
{
	HeapTuple	tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(type));

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for type %u", type);
	write_named(buf, type, ((Form_pg_type) GETSTRUCT(tuple))->typnamespace,
				NameStr(((Form_pg_type) GETSTRUCT(tuple))->typname));
	ReleaseSysCache(tuple);
}

Oid
agg_state_read_type(StringInfo buf, const char *what)
{
	Oid			type;
	const char *nsp;
	const char *name;

	risk_state_need(buf, 4, what);
	type = pq_getmsgint(buf, 4);
	if (type < FirstNormalObjectId)
	{
		if (!SearchSysCacheExists1(TYPEOID, ObjectIdGetDatum(type)))
			risk_state_corrupt(what, psprintf("Its values are of type %u, which does not exist.", type));
		return type;
	}
	nsp = read_string(buf, what);
	name = read_string(buf, what);
	type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum(name),
						   ObjectIdGetDatum(get_namespace_oid(nsp, true)));
	if (!OidIsValid(type))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("type %s.%s of a state of %s does not exist", nsp, name, what),
				 errhint("Create the type on every node of the cluster.")));
	return type;
}

void
agg_state_write_collation(StringInfo buf, Oid collation)
{
	HeapTuple	tuple;

	if (collation < FirstNormalObjectId)
	{
		pq_sendint32(buf, collation);
		return;
	}
	tuple = SearchSysCache1(COLLOID, ObjectIdGetDatum(collation));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for collation %u", collation);
	write_named(buf, collation, ((Form_pg_collation) GETSTRUCT(tuple))->collnamespace,
				NameStr(((Form_pg_collation) GETSTRUCT(tuple))->collname));
	ReleaseSysCache(tuple);
}

Oid
agg_state_read_collation(StringInfo buf, const char *what)
{
	Oid			collation;
	const char *nsp;
	const char *name;

	risk_state_need(buf, 4, what);
	collation = pq_getmsgint(buf, 4);
	if (collation < FirstNormalObjectId)
	{
		if (OidIsValid(collation) && !SearchSysCacheExists1(COLLOID, ObjectIdGetDatum(collation)))
			risk_state_corrupt(what, psprintf("It is of collation %u, which does not exist.", collation));
		return collation;
	}
	nsp = read_string(buf, what);
	name = read_string(buf, what);
	collation = get_collation_oid(list_make2(makeString(pstrdup(nsp)), makeString(pstrdup(name))), true);
	if (!OidIsValid(collation))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("collation %s.%s of a state of %s does not exist", nsp, name, what),
				 errhint("Create the collation on every node of the cluster.")));
	return collation;
}

/* ------------------------------------------------------------------------
 * The expanded form
 * ------------------------------------------------------------------------
 */

static Size
eoh_flat_size(ExpandedObjectHeader *eohptr)
{
	ExpandedAggState *es = (ExpandedAggState *) eohptr;
	MemoryContext old;

	if (es->bytes == NULL)
	{
		old = MemoryContextSwitchTo(es->hdr.eoh_context);
		es->bytes = makeStringInfo();
		es->kind->write(es->state, es->bytes);
		MemoryContextSwitchTo(old);
	}
	return VARHDRSZ + ENVELOPE_BYTES + es->bytes->len;
}

static void
eoh_flatten(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	ExpandedAggState *es = (ExpandedAggState *) eohptr;
	char	   *p = (char *) result + VARHDRSZ;

	Assert(es->bytes != NULL && allocated_size == VARHDRSZ + ENVELOPE_BYTES + es->bytes->len);
	SET_VARSIZE(result, allocated_size);
	p[0] = ENVELOPE_VERSION;
	p[1] = es->kind->tag;
	memcpy(p + ENVELOPE_BYTES, es->bytes->data, es->bytes->len);
}

static const ExpandedObjectMethods agg_state_methods = {eoh_flat_size, eoh_flatten};

/* Ours when the datum is one of our expanded objects. */
static ExpandedAggState *
expanded_of(Datum d)
{
	ExpandedObjectHeader *eoh;

	if (!VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(d)))
		return NULL;
	eoh = DatumGetEOHP(d);
	return eoh->eoh_methods == &agg_state_methods ? (ExpandedAggState *) eoh : NULL;
}

static void
bad_state(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid risk.aggregate_state"),
			 errdetail("%s", detail)));
}

/* The envelope of a flat state checked; buf set over the kind's bytes. */
static uint8
envelope_read(const char *p, Size len, StringInfo buf)
{
	if (len < ENVELOPE_BYTES)
		bad_state("It ends early.");
	if ((uint8) p[0] != ENVELOPE_VERSION)
		bad_state(psprintf("Its format version is %d; this build reads version %d.", (uint8) p[0],
						   ENVELOPE_VERSION));
	if ((uint8) p[1] < 1 || (uint8) p[1] > MAX_TAG)
		bad_state(psprintf("It is of an unknown aggregate (kind %d).", (uint8) p[1]));
	buf->data = (char *) p + ENVELOPE_BYTES;
	buf->len = buf->maxlen = len - ENVELOPE_BYTES;
	buf->cursor = 0;
	return (uint8) p[1];
}

void *
agg_state_arg(FunctionCallInfo fcinfo, int argno, const AggStateKind *kind, MemoryContext aggcontext)
{
	Datum		d;
	ExpandedAggState *es;
	struct varlena *flat;
	StringInfoData buf;
	void	   *state;

	if (PG_ARGISNULL(argno))
		return NULL;
	if (risk_arg_type(fcinfo, argno) == INTERNALOID)
		return PG_GETARG_POINTER(argno);
	d = PG_GETARG_DATUM(argno);
	es = expanded_of(d);
	if (es != NULL && es->kind != kind)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s cannot read a state of %s", kind->name, es->kind->name)));
	/* to read; or to change, when it is the aggregate's read-write state, in its memory */
	if (es != NULL && (aggcontext == NULL || (VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(d)) &&
											  MemoryContextGetParent(es->hdr.eoh_context) == aggcontext)))
	{
		if (aggcontext != NULL && es->bytes != NULL)
		{
			/* about to change: what was written of it is stale */
			pfree(es->bytes->data);
			pfree(es->bytes);
			es->bytes = NULL;
		}
		return es->state;
	}
	/* a flat state, or an object that is not ours to change: a copy */
	if (es != NULL)
	{
		initStringInfo(&buf);
		kind->write(es->state, &buf);
	}
	else
	{
		flat = PG_DETOAST_DATUM(d);
		if (envelope_read(VARDATA(flat), VARSIZE(flat) - VARHDRSZ, &buf) != kind->tag)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s cannot read a state of another aggregate", kind->name),
					 errdetail("The state is of kind %d; %s's is %d.", (uint8) VARDATA(flat)[1], kind->name,
							   kind->tag)));
	}
	state = kind->read(&buf, aggcontext ? aggcontext : CurrentMemoryContext);
	if (buf.cursor != buf.len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid risk.aggregate_state"),
				 errdetail("A state of %s has bytes after its end.", kind->name)));
	return state;
}

Datum
agg_state_result(FunctionCallInfo fcinfo, void *state, const AggStateKind *kind, MemoryContext aggcontext)
{
	ExpandedAggState *es;
	MemoryContext cxt;

	if (state == NULL)
		PG_RETURN_NULL();
	if (risk_arg_type(fcinfo, 0) == INTERNALOID)
		PG_RETURN_POINTER(state);
	/* the state came in as the first argument (the only one a support function changes): the same object */
	if (!PG_ARGISNULL(0) && (es = expanded_of(PG_GETARG_DATUM(0))) != NULL && es->state == state &&
		VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(PG_GETARG_DATUM(0))))
		return PG_GETARG_DATUM(0);
	/* a new state: a small context of its own under the aggregate's, for the header */
	Assert(aggcontext != NULL);
	cxt = AllocSetContextCreate(aggcontext, "risk aggregate state", ALLOCSET_SMALL_SIZES);
	es = MemoryContextAllocZero(cxt, sizeof(ExpandedAggState));
	EOH_init_header(&es->hdr, &agg_state_methods, cxt);
	es->kind = kind;
	es->state = state;
	return EOHPGetRWDatum(&es->hdr);
}

/* ------------------------------------------------------------------------
 * Type I/O
 * ------------------------------------------------------------------------
 */

/* The flat form of a state datum (expanded or not). */
static struct varlena *
flat_of(Datum d)
{
	ExpandedAggState *es = expanded_of(d);
	struct varlena *flat;
	Size		size;

	if (es == NULL)
		return PG_DETOAST_DATUM(d);
	size = EOH_get_flat_size(&es->hdr);
	flat = palloc_extended(size, MCXT_ALLOC_HUGE);
	EOH_flatten_into(&es->hdr, flat, size);
	return flat;
}

static Datum
state_from_bytes(const char *p, Size len)
{
	StringInfoData buf;
	struct varlena *flat;

	envelope_read(p, len, &buf);
	flat = palloc_extended(VARHDRSZ + len, MCXT_ALLOC_HUGE);
	SET_VARSIZE(flat, VARHDRSZ + len);
	memcpy(VARDATA(flat), p, len);
	PG_RETURN_POINTER(flat);
}

PG_FUNCTION_INFO_V1(risk_aggregate_state_in);
Datum
risk_aggregate_state_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);
	size_t		len = strlen(text);
	char	   *bytes;
	uint64		n;

	if (len < 2 || text[0] != '\\' || text[1] != 'x')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type risk.aggregate_state"),
				 errdetail("An aggregate state is written \\x followed by hexadecimal digits.")));
	bytes = palloc_extended((len - 2) / 2 + 1, MCXT_ALLOC_HUGE);
	n = hex_decode(text + 2, len - 2, bytes);
	return state_from_bytes(bytes, n);
}

PG_FUNCTION_INFO_V1(risk_aggregate_state_out);
Datum
risk_aggregate_state_out(PG_FUNCTION_ARGS)
{
	struct varlena *flat = flat_of(PG_GETARG_DATUM(0));
	Size		len = VARSIZE(flat) - VARHDRSZ;
	char	   *text = palloc_extended(2 * len + 3, MCXT_ALLOC_HUGE);

	text[0] = '\\';
	text[1] = 'x';
	text[2 + hex_encode(VARDATA(flat), len, text + 2)] = '\0';
	PG_RETURN_CSTRING(text);
}

PG_FUNCTION_INFO_V1(risk_aggregate_state_recv);
Datum
risk_aggregate_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	const char *p = buf->data + buf->cursor;
	Size		len = buf->len - buf->cursor;

	buf->cursor = buf->len;
	return state_from_bytes(p, len);
}

PG_FUNCTION_INFO_V1(risk_aggregate_state_send);
Datum
risk_aggregate_state_send(PG_FUNCTION_ARGS)
{
	struct varlena *flat = flat_of(PG_GETARG_DATUM(0));
	StringInfoData buf;

	pq_begintypsend(&buf);
	appendBinaryStringInfo(&buf, VARDATA(flat), VARSIZE(flat) - VARHDRSZ);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

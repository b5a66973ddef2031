/*-------------------------------------------------------------------------
 * metrics_state.c
 *	  The sample of the rank metrics as a type, risk.metric_sample: the
 *	  state of risk.auc, ks, the curves, psi and the other aggregates over
 *	  the exact sample, so that Citus computes it on each worker and
 *	  combines it on the coordinator (it ships a partial state as the text
 *	  of its type, which an internal state has none of).
 *
 * In an aggregate, the state is an expanded object holding the MetricSample
 * the transition function grows in place, in the aggregate's memory: no
 * copy per row.  It is flattened only when it leaves the aggregate: to a
 * parallel query's leader, to Citus's coordinator, to text.
 *
 * Binary form (portable, versioned): the version byte; a byte of flags
 * (weighted, has a parameter, parameter set); the parameter (float8); then
 * per class (negatives, positives) n (int64), the total weight (float8), n
 * scores and, when weighted, n weights (float8).  Text: \x and the
 * hexadecimal of the binary form.
 *
 * The support functions serve the aggregates of either state type: one C
 * function is declared for internal (risk 0.1.0's aggregates, kept
 * readable) and for risk.metric_sample.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/expandeddatum.h"
#include "utils/memutils.h"

#include "agg_state.h"
#include "metrics.h"

#define STATE_VERSION 1
#define FLAG_WEIGHTED 1
#define FLAG_HAS_PARAM 2
#define FLAG_PARAM_SET 4
#define HEADER_BYTES (1 + 1 + 8)
#define CLASS_BYTES (8 + 8)

typedef struct ExpandedSample
{
	ExpandedObjectHeader hdr;
	MetricSample sample;
} ExpandedSample;

static Size
sample_flat_size(const MetricSample *s)
{
	Size		size = VARHDRSZ + HEADER_BYTES;

	for (int k = 0; k < 2; k++)
		size += CLASS_BYTES + sizeof(double) * (Size) s->cls[k].n * (s->weighted ? 2 : 1);
	return size;
}

static char *
put8(char *p, uint64 v)
{
	v = pg_hton64(v);
	memcpy(p, &v, 8);
	return p + 8;
}

static char *
put_double(char *p, double d)
{
	uint64		v;

	memcpy(&v, &d, 8);
	return put8(p, v);
}

static void
sample_flatten(const MetricSample *s, void *result, Size size)
{
	char	   *p = (char *) result + VARHDRSZ;

	SET_VARSIZE(result, size);
	*p++ = STATE_VERSION;
	*p++ = (s->weighted ? FLAG_WEIGHTED : 0) | (s->has_param ? FLAG_HAS_PARAM : 0) | (s->param_set ? FLAG_PARAM_SET : 0);
	p = put_double(p, s->param);
	for (int k = 0; k < 2; k++)
	{
		const ClassScores *c = &s->cls[k];

		p = put8(p, (uint64) c->n);
		p = put_double(p, c->total);
		for (int64 i = 0; i < c->n; i++)
			p = put_double(p, c->score[i]);
		if (s->weighted)
			for (int64 i = 0; i < c->n; i++)
				p = put_double(p, c->weight[i]);
	}
	Assert(p == (char *) result + size);
}

static Size
eoh_flat_size(ExpandedObjectHeader *eohptr)
{
	return sample_flat_size(&((ExpandedSample *) eohptr)->sample);
}

static void
eoh_flatten(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	sample_flatten(&((ExpandedSample *) eohptr)->sample, result, allocated_size);
}

static const ExpandedObjectMethods sample_methods = {eoh_flat_size, eoh_flatten};

/* ------------------------------------------------------------------------
 * Reading the binary form
 * ------------------------------------------------------------------------
 */

static void
bad_sample(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid risk.metric_sample"),
			 errdetail("%s", detail)));
}

static uint64
get8(const char **p, const char *end)
{
	uint64		v;

	if (end - *p < 8)
		bad_sample("It ends early.");
	memcpy(&v, *p, 8);
	*p += 8;
	return pg_ntoh64(v);
}

static double
get_double(const char **p, const char *end)
{
	uint64		v = get8(p, end);
	double		d;

	memcpy(&d, &v, 8);
	return d;
}

/* The sample of a binary form, checked in full, its arrays in the current memory context. */
static void
sample_read(const char *p, const char *end, MetricSample *s)
{
	uint8		flags;

	memset(s, 0, sizeof(*s));
	if (end - p < 2)
		bad_sample("It ends early.");
	if ((uint8) *p != STATE_VERSION)
		bad_sample(psprintf("Its format version is %d; this build reads version %d.", (uint8) *p, STATE_VERSION));
	flags = (uint8) p[1];
	p += 2;
	if (flags & ~(FLAG_WEIGHTED | FLAG_HAS_PARAM | FLAG_PARAM_SET))
		bad_sample("It has unknown flags.");
	s->weighted = (flags & FLAG_WEIGHTED) != 0;
	s->has_param = (flags & FLAG_HAS_PARAM) != 0;
	s->param_set = (flags & FLAG_PARAM_SET) != 0;
	s->param = get_double(&p, end);
	for (int k = 0; k < 2; k++)
	{
		ClassScores *c = &s->cls[k];
		uint64		n = get8(&p, end);
		double		total = 0;

		if (n > (uint64) (end - p) / (sizeof(double) * (s->weighted ? 2 : 1)))
			bad_sample("It holds fewer scores than it counts.");
		c->n = c->cap = (int64) n;
		c->total = get_double(&p, end);
		if (n > 0)
		{
			c->score = palloc_extended(sizeof(double) * n, MCXT_ALLOC_HUGE);
			if (s->weighted)
				c->weight = palloc_extended(sizeof(double) * n, MCXT_ALLOC_HUGE);
		}
		for (uint64 i = 0; i < n; i++)
		{
			c->score[i] = get_double(&p, end);
			if (isnan(c->score[i]))
				bad_sample("It holds a NaN score.");
		}
		if (s->weighted)
			for (uint64 i = 0; i < n; i++)
			{
				c->weight[i] = get_double(&p, end);
				if (!(c->weight[i] >= 0) || isinf(c->weight[i]))
					bad_sample("It holds a weight that is negative or not finite.");
				total += c->weight[i];
			}
		else
			total = (double) n;
		/*
		 * the total is the sum of the weights, added in another order
		 * (combined states): equal to n * eps, 1e-6 up to 10^10 rows
		 */
		if (!(fabs(c->total - total) <= 1e-6 * Max(1.0, fabs(total))))
			bad_sample("Its total weight is not the sum of its weights.");
	}
	if (p != end)
		bad_sample("It has bytes after its end.");
}

/* ------------------------------------------------------------------------
 * The state of the support functions
 * ------------------------------------------------------------------------
 */

bool
metric_state_typed(FunctionCallInfo fcinfo)
{
	return risk_arg_type(fcinfo, 0) != INTERNALOID;
}

MetricSample *
metric_state_new(MemoryContext aggcontext, bool typed)
{
	ExpandedSample *es;
	MemoryContext cxt;

	if (!typed)
		return MemoryContextAllocZero(aggcontext, sizeof(MetricSample));
	/* its own context, under the aggregate's (one per group: small) */
	cxt = AllocSetContextCreate(aggcontext, "risk metric sample", ALLOCSET_SMALL_SIZES);
	es = MemoryContextAllocZero(cxt, sizeof(ExpandedSample));
	EOH_init_header(&es->hdr, &sample_methods, cxt);
	return &es->sample;
}

MemoryContext
metric_state_context(MetricSample *s, MemoryContext aggcontext, bool typed)
{
	return typed ? ((ExpandedSample *) ((char *) s - offsetof(ExpandedSample, sample)))->hdr.eoh_context : aggcontext;
}

Datum
metric_state_datum(MetricSample *s, bool typed)
{
	if (!typed)
		return PointerGetDatum(s);
	return EOHPGetRWDatum(&((ExpandedSample *) ((char *) s - offsetof(ExpandedSample, sample)))->hdr);
}

/* Ours when the datum is one of our expanded objects. */
static ExpandedSample *
expanded_of(Datum d)
{
	ExpandedObjectHeader *eoh;

	if (!VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(d)))
		return NULL;
	eoh = DatumGetEOHP(d);
	return eoh->eoh_methods == &sample_methods ? (ExpandedSample *) eoh : NULL;
}

static struct varlena *flat_of(Datum d);

MetricSample *
metric_state_arg(FunctionCallInfo fcinfo, int argno, MemoryContext aggcontext, bool typed)
{
	Datum		d;
	ExpandedSample *es;
	MetricSample *s;
	struct varlena *flat;
	MemoryContext old;

	if (PG_ARGISNULL(argno))
		return NULL;
	if (!typed)
		return (MetricSample *) PG_GETARG_POINTER(argno);
	d = PG_GETARG_DATUM(argno);
	es = expanded_of(d);
	/* to read; or to change, when it is the aggregate's read-write state, in its memory */
	if (es != NULL && (aggcontext == NULL || (VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(d)) &&
											  MemoryContextGetParent(es->hdr.eoh_context) == aggcontext)))
		return &es->sample;
	/* a flat sample, or an object that is not ours to change: a copy */
	flat = flat_of(d);
	s = aggcontext ? metric_state_new(aggcontext, true) : palloc0(sizeof(MetricSample));
	old = MemoryContextSwitchTo(aggcontext ? metric_state_context(s, aggcontext, true) : CurrentMemoryContext);
	sample_read(VARDATA_ANY(flat), VARDATA_ANY(flat) + VARSIZE_ANY_EXHDR(flat), s);
	MemoryContextSwitchTo(old);
	return s;
}

/* ------------------------------------------------------------------------
 * Type I/O
 * ------------------------------------------------------------------------
 */

/* The flat form of a sample datum (expanded or not). */
static struct varlena *
flat_of(Datum d)
{
	ExpandedSample *es = expanded_of(d);
	struct varlena *flat;
	Size		size;

	if (es == NULL)
		return (struct varlena *) PG_DETOAST_DATUM(d);
	size = sample_flat_size(&es->sample);
	flat = palloc_extended(size, MCXT_ALLOC_HUGE);
	sample_flatten(&es->sample, flat, size);
	return flat;
}

/* A checked flat sample of bytes. */
static Datum
sample_from_bytes(const char *p, Size len)
{
	MetricSample s;
	Size		size;
	struct varlena *flat;

	sample_read(p, p + len, &s);
	size = sample_flat_size(&s);
	flat = palloc_extended(size, MCXT_ALLOC_HUGE);
	sample_flatten(&s, flat, size);
	PG_RETURN_POINTER(flat);
}

PG_FUNCTION_INFO_V1(risk_metric_sample_in);
Datum
risk_metric_sample_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);
	size_t		len = strlen(text);
	char	   *bytes;
	uint64		n;

	if (len < 2 || text[0] != '\\' || text[1] != 'x')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type risk.metric_sample"),
				 errdetail("A metric sample is written \\x followed by hexadecimal digits.")));
	bytes = palloc_extended((len - 2) / 2 + 1, MCXT_ALLOC_HUGE);
	n = hex_decode(text + 2, len - 2, bytes);
	return sample_from_bytes(bytes, n);
}

PG_FUNCTION_INFO_V1(risk_metric_sample_out);
Datum
risk_metric_sample_out(PG_FUNCTION_ARGS)
{
	struct varlena *flat = flat_of(PG_GETARG_DATUM(0));
	Size		len = VARSIZE_ANY_EXHDR(flat);
	char	   *text = palloc_extended(2 * len + 3, MCXT_ALLOC_HUGE);

	text[0] = '\\';
	text[1] = 'x';
	text[2 + hex_encode(VARDATA_ANY(flat), len, text + 2)] = '\0';
	PG_RETURN_CSTRING(text);
}

PG_FUNCTION_INFO_V1(risk_metric_sample_recv);
Datum
risk_metric_sample_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	const char *p = buf->data + buf->cursor;
	Size		len = buf->len - buf->cursor;

	buf->cursor = buf->len;
	return sample_from_bytes(p, len);
}

PG_FUNCTION_INFO_V1(risk_metric_sample_send);
Datum
risk_metric_sample_send(PG_FUNCTION_ARGS)
{
	struct varlena *flat = flat_of(PG_GETARG_DATUM(0));
	StringInfoData buf;

	pq_begintypsend(&buf);
	appendBinaryStringInfo(&buf, VARDATA_ANY(flat), VARSIZE_ANY_EXHDR(flat));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

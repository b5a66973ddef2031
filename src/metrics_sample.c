/*-------------------------------------------------------------------------
 * metrics_sample.c
 *	  The rows of the metric aggregates: score, label (boolean, or integer
 *	  0/1) and weight, checked; and the sample the rank metrics keep (every
 *	  score, by class), with its combine, serialize and deserialize
 *	  functions for parallel aggregation, its sort, and a walk over its
 *	  distinct scores from the highest down.
 *
 * The rank metrics are exact, so they keep every score: 8 bytes a row (16
 * with weights).  A radix sort on the scores' bits (four passes of 16 bits,
 * a pass skipped where every score shares its digit) orders 10,000,000
 * rows in a fraction of a second.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "nodes/primnodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "agg_state.h"
#include "metrics.h"

#define SAMPLE_VERSION 1
#define MIN_CAP 64
#define RADIX_BITS 16
#define RADIX_SIZE (1 << RADIX_BITS)
#define SMALL_SORT 2048			/* fewer scores: qsort */

/* ------------------------------------------------------------------------
 * Rows and parameters
 * ------------------------------------------------------------------------
 */

const char *
metric_name(FunctionCallInfo fcinfo)
{
	Aggref	   *agg = AggGetAggref(fcinfo);
	char	   *name = NULL;

	/* a window aggregate has no Aggref: only a plain function names itself */
	if (agg != NULL)
		name = get_func_name(agg->aggfnoid);
	else if (!AggCheckCallContext(fcinfo, NULL))
		name = get_func_name(fcinfo->flinfo->fn_oid);

	return name ? psprintf("risk.%s", name) : "a risk metric";
}

/* The label argument's type, looked up once per call site. */
static Oid
label_type(FunctionCallInfo fcinfo, int argno)
{
	Oid		   *type = fcinfo->flinfo->fn_extra;

	if (type == NULL)
	{
		type = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(Oid));
		*type = risk_arg_type(fcinfo, argno);
		fcinfo->flinfo->fn_extra = type;
	}
	return *type;
}

bool
metric_row(FunctionCallInfo fcinfo, int argno, int weight_argno, MetricRow *row)
{
	if (PG_ARGISNULL(argno) || PG_ARGISNULL(argno + 1) ||
		(weight_argno >= 0 && PG_ARGISNULL(weight_argno)))
		return false;
	row->score = PG_GETARG_FLOAT8(argno);
	if (isnan(row->score))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s cannot rank a NaN score", metric_name(fcinfo)),
				 errhint("Leave such rows out, e.g. FILTER (WHERE score <> 'NaN').")));
	if (row->score == 0)
		row->score = 0;			/* -0 as 0: one value, one key */
	if (label_type(fcinfo, argno + 1) == BOOLOID)
		row->label = PG_GETARG_BOOL(argno + 1);
	else if (label_type(fcinfo, argno + 1) == FLOAT8OID)
	{
		/* numeric, bigint, real, ... labels: any number that is 0 or 1 */
		float8		v = PG_GETARG_FLOAT8(argno + 1);

		if (v != 0 && v != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s label must be 0 or 1, not %g", metric_name(fcinfo), v),
					 errhint("Labels are 1 for a positive (bad) row, 0 for a negative one; a boolean will do too.")));
		row->label = (v == 1);
	}
	else
	{
		int32		v = PG_GETARG_INT32(argno + 1);

		if (v != 0 && v != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s label must be 0 or 1, not %d", metric_name(fcinfo), v),
					 errhint("Labels are 1 for a positive (bad) row, 0 for a negative one; a boolean will do too.")));
		row->label = (v == 1);
	}
	row->weight = 1;
	if (weight_argno >= 0)
	{
		row->weight = PG_GETARG_FLOAT8(weight_argno);
		if (isnan(row->weight) || isinf(row->weight) || row->weight < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s weight must be a finite number >= 0, not %g",
							metric_name(fcinfo), row->weight)));
		if (row->weight > METRIC_MAX_WEIGHT)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s weight must be at most 1e100, not %g", metric_name(fcinfo), row->weight),
					 errhint("Scale the weights down: the metrics depend only on their ratios.")));
	}
	return true;
}

double
metric_param(FunctionCallInfo fcinfo, int argno, double lo, bool lo_open,
			 double hi, bool has_kept, double kept)
{
	double		v;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s needs a parameter, not NULL", metric_name(fcinfo))));
	v = PG_GETARG_FLOAT8(argno);
	if (isnan(v) || v > hi || v < lo || (lo_open && v == lo))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s parameter must lie in %s%g, %g], not %g",
						metric_name(fcinfo), lo_open ? "(" : "[", lo, hi, v)));
	if (has_kept && v != kept)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs the same parameter on every row of a group (%g, then %g)",
						metric_name(fcinfo), kept, v)));
	return v;
}

/* ------------------------------------------------------------------------
 * The states of the streaming metrics
 * ------------------------------------------------------------------------
 */

double *
metric_array_arg(FunctionCallInfo fcinfo, int argno, int len)
{
	ArrayType  *arr;

	if (PG_ARGISNULL(argno))
		return NULL;
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) != 1 || ARR_DIMS(arr)[0] != len || ARR_HASNULL(arr) ||
		ARR_ELEMTYPE(arr) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s state must be an array of %d numbers", metric_name(fcinfo), len)));
	return (double *) ARR_DATA_PTR(arr);
}

ArrayType *
metric_array_state(FunctionCallInfo fcinfo, int argno, int len)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "a risk metric");
	Datum	   *zeros;
	ArrayType  *arr;
	MemoryContext old;

	if (!PG_ARGISNULL(argno))
	{
		metric_array_arg(fcinfo, argno, len);
		return PG_GETARG_ARRAYTYPE_P(argno);
	}
	old = MemoryContextSwitchTo(aggcontext);
	zeros = palloc(sizeof(Datum) * len);
	for (int i = 0; i < len; i++)
		zeros[i] = Float8GetDatum(0);
	arr = construct_array(zeros, len, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	MemoryContextSwitchTo(old);
	return arr;
}

/* ------------------------------------------------------------------------
 * The sample
 * ------------------------------------------------------------------------
 */

static void
class_grow(ClassScores *c, bool weighted)
{
	int64		cap = c->cap ? c->cap * 2 : MIN_CAP;

	if (c->score == NULL)
	{
		c->score = palloc_extended(sizeof(double) * cap, MCXT_ALLOC_HUGE);
		if (weighted)
			c->weight = palloc_extended(sizeof(double) * cap, MCXT_ALLOC_HUGE);
	}
	else
	{
		c->score = repalloc_huge(c->score, sizeof(double) * cap);
		if (weighted)
			c->weight = repalloc_huge(c->weight, sizeof(double) * cap);
	}
	c->cap = cap;
}

static void
class_add(ClassScores *c, bool weighted, double score, double weight)
{
	if (c->n == c->cap)
		class_grow(c, weighted);
	c->score[c->n] = score;
	if (weighted)
		c->weight[c->n] = weight;
	c->n++;
	c->total += weight;
}

/* What the argument after the label is: nothing, a rate, or a count of bins. */
typedef enum
{
	PARAM_NONE, PARAM_RATE, PARAM_BINS
} ParamSort;

/* The parameter of a row, in argument 3: the same on every row. */
static void
sample_param(FunctionCallInfo fcinfo, MetricSample *s, ParamSort kind)
{
	if (kind == PARAM_RATE)
		/* a rate in [0, 1]; the final function checks what more it needs */
		s->param = metric_param(fcinfo, 3, 0, false, 1, s->param_set, s->param);
	else
	{
		double		bins;

		if (PG_ARGISNULL(3))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s needs a number of bins, not NULL", metric_name(fcinfo))));
		bins = PG_GETARG_INT32(3);
		if (!s->param_set)		/* checked once: the name costs a lookup */
			curve_bins(metric_name(fcinfo), bins);
		else if (bins != s->param)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s needs the same parameter on every row of a group (%g, then %g)",
							metric_name(fcinfo), s->param, bins)));
		s->param = bins;
	}
	s->param_set = true;
}

/*
 * The transition: risk_metric_add(state, score, label[, weight]), and
 * risk_metric_add_param(state, score, label, rate[, weight]) or
 * risk_metric_add_bins(state, score, label, bins[, weight]) for the
 * metrics with a parameter.
 */
static Datum
sample_add(FunctionCallInfo fcinfo, ParamSort kind)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk_metric_add");
	bool		typed = metric_state_typed(fcinfo);
	MetricSample *s = metric_state_arg(fcinfo, 0, aggcontext, typed);
	int			weight_argno = PG_NARGS() > (kind != PARAM_NONE ? 4 : 3) ? PG_NARGS() - 1 : -1;
	MetricRow	row;
	MemoryContext old;

	if (s == NULL)
	{
		s = metric_state_new(aggcontext, typed);
		s->weighted = weight_argno >= 0;
		s->has_param = kind != PARAM_NONE;
	}
	if (kind != PARAM_NONE)
		sample_param(fcinfo, s, kind);
	if (!metric_row(fcinfo, 1, weight_argno, &row))
		return metric_state_datum(s, typed);
	old = MemoryContextSwitchTo(metric_state_context(s, aggcontext, typed));
	class_add(&s->cls[row.label], s->weighted, row.score, row.weight);
	MemoryContextSwitchTo(old);
	s->sorted = false;
	return metric_state_datum(s, typed);
}

PG_FUNCTION_INFO_V1(risk_metric_add);
Datum
risk_metric_add(PG_FUNCTION_ARGS)
{
	return sample_add(fcinfo, PARAM_NONE);
}

PG_FUNCTION_INFO_V1(risk_metric_add_param);
Datum
risk_metric_add_param(PG_FUNCTION_ARGS)
{
	return sample_add(fcinfo, PARAM_RATE);
}

PG_FUNCTION_INFO_V1(risk_metric_add_bins);
Datum
risk_metric_add_bins(PG_FUNCTION_ARGS)
{
	return sample_add(fcinfo, PARAM_BINS);
}

PG_FUNCTION_INFO_V1(risk_metric_combine);
Datum
risk_metric_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk_metric_combine");
	bool		typed = metric_state_typed(fcinfo);
	MetricSample *a = metric_state_arg(fcinfo, 0, aggcontext, typed);
	MetricSample *b = metric_state_arg(fcinfo, 1, NULL, typed);
	MemoryContext old;

	if (b == NULL)
		return a == NULL ? risk_combine_first(fcinfo, NULL) : metric_state_datum(a, typed);
	if (a == NULL)
	{
		a = metric_state_new(aggcontext, typed);
		a->weighted = b->weighted;
		a->has_param = b->has_param;
	}
	if (!a->param_set)
	{
		a->param = b->param;
		a->param_set = b->param_set;
	}
	else if (b->param_set && a->param != b->param)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs the same parameter on every row of a group (%g, then %g)",
						metric_name(fcinfo), a->param, b->param)));
	old = MemoryContextSwitchTo(metric_state_context(a, aggcontext, typed));
	for (int k = 0; k < 2; k++)
	{
		ClassScores *ca = &a->cls[k];
		const ClassScores *cb = &b->cls[k];

		while (ca->cap < ca->n + cb->n)
			class_grow(ca, a->weighted);
		if (cb->n > 0)
		{
			memcpy(ca->score + ca->n, cb->score, sizeof(double) * cb->n);
			if (a->weighted)
				memcpy(ca->weight + ca->n, cb->weight, sizeof(double) * cb->n);
		}
		ca->n += cb->n;
		ca->total += cb->total;
	}
	MemoryContextSwitchTo(old);
	a->sorted = false;
	return metric_state_datum(a, typed);
}

/*
 * Serialized (between parallel workers of one server, so in the machine's
 * layout): version, weighted, has_param, param_set, param, then per class n, total,
 * scores and weights.
 */
PG_FUNCTION_INFO_V1(risk_metric_serialize);
Datum
risk_metric_serialize(PG_FUNCTION_ARGS)
{
	MetricSample *s = (MetricSample *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	risk_aggcontext(fcinfo, "risk_metric_serialize");
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, SAMPLE_VERSION);
	pq_sendbyte(&buf, s->weighted);
	pq_sendbyte(&buf, s->has_param);
	pq_sendbyte(&buf, s->param_set);
	pq_sendfloat8(&buf, s->param);
	for (int k = 0; k < 2; k++)
	{
		const ClassScores *c = &s->cls[k];

		pq_sendint64(&buf, c->n);
		pq_sendfloat8(&buf, c->total);
		appendBinaryStringInfo(&buf, (char *) c->score, sizeof(double) * c->n);
		if (s->weighted)
			appendBinaryStringInfo(&buf, (char *) c->weight, sizeof(double) * c->n);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(risk_metric_deserialize);
Datum
risk_metric_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk_metric_deserialize");
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	MetricSample *s;
	MemoryContext old = MemoryContextSwitchTo(aggcontext);

	risk_state_reader(&buf, bytes, SAMPLE_VERSION, "metric sample");
	s = palloc0(sizeof(MetricSample));
	s->weighted = pq_getmsgbyte(&buf);
	s->has_param = pq_getmsgbyte(&buf);
	s->param_set = pq_getmsgbyte(&buf);
	s->param = pq_getmsgfloat8(&buf);
	for (int k = 0; k < 2; k++)
	{
		ClassScores *c = &s->cls[k];
		int64		n = pq_getmsgint64(&buf);

		if (n < 0 || n > (buf.len - buf.cursor) / (int64) sizeof(double))
			elog(ERROR, "metric sample state is corrupted");
		c->total = pq_getmsgfloat8(&buf);
		while (c->cap < n)
			class_grow(c, s->weighted);
		if (n > 0)
		{
			memcpy(c->score, pq_getmsgbytes(&buf, sizeof(double) * n), sizeof(double) * n);
			if (s->weighted)
				memcpy(c->weight, pq_getmsgbytes(&buf, sizeof(double) * n), sizeof(double) * n);
		}
		c->n = n;
	}
	pq_getmsgend(&buf);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(s);
}

/* ------------------------------------------------------------------------
 * Sorting
 * ------------------------------------------------------------------------
 */

/* A double's bits as an unsigned key in the same order (no NaN). */
static inline uint64
score_key(double x)
{
	uint64		u;

	memcpy(&u, &x, sizeof(u));
	return (u >> 63) ? ~u : u | (UINT64CONST(1) << 63);
}

static inline double
key_score(uint64 k)
{
	uint64		u = (k >> 63) ? k & ~(UINT64CONST(1) << 63) : ~k;
	double		x;

	memcpy(&x, &u, sizeof(x));
	return x;
}

typedef struct KeyWeight
{
	uint64		key;
	double		weight;
} KeyWeight;

static int
cmp_key(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a;
	uint64		y = *(const uint64 *) b;

	return x < y ? -1 : x > y;
}

/* Small classes: qsort, the weights along. */
static void
sort_small(ClassScores *c, uint64 *keys)
{
	if (c->weight == NULL)
	{
		qsort(keys, c->n, sizeof(uint64), cmp_key);
		return;
	}
	else
	{
		KeyWeight  *kw = palloc(sizeof(KeyWeight) * c->n);

		for (int64 i = 0; i < c->n; i++)
		{
			kw[i].key = keys[i];
			kw[i].weight = c->weight[i];
		}
		qsort(kw, c->n, sizeof(KeyWeight), cmp_key);
		for (int64 i = 0; i < c->n; i++)
		{
			keys[i] = kw[i].key;
			c->weight[i] = kw[i].weight;
		}
		pfree(kw);
	}
}

/* LSD radix sort of the keys (and weights along), four 16-bit digits. */
static void
sort_radix(ClassScores *c, uint64 *keys)
{
	int64		n = c->n;
	uint64	   *tmp = palloc_extended(sizeof(uint64) * n, MCXT_ALLOC_HUGE);
	double	   *wtmp = c->weight ? palloc_extended(sizeof(double) * n, MCXT_ALLOC_HUGE) : NULL;
	int64	   *count = palloc0(sizeof(int64) * 4 * RADIX_SIZE);
	uint64	   *src = keys;
	uint64	   *dst = tmp;
	double	   *wsrc = c->weight;
	double	   *wdst = wtmp;

	for (int64 i = 0; i < n; i++)
		for (int d = 0; d < 4; d++)
			count[d * RADIX_SIZE + ((keys[i] >> (d * RADIX_BITS)) & (RADIX_SIZE - 1))]++;
	for (int d = 0; d < 4; d++)
	{
		int64	   *cnt = count + d * RADIX_SIZE;
		int64		sum = 0;
		int			shift = d * RADIX_BITS;

		if (cnt[(src[0] >> shift) & (RADIX_SIZE - 1)] == n)
			continue;			/* every key has this digit */
		for (int b = 0; b < RADIX_SIZE; b++)
		{
			int64		t = cnt[b];

			cnt[b] = sum;
			sum += t;
		}
		for (int64 i = 0; i < n; i++)
		{
			int64		at = cnt[(src[i] >> shift) & (RADIX_SIZE - 1)]++;

			dst[at] = src[i];
			if (wsrc)
				wdst[at] = wsrc[i];
		}
		{
			uint64	   *t = src;
			double	   *wt = wsrc;

			src = dst;
			dst = t;
			wsrc = wdst;
			wdst = wt;
		}
		CHECK_FOR_INTERRUPTS();
	}
	if (src != keys)
	{
		memcpy(keys, src, sizeof(uint64) * n);
		if (c->weight)
			memcpy(c->weight, wsrc, sizeof(double) * n);
	}
	pfree(tmp);
	if (wtmp)
		pfree(wtmp);
	pfree(count);
}

void
metric_sample_sort(MetricSample *s)
{
	if (s->sorted)
		return;
	for (int k = 0; k < 2; k++)
	{
		ClassScores *c = &s->cls[k];
		uint64	   *keys = (uint64 *) c->score;	/* sorted in place, as keys */

		if (c->n < 2)
			continue;
		for (int64 i = 0; i < c->n; i++)
			keys[i] = score_key(c->score[i]);
		if (c->n < SMALL_SORT)
			sort_small(c, keys);
		else
			sort_radix(c, keys);
		for (int64 i = 0; i < c->n; i++)
			c->score[i] = key_score(keys[i]);
	}
	s->sorted = true;
}

/* ------------------------------------------------------------------------
 * Distinct scores, from the highest down
 * ------------------------------------------------------------------------
 */

void
ranked_sample(Ranked *r, MetricSample *s)
{
	metric_sample_sort(s);
	memset(r, 0, sizeof(*r));
	r->sample = s;
	for (int k = 0; k < 2; k++)
	{
		r->total[k] = s->cls[k].total;
		r->rows += (double) s->cls[k].n;
	}
}

bool
final_ranked(FunctionCallInfo fcinfo, bool one_class, Ranked *r)
{
	MetricSample *s;

	s = metric_state_arg(fcinfo, 0, NULL, metric_state_typed(fcinfo));
	if (s == NULL)
		return false;
	if (s->cls[0].n + s->cls[1].n == 0 ||
		(!one_class && (s->cls[0].total <= 0 || s->cls[1].total <= 0)))
		return false;
	ranked_sample(r, s);
	return true;
}

void
group_cursor_init(GroupCursor *c, const Ranked *r)
{
	memset(c, 0, sizeof(*c));
	c->r = r;
	if (r->sample)
	{
		Assert(r->sample->sorted);
		c->at[0] = r->sample->cls[0].n;
		c->at[1] = r->sample->cls[1].n;
	}
	else
		c->bin = summary_stored_bins(r->summary);
}

bool
group_cursor_next(GroupCursor *c, ScoreGroup *g)
{
	const MetricSample *s = c->r->sample;
	bool		any = false;

	if (s == NULL)
		return summary_cursor_next(c, g);
	for (int k = 0; k < 2; k++)
		if (c->at[k] > 0)
		{
			double		v = s->cls[k].score[c->at[k] - 1];

			if (!any || v > g->score)
				g->score = v;
			any = true;
		}
	if (!any)
		return false;
	g->rows = 0;
	for (int k = 0; k < 2; k++)
	{
		const ClassScores *cl = &s->cls[k];
		int64		end = c->at[k];

		g->weight[k] = 0;
		while (c->at[k] > 0 && cl->score[c->at[k] - 1] == g->score)
		{
			c->at[k]--;
			g->weight[k] += cl->weight ? cl->weight[c->at[k]] : 1;
		}
		g->rows += (double) (end - c->at[k]);
		c->flagged[k] += g->weight[k];
		g->flagged[k] = c->flagged[k];
	}
	return true;
}

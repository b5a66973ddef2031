/*-------------------------------------------------------------------------
 * metrics_drift.c
 *	  Distribution drift: risk.psi (population stability index, of a score)
 *	  and risk.csi (characteristic stability index, the same of a feature),
 *	  and risk.psi_table, the bins they are made of; for a categorical
 *	  feature, risk.csi(category text, actual) and risk.csi_table, one bin
 *	  per category.
 *
 * One aggregate over both samples: risk.psi(value, actual[, bins]), actual
 * true for the rows of the period under watch and false for the reference
 * (expected) rows, e.g. the training period.  The bins are the reference's
 * quantiles: edge k of B is the reference value at rank ceil(k n / B) of n
 * ascending, edges that repeat (ties) are merged, and a bin holds the values
 * above its lower edge up to its upper edge.  Then
 *
 *		PSI = sum over bins of (A - E) ln(A / E)
 *
 * with A and E the shares of the actual and the reference rows in the bin,
 * a share of 0 counted as 0.0001 (EPSILON) so that an empty bin adds a
 * large but finite term.  Below 0.1 reads as stable, 0.1 to 0.25 as a
 * shift, above 0.25 as a major shift.  The state is the sample of the rank
 * metrics (metrics_sample.c), the reference as class 0 and the actual rows
 * as class 1; NULL values are skipped, and either sample empty gives NULL.
 * Categories keep a hash table of their counts on each side.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"

#include "agg_state.h"
#include "metrics.h"

#define EPSILON 0.0001

typedef struct DriftBin
{
	double		upper;			/* +Infinity for the last */
	int64		count[2];		/* reference, actual */
} DriftBin;

/* The bins of a sorted sample; their number in *nbins. */
static DriftBin *
drift_bins(const MetricSample *s, int bins, int *nbins)
{
	const ClassScores *ref = &s->cls[0];
	DriftBin   *out = palloc0(sizeof(DriftBin) * bins);
	int			n = 0;

	for (int k = 1; k < bins; k++)
	{
		int64		rank = (int64) ceil((double) k * ref->n / bins);
		double		edge = ref->score[Max(rank, 1) - 1];

		if (n == 0 || edge > out[n - 1].upper)
			out[n++].upper = edge;
	}
	if (n == 0 || out[n - 1].upper < INFINITY)
		out[n++].upper = INFINITY;
	for (int c = 0; c < 2; c++)
	{
		int			b = 0;

		for (int64 i = 0; i < s->cls[c].n; i++)
		{
			while (s->cls[c].score[i] > out[b].upper)
				b++;
			out[b].count[c]++;
		}
	}
	*nbins = n;
	return out;
}

double
drift_psi_term(double expected, double actual)
{
	expected = Max(expected, EPSILON);
	actual = Max(actual, EPSILON);
	return (actual - expected) * log(actual / expected);
}

/* A bin's term, and its shares. */
static double
drift_term(const DriftBin *b, const MetricSample *s, double *expected, double *actual)
{
	*expected = (double) b->count[0] / s->cls[0].n;
	*actual = (double) b->count[1] / s->cls[1].n;
	return drift_psi_term(*expected, *actual);
}

/* The sorted sample of a final function's state, or NULL without both samples. */
static MetricSample *
drift_sample(FunctionCallInfo fcinfo)
{
	MetricSample *s;

	s = metric_state_arg(fcinfo, 0, NULL, metric_state_typed(fcinfo));
	if (s == NULL)
		return NULL;
	if (s->cls[0].n == 0 || s->cls[1].n == 0)
		return NULL;
	metric_sample_sort(s);
	return s;
}

static int
drift_bin_count(const MetricSample *s)
{
	return s->param_set ? (int) s->param : 10;
}

PG_FUNCTION_INFO_V1(risk_psi_final);
Datum
risk_psi_final(PG_FUNCTION_ARGS)
{
	MetricSample *s = drift_sample(fcinfo);
	DriftBin   *bins;
	int			n;
	DD			psi = {0, 0};
	double		e,
				a;

	if (s == NULL)
		PG_RETURN_NULL();
	bins = drift_bins(s, drift_bin_count(s), &n);
	for (int i = 0; i < n; i++)
		dd_add(&psi, drift_term(&bins[i], s, &e, &a));
	PG_RETURN_FLOAT8(psi.hi + psi.lo);
}

/*
 * risk.psi_table: (bin, lower, upper, expected, actual, psi) per bin, the
 * shares as counted (0 stays 0 here) and psi the bin's term.
 */
PG_FUNCTION_INFO_V1(risk_psi_table_final);
Datum
risk_psi_table_final(PG_FUNCTION_ARGS)
{
	MetricSample *s = drift_sample(fcinfo);
	CurveRows	c;
	DriftBin   *bins;
	int			n;

	if (s == NULL)
		PG_RETURN_NULL();
	bins = drift_bins(s, drift_bin_count(s), &n);
	curve_start(fcinfo, &c);
	for (int i = 0; i < n; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {false};
		double		e,
					a,
					term = drift_term(&bins[i], s, &e, &a);

		values[0] = Int32GetDatum(i + 1);
		values[1] = Float8GetDatum(i == 0 ? -INFINITY : bins[i - 1].upper);
		values[2] = Float8GetDatum(bins[i].upper);
		values[3] = Float8GetDatum(e);
		values[4] = Float8GetDatum(a);
		values[5] = Float8GetDatum(term);
		curve_row(&c, values, nulls);
	}
	return curve_end(&c);
}

/* ------------------------------------------------------------------------
 * risk.csi(category text, actual) and risk.csi_table: one bin per category
 * ------------------------------------------------------------------------
 */

#define CATEGORIES_VERSION 1

/* A category (its text, compared byte for byte) and its rows on each side. */
typedef struct Category
{
	char	   *name;			/* the key: a copy in the aggregate's memory */
	int64		count[2];		/* reference, actual */
} Category;

typedef struct CategoryCounts
{
	HTAB	   *categories;
	MemoryContext cxt;
	int64		total[2];
} CategoryCounts;

static uint32
category_hash(const void *key, Size keysize)
{
	const char *name = *(char *const *) key;

	return DatumGetUInt32(hash_any((const unsigned char *) name, strlen(name)));
}

static int
category_match(const void *a, const void *b, Size keysize)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static CategoryCounts *
categories_create(MemoryContext cxt)
{
	CategoryCounts *c = MemoryContextAllocZero(cxt, sizeof(CategoryCounts));
	HASHCTL		ctl;

	ctl.keysize = sizeof(char *);
	ctl.entrysize = sizeof(Category);
	ctl.hash = category_hash;
	ctl.match = category_match;
	ctl.hcxt = cxt;
	c->categories = hash_create("risk.csi categories", 64, &ctl,
								HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	c->cxt = cxt;
	return c;
}

static void
categories_add(CategoryCounts *c, const char *name, int side, int64 n)
{
	bool		found;
	Category   *e = hash_search(c->categories, &name, HASH_ENTER, &found);

	if (!found)
	{
		e->name = MemoryContextStrdup(c->cxt, name);
		e->count[0] = e->count[1] = 0;
	}
	e->count[side] += n;
	c->total[side] += n;
}

/* Written (parallel query, risk.aggregate_state): version, the number of categories, then each name and its two counts. */
static void
categories_write(const void *state, StringInfo buf)
{
	const CategoryCounts *c = state;
	HASH_SEQ_STATUS seq;
	Category   *e;

	pq_sendbyte(buf, CATEGORIES_VERSION);
	pq_sendint64(buf, hash_get_num_entries(c->categories));
	hash_seq_init(&seq, c->categories);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		pq_sendstring(buf, e->name);
		pq_sendint64(buf, e->count[0]);
		pq_sendint64(buf, e->count[1]);
	}
}

static void *
categories_read(StringInfo buf, MemoryContext cxt)
{
	CategoryCounts *c = categories_create(cxt);
	int64		n;

	risk_state_version(buf, CATEGORIES_VERSION, "risk.csi");
	risk_state_need(buf, 8, "risk.csi");
	n = pq_getmsgint64(buf);
	if (n < 0 || n > (buf->len - buf->cursor) / 17)
		risk_state_corrupt("risk.csi", "It holds fewer categories than it counts.");
	for (int64 i = 0; i < n; i++)
	{
		const char *name;
		int64		ref;
		int64		act;

		if (memchr(buf->data + buf->cursor, '\0', buf->len - buf->cursor) == NULL)
			risk_state_corrupt("risk.csi", "It ends inside a category's name.");
		name = pq_getmsgstring(buf);
		risk_state_need(buf, 16, "risk.csi");
		ref = pq_getmsgint64(buf);
		act = pq_getmsgint64(buf);
		if (ref < 0 || act < 0 || ref > PG_INT64_MAX - c->total[0] || act > PG_INT64_MAX - c->total[1])
			risk_state_corrupt("risk.csi", "It holds a negative or overflowing count.");
		categories_add(c, name, 0, ref);
		categories_add(c, name, 1, act);
	}
	return c;
}

static const AggStateKind categories_kind = {AGG_STATE_CATEGORIES, "risk.csi", categories_write, categories_read};

/* risk_categories_add(state, category text, actual boolean) */
PG_FUNCTION_INFO_V1(risk_categories_add);
Datum
risk_categories_add(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk.csi");
	CategoryCounts *c = agg_state_arg(fcinfo, 0, &categories_kind, aggcontext);

	if (c == NULL)
		c = categories_create(aggcontext);
	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2))
		categories_add(c, text_to_cstring(PG_GETARG_TEXT_PP(1)), PG_GETARG_BOOL(2), 1);
	return agg_state_result(fcinfo, c, &categories_kind, aggcontext);
}

PG_FUNCTION_INFO_V1(risk_categories_combine);
Datum
risk_categories_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk.csi");
	CategoryCounts *a = agg_state_arg(fcinfo, 0, &categories_kind, aggcontext);
	CategoryCounts *b = agg_state_arg(fcinfo, 1, &categories_kind, NULL);
	HASH_SEQ_STATUS seq;
	Category   *e;

	if (b == NULL)
		return agg_state_result(fcinfo, a, &categories_kind, aggcontext);
	if (a == NULL)
		a = categories_create(aggcontext);
	hash_seq_init(&seq, b->categories);
	while ((e = hash_seq_search(&seq)) != NULL)
		for (int side = 0; side < 2; side++)
			if (e->count[side] > 0)
				categories_add(a, e->name, side, e->count[side]);
	return agg_state_result(fcinfo, a, &categories_kind, aggcontext);
}

PG_FUNCTION_INFO_V1(risk_categories_serialize);
Datum
risk_categories_serialize(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	risk_aggcontext(fcinfo, "risk.csi");
	pq_begintypsend(&buf);
	categories_write(PG_GETARG_POINTER(0), &buf);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(risk_categories_deserialize);
Datum
risk_categories_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk.csi");
	StringInfoData buf;
	void	   *c;

	risk_state_bytes(&buf, PG_GETARG_BYTEA_PP(0));
	c = categories_read(&buf, aggcontext);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(c);
}

static int
cmp_category(const void *a, const void *b)
{
	return strcmp((*(Category *const *) a)->name, (*(Category *const *) b)->name);
}

/* The categories sorted by name, or NULL without both sides. */
static Category **
categories_sorted(FunctionCallInfo fcinfo, CategoryCounts **counts, int64 *n)
{
	CategoryCounts *c;
	HASH_SEQ_STATUS seq;
	Category  **sorted;
	Category   *e;

	c = agg_state_arg(fcinfo, 0, &categories_kind, NULL);
	if (c == NULL)
		return NULL;
	if (c->total[0] == 0 || c->total[1] == 0)
		return NULL;
	*n = hash_get_num_entries(c->categories);
	sorted = palloc(sizeof(Category *) * *n);
	*n = 0;
	hash_seq_init(&seq, c->categories);
	while ((e = hash_seq_search(&seq)) != NULL)
		sorted[(*n)++] = e;
	qsort(sorted, *n, sizeof(Category *), cmp_category);
	*counts = c;
	return sorted;
}

/* A category's term, with shares of 0 as EPSILON. */
static double
category_term(const Category *e, const CategoryCounts *c, double *expected, double *actual)
{
	double		ex = (double) e->count[0] / c->total[0];
	double		ac = (double) e->count[1] / c->total[1];

	*expected = ex;
	*actual = ac;
	ex = Max(ex, EPSILON);
	ac = Max(ac, EPSILON);
	return (ac - ex) * log(ac / ex);
}

PG_FUNCTION_INFO_V1(risk_csi_categories_final);
Datum
risk_csi_categories_final(PG_FUNCTION_ARGS)
{
	CategoryCounts *c;
	int64		n;
	Category  **sorted = categories_sorted(fcinfo, &c, &n);
	DD			csi = {0, 0};
	double		e,
				a;

	if (sorted == NULL)
		PG_RETURN_NULL();
	for (int64 i = 0; i < n; i++)
		dd_add(&csi, category_term(sorted[i], c, &e, &a));
	PG_RETURN_FLOAT8(csi.hi + csi.lo);
}

/* risk.csi_table: (category, expected, actual, csi) per category, by name. */
PG_FUNCTION_INFO_V1(risk_csi_table_final);
Datum
risk_csi_table_final(PG_FUNCTION_ARGS)
{
	CategoryCounts *c;
	int64		n;
	Category  **sorted = categories_sorted(fcinfo, &c, &n);
	CurveRows	rows;

	if (sorted == NULL)
		PG_RETURN_NULL();
	curve_start(fcinfo, &rows);
	for (int64 i = 0; i < n; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false};
		double		e,
					a,
					term = category_term(sorted[i], c, &e, &a);

		values[0] = CStringGetTextDatum(sorted[i]->name);
		values[1] = Float8GetDatum(e);
		values[2] = Float8GetDatum(a);
		values[3] = Float8GetDatum(term);
		curve_row(&rows, values, nulls);
	}
	return curve_end(&rows);
}

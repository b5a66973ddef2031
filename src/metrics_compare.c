/*-------------------------------------------------------------------------
 * metrics_compare.c
 *	  Is a difference real?  risk.auc_ci: AUC with DeLong's confidence
 *	  interval; risk.auc_test: DeLong's test of two correlated scores of
 *	  the same labelled rows (champion against challenger); and
 *	  risk.proportion_test: the two-proportion z-test of two rates (block
 *	  rate of A against B).
 *
 * DeLong, DeLong and Clarke-Pearson (1988), with ties counted one half:
 * each positive's placement V10 is the share of negatives it outranks, each
 * negative's V01 the share of positives that outrank it; AUC is the mean of
 * either, and its variance is var(V10) / P + var(V01) / N (sample
 * variances).  For two scores, the covariances of their placements give
 * the variance of the difference.  Unweighted; NULL rows skipped; NULL with
 * fewer than two rows of either class.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"

#include "agg_state.h"
#include "metrics.h"

#define PAIRS_VERSION 1

/* The z with P(|Z| <= z) = level, for a standard normal Z: Newton on erfc. */
double
two_sided_z(double level)
{
	double		alpha = 1 - level;
	double		z = 1.0;

	/* f(z) = erfc(z / sqrt 2) - alpha is convex and falls: Newton converges */
	for (int i = 0; i < 100; i++)
	{
		double		f = erfc(z / M_SQRT2) - alpha;
		double		slope = -sqrt(2 / M_PI) * exp(-z * z / 2);
		double		step = f / slope;

		z -= step;
		if (fabs(step) < 1e-15 * Max(1, fabs(z)))
			break;
	}
	return z;
}

/* The two-sided p-value of a standard normal z. */
double
two_sided_p(double z)
{
	return erfc(fabs(z) / M_SQRT2);
}

static Datum
composite(FunctionCallInfo fcinfo, Datum *values, bool *nulls)
{
	TupleDesc	desc;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "a risk comparison must return a composite type");
	desc = BlessTupleDesc(desc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/* ------------------------------------------------------------------------
 * risk.auc_ci(score, label[, level])
 * ------------------------------------------------------------------------
 */

/*
 * AUC and its DeLong variance from the distinct scores: the positives of a
 * score group share one placement, and so do its negatives.
 */
static void
delong_variance(const Ranked *r, double auc, double *variance)
{
	GroupCursor c;
	ScoreGroup	g;
	DD			s10 = {0, 0};
	DD			s01 = {0, 0};
	double		P = r->total[1];
	double		N = r->total[0];

	group_cursor_init(&c, r);
	while (group_cursor_next(&c, &g))
	{
		double		v10 = (N - g.flagged[0] + 0.5 * g.weight[0]) / N;
		double		v01 = (g.flagged[1] - 0.5 * g.weight[1]) / P;

		dd_add(&s10, g.weight[1] * (v10 - auc) * (v10 - auc));
		dd_add(&s01, g.weight[0] * (v01 - auc) * (v01 - auc));
	}
	*variance = (s10.hi + s10.lo) / (P - 1) / P + (s01.hi + s01.lo) / (N - 1) / N;
}

/* (auc, lower, upper, std_error, level): risk.auc_interval */
PG_FUNCTION_INFO_V1(risk_auc_ci_final);
Datum
risk_auc_ci_final(PG_FUNCTION_ARGS)
{
	MetricSample *s;
	Ranked		r;
	double		level;
	double		auc;
	double		variance;
	double		half;
	Datum		values[5];
	bool		nulls[5] = {false};

	s = metric_state_arg(fcinfo, 0, NULL, metric_state_typed(fcinfo));
	if (s == NULL)
		PG_RETURN_NULL();
	level = s->param_set ? s->param : 0.95;
	if (level <= 0 || level >= 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("risk.auc_ci level must lie in (0, 1), not %g", level),
				 errhint("The confidence level, e.g. 0.95.")));
	if (s->cls[0].n < 2 || s->cls[1].n < 2)
		PG_RETURN_NULL();
	ranked_sample(&r, s);
	auc = rank_auc(&r);
	delong_variance(&r, auc, &variance);
	half = two_sided_z(level) * sqrt(variance);
	values[0] = Float8GetDatum(auc);
	values[1] = Float8GetDatum(Max(auc - half, 0));
	values[2] = Float8GetDatum(Min(auc + half, 1));
	values[3] = Float8GetDatum(sqrt(variance));
	values[4] = Float8GetDatum(level);
	return composite(fcinfo, values, nulls);
}

/* ------------------------------------------------------------------------
 * risk.auc_test(score_a, score_b, label): both scores of every row
 * ------------------------------------------------------------------------
 */

void
pairs_add(PairClass *c, double a, double b)
{
	if (c->n == c->cap)
	{
		c->cap = c->cap ? c->cap * 2 : 64;
		c->a = c->a ? repalloc_huge(c->a, sizeof(double) * c->cap)
			: palloc_extended(sizeof(double) * c->cap, MCXT_ALLOC_HUGE);
		c->b = c->b ? repalloc_huge(c->b, sizeof(double) * c->cap)
			: palloc_extended(sizeof(double) * c->cap, MCXT_ALLOC_HUGE);
	}
	c->a[c->n] = a;
	c->b[c->n] = b;
	c->n++;
}

/* Written (parallel query, risk.aggregate_state): version, then per class n and both arrays. */
static void
pairs_write(const void *state, StringInfo buf)
{
	const PairSample *s = state;

	pq_sendbyte(buf, PAIRS_VERSION);
	for (int k = 0; k < 2; k++)
	{
		pq_sendint64(buf, s->cls[k].n);
		appendBinaryStringInfo(buf, (char *) s->cls[k].a, sizeof(double) * s->cls[k].n);
		appendBinaryStringInfo(buf, (char *) s->cls[k].b, sizeof(double) * s->cls[k].n);
	}
}

static void *
pairs_read(StringInfo buf, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	PairSample *s = palloc0(sizeof(PairSample));

	risk_state_version(buf, PAIRS_VERSION, "risk.auc_test");
	for (int k = 0; k < 2; k++)
	{
		int64		n;
		const char *a;
		const char *b;

		risk_state_need(buf, 8, "risk.auc_test");
		n = pq_getmsgint64(buf);
		if (n < 0 || n > (buf->len - buf->cursor) / (int64) (2 * sizeof(double)))
			risk_state_corrupt("risk.auc_test", "It holds fewer scores than it counts.");
		a = pq_getmsgbytes(buf, sizeof(double) * n);
		b = pq_getmsgbytes(buf, sizeof(double) * n);

		/* the bytes need not be aligned for a double: copied, not cast */
		for (int64 i = 0; i < n; i++)
		{
			double		x;
			double		y;

			memcpy(&x, a + i * sizeof(double), sizeof(double));
			memcpy(&y, b + i * sizeof(double), sizeof(double));
			if (isnan(x) || isnan(y))
				risk_state_corrupt("risk.auc_test", "It holds a NaN score.");
			pairs_add(&s->cls[k], x, y);
		}
	}
	MemoryContextSwitchTo(old);
	return s;
}

static const AggStateKind pairs_kind = {AGG_STATE_PAIRS, "risk.auc_test", pairs_write, pairs_read};

/* risk_pairs_add(state, score_a, score_b, label) */
PG_FUNCTION_INFO_V1(risk_pairs_add);
Datum
risk_pairs_add(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk.auc_test");
	PairSample *s = agg_state_arg(fcinfo, 0, &pairs_kind, aggcontext);
	MetricRow	a;
	MetricRow	b;
	MemoryContext old;

	if (s == NULL)
		s = MemoryContextAllocZero(aggcontext, sizeof(PairSample));
	/* the label follows score_b, and score_a's row reads it from there too */
	if (PG_ARGISNULL(1) || !metric_row(fcinfo, 2, -1, &b))
		return agg_state_result(fcinfo, s, &pairs_kind, aggcontext);
	a.score = PG_GETARG_FLOAT8(1);
	if (isnan(a.score))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("risk.auc_test cannot rank a NaN score")));
	old = MemoryContextSwitchTo(aggcontext);
	pairs_add(&s->cls[b.label], a.score == 0 ? 0 : a.score, b.score);
	MemoryContextSwitchTo(old);
	return agg_state_result(fcinfo, s, &pairs_kind, aggcontext);
}

PG_FUNCTION_INFO_V1(risk_pairs_combine);
Datum
risk_pairs_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk.auc_test");
	PairSample *a = agg_state_arg(fcinfo, 0, &pairs_kind, aggcontext);
	PairSample *b = agg_state_arg(fcinfo, 1, &pairs_kind, NULL);
	MemoryContext old;

	if (b == NULL)
		return agg_state_result(fcinfo, a, &pairs_kind, aggcontext);
	old = MemoryContextSwitchTo(aggcontext);
	if (a == NULL)
		a = palloc0(sizeof(PairSample));
	for (int k = 0; k < 2; k++)
		for (int64 i = 0; i < b->cls[k].n; i++)
			pairs_add(&a->cls[k], b->cls[k].a[i], b->cls[k].b[i]);
	MemoryContextSwitchTo(old);
	return agg_state_result(fcinfo, a, &pairs_kind, aggcontext);
}

PG_FUNCTION_INFO_V1(risk_pairs_serialize);
Datum
risk_pairs_serialize(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	risk_aggcontext(fcinfo, "risk.auc_test");
	pq_begintypsend(&buf);
	pairs_write(PG_GETARG_POINTER(0), &buf);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(risk_pairs_deserialize);
Datum
risk_pairs_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk.auc_test");
	StringInfoData buf;
	void	   *s;

	risk_state_bytes(&buf, PG_GETARG_BYTEA_PP(0));
	s = pairs_read(&buf, aggcontext);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(s);
}

static int
cmp_double(const void *x, const void *y)
{
	double		a = *(const double *) x;
	double		b = *(const double *) y;

	return a < b ? -1 : a > b;
}

/* Values in sorted[0..n) below x, and equal to it. */
static void
count_around(const double *sorted, int64 n, double x, int64 *below, int64 *equal)
{
	int64		lo = 0,
				hi = n;

	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (sorted[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	*below = lo;
	hi = n;
	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (sorted[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	*equal = lo - *below;
}

/*
 * The placements of one score (a or b) of every row: v10[i] for positive
 * i, v01[j] for negative j.
 */
static void
placements(const PairSample *s, bool use_b, double *v10, double *v01)
{
	int64		P = s->cls[1].n;
	int64		N = s->cls[0].n;
	double	   *neg = palloc_extended(sizeof(double) * N, MCXT_ALLOC_HUGE);
	double	   *pos = palloc_extended(sizeof(double) * P, MCXT_ALLOC_HUGE);
	int64		below,
				equal;

	memcpy(neg, use_b ? s->cls[0].b : s->cls[0].a, sizeof(double) * N);
	memcpy(pos, use_b ? s->cls[1].b : s->cls[1].a, sizeof(double) * P);
	qsort(neg, N, sizeof(double), cmp_double);
	qsort(pos, P, sizeof(double), cmp_double);
	for (int64 i = 0; i < P; i++)
	{
		count_around(neg, N, use_b ? s->cls[1].b[i] : s->cls[1].a[i], &below, &equal);
		v10[i] = (below + 0.5 * equal) / N;
	}
	for (int64 j = 0; j < N; j++)
	{
		count_around(pos, P, use_b ? s->cls[0].b[j] : s->cls[0].a[j], &below, &equal);
		v01[j] = (P - below - equal + 0.5 * equal) / P;
	}
	pfree(neg);
	pfree(pos);
}

static double
mean(const double *x, int64 n)
{
	DD			sum = {0, 0};

	for (int64 i = 0; i < n; i++)
		dd_add(&sum, x[i]);
	return (sum.hi + sum.lo) / n;
}

/* The sample covariance of x and y (means mx, my). */
static double
covariance(const double *x, double mx, const double *y, double my, int64 n)
{
	DD			sum = {0, 0};

	for (int64 i = 0; i < n; i++)
		dd_add(&sum, (x[i] - mx) * (y[i] - my));
	return (sum.hi + sum.lo) / (n - 1);
}

/* (auc_a, auc_b, difference, std_error, z, p_value): risk.auc_comparison */
PG_FUNCTION_INFO_V1(risk_auc_test_final);
Datum
risk_auc_test_final(PG_FUNCTION_ARGS)
{
	PairSample *s;
	double		auc[2];
	double		variance;
	double		diff;
	Datum		values[6];
	bool		nulls[6] = {false};

	s = agg_state_arg(fcinfo, 0, &pairs_kind, NULL);
	if (s == NULL)
		PG_RETURN_NULL();
	if (!delong_paired(s, auc, &variance))
		PG_RETURN_NULL();
	diff = auc[0] - auc[1];
	values[0] = Float8GetDatum(auc[0]);
	values[1] = Float8GetDatum(auc[1]);
	values[2] = Float8GetDatum(diff);
	values[3] = Float8GetDatum(sqrt(Max(variance, 0)));
	if (variance > 0)
	{
		values[4] = Float8GetDatum(diff / sqrt(variance));
		values[5] = Float8GetDatum(two_sided_p(diff / sqrt(variance)));
	}
	else
		nulls[4] = nulls[5] = true;	/* the same ranking: nothing to test */
	return composite(fcinfo, values, nulls);
}

bool
delong_paired(const PairSample *s, double *auc, double *variance)
{
	int64		P = s->cls[1].n;
	int64		N = s->cls[0].n;
	double	   *v10[2],
			   *v01[2];

	if (P < 2 || N < 2)
		return false;
	for (int k = 0; k < 2; k++)
	{
		v10[k] = palloc_extended(sizeof(double) * P, MCXT_ALLOC_HUGE);
		v01[k] = palloc_extended(sizeof(double) * N, MCXT_ALLOC_HUGE);
		placements(s, k == 1, v10[k], v01[k]);
		auc[k] = mean(v10[k], P);
	}
	{
		double		m10[2] = {auc[0], auc[1]};
		double		m01[2] = {mean(v01[0], N), mean(v01[1], N)};

		*variance = (covariance(v10[0], m10[0], v10[0], m10[0], P) +
					 covariance(v10[1], m10[1], v10[1], m10[1], P) -
					 2 * covariance(v10[0], m10[0], v10[1], m10[1], P)) / P +
			(covariance(v01[0], m01[0], v01[0], m01[0], N) +
			 covariance(v01[1], m01[1], v01[1], m01[1], N) -
			 2 * covariance(v01[0], m01[0], v01[1], m01[1], N)) / N;
	}
	for (int k = 0; k < 2; k++)
	{
		pfree(v10[k]);
		pfree(v01[k]);
	}
	return true;
}

/* ------------------------------------------------------------------------
 * risk.proportion_test(successes_a, trials_a, successes_b, trials_b)
 * ------------------------------------------------------------------------
 */

/*
 * (rate_a, rate_b, difference, z, p_value): risk.proportion_comparison,
 * with the pooled standard error; z and p NULL when every trial or none
 * succeeded (no variance).
 */
PG_FUNCTION_INFO_V1(risk_proportion_test);
Datum
risk_proportion_test(PG_FUNCTION_ARGS)
{
	int64		x[2] = {PG_GETARG_INT64(0), PG_GETARG_INT64(2)};
	int64		n[2] = {PG_GETARG_INT64(1), PG_GETARG_INT64(3)};
	double		rate[2];
	double		pooled;
	double		se;
	Datum		values[5];
	bool		nulls[5] = {false};

	for (int k = 0; k < 2; k++)
	{
		if (n[k] <= 0 || x[k] < 0 || x[k] > n[k])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("risk.proportion_test needs 0 <= successes <= trials and trials > 0, not %lld of %lld",
							(long long) x[k], (long long) n[k])));
		rate[k] = (double) x[k] / n[k];
	}
	pooled = ((double) x[0] + x[1]) / ((double) n[0] + n[1]);
	se = sqrt(pooled * (1 - pooled) * (1.0 / n[0] + 1.0 / n[1]));
	values[0] = Float8GetDatum(rate[0]);
	values[1] = Float8GetDatum(rate[1]);
	values[2] = Float8GetDatum(rate[0] - rate[1]);
	if (se > 0)
	{
		values[3] = Float8GetDatum((rate[0] - rate[1]) / se);
		values[4] = Float8GetDatum(two_sided_p((rate[0] - rate[1]) / se));
	}
	else
		nulls[3] = nulls[4] = true;
	return composite(fcinfo, values, nulls);
}

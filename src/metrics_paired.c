/*-------------------------------------------------------------------------
 * metrics_paired.c
 *	  risk.compare_scores: two scores of the same rows (champion and
 *	  challenger), compared paired, as a risk lead reads an experiment;
 *	  and risk.sample_ratio_test, the check that a canary got its share.
 *
 * For each pair of scores: both AUCs and their difference with DeLong's
 * paired confidence interval and p-value (delong_paired of
 * metrics_compare.c, the test of risk.auc_test); at a threshold each
 * (a row is flagged when its score is at least it, as the trigger
 * blocks), recall and false-positive rate, each pair of rates tested with
 * McNemar's exact test on the paired decisions (positives flagged by one
 * score only, negatives flagged by one score only: two-sided binomial with
 * p = 1/2); the amount of the positives each flags (caught) and of the
 * negatives each flags (good orders declined); and label coverage: rows
 * whose label is not NULL yet (mature) over all rows.  Rows with a NULL
 * score are skipped; unlabelled rows count in coverage only.
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

#define PAIRED_VERSION 1
#define NAME "risk.compare_scores"

typedef struct PairedState
{
	int64		n;
	int64		cap;
	double	   *a;
	double	   *b;
	int8	   *label;			/* -1: not labelled yet */
	double	   *amount;			/* NULL without an amount argument */
	bool		has_amount;
	bool		has_thresholds;
	double		threshold[2];
} PairedState;

static void
paired_add(PairedState *s, double a, double b, int label, double amount)
{
	if (s->n == s->cap)
	{
		s->cap = s->cap ? s->cap * 2 : 256;
		s->a = s->a ? repalloc_huge(s->a, sizeof(double) * s->cap) : palloc_extended(sizeof(double) * s->cap, MCXT_ALLOC_HUGE);
		s->b = s->b ? repalloc_huge(s->b, sizeof(double) * s->cap) : palloc_extended(sizeof(double) * s->cap, MCXT_ALLOC_HUGE);
		s->label = s->label ? repalloc_huge(s->label, s->cap) : palloc_extended(s->cap, MCXT_ALLOC_HUGE);
		if (s->has_amount)
			s->amount = s->amount ? repalloc_huge(s->amount, sizeof(double) * s->cap)
				: palloc_extended(sizeof(double) * s->cap, MCXT_ALLOC_HUGE);
	}
	s->a[s->n] = a;
	s->b[s->n] = b;
	s->label[s->n] = (int8) label;
	if (s->has_amount)
		s->amount[s->n] = amount;
	s->n++;
}

static double
threshold_arg(FunctionCallInfo fcinfo, int argno)
{
	double		t;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg(NAME ": the threshold must not be NULL")));
	t = PG_GETARG_FLOAT8(argno);
	if (isnan(t) || isinf(t))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(NAME ": the threshold must be a finite number")));
	return t;
}

static double
score_arg(FunctionCallInfo fcinfo, int argno)
{
	double		v = PG_GETARG_FLOAT8(argno);

	if (isnan(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(NAME " cannot rank a NaN score")));
	return v == 0 ? 0 : v;
}

/* Written (parallel query, risk.aggregate_state): version, flags, thresholds, n, then the arrays. */
static void
paired_write(const void *state, StringInfo buf)
{
	const PairedState *s = state;

	pq_sendbyte(buf, PAIRED_VERSION);
	pq_sendbyte(buf, (s->has_amount ? 1 : 0) | (s->has_thresholds ? 2 : 0));
	pq_sendfloat8(buf, s->threshold[0]);
	pq_sendfloat8(buf, s->threshold[1]);
	pq_sendint64(buf, s->n);
	appendBinaryStringInfo(buf, (char *) s->a, sizeof(double) * s->n);
	appendBinaryStringInfo(buf, (char *) s->b, sizeof(double) * s->n);
	appendBinaryStringInfo(buf, (char *) s->label, s->n);
	if (s->has_amount)
		appendBinaryStringInfo(buf, (char *) s->amount, sizeof(double) * s->n);
}

static void *
paired_read(StringInfo buf, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	PairedState *s = palloc0(sizeof(PairedState));
	int			flags;
	int64		n;
	const char *a,
			   *b,
			   *l,
			   *m = NULL;

	risk_state_version(buf, PAIRED_VERSION, NAME);
	risk_state_need(buf, 1 + 8 + 8 + 8, NAME);
	flags = pq_getmsgbyte(buf);
	if (flags & ~3)
		risk_state_corrupt(NAME, "It has unknown flags.");
	s->has_amount = (flags & 1) != 0;
	s->has_thresholds = (flags & 2) != 0;
	s->threshold[0] = pq_getmsgfloat8(buf);
	s->threshold[1] = pq_getmsgfloat8(buf);
	if (isnan(s->threshold[0]) || isinf(s->threshold[0]) || isnan(s->threshold[1]) || isinf(s->threshold[1]))
		risk_state_corrupt(NAME, "Its thresholds are not finite.");
	n = pq_getmsgint64(buf);
	if (n < 0 || n > (buf->len - buf->cursor) / (int64) (2 * sizeof(double) + 1 + (s->has_amount ? sizeof(double) : 0)))
		risk_state_corrupt(NAME, "It holds fewer pairs than it counts.");
	a = pq_getmsgbytes(buf, sizeof(double) * n);
	b = pq_getmsgbytes(buf, sizeof(double) * n);
	l = pq_getmsgbytes(buf, n);
	if (s->has_amount)
		m = pq_getmsgbytes(buf, sizeof(double) * n);
	for (int64 i = 0; i < n; i++)
	{
		double		x,
					y,
					z = 0;

		memcpy(&x, a + i * sizeof(double), sizeof(double));
		memcpy(&y, b + i * sizeof(double), sizeof(double));
		if (m)
			memcpy(&z, m + i * sizeof(double), sizeof(double));
		if (isnan(x) || isnan(y) || isnan(z) || isinf(z))
			risk_state_corrupt(NAME, "It holds a NaN score or an amount that is not finite.");
		if ((int8) l[i] < -1 || (int8) l[i] > 1)
			risk_state_corrupt(NAME, "It holds a label other than unknown, 0 and 1.");
		paired_add(s, x, y, (int8) l[i], z);
	}
	MemoryContextSwitchTo(old);
	return s;
}

static const AggStateKind paired_kind = {AGG_STATE_PAIRED, NAME, paired_write, paired_read};

/*
 * risk_paired_add(state, score_a, score_b, label, threshold) and
 * (state, score_a, score_b, label, amount, threshold_a, threshold_b)
 */
PG_FUNCTION_INFO_V1(risk_paired_add);
Datum
risk_paired_add(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, NAME);
	PairedState *s = agg_state_arg(fcinfo, 0, &paired_kind, aggcontext);
	bool		with_amount = PG_NARGS() == 7;
	double		t[2];
	double		amount = 0;
	int			label = -1;
	MemoryContext old;

	t[0] = threshold_arg(fcinfo, with_amount ? 5 : 4);
	t[1] = with_amount ? threshold_arg(fcinfo, 6) : t[0];
	if (s == NULL)
	{
		s = MemoryContextAllocZero(aggcontext, sizeof(PairedState));
		s->has_amount = with_amount;
		s->has_thresholds = true;
		s->threshold[0] = t[0];
		s->threshold[1] = t[1];
	}
	else if (s->threshold[0] != t[0] || s->threshold[1] != t[1])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(NAME ": the thresholds must be the same in every row")));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return agg_state_result(fcinfo, s, &paired_kind, aggcontext);
	if (!PG_ARGISNULL(3))
		label = PG_GETARG_BOOL(3) ? 1 : 0;
	if (with_amount && !PG_ARGISNULL(4))
	{
		amount = PG_GETARG_FLOAT8(4);
		if (isnan(amount) || isinf(amount))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg(NAME ": an amount must be a finite number")));
	}
	old = MemoryContextSwitchTo(aggcontext);
	paired_add(s, score_arg(fcinfo, 1), score_arg(fcinfo, 2), label, amount);
	MemoryContextSwitchTo(old);
	return agg_state_result(fcinfo, s, &paired_kind, aggcontext);
}

PG_FUNCTION_INFO_V1(risk_paired_combine);
Datum
risk_paired_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, NAME);
	PairedState *a = agg_state_arg(fcinfo, 0, &paired_kind, aggcontext);
	PairedState *b = agg_state_arg(fcinfo, 1, &paired_kind, NULL);
	MemoryContext old;

	if (b == NULL)
		return agg_state_result(fcinfo, a, &paired_kind, aggcontext);
	old = MemoryContextSwitchTo(aggcontext);
	if (a == NULL)
	{
		a = palloc0(sizeof(PairedState));
		a->has_amount = b->has_amount;
		a->has_thresholds = b->has_thresholds;
		a->threshold[0] = b->threshold[0];
		a->threshold[1] = b->threshold[1];
	}
	if (b->has_thresholds && (a->threshold[0] != b->threshold[0] || a->threshold[1] != b->threshold[1]))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(NAME ": the thresholds must be the same in every row")));
	for (int64 i = 0; i < b->n; i++)
		paired_add(a, b->a[i], b->b[i], b->label[i], b->has_amount ? b->amount[i] : 0);
	MemoryContextSwitchTo(old);
	return agg_state_result(fcinfo, a, &paired_kind, aggcontext);
}

PG_FUNCTION_INFO_V1(risk_paired_serialize);
Datum
risk_paired_serialize(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	risk_aggcontext(fcinfo, NAME);
	pq_begintypsend(&buf);
	paired_write(PG_GETARG_POINTER(0), &buf);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(risk_paired_deserialize);
Datum
risk_paired_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, NAME);
	StringInfoData buf;
	void	   *s;

	risk_state_bytes(&buf, PG_GETARG_BYTEA_PP(0));
	s = paired_read(&buf, aggcontext);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(s);
}

/*
 * McNemar's exact test: of the n pairs the two decisions disagree on, k
 * went one way; the two-sided binomial p-value with p = 1/2, min(1, 2 P(X
 * <= min(k, n - k))), summed in log space (lgamma) so that no term
 * underflows before it is added.
 */
static double
mcnemar_exact(int64 k, int64 n)
{
	int64		m = Min(k, n - k);
	double		lognorm;
	double		sum = 0;

	if (n == 0)
		return 1.0;
	lognorm = lgamma((double) n + 1) - (double) n * M_LN2;
	for (int64 i = 0; i <= m; i++)
		sum += exp(lognorm - lgamma((double) i + 1) - lgamma((double) (n - i) + 1));
	return Min(1.0, 2 * sum);
}

/* risk.score_comparison */
enum
{
	C_ROWS, C_LABELLED, C_COVERAGE, C_POSITIVES,
	C_AUC_A, C_AUC_B, C_AUC_DIFF, C_AUC_LOW, C_AUC_HIGH, C_AUC_P,
	C_T_A, C_T_B,
	C_RECALL_A, C_RECALL_B, C_RECALL_P,
	C_FPR_A, C_FPR_B, C_FPR_P,
	C_CAUGHT_A, C_CAUGHT_B, C_DECLINED_A, C_DECLINED_B,
	C_COUNT
};

PG_FUNCTION_INFO_V1(risk_paired_final);
Datum
risk_paired_final(PG_FUNCTION_ARGS)
{
	PairedState *s;
	PairSample	pairs;
	Datum		v[C_COUNT];
	bool		null[C_COUNT];
	int64		labelled = 0;
	int64		cls[2] = {0, 0};
	int64		flagged[2][2] = {{0, 0}, {0, 0}};	/* [class][score] */
	int64		only[2][2] = {{0, 0}, {0, 0}};	/* [class][score]: flagged by that score alone */
	DD			caught[2] = {{0, 0}, {0, 0}};
	DD			declined[2] = {{0, 0}, {0, 0}};
	double		auc[2];
	double		variance;
	TupleDesc	desc;

	s = agg_state_arg(fcinfo, 0, &paired_kind, NULL);
	if (s == NULL)
		PG_RETURN_NULL();
	memset(&pairs, 0, sizeof(pairs));
	for (int64 i = 0; i < s->n; i++)
	{
		int			l = s->label[i];
		bool		fa,
					fb;

		if (l < 0)
			continue;
		labelled++;
		cls[l]++;
		pairs_add(&pairs.cls[l], s->a[i], s->b[i]);
		fa = s->a[i] >= s->threshold[0];
		fb = s->b[i] >= s->threshold[1];
		flagged[l][0] += fa;
		flagged[l][1] += fb;
		only[l][0] += fa && !fb;
		only[l][1] += fb && !fa;
		if (s->has_amount)
		{
			if (fa)
				dd_add(l ? &caught[0] : &declined[0], s->amount[i]);
			if (fb)
				dd_add(l ? &caught[1] : &declined[1], s->amount[i]);
		}
	}

	memset(null, 0, sizeof(null));
	v[C_ROWS] = Int64GetDatum(s->n);
	v[C_LABELLED] = Int64GetDatum(labelled);
	v[C_COVERAGE] = Float8GetDatum(s->n > 0 ? (double) labelled / s->n : 0);
	null[C_COVERAGE] = s->n == 0;
	v[C_POSITIVES] = Int64GetDatum(cls[1]);
	if (delong_paired(&pairs, auc, &variance))
	{
		double		half = two_sided_z(0.95) * sqrt(Max(variance, 0));

		v[C_AUC_A] = Float8GetDatum(auc[0]);
		v[C_AUC_B] = Float8GetDatum(auc[1]);
		v[C_AUC_DIFF] = Float8GetDatum(auc[0] - auc[1]);
		v[C_AUC_LOW] = Float8GetDatum(auc[0] - auc[1] - half);
		v[C_AUC_HIGH] = Float8GetDatum(auc[0] - auc[1] + half);
		v[C_AUC_P] = Float8GetDatum(variance > 0 ? two_sided_p((auc[0] - auc[1]) / sqrt(variance)) : 1.0);
		null[C_AUC_P] = variance <= 0 && auc[0] != auc[1];
	}
	else
		for (int c = C_AUC_A; c <= C_AUC_P; c++)
			null[c] = true;
	v[C_T_A] = Float8GetDatum(s->threshold[0]);
	v[C_T_B] = Float8GetDatum(s->threshold[1]);
	for (int k = 0; k < 2; k++)
	{
		v[C_RECALL_A + k] = Float8GetDatum(cls[1] ? (double) flagged[1][k] / cls[1] : 0);
		null[C_RECALL_A + k] = cls[1] == 0;
		v[C_FPR_A + k] = Float8GetDatum(cls[0] ? (double) flagged[0][k] / cls[0] : 0);
		null[C_FPR_A + k] = cls[0] == 0;
		v[C_CAUGHT_A + k] = Float8GetDatum(caught[k].hi + caught[k].lo);
		null[C_CAUGHT_A + k] = !s->has_amount;
		v[C_DECLINED_A + k] = Float8GetDatum(declined[k].hi + declined[k].lo);
		null[C_DECLINED_A + k] = !s->has_amount;
	}
	v[C_RECALL_P] = Float8GetDatum(mcnemar_exact(only[1][0], only[1][0] + only[1][1]));
	null[C_RECALL_P] = cls[1] == 0;
	v[C_FPR_P] = Float8GetDatum(mcnemar_exact(only[0][0], only[0][0] + only[0][1]));
	null[C_FPR_P] = cls[0] == 0;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, NAME " must return a composite type");
	desc = BlessTupleDesc(desc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, v, null)));
}

/*
 * risk.sample_ratio_test(rows_a, rows_b, expected_share_a): did group A
 * (the canary) get its share?  Pearson's chi-square goodness of fit with
 * one degree of freedom; a small p-value means the split is broken (a
 * sample ratio mismatch), and no comparison of the groups can be trusted.
 */
PG_FUNCTION_INFO_V1(risk_sample_ratio_test);
Datum
risk_sample_ratio_test(PG_FUNCTION_ARGS)
{
	int64		a = PG_GETARG_INT64(0);
	int64		b = PG_GETARG_INT64(1);
	double		share = PG_GETARG_FLOAT8(2);
	double		n = (double) a + (double) b;
	double		ea,
				eb,
				chi2;
	Datum		v[4];
	bool		null[4] = {false, false, false, false};
	TupleDesc	desc;

	if (a < 0 || b < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("risk.sample_ratio_test: row counts must be at least 0")));
	if (!(share > 0 && share < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("risk.sample_ratio_test: expected_share_a must be above 0 and below 1, not %g", share)));
	ea = n * share;
	eb = n - ea;
	chi2 = n > 0 ? (a - ea) * (a - ea) / ea + (b - eb) * (b - eb) / eb : 0;
	v[0] = Float8GetDatum(n > 0 ? a / n : 0);
	null[0] = n == 0;
	v[1] = Float8GetDatum(share);
	v[2] = Float8GetDatum(chi2);
	null[2] = n == 0;
	/* the chi-square survival function with 1 degree of freedom */
	v[3] = Float8GetDatum(erfc(sqrt(chi2 / 2)));
	null[3] = n == 0;
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "risk.sample_ratio_test must return a composite type");
	desc = BlessTupleDesc(desc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, v, null)));
}

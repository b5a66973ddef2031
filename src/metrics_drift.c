/*-------------------------------------------------------------------------
 * metrics_drift.c
 *	  Distribution drift: risk.psi (population stability index, of a score)
 *	  and risk.csi (characteristic stability index, the same of a feature),
 *	  and risk.psi_table, the bins they are made of.
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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/array.h"

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

/* A bin's term: (A - E) ln(A / E), with shares of 0 as EPSILON. */
static double
drift_term(const DriftBin *b, const MetricSample *s, double *expected, double *actual)
{
	double		e = (double) b->count[0] / s->cls[0].n;
	double		a = (double) b->count[1] / s->cls[1].n;

	*expected = e;
	*actual = a;
	e = Max(e, EPSILON);
	a = Max(a, EPSILON);
	return (a - e) * log(a / e);
}

/* The sorted sample of a final function's state, or NULL without both samples. */
static MetricSample *
drift_sample(FunctionCallInfo fcinfo)
{
	MetricSample *s;

	if (PG_ARGISNULL(0))
		return NULL;
	s = (MetricSample *) PG_GETARG_POINTER(0);
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

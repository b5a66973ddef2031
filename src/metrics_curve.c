/*-------------------------------------------------------------------------
 * metrics_curve.c
 *	  The curves, for plotting: risk.roc_curve, risk.pr_curve,
 *	  risk.calibration and risk.gains.  Each is an aggregate over the rows
 *	  (exact) and a function of a risk.score_summary (over its bins), and
 *	  returns an array of its row type, which unnest() turns into rows:
 *
 *		SELECT c.* FROM unnest((SELECT risk.roc_curve(score, label) FROM t)) c;
 *
 * ROC and precision-recall curves have one point per distinct score, from
 * the highest down (a threshold flags the rows scored at or above it), as
 * scikit-learn's roc_curve (drop_intermediate=False) and
 * precision_recall_curve; the ROC curve starts at (0, 0) with the
 * threshold +Infinity.  The gains table cuts the rows, ranked by score
 * from the highest, into buckets of equal row counts, tied scores kept in
 * one bucket.  The calibration table cuts [0, 1] into equal bins as
 * scikit-learn's calibration_curve (strategy 'uniform'), a bin holding
 * the scores above its lower edge up to its upper edge.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "metrics.h"

#define MAX_BINS 10000

void
curve_start(FunctionCallInfo fcinfo, CurveRows *c)
{
	Oid			array_type = get_fn_expr_rettype(fcinfo->flinfo);

	/* called without an expression (Citus's coordinator calls final functions so): as declared */
	if (!OidIsValid(array_type))
		array_type = get_func_rettype(fcinfo->flinfo->fn_oid);

	c->type = OidIsValid(array_type) ? get_element_type(array_type) : InvalidOid;
	if (!OidIsValid(c->type) || !type_is_rowtype(c->type))
		elog(ERROR, "a risk curve must return an array of a composite type");
	c->desc = lookup_rowtype_tupdesc_copy(c->type, -1);
	c->n = 0;
	c->cap = 64;
	c->rows = palloc(sizeof(Datum) * c->cap);
}

void
curve_row(CurveRows *c, Datum *values, bool *nulls)
{
	if (c->n == c->cap)
	{
		c->cap *= 2;
		c->rows = repalloc_huge(c->rows, sizeof(Datum) * c->cap);
	}
	c->rows[c->n++] = HeapTupleGetDatum(heap_form_tuple(c->desc, values, nulls));
}

Datum
curve_end(CurveRows *c)
{
	int16		len;
	bool		byval;
	char		align;

	get_typlenbyvalalign(c->type, &len, &byval, &align);
	PG_RETURN_ARRAYTYPE_P(construct_array(c->rows, c->n, c->type, len, byval, align));
}

/* num / den into *value, or NULL when den is zero */
static void
set_ratio(Datum *value, bool *isnull, double num, double den)
{
	*isnull = (den == 0);
	*value = Float8GetDatum(*isnull ? 0 : num / den);
}

/* risk.roc_point: (threshold, fpr, tpr), from (+Infinity, 0, 0) */
Datum
curve_roc(FunctionCallInfo fcinfo, const Ranked *r)
{
	CurveRows	c;
	GroupCursor cur;
	ScoreGroup	g;
	Datum		values[3] = {Float8GetDatum(INFINITY), Float8GetDatum(0), Float8GetDatum(0)};
	bool		nulls[3] = {false, false, false};

	curve_start(fcinfo, &c);
	curve_row(&c, values, nulls);
	group_cursor_init(&cur, r);
	while (group_cursor_next(&cur, &g))
	{
		values[0] = Float8GetDatum(g.score);
		values[1] = Float8GetDatum(g.flagged[0] / r->total[0]);
		values[2] = Float8GetDatum(g.flagged[1] / r->total[1]);
		curve_row(&c, values, nulls);
	}
	return curve_end(&c);
}

/* risk.pr_point: (threshold, precision, recall) */
Datum
curve_pr(FunctionCallInfo fcinfo, const Ranked *r)
{
	CurveRows	c;
	GroupCursor cur;
	ScoreGroup	g;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	curve_start(fcinfo, &c);
	group_cursor_init(&cur, r);
	while (group_cursor_next(&cur, &g))
	{
		values[0] = Float8GetDatum(g.score);
		set_ratio(&values[1], &nulls[1], g.flagged[1], g.flagged[0] + g.flagged[1]);
		values[2] = Float8GetDatum(g.flagged[1] / r->total[1]);
		curve_row(&c, values, nulls);
	}
	return curve_end(&c);
}

/* One bucket of the gains table, summed over its score groups. */
typedef struct Bucket
{
	int			number;
	double		max_score;
	double		min_score;
	double		rows;
	double		weight[2];
} Bucket;

/*
 * risk.gains_bucket: (bucket, min_score, max_score, rows, positives,
 * positive_rate, population, capture, lift, ks), the last four cumulative
 * from the top bucket down to this one.
 */
static void
gains_row(CurveRows *c, const Ranked *r, const Bucket *b, const double *flagged, double rows_so_far)
{
	Datum		values[10];
	bool		nulls[10] = {false};
	double		capture = flagged[1] / r->total[1];
	double		population = rows_so_far / r->rows;

	values[0] = Int32GetDatum(b->number);
	values[1] = Float8GetDatum(b->min_score);
	values[2] = Float8GetDatum(b->max_score);
	values[3] = Int64GetDatum((int64) b->rows);
	values[4] = Float8GetDatum(b->weight[1]);
	set_ratio(&values[5], &nulls[5], b->weight[1], b->weight[0] + b->weight[1]);
	values[6] = Float8GetDatum(population);
	values[7] = Float8GetDatum(capture);
	values[8] = Float8GetDatum(capture / population);
	values[9] = Float8GetDatum(fabs(capture - flagged[0] / r->total[0]));
	curve_row(c, values, nulls);
}

/*
 * A score group whose rows start after `before` of all rows goes to bucket
 * floor(before * buckets / rows) + 1: ties stay together, and a bucket
 * that no group starts in is left out.
 */
Datum
curve_gains(FunctionCallInfo fcinfo, const Ranked *r, int buckets)
{
	CurveRows	c;
	GroupCursor cur;
	ScoreGroup	g;
	Bucket		b = {0};
	double		before = 0;
	double		flagged[2] = {0, 0};	/* weight flagged up to the last group read */

	curve_start(fcinfo, &c);
	group_cursor_init(&cur, r);
	while (group_cursor_next(&cur, &g))
	{
		int			number = (int) floor(before * buckets / r->rows) + 1;

		if (number != b.number)
		{
			if (b.number > 0)
				gains_row(&c, r, &b, flagged, before);
			memset(&b, 0, sizeof(b));
			b.number = number;
			b.max_score = g.score;
		}
		b.min_score = g.score;
		b.rows += g.rows;
		b.weight[0] += g.weight[0];
		b.weight[1] += g.weight[1];
		before += g.rows;
		flagged[0] = g.flagged[0];
		flagged[1] = g.flagged[1];
	}
	if (b.number > 0)
		gains_row(&c, r, &b, flagged, before);
	return curve_end(&c);
}

/* The upper edge of calibration bin i of n (0-based), as numpy's linspace. */
static inline double
bin_edge(int i, int n)
{
	return i >= n ? 1.0 : i * (1.0 / n);
}

/* The bin of a probability: the inner edges below it. */
static int
calibration_bin(double p, int n)
{
	int			i = Min(Max((int) ceil(p * n) - 1, 0), n - 1);

	while (i > 0 && bin_edge(i, n) >= p)
		i--;
	while (i < n - 1 && bin_edge(i + 1, n) < p)
		i++;
	return i;
}

typedef struct CalibrationBin
{
	double		rows;
	double		weight;
	double		positives;
	double		score_sum;		/* weighted */
} CalibrationBin;

/*
 * risk.calibration_bin: (bin, lower, upper, rows, positives, mean_score,
 * positive_rate) for every bin with rows, means weighted.  Scores must be
 * probabilities.
 */
Datum
curve_calibration(FunctionCallInfo fcinfo, const Ranked *r, int n, const char *name)
{
	CalibrationBin *bins = palloc0(sizeof(CalibrationBin) * n);
	CurveRows	c;
	GroupCursor cur;
	ScoreGroup	g;

	group_cursor_init(&cur, r);
	while (group_cursor_next(&cur, &g))
	{
		CalibrationBin *b;

		if (g.score < 0 || g.score > 1)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s needs probabilities in [0, 1], not %g", name, g.score),
					 errhint("Pass the model's probability (risk.score), not a raw margin.")));
		b = &bins[calibration_bin(g.score, n)];
		b->rows += g.rows;
		b->weight += g.weight[0] + g.weight[1];
		b->positives += g.weight[1];
		b->score_sum += g.score * (g.weight[0] + g.weight[1]);
	}
	curve_start(fcinfo, &c);
	for (int i = 0; i < n; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {false};

		if (bins[i].rows == 0)
			continue;
		values[0] = Int32GetDatum(i + 1);
		values[1] = Float8GetDatum(bin_edge(i, n));
		values[2] = Float8GetDatum(bin_edge(i + 1, n));
		values[3] = Int64GetDatum((int64) bins[i].rows);
		values[4] = Float8GetDatum(bins[i].positives);
		set_ratio(&values[5], &nulls[5], bins[i].score_sum, bins[i].weight);
		set_ratio(&values[6], &nulls[6], bins[i].positives, bins[i].weight);
		curve_row(&c, values, nulls);
	}
	return curve_end(&c);
}

int
curve_bins(const char *name, double bins)
{
	if (bins < 1 || bins > MAX_BINS || bins != floor(bins))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs a number of bins from 1 to %d, not %g", name, MAX_BINS, bins)));
	return (int) bins;
}

/* ------------------------------------------------------------------------
 * The aggregates' final functions
 * ------------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(risk_roc_curve_final);
Datum
risk_roc_curve_final(PG_FUNCTION_ARGS)
{
	Ranked		r;

	if (!final_ranked(fcinfo, false, &r))
		PG_RETURN_NULL();
	return curve_roc(fcinfo, &r);
}

PG_FUNCTION_INFO_V1(risk_pr_curve_final);
Datum
risk_pr_curve_final(PG_FUNCTION_ARGS)
{
	Ranked		r;

	if (!final_ranked(fcinfo, false, &r))
		PG_RETURN_NULL();
	return curve_pr(fcinfo, &r);
}

PG_FUNCTION_INFO_V1(risk_gains_final);
Datum
risk_gains_final(PG_FUNCTION_ARGS)
{
	Ranked		r;

	if (!final_ranked(fcinfo, false, &r))
		PG_RETURN_NULL();
	return curve_gains(fcinfo, &r, (int) r.sample->param);
}

PG_FUNCTION_INFO_V1(risk_calibration_final);
Datum
risk_calibration_final(PG_FUNCTION_ARGS)
{
	Ranked		r;

	if (!final_ranked(fcinfo, true, &r))
		PG_RETURN_NULL();
	return curve_calibration(fcinfo, &r, (int) r.sample->param, metric_name(fcinfo));
}

/*-------------------------------------------------------------------------
 * metrics_rank.c
 *	  The exact rank metrics, as final functions over the sample of
 *	  metrics_sample.c: risk.auc, risk.gini, risk.average_precision,
 *	  risk.ks, risk.recall_at_fpr, risk.lift and risk.capture_rate, each
 *	  with an optional weight (an amount: dollar-weighted variants).
 *
 * Every one walks the distinct scores from the highest down (a threshold
 * flags the rows scored at or above it), so tied scores move together:
 * AUC counts a tied positive-negative pair one half, and the curves have
 * one point per distinct score, as scikit-learn's.  A sample with a single
 * class ranks nothing: these metrics are NULL then.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"

#include "metrics.h"

/*
 * The top fraction of a capture or lift final function's state, checked
 * (above 0) whether or not the metric is NULL.
 */
static double
top_fraction(FunctionCallInfo fcinfo)
{
	const MetricSample *s = metric_state_arg(fcinfo, 0, NULL, metric_state_typed(fcinfo));

	if (s != NULL && s->param_set && s->param <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s top fraction must be above 0", metric_name(fcinfo)),
				 errhint("The fraction of rows with the highest scores, e.g. 0.01 for the top 1%%.")));
	return s != NULL ? s->param : 0;
}

/*
 * A share, within [0, 1]: the totals and the running sums it divides are
 * added in different orders, so with weights it can miss by an ulp or two.
 */
static inline double
share(double x)
{
	return Min(Max(x, 0.0), 1.0);
}

/*
 * AUC: the chance that a positive outranks a negative, ties one half.  For
 * each distinct score, its positives times the negatives below it, plus
 * half of its own negatives; summed in double-double, exact for counts.
 */
double
rank_auc(const Ranked *r)
{
	GroupCursor c;
	ScoreGroup	g;
	DD			pairs = {0, 0};

	group_cursor_init(&c, r);
	while (group_cursor_next(&c, &g))
		if (g.weight[1] > 0)
		{
			dd_add(&pairs, g.weight[1] * (r->total[0] - g.flagged[0]));
			dd_add(&pairs, 0.5 * g.weight[1] * g.weight[0]);
		}
	return share((pairs.hi + pairs.lo) / (r->total[0] * r->total[1]));
}

/*
 * Average precision, as scikit-learn defines it: the sum over distinct
 * scores of the recall each adds times the precision at it.
 */
double
rank_average_precision(const Ranked *r)
{
	GroupCursor c;
	ScoreGroup	g;
	DD			ap = {0, 0};

	group_cursor_init(&c, r);
	while (group_cursor_next(&c, &g))
		if (g.weight[1] > 0)
			dd_add(&ap, (g.weight[1] / r->total[1]) *
				   (g.flagged[1] / (g.flagged[1] + g.flagged[0])));
	return share(ap.hi + ap.lo);
}

/* KS: the largest gap between the shares of positives and of negatives flagged. */
double
rank_ks(const Ranked *r)
{
	GroupCursor c;
	ScoreGroup	g;
	double		ks = 0;

	group_cursor_init(&c, r);
	while (group_cursor_next(&c, &g))
		ks = Max(ks, fabs(g.flagged[1] / r->total[1] - g.flagged[0] / r->total[0]));
	return share(ks);
}

/*
 * Recall at a false-positive rate alpha: the recall at the lowest threshold
 * whose false-positive rate is at most alpha (0 when even the highest
 * score's is above it).
 */
double
rank_recall_at_fpr(const Ranked *r, double max_fpr)
{
	GroupCursor c;
	ScoreGroup	g;
	double		recall = 0;

	group_cursor_init(&c, r);
	while (group_cursor_next(&c, &g) && g.flagged[0] / r->total[0] <= max_fpr)
		recall = g.flagged[1] / r->total[1];
	return share(recall);
}

/*
 * The share of the positives' weight in the top fraction of rows by score
 * (rows counted, not weighted).  A tied group across the cut counts in
 * proportion to the part of it inside: what a random order of its rows
 * would give on average.
 */
double
rank_capture(const Ranked *r, double top_fraction)
{
	GroupCursor c;
	ScoreGroup	g;
	double		quota = top_fraction * r->rows;
	double		taken = 0;
	double		caught = 0;

	group_cursor_init(&c, r);
	while (taken < quota && group_cursor_next(&c, &g))
	{
		double		part = Min(1.0, (quota - taken) / g.rows);

		caught += part * g.weight[1];
		taken += part * g.rows;
	}
	return share(caught / r->total[1]);
}

PG_FUNCTION_INFO_V1(risk_auc_final);
Datum
risk_auc_final(PG_FUNCTION_ARGS)
{
	Ranked		r;

	if (!final_ranked(fcinfo, false, &r))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(rank_auc(&r));
}

PG_FUNCTION_INFO_V1(risk_gini_final);
Datum
risk_gini_final(PG_FUNCTION_ARGS)
{
	Ranked		r;

	if (!final_ranked(fcinfo, false, &r))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(2 * rank_auc(&r) - 1);
}

PG_FUNCTION_INFO_V1(risk_average_precision_final);
Datum
risk_average_precision_final(PG_FUNCTION_ARGS)
{
	Ranked		r;

	if (!final_ranked(fcinfo, false, &r))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(rank_average_precision(&r));
}

PG_FUNCTION_INFO_V1(risk_ks_final);
Datum
risk_ks_final(PG_FUNCTION_ARGS)
{
	Ranked		r;

	if (!final_ranked(fcinfo, false, &r))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(rank_ks(&r));
}

PG_FUNCTION_INFO_V1(risk_recall_at_fpr_final);
Datum
risk_recall_at_fpr_final(PG_FUNCTION_ARGS)
{
	Ranked		r;

	if (!final_ranked(fcinfo, false, &r))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(rank_recall_at_fpr(&r, r.sample->param));
}

PG_FUNCTION_INFO_V1(risk_capture_rate_final);
Datum
risk_capture_rate_final(PG_FUNCTION_ARGS)
{
	double		top = top_fraction(fcinfo);
	Ranked		r;

	if (!final_ranked(fcinfo, false, &r))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(rank_capture(&r, top));
}

/* Lift: the positive rate in the top fraction over the overall rate. */
PG_FUNCTION_INFO_V1(risk_lift_final);
Datum
risk_lift_final(PG_FUNCTION_ARGS)
{
	double		top = top_fraction(fcinfo);
	Ranked		r;

	if (!final_ranked(fcinfo, false, &r))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(rank_capture(&r, top) / top);
}

/*-------------------------------------------------------------------------
 * metrics.h
 *	  What the metric aggregates share: reading a row (score, label,
 *	  weight), an aggregate's parameter, and the sample of scores kept by
 *	  the rank metrics (AUC, KS, average precision, ...).
 *-------------------------------------------------------------------------
 */
#ifndef RISK_METRICS_H
#define RISK_METRICS_H

#include "fmgr.h"
#include "access/tupdesc.h"
#include "utils/array.h"

#include "aggregates.h"

/* One row of a metric aggregate. */
typedef struct MetricRow
{
	double		score;
	bool		label;			/* positive (bad) */
	double		weight;			/* 1 without a weight argument */
} MetricRow;

/*
 * The largest weight of a row.  With at most 2^53 rows, class totals stay
 * below 1e116 and products of two totals below 1e232: no metric overflows.
 */
#define METRIC_MAX_WEIGHT 1e100

/*
 * The row in arguments score (argno), label (argno + 1: boolean, integer
 * or double precision) and, when weight_argno >= 0, weight; false when one
 * of them is NULL (the row is skipped).  Errors: a NaN score, a label other
 * than 0/1, a negative or non-finite weight, or one above METRIC_MAX_WEIGHT.
 */
extern bool metric_row(FunctionCallInfo fcinfo, int argno, int weight_argno, MetricRow *row);

/* The SQL name of the aggregate calling fcinfo's function, for messages. */
extern const char *metric_name(FunctionCallInfo fcinfo);

/*
 * An aggregate's parameter (a threshold, a rate) in argument argno: not
 * NULL, finite, in [lo, hi] (open at lo when lo_open), and the same as
 * *kept when has_kept.
 */
extern double metric_param(FunctionCallInfo fcinfo, int argno, double lo, bool lo_open,
						   double hi, bool has_kept, double kept);

/*
 * The state of a streaming metric: a float8[] of len elements (a concrete
 * type, so that Citus can split the aggregate), made in the aggregate's
 * memory on its first row and then updated in place (ARR_DATA_PTR).
 */
extern ArrayType *metric_array_state(FunctionCallInfo fcinfo, int argno, int len);

/* A float8[] state from outside (combine, final): checked, or NULL for NULL. */
extern double *metric_array_arg(FunctionCallInfo fcinfo, int argno, int len);

/* The scores of one class, ascending once sorted; weights NULL when all are 1. */
typedef struct ClassScores
{
	int64		n;
	int64		cap;
	double	   *score;
	double	   *weight;
	double		total;			/* sum of weights (n without) */
} ClassScores;

/* The whole sample of a rank metric: negatives [0] and positives [1]. */
typedef struct MetricSample
{
	bool		weighted;
	bool		has_param;
	bool		param_set;		/* param holds the groups' parameter */
	bool		sorted;
	double		param;
	ClassScores cls[2];
} MetricSample;

/* Sorts both classes (ascending), when rows came since the last sort. */
extern void metric_sample_sort(MetricSample *s);

/*
 * The state of a sample aggregate's support function (metrics_state.c):
 * internal (a MetricSample *), or risk.metric_sample (an expanded object,
 * changed in place).  typed: the state is risk.metric_sample.
 *   metric_state_arg: argument argno, NULL for NULL; with aggcontext, one
 *     the caller may change (the aggregate's own, or a copy in it);
 *     without, to read
 *   metric_state_new: an empty sample in the aggregate's memory
 *   metric_state_context: where the sample's arrays grow
 *   metric_state_datum: what the support function returns
 */
extern bool metric_state_typed(FunctionCallInfo fcinfo);

extern MetricSample *metric_state_arg(FunctionCallInfo fcinfo, int argno, MemoryContext aggcontext, bool typed);
extern MetricSample *metric_state_new(MemoryContext aggcontext, bool typed);
extern MemoryContext metric_state_context(MetricSample *s, MemoryContext aggcontext, bool typed);
extern Datum metric_state_datum(MetricSample *s, bool typed);

struct ScoreSummary;

/*
 * What the rank metrics and curves read: the exact sample of an aggregate
 * (sorted), or the bins of a risk.score_summary, whose rows count as tied
 * at their bin's mean score.
 */
typedef struct Ranked
{
	double		total[2];		/* weight of negatives, positives */
	double		rows;			/* rows, counted */
	const MetricSample *sample;
	const struct ScoreSummary *summary;
} Ranked;

/* The ranked sample of an aggregate's state (sorted here). */
extern void ranked_sample(Ranked *r, MetricSample *s);

/*
 * The ranked sample of a final function's state (argument 0); false, for a
 * NULL result, without rows, or unless one_class without both classes.
 */
extern bool final_ranked(FunctionCallInfo fcinfo, bool one_class, Ranked *r);

/*
 * The distinct scores from the highest down, each with the weight of each
 * class at it: the thresholds of a curve.
 */
typedef struct ScoreGroup
{
	double		score;
	double		weight[2];		/* negatives, positives */
	double		rows;			/* rows, counted */
	double		flagged[2];		/* weight at or above the score: fp, tp */
} ScoreGroup;

typedef struct GroupCursor
{
	const Ranked *r;
	int64		at[2];			/* sample entries not yet read, per class */
	int			bin;			/* summary entries not yet read */
	double		flagged[2];
} GroupCursor;

extern void group_cursor_init(GroupCursor *c, const Ranked *r);
extern bool group_cursor_next(GroupCursor *c, ScoreGroup *g);

/* metrics_summary.c: the bins stored; the next non-empty one from the top */
extern int	summary_stored_bins(const struct ScoreSummary *s);
extern bool summary_cursor_next(GroupCursor *c, ScoreGroup *g);

/* metrics_rank.c: the rank metrics of both classes (not NULL) */
extern double rank_auc(const Ranked *r);
extern double rank_average_precision(const Ranked *r);
extern double rank_ks(const Ranked *r);
extern double rank_recall_at_fpr(const Ranked *r, double max_fpr);
extern double rank_capture(const Ranked *r, double top_fraction);

/* metrics_curve.c: rows made into an array of the function's row type */
typedef struct CurveRows
{
	TupleDesc	desc;
	Oid			type;
	Datum	   *rows;
	int			n;
	int			cap;
} CurveRows;

extern void curve_start(FunctionCallInfo fcinfo, CurveRows *c);
extern void curve_row(CurveRows *c, Datum *values, bool *nulls);
extern Datum curve_end(CurveRows *c);

/* metrics_curve.c: the curves as arrays of their composite row types */
extern Datum curve_roc(FunctionCallInfo fcinfo, const Ranked *r);
extern Datum curve_pr(FunctionCallInfo fcinfo, const Ranked *r);
extern Datum curve_gains(FunctionCallInfo fcinfo, const Ranked *r, int buckets);
extern Datum curve_calibration(FunctionCallInfo fcinfo, const Ranked *r, int bins, const char *name);
/* a number of bins or buckets, checked (1 to 10,000) */
extern int	curve_bins(const char *name, double bins);

/* metrics_drift.c: a bin's PSI term (A - E) ln(A / E), shares of 0 as 0.0001 */
extern double drift_psi_term(double expected, double actual);

/* metrics_threshold.c: from {threshold, tp, fp, tn, fn} */
enum
{
	T_THRESHOLD, T_TP, T_FP, T_TN, T_FN, T_LEN
};
typedef enum
{
	M_PRECISION, M_RECALL, M_F1, M_ACCURACY, M_FPR, M_COUNT
} Measure;
extern double threshold_measure(const double *v, Measure m, bool *isnull);
extern Datum threshold_confusion(FunctionCallInfo fcinfo, const double *v);

/* metrics_loss.c: {weight, log loss hi, lo, Brier hi, lo} */
enum
{
	L_WEIGHT, L_LOG_HI, L_LOG_LO, L_BRIER_HI, L_BRIER_LO, L_LEN
};
extern void loss_add(FunctionCallInfo fcinfo, double *v, const MetricRow *row);
extern void loss_merge(double *into, const double *from);
/* The mean loss at `at` (L_LOG_HI, L_BRIER_HI) of v (its weight not 0), within its range. */
extern double loss_mean(const double *v, int at);

/* metrics_compare.c: both scores of paired rows, per class */
typedef struct PairClass
{
	int64		n;
	int64		cap;
	double	   *a;
	double	   *b;
} PairClass;

typedef struct PairSample
{
	PairClass	cls[2];			/* negatives, positives */
} PairSample;

extern void pairs_add(PairClass *c, double a, double b);
/* Both AUCs and DeLong's variance of auc[0] - auc[1]; false with fewer than two rows of a class. */
extern bool delong_paired(const PairSample *s, double *auc, double *variance);
/* The z with P(|Z| <= z) = level; the two-sided p-value of z (standard normal). */
extern double two_sided_z(double level);
extern double two_sided_p(double z);

#endif

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
 * The row in arguments score (argno), label (argno + 1) and, when
 * weight_argno >= 0, weight; false when one of them is NULL (the row is
 * skipped).  Errors: a NaN score, a label other than 0/1, a negative or
 * non-finite weight.
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
 * The distinct scores of a sorted sample from the highest down, each with
 * the weight (and count) of each class at it: the thresholds of a curve.
 */
typedef struct ScoreGroup
{
	double		score;
	double		weight[2];		/* negatives, positives */
	int64		count[2];
	double		flagged[2];		/* weight at or above the score: fp, tp */
} ScoreGroup;

typedef struct GroupCursor
{
	const MetricSample *s;
	int64		at[2];			/* entries not yet read, per class */
	double		flagged[2];
} GroupCursor;

extern void group_cursor_init(GroupCursor *c, const MetricSample *s);
extern bool group_cursor_next(GroupCursor *c, ScoreGroup *g);

#endif

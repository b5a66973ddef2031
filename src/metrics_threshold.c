/*-------------------------------------------------------------------------
 * metrics_threshold.c
 *	  Metrics at a decision threshold: a row is flagged when its score is at
 *	  or above the threshold.  risk.confusion gives the four counts and the
 *	  rates; risk.precision, risk.recall, risk.f1 and risk.accuracy each
 *	  one of them.  With a weight (an amount), the counts are sums of it:
 *	  dollar precision and dollar recall.
 *
 * The state is float8[5]: threshold, tp, fp, tn, fn.  A rate whose
 * denominator is zero (precision with nothing flagged, recall with no
 * positives) is NULL.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"

#include "metrics.h"

/* risk_threshold_add(state, score, label, threshold[, weight]) */
PG_FUNCTION_INFO_V1(risk_threshold_add);
Datum
risk_threshold_add(PG_FUNCTION_ARGS)
{
	bool		first = PG_ARGISNULL(0);
	ArrayType  *arr = metric_array_state(fcinfo, 0, T_LEN);
	double	   *v = (double *) ARR_DATA_PTR(arr);
	MetricRow	row;

	v[T_THRESHOLD] = metric_param(fcinfo, 3, -INFINITY, false, INFINITY, !first, v[T_THRESHOLD]);
	if (metric_row(fcinfo, 1, PG_NARGS() > 4 ? 4 : -1, &row))
	{
		bool		flagged = row.score >= v[T_THRESHOLD];

		v[row.label ? (flagged ? T_TP : T_FN) : (flagged ? T_FP : T_TN)] += row.weight;
	}
	PG_RETURN_ARRAYTYPE_P(arr);
}

PG_FUNCTION_INFO_V1(risk_threshold_combine);
Datum
risk_threshold_combine(PG_FUNCTION_ARGS)
{
	double	   *b = metric_array_arg(fcinfo, 1, T_LEN);
	ArrayType  *arr;
	double	   *a;

	if (b == NULL)
		return risk_combine_first(fcinfo, PG_ARGISNULL(0) ? NULL : PG_GETARG_POINTER(0));
	if (PG_ARGISNULL(0))
		PG_RETURN_DATUM(PG_GETARG_DATUM(1));
	arr = metric_array_state(fcinfo, 0, T_LEN);
	a = (double *) ARR_DATA_PTR(arr);
	if (a[T_THRESHOLD] != b[T_THRESHOLD])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs the same parameter on every row of a group (%g, then %g)",
						metric_name(fcinfo), a[T_THRESHOLD], b[T_THRESHOLD])));
	for (int i = T_TP; i < T_LEN; i++)
		a[i] += b[i];
	PG_RETURN_ARRAYTYPE_P(arr);
}

/* num / den, or NULL (isnull) when den is zero. */
static double
ratio(double num, double den, bool *isnull)
{
	*isnull = (den == 0);
	return *isnull ? 0 : num / den;
}

double
threshold_measure(const double *v, Measure m, bool *isnull)
{
	double		tp = v[T_TP],
				fp = v[T_FP],
				tn = v[T_TN],
				fn = v[T_FN];

	switch (m)
	{
		case M_PRECISION:
			return ratio(tp, tp + fp, isnull);
		case M_RECALL:
			return ratio(tp, tp + fn, isnull);
		case M_F1:
			return ratio(2 * tp, 2 * tp + fp + fn, isnull);
		case M_ACCURACY:
			return ratio(tp + tn, tp + fp + tn + fn, isnull);
		case M_FPR:
			return ratio(fp, fp + tn, isnull);
		case M_COUNT:
			break;
	}
	elog(ERROR, "unknown measure %d", (int) m);
	return 0;
}

static Datum
measure_final(FunctionCallInfo fcinfo, Measure m)
{
	double	   *v = metric_array_arg(fcinfo, 0, T_LEN);
	bool		isnull;
	double		r;

	if (v == NULL)
		PG_RETURN_NULL();
	r = threshold_measure(v, m, &isnull);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(r);
}

PG_FUNCTION_INFO_V1(risk_precision_final);
Datum
risk_precision_final(PG_FUNCTION_ARGS)
{
	return measure_final(fcinfo, M_PRECISION);
}

PG_FUNCTION_INFO_V1(risk_recall_final);
Datum
risk_recall_final(PG_FUNCTION_ARGS)
{
	return measure_final(fcinfo, M_RECALL);
}

PG_FUNCTION_INFO_V1(risk_f1_final);
Datum
risk_f1_final(PG_FUNCTION_ARGS)
{
	return measure_final(fcinfo, M_F1);
}

PG_FUNCTION_INFO_V1(risk_accuracy_final);
Datum
risk_accuracy_final(PG_FUNCTION_ARGS)
{
	return measure_final(fcinfo, M_ACCURACY);
}

/*
 * risk.confusion: (threshold, tp, fp, tn, fn, precision, recall, f1,
 * accuracy, fpr), the type risk.confusion.
 */
Datum
threshold_confusion(FunctionCallInfo fcinfo, const double *v)
{
	TupleDesc	desc;
	Datum		values[T_LEN + M_COUNT];
	bool		nulls[T_LEN + M_COUNT];

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "risk.confusion must return a composite type");
	desc = BlessTupleDesc(desc);
	for (int i = 0; i < T_LEN; i++)
	{
		values[i] = Float8GetDatum(v[i]);
		nulls[i] = false;
	}
	for (int m = 0; m < M_COUNT; m++)
		values[T_LEN + m] = Float8GetDatum(threshold_measure(v, (Measure) m, &nulls[T_LEN + m]));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

PG_FUNCTION_INFO_V1(risk_confusion_final);
Datum
risk_confusion_final(PG_FUNCTION_ARGS)
{
	double	   *v = metric_array_arg(fcinfo, 0, T_LEN);

	if (v == NULL)
		PG_RETURN_NULL();
	return threshold_confusion(fcinfo, v);
}

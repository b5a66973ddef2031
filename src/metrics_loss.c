/*-------------------------------------------------------------------------
 * metrics_loss.c
 *	  How well probabilities fit the labels: risk.log_loss and risk.brier,
 *	  weighted means over the rows (scikit-learn's log_loss and
 *	  brier_score_loss).  Scores must be probabilities, in [0, 1]; log loss
 *	  clips them to [eps, 1 - eps] with eps the double's machine epsilon
 *	  (2.2e-16), as scikit-learn does.  Both are defined with one class.
 *
 * The state is float8[5]: the weights' sum, then each loss's sum as a
 * double-double (hi, lo).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "fmgr.h"
#include "utils/array.h"

#include "metrics.h"

static void
state_add(double *v, int at, double x)
{
	DD			sum = {v[at], v[at + 1]};

	dd_add(&sum, x);
	v[at] = sum.hi;
	v[at + 1] = sum.lo;
}

/* One row into {weight, log loss, Brier}: probabilities only. */
void
loss_add(FunctionCallInfo fcinfo, double *v, const MetricRow *row)
{
	double		p;

	if (row->score < 0 || row->score > 1)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s needs probabilities in [0, 1], not %g", metric_name(fcinfo), row->score),
				 errhint("Pass the model's probability (risk.score), not a raw margin.")));
	p = Min(Max(row->score, DBL_EPSILON), 1 - DBL_EPSILON);
	v[L_WEIGHT] += row->weight;
	state_add(v, L_LOG_HI, -row->weight * (row->label ? log(p) : log(1 - p)));
	state_add(v, L_BRIER_HI, row->weight * (row->score - row->label) * (row->score - row->label));
}

double
loss_mean(const double *v, int at)
{
	/* the weight is a plain sum, the losses double-double ones: keep rounding inside the range */
	double		most = at == L_BRIER_HI ? 1 : -log(DBL_EPSILON);
	double		mean = (v[at] + v[at + 1]) / v[L_WEIGHT];

	return Min(Max(mean, 0), most);
}

void
loss_merge(double *into, const double *from)
{
	into[L_WEIGHT] += from[L_WEIGHT];
	for (int at = L_LOG_HI; at < L_LEN; at += 2)
	{
		state_add(into, at, from[at]);
		state_add(into, at, from[at + 1]);
	}
}

/* risk_loss_add(state, score, label[, weight]) */
PG_FUNCTION_INFO_V1(risk_loss_add);
Datum
risk_loss_add(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = metric_array_state(fcinfo, 0, L_LEN);
	MetricRow	row;

	if (metric_row(fcinfo, 1, PG_NARGS() > 3 ? 3 : -1, &row))
		loss_add(fcinfo, (double *) ARR_DATA_PTR(arr), &row);
	PG_RETURN_ARRAYTYPE_P(arr);
}

PG_FUNCTION_INFO_V1(risk_loss_combine);
Datum
risk_loss_combine(PG_FUNCTION_ARGS)
{
	double	   *b = metric_array_arg(fcinfo, 1, L_LEN);
	ArrayType  *arr;

	if (b == NULL)
		return risk_combine_first(fcinfo, PG_ARGISNULL(0) ? NULL : PG_GETARG_POINTER(0));
	if (PG_ARGISNULL(0))
		PG_RETURN_DATUM(PG_GETARG_DATUM(1));
	arr = metric_array_state(fcinfo, 0, L_LEN);
	loss_merge((double *) ARR_DATA_PTR(arr), b);
	PG_RETURN_ARRAYTYPE_P(arr);
}

static Datum
loss_final(FunctionCallInfo fcinfo, int at)
{
	double	   *v = metric_array_arg(fcinfo, 0, L_LEN);

	if (v == NULL || v[L_WEIGHT] == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(loss_mean(v, at));
}

PG_FUNCTION_INFO_V1(risk_log_loss_final);
Datum
risk_log_loss_final(PG_FUNCTION_ARGS)
{
	return loss_final(fcinfo, L_LOG_HI);
}

PG_FUNCTION_INFO_V1(risk_brier_final);
Datum
risk_brier_final(PG_FUNCTION_ARGS)
{
	return loss_final(fcinfo, L_BRIER_HI);
}

/*-------------------------------------------------------------------------
 * velocity_moments.c
 *	  Amount features over a window frame, each with a moving-aggregate
 *	  inverse so a sliding frame costs O(1) per row:
 *
 *	  risk.stddev(value)                 sample standard deviation;
 *	  risk.zscore(value)                 the frame's last value against the
 *	                                     rest of the frame: (x - mean) / sd;
 *	  risk.decayed_sum(value, ts, half_life)
 *	                                     sum of value * 2^(-(t_last - ts) / half_life),
 *	                                     as of the frame's latest time.
 *
 * PostgreSQL's own stddev and sum over double precision have no inverse:
 * subtracting floats back out drifts.  We add and subtract in double-double
 * arithmetic (each sum kept as an unevaluated pair hi + lo, Knuth's TwoSum),
 * so taking a row out undoes putting it in to about 1e-32 relative, and
 * rows can leave a frame for as long as the window slides.
 *
 * "The frame's last value" is the row added last: with a frame that ends at
 * CURRENT ROW, the current row; as a GROUP BY aggregate, the last row in the
 * aggregate's ORDER BY.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/timestamp.h"

#include "agg_state.h"
#include "velocity.h"

#define MOMENTS_FORMAT_VERSION 1
#define DECAY_FORMAT_VERSION 1

/* ---- double-double sums (DD, dd_add: velocity.h) ---- */

static inline long double
dd_value(const DD *s)
{
	return (long double) s->hi + (long double) s->lo;
}

/* Adds sign * x * x exactly (the product split by fma into two doubles). */
static inline void
dd_add_square(DD *s, double x, double sign)
{
	double		p = x * x;

	if (isinf(p))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value %g is too large to square for a standard deviation", x)));
	dd_add(s, sign * p);
	dd_add(s, sign * fma(x, x, -p));
}

/*
 * The sum of squared deviations, sumsq - sum^2 / n, in double-double: the
 * subtraction cancels most digits when the mean is large against the spread.
 */
static double
squared_deviations(int64 n, const DD *sum, const DD *sumsq)
{
	DD			m2 = *sumsq;
	double		p = sum->hi * sum->hi;
	double		e = fma(sum->hi, sum->hi, -p) + 2 * sum->hi * sum->lo;
	double		q = p / n;		/* (p + e) / n as q + r */
	double		r = (fma(-q, (double) n, p) + e) / n;

	dd_add(&m2, -q);
	dd_add(&m2, -r);
	return m2.hi + m2.lo;
}

/* ---- stddev and zscore ---- */

typedef struct MomentState
{
	int64		n;
	DD			sum;
	DD			sumsq;
	double		last;			/* the row added last */
	bool		last_null;		/* ... was NULL */
} MomentState;

/* risk.aggregate_state's kinds: written and read below */
static const AggStateKind moments_kind;
static const AggStateKind decay_kind;

static MomentState *
moments(FunctionCallInfo fcinfo, const char *fn)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, fn);
	MomentState *st = agg_state_arg(fcinfo, 0, &moments_kind, aggcontext);

	return st ? st : MemoryContextAllocZero(aggcontext, sizeof(MomentState));
}

static Datum
moments_result(FunctionCallInfo fcinfo, MomentState *st)
{
	return agg_state_result(fcinfo, st, &moments_kind, risk_aggcontext(fcinfo, "risk.stddev"));
}

static void
check_finite(double x, const char *fn)
{
	if (isnan(x) || isinf(x))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s cannot use infinite or NaN values", fn),
				 errhint("Filter them out with FILTER (WHERE value <> 'NaN' AND value <> 'Infinity' AND value <> '-Infinity').")));
}

PG_FUNCTION_INFO_V1(risk_moments_add);
Datum
risk_moments_add(PG_FUNCTION_ARGS)
{
	MomentState *st = moments(fcinfo, "risk_moments_add");

	if (!PG_ARGISNULL(1))
	{
		double		x = PG_GETARG_FLOAT8(1);

		check_finite(x, "risk.stddev and risk.zscore");
		st->n++;
		dd_add(&st->sum, x);
		dd_add_square(&st->sumsq, x, 1);
		st->last = x;
		st->last_null = false;
	}
	else
		st->last_null = true;
	return moments_result(fcinfo, st);
}

PG_FUNCTION_INFO_V1(risk_moments_remove);
Datum
risk_moments_remove(PG_FUNCTION_ARGS)
{
	MomentState *st = moments(fcinfo, "risk_moments_remove");

	if (!PG_ARGISNULL(1))
	{
		double		x = PG_GETARG_FLOAT8(1);

		if (st->n <= 0)
			PG_RETURN_NULL();	/* can't happen; recompute rather than guess */
		st->n--;
		if (st->n == 0)
			memset(st, 0, sizeof(MomentState));
		else
		{
			dd_add(&st->sum, -x);
			dd_add_square(&st->sumsq, x, -1);
		}
	}
	return moments_result(fcinfo, st);
}

PG_FUNCTION_INFO_V1(risk_moments_combine);
Datum
risk_moments_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk_moments_combine");
	MomentState *into = agg_state_arg(fcinfo, 0, &moments_kind, aggcontext);
	MomentState *from = agg_state_arg(fcinfo, 1, &moments_kind, NULL);

	if (from == NULL)
		return agg_state_result(fcinfo, into, &moments_kind, aggcontext);
	if (into == NULL)
		into = MemoryContextAllocZero(aggcontext, sizeof(MomentState));
	into->n += from->n;
	dd_add(&into->sum, from->sum.hi);
	dd_add(&into->sum, from->sum.lo);
	dd_add(&into->sumsq, from->sumsq.hi);
	dd_add(&into->sumsq, from->sumsq.lo);
	return agg_state_result(fcinfo, into, &moments_kind, aggcontext);
}

/* Sample standard deviation of n values with these sums; -1 when n < 2. */
static double
sample_sd(int64 n, const DD *sum, const DD *sumsq)
{
	double		m2;

	if (n < 2)
		return -1;
	m2 = squared_deviations(n, sum, sumsq);
	return m2 <= 0 ? 0 : sqrt(m2 / (n - 1));
}

PG_FUNCTION_INFO_V1(risk_stddev_final);
Datum
risk_stddev_final(PG_FUNCTION_ARGS)
{
	MomentState *st = agg_state_arg(fcinfo, 0, &moments_kind, NULL);
	double		sd;

	if (st == NULL)
		PG_RETURN_NULL();
	sd = sample_sd(st->n, &st->sum, &st->sumsq);
	if (sd < 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(sd);
}

PG_FUNCTION_INFO_V1(risk_zscore_final);
Datum
risk_zscore_final(PG_FUNCTION_ARGS)
{
	MomentState *st = agg_state_arg(fcinfo, 0, &moments_kind, NULL);
	DD			sum;
	DD			sumsq;
	double		sd;
	int64		n;

	if (st == NULL || st->last_null || st->n < 3)
		PG_RETURN_NULL();
	/* the rest of the frame: all but the last value */
	n = st->n - 1;
	sum = st->sum;
	dd_add(&sum, -st->last);
	sumsq = st->sumsq;
	dd_add_square(&sumsq, st->last, -1);
	sd = sample_sd(n, &sum, &sumsq);
	if (sd <= 0)
		PG_RETURN_NULL();
	/* last - mean, the mean's own two parts subtracted one by one */
	{
		double		mean = sum.hi / n;
		double		mean_lo = (fma(-mean, (double) n, sum.hi) + sum.lo) / n;

		PG_RETURN_FLOAT8(((st->last - mean) - mean_lo) / sd);
	}
}

/* ---- decayed sum ---- */

typedef struct DecayState
{
	int64		n;
	DD			sum;			/* as of ref */
	TimestampTz ref;			/* the latest time in the frame */
	int64		at_ref;			/* rows at that time */
	double		half_life;		/* seconds */
} DecayState;

static double
half_life_seconds(Interval *hl)
{
	double		s;

	if (hl->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("half_life must be given in days, hours, minutes or seconds"),
				 errdetail("Months and years have no fixed length.")));
	s = hl->day * (double) SECS_PER_DAY + hl->time / (double) USECS_PER_SEC;
	if (!(s > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("half_life must be positive")));
	return s;
}

/* Every row of a group (a window's frame, a partial state) decays at one rate. */
static void
same_half_life(double half_life, double other)
{
	if (other != half_life)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("risk.decayed_sum needs the same half_life on every row of a group"),
				 errdetail("A half_life of %g seconds, then of %g.", half_life, other),
				 errhint("Pass the half_life as a constant.")));
}

/* 2^((t - ref) / half_life) */
static inline double
decay(const DecayState *st, TimestampTz t)
{
	return exp2((double) (t - st->ref) / USECS_PER_SEC / st->half_life);
}

PG_FUNCTION_INFO_V1(risk_decay_add);
Datum
risk_decay_add(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk_decay_add");
	DecayState *st = agg_state_arg(fcinfo, 0, &decay_kind, aggcontext);
	double		x;
	TimestampTz t;

	if (st == NULL)
	{
		if (PG_ARGISNULL(3))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("half_life must not be NULL")));
		st = MemoryContextAllocZero(aggcontext, sizeof(DecayState));
		st->half_life = half_life_seconds(PG_GETARG_INTERVAL_P(3));
	}
	else if (!get_fn_expr_arg_stable(fcinfo->flinfo, 3))
		same_half_life(st->half_life, PG_ARGISNULL(3) ? -1 : half_life_seconds(PG_GETARG_INTERVAL_P(3)));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return agg_state_result(fcinfo, st, &decay_kind, aggcontext);
	x = PG_GETARG_FLOAT8(1);
	t = PG_GETARG_TIMESTAMPTZ(2);
	check_finite(x, "risk.decayed_sum");
	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("risk.decayed_sum cannot use an infinite time")));
	if (st->n == 0)
	{
		st->ref = t;
		st->at_ref = 0;
		st->sum.hi = st->sum.lo = 0;
	}
	else if (t > st->ref)
	{
		double		f = exp2(-((double) (t - st->ref) / USECS_PER_SEC / st->half_life));

		st->sum.hi *= f;
		st->sum.lo *= f;
		st->ref = t;
		st->at_ref = 0;
	}
	if (t == st->ref)
		st->at_ref++;
	st->n++;
	dd_add(&st->sum, x * decay(st, t));
	return agg_state_result(fcinfo, st, &decay_kind, aggcontext);
}

PG_FUNCTION_INFO_V1(risk_decay_remove);
Datum
risk_decay_remove(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk_decay_remove");
	DecayState *st = agg_state_arg(fcinfo, 0, &decay_kind, aggcontext);

	if (st == NULL)
		PG_RETURN_NULL();
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return agg_state_result(fcinfo, st, &decay_kind, aggcontext);
	if (st->n <= 0)
		PG_RETURN_NULL();
	st->n--;
	if (st->n == 0)
		st->sum.hi = st->sum.lo = 0;
	else
	{
		TimestampTz t = PG_GETARG_TIMESTAMPTZ(2);

		/* the latest row leaving (a frame not in time order): recompute */
		if (t == st->ref && --st->at_ref == 0)
			PG_RETURN_NULL();
		dd_add(&st->sum, -(PG_GETARG_FLOAT8(1) * decay(st, t)));
	}
	return agg_state_result(fcinfo, st, &decay_kind, aggcontext);
}

PG_FUNCTION_INFO_V1(risk_decay_final);
Datum
risk_decay_final(PG_FUNCTION_ARGS)
{
	DecayState *st = agg_state_arg(fcinfo, 0, &decay_kind, NULL);

	if (st == NULL || st->n == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8((double) dd_value(&st->sum));
}

PG_FUNCTION_INFO_V1(risk_decay_combine);
Datum
risk_decay_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk_decay_combine");
	DecayState *into = agg_state_arg(fcinfo, 0, &decay_kind, aggcontext);
	DecayState *from = agg_state_arg(fcinfo, 1, &decay_kind, NULL);

	if (from == NULL || from->n == 0)
		return agg_state_result(fcinfo, into, &decay_kind, aggcontext);
	if (into == NULL || into->n == 0)
	{
		if (into == NULL)
			into = MemoryContextAlloc(aggcontext, sizeof(DecayState));
		*into = *from;
		return agg_state_result(fcinfo, into, &decay_kind, aggcontext);
	}
	same_half_life(into->half_life, from->half_life);
	/* both as of the later time */
	if (from->ref > into->ref)
	{
		double		f = exp2(-((double) (from->ref - into->ref) / USECS_PER_SEC / into->half_life));

		into->sum.hi *= f;
		into->sum.lo *= f;
		into->ref = from->ref;
		into->at_ref = 0;
	}
	if (from->ref == into->ref)
		into->at_ref += from->at_ref;
	{
		double		f = exp2(-((double) (into->ref - from->ref) / USECS_PER_SEC / into->half_life));

		dd_add(&into->sum, from->sum.hi * f);
		dd_add(&into->sum, from->sum.lo * f);
	}
	into->n += from->n;
	return agg_state_result(fcinfo, into, &decay_kind, aggcontext);
}

/* ---- serialization (parallel query): a version byte, then the fields ---- */

static void
send_dd(StringInfo buf, const DD *d)
{
	pq_sendfloat8(buf, d->hi);
	pq_sendfloat8(buf, d->lo);
}

static void
get_dd(StringInfo buf, DD *d)
{
	d->hi = pq_getmsgfloat8(buf);
	d->lo = pq_getmsgfloat8(buf);
}

/* Written (parallel query, risk.aggregate_state): the version, then the fields. */
static void
moments_write(const void *state, StringInfo buf)
{
	const MomentState *st = state;

	pq_sendbyte(buf, MOMENTS_FORMAT_VERSION);
	pq_sendint64(buf, st->n);
	send_dd(buf, &st->sum);
	send_dd(buf, &st->sumsq);
	pq_sendfloat8(buf, st->last);
	pq_sendbyte(buf, st->last_null);
}

static bool
finite_dd(const DD *d)
{
	return !isnan(d->hi) && !isinf(d->hi) && !isnan(d->lo) && !isinf(d->lo);
}

static void *
moments_read(StringInfo buf, MemoryContext cxt)
{
	MomentState *st = MemoryContextAllocZero(cxt, sizeof(MomentState));

	risk_state_version(buf, MOMENTS_FORMAT_VERSION, "risk.stddev");
	risk_state_need(buf, 8 + 16 + 16 + 8 + 1, "risk.stddev");
	st->n = pq_getmsgint64(buf);
	get_dd(buf, &st->sum);
	get_dd(buf, &st->sumsq);
	st->last = pq_getmsgfloat8(buf);
	st->last_null = pq_getmsgbyte(buf) != 0;
	if (st->n < 0 || !finite_dd(&st->sum) || !finite_dd(&st->sumsq) || isnan(st->last) || isinf(st->last))
		risk_state_corrupt("risk.stddev", "It holds a negative count or a sum that is not finite.");
	return st;
}

static const AggStateKind moments_kind = {AGG_STATE_MOMENTS, "risk.stddev", moments_write, moments_read};

static void
decay_write(const void *state, StringInfo buf)
{
	const DecayState *st = state;

	pq_sendbyte(buf, DECAY_FORMAT_VERSION);
	pq_sendint64(buf, st->n);
	send_dd(buf, &st->sum);
	pq_sendint64(buf, st->ref);
	pq_sendint64(buf, st->at_ref);
	pq_sendfloat8(buf, st->half_life);
}

static void *
decay_read(StringInfo buf, MemoryContext cxt)
{
	DecayState *st = MemoryContextAllocZero(cxt, sizeof(DecayState));

	risk_state_version(buf, DECAY_FORMAT_VERSION, "risk.decayed_sum");
	risk_state_need(buf, 8 + 16 + 8 + 8 + 8, "risk.decayed_sum");
	st->n = pq_getmsgint64(buf);
	get_dd(buf, &st->sum);
	st->ref = pq_getmsgint64(buf);
	st->at_ref = pq_getmsgint64(buf);
	st->half_life = pq_getmsgfloat8(buf);
	if (st->n < 0 || st->at_ref < 0 || st->at_ref > st->n || !finite_dd(&st->sum) ||
		TIMESTAMP_NOT_FINITE(st->ref) || !(st->half_life > 0) || isinf(st->half_life))
		risk_state_corrupt("risk.decayed_sum",
						   "It holds a negative count, a sum or a time that is not finite, or a half-life that is not positive.");
	return st;
}

static const AggStateKind decay_kind = {AGG_STATE_DECAY, "risk.decayed_sum", decay_write, decay_read};

PG_FUNCTION_INFO_V1(risk_moments_serialize);
Datum
risk_moments_serialize(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	moments_write(PG_GETARG_POINTER(0), &buf);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(risk_moments_deserialize);
Datum
risk_moments_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk_moments_deserialize");
	StringInfoData buf;
	void	   *st;

	risk_state_bytes(&buf, PG_GETARG_BYTEA_PP(0));
	st = moments_read(&buf, aggcontext);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(risk_decay_serialize);
Datum
risk_decay_serialize(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	decay_write(PG_GETARG_POINTER(0), &buf);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(risk_decay_deserialize);
Datum
risk_decay_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = risk_aggcontext(fcinfo, "risk_decay_deserialize");
	StringInfoData buf;
	void	   *st;

	risk_state_bytes(&buf, PG_GETARG_BYTEA_PP(0));
	st = decay_read(&buf, aggcontext);
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(st);
}

/*-------------------------------------------------------------------------
 * velocity_names.c
 *	  Reading a velocity pack by name: risk.velocity_value(pack, windows,
 *	  measure, within) and risk.velocity_unpack(pack, windows).
 *
 * risk.velocity, risk.velocity_tiled and risk.velocity_read return one
 * double precision array: the counts of the windows in their order, then
 * the sums, then the distinct counts.  Indexing it by hand (v[8]) breaks
 * silently when a window is added; these read it by measure and window,
 * and check that the pack has the windows' layout.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/timestamp.h"

#include "velocity.h"

typedef enum
{
	MEASURE_COUNT,
	MEASURE_SUM,
	MEASURE_AVG,
	MEASURE_DISTINCT
} Measure;

/* The pack's values and the windows' widths; errors unless 3 values per window. */
static int
read_pack(const char *fn, ArrayType *pack, ArrayType *windows, double **values, int64 *widths)
{
	int			nwindows = velocity_parse_windows(fn, windows, widths);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_NDIM(pack) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s: the pack must be a one-dimensional array", fn)));
	deconstruct_array(pack, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	if (n != 3 * nwindows)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: the pack has %d values, not 3 per window of the %d given", fn, n, nwindows),
				 errhint("Pass the windows the pack was computed with, in their order.")));
	*values = palloc(sizeof(double) * n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s: the pack must not hold NULLs", fn),
					 errdetail("Value %d is NULL; risk.velocity's packs have none.", i + 1)));
		(*values)[i] = DatumGetFloat8(elems[i]);
	}
	return nwindows;
}

static Measure
parse_measure(const char *fn, const char *name)
{
	static const struct
	{
		const char *name;
		Measure		m;
	}			names[] = {
		{"count", MEASURE_COUNT}, {"sum", MEASURE_SUM}, {"avg", MEASURE_AVG},
		{"distinct", MEASURE_DISTINCT}, {"count_distinct", MEASURE_DISTINCT}
	};

	for (int i = 0; i < lengthof(names); i++)
		if (strcmp(name, names[i].name) == 0)
			return names[i].m;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s: unknown measure \"%s\"", fn, name),
			 errhint("A pack has count, sum, avg and distinct per window.")));
	pg_unreachable();
}

/* risk.velocity_value(pack, windows, measure, within): one value, by name. */
PG_FUNCTION_INFO_V1(risk_velocity_value);
Datum
risk_velocity_value(PG_FUNCTION_ARGS)
{
	const char *fn = "risk.velocity_value";
	int64		widths[VELOCITY_MAX_WINDOWS];
	double	   *v;
	int			n = read_pack(fn, PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_ARRAYTYPE_P(1), &v, widths);
	Measure		m = parse_measure(fn, text_to_cstring(PG_GETARG_TEXT_PP(2)));
	int64		within = velocity_window_width(fn, PG_GETARG_INTERVAL_P(3));
	int			i;

	for (i = 0; i < n; i++)
		if (widths[i] == within)
			break;
	if (i == n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: window %s is not one of the pack's windows", fn,
						DatumGetCString(DirectFunctionCall1(interval_out, PG_GETARG_DATUM(3)))),
				 errhint("The windows are %s.", OidOutputFunctionCall(F_ARRAY_OUT, PG_GETARG_DATUM(1)))));
	switch (m)
	{
		case MEASURE_COUNT:
			PG_RETURN_FLOAT8(v[i]);
		case MEASURE_SUM:
			PG_RETURN_FLOAT8(v[n + i]);
		case MEASURE_AVG:
			if (v[i] == 0)
				PG_RETURN_NULL();
			PG_RETURN_FLOAT8(v[n + i] / v[i]);
		case MEASURE_DISTINCT:
			PG_RETURN_FLOAT8(v[2 * n + i]);
	}
	pg_unreachable();
}

/* risk.velocity_unpack(pack, windows): a row per window, its measures by name. */
PG_FUNCTION_INFO_V1(risk_velocity_unpack);
Datum
risk_velocity_unpack(PG_FUNCTION_ARGS)
{
	const char *fn = "risk.velocity_unpack";
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		widths[VELOCITY_MAX_WINDOWS];
	double	   *v;
	int			n = read_pack(fn, PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_ARRAYTYPE_P(1), &v, widths);
	Datum	   *windows;
	bool	   *wnulls;
	int			nw;

	InitMaterializedSRF(fcinfo, 0);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), INTERVALOID, 16, false, TYPALIGN_DOUBLE, &windows, &wnulls, &nw);
	for (int i = 0; i < n; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, v[i] == 0, false};

		values[0] = windows[i];
		values[1] = Float8GetDatum(v[i]);
		values[2] = Float8GetDatum(v[n + i]);
		values[3] = v[i] == 0 ? (Datum) 0 : Float8GetDatum(v[n + i] / v[i]);
		values[4] = Float8GetDatum(v[2 * n + i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

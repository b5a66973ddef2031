/*-------------------------------------------------------------------------
 * velocity_windows.c
 *	  Velocity windows: reading an interval[] of window widths, and the
 *	  tiles of tiled ("sawtooth") windows, shared by the batch window
 *	  function and the online state so both mean the same thing.
 *
 * A tiled window of width W has a hop H (its tile width), chosen from W:
 * the largest of 1 day, 6 hours, 2 hours, 1 hour, 30, 10, 5 and 1 minutes,
 * 30, 10, 5 and 1 seconds that is at most W / 12; windows under 12 seconds
 * are not tiled (H = 1 microsecond).  Windows from 12 seconds to 12 days
 * have 12 to 61 tiles; longer ones have one per day.  Tiles are aligned on
 * midnight UTC.  For an event at time t the window starts at the start of
 * the tile holding t - W, so it reaches back between W and W + H (at most
 * W + W/12).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "utils/array.h"
#include "utils/timestamp.h"

#include "velocity.h"

#define MAX_WIDTH (INT64CONST(100000) * USECS_PER_DAY)

int64
velocity_window_width(const char *fn, Interval *iv)
{
	int64		us;

	if (iv->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s windows must be given in days, hours, minutes or seconds", fn),
				 errdetail("Months and years have no fixed length.")));
	if (pg_mul_s64_overflow((int64) iv->day, USECS_PER_DAY, &us) ||
		pg_add_s64_overflow(us, iv->time, &us) || us > MAX_WIDTH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s windows must be shorter than 100,000 days", fn)));
	if (us <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s windows must be positive", fn)));
	return us;
}

int
velocity_parse_windows(const char *fn, ArrayType *arr, int64 *widths)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s windows must be a one-dimensional array", fn)));
	deconstruct_array(arr, INTERVALOID, 16, false, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	if (n < 1 || n > VELOCITY_MAX_WINDOWS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s takes 1 to %d windows, not %d", fn, VELOCITY_MAX_WINDOWS, n)));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s windows must not be NULL", fn)));
		widths[i] = velocity_window_width(fn, DatumGetIntervalP(elems[i]));
	}
	return n;
}

bool
velocity_width_ok(int64 width)
{
	return width > 0 && width <= MAX_WIDTH;
}

int64
velocity_tile_hop(int64 width)
{
	static const int64 hops[] = {
		USECS_PER_DAY, 6 * USECS_PER_HOUR, 2 * USECS_PER_HOUR, USECS_PER_HOUR,
		30 * USECS_PER_MINUTE, 10 * USECS_PER_MINUTE, 5 * USECS_PER_MINUTE, USECS_PER_MINUTE,
		30 * USECS_PER_SEC, 10 * USECS_PER_SEC, 5 * USECS_PER_SEC, USECS_PER_SEC
	};

	for (int i = 0; i < lengthof(hops); i++)
		if (hops[i] * 12 <= width)
			return hops[i];
	return 1;
}

/*-------------------------------------------------------------------------
 * fuzz_velocity_state.c
 *	  libFuzzer harness: risk.velocity_state's text input (first byte
 *	  even: \x and hexadecimal) or binary input (odd), then what a user
 *	  does with a state that was accepted: its forms read back to the same
 *	  state, it reads at any time, and an event can be added to it.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/array.h"
#include "utils/timestamp.h"

#include "fuzz_common.h"
#include "pg_shim.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


extern Datum risk_velocity_state_in(PG_FUNCTION_ARGS);
extern Datum risk_velocity_state_out(PG_FUNCTION_ARGS);
extern Datum risk_velocity_state_recv(PG_FUNCTION_ARGS);
extern Datum risk_velocity_state_send(PG_FUNCTION_ARGS);
extern Datum risk_velocity_read(PG_FUNCTION_ARGS);
extern Datum risk_velocity_add(PG_FUNCTION_ARGS);

/* velocity_read's values: counts and distinct counts >= 0, finite sums */
static void
check_read(Datum state, TimestampTz at, bool include)
{
	Datum		args[3] = {state, TimestampTzGetDatum(at), BoolGetDatum(include)};
	bool		isnull;
	ArrayType  *a = DatumGetArrayTypeP(fuzz_call(risk_velocity_read, 3, args, &isnull));
	int			n = ARR_DIMS(a)[0];
	const double *v = (const double *) ARR_DATA_PTR(a);

	for (int i = 0; i < n; i++)
		if (!isfinite(v[i]) || (i < n / 3 && v[i] < 0) || (i >= 2 * n / 3 && v[i] < 0))
			finding("velocity_read gave a negative count or a value that is not finite");
}

static void
check_state(Datum state, const uint8_t *data, size_t size)
{
	bool		isnull;
	char	   *text = DatumGetCString(fuzz_call1(risk_velocity_state_out, state, &isnull));
	Datum		again = fuzz_call1(risk_velocity_state_in, CStringGetDatum(text), &isnull);
	Datum		sent = fuzz_call1(risk_velocity_state_send, state, &isnull);
	Datum		received = fuzz_call1(risk_velocity_state_recv,
									  PointerGetDatum(fuzz_message_of(DatumGetByteaPP(sent))), &isnull);
	TimestampTz at = INT64CONST(851644800000000);	/* 2026-12-01 */

	if (strcmp(text, DatumGetCString(fuzz_call1(risk_velocity_state_out, again, &isnull))) != 0)
		finding("the text form does not read back to the same state");
	if (strcmp(text, DatumGetCString(fuzz_call1(risk_velocity_state_out, received, &isnull))) != 0)
		finding("the binary form does not read back to the same state");
	/* times from the input: any of them reads */
	for (size_t i = 0; i + 8 <= size && i < 64; i += 8)
	{
		int64		t;

		memcpy(&t, data + i, 8);
		if (IS_VALID_TIMESTAMP(t) && !TIMESTAMP_NOT_FINITE(t))
		{
			check_read(state, t, i % 16 == 0);
			at = t;
		}
	}
	check_read(state, at, true);
	{
		Datum		args[3] = {state, TimestampTzGetDatum(at), Float8GetDatum(1.5)};
		Datum		added = fuzz_call(risk_velocity_add, 3, args, &isnull);

		check_read(added, at, true);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 1 && size < 1024 * 1024)
	{
		volatile Datum state = 0;

		if (data[0] % 2 == 0)
		{
			char	   *text = palloc(size + 2);

			text[0] = '\\';
			text[1] = 'x';
			memcpy(text + 2, data + 1, size - 1);
			text[size + 1] = '\0';
			(void) SHIM_TRY({
				bool		isnull;

				state = fuzz_call1(risk_velocity_state_in, CStringGetDatum(text), &isnull);
			});
		}
		else
			(void) SHIM_TRY({
				bool		isnull;

				state = fuzz_call1(risk_velocity_state_recv, PointerGetDatum(fuzz_message(data + 1, size - 1)), &isnull);
			});
		/* an accepted state: using it must not fail (add may refuse a time out of range) */
		if (state != 0)
			(void) SHIM_TRY(check_state(state, data, size));
	}
	shim_free_all();
	return 0;
}

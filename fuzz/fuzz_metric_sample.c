/*-------------------------------------------------------------------------
 * fuzz_metric_sample.c
 *	  libFuzzer harness: risk.metric_sample's text input (first byte even)
 *	  or binary input (odd); a value that was accepted must print, send and
 *	  read back to the same bytes.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fuzz_common.h"
#include "pg_shim.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern Datum risk_metric_sample_in(PG_FUNCTION_ARGS);
extern Datum risk_metric_sample_out(PG_FUNCTION_ARGS);
extern Datum risk_metric_sample_recv(PG_FUNCTION_ARGS);
extern Datum risk_metric_sample_send(PG_FUNCTION_ARGS);

static void
check_value(Datum sample)
{
	bool		isnull;
	char	   *text = DatumGetCString(fuzz_call1(risk_metric_sample_out, sample, &isnull));
	Datum		again = fuzz_call1(risk_metric_sample_in, CStringGetDatum(text), &isnull);
	Datum		sent = fuzz_call1(risk_metric_sample_send, sample, &isnull);
	Datum		received = fuzz_call1(risk_metric_sample_recv,
									  PointerGetDatum(fuzz_message_of(DatumGetByteaPP(sent))), &isnull);

	if (strcmp(text, DatumGetCString(fuzz_call1(risk_metric_sample_out, again, &isnull))) != 0)
		finding("the text form does not read back to the same sample");
	if (strcmp(text, DatumGetCString(fuzz_call1(risk_metric_sample_out, received, &isnull))) != 0)
		finding("the binary form does not read back to the same sample");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 1 && size < 1024 * 1024)
	{
		Datum		sample = fuzz_read_value(data, size, risk_metric_sample_in, risk_metric_sample_recv);

		/* an accepted value: using it must not fail at all */
		if (sample != 0 && !SHIM_TRY(check_value(sample)))
			finding("an accepted sample raised an ERROR when used");
	}
	shim_free_all();
	return 0;
}

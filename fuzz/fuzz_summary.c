/*-------------------------------------------------------------------------
 * fuzz_summary.c
 *	  libFuzzer harness: risk.score_summary's text input (first byte even)
 *	  or binary input (odd), then what a user does with a value that was
 *	  accepted: its text and binary forms must read back to the same value,
 *	  and the metrics read from it must be numbers in their ranges.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fuzz_common.h"
#include "pg_shim.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


extern Datum risk_summary_in(PG_FUNCTION_ARGS);
extern Datum risk_summary_out(PG_FUNCTION_ARGS);
extern Datum risk_summary_recv(PG_FUNCTION_ARGS);
extern Datum risk_summary_send(PG_FUNCTION_ARGS);
extern Datum risk_summary_auc(PG_FUNCTION_ARGS);
extern Datum risk_summary_gini(PG_FUNCTION_ARGS);
extern Datum risk_summary_ks(PG_FUNCTION_ARGS);
extern Datum risk_summary_average_precision(PG_FUNCTION_ARGS);
extern Datum risk_summary_log_loss(PG_FUNCTION_ARGS);
extern Datum risk_summary_brier(PG_FUNCTION_ARGS);
extern Datum risk_summary_auc_error_bound(PG_FUNCTION_ARGS);
extern Datum risk_summary_ks_error_bound(PG_FUNCTION_ARGS);
extern Datum risk_summary_recall_at_fpr(PG_FUNCTION_ARGS);
extern Datum risk_summary_lift(PG_FUNCTION_ARGS);
extern Datum risk_summary_capture_rate(PG_FUNCTION_ARGS);
extern Datum risk_summary_psi(PG_FUNCTION_ARGS);
extern Datum risk_summary_rows(PG_FUNCTION_ARGS);

/* A metric of the summary: NULL, or a finite number in [lo, hi]. */
#define check_metric(fn, summary, lo, hi) check_metric_named(fn, #fn, summary, lo, hi)
static void
check_metric_named(PGFunction fn, const char *name, Datum summary, double lo, double hi)
{
	bool		isnull;
	double		v = DatumGetFloat8(fuzz_call1(fn, summary, &isnull));

	if (!isnull && !(v >= lo && v <= hi))
	{
		fprintf(stderr, "%s: %.17g not in [%g, %g]\n", name, v, lo, hi);
		finding("a metric out of its range");
	}
}

static void
check_value(Datum summary)
{
	bool		isnull;
	char	   *text = DatumGetCString(fuzz_call1(risk_summary_out, summary, &isnull));
	Datum		again = fuzz_call1(risk_summary_in, CStringGetDatum(text), &isnull);
	Datum		sent = fuzz_call1(risk_summary_send, summary, &isnull);
	Datum		received = fuzz_call1(risk_summary_recv,
									  PointerGetDatum(fuzz_message_of(DatumGetByteaPP(sent))), &isnull);
	Datum		args[3] = {summary, Float8GetDatum(0.05), Int32GetDatum(10)};

	/* both forms read back to the same value */
	if (strcmp(text, DatumGetCString(fuzz_call1(risk_summary_out, again, &isnull))) != 0)
		finding("the text form does not read back to the same summary");
	if (strcmp(text, DatumGetCString(fuzz_call1(risk_summary_out, received, &isnull))) != 0)
		finding("the binary form does not read back to the same summary");
	check_metric(risk_summary_auc, summary, 0, 1);
	check_metric(risk_summary_gini, summary, -1, 1);
	check_metric(risk_summary_ks, summary, 0, 1);
	check_metric(risk_summary_average_precision, summary, 0, 1);
	check_metric(risk_summary_log_loss, summary, 0, 40);
	check_metric(risk_summary_brier, summary, 0, 1);
	check_metric(risk_summary_auc_error_bound, summary, 0, 1);
	check_metric(risk_summary_ks_error_bound, summary, 0, 1);
	(void) fuzz_call1(risk_summary_rows, summary, &isnull);
	{
		double		v = DatumGetFloat8(fuzz_call(risk_summary_recall_at_fpr, 2, args, &isnull));

		if (!isnull && !(v >= 0 && v <= 1))
			finding("recall_at_fpr out of [0, 1]");
		v = DatumGetFloat8(fuzz_call(risk_summary_capture_rate, 2, args, &isnull));
		if (!isnull && !(v >= 0 && v <= 1))
			finding("capture_rate out of [0, 1]");
		v = DatumGetFloat8(fuzz_call(risk_summary_lift, 2, args, &isnull));
		if (!isnull && !(v >= 0 && isfinite(v)))
			finding("lift negative or not finite");
		args[1] = summary;
		v = DatumGetFloat8(fuzz_call(risk_summary_psi, 3, args, &isnull));
		if (!isnull && !(v >= 0 && isfinite(v)))
			finding("psi negative or not finite");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 1 && size < 1024 * 1024)
	{
		Datum		summary = fuzz_read_value(data, size, risk_summary_in, risk_summary_recv);

		/* an accepted value: using it must not fail at all */
		if (summary != 0 && !SHIM_TRY(check_value(summary)))
			finding("an accepted summary raised an ERROR when used");
	}
	shim_free_all();
	return 0;
}

/*-------------------------------------------------------------------------
 * fuzz_model.c
 *	  libFuzzer harness: XGBoost JSON -> model_json_parse (our reader of
 *	  libxgboost's JSON) -> forest_compile (the checks and the compiled
 *	  layouts) -> margins, transforms and TreeSHAP contributions of a few
 *	  rows.  Bad input must end in an ERROR, never in a sanitizer report.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "forest.h"
#include "model_json.h"
#include "pg_shim.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
score_rows(Forest *f, const uint8_t *data, size_t size)
{
	int			n = f->num_features;
	float	   *row = palloc(sizeof(float) * Max(n, 1));
	float	   *out = palloc(sizeof(float) * Max(f->num_groups, 1));
	double	   *phi = palloc(sizeof(double) * (n + 1));

	for (int r = 0; r < 3; r++)
	{
		for (int i = 0; i < n; i++)
			row[i] = r == 0 ? 0 : r == 1 ? NAN : (float) (size ? data[i % size] : 0) - 100;
		forest_margins(f, row, out);
		forest_transform(f, out);
		if (f->num_groups > 1)
			forest_softmax(f, out);
		if (forest_can_explain(f) && f->max_depth <= 64)
			forest_contributions(f, row, phi);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < INT32_MAX)
	{
		(void) SHIM_TRY(
		{
			char	   *json = palloc(size + 1);
			ModelSpec  *spec;
			Forest	   *f;

			memcpy(json, data, size);
			json[size] = '\0';
			spec = model_json_parse(json, (int) size);
			f = forest_compile(spec);
			score_rows(f, data, size);
		});
	}
	shim_free_all();
	return 0;
}

/*-------------------------------------------------------------------------
 * feature_array.c
 *	  The one reader of feature arrays (float4[] or float8[]) for every
 *	  scoring path: risk.score, score_margin, score_classes,
 *	  score_contributions, score_xgboost* and the scoring trigger.  Its
 *	  checks, and so its errors and SQLSTATEs, are the same everywhere.
 *	  And its inverse, for the trigger's features= column.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"

#include "feature_array.h"

void
features_not_finite(const CachedModel *m, int feature)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("feature %d (\"%s\") of model \"%s\" is infinite or out of float4 range",
					feature + 1, m->feature_names[feature], m->name),
			 errhint("XGBoost's predict() refuses infinite inputs too; use NULL or NaN for a missing value.")));
}

static void
check_shape(const CachedModel *m, ArrayType *a)
{
	int			n;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("features must be a one-dimensional array"),
				 errdetail("The array has %d dimensions.", ARR_NDIM(a))));
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	if (n != m->num_features)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" expects %d features, got %d",
						m->name, m->num_features, n),
				 errhint("SELECT * FROM risk.model_features('%s') lists them in order.", m->name)));
}

void
features_read_array(const CachedModel *m, ArrayType *a, Oid elemtype, float *row)
{
	const bits8 *bitmap = ARR_NULLBITMAP(a);
	int			n;

	check_shape(m, a);
	n = m->num_features;
	if (elemtype == FLOAT4OID)
	{
		const float *data = (const float *) ARR_DATA_PTR(a);

		if (bitmap == NULL)
			memcpy(row, data, sizeof(float) * n);
		else
			for (int i = 0; i < n; i++)
				row[i] = (bitmap[i / 8] & (1 << (i % 8))) ? *data++ : NAN;
	}
	else if (elemtype == FLOAT8OID)
	{
		const double *data = (const double *) ARR_DATA_PTR(a);

		for (int i = 0; i < n; i++)
			row[i] = (bitmap && !(bitmap[i / 8] & (1 << (i % 8)))) ? NAN : (float) *data++;
	}
	else
		elog(ERROR, "features of type %u are not read as an array", elemtype);
	for (int i = 0; i < n; i++)
		if (unlikely(isinf(row[i])))
			features_not_finite(m, i);
}

ArrayType *
features_make_array(const float *row, int n, Oid elemtype)
{
	Datum	   *values = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};
	ArrayType  *a;

	Assert(elemtype == FLOAT4OID || elemtype == FLOAT8OID);
	for (int i = 0; i < n; i++)
	{
		nulls[i] = isnan(row[i]);
		values[i] = elemtype == FLOAT4OID ? Float4GetDatum(row[i]) : Float8GetDatum((double) row[i]);
	}
	if (elemtype == FLOAT4OID)
		a = construct_md_array(values, nulls, 1, dims, lbs, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
	else
		a = construct_md_array(values, nulls, 1, dims, lbs, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
							   TYPALIGN_DOUBLE);
	pfree(values);
	pfree(nulls);
	return a;
}

FeatureType
features_column_type(Oid typid)
{
	switch (getBaseType(typid))
	{
		case FLOAT4OID:
			return FT_FLOAT4;
		case FLOAT8OID:
			return FT_FLOAT8;
		case INT2OID:
			return FT_INT2;
		case INT4OID:
			return FT_INT4;
		case INT8OID:
			return FT_INT8;
		case NUMERICOID:
			return FT_NUMERIC;
		case BOOLOID:
			return FT_BOOL;
	}
	return FT_NONE;
}

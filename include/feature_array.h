/*-------------------------------------------------------------------------
 * feature_array.h
 *	  The one reader of feature arrays: float4[] or float8[] -> the float32
 *	  row a model scores, checked the same way for every scoring path
 *	  (risk.score and its siblings, the scoring trigger), and its inverse.
 *-------------------------------------------------------------------------
 */
#ifndef RISK_FEATURE_ARRAY_H
#define RISK_FEATURE_ARRAY_H

#include "access/tupdesc.h"
#include "access/htup.h"
#include "utils/array.h"
#include "utils/fmgrprotos.h"

#include "model_cache.h"

/*
 * Reads `a`, an array of elemtype FLOAT4OID or FLOAT8OID, into row
 * (model->num_features floats).  NULL and NaN are missing (NaN); float8
 * values are rounded to float32 as XGBoost does.  Errors (SQLSTATE):
 * more than one dimension (2202E), not num_features elements (22023), an
 * infinite value or one beyond the range of real (22003).
 */
extern void features_read_array(const CachedModel *model, ArrayType *a, Oid elemtype, float *row);

/*
 * The row as an array of elemtype FLOAT4OID or FLOAT8OID, missing values
 * (NaN) as NULL: what features_read_array reads back as the same row.
 */
extern ArrayType *features_make_array(const float *row, int n, Oid elemtype);

/* The error for feature `feature` (0-based), infinite or out of range. */
extern void features_not_finite(const CachedModel *model, int feature) pg_attribute_noreturn();

/*
 * The column types a feature can have, for every path that reads features
 * from columns (risk.score over a row, the scoring trigger, risk.train).
 */
typedef enum FeatureType
{
	FT_NONE = -1,				/* not a type a feature can have */
	FT_FLOAT4,
	FT_FLOAT8,
	FT_INT2,
	FT_INT4,
	FT_INT8,
	FT_NUMERIC,
	FT_BOOL
} FeatureType;

#define FEATURE_TYPES_HINT "Features are real, double precision, smallint, integer, bigint, numeric or boolean; cast the column."

/* The feature type of a column of type typid (or of a domain over one). */
extern FeatureType features_column_type(Oid typid);
/*
 * A column's value as XGBoost reads it: float32, booleans as 0 and 1 (may
 * be infinite).  Inline: risk.score over a row calls it per feature.
 */
static inline float
features_column_value(FeatureType type, Datum d)
{
	switch (type)
	{
		case FT_FLOAT4:
			return DatumGetFloat4(d);
		case FT_FLOAT8:
			return (float) DatumGetFloat8(d);
		case FT_INT2:
			return (float) DatumGetInt16(d);
		case FT_INT4:
			return (float) DatumGetInt32(d);
		case FT_INT8:
			return (float) DatumGetInt64(d);
		case FT_NUMERIC:
			return (float) DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d));
		case FT_BOOL:
		case FT_NONE:
			break;
	}
	return DatumGetBool(d) ? 1.0f : 0.0f;
}

/* How a row type's columns feed a model's features (by name): zeroed to start. */
typedef struct RowBinding
{
	Oid			rowtype;		/* InvalidOid: not bound yet */
	int32		rowtypmod;
	TupleDesc	tupdesc;
	Datum	   *values;
	bool	   *nulls;
	int		   *attno;			/* per feature: 0-based column */
	FeatureType *type;			/* per feature */
} RowBinding;

/*
 * Reads a row (a composite value) into row, its columns bound to the
 * model's features by name (the binding kept in b, allocated in mcxt, made
 * again for another row type).  Errors (SQLSTATE): no column of a
 * feature's name (42703), two (42702), a type no feature can have (42804),
 * an infinite value (22003).
 */
extern void features_read_record(RowBinding *b, const CachedModel *m, MemoryContext mcxt, HeapTupleHeader rec,
								 float *row);

#endif							/* RISK_FEATURE_ARRAY_H */

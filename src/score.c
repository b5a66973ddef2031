/*-------------------------------------------------------------------------
 * score.c
 *	  SQL-callable scoring: risk.score, risk.score_margin, risk.score_classes
 *	  over float4[], float8[] or a row whose columns are named like the
 *	  model's features; and risk.score_xgboost*, the same through libxgboost.
 *
 * Per query (fn_extra), we keep the pinned model and, for rows, the binding
 * of feature names to column numbers, so a row costs a deform, a conversion
 * to float32 and the evaluation.  A registry change seen by this backend
 * (model_cache_generation) makes the next call look the model up again.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "feature_array.h"
#include "forest_importance.h"
#include "model_alias.h"
#include "model_cache.h"

PG_FUNCTION_INFO_V1(risk_score_float4);
PG_FUNCTION_INFO_V1(risk_score_float8);
PG_FUNCTION_INFO_V1(risk_score_record);
PG_FUNCTION_INFO_V1(risk_score_margin_float4);
PG_FUNCTION_INFO_V1(risk_score_margin_float8);
PG_FUNCTION_INFO_V1(risk_score_margin_record);
PG_FUNCTION_INFO_V1(risk_score_classes_float4);
PG_FUNCTION_INFO_V1(risk_score_classes_float8);
PG_FUNCTION_INFO_V1(risk_score_classes_record);
PG_FUNCTION_INFO_V1(risk_score_contributions_float4);
PG_FUNCTION_INFO_V1(risk_score_contributions_float8);
PG_FUNCTION_INFO_V1(risk_score_contributions_record);
PG_FUNCTION_INFO_V1(risk_score_xgboost);
PG_FUNCTION_INFO_V1(risk_score_xgboost_margin);
PG_FUNCTION_INFO_V1(risk_score_xgboost_classes);

typedef enum ScoreOutput
{
	SCORE_VALUE,				/* what XGBoost's predict() returns */
	SCORE_MARGIN,				/* the untransformed margin */
	SCORE_CLASSES,				/* class probabilities */
	SCORE_CONTRIBUTIONS			/* SHAP values of the margin, then the bias */
} ScoreOutput;

typedef struct ScoreState
{
	CachedModel *model;			/* pinned while this query runs */
	uint64		generation;
	char		name[MODEL_REF_MAX + 1];	/* the reference it was pinned by */
	float	   *row;			/* num_features */
	float	   *out;			/* num_groups */
	RowBinding	binding;
	MemoryContext mcxt;
	MemoryContextCallback release;
} ScoreState;

static bool
same_name(const ScoreState *st, text *name)
{
	int			len = VARSIZE_ANY_EXHDR(name);

	return len <= MODEL_REF_MAX && st->name[len] == '\0' &&
		memcmp(st->name, VARDATA_ANY(name), len) == 0;
}

/* The model for this call: pinned once per query, again after a registry change. */
static ScoreState *
score_state(FunctionCallInfo fcinfo)
{
	ScoreState *st = (ScoreState *) fcinfo->flinfo->fn_extra;
	text	   *name = PG_GETARG_TEXT_PP(0);

	if (st == NULL)
	{
		st = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ScoreState));
		st->mcxt = fcinfo->flinfo->fn_mcxt;
		model_cache_unpin_at_reset(st->mcxt, &st->release, &st->model);
		fcinfo->flinfo->fn_extra = st;
	}
	if (likely(st->model != NULL && st->generation == model_cache_generation &&
			   same_name(st, name)))
		return st;

	if (st->model)
	{
		model_cache_unpin(st->model);
		st->model = NULL;
	}
	{
		char	   *cname = model_ref_check(name);
		CachedModel *m = model_cache_pin(cname);

		st->model = m;
		st->generation = model_cache_generation;
		strlcpy(st->name, cname, sizeof(st->name));
		if (st->row)
			pfree(st->row);
		if (st->out)
			pfree(st->out);
		st->row = MemoryContextAlloc(st->mcxt, sizeof(float) * Max(m->num_features, 1));
		st->out = MemoryContextAlloc(st->mcxt, sizeof(float) * Max(m->forest->num_groups, 1));
		st->binding.rowtype = InvalidOid;
	}
	return st;
}

static void
read_row(ScoreState *st, HeapTupleHeader rec)
{
	features_read_record(&st->binding, st->model, st->mcxt, rec, st->row);
}

/* ---- outputs ---- */

static void wrong_output(const CachedModel *m, const char *use) pg_attribute_noreturn();

static void
wrong_output(const CachedModel *m, const char *use)
{
	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("model \"%s\" (%s) %s", m->name, m->forest->objective,
					m->forest->num_groups > 1 ? "predicts one value per class" : "is not multi-class"),
			 errhint("Use %s.", use)));
}

static Datum
classes_datum(const float *p, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * n);

	for (int i = 0; i < n; i++)
		d[i] = Float8GetDatum((double) p[i]);
	return PointerGetDatum(construct_array(d, n, FLOAT8OID, sizeof(float8),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * The SHAP values of a row (in st->row) for each feature and the bias, as
 * float8[]: single-output models with their trees' covers only.
 */
static Datum
contributions_datum(CachedModel *m, const float *row)
{
	const Forest *f = m->forest;
	double	   *phi;
	Datum	   *d;

	if (f->num_groups > 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" (%s) predicts one value per class; risk.score_contributions explains single-output models",
						m->name, f->objective)));
	if (!forest_can_explain(f))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" has no node covers (sum_hessian), which explanations need", m->name),
				 errhint("Import the model from XGBoost's JSON or UBJSON format, or from its binary format through libxgboost.")));
	phi = palloc(sizeof(double) * (f->num_features + 1));
	forest_contributions(f, row, phi);
	d = palloc(sizeof(Datum) * (f->num_features + 1));
	for (int i = 0; i <= f->num_features; i++)
		d[i] = Float8GetDatum(phi[i]);
	return PointerGetDatum(construct_array(d, f->num_features + 1, FLOAT8OID, sizeof(float8),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* Evaluates st->row with our compiled forest. */
static Datum
evaluate(ScoreState *st, ScoreOutput output)
{
	const Forest *f = st->model->forest;

	switch (output)
	{
		case SCORE_VALUE:
			if (unlikely(f->output == OUTPUT_SOFTPROB))
				wrong_output(st->model, "risk.score_classes() for class probabilities");
			forest_margins(f, st->row, st->out);
			forest_transform(f, st->out);
			return Float8GetDatum((double) st->out[0]);
		case SCORE_MARGIN:
			if (unlikely(f->num_groups > 1))
				wrong_output(st->model, "risk.score_classes() for class probabilities");
			forest_margins(f, st->row, st->out);
			return Float8GetDatum((double) st->out[0]);
		case SCORE_CLASSES:
			if (unlikely(f->num_groups == 1))
				wrong_output(st->model, "risk.score()");
			forest_margins(f, st->row, st->out);
			forest_softmax(f, st->out);
			return classes_datum(st->out, f->num_groups);
		case SCORE_CONTRIBUTIONS:
			return contributions_datum(st->model, st->row);
	}
	pg_unreachable();
}

#define SCORE_FUNCTIONS(suffix, output) \
Datum \
risk_score##suffix##_float4(PG_FUNCTION_ARGS) \
{ \
	ScoreState *st = score_state(fcinfo); \
	features_read_array(st->model, PG_GETARG_ARRAYTYPE_P(1), FLOAT4OID, st->row); \
	return evaluate(st, output); \
} \
Datum \
risk_score##suffix##_float8(PG_FUNCTION_ARGS) \
{ \
	ScoreState *st = score_state(fcinfo); \
	features_read_array(st->model, PG_GETARG_ARRAYTYPE_P(1), FLOAT8OID, st->row); \
	return evaluate(st, output); \
} \
Datum \
risk_score##suffix##_record(PG_FUNCTION_ARGS) \
{ \
	ScoreState *st = score_state(fcinfo); \
	read_row(st, PG_GETARG_HEAPTUPLEHEADER(1)); \
	return evaluate(st, output); \
}

SCORE_FUNCTIONS(, SCORE_VALUE)
SCORE_FUNCTIONS(_margin, SCORE_MARGIN)
SCORE_FUNCTIONS(_classes, SCORE_CLASSES)
SCORE_FUNCTIONS(_contributions, SCORE_CONTRIBUTIONS)

/* ---- the reference path: libxgboost's own in-place prediction ---- */

static Datum
evaluate_xgboost(FunctionCallInfo fcinfo, ScoreOutput output)
{
	ScoreState *st = score_state(fcinfo);
	const CachedModel *m = st->model;
	const Forest *f = m->forest;
	XgbBooster *booster;
	int			n;

	features_read_array(m, PG_GETARG_ARRAYTYPE_P(1), FLOAT4OID, st->row);
	if (output == SCORE_VALUE && f->output == OUTPUT_SOFTPROB)
		wrong_output(m, "risk.score_xgboost_classes() for class probabilities");
	if (output == SCORE_MARGIN && f->num_groups > 1)
		wrong_output(m, "risk.score_xgboost_classes() for class probabilities");
	if (output == SCORE_CLASSES && f->output != OUTPUT_SOFTPROB)
		wrong_output(m, f->num_groups > 1
					 ? "risk.score_classes(); libxgboost returns only the class for multi:softmax"
					 : "risk.score_xgboost()");
	booster = model_cache_booster(st->model);
	n = xgb_predict_row(booster, st->row, m->num_features, output == SCORE_MARGIN,
						st->out, f->num_groups);
	if (output == SCORE_CLASSES)
		return classes_datum(st->out, n);
	return Float8GetDatum((double) st->out[0]);
}

Datum
risk_score_xgboost(PG_FUNCTION_ARGS)
{
	return evaluate_xgboost(fcinfo, SCORE_VALUE);
}

Datum
risk_score_xgboost_margin(PG_FUNCTION_ARGS)
{
	return evaluate_xgboost(fcinfo, SCORE_MARGIN);
}

Datum
risk_score_xgboost_classes(PG_FUNCTION_ARGS)
{
	return evaluate_xgboost(fcinfo, SCORE_CLASSES);
}

/* ---- risk.feature_importance(name) ---- */

typedef struct ImportancePin
{
	CachedModel *model;
	MemoryContextCallback release;
} ImportancePin;

PG_FUNCTION_INFO_V1(risk_feature_importance);
Datum
risk_feature_importance(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = model_ref_check(PG_GETARG_TEXT_PP(0));
	ImportancePin *pin = (ImportancePin *) fcinfo->flinfo->fn_extra;
	CachedModel *m;
	FeatureImportance *fi;

	InitMaterializedSRF(fcinfo, 0);
	if (pin == NULL)
	{
		/* a pin left by an error is released when the function's memory goes */
		pin = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ImportancePin));
		model_cache_unpin_at_reset(fcinfo->flinfo->fn_mcxt, &pin->release, &pin->model);
		fcinfo->flinfo->fn_extra = pin;
	}
	if (pin->model)
	{
		model_cache_unpin(pin->model);
		pin->model = NULL;
	}
	m = pin->model = model_cache_pin(name);
	if (!forest_has_importance(m->forest))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" has no split statistics, which feature importance needs", name),
				 errdetail("Feature importance counts the splits of tree models and their gains and covers "
						   "(loss_changes and sum_hessian, kept in the JSON format); a linear model has no splits.")));
	fi = palloc(sizeof(FeatureImportance) * Max(m->num_features, 1));
	forest_importance(m->forest, fi);
	for (int i = 0; i < m->num_features; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {false};

		values[0] = Int32GetDatum(i + 1);
		values[1] = CStringGetTextDatum(m->feature_names[i]);
		values[2] = Int64GetDatum(fi[i].weight);
		values[3] = Float8GetDatum((double) fi[i].gain);
		values[4] = Float8GetDatum((double) fi[i].cover);
		values[5] = Float8GetDatum((double) fi[i].total_gain);
		values[6] = Float8GetDatum((double) fi[i].total_cover);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	model_cache_unpin(m);
	pin->model = NULL;
	return (Datum) 0;
}

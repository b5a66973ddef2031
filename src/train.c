/*-------------------------------------------------------------------------
 * train.c
 *	  risk.train: an XGBoost model trained from a query, registered as the
 *	  next version of a model with what it was trained on and how it did.
 *
 * The steps, each checked before the next:
 *	 1. the parameters (params jsonb, with our defaults) and the privileges
 *		(those of risk.import_model: SELECT and INSERT on the registry);
 *	 2. the query's rows, read through a cursor as the caller, converted as
 *		risk.score converts a row (feature_array.c) and held as float32,
 *		within risk.train_memory_limit;
 *	 3. their canonical order and fingerprint (train_set.c);
 *	 4. training in a child process (xgb_train.c), one NOTICE and one
 *		progress step (train_progress.c) per round;
 *	 5. the model stored through the registry's own import path, then the
 *		validation metrics from our aggregates (risk.auc, ...) over the
 *		child's predictions, and the training's record and per-round log,
 *		written as the owner of the extension's tables.
 * An error at any step registers nothing: the whole call is one statement.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <unistd.h>

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "catalog.h"
#include "feature_array.h"
#include "registry.h"
#include "train.h"
#include "train_progress.h"
#include "xgb_bridge.h"

PG_FUNCTION_INFO_V1(risk_train);

/* settings (risk.c) */
int			train_memory_limit_kb;
int			train_max_threads;

#define MAX_ROUNDS 100000
#define FETCH_ROWS 10000
/* the largest category code libxgboost accepts (a float32 integer) */
#define MAX_CATEGORY 16777216.0

/* The parameters passed to libxgboost, in order. */
typedef struct Params
{
	int			n;
	int			cap;
	char	  **keys;
	char	  **values;
} Params;

typedef struct TrainCall
{
	char	   *name;
	char	   *query;
	char	   *label;
	char	   *weight;
	char	   *validation;
	int			rounds;
	int			early_stopping_rounds;
	Jsonb	   *params;
	ArrayType  *categorical;
	bool		balance;
	Jsonb	   *metadata;
	/* derived */
	Params		p;
	char	   *objective;
	bool		binary;
	int			threads;
	int			max_bin;
	char	  **feature_names;
	char	  **feature_types;	/* NULL: no categorical feature */
	bool	   *is_categorical;
} TrainCall;

/* ---- parameters ---- */

static void
param_add(Params *p, const char *key, const char *value)
{
	if (p->n == p->cap)
	{
		p->cap = Max(16, p->cap * 2);
		p->keys = p->keys ? repalloc(p->keys, sizeof(char *) * p->cap) : palloc(sizeof(char *) * p->cap);
		p->values = p->values ? repalloc(p->values, sizeof(char *) * p->cap) : palloc(sizeof(char *) * p->cap);
	}
	p->keys[p->n] = pstrdup(key);
	p->values[p->n] = pstrdup(value);
	p->n++;
}

static const char *
param_get(const Params *p, const char *key)
{
	for (int i = p->n - 1; i >= 0; i--)
		if (strcmp(p->keys[i], key) == 0)
			return p->values[i];
	return NULL;
}

static void
param_reserved(const char *key, const char *use)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("params must not set \"%s\"", key),
			 errhint("%s", use)));
}

/* A jsonb object's pairs as libxgboost parameters; arrays of eval_metric give one pair each. */
static void
read_params(TrainCall *c)
{
	Oid			argtypes[1] = {JSONBOID};
	Datum		args[1] = {JsonbPGetDatum(c->params)};
	MemoryContext caller = CurrentMemoryContext;

	if (!JB_ROOT_IS_OBJECT(c->params) || JB_ROOT_IS_SCALAR(c->params))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("params must be a JSON object"),
				 errhint("For example '{\"max_depth\": 6, \"eta\": 0.1}'.")));
	catalog_spi_connect();
	if (SPI_execute_with_args("SELECT e.key, pg_catalog.jsonb_typeof(e.value),"
							  " e.value OPERATOR(pg_catalog.#>>) '{}'::pg_catalog.text[],"
							  " CASE WHEN pg_catalog.jsonb_typeof(e.value) OPERATOR(pg_catalog.=) 'array'"
							  "  THEN ARRAY(SELECT pg_catalog.jsonb_array_elements_text(e.value)) END"
							  " FROM pg_catalog.jsonb_each($1) AS e",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read params");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *key = SPI_getvalue(tup, desc, 1);
		char	   *type = SPI_getvalue(tup, desc, 2);
		char	   *value = SPI_getvalue(tup, desc, 3);
		MemoryContext spi = MemoryContextSwitchTo(caller);

		if (strcmp(key, "num_boost_round") == 0 || strcmp(key, "n_estimators") == 0 ||
			strcmp(key, "num_round") == 0)
			param_reserved(key, "Pass the number of rounds as the argument rounds.");
		if (strcmp(key, "early_stopping_rounds") == 0)
			param_reserved(key, "Pass it as the argument early_stopping_rounds.");
		if (strcmp(key, "validate_parameters") == 0)
			param_reserved(key, "risk.train always validates: a parameter libxgboost does not use is an error.");
		if (strcmp(key, "n_jobs") == 0)
			param_reserved(key, "Use nthread.");
		if (strcmp(type, "null") == 0 || strcmp(type, "object") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("parameter \"%s\" must be a string, a number, a boolean or an array, not %s",
							key, type)));
		if (strcmp(key, "eval_metric") == 0 && strcmp(type, "array") == 0)
		{
			bool		isnull;
			ArrayType  *a;
			Datum	   *elems;
			bool	   *enulls;
			int			n;

			MemoryContextSwitchTo(spi);
			a = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 4, &isnull));
			MemoryContextSwitchTo(caller);
			deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
			if (n == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("eval_metric must name at least one metric")));
			for (int i = 0; i < n; i++)
			{
				if (enulls[i])
					ereport(ERROR,
							(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							 errmsg("eval_metric must not hold null")));
				param_add(&c->p, key, TextDatumGetCString(elems[i]));
			}
		}
		else
			param_add(&c->p, key, value);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	MemoryContextSwitchTo(caller);
}

static int
param_int(const Params *p, const char *key, int dflt, int lo, int hi)
{
	const char *v = param_get(p, key);
	char	   *end;
	long		n;

	if (v == NULL)
		return dflt;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < lo || n > hi)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parameter \"%s\" must be an integer from %d to %d, not \"%s\"", key, lo, hi, v)));
	return (int) n;
}

/* Our defaults, then the checks of what we pass. */
static void
complete_params(TrainCall *c)
{
	const char *objective = param_get(&c->p, "objective");

	if (objective == NULL)
		param_add(&c->p, "objective", objective = "binary:logistic");
	c->objective = pstrdup(objective);
	c->binary = strncmp(objective, "binary:", 7) == 0;
	if (param_get(&c->p, "tree_method") == NULL)
		param_add(&c->p, "tree_method", "hist");
	if (param_get(&c->p, "eval_metric") == NULL && c->binary)
		param_add(&c->p, "eval_metric", "aucpr");
	c->threads = param_int(&c->p, "nthread", train_max_threads, 1, INT_MAX);
	if (c->threads > train_max_threads)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nthread %d is more than risk.train_max_threads (%d)", c->threads, train_max_threads),
				 errhint("A superuser sets risk.train_max_threads; omit nthread to use that many threads.")));
	if (param_get(&c->p, "nthread") == NULL)
		param_add(&c->p, "nthread", psprintf("%d", c->threads));
	c->max_bin = param_int(&c->p, "max_bin", 256, 2, INT_MAX);
	if (c->balance && param_get(&c->p, "scale_pos_weight"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("balance_classes and scale_pos_weight are two ways to weigh the positives"),
				 errhint("Pass one of them.")));
	if (c->balance && !c->binary)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("balance_classes needs a binary objective, not \"%s\"", objective)));
	param_add(&c->p, "validate_parameters", "true");
}

/* The parameters as one JSON object (a repeated key as an array), for the record. */
static Datum
params_jsonb(const Params *p)
{
	StringInfoData buf;
	bool	   *done = palloc0(sizeof(bool) * Max(p->n, 1));

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < p->n; i++)
	{
		int			count = 0;

		if (done[i])
			continue;
		for (int j = i; j < p->n; j++)
			count += strcmp(p->keys[j], p->keys[i]) == 0;
		if (buf.len > 1)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, p->keys[i]);
		appendStringInfoString(&buf, ": ");
		if (count > 1)
			appendStringInfoChar(&buf, '[');
		for (int j = i, k = 0; j < p->n; j++)
			if (strcmp(p->keys[j], p->keys[i]) == 0)
			{
				if (k++ > 0)
					appendStringInfoString(&buf, ", ");
				escape_json(&buf, p->values[j]);
				done[j] = true;
			}
		if (count > 1)
			appendStringInfoChar(&buf, ']');
	}
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

/* ---- the rows ---- */

typedef enum ColumnRole
{
	COL_SKIP,
	COL_FEATURE,
	COL_LABEL,
	COL_WEIGHT,
	COL_VALID
} ColumnRole;

typedef struct Columns
{
	int			natts;
	ColumnRole *role;
	FeatureType *type;			/* features, label and weight */
	int		   *feature;		/* the feature number of a feature column */
	int			label;
	int			weight;
	int			valid;
	int			num_features;
} Columns;

static size_t
memory_limit_bytes(void)
{
	return (size_t) train_memory_limit_kb * 1024;
}

static void
too_much_memory(const char *what, size_t need)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("%s needs more than risk.train_memory_limit (%d MB)", what, train_memory_limit_kb / 1024),
			 errdetail("At least %zu MB are needed. Nothing was registered.", need / (1024 * 1024) + 1),
			 errhint("Train on fewer rows or features, or ask a superuser to raise risk.train_memory_limit.")));
}

static void
no_column(const char *what, const char *name, TupleDesc desc)
{
	StringInfoData cols;

	initStringInfo(&cols);
	for (int a = 0; a < desc->natts && cols.len < 400; a++)
		if (!TupleDescAttr(desc, a)->attisdropped)
			appendStringInfo(&cols, "%s%s", cols.len ? ", " : "", NameStr(TupleDescAttr(desc, a)->attname));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("the training query has no column \"%s\" (the %s)", name, what),
			 errdetail("Its columns: %s.", cols.data)));
}

static FeatureType
number_type(TupleDesc desc, int a, const char *what)
{
	Form_pg_attribute att = TupleDescAttr(desc, a);
	FeatureType t = features_column_type(att->atttypid);

	if (t == FT_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s column \"%s\" has type %s", what, NameStr(att->attname), format_type_be(att->atttypid)),
				 errhint(FEATURE_TYPES_HINT)));
	return t;
}

/* Which column is what: the label, weight and validation columns, the rest features. */
static void
bind_columns(TrainCall *c, TupleDesc desc, Columns *cols)
{
	int			nf = 0;

	cols->natts = desc->natts;
	cols->role = palloc0(sizeof(ColumnRole) * Max(desc->natts, 1));
	cols->type = palloc0(sizeof(FeatureType) * Max(desc->natts, 1));
	cols->feature = palloc0(sizeof(int) * Max(desc->natts, 1));
	cols->label = cols->weight = cols->valid = -1;
	c->feature_names = palloc(sizeof(char *) * Max(desc->natts, 1));
	c->is_categorical = palloc0(sizeof(bool) * Max(desc->natts, 1));

	for (int a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);
		const char *col = NameStr(att->attname);
		int		   *slot = NULL;
		ColumnRole	role = COL_FEATURE;

		if (att->attisdropped)
			continue;
		if (strcmp(col, c->label) == 0)
			slot = &cols->label, role = COL_LABEL;
		else if (c->weight && strcmp(col, c->weight) == 0)
			slot = &cols->weight, role = COL_WEIGHT;
		else if (c->validation && strcmp(col, c->validation) == 0)
			slot = &cols->valid, role = COL_VALID;
		if (slot && *slot >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_AMBIGUOUS_COLUMN),
					 errmsg("the training query has more than one column \"%s\"", col)));
		if (slot)
			*slot = a;
		cols->role[a] = role;
		if (role == COL_VALID)
		{
			if (att->atttypid != BOOLOID)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("validation column \"%s\" has type %s, not boolean", col, format_type_be(att->atttypid)),
						 errhint("Make it true for the rows to hold out, e.g. created_at >= '2026-02-01' AS %s.", col)));
			continue;
		}
		cols->type[a] = number_type(desc, a, role == COL_LABEL ? "label" : role == COL_WEIGHT ? "weight" : "feature");
		if (role != COL_FEATURE)
			continue;
		for (int f = 0; f < nf; f++)
			if (strcmp(c->feature_names[f], col) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_AMBIGUOUS_COLUMN),
						 errmsg("the training query has more than one column \"%s\"", col),
						 errhint("Give each feature its own name: the model keeps them.")));
		cols->feature[a] = nf;
		c->feature_names[nf++] = pstrdup(col);
	}
	if (cols->label < 0)
		no_column("label", c->label, desc);
	if (c->weight && cols->weight < 0)
		no_column("weight", c->weight, desc);
	if (c->validation && cols->valid < 0)
		no_column("validation split", c->validation, desc);
	if (nf == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the training query has no feature column"),
				 errdetail("Every column but the label, weight and validation columns is a feature.")));
	cols->num_features = nf;

	if (c->categorical)
	{
		Datum	   *elems;
		bool	   *enulls;
		int			n;

		deconstruct_array(c->categorical, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
		for (int i = 0; i < n; i++)
		{
			char	   *want = enulls[i] ? NULL : TextDatumGetCString(elems[i]);
			int			f;

			if (want == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("categorical must not hold null")));
			for (f = 0; f < nf; f++)
				if (strcmp(c->feature_names[f], want) == 0)
					break;
			if (f == nf)
				no_column("categorical feature", want, desc);
			c->is_categorical[f] = true;
		}
		if (n > 0)
		{
			c->feature_types = palloc(sizeof(char *) * nf);
			for (int f = 0; f < nf; f++)
				c->feature_types[f] = c->is_categorical[f] ? "c" : "q";
		}
	}
}

static void
grow(TrainSet *t, MemoryContext mcxt)
{
	size_t		row = TRAIN_ROW_BYTES(t->num_features);
	size_t		limit = memory_limit_bytes();
	int64		cap = t->cap == 0 ? 1024 : t->cap * 2;

	if ((size_t) t->num_rows * row >= limit)
		too_much_memory("reading the training rows", (size_t) (t->num_rows + 1) * row);
	if ((size_t) cap * row > limit)
		cap = (int64) (limit / row);
	if (t->cap == 0)
	{
		t->x = MemoryContextAllocHuge(mcxt, sizeof(float) * cap * t->num_features);
		t->label = MemoryContextAllocHuge(mcxt, sizeof(float) * cap);
		t->weight = MemoryContextAllocHuge(mcxt, sizeof(float) * cap);
		t->valid = MemoryContextAllocHuge(mcxt, sizeof(bool) * cap);
	}
	else
	{
		t->x = repalloc_huge(t->x, sizeof(float) * cap * t->num_features);
		t->label = repalloc_huge(t->label, sizeof(float) * cap);
		t->weight = repalloc_huge(t->weight, sizeof(float) * cap);
		t->valid = repalloc_huge(t->valid, sizeof(bool) * cap);
	}
	t->cap = cap;
}

static void
bad_value(int64 row, const char *what, const char *col, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("row %lld of the training query: %s \"%s\" %s", (long long) row, what, col, why),
			 errdetail("Nothing was registered.")));
}

static void
null_value(int64 row, const char *what, const char *col, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("row %lld of the training query: %s \"%s\" is null", (long long) row, what, col),
			 errhint("%s", hint)));
}

/* One row of the query into the set. */
static void
add_row(TrainCall *c, const Columns *cols, TupleDesc desc, const Datum *values, const bool *nulls,
		TrainSet *t, MemoryContext mcxt)
{
	int64		row = t->num_rows;
	int64		rowno = row + 1;
	float	   *x;

	if (row == t->cap)
		grow(t, mcxt);
	x = t->x + row * t->num_features;
	t->weight[row] = 1.0f;
	t->valid[row] = false;
	for (int a = 0; a < cols->natts; a++)
	{
		const char *col = NameStr(TupleDescAttr(desc, a)->attname);
		float		v;

		switch (cols->role[a])
		{
			case COL_SKIP:
				break;
			case COL_VALID:
				if (nulls[a])
					null_value(rowno, "validation column", col,
							   "Make the split true or false in every row, e.g. coalesce(..., false).");
				t->valid[row] = DatumGetBool(values[a]);
				break;
			case COL_LABEL:
				if (nulls[a])
					null_value(rowno, "label", col,
							   "Train on labelled rows only: add WHERE <label> IS NOT NULL to the query.");
				v = features_column_value(cols->type[a], values[a]);
				if (isnan(v) || isinf(v))
					bad_value(rowno, "label", col, "is not a finite number");
				if (c->binary && v != 0.0f && v != 1.0f)
					bad_value(rowno, "label", col,
							  psprintf("is %g; objective \"%s\" needs labels 0 and 1", (double) v, c->objective));
				t->label[row] = v;
				break;
			case COL_WEIGHT:
				if (nulls[a])
					null_value(rowno, "weight", col, "Give every row a weight (coalesce(..., 1)).");
				v = features_column_value(cols->type[a], values[a]);
				if (isnan(v) || isinf(v) || v < 0)
					bad_value(rowno, "weight", col, "must be a finite number of at least 0");
				t->weight[row] = v;
				break;
			case COL_FEATURE:
				{
					int			f = cols->feature[a];

					if (nulls[a])
					{
						x[f] = NAN;
						break;
					}
					v = features_column_value(cols->type[a], values[a]);
					if (isinf(v))
						ereport(ERROR,
								(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
								 errmsg("row %lld of the training query: feature \"%s\" is infinite or out of float4 range",
										(long long) rowno, col),
								 errhint("Use NULL or NaN for a missing value.")));
					if (c->is_categorical[f] && !isnan(v) &&
						(v < 0 || v >= MAX_CATEGORY || v != floorf(v)))
						bad_value(rowno, "categorical feature", col,
								  psprintf("is %g; categories are whole numbers from 0 to %.0f", (double) v, MAX_CATEGORY - 1));
					x[f] = v;
					break;
				}
		}
	}
	t->num_rows++;
}

/* Reads every row of the query (as the caller) into t. */
static void
read_rows(TrainCall *c, Columns *cols, TrainSet *t, MemoryContext mcxt)
{
	MemoryContext caller = CurrentMemoryContext;
	SPIPlanPtr	plan;
	Portal		portal;
	TupleDesc	desc;
	Datum	   *values;
	bool	   *nulls;

	catalog_spi_connect();
	plan = SPI_prepare(catalog_query_text(c->query), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not prepare the training query: %s", SPI_result_code_string(SPI_result));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("the training query must be a SELECT (or a table's name)")));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	desc = portal->tupDesc;
	MemoryContextSwitchTo(caller);
	bind_columns(c, desc, cols);
	t->num_features = cols->num_features;
	values = palloc(sizeof(Datum) * Max(desc->natts, 1));
	nulls = palloc(sizeof(bool) * Max(desc->natts, 1));
	for (;;)
	{
		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		MemoryContextSwitchTo(caller);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
			add_row(c, cols, SPI_tuptable->tupdesc, values, nulls, t, mcxt);
		}
		SPI_freetuptable(SPI_tuptable);
		train_progress_rows("reading", t->num_rows, (int64) t->cap * TRAIN_ROW_BYTES(t->num_features));
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_finish();
	MemoryContextSwitchTo(caller);
}

/* What the rows must be before they are worth training on. */
static void
check_rows(const TrainCall *c, const TrainSet *t)
{
	int64		pos;

	if (t->num_rows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the training query returned no rows"),
				 errdetail("Nothing was registered.")));
	if (t->num_train == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("every row of the training query is a validation row"),
				 errhint("Column \"%s\" is true in every row; leave some rows to train on.", c->validation)));
	if (c->early_stopping_rounds > 0 && t->num_valid == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("early stopping needs validation rows"),
				 errhint(c->validation
						 ? "Column \"%s\" is false in every row."
						 : "Pass validation, the name of a boolean column that is true for the rows to hold out%s.",
						 c->validation ? c->validation : "")));
	if (!c->binary)
		return;
	pos = train_set_positives(t, false, NULL);
	if (pos == 0 || pos == t->num_train)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the training rows have one class only: %lld of %lld are positive",
						(long long) pos, (long long) t->num_train),
				 errdetail("Nothing was registered."),
				 errhint("A binary objective needs rows of both labels to learn from.")));
	pos = train_set_positives(t, true, NULL);
	if (t->num_valid > 0 && (pos == 0 || pos == t->num_valid))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the validation rows have one class only: %lld of %lld are positive",
						(long long) pos, (long long) t->num_valid),
				 errdetail("AUC and average precision need both labels. Nothing was registered.")));
}

/*
 * What libxgboost allocates beyond the rows, an upper bound fitted to
 * 1.7.4's hist on five shapes (bench/train.sql, and 0.2 to 2 million rows of
 * 5 to 60 features, depth 4 to 10, 64 to 1,024 bins: the measured peak was
 * 11% to 44% below it): the DMatrix's sparse page and the sketch (12 bytes
 * a value), the histogram index (1 byte a value below 256 bins, 2 or 4
 * above), gradients, predictions and row partitions (24 bytes a row), the
 * histograms of the deepest level's nodes (16 bytes a bin of each feature),
 * and a fixed 64 MB.
 */
static size_t
libxgboost_estimate(const TrainCall *c, const TrainSet *t, int depth)
{
	double		values = (double) t->num_rows * t->num_features;
	double		index = c->max_bin <= 256 ? 1 : c->max_bin <= 65536 ? 2 : 4;
	int			leaves = param_int(&c->p, "max_leaves", 0, 0, INT_MAX);
	/* max_depth 0 (lossguide): as many nodes as max_leaves, or 2^16 */
	double		nodes = depth > 0 ? pow(2.0, Min(depth, 16)) : leaves > 0 ? Min(leaves, 65536) : 65536;
	double		est = values * (12 + index) + (double) t->num_rows * 24 +
		nodes * t->num_features * c->max_bin * 16 + 64.0 * 1024 * 1024;

	return est > (double) SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t) est;
}

/* ---- the record ---- */

typedef struct RoundLog
{
	int			n;
	int			cap;
	Datum	   *round;
	Datum	   *dataset;
	Datum	   *metric;
	Datum	   *value;
} RoundLog;

static void
log_add(RoundLog *l, int round, const char *dataset, const char *metric, double value)
{
	if (l->n == l->cap)
	{
		l->cap = Max(64, l->cap * 2);
		l->round = l->round ? repalloc(l->round, sizeof(Datum) * l->cap) : palloc(sizeof(Datum) * l->cap);
		l->dataset = l->dataset ? repalloc(l->dataset, sizeof(Datum) * l->cap) : palloc(sizeof(Datum) * l->cap);
		l->metric = l->metric ? repalloc(l->metric, sizeof(Datum) * l->cap) : palloc(sizeof(Datum) * l->cap);
		l->value = l->value ? repalloc(l->value, sizeof(Datum) * l->cap) : palloc(sizeof(Datum) * l->cap);
	}
	l->round[l->n] = Int32GetDatum(round);
	l->dataset[l->n] = CStringGetTextDatum(dataset);
	l->metric[l->n] = CStringGetTextDatum(metric);
	l->value[l->n] = Float8GetDatum(value);
	l->n++;
}

static ArrayType *
float8_array(const Datum *d, int n)
{
	return construct_array((Datum *) d, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

/* The validation metrics, from risk.auc and its siblings over the model's predictions. */
static void
validation_metrics(const TrainCall *c, const TrainSet *t, const float *pred, Datum *out, bool *isnull)
{
	int64		n = t->num_valid;
	Datum	   *s;
	Datum	   *l;
	Datum	   *w;
	Oid			argtypes[3] = {FLOAT8ARRAYOID, BOOLARRAYOID, FLOAT8ARRAYOID};
	Datum		args[3];
	bool		logistic = strcmp(c->objective, "binary:logistic") == 0;

	for (int i = 0; i < 4; i++)
		isnull[i] = true;
	if (n == 0 || pred == NULL || !c->binary)
		return;
	if (n > (int64) (MaxAllocSize / sizeof(double)) - 1)
		return;					/* beyond an array: the record says NULL */
	s = palloc(sizeof(Datum) * n);
	l = palloc(sizeof(Datum) * n);
	w = palloc(sizeof(Datum) * n);
	for (int64 i = 0; i < n; i++)
	{
		s[i] = Float8GetDatum((double) pred[i]);
		l[i] = BoolGetDatum(t->label[t->num_train + i] == 1.0f);
		w[i] = Float8GetDatum((double) t->weight[t->num_train + i]);
	}
	args[0] = PointerGetDatum(float8_array(s, (int) n));
	args[1] = PointerGetDatum(construct_array(l, (int) n, BOOLOID, 1, true, TYPALIGN_CHAR));
	args[2] = PointerGetDatum(float8_array(w, (int) n));
	catalog_spi_connect();
	if (SPI_execute_with_args(logistic
							  ? "SELECT risk.auc(s, l, w), risk.average_precision(s, l, w), risk.ks(s, l, w),"
							  " risk.log_loss(s, l, w) FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(s, l, w)"
							  : "SELECT risk.auc(s, l, w), risk.average_precision(s, l, w), risk.ks(s, l, w),"
							  " NULL::pg_catalog.float8 FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(s, l, w)",
							  3, argtypes, args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not compute the validation metrics");
	for (int i = 0; i < 4; i++)
		out[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &isnull[i]);
	SPI_finish();
}

#define RECORD_NARGS 29

static void
write_record(const TrainCall *c, int32 version, const TrainSet *t, const char *fingerprint,
			 const XgbTrainEvent *done, const EarlyStop *stop, const char *stop_metric,
			 const RoundLog *log, double seconds, size_t rows_bytes)
{
	Oid			types[RECORD_NARGS] = {TEXTOID, INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID,
		INT4OID, INT4OID, INT4OID, INT4OID, TEXTOID, FLOAT8OID, INT8OID, INT8OID, INT8OID, INT8OID,
		TEXTOID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, INT8OID, INT8OID,
	INT4OID, TEXTARRAYOID, TEXTOID};
	Datum		v[RECORD_NARGS];
	char		n[RECORD_NARGS];
	Datum		metrics[4];
	bool		mnull[4];
	Datum		largs[6];
	Oid			ltypes6[6] = {TEXTOID, INT4OID, INT4ARRAYOID, TEXTARRAYOID, TEXTARRAYOID, FLOAT8ARRAYOID};
	CatalogIdentity id;
	Datum	   *cats = NULL;
	int			ncats = 0;

	validation_metrics(c, t, done->valid_predictions, metrics, mnull);
	memset(n, ' ', sizeof(n));
	v[0] = CStringGetTextDatum(c->name);
	v[1] = Int32GetDatum(version);
	v[2] = CStringGetTextDatum(c->query);
	v[3] = CStringGetTextDatum(c->label);
	v[4] = c->weight ? CStringGetTextDatum(c->weight) : (Datum) 0;
	n[4] = c->weight ? ' ' : 'n';
	v[5] = c->validation ? CStringGetTextDatum(c->validation) : (Datum) 0;
	n[5] = c->validation ? ' ' : 'n';
	v[6] = params_jsonb(&c->p);
	v[7] = Int32GetDatum(c->rounds);
	v[8] = Int32GetDatum(c->early_stopping_rounds);
	n[8] = c->early_stopping_rounds > 0 ? ' ' : 'n';
	v[9] = Int32GetDatum(done->rounds_trained);
	v[10] = Int32GetDatum(done->best_round + 1);
	v[11] = stop_metric ? CStringGetTextDatum(stop_metric) : (Datum) 0;
	n[11] = stop_metric ? ' ' : 'n';
	v[12] = Float8GetDatum(stop->best_score);
	n[12] = c->early_stopping_rounds > 0 && stop->started ? ' ' : 'n';
	v[13] = Int64GetDatum(t->num_train);
	v[14] = Int64GetDatum(train_set_positives(t, false, NULL));
	v[15] = Int64GetDatum(t->num_valid);
	v[16] = Int64GetDatum(train_set_positives(t, true, NULL));
	n[14] = n[16] = c->binary ? ' ' : 'n';
	v[17] = CStringGetTextDatum(fingerprint);
	for (int i = 0; i < 4; i++)
	{
		v[18 + i] = metrics[i];
		n[18 + i] = mnull[i] ? 'n' : ' ';
	}
	v[22] = Float8GetDatum(done->seconds);
	v[23] = Float8GetDatum(seconds);
	v[24] = Int64GetDatum((int64) rows_bytes);
	v[25] = Int64GetDatum(Max(done->peak_rss - done->start_rss, 0));
	v[26] = Int32GetDatum(c->threads);
	if (c->feature_types)
	{
		cats = palloc(sizeof(Datum) * t->num_features);
		for (int f = 0; f < t->num_features; f++)
			if (c->is_categorical[f])
				cats[ncats++] = CStringGetTextDatum(c->feature_names[f]);
	}
	v[27] = PointerGetDatum(construct_array(cats, ncats, TEXTOID, -1, false, TYPALIGN_INT));
	v[28] = CStringGetTextDatum(c->objective);

	catalog_spi_connect();
	catalog_as_owner("model_training", &id);
	if (SPI_execute_with_args("INSERT INTO risk.model_training (name, version, query, label, weight,"
							  " validation, params, rounds, early_stopping_rounds, rounds_trained, best_round,"
							  " stopping_metric, best_score, train_rows, train_positives, valid_rows,"
							  " valid_positives, data_sha256, valid_auc, valid_average_precision, valid_ks,"
							  " valid_log_loss, train_seconds, seconds, rows_bytes, libxgboost_peak_bytes,"
							  " threads, categorical, objective)"
							  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
							  " $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)",
							  RECORD_NARGS, types, v, n, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the training");
	largs[0] = v[0];
	largs[1] = v[1];
	largs[2] = PointerGetDatum(construct_array(log->round, log->n, INT4OID, 4, true, TYPALIGN_INT));
	largs[3] = PointerGetDatum(construct_array(log->dataset, log->n, TEXTOID, -1, false, TYPALIGN_INT));
	largs[4] = PointerGetDatum(construct_array(log->metric, log->n, TEXTOID, -1, false, TYPALIGN_INT));
	largs[5] = PointerGetDatum(float8_array(log->value, log->n));
	if (SPI_execute_with_args("INSERT INTO risk.model_training_rounds (name, version, round, dataset, metric, value)"
							  " SELECT $1, $2, u.r, u.d, u.m, u.v FROM ROWS FROM (pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6)) AS u(r, d, m, v)",
							  6, ltypes6, largs, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the training rounds");
	catalog_as_caller(&id);
	SPI_finish();
}

/* ---- risk.train ---- */

static char *
optional_text(FunctionCallInfo fcinfo, int arg)
{
	return PG_ARGISNULL(arg) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(arg));
}

static char *
required_text(FunctionCallInfo fcinfo, int arg, const char *what)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(arg));
}

/*
 * risk.train(name, query, label, weight, validation, rounds,
 *			  early_stopping_rounds, params, categorical, balance_classes,
 *			  metadata) -> version
 */
Datum
risk_train(PG_FUNCTION_ARGS)
{
	TrainCall	c = {0};
	MemoryContext work;
	MemoryContext old;
	TrainSet	t = {0};
	Columns		cols;
	char		fingerprint[2 * 32 + 1];
	XgbTrainSpec spec = {0};
	XgbTraining *training;
	XgbTrainEvent ev;
	EarlyStop	stop;
	RoundLog	log = {0};
	char	   *stop_metric = NULL;
	TimestampTz started = GetCurrentTimestamp();
	size_t		rows_bytes;
	size_t		estimate;
	int32		version;
	long		secs;
	int			usecs;
	int			sequential;

	c.name = registry_check_name(PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0));
	c.query = required_text(fcinfo, 1, "the training query");
	c.label = required_text(fcinfo, 2, "the label column");
	c.weight = optional_text(fcinfo, 3);
	c.validation = optional_text(fcinfo, 4);
	c.rounds = PG_ARGISNULL(5) ? 100 : PG_GETARG_INT32(5);
	c.early_stopping_rounds = PG_ARGISNULL(6) ? 0 : PG_GETARG_INT32(6);
	c.params = PG_ARGISNULL(7) ? NULL : PG_GETARG_JSONB_P(7);
	c.categorical = PG_ARGISNULL(8) ? NULL : PG_GETARG_ARRAYTYPE_P(8);
	c.balance = PG_ARGISNULL(9) ? false : PG_GETARG_BOOL(9);
	c.metadata = PG_ARGISNULL(10) ? NULL : PG_GETARG_JSONB_P(10);
	if (c.rounds < 1 || c.rounds > MAX_ROUNDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rounds must be from 1 to %d, not %d", MAX_ROUNDS, c.rounds)));
	if (c.early_stopping_rounds < 0 || c.early_stopping_rounds > MAX_ROUNDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("early_stopping_rounds must be from 1 to %d, not %d", MAX_ROUNDS, c.early_stopping_rounds),
				 errhint("Pass NULL (or 0) to train every round.")));
	if (c.categorical && ARR_NDIM(c.categorical) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("categorical must be a one-dimensional array")));
	if (c.metadata && (!JB_ROOT_IS_OBJECT(c.metadata) || JB_ROOT_IS_SCALAR(c.metadata)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("metadata must be a JSON object")));
	registry_require(InvalidOid, ACL_SELECT | ACL_INSERT);

	work = AllocSetContextCreate(CurrentMemoryContext, "risk train", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(work);
	if (c.params)
		read_params(&c);
	complete_params(&c);

	/* the rows (on Citus over one connection per node, so that the model can be registered after) */
	sequential = catalog_citus_sequential("model_registry");
	train_progress_begin(c.name);
	read_rows(&c, &cols, &t, work);
	rows_bytes = (size_t) t.cap * TRAIN_ROW_BYTES(t.num_features);
	train_progress_rows("sorting", t.num_rows, (int64) rows_bytes);
	train_set_sort(&t);
	check_rows(&c, &t);
	if (!train_set_fingerprint(&t, fingerprint))
		elog(ERROR, "could not compute the fingerprint of the training rows");
	if (c.balance)
	{
		double		pos;
		double		total = 0;

		(void) train_set_positives(&t, false, &pos);
		for (int64 i = 0; i < t.num_train; i++)
			total += t.weight[i];
		if (pos <= 0 || total - pos <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("balance_classes needs positive and negative training rows of weight above 0")));
		param_add(&c.p, "scale_pos_weight", psprintf("%.17g", (total - pos) / pos));
	}
	estimate = libxgboost_estimate(&c, &t, param_int(&c.p, "max_depth", 6, 0, INT_MAX));
	if (rows_bytes + estimate > memory_limit_bytes())
		too_much_memory("training on these rows", rows_bytes + estimate);

	/* the training */
	spec.x = t.x;
	spec.label = t.label;
	spec.weight = cols.weight >= 0 ? t.weight : NULL;
	spec.num_train = t.num_train;
	spec.num_valid = t.num_valid;
	spec.num_features = t.num_features;
	spec.feature_names = c.feature_names;
	spec.feature_types = c.feature_types;
	spec.num_params = c.p.n;
	spec.param_keys = c.p.keys;
	spec.param_values = c.p.values;
	spec.rounds = c.rounds;
	spec.early_stopping_rounds = c.early_stopping_rounds;
	spec.threads = c.threads;
	spec.trees_per_round = param_get(&c.p, "booster") && strcmp(param_get(&c.p, "booster"), "gblinear") == 0
		? 0 : param_int(&c.p, "num_parallel_tree", 1, 1, INT_MAX);
	/* what the limit leaves after the rows, with room for each thread's stack and malloc arena */
	spec.memory_limit = memory_limit_bytes() - rows_bytes + (size_t) (c.threads + 1) * 80 * 1024 * 1024;
	ereport(NOTICE,
			(errmsg("training \"%s\": %lld rows (%lld to train, %lld to validate), %d features, %d rounds, %d threads",
					c.name, (long long) t.num_rows, (long long) t.num_train, (long long) t.num_valid,
					t.num_features, c.rounds, c.threads)));
	train_progress_phase("training");
	training = xgb_train_start(&spec);
	memset(&stop, 0, sizeof(stop));
	for (;;)
	{
		xgb_train_next(training, &ev);
		if (ev.kind == XGB_TRAIN_DONE)
			break;
		if (ev.kind == XGB_TRAIN_WARNING)
		{
			ereport(WARNING, (errmsg("libxgboost: %s", ev.text)));
			continue;
		}
		/* a round: its line, the log, the progress */
		{
			char		entry[256];
			double		value = NAN;
			int			i;

			for (i = 0; eval_line_entry(ev.text, i, entry, sizeof(entry), &value); i++)
			{
				char	   *dash = strchr(entry, '-');

				if (dash == NULL)
					continue;
				*dash = '\0';
				log_add(&log, ev.round + 1, entry, dash + 1, value);
				*dash = '-';
			}
			if (i == 0)
				continue;
			if (ev.round == 0)
			{
				stop_metric = pstrdup(entry);
				early_stop_init(&stop, Max(c.early_stopping_rounds, 1), strchr(entry, '-') ? strchr(entry, '-') + 1 : entry);
			}
			(void) early_stop_update(&stop, ev.round, value);
			if (c.early_stopping_rounds > 0)
				ereport(NOTICE,
						(errmsg("round %d of %d: %s %g (best %g at round %d)", ev.round + 1, c.rounds,
								entry, value, stop.best_score, stop.best_round + 1)));
			else
				ereport(NOTICE,
						(errmsg("round %d of %d: %s %g", ev.round + 1, c.rounds, entry, value)));
			train_progress_round(ev.round + 1, c.rounds, entry, value,
								 c.early_stopping_rounds > 0 ? stop.best_round + 1 : 0, stop.best_score,
								 xgb_train_rss(training));
		}
	}
	if (ev.best_round + 1 < ev.rounds_trained)
		ereport(NOTICE,
				(errmsg("stopped after round %d: %s did not improve for %d rounds; the model keeps rounds 1 to %d",
						ev.rounds_trained, stop_metric, c.early_stopping_rounds, ev.best_round + 1)));

	/* the model, then its record */
	train_progress_phase("storing");
	version = registry_store(c.name, ev.model, ev.model_len, NULL, c.metadata);
	TimestampDifference(started, GetCurrentTimestamp(), &secs, &usecs);
	write_record(&c, version, &t, fingerprint, &ev, &stop, c.early_stopping_rounds > 0 ? stop_metric : NULL,
				 &log, secs + usecs / 1e6, rows_bytes);
	catalog_citus_end_sequential(sequential);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	PG_RETURN_INT32(version);
}

/*-------------------------------------------------------------------------
 * model_json.c
 *	  Reads an XGBoost model from its JSON form into a ModelSpec.
 *
 * The JSON comes from libxgboost itself (xgb_bridge.c turns every format
 * into it), so its shape is XGBoost's schema.  We stream it through
 * PostgreSQL's JSON parser with semantic callbacks, keep only the members
 * prediction needs, and read numbers straight from their tokens (strtof),
 * so a float32 threshold is read exactly as XGBoost wrote it.
 *
 * Where we are in the document is a stack of contexts: each object or
 * array pushes the context its member name (or its parent array) implies.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/jsonapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/jsonfuncs.h"

#include "model_json.h"

typedef enum Ctx
{
	C_IGNORE,					/* a subtree we do not need */
	C_ROOT,
	C_VERSION,					/* [major, minor, patch] */
	C_LEARNER,
	C_LMP,						/* learner_model_param */
	C_LMP_BASE_SCORE,
	C_LMP_NUM_CLASS,
	C_LMP_NUM_FEATURE,
	C_LMP_NUM_TARGET,
	C_OBJECTIVE,
	C_OBJECTIVE_NAME,
	C_FEATURE_NAMES,
	C_FEATURE_TYPES,
	C_GB,						/* gradient_booster */
	C_GB_NAME,
	C_GB_MODEL,					/* the gbtree model (also under DART) */
	C_DART_GBTREE,
	C_GB_MODEL_PARAM,			/* gbtree_model_param */
	C_SIZE_LEAF_VECTOR,
	C_WEIGHT_DROP,
	C_TREE_INFO,
	C_TREES,
	C_TREE,
	C_TREE_PARAM,
	C_TREE_NUM_NODES,
	C_LINEAR_WEIGHTS,
	/* arrays of numbers inside one tree */
	C_T_LEFT,
	C_T_RIGHT,
	C_T_PARENTS,
	C_T_SPLIT_INDEX,
	C_T_SPLIT_COND,
	C_T_DEFAULT_LEFT,
	C_T_SPLIT_TYPE,
	C_T_CATEGORIES,
	C_T_CAT_NODES,
	C_T_CAT_SEGMENTS,
	C_T_CAT_SIZES,
	C_T_SUM_HESS,
	C_T_LOSS_CHG
} Ctx;

#define MAX_JSON_DEPTH 64

typedef struct ParseState
{
	ModelSpec  *spec;
	Ctx			stack[MAX_JSON_DEPTH];
	int			depth;			/* stack[depth - 1] is the innermost container */
	Ctx			pending;		/* context of the value about to start */
	int			trees_cap;
	int			version_len;
	uint32		scalars;		/* read so far, for interrupt checks */
} ParseState;

/* Named members and the contexts they lead to, per parent context. */
typedef struct Member
{
	Ctx			parent;
	const char *name;
	Ctx			child;
} Member;

static const Member members[] = {
	{C_ROOT, "learner", C_LEARNER},
	{C_ROOT, "version", C_VERSION},
	{C_LEARNER, "learner_model_param", C_LMP},
	{C_LEARNER, "objective", C_OBJECTIVE},
	{C_LEARNER, "feature_names", C_FEATURE_NAMES},
	{C_LEARNER, "feature_types", C_FEATURE_TYPES},
	{C_LEARNER, "gradient_booster", C_GB},
	{C_LMP, "base_score", C_LMP_BASE_SCORE},
	{C_LMP, "num_class", C_LMP_NUM_CLASS},
	{C_LMP, "num_feature", C_LMP_NUM_FEATURE},
	{C_LMP, "num_target", C_LMP_NUM_TARGET},
	{C_OBJECTIVE, "name", C_OBJECTIVE_NAME},
	{C_GB, "name", C_GB_NAME},
	{C_GB, "model", C_GB_MODEL},
	{C_GB, "gbtree", C_DART_GBTREE},
	{C_GB, "weight_drop", C_WEIGHT_DROP},
	{C_DART_GBTREE, "model", C_GB_MODEL},
	{C_GB_MODEL, "gbtree_model_param", C_GB_MODEL_PARAM},
	{C_GB_MODEL_PARAM, "size_leaf_vector", C_SIZE_LEAF_VECTOR},
	{C_GB_MODEL, "trees", C_TREES},
	{C_GB_MODEL, "tree_info", C_TREE_INFO},
	{C_GB_MODEL, "weights", C_LINEAR_WEIGHTS},
	{C_TREE, "tree_param", C_TREE_PARAM},
	{C_TREE, "left_children", C_T_LEFT},
	{C_TREE, "right_children", C_T_RIGHT},
	{C_TREE, "parents", C_T_PARENTS},
	{C_TREE, "split_indices", C_T_SPLIT_INDEX},
	{C_TREE, "split_conditions", C_T_SPLIT_COND},
	{C_TREE, "default_left", C_T_DEFAULT_LEFT},
	{C_TREE, "split_type", C_T_SPLIT_TYPE},
	{C_TREE, "categories", C_T_CATEGORIES},
	{C_TREE, "categories_nodes", C_T_CAT_NODES},
	{C_TREE, "categories_segments", C_T_CAT_SEGMENTS},
	{C_TREE, "categories_sizes", C_T_CAT_SIZES},
	{C_TREE, "sum_hessian", C_T_SUM_HESS},
	{C_TREE, "loss_changes", C_T_LOSS_CHG},
	{C_TREE_PARAM, "num_nodes", C_TREE_NUM_NODES},
};

static Ctx
member_context(Ctx parent, const char *name)
{
	for (int i = 0; i < lengthof(members); i++)
		if (members[i].parent == parent && strcmp(members[i].name, name) == 0)
			return members[i].child;
	return C_IGNORE;
}

/* Arrays whose elements are kept one by one. */
static bool
is_list(Ctx ctx)
{
	return ctx == C_VERSION || ctx == C_FEATURE_NAMES || ctx == C_FEATURE_TYPES ||
		ctx == C_WEIGHT_DROP || ctx == C_TREE_INFO || ctx == C_LINEAR_WEIGHTS ||
		ctx >= C_T_LEFT;
}

static void malformed(const char *detail) pg_attribute_noreturn();

static void
malformed(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("malformed XGBoost model"),
			 errdetail("%s", detail)));
}

static void
numarray_push(JsonNumArray *a, const void *value)
{
	if (a->len == a->cap)
	{
		a->cap = a->cap ? a->cap * 2 : 64;
		a->data = a->data ? repalloc_huge(a->data, a->cap * sizeof(int32))
			: palloc(a->cap * sizeof(int32));
	}
	memcpy((char *) a->data + a->len * sizeof(int32), value, sizeof(int32));
	a->len++;
}

static int32
token_int(const char *token, JsonTokenType type)
{
	char	   *end;
	long		v;

	/* Integers may be stored as JSON strings ("100"), numbers or booleans. */
	if (type == JSON_TOKEN_TRUE)
		return 1;
	if (type == JSON_TOKEN_FALSE)
		return 0;
	if (type != JSON_TOKEN_NUMBER && type != JSON_TOKEN_STRING)
		malformed("an integer was expected");
	errno = 0;
	v = strtol(token, &end, 10);
	if (end == token || *end != '\0' || errno != 0 || v < PG_INT32_MIN || v > PG_INT32_MAX)
		malformed(psprintf("\"%s\" is not an integer", token));
	return (int32) v;
}

static float
token_float(const char *token, JsonTokenType type)
{
	char	   *end;
	float		v;

	if (type != JSON_TOKEN_NUMBER && type != JSON_TOKEN_STRING)
		malformed("a number was expected");
	/* XGBoost writes non-finite values as strings, e.g. "NaN", "inf". */
	errno = 0;
	v = strtof(token, &end);
	if (end == token || *end != '\0')
		malformed(psprintf("\"%s\" is not a number", token));
	return v;
}

/* Where each integer array of a tree is kept. */
static const struct
{
	Ctx			ctx;
	size_t		offset;
}			tree_arrays[] = {
	{C_T_LEFT, offsetof(TreeSpec, left)},
	{C_T_RIGHT, offsetof(TreeSpec, right)},
	{C_T_PARENTS, offsetof(TreeSpec, parents)},
	{C_T_SPLIT_INDEX, offsetof(TreeSpec, split_index)},
	{C_T_DEFAULT_LEFT, offsetof(TreeSpec, default_left)},
	{C_T_SPLIT_TYPE, offsetof(TreeSpec, split_type)},
	{C_T_CATEGORIES, offsetof(TreeSpec, categories)},
	{C_T_CAT_NODES, offsetof(TreeSpec, cat_nodes)},
	{C_T_CAT_SEGMENTS, offsetof(TreeSpec, cat_segments)},
	{C_T_CAT_SIZES, offsetof(TreeSpec, cat_sizes)},
};

static JsonNumArray *
tree_array(TreeSpec *tree, Ctx ctx)
{
	for (int i = 0; i < lengthof(tree_arrays); i++)
		if (tree_arrays[i].ctx == ctx)
			return (JsonNumArray *) ((char *) tree + tree_arrays[i].offset);
	elog(ERROR, "no tree array for context %d", (int) ctx);
	return NULL;
}

static TreeSpec *
current_tree(ParseState *ps)
{
	if (ps->spec->num_trees == 0)
		malformed("tree data outside a tree");
	return &ps->spec->trees[ps->spec->num_trees - 1];
}

static void
push_context(ParseState *ps, Ctx ctx)
{
	if (ps->depth >= MAX_JSON_DEPTH)
		malformed("nesting is too deep");
	ps->stack[ps->depth++] = ctx;
}

static void
on_container_start(void *state)
{
	ParseState *ps = (ParseState *) state;
	Ctx			ctx = ps->pending;

	/* A container where a plain number or name belongs is of no use. */
	if (ps->depth > 0 && is_list(ps->stack[ps->depth - 1]))
		ctx = C_IGNORE;

	if (ctx == C_TREE)
	{
		ModelSpec  *spec = ps->spec;

		if (spec->num_trees == ps->trees_cap)
		{
			ps->trees_cap = ps->trees_cap ? ps->trees_cap * 2 : 16;
			spec->trees = spec->trees
				? repalloc_huge(spec->trees, ps->trees_cap * sizeof(TreeSpec))
				: palloc(ps->trees_cap * sizeof(TreeSpec));
		}
		memset(&spec->trees[spec->num_trees], 0, sizeof(TreeSpec));
		spec->trees[spec->num_trees].num_nodes = -1;
		spec->num_trees++;
	}
	push_context(ps, ctx);
	ps->pending = C_IGNORE;
}

static void
on_container_end(void *state)
{
	ParseState *ps = (ParseState *) state;

	ps->depth--;
}

static void
on_field_start(void *state, char *fname, bool isnull)
{
	ParseState *ps = (ParseState *) state;
	Ctx			parent = ps->stack[ps->depth - 1];

	ps->pending = (parent == C_IGNORE) ? C_IGNORE : member_context(parent, fname);
}

static void
on_element_start(void *state, bool isnull)
{
	ParseState *ps = (ParseState *) state;
	Ctx			parent = ps->stack[ps->depth - 1];

	if (parent == C_TREES)
		ps->pending = C_TREE;
	else if (is_list(parent))
		ps->pending = parent;
	else
		ps->pending = C_IGNORE;
}

/* Appends a name; the array doubles when full (at 8, 16, 32, ... names). */
static char **
push_name(char **names, int *n, char *name)
{
	if (*n == 0)
		names = palloc(8 * sizeof(char *));
	else if (*n >= 8 && (*n & (*n - 1)) == 0)
		names = repalloc_huge(names, (Size) *n * 2 * sizeof(char *));
	names[(*n)++] = name;
	return names;
}

static void
on_scalar(void *state, char *token, JsonTokenType type)
{
	ParseState *ps = (ParseState *) state;
	ModelSpec  *spec = ps->spec;
	Ctx			ctx = ps->pending;
	int32		i;
	float		f;

	ps->pending = C_IGNORE;
	if (++ps->scalars % 65536 == 0)
		CHECK_FOR_INTERRUPTS();
	switch (ctx)
	{
		case C_VERSION:
			if (ps->version_len < 3)
				spec->version[ps->version_len++] = token_int(token, type);
			break;
		case C_LMP_BASE_SCORE:
			spec->base_score = pstrdup(token);
			break;
		case C_LMP_NUM_CLASS:
			spec->num_class = token_int(token, type);
			break;
		case C_LMP_NUM_FEATURE:
			spec->num_feature = token_int(token, type);
			break;
		case C_LMP_NUM_TARGET:
			spec->num_target = token_int(token, type);
			break;
		case C_SIZE_LEAF_VECTOR:
			spec->size_leaf_vector = token_int(token, type);
			break;
		case C_OBJECTIVE_NAME:
			spec->objective = pstrdup(token);
			break;
		case C_GB_NAME:
			spec->booster = pstrdup(token);
			break;
		case C_FEATURE_NAMES:
			spec->feature_names = push_name(spec->feature_names,
											&spec->num_feature_names, pstrdup(token));
			break;
		case C_FEATURE_TYPES:
			spec->feature_types = push_name(spec->feature_types,
											&spec->num_feature_types, pstrdup(token));
			break;
		case C_TREE_INFO:
			i = token_int(token, type);
			numarray_push(&spec->tree_info, &i);
			break;
		case C_WEIGHT_DROP:
			f = token_float(token, type);
			numarray_push(&spec->weight_drop, &f);
			break;
		case C_LINEAR_WEIGHTS:
			f = token_float(token, type);
			numarray_push(&spec->linear_weights, &f);
			break;
		case C_TREE_NUM_NODES:
			current_tree(ps)->num_nodes = token_int(token, type);
			break;
		case C_T_SPLIT_COND:
			f = token_float(token, type);
			numarray_push(&current_tree(ps)->split_cond, &f);
			break;
		case C_T_SUM_HESS:
			f = token_float(token, type);
			numarray_push(&current_tree(ps)->sum_hess, &f);
			break;
		case C_T_LOSS_CHG:
			f = token_float(token, type);
			numarray_push(&current_tree(ps)->loss_chg, &f);
			break;
		case C_T_LEFT:
		case C_T_RIGHT:
		case C_T_PARENTS:
		case C_T_SPLIT_INDEX:
		case C_T_DEFAULT_LEFT:
		case C_T_SPLIT_TYPE:
		case C_T_CATEGORIES:
		case C_T_CAT_NODES:
		case C_T_CAT_SEGMENTS:
		case C_T_CAT_SIZES:
			i = token_int(token, type);
			numarray_push(tree_array(current_tree(ps), ctx), &i);
			break;
		default:
			break;
	}
}

/*
 * XGBoost writes non-finite floats as bare NaN, Infinity and -Infinity, which
 * JSON does not allow; quote them ("NaN") so PostgreSQL's parser reads them
 * as strings, which token_float understands.  Returns json itself when there
 * is nothing to quote.
 */
static char *
quote_nonfinite(char *json, int *len)
{
	static const char *const words[] = {"NaN", "Infinity", "-Infinity"};
	StringInfoData out;
	bool		in_string = false;
	int			copied = 0;

	out.data = NULL;
	for (int i = 0; i < *len; i++)
	{
		char		c = json[i];

		if (in_string)
		{
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"')
		{
			in_string = true;
			continue;
		}
		if (c != 'N' && c != 'I' && c != '-')
			continue;
		for (int w = 0; w < lengthof(words); w++)
		{
			int			wlen = strlen(words[w]);

			if (i + wlen <= *len && strncmp(json + i, words[w], wlen) == 0)
			{
				if (out.data == NULL)
					initStringInfo(&out);
				appendBinaryStringInfo(&out, json + copied, i - copied);
				appendStringInfo(&out, "\"%s\"", words[w]);
				i += wlen - 1;
				copied = i + 1;
				break;
			}
		}
	}
	if (out.data == NULL)
		return json;
	appendBinaryStringInfo(&out, json + copied, *len - copied);
	*len = out.len;
	return out.data;
}

ModelSpec *
model_json_parse(char *json, int len)
{
	ParseState	ps;
	JsonSemAction sem;
	JsonLexContext *lex;
	JsonParseErrorType rc;

	memset(&ps, 0, sizeof(ps));
	ps.spec = palloc0(sizeof(ModelSpec));
	ps.pending = C_ROOT;

	memset(&sem, 0, sizeof(sem));
	sem.semstate = &ps;
	sem.object_start = on_container_start;
	sem.object_end = on_container_end;
	sem.array_start = on_container_start;
	sem.array_end = on_container_end;
	sem.object_field_start = on_field_start;
	sem.array_element_start = on_element_start;
	sem.scalar = on_scalar;

	json = quote_nonfinite(json, &len);
	lex = makeJsonLexContextCstringLen(json, len, PG_UTF8, true);
	rc = pg_parse_json(lex, &sem);
	if (rc != JSON_SUCCESS)
		malformed(json_errdetail(rc, lex));
	return ps.spec;
}

/*-------------------------------------------------------------------------
 * forest.c
 *	  Compiles an XGBoost tree ensemble into flat arrays and evaluates it,
 *	  bit-exact with libxgboost 1.7's CPU predictor.
 *
 * The rules that make it exact (see REFERENCE.md and the parity tests):
 *	- inputs and thresholds are float32; a value goes left exactly when
 *	  value < threshold; a missing value (NaN) follows default_left;
 *	- a leaf's value is its split_condition;
 *	- margins start at the base margin and add leaves one tree at a time, in
 *	  tree order, in float32;
 *	- base_score is stored in probability space and mapped to a margin by the
 *	  objective; outputs use the objective's float32 transform.
 *
 * No catalog access here: plain arrays in, plain arrays out.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"

#include "forest.h"

/* Deepest tree compiled into the padded perfect layout. */
#define PERFECT_MAX_DEPTH	10
/* Largest perfect layout we accept before falling back (bytes). */
#define PERFECT_MAX_BYTES	(256 * 1024 * 1024)
/* Trees walked side by side in the perfect layout. */
#define INTERLEAVE	16
/* Rows up to this many features use a stack buffer for the doubled row. */
#define STACK_FEATURES	512

typedef enum BaseMargin
{
	BASE_IDENTITY,
	BASE_LOGIT,
	BASE_LOG
} BaseMargin;

typedef struct Objective
{
	const char *name;
	BaseMargin	base;
	ForestOutput output;
	bool		multiclass;
} Objective;

static const Objective objectives[] = {
	{"binary:logistic", BASE_LOGIT, OUTPUT_SIGMOID, false},
	{"binary:logitraw", BASE_IDENTITY, OUTPUT_IDENTITY, false},
	{"binary:hinge", BASE_IDENTITY, OUTPUT_HINGE, false},
	{"reg:squarederror", BASE_IDENTITY, OUTPUT_IDENTITY, false},
	{"reg:linear", BASE_IDENTITY, OUTPUT_IDENTITY, false},
	{"reg:squaredlogerror", BASE_IDENTITY, OUTPUT_IDENTITY, false},
	{"reg:pseudohubererror", BASE_IDENTITY, OUTPUT_IDENTITY, false},
	{"reg:absoluteerror", BASE_IDENTITY, OUTPUT_IDENTITY, false},
	{"reg:logistic", BASE_LOGIT, OUTPUT_SIGMOID, false},
	{"count:poisson", BASE_LOG, OUTPUT_EXP, false},
	{"reg:gamma", BASE_LOG, OUTPUT_EXP, false},
	{"reg:tweedie", BASE_LOG, OUTPUT_EXP, false},
	{"survival:cox", BASE_LOG, OUTPUT_EXP, false},
	{"survival:aft", BASE_LOG, OUTPUT_EXP_DOUBLE, false},
	{"multi:softprob", BASE_IDENTITY, OUTPUT_SOFTPROB, true},
	{"multi:softmax", BASE_IDENTITY, OUTPUT_SOFTMAX, true},
	{"rank:pairwise", BASE_IDENTITY, OUTPUT_IDENTITY, false},
	{"rank:ndcg", BASE_IDENTITY, OUTPUT_IDENTITY, false},
	{"rank:map", BASE_IDENTITY, OUTPUT_IDENTITY, false},
};

const char *
forest_supported_objectives(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < lengthof(objectives); i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", objectives[i].name);
	return buf.data;
}

static void broken(const char *detail) pg_attribute_noreturn();

static void
broken(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("malformed XGBoost model"),
			 errdetail("%s", detail)));
}

static const Objective *
lookup_objective(const char *name)
{
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed XGBoost model"),
				 errdetail("The model names no objective.")));
	for (int i = 0; i < lengthof(objectives); i++)
		if (strcmp(objectives[i].name, name) == 0)
			return &objectives[i];
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("XGBoost objective \"%s\" is not supported", name),
			 errdetail("Supported objectives: %s.", forest_supported_objectives())));
	pg_unreachable();
}

static float
base_margin(const Objective *obj, const char *base_score)
{
	char	   *end;
	float		b;

	if (base_score == NULL)
		return obj->base == BASE_IDENTITY ? 0.5f : (obj->base == BASE_LOGIT ? 0.0f : logf(0.5f));
	b = strtof(base_score, &end);
	if (end == base_score || *end != '\0' || isnan(b) || isinf(b))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed XGBoost model"),
				 errdetail("base_score \"%s\" is not a finite number.", base_score)));
	switch (obj->base)
	{
		case BASE_LOGIT:
			if (!(b > 0.0f && b < 1.0f))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("malformed XGBoost model"),
						 errdetail("base_score %g must be between 0 and 1 for %s.", b, obj->name)));
			return -logf(1.0f / b - 1.0f);
		case BASE_LOG:
			if (!(b > 0.0f))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("malformed XGBoost model"),
						 errdetail("base_score %g must be positive for %s.", b, obj->name)));
			return logf(b);
		default:
			return b;
	}
}

/* ---- checking one tree ---- */

typedef struct TreeShape
{
	int			depth;			/* deepest leaf, root at 0 */
	int			reachable;		/* nodes reachable from the root */
	int			leaves;
	bool		categorical;
	bool		odd_threshold;	/* NaN or -inf threshold: perfect layout can't */
} TreeShape;

static bool
is_categorical(const TreeSpec *t, int node)
{
	return t->split_type.len > 0 && NUMARRAY_INT(t->split_type)[node] == 1;
}

static void
check_array(const JsonNumArray *a, int n, int tree, bool optional)
{
	if (a->len != n && !(optional && a->len == 0))
		broken(psprintf("Tree %d has %d nodes but an array of a different length.", tree, n));
}

/* Walks the tree from its root, checking every link; returns its shape. */
static TreeShape
check_tree(const TreeSpec *t, int tree_no, int num_feature)
{
	TreeShape	shape = {0};
	int			n = t->num_nodes;
	int32	   *stack;
	int32	   *stack_depth;
	bool	   *seen;
	int			top = 0;
	const int32 *left = NUMARRAY_INT(t->left);
	const int32 *right = NUMARRAY_INT(t->right);
	const int32 *parent = NUMARRAY_INT(t->parents);
	const int32 *feat = NUMARRAY_INT(t->split_index);
	const float *cond = NUMARRAY_FLOAT(t->split_cond);

	if (n <= 0)
		broken(psprintf("Tree %d has %d nodes.", tree_no, n));
	check_array(&t->left, n, tree_no, false);
	check_array(&t->right, n, tree_no, false);
	check_array(&t->parents, n, tree_no, false);
	check_array(&t->split_index, n, tree_no, false);
	check_array(&t->split_cond, n, tree_no, false);
	check_array(&t->default_left, n, tree_no, false);
	check_array(&t->split_type, n, tree_no, true);

	stack = palloc(n * sizeof(int32));
	stack_depth = palloc(n * sizeof(int32));
	seen = palloc0(n * sizeof(bool));
	/* libxgboost walks parents up to the root (RegTree::GetDepth): check them */
	if (parent[0] != TREE_NO_PARENT && parent[0] != -1)
		broken(psprintf("Tree %d has a parent for its root.", tree_no));
	stack[top] = 0;
	stack_depth[top++] = 0;
	seen[0] = true;
	while (top > 0)
	{
		int			node = stack[--top];
		int			d = stack_depth[top];

		shape.reachable++;
		if (left[node] == -1)
		{
			shape.leaves++;
			shape.depth = Max(shape.depth, d);
			if (isnan(cond[node]) || isinf(cond[node]))
				broken(psprintf("Tree %d has a leaf (node %d) whose value is not finite.", tree_no, node));
			continue;
		}
		if (feat[node] < 0 || feat[node] >= num_feature)
			broken(psprintf("Tree %d splits on feature %d, outside the model's features.",
				   tree_no, feat[node]));
		if (is_categorical(t, node))
			shape.categorical = true;
		else if (isnan(cond[node]) || (isinf(cond[node]) && cond[node] < 0))
			shape.odd_threshold = true;
		for (int side = 0; side < 2; side++)
		{
			int			child = side ? right[node] : left[node];

			if (child <= 0 || child >= n || seen[child] || parent[child] != node)
				broken(psprintf("Tree %d has a broken link at node %d.", tree_no, node));
			seen[child] = true;
			stack[top] = child;
			stack_depth[top++] = d + 1;
		}
	}
	pfree(stack);
	pfree(stack_depth);
	pfree(seen);
	return shape;
}

/* ---- perfect layout ---- */

/*
 * Fills the padded slots of one tree: node `src` of the model lands in slot
 * `slot` at `level`; a leaf above the last level is pushed down through
 * always-left nodes (threshold +inf on the left-leaning copy of feature 0,
 * which every value, and every missing value, passes to the left).
 */
static void
fill_perfect(const TreeSpec *t, int src, uint32 slot, int level, int depth,
			 int num_features, PerfectNode *nodes, float *leaves)
{
	const int32 *left = NUMARRAY_INT(t->left);
	const float *cond = NUMARRAY_FLOAT(t->split_cond);
	uint32		internal = (1u << depth) - 1;

	if (level == depth)
	{
		leaves[slot - internal] = cond[src];
		return;
	}
	if (left[src] == -1)
	{
		nodes[slot].feature = 0;
		nodes[slot].threshold = INFINITY;
		fill_perfect(t, src, 2 * slot + 1, level + 1, depth, num_features, nodes, leaves);
		fill_perfect(t, src, 2 * slot + 2, level + 1, depth, num_features, nodes, leaves);
		return;
	}
	nodes[slot].feature = NUMARRAY_INT(t->split_index)[src] +
		(NUMARRAY_INT(t->default_left)[src] ? 0 : num_features);
	nodes[slot].threshold = cond[src];
	fill_perfect(t, left[src], 2 * slot + 1, level + 1, depth, num_features, nodes, leaves);
	fill_perfect(t, NUMARRAY_INT(t->right)[src], 2 * slot + 2, level + 1, depth,
				 num_features, nodes, leaves);
}

static void
compile_perfect(Forest *f, const ModelSpec *spec)
{
	uint32		internal = (1u << f->depth) - 1;
	uint32		nleaf = 1u << f->depth;
	int			padded = f->num_blocks * INTERLEAVE;

	f->nodes = palloc_extended(sizeof(PerfectNode) * internal * padded, MCXT_ALLOC_HUGE);
	f->leaves = palloc_extended(sizeof(float) * nleaf * padded, MCXT_ALLOC_HUGE);
	for (int t = 0; t < f->num_trees; t++)
	{
		CHECK_FOR_INTERRUPTS();
		fill_perfect(&spec->trees[t], 0, 0, 0, f->depth, f->num_features,
					 f->nodes + (size_t) t * internal, f->leaves + (size_t) t * nleaf);
	}

	/*
	 * Pad the last block with trees that always go left to a leaf of -0.0:
	 * x + -0.0f is exactly x for every float x, -0.0 included.
	 */
	for (size_t i = (size_t) f->num_trees * internal; i < (size_t) padded * internal; i++)
	{
		f->nodes[i].feature = 0;
		f->nodes[i].threshold = INFINITY;
	}
	for (size_t i = (size_t) f->num_trees * nleaf; i < (size_t) padded * nleaf; i++)
		f->leaves[i] = -0.0f;
}

/* ---- general layout ---- */

/*
 * A per-node statistic of every tree (covers, gains) into *stat, nodes of
 * tree t from base (total nodes in all): allocated at the first tree, and
 * dropped for good at the first tree that lacks it.
 */
static void
keep_node_stat(float **stat, const JsonNumArray *values, const TreeSpec *tree, int t, int base, int total)
{
	if (values->len == tree->num_nodes && (t == 0 || *stat != NULL))
	{
		if (*stat == NULL)
			*stat = palloc_extended(sizeof(float) * total, MCXT_ALLOC_HUGE);
		memcpy(*stat + base, values->data, sizeof(float) * tree->num_nodes);
	}
	else if (*stat != NULL)
	{
		pfree(*stat);
		*stat = NULL;
	}
}

static void
compile_general(Forest *f, const ModelSpec *spec)
{
	int			total = 0;
	int			next = 0;
	int			cat_words = 0;
	int			next_word = 0;

	for (int t = 0; t < f->num_trees; t++)
	{
		const TreeSpec *tree = &spec->trees[t];

		total += tree->num_nodes;
		for (int i = 0; i < tree->cat_sizes.len; i++)
		{
			int32		seg = NUMARRAY_INT(tree->cat_segments)[i];
			int32		size = NUMARRAY_INT(tree->cat_sizes)[i];
			int32		maxcat = -1;

			for (int j = 0; j < size; j++)
				maxcat = Max(maxcat, NUMARRAY_INT(tree->categories)[seg + j]);
			cat_words += maxcat / 32 + 1;
		}
	}
	f->gnodes = palloc_extended(sizeof(GeneralNode) * total, MCXT_ALLOC_HUGE);
	f->num_gnodes = total;
	f->roots = palloc(sizeof(int32) * f->num_trees);
	f->cat_bits = palloc0(sizeof(uint32) * Max(cat_words, 1));

	for (int t = 0; t < f->num_trees; t++)
	{
		const TreeSpec *tree = &spec->trees[t];
		int			base = next;

		CHECK_FOR_INTERRUPTS();
		f->roots[t] = base;
		for (int i = 0; i < tree->num_nodes; i++)
		{
			GeneralNode *g = &f->gnodes[base + i];
			int32		l = NUMARRAY_INT(tree->left)[i];

			g->left = (l == -1) ? -1 : base + l;
			g->right = (l == -1) ? -1 : base + NUMARRAY_INT(tree->right)[i];
			g->feature = NUMARRAY_INT(tree->split_index)[i];
			g->default_left = NUMARRAY_INT(tree->default_left)[i] != 0;
			g->categorical = l != -1 && is_categorical(tree, i);
			g->value = NUMARRAY_FLOAT(tree->split_cond)[i];
			g->cat_offset = 0;
			g->cat_words = 0;
		}
		/* a tree without covers: no explanations; without gains: no importance */
		keep_node_stat(&f->gcover, &tree->sum_hess, tree, t, base, total);
		keep_node_stat(&f->ggain, &tree->loss_chg, tree, t, base, total);
		/* category sets, one bitset per categorical node */
		for (int i = 0; i < tree->cat_nodes.len; i++)
		{
			int32		node = NUMARRAY_INT(tree->cat_nodes)[i];
			int32		seg = NUMARRAY_INT(tree->cat_segments)[i];
			int32		size = NUMARRAY_INT(tree->cat_sizes)[i];
			int32		maxcat = -1;
			GeneralNode *g = &f->gnodes[base + node];

			for (int j = 0; j < size; j++)
				maxcat = Max(maxcat, NUMARRAY_INT(tree->categories)[seg + j]);
			g->cat_offset = next_word;
			g->cat_words = maxcat / 32 + 1;
			for (int j = 0; j < size; j++)
			{
				int32		c = NUMARRAY_INT(tree->categories)[seg + j];

				f->cat_bits[next_word + c / 32] |= 1u << (c % 32);
			}
			next_word += g->cat_words;
		}
		next += tree->num_nodes;
	}
}

/* Checks the category lists of a tree (all indexes in range, sorted sets). */
static void
check_categories(const TreeSpec *t, int tree_no)
{
	int			n = t->cat_nodes.len;
	bool	   *listed;

	if (t->cat_segments.len != n || t->cat_sizes.len != n)
		broken(psprintf("Tree %d has category arrays of different lengths (%d nodes).", tree_no, n));
	for (int i = 0; i < n; i++)
	{
		int32		node = NUMARRAY_INT(t->cat_nodes)[i];
		int32		seg = NUMARRAY_INT(t->cat_segments)[i];
		int32		size = NUMARRAY_INT(t->cat_sizes)[i];

		if (node < 0 || node >= t->num_nodes || !is_categorical(t, node))
			broken(psprintf("Tree %d lists categories for node %d, not a categorical split.",
				   tree_no, node));
		if (seg < 0 || size < 0 || seg > t->categories.len - size)
			broken(psprintf("Tree %d has a category segment out of range at node %d.", tree_no, node));
		for (int j = 0; j < size; j++)
		{
			int32		c = NUMARRAY_INT(t->categories)[seg + j];

			if (c < 0 || c >= (1 << 24))
				broken(psprintf("Tree %d has category %d out of range.", tree_no, c));
		}
	}
	/* every categorical node must have its set */
	listed = palloc0(sizeof(bool) * t->num_nodes);
	for (int i = 0; i < n; i++)
		listed[NUMARRAY_INT(t->cat_nodes)[i]] = true;
	for (int node = 0; node < t->num_nodes; node++)
		if (is_categorical(t, node) && NUMARRAY_INT(t->left)[node] != -1 && !listed[node])
			broken(psprintf("Tree %d has categorical node %d without categories.", tree_no, node));
	pfree(listed);
}

Forest *
forest_compile(const ModelSpec *spec)
{
	Forest	   *f = palloc0(sizeof(Forest));
	const Objective *obj;
	bool		perfect = true;
	int			max_depth = 0;

	if (spec->booster == NULL || (strcmp(spec->booster, "gbtree") != 0 &&
								  strcmp(spec->booster, "dart") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("XGBoost booster \"%s\" is not supported",
						spec->booster ? spec->booster : "(none)"),
				 errhint("Train the model with booster \"gbtree\" or \"dart\".")));
	obj = lookup_objective(spec->objective);
	f->objective = obj->name;
	f->output = obj->output;

	if (spec->num_target > 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("XGBoost models with %d targets are not supported", spec->num_target),
				 errhint("Train one model per target.")));
	if (spec->size_leaf_vector != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("XGBoost trees with vector leaves (size_leaf_vector %d) are not supported",
						spec->size_leaf_vector),
				 errhint("Train the model with scalar leaves, as XGBoost does by default.")));
	if (spec->num_feature <= 0)
		broken(psprintf("The model has %d features.", spec->num_feature));
	f->num_features = spec->num_feature;
	if (obj->multiclass)
	{
		if (spec->num_class < 2)
			broken(psprintf("A multi-class objective with num_class %d.", spec->num_class));
		f->num_groups = spec->num_class;
	}
	else
	{
		/* libxgboost would predict num_class values: a damaged model */
		if (spec->num_class > 1)
			broken(psprintf("A single-output objective (%s) with num_class %d.",
							obj->name, spec->num_class));
		f->num_groups = 1;
	}
	f->base_margin = base_margin(obj, spec->base_score);

	f->num_trees = spec->num_trees;
	if (spec->tree_info.len != spec->num_trees)
		broken(psprintf("The model has %d trees but %d tree_info entries.",
			   spec->num_trees, spec->tree_info.len));
	f->num_blocks = (f->num_trees + INTERLEAVE - 1) / INTERLEAVE;
	/* padded to whole blocks: group 0, weight 1 (see compile_perfect) */
	f->tree_group = palloc0(sizeof(int32) * Max(f->num_blocks * INTERLEAVE, 1));
	for (int t = 0; t < f->num_trees; t++)
	{
		int32		g = NUMARRAY_INT(spec->tree_info)[t];

		if (g < 0 || g >= f->num_groups)
			broken(psprintf("Tree %d belongs to output group %d, outside the model's groups.", t, g));
		f->tree_group[t] = g;
	}

	if (strcmp(spec->booster, "dart") == 0)
	{
		if (spec->weight_drop.len != spec->num_trees)
			broken(psprintf("The DART model has %d trees but %d weights.",
				   spec->num_trees, spec->weight_drop.len));
		f->tree_weight = palloc(sizeof(float) * Max(f->num_blocks * INTERLEAVE, 1));
		for (int t = 0; t < f->num_blocks * INTERLEAVE; t++)
			f->tree_weight[t] = t < f->num_trees ? NUMARRAY_FLOAT(spec->weight_drop)[t] : 1.0f;
	}

	for (int t = 0; t < f->num_trees; t++)
	{
		TreeShape	shape;

		CHECK_FOR_INTERRUPTS();
		shape = check_tree(&spec->trees[t], t, spec->num_feature);

		/* category arrays are read for every tree that has any: check them all */
		if (shape.categorical || spec->trees[t].cat_nodes.len > 0 || spec->trees[t].cat_sizes.len > 0 ||
			spec->trees[t].cat_segments.len > 0 || spec->trees[t].categories.len > 0)
			check_categories(&spec->trees[t], t);
		max_depth = Max(max_depth, shape.depth);
		f->num_nodes += shape.reachable;
		f->num_leaves += shape.leaves;
		if (shape.categorical || shape.odd_threshold)
			perfect = false;
	}
	f->max_depth = max_depth;

	/* the general layout always: explanations walk it */
	compile_general(f, spec);
	f->depth = 0;
	if (perfect && max_depth <= PERFECT_MAX_DEPTH &&
		(double) f->num_trees * (12 << Max(max_depth, 1)) <= PERFECT_MAX_BYTES)
	{
		f->depth = Max(max_depth, 1);
		compile_perfect(f, spec);
	}
	forest_prepare_explain(f);
	return f;
}

/* ---- evaluation ---- */

static inline float
leaf_value(const Forest *f, int tree, float leaf)
{
	return f->tree_weight ? leaf * f->tree_weight[tree] : leaf;
}

/*
 * Leaf slots reached by the INTERLEAVE trees starting at tree t, walked side
 * by side so their independent loads overlap.  xx is the doubled row:
 * xx[i] is feature i with a missing value as -inf (goes left), xx[nf + i]
 * the same with +inf (goes right).
 */
static inline void
walk_block(const PerfectNode *nodes, uint32 internal, int depth, const float *xx,
		   int t, uint32 *slot)
{
	uint32		idx[INTERLEAVE];
	const PerfectNode *base[INTERLEAVE];

#pragma GCC unroll 16
	for (int k = 0; k < INTERLEAVE; k++)
	{
		idx[k] = 0;
		base[k] = nodes + (size_t) (t + k) * internal;
	}
	for (int level = 0; level < depth; level++)
	{
#pragma GCC unroll 16
		for (int k = 0; k < INTERLEAVE; k++)
		{
			const PerfectNode *nd = base[k] + idx[k];

			idx[k] = 2 * idx[k] + 1 + !(xx[nd->feature] < nd->threshold);
		}
	}
#pragma GCC unroll 16
	for (int k = 0; k < INTERLEAVE; k++)
		slot[k] = idx[k] - internal;
}

static void
perfect_margins(const Forest *f, const float *xx, float *margins)
{
	const int	depth = f->depth;
	const uint32 internal = (1u << depth) - 1;
	const uint32 nleaf = 1u << depth;
	const PerfectNode *nodes = f->nodes;
	const float *leaves = f->leaves;
	const int	ntrees = f->num_blocks * INTERLEAVE;
	uint32		slot[INTERLEAVE];

	if (f->num_groups == 1 && f->tree_weight == NULL)
	{
		/* the common case: one margin, kept in a register */
		float		sum = margins[0];

		for (int t = 0; t < ntrees; t += INTERLEAVE)
		{
			walk_block(nodes, internal, depth, xx, t, slot);
#pragma GCC unroll 16
			for (int k = 0; k < INTERLEAVE; k++)
				sum += leaves[(size_t) (t + k) * nleaf + slot[k]];
		}
		margins[0] = sum;
		return;
	}

	for (int t = 0; t < ntrees; t += INTERLEAVE)
	{
		walk_block(nodes, internal, depth, xx, t, slot);
		for (int k = 0; k < INTERLEAVE; k++)
			margins[f->tree_group[t + k]] +=
				leaf_value(f, t + k, leaves[(size_t) (t + k) * nleaf + slot[k]]);
	}
}

static inline bool
category_goes_right(const Forest *f, const GeneralNode *g, float value)
{
	int32		c;

	/* a value that is not a category index (negative, too large) goes left */
	if (!(value >= 0.0f && value < (float) (g->cat_words * 32)))
		return false;
	c = (int32) value;
	return (f->cat_bits[g->cat_offset + c / 32] >> (c % 32)) & 1;
}

bool
forest_goes_left(const Forest *f, const GeneralNode *g, float v)
{
	if (isnan(v))
		return g->default_left;
	if (g->categorical)
		return !category_goes_right(f, g, v);
	return v < g->value;
}

static void
general_margins(const Forest *f, const float *row, float *margins)
{
	const GeneralNode *nodes = f->gnodes;

	for (int t = 0; t < f->num_trees; t++)
	{
		const GeneralNode *g = &nodes[f->roots[t]];

		while (g->left >= 0)
		{
			float		v = row[g->feature];
			bool		left;

			if (isnan(v))
				left = g->default_left;
			else if (g->categorical)
				left = !category_goes_right(f, g, v);
			else
				left = v < g->value;
			g = &nodes[left ? g->left : g->right];
		}
		margins[f->tree_group[t]] += leaf_value(f, t, g->value);
	}
}

void
forest_margins(const Forest *f, const float *row, float *margins)
{
	for (int g = 0; g < f->num_groups; g++)
		margins[g] = f->base_margin;

	if (f->depth > 0)
	{
		float		stackbuf[2 * STACK_FEATURES];
		float	   *xx = stackbuf;
		int			nf = f->num_features;

		if (nf > STACK_FEATURES)
			xx = palloc(sizeof(float) * 2 * nf);
		for (int i = 0; i < nf; i++)
		{
			float		v = row[i];
			bool		missing = isnan(v);

			xx[i] = missing ? -INFINITY : v;
			xx[nf + i] = missing ? INFINITY : v;
		}
		perfect_margins(f, xx, margins);
		if (xx != stackbuf)
			pfree(xx);
	}
	else
		general_margins(f, row, margins);
}

/* XGBoost's common::Sigmoid in float32, overflow-guarded as 1.7 does. */
static inline float
sigmoid(float x)
{
	float		e = Min(-x, 88.7f);

	return 1.0f / (expf(e) + 1.0f + 1e-16f);
}

/*
 * XGBoost's common::Softmax: subtract the largest margin, exponentiate in
 * float32, sum in double, divide by the sum rounded to float32.
 */
void
forest_softmax(const Forest *f, float *m)
{
	float		wmax = m[0];
	double		wsum = 0.0;

	for (int g = 1; g < f->num_groups; g++)
		wmax = fmaxf(m[g], wmax);
	for (int g = 0; g < f->num_groups; g++)
	{
		m[g] = expf(m[g] - wmax);
		wsum += m[g];
	}
	for (int g = 0; g < f->num_groups; g++)
		m[g] /= (float) wsum;
}

int
forest_transform(const Forest *f, float *m)
{
	switch (f->output)
	{
		case OUTPUT_IDENTITY:
			return 1;
		case OUTPUT_SIGMOID:
			m[0] = sigmoid(m[0]);
			return 1;
		case OUTPUT_EXP:
			m[0] = expf(m[0]);
			return 1;
		case OUTPUT_EXP_DOUBLE:
			m[0] = (float) exp((double) m[0]);
			return 1;
		case OUTPUT_HINGE:
			m[0] = m[0] > 0.0f ? 1.0f : 0.0f;
			return 1;
		case OUTPUT_SOFTMAX:
			{
				int			best = 0;

				for (int g = 1; g < f->num_groups; g++)
					if (m[g] > m[best])
						best = g;
				m[0] = (float) best;
				return 1;
			}
		case OUTPUT_SOFTPROB:
			forest_softmax(f, m);
			return f->num_groups;
	}
	return 1;
}

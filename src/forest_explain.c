/*-------------------------------------------------------------------------
 * forest_explain.c
 *	  Why a model scored a row so: each feature's exact SHAP value, by
 *	  TreeSHAP (Lundberg, Erion and Lee, "Consistent individualized feature
 *	  attribution for tree ensembles", 2018, algorithm 2), what XGBoost's
 *	  predict(pred_contribs=True) returns.
 *
 * For one tree, the contribution of a feature is its Shapley value in the
 * game whose players are the features and whose value for a coalition S is
 * the tree's expected output when the features of S are known and the
 * others are not: an unknown feature's split sends the row down both sides,
 * weighted by the training rows (the covers) that went each way.  TreeSHAP
 * gets all of them in one walk, keeping for the path from the root the
 * share of coalitions of each size that reach the current node; a feature
 * met twice on a path is taken out ("unwound") and put back with both
 * splits' fractions.  The contributions plus the bias (the expected
 * output: the base margin plus each tree's cover-weighted mean leaf) add up
 * to the margin.  Cost: about depth² per leaf; hundreds of predictions.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "forest.h"

/* One feature on the path: the fractions of rows going this way without it and with it. */
typedef struct PathStep
{
	int			feature;		/* -1 for the root's placeholder */
	double		zero;			/* share of the training rows that follow the path here */
	double		one;			/* 1 when this row follows it, else 0 */
	double		weight;			/* share of coalitions of each size reaching here */
} PathStep;

/* Adds a split to the path (depth steps before it), spreading the coalition weights. */
static void
path_extend(PathStep *path, int depth, double zero, double one, int feature)
{
	path[depth].feature = feature;
	path[depth].zero = zero;
	path[depth].one = one;
	path[depth].weight = depth == 0 ? 1.0 : 0.0;
	for (int i = depth - 1; i >= 0; i--)
	{
		path[i + 1].weight += one * path[i].weight * (i + 1) / (double) (depth + 1);
		path[i].weight = zero * path[i].weight * (depth - i) / (double) (depth + 1);
	}
}

/* Takes step `at` back out of a path of depth + 1 steps (the inverse of extending it). */
static void
path_unwind(PathStep *path, int depth, int at)
{
	double		one = path[at].one;
	double		zero = path[at].zero;
	double		next = path[depth].weight;

	for (int i = depth - 1; i >= 0; i--)
	{
		if (one != 0)
		{
			double		kept = path[i].weight;

			path[i].weight = next * (depth + 1) / ((i + 1) * one);
			next = kept - path[i].weight * zero * (depth - i) / (double) (depth + 1);
		}
		else
			path[i].weight = path[i].weight * (depth + 1) / (zero * (depth - i));
	}
	for (int i = at; i < depth; i++)
	{
		path[i].feature = path[i + 1].feature;
		path[i].zero = path[i + 1].zero;
		path[i].one = path[i + 1].one;
	}
}

/* The total weight the path would have with step `at` unwound, leaving the path as it is. */
static double
path_unwound_sum(const PathStep *path, int depth, int at)
{
	double		one = path[at].one;
	double		zero = path[at].zero;
	double		next = path[depth].weight;
	double		total = 0;

	for (int i = depth - 1; i >= 0; i--)
	{
		if (one != 0)
		{
			double		w = next * (depth + 1) / ((i + 1) * one);

			total += w;
			next = path[i].weight - w * zero * (depth - i) / (double) (depth + 1);
		}
		else if (zero != 0)
			total += path[i].weight / zero * (depth + 1) / (double) (depth - i);
	}
	return total;
}

typedef struct Walk
{
	const Forest *f;
	const float *row;
	double	   *phi;
	double		scale;			/* the tree's DART weight, or 1 */
} Walk;

/*
 * The node's subtree, reached with the path parent[0..depth) and the split
 * (feature, zero, one) that led here; each path gets its own copy of the
 * steps, after its parent's.
 */
static void
tree_shap(const Walk *w, int node, PathStep *parent, int depth, double zero, double one, int feature)
{
	const Forest *f = w->f;
	const GeneralNode *g = &f->gnodes[node];
	PathStep   *path = parent + depth + 1;

	check_stack_depth();		/* lossguide trees can be deep */
	memcpy(path, parent, sizeof(PathStep) * (depth + 1));
	path_extend(path, depth, zero, one, feature);

	if (g->left < 0)
	{
		/* depth^2 work per leaf: a deep tree can take seconds */
		CHECK_FOR_INTERRUPTS();
		for (int i = 1; i <= depth; i++)
			w->phi[path[i].feature] += path_unwound_sum(path, depth, i) *
				(path[i].one - path[i].zero) * g->value * w->scale;
		return;
	}
	{
		bool		left = forest_goes_left(f, g, w->row[g->feature]);
		int			hot = left ? g->left : g->right;
		int			cold = left ? g->right : g->left;
		double		cover = f->gcover[node];
		double		hot_zero = cover > 0 ? f->gcover[hot] / cover : 0;
		double		cold_zero = cover > 0 ? f->gcover[cold] / cover : 0;
		double		in_zero = 1;
		double		in_one = 1;
		int			at;

		/* a feature split on before: unwind it, and carry its fractions */
		for (at = 1; at <= depth; at++)
			if (path[at].feature == (int) g->feature)
				break;
		if (at <= depth)
		{
			in_zero = path[at].zero;
			in_one = path[at].one;
			path_unwind(path, depth, at);
			depth--;
		}
		tree_shap(w, hot, path, depth + 1, hot_zero * in_zero, in_one, (int) g->feature);
		tree_shap(w, cold, path, depth + 1, cold_zero * in_zero, 0, (int) g->feature);
	}
}

/* A node's cover-weighted mean leaf, for every node below it. */
static double
node_mean(Forest *f, int node)
{
	const GeneralNode *g = &f->gnodes[node];
	double		mean;

	check_stack_depth();

	if (g->left < 0)
		mean = g->value;
	else
	{
		double		l = node_mean(f, g->left);
		double		r = node_mean(f, g->right);
		double		cover = f->gcover[node];

		mean = cover > 0 ? (l * f->gcover[g->left] + r * f->gcover[g->right]) / cover : 0;
	}
	f->gmean[node] = mean;
	return mean;
}

bool
forest_can_explain(const Forest *f)
{
	return f->gcover != NULL && f->num_groups == 1;
}

void
forest_prepare_explain(Forest *f)
{
	if (f->gcover == NULL)
		return;
	f->gmean = palloc_extended(sizeof(double) * f->num_gnodes, MCXT_ALLOC_HUGE);
	for (int t = 0; t < f->num_trees; t++)
	{
		CHECK_FOR_INTERRUPTS();
		node_mean(f, f->roots[t]);
	}
}

void
forest_contributions(const Forest *f, const float *row, double *phi)
{
	/* a segment of up to depth + 2 steps per level of the deepest path */
	Size		steps = (Size) (f->max_depth + 3) * (f->max_depth + 4) / 2;
	PathStep   *path = palloc_extended(sizeof(PathStep) * steps, MCXT_ALLOC_HUGE);
	Walk		w = {f, row, phi, 1.0};
	double		bias = f->base_margin;

	Assert(forest_can_explain(f));
	memset(phi, 0, sizeof(double) * (f->num_features + 1));
	for (int t = 0; t < f->num_trees; t++)
	{
		w.scale = f->tree_weight ? f->tree_weight[t] : 1.0;
		tree_shap(&w, f->roots[t], path, 0, 1, 1, -1);
		bias += w.scale * f->gmean[f->roots[t]];
	}
	phi[f->num_features] = bias;
	pfree(path);
}

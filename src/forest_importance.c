/*-------------------------------------------------------------------------
 * forest_importance.c
 *	  Feature importance of a tree model, as libxgboost's get_score counts
 *	  it: per feature, the splits on it (weight), the sum of their loss
 *	  changes (total_gain) and of their covers (total_cover), and both per
 *	  split (gain, cover).
 *
 * libxgboost sums in float, tree by tree in their order, each tree walked
 * depth first from its root with the right child before the left; the
 * same order here gives the same floats, so the figures equal get_score's
 * to the bit.  Nodes no longer reachable from a root are not counted.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "forest.h"
#include "forest_importance.h"

bool
forest_has_importance(const Forest *f)
{
	return f->num_trees == 0 || (f->ggain != NULL && f->gcover != NULL);
}

void
forest_importance(const Forest *f, FeatureImportance *out)
{
	int32	   *stack = palloc(sizeof(int32) * Max(f->num_gnodes, 1));

	Assert(forest_has_importance(f));
	memset(out, 0, sizeof(FeatureImportance) * f->num_features);
	for (int t = 0; t < f->num_trees; t++)
	{
		int			depth = 0;

		CHECK_FOR_INTERRUPTS();
		stack[depth++] = f->roots[t];
		while (depth > 0)
		{
			int32		node = stack[--depth];
			const GeneralNode *g = &f->gnodes[node];
			FeatureImportance *fi;

			if (g->left < 0 || g->feature >= (uint32) f->num_features)
				continue;		/* a leaf (split indices are checked at load) */
			if (depth + 2 > f->num_gnodes)
				elog(ERROR, "tree %d of the model is not a tree", t);
			fi = &out[g->feature];
			fi->weight++;
			fi->total_gain += f->ggain[node];
			fi->total_cover += f->gcover[node];
			/* popped right first, as libxgboost's WalkTree does */
			stack[depth++] = g->left;
			stack[depth++] = g->right;
		}
	}
	for (int i = 0; i < f->num_features; i++)
	{
		float		splits = Max(1.0f, (float) out[i].weight);

		out[i].gain = out[i].total_gain / splits;
		out[i].cover = out[i].total_cover / splits;
	}
	pfree(stack);
}

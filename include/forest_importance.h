/*-------------------------------------------------------------------------
 * forest_importance.h
 *	  Feature importance of a tree model, as libxgboost's get_score.
 *-------------------------------------------------------------------------
 */
#ifndef RISK_FOREST_IMPORTANCE_H
#define RISK_FOREST_IMPORTANCE_H

#include "forest.h"

typedef struct FeatureImportance
{
	int64		weight;			/* splits on the feature */
	float		total_gain;		/* their loss changes, summed in float */
	float		total_cover;	/* their covers */
	float		gain;			/* total_gain / max(1, weight) */
	float		cover;
} FeatureImportance;

/* Whether the model's trees keep gains and covers (libxgboost's JSON has them), or it has none. */
extern bool forest_has_importance(const Forest *forest);

/* Each feature's importance, into out (num_features entries). */
extern void forest_importance(const Forest *forest, FeatureImportance *out);

#endif							/* RISK_FOREST_IMPORTANCE_H */

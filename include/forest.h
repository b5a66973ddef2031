/*-------------------------------------------------------------------------
 * forest.h
 *	  A compiled XGBoost tree ensemble: flat arrays evaluated per row,
 *	  bit-exact with libxgboost's CPU predictor.
 *-------------------------------------------------------------------------
 */
#ifndef RISK_FOREST_H
#define RISK_FOREST_H

#include "model_json.h"

/* How margins become what XGBoost's predict() returns. */
typedef enum ForestOutput
{
	OUTPUT_IDENTITY,			/* regression, ranking, logitraw */
	OUTPUT_SIGMOID,				/* binary:logistic, reg:logistic */
	OUTPUT_EXP,					/* count:poisson, reg:gamma, reg:tweedie, survival:cox */
	OUTPUT_EXP_DOUBLE,			/* survival:aft: exp in double, then float */
	OUTPUT_HINGE,				/* binary:hinge: 1 when the margin is > 0 */
	OUTPUT_SOFTPROB,			/* multi:softprob: a probability per class */
	OUTPUT_SOFTMAX				/* multi:softmax: the index of the best class */
} ForestOutput;

/*
 * Perfect layout: every tree padded to the same depth D; node i of a tree has
 * children 2i+1 and 2i+2, so a walk is D compare-and-shift steps with no
 * branches.  The feature index already says where a missing value goes: it
 * points into the left-leaning or the right-leaning copy of the row.
 */
typedef struct PerfectNode
{
	uint32		feature;		/* index into the doubled row */
	float		threshold;		/* go right unless value < threshold */
} PerfectNode;

/*
 * General layout, for deep trees, categorical splits and unusual thresholds:
 * nodes with explicit children, walked with XGBoost's rules as written.
 */
typedef struct GeneralNode
{
	int32		left;			/* -1 for a leaf */
	int32		right;
	uint32		feature;
	uint16		default_left;
	uint16		categorical;	/* categories in cat_bits[value..] */
	float		value;			/* threshold; leaf value for a leaf */
	int32		cat_offset;		/* first uint32 word of the category bitset */
	int32		cat_words;
} GeneralNode;

typedef struct Forest
{
	int			num_features;
	int			num_groups;		/* margins per row: classes, or 1 */
	int			num_trees;
	ForestOutput output;
	float		base_margin;
	const char *objective;

	/* statistics, for describe_model */
	int			max_depth;
	int			num_nodes;
	int			num_leaves;

	int			num_blocks;		/* trees in groups walked side by side */
	int32	   *tree_group;		/* output group of each tree */
	float	   *tree_weight;	/* DART weights, NULL for plain gbtree */

	/* perfect layout (depth > 0), else general layout */
	int			depth;
	PerfectNode *nodes;			/* num_trees * (2^depth - 1) */
	float	   *leaves;			/* num_trees * 2^depth */

	GeneralNode *gnodes;		/* every tree, whatever the layout walked */
	int			num_gnodes;
	int32	   *roots;			/* first node of each tree in gnodes */
	uint32	   *cat_bits;

	/* for explanations (forest_explain.c); NULL when the model has no covers */
	float	   *gcover;			/* per general node: its training rows' hessian sum */
	double	   *gmean;			/* per general node: the cover-weighted mean of its leaves */
	/* for feature importance (forest_importance.c); NULL when the model has no gains */
	float	   *ggain;			/* per general node: its split's loss change */
} Forest;

/* Checks a parsed model and compiles it; ereports what is unsupported or broken. */
extern Forest *forest_compile(const ModelSpec *spec);

/* Margins (num_groups floats) of one row of num_features floats, NaN = missing. */
extern void forest_margins(const Forest *forest, const float *row, float *margins);

/* XGBoost's output transform, applied in place; returns the number of outputs. */
extern int	forest_transform(const Forest *forest, float *margins);

/* Class probabilities of a multi-class model, from its margins, in place. */
extern void forest_softmax(const Forest *forest, float *margins);

/* Which child of general node g a feature value goes to. */
extern bool forest_goes_left(const Forest *forest, const GeneralNode *g, float value);

/*
 * forest_explain.c: each feature's exact SHAP value (TreeSHAP) in the
 * margin of a single-output model, num_features values and then the bias
 * (the expected margin), as XGBoost's pred_contribs.
 */
extern bool forest_can_explain(const Forest *forest);
extern void forest_prepare_explain(Forest *forest);
extern void forest_contributions(const Forest *forest, const float *row, double *phi);

/* Names the objectives we evaluate, for messages. */
extern const char *forest_supported_objectives(void);

#endif							/* RISK_FOREST_H */

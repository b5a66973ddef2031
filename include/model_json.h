/*-------------------------------------------------------------------------
 * model_json.h
 *	  An XGBoost model as read from its JSON form: the raw trees and the
 *	  learner parameters, before any checking or compiling (forest.h).
 *-------------------------------------------------------------------------
 */
#ifndef RISK_MODEL_JSON_H
#define RISK_MODEL_JSON_H

/* A growable array of 4-byte numbers (int32 or float). */
typedef struct JsonNumArray
{
	void	   *data;
	int			len;
	int			cap;
} JsonNumArray;

#define NUMARRAY_INT(a)   ((int32 *) (a).data)
#define NUMARRAY_FLOAT(a) ((float *) (a).data)

/*
 * The parent XGBoost writes for a tree's root (its "no node" -1 with the
 * left-child bit masked off).
 */
#define TREE_NO_PARENT 0x7FFFFFFF

/* One tree exactly as XGBoost's JSON lists it: parallel arrays over nodes. */
typedef struct TreeSpec
{
	int			num_nodes;			/* tree_param.num_nodes */
	JsonNumArray left;				/* left_children, -1 for a leaf */
	JsonNumArray right;				/* right_children */
	JsonNumArray parents;			/* parents: the root's is TREE_NO_PARENT */
	JsonNumArray split_index;		/* split_indices: the feature */
	JsonNumArray split_cond;		/* split_conditions: threshold, or leaf value */
	JsonNumArray default_left;		/* 1 when a missing value goes left */
	JsonNumArray split_type;		/* 0 numerical, 1 categorical */
	JsonNumArray categories;		/* categorical splits: the categories ... */
	JsonNumArray cat_nodes;			/* ... of these nodes, */
	JsonNumArray cat_segments;		/* starting here in categories */
	JsonNumArray cat_sizes;			/* with this many each */
	JsonNumArray sum_hess;			/* sum_hessian: each node's cover (float) */
	JsonNumArray loss_chg;			/* loss_changes: each split's gain (float) */
} TreeSpec;

typedef struct ModelSpec
{
	char	   *objective;			/* learner.objective.name */
	char	   *booster;			/* gbtree, dart or gblinear */
	char	   *base_score;			/* learner_model_param.base_score, as text */
	int			num_feature;
	int			num_class;			/* 0 unless multi-class */
	int			num_target;
	int			size_leaf_vector;	/* gbtree_model_param: 0 but for vector leaves */
	int			version[3];			/* XGBoost version that saved it */

	int			num_trees;
	TreeSpec   *trees;
	JsonNumArray tree_info;			/* output group of each tree */
	JsonNumArray weight_drop;		/* DART: weight of each tree */
	JsonNumArray linear_weights;	/* gblinear */

	int			num_feature_names;
	char	  **feature_names;
	int			num_feature_types;
	char	  **feature_types;
} ModelSpec;

/* Parses XGBoost's JSON model text; ereports on malformed JSON. */
extern ModelSpec *model_json_parse(char *json, int len);

#endif							/* RISK_MODEL_JSON_H */

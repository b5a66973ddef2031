/*-------------------------------------------------------------------------
 * decision.h
 *	  A row's decision, the same in the scoring trigger and in risk.decide:
 *	  the thresholds' decision of its score, its rules, its reasons.
 *-------------------------------------------------------------------------
 */
#ifndef RISK_DECISION_H
#define RISK_DECISION_H

#include "access/htup.h"

#include "model_cache.h"
#include "rules.h"

#define MAX_REASONS 20

/* A row of risk.decision_thresholds. */
typedef struct Thresholds
{
	char		model[MODEL_NAME_MAX + 1];
	double		review;
	double		block;
	int			reasons;
} Thresholds;

/* A relation changed (the relcache callback): the thresholds perhaps. */
extern void decision_relation_changed(Oid relid);

/* The thresholds of a model (a copy), as committed before this statement; errors (P0002) when it has none. */
extern Thresholds decision_thresholds(const char *model);
/* A version's own thresholds (a row for "model@version"), else the model's. */
extern Thresholds decision_thresholds_of(const char *model, int32 version);

/* the longest key of risk.decision_thresholds: a name, or name@version */
#define THRESHOLDS_KEY_MAX (MODEL_NAME_MAX + 11)

static inline Decision
decision_by_thresholds(const Thresholds *t, double score)
{
	return score >= t->block ? DECISION_BLOCK : score >= t->review ? DECISION_REVIEW : DECISION_ALLOW;
}

/* What a row gets. */
typedef struct RowDecision
{
	Decision	decision;
	bool		by_rules;		/* an enforced rule with the decision's action hit */
	RuleOutcome *outcomes;		/* per rule of the set (NULL without rules) */
	char	  **errors;			/* the messages of rules that raised */
} RowDecision;

/* The model's score of a row of features (the trigger's, risk.score's). */
extern double decision_score(const CachedModel *model, const float *row);

/* The columns of a composite row (a row of the rule set's table), into values and nulls. */
extern void decision_row_columns(HeapTupleHeader h, Datum *values, bool *nulls);

/* Decides a row: its score's decision, then (rs not NULL) its rules. */
extern void decision_make(CompiledRuleSet *rs, const RuleInput *in, const Thresholds *t, RowDecision *out);

/* text[] of the keys of rules whose mode is `mode` and outcome `outcome` (priority order); NULL when none. */
extern ArrayType *decision_rule_keys(const CompiledRuleSet *rs, const RowDecision *d, RuleMode mode,
									 RuleOutcome outcome);

/*
 * The reasons, text[]: the descriptions of the enforced rules with the
 * decision's action that hit (when the rules decided), then for review and
 * block the names of the features pushing the score up the most; NULL when
 * there are none.  row holds the features, phi num_features + 1 doubles.
 */
extern ArrayType *decision_reasons(const CompiledRuleSet *rs, const RowDecision *d, CachedModel *model,
								   const float *row, double *phi, int k);

#endif							/* RISK_DECISION_H */

/*-------------------------------------------------------------------------
 * rules.h
 *	  Rules as data: a rule set's published version compiled against its
 *	  table and model (rules_compile.c), evaluated on a row (rules_eval.c),
 *	  combined with the thresholds' decision by one policy (rules_policy.c),
 *	  read from and written to the extension's tables (rules_catalog.c).
 *-------------------------------------------------------------------------
 */
#ifndef RISK_RULES_H
#define RISK_RULES_H

#include "access/tupdesc.h"
#include "nodes/execnodes.h"
#include "nodes/params.h"
#include "utils/timestamp.h"

#include "model_cache.h"

/* The search_path rules are compiled and run with. */
#define RULES_SEARCH_PATH "pg_catalog, pg_temp"

/* Decisions, in the order of their severity. */
typedef enum Decision
{
	DECISION_ALLOW = 0,
	DECISION_REVIEW = 1,
	DECISION_BLOCK = 2
} Decision;

typedef enum RuleMode
{
	RULE_ENFORCE = 0,
	RULE_SHADOW = 1,
	RULE_OFF = 2
} RuleMode;

/* What one rule gave on one row. */
typedef enum RuleOutcome
{
	OUTCOME_MISS = 0,			/* false or NULL */
	OUTCOME_HIT = 1,
	OUTCOME_ERROR = 2			/* raised an error: the row is decided without it */
} RuleOutcome;

extern const char *decision_name(Decision d);
extern bool decision_parse(const char *s, Decision *d);
extern const char *mode_name(RuleMode m);
extern bool mode_parse(const char *s, RuleMode *m);

/* ------------------------------------------------------------------------
 * The policy (rules_policy.c): no fmgr, no catalog
 * ------------------------------------------------------------------------
 */

/* What the policy needs of a rule. */
typedef struct RulePolicyRule
{
	Decision	action;
	RuleMode	mode;
} RulePolicyRule;

/*
 * The decision of a row: the thresholds' decision of its score, then the
 * enforced rules that hit, whatever their order:
 *   a block rule blocks;
 *   else an allow rule allows (the trusted lane: over the model and review rules);
 *   else a review rule raises an allow to review (a block by the model stays);
 *   else the thresholds decide.
 * Shadow and off rules, misses and errors never act.  *by_rules is set when
 * an enforced rule with the decision's action hit (its description leads
 * the reasons).
 */
extern Decision rules_policy(const RulePolicyRule *rules, const RuleOutcome *outcomes, int n,
							 Decision by_thresholds, bool *by_rules);

/* ------------------------------------------------------------------------
 * Compiled rule sets (rules_compile.c, rules_eval.c)
 * ------------------------------------------------------------------------
 */

/* A rule as published. */
typedef struct RuleDef
{
	char	   *key;
	char	   *expression;
	Decision	action;
	RuleMode	mode;
	int32		priority;
	char	   *description;
} RuleDef;

/* What a rule set's expressions may name. */
typedef struct RuleContext
{
	const char *rule_set;
	TupleDesc	desc;			/* the table's columns */
	const char *relname;
	const char *model;
	int			num_features;
	char	  **feature_names;	/* the model's */
} RuleContext;

typedef struct CompiledRule
{
	RuleDef		def;
	ExprState  *state;			/* NULL when it does not compile today */
	char	   *broken;			/* then: why */
	bool		contained;		/* its errors are caught without a subtransaction */
} CompiledRule;

/*
 * A version compiled against one table and one version of its model, in
 * its own memory context; the rules in the order of their priority, then
 * key.  Parameters: the table's columns by attribute number (1 to natts), then the
 * features, the score and the time of the decision.
 */
typedef struct CompiledRuleSet
{
	char		name[64];
	int32		version;
	Oid			relid;
	char		model[64];
	RegistryStamp model_stamp;	/* the model's registry row: a version number can come again */
	Oid			userid;			/* compiled as: EXECUTE was checked for this role */
	int			nrules;
	CompiledRule *rules;
	RulePolicyRule *policy;		/* each rule's action and mode, for rules_policy */
	int			natts;
	int			num_features;
	ParamListInfo params;
	ExprContext *econtext;
	char	  **lists;			/* list names the rules name as constants */
	int			nlists;
	bool		any_uncontained;
	MemoryContext mcxt;
	int			pins;
	bool		retired;
} CompiledRuleSet;

#define RULE_PARAM_FEATURE(rs, i)	((rs)->natts + 1 + (i))
#define RULE_PARAM_SCORE(rs)		((rs)->natts + (rs)->num_features + 1)
#define RULE_PARAM_AT(rs)			((rs)->natts + (rs)->num_features + 2)

/*
 * Compiles one expression in a context; raises the error (with the rule's
 * key in its message) when it is not a valid rule.  The result is a planned
 * boolean expression over the parameters; *lists gets the constant list
 * names it reads (a List of String nodes), *contained whether it calls only
 * immutable built-in functions on built-in scalar types and risk.in_list
 * on constant lists.
 */
extern Expr *rules_compile_expression(const RuleContext *cx, const char *key, const char *expression,
									  List **lists, bool *contained);

/*
 * A compiled rule set, in a new memory context under `parent`.  A rule that
 * no longer compiles (a feature or column gone since it was published) is
 * kept as broken: it errors on every row, as a rule that raises does.
 */
extern CompiledRuleSet *rules_compile_set(const RuleContext *cx, int32 version, const RuleDef *defs, int n,
										  MemoryContext parent);

/* The values a row gives the rules. */
typedef struct RuleInput
{
	Datum	   *values;			/* the table's columns (natts), by attribute number - 1 */
	bool	   *nulls;
	const float *features;		/* num_features, NaN for missing */
	double		score;
	TimestampTz at;
} RuleInput;

/*
 * Evaluates every enforce and shadow rule on a row, in one pass, into
 * outcomes (nrules, OUTCOME_MISS for off rules); errors[i] gets the message
 * of a rule that raised (palloc'd in the current context) when errors is
 * not NULL.  A rule's error never escapes, except a cancel, a lack of
 * resources or an internal error, and except the error of a rule that is
 * not contained when subtransactions cannot start (in a parallel worker).
 */
extern void rules_evaluate(CompiledRuleSet *rs, const RuleInput *in, RuleOutcome *outcomes, char **errors);

/*
 * Whether an error raised by a rule (or while compiling it) is the rule's
 * own, to record: not a cancel, a lack of resources, a system or internal
 * error, a serialization failure or deadlock, a lock not available, or a
 * transaction state error, which are raised.
 */
extern bool rules_error_is_the_rules(const ErrorData *e);

/*
 * Runs fn(arg) in a subtransaction: true when it returned; false when it
 * raised an error that is the rules' own (then *error, copied into the
 * caller's memory context).  Any other error is raised again.  Not in a
 * parallel worker, which cannot start subtransactions.
 */
extern bool rules_try(void (*fn) (void *arg), void *arg, ErrorData **error);

/* ------------------------------------------------------------------------
 * The rule sets' tables (rules_catalog.c)
 * ------------------------------------------------------------------------
 */

/* A row of risk.rule_sets. */
typedef struct RuleSetInfo
{
	char		name[64];
	Oid			relid;
	char		model[64];
	int32		current;		/* 0: nothing published yet */
	bool		require_approval;
} RuleSetInfo;

/* A relation changed (the relcache callback): the rule sets perhaps. */
extern void rules_relation_changed(Oid relid);

/* The rule set of that name, as committed before this statement; errors (42704) when there is none. */
extern RuleSetInfo rules_set_info(const char *name);

/*
 * A version of a rule set compiled against its table, or a partition of it
 * (relid, desc), and a
 * pinned version of its model, from this backend's cache; pinned until
 * rules_unpin.  Errors (42704) when the version does not exist.
 */
extern CompiledRuleSet *rules_pin(const RuleSetInfo *set, int32 version, Oid relid, TupleDesc desc, const char *relname,
								  const CachedModel *model);
extern void rules_unpin(CompiledRuleSet *rs);

/*
 * The draft of a rule set compiled, not cached (rules_free when done);
 * read as the caller.  Raises the first invalid rule's error, as publishing would.
 */
extern CompiledRuleSet *rules_compile_draft(const RuleSetInfo *set, TupleDesc desc, const char *relname,
											const CachedModel *model, MemoryContext parent);
extern void rules_free(CompiledRuleSet *rs);

/* Raises the first error of the draft (version 0) or of a version, validated as publishing would. */
extern void rules_validate(const char *set, int32 version);
/* Unpins *holder (and sets it to NULL) when mcxt is reset or deleted. */
extern void rules_unpin_at_reset(MemoryContext mcxt, MemoryContextCallback *cb, CompiledRuleSet **holder);

#endif							/* RISK_RULES_H */

/*-------------------------------------------------------------------------
 * rules_eval.c
 *	  Evaluates every enforce and shadow rule of a compiled set on one row,
 *	  in one pass, and keeps a rule's error from aborting the row.
 *
 * A rule that raises (a division by zero in an analyst's expression) gives
 * OUTCOME_ERROR and the row is decided without it.  Rules that call only
 * immutable built-in functions on built-in scalar types, and risk.in_list
 * on constant lists preloaded before the rules run (most rules:
 * comparisons, arithmetic, CASE, lists) are "contained": their errors leave
 * nothing but memory behind (no SPI, lock, buffer or snapshot), so they
 * are caught without a subtransaction and cost nothing extra.  The other
 * rules run together in one subtransaction per row, with the search_path
 * they were compiled with; if it fails, each runs again in its own to find
 * which raised.  A parallel worker cannot start subtransactions: there,
 * the error of a rule that is not contained is raised.  Cancels, lack of
 * resources, system and internal errors, serialization failures and
 * unavailable locks are always raised (rules_error_is_the_rules).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "lists.h"
#include "rules.h"

bool
rules_error_is_the_rules(const ErrorData *e)
{
	int			c = ERRCODE_TO_CATEGORY(e->sqlerrcode);

	if (e->elevel > ERROR)
		return false;
	return c != ERRCODE_TO_CATEGORY(ERRCODE_OPERATOR_INTERVENTION) &&	/* 57: cancel, shutdown */
		c != ERRCODE_TO_CATEGORY(ERRCODE_INSUFFICIENT_RESOURCES) && /* 53 */
		c != ERRCODE_TO_CATEGORY(ERRCODE_SYSTEM_ERROR) &&	/* 58 */
		c != ERRCODE_TO_CATEGORY(ERRCODE_INTERNAL_ERROR) && /* XX */
		c != ERRCODE_TO_CATEGORY(ERRCODE_T_R_SERIALIZATION_FAILURE) &&	/* 40 */
		c != ERRCODE_TO_CATEGORY(ERRCODE_INVALID_TRANSACTION_STATE) &&	/* 25 */
		e->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE;	/* 55P03 */
}

static inline RuleOutcome
eval_one(CompiledRuleSet *rs, CompiledRule *r)
{
	bool		isnull;
	Datum		v = ExecEvalExprSwitchContext(r->state, rs->econtext, &isnull);

	return !isnull && DatumGetBool(v) ? OUTCOME_HIT : OUTCOME_MISS;
}

static inline bool
evaluated(const CompiledRule *r)
{
	return r->def.mode != RULE_OFF;
}

/* The contained rules: one PG_TRY, resumed after the rule that raised. */
static void
eval_contained(CompiledRuleSet *rs, RuleOutcome *outcomes, char **errors)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			userid;
	int			sec_context;
	volatile int i = 0;

	GetUserIdAndSecContext(&userid, &sec_context);
	/* contained rules' risk.in_list only looks up: their lists were preloaded */
	lists_lookup_only = true;
	while (i < rs->nrules)
	{
		PG_TRY();
		{
			for (; i < rs->nrules; i++)
			{
				CompiledRule *r = &rs->rules[i];

				if (!evaluated(r) || r->state == NULL || !r->contained)
					continue;
				outcomes[i] = eval_one(rs, r);
			}
		}
		PG_CATCH();
		{
			ErrorData  *e;

			MemoryContextSwitchTo(caller);
			e = CopyErrorData();
			if (!rules_error_is_the_rules(e))
			{
				lists_lookup_only = false;
				PG_RE_THROW();
			}
			FlushErrorState();
			SetUserIdAndSecContext(userid, sec_context);
			outcomes[i] = OUTCOME_ERROR;
			if (errors)
				errors[i] = e->message;
			i++;
		}
		PG_END_TRY();
	}
	lists_lookup_only = false;
}

bool
rules_try(void (*fn) (void *arg), void *arg, ErrorData **error)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (!rules_error_is_the_rules(e))
			ReThrowError(e);
		*error = e;
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/* The rules that are not contained (or only the one), for rules_try. */
typedef struct Uncontained
{
	CompiledRuleSet *rs;
	RuleOutcome *outcomes;
	int			only;			/* -1: all */
} Uncontained;

static void
eval_uncontained_rules(void *arg)
{
	Uncontained *u = (Uncontained *) arg;

	for (int i = 0; i < u->rs->nrules; i++)
	{
		CompiledRule *r = &u->rs->rules[i];

		if (!evaluated(r) || r->state == NULL || r->contained || (u->only >= 0 && i != u->only))
			continue;
		u->outcomes[i] = eval_one(u->rs, r);
	}
}

static void eval_uncontained(CompiledRuleSet *rs, RuleOutcome *outcomes, char **errors);

void
rules_evaluate(CompiledRuleSet *rs, const RuleInput *in, RuleOutcome *outcomes, char **errors)
{
	ParamExternData *p = rs->params->params;
	int			i;
	int			level;

	/* lists first: in_list then only looks up */
	for (i = 0; i < rs->nlists; i++)
		lists_preload(rs->lists[i]);
	for (i = 0; i < rs->natts; i++)
	{
		p[i].value = in->values[i];
		p[i].isnull = in->nulls[i];
	}
	for (int f = 0; f < rs->num_features; f++)
	{
		ParamExternData *x = &p[RULE_PARAM_FEATURE(rs, f) - 1];

		x->isnull = isnan(in->features[f]);
		x->value = Float8GetDatum(x->isnull ? 0 : (double) in->features[f]);
	}
	p[RULE_PARAM_SCORE(rs) - 1].value = Float8GetDatum(in->score);
	p[RULE_PARAM_SCORE(rs) - 1].isnull = isnan(in->score);
	p[RULE_PARAM_AT(rs) - 1].value = TimestampTzGetDatum(in->at);
	p[RULE_PARAM_AT(rs) - 1].isnull = false;
	ResetExprContext(rs->econtext);

	for (i = 0; i < rs->nrules; i++)
	{
		CompiledRule *r = &rs->rules[i];

		outcomes[i] = OUTCOME_MISS;
		if (errors)
			errors[i] = NULL;
		if (evaluated(r) && r->state == NULL)
		{
			outcomes[i] = OUTCOME_ERROR;	/* it no longer compiles */
			if (errors)
				errors[i] = r->broken;
		}
	}
	eval_contained(rs, outcomes, errors);
	if (!rs->any_uncontained)
		return;
	/* what the other rules call is resolved as when they were compiled, not by the session's path */
	level = NewGUCNestLevel();
	(void) set_config_option("search_path", RULES_SEARCH_PATH, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	eval_uncontained(rs, outcomes, errors);
	AtEOXact_GUC(true, level);
}

/* The rules that are not contained: in one subtransaction, or one each when one raises. */
static void
eval_uncontained(CompiledRuleSet *rs, RuleOutcome *outcomes, char **errors)
{
	int			i;

	if (IsInParallelMode())
	{
		/* no subtransactions here: errors of these rules are raised */
		for (i = 0; i < rs->nrules; i++)
		{
			CompiledRule *r = &rs->rules[i];

			if (evaluated(r) && r->state != NULL && !r->contained)
				outcomes[i] = eval_one(rs, r);
		}
		return;
	}
	{
		ErrorData  *e = NULL;
		Uncontained u = {rs, outcomes, -1};

		if (rules_try(eval_uncontained_rules, &u, &e))
			return;
		for (i = 0; i < rs->nrules; i++)
		{
			CompiledRule *r = &rs->rules[i];

			if (!evaluated(r) || r->state == NULL || r->contained)
				continue;
			outcomes[i] = OUTCOME_MISS;
			u.only = i;
			if (!rules_try(eval_uncontained_rules, &u, &e))
			{
				outcomes[i] = OUTCOME_ERROR;
				if (errors)
					errors[i] = e->message;
			}
		}
	}
}

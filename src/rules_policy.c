/*-------------------------------------------------------------------------
 * rules_policy.c
 *	  How a row's decision comes from its score and its rules: one policy,
 *	  independent of the rules' order (see rules.h).
 *
 * Block rules win over everything: they state facts (a device on the
 * blocked list) that no trusted lane should override, and account takeover
 * strikes exactly the trusted accounts an allow list holds.  Allow rules win
 * over the model and over review rules: that is what a trusted lane is for.
 * Review rules only raise: a row the model blocks stays blocked.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "rules.h"

static const char *const decisions[] = {"allow", "review", "block"};
static const char *const modes[] = {"enforce", "shadow", "off"};

const char *
decision_name(Decision d)
{
	return decisions[d];
}

bool
decision_parse(const char *s, Decision *d)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, decisions[i]) == 0)
		{
			*d = (Decision) i;
			return true;
		}
	return false;
}

const char *
mode_name(RuleMode m)
{
	return modes[m];
}

bool
mode_parse(const char *s, RuleMode *m)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, modes[i]) == 0)
		{
			*m = (RuleMode) i;
			return true;
		}
	return false;
}

Decision
rules_policy(const RulePolicyRule *rules, const RuleOutcome *outcomes, int n,
			 Decision by_thresholds, bool *by_rules)
{
	bool		hit[3] = {false, false, false};
	Decision	d;

	for (int i = 0; i < n; i++)
		if (rules[i].mode == RULE_ENFORCE && outcomes[i] == OUTCOME_HIT)
			hit[rules[i].action] = true;
	if (hit[DECISION_BLOCK])
		d = DECISION_BLOCK;
	else if (hit[DECISION_ALLOW])
		d = DECISION_ALLOW;
	else if (hit[DECISION_REVIEW] && by_thresholds < DECISION_REVIEW)
		d = DECISION_REVIEW;
	else
		d = by_thresholds;
	*by_rules = hit[d];
	return d;
}

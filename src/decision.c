/*-------------------------------------------------------------------------
 * decision.c
 *	  A row's decision, shared by the scoring trigger and risk.decide: the
 *	  decision thresholds (risk.decision_thresholds, cached per backend),
 *	  the rules' outcomes combined by rules_policy, the arrays the row
 *	  records and its reasons.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "catalog.h"
#include "decision.h"
#include "forest.h"

/* ------------------------------------------------------------------------
 * Decision thresholds, cached per backend
 * ------------------------------------------------------------------------
 */

static HTAB *thresholds = NULL;
static bool thresholds_valid = false;
static Oid	thresholds_relid = InvalidOid;

void
decision_relation_changed(Oid relid)
{
	if (relid == InvalidOid || relid == thresholds_relid || thresholds_relid == InvalidOid)
		thresholds_valid = false;
}

/* Reads risk.decision_thresholds into the cache, as the current user. */
static void
thresholds_load(void)
{
	HASHCTL		ctl;

	if (thresholds)
		hash_destroy(thresholds);
	thresholds = NULL;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = THRESHOLDS_KEY_MAX + 1;
	ctl.entrysize = sizeof(Thresholds);
	ctl.hcxt = TopMemoryContext;
	thresholds = hash_create("risk decision thresholds", 16, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	thresholds_relid = catalog_read_relid("decision_thresholds");
	/* valid from now: a change while we read makes us read again */
	thresholds_valid = true;
	catalog_read(psprintf("SELECT model, review, block, reasons FROM %s", catalog_read_name("decision_thresholds")),
				 NULL, &thresholds_valid);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *name = TextDatumGetCString(SPI_getbinval(t, d, 1, &isnull));
		Thresholds *e;
		bool		found;

		if (strlen(name) > THRESHOLDS_KEY_MAX)
			continue;
		e = hash_search(thresholds, name, HASH_ENTER, &found);
		e->review = DatumGetFloat8(SPI_getbinval(t, d, 2, &isnull));
		e->block = DatumGetFloat8(SPI_getbinval(t, d, 3, &isnull));
		e->reasons = DatumGetInt32(SPI_getbinval(t, d, 4, &isnull));
	}
	SPI_finish();
}

Thresholds
decision_thresholds_of(const char *model, int32 version)
{
	char		key[THRESHOLDS_KEY_MAX + 1];
	const Thresholds *t;

	if (!thresholds_valid)
		thresholds_load();
	snprintf(key, sizeof(key), "%s@%d", model, version);
	t = hash_search(thresholds, key, HASH_FIND, NULL);
	return t ? *t : decision_thresholds(model);
}

Thresholds
decision_thresholds(const char *model)
{
	const Thresholds *t;

	if (!thresholds_valid)
		thresholds_load();
	t = hash_search(thresholds, model, HASH_FIND, NULL);
	if (t == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("model \"%s\" has no decision thresholds", model),
				 errhint("INSERT INTO " RISK_SCHEMA ".decision_thresholds (model, review, block) VALUES (%s, 0.5, 0.9);",
						 quote_literal_cstr(model))));
	return *t;
}

/* ------------------------------------------------------------------------
 * A row's decision
 * ------------------------------------------------------------------------
 */

double
decision_score(const CachedModel *model, const float *row)
{
	float		margin;

	forest_margins(model->forest, row, &margin);
	forest_transform(model->forest, &margin);
	return margin;
}

void
decision_row_columns(HeapTupleHeader h, Datum *values, bool *nulls)
{
	TupleDesc	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(h), HeapTupleHeaderGetTypMod(h));
	HeapTupleData tuple;

	tuple.t_len = HeapTupleHeaderGetDatumLength(h);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = h;
	heap_deform_tuple(&tuple, desc, values, nulls);
	ReleaseTupleDesc(desc);
}

void
decision_make(CompiledRuleSet *rs, const RuleInput *in, const Thresholds *t, RowDecision *out)
{
	Decision	by_thresholds = decision_by_thresholds(t, in->score);

	out->outcomes = NULL;
	out->errors = NULL;
	out->by_rules = false;
	if (rs == NULL || rs->nrules == 0)
	{
		out->decision = by_thresholds;
		return;
	}
	out->outcomes = palloc(sizeof(RuleOutcome) * rs->nrules);
	out->errors = palloc(sizeof(char *) * rs->nrules);
	rules_evaluate(rs, in, out->outcomes, out->errors);
	out->decision = rules_policy(rs->policy, out->outcomes, rs->nrules, by_thresholds, &out->by_rules);
}

ArrayType *
decision_rule_keys(const CompiledRuleSet *rs, const RowDecision *d, RuleMode mode, RuleOutcome outcome)
{
	Datum	   *keys;
	int			n = 0;

	if (rs == NULL || d->outcomes == NULL)
		return NULL;
	keys = palloc(sizeof(Datum) * rs->nrules);
	for (int i = 0; i < rs->nrules; i++)
		if (d->outcomes[i] == outcome && (outcome == OUTCOME_ERROR || rs->rules[i].def.mode == mode))
			keys[n++] = CStringGetTextDatum(rs->rules[i].def.key);
	if (n == 0)
		return NULL;
	return construct_array(keys, n, TEXTOID, -1, false, TYPALIGN_INT);
}

ArrayType *
decision_reasons(const CompiledRuleSet *rs, const RowDecision *d, CachedModel *model,
				 const float *row, double *phi, int k)
{
	const Forest *f = model->forest;
	int			max = (rs ? rs->nrules : 0) + Max(k, 0);
	Datum	   *reasons = palloc(sizeof(Datum) * Max(max, 1));
	int			n = 0;

	if (d->by_rules)
		for (int i = 0; i < rs->nrules; i++)
			if (d->outcomes[i] == OUTCOME_HIT && rs->rules[i].def.mode == RULE_ENFORCE &&
				rs->rules[i].def.action == d->decision)
				reasons[n++] = CStringGetTextDatum(rs->rules[i].def.description);
	if (d->decision != DECISION_ALLOW && k > 0)
	{
		bool	   *taken;
		int			features = 0;

		if (!forest_can_explain(f))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("model \"%s\" has no node covers (sum_hessian), which reasons need", model->name)));
		forest_contributions(f, row, phi);
		taken = palloc0(sizeof(bool) * f->num_features);
		while (features < k)
		{
			int			best = -1;

			for (int i = 0; i < f->num_features; i++)
				if (!taken[i] && phi[i] > 0 && (best < 0 || phi[i] > phi[best]))
					best = i;
			if (best < 0)
				break;
			taken[best] = true;
			reasons[n++] = CStringGetTextDatum(model->feature_names[best]);
			features++;
		}
	}
	/* held rows get an array (perhaps empty) whenever reasons are asked for */
	if (n == 0 && !(d->decision != DECISION_ALLOW && k > 0))
		return NULL;
	return construct_array(reasons, n, TEXTOID, -1, false, TYPALIGN_INT);
}

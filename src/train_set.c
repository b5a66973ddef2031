/*-------------------------------------------------------------------------
 * train_set.c
 *	  The training set of risk.train as plain C: the canonical order of its
 *	  rows, their fingerprint, and the early-stopping rule.  See train.h.
 *
 * early_stop_* and eval_line_entry also run in the training child, where
 * no PostgreSQL function may be called: they allocate nothing.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/cryptohash.h"
#include "common/sha2.h"

#include "train.h"

/* -0 as 0, every NaN as the one missing value: equal values have equal bits */
static inline float
canonical(float v)
{
	if (isnan(v))
		return NAN;
	return v == 0.0f ? 0.0f : v;
}

/* ascending, a missing value (NaN) after every number */
static inline int
cmp_value(float a, float b)
{
	bool		na = isnan(a);
	bool		nb = isnan(b);

	if (na || nb)
		return (int) na - (int) nb;
	return (a > b) - (a < b);
}

static int
cmp_rows(const void *pa, const void *pb, void *arg)
{
	const TrainSet *t = (const TrainSet *) arg;
	int64		i = *(const int64 *) pa;
	int64		j = *(const int64 *) pb;
	const float *xi;
	const float *xj;
	int			c;

	if (t->valid[i] != t->valid[j])
		return (int) t->valid[i] - (int) t->valid[j];
	if ((c = cmp_value(t->label[i], t->label[j])) != 0)
		return c;
	if ((c = cmp_value(t->weight[i], t->weight[j])) != 0)
		return c;
	xi = t->x + i * t->num_features;
	xj = t->x + j * t->num_features;
	for (int f = 0; f < t->num_features; f++)
		if ((c = cmp_value(xi[f], xj[f])) != 0)
			return c;
	return 0;
}

void
train_set_sort(TrainSet *t)
{
	int64		n = t->num_rows;
	int			nf = t->num_features;
	int64	   *perm = palloc_extended(sizeof(int64) * Max(n, 1), MCXT_ALLOC_HUGE);
	float	   *row = palloc(sizeof(float) * Max(nf, 1));

	for (int64 i = 0; i < n * nf; i++)
		t->x[i] = canonical(t->x[i]);
	for (int64 i = 0; i < n; i++)
	{
		t->label[i] = canonical(t->label[i]);
		t->weight[i] = canonical(t->weight[i]);
		perm[i] = i;
	}
	qsort_arg(perm, n, sizeof(int64), cmp_rows, t);

	/*
	 * Row k of the result is row perm[k] of the input: follow each cycle of
	 * the permutation once, moving rows through one spare row.
	 */
	for (int64 start = 0; start < n; start++)
	{
		int64		k = start;
		float		label,
					weight;
		bool		valid;

		if (perm[start] < 0 || perm[start] == start)
			continue;
		memcpy(row, t->x + start * nf, sizeof(float) * nf);
		label = t->label[start];
		weight = t->weight[start];
		valid = t->valid[start];
		for (;;)
		{
			int64		from = perm[k];

			perm[k] = -1;
			if (from == start)
			{
				memcpy(t->x + k * nf, row, sizeof(float) * nf);
				t->label[k] = label;
				t->weight[k] = weight;
				t->valid[k] = valid;
				break;
			}
			memcpy(t->x + k * nf, t->x + from * nf, sizeof(float) * nf);
			t->label[k] = t->label[from];
			t->weight[k] = t->weight[from];
			t->valid[k] = t->valid[from];
			k = from;
		}
	}
	pfree(perm);
	pfree(row);

	t->num_train = 0;
	while (t->num_train < n && !t->valid[t->num_train])
		t->num_train++;
	t->num_valid = n - t->num_train;
}

static void
put_float(uint8 *out, float v)
{
	uint32		bits;

	if (isnan(v))
		bits = 0x7fc00000;
	else
		memcpy(&bits, &v, sizeof(bits));
	out[0] = bits & 0xff;
	out[1] = (bits >> 8) & 0xff;
	out[2] = (bits >> 16) & 0xff;
	out[3] = (bits >> 24) & 0xff;
}

bool
train_set_fingerprint(const TrainSet *t, char *hex)
{
	int			nf = t->num_features;
	size_t		row_len = 1 + 4 * ((size_t) nf + 2);
	uint8	   *buf = palloc(row_len);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	bool		ok = ctx != NULL && pg_cryptohash_init(ctx) == 0;

	for (int64 i = 0; ok && i < t->num_rows; i++)
	{
		const float *x = t->x + i * nf;

		buf[0] = t->valid[i] ? 1 : 0;
		put_float(buf + 1, t->label[i]);
		put_float(buf + 5, t->weight[i]);
		for (int f = 0; f < nf; f++)
			put_float(buf + 9 + 4 * f, x[f]);
		ok = pg_cryptohash_update(ctx, buf, row_len) == 0;
	}
	ok = ok && pg_cryptohash_final(ctx, digest, sizeof(digest)) == 0;
	if (ctx)
		pg_cryptohash_free(ctx);
	pfree(buf);
	for (int i = 0; ok && i < PG_SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return ok;
}

int64
train_set_positives(const TrainSet *t, bool valid, double *weight)
{
	int64		from = valid ? t->num_train : 0;
	int64		to = valid ? t->num_rows : t->num_train;
	int64		n = 0;
	double		w = 0;

	for (int64 i = from; i < to; i++)
		if (t->label[i] == 1.0f)
		{
			n++;
			w += t->weight[i];
		}
	if (weight)
		*weight = w;
	return n;
}

/* ---- early stopping ---- */

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

void
early_stop_init(EarlyStop *e, int patience, const char *metric)
{
	static const char *const maximised[] = {"auc", "aucpr", "map", "ndcg"};

	memset(e, 0, sizeof(*e));
	e->patience = patience;
	e->best_round = -1;
	/* python3-xgboost: any metric starting with one of these, except mape */
	if (strcmp(metric, "mape") != 0)
		for (int i = 0; i < lengthof(maximised); i++)
			if (starts_with(metric, maximised[i]))
				e->maximize = true;
}

bool
early_stop_update(EarlyStop *e, int round, double score)
{
	bool		better;

	if (!e->started)
	{
		e->started = true;
		e->best_round = round;
		e->best_score = score;
		e->since_best = 0;
	}
	else
	{
		better = e->maximize ? score > e->best_score : score < e->best_score;
		if (better)
		{
			e->best_round = round;
			e->best_score = score;
			e->since_best = 0;
		}
		else
			e->since_best++;
	}
	return e->since_best >= e->patience;
}

bool
eval_line_entry(const char *line, int i, char *name, int name_size, double *value)
{
	const char *p = strchr(line, '\t');

	for (; p != NULL; p = strchr(p + 1, '\t'))
	{
		const char *colon;
		const char *end;
		size_t		len;

		if (i-- > 0)
			continue;
		p++;
		colon = strrchr(p, ':');
		end = strchr(p, '\t');
		if (end == NULL)
			end = p + strlen(p);
		/* the last ':' before the next tab: metric names may hold one (ndcg@3-) */
		colon = NULL;
		for (const char *q = p; q < end; q++)
			if (*q == ':')
				colon = q;
		if (colon == NULL)
			return false;
		len = Min((size_t) (colon - p), (size_t) name_size - 1);
		memcpy(name, p, len);
		name[len] = '\0';
		*value = strtod(colon + 1, NULL);
		return true;
	}
	return false;
}

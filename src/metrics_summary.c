/*-------------------------------------------------------------------------
 * metrics_summary.c
 *	  risk.score_summary: a bounded, mergeable summary of scored and
 *	  labelled rows, to keep in a materialized view (one per day, shop,
 *	  ...) and roll up with risk.rollup without the rows.  The rank metrics
 *	  and curves read it as the exact aggregates read rows; the losses are
 *	  kept exactly.
 *
 * Scores must be probabilities.  The summary cuts [0, 1] into 1,282 fixed
 * bins on the logit scale, log(p / (1 - p)): 1,280 bins 1/32 wide over
 * [-20, 20), and one bin below (p < 2.1e-9, 0 included) and one above
 * (p >= 1 - 2.1e-9, 1 included), so that scores near 0 and near 1, where a
 * fraud model puts most rows, keep their order.  A bin keeps the weight of
 * each class, its rows and its weighted sum of scores; the metrics treat
 * its rows as tied at their mean score.  Hence the stated error: AUC is off
 * by at most half the share of positive-negative pairs that share a bin
 * (risk.auc_error_bound), and KS by at most the largest share of either
 * class in one bin.  Log loss and the Brier score are sums over the rows,
 * exact to rounding.
 *
 * The same type is the aggregates' state (so that Citus can split them:
 * its partial states travel through the text form).  While aggregating,
 * the state is dense (every bin, 41 kB, changed in place); stored values
 * keep only their non-empty bins (34 bytes each at most, 48 more).
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "metrics.h"

#define SUMMARY_VERSION 1
#define LOGIT_RANGE 20			/* inner bins cover logits [-20, 20) */
#define BINS_PER_UNIT 32
#define INNER_BINS (2 * LOGIT_RANGE * BINS_PER_UNIT)
#define SUMMARY_BINS (INNER_BINS + 2)

#define MAX_ROWS 9007199254740992.0	/* 2^53: rows counted exactly */

#define SUMMARY_WEIGHTED 0x01	/* built with a weight argument */
#define SUMMARY_DENSE 0x02		/* every bin stored, no index */

typedef struct SummaryBin
{
	double		weight[2];		/* negatives, positives */
	double		rows;
	double		score_sum;		/* weighted */
} SummaryBin;

typedef struct ScoreSummary
{
	int32		vl_len_;
	uint8		version;
	uint8		flags;
	uint16		nbins;			/* bins stored */
	double		loss[L_LEN];	/* weight, log loss and Brier sums */
	/* sparse: uint16 index[nbins], padded to 8 bytes; then the bins */
} ScoreSummary;

#define INDEX_BYTES(n) (((n) * sizeof(uint16) + 7) & ~(Size) 7)

static inline bool
summary_dense(const ScoreSummary *s)
{
	return (s->flags & SUMMARY_DENSE) != 0;
}

static inline uint16 *
summary_index(ScoreSummary *s)
{
	return (uint16 *) ((char *) s + sizeof(ScoreSummary));
}

static inline SummaryBin *
summary_bins(ScoreSummary *s)
{
	return (SummaryBin *) ((char *) s + sizeof(ScoreSummary) +
						   (summary_dense(s) ? 0 : INDEX_BYTES(s->nbins)));
}

/* The bin of the i-th stored entry. */
static inline int
summary_bin_at(ScoreSummary *s, int i)
{
	return summary_dense(s) ? i : summary_index(s)[i];
}

static Size
summary_size(bool dense, int nbins)
{
	return sizeof(ScoreSummary) + (dense ? 0 : INDEX_BYTES(nbins)) + sizeof(SummaryBin) * nbins;
}

static ScoreSummary *
summary_new(bool dense, int nbins, bool weighted)
{
	ScoreSummary *s = palloc0(summary_size(dense, nbins));

	SET_VARSIZE(s, summary_size(dense, nbins));
	s->version = SUMMARY_VERSION;
	s->flags = (dense ? SUMMARY_DENSE : 0) | (weighted ? SUMMARY_WEIGHTED : 0);
	s->nbins = nbins;
	return s;
}

/* The bin of a probability. */
static int
score_bin(double p)
{
	double		z;

	if (p <= 0)
		return 0;
	if (p >= 1)
		return SUMMARY_BINS - 1;
	z = log(p) - log1p(-p);
	if (z < -LOGIT_RANGE)
		return 0;
	if (z >= LOGIT_RANGE)
		return SUMMARY_BINS - 1;
	return Min((int) floor((z + LOGIT_RANGE) * BINS_PER_UNIT), INNER_BINS - 1) + 1;
}

/* The probability at a logit edge of the inner bins (edge 0: -20). */
static double
edge_probability(int edge)
{
	return 1 / (1 + exp(-((double) edge / BINS_PER_UNIT - LOGIT_RANGE)));
}

/*
 * The score the rows of a bin are tied at: their (weighted) mean, kept
 * within the bin's edges against rounding (the mean of rows all at 0.5 must
 * not fall below 0.5), or the bin's middle when it has no weight.
 */
static double
bin_score(int bin, const SummaryBin *b)
{
	double		lo = bin == 0 ? 0 : edge_probability(bin - 1);
	double		hi = bin == SUMMARY_BINS - 1 ? 1 : edge_probability(bin);
	double		w = b->weight[0] + b->weight[1];

	if (w > 0)
		return Min(Max(b->score_sum / w, lo), hi);
	if (bin == 0 || bin == SUMMARY_BINS - 1)
		return bin == 0 ? 0 : 1;
	return 1 / (1 + exp(-(((double) bin - 0.5) / BINS_PER_UNIT - LOGIT_RANGE)));
}

static void pg_attribute_noreturn()
summary_corrupted(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("risk.score_summary value is corrupted or of an unknown version"),
			 errhint("Rebuild it with risk.score_summary from the rows.")));
}

/*
 * A summary from a function argument, checked: a value of another version,
 * of an inconsistent size or with bins out of order is refused.
 */
static ScoreSummary *
summary_arg(FunctionCallInfo fcinfo, int argno)
{
	ScoreSummary *s = (ScoreSummary *) PG_DETOAST_DATUM(PG_GETARG_DATUM(argno));

	if (VARSIZE(s) < sizeof(ScoreSummary) || s->version != SUMMARY_VERSION ||
		s->nbins > SUMMARY_BINS || (summary_dense(s) && s->nbins != SUMMARY_BINS) ||
		VARSIZE(s) != summary_size(summary_dense(s), s->nbins))
		summary_corrupted();
	if (!summary_dense(s))
	{
		uint16	   *index = summary_index(s);

		for (int i = 0; i < s->nbins; i++)
			if (index[i] >= SUMMARY_BINS || (i > 0 && index[i] <= index[i - 1]))
				summary_corrupted();
	}
	return s;
}

/* ------------------------------------------------------------------------
 * Aggregating: risk.score_summary(score, label[, weight]) and risk.rollup
 * ------------------------------------------------------------------------
 */

/* A dense copy of s (NULL: empty), in the current memory context. */
static ScoreSummary *
summary_densify(ScoreSummary *s, bool weighted)
{
	ScoreSummary *d = summary_new(true, SUMMARY_BINS, s ? (s->flags & SUMMARY_WEIGHTED) != 0 : weighted);

	if (s != NULL)
	{
		SummaryBin *from = summary_bins(s);
		SummaryBin *to = summary_bins(d);

		memcpy(d->loss, s->loss, sizeof(s->loss));
		for (int i = 0; i < s->nbins; i++)
			to[summary_bin_at(s, i)] = from[i];
	}
	return d;
}

/*
 * The transition state in argument 0, dense: changed in place when it is
 * (the aggregate's own value), else a dense copy that the executor copies
 * into the aggregate's memory.
 */
static ScoreSummary *
summary_state(FunctionCallInfo fcinfo, bool weighted)
{
	ScoreSummary *s;

	risk_aggcontext(fcinfo, "risk.score_summary");
	if (PG_ARGISNULL(0))
		return summary_densify(NULL, weighted);
	s = summary_arg(fcinfo, 0);
	return summary_dense(s) ? s : summary_densify(s, weighted);
}

/* risk_summary_add(summary, score, label[, weight]) */
PG_FUNCTION_INFO_V1(risk_summary_add);
Datum
risk_summary_add(PG_FUNCTION_ARGS)
{
	int			weight_argno = PG_NARGS() > 3 ? 3 : -1;
	MetricRow	row;
	ScoreSummary *s;
	SummaryBin *b;

	if (!metric_row(fcinfo, 1, weight_argno, &row))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	s = summary_state(fcinfo, weight_argno >= 0);
	loss_add(fcinfo, s->loss, &row);	/* checks the score is a probability */
	b = &summary_bins(s)[score_bin(row.score)];
	b->weight[row.label] += row.weight;
	b->rows += 1;
	b->score_sum += row.weight * row.score;
	PG_RETURN_POINTER(s);
}

/* The rows a summary counts. */
static double
summary_rows(ScoreSummary *s)
{
	SummaryBin *bins = summary_bins(s);
	double		rows = 0;

	for (int i = 0; i < s->nbins; i++)
		rows += bins[i].rows;
	return rows;
}

/* Errors when a summary counts more rows than a double counts exactly. */
static void
summary_check_rows(ScoreSummary *s)
{
	if (summary_rows(s) > MAX_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("risk.score_summary cannot count more than 2^53 rows"),
				 errdetail("Counts beyond 2^53 would no longer be exact.")));
}

/* risk_summary_merge(summary, summary): risk.rollup, and combining states */
PG_FUNCTION_INFO_V1(risk_summary_merge);
Datum
risk_summary_merge(PG_FUNCTION_ARGS)
{
	ScoreSummary *from;
	ScoreSummary *into;
	SummaryBin *fb;
	SummaryBin *ib;

	if (PG_ARGISNULL(1))
	{
		risk_aggcontext(fcinfo, "risk.rollup");
		return risk_combine_first(fcinfo, PG_ARGISNULL(0) ? NULL : PG_GETARG_POINTER(0));
	}
	from = summary_arg(fcinfo, 1);
	into = summary_state(fcinfo, (from->flags & SUMMARY_WEIGHTED) != 0);
	if ((into->flags & SUMMARY_WEIGHTED) != (from->flags & SUMMARY_WEIGHTED))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("risk.rollup cannot merge a weighted risk.score_summary with an unweighted one"),
				 errhint("Summaries built with a weight sum amounts; those without count rows.")));
	loss_merge(into->loss, from->loss);
	fb = summary_bins(from);
	ib = summary_bins(into);
	for (int i = 0; i < from->nbins; i++)
	{
		SummaryBin *b = &ib[summary_bin_at(from, i)];

		b->weight[0] += fb[i].weight[0];
		b->weight[1] += fb[i].weight[1];
		b->rows += fb[i].rows;
		b->score_sum += fb[i].score_sum;
	}
	summary_check_rows(into);
	PG_RETURN_POINTER(into);
}

/* The stored form of a dense summary: its non-empty bins only. */
static ScoreSummary *
summary_compact(ScoreSummary *d)
{
	SummaryBin *from = summary_bins(d);
	ScoreSummary *s;
	int			n = 0;

	for (int i = 0; i < SUMMARY_BINS; i++)
		n += from[i].rows > 0;
	s = summary_new(false, n, (d->flags & SUMMARY_WEIGHTED) != 0);
	memcpy(s->loss, d->loss, sizeof(d->loss));
	n = 0;
	for (int i = 0; i < SUMMARY_BINS; i++)
		if (from[i].rows > 0)
		{
			summary_index(s)[n] = i;
			summary_bins(s)[n++] = from[i];
		}
	return s;
}

PG_FUNCTION_INFO_V1(risk_summary_final);
Datum
risk_summary_final(PG_FUNCTION_ARGS)
{
	ScoreSummary *s;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = summary_arg(fcinfo, 0);
	PG_RETURN_POINTER(summary_dense(s) ? summary_compact(s) : s);
}

/* ------------------------------------------------------------------------
 * Text and binary forms
 * ------------------------------------------------------------------------
 */

static void
append_number(StringInfo buf, double x)
{
	char		digits[DOUBLE_SHORTEST_DECIMAL_LEN];

	double_to_shortest_decimal_buf(x, digits);
	appendStringInfoString(buf, digits);
}

/*
 * {"version": 1, "weighted": false, "loss": [weight, log hi, log lo,
 * brier hi, brier lo], "bins": [[bin, negatives, positives, rows,
 * score sum], ...]}: JSON, so that it can be read as jsonb, with every
 * number exact.
 */
PG_FUNCTION_INFO_V1(risk_summary_out);
Datum
risk_summary_out(PG_FUNCTION_ARGS)
{
	ScoreSummary *s = summary_arg(fcinfo, 0);
	SummaryBin *bins = summary_bins(s);
	StringInfoData buf;
	bool		first = true;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"version\": %d, \"weighted\": %s, \"loss\": [", s->version,
					 (s->flags & SUMMARY_WEIGHTED) ? "true" : "false");
	for (int i = 0; i < L_LEN; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		append_number(&buf, s->loss[i]);
	}
	appendStringInfoString(&buf, "], \"bins\": [");
	for (int i = 0; i < s->nbins; i++)
	{
		if (bins[i].rows == 0)
			continue;
		appendStringInfo(&buf, "%s[%d", first ? "" : ", ", summary_bin_at(s, i));
		first = false;
		for (int k = 0; k < 2; k++)
		{
			appendStringInfoString(&buf, ", ");
			append_number(&buf, bins[i].weight[k]);
		}
		appendStringInfoString(&buf, ", ");
		append_number(&buf, bins[i].rows);
		appendStringInfoString(&buf, ", ");
		append_number(&buf, bins[i].score_sum);
		appendStringInfoChar(&buf, ']');
	}
	appendStringInfoString(&buf, "]}");
	PG_RETURN_CSTRING(buf.data);
}

/* A reader of the text form: the tokens in the order risk_summary_out writes them. */
typedef struct Reader
{
	const char *at;
	const char *text;
	bool		binary;
} Reader;

static void pg_attribute_noreturn()
bad_summary(const Reader *r, const char *what)
{
	if (r->binary)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary risk.score_summary: %s", what)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type risk.score_summary: %s", what),
			 errdetail("Expected the form risk.score_summary prints: {\"version\": 1, \"weighted\": false, \"loss\": [...], \"bins\": [[bin, negatives, positives, rows, score sum], ...]}.")));
}

/* Errors unless the binary form at buf has n more bytes. */
static void
need_bytes(const Reader *r, StringInfo buf, int n)
{
	if (buf->len - buf->cursor < n)
		bad_summary(r, "it ends too soon");
}

static void
skip_space(Reader *r)
{
	while (*r->at == ' ' || *r->at == '\t' || *r->at == '\n' || *r->at == '\r')
		r->at++;
}

static bool
accept(Reader *r, const char *token)
{
	skip_space(r);
	if (strncmp(r->at, token, strlen(token)) != 0)
		return false;
	r->at += strlen(token);
	return true;
}

static void
expect(Reader *r, const char *token)
{
	if (!accept(r, token))
		bad_summary(r, psprintf("expected %s at \"%.20s\"", token, r->at));
}

/*
 * The end of the JSON number at p (RFC 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?
 * ([eE][+-]?[0-9]+)?), or NULL when there is none: strtod alone would take
 * hexadecimal, "inf" and "nan" too.
 */
static const char *
json_number_end(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return NULL;
	if (*p == '.')
	{
		if (!(*++p >= '0' && *p <= '9'))
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E')
	{
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	/* a number ends at a delimiter: not "0x1p3", "1.5e3e" */
	if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.')
		return NULL;
	return p;
}

static double
read_number(Reader *r)
{
	char	   *end;
	double		x;

	skip_space(r);
	end = (char *) json_number_end(r->at);
	if (end == NULL)
		bad_summary(r, psprintf("expected a JSON number at \"%.20s\"", r->at));
	x = strtod(r->at, NULL);	/* below the smallest double: 0, fine for sums */
	if (!isfinite(x))
		bad_summary(r, psprintf("expected a finite number at \"%.20s\"", r->at));
	r->at = end;
	return x;
}

/*
 * A bin read from outside, checked: weights and score sums >= 0, a whole
 * number of rows >= 1, the score sum at most the weight (scores in
 * [0, 1]), and the weights the rows without a weight argument.
 */
static void
check_bin(const Reader *r, const SummaryBin *b, bool weighted)
{
	double		w = b->weight[0] + b->weight[1];

	/* the score sum and the weights are rounded apart: leave room for it */
	double		slack = Max(1e-9, b->rows * 4 * DBL_EPSILON);

	if (b->weight[0] < 0 || b->weight[1] < 0 || b->score_sum < 0 || b->rows < 1 ||
		b->rows != floor(b->rows) || b->rows > MAX_ROWS || b->score_sum > w * (1 + slack) ||
		(!weighted && w != b->rows) || w > b->rows * METRIC_MAX_WEIGHT)
		bad_summary(r, "a bin's weights, rows and score sum do not fit together");
}

/*
 * What the bins add up to, checked against the loss sums: the weight they
 * count is the bins' weight (to rounding), the log loss lies between 0 and
 * its most per unit of weight (-log of the clipped probability, 36.05),
 * the Brier score between 0 and 1 per unit, each double-double sum is
 * normalized (the low part below an ulp of the high part), and the rows
 * are at most 2^53, so that every count stays exact.
 */
static void
check_totals(const Reader *r, ScoreSummary *d)
{
	SummaryBin *bins = summary_bins(d);
	double		rows = summary_rows(d);
	double		weight = 0;
	double		slack;
	double		log_loss = d->loss[L_LOG_HI] + d->loss[L_LOG_LO];
	double		brier = d->loss[L_BRIER_HI] + d->loss[L_BRIER_LO];

	for (int i = 0; i < d->nbins; i++)
		weight += bins[i].weight[0] + bins[i].weight[1];
	if (rows > MAX_ROWS)
		bad_summary(r, "more than 2^53 rows");
	slack = Max(1e-9, rows * 4 * DBL_EPSILON);
	if (fabs(d->loss[L_WEIGHT] - weight) > weight * slack)
		bad_summary(r, "the loss sums count another weight than the bins");
	for (int at = L_LOG_HI; at < L_LEN; at += 2)
		if (fabs(d->loss[at + 1]) > fabs(d->loss[at]) * DBL_EPSILON)
			bad_summary(r, "a loss sum is not normalized");
	if (log_loss < 0 || log_loss > weight * -log(DBL_EPSILON) * (1 + slack) ||
		brier < 0 || brier > weight * (1 + slack))
		bad_summary(r, "the loss sums do not fit the bins' weight");
}

static void
check_loss(const Reader *r, const double *loss)
{
	for (int i = 0; i < L_LEN; i++)
		if (!isfinite(loss[i]))
			bad_summary(r, "a loss sum is not finite");
	if (loss[L_WEIGHT] < 0 || loss[L_LOG_HI] < 0 || loss[L_BRIER_HI] < 0)
		bad_summary(r, "a loss sum is negative");
}

static void
read_bin(Reader *r, ScoreSummary *d, int bin, int *last, SummaryBin *b)
{
	if (bin <= *last || bin >= SUMMARY_BINS)
		bad_summary(r, psprintf("bin %d out of order or out of range [0, %d)", bin, SUMMARY_BINS));
	*last = bin;
	check_bin(r, b, (d->flags & SUMMARY_WEIGHTED) != 0);
	summary_bins(d)[bin] = *b;
}

PG_FUNCTION_INFO_V1(risk_summary_in);
Datum
risk_summary_in(PG_FUNCTION_ARGS)
{
	Reader		r = {PG_GETARG_CSTRING(0), PG_GETARG_CSTRING(0), false};
	ScoreSummary *d;
	bool		weighted;
	int			last = -1;

	expect(&r, "{");
	expect(&r, "\"version\"");
	expect(&r, ":");
	if (read_number(&r) != SUMMARY_VERSION)
		bad_summary(&r, "unknown version");
	expect(&r, ",");
	expect(&r, "\"weighted\"");
	expect(&r, ":");
	weighted = accept(&r, "true");
	if (!weighted)
		expect(&r, "false");
	d = summary_densify(NULL, weighted);
	expect(&r, ",");
	expect(&r, "\"loss\"");
	expect(&r, ":");
	expect(&r, "[");
	for (int i = 0; i < L_LEN; i++)
	{
		if (i > 0)
			expect(&r, ",");
		d->loss[i] = read_number(&r);
	}
	check_loss(&r, d->loss);
	expect(&r, "]");
	expect(&r, ",");
	expect(&r, "\"bins\"");
	expect(&r, ":");
	expect(&r, "[");
	while (!accept(&r, "]"))
	{
		SummaryBin	b;
		double		bin;

		if (last >= 0)
			expect(&r, ",");
		expect(&r, "[");
		bin = read_number(&r);
		expect(&r, ",");
		b.weight[0] = read_number(&r);
		expect(&r, ",");
		b.weight[1] = read_number(&r);
		expect(&r, ",");
		b.rows = read_number(&r);
		expect(&r, ",");
		b.score_sum = read_number(&r);
		expect(&r, "]");
		if (bin != floor(bin) || bin < 0 || bin >= SUMMARY_BINS)
			bad_summary(&r, psprintf("bin %g out of range [0, %d)", bin, SUMMARY_BINS));
		read_bin(&r, d, (int) bin, &last, &b);
	}
	expect(&r, "}");
	skip_space(&r);
	if (*r.at != '\0')
		bad_summary(&r, psprintf("unexpected \"%.20s\" at the end", r.at));
	check_totals(&r, d);
	PG_RETURN_POINTER(summary_compact(d));
}

/* Binary: version, flags, nbins, the loss sums, then per bin its number and five values. */
PG_FUNCTION_INFO_V1(risk_summary_send);
Datum
risk_summary_send(PG_FUNCTION_ARGS)
{
	ScoreSummary *s = summary_arg(fcinfo, 0);
	SummaryBin *bins = summary_bins(s);
	StringInfoData buf;
	int			n = 0;

	for (int i = 0; i < s->nbins; i++)
		n += bins[i].rows > 0;
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, s->version);
	pq_sendbyte(&buf, s->flags & SUMMARY_WEIGHTED);
	pq_sendint16(&buf, n);
	for (int i = 0; i < L_LEN; i++)
		pq_sendfloat8(&buf, s->loss[i]);
	for (int i = 0; i < s->nbins; i++)
	{
		if (bins[i].rows == 0)
			continue;
		pq_sendint16(&buf, summary_bin_at(s, i));
		pq_sendfloat8(&buf, bins[i].weight[0]);
		pq_sendfloat8(&buf, bins[i].weight[1]);
		pq_sendfloat8(&buf, bins[i].rows);
		pq_sendfloat8(&buf, bins[i].score_sum);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(risk_summary_recv);
Datum
risk_summary_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	Reader		r = {NULL, NULL, true};
	ScoreSummary *d;
	int			flags;
	int			n;
	int			last = -1;

	need_bytes(&r, buf, 4);
	if (pq_getmsgbyte(buf) != SUMMARY_VERSION)
		bad_summary(&r, "unknown version");
	flags = pq_getmsgbyte(buf);
	if ((flags & ~SUMMARY_WEIGHTED) != 0)
		bad_summary(&r, "unknown flags");
	d = summary_densify(NULL, (flags & SUMMARY_WEIGHTED) != 0);
	n = pq_getmsgint(buf, 2);
	if (n > SUMMARY_BINS)
		bad_summary(&r, psprintf("%d bins, more than the %d there are", n, SUMMARY_BINS));
	need_bytes(&r, buf, L_LEN * 8 + n * (2 + 4 * 8));
	for (int i = 0; i < L_LEN; i++)
		d->loss[i] = pq_getmsgfloat8(buf);
	check_loss(&r, d->loss);
	for (int i = 0; i < n; i++)
	{
		int			bin = pq_getmsgint(buf, 2);
		SummaryBin	b;

		b.weight[0] = pq_getmsgfloat8(buf);
		b.weight[1] = pq_getmsgfloat8(buf);
		b.rows = pq_getmsgfloat8(buf);
		b.score_sum = pq_getmsgfloat8(buf);
		if (!isfinite(b.weight[0]) || !isfinite(b.weight[1]) || !isfinite(b.rows) || !isfinite(b.score_sum))
			bad_summary(&r, "a bin value is not finite");
		read_bin(&r, d, bin, &last, &b);
	}
	if (buf->cursor != buf->len)
		bad_summary(&r, "bytes after its end");
	check_totals(&r, d);
	PG_RETURN_POINTER(summary_compact(d));
}

/* ------------------------------------------------------------------------
 * Reading: the metrics of a summary
 * ------------------------------------------------------------------------
 */

/* The bins as ranked rows; false (the metric is NULL) without both classes. */
static bool
ranked_summary(Ranked *r, ScoreSummary *s, bool one_class)
{
	SummaryBin *bins = summary_bins(s);

	memset(r, 0, sizeof(*r));
	r->summary = s;
	for (int i = 0; i < s->nbins; i++)
	{
		r->total[0] += bins[i].weight[0];
		r->total[1] += bins[i].weight[1];
		r->rows += bins[i].rows;
	}
	return r->rows > 0 && (one_class || (r->total[0] > 0 && r->total[1] > 0));
}

int
summary_stored_bins(const ScoreSummary *s)
{
	return s->nbins;
}

bool
summary_cursor_next(GroupCursor *c, ScoreGroup *g)
{
	ScoreSummary *s = (ScoreSummary *) c->r->summary;
	SummaryBin *bins = summary_bins(s);
	SummaryBin *b;

	do
	{
		if (--c->bin < 0)
			return false;
	} while (bins[c->bin].rows == 0);
	b = &bins[c->bin];
	g->score = bin_score(summary_bin_at(s, c->bin), b);
	g->rows = b->rows;
	for (int k = 0; k < 2; k++)
	{
		g->weight[k] = b->weight[k];
		c->flagged[k] += b->weight[k];
		g->flagged[k] = c->flagged[k];
	}
	return true;
}

#define SUMMARY_RANKED(r, one_class) \
	do { \
		if (!ranked_summary(&(r), summary_arg(fcinfo, 0), (one_class))) \
			PG_RETURN_NULL(); \
	} while (0)

PG_FUNCTION_INFO_V1(risk_summary_auc);
Datum
risk_summary_auc(PG_FUNCTION_ARGS)
{
	Ranked		r;

	SUMMARY_RANKED(r, false);
	PG_RETURN_FLOAT8(rank_auc(&r));
}

PG_FUNCTION_INFO_V1(risk_summary_gini);
Datum
risk_summary_gini(PG_FUNCTION_ARGS)
{
	Ranked		r;

	SUMMARY_RANKED(r, false);
	PG_RETURN_FLOAT8(2 * rank_auc(&r) - 1);
}

/*
 * The largest error of risk.auc(summary): half the share of
 * positive-negative pairs in one bin, counted as ties.
 */
PG_FUNCTION_INFO_V1(risk_summary_auc_error_bound);
Datum
risk_summary_auc_error_bound(PG_FUNCTION_ARGS)
{
	Ranked		r;
	GroupCursor c;
	ScoreGroup	g;
	DD			pairs = {0, 0};

	SUMMARY_RANKED(r, false);
	group_cursor_init(&c, &r);
	while (group_cursor_next(&c, &g))
		dd_add(&pairs, 0.5 * g.weight[0] * g.weight[1]);
	PG_RETURN_FLOAT8((pairs.hi + pairs.lo) / (r.total[0] * r.total[1]));
}

/*
 * The largest error of risk.ks(summary), which reads the gap at bin edges
 * only: the largest share of either class in one bin.
 */
PG_FUNCTION_INFO_V1(risk_summary_ks_error_bound);
Datum
risk_summary_ks_error_bound(PG_FUNCTION_ARGS)
{
	Ranked		r;
	GroupCursor c;
	ScoreGroup	g;
	double		bound = 0;

	SUMMARY_RANKED(r, false);
	group_cursor_init(&c, &r);
	while (group_cursor_next(&c, &g))
		bound = Max(bound, Max(g.weight[0] / r.total[0], g.weight[1] / r.total[1]));
	PG_RETURN_FLOAT8(bound);
}

PG_FUNCTION_INFO_V1(risk_summary_average_precision);
Datum
risk_summary_average_precision(PG_FUNCTION_ARGS)
{
	Ranked		r;

	SUMMARY_RANKED(r, false);
	PG_RETURN_FLOAT8(rank_average_precision(&r));
}

PG_FUNCTION_INFO_V1(risk_summary_ks);
Datum
risk_summary_ks(PG_FUNCTION_ARGS)
{
	Ranked		r;

	SUMMARY_RANKED(r, false);
	PG_RETURN_FLOAT8(rank_ks(&r));
}

PG_FUNCTION_INFO_V1(risk_summary_recall_at_fpr);
Datum
risk_summary_recall_at_fpr(PG_FUNCTION_ARGS)
{
	double		max_fpr = metric_param(fcinfo, 1, 0, false, 1, false, 0);
	Ranked		r;

	SUMMARY_RANKED(r, false);
	PG_RETURN_FLOAT8(rank_recall_at_fpr(&r, max_fpr));
}

PG_FUNCTION_INFO_V1(risk_summary_capture_rate);
Datum
risk_summary_capture_rate(PG_FUNCTION_ARGS)
{
	double		top = metric_param(fcinfo, 1, 0, true, 1, false, 0);
	Ranked		r;

	SUMMARY_RANKED(r, false);
	PG_RETURN_FLOAT8(rank_capture(&r, top));
}

PG_FUNCTION_INFO_V1(risk_summary_lift);
Datum
risk_summary_lift(PG_FUNCTION_ARGS)
{
	double		top = metric_param(fcinfo, 1, 0, true, 1, false, 0);
	Ranked		r;

	SUMMARY_RANKED(r, false);
	PG_RETURN_FLOAT8(rank_capture(&r, top) / top);
}

static Datum
summary_loss(FunctionCallInfo fcinfo, int at)
{
	ScoreSummary *s = summary_arg(fcinfo, 0);

	if (s->loss[L_WEIGHT] == 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(loss_mean(s->loss, at));
}

PG_FUNCTION_INFO_V1(risk_summary_log_loss);
Datum
risk_summary_log_loss(PG_FUNCTION_ARGS)
{
	return summary_loss(fcinfo, L_LOG_HI);
}

PG_FUNCTION_INFO_V1(risk_summary_brier);
Datum
risk_summary_brier(PG_FUNCTION_ARGS)
{
	return summary_loss(fcinfo, L_BRIER_HI);
}

/* {threshold, tp, fp, tn, fn}: a bin is flagged when its mean score is at or above the threshold. */
static void
summary_confusion(FunctionCallInfo fcinfo, double *v)
{
	Ranked		r;
	GroupCursor c;
	ScoreGroup	g;

	memset(v, 0, sizeof(double) * T_LEN);
	v[T_THRESHOLD] = metric_param(fcinfo, 1, -INFINITY, false, INFINITY, false, 0);
	ranked_summary(&r, summary_arg(fcinfo, 0), true);
	group_cursor_init(&c, &r);
	while (group_cursor_next(&c, &g))
	{
		bool		flagged = g.score >= v[T_THRESHOLD];

		v[flagged ? T_TP : T_FN] += g.weight[1];
		v[flagged ? T_FP : T_TN] += g.weight[0];
	}
}

static Datum
summary_measure(FunctionCallInfo fcinfo, Measure m)
{
	double		v[T_LEN];
	bool		isnull;
	double		x;

	summary_confusion(fcinfo, v);
	x = threshold_measure(v, m, &isnull);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(x);
}

PG_FUNCTION_INFO_V1(risk_summary_confusion);
Datum
risk_summary_confusion(PG_FUNCTION_ARGS)
{
	double		v[T_LEN];

	summary_confusion(fcinfo, v);
	return threshold_confusion(fcinfo, v);
}

PG_FUNCTION_INFO_V1(risk_summary_precision);
Datum
risk_summary_precision(PG_FUNCTION_ARGS)
{
	return summary_measure(fcinfo, M_PRECISION);
}

PG_FUNCTION_INFO_V1(risk_summary_recall);
Datum
risk_summary_recall(PG_FUNCTION_ARGS)
{
	return summary_measure(fcinfo, M_RECALL);
}

PG_FUNCTION_INFO_V1(risk_summary_f1);
Datum
risk_summary_f1(PG_FUNCTION_ARGS)
{
	return summary_measure(fcinfo, M_F1);
}

PG_FUNCTION_INFO_V1(risk_summary_accuracy);
Datum
risk_summary_accuracy(PG_FUNCTION_ARGS)
{
	return summary_measure(fcinfo, M_ACCURACY);
}

PG_FUNCTION_INFO_V1(risk_summary_roc_curve);
Datum
risk_summary_roc_curve(PG_FUNCTION_ARGS)
{
	Ranked		r;

	SUMMARY_RANKED(r, false);
	return curve_roc(fcinfo, &r);
}

PG_FUNCTION_INFO_V1(risk_summary_pr_curve);
Datum
risk_summary_pr_curve(PG_FUNCTION_ARGS)
{
	Ranked		r;

	SUMMARY_RANKED(r, false);
	return curve_pr(fcinfo, &r);
}

PG_FUNCTION_INFO_V1(risk_summary_gains);
Datum
risk_summary_gains(PG_FUNCTION_ARGS)
{
	int			buckets = curve_bins("risk.gains", PG_GETARG_INT32(1));
	Ranked		r;

	SUMMARY_RANKED(r, false);
	return curve_gains(fcinfo, &r, buckets);
}

PG_FUNCTION_INFO_V1(risk_summary_calibration);
Datum
risk_summary_calibration(PG_FUNCTION_ARGS)
{
	int			bins = curve_bins("risk.calibration", PG_GETARG_INT32(1));
	Ranked		r;

	SUMMARY_RANKED(r, true);
	return curve_calibration(fcinfo, &r, bins, "risk.calibration");
}

/* Rows per bin of a summary, into rows[SUMMARY_BINS]; returns their sum. */
static double
bin_rows(ScoreSummary *s, double *rows)
{
	SummaryBin *bins = summary_bins(s);
	double		total = 0;

	memset(rows, 0, sizeof(double) * SUMMARY_BINS);
	for (int i = 0; i < s->nbins; i++)
	{
		rows[summary_bin_at(s, i)] = bins[i].rows;
		total += bins[i].rows;
	}
	return total;
}

/*
 * risk.psi(reference, actual[, bins]): PSI of two summaries, with the
 * bins of risk.psi made of whole summary bins: a cut after the summary bin
 * that holds the reference row at rank ceil(k n / bins).  Rows, not
 * weights.  Where each distinct score has its own summary bin, this is
 * risk.psi of the rows.
 */
PG_FUNCTION_INFO_V1(risk_summary_psi);
Datum
risk_summary_psi(PG_FUNCTION_ARGS)
{
	int			bins = curve_bins("risk.psi", PG_NARGS() > 2 ? PG_GETARG_INT32(2) : 10);
	double	   *ref = palloc(sizeof(double) * SUMMARY_BINS);
	double	   *act = palloc(sizeof(double) * SUMMARY_BINS);
	double		n_ref = bin_rows(summary_arg(fcinfo, 0), ref);
	double		n_act = bin_rows(summary_arg(fcinfo, 1), act);
	double		seen = 0;
	double		group[2] = {0, 0};
	int			k = 1;
	DD			psi = {0, 0};

	if (n_ref == 0 || n_act == 0)
		PG_RETURN_NULL();
	for (int b = 0; b < SUMMARY_BINS; b++)
	{
		bool		cut = false;

		seen += ref[b];
		group[0] += ref[b];
		group[1] += act[b];
		/* every cut whose rank falls in this bin ends the group here */
		while (k < bins && seen >= ceil((double) k * n_ref / bins))
		{
			cut = true;
			k++;
		}
		if (cut || b == SUMMARY_BINS - 1)
		{
			dd_add(&psi, drift_psi_term(group[0] / n_ref, group[1] / n_act));
			group[0] = group[1] = 0;
		}
	}
	PG_RETURN_FLOAT8(psi.hi + psi.lo);
}

/* The rows a summary holds. */
PG_FUNCTION_INFO_V1(risk_summary_rows);
Datum
risk_summary_rows(PG_FUNCTION_ARGS)
{
	Ranked		r;

	ranked_summary(&r, summary_arg(fcinfo, 0), true);
	PG_RETURN_INT64((int64) r.rows);
}

/*-------------------------------------------------------------------------
 * train.h
 *	  The training set of risk.train as plain C: its rows in memory, their
 *	  canonical order and fingerprint, and the early-stopping rule (the
 *	  same decisions as python3-xgboost's EarlyStopping callback).  No
 *	  fmgr, no catalog; used by train.c (reading the query) and by the
 *	  training child in xgb_train.c.
 *-------------------------------------------------------------------------
 */
#ifndef RISK_TRAIN_H
#define RISK_TRAIN_H

/*
 * Rows, row-major: x holds num_rows * num_features float32 values (NaN:
 * missing), label and weight one value each (weight 1 without a weight
 * column), valid whether the row is held out for validation.
 */
typedef struct TrainSet
{
	int			num_features;
	int64		num_rows;
	int64		cap;
	float	   *x;
	float	   *label;
	float	   *weight;
	bool	   *valid;
	bool		weighted;
	/* after train_set_sort: training rows first, then validation rows */
	int64		num_train;
	int64		num_valid;
} TrainSet;

/* Bytes one row takes in a TrainSet. */
#define TRAIN_ROW_BYTES(nf) ((size_t) (nf) * sizeof(float) + 2 * sizeof(float) + sizeof(bool))

/*
 * Puts the rows in their canonical order, in place: training rows before
 * validation rows, and within each part by label, then weight, then each
 * feature in column order, ascending, a missing value after every number
 * (-0 is read as 0 and every NaN as the same missing value, so the order
 * is total; rows it ties are equal).  The model then depends on the set
 * of rows alone, not on the order the query returned them in.  Sets
 * num_train and num_valid.  `scratch` holds num_rows int64 and a row.
 */
extern void train_set_sort(TrainSet *t);

/*
 * SHA-256 of the rows in canonical order, as lowercase hex (65 bytes with
 * the terminator): per row, its validation flag as one byte 0 or 1, then
 * label, weight and every feature as little-endian float32 (a missing
 * value as 0x7fc00000).  Returns false when the hash could not be made.
 */
extern bool train_set_fingerprint(const TrainSet *t, char *hex);

/* Training rows whose label is 1 (the positives), and their weight. */
extern int64 train_set_positives(const TrainSet *t, bool valid, double *weight);

/*
 * Early stopping as python3-xgboost 1.7's EarlyStopping callback decides:
 * on the last metric of the last evaluation set, maximised for metrics
 * named auc, aucpr, map or ndcg (and their @ forms), minimised otherwise;
 * a round improves only when strictly better than the best so far; stop
 * once `patience` rounds in a row did not improve.
 */
typedef struct EarlyStop
{
	int			patience;
	bool		maximize;
	bool		started;
	int			best_round;		/* 0-based */
	double		best_score;
	int			since_best;
} EarlyStop;

extern void early_stop_init(EarlyStop *e, int patience, const char *metric);
/* The score of round `round`; true when training should stop after it. */
extern bool early_stop_update(EarlyStop *e, int round, double score);

/*
 * One evaluation line of libxgboost ("[3]\tvalid-aucpr:0.91\t..."): the
 * name (data-metric) and value of entry i, 0-based; false past the last.
 * Values are what libxgboost printed (17 significant digits), the values
 * python3-xgboost's callbacks decide on.
 */
extern bool eval_line_entry(const char *line, int i, char *name, int name_size, double *value);

/* settings (risk.c): risk.train_memory_limit (kB), risk.train_max_threads */
extern int	train_memory_limit_kb;
extern int	train_max_threads;

#endif							/* RISK_TRAIN_H */

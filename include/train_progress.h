/*-------------------------------------------------------------------------
 * train_progress.h
 *	  The progress of a running risk.train, readable by other sessions
 *	  (risk.training_progress).  One training per backend at a time.
 *-------------------------------------------------------------------------
 */
#ifndef RISK_TRAIN_PROGRESS_H
#define RISK_TRAIN_PROGRESS_H

/* Starts reporting; the report ends when CurrentMemoryContext is reset. */
extern void train_progress_begin(const char *model);
/* A phase ("reading", "sorting", "storing", ...), with rows read and memory held. */
extern void train_progress_rows(const char *phase, int64 rows, int64 memory);
extern void train_progress_phase(const char *phase);
/* Round `round` (1-based) of `rounds` done; best_round 1-based, 0 if none. */
extern void train_progress_round(int round, int rounds, const char *metric, double value,
								 int best_round, double best_value, int64 memory);

#endif							/* RISK_TRAIN_PROGRESS_H */

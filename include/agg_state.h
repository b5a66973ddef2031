/*-------------------------------------------------------------------------
 * agg_state.h
 *	  risk.aggregate_state: the state of an aggregate whose state is a C
 *	  structure (auc_test, compare_scores, csi of a category, stddev,
 *	  decayed_sum, ...) as a type with text and binary I/O, so that Citus
 *	  computes it on each worker and combines it on the coordinator (it
 *	  ships partial states as the text of their type; an internal state has
 *	  none).
 *
 * Each aggregate describes its state by a kind: a tag byte, the name used
 * in errors, and how the structure is written and read (the bytes its
 * serialize function wrote for parallel query).  In an aggregate the state
 * is an expanded object wrapping the structure, changed in place; it is
 * flattened only when it leaves the aggregate.  Flat form: the envelope's
 * version byte, the kind's tag, the kind's bytes.  A state is checked in
 * full by the aggregate that reads it, and a state of one kind is refused
 * by another.
 *
 * The same C support function serves the aggregate declared over internal
 * (risk 0.1.0's declarations, run by this library until ALTER EXTENSION
 * UPDATE) and over risk.aggregate_state: agg_state_arg and
 * agg_state_result look at the declared type.
 *-------------------------------------------------------------------------
 */
#ifndef RISK_AGG_STATE_H
#define RISK_AGG_STATE_H

#include "fmgr.h"
#include "lib/stringinfo.h"

typedef struct AggStateKind
{
	uint8		tag;			/* its byte in the flat form; one per kind */
	const char *name;			/* the aggregate, for errors: "risk.auc_test" */
	/* appends the state's bytes */
	void		(*write) (const void *state, StringInfo buf);
	/* the state of these bytes (all of them), allocated in cxt; ereports on bad bytes */
	void	   *(*read) (StringInfo buf, MemoryContext cxt);
} AggStateKind;

/* tags: one per kind, never reused */
#define AGG_STATE_PAIRS 1		/* risk.auc_test */
#define AGG_STATE_PAIRED 2		/* risk.compare_scores */
#define AGG_STATE_CATEGORIES 3	/* risk.csi, csi_table of a category */
#define AGG_STATE_MOMENTS 4		/* risk.stddev */
#define AGG_STATE_DECAY 5		/* risk.decayed_sum */
#define AGG_STATE_DISTINCT 6	/* risk.count_distinct */
#define AGG_STATE_HLL 7			/* risk.approx_count_distinct */
#define AGG_STATE_VELOCITY 8	/* risk.velocity_state_agg */

/* The type of a support function's argument: of its call, or as declared (Citus calls without an expression). */
extern Oid	risk_arg_type(FunctionCallInfo fcinfo, int argno);

/*
 * The type and collation of input argno (1: the first) of a polymorphic
 * aggregate, for its transition function.  From the call's expression; or,
 * called without one by an aggregate that wraps it (on a Citus worker,
 * worker_partial_agg(aggregate, argument or ROW(arguments))), from the
 * wrapper's Aggref.
 */
extern Oid	risk_agg_input_type(FunctionCallInfo fcinfo, int argno, const char *fn, Oid *collation);

/*
 * A type or a collation in a state's bytes: its oid when built in, its
 * schema and name otherwise (another node of a cluster has its own oids
 * for the same type).  The readers resolve it, or fail.
 */
extern void agg_state_write_type(StringInfo buf, Oid type);
extern Oid	agg_state_read_type(StringInfo buf, const char *what);
extern void agg_state_write_collation(StringInfo buf, Oid collation);
extern Oid	agg_state_read_collation(StringInfo buf, const char *what);

/*
 * Argument argno of a support function, NULL for NULL.  With aggcontext,
 * a state the caller may change (the aggregate's own, or a copy in
 * aggcontext); without, one to read.
 */
extern void *agg_state_arg(FunctionCallInfo fcinfo, int argno, const AggStateKind *kind,
						   MemoryContext aggcontext);

/* What a transition or combine function returns for state (NULL: SQL NULL). */
extern Datum agg_state_result(FunctionCallInfo fcinfo, void *state, const AggStateKind *kind,
							  MemoryContext aggcontext);

#endif

/*-------------------------------------------------------------------------
 * feature_set.h
 *	  Feature sets: a model's features declared once over an event table,
 *	  computed in batch (a window function per entity kind) and online (in
 *	  the scoring trigger) by the same code.
 *
 *	  feature_state.c	the per-entity state (risk.feature_state) and the
 *						step that reads an event's features and adds it
 *	  feature_set.c		a declaration compiled for this backend, evaluated
 *						on rows; batch and online entry points
 *	  feature_set_declare.c	the declaration functions (catalog writes)
 *-------------------------------------------------------------------------
 */
#ifndef RISK_FEATURE_SET_H
#define RISK_FEATURE_SET_H

#include "executor/executor.h"
#include "nodes/execnodes.h"

#include "velocity.h"

#define FEATURE_SET_FN "risk feature set"

/* What a feature computes. */
typedef enum FeatureKind
{
	FEATURE_ROW,				/* an expression of the row */
	FEATURE_COUNT,				/* count(*) [filter] */
	FEATURE_SUM,				/* sum(x) [filter] */
	FEATURE_AVG,				/* avg(x) [filter] */
	FEATURE_DISTINCT,			/* count(distinct x) [filter] */
	FEATURE_IS_NEW,				/* is_new(x) [filter]: x not seen in the window before */
	FEATURE_FIRST_SEEN,			/* seconds_since_first() [filter] */
	FEATURE_LAST_SEEN,			/* seconds_since_last() [filter] */
	FEATURE_RATIO				/* ratio_to_avg(x) [filter]: x / the window's avg(x) */
} FeatureKind;

/*
 * A track: the events of one entity kind that pass a filter, with one
 * amount and one key, over some windows: one velocity state per entity,
 * with the first, latest and previous times of its events.
 */
typedef struct FeatureTrack
{
	int			filter;			/* expression index, -1: every event */
	int			amount;			/* expression index, -1: none */
	bool		amount_required;	/* events with a NULL amount are not in the track */
	int			key;			/* expression index, -1: none */
	int32		max_distinct;	/* 0: exact */
	int			nwindows;
	int64		widths[VELOCITY_MAX_WINDOWS];
} FeatureTrack;

typedef struct FeatureDef
{
	char	   *name;
	FeatureKind kind;
	int			entity;			/* entity kind index; -1 for a row feature */
	int			expr;			/* a row feature's expression; else the argument's (-1: none) */
	int			track;
	int			window;			/* index in the track's windows; -1: none */
	int			delay_window;	/* with a delay: the window of width delay, subtracted; -1: none */
	bool		include_current;
	int32		max_distinct;	/* distinct counts: this feature's cap (0: none) */
} FeatureDef;

typedef struct FeatureEntity
{
	char	   *name;
	int			expr;			/* the entity's expression */
	Oid			type;
	Oid			store;			/* the store table */
	int			ntracks;
	FeatureTrack *tracks;
	uint32		layout;			/* fingerprint of the tracks: states of another layout are refused */
	int			nfeatures;		/* its features, in declaration order */
	int		   *features;
} FeatureEntity;

/* A declaration, compiled for this backend. */
typedef struct FeatureSet
{
	char	   *name;
	Oid			events;			/* the event table */
	Oid			owner;			/* the declaring role: stores are written as it */
	AttrNumber	time_att;
	AttrNumber	tie_att;		/* 0: no tie-break (same-time events are never before each other) */
	AttrNumber	arrival_att;	/* 0: none; else the bigint column the trigger numbers rows in */
	Oid			arrival_seq;	/* and the sequence it draws from */
	int			nexprs;
	Expr	  **exprs;			/* over the event table's row (varno 1), of type exprtypes[i] */
	Oid		   *exprtypes;
	Oid		   *exprcolls;
	char	  **exprtexts;		/* their canonical text (the catalog's) */
	int			nentities;
	FeatureEntity *entities;
	int			nfeatures;
	FeatureDef *features;
	/* evaluation */
	MemoryContext mcxt;
	EState	   *estate;
	ExprState **states;
	FmgrInfo   *key_hash;		/* per expression used as a key (fn_oid 0: none) */
	TupleTableSlot *slot;		/* of the event table's row type */
	Datum	   *values;			/* per expression, of the last row */
	bool	   *nulls;
	bool		valid;
	int			pins;
} FeatureSet;

/* One row's event for one entity kind, as the tracks see it. */
typedef struct FeatureEvent
{
	TimestampTz at;
	bool		ties_before;	/* a tie-break: events at `at` already added are before this one */
} FeatureEvent;

/* feature_state.c: one entity's state, and the step */
typedef struct EntityState EntityState;

extern EntityState *feature_state_new(const FeatureEntity *e);
extern EntityState *feature_state_load(const FeatureEntity *e, Datum stored, bool *other_layout);
extern Datum feature_state_store(EntityState *st);
/*
 * The kind's features for an event of the row whose expressions are in
 * fs->values/nulls (out[i], isnull[i] for the set's feature i), then the
 * event added to the state.
 */
extern void feature_state_step(const FeatureSet *fs, const FeatureEntity *e, EntityState *st,
							   const FeatureEvent *ev, double *out, bool *isnull);
/* The kind's features at a time, read without an event (an investigation). */
extern void feature_state_peek(const FeatureSet *fs, const FeatureEntity *e, EntityState *st,
							   TimestampTz at, bool ties_before, double *out, bool *isnull);

/* feature_set.c: expressions, parsed and printed with search_path = pg_catalog */
extern int	feature_path_push(void);
extern void feature_path_pop(int nest);
extern Node *feature_raw_expr(const char *text, const char *what);
extern Node *feature_transform(Relation rel, Node *raw, Oid type, const char *what, const char *text);
extern char *feature_deparse(Relation rel, Node *expr);

/* feature_set.c: compiled declarations */
extern FeatureSet *feature_set_get(const char *name);
extern bool feature_set_exists(const char *name);
/* Compiled, and held until `until` is reset or deleted. */
extern FeatureSet *feature_set_pin(const char *name, MemoryContext until);
extern void feature_set_relation_changed(Oid relid);
/* Evaluates every expression of the set on a row (a heap tuple of the event table). */
extern void feature_set_eval(FeatureSet *fs, HeapTuple tuple);
/*
 * The online path: each entity's state updated in its store (stores[i]
 * for entity i: on Citus, the store's shard next to the row's; NULL: the
 * declared ones), and every feature of the row (in the set's order) into
 * out/isnull.  With an arrival column, true and the row's arrival number
 * in *arrival.
 */
extern bool feature_set_online(FeatureSet *fs, HeapTuple tuple, const Oid *stores, double *out, bool *isnull,
							   int64 *arrival);

#endif							/* RISK_FEATURE_SET_H */

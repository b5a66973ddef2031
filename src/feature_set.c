/*-------------------------------------------------------------------------
 * feature_set.c
 *	  A feature set's declaration (risk.feature_sets and its two tables)
 *	  compiled for this backend, and the paths that compute its features:
 *	  batch, a window function per entity kind over the event table sorted
 *	  by entity, time and tie-break; online, in the scoring trigger, each
 *	  entity's state read from its store, stepped and written back.  Both
 *	  run feature_state_step on the same compiled expressions.
 *
 * Expressions are kept in the catalog as canonical text: deparsed with
 * search_path = pg_catalog (every name outside it qualified), and parsed
 * again here the same way, so that no session's search_path changes what
 * they mean, and a dump restores them.  A compiled set is read again after
 * any change to the catalog or the event table; statements that use one
 * pin it until they end.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tupconvert.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "rewrite/rewriteManip.h"
#include "common/hashfn.h"
#include "utils/inval.h"
#include "utils/ruleutils.h"
#include "parser/parse_expr.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "parser/parser.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "windowapi.h"

#include "catalog.h"
#include "feature_set.h"

/* ------------------------------------------------------------------------
 * Expressions: parsed with a fixed search_path
 * ------------------------------------------------------------------------
 */

int
feature_path_push(void)
{
	int			nest = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nest;
}

void
feature_path_pop(int nest)
{
	AtEOXact_GUC(true, nest);
}

/* The one expression of "SELECT <text>", raw; errors (42601) for anything else. */
Node *
feature_raw_expr(const char *text, const char *what)
{
	List	   *stmts = raw_parser(psprintf("SELECT %s", text), RAW_PARSE_DEFAULT);
	SelectStmt *sel;
	ResTarget  *rt;

	if (list_length(stmts) != 1 || !IsA(((RawStmt *) linitial(stmts))->stmt, SelectStmt))
		goto bad;
	sel = (SelectStmt *) ((RawStmt *) linitial(stmts))->stmt;
	if (list_length(sel->targetList) != 1 || sel->fromClause || sel->whereClause || sel->groupClause ||
		sel->havingClause || sel->windowClause || sel->sortClause || sel->limitCount || sel->limitOffset ||
		sel->distinctClause || sel->op != SETOP_NONE || sel->withClause || sel->intoClause ||
		sel->lockingClause || sel->valuesLists)
		goto bad;
	rt = (ResTarget *) linitial(sel->targetList);
	if (rt->name != NULL)
		goto bad;
	return rt->val;
bad:
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("%s \"%s\" is not one expression", what, text)));
	return NULL;				/* keep the compiler quiet */
}

/*
 * A raw expression analyzed over a row of rel (varno 1), coerced to
 * `type` (InvalidOid: kept as is; BOOLOID: as a WHERE clause is).
 */
Node *
feature_transform(Relation rel, Node *raw, Oid type, const char *what, const char *text)
{
	ParseState *pstate = make_parsestate(NULL);
	ParseNamespaceItem *nsitem;
	Node	   *expr;

	pstate->p_sourcetext = text;
	nsitem = addRangeTableEntryForRelation(pstate, rel, AccessShareLock, NULL, false, true);
	addNSItemToQuery(pstate, nsitem, false, true, true);
	expr = transformExpr(pstate, copyObject(raw), EXPR_KIND_SELECT_TARGET);
	if (pstate->p_hasAggs || pstate->p_hasWindowFuncs || pstate->p_hasTargetSRFs ||
		checkExprHasSubLink(expr))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s \"%s\" must be an expression of the row: no aggregates, window functions, "
						"subqueries or set-returning functions", what, text),
				 errhint("Aggregates over an entity's events are written count(*), sum(x), avg(x), "
						 "count(distinct x), is_new(x), seconds_since_first(), seconds_since_last() or "
						 "ratio_to_avg(x), with per => entity and within => window.")));
	if (type == BOOLOID)
		expr = coerce_to_boolean(pstate, expr, "FILTER");
	else if (OidIsValid(type))
	{
		Oid			from = exprType(expr);
		Node	   *to;

		if (from == BOOLOID && type == FLOAT8OID)
			expr = coerce_to_target_type(pstate, expr, from, INT4OID, -1, COERCION_EXPLICIT,
										 COERCE_EXPLICIT_CAST, -1), from = INT4OID;
		to = coerce_to_target_type(pstate, expr, from, type, -1, COERCION_EXPLICIT, COERCE_EXPLICIT_CAST, -1);
		if (to == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s \"%s\" is %s, which cannot be cast to %s", what, text,
							format_type_be(from), format_type_be(type))));
		expr = to;
	}
	assign_expr_collations(pstate, expr);
	if (contain_volatile_functions(expr))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("%s \"%s\" calls a volatile function", what, text),
				 errdetail("A feature must have the same value in batch and online: use immutable or stable functions.")));
	free_parsestate(pstate);
	return expr;
}

/* The canonical text of an analyzed expression over rel (search_path pushed by the caller). */
char *
feature_deparse(Relation rel, Node *expr)
{
	return deparse_expression(expr, deparse_context_for(RelationGetRelationName(rel), RelationGetRelid(rel)),
							  false, false);
}

/* ------------------------------------------------------------------------
 * Compiling a declaration
 * ------------------------------------------------------------------------
 */

static List *compiled = NIL;	/* FeatureSet *, valid ones and retired pinned ones */
static List *not_sets = NIL;	/* names looked up and not found, until the catalog changes */
static Oid	catalog_oids[3];

void
feature_set_relation_changed(Oid relid)
{
	ListCell   *lc;
	bool		catalog = relid == InvalidOid;

	for (int i = 0; i < 3; i++)
		if (relid == catalog_oids[i])
			catalog = true;
	foreach(lc, compiled)
	{
		FeatureSet *fs = lfirst(lc);

		if (catalog || fs->events == relid)
			fs->valid = false;
	}
	if (catalog)
	{
		list_free_deep(not_sets);
		not_sets = NIL;
	}
}

static void
forget_unpinned(void)
{
	List	   *keep = NIL;
	ListCell   *lc;
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	foreach(lc, compiled)
	{
		FeatureSet *fs = lfirst(lc);

		if (!fs->valid && fs->pins == 0)
			MemoryContextDelete(fs->mcxt);
		else
			keep = lappend(keep, fs);
	}
	list_free(compiled);
	compiled = keep;
	MemoryContextSwitchTo(old);
}

/* The index of an expression (canonical text), parsed and added when new. */
static int
expr_index(FeatureSet *fs, Relation rel, const char *text, Oid type, int *cap)
{
	Node	   *expr;

	for (int i = 0; i < fs->nexprs; i++)
		if (strcmp(fs->exprtexts[i], text) == 0)
			return i;
	if (fs->nexprs == *cap)
	{
		*cap *= 2;
		fs->exprs = repalloc(fs->exprs, sizeof(Expr *) * *cap);
		fs->exprtexts = repalloc(fs->exprtexts, sizeof(char *) * *cap);
	}
	expr = feature_transform(rel, feature_raw_expr(text, "feature expression"), type, "feature expression", text);
	fs->exprs[fs->nexprs] = (Expr *) expr;
	fs->exprtexts[fs->nexprs] = pstrdup(text);
	return fs->nexprs++;
}

/* Whether an expression is never NULL: a NOT NULL column, maybe cast. */
static bool
never_null(Relation rel, Node *expr)
{
	for (;;)
	{
		if (IsA(expr, RelabelType))
			expr = (Node *) ((RelabelType *) expr)->arg;
		else if (IsA(expr, FuncExpr) && ((FuncExpr *) expr)->funcformat != COERCE_EXPLICIT_CALL &&
				 list_length(((FuncExpr *) expr)->args) == 1 && func_strict(((FuncExpr *) expr)->funcid))
			expr = linitial(((FuncExpr *) expr)->args);
		else
			break;
	}
	if (IsA(expr, Var) && ((Var *) expr)->varattno > 0)
		return TupleDescAttr(RelationGetDescr(rel), ((Var *) expr)->varattno - 1)->attnotnull;
	return false;
}

static int
track_window(FeatureSet *fs, FeatureTrack *t, int64 width)
{
	for (int i = 0; i < t->nwindows; i++)
		if (t->widths[i] == width)
			return i;
	if (t->nwindows == VELOCITY_MAX_WINDOWS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("feature set \"%s\" has more than %d windows over one entity and filter",
						fs->name, VELOCITY_MAX_WINDOWS)));
	t->widths[t->nwindows] = width;
	return t->nwindows++;
}

static int64
interval_usecs(Interval *iv)
{
	return iv->time + (int64) iv->day * USECS_PER_DAY;
}

/*
 * The track of a window feature: an entity's existing track that serves
 * it (same filter, and the amount or key it needs), or a new one.
 */
static int
feature_track(FeatureSet *fs, Relation rel, FeatureEntity *e, FeatureDef *f, int filter, int arg)
{
	bool		amount = f->kind == FEATURE_SUM || f->kind == FEATURE_AVG || f->kind == FEATURE_RATIO;
	bool		required = (f->kind == FEATURE_AVG || f->kind == FEATURE_RATIO) &&
		!never_null(rel, (Node *) fs->exprs[arg]);
	bool		key = f->kind == FEATURE_DISTINCT || f->kind == FEATURE_IS_NEW;
	FeatureTrack *t;

	for (int k = 0; k < e->ntracks; k++)
	{
		t = &e->tracks[k];
		if (t->filter != filter || t->amount_required != required)
			continue;
		if (amount && t->amount != arg && t->amount != -1)
			continue;
		if (required && t->amount != arg)
			continue;
		if (key && ((t->key != arg && t->key != -1) || (t->key == arg && t->max_distinct != f->max_distinct)))
			continue;
		if (amount)
			t->amount = arg;
		if (key)
		{
			t->key = arg;
			t->max_distinct = f->max_distinct;
		}
		return k;
	}
	e->tracks = e->ntracks == 0 ? palloc(sizeof(FeatureTrack)) :
		repalloc(e->tracks, sizeof(FeatureTrack) * (e->ntracks + 1));
	t = &e->tracks[e->ntracks];
	memset(t, 0, sizeof(*t));
	t->filter = filter;
	t->amount = amount ? arg : -1;
	t->amount_required = required;
	t->key = key ? arg : -1;
	t->max_distinct = key ? f->max_distinct : 0;
	return e->ntracks++;
}

static uint32
layout_of(const FeatureSet *fs, const FeatureEntity *e)
{
	StringInfoData buf;
	uint32		h;

	initStringInfo(&buf);
	for (int k = 0; k < e->ntracks; k++)
	{
		const FeatureTrack *t = &e->tracks[k];

		appendStringInfo(&buf, "%s|%s|%d|%s|%d|", t->filter >= 0 ? fs->exprtexts[t->filter] : "",
						 t->amount >= 0 ? fs->exprtexts[t->amount] : "", t->amount_required,
						 t->key >= 0 ? fs->exprtexts[t->key] : "", t->max_distinct);
		for (int i = 0; i < t->nwindows; i++)
			appendStringInfo(&buf, INT64_FORMAT ",", t->widths[i]);
		appendStringInfoChar(&buf, ';');
	}
	h = hash_bytes((unsigned char *) buf.data, buf.len);
	pfree(buf.data);
	return h;
}

static FeatureKind
kind_of(const char *aggregate)
{
	static const struct
	{
		const char *name;
		FeatureKind kind;
	}			kinds[] = {
		{"count", FEATURE_COUNT}, {"sum", FEATURE_SUM}, {"avg", FEATURE_AVG},
		{"count_distinct", FEATURE_DISTINCT}, {"is_new", FEATURE_IS_NEW},
		{"seconds_since_first", FEATURE_FIRST_SEEN}, {"seconds_since_last", FEATURE_LAST_SEEN},
		{"ratio_to_avg", FEATURE_RATIO}
	};

	for (int i = 0; i < lengthof(kinds); i++)
		if (strcmp(aggregate, kinds[i].name) == 0)
			return kinds[i].kind;
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("unknown feature aggregate \"%s\" in risk.feature_set_features", aggregate)));
	return FEATURE_ROW;
}

static char *
spi_text(uint64 row, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);

	return *isnull ? NULL : TextDatumGetCString(d);
}

/* Reads and compiles the declaration `name`, in its own memory context; NULL when there is none. */
/* The catalog tables' OIDs, whose invalidations retire what we cached. */
static void
know_catalog(void)
{
	catalog_oids[0] = catalog_read_relid("feature_sets");
	catalog_oids[1] = catalog_read_relid("feature_set_entities");
	catalog_oids[2] = catalog_read_relid("feature_set_features");
}

static FeatureSet *
compile(const char *name)
{
	MemoryContext mcxt = AllocSetContextCreate(TopMemoryContext, "risk feature set", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(mcxt);
	FeatureSet *fs = palloc0(sizeof(FeatureSet));
	Oid			types[1] = {TEXTOID};
	Datum		args[1];
	bool		isnull;
	Relation	rel;
	int			cap = 16;
	int			nest;
	char	   *time_column;
	char	   *tie_break;
	SPITupleTable *ents;
	uint64		nents;
	CatalogIdentity id;

	fs->mcxt = mcxt;
	fs->name = pstrdup(name);
	fs->valid = true;			/* a change while we read makes us read again */
	args[0] = CStringGetTextDatum(name);
	know_catalog();
	catalog_spi_connect();
	MemoryContextSwitchTo(mcxt);	/* what we read is kept: not in SPI's memory */
	catalog_as_owner("feature_sets", &id);	/* the catalog is not the caller's to read */
	if (SPI_execute_with_args(psprintf("SELECT events::pg_catalog.oid, time_column::pg_catalog.text, "
									   "tie_break::pg_catalog.text, owner::pg_catalog.text, arrival::pg_catalog.text "
									   "FROM %s WHERE name OPERATOR(pg_catalog.=) $1",
									   catalog_read_name("feature_sets")), 1, types, args, NULL, IsInParallelMode(), 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read risk.feature_sets");
	MemoryContextSwitchTo(mcxt);	/* SPI returns to its own memory */
	if (SPI_processed == 0)
	{
		catalog_as_caller(&id);
		SPI_finish();
		MemoryContextSwitchTo(old);
		MemoryContextDelete(mcxt);
		return NULL;
	}
	fs->events = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	time_column = spi_text(0, 2, &isnull);
	tie_break = spi_text(0, 3, &isnull);
	fs->owner = get_role_oid(spi_text(0, 4, &isnull), false);
	{
		char	   *arrival = spi_text(0, 5, &isnull);

		if (arrival)
		{
			fs->arrival_att = get_attnum(fs->events, arrival);
			fs->arrival_seq = get_relname_relid(psprintf("%s_arrival", name), get_rel_namespace(fs->events));
			if (fs->arrival_att <= 0 || !OidIsValid(fs->arrival_seq))
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("feature set \"%s\": no arrival column \"%s\" or no sequence %s_arrival",
								name, arrival, name)));
		}
	}

	rel = table_open(fs->events, AccessShareLock);
	fs->time_att = get_attnum(fs->events, time_column);
	if (fs->time_att <= 0 || TupleDescAttr(RelationGetDescr(rel), fs->time_att - 1)->atttypid != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("feature set \"%s\": table \"%s\" has no column \"%s\" of type timestamptz",
						name, RelationGetRelationName(rel), time_column)));
	fs->tie_att = tie_break ? get_attnum(fs->events, tie_break) : 0;
	if (tie_break && fs->tie_att <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("feature set \"%s\": table \"%s\" has no column \"%s\"",
						name, RelationGetRelationName(rel), tie_break)));
	fs->exprs = palloc(sizeof(Expr *) * cap);
	fs->exprtexts = palloc(sizeof(char *) * cap);

	nest = feature_path_push();
	/* entity kinds, by name: the order their rows are locked in */
	if (SPI_execute_with_args(psprintf("SELECT entity, expression, store::pg_catalog.oid FROM %s "
									   "WHERE feature_set OPERATOR(pg_catalog.=) $1 ORDER BY entity COLLATE \"C\"",
									   catalog_read_name("feature_set_entities")), 1, types, args, NULL, IsInParallelMode(), 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read risk.feature_set_entities");
	MemoryContextSwitchTo(mcxt);	/* SPI returns to its own memory */
	ents = SPI_tuptable;
	nents = SPI_processed;
	fs->nentities = nents;
	fs->entities = palloc0(sizeof(FeatureEntity) * Max(1, nents));
	for (uint64 i = 0; i < nents; i++)
	{
		FeatureEntity *e = &fs->entities[i];

		SPI_tuptable = ents;
		e->name = spi_text(i, 1, &isnull);
		e->expr = expr_index(fs, rel, spi_text(i, 2, &isnull), InvalidOid, &cap);
		e->type = exprType((Node *) fs->exprs[e->expr]);
		e->store = DatumGetObjectId(SPI_getbinval(ents->vals[i], ents->tupdesc, 3, &isnull));
		e->features = palloc(sizeof(int) * 8);
	}
	if (SPI_execute_with_args(psprintf("SELECT name, aggregate, argument, filter, entity, "
									   "pg_catalog.date_part('epoch', within)::pg_catalog.float8, "
									   "pg_catalog.date_part('epoch', delay)::pg_catalog.float8, include_current, "
									   "max_distinct, within, delay "
									   "FROM %s WHERE feature_set OPERATOR(pg_catalog.=) $1 ORDER BY position",
									   catalog_read_name("feature_set_features")), 1, types, args, NULL, IsInParallelMode(), 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read risk.feature_set_features");
	MemoryContextSwitchTo(mcxt);	/* SPI returns to its own memory */
	fs->nfeatures = SPI_processed;
	fs->features = palloc0(sizeof(FeatureDef) * Max(1, fs->nfeatures));
	{
		SPITupleTable *feats = SPI_tuptable;

		for (int i = 0; i < fs->nfeatures; i++)
		{
			FeatureDef *f = &fs->features[i];
			char	   *aggregate;
			char	   *argument;
			char	   *filter;
			char	   *entity;
			bool		wnull,
						dnull;
			Datum		within;
			Datum		delay;
			FeatureEntity *e = NULL;

			SPI_tuptable = feats;
			f->name = spi_text(i, 1, &isnull);
			aggregate = spi_text(i, 2, &isnull);
			argument = spi_text(i, 3, &isnull);
			filter = spi_text(i, 4, &isnull);
			entity = spi_text(i, 5, &isnull);
			f->include_current = DatumGetBool(SPI_getbinval(feats->vals[i], feats->tupdesc, 8, &isnull));
			{
				Datum		md = SPI_getbinval(feats->vals[i], feats->tupdesc, 9, &isnull);

				f->max_distinct = isnull ? 0 : DatumGetInt32(md);
			}
			within = SPI_getbinval(feats->vals[i], feats->tupdesc, 10, &wnull);
			delay = SPI_getbinval(feats->vals[i], feats->tupdesc, 11, &dnull);
			f->window = f->delay_window = -1;
			f->entity = -1;
			if (aggregate == NULL)
			{
				f->kind = FEATURE_ROW;
				f->expr = expr_index(fs, rel, argument, FLOAT8OID, &cap);
				continue;
			}
			f->kind = kind_of(aggregate);
			for (int j = 0; j < fs->nentities; j++)
				if (strcmp(fs->entities[j].name, entity) == 0)
					f->entity = j;
			if (f->entity < 0)
				elog(ERROR, "feature \"%s\" of feature set \"%s\" has no entity", f->name, name);
			e = &fs->entities[f->entity];
			f->expr = argument == NULL ? -1 :
				expr_index(fs, rel, argument,
						   (f->kind == FEATURE_DISTINCT || f->kind == FEATURE_IS_NEW) ? InvalidOid : FLOAT8OID, &cap);
			{
				int			fi = filter ? expr_index(fs, rel, filter, BOOLOID, &cap) : -1;
				FeatureTrack *t;

				f->track = feature_track(fs, rel, e, f, fi, f->expr);
				t = &e->tracks[f->track];
				if (!wnull)
				{
					int64		w = interval_usecs(DatumGetIntervalP(within));
					int64		d = dnull ? 0 : interval_usecs(DatumGetIntervalP(delay));

					f->window = track_window(fs, t, w + d);
					if (d > 0)
						f->delay_window = track_window(fs, t, d);
				}
				else if (t->nwindows == 0)
					(void) track_window(fs, t, USECS_PER_DAY);	/* first and last seen need no window */
			}
			if (e->nfeatures % 8 == 0 && e->nfeatures > 0)
				e->features = repalloc(e->features, sizeof(int) * (e->nfeatures + 8));
			e->features[e->nfeatures++] = i;
		}
	}
	catalog_as_caller(&id);
	SPI_finish();
	MemoryContextSwitchTo(mcxt);
	for (int i = 0; i < fs->nentities; i++)
		fs->entities[i].layout = layout_of(fs, &fs->entities[i]);

	/* evaluation: one executor state, the expressions planned in it */
	fs->estate = CreateExecutorState();
	fs->states = palloc(sizeof(ExprState *) * Max(1, fs->nexprs));
	fs->exprtypes = palloc(sizeof(Oid) * Max(1, fs->nexprs));
	fs->exprcolls = palloc(sizeof(Oid) * Max(1, fs->nexprs));
	fs->key_hash = palloc0(sizeof(FmgrInfo) * Max(1, fs->nexprs));
	fs->values = palloc(sizeof(Datum) * Max(1, fs->nexprs));
	fs->nulls = palloc(sizeof(bool) * Max(1, fs->nexprs));
	for (int i = 0; i < fs->nexprs; i++)
	{
		fs->states[i] = ExecPrepareExpr(fs->exprs[i], fs->estate);
		fs->exprtypes[i] = exprType((Node *) fs->exprs[i]);
		fs->exprcolls[i] = exprCollation((Node *) fs->exprs[i]);
	}
	for (int i = 0; i < fs->nentities; i++)
		for (int k = 0; k < fs->entities[i].ntracks; k++)
		{
			int			key = fs->entities[i].tracks[k].key;

			if (key >= 0 && fs->key_hash[key].fn_oid == InvalidOid)
			{
				TypeCacheEntry *tc = lookup_type_cache(fs->exprtypes[key], TYPECACHE_HASH_EXTENDED_PROC_FINFO);

				if (!OidIsValid(tc->hash_extended_proc_finfo.fn_oid))
					ereport(ERROR,
							(errcode(ERRCODE_UNDEFINED_FUNCTION),
							 errmsg("feature set \"%s\" cannot count distinct values of type %s",
									name, format_type_be(fs->exprtypes[key])),
							 errhint("Cast the values to text, or to another type that can be hashed.")));
				fmgr_info_copy(&fs->key_hash[key], &tc->hash_extended_proc_finfo, mcxt);
			}
		}
	fs->slot = MakeSingleTupleTableSlot(CreateTupleDescCopy(RelationGetDescr(rel)), &TTSOpsHeapTuple);
	feature_path_pop(nest);
	table_close(rel, AccessShareLock);
	MemoryContextSwitchTo(old);
	return fs;
}

FeatureSet *
feature_set_get(const char *name)
{
	ListCell   *lc;
	FeatureSet *fs;

	AcceptInvalidationMessages();
	forget_unpinned();
	foreach(lc, compiled)
	{
		fs = lfirst(lc);
		if (fs->valid && strcmp(fs->name, name) == 0)
			return fs;
	}
	fs = compile(name);
	if (fs == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("feature set \"%s\" does not exist", name),
				 errhint("SELECT name FROM risk.feature_sets lists them.")));
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		compiled = lappend(compiled, fs);
		MemoryContextSwitchTo(old);
	}
	return fs;
}

bool
feature_set_exists(const char *name)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};
	bool		found;
	CatalogIdentity id;
	ListCell   *lc;

	/* the trigger asks at each statement: answer from what we know */
	AcceptInvalidationMessages();
	foreach(lc, compiled)
		if (((FeatureSet *) lfirst(lc))->valid && strcmp(((FeatureSet *) lfirst(lc))->name, name) == 0)
			return true;
	foreach(lc, not_sets)
		if (strcmp(lfirst(lc), name) == 0)
			return false;
	catalog_spi_connect();
	catalog_as_owner("feature_sets", &id);
	if (SPI_execute_with_args(psprintf("SELECT 1 FROM %s WHERE name OPERATOR(pg_catalog.=) $1",
									   catalog_read_name("feature_sets")),
							  1, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read risk.feature_sets");
	catalog_as_caller(&id);
	found = SPI_processed > 0;
	SPI_finish();
	if (!found && list_length(not_sets) < 64)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		know_catalog();
		not_sets = lappend(not_sets, pstrdup(name));
		MemoryContextSwitchTo(old);
	}
	return found;
}

static void
unpin(void *arg)
{
	FeatureSet *fs = arg;

	fs->pins--;
}

FeatureSet *
feature_set_pin(const char *name, MemoryContext until)
{
	FeatureSet *fs = feature_set_get(name);
	MemoryContextCallback *cb = MemoryContextAlloc(until, sizeof(MemoryContextCallback));

	fs->pins++;
	cb->func = unpin;
	cb->arg = fs;
	MemoryContextRegisterResetCallback(until, cb);
	return fs;
}

/* ------------------------------------------------------------------------
 * Rows
 * ------------------------------------------------------------------------
 */

void
feature_set_eval(FeatureSet *fs, HeapTuple tuple)
{
	ExprContext *econtext = GetPerTupleExprContext(fs->estate);

	ResetExprContext(econtext);
	ExecStoreHeapTuple(tuple, fs->slot, false);
	econtext->ecxt_scantuple = fs->slot;
	for (int i = 0; i < fs->nexprs; i++)
		fs->values[i] = ExecEvalExprSwitchContext(fs->states[i], econtext, &fs->nulls[i]);
}

/* The row's time; false when NULL (no event). */
static bool
row_time(FeatureSet *fs, TimestampTz *at)
{
	bool		isnull;
	Datum		d = slot_getattr(fs->slot, fs->time_att, &isnull);

	if (isnull)
		return false;
	*at = DatumGetTimestampTz(d);
	if (TIMESTAMP_NOT_FINITE(*at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("feature set \"%s\" cannot use an infinite time", fs->name)));
	return true;
}

static void
row_features(FeatureSet *fs, double *out, bool *isnull)
{
	for (int i = 0; i < fs->nfeatures; i++)
	{
		const FeatureDef *f = &fs->features[i];

		if (f->kind != FEATURE_ROW)
			continue;
		isnull[i] = fs->nulls[f->expr];
		out[i] = isnull[i] ? 0 : DatumGetFloat8(fs->values[f->expr]);
	}
}

static void
entity_null(FeatureSet *fs, const FeatureEntity *e, double *out, bool *isnull)
{
	for (int i = 0; i < e->nfeatures; i++)
	{
		out[e->features[i]] = 0;
		isnull[e->features[i]] = true;
	}
}

static Oid
feature_state_type(void)
{
	static Oid	type = InvalidOid;

	if (!OidIsValid(type) || !SearchSysCacheExists1(TYPEOID, ObjectIdGetDatum(type)))
		type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("feature_state"),
							   ObjectIdGetDatum(get_namespace_oid(RISK_SCHEMA, false)));
	return type;
}

static void pg_attribute_noreturn()
other_layout(const FeatureSet *fs, const FeatureEntity *e)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("feature set \"%s\": the states of entity \"%s\" were built for another declaration",
					fs->name, e->name),
			 errdetail("Its features changed since the states in %s were written.", get_rel_name(e->store)),
			 errhint("SELECT risk.rebuild_feature_states('%s') rebuilds them from the events.", fs->name)));
}

/* ------------------------------------------------------------------------
 * Online: the scoring trigger
 * ------------------------------------------------------------------------
 */

typedef struct OnlineStep
{
	FeatureSet *fs;
	FeatureEntity *e;
	FeatureEvent ev;
	double	   *out;
	bool	   *isnull;
} OnlineStep;

static Datum
online_change(Datum stored, void *arg)
{
	OnlineStep *c = arg;
	EntityState *st;

	if (stored == (Datum) 0)
		st = feature_state_new(c->e);
	else
	{
		bool		other;

		st = feature_state_load(c->e, stored, &other);
		if (other)
			other_layout(c->fs, c->e);
	}
	feature_state_step(c->fs, c->e, st, &c->ev, c->out, c->isnull);
	return feature_state_store(st);
}

bool
feature_set_online(FeatureSet *fs, HeapTuple tuple, const Oid *stores, double *out, bool *isnull,
				   int64 *arrival)
{
	OnlineStep	c;
	Oid			userid;
	int			sec_context;
	bool		has_time;

	feature_set_eval(fs, tuple);
	row_features(fs, out, isnull);
	has_time = row_time(fs, &c.ev.at);
	c.ev.ties_before = fs->tie_att != 0;
	c.fs = fs;
	c.out = out;
	c.isnull = isnull;
	PreventCommandIfReadOnly("a feature set's states");
	/* the stores are the declaring role's: written as it, as foreign-key checks run as the owner */
	GetUserIdAndSecContext(&userid, &sec_context);
	SetUserIdAndSecContext(fs->owner, sec_context | SECURITY_LOCAL_USERID_CHANGE);
	for (int i = 0; i < fs->nentities; i++)
	{
		FeatureEntity *e = &fs->entities[i];
		Relation	rel;

		if (!has_time || fs->nulls[e->expr])
		{
			entity_null(fs, e, out, isnull);	/* no event for this kind */
			continue;
		}
		c.e = e;
		velocity_store_privileges(stores ? stores[i] : e->store, "feature set");
		rel = table_open(stores ? stores[i] : e->store, RowExclusiveLock);
		(void) velocity_store_apply(rel, feature_state_type(), fs->values[e->expr], "feature set",
									online_change, &c);
		table_close(rel, NoLock);
	}
	/* drawn while every state this row changed is locked: the order they were applied in */
	if (fs->arrival_att)
		*arrival = nextval_internal(fs->arrival_seq, false);
	SetUserIdAndSecContext(userid, sec_context);
	return fs->arrival_att != 0;
}

/* ------------------------------------------------------------------------
 * Batch: risk.feature_set_window(set, entity, row) OVER (PARTITION BY
 * entity ORDER BY time, tie-break); risk.feature_set_row(set, row)
 * ------------------------------------------------------------------------
 */

typedef struct BatchCall
{
	FeatureSet *fs;
	int			entity;
	double	   *out;
	bool	   *isnull;
} BatchCall;

/*
 * Whether rowtype is the row of a Citus shard of events (the batch function
 * pushed down to the shards), with the same columns in the same places.
 */
static bool
shard_row_of(Oid rowtype, Oid events)
{
	Oid			shard = get_typ_typrelid(rowtype);
	TupleDesc	in;
	TupleDesc	out;
	bool		same;

	if (!OidIsValid(shard) || catalog_citus_table_of(shard) != events)
		return false;
	in = lookup_rowtype_tupdesc(rowtype, -1);
	out = lookup_rowtype_tupdesc(get_rel_type_id(events), -1);
	same = convert_tuples_by_name(in, out) == NULL;
	ReleaseTupleDesc(in);
	ReleaseTupleDesc(out);
	return same;
}

static BatchCall *
batch_call(FunctionCallInfo fcinfo, Datum set, Datum entity, bool has_entity, Oid rowtype)
{
	BatchCall  *bc = fcinfo->flinfo->fn_extra;
	char	   *name = TextDatumGetCString(set);

	if (bc != NULL && bc->fs->valid && strcmp(bc->fs->name, name) == 0)
		return bc;
	bc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(BatchCall));
	bc->fs = feature_set_pin(name, fcinfo->flinfo->fn_mcxt);
	if (rowtype != get_rel_type_id(bc->fs->events) && !shard_row_of(rowtype, bc->fs->events))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("feature set \"%s\" computes features of rows of %s, not of %s",
						name, get_rel_name(bc->fs->events), format_type_be(rowtype))));
	bc->entity = -1;
	if (has_entity)
	{
		char	   *e = TextDatumGetCString(entity);

		for (int i = 0; i < bc->fs->nentities; i++)
			if (strcmp(bc->fs->entities[i].name, e) == 0)
				bc->entity = i;
		if (bc->entity < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("feature set \"%s\" has no entity \"%s\"", name, e)));
	}
	bc->out = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(double) * Max(1, bc->fs->nfeatures));
	bc->isnull = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(bool) * Max(1, bc->fs->nfeatures));
	fcinfo->flinfo->fn_extra = bc;
	return bc;
}

static HeapTuple
row_tuple(Datum row)
{
	HeapTupleHeader th = DatumGetHeapTupleHeader(row);
	HeapTuple	tuple = palloc(sizeof(HeapTupleData));

	tuple->t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tuple->t_self);
	tuple->t_tableOid = InvalidOid;
	tuple->t_data = th;
	return tuple;
}

static ArrayType *
values_array(const double *out, const bool *isnull, const int *which, int n)
{
	Datum	   *values = palloc(sizeof(Datum) * Max(1, n));
	bool	   *nulls = palloc(sizeof(bool) * Max(1, n));
	int			dims[1] = {n};
	int			lbs[1] = {1};

	for (int i = 0; i < n; i++)
	{
		values[i] = Float8GetDatum(out[which[i]]);
		nulls[i] = isnull[which[i]];
	}
	return construct_md_array(values, nulls, 1, dims, lbs, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
							  TYPALIGN_DOUBLE);
}

/* Where a partition's entity state lives. */
typedef struct PartitionState
{
	EntityState *st;
} PartitionState;

PG_FUNCTION_INFO_V1(risk_feature_set_window);
Datum
risk_feature_set_window(PG_FUNCTION_ARGS)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	bool		isnull;
	Datum		set = WinGetFuncArgCurrent(winobj, 0, &isnull);
	Datum		entity;
	Datum		row;
	bool		no_entity,
				row_null;
	BatchCall  *bc;
	FeatureEntity *e;
	PartitionState *ps;
	FeatureEvent ev;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("risk.feature_set_window needs a feature set, not NULL")));
	entity = WinGetFuncArgCurrent(winobj, 1, &no_entity);
	row = WinGetFuncArgCurrent(winobj, 2, &row_null);
	if (no_entity)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("risk.feature_set_window needs an entity, not NULL")));
	bc = batch_call(fcinfo, set, entity, true, get_fn_expr_argtype(fcinfo->flinfo, 2));
	e = &bc->fs->entities[bc->entity];
	if (row_null)
		PG_RETURN_NULL();
	feature_set_eval(bc->fs, row_tuple(row));
	if (!row_time(bc->fs, &ev.at) || bc->fs->nulls[e->expr])
	{
		entity_null(bc->fs, e, bc->out, bc->isnull);
		PG_RETURN_ARRAYTYPE_P(values_array(bc->out, bc->isnull, e->features, e->nfeatures));
	}
	ev.ties_before = bc->fs->tie_att != 0;
	ps = WinGetPartitionLocalMemory(winobj, sizeof(PartitionState));
	if (ps->st == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(ps));

		ps->st = feature_state_new(e);
		MemoryContextSwitchTo(old);
	}
	{
		MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(ps));

		feature_state_step(bc->fs, e, ps->st, &ev, bc->out, bc->isnull);
		MemoryContextSwitchTo(old);
	}
	PG_RETURN_ARRAYTYPE_P(values_array(bc->out, bc->isnull, e->features, e->nfeatures));
}

PG_FUNCTION_INFO_V1(risk_feature_set_row);
Datum
risk_feature_set_row(PG_FUNCTION_ARGS)
{
	BatchCall  *bc = batch_call(fcinfo, PG_GETARG_DATUM(0), (Datum) 0, false, get_fn_expr_argtype(fcinfo->flinfo, 1));
	FeatureSet *fs = bc->fs;
	int		   *which = palloc(sizeof(int) * Max(1, fs->nfeatures));
	int			n = 0;

	feature_set_eval(fs, row_tuple(PG_GETARG_DATUM(1)));
	row_features(fs, bc->out, bc->isnull);
	for (int i = 0; i < fs->nfeatures; i++)
		if (fs->features[i].kind == FEATURE_ROW)
			which[n++] = i;
	PG_RETURN_ARRAYTYPE_P(values_array(bc->out, bc->isnull, which, n));
}

/* ------------------------------------------------------------------------
 * risk.feature_state_agg(set, entity, row ORDER BY time, tie-break): the
 * state an entity's events leave (the rebuild of a store)
 * ------------------------------------------------------------------------
 */

typedef struct FeatureAggState
{
	BatchCall  *bc;
	EntityState *st;
} FeatureAggState;

PG_FUNCTION_INFO_V1(risk_feature_state_agg_step);
Datum
risk_feature_state_agg_step(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	MemoryContext old;
	FeatureAggState   *as = PG_ARGISNULL(0) ? NULL : (FeatureAggState *) PG_GETARG_POINTER(0);
	BatchCall  *bc;
	FeatureEntity *e;
	FeatureEvent ev;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "risk.feature_state_agg called in a non-aggregate context");
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("risk.feature_state_agg needs a feature set and an entity, not NULL")));
	bc = batch_call(fcinfo, PG_GETARG_DATUM(1), PG_GETARG_DATUM(2), true, get_fn_expr_argtype(fcinfo->flinfo, 3));
	e = &bc->fs->entities[bc->entity];
	old = MemoryContextSwitchTo(aggcontext);
	if (as == NULL)
	{
		as = palloc(sizeof(FeatureAggState));
		as->bc = bc;
		as->st = feature_state_new(e);
	}
	MemoryContextSwitchTo(old);
	if (PG_ARGISNULL(3))
		PG_RETURN_POINTER(as);
	feature_set_eval(bc->fs, row_tuple(PG_GETARG_DATUM(3)));
	if (!row_time(bc->fs, &ev.at) || bc->fs->nulls[e->expr])
		PG_RETURN_POINTER(as);
	ev.ties_before = bc->fs->tie_att != 0;
	old = MemoryContextSwitchTo(aggcontext);
	feature_state_step(bc->fs, e, as->st, &ev, bc->out, bc->isnull);
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(as);
}

PG_FUNCTION_INFO_V1(risk_feature_state_agg_final);
Datum
risk_feature_state_agg_final(PG_FUNCTION_ARGS)
{
	FeatureAggState   *as = PG_ARGISNULL(0) ? NULL : (FeatureAggState *) PG_GETARG_POINTER(0);

	if (as == NULL)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(feature_state_store(as->st));
}

/* ------------------------------------------------------------------------
 * risk.entity_features(set, entity, value, at): an entity's features now
 * ------------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(risk_entity_features);
Datum
risk_entity_features(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name;
	char	   *entity;
	FeatureSet *fs;
	FeatureEntity *e = NULL;
	TimestampTz at;
	Oid			argtype = get_fn_expr_argtype(fcinfo->flinfo, 2);
	Datum		stored = (Datum) 0;
	double	   *out;
	bool	   *isnull;
	EntityState *st;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("risk.entity_features needs a feature set, an entity and its value, not NULL")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	entity = text_to_cstring(PG_GETARG_TEXT_PP(1));
	at = PG_ARGISNULL(3) ? GetCurrentTransactionStartTimestamp() : PG_GETARG_TIMESTAMPTZ(3);
	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("risk.entity_features cannot read at an infinite time")));
	fs = feature_set_pin(name, fcinfo->flinfo->fn_mcxt);
	for (int i = 0; i < fs->nentities; i++)
		if (strcmp(fs->entities[i].name, entity) == 0)
			e = &fs->entities[i];
	if (e == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("feature set \"%s\" has no entity \"%s\"", name, entity),
				 errhint("SELECT entity FROM risk.feature_set_entities WHERE feature_set = '%s' lists them.", name)));
	InitMaterializedSRF(fcinfo, 0);
	{
		Oid			types[1] = {argtype};
		Datum		args[1] = {PG_GETARG_DATUM(2)};
		char	   *query;
		Relation	rel = table_open(e->store, AccessShareLock);
		int			nest;

		nest = feature_path_push();
		query = psprintf("SELECT s.%s FROM %s s WHERE s.%s OPERATOR(pg_catalog.=) $1::%s",
						 quote_identifier("state"),
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													RelationGetRelationName(rel)),
						 quote_identifier("entity"), format_type_be_qualified(e->type));
		feature_path_pop(nest);
		table_close(rel, AccessShareLock);
		catalog_spi_connect();
		if (SPI_execute_with_args(query, 1, types, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the store of entity \"%s\"", entity);
		if (SPI_processed == 1)
		{
			bool		snull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &snull);

			if (!snull)
				stored = SPI_datumTransfer(d, false, -1);
		}
		SPI_finish();
	}
	out = palloc0(sizeof(double) * Max(1, fs->nfeatures));
	isnull = palloc(sizeof(bool) * Max(1, fs->nfeatures));
	if (stored == (Datum) 0)
		st = feature_state_new(e);
	else
	{
		bool		other;

		st = feature_state_load(e, stored, &other);
		if (other)
			other_layout(fs, e);
	}
	feature_state_peek(fs, e, st, at, true, out, isnull);
	for (int i = 0; i < e->nfeatures; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, isnull[e->features[i]]};

		values[0] = CStringGetTextDatum(fs->features[e->features[i]].name);
		values[1] = Float8GetDatum(out[e->features[i]]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

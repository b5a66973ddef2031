/*-------------------------------------------------------------------------
 * rules_compile.c
 *	  A rule's SQL expression -> a checked, planned boolean expression over
 *	  the row's columns, the model's features and score, and the time of the
 *	  decision; a published version -> a CompiledRuleSet ready to evaluate.
 *
 * The expression is parsed as PostgreSQL parses any expression, with its
 * names resolved by a column-reference hook (as PL/pgSQL resolves its
 * variables): `score` is the model's score; a name is the table's column of
 * that name, or else the model's feature; `new.name` is always the column,
 * `features.name` always the feature.  They become parameters, filled per
 * row.  What a rule may not be (each its own SQLSTATE): several statements
 * or anything but one expression (42601), not boolean (42804), an unknown
 * name (42703) or function (42883), a volatile function (42P17), a
 * subquery or set-returning function (0A000), an aggregate (42803) or
 * window function (42P20), a generated column (0A000: the trigger sees the
 * row before it is computed), an unknown list (42704).
 *
 * Names are resolved with search_path = pg_catalog, pg_temp: another schema's
 * function is named with its schema (risk.in_list).
 *
 * now(), transaction_timestamp(), statement_timestamp() and
 * CURRENT_TIMESTAMP are the decision's time, and risk.in_list(list, value)
 * asks about that time: the insert's statement in the trigger, the order's
 * time in a backtest.  The other clock functions are refused.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_func.h"
#include "parser/parse_node.h"
#include "parser/parser.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "lists.h"
#include "rules.h"

/* ------------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------------
 */

typedef struct HookState
{
	const RuleContext *cx;
	const char *key;
} HookState;

static int
column_named(const RuleContext *cx, const char *name)
{
	for (int i = 0; i < cx->desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(cx->desc, i);

		if (!a->attisdropped && strcmp(NameStr(a->attname), name) == 0)
			return i + 1;
	}
	return 0;
}

static int
feature_named(const RuleContext *cx, const char *name)
{
	for (int i = 0; i < cx->num_features; i++)
		if (strcmp(cx->feature_names[i], name) == 0)
			return i;
	return -1;
}

static Param *
make_param(int id, Oid type, int32 typmod, Oid collation, int location)
{
	Param	   *p = makeNode(Param);

	p->paramkind = PARAM_EXTERN;
	p->paramid = id;
	p->paramtype = type;
	p->paramtypmod = typmod;
	p->paramcollid = collation;
	p->location = location;
	return p;
}

static Node *
column_param(ParseState *pstate, HookState *hs, int attno, int location)
{
	Form_pg_attribute a = TupleDescAttr(hs->cx->desc, attno - 1);

	if (a->attgenerated)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("rule \"%s\" reads the generated column \"%s\"", hs->key, NameStr(a->attname)),
				 errdetail("The scoring trigger decides before generated columns are computed."),
				 parser_errposition(pstate, location)));
	return (Node *) make_param(attno, a->atttypid, a->atttypmod, a->attcollation, location);
}

static Node *
feature_param(const RuleContext *cx, int i, int location)
{
	return (Node *) make_param(cx->desc->natts + 1 + i, FLOAT8OID, -1, InvalidOid, location);
}

/* new.name and features.name: always ours, with our own errors */
static Node *
rule_qualified_ref(ParseState *pstate, ColumnRef *cref)
{
	HookState  *hs = (HookState *) pstate->p_ref_hook_state;
	const RuleContext *cx = hs->cx;
	Node	   *first = linitial(cref->fields);
	Node	   *second;
	const char *name;
	int			n;

	if (list_length(cref->fields) != 2 || !IsA(first, String) || !IsA(lsecond(cref->fields), String))
		return NULL;
	second = lsecond(cref->fields);
	name = strVal(second);
	if (strcmp(strVal(first), "new") == 0)
	{
		if ((n = column_named(cx, name)) > 0)
			return column_param(pstate, hs, n, cref->location);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("table %s has no column \"%s\"", cx->relname, name),
				 parser_errposition(pstate, cref->location)));
	}
	if (strcmp(strVal(first), "features") == 0)
	{
		if ((n = feature_named(cx, name)) >= 0)
			return feature_param(cx, n, cref->location);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("model \"%s\" has no feature \"%s\"", cx->model, name),
				 parser_errposition(pstate, cref->location)));
	}
	return NULL;
}

static Node *
rule_columnref(ParseState *pstate, ColumnRef *cref, Node *var)
{
	HookState  *hs = (HookState *) pstate->p_ref_hook_state;
	const RuleContext *cx = hs->cx;
	int			nfields = list_length(cref->fields);
	Node	   *first = linitial(cref->fields);
	Node	   *second = nfields == 2 ? lsecond(cref->fields) : NULL;
	int			n;

	if (var != NULL || !IsA(first, String) || nfields > 2 || (second && !IsA(second, String)))
		return NULL;
	if (nfields == 1)
	{
		const char *name = strVal(first);

		if (strcmp(name, "score") == 0)
			return (Node *) make_param(cx->desc->natts + cx->num_features + 1, FLOAT8OID, -1, InvalidOid,
									   cref->location);
		if ((n = column_named(cx, name)) > 0)
			return column_param(pstate, hs, n, cref->location);
		if ((n = feature_named(cx, name)) >= 0)
			return feature_param(cx, n, cref->location);
		return NULL;
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * The decision's time, lists
 * ------------------------------------------------------------------------
 */

typedef struct Rewrite
{
	const RuleContext *cx;
	const char *key;
	Oid			in_list[2];		/* risk.in_list(text, anyelement), (text, text) */
	Oid			in_list_at[2];	/* the same with the time: (..., timestamptz) */
	List	   *lists;
	bool		contained;
} Rewrite;

static Node *
at_param(const RuleContext *cx, int location)
{
	return (Node *) make_param(cx->desc->natts + cx->num_features + 2, TIMESTAMPTZOID, -1, InvalidOid, location);
}

static Oid
in_list_function(int nargs, Oid value)
{
	Oid			types[3] = {TEXTOID, value, TIMESTAMPTZOID};
	List	   *name = list_make2(makeString("risk"), makeString("in_list"));

	return LookupFuncName(name, nargs, types, true);
}

static Node *
rewrite_mutator(Node *node, Rewrite *rw)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, FuncExpr))
	{
		FuncExpr   *f = (FuncExpr *) node;
		int			v = f->funcid == rw->in_list[0] || f->funcid == rw->in_list_at[0] ? 0 : 1;

		if (f->funcid == F_NOW || f->funcid == F_TRANSACTION_TIMESTAMP || f->funcid == F_STATEMENT_TIMESTAMP)
			return at_param(rw->cx, f->location);
		if (f->funcid == rw->in_list[v] || f->funcid == rw->in_list_at[v])
		{
			if (f->funcid == rw->in_list[v])
			{
				FuncExpr   *g = (FuncExpr *) copyObject(f);

				g->args = (List *) expression_tree_mutator((Node *) f->args, rewrite_mutator, rw);
				g->funcid = rw->in_list_at[v];
				g->args = lappend(g->args, at_param(rw->cx, f->location));
				return (Node *) g;
			}
		}
	}
	if (IsA(node, SQLValueFunction))
	{
		SQLValueFunction *v = (SQLValueFunction *) node;

		if (v->op == SVFOP_CURRENT_TIMESTAMP)
			return at_param(rw->cx, v->location);
		if (v->op <= SVFOP_LOCALTIMESTAMP_N)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("rule \"%s\" reads the clock", rw->key),
					 errdetail("In a rule, now() is the time of the decision: the insert's in the trigger, the order's in a backtest."),
					 errhint("Write now(), or now()::date for the day.")));
	}
	return expression_tree_mutator(node, rewrite_mutator, rw);
}

/* The constant list names of risk.in_list calls in a planned expression. */
static bool
lists_walker(Node *node, Rewrite *rw)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncExpr) &&
		(((FuncExpr *) node)->funcid == rw->in_list_at[0] || ((FuncExpr *) node)->funcid == rw->in_list_at[1]))
	{
		Node	   *list = linitial(((FuncExpr *) node)->args);

		if (IsA(list, Const) && !((Const *) list)->constisnull)
		{
			char	   *name = TextDatumGetCString(((Const *) list)->constvalue);

			if (!list_member(rw->lists, makeString(name)))
				rw->lists = lappend(rw->lists, makeString(name));
		}
	}
	return expression_tree_walker(node, lists_walker, rw);
}

/* ------------------------------------------------------------------------
 * Which rules can fail without a subtransaction
 * ------------------------------------------------------------------------
 */

static bool
builtin_immutable(Oid fn, void *context)
{
	return !(fn < FirstGenbkiObjectId && func_volatile(fn) == PROVOLATILE_IMMUTABLE);
}

/*
 * A built-in scalar type: its support functions (equality, comparison,
 * output) are built-in too.  Records and a user's types are not: record_eq
 * or array_eq on them calls the user's functions.
 */
static bool
builtin_scalar_type(Oid type)
{
	return type < FirstGenbkiObjectId && type != RECORDOID && type != RECORDARRAYOID &&
		!type_is_rowtype(type);
}

/*
 * True when some node could leave state behind on error: anything but
 * parameters, constants, boolean logic, CASE and COALESCE, and calls of
 * immutable built-in functions or of risk.in_list on a constant list.
 * Those touch no table, lock or buffer: their errors leave only memory.
 */
static bool
uncontained_walker(Node *node, Rewrite *rw)
{
	if (node == NULL)
		return false;
	if (!IsA(node, List) && !IsA(node, CaseWhen) && !builtin_scalar_type(exprType(node)))
		return true;
	switch (nodeTag(node))
	{
		case T_Param:
		case T_Const:
		case T_BoolExpr:
		case T_NullTest:
		case T_BooleanTest:
		case T_CaseExpr:
		case T_CaseWhen:
		case T_CaseTestExpr:
		case T_CoalesceExpr:
		case T_RelabelType:
		case T_ArrayExpr:
		case T_List:
			break;
		case T_FuncExpr:
			{
				FuncExpr   *f = (FuncExpr *) node;

				if (f->funcid == rw->in_list_at[0] || f->funcid == rw->in_list_at[1])
				{
					Node	   *list = linitial(f->args);

					if (!IsA(list, Const))
						return true;
					return expression_tree_walker(node, uncontained_walker, rw);
				}
			}
			/* FALLTHROUGH */
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
		case T_ScalarArrayOpExpr:
		case T_CoerceViaIO:
			if (check_functions_in_node(node, builtin_immutable, NULL))
				return true;
			break;
		default:
			return true;
	}
	return expression_tree_walker(node, uncontained_walker, rw);
}

/* ------------------------------------------------------------------------
 * One expression
 * ------------------------------------------------------------------------
 */

static void
refuse(const char *key, int code, const char *what, const char *hint)
{
	ereport(ERROR,
			(errcode(code),
			 errmsg("rule \"%s\" uses %s", key, what),
			 hint ? errhint("%s", hint) : 0));
}

/* The one expression of "SELECT <expression>", or an error (42601). */
static Node *
parse_one_expression(const char *key, const char *sql)
{
	List	   *stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	SelectStmt *s;

	if (list_length(stmts) == 1 && IsA(((RawStmt *) linitial(stmts))->stmt, SelectStmt))
	{
		s = (SelectStmt *) ((RawStmt *) linitial(stmts))->stmt;
		if (s->op == SETOP_NONE && list_length(s->targetList) == 1 && s->fromClause == NIL &&
			s->whereClause == NULL && s->groupClause == NIL && s->havingClause == NULL &&
			s->windowClause == NIL && s->distinctClause == NIL && s->sortClause == NIL &&
			s->limitCount == NULL && s->limitOffset == NULL && s->lockingClause == NIL &&
			s->withClause == NULL && s->intoClause == NULL && s->valuesLists == NIL &&
			IsA(linitial(s->targetList), ResTarget) && ((ResTarget *) linitial(s->targetList))->name == NULL)
			return ((ResTarget *) linitial(s->targetList))->val;
	}
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("rule \"%s\" is not one expression", key),
			 errhint("A rule is a boolean SQL expression, like amount > 300 AND risk.in_list('blocked_devices', device_id).")));
	return NULL;
}

static Expr *compile_expression(const RuleContext *cx, const char *key, const char *expression,
								List **lists, bool *contained);

/*
 * Rules are parsed and planned with search_path = pg_catalog, pg_temp,
 * whoever compiles them (the publisher, or the trigger in an inserting
 * session): what a name means cannot depend on a session's path, nor on
 * its temporary objects (searched last, and never for functions).
 * Functions of other schemas are named with their schema (risk.in_list).
 */
Expr *
rules_compile_expression(const RuleContext *cx, const char *key, const char *expression,
						 List **lists, bool *contained)
{
	int			level = NewGUCNestLevel();
	Expr	   *expr;

	(void) set_config_option("search_path", RULES_SEARCH_PATH, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	expr = compile_expression(cx, key, expression, lists, contained);
	AtEOXact_GUC(true, level);
	return expr;
}

static Expr *
compile_expression(const RuleContext *cx, const char *key, const char *expression,
				   List **lists, bool *contained)
{
	char	   *sql = psprintf("SELECT %s", expression);
	ParseState *pstate;
	HookState	hs;
	Rewrite		rw;
	Node	   *raw;
	Node	   *node;
	Oid			type;
	ListCell   *lc;

	raw = parse_one_expression(key, sql);
	pstate = make_parsestate(NULL);
	pstate->p_sourcetext = sql;
	hs.cx = cx;
	hs.key = key;
	pstate->p_pre_columnref_hook = rule_qualified_ref;
	pstate->p_post_columnref_hook = rule_columnref;
	pstate->p_ref_hook_state = &hs;
	node = transformExpr(pstate, raw, EXPR_KIND_OTHER);
	if (pstate->p_hasAggs)
		refuse(key, ERRCODE_GROUPING_ERROR, "an aggregate function", "A rule reads one row: velocity features count the others.");
	if (pstate->p_hasWindowFuncs)
		refuse(key, ERRCODE_WINDOWING_ERROR, "a window function", "A rule reads one row: velocity features count the others.");
	if (pstate->p_hasTargetSRFs || expression_returns_set(node))
		refuse(key, ERRCODE_FEATURE_NOT_SUPPORTED, "a set-returning function", NULL);
	if (checkExprHasSubLink(node))
		refuse(key, ERRCODE_FEATURE_NOT_SUPPORTED, "a subquery",
			   "risk.in_list(list, value) tests a list; a feature of the model carries what other rows say.");
	type = exprType(node);
	if (type != BOOLOID && type != UNKNOWNOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("rule \"%s\" is of type %s, not boolean", key, format_type_be(type)),
				 errhint("A rule is a condition, like amount > 300.")));
	node = coerce_to_boolean(pstate, node, "a rule");
	assign_expr_collations(pstate, node);
	if (contain_volatile_functions(node))
		refuse(key, ERRCODE_INVALID_OBJECT_DEFINITION, "a volatile function",
			   "Rules call only immutable and stable functions: a rule gives the same answer for the same row, in the trigger and in a backtest.");
	free_parsestate(pstate);

	memset(&rw, 0, sizeof(rw));
	rw.cx = cx;
	rw.key = key;
	rw.in_list[0] = in_list_function(2, ANYELEMENTOID);
	rw.in_list[1] = in_list_function(2, TEXTOID);
	rw.in_list_at[0] = in_list_function(3, ANYELEMENTOID);
	rw.in_list_at[1] = in_list_function(3, TEXTOID);
	node = rewrite_mutator(node, &rw);
	node = (Node *) expression_planner((Expr *) node);
	/* the lists, once constants are folded: those the rules preload, checked now */
	(void) lists_walker(node, &rw);
	foreach(lc, rw.lists)
	{
		char	   *name = strVal(lfirst(lc));

		if (!lists_preload(name))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("rule \"%s\" reads list \"%s\", which does not exist", key, name),
					 errhint("Create it with risk.create_list(); SELECT name FROM risk.lists lists them.")));
	}
	*contained = !uncontained_walker(node, &rw);
	*lists = rw.lists;
	return (Expr *) node;
}

/* ------------------------------------------------------------------------
 * A version
 * ------------------------------------------------------------------------
 */

static int
rule_order(const void *a, const void *b)
{
	const CompiledRule *x = (const CompiledRule *) a;
	const CompiledRule *y = (const CompiledRule *) b;

	if (x->def.priority != y->def.priority)
		return x->def.priority < y->def.priority ? -1 : 1;
	return strcmp(x->def.key, y->def.key);
}

/* One rule compiled and made ready to run, for rules_try. */
typedef struct RuleCompile
{
	const RuleContext *cx;
	CompiledRule *r;
	List	   *lists;
} RuleCompile;

static void
compile_rule_expression(void *arg)
{
	RuleCompile *c = (RuleCompile *) arg;
	Expr	   *expr = rules_compile_expression(c->cx, c->r->def.key, c->r->def.expression, &c->lists,
												&c->r->contained);

	/* EXECUTE on what the rule calls is checked here: a rule the role may not run is broken */
	c->r->state = ExecInitExpr(expr, NULL);
}

/*
 * Compiles one rule of a set; a rule that does not compile is kept broken,
 * with its message (in a subtransaction when one can start; in a parallel
 * worker the error is raised).
 */
static void
compile_rule(CompiledRuleSet *rs, const RuleContext *cx, CompiledRule *r, List **lists)
{
	RuleCompile c = {cx, r, NIL};
	ErrorData  *e;
	ListCell   *lc;

	if (IsInParallelMode())
		compile_rule_expression(&c);
	else if (!rules_try(compile_rule_expression, &c, &e))
	{
		r->broken = e->message;
		r->state = NULL;
		return;
	}
	foreach(lc, c.lists)
		if (!list_member(*lists, lfirst(lc)))
			*lists = lappend(*lists, lfirst(lc));
	if (!r->contained)
		rs->any_uncontained = true;
}

CompiledRuleSet *
rules_compile_set(const RuleContext *cx, int32 version, const RuleDef *defs, int n, MemoryContext parent)
{
	MemoryContext mcxt = AllocSetContextCreate(parent, "risk rule set", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(mcxt);
	CompiledRuleSet *rs = palloc0(sizeof(CompiledRuleSet));
	int			nparams;
	List	   *lists = NIL;
	ListCell   *lc;
	int			i;

	MemoryContextSetIdentifier(mcxt, pstrdup(cx->rule_set));
	rs->mcxt = mcxt;
	strlcpy(rs->name, cx->rule_set, sizeof(rs->name));
	rs->version = version;
	rs->natts = cx->desc->natts;
	rs->num_features = cx->num_features;
	rs->nrules = n;
	rs->rules = palloc0(sizeof(CompiledRule) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		rs->rules[i].def.key = pstrdup(defs[i].key);
		rs->rules[i].def.expression = pstrdup(defs[i].expression);
		rs->rules[i].def.action = defs[i].action;
		rs->rules[i].def.mode = defs[i].mode;
		rs->rules[i].def.priority = defs[i].priority;
		rs->rules[i].def.description = pstrdup(defs[i].description);
	}
	if (n > 1)
		qsort(rs->rules, n, sizeof(CompiledRule), rule_order);
	rs->policy = palloc(sizeof(RulePolicyRule) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		rs->policy[i].action = rs->rules[i].def.action;
		rs->policy[i].mode = rs->rules[i].def.mode;
		if (rs->rules[i].def.mode != RULE_OFF)
			compile_rule(rs, cx, &rs->rules[i], &lists);
	}
	rs->nlists = list_length(lists);
	rs->lists = palloc(sizeof(char *) * Max(rs->nlists, 1));
	i = 0;
	foreach(lc, lists)
		rs->lists[i++] = pstrdup(strVal(lfirst(lc)));

	nparams = rs->natts + rs->num_features + 2;
	rs->params = makeParamList(nparams);
	rs->params->numParams = nparams;
	for (i = 0; i < rs->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(cx->desc, i);

		rs->params->params[i].ptype = a->attisdropped ? InvalidOid : a->atttypid;
		rs->params->params[i].pflags = PARAM_FLAG_CONST;
		rs->params->params[i].isnull = true;
	}
	for (i = rs->natts; i < nparams; i++)
	{
		rs->params->params[i].ptype = i == nparams - 1 ? TIMESTAMPTZOID : FLOAT8OID;
		rs->params->params[i].pflags = PARAM_FLAG_CONST;
		rs->params->params[i].isnull = true;
	}
	rs->econtext = CreateStandaloneExprContext();
	rs->econtext->ecxt_param_list_info = rs->params;
	MemoryContextSwitchTo(old);
	return rs;
}

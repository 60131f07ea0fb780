/* Index candidates from one normalized statement, from libpg_query's JSON
 * parse tree (json-c). */
#include "advisor/candidates.h"
#include "advisor/util.h"
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SCOPES 64

struct walk {
	struct candidates_stmt *st;
	const char *query;
	int or_group, or_arm, ngroups, narms; /* the OR arm being walked */
	int nscopes;
	int parent[MAX_SCOPES];
};

/* list_str returns the i-th {"String": {"sval": ...}} of a JSON array. */
static const char *list_str(json_object *arr, size_t i)
{
	if (!arr || !json_object_is_type(arr, json_type_array) ||
	    i >= json_object_array_length(arr))
		return NULL;
	return tree_str(tree_get(json_object_array_get_idx(arr, i), "String"), "sval");
}

static size_t list_len(json_object *arr)
{
	return arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
}

static bool simple_ident(const char *s)
{
	static const char *const reserved[] = {"all",
					       "analyse",
					       "analyze",
					       "and",
					       "any",
					       "array",
					       "as",
					       "asc",
					       "asymmetric",
					       "both",
					       "case",
					       "cast",
					       "check",
					       "collate",
					       "column",
					       "constraint",
					       "create",
					       "current_catalog",
					       "current_date",
					       "current_role",
					       "current_time",
					       "current_timestamp",
					       "current_user",
					       "default",
					       "deferrable",
					       "desc",
					       "distinct",
					       "do",
					       "else",
					       "end",
					       "except",
					       "false",
					       "fetch",
					       "for",
					       "foreign",
					       "from",
					       "grant",
					       "group",
					       "having",
					       "in",
					       "initially",
					       "intersect",
					       "into",
					       "lateral",
					       "leading",
					       "limit",
					       "localtime",
					       "localtimestamp",
					       "not",
					       "null",
					       "offset",
					       "on",
					       "only",
					       "or",
					       "order",
					       "placing",
					       "primary",
					       "references",
					       "returning",
					       "select",
					       "session_user",
					       "some",
					       "symmetric",
					       "table",
					       "then",
					       "to",
					       "trailing",
					       "true",
					       "union",
					       "unique",
					       "user",
					       "using",
					       "variadic",
					       "when",
					       "where",
					       "window",
					       "with",
					       "authorization",
					       "binary",
					       "collation",
					       "concurrently",
					       "cross",
					       "current_schema",
					       "freeze",
					       "full",
					       "ilike",
					       "inner",
					       "is",
					       "isnull",
					       "join",
					       "left",
					       "like",
					       "natural",
					       "notnull",
					       "outer",
					       "overlaps",
					       "right",
					       "similar",
					       "tablesample",
					       "verbose"};
	if (!s[0] || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '$'))
			return false;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcmp(s, reserved[i]))
			return false;
	return true;
}

char *candidates_quote_ident(const char *name)
{
	if (simple_ident(name))
		return xstrdup(name);
	size_t n = strlen(name);
	char *out = xrealloc(NULL, 2 * n + 3), *o = out;
	*o++ = '"';
	for (const char *p = name; *p; p++) {
		if (*p == '"')
			*o++ = '"';
		*o++ = *p;
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

static int new_scope(struct walk *w, int parent)
{
	if (w->nscopes >= MAX_SCOPES)
		return -1;
	w->parent[w->nscopes] = parent;
	return w->nscopes++;
}

static void add_table(struct walk *w, json_object *rv, int scope)
{
	const char *name = tree_str(rv, "relname");
	if (!name)
		return;
	struct candidates_stmt *st = w->st;
	st->tables = xrealloc(st->tables, (st->ntables + 1) * sizeof(*st->tables));
	struct candidates_table *t = &st->tables[st->ntables++];
	const char *schema = tree_str(rv, "schemaname");
	const char *alias = tree_str(tree_get(rv, "alias"), "aliasname");
	t->schema = schema ? xstrdup(schema) : NULL;
	t->name = xstrdup(name);
	t->alias = alias ? xstrdup(alias) : NULL;
	t->scope = scope;
}

static void add_ref(struct walk *w, int table, int scope, const char *expr, bool is_expr,
		    enum candidates_use use, int param, bool join, bool desc)
{
	struct candidates_stmt *st = w->st;
	st->refs = xrealloc(st->refs, (st->nrefs + 1) * sizeof(*st->refs));
	struct candidates_ref *r = &st->refs[st->nrefs++];
	r->table = table;
	r->scope = scope;
	r->expr = xstrdup(expr);
	r->is_expr = is_expr;
	r->use = use;
	r->param = param;
	r->like = 0;
	r->or_group = w->or_group;
	r->or_arm = w->or_arm;
	r->join = join;
	r->desc = desc;
}

static void select_stmt(struct walk *w, json_object *sel, int scope);

/* find_table looks QUAL (an alias or table name, SCHEMA may be NULL) up in
 * SCOPE and then its outer scopes. */
static int find_table(struct walk *w, const char *schema, const char *qual, int scope)
{
	for (int s = scope; s >= 0; s = w->parent[s]) {
		for (size_t i = 0; i < w->st->ntables; i++) {
			struct candidates_table *t = &w->st->tables[i];
			if (t->scope != s)
				continue;
			if (schema) {
				if (t->schema && !strcmp(t->schema, schema) &&
				    !strcmp(t->name, qual))
					return (int)i;
			} else if (t->alias ? !strcmp(t->alias, qual) : !strcmp(t->name, qual)) {
				return (int)i;
			}
		}
	}
	return -1;
}

static int only_table(struct walk *w, int scope)
{
	int found = -1;
	for (size_t i = 0; i < w->st->ntables; i++) {
		if (w->st->tables[i].scope != scope)
			continue;
		if (found >= 0)
			return -1;
		found = (int)i;
	}
	return found;
}

/* column resolves a ColumnRef body: *TABLE (-1 when ambiguous) and its
 * column name. Returns false for anything but a plain column. */
static bool column(struct walk *w, json_object *cref, int scope, int *table, const char **name)
{
	json_object *fields = tree_get(cref, "fields");
	size_t n = list_len(fields);
	if (n < 1 || n > 3)
		return false;
	const char *col = list_str(fields, n - 1);
	if (!col)
		return false; /* A_Star */
	if (n == 1) {
		*table = only_table(w, scope);
	} else {
		const char *qual = list_str(fields, n - 2);
		const char *schema = n == 3 ? list_str(fields, 0) : NULL;
		if (!qual || (n == 3 && !schema))
			return false;
		*table = find_table(w, schema, qual, scope);
		if (*table < 0)
			return false; /* a table we do not see (function, CTE column...) */
	}
	*name = col;
	return true;
}

/* cast_expr recognizes a cast of a column to a plain type name, such as
 * created_at::date, an index expression when the cast is immutable (hypopg
 * and the planner decide). *EXPR ("(created_at::date)") is memory the
 * caller frees. */
static bool cast_expr(struct walk *w, json_object *body, int scope, int *table, char **expr,
		      bool *is_expr)
{
	json_object *abody, *tn = tree_get(body, "typeName");
	const char *atype = tree_node(tree_get(body, "arg"), &abody);
	json_object *names = tree_get(tn, "names");
	const char *tname = list_str(names, list_len(names) - 1);
	const char *name;
	if (!atype || strcmp(atype, "ColumnRef") != 0 || !tname || !list_len(names) ||
	    tree_get(tn, "typmods") || tree_get(tn, "arrayBounds") || tree_get(tn, "setof") ||
	    !column(w, abody, scope, table, &name))
		return false;
	char *q = candidates_quote_ident(name), *t = candidates_quote_ident(tname);
	size_t cap = strlen(q) + strlen(t) + 8;
	*expr = xrealloc(NULL, cap);
	snprintf(*expr, cap, "(%s::%s)", q, t);
	free(q);
	free(t);
	*is_expr = true;
	return true;
}

/* const_text renders NODE when it is a parameter or a constant, maybe
 * cast to a plain type name: "$1", "$1::text", "'day'", "3". Memory the
 * caller frees, or NULL for anything else. pg_stat_statements' texts have
 * parameters where the application wrote constants; the advisor puts
 * sampled values back in (candidates_set_param). */
static char *const_text(json_object *node)
{
	json_object *body;
	const char *type = tree_node(node, &body);
	if (!type)
		return NULL;
	if (!strcmp(type, "ParamRef")) {
		json_object *num = tree_get(body, "number");
		int n = num ? json_object_get_int(num) : 0;
		return n > 0 ? xprintf("$%d", n) : NULL;
	}
	if (!strcmp(type, "A_Const")) {
		json_object *v;
		const char *sv;
		if ((sv = tree_str(tree_get(body, "sval"), "sval")))
			return candidates_literal(sv, "text");
		if ((v = tree_get(body, "ival")))
			return xprintf("%d", json_object_get_int(tree_get(v, "ival")));
		if ((sv = tree_str(tree_get(body, "fval"), "fval")))
			return xstrdup(sv);
		return NULL;
	}
	if (!strcmp(type, "TypeCast")) {
		json_object *tn = tree_get(body, "typeName");
		json_object *names = tree_get(tn, "names");
		const char *tname = list_str(names, list_len(names) - 1);
		if (!tname || tree_get(tn, "typmods") || tree_get(tn, "arrayBounds"))
			return NULL;
		char *arg = const_text(tree_get(body, "arg"));
		if (!arg)
			return NULL;
		char *t = candidates_quote_ident(tname);
		char *out = xprintf("%s::%s", arg, t);
		free(arg);
		free(t);
		return out;
	}
	return NULL;
}

static bool col_expr(struct walk *w, json_object *node, int scope, int *table, char **expr,
		     bool *is_expr);

/* json_op_expr recognizes a JSON lookup on a column of one table,
 * data ->> $1 (maybe nested: data -> $1 ->> $2), as "(data ->> $1)". */
static bool json_op_expr(struct walk *w, json_object *body, int scope, int *table, char **expr)
{
	const char *kind = tree_str(body, "kind");
	json_object *name = tree_get(body, "name");
	const char *op = list_str(name, 0);
	if (!kind || strcmp(kind, "AEXPR_OP") != 0 || list_len(name) != 1 || !op ||
	    (strcmp(op, "->") && strcmp(op, "->>") && strcmp(op, "#>") && strcmp(op, "#>>")))
		return false;
	json_object *lbody;
	const char *ltype = tree_node(tree_get(body, "lexpr"), &lbody);
	if (!ltype || (strcmp(ltype, "ColumnRef") && strcmp(ltype, "A_Expr")))
		return false;
	char *l = NULL, *r = const_text(tree_get(body, "rexpr"));
	bool lx;
	if (!r || !col_expr(w, tree_get(body, "lexpr"), scope, table, &l, &lx)) {
		free(r);
		return false;
	}
	*expr = xprintf("(%s %s %s)", l, op, r);
	free(l);
	free(r);
	return true;
}

/* col_expr recognizes a column, or a function call on columns of one
 * table such as lower(email), maybe with constant arguments
 * (date_trunc($1, created_at)), or a JSON lookup (data ->> $1). *EXPR is
 * memory the caller frees. */
static bool col_expr(struct walk *w, json_object *node, int scope, int *table, char **expr,
		     bool *is_expr)
{
	json_object *body;
	const char *type = tree_node(node, &body);
	if (!type)
		return false;
	if (!strcmp(type, "ColumnRef")) {
		const char *name;
		if (!column(w, body, scope, table, &name))
			return false;
		*expr = candidates_quote_ident(name);
		*is_expr = false;
		return true;
	}
	if (!strcmp(type, "TypeCast"))
		return cast_expr(w, body, scope, table, expr, is_expr);
	if (!strcmp(type, "A_Expr")) {
		*is_expr = true;
		return json_op_expr(w, body, scope, table, expr);
	}
	if (strcmp(type, "FuncCall") != 0)
		return false;
	json_object *fname = tree_get(body, "funcname");
	json_object *args = tree_get(body, "args");
	size_t nargs = list_len(args);
	if (nargs < 1 || nargs > 3 || tree_get(body, "agg_filter") || tree_get(body, "over") ||
	    tree_get(body, "agg_star") || tree_get(body, "agg_distinct"))
		return false;
	const char *fn = list_str(fname, list_len(fname) - 1);
	if (!fn || !list_len(fname))
		return false;
	char *text = candidates_quote_ident(fn);
	size_t cap = strlen(text) + 3;
	text = xrealloc(text, cap);
	strcat(text, "(");
	int t = -2;
	for (size_t i = 0; i < nargs; i++) {
		json_object *abody, *arg = json_object_array_get_idx(args, i);
		const char *atype = tree_node(arg, &abody);
		const char *name;
		int at;
		char *q = const_text(arg);
		if (q) {
			cap += strlen(q) + 2;
			text = xrealloc(text, cap);
			if (i)
				strcat(text, ", ");
			strcat(text, q);
			free(q);
			continue;
		}
		if (atype && !strcmp(atype, "A_Expr")) {
			if (!json_op_expr(w, abody, scope, &at, &q) || (t != -2 && at != t)) {
				free(q);
				free(text);
				return false;
			}
		} else if (!atype || strcmp(atype, "ColumnRef") != 0 ||
			   !column(w, abody, scope, &at, &name) || (t != -2 && at != t)) {
			free(text);
			return false;
		} else {
			q = candidates_quote_ident(name);
		}
		t = at;
		cap += strlen(q) + 2;
		text = xrealloc(text, cap);
		if (i)
			strcat(text, ", ");
		strcat(text, q);
		free(q);
	}
	strcat(text, ")");
	if (t == -2) { /* no column: a value such as md5($1) */
		free(text);
		return false;
	}
	*table = t;
	*expr = text;
	*is_expr = true;
	return true;
}

/* value tells whether NODE is free of columns: a parameter, a constant, a
 * cast or function of those. *PARAM is the number of a bare (or cast)
 * parameter, else 0. */
static bool value(json_object *node, int *param)
{
	json_object *body;
	const char *type = tree_node(node, &body);
	*param = 0;
	if (!type)
		return false;
	if (!strcmp(type, "ParamRef")) {
		json_object *num = tree_get(body, "number");
		*param = num ? json_object_get_int(num) : 0;
		return true;
	}
	if (!strcmp(type, "A_Const") || !strcmp(type, "SQLValueFunction"))
		return true;
	if (!strcmp(type, "TypeCast"))
		return value(tree_get(body, "arg"), param);
	int dummy;
	if (!strcmp(type, "FuncCall")) {
		json_object *args = tree_get(body, "args");
		for (size_t i = 0; i < list_len(args); i++)
			if (!value(json_object_array_get_idx(args, i), &dummy))
				return false;
		return true;
	}
	if (!strcmp(type, "A_Expr")) {
		const char *kind = tree_str(body, "kind");
		if (!kind || strcmp(kind, "AEXPR_OP") != 0)
			return false;
		json_object *l = tree_get(body, "lexpr");
		return (!l || value(l, &dummy)) && value(tree_get(body, "rexpr"), &dummy);
	}
	if (!strcmp(type, "List") || !strcmp(type, "A_ArrayExpr")) {
		/* IN ($1, $2), and ARRAY[$1, $2] of col = ANY(ARRAY[...]) */
		json_object *items = tree_get(body, !strcmp(type, "List") ? "items" : "elements");
		for (size_t i = 0; i < list_len(items); i++)
			if (!value(json_object_array_get_idx(items, i), &dummy))
				return false;
		return true;
	}
	return false;
}

static bool is_range_op(const char *op)
{
	return !strcmp(op, "<") || !strcmp(op, ">") || !strcmp(op, "<=") || !strcmp(op, ">=");
}

/* bool_const returns 1 for the constant true, 0 for false, else -1. */
static int bool_const(json_object *node)
{
	json_object *body;
	const char *type = tree_node(node, &body);
	json_object *b = type && !strcmp(type, "A_Const") ? tree_get(body, "boolval") : NULL;
	if (!b)
		return -1;
	json_object *v = tree_get(b, "boolval"); /* absent: false */
	return v && json_object_get_boolean(v) ? 1 : 0;
}

static void qual(struct walk *w, json_object *node, int scope);
static void sublink(struct walk *w, json_object *body, int scope);

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *skip_word(const char *p, const char *word)
{
	size_t n = strlen(word);
	return strncasecmp(p, word, n) ? NULL : p + n;
}

/* any_array_as_in rewrites, in the statement's plan_text, the
 * `= ANY(ARRAY[...])` whose operator is at byte AT as `IN (...)` of the
 * same length. Its elements are values (parameters, constants): no
 * brackets or quotes inside but those of string constants. */
static void any_array_as_in(struct walk *w, int at)
{
	size_t qlen = strlen(w->query);
	if (at < 0 || (size_t)at >= qlen || w->query[at] != '=')
		return;
	const char *q = w->query, *p = skip_blanks(q + at + 1);
	if (!(p = skip_word(p, "any")) || *(p = skip_blanks(p)) != '(' ||
	    !(p = skip_word(skip_blanks(p + 1), "array")) || *(p = skip_blanks(p)) != '[')
		return;
	size_t open = (size_t)(p - q);
	bool quoted = false;
	for (p++; *p && (quoted || *p != ']'); p++) {
		if (*p == '\'')
			quoted = !quoted;
		else if (!quoted && (*p == '[' || *p == '('))
			return;
	}
	if (*p != ']')
		return;
	size_t close = (size_t)(p - q);
	p = skip_blanks(p + 1);
	if (*p != ')')
		return;
	size_t end = (size_t)(p - q);
	struct candidates_stmt *st = w->st;
	if (!st->plan_text)
		st->plan_text = xstrdup(q);
	char *t = st->plan_text;
	/* "= ANY ( ARRAY [" (at least 11 bytes) -> "IN (" and blanks */
	memset(t + at, ' ', open + 1 - (size_t)at);
	memcpy(t + at, "IN (", 4);
	/* "] )" -> ")" and blanks */
	memset(t + close, ' ', end + 1 - close);
	t[close] = ')';
}

static void a_expr(struct walk *w, json_object *body, int scope)
{
	const char *kind = tree_str(body, "kind");
	json_object *name = tree_get(body, "name");
	const char *op = list_str(name, list_len(name) - 1);
	if (!kind || !op || list_len(name) != 1)
		return;
	json_object *l = tree_get(body, "lexpr"), *r = tree_get(body, "rexpr");
	int lt, rt, param;
	char *le = NULL, *re = NULL;
	bool lx, rx;
	bool lcol = col_expr(w, l, scope, &lt, &le, &lx);
	bool rcol = col_expr(w, r, scope, &rt, &re, &rx);
	/* (SELECT max(x.ts) FROM x WHERE x.t_id = t.id) > $1: the subquery */
	json_object *sides[2] = {l, r};
	for (int i = 0; i < 2; i++) {
		json_object *sbody;
		const char *stype = tree_node(sides[i], &sbody);
		if (stype && !strcmp(stype, "SubLink"))
			sublink(w, sbody, scope);
	}
	if (!strcmp(kind, "AEXPR_OP") && (!strcmp(op, "=") || is_range_op(op))) {
		bool eq = !strcmp(op, "=");
		if (lcol && rcol) {
			/* a join condition: each side may use an index on its column */
			if (eq && (lt != rt || lt < 0)) {
				add_ref(w, lt, scope, le, lx, CANDIDATES_EQ, 0, true, false);
				add_ref(w, rt, scope, re, rx, CANDIDATES_EQ, 0, true, false);
			}
		} else if (lcol && eq && !lx && bool_const(r) >= 0) {
			/* flag = false, where the text keeps the literal */
			add_ref(w, lt, scope, le, lx,
				bool_const(r) ? CANDIDATES_ISTRUE : CANDIDATES_ISFALSE, 0, false,
				false);
		} else if (lcol && value(r, &param)) {
			add_ref(w, lt, scope, le, lx, eq ? CANDIDATES_EQ : CANDIDATES_RANGE,
				eq ? param : 0, false, false);
		} else if (rcol && value(l, &param)) {
			add_ref(w, rt, scope, re, rx, eq ? CANDIDATES_EQ : CANDIDATES_RANGE,
				eq ? param : 0, false, false);
		}
	} else if (!strcmp(kind, "AEXPR_IN") && !strcmp(op, "=")) {
		if (lcol && value(r, &param))
			add_ref(w, lt, scope, le, lx, CANDIDATES_EQ, 0, false, false);
	} else if (!strcmp(kind, "AEXPR_LIKE") && !strcmp(op, "~~")) {
		/* col LIKE $1: a btree serves it when $1 is a prefix pattern
		 * ('abc%'); the advisor plans it with one */
		if (lcol && !lx && value(r, &param) && param) {
			add_ref(w, lt, scope, le, lx, CANDIDATES_RANGE, 0, false, false);
			w->st->refs[w->st->nrefs - 1].like = param;
		}
	} else if (!strcmp(kind, "AEXPR_BETWEEN")) {
		if (lcol && value(r, &param))
			add_ref(w, lt, scope, le, lx, CANDIDATES_RANGE, 0, false, false);
	} else if (!strcmp(kind, "AEXPR_OP_ANY") && !strcmp(op, "=")) {
		/* col = ANY($1) */
		if (lcol && value(r, &param)) {
			add_ref(w, lt, scope, le, lx, CANDIDATES_EQ, 0, false, false);
			json_object *abody;
			const char *atype = tree_node(r, &abody);
			json_object *loc = tree_get(body, "location");
			if (atype && !strcmp(atype, "A_ArrayExpr") && loc)
				any_array_as_in(w, json_object_get_int(loc));
		}
	}
	free(le);
	free(re);
}

static void sublink(struct walk *w, json_object *body, int scope)
{
	int inner = new_scope(w, scope);
	if (inner < 0)
		return;
	json_object *sub = tree_get(tree_get(body, "subselect"), "SelectStmt");
	if (sub)
		select_stmt(w, sub, inner);
	const char *type = tree_str(body, "subLinkType");
	json_object *test = tree_get(body, "testexpr");
	int t;
	char *e = NULL;
	bool x;
	/* col IN (SELECT ...): the column is probed for each row of the subquery */
	if (type && !strcmp(type, "ANY_SUBLINK") && test && col_expr(w, test, scope, &t, &e, &x))
		add_ref(w, t, scope, e, x, CANDIDATES_EQ, 0, true, false);
	free(e);
}

/* flag: a (boolean) column alone as a condition, or under NOT: only a
 * partial index predicate, like IS NULL */
static void flag(struct walk *w, json_object *node, int scope, enum candidates_use use)
{
	json_object *body;
	const char *type = tree_node(node, &body);
	int t;
	char *e = NULL;
	bool x;
	if (type && !strcmp(type, "ColumnRef") && col_expr(w, node, scope, &t, &e, &x) && !x)
		add_ref(w, t, scope, e, x, use, 0, false, false);
	free(e);
}

static void qual(struct walk *w, json_object *node, int scope)
{
	json_object *body;
	const char *type = tree_node(node, &body);
	if (!type)
		return;
	if (!strcmp(type, "BoolExpr")) {
		const char *op = tree_str(body, "boolop");
		json_object *args = tree_get(body, "args");
		/* an OR or NOT of conditions cannot be served by one btree key */
		if (op && !strcmp(op, "AND_EXPR"))
			for (size_t i = 0; i < list_len(args); i++)
				qual(w, json_object_array_get_idx(args, i), scope);
		else if (op && !strcmp(op, "NOT_EXPR") && list_len(args) == 1)
			flag(w, json_object_array_get_idx(args, 0), scope, CANDIDATES_ISFALSE);
		else if (op && !strcmp(op, "OR_EXPR") && !w->or_group) {
			/* an index per arm may serve it together (BitmapOr); an OR
			 * inside an arm is left alone */
			w->or_group = ++w->ngroups;
			for (size_t i = 0; i < list_len(args); i++) {
				w->or_arm = ++w->narms;
				qual(w, json_object_array_get_idx(args, i), scope);
			}
			w->or_group = w->or_arm = 0;
		}
		return;
	}
	if (!strcmp(type, "ColumnRef")) {
		flag(w, node, scope, CANDIDATES_ISTRUE);
		return;
	}
	if (!strcmp(type, "NullTest")) {
		const char *kind = tree_str(body, "nulltesttype");
		int t;
		char *e = NULL;
		bool x;
		if (kind && col_expr(w, tree_get(body, "arg"), scope, &t, &e, &x) && !x)
			add_ref(w, t, scope, e, x,
				strcmp(kind, "IS_NULL") ? CANDIDATES_NOTNULL : CANDIDATES_ISNULL, 0,
				false, false);
		free(e);
		return;
	}
	if (!strcmp(type, "A_Expr"))
		a_expr(w, body, scope);
	else if (!strcmp(type, "SubLink"))
		sublink(w, body, scope);
}

static void from_tables(struct walk *w, json_object *node, int scope)
{
	json_object *body;
	const char *type = tree_node(node, &body);
	if (!type)
		return;
	if (!strcmp(type, "RangeVar")) {
		add_table(w, body, scope);
	} else if (!strcmp(type, "JoinExpr")) {
		from_tables(w, tree_get(body, "larg"), scope);
		from_tables(w, tree_get(body, "rarg"), scope);
	} else if (!strcmp(type, "RangeSubselect")) {
		int inner = new_scope(w, scope);
		json_object *sub = tree_get(tree_get(body, "subquery"), "SelectStmt");
		if (inner >= 0 && sub)
			select_stmt(w, sub, inner);
	}
}

static void from_quals(struct walk *w, json_object *node, int scope)
{
	json_object *body;
	const char *type = tree_node(node, &body);
	if (!type || strcmp(type, "JoinExpr") != 0)
		return;
	from_quals(w, tree_get(body, "larg"), scope);
	from_quals(w, tree_get(body, "rarg"), scope);
	qual(w, tree_get(body, "quals"), scope);
}

static void from_clause(struct walk *w, json_object *from, int scope)
{
	for (size_t i = 0; i < list_len(from); i++)
		from_tables(w, json_object_array_get_idx(from, i), scope);
	for (size_t i = 0; i < list_len(from); i++)
		from_quals(w, json_object_array_get_idx(from, i), scope);
}

static void with_clause(struct walk *w, json_object *with, int scope)
{
	json_object *ctes = tree_get(with, "ctes");
	for (size_t i = 0; i < list_len(ctes); i++) {
		json_object *q = tree_get(
			tree_get(tree_get(json_object_array_get_idx(ctes, i), "CommonTableExpr"),
				 "ctequery"),
			"SelectStmt");
		int inner = new_scope(w, scope);
		if (q && inner >= 0)
			select_stmt(w, q, inner);
	}
}

static void select_stmt(struct walk *w, json_object *sel, int scope)
{
	const char *op = tree_str(sel, "op");
	if (op && strcmp(op, "SETOP_NONE") != 0) {
		int l = new_scope(w, scope), r = new_scope(w, scope);
		json_object *larg = tree_get(sel, "larg"), *rarg = tree_get(sel, "rarg");
		if (l >= 0 && larg)
			select_stmt(w, larg, l);
		if (r >= 0 && rarg)
			select_stmt(w, rarg, r);
		return;
	}
	with_clause(w, tree_get(sel, "withClause"), scope);
	from_clause(w, tree_get(sel, "fromClause"), scope);
	qual(w, tree_get(sel, "whereClause"), scope);
	/* a correlated subquery in the select list runs once per row:
	 * (SELECT count(*) FROM c WHERE c.post_id = p.id) */
	json_object *targets = tree_get(sel, "targetList");
	for (size_t i = 0; i < list_len(targets); i++) {
		json_object *body;
		json_object *val = tree_get(
			tree_get(json_object_array_get_idx(targets, i), "ResTarget"), "val");
		const char *type = tree_node(val, &body);
		if (type && !strcmp(type, "SubLink"))
			sublink(w, body, scope);
	}
	json_object *limit = tree_get(sel, "limitCount");
	json_object *sort = tree_get(sel, "sortClause");
	if (!limit || !list_len(sort))
		return;
	/* LIMIT NULL / ALL is no limit */
	json_object *lbody;
	const char *ltype = tree_node(limit, &lbody);
	if (ltype && !strcmp(ltype, "A_Const") && tree_get(lbody, "isnull"))
		return;
	if (scope == 0) {
		w->st->has_limit = true;
		int param;
		if (value(limit, &param))
			w->st->limit_param = param;
	}
	for (size_t i = 0; i < list_len(sort); i++) {
		json_object *sb = tree_get(json_object_array_get_idx(sort, i), "SortBy");
		const char *dir = tree_str(sb, "sortby_dir");
		int t;
		char *e = NULL;
		bool x;
		if (!col_expr(w, tree_get(sb, "node"), scope, &t, &e, &x))
			continue;
		add_ref(w, t, scope, e, x, CANDIDATES_SORT, 0, false,
			dir && !strcmp(dir, "SORTBY_DESC"));
		free(e);
	}
}

static void collect_params(struct candidates_stmt *st, json_object *node)
{
	if (json_object_is_type(node, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(node); i++)
			collect_params(st, json_object_array_get_idx(node, i));
		return;
	}
	if (!json_object_is_type(node, json_type_object))
		return;
	json_object_object_foreach(node, key, val)
	{
		if (!strcmp(key, "ParamRef")) {
			json_object *num = tree_get(val, "number"),
				    *loc = tree_get(val, "location");
			if (!num || !loc)
				continue;
			st->param_numbers =
				xrealloc(st->param_numbers, (st->nparams + 1) * sizeof(int));
			st->param_locations =
				xrealloc(st->param_locations, (st->nparams + 1) * sizeof(int));
			st->param_numbers[st->nparams] = json_object_get_int(num);
			st->param_locations[st->nparams] = json_object_get_int(loc);
			if (st->param_numbers[st->nparams] > st->max_param)
				st->max_param = st->param_numbers[st->nparams];
			st->nparams++;
		} else {
			collect_params(st, val);
		}
	}
}

struct candidates_stmt *candidates_parse(const char *query, char **err)
{
	json_object *stmt;
	json_object *root = tree_parse_one(query, &stmt, err);
	if (!root)
		return NULL;
	struct candidates_stmt *st = calloc(1, sizeof(*st));
	if (!st)
		abort();
	st->target = -1;
	struct walk w = {.st = st, .query = query};
	int top = new_scope(&w, -1);
	json_object *body;
	const char *type = tree_node(stmt, &body);
	if (type && !strcmp(type, "SelectStmt")) {
		st->kind = CANDIDATES_SELECT;
		select_stmt(&w, body, top);
	} else if (type && (!strcmp(type, "UpdateStmt") || !strcmp(type, "DeleteStmt"))) {
		st->kind = type[0] == 'U' ? CANDIDATES_UPDATE : CANDIDATES_DELETE;
		with_clause(&w, tree_get(body, "withClause"), top);
		add_table(&w, tree_get(body, "relation"), top);
		if (st->ntables)
			st->target = 0;
		from_clause(&w,
			    tree_get(body,
				     st->kind == CANDIDATES_UPDATE ? "fromClause" : "usingClause"),
			    top);
		qual(&w, tree_get(body, "whereClause"), top);
	} else if (type && !strcmp(type, "InsertStmt")) {
		st->kind = CANDIDATES_INSERT;
		add_table(&w, tree_get(body, "relation"), top);
		if (st->ntables)
			st->target = 0;
	} else {
		st->kind = CANDIDATES_OTHER;
	}
	collect_params(st, root);
	json_object_put(root);
	return st;
}

void candidates_stmt_free(struct candidates_stmt *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->ntables; i++) {
		free(st->tables[i].schema);
		free(st->tables[i].name);
		free(st->tables[i].alias);
	}
	for (size_t i = 0; i < st->nrefs; i++)
		free(st->refs[i].expr);
	free(st->tables);
	free(st->refs);
	free(st->param_numbers);
	free(st->param_locations);
	free(st->plan_text);
	free(st);
}

void candidates_resolve_columns(struct candidates_stmt *st, candidates_has_column has, void *ctx)
{
	for (size_t i = 0; i < st->nrefs; i++) {
		struct candidates_ref *r = &st->refs[i];
		if (r->table >= 0 || r->is_expr)
			continue;
		/* the name as written: unquote what candidates_quote_ident added */
		char *name = xstrdup(r->expr);
		if (name[0] == '"') {
			char *o = name;
			for (const char *p = r->expr + 1; *p; p++) {
				if (*p == '"' && p[1] == '"')
					p++;
				else if (*p == '"')
					break;
				*o++ = *p;
			}
			*o = '\0';
		}
		int found = -1, count = 0;
		for (size_t t = 0; t < st->ntables; t++) {
			if (st->tables[t].scope != r->scope)
				continue;
			if (has(ctx, &st->tables[t], name)) {
				found = (int)t;
				count++;
			}
		}
		free(name);
		if (count == 1)
			r->table = found;
	}
}

static bool same_cols(const struct candidates_index *a, const struct candidates_index *b)
{
	if (a->table != b->table || a->ncols != b->ncols)
		return false;
	if (a->or_group != b->or_group)
		return false;
	if ((a->partial_col == NULL) != (b->partial_col == NULL) ||
	    (a->partial_col && strcmp(a->partial_col, b->partial_col)) ||
	    a->partial_use != b->partial_use)
		return false;
	for (int i = 0; i < a->ncols; i++)
		if (strcmp(a->cols[i], b->cols[i]) || a->desc[i] != b->desc[i] ||
		    a->pattern_ops[i] != b->pattern_ops[i])
			return false;
	return true;
}

static void push(struct candidates_index **out, size_t *n, const struct candidates_index *c)
{
	if (!c->ncols)
		return;
	for (size_t i = 0; i < *n; i++)
		if (same_cols(&(*out)[i], c))
			return;
	*out = xrealloc(*out, (*n + 1) * sizeof(**out));
	(*out)[(*n)++] = *c;
}

static bool has_col(const struct candidates_index *c, const char *expr)
{
	for (int i = 0; i < c->ncols; i++)
		if (!strcmp(c->cols[i], expr))
			return true;
	return false;
}

static void add_col(struct candidates_index *c, const struct candidates_ref *r, bool desc)
{
	if (c->ncols >= CANDIDATES_MAX_COLS || has_col(c, r->expr))
		return;
	c->cols[c->ncols] = r->expr;
	c->is_expr[c->ncols] = r->is_expr;
	c->desc[c->ncols] = desc;
	c->ncols++;
}

size_t candidates_build(const struct candidates_stmt *st, struct candidates_index **out)
{
	*out = NULL;
	size_t n = 0;
	/* ORDER BY keys count only when they all belong to one table */
	int sort_table = -2;
	bool mixed_dir = false, first_desc = false;
	for (size_t i = 0; i < st->nrefs; i++) {
		const struct candidates_ref *r = &st->refs[i];
		if (r->use != CANDIDATES_SORT || r->scope != 0)
			continue;
		if (sort_table == -2) {
			sort_table = r->table;
			first_desc = r->desc;
		} else if (sort_table != r->table) {
			sort_table = -1;
		}
		if (r->desc != first_desc)
			mixed_dir = true;
	}
	for (size_t t = 0; t < st->ntables; t++) {
		struct candidates_index eq = {.table = (int)t};
		const struct candidates_ref *range = NULL;
		for (size_t i = 0; i < st->nrefs; i++) {
			const struct candidates_ref *r = &st->refs[i];
			if (r->table != (int)t || r->or_group)
				continue;
			if (r->use == CANDIDATES_EQ)
				add_col(&eq, r, false);
		}
		eq.neq = eq.ncols;
		for (size_t i = 0; i < st->nrefs && !range; i++) {
			const struct candidates_ref *r = &st->refs[i];
			if (r->table == (int)t && r->use == CANDIDATES_RANGE && !r->or_group &&
			    !has_col(&eq, r->expr))
				range = r;
		}
		struct candidates_index sorted = eq;
		bool have_sort = false;
		if (st->has_limit && sort_table == (int)t) {
			for (size_t i = 0; i < st->nrefs; i++) {
				const struct candidates_ref *r = &st->refs[i];
				if (r->use == CANDIDATES_SORT && r->scope == 0) {
					add_col(&sorted, r, mixed_dir && r->desc);
					have_sort = true;
				}
			}
		}
		struct candidates_index main = eq;
		if (range) {
			add_col(&main, range, false);
			if (range->like && has_col(&main, range->expr)) {
				main.like_col = range->expr;
				main.like_param = range->like;
			}
		} else if (have_sort) {
			main = sorted;
		}
		push(out, &n, &main);
		if (main.like_col) {
			struct candidates_index po = main;
			for (int k = 0; k < po.ncols; k++)
				po.pattern_ops[k] = !strcmp(po.cols[k], main.like_col);
			push(out, &n, &po);
		}
		if (range && have_sort)
			push(out, &n, &sorted);
		/* each column alone: the planner may prefer a smaller index */
		if (main.ncols > 1) {
			for (int i = 0; i < eq.ncols; i++) {
				struct candidates_index one = {
					.table = (int)t, .ncols = 1, .neq = 1};
				one.cols[0] = eq.cols[i];
				one.is_expr[0] = eq.is_expr[i];
				push(out, &n, &one);
			}
			if (range) {
				struct candidates_index one = {.table = (int)t, .ncols = 1};
				one.cols[0] = range->expr;
				one.is_expr[0] = range->is_expr;
				if (range->like) {
					one.like_col = range->expr;
					one.like_param = range->like;
				}
				push(out, &n, &one);
				if (range->like) {
					one.pattern_ops[0] = true;
					push(out, &n, &one);
				}
			}
		}
		/* partial: the other columns, under WHERE col = <rare value> */
		for (size_t i = 0; i < st->nrefs; i++) {
			const struct candidates_ref *r = &st->refs[i];
			bool nulltest = r->use == CANDIDATES_ISNULL ||
					r->use == CANDIDATES_NOTNULL ||
					r->use == CANDIDATES_ISTRUE || r->use == CANDIDATES_ISFALSE;
			if (r->table != (int)t || r->is_expr || r->join || r->or_group ||
			    !(nulltest || (r->use == CANDIDATES_EQ && r->param)))
				continue;
			struct candidates_index p = {.table = (int)t};
			for (int k = 0; k < main.ncols; k++) {
				if (!strcmp(main.cols[k], r->expr))
					continue;
				p.cols[p.ncols] = main.cols[k];
				p.is_expr[p.ncols] = main.is_expr[k];
				p.desc[p.ncols] = main.desc[k];
				if (k < main.neq)
					p.neq++;
				p.ncols++;
			}
			if (!p.ncols) {
				p.cols[0] = r->expr;
				p.ncols = p.neq = 1;
			}
			p.partial_col = r->expr;
			p.partial_param = r->param;
			p.partial_use = r->use;
			push(out, &n, &p);
		}
	}
	/* OR groups: every arm on one table, each with a key of its own */
	int ngroups = 0;
	for (size_t i = 0; i < st->nrefs; i++)
		if (st->refs[i].or_group > ngroups)
			ngroups = st->refs[i].or_group;
	for (int g = 1; g <= ngroups; g++) {
		struct candidates_index arms[CANDIDATES_MAX_COLS];
		int narms = 0, table = -2;
		bool ok = true;
		for (size_t i = 0; i < st->nrefs && ok; i++) {
			const struct candidates_ref *r = &st->refs[i];
			if (r->or_group != g)
				continue;
			if (table != -2 && r->table != table)
				ok = false;
			table = r->table;
			int k;
			for (k = 0; k < narms; k++)
				if (arms[k].neq == -r->or_arm) /* the arm number, kept here */
					break;
			if (k == narms) {
				if (narms == CANDIDATES_MAX_COLS) {
					ok = false;
					break;
				}
				memset(&arms[narms], 0, sizeof(arms[narms]));
				arms[narms].neq = -r->or_arm;
				narms++;
			}
		}
		if (!ok || table < 0 || narms < 2)
			continue;
		for (int k = 0; k < narms && ok; k++) {
			int arm = -arms[k].neq;
			struct candidates_index c = {
				.table = table, .or_group = g, .or_first = k == 0};
			for (size_t i = 0; i < st->nrefs; i++)
				if (st->refs[i].or_arm == arm && st->refs[i].use == CANDIDATES_EQ)
					add_col(&c, &st->refs[i], false);
			c.neq = c.ncols;
			for (size_t i = 0; i < st->nrefs; i++)
				if (st->refs[i].or_arm == arm &&
				    st->refs[i].use == CANDIDATES_RANGE && !st->refs[i].like &&
				    c.ncols == c.neq)
					add_col(&c, &st->refs[i], false);
			/* an arm without a key (a NOT, a function of two tables...)
			 * leaves the OR to a sequential scan */
			ok = c.ncols > 0;
			arms[k] = c;
		}
		for (int k = 0; k < narms && ok; k++)
			push(out, &n, &arms[k]);
	}
	return n;
}

void candidates_order_eq(struct candidates_index *c, const double *sel)
{
	double s[CANDIDATES_MAX_COLS];
	for (int i = 0; i < c->neq; i++)
		s[i] = sel[i] < 0 ? 2 : sel[i];
	/* insertion sort: stable, at most CANDIDATES_MAX_COLS keys */
	for (int i = 1; i < c->neq; i++) {
		for (int j = i; j > 0 && s[j] < s[j - 1]; j--) {
			double ts = s[j];
			const char *tc = c->cols[j];
			bool tx = c->is_expr[j], td = c->desc[j], tp = c->pattern_ops[j];
			s[j] = s[j - 1];
			c->cols[j] = c->cols[j - 1];
			c->is_expr[j] = c->is_expr[j - 1];
			c->desc[j] = c->desc[j - 1];
			c->pattern_ops[j] = c->pattern_ops[j - 1];
			s[j - 1] = ts;
			c->cols[j - 1] = tc;
			c->is_expr[j - 1] = tx;
			c->desc[j - 1] = td;
			c->pattern_ops[j - 1] = tp;
		}
	}
}

char *candidates_like_prefix(const char *value, const char *next)
{
	size_t len = strlen(value), keep = (2 * len + 2) / 3, common = 0;
	while (next && value[common] && value[common] == next[common])
		common++;
	if (next && common + 1 > keep)
		keep = common + 1 < len ? common + 1 : len;
	if (keep < 1 && len)
		keep = 1;
	/* one past a cut UTF-8 character: to its end */
	while (keep < len && ((unsigned char)value[keep] & 0xC0) == 0x80)
		keep++;
	char *out = xrealloc(NULL, 2 * keep + 2), *o = out;
	for (size_t i = 0; i < keep; i++) {
		if (value[i] == '%' || value[i] == '_' || value[i] == '\\')
			*o++ = '\\';
		*o++ = value[i];
	}
	*o++ = '%';
	*o = '\0';
	return out;
}

char *candidates_key(const struct candidates_index *c)
{
	size_t cap = 1;
	for (int i = 0; i < c->ncols; i++)
		cap += strlen(c->cols[i]) + 8 + (c->pattern_ops[i] ? 17 : 0);
	char *s = xrealloc(NULL, cap);
	s[0] = '\0';
	for (int i = 0; i < c->ncols; i++) {
		if (i)
			strcat(s, ", ");
		strcat(s, c->cols[i]);
		if (c->pattern_ops[i])
			strcat(s, " text_pattern_ops");
		if (c->desc[i])
			strcat(s, " DESC");
	}
	return s;
}

char *candidates_index_sql(const struct candidates_index *c, const char *qualified_table,
			   const char *where, bool concurrently)
{
	char *key = candidates_key(c);
	size_t cap = strlen(key) + strlen(qualified_table) + (where ? strlen(where) : 0) + 64;
	char *s = xrealloc(NULL, cap);
	snprintf(s, cap, "CREATE INDEX %sON %s (%s)%s%s", concurrently ? "CONCURRENTLY " : "",
		 qualified_table, key, where ? " WHERE " : "", where ? where : "");
	free(key);
	return s;
}

char *candidates_bind(const struct candidates_stmt *st, const char *query, const int *numbers,
		      const char *const *literals, size_t n)
{
	size_t qlen = strlen(query), cap = qlen + 1;
	if (st->plan_text && strlen(st->plan_text) == qlen)
		query = st->plan_text;
	for (size_t i = 0; i < n; i++)
		cap += strlen(literals[i]) * st->nparams + 16;
	cap += st->nparams * 12;
	char *out = xrealloc(NULL, cap), *o = out;
	size_t pos = 0;
	for (;;) {
		/* the next parameter after pos, in text order */
		int best = -1;
		for (size_t i = 0; i < st->nparams; i++)
			if ((size_t)st->param_locations[i] >= pos &&
			    (best < 0 || st->param_locations[i] < st->param_locations[best]))
				best = (int)i;
		size_t end = best < 0 ? qlen : (size_t)st->param_locations[best];
		if (end > qlen)
			end = qlen;
		memcpy(o, query + pos, end - pos);
		o += end - pos;
		if (best < 0 || end >= qlen)
			break;
		pos = end + 1;
		if (query[end] != '$') {
			*o++ = query[end];
			continue;
		}
		while (query[pos] >= '0' && query[pos] <= '9')
			pos++;
		int num = st->param_numbers[best];
		const char *lit = NULL;
		int below = 0;
		for (size_t i = 0; i < n; i++) {
			if (numbers[i] == num)
				lit = literals[i];
			else if (numbers[i] < num)
				below++;
		}
		if (lit)
			o += sprintf(o, "%s", lit);
		else
			o += sprintf(o, "$%d", num - below);
	}
	*o = '\0';
	return out;
}

/* next_param finds the next $n of EXPR at or after P outside quoted
 * literals and identifiers: its number, *AT its '$' and *END past its
 * digits; 0 when there is none. */
static int next_param(const char *p, const char **at, const char **end)
{
	char quote = 0;
	for (; *p; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0; /* a doubled quote reopens at once */
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
			const char *q = p + 1;
			int n = 0;
			while (*q >= '0' && *q <= '9' && n < 100000)
				n = n * 10 + (*q++ - '0');
			*at = p;
			*end = q;
			return n;
		}
	}
	return 0;
}

int candidates_expr_param(const char *expr)
{
	const char *at, *end;
	return next_param(expr, &at, &end);
}

void candidates_set_param(struct candidates_stmt *st, int number, const char *literal)
{
	for (size_t i = 0; i < st->nrefs; i++) {
		struct candidates_ref *r = &st->refs[i];
		if (!r->is_expr)
			continue;
		const char *at, *end, *p = r->expr;
		int n;
		while ((n = next_param(p, &at, &end)) > 0) {
			if (n != number) {
				p = end;
				continue;
			}
			size_t off = (size_t)(at - r->expr);
			char *e = xprintf("%.*s%s%s", (int)off, r->expr, literal, end);
			free(r->expr);
			r->expr = e;
			p = e + off + strlen(literal);
		}
	}
}

static bool numeric_type(const char *type)
{
	static const char *const names[] = {"smallint", "integer", "bigint",
					    "numeric",  "real",    "double precision"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(type, names[i]))
			return true;
	return false;
}

/* a number PostgreSQL reads as one: digits, maybe a sign, a point, an
 * exponent */
static bool plain_number(const char *v)
{
	const char *p = v;
	bool digits = false;
	if (*p == '-')
		p++;
	while ((*p >= '0' && *p <= '9') || *p == '.') {
		digits |= *p != '.';
		p++;
	}
	if (digits && (*p == 'e' || *p == 'E')) {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return digits && !*p && strchr(v, '.') == strrchr(v, '.');
}

char *candidates_literal(const char *value, const char *type)
{
	if (type && numeric_type(type) && plain_number(value))
		return value[0] == '-' ? xprintf("(%s)", value) : xstrdup(value);
	bool backslash = strchr(value, '\\') != NULL;
	size_t len = strlen(value), cap = 2 * len + 4;
	char *q = xrealloc(NULL, cap), *o = q;
	if (backslash)
		*o++ = 'E';
	*o++ = '\'';
	for (const char *p = value; *p; p++) {
		if (*p == '\'' || (backslash && *p == '\\'))
			*o++ = *p;
		*o++ = *p;
	}
	*o++ = '\'';
	*o = '\0';
	bool plain =
		!type || !strcmp(type, "text") || !strcmp(type, "unknown") || !strcmp(type, "-");
	if (plain)
		return q;
	char *t = xprintf("%s::%s", q, type);
	free(q);
	return t;
}

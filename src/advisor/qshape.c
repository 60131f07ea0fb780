/* Statement shapes for query suggestions, from libpg_query's JSON parse
 * tree (json-c). */
#include "advisor/qshape.h"
#include "advisor/util.h"
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One FROM item of a query level: a table, or a name that is not one (a
 * CTE, a subquery's alias). */
struct entry {
	const char *schema; /* borrowed from the parse tree */
	const char *name;
	const char *alias;
	bool table;
};

struct scope {
	const struct scope *parent;
	struct entry *entries;
	size_t nentries;
	/* CTE names visible here (borrowed) */
	const char **ctes;
	size_t nctes;
};

struct walk {
	struct qshape *q;
	const char *text;
};

static size_t list_len(json_object *arr)
{
	return arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
}

static json_object *list_at(json_object *arr, size_t i)
{
	return json_object_array_get_idx(arr, i);
}

static const char *list_str(json_object *arr, size_t i)
{
	if (i >= list_len(arr))
		return NULL;
	return tree_str(tree_get(list_at(arr, i), "String"), "sval");
}

static void scope_free(struct scope *s)
{
	free(s->entries);
	free(s->ctes);
}

static bool is_cte(const struct scope *s, const char *name)
{
	for (; s; s = s->parent)
		for (size_t i = 0; i < s->nctes; i++)
			if (!strcmp(s->ctes[i], name))
				return true;
	return false;
}

static void add_entry(struct scope *s, const char *schema, const char *name, const char *alias,
		      bool table)
{
	s->entries = xrealloc(s->entries, (s->nentries + 1) * sizeof(*s->entries));
	s->entries[s->nentries++] =
		(struct entry){.schema = schema, .name = name, .alias = alias, .table = table};
}

static void statement(struct walk *w, json_object *node, const struct scope *parent, bool top);
static void from_item(struct walk *w, json_object *node, struct scope *s,
		      const struct scope *parent, json_object ***quals, size_t *nquals);

/* with_clause makes the CTE names visible in S and walks each CTE's
 * query at the level above S. */
static void with_clause(struct walk *w, json_object *with, struct scope *s,
			const struct scope *parent)
{
	json_object *ctes = tree_get(with, "ctes");
	for (size_t i = 0; i < list_len(ctes); i++) {
		json_object *cte = tree_get(list_at(ctes, i), "CommonTableExpr");
		const char *name = tree_str(cte, "ctename");
		if (name) {
			s->ctes = xrealloc(s->ctes, (s->nctes + 1) * sizeof(*s->ctes));
			s->ctes[s->nctes++] = name;
		}
	}
	/* a recursive CTE sees itself; the others see the ones before: both
	 * are approximated by "every CTE of the clause" */
	struct scope view = {.parent = parent, .ctes = s->ctes, .nctes = s->nctes};
	for (size_t i = 0; i < list_len(ctes); i++)
		statement(w, tree_get(tree_get(list_at(ctes, i), "CommonTableExpr"), "ctequery"),
			  &view, false);
}

static void from_item(struct walk *w, json_object *node, struct scope *s,
		      const struct scope *parent, json_object ***quals, size_t *nquals)
{
	json_object *body;
	const char *type = tree_node(node, &body);
	if (!type)
		return;
	if (!strcmp(type, "RangeVar")) {
		const char *schema = tree_str(body, "schemaname");
		const char *name = tree_str(body, "relname");
		const char *alias = tree_str(tree_get(body, "alias"), "aliasname");
		if (name)
			add_entry(s, schema, name, alias, schema || !is_cte(s, name));
	} else if (!strcmp(type, "JoinExpr")) {
		from_item(w, tree_get(body, "larg"), s, parent, quals, nquals);
		from_item(w, tree_get(body, "rarg"), s, parent, quals, nquals);
		json_object *q = tree_get(body, "quals");
		if (q) {
			*quals = xrealloc(*quals, (*nquals + 1) * sizeof(**quals));
			(*quals)[(*nquals)++] = q;
		}
	} else if (!strcmp(type, "RangeSubselect")) {
		/* LATERAL would see S; the common case does not */
		statement(w, tree_get(body, "subquery"), parent, false);
		const char *alias = tree_str(tree_get(body, "alias"), "aliasname");
		if (alias)
			add_entry(s, NULL, alias, alias, false);
	} else if (!strcmp(type, "RangeFunction")) {
		const char *alias = tree_str(tree_get(body, "alias"), "aliasname");
		if (alias)
			add_entry(s, NULL, alias, alias, false);
	}
}

/* resolve fills WRAP's tables from the column reference FIELDS; false
 * when it is not a table's column (a CTE's, a subquery's, unknown). */
static bool resolve(const struct scope *s, json_object *fields, struct qshape_wrap *wrap)
{
	size_t n = list_len(fields);
	const char *column = list_str(fields, n - 1);
	if (!n || n > 3 || !column)
		return false;
	if (n == 1) {
		for (size_t i = 0; i < s->nentries; i++) {
			if (!s->entries[i].table)
				continue;
			wrap->tables =
				xrealloc(wrap->tables, (wrap->ntables + 1) * sizeof(*wrap->tables));
			wrap->tables[wrap->ntables++] = (struct qshape_table){
				.schema =
					s->entries[i].schema ? xstrdup(s->entries[i].schema) : NULL,
				.name = xstrdup(s->entries[i].name),
			};
		}
	} else {
		const char *qual = list_str(fields, n - 2);
		const char *schema = n == 3 ? list_str(fields, 0) : NULL;
		if (!qual)
			return false;
		/* the nearest level that has that name: a correlated reference
		 * may name a table of an outer level */
		for (const struct scope *l = s; l && !wrap->ntables; l = l->parent) {
			for (size_t i = 0; i < l->nentries; i++) {
				const struct entry *e = &l->entries[i];
				bool match = e->alias ? !schema && !strcmp(e->alias, qual)
						      : !strcmp(e->name, qual) &&
								(!schema ||
								 (e->schema &&
								  !strcmp(e->schema, schema)));
				if (!match)
					continue;
				if (!e->table)
					return false;
				wrap->tables = xrealloc(wrap->tables, sizeof(*wrap->tables));
				wrap->tables[0] = (struct qshape_table){
					.schema = e->schema ? xstrdup(e->schema) : NULL,
					.name = xstrdup(e->name),
				};
				wrap->ntables = 1;
				break;
			}
		}
	}
	if (!wrap->ntables)
		return false;
	wrap->column = xstrdup(column);
	return true;
}

/* call_text returns the text of the call starting at byte LOC of the
 * statement: its name and its balanced parentheses. */
static char *call_text(const char *text, int loc)
{
	size_t len = strlen(text);
	if (loc < 0 || (size_t)loc >= len)
		return NULL;
	const char *p = text + loc;
	while (*p && *p != '(')
		p++;
	int depth = 0;
	for (; *p; p++) {
		if (*p == '\'') {
			for (p++; *p && *p != '\''; p++)
				;
			if (!*p)
				break;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')' && --depth == 0) {
			return xstrndup(text + loc, (size_t)(p + 1 - (text + loc)));
		}
	}
	return NULL;
}

static char *column_text(json_object *fields)
{
	size_t size = 1;
	for (size_t i = 0; i < list_len(fields); i++)
		size += strlen(list_str(fields, i) ? list_str(fields, i) : "") + 1;
	char *s = calloc(1, size);
	if (!s)
		abort();
	for (size_t i = 0; i < list_len(fields); i++) {
		if (i)
			strcat(s, ".");
		strcat(s, list_str(fields, i) ? list_str(fields, i) : "");
	}
	return s;
}

static void wrap_free(struct qshape_wrap *wr)
{
	free(wr->column);
	free(wr->expr);
	free(wr->func);
	for (size_t i = 0; i < wr->ntables; i++) {
		free(wr->tables[i].schema);
		free(wr->tables[i].name);
	}
	free(wr->tables);
}

/* add_wrap records the column ARG (a ColumnRef node) inside a call or a
 * cast, once per expression. */
static void add_wrap(struct walk *w, const struct scope *s, json_object *arg, const char *func,
		     bool cast, char *expr)
{
	json_object *body;
	const char *type = tree_node(arg, &body);
	struct qshape_wrap wr = {.cast = cast};
	if (!type || strcmp(type, "ColumnRef") || !func || !expr ||
	    !resolve(s, tree_get(body, "fields"), &wr)) {
		free(expr);
		wrap_free(&wr);
		return;
	}
	wr.expr = expr;
	wr.func = xstrdup(func);
	for (size_t i = 0; i < w->q->nwraps; i++) {
		if (!strcmp(w->q->wraps[i].expr, wr.expr)) {
			wrap_free(&wr);
			return;
		}
	}
	w->q->wraps = xrealloc(w->q->wraps, (w->q->nwraps + 1) * sizeof(*w->q->wraps));
	w->q->wraps[w->q->nwraps++] = wr;
}

/* expr walks a WHERE or JOIN condition (COLLECT) or another expression
 * (only its sublinks matter). */
static void expr(struct walk *w, json_object *node, const struct scope *s, bool collect)
{
	if (!node)
		return;
	if (json_object_is_type(node, json_type_array)) {
		for (size_t i = 0; i < list_len(node); i++)
			expr(w, list_at(node, i), s, collect);
		return;
	}
	if (!json_object_is_type(node, json_type_object))
		return;
	json_object_object_foreach(node, key, val)
	{
		if (!strcmp(key, "SubLink")) {
			expr(w, tree_get(val, "testexpr"), s, collect);
			statement(w, tree_get(val, "subselect"), s, false);
			continue;
		}
		if (collect && !strcmp(key, "FuncCall")) {
			json_object *names = tree_get(val, "funcname");
			const char *fname = list_str(names, list_len(names) - 1);
			json_object *args = tree_get(val, "args");
			json_object *loc = tree_get(val, "location");
			for (size_t i = 0; i < list_len(args); i++)
				add_wrap(w, s, list_at(args, i), fname, false,
					 call_text(w->text, loc ? json_object_get_int(loc) : -1));
		} else if (collect && !strcmp(key, "TypeCast")) {
			json_object *names = tree_get(tree_get(val, "typeName"), "names");
			const char *tname = list_str(names, list_len(names) - 1);
			json_object *abody;
			const char *atype = tree_node(tree_get(val, "arg"), &abody);
			if (tname && atype && !strcmp(atype, "ColumnRef")) {
				char *col = column_text(tree_get(abody, "fields"));
				size_t size = strlen(col) + strlen(tname) + 3;
				char *text = malloc(size);
				if (!text)
					abort();
				snprintf(text, size, "%s::%s", col, tname);
				free(col);
				add_wrap(w, s, tree_get(val, "arg"), tname, true, text);
			}
		}
		expr(w, val, s, collect);
	}
}

static void select_stmt(struct walk *w, json_object *sel, const struct scope *parent, bool top)
{
	struct scope s = {.parent = parent};
	with_clause(w, tree_get(sel, "withClause"), &s, parent);
	const char *op = tree_str(sel, "op");
	if (top) {
		json_object *lim = tree_get(sel, "limitCount"), *c;
		/* LIMIT ALL is a null constant */
		const char *t = tree_node(lim, &c);
		w->q->has_limit = lim && !(t && !strcmp(t, "A_Const") && tree_get(c, "isnull"));
	}
	if (op && strcmp(op, "SETOP_NONE")) {
		struct scope view = {.parent = parent, .ctes = s.ctes, .nctes = s.nctes};
		select_stmt(w, tree_get(sel, "larg"), &view, false);
		select_stmt(w, tree_get(sel, "rarg"), &view, false);
		scope_free(&s);
		return;
	}
	json_object **quals = NULL;
	size_t nquals = 0;
	json_object *from = tree_get(sel, "fromClause");
	for (size_t i = 0; i < list_len(from); i++)
		from_item(w, list_at(from, i), &s, &s, &quals, &nquals);
	expr(w, tree_get(sel, "whereClause"), &s, true);
	for (size_t i = 0; i < nquals; i++)
		expr(w, quals[i], &s, true);
	expr(w, tree_get(sel, "targetList"), &s, false);
	expr(w, tree_get(sel, "havingClause"), &s, false);
	free(quals);
	scope_free(&s);
}

/* statement walks NODE, a statement node ({"SelectStmt": ...}); TOP: the
 * whole statement, which decides its kind and LIMIT. */
static void statement(struct walk *w, json_object *node, const struct scope *parent, bool top)
{
	json_object *body;
	const char *type = tree_node(node, &body);
	if (!type || !body)
		return;
	if (!strcmp(type, "SelectStmt")) {
		if (top)
			w->q->kind = tree_get(body, "intoClause") ? QSHAPE_OTHER : QSHAPE_SELECT;
		select_stmt(w, body, parent, top);
		return;
	}
	bool update = !strcmp(type, "UpdateStmt"), del = !strcmp(type, "DeleteStmt");
	if (!strcmp(type, "InsertStmt")) {
		if (top)
			w->q->kind = QSHAPE_INSERT;
		struct scope s = {.parent = parent};
		with_clause(w, tree_get(body, "withClause"), &s, parent);
		statement(w, tree_get(body, "selectStmt"), &s, false);
		scope_free(&s);
	} else if (update || del) {
		if (top)
			w->q->kind = update ? QSHAPE_UPDATE : QSHAPE_DELETE;
		struct scope s = {.parent = parent};
		with_clause(w, tree_get(body, "withClause"), &s, parent);
		json_object **quals = NULL;
		size_t nquals = 0;
		json_object *rel = json_object_new_object();
		json_object_object_add(rel, "RangeVar",
				       json_object_get(tree_get(body, "relation")));
		from_item(w, rel, &s, &s, &quals, &nquals);
		json_object *from = tree_get(body, update ? "fromClause" : "usingClause");
		for (size_t i = 0; i < list_len(from); i++)
			from_item(w, list_at(from, i), &s, &s, &quals, &nquals);
		expr(w, tree_get(body, "whereClause"), &s, true);
		for (size_t i = 0; i < nquals; i++)
			expr(w, quals[i], &s, true);
		expr(w, tree_get(body, "targetList"), &s, false);
		free(quals);
		scope_free(&s);
		json_object_put(rel);
	}
}

struct qshape *qshape_parse(const char *query, char **err)
{
	json_object *stmt;
	json_object *root = tree_parse_one(query, &stmt, err);
	if (!root)
		return NULL;
	struct qshape *q = calloc(1, sizeof(*q));
	if (!q)
		abort();
	struct walk w = {.q = q, .text = query};
	statement(&w, stmt, NULL, true);
	json_object_put(root);
	return q;
}

void qshape_free(struct qshape *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->nwraps; i++)
		wrap_free(&q->wraps[i]);
	free(q->wraps);
	free(q);
}

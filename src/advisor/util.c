/* See util.h. */
#include "advisor/util.h"
#include <pg_query.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		abort();
	return q;
}

char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

char *xstrndup(const char *s, size_t n)
{
	char *d = strndup(s, n);
	if (!d)
		abort();
	return d;
}

char *xprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

json_object *tree_get(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!o || !json_object_is_type(o, json_type_object))
		return NULL;
	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

const char *tree_str(json_object *o, const char *key)
{
	json_object *v = tree_get(o, key);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

const char *tree_node(json_object *node, json_object **body)
{
	*body = NULL;
	if (!node || !json_object_is_type(node, json_type_object))
		return NULL;
	json_object_object_foreach(node, key, val)
	{
		*body = val;
		return key;
	}
	return NULL;
}

json_object *tree_parse_one(const char *query, json_object **stmt, char **err)
{
	*err = NULL;
	*stmt = NULL;
	PgQueryParseResult pr = pg_query_parse(query);
	if (pr.error) {
		*err = xstrdup(pr.error->message);
		pg_query_free_parse_result(pr);
		return NULL;
	}
	json_object *root = json_tokener_parse(pr.parse_tree);
	pg_query_free_parse_result(pr);
	json_object *stmts = tree_get(root, "stmts");
	if (!stmts || !json_object_is_type(stmts, json_type_array) ||
	    json_object_array_length(stmts) != 1) {
		*err = xstrdup("not exactly one statement");
		json_object_put(root);
		return NULL;
	}
	*stmt = tree_get(json_object_array_get_idx(stmts, 0), "stmt");
	return root;
}

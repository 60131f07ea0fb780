/* Small helpers shared by the advisor's files: allocation that aborts on
 * out-of-memory (pglifeguard-cli is short-lived and has nothing to save),
 * and reading libpg_query's JSON parse trees. */
#ifndef PGLG_ADVISOR_UTIL_H
#define PGLG_ADVISOR_UTIL_H
#include <json-c/json.h>
#include <stddef.h>

void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* tree_get returns member KEY of the JSON object O, or NULL (O NULL or not
 * an object, or no such member). */
json_object *tree_get(json_object *o, const char *key);

/* tree_str returns member KEY of O when it is a string, else NULL. */
const char *tree_str(json_object *o, const char *key);

/* tree_node returns the single key of a parse tree node object
 * ("ColumnRef") and its body in *BODY; NULL when NODE is not an object. */
const char *tree_node(json_object *node, json_object **body);

/* tree_parse_one parses QUERY with libpg_query and returns its JSON tree,
 * which the caller frees with json_object_put, with *STMT set to the
 * "stmt" node of its only statement; NULL with *ERR set to a message the
 * caller frees when QUERY does not parse or is not one statement. */
json_object *tree_parse_one(const char *query, json_object **stmt, char **err);
#endif

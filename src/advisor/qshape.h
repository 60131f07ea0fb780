/* The shape of one normalized statement that query suggestions need, from
 * libpg_query's parse tree: what kind of statement it is, whether its
 * result is bounded by a LIMIT, and which columns are wrapped in a
 * function call or a cast in WHERE and JOIN conditions. Pure: no database
 * access. */
#ifndef PGLG_QSHAPE_H
#define PGLG_QSHAPE_H
#include <stdbool.h>
#include <stddef.h>

enum qshape_kind {
	QSHAPE_OTHER,
	QSHAPE_SELECT, /* a SELECT (or VALUES) that returns rows, not SELECT INTO */
	QSHAPE_INSERT,
	QSHAPE_UPDATE,
	QSHAPE_DELETE,
};

/* A table the wrapped column may belong to; SCHEMA is NULL when the
 * statement does not qualify it. */
struct qshape_table {
	char *schema;
	char *name;
};

/* A column inside a function call or a cast: lower(email), date(u.created),
 * created_at::date. */
struct qshape_wrap {
	char *column;
	char *expr; /* the call or the cast, as the statement writes it */
	char *func; /* the function's name ("lower") or the cast's type ("date") */
	bool cast;
	/* the tables of its query level that may own the column: one when the
	 * column is qualified or the level reads one table */
	struct qshape_table *tables;
	size_t ntables;
};

/* A parsed statement. Freed with qshape_free. */
struct qshape {
	enum qshape_kind kind;
	bool has_limit; /* the outermost query has LIMIT n or FETCH FIRST (LIMIT ALL is none) */
	struct qshape_wrap *wraps; /* in the order of the text, each expression once */
	size_t nwraps;
};

/* qshape_parse parses QUERY (borrowed; one statement) and returns its shape,
 * which the caller frees with qshape_free, or NULL with *ERR set to a
 * message the caller frees. Columns qualified by a CTE or a subquery in
 * FROM are not table columns and are left out; subqueries, CTEs, set
 * operations and sublinks are walked with their own FROM lists. */
struct qshape *qshape_parse(const char *query, char **err);

void qshape_free(struct qshape *q);
#endif

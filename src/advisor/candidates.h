/* Index candidates from one normalized statement: libpg_query parses it,
 * table aliases are resolved, and the columns used in equality, IN, range,
 * join and ORDER BY ... LIMIT positions become single- and multi-column,
 * expression and partial-index candidates. Pure: no database access. */
#ifndef PGLG_CANDIDATES_H
#define PGLG_CANDIDATES_H
#include <stdbool.h>
#include <stddef.h>

#define CANDIDATES_MAX_COLS 6

enum candidates_kind {
	CANDIDATES_OTHER,
	CANDIDATES_SELECT,
	CANDIDATES_INSERT,
	CANDIDATES_UPDATE,
	CANDIDATES_DELETE,
};

enum candidates_use {
	CANDIDATES_EQ, /* col = value, col IN (...), join col = other.col */
	CANDIDATES_RANGE, /* <, >, <=, >=, BETWEEN */
	CANDIDATES_SORT, /* ORDER BY key of a statement with LIMIT */
	CANDIDATES_ISNULL, /* col IS NULL: only a partial index predicate */
	CANDIDATES_NOTNULL, /* col IS NOT NULL: likewise */
	CANDIDATES_ISTRUE, /* a boolean column alone as a condition: likewise */
	CANDIDATES_ISFALSE, /* NOT col (Django's filter(flag=False)): likewise */
};

/* One table the statement reads or writes (a FROM item, a join side, the
 * target of INSERT/UPDATE/DELETE). SCHEMA is NULL when unqualified. */
struct candidates_table {
	char *schema;
	char *name;
	char *alias; /* the alias, or NULL */
	int scope; /* the query level it belongs to (0 = top) */
	/* set by candidates_resolve_columns' caller through the callback only */
};

/* One use of a column or of an expression on columns of one table. */
struct candidates_ref {
	int table; /* index in tables, -1 while ambiguous */
	int scope; /* query level, to resolve an ambiguous column later */
	char *expr; /* a column name, or "lower(email)" for an expression */
	bool is_expr;
	enum candidates_use use;
	int param; /* equality with $param alone (not IN, not join): its number, else 0 */
	int like; /* RANGE from col LIKE $like (a prefix, maybe): its number, else 0 */
	bool join;
	bool desc; /* SORT: descending */
	/* in arm OR_ARM (numbered across the statement) of the OR OR_GROUP,
	 * else both 0: not a condition every row meets */
	int or_group, or_arm;
};

/* A parsed statement. Freed with candidates_stmt_free. */
struct candidates_stmt {
	enum candidates_kind kind;
	int target; /* INSERT/UPDATE/DELETE: index of the written table, else -1 */
	struct candidates_table *tables;
	size_t ntables;
	struct candidates_ref *refs;
	size_t nrefs;
	bool has_limit;
	int limit_param; /* LIMIT $n: n, else 0 */
	int max_param; /* highest $n in the text */
	/* every $n in the text: number and byte offset of its '$' */
	int *param_numbers;
	int *param_locations;
	size_t nparams;
	/* the text as it is planned, the same length (NULL: as it is): each
	 * `= ANY(ARRAY[$1, $2])` becomes `IN ($1, $2)` padded with blanks, whose
	 * parameters take the column's type (the ARRAY's would be text) */
	char *plan_text;
};

/* One index candidate on one table of a statement. COLS are borrowed from
 * the statement's refs. PARTIAL_COL (borrowed, or NULL) is a column
 * compared with $PARTIAL_PARAM that may make a partial index
 * "WHERE col = rare value"; whether it is rare is decided later with
 * pg_stats; or PARTIAL_USE says it is an IS [NOT] NULL test, or a boolean
 * column (or NOT one) as a condition. NEQ is the number of leading equality
 * columns (their order does not matter to an index that serves them). */
struct candidates_index {
	int table;
	const char *cols[CANDIDATES_MAX_COLS];
	bool is_expr[CANDIDATES_MAX_COLS];
	bool desc[CANDIDATES_MAX_COLS];
	int ncols;
	int neq;
	const char *partial_col;
	int partial_param;
	/* CANDIDATES_EQ: "col = rare value"; CANDIDATES_ISNULL or _NOTNULL:
	 * "col IS [NOT] NULL", kept when pg_stats says that is rare */
	enum candidates_use partial_use;
	/* LIKE_COL (borrowed, or NULL), a key column, is compared with LIKE
	 * $LIKE_PARAM: planned with a prefix pattern bound to it, as a generic
	 * plan cannot use an index for LIKE */
	const char *like_col;
	int like_param;
	/* key column k with text_pattern_ops: what serves LIKE 'prefix%'
	 * under a collation other than C */
	bool pattern_ops[CANDIDATES_MAX_COLS];
	/* the index of one arm of OR OR_GROUP (else 0): the arms' indexes serve
	 * the OR together (a BitmapOr), none alone; OR_FIRST marks the first
	 * arm, which checks them all */
	int or_group;
	bool or_first;
};

/* candidates_parse parses QUERY (one statement, $n placeholders allowed)
 * and collects its tables and column uses. Returns a statement the caller
 * frees with candidates_stmt_free, or NULL with *ERR set to a message the
 * caller frees (a parse error, or not exactly one statement). */
struct candidates_stmt *candidates_parse(const char *query, char **err)
	__attribute__((warn_unused_result));

void candidates_stmt_free(struct candidates_stmt *stmt);

/* candidates_has_column is asked whether table TABLE has column COLUMN;
 * CTX is the caller's. */
typedef bool (*candidates_has_column)(void *ctx, const struct candidates_table *table,
				      const char *column);

/* candidates_resolve_columns gives each unqualified column of a statement
 * with several tables in scope the one table HAS answers yes for; columns
 * no table or more than one table claims stay unresolved (-1) and are
 * ignored. */
void candidates_resolve_columns(struct candidates_stmt *stmt, candidates_has_column has, void *ctx);

/* candidates_build returns the index candidates of STMT in *OUT (an array
 * the caller frees with free(); its strings are borrowed from STMT) and
 * their count. Per table: equality columns first, then the first range
 * column or else the ORDER BY keys of a statement with LIMIT; also each
 * equality or range column alone, and partial candidates for equality
 * columns compared with a parameter. A range column from LIKE $n comes
 * twice: as it is (serves a prefix under the C collation), then with
 * text_pattern_ops. An OR of conditions on one table, each arm giving a
 * key (equality columns, then a range column), gives one candidate per
 * arm, with the OR's or_group. */
size_t candidates_build(const struct candidates_stmt *stmt, struct candidates_index **out);

/* candidates_order_eq puts the leading equality columns of C in order of
 * SEL (SEL[k] the fraction of rows column k matches alone, <0 unknown):
 * the most selective first, unknown ones last, ties in their order. Any
 * order serves C's own statement; this one also serves the most other
 * statements through a prefix and keeps the first key the sharpest. */
void candidates_order_eq(struct candidates_index *c, const double *sel);

/* candidates_like_prefix returns the LIKE pattern a user looking for
 * VALUE by its start would type: its first two thirds (at least one
 * character), or more when NEXT (the next histogram bound, or NULL) shares
 * a longer start with it, up to one character past that shared start, so
 * the pattern matches about one histogram bucket; cut between UTF-8
 * characters, LIKE's special characters escaped, then '%'. Memory the
 * caller frees. */
char *candidates_like_prefix(const char *value, const char *next);

/* candidates_index_sql returns "CREATE INDEX [CONCURRENTLY ]ON tbl (cols)
 * [WHERE pred]" for candidate C of STMT; QUALIFIED_TABLE is the table name
 * to print (already quoted), WHERE may be NULL. Memory the caller frees. */
char *candidates_index_sql(const struct candidates_index *c, const char *qualified_table,
			   const char *where, bool concurrently);

/* candidates_key returns the key columns of C as text ("a, lower(b) DESC")
 * in memory the caller frees. */
char *candidates_key(const struct candidates_index *c);

/* candidates_quote_ident returns NAME, double-quoted where needed, in
 * memory the caller frees. */
char *candidates_quote_ident(const char *name);

/* candidates_bind returns QUERY (the text STMT was parsed from, as
 * STMT's plan_text has it) with every
 * $NUMBERS[i] replaced by LITERALS[i] (borrowed, put in as is) and the
 * other parameters renumbered so the text still has $1..$k without gaps.
 * Memory the caller frees. */
char *candidates_bind(const struct candidates_stmt *stmt, const char *query, const int *numbers,
		      const char *const *literals, size_t n);
/* candidates_expr_param returns the number of the first parameter ($n)
 * left in expression key EXPR, or 0 when it has none: such a key cannot
 * be an index until the parameter is a constant. */
int candidates_expr_param(const char *expr);

/* candidates_set_param writes LITERAL (borrowed, put in as is) in place of
 * $NUMBER in every expression key of ST: a parameter that every sample of
 * the statement gives the same value is a constant of the application's
 * code (date_trunc('day', ...), data ->> 'kind'), which the expression
 * index must hold. */
void candidates_set_param(struct candidates_stmt *st, int number, const char *literal);

/* candidates_literal returns VALUE as an SQL literal of TYPE (as
 * format_type prints it; NULL, "text" or "unknown": a plain string
 * literal, which takes the type its place gives it): a number of a
 * numeric type as it is, other types as 'value'::type; quotes doubled,
 * E'' when there is a backslash. Memory the caller frees. */
char *candidates_literal(const char *value, const char *type);
#endif

/* What admin.c (login, parsing, control commands) and admin_show.c (the
 * SHOW tables) share: the reply builder that writes result sets into an
 * admin client's output buffer. Not for other modules. */
#ifndef PGLG_ADMIN_INTERNAL_H
#define PGLG_ADMIN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

struct client;

/* What the console says it is: PgBouncer's version scheme, so that tools
 * choosing queries by version pick the 1.25 column sets we answer with. */
#define ADMIN_COMPAT_VERSION "1.25.0"
#define ADMIN_SERVER_VERSION ADMIN_COMPAT_VERSION "/pglifeguard"

/* Column types, as PostgreSQL type OIDs. */
enum admin_type {
	COL_BYTEA = 17,
	COL_INT8 = 20,
	COL_INT4 = 23,
	COL_TEXT = 25,
	COL_NUMERIC = 1700,
};

struct admin_column {
	const char *name;
	enum admin_type type;
};

/* One response under construction for CLIENT. Messages go straight into
 * the client's wbuf; ROW is scratch space for the RowDescription or DataRow
 * being built, freed by reply_done. OK turns false when memory ran out. */
struct reply {
	struct client *client;
	uint8_t *row;
	uint32_t len, cap;
	uint16_t ncols;
	bool ok;
};

void reply_init(struct reply *r, struct client *client);
/* reply_done frees the scratch space; returns false if memory ran out. */
bool reply_done(struct reply *r);

/* reply_header sends the RowDescription of the N columns COLS. */
void reply_header(struct reply *r, const struct admin_column *cols, int n);

/* A DataRow: reply_row, then one value per column, then reply_row_end.
 * reply_text with NULL sends SQL NULL. */
void reply_row(struct reply *r);
void reply_text(struct reply *r, const char *s);
void reply_int(struct reply *r, long long v);
void reply_u64(struct reply *r, uint64_t v);
void reply_null(struct reply *r);
void reply_row_end(struct reply *r);

/* reply_complete sends CommandComplete with TAG. */
void reply_complete(struct reply *r, const char *tag);

/* reply_notice sends a NoticeResponse of SEVERITY (NOTICE, WARNING) with
 * an optional DETAIL. */
void reply_notice(struct reply *r, const char *severity, const char *message, const char *detail);

/* admin_fixed_param returns the console's fixed value of the session
 * parameter NAME (any case; what drivers probe), or NULL. */
const char *admin_fixed_param(const char *name);

/* admin_show answers SHOW WHAT (WHAT as typed, any case) with its header,
 * rows and CommandComplete. Returns false, sending nothing, when WHAT is
 * not something the console shows. */
bool admin_show(struct reply *r, const char *what);

#endif

/* [databases] and [users] entries: libpq-style "key=value" lists, with
 * PgBouncer's extra keys, decoded with libpq's PQconninfoParse.
 *
 * Why not one PQconninfoParse call on the whole value: libpq rejects any key
 * it does not know ("invalid connection option "pool_size""), and half of a
 * PgBouncer entry is such keys. So the work is split:
 *  - a scanner walks the value with libpq's lexical rules (key, optional
 *    blanks, '=', optional blanks, then a bare word or a single-quoted
 *    string, backslash escaping the next character in both) only to find
 *    where each item starts and ends and what its key is; it decodes
 *    nothing;
 *  - every raw value is then decoded by PQconninfoParse itself, handed as
 *    "dbname=<raw value>" (dbname is just a carrier: PQconninfoParse applies
 *    no defaults and does not expand it), so quoting and escapes mean exactly
 *    what they mean to libpq;
 *  - the key decides what the decoded value is for, from the tables below,
 *    which gives precise messages ("unknown key "foo"") for both libpq keys
 *    and PgBouncer ones. */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "config_db.h"
#include "config_internal.h"

enum key_kind {
	KEY_STRING,
	KEY_INT,
	KEY_POOL_MODE,
	KEY_REFUSED, /* recognised, not supported yet: an error */
	KEY_IGNORED, /* recognised, no effect yet: a warning */
};

struct entry_key {
	const char *name;
	enum key_kind kind;
	size_t offset;
	int min, max;
	const char *note; /* KEY_REFUSED: why */
};

#define AUTH_QUERY_NOTE                                                                            \
	"looking up passwords with auth_query is not implemented; list the users in auth_file"
#define DB_STR(n, f)                                                                               \
	{                                                                                          \
		n, KEY_STRING, offsetof(struct db_config, f), 0, 0, NULL                           \
	}
#define DB_INT(n, f, lo, hi)                                                                       \
	{                                                                                          \
		n, KEY_INT, offsetof(struct db_config, f), lo, hi, NULL                            \
	}

static const struct entry_key db_keys[] = {
	DB_STR("host", host),
	DB_INT("port", port, 1, 65535),
	DB_STR("dbname", dbname),
	DB_STR("user", user),
	DB_STR("password", password),
	DB_INT("pool_size", pool_size, 0, 100000),
	DB_INT("min_pool_size", min_pool_size, 0, 100000),
	DB_INT("reserve_pool", reserve_pool, 0, 100000),
	DB_INT("reserve_pool_size", reserve_pool, 0, 100000),
	{"pool_mode", KEY_POOL_MODE, offsetof(struct db_config, pool_mode), 0, 0, NULL},
	DB_INT("max_db_connections", max_db_connections, 0, 1000000),
	DB_STR("client_encoding", client_encoding),
	DB_STR("datestyle", datestyle),
	DB_STR("timezone", timezone),
	DB_STR("application_name", application_name),
	DB_STR("connect_query", connect_query),
	{"auth_user", KEY_REFUSED, 0, 0, 0, AUTH_QUERY_NOTE},
	{"auth_dbname", KEY_REFUSED, 0, 0, 0, AUTH_QUERY_NOTE},
	{"max_db_client_connections", KEY_IGNORED, 0, 0, 0, NULL},
	{"server_lifetime", KEY_IGNORED, 0, 0, 0, NULL},
	{"load_balance_hosts", KEY_IGNORED, 0, 0, 0, NULL},
	{NULL, KEY_STRING, 0, 0, 0, NULL},
};

static const struct entry_key user_keys[] = {
	{"pool_mode", KEY_POOL_MODE, offsetof(struct user_config, pool_mode), 0, 0, NULL},
	{"max_user_connections", KEY_INT, offsetof(struct user_config, max_user_connections), 0,
	 1000000, NULL},
	{"max_user_client_connections", KEY_IGNORED, 0, 0, 0, NULL},
	{NULL, KEY_STRING, 0, 0, 0, NULL},
};

/* One entry being read: where it is, for messages. */
struct entry_ctx {
	const char *what; /* "database" or "user" */
	const char *name;
	const char *file;
	int line;
	FILE *errors, *warnings;
	int nerrors;
};

static void __attribute__((format(printf, 3, 4)))
entry_msg(struct entry_ctx *e, bool error, const char *fmt, ...)
{
	FILE *out = error ? e->errors : e->warnings;
	va_list ap;

	if (error)
		e->nerrors++;
	if (!out)
		return;
	fprintf(out, "%s:%d: %s \"%s\": ", e->file, e->line, e->what, e->name);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

/* unquote_name returns KEY as a new string, without PgBouncer's optional
 * SQL-style double quotes ("" inside stands for one quote); NULL when
 * malformed or empty. */
static char *unquote_name(const char *key)
{
	size_t len = strlen(key), i, n = 0;
	char *out;

	if (key[0] != '"')
		return len ? strdup(key) : NULL;
	out = malloc(len);
	if (!out)
		return NULL;
	for (i = 1; i < len; i++) {
		if (key[i] == '"') {
			if (key[i + 1] != '"')
				break;
			i++;
		}
		out[n++] = key[i];
	}
	if (i != len - 1 || n == 0) { /* no closing quote, or text after it */
		free(out);
		return NULL;
	}
	out[n] = '\0';
	return out;
}

struct item {
	const char *key;
	size_t keylen;
	const char *raw; /* the value as written, quotes included */
	size_t rawlen;
};

enum scan_result { SCAN_END, SCAN_ITEM, SCAN_NO_EQUALS, SCAN_UNTERMINATED };

/* scan_item finds the next item at *POS, following libpq's rules for
 * where a key and a value end (see the file comment). */
static enum scan_result scan_item(const char **pos, struct item *it)
{
	const char *p = *pos;

	while (isspace((unsigned char)*p))
		p++;
	if (!*p)
		return SCAN_END;
	it->key = p;
	while (*p && *p != '=' && !isspace((unsigned char)*p))
		p++;
	it->keylen = (size_t)(p - it->key);
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '=')
		return SCAN_NO_EQUALS;
	p++;
	while (isspace((unsigned char)*p))
		p++;
	it->raw = p;
	if (*p == '\'') {
		for (p++;; p++) {
			if (!*p)
				return SCAN_UNTERMINATED;
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '\'')
				break;
		}
		p++;
	} else {
		while (*p && !isspace((unsigned char)*p)) {
			if (*p == '\\' && p[1])
				p++;
			p++;
		}
	}
	it->rawlen = (size_t)(p - it->raw);
	*pos = p;
	return SCAN_ITEM;
}

/* decode_value returns the value of IT decoded by libpq, as a new string;
 * NULL when out of memory (or if libpq disagrees with the scanner). */
static char *decode_value(const struct item *it)
{
	static const char carrier[] = "dbname=";
	PQconninfoOption *opts, *o;
	char *conninfo, *errmsg = NULL, *value = NULL;

	conninfo = malloc(sizeof(carrier) + it->rawlen);
	if (!conninfo)
		return NULL;
	memcpy(conninfo, carrier, sizeof(carrier) - 1);
	memcpy(conninfo + sizeof(carrier) - 1, it->raw, it->rawlen);
	conninfo[sizeof(carrier) - 1 + it->rawlen] = '\0';
	opts = PQconninfoParse(conninfo, &errmsg);
	free(conninfo);
	if (errmsg)
		PQfreemem(errmsg);
	if (!opts)
		return NULL;
	for (o = opts; o->keyword; o++) {
		if (strcmp(o->keyword, "dbname") == 0) {
			value = strdup(o->val ? o->val : "");
			break;
		}
	}
	PQconninfoFree(opts);
	return value;
}

static const struct entry_key *find_key(const struct entry_key *keys, const char *name, size_t len)
{
	for (; keys->name; keys++)
		if (strlen(keys->name) == len && memcmp(keys->name, name, len) == 0)
			return keys;
	return NULL;
}

/* apply_item stores one decoded VALUE into BASE. Takes ownership of VALUE. */
static void apply_item(struct entry_ctx *e, const struct entry_key *k, void *base, char *value)
{
	char *field = (char *)base + k->offset;
	long long n;
	enum pool_mode mode;

	switch (k->kind) {
	case KEY_STRING:
		free(*(char **)field);
		*(char **)field = value;
		return;
	case KEY_INT:
		if (config_parse_int(value, k->min, k->max, &n))
			*(int *)field = (int)n;
		else
			entry_msg(e, true,
				  "bad value \"%.64s\" for %s: expected an integer from %d to %d",
				  value, k->name, k->min, k->max);
		break;
	case KEY_POOL_MODE:
		if (config_parse_pool_mode(value, &mode))
			*(enum pool_mode *)field = mode;
		else
			entry_msg(e, true,
				  "bad value \"%.64s\" for pool_mode: expected session, "
				  "transaction or statement",
				  value);
		break;
	case KEY_REFUSED:
		if (*value)
			entry_msg(e, true, "%s is not supported yet: %s", k->name, k->note);
		break;
	case KEY_IGNORED:
		entry_msg(e, false, "key \"%s\" is accepted but has no effect yet", k->name);
		break;
	}
	free(value);
}

/* parse_items applies every item of VALUE to BASE using KEYS. Problems go
 * through entry_msg; nothing of a value is quoted in a message unless its
 * key is known and not a password. */
static void parse_items(struct entry_ctx *e, const struct entry_key *keys, void *base,
			const char *value)
{
	const char *pos = value;
	bool after_password = false;
	struct item it;
	enum scan_result r;

	while ((r = scan_item(&pos, &it)) == SCAN_ITEM) {
		const struct entry_key *k = find_key(keys, it.key, it.keylen);
		char *decoded;

		if (it.keylen == 0) {
			entry_msg(e, true, "missing key before \"=\"");
			return;
		}
		if (!k) {
			if (after_password)
				entry_msg(e, true,
					  "unknown key after the password "
					  "(quote a password that contains blanks)");
			else
				entry_msg(e, true, "unknown key \"%.*s\"",
					  (int)(it.keylen > 64 ? 64 : it.keylen), it.key);
			after_password = false;
			continue;
		}
		after_password = strcmp(k->name, "password") == 0;
		decoded = decode_value(&it);
		if (!decoded) {
			entry_msg(e, true, "out of memory reading the value of %s", k->name);
			return;
		}
		apply_item(e, k, base, decoded);
	}
	if (r == SCAN_NO_EQUALS) {
		if (after_password)
			entry_msg(e, true,
				  "missing \"=\" after the password "
				  "(quote a password that contains blanks)");
		else
			entry_msg(e, true, "missing \"=\" after \"%.*s\"",
				  (int)(it.keylen > 64 ? 64 : it.keylen), it.key);
	} else if (r == SCAN_UNTERMINATED) {
		entry_msg(e, true, "unterminated quoted value for \"%.*s\"",
			  (int)(it.keylen > 64 ? 64 : it.keylen), it.key);
	}
}

struct db_config *config_db_parse(const char *key, const char *value, const char *file, int line,
				  FILE *errors, FILE *warnings)
{
	struct entry_ctx e = {"database", key, file, line, errors, warnings, 0};
	struct db_config *db;

	db = calloc(1, sizeof(*db));
	if (!db) {
		entry_msg(&e, true, "out of memory");
		return NULL;
	}
	db->port = db->pool_size = db->min_pool_size = db->reserve_pool = -1;
	db->max_db_connections = -1;
	db->pool_mode = POOL_MODE_INHERIT;
	db->line = line;
	db->name = unquote_name(key);
	if (!db->name) {
		entry_msg(&e, true, "bad database name (empty, or a quote is not closed)");
		config_db_free(db);
		return NULL;
	}
	e.name = db->name;
	parse_items(&e, db_keys, db, value);
	if (db->password && !db->user)
		entry_msg(&e, false, "password is ignored without user");
	if (e.nerrors) {
		config_db_free(db);
		return NULL;
	}
	return db;
}

struct user_config *config_user_parse(const char *key, const char *value, const char *file,
				      int line, FILE *errors, FILE *warnings)
{
	struct entry_ctx e = {"user", key, file, line, errors, warnings, 0};
	struct user_config *user;

	user = calloc(1, sizeof(*user));
	if (!user) {
		entry_msg(&e, true, "out of memory");
		return NULL;
	}
	user->pool_mode = POOL_MODE_INHERIT;
	user->max_user_connections = -1;
	user->line = line;
	user->name = unquote_name(key);
	if (!user->name) {
		entry_msg(&e, true, "bad user name (empty, or a quote is not closed)");
		config_user_free(user);
		return NULL;
	}
	e.name = user->name;
	parse_items(&e, user_keys, user, value);
	if (e.nerrors) {
		config_user_free(user);
		return NULL;
	}
	return user;
}

void config_db_free(struct db_config *db)
{
	if (!db)
		return;
	free(db->name);
	free(db->host);
	free(db->dbname);
	free(db->user);
	free(db->password);
	free(db->auth_user);
	free(db->client_encoding);
	free(db->datestyle);
	free(db->timezone);
	free(db->application_name);
	free(db->connect_query);
	free(db);
}

void config_user_free(struct user_config *user)
{
	if (!user)
		return;
	free(user->name);
	free(user);
}

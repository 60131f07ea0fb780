/* The settings table and what it drives: defaults, reading a
 * pgbouncer.ini-compatible file with libinih, validation with FILE:LINE
 * messages, SHOW CONFIG, SET, and keeping startup-only settings on reload. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "config.h"
#include "config_db.h"
#include "config_internal.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum setting_type { T_BOOL, T_INT, T_TIME, T_STRING, T_ENUM };

#define S_RELOAD 0x1 /* a reload or SET changes it */
#define S_OCTAL 0x2 /* T_INT written in octal (file modes) */
#define S_NULL_EMPTY 0x4 /* T_STRING: an empty value means unset (NULL) */
#define S_SECRET 0x8 /* T_STRING: never shown (SHOW CONFIG, reload messages) */

struct setting {
	const char *name;
	enum setting_type type;
	size_t offset;
	const char *def; /* default, spelled as in the file; NULL: unset */
	long long min, max; /* T_INT bounds; T_TIME bounds in seconds */
	const char *const *values; /* T_ENUM spellings (index = value), or
				    * the only values a T_STRING may take */
	const char *const *unsupported; /* T_ENUM values PgBouncer has and we refuse */
	unsigned flags;
	const char *doc;
};

static const char *const pool_mode_names[] = {"session", "transaction", "statement", NULL};
static const char *const leak_action_names[] = {"log", "cancel", "close", NULL};
static const char *const auth_type_names[] = {"trust", "plain", "md5", "scram-sha-256", NULL};
static const char *const auth_type_refused[] = {"any", "cert", "hba", "ldap", "pam", NULL};
static const char *const syslog_facilities[] = {"auth",   "authpriv", "daemon", "user",   "local0",
						"local1", "local2",   "local3", "local4", "local5",
						"local6", "local7",   NULL};

#define TIME_MAX_SEC ((long long)INT32_MAX)
#define R S_RELOAD
#define F(field) offsetof(struct config, field)
#define BOOL(n, def, fl, doc)                                                                      \
	{                                                                                          \
#n, T_BOOL, F(n), def, 0, 1, NULL, NULL, fl, doc                                   \
	}
#define INT(n, def, lo, hi, fl, doc)                                                               \
	{                                                                                          \
#n, T_INT, F(n), def, lo, hi, NULL, NULL, fl, doc                                  \
	}
#define TIME(n, def, lo, fl, doc)                                                                  \
	{                                                                                          \
#n, T_TIME, F(n), def, lo, TIME_MAX_SEC, NULL, NULL, fl, doc                       \
	}
#define STR(n, def, vals, fl, doc)                                                                 \
	{                                                                                          \
#n, T_STRING, F(n), def, 0, 0, vals, NULL, fl, doc                                 \
	}
#define ENUM(n, def, vals, refused, doc)                                                           \
	{                                                                                          \
#n, T_ENUM, F(n), def, 0, 0, vals, refused, R, doc                                 \
	}

/* Table order is SHOW CONFIG order and the grouping of pglifeguard.ini(5)
 * and etc/pglifeguard.ini. A field of struct config and its setting share
 * one name (the macros rely on it). */
static const struct setting settings[] = {
	/* connections from clients */
	STR(listen_addr, "", NULL, 0,
	    "TCP addresses to listen on, comma-separated; * for all, empty for no TCP"),
	INT(listen_port, "6432", 1, 65535, 0, "port for TCP and for the unix socket name"),
	STR(unix_socket_dir, "/tmp", NULL, 0,
	    "directory of the unix socket; empty for no unix socket"),
	INT(unix_socket_mode, "0777", 0, 0777, S_OCTAL, "file mode of the unix socket"),
	INT(listen_backlog, "128", 1, 65535, 0, "queue length of not yet accepted connections"),
	BOOL(so_reuseport, "0", 0, "let several processes listen on the same port (SO_REUSEPORT)"),
	BOOL(tcp_keepalive, "1", R, "TCP keepalive on client and server sockets, OS timings"),
	INT(max_client_conn, "100", 1, 1000000, R, "most client connections at once"),

	/* authentication */
	ENUM(auth_type, "md5", auth_type_names, auth_type_refused,
	     "how clients log in: trust, plain, md5 or scram-sha-256"),
	STR(auth_file, NULL, NULL, R | S_NULL_EMPTY,
	    "file of users and passwords (PgBouncer's userlist.txt format)"),
	STR(admin_users, "", NULL, R, "users allowed every admin console command, comma-separated"),
	STR(stats_users, "", NULL, R, "users allowed read-only admin console commands"),

	/* pooling */
	ENUM(pool_mode, "session", pool_mode_names, NULL,
	     "when a server goes back to its pool: session, transaction or statement"),
	INT(default_pool_size, "20", 0, 100000, R, "server connections per (database, user) pool"),
	INT(min_pool_size, "0", 0, 100000, R, "server connections a pool keeps open when idle"),
	INT(reserve_pool_size, "0", 0, 100000, R, "extra connections a pool may open under load"),
	TIME(reserve_pool_timeout, "5", 0, R, "seconds a client waits before the reserve is used"),
	INT(max_db_connections, "0", 0, 1000000, R, "server connections per database; 0: no limit"),
	INT(max_user_connections, "0", 0, 1000000, R, "server connections per user; 0: no limit"),
	STR(server_reset_query, "DISCARD ALL", NULL, R,
	    "SQL run when a session-mode client lets go of a server"),
	BOOL(server_reset_query_always, "0", R,
	     "run server_reset_query in transaction and statement mode too"),
	BOOL(session_state_reset, "1", R,
	     "in transaction and statement mode, run server_reset_query on a server whose client "
	     "left session state on it"),
	STR(server_check_query, "select 1", NULL, R,
	    "SQL that checks an idle server before reuse; empty: no check"),
	TIME(server_check_delay, "30", 0, R, "seconds a server may be idle before it is checked"),
	STR(ignore_startup_parameters, "", NULL, R,
	    "startup parameters accepted from clients and not passed on, comma-separated"),
	INT(pkt_buf, "4096", 1024, 1048576, 0, "size of the buffer per connection, bytes"),
	INT(max_packet_size, "2147483647", 1024, 2147483647, R,
	    "largest protocol message accepted, bytes"),
	INT(max_prepared_statements, "200", 0, 100000, 0,
	    "protocol-level prepared statements kept per server connection in transaction "
	    "and statement pooling; 0: passed through unchanged"),
	INT(sbuf_loopcnt, "5", 0, 1000000, R,
	    "reads per connection per loop turn before others get a turn; 0: no limit"),

	/* timeouts and lifetimes */
	TIME(server_lifetime, "3600", 0, R,
	     "seconds after which an unused server is closed; 0: never"),
	TIME(server_idle_timeout, "600", 0, R, "seconds an idle server stays open; 0: forever"),
	TIME(server_connect_timeout, "15", 0, R, "seconds to connect and log in to a server"),
	TIME(server_login_retry, "15", 0, R, "seconds to wait after a failed server login"),
	TIME(client_login_timeout, "60", 0, R, "seconds a client has to log in"),
	TIME(client_idle_timeout, "0", 0, R, "seconds an idle client stays connected; 0: forever"),
	TIME(query_timeout, "0", 0, R,
	     "seconds a query may run before the server is closed; 0: no limit"),
	TIME(query_wait_timeout, "120", 0, R, "seconds a client may wait for a server; 0: forever"),
	TIME(idle_transaction_timeout, "0", 0, R,
	     "seconds a client may idle inside a transaction; 0: forever"),
	TIME(suspend_timeout, "10", 0, R,
	     "seconds SUSPEND waits for buffers to drain, then drops the clients still busy"),
	TIME(leak_threshold, "60", 0, R,
	     "seconds a client may hold a server while quiet (idle in transaction, or idle in "
	     "session mode) before it is a suspected leak; 0: off"),
	ENUM(leak_action, "log", leak_action_names, NULL,
	     "what a suspected leak gets: log, cancel (also a cancel request) or close"),
	INT(repeat_threshold, "10", 0, 1000000, R,
	    "runs of one single-row statement within one transaction or burst that the store "
	    "records as an N+1 pattern; 0: off"),

	/* logging and process */
	STR(logfile, "", NULL, R, "file to log to as well as stderr; empty: none"),
	STR(pidfile, "", NULL, 0, "file holding the process id; empty: none"),
	BOOL(log_connections, "1", R, "log every client login"),
	BOOL(log_disconnections, "1", R, "log every client disconnection, with the reason"),
	BOOL(log_pooler_errors, "1", R, "log the errors sent to clients"),
	BOOL(syslog, "0", R, "log to syslog as well"),
	STR(syslog_ident, "pglifeguard", NULL, R, "program name in syslog messages"),
	STR(syslog_facility, "daemon", syslog_facilities, R, "syslog facility"),
	INT(verbose, "0", 0, 10, R, "more log detail: 1 debug, 2 and up noise"),
	STR(user, "", NULL, 0, "OS user to switch to after startup when started as root"),
	TIME(stats_period, "60", 1, R, "seconds between averaged statistics"),

	/* monitoring */
	STR(metrics_listen, "", NULL, 0,
	    "host:port of the HTTP server for /metrics and /health; empty: off"),
	STR(store_path, "", NULL, 0,
	    "SQLite file the monitor thread samples into; empty: pglifeguard.db beside pidfile "
	    "(no pidfile: off); off: monitor off"),
	TIME(sample_interval, "10", 1, 0,
	     "seconds between samples of pg_stat_statements and table statistics"),
	TIME(lock_sample_interval, "1", 0, 0, "seconds between lock-wait samples; 0: off"),
	TIME(store_retention, "604800", 60, 0, "seconds samples are kept in the store"),
	TIME(store_rollup_after, "86400", 1, 0,
	     "seconds after which samples are rolled up into store_rollup_interval buckets"),
	TIME(store_rollup_interval, "3600", 1, 0, "seconds covered by one rolled-up interval"),
	STR(monitor_user, "", NULL, 0,
	    "user the sampler logs in as; empty: the database entry's user"),
	STR(monitor_password, "", NULL, S_SECRET,
	    "password of monitor_user; empty: the database entry's password, else auth_file"),
	STR(monitor_databases, "", NULL, 0,
	    "comma list of [databases] entries to sample; empty: all but \"*\""),
	INT(monitor_queue_size, "1024", 1, 1000000, 0,
	    "pooler events (leaks, alerts, pool samples) queued for the store; more are dropped "
	    "and counted"),
	BOOL(sample_query_params, "0", R,
	     "store the parameter values of sampled statements (personal data!) for the advisor"),
	TIME(sample_query_params_interval, "60", 0, R,
	     "seconds between two samples of one statement's parameter values"),

	/* alerts */
	TIME(alert_for_seconds, "30", 0, R,
	     "seconds a rule's condition must hold before its alert fires, and be false before it "
	     "resolves"),
	TIME(alert_wait_seconds, "10", 0, R,
	     "alert when clients have waited longer than this many seconds for a server; 0: off"),
	INT(alert_max_wait_ms, "2000", 0, 2147483647, R,
	    "alert when a pool's oldest waiting client waited longer than this, ms; 0: off"),
	INT(alert_pool_utilization, "90", 0, 100, R,
	    "alert when a pool uses more than this percent of its servers; 0: off"),
	INT(alert_client_conn_percent, "90", 0, 100, R,
	    "alert when client connections exceed this percent of max_client_conn; 0: off"),
	BOOL(alert_leaks, "1", R,
	     "alert when a pool flagged a suspected leak within alert_for_seconds"),
	STR(alert_command, "", NULL, R,
	    "program run (without a shell) when an alert fires or resolves; empty: none"),
	TIME(alert_command_timeout, "10", 0, R,
	     "seconds an alert_command may run before it is killed; 0: no limit"),
	INT(alert_command_max, "4", 1, 64, R,
	    "most alert_command children running at once; further alerts skip the command"),
};

#undef R

/* PgBouncer settings we recognise but have not implemented. Values in SAME
 * behave as PgBouncer's default does and are accepted silently. Otherwise a
 * harmless setting gets the warning "accepted but has no effect yet" (plus
 * NOTE), and a refused one is an error naming NOTE, unless its value is in
 * WARN, accepted with WARN_NOTE. Refused are the settings whose absence
 * would weaken security or change what clients see. */
struct unsupported {
	const char *name;
	bool refuse;
	const char *same; /* '|'-separated; a leading '|' admits "" */
	const char *warn;
	const char *note;
	const char *warn_note;
};

#define AUTHQ "looking up passwords with auth_query is not implemented; list the users in auth_file"
#define CTLS                                                                                       \
	"TLS for clients is not implemented; only client_tls_sslmode = disable and empty "         \
	"client_tls_* settings are accepted"
#define STLS                                                                                       \
	"TLS to servers is not implemented; only server_tls_sslmode = disable, allow or "          \
	"prefer and empty server_tls_* settings are accepted"
#define HARMLESS(n, same)                                                                          \
	{                                                                                          \
		n, false, same, NULL, NULL, NULL                                                   \
	}
#define REFUSED(n, same, note)                                                                     \
	{                                                                                          \
		n, true, same, NULL, note, NULL                                                    \
	}

static const struct unsupported unsupported[] = {
	HARMLESS("application_name_add_host", "0"),
	REFUSED("auth_dbname", "", AUTHQ),
	REFUSED("auth_hba_file", "", "auth_type hba is not implemented"),
	REFUSED("auth_ident_file", "", "auth_type hba is not implemented"),
	HARMLESS("auth_ldap_options", ""),
	REFUSED("auth_query", "", AUTHQ),
	REFUSED("auth_user", "", AUTHQ),
	HARMLESS("autodb_idle_timeout", "3600"),
	HARMLESS("cancel_wait_timeout", "10"),
	REFUSED("client_tls13_ciphers", "", CTLS),
	REFUSED("client_tls_ca_file", "", CTLS),
	REFUSED("client_tls_cert_file", "", CTLS),
	REFUSED("client_tls_ciphers", "|default|fast", CTLS),
	REFUSED("client_tls_dheparams", "|auto", CTLS),
	REFUSED("client_tls_ecdhcurve", "|auto", CTLS),
	REFUSED("client_tls_key_file", "", CTLS),
	REFUSED("client_tls_protocols", "|secure", CTLS),
	REFUSED("client_tls_sslmode", "disable", CTLS),
	HARMLESS("conffile", ""),
	REFUSED("disable_pqexec", "0",
		"refusing the simple query protocol is not implemented, so multi-statement "
		"queries would still pass; only 0 is accepted"),
	HARMLESS("dns_max_ttl", "15"),
	HARMLESS("dns_nxdomain_ttl", "15"),
	HARMLESS("dns_zone_check_period", "0"),
	HARMLESS("job_name", "pgbouncer"),
	HARMLESS("log_stats", "1"),
	HARMLESS("max_db_client_connections", "0"),
	HARMLESS("max_user_client_connections", "0"),
	HARMLESS("peer_id", "0"),
	HARMLESS("query_wait_notify", "5"),
	HARMLESS("resolv_conf", ""),
	HARMLESS("scram_iterations", "4096"),
	HARMLESS("server_fast_close", "0"),
	HARMLESS("server_round_robin", "0"),
	REFUSED("server_tls13_ciphers", "", STLS),
	REFUSED("server_tls_ca_file", "", STLS),
	REFUSED("server_tls_cert_file", "", STLS),
	REFUSED("server_tls_ciphers", "|default|fast", STLS),
	REFUSED("server_tls_key_file", "", STLS),
	REFUSED("server_tls_protocols", "|secure", STLS),
	{"server_tls_sslmode", true, "disable", "allow|prefer", STLS,
	 "TLS to servers is not implemented; connections to servers stay unencrypted"},
	HARMLESS("service_name", ""),
	HARMLESS("tcp_defer_accept", "0|1|45"),
	HARMLESS("tcp_keepcnt", "0"),
	HARMLESS("tcp_keepidle", "0"),
	HARMLESS("tcp_keepintvl", "0"),
	HARMLESS("tcp_socket_buffer", "0"),
	HARMLESS("tcp_user_timeout", "0"),
	REFUSED("track_extra_parameters", "|IntervalStyle",
		"only IntervalStyle and the standard parameters are carried to servers; in "
		"transaction pooling a client could see values another client set"),
	HARMLESS("transaction_timeout", "0"),
	HARMLESS("unix_socket_group", ""),
};

/* ---- values ------------------------------------------------------------ */

struct value {
	long long n; /* T_BOOL, T_INT, T_ENUM */
	usec_t t; /* T_TIME */
	char *s; /* T_STRING, owned until stored */
};

static void __attribute__((format(printf, 3, 4)))
append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* append_choices appends "a, b, c" with LAST between the last two. */
static void append_choices(char *buf, size_t len, const char *const *values, const char *last)
{
	for (size_t i = 0; values[i]; i++)
		append(buf, len, "%s%s", i == 0 ? "" : values[i + 1] ? ", " : last, values[i]);
}

static int lookup(const char *const *values, const char *text)
{
	for (int i = 0; values[i]; i++)
		if (strcasecmp(values[i], text) == 0)
			return i;
	return -1;
}

static bool only_blanks(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return *s == '\0';
}

static bool parse_integer(const char *text, int base, long long min, long long max, long long *out)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(text, &end, base);
	if (end == text || errno || !only_blanks(end) || n < min || n > max)
		return false;
	*out = n;
	return true;
}

bool config_parse_int(const char *text, long long min, long long max, long long *out)
{
	return parse_integer(text, 10, min, max, out);
}

bool config_parse_pool_mode(const char *text, enum pool_mode *out)
{
	int i = lookup(pool_mode_names, text);

	if (i < 0)
		return false;
	*out = (enum pool_mode)i;
	return true;
}

static bool parse_seconds(const char *text, long long min, long long max, usec_t *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(text, &end);
	/* the comparisons also reject NaN; strtod's hex and "inf" forms fail them or the range */
	if (end == text || errno || !only_blanks(end) || !(d >= (double)min && d <= (double)max))
		return false;
	*out = (usec_t)(d * (double)USEC_PER_SEC + 0.5);
	return true;
}

static bool parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = {"1", "yes", "on", "true", NULL};
	static const char *const no[] = {"0", "no", "off", "false", NULL};

	if (lookup(yes, text) >= 0)
		*out = true;
	else if (lookup(no, text) >= 0)
		*out = false;
	else
		return false;
	return true;
}

/* setting_parse reads TEXT for S into V without touching any config.
 * Returns 0, or -1 with the message (no FILE:LINE) in ERR. */
static int setting_parse(const struct setting *s, const char *text, struct value *v, char *err,
			 size_t errlen)
{
	bool b;
	int i;

	memset(v, 0, sizeof(*v));
	err[0] = '\0';
	switch (s->type) {
	case T_BOOL:
		if (parse_bool(text, &b)) {
			v->n = b;
			return 0;
		}
		append(err, errlen,
		       "bad value \"%.64s\" for %s: expected 0, 1, yes, no, on, off, "
		       "true or false",
		       text, s->name);
		return -1;
	case T_INT:
		if (parse_integer(text, s->flags & S_OCTAL ? 8 : 10, s->min, s->max, &v->n))
			return 0;
		if (s->flags & S_OCTAL)
			append(err, errlen,
			       "bad value \"%.64s\" for %s: expected an octal mode from "
			       "0%llo to 0%llo",
			       text, s->name, s->min, s->max);
		else
			append(err, errlen,
			       "bad value \"%.64s\" for %s: expected an integer from %lld "
			       "to %lld",
			       text, s->name, s->min, s->max);
		return -1;
	case T_TIME:
		if (parse_seconds(text, s->min, s->max, &v->t))
			return 0;
		append(err, errlen,
		       "bad value \"%.64s\" for %s: expected seconds from %lld to %lld "
		       "(fractions allowed)",
		       text, s->name, s->min, s->max);
		return -1;
	case T_ENUM:
		i = lookup(s->values, text);
		if (i >= 0) {
			v->n = i;
			return 0;
		}
		if (s->unsupported && (i = lookup(s->unsupported, text)) >= 0) {
			append(err, errlen, "%s %s is not supported yet; supported: ", s->name,
			       s->unsupported[i]);
			append_choices(err, errlen, s->values, ", ");
			return -1;
		}
		break;
	case T_STRING:
		if (s->values) {
			i = lookup(s->values, text);
			if (i < 0)
				break;
			text = s->values[i];
		}
		if ((s->flags & S_NULL_EMPTY) && !*text)
			return 0;
		v->s = strdup(text);
		if (!v->s) {
			append(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	append(err, errlen, "bad value \"%.64s\" for %s: expected ", text, s->name);
	append_choices(err, errlen, s->values, " or ");
	return -1;
}

/* setting_store puts V into CFG, freeing the old string when FREE_OLD. */
static void setting_store(const struct setting *s, struct config *cfg, struct value *v,
			  bool free_old)
{
	char *field = (char *)cfg + s->offset;

	switch (s->type) {
	case T_BOOL:
		*(bool *)field = v->n != 0;
		break;
	case T_INT:
	case T_ENUM:
		*(int *)field = (int)v->n;
		break;
	case T_TIME:
		*(usec_t *)field = v->t;
		break;
	case T_STRING:
		if (free_old)
			free(*(char **)field);
		*(char **)field = v->s;
		v->s = NULL;
		break;
	}
}

/* format_value returns S's value in CFG as text: in BUF, or borrowed from CFG
 * for strings. Times are seconds, like the file. */
static const char *format_value(const struct setting *s, const struct config *cfg, char *buf,
				size_t len)
{
	const char *field = (const char *)cfg + s->offset;
	const char *str;
	usec_t t;
	int n;

	switch (s->type) {
	case T_BOOL:
		return *(const bool *)field ? "1" : "0";
	case T_INT:
		snprintf(buf, len, s->flags & S_OCTAL ? "0%o" : "%d", *(const int *)field);
		return buf;
	case T_TIME:
		t = *(const usec_t *)field;
		snprintf(buf, len, "%lld", (long long)(t / USEC_PER_SEC));
		if (t % USEC_PER_SEC) {
			char frac[8];
			size_t end = 6;

			snprintf(frac, sizeof(frac), "%06lld", (long long)(t % USEC_PER_SEC));
			while (frac[end - 1] == '0')
				end--;
			frac[end] = '\0';
			append(buf, len, ".%s", frac);
		}
		return buf;
	case T_ENUM:
		n = *(const int *)field;
		for (int i = 0; s->values[i]; i++)
			if (i == n)
				return s->values[i];
		return "unknown";
	case T_STRING:
		str = *(char *const *)field;
		return str ? str : "";
	}
	return "";
}

static int find_setting(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(settings); i++)
		if (strcmp(settings[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int apply_defaults(struct config *cfg)
{
	char err[256];
	struct value v;

	for (size_t i = 0; i < ARRAY_SIZE(settings); i++) {
		if (!settings[i].def)
			continue; /* calloc left it NULL */
		if (setting_parse(&settings[i], settings[i].def, &v, err, sizeof(err)) < 0)
			return -1; /* out of memory: the unit test proves defaults parse */
		setting_store(&settings[i], cfg, &v, true);
	}
	return 0;
}

/* Checks between settings. FN gets the names of the settings involved (the
 * second may be NULL) and the message. Returns the number of problems. */
typedef void (*problem_fn)(void *ctx, const char *name1, const char *name2, const char *msg);

static int validate(const struct config *cfg, problem_fn fn, void *ctx)
{
	char msg[160];
	int n = 0;

	if (cfg->auth_type != AUTH_TYPE_TRUST && !cfg->auth_file) {
		snprintf(msg, sizeof(msg), "auth_type %s requires auth_file",
			 config_auth_type_name(cfg->auth_type));
		fn(ctx, "auth_type", "auth_file", msg);
		n++;
	}
	if (!cfg->listen_addr[0] && !cfg->unix_socket_dir[0]) {
		fn(ctx, "unix_socket_dir", "listen_addr",
		   "listen_addr and unix_socket_dir are both empty: nothing to listen on");
		n++;
	}
	return n;
}

/* ---- reading the file -------------------------------------------------- */

/* Longest chain of %include; deeper means a file includes itself. */
#define INCLUDE_DEPTH_MAX 10

/* The name inih gets for a line handed over out of band (see read_line). */
#define RAW_MARKER "\x01"

struct path_node {
	struct path_node *next;
	char name[];
};

struct load_state {
	struct config *cfg;
	FILE *errors, *warnings;
	int nerrors;
	struct {
		const char *file; /* NULL: still the default */
		int line;
		bool bad; /* a value was rejected: skip cross-checks on it */
	} where[ARRAY_SIZE(settings)];
	struct path_node *paths; /* every file read, named in messages */
	const char *main_file;
};

/* One file being read. */
struct source {
	struct load_state *st;
	struct source *parent; /* the file that included this one */
	const char *path;
	FILE *fp;
	char *line;
	size_t cap;
	char *raw; /* the current "name = value" line, when out of band */
	int lineno;
	int depth;
	char *section; /* NULL before the first [section] */
	bool section_reported;
};

static void __attribute__((format(printf, 5, 0)))
vreport(struct load_state *st, bool error, const char *file, int line, const char *fmt, va_list ap)
{
	FILE *out = error ? st->errors : st->warnings;

	if (error)
		st->nerrors++;
	if (!out)
		return;
	if (line > 0)
		fprintf(out, "%s:%d: ", file, line);
	else
		fprintf(out, "%s: ", file);
	vfprintf(out, fmt, ap);
	fputc('\n', out);
}

static void __attribute__((format(printf, 5, 6)))
report(struct load_state *st, bool error, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(st, error, file, line, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 3, 4)))
src_report(struct source *src, bool error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(src->st, error, src->path, src->lineno, fmt, ap);
	va_end(ap);
}

static void load_problem(void *ctx, const char *name1, const char *name2, const char *msg)
{
	struct load_state *st = ctx;
	int i = find_setting(name1), j = name2 ? find_setting(name2) : -1;

	if (st->where[i].bad || (j >= 0 && st->where[j].bad))
		return; /* already reported as a bad value */
	if (!st->where[i].file && j >= 0 && st->where[j].file)
		i = j;
	if (st->where[i].file)
		report(st, true, st->where[i].file, st->where[i].line, "%s", msg);
	else
		report(st, true, st->main_file, 0, "%s", msg);
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	return s;
}

/* value_in tells whether VALUE is one of the '|'-separated LIST, compared
 * without case, numbers by value ("60" matches "60.0"). */
static bool value_in(const char *list, const char *value)
{
	size_t vlen = strlen(value);
	char *end, tmp[32];
	double dv = strtod(value, &end);
	bool vnum = vlen > 0 && *end == '\0';

	for (const char *p = list;;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == vlen && strncasecmp(p, value, len) == 0)
			return true;
		if (vnum && len > 0 && len < sizeof(tmp)) {
			memcpy(tmp, p, len);
			tmp[len] = '\0';
			if (strtod(tmp, &end) == dv && *end == '\0')
				return true;
		}
		if (!bar)
			return false;
		p = bar + 1;
	}
}

static void check_unsupported(struct source *src, const char *name, const char *value)
{
	const struct unsupported *u = NULL;
	const char *note;

	for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++)
		if (strcmp(unsupported[i].name, name) == 0)
			u = &unsupported[i];
	if (!u) {
		/* a TLS setting newer than our list: same rule as the others */
		if (!*value)
			return;
		note = strncmp(name, "client_tls", 10) == 0 ? CTLS : STLS;
		src_report(src, true, "setting \"%.64s\" is not supported yet: %s", name, note);
		return;
	}
	if (value_in(u->same, value))
		return;
	if (!u->refuse)
		src_report(src, false, "setting \"%s\" is accepted but has no effect yet%s%s", name,
			   u->note ? ": " : "", u->note ? u->note : "");
	else if (u->warn && value_in(u->warn, value))
		src_report(src, false, "setting \"%s\" is accepted but has no effect yet: %s", name,
			   u->warn_note);
	else
		src_report(src, true, "setting \"%s\" is not supported yet: %s", name, u->note);
}

static bool is_unsupported(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++)
		if (strcmp(unsupported[i].name, name) == 0)
			return true;
	return strncmp(name, "client_tls", 10) == 0 || strncmp(name, "server_tls", 10) == 0;
}

static void set_from_file(struct source *src, const char *name, const char *value)
{
	struct load_state *st = src->st;
	int i = find_setting(name);
	struct value v;
	char err[256];

	if (i < 0) {
		if (is_unsupported(name))
			check_unsupported(src, name, value);
		else
			src_report(src, false, "unknown setting \"%.64s\" ignored", name);
		return;
	}
	st->where[i].file = src->path;
	st->where[i].line = src->lineno;
	if (setting_parse(&settings[i], value, &v, err, sizeof(err)) < 0) {
		st->where[i].bad = true;
		src_report(src, true, "%s", err);
		return;
	}
	st->where[i].bad = false;
	setting_store(&settings[i], st->cfg, &v, true);
}

static void add_database(struct source *src, const char *name, const char *value)
{
	struct load_state *st = src->st;
	struct db_config *db, **pp;

	db = config_db_parse(name, value, src->path, src->lineno, st->errors, st->warnings);
	if (!db) {
		st->nerrors++;
		return;
	}
	for (pp = &st->cfg->databases; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, db->name) == 0) {
			src_report(src, false,
				   "database \"%s\" is defined again; this replaces line %d",
				   db->name, (*pp)->line);
			db->next = (*pp)->next;
			config_db_free(*pp);
			break;
		}
	}
	*pp = db;
}

static void add_user(struct source *src, const char *name, const char *value)
{
	struct load_state *st = src->st;
	struct user_config *user, **pp;

	user = config_user_parse(name, value, src->path, src->lineno, st->errors, st->warnings);
	if (!user) {
		st->nerrors++;
		return;
	}
	for (pp = &st->cfg->users; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, user->name) == 0) {
			src_report(src, false,
				   "user \"%s\" is defined again; this replaces line %d",
				   user->name, (*pp)->line);
			user->next = (*pp)->next;
			config_user_free(*pp);
			break;
		}
	}
	*pp = user;
}

/* on_pair is the inih handler. Sections come from read_line, not from inih:
 * with PgBouncer's %include a [section] opened in an included file goes on
 * after it, which inih, parsing each file on its own, cannot know. */
static int on_pair(void *arg, const char *inih_section, const char *name, const char *value)
{
	struct source *src = arg;
	const char *sect = src->section;

	(void)inih_section;
	if (src->raw && strcmp(name, RAW_MARKER) == 0) {
		char *sep = strpbrk(src->raw, "=:"); /* read_line made sure there is one */

		*sep = '\0';
		name = trim(src->raw);
		value = trim(sep + 1);
	}
	if (!sect) {
		src_report(src, true, "\"%.64s\" comes before any [section]", name);
	} else if (strcasecmp(sect, "pgbouncer") == 0 || strcasecmp(sect, "pglifeguard") == 0) {
		set_from_file(src, name, value);
	} else if (strcasecmp(sect, "databases") == 0) {
		add_database(src, name, value);
	} else if (strcasecmp(sect, "users") == 0) {
		add_user(src, name, value);
	} else if (!src->section_reported) {
		src->section_reported = true;
		if (strcasecmp(sect, "peers") == 0)
			src_report(src, true,
				   "section [peers] is not supported yet (PgBouncer peering)");
		else
			src_report(src, false, "unknown section [%.64s] ignored", sect);
	}
	return 1;
}

static void parse_file(struct load_state *st, const char *path, struct source *parent);

static void section_header(struct source *src, char *p)
{
	char *end = strchr(p, ']'), *rest;

	if (!end) {
		src_report(src, true, "syntax error: \"[\" without \"]\"");
		return;
	}
	*end = '\0';
	rest = trim(end + 1);
	if (*rest && *rest != ';' && *rest != '#') {
		src_report(src, true, "syntax error: text after \"]\"");
		return;
	}
	free(src->section);
	src->section = strdup(trim(p + 1));
	src->section_reported = false;
	if (!src->section)
		src_report(src, true, "out of memory");
}

static void directive(struct source *src, char *p)
{
	char *path;

	if (strncmp(p, "%include", 8) != 0 || !isspace((unsigned char)p[8])) {
		src_report(src, true, "syntax error: unknown directive \"%.32s\"", p);
		return;
	}
	path = trim(p + 8);
	if (src->depth >= INCLUDE_DEPTH_MAX)
		src_report(src, true,
			   "%%include nested more than %d deep (does a file include itself?)",
			   INCLUDE_DEPTH_MAX);
	else
		parse_file(src->st, path, src);
}

/* inline_comment tells whether inih would cut P at a ';' after a blank:
 * PgBouncer takes such text as part of the value. */
static bool inline_comment(const char *p)
{
	for (; *p; p++)
		if (p[1] == ';' && isspace((unsigned char)p[0]))
			return true;
	return false;
}

/* read_line is the inih reader. It reads whole lines itself, which gives
 * exact line numbers, and hands inih only "name = value" lines; comments,
 * [sections] and %include are handled here. Two kinds of line inih would
 * get wrong go out of band (inih gets RAW_MARKER "=" and on_pair splits the
 * line): lines longer than inih's fixed buffer (long connection strings),
 * and lines with " ;" (inih would cut a comment there; PgBouncer has no
 * inline comments). Leading blanks are dropped, so inih never sees a line
 * as the continuation of the previous value, which PgBouncer does not do. */
static char *read_line(char *buf, int size, void *arg)
{
	struct source *src = arg;
	size_t len;
	char *p;

	src->raw = NULL;
	if (getline(&src->line, &src->cap, src->fp) < 0)
		return NULL;
	src->lineno++;
	p = src->line;
	if (src->lineno == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3; /* UTF-8 byte order mark */
	p = trim(p);
	if (*p == '[') {
		section_header(src, p);
	} else if (*p == '%') {
		directive(src, p);
	} else if (*p && *p != ';' && *p != '#') {
		len = strlen(p);
		if (*p == '=' || *p == ':' || !strpbrk(p, "=:")) {
			src_report(src, true, "syntax error: expected \"name = value\"");
		} else if (len + 2 > (size_t)size || inline_comment(p)) {
			src->raw = p;
			return strcpy(buf, RAW_MARKER "=\n");
		} else {
			memcpy(buf, p, len);
			memcpy(buf + len, "\n", 2);
			return buf;
		}
	}
	return strcpy(buf, "\n");
}

static const char *remember_path(struct load_state *st, const char *path)
{
	size_t len = strlen(path) + 1;
	struct path_node *node = malloc(sizeof(*node) + len);

	if (!node)
		return NULL;
	memcpy(node->name, path, len);
	node->next = st->paths;
	st->paths = node;
	return node->name;
}

/* parse_file reads PATH; PARENT is the file with the %include, or NULL.
 * Relative paths are relative to the working directory, as in PgBouncer. */
static void parse_file(struct load_state *st, const char *path, struct source *parent)
{
	struct source src = {.st = st, .parent = parent};
	int rc;

	src.depth = parent ? parent->depth + 1 : 0;
	src.path = remember_path(st, path);
	if (!src.path) {
		report(st, true, path, 0, "out of memory");
		return;
	}
	src.fp = fopen(path, "r");
	if (!src.fp) {
		if (parent)
			src_report(parent, true, "cannot open included file \"%s\": %s", path,
				   strerror(errno));
		else
			report(st, true, path, 0, "cannot open: %s", strerror(errno));
		return;
	}
	if (parent && parent->section) {
		src.section = strdup(parent->section);
		if (!src.section)
			report(st, true, path, 0, "out of memory");
	}
	rc = ini_parse_stream(read_line, &src, on_pair, &src);
	if (rc > 0) /* read_line lets no line through that inih rejects */
		report(st, true, src.path, rc, "syntax error");
	else if (rc < 0)
		report(st, true, src.path, 0, "cannot parse: out of memory");
	if (ferror(src.fp))
		report(st, true, src.path, 0, "read error: %s", strerror(errno));
	fclose(src.fp);
	free(src.line);
	if (parent) {
		free(parent->section);
		parent->section = src.section;
		parent->section_reported = src.section_reported;
	} else {
		free(src.section);
	}
}

struct config *config_load(const char *file, FILE *errors, FILE *warnings)
{
	struct load_state st = {.errors = errors, .warnings = warnings, .main_file = file};
	struct config *cfg;

	cfg = calloc(1, sizeof(*cfg));
	if (!cfg || apply_defaults(cfg) < 0) {
		report(&st, true, file, 0, "out of memory");
		config_free(cfg);
		return NULL;
	}
	st.cfg = cfg;
	cfg->config_file = realpath(file, NULL);
	if (!cfg->config_file)
		report(&st, true, file, 0, "cannot open: %s", strerror(errno));
	else
		parse_file(&st, file, NULL);
	if (cfg->config_file)
		validate(cfg, load_problem, &st);
	while (st.paths) {
		struct path_node *next = st.paths->next;

		free(st.paths);
		st.paths = next;
	}
	if (st.nerrors) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* ---- the rest of the API ----------------------------------------------- */

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(settings); i++)
		if (settings[i].type == T_STRING)
			free(*(char **)((char *)cfg + settings[i].offset));
	free(cfg->config_file);
	while (cfg->databases) {
		struct db_config *next = cfg->databases->next;

		config_db_free(cfg->databases);
		cfg->databases = next;
	}
	while (cfg->users) {
		struct user_config *next = cfg->users->next;

		config_user_free(cfg->users);
		cfg->users = next;
	}
	free(cfg);
}

const char *config_pool_mode_name(enum pool_mode mode)
{
	if (mode >= POOL_MODE_SESSION && mode <= POOL_MODE_STATEMENT)
		return pool_mode_names[mode];
	return "inherit";
}

const char *config_auth_type_name(enum auth_type type)
{
	if ((unsigned)type < ARRAY_SIZE(auth_type_names) - 1)
		return auth_type_names[type];
	return "unknown";
}

const struct db_config *config_find_db(const struct config *cfg, const char *name)
{
	const struct db_config *db, *fallback = NULL;

	for (db = cfg->databases; db; db = db->next) {
		if (strcmp(db->name, name) == 0)
			return db;
		if (strcmp(db->name, "*") == 0)
			fallback = db;
	}
	return fallback;
}

const struct user_config *config_find_user(const struct config *cfg, const char *name)
{
	for (const struct user_config *u = cfg->users; u; u = u->next)
		if (strcmp(u->name, name) == 0)
			return u;
	return NULL;
}

bool config_list_contains(const char *list, const char *name)
{
	size_t len;

	if (!list || !name || !*name)
		return false;
	len = strlen(name);
	for (const char *p = list;;) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);

		while (p < end && isspace((unsigned char)*p))
			p++;
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
		if ((size_t)(end - p) == len && memcmp(p, name, len) == 0)
			return true;
		if (!comma)
			return false;
		p = comma + 1;
	}
}

void config_show(const struct config *cfg, config_show_fn fn, void *arg)
{
	char buf[64];

	for (size_t i = 0; i < ARRAY_SIZE(settings); i++) {
		const struct setting *s = &settings[i];

		const char *value = format_value(s, cfg, buf, sizeof(buf));
		if ((s->flags & S_SECRET) && value[0])
			value = "********";
		fn(arg, s->name, value, s->def ? s->def : "", (s->flags & S_RELOAD) != 0);
	}
}

int config_setting_reloadable(const char *name)
{
	int i = find_setting(name);

	if (i < 0)
		return -1;
	return (settings[i].flags & S_RELOAD) != 0;
}

struct set_problem {
	char *err;
	size_t errlen;
};

static void set_problem(void *ctx, const char *name1, const char *name2, const char *msg)
{
	struct set_problem *p = ctx;

	if (!p->err[0])
		append(p->err, p->errlen, "%s", msg);
}

int config_set(struct config *cfg, const char *name, const char *value, char *err, size_t errlen)
{
	struct set_problem problem = {err, errlen};
	const struct setting *s;
	struct config tmp;
	struct value v;
	char *str;
	int i = find_setting(name);

	err[0] = '\0';
	if (i < 0) {
		append(err, errlen,
		       is_unsupported(name) ? "setting \"%.64s\" is not supported yet"
					    : "unknown setting \"%.64s\"",
		       name);
		return -1;
	}
	s = &settings[i];
	if (!(s->flags & S_RELOAD)) {
		append(err, errlen, "%s can only be changed by a restart", s->name);
		return -1;
	}
	if (setting_parse(s, value, &v, err, errlen) < 0)
		return -1;
	/* check the result on a shallow copy that borrows the new string */
	tmp = *cfg;
	str = v.s;
	setting_store(s, &tmp, &v, false);
	v.s = str;
	if (validate(&tmp, set_problem, &problem)) {
		free(v.s);
		return -1;
	}
	setting_store(s, cfg, &v, true);
	return 0;
}

int config_keep_startup_settings(struct config *new_cfg, const struct config *old_cfg,
				 FILE *warnings)
{
	char a[64], b[64], err[256];
	struct value v;
	int changed = 0;

	for (size_t i = 0; i < ARRAY_SIZE(settings); i++) {
		const struct setting *s = &settings[i];
		const char *was, *now;

		if (s->flags & S_RELOAD)
			continue;
		was = format_value(s, old_cfg, a, sizeof(a));
		now = format_value(s, new_cfg, b, sizeof(b));
		if (strcmp(was, now) == 0)
			continue;
		if (s->flags & S_SECRET)
			was = now = "********";
		if (warnings)
			fprintf(warnings,
				"%s: %s changed from \"%s\" to \"%s\"; it takes effect only "
				"after a restart, keeping \"%s\"\n",
				new_cfg->config_file ? new_cfg->config_file : "configuration",
				s->name, was, now, was);
		if (setting_parse(s, was, &v, err, sizeof(err)) < 0)
			return -1; /* what format_value writes always parses back: out of memory */
		setting_store(s, new_cfg, &v, true);
		changed++;
	}
	return changed;
}

size_t config_setting_count(void)
{
	return ARRAY_SIZE(settings);
}

const char *config_setting_name(size_t i)
{
	return i < ARRAY_SIZE(settings) ? settings[i].name : NULL;
}

const char *config_setting_default(size_t i)
{
	return i < ARRAY_SIZE(settings) ? settings[i].def : NULL;
}

const char *config_setting_doc(size_t i)
{
	return i < ARRAY_SIZE(settings) ? settings[i].doc : NULL;
}

size_t config_unsupported_count(void)
{
	return ARRAY_SIZE(unsupported);
}

const char *config_unsupported_name(size_t i)
{
	return i < ARRAY_SIZE(unsupported) ? unsupported[i].name : NULL;
}

/* The configuration in force: pgbouncer.ini-compatible settings, parsed with
 * libinih from one file, validated against one settings table. */
#ifndef PGLG_CONFIG_H
#define PGLG_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "timeutil.h"

enum pool_mode {
	POOL_MODE_INHERIT = -1, /* only in [databases]/[users] entries */
	POOL_MODE_SESSION = 0,
	POOL_MODE_TRANSACTION,
	POOL_MODE_STATEMENT,
};

enum auth_type {
	AUTH_TYPE_TRUST = 0,
	AUTH_TYPE_PLAIN,
	AUTH_TYPE_MD5,
	AUTH_TYPE_SCRAM,
};

/* leak_action: what happens to a suspected connection leak. */
enum leak_action {
	LEAK_ACTION_LOG = 0,
	LEAK_ACTION_CANCEL,
	LEAK_ACTION_CLOSE,
};

/* config_pool_mode_name returns "session", "transaction" or "statement". */
const char *config_pool_mode_name(enum pool_mode mode);
/* config_auth_type_name returns the auth_type spelling of the ini file. */
const char *config_auth_type_name(enum auth_type type);

/* One [databases] entry. Strings are owned by the entry; NULL when unset.
 * Integers are -1 when unset (the [pgbouncer] default applies). */
struct db_config {
	struct db_config *next;
	char *name; /* the name clients connect to; "*" is the fallback */
	char *host; /* NULL: unix socket in the default directory */
	int port; /* -1: 5432 */
	char *dbname; /* NULL: same as name */
	char *user; /* force_user: server login user, NULL: the client's */
	char *password; /* for user=, NULL: from auth_file */
	char *auth_user; /* unsupported yet: startup error when set */
	int pool_size;
	int min_pool_size;
	int reserve_pool;
	enum pool_mode pool_mode; /* POOL_MODE_INHERIT when unset */
	int max_db_connections;
	char *client_encoding;
	char *datestyle;
	char *timezone;
	char *application_name;
	char *connect_query;
	int line; /* line in the config file, for messages */
};

/* One [users] entry. */
struct user_config {
	struct user_config *next;
	char *name;
	enum pool_mode pool_mode; /* POOL_MODE_INHERIT when unset */
	int max_user_connections; /* -1 when unset */
	int line;
};

/* The whole configuration. All times are microseconds (the ini file gives
 * seconds, fractions allowed); 0 disables a timeout, as in PgBouncer. Strings
 * are owned by the struct and freed by config_free. */
struct config {
	char *config_file; /* absolute path of the file this came from */

	/* connections from clients */
	char *listen_addr; /* "" = no TCP; "*" = all; comma list */
	int listen_port; /* default 6432 */
	char *unix_socket_dir; /* default "/tmp"; "" = no unix socket */
	int unix_socket_mode; /* default 0777 */
	int listen_backlog; /* default 128 */
	bool so_reuseport; /* default false */
	bool tcp_keepalive; /* default true */
	int max_client_conn; /* default 100 */

	/* authentication */
	enum auth_type auth_type; /* default md5 */
	char *auth_file; /* NULL when unset */
	char *admin_users; /* comma list, "" when unset */
	char *stats_users; /* comma list, "" when unset */

	/* pooling */
	enum pool_mode pool_mode; /* default session */
	int default_pool_size; /* default 20 */
	int min_pool_size; /* default 0 */
	int reserve_pool_size; /* default 0 */
	usec_t reserve_pool_timeout; /* default 5 s */
	int max_db_connections; /* default 0 = unlimited */
	int max_user_connections; /* default 0 = unlimited */
	char *server_reset_query; /* default "DISCARD ALL" */
	bool server_reset_query_always; /* default false */
	bool session_state_reset; /* default true: reset servers left with session state */
	char *server_check_query; /* default "select 1"; "" = no check */
	usec_t server_check_delay; /* default 30 s */
	char *ignore_startup_parameters; /* comma list, "" */
	int pkt_buf; /* default 4096 */
	int max_packet_size; /* default 2147483647 */
	int max_prepared_statements; /* default 200 */
	int sbuf_loopcnt; /* default 5 */

	/* timeouts and lifetimes */
	usec_t server_lifetime; /* default 3600 s */
	usec_t server_idle_timeout; /* default 600 s */
	usec_t server_connect_timeout; /* default 15 s */
	usec_t server_login_retry; /* default 15 s */
	usec_t client_login_timeout; /* default 60 s */
	usec_t client_idle_timeout; /* default 0 */
	usec_t query_timeout; /* default 0 */
	usec_t query_wait_timeout; /* default 120 s */
	usec_t idle_transaction_timeout; /* default 0 */
	usec_t suspend_timeout; /* default 10 s */
	usec_t leak_threshold; /* default 60 s; 0 = off */
	enum leak_action leak_action; /* default log */
	int repeat_threshold; /* default 10; 0 = off (poolobs.c) */

	/* monitor: store and sampler (monitor thread) */
	char *store_path; /* "" = next to pidfile; "off" = monitor off */
	usec_t sample_interval; /* default 10 s */
	usec_t lock_sample_interval; /* default 1 s; 0 = off */
	usec_t store_retention; /* default 7 days */
	usec_t store_rollup_after; /* default 1 day */
	usec_t store_rollup_interval; /* default 1 hour */
	char *monitor_user; /* "" = the [databases] entry's user */
	char *monitor_password; /* "" = the entry's password or auth_file */
	char *monitor_databases; /* comma list; "" = all but "*" */
	int monitor_queue_size; /* default 1024 events */
	bool sample_query_params; /* default false: values can be personal data */
	usec_t sample_query_params_interval; /* default 60 s per statement */

	/* logging and process */
	char *logfile; /* "" = stderr only */
	char *pidfile; /* "" = none */
	bool log_connections; /* default true */
	bool log_disconnections; /* default true */
	bool log_pooler_errors; /* default true */
	bool syslog; /* default false */
	char *syslog_ident; /* default "pglifeguard" */
	char *syslog_facility; /* default "daemon" */
	int verbose; /* default 0 */
	char *user; /* switch to this OS user, "" = no */
	usec_t stats_period; /* default 60 s */

	/* monitoring */
	char *metrics_listen; /* "host:port", "" = no HTTP server */

	/* alerts (alert.c); 0 turns a rule off */
	usec_t alert_for_seconds; /* default 30 s: hysteresis, both ways */
	usec_t alert_wait_seconds; /* default 10 s */
	int alert_max_wait_ms; /* default 2000 */
	int alert_pool_utilization; /* percent, default 90 */
	int alert_client_conn_percent; /* percent, default 90 */
	bool alert_leaks; /* default true */
	char *alert_command; /* "" = none */
	usec_t alert_command_timeout; /* default 10 s; 0 = no limit */
	int alert_command_max; /* children at once, default 4 */

	struct db_config *databases; /* in file order */
	struct user_config *users; /* in file order */
};

/* config_load parses FILE into a new config (defaults first, then the
 * file), validates it and returns it; the caller frees it with config_free.
 * On error returns NULL and writes one line per problem to ERRORS, each
 * "FILE:LINE: message" (bad values list the allowed values). Unknown
 * settings are warnings written to WARNINGS (same format) and do not fail.
 * PgBouncer settings that are recognised but not implemented and would
 * change security or semantics (any *_tls_* other than "disable", auth_query,
 * auth_user, auth_type hba/cert/pam/ldap/any, ...) are errors naming the
 * setting. */
struct config *config_load(const char *file, FILE *errors, FILE *warnings);

/* config_free releases CFG and everything it owns; NULL is fine. */
void config_free(struct config *cfg);

/* config_find_db returns the [databases] entry NAME, else the "*" entry,
 * else NULL. Borrowed from CFG. */
const struct db_config *config_find_db(const struct config *cfg, const char *name);
/* config_find_user returns the [users] entry NAME or NULL. */
const struct user_config *config_find_user(const struct config *cfg, const char *name);

/* config_list_contains tells whether the comma-separated LIST holds NAME
 * (whitespace around items ignored). */
bool config_list_contains(const char *list, const char *name);

/* One row of SHOW CONFIG: name, current value as text, default, whether a
 * reload changes it. config_show calls FN for every setting in table order. */
typedef void (*config_show_fn)(void *arg, const char *name, const char *value,
			       const char *default_value, bool reloadable);
void config_show(const struct config *cfg, config_show_fn fn, void *arg);

/* config_setting_reloadable tells whether NAME may change on reload/SET;
 * returns -1 for an unknown name. */
int config_setting_reloadable(const char *name);

/* config_set changes one reloadable setting of CFG from its text form (the
 * admin console's SET). Returns 0, or -1 with a message in ERR. */
int config_set(struct config *cfg, const char *name, const char *value, char *err, size_t errlen);

/* config_keep_startup_settings is the reload step for settings that only
 * take effect at startup (listen_addr, listen_port, unix_socket_dir, ...):
 * for each one whose value in NEW differs from OLD, it writes a warning
 * naming the setting to WARNINGS (may be NULL) and puts OLD's value back
 * into NEW, so NEW describes what is really in force. Returns how many
 * differed, or -1 when out of memory. Borrows OLD; NEW stays the caller's. */
int config_keep_startup_settings(struct config *new_cfg, const struct config *old_cfg,
				 FILE *warnings);

#endif

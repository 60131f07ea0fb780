/* Unit tests for config.c and config_db.c: defaults, a production-style
 * pgbouncer.ini, every kind of bad file with its FILE:LINE message, the
 * recognised-but-unsupported PgBouncer settings, lookups, SET, SHOW CONFIG,
 * reload of startup-only settings, and that the man page and the example
 * file name every setting. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_internal.h"

#ifndef TEST_SRCDIR
#error "compile with -DTEST_SRCDIR='\"/path/to/source\"'"
#endif

static char tmpdir[] = "/tmp/check_config.XXXXXX";

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	DIR *dir = opendir(tmpdir);
	struct dirent *de;
	char path[512];

	if (dir) {
		while ((de = readdir(dir))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
			unlink(path);
		}
		closedir(dir);
	}
	rmdir(tmpdir);
	strcpy(tmpdir, "/tmp/check_config.XXXXXX");
}

/* write_file writes TEXT to NAME in the temporary directory and returns the
 * path (static buffer, valid until the next call). */
static const char *write_file(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/* What one config_load wrote. */
struct outcome {
	struct config *cfg;
	char *errors;
	char *warnings;
	char path[512];
};

static void load_path(struct outcome *o, const char *path)
{
	size_t elen = 0, wlen = 0;
	FILE *errors = open_memstream(&o->errors, &elen);
	FILE *warnings = open_memstream(&o->warnings, &wlen);

	ck_assert_ptr_nonnull(errors);
	ck_assert_ptr_nonnull(warnings);
	snprintf(o->path, sizeof(o->path), "%s", path);
	o->cfg = config_load(path, errors, warnings);
	fclose(errors);
	fclose(warnings);
}

/* load writes TEXT to pgbouncer.ini and loads it. */
static void load(struct outcome *o, const char *text)
{
	load_path(o, write_file("pgbouncer.ini", text));
}

static void outcome_free(struct outcome *o)
{
	config_free(o->cfg);
	free(o->errors);
	free(o->warnings);
}

/* expect_line asserts that TEXT holds the line "PATH:LINE: MESSAGE". */
static void expect_line(const char *text, const char *path, int line, const char *message)
{
	char want[1024];

	if (line > 0)
		snprintf(want, sizeof(want), "%s:%d: %s\n", path, line, message);
	else
		snprintf(want, sizeof(want), "%s: %s\n", path, message);
	ck_assert_msg(strstr(text, want), "expected \"%s\" in:\n%s", want, text);
}

static int count_lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* expect_error loads TEXT, which must fail with exactly MESSAGE at LINE. */
static void expect_error(const char *text, int line, const char *message)
{
	struct outcome o;

	load(&o, text);
	ck_assert_ptr_null(o.cfg);
	expect_line(o.errors, o.path, line, message);
	ck_assert_msg(count_lines(o.errors) == 1, "one error expected:\n%s", o.errors);
	outcome_free(&o);
}

/* expect_warning loads TEXT, which must load with exactly MESSAGE at LINE. */
static void expect_warning(const char *text, int line, const char *message)
{
	struct outcome o;

	load(&o, text);
	ck_assert_msg(o.cfg != NULL, "load failed:\n%s", o.errors);
	expect_line(o.warnings, o.path, line, message);
	ck_assert_msg(count_lines(o.warnings) == 1, "one warning expected:\n%s", o.warnings);
	outcome_free(&o);
}

/* expect_silent loads TEXT, which must load with no message at all. */
static void expect_silent(const char *text)
{
	struct outcome o;

	load(&o, text);
	ck_assert_msg(o.cfg != NULL, "load failed:\n%s", o.errors);
	ck_assert_msg(o.warnings[0] == '\0', "unexpected warnings:\n%s", o.warnings);
	outcome_free(&o);
}

#define BASE "[pgbouncer]\nauth_type = trust\n"

/* --- defaults and a real file ------------------------------------------- */

START_TEST(test_defaults)
{
	struct outcome o;
	struct config *c;

	load(&o, "[pgbouncer]\nauth_file = /etc/pglifeguard/userlist.txt\n");
	c = o.cfg;
	ck_assert_msg(c != NULL, "%s", o.errors);
	ck_assert_str_eq(o.warnings, "");
	ck_assert_ptr_nonnull(c->config_file);
	ck_assert_int_eq(c->config_file[0], '/');
	ck_assert_str_eq(c->listen_addr, "");
	ck_assert_int_eq(c->listen_port, 6432);
	ck_assert_str_eq(c->unix_socket_dir, "/tmp");
	ck_assert_int_eq(c->unix_socket_mode, 0777);
	ck_assert_int_eq(c->listen_backlog, 128);
	ck_assert(!c->so_reuseport);
	ck_assert(c->tcp_keepalive);
	ck_assert_int_eq(c->max_client_conn, 100);
	ck_assert_int_eq(c->auth_type, AUTH_TYPE_MD5);
	ck_assert_str_eq(c->auth_file, "/etc/pglifeguard/userlist.txt");
	ck_assert_str_eq(c->admin_users, "");
	ck_assert_str_eq(c->stats_users, "");
	ck_assert_int_eq(c->pool_mode, POOL_MODE_SESSION);
	ck_assert_int_eq(c->default_pool_size, 20);
	ck_assert_int_eq(c->min_pool_size, 0);
	ck_assert_int_eq(c->reserve_pool_size, 0);
	ck_assert_int_eq(c->reserve_pool_timeout, 5 * USEC_PER_SEC);
	ck_assert_int_eq(c->max_db_connections, 0);
	ck_assert_int_eq(c->max_user_connections, 0);
	ck_assert_str_eq(c->server_reset_query, "DISCARD ALL");
	ck_assert(!c->server_reset_query_always);
	ck_assert_str_eq(c->server_check_query, "select 1");
	ck_assert_int_eq(c->server_check_delay, 30 * USEC_PER_SEC);
	ck_assert_str_eq(c->ignore_startup_parameters, "");
	ck_assert_int_eq(c->pkt_buf, 4096);
	ck_assert_int_eq(c->max_packet_size, 2147483647);
	ck_assert_int_eq(c->sbuf_loopcnt, 5);
	ck_assert_int_eq(c->server_lifetime, 3600 * USEC_PER_SEC);
	ck_assert_int_eq(c->server_idle_timeout, 600 * USEC_PER_SEC);
	ck_assert_int_eq(c->server_connect_timeout, 15 * USEC_PER_SEC);
	ck_assert_int_eq(c->server_login_retry, 15 * USEC_PER_SEC);
	ck_assert_int_eq(c->client_login_timeout, 60 * USEC_PER_SEC);
	ck_assert_int_eq(c->client_idle_timeout, 0);
	ck_assert_int_eq(c->query_timeout, 0);
	ck_assert_int_eq(c->query_wait_timeout, 120 * USEC_PER_SEC);
	ck_assert_int_eq(c->idle_transaction_timeout, 0);
	ck_assert_int_eq(c->suspend_timeout, 10 * USEC_PER_SEC);
	ck_assert_str_eq(c->logfile, "");
	ck_assert_str_eq(c->pidfile, "");
	ck_assert(c->log_connections);
	ck_assert(c->log_disconnections);
	ck_assert(c->log_pooler_errors);
	ck_assert(!c->syslog);
	ck_assert_str_eq(c->syslog_ident, "pglifeguard");
	ck_assert_str_eq(c->syslog_facility, "daemon");
	ck_assert_int_eq(c->verbose, 0);
	ck_assert_str_eq(c->user, "");
	ck_assert_int_eq(c->stats_period, 60 * USEC_PER_SEC);
	ck_assert_ptr_null(c->databases);
	ck_assert_ptr_null(c->users);
	outcome_free(&o);
}
END_TEST

/* A file shaped like real deployments: comments of both kinds, blank and
 * indented lines, every value spelling, a long connection string, a value
 * with " ;" in it, quoting and escapes in connection strings, %include. */
static void check_production(void)
{
	char long_query[400];
	char main_text[4096];
	const char *dbs_path;
	struct outcome o;
	const struct config *c;
	const struct db_config *db;
	const struct user_config *u;

	/* a connect_query far longer than inih's 200-byte line buffer */
	memset(long_query, 0, sizeof(long_query));
	strcpy(long_query, "SET search_path = legacy, public; SET work_mem = 65536; SELECT");
	while (strlen(long_query) < 300)
		strcat(long_query, " 1 +");
	strcat(long_query, " 1");

	dbs_path = write_file("databases.ini",
			      "; included: more databases, then back to settings\n" /* 1 */
			      "analytics = host=10.0.0.8 dbname=dw pool_mode=transaction\n" /* 2 */
			      "[pgbouncer]\n" /* 3 */
			      "max_client_conn = 2000\n"); /* 4 */
	snprintf(main_text, sizeof(main_text),
		 ";; pgbouncer.ini for the orders cluster\n"                           /* 1 */
		 "# managed by config management\n"                                    /* 2 */
		 "\n"                                                                  /* 3 */
		 "[databases]\n"                                                       /* 4 */
		 "orders = host=10.0.0.5 port=5433 dbname=orders_prod pool_size=40\n"  /* 5 */
		 "  reports = host=replica.internal dbname=orders_prod pool_mode=session "
		 "reserve_pool=3 application_name='nightly reports'\n"                /* 6 */
		 "\"odd \"\"name\"\"\" = host=10.0.0.6 user=svc password='p@ss \\'word\\'' "
		 "client_encoding=UTF8 datestyle='ISO, MDY' timezone=UTC\n"           /* 7 */
		 "%%include %s\n"                                                      /* 8 */
		 "default_pool_size = 30\n"                                            /* 9 */
		 "[databases]\n"                                                       /* 10 */
		 "legacy = host=10.0.0.7 min_pool_size=2 max_db_connections=50 "
		 "reserve_pool_size=1 connect_query='%s'\n"                            /* 11 */
		 "* = host=10.0.0.5 port=5433\n"                                       /* 12 */
		 "\n"                                                                  /* 13 */
		 "[pgbouncer]\n"                                                       /* 14 */
		 "listen_addr = 0.0.0.0, ::\n"                                         /* 15 */
		 "listen_port = 6543\n"                                                /* 16 */
		 "unix_socket_dir = /var/run/postgresql\n"                             /* 17 */
		 "unix_socket_mode = 0700\n"                                           /* 18 */
		 "auth_type = scram-sha-256\n"                                         /* 19 */
		 "auth_file = /etc/pgbouncer/userlist.txt\n"                           /* 20 */
		 "admin_users = postgres, ops\n"                                       /* 21 */
		 "stats_users = monitor\n"                                             /* 22 */
		 "pool_mode = Transaction\n"                                           /* 23 */
		 "reserve_pool_size = 5\n"                                             /* 24 */
		 "reserve_pool_timeout = 0.5\n"                                        /* 25 */
		 "server_reset_query = DISCARD ALL ; not a comment in PgBouncer\n"     /* 26 */
		 "server_check_query =\n"                                              /* 27 */
		 "ignore_startup_parameters = extra_float_digits,search_path\n"        /* 28 */
		 "server_lifetime = 1800\n"                                            /* 29 */
		 "server_idle_timeout = 300.25\n"                                      /* 30 */
		 "query_wait_timeout = 30\n"                                           /* 31 */
		 "log_connections = no\n"                                              /* 32 */
		 "log_disconnections = off\n"                                          /* 33 */
		 "log_pooler_errors = false\n"                                         /* 34 */
		 "syslog = yes\n"                                                      /* 35 */
		 "syslog_facility = LOCAL3\n"                                          /* 36 */
		 "so_reuseport = on\n"                                                 /* 37 */
		 "tcp_keepalive = 0\n"                                                 /* 38 */
		 "logfile = /var/log/pgbouncer/pgbouncer.log\n"                        /* 39 */
		 "pidfile = /var/run/pgbouncer/pgbouncer.pid\n"                        /* 40 */
		 "stats_period = 30\n"                                                 /* 41 */
		 "  verbose = 1\n"                                                     /* 42 */
		 "tcp_keepidle = 0\n"                                                  /* 43 */
		 "client_tls_sslmode = disable\n"                                      /* 44 */
		 "max_prepared_statements = 0\n"                                       /* 45 */
		 "\n"                                                                  /* 46 */
		 "[users]\n"                                                           /* 47 */
		 "batch = pool_mode=session max_user_connections=4\n"                  /* 48 */
		 "web = max_user_connections=100\n",                                   /* 49 */
		 dbs_path, long_query);
	load(&o, main_text);
	c = o.cfg;
	ck_assert_msg(c != NULL, "%s", o.errors);
	ck_assert_msg(o.warnings[0] == '\0', "%s", o.warnings);

	ck_assert_str_eq(c->listen_addr, "0.0.0.0, ::");
	ck_assert_int_eq(c->listen_port, 6543);
	ck_assert_str_eq(c->unix_socket_dir, "/var/run/postgresql");
	ck_assert_int_eq(c->unix_socket_mode, 0700);
	ck_assert_int_eq(c->auth_type, AUTH_TYPE_SCRAM);
	ck_assert_str_eq(c->auth_file, "/etc/pgbouncer/userlist.txt");
	ck_assert(config_list_contains(c->admin_users, "ops"));
	ck_assert(config_list_contains(c->admin_users, "postgres"));
	ck_assert(!config_list_contains(c->admin_users, "monitor"));
	ck_assert_int_eq(c->pool_mode, POOL_MODE_TRANSACTION);
	ck_assert_int_eq(c->default_pool_size, 30); /* line 9: still [pgbouncer] after the include */
	ck_assert_int_eq(c->max_client_conn, 2000);
	ck_assert_int_eq(c->reserve_pool_size, 5);
	ck_assert_int_eq(c->reserve_pool_timeout, USEC_PER_SEC / 2);
	ck_assert_str_eq(c->server_reset_query, "DISCARD ALL ; not a comment in PgBouncer");
	ck_assert_str_eq(c->server_check_query, "");
	ck_assert_int_eq(c->server_lifetime, 1800 * USEC_PER_SEC);
	ck_assert_int_eq(c->server_idle_timeout, 300 * USEC_PER_SEC + USEC_PER_SEC / 4);
	ck_assert_int_eq(c->query_wait_timeout, 30 * USEC_PER_SEC);
	ck_assert(!c->log_connections);
	ck_assert(!c->log_disconnections);
	ck_assert(!c->log_pooler_errors);
	ck_assert(c->syslog);
	ck_assert_str_eq(c->syslog_facility, "local3");
	ck_assert(c->so_reuseport);
	ck_assert(!c->tcp_keepalive);
	ck_assert_str_eq(c->logfile, "/var/log/pgbouncer/pgbouncer.log");
	ck_assert_str_eq(c->pidfile, "/var/run/pgbouncer/pgbouncer.pid");
	ck_assert_int_eq(c->stats_period, 30 * USEC_PER_SEC);
	ck_assert_int_eq(c->verbose, 1);

	db = config_find_db(c, "orders");
	ck_assert_ptr_nonnull(db);
	ck_assert_str_eq(db->host, "10.0.0.5");
	ck_assert_int_eq(db->port, 5433);
	ck_assert_str_eq(db->dbname, "orders_prod");
	ck_assert_int_eq(db->pool_size, 40);
	ck_assert_int_eq(db->min_pool_size, -1);
	ck_assert_int_eq(db->pool_mode, POOL_MODE_INHERIT);
	ck_assert_ptr_null(db->user);
	ck_assert_int_eq(db->line, 5);

	db = config_find_db(c, "reports");
	ck_assert_ptr_nonnull(db);
	ck_assert_str_eq(db->name, "reports");
	ck_assert_int_eq(db->pool_mode, POOL_MODE_SESSION);
	ck_assert_int_eq(db->reserve_pool, 3);
	ck_assert_str_eq(db->application_name, "nightly reports");
	ck_assert_int_eq(db->port, -1);

	db = config_find_db(c, "odd \"name\"");
	ck_assert_ptr_nonnull(db);
	ck_assert_str_eq(db->user, "svc");
	ck_assert_str_eq(db->password, "p@ss 'word'");
	ck_assert_str_eq(db->client_encoding, "UTF8");
	ck_assert_str_eq(db->datestyle, "ISO, MDY");
	ck_assert_str_eq(db->timezone, "UTC");

	db = config_find_db(c, "analytics");
	ck_assert_ptr_nonnull(db);
	ck_assert_str_eq(db->dbname, "dw");
	ck_assert_int_eq(db->pool_mode, POOL_MODE_TRANSACTION);
	ck_assert_int_eq(db->line, 2);

	db = config_find_db(c, "legacy");
	ck_assert_ptr_nonnull(db);
	ck_assert_str_eq(db->connect_query, long_query);
	ck_assert_int_eq(db->min_pool_size, 2);
	ck_assert_int_eq(db->max_db_connections, 50);
	ck_assert_int_eq(db->reserve_pool, 1);

	/* file order */
	db = c->databases;
	ck_assert_str_eq(db->name, "orders");
	ck_assert_str_eq(db->next->name, "reports");
	ck_assert_str_eq(db->next->next->name, "odd \"name\"");
	ck_assert_str_eq(db->next->next->next->name, "analytics");

	/* the "*" entry answers for everything else */
	db = config_find_db(c, "anything_else");
	ck_assert_ptr_nonnull(db);
	ck_assert_str_eq(db->name, "*");
	ck_assert_int_eq(db->port, 5433);
	ck_assert_ptr_null(db->dbname);

	u = config_find_user(c, "batch");
	ck_assert_ptr_nonnull(u);
	ck_assert_int_eq(u->pool_mode, POOL_MODE_SESSION);
	ck_assert_int_eq(u->max_user_connections, 4);
	u = config_find_user(c, "web");
	ck_assert_ptr_nonnull(u);
	ck_assert_int_eq(u->pool_mode, POOL_MODE_INHERIT);
	ck_assert_int_eq(u->max_user_connections, 100);
	ck_assert_ptr_null(config_find_user(c, "nobody"));
	outcome_free(&o);
}

START_TEST(test_production)
{
	check_production();
}
END_TEST

/* The shipped example loads cleanly once auth_file is given (it is the only
 * setting without a usable default). */
START_TEST(test_example_file_loads)
{
	char text[1024];
	struct outcome o;

	snprintf(text, sizeof(text), "%%include %s/etc/pglifeguard.ini\n"
				     "[pgbouncer]\nauth_file = userlist.txt\n", TEST_SRCDIR);
	load(&o, text);
	ck_assert_msg(o.cfg != NULL, "%s", o.errors);
	ck_assert_msg(o.warnings[0] == '\0', "%s", o.warnings);
	ck_assert_ptr_nonnull(config_find_db(o.cfg, "appdb"));
	outcome_free(&o);
}
END_TEST

/* --- bad values ---------------------------------------------------------- */

START_TEST(test_bad_bool)
{
	expect_error(BASE "log_connections = maybe\n", 3,
		     "bad value \"maybe\" for log_connections: expected 0, 1, yes, no, on, off, "
		     "true or false");
}
END_TEST

START_TEST(test_bad_int)
{
	expect_error(BASE "max_client_conn = 10k\n", 3,
		     "bad value \"10k\" for max_client_conn: expected an integer from 1 to 1000000");
	expect_error(BASE "default_pool_size =\n", 3,
		     "bad value \"\" for default_pool_size: expected an integer from 0 to 100000");
}
END_TEST

START_TEST(test_out_of_range)
{
	expect_error(BASE "listen_port = 70000\n", 3,
		     "bad value \"70000\" for listen_port: expected an integer from 1 to 65535");
	expect_error(BASE "listen_port = 0\n", 3,
		     "bad value \"0\" for listen_port: expected an integer from 1 to 65535");
	expect_error(BASE "unix_socket_mode = 01777\n", 3,
		     "bad value \"01777\" for unix_socket_mode: expected an octal mode from 00 to 0777");
	expect_error(BASE "max_client_conn = 99999999999999999999999\n", 3,
		     "bad value \"99999999999999999999999\" for max_client_conn: expected an "
		     "integer from 1 to 1000000");
}
END_TEST

START_TEST(test_bad_enum)
{
	expect_error(BASE "pool_mode = sessions\n", 3,
		     "bad value \"sessions\" for pool_mode: expected session, transaction or statement");
	expect_error(BASE "syslog_facility = kernel\n", 3,
		     "bad value \"kernel\" for syslog_facility: expected auth, authpriv, daemon, user, "
		     "local0, local1, local2, local3, local4, local5, local6 or local7");
	expect_error("[pgbouncer]\nauth_type = password\nauth_file = u.txt\n", 2,
		     "bad value \"password\" for auth_type: expected trust, plain, md5 or "
		     "scram-sha-256");
}
END_TEST

START_TEST(test_bad_time)
{
	expect_error(BASE "server_lifetime = 1h\n", 3,
		     "bad value \"1h\" for server_lifetime: expected seconds from 0 to 2147483647 "
		     "(fractions allowed)");
	expect_error(BASE "query_timeout = -1\n", 3,
		     "bad value \"-1\" for query_timeout: expected seconds from 0 to 2147483647 "
		     "(fractions allowed)");
	expect_error(BASE "query_timeout = nan\n", 3,
		     "bad value \"nan\" for query_timeout: expected seconds from 0 to 2147483647 "
		     "(fractions allowed)");
	expect_error(BASE "stats_period = 0\n", 3,
		     "bad value \"0\" for stats_period: expected seconds from 1 to 2147483647 "
		     "(fractions allowed)");
}
END_TEST

START_TEST(test_all_problems_reported)
{
	struct outcome o;

	load(&o, BASE
	     "listen_port = x\n"       /* 3 */
	     "pool_mode = none\n"      /* 4 */
	     "[databases]\n"           /* 5 */
	     "a = host=h bogus=1\n"    /* 6 */
	     "b = port\n"              /* 7 */
	     "this line is junk\n"     /* 8 */
	     "[pgbouncer\n"            /* 9 */
	     "[pgbouncer]\n"           /* 10 */
	     "log_stats = 0\n"         /* 11 */
	     "auth_query = SELECT 1\n" /* 12 */
	     "%includ x\n");           /* 13 */
	ck_assert_ptr_null(o.cfg);
	expect_line(o.errors, o.path, 3,
		    "bad value \"x\" for listen_port: expected an integer from 1 to 65535");
	expect_line(o.errors, o.path, 4,
		    "bad value \"none\" for pool_mode: expected session, transaction or statement");
	expect_line(o.errors, o.path, 6, "database \"a\": unknown key \"bogus\"");
	expect_line(o.errors, o.path, 7, "database \"b\": missing \"=\" after \"port\"");
	expect_line(o.errors, o.path, 8, "syntax error: expected \"name = value\"");
	expect_line(o.errors, o.path, 9, "syntax error: \"[\" without \"]\"");
	expect_line(o.errors, o.path, 12,
		    "setting \"auth_query\" is not supported yet: looking up passwords with "
		    "auth_query is not implemented; list the users in auth_file");
	expect_line(o.errors, o.path, 13, "syntax error: unknown directive \"%includ x\"");
	ck_assert_int_eq(count_lines(o.errors), 8);
	expect_line(o.warnings, o.path, 11,
		    "setting \"log_stats\" is accepted but has no effect yet");
	outcome_free(&o);
}
END_TEST

/* --- unknown and unsupported settings ------------------------------------ */

START_TEST(test_unknown_setting_warns)
{
	struct outcome o;

	load(&o, BASE "foo = bar\nlisten_port = 7000\n");
	ck_assert_msg(o.cfg != NULL, "%s", o.errors);
	expect_line(o.warnings, o.path, 3, "unknown setting \"foo\" ignored");
	ck_assert_int_eq(o.cfg->listen_port, 7000);
	outcome_free(&o);

	expect_warning(BASE "[extras]\na = 1\nb = 2\n", 4, "unknown section [extras] ignored");
}
END_TEST

START_TEST(test_tls_refused)
{
	const char *ctls = "TLS for clients is not implemented; only client_tls_sslmode = disable "
			   "and empty client_tls_* settings are accepted";
	const char *stls = "TLS to servers is not implemented; only server_tls_sslmode = disable, "
			   "allow or prefer and empty server_tls_* settings are accepted";
	char want[512];

	snprintf(want, sizeof(want), "setting \"client_tls_sslmode\" is not supported yet: %s", ctls);
	expect_error(BASE "client_tls_sslmode = require\n", 3, want);
	snprintf(want, sizeof(want), "setting \"client_tls_key_file\" is not supported yet: %s", ctls);
	expect_error(BASE "client_tls_key_file = /etc/ssl/private/pgb.key\n", 3, want);
	snprintf(want, sizeof(want), "setting \"server_tls_sslmode\" is not supported yet: %s", stls);
	expect_error(BASE "server_tls_sslmode = verify-full\n", 3, want);
	snprintf(want, sizeof(want), "setting \"server_tls_ca_file\" is not supported yet: %s", stls);
	expect_error(BASE "server_tls_ca_file = /etc/ssl/ca.pem\n", 3, want);
	/* a TLS setting newer than our list */
	snprintf(want, sizeof(want), "setting \"client_tls_future\" is not supported yet: %s", ctls);
	expect_error(BASE "client_tls_future = x\n", 3, want);

	expect_warning(BASE "server_tls_sslmode = prefer\n", 3,
		       "setting \"server_tls_sslmode\" is accepted but has no effect yet: TLS to "
		       "servers is not implemented; connections to servers stay unencrypted");
	expect_silent(BASE "client_tls_sslmode = DISABLE\nserver_tls_sslmode = disable\n"
			   "client_tls_ciphers = default\nclient_tls_protocols = secure\n"
			   "client_tls_key_file =\nserver_tls_ciphers = fast\n");
}
END_TEST

START_TEST(test_auth_refused)
{
	expect_error(BASE "auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename=$1\n", 3,
		     "setting \"auth_query\" is not supported yet: looking up passwords with "
		     "auth_query is not implemented; list the users in auth_file");
	expect_error(BASE "auth_user = pgbouncer\n", 3,
		     "setting \"auth_user\" is not supported yet: looking up passwords with "
		     "auth_query is not implemented; list the users in auth_file");
	expect_error(BASE "auth_hba_file = /etc/pgbouncer/hba.conf\n", 3,
		     "setting \"auth_hba_file\" is not supported yet: auth_type hba is not "
		     "implemented");
	expect_error("[pgbouncer]\nauth_file = u.txt\nauth_type = hba\n", 3,
		     "auth_type hba is not supported yet; supported: trust, plain, md5, scram-sha-256");
	expect_error("[pgbouncer]\nauth_type = any\n", 2,
		     "auth_type any is not supported yet; supported: trust, plain, md5, scram-sha-256");
	expect_error(BASE "disable_pqexec = 1\n", 3,
		     "setting \"disable_pqexec\" is not supported yet: refusing the simple query "
		     "protocol is not implemented, so multi-statement queries would still pass; "
		     "only 0 is accepted");
	expect_error(BASE "track_extra_parameters = search_path\n", 3,
		     "setting \"track_extra_parameters\" is not supported yet: only IntervalStyle and "
		     "the standard parameters are carried to servers; in transaction pooling a "
		     "client could see values another client set");
	expect_silent(BASE "auth_user =\ndisable_pqexec = 0\ntrack_extra_parameters = intervalstyle\n");
	expect_error(BASE "[peers]\n1 = host=/tmp/pgb1\n", 4,
		     "section [peers] is not supported yet (PgBouncer peering)");
}
END_TEST

START_TEST(test_harmless_unsupported)
{
	expect_warning(BASE "tcp_keepidle = 30\n", 3,
		       "setting \"tcp_keepidle\" is accepted but has no effect yet");
	expect_warning(BASE "server_round_robin = 1\n", 3,
		       "setting \"server_round_robin\" is accepted but has no effect yet");
	/* at PgBouncer's default, behaviour is the same: no warning */
	expect_silent(BASE "tcp_keepidle = 0\ndns_max_ttl = 15.0\njob_name = PgBouncer\n"
			   "tcp_defer_accept = 45\n");
}
END_TEST

START_TEST(test_auth_file_required)
{
	expect_error("[pgbouncer]\nauth_type = md5\n", 2, "auth_type md5 requires auth_file");
	expect_error("[pgbouncer]\nauth_type = scram-sha-256\nauth_file =\n", 2,
		     "auth_type scram-sha-256 requires auth_file");
	expect_error("[pgbouncer]\nlisten_port = 6000\n", 0, "auth_type md5 requires auth_file");
	expect_error(BASE "unix_socket_dir =\n", 3,
		     "listen_addr and unix_socket_dir are both empty: nothing to listen on");
}
END_TEST

START_TEST(test_nonexistent_file)
{
	struct outcome o;
	char path[600];

	snprintf(path, sizeof(path), "%s/missing.ini", tmpdir);
	load_path(&o, path);
	ck_assert_ptr_null(o.cfg);
	expect_line(o.errors, path, 0, "cannot open: No such file or directory");
	outcome_free(&o);

	load(&o, BASE "%include /nonexistent/pglifeguard/other.ini\n");
	ck_assert_ptr_null(o.cfg);
	expect_line(o.errors, o.path, 3,
		    "cannot open included file \"/nonexistent/pglifeguard/other.ini\": No such file "
		    "or directory");
	outcome_free(&o);
}
END_TEST

START_TEST(test_include_errors_name_the_included_file)
{
	struct outcome o;
	char text[700], inc[600];

	snprintf(inc, sizeof(inc), "%s", write_file("inc.ini", "\n\npool_mode = fast\n"));
	snprintf(text, sizeof(text), BASE "%%include %s\n", inc);
	load(&o, text);
	ck_assert_ptr_null(o.cfg);
	/* the included file starts in the section of the %include line */
	expect_line(o.errors, inc, 3,
		    "bad value \"fast\" for pool_mode: expected session, transaction or statement");
	outcome_free(&o);

	/* a file that includes itself stops at the depth limit */
	snprintf(inc, sizeof(inc), "%s/self.ini", tmpdir);
	snprintf(text, sizeof(text), BASE "%%include %s\n", inc);
	write_file("self.ini", text);
	load_path(&o, inc);
	ck_assert_ptr_null(o.cfg);
	expect_line(o.errors, inc, 3,
		    "%include nested more than 10 deep (does a file include itself?)");
	outcome_free(&o);
}
END_TEST

/* --- [databases] and [users] entries ------------------------------------ */

START_TEST(test_bad_database_entries)
{
	expect_error(BASE "[databases]\nappdb = host=localhost port\n", 4,
		     "database \"appdb\": missing \"=\" after \"port\"");
	expect_error(BASE "[databases]\nappdb = host=localhost foo=bar\n", 4,
		     "database \"appdb\": unknown key \"foo\"");
	expect_error(BASE "[databases]\nappdb = host=localhost sslmode=require\n", 4,
		     "database \"appdb\": unknown key \"sslmode\"");
	expect_error(BASE "[databases]\nappdb = connect_query='SELECT 1\n", 4,
		     "database \"appdb\": unterminated quoted value for \"connect_query\"");
	expect_error(BASE "[databases]\nappdb = port=fivefour\n", 4,
		     "database \"appdb\": bad value \"fivefour\" for port: expected an integer from 1 "
		     "to 65535");
	expect_error(BASE "[databases]\nappdb = pool_mode=tx\n", 4,
		     "database \"appdb\": bad value \"tx\" for pool_mode: expected session, "
		     "transaction or statement");
	expect_error(BASE "[databases]\nappdb = =x\n", 4, "database \"appdb\": missing key before \"=\"");
	expect_error(BASE "[databases]\n\"appdb = host=x\n", 4,
		     "database \"\"appdb\": bad database name (empty, or a quote is not closed)");
	expect_error(BASE "[databases]\nappdb = auth_user=pgbouncer\n", 4,
		     "database \"appdb\": auth_user is not supported yet: looking up passwords with "
		     "auth_query is not implemented; list the users in auth_file");
	expect_warning(BASE "[databases]\nappdb = host=x max_db_client_connections=10\n", 4,
		       "database \"appdb\": key \"max_db_client_connections\" is accepted but has no "
		       "effect yet");
	expect_error(BASE "[users]\nbob = pool_mode=transaction max_user_connections=-1\n", 4,
		     "user \"bob\": bad value \"-1\" for max_user_connections: expected an integer "
		     "from 0 to 1000000");
	expect_error(BASE "[users]\nbob = pool_size=3\n", 4, "user \"bob\": unknown key \"pool_size\"");
}
END_TEST

START_TEST(test_database_edge_cases)
{
	struct outcome o;
	const struct db_config *db;

	load(&o, BASE "[databases]\n"
		      "empty =\n"                                       /* 4 */
		      "spaced = host = h1  port= 5432\tdbname ='x y'\n" /* 5 */
		      "esc = password=a\\ b\\\\c\n"                       /* 6 */
		      "dup = host=first\n"                              /* 7 */
		      "dup = host=second\n");                           /* 8 */
	ck_assert_msg(o.cfg != NULL, "%s", o.errors);
	expect_line(o.warnings, o.path, 6, "database \"esc\": password is ignored without user");
	expect_line(o.warnings, o.path, 8, "database \"dup\" is defined again; this replaces line 7");
	db = config_find_db(o.cfg, "empty");
	ck_assert_ptr_nonnull(db);
	ck_assert_ptr_null(db->host);
	ck_assert_int_eq(db->port, -1);
	db = config_find_db(o.cfg, "spaced");
	ck_assert_str_eq(db->host, "h1");
	ck_assert_int_eq(db->port, 5432);
	ck_assert_str_eq(db->dbname, "x y");
	db = config_find_db(o.cfg, "esc");
	ck_assert_str_eq(db->password, "a b\\c");
	db = config_find_db(o.cfg, "dup");
	ck_assert_str_eq(db->host, "second");
	ck_assert_int_eq(db->line, 8);
	ck_assert_ptr_null(db->next);
	outcome_free(&o);
}
END_TEST

START_TEST(test_password_never_in_messages)
{
	struct outcome o;

	load(&o, BASE "[databases]\n"
		      "a = user=u password=hunter2 bogus=1\n"
		      "b = user=u password=correct horse battery=staple\n"
		      "c = user=u password=secret1 extra\n"
		      "d = user=u password='never closed\n");
	ck_assert_ptr_null(o.cfg);
	ck_assert_ptr_null(strstr(o.errors, "hunter2"));
	ck_assert_ptr_null(strstr(o.errors, "correct"));
	ck_assert_ptr_null(strstr(o.errors, "horse"));
	ck_assert_ptr_null(strstr(o.errors, "battery"));
	ck_assert_ptr_null(strstr(o.errors, "secret1"));
	ck_assert_ptr_null(strstr(o.errors, "extra"));
	ck_assert_ptr_null(strstr(o.errors, "never"));
	expect_line(o.errors, o.path, 4,
		    "database \"a\": unknown key after the password (quote a password that "
		    "contains blanks)");
	expect_line(o.errors, o.path, 5,
		    "database \"b\": missing \"=\" after the password (quote a password that "
		    "contains blanks)");
	expect_line(o.errors, o.path, 6,
		    "database \"c\": missing \"=\" after the password (quote a password that "
		    "contains blanks)");
	expect_line(o.errors, o.path, 7,
		    "database \"d\": unterminated quoted value for \"password\"");
	ck_assert_int_eq(count_lines(o.errors), 4);
	outcome_free(&o);
}
END_TEST

START_TEST(test_find_db_fallback)
{
	struct outcome o;

	load(&o, BASE "[databases]\nappdb = host=a\n");
	ck_assert_ptr_nonnull(o.cfg);
	ck_assert_ptr_nonnull(config_find_db(o.cfg, "appdb"));
	ck_assert_ptr_null(config_find_db(o.cfg, "other"));
	ck_assert_ptr_null(config_find_db(o.cfg, "AppDB")); /* names are case-sensitive */
	outcome_free(&o);

	load(&o, BASE "[databases]\n* = host=fallback\nappdb = host=a\n");
	ck_assert_ptr_nonnull(o.cfg);
	ck_assert_str_eq(config_find_db(o.cfg, "appdb")->host, "a");
	ck_assert_str_eq(config_find_db(o.cfg, "other")->host, "fallback");
	outcome_free(&o);
}
END_TEST

START_TEST(test_list_contains)
{
	ck_assert(config_list_contains("a,b,c", "b"));
	ck_assert(config_list_contains(" a , b\t,c ", "b"));
	ck_assert(config_list_contains("a", "a"));
	ck_assert(config_list_contains("a,b,c", "c"));
	ck_assert(!config_list_contains("ab,c", "a"));
	ck_assert(!config_list_contains("a,b", "A"));
	ck_assert(!config_list_contains("", "a"));
	ck_assert(!config_list_contains("a,,b", ""));
	ck_assert(!config_list_contains(NULL, "a"));
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(config_pool_mode_name(POOL_MODE_SESSION), "session");
	ck_assert_str_eq(config_pool_mode_name(POOL_MODE_TRANSACTION), "transaction");
	ck_assert_str_eq(config_pool_mode_name(POOL_MODE_STATEMENT), "statement");
	ck_assert_str_eq(config_auth_type_name(AUTH_TYPE_TRUST), "trust");
	ck_assert_str_eq(config_auth_type_name(AUTH_TYPE_PLAIN), "plain");
	ck_assert_str_eq(config_auth_type_name(AUTH_TYPE_MD5), "md5");
	ck_assert_str_eq(config_auth_type_name(AUTH_TYPE_SCRAM), "scram-sha-256");
}
END_TEST

/* --- SET, SHOW CONFIG, reload -------------------------------------------- */

START_TEST(test_set)
{
	struct outcome o;
	struct config *c;
	char err[256];

	load(&o, "[pgbouncer]\nauth_file = users.txt\n");
	c = o.cfg;
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(config_setting_reloadable("default_pool_size"), 1);
	ck_assert_int_eq(config_setting_reloadable("listen_port"), 0);
	ck_assert_int_eq(config_setting_reloadable("nonsense"), -1);

	ck_assert_int_eq(config_set(c, "default_pool_size", "50", err, sizeof(err)), 0);
	ck_assert_int_eq(c->default_pool_size, 50);
	ck_assert_int_eq(config_set(c, "query_wait_timeout", "2.5", err, sizeof(err)), 0);
	ck_assert_int_eq(c->query_wait_timeout, 2500000);
	ck_assert_int_eq(config_set(c, "server_reset_query", "RESET ALL", err, sizeof(err)), 0);
	ck_assert_str_eq(c->server_reset_query, "RESET ALL");
	ck_assert_int_eq(config_set(c, "pool_mode", "statement", err, sizeof(err)), 0);
	ck_assert_int_eq(c->pool_mode, POOL_MODE_STATEMENT);
	ck_assert_int_eq(config_set(c, "log_connections", "off", err, sizeof(err)), 0);
	ck_assert(!c->log_connections);

	ck_assert_int_eq(config_set(c, "listen_port", "7000", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "listen_port can only be changed by a restart");
	ck_assert_int_eq(c->listen_port, 6432);
	ck_assert_int_eq(config_set(c, "default_pool_size", "-3", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "bad value \"-3\" for default_pool_size: expected an integer from 0 "
			      "to 100000");
	ck_assert_int_eq(c->default_pool_size, 50);
	ck_assert_int_eq(config_set(c, "nonsense", "1", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "unknown setting \"nonsense\"");
	ck_assert_int_eq(config_set(c, "tcp_keepidle", "1", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "setting \"tcp_keepidle\" is not supported yet");
	/* the same cross-checks as loading */
	ck_assert_int_eq(config_set(c, "auth_file", "", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "auth_type md5 requires auth_file");
	ck_assert_str_eq(c->auth_file, "users.txt");
	ck_assert_int_eq(config_set(c, "auth_type", "trust", err, sizeof(err)), 0);
	ck_assert_int_eq(config_set(c, "auth_file", "", err, sizeof(err)), 0);
	ck_assert_ptr_null(c->auth_file);
	ck_assert_int_eq(config_set(c, "auth_type", "hba", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "auth_type hba is not supported yet; supported: trust, plain, md5, "
			      "scram-sha-256");
	outcome_free(&o);
}
END_TEST

struct shown {
	size_t count;
	int order_ok;
	int log_connections_ok, server_lifetime_ok, mode_ok, timeout_ok, auth_file_ok;
};

static void show_row(void *arg, const char *name, const char *value, const char *def,
		     bool reloadable)
{
	struct shown *s = arg;

	if (strcmp(config_setting_name(s->count), name) == 0)
		s->order_ok++;
	ck_assert_int_eq(reloadable, config_setting_reloadable(name));
	ck_assert_ptr_nonnull(def);
	if (strcmp(name, "log_connections") == 0)
		s->log_connections_ok = strcmp(value, "1") == 0 && strcmp(def, "1") == 0;
	if (strcmp(name, "server_lifetime") == 0)
		s->server_lifetime_ok = strcmp(value, "3600") == 0;
	if (strcmp(name, "unix_socket_mode") == 0)
		s->mode_ok = strcmp(value, "0750") == 0 && strcmp(def, "0777") == 0;
	if (strcmp(name, "reserve_pool_timeout") == 0)
		s->timeout_ok = strcmp(value, "0.125") == 0;
	if (strcmp(name, "auth_file") == 0)
		s->auth_file_ok = strcmp(value, "") == 0 && strcmp(def, "") == 0;
	s->count++;
}

START_TEST(test_show_lists_every_setting)
{
	struct outcome o;
	struct shown s = { 0 };

	load(&o, BASE "unix_socket_mode = 750\nreserve_pool_timeout = 0.125\n");
	ck_assert_ptr_nonnull(o.cfg);
	config_show(o.cfg, show_row, &s);
	ck_assert_uint_eq(s.count, config_setting_count());
	ck_assert_uint_eq((size_t)s.order_ok, config_setting_count());
	ck_assert(s.log_connections_ok);
	ck_assert(s.server_lifetime_ok);
	ck_assert(s.mode_ok);
	ck_assert(s.timeout_ok);
	ck_assert(s.auth_file_ok);
	outcome_free(&o);
}
END_TEST

START_TEST(test_keep_startup_settings)
{
	struct outcome a, b;
	char *text = NULL;
	size_t len = 0;
	FILE *warnings;

	load(&a, BASE "listen_port = 6432\ndefault_pool_size = 5\n");
	load(&b, BASE "listen_port = 7000\nlisten_addr = *\ndefault_pool_size = 9\n");
	ck_assert_ptr_nonnull(a.cfg);
	ck_assert_ptr_nonnull(b.cfg);
	warnings = open_memstream(&text, &len);
	ck_assert_int_eq(config_keep_startup_settings(b.cfg, a.cfg, warnings), 2);
	fclose(warnings);
	ck_assert_int_eq(b.cfg->listen_port, 6432);
	ck_assert_str_eq(b.cfg->listen_addr, "");
	ck_assert_int_eq(b.cfg->default_pool_size, 9);
	ck_assert_ptr_nonnull(strstr(text, "listen_port changed from \"6432\" to \"7000\"; it takes "
					   "effect only after a restart, keeping \"6432\"\n"));
	ck_assert_ptr_nonnull(strstr(text, "listen_addr changed from \"\" to \"*\""));
	ck_assert_int_eq(config_keep_startup_settings(b.cfg, a.cfg, NULL), 0);
	free(text);
	outcome_free(&a);
	outcome_free(&b);
}
END_TEST

/* --- documentation -------------------------------------------------------- */

static char *read_source_file(const char *rel)
{
	char path[512];
	char *text;
	long size;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", TEST_SRCDIR, rel);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	rewind(f);
	text = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(fread(text, 1, (size_t)size, f), (size_t)size);
	text[size] = '\0';
	fclose(f);
	return text;
}

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* has_word tells whether TEXT has NAME not inside a longer name. */
static bool has_word(const char *text, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = text; (p = strstr(p, name)); p++)
		if ((p == text || !word_char(p[-1])) && !word_char(p[len]))
			return true;
	return false;
}

START_TEST(test_man_page_documents_every_setting)
{
	char *man = read_source_file("man/pglifeguard.ini.5");

	for (size_t i = 0; i < config_setting_count(); i++)
		ck_assert_msg(has_word(man, config_setting_name(i)), "%s missing from pglifeguard.ini.5",
			      config_setting_name(i));
	for (size_t i = 0; i < config_unsupported_count(); i++)
		ck_assert_msg(has_word(man, config_unsupported_name(i)),
			      "%s missing from pglifeguard.ini.5", config_unsupported_name(i));
	free(man);
}
END_TEST

/* Every setting appears in etc/pglifeguard.ini as ";name = default". */
START_TEST(test_example_lists_every_setting)
{
	char *ini = read_source_file("etc/pglifeguard.ini");
	char want[256];

	for (size_t i = 0; i < config_setting_count(); i++) {
		const char *name = config_setting_name(i), *def = config_setting_default(i);
		const char *p;

		snprintf(want, sizeof(want), "\n;%s =", name);
		p = strstr(ini, want);
		ck_assert_msg(p != NULL, "\";%s =\" missing from etc/pglifeguard.ini", name);
		if (def) {
			char line[256];
			const char *end = strchr(p + 1, '\n');
			size_t n = end ? (size_t)(end - p - 1) : strlen(p + 1);

			snprintf(line, sizeof(line), ";%s =%s%s", name, *def ? " " : "", def);
			ck_assert_msg(n == strlen(line) && strncmp(p + 1, line, n) == 0,
				      "etc/pglifeguard.ini: want \"%s\"", line);
		}
	}
	free(ini);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_production);
	tcase_add_test(tc, test_example_file_loads);
	tcase_add_test(tc, test_bad_bool);
	tcase_add_test(tc, test_bad_int);
	tcase_add_test(tc, test_out_of_range);
	tcase_add_test(tc, test_bad_enum);
	tcase_add_test(tc, test_bad_time);
	tcase_add_test(tc, test_all_problems_reported);
	tcase_add_test(tc, test_unknown_setting_warns);
	tcase_add_test(tc, test_tls_refused);
	tcase_add_test(tc, test_auth_refused);
	tcase_add_test(tc, test_harmless_unsupported);
	tcase_add_test(tc, test_auth_file_required);
	tcase_add_test(tc, test_nonexistent_file);
	tcase_add_test(tc, test_include_errors_name_the_included_file);
	tcase_add_test(tc, test_bad_database_entries);
	tcase_add_test(tc, test_database_edge_cases);
	tcase_add_test(tc, test_password_never_in_messages);
	tcase_add_test(tc, test_find_db_fallback);
	tcase_add_test(tc, test_list_contains);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_set);
	tcase_add_test(tc, test_show_lists_every_setting);
	tcase_add_test(tc, test_keep_startup_settings);
	tcase_add_test(tc, test_man_page_documents_every_setting);
	tcase_add_test(tc, test_example_lists_every_setting);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

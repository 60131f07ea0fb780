/* Databases, users and pools: who may get a server connection, when new
 * ones are opened, and where a released one goes. */
#include "pool.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "client.h"
#include "log.h"
#include "loop.h"
#include "server.h"

/* --- databases and users ------------------------------------------------- */

static void database_clear(struct database *db)
{
	free(db->host);
	free(db->dbname);
	free(db->force_user);
	if (db->force_password) {
		explicit_bzero(db->force_password, strlen(db->force_password));
		free(db->force_password);
	}
	for (int i = 0; i < db->nstartup; i++) {
		free(db->startup_names[i]);
		free(db->startup_values[i]);
	}
	db->nstartup = 0;
	free(db->connect_query);
	db->host = db->dbname = db->force_user = db->force_password = db->connect_query = NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static bool same_str(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Fill DB from ENTRY; NAME is the name clients use. Returns whether the
 * way to reach the server changed. */
static bool database_apply(struct loop *loop, struct database *db, const struct db_config *e,
			   const char *name)
{
	const struct config *cfg = loop->cfg;
	const char *dbname = e->dbname ? e->dbname : name;
	bool changed = !same_str(db->host, e->host) || db->port != (e->port > 0 ? e->port : 5432) ||
		       !same_str(db->dbname, dbname) || !same_str(db->force_user, e->user) ||
		       !same_str(db->force_password, e->password);

	database_clear(db);
	db->host = dup_or_null(e->host);
	db->port = e->port > 0 ? e->port : 5432;
	db->dbname = strdup(dbname);
	db->force_user = dup_or_null(e->user);
	db->force_password = dup_or_null(e->password);
	db->connect_query = dup_or_null(e->connect_query);
	const char *snames[] = {"client_encoding", "datestyle", "timezone", "application_name"};
	const char *svalues[] = {e->client_encoding, e->datestyle, e->timezone,
				 e->application_name};
	for (int i = 0; i < 4; i++) {
		if (!svalues[i])
			continue;
		db->startup_names[db->nstartup] = strdup(snames[i]);
		db->startup_values[db->nstartup] = strdup(svalues[i]);
		db->nstartup++;
	}
	db->pool_size = e->pool_size >= 0 ? e->pool_size : cfg->default_pool_size;
	db->min_pool_size = e->min_pool_size >= 0 ? e->min_pool_size : cfg->min_pool_size;
	db->reserve_pool = e->reserve_pool >= 0 ? e->reserve_pool : cfg->reserve_pool_size;
	db->max_db_connections =
		e->max_db_connections >= 0 ? e->max_db_connections : cfg->max_db_connections;
	db->mode_override = e->pool_mode;
	db->from_wildcard = strcmp(e->name, "*") == 0;
	if (changed)
		db->addr_ok = false;
	return changed;
}

bool pool_database_resolve(struct loop *loop, struct database *db)
{
	const char *host = db->host;

	memset(&db->addr, 0, sizeof(db->addr));
	if (!host || host[0] == '/') {
		const char *dir = host ? host
				       : (loop->cfg->unix_socket_dir[0] ? loop->cfg->unix_socket_dir
									: "/tmp");
		struct sockaddr_un *un = (struct sockaddr_un *)&db->addr;
		un->sun_family = AF_UNIX;
		int n = snprintf(un->sun_path, sizeof(un->sun_path), "%s/.s.PGSQL.%d", dir,
				 db->port);
		if (n < 0 || (size_t)n >= sizeof(un->sun_path)) {
			log_error("database %s: unix socket path too long", db->name);
			return false;
		}
		db->addrlen = sizeof(*un);
		db->addr_ok = true;
		return true;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	char port[16];
	snprintf(port, sizeof(port), "%d", db->port);
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0 || !res) {
		log_error("database %s: cannot resolve host %s: %s", db->name, host,
			  gai_strerror(rc));
		return false;
	}
	memcpy(&db->addr, res->ai_addr, res->ai_addrlen);
	db->addrlen = res->ai_addrlen;
	db->addr_ok = true;
	freeaddrinfo(res);
	return true;
}

static struct database *database_new(struct loop *loop, const struct db_config *e, const char *name)
{
	struct database *db = calloc(1, sizeof(*db));
	if (!db)
		return NULL;
	db->name = strdup(name);
	if (!db->name) {
		free(db);
		return NULL;
	}
	database_apply(loop, db, e, name);
	pool_database_resolve(loop, db);
	list_append(&loop->databases, &db->node);
	return db;
}

struct database *pool_find_database(struct loop *loop, const char *name)
{
	struct list_node *n;

	list_for_each(n, &loop->databases)
	{
		struct database *db = container_of(n, struct database, node);
		if (strcmp(db->name, name) == 0)
			return db->removed ? NULL : db;
	}
	const struct db_config *e = config_find_db(loop->cfg, name);
	if (!e)
		return NULL;
	return database_new(loop, e, name);
}

struct user *pool_find_user(struct loop *loop, const char *name)
{
	struct list_node *n;

	list_for_each(n, &loop->users)
	{
		struct user *u = container_of(n, struct user, node);
		if (strcmp(u->name, name) == 0)
			return u;
	}
	struct user *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->name = strdup(name);
	if (!u->name) {
		free(u);
		return NULL;
	}
	list_append(&loop->users, &u->node);
	return u;
}

enum pool_mode pool_mode_of(struct loop *loop, const struct database *db, const struct user *user)
{
	const struct user_config *uc = config_find_user(loop->cfg, user->name);
	if (uc && uc->pool_mode != POOL_MODE_INHERIT)
		return uc->pool_mode;
	if (db->mode_override != POOL_MODE_INHERIT)
		return db->mode_override;
	return loop->cfg->pool_mode;
}

static int user_limit(struct loop *loop, const struct user *user)
{
	const struct user_config *uc = config_find_user(loop->cfg, user->name);
	if (uc && uc->max_user_connections >= 0)
		return uc->max_user_connections;
	return loop->cfg->max_user_connections;
}

static void close_pool_connections(struct pool *pool, const char *reason)
{
	struct list_node *n, *t;
	struct list *client_lists[] = {&pool->active_clients, &pool->waiting_clients,
				       &pool->login_clients};
	for (size_t i = 0; i < sizeof(client_lists) / sizeof(client_lists[0]); i++)
		list_for_each_safe(n, t, client_lists[i])
			client_fail(container_of(n, struct client, node), "08P01", "%s", reason);
	struct list *server_lists[] = {&pool->idle_servers, &pool->active_servers,
				       &pool->used_servers, &pool->tested_servers,
				       &pool->login_servers};
	for (size_t i = 0; i < sizeof(server_lists) / sizeof(server_lists[0]); i++)
		list_for_each_safe(n, t, server_lists[i])
			server_close(container_of(n, struct server, node), reason);
}

/* Servers of DB are closed when next released (or now, when idle). */
static void database_reconnect(struct loop *loop, struct database *db)
{
	struct list_node *n, *t, *m;
	list_for_each(n, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		if (pool->db != db)
			continue;
		struct list *lists[] = {&pool->active_servers, &pool->used_servers,
					&pool->tested_servers, &pool->login_servers};
		for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
			list_for_each(m, lists[i]) container_of(m, struct server, node)
				->close_needed = true;
		list_for_each_safe(m, t, &pool->idle_servers) server_close(
			container_of(m, struct server, node), "database configuration changed");
		pool->welcome_ready = false;
	}
}

void pool_sync_databases(struct loop *loop, bool reload)
{
	struct list_node *n;
	const struct db_config *e;

	for (e = loop->cfg->databases; e; e = e->next) {
		if (strcmp(e->name, "*") == 0)
			continue;
		struct database *found = NULL;
		list_for_each(n, &loop->databases)
		{
			struct database *db = container_of(n, struct database, node);
			if (strcmp(db->name, e->name) == 0)
				found = db;
		}
		if (!found) {
			if (!database_new(loop, e, e->name))
				log_error("out of memory adding database %s", e->name);
			continue;
		}
		found->removed = false;
		if (database_apply(loop, found, e, e->name)) {
			pool_database_resolve(loop, found);
			if (reload)
				database_reconnect(loop, found);
		}
	}
	if (!reload)
		return;
	/* databases gone from the file, or made from a "*" that changed */
	list_for_each(n, &loop->databases)
	{
		struct database *db = container_of(n, struct database, node);
		e = config_find_db(loop->cfg, db->name);
		if (e && (strcmp(e->name, db->name) == 0 || db->from_wildcard)) {
			if (db->from_wildcard && database_apply(loop, db, e, db->name)) {
				pool_database_resolve(loop, db);
				database_reconnect(loop, db);
			}
			continue;
		}
		if (db->removed)
			continue;
		db->removed = true;
		log_info("database %s removed from the configuration: closing its connections",
			 db->name);
		struct list_node *p, *t;
		list_for_each_safe(p, t, &loop->pools)
		{
			struct pool *pool = container_of(p, struct pool, node);
			if (pool->db == db)
				close_pool_connections(pool,
						       "database removed from the configuration");
		}
	}
	/* pool modes and sizes follow the new config */
	list_for_each(n, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		pool->mode = pool_mode_of(loop, pool->db, pool->user);
	}
}

/* --- pools ---------------------------------------------------------------- */

struct pool *pool_get(struct loop *loop, struct database *db, struct user *user)
{
	struct list_node *n;

	list_for_each(n, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		if (pool->db == db && pool->user == user)
			return pool;
	}
	struct pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return NULL;
	pool->loop = loop;
	pool->db = db;
	pool->user = user;
	pool->mode = pool_mode_of(loop, db, user);
	list_init(&pool->active_clients);
	list_init(&pool->waiting_clients);
	list_init(&pool->login_clients);
	list_init(&pool->idle_servers);
	list_init(&pool->active_servers);
	list_init(&pool->used_servers);
	list_init(&pool->tested_servers);
	list_init(&pool->login_servers);
	list_append(&loop->pools, &pool->node);
	return pool;
}

void pool_free(struct pool *pool)
{
	for (int i = 0; i < pool->nwelcome; i++) {
		free(pool->welcome_names[i]);
		free(pool->welcome_values[i]);
	}
	params_clear(&pool->defaults);
	alert_pool_gone(pool->loop, pool);
	list_remove(&pool->loop->pools, &pool->node);
	free(pool);
}

int pool_server_count(const struct pool *pool)
{
	return pool->idle_servers.count + pool->active_servers.count + pool->used_servers.count +
	       pool->tested_servers.count + pool->login_servers.count;
}

int pool_size_limit(const struct pool *pool, bool with_reserve)
{
	return pool->db->pool_size + (with_reserve ? pool->db->reserve_pool : 0);
}

static bool reserve_allowed(const struct pool *pool)
{
	struct list_node *first = list_first(&pool->waiting_clients);
	if (!first || pool->db->reserve_pool <= 0)
		return false;
	const struct client *c = container_of(first, struct client, node);
	return c->wait_start &&
	       pool->loop->now - c->wait_start >= pool->loop->cfg->reserve_pool_timeout;
}

void pool_launch_servers(struct pool *pool)
{
	struct loop *loop = pool->loop;
	struct database *db = pool->db;

	if (db->removed || db->disabled || db->paused || loop->paused ||
	    loop->shutdown != SHUTDOWN_NONE)
		return;
	if (pool->last_connect_failed &&
	    loop->now - pool->last_connect_failed < loop->cfg->server_login_retry)
		return;
	int total = pool_server_count(pool);
	int coming =
		pool->login_servers.count + pool->used_servers.count + pool->tested_servers.count;
	int wanted = pool->waiting_clients.count - coming;
	if (!pool->welcome_ready && !list_empty(&pool->login_clients) &&
	    pool->login_servers.count == 0 && wanted < 1)
		wanted = 1;
	if (total < db->min_pool_size && wanted < db->min_pool_size - total)
		wanted = db->min_pool_size - total;
	int limit = pool_size_limit(pool, reserve_allowed(pool));
	int user_max = user_limit(loop, pool->user);

	while (wanted-- > 0 && total < limit) {
		if (db->max_db_connections > 0 && db->server_count >= db->max_db_connections)
			break;
		if (user_max > 0 && pool->user->server_count >= user_max)
			break;
		if (!server_launch(pool))
			break;
		total++;
		if (pool->last_connect_failed)
			break;
	}
}

void pool_request_server(struct pool *pool, struct client *client)
{
	struct loop *loop = pool->loop;

	client_set_state(client, CLIENT_WAITING);
	if (!client->wait_start)
		client->wait_start = loop->now;
	if (loop->paused || pool->db->paused)
		return;
	while (!list_empty(&pool->idle_servers)) {
		struct server *server =
			container_of(list_first(&pool->idle_servers), struct server, node);
		const char *check = loop->cfg->server_check_query;
		if (server->close_needed) {
			server_close(server, "configuration changed");
			continue;
		}
		if (check && check[0] &&
		    loop->now - server->request_time >= loop->cfg->server_check_delay) {
			/* the check's completion hands it to the first waiting client */
			server_set_state(server, SERVER_TESTED);
			server_run_task(server, TASK_CHECK, check);
			return;
		}
		client_link_server(client, server);
		return;
	}
	pool_launch_servers(pool);
}

void pool_release_server(struct server *server)
{
	struct pool *pool = server->pool;
	struct loop *loop = pool->loop;
	const struct config *cfg = loop->cfg;

	/* a cancel still on its way must not hit the next client's query:
	 * the server waits until PostgreSQL has read it (cancel.c resumes) */
	if (server->cancels_in_flight > 0) {
		server->release_after_cancel = true;
		server_set_state(server, SERVER_USED);
		return;
	}
	leak_checkout_end(server);
	if (server->link_time) {
		histogram_record(&pool->checkout_hist, loop->now - server->link_time);
		poolobs_checkout_ended(&pool->obs, loop->now - server->link_time);
	}
	server->query_start = 0;
	server->release_check = false;
	if (!server_is_clean(server)) {
		server_close(server, "released in an unclean state");
		return;
	}
	if (pool->db->removed || loop->shutdown == SHUTDOWN_NOW) {
		server_close(server, "database removed or shutting down");
		return;
	}
	if (cfg->server_lifetime && loop->now - server->connect_mono >= cfg->server_lifetime) {
		server_close(server, "server lifetime over");
		pool_launch_servers(pool);
		return;
	}
	if (pool_server_needs_reset(server)) {
		server_set_state(server, SERVER_TESTED);
		server_run_task(server, TASK_RESET, cfg->server_reset_query);
		return;
	}
	pool_server_ready(server);
}

bool pool_server_needs_reset(const struct server *server)
{
	const struct config *cfg = server->pool->loop->cfg;
	const char *reset = cfg->server_reset_query;

	if (!reset || !reset[0])
		return false;
	return server->pool->mode == POOL_MODE_SESSION || cfg->server_reset_query_always ||
	       (cfg->session_state_reset && server->checkout.session_state);
}

void pool_server_ready(struct server *server)
{
	struct pool *pool = server->pool;
	struct loop *loop = pool->loop;

	server->request_time = loop->now;
	if (server->close_needed) {
		server_close(server, "configuration changed");
		pool_launch_servers(pool);
		return;
	}
	if (loop->paused || pool->db->paused) {
		/* PAUSE waits for servers to be released, then closes them */
		server_close(server, "pause");
		return;
	}
	if (!list_empty(&pool->waiting_clients) && loop->shutdown != SHUTDOWN_WAIT_FOR_SERVERS) {
		struct client *client =
			container_of(list_first(&pool->waiting_clients), struct client, node);
		client_link_server(client, server);
		return;
	}
	server_set_state(server, SERVER_IDLE);
	loop_check_shutdown(loop);
}

void pool_set_welcome(struct pool *pool, int n, char *const *names, char *const *values)
{
	for (int i = 0; i < pool->nwelcome; i++) {
		free(pool->welcome_names[i]);
		free(pool->welcome_values[i]);
	}
	pool->nwelcome = 0;
	params_clear(&pool->defaults);
	for (int i = 0; i < n && pool->nwelcome < POOL_MAX_WELCOME; i++) {
		char *nm = strdup(names[i]), *v = strdup(values[i]);
		if (!nm || !v) {
			free(nm);
			free(v);
			continue;
		}
		pool->welcome_names[pool->nwelcome] = nm;
		pool->welcome_values[pool->nwelcome] = v;
		pool->nwelcome++;
		int id = params_lookup(nm);
		if (id >= 0)
			params_set(&pool->defaults, id, v);
	}
	pool->welcome_ready = true;
	pool->last_error[0] = '\0';
	struct list_node *node, *t;
	list_for_each_safe(node, t, &pool->login_clients)
		client_send_welcome(container_of(node, struct client, node));
}

void pool_server_login_failed(struct pool *pool, const char *sqlstate, const char *message)
{
	struct list_node *n, *t;

	pool->last_connect_failed = pool->loop->now ? pool->loop->now : 1;
	snprintf(pool->last_error, sizeof(pool->last_error), "%s", message);
	snprintf(pool->last_error_sqlstate, sizeof(pool->last_error_sqlstate), "%s", sqlstate);
	list_for_each_safe(n, t, &pool->login_clients)
		client_fail(container_of(n, struct client, node), sqlstate, "%s", message);
	int usable = pool->idle_servers.count + pool->active_servers.count +
		     pool->used_servers.count + pool->tested_servers.count;
	if (usable == 0) {
		list_for_each_safe(n, t, &pool->waiting_clients)
			client_fail(container_of(n, struct client, node), "08006",
				    "pooler cannot connect to server: %s", message);
	}
}

/* The per-loop context: setup, the reaper that frees closed objects after
 * each loop turn, signals, reload, pause and shutdown. */
#include "loop.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "alert.h"
#include "authfile.h"
#include "cancel.h"
#include "client.h"
#include "http.h"
#include "janitor.h"
#include "listener.h"
#include "log.h"
#include "paramtap.h"
#include "pool.h"
#include "server.h"
#include "stats.h"
#include "suspend.h"

/* Buffers kept on the free list: enough for bursts, bounded when idle. */
#define FREE_BUFFERS_MAX 1024

static void reap(struct loop *loop)
{
	struct list_node *n, *t;
	list_for_each_safe(n, t, &loop->closed_clients)
	{
		struct client *c = container_of(n, struct client, node);
		list_remove(&loop->closed_clients, n);
		client_free(c);
	}
	list_for_each_safe(n, t, &loop->closed_servers)
	{
		struct server *s = container_of(n, struct server, node);
		list_remove(&loop->closed_servers, n);
		server_free(s);
	}
	cancel_reap(loop, false);
}

/* Runs first after each poll: refresh the cached clock and free what the
 * previous turn closed, when nothing can point at it any more. */
static void on_check(struct ev_loop *ev, ev_check *w, int revents)
{
	struct loop *loop = container_of(w, struct loop, reaper);
	loop->now = timeutil_now();
	reap(loop);
}

static struct authfile *load_authfile(const struct config *cfg, FILE *errors)
{
	if (!cfg->auth_file || !cfg->auth_file[0])
		return NULL;
	return authfile_load(cfg->auth_file, errors);
}

int loop_reload(struct loop *loop, FILE *errors)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *err = open_memstream(&buf, &len);
	if (!err)
		return -1;
	struct config *cfg = config_load(loop->cfg->config_file, err, err);
	struct authfile *af = NULL;
	bool ok = cfg != NULL;
	if (ok && cfg->auth_file && cfg->auth_file[0]) {
		af = load_authfile(cfg, err);
		ok = af != NULL;
	}
	/* settings that need a restart keep their old values, with a warning */
	if (ok && config_keep_startup_settings(cfg, loop->cfg, err) < 0)
		ok = false;
	fclose(err);
	if (buf && len) {
		/* one log line per problem */
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
			if (ok)
				log_warning("reload: %s", line);
			else
				log_error("reload: %s", line);
			if (errors)
				fprintf(errors, "%s\n", line);
		}
	}
	free(buf);
	if (!ok) {
		config_free(cfg);
		log_error("reload failed: keeping the previous configuration");
		return -1;
	}
	struct config *old = loop->cfg;
	loop->cfg = cfg;
	authfile_free(loop->authfile);
	loop->authfile = af;
	pool_sync_databases(loop, true);
	config_free(old);
	log_info("configuration reloaded");
	return 0;
}

void loop_check_shutdown(struct loop *loop)
{
	struct list_node *n;

	switch (loop->shutdown) {
	case SHUTDOWN_NONE:
		return;
	case SHUTDOWN_NOW:
		break;
	case SHUTDOWN_WAIT_FOR_CLIENTS:
		if (loop->client_count > 0)
			return;
		break;
	case SHUTDOWN_WAIT_FOR_SERVERS:
		list_for_each(n, &loop->pools)
		{
			struct pool *pool = container_of(n, struct pool, node);
			if (pool->active_servers.count || pool->tested_servers.count)
				return;
		}
		break;
	}
	ev_break(loop->ev, EVBREAK_ALL);
}

static void begin_shutdown(struct loop *loop, enum shutdown_mode mode)
{
	static const char *names[] = {"", "waiting for clients to disconnect",
				      "waiting for transactions to finish", "now"};
	if (mode <= loop->shutdown && mode != SHUTDOWN_NOW)
		mode = SHUTDOWN_NOW; /* asked twice: at once */
	loop->shutdown = mode;
	log_info("shutting down: %s", names[mode]);
	listener_stop_all(loop, false);
	/* a suspended pooler could never see its clients leave (the listeners
	 * stay stopped: shutdown is set) */
	if (loop->suspended)
		suspend_end(loop);
	loop_check_shutdown(loop);
}

void loop_shutdown(struct loop *loop, enum shutdown_mode mode)
{
	begin_shutdown(loop, mode);
}

void loop_pause(struct loop *loop)
{
	struct list_node *n, *m, *t;
	loop->paused = true;
	log_info("pausing: new queries wait, servers close as they are released");
	list_for_each(n, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		list_for_each_safe(m, t, &pool->idle_servers)
			server_close(container_of(m, struct server, node), "pause");
	}
}

void loop_resume(struct loop *loop)
{
	struct list_node *n;
	loop->paused = false;
	log_info("resuming");
	list_for_each(n, &loop->pools) pool_launch_servers(container_of(n, struct pool, node));
}

static void on_signal(struct ev_loop *ev, ev_signal *w, int revents)
{
	struct loop *loop = ev_userdata(ev);

	loop->now = timeutil_now();
	switch (w->signum) {
	case SIGHUP:
		log_info("got SIGHUP: reloading configuration");
		log_reopen();
		loop_reload(loop, NULL);
		break;
	case SIGTERM:
		begin_shutdown(loop, loop->shutdown == SHUTDOWN_NONE ? SHUTDOWN_WAIT_FOR_CLIENTS
								     : SHUTDOWN_NOW);
		break;
	case SIGINT:
		begin_shutdown(loop, loop->shutdown == SHUTDOWN_NONE ? SHUTDOWN_WAIT_FOR_SERVERS
								     : SHUTDOWN_NOW);
		break;
	case SIGQUIT:
		begin_shutdown(loop, SHUTDOWN_NOW);
		break;
	case SIGUSR1:
		loop_pause(loop);
		break;
	case SIGUSR2:
		/* as RESUME: a SUSPEND first */
		if (loop->suspended)
			suspend_end(loop);
		else
			loop_resume(loop);
		break;
	}
}

int loop_init(struct loop *loop, struct config *cfg)
{
	memset(loop, 0, sizeof(*loop));
	loop->cfg = cfg;
	loop->ev = ev_default_loop(EVFLAG_AUTO);
	if (!loop->ev) {
		log_error("cannot initialise libev");
		return -1;
	}
	ev_set_userdata(loop->ev, loop);
	loop->now = timeutil_now();
	iobuf_pool_init(&loop->bufs, (uint32_t)(cfg->pkt_buf), FREE_BUFFERS_MAX);
	list_init(&loop->databases);
	list_init(&loop->users);
	list_init(&loop->pools);
	list_init(&loop->login_clients);
	list_init(&loop->admin_clients);
	list_init(&loop->listeners);
	list_init(&loop->cancels);
	list_init(&loop->closed_clients);
	list_init(&loop->closed_servers);
	loop->cancel_keys = cancel_map_new();
	if (!loop->cancel_keys)
		return -1;
	if (cfg->auth_file && cfg->auth_file[0]) {
		loop->authfile = load_authfile(cfg, stderr);
		if (!loop->authfile)
			return -1;
	}
	pool_sync_databases(loop, false);

	ev_check_init(&loop->reaper, on_check);
	ev_set_priority(&loop->reaper, EV_MAXPRI);
	ev_check_start(loop->ev, &loop->reaper);
	int sigs[] = {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2};
	ev_signal *ws[] = {&loop->sig_hup,  &loop->sig_term, &loop->sig_int,
			   &loop->sig_quit, &loop->sig_usr1, &loop->sig_usr2};
	for (int i = 0; i < 6; i++) {
		ev_signal_init(ws[i], on_signal, sigs[i]);
		ev_signal_start(loop->ev, ws[i]);
		ev_unref(loop->ev);
	}
	signal(SIGPIPE, SIG_IGN);
	janitor_start(loop);
	if (stats_start(loop) < 0)
		return -1;
	if (alert_start(loop) < 0)
		return -1;
	if (http_start(loop) < 0) {
		/* everything above is set up: undo it, the caller will not */
		loop_destroy(loop);
		return -1;
	}
	return 0;
}

void loop_run(struct loop *loop)
{
	ev_run(loop->ev, 0);
}

void loop_destroy(struct loop *loop)
{
	struct list_node *n, *t, *m, *u;

	loop->shutdown = SHUTDOWN_NOW;
	admin_destroy(loop);
	stats_stop(loop);
	alert_stop(loop);
	http_stop(loop);
	listener_stop_all(loop, true);
	list_for_each_safe(n, t, &loop->login_clients)
		client_close(container_of(n, struct client, node), "shutdown");
	list_for_each_safe(n, t, &loop->admin_clients)
		client_close(container_of(n, struct client, node), "shutdown");
	list_for_each_safe(n, t, &loop->pools)
	{
		struct pool *pool = container_of(n, struct pool, node);
		struct list *cl[] = {&pool->active_clients, &pool->waiting_clients,
				     &pool->login_clients};
		for (int i = 0; i < 3; i++)
			list_for_each_safe(m, u, cl[i])
				client_close(container_of(m, struct client, node), "shutdown");
		struct list *sl[] = {&pool->idle_servers, &pool->active_servers,
				     &pool->used_servers, &pool->tested_servers,
				     &pool->login_servers};
		for (int i = 0; i < 5; i++)
			list_for_each_safe(m, u, sl[i])
				server_close(container_of(m, struct server, node), "shutdown");
	}
	cancel_abort_all(loop);
	reap(loop);
	ps_registry_free(&loop->ps_reg);
	paramtap_free(loop);
	list_for_each_safe(n, t, &loop->pools) pool_free(container_of(n, struct pool, node));
	list_for_each_safe(n, t, &loop->databases)
	{
		struct database *db = container_of(n, struct database, node);
		list_remove(&loop->databases, n);
		free(db->host);
		free(db->dbname);
		free(db->force_user);
		free(db->force_password);
		for (int i = 0; i < db->nstartup; i++) {
			free(db->startup_names[i]);
			free(db->startup_values[i]);
		}
		free(db->connect_query);
		free(db->name);
		free(db);
	}
	list_for_each_safe(n, t, &loop->users)
	{
		struct user *u2 = container_of(n, struct user, node);
		list_remove(&loop->users, n);
		free(u2->name);
		free(u2);
	}
	ev_timer_stop(loop->ev, &loop->janitor);
	ev_check_stop(loop->ev, &loop->reaper);
	cancel_map_free(loop->cancel_keys);
	authfile_free(loop->authfile);
	iobuf_pool_destroy(&loop->bufs);
	poolobs_loop_free(loop);
	config_free(loop->cfg);
	loop->cfg = NULL;
	ev_loop_destroy(loop->ev);
}

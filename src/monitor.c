/* The monitor thread: a libev loop of its own running the samplers and
 * store retention, started and stopped by main. Nothing here touches the
 * pooler's loop or its config after monitor_start returns. */
#include "monitor.h"
#include <ev.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "authfile.h"
#include "backend_owner.h"
#include "evqueue.h"
#include "locksampler.h"
#include "log.h"
#include "relstats.h"
#include "rollup.h"
#include "sampler.h"
#include "store.h"
#include "store_events.h"
#include "store_locks.h"
#include "timeutil.h"

#define RETENTION_BATCH 500
#define RETENTION_EVERY 60.0 /* seconds */
#define ROLLUP_BATCH 60 /* raw intervals per rollup transaction */
#define ROLLUP_BATCHES 30 /* rollup transactions per retention tick */

struct target {
	char *name, *conninfo;
	char *host; /* NULL: unix socket */
	int port;
};

struct monitor {
	pthread_t thread;
	struct ev_loop *ev;
	ev_async stop;
	ev_timer retention;
	usec_t retention_age;
	usec_t rollup_after, rollup_interval;
	usec_t interval;
	struct store *store;
	struct target *targets;
	size_t ntargets;
	struct sampler **samplers;
	usec_t lock_interval; /* 0: lock waits not sampled */
	struct backend_owner *owners; /* borrowed; NULL: none */
	struct locksampler **locksamplers;
	/* pooler events: the queue, and what left it for the next write */
	struct event_queue *queue;
	ev_async wake;
	ev_timer flush;
	struct event *pending;
	size_t npending, cap_pending, max_pending;
	char *path; /* the store file in use */
};

static void stop_cb(struct ev_loop *ev, ev_async *w, int revents)
{
	ev_break(ev, EVBREAK_ALL);
}

static void queue_wake(void *arg)
{
	struct monitor *m = arg;
	ev_async_send(m->ev, &m->wake);
}

/* drain moves queued events into pending (growing it up to max_pending;
 * beyond that they wait in the queue, which drops and counts when full). */
static void drain(struct monitor *m)
{
	for (;;) {
		if (m->npending == m->cap_pending && m->cap_pending < m->max_pending) {
			size_t cap = m->cap_pending ? m->cap_pending * 2 : 64;
			if (cap > m->max_pending)
				cap = m->max_pending;
			struct event *p = realloc(m->pending, cap * sizeof(*p));
			if (p) {
				m->pending = p;
				m->cap_pending = cap;
			}
		}
		size_t room = m->cap_pending - m->npending;
		if (!room)
			return;
		size_t n = evqueue_pop(m->queue, m->pending + m->npending, room);
		m->npending += n;
		if (n < room)
			return;
	}
}

static void wake_cb(struct ev_loop *ev, ev_async *w, int revents)
{
	drain((struct monitor *)((char *)w - offsetof(struct monitor, wake)));
}

/* write_events stores what arrived during the interval in one
 * transaction; a batch the store refuses is dropped and counted. */
static void write_events(struct monitor *m)
{
	drain(m);
	if (!m->npending)
		return;
	if (store_events_write(m->store, m->pending, m->npending) < 0) {
		log_warning("monitor: %zu pooler events not stored", m->npending);
		evqueue_drop(m->queue, m->npending);
	}
	m->npending = 0;
}

static void flush_cb(struct ev_loop *ev, ev_timer *w, int revents)
{
	write_events((struct monitor *)((char *)w - offsetof(struct monitor, flush)));
}

static void retention_cb(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct monitor *m = (struct monitor *)((char *)w - offsetof(struct monitor, retention));
	int64_t n = store_expire(m->store, timeutil_wall() - m->retention_age, RETENTION_BATCH);
	if (n > 0)
		log_debug("monitor: %lld expired intervals deleted", (long long)n);
	n = store_locks_expire(m->store, timeutil_wall() - m->retention_age, RETENTION_BATCH);
	if (n > 0)
		log_debug("monitor: %lld expired lock samples deleted", (long long)n);
	n = store_events_expire(m->store, timeutil_wall() - m->retention_age, RETENTION_BATCH);
	if (n > 0)
		log_debug("monitor: %lld expired event rows deleted", (long long)n);
	relstats_expire(m->store, timeutil_wall() - m->retention_age);
	n = rollup_run(m->store, timeutil_wall() - m->rollup_after, m->rollup_interval,
		       ROLLUP_BATCH, ROLLUP_BATCHES);
	if (n > 0)
		log_debug("monitor: %lld intervals rolled up", (long long)n);
}

static void *thread_main(void *arg)
{
	struct monitor *m = arg;
	for (size_t i = 0; i < m->ntargets; i++) {
		if (m->lock_interval > 0 &&
		    !(m->locksamplers[i] =
			      locksampler_new(m->ev, m->store, m->owners, m->targets[i].name,
					      m->targets[i].host, m->targets[i].port)))
			log_warning("monitor: database %s: lock waits not sampled",
				    m->targets[i].name);
		/* one connection per database: the sampler runs the lock
		 * sampler's query on its own */
		m->samplers[i] =
			sampler_new(m->ev, m->store, m->targets[i].name, m->targets[i].conninfo,
				    m->interval, m->locksamplers[i], m->lock_interval);
		if (!m->samplers[i])
			log_warning("monitor: database %s: out of memory, not sampled",
				    m->targets[i].name);
	}
	ev_run(m->ev, 0);
	write_events(m);
	for (size_t i = 0; i < m->ntargets; i++) {
		sampler_free(m->samplers[i]);
		locksampler_free(m->locksamplers[i]);
	}
	if (m->owners)
		backend_owner_detach(m->owners);
	return NULL;
}

/* append_kv adds " key='value'" to a conninfo string, quoted as libpq
 * wants. */
static void append_kv(FILE *f, const char *key, const char *value)
{
	fprintf(f, " %s='", key);
	for (const char *p = value; *p; p++) {
		if (*p == '\'' || *p == '\\')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputc('\'', f);
}

static bool in_list(const char *list, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = list; *p;) {
		p += strspn(p, " ,");
		size_t n = strcspn(p, ",");
		size_t t = n;
		while (t && p[t - 1] == ' ')
			t--;
		if (t == len && !strncmp(p, name, len))
			return true;
		p += n;
	}
	return false;
}

/* conninfo_for returns the sampler's connection string for DB, or NULL
 * after a warning when no user is known. */
static char *conninfo_for(const struct config *cfg, const struct db_config *db,
			  const struct authfile *af)
{
	const char *user = cfg->monitor_user && cfg->monitor_user[0] ? cfg->monitor_user : db->user;
	if (!user) {
		log_warning("monitor: database %s has no user= and monitor_user is not set: "
			    "not sampled",
			    db->name);
		return NULL;
	}
	const char *password = NULL;
	if (cfg->monitor_password && cfg->monitor_password[0])
		password = cfg->monitor_password;
	else if (db->password && db->user && !strcmp(db->user, user))
		password = db->password;
	else if (af) {
		const struct authfile_entry *e = authfile_find(af, user);
		if (e && e->kind == SECRET_PLAIN)
			password = e->secret;
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	/* lock_timeout: pg_relation_size() waits for a lock behind DDL; better a
	 * skipped table sample than a sampler stuck behind ALTER TABLE */
	fputs("application_name='pglifeguard monitor' connect_timeout=10 "
	      "options='-c lock_timeout=2000'",
	      f);
	if (db->host)
		append_kv(f, "host", db->host);
	if (db->port > 0)
		fprintf(f, " port=%d", db->port);
	append_kv(f, "dbname", db->dbname ? db->dbname : db->name);
	append_kv(f, "user", user);
	if (password)
		append_kv(f, "password", password);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void free_monitor(struct monitor *m)
{
	for (size_t i = 0; i < m->ntargets; i++) {
		free(m->targets[i].name);
		free(m->targets[i].conninfo);
		free(m->targets[i].host);
	}
	free(m->targets);
	free(m->samplers);
	free(m->locksamplers);
	evqueue_free(m->queue);
	free(m->pending);
	free(m->path);
	store_close(m->store);
	if (m->ev && m->owners)
		backend_owner_detach(m->owners); /* the thread did not run */
	if (m->ev)
		ev_loop_destroy(m->ev);
	free(m);
}

struct monitor *monitor_start(const struct config *cfg, struct backend_owner *owners)
{
	struct monitor *m = calloc(1, sizeof(*m));
	if (!m) {
		log_error("monitor: out of memory");
		return NULL;
	}
	m->interval = cfg->sample_interval;
	m->lock_interval = cfg->lock_sample_interval;
	m->owners = owners;
	m->retention_age = cfg->store_retention;
	m->rollup_after = cfg->store_rollup_after;
	m->rollup_interval = cfg->store_rollup_interval;
	char *err = NULL;
	m->path = monitor_store_path(cfg);
	if (!m->path) {
		log_error("monitor: store_path is off or out of memory");
		free_monitor(m);
		return NULL;
	}
	m->store = store_open(m->path, false, &err, NULL);
	if (!m->store) {
		log_error("monitor: %s", err ? err : "cannot open the store");
		free(err);
		free_monitor(m);
		return NULL;
	}
	struct authfile *af = cfg->auth_file ? authfile_load(cfg->auth_file, NULL) : NULL;
	size_t count = 0;
	for (const struct db_config *db = cfg->databases; db; db = db->next)
		count++;
	m->targets = calloc(count ? count : 1, sizeof(*m->targets));
	m->samplers = calloc(count ? count : 1, sizeof(*m->samplers));
	m->locksamplers = calloc(count ? count : 1, sizeof(*m->locksamplers));
	if (!m->targets || !m->samplers || !m->locksamplers) {
		authfile_free(af);
		log_error("monitor: out of memory");
		free_monitor(m);
		return NULL;
	}
	const char *list = cfg->monitor_databases ? cfg->monitor_databases : "";
	for (const struct db_config *db = cfg->databases; db; db = db->next) {
		if (!strcmp(db->name, "*") || (list[0] && !in_list(list, db->name)))
			continue;
		char *ci = conninfo_for(cfg, db, af);
		if (!ci)
			continue;
		struct target *t = &m->targets[m->ntargets];
		t->conninfo = ci;
		t->port = db->port > 0 ? db->port : 5432;
		if (!(t->name = strdup(db->name)) || (db->host && !(t->host = strdup(db->host)))) {
			free(t->name);
			t->name = NULL;
			free(ci);
			continue;
		}
		m->ntargets++;
	}
	authfile_free(af);
	if (!m->ntargets)
		log_warning("monitor: no database to sample (see monitor_databases)");
	m->ev = ev_loop_new(EVFLAG_AUTO);
	if (!m->ev) {
		log_error("monitor: cannot create an event loop");
		free_monitor(m);
		return NULL;
	}
	ev_async_init(&m->stop, stop_cb);
	ev_async_start(m->ev, &m->stop);
	m->max_pending = (size_t)cfg->monitor_queue_size * 16;
	m->queue = evqueue_new((size_t)cfg->monitor_queue_size, queue_wake, m);
	if (!m->queue) {
		log_error("monitor: out of memory for the event queue");
		free_monitor(m);
		return NULL;
	}
	ev_async_init(&m->wake, wake_cb);
	ev_async_start(m->ev, &m->wake);
	double secs = (double)m->interval / (double)USEC_PER_SEC;
	ev_timer_init(&m->flush, flush_cb, secs, secs);
	ev_timer_start(m->ev, &m->flush);
	/* a store_rollup_after shorter than two minutes (tests) rolls up sooner */
	double every = (double)(m->rollup_after / 2) / (double)USEC_PER_SEC;
	if (every > RETENTION_EVERY)
		every = RETENTION_EVERY;
	if (every < 1.0)
		every = 1.0;
	ev_timer_init(&m->retention, retention_cb, 1.0, every);
	ev_timer_start(m->ev, &m->retention);
	if (m->owners)
		backend_owner_attach(m->owners, m->ev);
	/* signals stay with the pooler's loop: the thread starts with all blocked */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&m->thread, NULL, thread_main, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_error("monitor: cannot start the thread: %s", strerror(rc));
		free_monitor(m);
		return NULL;
	}
	log_info("monitor: sampling %zu database(s) every %lld s into %s", m->ntargets,
		 (long long)(m->interval / USEC_PER_SEC), m->path);
	if (m->lock_interval > 0)
		log_info("monitor: lock waits sampled every %.3g s",
			 (double)m->lock_interval / (double)USEC_PER_SEC);
	return m;
}

struct event_queue *monitor_events(struct monitor *m)
{
	return m ? m->queue : NULL;
}

char *monitor_store_path(const struct config *cfg)
{
	const char *p = cfg->store_path ? cfg->store_path : "";
	if (!strcmp(p, "off"))
		return NULL;
	if (p[0])
		return strdup(p);
	if (!cfg->pidfile || !cfg->pidfile[0])
		return NULL;
	const char *slash = strrchr(cfg->pidfile, '/');
	char *out = NULL;
	if (!slash)
		return strdup("pglifeguard.db");
	/* "/run/x.pid" -> "/run/pglifeguard.db", "/x.pid" -> "/pglifeguard.db" */
	if (asprintf(&out, "%.*s/pglifeguard.db", (int)(slash - cfg->pidfile), cfg->pidfile) < 0)
		return NULL;
	return out;
}

void monitor_stop(struct monitor *m)
{
	if (!m)
		return;
	ev_async_send(m->ev, &m->stop);
	pthread_join(m->thread, NULL);
	free_monitor(m);
}

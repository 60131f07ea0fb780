/* Prometheus metrics of one pooler loop. Every family is written whole
 * (HELP, TYPE, then one sample per pool), as the text format requires. */
#include "metrics.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "alert.h"
#include "client.h"
#include "config.h"
#include "evqueue.h"
#include "histogram.h"
#include "loop.h"
#include "paramtap.h"
#include "pool.h"
#include "sessionstate.h"
#include "stats.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define PREFIX "pglifeguard_"

/* Label values escaped as the format wants: backslash, quote, newline. */
static void write_label_value(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '"')
			fputs("\\\"", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

/* "database=\"...\",user=\"...\"" of POOL into BUF; an over-long name is
 * cut (SQL names are at most 63 bytes, so only a pathological one). */
static const char *pool_labels(const struct pool *pool, char *buf, size_t size)
{
	FILE *f = fmemopen(buf, size, "w");
	if (!f) {
		buf[0] = '\0';
		return buf;
	}
	fputs("database=\"", f);
	write_label_value(f, pool->db->name);
	fputs("\",user=\"", f);
	write_label_value(f, pool->user->name);
	fputc('"', f);
	if (fclose(f) != 0 || strnlen(buf, size) >= size - 1) {
		/* cut: keep the text well formed */
		buf[0] = '\0';
	}
	return buf;
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", name, help, name, type);
}

/* The same rule as SHOW POOLS' maxwait: the oldest waiting client, or the
 * oldest one waiting for the pool's first login. */
static usec_t pool_max_wait(const struct pool *pool)
{
	usec_t now = pool->loop->now, wait = 0;
	struct list_node *first = list_first(&pool->waiting_clients);

	if (first) {
		const struct client *c = container_of(first, struct client, node);
		if (c->wait_start)
			wait = now - c->wait_start;
	}
	first = list_first(&pool->login_clients);
	if (first) {
		const struct client *c = container_of(first, struct client, node);
		if (now - c->connect_mono > wait)
			wait = now - c->connect_mono;
	}
	return wait > 0 ? wait : 0;
}

enum pool_value {
	PV_CLIENTS_ACTIVE,
	PV_CLIENTS_WAITING,
	PV_SERVERS_ACTIVE,
	PV_SERVERS_IDLE,
	PV_SERVERS_USED,
	PV_SERVERS_TESTED,
	PV_SERVERS_LOGIN,
	PV_POOL_SIZE,
	PV_XACTS,
	PV_QUERIES,
	PV_BYTES_IN,
	PV_BYTES_OUT,
	PV_ASSIGNMENTS,
	PV_CLIENT_PARSES,
	PV_SERVER_PARSES,
	PV_BINDS,
	PV_LEAKS,
};

static uint64_t pool_value(const struct pool *p, enum pool_value v)
{
	switch (v) {
	case PV_CLIENTS_ACTIVE:
		return (uint64_t)p->active_clients.count;
	case PV_CLIENTS_WAITING:
		/* clients waiting for the pool's first login wait for a server too */
		return (uint64_t)(p->waiting_clients.count + p->login_clients.count);
	case PV_SERVERS_ACTIVE:
		return (uint64_t)p->active_servers.count;
	case PV_SERVERS_IDLE:
		return (uint64_t)p->idle_servers.count;
	case PV_SERVERS_USED:
		return (uint64_t)p->used_servers.count;
	case PV_SERVERS_TESTED:
		return (uint64_t)p->tested_servers.count;
	case PV_SERVERS_LOGIN:
		return (uint64_t)p->login_servers.count;
	case PV_POOL_SIZE:
		return (uint64_t)(p->db->pool_size > 0 ? p->db->pool_size : 0);
	case PV_XACTS:
		return p->xact_count;
	case PV_QUERIES:
		return p->query_count;
	case PV_BYTES_IN:
		return p->bytes_in;
	case PV_BYTES_OUT:
		return p->bytes_out;
	case PV_ASSIGNMENTS:
		return p->server_assignments;
	case PV_CLIENT_PARSES:
		return p->client_parse_count;
	case PV_SERVER_PARSES:
		return p->server_parse_count;
	case PV_BINDS:
		return p->bind_count;
	case PV_LEAKS:
		return p->leak_count;
	}
	return 0;
}

/* One labelled family with a sample per pool. STATE, when not NULL, adds
 * a state="..." label (several values of one family). */
struct pool_family {
	const char *name;
	const char *type;
	const char *help;
	enum pool_value values[5];
	const char *states[5];
	int n;
};

static const struct pool_family pool_families[] = {
	{"pool_clients",
	 "gauge",
	 "Client connections of the pool: active (logged in, linked or idle) or waiting for a "
	 "server.",
	 {PV_CLIENTS_ACTIVE, PV_CLIENTS_WAITING},
	 {"active", "waiting"},
	 2},
	{"pool_servers",
	 "gauge",
	 "Server connections of the pool by state: active (linked), idle, used (released, not yet "
	 "reset), tested (running the reset or check query), login (connecting).",
	 {PV_SERVERS_ACTIVE, PV_SERVERS_IDLE, PV_SERVERS_USED, PV_SERVERS_TESTED, PV_SERVERS_LOGIN},
	 {"active", "idle", "used", "tested", "login"},
	 5},
	{"pool_size",
	 "gauge",
	 "Server connections the pool may open (pool_size, without the reserve).",
	 {PV_POOL_SIZE},
	 {NULL},
	 1},
	{"pool_transactions_total",
	 "counter",
	 "Transactions completed through the pool.",
	 {PV_XACTS},
	 {NULL},
	 1},
	{"pool_queries_total",
	 "counter",
	 "Requests answered by a ReadyForQuery through the pool.",
	 {PV_QUERIES},
	 {NULL},
	 1},
	{"pool_received_bytes_total",
	 "counter",
	 "Bytes received from the pool's clients.",
	 {PV_BYTES_IN},
	 {NULL},
	 1},
	{"pool_sent_bytes_total",
	 "counter",
	 "Bytes sent to the pool's clients by its servers.",
	 {PV_BYTES_OUT},
	 {NULL},
	 1},
	{"pool_server_assignments_total",
	 "counter",
	 "Times a client of the pool was given a server connection.",
	 {PV_ASSIGNMENTS},
	 {NULL},
	 1},
	{"pool_client_parses_total",
	 "counter",
	 "Parse messages of named prepared statements received from the pool's clients "
	 "(max_prepared_statements).",
	 {PV_CLIENT_PARSES},
	 {NULL},
	 1},
	{"pool_server_parses_total",
	 "counter",
	 "Parse messages the pooler sent to the pool's servers to prepare statements there.",
	 {PV_SERVER_PARSES},
	 {NULL},
	 1},
	{"pool_binds_total",
	 "counter",
	 "Bind messages of named prepared statements received from the pool's clients.",
	 {PV_BINDS},
	 {NULL},
	 1},
	{"pool_leaks_total",
	 "counter",
	 "Checkouts flagged as suspected connection leaks (see leak_threshold).",
	 {PV_LEAKS},
	 {NULL},
	 1},
};

static void write_pool_family(struct loop *loop, FILE *out, const struct pool_family *f)
{
	struct list_node *n;
	char labels[512];

	family(out, f->name, f->type, f->help);
	list_for_each(n, &loop->pools)
	{
		const struct pool *p = container_of(n, struct pool, node);
		pool_labels(p, labels, sizeof(labels));
		for (int i = 0; i < f->n; i++) {
			fprintf(out, PREFIX "%s{%s", f->name, labels);
			if (f->states[i])
				fprintf(out, ",state=\"%s\"", f->states[i]);
			fprintf(out, "} %llu\n", (unsigned long long)pool_value(p, f->values[i]));
		}
	}
}

static void write_errors(struct loop *loop, FILE *out)
{
	struct list_node *n;
	char labels[512];

	family(out, "pool_errors_total", "counter",
	       "ErrorResponses servers sent to the pool's clients, by SQLSTATE class (?? when "
	       "unreadable or beyond the classes tracked).");
	list_for_each(n, &loop->pools)
	{
		const struct pool *p = container_of(n, struct pool, node);
		const struct stats_errors *e = &p->errors;
		pool_labels(p, labels, sizeof(labels));
		for (int i = 0; i < e->n; i++)
			fprintf(out, PREFIX "pool_errors_total{%s,class=\"%c%c\"} %llu\n", labels,
				e->cls[i][0], e->cls[i][1], (unsigned long long)e->count[i]);
		if (e->unknown)
			fprintf(out, PREFIX "pool_errors_total{%s,class=\"??\"} %llu\n", labels,
				(unsigned long long)e->unknown);
	}
}

/* One sample per pool and kind, every kind always present so that rate()
 * sees a counter from its first scrape. */
static void write_session_state(struct loop *loop, FILE *out)
{
	struct list_node *n;
	char labels[512];

	family(out, "pool_session_state_total", "counter",
	       "Statements that left session state on a server connection in transaction or "
	       "statement pool mode, by kind (set, reset, listen, prepare, advisory_lock, temp, "
	       "hold_cursor, load); a statement with two kinds counts under each.");
	list_for_each(n, &loop->pools)
	{
		const struct pool *p = container_of(n, struct pool, node);
		pool_labels(p, labels, sizeof(labels));
		for (int k = 0; k < SESSIONSTATE_KIND_COUNT; k++)
			fprintf(out, PREFIX "pool_session_state_total{%s,kind=\"%s\"} %llu\n",
				labels, sessionstate_kind_name(k),
				(unsigned long long)p->session_state_count[k]);
	}
}

static void write_max_wait(struct loop *loop, FILE *out)
{
	struct list_node *n;
	char labels[512];

	family(out, "pool_max_wait_seconds", "gauge",
	       "How long the pool's oldest waiting client has waited for a server, microsecond "
	       "resolution.");
	list_for_each(n, &loop->pools)
	{
		const struct pool *p = container_of(n, struct pool, node);
		usec_t w = pool_max_wait(p);
		fprintf(out, PREFIX "pool_max_wait_seconds{%s} %lld.%06lld\n",
			pool_labels(p, labels, sizeof(labels)), (long long)(w / USEC_PER_SEC),
			(long long)(w % USEC_PER_SEC));
	}
}

struct hist_family {
	const char *name;
	size_t offset;
	const char *help;
};

static const struct hist_family hist_families[] = {
	{"pool_query_duration_seconds", offsetof(struct pool, query_hist),
	 "Time from a client's request to the ReadyForQuery that answers it."},
	{"pool_transaction_duration_seconds", offsetof(struct pool, xact_hist),
	 "Time from the first request of a transaction to the ReadyForQuery that ends it."},
	{"pool_wait_duration_seconds", offsetof(struct pool, wait_hist),
	 "Time a client waited for a server connection (0 when one was idle)."},
	{"pool_checkout_duration_seconds", offsetof(struct pool, checkout_hist),
	 "Time a client held a server connection, from link to release."},
};

static void write_histograms(struct loop *loop, FILE *out, const struct hist_family *f)
{
	struct list_node *n;
	char labels[512];
	char name[128];

	family(out, f->name, "histogram", f->help);
	snprintf(name, sizeof(name), PREFIX "%s", f->name);
	list_for_each(n, &loop->pools)
	{
		const struct pool *p = container_of(n, struct pool, node);
		const struct histogram *h = (const struct histogram *)((const char *)p + f->offset);
		histogram_write_prometheus(h, name, pool_labels(p, labels, sizeof(labels)), out);
	}
}

void metrics_write(struct loop *loop, FILE *out)
{
	const struct config *cfg = loop->cfg;

	family(out, "up", "gauge", "1 while the pooler runs.");
	fprintf(out, PREFIX "up 1\n");
	family(out, "build_info", "gauge", "The pooler's version, as a label; the value is 1.");
	fprintf(out, PREFIX "build_info{version=\"");
	write_label_value(out, PACKAGE_VERSION);
	fprintf(out, "\"} 1\n");
	family(out, "shutting_down", "gauge", "1 while a shutdown is under way, else 0.");
	fprintf(out, PREFIX "shutting_down %d\n", loop->shutdown != SHUTDOWN_NONE);
	family(out, "client_connections", "gauge",
	       "Client connections open now, logging in or logged in (max_client_conn counts "
	       "these).");
	fprintf(out, PREFIX "client_connections %d\n", loop->client_count);
	family(out, "max_client_conn", "gauge", "The max_client_conn setting.");
	fprintf(out, PREFIX "max_client_conn %d\n", cfg->max_client_conn);

	for (size_t i = 0; i < sizeof(pool_families) / sizeof(pool_families[0]); i++)
		write_pool_family(loop, out, &pool_families[i]);
	write_session_state(loop, out);
	write_max_wait(loop, out);
	write_errors(loop, out);
	for (size_t i = 0; i < sizeof(hist_families) / sizeof(hist_families[0]); i++)
		write_histograms(loop, out, &hist_families[i]);
	alert_write_metrics(loop, out);
	paramtap_write_metrics(loop, out);
	if (loop->events) {
		family(out, "monitor_events_total", "counter",
		       "Pooler events (leaks, alerts, pool samples) queued for the store.");
		fprintf(out, PREFIX "monitor_events_total %llu\n",
			(unsigned long long)evqueue_pushed(loop->events));
		family(out, "monitor_events_dropped_total", "counter",
		       "Pooler events dropped because the monitor's queue was full.");
		fprintf(out, PREFIX "monitor_events_dropped_total %llu\n",
			(unsigned long long)evqueue_dropped(loop->events));
	}
}

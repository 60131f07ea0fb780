/* Checkout tracking and the leak rule: per-message bookkeeping on the hot
 * path (O(1), no allocation), the rule the janitor applies, and the report
 * and leak_action taken once per checkout. */
#include "leak.h"

#include <ctype.h>
#include <pg_query.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cancel.h"
#include "client.h"
#include "config.h"
#include "events.h"
#include "log.h"
#include "loop.h"
#include "params.h"
#include "pool.h"
#include "server.h"

void leak_checkout_begin(struct checkout *ck, usec_t now)
{
	memset(ck, 0, offsetof(struct checkout, stmt));
	ck->stmt[0] = '\0';
	ck->who[0] = '\0';
	ck->start = now;
	ck->quiet_since = now;
	ck->idle_since = now;
	ck->txn_status = 'I';
}

/* Copy the start of a statement text (it ends at a NUL or at the bytes
 * received so far). */
static void keep_statement(struct checkout *ck, const uint8_t *text, uint32_t avail)
{
	uint32_t n = avail < LEAK_STMT_LEN ? avail : LEAK_STMT_LEN;
	const uint8_t *nul = memchr(text, '\0', n);
	if (nul)
		n = (uint32_t)(nul - text);
	memcpy(ck->stmt, text, n);
	ck->stmt[n] = '\0';
	ck->stmt_len = (uint16_t)n;
	ck->stmt_fp = 0;
	if (!ck->listen && leak_is_listen(ck->stmt, n))
		ck->listen = true;
}

void leak_note_statement(struct checkout *ck, const char *text, uint32_t len)
{
	keep_statement(ck, (const uint8_t *)text, len);
}

static void request_starts(struct checkout *ck, usec_t now)
{
	if (ck->busy_since)
		return;
	ck->busy_since = now;
	if (ck->txn_status == 'T' || ck->txn_status == 'E')
		ck->idle_xact_time += now - ck->idle_since;
}

static void count_statement(struct checkout *ck, usec_t now)
{
	ck->statements++;
	if (!ck->xact_start) {
		ck->xact_start = now;
		ck->xact_statements = 0;
	}
	ck->xact_statements++;
}

void leak_note_request(struct checkout *ck, uint8_t type, const uint8_t *body, uint32_t avail,
		       uint32_t len, usec_t now)
{
	uint32_t blen = len >= 4 ? len - 4 : 0;

	if (avail > blen)
		avail = blen;
	switch (type) {
	case 'Q':
		keep_statement(ck, body, avail);
		request_starts(ck, now);
		count_statement(ck, now);
		break;
	case 'P': {
		/* the statement name comes first */
		const uint8_t *nul = memchr(body, '\0', avail);
		if (nul)
			keep_statement(ck, nul + 1, avail - (uint32_t)(nul + 1 - body));
		break;
	}
	case 'E':
	case 'F':
		request_starts(ck, now);
		count_statement(ck, now);
		break;
	case 'S':
		request_starts(ck, now);
		break;
	default:
		break;
	}
	ck->quiet_since = now;
}

void leak_note_ready(struct checkout *ck, char status, bool idle, usec_t now)
{
	ck->txn_status = status;
	ck->quiet_since = now;
	if (status == 'I') {
		ck->xact_start = 0;
		ck->xact_statements = 0;
	}
	if (idle && ck->busy_since) {
		ck->exec_time += now - ck->busy_since;
		ck->busy_since = 0;
		ck->idle_since = now;
	}
}

bool leak_suspected(const struct checkout *ck, const struct leak_view *v)
{
	if (v->threshold <= 0 || !ck->start || v->busy)
		return false;
	bool in_xact = ck->txn_status == 'T' || ck->txn_status == 'E';
	/* a LISTEN session waits for notifications by design */
	if (!in_xact && (!v->session_mode || ck->listen))
		return false;
	return v->now - ck->quiet_since > v->threshold;
}

usec_t leak_idle_time(const struct checkout *ck, bool busy, usec_t now)
{
	return busy || !ck->start ? 0 : now - ck->quiet_since;
}

const char *leak_state_name(const struct checkout *ck, bool busy)
{
	if (busy)
		return "active";
	switch (ck->txn_status) {
	case 'T':
		return "idle in transaction";
	case 'E':
		return "idle in transaction (aborted)";
	default:
		return "idle";
	}
}

bool leak_is_listen(const char *text, size_t len)
{
	size_t i = 0;

	while (i < len) {
		while (i < len &&
		       (isspace((unsigned char)text[i]) || text[i] == ';' || text[i] == '('))
			i++;
		if (len - i >= 6 && strncasecmp(text + i, "listen", 6) == 0 &&
		    (len - i == 6 || !(isalnum((unsigned char)text[i + 6]) || text[i + 6] == '_')))
			return true;
		/* the next statement: quotes are not tracked, a stray ';' in a
		 * literal at worst exempts a session from the session-mode rule */
		const char *semi = memchr(text + i, ';', len - i);
		if (!semi)
			break;
		i = (size_t)(semi - text);
	}
	return false;
}

void leak_scrub_literals(const char *text, char *out, size_t outlen)
{
	size_t o = 0;
	const char *p = text;

	if (outlen == 0)
		return;
	while (*p && o + 1 < outlen) {
		unsigned char c = (unsigned char)*p;
		bool word_before =
			p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '$');
		if (c == '\'') {
			/* a string, '' inside it included; unterminated: to the end */
			p++;
			while (*p) {
				if (*p == '\'' && p[1] == '\'')
					p += 2;
				else if (*p == '\'') {
					p++;
					break;
				} else
					p++;
			}
			out[o++] = '?';
		} else if (isdigit(c) && !word_before) {
			while (isalnum((unsigned char)*p) || *p == '.' || *p == '_')
				p++;
			out[o++] = '?';
		} else {
			out[o++] = (char)(isspace(c) ? ' ' : c);
			p++;
		}
	}
	out[o] = '\0';
}

void leak_normalize(const char *text, char *out, size_t outlen)
{
	PgQueryNormalizeResult res = pg_query_normalize(text);

	if (!res.error && res.normalized_query) {
		/* one log line: newlines become spaces */
		size_t o = 0;
		for (const char *p = res.normalized_query; *p && o + 1 < outlen; p++)
			out[o++] = isspace((unsigned char)*p) ? ' ' : *p;
		if (outlen)
			out[o] = '\0';
	} else {
		leak_scrub_literals(text, out, outlen);
	}
	pg_query_free_normalize_result(res);
}

bool leak_server_busy(const struct server *server)
{
	const struct client *client = server->client;
	return server->pending_rfq > 0 || server->ext_pending || server->task != TASK_NONE ||
	       server->conn.fwd_remain > 0 || (client && client->conn.fwd_remain > 0);
}

static void fmt_mono(const struct loop *loop, usec_t mono, char *buf, size_t len)
{
	usec_t wall = timeutil_wall() - (loop->now - mono);
	time_t t = (time_t)(wall / USEC_PER_SEC);
	struct tm tm;

	if (!mono || !localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm))
		snprintf(buf, len, "-");
}

static double secs(usec_t t)
{
	return (double)t / (double)USEC_PER_SEC;
}

static void report(struct loop *loop, struct server *server)
{
	struct checkout *ck = &server->checkout;
	struct client *client = server->client;
	const char *app = client->params.values[PARAM_APPLICATION_NAME];
	char started[64], stmt[512];

	snprintf(ck->who, sizeof(ck->who), "C-%llu %s/%s@%s:%d application_name=%s",
		 (unsigned long long)client->id, client->db_name ? client->db_name : "",
		 client->user_name ? client->user_name : "", client->conn.addr_str,
		 client->conn.port, app && app[0] ? app : "(none)");
	if (!log_enabled(LOG_LEVEL_WARNING))
		return;
	fmt_mono(loop, ck->xact_start, started, sizeof(started));
	if (ck->stmt[0])
		leak_normalize(ck->stmt, stmt, sizeof(stmt));
	else
		snprintf(stmt, sizeof(stmt), "(none)");
	log_write(
		LOG_LEVEL_WARNING, NULL,
		"suspected connection leak: %s holds S-%llu (backend pid %u) %s; held for %.1f s, "
		"idle for %.1f s, transaction started %s, %u statements in the transaction; "
		"last statement%s: %s",
		ck->who, (unsigned long long)server->id, server->backend_pid,
		leak_state_name(ck, false), secs(loop->now - ck->start),
		secs(loop->now - ck->quiet_since), started, ck->xact_statements,
		ck->stmt_len >= LEAK_STMT_LEN ? " (truncated)" : "", stmt);
}

/* leak_action = close: the client goes with an error, the server is
 * rolled back (an internal ROLLBACK; then the pool's reset as on any
 * release) and goes back to the pool. A server with anything in flight is
 * closed instead: it cannot be reused safely. */
static void close_leak(struct server *server)
{
	struct client *client = server->client;
	struct loop *loop = server->conn.loop;
	bool in_xact = server->txn_status != 'I';
	bool quiet = !leak_server_busy(server) && server->conn.skip_remain == 0 &&
		     conn_buffered(&server->conn) == 0 && !conn_pending(&server->conn) &&
		     conn_idle(&client->conn);
	long long threshold = (long long)(loop->cfg->leak_threshold / USEC_PER_SEC);

	conn_unlink(&client->conn);
	client->server = NULL;
	server->client = NULL;
	if (!quiet) {
		server_close(server, "suspected leak closed while data was in flight");
	} else if (in_xact) {
		leak_checkout_end(server);
		server_set_state(server, SERVER_TESTED);
		server_run_task(server, TASK_ROLLBACK, "ROLLBACK");
	} else {
		pool_release_server(server);
	}
	if (in_xact)
		client_fail(client, "25P03",
			    "terminating connection: idle in transaction for longer than "
			    "leak_threshold "
			    "(%lld s), closed as a suspected connection leak; the transaction was "
			    "rolled back",
			    threshold);
	else
		client_fail(client, "57P05",
			    "terminating connection: session idle for longer than leak_threshold "
			    "(%lld s), closed as a suspected connection leak",
			    threshold);
}

bool leak_check(struct loop *loop, struct server *server)
{
	const struct config *cfg = loop->cfg;
	struct checkout *ck = &server->checkout;

	if (!server->client || !ck->start || ck->reported || cfg->leak_threshold <= 0)
		return false;
	struct leak_view v = {
		.busy = leak_server_busy(server),
		.session_mode = server->pool->mode == POOL_MODE_SESSION,
		.now = loop->now,
		.threshold = cfg->leak_threshold,
	};
	if (!leak_suspected(ck, &v))
		return false;
	ck->reported = true;
	server->pool->leak_count++;
	report(loop, server);
	events_leak_suspected(loop, server);
	switch (cfg->leak_action) {
	case LEAK_ACTION_CANCEL:
		/* PostgreSQL ignores a cancel while its backend waits for a
		 * command: this ends only what may be running by then */
		log_write(LOG_LEVEL_WARNING, NULL,
			  "leak_action cancel: sending a cancel request for %s", ck->who);
		cancel_server(loop, server);
		return false;
	case LEAK_ACTION_CLOSE:
		close_leak(server);
		return true;
	case LEAK_ACTION_LOG:
		break;
	}
	return false;
}

void leak_checkout_end(struct server *server)
{
	struct checkout *ck = &server->checkout;

	if (!ck->start)
		return;
	if (ck->reported && log_enabled(LOG_LEVEL_WARNING))
		log_write(LOG_LEVEL_WARNING, NULL,
			  "suspected connection leak: %s returned S-%llu after %.1f s", ck->who,
			  (unsigned long long)server->id, secs(server->conn.loop->now - ck->start));
	if (ck->reported)
		events_leak_returned(server->conn.loop, server);
	ck->start = 0;
	ck->reported = false;
}

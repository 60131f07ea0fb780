/* Alert rules over pools and the pooler, their hysteresis, the list SHOW
 * ALERTS and /metrics read, and alert_command run without a shell. */
#include "alert.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "conn.h"
#include "events.h"
#include "leak.h"
#include "list.h"
#include "log.h"
#include "loop.h"
#include "params.h"
#include "pool.h"
#include "server.h"
#include "topstmt.h"

extern char **environ;

/* Active alerts plus the most recently resolved ones; fixed so that the
 * janitor never allocates for them. */
#define ALERT_RECORDS 64
#define ALERT_RESOLVED_KEPT 32
#define ALERT_TOP 5
#define ALERT_DETAIL_LEN 2048

struct alert_record {
	bool used, active;
	enum alert_kind kind;
	char database[64], user[64];
	double value, threshold;
	time_t since;
	uint64_t seq;
	char detail[ALERT_DETAIL_LEN];
};

/* A running alert_command: reaped by an ev_child watcher, fed its JSON by
 * a non-blocking pipe, killed by its timer after alert_command_timeout.
 * Freed when reaped and fed. */
struct alert_child {
	struct list_node node;
	struct alert_state *st;
	ev_child cw;
	ev_io iow;
	ev_timer tw;
	pid_t pid;
	bool killed;
	int fd; /* write end of the child's stdin, -1 when done */
	bool reaped;
	size_t len, off;
	char *json;
};

struct alert_state {
	struct loop *loop;
	struct alert_record rec[ALERT_RECORDS];
	uint64_t seq;
	struct alert_hyst conn_hyst;
	struct list children;
	int running; /* children not reaped yet (alert_command_max) */
	uint64_t dropped; /* alerts whose command was not run: too many running */
	uint64_t killed; /* commands killed by alert_command_timeout */
};

static const char *const kind_names[ALERT_KINDS] = {
	"waiting_clients", "max_wait", "pool_utilization", "leaks", "client_conn",
};

const char *alert_kind_name(enum alert_kind kind)
{
	return kind >= 0 && kind < ALERT_KINDS ? kind_names[kind] : "unknown";
}

enum alert_change alert_step(struct alert_hyst *h, bool cond, usec_t now, usec_t fire_after,
			     usec_t resolve_after)
{
	if (cond) {
		h->false_since = 0;
		if (!h->true_since)
			h->true_since = now;
		if (!h->firing && now - h->true_since >= fire_after) {
			h->firing = true;
			return ALERT_FIRED;
		}
	} else {
		h->true_since = 0;
		if (!h->false_since)
			h->false_since = now;
		if (h->firing && now - h->false_since >= resolve_after) {
			h->firing = false;
			return ALERT_RESOLVED;
		}
	}
	return ALERT_UNCHANGED;
}

int alert_start(struct loop *loop)
{
	struct alert_state *st = calloc(1, sizeof(*st));
	if (!st)
		return -1;
	st->loop = loop;
	list_init(&st->children);
	loop->alerts = st;
	return 0;
}

static void child_free(struct alert_child *ch)
{
	struct ev_loop *ev = ch->st->loop->ev;
	ev_child_stop(ev, &ch->cw);
	ev_io_stop(ev, &ch->iow);
	ev_timer_stop(ev, &ch->tw);
	if (!ch->reaped)
		ch->st->running--;
	if (ch->fd >= 0)
		close(ch->fd);
	list_remove(&ch->st->children, &ch->node);
	free(ch->json);
	free(ch);
}

void alert_stop(struct loop *loop)
{
	struct alert_state *st = loop->alerts;
	struct list_node *n, *t;

	if (!st)
		return;
	list_for_each_safe(n, t, &st->children)
		child_free(container_of(n, struct alert_child, node));
	free(st);
	loop->alerts = NULL;
}

/* --- who holds the pool -----------------------------------------------------
 */

/* Appends to BUF (SIZE bytes, NUL-terminated) without overflowing. */
static void append(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strnlen(buf, size);
	if (len + 1 >= size)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/* The top clients by hold time (current checkouts) and the top statements
 * by server time in the window (topstmt.c): report time only,
 * O(servers + TOPSTMT_SLOTS^2). */
static void describe_holders(const struct pool *pool, usec_t now, char *buf, size_t size)
{
	const struct server *top[ALERT_TOP];
	int ntop = 0;
	struct list_node *n;

	list_for_each(n, &pool->active_servers)
	{
		const struct server *sv = container_of(n, struct server, node);
		const struct checkout *ck = &sv->checkout;
		if (!sv->client || !ck->start)
			continue;
		/* insertion into the top list, longest hold first */
		int i = ntop < ALERT_TOP ? ntop++ : ALERT_TOP;
		while (i > 0 && top[i - 1]->checkout.start > ck->start) {
			if (i < ALERT_TOP)
				top[i] = top[i - 1];
			i--;
		}
		if (i < ALERT_TOP)
			top[i] = sv;
	}
	buf[0] = '\0';
	append(buf, size, "top holders:");
	if (!ntop)
		append(buf, size, " none");
	for (int i = 0; i < ntop; i++) {
		const struct server *sv = top[i];
		const struct client *c = sv->client;
		const char *app = c->params.values[PARAM_APPLICATION_NAME];
		append(buf, size, "%s %s:%d application_name=%s held %.3f s last statement: %.80s",
		       i ? ";" : "", c->conn.addr_str, c->conn.port, app ? app : "",
		       (double)(now - sv->checkout.start) / USEC_PER_SEC, sv->checkout.stmt);
	}

	struct topstmt_entry stmts[ALERT_TOP];
	uint64_t other_us;
	usec_t span;
	int nstmts = topstmt_top(&pool->topstmt, now, stmts, ALERT_TOP, &other_us, &span);
	append(buf, size,
	       " | top statements by server time in the last %.0f s:", (double)span / USEC_PER_SEC);
	if (!nstmts)
		append(buf, size, " none");
	for (int k = 0; k < nstmts; k++)
		append(buf, size, "%s %.3f s in %llu: %.80s", k ? ";" : "",
		       (double)stmts[k].time_us / USEC_PER_SEC, (unsigned long long)stmts[k].calls,
		       stmts[k].text);
	if (other_us)
		append(buf, size, "; %.3f s of statements whose text was not seen",
		       (double)other_us / USEC_PER_SEC);
}

/* --- alert_command -----------------------------------------------------------
 */

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static char *alert_json(const struct alert_record *r, const char *state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	fputs("{\"alert\":", f);
	json_string(f, alert_kind_name(r->kind));
	fputs(",\"state\":", f);
	json_string(f, state);
	fputs(",\"database\":", f);
	json_string(f, r->database);
	fputs(",\"user\":", f);
	json_string(f, r->user);
	fprintf(f, ",\"value\":%g,\"threshold\":%g,\"since\":%lld,\"detail\":", r->value,
		r->threshold, (long long)r->since);
	json_string(f, r->detail);
	fputs("}\n", f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static void child_maybe_free(struct alert_child *ch)
{
	if (ch->reaped && ch->fd < 0)
		child_free(ch);
}

static void child_stdin_done(struct alert_child *ch)
{
	ev_io_stop(ch->st->loop->ev, &ch->iow);
	close(ch->fd);
	ch->fd = -1;
}

static void child_write(struct alert_child *ch)
{
	while (ch->off < ch->len) {
		ssize_t w = write(ch->fd, ch->json + ch->off, ch->len - ch->off);
		if (w > 0) {
			ch->off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_io_start(ch->st->loop->ev, &ch->iow);
			return;
		}
		/* EPIPE: the command did not read its input; not an error of ours */
		break;
	}
	child_stdin_done(ch);
}

static void on_child_writable(struct ev_loop *ev, ev_io *w, int revents)
{
	struct alert_child *ch = container_of(w, struct alert_child, iow);
	child_write(ch);
	child_maybe_free(ch);
}

static void on_child_exit(struct ev_loop *ev, ev_child *w, int revents)
{
	struct alert_child *ch = container_of(w, struct alert_child, cw);
	int status = w->rstatus;

	ev_child_stop(ev, w);
	ev_timer_stop(ev, &ch->tw);
	ch->st->running--;
	if (ch->killed) /* logged when killed */
		status = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warning("alert_command (pid %d) exited with status %d", w->rpid,
			    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warning("alert_command (pid %d) killed by signal %d", w->rpid,
			    WTERMSIG(status));
	ch->reaped = true;
	child_maybe_free(ch);
}

/* alert_command_timeout: the whole process group, so that a script's own
 * children (a hung curl) go too. Reaped by on_child_exit as usual. */
static void on_child_timeout(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct alert_child *ch = container_of(w, struct alert_child, tw);

	ev_timer_stop(ev, w);
	if (ch->reaped)
		return;
	log_warning("alert_command (pid %d) still running after %lld s "
		    "(alert_command_timeout): killed",
		    (int)ch->pid,
		    (long long)(ch->st->loop->cfg->alert_command_timeout / USEC_PER_SEC));
	if (kill(-ch->pid, SIGKILL) < 0 && kill(ch->pid, SIGKILL) < 0)
		log_warning("alert_command (pid %d): cannot kill: %s", (int)ch->pid,
			    strerror(errno));
	ch->killed = true;
	ch->st->killed++;
}

static void run_command(struct alert_state *st, const struct alert_record *r, const char *state)
{
	const struct config *cfg = st->loop->cfg;
	const char *command = cfg->alert_command;
	char *argv[32], *envp_extra[8], *words = NULL, **envp = NULL;
	int argc = 0, nextra = 0, pipefd[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	bool fa_ok = false, attr_ok = false, spawn_logged = false;
	struct alert_child *ch = NULL;
	pid_t pid;

	if (!command || !command[0])
		return;
	if (st->running >= cfg->alert_command_max) {
		/* never queued: a hung command must not pile up work or processes */
		st->dropped++;
		log_warning("alert_command not run for alert %s %s on %s/%s: %d still running "
			    "(alert_command_max)",
			    alert_kind_name(r->kind), state, r->database, r->user, st->running);
		return;
	}
	memset(envp_extra, 0, sizeof(envp_extra));
	words = strdup(command);
	ch = calloc(1, sizeof(*ch));
	if (!words || !ch)
		goto fail;
	for (char *save = NULL, *w = strtok_r(words, " \t", &save); w && argc < 31;
	     w = strtok_r(NULL, " \t", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	if (!argc)
		goto fail;
	char value[64], threshold[64];
	snprintf(value, sizeof(value), "%g", r->value);
	snprintf(threshold, sizeof(threshold), "%g", r->threshold);
	const char *vars[][2] = {
		{"PGLIFEGUARD_ALERT", alert_kind_name(r->kind)},
		{"PGLIFEGUARD_ALERT_STATE", state},
		{"PGLIFEGUARD_DATABASE", r->database},
		{"PGLIFEGUARD_USER", r->user},
		{"PGLIFEGUARD_VALUE", value},
		{"PGLIFEGUARD_THRESHOLD", threshold},
		{"PGLIFEGUARD_DETAIL", r->detail},
	};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (asprintf(&envp_extra[nextra], "%s=%s", vars[i][0], vars[i][1]) < 0) {
			envp_extra[nextra] = NULL;
			goto fail;
		}
		nextra++;
	}
	size_t nenv = 0;
	while (environ[nenv])
		nenv++;
	envp = calloc(nenv + (size_t)nextra + 1, sizeof(*envp));
	if (!envp)
		goto fail;
	size_t k = 0;
	for (size_t i = 0; i < nenv; i++)
		if (strncmp(environ[i], "PGLIFEGUARD_", 12) != 0)
			envp[k++] = environ[i];
	for (int i = 0; i < nextra; i++)
		envp[k++] = envp_extra[i];
	envp[k] = NULL;

	ch->json = alert_json(r, state);
	if (!ch->json)
		goto fail;
	ch->len = strlen(ch->json);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		goto fail;
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto fail;
	fa_ok = true;
	if (posix_spawn_file_actions_adddup2(&fa, pipefd[0], 0) != 0)
		goto fail;
	if (posix_spawnattr_init(&attr) != 0)
		goto fail;
	attr_ok = true;
	if (posix_spawnattr_setpgroup(&attr, 0) != 0 ||
	    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP) != 0)
		goto fail;
	int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp);
	if (rc != 0) {
		log_warning("alert_command %s: cannot run: %s", argv[0], strerror(rc));
		spawn_logged = true;
		goto fail;
	}
	close(pipefd[0]);
	pipefd[0] = -1;
	ch->fd = pipefd[1];
	pipefd[1] = -1;
	if (fcntl(ch->fd, F_SETFL, fcntl(ch->fd, F_GETFL) | O_NONBLOCK) < 0)
		log_warning("alert_command: cannot make its stdin non-blocking: %s",
			    strerror(errno));
	ch->st = st;
	ch->pid = pid;
	list_append(&st->children, &ch->node);
	st->running++;
	ev_child_init(&ch->cw, on_child_exit, pid, 0);
	ev_child_start(st->loop->ev, &ch->cw);
	ev_timer_init(&ch->tw, on_child_timeout, (double)cfg->alert_command_timeout / USEC_PER_SEC,
		      0.);
	if (cfg->alert_command_timeout > 0)
		ev_timer_start(st->loop->ev, &ch->tw);
	ev_io_init(&ch->iow, on_child_writable, ch->fd, EV_WRITE);
	log_debug("alert_command %s started, pid %d", argv[0], (int)pid);
	child_write(ch);
	ch = NULL;
	goto done;
fail:
	if (ch) {
		if (!spawn_logged)
			log_warning("alert_command: cannot run \"%s\": %s", command,
				    argc ? strerror(errno) : "empty command");
		free(ch->json);
		free(ch);
	}
done:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_ok)
		posix_spawnattr_destroy(&attr);
	for (int i = 0; i < 2; i++)
		if (pipefd[i] >= 0)
			close(pipefd[i]);
	for (int i = 0; i < nextra; i++)
		free(envp_extra[i]);
	free(envp);
	free(words);
}

/* --- the list ---------------------------------------------------------------
 */

static struct alert_record *find_active(struct alert_state *st, enum alert_kind kind,
					const char *db, const char *user)
{
	for (int i = 0; i < ALERT_RECORDS; i++) {
		struct alert_record *r = &st->rec[i];
		if (r->used && r->active && r->kind == kind && strcmp(r->database, db) == 0 &&
		    strcmp(r->user, user) == 0)
			return r;
	}
	return NULL;
}

/* A free slot, else the oldest resolved record's; NULL when every slot
 * holds an active alert. Resolved records beyond ALERT_RESOLVED_KEPT go. */
static struct alert_record *new_record(struct alert_state *st)
{
	struct alert_record *oldest = NULL;
	int resolved = 0;
	for (int i = 0; i < ALERT_RECORDS; i++) {
		struct alert_record *r = &st->rec[i];
		if (!r->used)
			return r;
		if (!r->active) {
			resolved++;
			if (!oldest || r->seq < oldest->seq)
				oldest = r;
		}
	}
	return resolved > 0 ? oldest : NULL;
}

static void trim_resolved(struct alert_state *st)
{
	for (;;) {
		struct alert_record *oldest = NULL;
		int resolved = 0;
		for (int i = 0; i < ALERT_RECORDS; i++) {
			struct alert_record *r = &st->rec[i];
			if (r->used && !r->active) {
				resolved++;
				if (!oldest || r->seq < oldest->seq)
					oldest = r;
			}
		}
		if (resolved <= ALERT_RESOLVED_KEPT)
			return;
		oldest->used = false;
	}
}

static void fire(struct alert_state *st, enum alert_kind kind, const struct pool *pool,
		 double value, double threshold)
{
	const char *db = pool ? pool->db->name : "";
	const char *user = pool ? pool->user->name : "";
	struct alert_record *r = new_record(st);

	if (!r) {
		log_warning("alert %s firing for %s/%s: value %g, threshold %g (alert list full)",
			    alert_kind_name(kind), db, user, value, threshold);
		events_alert(st->loop, alert_kind_name(kind), db, user, value, threshold, NULL,
			     true);
		return;
	}
	memset(r, 0, sizeof(*r));
	r->used = r->active = true;
	r->kind = kind;
	snprintf(r->database, sizeof(r->database), "%s", db);
	snprintf(r->user, sizeof(r->user), "%s", user);
	r->value = value;
	r->threshold = threshold;
	r->since = time(NULL);
	r->seq = ++st->seq;
	if (pool && kind != ALERT_LEAKS)
		describe_holders(pool, st->loop->now, r->detail, sizeof(r->detail));
	else if (pool)
		snprintf(r->detail, sizeof(r->detail), "%llu suspected leaks flagged since startup",
			 (unsigned long long)pool->leak_count);
	else
		snprintf(r->detail, sizeof(r->detail),
			 "%d of max_client_conn %d client connections", st->loop->client_count,
			 st->loop->cfg->max_client_conn);
	log_warning("alert %s firing for %s/%s: value %g, threshold %g; %s", alert_kind_name(kind),
		    db, user, value, threshold, r->detail);
	events_alert(st->loop, alert_kind_name(kind), db, user, value, threshold, r->detail, true);
	run_command(st, r, "firing");
}

static void resolve(struct alert_state *st, enum alert_kind kind, const char *db, const char *user,
		    double value)
{
	struct alert_record *r = find_active(st, kind, db, user);
	if (!r)
		return;
	r->active = false;
	r->value = value;
	r->since = time(NULL);
	r->seq = ++st->seq;
	log_info("alert %s resolved for %s/%s: value %g, threshold %g", alert_kind_name(kind), db,
		 user, value, r->threshold);
	events_alert(st->loop, alert_kind_name(kind), db, user, value, r->threshold, r->detail,
		     false);
	run_command(st, r, "resolved");
	trim_resolved(st);
}

/* --- rules ------------------------------------------------------------------
 */

static void rule(struct alert_state *st, struct alert_hyst *h, enum alert_kind kind,
		 const struct pool *pool, bool enabled, bool cond, double value, double threshold,
		 usec_t fire_after, usec_t resolve_after)
{
	if (!enabled)
		cond = false; /* a rule turned off resolves at once */
	switch (alert_step(h, cond, st->loop->now, fire_after, enabled ? resolve_after : 0)) {
	case ALERT_FIRED:
		fire(st, kind, pool, value, threshold);
		break;
	case ALERT_RESOLVED:
		resolve(st, kind, pool ? pool->db->name : "", pool ? pool->user->name : "", value);
		break;
	case ALERT_UNCHANGED:
		break;
	}
}

static void evaluate_pool(struct alert_state *st, struct pool *pool)
{
	const struct config *cfg = st->loop->cfg;
	usec_t now = st->loop->now, hold = cfg->alert_for_seconds;
	struct alert_pool *ap = &pool->alert;
	struct list_node *n;
	usec_t max_wait = 0;
	int long_waiters = 0;

	list_for_each(n, &pool->waiting_clients)
	{
		const struct client *c = container_of(n, struct client, node);
		if (!c->wait_start)
			continue;
		usec_t w = now - c->wait_start;
		if (w > max_wait)
			max_wait = w;
		if (cfg->alert_wait_seconds > 0 && w > cfg->alert_wait_seconds)
			long_waiters++;
		else
			break; /* FIFO: the rest waited less */
	}
	rule(st, &ap->hyst[ALERT_WAITING_CLIENTS], ALERT_WAITING_CLIENTS, pool,
	     cfg->alert_wait_seconds > 0, long_waiters > 0, long_waiters,
	     (double)cfg->alert_wait_seconds / USEC_PER_SEC, hold, hold);
	rule(st, &ap->hyst[ALERT_MAX_WAIT], ALERT_MAX_WAIT, pool, cfg->alert_max_wait_ms > 0,
	     max_wait > (usec_t)cfg->alert_max_wait_ms * 1000, (double)max_wait / 1000,
	     cfg->alert_max_wait_ms, hold, hold);

	int size = pool_size_limit(pool, true), active = 0;
	list_for_each(n, &pool->active_servers) active++;
	double util = size > 0 ? 100.0 * active / size : 0;
	rule(st, &ap->hyst[ALERT_POOL_UTILIZATION], ALERT_POOL_UTILIZATION, pool,
	     cfg->alert_pool_utilization > 0 && size > 0, util > cfg->alert_pool_utilization, util,
	     cfg->alert_pool_utilization, hold, hold);

	if (pool->leak_count != ap->leaks_seen) {
		ap->leaks_seen = pool->leak_count;
		ap->last_leak = now;
	}
	rule(st, &ap->hyst[ALERT_LEAKS], ALERT_LEAKS, pool, cfg->alert_leaks,
	     ap->last_leak && now - ap->last_leak < (hold > 0 ? hold : 1), (double)pool->leak_count,
	     1, 0, 0);
}

void alert_evaluate(struct loop *loop)
{
	struct alert_state *st = loop->alerts;
	const struct config *cfg = loop->cfg;
	struct list_node *n;

	if (!st)
		return;
	list_for_each(n, &loop->pools) evaluate_pool(st, container_of(n, struct pool, node));
	double pct =
		cfg->max_client_conn > 0 ? 100.0 * loop->client_count / cfg->max_client_conn : 0;
	rule(st, &st->conn_hyst, ALERT_CLIENT_CONN, NULL, cfg->alert_client_conn_percent > 0,
	     pct > cfg->alert_client_conn_percent, pct, cfg->alert_client_conn_percent,
	     cfg->alert_for_seconds, cfg->alert_for_seconds);
}

void alert_pool_gone(struct loop *loop, const struct pool *pool)
{
	struct alert_state *st = loop->alerts;
	if (!st)
		return;
	for (int k = 0; k < ALERT_POOL_KINDS; k++)
		if (pool->alert.hyst[k].firing)
			resolve(st, (enum alert_kind)k, pool->db->name, pool->user->name, 0);
}

/* --- readers ----------------------------------------------------------------
 */

static bool is_latest(const struct alert_state *st, const struct alert_record *r)
{
	for (int i = 0; i < ALERT_RECORDS; i++) {
		const struct alert_record *o = &st->rec[i];
		if (o->used && o != r && o->kind == r->kind && o->seq > r->seq &&
		    strcmp(o->database, r->database) == 0 && strcmp(o->user, r->user) == 0)
			return false;
	}
	return true;
}

void alert_foreach(struct loop *loop, void (*fn)(void *arg, const struct alert_row *row), void *arg)
{
	struct alert_state *st = loop->alerts;
	if (!st)
		return;
	/* active first, then resolved, each oldest first */
	for (int pass = 0; pass < 2; pass++) {
		uint64_t last = 0;
		for (;;) {
			const struct alert_record *next = NULL;
			for (int i = 0; i < ALERT_RECORDS; i++) {
				const struct alert_record *r = &st->rec[i];
				if (r->used && r->active == (pass == 0) && r->seq > last &&
				    (!next || r->seq < next->seq))
					next = r;
			}
			if (!next)
				break;
			last = next->seq;
			struct alert_row row = {
				.alert = alert_kind_name(next->kind),
				.database = next->database,
				.user = next->user,
				.state = next->active ? "firing" : "resolved",
				.detail = next->detail,
				.value = next->value,
				.threshold = next->threshold,
				.since = next->since,
				.active = next->active,
				.latest = is_latest(st, next),
			};
			fn(arg, &row);
		}
	}
}

static void write_label(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void write_metric(void *arg, const struct alert_row *row)
{
	FILE *out = arg;
	if (!row->latest)
		return;
	fputs("pglifeguard_alert_active{alert=\"", out);
	write_label(out, row->alert);
	fputs("\",database=\"", out);
	write_label(out, row->database);
	fputs("\",user=\"", out);
	write_label(out, row->user);
	fprintf(out, "\"} %d\n", row->active ? 1 : 0);
}

void alert_write_metrics(struct loop *loop, FILE *out)
{
	fputs("# HELP pglifeguard_alert_active 1 while the alert fires, 0 once it "
	      "resolved.\n"
	      "# TYPE pglifeguard_alert_active gauge\n",
	      out);
	alert_foreach(loop, write_metric, out);
	if (!loop->alerts)
		return;
	fprintf(out,
		"# HELP pglifeguard_alert_commands_dropped_total Alerts whose alert_command was "
		"not run because alert_command_max commands were still running.\n"
		"# TYPE pglifeguard_alert_commands_dropped_total counter\n"
		"pglifeguard_alert_commands_dropped_total %llu\n"
		"# HELP pglifeguard_alert_commands_killed_total alert_command runs killed after "
		"alert_command_timeout.\n"
		"# TYPE pglifeguard_alert_commands_killed_total counter\n"
		"pglifeguard_alert_commands_killed_total %llu\n",
		(unsigned long long)loop->alerts->dropped,
		(unsigned long long)loop->alerts->killed);
}

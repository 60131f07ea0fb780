/* Listening sockets: TCP for every listen_addr and one unix socket, with
 * a pause when accept() runs out of file descriptors. */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "log.h"
#include "loop.h"

/* How many connections one readiness event accepts at most. */
#define ACCEPT_BATCH 64

static void on_accept(struct ev_loop *ev, ev_io *w, int revents)
{
	struct listener *l = container_of(w, struct listener, io);
	struct loop *loop = l->loop;

	loop->now = timeutil_now();
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			client_accept(loop, fd, l->is_unix);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
		    errno == ECONNABORTED)
			return;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			log_warning("accept() on %s failed: %s; pausing accepts for 1 s", l->desc,
				    strerror(errno));
			ev_io_stop(ev, &l->io);
			ev_timer_set(&l->backoff, 1.0, 0.);
			ev_timer_start(ev, &l->backoff);
			return;
		}
		log_warning("accept() on %s failed: %s", l->desc, strerror(errno));
		return;
	}
}

static void on_backoff(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct listener *l = container_of(w, struct listener, backoff);
	if (l->loop->shutdown == SHUTDOWN_NONE && !l->loop->suspended)
		ev_io_start(ev, &l->io);
}

static struct listener *listener_add(struct loop *loop, int fd, bool is_unix, const char *desc)
{
	struct listener *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->loop = loop;
	l->fd = fd;
	l->is_unix = is_unix;
	snprintf(l->desc, sizeof(l->desc), "%s", desc);
	ev_io_init(&l->io, on_accept, fd, EV_READ);
	ev_timer_init(&l->backoff, on_backoff, 1.0, 0.);
	ev_io_start(loop->ev, &l->io);
	list_append(&loop->listeners, &l->node);
	return l;
}

static int bind_tcp(struct loop *loop, const char *host)
{
	const struct config *cfg = loop->cfg;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res, *ai;
	char port[16];
	int bound = 0;

	snprintf(port, sizeof(port), "%d", cfg->listen_port);
	int rc = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, port, &hints, &res);
	if (rc != 0) {
		log_error("cannot resolve listen_addr %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		char desc[128], addr[64] = "?";
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (cfg->so_reuseport)
			setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0,
			    NI_NUMERICHOST);
		snprintf(desc, sizeof(desc), "%s%s%s:%d", ai->ai_family == AF_INET6 ? "[" : "",
			 addr, ai->ai_family == AF_INET6 ? "]" : "", cfg->listen_port);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
		    listen(fd, cfg->listen_backlog) < 0) {
			log_error("cannot listen on %s: %s", desc, strerror(errno));
			close(fd);
			freeaddrinfo(res);
			return -1;
		}
		if (!listener_add(loop, fd, false, desc)) {
			close(fd);
			freeaddrinfo(res);
			return -1;
		}
		bound++;
	}
	freeaddrinfo(res);
	return bound > 0 ? 0 : -1;
}

static int bind_unix(struct loop *loop)
{
	const struct config *cfg = loop->cfg;
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	int n = snprintf(un.sun_path, sizeof(un.sun_path), "%s/.s.PGSQL.%d", cfg->unix_socket_dir,
			 cfg->listen_port);
	if (n < 0 || (size_t)n >= sizeof(un.sun_path)) {
		log_error("unix socket path too long: %s", cfg->unix_socket_dir);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_error("socket(AF_UNIX): %s", strerror(errno));
		return -1;
	}
	/* a socket file left by a crashed process: remove it if nobody answers */
	if (connect(fd, (struct sockaddr *)&un, sizeof(un)) == 0) {
		log_error("another process is listening on %s", un.sun_path);
		close(fd);
		return -1;
	}
	close(fd);
	unlink(un.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0 ||
	    chmod(un.sun_path, (mode_t)cfg->unix_socket_mode) < 0 ||
	    listen(fd, cfg->listen_backlog) < 0) {
		log_error("cannot listen on %s: %s", un.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct listener *l = listener_add(loop, fd, true, un.sun_path);
	if (!l) {
		close(fd);
		return -1;
	}
	snprintf(l->path, sizeof(l->path), "%s", un.sun_path);
	return 0;
}

int listener_start_all(struct loop *loop)
{
	const struct config *cfg = loop->cfg;

	if (cfg->listen_addr && cfg->listen_addr[0]) {
		char *list = strdup(cfg->listen_addr), *save = NULL;
		if (!list)
			return -1;
		for (char *tok = strtok_r(list, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			while (*tok == ' ' || *tok == '\t')
				tok++;
			char *end = tok + strlen(tok);
			while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
				*--end = '\0';
			if (!*tok)
				continue;
			if (bind_tcp(loop, tok) < 0) {
				free(list);
				return -1;
			}
		}
		free(list);
	}
	if (cfg->unix_socket_dir && cfg->unix_socket_dir[0] && bind_unix(loop) < 0)
		return -1;
	if (list_empty(&loop->listeners)) {
		log_error("nothing to listen on: set listen_addr or unix_socket_dir");
		return -1;
	}
	return 0;
}

void listener_log_all(struct loop *loop)
{
	struct list_node *n;
	list_for_each(n, &loop->listeners)
		log_info("listening on %s", container_of(n, struct listener, node)->desc);
}

void listener_set_accepting(struct loop *loop, bool on)
{
	struct list_node *n;
	list_for_each(n, &loop->listeners)
	{
		struct listener *l = container_of(n, struct listener, node);
		if (on && loop->shutdown == SHUTDOWN_NONE && !ev_is_active(&l->backoff))
			ev_io_start(loop->ev, &l->io);
		else if (!on)
			ev_io_stop(loop->ev, &l->io);
	}
}

void listener_stop_all(struct loop *loop, bool close_sockets)
{
	struct list_node *n, *t;
	list_for_each_safe(n, t, &loop->listeners)
	{
		struct listener *l = container_of(n, struct listener, node);
		ev_io_stop(loop->ev, &l->io);
		ev_timer_stop(loop->ev, &l->backoff);
		if (!close_sockets)
			continue;
		close(l->fd);
		if (l->path[0])
			unlink(l->path);
		list_remove(&loop->listeners, &l->node);
		free(l);
	}
}

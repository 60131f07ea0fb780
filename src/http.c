/* The metrics_listen HTTP server: accept, read one request (at most
 * HTTP_REQUEST_MAX bytes), build the whole response in memory, write it
 * as the socket takes it, close. Every socket is non-blocking and driven
 * by ev_io watchers of the pooler loop; an idle timer bounds slow peers. */
#include "http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_internal.h"
#include "list.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"

/* Seconds a connection may take to send its request and read the answer. */
#define HTTP_IDLE_TIMEOUT 10.0
/* Seconds to wait for the peer to close once the answer is written. */
#define HTTP_LINGER_TIMEOUT 2.0
/* Bytes read and dropped after the answer before closing anyway. */
#define HTTP_DRAIN_MAX (64 * 1024)
/* Connections served at once; more are closed at accept. */
#define HTTP_MAX_CONNS 64
#define ACCEPT_BATCH 16

struct http_server {
	struct loop *loop;
	int fd;
	ev_io io;
	struct list conns;
	char desc[96];
};

struct http_conn {
	struct list_node node; /* http_server.conns */
	struct http_server *srv;
	int fd;
	ev_io io; /* EV_READ while reading the request, then EV_WRITE */
	ev_timer timer;
	size_t len; /* bytes of req received */
	char *resp; /* the whole response; owned */
	size_t resp_len, resp_off;
	size_t drained; /* bytes read and dropped after the answer */
	char req[HTTP_REQUEST_MAX];
};

/* --- the request parser ------------------------------------------------- */

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the line starting at P (before its CR LF or LF), or NULL. */
static const char *line_end(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl)
		return NULL;
	*next = nl + 1;
	return nl > p && nl[-1] == '\r' ? nl - 1 : nl;
}

enum http_parse http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	const char *end = buf + len, *p = buf, *eol, *next;

	memset(req, 0, sizeof(*req));
	if (memchr(buf, '\0', len))
		return HTTP_PARSE_BAD;
	/* wait for the blank line that ends the header block */
	const char *scan = buf;
	bool complete = false;
	while ((eol = line_end(scan, end, &next))) {
		if (eol == scan) {
			complete = true;
			break;
		}
		scan = next;
	}
	if (!complete)
		return HTTP_PARSE_MORE;

	/* request line: METHOD SP TARGET SP HTTP/1.x */
	eol = line_end(p, end, &next);
	const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
	if (!sp1 || sp1 == p)
		return HTTP_PARSE_BAD;
	for (const char *q = p; q < sp1; q++)
		if (!is_tchar((unsigned char)*q))
			return HTTP_PARSE_BAD;
	const char *target = sp1 + 1;
	const char *sp2 = memchr(target, ' ', (size_t)(eol - target));
	if (!sp2 || sp2 == target || *target != '/')
		return HTTP_PARSE_BAD;
	for (const char *q = target; q < sp2; q++)
		if ((unsigned char)*q <= ' ' || *q == 0x7f)
			return HTTP_PARSE_BAD;
	const char *version = sp2 + 1;
	size_t vlen = (size_t)(eol - version);
	if (vlen != 8 || memcmp(version, "HTTP/1.", 7) != 0 ||
	    (version[7] != '0' && version[7] != '1'))
		return HTTP_PARSE_BAD;
	req->method = p;
	req->method_len = (size_t)(sp1 - p);
	req->path = target;
	const char *query = memchr(target, '?', (size_t)(sp2 - target));
	req->path_len = (size_t)((query ? query : sp2) - target);
	req->minor = version[7] - '0';

	/* header lines: NAME ":" value; contents are not needed */
	for (p = next; (eol = line_end(p, end, &next)) && eol != p; p = next) {
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p)
			return HTTP_PARSE_BAD;
		for (const char *q = p; q < colon; q++)
			if (!is_tchar((unsigned char)*q))
				return HTTP_PARSE_BAD;
	}
	return HTTP_PARSE_OK;
}

/* --- connections -------------------------------------------------------- */

/* Its watchers are stopped first, so freeing it from its own callback is
 * safe: nothing else points at an http_conn. */
static void conn_free(struct http_conn *hc)
{
	struct ev_loop *ev = hc->srv->loop->ev;
	ev_io_stop(ev, &hc->io);
	ev_timer_stop(ev, &hc->timer);
	list_remove(&hc->srv->conns, &hc->node);
	close(hc->fd);
	free(hc->resp);
	free(hc);
}

static void on_write(struct ev_loop *ev, ev_io *w, int revents);

/* Queue the response: status line, headers, then the LEN bytes of BODY
 * (only their length for HEAD). */
static void respond(struct http_conn *hc, int status, const char *reason, const char *content_type,
		    const char *body, size_t len, bool head, const char *extra_header)
{
	struct ev_loop *ev = hc->srv->loop->ev;
	size_t size = 0;
	FILE *f = open_memstream(&hc->resp, &size);
	if (!f) {
		conn_free(hc);
		return;
	}
	fprintf(f,
		"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		"Cache-Control: no-store\r\nConnection: close\r\n\r\n",
		status, reason, content_type, len, extra_header ? extra_header : "");
	if (!head && len)
		fwrite(body, 1, len, f);
	if (fclose(f) != 0 || !hc->resp) {
		conn_free(hc);
		return;
	}
	hc->resp_len = size;
	hc->resp_off = 0;
	ev_io_stop(ev, &hc->io);
	ev_io_init(&hc->io, on_write, hc->fd, EV_WRITE);
	ev_io_start(ev, &hc->io);
	/* most answers fit the socket buffer: try now */
	on_write(ev, &hc->io, EV_WRITE);
}

static void respond_text(struct http_conn *hc, int status, const char *reason, const char *text,
			 bool head, const char *extra_header)
{
	respond(hc, status, reason, "text/plain; charset=utf-8", text, strlen(text), head,
		extra_header);
}

static void serve_metrics(struct http_conn *hc, bool head)
{
	char *body = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);
	if (!f) {
		respond_text(hc, 500, "Internal Server Error", "out of memory\n", head, NULL);
		return;
	}
	metrics_write(hc->srv->loop, f);
	if (fclose(f) != 0 || !body) {
		free(body);
		respond_text(hc, 500, "Internal Server Error", "out of memory\n", head, NULL);
		return;
	}
	respond(hc, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, len, head, NULL);
	free(body);
}

static bool path_is(const struct http_request *req, const char *path)
{
	return req->path_len == strlen(path) && memcmp(req->path, path, req->path_len) == 0;
}

/* Answers the request in hc->req once it is complete, or once it cannot
 * be (too large, or EOF came first); else waits for more. */
static void handle_request(struct http_conn *hc, bool eof)
{
	struct http_request req;
	enum http_parse rc = http_parse_request(hc->req, hc->len, &req);

	if (rc == HTTP_PARSE_MORE) {
		if (eof) {
			/* the peer stopped sending before the request ended */
			if (hc->len == 0)
				conn_free(hc);
			else
				respond_text(hc, 400, "Bad Request", "incomplete request\n", false,
					     NULL);
			return;
		}
		if (hc->len < sizeof(hc->req))
			return;
		respond_text(hc, 431, "Request Header Fields Too Large", "request too large\n",
			     false, NULL);
		return;
	}
	if (rc == HTTP_PARSE_BAD) {
		respond_text(hc, 400, "Bad Request", "bad request\n", false, NULL);
		return;
	}
	bool get = req.method_len == 3 && memcmp(req.method, "GET", 3) == 0;
	bool head = req.method_len == 4 && memcmp(req.method, "HEAD", 4) == 0;
	if (!path_is(&req, "/metrics") && !path_is(&req, "/health")) {
		respond_text(hc, 404, "Not Found", "not found: try /metrics or /health\n", head,
			     NULL);
		return;
	}
	if (!get && !head) {
		respond_text(hc, 405, "Method Not Allowed", "method not allowed\n", false,
			     "Allow: GET, HEAD\r\n");
		return;
	}
	if (path_is(&req, "/health")) {
		if (hc->srv->loop->shutdown != SHUTDOWN_NONE)
			respond_text(hc, 503, "Service Unavailable", "shutting down\n", head, NULL);
		else
			respond_text(hc, 200, "OK", "ok\n", head, NULL);
		return;
	}
	serve_metrics(hc, head);
}

static void on_read(struct ev_loop *ev, ev_io *w, int revents)
{
	struct http_conn *hc = container_of(w, struct http_conn, io);

	bool eof = false;

	for (;;) {
		size_t room = sizeof(hc->req) - hc->len;
		if (room == 0)
			break;
		ssize_t n = read(hc->fd, hc->req + hc->len, room);
		if (n > 0) {
			hc->len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			/* a reset: nobody to answer */
			conn_free(hc);
			return;
		}
		/* EOF: a client may half-close after its request */
		eof = true;
		break;
	}
	ev_timer_again(ev, &hc->timer);
	handle_request(hc, eof);
}

static void on_drain(struct ev_loop *ev, ev_io *w, int revents)
{
	struct http_conn *hc = container_of(w, struct http_conn, io);
	char sink[4096];

	for (;;) {
		ssize_t n = read(hc->fd, sink, sizeof(sink));
		if (n > 0) {
			/* a peer that keeps sending does not get to keep us busy */
			hc->drained += (size_t)n;
			if (hc->drained > HTTP_DRAIN_MAX)
				break;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break; /* EOF or error: the peer is done */
	}
	conn_free(hc);
}

static void on_write(struct ev_loop *ev, ev_io *w, int revents)
{
	struct http_conn *hc = container_of(w, struct http_conn, io);

	while (hc->resp_off < hc->resp_len) {
		ssize_t n = send(hc->fd, hc->resp + hc->resp_off, hc->resp_len - hc->resp_off,
				 MSG_NOSIGNAL);
		if (n > 0) {
			hc->resp_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_timer_again(ev, &hc->timer);
			return;
		}
		conn_free(hc);
		return;
	}
	/* all written: tell the peer we are done, then read what it may still
	 * send (a body we ignored) until it closes, so that closing with
	 * unread bytes does not reset the connection before it read us */
	shutdown(hc->fd, SHUT_WR);
	ev_io_stop(ev, &hc->io);
	ev_io_init(&hc->io, on_drain, hc->fd, EV_READ);
	ev_io_start(ev, &hc->io);
	hc->timer.repeat = HTTP_LINGER_TIMEOUT;
	ev_timer_again(ev, &hc->timer);
}

static void on_timeout(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct http_conn *hc = container_of(w, struct http_conn, timer);
	conn_free(hc);
}

static void on_accept(struct ev_loop *ev, ev_io *w, int revents)
{
	struct http_server *srv = container_of(w, struct http_server, io);

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warning("accept() on metrics_listen %s failed: %s", srv->desc,
					    strerror(errno));
			return;
		}
		struct http_conn *hc =
			srv->conns.count < HTTP_MAX_CONNS ? calloc(1, sizeof(*hc)) : NULL;
		if (!hc) {
			close(fd);
			continue;
		}
		hc->srv = srv;
		hc->fd = fd;
		list_node_init(&hc->node);
		list_append(&srv->conns, &hc->node);
		ev_io_init(&hc->io, on_read, fd, EV_READ);
		ev_io_start(ev, &hc->io);
		ev_timer_init(&hc->timer, on_timeout, 0., HTTP_IDLE_TIMEOUT);
		ev_timer_again(ev, &hc->timer);
	}
}

/* --- the listener ------------------------------------------------------- */

/* Splits "host:port" or "[v6]:port" into HOST (of SIZE bytes) and PORT. */
static bool split_listen(const char *value, char *host, size_t size, char *port, size_t psize)
{
	const char *colon, *h = value;
	size_t hlen;

	if (value[0] == '[') {
		const char *close_br = strchr(value, ']');
		if (!close_br || close_br[1] != ':')
			return false;
		h = value + 1;
		hlen = (size_t)(close_br - h);
		colon = close_br + 1;
	} else {
		colon = strrchr(value, ':');
		if (!colon || memchr(value, ':', (size_t)(colon - value)))
			return false;
		hlen = (size_t)(colon - value);
	}
	const char *p = colon + 1;
	size_t plen = strlen(p);
	if (hlen == 0 || hlen >= size || plen == 0 || plen >= psize || plen > 5)
		return false;
	long n = 0;
	for (size_t i = 0; i < plen; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		n = n * 10 + (p[i] - '0');
	}
	if (n < 1 || n > 65535)
		return false;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memcpy(port, p, plen + 1);
	return true;
}

int http_start(struct loop *loop)
{
	const char *value = loop->cfg->metrics_listen;
	char host[256], port[8];
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res, *ai;

	if (!value || !value[0])
		return 0;
	if (!split_listen(value, host, sizeof(host), port, sizeof(port))) {
		log_error("metrics_listen \"%s\": expected host:port or [ipv6]:port", value);
		return -1;
	}
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		log_error("cannot resolve metrics_listen %s: %s", value, gai_strerror(rc));
		return -1;
	}
	int fd = -1, err = 0;
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
			err = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		log_error("cannot listen on metrics_listen %s: %s", value, strerror(err));
		return -1;
	}
	struct http_server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		close(fd);
		log_error("out of memory starting the metrics server");
		return -1;
	}
	srv->loop = loop;
	srv->fd = fd;
	list_init(&srv->conns);
	snprintf(srv->desc, sizeof(srv->desc), "%s", value);
	ev_io_init(&srv->io, on_accept, fd, EV_READ);
	ev_io_start(loop->ev, &srv->io);
	loop->http = srv;
	log_info("serving metrics on http://%s/metrics", value);
	return 0;
}

void http_stop(struct loop *loop)
{
	struct http_server *srv = loop->http;
	struct list_node *n, *t;

	if (!srv)
		return;
	list_for_each_safe(n, t, &srv->conns) conn_free(container_of(n, struct http_conn, node));
	ev_io_stop(loop->ev, &srv->io);
	close(srv->fd);
	free(srv);
	loop->http = NULL;
}

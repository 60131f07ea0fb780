/* The shared connection engine: read into the receive buffer, hand each
 * message header to the owner, forward bytes to the peer straight from the
 * receive buffer (one writev with our own queued messages first), and apply
 * back-pressure by parking the reader while the peer's socket is full. */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "loop.h"
#include "proto.h"

static void on_read(struct ev_loop *ev, ev_io *w, int revents);
static void on_write(struct ev_loop *ev, ev_io *w, int revents);
static bool write_out(struct conn *p);

/* Bytes the owner may ask to see whole when it asked for nothing else. */
#define DEFAULT_NEED_LIMIT (1U << 20)

void conn_init(struct conn *c, struct loop *loop, const struct conn_ops *ops, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->loop = loop;
	c->ops = ops;
	c->need_limit = DEFAULT_NEED_LIMIT;
	ev_io_init(&c->rio, on_read, fd, EV_READ);
	ev_io_init(&c->wio, on_write, fd, EV_WRITE);
}

struct iobuf_pool *conn_bufs(struct conn *c)
{
	return &c->loop->bufs;
}

bool conn_is_unix(const struct conn *c)
{
	return c->addr.ss_family == AF_UNIX;
}

void conn_set_addr(struct conn *c)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	if (c->addrlen == 0) {
		c->addrlen = sizeof(c->addr);
		if (getpeername(c->fd, (struct sockaddr *)&c->addr, &c->addrlen) < 0)
			c->addrlen = 0;
	}
	if (c->addr.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&c->addr;
		inet_ntop(AF_INET, &in->sin_addr, c->addr_str, sizeof(c->addr_str));
		c->port = ntohs(in->sin_port);
	} else if (c->addr.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&c->addr;
		inet_ntop(AF_INET6, &in6->sin6_addr, c->addr_str, sizeof(c->addr_str));
		c->port = ntohs(in6->sin6_port);
	} else {
		strcpy(c->addr_str, "unix");
		c->port = 0;
	}
	if (getsockname(c->fd, (struct sockaddr *)&local, &len) == 0) {
		if (local.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&local;
			inet_ntop(AF_INET, &in->sin_addr, c->local_addr_str,
				  sizeof(c->local_addr_str));
			c->local_port = ntohs(in->sin_port);
		} else if (local.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&local;
			inet_ntop(AF_INET6, &in6->sin6_addr, c->local_addr_str,
				  sizeof(c->local_addr_str));
			c->local_port = ntohs(in6->sin6_port);
		} else {
			strcpy(c->local_addr_str, "unix");
		}
	}
}

void conn_start_reading(struct conn *c)
{
	if (c->dead || c->fd < 0)
		return;
	c->read_paused = false;
	if (!c->blocked)
		ev_io_start(c->loop->ev, &c->rio);
}

void conn_pause_reading(struct conn *c)
{
	c->read_paused = true;
	ev_io_stop(c->loop->ev, &c->rio);
}

void conn_resume_reading(struct conn *c)
{
	if (c->dead)
		return;
	conn_start_reading(c);
	conn_process(c);
}

bool conn_idle(const struct conn *c)
{
	return c->fwd_remain == 0 && c->skip_remain == 0 && !conn_pending(c) &&
	       conn_buffered(c) == 0;
}

void conn_link(struct conn *a, struct conn *b)
{
	a->peer = b;
	b->peer = a;
}

void conn_unlink(struct conn *a)
{
	struct conn *b = a->peer;
	if (b && b->peer == a)
		b->peer = NULL;
	a->peer = NULL;
}

/* Move the buffered bytes to the front, keeping our offsets in step. */
static void compact(struct conn *c)
{
	struct iobuf *b = c->rbuf;
	uint32_t shift = b->start;
	if (shift == 0)
		return;
	iobuf_compact(b);
	c->pkt_pos -= shift;
	c->send_end -= shift;
}

/* Drop N bytes at pkt_pos (a message the owner consumed). */
static void drop(struct conn *c, uint32_t n)
{
	struct iobuf *b = c->rbuf;
	if (c->pkt_pos == b->start) {
		b->start += n;
		c->pkt_pos += n;
		c->send_end = c->pkt_pos;
	} else {
		memmove(b->data + c->pkt_pos, b->data + c->pkt_pos + n, b->end - c->pkt_pos - n);
		b->end -= n;
	}
}

/* Return the receive buffer to the pool once it holds nothing. */
static void maybe_release_rbuf(struct conn *c)
{
	struct iobuf *b = c->rbuf;
	if (b && b->start == b->end && c->send_end == b->start) {
		iobuf_put(&c->loop->bufs, b);
		c->rbuf = NULL;
		c->pkt_pos = c->send_end = 0;
	}
}

static void forward_flush(struct conn *c)
{
	struct conn *p = c->peer;

	if (!p || p->dead) {
		/* nobody to send to: the bytes are lost with the peer */
		c->rbuf->start = c->send_end;
		maybe_release_rbuf(c);
		return;
	}
	if (ev_is_active(&p->wio) || p->connecting)
		return; /* the peer's write watcher will take them */
	write_out(p);
}

bool conn_forward_now(struct conn *c)
{
	if (conn_pending(c))
		forward_flush(c);
	return !conn_pending(c);
}

void conn_process(struct conn *c)
{
	if (c->in_process || c->dead)
		return;
	c->in_process = true;
	while (!c->dead && !c->read_paused) {
		struct iobuf *b = c->rbuf;
		uint32_t avail = b ? b->end - c->pkt_pos : 0;

		if (avail == 0)
			break;
		if (c->fwd_remain) {
			uint32_t n = avail < c->fwd_remain ? avail : c->fwd_remain;
			c->pkt_pos += n;
			c->send_end = c->pkt_pos;
			c->fwd_remain -= n;
			continue;
		}
		if (c->skip_remain) {
			uint32_t n = avail < c->skip_remain ? avail : c->skip_remain;
			drop(c, n);
			c->skip_remain -= n;
			continue;
		}

		const uint8_t *p = b->data + c->pkt_pos;
		uint8_t type = 0;
		uint32_t len = 0, total, code, hdr;
		int r;
		if (c->startup) {
			r = proto_read_startup_header(p, avail, &len, &code);
			total = len;
			hdr = 0;
		} else {
			r = proto_read_header(p, avail, &type, &len);
			total = len + 1;
			hdr = PROTO_HDR_LEN;
		}
		if (r == 0)
			break;
		if (r < 0) {
			/* framing error: the owner gets len 0 and closes */
			c->ops->packet(c, type, 0, p, 0);
			break;
		}
		uint32_t have = avail < total ? avail : total;
		enum pkt_action act = c->ops->packet(c, type, len, p + hdr, have - hdr);
		if (c->dead)
			break;
		switch (act) {
		case PKT_FORWARD:
			c->pkt_pos += have;
			c->send_end = c->pkt_pos;
			c->fwd_remain = total - have;
			break;
		case PKT_SKIP:
			drop(c, have);
			c->skip_remain = total - have;
			break;
		case PKT_REPLACE: {
			uint32_t k = c->replace_len < have ? c->replace_len : have;
			drop(c, k);
			have -= k;
			total -= k;
			c->pkt_pos += have;
			c->send_end = c->pkt_pos;
			c->fwd_remain = total - have;
			break;
		}
		case PKT_NEED_ALL:
			if (have == total) {
				/* the owner had everything: treat as a stop to avoid spinning */
				goto out;
			}
			if (total > c->need_limit) {
				c->ops->packet(c, type, 0, p, 0);
				goto out;
			}
			/* make room for the whole message from pkt_pos */
			if (c->pkt_pos + total > b->cap) {
				compact(c);
				if (c->pkt_pos + total > c->rbuf->cap) {
					/* after compact() start is 0, so a reallocation
					 * keeps every offset */
					uint32_t used = c->rbuf->end - c->rbuf->start;
					uint32_t more = c->pkt_pos + total - used;
					if (!iobuf_reserve(&c->loop->bufs, &c->rbuf, more)) {
						c->ops->closed(c, "out of memory");
						goto out;
					}
				}
			}
			goto out;
		case PKT_STOP:
			goto out;
		}
	}
out:
	c->in_process = false;
	if (c->dead)
		return;
	if (conn_pending(c)) {
		forward_flush(c);
		return;
	}
	if (c->rbuf)
		maybe_release_rbuf(c);
	/* messages the owner queued on the peer in place of forwarded ones */
	if (c->peer && c->peer->wbuf && !c->peer->dead)
		conn_flush(c->peer);
}

/* Make sure the receive buffer has free space at its end. Returns false
 * when it is full of bytes waiting for the peer (the reader parks). */
static bool ensure_space(struct conn *c)
{
	if (!c->rbuf) {
		c->rbuf = iobuf_get(&c->loop->bufs);
		if (!c->rbuf)
			return false;
		c->pkt_pos = c->send_end = 0;
		return true;
	}
	if (c->rbuf->end < c->rbuf->cap)
		return true;
	if (c->rbuf->start > 0) {
		compact(c);
		return true;
	}
	return false;
}

static void on_read(struct ev_loop *ev, ev_io *w, int revents)
{
	struct conn *c = container_of(w, struct conn, rio);

	if (c->dead)
		return;
	if (c->loop->suspended && !c->no_suspend) {
		/* SUSPEND (suspend.c): nothing is read until RESUME restarts us */
		ev_io_stop(ev, w);
		return;
	}
	if (!ensure_space(c)) {
		if (!c->rbuf) {
			c->ops->closed(c, "out of memory");
			return;
		}
		/* full of bytes for a slow peer: wait for it */
		c->blocked = true;
		ev_io_stop(ev, &c->rio);
		return;
	}
	struct iobuf *b = c->rbuf;
	ssize_t n = read(c->fd, b->data + b->end, b->cap - b->end);
	if (n > 0) {
		b->end += (uint32_t)n;
		c->recv_bytes += (uint64_t)n;
		conn_process(c);
		return;
	}
	if (n == 0) {
		c->ops->closed(c, "connection closed by peer");
		return;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return;
	c->ops->closed(c, strerror(errno));
}

/* Write P's own queued messages, then the bytes its peer forwards to it.
 * Returns true when nothing is left. */
static bool write_out(struct conn *p)
{
	struct iovec iov[2];
	int n = 0;
	struct iobuf *w = p->wbuf;
	struct conn *s = p->peer;
	uint32_t wlen = iobuf_len(w);
	uint32_t slen = (s && s->rbuf && s->peer == p) ? s->send_end - s->rbuf->start : 0;

	if (p->dead || p->fd < 0)
		return true;
	if (wlen) {
		iov[n].iov_base = w->data + w->start;
		iov[n].iov_len = wlen;
		n++;
	}
	if (slen) {
		iov[n].iov_base = s->rbuf->data + s->rbuf->start;
		iov[n].iov_len = slen;
		n++;
	}
	if (n == 0)
		return true;
	ssize_t done = writev(p->fd, iov, n);
	if (done < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			done = 0;
		} else {
			p->ops->closed(p, strerror(errno));
			return false;
		}
	}
	p->sent_bytes += (uint64_t)done;
	uint32_t d = (uint32_t)done;
	bool w_done = false, s_done = false;
	if (wlen) {
		uint32_t k = d < wlen ? d : wlen;
		w->start += k;
		d -= k;
		if (w->start == w->end) {
			iobuf_put(&p->loop->bufs, w);
			p->wbuf = NULL;
			w_done = true;
		}
	}
	if (slen) {
		s->rbuf->start += d;
		s_done = s->rbuf->start == s->send_end;
	}
	bool all = (wlen == 0 || w_done) && (slen == 0 || s_done);
	if (!all) {
		ev_io_start(p->loop->ev, &p->wio);
		if (slen && !s->blocked) {
			s->blocked = true;
			ev_io_stop(s->loop->ev, &s->rio);
		}
		return false;
	}
	ev_io_stop(p->loop->ev, &p->wio);
	if (w_done && p->ops->drained)
		p->ops->drained(p);
	if (s_done && !s->dead) {
		maybe_release_rbuf(s);
		if (s->blocked) {
			s->blocked = false;
			if (!s->read_paused)
				ev_io_start(s->loop->ev, &s->rio);
		}
		if (s->ops->forwarded)
			s->ops->forwarded(s);
		/* bytes that arrived while blocked */
		if (!s->dead && !s->read_paused && conn_buffered(s))
			conn_process(s);
	}
	return true;
}

void conn_flush(struct conn *c)
{
	if (c->dead || c->connecting || ev_is_active(&c->wio))
		return;
	write_out(c);
}

static void on_write(struct ev_loop *ev, ev_io *w, int revents)
{
	struct conn *c = container_of(w, struct conn, wio);

	if (c->dead)
		return;
	if (c->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		c->connecting = false;
		ev_io_stop(ev, &c->wio);
		if (err == 0)
			conn_set_addr(c);
		c->ops->connected(c, err);
		return;
	}
	write_out(c);
}

int conn_connect(struct conn *c, const struct sockaddr *addr, socklen_t addrlen)
{
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (addr->sa_family != AF_UNIX) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (c->loop->cfg->tcp_keepalive)
			setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	}
	memcpy(&c->addr, addr, addrlen);
	c->addrlen = addrlen;
	c->fd = fd;
	ev_io_set(&c->rio, fd, EV_READ);
	ev_io_set(&c->wio, fd, EV_WRITE);
	if (connect(fd, addr, addrlen) == 0) {
		/* immediate (unix sockets): report on the next turn via the watcher */
		c->connecting = true;
		ev_io_start(c->loop->ev, &c->wio);
		return 0;
	}
	if (errno != EINPROGRESS && errno != EAGAIN) {
		int err = errno;
		close(fd);
		c->fd = -1;
		errno = err;
		return -1;
	}
	c->connecting = true;
	ev_io_start(c->loop->ev, &c->wio);
	return 0;
}

void conn_close(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	ev_io_stop(c->loop->ev, &c->rio);
	ev_io_stop(c->loop->ev, &c->wio);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	/* a peer forwarding to us loses those bytes; a peer we forward to
	 * must not keep a pointer into our buffer */
	struct conn *p = c->peer;
	if (p && p->peer == c) {
		if (conn_pending(p)) {
			p->rbuf->start = p->send_end;
			maybe_release_rbuf(p);
		}
		if (p->blocked) {
			p->blocked = false;
			if (!p->read_paused && !p->dead)
				ev_io_start(p->loop->ev, &p->rio);
		}
		p->peer = NULL;
	}
	c->peer = NULL;
	iobuf_put(&c->loop->bufs, c->rbuf);
	c->rbuf = NULL;
	iobuf_put(&c->loop->bufs, c->wbuf);
	c->wbuf = NULL;
}

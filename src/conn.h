/* What clients and servers share: the socket, its watchers, the receive
 * buffer whose bytes are forwarded to the peer without another copy, the
 * buffer of our own messages, and the framing loop that hands each message
 * header to the owner. */
#ifndef PGLG_CONN_H
#define PGLG_CONN_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "iobuf.h"

struct loop;
struct conn;

/* What the owner decides for one message. */
enum pkt_action {
	PKT_FORWARD, /* send the whole message to the peer */
	PKT_SKIP, /* drop it: the owner handled it */
	PKT_NEED_ALL, /* call again once the whole message is buffered */
	PKT_STOP, /* stop processing now: the owner parked or closed the conn */
	PKT_REPLACE, /* the owner queued a replacement for the message's first
		      * replace_len bytes on the peer (conn_forward_now was
		      * true): drop them, forward the rest */
};

struct conn_ops {
	/* packet is called for every message header. TYPE is 0 for the
	 * untyped startup-phase messages (LEN then counts the whole message),
	 * else LEN is the wire length (counting itself). BODY points at the
	 * body, with AVAIL bytes of it buffered; after PKT_NEED_ALL it is
	 * called again with the whole body. */
	enum pkt_action (*packet)(struct conn *c, uint8_t type, uint32_t len, const uint8_t *body,
				  uint32_t avail);
	/* forwarded is called on the source once every byte it forwarded has
	 * been written to the peer's socket. May be NULL. */
	void (*forwarded)(struct conn *c);
	/* drained is called when our own queued messages (wbuf) were all
	 * written. May be NULL. */
	void (*drained)(struct conn *c);
	/* closed is called once on EOF or a socket error; the owner must
	 * schedule its own close. REASON is static text. */
	void (*closed)(struct conn *c, const char *reason);
	/* connected is called when a non-blocking connect finished; ERR is 0
	 * or an errno value. May be NULL for accepted sockets. */
	void (*connected)(struct conn *c, int err);
};

struct conn {
	int fd;
	struct loop *loop;
	const struct conn_ops *ops;
	ev_io rio;
	ev_io wio;
	struct conn *peer; /* where forwarded bytes go; NULL when unlinked */
	struct conn *src; /* peer whose forwarded bytes wait for our socket */
	struct iobuf *rbuf; /* received bytes */
	uint32_t pkt_pos; /* offset in rbuf->data of the next unparsed byte */
	uint32_t send_end; /* rbuf->data[start, send_end) waits for the peer */
	uint32_t fwd_remain; /* bytes of the current message still to forward */
	uint32_t skip_remain; /* bytes of the current message still to drop */
	uint32_t need_limit; /* largest message the owner may ask to buffer whole */
	uint32_t replace_len; /* PKT_REPLACE: bytes of the message replaced */
	struct iobuf *wbuf; /* our own messages for this socket */
	bool startup; /* untyped messages expected (before login) */
	bool read_paused; /* the owner parked reading */
	bool blocked; /* our forwarded bytes wait for the peer's socket */
	bool connecting;
	bool dead; /* closed: no more callbacks */
	bool in_process; /* re-entrancy guard for conn_process */
	bool no_suspend; /* admin console, cancel request: SUSPEND does not stop its reads */
	uint64_t recv_bytes;
	uint64_t sent_bytes;
	/* the remote end */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char addr_str[64]; /* "127.0.0.1" or "unix" */
	int port;
	/* the local end */
	char local_addr_str[64];
	int local_port;
};

/* conn_init prepares C around the connected or accepted FD (may be -1 for
 * a conn that connects later). */
void conn_init(struct conn *c, struct loop *loop, const struct conn_ops *ops, int fd);

/* conn_start_reading starts the read watcher; conn_pause_reading parks
 * reading (bytes stay buffered) and conn_resume_reading undoes it and
 * processes what is buffered. */
void conn_start_reading(struct conn *c);
void conn_pause_reading(struct conn *c);
void conn_resume_reading(struct conn *c);

/* conn_process runs the framing loop over buffered bytes. */
void conn_process(struct conn *c);

/* conn_flush writes C's own queued messages now, as far as the socket
 * takes them. */
void conn_flush(struct conn *c);

/* conn_link makes A and B each other's peer; conn_unlink undoes it. An
 * unlink with forwarded bytes still pending is a bug: callers wait for
 * the forwarded callback. */
void conn_link(struct conn *a, struct conn *b);
void conn_unlink(struct conn *a);

/* conn_pending tells whether C holds forwarded bytes not yet written. */
static inline bool conn_pending(const struct conn *c)
{
	return c->rbuf && c->send_end > c->rbuf->start;
}

/* conn_forward_now writes C's forwarded bytes to its peer now, as far as
 * the peer's socket takes them, and tells whether none are left: only then
 * may the owner queue its own messages on the peer without reordering the
 * stream. */
bool conn_forward_now(struct conn *c);

/* conn_idle tells whether C sits between messages with nothing buffered
 * to forward or drop. */
bool conn_idle(const struct conn *c);

/* conn_buffered returns how many received bytes are not yet processed. */
static inline uint32_t conn_buffered(const struct conn *c)
{
	return c->rbuf ? c->rbuf->end - c->pkt_pos : 0;
}

/* conn_bufs returns the buffer pool C's buffers come from: builders append
 * our own messages to &c->wbuf with it. */
struct iobuf_pool *conn_bufs(struct conn *c);

/* conn_connect starts a non-blocking connect to ADDR; ops->connected is
 * called when done. Returns 0, or -1 with errno if it failed at once. */
int conn_connect(struct conn *c, const struct sockaddr *addr, socklen_t addrlen);

/* conn_close stops the watchers, closes the socket and returns the
 * buffers. Idempotent. The owner frees itself later (reaper). */
void conn_close(struct conn *c);

/* conn_set_addr fills addr_str/port (and the local ones) from the socket. */
void conn_set_addr(struct conn *c);

/* conn_is_unix tells whether C's remote end is a unix socket. */
bool conn_is_unix(const struct conn *c);

#endif

/* The monitoring endpoint: a minimal HTTP/1.1 server on the pooler's
 * libev loop serving GET /metrics (Prometheus text format) and
 * GET /health, one request per connection, never blocking the loop. */
#ifndef PGLG_HTTP_H
#define PGLG_HTTP_H

struct loop;

/* http_start listens on LOOP's metrics_listen ("host:port", "[v6]:port";
 * empty: does nothing). Returns 0, or -1 when the value is malformed or
 * the address cannot be bound (logged): a startup error. */
int http_start(struct loop *loop);

/* http_stop closes the listener and every open connection, and frees what
 * http_start allocated. Safe when http_start did nothing. */
void http_stop(struct loop *loop);

#endif

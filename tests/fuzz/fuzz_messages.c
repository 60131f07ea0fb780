/* Fuzz target for backend messages: the input is a stream that
 * proto_read_header frames; every complete body goes, in a block of its
 * exact size, through the ErrorResponse, ParameterStatus, Authentication
 * and BackendKeyData parsers whatever its type, and what they accept must
 * survive a rebuild with the matching builder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iobuf.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* in_body tells whether S is a string that starts and ends inside BODY. */
static bool in_body(const char *s, const uint8_t *body, size_t len)
{
	const char *b = (const char *)body;

	if (s == NULL)
		return true;
	if (s < b || s >= b + len)
		return false;
	return memchr(s, '\0', (size_t)(b + len - s)) != NULL;
}

/* take returns the body of the single message of TYPE at the front of BUF
 * and its length, after checking the framing. */
static const uint8_t *take(struct iobuf *buf, uint8_t want, size_t *len)
{
	uint8_t type;
	uint32_t wire;

	if (proto_read_header(buf->data + buf->start, iobuf_len(buf), &type, &wire) != 1 ||
	    type != want || (size_t)wire + 1 != iobuf_len(buf))
		abort();
	*len = wire - 4;
	return buf->data + buf->start + PROTO_HDR_LEN;
}

static bool same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void check_error(struct iobuf_pool *pool, const uint8_t *body, size_t len)
{
	struct proto_error_fields ef, back;
	struct iobuf *buf = NULL;
	const uint8_t *b;
	size_t blen;

	/* the SQLSTATE class is read from any prefix: five code characters
	 * inside it (the first 'C' field; the full parse keeps the last) */
	for (size_t cut = 0; cut <= len; cut += cut < 16 ? 1 : len / 8 + 1) {
		const char *cls = proto_error_class(body, cut);
		if (cls && ((const uint8_t *)cls < body || (const uint8_t *)cls + 5 > body + cut ||
			    strspn(cls, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") < 5))
			abort();
	}
	if (!proto_parse_error(body, len, &ef))
		return;
	if (!in_body(ef.severity, body, len) || !in_body(ef.sqlstate, body, len) ||
	    !in_body(ef.message, body, len) || !in_body(ef.detail, body, len))
		abort();
	if (ef.severity == NULL || ef.sqlstate == NULL || ef.message == NULL)
		return; /* the builder always writes these three */
	if (!proto_build_error(pool, &buf, ef.severity, ef.sqlstate, ef.message, ef.detail))
		abort();
	b = take(buf, 'E', &blen);
	if (!proto_parse_error(b, blen, &back) || !same(back.severity, ef.severity) ||
	    !same(back.sqlstate, ef.sqlstate) || !same(back.message, ef.message) ||
	    !same(back.detail, ef.detail))
		abort();
	iobuf_put(pool, buf);
}

static void check_param_status(struct iobuf_pool *pool, const uint8_t *body, size_t len)
{
	const char *name, *value, *n2, *v2;
	struct iobuf *buf = NULL;
	const uint8_t *b;
	size_t blen;

	if (!proto_parse_param_status(body, len, &name, &value))
		return;
	if (name == NULL || value == NULL || !in_body(name, body, len) || !in_body(value, body, len))
		abort();
	if (!proto_build_param_status(pool, &buf, name, value))
		abort();
	b = take(buf, 'S', &blen);
	if (!proto_parse_param_status(b, blen, &n2, &v2) || strcmp(n2, name) != 0 ||
	    strcmp(v2, value) != 0)
		abort();
	iobuf_put(pool, buf);
}

static void check_auth(struct iobuf_pool *pool, const uint8_t *body, size_t len)
{
	uint32_t code;
	const uint8_t *data;
	size_t datalen, blen;
	struct iobuf *buf = NULL;
	const uint8_t *b;

	if (!proto_parse_auth(body, len, &code, &data, &datalen)) {
		if (len >= 4)
			abort();
		return;
	}
	if (data != body + 4 || datalen != len - 4)
		abort();
	/* the rest is code-specific: walk it as a SASL mechanism list */
	struct proto_reader r;
	proto_reader_init(&r, data, datalen);
	while (proto_reader_string(&r) != NULL && r.pos < r.len)
		;
	if (r.pos > r.len)
		abort();
	if (!proto_build_auth(pool, &buf, code, data, (uint32_t)datalen))
		abort();
	b = take(buf, 'R', &blen);
	if (blen != len || memcmp(b, body, len) != 0)
		abort();
	iobuf_put(pool, buf);
}

static void check_backend_key(struct iobuf_pool *pool, const uint8_t *body, size_t len)
{
	uint32_t pid, key;
	struct iobuf *buf = NULL;
	const uint8_t *b;
	size_t blen;

	if (!proto_parse_backend_key(body, len, &pid, &key)) {
		if (len == 8)
			abort();
		return;
	}
	if (!proto_build_backend_key(pool, &buf, pid, key))
		abort();
	b = take(buf, 'K', &blen);
	if (blen != 8 || memcmp(b, body, 8) != 0)
		abort();
	iobuf_put(pool, buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iobuf_pool pool;
	size_t pos = 0;

	/* small blocks, so the builders' growth paths run too */
	iobuf_pool_init(&pool, 16, 2);
	while (pos < size) {
		uint8_t type = 0;
		uint32_t len = 0;
		int r = proto_read_header(data + pos, size - pos, &type, &len);

		if (r == 0) {
			if (size - pos >= PROTO_HDR_LEN)
				abort();
			break;
		}
		if (r < 0) {
			if (len >= 4 && len <= INT32_MAX)
				abort();
			break;
		}
		size_t body_len = len - 4;
		if (body_len > size - pos - PROTO_HDR_LEN)
			break; /* incomplete: a connection would wait for more */
		uint8_t *body = malloc(body_len ? body_len : 1);
		if (body == NULL)
			break;
		memcpy(body, data + pos + PROTO_HDR_LEN, body_len);
		(void)proto_client_message_known(type);
		check_error(&pool, body, body_len);
		check_param_status(&pool, body, body_len);
		check_auth(&pool, body, body_len);
		check_backend_key(&pool, body, body_len);
		free(body);
		pos += (size_t)len + 1;
	}
	if (pool.nused != 0)
		abort();
	iobuf_pool_destroy(&pool);
	return 0;
}

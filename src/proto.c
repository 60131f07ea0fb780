/* PostgreSQL wire protocol v3: framing, parsing, building. */
#include "proto.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>

int proto_read_header(const uint8_t *buf, size_t avail, uint8_t *type, uint32_t *len)
{
	if (avail < PROTO_HDR_LEN)
		return 0;
	*type = buf[0];
	*len = proto_get_u32(buf + 1);
	if (*len < 4 || *len > INT32_MAX)
		return -1;
	return 1;
}

int proto_read_startup_header(const uint8_t *buf, size_t avail, uint32_t *len, uint32_t *code)
{
	if (avail < 4)
		return 0;
	*len = proto_get_u32(buf);
	if (*len < 8 || *len > PROTO_MAX_STARTUP)
		return -1;
	if (avail < 8)
		return 0;
	*code = proto_get_u32(buf + 4);
	return 1;
}

int proto_parse_startup(const uint8_t *pkt, size_t len, struct proto_startup *out, char *err,
			size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (len < 8 || proto_get_u32(pkt) != len) {
		snprintf(err, errlen, "invalid startup packet length");
		return -1;
	}
	out->version = proto_get_u32(pkt + 4);
	size_t body = len - 8;
	out->storage = malloc(body + 1);
	if (!out->storage) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(out->storage, pkt + 8, body);
	out->storage[body] = '\0';

	/* name\0value\0 ... \0 ; the list ends with an empty name */
	size_t pos = 0;
	for (;;) {
		if (pos >= body) {
			snprintf(err, errlen, "startup packet is not terminated");
			goto fail;
		}
		const char *name = out->storage + pos;
		size_t nlen = strnlen(name, body - pos);
		if (pos + nlen >= body) {
			snprintf(err, errlen, "startup packet is not terminated");
			goto fail;
		}
		if (nlen == 0) {
			if (pos + 1 != body) {
				snprintf(err, errlen, "trailing data after startup parameters");
				goto fail;
			}
			break;
		}
		pos += nlen + 1;
		const char *value = out->storage + pos;
		size_t vlen = strnlen(value, body - pos);
		if (pos + vlen >= body) {
			snprintf(err, errlen, "startup parameter without value");
			goto fail;
		}
		pos += vlen + 1;
		if (out->count >= PROTO_MAX_STARTUP_PARAMS) {
			snprintf(err, errlen, "too many startup parameters");
			goto fail;
		}
		out->names[out->count] = name;
		out->values[out->count] = value;
		out->count++;
	}
	return 0;
fail:
	proto_startup_free(out);
	return -1;
}

const char *proto_startup_get(const struct proto_startup *st, const char *name)
{
	for (int i = 0; i < st->count; i++)
		if (strcmp(st->names[i], name) == 0)
			return st->values[i];
	return NULL;
}

void proto_startup_free(struct proto_startup *st)
{
	free(st->storage);
	st->storage = NULL;
	st->count = 0;
}

void proto_reader_init(struct proto_reader *r, const uint8_t *body, size_t len)
{
	r->p = body;
	r->len = len;
	r->pos = 0;
	r->bad = false;
}

uint8_t proto_reader_u8(struct proto_reader *r)
{
	if (r->bad || r->pos + 1 > r->len) {
		r->bad = true;
		return 0;
	}
	return r->p[r->pos++];
}

uint32_t proto_reader_u32(struct proto_reader *r)
{
	if (r->bad || r->pos + 4 > r->len) {
		r->bad = true;
		return 0;
	}
	uint32_t v = proto_get_u32(r->p + r->pos);
	r->pos += 4;
	return v;
}

const char *proto_reader_string(struct proto_reader *r)
{
	if (r->bad || r->pos >= r->len) {
		r->bad = true;
		return NULL;
	}
	const char *s = (const char *)r->p + r->pos;
	const void *nul = memchr(s, '\0', r->len - r->pos);
	if (!nul) {
		r->bad = true;
		return NULL;
	}
	r->pos += (const char *)nul - s + 1;
	return s;
}

const uint8_t *proto_reader_bytes(struct proto_reader *r, size_t n)
{
	if (r->bad || n > r->len - r->pos) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *p = r->p + r->pos;
	r->pos += n;
	return p;
}

bool proto_parse_error(const uint8_t *body, size_t len, struct proto_error_fields *out)
{
	struct proto_reader r;

	memset(out, 0, sizeof(*out));
	proto_reader_init(&r, body, len);
	for (;;) {
		uint8_t code = proto_reader_u8(&r);
		if (r.bad)
			return false;
		if (code == 0)
			return true;
		const char *value = proto_reader_string(&r);
		if (!value)
			return false;
		switch (code) {
		case 'S':
			if (!out->severity)
				out->severity = value;
			break;
		case 'V':
			out->severity = value;
			break;
		case 'C':
			out->sqlstate = value;
			break;
		case 'M':
			out->message = value;
			break;
		case 'D':
			out->detail = value;
			break;
		}
	}
}

const char *proto_error_class(const uint8_t *body, size_t len)
{
	size_t i = 0;

	while (i < len && body[i] != 0) {
		uint8_t code = body[i++];
		const uint8_t *end = memchr(body + i, 0, len - i);
		if (!end)
			return NULL;
		size_t vlen = (size_t)(end - (body + i));
		if (code == 'C') {
			if (vlen != 5)
				return NULL;
			for (size_t k = 0; k < 5; k++) {
				uint8_t ch = body[i + k];
				if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z')))
					return NULL;
			}
			return (const char *)body + i;
		}
		i += vlen + 1;
	}
	return NULL;
}

bool proto_parse_param_status(const uint8_t *body, size_t len, const char **name,
			      const char **value)
{
	struct proto_reader r;

	proto_reader_init(&r, body, len);
	*name = proto_reader_string(&r);
	*value = proto_reader_string(&r);
	return !r.bad;
}

bool proto_parse_auth(const uint8_t *body, size_t len, uint32_t *code, const uint8_t **data,
		      size_t *datalen)
{
	if (len < 4)
		return false;
	*code = proto_get_u32(body);
	*data = body + 4;
	*datalen = len - 4;
	return true;
}

bool proto_parse_backend_key(const uint8_t *body, size_t len, uint32_t *pid, uint32_t *key)
{
	if (len != 8)
		return false;
	*pid = proto_get_u32(body);
	*key = proto_get_u32(body + 4);
	return true;
}

/* Start a typed message: reserve, write type and a length placeholder.
 * Returns the offset of the length word, or -1. */
static int64_t msg_begin(struct iobuf_pool *pool, struct iobuf **buf, uint8_t type, uint32_t hint)
{
	if (!iobuf_reserve(pool, buf, PROTO_HDR_LEN + hint))
		return -1;
	struct iobuf *b = *buf;
	int64_t at = b->end;
	if (type) {
		b->data[b->end++] = type;
		at = b->end;
	}
	b->end += 4;
	return at;
}

/* Offsets survive compaction only relative to start: remember it. */
struct msg {
	struct iobuf_pool *pool;
	struct iobuf **buf;
	uint32_t len_off; /* from buf->start */
	bool ok;
};

static void m_begin(struct msg *m, struct iobuf_pool *pool, struct iobuf **buf, uint8_t type,
		    uint32_t hint)
{
	m->pool = pool;
	m->buf = buf;
	int64_t at = msg_begin(pool, buf, type, hint);
	m->ok = at >= 0;
	if (m->ok)
		m->len_off = (uint32_t)(at - (*buf)->start);
}

static void m_bytes(struct msg *m, const void *data, uint32_t len)
{
	if (!m->ok || len == 0)
		return;
	/* iobuf_reserve may compact or reallocate: the length offset is
	 * relative to start, so it stays valid */
	if (!iobuf_reserve(m->pool, m->buf, len)) {
		m->ok = false;
		return;
	}
	memcpy((*m->buf)->data + (*m->buf)->end, data, len);
	(*m->buf)->end += len;
}

static void m_str(struct msg *m, const char *s)
{
	m_bytes(m, s, (uint32_t)strlen(s) + 1);
}

static void m_u32(struct msg *m, uint32_t v)
{
	uint8_t b[4];
	proto_put_u32(b, v);
	m_bytes(m, b, 4);
}

static void m_u8(struct msg *m, uint8_t v)
{
	m_bytes(m, &v, 1);
}

static bool m_end(struct msg *m)
{
	if (!m->ok)
		return false;
	struct iobuf *b = *m->buf;
	uint32_t at = b->start + m->len_off;
	proto_put_u32(b->data + at, b->end - at);
	return true;
}

static bool build_error_like(struct iobuf_pool *pool, struct iobuf **buf, uint8_t type,
			     const char *severity, const char *sqlstate, const char *message,
			     const char *detail)
{
	struct msg m;
	m_begin(&m, pool, buf, type, 64 + (uint32_t)strlen(message));
	m_u8(&m, 'S');
	m_str(&m, severity);
	m_u8(&m, 'V');
	m_str(&m, severity);
	m_u8(&m, 'C');
	m_str(&m, sqlstate);
	m_u8(&m, 'M');
	m_str(&m, message);
	if (detail) {
		m_u8(&m, 'D');
		m_str(&m, detail);
	}
	m_u8(&m, 0);
	return m_end(&m);
}

bool proto_build_error(struct iobuf_pool *pool, struct iobuf **buf, const char *severity,
		       const char *sqlstate, const char *message, const char *detail)
{
	return build_error_like(pool, buf, 'E', severity, sqlstate, message, detail);
}

bool proto_build_notice(struct iobuf_pool *pool, struct iobuf **buf, const char *sqlstate,
			const char *message)
{
	return build_error_like(pool, buf, 'N', "NOTICE", sqlstate, message, NULL);
}

bool proto_build_auth(struct iobuf_pool *pool, struct iobuf **buf, uint32_t code, const void *data,
		      uint32_t datalen)
{
	struct msg m;
	m_begin(&m, pool, buf, 'R', 4 + datalen);
	m_u32(&m, code);
	if (datalen)
		m_bytes(&m, data, datalen);
	return m_end(&m);
}

bool proto_build_param_status(struct iobuf_pool *pool, struct iobuf **buf, const char *name,
			      const char *value)
{
	struct msg m;
	m_begin(&m, pool, buf, 'S', (uint32_t)(strlen(name) + strlen(value) + 2));
	m_str(&m, name);
	m_str(&m, value);
	return m_end(&m);
}

bool proto_build_backend_key(struct iobuf_pool *pool, struct iobuf **buf, uint32_t pid,
			     uint32_t key)
{
	struct msg m;
	m_begin(&m, pool, buf, 'K', 8);
	m_u32(&m, pid);
	m_u32(&m, key);
	return m_end(&m);
}

bool proto_build_ready(struct iobuf_pool *pool, struct iobuf **buf, char status)
{
	struct msg m;
	m_begin(&m, pool, buf, 'Z', 1);
	m_u8(&m, (uint8_t)status);
	return m_end(&m);
}

bool proto_build_query(struct iobuf_pool *pool, struct iobuf **buf, const char *sql)
{
	struct msg m;
	m_begin(&m, pool, buf, 'Q', (uint32_t)strlen(sql) + 1);
	m_str(&m, sql);
	return m_end(&m);
}

bool proto_build_password(struct iobuf_pool *pool, struct iobuf **buf, const void *data,
			  uint32_t len)
{
	struct msg m;
	m_begin(&m, pool, buf, 'p', len);
	m_bytes(&m, data, len);
	return m_end(&m);
}

bool proto_build_sasl_initial(struct iobuf_pool *pool, struct iobuf **buf, const char *mech,
			      const void *data, uint32_t len)
{
	struct msg m;
	m_begin(&m, pool, buf, 'p', (uint32_t)strlen(mech) + 5 + len);
	m_str(&m, mech);
	m_u32(&m, len);
	m_bytes(&m, data, len);
	return m_end(&m);
}

bool proto_build_startup(struct iobuf_pool *pool, struct iobuf **buf, const char *const *names,
			 const char *const *values, int count)
{
	struct msg m;
	m_begin(&m, pool, buf, 0, 256);
	m_u32(&m, PROTO_VERSION_3);
	for (int i = 0; i < count; i++) {
		m_str(&m, names[i]);
		m_str(&m, values[i]);
	}
	m_u8(&m, 0);
	return m_end(&m);
}

bool proto_build_cancel(struct iobuf_pool *pool, struct iobuf **buf, uint32_t pid, uint32_t key)
{
	struct msg m;
	m_begin(&m, pool, buf, 0, 12);
	m_u32(&m, PROTO_CANCEL_CODE);
	m_u32(&m, pid);
	m_u32(&m, key);
	return m_end(&m);
}

bool proto_build_terminate(struct iobuf_pool *pool, struct iobuf **buf)
{
	struct msg m;
	m_begin(&m, pool, buf, 'X', 0);
	return m_end(&m);
}

bool proto_build_raw(struct iobuf_pool *pool, struct iobuf **buf, uint8_t type, const void *body,
		     uint32_t len)
{
	struct msg m;
	m_begin(&m, pool, buf, type, len);
	if (len)
		m_bytes(&m, body, len);
	return m_end(&m);
}

bool proto_client_message_known(uint8_t type)
{
	switch (type) {
	case 'Q': /* Query */
	case 'P': /* Parse */
	case 'B': /* Bind */
	case 'E': /* Execute */
	case 'D': /* Describe */
	case 'C': /* Close */
	case 'S': /* Sync */
	case 'H': /* Flush */
	case 'F': /* FunctionCall */
	case 'd': /* CopyData */
	case 'c': /* CopyDone */
	case 'f': /* CopyFail */
	case 'X': /* Terminate */
		return true;
	default:
		return false;
	}
}

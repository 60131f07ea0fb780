/* PostgreSQL wire protocol v3: framing, parsing and building messages.
 * Pure functions on memory: no I/O, no logging. Parsers take untrusted
 * input with explicit lengths and never read past them. */
#ifndef PGLG_PROTO_H
#define PGLG_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iobuf.h"

#define PROTO_HDR_LEN 5 /* type byte + int32 length */
#define PROTO_VERSION_3 196608 /* 3.0 */
#define PROTO_CANCEL_CODE 80877102
#define PROTO_SSL_CODE 80877103
#define PROTO_GSSENC_CODE 80877104
#define PROTO_MAX_STARTUP 10000 /* what PostgreSQL accepts */
#define PROTO_MAX_STARTUP_PARAMS 64

/* Authentication request codes ('R' messages). */
enum {
	AUTH_REQ_OK = 0,
	AUTH_REQ_CLEARTEXT = 3,
	AUTH_REQ_MD5 = 5,
	AUTH_REQ_SASL = 10,
	AUTH_REQ_SASL_CONTINUE = 11,
	AUTH_REQ_SASL_FINAL = 12,
};

/* proto_get_u32 / proto_put_u32: big-endian int32 at P. */
static inline uint32_t proto_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void proto_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* proto_read_header reads a typed message header from BUF (AVAIL bytes).
 * Returns 1 with *TYPE and *LEN (the wire length: counts itself, not the
 * type byte), 0 if fewer than 5 bytes are available, -1 if the length is
 * below 4 (a framing error). */
int proto_read_header(const uint8_t *buf, size_t avail, uint8_t *type, uint32_t *len);

/* proto_read_startup_header reads the untyped first message of a
 * connection: returns 1 with *LEN and *CODE (protocol version or special
 * request code), 0 if fewer than 8 bytes are available, -1 if LEN is out of
 * range (below 8 or above PROTO_MAX_STARTUP). */
int proto_read_startup_header(const uint8_t *buf, size_t avail, uint32_t *len, uint32_t *code);

/* A parsed StartupMessage. Names and values point into STORAGE, which
 * the struct owns: release with proto_startup_free. */
struct proto_startup {
	uint32_t version;
	int count;
	const char *names[PROTO_MAX_STARTUP_PARAMS];
	const char *values[PROTO_MAX_STARTUP_PARAMS];
	char *storage;
};

/* proto_parse_startup parses the whole StartupMessage PKT of LEN bytes
 * (including the length word). Returns 0, or -1 with a reason in ERR
 * (which never contains input bytes). */
int proto_parse_startup(const uint8_t *pkt, size_t len, struct proto_startup *out, char *err,
			size_t errlen);
/* proto_startup_get returns the value of NAME or NULL. */
const char *proto_startup_get(const struct proto_startup *st, const char *name);
void proto_startup_free(struct proto_startup *st);

/* A cursor over a message body for the parsers below and for callers that
 * need one more field. */
struct proto_reader {
	const uint8_t *p;
	size_t len;
	size_t pos;
	bool bad;
};

void proto_reader_init(struct proto_reader *r, const uint8_t *body, size_t len);
uint8_t proto_reader_u8(struct proto_reader *r);
uint32_t proto_reader_u32(struct proto_reader *r);
/* proto_reader_string returns a NUL-terminated string inside the body, or
 * NULL (and marks the reader bad) if there is no terminator. */
const char *proto_reader_string(struct proto_reader *r);
/* proto_reader_bytes returns N bytes in place, or NULL if short. */
const uint8_t *proto_reader_bytes(struct proto_reader *r, size_t n);

/* Fields of an ErrorResponse/NoticeResponse BODY (after the header).
 * Pointers into BODY; NULL when absent. Returns false if malformed. */
struct proto_error_fields {
	const char *severity; /* 'V' if present, else 'S' */
	const char *sqlstate;
	const char *message;
	const char *detail;
};
bool proto_parse_error(const uint8_t *body, size_t len, struct proto_error_fields *out);

/* proto_error_class finds the SQLSTATE ('C' field) in the first LEN bytes
 * of an ErrorResponse BODY, which may be a prefix of the body, and returns
 * a pointer into BODY at its two-character class, or NULL when the field
 * is not there in full or is not five digits or upper-case letters. */
const char *proto_error_class(const uint8_t *body, size_t len);

/* proto_parse_param_status parses a ParameterStatus body. */
bool proto_parse_param_status(const uint8_t *body, size_t len, const char **name,
			      const char **value);

/* proto_parse_auth parses an Authentication body: the code and the rest. */
bool proto_parse_auth(const uint8_t *body, size_t len, uint32_t *code, const uint8_t **data,
		      size_t *datalen);

/* proto_parse_backend_key parses a BackendKeyData body. */
bool proto_parse_backend_key(const uint8_t *body, size_t len, uint32_t *pid, uint32_t *key);

/* Builders append one whole message to *BUF (taking a block from POOL if
 * *BUF is NULL, growing it if needed). They return false only when out of
 * memory. */
bool proto_build_error(struct iobuf_pool *pool, struct iobuf **buf, const char *severity,
		       const char *sqlstate, const char *message, const char *detail);
bool proto_build_notice(struct iobuf_pool *pool, struct iobuf **buf, const char *sqlstate,
			const char *message);
bool proto_build_auth(struct iobuf_pool *pool, struct iobuf **buf, uint32_t code, const void *data,
		      uint32_t datalen);
bool proto_build_param_status(struct iobuf_pool *pool, struct iobuf **buf, const char *name,
			      const char *value);
bool proto_build_backend_key(struct iobuf_pool *pool, struct iobuf **buf, uint32_t pid,
			     uint32_t key);
bool proto_build_ready(struct iobuf_pool *pool, struct iobuf **buf, char status);
bool proto_build_query(struct iobuf_pool *pool, struct iobuf **buf, const char *sql);
bool proto_build_password(struct iobuf_pool *pool, struct iobuf **buf, const void *data,
			  uint32_t len);
bool proto_build_sasl_initial(struct iobuf_pool *pool, struct iobuf **buf, const char *mech,
			      const void *data, uint32_t len);
/* NAMES/VALUES: COUNT startup parameters (user and database among them). */
bool proto_build_startup(struct iobuf_pool *pool, struct iobuf **buf, const char *const *names,
			 const char *const *values, int count);
bool proto_build_cancel(struct iobuf_pool *pool, struct iobuf **buf, uint32_t pid, uint32_t key);
bool proto_build_terminate(struct iobuf_pool *pool, struct iobuf **buf);
/* proto_build_raw appends a message of TYPE with BODY. */
bool proto_build_raw(struct iobuf_pool *pool, struct iobuf **buf, uint8_t type, const void *body,
		     uint32_t len);

/* proto_client_message_known tells whether TYPE is a frontend message a
 * client may send after login. */
bool proto_client_message_known(uint8_t type);

#endif

/* Unit tests for proto.c: message and startup framing, the startup packet
 * and backend message parsers on good and malformed input, every builder
 * read back through the parsers, and builders that outgrow a pool block. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iobuf.h"
#include "proto.h"

/* A pool of blocks small enough that most messages outgrow one. */
#define SMALL_BLOCK 64

/* --- helpers ------------------------------------------------------------ */

/* startup_packet writes the length word, VERSION and BODY (BODYLEN bytes)
 * into a malloc'ed packet of exactly the needed size, so that ASan sees any
 * read past it. Returns the packet; *LEN gets its size. */
static uint8_t *startup_packet(uint32_t version, const void *body, size_t bodylen, size_t *len)
{
	uint8_t *pkt = malloc(8 + bodylen);

	ck_assert_ptr_nonnull(pkt);
	proto_put_u32(pkt, (uint32_t)(8 + bodylen));
	proto_put_u32(pkt + 4, version);
	if (bodylen)
		memcpy(pkt + 8, body, bodylen);
	*len = 8 + bodylen;
	return pkt;
}

/* parse_body runs proto_parse_startup on a v3 packet around BODY. Returns
 * the parser's result; ERR gets its reason. */
static int parse_body(const void *body, size_t bodylen, struct proto_startup *st, char *err,
		      size_t errlen)
{
	size_t len;
	uint8_t *pkt = startup_packet(PROTO_VERSION_3, body, bodylen, &len);
	int r;

	err[0] = '\0';
	r = proto_parse_startup(pkt, len, st, err, errlen);
	free(pkt);
	return r;
}

/* Expect proto_parse_startup to refuse BODY with a reason containing WHY. */
static void expect_startup_error(const void *body, size_t bodylen, const char *why)
{
	struct proto_startup st;
	char err[128];

	ck_assert_int_eq(parse_body(body, bodylen, &st, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, why) != NULL, "expected \"%s\" in \"%s\"", why, err);
	ck_assert_ptr_null(st.storage);
	ck_assert_int_eq(st.count, 0);
	proto_startup_free(&st); /* harmless after a failure */
}

/* A copy of BODY in a block of exactly LEN bytes (ASan bounds). */
static uint8_t *exact_copy(const void *body, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(copy);
	if (len)
		memcpy(copy, body, len);
	return copy;
}

/* take_message reads one typed message at the front of BUF: checks its
 * type and framing, consumes it, and returns a malloc'ed copy of its body
 * (*BODYLEN bytes) for the parsers. */
static uint8_t *take_message(struct iobuf *buf, uint8_t want_type, size_t *bodylen)
{
	uint8_t type = 0;
	uint32_t len = 0;
	uint8_t *body;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(proto_read_header(buf->data + buf->start, iobuf_len(buf), &type, &len), 1);
	ck_assert_int_eq(type, want_type);
	ck_assert_uint_ge(iobuf_len(buf), len + 1);
	*bodylen = len - 4;
	body = exact_copy(buf->data + buf->start + PROTO_HDR_LEN, *bodylen);
	buf->start += len + 1;
	return body;
}

/* --- framing -------------------------------------------------------------- */

START_TEST(test_header_short_input)
{
	const uint8_t hdr[5] = {'Q', 0, 0, 0, 9};
	uint8_t type = 0;
	uint32_t len = 0;

	for (size_t avail = 0; avail < PROTO_HDR_LEN; avail++)
		ck_assert_int_eq(proto_read_header(hdr, avail, &type, &len), 0);
	ck_assert_int_eq(proto_read_header(hdr, sizeof(hdr), &type, &len), 1);
	ck_assert_int_eq(type, 'Q');
	ck_assert_uint_eq(len, 9);
}
END_TEST

START_TEST(test_header_lengths)
{
	uint8_t hdr[5] = {'D', 0, 0, 0, 0};
	uint8_t type;
	uint32_t len;

	/* below 4 the length cannot even count itself */
	for (uint32_t bad = 0; bad < 4; bad++) {
		proto_put_u32(hdr + 1, bad);
		ck_assert_int_eq(proto_read_header(hdr, sizeof(hdr), &type, &len), -1);
	}
	proto_put_u32(hdr + 1, 4); /* an empty body: Sync, Terminate */
	ck_assert_int_eq(proto_read_header(hdr, sizeof(hdr), &type, &len), 1);
	ck_assert_uint_eq(len, 4);
	proto_put_u32(hdr + 1, INT32_MAX);
	ck_assert_int_eq(proto_read_header(hdr, sizeof(hdr), &type, &len), 1);
	ck_assert_uint_eq(len, INT32_MAX);
	proto_put_u32(hdr + 1, (uint32_t)INT32_MAX + 1);
	ck_assert_int_eq(proto_read_header(hdr, sizeof(hdr), &type, &len), -1);
	proto_put_u32(hdr + 1, UINT32_MAX);
	ck_assert_int_eq(proto_read_header(hdr, sizeof(hdr), &type, &len), -1);
}
END_TEST

START_TEST(test_header_only_reads_five_bytes)
{
	/* the header parser must not need the body: a 5-byte block suffices */
	uint8_t *hdr = malloc(PROTO_HDR_LEN);
	uint8_t type;
	uint32_t len;

	ck_assert_ptr_nonnull(hdr);
	hdr[0] = 'Z';
	proto_put_u32(hdr + 1, 5);
	ck_assert_int_eq(proto_read_header(hdr, PROTO_HDR_LEN, &type, &len), 1);
	ck_assert_int_eq(type, 'Z');
	ck_assert_uint_eq(len, 5);
	free(hdr);
}
END_TEST

START_TEST(test_startup_header_bounds)
{
	uint8_t hdr[8];
	uint32_t len = 0, code = 0;

	proto_put_u32(hdr, 8);
	proto_put_u32(hdr + 4, PROTO_SSL_CODE);
	for (size_t avail = 0; avail < 8; avail++)
		ck_assert_int_eq(proto_read_startup_header(hdr, avail, &len, &code), 0);
	ck_assert_int_eq(proto_read_startup_header(hdr, 8, &len, &code), 1);
	ck_assert_uint_eq(len, 8);
	ck_assert_uint_eq(code, PROTO_SSL_CODE);

	proto_put_u32(hdr + 4, PROTO_VERSION_3);
	for (uint32_t bad = 0; bad < 8; bad++) {
		proto_put_u32(hdr, bad);
		ck_assert_int_eq(proto_read_startup_header(hdr, sizeof(hdr), &len, &code), -1);
		/* a bad length is never reported as "complete" on a short read */
		ck_assert_int_le(proto_read_startup_header(hdr, 5, &len, &code), 0);
	}
	proto_put_u32(hdr, PROTO_MAX_STARTUP);
	ck_assert_int_eq(proto_read_startup_header(hdr, sizeof(hdr), &len, &code), 1);
	ck_assert_uint_eq(len, PROTO_MAX_STARTUP);
	ck_assert_uint_eq(code, PROTO_VERSION_3);
	proto_put_u32(hdr, PROTO_MAX_STARTUP + 1);
	ck_assert_int_eq(proto_read_startup_header(hdr, sizeof(hdr), &len, &code), -1);
	proto_put_u32(hdr, UINT32_MAX);
	ck_assert_int_eq(proto_read_startup_header(hdr, sizeof(hdr), &len, &code), -1);
}
END_TEST

/* --- startup packet --------------------------------------------------------- */

START_TEST(test_startup_good)
{
	static const char body[] = "user\0alice\0database\0sales\0application_name\0psql\0"
				   "DateStyle\0ISO, MDY\0options\0\0\0";
	struct proto_startup st;
	char err[128];

	/* sizeof - 1: the string literal's own NUL is not part of the packet */
	ck_assert_int_eq(parse_body(body, sizeof(body) - 1, &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(st.version, PROTO_VERSION_3);
	ck_assert_int_eq(st.count, 5);
	ck_assert_str_eq(st.names[0], "user");
	ck_assert_str_eq(st.values[0], "alice");
	ck_assert_str_eq(st.names[3], "DateStyle");
	ck_assert_str_eq(st.values[3], "ISO, MDY");
	ck_assert_str_eq(proto_startup_get(&st, "database"), "sales");
	ck_assert_str_eq(proto_startup_get(&st, "application_name"), "psql");
	ck_assert_str_eq(proto_startup_get(&st, "options"), ""); /* empty values are values */
	ck_assert_ptr_null(proto_startup_get(&st, "replication"));
	ck_assert_ptr_null(proto_startup_get(&st, "USER")); /* names are exact */
	proto_startup_free(&st);
	ck_assert_ptr_null(st.storage);
	ck_assert_int_eq(st.count, 0);
}
END_TEST

START_TEST(test_startup_owns_its_strings)
{
	static const char body[] = "user\0bob\0\0";
	size_t len;
	uint8_t *pkt = startup_packet(PROTO_VERSION_3, body, sizeof(body) - 1, &len);
	struct proto_startup st;
	char err[128];

	ck_assert_int_eq(proto_parse_startup(pkt, len, &st, err, sizeof(err)), 0);
	memset(pkt, 'x', len);
	free(pkt);
	ck_assert_str_eq(proto_startup_get(&st, "user"), "bob");
	proto_startup_free(&st);
}
END_TEST

START_TEST(test_startup_other_version_is_reported)
{
	static const char body[] = "user\0u\0\0";
	size_t len;
	uint8_t *pkt = startup_packet(2 << 16, body, sizeof(body) - 1, &len);
	struct proto_startup st;
	char err[128];

	ck_assert_int_eq(proto_parse_startup(pkt, len, &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(st.version, 2 << 16);
	proto_startup_free(&st);
	free(pkt);
}
END_TEST

START_TEST(test_startup_missing_terminator)
{
	static const char no_final_nul[] = "user\0alice\0";
	static const char cut_in_name[] = "user\0alice\0datab";

	expect_startup_error(no_final_nul, sizeof(no_final_nul) - 1, "not terminated");
	expect_startup_error(cut_in_name, sizeof(cut_in_name) - 1, "not terminated");
}
END_TEST

START_TEST(test_startup_name_without_value)
{
	/* the last name runs into the end of the packet */
	static const char body[] = "user\0alice\0database\0";
	static const char cut_in_value[] = "user\0alic";

	expect_startup_error(body, sizeof(body) - 1, "without value");
	expect_startup_error(cut_in_value, sizeof(cut_in_value) - 1, "without value");
}
END_TEST

START_TEST(test_startup_trailing_garbage)
{
	static const char body[] = "user\0alice\0\0junk";
	static const char two_nuls[] = "user\0alice\0\0\0";

	expect_startup_error(body, sizeof(body) - 1, "trailing data");
	expect_startup_error(two_nuls, sizeof(two_nuls) - 1, "trailing data");
}
END_TEST

/* A body of N parameters "pI\0vI\0" and the final NUL. Returns malloc'ed
 * bytes; *LEN gets their count. */
static char *many_params(int n, size_t *len)
{
	char *body = malloc((size_t)n * 16 + 1);
	size_t pos = 0;

	ck_assert_ptr_nonnull(body);
	for (int i = 0; i < n; i++) {
		pos += (size_t)sprintf(body + pos, "p%d", i) + 1;
		pos += (size_t)sprintf(body + pos, "v%d", i) + 1;
	}
	body[pos++] = '\0';
	*len = pos;
	return body;
}

START_TEST(test_startup_too_many_params)
{
	struct proto_startup st;
	char err[128];
	size_t len;
	char *body = many_params(PROTO_MAX_STARTUP_PARAMS, &len);

	ck_assert_int_eq(parse_body(body, len, &st, err, sizeof(err)), 0);
	ck_assert_int_eq(st.count, PROTO_MAX_STARTUP_PARAMS);
	ck_assert_str_eq(st.values[PROTO_MAX_STARTUP_PARAMS - 1], "v63");
	proto_startup_free(&st);
	free(body);

	body = many_params(PROTO_MAX_STARTUP_PARAMS + 1, &len);
	expect_startup_error(body, len, "too many");
	free(body);
}
END_TEST

START_TEST(test_startup_empty)
{
	struct proto_startup st;
	char err[128];

	/* no body at all: not even the list terminator */
	expect_startup_error("", 0, "not terminated");
	/* only the terminator: a valid, empty list (the caller wants a user) */
	ck_assert_int_eq(parse_body("", 1, &st, err, sizeof(err)), 0);
	ck_assert_int_eq(st.count, 0);
	ck_assert_ptr_null(proto_startup_get(&st, "user"));
	proto_startup_free(&st);
}
END_TEST

START_TEST(test_startup_bad_length)
{
	static const char body[] = "user\0alice\0\0";
	struct proto_startup st;
	char err[128];
	size_t len;
	uint8_t *pkt = startup_packet(PROTO_VERSION_3, body, sizeof(body) - 1, &len);

	/* the length word must match what the caller framed */
	ck_assert_int_eq(proto_parse_startup(pkt, len - 1, &st, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "length"));
	proto_put_u32(pkt, (uint32_t)len + 1);
	ck_assert_int_eq(proto_parse_startup(pkt, len, &st, err, sizeof(err)), -1);
	ck_assert_int_eq(proto_parse_startup(pkt, 7, &st, err, sizeof(err)), -1);
	ck_assert_int_eq(proto_parse_startup(pkt, 0, &st, err, sizeof(err)), -1);
	ck_assert_ptr_null(st.storage);
	free(pkt);
}
END_TEST

START_TEST(test_startup_error_never_echoes_input)
{
	static const char body[] = "user\0s3cr3t-token\0database\0";
	struct proto_startup st;
	char err[16];

	/* a short ERR buffer is truncated, not overrun */
	ck_assert_int_eq(parse_body(body, sizeof(body) - 1, &st, err, sizeof(err)), -1);
	ck_assert_uint_lt(strlen(err), sizeof(err));
	ck_assert_ptr_null(strstr(err, "s3cr3t"));
}
END_TEST

/* --- backend message parsers ------------------------------------------------ */

START_TEST(test_parse_error_fields)
{
	static const char body[] = "SERREUR\0VERROR\0C42P01\0Mrelation \"t\" does not exist\0"
				   "Ddetail text\0P15\0Fparse_relation.c\0\0";
	uint8_t *copy = exact_copy(body, sizeof(body) - 1);
	struct proto_error_fields ef;

	ck_assert(proto_parse_error(copy, sizeof(body) - 1, &ef));
	/* the non-localized 'V' wins over 'S' */
	ck_assert_str_eq(ef.severity, "ERROR");
	ck_assert_str_eq(ef.sqlstate, "42P01");
	ck_assert_str_eq(ef.message, "relation \"t\" does not exist");
	ck_assert_str_eq(ef.detail, "detail text");
	free(copy);
}
END_TEST

START_TEST(test_parse_error_severity_order)
{
	/* 'V' before 'S' still wins; 'S' alone is used; absent fields are NULL */
	static const char v_first[] = "VFATAL\0SFATAL-LOCALIZED\0Mbye\0\0";
	static const char s_only[] = "SWARNING\0C01000\0\0";
	struct proto_error_fields ef;

	ck_assert(proto_parse_error((const uint8_t *)v_first, sizeof(v_first) - 1, &ef));
	ck_assert_str_eq(ef.severity, "FATAL");
	ck_assert_str_eq(ef.message, "bye");
	ck_assert_ptr_null(ef.sqlstate);
	ck_assert_ptr_null(ef.detail);

	ck_assert(proto_parse_error((const uint8_t *)s_only, sizeof(s_only) - 1, &ef));
	ck_assert_str_eq(ef.severity, "WARNING");
	ck_assert_str_eq(ef.sqlstate, "01000");
	ck_assert_ptr_null(ef.message);
}
END_TEST

START_TEST(test_error_class)
{
	static const char full[] = "SERROR\0VERROR\0C42P01\0Mrelation does not exist\0\0";
	static const char cut_after_code[] = "SERROR\0C22P02\0Minvalid inp";
	static const char cut_in_code[] = "SERROR\0C22P";
	static const char no_code[] = "SERROR\0Mno code\0\0";
	static const char bad_code[] = "SERROR\0C42p01\0\0";
	static const char short_code[] = "SERROR\0C42\0\0";
	uint8_t *copy;
	const char *cls;

	copy = exact_copy(full, sizeof(full) - 1);
	cls = proto_error_class(copy, sizeof(full) - 1);
	ck_assert_ptr_nonnull(cls);
	ck_assert(cls[0] == '4' && cls[1] == '2');
	free(copy);
	/* a prefix that holds the whole code is enough */
	copy = exact_copy(cut_after_code, sizeof(cut_after_code) - 1);
	cls = proto_error_class(copy, sizeof(cut_after_code) - 1);
	ck_assert_ptr_nonnull(cls);
	ck_assert(cls[0] == '2' && cls[1] == '2');
	free(copy);
	static const char *const none[] = {cut_in_code, no_code, bad_code, short_code};
	static const size_t lens[] = {sizeof(cut_in_code) - 1, sizeof(no_code) - 1,
				      sizeof(bad_code) - 1, sizeof(short_code) - 1};
	for (int i = 0; i < 4; i++) {
		copy = exact_copy(none[i], lens[i]);
		ck_assert_ptr_null(proto_error_class(copy, lens[i]));
		free(copy);
	}
	copy = exact_copy("", 0);
	ck_assert_ptr_null(proto_error_class(copy, 0));
	free(copy);
}
END_TEST

START_TEST(test_parse_error_malformed)
{
	static const char no_list_end[] = "SERROR\0C42601\0Msyntax error\0";
	static const char cut_value[] = "SERROR\0Msyntax err";
	static const char code_only[] = "SERROR\0M";
	struct proto_error_fields ef;
	uint8_t *copy;

	copy = exact_copy(no_list_end, sizeof(no_list_end) - 1);
	ck_assert(!proto_parse_error(copy, sizeof(no_list_end) - 1, &ef));
	free(copy);
	copy = exact_copy(cut_value, sizeof(cut_value) - 1);
	ck_assert(!proto_parse_error(copy, sizeof(cut_value) - 1, &ef));
	free(copy);
	copy = exact_copy(code_only, sizeof(code_only) - 1);
	ck_assert(!proto_parse_error(copy, sizeof(code_only) - 1, &ef));
	free(copy);
	/* empty body: not even the terminator */
	copy = exact_copy("", 0);
	ck_assert(!proto_parse_error(copy, 0, &ef));
	free(copy);
	/* just the terminator: well formed, no fields */
	ck_assert(proto_parse_error((const uint8_t *)"", 1, &ef));
	ck_assert_ptr_null(ef.severity);
	ck_assert_ptr_null(ef.message);
}
END_TEST

START_TEST(test_parse_param_status)
{
	static const char good[] = "TimeZone\0Europe/Paris\0";
	static const char no_value[] = "TimeZone\0";
	static const char cut_value[] = "TimeZone\0Europe";
	const char *name = NULL, *value = NULL;
	uint8_t *copy;

	copy = exact_copy(good, sizeof(good) - 1);
	ck_assert(proto_parse_param_status(copy, sizeof(good) - 1, &name, &value));
	ck_assert_str_eq(name, "TimeZone");
	ck_assert_str_eq(value, "Europe/Paris");
	free(copy);
	copy = exact_copy(no_value, sizeof(no_value) - 1);
	ck_assert(!proto_parse_param_status(copy, sizeof(no_value) - 1, &name, &value));
	free(copy);
	copy = exact_copy(cut_value, sizeof(cut_value) - 1);
	ck_assert(!proto_parse_param_status(copy, sizeof(cut_value) - 1, &name, &value));
	free(copy);
	ck_assert(!proto_parse_param_status((const uint8_t *)"", 0, &name, &value));
	/* an empty value is fine */
	ck_assert(proto_parse_param_status((const uint8_t *)"application_name\0", 18, &name, &value));
	ck_assert_str_eq(value, "");
}
END_TEST

START_TEST(test_parse_auth)
{
	const uint8_t md5[8] = {0, 0, 0, AUTH_REQ_MD5, 0xde, 0xad, 0xbe, 0xef};
	const uint8_t ok[4] = {0, 0, 0, AUTH_REQ_OK};
	uint32_t code = 99;
	const uint8_t *data = NULL;
	size_t datalen = 99;

	ck_assert(proto_parse_auth(md5, sizeof(md5), &code, &data, &datalen));
	ck_assert_uint_eq(code, AUTH_REQ_MD5);
	ck_assert_uint_eq(datalen, 4);
	ck_assert_ptr_eq(data, md5 + 4);
	ck_assert(proto_parse_auth(ok, sizeof(ok), &code, &data, &datalen));
	ck_assert_uint_eq(code, AUTH_REQ_OK);
	ck_assert_uint_eq(datalen, 0);
	for (size_t short_len = 0; short_len < 4; short_len++)
		ck_assert(!proto_parse_auth(ok, short_len, &code, &data, &datalen));
}
END_TEST

START_TEST(test_parse_backend_key)
{
	const uint8_t body[9] = {0, 0, 0x30, 0x39, 0x12, 0x34, 0x56, 0x78, 0xff};
	uint32_t pid = 0, key = 0;

	ck_assert(proto_parse_backend_key(body, 8, &pid, &key));
	ck_assert_uint_eq(pid, 12345);
	ck_assert_uint_eq(key, 0x12345678);
	ck_assert(!proto_parse_backend_key(body, 7, &pid, &key));
	ck_assert(!proto_parse_backend_key(body, 9, &pid, &key));
	ck_assert(!proto_parse_backend_key(body, 0, &pid, &key));
}
END_TEST

START_TEST(test_reader_bounds)
{
	const uint8_t body[] = {'a', 'b', 0, 0, 0, 0, 1, 0x2a};
	struct proto_reader r;

	proto_reader_init(&r, body, sizeof(body));
	ck_assert_str_eq(proto_reader_string(&r), "ab");
	ck_assert_uint_eq(proto_reader_u32(&r), 1);
	ck_assert_uint_eq(proto_reader_u8(&r), 0x2a);
	ck_assert(!r.bad);
	/* past the end: zero values and a sticky bad flag */
	ck_assert_uint_eq(proto_reader_u8(&r), 0);
	ck_assert(r.bad);
	ck_assert_ptr_null(proto_reader_string(&r));

	proto_reader_init(&r, body, sizeof(body));
	ck_assert_ptr_eq(proto_reader_bytes(&r, 3), body);
	ck_assert_ptr_null(proto_reader_bytes(&r, 6));
	ck_assert(r.bad);
	ck_assert_uint_eq(proto_reader_u32(&r), 0); /* stays bad even if it would fit */

	proto_reader_init(&r, body, 3);
	ck_assert_uint_eq(proto_reader_u32(&r), 0);
	ck_assert(r.bad);
}
END_TEST

/* --- builders, read back ------------------------------------------------------ */

START_TEST(test_build_error_roundtrip)
{
	struct iobuf_pool pool;
	struct iobuf *buf = NULL;
	struct proto_error_fields ef;
	size_t len;
	uint8_t *body;

	iobuf_pool_init(&pool, 4096, 4);
	ck_assert(proto_build_error(&pool, &buf, "FATAL", "28P01",
				    "password authentication failed for user \"x\"", "some detail"));
	ck_assert(proto_build_error(&pool, &buf, "ERROR", "08P01", "no detail", NULL));
	ck_assert(proto_build_notice(&pool, &buf, "00000", "just so you know"));

	body = take_message(buf, 'E', &len);
	ck_assert(proto_parse_error(body, len, &ef));
	ck_assert_str_eq(ef.severity, "FATAL");
	ck_assert_str_eq(ef.sqlstate, "28P01");
	ck_assert_str_eq(ef.message, "password authentication failed for user \"x\"");
	ck_assert_str_eq(ef.detail, "some detail");
	free(body);

	body = take_message(buf, 'E', &len);
	ck_assert(proto_parse_error(body, len, &ef));
	ck_assert_str_eq(ef.severity, "ERROR");
	ck_assert_str_eq(ef.message, "no detail");
	ck_assert_ptr_null(ef.detail);
	free(body);

	body = take_message(buf, 'N', &len);
	ck_assert(proto_parse_error(body, len, &ef));
	ck_assert_str_eq(ef.severity, "NOTICE");
	ck_assert_str_eq(ef.sqlstate, "00000");
	ck_assert_str_eq(ef.message, "just so you know");
	free(body);

	ck_assert_uint_eq(iobuf_len(buf), 0);
	iobuf_put(&pool, buf);
	ck_assert_int_eq(pool.nused, 0);
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_build_auth_roundtrip)
{
	struct iobuf_pool pool;
	struct iobuf *buf = NULL;
	const uint8_t salt[4] = {1, 2, 3, 4};
	static const char sasl[] = "SCRAM-SHA-256\0\0";
	uint32_t code;
	const uint8_t *data;
	size_t datalen, len;
	uint8_t *body;

	iobuf_pool_init(&pool, 4096, 4);
	ck_assert(proto_build_auth(&pool, &buf, AUTH_REQ_OK, NULL, 0));
	ck_assert(proto_build_auth(&pool, &buf, AUTH_REQ_MD5, salt, sizeof(salt)));
	ck_assert(proto_build_auth(&pool, &buf, AUTH_REQ_SASL, sasl, sizeof(sasl) - 1));

	body = take_message(buf, 'R', &len);
	ck_assert_uint_eq(len, 4);
	ck_assert(proto_parse_auth(body, len, &code, &data, &datalen));
	ck_assert_uint_eq(code, AUTH_REQ_OK);
	ck_assert_uint_eq(datalen, 0);
	free(body);

	body = take_message(buf, 'R', &len);
	ck_assert(proto_parse_auth(body, len, &code, &data, &datalen));
	ck_assert_uint_eq(code, AUTH_REQ_MD5);
	ck_assert_uint_eq(datalen, 4);
	ck_assert_mem_eq(data, salt, 4);
	free(body);

	body = take_message(buf, 'R', &len);
	ck_assert(proto_parse_auth(body, len, &code, &data, &datalen));
	ck_assert_uint_eq(code, AUTH_REQ_SASL);
	ck_assert_uint_eq(datalen, sizeof(sasl) - 1);
	ck_assert_mem_eq(data, sasl, datalen);
	free(body);

	iobuf_put(&pool, buf);
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_build_small_messages_roundtrip)
{
	struct iobuf_pool pool;
	struct iobuf *buf = NULL;
	const char *name, *value;
	uint32_t pid, key;
	size_t len;
	uint8_t *body;

	iobuf_pool_init(&pool, 4096, 4);
	ck_assert(proto_build_param_status(&pool, &buf, "client_encoding", "UTF8"));
	ck_assert(proto_build_backend_key(&pool, &buf, 4242, 0xfeedf00d));
	ck_assert(proto_build_ready(&pool, &buf, 'T'));
	ck_assert(proto_build_query(&pool, &buf, "SELECT 1"));
	ck_assert(proto_build_terminate(&pool, &buf));

	body = take_message(buf, 'S', &len);
	ck_assert(proto_parse_param_status(body, len, &name, &value));
	ck_assert_str_eq(name, "client_encoding");
	ck_assert_str_eq(value, "UTF8");
	free(body);

	body = take_message(buf, 'K', &len);
	ck_assert(proto_parse_backend_key(body, len, &pid, &key));
	ck_assert_uint_eq(pid, 4242);
	ck_assert_uint_eq(key, 0xfeedf00d);
	free(body);

	body = take_message(buf, 'Z', &len);
	ck_assert_uint_eq(len, 1);
	ck_assert_int_eq(body[0], 'T');
	free(body);

	body = take_message(buf, 'Q', &len);
	ck_assert_uint_eq(len, sizeof("SELECT 1"));
	ck_assert_mem_eq(body, "SELECT 1", sizeof("SELECT 1"));
	free(body);

	body = take_message(buf, 'X', &len);
	ck_assert_uint_eq(len, 0);
	free(body);

	ck_assert_uint_eq(iobuf_len(buf), 0);
	iobuf_put(&pool, buf);
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_build_password_and_sasl_roundtrip)
{
	struct iobuf_pool pool;
	struct iobuf *buf = NULL;
	static const char md5resp[] = "md5e5f1e1a4b1d2c3e4f5061728394a5b6";
	static const char first[] = "n,,n=,r=abcdef";
	struct proto_reader r;
	const uint8_t *data;
	size_t len;
	uint8_t *body;

	iobuf_pool_init(&pool, 4096, 4);
	ck_assert(proto_build_password(&pool, &buf, md5resp, sizeof(md5resp)));
	ck_assert(proto_build_sasl_initial(&pool, &buf, "SCRAM-SHA-256", first, sizeof(first) - 1));
	/* "" rather than NULL: m_bytes hands its pointer to memcpy even for 0
	 * bytes, which is undefined for NULL (UBSan reports it) */
	ck_assert(proto_build_sasl_initial(&pool, &buf, "SCRAM-SHA-256", "", 0));

	body = take_message(buf, 'p', &len);
	ck_assert_uint_eq(len, sizeof(md5resp));
	ck_assert_mem_eq(body, md5resp, len);
	free(body);

	body = take_message(buf, 'p', &len);
	proto_reader_init(&r, body, len);
	ck_assert_str_eq(proto_reader_string(&r), "SCRAM-SHA-256");
	ck_assert_uint_eq(proto_reader_u32(&r), sizeof(first) - 1);
	data = proto_reader_bytes(&r, sizeof(first) - 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_mem_eq(data, first, sizeof(first) - 1);
	ck_assert(!r.bad);
	ck_assert_uint_eq(r.pos, len);
	free(body);

	body = take_message(buf, 'p', &len);
	proto_reader_init(&r, body, len);
	ck_assert_str_eq(proto_reader_string(&r), "SCRAM-SHA-256");
	ck_assert_uint_eq(proto_reader_u32(&r), 0);
	ck_assert_uint_eq(r.pos, len);
	free(body);

	iobuf_put(&pool, buf);
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_build_startup_roundtrip)
{
	struct iobuf_pool pool;
	struct iobuf *buf = NULL;
	const char *const names[] = {"user", "database", "application_name", "TimeZone"};
	const char *const values[] = {"alice", "sales", "", "UTC"};
	struct proto_startup st;
	uint32_t len, code;
	char err[128];

	iobuf_pool_init(&pool, 4096, 4);
	ck_assert(proto_build_startup(&pool, &buf, names, values, 4));
	ck_assert_int_eq(proto_read_startup_header(buf->data + buf->start, iobuf_len(buf), &len,
						   &code), 1);
	ck_assert_uint_eq(len, iobuf_len(buf));
	ck_assert_uint_eq(code, PROTO_VERSION_3);
	ck_assert_int_eq(proto_parse_startup(buf->data + buf->start, len, &st, err, sizeof(err)), 0);
	ck_assert_int_eq(st.count, 4);
	for (int i = 0; i < 4; i++) {
		ck_assert_str_eq(st.names[i], names[i]);
		ck_assert_str_eq(st.values[i], values[i]);
	}
	proto_startup_free(&st);
	iobuf_put(&pool, buf);

	/* no parameters at all still makes a well-formed packet */
	buf = NULL;
	ck_assert(proto_build_startup(&pool, &buf, NULL, NULL, 0));
	ck_assert_uint_eq(iobuf_len(buf), 9);
	ck_assert_int_eq(proto_parse_startup(buf->data + buf->start, 9, &st, err, sizeof(err)), 0);
	ck_assert_int_eq(st.count, 0);
	proto_startup_free(&st);
	iobuf_put(&pool, buf);
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_build_cancel_roundtrip)
{
	struct iobuf_pool pool;
	struct iobuf *buf = NULL;
	uint32_t len, code;

	iobuf_pool_init(&pool, 4096, 4);
	ck_assert(proto_build_cancel(&pool, &buf, 777, 0x89abcdef));
	ck_assert_uint_eq(iobuf_len(buf), 16);
	ck_assert_int_eq(proto_read_startup_header(buf->data + buf->start, 16, &len, &code), 1);
	ck_assert_uint_eq(len, 16);
	ck_assert_uint_eq(code, PROTO_CANCEL_CODE);
	ck_assert_uint_eq(proto_get_u32(buf->data + buf->start + 8), 777);
	ck_assert_uint_eq(proto_get_u32(buf->data + buf->start + 12), 0x89abcdef);
	iobuf_put(&pool, buf);
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_build_raw_roundtrip)
{
	struct iobuf_pool pool;
	struct iobuf *buf = NULL;
	const uint8_t bytes[] = {0, 1, 2, 0, 255};
	size_t len;
	uint8_t *body;

	iobuf_pool_init(&pool, 4096, 4);
	ck_assert(proto_build_raw(&pool, &buf, 'd', bytes, sizeof(bytes)));
	ck_assert(proto_build_raw(&pool, &buf, 'c', NULL, 0));
	body = take_message(buf, 'd', &len);
	ck_assert_uint_eq(len, sizeof(bytes));
	ck_assert_mem_eq(body, bytes, len);
	free(body);
	body = take_message(buf, 'c', &len);
	ck_assert_uint_eq(len, 0);
	free(body);
	iobuf_put(&pool, buf);
	iobuf_pool_destroy(&pool);
}
END_TEST

/* --- builders and buffer growth --------------------------------------------- */

START_TEST(test_build_grows_past_block)
{
	struct iobuf_pool pool;
	struct iobuf *buf = NULL;
	struct proto_error_fields ef;
	char *message = malloc(10 * 1024 + 1);
	size_t len;
	uint8_t *body;

	ck_assert_ptr_nonnull(message);
	for (size_t i = 0; i < 10 * 1024; i++)
		message[i] = (char)('a' + i % 26);
	message[10 * 1024] = '\0';

	iobuf_pool_init(&pool, SMALL_BLOCK, 4);
	ck_assert(proto_build_ready(&pool, &buf, 'I')); /* a message already queued */
	ck_assert(proto_build_error(&pool, &buf, "ERROR", "54000", message, message));
	ck_assert_uint_gt(buf->cap, SMALL_BLOCK);
	/* the small block went back to the pool when the buffer grew */
	ck_assert_int_eq(pool.nused, 1);
	ck_assert_int_eq(pool.nfree, 1);

	body = take_message(buf, 'Z', &len);
	ck_assert_int_eq(body[0], 'I');
	free(body);
	body = take_message(buf, 'E', &len);
	ck_assert(proto_parse_error(body, len, &ef));
	ck_assert_str_eq(ef.message, message);
	ck_assert_str_eq(ef.detail, message);
	ck_assert_str_eq(ef.sqlstate, "54000");
	free(body);
	ck_assert_uint_eq(iobuf_len(buf), 0);

	/* the grown block is freed, not pooled */
	iobuf_put(&pool, buf);
	ck_assert_int_eq(pool.nused, 0);
	ck_assert_int_eq(pool.nfree, 1);
	iobuf_pool_destroy(&pool);
	free(message);
}
END_TEST

START_TEST(test_build_grows_every_builder)
{
	/* each builder on its own outgrows a fresh small block */
	struct iobuf_pool pool;
	struct iobuf *buf = NULL;
	char big[300];
	const char *names[] = {"user", "application_name"};
	const char *values[] = {"u", big};
	const char *name, *value;
	struct proto_startup st;
	char err[128];
	size_t len;
	uint8_t *body;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	iobuf_pool_init(&pool, SMALL_BLOCK, 4);

	ck_assert(proto_build_param_status(&pool, &buf, "application_name", big));
	body = take_message(buf, 'S', &len);
	ck_assert(proto_parse_param_status(body, len, &name, &value));
	ck_assert_str_eq(value, big);
	free(body);
	iobuf_put(&pool, buf);
	buf = NULL;

	ck_assert(proto_build_query(&pool, &buf, big));
	body = take_message(buf, 'Q', &len);
	ck_assert_str_eq((const char *)body, big);
	free(body);
	iobuf_put(&pool, buf);
	buf = NULL;

	ck_assert(proto_build_auth(&pool, &buf, AUTH_REQ_SASL_CONTINUE, big, sizeof(big)));
	body = take_message(buf, 'R', &len);
	ck_assert_uint_eq(len, 4 + sizeof(big));
	free(body);
	iobuf_put(&pool, buf);
	buf = NULL;

	ck_assert(proto_build_sasl_initial(&pool, &buf, "SCRAM-SHA-256", big, sizeof(big)));
	body = take_message(buf, 'p', &len);
	ck_assert_uint_eq(len, sizeof("SCRAM-SHA-256") + 4 + sizeof(big));
	free(body);
	iobuf_put(&pool, buf);
	buf = NULL;

	ck_assert(proto_build_startup(&pool, &buf, names, values, 2));
	ck_assert_int_eq(proto_parse_startup(buf->data + buf->start, iobuf_len(buf), &st, err,
					     sizeof(err)), 0);
	ck_assert_str_eq(proto_startup_get(&st, "application_name"), big);
	proto_startup_free(&st);
	iobuf_put(&pool, buf);

	ck_assert_int_eq(pool.nused, 0);
	iobuf_pool_destroy(&pool);
}
END_TEST

START_TEST(test_build_after_partial_consume)
{
	/* A block whose front was already written out: the builder compacts it
	 * in the middle of a message, and the length word must still land on
	 * that message. */
	struct iobuf_pool pool;
	struct iobuf *buf = NULL;
	struct proto_error_fields ef;
	char detail[151];
	uint8_t filler[100];
	struct iobuf *before;
	size_t len;
	uint8_t *body;

	memset(detail, 'd', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	for (size_t i = 0; i < sizeof(filler); i++)
		filler[i] = (uint8_t)i;
	iobuf_pool_init(&pool, 256, 4);
	ck_assert(iobuf_append(&pool, &buf, filler, sizeof(filler)));
	buf->start = 90; /* 90 bytes sent, 10 still queued */
	before = buf;

	/* the error's size hint leaves out the detail: room for the start of the
	 * message at the end, not for all of it, which compaction provides */
	ck_assert(proto_build_error(&pool, &buf, "ERROR", "XX000", "m", detail));
	ck_assert_ptr_eq(buf, before);
	ck_assert_uint_eq(buf->start, 0);
	ck_assert_mem_eq(buf->data, filler + 90, 10);
	buf->start = 10;
	body = take_message(buf, 'E', &len);
	ck_assert(proto_parse_error(body, len, &ef));
	ck_assert_str_eq(ef.message, "m");
	ck_assert_str_eq(ef.detail, detail);
	free(body);
	ck_assert_uint_eq(iobuf_len(buf), 0);

	/* the same with a reallocation instead of a compaction */
	ck_assert(iobuf_append(&pool, &buf, filler, sizeof(filler)));
	buf->start = buf->end - 10;
	char huge[600];
	memset(huge, 'h', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	ck_assert(proto_build_error(&pool, &buf, "ERROR", "XX000", "m", huge));
	ck_assert_uint_gt(buf->cap, 256);
	ck_assert_mem_eq(buf->data + buf->start, filler + 90, 10);
	buf->start += 10;
	body = take_message(buf, 'E', &len);
	ck_assert(proto_parse_error(body, len, &ef));
	ck_assert_str_eq(ef.detail, huge);
	free(body);

	iobuf_put(&pool, buf);
	ck_assert_int_eq(pool.nused, 0);
	iobuf_pool_destroy(&pool);
}
END_TEST

/* --- frontend message types ----------------------------------------------------- */

START_TEST(test_client_message_known)
{
	static const char known[] = "QPBEDCSHFdcfX";
	int count = 0;

	for (const char *t = known; *t; t++)
		ck_assert_msg(proto_client_message_known((uint8_t)*t), "'%c' should be known", *t);
	for (int t = 0; t < 256; t++)
		count += proto_client_message_known((uint8_t)t);
	ck_assert_int_eq(count, (int)strlen(known));
	/* startup-phase and backend-only types are not */
	ck_assert(!proto_client_message_known('p'));
	ck_assert(!proto_client_message_known('Z'));
	ck_assert(!proto_client_message_known('R'));
	ck_assert(!proto_client_message_known(0));
}
END_TEST

static Suite *proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc;

	tc = tcase_create("framing");
	tcase_add_test(tc, test_header_short_input);
	tcase_add_test(tc, test_header_lengths);
	tcase_add_test(tc, test_header_only_reads_five_bytes);
	tcase_add_test(tc, test_startup_header_bounds);
	suite_add_tcase(s, tc);

	tc = tcase_create("startup");
	tcase_add_test(tc, test_startup_good);
	tcase_add_test(tc, test_startup_owns_its_strings);
	tcase_add_test(tc, test_startup_other_version_is_reported);
	tcase_add_test(tc, test_startup_missing_terminator);
	tcase_add_test(tc, test_startup_name_without_value);
	tcase_add_test(tc, test_startup_trailing_garbage);
	tcase_add_test(tc, test_startup_too_many_params);
	tcase_add_test(tc, test_startup_empty);
	tcase_add_test(tc, test_startup_bad_length);
	tcase_add_test(tc, test_startup_error_never_echoes_input);
	suite_add_tcase(s, tc);

	tc = tcase_create("parsers");
	tcase_add_test(tc, test_parse_error_fields);
	tcase_add_test(tc, test_parse_error_severity_order);
	tcase_add_test(tc, test_parse_error_malformed);
	tcase_add_test(tc, test_error_class);
	tcase_add_test(tc, test_parse_param_status);
	tcase_add_test(tc, test_parse_auth);
	tcase_add_test(tc, test_parse_backend_key);
	tcase_add_test(tc, test_reader_bounds);
	suite_add_tcase(s, tc);

	tc = tcase_create("builders");
	tcase_add_test(tc, test_build_error_roundtrip);
	tcase_add_test(tc, test_build_auth_roundtrip);
	tcase_add_test(tc, test_build_small_messages_roundtrip);
	tcase_add_test(tc, test_build_password_and_sasl_roundtrip);
	tcase_add_test(tc, test_build_startup_roundtrip);
	tcase_add_test(tc, test_build_cancel_roundtrip);
	tcase_add_test(tc, test_build_raw_roundtrip);
	tcase_add_test(tc, test_build_grows_past_block);
	tcase_add_test(tc, test_build_grows_every_builder);
	tcase_add_test(tc, test_build_after_partial_consume);
	tcase_add_test(tc, test_client_message_known);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SCRAM-SHA-256 exchanges (RFC 5802, RFC 7677) for both ends of a login:
 * parsing and building the four messages, with OpenSSL for the primitives. */
#include "scram.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define SECRET_PREFIX "SCRAM-SHA-256$"
#define SERVER_SALT_LEN 16
#define SERVER_ITERATIONS 4096
/* 18 random bytes make 24 base64 characters, the nonce size libpq and
 * PostgreSQL use. */
#define NONCE_RAW_LEN 18
/* A server-first-message asking for more rounds than this is refused rather
 * than tying up the event loop in PBKDF2. */
#define CLIENT_MAX_ITERATIONS 1000000

#define B64_LEN(n) (((n) + 2) / 3 * 4)

const char *scram_test_nonce = NULL;

/* --- base64 ------------------------------------------------------------ */

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* OUT holds B64_LEN(LEN) + 1 bytes. */
static void b64_encode(const uint8_t *in, size_t len, char *out)
{
	size_t i = 0;

	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*out++ = b64_chars[v >> 18 & 63];
		*out++ = b64_chars[v >> 12 & 63];
		*out++ = b64_chars[v >> 6 & 63];
		*out++ = b64_chars[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		*out++ = b64_chars[v >> 18 & 63];
		*out++ = b64_chars[v >> 12 & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*out++ = b64_chars[v >> 18 & 63];
		*out++ = b64_chars[v >> 12 & 63];
		*out++ = b64_chars[v >> 6 & 63];
		*out++ = '=';
	}
	*out = '\0';
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* b64_decode decodes LEN characters of canonical padded base64 without
 * whitespace. With OUT NULL it only validates; otherwise the result must fit
 * in CAP bytes. Empty input is refused: no SCRAM field is legitimately
 * empty. */
static bool b64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t pad = 0;
	size_t n;
	size_t o = 0;

	if (len == 0 || len % 4 != 0)
		return false;
	if (in[len - 1] == '=') {
		pad = 1;
		if (in[len - 2] == '=')
			pad = 2;
	}
	n = len / 4 * 3 - pad;
	if (out != NULL && n > cap)
		return false;

	for (size_t i = 0; i < len; i += 4) {
		uint32_t w = 0;

		for (size_t j = 0; j < 4; j++) {
			int v = 0;

			if (i + j < len - pad) {
				v = b64_value(in[i + j]);
				if (v < 0)
					return false;
			}
			w = w << 6 | (uint32_t)v;
		}
		/* Bits left over after the last byte must be zero, so that each
		 * value has one encoding. */
		if (i + 4 == len && pad > 0 && (w & ((1u << (8 * pad)) - 1)) != 0)
			return false;
		for (size_t j = 0; j < 3 && o < n; j++, o++) {
			if (out != NULL)
				out[o] = (uint8_t)(w >> (16 - 8 * j));
		}
	}
	if (out_len != NULL)
		*out_len = n;
	return true;
}

/* --- primitives -------------------------------------------------------- */

static bool hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
			uint8_t out[SCRAM_KEY_LEN])
{
	unsigned int out_len = 0;

	if (HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) == NULL)
		return false;
	return out_len == SCRAM_KEY_LEN;
}

static bool sha256(const void *data, size_t len, uint8_t out[SCRAM_KEY_LEN])
{
	unsigned int out_len = 0;

	if (EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL) != 1)
		return false;
	return out_len == SCRAM_KEY_LEN;
}

/* password_prepare stands for SASLprep (RFC 4013). For ASCII passwords
 * SASLprep is the identity or fails (control characters are prohibited), and
 * PostgreSQL uses the raw password when it fails, so the raw password is
 * right. Non-ASCII passwords are also used raw: this matches PostgreSQL only
 * when NFKC normalization and the mapping tables leave them unchanged
 * (already-normalized text without soft hyphens, zero-width or non-ASCII
 * spaces). A full SASLprep needs Unicode tables we do not carry yet. */
static const char *password_prepare(const char *password)
{
	return password;
}

/* derive_keys computes ClientKey and ServerKey from PASSWORD. */
static bool derive_keys(const char *password, const uint8_t *salt, size_t salt_len, int iterations,
			uint8_t client_key[SCRAM_KEY_LEN], uint8_t server_key[SCRAM_KEY_LEN])
{
	const char *prepared = password_prepare(password);
	size_t prepared_len = strlen(prepared);
	uint8_t salted[SCRAM_KEY_LEN];
	bool ok = false;

	if (prepared_len > INT_MAX || salt_len > INT_MAX || iterations <= 0)
		return false;
	if (PKCS5_PBKDF2_HMAC(prepared, (int)prepared_len, salt, (int)salt_len, iterations,
			      EVP_sha256(), SCRAM_KEY_LEN, salted) != 1)
		goto done;
	if (!hmac_sha256(salted, sizeof(salted), "Client Key", 10, client_key))
		goto done;
	if (!hmac_sha256(salted, sizeof(salted), "Server Key", 10, server_key))
		goto done;
	ok = true;
done:
	OPENSSL_cleanse(salted, sizeof(salted));
	return ok;
}

/* --- message parsing --------------------------------------------------- */

/* A position in a message that is not NUL-terminated. */
struct cursor {
	const char *p;
	const char *end;
};

static bool at_end(const struct cursor *c)
{
	return c->p == c->end;
}

static bool take_comma(struct cursor *c)
{
	if (c->p == c->end || *c->p != ',')
		return false;
	c->p++;
	return true;
}

/* read_attr expects "NAME=" at the cursor and returns the value, which runs
 * to the next ',' or the end; the cursor stops on that ',' or the end. NAME
 * 0 accepts any attribute letter (extensions). */
static bool read_attr(struct cursor *c, char name, const char **val, size_t *val_len)
{
	const char *start;
	const char *comma;

	if (c->end - c->p < 2 || c->p[1] != '=')
		return false;
	if (name != 0 && c->p[0] != name)
		return false;
	if (!((c->p[0] >= 'a' && c->p[0] <= 'z') || (c->p[0] >= 'A' && c->p[0] <= 'Z')))
		return false;
	start = c->p + 2;
	comma = memchr(start, ',', (size_t)(c->end - start));
	c->p = comma != NULL ? comma : c->end;
	*val = start;
	*val_len = (size_t)(c->p - start);
	return true;
}

/* skip_extensions consumes ",x=..." attributes up to the end. */
static bool skip_extensions(struct cursor *c)
{
	const char *val;
	size_t len;

	while (!at_end(c)) {
		if (!take_comma(c) || !read_attr(c, 0, &val, &len))
			return false;
	}
	return true;
}

/* A nonce is printable ASCII other than ','. */
static bool valid_nonce(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return false;
	}
	return true;
}

/* parse_positive_int reads a decimal integer in 1..INT_MAX. */
static bool parse_positive_int(const char *s, size_t len, int *out)
{
	long long v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
		if (v > INT_MAX)
			return false;
	}
	if (v == 0)
		return false;
	*out = (int)v;
	return true;
}

/* Every message is length-delimited input from a peer; an embedded NUL
 * would cut our C-string copies short, so it is refused up front. */
static bool usable_message(const char *msg, size_t len)
{
	return msg != NULL && len > 0 && memchr(msg, '\0', len) == NULL;
}

static char *copy_string(const char *s, size_t len)
{
	char *copy = malloc(len + 1);

	if (copy == NULL)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

/* auth_signature computes HMAC(KEY, AuthMessage) where AuthMessage is
 * client-first-bare "," server-first "," client-final-without-proof. */
static bool auth_signature(const uint8_t key[SCRAM_KEY_LEN], const char *client_first_bare,
			   const char *server_first, const char *final_bare, size_t final_bare_len,
			   uint8_t out[SCRAM_KEY_LEN])
{
	size_t a = strlen(client_first_bare);
	size_t b = strlen(server_first);
	size_t total = a + 1 + b + 1 + final_bare_len;
	char *msg = malloc(total);
	bool ok;

	if (msg == NULL)
		return false;
	memcpy(msg, client_first_bare, a);
	msg[a] = ',';
	memcpy(msg + a + 1, server_first, b);
	msg[a + 1 + b] = ',';
	memcpy(msg + a + 1 + b + 1, final_bare, final_bare_len);
	ok = hmac_sha256(key, SCRAM_KEY_LEN, msg, total, out);
	free(msg);
	return ok;
}

/* make_nonce writes our nonce (scram_test_nonce or random) into OUT of CAP
 * bytes. */
static bool make_nonce(char *out, size_t cap)
{
	uint8_t raw[NONCE_RAW_LEN];

	if (scram_test_nonce != NULL) {
		size_t len = strlen(scram_test_nonce);

		if (!valid_nonce(scram_test_nonce, len) || len >= cap)
			return false;
		memcpy(out, scram_test_nonce, len + 1);
		return true;
	}
	if (cap < B64_LEN(sizeof(raw)) + 1 || RAND_bytes(raw, sizeof(raw)) != 1)
		return false;
	b64_encode(raw, sizeof(raw), out);
	return true;
}

/* --- secrets ----------------------------------------------------------- */

bool scram_parse_secret(const char *text, struct scram_secret *out)
{
	struct scram_secret s;
	const char *p, *colon, *dollar;
	size_t len;

	if (text == NULL || strncmp(text, SECRET_PREFIX, strlen(SECRET_PREFIX)) != 0)
		return false;
	memset(&s, 0, sizeof(s));
	p = text + strlen(SECRET_PREFIX);

	colon = strchr(p, ':');
	if (colon == NULL || !parse_positive_int(p, (size_t)(colon - p), &s.iterations))
		return false;
	p = colon + 1;
	dollar = strchr(p, '$');
	if (dollar == NULL ||
	    !b64_decode(p, (size_t)(dollar - p), s.salt, sizeof(s.salt), &s.salt_len))
		return false;
	p = dollar + 1;
	colon = strchr(p, ':');
	if (colon == NULL ||
	    !b64_decode(p, (size_t)(colon - p), s.stored_key, sizeof(s.stored_key), &len) ||
	    len != SCRAM_KEY_LEN)
		return false;
	p = colon + 1;
	if (!b64_decode(p, strlen(p), s.server_key, sizeof(s.server_key), &len) ||
	    len != SCRAM_KEY_LEN)
		return false;
	*out = s;
	OPENSSL_cleanse(&s, sizeof(s));
	return true;
}

bool scram_secret_from_password(const char *password, const uint8_t *salt, size_t salt_len,
				int iterations, struct scram_secret *out)
{
	uint8_t client_key[SCRAM_KEY_LEN];
	bool ok = false;

	if (password == NULL || salt == NULL || salt_len == 0 || salt_len > SCRAM_MAX_SALT ||
	    iterations <= 0)
		return false;
	memset(out, 0, sizeof(*out));
	if (!derive_keys(password, salt, salt_len, iterations, client_key, out->server_key))
		goto done;
	if (!sha256(client_key, sizeof(client_key), out->stored_key))
		goto done;
	out->iterations = iterations;
	memcpy(out->salt, salt, salt_len);
	out->salt_len = salt_len;
	ok = true;
done:
	OPENSSL_cleanse(client_key, sizeof(client_key));
	return ok;
}

bool scram_keys_from_password(const char *password, const struct scram_secret *secret,
			      uint8_t client_key[SCRAM_KEY_LEN], uint8_t server_key[SCRAM_KEY_LEN])
{
	uint8_t stored[SCRAM_KEY_LEN];

	if (!password || !derive_keys(password, secret->salt, secret->salt_len, secret->iterations,
				      client_key, server_key))
		return false;
	bool ok = sha256(client_key, SCRAM_KEY_LEN, stored) &&
		  CRYPTO_memcmp(stored, secret->stored_key, SCRAM_KEY_LEN) == 0 &&
		  CRYPTO_memcmp(server_key, secret->server_key, SCRAM_KEY_LEN) == 0;
	OPENSSL_cleanse(stored, sizeof(stored));
	if (!ok) {
		OPENSSL_cleanse(client_key, SCRAM_KEY_LEN);
		OPENSSL_cleanse(server_key, SCRAM_KEY_LEN);
	}
	return ok;
}

/* --- server side ------------------------------------------------------- */

bool scram_server_init(struct scram_server *st, const char *secret, const char *password)
{
	uint8_t salt[SERVER_SALT_LEN];

	memset(st, 0, sizeof(*st));
	if (secret != NULL)
		return scram_parse_secret(secret, &st->secret);
	if (password == NULL || RAND_bytes(salt, sizeof(salt)) != 1)
		return false;
	return scram_secret_from_password(password, salt, sizeof(salt), SERVER_ITERATIONS,
					  &st->secret);
}

char *scram_server_handle_first(struct scram_server *st, const char *msg, size_t len)
{
	struct cursor c;
	const char *val, *cnonce;
	size_t val_len, cnonce_len, snonce_len;
	char snonce[64];
	char salt_b64[B64_LEN(SCRAM_MAX_SALT) + 1];
	char *reply = NULL;
	int n;

	if (st->server_first != NULL || !usable_message(msg, len) || len < 3)
		return NULL;
	/* No channel binding is offered, so only "n,," (client does not
	 * support it) or "y,," (client does, but thinks we don't); "p=" and an
	 * authorization identity are refused. */
	if (memcmp(msg, "n,,", 3) != 0 && memcmp(msg, "y,,", 3) != 0)
		return NULL;

	c.p = msg + 3;
	c.end = msg + len;
	/* The username is ignored, as PostgreSQL does: the startup packet
	 * already named the user. A leading "m=" is a mandatory extension we
	 * do not know. */
	if (!read_attr(&c, 'n', &val, &val_len) || !take_comma(&c))
		return NULL;
	if (!read_attr(&c, 'r', &cnonce, &cnonce_len) || !valid_nonce(cnonce, cnonce_len))
		return NULL;
	if (!skip_extensions(&c))
		return NULL;

	if (!make_nonce(snonce, sizeof(snonce)))
		return NULL;
	snonce_len = strlen(snonce);
	if (cnonce_len + snonce_len >= sizeof(st->nonce))
		return NULL;
	memcpy(st->nonce, cnonce, cnonce_len);
	memcpy(st->nonce + cnonce_len, snonce, snonce_len + 1);
	memcpy(st->gs2_header, msg, 3);
	st->gs2_header[3] = '\0';

	b64_encode(st->secret.salt, st->secret.salt_len, salt_b64);
	n = snprintf(NULL, 0, "r=%s,s=%s,i=%d", st->nonce, salt_b64, st->secret.iterations);
	if (n < 0)
		return NULL;
	reply = malloc((size_t)n + 1);
	st->server_first = malloc((size_t)n + 1);
	st->client_first_bare = copy_string(msg + 3, len - 3);
	if (reply == NULL || st->server_first == NULL || st->client_first_bare == NULL)
		goto fail;
	snprintf(reply, (size_t)n + 1, "r=%s,s=%s,i=%d", st->nonce, salt_b64,
		 st->secret.iterations);
	memcpy(st->server_first, reply, (size_t)n + 1);
	return reply;

fail:
	free(reply);
	free(st->client_first_bare);
	free(st->server_first);
	st->client_first_bare = NULL;
	st->server_first = NULL;
	return NULL;
}

char *scram_server_handle_final(struct scram_server *st, const char *msg, size_t len)
{
	struct cursor c;
	const char *val, *proof_start = NULL;
	size_t val_len, proof_len = 0;
	char expected_cbind[B64_LEN(3) + 1];
	uint8_t proof[SCRAM_KEY_LEN];
	uint8_t signature[SCRAM_KEY_LEN];
	uint8_t client_key[SCRAM_KEY_LEN];
	uint8_t stored_key[SCRAM_KEY_LEN];
	uint8_t server_signature[SCRAM_KEY_LEN];
	size_t final_bare_len = 0;
	size_t decoded_len;
	char *reply = NULL;

	/* One proof per exchange: client_first_bare is dropped below whatever
	 * the outcome, so a second call finds it NULL. */
	if (st->client_first_bare == NULL || st->server_first == NULL)
		return NULL;
	if (!usable_message(msg, len))
		goto done;

	c.p = msg;
	c.end = msg + len;
	b64_encode((const uint8_t *)st->gs2_header, 3, expected_cbind);
	if (!read_attr(&c, 'c', &val, &val_len) || val_len != strlen(expected_cbind) ||
	    memcmp(val, expected_cbind, val_len) != 0)
		goto done;
	if (!take_comma(&c) || !read_attr(&c, 'r', &val, &val_len) ||
	    val_len != strlen(st->nonce) || memcmp(val, st->nonce, val_len) != 0)
		goto done;
	/* Extensions may follow the nonce; the proof comes last. */
	while (!at_end(&c)) {
		const char *comma = c.p;

		if (!take_comma(&c))
			goto done;
		if (c.end - c.p >= 2 && c.p[0] == 'p' && c.p[1] == '=') {
			final_bare_len = (size_t)(comma - msg);
			if (!read_attr(&c, 'p', &proof_start, &proof_len) || !at_end(&c))
				goto done;
			break;
		}
		if (!read_attr(&c, 0, &val, &val_len))
			goto done;
	}
	if (proof_start == NULL ||
	    !b64_decode(proof_start, proof_len, proof, sizeof(proof), &decoded_len) ||
	    decoded_len != SCRAM_KEY_LEN)
		goto done;

	/* ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); it is
	 * genuine when its hash is the StoredKey. */
	if (!auth_signature(st->secret.stored_key, st->client_first_bare, st->server_first, msg,
			    final_bare_len, signature))
		goto done;
	for (size_t i = 0; i < SCRAM_KEY_LEN; i++)
		client_key[i] = proof[i] ^ signature[i];
	if (!sha256(client_key, sizeof(client_key), stored_key) ||
	    CRYPTO_memcmp(stored_key, st->secret.stored_key, SCRAM_KEY_LEN) != 0)
		goto done;

	if (!auth_signature(st->secret.server_key, st->client_first_bare, st->server_first, msg,
			    final_bare_len, server_signature))
		goto done;
	reply = malloc(2 + B64_LEN(SCRAM_KEY_LEN) + 1);
	if (reply == NULL)
		goto done;
	memcpy(reply, "v=", 2);
	b64_encode(server_signature, sizeof(server_signature), reply + 2);
	memcpy(st->client_key, client_key, SCRAM_KEY_LEN);
	st->have_client_key = true;

done:
	OPENSSL_cleanse(client_key, sizeof(client_key));
	free(st->client_first_bare);
	st->client_first_bare = NULL;
	return reply;
}

void scram_server_free(struct scram_server *st)
{
	free(st->client_first_bare);
	free(st->server_first);
	OPENSSL_cleanse(st, sizeof(*st));
}

/* --- client side ------------------------------------------------------- */

bool scram_client_init_password(struct scram_client *st, const char *password)
{
	memset(st, 0, sizeof(*st));
	if (password == NULL)
		return false;
	st->password = strdup(password);
	return st->password != NULL;
}

bool scram_client_init_keys(struct scram_client *st, const uint8_t client_key[SCRAM_KEY_LEN],
			    const uint8_t server_key[SCRAM_KEY_LEN])
{
	memset(st, 0, sizeof(*st));
	st->use_keys = true;
	memcpy(st->client_key, client_key, SCRAM_KEY_LEN);
	memcpy(st->server_key, server_key, SCRAM_KEY_LEN);
	return true;
}

char *scram_client_first(struct scram_client *st)
{
	char *msg;
	size_t bare_len;

	if (st->client_first_bare != NULL ||
	    !make_nonce(st->client_nonce, sizeof(st->client_nonce)))
		return NULL;
	/* An empty username, as libpq sends: the server takes the user from
	 * the startup packet. */
	bare_len = strlen("n=,r=") + strlen(st->client_nonce);
	msg = malloc(3 + bare_len + 1);
	if (msg == NULL)
		return NULL;
	snprintf(msg, 3 + bare_len + 1, "n,,n=,r=%s", st->client_nonce);
	st->client_first_bare = strdup(msg + 3);
	if (st->client_first_bare == NULL) {
		free(msg);
		return NULL;
	}
	return msg;
}

char *scram_client_final(struct scram_client *st, const char *msg, size_t len)
{
	struct cursor c;
	const char *nonce, *salt_b64, *iter_text;
	size_t nonce_len, salt_b64_len, iter_len, salt_len;
	size_t cnonce_len = strlen(st->client_nonce);
	uint8_t salt[SCRAM_MAX_SALT];
	uint8_t client_key[SCRAM_KEY_LEN];
	uint8_t server_key[SCRAM_KEY_LEN];
	uint8_t stored_key[SCRAM_KEY_LEN];
	uint8_t signature[SCRAM_KEY_LEN];
	uint8_t proof[SCRAM_KEY_LEN];
	char *final_bare = NULL;
	char *reply = NULL;
	size_t final_bare_len;
	int iterations;

	if (st->client_first_bare == NULL || st->server_first != NULL || !usable_message(msg, len))
		return NULL;

	c.p = msg;
	c.end = msg + len;
	/* A leading "m=" (mandatory extension) fails the 'r' match. */
	if (!read_attr(&c, 'r', &nonce, &nonce_len) || !valid_nonce(nonce, nonce_len) ||
	    nonce_len <= cnonce_len || memcmp(nonce, st->client_nonce, cnonce_len) != 0)
		return NULL;
	if (!take_comma(&c) || !read_attr(&c, 's', &salt_b64, &salt_b64_len))
		return NULL;
	if (!take_comma(&c) || !read_attr(&c, 'i', &iter_text, &iter_len) ||
	    !parse_positive_int(iter_text, iter_len, &iterations))
		return NULL;
	if (!skip_extensions(&c))
		return NULL;

	if (st->use_keys) {
		/* The keys already fold in salt and iterations; the salt only
		 * has to be well-formed. */
		if (!b64_decode(salt_b64, salt_b64_len, NULL, 0, NULL))
			return NULL;
		memcpy(client_key, st->client_key, SCRAM_KEY_LEN);
		memcpy(server_key, st->server_key, SCRAM_KEY_LEN);
	} else {
		if (iterations > CLIENT_MAX_ITERATIONS ||
		    !b64_decode(salt_b64, salt_b64_len, salt, sizeof(salt), &salt_len) ||
		    !derive_keys(st->password, salt, salt_len, iterations, client_key, server_key))
			return NULL;
	}

	/* client-final-message-without-proof: "c=biws,r=NONCE" */
	final_bare_len = strlen("c=biws,r=") + nonce_len;
	final_bare = malloc(final_bare_len + 1);
	st->server_first = copy_string(msg, len);
	if (final_bare == NULL || st->server_first == NULL)
		goto fail;
	memcpy(final_bare, "c=biws,r=", 9);
	memcpy(final_bare + 9, nonce, nonce_len);
	final_bare[final_bare_len] = '\0';

	if (!sha256(client_key, sizeof(client_key), stored_key) ||
	    !auth_signature(stored_key, st->client_first_bare, st->server_first, final_bare,
			    final_bare_len, signature) ||
	    !auth_signature(server_key, st->client_first_bare, st->server_first, final_bare,
			    final_bare_len, st->expected_server_signature))
		goto fail;
	for (size_t i = 0; i < SCRAM_KEY_LEN; i++)
		proof[i] = client_key[i] ^ signature[i];

	reply = malloc(final_bare_len + 3 + B64_LEN(SCRAM_KEY_LEN) + 1);
	if (reply == NULL)
		goto fail;
	memcpy(reply, final_bare, final_bare_len);
	memcpy(reply + final_bare_len, ",p=", 3);
	b64_encode(proof, sizeof(proof), reply + final_bare_len + 3);
	goto done;

fail:
	free(st->server_first);
	st->server_first = NULL;
done:
	free(final_bare);
	OPENSSL_cleanse(client_key, sizeof(client_key));
	OPENSSL_cleanse(server_key, sizeof(server_key));
	return reply;
}

bool scram_client_verify(struct scram_client *st, const char *msg, size_t len)
{
	struct cursor c;
	const char *val;
	size_t val_len, sig_len;
	uint8_t sig[SCRAM_KEY_LEN];

	if (st->server_first == NULL || !usable_message(msg, len))
		return false;
	c.p = msg;
	c.end = msg + len;
	/* "e=..." (a server error) fails the 'v' match. */
	if (!read_attr(&c, 'v', &val, &val_len) ||
	    !b64_decode(val, val_len, sig, sizeof(sig), &sig_len) || sig_len != SCRAM_KEY_LEN ||
	    !skip_extensions(&c))
		return false;
	return CRYPTO_memcmp(sig, st->expected_server_signature, SCRAM_KEY_LEN) == 0;
}

void scram_client_free(struct scram_client *st)
{
	if (st->password != NULL) {
		OPENSSL_cleanse(st->password, strlen(st->password));
		free(st->password);
	}
	free(st->client_first_bare);
	free(st->server_first);
	OPENSSL_cleanse(st, sizeof(*st));
}

/* auth_file (PgBouncer's userlist.txt) parsing, secret classification, and
 * the md5 and cleartext password checks against its secrets. */
#include "authfile.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "scram.h"

#define MD5_HASH_LEN 35 /* "md5" + 32 hex digits */

/* --- parsing ----------------------------------------------------------- */

static void report(FILE *errors, const char *name, int line, const char *what)
{
	if (errors != NULL)
		fprintf(errors, "%s:%d: %s\n", name, line, what);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* read_quoted reads a "..." field starting at *P (which is at the opening
 * quote) and stopping before END; "" stands for one quote. Returns the
 * unquoted text, malloc'ed, and moves *P past the closing quote; NULL (with
 * *P untouched) when the line ends first or memory runs out. */
static char *read_quoted(const char **p, const char *end, bool *unterminated)
{
	const char *s = *p + 1;
	char *out = malloc((size_t)(end - s) + 1);
	size_t n = 0;

	*unterminated = false;
	if (out == NULL)
		return NULL;
	while (s < end) {
		if (*s == '"') {
			if (s + 1 < end && s[1] == '"') {
				out[n++] = '"';
				s += 2;
				continue;
			}
			out[n] = '\0';
			*p = s + 1;
			return out;
		}
		out[n++] = *s++;
	}
	/* Whatever was read may be part of a secret. */
	OPENSSL_cleanse(out, n);
	free(out);
	*unterminated = true;
	return NULL;
}

static void free_secret(char *secret)
{
	if (secret != NULL) {
		OPENSSL_cleanse(secret, strlen(secret));
		free(secret);
	}
}

/* add_entry takes ownership of USER and SECRET. A user listed twice keeps
 * the later secret, as PgBouncer does. */
static bool add_entry(struct authfile *af, size_t *cap, char *user, char *secret)
{
	for (size_t i = 0; i < af->count; i++) {
		if (strcmp(af->entries[i].user, user) == 0) {
			free(user);
			free_secret(af->entries[i].secret);
			af->entries[i].secret = secret;
			af->entries[i].kind = authfile_secret_kind(secret);
			return true;
		}
	}
	if (af->count == *cap) {
		size_t new_cap = *cap ? *cap * 2 : 16;
		struct authfile_entry *grown = realloc(af->entries, new_cap * sizeof(*grown));

		if (grown == NULL)
			return false;
		af->entries = grown;
		*cap = new_cap;
	}
	af->entries[af->count].user = user;
	af->entries[af->count].secret = secret;
	af->entries[af->count].kind = authfile_secret_kind(secret);
	af->count++;
	return true;
}

/* parse_line handles one line [P, END). Returns false after reporting. */
static bool parse_line(struct authfile *af, size_t *cap, const char *p, const char *end,
		       const char *name, int line, FILE *errors)
{
	char *user = NULL;
	char *secret = NULL;
	bool unterminated;

	while (p < end && is_blank(*p))
		p++;
	if (p == end || *p == ';' || *p == '#')
		return true;

	if (*p != '"') {
		report(errors, name, line, "expected a quoted user name");
		return false;
	}
	user = read_quoted(&p, end, &unterminated);
	if (user == NULL) {
		report(errors, name, line,
		       unterminated ? "missing closing quote" : "out of memory");
		return false;
	}
	if (user[0] == '\0') {
		report(errors, name, line, "empty user name");
		goto fail;
	}

	while (p < end && is_blank(*p))
		p++;
	if (p == end || *p != '"') {
		report(errors, name, line, "expected a quoted secret after the user name");
		goto fail;
	}
	secret = read_quoted(&p, end, &unterminated);
	if (secret == NULL) {
		report(errors, name, line,
		       unterminated ? "missing closing quote" : "out of memory");
		goto fail;
	}
	/* The rest of the line is ignored, as PgBouncer does. */
	if (!add_entry(af, cap, user, secret)) {
		report(errors, name, line, "out of memory");
		goto fail;
	}
	return true;

fail:
	free(user);
	free_secret(secret);
	return false;
}

struct authfile *authfile_parse_string(const char *text, const char *name, FILE *errors)
{
	struct authfile *af = calloc(1, sizeof(*af));
	size_t cap = 0;
	const char *p = text;
	int line = 1;

	if (af == NULL) {
		report(errors, name, 0, "out of memory");
		return NULL;
	}
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		const char *end = nl != NULL ? nl : p + strlen(p);

		if (!parse_line(af, &cap, p, end, name, line, errors)) {
			authfile_free(af);
			return NULL;
		}
		if (nl == NULL)
			break;
		p = nl + 1;
		line++;
	}
	return af;
}

struct authfile *authfile_load(const char *path, FILE *errors)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	struct authfile *af = NULL;

	if (f == NULL) {
		if (errors != NULL)
			fprintf(errors, "%s: cannot open: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		size_t got;

		if (cap - len < 4096) {
			char *grown = realloc(buf, cap + 65536);

			if (grown == NULL) {
				report(errors, path, 0, "out of memory");
				goto fail;
			}
			buf = grown;
			cap += 65536;
		}
		got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		if (errors != NULL)
			fprintf(errors, "%s: read error\n", path);
		goto fail;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		if (errors != NULL)
			fprintf(errors, "%s: contains a NUL byte\n", path);
		goto fail;
	}
	af = authfile_parse_string(buf, path, errors);

fail:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	fclose(f);
	return af;
}

void authfile_free(struct authfile *af)
{
	if (af == NULL)
		return;
	for (size_t i = 0; i < af->count; i++) {
		free(af->entries[i].user);
		free_secret(af->entries[i].secret);
	}
	free(af->entries);
	free(af);
}

const struct authfile_entry *authfile_find(const struct authfile *af, const char *user)
{
	if (af == NULL || user == NULL)
		return NULL;
	for (size_t i = 0; i < af->count; i++) {
		if (strcmp(af->entries[i].user, user) == 0)
			return &af->entries[i];
	}
	return NULL;
}

/* --- secrets ----------------------------------------------------------- */

static bool is_md5_hash(const char *secret)
{
	if (strncmp(secret, "md5", 3) != 0 || strlen(secret) != MD5_HASH_LEN)
		return false;
	/* Lowercase only, like PostgreSQL: an uppercase digest would never
	 * match a response computed from the password. */
	return strspn(secret + 3, "0123456789abcdef") == MD5_HASH_LEN - 3;
}

enum secret_kind authfile_secret_kind(const char *secret)
{
	struct scram_secret parsed;

	if (is_md5_hash(secret))
		return SECRET_MD5;
	/* A malformed SCRAM secret is a plain password, as in PostgreSQL. */
	if (scram_parse_secret(secret, &parsed)) {
		OPENSSL_cleanse(&parsed, sizeof(parsed));
		return SECRET_SCRAM;
	}
	return SECRET_PLAIN;
}

/* --- md5 --------------------------------------------------------------- */

static void md5_hex(const void *a, size_t a_len, const void *b, size_t b_len, char out[36])
{
	static const char hex[] = "0123456789abcdef";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t digest[16];
	unsigned int digest_len = 0;

	out[0] = '\0';
	if (ctx == NULL)
		return;
	if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 && EVP_DigestUpdate(ctx, a, a_len) == 1 &&
	    EVP_DigestUpdate(ctx, b, b_len) == 1 &&
	    EVP_DigestFinal_ex(ctx, digest, &digest_len) == 1 && digest_len == sizeof(digest)) {
		memcpy(out, "md5", 3);
		for (size_t i = 0; i < sizeof(digest); i++) {
			out[3 + 2 * i] = hex[digest[i] >> 4];
			out[3 + 2 * i + 1] = hex[digest[i] & 15];
		}
		out[MD5_HASH_LEN] = '\0';
	}
	EVP_MD_CTX_free(ctx);
}

/* On a digest failure OUT is left empty, which matches no response. */
void md5_password_hash(const char *password, const char *user, char out[36])
{
	md5_hex(password, strlen(password), user, strlen(user), out);
}

/* An MD5HASH that is not "md5" + 32 characters gives an empty OUT. */
void md5_salted_response(const char *md5hash, const unsigned char salt[4], char out[36])
{
	if (strnlen(md5hash, MD5_HASH_LEN + 1) != MD5_HASH_LEN || strncmp(md5hash, "md5", 3) != 0) {
		out[0] = '\0';
		return;
	}
	md5_hex(md5hash + 3, MD5_HASH_LEN - 3, salt, 4, out);
}

/* Empty passwords never match: PostgreSQL refuses them too. */
bool md5_check_response(const char *user, const char *secret, enum secret_kind kind,
			const unsigned char salt[4], const char *response)
{
	char hash[36];
	char expected[36];
	bool ok;

	if (secret == NULL || response == NULL || secret[0] == '\0')
		return false;
	if (kind == SECRET_PLAIN) {
		md5_password_hash(secret, user, hash);
	} else if (kind == SECRET_MD5 && is_md5_hash(secret)) {
		memcpy(hash, secret, sizeof(hash));
	} else {
		return false;
	}
	md5_salted_response(hash, salt, expected);
	ok = expected[0] != '\0' && strlen(response) == MD5_HASH_LEN &&
	     CRYPTO_memcmp(expected, response, MD5_HASH_LEN) == 0;
	OPENSSL_cleanse(hash, sizeof(hash));
	OPENSSL_cleanse(expected, sizeof(expected));
	return ok;
}

/* --- cleartext --------------------------------------------------------- */

/* Comparing digests keeps the comparison constant-time in the secret's
 * length as well as its content. */
static bool plain_equal(const char *a, const char *b)
{
	uint8_t da[32], db[32];
	unsigned int la = 0, lb = 0;

	if (EVP_Digest(a, strlen(a), da, &la, EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(b, strlen(b), db, &lb, EVP_sha256(), NULL) != 1 || la != 32 || lb != 32)
		return false;
	return CRYPTO_memcmp(da, db, sizeof(da)) == 0;
}

static bool scram_matches(const char *secret, const char *password)
{
	struct scram_secret stored, computed;
	bool ok = false;

	if (!scram_parse_secret(secret, &stored))
		return false;
	if (scram_secret_from_password(password, stored.salt, stored.salt_len, stored.iterations,
				       &computed)) {
		/* Bitwise | so both comparisons always run. */
		ok = (CRYPTO_memcmp(computed.stored_key, stored.stored_key, SCRAM_KEY_LEN) |
		      CRYPTO_memcmp(computed.server_key, stored.server_key, SCRAM_KEY_LEN)) == 0;
	}
	OPENSSL_cleanse(&stored, sizeof(stored));
	OPENSSL_cleanse(&computed, sizeof(computed));
	return ok;
}

bool plain_check_password(const char *user, const char *secret, enum secret_kind kind,
			  const char *password)
{
	char hash[36];
	bool ok;

	if (secret == NULL || password == NULL || secret[0] == '\0' || password[0] == '\0')
		return false;
	switch (kind) {
	case SECRET_PLAIN:
		return plain_equal(secret, password);
	case SECRET_MD5:
		if (!is_md5_hash(secret))
			return false;
		md5_password_hash(password, user, hash);
		ok = hash[0] != '\0' && CRYPTO_memcmp(hash, secret, MD5_HASH_LEN) == 0;
		OPENSSL_cleanse(hash, sizeof(hash));
		return ok;
	case SECRET_SCRAM:
		return scram_matches(secret, password);
	}
	return false;
}

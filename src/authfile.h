/* auth_file (PgBouncer's userlist.txt) parsing and md5 password helpers. */
#ifndef PGLG_AUTHFILE_H
#define PGLG_AUTHFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum secret_kind {
	SECRET_PLAIN = 0, /* the password itself */
	SECRET_MD5, /* "md5" + hex(md5(password || user)) */
	SECRET_SCRAM, /* "SCRAM-SHA-256$iter:salt$StoredKey:ServerKey" */
};

struct authfile_entry {
	char *user;
	char *secret; /* as written in the file */
	enum secret_kind kind;
};

struct authfile {
	struct authfile_entry *entries;
	size_t count;
};

/* authfile_load reads PATH ("user" "secret" per line, double quotes,
 * "" escapes a quote, lines starting with ';' or '#' and blank lines
 * ignored). Returns a new authfile the caller frees with authfile_free, or
 * NULL with "PATH:LINE: message" lines written to ERRORS. Never writes a
 * secret to ERRORS. */
struct authfile *authfile_load(const char *path, FILE *errors);

/* authfile_parse_string is authfile_load on an in-memory TEXT; NAME is used
 * in messages. */
struct authfile *authfile_parse_string(const char *text, const char *name, FILE *errors);

void authfile_free(struct authfile *af);

/* authfile_find returns the entry for USER or NULL; borrowed from AF. */
const struct authfile_entry *authfile_find(const struct authfile *af, const char *user);

/* authfile_secret_kind classifies SECRET. */
enum secret_kind authfile_secret_kind(const char *secret);

/* md5_password_hash writes "md5" + hex(md5(PASSWORD || USER)) into OUT
 * (36 bytes incl. NUL). */
void md5_password_hash(const char *password, const char *user, char out[36]);

/* md5_salted_response writes the PasswordMessage content PostgreSQL expects
 * for md5 auth: "md5" + hex(md5(hex_part_of(MD5HASH) || SALT)), where
 * MD5HASH is the stored "md5..." hash. OUT is 36 bytes incl. NUL. */
void md5_salted_response(const char *md5hash, const unsigned char salt[4], char out[36]);

/* md5_check_response tells whether RESPONSE (what the client sent for
 * md5 auth with SALT) matches the secret (plain or md5 kind) of USER.
 * Constant-time comparison. */
bool md5_check_response(const char *user, const char *secret, enum secret_kind kind,
			const unsigned char salt[4], const char *response);

/* plain_check_password tells whether PASSWORD (cleartext from the client)
 * matches SECRET of any kind, for USER. Constant time where it compares. */
bool plain_check_password(const char *user, const char *secret, enum secret_kind kind,
			  const char *password);

#endif

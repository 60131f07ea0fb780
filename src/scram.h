/* SCRAM-SHA-256 (RFC 5802, RFC 7677) in both directions: verifying clients
 * against a stored secret or password, and logging in to PostgreSQL with a
 * password or with keys taken from a client's exchange. Pure functions on a
 * state struct: no I/O. Channel binding is not offered (no TLS yet): the
 * server side advertises only "SCRAM-SHA-256" and accepts gs2 header "n,,"
 * or "y,,". */
#ifndef PGLG_SCRAM_H
#define PGLG_SCRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCRAM_KEY_LEN 32
#define SCRAM_MAX_SALT 64

/* A parsed SCRAM secret, or one computed from a password. */
struct scram_secret {
	int iterations;
	uint8_t salt[SCRAM_MAX_SALT];
	size_t salt_len;
	uint8_t stored_key[SCRAM_KEY_LEN];
	uint8_t server_key[SCRAM_KEY_LEN];
};

/* scram_parse_secret parses "SCRAM-SHA-256$<iter>:<b64 salt>$<b64
 * StoredKey>:<b64 ServerKey>". Returns false on any malformation. */
bool scram_parse_secret(const char *text, struct scram_secret *out);

/* scram_secret_from_password derives a secret (SaltedPassword via PBKDF2 with
 * HMAC-SHA-256, SASLprep of PASSWORD where it applies) with SALT and ITER. */
bool scram_secret_from_password(const char *password, const uint8_t *salt, size_t salt_len,
				int iterations, struct scram_secret *out);

/* scram_keys_from_password derives ClientKey and ServerKey from PASSWORD
 * with SECRET's salt and iterations, and returns true only if they match
 * SECRET (the password is the one the secret was made from). */
bool scram_keys_from_password(const char *password, const struct scram_secret *secret,
			      uint8_t client_key[SCRAM_KEY_LEN], uint8_t server_key[SCRAM_KEY_LEN]);

/* Verifying a client (we are the SCRAM server). */
struct scram_server {
	struct scram_secret secret;
	char *client_first_bare; /* owned */
	char *server_first; /* owned */
	char nonce[128]; /* client nonce + our nonce */
	char gs2_header[4]; /* "n,," or "y,,", what the client-first used */
	bool have_client_key;
	uint8_t client_key[SCRAM_KEY_LEN]; /* recovered from the client's proof */
};

/* scram_server_init prepares to verify a client against SECRET (a stored
 * SCRAM secret) or, if SECRET is NULL, against PASSWORD (a plain secret; a
 * random salt and 4096 iterations are used). Returns false if neither
 * can be used. */
bool scram_server_init(struct scram_server *st, const char *secret, const char *password);

/* scram_server_handle_first takes the client-first-message (the data of
 * SASLInitialResponse) and returns the server-first-message in a malloc'ed
 * string the caller frees, or NULL if the message is malformed or asks for
 * channel binding ("p=..."). */
char *scram_server_handle_first(struct scram_server *st, const char *msg, size_t len);

/* scram_server_handle_final takes the client-final-message, checks the
 * nonce and the proof. On success returns the server-final-message
 * ("v=...", malloc'ed, caller frees) and records the ClientKey in ST; on a
 * wrong proof or malformed message returns NULL. */
char *scram_server_handle_final(struct scram_server *st, const char *msg, size_t len);

/* scram_server_free releases what ST owns (not ST itself). */
void scram_server_free(struct scram_server *st);

/* Logging in to PostgreSQL (we are the SCRAM client). */
struct scram_client {
	char *password; /* owned; NULL when using keys */
	bool use_keys;
	uint8_t client_key[SCRAM_KEY_LEN];
	uint8_t server_key[SCRAM_KEY_LEN];
	char client_nonce[64];
	char *client_first_bare; /* owned */
	char *server_first; /* owned */
	uint8_t expected_server_signature[SCRAM_KEY_LEN];
};

/* scram_client_init_password prepares a login with PASSWORD (copied). */
bool scram_client_init_password(struct scram_client *st, const char *password);
/* scram_client_init_keys prepares a login with CLIENT_KEY and SERVER_KEY
 * (the pass-through case: auth_file holds only a SCRAM secret, and the
 * client proved it knows the password). */
bool scram_client_init_keys(struct scram_client *st, const uint8_t client_key[SCRAM_KEY_LEN],
			    const uint8_t server_key[SCRAM_KEY_LEN]);

/* scram_client_first returns the client-first-message ("n,,n=,r=NONCE"),
 * malloc'ed, caller frees. */
char *scram_client_first(struct scram_client *st);

/* scram_client_final takes the server-first-message and returns the
 * client-final-message (malloc'ed) or NULL if it is malformed, the nonce does
 * not extend ours, or iterations/salt are unusable. */
char *scram_client_final(struct scram_client *st, const char *msg, size_t len);

/* scram_client_verify checks the server-final-message's signature. */
bool scram_client_verify(struct scram_client *st, const char *msg, size_t len);

void scram_client_free(struct scram_client *st);

/* Test hook: when non-NULL, nonces come from this instead of random bytes
 * (for the RFC 7677 vector). */
extern const char *scram_test_nonce;

#endif

/* Fuzz target for auth_file parsing: authfile_parse_string on the input
 * (up to its first NUL), then what a login does with each entry found:
 * lookup, secret classification, and the md5 and cleartext checks. SCRAM
 * secrets are not checked against a password: their own iteration count
 * (fuzzed, up to INT_MAX) would decide how long PBKDF2 runs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char salt[4] = {1, 2, 3, 4};
	char *text = malloc(size + 1);
	struct authfile *af;

	if (text == NULL)
		return 0;
	if (sink == NULL)
		sink = fopen("/dev/null", "w");
	memcpy(text, data, size);
	text[size] = '\0';
	af = authfile_parse_string(text, "fuzz", sink);
	if (af != NULL) {
		for (size_t i = 0; i < af->count; i++) {
			const struct authfile_entry *e = &af->entries[i];
			char response[36];

			if (e->user == NULL || e->secret == NULL || e->user[0] == '\0')
				abort();
			/* a user listed twice keeps one entry */
			if (authfile_find(af, e->user) != e)
				abort();
			if (authfile_secret_kind(e->secret) != e->kind)
				abort();
			if (e->kind == SECRET_SCRAM)
				continue;
			/* either answer is right: the file may hold "guess" */
			(void)plain_check_password(e->user, e->secret, e->kind, "guess");
			if (e->kind == SECRET_MD5) {
				md5_salted_response(e->secret, salt, response);
				if (strlen(response) != 35 ||
				    !md5_check_response(e->user, e->secret, e->kind, salt, response))
					abort();
			} else if (e->secret[0] != '\0') {
				char hash[36];

				/* what a client that knows the password sends */
				md5_password_hash(e->secret, e->user, hash);
				md5_salted_response(hash, salt, response);
				if (!md5_check_response(e->user, e->secret, e->kind, salt, response))
					abort();
				if (!plain_check_password(e->user, e->secret, e->kind, e->secret))
					abort();
			}
		}
		authfile_free(af);
	}
	free(text);
	return 0;
}

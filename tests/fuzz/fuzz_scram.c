/* Fuzz target for SCRAM-SHA-256 message parsing on both ends. The input is
 * two messages separated by the first '\n'. As the server (a fixed stored
 * secret) we take them as client-first and client-final; as the client
 * (with the matching keys) as server-first and server-final. The whole input
 * is also tried as a stored secret. Nonces are fixed so that an exchange
 * replays: the valid seeds are the messages of a login between scram.c's
 * client, given the password, and its server, given the secret.
 *
 * The client logs in with keys, not the password: a fuzzed server-first can
 * ask for up to a million PBKDF2 rounds, which tests nothing but patience,
 * and with keys the parsing is the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NONCE "fuzzNONCEfuzzNONCEfuzzNO"

/* Password "fuzz-password", salt "pglifeguard.fuzz", 4096 rounds, computed
 * with Python's hashlib.pbkdf2_hmac and hmac. */
#define FUZZ_SECRET                                                        \
	"SCRAM-SHA-256$4096:cGdsaWZlZ3VhcmQuZnV6eg==$"                     \
	"m81L4NgtIQ0a7gh0MYHvXe+0HXo06MI+idxP/iTwork=:"                     \
	"O6znFrIIHuNObDON/DChUsatU8lVHXJaInTyfnp0uJ4="
static const uint8_t client_key[SCRAM_KEY_LEN] = {
	0xdb, 0xee, 0x4a, 0x9a, 0x2a, 0x6d, 0xd4, 0x73, 0x53, 0x00, 0xb3,
	0xe3, 0x70, 0x66, 0x2c, 0x9f, 0xdd, 0xbd, 0x82, 0xe1, 0x21, 0xcc,
	0x0b, 0x4a, 0x27, 0x57, 0x20, 0x3f, 0x1b, 0x54, 0x06, 0x23,
};
static const uint8_t server_key[SCRAM_KEY_LEN] = {
	0x3b, 0xac, 0xe7, 0x16, 0xb2, 0x08, 0x1e, 0xe3, 0x4e, 0x6c, 0x33,
	0x8d, 0xfc, 0x30, 0xa1, 0x52, 0xc6, 0xad, 0x53, 0xc9, 0x55, 0x1d,
	0x72, 0x5a, 0x22, 0x74, 0xf2, 0x7e, 0x7a, 0x74, 0xb8, 0x9e,
};

/* copy returns LEN bytes of P in a block of exactly that size (ASan
 * bounds; the SCRAM functions take lengths, not terminators). */
static char *copy(const uint8_t *p, size_t len)
{
	char *c = malloc(len ? len : 1);

	if (c != NULL && len)
		memcpy(c, p, len);
	return c;
}

static void as_server(const char *first, size_t first_len, const char *final,
		      size_t final_len)
{
	struct scram_server st;
	char *reply;

	if (!scram_server_init(&st, FUZZ_SECRET, NULL))
		abort();
	reply = scram_server_handle_first(&st, first, first_len);
	if (reply != NULL) {
		if (strncmp(reply, "r=", 2) != 0)
			abort();
		free(reply);
		reply = scram_server_handle_final(&st, final, final_len);
		if (reply != NULL) {
			/* a proof that passed can only come from the real key */
			if (strncmp(reply, "v=", 2) != 0 || !st.have_client_key ||
			    memcmp(st.client_key, client_key, SCRAM_KEY_LEN) != 0)
				abort();
			free(reply);
		}
		/* one proof per exchange */
		reply = scram_server_handle_final(&st, final, final_len);
		if (reply != NULL)
			abort();
	}
	scram_server_free(&st);
}

static void as_client(const char *first, size_t first_len, const char *final,
		      size_t final_len)
{
	struct scram_client st;
	char *msg;

	if (!scram_client_init_keys(&st, client_key, server_key))
		abort();
	msg = scram_client_first(&st);
	if (msg == NULL || strcmp(msg, "n,,n=,r=" FUZZ_NONCE) != 0)
		abort();
	free(msg);
	msg = scram_client_final(&st, first, first_len);
	if (msg != NULL) {
		if (strncmp(msg, "c=biws,r=" FUZZ_NONCE, strlen("c=biws,r=" FUZZ_NONCE)) != 0)
			abort();
		free(msg);
		(void)scram_client_verify(&st, final, final_len);
		/* the server-first is taken once */
		msg = scram_client_final(&st, first, first_len);
		if (msg != NULL)
			abort();
	} else if (scram_client_verify(&st, final, final_len)) {
		abort(); /* nothing to verify against */
	}
	scram_client_free(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t first_len = nl != NULL ? (size_t)(nl - data) : size;
	size_t final_len = nl != NULL ? size - first_len - 1 : 0;
	char *first = copy(data, first_len);
	char *final = copy(data + size - final_len, final_len);
	char *text = malloc(size + 1);
	struct scram_secret secret;

	scram_test_nonce = FUZZ_NONCE;
	if (first != NULL && final != NULL && text != NULL) {
		as_server(first, first_len, final, final_len);
		as_client(first, first_len, final, final_len);
		memcpy(text, data, size);
		text[size] = '\0';
		if (scram_parse_secret(text, &secret)) {
			if (secret.iterations <= 0 || secret.salt_len == 0 ||
			    secret.salt_len > SCRAM_MAX_SALT)
				abort();
		}
	}
	free(first);
	free(final);
	free(text);
	return 0;
}

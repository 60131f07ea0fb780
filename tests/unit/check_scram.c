/* Unit tests for scram.c: the RFC 7677 vector from both ends, round trips,
 * a secret made by PostgreSQL 15, and malformed messages from either peer. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "scram.h"

/* RFC 7677 section 3. */
#define RFC_CLIENT_NONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC_SERVER_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_NONCE RFC_CLIENT_NONCE RFC_SERVER_NONCE
#define RFC_CLIENT_FIRST_BARE "n=user,r=" RFC_CLIENT_NONCE
#define RFC_CLIENT_FIRST "n,," RFC_CLIENT_FIRST_BARE
#define RFC_SERVER_FIRST "r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC_CLIENT_FINAL "c=biws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
/* Well-formed, but the proof's first byte is off. */
#define RFC_WRONG_FINAL "c=biws,r=" RFC_NONCE ",p=eHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
/* The vector's password "pencil" stored as PostgreSQL would, computed with
 * Python's hashlib.pbkdf2_hmac and hmac. */
#define RFC_SECRET                                                            \
	"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"                        \
	"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"                        \
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
static const uint8_t rfc_client_key[SCRAM_KEY_LEN] = {
	0xa6, 0x0f, 0xc9, 0x23, 0xd6, 0x7e, 0x86, 0x44, 0xa9, 0x2d, 0x16,
	0xb9, 0x6e, 0xda, 0x5e, 0xf4, 0x65, 0x6b, 0x0c, 0x72, 0x5c, 0x48,
	0x43, 0x74, 0xbe, 0x25, 0x53, 0x55, 0x76, 0x99, 0x6e, 0x8b,
};

/* Made by PostgreSQL 15 (password_encryption=scram-sha-256) for role "u"
 * with password 'secret pw'. */
#define PG_PASSWORD "secret pw"
#define PG_SECRET                                                             \
	"SCRAM-SHA-256$4096:VMZI4ENO6PmHyKTU52oZIA==$"                        \
	"HMuFLYsE3C2MtKPmYxwQpBnttf3yWicQLmlUzTzVKEA=:"                        \
	"HCKXXB8x/e8s/ChMDnt8AMQTmZ9ogR4M6YoDK+YYhLw="

static char *server_first_str(struct scram_server *st, const char *msg)
{
	return scram_server_handle_first(st, msg, strlen(msg));
}

static char *server_final_str(struct scram_server *st, const char *msg)
{
	return scram_server_handle_final(st, msg, strlen(msg));
}

/* exchange runs a whole login between CLIENT and SERVER, both initialized;
 * returns whether the server accepted and the client verified it. */
static bool exchange(struct scram_client *client, struct scram_server *server)
{
	char *m1 = scram_client_first(client);
	char *m2 = NULL, *m3 = NULL, *m4 = NULL;
	bool ok = false;

	ck_assert_ptr_nonnull(m1);
	m2 = server_first_str(server, m1);
	ck_assert_ptr_nonnull(m2);
	m3 = scram_client_final(client, m2, strlen(m2));
	ck_assert_ptr_nonnull(m3);
	m4 = server_final_str(server, m3);
	if (m4 != NULL)
		ok = scram_client_verify(client, m4, strlen(m4));
	free(m1);
	free(m2);
	free(m3);
	free(m4);
	return ok;
}

/* build_final computes a client-final-message independently of scram.c,
 * for headers our client never sends. Returns malloc'ed text. */
static char *build_final(const uint8_t client_key[SCRAM_KEY_LEN], const char *client_first_bare,
			 const char *server_first, const char *cbind, const char *nonce)
{
	uint8_t stored[SCRAM_KEY_LEN], sig[SCRAM_KEY_LEN], proof[SCRAM_KEY_LEN];
	char bare[256], auth[1024], b64[64];
	unsigned int len = 0;
	char *out;

	snprintf(bare, sizeof(bare), "c=%s,r=%s", cbind, nonce);
	snprintf(auth, sizeof(auth), "%s,%s,%s", client_first_bare, server_first, bare);
	EVP_Digest(client_key, SCRAM_KEY_LEN, stored, &len, EVP_sha256(), NULL);
	HMAC(EVP_sha256(), stored, SCRAM_KEY_LEN, (const uint8_t *)auth, strlen(auth), sig, &len);
	for (int i = 0; i < SCRAM_KEY_LEN; i++)
		proof[i] = client_key[i] ^ sig[i];
	EVP_EncodeBlock((uint8_t *)b64, proof, SCRAM_KEY_LEN);
	out = malloc(strlen(bare) + strlen(b64) + 4);
	sprintf(out, "%s,p=%s", bare, b64);
	return out;
}

/* --- RFC 7677 ---------------------------------------------------------- */

START_TEST(test_rfc7677_client)
{
	struct scram_client st;
	char *first, *final;

	scram_test_nonce = RFC_CLIENT_NONCE;
	ck_assert(scram_client_init_password(&st, "pencil"));
	first = scram_client_first(&st);
	ck_assert_str_eq(first, "n,,n=,r=" RFC_CLIENT_NONCE);
	/* The vector names the user in its client-first-message, which is part
	 * of the AuthMessage; we send "n=" as libpq does, so put the vector's
	 * bare message in place to reproduce its proof. */
	free(st.client_first_bare);
	st.client_first_bare = strdup(RFC_CLIENT_FIRST_BARE);

	final = scram_client_final(&st, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST));
	ck_assert_str_eq(final, RFC_CLIENT_FINAL);
	ck_assert(scram_client_verify(&st, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)));
	ck_assert(!scram_client_verify(&st, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G8=",
				       46));
	/* Same bytes with a nonzero unused bit: not canonical base64. */
	ck_assert(!scram_client_verify(&st, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=",
				       46));
	free(first);
	free(final);
	scram_client_free(&st);
	scram_test_nonce = NULL;
}
END_TEST

START_TEST(test_rfc7677_client_keys)
{
	struct scram_client st;
	struct scram_secret secret;
	char *first, *final;

	ck_assert(scram_parse_secret(RFC_SECRET, &secret));
	scram_test_nonce = RFC_CLIENT_NONCE;
	ck_assert(scram_client_init_keys(&st, rfc_client_key, secret.server_key));
	first = scram_client_first(&st);
	free(st.client_first_bare);
	st.client_first_bare = strdup(RFC_CLIENT_FIRST_BARE);
	final = scram_client_final(&st, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST));
	ck_assert_str_eq(final, RFC_CLIENT_FINAL);
	ck_assert(scram_client_verify(&st, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)));
	free(first);
	free(final);
	scram_client_free(&st);
	scram_test_nonce = NULL;
}
END_TEST

START_TEST(test_rfc7677_server)
{
	struct scram_server st;
	char *first, *final;

	scram_test_nonce = RFC_SERVER_NONCE;
	ck_assert(scram_server_init(&st, RFC_SECRET, NULL));
	first = server_first_str(&st, RFC_CLIENT_FIRST);
	ck_assert_str_eq(first, RFC_SERVER_FIRST);
	final = server_final_str(&st, RFC_CLIENT_FINAL);
	ck_assert_str_eq(final, RFC_SERVER_FINAL);
	ck_assert(st.have_client_key);
	ck_assert_mem_eq(st.client_key, rfc_client_key, SCRAM_KEY_LEN);
	/* One proof per exchange. */
	ck_assert_ptr_null(server_final_str(&st, RFC_CLIENT_FINAL));
	free(first);
	free(final);
	scram_server_free(&st);
	scram_test_nonce = NULL;
}
END_TEST

START_TEST(test_rfc7677_server_from_password)
{
	/* A plain secret gets a random salt, so only the round trip can be
	 * checked. */
	struct scram_server server;
	struct scram_client client;

	ck_assert(scram_server_init(&server, NULL, "pencil"));
	ck_assert_int_eq(server.secret.iterations, 4096);
	ck_assert_uint_gt(server.secret.salt_len, 0);
	ck_assert(scram_client_init_password(&client, "pencil"));
	ck_assert(exchange(&client, &server));
	scram_client_free(&client);
	scram_server_free(&server);
}
END_TEST

/* --- round trips ------------------------------------------------------- */

START_TEST(test_roundtrip_postgres_secret)
{
	struct scram_server server;
	struct scram_client client;

	ck_assert(scram_server_init(&server, PG_SECRET, NULL));
	ck_assert(scram_client_init_password(&client, PG_PASSWORD));
	ck_assert(exchange(&client, &server));
	scram_client_free(&client);
	scram_server_free(&server);
}
END_TEST

START_TEST(test_roundtrip_keys)
{
	struct scram_server server;
	struct scram_client client;
	uint8_t client_key[SCRAM_KEY_LEN];
	uint8_t server_key[SCRAM_KEY_LEN];

	/* A client logs in to us with its password... */
	ck_assert(scram_server_init(&server, PG_SECRET, NULL));
	ck_assert(scram_client_init_password(&client, PG_PASSWORD));
	ck_assert(exchange(&client, &server));
	ck_assert(server.have_client_key);
	memcpy(client_key, server.client_key, SCRAM_KEY_LEN);
	memcpy(server_key, server.secret.server_key, SCRAM_KEY_LEN);
	scram_client_free(&client);
	scram_server_free(&server);

	/* ...and we log in to the "real" server with what it gave away. */
	ck_assert(scram_server_init(&server, PG_SECRET, NULL));
	ck_assert(scram_client_init_keys(&client, client_key, server_key));
	ck_assert(exchange(&client, &server));
	scram_client_free(&client);
	scram_server_free(&server);

	/* A wrong ServerKey: the server accepts but the client must not. */
	server_key[0] ^= 1;
	ck_assert(scram_server_init(&server, PG_SECRET, NULL));
	ck_assert(scram_client_init_keys(&client, client_key, server_key));
	ck_assert(!exchange(&client, &server));
	scram_client_free(&client);
	scram_server_free(&server);
}
END_TEST

START_TEST(test_wrong_password)
{
	struct scram_server server;
	struct scram_client client;
	char *m1, *m2, *m3;

	ck_assert(scram_server_init(&server, PG_SECRET, NULL));
	ck_assert(scram_client_init_password(&client, "secret PW"));
	m1 = scram_client_first(&client);
	m2 = server_first_str(&server, m1);
	m3 = scram_client_final(&client, m2, strlen(m2));
	ck_assert_ptr_nonnull(m3);
	ck_assert_ptr_null(server_final_str(&server, m3));
	ck_assert(!server.have_client_key);
	free(m1);
	free(m2);
	free(m3);
	scram_client_free(&client);
	scram_server_free(&server);
}
END_TEST

START_TEST(test_gs2_header_y)
{
	struct scram_server st;
	char *first, *final, *reply;

	/* "y,," needs c=eSws (base64 of "y,,"). */
	scram_test_nonce = RFC_SERVER_NONCE;
	ck_assert(scram_server_init(&st, RFC_SECRET, NULL));
	first = server_first_str(&st, "y,,n=user,r=" RFC_CLIENT_NONCE);
	ck_assert_str_eq(first, RFC_SERVER_FIRST);
	final = build_final(rfc_client_key, RFC_CLIENT_FIRST_BARE, first, "eSws", RFC_NONCE);
	reply = server_final_str(&st, final);
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(strncmp(reply, "v=", 2), 0);
	free(reply);
	free(final);
	free(first);
	scram_server_free(&st);

	/* The same header with c=biws is refused even with a right proof. */
	ck_assert(scram_server_init(&st, RFC_SECRET, NULL));
	first = server_first_str(&st, "y,,n=user,r=" RFC_CLIENT_NONCE);
	final = build_final(rfc_client_key, RFC_CLIENT_FIRST_BARE, first, "biws", RFC_NONCE);
	ck_assert_ptr_null(server_final_str(&st, final));
	free(final);
	free(first);
	scram_server_free(&st);

	/* And "n,," with c=eSws. */
	ck_assert(scram_server_init(&st, RFC_SECRET, NULL));
	first = server_first_str(&st, RFC_CLIENT_FIRST);
	final = build_final(rfc_client_key, RFC_CLIENT_FIRST_BARE, first, "eSws", RFC_NONCE);
	ck_assert_ptr_null(server_final_str(&st, final));
	free(final);
	free(first);
	scram_server_free(&st);
	scram_test_nonce = NULL;
}
END_TEST

START_TEST(test_random_nonces)
{
	struct scram_client a, b;
	char *ma, *mb;

	scram_test_nonce = NULL;
	ck_assert(scram_client_init_password(&a, "x"));
	ck_assert(scram_client_init_password(&b, "x"));
	ma = scram_client_first(&a);
	mb = scram_client_first(&b);
	ck_assert_uint_eq(strlen(a.client_nonce), 24);
	ck_assert_str_ne(ma, mb);
	ck_assert_int_eq(strncmp(ma, "n,,n=,r=", 8), 0);
	/* One client-first per state. */
	ck_assert_ptr_null(scram_client_first(&a));
	free(ma);
	free(mb);
	scram_client_free(&a);
	scram_client_free(&b);
}
END_TEST

/* --- secrets ----------------------------------------------------------- */

START_TEST(test_parse_secret_good)
{
	struct scram_secret s, derived;
	static const uint8_t rfc_salt[] = {0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e,
					   0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81};

	ck_assert(scram_parse_secret(RFC_SECRET, &s));
	ck_assert_int_eq(s.iterations, 4096);
	ck_assert_uint_eq(s.salt_len, sizeof(rfc_salt));
	ck_assert_mem_eq(s.salt, rfc_salt, sizeof(rfc_salt));
	ck_assert(scram_secret_from_password("pencil", s.salt, s.salt_len, 4096, &derived));
	ck_assert_mem_eq(derived.stored_key, s.stored_key, SCRAM_KEY_LEN);
	ck_assert_mem_eq(derived.server_key, s.server_key, SCRAM_KEY_LEN);

	ck_assert(scram_parse_secret(PG_SECRET, &s));
	ck_assert(scram_secret_from_password(PG_PASSWORD, s.salt, s.salt_len, s.iterations,
					     &derived));
	ck_assert_mem_eq(derived.stored_key, s.stored_key, SCRAM_KEY_LEN);
	ck_assert_mem_eq(derived.server_key, s.server_key, SCRAM_KEY_LEN);
	ck_assert(scram_secret_from_password("secret pW", s.salt, s.salt_len, s.iterations,
					     &derived));
	ck_assert_mem_ne(derived.stored_key, s.stored_key, SCRAM_KEY_LEN);
}
END_TEST

START_TEST(test_parse_secret_bad)
{
	static const char *const bad[] = {
		"",
		"SCRAM-SHA-256$",
		"SCRAM-SHA-256",
		"scram-sha-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"SCRAM-SHA-256$0:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"SCRAM-SHA-256$-1:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"SCRAM-SHA-256$99999999999:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"SCRAM-SHA-256$:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"SCRAM-SHA-256$4096x:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"SCRAM-SHA-256$4096:$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ=$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"SCRAM-SHA-256$4096:W22ZaJ0SNY7so!sUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=",
		"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:",
		"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbs=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=:x",
		"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU= ",
		"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=$wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		/* 66-byte salt: more than SCRAM_MAX_SALT */
		"SCRAM-SHA-256$4096:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"md57f409a7c046daea1c2c60502d7e2becc",
		"pencil",
	};
	struct scram_secret s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!scram_parse_secret(bad[i], &s), "accepted bad secret #%zu", i);
	ck_assert(!scram_parse_secret(NULL, &s));
}
END_TEST

START_TEST(test_secret_from_password_bad_args)
{
	struct scram_secret s;
	uint8_t salt[SCRAM_MAX_SALT + 1] = {0};

	ck_assert(!scram_secret_from_password("x", salt, 0, 4096, &s));
	ck_assert(!scram_secret_from_password("x", salt, sizeof(salt), 4096, &s));
	ck_assert(!scram_secret_from_password("x", salt, 16, 0, &s));
	ck_assert(!scram_secret_from_password(NULL, salt, 16, 4096, &s));
}
END_TEST

START_TEST(test_server_init_bad)
{
	struct scram_server st;

	ck_assert(!scram_server_init(&st, NULL, NULL));
	scram_server_free(&st);
	ck_assert(!scram_server_init(&st, "md57f409a7c046daea1c2c60502d7e2becc", NULL));
	scram_server_free(&st);
	ck_assert(!scram_server_init(&st, "SCRAM-SHA-256$4096:broken", "ignored"));
	scram_server_free(&st);
}
END_TEST

/* --- malformed messages ------------------------------------------------ */

START_TEST(test_server_first_malformed)
{
	static const char *const bad[] = {
		"",
		"n",
		"n,",
		"n,,",
		"n,,n=",
		"n,,n=user",
		"n,,n=user,",
		"n,,n=user,r=",
		"n,,n=user,r=abc,",
		"n,,n=user,r=abc,=x",
		"n,,n=user,r=abc,1=x",
		"n,,n=user,r=ab c",
		"n,,n=user,r=ab\x7f",
		"n,,r=abc",
		"n,,m=ext,n=user,r=abc",
		"n,,n=user,m=ext,r=abc",
		"p=tls-server-end-point,,n=user,r=abc",
		"p,,n=user,r=abc",
		"n,a=admin,n=user,r=abc",
		"x,,n=user,r=abc",
		"N,,n=user,r=abc",
		"n,,N=user,r=abc",
		"n,, n=user,r=abc",
	};
	struct scram_server st;
	char *reply;
	char long_nonce[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert(scram_server_init(&st, RFC_SECRET, NULL));
		ck_assert_msg(server_first_str(&st, bad[i]) == NULL, "accepted #%zu: %s", i, bad[i]);
		scram_server_free(&st);
	}

	/* A client nonce too long to fit with ours. */
	memset(long_nonce, 'a', sizeof(long_nonce));
	memcpy(long_nonce, "n,,n=,r=", 8);
	ck_assert(scram_server_init(&st, RFC_SECRET, NULL));
	ck_assert_ptr_null(scram_server_handle_first(&st, long_nonce, sizeof(long_nonce)));
	scram_server_free(&st);

	/* An embedded NUL, with the length covering it. */
	ck_assert(scram_server_init(&st, RFC_SECRET, NULL));
	ck_assert_ptr_null(scram_server_handle_first(&st, "n,,n=u\0x,r=abc", 14));
	ck_assert_ptr_null(scram_server_handle_first(&st, NULL, 0));
	scram_server_free(&st);

	/* The length given is what counts, not a NUL: the tail is not read. */
	ck_assert(scram_server_init(&st, RFC_SECRET, NULL));
	scram_test_nonce = "S";
	reply = scram_server_handle_first(&st, "n,,n=,r=abcTAIL", 11);
	ck_assert_str_eq(reply, "r=abcS,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
	free(reply);
	/* Only one client-first per exchange. */
	ck_assert_ptr_null(server_first_str(&st, "n,,n=,r=abc"));
	scram_server_free(&st);

	/* Unknown optional extensions after the nonce are ignored, and so is
	 * the user name. */
	ck_assert(scram_server_init(&st, RFC_SECRET, NULL));
	reply = server_first_str(&st, "n,,n=someone=2Celse,r=abc,x=1,y=");
	ck_assert_str_eq(reply, "r=abcS,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
	free(reply);
	scram_server_free(&st);
	scram_test_nonce = NULL;
}
END_TEST

START_TEST(test_server_final_malformed)
{
	static const char *const bad[] = {
		"",
		"c=biws",
		"c=biws,",
		"c=biws,r=" RFC_NONCE,
		"c=biws,r=" RFC_NONCE ",",
		"c=biws,r=" RFC_NONCE ",p=",
		"c=biws,r=" RFC_NONCE ",p=!HzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ",
		"c=biws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ==",
		"c=biws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7An",
		"c=biws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,x=1",
		"c=biws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,",
		"c=biws,r=" RFC_NONCE "x,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biws,r=" RFC_CLIENT_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=eSws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=cD10bHMtc2VydmVyLWVuZC1wb2ludCws,r=" RFC_NONCE
		",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"r=" RFC_NONCE ",c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		/* a right-length proof that is wrong */
		RFC_WRONG_FINAL,
		/* an extension changes the AuthMessage, so the proof fails */
		"c=biws,r=" RFC_NONCE ",x=1,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	};
	struct scram_server st;
	char *first;
	size_t full = strlen(RFC_CLIENT_FINAL);

	scram_test_nonce = RFC_SERVER_NONCE;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert(scram_server_init(&st, RFC_SECRET, NULL));
		first = server_first_str(&st, RFC_CLIENT_FIRST);
		ck_assert_ptr_nonnull(first);
		ck_assert_msg(server_final_str(&st, bad[i]) == NULL, "accepted #%zu: %s", i, bad[i]);
		ck_assert(!st.have_client_key);
		free(first);
		scram_server_free(&st);
	}

	/* Every truncation of the right message, given by length only. */
	for (size_t n = 0; n < full; n++) {
		char *copy = malloc(n > 0 ? n : 1);

		memcpy(copy, RFC_CLIENT_FINAL, n);
		ck_assert(scram_server_init(&st, RFC_SECRET, NULL));
		first = server_first_str(&st, RFC_CLIENT_FIRST);
		ck_assert_msg(scram_server_handle_final(&st, copy, n) == NULL, "accepted %zu bytes", n);
		free(first);
		free(copy);
		scram_server_free(&st);
	}

	/* Final before first. */
	ck_assert(scram_server_init(&st, RFC_SECRET, NULL));
	ck_assert_ptr_null(server_final_str(&st, RFC_CLIENT_FINAL));
	scram_server_free(&st);

	/* A failed proof ends the exchange: the right one is refused after. */
	ck_assert(scram_server_init(&st, RFC_SECRET, NULL));
	first = server_first_str(&st, RFC_CLIENT_FIRST);
	ck_assert_ptr_null(server_final_str(&st, RFC_WRONG_FINAL));
	ck_assert_ptr_null(server_final_str(&st, RFC_CLIENT_FINAL));
	free(first);
	scram_server_free(&st);
	scram_test_nonce = NULL;
}
END_TEST

START_TEST(test_client_final_malformed)
{
	static const char *const bad[] = {
		"",
		"r=",
		"r=" RFC_NONCE,
		"r=" RFC_NONCE ",",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=+1",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999999999999",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2147483647",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000001",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,",
		"r=" RFC_NONCE ",s=,i=4096",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096",
		"r=" RFC_NONCE ",s=W22ZaJ0S*Y7soEsUEjb6gQ==,i=4096",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==\n,i=4096",
		"r=" RFC_NONCE ",i=4096,s=W22ZaJ0SNY7soEsUEjb6gQ==",
		"s=W22ZaJ0SNY7soEsUEjb6gQ==,r=" RFC_NONCE ",i=4096",
		"m=ext,r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		"e=other-error",
		/* the nonce must extend ours */
		"r=" RFC_CLIENT_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		"r=XOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		"r=rOprNGfwEbeRWgbNEkq,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		"r=" RFC_NONCE " ,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		/* salt longer than SCRAM_MAX_SALT */
		"r=" RFC_NONCE ",s=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,i=4096",
	};
	struct scram_client st;
	char *first, *final;

	scram_test_nonce = RFC_CLIENT_NONCE;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert(scram_client_init_password(&st, "pencil"));
		first = scram_client_first(&st);
		ck_assert_msg(scram_client_final(&st, bad[i], strlen(bad[i])) == NULL,
			      "accepted #%zu: %s", i, bad[i]);
		/* Nothing to verify after a refused server-first. */
		ck_assert(!scram_client_verify(&st, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)));
		free(first);
		scram_client_free(&st);
	}

	/* Embedded NUL; NULL. */
	ck_assert(scram_client_init_password(&st, "pencil"));
	first = scram_client_first(&st);
	ck_assert_ptr_null(scram_client_final(&st, "r=" RFC_NONCE "\0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
					      sizeof("r=" RFC_NONCE "\0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096") - 1));
	ck_assert_ptr_null(scram_client_final(&st, NULL, 0));
	free(first);
	scram_client_free(&st);

	/* Server-first before client-first. */
	ck_assert(scram_client_init_password(&st, "pencil"));
	ck_assert_ptr_null(scram_client_final(&st, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST)));
	scram_client_free(&st);

	/* Optional extensions are ignored; a salt of any usable size goes. */
	ck_assert(scram_client_init_password(&st, "pencil"));
	first = scram_client_first(&st);
	final = scram_client_final(&st, RFC_SERVER_FIRST ",x=y", strlen(RFC_SERVER_FIRST ",x=y"));
	ck_assert_ptr_nonnull(final);
	free(first);
	free(final);
	scram_client_free(&st);

	/* With keys, iterations cost nothing and are not capped. */
	ck_assert(scram_client_init_keys(&st, rfc_client_key, rfc_client_key));
	first = scram_client_first(&st);
	final = scram_client_final(&st, "r=" RFC_NONCE ",s=AA==,i=2147483647",
				   strlen("r=" RFC_NONCE ",s=AA==,i=2147483647"));
	ck_assert_ptr_nonnull(final);
	free(first);
	free(final);
	scram_client_free(&st);
	scram_test_nonce = NULL;
}
END_TEST

START_TEST(test_client_verify_malformed)
{
	static const char *const bad[] = {
		"",
		"v=",
		"v",
		"e=invalid-proof",
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4",
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4==",
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,",
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl9",
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=x",
		"v=6rriTRBi23WpRR?wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		"x=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
	};
	struct scram_client st;
	char *first, *final;
	size_t full = strlen(RFC_SERVER_FINAL);

	scram_test_nonce = RFC_CLIENT_NONCE;
	ck_assert(scram_client_init_password(&st, "pencil"));
	/* Before any exchange. */
	ck_assert(!scram_client_verify(&st, RFC_SERVER_FINAL, full));
	first = scram_client_first(&st);
	free(st.client_first_bare);
	st.client_first_bare = strdup(RFC_CLIENT_FIRST_BARE);
	final = scram_client_final(&st, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST));
	ck_assert_ptr_nonnull(final);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!scram_client_verify(&st, bad[i], strlen(bad[i])), "accepted #%zu: %s",
			      i, bad[i]);
	for (size_t n = 0; n < full; n++)
		ck_assert(!scram_client_verify(&st, RFC_SERVER_FINAL, n));
	ck_assert(!scram_client_verify(&st, NULL, 0));
	ck_assert(scram_client_verify(&st, RFC_SERVER_FINAL ",x=1", full + 4));
	ck_assert(scram_client_verify(&st, RFC_SERVER_FINAL, full));
	free(first);
	free(final);
	scram_client_free(&st);
	scram_test_nonce = NULL;
}
END_TEST

static Suite *scram_suite(void)
{
	Suite *s = suite_create("scram");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rfc7677_client);
	tcase_add_test(tc, test_rfc7677_client_keys);
	tcase_add_test(tc, test_rfc7677_server);
	tcase_add_test(tc, test_rfc7677_server_from_password);
	tcase_add_test(tc, test_roundtrip_postgres_secret);
	tcase_add_test(tc, test_roundtrip_keys);
	tcase_add_test(tc, test_wrong_password);
	tcase_add_test(tc, test_gs2_header_y);
	tcase_add_test(tc, test_random_nonces);
	tcase_add_test(tc, test_parse_secret_good);
	tcase_add_test(tc, test_parse_secret_bad);
	tcase_add_test(tc, test_secret_from_password_bad_args);
	tcase_add_test(tc, test_server_init_bad);
	tcase_add_test(tc, test_server_first_malformed);
	tcase_add_test(tc, test_server_final_malformed);
	tcase_add_test(tc, test_client_final_malformed);
	tcase_add_test(tc, test_client_verify_malformed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scram_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

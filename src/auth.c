/* Client authentication against auth_file: trust, plain, md5 and
 * SCRAM-SHA-256. An unknown user goes through the same exchange and fails
 * the same way as a wrong password, so user names cannot be probed. */
#include "auth.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "authfile.h"
#include "client.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "pool.h"
#include "proto.h"

static const struct authfile_entry *lookup(struct client *client)
{
	struct loop *loop = client->conn.loop;
	if (!loop->authfile)
		return NULL;
	return authfile_find(loop->authfile, client->user_name);
}

static void send_request(struct client *client, uint32_t code, const void *data, uint32_t len)
{
	if (!proto_build_auth(conn_bufs(&client->conn), &client->conn.wbuf, code, data, len)) {
		client_fail(client, "53200", "out of memory");
		return;
	}
	client->auth_method = (int)code;
	conn_flush(&client->conn);
}

static void auth_failed(struct client *client)
{
	const char *kind = client->auth_method == AUTH_REQ_SASL ? "SASL" : "password";
	client_fail(client, "28P01", "%s authentication failed for user \"%s\"", kind,
		    client->user_name);
}

static void start_scram(struct client *client, const struct authfile_entry *entry)
{
	static const char mechs[] = "SCRAM-SHA-256\0";

	client->scram = calloc(1, sizeof(*client->scram));
	if (!client->scram) {
		client_fail(client, "53200", "out of memory");
		return;
	}
	bool ok;
	if (!entry) {
		/* unknown user: a throwaway secret so the exchange looks the same */
		char pw[33];
		unsigned char rnd[16];
		RAND_bytes(rnd, sizeof(rnd));
		for (int i = 0; i < 16; i++)
			snprintf(pw + 2 * i, 3, "%02x", rnd[i]);
		ok = scram_server_init(client->scram, NULL, pw);
	} else if (entry->kind == SECRET_SCRAM) {
		ok = scram_server_init(client->scram, entry->secret, NULL);
	} else if (entry->kind == SECRET_PLAIN) {
		ok = scram_server_init(client->scram, NULL, entry->secret);
	} else {
		ok = false;
	}
	if (!ok) {
		/* an md5 secret cannot verify SCRAM */
		client->auth_method = AUTH_REQ_SASL;
		auth_failed(client);
		return;
	}
	client->auth_step = AUTH_STEP_SASL_INIT;
	send_request(client, AUTH_REQ_SASL, mechs, sizeof(mechs));
}

void auth_start(struct client *client)
{
	struct loop *loop = client->conn.loop;
	const struct authfile_entry *entry = lookup(client);

	client->auth_user_unknown = entry == NULL;
	switch (loop->cfg->auth_type) {
	case AUTH_TYPE_TRUST:
		if (loop->authfile && !entry) {
			client_fail(client, "28000",
				    "authentication failed for user \"%s\": not in auth_file",
				    client->user_name);
			return;
		}
		client_auth_done(client);
		return;
	case AUTH_TYPE_PLAIN:
		client->auth_step = AUTH_STEP_PASSWORD;
		send_request(client, AUTH_REQ_CLEARTEXT, NULL, 0);
		return;
	case AUTH_TYPE_MD5:
		/* a SCRAM secret cannot check an md5 response: use SCRAM */
		if (entry && entry->kind == SECRET_SCRAM) {
			start_scram(client, entry);
			return;
		}
		RAND_bytes(client->md5_salt, sizeof(client->md5_salt));
		client->auth_step = AUTH_STEP_PASSWORD;
		send_request(client, AUTH_REQ_MD5, client->md5_salt, 4);
		return;
	case AUTH_TYPE_SCRAM:
		start_scram(client, entry);
		return;
	}
}

static void remember_scram_keys(struct client *client, const struct authfile_entry *entry)
{
	struct scram_secret secret;

	if (!entry || entry->kind != SECRET_SCRAM || !client->scram->have_client_key)
		return;
	if (!scram_parse_secret(entry->secret, &secret))
		return;
	memcpy(client->user->scram_client_key, client->scram->client_key, SCRAM_KEY_LEN);
	memcpy(client->user->scram_server_key, secret.server_key, SCRAM_KEY_LEN);
	client->user->have_scram_keys = true;
}

void auth_handle_message(struct client *client, const uint8_t *body, uint32_t len)
{
	const struct authfile_entry *entry = lookup(client);
	struct proto_reader r;

	if (entry == NULL)
		client->auth_user_unknown = true;

	switch (client->auth_step) {
	case AUTH_STEP_PASSWORD: {
		proto_reader_init(&r, body, len);
		const char *password = proto_reader_string(&r);
		if (!password || r.pos != len) {
			client_fail(client, "08P01", "invalid password packet");
			return;
		}
		bool ok = false;
		if (entry && client->auth_method == AUTH_REQ_CLEARTEXT)
			ok = plain_check_password(client->user_name, entry->secret, entry->kind,
						  password);
		else if (entry && client->auth_method == AUTH_REQ_MD5)
			ok = md5_check_response(client->user_name, entry->secret, entry->kind,
						client->md5_salt, password);
		if (!ok) {
			auth_failed(client);
			return;
		}
		/* a cleartext password checked against a SCRAM secret gives the
		 * same keys a SCRAM exchange would: keep them for server logins */
		if (entry->kind == SECRET_SCRAM && client->auth_method == AUTH_REQ_CLEARTEXT) {
			struct scram_secret secret;
			if (scram_parse_secret(entry->secret, &secret) &&
			    scram_keys_from_password(password, &secret,
						     client->user->scram_client_key,
						     client->user->scram_server_key))
				client->user->have_scram_keys = true;
		}
		client_auth_done(client);
		return;
	}
	case AUTH_STEP_SASL_INIT: {
		proto_reader_init(&r, body, len);
		const char *mech = proto_reader_string(&r);
		uint32_t dlen = proto_reader_u32(&r);
		if (!mech || r.bad) {
			client_fail(client, "08P01", "invalid SASL initial response");
			return;
		}
		if (strcmp(mech, "SCRAM-SHA-256") != 0) {
			client_fail(client, "28000",
				    "client selected an invalid SASL authentication mechanism");
			return;
		}
		const uint8_t *data = dlen == UINT32_MAX ? NULL : proto_reader_bytes(&r, dlen);
		if (!data || r.pos != len) {
			client_fail(client, "08P01", "invalid SASL initial response");
			return;
		}
		char *reply = scram_server_handle_first(client->scram, (const char *)data, dlen);
		if (!reply) {
			client_fail(client, "08P01", "malformed SCRAM message");
			return;
		}
		client->auth_step = AUTH_STEP_SASL_FINAL;
		send_request(client, AUTH_REQ_SASL_CONTINUE, reply, (uint32_t)strlen(reply));
		free(reply);
		return;
	}
	case AUTH_STEP_SASL_FINAL: {
		char *reply = scram_server_handle_final(client->scram, (const char *)body, len);
		if (!reply || client->auth_user_unknown) {
			free(reply);
			auth_failed(client);
			return;
		}
		remember_scram_keys(client, entry);
		send_request(client, AUTH_REQ_SASL_FINAL, reply, (uint32_t)strlen(reply));
		free(reply);
		scram_server_free(client->scram);
		free(client->scram);
		client->scram = NULL;
		if (!client->conn.dead)
			client_auth_done(client);
		return;
	}
	default:
		client_fail(client, "08P01", "unexpected password message");
		return;
	}
}

/* Client authentication against auth_file: trust, plain, md5 and
 * SCRAM-SHA-256, driven by the client's login messages. */
#ifndef PGLG_AUTH_H
#define PGLG_AUTH_H

#include <stdbool.h>
#include <stdint.h>

struct client;

/* auth_start begins authenticating CLIENT after its startup packet: sends
 * the request for the configured method, or finishes at once for trust. */
void auth_start(struct client *client);

/* auth_handle_message handles a PasswordMessage / SASL response (TYPE 'p')
 * with BODY of LEN bytes. On success it calls the login continuation; on
 * failure it fails the client (28P01). */
void auth_handle_message(struct client *client, const uint8_t *body, uint32_t len);

#endif

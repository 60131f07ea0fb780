/* Fuzz target for the first message of a connection: the startup header
 * reader on the raw input, and the StartupMessage parser both on the packet
 * the header frames and on the whole input wrapped in a valid header. An
 * accepted packet must rebuild byte for byte with proto_build_startup. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iobuf.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_packet parses PKT (LEN bytes, in a block of exactly that size) and
 * checks what the parser promises about its result. */
static void check_packet(const uint8_t *pkt, size_t len)
{
	struct proto_startup st;
	char err[64];

	if (proto_parse_startup(pkt, len, &st, err, sizeof(err)) < 0) {
		if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
			abort(); /* a reason, always terminated */
		if (st.storage != NULL || st.count != 0)
			abort();
		return;
	}
	size_t body = len - 8;
	if (st.count < 0 || st.count > PROTO_MAX_STARTUP_PARAMS)
		abort();
	for (int i = 0; i < st.count; i++) {
		const char *n = st.names[i], *v = st.values[i];
		if (n < st.storage || n >= st.storage + body || v < st.storage ||
		    v >= st.storage + body)
			abort();
		if (n[0] == '\0' || v + strlen(v) >= st.storage + body)
			abort();
		if (proto_startup_get(&st, n) == NULL)
			abort();
	}
	if (st.version == PROTO_VERSION_3) {
		/* the format has one spelling, so a rebuild is identical */
		struct iobuf_pool pool;
		struct iobuf *buf = NULL;

		iobuf_pool_init(&pool, 32, 1); /* small: the builder grows it */
		if (!proto_build_startup(&pool, &buf, st.names, st.values, st.count))
			abort();
		if (iobuf_len(buf) != len || memcmp(buf->data + buf->start, pkt, len) != 0)
			abort();
		iobuf_put(&pool, buf);
		iobuf_pool_destroy(&pool);
	}
	proto_startup_free(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t len = 0, code = 0;
	uint8_t *pkt;
	int r = proto_read_startup_header(data, size, &len, &code);

	if (r == 1) {
		if (len < 8 || len > PROTO_MAX_STARTUP || size < 8)
			abort();
		if (len <= size) {
			pkt = malloc(len);
			if (pkt == NULL)
				return 0;
			memcpy(pkt, data, len);
			check_packet(pkt, len);
			free(pkt);
		}
	} else if (r == 0) {
		if (size >= 8)
			abort(); /* 8 bytes are always enough to decide */
	}

	/* The input as a body behind a correct header, so the parser is
	 * reached without the fuzzer having to find the length. */
	if (size + 8 <= PROTO_MAX_STARTUP) {
		pkt = malloc(size + 8);
		if (pkt == NULL)
			return 0;
		proto_put_u32(pkt, (uint32_t)size + 8);
		proto_put_u32(pkt + 4, PROTO_VERSION_3);
		if (size)
			memcpy(pkt + 8, data, size);
		check_packet(pkt, size + 8);
		free(pkt);
	}
	return 0;
}

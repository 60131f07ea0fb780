/* Fuzz target for the metrics server's request parser: http_parse_request
 * on the input as one read and again as the prefixes an idle peer could
 * dribble in, checking that a parsed request points inside the buffer and
 * holds what the parser promises. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *buf, size_t len, const struct http_request *req)
{
	const char *end = buf + len;

	if (!req->method || req->method < buf || req->method + req->method_len > end ||
	    req->method_len == 0)
		abort();
	if (!req->path || req->path < buf || req->path + req->path_len > end ||
	    req->path_len == 0 || req->path[0] != '/')
		abort();
	if (memchr(req->path, '?', req->path_len) || memchr(req->path, ' ', req->path_len))
		abort();
	if (req->minor != 0 && req->minor != 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req;

	if (size > HTTP_REQUEST_MAX)
		size = HTTP_REQUEST_MAX;
	/* a heap copy of exactly SIZE bytes: ASan sees any read past it */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	enum http_parse whole = http_parse_request(buf, size, &req);
	if (whole == HTTP_PARSE_OK)
		check(buf, size, &req);
	else if (whole != HTTP_PARSE_MORE && whole != HTTP_PARSE_BAD)
		abort();
	/* a prefix never completes a request the whole input leaves unfinished */
	for (size_t cut = 1; cut < size && cut < 64; cut++) {
		enum http_parse part = http_parse_request(buf, cut, &req);
		if (part == HTTP_PARSE_OK) {
			check(buf, cut, &req);
			if (whole == HTTP_PARSE_MORE)
				abort();
		}
	}
	free(buf);
	return 0;
}

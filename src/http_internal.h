/* The HTTP request parser of http.c, exposed for its fuzz target. */
#ifndef PGLG_HTTP_INTERNAL_H
#define PGLG_HTTP_INTERNAL_H

#include <stddef.h>

/* Largest request (request line and headers) the metrics server reads. */
#define HTTP_REQUEST_MAX 8192

enum http_parse {
	HTTP_PARSE_MORE = 0, /* the header block has not ended yet */
	HTTP_PARSE_OK,
	HTTP_PARSE_BAD, /* malformed: answer 400 */
};

/* One parsed request; the strings point into the parsed buffer. */
struct http_request {
	const char *method;
	size_t method_len;
	const char *path; /* the target without its "?query" */
	size_t path_len;
	int minor; /* HTTP/1.MINOR */
};

/* http_parse_request looks at the LEN bytes of BUF received so far.
 * Returns HTTP_PARSE_MORE until the blank line that ends the headers has
 * arrived, then HTTP_PARSE_OK with *REQ filled (pointers borrow BUF) or
 * HTTP_PARSE_BAD. Bare LF line ends are accepted; a NUL byte, a control
 * character in the request line, a target not starting with "/", an
 * HTTP version other than 1.0 or 1.1, or a header line without a name
 * and a colon are malformed. Pure: no allocation, no I/O. */
enum http_parse http_parse_request(const char *buf, size_t len, struct http_request *req);

#endif

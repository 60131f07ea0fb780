/* Fuzz target for topstmt.c: the fingerprint of any text (up to its first
 * NUL), and the same text through a checkout into a pool's table, whose
 * merged view must account for every microsecond added. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leak.h"
#include "topstmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct topstmt t;
	static usec_t now = 1000000;
	char *text = malloc(size + 1);
	struct checkout ck;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	uint64_t fp = topstmt_fingerprint(text);
	if (fp == 0 || fp != topstmt_fingerprint(text))
		abort();

	/* as the pooler sees it: a Query body, truncated to LEAK_STMT_LEN */
	leak_checkout_begin(&ck, now);
	leak_note_request(&ck, 'Q', data, (uint32_t)size, (uint32_t)size + 4, now);
	topstmt_note(&t, &ck, 1000, now);
	if (ck.stmt[0] && ck.stmt_fp != topstmt_fingerprint(ck.stmt))
		abort();
	now += 7000000; /* the generations rotate every few inputs */

	struct topstmt_entry top[5];
	uint64_t other;
	usec_t span;
	int n = topstmt_top(&t, now, top, 5, &other, &span);
	for (int i = 0; i < n; i++) {
		if (!top[i].text || strlen(top[i].text) > TOPSTMT_TEXT_LEN ||
		    top[i].error_us > top[i].time_us ||
		    (i > 0 && top[i].time_us > top[i - 1].time_us))
			abort();
	}
	free(text);
	return 0;
}

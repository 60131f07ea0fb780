/* Per-pool heavy hitters by server time: the statement fingerprint, the
 * space-saving table and its two generations. Runs on the pooler's hot
 * path (one call per completed request): no allocation, no system call. */
#include "topstmt.h"

#include <string.h>

#include "leak.h"

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

static inline uint64_t mix(uint64_t h, unsigned char c)
{
	return (h ^ c) * FNV_PRIME;
}

/* Character classes of the fingerprint's scanner; 1 to 4 make up words. */
enum {
	K_OTHER = 0,
	K_LOWER, /* a-z, _, bytes of multibyte characters */
	K_UPPER,
	K_DIGIT,
	K_DOLLAR,
	K_SPACE,
	K_QUOTE,
	K_DQUOTE,
	K_DASH,
	K_SLASH,
	K_COMMA,
};

static const unsigned char kind[256] = {
	['a' ... 'z'] = K_LOWER, ['_'] = K_LOWER,         [0x80 ... 0xff] = K_LOWER,
	['A' ... 'Z'] = K_UPPER, ['0' ... '9'] = K_DIGIT, ['$'] = K_DOLLAR,
	[' '] = K_SPACE,         ['\t'] = K_SPACE,        ['\n'] = K_SPACE,
	['\r'] = K_SPACE,        ['\f'] = K_SPACE,        ['\v'] = K_SPACE,
	['\''] = K_QUOTE,        ['"'] = K_DQUOTE,        ['-'] = K_DASH,
	['/'] = K_SLASH,         [','] = K_COMMA,
};

static inline bool is_word_kind(unsigned k)
{
	return k - K_LOWER < 4;
}

static inline bool is_word(unsigned char c)
{
	return is_word_kind(kind[c]);
}

/* End of the quoted string whose opening quote is at I; BACKSLASH: E'...'
 * escapes. An unterminated string runs to the end. */
static size_t skip_string(const char *s, size_t len, size_t i, bool backslash)
{
	for (i++; i < len; i++) {
		if (backslash && s[i] == '\\') {
			i++;
			continue;
		}
		if (s[i] == '\'') {
			if (i + 1 < len && s[i + 1] == '\'') {
				i++;
				continue;
			}
			return i + 1;
		}
	}
	return len;
}

/* A dollar quote opening at I ($$ or $tag$): returns the end of the whole
 * string, or 0 when I does not open one. */
static size_t skip_dollar(const char *s, size_t len, size_t i)
{
	size_t j = i + 1;
	while (j < len && is_word((unsigned char)s[j]) && s[j] != '$')
		j++;
	if (j >= len || s[j] != '$')
		return 0;
	size_t tag = j + 1 - i;
	for (size_t k = j + 1; k + tag <= len; k++)
		if (s[k] == '$' && memcmp(s + k, s + i, tag) == 0)
			return k + tag;
	return len;
}

/* Whole words at a time: the common case costs a table lookup, a compare
 * and the hash step per byte. */
uint64_t topstmt_fingerprint(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	uint64_t h = FNV_OFFSET;
	bool prev_word = false; /* what was hashed last is a word */
	bool space = false; /* whitespace or a comment since then */
	bool prev_lit = false; /* it was a literal */
	bool comma = false; /* a comma after a literal, not hashed yet */
	size_t i = 0;

	while (i < len) {
		unsigned k = kind[s[i]];
		size_t end = 0;

		switch (k) {
		case K_SPACE:
			space = true;
			i++;
			continue;
		case K_DASH:
			if (i + 1 < len && s[i + 1] == '-') {
				const unsigned char *nl = memchr(s + i, '\n', len - i);
				i = nl ? (size_t)(nl - s) + 1 : len;
				space = true;
				continue;
			}
			break;
		case K_SLASH:
			if (i + 1 < len && s[i + 1] == '*') {
				size_t j = i + 2;
				while (j + 1 < len && !(s[j] == '*' && s[j + 1] == '/'))
					j++;
				i = j + 1 < len ? j + 2 : len;
				space = true;
				continue;
			}
			break;
		case K_QUOTE: {
			/* E'...' (its E was hashed as a word) takes backslash escapes */
			bool esc =
				i > 0 && (s[i - 1] | 0x20) == 'e' && (i < 2 || !is_word(s[i - 2]));
			end = skip_string(text, len, i, esc);
			break;
		}
		case K_DIGIT:
			/* a digit inside a word was taken with the word */
			end = i + 1;
			while (end < len && ((unsigned)kind[s[end]] - K_LOWER < 3 || s[end] == '.'))
				end++;
			break;
		case K_DOLLAR:
			if (i + 1 < len && kind[s[i + 1]] != K_DIGIT)
				end = skip_dollar(text, len, i);
			break;
		case K_COMMA:
			if (prev_lit && !comma) {
				comma = true;
				i++;
				continue;
			}
			break;
		default:
			break;
		}
		if (end) {
			/* a literal: "?", and "?, ?, ?" as one */
			if (!(prev_lit && comma))
				h = mix(h, '?');
			comma = false;
			prev_lit = true;
			prev_word = false;
			space = false;
			i = end;
			continue;
		}
		if (comma)
			h = mix(h, ',');
		comma = false;
		prev_lit = false;
		if (is_word_kind(k)) {
			if (space && prev_word)
				h = mix(h, ' ');
			/* the whole word, unquoted: case folded */
			do {
				h = mix(h, (unsigned char)(s[i] | (k == K_UPPER) << 5));
				i++;
			} while (i < len && is_word_kind(k = kind[s[i]]));
			prev_word = true;
		} else if (k == K_DQUOTE) {
			/* a quoted identifier: as written, case included */
			size_t j = i + 1;
			while (j < len && !(s[j] == '"' && !(j + 1 < len && s[j + 1] == '"')))
				j += s[j] == '"' ? 2 : 1;
			j = j < len ? j + 1 : len;
			for (; i < j; i++)
				h = mix(h, s[i]);
			prev_word = false;
		} else {
			h = mix(h, s[i]);
			i++;
			prev_word = false;
		}
		space = false;
	}
	if (comma)
		h = mix(h, ',');
	return h ? h : 1;
}

static void gen_clear(struct topstmt_gen *g)
{
	g->used = 0;
	g->other_us = 0;
	memset(g->hint, 0, sizeof(g->hint));
}

/* The current generation at NOW, after rotating if it is over. */
static struct topstmt_gen *current(struct topstmt *t, usec_t now)
{
	if (!t->gen_start) {
		t->gen_start = now ? now : 1;
	} else if (now - t->gen_start >= TOPSTMT_WINDOW) {
		if (now - t->gen_start >= 2 * TOPSTMT_WINDOW) {
			gen_clear(&t->gen[0]);
			gen_clear(&t->gen[1]);
			t->gen_start = now;
		} else {
			t->cur ^= 1;
			gen_clear(&t->gen[t->cur]);
			t->gen_start += TOPSTMT_WINDOW;
		}
	}
	return &t->gen[t->cur];
}

static int find(const struct topstmt_gen *g, uint64_t fp)
{
	int h = g->hint[fp & (TOPSTMT_HINTS - 1)];
	if (h && g->slot[h - 1].fp == fp)
		return h - 1;
	for (int i = 0; i < g->used; i++)
		if (g->slot[i].fp == fp)
			return i;
	return -1;
}

void topstmt_add(struct topstmt *t, uint64_t fp, const char *text, usec_t elapsed, usec_t now)
{
	struct topstmt_gen *g = current(t, now);
	int i = find(g, fp);

	if (i < 0) {
		struct topstmt_slot *sl;
		if (g->used < TOPSTMT_SLOTS) {
			i = g->used++;
			sl = &g->slot[i];
			sl->time_us = 0;
			sl->error_us = 0;
		} else {
			i = 0;
			for (int k = 1; k < TOPSTMT_SLOTS; k++)
				if (g->slot[k].time_us < g->slot[i].time_us)
					i = k;
			sl = &g->slot[i];
			uint8_t *old = &g->hint[sl->fp & (TOPSTMT_HINTS - 1)];
			if (*old == i + 1)
				*old = 0;
			sl->error_us = sl->time_us;
		}
		sl->fp = fp;
		sl->calls = 0;
		leak_scrub_literals(text, sl->text, sizeof(sl->text));
	}
	g->hint[fp & (TOPSTMT_HINTS - 1)] = (uint8_t)(i + 1);
	g->slot[i].time_us += elapsed;
	g->slot[i].calls++;
}

void topstmt_add_other(struct topstmt *t, usec_t elapsed, usec_t now)
{
	current(t, now)->other_us += elapsed;
}

void topstmt_note(struct topstmt *t, struct checkout *ck, usec_t elapsed, usec_t now)
{
	if (!ck->stmt[0]) {
		topstmt_add_other(t, elapsed, now);
		return;
	}
	if (!ck->stmt_fp)
		ck->stmt_fp = topstmt_fingerprint(ck->stmt, ck->stmt_len);
	topstmt_add(t, ck->stmt_fp, ck->stmt, elapsed, now);
}

/* Inserts E into OUT (N at most, *COUNT so far), the most time first. */
static void insert_top(struct topstmt_entry *out, int n, int *count, struct topstmt_entry e)
{
	int i = *count < n ? (*count)++ : n;
	while (i > 0 && out[i - 1].time_us < e.time_us) {
		if (i < n)
			out[i] = out[i - 1];
		i--;
	}
	if (i < n)
		out[i] = e;
}

int topstmt_top(const struct topstmt *t, usec_t now, struct topstmt_entry *out, int n,
		uint64_t *other_us, usec_t *span_us)
{
	const struct topstmt_gen *cur = &t->gen[t->cur], *prev = &t->gen[t->cur ^ 1];
	int count = 0;

	*other_us = 0;
	*span_us = 0;
	if (!t->gen_start || now - t->gen_start >= 2 * TOPSTMT_WINDOW)
		return 0;
	if (now - t->gen_start >= TOPSTMT_WINDOW) {
		/* the current generation is the previous one by now */
		prev = cur;
		cur = NULL;
		*span_us = now - t->gen_start;
	} else {
		*span_us = now - t->gen_start + TOPSTMT_WINDOW;
	}
	if (cur) {
		*other_us += cur->other_us;
		for (int i = 0; i < cur->used; i++) {
			const struct topstmt_slot *sl = &cur->slot[i];
			struct topstmt_entry e = {sl->text, sl->time_us, sl->error_us, sl->calls};
			int j = find(prev, sl->fp);
			if (j >= 0) {
				e.time_us += prev->slot[j].time_us;
				e.error_us += prev->slot[j].error_us;
				e.calls += prev->slot[j].calls;
			}
			insert_top(out, n, &count, e);
		}
	}
	*other_us += prev->other_us;
	for (int i = 0; i < prev->used; i++) {
		const struct topstmt_slot *sl = &prev->slot[i];
		if (cur && find(cur, sl->fp) >= 0)
			continue;
		struct topstmt_entry e = {sl->text, sl->time_us, sl->error_us, sl->calls};
		insert_top(out, n, &count, e);
	}
	return count;
}

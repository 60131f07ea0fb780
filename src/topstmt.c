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

static inline uint64_t mix64(uint64_t h, unsigned v)
{
	return (h ^ v) * FNV_PRIME;
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

/* A byte of a word, lower-cased; 0 for the rest (NUL included). */
static const unsigned char word_byte[256] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
	0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79,
	0x7a, 0x00, 0x00, 0x00, 0x00, 0x5f, 0x00, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
	0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
	0x78, 0x79, 0x7a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86,
	0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
	0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4,
	0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3,
	0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0, 0xc1, 0xc2,
	0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1,
	0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0,
	0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
	0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
	0xff,
};

static inline bool is_word_kind(unsigned k)
{
	return k - K_LOWER < 4;
}

/* End of the quoted string whose opening quote is at S; BACKSLASH: E'...'
 * escapes. An unterminated string runs to the end. */
static const unsigned char *skip_string(const unsigned char *s, bool backslash)
{
	for (s++; *s; s++) {
		if (backslash && *s == '\\') {
			if (!*++s)
				break;
			continue;
		}
		if (*s == '\'') {
			if (s[1] == '\'') {
				s++;
				continue;
			}
			return s + 1;
		}
	}
	return s;
}

/* A dollar quote opening at S ($$ or $tag$): returns the end of the whole
 * string, or NULL when S does not open one. */
static const unsigned char *skip_dollar(const unsigned char *s)
{
	const unsigned char *j = s + 1;
	while (word_byte[*j] && *j != '$')
		j++;
	if (*j != '$')
		return NULL;
	size_t tag = (size_t)(j + 1 - s);
	for (const unsigned char *k = j + 1; *k; k++)
		if (*k == '$' && strncmp((const char *)k, (const char *)s, tag) == 0)
			return k + tag;
	return j + 1 + strlen((const char *)j + 1);
}

/* Whole words at a time, two bytes per multiplication. The text ends at
 * its NUL, which no table below accepts: no length checks in the loops. */
uint64_t topstmt_fingerprint(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	uint64_t h = FNV_OFFSET;
	bool prev_word = false; /* what was hashed last is a word */
	bool space = false; /* whitespace or a comment since then */
	bool prev_lit = false; /* it was a literal */
	bool comma = false; /* a comma after a literal, not hashed yet */

	while (*s) {
		unsigned k = kind[*s];
		const unsigned char *end = NULL;

		switch (k) {
		case K_SPACE:
			space = true;
			s++;
			continue;
		case K_DASH:
			if (s[1] == '-') {
				while (*s && *s != '\n')
					s++;
				space = true;
				continue;
			}
			break;
		case K_SLASH:
			if (s[1] == '*') {
				s += 2;
				while (*s && !(s[0] == '*' && s[1] == '/'))
					s++;
				s += *s ? 2 : 0;
				space = true;
				continue;
			}
			break;
		case K_QUOTE: {
			/* E'...' (its E was hashed as a word) takes backslash escapes */
			bool esc = s > (const unsigned char *)text && (s[-1] | 0x20) == 'e' &&
				   (s - 1 == (const unsigned char *)text || !word_byte[s[-2]]);
			end = skip_string(s, esc);
			break;
		}
		case K_DIGIT:
			/* a digit inside a word was taken with the word */
			end = s + 1;
			while ((word_byte[*end] && *end != '$') || *end == '.')
				end++;
			break;
		case K_DOLLAR:
			if (kind[s[1]] != K_DIGIT)
				end = skip_dollar(s);
			break;
		case K_COMMA:
			if (prev_lit && !comma) {
				comma = true;
				s++;
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
			s = end;
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
			for (;;) {
				unsigned a = word_byte[s[0]], b;
				if (!a)
					break;
				b = word_byte[s[1]];
				if (!b) {
					h = mix64(h, a);
					s++;
					break;
				}
				h = mix64(h, a | b << 8);
				s += 2;
			}
			prev_word = true;
		} else if (k == K_DQUOTE) {
			/* a quoted identifier: as written, case included */
			h = mix(h, *s++);
			while (*s) {
				if (s[0] == '"' && s[1] != '"') {
					h = mix(h, *s++);
					break;
				}
				if (s[0] == '"')
					h = mix(h, *s++);
				h = mix(h, *s++);
			}
			prev_word = false;
		} else {
			h = mix(h, *s++);
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
		ck->stmt_fp = topstmt_fingerprint(ck->stmt);
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

/* The session-state keyword scan: a small tokenizer (words, quoted text,
 * comments, ';') and a classifier that looks at the first few tokens of
 * each statement. No parser: a statement start that is misread costs at
 * worst one needless or one missed warning. */
#include "sessionstate.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "params.h"

enum tok_type { TOK_END = 0, TOK_WORD, TOK_SEMI, TOK_LPAREN, TOK_OTHER };

struct tok {
	enum tok_type type;
	bool quoted; /* a "quoted identifier": never a keyword */
	const char *p;
	size_t n;
};

struct scanner {
	const char *s;
	size_t len, i;
	bool complete;
};

static bool word_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool word_char(unsigned char c)
{
	return word_start(c) || (c >= '0' && c <= '9') || c == '$';
}

/* Skips a $tag$ ... $tag$ literal starting at i (s[i] == '$'); false when
 * it is not one (a parameter such as $1). */
static bool skip_dollar_quote(struct scanner *sc)
{
	size_t j = sc->i + 1;

	while (j < sc->len && word_char((unsigned char)sc->s[j]) && sc->s[j] != '$')
		j++;
	if (j >= sc->len || sc->s[j] != '$')
		return false;
	if (j > sc->i + 1 && !word_start((unsigned char)sc->s[sc->i + 1]))
		return false;
	size_t taglen = j + 1 - sc->i;
	const char *tag = sc->s + sc->i;
	for (size_t k = j + 1; k + taglen <= sc->len; k++) {
		if (sc->s[k] == '$' && memcmp(sc->s + k, tag, taglen) == 0) {
			sc->i = k + taglen;
			return true;
		}
	}
	sc->i = sc->len; /* unterminated: to the end */
	return true;
}

static void next_token(struct scanner *sc, struct tok *t)
{
	const char *s = sc->s;

	t->quoted = false;
	for (;;) {
		while (sc->i < sc->len &&
		       (s[sc->i] == ' ' || s[sc->i] == '\t' || s[sc->i] == '\n' ||
			s[sc->i] == '\r' || s[sc->i] == '\f' || s[sc->i] == '\v'))
			sc->i++;
		if (sc->i + 1 < sc->len && s[sc->i] == '-' && s[sc->i + 1] == '-') {
			const char *nl = memchr(s + sc->i, '\n', sc->len - sc->i);
			sc->i = nl ? (size_t)(nl - s) + 1 : sc->len;
			continue;
		}
		if (sc->i + 1 < sc->len && s[sc->i] == '/' && s[sc->i + 1] == '*') {
			int depth = 1;
			sc->i += 2;
			while (sc->i < sc->len && depth > 0) {
				if (sc->i + 1 < sc->len && s[sc->i] == '/' && s[sc->i + 1] == '*') {
					depth++;
					sc->i += 2;
				} else if (sc->i + 1 < sc->len && s[sc->i] == '*' &&
					   s[sc->i + 1] == '/') {
					depth--;
					sc->i += 2;
				} else {
					sc->i++;
				}
			}
			continue;
		}
		break;
	}
	if (sc->i >= sc->len) {
		t->type = TOK_END;
		return;
	}
	size_t start = sc->i;
	unsigned char c = (unsigned char)s[sc->i];
	t->p = s + start;
	if (word_start(c)) {
		while (sc->i < sc->len && word_char((unsigned char)s[sc->i]))
			sc->i++;
		/* a word cut by the end of a truncated text may be longer */
		if (sc->i == sc->len && !sc->complete) {
			t->type = TOK_END;
			return;
		}
		t->type = TOK_WORD;
		t->n = sc->i - start;
		return;
	}
	if (c == '"' || c == '\'') {
		/* a doubled quote inside is two adjacent quoted runs: same result */
		const char *end = memchr(s + start + 1, c, sc->len - start - 1);
		if (!end) {
			sc->i = sc->len;
			t->type = TOK_END;
			return;
		}
		sc->i = (size_t)(end - s) + 1;
		t->type = c == '"' ? TOK_WORD : TOK_OTHER;
		t->quoted = true;
		t->p = s + start + 1;
		t->n = (size_t)(end - s) - start - 1;
		return;
	}
	if (c == '$' && skip_dollar_quote(sc)) {
		t->type = TOK_OTHER;
		t->n = sc->i - start;
		return;
	}
	sc->i++;
	t->n = 1;
	t->type = c == ';' ? TOK_SEMI : c == '(' ? TOK_LPAREN : TOK_OTHER;
}

static bool is_kw(const struct tok *t, const char *kw)
{
	return t->type == TOK_WORD && !t->quoted && t->n == strlen(kw) &&
	       strncasecmp(t->p, kw, t->n) == 0;
}

/* A parameter the pooler carries itself (params.h): changing it is not a leak. */
static bool tracked_name(const struct tok *t)
{
	char name[64];

	if (t->type != TOK_WORD || t->n >= sizeof(name))
		return false;
	memcpy(name, t->p, t->n);
	name[t->n] = '\0';
	return params_lookup(name) >= 0;
}

#define MAX_TOKS 12

/* The kind of one statement from its first N tokens (0 when harmless). */
static unsigned classify(const struct tok *t, int n)
{
	if (n == 0)
		return 0;
	if (is_kw(&t[0], "set")) {
		if (n < 2)
			return 0;
		int k = 1;
		if (is_kw(&t[1], "local") || is_kw(&t[1], "transaction") ||
		    is_kw(&t[1], "constraints"))
			return 0;
		if (is_kw(&t[1], "session")) {
			if (n < 3)
				return 0;
			if (is_kw(&t[2], "authorization") || is_kw(&t[2], "characteristics"))
				return SESSIONSTATE_BIT(SESSIONSTATE_SET);
			k = 2;
		}
		if (is_kw(&t[k], "names") ||
		    (is_kw(&t[k], "time") && k + 1 < n && is_kw(&t[k + 1], "zone")))
			return 0;
		/* a qualified name (a.b) is a custom setting */
		if (tracked_name(&t[k]) && !(k + 1 < n && t[k + 1].type == TOK_OTHER &&
					     t[k + 1].n == 1 && t[k + 1].p[0] == '.'))
			return 0;
		return SESSIONSTATE_BIT(SESSIONSTATE_SET);
	}
	if (is_kw(&t[0], "reset")) {
		if (n < 2 || is_kw(&t[1], "all") || tracked_name(&t[1]) ||
		    (is_kw(&t[1], "time") && n > 2 && is_kw(&t[2], "zone")))
			return 0;
		return SESSIONSTATE_BIT(SESSIONSTATE_RESET);
	}
	if (is_kw(&t[0], "listen"))
		return SESSIONSTATE_BIT(SESSIONSTATE_LISTEN);
	if (is_kw(&t[0], "prepare")) {
		/* PREPARE TRANSACTION is two-phase commit */
		if (n < 2 || is_kw(&t[1], "transaction"))
			return 0;
		return SESSIONSTATE_BIT(SESSIONSTATE_PREPARE);
	}
	if (is_kw(&t[0], "load"))
		return SESSIONSTATE_BIT(SESSIONSTATE_LOAD);
	if (is_kw(&t[0], "create")) {
		int k = 1;
		if (k + 1 < n && is_kw(&t[k], "or") && is_kw(&t[k + 1], "replace"))
			k += 2;
		if (k < n && (is_kw(&t[k], "global") || is_kw(&t[k], "local")))
			k++;
		if (k < n && (is_kw(&t[k], "temp") || is_kw(&t[k], "temporary")))
			return SESSIONSTATE_BIT(SESSIONSTATE_TEMP);
		return 0;
	}
	if (is_kw(&t[0], "declare")) {
		for (int k = 1; k + 1 < n && !is_kw(&t[k], "for"); k++)
			if (is_kw(&t[k], "with") && is_kw(&t[k + 1], "hold"))
				return SESSIONSTATE_BIT(SESSIONSTATE_HOLD_CURSOR);
		return 0;
	}
	return 0;
}

/* Whether a statement opens or closes a transaction block. */
static void track_xact(const struct tok *t, int n, bool *in_xact)
{
	if (n == 0)
		return;
	if (is_kw(&t[0], "begin") ||
	    (is_kw(&t[0], "start") && n > 1 && is_kw(&t[1], "transaction")))
		*in_xact = true;
	else if (is_kw(&t[0], "commit") || is_kw(&t[0], "end") || is_kw(&t[0], "abort") ||
		 (is_kw(&t[0], "prepare") && n > 1 && is_kw(&t[1], "transaction")) ||
		 (is_kw(&t[0], "rollback") && !(n > 1 && is_kw(&t[1], "to"))))
		*in_xact = false;
}

/* Whether TEXT names an advisory-lock function: "advisory" in any case. */
static bool mentions_advisory(const char *s, size_t len)
{
	static const char cases[2] = {'v', 'V'};

	if (len < 8)
		return false;
	/* memchr (vectorized) for the rare letter, twice, beats a byte loop */
	for (int k = 0; k < 2; k++) {
		const char *p = s + 2, *end = s + len - 5;
		while (p < end && (p = memchr(p, cases[k], (size_t)(end - p)))) {
			if ((p[-1] | 0x20) == 'd' && (p[-2] | 0x20) == 'a' &&
			    strncasecmp(p + 1, "isory", 5) == 0)
				return true;
			p++;
		}
	}
	return false;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The fast path of the scan, run on every statement a transaction-mode
 * client sends: true when TEXT certainly leaves no session state (one
 * statement, no comment before it, a first word that starts none of the
 * kinds, no advisory-lock call). False means "ask the tokenizer", which
 * costs about 25 instructions per byte. */
static bool plainly_harmless(const char *s, size_t len)
{
	static const struct {
		const char *name;
		size_t len;
	} starters[] = {{"set", 3},  {"reset", 5},  {"listen", 6}, {"prepare", 7},
			{"load", 4}, {"create", 6}, {"declare", 7}};
	const char *semi = memchr(s, ';', len);
	size_t i = 0, j;

	if (semi) {
		/* a trailing ';' ends the one statement; anything after it is
		 * another statement (or a ';' in a literal: the slow path) */
		for (const char *p = semi + 1; p < s + len; p++)
			if (!is_space(*p))
				return false;
	}
	if (mentions_advisory(s, len))
		return false;
	while (i < len && is_space(s[i]))
		i++;
	if (i + 1 < len && ((s[i] == '-' && s[i + 1] == '-') || (s[i] == '/' && s[i + 1] == '*')))
		return false;
	if (i >= len || !word_start((unsigned char)s[i]))
		return true; /* "(", a quoted identifier, ...: no keyword first */
	for (j = i; j < len && word_char((unsigned char)s[j]); j++)
		;
	for (size_t k = 0; k < sizeof(starters) / sizeof(starters[0]); k++)
		if (j - i == starters[k].len && (s[i] | 0x20) == starters[k].name[0] &&
		    strncasecmp(s + i, starters[k].name, j - i) == 0)
			return false;
	return true;
}

unsigned sessionstate_scan(const char *text, size_t len, bool in_xact, bool complete)
{
	if (plainly_harmless(text, len))
		return 0;
	struct scanner sc = {.s = text, .len = len, .i = 0, .complete = complete};
	unsigned found = 0;
	struct tok t[MAX_TOKS], tok;

	for (;;) {
		int n = 0;
		bool advisory_word = false;
		for (;;) {
			next_token(&sc, &tok);
			if (tok.type == TOK_END || tok.type == TOK_SEMI)
				break;
			if (n < MAX_TOKS)
				t[n++] = tok;
			/* the session-level functions; the _xact_ ones end with the transaction */
			if (tok.type == TOK_LPAREN && advisory_word && !in_xact)
				found |= SESSIONSTATE_BIT(SESSIONSTATE_ADVISORY_LOCK);
			advisory_word = is_kw(&tok, "pg_advisory_lock") ||
					is_kw(&tok, "pg_try_advisory_lock");
		}
		found |= classify(t, n);
		track_xact(t, n, &in_xact);
		if (tok.type == TOK_END)
			return found;
	}
}

static const char *const kind_names[SESSIONSTATE_KIND_COUNT] = {
	[SESSIONSTATE_SET] = "set",
	[SESSIONSTATE_RESET] = "reset",
	[SESSIONSTATE_LISTEN] = "listen",
	[SESSIONSTATE_PREPARE] = "prepare",
	[SESSIONSTATE_ADVISORY_LOCK] = "advisory_lock",
	[SESSIONSTATE_TEMP] = "temp",
	[SESSIONSTATE_HOLD_CURSOR] = "hold_cursor",
	[SESSIONSTATE_LOAD] = "load",
};

const char *sessionstate_kind_name(enum sessionstate_kind kind)
{
	return (unsigned)kind < SESSIONSTATE_KIND_COUNT ? kind_names[kind] : "?";
}

void sessionstate_format(unsigned mask, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (int k = 0; k < SESSIONSTATE_KIND_COUNT; k++) {
		if (!(mask & SESSIONSTATE_BIT(k)))
			continue;
		int w = snprintf(out + o, outlen - o, "%s%s", o ? "," : "", kind_names[k]);
		if (w < 0 || (size_t)w >= outlen - o) {
			out[o] = '\0'; /* whole names only */
			return;
		}
		o += (size_t)w;
	}
}

/* Extraction of sampled parameter values with libpg_query: the constants
 * come from the parse tree (their values and positions), the $n numbering
 * from pg_query_normalize, and the two are matched by aligning the
 * original text with the normalized one. */
#include "paramsample.h"
#include "paramconv.h"
#include <ctype.h>
#include <json-c/json.h>
#include <pg_query.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A constant of the parse tree. */
struct pconst {
	int location;
	json_object *node; /* the A_Const object, borrowed from the tree */
};

struct walk {
	struct pconst *c;
	int n, cap;
	int max_param; /* highest $n already in the text */
	bool oom;
};

static void add_const(struct walk *w, json_object *node)
{
	json_object *loc;
	/* zero values are left out of libpg_query's JSON */
	int location =
		json_object_object_get_ex(node, "location", &loc) ? json_object_get_int(loc) : 0;
	if (location < 0)
		return; /* not in the text: normalize cannot replace it */
	if (w->n == w->cap) {
		int cap = w->cap ? w->cap * 2 : 16;
		struct pconst *c = realloc(w->c, (size_t)cap * sizeof(*c));
		if (!c) {
			w->oom = true;
			return;
		}
		w->c = c;
		w->cap = cap;
	}
	w->c[w->n].location = location;
	w->c[w->n].node = node;
	w->n++;
}

/* walk_tree collects the A_Const nodes that pg_query_normalize may
 * replace: all but those in type names (typmods such as varchar(10)). */
static void walk_tree(struct walk *w, json_object *o)
{
	if (json_object_is_type(o, json_type_array)) {
		size_t n = json_object_array_length(o);
		for (size_t i = 0; i < n; i++)
			walk_tree(w, json_object_array_get_idx(o, i));
		return;
	}
	if (!json_object_is_type(o, json_type_object))
		return;
	json_object_object_foreach(o, key, val)
	{
		if (!strcmp(key, "A_Const")) {
			add_const(w, val);
		} else if (!strcmp(key, "TypeName") || !strcmp(key, "typeName")) {
			continue;
		} else if (!strcmp(key, "ParamRef")) {
			json_object *num;
			if (json_object_object_get_ex(val, "number", &num) &&
			    json_object_get_int(num) > w->max_param)
				w->max_param = json_object_get_int(num);
		} else {
			walk_tree(w, val);
		}
	}
}

static int by_location(const void *a, const void *b)
{
	const struct pconst *x = a, *y = b;
	return (x->location > y->location) - (x->location < y->location);
}

static bool is_sampled_kind(const char *kind)
{
	return !strcmp(kind, "SelectStmt") || !strcmp(kind, "InsertStmt") ||
	       !strcmp(kind, "UpdateStmt") || !strcmp(kind, "DeleteStmt");
}

/* A growable string. */
struct sbuf {
	char *s;
	size_t len;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	char *p = realloc(b->s, b->len + n + 1);
	if (!p) {
		b->oom = true;
		return;
	}
	memcpy(p + b->len, s, n);
	b->len += n;
	p[b->len] = '\0';
	b->s = p;
}

static bool utf8_valid(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned c = s[i];
		size_t n = c < 0x80             ? 1
			   : (c & 0xe0) == 0xc0 ? 2
			   : (c & 0xf0) == 0xe0 ? 3
			   : (c & 0xf8) == 0xf0 ? 4
						: 0;
		if (!n || (n == 2 && c < 0xc2) || i + n > len)
			return false;
		for (size_t k = 1; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += n;
	}
	return true;
}

int paramsample_json_string(char **buf, size_t *len_buf, const char *s, size_t len)
{
	if (!utf8_valid((const unsigned char *)s, len))
		return -1;
	struct sbuf b = {*buf, *len_buf, false};
	sb_add(&b, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			sb_add(&b, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			sb_add(&b, esc, 6);
		} else {
			size_t run = 1;
			while (i + run < len && (unsigned char)s[i + run] >= 0x20 &&
			       s[i + run] != '"' && s[i + run] != '\\')
				run++;
			sb_add(&b, s + i, run);
			i += run - 1;
		}
	}
	sb_add(&b, "\"", 1);
	if (b.oom) {
		/* an earlier realloc may have moved it */
		*buf = b.s;
		if (b.s)
			b.s[*len_buf] = '\0';
		return -1;
	}
	*buf = b.s;
	*len_buf = b.len;
	return 0;
}

static void json_null(struct sbuf *b)
{
	sb_add(b, "null", 4);
}

static void json_value(struct sbuf *b, const char *s, size_t len)
{
	if (b->oom)
		return;
	size_t before = b->len;
	if (paramsample_json_string(&b->s, &b->len, s, len) < 0) {
		b->len = before;
		if (b->s)
			b->s[before] = '\0';
		json_null(b); /* not UTF-8: unknown */
	}
}

/* bind_value appends the JSON value of Bind value V: its text, or the
 * text of its binary value; null when that is unknown. */
static void bind_value(struct sbuf *b, const struct paramsample_value *v)
{
	if (!v->binary_oid) {
		json_value(b, v->data, (size_t)v->len);
		return;
	}
	size_t n;
	char *text = paramconv_text(v->binary_oid, (const uint8_t *)v->data, (size_t)v->len, &n);
	if (text)
		json_value(b, text, n);
	else
		json_null(b);
	free(text);
}

static const char *sub_string(json_object *node, const char *key)
{
	json_object *v, *s;
	if (!json_object_object_get_ex(node, key, &v))
		return NULL;
	/* {"sval": {"sval": "x"}}; an empty string is {"sval": {}} */
	if (json_object_object_get_ex(v, key, &s))
		return json_object_get_string(s);
	return "";
}

/* const_value appends the JSON value of constant C, whose text is
 * STMT[START, END). */
static void const_value(struct sbuf *b, json_object *node, const char *stmt, int start, int end)
{
	json_object *v;
	const char *s;
	if (json_object_object_get_ex(node, "isnull", &v) && json_object_get_boolean(v)) {
		json_null(b);
	} else if ((s = sub_string(node, "sval")) || (s = sub_string(node, "fval")) ||
		   (s = sub_string(node, "bsval"))) {
		json_value(b, s, strlen(s));
	} else if (json_object_object_get_ex(node, "boolval", &v)) {
		json_object *x;
		bool t = json_object_object_get_ex(v, "boolval", &x) && json_object_get_boolean(x);
		sb_add(b, t ? "\"true\"" : "\"false\"", t ? 6 : 7);
	} else if (json_object_object_get_ex(node, "ival", &v)) {
		/* the text, not the tree: this libpg_query's JSON drops
		 * negative integers ({"ival": {}} for -5) */
		char num[32];
		size_t n = 0;
		for (int i = start; i < end; i++) {
			char c = stmt[i];
			if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
				continue;
			if (n + 1 >= sizeof(num) ||
			    !(c == '-' || c == '+' || (c >= '0' && c <= '9'))) {
				n = 0;
				break;
			}
			num[n++] = c;
		}
		if (n)
			json_value(b, num, n);
		else
			json_null(b);
	} else {
		json_null(b);
	}
}

/* placeholder reads "$N" at T; returns N (0: none) and its length. */
static int placeholder(const char *t, int *len)
{
	if (t[0] != '$' || !(t[1] >= '0' && t[1] <= '9'))
		return 0;
	int n = 0, k = 1;
	for (; t[k] >= '0' && t[k] <= '9'; k++)
		if ((n = n * 10 + (t[k] - '0')) > 1000000)
			return 0;
	*len = k;
	return n;
}

/* align walks STMT and its normalized text T together: the text between
 * constants is copied verbatim, a replaced constant became $N with N above
 * BASE (numbered in libpg_query's tree-walk order, not in text order), and
 * a constant normalize leaves alone (GROUP BY 3) stays as it is. NUMS gets
 * each constant's N (0: left alone), ENDS the end of its text. Returns
 * false when the two texts do not match that way. */
static bool align(const char *o, const char *t, const struct pconst *c, int n, int base, int *nums,
		  int *ends)
{
	size_t on = strlen(o), tn = strlen(t);
	size_t i = 0, j = 0;
	for (int k = 0; k < n; k++) {
		size_t p = (size_t)c[k].location;
		nums[k] = 0;
		if (p < i)
			continue; /* inside the previous constant's text */
		if (p > on)
			return false;
		size_t seg = p - i;
		if (j + seg > tn || memcmp(o + i, t + j, seg))
			return false;
		i = p;
		j += seg;
		int phlen = 0, num = placeholder(t + j, &phlen);
		if (num <= base)
			continue; /* left alone: compared as plain text */
		nums[k] = num;
		j += (size_t)phlen;
		int next = k + 1;
		while (next < n && (size_t)c[next].location <= p)
			next++;
		size_t e;
		if (next == n) {
			size_t len = tn - j;
			if (on < len || on - len <= p || memcmp(o + on - len, t + j, len))
				return false;
			e = on - len;
		} else {
			/* the shortest constant after which the text matches up
			 * to the next constant */
			size_t np = (size_t)c[next].location;
			for (e = p + 1; e <= np; e++) {
				size_t len = np - e;
				if (j + len > tn || memcmp(o + e, t + j, len))
					continue;
				int l2;
				if (placeholder(t + j + len, &l2) > base || t[j + len] == o[np])
					break;
			}
			if (e > np)
				return false;
		}
		ends[k] = (int)e;
		i = e;
	}
	return on - i == tn - j && !memcmp(o + i, t + j, on - i);
}

/* renumber returns a copy of the normalized text T in which each $N
 * above BASE (at most BASE + REPLACED) is $TO[N - BASE - 1]; NULL when
 * out of memory. */
static char *renumber(const char *t, int base, int replaced, const int *to)
{
	struct sbuf b = {0};
	size_t i = 0, n = strlen(t);
	while (i < n) {
		int len = 0, num = 0;
		bool word = i && (isalnum((unsigned char)t[i - 1]) || t[i - 1] == '_' ||
				  t[i - 1] == '$');
		if (!word && (num = placeholder(t + i, &len)) > base && num <= base + replaced) {
			char ph[16];
			int l = snprintf(ph, sizeof(ph), "$%d", to[num - base - 1]);
			sb_add(&b, ph, (size_t)l);
			i += (size_t)len;
		} else {
			sb_add(&b, t + i, 1);
			i++;
		}
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s ? b.s : strdup("");
}

enum paramsample_status paramsample_extract(const char *stmt,
					    const struct paramsample_value *values, int nvalues,
					    struct paramsample *out)
{
	enum paramsample_status st = PARAMSAMPLE_FAILED;
	memset(out, 0, sizeof(*out));
	PgQueryParseResult pr = pg_query_parse(stmt);
	PgQueryNormalizeResult nr = {0};
	PgQueryFingerprintResult fr = {0};
	json_object *root = NULL;
	struct walk w = {0};
	struct sbuf b = {0};
	int *ends = NULL, *nums = NULL, *byrank = NULL;
	if (pr.error)
		goto done;
	root = json_tokener_parse(pr.parse_tree);
	json_object *stmts, *first, *inner;
	if (!root || !json_object_object_get_ex(root, "stmts", &stmts) ||
	    json_object_array_length(stmts) != 1)
		goto done;
	first = json_object_array_get_idx(stmts, 0);
	if (!json_object_object_get_ex(first, "stmt", &inner) ||
	    !json_object_is_type(inner, json_type_object))
		goto done;
	st = PARAMSAMPLE_REFUSED;
	{
		json_object_object_foreach(inner, kind, val)
		{
			(void)val;
			if (!is_sampled_kind(kind))
				goto done;
		}
	}
	st = PARAMSAMPLE_FAILED;
	walk_tree(&w, inner);
	if (w.oom)
		goto done;
	if (w.n)
		qsort(w.c, (size_t)w.n, sizeof(*w.c), by_location);
	/* a node reached twice counts once, as in normalize */
	int n = 0;
	for (int k = 0; k < w.n; k++)
		if (!n || w.c[n - 1].location != w.c[k].location)
			w.c[n++] = w.c[k];
	nr = pg_query_normalize(stmt);
	fr = pg_query_fingerprint(stmt);
	if (nr.error || fr.error || !fr.fingerprint_str || strlen(fr.fingerprint_str) != 16)
		goto done;
	ends = calloc((size_t)n + 1, sizeof(*ends));
	nums = calloc((size_t)n + 1, sizeof(*nums));
	byrank = calloc((size_t)n + 1, sizeof(*byrank));
	if (!ends || !nums || !byrank ||
	    !align(stmt, nr.normalized_query, w.c, n, w.max_param, nums, ends))
		goto done;
	/* each of $base+1..$base+replaced exactly once */
	int replaced = 0;
	for (int k = 0; k < n; k++)
		replaced += nums[k] > 0;
	for (int k = 0; k < n; k++) {
		if (!nums[k])
			continue;
		int r = nums[k] - w.max_param - 1;
		if (r >= replaced || byrank[r])
			goto done;
		byrank[r] = k + 1;
	}
	sb_add(&b, "[", 1);
	for (int k = 0; k < w.max_param; k++) {
		if (k)
			sb_add(&b, ",", 1);
		if (k < nvalues && values[k].len >= 0)
			bind_value(&b, &values[k]);
		else
			json_null(&b);
	}
	/* pg_stat_statements numbers the constants it replaces in text
	 * order, libpg_query in tree-walk order (LIMIT $5 OFFSET $4): the
	 * values and the stored text follow pg_stat_statements, so that $n
	 * means the same value in both texts */
	int r = 0;
	for (int k = 0; k < n; k++) {
		if (!nums[k])
			continue;
		byrank[nums[k] - w.max_param - 1] = w.max_param + 1 + r;
		if (r++ || w.max_param)
			sb_add(&b, ",", 1);
		const_value(&b, w.c[k].node, stmt, w.c[k].location, ends[k]);
	}
	sb_add(&b, "]", 1);
	if (b.oom || !(out->query = renumber(nr.normalized_query, w.max_param, replaced, byrank)))
		goto done;
	memcpy(out->fingerprint, fr.fingerprint_str, 17);
	out->params = b.s;
	b.s = NULL;
	st = PARAMSAMPLE_OK;
done:
	free(b.s);
	free(ends);
	free(nums);
	free(byrank);
	free(w.c);
	json_object_put(root);
	pg_query_free_parse_result(pr);
	if (nr.normalized_query || nr.error)
		pg_query_free_normalize_result(nr);
	if (fr.fingerprint_str || fr.error)
		pg_query_free_fingerprint_result(fr);
	if (st != PARAMSAMPLE_OK)
		paramsample_clear(out);
	return st;
}

int paramsample_extract_query(const char *text,
			      void (*emit)(void *arg, const struct paramsample *sample), void *arg)
{
	PgQuerySplitResult sr = pg_query_split_with_parser(text);
	if (sr.error) {
		pg_query_free_split_result(sr);
		return -1;
	}
	int emitted = 0;
	size_t tlen = strlen(text);
	for (int i = 0; i < sr.n_stmts; i++) {
		int loc = sr.stmts[i]->stmt_location, len = sr.stmts[i]->stmt_len;
		if (loc < 0 || (size_t)loc > tlen)
			continue;
		if (len <= 0 || (size_t)loc + (size_t)len > tlen)
			len = (int)(tlen - (size_t)loc); /* 0: up to the end */
		/* as pg_stat_statements keeps it: without surrounding blanks */
		while (len > 0 && strchr(" \t\n\r\f\v", text[loc]))
			loc++, len--;
		while (len > 0 && strchr(" \t\n\r\f\v", text[loc + len - 1]))
			len--;
		if (len <= 0)
			continue;
		char *piece = strndup(text + loc, (size_t)len);
		if (!piece)
			break;
		struct paramsample s;
		if (paramsample_extract(piece, NULL, 0, &s) == PARAMSAMPLE_OK) {
			emit(arg, &s);
			paramsample_clear(&s);
			emitted++;
		}
		free(piece);
	}
	pg_query_free_split_result(sr);
	return emitted;
}

void paramsample_clear(struct paramsample *s)
{
	free(s->query);
	free(s->params);
	memset(s, 0, sizeof(*s));
}

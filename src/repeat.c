/* Counting single-row statements per scope (N+1): the CommandComplete row
 * count and the fixed table of struct repeat_scope. */
#include "repeat.h"

#include <string.h>

/* Parses the decimal number at P (up to END); -1: none or too long. */
static int64_t number(const uint8_t *p, const uint8_t *end, const uint8_t **after)
{
	int64_t v = 0;
	const uint8_t *start = p;
	while (p < end && *p >= '0' && *p <= '9' && p - start < 18)
		v = v * 10 + (*p++ - '0');
	*after = p;
	if (p == start || (p < end && *p >= '0' && *p <= '9'))
		return -1;
	return v;
}

int64_t repeat_command_rows(const uint8_t *body, uint32_t len)
{
	static const char *const tags[] = {"SELECT ", "INSERT ", "UPDATE ", "DELETE ", "MERGE "};
	const uint8_t *nul = memchr(body, '\0', len);
	const uint8_t *end = nul ? nul : body + len;
	size_t n = (size_t)(end - body);

	for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
		size_t k = strlen(tags[t]);
		if (n <= k || memcmp(body, tags[t], k) != 0)
			continue;
		const uint8_t *p = body + k, *after;
		int64_t v = number(p, end, &after);
		if (v < 0)
			return -1;
		if (t == 1) {
			/* INSERT oid rows */
			if (after >= end || *after != ' ')
				return -1;
			v = number(after + 1, end, &after);
			if (v < 0)
				return -1;
		}
		return after == end ? v : -1;
	}
	return -1;
}

void repeat_note_complete(struct repeat_scope *r, const uint8_t *body, uint32_t len)
{
	int64_t rows = repeat_command_rows(body, len);
	if (rows > 1)
		r->req_big = true;
	else if (rows >= 0)
		r->req_small++;
}

static struct repeat_slot *find_slot(struct repeat_scope *r, uint64_t fp)
{
	for (int i = 0; i < r->nslots; i++)
		if (r->slot[i].fp == fp)
			return &r->slot[i];
	if (r->nslots < REPEAT_SLOTS) {
		struct repeat_slot *s = &r->slot[r->nslots++];
		s->text = -1;
		return s;
	}
	/* full: the slot run the fewest times without a kept text goes */
	struct repeat_slot *victim = NULL;
	for (int i = 0; i < REPEAT_SLOTS; i++) {
		struct repeat_slot *s = &r->slot[i];
		if (s->text < 0 && (!victim || s->count < victim->count))
			victim = s;
	}
	if (victim) {
		victim->us = 0;
		victim->count = 0;
	}
	return victim;
}

void repeat_add(struct repeat_scope *r, uint64_t fp, const char *text, uint64_t us,
		uint32_t threshold)
{
	uint32_t small = r->req_small;
	bool big = r->req_big;
	r->req_small = 0;
	r->req_big = false;
	if (big || !small || !fp || !threshold)
		return;
	struct repeat_slot *s = find_slot(r, fp);
	if (!s)
		return;
	bool was_below = s->count < threshold;
	s->fp = fp;
	s->count += small;
	s->us += us;
	if (was_below && s->count >= threshold && s->text < 0) {
		if (r->ntexts >= REPEAT_TEXTS) {
			r->lost++;
			return;
		}
		s->text = (int8_t)r->ntexts;
		char *dst = r->text[r->ntexts++];
		size_t n = strnlen(text ? text : "", LEAK_STMT_LEN);
		memcpy(dst, text ? text : "", n);
		dst[n] = '\0';
	}
}

int repeat_collect(const struct repeat_scope *r, uint32_t threshold, struct repeat_found *out)
{
	int n = 0;
	if (!threshold)
		return 0;
	for (int i = 0; i < r->nslots && n < REPEAT_TEXTS; i++) {
		const struct repeat_slot *s = &r->slot[i];
		if (s->count < threshold || s->text < 0)
			continue;
		out[n].text = r->text[(int)s->text];
		out[n].count = s->count;
		out[n].us = s->us;
		n++;
	}
	return n;
}

void repeat_reset(struct repeat_scope *r)
{
	for (int i = 0; i < r->nslots; i++)
		r->slot[i] = (struct repeat_slot){0, 0, 0, -1};
	r->nslots = 0;
	r->ntexts = 0;
	r->kind = REPEAT_NONE;
	r->lost = 0;
	r->start = 0;
	r->last_end = 0;
}

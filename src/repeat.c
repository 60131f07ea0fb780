/* Counting single-row statements per scope (N+1): the CommandComplete row
 * count and the fixed table of struct repeat_table. */
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
	const char *tag;

	/* once per CommandComplete: one switch, one compare */
	switch (len ? body[0] : 0) {
	case 'S':
		tag = "SELECT ";
		break;
	case 'I':
		tag = "INSERT ";
		break;
	case 'U':
		tag = "UPDATE ";
		break;
	case 'D':
		tag = "DELETE ";
		break;
	case 'M':
		tag = "MERGE ";
		break;
	default:
		return -1;
	}
	size_t k = tag[0] == 'M' ? 6 : 7;
	if (len <= k || memcmp(body, tag, k) != 0)
		return -1;
	/* the numbers stop at the NUL that ends the tag, or at LEN */
	const uint8_t *end = body + len, *after;
	int64_t v = number(body + k, end, &after);
	if (v >= 0 && tag[0] == 'I') {
		/* INSERT oid rows */
		if (after >= end || *after != ' ')
			return -1;
		v = number(after + 1, end, &after);
	}
	return v >= 0 && (after == end || *after == '\0') ? v : -1;
}

void repeat_note_complete(struct repeat_request *req, const uint8_t *body, uint32_t len)
{
	int64_t rows = repeat_command_rows(body, len);
	if (rows > 1)
		req->big = true;
	else if (rows >= 0)
		req->small++;
}

static struct repeat_slot *find_slot(struct repeat_table *r, uint64_t fp)
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

void repeat_add(struct repeat_table *r, const struct repeat_request *req, uint64_t fp,
		const char *text, uint64_t us, uint32_t threshold)
{
	if (!repeat_counts(req) || !fp || !threshold)
		return;
	struct repeat_slot *s = find_slot(r, fp);
	if (!s)
		return;
	bool was_below = s->count < threshold;
	s->fp = fp;
	s->count += req->small;
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

int repeat_collect(const struct repeat_table *r, uint32_t threshold, struct repeat_found *out)
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

void repeat_reset(struct repeat_table *r)
{
	for (int i = 0; i < r->nslots; i++)
		r->slot[i] = (struct repeat_slot){0, 0, 0, -1};
	r->nslots = 0;
	r->ntexts = 0;
	r->lost = 0;
}

/* The per-pool table of transactions by application_name. */
#include "xactapp.h"

#include <stdio.h>
#include <string.h>

static bool same(const struct xactapp_row *row, const char *name)
{
	return row->used && strncmp(row->name, name, XACTAPP_NAME_LEN) == 0;
}

struct xactapp_row *xactapp_row(struct xactapp *t, const char *name, int *hint)
{
	if (!name)
		name = "";
	if (hint && *hint >= 0 && *hint < XACTAPP_NAMES && same(&t->row[*hint], name))
		return &t->row[*hint];
	int free_slot = -1;
	for (int i = 0; i < XACTAPP_NAMES; i++) {
		if (same(&t->row[i], name)) {
			if (hint)
				*hint = i;
			return &t->row[i];
		}
		if (!t->row[i].used && free_slot < 0)
			free_slot = i;
	}
	struct xactapp_row *other = &t->row[XACTAPP_NAMES];
	if (free_slot < 0) {
		if (!other->used) {
			snprintf(other->name, sizeof(other->name), "%s", XACTAPP_OTHER);
			other->used = true;
		}
		if (hint)
			*hint = XACTAPP_NAMES;
		return other;
	}
	struct xactapp_row *row = &t->row[free_slot];
	memset(row, 0, sizeof(*row));
	snprintf(row->name, sizeof(row->name), "%s", name);
	row->used = true;
	if (hint)
		*hint = free_slot;
	return row;
}

void xactapp_xact_ended(struct xactapp_row *row, usec_t duration)
{
	uint64_t d = duration > 0 ? (uint64_t)duration : 0;
	row->active = true;
	row->xacts++;
	row->xact_us += d;
	if (d > row->xact_max_us)
		row->xact_max_us = d;
}

void xactapp_idle(struct xactapp_row *row, usec_t gap)
{
	uint64_t d = gap > 0 ? (uint64_t)gap : 0;
	row->active = true;
	row->idle_us += d;
	if (d > row->idle_max_us)
		row->idle_max_us = d;
}

void xactapp_next_interval(struct xactapp *t)
{
	for (int i = 0; i <= XACTAPP_NAMES; i++) {
		struct xactapp_row *row = &t->row[i];
		if (!row->active)
			row->used = false; /* quiet for a whole interval */
		row->active = false;
		row->xacts = row->xact_us = row->xact_max_us = 0;
		row->idle_us = row->idle_max_us = 0;
	}
}

/* Tracked startup parameters and the SET that carries them to a server. */
#include "params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const names[PARAM_COUNT] = {
	"application_name",   "client_encoding", "DateStyle",
	"TimeZone",           "IntervalStyle",   "standard_conforming_strings",
	"extra_float_digits",
};

bool params_reported(enum param_id id)
{
	return id != PARAM_EXTRA_FLOAT_DIGITS;
}

int params_lookup(const char *name)
{
	for (int i = 0; i < PARAM_COUNT; i++)
		if (strcasecmp(name, names[i]) == 0)
			return i;
	return -1;
}

const char *params_name(enum param_id id)
{
	return names[id];
}

bool params_set(struct params *p, enum param_id id, const char *value)
{
	char *copy = NULL;
	if (value) {
		if (p->values[id] && strcmp(p->values[id], value) == 0)
			return true;
		copy = strdup(value);
		if (!copy)
			return false;
	}
	free(p->values[id]);
	p->values[id] = copy;
	return true;
}

void params_clear(struct params *p)
{
	for (int i = 0; i < PARAM_COUNT; i++) {
		free(p->values[i]);
		p->values[i] = NULL;
	}
}

/* Append VALUE as an E'' literal: independent of standard_conforming_strings. */
static int put_literal(char *out, size_t outlen, size_t pos, const char *value)
{
	if (pos + 2 >= outlen)
		return -1;
	out[pos++] = 'E';
	out[pos++] = '\'';
	for (const char *s = value; *s; s++) {
		if (*s == '\'' || *s == '\\') {
			if (pos + 1 >= outlen)
				return -1;
			out[pos++] = '\\';
		}
		if (pos + 1 >= outlen)
			return -1;
		out[pos++] = *s;
	}
	if (pos + 1 >= outlen)
		return -1;
	out[pos++] = '\'';
	return (int)pos;
}

int params_build_set(const struct params *want, const struct params *server, char *out,
		     size_t outlen)
{
	size_t pos = 0;

	for (int i = 0; i < PARAM_COUNT; i++) {
		const char *w = want->values[i];
		const char *s = server->values[i];
		if (!w && s && !params_reported(i)) {
			int n = snprintf(out + pos, outlen - pos, "RESET %s;", names[i]);
			if (n < 0 || (size_t)n >= outlen - pos)
				return -1;
			pos += (size_t)n;
			continue;
		}
		if (!w || (s && strcmp(w, s) == 0))
			continue;
		int n = snprintf(out + pos, outlen - pos, "SET %s = ", names[i]);
		if (n < 0 || (size_t)n >= outlen - pos)
			return -1;
		pos += (size_t)n;
		int r = put_literal(out, outlen, pos, w);
		if (r < 0)
			return -1;
		pos = (size_t)r;
		if (pos + 1 >= outlen)
			return -1;
		out[pos++] = ';';
		out[pos] = '\0';
	}
	if (pos < outlen)
		out[pos] = '\0';
	return (int)pos;
}

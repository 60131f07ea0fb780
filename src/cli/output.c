/* pglifeguard-cli: what the subcommands' option parsing and output share:
 * durations and JSON strings. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"

bool cli_parse_duration(const char *text, usec_t *out)
{
	char *end;
	long long n = strtoll(text, &end, 10);
	if (end == text || n < 0)
		return false;
	long long mult = 1;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		return false;
	}
	if (*end && end[1])
		return false;
	if (n > INT64_MAX / USEC_PER_SEC / mult)
		return false;
	*out = (usec_t)n * mult * USEC_PER_SEC;
	return true;
}

void cli_json_string(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", stdout);
		else if (*p == '\t')
			fputs("\\t", stdout);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

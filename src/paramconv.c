/* Binary-format Bind values to text, as PostgreSQL's send functions
 * write them and its output functions print them (the ISO DateStyle):
 * integers big-endian, floats IEEE 754 big-endian, numeric in base-10000
 * digits, dates and timestamps counted from 2000-01-01. */
#include "paramconv.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool paramconv_supported(uint32_t oid)
{
	switch (oid) {
	case PARAMCONV_BOOL:
	case PARAMCONV_NAME:
	case PARAMCONV_INT8:
	case PARAMCONV_INT2:
	case PARAMCONV_INT4:
	case PARAMCONV_TEXT:
	case PARAMCONV_OID:
	case PARAMCONV_FLOAT4:
	case PARAMCONV_FLOAT8:
	case PARAMCONV_BPCHAR:
	case PARAMCONV_VARCHAR:
	case PARAMCONV_DATE:
	case PARAMCONV_TIMESTAMP:
	case PARAMCONV_TIMESTAMPTZ:
	case PARAMCONV_NUMERIC:
	case PARAMCONV_UUID:
		return true;
	default:
		return false;
	}
}

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static char *dup_len(const char *s, size_t n, size_t *out_len)
{
	char *r = malloc(n + 1);
	if (!r)
		return NULL;
	memcpy(r, s, n);
	r[n] = '\0';
	*out_len = n;
	return r;
}

static char *printed(const char *buf, int n, size_t *out_len)
{
	return n < 0 ? NULL : dup_len(buf, (size_t)n, out_len);
}

static char *float_text(double v, int digits, size_t *out_len)
{
	char buf[64];
	if (isnan(v))
		return dup_len("NaN", 3, out_len);
	if (isinf(v))
		return v > 0 ? dup_len("Infinity", 8, out_len) : dup_len("-Infinity", 9, out_len);
	/* enough digits to read back the same value */
	return printed(buf, snprintf(buf, sizeof(buf), "%.*g", digits, v), out_len);
}

static char *numeric_text(const uint8_t *d, size_t len, size_t *out_len)
{
	if (len < 8)
		return NULL;
	int ndigits = (int)be(d, 2);
	int weight = (int16_t)be(d + 2, 2);
	unsigned sign = (unsigned)be(d + 4, 2);
	int dscale = (int)be(d + 6, 2);
	if (len != 8 + 2 * (size_t)ndigits || (dscale & 0xc000))
		return NULL;
	switch (sign) {
	case 0xc000:
		return dup_len("NaN", 3, out_len);
	case 0xd000:
		return dup_len("Infinity", 8, out_len);
	case 0xf000:
		return dup_len("-Infinity", 9, out_len);
	case 0x0000:
	case 0x4000:
		break;
	default:
		return NULL;
	}
	const uint8_t *digits = d + 8;
	for (int i = 0; i < ndigits; i++)
		if (be(digits + 2 * i, 2) > 9999)
			return NULL;
	size_t cap = 2 + (weight >= 0 ? 4 * ((size_t)weight + 1) : 1) + 1 + (size_t)dscale + 4 + 1;
	char *s = malloc(cap), *p = s;
	if (!s)
		return NULL;
	if (sign == 0x4000)
		*p++ = '-';
	if (weight < 0) {
		*p++ = '0';
	} else {
		for (int i = 0; i <= weight; i++) {
			unsigned v = i < ndigits ? (unsigned)be(digits + 2 * i, 2) : 0;
			p += sprintf(p, i ? "%04u" : "%u", v);
		}
	}
	if (dscale > 0) {
		*p++ = '.';
		char *frac = p;
		/* base-10000 digits after the point, cut at dscale decimals */
		for (int i = weight + 1; p - frac < dscale; i++) {
			unsigned v = i >= 0 && i < ndigits ? (unsigned)be(digits + 2 * i, 2) : 0;
			p += sprintf(p, "%04u", v);
		}
		p = frac + dscale;
	}
	*p = '\0';
	*out_len = (size_t)(p - s);
	return s;
}

/* civil sets Y, M, D of the proleptic Gregorian day DAYS after 2000-01-01
 * (Howard Hinnant's days-to-civil, shifted to the 2000-03-01 era start). */
static void civil(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t z = days + 10957 + 719468; /* days since 0000-03-01 */
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* date_part prints the date DAYS after 2000-01-01 at BUF; *BC tells
 * whether it is before year 1 (printed as year 1 - y, then " BC"). */
static int date_part(char *buf, size_t size, int64_t days, bool *bc)
{
	int64_t y;
	int m, d;
	civil(days, &y, &m, &d);
	*bc = y <= 0;
	return snprintf(buf, size, "%04lld-%02d-%02d", (long long)(*bc ? 1 - y : y), m, d);
}

static char *date_text(int32_t days, size_t *out_len)
{
	if (days == INT32_MIN)
		return dup_len("-infinity", 9, out_len);
	if (days == INT32_MAX)
		return dup_len("infinity", 8, out_len);
	char buf[64];
	bool bc;
	int n = date_part(buf, sizeof(buf), days, &bc);
	if (bc)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " BC");
	return printed(buf, n, out_len);
}

static char *timestamp_text(int64_t us, bool tz, size_t *out_len)
{
	if (us == INT64_MIN)
		return dup_len("-infinity", 9, out_len);
	if (us == INT64_MAX)
		return dup_len("infinity", 8, out_len);
	const int64_t day = 86400LL * 1000000;
	int64_t days = us / day, rest = us % day;
	if (rest < 0) {
		rest += day;
		days--;
	}
	char buf[96];
	bool bc;
	int n = date_part(buf, sizeof(buf), days, &bc);
	int64_t secs = rest / 1000000, frac = rest % 1000000;
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %02d:%02d:%02d", (int)(secs / 3600),
		      (int)(secs / 60 % 60), (int)(secs % 60));
	if (frac) {
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, ".%06d", (int)frac);
		while (buf[n - 1] == '0')
			buf[--n] = '\0';
	}
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s%s", tz ? "+00" : "", bc ? " BC" : "");
	return printed(buf, n, out_len);
}

static char *uuid_text(const uint8_t *d, size_t *out_len)
{
	char buf[37], *p = buf;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += sprintf(p, "%02x", d[i]);
	}
	return dup_len(buf, (size_t)(p - buf), out_len);
}

char *paramconv_text(uint32_t oid, const uint8_t *data, size_t len, size_t *out_len)
{
	char buf[64];
	float f;
	double g;
	switch (oid) {
	case PARAMCONV_BOOL:
		if (len != 1 || data[0] > 1)
			return NULL;
		return data[0] ? dup_len("true", 4, out_len) : dup_len("false", 5, out_len);
	case PARAMCONV_INT2:
		if (len != 2)
			return NULL;
		return printed(buf, snprintf(buf, sizeof(buf), "%d", (int16_t)be(data, 2)),
			       out_len);
	case PARAMCONV_INT4:
		if (len != 4)
			return NULL;
		return printed(buf, snprintf(buf, sizeof(buf), "%d", (int32_t)be(data, 4)),
			       out_len);
	case PARAMCONV_INT8:
		if (len != 8)
			return NULL;
		return printed(buf,
			       snprintf(buf, sizeof(buf), "%lld", (long long)(int64_t)be(data, 8)),
			       out_len);
	case PARAMCONV_OID:
		if (len != 4)
			return NULL;
		return printed(buf, snprintf(buf, sizeof(buf), "%u", (uint32_t)be(data, 4)),
			       out_len);
	case PARAMCONV_FLOAT4: {
		if (len != 4)
			return NULL;
		uint32_t bits = (uint32_t)be(data, 4);
		memcpy(&f, &bits, 4);
		return float_text(f, 9, out_len);
	}
	case PARAMCONV_FLOAT8: {
		if (len != 8)
			return NULL;
		uint64_t bits = be(data, 8);
		memcpy(&g, &bits, 8);
		return float_text(g, 17, out_len);
	}
	case PARAMCONV_NUMERIC:
		return numeric_text(data, len, out_len);
	case PARAMCONV_TEXT:
	case PARAMCONV_VARCHAR:
	case PARAMCONV_BPCHAR:
	case PARAMCONV_NAME:
		/* as they are; no NUL in a PostgreSQL string (the JSON step
		 * turns what is not UTF-8 into null) */
		if (memchr(data, '\0', len))
			return NULL;
		return dup_len((const char *)data, len, out_len);
	case PARAMCONV_UUID:
		return len == 16 ? uuid_text(data, out_len) : NULL;
	case PARAMCONV_DATE:
		return len == 4 ? date_text((int32_t)be(data, 4), out_len) : NULL;
	case PARAMCONV_TIMESTAMP:
	case PARAMCONV_TIMESTAMPTZ:
		if (len != 8)
			return NULL;
		return timestamp_text((int64_t)be(data, 8), oid == PARAMCONV_TIMESTAMPTZ, out_len);
	default:
		return NULL;
	}
}

/* Fuzz target for sample_query_params: a text up to its first NUL is a
 * statement, the bytes after it a Bind body. The pooler's side (the kind
 * filter, the copy of the Bind values) must stay in its event; the
 * monitor's extraction must return valid JSON arrays or nothing. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evqueue.h"
#include "paramsample.h"
#include "paramtap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct paramsample *s)
{
	if (strlen(s->fingerprint) != 16 || !s->query)
		abort();
	json_object *o = json_tokener_parse(s->params);
	if (!o || !json_object_is_type(o, json_type_array))
		abort();
	json_object_put(o);
}

static void check_cb(void *arg, const struct paramsample *s)
{
	(void)arg;
	check(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t tlen = nul ? (size_t)(nul - data) : size;
	if (tlen >= EVENT_PARAMS_DATA)
		return 0;
	char *text = malloc(tlen + 1);
	if (!text)
		return 0;
	memcpy(text, data, tlen);
	text[tlen] = '\0';
	(void)paramtap_sampled_kind(text, (uint32_t)tlen);

	static struct event_params p;
	memcpy(p.data, text, tlen + 1);
	p.used = (uint16_t)(tlen + 1);
	p.nvalues = 0;
	const uint8_t *bind = nul ? nul + 1 : data + size;
	struct paramsample_value values[64];
	int n = 0;
	/* binary values of $1..$16 are of each converted type in turn */
	static const uint8_t oids[] = {0, 0, 0, 16,  0, 0, 0, 19,  0, 0, 0, 20,  0, 0, 0,  21,
				       0, 0, 0, 23,  0, 0, 0, 25,  0, 0, 0, 26,  0, 0, 2,  188,
				       0, 0, 2, 189, 0, 0, 4, 18,  0, 0, 4, 19,  0, 0, 4,  58,
				       0, 0, 4, 90,  0, 0, 4, 160, 0, 0, 6, 164, 0, 0, 11, 134};
	if (paramtap_encode_values(&p, bind, (uint32_t)(data + size - bind), oids,
				   (int)sizeof(oids) / 4)) {
		if (p.used > EVENT_PARAMS_DATA)
			abort();
		/* read back as store_params.c does */
		size_t at = tlen + 1;
		for (int i = 0; i < p.nvalues && n < 64; i++) {
			int32_t len;
			uint32_t oid;
			if (at + 8 > p.used)
				abort();
			memcpy(&len, p.data + at, 4);
			memcpy(&oid, p.data + at + 4, 4);
			at += 8;
			if (len > 0 && at + (size_t)len > p.used)
				abort();
			values[n].data = p.data + at;
			values[n].binary_oid = oid;
			values[n++].len = len;
			if (len > 0)
				at += (size_t)len;
		}
	}
	struct paramsample s;
	if (paramsample_extract(text, values, n, &s) == PARAMSAMPLE_OK) {
		check(&s);
		paramsample_clear(&s);
	}
	(void)paramsample_extract_query(text, check_cb, NULL);
	free(text);
	return 0;
}

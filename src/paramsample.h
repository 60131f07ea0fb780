/* Parameter values of one sampled statement, extracted on the monitor
 * thread with libpg_query: the statement's fingerprint, its normalized text
 * (every constant a $n) and the values of $1..$n as a JSON array, for the
 * advisor's EXPLAIN with real values (sample_query_params). Pure: no I/O,
 * never called on the pooler loop. */
#ifndef PGLG_PARAMSAMPLE_H
#define PGLG_PARAMSAMPLE_H
#include <stddef.h>
#include <stdint.h>

/* A Bind value: LEN bytes at DATA, in text format when BINARY_OID is 0,
 * else in binary format of that type (converted with paramconv_text;
 * a type it does not convert is stored as null); LEN < 0: NULL, or a
 * binary value of unknown type. */
struct paramsample_value {
	const char *data;
	int32_t len;
	uint32_t binary_oid;
};

/* One extracted statement; the strings are owned (paramsample_clear). */
struct paramsample {
	char fingerprint[17]; /* pg_query_fingerprint's fingerprint_str */
	char *query; /* pg_query_normalize output */
	char *params; /* JSON array, $1 first: string or null */
};

/* What paramsample_extract found. */
enum paramsample_status {
	PARAMSAMPLE_OK = 0,
	PARAMSAMPLE_REFUSED, /* not a SELECT, INSERT, UPDATE, DELETE, VALUES or WITH */
	PARAMSAMPLE_FAILED, /* parse error, or constants that could not be matched */
};

/* paramsample_extract extracts the sample of STMT (NUL-terminated; one
 * statement, as in a Parse message, or one piece of a Query string), whose
 * $1..$k are bound to VALUES (NVALUES of them, borrowed until return; may
 * be fewer than k: the missing are null). The constants that
 * pg_query_normalize replaces are numbered after the highest $k already in
 * the text, in text order; their values are the literal values (the string
 * 'O''Brien' is O'Brien, -5 is -5, NULL is null). On PARAMSAMPLE_OK, OUT
 * holds strings the caller frees with paramsample_clear; otherwise OUT is
 * empty. Utility statements are refused before anything is copied, so a
 * password in ALTER ROLE never reaches OUT. */
enum paramsample_status paramsample_extract(const char *stmt,
					    const struct paramsample_value *values, int nvalues,
					    struct paramsample *out);

/* paramsample_extract_query splits the Query text TEXT (NUL-terminated)
 * into its statements and extracts each one that paramsample_extract
 * accepts, calling EMIT with ARG for each (the sample is borrowed during
 * the call). Returns the number of samples emitted, or -1 when TEXT does
 * not parse. */
int paramsample_extract_query(const char *text,
			      void (*emit)(void *arg, const struct paramsample *sample), void *arg);

/* paramsample_clear frees what S owns and empties it. */
void paramsample_clear(struct paramsample *s);

/* paramsample_json_string appends the JSON string of LEN bytes at S to
 * BUF (a malloc'd string of *LEN_BUF bytes, grown with realloc). Returns
 * 0, or -1 when S is not valid UTF-8 or memory ran out (BUF unchanged). */
int paramsample_json_string(char **buf, size_t *len_buf, const char *s, size_t len);
#endif

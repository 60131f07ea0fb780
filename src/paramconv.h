/* Binary-format Bind values to the text PostgreSQL prints for them, for
 * the parameter samples (sample_query_params): the common scalar types
 * only; anything else stays unknown. Pure: no I/O, no global state. */
#ifndef PGLG_PARAMCONV_H
#define PGLG_PARAMCONV_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Type OIDs converted (pg_type.oid). */
#define PARAMCONV_BOOL 16
#define PARAMCONV_NAME 19
#define PARAMCONV_INT8 20
#define PARAMCONV_INT2 21
#define PARAMCONV_INT4 23
#define PARAMCONV_TEXT 25
#define PARAMCONV_OID 26
#define PARAMCONV_FLOAT4 700
#define PARAMCONV_FLOAT8 701
#define PARAMCONV_BPCHAR 1042
#define PARAMCONV_VARCHAR 1043
#define PARAMCONV_DATE 1082
#define PARAMCONV_TIMESTAMP 1114
#define PARAMCONV_TIMESTAMPTZ 1184
#define PARAMCONV_NUMERIC 1700
#define PARAMCONV_UUID 2950

/* paramconv_supported tells whether binary values of type OID are
 * converted (0, the unspecified type, is not: a length alone cannot tell
 * the type). Cheap enough for the pooler loop. */
bool paramconv_supported(uint32_t oid);

/* paramconv_text returns the text PostgreSQL prints for the binary-format
 * value of type OID in LEN bytes at DATA (borrowed until return), as a
 * NUL-terminated string the caller frees, its length in *OUT_LEN; NULL
 * when the type is not converted, the bytes are not a valid value of it,
 * or memory ran out. Text types come back as they are (not checked for
 * UTF-8: the JSON step does). timestamptz is printed in UTC with +00. */
char *paramconv_text(uint32_t oid, const uint8_t *data, size_t len, size_t *out_len);
#endif

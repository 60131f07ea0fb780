/* What config.c exposes to config_db.c and to the unit tests: walking the
 * settings table and the shared value parsers. Not for other modules. */
#ifndef PGLG_CONFIG_INTERNAL_H
#define PGLG_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* config_setting_count returns the number of entries in the settings table;
 * config_setting_name, config_setting_default and config_setting_doc return
 * entry I's name, default as the file spells it (NULL: unset) and one line
 * of documentation (static strings), or NULL past the end. */
size_t config_setting_count(void);
const char *config_setting_name(size_t i);
const char *config_setting_default(size_t i);
const char *config_setting_doc(size_t i);

/* config_unsupported_count/config_unsupported_name walk the PgBouncer
 * settings that are recognised but not implemented (accepted with a warning
 * or refused, depending on the value). */
size_t config_unsupported_count(void);
const char *config_unsupported_name(size_t i);

/* config_parse_int reads a decimal integer TEXT (surrounding blanks allowed)
 * into OUT. Returns false when TEXT is not one or is outside MIN..MAX. */
bool config_parse_int(const char *text, long long min, long long max, long long *out);

/* config_parse_pool_mode reads "session", "transaction" or "statement"
 * (any case). Returns false when TEXT is none of them. */
bool config_parse_pool_mode(const char *text, enum pool_mode *out);

#endif

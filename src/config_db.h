/* [databases] and [users] entries of the configuration file: libpq-style
 * "key=value ..." strings turned into struct db_config / struct user_config. */
#ifndef PGLG_CONFIG_DB_H
#define PGLG_CONFIG_DB_H

#include <stdio.h>

#include "config.h"

/* config_db_parse reads the [databases] line KEY = VALUE (KEY may be a
 * double-quoted name) found at FILE:LINE. Returns a new entry the caller
 * frees with config_db_free, or NULL after writing every problem as
 * "FILE:LINE: database "NAME": ..." to ERRORS. Keys that are recognised but
 * have no effect yet get a warning on WARNINGS. Never writes a password.
 * ERRORS and WARNINGS may be NULL. */
struct db_config *config_db_parse(const char *key, const char *value, const char *file, int line,
				  FILE *errors, FILE *warnings);

/* config_user_parse is config_db_parse for a [users] line
 * ("name = pool_mode=transaction max_user_connections=10"). */
struct user_config *config_user_parse(const char *key, const char *value, const char *file,
				      int line, FILE *errors, FILE *warnings);

/* config_db_free and config_user_free release one entry (not the rest of
 * its list); NULL is fine. */
void config_db_free(struct db_config *db);
void config_user_free(struct user_config *user);

#endif

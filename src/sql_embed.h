/* The sql/ files, embedded at build time: each is a NUL-terminated string
 * named after its file (sql/store.sql -> sql_store). The definitions are
 * generated into sql_embed.c by a Makefile.am rule. */
#ifndef PGLG_SQL_EMBED_H
#define PGLG_SQL_EMBED_H
extern const char sql_store[];
extern const char sql_pgss_sample[];
extern const char sql_pgss_texts[];
extern const char sql_migrate_2[];
extern const char sql_migrate_3[];
extern const char sql_migrate_4[];
extern const char sql_migrate_5[];
extern const char sql_lock_sample[];
extern const char sql_relstats_sample[];
#endif

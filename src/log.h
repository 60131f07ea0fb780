/* Logging: levels, connection-scoped prefixes, stderr/logfile/syslog. */
#ifndef PGLG_LOG_H
#define PGLG_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_NOISE,
};

/* The process-wide log sink. The pooler's threads share it: lines are
 * written with one write() each, so they never interleave. */
extern enum log_level log_max_level;

/* log_open sets the sinks: LOGFILE ("" or NULL: none), to_stderr, syslog
 * with IDENT and FACILITY (NULL: no syslog). Returns 0 or -1 (cannot open
 * the logfile; errno set). May be called again on reload. */
int log_open(const char *logfile, bool to_stderr, const char *syslog_ident,
	     const char *syslog_facility);

/* log_close closes the logfile and syslog. */
void log_close(void);

/* log_reopen reopens the logfile (after rotation, on SIGHUP). */
void log_reopen(void);

void log_write(enum log_level level, const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_enabled(level) ((int)(level) <= (int)log_max_level)

#define log_error(...) log_write(LOG_LEVEL_ERROR, NULL, __VA_ARGS__)
#define log_warning(...)                                                                           \
	do {                                                                                       \
		if (log_enabled(LOG_LEVEL_WARNING))                                                \
			log_write(LOG_LEVEL_WARNING, NULL, __VA_ARGS__);                           \
	} while (0)
#define log_info(...)                                                                              \
	do {                                                                                       \
		if (log_enabled(LOG_LEVEL_INFO))                                                   \
			log_write(LOG_LEVEL_INFO, NULL, __VA_ARGS__);                              \
	} while (0)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_enabled(LOG_LEVEL_DEBUG))                                                  \
			log_write(LOG_LEVEL_DEBUG, NULL, __VA_ARGS__);                             \
	} while (0)
#define log_noise(...)                                                                             \
	do {                                                                                       \
		if (log_enabled(LOG_LEVEL_NOISE))                                                  \
			log_write(LOG_LEVEL_NOISE, NULL, __VA_ARGS__);                             \
	} while (0)

#endif

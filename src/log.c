/* Log lines to stderr, a logfile and syslog, one write() per line. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

enum log_level log_max_level = LOG_LEVEL_INFO;

static int logfile_fd = -1;
static char logfile_path[4096];
static bool log_to_stderr = true;
static bool log_to_syslog;

static const char *level_names[] = {"ERROR", "WARNING", "LOG", "DEBUG", "NOISE"};

static int facility_code(const char *name)
{
	static const struct {
		const char *name;
		int code;
	} table[] = {
		{"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"daemon", LOG_DAEMON},
		{"user", LOG_USER},     {"local0", LOG_LOCAL0},     {"local1", LOG_LOCAL1},
		{"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},     {"local4", LOG_LOCAL4},
		{"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},     {"local7", LOG_LOCAL7},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcasecmp(name, table[i].name) == 0)
			return table[i].code;
	return LOG_DAEMON;
}

int log_open(const char *logfile, bool to_stderr, const char *syslog_ident,
	     const char *syslog_facility)
{
	int fd = -1;

	if (logfile && logfile[0]) {
		fd = open(logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0)
			return -1;
	}
	if (logfile_fd >= 0)
		close(logfile_fd);
	logfile_fd = fd;
	snprintf(logfile_path, sizeof(logfile_path), "%s", logfile ? logfile : "");
	log_to_stderr = to_stderr;
	if (log_to_syslog)
		closelog();
	log_to_syslog = syslog_ident != NULL;
	if (log_to_syslog)
		openlog(syslog_ident, LOG_PID,
			facility_code(syslog_facility ? syslog_facility : "daemon"));
	return 0;
}

void log_close(void)
{
	if (logfile_fd >= 0)
		close(logfile_fd);
	logfile_fd = -1;
	if (log_to_syslog)
		closelog();
	log_to_syslog = false;
}

void log_reopen(void)
{
	if (logfile_path[0] == '\0')
		return;
	int fd = open(logfile_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return;
	if (logfile_fd >= 0)
		close(logfile_fd);
	logfile_fd = fd;
}

void log_write(enum log_level level, const char *prefix, const char *fmt, ...)
{
	char line[4096];
	struct timeval tv;
	struct tm tm;
	int n;
	va_list ap;

	if (!log_enabled(level))
		return;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	n = (int)strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
	n += snprintf(line + n, sizeof(line) - n, ".%03d %d %s %s%s", (int)(tv.tv_usec / 1000),
		      (int)getpid(), level_names[level], prefix ? prefix : "", prefix ? " " : "");
	int head = n;
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';

	if (log_to_stderr)
		(void)!write(STDERR_FILENO, line, n);
	if (logfile_fd >= 0)
		(void)!write(logfile_fd, line, n);
	if (log_to_syslog) {
		static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG};
		syslog(prio[level], "%.*s", n - head - 1, line + head);
	}
}

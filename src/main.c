/* pglifeguard: arguments, daemonize, pidfile, privileges, start and stop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "listener.h"
#include "log.h"
#include "loop.h"
#include "backend_owner.h"
#include "monitor.h"

static void usage(FILE *out)
{
	fprintf(out, "pglifeguard is a PostgreSQL connection pooler that reads pgbouncer.ini.\n"
		     "\n"
		     "Usage: pglifeguard [OPTION]... CONFIG_FILE\n"
		     "\n"
		     "Options:\n"
		     "  -d, --daemon     run in the background (needs logfile or syslog)\n"
		     "  -q, --quiet      log nothing to stderr\n"
		     "  -v, --verbose    log more (repeat for even more)\n"
		     "  -u, --user=USER  switch to the OS user USER at startup\n"
		     "  -V, --version    print the version and exit\n"
		     "  -h, --help       print this help and exit\n"
		     "\n"
		     "Signals: SIGHUP reloads the configuration, SIGTERM waits for clients to\n"
		     "leave then exits (twice: at once), SIGINT waits for transactions to finish\n"
		     "then exits, SIGQUIT exits at once, SIGUSR1 pauses, SIGUSR2 resumes.\n");
}

static int switch_user(const char *name)
{
	struct passwd *pw = getpwnam(name);
	if (!pw) {
		fprintf(stderr, "pglifeguard: unknown user: %s\n", name);
		return -1;
	}
	if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
		return 0;
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		fprintf(stderr, "pglifeguard: cannot switch to user %s: %s\n", name,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int write_pidfile(const char *path)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST) {
		/* stale if the process it names is gone */
		FILE *f = fopen(path, "r");
		long pid = 0;
		if (f) {
			if (fscanf(f, "%ld", &pid) != 1)
				pid = 0;
			fclose(f);
		}
		if (pid > 0 && kill((pid_t)pid, 0) == 0) {
			log_error("pidfile %s names a running process %ld", path, pid);
			return -1;
		}
		unlink(path);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	}
	if (fd < 0) {
		log_error("cannot create pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int daemonize(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"daemon", no_argument, NULL, 'd'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"user", required_argument, NULL, 'u'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool daemon_mode = false, quiet = false;
	int verbose = 0;
	const char *user = NULL;
	int opt;

	while ((opt = getopt_long(argc, argv, "dqvu:Vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			daemon_mode = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'u':
			user = optarg;
			break;
		case 'V':
			printf("pglifeguard %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "pglifeguard: exactly one configuration file is needed\n\n");
		usage(stderr);
		return 1;
	}

	/* until the configuration names a logfile, log to stderr unless -q */
	log_open(NULL, !quiet, NULL, NULL);
	struct config *cfg = config_load(argv[optind], stderr, stderr);
	if (!cfg)
		return 1;
	if (!user && cfg->user && cfg->user[0])
		user = cfg->user;
	if (geteuid() == 0 && !user) {
		fprintf(stderr,
			"pglifeguard: refusing to run as root; use -u USER or the user setting\n");
		config_free(cfg);
		return 1;
	}
	if (daemon_mode && (!cfg->logfile || !cfg->logfile[0]) && !cfg->syslog) {
		fprintf(stderr, "pglifeguard: -d needs logfile or syslog in the configuration\n");
		config_free(cfg);
		return 1;
	}
	int level = LOG_LEVEL_INFO + verbose + cfg->verbose;
	log_max_level = level > LOG_LEVEL_NOISE ? LOG_LEVEL_NOISE : (enum log_level)level;

	struct loop loop;
	/* bind first (ports below 1024 need root), then drop privileges */
	if (loop_init(&loop, cfg) < 0)
		return 1;
	if (listener_start_all(&loop) < 0) {
		loop_destroy(&loop);
		return 1;
	}
	if (user && switch_user(user) < 0) {
		loop_destroy(&loop);
		return 1;
	}
	if (log_open(cfg->logfile, !quiet && !daemon_mode, cfg->syslog ? cfg->syslog_ident : NULL,
		     cfg->syslog_facility) < 0) {
		fprintf(stderr, "pglifeguard: cannot open logfile %s: %s\n", cfg->logfile,
			strerror(errno));
		loop_destroy(&loop);
		return 1;
	}
	if (daemon_mode && daemonize() < 0) {
		log_error("cannot daemonize: %s", strerror(errno));
		loop_destroy(&loop);
		return 1;
	}
	/* libev's signal handling must be set up in the process that runs */
	ev_loop_fork(loop.ev);
	bool own_pidfile = false;
	if (cfg->pidfile && cfg->pidfile[0]) {
		if (write_pidfile(cfg->pidfile) < 0) {
			loop_destroy(&loop);
			return 1;
		}
		own_pidfile = true;
	}
	char *pidfile = own_pidfile ? strdup(cfg->pidfile) : NULL;
	log_info("pglifeguard %s started, pid %d", PACKAGE_VERSION, (int)getpid());
	listener_log_all(&loop);
	struct monitor *monitor = NULL;
	/* lock samplers ask the pooler loop which client a backend serves */
	struct backend_owner *owners = NULL;
	char *store_path = monitor_store_path(cfg);
	bool want_monitor = store_path != NULL;
	free(store_path);
	if (want_monitor &&
	    (!(owners = backend_owner_new(&loop)) || !(monitor = monitor_start(cfg, owners)))) {
		backend_owner_free(owners);
		loop_destroy(&loop);
		if (pidfile)
			unlink(pidfile);
		free(pidfile);
		return 1;
	}
	loop.events = monitor_events(monitor);
	loop_run(&loop);
	log_info("shutting down");
	loop.events = NULL; /* the queue goes with the monitor */
	monitor_stop(monitor);
	backend_owner_free(owners);
	loop_destroy(&loop);
	if (pidfile) {
		unlink(pidfile);
		free(pidfile);
	}
	log_close();
	return 0;
}

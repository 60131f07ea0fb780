/* store_size: measures the store's size over simulated time. Writes
 * synthetic sampling intervals through the store API (one transaction
 * each, like the sampler) for N days of simulated wall clock, with the
 * monitor's once-a-minute retention and rollups, and prints the file size
 * day by day. Not a test: run it by hand, numbers go to README.
 *
 *   tests/tools/store_size [-d DAYS] [-n STATEMENTS] [-t TABLES] [-x INDEXES]
 *                          [-i INTERVAL_S] [-R RETENTION_DAYS] [-o PATH]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rollup.h"
#include "store.h"

#define SEC 1000000LL
#define DAY (86400 * SEC)

static long long file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static long long pragma(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* rnd returns a pseudo-random number below N (xorshift, reproducible). */
static unsigned long long rnd(unsigned long long n)
{
	static unsigned long long x = 88172645463325252ULL;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return n ? x % n : x;
}

int main(int argc, char **argv)
{
	int days = 30, nstmt = 200, ntables = 50, nindexes = 100, interval = 10, retention = 30;
	const char *path = "/tmp/store_size.db";
	int c;
	while ((c = getopt(argc, argv, "d:n:t:x:i:R:o:")) != -1) {
		switch (c) {
		case 'd':
			days = atoi(optarg);
			break;
		case 'n':
			nstmt = atoi(optarg);
			break;
		case 't':
			ntables = atoi(optarg);
			break;
		case 'x':
			nindexes = atoi(optarg);
			break;
		case 'i':
			interval = atoi(optarg);
			break;
		case 'R':
			retention = atoi(optarg);
			break;
		case 'o':
			path = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: %s [-d DAYS] [-n STATEMENTS] [-t TABLES] [-x INDEXES] "
				"[-i INTERVAL_S] [-R RETENTION_DAYS] [-o PATH]\n",
				argv[0]);
			return 1;
		}
	}
	if (days < 1 || nstmt < 0 || ntables < 0 || nindexes < 0 || interval < 1 || retention < 1)
		return 1;
	unlink(path);
	char wal[512];
	snprintf(wal, sizeof(wal), "%s-wal", path);
	unlink(wal);
	char *err = NULL;
	struct store *s = store_open(path, false, &err, NULL);
	if (!s) {
		fprintf(stderr, "%s\n", err ? err : "cannot open");
		return 1;
	}
	sqlite3 *db = store_db(s);
	sqlite3_stmt *tab, *idx;
	if (sqlite3_prepare_v2(
		    db,
		    "INSERT INTO table_samples VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, "
		    "?9, 0, 0, 0, 0, ?10, ?11, ?12, ?13, ?14, NULL, ?15, NULL, ?15)",
		    -1, &tab, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO index_samples VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1,
			       &idx, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s\n", sqlite3_errmsg(db));
		return 1;
	}
	long long *qid = malloc(sizeof(long long) * (size_t)(nstmt ? nstmt : 1));
	for (int q = 0; q < nstmt; q++) {
		qid[q] = (long long)rnd(0);
		if (store_add_statement(s, qid[q], 16384, 16385,
					"SELECT a, b, c FROM some_table WHERE id = $1 AND x > $2",
					0) < 0)
			return 1;
	}
	const long long t0 = 1767225600LL * SEC; /* 2026-01-01, a bucket boundary */
	const long long step = interval * SEC;
	long long per_day = DAY / step;
	printf("# %d statements, %d tables, %d indexes active in every %d s interval; "
	       "store_rollup_after 1 day, store_rollup_interval 1 h, store_retention %d days\n",
	       nstmt, ntables, nindexes, interval, retention);
	printf("%4s %14s %14s %10s %10s %14s\n", "day", "file_bytes", "used_bytes", "raw_iv",
	       "rollup_iv", "max_rollup_ms");
	long long prev_used = 0;
	double max_rollup_ms = 0.0;
	for (long long k = 0; k < per_day * days; k++) {
		long long start = t0 + k * step, end = start + step;
		if (store_begin(s) < 0)
			return 1;
		int64_t id =
			store_add_interval(s, "app", start, end, false, "2026-01-01 00:00:00+00");
		for (int q = 0; q < nstmt; q++) {
			struct store_sample x = {.queryid = qid[q], .userid = 16384, .dbid = 16385};
			x.calls = 1 + (int64_t)rnd(200);
			x.total_exec_time = (double)x.calls * (0.05 + (double)rnd(10000) / 1000.0);
			x.min_exec_time = 0.01 + (double)rnd(100) / 1000.0;
			x.max_exec_time = 5.0 + (double)rnd(100000) / 1000.0;
			x.stddev_exec_time = (double)rnd(100000) / 10000.0;
			x.rows = x.calls * (int64_t)rnd(20);
			x.shared_blks_hit = x.calls * (int64_t)(3 + rnd(50));
			x.shared_blks_read = (int64_t)rnd(20);
			x.shared_blks_dirtied = (int64_t)rnd(5);
			x.shared_blks_written = (int64_t)rnd(2);
			x.blk_read_time = x.shared_blks_read ? (double)rnd(1000) / 100.0 : 0.0;
			x.wal_records = (int64_t)rnd(50);
			x.wal_bytes = x.wal_records * 120;
			x.wal_fpi = (int64_t)rnd(2);
			if (store_add_sample(s, id, &x) < 0)
				return 1;
		}
		for (int t = 0; t < ntables; t++) {
			sqlite3_bind_int64(tab, 1, id);
			sqlite3_bind_int64(tab, 2, 16400 + t);
			sqlite3_bind_int64(tab, 3, (sqlite3_int64)rnd(20));
			sqlite3_bind_int64(tab, 4, (sqlite3_int64)rnd(200000));
			sqlite3_bind_int64(tab, 5, (sqlite3_int64)rnd(5000));
			sqlite3_bind_int64(tab, 6, (sqlite3_int64)rnd(50000));
			sqlite3_bind_int64(tab, 7, (sqlite3_int64)rnd(300));
			sqlite3_bind_int64(tab, 8, (sqlite3_int64)rnd(300));
			sqlite3_bind_int64(tab, 9, (sqlite3_int64)rnd(200));
			sqlite3_bind_int64(tab, 10, 1000000 + (sqlite3_int64)rnd(100000));
			sqlite3_bind_int64(tab, 11, (sqlite3_int64)rnd(20000));
			sqlite3_bind_int64(tab, 12, 800000000 + (sqlite3_int64)rnd(1000000));
			sqlite3_bind_int64(tab, 13, 1200000000 + (sqlite3_int64)rnd(1000000));
			sqlite3_bind_int64(tab, 14, 400000000 + (sqlite3_int64)rnd(1000000));
			sqlite3_bind_int64(tab, 15, start - (sqlite3_int64)rnd(86400) * SEC);
			if (sqlite3_step(tab) != SQLITE_DONE)
				return 1;
			sqlite3_reset(tab);
		}
		for (int i = 0; i < nindexes; i++) {
			sqlite3_bind_int64(idx, 1, id);
			sqlite3_bind_int64(idx, 2, 20000 + i);
			sqlite3_bind_int64(idx, 3, (sqlite3_int64)rnd(5000));
			sqlite3_bind_int64(idx, 4, (sqlite3_int64)rnd(50000));
			sqlite3_bind_int64(idx, 5, (sqlite3_int64)rnd(50000));
			sqlite3_bind_int64(idx, 6, 100000000 + (sqlite3_int64)rnd(100000));
			if (sqlite3_step(idx) != SQLITE_DONE)
				return 1;
			sqlite3_reset(idx);
		}
		if (store_commit(s) < 0)
			return 1;
		/* the monitor's retention timer: once a minute */
		if ((end - t0) % (60 * SEC) < step) {
			if (store_expire(s, end - retention * DAY, 500) < 0)
				return 1;
			/* as the monitor: batches of 60 intervals, one per call to
			 * time one transaction */
			for (int b = 0; b < 30; b++) {
				double t = now_ms();
				int64_t r = rollup_run(s, end - DAY, 3600 * SEC, 60, 1);
				if (r < 0)
					return 1;
				if (r == 0)
					break;
				if (now_ms() - t > max_rollup_ms)
					max_rollup_ms = now_ms() - t;
			}
		}
		if ((k + 1) % per_day == 0) {
			sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
			long long used = (pragma(db, "PRAGMA page_count") -
					  pragma(db, "PRAGMA freelist_count")) *
					 pragma(db, "PRAGMA page_size");
			printf("%4lld %14lld %14lld %10lld %10lld %14.1f   (+%lld used)\n",
			       (k + 1) / per_day, file_size(path), used,
			       pragma(db, "SELECT count(*) FROM sample_intervals WHERE rollup = 0"),
			       pragma(db, "SELECT count(*) FROM sample_intervals WHERE rollup = 1"),
			       max_rollup_ms, used - prev_used);
			prev_used = used;
			fflush(stdout);
		}
	}
	sqlite3_finalize(tab);
	sqlite3_finalize(idx);
	free(qid);
	store_close(s);
	return 0;
}

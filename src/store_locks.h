/* The lock-wait tables of the store (sql/migrate_2.sql): writes of one lock
 * sample per transaction and their retention. Kept apart from store.c so
 * that the lock sampler owns its prepared statements. */
#ifndef PGLG_STORE_LOCKS_H
#define PGLG_STORE_LOCKS_H
#include <stdbool.h>
#include <stdint.h>
#include "store.h"

struct store_locks;

/* One backend of a lock sample. Strings are borrowed and may be NULL;
 * numbers that are 0 (ports, times, root_pid, pooler ids) are stored as
 * NULL, except client_port, where PostgreSQL's -1 (unix socket) is kept. */
struct store_lock_backend {
	int32_t pid;
	bool waiting;
	int32_t root_pid;
	const char *datname, *usename, *application_name, *client_addr;
	bool has_client_port;
	int client_port;
	const char *state, *query, *backend_xid;
	int64_t xact_start_us, query_start_us, wait_start_us;
	const char *locktype, *mode, *relation;
	/* the pglifeguard side; server_id 0: not a pglifeguard server */
	uint64_t pooler_server_id, pooler_client_id;
	const char *pooler_client_addr, *pooler_user, *pooler_database, *pooler_application_name;
	int pooler_client_port;
};

/* store_locks_new prepares the statements on STORE (borrowed until
 * store_locks_free; read-write). Returns NULL (logged) on failure. */
struct store_locks *store_locks_new(struct store *store) __attribute__((warn_unused_result));

/* store_locks_free finalizes the statements; NULL is fine. */
void store_locks_free(struct store_locks *sl);

/* store_locks_add_sample adds a lock_samples row inside the caller's
 * transaction (store_begin). Returns its id, or -1. */
int64_t store_locks_add_sample(struct store_locks *sl, const char *dbname, int64_t at_us,
			       int waiters) __attribute__((warn_unused_result));

/* store_locks_add_backend adds one lock_backends row of SAMPLE_ID; B is
 * borrowed. Returns 0 or -1. */
int store_locks_add_backend(struct store_locks *sl, int64_t sample_id,
			    const struct store_lock_backend *b) __attribute__((warn_unused_result));

/* store_locks_add_edge adds one lock_edges row. Returns 0 or -1. */
int store_locks_add_edge(struct store_locks *sl, int64_t sample_id, int32_t waiter, int32_t blocker)
	__attribute__((warn_unused_result));

/* store_locks_expire deletes lock samples taken before CUTOFF_US with
 * their rows, at most BATCH samples per transaction. Call outside a
 * transaction. Returns the number of samples deleted, or -1. */
int64_t store_locks_expire(struct store *store, int64_t cutoff_us, int batch);
#endif

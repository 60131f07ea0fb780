/* Blocking trees from "waiter waits on blocker" edges: who is at the root
 * of each chain (A blocks B blocks C), in an order fit for display. Pure
 * functions, used by the lock sampler and by pglifeguard-cli locks. */
#ifndef PGLG_LOCKTREE_H
#define PGLG_LOCKTREE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* WAITER waits for a lock BLOCKER holds or waits for ahead of it
 * (pg_blocking_pids). */
struct locktree_edge {
	int32_t waiter, blocker;
};

/* One line of a blocking tree. A backend that waits on several blockers
 * appears under each of them. */
struct locktree_node {
	int32_t pid;
	int32_t parent; /* the backend it waits on here; 0 for a root */
	int32_t root; /* the root of this tree */
	int depth; /* 0 for a root */
	bool cycle; /* a root picked in a deadlock cycle (it waits too) */
};

/* locktree_build returns in *OUT the blocking forest of the N EDGES in
 * display order: each root (a blocker that does not wait itself), lowest
 * pid first, followed depth-first by the backends waiting on it. Backends
 * that only wait on each other (a deadlock PostgreSQL has not broken yet)
 * get the lowest pid of their cycle as root, marked cycle. The result has
 * at most LOCKTREE_MAX_NODES nodes. EDGES is borrowed; *OUT is memory the
 * caller frees (NULL when the result is empty). Returns the number of
 * nodes, or -1 when out of memory. */
#define LOCKTREE_MAX_NODES 10000
long locktree_build(const struct locktree_edge *edges, size_t n, struct locktree_node **out)
	__attribute__((warn_unused_result));

/* locktree_root_of returns the root of the first tree of NODES in which
 * PID appears, or 0 when it appears in none. */
int32_t locktree_root_of(const struct locktree_node *nodes, long n, int32_t pid);
#endif

/* Blocking trees: roots are blockers that do not wait; children of a node
 * are the backends waiting on it, walked depth first. A path never visits
 * a backend twice, which keeps cycles finite. */
#include "locktree.h"
#include <stdlib.h>
#include <string.h>

struct build {
	struct locktree_edge *by_blocker; /* edges sorted by (blocker, waiter) */
	size_t n;
	int32_t *waiters; /* sorted, unique */
	size_t nwaiters;
	bool *reached; /* per waiter: appears in some tree */
	struct locktree_node *out;
	long nout;
	int32_t *path;
};

static int by_blocker_cmp(const void *a, const void *b)
{
	const struct locktree_edge *x = a, *y = b;
	if (x->blocker != y->blocker)
		return x->blocker < y->blocker ? -1 : 1;
	return x->waiter < y->waiter ? -1 : x->waiter > y->waiter;
}

static int pid_cmp(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return x < y ? -1 : x > y;
}

static size_t uniq(int32_t *v, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!k || v[k - 1] != v[i])
			v[k++] = v[i];
	return k;
}

static long waiter_index(const struct build *b, int32_t pid)
{
	const int32_t *p = bsearch(&pid, b->waiters, b->nwaiters, sizeof(*p), pid_cmp);
	return p ? p - b->waiters : -1;
}

/* first_edge returns the index of the first edge whose blocker is PID. */
static size_t first_edge(const struct build *b, int32_t pid)
{
	size_t lo = 0, hi = b->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->by_blocker[mid].blocker < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void walk(struct build *b, int32_t pid, int32_t parent, int32_t root, int depth, bool cycle)
{
	if (b->nout >= LOCKTREE_MAX_NODES)
		return;
	struct locktree_node *node = &b->out[b->nout++];
	node->pid = pid;
	node->parent = parent;
	node->root = root;
	node->depth = depth;
	node->cycle = cycle;
	long wi = waiter_index(b, pid);
	if (wi >= 0)
		b->reached[wi] = true;
	b->path[depth] = pid;
	for (size_t i = first_edge(b, pid); i < b->n && b->by_blocker[i].blocker == pid; i++) {
		int32_t child = b->by_blocker[i].waiter;
		bool on_path = false;
		for (int d = 0; d <= depth; d++)
			if (b->path[d] == child)
				on_path = true;
		if (!on_path)
			walk(b, child, pid, root, depth + 1, false);
	}
}

long locktree_build(const struct locktree_edge *edges, size_t n, struct locktree_node **out)
{
	struct build b = {0};
	int32_t *blockers = NULL;
	long rc = -1;
	*out = NULL;
	if (!n)
		return 0;
	b.by_blocker = malloc(n * sizeof(*b.by_blocker));
	b.waiters = malloc(n * sizeof(*b.waiters));
	blockers = malloc(n * sizeof(*blockers));
	b.reached = calloc(n, sizeof(*b.reached));
	b.path = malloc((n + 1) * sizeof(*b.path));
	b.out = malloc(LOCKTREE_MAX_NODES * sizeof(*b.out));
	if (!b.by_blocker || !b.waiters || !blockers || !b.reached || !b.path || !b.out)
		goto done;
	memcpy(b.by_blocker, edges, n * sizeof(*edges));
	qsort(b.by_blocker, n, sizeof(*b.by_blocker), by_blocker_cmp);
	b.n = 0; /* drop duplicate edges */
	for (size_t i = 0; i < n; i++)
		if (!b.n || by_blocker_cmp(&b.by_blocker[b.n - 1], &b.by_blocker[i]))
			b.by_blocker[b.n++] = b.by_blocker[i];
	for (size_t i = 0; i < b.n; i++) {
		b.waiters[i] = b.by_blocker[i].waiter;
		blockers[i] = b.by_blocker[i].blocker;
	}
	qsort(b.waiters, b.n, sizeof(*b.waiters), pid_cmp);
	b.nwaiters = uniq(b.waiters, b.n);
	size_t nblockers = uniq(blockers, b.n); /* already sorted */
	for (size_t i = 0; i < nblockers; i++)
		if (waiter_index(&b, blockers[i]) < 0)
			walk(&b, blockers[i], 0, blockers[i], 0, false);
	/* what no root reaches waits in a cycle: its lowest blocker roots it */
	for (size_t i = 0; i < nblockers; i++) {
		long wi = waiter_index(&b, blockers[i]);
		if (wi >= 0 && !b.reached[wi])
			walk(&b, blockers[i], 0, blockers[i], 0, true);
	}
	rc = b.nout;
	if (rc > 0) {
		struct locktree_node *shrunk = realloc(b.out, (size_t)rc * sizeof(*b.out));
		*out = shrunk ? shrunk : b.out;
		b.out = NULL;
	}
done:
	free(b.by_blocker);
	free(b.waiters);
	free(blockers);
	free(b.reached);
	free(b.path);
	free(b.out);
	return rc;
}

int32_t locktree_root_of(const struct locktree_node *nodes, long n, int32_t pid)
{
	for (long i = 0; i < n; i++)
		if (nodes[i].pid == pid)
			return nodes[i].root;
	return 0;
}

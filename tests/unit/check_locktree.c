/* Unit tests for locktree.c: blocking trees rebuilt from waiter -> blocker
 * edges: chains, fan-out, a waiter behind two blockers, deadlock cycles,
 * duplicate edges, and the root lookup the sampler stores. */
#include <check.h>
#include <stdlib.h>

#include "locktree.h"

#define E(w, b)                                                                                    \
	{                                                                                          \
		.waiter = (w), .blocker = (b)                                                      \
	}

static long build(const struct locktree_edge *e, size_t n, struct locktree_node **out)
{
	long nn = locktree_build(e, n, out);
	ck_assert_int_ge(nn, 0);
	return nn;
}

static void node_is(const struct locktree_node *x, int pid, int parent, int root, int depth)
{
	ck_assert_int_eq(x->pid, pid);
	ck_assert_int_eq(x->parent, parent);
	ck_assert_int_eq(x->root, root);
	ck_assert_int_eq(x->depth, depth);
}

START_TEST(test_empty)
{
	struct locktree_node *nodes = (struct locktree_node *)1;
	ck_assert_int_eq(locktree_build(NULL, 0, &nodes), 0);
	ck_assert_ptr_null(nodes);
	ck_assert_int_eq(locktree_root_of(NULL, 0, 42), 0);
}
END_TEST

/* A (100) blocks B (200) blocks C (300): edges given in any order */
START_TEST(test_chain)
{
	struct locktree_edge e[] = {E(300, 200), E(200, 100)};
	struct locktree_node *nodes;
	long n = build(e, 2, &nodes);
	ck_assert_int_eq(n, 3);
	node_is(&nodes[0], 100, 0, 100, 0);
	ck_assert(!nodes[0].cycle);
	node_is(&nodes[1], 200, 100, 100, 1);
	node_is(&nodes[2], 300, 200, 100, 2);
	ck_assert_int_eq(locktree_root_of(nodes, n, 300), 100);
	ck_assert_int_eq(locktree_root_of(nodes, n, 200), 100);
	ck_assert_int_eq(locktree_root_of(nodes, n, 100), 100);
	ck_assert_int_eq(locktree_root_of(nodes, n, 999), 0);
	free(nodes);
}
END_TEST

/* two trees, roots by pid, children by pid, depth first */
START_TEST(test_forest_and_fanout)
{
	struct locktree_edge e[] = {E(12, 10), E(11, 10), E(13, 11), E(21, 20), E(11, 10)};
	struct locktree_node *nodes;
	long n = build(e, 5, &nodes);
	ck_assert_int_eq(n, 6); /* the duplicate edge counts once */
	node_is(&nodes[0], 10, 0, 10, 0);
	node_is(&nodes[1], 11, 10, 10, 1);
	node_is(&nodes[2], 13, 11, 10, 2);
	node_is(&nodes[3], 12, 10, 10, 1);
	node_is(&nodes[4], 20, 0, 20, 0);
	node_is(&nodes[5], 21, 20, 20, 1);
	free(nodes);
}
END_TEST

/* 30 waits on both 10 and 20 (a shared lock queue): it shows under each,
 * and its root is the first tree's */
START_TEST(test_two_blockers)
{
	struct locktree_edge e[] = {E(30, 20), E(30, 10)};
	struct locktree_node *nodes;
	long n = build(e, 2, &nodes);
	ck_assert_int_eq(n, 4);
	node_is(&nodes[0], 10, 0, 10, 0);
	node_is(&nodes[1], 30, 10, 10, 1);
	node_is(&nodes[2], 20, 0, 20, 0);
	node_is(&nodes[3], 30, 20, 20, 1);
	ck_assert_int_eq(locktree_root_of(nodes, n, 30), 10);
	free(nodes);
}
END_TEST

/* 5 <-> 7 deadlock with 9 waiting on 7: the cycle's lowest pid roots it,
 * the walk stops where the path comes back */
START_TEST(test_cycle)
{
	struct locktree_edge e[] = {E(5, 7), E(7, 5), E(9, 7)};
	struct locktree_node *nodes;
	long n = build(e, 3, &nodes);
	ck_assert_int_eq(n, 3);
	node_is(&nodes[0], 5, 0, 5, 0);
	ck_assert(nodes[0].cycle);
	node_is(&nodes[1], 7, 5, 5, 1);
	ck_assert(!nodes[1].cycle);
	node_is(&nodes[2], 9, 7, 5, 2);
	free(nodes);
}
END_TEST

/* a cycle hanging below a real root is part of that root's tree */
START_TEST(test_cycle_below_root)
{
	struct locktree_edge e[] = {E(2, 1), E(3, 2), E(2, 3)};
	struct locktree_node *nodes;
	long n = build(e, 3, &nodes);
	ck_assert_int_eq(n, 3);
	node_is(&nodes[0], 1, 0, 1, 0);
	node_is(&nodes[1], 2, 1, 1, 1);
	node_is(&nodes[2], 3, 2, 1, 2);
	for (long i = 0; i < n; i++)
		ck_assert(!nodes[i].cycle);
	free(nodes);
}
END_TEST

/* a long chain stays linear and bounded */
START_TEST(test_long_chain)
{
	enum { N = 2000 };
	struct locktree_edge *e = malloc(N * sizeof(*e));
	ck_assert_ptr_nonnull(e);
	for (int i = 0; i < N; i++)
		e[i] = (struct locktree_edge)E(i + 2, i + 1);
	struct locktree_node *nodes;
	long n = build(e, N, &nodes);
	ck_assert_int_eq(n, N + 1);
	node_is(&nodes[N], N + 1, N, 1, N);
	free(nodes);
	free(e);
}
END_TEST

static Suite *locktree_suite(void)
{
	Suite *s = suite_create("locktree");
	TCase *tc = tcase_create("build");
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_chain);
	tcase_add_test(tc, test_forest_and_fanout);
	tcase_add_test(tc, test_two_blockers);
	tcase_add_test(tc, test_cycle);
	tcase_add_test(tc, test_cycle_below_root);
	tcase_add_test(tc, test_long_chain);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(locktree_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

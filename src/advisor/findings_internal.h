/* findings.c's pure helpers, exposed for tests/unit/check_findings.c. */
#ifndef PGLG_FINDINGS_INTERNAL_H
#define PGLG_FINDINGS_INTERNAL_H
#include <stdbool.h>
#include <stdint.h>
#include "advisor/qshape.h"

/* One statement's counters summed over the window. */
struct findings_stmt {
	long long calls, rows, blks_hit, blks_read, temp_written;
	double total_ms, read_ms;
};

/* findings_rate returns the statement rules (1 << enum finding_kind) that
 * S, of shape Q (NULL: unparsable), meets: temp_spill, low cache hit
 * ratio, large result without LIMIT or many rows per call. */
unsigned findings_rate(const struct findings_stmt *s, const struct qshape *q);

/* findings_work_mem_mb returns the work_mem, in MB, that holds a spill of
 * SPILL_BYTES per call in memory, or 0 when that exceeds
 * FINDINGS_WORK_MEM_MAX_MB. */
long findings_work_mem_mb(double spill_bytes);

/* findings_long_xact and findings_idle say whether an application_name's
 * transactions of the window (XACT_US in all, the longest XACT_MAX_US;
 * IDLE_US idle, the longest gap IDLE_MAX_US) make a finding. */
bool findings_long_xact(int64_t xact_max_us);
bool findings_idle(int64_t xact_us, int64_t idle_us, int64_t idle_max_us);

/* findings_any_rewrite returns STATEMENT (borrowed) with its only "= $n"
 * turned into "= ANY($n)", in memory the caller frees, or NULL when it has
 * no or several such comparisons. */
char *findings_any_rewrite(const char *statement);

/* findings_index_matches says whether an expression index whose first key
 * is KEY (pg_get_indexdef's text) serves the wrapped column W. */
bool findings_index_matches(const char *key, const struct qshape_wrap *w);
#endif

/* Rollups: raw sampling intervals older than store_rollup_after merged into
 * one interval per database and store_rollup_interval bucket, for
 * statement_samples, table_samples and index_samples. */
#ifndef PGLG_ROLLUP_H
#define PGLG_ROLLUP_H
#include <stdint.h>
#include "store.h"

/* rollup_run merges the raw intervals (sample_intervals.rollup = 0) of
 * STORE that ended at or before CUTOFF_US (rounded down to a multiple of
 * BUCKET_US) into one rollup interval per database and BUCKET_US-aligned
 * bucket of their start: counters are summed, mean_exec_time recomputed,
 * min/max/stddev and gauges take the smallest/largest, lost_data is kept.
 * Each transaction merges at most BATCH_INTERVALS raw intervals (oldest
 * first) into their bucket's rollup interval and deletes them, so no window
 * ever counts a sample twice; at most MAX_BATCHES transactions. Call
 * outside a transaction, from the writer. Returns the number of raw
 * intervals rolled up, or -1 (logged). */
int64_t rollup_run(struct store *store, int64_t cutoff_us, int64_t bucket_us, int batch_intervals,
		   int max_batches);
#endif

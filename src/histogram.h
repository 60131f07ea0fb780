/* Latency histograms with logarithmic buckets: four linear sub-buckets per
 * power of two of microseconds, from 1 us to about 71 minutes. Recording
 * is O(1) and allocation-free, so it may run for every message. */
#ifndef PGLG_HISTOGRAM_H
#define PGLG_HISTOGRAM_H

#include <stdint.h>
#include <stdio.h>

#include "timeutil.h"

/* Bucket layout. Bucket 0 holds the value 0; bucket i > 0 holds the values
 * in (histogram_bucket_lower(i), histogram_bucket_upper(i)] microseconds.
 * Every power of two of microseconds up to 2^HISTOGRAM_MAX_EXP is the
 * upper bound of a bucket, so cumulative counts at those bounds are exact.
 * The last bucket takes everything above 2^HISTOGRAM_MAX_EXP us. */
#define HISTOGRAM_SUB_BITS 2
#define HISTOGRAM_SUB (1 << HISTOGRAM_SUB_BITS)
#define HISTOGRAM_MAX_EXP 32
#define HISTOGRAM_BUCKETS                                                                          \
	(2 + HISTOGRAM_SUB + (HISTOGRAM_MAX_EXP - HISTOGRAM_SUB_BITS) * HISTOGRAM_SUB)

struct histogram {
	uint64_t count;
	uint64_t sum; /* microseconds */
	uint64_t max; /* microseconds */
	uint64_t buckets[HISTOGRAM_BUCKETS];
};

/* histogram_bucket returns the index of the bucket that holds US. */
int histogram_bucket(uint64_t us);

/* histogram_bucket_upper returns the largest value bucket I holds, in
 * microseconds (UINT64_MAX for the last bucket). */
uint64_t histogram_bucket_upper(int i);

/* histogram_bucket_lower returns the exclusive lower bound of bucket I in
 * microseconds (0 for buckets 0 and 1). */
uint64_t histogram_bucket_lower(int i);

/* histogram_record adds one observation of US microseconds to H; negative
 * durations (a clock that went back) count as 0. */
static inline void histogram_record(struct histogram *h, usec_t us)
{
	uint64_t v = us > 0 ? (uint64_t)us : 0;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
	h->buckets[histogram_bucket(v)]++;
}

/* histogram_merge adds SRC's observations to DST (pools of several loops,
 * or a per-database view). */
void histogram_merge(struct histogram *dst, const struct histogram *src);

/* histogram_quantile estimates the Q quantile (0 <= Q <= 1) of H in
 * microseconds, interpolating linearly inside the bucket where it falls
 * and never above the largest value seen. Returns 0 for an empty H. */
double histogram_quantile(const struct histogram *h, double q);

/* histogram_count_le returns how many observations of H are at most US
 * microseconds; exact when US is a bucket's upper bound (every power of
 * two), else counted up to the largest bound not above US. */
uint64_t histogram_count_le(const struct histogram *h, uint64_t us);

/* histogram_write_prometheus writes H to OUT as the sample lines of a
 * Prometheus histogram NAME (the HELP and TYPE lines are the caller's):
 * cumulative NAME_bucket lines with le in seconds at every power of two of
 * microseconds from 1 us to 2^HISTOGRAM_MAX_EXP us, then le="+Inf",
 * NAME_sum in seconds and NAME_count. LABELS is put before le inside the
 * braces ("database=\"x\",user=\"y\"", or "" for none). */
void histogram_write_prometheus(const struct histogram *h, const char *name, const char *labels,
				FILE *out);

#endif

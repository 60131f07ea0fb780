/* The Prometheus text exposition (format 0.0.4) of a loop's state: process
 * gauges, per-pool gauges and counters, latency histograms. */
#ifndef PGLG_METRICS_H
#define PGLG_METRICS_H

#include <stdio.h>

struct loop;

/* metrics_write writes every metric of LOOP to OUT, each family with its
 * HELP and TYPE lines. Walks every pool: for scrapes, not the hot path. */
void metrics_write(struct loop *loop, FILE *out);

#endif

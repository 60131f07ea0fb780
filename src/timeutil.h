/* Microsecond time values used everywhere: usec_t, and conversions. */
#ifndef PGLG_TIMEUTIL_H
#define PGLG_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

typedef int64_t usec_t;

#define USEC_PER_SEC ((usec_t)1000000)

/* timeutil_now returns CLOCK_MONOTONIC in microseconds. */
static inline usec_t timeutil_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (usec_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* timeutil_wall returns CLOCK_REALTIME in microseconds since the epoch. */
static inline usec_t timeutil_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (usec_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

#endif

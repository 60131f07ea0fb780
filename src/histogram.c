/* Log-linear latency histograms: the bucket of a value comes from its
 * highest set bit and the next HISTOGRAM_SUB_BITS bits, so recording costs
 * a count-leading-zeros and an increment. */
#include "histogram.h"

#include <stdbool.h>

/* Buckets are closed above: a value V > 0 is placed by V - 1, which makes
 * every power of two an inclusive upper bound, as Prometheus' "le" wants. */
static int raw_index(uint64_t x)
{
	if (x < HISTOGRAM_SUB)
		return (int)x;
	int e = 63 - __builtin_clzll(x);
	if (e >= HISTOGRAM_MAX_EXP)
		return HISTOGRAM_SUB + (HISTOGRAM_MAX_EXP - HISTOGRAM_SUB_BITS) * HISTOGRAM_SUB;
	int sub = (int)((x >> (e - HISTOGRAM_SUB_BITS)) & (HISTOGRAM_SUB - 1));
	return HISTOGRAM_SUB + (e - HISTOGRAM_SUB_BITS) * HISTOGRAM_SUB + sub;
}

int histogram_bucket(uint64_t us)
{
	return us == 0 ? 0 : 1 + raw_index(us - 1);
}

static bool is_overflow(int i)
{
	return i == HISTOGRAM_BUCKETS - 1;
}

uint64_t histogram_bucket_lower(int i)
{
	if (i <= 0)
		return 0;
	int raw = i - 1;
	if (raw < HISTOGRAM_SUB)
		return (uint64_t)raw;
	if (is_overflow(i))
		return (uint64_t)1 << HISTOGRAM_MAX_EXP;
	int e = HISTOGRAM_SUB_BITS + (raw - HISTOGRAM_SUB) / HISTOGRAM_SUB;
	int sub = (raw - HISTOGRAM_SUB) % HISTOGRAM_SUB;
	return ((uint64_t)1 << e) + (uint64_t)sub * ((uint64_t)1 << (e - HISTOGRAM_SUB_BITS));
}

uint64_t histogram_bucket_upper(int i)
{
	if (i <= 0)
		return 0;
	if (is_overflow(i))
		return UINT64_MAX;
	int raw = i - 1;
	if (raw < HISTOGRAM_SUB)
		return (uint64_t)raw + 1;
	int e = HISTOGRAM_SUB_BITS + (raw - HISTOGRAM_SUB) / HISTOGRAM_SUB;
	int sub = (raw - HISTOGRAM_SUB) % HISTOGRAM_SUB;
	return ((uint64_t)1 << e) + (uint64_t)(sub + 1) * ((uint64_t)1 << (e - HISTOGRAM_SUB_BITS));
}

void histogram_merge(struct histogram *dst, const struct histogram *src)
{
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->max > dst->max)
		dst->max = src->max;
	for (int i = 0; i < HISTOGRAM_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
}

double histogram_quantile(const struct histogram *h, double q)
{
	if (h->count == 0)
		return 0;
	if (q <= 0)
		q = 0;
	if (q >= 1)
		return (double)h->max;
	double rank = q * (double)h->count;
	uint64_t seen = 0;
	for (int i = 0; i < HISTOGRAM_BUCKETS; i++) {
		uint64_t n = h->buckets[i];
		if (n == 0 || (double)(seen + n) < rank) {
			seen += n;
			continue;
		}
		double lo = (double)histogram_bucket_lower(i);
		double hi = is_overflow(i) ? (double)h->max : (double)histogram_bucket_upper(i);
		if (hi > (double)h->max)
			hi = (double)h->max;
		if (lo > hi)
			lo = hi;
		double v = lo + (hi - lo) * ((rank - (double)seen) / (double)n);
		return v;
	}
	return (double)h->max;
}

uint64_t histogram_count_le(const struct histogram *h, uint64_t us)
{
	uint64_t n = 0;
	for (int i = 0; i < HISTOGRAM_BUCKETS && histogram_bucket_upper(i) <= us; i++)
		n += h->buckets[i];
	return n;
}

/* Microseconds as seconds in decimal, exact, without trailing zeros. */
static void write_seconds(FILE *out, uint64_t us)
{
	char frac[8];
	snprintf(frac, sizeof(frac), "%06u", (unsigned)(us % 1000000));
	int len = 6;
	while (len > 0 && frac[len - 1] == '0')
		len--;
	frac[len] = '\0';
	fprintf(out, "%llu%s%s", (unsigned long long)(us / 1000000), len ? "." : "", frac);
}

void histogram_write_prometheus(const struct histogram *h, const char *name, const char *labels,
				FILE *out)
{
	const char *sep = labels[0] ? "," : "";
	uint64_t cum = 0;

	for (int i = 0; i < HISTOGRAM_BUCKETS - 1; i++) {
		uint64_t upper = histogram_bucket_upper(i);
		cum += h->buckets[i];
		if (upper == 0 || (upper & (upper - 1)) != 0)
			continue;
		fprintf(out, "%s_bucket{%s%sle=\"", name, labels, sep);
		write_seconds(out, upper);
		fprintf(out, "\"} %llu\n", (unsigned long long)cum);
	}
	fprintf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
		(unsigned long long)h->count);
	fprintf(out, "%s_sum%s%s%s ", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "");
	write_seconds(out, h->sum);
	fprintf(out, "\n%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels,
		labels[0] ? "}" : "", (unsigned long long)h->count);
}

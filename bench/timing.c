#include "timing.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Written, never read: its only job is to make results observable. */
static volatile uint8_t bench_sink;

double
bench_now(void)
{
	struct timespec now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
		abort();
	return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

double
bench_rate(const bench_work *work, double min_seconds, uint64_t *calls_out)
{
	uint64_t calls = 0;
	double start = bench_now();
	double elapsed;

	do {
		work->run(work->arg);
		calls++;
		elapsed = bench_now() - start;
	} while (elapsed < min_seconds);

	if (calls_out != NULL)
		*calls_out = calls;
	return (double)calls * (double)work->items / elapsed;
}

void
bench_compare(const bench_work *operation, const bench_work *floor, const bench_plan *plan,
              bench_comparison *out)
{
	double rates[BENCH_MAX_ROUNDS];
	double ratios[BENCH_MAX_ROUNDS];
	double floors[BENCH_MAX_ROUNDS + 1];
	unsigned rounds = plan->rounds;

	if (rounds < 1 || rounds > BENCH_MAX_ROUNDS)
		abort();
	memset(out, 0, sizeof(*out));
	out->rounds = rounds;

	if (plan->warmup_seconds > 0)
		(void)bench_rate(operation, plan->warmup_seconds, NULL);

	out->floor_rates[0] = bench_rate(floor, plan->slice_seconds, NULL);
	for (unsigned r = 0; r < rounds; r++) {
		uint64_t calls;

		rates[r] = bench_rate(operation, plan->slice_seconds, &calls);
		out->calls += calls;
		out->floor_rates[r + 1] = bench_rate(floor, plan->slice_seconds, NULL);
		ratios[r] = rates[r] / ((out->floor_rates[r] + out->floor_rates[r + 1]) / 2);
	}

	memcpy(floors, out->floor_rates, (rounds + 1) * sizeof(floors[0]));
	out->rate = bench_median(rates, rounds);
	out->ratio = bench_median(ratios, rounds); /* sorts ratios */
	out->ratio_min = ratios[0];
	out->ratio_max = ratios[rounds - 1];
	out->floor_rate = bench_median(floors, rounds + 1);
}

double
bench_median(double *values, size_t count)
{
	if (count == 0)
		abort();
	/* Insertion sort: counts here are a few dozen at most. */
	for (size_t i = 1; i < count; i++) {
		double v = values[i];
		size_t j = i;

		for (; j > 0 && values[j - 1] > v; j--)
			values[j] = values[j - 1];
		values[j] = v;
	}
	if (count % 2 == 1)
		return values[count / 2];
	return (values[count / 2 - 1] + values[count / 2]) / 2;
}

void
bench_consume(const void *bytes, size_t len)
{
	const uint8_t *p = bytes;
	uint8_t fold = 0;

	for (size_t i = 0; i < len; i++)
		fold ^= p[i];
	bench_sink ^= fold;
}

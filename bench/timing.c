#include "timing.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

/* Written, never read: its only job is to make results observable. */
static volatile uint8_t bench_sink;

/* Running totals of one side of a round. */
struct side {
	const bench_work *work;
	uint64_t calls;
	double seconds;
};

double
bench_rate(const bench_work *work, double min_seconds, uint64_t *calls_out)
{
	uint64_t calls = 0;
	double start = clock_monotonic_seconds();
	double elapsed;

	do {
		work->run(work->arg);
		calls++;
		elapsed = clock_monotonic_seconds() - start;
	} while (elapsed < min_seconds);

	if (calls_out != NULL)
		*calls_out = calls;
	return (double)calls * (double)work->items / elapsed;
}

static double
side_rate(const struct side *side)
{
	return (double)side->calls * (double)side->work->items / side->seconds;
}

/*
 * One round: call by call, whichever side has had less time runs next,
 * counting the operation's next call as half done, so that each call sits
 * in the middle of as much floor time (a batch of 1024 takes a tenth of a
 * second). It ends when both have had at least seconds and the floor at
 * least as long as the operation. Each call is charged the time since the
 * previous clock reading, so no gap goes uncounted.
 */
static void
round_run(struct side *operation, struct side *floor, double seconds, double call_seconds)
{
	double last = clock_monotonic_seconds();

	while (operation->seconds < seconds || floor->seconds < seconds ||
	       floor->seconds < operation->seconds) {
		bool operation_next = operation->seconds + call_seconds / 2 <= floor->seconds;
		struct side *next = operation_next ? operation : floor;
		double now;

		next->work->run(next->work->arg);
		now = clock_monotonic_seconds();
		next->calls++;
		next->seconds += now - last;
		last = now;
	}
}

void
bench_compare(const bench_work *operation, const bench_work *floor, const bench_plan *plan,
              bench_comparison *out)
{
	double rates[BENCH_MAX_ROUNDS];
	double ratios[BENCH_MAX_ROUNDS];
	double floors[BENCH_MAX_ROUNDS];
	unsigned rounds = plan->rounds;
	double call_seconds = 0; /* of the operation, as far as known */

	if (rounds < 1 || rounds > BENCH_MAX_ROUNDS)
		abort();
	memset(out, 0, sizeof(*out));
	out->rounds = rounds;

	if (plan->warmup_seconds > 0)
		call_seconds = (double)operation->items /
		               bench_rate(operation, plan->warmup_seconds, NULL);

	for (unsigned r = 0; r < rounds; r++) {
		struct side op_side = {.work = operation};
		struct side floor_side = {.work = floor};

		round_run(&op_side, &floor_side, plan->round_seconds, call_seconds);
		call_seconds = op_side.seconds / (double)op_side.calls;
		rates[r] = side_rate(&op_side);
		floors[r] = out->floor_rates[r] = side_rate(&floor_side);
		ratios[r] = rates[r] / floors[r];
		out->calls += op_side.calls;
		out->floor_calls += floor_side.calls;
	}

	out->rate = bench_median(rates, rounds);
	out->floor_rate = bench_median(floors, rounds);
	out->ratio = bench_median(ratios, rounds); /* sorts ratios */
	out->ratio_min = ratios[0];
	out->ratio_max = ratios[rounds - 1];
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

void
bench_floor_init(bench_floor *floor)
{
	for (size_t i = 0; i < BENCH_FLOOR_PAIRS; i++) {
		crypto_core_ristretto255_scalar_random(floor->scalars[i]);
		crypto_core_ristretto255_random(floor->points[i]);
	}
	floor->next = 0;
}

static void
floor_call(void *arg)
{
	bench_floor *floor = arg;
	const size_t i = floor->next++ % BENCH_FLOOR_PAIRS;

	/* Fails only for a product of identity, which random pairs never give. */
	if (crypto_scalarmult_ristretto255(floor->product, floor->scalars[i], floor->points[i]) !=
	    0) {
		fputs("bench floor: crypto_scalarmult_ristretto255 failed\n", stderr);
		exit(1);
	}
	bench_consume(floor->product, sizeof(floor->product));
}

bench_work
bench_floor_work(bench_floor *floor)
{
	return (bench_work){floor_call, floor, 1};
}

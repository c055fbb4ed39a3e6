/*
 * Timing for veil's micro-benchmarks.
 *
 * Speed is reported as a ratio to a floor measured in the same run
 * (never asserted by a test), so that figures taken on different machines, or on
 * one machine at different clock speeds, can be compared.
 *
 * To keep CPU frequency drift and other load out of a ratio,
 * bench_compare() interleaves the two at the finest grain it can: call by
 * call, it runs whichever of the operation and the floor has had less time
 * so far, until each has had the round's time; a long call of the
 * operation is centred in as much floor time. Whatever slows the machine
 * down then slows both alike. No call is left out as an outlier: a
 * short call interrupted by another process stands out and a long one
 * does not, so filtering would clean only the side with the shorter calls
 * and bias the ratio against batches.
 * Each round yields one ratio; the figure reported is the median over the
 * rounds, so that a round hit by a burst of load does not move it.
 *
 * Times come from CLOCK_MONOTONIC (common/clock.h), read once per call, so
 * the helpers suit work of a microsecond or more per call. Single-threaded;
 * nothing here allocates.
 */
#ifndef VEIL_BENCH_TIMING_H
#define VEIL_BENCH_TIMING_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

/* The most rounds bench_compare() takes. */
#define BENCH_MAX_ROUNDS 16

/* One call of the work being measured. It aborts the run itself on error. */
typedef void bench_fn(void *arg);

typedef struct bench_work {
	bench_fn *run;
	void *arg;
	/* Items one call processes (its batch size): rates are per item. */
	size_t items;
} bench_work;

typedef struct bench_plan {
	/* Time the operation runs untimed before the first round; 0 for none. */
	double warmup_seconds;
	/* Minimum time of each round, for the operation and for the floor. */
	double round_seconds;
	/* 1 to BENCH_MAX_ROUNDS. */
	unsigned rounds;
} bench_plan;

typedef struct bench_comparison {
	/* Operation items/s: the median over the rounds. */
	double rate;
	/* Median over the rounds of (operation rate / floor rate). */
	double ratio;
	/* The lowest and highest round's ratio, to show how noisy it was. */
	double ratio_min, ratio_max;
	/* Floor items/s: the median over the rounds. */
	double floor_rate;
	/* Calls of the operation and of the floor timed, over all rounds. */
	uint64_t calls, floor_calls;
	unsigned rounds;
	/* Each round's floor rate, in order. */
	double floor_rates[BENCH_MAX_ROUNDS];
} bench_comparison;

/*
 * Calls work->run for at least min_seconds, and at least once. Returns
 * items per second; stores the number of calls in *calls_out unless it is
 * NULL.
 */
double bench_rate(const bench_work *work, double min_seconds, uint64_t *calls_out);

/*
 * Measures operation against floor as described at the top of this file.
 * *out is overwritten. Aborts if plan->rounds is out of range.
 */
void bench_compare(const bench_work *operation, const bench_work *floor, const bench_plan *plan,
                   bench_comparison *out);

/* The median of count > 0 values, which are sorted in place. */
double bench_median(double *values, size_t count);

/* Folds bytes into a volatile sink, so the compiler must compute them. */
void bench_consume(const void *bytes, size_t len);

/*
 * The floor the benchmarks compare with: one raw libsodium
 * crypto_scalarmult_ristretto255 on one core, decoding and encoding
 * included, cycling through BENCH_FLOOR_PAIRS random (scalar, point)
 * pairs. bench_floor_init() draws them (veil_crypto_init() or
 * sodium_init() first); bench_floor_work() is one multiplication a call.
 */
#define BENCH_FLOOR_PAIRS          64
/* How long to run the floor untimed first, so that the clock has ramped up. */
#define BENCH_FLOOR_WARMUP_SECONDS 0.25

typedef struct bench_floor {
	uint8_t scalars[BENCH_FLOOR_PAIRS][crypto_core_ristretto255_SCALARBYTES];
	uint8_t points[BENCH_FLOOR_PAIRS][crypto_core_ristretto255_BYTES];
	uint8_t product[crypto_core_ristretto255_BYTES];
	size_t next;
} bench_floor;

void bench_floor_init(bench_floor *floor);

/* The work of one multiplication on floor (borrowed), one item a call. */
bench_work bench_floor_work(bench_floor *floor);

#endif

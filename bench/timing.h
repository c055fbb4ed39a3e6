/*
 * Timing for veil's micro-benchmarks.
 *
 * Speed is reported as a ratio to a floor measured in the same run
 * (STYLE.md rule 10), so that figures taken on different machines, or on
 * one machine at different clock speeds, can be compared. To keep CPU
 * frequency drift out of a ratio, bench_compare() alternates short slices
 * of the floor and of the operation,
 *
 *     floor, op, floor, op, ..., op, floor
 *
 * divides each operation slice's rate by the mean of the two floor slices
 * either side of it, and takes the median of those ratios over the rounds.
 *
 * Times come from CLOCK_MONOTONIC. The clock is read after every call, so
 * the helpers suit work of a microsecond or more per call. Single-threaded;
 * nothing here allocates.
 */
#ifndef VEIL_BENCH_TIMING_H
#define VEIL_BENCH_TIMING_H

#include <stddef.h>
#include <stdint.h>

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
	/* Time the operation runs untimed before its first slice; 0 for none. */
	double warmup_seconds;
	/* Minimum length of every slice, floor and operation alike. */
	double slice_seconds;
	/* Operation slices: 1 to BENCH_MAX_ROUNDS. */
	unsigned rounds;
} bench_plan;

typedef struct bench_comparison {
	/* Operation items/s: the median over the rounds. */
	double rate;
	/* Median over the rounds of rate / (mean of the adjacent floor rates). */
	double ratio;
	/* The lowest and highest per-round ratio, to show how noisy it was. */
	double ratio_min, ratio_max;
	/* Floor items/s: the median of this comparison's floor slices. */
	double floor_rate;
	/* Calls of the operation timed, over all rounds (warm-up excluded). */
	uint64_t calls;
	unsigned rounds;
	/* Every floor slice in order: rounds + 1 of them. */
	double floor_rates[BENCH_MAX_ROUNDS + 1];
} bench_comparison;

/* Seconds on CLOCK_MONOTONIC from an arbitrary origin. */
double bench_now(void);

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

#endif

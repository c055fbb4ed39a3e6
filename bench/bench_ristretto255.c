/*
 * veil-bench-ristretto255: the ristretto255 primitives the VOPRF path
 * could take from either library, libsodium or libdecaf, timed side by
 * side, each as a ratio to the floor measured in the same run (one raw
 * libsodium crypto_scalarmult_ristretto255, decoding and encoding
 * included: timing.h), and the multi-scalar multiplication of
 * common/msm.h per element. What it shows decides which library
 * group_ristretto255.c uses for each operation.
 *
 * Every row cycles through the same OPS_PER_CALL random scalars and points
 * (decaf's already decoded, for the rows on decoded points): a call of a
 * scalar multiplication row does one, a call of a cheaper row all of them
 * (so that each call lasts more than a microsecond); rates are per
 * operation.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <decaf/point_255.h>
#include <sodium.h>

#include "cli.h"
#include "msm.h"
#include "oprf.h"
#include "timing.h"

#define PROGRAM "veil-bench-ristretto255"

#define OPS_PER_CALL    64
#define MSM_MAX         1024
#define DEFAULT_SECONDS 0.5
#define DEFAULT_ROUNDS  5
#define QUICK_SECONDS   0.01

#define NE 32
#define NS 32

static struct inputs {
	uint8_t scalars[MSM_MAX][NS];
	uint8_t points[MSM_MAX][NE];
	decaf_255_scalar_t decaf_scalars[OPS_PER_CALL];
	decaf_255_point_t decaf_points[OPS_PER_CALL];
	uint8_t out[NE];
	decaf_255_point_t decaf_out;
} in;

/* The next of the OPS_PER_CALL inputs, for the rows that do one operation a call. */
static size_t
next_op(void)
{
	static size_t next;
	return next++ % OPS_PER_CALL;
}

static void
fail(const char *what)
{
	cli_error(PROGRAM, "%s failed", what);
	exit(1);
}

static void
libsodium_scalar_mult(void *arg)
{
	const size_t i = next_op();
	if (crypto_scalarmult_ristretto255(in.out, in.scalars[i], in.points[i]) != 0)
		fail("crypto_scalarmult_ristretto255");
	bench_consume(in.out, NE);
}

/* Encoded in, encoded out, as the group's scalar_mult takes them. */
static void
decaf_scalar_mult(void *arg)
{
	const size_t i = next_op();
	decaf_255_point_t p;
	decaf_255_scalar_t s;

	if (!decaf_successful(decaf_255_scalar_decode(s, in.scalars[i])) ||
	    !decaf_successful(decaf_255_point_decode(p, in.points[i], DECAF_FALSE)))
		fail("decaf decode");
	decaf_255_point_scalarmul(p, p, s);
	decaf_255_point_encode(in.out, p);
	decaf_255_scalar_destroy(s);
	bench_consume(in.out, NE);
}

static void
decaf_direct_scalar_mult(void *arg)
{
	const size_t i = next_op();
	if (!decaf_successful(decaf_255_direct_scalarmul(in.out, in.points[i], in.decaf_scalars[i],
	                                                 DECAF_FALSE, DECAF_TRUE)))
		fail("decaf_255_direct_scalarmul");
	bench_consume(in.out, NE);
}

static void
decaf_decoded_scalar_mult(void *arg)
{
	const size_t i = next_op();
	decaf_255_point_scalarmul(in.decaf_out, in.decaf_points[i], in.decaf_scalars[i]);
	bench_consume(in.decaf_out, sizeof(in.decaf_out));
}

static void
libsodium_base_mult(void *arg)
{
	const size_t i = next_op();
	if (crypto_scalarmult_ristretto255_base(in.out, in.scalars[i]) != 0)
		fail("crypto_scalarmult_ristretto255_base");
	bench_consume(in.out, NE);
}

static void
decaf_base_mult(void *arg)
{
	const size_t i = next_op();

	decaf_255_precomputed_scalarmul(in.decaf_out, decaf_255_precomputed_base,
	                                in.decaf_scalars[i]);
	decaf_255_point_encode(in.out, in.decaf_out);
	bench_consume(in.out, NE);
}

static void
libsodium_validate(void *arg)
{
	int valid = 0;
	for (size_t i = 0; i < OPS_PER_CALL; i++)
		valid += crypto_core_ristretto255_is_valid_point(in.points[i]);
	if (valid != OPS_PER_CALL)
		fail("crypto_core_ristretto255_is_valid_point");
}

static void
decaf_decode(void *arg)
{
	for (size_t i = 0; i < OPS_PER_CALL; i++)
		if (!decaf_successful(
		            decaf_255_point_decode(in.decaf_out, in.points[i], DECAF_FALSE)))
			fail("decaf_255_point_decode");
	bench_consume(in.decaf_out, sizeof(in.decaf_out));
}

static void
decaf_encode(void *arg)
{
	for (size_t i = 0; i < OPS_PER_CALL; i++)
		decaf_255_point_encode(in.out, in.decaf_points[i]);
	bench_consume(in.out, NE);
}

static void
libsodium_add(void *arg)
{
	for (size_t i = 0; i < OPS_PER_CALL; i++)
		if (crypto_core_ristretto255_add(in.out, in.points[i],
		                                 in.points[(i + 1) % OPS_PER_CALL]) != 0)
			fail("crypto_core_ristretto255_add");
	bench_consume(in.out, NE);
}

static void
decaf_add(void *arg)
{
	for (size_t i = 0; i < OPS_PER_CALL; i++)
		decaf_255_point_add(in.decaf_out, in.decaf_points[i],
		                    in.decaf_points[(i + 1) % OPS_PER_CALL]);
	bench_consume(in.decaf_out, sizeof(in.decaf_out));
}

static void
msm_64(void *arg)
{
	if (msm_ristretto255(in.out, in.scalars[0], in.points[0], 64) != VEIL_OK)
		fail("msm_ristretto255");
	bench_consume(in.out, NE);
}

static void
msm_1024(void *arg)
{
	if (msm_ristretto255(in.out, in.scalars[0], in.points[0], 1024) != VEIL_OK)
		fail("msm_ristretto255");
	bench_consume(in.out, NE);
}

static const struct row {
	const char *operation;
	const char *library;
	bench_fn *run;
	size_t items;
} rows[] = {
        {"scalar mult, encoded in and out", "libsodium", libsodium_scalar_mult, 1},
        {"scalar mult, encoded in and out", "decaf", decaf_scalar_mult, 1},
        {"scalar mult, direct_scalarmul", "decaf", decaf_direct_scalar_mult, 1},
        {"scalar mult, decoded point", "decaf", decaf_decoded_scalar_mult, 1},
        {"base mult, encoded out", "libsodium", libsodium_base_mult, 1},
        {"base mult, encoded out", "decaf", decaf_base_mult, 1},
        {"validate (is_valid_point)", "libsodium", libsodium_validate, OPS_PER_CALL},
        {"decode (validates)", "decaf", decaf_decode, OPS_PER_CALL},
        {"encode", "decaf", decaf_encode, OPS_PER_CALL},
        {"add, encoded in and out", "libsodium", libsodium_add, OPS_PER_CALL},
        {"add, decoded points", "decaf", decaf_add, OPS_PER_CALL},
        {"MSM n=64, per element", "decaf", msm_64, 64},
        {"MSM n=1024, per element", "decaf", msm_1024, 1024},
};
#define ROW_COUNT (sizeof(rows) / sizeof(rows[0]))

static void
print_help(void)
{
	printf("Times ristretto255 primitives in libsodium and libdecaf, and the\n"
	       "multi-scalar multiplication, against a raw crypto_scalarmult_ristretto255\n"
	       "measured in the same run; a ratio above 1 is cheaper than the floor.\n"
	       "\n"
	       "  --seconds S  time each row for at least S seconds in all, and the floor\n"
	       "               as long (default %.1f, in %d rounds)\n"
	       "  --quick      a very short run in one round, for smoke tests (S %.2f)\n"
	       "  --version    print the version\n"
	       "  --help       this text\n",
	       DEFAULT_SECONDS, DEFAULT_ROUNDS, QUICK_SECONDS);
}

int
main(int argc, char **argv)
{
	double seconds = 0;
	bool seconds_given = false, quick = false;
	const cli_option table[] = {
	        {.name = "seconds",
	         .kind = CLI_DOUBLE,
	         .target = &seconds,
	         .low = 0.001,
	         .high = 600,
	         .given = &seconds_given},
	        CLI_FLAG_OPTION("quick", &quick),
	        CLI_END,
	};
	const cli_command cmd = {PROGRAM, "[--seconds S] [--quick]", table};
	const int status = cli_parse_options(&cmd, argc, argv, print_help);
	if (status >= 0)
		return status;
	if (!seconds_given)
		seconds = quick ? QUICK_SECONDS : DEFAULT_SECONDS;
	if (veil_crypto_init() != VEIL_OK)
		fail("veil_crypto_init");

	for (size_t i = 0; i < MSM_MAX; i++) {
		crypto_core_ristretto255_scalar_random(in.scalars[i]);
		crypto_core_ristretto255_random(in.points[i]);
		if (i < OPS_PER_CALL && (!decaf_successful(decaf_255_scalar_decode(
		                                 in.decaf_scalars[i], in.scalars[i])) ||
		                         !decaf_successful(decaf_255_point_decode(
		                                 in.decaf_points[i], in.points[i], DECAF_FALSE))))
			fail("decaf decode");
	}

	bench_plan plan = {.rounds = quick ? 1 : DEFAULT_ROUNDS};
	plan.round_seconds = seconds / plan.rounds;
	plan.warmup_seconds = quick ? 0 : plan.round_seconds;
	static bench_floor floor;
	bench_floor_init(&floor);
	const bench_work floor_work = bench_floor_work(&floor);

	printf("%s: %.2f s per row in %u round%s; floor crypto_scalarmult_ristretto255\n\n",
	       PROGRAM, seconds, plan.rounds, plan.rounds == 1 ? "" : "s");
	printf("%-34s %-10s %9s %12s %8s\n", "operation", "library", "µs/op", "floor µs/op",
	       "ratio");
	for (size_t i = 0; i < ROW_COUNT; i++) {
		const bench_work work = {rows[i].run, NULL, rows[i].items};
		bench_comparison cmp;
		bench_compare(&work, &floor_work, &plan, &cmp);
		printf("%-34s %-10s %9.3f %12.2f %8.3f\n", rows[i].operation, rows[i].library,
		       1e6 / cmp.rate, 1e6 / cmp.floor_rate, cmp.ratio);
	}
	printf("\nratio: median over rounds of (operations/s) / (floor scalar mults/s).\n");
	return fflush(stdout) == 0 ? 0 : 1;
}

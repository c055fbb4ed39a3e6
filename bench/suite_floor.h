/*
 * The floor of a suite, shared by the benchmarks that compare with it: one
 * raw scalar multiplication of a random point by a random scalar on the
 * suite's group, on one core. For ristretto255-SHA512 that is libsodium's
 * crypto_scalarmult_ristretto255, decoding and encoding included
 * (bench_floor in timing.h); for P256-SHA256, P384-SHA384 and P521-SHA512
 * one OpenSSL EC_POINT_mul on the curve, the scalars flagged constant-time
 * as the OPRF's are. Each cycles through BENCH_FLOOR_PAIRS pairs drawn
 * when the floor is made.
 *
 * A floor is used by one thread at a time. veil_crypto_init() (or
 * sodium_init()) must have succeeded first.
 */
#ifndef VEIL_BENCH_SUITE_FLOOR_H
#define VEIL_BENCH_SUITE_FLOOR_H

#include "timing.h"

typedef struct bench_suite_floor bench_suite_floor;

/*
 * The floor of the suite named suite (an RFC 9497 identifier), or NULL
 * for a name none of the four suites has. Aborts the program, with a
 * message on stderr, when memory or OpenSSL fails. Free with
 * bench_suite_floor_free().
 */
bench_suite_floor *bench_suite_floor_new(const char *suite);

/* Wipes the scalars and frees. NULL is a no-op. */
void bench_suite_floor_free(bench_suite_floor *floor);

/* The operation measured, as reports name it ("EC_POINT_mul P-256"); static. */
const char *bench_suite_floor_operation(const bench_suite_floor *floor);

/* One multiplication a call, one item a call; floor is borrowed. */
bench_work bench_suite_floor_work(bench_suite_floor *floor);

#endif

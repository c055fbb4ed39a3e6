/*
 * ristretto255's multi-scalar multiplication (common/msm.h), and first
 * the ground it stands on: that libdecaf, which it runs on, and libsodium,
 * which the rest of the group uses, agree on this machine about the
 * encoding, the generator, addition and scalar multiplication, and that
 * decaf rejects the invalid encodings libsodium rejects (and the ones with
 * the top bit set, which libsodium 1.0.18 accepts and the group rejects).
 * Then the MSM against the naive sum of libsodium scalar multiplications.
 */
#include <stdlib.h>
#include <string.h>

#include <decaf/point_255.h>
#include <sodium.h>

#include "group.h"
#include "harness.h"
#include "msm.h"

#define NE 32
#define NS 32

/* The order L, little-endian. */
static const uint8_t group_order[NS] = {
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
        0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

/* Random points and scalars through both libraries, byte for byte. */
static void
case_decaf_agrees_with_libsodium(void)
{
	for (int i = 0; i < 64; i++) {
		uint8_t p[NE], q[NE], s[NS], want[NE], got[NE];
		decaf_255_point_t P, Q, R;
		decaf_255_scalar_t S;

		crypto_core_ristretto255_random(p);
		crypto_core_ristretto255_random(q);
		crypto_core_ristretto255_scalar_random(s);
		REQUIRE(decaf_successful(decaf_255_point_decode(P, p, DECAF_FALSE)));
		REQUIRE(decaf_successful(decaf_255_point_decode(Q, q, DECAF_FALSE)));
		REQUIRE(decaf_successful(decaf_255_scalar_decode(S, s)));

		decaf_255_point_encode(got, P);
		CHECK_BYTES(got, p, NE);

		REQUIRE(crypto_scalarmult_ristretto255(want, s, p) == 0);
		decaf_255_point_scalarmul(R, P, S);
		decaf_255_point_encode(got, R);
		CHECK_BYTES(got, want, NE);

		REQUIRE(crypto_scalarmult_ristretto255_base(want, s) == 0);
		decaf_255_precomputed_scalarmul(R, decaf_255_precomputed_base, S);
		decaf_255_point_encode(got, R);
		CHECK_BYTES(got, want, NE);

		REQUIRE(crypto_core_ristretto255_add(want, p, q) == 0);
		decaf_255_point_add(R, P, Q);
		decaf_255_point_encode(got, R);
		CHECK_BYTES(got, want, NE);
	}

	uint8_t one[NS] = {1}, want[NE], got[NE];
	REQUIRE(crypto_scalarmult_ristretto255_base(want, one) == 0);
	decaf_255_point_encode(got, decaf_255_point_base);
	CHECK_BYTES(got, want, NE);
}

typedef struct bad_encoding_row {
	const char *name;
	const char *hex;
	int sodium_accepts; /* libsodium 1.0.18's is_valid_point lets it through */
} bad_encoding_row;

/* Invalid encodings of RFC 9496 appendix A.2, and a valid one with the top bit set. */
static const bad_encoding_row bad_encoding_rows[] = {
        {"non-canonical 2^255 - 1",
         "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", 0},
        {"non-canonical p", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", 0},
        {"non-canonical p + 6", "f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
         0},
        {"negative 1", "0100000000000000000000000000000000000000000000000000000000000000", 0},
        {"negative p - 2", "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", 0},
        {"non-square x^2", "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371", 0},
        {"negative xy", "3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e", 0},
        {"s = -1", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", 0},
        /* The generator's encoding with bit 255 set. */
        {"top bit set", "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76", 1},
};

static int
check_bad_encoding(const void *row)
{
	const bad_encoding_row *r = row;
	uint8_t e[NE], out[NE] = {0xaa}, scalar[NS] = {1};
	decaf_255_point_t P;

	if (test_unhex(r->hex, e, NE) != 0)
		return 0;
	if (r->sodium_accepts)
		e[NE - 1] |= 0x80;
	const int sodium_ok =
	        crypto_core_ristretto255_is_valid_point(e) == (r->sodium_accepts != 0);
	const int decaf_rejects = !decaf_successful(decaf_255_point_decode(P, e, DECAF_TRUE));
	const int group_rejects = group_ristretto255.element_check(e) == VEIL_ERR_ELEMENT;
	const int msm_rejects =
	        msm_ristretto255(out, scalar, e, 1) == VEIL_ERR_ELEMENT && sodium_is_zero(out, NE);
	return sodium_ok && decaf_rejects && group_rejects && msm_rejects;
}

TEST_ROWS_CASE(case_bad_encodings, bad_encoding_rows, check_bad_encoding)

/* The naive sum: libsodium's scalar multiplications, added one by one. */
static void
naive_sum(uint8_t *out, const uint8_t *scalars, const uint8_t *points, size_t n)
{
	uint8_t term[NE];

	memset(out, 0, NE);
	for (size_t i = 0; i < n; i++) {
		if (sodium_is_zero(scalars + i * NS, NS))
			continue;
		if (crypto_scalarmult_ristretto255(term, scalars + i * NS, points + i * NE) != 0 ||
		    crypto_core_ristretto255_add(out, out, term) != 0)
			abort();
	}
}

typedef struct sum_row {
	const char *name;
	size_t n;
	size_t zero_scalars; /* how many of the scalars (the first ones, after one) are zero */
} sum_row;

/* n from Straus's range to Pippenger's at a few window widths. */
static const sum_row sum_rows[] = {
        {"n = 1", 1, 0},
        {"n = 2", 2, 0},
        {"n = 3", 3, 0},
        {"n = 17", 17, 0},
        {"n = 64", 64, 0},
        {"n = 200", 200, 0},
        {"n = 1024", 1024, 0},
        {"n = 17, one zero scalar", 17, 1},
        {"n = 200, two zero", 200, 2},
        {"n = 1, zero scalar", 1, 1},
        {"n = 3, all zero", 3, 3},
};

static int
check_sum(const void *row)
{
	const sum_row *r = row;
	uint8_t *scalars = test_keep(malloc(r->n * NS));
	uint8_t *points = test_keep(malloc(r->n * NE));
	uint8_t want[NE], got[NE];

	for (size_t i = 0; i < r->n; i++) {
		crypto_core_ristretto255_scalar_random(scalars + i * NS);
		crypto_core_ristretto255_random(points + i * NE);
	}
	/* The zero scalars sit at 1, 2, ... (at 0 for the n = 1 case). */
	for (size_t z = 0; z < r->zero_scalars; z++)
		memset(scalars + ((r->n == r->zero_scalars ? 0 : 1) + z) % r->n * NS, 0, NS);
	/* The largest scalar, L - 1, for the top digits and their carries. */
	if (r->n > 1 && r->zero_scalars == 0) {
		memcpy(scalars + (r->n - 1) * NS, group_order, NS);
		scalars[(r->n - 1) * NS] -= 1;
	}

	naive_sum(want, scalars, points, r->n);
	if (msm_ristretto255(got, scalars, points, r->n) != VEIL_OK)
		return 0;
	CHECK_BYTES(got, want, NE);
	if (group_ristretto255.multi_scalar_mult(got, scalars, points, r->n) != VEIL_OK)
		return 0;
	return memcmp(got, want, NE) == 0;
}

TEST_ROWS_CASE(case_equals_naive_sum, sum_rows, check_sum)

/* One bad point among 17 (or a bad scalar): an error, out all zero. */
static void
case_rejects_bad_inputs(void)
{
	uint8_t scalars[17 * NS], points[17 * NE], out[NE];

	for (size_t i = 0; i < 17; i++) {
		crypto_core_ristretto255_scalar_random(scalars + i * NS);
		crypto_core_ristretto255_random(points + i * NE);
	}
	REQUIRE(msm_ristretto255(out, scalars, points, 17) == VEIL_OK);

	uint8_t saved[NE];
	memcpy(saved, points + 9 * NE, NE);
	memset(points + 9 * NE, 0, NE); /* the identity */
	memset(out, 0xaa, NE);
	CHECK(msm_ristretto255(out, scalars, points, 17) == VEIL_ERR_ELEMENT);
	CHECK(sodium_is_zero(out, NE));
	memset(points + 9 * NE, 0xff, NE); /* not canonical */
	CHECK(msm_ristretto255(out, scalars, points, 17) == VEIL_ERR_ELEMENT);
	CHECK(group_ristretto255.multi_scalar_mult(out, scalars, points, 17) == VEIL_ERR_ELEMENT);
	memcpy(points + 9 * NE, saved, NE);
	points[16 * NE + NE - 1] |= 0x80; /* the last one's top bit */
	CHECK(msm_ristretto255(out, scalars, points, 17) == VEIL_ERR_ELEMENT);
	points[16 * NE + NE - 1] &= 0x7f;

	memcpy(scalars + 4 * NS, group_order, NS);
	memset(out, 0xaa, NE);
	CHECK(msm_ristretto255(out, scalars, points, 17) == VEIL_ERR_SCALAR);
	CHECK(sodium_is_zero(out, NE));

	memset(out, 0xaa, NE);
	CHECK(msm_ristretto255(out, scalars, points, 0) == VEIL_OK);
	CHECK(sodium_is_zero(out, NE));
}

/* Only ristretto255 has one; the NIST groups keep the loop. */
static void
case_group_member(void)
{
	CHECK(group_ristretto255.multi_scalar_mult != NULL);
	CHECK(group_p256.multi_scalar_mult == NULL);
	CHECK(group_p384.multi_scalar_mult == NULL);
	CHECK(group_p521.multi_scalar_mult == NULL);
}

static const test_case cases[] = {
        {"decaf agrees with libsodium", case_decaf_agrees_with_libsodium},
        {"decaf rejects bad encodings", case_bad_encodings},
        {"equals the naive sum", case_equals_naive_sum},
        {"rejects bad inputs", case_rejects_bad_inputs},
        {"group member", case_group_member},
};

TEST_MAIN(cases)

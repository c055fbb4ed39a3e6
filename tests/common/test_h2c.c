/*
 * The NIST groups' internals: RFC 9380 hash_to_curve for
 * P256_XMD:SHA-256_SSWU_RO_, P384_XMD:SHA-384_SSWU_RO_ and
 * P521_XMD:SHA-512_SSWU_RO_ against every published vector (u[0], u[1],
 * Q0, Q1 and P), the group's own hash_to_group against P, and the
 * scalar arithmetic (its own fixed-width code) against OpenSSL's BIGNUMs.
 * Arguments: the three vector files, P-256's first.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <sodium.h>

#include "group_nist.h"
#include "harness.h"
#include "oprf.h"
#include "vectors.h"
#include "xmd.h"

typedef struct nist_row {
	const char *name;
	const group *g;
	int nid;
	int file; /* index of its vector file among the arguments */
	const hash_alg *hash;
	size_t L;
} nist_row;

/* The vector file's "0x..." field element, as field_size big-endian bytes. */
static void
field_hex(const char *hex, uint8_t *out, size_t field_size)
{
	if (hex == NULL || strncmp(hex, "0x", 2) != 0 || strlen(hex + 2) != 2 * field_size ||
	    test_unhex(hex + 2, out, field_size) != 0)
		abort();
}

/* The uncompressed SEC1 form of the vector's point {x, y}. */
static void
point_hex(const json_value *point, uint8_t *out, size_t field_size)
{
	out[0] = 0x04;
	field_hex(vectors_string(point, "x"), out + 1, field_size);
	field_hex(vectors_string(point, "y"), out + 1 + field_size, field_size);
}

static int
same(const uint8_t *got, const uint8_t *want, size_t n)
{
	CHECK_BYTES(got, want, n);
	return memcmp(got, want, n) == 0;
}

/* Every vector of the row's file: each step of hash_to_curve, then hash_to_group. */
static int
check_h2c_vectors(const void *row)
{
	const nist_row *r = row;
	json_value *root = vectors_load(test_argv[r->file]);
	const char *dst = vectors_string(root, "dst");
	const json_value *list = json_object_get(root, "vectors");
	const size_t fe = r->g->scalar_size, count = json_array_size(list);
	size_t passed = 0;

	for (size_t v = 0; v < count; v++) {
		const json_value *vec = json_array_get(list, v);
		const char *msg = vectors_string(vec, "msg");
		const json_value *u = json_object_get(vec, "u");
		uint8_t want_u[2][NIST_MAX_FIELD_SIZE], want_q[2][NIST_MAX_UNCOMPRESSED_SIZE];
		uint8_t want_p[NIST_MAX_UNCOMPRESSED_SIZE], compressed[OPRF_MAX_ELEMENT_SIZE];
		nist_h2c_trace trace;
		int ok = 1;

		for (int i = 0; i < 2; i++)
			field_hex(json_string(json_array_get(u, (size_t)i), NULL), want_u[i], fe);
		point_hex(json_object_get(vec, "Q0"), want_q[0], fe);
		point_hex(json_object_get(vec, "Q1"), want_q[1], fe);
		point_hex(json_object_get(vec, "P"), want_p, fe);

		ok &= nist_hash_to_curve_trace(r->g, (const uint8_t *)msg, strlen(msg),
		                               (const uint8_t *)dst, strlen(dst),
		                               &trace) == VEIL_OK;
		ok &= trace.field_size == fe;
		ok &= same(trace.u[0], want_u[0], fe) && same(trace.u[1], want_u[1], fe);
		ok &= same(trace.q[0], want_q[0], 1 + 2 * fe) &&
		      same(trace.q[1], want_q[1], 1 + 2 * fe);
		ok &= same(trace.p, want_p, 1 + 2 * fe);

		/* hash_to_group: P compressed, the parity of y in the first byte. */
		ok &= r->g->hash_to_group(compressed, (const uint8_t *)msg, strlen(msg),
		                          (const uint8_t *)dst, strlen(dst)) == VEIL_OK;
		ok &= compressed[0] == (0x02 | (want_p[2 * fe] & 1));
		ok &= same(compressed + 1, want_p + 1, fe);
		ok &= r->g->element_check(compressed) == VEIL_OK;
		CHECK(ok);
		passed += (size_t)ok;
	}
	printf("# %s: %zu of %zu hash_to_curve vectors passed\n", dst, passed, count);
	json_free(root);
	return count == 5 && passed == count;
}

static const nist_row nist_rows[] = {
        {"P256_XMD:SHA-256_SSWU_RO_", &group_p256, NID_X9_62_prime256v1, 0, &hash_sha256, 48},
        {"P384_XMD:SHA-384_SSWU_RO_", &group_p384, NID_secp384r1, 1, &hash_sha384, 72},
        {"P521_XMD:SHA-512_SSWU_RO_", &group_p521, NID_secp521r1, 2, &hash_sha512, 98},
};

/* ---- scalar arithmetic against OpenSSL ---- */

/* OpenSSL's view of the row's curve: its order and a context. */
typedef struct reference {
	EC_GROUP *group;
	const BIGNUM *n;
	BN_CTX *ctx;
	BIGNUM *a, *b, *want;
} reference;

static void
reference_open(reference *ref, const nist_row *r)
{
	ref->group = EC_GROUP_new_by_curve_name(r->nid);
	ref->ctx = BN_CTX_new();
	ref->a = BN_new();
	ref->b = BN_new();
	ref->want = BN_new();
	if (ref->group == NULL || ref->ctx == NULL || ref->a == NULL || ref->b == NULL ||
	    ref->want == NULL)
		abort();
	ref->n = EC_GROUP_get0_order(ref->group);
}

static void
reference_close(reference *ref)
{
	BN_free(ref->a);
	BN_free(ref->b);
	BN_free(ref->want);
	BN_CTX_free(ref->ctx);
	EC_GROUP_free(ref->group);
}

static void
to_bytes(const BIGNUM *x, uint8_t *out, size_t ns)
{
	if (BN_bn2binpad(x, out, (int)ns) < 0)
		abort();
}

static void
from_bytes(BIGNUM *x, const uint8_t *in, size_t ns)
{
	if (BN_bin2bn(in, (int)ns, x) == NULL)
		abort();
}

/* The order the group checks scalars against is OpenSSL's. */
static int
check_order(const void *row)
{
	const nist_row *r = row;
	const size_t ns = r->g->scalar_size;
	uint8_t s[OPRF_MAX_SCALAR_SIZE];
	reference ref;
	int ok = 1;

	reference_open(&ref, r);
	to_bytes(ref.n, s, ns);
	ok &= r->g->scalar_check(s) == VEIL_ERR_SCALAR;
	if (!BN_sub(ref.a, ref.n, BN_value_one()))
		abort();
	to_bytes(ref.a, s, ns);
	ok &= r->g->scalar_check(s) == VEIL_OK;
	ok &= (size_t)BN_num_bytes(ref.n) == ns;
	ok &= r->g->element_size == ns + 1;
	reference_close(&ref);
	return ok;
}

/* Operands: the edges (0, 1, n - 1, n - 2) paired with each other, then random ones. */
static void
operand(const reference *ref, size_t i, BIGNUM *x)
{
	int ok;
	switch (i % 5) {
	case 0:
		BN_zero(x);
		ok = 1;
		break;
	case 1:
		ok = BN_one(x);
		break;
	case 2:
		ok = BN_sub(x, ref->n, BN_value_one());
		break;
	case 3:
		ok = BN_sub(x, ref->n, BN_value_one()) && BN_sub_word(x, 1);
		break;
	default:
		ok = BN_rand_range(x, ref->n);
	}
	if (!ok)
		abort();
}

static int
check_scalar_arithmetic(const void *row)
{
	const nist_row *r = row;
	const group *g = r->g;
	const size_t ns = g->scalar_size;
	uint8_t a[OPRF_MAX_SCALAR_SIZE], b[OPRF_MAX_SCALAR_SIZE];
	uint8_t got[OPRF_MAX_SCALAR_SIZE], want[OPRF_MAX_SCALAR_SIZE];
	reference ref;
	int ok = 1;

	reference_open(&ref, r);
	for (size_t i = 0; i < 25 + 200; i++) {
		operand(&ref, i < 25 ? i / 5 : 4, ref.a);
		operand(&ref, i < 25 ? i : 4, ref.b);
		to_bytes(ref.a, a, ns);
		to_bytes(ref.b, b, ns);

		g->scalar_add(got, a, b);
		if (!BN_mod_add(ref.want, ref.a, ref.b, ref.n, ref.ctx))
			abort();
		to_bytes(ref.want, want, ns);
		ok &= same(got, want, ns);

		g->scalar_sub(got, a, b);
		if (!BN_mod_sub(ref.want, ref.a, ref.b, ref.n, ref.ctx))
			abort();
		to_bytes(ref.want, want, ns);
		ok &= same(got, want, ns);

		g->scalar_mul(got, a, b);
		if (!BN_mod_mul(ref.want, ref.a, ref.b, ref.n, ref.ctx))
			abort();
		to_bytes(ref.want, want, ns);
		ok &= same(got, want, ns);

		if (BN_is_zero(ref.a)) {
			ok &= g->scalar_invert(got, a) == VEIL_ERR_SCALAR;
		} else {
			ok &= g->scalar_invert(got, a) == VEIL_OK;
			if (BN_mod_inverse(ref.want, ref.a, ref.n, ref.ctx) == NULL)
				abort();
			to_bytes(ref.want, want, ns);
			ok &= same(got, want, ns);
		}
	}
	reference_close(&ref);
	return ok;
}

/* HashToScalar is expand_message_xmd to L bytes, reduced modulo n. */
static int
check_hash_to_scalar(const void *row)
{
	const nist_row *r = row;
	const size_t ns = r->g->scalar_size;
	static const uint8_t dst[] = "veil test HashToScalar";
	uint8_t uniform[98], got[OPRF_MAX_SCALAR_SIZE], want[OPRF_MAX_SCALAR_SIZE];
	reference ref;
	int ok = 1;

	reference_open(&ref, r);
	for (unsigned i = 0; i < 50; i++) {
		uint8_t msg[4] = {(uint8_t)i, 1, 2, 3};
		if (xmd_expand(r->hash, msg, sizeof(msg), dst, sizeof(dst) - 1, uniform, r->L) !=
		    VEIL_OK)
			abort();
		from_bytes(ref.a, uniform, r->L);
		if (!BN_nnmod(ref.want, ref.a, ref.n, ref.ctx))
			abort();
		to_bytes(ref.want, want, ns);
		ok &= r->g->hash_to_scalar(got, msg, sizeof(msg), dst, sizeof(dst) - 1) == VEIL_OK;
		ok &= same(got, want, ns);
	}
	reference_close(&ref);
	return ok;
}

/* Random scalars are canonical, non-zero, and not all alike. */
static int
check_scalar_random(const void *row)
{
	const nist_row *r = row;
	const size_t ns = r->g->scalar_size;
	uint8_t first[OPRF_MAX_SCALAR_SIZE], s[OPRF_MAX_SCALAR_SIZE];
	int ok = 1, differs = 0;

	r->g->scalar_random(first);
	for (int i = 0; i < 100; i++) {
		r->g->scalar_random(s);
		ok &= r->g->scalar_check(s) == VEIL_OK && !r->g->scalar_is_zero(s);
		differs |= memcmp(s, first, ns) != 0;
	}
	return ok && differs;
}

static void
case_trace_rejects_other_groups(void)
{
	nist_h2c_trace trace;
	memset(&trace, 0x55, sizeof(trace));
	CHECK(nist_hash_to_curve_trace(&group_ristretto255, (const uint8_t *)"x", 1,
	                               (const uint8_t *)"d", 1, &trace) == VEIL_ERR_ARGUMENT);
	CHECK(sodium_is_zero((const uint8_t *)&trace, sizeof(trace)));
	CHECK(nist_hash_to_curve_trace(&group_p256, (const uint8_t *)"x", 1, (const uint8_t *)"d",
	                               1, NULL) == VEIL_ERR_ARGUMENT);
}

TEST_ROWS_CASE(case_orders, nist_rows, check_order)
TEST_ROWS_CASE(case_scalar_arithmetic, nist_rows, check_scalar_arithmetic)
TEST_ROWS_CASE(case_hash_to_scalar, nist_rows, check_hash_to_scalar)
TEST_ROWS_CASE(case_scalar_random, nist_rows, check_scalar_random)

static const test_case cases[] = {
        {"the trace takes only NIST groups", case_trace_rejects_other_groups},
        {"scalars are checked against OpenSSL's group orders", case_orders},
        {"scalar add, sub, mul and invert agree with OpenSSL", case_scalar_arithmetic},
        {"HashToScalar is expand_message_xmd reduced mod n", case_hash_to_scalar},
        {"random scalars are canonical and non-zero", case_scalar_random},
};

static const test_table tables[] = {TEST_TABLE(nist_rows, check_h2c_vectors)};

TEST_MAIN_WITH(cases, .usage = "h2c_P256_sswu_ro.json h2c_P384_sswu_ro.json h2c_P521_sswu_ro.json",
               .arguments = 3, TEST_TABLES(tables))

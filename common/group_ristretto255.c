/*
 * ristretto255 with SHA-512, RFC 9497 section 4.1, on libsodium's public
 * API, but for the multi-scalar multiplication, which needs projective
 * points libsodium does not expose: that one is libdecaf's (msm.h).
 * Elements are 32-byte ristretto255 encodings, scalars 32-byte
 * little-endian integers below the order
 *   L = 2^252 + 27742317777372353535851937790883648493.
 *
 * Of the single operations on encodings, libsodium's are as fast as or
 * faster than libdecaf's on x86-64 (bench/bench_ristretto255.c: a scalar
 * multiplication with decoding and encoding about 50 us against 60 us,
 * the base multiplication 20 against 22, validation the same), so they
 * stay libsodium's.
 */
#include <string.h>

#include <sodium.h>

#include "group.h"
#include "msm.h"
#include "xmd.h"

#define NE            crypto_core_ristretto255_BYTES
#define NS            crypto_core_ristretto255_SCALARBYTES
#define UNIFORM_BYTES crypto_core_ristretto255_HASHBYTES /* 64 */

/* L, little-endian. */
static const uint8_t group_order[NS] = {
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
        0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

/*
 * Both hashes expand msg to 64 uniform bytes (expand_message_xmd with
 * SHA-512), then map them to an element or reduce them to a scalar.
 */
static veil_err
r255_hash(uint8_t *out, const uint8_t *msg, size_t len, const uint8_t *dst, size_t dst_len,
          int to_scalar)
{
	uint8_t uniform[UNIFORM_BYTES];
	veil_err err = xmd_expand(&hash_sha512, msg, len, dst, dst_len, uniform, sizeof(uniform));
	if (err == VEIL_OK && to_scalar)
		crypto_core_ristretto255_scalar_reduce(out, uniform);
	else if (err == VEIL_OK)
		crypto_core_ristretto255_from_hash(out, uniform);
	sodium_memzero(uniform, sizeof(uniform));
	return err;
}

static veil_err
r255_hash_to_group(uint8_t *out, const uint8_t *msg, size_t len, const uint8_t *dst, size_t dst_len)
{
	return r255_hash(out, msg, len, dst, dst_len, 0);
}

static veil_err
r255_hash_to_scalar(uint8_t *out, const uint8_t *msg, size_t len, const uint8_t *dst,
                    size_t dst_len)
{
	return r255_hash(out, msg, len, dst, dst_len, 1);
}

/*
 * libsodium 1.0.18 decodes an encoding with the top bit set as if the bit
 * were clear, where RFC 9496 requires it to be rejected as non-canonical.
 * Every decode here first checks that bit.
 */
static int
r255_top_bit_clear(const uint8_t *p)
{
	return (p[NE - 1] & 0x80) == 0;
}

/*
 * libsodium's scalar multiplication decodes p (rejecting the other
 * non-canonical encodings) and fails when the product is the identity. In
 * a prime-order group with s non-zero that happens only when p is the
 * identity, so this one call is both the validation and the product.
 */
static veil_err
r255_scalar_mult(uint8_t *out, const uint8_t *s, const uint8_t *p)
{
	if (!r255_top_bit_clear(p) || crypto_scalarmult_ristretto255(out, s, p) != 0)
		return VEIL_ERR_ELEMENT;
	return VEIL_OK;
}

static veil_err
r255_scalar_mult_base(uint8_t *out, const uint8_t *s)
{
	if (crypto_scalarmult_ristretto255_base(out, s) != 0)
		return VEIL_ERR_SCALAR;
	return VEIL_OK;
}

static veil_err
r255_element_add(uint8_t *out, const uint8_t *p, const uint8_t *q)
{
	if (!r255_top_bit_clear(p) || !r255_top_bit_clear(q) ||
	    crypto_core_ristretto255_add(out, p, q) != 0)
		return VEIL_ERR_ELEMENT;
	return VEIL_OK;
}

static int
r255_element_is_identity(const uint8_t *p)
{
	/* The identity's only canonical encoding is all zeros. */
	return sodium_is_zero(p, NE);
}

static veil_err
r255_element_check(const uint8_t *p)
{
	if (!r255_top_bit_clear(p) || !crypto_core_ristretto255_is_valid_point(p) ||
	    r255_element_is_identity(p))
		return VEIL_ERR_ELEMENT;
	return VEIL_OK;
}

/* Constant time: s < L iff s - L borrows. */
static veil_err
r255_scalar_check(const uint8_t *s)
{
	unsigned borrow = 0;
	for (size_t i = 0; i < NS; i++)
		borrow = ((unsigned)s[i] - group_order[i] - borrow) >> 8 & 1;
	return borrow ? VEIL_OK : VEIL_ERR_SCALAR;
}

static int
r255_scalar_is_zero(const uint8_t *s)
{
	return sodium_is_zero(s, NS);
}

static veil_err
r255_scalar_invert(uint8_t *out, const uint8_t *s)
{
	if (crypto_core_ristretto255_scalar_invert(out, s) != 0)
		return VEIL_ERR_SCALAR;
	return VEIL_OK;
}

const group group_ristretto255 = {
        .name = "ristretto255",
        .element_size = NE,
        .scalar_size = NS,
        .hash_to_group = r255_hash_to_group,
        .hash_to_scalar = r255_hash_to_scalar,
        .scalar_mult = r255_scalar_mult,
        .scalar_mult_base = r255_scalar_mult_base,
        .element_add = r255_element_add,
        .multi_scalar_mult = msm_ristretto255,
        .element_check = r255_element_check,
        .element_is_identity = r255_element_is_identity,
        .scalar_check = r255_scalar_check,
        .scalar_is_zero = r255_scalar_is_zero,
        .scalar_add = crypto_core_ristretto255_scalar_add,
        .scalar_sub = crypto_core_ristretto255_scalar_sub,
        .scalar_mul = crypto_core_ristretto255_scalar_mul,
        .scalar_invert = r255_scalar_invert,
        .scalar_random = crypto_core_ristretto255_scalar_random,
};

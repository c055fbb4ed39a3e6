/*
 * The NIST prime-order curves P-256, P-384 and P-521 as RFC 9497 groups
 * (sections 4.3 to 4.5), on OpenSSL 3's EC_GROUP, EC_POINT and BIGNUM.
 * Internal to common/: the suites reach them through group.h's
 * group_p256, group_p384 and group_p521; this header adds what the tests
 * inspect.
 *
 * Encodings. An element is a compressed SEC1 point, Ne = 33, 49 or 67
 * bytes: 0x02 or 0x03 (the parity of y), then x, big-endian, padded to
 * the field size. Decoding rejects (VEIL_ERR_ELEMENT) any other first
 * byte, x >= p, and an x with no point on the curve. The identity has no
 * valid encoding: element_check rejects it; internally, where group.h
 * lets an operation yield or take it (hash_to_group, element_add), it is
 * Ne zero bytes, which element_is_identity recognizes. A scalar is Ns =
 * 32, 48 or 66 bytes, big-endian, canonical when below the group order.
 *
 * HashToGroup is RFC 9380 hash_to_curve with the suites
 * P256_XMD:SHA-256_SSWU_RO_, P384_XMD:SHA-384_SSWU_RO_ and
 * P521_XMD:SHA-512_SSWU_RO_: expand_message_xmd to 2 * L bytes (L = 48,
 * 72, 98), two field elements, simplified SWU for each (Z = -10, -12,
 * -4), the two points added; the cofactor is 1. HashToScalar is
 * hash_to_field into the scalar field: expand_message_xmd to L bytes,
 * reduced modulo the group order.
 *
 * Errors beyond those group.h lists: when OpenSSL cannot allocate an
 * object (a BN_CTX, BIGNUM, EC_POINT or EC_GROUP) the operation fails with
 * VEIL_ERR_NOMEM; when an OpenSSL computation on inputs already validated
 * reports failure, with VEIL_ERR_CRYPTO. Neither ever aborts. Only the
 * element operations (hash_to_group, scalar_mult, scalar_mult_base,
 * element_add, element_check) call OpenSSL; the scalar operations never
 * allocate and cannot fail but as group.h says.
 *
 * What is constant-time, and what is not:
 *  - Scalar arithmetic (add, sub, mul, invert, the reduction in
 *    HashToScalar, scalar_check) is this file's own fixed-width code on
 *    32-bit limbs: Montgomery multiplication, inversion by Fermat's little
 *    theorem (s^(n-2), the exponent public), conditional subtraction by
 *    masks. No branch or memory index depends on a scalar's value. This
 *    covers the secret key, blinds, the POPRF tweaked key and its
 *    inverse, and proof nonces.
 *  - scalar_mult and scalar_mult_base hand the scalar to OpenSSL's
 *    EC_POINT_mul as a BIGNUM with BN_FLG_CONSTTIME set. OpenSSL 3
 *    multiplies one point (or the generator) by one scalar in constant
 *    time: its generic Montgomery ladder, or the dedicated P-256 (and,
 *    where built, P-521) code.
 *    Converting the scalar to a BIGNUM (BN_bin2bn) is not itself
 *    constant-time in the number of leading zero bytes.
 *  - hash_to_group's field arithmetic runs on BN_mod_* and is not fully
 *    constant-time: its square roots and inversions are
 *    BN_mod_exp_mont_consttime exponentiations, but the multiplications,
 *    additions and the choice between SWU's two candidates branch and
 *    vary in time with the values. Its input is the client's handle, so
 *    a local timing observer of the client could learn something about
 *    the handle being looked up. The server hashes to the group only
 *    in oprf_evaluate, over the handles it imports into its registry.
 *  - Element decoding is variable-time; elements are public.
 * Secret BIGNUMs are freed with BN_clear_free (and BN_CTXs, which clear
 * theirs), and secret stack buffers are wiped with sodium_memzero.
 *
 * Thread safety: each curve's OpenSSL objects are made on first use under
 * a lock (and made again on a later call if that failed), then only read;
 * every function may be called from any number of threads.
 */
#ifndef VEIL_COMMON_GROUP_NIST_H
#define VEIL_COMMON_GROUP_NIST_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "group.h"

/* The largest field element (P-521: 66 bytes) and uncompressed point. */
#define NIST_MAX_FIELD_SIZE        66
#define NIST_MAX_UNCOMPRESSED_SIZE (1 + 2 * NIST_MAX_FIELD_SIZE)

/* The intermediate values of one hash_to_curve, for the tests. */
typedef struct nist_h2c_trace {
	size_t field_size;                        /* bytes in each field element below */
	uint8_t u[2][NIST_MAX_FIELD_SIZE];        /* hash_to_field's u[0], u[1], big-endian */
	uint8_t q[2][NIST_MAX_UNCOMPRESSED_SIZE]; /* Q0, Q1: 0x04 || x || y */
	uint8_t p[NIST_MAX_UNCOMPRESSED_SIZE];    /* P = Q0 + Q1: 0x04 || x || y */
} nist_h2c_trace;

/*
 * RFC 9380 hash_to_curve of msg (len bytes) under dst on g, which must be
 * group_p256, group_p384 or group_p521, keeping every intermediate value
 * in *trace. P is never the identity here except with negligible
 * probability; if it is, trace->p is all zeros.
 * Errors: VEIL_ERR_ARGUMENT (g not a NIST group, trace NULL),
 * VEIL_ERR_LIMIT (from expand_message_xmd), VEIL_ERR_NOMEM,
 * VEIL_ERR_CRYPTO. On error *trace is zeroed.
 */
veil_err nist_hash_to_curve_trace(const group *g, const uint8_t *msg, size_t len,
                                  const uint8_t *dst, size_t dst_len, nist_h2c_trace *trace)
        __attribute__((warn_unused_result));

#endif

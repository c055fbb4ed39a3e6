/*
 * Multi-scalar multiplication over ristretto255, on libdecaf's projective
 * points: sum s_i * P_i for n encoded elements P_i and n scalars s_i,
 * decoding each P_i once and encoding the sum once. Internal to common/;
 * group_ristretto255 offers it as its multi_scalar_mult (group.h).
 *
 * VARIABLE TIME: the time taken, and the memory touched, depend on the
 * scalars. Only for public scalars, such as the composite weights d_i of
 * an RFC 9497 proof (derived by hashing public values); never for a key.
 * The scalars' digits are still wiped before the memory is freed.
 *
 * The method is picked by n from an estimate of the point additions each
 * needs: Straus (interleaved signed 4-bit windows, a table of 8 multiples
 * per point) for small n, Pippenger's bucket method (signed c-bit windows,
 * 2^(c-1) buckets per window) for large n.
 */
#ifndef VEIL_COMMON_MSM_H
#define VEIL_COMMON_MSM_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Bytes of an encoded element and of a scalar. */
#define MSM_RISTRETTO255_ELEMENT_SIZE 32
#define MSM_RISTRETTO255_SCALAR_SIZE  32

/*
 * out (32 bytes) = sum over i < n of scalars[i] * points[i], where scalars
 * holds n 32-byte little-endian scalars and points n 32-byte encodings,
 * each back to back; both are borrowed for the call. The sum may be the
 * identity (all zero bytes), e.g. when every scalar is zero; n == 0 gives
 * the identity too. out may not overlap the inputs.
 *
 * Errors (out is then all zero):
 *   VEIL_ERR_ELEMENT  a point is not a canonical encoding, or is the identity
 *   VEIL_ERR_SCALAR   a scalar is not below the group order
 *   VEIL_ERR_LIMIT    n is too large for the size of the tables to be counted
 *   VEIL_ERR_NOMEM    the tables could not be allocated
 */
veil_err msm_ristretto255(uint8_t *out, const uint8_t *scalars, const uint8_t *points, size_t n);

#endif

/*
 * A prime-order group as the OPRF needs it (RFC 9497 section 2.1), over
 * serialized elements and scalars so that every suite looks the same to
 * common/oprf.c. Internal to common/.
 *
 * Every function that takes an element validates it (canonical encoding,
 * not the identity) and returns VEIL_ERR_ELEMENT otherwise. Scalars passed
 * in are assumed canonical (below the order): callers validate external
 * scalars with scalar_check first.
 *
 * The functions returning veil_err may also fail with VEIL_ERR_NOMEM or
 * VEIL_ERR_CRYPTO where the group's library can fail (the NIST groups, on
 * OpenSSL: group_nist.h), or VEIL_ERR_SYSTEM when a lock cannot be taken;
 * ristretto255 never does. Callers pass these on as they are.
 */
#ifndef VEIL_COMMON_GROUP_H
#define VEIL_COMMON_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "hash.h"

typedef struct group {
	const char *name;
	size_t element_size; /* Ne */
	size_t scalar_size;  /* Ns */

	/* HashToGroup and HashToScalar under the given DST. hash_to_group
	 * may yield the identity (the OPRF checks); both fail with
	 * VEIL_ERR_LIMIT for oversized messages, and hash_to_group also as
	 * said above. */
	veil_err (*hash_to_group)(uint8_t *out, const uint8_t *msg, size_t len, const uint8_t *dst,
	                          size_t dst_len);
	veil_err (*hash_to_scalar)(uint8_t *out, const uint8_t *msg, size_t len, const uint8_t *dst,
	                           size_t dst_len);

	/* out = s * p. VEIL_ERR_ELEMENT when p is invalid or the product is the
	 * identity (s zero, or p the identity). */
	veil_err (*scalar_mult)(uint8_t *out, const uint8_t *s, const uint8_t *p);
	/* out = s * G. VEIL_ERR_SCALAR when s is zero. */
	veil_err (*scalar_mult_base)(uint8_t *out, const uint8_t *s);
	/* out = p + q; the sum may be the identity. VEIL_ERR_ELEMENT when p or
	 * q is not a valid encoding (the identity is accepted here). */
	veil_err (*element_add)(uint8_t *out, const uint8_t *p, const uint8_t *q);
	/* out = sum over i < n of scalars[i] * points[i] (n scalars and n
	 * elements back to back); the sum may be the identity. VARIABLE TIME:
	 * for public scalars only, never a key. VEIL_ERR_ELEMENT when a point
	 * is invalid or the identity, VEIL_ERR_SCALAR for a scalar not below
	 * the order, VEIL_ERR_NOMEM or VEIL_ERR_LIMIT (msm.h). NULL for a
	 * group without one: callers then loop over scalar_mult and
	 * element_add. */
	veil_err (*multi_scalar_mult)(uint8_t *out, const uint8_t *scalars, const uint8_t *points,
	                              size_t n);
	/* VEIL_OK when p is a canonical encoding of a non-identity element. */
	veil_err (*element_check)(const uint8_t *p);
	int (*element_is_identity)(const uint8_t *p);

	/* VEIL_OK when s is below the group order (zero allowed). */
	veil_err (*scalar_check)(const uint8_t *s);
	int (*scalar_is_zero)(const uint8_t *s);
	void (*scalar_add)(uint8_t *out, const uint8_t *a, const uint8_t *b);
	void (*scalar_sub)(uint8_t *out, const uint8_t *a, const uint8_t *b);
	void (*scalar_mul)(uint8_t *out, const uint8_t *a, const uint8_t *b);
	/* VEIL_ERR_SCALAR when s is zero. */
	veil_err (*scalar_invert)(uint8_t *out, const uint8_t *s);
	/* A uniform scalar in [1, order). */
	void (*scalar_random)(uint8_t *out);
} group;

extern const group group_ristretto255;
/* NIST P-256, P-384 and P-521 with RFC 9380 hashing (group_nist.h). */
extern const group group_p256;
extern const group group_p384;
extern const group group_p521;

#endif

/*
 * Multi-scalar multiplication over ristretto255 (msm.h). Every scalar is
 * recoded into signed digits of c bits, d in [-2^(c-1) + 1, 2^(c-1)], with
 * enough windows (c * windows >= 254) that the top one never carries, for
 * scalars below the order L < 2^253.
 */
#include "msm.h"

#include <stdlib.h>
#include <string.h>

#include <decaf/point_255.h>
#include <sodium.h>

#define NE MSM_RISTRETTO255_ELEMENT_SIZE
#define NS MSM_RISTRETTO255_SCALAR_SIZE

/* Bits a recoded scalar spans: L < 2^253, plus one for the last carry. */
#define RECODED_BITS       254
/* Straus's window; its table holds P, 2P, ..., 8P per point. */
#define STRAUS_BITS        4
#define STRAUS_TABLE       (1u << (STRAUS_BITS - 1))
/* Pippenger's widest window considered (2^15 buckets). */
#define PIPPENGER_MAX_BITS 16

typedef struct decaf_255_point_s point;

static size_t
window_count(unsigned bits)
{
	return (RECODED_BITS + bits - 1) / bits;
}

/* The width bits of the little-endian scalar s from bit pos on (zero past its end). */
static unsigned
scalar_bits(const uint8_t *s, unsigned pos, unsigned width)
{
	uint32_t v = 0;
	const unsigned byte = pos / 8;

	for (unsigned i = 0; i < 4 && byte + i < NS; i++)
		v |= (uint32_t)s[byte + i] << (8 * i);
	return (v >> (pos % 8)) & ((1u << width) - 1);
}

/* The signed digits of s, least significant first: windows of them. */
static void
recode(const uint8_t *s, unsigned bits, size_t windows, int16_t *digits)
{
	const int half = 1 << (bits - 1);
	int carry = 0;

	for (size_t w = 0; w < windows; w++) {
		int d = (int)scalar_bits(s, (unsigned)(w * bits), bits) + carry;
		carry = d > half;
		digits[w] = (int16_t)(carry ? d - (1 << bits) : d);
	}
}

/* Point arrays in the alignment libdecaf's field elements declare. */
static point *
points_new(size_t count)
{
	if (count > SIZE_MAX / sizeof(point))
		return NULL;
	return aligned_alloc(_Alignof(point), count * sizeof(point));
}

/* acc += sign(d) * p where acc may still be empty (*filled 0). */
static void
accumulate(point *acc, int *filled, const point *p, int negative)
{
	if (*filled && negative)
		decaf_255_point_sub(acc, acc, p);
	else if (*filled)
		decaf_255_point_add(acc, acc, p);
	else if (negative)
		decaf_255_point_negate(acc, p);
	else
		decaf_255_point_copy(acc, p);
	*filled = 1;
}

/*
 * Straus: one table of multiples per point, then one pass over the
 * windows from the top, STRAUS_BITS doublings and n table additions each.
 */
static veil_err
straus(point *acc, int *filled, const point *p, const int16_t *digits, size_t n)
{
	const size_t windows = window_count(STRAUS_BITS);
	point *table = n > SIZE_MAX / STRAUS_TABLE ? NULL : points_new(n * STRAUS_TABLE);
	if (table == NULL)
		return VEIL_ERR_NOMEM;

	for (size_t i = 0; i < n; i++) {
		point *t = table + i * STRAUS_TABLE;
		decaf_255_point_copy(&t[0], &p[i]);
		decaf_255_point_double(&t[1], &p[i]);
		for (unsigned j = 2; j < STRAUS_TABLE; j++)
			decaf_255_point_add(&t[j], &t[j - 1], &p[i]);
	}
	for (size_t w = windows; w-- > 0;) {
		for (unsigned b = 0; b < STRAUS_BITS && *filled; b++)
			decaf_255_point_double(acc, acc);
		for (size_t i = 0; i < n; i++) {
			const int d = digits[i * windows + w];
			if (d != 0)
				accumulate(acc, filled,
				           &table[i * STRAUS_TABLE + (size_t)abs(d) - 1], d < 0);
		}
	}
	free(table);
	return VEIL_OK;
}

/*
 * Pippenger: per window from the top, bits doublings, each point added to
 * (or subtracted from) the bucket of its digit's magnitude, then the
 * buckets weighted 1..2^(bits-1) summed by running sums.
 */
static veil_err
pippenger(point *acc, int *filled, const point *p, const int16_t *digits, size_t n, unsigned bits)
{
	const size_t windows = window_count(bits), bucket_count = (size_t)1 << (bits - 1);
	point *buckets = points_new(bucket_count + 2);
	int *bucket_filled = calloc(bucket_count, sizeof(int));
	if (buckets == NULL || bucket_filled == NULL) {
		free(buckets);
		free(bucket_filled);
		return VEIL_ERR_NOMEM;
	}
	point *running = &buckets[bucket_count], *window_sum = &buckets[bucket_count + 1];

	for (size_t w = windows; w-- > 0;) {
		for (unsigned b = 0; b < bits && *filled; b++)
			decaf_255_point_double(acc, acc);
		memset(bucket_filled, 0, bucket_count * sizeof(int));
		for (size_t i = 0; i < n; i++) {
			const int d = digits[i * windows + w];
			if (d != 0) {
				const size_t j = (size_t)abs(d) - 1;
				accumulate(&buckets[j], &bucket_filled[j], &p[i], d < 0);
			}
		}
		/* window_sum = sum (j + 1) * bucket[j] = sum over j of the
		 * running sums of the buckets from the top down to j. */
		int running_filled = 0, sum_filled = 0;
		for (size_t j = bucket_count; j-- > 0;) {
			if (bucket_filled[j])
				accumulate(running, &running_filled, &buckets[j], 0);
			if (running_filled)
				accumulate(window_sum, &sum_filled, running, 0);
		}
		if (sum_filled)
			accumulate(acc, filled, window_sum, 0);
	}
	free(buckets);
	free(bucket_filled);
	return VEIL_OK;
}

/*
 * The cheapest method for n, in point additions (the ~254 doublings are
 * common to both): 0 for Straus, else Pippenger's window width.
 */
static unsigned
pick_method(size_t n)
{
	const double straus_cost = (double)n * (STRAUS_TABLE - 1 + window_count(STRAUS_BITS));
	double best = straus_cost;
	unsigned best_bits = 0;

	for (unsigned bits = 2; bits <= PIPPENGER_MAX_BITS; bits++) {
		const double cost =
		        (double)window_count(bits) * ((double)n + (double)((size_t)1 << bits));
		if (cost < best) {
			best = cost;
			best_bits = bits;
		}
	}
	return best_bits;
}

veil_err
msm_ristretto255(uint8_t *out, const uint8_t *scalars, const uint8_t *points, size_t n)
{
	const unsigned bits = pick_method(n);
	const size_t windows = window_count(bits == 0 ? STRAUS_BITS : bits);
	point acc;
	int filled = 0;
	point *p = NULL;
	int16_t *digits = NULL;
	veil_err err = VEIL_OK;

	memset(out, 0, NE);
	if (n == 0)
		return VEIL_OK;
	if (n > SIZE_MAX / (windows * sizeof(int16_t)))
		return VEIL_ERR_LIMIT;
	p = points_new(n);
	digits = malloc(n * windows * sizeof(int16_t));
	if (p == NULL || digits == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *s = scalars + i * NS, *e = points + i * NE;
		decaf_255_scalar_t check;
		const decaf_error_t canonical = decaf_255_scalar_decode(check, s);
		decaf_255_scalar_destroy(check);
		if (!decaf_successful(canonical)) {
			err = VEIL_ERR_SCALAR;
			goto out;
		}
		/* decaf rejects non-canonical encodings (the top bit set
		 * included) and, with DECAF_FALSE, the identity. */
		if (!decaf_successful(decaf_255_point_decode(&p[i], e, DECAF_FALSE))) {
			err = VEIL_ERR_ELEMENT;
			goto out;
		}
		recode(s, bits == 0 ? STRAUS_BITS : bits, windows, digits + i * windows);
	}
	err = bits == 0 ? straus(&acc, &filled, p, digits, n)
	                : pippenger(&acc, &filled, p, digits, n, bits);
	if (err == VEIL_OK && filled)
		decaf_255_point_encode(out, &acc);
	/* An empty accumulator is the identity, whose encoding is all zeros. */
out:
	if (digits != NULL)
		sodium_memzero(digits, n * windows * sizeof(int16_t));
	free(digits);
	free(p);
	return err;
}

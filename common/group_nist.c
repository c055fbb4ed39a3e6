/*
 * P-256, P-384 and P-521 for RFC 9497: one implementation parameterized
 * by a curve descriptor. group_nist.h says what each encoding is, which
 * errors OpenSSL can add, and what runs in constant time.
 *
 * Scalars are reduced with this file's own fixed-width arithmetic on
 * 32-bit limbs (least significant first) so that no scalar operation
 * allocates or branches on a secret; points use OpenSSL.
 */
#include "group_nist.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <sodium.h>

#include "xmd.h"

/* ---- curve descriptors ---- */

#define MAX_LIMBS  17 /* ceil(66 / 4): a P-521 scalar */
#define MAX_SCALAR 66
#define MAX_L      98 /* hash_to_field's L for P-521 */

typedef uint32_t limb;

/* The scalar field Z/nZ in Montgomery form, R = 2^(32 * nl). */
typedef struct scalar_field {
	size_t nl;           /* limbs in a scalar */
	limb n[MAX_LIMBS];   /* the group order */
	limb n0inv;          /* -n^-1 mod 2^32 */
	limb r2[MAX_LIMBS];  /* R^2 mod n */
	limb one[MAX_LIMBS]; /* the integer 1 */
} scalar_field;

/* The OpenSSL side of a curve, made on first use (see ec_ready). */
typedef struct ec_state {
	atomic_int ready; /* 1 once every member below is made (release) */
	EC_GROUP *group;
	BIGNUM *p, *a, *b;
	BIGNUM *z;              /* SSWU's Z, as a field element */
	BIGNUM *x1_ratio;       /* -B / A */
	BIGNUM *x1_exceptional; /* B / (Z * A) */
	BIGNUM *sqrt_exponent;  /* (p + 1) / 4: every p here is 3 mod 4 */
	BIGNUM *inv_exponent;   /* p - 2 */
	BN_MONT_CTX *mont;      /* for exponentiations modulo p */
} ec_state;

typedef struct curve {
	int nid;
	size_t field_size;  /* bytes of p; Ne = 1 + field_size */
	size_t scalar_size; /* Ns */
	size_t L;           /* hash_to_field's L */
	unsigned z_abs;     /* SSWU's Z is -z_abs */
	const hash_alg *hash;
	const uint8_t *order; /* n, big-endian, scalar_size bytes */
	scalar_field *field;
	ec_state *ec;
} curve;

static const uint8_t order_p256[32] = {
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
        0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};
static const uint8_t order_p384[48] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf, 0x58, 0x1a, 0x0d, 0xb2,
        0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
};
static const uint8_t order_p521[66] = {
        0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xfa, 0x51, 0x86, 0x87, 0x83, 0xbf, 0x2f, 0x96, 0x6b,
        0x7f, 0xcc, 0x01, 0x48, 0xf7, 0x09, 0xa5, 0xd0, 0x3b, 0xb5, 0xc9, 0xb8, 0x89, 0x9c,
        0x47, 0xae, 0xbb, 0x6f, 0xb7, 0x1e, 0x91, 0x38, 0x64, 0x09,
};

static scalar_field field_p256, field_p384, field_p521;
static ec_state ec_p256, ec_p384, ec_p521;

static const curve curve_p256 = {
        NID_X9_62_prime256v1, 32, 32, 48, 10, &hash_sha256, order_p256, &field_p256, &ec_p256,
};
static const curve curve_p384 = {
        NID_secp384r1, 48, 48, 72, 12, &hash_sha384, order_p384, &field_p384, &ec_p384,
};
static const curve curve_p521 = {
        NID_secp521r1, 66, 66, 98, 4, &hash_sha512, order_p521, &field_p521, &ec_p521,
};

/* ---- scalar arithmetic on limbs ---- */

static void
limbs_from_bytes(limb *r, size_t nl, const uint8_t *b, size_t len)
{
	memset(r, 0, nl * sizeof(limb));
	for (size_t i = 0; i < len; i++)
		r[i / 4] |= (limb)b[len - 1 - i] << (8 * (i % 4));
}

static void
limbs_to_bytes(uint8_t *b, size_t len, const limb *r)
{
	for (size_t i = 0; i < len; i++)
		b[len - 1 - i] = (uint8_t)(r[i / 4] >> (8 * (i % 4)));
}

/* r = a + b; returns the carry out. */
static limb
limbs_add(limb *r, const limb *a, const limb *b, size_t nl)
{
	uint64_t carry = 0;
	for (size_t i = 0; i < nl; i++) {
		carry += (uint64_t)a[i] + b[i];
		r[i] = (limb)carry;
		carry >>= 32;
	}
	return (limb)carry;
}

/* r = a - b; returns the borrow out. */
static limb
limbs_sub(limb *r, const limb *a, const limb *b, size_t nl)
{
	limb borrow = 0;
	for (size_t i = 0; i < nl; i++) {
		const uint64_t d = (uint64_t)a[i] - b[i] - borrow;
		r[i] = (limb)d;
		borrow = (limb)(d >> 63);
	}
	return borrow;
}

/* r = mask ? a : b, for mask all ones or zero. */
static void
limbs_select(limb *r, const limb *a, const limb *b, limb mask, size_t nl)
{
	for (size_t i = 0; i < nl; i++)
		r[i] = (a[i] & mask) | (b[i] & ~mask);
}

/* r = a + b mod n, for a, b < n. */
static void
sc_add(const scalar_field *f, limb *r, const limb *a, const limb *b)
{
	limb sum[MAX_LIMBS], diff[MAX_LIMBS];
	const limb carry = limbs_add(sum, a, b, f->nl);
	const limb borrow = limbs_sub(diff, sum, f->n, f->nl);
	/* sum - n is right when the sum overflowed or did not go below n. */
	limbs_select(r, diff, sum, (limb)0 - (carry | (borrow ^ 1)), f->nl);
	sodium_memzero(sum, sizeof(sum));
	sodium_memzero(diff, sizeof(diff));
}

/* r = a - b mod n, for a, b < n. */
static void
sc_sub(const scalar_field *f, limb *r, const limb *a, const limb *b)
{
	limb diff[MAX_LIMBS], wrapped[MAX_LIMBS];
	const limb borrow = limbs_sub(diff, a, b, f->nl);
	(void)limbs_add(wrapped, diff, f->n, f->nl);
	limbs_select(r, wrapped, diff, (limb)0 - borrow, f->nl);
	sodium_memzero(diff, sizeof(diff));
	sodium_memzero(wrapped, sizeof(wrapped));
}

/* r = a * b / R mod n (Montgomery multiplication, CIOS), for a, b < n. */
static void
sc_mont_mul(const scalar_field *f, limb *r, const limb *a, const limb *b)
{
	const size_t nl = f->nl;
	limb t[MAX_LIMBS + 2] = {0}, diff[MAX_LIMBS];

	for (size_t i = 0; i < nl; i++) {
		uint64_t c = 0;
		for (size_t j = 0; j < nl; j++) {
			c += (uint64_t)t[j] + (uint64_t)a[j] * b[i];
			t[j] = (limb)c;
			c >>= 32;
		}
		c += t[nl];
		t[nl] = (limb)c;
		t[nl + 1] = (limb)(c >> 32);

		const limb m = t[0] * f->n0inv;
		c = ((uint64_t)t[0] + (uint64_t)m * f->n[0]) >> 32;
		for (size_t j = 1; j < nl; j++) {
			c += (uint64_t)t[j] + (uint64_t)m * f->n[j];
			t[j - 1] = (limb)c;
			c >>= 32;
		}
		c += t[nl];
		t[nl - 1] = (limb)c;
		t[nl] = t[nl + 1] + (limb)(c >> 32);
	}
	/* t < 2n, with t[nl] its top bit: subtract n once if t >= n. */
	const limb borrow = limbs_sub(diff, t, f->n, nl);
	limbs_select(r, diff, t, (limb)0 - (t[nl] | (borrow ^ 1)), nl);
	sodium_memzero(t, sizeof(t));
	sodium_memzero(diff, sizeof(diff));
}

/* r = a * b mod n. */
static void
sc_mul(const scalar_field *f, limb *r, const limb *a, const limb *b)
{
	limb t[MAX_LIMBS];
	sc_mont_mul(f, t, a, b);     /* a b / R */
	sc_mont_mul(f, r, t, f->r2); /* a b */
	sodium_memzero(t, sizeof(t));
}

/* Fills f from the big-endian order: n, -n^-1 mod 2^32 and R^2 mod n. */
static void
field_init(scalar_field *f, const curve *c)
{
	f->nl = (c->scalar_size + 3) / 4;
	limbs_from_bytes(f->n, f->nl, c->order, c->scalar_size);

	/* Newton's iteration doubles the correct low bits of an inverse of
	 * the odd n[0], starting from 3 (x = n[0] is its own inverse mod 8). */
	limb inv = f->n[0];
	for (int i = 0; i < 4; i++)
		inv *= 2 - f->n[0] * inv;
	f->n0inv = (limb)0 - inv;

	/* R^2 mod n: 1 doubled 2 * 32 * nl times modulo n. */
	memset(f->one, 0, sizeof(f->one));
	f->one[0] = 1;
	memcpy(f->r2, f->one, sizeof(f->r2));
	for (size_t i = 0; i < 64 * f->nl; i++)
		sc_add(f, f->r2, f->r2, f->r2);
}

static pthread_once_t fields_once = PTHREAD_ONCE_INIT;

static void
fields_init(void)
{
	field_init(&field_p256, &curve_p256);
	field_init(&field_p384, &curve_p384);
	field_init(&field_p521, &curve_p521);
}

static const scalar_field *
field_of(const curve *c)
{
	(void)pthread_once(&fields_once, fields_init);
	return c->field;
}

/* ---- scalar operations on encodings ---- */

/* Constant time: s < n iff s - n borrows (big-endian bytes). */
static veil_err
nist_scalar_check(const curve *c, const uint8_t *s)
{
	unsigned borrow = 0;
	for (size_t i = c->scalar_size; i-- > 0;)
		borrow = ((unsigned)s[i] - c->order[i] - borrow) >> 8 & 1;
	return borrow ? VEIL_OK : VEIL_ERR_SCALAR;
}

static int
nist_scalar_is_zero(const curve *c, const uint8_t *s)
{
	return sodium_is_zero(s, c->scalar_size);
}

typedef void (*sc_op)(const scalar_field *f, limb *r, const limb *a, const limb *b);

/* out = op(a, b) on encodings. */
static void
scalar_binary(const curve *c, sc_op op, uint8_t *out, const uint8_t *a, const uint8_t *b)
{
	const scalar_field *f = field_of(c);
	limb x[MAX_LIMBS], y[MAX_LIMBS];
	limbs_from_bytes(x, f->nl, a, c->scalar_size);
	limbs_from_bytes(y, f->nl, b, c->scalar_size);
	op(f, x, x, y);
	limbs_to_bytes(out, c->scalar_size, x);
	sodium_memzero(x, sizeof(x));
	sodium_memzero(y, sizeof(y));
}

/* s^(n-2) = s^-1 mod n: square and multiply over the public exponent. */
static veil_err
nist_scalar_invert(const curve *c, uint8_t *out, const uint8_t *s)
{
	if (nist_scalar_is_zero(c, s))
		return VEIL_ERR_SCALAR;
	const scalar_field *f = field_of(c);
	uint8_t exponent[MAX_SCALAR];
	limb x[MAX_LIMBS], base[MAX_LIMBS], acc[MAX_LIMBS];

	/* n - 2: every order here ends in a byte above 1, so no borrow. */
	memcpy(exponent, c->order, c->scalar_size);
	exponent[c->scalar_size - 1] -= 2;

	limbs_from_bytes(x, f->nl, s, c->scalar_size);
	sc_mont_mul(f, base, x, f->r2);     /* s R */
	sc_mont_mul(f, acc, f->one, f->r2); /* R, the Montgomery one */
	for (size_t i = 0; i < c->scalar_size; i++)
		for (int bit = 7; bit >= 0; bit--) {
			sc_mont_mul(f, acc, acc, acc);
			if (exponent[i] >> bit & 1)
				sc_mont_mul(f, acc, acc, base);
		}
	sc_mont_mul(f, x, acc, f->one); /* out of Montgomery form */
	limbs_to_bytes(out, c->scalar_size, x);
	sodium_memzero(x, sizeof(x));
	sodium_memzero(base, sizeof(base));
	sodium_memzero(acc, sizeof(acc));
	return VEIL_OK;
}

/* out = the big-endian bytes in[0..len) mod n, by Horner's rule. */
static void
scalar_reduce(const curve *c, uint8_t *out, const uint8_t *in, size_t len)
{
	const scalar_field *f = field_of(c);
	limb acc[MAX_LIMBS] = {0}, byte[MAX_LIMBS] = {0};

	for (size_t i = 0; i < len; i++) {
		for (int k = 0; k < 8; k++)
			sc_add(f, acc, acc, acc);
		byte[0] = in[i];
		sc_add(f, acc, acc, byte);
	}
	limbs_to_bytes(out, c->scalar_size, acc);
	sodium_memzero(acc, sizeof(acc));
	sodium_memzero(byte, sizeof(byte));
}

static veil_err
nist_hash_to_scalar(const curve *c, uint8_t *out, const uint8_t *msg, size_t len,
                    const uint8_t *dst, size_t dst_len)
{
	uint8_t uniform[MAX_L];
	veil_err err = xmd_expand(c->hash, msg, len, dst, dst_len, uniform, c->L);
	if (err == VEIL_OK)
		scalar_reduce(c, out, uniform, c->L);
	sodium_memzero(uniform, sizeof(uniform));
	return err;
}

/* Uniform in [1, n) by rejection: draw as many bits as n has. */
static void
nist_scalar_random(const curve *c, uint8_t *out)
{
	uint8_t top_mask = c->order[0];
	top_mask |= top_mask >> 1;
	top_mask |= top_mask >> 2;
	top_mask |= top_mask >> 4;
	do {
		randombytes_buf(out, c->scalar_size);
		out[0] &= top_mask;
	} while (nist_scalar_check(c, out) != VEIL_OK || nist_scalar_is_zero(c, out));
}

/* ---- the OpenSSL side ---- */

/* A NULL from an allocating call is VEIL_ERR_NOMEM; a failed computation
 * on validated inputs is VEIL_ERR_CRYPTO. Both jump to out. */
#define NEW(expr)                                                                                  \
	do {                                                                                       \
		if ((expr) == NULL) {                                                              \
			err = VEIL_ERR_NOMEM;                                                      \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)
#define RUN(expr)                                                                                  \
	do {                                                                                       \
		if (!(expr)) {                                                                     \
			err = VEIL_ERR_CRYPTO;                                                     \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

static pthread_mutex_t ec_lock = PTHREAD_MUTEX_INITIALIZER;

static void
ec_state_clear(ec_state *s)
{
	EC_GROUP_free(s->group);
	BN_free(s->p);
	BN_free(s->a);
	BN_free(s->b);
	BN_free(s->z);
	BN_free(s->x1_ratio);
	BN_free(s->x1_exceptional);
	BN_free(s->sqrt_exponent);
	BN_free(s->inv_exponent);
	BN_MONT_CTX_free(s->mont);
	memset(s, 0, sizeof(*s));
}

/* Makes the curve's group and the constants of its SWU map. */
static veil_err
ec_state_make(const curve *c, ec_state *s)
{
	BN_CTX *ctx = NULL;
	BIGNUM *t = NULL, *inv = NULL;
	veil_err err = VEIL_OK;

	NEW(ctx = BN_CTX_new());
	NEW(s->group = EC_GROUP_new_by_curve_name(c->nid));
	NEW(s->p = BN_new());
	NEW(s->a = BN_new());
	NEW(s->b = BN_new());
	NEW(s->z = BN_new());
	NEW(s->x1_ratio = BN_new());
	NEW(s->x1_exceptional = BN_new());
	NEW(s->sqrt_exponent = BN_new());
	NEW(s->inv_exponent = BN_new());
	NEW(s->mont = BN_MONT_CTX_new());
	NEW(t = BN_new());
	RUN(EC_GROUP_get_curve(s->group, s->p, s->a, s->b, ctx));
	RUN(BN_set_word(t, c->z_abs));
	RUN(BN_sub(s->z, s->p, t));
	/* -B / A, and B / (Z * A); the constants are public. */
	NEW(inv = BN_mod_inverse(NULL, s->a, s->p, ctx));
	RUN(BN_mod_mul(t, s->b, inv, s->p, ctx));
	RUN(BN_sub(s->x1_ratio, s->p, t));
	BN_free(inv);
	inv = NULL;
	RUN(BN_mod_mul(t, s->z, s->a, s->p, ctx));
	NEW(inv = BN_mod_inverse(NULL, t, s->p, ctx));
	RUN(BN_mod_mul(s->x1_exceptional, s->b, inv, s->p, ctx));
	RUN(BN_copy(s->sqrt_exponent, s->p));
	RUN(BN_add_word(s->sqrt_exponent, 1));
	RUN(BN_rshift(s->sqrt_exponent, s->sqrt_exponent, 2));
	RUN(BN_copy(s->inv_exponent, s->p));
	RUN(BN_sub_word(s->inv_exponent, 2));
	RUN(BN_MONT_CTX_set(s->mont, s->p, ctx));
	atomic_store_explicit(&s->ready, 1, memory_order_release);
out:
	BN_free(t);
	BN_free(inv);
	BN_CTX_free(ctx);
	if (err != VEIL_OK)
		ec_state_clear(s);
	return err;
}

/* The curve's OpenSSL state, made on the first call that succeeds. */
static veil_err
ec_ready(const curve *c, const ec_state **out)
{
	veil_err err = VEIL_OK;
	*out = c->ec;
	/* Made once, then only read: the lock is for the first calls alone,
	 * not for every element operation of every thread. */
	if (atomic_load_explicit(&c->ec->ready, memory_order_acquire))
		return VEIL_OK;
	if (pthread_mutex_lock(&ec_lock) != 0)
		return VEIL_ERR_SYSTEM;
	if (!atomic_load_explicit(&c->ec->ready, memory_order_relaxed))
		err = ec_state_make(c, c->ec);
	(void)pthread_mutex_unlock(&ec_lock);
	*out = c->ec;
	return err;
}

/* y = x^3 + A x + B. */
static int
curve_rhs(const ec_state *s, BIGNUM *y, const BIGNUM *x, BN_CTX *ctx)
{
	return BN_mod_sqr(y, x, s->p, ctx) && BN_mod_add(y, y, s->a, s->p, ctx) &&
	       BN_mod_mul(y, y, x, s->p, ctx) && BN_mod_add(y, y, s->b, s->p, ctx);
}

/*
 * root = g^((p+1)/4), the square root of g when g is a square (p = 3 mod
 * 4); *is_square says whether it is.
 */
static veil_err
field_sqrt(const ec_state *s, BIGNUM *root, const BIGNUM *g, int *is_square, BN_CTX *ctx)
{
	veil_err err = VEIL_OK;

	*is_square = 0;
	BN_CTX_start(ctx);
	BIGNUM *check = BN_CTX_get(ctx);
	NEW(check);
	RUN(BN_mod_exp_mont_consttime(root, g, s->sqrt_exponent, s->p, ctx, s->mont));
	RUN(BN_mod_sqr(check, root, s->p, ctx));
	*is_square = BN_cmp(check, g) == 0;
out:
	BN_CTX_end(ctx);
	return err;
}

/*
 * RFC 9380 section 6.6.2 simplified SWU, in the form of its steps 1-10:
 * (x, y) on the curve for the field element u.
 */
static veil_err
map_to_curve(const ec_state *s, const BIGNUM *u, EC_POINT *q, BN_CTX *ctx)
{
	veil_err err = VEIL_OK;
	int square1, square2;

	BN_CTX_start(ctx);
	BIGNUM *zu2 = BN_CTX_get(ctx), *tv1 = BN_CTX_get(ctx), *x1 = BN_CTX_get(ctx);
	BIGNUM *gx1 = BN_CTX_get(ctx), *x2 = BN_CTX_get(ctx), *gx2 = BN_CTX_get(ctx);
	BIGNUM *y1 = BN_CTX_get(ctx), *y2 = BN_CTX_get(ctx);
	NEW(y2); /* BN_CTX_get fails for every later call once one fails */

	/* 1. tv1 = inv0(Z^2 u^4 + Z u^2), inv0 by Fermat (0 stays 0) */
	RUN(BN_mod_sqr(zu2, u, s->p, ctx));
	RUN(BN_mod_mul(zu2, zu2, s->z, s->p, ctx));
	RUN(BN_mod_sqr(tv1, zu2, s->p, ctx));
	RUN(BN_mod_add(tv1, tv1, zu2, s->p, ctx));
	RUN(BN_mod_exp_mont_consttime(tv1, tv1, s->inv_exponent, s->p, ctx, s->mont));
	/* 2-3. x1 = (-B / A) (1 + tv1), or B / (Z A) when tv1 is 0 */
	if (BN_is_zero(tv1)) {
		RUN(BN_copy(x1, s->x1_exceptional));
	} else {
		RUN(BN_add_word(tv1, 1));
		RUN(BN_mod_mul(x1, s->x1_ratio, tv1, s->p, ctx));
	}
	/* 4-6. gx1 = x1^3 + A x1 + B; x2 = Z u^2 x1; gx2 = x2^3 + A x2 + B */
	RUN(curve_rhs(s, gx1, x1, ctx));
	RUN(BN_mod_mul(x2, zu2, x1, s->p, ctx));
	RUN(curve_rhs(s, gx2, x2, ctx));
	/* 7-8. the candidate whose gx is a square, with its root */
	if ((err = field_sqrt(s, y1, gx1, &square1, ctx)) != VEIL_OK ||
	    (err = field_sqrt(s, y2, gx2, &square2, ctx)) != VEIL_OK)
		goto out;
	if (!square1 && !square2) {
		err = VEIL_ERR_CRYPTO; /* impossible: one of the two is a square */
		goto out;
	}
	const BIGNUM *x = square1 ? x1 : x2;
	BIGNUM *y = square1 ? y1 : y2;
	/* 9. sgn0(y) = sgn0(u), with sgn0 the parity for a prime field */
	if (BN_is_odd(u) != BN_is_odd(y) && !BN_is_zero(y))
		RUN(BN_sub(y, s->p, y));
	RUN(EC_POINT_set_affine_coordinates(s->group, q, x, y, ctx));
out:
	BN_CTX_end(ctx);
	return err;
}

/* Writes the uncompressed SEC1 form of q (zeros for the identity). */
static veil_err
encode_uncompressed(const curve *c, const ec_state *s, const EC_POINT *q, uint8_t *out, BN_CTX *ctx)
{
	const size_t n = 1 + 2 * c->field_size;
	if (EC_POINT_is_at_infinity(s->group, q)) {
		memset(out, 0, n);
		return VEIL_OK;
	}
	return EC_POINT_point2oct(s->group, q, POINT_CONVERSION_UNCOMPRESSED, out, n, ctx) == n
	               ? VEIL_OK
	               : VEIL_ERR_CRYPTO;
}

/* P = hash_to_curve(msg); with trace non-NULL, the steps are kept there. */
static veil_err
hash_to_curve(const curve *c, const ec_state *s, const uint8_t *msg, size_t len, const uint8_t *dst,
              size_t dst_len, EC_POINT *p, nist_h2c_trace *trace, BN_CTX *ctx)
{
	uint8_t uniform[2 * MAX_L];
	EC_POINT *q1 = NULL;
	veil_err err;

	BN_CTX_start(ctx);
	BIGNUM *u0 = BN_CTX_get(ctx), *u1 = BN_CTX_get(ctx);
	if ((err = xmd_expand(c->hash, msg, len, dst, dst_len, uniform, 2 * c->L)) != VEIL_OK)
		goto out;
	NEW(u1);
	NEW(q1 = EC_POINT_new(s->group));
	RUN(BN_bin2bn(uniform, (int)c->L, u0));
	RUN(BN_bin2bn(uniform + c->L, (int)c->L, u1));
	RUN(BN_nnmod(u0, u0, s->p, ctx));
	RUN(BN_nnmod(u1, u1, s->p, ctx));
	if ((err = map_to_curve(s, u0, p, ctx)) != VEIL_OK ||
	    (err = map_to_curve(s, u1, q1, ctx)) != VEIL_OK)
		goto out;
	if (trace != NULL) {
		RUN(BN_bn2binpad(u0, trace->u[0], (int)c->field_size) > 0);
		RUN(BN_bn2binpad(u1, trace->u[1], (int)c->field_size) > 0);
		if ((err = encode_uncompressed(c, s, p, trace->q[0], ctx)) != VEIL_OK ||
		    (err = encode_uncompressed(c, s, q1, trace->q[1], ctx)) != VEIL_OK)
			goto out;
	}
	RUN(EC_POINT_add(s->group, p, p, q1, ctx));
	if (trace != NULL)
		err = encode_uncompressed(c, s, p, trace->p, ctx);
out:
	EC_POINT_free(q1);
	BN_CTX_end(ctx);
	sodium_memzero(uniform, sizeof(uniform));
	return err;
}

static int
is_zero_element(const curve *c, const uint8_t *p)
{
	return sodium_is_zero(p, 1 + c->field_size);
}

/*
 * Decodes the compressed point in into q: VEIL_ERR_ELEMENT unless its
 * first byte is 2 or 3, x < p and x^3 + A x + B has a square root. The
 * all-zero identity is accepted only when allow_identity is set.
 */
static veil_err
decode(const curve *c, const ec_state *s, const uint8_t *in, int allow_identity, EC_POINT *q,
       BN_CTX *ctx)
{
	veil_err err = VEIL_OK;
	int square;

	if (is_zero_element(c, in)) {
		if (!allow_identity)
			return VEIL_ERR_ELEMENT;
		return EC_POINT_set_to_infinity(s->group, q) ? VEIL_OK : VEIL_ERR_CRYPTO;
	}
	if (in[0] != 0x02 && in[0] != 0x03)
		return VEIL_ERR_ELEMENT;
	BN_CTX_start(ctx);
	BIGNUM *x = BN_CTX_get(ctx), *rhs = BN_CTX_get(ctx), *y = BN_CTX_get(ctx);
	NEW(y);
	RUN(BN_bin2bn(in + 1, (int)c->field_size, x));
	if (BN_cmp(x, s->p) >= 0) {
		err = VEIL_ERR_ELEMENT;
		goto out;
	}
	RUN(curve_rhs(s, rhs, x, ctx));
	if ((err = field_sqrt(s, y, rhs, &square, ctx)) != VEIL_OK)
		goto out;
	if (!square || (BN_is_zero(y) && in[0] == 0x03)) {
		err = VEIL_ERR_ELEMENT;
		goto out;
	}
	if (BN_is_odd(y) != (in[0] == 0x03))
		RUN(BN_sub(y, s->p, y));
	RUN(EC_POINT_set_affine_coordinates(s->group, q, x, y, ctx));
out:
	BN_CTX_end(ctx);
	return err;
}

/* Writes the compressed form of q, or Ne zeros for the identity. */
static veil_err
encode(const curve *c, const ec_state *s, const EC_POINT *q, uint8_t *out, BN_CTX *ctx)
{
	const size_t ne = 1 + c->field_size;
	if (EC_POINT_is_at_infinity(s->group, q)) {
		memset(out, 0, ne);
		return VEIL_OK;
	}
	return EC_POINT_point2oct(s->group, q, POINT_CONVERSION_COMPRESSED, out, ne, ctx) == ne
	               ? VEIL_OK
	               : VEIL_ERR_CRYPTO;
}

/* Everything an element operation needs: the state, a context, two points. */
typedef struct op {
	const ec_state *s;
	BN_CTX *ctx;
	EC_POINT *p, *q;
} op;

static veil_err
op_begin(const curve *c, op *o)
{
	veil_err err;
	memset(o, 0, sizeof(*o));
	if ((err = ec_ready(c, &o->s)) != VEIL_OK)
		return err;
	/* A secure context where the platform has one: it holds secrets. */
	if ((o->ctx = BN_CTX_secure_new()) == NULL || (o->p = EC_POINT_new(o->s->group)) == NULL ||
	    (o->q = EC_POINT_new(o->s->group)) == NULL)
		return VEIL_ERR_NOMEM;
	return VEIL_OK;
}

static void
op_end(op *o)
{
	EC_POINT_clear_free(o->p);
	EC_POINT_clear_free(o->q);
	BN_CTX_free(o->ctx); /* clears the numbers it held */
}

/* The scalar s as a BIGNUM flagged for constant-time use. */
static veil_err
scalar_to_bn(const curve *c, const uint8_t *s, BIGNUM **out)
{
	BIGNUM *k = BN_secure_new();
	if (k == NULL)
		return VEIL_ERR_NOMEM;
	BN_set_flags(k, BN_FLG_CONSTTIME);
	if (BN_bin2bn(s, (int)c->scalar_size, k) == NULL) {
		BN_clear_free(k);
		return VEIL_ERR_CRYPTO;
	}
	*out = k;
	return VEIL_OK;
}

static veil_err
nist_hash_to_group(const curve *c, uint8_t *out, const uint8_t *msg, size_t len, const uint8_t *dst,
                   size_t dst_len)
{
	op o;
	veil_err err = op_begin(c, &o);
	if (err == VEIL_OK)
		err = hash_to_curve(c, o.s, msg, len, dst, dst_len, o.p, NULL, o.ctx);
	if (err == VEIL_OK)
		err = encode(c, o.s, o.p, out, o.ctx);
	op_end(&o);
	return err;
}

/* out = s * p, or s * G when p is NULL. */
static veil_err
multiply(const curve *c, uint8_t *out, const uint8_t *s, const uint8_t *p)
{
	BIGNUM *k = NULL;
	op o;
	veil_err err = op_begin(c, &o);
	if (err == VEIL_OK && p != NULL)
		err = decode(c, o.s, p, 0, o.p, o.ctx);
	if (err == VEIL_OK && nist_scalar_is_zero(c, s))
		err = p != NULL ? VEIL_ERR_ELEMENT : VEIL_ERR_SCALAR;
	if (err == VEIL_OK)
		err = scalar_to_bn(c, s, &k);
	if (err == VEIL_OK && !EC_POINT_mul(o.s->group, o.q, p == NULL ? k : NULL,
	                                    p == NULL ? NULL : o.p, p == NULL ? NULL : k, o.ctx))
		err = VEIL_ERR_CRYPTO;
	/* s is below the prime order and non-zero, so only an invalid p
	 * could give the identity; checked anyway. */
	if (err == VEIL_OK && EC_POINT_is_at_infinity(o.s->group, o.q))
		err = VEIL_ERR_ELEMENT;
	if (err == VEIL_OK)
		err = encode(c, o.s, o.q, out, o.ctx);
	BN_clear_free(k);
	op_end(&o);
	return err;
}

static veil_err
nist_element_add(const curve *c, uint8_t *out, const uint8_t *p, const uint8_t *q)
{
	op o;
	veil_err err = op_begin(c, &o);
	if (err == VEIL_OK)
		err = decode(c, o.s, p, 1, o.p, o.ctx);
	if (err == VEIL_OK)
		err = decode(c, o.s, q, 1, o.q, o.ctx);
	if (err == VEIL_OK && !EC_POINT_add(o.s->group, o.p, o.p, o.q, o.ctx))
		err = VEIL_ERR_CRYPTO;
	if (err == VEIL_OK)
		err = encode(c, o.s, o.p, out, o.ctx);
	op_end(&o);
	return err;
}

static veil_err
nist_element_check(const curve *c, const uint8_t *p)
{
	op o;
	veil_err err = op_begin(c, &o);
	if (err == VEIL_OK)
		err = decode(c, o.s, p, 0, o.p, o.ctx);
	op_end(&o);
	return err;
}

/* ---- the three groups ---- */

/* group.h's functions for one curve, each a call with its descriptor. */
#define NIST_GROUP(id, label)                                                                      \
	static veil_err id##_hash_to_group(uint8_t *out, const uint8_t *msg, size_t len,           \
	                                   const uint8_t *dst, size_t dst_len)                     \
	{                                                                                          \
		return nist_hash_to_group(&curve_##id, out, msg, len, dst, dst_len);               \
	}                                                                                          \
	static veil_err id##_hash_to_scalar(uint8_t *out, const uint8_t *msg, size_t len,          \
	                                    const uint8_t *dst, size_t dst_len)                    \
	{                                                                                          \
		return nist_hash_to_scalar(&curve_##id, out, msg, len, dst, dst_len);              \
	}                                                                                          \
	static veil_err id##_scalar_mult(uint8_t *out, const uint8_t *s, const uint8_t *p)         \
	{                                                                                          \
		return multiply(&curve_##id, out, s, p);                                           \
	}                                                                                          \
	static veil_err id##_scalar_mult_base(uint8_t *out, const uint8_t *s)                      \
	{                                                                                          \
		return multiply(&curve_##id, out, s, NULL);                                        \
	}                                                                                          \
	static veil_err id##_element_add(uint8_t *out, const uint8_t *p, const uint8_t *q)         \
	{                                                                                          \
		return nist_element_add(&curve_##id, out, p, q);                                   \
	}                                                                                          \
	static veil_err id##_element_check(const uint8_t *p)                                       \
	{                                                                                          \
		return nist_element_check(&curve_##id, p);                                         \
	}                                                                                          \
	static int id##_element_is_identity(const uint8_t *p)                                      \
	{                                                                                          \
		return is_zero_element(&curve_##id, p);                                            \
	}                                                                                          \
	static veil_err id##_scalar_check(const uint8_t *s)                                        \
	{                                                                                          \
		return nist_scalar_check(&curve_##id, s);                                          \
	}                                                                                          \
	static int id##_scalar_is_zero(const uint8_t *s)                                           \
	{                                                                                          \
		return nist_scalar_is_zero(&curve_##id, s);                                        \
	}                                                                                          \
	static void id##_scalar_add(uint8_t *out, const uint8_t *a, const uint8_t *b)              \
	{                                                                                          \
		scalar_binary(&curve_##id, sc_add, out, a, b);                                     \
	}                                                                                          \
	static void id##_scalar_sub(uint8_t *out, const uint8_t *a, const uint8_t *b)              \
	{                                                                                          \
		scalar_binary(&curve_##id, sc_sub, out, a, b);                                     \
	}                                                                                          \
	static void id##_scalar_mul(uint8_t *out, const uint8_t *a, const uint8_t *b)              \
	{                                                                                          \
		scalar_binary(&curve_##id, sc_mul, out, a, b);                                     \
	}                                                                                          \
	static veil_err id##_scalar_invert(uint8_t *out, const uint8_t *s)                         \
	{                                                                                          \
		return nist_scalar_invert(&curve_##id, out, s);                                    \
	}                                                                                          \
	static void id##_scalar_random(uint8_t *out)                                               \
	{                                                                                          \
		nist_scalar_random(&curve_##id, out);                                              \
	}                                                                                          \
	const group group_##id = {                                                                 \
	        .name = label,                                                                     \
	        .element_size = 1 + sizeof(order_##id),                                            \
	        .scalar_size = sizeof(order_##id),                                                 \
	        .hash_to_group = id##_hash_to_group,                                               \
	        .hash_to_scalar = id##_hash_to_scalar,                                             \
	        .scalar_mult = id##_scalar_mult,                                                   \
	        .scalar_mult_base = id##_scalar_mult_base,                                         \
	        .element_add = id##_element_add,                                                   \
	        .element_check = id##_element_check,                                               \
	        .element_is_identity = id##_element_is_identity,                                   \
	        .scalar_check = id##_scalar_check,                                                 \
	        .scalar_is_zero = id##_scalar_is_zero,                                             \
	        .scalar_add = id##_scalar_add,                                                     \
	        .scalar_sub = id##_scalar_sub,                                                     \
	        .scalar_mul = id##_scalar_mul,                                                     \
	        .scalar_invert = id##_scalar_invert,                                               \
	        .scalar_random = id##_scalar_random,                                               \
	};

NIST_GROUP(p256, "P256")
NIST_GROUP(p384, "P384")
NIST_GROUP(p521, "P521")

veil_err
nist_hash_to_curve_trace(const group *g, const uint8_t *msg, size_t len, const uint8_t *dst,
                         size_t dst_len, nist_h2c_trace *trace)
{
	const curve *c = g == &group_p256   ? &curve_p256
	                 : g == &group_p384 ? &curve_p384
	                 : g == &group_p521 ? &curve_p521
	                                    : NULL;
	if (c == NULL || trace == NULL) {
		if (trace != NULL)
			memset(trace, 0, sizeof(*trace));
		return VEIL_ERR_ARGUMENT;
	}
	memset(trace, 0, sizeof(*trace));
	trace->field_size = c->field_size;
	op o;
	veil_err err = op_begin(c, &o);
	if (err == VEIL_OK)
		err = hash_to_curve(c, o.s, msg, len, dst, dst_len, o.p, trace, o.ctx);
	op_end(&o);
	if (err != VEIL_OK)
		memset(trace, 0, sizeof(*trace));
	return err;
}

#include "suite_floor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

struct bench_suite_floor {
	const char *operation;
	/* ristretto255: libsodium's floor. */
	bench_floor ristretto;
	/* The NIST curves: OpenSSL's. group is NULL for ristretto255. */
	EC_GROUP *group;
	BN_CTX *ctx;
	BIGNUM *scalars[BENCH_FLOOR_PAIRS];
	EC_POINT *points[BENCH_FLOOR_PAIRS];
	EC_POINT *product;
	size_t next;
};

static void
fail(const char *why)
{
	fprintf(stderr, "floor: %s\n", why);
	exit(1);
}

/* Random scalars (flagged constant-time, as the OPRF's are) and random points. */
static void
ec_init(bench_suite_floor *f, int nid)
{
	BIGNUM *r = BN_new();
	if ((f->group = EC_GROUP_new_by_curve_name(nid)) == NULL ||
	    (f->ctx = BN_CTX_new()) == NULL || (f->product = EC_POINT_new(f->group)) == NULL ||
	    r == NULL)
		fail("OpenSSL could not allocate");
	const BIGNUM *order = EC_GROUP_get0_order(f->group);
	for (size_t i = 0; i < BENCH_FLOOR_PAIRS; i++) {
		f->scalars[i] = BN_new();
		f->points[i] = EC_POINT_new(f->group);
		if (f->scalars[i] == NULL || f->points[i] == NULL ||
		    !BN_priv_rand_range(f->scalars[i], order) || !BN_priv_rand_range(r, order) ||
		    !EC_POINT_mul(f->group, f->points[i], r, NULL, NULL, f->ctx))
			fail("OpenSSL failed");
		BN_set_flags(f->scalars[i], BN_FLG_CONSTTIME);
	}
	BN_clear_free(r);
	f->next = 0;
}

static void
ec_call(void *arg)
{
	bench_suite_floor *f = arg;
	const size_t i = f->next++ % BENCH_FLOOR_PAIRS;

	if (!EC_POINT_mul(f->group, f->product, NULL, f->points[i], f->scalars[i], f->ctx))
		fail("EC_POINT_mul failed");
}

bench_suite_floor *
bench_suite_floor_new(const char *suite)
{
	static const struct {
		const char *suite, *operation;
		int nid;
	} curves[] = {
	        {"ristretto255-SHA512", "crypto_scalarmult_ristretto255", NID_undef},
	        {"P256-SHA256", "EC_POINT_mul P-256", NID_X9_62_prime256v1},
	        {"P384-SHA384", "EC_POINT_mul P-384", NID_secp384r1},
	        {"P521-SHA512", "EC_POINT_mul P-521", NID_secp521r1},
	};
	size_t i = 0;
	while (i < sizeof(curves) / sizeof(curves[0]) &&
	       (suite == NULL || strcmp(curves[i].suite, suite) != 0))
		i++;
	if (i == sizeof(curves) / sizeof(curves[0]))
		return NULL;
	bench_suite_floor *f = calloc(1, sizeof(*f));
	if (f == NULL)
		fail("out of memory");
	f->operation = curves[i].operation;
	if (curves[i].nid == NID_undef)
		bench_floor_init(&f->ristretto);
	else
		ec_init(f, curves[i].nid);
	return f;
}

void
bench_suite_floor_free(bench_suite_floor *f)
{
	if (f == NULL)
		return;
	if (f->group != NULL) {
		for (size_t i = 0; i < BENCH_FLOOR_PAIRS; i++) {
			BN_clear_free(f->scalars[i]);
			EC_POINT_free(f->points[i]);
		}
		EC_POINT_free(f->product);
		BN_CTX_free(f->ctx);
		EC_GROUP_free(f->group);
	}
	sodium_memzero(&f->ristretto, sizeof(f->ristretto));
	free(f);
}

const char *
bench_suite_floor_operation(const bench_suite_floor *f)
{
	return f->operation;
}

bench_work
bench_suite_floor_work(bench_suite_floor *f)
{
	if (f->group == NULL)
		return bench_floor_work(&f->ristretto);
	return (bench_work){ec_call, f, 1};
}

/*
 * RFC 9497 OPRF, VOPRF and POPRF over the group interface of group.h.
 * Function and variable names follow the RFC's pseudocode where they can,
 * so that the two read side by side.
 */
#include "oprf.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "group.h"
#include "hash.h"

struct oprf_suite {
	const char *identifier;
	const group *group;
	const hash_alg *hash; /* the suite's Hash: Finalize and the composite seed */
};

static const oprf_suite suites[] = {
        {"ristretto255-SHA512", &group_ristretto255, &hash_sha512},
        {"P256-SHA256", &group_p256, &hash_sha256},
        {"P384-SHA384", &group_p384, &hash_sha384},
        {"P521-SHA512", &group_p521, &hash_sha512},
};

/* "HashToScalar-" is the longest DST prefix; identifiers stay short. */
#define CONTEXT_MAX 64
#define DST_MAX     (sizeof("HashToScalar-") - 1 + CONTEXT_MAX)

typedef struct dst {
	uint8_t bytes[DST_MAX];
	size_t len;
} dst;

struct oprf_ctx {
	const oprf_suite *suite;
	oprf_mode mode;
	dst context;         /* "OPRFV1-" || I2OSP(mode, 1) || "-" || identifier */
	dst hash_to_group;   /* "HashToGroup-" || context */
	dst hash_to_scalar;  /* "HashToScalar-" || context */
	dst derive_key_pair; /* "DeriveKeyPair" || context */
	dst seed;            /* "Seed-" || context */
};

struct oprf_key {
	const oprf_suite *suite;
	uint8_t sk[OPRF_MAX_SCALAR_SIZE];
	uint8_t pk[OPRF_MAX_ELEMENT_SIZE];
};

/* Largest transcripts hashed to scalars in the proof code. */
#define COMPOSITE_TRANSCRIPT_MAX                                                                   \
	(2 + OPRF_MAX_HASH_SIZE + 2 + 2 * (2 + OPRF_MAX_ELEMENT_SIZE) + sizeof("Composite") - 1)
#define CHALLENGE_TRANSCRIPT_MAX (5 * (2 + OPRF_MAX_ELEMENT_SIZE) + sizeof("Challenge") - 1)

veil_err
veil_crypto_init(void)
{
	return sodium_init() < 0 ? VEIL_ERR_CRYPTO : VEIL_OK;
}

const oprf_suite *
oprf_suite_by_name(const char *identifier)
{
	if (identifier == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (strcmp(suites[i].identifier, identifier) == 0)
			return &suites[i];
	return NULL;
}

const char *
oprf_suite_name(const oprf_suite *suite)
{
	return suite->identifier;
}

size_t
oprf_suite_element_size(const oprf_suite *suite)
{
	return suite->group->element_size;
}

size_t
oprf_suite_scalar_size(const oprf_suite *suite)
{
	return suite->group->scalar_size;
}

size_t
oprf_suite_output_size(const oprf_suite *suite)
{
	return suite->hash->output_size;
}

size_t
oprf_suite_proof_size(const oprf_suite *suite)
{
	return 2 * suite->group->scalar_size;
}

/* ---- contexts ---- */

static void
dst_set(dst *d, const char *prefix, const dst *suffix)
{
	const size_t prefix_len = strlen(prefix);
	memcpy(d->bytes, prefix, prefix_len);
	memcpy(d->bytes + prefix_len, suffix->bytes, suffix->len);
	d->len = prefix_len + suffix->len;
}

void
oprf_ctx_free(oprf_ctx *ctx)
{
	free(ctx);
}

veil_err
oprf_ctx_new(const oprf_suite *suite, oprf_mode mode, oprf_ctx **out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (suite == NULL)
		return VEIL_ERR_ARGUMENT;
	if (mode != OPRF_MODE_OPRF && mode != OPRF_MODE_VOPRF && mode != OPRF_MODE_POPRF)
		return VEIL_ERR_UNSUPPORTED;
	const size_t id_len = strlen(suite->identifier);
	if (sizeof("OPRFV1-") - 1 + 2 + id_len > CONTEXT_MAX)
		return VEIL_ERR_UNSUPPORTED;

	oprf_ctx *ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return VEIL_ERR_NOMEM;
	ctx->suite = suite;
	ctx->mode = mode;
	uint8_t *c = ctx->context.bytes;
	memcpy(c, "OPRFV1-", 7);
	c[7] = (uint8_t)mode;
	c[8] = '-';
	memcpy(c + 9, suite->identifier, id_len);
	ctx->context.len = 9 + id_len;
	dst_set(&ctx->hash_to_group, "HashToGroup-", &ctx->context);
	dst_set(&ctx->hash_to_scalar, "HashToScalar-", &ctx->context);
	dst_set(&ctx->derive_key_pair, "DeriveKeyPair", &ctx->context);
	dst_set(&ctx->seed, "Seed-", &ctx->context);
	*out = ctx;
	return VEIL_OK;
}

const oprf_suite *
oprf_ctx_suite(const oprf_ctx *ctx)
{
	return ctx->suite;
}

oprf_mode
oprf_ctx_mode(const oprf_ctx *ctx)
{
	return ctx->mode;
}

/* ---- keys ---- */

static veil_err
key_alloc(const oprf_suite *suite, oprf_key **out)
{
	oprf_key *key = sodium_malloc(sizeof(*key));
	if (key == NULL)
		return VEIL_ERR_NOMEM;
	memset(key, 0, sizeof(*key));
	key->suite = suite;
	*out = key;
	return VEIL_OK;
}

/* Completes a key whose sk is set: derives pk, then seals the page. */
static veil_err
key_finish(oprf_key *key, oprf_key **out)
{
	veil_err err = key->suite->group->scalar_mult_base(key->pk, key->sk);
	if (err != VEIL_OK) {
		oprf_key_free(key);
		return err;
	}
	sodium_mprotect_readonly(key);
	*out = key;
	return VEIL_OK;
}

veil_err
oprf_key_derive(const oprf_ctx *ctx, const uint8_t *seed, size_t seed_len, const uint8_t *info,
                size_t info_len, oprf_key **out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (ctx == NULL || seed == NULL || (info == NULL && info_len != 0))
		return VEIL_ERR_ARGUMENT;
	const group *g = ctx->suite->group;
	if (seed_len < OPRF_MIN_SEED_SIZE || seed_len > g->scalar_size)
		return VEIL_ERR_ARGUMENT;
	if (info_len > OPRF_MAX_INFO_SIZE)
		return VEIL_ERR_LIMIT;

	/* deriveInput = seed || I2OSP(len(info), 2) || info, then a counter byte. */
	const size_t input_len = seed_len + 2 + info_len + 1;
	uint8_t *derive_input = malloc(input_len);
	if (derive_input == NULL)
		return VEIL_ERR_NOMEM;
	memcpy(derive_input, seed, seed_len);
	derive_input[seed_len] = (uint8_t)(info_len >> 8);
	derive_input[seed_len + 1] = (uint8_t)info_len;
	if (info_len != 0)
		memcpy(derive_input + seed_len + 2, info, info_len);

	oprf_key *key = NULL;
	veil_err err = key_alloc(ctx->suite, &key);
	if (err != VEIL_OK)
		goto out;
	err = VEIL_ERR_DERIVE_KEY_PAIR;
	for (unsigned counter = 0; counter <= 255; counter++) {
		derive_input[input_len - 1] = (uint8_t)counter;
		veil_err hash_err =
		        g->hash_to_scalar(key->sk, derive_input, input_len,
		                          ctx->derive_key_pair.bytes, ctx->derive_key_pair.len);
		if (hash_err != VEIL_OK) {
			err = hash_err;
			break;
		}
		if (!g->scalar_is_zero(key->sk)) {
			err = VEIL_OK;
			break;
		}
	}
	if (err != VEIL_OK) {
		oprf_key_free(key);
		goto out;
	}
	err = key_finish(key, out);
out:
	sodium_memzero(derive_input, input_len);
	free(derive_input);
	return err;
}

veil_err
oprf_key_generate(const oprf_suite *suite, oprf_key **out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (suite == NULL)
		return VEIL_ERR_ARGUMENT;
	oprf_key *key = NULL;
	veil_err err = key_alloc(suite, &key);
	if (err != VEIL_OK)
		return err;
	suite->group->scalar_random(key->sk);
	return key_finish(key, out);
}

veil_err
oprf_key_import(const oprf_suite *suite, const uint8_t *sk, oprf_key **out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (suite == NULL || sk == NULL)
		return VEIL_ERR_ARGUMENT;
	const group *g = suite->group;
	if (g->scalar_check(sk) != VEIL_OK || g->scalar_is_zero(sk))
		return VEIL_ERR_SCALAR;
	oprf_key *key = NULL;
	veil_err err = key_alloc(suite, &key);
	if (err != VEIL_OK)
		return err;
	memcpy(key->sk, sk, g->scalar_size);
	return key_finish(key, out);
}

void
oprf_key_export_secret(const oprf_key *key, uint8_t *sk_out)
{
	memcpy(sk_out, key->sk, key->suite->group->scalar_size);
}

void
oprf_key_public(const oprf_key *key, uint8_t *pk_out)
{
	memcpy(pk_out, key->pk, key->suite->group->element_size);
}

const oprf_suite *
oprf_key_suite(const oprf_key *key)
{
	return key->suite;
}

veil_err
oprf_element_check(const oprf_suite *suite, const uint8_t *element)
{
	if (suite == NULL || element == NULL)
		return VEIL_ERR_ARGUMENT;
	return suite->group->element_check(element);
}

void
oprf_key_free(oprf_key *key)
{
	/* sodium_free makes the page writable, wipes it and unmaps it. */
	if (key != NULL)
		sodium_free(key);
}

/* ---- shared steps ---- */

/* HashToGroup(input), failing with InvalidInputError on the identity. */
static veil_err
hash_input_to_group(const oprf_ctx *ctx, const uint8_t *input, size_t input_len, uint8_t *element)
{
	const group *g = ctx->suite->group;
	veil_err err = g->hash_to_group(element, input, input_len, ctx->hash_to_group.bytes,
	                                ctx->hash_to_group.len);
	if (err != VEIL_OK)
		return err;
	if (g->element_is_identity(element))
		return VEIL_ERR_INVALID_INPUT;
	return VEIL_OK;
}

static veil_err
hash_to_scalar(const oprf_ctx *ctx, const uint8_t *msg, size_t len, uint8_t *scalar)
{
	return ctx->suite->group->hash_to_scalar(scalar, msg, len, ctx->hash_to_scalar.bytes,
	                                         ctx->hash_to_scalar.len);
}

/* m = HashToScalar("Info" || I2OSP(len(info), 2) || info), the POPRF tweak. */
static veil_err
info_tweak(const oprf_ctx *ctx, const uint8_t *info, size_t info_len, uint8_t *m)
{
	uint8_t *framed = malloc(4 + 2 + info_len);
	if (framed == NULL)
		return VEIL_ERR_NOMEM;
	memcpy(framed, "Info", 4);
	framed[4] = (uint8_t)(info_len >> 8);
	framed[5] = (uint8_t)info_len;
	if (info_len != 0)
		memcpy(framed + 6, info, info_len);
	veil_err err = hash_to_scalar(ctx, framed, 6 + info_len, m);
	free(framed);
	return err;
}

/*
 * The POPRF's tweaked secret, t = skS + m, and its inverse (VEIL_ERR_INVERSE
 * when t is zero). Both are secret: the caller wipes them.
 */
static veil_err
tweaked_secret(const oprf_ctx *ctx, const oprf_key *key, const uint8_t *info, size_t info_len,
               uint8_t *t, uint8_t *t_inverse)
{
	const group *g = ctx->suite->group;
	uint8_t m[OPRF_MAX_SCALAR_SIZE];
	veil_err err = info_tweak(ctx, info, info_len, m);
	if (err != VEIL_OK)
		return err;
	g->scalar_add(t, key->sk, m);
	return g->scalar_invert(t_inverse, t) == VEIL_OK ? VEIL_OK : VEIL_ERR_INVERSE;
}

/*
 * Finalize's hash: I2OSP(len(input), 2) || input || [I2OSP(len(info), 2)
 * || info, POPRF only] || I2OSP(Ne, 2) || element || "Finalize".
 */
static void
finalize_hash(const oprf_ctx *ctx, const uint8_t *input, size_t input_len, const uint8_t *info,
              size_t info_len, const uint8_t *element, uint8_t *output)
{
	const hash_alg *h = ctx->suite->hash;
	hash_state state;

	h->init(&state);
	hash_update_prefixed(h, &state, input, input_len);
	if (ctx->mode == OPRF_MODE_POPRF)
		hash_update_prefixed(h, &state, info, info_len);
	hash_update_prefixed(h, &state, element, ctx->suite->group->element_size);
	h->update(&state, (const uint8_t *)"Finalize", 8);
	h->final(&state, output);
}

static uint8_t *
put_prefixed(uint8_t *p, const uint8_t *data, size_t len)
{
	p[0] = (uint8_t)(len >> 8);
	p[1] = (uint8_t)len;
	memcpy(p + 2, data, len);
	return p + 2 + len;
}

/*
 * ComputeComposites (z_scalar NULL: the verifier's form, Z = sum d_i D_i)
 * and ComputeCompositesFast (z_scalar = k: Z = k * M), RFC 9497 2.2.1-2.
 * B is the public key the proof is about, C and D the element batches.
 *
 * M = sum d_i C_i (and the verifier's Z) is one multi-scalar
 * multiplication where the group has one: it is variable time, which is
 * safe because the weights d_i and the elements are all public (hashes of
 * B, C and D). The prover's Z = k * M involves the secret key and stays
 * the group's constant-time scalar_mult.
 */
static veil_err
compute_composites(const oprf_ctx *ctx, const uint8_t *z_scalar, const uint8_t *B, size_t count,
                   const uint8_t *C, const uint8_t *D, uint8_t *M, uint8_t *Z)
{
	const group *g = ctx->suite->group;
	const hash_alg *h = ctx->suite->hash;
	const size_t ne = g->element_size, ns = g->scalar_size;
	uint8_t seed[OPRF_MAX_HASH_SIZE];
	uint8_t transcript[COMPOSITE_TRANSCRIPT_MAX];
	uint8_t term[OPRF_MAX_ELEMENT_SIZE];
	hash_state state;
	veil_err err = VEIL_OK;

	/* count <= OPRF_MAX_BATCH: no overflow. */
	uint8_t *d = malloc(count * ns);
	if (d == NULL)
		return VEIL_ERR_NOMEM;

	/* seed = Hash(I2OSP(len(Bm), 2) || Bm || I2OSP(len(seedDST), 2) || seedDST) */
	h->init(&state);
	hash_update_prefixed(h, &state, B, ne);
	hash_update_prefixed(h, &state, ctx->seed.bytes, ctx->seed.len);
	h->final(&state, seed);

	/* The transcript's head, I2OSP(len(seed), 2) || seed, is the same for every i. */
	uint8_t *const per_item = put_prefixed(transcript, seed, h->output_size);
	for (size_t i = 0; i < count; i++) {
		uint8_t *p = per_item;
		*p++ = (uint8_t)(i >> 8);
		*p++ = (uint8_t)i;
		p = put_prefixed(p, C + i * ne, ne);
		p = put_prefixed(p, D + i * ne, ne);
		memcpy(p, "Composite", 9);
		p += 9;
		err = hash_to_scalar(ctx, transcript, (size_t)(p - transcript), d + i * ns);
		if (err != VEIL_OK)
			goto out;
	}

	if (g->multi_scalar_mult != NULL) {
		if ((err = g->multi_scalar_mult(M, d, C, count)) != VEIL_OK)
			goto out;
		if (z_scalar == NULL && (err = g->multi_scalar_mult(Z, d, D, count)) != VEIL_OK)
			goto out;
	} else {
		/* M = d_i * C_i + M, starting from the first term rather than
		 * the identity; likewise Z in the verifier's form. */
		for (size_t i = 0; i < count; i++) {
			const uint8_t *di = d + i * ns, *Ci = C + i * ne, *Di = D + i * ne;
			if ((err = g->scalar_mult(i == 0 ? M : term, di, Ci)) != VEIL_OK)
				goto out;
			if (i > 0 && (err = g->element_add(M, term, M)) != VEIL_OK)
				goto out;
			if (z_scalar == NULL) {
				if ((err = g->scalar_mult(i == 0 ? Z : term, di, Di)) != VEIL_OK)
					goto out;
				if (i > 0 && (err = g->element_add(Z, term, Z)) != VEIL_OK)
					goto out;
			}
		}
	}
	/* Constant time: z_scalar is the secret key (or the POPRF's t). */
	if (z_scalar != NULL)
		err = g->scalar_mult(Z, z_scalar, M);
out:
	sodium_memzero(d, count * ns);
	free(d);
	sodium_memzero(term, sizeof(term));
	return err;
}

/*
 * c = HashToScalar(I2OSP(Ne, 2) || B || ... M, Z, t2, t3 ... || "Challenge")
 */
static veil_err
challenge(const oprf_ctx *ctx, const uint8_t *B, const uint8_t *M, const uint8_t *Z,
          const uint8_t *t2, const uint8_t *t3, uint8_t *c)
{
	const size_t ne = ctx->suite->group->element_size;
	uint8_t transcript[CHALLENGE_TRANSCRIPT_MAX];
	uint8_t *p = transcript;

	p = put_prefixed(p, B, ne);
	p = put_prefixed(p, M, ne);
	p = put_prefixed(p, Z, ne);
	p = put_prefixed(p, t2, ne);
	p = put_prefixed(p, t3, ne);
	memcpy(p, "Challenge", 9);
	p += 9;
	return hash_to_scalar(ctx, transcript, (size_t)(p - transcript), c);
}

/* Fresh bytes mixed into every hedged proof nonce. */
#define HEDGE_RANDOM_SIZE 32
#define HEDGE_TRANSCRIPT_MAX                                                                       \
	(2 + OPRF_MAX_SCALAR_SIZE + 3 * (2 + OPRF_MAX_ELEMENT_SIZE) + 2 + HEDGE_RANDOM_SIZE +      \
	 sizeof("HedgedNonce") - 1)

/*
 * The hedged nonce of a proof: r = HashToScalar(I2OSP(Ns, 2) || k ||
 * I2OSP(Ne, 2) || B || I2OSP(Ne, 2) || M || I2OSP(Ne, 2) || Z ||
 * I2OSP(32, 2) || random || "HedgedNonce"), with 32 fresh random bytes,
 * drawn again in the negligible case of a zero r. A broken random source
 * then still gives distinct nonces for distinct statements under one key,
 * and the same statement never gets a predictable nonce from k alone.
 */
static veil_err
hedged_nonce(const oprf_ctx *ctx, const uint8_t *k, const uint8_t *B, const uint8_t *M,
             const uint8_t *Z, uint8_t *r)
{
	const group *g = ctx->suite->group;
	const size_t ne = g->element_size;
	uint8_t transcript[HEDGE_TRANSCRIPT_MAX];
	uint8_t random[HEDGE_RANDOM_SIZE];
	veil_err err;

	do {
		randombytes_buf(random, sizeof(random));
		uint8_t *p = put_prefixed(transcript, k, g->scalar_size);
		p = put_prefixed(p, B, ne);
		p = put_prefixed(p, M, ne);
		p = put_prefixed(p, Z, ne);
		p = put_prefixed(p, random, sizeof(random));
		memcpy(p, "HedgedNonce", 11);
		p += 11;
		err = hash_to_scalar(ctx, transcript, (size_t)(p - transcript), r);
	} while (err == VEIL_OK && g->scalar_is_zero(r));
	sodium_memzero(transcript, sizeof(transcript));
	sodium_memzero(random, sizeof(random));
	return err;
}

/*
 * GenerateProof(k, G, B, C, D) with A the generator: proof = c || s where
 * s = r - c * k. r is the caller's (already validated) or hedged_nonce's.
 */
static veil_err
generate_proof(const oprf_ctx *ctx, const uint8_t *k, const uint8_t *B, size_t count,
               const uint8_t *C, const uint8_t *D, const uint8_t *r_in, uint8_t *proof)
{
	const group *g = ctx->suite->group;
	const size_t ns = g->scalar_size;
	uint8_t M[OPRF_MAX_ELEMENT_SIZE], Z[OPRF_MAX_ELEMENT_SIZE];
	uint8_t t2[OPRF_MAX_ELEMENT_SIZE], t3[OPRF_MAX_ELEMENT_SIZE];
	uint8_t r[OPRF_MAX_SCALAR_SIZE], ck[OPRF_MAX_SCALAR_SIZE];
	veil_err err;

	if ((err = compute_composites(ctx, k, B, count, C, D, M, Z)) != VEIL_OK)
		goto out;
	if (r_in != NULL)
		memcpy(r, r_in, ns);
	else if ((err = hedged_nonce(ctx, k, B, M, Z, r)) != VEIL_OK)
		goto out;
	if ((err = g->scalar_mult_base(t2, r)) != VEIL_OK)
		goto out;
	if ((err = g->scalar_mult(t3, r, M)) != VEIL_OK)
		goto out;
	if ((err = challenge(ctx, B, M, Z, t2, t3, proof)) != VEIL_OK)
		goto out;
	g->scalar_mul(ck, proof, k);
	g->scalar_sub(proof + ns, r, ck);
out:
	sodium_memzero(r, sizeof(r));
	sodium_memzero(ck, sizeof(ck));
	sodium_memzero(t3, sizeof(t3));
	return err;
}

/*
 * Whether err is the group's library failing (memory, an internal error,
 * a lock) rather than a verdict on the input: such errors pass through as
 * they are, never turned into a failed proof or an invalid input.
 */
static int
resource_failure(veil_err err)
{
	return err == VEIL_ERR_NOMEM || err == VEIL_ERR_CRYPTO || err == VEIL_ERR_SYSTEM;
}

/* VerifyProof(G, B, C, D, proof): VEIL_OK or VEIL_ERR_VERIFY (and
 * VEIL_ERR_ELEMENT for an invalid element, or a resource_failure). */
static veil_err
verify_proof(const oprf_ctx *ctx, const uint8_t *B, size_t count, const uint8_t *C,
             const uint8_t *D, const uint8_t *proof)
{
	const group *g = ctx->suite->group;
	const size_t ns = g->scalar_size;
	const uint8_t *c = proof, *s = proof + ns;
	uint8_t M[OPRF_MAX_ELEMENT_SIZE], Z[OPRF_MAX_ELEMENT_SIZE];
	uint8_t t2[OPRF_MAX_ELEMENT_SIZE], t3[OPRF_MAX_ELEMENT_SIZE];
	uint8_t term[OPRF_MAX_ELEMENT_SIZE];
	uint8_t expected_c[OPRF_MAX_SCALAR_SIZE];

	if (g->scalar_check(c) != VEIL_OK || g->scalar_check(s) != VEIL_OK)
		return VEIL_ERR_VERIFY;
	veil_err err = compute_composites(ctx, NULL, B, count, C, D, M, Z);
	if (err != VEIL_OK)
		return err == VEIL_ERR_ELEMENT || resource_failure(err) ? err : VEIL_ERR_VERIFY;
	/* t2 = s * G + c * B; t3 = s * M + c * Z. A zero s or c makes a term
	 * the identity, which an honest prover produces with negligible
	 * probability: treat it as a failed proof. */
	if ((err = g->scalar_mult_base(t2, s)) != VEIL_OK ||
	    (err = g->scalar_mult(term, c, B)) != VEIL_OK ||
	    (err = g->element_add(t2, t2, term)) != VEIL_OK ||
	    (err = g->scalar_mult(t3, s, M)) != VEIL_OK ||
	    (err = g->scalar_mult(term, c, Z)) != VEIL_OK ||
	    (err = g->element_add(t3, t3, term)) != VEIL_OK ||
	    (err = challenge(ctx, B, M, Z, t2, t3, expected_c)) != VEIL_OK)
		return resource_failure(err) ? err : VEIL_ERR_VERIFY;
	return sodium_memcmp(expected_c, c, ns) == 0 ? VEIL_OK : VEIL_ERR_VERIFY;
}

/* ---- the protocol ---- */

veil_err
oprf_blind(const oprf_ctx *ctx, const uint8_t *input, size_t input_len, const uint8_t *blind_in,
           uint8_t *blind_out, uint8_t *blinded_out)
{
	if (ctx == NULL || blind_out == NULL || blinded_out == NULL ||
	    (input == NULL && input_len != 0))
		return VEIL_ERR_ARGUMENT;
	const group *g = ctx->suite->group;
	uint8_t element[OPRF_MAX_ELEMENT_SIZE];
	veil_err err;

	if (input_len > OPRF_MAX_INPUT_SIZE) {
		err = VEIL_ERR_LIMIT;
		goto out;
	}
	if (blind_in != NULL) {
		if (g->scalar_check(blind_in) != VEIL_OK || g->scalar_is_zero(blind_in)) {
			err = VEIL_ERR_SCALAR;
			goto out;
		}
		memmove(blind_out, blind_in, g->scalar_size);
	} else {
		g->scalar_random(blind_out);
	}
	if ((err = hash_input_to_group(ctx, input, input_len, element)) != VEIL_OK)
		goto out;
	err = g->scalar_mult(blinded_out, blind_out, element);
out:
	if (err != VEIL_OK) {
		sodium_memzero(blind_out, g->scalar_size);
		sodium_memzero(blinded_out, g->element_size);
	}
	sodium_memzero(element, sizeof(element));
	return err;
}

veil_err
oprf_blind_evaluate(const oprf_ctx *ctx, const oprf_key *key, const uint8_t *info, size_t info_len,
                    size_t count, const uint8_t *blinded, uint8_t *evaluated_out,
                    const uint8_t *proof_random_scalar, uint8_t *proof_out)
{
	if (ctx == NULL || key == NULL || blinded == NULL || evaluated_out == NULL ||
	    key->suite != ctx->suite || (info == NULL && info_len != 0))
		return VEIL_ERR_ARGUMENT;
	const int verifiable = ctx->mode != OPRF_MODE_OPRF;
	if (verifiable ? proof_out == NULL : (proof_out != NULL || proof_random_scalar != NULL))
		return VEIL_ERR_ARGUMENT;
	if (count == 0 || count > OPRF_MAX_BATCH || info_len > OPRF_MAX_INFO_SIZE)
		return VEIL_ERR_LIMIT;

	const group *g = ctx->suite->group;
	const size_t ne = g->element_size, ns = g->scalar_size;
	uint8_t t[OPRF_MAX_SCALAR_SIZE], t_inverse[OPRF_MAX_SCALAR_SIZE];
	uint8_t tweaked_key[OPRF_MAX_ELEMENT_SIZE];
	veil_err err = VEIL_OK;

	if (proof_random_scalar != NULL && (g->scalar_check(proof_random_scalar) != VEIL_OK ||
	                                    g->scalar_is_zero(proof_random_scalar))) {
		err = VEIL_ERR_SCALAR;
		goto out;
	}

	if (ctx->mode != OPRF_MODE_POPRF) {
		for (size_t i = 0; i < count && err == VEIL_OK; i++)
			err = g->scalar_mult(evaluated_out + i * ne, key->sk, blinded + i * ne);
		if (err != VEIL_OK)
			goto out;
		if (verifiable)
			err = generate_proof(ctx, key->sk, key->pk, count, blinded, evaluated_out,
			                     proof_random_scalar, proof_out);
		goto out;
	}

	/* POPRF: t = skS + m, evaluated = t^-1 * blinded, proved against t * G
	 * with the roles of C and D swapped. */
	if ((err = tweaked_secret(ctx, key, info, info_len, t, t_inverse)) != VEIL_OK)
		goto out;
	for (size_t i = 0; i < count && err == VEIL_OK; i++)
		err = g->scalar_mult(evaluated_out + i * ne, t_inverse, blinded + i * ne);
	if (err != VEIL_OK)
		goto out;
	if ((err = g->scalar_mult_base(tweaked_key, t)) != VEIL_OK)
		goto out;
	err = generate_proof(ctx, t, tweaked_key, count, evaluated_out, blinded,
	                     proof_random_scalar, proof_out);
out:
	if (err != VEIL_OK) {
		sodium_memzero(evaluated_out, count <= OPRF_MAX_BATCH ? count * ne : 0);
		if (proof_out != NULL)
			sodium_memzero(proof_out, 2 * ns);
	}
	sodium_memzero(t, sizeof(t));
	sodium_memzero(t_inverse, sizeof(t_inverse));
	return err;
}

/*
 * Montgomery's trick: inverses_out[i] = scalars[i]^-1 for i < count with
 * one inversion and 3 (count - 1) multiplications. Both are constant time
 * in every group, so the scalars (secret blinds) leak nothing but whether
 * one is zero or not below the order (VEIL_ERR_SCALAR, nothing written).
 * inverses_out (count * Ns bytes) must not overlap scalars.
 */
static veil_err
scalars_invert(const group *g, size_t count, const uint8_t *scalars, uint8_t *inverses_out)
{
	const size_t ns = g->scalar_size;
	uint8_t inverse[OPRF_MAX_SCALAR_SIZE], next[OPRF_MAX_SCALAR_SIZE];
	uint8_t item_inverse[OPRF_MAX_SCALAR_SIZE];
	veil_err err = VEIL_OK;

	for (size_t i = 0; i < count; i++)
		if (g->scalar_check(scalars + i * ns) != VEIL_OK ||
		    g->scalar_is_zero(scalars + i * ns)) {
			err = VEIL_ERR_SCALAR;
			goto out;
		}
	/* inverses_out[i] = scalars[0] * ... * scalars[i], for now */
	memcpy(inverses_out, scalars, ns);
	for (size_t i = 1; i < count; i++)
		g->scalar_mul(inverses_out + i * ns, inverses_out + (i - 1) * ns, scalars + i * ns);
	if ((err = g->scalar_invert(inverse, inverses_out + (count - 1) * ns)) != VEIL_OK)
		goto out;
	/* Down from the last: inverse = (scalars[0] * ... * scalars[i])^-1. */
	for (size_t i = count - 1; i > 0; i--) {
		g->scalar_mul(item_inverse, inverse, inverses_out + (i - 1) * ns);
		g->scalar_mul(next, inverse, scalars + i * ns);
		memcpy(inverse, next, ns);
		memcpy(inverses_out + i * ns, item_inverse, ns);
	}
	memcpy(inverses_out, inverse, ns);
out:
	if (err != VEIL_OK)
		sodium_memzero(inverses_out, count * ns);
	sodium_memzero(inverse, sizeof(inverse));
	sodium_memzero(next, sizeof(next));
	sodium_memzero(item_inverse, sizeof(item_inverse));
	return err;
}

veil_err
oprf_scalar_invert_batch(const oprf_suite *suite, size_t count, const uint8_t *scalars,
                         uint8_t *inverses_out)
{
	if (suite == NULL || scalars == NULL || inverses_out == NULL)
		return VEIL_ERR_ARGUMENT;
	if (count == 0 || count > OPRF_MAX_BATCH)
		return VEIL_ERR_LIMIT;
	const size_t size = count * suite->group->scalar_size;
	if (inverses_out < scalars + size && scalars < inverses_out + size)
		return VEIL_ERR_ARGUMENT; /* nothing written: it would be the scalars */
	return scalars_invert(suite->group, count, scalars, inverses_out);
}

/* Whether each of the count inputs fits: VEIL_OK or VEIL_ERR_LIMIT. */
static veil_err
inputs_check(size_t count, const uint8_t *const inputs[], const size_t input_lens[])
{
	for (size_t i = 0; i < count; i++)
		if ((inputs[i] == NULL && input_lens[i] != 0) ||
		    input_lens[i] > OPRF_MAX_INPUT_SIZE)
			return VEIL_ERR_LIMIT;
	return VEIL_OK;
}

veil_err
oprf_verify_batch(const oprf_ctx *ctx, const uint8_t *pk, const uint8_t *info, size_t info_len,
                  size_t count, const uint8_t *blinded, const uint8_t *evaluated,
                  const uint8_t *proof)
{
	if (ctx == NULL || blinded == NULL || evaluated == NULL || (info == NULL && info_len != 0))
		return VEIL_ERR_ARGUMENT;
	const int verifiable = ctx->mode != OPRF_MODE_OPRF;
	if (verifiable ? (pk == NULL || proof == NULL) : (pk != NULL || proof != NULL))
		return VEIL_ERR_ARGUMENT;
	if (count == 0 || count > OPRF_MAX_BATCH || info_len > OPRF_MAX_INFO_SIZE)
		return VEIL_ERR_LIMIT;

	const group *g = ctx->suite->group;
	const size_t ne = g->element_size;
	uint8_t m[OPRF_MAX_SCALAR_SIZE], tweak[OPRF_MAX_ELEMENT_SIZE];
	uint8_t tweaked_key[OPRF_MAX_ELEMENT_SIZE];
	veil_err err;

	/* VEIL_ERR_ELEMENT for an invalid one; a resource failure (NOMEM,
	 * CRYPTO on the NIST groups) is passed on as it is. With a proof,
	 * its composites check them: their multi-scalar multiplications (or,
	 * in a group without one, the scalar multiplications) refuse every
	 * invalid element and the identity, and verify_proof passes that on
	 * as VEIL_ERR_ELEMENT. */
	if (ctx->mode == OPRF_MODE_OPRF) {
		for (size_t i = 0; i < count; i++)
			if ((err = g->element_check(blinded + i * ne)) != VEIL_OK ||
			    (err = g->element_check(evaluated + i * ne)) != VEIL_OK)
				return err;
		return VEIL_OK;
	}
	if ((err = g->element_check(pk)) != VEIL_OK)
		return err;
	if (ctx->mode == OPRF_MODE_VOPRF)
		return verify_proof(ctx, pk, count, blinded, evaluated, proof);
	/* POPRF: tweakedKey = HashToScalar(framedInfo) * G + pkS */
	if ((err = info_tweak(ctx, info, info_len, m)) != VEIL_OK)
		return err;
	if ((err = g->scalar_mult_base(tweak, m)) != VEIL_OK ||
	    (err = g->element_add(tweaked_key, tweak, pk)) != VEIL_OK ||
	    g->element_is_identity(tweaked_key))
		return resource_failure(err) ? err : VEIL_ERR_INVALID_INPUT;
	return verify_proof(ctx, tweaked_key, count, evaluated, blinded, proof);
}

/* Blinds inverted at once by oprf_finalize_unverified: one inversion per
 * this many items, their inverses on the stack. */
#define FINALIZE_BLOCK 128

veil_err
oprf_finalize_unverified(const oprf_ctx *ctx, const uint8_t *info, size_t info_len, size_t count,
                         const uint8_t *const inputs[], const size_t input_lens[],
                         const uint8_t *blinds, const uint8_t *evaluated, uint8_t *outputs_out)
{
	if (ctx == NULL || inputs == NULL || input_lens == NULL || blinds == NULL ||
	    evaluated == NULL || outputs_out == NULL || (info == NULL && info_len != 0))
		return VEIL_ERR_ARGUMENT;
	if (count == 0 || count > OPRF_MAX_BATCH || info_len > OPRF_MAX_INFO_SIZE)
		return VEIL_ERR_LIMIT;

	const group *g = ctx->suite->group;
	const size_t ne = g->element_size, ns = g->scalar_size, nh = ctx->suite->hash->output_size;
	uint8_t inverses[FINALIZE_BLOCK * OPRF_MAX_SCALAR_SIZE];
	uint8_t unblinded[OPRF_MAX_ELEMENT_SIZE];
	veil_err err;

	if ((err = inputs_check(count, inputs, input_lens)) != VEIL_OK)
		goto out;
	for (size_t at = 0; at < count; at += FINALIZE_BLOCK) {
		const size_t n = count - at < FINALIZE_BLOCK ? count - at : FINALIZE_BLOCK;
		if ((err = scalars_invert(g, n, blinds + at * ns, inverses)) != VEIL_OK)
			goto out;
		for (size_t i = at; i < at + n; i++) {
			/* The multiplication validates the server's element. */
			if ((err = g->scalar_mult(unblinded, inverses + (i - at) * ns,
			                          evaluated + i * ne)) != VEIL_OK)
				goto out;
			finalize_hash(ctx, inputs[i], input_lens[i], info, info_len, unblinded,
			              outputs_out + i * nh);
		}
	}
out:
	if (err != VEIL_OK)
		sodium_memzero(outputs_out, count * nh);
	sodium_memzero(inverses, sizeof(inverses));
	sodium_memzero(unblinded, sizeof(unblinded));
	return err;
}

veil_err
oprf_finalize(const oprf_ctx *ctx, const uint8_t *pk, const uint8_t *info, size_t info_len,
              size_t count, const uint8_t *const inputs[], const size_t input_lens[],
              const uint8_t *blinds, const uint8_t *blinded, const uint8_t *evaluated,
              const uint8_t *proof, uint8_t *outputs_out)
{
	if (ctx == NULL || inputs == NULL || input_lens == NULL || blinds == NULL ||
	    blinded == NULL || evaluated == NULL || outputs_out == NULL ||
	    (info == NULL && info_len != 0))
		return VEIL_ERR_ARGUMENT;
	const int verifiable = ctx->mode != OPRF_MODE_OPRF;
	if (verifiable ? (pk == NULL || proof == NULL) : (pk != NULL || proof != NULL))
		return VEIL_ERR_ARGUMENT;
	if (count == 0 || count > OPRF_MAX_BATCH || info_len > OPRF_MAX_INFO_SIZE)
		return VEIL_ERR_LIMIT;

	veil_err err = inputs_check(count, inputs, input_lens);
	if (err == VEIL_OK)
		err = oprf_verify_batch(ctx, pk, info, info_len, count, blinded, evaluated, proof);
	if (err == VEIL_OK)
		err = oprf_finalize_unverified(ctx, info, info_len, count, inputs, input_lens,
		                               blinds, evaluated, outputs_out);
	if (err != VEIL_OK)
		sodium_memzero(outputs_out, count * ctx->suite->hash->output_size);
	return err;
}

veil_err
oprf_evaluate(const oprf_ctx *ctx, const oprf_key *key, const uint8_t *info, size_t info_len,
              const uint8_t *input, size_t input_len, uint8_t *output_out)
{
	if (ctx == NULL || key == NULL || output_out == NULL || key->suite != ctx->suite ||
	    (input == NULL && input_len != 0) || (info == NULL && info_len != 0))
		return VEIL_ERR_ARGUMENT;
	const group *g = ctx->suite->group;
	uint8_t element[OPRF_MAX_ELEMENT_SIZE], evaluated[OPRF_MAX_ELEMENT_SIZE];
	uint8_t t[OPRF_MAX_SCALAR_SIZE], t_inverse[OPRF_MAX_SCALAR_SIZE];
	veil_err err;

	if (input_len > OPRF_MAX_INPUT_SIZE || info_len > OPRF_MAX_INFO_SIZE) {
		err = VEIL_ERR_LIMIT;
		goto out;
	}
	if ((err = hash_input_to_group(ctx, input, input_len, element)) != VEIL_OK)
		goto out;
	if (ctx->mode != OPRF_MODE_POPRF) {
		err = g->scalar_mult(evaluated, key->sk, element);
	} else {
		if ((err = tweaked_secret(ctx, key, info, info_len, t, t_inverse)) != VEIL_OK)
			goto out;
		err = g->scalar_mult(evaluated, t_inverse, element);
	}
	if (err == VEIL_OK)
		finalize_hash(ctx, input, input_len, info, info_len, evaluated, output_out);
out:
	if (err != VEIL_OK)
		sodium_memzero(output_out, ctx->suite->hash->output_size);
	sodium_memzero(element, sizeof(element));
	sodium_memzero(evaluated, sizeof(evaluated));
	sodium_memzero(t, sizeof(t));
	sodium_memzero(t_inverse, sizeof(t_inverse));
	return err;
}

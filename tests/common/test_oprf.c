/*
 * RFC 9497 OPRF, VOPRF and POPRF: every vector of every suite this build
 * serves byte for byte (ristretto255-SHA512, P256-SHA256, P384-SHA384,
 * P521-SHA512), then the failures the RFC requires: on ristretto255-SHA512
 * in depth, and the input checks on each NIST suite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "oprf.h"
#include "vectors.h"

#define SUITE     "ristretto255-SHA512"
#define NE        32
#define NS        32
#define NH        64
#define MAX_BATCH 8

/* L, the group order, little-endian, and L + 1. */
static const uint8_t order[NS] = {
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
        0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};
static const uint8_t order_plus_one[NS] = {
        0xee, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
        0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};
/* L - 1: the largest valid scalar. */
static const uint8_t order_minus_one[NS] = {
        0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
        0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

static const oprf_suite *
suite(void)
{
	const oprf_suite *s = oprf_suite_by_name(SUITE);
	if (s == NULL)
		abort();
	return s;
}

static oprf_ctx *
ctx_for(oprf_mode mode)
{
	oprf_ctx *ctx = NULL;
	if (oprf_ctx_new(suite(), mode, &ctx) != VEIL_OK)
		abort();
	return ctx;
}

/* ---- RFC 9497's vectors, every suite this build serves ---- */

static uint8_t *
hex_field(const json_value *obj, const char *key, size_t want_len)
{
	size_t len;
	const char *hex = vectors_string(obj, key);
	if (hex == NULL)
		abort();
	uint8_t *b = vectors_hex(hex, &len);
	if (want_len != 0 && len != want_len)
		abort();
	return b;
}

/* Copies a comma-separated list of fixed-size items into a flat array. */
static size_t
flat_list(const json_value *obj, const char *key, uint8_t *flat, size_t item_size)
{
	uint8_t *items[MAX_BATCH];
	size_t lens[MAX_BATCH];
	const size_t n = vectors_hex_list(vectors_string(obj, key), items, lens, MAX_BATCH);
	for (size_t i = 0; i < n; i++) {
		if (lens[i] != item_size)
			abort();
		memcpy(flat + i * item_size, items[i], item_size);
	}
	vectors_free_list(items, n);
	return n;
}

/* CHECK_BYTES that also says whether the bytes matched. */
static int
same(const uint8_t *got, const uint8_t *want, size_t n)
{
	CHECK_BYTES(got, want, n);
	return memcmp(got, want, n) == 0;
}

/* Runs one vector (a batch) of a suite/mode block; 1 when all of it matched. */
static int
check_vector(oprf_ctx *ctx, const oprf_key *key, const uint8_t *pk, const json_value *vec)
{
	const oprf_suite *s = oprf_ctx_suite(ctx);
	const oprf_mode mode = oprf_ctx_mode(ctx);
	const size_t ne = oprf_suite_element_size(s), ns = oprf_suite_scalar_size(s);
	const size_t nh = oprf_suite_output_size(s), batch = (size_t)vectors_integer(vec, "Batch");
	uint8_t *inputs[MAX_BATCH];
	size_t input_lens[MAX_BATCH], info_len = 0;
	uint8_t blinds[MAX_BATCH * OPRF_MAX_SCALAR_SIZE], blind_used[OPRF_MAX_SCALAR_SIZE];
	uint8_t want_blinded[MAX_BATCH * OPRF_MAX_ELEMENT_SIZE];
	uint8_t want_evaluated[MAX_BATCH * OPRF_MAX_ELEMENT_SIZE];
	uint8_t blinded[MAX_BATCH * OPRF_MAX_ELEMENT_SIZE];
	uint8_t evaluated[MAX_BATCH * OPRF_MAX_ELEMENT_SIZE];
	uint8_t want_output[MAX_BATCH * OPRF_MAX_HASH_SIZE], output[MAX_BATCH * OPRF_MAX_HASH_SIZE];
	uint8_t proof[OPRF_MAX_PROOF_SIZE];
	uint8_t *want_proof = NULL, *proof_random = NULL, *info = NULL;
	int ok = 1;

	const size_t n =
	        vectors_hex_list(vectors_string(vec, "Input"), inputs, input_lens, MAX_BATCH);
	if (n != batch || flat_list(vec, "Blind", blinds, ns) != n ||
	    flat_list(vec, "BlindedElement", want_blinded, ne) != n ||
	    flat_list(vec, "EvaluationElement", want_evaluated, ne) != n ||
	    flat_list(vec, "Output", want_output, nh) != n)
		abort(); /* a broken vector file */
	if (mode != OPRF_MODE_OPRF) {
		const json_value *p = json_object_get(vec, "Proof");
		want_proof = hex_field(p, "proof", 2 * ns);
		proof_random = hex_field(p, "r", ns);
	}
	if (mode == OPRF_MODE_POPRF)
		info = vectors_hex(vectors_string(vec, "Info"), &info_len);

	for (size_t i = 0; i < n; i++) {
		ok &= oprf_blind(ctx, inputs[i], input_lens[i], blinds + i * ns, blind_used,
		                 blinded + i * ne) == VEIL_OK;
		ok &= same(blind_used, blinds + i * ns, ns);
	}
	ok &= same(blinded, want_blinded, n * ne);

	ok &= oprf_blind_evaluate(ctx, key, info, info_len, n, blinded, evaluated, proof_random,
	                          want_proof ? proof : NULL) == VEIL_OK;
	ok &= same(evaluated, want_evaluated, n * ne);
	if (want_proof != NULL)
		ok &= same(proof, want_proof, 2 * ns);

	ok &= oprf_finalize(ctx, mode == OPRF_MODE_OPRF ? NULL : pk, info, info_len, n,
	                    (const uint8_t *const *)inputs, input_lens, blinds, blinded, evaluated,
	                    want_proof ? proof : NULL, output) == VEIL_OK;
	ok &= same(output, want_output, n * nh);

	for (size_t i = 0; i < n; i++) {
		ok &= oprf_evaluate(ctx, key, info, info_len, inputs[i], input_lens[i], output) ==
		      VEIL_OK;
		ok &= same(output, want_output + i * nh, nh);
	}
	CHECK(ok);
	vectors_free_list(inputs, n);
	free(want_proof);
	free(proof_random);
	free(info);
	return ok;
}

/* Runs one suite/mode block of the vector file; returns the vectors that passed. */
static size_t
check_mode_block(const oprf_suite *s, const json_value *block)
{
	const oprf_mode mode = (oprf_mode)vectors_integer(block, "mode");
	const size_t ne = oprf_suite_element_size(s), ns = oprf_suite_scalar_size(s);
	size_t seed_len, info_len, passed = 0;
	uint8_t *seed = vectors_hex(vectors_string(block, "seed"), &seed_len);
	uint8_t *key_info = vectors_hex(vectors_string(block, "keyInfo"), &info_len);
	uint8_t *want_sk = hex_field(block, "skSm", ns);
	uint8_t sk[OPRF_MAX_SCALAR_SIZE], pk[OPRF_MAX_ELEMENT_SIZE];
	oprf_ctx *ctx = NULL;
	oprf_key *key = NULL;

	if (oprf_ctx_new(s, mode, &ctx) != VEIL_OK)
		abort();
	CHECK(oprf_key_derive(ctx, seed, seed_len, key_info, info_len, &key) == VEIL_OK);
	if (key == NULL)
		goto out;
	oprf_key_export_secret(key, sk);
	int key_ok = same(sk, want_sk, ns);
	oprf_key_public(key, pk);
	if (mode != OPRF_MODE_OPRF) {
		uint8_t *want_pk = hex_field(block, "pkSm", ne);
		key_ok &= same(pk, want_pk, ne);
		free(want_pk);
	}

	const json_value *list = json_object_get(block, "vectors");
	for (size_t v = 0; v < json_array_size(list); v++)
		passed += check_vector(ctx, key, pk, json_array_get(list, v)) && key_ok;
out:
	oprf_key_free(key);
	oprf_ctx_free(ctx);
	free(seed);
	free(key_info);
	free(want_sk);
	return passed;
}

/* A suite's vectors: how many each mode has in the file. */
typedef struct vector_row {
	const char *name;
	const char *identifier;
	size_t per_mode[3];
} vector_row;

static const vector_row vector_rows[] = {
        {"RFC 9497 vectors: ristretto255-SHA512", "ristretto255-SHA512", {2, 3, 3}},
        {"RFC 9497 vectors: P256-SHA256", "P256-SHA256", {2, 3, 3}},
        {"RFC 9497 vectors: P384-SHA384", "P384-SHA384", {2, 3, 3}},
        {"RFC 9497 vectors: P521-SHA512", "P521-SHA512", {2, 3, 3}},
};

/* Every vector of the row's suite, in every mode (batches included), must pass. */
static int
check_suite_vectors(const void *row)
{
	const vector_row *r = row;
	const oprf_suite *s = oprf_suite_by_name(r->identifier);
	json_value *root = vectors_load(test_argv[0]);
	size_t passed[3] = {0, 0, 0};
	int ok = s != NULL;

	for (size_t b = 0; s != NULL && b < json_array_size(root); b++) {
		const json_value *block = json_array_get(root, b);
		const int64_t mode = vectors_integer(block, "mode");
		if (strcmp(vectors_string(block, "identifier"), r->identifier) == 0 && mode >= 0 &&
		    mode <= 2)
			passed[mode] += check_mode_block(s, block);
	}
	for (int m = 0; m < 3; m++)
		ok &= passed[m] == r->per_mode[m];
	printf("# %s: %zu vectors passed (OPRF %zu, VOPRF %zu, POPRF %zu)\n", r->identifier,
	       passed[0] + passed[1] + passed[2], passed[0], passed[1], passed[2]);
	json_free(root);
	return ok;
}

/* The file's other suites are not built here: skipped by name, and counted. */
static void
case_vectors_of_unbuilt_suites_are_skipped(void)
{
	json_value *root = vectors_load(test_argv[0]);
	size_t skipped = 0, blocks = json_array_size(root);

	for (size_t b = 0; b < blocks; b++) {
		const json_value *block = json_array_get(root, b);
		const char *identifier = vectors_string(block, "identifier");
		int known = 0;
		for (size_t r = 0; r < TEST_COUNT(vector_rows); r++)
			known |= strcmp(identifier, vector_rows[r].identifier) == 0;
		if (known)
			continue;
		CHECK(strcmp(identifier, "decaf448-SHAKE256") == 0);
		CHECK(oprf_suite_by_name(identifier) == NULL);
		skipped += json_array_size(json_object_get(block, "vectors"));
	}
	printf("# decaf448-SHAKE256 is not built: %zu vectors skipped\n", skipped);
	CHECK(skipped == 8);
	json_free(root);
}
/* ---- a live exchange that the negative cases then break ---- */

typedef struct exchange {
	oprf_ctx *ctx;
	oprf_key *key;
	uint8_t pk[NE];
	const uint8_t *inputs[3];
	size_t input_lens[3];
	uint8_t blinds[3 * NS];
	uint8_t blinded[3 * NE];
	uint8_t evaluated[3 * NE];
	uint8_t proof[2 * NS];
	uint8_t output[3 * NH];
	const uint8_t *info; /* POPRF's, NULL in the other modes */
	size_t info_len;
} exchange;

static const uint8_t info_a[] = "veil test info";
static const uint8_t info_b[] = "veil test infp";

static void
exchange_run(exchange *x, oprf_mode mode)
{
	static const char *handles[] = {"tel:+14155550100", "mailto:ann@example.org", ""};
	memset(x, 0, sizeof(*x));
	x->ctx = ctx_for(mode);
	if (oprf_key_generate(suite(), &x->key) != VEIL_OK)
		abort();
	oprf_key_public(x->key, x->pk);
	x->info = mode == OPRF_MODE_POPRF ? info_a : NULL;
	x->info_len = x->info ? sizeof(info_a) - 1 : 0;
	for (size_t i = 0; i < 3; i++) {
		x->inputs[i] = (const uint8_t *)handles[i];
		x->input_lens[i] = strlen(handles[i]);
		uint8_t *blind = x->blinds + i * NS;
		if (oprf_blind(x->ctx, x->inputs[i], x->input_lens[i], NULL, blind,
		               x->blinded + i * NE) != VEIL_OK)
			abort();
	}
	if (oprf_blind_evaluate(x->ctx, x->key, x->info, x->info_len, 3, x->blinded, x->evaluated,
	                        NULL, mode == OPRF_MODE_OPRF ? NULL : x->proof) != VEIL_OK)
		abort();
}

static veil_err
exchange_finalize(exchange *x, const uint8_t *pk, const uint8_t *info, size_t info_len)
{
	const int verifiable = oprf_ctx_mode(x->ctx) != OPRF_MODE_OPRF;
	return oprf_finalize(x->ctx, verifiable ? pk : NULL, info, info_len, 3, x->inputs,
	                     x->input_lens, x->blinds, x->blinded, x->evaluated,
	                     verifiable ? x->proof : NULL, x->output);
}

static void
exchange_free(exchange *x)
{
	oprf_key_free(x->key);
	oprf_ctx_free(x->ctx);
}

static int
all_zero(const uint8_t *b, size_t n)
{
	return sodium_is_zero(b, n);
}

/* ---- cases run on an exchange in each mode from one on ---- */

static void
finalize_equals_evaluate(exchange *x)
{
	CHECK(exchange_finalize(x, x->pk, x->info, x->info_len) == VEIL_OK);
	for (size_t i = 0; i < 3; i++) {
		uint8_t direct[NH];
		CHECK(oprf_evaluate(x->ctx, x->key, x->info, x->info_len, x->inputs[i],
		                    x->input_lens[i], direct) == VEIL_OK);
		CHECK_BYTES(x->output + i * NH, direct, NH);
	}
	CHECK(memcmp(x->output, x->output + NH, NH) != 0);
}

/* Encodings that must never be accepted as elements. */
static void
bad_elements(uint8_t out[4][NE], const uint8_t *valid)
{
	memset(out[0], 0, NE); /* the identity */
	memcpy(out[1], valid, NE);
	out[1][31] |= 0x80; /* top bit set: never canonical */
	memset(out[2], 0xff, NE);
	out[2][0] = 0xed;
	out[2][31] = 0x7f; /* p itself, a non-reduced field element */
	memcpy(out[3], valid, NE);
	out[3][0] |= 1; /* an odd (negative) s: not canonical */
}

static void
blind_evaluate_rejects_bad_elements(exchange *x)
{
	const int oprf = oprf_ctx_mode(x->ctx) == OPRF_MODE_OPRF;
	uint8_t bad[4][NE];
	bad_elements(bad, x->blinded);
	for (size_t b = 0; b < 4; b++) {
		/* The bad element sits in the middle of a valid batch. */
		uint8_t batch[3 * NE], evaluated[3 * NE], proof[2 * NS];
		memcpy(batch, x->blinded, sizeof(batch));
		memcpy(batch + NE, bad[b], NE);
		memset(evaluated, 0x55, sizeof(evaluated));
		memset(proof, 0x55, sizeof(proof));
		veil_err err = oprf_blind_evaluate(x->ctx, x->key, x->info, x->info_len, 3, batch,
		                                   evaluated, NULL, oprf ? NULL : proof);
		CHECK(err == VEIL_ERR_ELEMENT);
		CHECK(all_zero(evaluated, sizeof(evaluated)));
		if (!oprf)
			CHECK(all_zero(proof, sizeof(proof)));
	}
}

static void
finalize_rejects_bad_evaluated_elements(exchange *x)
{
	uint8_t bad[4][NE];
	bad_elements(bad, x->evaluated);
	for (size_t b = 0; b < 4; b++) {
		memcpy(x->evaluated + 2 * NE, bad[b], NE);
		memset(x->output, 0x55, sizeof(x->output));
		CHECK(exchange_finalize(x, x->pk, x->info, x->info_len) == VEIL_ERR_ELEMENT);
		CHECK(all_zero(x->output, sizeof(x->output)));
	}
}

static void
case_bad_public_key_is_rejected(void)
{
	exchange x;
	exchange_run(&x, OPRF_MODE_VOPRF);
	uint8_t bad[4][NE];
	bad_elements(bad, x.pk);
	for (size_t b = 0; b < 4; b++)
		CHECK(exchange_finalize(&x, bad[b], NULL, 0) == VEIL_ERR_ELEMENT);
	exchange_free(&x);
}

static void
tampered_proof_fails(exchange *x)
{
	CHECK(exchange_finalize(x, x->pk, x->info, x->info_len) == VEIL_OK);
	/* Flip one low bit of c, then one of s (staying below L). */
	for (size_t at = 0; at < 2 * NS; at += NS) {
		x->proof[at] ^= 1;
		memset(x->output, 0x55, sizeof(x->output));
		CHECK(exchange_finalize(x, x->pk, x->info, x->info_len) == VEIL_ERR_VERIFY);
		CHECK(all_zero(x->output, sizeof(x->output)));
		x->proof[at] ^= 1;
	}
	CHECK(exchange_finalize(x, x->pk, x->info, x->info_len) == VEIL_OK);
}

static void
case_proof_with_unreduced_scalar_fails(void)
{
	exchange x;
	exchange_run(&x, OPRF_MODE_VOPRF);
	uint8_t saved[2 * NS];
	memcpy(saved, x.proof, sizeof(saved));
	memcpy(x.proof, order, NS); /* c = L */
	CHECK(exchange_finalize(&x, x.pk, NULL, 0) == VEIL_ERR_VERIFY);
	memcpy(x.proof, saved, sizeof(saved));
	memcpy(x.proof + NS, order_plus_one, NS); /* s = L + 1 */
	CHECK(exchange_finalize(&x, x.pk, NULL, 0) == VEIL_ERR_VERIFY);
	exchange_free(&x);
}

static void
case_evaluated_element_swapped_fails(void)
{
	/* A valid element, but not the one the proof covers. */
	exchange x;
	exchange_run(&x, OPRF_MODE_VOPRF);
	uint8_t tmp[NE];
	memcpy(tmp, x.evaluated, NE);
	memcpy(x.evaluated, x.evaluated + NE, NE);
	memcpy(x.evaluated + NE, tmp, NE);
	CHECK(exchange_finalize(&x, x.pk, NULL, 0) == VEIL_ERR_VERIFY);
	exchange_free(&x);
}

static void
proof_against_wrong_public_key_fails(exchange *x)
{
	oprf_key *other = NULL;
	uint8_t other_pk[NE];
	REQUIRE(oprf_key_generate(suite(), &other) == VEIL_OK);
	oprf_key_public(other, other_pk);
	CHECK(exchange_finalize(x, other_pk, x->info, x->info_len) == VEIL_ERR_VERIFY);
	oprf_key_free(other);
}

/* Proofs made without a given nonce verify, and a fresh one is mixed into
 * each: the same statement proved twice gives two different proofs. */
static void
hedged_proofs_verify_and_differ(exchange *x)
{
	uint8_t evaluated[3 * NE], proof[2 * NS];
	CHECK(exchange_finalize(x, x->pk, x->info, x->info_len) == VEIL_OK);
	CHECK(oprf_blind_evaluate(x->ctx, x->key, x->info, x->info_len, 3, x->blinded, evaluated,
	                          NULL, proof) == VEIL_OK);
	CHECK_BYTES(evaluated, x->evaluated, sizeof(evaluated));
	CHECK(memcmp(proof, x->proof, sizeof(proof)) != 0);
	memcpy(x->proof, proof, sizeof(proof));
	CHECK(exchange_finalize(x, x->pk, x->info, x->info_len) == VEIL_OK);
}

/* A check on a fresh exchange in each mode from first to POPRF. */
typedef struct mode_case {
	const char *name;
	oprf_mode first;
	void (*check)(exchange *x);
} mode_case;

static const mode_case mode_cases[] = {
        {"finalize equals evaluate in every mode", OPRF_MODE_OPRF, finalize_equals_evaluate},
        {"blind evaluate rejects non-canonical and identity elements", OPRF_MODE_OPRF,
         blind_evaluate_rejects_bad_elements},
        {"finalize rejects non-canonical and identity elements", OPRF_MODE_OPRF,
         finalize_rejects_bad_evaluated_elements},
        {"tampered proof fails", OPRF_MODE_VOPRF, tampered_proof_fails},
        {"proof against the wrong public key fails", OPRF_MODE_VOPRF,
         proof_against_wrong_public_key_fails},
        {"hedged proofs verify and differ each time", OPRF_MODE_VOPRF,
         hedged_proofs_verify_and_differ},
};

static int
in_each_mode(const void *row)
{
	const mode_case *c = row;
	for (int mode = (int)c->first; mode <= OPRF_MODE_POPRF; mode++) {
		exchange x;
		exchange_run(&x, (oprf_mode)mode);
		c->check(&x);
		exchange_free(&x);
	}
	return 1;
}

static void
case_poprf_with_wrong_info_fails(void)
{
	exchange x;
	exchange_run(&x, OPRF_MODE_POPRF);
	CHECK(exchange_finalize(&x, x.pk, info_b, sizeof(info_b) - 1) == VEIL_ERR_VERIFY);
	CHECK(exchange_finalize(&x, x.pk, NULL, 0) == VEIL_ERR_VERIFY);
	CHECK(exchange_finalize(&x, x.pk, info_a, sizeof(info_a) - 1) == VEIL_OK);

	/* Evaluate binds info too: other info, other output. */
	uint8_t with_a[NH], with_b[NH];
	CHECK(oprf_evaluate(x.ctx, x.key, info_a, sizeof(info_a) - 1, x.inputs[0], x.input_lens[0],
	                    with_a) == VEIL_OK);
	CHECK(oprf_evaluate(x.ctx, x.key, info_b, sizeof(info_b) - 1, x.inputs[0], x.input_lens[0],
	                    with_b) == VEIL_OK);
	CHECK(memcmp(with_a, with_b, NH) != 0);
	exchange_free(&x);
}

static void
case_scalars_at_and_above_the_order(void)
{
	const uint8_t *bad[] = {order, order_plus_one, NULL};
	uint8_t all_ones[NS], zero[NS] = {0};
	memset(all_ones, 0xff, NS);
	bad[2] = all_ones;
	oprf_ctx *ctx = ctx_for(OPRF_MODE_VOPRF);
	oprf_key *key = NULL;
	uint8_t blind[NS], blinded[NE], evaluated[NE], proof[2 * NS];

	for (size_t i = 0; i < 3; i++) {
		oprf_key *k = NULL;
		CHECK(oprf_key_import(suite(), bad[i], &k) == VEIL_ERR_SCALAR);
		CHECK(k == NULL);
		memset(blinded, 0x55, NE);
		CHECK(oprf_blind(ctx, (const uint8_t *)"x", 1, bad[i], blind, blinded) ==
		      VEIL_ERR_SCALAR);
		CHECK(all_zero(blinded, NE));
	}
	CHECK(oprf_key_import(suite(), zero, &key) == VEIL_ERR_SCALAR);
	CHECK(oprf_blind(ctx, (const uint8_t *)"x", 1, zero, blind, blinded) == VEIL_ERR_SCALAR);

	/* L - 1 is the largest valid scalar, as key and as blind. */
	CHECK(oprf_key_import(suite(), order_minus_one, &key) == VEIL_OK);
	CHECK(oprf_blind(ctx, (const uint8_t *)"x", 1, order_minus_one, blind, blinded) == VEIL_OK);
	REQUIRE(key != NULL);
	for (size_t i = 0; i < 3; i++)
		CHECK(oprf_blind_evaluate(ctx, key, NULL, 0, 1, blinded, evaluated, bad[i],
		                          proof) == VEIL_ERR_SCALAR);
	CHECK(oprf_blind_evaluate(ctx, key, NULL, 0, 1, blinded, evaluated, zero, proof) ==
	      VEIL_ERR_SCALAR);
	CHECK(oprf_blind_evaluate(ctx, key, NULL, 0, 1, blinded, evaluated, order_minus_one,
	                          proof) == VEIL_OK);
	oprf_key_free(key);
	oprf_ctx_free(ctx);
}

static void
case_limits_and_misuse(void)
{
	exchange x;
	exchange_run(&x, OPRF_MODE_OPRF);
	uint8_t evaluated[3 * NE], proof[2 * NS], blind[NS], blinded[NE];
	static uint8_t big[OPRF_MAX_INPUT_SIZE + 1];

	CHECK(oprf_blind_evaluate(x.ctx, x.key, NULL, 0, 0, x.blinded, evaluated, NULL, NULL) ==
	      VEIL_ERR_LIMIT);
	CHECK(oprf_blind_evaluate(x.ctx, x.key, NULL, 0, OPRF_MAX_BATCH + 1, x.blinded, evaluated,
	                          NULL, NULL) == VEIL_ERR_LIMIT);
	/* OPRF mode takes no proof; VOPRF needs one. */
	CHECK(oprf_blind_evaluate(x.ctx, x.key, NULL, 0, 3, x.blinded, evaluated, NULL, proof) ==
	      VEIL_ERR_ARGUMENT);
	CHECK(oprf_blind(x.ctx, big, sizeof(big), NULL, blind, blinded) == VEIL_ERR_LIMIT);
	CHECK(oprf_blind(x.ctx, big, sizeof(big) - 1, NULL, blind, blinded) == VEIL_OK);

	oprf_ctx *voprf = ctx_for(OPRF_MODE_VOPRF);
	CHECK(oprf_blind_evaluate(voprf, x.key, NULL, 0, 3, x.blinded, evaluated, NULL, NULL) ==
	      VEIL_ERR_ARGUMENT);
	oprf_ctx_free(voprf);

	oprf_ctx *bad = NULL;
	CHECK(oprf_ctx_new(suite(), (oprf_mode)3, &bad) == VEIL_ERR_UNSUPPORTED);
	CHECK(bad == NULL);
	CHECK(oprf_suite_by_name("decaf448-SHAKE256") == NULL);
	CHECK(oprf_suite_by_name("ristretto255-sha512") == NULL);
	exchange_free(&x);
}

static void
case_key_derivation_depends_on_mode_and_info(void)
{
	uint8_t seed[NS], sk[3][NS];
	memset(seed, 0xa3, NS);
	for (int mode = 0; mode <= 2; mode++) {
		oprf_ctx *ctx = ctx_for((oprf_mode)mode);
		oprf_key *key = NULL;
		CHECK(oprf_key_derive(ctx, seed, NS, (const uint8_t *)"k", 1, &key) == VEIL_OK);
		REQUIRE(key != NULL);
		oprf_key_export_secret(key, sk[mode]);
		oprf_key_free(key);
		CHECK(oprf_key_derive(ctx, seed, NS - 1, NULL, 0, &key) == VEIL_ERR_ARGUMENT);
		CHECK(key == NULL);
		oprf_ctx_free(ctx);
	}
	CHECK(memcmp(sk[0], sk[1], NS) != 0);
	CHECK(memcmp(sk[1], sk[2], NS) != 0);
}

/* ---- input checks on the NIST suites ---- */

/* An encoding given to a suite, and what it must be answered with. */
typedef struct input_row {
	const char *name;
	const char *suite;
	const char *hex;
	veil_err want;
} input_row;

static const input_row element_rows[] = {
        {"P256: a valid point (either parity)", "P256-SHA256",
         "0200000000000000000000000000000000000000000000000000000000000000"
         "05",
         VEIL_OK},
        {"P256: a valid point, the other parity", "P256-SHA256",
         "0300000000000000000000000000000000000000000000000000000000000000"
         "05",
         VEIL_OK},
        {"P256: the identity (all zeros)", "P256-SHA256",
         "0000000000000000000000000000000000000000000000000000000000000000"
         "00",
         VEIL_ERR_ELEMENT},
        {"P256: x not on the curve", "P256-SHA256",
         "0200000000000000000000000000000000000000000000000000000000000000"
         "01",
         VEIL_ERR_ELEMENT},
        {"P256: x + p for a valid x (non-canonical)", "P256-SHA256",
         "02ffffffff000000010000000000000000000000010000000000000000000000"
         "04",
         VEIL_ERR_ELEMENT},
        {"P256: x = p", "P256-SHA256",
         "03ffffffff00000001000000000000000000000000ffffffffffffffffffffff"
         "ff",
         VEIL_ERR_ELEMENT},
        {"P256: x all ones", "P256-SHA256",
         "02ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
         "ff",
         VEIL_ERR_ELEMENT},
        {"P256: first byte 0x04 (uncompressed)", "P256-SHA256",
         "0400000000000000000000000000000000000000000000000000000000000000"
         "05",
         VEIL_ERR_ELEMENT},
        {"P256: first byte 0x00 before a valid x", "P256-SHA256",
         "0000000000000000000000000000000000000000000000000000000000000000"
         "05",
         VEIL_ERR_ELEMENT},
        {"P256: first byte 0x06 (hybrid)", "P256-SHA256",
         "0600000000000000000000000000000000000000000000000000000000000000"
         "05",
         VEIL_ERR_ELEMENT},
        {"P384: a valid point (either parity)", "P384-SHA384",
         "0200000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000002",
         VEIL_OK},
        {"P384: a valid point, the other parity", "P384-SHA384",
         "0300000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000002",
         VEIL_OK},
        {"P384: the identity (all zeros)", "P384-SHA384",
         "0000000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000",
         VEIL_ERR_ELEMENT},
        {"P384: x not on the curve", "P384-SHA384",
         "0200000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000001",
         VEIL_ERR_ELEMENT},
        {"P384: x + p for a valid x (non-canonical)", "P384-SHA384",
         "02ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
         "feffffffff000000000000000100000001",
         VEIL_ERR_ELEMENT},
        {"P384: x = p", "P384-SHA384",
         "03ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
         "feffffffff0000000000000000ffffffff",
         VEIL_ERR_ELEMENT},
        {"P384: x all ones", "P384-SHA384",
         "02ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
         "ffffffffffffffffffffffffffffffffff",
         VEIL_ERR_ELEMENT},
        {"P384: first byte 0x04 (uncompressed)", "P384-SHA384",
         "0400000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000002",
         VEIL_ERR_ELEMENT},
        {"P384: first byte 0x00 before a valid x", "P384-SHA384",
         "0000000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000002",
         VEIL_ERR_ELEMENT},
        {"P384: first byte 0x06 (hybrid)", "P384-SHA384",
         "0600000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000002",
         VEIL_ERR_ELEMENT},
        {"P521: a valid point (either parity)", "P521-SHA512",
         "0200000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000000"
         "000001",
         VEIL_OK},
        {"P521: a valid point, the other parity", "P521-SHA512",
         "0300000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000000"
         "000001",
         VEIL_OK},
        {"P521: the identity (all zeros)", "P521-SHA512",
         "0000000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000000"
         "000000",
         VEIL_ERR_ELEMENT},
        {"P521: x not on the curve", "P521-SHA512",
         "0200000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000000"
         "000003",
         VEIL_ERR_ELEMENT},
        {"P521: x + p for a valid x (non-canonical)", "P521-SHA512",
         "0202000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000000"
         "000000",
         VEIL_ERR_ELEMENT},
        {"P521: x = p", "P521-SHA512",
         "0301ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
         "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
         "ffffff",
         VEIL_ERR_ELEMENT},
        {"P521: x all ones", "P521-SHA512",
         "02ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
         "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
         "ffffff",
         VEIL_ERR_ELEMENT},
        {"P521: first byte 0x04 (uncompressed)", "P521-SHA512",
         "0400000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000000"
         "000001",
         VEIL_ERR_ELEMENT},
        {"P521: first byte 0x00 before a valid x", "P521-SHA512",
         "0000000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000000"
         "000001",
         VEIL_ERR_ELEMENT},
        {"P521: first byte 0x06 (hybrid)", "P521-SHA512",
         "0600000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000000"
         "000001",
         VEIL_ERR_ELEMENT},
};
static const input_row scalar_rows[] = {
        {"P256: n - 1, the largest valid scalar", "P256-SHA256",
         "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550", VEIL_OK},
        {"P256: 1", "P256-SHA256",
         "0000000000000000000000000000000000000000000000000000000000000001", VEIL_OK},
        {"P256: zero", "P256-SHA256",
         "0000000000000000000000000000000000000000000000000000000000000000", VEIL_ERR_SCALAR},
        {"P256: n, the group order", "P256-SHA256",
         "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", VEIL_ERR_SCALAR},
        {"P256: n + 1", "P256-SHA256",
         "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632552", VEIL_ERR_SCALAR},
        {"P256: all ones", "P256-SHA256",
         "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", VEIL_ERR_SCALAR},
        {"P384: n - 1, the largest valid scalar", "P384-SHA384",
         "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf"
         "581a0db248b0a77aecec196accc52972",
         VEIL_OK},
        {"P384: 1", "P384-SHA384",
         "0000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000001",
         VEIL_OK},
        {"P384: zero", "P384-SHA384",
         "0000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000",
         VEIL_ERR_SCALAR},
        {"P384: n, the group order", "P384-SHA384",
         "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf"
         "581a0db248b0a77aecec196accc52973",
         VEIL_ERR_SCALAR},
        {"P384: n + 1", "P384-SHA384",
         "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf"
         "581a0db248b0a77aecec196accc52974",
         VEIL_ERR_SCALAR},
        {"P384: all ones", "P384-SHA384",
         "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
         "ffffffffffffffffffffffffffffffff",
         VEIL_ERR_SCALAR},
        {"P521: n - 1, the largest valid scalar", "P521-SHA512",
         "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
         "fffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e9138"
         "6408",
         VEIL_OK},
        {"P521: 1", "P521-SHA512",
         "0000000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000000"
         "0001",
         VEIL_OK},
        {"P521: zero", "P521-SHA512",
         "0000000000000000000000000000000000000000000000000000000000000000"
         "0000000000000000000000000000000000000000000000000000000000000000"
         "0000",
         VEIL_ERR_SCALAR},
        {"P521: n, the group order", "P521-SHA512",
         "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
         "fffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e9138"
         "6409",
         VEIL_ERR_SCALAR},
        {"P521: n + 1", "P521-SHA512",
         "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
         "fffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e9138"
         "640a",
         VEIL_ERR_SCALAR},
        {"P521: all ones", "P521-SHA512",
         "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
         "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
         "ffff",
         VEIL_ERR_SCALAR},
};

static uint8_t *
row_bytes(const input_row *r, size_t want_len)
{
	size_t len;
	uint8_t *b = vectors_hex(r->hex, &len);
	if (len != want_len)
		abort();
	return b;
}

/* The encoding as a blinded element (BlindEvaluate) and as a public key
 * (Finalize): the documented error, and nothing written, or accepted. */
static int
check_element_row(const void *row)
{
	const input_row *r = row;
	const oprf_suite *s = oprf_suite_by_name(r->suite);
	oprf_ctx *ctx = NULL;
	oprf_key *key = NULL;
	uint8_t evaluated[OPRF_MAX_ELEMENT_SIZE], proof[OPRF_MAX_PROOF_SIZE];
	uint8_t blind[OPRF_MAX_SCALAR_SIZE], blinded[OPRF_MAX_ELEMENT_SIZE];
	uint8_t output[OPRF_MAX_HASH_SIZE];
	const uint8_t *inputs[1] = {(const uint8_t *)"x"};
	const size_t input_lens[1] = {1};
	int ok;

	if (s == NULL || oprf_ctx_new(s, OPRF_MODE_VOPRF, &ctx) != VEIL_OK ||
	    oprf_key_generate(s, &key) != VEIL_OK)
		return 0;
	const size_t ne = oprf_suite_element_size(s);
	uint8_t *element = row_bytes(r, ne);

	memset(evaluated, 0x55, sizeof(evaluated));
	ok = oprf_blind_evaluate(ctx, key, NULL, 0, 1, element, evaluated, NULL, proof) == r->want;
	if (r->want != VEIL_OK) {
		ok &= all_zero(evaluated, ne);
		/* The same encoding as the server's public key. */
		ok &= oprf_blind(ctx, inputs[0], 1, NULL, blind, blinded) == VEIL_OK;
		ok &= oprf_blind_evaluate(ctx, key, NULL, 0, 1, blinded, evaluated, NULL, proof) ==
		      VEIL_OK;
		ok &= oprf_finalize(ctx, element, NULL, 0, 1, inputs, input_lens, blind, blinded,
		                    evaluated, proof, output) == r->want;
		/* And as the evaluated element. */
		uint8_t pk[OPRF_MAX_ELEMENT_SIZE];
		oprf_key_public(key, pk);
		ok &= oprf_finalize(ctx, pk, NULL, 0, 1, inputs, input_lens, blind, blinded,
		                    element, proof, output) == r->want;
	}
	free(element);
	oprf_key_free(key);
	oprf_ctx_free(ctx);
	return ok;
}

/* The encoding as a secret key, a blind and a proof nonce. */
static int
check_scalar_row(const void *row)
{
	const input_row *r = row;
	const oprf_suite *s = oprf_suite_by_name(r->suite);
	oprf_ctx *ctx = NULL;
	oprf_key *key = NULL, *imported = NULL;
	uint8_t blind[OPRF_MAX_SCALAR_SIZE], blinded[OPRF_MAX_ELEMENT_SIZE];
	uint8_t evaluated[OPRF_MAX_ELEMENT_SIZE], proof[OPRF_MAX_PROOF_SIZE];
	int ok;

	if (s == NULL || oprf_ctx_new(s, OPRF_MODE_VOPRF, &ctx) != VEIL_OK ||
	    oprf_key_generate(s, &key) != VEIL_OK)
		return 0;
	const size_t ns = oprf_suite_scalar_size(s), ne = oprf_suite_element_size(s);
	uint8_t *scalar = row_bytes(r, ns);

	ok = oprf_key_import(s, scalar, &imported) == r->want;
	ok &= (imported != NULL) == (r->want == VEIL_OK);
	memset(blinded, 0x55, sizeof(blinded));
	ok &= oprf_blind(ctx, (const uint8_t *)"x", 1, scalar, blind, blinded) == r->want;
	if (r->want != VEIL_OK) {
		ok &= all_zero(blinded, ne);
		ok &= oprf_blind(ctx, (const uint8_t *)"x", 1, NULL, blind, blinded) == VEIL_OK;
	}
	ok &= oprf_blind_evaluate(ctx, key, NULL, 0, 1, blinded, evaluated, scalar, proof) ==
	      r->want;
	oprf_key_free(imported);
	oprf_key_free(key);
	oprf_ctx_free(ctx);
	free(scalar);
	return ok;
}

/* ---- batch inversion, and oprf_finalize in two halves ---- */

/* Items of a split batch: more than oprf_finalize_unverified inverts at
 * once, so that a sub-range crosses its blocks. */
#define SPLIT_ITEMS 150

/* A batch of n items of suite s in mode, blinded, evaluated and proved. */
typedef struct split {
	oprf_ctx *ctx;
	oprf_key *key;
	size_t n, ns, ne, nh;
	uint8_t pk[OPRF_MAX_ELEMENT_SIZE], proof[OPRF_MAX_PROOF_SIZE];
	uint8_t blinds[SPLIT_ITEMS * OPRF_MAX_SCALAR_SIZE];
	uint8_t blinded[SPLIT_ITEMS * OPRF_MAX_ELEMENT_SIZE];
	uint8_t evaluated[SPLIT_ITEMS * OPRF_MAX_ELEMENT_SIZE];
	uint8_t whole[SPLIT_ITEMS * OPRF_MAX_HASH_SIZE], parts[SPLIT_ITEMS * OPRF_MAX_HASH_SIZE];
	char text[SPLIT_ITEMS][16];
	const uint8_t *inputs[SPLIT_ITEMS];
	size_t input_lens[SPLIT_ITEMS];
	const uint8_t *info;
	size_t info_len;
} split;

static int
split_run(split *x, const char *suite_name, oprf_mode mode, size_t n)
{
	const oprf_suite *s = oprf_suite_by_name(suite_name);
	memset(x, 0, sizeof(*x));
	if (s == NULL || oprf_ctx_new(s, mode, &x->ctx) != VEIL_OK ||
	    oprf_key_generate(s, &x->key) != VEIL_OK)
		return 0;
	x->n = n;
	x->ns = oprf_suite_scalar_size(s);
	x->ne = oprf_suite_element_size(s);
	x->nh = oprf_suite_output_size(s);
	oprf_key_public(x->key, x->pk);
	x->info = mode == OPRF_MODE_POPRF ? info_a : NULL;
	x->info_len = x->info != NULL ? sizeof(info_a) - 1 : 0;
	for (size_t i = 0; i < n; i++) {
		snprintf(x->text[i], sizeof(x->text[i]), "tel:+1555%04zu", i);
		x->inputs[i] = (const uint8_t *)x->text[i];
		x->input_lens[i] = strlen(x->text[i]);
		if (oprf_blind(x->ctx, x->inputs[i], x->input_lens[i], NULL, x->blinds + i * x->ns,
		               x->blinded + i * x->ne) != VEIL_OK)
			return 0;
	}
	return oprf_blind_evaluate(x->ctx, x->key, x->info, x->info_len, n, x->blinded,
	                           x->evaluated, NULL,
	                           mode == OPRF_MODE_OPRF ? NULL : x->proof) == VEIL_OK;
}

static void
split_free(split *x)
{
	oprf_key_free(x->key);
	oprf_ctx_free(x->ctx);
}

static const uint8_t *
split_pk(const split *x)
{
	return oprf_ctx_mode(x->ctx) == OPRF_MODE_OPRF ? NULL : x->pk;
}

static const uint8_t *
split_proof(const split *x)
{
	return oprf_ctx_mode(x->ctx) == OPRF_MODE_OPRF ? NULL : x->proof;
}

/* Items [at, at + n) of x finalized without the proof, into x->parts. */
static veil_err
split_part(split *x, size_t at, size_t n)
{
	return oprf_finalize_unverified(x->ctx, x->info, x->info_len, n, x->inputs + at,
	                                x->input_lens + at, x->blinds + at * x->ns,
	                                x->evaluated + at * x->ne, x->parts + at * x->nh);
}

typedef struct split_row {
	const char *name;
	const char *suite;
	size_t items, cut; /* finalized as [0, cut) and [cut, items) */
} split_row;

static const split_row split_rows[] = {
        {"ristretto255-SHA512, across the inversion blocks", "ristretto255-SHA512", SPLIT_ITEMS,
         50},
        {"ristretto255-SHA512, one item", "ristretto255-SHA512", 1, 0},
        {"P256-SHA256", "P256-SHA256", 5, 2},
        {"P384-SHA384", "P384-SHA384", 4, 1},
        {"P521-SHA512", "P521-SHA512", 3, 2},
};

/* In each mode: oprf_verify_batch over the batch, then
 * oprf_finalize_unverified over two sub-ranges, equals oprf_finalize. */
static int
check_split_row(const void *row)
{
	const split_row *r = row;
	int ok = 1;
	if (oprf_suite_by_name(r->suite) == NULL)
		return 1; /* not built */
	for (int mode = OPRF_MODE_OPRF; mode <= OPRF_MODE_POPRF; mode++) {
		split *x = malloc(sizeof(*x));
		if (x == NULL || !split_run(x, r->suite, (oprf_mode)mode, r->items)) {
			if (x != NULL)
				split_free(x);
			free(x);
			return 0;
		}
		ok &= oprf_finalize(x->ctx, split_pk(x), x->info, x->info_len, x->n, x->inputs,
		                    x->input_lens, x->blinds, x->blinded, x->evaluated,
		                    split_proof(x), x->whole) == VEIL_OK;
		ok &= oprf_verify_batch(x->ctx, split_pk(x), x->info, x->info_len, x->n, x->blinded,
		                        x->evaluated, split_proof(x)) == VEIL_OK;
		if (r->cut > 0)
			ok &= split_part(x, 0, r->cut) == VEIL_OK;
		ok &= split_part(x, r->cut, x->n - r->cut) == VEIL_OK;
		ok &= same(x->parts, x->whole, x->n * x->nh);
		/* And each output is F(k, input). */
		uint8_t direct[OPRF_MAX_HASH_SIZE];
		ok &= oprf_evaluate(x->ctx, x->key, x->info, x->info_len, x->inputs[x->n - 1],
		                    x->input_lens[x->n - 1], direct) == VEIL_OK;
		ok &= same(x->parts + (x->n - 1) * x->nh, direct, x->nh);
		split_free(x);
		free(x);
	}
	return ok;
}

TEST_ROWS_CASE(case_verify_then_finalize_sub_ranges, split_rows, check_split_row)

/* Batch inversion equals inverting one by one (a batch of one is a
 * plain inversion), in every suite; and s * s^-1 = 1 on ristretto255. */
static int
check_invert_row(const void *row)
{
	const split_row *r = row;
	const oprf_suite *s = oprf_suite_by_name(r->suite);
	if (s == NULL)
		return 1;
	split *x = malloc(sizeof(*x));
	uint8_t *inverses = malloc(SPLIT_ITEMS * OPRF_MAX_SCALAR_SIZE);
	int ok = x != NULL && inverses != NULL && split_run(x, r->suite, OPRF_MODE_OPRF, r->items);
	if (!ok) {
		if (x != NULL)
			split_free(x);
		free(x);
		free(inverses);
		return 0;
	}
	ok = oprf_scalar_invert_batch(s, x->n, x->blinds, inverses) == VEIL_OK;
	for (size_t i = 0; i < x->n; i++) {
		uint8_t one_by_one[OPRF_MAX_SCALAR_SIZE];
		ok &= oprf_scalar_invert_batch(s, 1, x->blinds + i * x->ns, one_by_one) == VEIL_OK;
		ok &= same(inverses + i * x->ns, one_by_one, x->ns);
		if (strcmp(r->suite, "ristretto255-SHA512") == 0) {
			uint8_t product[NS], unit[NS] = {1};
			crypto_core_ristretto255_scalar_mul(product, x->blinds + i * NS,
			                                    inverses + i * NS);
			ok &= same(product, unit, NS);
		}
	}
	split_free(x);
	free(x);
	free(inverses);
	return ok;
}

TEST_ROWS_CASE(case_batch_inversion_equals_one_by_one, split_rows, check_invert_row)

/* A zero blind, or one not below the order, is refused with nothing
 * written, wherever it sits in the batch; so are misuses. */
static void
case_bad_blinds_are_refused(void)
{
	split *x = malloc(sizeof(*x));
	REQUIRE(x != NULL);
	REQUIRE(split_run(x, SUITE, OPRF_MODE_OPRF, 3));
	const uint8_t *bad[] = {(const uint8_t[NS]){0}, order, order_plus_one};
	uint8_t inverses[3 * NS];
	for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
		for (size_t at = 0; at < 3; at++) {
			uint8_t saved[NS];
			memcpy(saved, x->blinds + at * NS, NS);
			memcpy(x->blinds + at * NS, bad[b], NS);
			memset(inverses, 0x55, sizeof(inverses));
			CHECK(oprf_scalar_invert_batch(suite(), 3, x->blinds, inverses) ==
			      VEIL_ERR_SCALAR);
			CHECK(all_zero(inverses, sizeof(inverses)));
			memset(x->parts, 0x55, 3 * NH);
			CHECK(split_part(x, 0, 3) == VEIL_ERR_SCALAR);
			CHECK(all_zero(x->parts, 3 * NH));
			CHECK(oprf_finalize(x->ctx, NULL, NULL, 0, 3, x->inputs, x->input_lens,
			                    x->blinds, x->blinded, x->evaluated, NULL,
			                    x->parts) == VEIL_ERR_SCALAR);
			memcpy(x->blinds + at * NS, saved, NS);
		}
	}
	CHECK(oprf_scalar_invert_batch(suite(), 0, x->blinds, inverses) == VEIL_ERR_LIMIT);
	CHECK(oprf_scalar_invert_batch(NULL, 3, x->blinds, inverses) == VEIL_ERR_ARGUMENT);
	/* In place would overwrite the scalars: refused, nothing written. */
	uint8_t saved[3 * NS];
	memcpy(saved, x->blinds, sizeof(saved));
	CHECK(oprf_scalar_invert_batch(suite(), 3, x->blinds, x->blinds) == VEIL_ERR_ARGUMENT);
	CHECK(oprf_scalar_invert_batch(suite(), 2, x->blinds, x->blinds + NS) == VEIL_ERR_ARGUMENT);
	CHECK_BYTES(x->blinds, saved, sizeof(saved));
	CHECK(split_part(x, 0, 0) == VEIL_ERR_LIMIT);
	CHECK(oprf_verify_batch(x->ctx, x->pk, NULL, 0, 3, x->blinded, x->evaluated, NULL) ==
	      VEIL_ERR_ARGUMENT); /* a key in OPRF mode */
	split_free(x);
	free(x);
}

/* oprf_finalize_unverified still refuses a bad evaluated element (its
 * multiplication checks it), and oprf_verify_batch a bad blinded one,
 * a swapped answer and a tampered proof. */
static void
case_halves_refuse_bad_input(void)
{
	split *x = malloc(sizeof(*x));
	REQUIRE(x != NULL);
	REQUIRE(split_run(x, SUITE, OPRF_MODE_VOPRF, 3));
	uint8_t bad[4][NE];
	bad_elements(bad, x->evaluated);
	for (size_t b = 0; b < 4; b++) {
		uint8_t saved[NE];
		memcpy(saved, x->evaluated + NE, NE);
		memcpy(x->evaluated + NE, bad[b], NE);
		memset(x->parts, 0x55, 3 * NH);
		CHECK(split_part(x, 0, 3) == VEIL_ERR_ELEMENT);
		CHECK(all_zero(x->parts, 3 * NH));
		CHECK(oprf_verify_batch(x->ctx, x->pk, NULL, 0, 3, x->blinded, x->evaluated,
		                        x->proof) == VEIL_ERR_ELEMENT);
		memcpy(x->evaluated + NE, saved, NE);
		memcpy(saved, x->blinded + NE, NE);
		memcpy(x->blinded + NE, bad[b], NE);
		CHECK(oprf_verify_batch(x->ctx, x->pk, NULL, 0, 3, x->blinded, x->evaluated,
		                        x->proof) == VEIL_ERR_ELEMENT);
		memcpy(x->blinded + NE, saved, NE);
	}
	CHECK(oprf_verify_batch(x->ctx, x->pk, NULL, 0, 3, x->blinded, x->evaluated, x->proof) ==
	      VEIL_OK);
	x->proof[0] ^= 1;
	CHECK(oprf_verify_batch(x->ctx, x->pk, NULL, 0, 3, x->blinded, x->evaluated, x->proof) ==
	      VEIL_ERR_VERIFY);
	x->proof[0] ^= 1;
	uint8_t tmp[NE];
	memcpy(tmp, x->evaluated, NE);
	memcpy(x->evaluated, x->evaluated + NE, NE);
	memcpy(x->evaluated + NE, tmp, NE);
	CHECK(oprf_verify_batch(x->ctx, x->pk, NULL, 0, 3, x->blinded, x->evaluated, x->proof) ==
	      VEIL_ERR_VERIFY);
	split_free(x);
	free(x);
}

TEST_ROWS_CASE(case_nist_element_checks, element_rows, check_element_row)
TEST_ROWS_CASE(case_nist_scalar_checks, scalar_rows, check_scalar_row)

static const test_case cases[] = {
        {"vectors of suites not built are skipped", case_vectors_of_unbuilt_suites_are_skipped},
        {"NIST suites: invalid elements are rejected", case_nist_element_checks},
        {"NIST suites: scalars out of range are rejected", case_nist_scalar_checks},
        {"bad public key is rejected", case_bad_public_key_is_rejected},
        {"proof with unreduced scalar fails", case_proof_with_unreduced_scalar_fails},
        {"swapped evaluated elements fail", case_evaluated_element_swapped_fails},
        {"POPRF with the wrong info fails", case_poprf_with_wrong_info_fails},
        {"scalars at and above the group order", case_scalars_at_and_above_the_order},
        {"limits and misuse", case_limits_and_misuse},
        {"key derivation depends on mode and info", case_key_derivation_depends_on_mode_and_info},
        {"verify, then finalize sub-ranges: equals finalize", case_verify_then_finalize_sub_ranges},
        {"batch inversion equals inverting one by one", case_batch_inversion_equals_one_by_one},
        {"zero and unreduced blinds are refused", case_bad_blinds_are_refused},
        {"the two halves of finalize refuse bad input", case_halves_refuse_bad_input},
};

static const test_table tables[] = {
        TEST_TABLE(vector_rows, check_suite_vectors),
        TEST_TABLE(mode_cases, in_each_mode),
};

TEST_MAIN_WITH(cases, .usage = "rfc9497_all_suites.json", .arguments = 1, TEST_TABLES(tables))

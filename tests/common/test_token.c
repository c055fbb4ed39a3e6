/*
 * Privacy Pass tokens of type 0x0001: every RFC 9578 vector byte for byte
 * (the client's request, the token finalized from the given response, the
 * issuer's verdict, pkS and token_key_id from skS), an issuer's own
 * responses, altered tokens and responses, and the decoders' refusals.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "oprf.h"
#include "token.h"
#include "vectors.h"

#define MAX_VECTORS 16

/* The P-384 group order, big-endian: the least scalar out of range. */
#define P384_ORDER                                                                                 \
	"ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196a" \
	"ccc52973"

/* One vector of the file, decoded. */
typedef struct vector {
	uint8_t sk[TOKEN_SCALAR_SIZE], pk[TOKEN_ELEMENT_SIZE];
	uint8_t *challenge;
	size_t challenge_len;
	uint8_t nonce[TOKEN_NONCE_SIZE], blind[TOKEN_SCALAR_SIZE];
	uint8_t request[TOKEN_REQUEST_SIZE], response[TOKEN_RESPONSE_SIZE], token[TOKEN_SIZE];
} vector;

static vector vectors[MAX_VECTORS];
static size_t vector_count;

/* Decodes the hex member key of obj, which must be exactly n bytes. */
static void
fixed_field(const json_value *obj, const char *key, uint8_t *out, size_t n)
{
	const char *hex = vectors_string(obj, key);
	if (hex == NULL || test_unhex(hex, out, n) != 0)
		abort(); /* a broken vector file */
}

static void
load_vectors(void)
{
	json_value *all = vectors_load(test_argv[0]);
	vector_count = json_array_size(all);
	if (vector_count == 0 || vector_count > MAX_VECTORS)
		abort();
	for (size_t i = 0; i < vector_count; i++) {
		const json_value *v = json_array_get(all, i);
		vector *t = &vectors[i];
		fixed_field(v, "skS", t->sk, sizeof(t->sk));
		fixed_field(v, "pkS", t->pk, sizeof(t->pk));
		fixed_field(v, "nonce", t->nonce, sizeof(t->nonce));
		fixed_field(v, "blind", t->blind, sizeof(t->blind));
		fixed_field(v, "token_request", t->request, sizeof(t->request));
		fixed_field(v, "token_response", t->response, sizeof(t->response));
		fixed_field(v, "token", t->token, sizeof(t->token));
		const char *hex = vectors_string(v, "token_challenge");
		if (hex == NULL)
			abort();
		t->challenge = vectors_hex(hex, &t->challenge_len);
	}
	json_free(all);
}

static int
free_vectors(void)
{
	for (size_t i = 0; i < vector_count; i++)
		free(vectors[i].challenge);
	return 0;
}

static oprf_key *
import_key(const uint8_t *sk)
{
	oprf_key *key = NULL;
	if (oprf_key_import(token_suite(), sk, &key) != VEIL_OK)
		abort();
	return key;
}

static int
all_zero(const void *p, size_t n)
{
	return sodium_is_zero(p, n);
}

/* ---- the vectors ---- */

static void
case_vector_requests(void)
{
	REQUIRE(vector_count == 5);
	for (size_t i = 0; i < vector_count; i++) {
		const vector *v = &vectors[i];
		uint8_t nonce[TOKEN_NONCE_SIZE], blind[TOKEN_SCALAR_SIZE];
		uint8_t encoded[TOKEN_REQUEST_SIZE];
		token_request request;
		CHECK(token_client_request(v->pk, v->challenge, v->challenge_len, v->nonce,
		                           v->blind, nonce, blind, &request) == VEIL_OK);
		token_request_encode(&request, encoded);
		CHECK_BYTES(encoded, v->request, TOKEN_REQUEST_SIZE);
		CHECK_BYTES(nonce, v->nonce, TOKEN_NONCE_SIZE);
		CHECK_BYTES(blind, v->blind, TOKEN_SCALAR_SIZE);
	}
}

static void
case_vector_tokens(void)
{
	for (size_t i = 0; i < vector_count; i++) {
		const vector *v = &vectors[i];
		uint8_t encoded[TOKEN_SIZE], digest[TOKEN_DIGEST_SIZE];
		token_response response;
		token t;
		REQUIRE(token_response_decode(v->response, sizeof(v->response), &response) ==
		        VEIL_OK);
		CHECK(token_client_finalize(v->pk, v->challenge, v->challenge_len, v->nonce,
		                            v->blind, &response, &t) == VEIL_OK);
		token_encode(&t, encoded);
		CHECK_BYTES(encoded, v->token, TOKEN_SIZE);
		token_challenge_digest(v->challenge, v->challenge_len, digest);
		CHECK_BYTES(t.challenge_digest, digest, TOKEN_DIGEST_SIZE);
	}
}

static void
case_vector_verdicts(void)
{
	for (size_t i = 0; i < vector_count; i++) {
		const vector *v = &vectors[i];
		oprf_key *key = import_key(v->sk);
		uint8_t pk[TOKEN_ELEMENT_SIZE], key_id[TOKEN_KEY_ID_SIZE],
		        id_of_pk[TOKEN_KEY_ID_SIZE];
		token t;
		int valid = -1;

		CHECK(token_issuer_public(key, pk, key_id) == VEIL_OK);
		CHECK_BYTES(pk, v->pk, TOKEN_ELEMENT_SIZE);
		token_key_id(v->pk, id_of_pk);
		CHECK_BYTES(key_id, id_of_pk, TOKEN_KEY_ID_SIZE);
		CHECK(key_id[TOKEN_KEY_ID_SIZE - 1] == v->request[2]);
		CHECK(token_decode(v->token, sizeof(v->token), &t) == VEIL_OK);
		CHECK_BYTES(t.token_key_id, key_id, TOKEN_KEY_ID_SIZE);
		CHECK(token_verify(key, &t, &valid) == VEIL_OK);
		CHECK(valid == 1);
		oprf_key_free(key);
	}
}

/*
 * veil's challenge (issuer name, empty redemption context, origin) is the
 * second vector's byte for byte, and its digest the one in that vector's
 * token; names that are not host-like are refused.
 */
static void
case_challenge_of_names(void)
{
	const vector *v = &vectors[1];
	buf c;
	uint8_t digest[TOKEN_DIGEST_SIZE];
	token t;
	buf_init(&c);
	CHECK(vector_count >= 2);
	CHECK(token_challenge_of("issuer.example", "origin.example", &c) == VEIL_OK);
	CHECK(buf_len(&c) == v->challenge_len);
	CHECK_BYTES((const uint8_t *)buf_data(&c), v->challenge, v->challenge_len);
	CHECK(token_challenge_digest_of("issuer.example", "origin.example", digest) == VEIL_OK);
	CHECK(token_decode(v->token, sizeof(v->token), &t) == VEIL_OK);
	CHECK_BYTES(digest, t.challenge_digest, TOKEN_DIGEST_SIZE);
	buf_free(&c);

	char longest[TOKEN_NAME_MAX + 2];
	memset(longest, 'a', sizeof(longest) - 1);
	longest[TOKEN_NAME_MAX + 1] = '\0';
	static const char *const bad[] = {"", "two words", "tab\there", "caf\xc3\xa9", "del\x7f"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(!token_name_valid(bad[i]));
		CHECK(token_challenge_digest_of(bad[i], "origin.example", digest) ==
		      VEIL_ERR_ARGUMENT);
		CHECK(token_challenge_digest_of("issuer.example", bad[i], digest) ==
		      VEIL_ERR_ARGUMENT);
	}
	CHECK(!token_name_valid(NULL) && !token_name_valid(longest));
	longest[TOKEN_NAME_MAX] = '\0';
	CHECK(token_name_valid(longest));
	CHECK(token_challenge_digest_of("issuer.example", "origin.example", NULL) ==
	      VEIL_ERR_ARGUMENT);
}

/* The issuer's shortcut: the vector's nonce, challenge and key id,
 * authenticated with skI directly, give the vector's authenticator;
 * without a key the token is left with none. */
static void
case_authenticate_gives_the_vector_authenticator(void)
{
	for (size_t i = 0; i < vector_count; i++) {
		const vector *v = &vectors[i];
		oprf_key *key = import_key(v->sk);
		token want, t;
		CHECK(token_decode(v->token, sizeof(v->token), &want) == VEIL_OK);
		t = want;
		memset(t.authenticator, 0xa5, sizeof(t.authenticator));
		CHECK(token_authenticate(key, &t) == VEIL_OK);
		CHECK_BYTES(t.authenticator, want.authenticator, TOKEN_AUTHENTICATOR_SIZE);
		CHECK(token_authenticate(NULL, &t) == VEIL_ERR_ARGUMENT);
		CHECK(sodium_is_zero(t.authenticator, TOKEN_AUTHENTICATOR_SIZE));
		oprf_key_free(key);
	}
}

/* The issuer answers the vector's request itself: the same evaluation,
 * another proof, and the same token in the end. */
static void
case_own_responses_finalize_to_the_vector_tokens(void)
{
	for (size_t i = 0; i < vector_count; i++) {
		const vector *v = &vectors[i];
		oprf_key *key = import_key(v->sk);
		uint8_t encoded[TOKEN_RESPONSE_SIZE], token_bytes[TOKEN_SIZE];
		token_request request;
		token_response response;
		token t;
		int valid = 0;

		CHECK(token_request_decode(v->request, sizeof(v->request), &request) == VEIL_OK);
		CHECK(token_issue(key, 1, &request, &response) == VEIL_OK);
		token_response_encode(&response, encoded);
		CHECK_BYTES(encoded, v->response, TOKEN_ELEMENT_SIZE);
		CHECK(memcmp(encoded + TOKEN_ELEMENT_SIZE, v->response + TOKEN_ELEMENT_SIZE,
		             TOKEN_PROOF_SIZE) != 0);
		CHECK(token_client_finalize(v->pk, v->challenge, v->challenge_len, v->nonce,
		                            v->blind, &response, &t) == VEIL_OK);
		token_encode(&t, token_bytes);
		CHECK_BYTES(token_bytes, v->token, TOKEN_SIZE);
		CHECK(token_verify(key, &t, &valid) == VEIL_OK && valid == 1);
		oprf_key_free(key);
	}
}

/* ---- issuance end to end ---- */

static void
case_fresh_nonces_and_blinds_in_one_batch(void)
{
	enum { COUNT = 3 };
	const vector *v = &vectors[0];
	oprf_key *key = import_key(v->sk);
	uint8_t nonces[COUNT][TOKEN_NONCE_SIZE], blinds[COUNT][TOKEN_SCALAR_SIZE];
	token_request requests[COUNT];
	token_response responses[COUNT];

	for (size_t i = 0; i < COUNT; i++) {
		const vector *c = &vectors[i]; /* three different challenges */
		CHECK(token_client_request(v->pk, c->challenge, c->challenge_len, NULL, NULL,
		                           nonces[i], blinds[i], &requests[i]) == VEIL_OK);
	}
	CHECK(memcmp(nonces[0], nonces[1], TOKEN_NONCE_SIZE) != 0);
	CHECK(memcmp(blinds[0], blinds[1], TOKEN_SCALAR_SIZE) != 0);
	CHECK(memcmp(requests[0].blinded_msg, requests[1].blinded_msg, TOKEN_ELEMENT_SIZE) != 0);
	REQUIRE(token_issue(key, COUNT, requests, responses) == VEIL_OK);
	for (size_t i = 0; i < COUNT; i++) {
		const vector *c = &vectors[i];
		token t;
		int valid = 0;
		CHECK(token_client_finalize(v->pk, c->challenge, c->challenge_len, nonces[i],
		                            blinds[i], &responses[i], &t) == VEIL_OK);
		CHECK(token_verify(key, &t, &valid) == VEIL_OK && valid == 1);
		CHECK_BYTES(t.nonce, nonces[i], TOKEN_NONCE_SIZE);
	}
	/* Responses are not interchangeable: each proof covers its own request. */
	token t;
	CHECK(token_client_finalize(v->pk, vectors[0].challenge, vectors[0].challenge_len,
	                            nonces[0], blinds[0], &responses[1], &t) == VEIL_ERR_VERIFY);
	CHECK(all_zero(&t, sizeof(t)));
	oprf_key_free(key);
}

static void
case_a_batch_is_all_or_nothing(void)
{
	const vector *v = &vectors[0];
	oprf_key *key = import_key(v->sk);
	token_request requests[3];
	token_response responses[3];

	for (size_t i = 0; i < 3; i++)
		REQUIRE(token_request_decode(v->request, sizeof(v->request), &requests[i]) ==
		        VEIL_OK);
	requests[2].truncated_token_key_id ^= 1; /* another key's id */
	memset(responses, 0x55, sizeof(responses));
	CHECK(token_issue(key, 3, requests, responses) == VEIL_ERR_NOT_FOUND);
	CHECK(all_zero(responses, sizeof(responses)));

	requests[2] = requests[0];
	requests[2].blinded_msg[0] = 0x04; /* no compressed point starts so */
	memset(responses, 0x55, sizeof(responses));
	CHECK(token_issue(key, 3, requests, responses) == VEIL_ERR_ELEMENT);
	CHECK(all_zero(responses, sizeof(responses)));

	CHECK(token_issue(key, 0, requests, responses) == VEIL_ERR_ARGUMENT);
	CHECK(token_issue(key, TOKEN_MAX_BATCH + 1, requests, responses) == VEIL_ERR_LIMIT);
	CHECK(token_issue(NULL, 1, requests, responses) == VEIL_ERR_ARGUMENT);
	oprf_key_free(key);
}

/* Every single-bit change of a valid token: refused by the decoder in the
 * type, judged invalid anywhere else. */
static void
case_a_flipped_bit_makes_a_token_invalid(void)
{
	const vector *v = &vectors[0];
	oprf_key *key = import_key(v->sk);
	uint8_t bytes[TOKEN_SIZE];
	size_t refused = 0, invalid = 0;

	for (size_t bit = 0; bit < 8 * TOKEN_SIZE; bit++) {
		token t;
		int valid = 1;
		memcpy(bytes, v->token, TOKEN_SIZE);
		bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		const veil_err err = token_decode(bytes, sizeof(bytes), &t);
		if (bit < 16) {
			refused += err == VEIL_ERR_UNSUPPORTED;
			continue;
		}
		if (err == VEIL_OK && token_verify(key, &t, &valid) == VEIL_OK && valid == 0)
			invalid++;
	}
	CHECK(refused == 16);
	CHECK(invalid == 8 * TOKEN_SIZE - 16);
	oprf_key_free(key);
}

static void
case_a_token_is_valid_under_its_key_only(void)
{
	oprf_key *other = import_key(vectors[1].sk);
	token t;
	int valid = 1;
	REQUIRE(token_decode(vectors[0].token, TOKEN_SIZE, &t) == VEIL_OK);
	CHECK(token_verify(other, &t, &valid) == VEIL_OK);
	CHECK(valid == 0);
	oprf_key_free(other);
}

/* The request made for pkS, evaluated (with a valid proof) under another key. */
static void
case_a_response_under_another_key_does_not_verify(void)
{
	const vector *v = &vectors[0];
	oprf_key *other = import_key(vectors[1].sk);
	oprf_ctx *ctx = NULL;
	token_request request;
	token_response response;
	token t;

	REQUIRE(oprf_ctx_new(token_suite(), OPRF_MODE_VOPRF, &ctx) == VEIL_OK);
	REQUIRE(token_request_decode(v->request, sizeof(v->request), &request) == VEIL_OK);
	REQUIRE(oprf_blind_evaluate(ctx, other, NULL, 0, 1, request.blinded_msg,
	                            response.evaluate_msg, NULL,
	                            response.evaluate_proof) == VEIL_OK);
	memset(&t, 0x55, sizeof(t));
	CHECK(token_client_finalize(v->pk, v->challenge, v->challenge_len, v->nonce, v->blind,
	                            &response, &t) == VEIL_ERR_VERIFY);
	CHECK(all_zero(&t, sizeof(t)));

	/* The vector's own response, with its proof altered. */
	REQUIRE(token_response_decode(v->response, sizeof(v->response), &response) == VEIL_OK);
	response.evaluate_proof[TOKEN_PROOF_SIZE - 1] ^= 1;
	CHECK(token_client_finalize(v->pk, v->challenge, v->challenge_len, v->nonce, v->blind,
	                            &response, &t) == VEIL_ERR_VERIFY);
	/* The response to the vector's request, finalized for another challenge. */
	REQUIRE(token_response_decode(v->response, sizeof(v->response), &response) == VEIL_OK);
	CHECK(token_client_finalize(v->pk, vectors[1].challenge, vectors[1].challenge_len, v->nonce,
	                            v->blind, &response, &t) == VEIL_ERR_VERIFY);
	/* Not a point: the element, or the issuer's key. */
	response.evaluate_msg[0] = 0x05;
	CHECK(token_client_finalize(v->pk, v->challenge, v->challenge_len, v->nonce, v->blind,
	                            &response, &t) == VEIL_ERR_ELEMENT);
	REQUIRE(token_response_decode(v->response, sizeof(v->response), &response) == VEIL_OK);
	uint8_t bad_pk[TOKEN_ELEMENT_SIZE];
	memcpy(bad_pk, v->pk, sizeof(bad_pk));
	bad_pk[0] = 0x00;
	CHECK(token_client_finalize(bad_pk, v->challenge, v->challenge_len, v->nonce, v->blind,
	                            &response, &t) == VEIL_ERR_ELEMENT);
	oprf_ctx_free(ctx);
	oprf_key_free(other);
}

static void
case_bad_blinds_and_challenges_are_refused(void)
{
	const vector *v = &vectors[0];
	uint8_t zero[TOKEN_SCALAR_SIZE] = {0}, order[TOKEN_SCALAR_SIZE];
	uint8_t nonce[TOKEN_NONCE_SIZE], blind[TOKEN_SCALAR_SIZE];
	token_request request;
	token_response response;
	token t;

	REQUIRE(test_unhex(P384_ORDER, order, sizeof(order)) == 0);
	memset(&request, 0x55, sizeof(request));
	CHECK(token_client_request(v->pk, v->challenge, v->challenge_len, v->nonce, zero, nonce,
	                           blind, &request) == VEIL_ERR_SCALAR);
	CHECK(all_zero(&request, sizeof(request)) && all_zero(nonce, sizeof(nonce)));
	CHECK(token_client_request(v->pk, v->challenge, v->challenge_len, v->nonce, order, nonce,
	                           blind, &request) == VEIL_ERR_SCALAR);
	REQUIRE(token_response_decode(v->response, sizeof(v->response), &response) == VEIL_OK);
	CHECK(token_client_finalize(v->pk, v->challenge, v->challenge_len, v->nonce, order,
	                            &response, &t) == VEIL_ERR_SCALAR);
	/* A challenge of another type, and one cut short. */
	uint8_t *other = malloc(v->challenge_len);
	REQUIRE(other != NULL);
	memcpy(other, v->challenge, v->challenge_len);
	other[1] = 0x02;
	CHECK(token_client_request(v->pk, other, v->challenge_len, NULL, NULL, nonce, blind,
	                           &request) == VEIL_ERR_UNSUPPORTED);
	CHECK(token_client_finalize(v->pk, other, v->challenge_len, v->nonce, v->blind, &response,
	                            &t) == VEIL_ERR_UNSUPPORTED);
	free(other);
	CHECK(token_client_request(v->pk, v->challenge, v->challenge_len - 1, NULL, NULL, nonce,
	                           blind, &request) == VEIL_ERR_PARSE);
	CHECK(token_client_request(v->pk, NULL, 0, NULL, NULL, nonce, blind, &request) ==
	      VEIL_ERR_PARSE);
	CHECK(token_client_request(NULL, v->challenge, v->challenge_len, NULL, NULL, nonce, blind,
	                           &request) == VEIL_ERR_ARGUMENT);
}

/* The nonce and blind may be given in the very buffers that receive them. */
static void
case_inputs_may_alias_outputs(void)
{
	const vector *v = &vectors[0];
	uint8_t nonce[TOKEN_NONCE_SIZE], blind[TOKEN_SCALAR_SIZE], encoded[TOKEN_REQUEST_SIZE];
	token_request request;
	memcpy(nonce, v->nonce, sizeof(nonce));
	memcpy(blind, v->blind, sizeof(blind));
	CHECK(token_client_request(v->pk, v->challenge, v->challenge_len, nonce, blind, nonce,
	                           blind, &request) == VEIL_OK);
	token_request_encode(&request, encoded);
	CHECK_BYTES(encoded, v->request, TOKEN_REQUEST_SIZE);
	CHECK_BYTES(blind, v->blind, TOKEN_SCALAR_SIZE);
}

static void
case_keys_of_other_suites_are_refused(void)
{
	oprf_key *key = NULL;
	uint8_t pk[TOKEN_ELEMENT_SIZE], key_id[TOKEN_KEY_ID_SIZE];
	token_request request;
	token_response response;
	token t;
	int valid = 1;

	REQUIRE(oprf_key_generate(oprf_suite_by_name("P256-SHA256"), &key) == VEIL_OK);
	REQUIRE(token_request_decode(vectors[0].request, TOKEN_REQUEST_SIZE, &request) == VEIL_OK);
	REQUIRE(token_decode(vectors[0].token, TOKEN_SIZE, &t) == VEIL_OK);
	CHECK(token_issuer_public(key, pk, key_id) == VEIL_ERR_UNSUPPORTED);
	CHECK(token_issue(key, 1, &request, &response) == VEIL_ERR_UNSUPPORTED);
	CHECK(token_verify(key, &t, &valid) == VEIL_ERR_UNSUPPORTED);
	CHECK(valid == 0);
	oprf_key_free(key);
}

/* ---- the codecs ---- */

static void
case_challenges_decode_and_encode_back(void)
{
	for (size_t i = 0; i < vector_count; i++) {
		const vector *v = &vectors[i];
		token_challenge c;
		buf out;
		REQUIRE(token_challenge_decode(v->challenge, v->challenge_len, &c) == VEIL_OK);
		CHECK(c.issuer_name_len == 14 && memcmp(c.issuer_name, "issuer.example", 14) == 0);
		CHECK(c.redemption_context_len == 0 || c.redemption_context_len == 32);
		buf_init(&out);
		buf_append_str(&out, "kept");
		CHECK(token_challenge_encode(&c, &out) == VEIL_OK);
		CHECK(buf_len(&out) == 4 + v->challenge_len);
		CHECK(memcmp(buf_data(&out), "kept", 4) == 0);
		CHECK_BYTES((const uint8_t *)buf_data(&out) + 4, v->challenge, v->challenge_len);
		buf_free(&out);
	}
	/* The vectors hold both kinds of redemption context and of origin info. */
	token_challenge c;
	REQUIRE(token_challenge_decode(vectors[0].challenge, vectors[0].challenge_len, &c) ==
	        VEIL_OK);
	CHECK(c.redemption_context_len == 32 && c.origin_info_len == 14);
	CHECK(memcmp(c.origin_info, "origin.example", 14) == 0);
	REQUIRE(token_challenge_decode(vectors[3].challenge, vectors[3].challenge_len, &c) ==
	        VEIL_OK);
	CHECK(c.redemption_context_len == 0 && c.redemption_context == NULL);
	CHECK(c.origin_info_len == 0 && c.origin_info == NULL);
}

typedef struct encode_row {
	const char *name;
	size_t issuer_name_len, redemption_context_len, origin_info_len;
	int null_issuer_name, null_context, null_origin_info;
	veil_err want;
} encode_row;

static const encode_row encode_rows[] = {
        {"smallest", 1, 0, 0, 0, 0, 0, VEIL_OK},
        {"largest", 65535, 32, 65535, 0, 0, 0, VEIL_OK},
        {"empty issuer name", 0, 0, 0, 0, 0, 0, VEIL_ERR_ARGUMENT},
        {"issuer name too long", 65536, 0, 0, 0, 0, 0, VEIL_ERR_ARGUMENT},
        {"redemption context of 1 byte", 1, 1, 0, 0, 0, 0, VEIL_ERR_ARGUMENT},
        {"redemption context of 31 bytes", 1, 31, 0, 0, 0, 0, VEIL_ERR_ARGUMENT},
        {"redemption context of 33 bytes", 1, 33, 0, 0, 0, 0, VEIL_ERR_ARGUMENT},
        {"origin info too long", 1, 0, 65536, 0, 0, 0, VEIL_ERR_ARGUMENT},
        {"NULL issuer name", 1, 0, 0, 1, 0, 0, VEIL_ERR_ARGUMENT},
        {"NULL redemption context", 1, 32, 0, 0, 1, 0, VEIL_ERR_ARGUMENT},
        {"NULL origin info", 1, 0, 1, 0, 0, 1, VEIL_ERR_ARGUMENT},
};

static int
check_encode_row(const void *row)
{
	const encode_row *r = row;
	static uint8_t bytes[65536];
	token_challenge c = {
	        r->null_issuer_name ? NULL : bytes, r->issuer_name_len,
	        r->null_context ? NULL : bytes,     r->redemption_context_len,
	        r->null_origin_info ? NULL : bytes, r->origin_info_len,
	};
	token_challenge back;
	buf out;
	int ok;

	buf_init(&out);
	buf_append_str(&out, "kept");
	ok = token_challenge_encode(&c, &out) == r->want;
	if (r->want != VEIL_OK) {
		ok &= buf_len(&out) == 4 && buf_error(&out) == VEIL_OK;
		buf_free(&out);
		return ok;
	}
	ok &= buf_len(&out) ==
	      4 + 7 + r->issuer_name_len + r->redemption_context_len + r->origin_info_len;
	ok &= token_challenge_decode((const uint8_t *)buf_data(&out) + 4, buf_len(&out) - 4,
	                             &back) == VEIL_OK;
	ok &= back.issuer_name_len == r->issuer_name_len &&
	      back.redemption_context_len == r->redemption_context_len &&
	      back.origin_info_len == r->origin_info_len;
	buf_free(&out);
	return ok;
}

TEST_ROWS_CASE(case_challenge_encoder_limits, encode_rows, check_encode_row)

enum structure { CHALLENGE, REQUEST, RESPONSE, TOKEN };

/* A malformed (or well-formed) input for one decoder. */
typedef struct decode_row {
	const char *name;
	enum structure which;
	const char *hex; /* the input; "" for none */
	veil_err want;
} decode_row;

/* A request: type, key id f4, then a 49-byte element (its bytes unchecked). */
#define ELEMENT_SHORT_HEX                                                                          \
	"030ab3e23181d1e213f24315f5775983c678ce22eff9427610832ab3900f2cd12d6829a07ec8a6813cf0b5"   \
	"b886f4cc49"
#define ELEMENT_HEX ELEMENT_SHORT_HEX "79"
#define PROOF_HEX                                                                                  \
	"0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
	"0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
	"0000000000000000"
#define NONCE_HEX "6aa422c41b59d3e44a136dd439df2454e3587ee5f3697798cdc05fafe73073b8"
#define TOKEN_BODY_HEX                                                                             \
	NONCE_HEX NONCE_HEX NONCE_HEX                                                              \
	        "00112233445566778899aabbccddeeff00112233445566778899aabbccd"                      \
	        "deeff00112233445566778899aabbccddeeff"
#define CONTEXT_HEX "5de58a52fcdaef25ca3f65448d04e040fb1924e8264acfccfc6c5ad451d582b3"

static const decode_row decode_rows[] = {
        /* TokenChallenge: type, issuer_name, redemption_context, origin_info */
        {"challenge: smallest", CHALLENGE,
         "0001"
         "000161"
         "00"
         "0000",
         VEIL_OK},
        {"challenge: with context and origin", CHALLENGE,
         "0001"
         "000161"
         "20" CONTEXT_HEX "00026f6f",
         VEIL_OK},
        {"challenge: empty", CHALLENGE, "", VEIL_ERR_PARSE},
        {"challenge: one byte", CHALLENGE, "00", VEIL_ERR_PARSE},
        {"challenge: type 0x0002", CHALLENGE,
         "0002"
         "000161"
         "00"
         "0000",
         VEIL_ERR_UNSUPPORTED},
        {"challenge: type 0x0000", CHALLENGE,
         "0000"
         "000161"
         "00"
         "0000",
         VEIL_ERR_UNSUPPORTED},
        {"challenge: type only", CHALLENGE, "0001", VEIL_ERR_PARSE},
        {"challenge: empty issuer name", CHALLENGE,
         "0001"
         "0000"
         "00"
         "0000",
         VEIL_ERR_PARSE},
        {"challenge: issuer name cut short", CHALLENGE,
         "0001"
         "000561",
         VEIL_ERR_PARSE},
        {"challenge: no context length", CHALLENGE,
         "0001"
         "000161",
         VEIL_ERR_PARSE},
        {"challenge: context of 1 byte", CHALLENGE,
         "0001"
         "000161"
         "01aa"
         "0000",
         VEIL_ERR_PARSE},
        {"challenge: context of 33 bytes", CHALLENGE,
         "0001"
         "000161"
         "21" CONTEXT_HEX "aa"
         "0000",
         VEIL_ERR_PARSE},
        {"challenge: context cut short", CHALLENGE,
         "0001"
         "000161"
         "20"
         "aaaa",
         VEIL_ERR_PARSE},
        {"challenge: no origin info length", CHALLENGE,
         "0001"
         "000161"
         "00",
         VEIL_ERR_PARSE},
        {"challenge: half an origin info length", CHALLENGE,
         "0001"
         "000161"
         "00"
         "00",
         VEIL_ERR_PARSE},
        {"challenge: origin info cut short", CHALLENGE,
         "0001"
         "000161"
         "00"
         "00036f6f",
         VEIL_ERR_PARSE},
        {"challenge: trailing byte", CHALLENGE,
         "0001"
         "000161"
         "00"
         "0000"
         "00",
         VEIL_ERR_PARSE},
        /* TokenRequest */
        {"request: well formed", REQUEST,
         "0001"
         "f4" ELEMENT_HEX,
         VEIL_OK},
        {"request: empty", REQUEST, "", VEIL_ERR_PARSE},
        {"request: one byte", REQUEST, "00", VEIL_ERR_PARSE},
        {"request: type 0x0002", REQUEST,
         "0002"
         "f4" ELEMENT_HEX,
         VEIL_ERR_UNSUPPORTED},
        {"request: a byte short", REQUEST,
         "0001"
         "f4" ELEMENT_SHORT_HEX,
         VEIL_ERR_PARSE},
        {"request: trailing byte", REQUEST,
         "0001"
         "f4" ELEMENT_HEX "00",
         VEIL_ERR_PARSE},
        {"request: no element", REQUEST,
         "0001"
         "f4",
         VEIL_ERR_PARSE},
        /* TokenResponse: no type */
        {"response: well formed", RESPONSE, ELEMENT_HEX PROOF_HEX, VEIL_OK},
        {"response: empty", RESPONSE, "", VEIL_ERR_PARSE},
        {"response: no proof", RESPONSE, ELEMENT_HEX, VEIL_ERR_PARSE},
        {"response: trailing byte", RESPONSE, ELEMENT_HEX PROOF_HEX "00", VEIL_ERR_PARSE},
        /* Token */
        {"token: well formed", TOKEN, "0001" TOKEN_BODY_HEX, VEIL_OK},
        {"token: empty", TOKEN, "", VEIL_ERR_PARSE},
        {"token: one byte", TOKEN, "00", VEIL_ERR_PARSE},
        {"token: type 0x0002", TOKEN, "0002" TOKEN_BODY_HEX, VEIL_ERR_UNSUPPORTED},
        {"token: type 0x0100", TOKEN, "0100" TOKEN_BODY_HEX, VEIL_ERR_UNSUPPORTED},
        {"token: trailing byte", TOKEN, "0001" TOKEN_BODY_HEX "00", VEIL_ERR_PARSE},
        {"token: no authenticator", TOKEN, "0001" NONCE_HEX NONCE_HEX NONCE_HEX, VEIL_ERR_PARSE},
};

/* Decodes with the row's decoder into *out (prefilled with 0x55). */
static veil_err
decode_as(enum structure which, const uint8_t *in, size_t len, void *out, size_t *out_size)
{
	switch (which) {
	case CHALLENGE:
		*out_size = sizeof(token_challenge);
		return token_challenge_decode(in, len, out);
	case REQUEST:
		*out_size = sizeof(token_request);
		return token_request_decode(in, len, out);
	case RESPONSE:
		*out_size = sizeof(token_response);
		return token_response_decode(in, len, out);
	case TOKEN:
		*out_size = sizeof(token);
		return token_decode(in, len, out);
	}
	abort();
}

static int
check_decode_row(const void *row)
{
	const decode_row *r = row;
	union {
		token_challenge c;
		token_request q;
		token_response p;
		token t;
	} out;
	size_t len, out_size = 0;
	uint8_t *in = vectors_hex(r->hex, &len);
	int ok;

	memset(&out, 0x55, sizeof(out));
	ok = decode_as(r->which, len > 0 ? in : NULL, len, &out, &out_size) == r->want;
	if (r->want != VEIL_OK)
		ok &= all_zero(&out, out_size); /* nothing half-written escapes */
	else if (r->which == REQUEST)
		ok &= out.q.truncated_token_key_id == 0xf4 && out.q.blinded_msg[0] == 0x03;
	else if (r->which == TOKEN)
		ok &= out.t.authenticator[TOKEN_AUTHENTICATOR_SIZE - 1] == 0xff;
	free(in);
	return ok;
}

TEST_ROWS_CASE(case_decoders_refuse_malformed_input, decode_rows, check_decode_row)

/* Every redemption context length but 0 and 32, with its bytes present. */
static void
case_every_wrong_context_length_is_refused(void)
{
	uint8_t bytes[2 + 3 + 1 + 255 + 2] = {0x00, 0x01, 0x00, 0x01, 'a'};
	for (size_t n = 0; n <= 255; n++) {
		token_challenge c;
		bytes[5] = (uint8_t)n;
		memset(bytes + 6, 0xaa, n);
		bytes[6 + n] = 0;
		bytes[7 + n] = 0;
		const veil_err want = n == 0 || n == 32 ? VEIL_OK : VEIL_ERR_PARSE;
		CHECK_ROW(token_challenge_decode(bytes, 8 + n, &c) == want, "context length");
	}
}

static void
case_decoders_refuse_misuse(void)
{
	token_challenge c;
	token_request q;
	token_response p;
	token t;
	CHECK(token_challenge_decode(NULL, 3, &c) == VEIL_ERR_ARGUMENT);
	CHECK(token_challenge_decode(vectors[0].challenge, vectors[0].challenge_len, NULL) ==
	      VEIL_ERR_ARGUMENT);
	CHECK(token_request_decode(NULL, TOKEN_REQUEST_SIZE, &q) == VEIL_ERR_ARGUMENT);
	CHECK(token_response_decode(NULL, TOKEN_RESPONSE_SIZE, &p) == VEIL_ERR_ARGUMENT);
	CHECK(token_decode(NULL, TOKEN_SIZE, &t) == VEIL_ERR_ARGUMENT);
	CHECK(token_decode(vectors[0].token, TOKEN_SIZE, NULL) == VEIL_ERR_ARGUMENT);
	CHECK(token_challenge_encode(NULL, NULL) == VEIL_ERR_ARGUMENT);
}

static const test_case cases[] = {
        {"vectors: token_request byte for byte", case_vector_requests},
        {"vectors: token byte for byte from the token_response", case_vector_tokens},
        {"vectors: pkS and token_key_id from skS, and the token is valid", case_vector_verdicts},
        {"veil's challenge of two names is the RFC's, byte for byte", case_challenge_of_names},
        {"vectors: the issuer's shortcut gives the vector's authenticator",
         case_authenticate_gives_the_vector_authenticator},
        {"vectors: an issuer's own response finalizes to the vector's token",
         case_own_responses_finalize_to_the_vector_tokens},
        {"fresh nonces and blinds, issued in one batch", case_fresh_nonces_and_blinds_in_one_batch},
        {"a batch is all or nothing", case_a_batch_is_all_or_nothing},
        {"a flipped bit anywhere makes a token invalid", case_a_flipped_bit_makes_a_token_invalid},
        {"a token is valid under its key only", case_a_token_is_valid_under_its_key_only},
        {"a response under another key does not verify",
         case_a_response_under_another_key_does_not_verify},
        {"bad blinds and challenges are refused", case_bad_blinds_and_challenges_are_refused},
        {"the nonce and blind may alias their outputs", case_inputs_may_alias_outputs},
        {"keys of other suites are refused", case_keys_of_other_suites_are_refused},
        {"challenges decode and encode back", case_challenges_decode_and_encode_back},
        {"challenge encoder limits", case_challenge_encoder_limits},
        {"decoders refuse malformed input", case_decoders_refuse_malformed_input},
        {"every wrong redemption context length is refused",
         case_every_wrong_context_length_is_refused},
        {"decoders refuse misuse", case_decoders_refuse_misuse},
};

TEST_MAIN_WITH(cases, .usage = "rfc9578_type1_vectors.json", .arguments = 1, .setup = load_vectors,
               .teardown = free_vectors)

/*
 * Fuzzes the Privacy Pass token decoders (common/token.h) with the same
 * bytes as a TokenChallenge, a TokenRequest, a TokenResponse and a Token.
 * Whatever the bytes: a decoder that accepts them must encode what it
 * decoded back to exactly those bytes (nothing skipped, nothing
 * invented), and one that refuses them must leave its output zeroed and
 * say why with a documented error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
all_zero(const void *p, size_t n)
{
	return sodium_is_zero(p, n);
}

/* A refusal must be one of the documented ones, with nothing written. */
static void
check_refusal(veil_err err, const void *out, size_t out_size)
{
	if (err != VEIL_ERR_PARSE && err != VEIL_ERR_UNSUPPORTED)
		abort();
	if (!all_zero(out, out_size))
		abort();
}

/* Accepted bytes must come back as they were. */
static void
check_same(const uint8_t *encoded, size_t encoded_len, const uint8_t *data, size_t size)
{
	if (encoded_len != size || memcmp(encoded, data, size) != 0)
		abort();
}

static void
fuzz_challenge(const uint8_t *data, size_t size)
{
	token_challenge c;
	buf out;
	memset(&c, 0x55, sizeof(c));
	const veil_err err = token_challenge_decode(size > 0 ? data : NULL, size, &c);
	if (err != VEIL_OK) {
		check_refusal(err, &c, sizeof(c));
		return;
	}
	if (c.issuer_name_len == 0 || (c.redemption_context_len != 0 &&
	                               c.redemption_context_len != TOKEN_REDEMPTION_CONTEXT_SIZE))
		abort();
	buf_init(&out);
	if (token_challenge_encode(&c, &out) != VEIL_OK)
		abort();
	check_same((const uint8_t *)buf_data(&out), buf_len(&out), data, size);
	buf_free(&out);
}

static void
fuzz_request(const uint8_t *data, size_t size)
{
	token_request r;
	uint8_t encoded[TOKEN_REQUEST_SIZE];
	memset(&r, 0x55, sizeof(r));
	const veil_err err = token_request_decode(size > 0 ? data : NULL, size, &r);
	if (err != VEIL_OK) {
		check_refusal(err, &r, sizeof(r));
		return;
	}
	token_request_encode(&r, encoded);
	check_same(encoded, sizeof(encoded), data, size);
}

static void
fuzz_response(const uint8_t *data, size_t size)
{
	token_response r;
	uint8_t encoded[TOKEN_RESPONSE_SIZE];
	memset(&r, 0x55, sizeof(r));
	const veil_err err = token_response_decode(size > 0 ? data : NULL, size, &r);
	if (err != VEIL_OK) {
		if (err != VEIL_ERR_PARSE) /* no type field: never unsupported */
			abort();
		check_refusal(err, &r, sizeof(r));
		return;
	}
	token_response_encode(&r, encoded);
	check_same(encoded, sizeof(encoded), data, size);
}

static void
fuzz_token(const uint8_t *data, size_t size)
{
	token t;
	uint8_t encoded[TOKEN_SIZE];
	memset(&t, 0x55, sizeof(t));
	const veil_err err = token_decode(size > 0 ? data : NULL, size, &t);
	if (err != VEIL_OK) {
		check_refusal(err, &t, sizeof(t));
		return;
	}
	token_encode(&t, encoded);
	check_same(encoded, sizeof(encoded), data, size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_challenge(data, size);
	fuzz_request(data, size);
	fuzz_response(data, size);
	fuzz_token(data, size);
	return 0;
}

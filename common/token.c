#include "token.h"

#include <string.h>

#include <sodium.h>

#define SUITE_NAME "P384-SHA384"

/* Reads a big-endian 16-bit integer. */
static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The common start of the fixed-size decoders: the type, then the length. */
static veil_err
check_type_and_size(const uint8_t *in, size_t len, size_t size)
{
	if (len < 2)
		return VEIL_ERR_PARSE;
	if (get16(in) != TOKEN_TYPE_PRIVATE)
		return VEIL_ERR_UNSUPPORTED;
	return len == size ? VEIL_OK : VEIL_ERR_PARSE;
}

veil_err
token_challenge_encode(const token_challenge *c, buf *out)
{
	uint8_t head[2 + 2], len8;
	uint8_t len16[2];

	if (c == NULL || out == NULL)
		return VEIL_ERR_ARGUMENT;
	if (c->issuer_name_len == 0 || c->issuer_name_len > TOKEN_ISSUER_NAME_MAX_SIZE ||
	    c->issuer_name == NULL)
		return VEIL_ERR_ARGUMENT;
	if ((c->redemption_context_len != 0 &&
	     c->redemption_context_len != TOKEN_REDEMPTION_CONTEXT_SIZE) ||
	    (c->redemption_context_len != 0 && c->redemption_context == NULL))
		return VEIL_ERR_ARGUMENT;
	if (c->origin_info_len > TOKEN_ORIGIN_INFO_MAX_SIZE ||
	    (c->origin_info_len != 0 && c->origin_info == NULL))
		return VEIL_ERR_ARGUMENT;

	const size_t mark = buf_len(out);
	put16(head, TOKEN_TYPE_PRIVATE);
	put16(head + 2, (uint16_t)c->issuer_name_len);
	len8 = (uint8_t)c->redemption_context_len;
	put16(len16, (uint16_t)c->origin_info_len);
	buf_append(out, head, sizeof(head));
	buf_append(out, c->issuer_name, c->issuer_name_len);
	buf_append(out, &len8, 1);
	buf_append(out, c->redemption_context, c->redemption_context_len);
	buf_append(out, len16, sizeof(len16));
	buf_append(out, c->origin_info, c->origin_info_len);
	const veil_err err = buf_error(out);
	if (err != VEIL_OK && buf_len(out) > mark)
		buf_truncate(out, mark);
	return err;
}

veil_err
token_challenge_decode(const uint8_t *in, size_t len, token_challenge *out)
{
	size_t at = 2, n;

	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (in == NULL && len > 0)
		return VEIL_ERR_ARGUMENT;
	if (len < 2)
		return VEIL_ERR_PARSE;
	if (get16(in) != TOKEN_TYPE_PRIVATE)
		return VEIL_ERR_UNSUPPORTED;

	token_challenge c;
	memset(&c, 0, sizeof(c));
	if (len - at < 2)
		return VEIL_ERR_PARSE;
	n = get16(in + at);
	at += 2;
	if (n == 0 || len - at < n)
		return VEIL_ERR_PARSE;
	c.issuer_name = in + at;
	c.issuer_name_len = n;
	at += n;

	if (len - at < 1)
		return VEIL_ERR_PARSE;
	n = in[at++];
	if ((n != 0 && n != TOKEN_REDEMPTION_CONTEXT_SIZE) || len - at < n)
		return VEIL_ERR_PARSE;
	c.redemption_context = n > 0 ? in + at : NULL;
	c.redemption_context_len = n;
	at += n;

	if (len - at < 2)
		return VEIL_ERR_PARSE;
	n = get16(in + at);
	at += 2;
	if (len - at != n) /* short, or trailing bytes */
		return VEIL_ERR_PARSE;
	c.origin_info = n > 0 ? in + at : NULL;
	c.origin_info_len = n;

	*out = c;
	return VEIL_OK;
}

void
token_challenge_digest(const uint8_t *challenge, size_t len,
                       uint8_t digest_out[static TOKEN_DIGEST_SIZE])
{
	crypto_hash_sha256(digest_out, challenge, len);
}

void
token_request_encode(const token_request *r, uint8_t out[static TOKEN_REQUEST_SIZE])
{
	put16(out, TOKEN_TYPE_PRIVATE);
	out[2] = r->truncated_token_key_id;
	memcpy(out + 3, r->blinded_msg, TOKEN_ELEMENT_SIZE);
}

veil_err
token_request_decode(const uint8_t *in, size_t len, token_request *out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (in == NULL && len > 0)
		return VEIL_ERR_ARGUMENT;
	const veil_err err = check_type_and_size(in, len, TOKEN_REQUEST_SIZE);
	if (err != VEIL_OK)
		return err;
	out->truncated_token_key_id = in[2];
	memcpy(out->blinded_msg, in + 3, TOKEN_ELEMENT_SIZE);
	return VEIL_OK;
}

void
token_response_encode(const token_response *r, uint8_t out[static TOKEN_RESPONSE_SIZE])
{
	memcpy(out, r->evaluate_msg, TOKEN_ELEMENT_SIZE);
	memcpy(out + TOKEN_ELEMENT_SIZE, r->evaluate_proof, TOKEN_PROOF_SIZE);
}

veil_err
token_response_decode(const uint8_t *in, size_t len, token_response *out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (in == NULL && len > 0)
		return VEIL_ERR_ARGUMENT;
	if (len != TOKEN_RESPONSE_SIZE)
		return VEIL_ERR_PARSE;
	memcpy(out->evaluate_msg, in, TOKEN_ELEMENT_SIZE);
	memcpy(out->evaluate_proof, in + TOKEN_ELEMENT_SIZE, TOKEN_PROOF_SIZE);
	return VEIL_OK;
}

/* token_type | nonce | challenge_digest | token_key_id: a token's first bytes. */
static void
write_token_input(uint8_t out[static TOKEN_INPUT_SIZE], const uint8_t *nonce,
                  const uint8_t *challenge_digest, const uint8_t *key_id)
{
	put16(out, TOKEN_TYPE_PRIVATE);
	memcpy(out + 2, nonce, TOKEN_NONCE_SIZE);
	memcpy(out + 2 + TOKEN_NONCE_SIZE, challenge_digest, TOKEN_DIGEST_SIZE);
	memcpy(out + 2 + TOKEN_NONCE_SIZE + TOKEN_DIGEST_SIZE, key_id, TOKEN_KEY_ID_SIZE);
}

void
token_encode(const token *t, uint8_t out[static TOKEN_SIZE])
{
	write_token_input(out, t->nonce, t->challenge_digest, t->token_key_id);
	memcpy(out + TOKEN_INPUT_SIZE, t->authenticator, TOKEN_AUTHENTICATOR_SIZE);
}

veil_err
token_decode(const uint8_t *in, size_t len, token *out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (in == NULL && len > 0)
		return VEIL_ERR_ARGUMENT;
	const veil_err err = check_type_and_size(in, len, TOKEN_SIZE);
	if (err != VEIL_OK)
		return err;
	const uint8_t *p = in + 2;
	memcpy(out->nonce, p, TOKEN_NONCE_SIZE);
	p += TOKEN_NONCE_SIZE;
	memcpy(out->challenge_digest, p, TOKEN_DIGEST_SIZE);
	p += TOKEN_DIGEST_SIZE;
	memcpy(out->token_key_id, p, TOKEN_KEY_ID_SIZE);
	p += TOKEN_KEY_ID_SIZE;
	memcpy(out->authenticator, p, TOKEN_AUTHENTICATOR_SIZE);
	return VEIL_OK;
}

const oprf_suite *
token_suite(void)
{
	return oprf_suite_by_name(SUITE_NAME);
}

void
token_key_id(const uint8_t pk[static TOKEN_ELEMENT_SIZE],
             uint8_t key_id_out[static TOKEN_KEY_ID_SIZE])
{
	crypto_hash_sha256(key_id_out, pk, TOKEN_ELEMENT_SIZE);
}

/* Whether key is a key of the token suite (whose sizes this file assumes). */
static int
is_token_key(const oprf_key *key)
{
	const oprf_suite *suite = token_suite();
	return suite != NULL && oprf_key_suite(key) == suite;
}

veil_err
token_issuer_public(const oprf_key *key, uint8_t *pk_out, uint8_t *key_id_out)
{
	if (pk_out == NULL || key_id_out == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(pk_out, 0, TOKEN_ELEMENT_SIZE);
	memset(key_id_out, 0, TOKEN_KEY_ID_SIZE);
	if (key == NULL)
		return VEIL_ERR_ARGUMENT;
	if (!is_token_key(key))
		return VEIL_ERR_UNSUPPORTED;
	oprf_key_public(key, pk_out);
	token_key_id(pk_out, key_id_out);
	return VEIL_OK;
}

/* A VOPRF context of the token suite. */
static veil_err
token_ctx(oprf_ctx **out)
{
	const oprf_suite *suite = token_suite();
	if (suite == NULL)
		return VEIL_ERR_UNSUPPORTED;
	return oprf_ctx_new(suite, OPRF_MODE_VOPRF, out);
}

/* The token input of the client's request: checks the challenge first. */
static veil_err
client_token_input(const uint8_t *pk, const uint8_t *challenge, size_t challenge_len,
                   const uint8_t *nonce, uint8_t input_out[static TOKEN_INPUT_SIZE])
{
	token_challenge decoded;
	uint8_t digest[TOKEN_DIGEST_SIZE], key_id[TOKEN_KEY_ID_SIZE];

	const veil_err err = token_challenge_decode(challenge, challenge_len, &decoded);
	if (err != VEIL_OK)
		return err;
	token_challenge_digest(challenge, challenge_len, digest);
	token_key_id(pk, key_id);
	write_token_input(input_out, nonce, digest, key_id);
	return VEIL_OK;
}

veil_err
token_client_request(const uint8_t *pk, const uint8_t *challenge, size_t challenge_len,
                     const uint8_t *nonce_in, const uint8_t *blind_in, uint8_t *nonce_out,
                     uint8_t *blind_out, token_request *request_out)
{
	uint8_t nonce[TOKEN_NONCE_SIZE], blind[TOKEN_SCALAR_SIZE], input[TOKEN_INPUT_SIZE];
	token_request request;
	oprf_ctx *ctx = NULL;
	veil_err err;

	if (nonce_out == NULL || blind_out == NULL || request_out == NULL)
		return VEIL_ERR_ARGUMENT;
	/* Read the inputs before the outputs are cleared: they may alias. */
	if (nonce_in != NULL)
		memcpy(nonce, nonce_in, sizeof(nonce));
	else
		randombytes_buf(nonce, sizeof(nonce));
	if (blind_in != NULL)
		memcpy(blind, blind_in, sizeof(blind));
	memset(nonce_out, 0, TOKEN_NONCE_SIZE);
	memset(blind_out, 0, TOKEN_SCALAR_SIZE);
	memset(request_out, 0, sizeof(*request_out));
	memset(&request, 0, sizeof(request));
	if (pk == NULL || (challenge == NULL && challenge_len > 0)) {
		err = VEIL_ERR_ARGUMENT;
		goto out;
	}
	if ((err = client_token_input(pk, challenge, challenge_len, nonce, input)) != VEIL_OK ||
	    (err = token_ctx(&ctx)) != VEIL_OK)
		goto out;
	err = oprf_blind(ctx, input, sizeof(input), blind_in != NULL ? blind : NULL, blind,
	                 request.blinded_msg);
	if (err != VEIL_OK)
		goto out;
	/* The last byte of token_key_id, which sits at the end of the input. */
	request.truncated_token_key_id = input[TOKEN_INPUT_SIZE - 1];
	memcpy(nonce_out, nonce, TOKEN_NONCE_SIZE);
	memcpy(blind_out, blind, TOKEN_SCALAR_SIZE);
	*request_out = request;
out:
	oprf_ctx_free(ctx);
	sodium_memzero(blind, sizeof(blind));
	sodium_memzero(nonce, sizeof(nonce));
	sodium_memzero(input, sizeof(input));
	sodium_memzero(&request, sizeof(request));
	return err;
}

veil_err
token_client_finalize(const uint8_t *pk, const uint8_t *challenge, size_t challenge_len,
                      const uint8_t *nonce, const uint8_t *blind, const token_response *response,
                      token *token_out)
{
	uint8_t input[TOKEN_INPUT_SIZE], blind_used[TOKEN_SCALAR_SIZE];
	uint8_t blinded[TOKEN_ELEMENT_SIZE], authenticator[TOKEN_AUTHENTICATOR_SIZE];
	oprf_ctx *ctx = NULL;
	veil_err err;

	if (token_out == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(token_out, 0, sizeof(*token_out));
	if (pk == NULL || (challenge == NULL && challenge_len > 0) || nonce == NULL ||
	    blind == NULL || response == NULL)
		return VEIL_ERR_ARGUMENT;
	if ((err = client_token_input(pk, challenge, challenge_len, nonce, input)) != VEIL_OK ||
	    (err = token_ctx(&ctx)) != VEIL_OK)
		goto out;
	/* The blinded element the proof covers: Blind again, with the same blind. */
	err = oprf_blind(ctx, input, sizeof(input), blind, blind_used, blinded);
	if (err != VEIL_OK)
		goto out;
	const uint8_t *inputs[1] = {input};
	const size_t input_lens[1] = {sizeof(input)};
	err = oprf_finalize(ctx, pk, NULL, 0, 1, inputs, input_lens, blind, blinded,
	                    response->evaluate_msg, response->evaluate_proof, authenticator);
	if (err != VEIL_OK)
		goto out;
	memcpy(token_out->nonce, input + 2, TOKEN_NONCE_SIZE);
	memcpy(token_out->challenge_digest, input + 2 + TOKEN_NONCE_SIZE, TOKEN_DIGEST_SIZE);
	memcpy(token_out->token_key_id, input + 2 + TOKEN_NONCE_SIZE + TOKEN_DIGEST_SIZE,
	       TOKEN_KEY_ID_SIZE);
	memcpy(token_out->authenticator, authenticator, TOKEN_AUTHENTICATOR_SIZE);
out:
	oprf_ctx_free(ctx);
	sodium_memzero(input, sizeof(input));
	sodium_memzero(blind_used, sizeof(blind_used));
	sodium_memzero(blinded, sizeof(blinded));
	sodium_memzero(authenticator, sizeof(authenticator));
	return err;
}

veil_err
token_issue(const oprf_key *key, size_t count, const token_request requests[],
            token_response responses_out[])
{
	uint8_t pk[TOKEN_ELEMENT_SIZE], key_id[TOKEN_KEY_ID_SIZE];
	oprf_ctx *ctx = NULL;
	veil_err err;

	if (responses_out == NULL)
		return VEIL_ERR_ARGUMENT;
	if (count > TOKEN_MAX_BATCH)
		return VEIL_ERR_LIMIT;
	memset(responses_out, 0, count * sizeof(*responses_out));
	if (key == NULL || requests == NULL || count == 0)
		return VEIL_ERR_ARGUMENT;
	if ((err = token_issuer_public(key, pk, key_id)) != VEIL_OK)
		return err;
	for (size_t i = 0; i < count; i++)
		if (requests[i].truncated_token_key_id != key_id[TOKEN_KEY_ID_SIZE - 1])
			return VEIL_ERR_NOT_FOUND;
	if ((err = token_ctx(&ctx)) != VEIL_OK)
		return err;
	/* One proof per response: each TokenResponse is verified alone. */
	for (size_t i = 0; i < count && err == VEIL_OK; i++) {
		token_response *r = &responses_out[i];
		err = oprf_blind_evaluate(ctx, key, NULL, 0, 1, requests[i].blinded_msg,
		                          r->evaluate_msg, NULL, r->evaluate_proof);
	}
	if (err != VEIL_OK)
		memset(responses_out, 0, count * sizeof(*responses_out));
	oprf_ctx_free(ctx);
	return err;
}

/* authenticator_out = F(skI, token_input of t), the token's authenticator as the issuer computes
 * it. */
static veil_err
authenticator_of(const oprf_key *key, const token *t,
                 uint8_t authenticator_out[TOKEN_AUTHENTICATOR_SIZE])
{
	uint8_t input[TOKEN_INPUT_SIZE];
	oprf_ctx *ctx = NULL;
	veil_err err;

	if (!is_token_key(key))
		return VEIL_ERR_UNSUPPORTED;
	if ((err = token_ctx(&ctx)) != VEIL_OK)
		return err;
	write_token_input(input, t->nonce, t->challenge_digest, t->token_key_id);
	err = oprf_evaluate(ctx, key, NULL, 0, input, sizeof(input), authenticator_out);
	oprf_ctx_free(ctx);
	return err;
}

veil_err
token_verify(const oprf_key *key, const token *t, int *valid_out)
{
	uint8_t authenticator[TOKEN_AUTHENTICATOR_SIZE];

	if (valid_out == NULL)
		return VEIL_ERR_ARGUMENT;
	*valid_out = 0;
	if (key == NULL || t == NULL)
		return VEIL_ERR_ARGUMENT;
	veil_err err = authenticator_of(key, t, authenticator);
	if (err == VEIL_OK)
		*valid_out = sodium_memcmp(authenticator, t->authenticator,
		                           TOKEN_AUTHENTICATOR_SIZE) == 0;
	sodium_memzero(authenticator, sizeof(authenticator));
	return err;
}

veil_err
token_authenticate(const oprf_key *key, token *t)
{
	if (t != NULL)
		sodium_memzero(t->authenticator, sizeof(t->authenticator));
	if (key == NULL || t == NULL)
		return VEIL_ERR_ARGUMENT;
	return authenticator_of(key, t, t->authenticator);
}

int
token_name_valid(const char *name)
{
	if (name == NULL)
		return 0;
	const size_t len = strnlen(name, TOKEN_NAME_MAX + 1);
	if (len == 0 || len > TOKEN_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return 0;
	return 1;
}

veil_err
token_challenge_of(const char *issuer_name, const char *origin, buf *out)
{
	if (out == NULL || !token_name_valid(issuer_name) || !token_name_valid(origin))
		return VEIL_ERR_ARGUMENT;
	const token_challenge c = {
	        .issuer_name = (const uint8_t *)issuer_name,
	        .issuer_name_len = strlen(issuer_name),
	        .origin_info = (const uint8_t *)origin,
	        .origin_info_len = strlen(origin),
	};
	return token_challenge_encode(&c, out);
}

veil_err
token_challenge_digest_of(const char *issuer_name, const char *origin,
                          uint8_t digest_out[TOKEN_DIGEST_SIZE])
{
	if (digest_out == NULL)
		return VEIL_ERR_ARGUMENT;
	buf c;
	buf_init(&c);
	veil_err err = token_challenge_of(issuer_name, origin, &c);
	if (err == VEIL_OK)
		token_challenge_digest((const uint8_t *)buf_data(&c), buf_len(&c), digest_out);
	buf_free(&c);
	return err;
}

/* veil_oprf_*(): the RFC 9497 primitives of common/oprf.h, one element at
 * a time, for researchers and tests (documented in veil_client.h). */
#include "veil_client.h"

#include <sodium.h>
#include <string.h>

#include "oprf.h"

/* The OPRF-mode context of suite, checked as the header says. */
static veil_err
context(const char *suite, veil_mode mode, oprf_ctx **out)
{
	*out = NULL;
	if (suite == NULL)
		return VEIL_ERR_ARGUMENT;
	veil_err err = veil_crypto_init();
	if (err != VEIL_OK)
		return err;
	const oprf_suite *s = oprf_suite_by_name(suite);
	if (s == NULL || mode != VEIL_MODE_OPRF)
		return VEIL_ERR_UNSUPPORTED;
	return oprf_ctx_new(s, OPRF_MODE_OPRF, out);
}

/* The key pair of the serialized secret sk (sk_len bytes) on ctx's suite. */
static veil_err
import_key(const oprf_ctx *ctx, const uint8_t *sk, size_t sk_len, oprf_key **out)
{
	*out = NULL;
	const oprf_suite *s = oprf_ctx_suite(ctx);
	if (sk == NULL || sk_len != oprf_suite_scalar_size(s))
		return VEIL_ERR_ARGUMENT;
	return oprf_key_import(s, sk, out);
}

veil_err
veil_oprf_sizes(const char *suite, size_t *element_size, size_t *scalar_size, size_t *output_size)
{
	if (suite == NULL)
		return VEIL_ERR_ARGUMENT;
	const oprf_suite *s = oprf_suite_by_name(suite);
	if (s == NULL)
		return VEIL_ERR_UNSUPPORTED;
	if (element_size != NULL)
		*element_size = oprf_suite_element_size(s);
	if (scalar_size != NULL)
		*scalar_size = oprf_suite_scalar_size(s);
	if (output_size != NULL)
		*output_size = oprf_suite_output_size(s);
	return VEIL_OK;
}

veil_err
veil_oprf_derive_key(const char *suite, veil_mode mode, const uint8_t *seed, size_t seed_len,
                     const uint8_t *info, size_t info_len, uint8_t *sk_out)
{
	oprf_ctx *ctx;
	veil_err err = context(suite, mode, &ctx);
	if (err != VEIL_OK)
		return err;
	oprf_key *key = NULL;
	if (seed == NULL || sk_out == NULL)
		err = VEIL_ERR_ARGUMENT;
	else if ((err = oprf_key_derive(ctx, seed, seed_len, info, info_len, &key)) == VEIL_OK)
		oprf_key_export_secret(key, sk_out);
	else
		sodium_memzero(sk_out, oprf_suite_scalar_size(oprf_ctx_suite(ctx)));
	oprf_key_free(key);
	oprf_ctx_free(ctx);
	return err;
}

veil_err
veil_oprf_blind(const char *suite, veil_mode mode, const uint8_t *input, size_t input_len,
                const uint8_t *blind_in, uint8_t *blind_out, uint8_t *blinded_out)
{
	oprf_ctx *ctx;
	veil_err err = context(suite, mode, &ctx);
	if (err != VEIL_OK)
		return err;
	if (input == NULL && input_len == 0)
		input = (const uint8_t *)""; /* the empty input is an input */
	err = oprf_blind(ctx, input, input_len, blind_in, blind_out, blinded_out);
	oprf_ctx_free(ctx);
	return err;
}

veil_err
veil_oprf_blind_evaluate(const char *suite, veil_mode mode, const uint8_t *sk, size_t sk_len,
                         const uint8_t *blinded, uint8_t *evaluated_out)
{
	oprf_ctx *ctx;
	veil_err err = context(suite, mode, &ctx);
	if (err != VEIL_OK)
		return err;
	oprf_key *key;
	if ((err = import_key(ctx, sk, sk_len, &key)) == VEIL_OK)
		err = oprf_blind_evaluate(ctx, key, NULL, 0, 1, blinded, evaluated_out, NULL, NULL);
	else if (evaluated_out != NULL)
		memset(evaluated_out, 0, oprf_suite_element_size(oprf_ctx_suite(ctx)));
	oprf_key_free(key);
	oprf_ctx_free(ctx);
	return err;
}

veil_err
veil_oprf_finalize(const char *suite, veil_mode mode, const uint8_t *input, size_t input_len,
                   const uint8_t *blind, const uint8_t *blinded, const uint8_t *evaluated,
                   uint8_t *output_out)
{
	oprf_ctx *ctx;
	veil_err err = context(suite, mode, &ctx);
	if (err != VEIL_OK)
		return err;
	if (input == NULL && input_len == 0)
		input = (const uint8_t *)"";
	const uint8_t *const inputs[1] = {input};
	const size_t lens[1] = {input_len};
	err = oprf_finalize(ctx, NULL, NULL, 0, 1, inputs, lens, blind, blinded, evaluated, NULL,
	                    output_out);
	oprf_ctx_free(ctx);
	return err;
}

veil_err
veil_oprf_evaluate(const char *suite, veil_mode mode, const uint8_t *sk, size_t sk_len,
                   const uint8_t *input, size_t input_len, uint8_t *output_out)
{
	oprf_ctx *ctx;
	veil_err err = context(suite, mode, &ctx);
	if (err != VEIL_OK)
		return err;
	if (input == NULL && input_len == 0)
		input = (const uint8_t *)"";
	oprf_key *key;
	if ((err = import_key(ctx, sk, sk_len, &key)) == VEIL_OK)
		err = oprf_evaluate(ctx, key, NULL, 0, input, input_len, output_out);
	else if (output_out != NULL)
		memset(output_out, 0, oprf_suite_output_size(oprf_ctx_suite(ctx)));
	oprf_key_free(key);
	oprf_ctx_free(ctx);
	return err;
}

#include "xmd.h"

#include <string.h>

static const char oversize_prefix[] = "H2C-OVERSIZE-DST-";

veil_err
xmd_expand(const hash_alg *h, const uint8_t *msg, size_t msg_len, const uint8_t *dst,
           size_t dst_len, uint8_t *out, size_t out_len)
{
	static const uint8_t zero_block[128];
	uint8_t short_dst[HASH_MAX_OUTPUT_SIZE];
	uint8_t b0[HASH_MAX_OUTPUT_SIZE], bi[HASH_MAX_OUTPUT_SIZE];
	hash_state state;
	veil_err err = VEIL_OK;

	if (out == NULL || (msg == NULL && msg_len != 0) || (dst == NULL && dst_len != 0))
		return VEIL_ERR_ARGUMENT;
	const size_t b = h->output_size;
	const size_t ell = (out_len + b - 1) / b;
	if (out_len == 0 || out_len > XMD_MAX_OUTPUT_SIZE || ell > 255) {
		err = VEIL_ERR_LIMIT;
		goto out;
	}
	if (dst_len > 255) {
		h->init(&state);
		h->update(&state, (const uint8_t *)oversize_prefix, sizeof(oversize_prefix) - 1);
		h->update(&state, dst, dst_len);
		h->final(&state, short_dst);
		dst = short_dst;
		dst_len = b;
	}
	const uint8_t dst_len_byte = (uint8_t)dst_len;
	const uint8_t len_and_zero[3] = {(uint8_t)(out_len >> 8), (uint8_t)out_len, 0};

	/* b_0 = H(Z_pad || msg || I2OSP(len, 2) || I2OSP(0, 1) || DST_prime) */
	h->init(&state);
	h->update(&state, zero_block, h->block_size);
	h->update(&state, msg, msg_len);
	h->update(&state, len_and_zero, sizeof(len_and_zero));
	h->update(&state, dst, dst_len);
	h->update(&state, &dst_len_byte, 1);
	h->final(&state, b0);

	/* b_1 = H(b_0 || I2OSP(1, 1) || DST_prime);
	 * b_i = H(strxor(b_0, b_(i-1)) || I2OSP(i, 1) || DST_prime) */
	memcpy(bi, b0, b);
	for (size_t i = 1; i <= ell; i++) {
		const uint8_t counter = (uint8_t)i;
		if (i > 1)
			for (size_t j = 0; j < b; j++)
				bi[j] ^= b0[j];
		h->init(&state);
		h->update(&state, bi, b);
		h->update(&state, &counter, 1);
		h->update(&state, dst, dst_len);
		h->update(&state, &dst_len_byte, 1);
		h->final(&state, bi);
		const size_t offset = (i - 1) * b;
		const size_t take = out_len - offset < b ? out_len - offset : b;
		memcpy(out + offset, bi, take);
	}
out:
	if (err != VEIL_OK && out != NULL && out_len <= XMD_MAX_OUTPUT_SIZE)
		sodium_memzero(out, out_len);
	sodium_memzero(b0, sizeof(b0));
	sodium_memzero(bi, sizeof(bi));
	sodium_memzero(&state, sizeof(state));
	return err;
}

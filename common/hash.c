#include "hash.h"

/*
 * libsodium's SHA-2 functions behind the hash_alg interface: the same
 * three wrappers and descriptor for each output size.
 */
#define HASH_SHA2(bits, block)                                                                     \
	static void sha##bits##_init(hash_state *state)                                            \
	{                                                                                          \
		crypto_hash_sha##bits##_init(&state->sha##bits);                                   \
	}                                                                                          \
                                                                                                   \
	static void sha##bits##_update(hash_state *state, const uint8_t *data, size_t len)         \
	{                                                                                          \
		crypto_hash_sha##bits##_update(&state->sha##bits, data, len);                      \
	}                                                                                          \
                                                                                                   \
	static void sha##bits##_final(hash_state *state, uint8_t *out)                             \
	{                                                                                          \
		crypto_hash_sha##bits##_final(&state->sha##bits, out);                             \
		sodium_memzero(state, sizeof(*state));                                             \
	}                                                                                          \
                                                                                                   \
	const hash_alg hash_sha##bits = {                                                          \
	        .name = "SHA" #bits,                                                               \
	        .output_size = crypto_hash_sha##bits##_BYTES,                                      \
	        .block_size = (block),                                                             \
	        .init = sha##bits##_init,                                                          \
	        .update = sha##bits##_update,                                                      \
	        .final = sha##bits##_final,                                                        \
	};

HASH_SHA2(256, 64)
HASH_SHA2(512, 128)

void
hash_once(const hash_alg *h, const uint8_t *data, size_t len, uint8_t *out)
{
	hash_state state;

	h->init(&state);
	h->update(&state, data, len);
	h->final(&state, out);
}

void
hash_update_prefixed(const hash_alg *h, hash_state *state, const uint8_t *data, size_t len)
{
	const uint8_t prefix[2] = {(uint8_t)(len >> 8), (uint8_t)len};

	h->update(state, prefix, sizeof(prefix));
	h->update(state, data, len);
}

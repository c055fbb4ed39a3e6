#include "hash.h"

#include <string.h>

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

/*
 * SHA-384 (FIPS 180-4 section 6.5) is SHA-512 started from other initial
 * values and cut to 48 bytes. libsodium has no SHA-384, but its SHA-512
 * state keeps the chaining values in the public member state[] (as native
 * integers, before any byte is absorbed): set them to SHA-384's and the
 * SHA-512 code does the rest.
 */
static const uint64_t sha384_initial_state[8] = {
        0xcbbb9d5dc1059ed8, 0x629a292a367cd507, 0x9159015a3070dd17, 0x152fecd8f70e5939,
        0x67332667ffc00b31, 0x8eb44a8768581511, 0xdb0c2e0d64f98fa7, 0x47b5481dbefa4fa4,
};

static void
sha384_init(hash_state *state)
{
	crypto_hash_sha512_init(&state->sha512);
	memcpy(state->sha512.state, sha384_initial_state, sizeof(sha384_initial_state));
}

static void
sha384_final(hash_state *state, uint8_t *out)
{
	uint8_t full[crypto_hash_sha512_BYTES];

	crypto_hash_sha512_final(&state->sha512, full);
	memcpy(out, full, HASH_SHA384_BYTES);
	sodium_memzero(full, sizeof(full));
	sodium_memzero(state, sizeof(*state));
}

const hash_alg hash_sha384 = {
        .name = "SHA384",
        .output_size = HASH_SHA384_BYTES,
        .block_size = 128,
        .init = sha384_init,
        .update = sha512_update,
        .final = sha384_final,
};

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

#include "hash.h"

static void
sha256_init(hash_state *state)
{
	crypto_hash_sha256_init(&state->sha256);
}

static void
sha256_update(hash_state *state, const uint8_t *data, size_t len)
{
	crypto_hash_sha256_update(&state->sha256, data, len);
}

static void
sha256_final(hash_state *state, uint8_t *out)
{
	crypto_hash_sha256_final(&state->sha256, out);
	sodium_memzero(state, sizeof(*state));
}

static void
sha512_init(hash_state *state)
{
	crypto_hash_sha512_init(&state->sha512);
}

static void
sha512_update(hash_state *state, const uint8_t *data, size_t len)
{
	crypto_hash_sha512_update(&state->sha512, data, len);
}

static void
sha512_final(hash_state *state, uint8_t *out)
{
	crypto_hash_sha512_final(&state->sha512, out);
	sodium_memzero(state, sizeof(*state));
}

const hash_alg hash_sha256 = {
	.name = "SHA256",
	.output_size = crypto_hash_sha256_BYTES,
	.block_size = 64,
	.init = sha256_init,
	.update = sha256_update,
	.final = sha256_final,
};

const hash_alg hash_sha512 = {
	.name = "SHA512",
	.output_size = crypto_hash_sha512_BYTES,
	.block_size = 128,
	.init = sha512_init,
	.update = sha512_update,
	.final = sha512_final,
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

#include "entry.h"

#include <string.h>

#include <sodium.h>

#define BUCKET_DOMAIN  "veil-bucket-v1"
#define TAG_DOMAIN     "veil-tag-v1"
#define PAYLOAD_DOMAIN "veil-payload-v1"
#define PLAIN_SIZE     (1 + ENTRY_MAX_PAYLOAD)
#define NONCE_SIZE     crypto_aead_xchacha20poly1305_ietf_NPUBBYTES

_Static_assert(ENTRY_SEALED_PAYLOAD_SIZE ==
                       NONCE_SIZE + PLAIN_SIZE + crypto_aead_xchacha20poly1305_ietf_ABYTES,
               "sealed payload layout");

uint32_t
entry_bucket(const char *handle, size_t handle_len)
{
	crypto_hash_sha512_state state;
	uint8_t digest[crypto_hash_sha512_BYTES];

	crypto_hash_sha512_init(&state);
	crypto_hash_sha512_update(&state, (const uint8_t *)BUCKET_DOMAIN, sizeof(BUCKET_DOMAIN));
	crypto_hash_sha512_update(&state, (const uint8_t *)handle, handle_len);
	crypto_hash_sha512_final(&state, digest);
	return (uint32_t)digest[0] << 24 | (uint32_t)digest[1] << 16 | (uint32_t)digest[2] << 8 |
	       digest[3];
}

uint32_t
entry_prefix(uint32_t bucket, unsigned prefix_bits)
{
	if (prefix_bits == 0)
		return 0;
	if (prefix_bits >= 32)
		return bucket;
	return bucket & ~(UINT32_MAX >> prefix_bits);
}

/* BLAKE2b-256(key = y, message = domain) */
static veil_err
derive(const uint8_t *y, size_t y_len, const char *domain, uint8_t out[32])
{
	if (y_len < crypto_generichash_KEYBYTES_MIN || y_len > crypto_generichash_KEYBYTES_MAX)
		return VEIL_ERR_ARGUMENT;
	if (crypto_generichash(out, 32, (const uint8_t *)domain, strlen(domain), y, y_len) != 0)
		return VEIL_ERR_CRYPTO;
	return VEIL_OK;
}

veil_err
entry_tag(const uint8_t *y, size_t y_len, uint8_t *tag, size_t tag_len)
{
	uint8_t full[32];
	if (tag_len < ENTRY_MIN_TAG_SIZE || tag_len > ENTRY_MAX_TAG_SIZE)
		return VEIL_ERR_ARGUMENT;
	veil_err err = derive(y, y_len, TAG_DOMAIN, full);
	if (err == VEIL_OK)
		memcpy(tag, full, tag_len);
	sodium_memzero(full, sizeof(full));
	return err;
}

veil_err
entry_seal_payload(const uint8_t *y, size_t y_len, const uint8_t *payload, size_t payload_len,
                   uint8_t out[static ENTRY_SEALED_PAYLOAD_SIZE])
{
	uint8_t key[32], plain[PLAIN_SIZE] = {0};
	if (payload_len > ENTRY_MAX_PAYLOAD || (payload == NULL && payload_len != 0))
		return VEIL_ERR_ARGUMENT;
	veil_err err = derive(y, y_len, PAYLOAD_DOMAIN, key);
	if (err != VEIL_OK)
		goto out;
	plain[0] = (uint8_t)payload_len;
	if (payload_len != 0)
		memcpy(plain + 1, payload, payload_len);
	randombytes_buf(out, NONCE_SIZE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + NONCE_SIZE, NULL, plain, sizeof(plain),
	                                           NULL, 0, NULL, out, key);
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(plain, sizeof(plain));
	return err;
}

veil_err
entry_open_payload(const uint8_t *y, size_t y_len,
                   const uint8_t sealed[static ENTRY_SEALED_PAYLOAD_SIZE],
                   uint8_t out[static ENTRY_MAX_PAYLOAD], size_t *out_len)
{
	uint8_t key[32], plain[PLAIN_SIZE];
	*out_len = 0;
	memset(out, 0, ENTRY_MAX_PAYLOAD);
	veil_err err = derive(y, y_len, PAYLOAD_DOMAIN, key);
	if (err != VEIL_OK)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, sealed + NONCE_SIZE,
	                                               ENTRY_SEALED_PAYLOAD_SIZE - NONCE_SIZE, NULL,
	                                               0, sealed, key) != 0 ||
	    plain[0] > ENTRY_MAX_PAYLOAD) {
		err = VEIL_ERR_VERIFY;
		goto out;
	}
	memcpy(out, plain + 1, plain[0]);
	*out_len = plain[0];
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(plain, sizeof(plain));
	return err;
}

/*
 * The hash functions the OPRF suites are built on, behind one small
 * incremental interface so that a suite names its hash as data.
 */
#ifndef VEIL_COMMON_HASH_H
#define VEIL_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define HASH_MAX_OUTPUT_SIZE 64

typedef union hash_state {
	crypto_hash_sha256_state sha256;
	crypto_hash_sha512_state sha512; /* also SHA-384's */
} hash_state;

typedef struct hash_alg {
	const char *name;
	size_t output_size; /* b_in_bytes in RFC 9380 */
	size_t block_size;  /* s_in_bytes in RFC 9380 */
	void (*init)(hash_state *state);
	void (*update)(hash_state *state, const uint8_t *data, size_t len);
	/* Writes output_size bytes and wipes the state. */
	void (*final)(hash_state *state, uint8_t *out);
} hash_alg;

#define HASH_SHA384_BYTES 48

extern const hash_alg hash_sha256;
/* SHA-384 of FIPS 180-4, built on libsodium's SHA-512 (which has no SHA-384). */
extern const hash_alg hash_sha384;
extern const hash_alg hash_sha512;

/* One-shot hash of data into out (h->output_size bytes). */
void hash_once(const hash_alg *h, const uint8_t *data, size_t len, uint8_t *out);

/* Absorbs I2OSP(len, 2) || data: the length-prefixed framing RFC 9497 uses.
 * len must be at most 65535 (the caller checks). */
void hash_update_prefixed(const hash_alg *h, hash_state *state, const uint8_t *data, size_t len);

#endif

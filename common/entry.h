/*
 * What a registry entry is made of (proto/PROTOCOL.md, "Buckets, tags and
 * payloads"), computed the same way by the registry builder and the client.
 *
 *   bucket(x)  = first 4 bytes of SHA-512("veil-bucket-v1" || 0x00 || x)
 *   tag(y)     = first tag_len bytes of BLAKE2b-256(key = y, "veil-tag-v1")
 *   payload    = XChaCha20-Poly1305 under BLAKE2b-256(key = y,
 *                "veil-payload-v1") of len u8 | data | zero padding
 *
 * x is a normalized handle, y its OPRF output (16 to 64 bytes) in the
 * registry's mode: the mode is part of the RFC 9497 context, so outputs of
 * one mode never match tags made in another.
 */
#ifndef VEIL_COMMON_ENTRY_H
#define VEIL_COMMON_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define ENTRY_MIN_TAG_SIZE        8
#define ENTRY_MAX_TAG_SIZE        32
#define ENTRY_MAX_PAYLOAD         64
/* nonce 24 | ciphertext of 1 + 64 bytes | MAC 16 */
#define ENTRY_SEALED_PAYLOAD_SIZE (24 + 1 + ENTRY_MAX_PAYLOAD + 16)

/* The public, keyless bucket of a normalized handle. */
uint32_t entry_bucket(const char *handle, size_t handle_len);

/* The top prefix_bits bits of bucket, in place, the rest zero. */
uint32_t entry_prefix(uint32_t bucket, unsigned prefix_bits);

/* tag_len (ENTRY_MIN_TAG_SIZE..ENTRY_MAX_TAG_SIZE) bytes of tag from y. */
veil_err entry_tag(const uint8_t *y, size_t y_len, uint8_t *tag, size_t tag_len)
        __attribute__((warn_unused_result));

/* Seals payload (at most ENTRY_MAX_PAYLOAD bytes; may be empty) under y
 * into out (ENTRY_SEALED_PAYLOAD_SIZE bytes), with a random nonce. */
veil_err entry_seal_payload(const uint8_t *y, size_t y_len, const uint8_t *payload,
                            size_t payload_len, uint8_t out[static ENTRY_SEALED_PAYLOAD_SIZE])
        __attribute__((warn_unused_result));

/*
 * Opens a sealed payload under y into out (ENTRY_MAX_PAYLOAD bytes);
 * *out_len gets its length. VEIL_ERR_VERIFY when it does not open (not
 * ours, random filler, tampered): then *out_len is 0 and out zeroed.
 */
veil_err entry_open_payload(const uint8_t *y, size_t y_len,
                            const uint8_t sealed[static ENTRY_SEALED_PAYLOAD_SIZE],
                            uint8_t out[static ENTRY_MAX_PAYLOAD], size_t *out_len)
        __attribute__((warn_unused_result));

#endif

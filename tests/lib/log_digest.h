/*
 * The query log's digests (server/store/qlog.h), recomputed from their
 * documented definition with one-shot HMAC-SHA-256, independently of the
 * code under test, for the tests of the log, its export and its analysis
 * to compare against:
 *
 *   requester = HMAC-SHA256(salt, "veil-log-requester-v1" || client key) >> (256 - t)
 *   bucket    = HMAC-SHA256(salt, "veil-log-bucket-v1" || p u8 || prefix u32 BE) >> (256 - t)
 */
#ifndef VEIL_TESTS_LOG_DIGEST_H
#define VEIL_TESTS_LOG_DIGEST_H

#include <stdint.h>

/* The leading t bits (0 to 32) of a client key's requester digest. */
uint32_t log_digest_requester(const uint8_t salt[32], const uint8_t client_key[32], unsigned t);

/* The leading t bits (0 to 32) of the bucket digest of a p-bit prefix. */
uint32_t log_digest_bucket(const uint8_t salt[32], unsigned p, uint32_t prefix, unsigned t);

#endif

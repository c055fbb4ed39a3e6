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

#include <stddef.h>
#include <stdint.h>

/* The leading t bits (0 to 32) of a client key's requester digest. */
uint32_t log_digest_requester(const uint8_t salt[32], const uint8_t client_key[32], unsigned t);

/* The leading t bits (0 to 32) of the bucket digest of a p-bit prefix. */
uint32_t log_digest_bucket(const uint8_t salt[32], unsigned p, uint32_t prefix, unsigned t);

/* An entry of the log's first layout (veil-log-v1): the key holds an
 * arrival sequence number, the value the exact count and the client's
 * order of bucket digests (three here), at widths t_r 10 and t_b 14. */
typedef struct log_v1_entry {
	uint64_t seq;
	uint8_t hour;
	uint16_t status;
	uint16_t requester;
	uint16_t buckets[3];
} log_v1_entry;

/*
 * Makes log_dir (it must not exist) an LMDB environment of that layout:
 * meta "format" = "veil-log-v1" and the n entries on day, for the tests
 * that an older log is still read. Returns 0 or -1.
 */
int log_write_v1(const char *log_dir, uint32_t day, const log_v1_entry *entries, size_t n);

#endif

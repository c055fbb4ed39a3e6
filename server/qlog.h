/*
 * The query log: what veild keeps about each answered request, built so
 * that a compelled export names no one (DESIGN.md "Query log").
 *
 * An entry holds: the epoch day and a sequence number (the key), the hour
 * of day, a requester digest of t_r bits, the item count, one bucket
 * digest of t_b bits per item, and the wire status. Never a peer address,
 * an exact time, a blinded element, a handle, a key or a salt.
 *
 *   requester digest = HMAC-SHA256(salt_e, "veil-log-requester-v1" || client_pk) >> (256 - t_r)
 *   bucket digest    = HMAC-SHA256(salt_e, "veil-log-bucket-v1" || p u8 || prefix u32 BE) >> (256 - t_b)
 *
 * (the leading t bits of the MAC, as an unsigned integer). salt_e is the
 * salt of epoch day e, from a forward-secure chain:
 *
 *   chain_{e+1} = KDF(chain_e, "next"),   salt_e = KDF(chain_e, "salt")
 *
 * chain_e is erased (memory and disk) once chain_{e+1} exists; salt_e is
 * erased once e is older than the salt retention (default: the current and
 * the previous day). Entries older than the entry retention (default 30
 * days) are deleted at start-up and by an hourly sweep.
 *
 * Widths follow from targets: t_r is the largest width at which every
 * requester digest value stands, with margin, for at least k_r of the
 * enrolled accounts; t_b the largest at which every bucket digest value
 * stands for at least k_b handles of the numbering space, and never more
 * than the prefix bits the server sees (qlog_widths()).
 *
 * Storage: LMDB environment DIR/log/ (entries and counters) beside the
 * registry; the chain key and the retained salts are 0600 files in
 * DIR/log/, overwritten with zeros before they are unlinked.
 *
 * Export format (JSON Lines, `veil-admin log export`), normative for
 * `veil-admin exposure analyze`:
 *   line 1: {"schema": "veil-log-v1", "t_r": 10, "t_b": 14,
 *            "k_r": 1000, "k_b": 10000, "accounts": N, "universe": U,
 *            "entry_retention_days": 30, "salt_retention_days": 2,
 *            "fields": ["day", "seq", "hour", "requester", "items", "buckets", "status"]}
 *   then per entry:
 *           {"day": 20419, "seq": 7, "hour": 14, "requester": 613, "items": 2,
 *            "buckets": [9120, 77], "status": 0}
 *   day = days since 1970-01-01 (UTC); requester and buckets are the
 *   digests as integers below 2^t_r and 2^t_b. Entries carry their own
 *   widths when they differ from the header's ("t_r", "t_b" members).
 *   Salts export (`veil-admin log salts`, for drills and the A1
 *   adversary): {"day": 20419, "salt": "<64 hex>"} per retained salt.
 */
#ifndef VEIL_SERVER_QLOG_H
#define VEIL_SERVER_QLOG_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define QLOG_KEY_SIZE 32 /* client public key */
#define QLOG_SALT_SIZE 32
#define QLOG_MAX_WIDTH 32
#define QLOG_DEFAULT_ENTRY_RETENTION_DAYS 30
#define QLOG_DEFAULT_SALT_RETENTION_DAYS 2 /* the current day and the previous one */
#define QLOG_DEFAULT_K_R 1000
#define QLOG_DEFAULT_K_B 10000
#define QLOG_DEFAULT_UNIVERSE 10000000000ULL /* phone numbers of a plan like NANP */

typedef struct qlog qlog;

typedef struct qlog_config {
	uint64_t accounts;	       /* enrolled population the requester target refers to */
	uint64_t universe;	       /* handles of the numbering space */
	uint32_t k_r, k_b;	       /* anonymity targets */
	uint8_t t_r, t_b;	       /* 0: derived from the targets; else checked against them */
	uint8_t max_prefix_bits;       /* the most prefix bits the server accepts (p_max) */
	uint32_t entry_retention_days; /* 1..30; more only with allow_long_retention */
	uint32_t salt_retention_days;  /* 1..entry_retention_days */
	int allow_long_retention;
	size_t queue_capacity;	       /* entries waiting for the writer; more are dropped */
} qlog_config;

/* Defaults for every field; accounts must still be set by the caller. */
void qlog_config_defaults(qlog_config *config);

/*
 * Derives the widths from config's targets, or checks the explicit ones.
 * On VEIL_ERR_ARGUMENT, why (if not NULL) gets a sentence with the
 * figures that break a target, e.g. "t_r = 12 leaves 244 accounts per
 * requester digest, below k_r = 1000", fit to print at start-up.
 */
veil_err qlog_widths(const qlog_config *config, uint8_t *t_r, uint8_t *t_b, char *why,
		     size_t why_len) __attribute__((warn_unused_result));

/*
 * Opens (creating) the log under state_dir, advances the salt chain to
 * the day of now, erases what retention says, and starts the writer
 * thread. Errors: VEIL_ERR_ARGUMENT (a target is broken: see
 * qlog_widths), VEIL_ERR_SYSTEM, VEIL_ERR_CORRUPT, VEIL_ERR_NOMEM.
 */
veil_err qlog_open(const char *state_dir, const qlog_config *config, int64_t now, qlog **out,
		   char *why, size_t why_len) __attribute__((warn_unused_result));

/*
 * Records one answered request: off the caller's path (the entry is
 * digested and queued; the writer thread commits in groups). When the
 * queue is full the entry is dropped and counted, never waited for.
 * prefixes holds item_count bucket prefixes of prefix_bits bits. Thread
 * safe. now is the server's clock (unix seconds).
 */
void qlog_record(qlog *log, int64_t now, const uint8_t client_key[QLOG_KEY_SIZE],
		 unsigned prefix_bits, const uint32_t *prefixes, size_t item_count,
		 uint16_t status);

/* Runs the retention sweep now (also run hourly by the writer). */
veil_err qlog_sweep(qlog *log, int64_t now) __attribute__((warn_unused_result));

typedef struct qlog_counters {
	uint64_t recorded;
	uint64_t dropped;
	uint64_t written;
} qlog_counters;

void qlog_counters_get(const qlog *log, qlog_counters *out);

/* Flushes the queue, stops the writer, wipes the salts in memory. */
void qlog_close(qlog *log);

#endif

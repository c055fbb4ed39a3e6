/* clang-format off */ /* the formulas below are wider than a line */
/*
 * The query log: what veild keeps about each answered request, built so
 * that a compelled export names no one (docs/DESIGN.md, "The query log").
 *
 * An entry holds: the epoch day and a random id (the key), the hour of
 * day, a requester digest of t_r bits, the item count's size class, as
 * many bucket digests of t_b bits, in ascending order, and the wire
 * status. Never a peer address, an exact time, a blinded element, a
 * handle, a key or a salt. (Each entry also stores the two widths it was
 * made with.) Nothing in an entry's metadata says more than its digests:
 *
 *   - the id is random, so the entries of a day are stored, and
 *     exported, in an order that says nothing of their arrival;
 *   - the item count is stored as its size class (qlog_size_class(): 0,
 *     or the least power of two at or above it), since an exact count
 *     (an address book's size) can single a requester out;
 *   - the bucket digests are padded to the class with the digests of
 *     prefixes drawn uniformly at random (of the request's prefix
 *     length), then sorted: the list's length is the class and its order
 *     is not the client's. Without the salt a padding digest is a
 *     uniform value like a real one; with the salt it matches a prefix
 *     just as a real one does, so nothing but a prior on which buckets
 *     people look up tells it apart.
 *
 *   requester digest = HMAC-SHA256(salt_e, "veil-log-requester-v1" || client_pk) >> (256 - t_r)
 *   bucket digest    = HMAC-SHA256(salt_e, "veil-log-bucket-v1" || p u8 || prefix u32 BE) >> (256 - t_b)
 *
 * (the leading t bits of the MAC, as an unsigned integer; 0 when t = 0).
 * p is the request's prefix length and prefix the item's prefix with its
 * low 32 - p bits zero, as on the wire; an entry's bucket width is
 * min(t_b, p), so a digest never holds more than the server was told.
 * salt_e is the salt of epoch day e, from a chain that is forward-secure
 * and takes fresh randomness at every step:
 *
 *   chain_{e+1} = KDF(chain_e, "next", r_e),   salt_e = KDF(chain_e, "salt")
 *
 * where KDF(key, "next", r) is libsodium's crypto_kdf_derive_from_key(32,
 * 1, "veil-log", key) with r, 32 fresh random bytes never stored, as its
 * BLAKE2b message, and KDF(key, "salt") the KDF with subkey id 2
 * (server/store/saltchain.h). The first chain key is random.
 * chain_e is erased (memory and disk) once chain_{e+1} exists; salt_e is
 * erased once e is older than the salt retention (default: the current and
 * the previous day). Entries older than the entry retention (default 30
 * days) are deleted at start-up and by an hourly sweep. Only the current
 * chain key is ever stored, and the KDF is one-way: nothing held can be
 * wound back to an erased salt; and since each step mixes in r, a copy of
 * the state gives no later day's salt. Days are UTC (unix time / 86400); the
 * log's current day is the latest seen, so a clock that steps back does
 * not bring erased days back (their entries are then dropped).
 *
 * Widths follow from targets: t_r is the largest width at which every
 * requester digest value stands, with margin, for at least k_r of the
 * enrolled accounts; t_b the largest at which every bucket digest value
 * stands for at least k_b handles of the numbering space, and never more
 * than the prefix bits the server sees (qlog_widths()).
 *
 * The margin: "every value" is asked to hold except with probability at
 * most 2^-20 over the salt, by a union bound over the 2^t values of the
 * lower-tail bound P(X <= E[X] - x) <= exp(-x^2 / (2 V)) for a sum X of
 * independent non-negative terms with sum of second moments V. With
 * z^2 = 2 ln 2 (t + 20) (t > 0; at t = 0 the one value holds everything):
 *
 *   requester:  m = accounts / 2^t;  need m - sqrt(z^2 m) >= k_r
 *   bucket, for every prefix length p up to max_prefix_bits, with
 *   w = min(t, p), mu = universe / 2^p (handles per prefix), M =
 *   universe / 2^w (handles per digest value):
 *       A = M - sqrt(z_w^2 M (1 + mu))   (values aggregate prefixes)
 *       B = mu - sqrt(z_p^2 mu)          (a seen value holds a prefix)
 *     need max(A, B) >= k_b.
 *
 * B matters: once a prefix alone holds fewer than k_b handles, a digest
 * value must aggregate tens of prefixes, since one holding a single
 * prefix would name fewer than k_b. That is why the defaults (universe
 * 10^10, k_b 10^4, prefixes up to 32 bits) give t_b = 14, not the 19 a
 * plain handles / 2^t estimate suggests.
 *
 * Storage, in DIR/log/ (mode 0700) beside the registry:
 *   data.mdb, lock.mdb  the LMDB environment: entries, the configuration
 *                       the server last opened the log with, the drop
 *                       counter (server/store/qlog_store.h)
 *   chain-<day>.key     the current chain key, 0600
 *   salt-<day>.key      each retained salt, 0600
 * Secret files are common/keyfile.h files, overwritten with zeros and
 * fsynced before they are unlinked. LMDB reuses the pages of deleted
 * entries, so the file stops growing under a steady load; until reused,
 * a freed page may still hold old entries' bytes (digests under salts
 * already erased); `mdb_copy -c` writes a copy without them.
 *
 * Export format (JSON Lines, `veil-admin log export`), normative for
 * `veil-admin exposure analyze`:
 *   line 1: {"schema": "veil-log-v2", "t_r": 10, "t_b": 14,
 *            "k_r": 1000, "k_b": 10000, "accounts": N, "universe": U,
 *            "entry_retention_days": 30, "salt_retention_days": 2,
 *            "max_prefix_bits": 32, "auth": "keys",
 *            "fields": ["day", "hour", "requester", "items", "buckets", "status"]}
 *   then per entry, by day, in random order within a day:
 *           {"day": 20419, "hour": 14, "requester": 613, "items": 4,
 *            "buckets": [77, 1203, 9120, 15001], "status": 0}
 *   day = days since 1970-01-01 (UTC); requester and buckets are the
 *   digests as integers below 2^t_r and 2^t_b; items is the item count's
 *   size class and the number of bucket digests, padding included (the
 *   request above had 3 or 4 items). Entries carry their own widths when
 *   they differ from the header's ("t_r", "t_b" members).
 *   The header's figures are those the log was last opened with.
 *   Entries written before this format (schema "veil-log-v1", which also
 *   had a "seq" member) are exported as they were stored: their items is
 *   the exact count and their digests are in the client's order, until
 *   retention deletes them.
 *   Salts export (`veil-admin log salts`, for drills and the A1
 *   adversary): {"day": 20419, "salt": "<64 hex>"} per retained salt.
 *
 * Anonymous logs (veild in tokens mode, qlog_config.anonymous): the
 * server never learns who asks, so no entry has a requester: t_r is 0
 * whatever the configuration says (its requester digest is always 0 and
 * takes no bytes), the requester target (accounts, k_r) is not applied,
 * and qlog_record() takes no client key. The log records the mode with
 * its configuration, and the export's header carries it as "auth":
 * "tokens" ("keys" for a log of identified requests; a reader takes a
 * header without the member for "keys", as every log before it was).
 *
 * Threads: qlog_record() may be called from any number of threads; the
 * other calls on one log from one thread at a time. veil_crypto_init()
 * must have succeeded before qlog_open() or qlog_purge().
 *
 * May use: common/ (error.h); its own folder (qlog_store.h, saltchain.h,
 * store_file.h, store_thread.h); nothing else of the project.
 */
/* clang-format on */
#ifndef VEIL_SERVER_QLOG_H
#define VEIL_SERVER_QLOG_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define QLOG_DIR                          "log" /* under the state directory */
#define QLOG_KEY_SIZE                     32    /* client public key */
#define QLOG_SALT_SIZE                    32
#define QLOG_MAX_WIDTH                    32
#define QLOG_DEFAULT_ENTRY_RETENTION_DAYS 30
#define QLOG_DEFAULT_SALT_RETENTION_DAYS  2 /* the current day and the previous one */
#define QLOG_DEFAULT_K_R                  1000
#define QLOG_DEFAULT_K_B                  10000
#define QLOG_DEFAULT_UNIVERSE             10000000000ULL /* phone numbers of a plan like NANP */
#define QLOG_DEFAULT_MAX_PREFIX_BITS      32             /* the protocol's most */
#define QLOG_DEFAULT_QUEUE_CAPACITY       65536
#define QLOG_MAX_QUEUE_CAPACITY           ((size_t)1 << 24)
/* Entry retention without allow_long_retention, and with it. */
#define QLOG_MAX_ENTRY_RETENTION_DAYS     30
#define QLOG_MAX_LONG_RETENTION_DAYS      3660
/* The margin: a target may fail with probability at most 2^-QLOG_MARGIN_BITS. */
#define QLOG_MARGIN_BITS                  20
/* The most items one entry holds; larger requests are dropped (counted). */
#define QLOG_MAX_ITEMS                    65535

typedef struct qlog qlog;

/*
 * The size class an entry stores for item_count items: 0 for 0, else the
 * least power of two at or above item_count, but never more than
 * QLOG_MAX_ITEMS (the class of every count above 32768). For veild's
 * batches (at most 4096 items) the classes are 1, 2, 4, ..., 4096.
 * item_count above QLOG_MAX_ITEMS gives QLOG_MAX_ITEMS.
 */
uint32_t qlog_size_class(uint32_t item_count);

typedef struct qlog_config {
	uint64_t accounts;             /* enrolled population the requester target refers to */
	uint64_t universe;             /* handles of the numbering space */
	uint32_t k_r, k_b;             /* anonymity targets */
	uint8_t t_r, t_b;              /* 0: derived from the targets; else checked against them */
	uint8_t max_prefix_bits;       /* the most prefix bits the server accepts (p_max) */
	uint32_t entry_retention_days; /* 1..30; more only with allow_long_retention */
	uint32_t salt_retention_days;  /* 1..entry_retention_days */
	int allow_long_retention;
	size_t queue_capacity; /* entries waiting for the writer; more are dropped */
	int anonymous;         /* tokens mode: no requester (see Anonymous logs) */
} qlog_config;

/* Defaults for every field; accounts must still be set by the caller. */
void qlog_config_defaults(qlog_config *config);

/*
 * Derives the widths from config's targets, or checks the explicit ones.
 * On VEIL_ERR_ARGUMENT, why (if not NULL) gets a sentence with the
 * figures that break a target, e.g. "t_r = 12 leaves 244 accounts per
 * requester digest, below k_r = 1000", fit to print at start-up.
 *
 * A derived width may be 0 (no bits: the digest is always 0), which
 * meets its target whenever the population does (accounts >= k_r,
 * universe >= k_b); when the population is below the target no width
 * can meet it and the configuration is refused. With anonymous set, *t_r
 * is 0 and accounts, k_r and t_r are not looked at. An explicit t_b above
 * max_prefix_bits is cut to max_prefix_bits (it could carry no more).
 * Widths above QLOG_MAX_WIDTH and max_prefix_bits above 32 are
 * refused. *t_r and *t_b are 0 on error.
 */
veil_err qlog_widths(const qlog_config *config, uint8_t *t_r, uint8_t *t_b, char *why,
                     size_t why_len) __attribute__((warn_unused_result));

/*
 * Opens (creating) the log under state_dir, advances the salt chain to
 * the day of now, erases what retention says, and starts the writer
 * thread. Records the configuration (and the widths in force) in the
 * log, for veil-admin. why (if not NULL) gets a sentence on any error.
 * Errors: VEIL_ERR_ARGUMENT (a target is broken: see qlog_widths; or a
 * retention or the queue capacity out of range), VEIL_ERR_NOT_FOUND
 * (no state_dir), VEIL_ERR_PERMISSION (a secret file the group or
 * others may read), VEIL_ERR_SYSTEM, VEIL_ERR_CORRUPT, VEIL_ERR_NOMEM.
 */
veil_err qlog_open(const char *state_dir, const qlog_config *config, int64_t now, qlog **out,
                   char *why, size_t why_len) __attribute__((warn_unused_result));

/*
 * Records one answered request: off the caller's path (the entry is
 * digested, padded to its size class, sorted and queued; the writer
 * thread commits in groups). When the
 * queue is full the entry is dropped and counted, never waited for.
 * prefixes holds item_count bucket prefixes of prefix_bits bits.
 * client_key is the requester's; in an anonymous log it must be NULL
 * (and a key given is a caller bug, as a NULL one is in any other log:
 * both abort). Thread safe. now is the server's clock (unix seconds).
 *
 * Also dropped and counted: a now before 1970 or a day whose salt is
 * already erased (the clock stepped back), prefix_bits above 32, more
 * than QLOG_MAX_ITEMS items, and a now more than 3660 days past the
 * log's current day (a broken clock; advancing the chain is
 * irreversible). Takes no lock held across I/O: only the salt lock
 * (held by others for memory work only) and the queue's lock.
 */
void qlog_record(qlog *log, int64_t now, const uint8_t client_key[QLOG_KEY_SIZE],
                 unsigned prefix_bits, const uint32_t *prefixes, size_t item_count,
                 uint16_t status);

/*
 * Runs the retention sweep now (also run hourly by the writer): advances
 * the chain to the day of now (never back), erases the chain keys and
 * salts retention no longer allows (memory and disk) and deletes the
 * entries older than the entry retention. Errors: VEIL_ERR_SYSTEM (a
 * file could not be written or erased), LMDB's as VEIL_ERR_LIMIT,
 * VEIL_ERR_CORRUPT, VEIL_ERR_SYSTEM; a later sweep finishes the work.
 */
veil_err qlog_sweep(qlog *log, int64_t now) __attribute__((warn_unused_result));

typedef struct qlog_counters {
	uint64_t recorded; /* queued */
	uint64_t dropped;  /* never written: queue full, unusable, or a failed commit */
	uint64_t written;  /* committed */
} qlog_counters;

/* Since qlog_open(); the drops of all time are kept in the log (meta). */
void qlog_counters_get(const qlog *log, qlog_counters *out);

/*
 * Waits until every entry queued before the call is committed (or
 * dropped), and the chain and salt files are written. Not while the
 * writer is paused. Errors: those of writing the secret files.
 */
veil_err qlog_flush(qlog *log) __attribute__((warn_unused_result));

/* Flushes the queue, stops the writer, wipes the salts in memory. NULL is a no-op. */
void qlog_close(qlog *log);

/*
 * What a sweep did (qlog_purge()): entries deleted, salt files erased,
 * and the log's current day afterwards.
 */
typedef struct qlog_sweep_result {
	uint64_t entries_deleted;
	uint32_t salts_erased;
	uint32_t day;
} qlog_sweep_result;

/*
 * The sweep of qlog_sweep() on a log no process need have open (veil-admin
 * log purge): with the configuration the log was last opened with, and
 * without creating a chain where there is none. *result (when not NULL)
 * says what was done. why as for qlog_open(). Errors: VEIL_ERR_NOT_FOUND
 * (no log under state_dir), those of qlog_open() and qlog_sweep().
 */
veil_err qlog_purge(const char *state_dir, int64_t now, qlog_sweep_result *result, char *why,
                    size_t why_len) __attribute__((warn_unused_result));

/* ------------------------------------------------------------------ */
/* For tests and drills */

/* 1 when log still holds the salt of day in memory, else 0. */
int qlog_salt_held(qlog *log, uint32_t day);

/*
 * paused != 0 stops the writer taking entries from the queue (so it
 * fills and drops); 0 lets it go on. qlog_close() ends a pause.
 */
void qlog_pause_writer(qlog *log, int paused);

#endif

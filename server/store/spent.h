/*
 * The double-spend set of Privacy Pass tokens (common/token.h): a token
 * may be redeemed once. A token is known by its nonce under the issuer key
 * that signed it (token_key_id); the set of one issuer key is kept while
 * that key is valid, is bounded, survives restarts, and is erased with
 * the key (spent_forget_key()).
 *
 * Storage, in the state directory (the clients' pattern, clients.h):
 *   spent.key        a 32-byte secret (common/keyfile.h, 0600), made on
 *                    first use: the key of the digests below
 *   spent/data.mdb   the LMDB environment (directory mode 0700, files
 *                    0600), DBs:
 *     spent  key:    the label of a token key: BLAKE2b-256(key =
 *                    spent.key, message = "L" | token_key_id)
 *            values: (sorted duplicates of 32 bytes) one per token
 *                    redeemed under that key: BLAKE2b-256(key =
 *                    spent.key, message = "D" | token_key_id | nonce)
 *     meta   "check"  BLAKE2b-256(key = spent.key, message = "C"): which
 *                     key the digests were made with
 *            "scrub"… fillers, between the steps of a scrub (below)
 * Nothing else: no time, no order of redemption, no count but the number
 * of digests under each label (which LMDB keeps).
 *
 * What a copy of the state directory reveals: the number of tokens spent
 * under each token key. With spent.key too (it is in the directory), also
 * which token key a label belongs to, for a candidate key id, and whether
 * a given (token_key_id, nonce) was spent. Without spent.key, a nonce a
 * client kept cannot be matched against the set. No nonce or token_key_id
 * is stored.
 *
 * The digests are only good with the key they were made with: a missing
 * spent.key beside an existing set would silently let every spent token
 * be spent again. The meta "check" record catches that: a key that does
 * not match the set is refused (VEIL_ERR_CORRUPT). To start over, delete
 * spent/ and spent.key together.
 *
 * LMDB writes a changed page to a free page and keeps the old one, so
 * freed pages of data.mdb hold old digests until reused; a deletion also
 * leaves bytes of what it deleted in the unused middle of the page it
 * deleted from, and LMDB's pool of page buffers (process memory) holds old
 * page images, which fill the unused parts of pages it writes later. So
 * spent_forget_key(), after the deleting transaction, closes and reopens
 * the environment (a new, zeroed pool), rewrites the leaf page the set was
 * deleted from, and scrubs the freed pages: three more write
 * transactions, the second of which takes every free page (counted on
 * LMDB's free list) for a zeroed filler record in meta, the third deletes
 * them. The file then holds no digest of the erased set, unless a reader
 * (spent_keys() or spent_count(), in this or another process) held an old
 * snapshot during the scrub, or another process with the directory open
 * still holds pages of the set in its own pool: those may surface until
 * that process closes its handle and a later forget scrubs again.
 *
 * Durability: every spent_redeem() that records a token is its own LMDB
 * write transaction, committed with LMDB's synchronous commit (the
 * environment is opened without MDB_NOSYNC or MDB_NOMETASYNC): the
 * changed data pages are written and fdatasync()ed, then the meta page
 * that makes them current is written and fdatasync()ed, before
 * spent_redeem() returns SPENT_OK. So a token reported spent is still
 * spent after a crash, a kill or a power loss (as far as the disk honours
 * fdatasync()). spent.key is fsynced when it is made, then the state
 * directory, before any digest is written; the spent/ directory is
 * fsynced after the environment is opened, so its data.mdb entry is
 * durable too. spent_forget_key() is synced the same way.
 *
 * Threads and processes: spent_redeem(), spent_forget_key(),
 * spent_count() and spent_keys() may be called from any number of
 * threads at once on one handle (spent_forget_key() holds the others off
 * while it runs); spent_open() and spent_close() from one.
 * Any number of processes may open the same state directory (veil-admin
 * beside a running veild): LMDB serializes writers across them, and the
 * check and insert of a redemption happen in one write transaction, so of
 * any number of redemptions of one token, in any threads and processes,
 * exactly one gets SPENT_OK. veil_crypto_init() must have succeeded
 * before spent_open().
 *
 * Nothing here logs; no error carries a key id, a nonce or a digest.
 *
 * May use: common/ (error.h, keyfile.h); its own folder (lmdb_util.h,
 * store_file.h); nothing else of the project.
 */
#ifndef VEIL_SERVER_SPENT_H
#define VEIL_SERVER_SPENT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SPENT_DIR              "spent"     /* under the state directory */
#define SPENT_KEY_FILE         "spent.key" /* likewise */
#define SPENT_KEY_ID_SIZE      32          /* a token's token_key_id */
#define SPENT_NONCE_SIZE       32          /* a token's nonce */
#define SPENT_LABEL_SIZE       32          /* what a token key id is stored as */
#define SPENT_DIGEST_SIZE      32          /* what a nonce is stored as */
/* Tokens a token key's set holds by default: under 1 GB of data.mdb. */
#define SPENT_DEFAULT_CAPACITY 10000000u
/* The largest capacity: the map (16 GiB) holds two such full sets. */
#define SPENT_MAX_CAPACITY     100000000u

typedef struct spent spent;

typedef struct spent_config {
	uint32_t capacity; /* tokens per token key; 1 to SPENT_MAX_CAPACITY */
} spent_config;

/* SPENT_DEFAULT_CAPACITY. */
void spent_config_defaults(spent_config *c);

/*
 * Opens (creating) the spent set of state_dir and its digest key (see
 * Storage), into *out, the caller's to spent_close(). config NULL: the
 * defaults. The capacity is the handle's, not stored: each handle refuses
 * at its own. Errors: VEIL_ERR_ARGUMENT (state_dir or out NULL, capacity
 * 0 or above SPENT_MAX_CAPACITY), VEIL_ERR_NOT_FOUND (no directory
 * state_dir), VEIL_ERR_PERMISSION (spent.key readable or writable by the
 * group or others), VEIL_ERR_CORRUPT (a damaged spent.key, database or
 * record, or a spent.key that is not the one the set was made with),
 * VEIL_ERR_LIMIT (the map is full), VEIL_ERR_NOMEM, VEIL_ERR_SYSTEM. On
 * error *out is NULL and nothing stays open.
 */
veil_err spent_open(const char *state_dir, const spent_config *config, spent **out)
        __attribute__((warn_unused_result));

/* Closes the environment and wipes the digest key. NULL is a no-op. */
void spent_close(spent *s);

typedef enum spent_verdict {
	SPENT_OK,    /* not spent before: recorded now, and durable (see Durability) */
	SPENT_AGAIN, /* already spent under this token key: refuse the token */
	SPENT_FULL,  /* this token key's set holds capacity tokens: refuse the token;
	                the operator rotates the issuer key */
	SPENT_ERROR, /* an argument is NULL, or the database failed (a full map, a
	                failed write or fsync, a damaged record): refuse the token,
	                nothing was recorded */
} spent_verdict;

/*
 * Redeems the token nonce of the issuer key token_key_id: checks and
 * records it in one write transaction. A token already spent is
 * SPENT_AGAIN even when the set is full. Thread safe.
 */
spent_verdict spent_redeem(spent *s, const uint8_t token_key_id[SPENT_KEY_ID_SIZE],
                           const uint8_t nonce[SPENT_NONCE_SIZE])
        __attribute__((warn_unused_result));

/*
 * Erases the whole set of token_key_id (every digest and its label) in one
 * write transaction, then scrubs the freed pages (see Storage; a failed
 * scrub is not an error: the set is gone). Afterwards every nonce of that
 * key redeems as new. *erased (when not NULL) is the number of tokens
 * erased, 0 on error. Thread safe; the handle's other calls wait until it
 * returns. Should reopening the environment fail (for the scrub), the set
 * is still gone (VEIL_OK) but every later call on the handle fails
 * (SPENT_ERROR, VEIL_ERR_SYSTEM): close it and open again. Errors:
 * VEIL_ERR_ARGUMENT (s or token_key_id NULL), VEIL_ERR_NOT_FOUND (no set
 * for that key: nothing changed), VEIL_ERR_CORRUPT, VEIL_ERR_SYSTEM.
 */
veil_err spent_forget_key(spent *s, const uint8_t token_key_id[SPENT_KEY_ID_SIZE], uint64_t *erased)
        __attribute__((warn_unused_result));

/*
 * The number of tokens spent under token_key_id into *count (0: no set),
 * in one read transaction. Thread safe. Errors: VEIL_ERR_ARGUMENT (an
 * argument NULL), VEIL_ERR_CORRUPT, VEIL_ERR_SYSTEM; on error *count is 0.
 */
veil_err spent_count(spent *s, const uint8_t token_key_id[SPENT_KEY_ID_SIZE], uint64_t *count)
        __attribute__((warn_unused_result));

/*
 * Calls fn(arg, label, count) for every token key with a set, in label
 * order, in one read transaction: label is what the key id is stored as
 * (spent_label() of a candidate key id finds which it is), count its
 * tokens. The key ids themselves are not stored. label points into the
 * transaction: valid during the call only. fn returning non-zero stops the
 * walk (VEIL_OK). Thread safe. Errors: VEIL_ERR_ARGUMENT (s or fn NULL),
 * VEIL_ERR_CORRUPT (a damaged record), VEIL_ERR_SYSTEM.
 */
veil_err spent_keys(spent *s,
                    int (*fn)(void *arg, const uint8_t label[SPENT_LABEL_SIZE], uint64_t count),
                    void *arg) __attribute__((warn_unused_result));

/* The label token_key_id is stored under (see Storage). */
void spent_label(const spent *s, const uint8_t token_key_id[SPENT_KEY_ID_SIZE],
                 uint8_t out[SPENT_LABEL_SIZE]);

/* The digest stored for nonce under token_key_id (see Storage). */
void spent_digest(const spent *s, const uint8_t token_key_id[SPENT_KEY_ID_SIZE],
                  const uint8_t nonce[SPENT_NONCE_SIZE], uint8_t out[SPENT_DIGEST_SIZE]);

/* The capacity the handle refuses at. */
uint32_t spent_capacity(const spent *s);

#endif

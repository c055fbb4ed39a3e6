/*
 * The token issuer's core: the accounts that may ask for Privacy Pass
 * tokens of type 0x0001 (common/token.h), the daily ration of each, the
 * issuer keys and their rotation, and the answer to TokenRequests. The
 * issuer knows who asks; the origin (veild) that redeems a token does
 * not learn from it who that was.
 *
 * The state directory DIR (mode 0700):
 *   DIR/transport.key     the X25519 secret key of the issuer's transport
 *                         (the key clients seal their requests to: the
 *                         same file, kind and label as veild's,
 *                         server/store/state.h), 32 bytes, 0600
 *   DIR/issuer.name       the issuer's name (issuer_name_write())
 *   DIR/issuer-<id>.key   the secret scalar skI of key id <id> (8
 *                         lowercase hex digits), 48 bytes of P-384,
 *                         common/keyfile.h (0600, refused when the group
 *                         or others may read or write it), labelled
 *                         ISSUER_KEY_KIND
 *   DIR/issuer.keys       the live key ids (0600), text: the line
 *                         "veil-issuer-keys-v1", then one line per live
 *                         key, "<id, 8 hex digits> <not-after>", the
 *                         current key first with not-after 0 (none), the
 *                         retiring keys after it with the unix second at
 *                         which they stop being valid. Replaced whole
 *                         (written to issuer.keys.tmp, fsynced, renamed,
 *                         DIR fsynced): a crash leaves the old list or the
 *                         new one.
 *   DIR/clients.key, DIR/clients/   the accounts: server/store/clients.h
 *                         as it is, counted in tokens (one token of the
 *                         quota is one TokenRequest answered).
 *
 * Keys. The current key is the only one tokens are issued under. A
 * rotation (issuer_rotate()) makes a new current key; the one it replaces
 * retires: it stays live for a grace period, so that tokens issued under
 * it can still be redeemed, and then issuer_retire() (or the next
 * rotation) drops it: its id leaves issuer.keys and its file is erased
 * (zeros, fsync, unlink). The truncated key ids (the last byte of
 * token_key_id) of the live keys are distinct: a rotation draws new keys
 * until it finds one whose truncated id no live key has, so a request's
 * truncated id names one key without doubt.
 *
 * Why never a token under a retiring key: such a token would be
 * redeemable only until that key's not-after, so it could expire in the
 * client's hands; and an issuer answering under two keys at once splits
 * its clients into two groups by the key their tokens carry, which the
 * origin sees at redemption. One current key keeps every token of a day
 * in one anonymity set.
 *
 * What the state reveals, to whoever copies DIR: the keys (and so the
 * power to issue and verify tokens); the clients store's per account
 * record (clients.h: enrolment, quota override, the day of its last
 * charge and the tokens it had left that day; never a time of day, never
 * the client's public key, only a keyed digest of it). Never which token
 * went to whom: the issuer sees only blinded elements (a TokenRequest's
 * blinded_msg), which it does not store, and never a token's nonce; the
 * VOPRF blinding makes issuance and redemption unlinkable even to the
 * holder of skI.
 *
 * Secrets: the issuer keys are oprf_keys (libsodium guarded memory);
 * every scalar read from a file passes through guarded memory, wiped
 * after import. The transport secret of an issuer_open() handle lives in
 * guarded memory, read-only once loaded, wiped by issuer_close(). Nothing here logs or prints; no
 * error carries a key, a client key or an element.
 *
 * Threads: issuer_issue(), issuer_keys() and issuer_key() on one handle
 * from any number of threads at once (the handle's keys are fixed at
 * issuer_open(); the clients store is thread safe); issuer_open() and
 * issuer_close() from one. issuer_rotate() and issuer_retire() work on
 * the directory under an exclusive flock of DIR (rotations in several
 * processes wait for each other); an open handle keeps the keys it
 * loaded, and sees a rotation when opened again. veil_crypto_init() must
 * have succeeded first.
 *
 * May use: common/ (error.h, keyfile.h, oprf.h, token.h); server/store/
 * (clients.h, state.h for the transport key's file, label and loading,
 * store_file.h); nothing else of the project.
 */
#ifndef VEIL_SERVER_ISSUER_H
#define VEIL_SERVER_ISSUER_H

#include <stddef.h>
#include <stdint.h>

#include "clients.h"
#include "error.h"
#include "oprf.h"
#include "token.h"

#define ISSUER_KEY_KIND           "veil-issuer-key-v1"
#define ISSUER_KEYS_FILE          "issuer.keys"
#define ISSUER_KEYS_HEADER        "veil-issuer-keys-v1"
#define ISSUER_FIRST_KEY_ID       1
#define ISSUER_NAME_FILE          "issuer.name"
#define ISSUER_NAME_MAX           TOKEN_NAME_MAX
/* Live keys at most: the current one and the retiring ones. */
#define ISSUER_MAX_KEYS           16
#define ISSUER_CLIENT_KEY_SIZE    CLIENTS_KEY_SIZE /* an account's X25519 public key */
/* The transport key pair's halves, X25519 (state.h's STATE_TRANSPORT_KEY_SIZE). */
#define ISSUER_TRANSPORT_KEY_SIZE 32
/* retry_after of a batch that can never be answered (clients.h's). */
#define ISSUER_RETRY_NEVER        CLIENTS_RETRY_NEVER

typedef struct issuer issuer;

typedef struct issuer_config {
	clients_config clients; /* enrolment and the daily ration, in tokens */
} issuer_config;

/* The clients store's defaults (clients_config_defaults()). */
void issuer_config_defaults(issuer_config *c);

/*
 * Makes a new issuer state in dir named name (token_name_valid()):
 * creates dir (0700) unless it exists, a fresh transport key
 * (transport.key, 0600), issuer.name, key id ISSUER_FIRST_KEY_ID (a
 * fresh random P-384 key) as the current one, a fresh clients store
 * (clients_open() with the defaults, closed again), and issuer.keys last.
 * Errors: VEIL_ERR_ARGUMENT (dir NULL, name not valid); VEIL_ERR_EXISTS
 * (transport.key, issuer.name, issuer.keys, the key file, clients.key or
 * clients/ already exists: nothing is touched); VEIL_ERR_UNSUPPORTED (a
 * build without P-384); VEIL_ERR_SYSTEM, VEIL_ERR_NOMEM, and the errors
 * of clients_open(). On error what this call created is removed again.
 */
veil_err issuer_create(const char *dir, const char *name) __attribute__((warn_unused_result));

/*
 * Opens the issuer state in dir into *out (NULL first; the caller's to
 * issuer_close()): the transport key, every live key and the clients
 * store, opened with
 * config->clients (the configuration the issuer counts with, recorded in
 * the store; config NULL: the store's recorded configuration, every
 * charge synced, as clients_open() with NULL). Errors: VEIL_ERR_ARGUMENT
 * (dir or out NULL, a capacity of 0); VEIL_ERR_NOT_FOUND (no dir, no
 * issuer.keys, a live key's file missing); VEIL_ERR_PERMISSION (a key
 * file, or clients.key, that the group or others may read or write);
 * VEIL_ERR_CORRUPT (a damaged issuer.keys, key file, or clients store,
 * or a key file whose scalar is not a P-384 key); VEIL_ERR_UNSUPPORTED
 * (a build without P-384); VEIL_ERR_NOMEM, VEIL_ERR_SYSTEM, and the
 * errors of clients_open(). A missing transport.key is
 * VEIL_ERR_NOT_FOUND, one open to others VEIL_ERR_PERMISSION, a damaged
 * one VEIL_ERR_CORRUPT, as for the key files. On error nothing stays
 * open.
 */
veil_err issuer_open(const char *dir, const issuer_config *config, issuer **out)
        __attribute__((warn_unused_result));

/*
 * Opens the live keys of dir alone, without a clients store: what an
 * origin that redeems tokens needs (issuer_key(), issuer_keys()), from a
 * copy of issuer.keys and the key files. Such a handle issues nothing
 * (issuer_issue() is VEIL_ERR_UNSUPPORTED) and issuer_clients() is NULL.
 * Errors: as issuer_open(), but none of the clients store's.
 */
veil_err issuer_open_keys(const char *dir, issuer **out) __attribute__((warn_unused_result));

/*
 * The issuer's name, the issuer_name of the TokenChallenges its tokens
 * answer (RFC 9577): a token name (token_name_valid(): 1 to
 * ISSUER_NAME_MAX bytes of printable ASCII without spaces, a host name,
 * say "issuer.example.org"), kept in DIR/ISSUER_NAME_FILE as one line.
 */

/*
 * Writes name to dir/ISSUER_NAME_FILE (0644: the name is public),
 * replacing it whole (store_file_write_synced()).
 * Errors: VEIL_ERR_ARGUMENT (dir NULL, a name not valid),
 * VEIL_ERR_SYSTEM.
 */
veil_err issuer_name_write(const char *dir, const char *name) __attribute__((warn_unused_result));

/*
 * Reads dir/ISSUER_NAME_FILE into out (NUL-terminated). Errors:
 * VEIL_ERR_ARGUMENT (a NULL pointer), VEIL_ERR_NOT_FOUND (no such file),
 * VEIL_ERR_CORRUPT (not one line of a valid name), VEIL_ERR_SYSTEM.
 * out is "" on error.
 */
veil_err issuer_name_read(const char *dir, char out[ISSUER_NAME_MAX + 1])
        __attribute__((warn_unused_result));

/* Closes the clients store, wipes and frees the keys. NULL is a no-op. */
void issuer_close(issuer *is);

/*
 * The transport key pair of an issuer_open() handle: the public key
 * (ISSUER_TRANSPORT_KEY_SIZE bytes, what clients pin as the issuer-key)
 * and the secret (likewise, guarded, read-only: what opens the SEALED
 * requests sent to the issuer; never copy it out). Owned by the handle,
 * valid until issuer_close(). NULL for a handle of issuer_open_keys(),
 * which loads no transport key, and for NULL.
 */
const uint8_t *issuer_transport_public(const issuer *is);
const uint8_t *issuer_transport_secret(const issuer *is);

/*
 * The transport public key of the state in dir, from its transport.key,
 * without opening anything else (veil-admin issuer info): the secret is
 * read into guarded memory and wiped at once. Errors: VEIL_ERR_ARGUMENT
 * (a NULL pointer), VEIL_ERR_NOT_FOUND (no transport.key),
 * VEIL_ERR_PERMISSION (open to the group or others), VEIL_ERR_CORRUPT,
 * VEIL_ERR_SYSTEM, VEIL_ERR_NOMEM. public_out is zeroed on error.
 */
veil_err issuer_transport_public_read(const char *dir,
                                      uint8_t public_out[ISSUER_TRANSPORT_KEY_SIZE])
        __attribute__((warn_unused_result));

/*
 * The clients store, for enrolment (clients_enrol(), clients_remove(),
 * clients_list()); owned by the handle, valid until issuer_close().
 */
clients *issuer_clients(issuer *is);

/* One live key as issuer_keys() reports it: nothing secret. */
typedef struct issuer_key_info {
	uint32_t id;
	uint8_t public_key[TOKEN_ELEMENT_SIZE];  /* pkI, compressed */
	uint8_t token_key_id[TOKEN_KEY_ID_SIZE]; /* SHA-256 of public_key */
	uint8_t truncated_token_key_id;          /* token_key_id's last byte */
	uint64_t not_after;                      /* unix seconds; 0 for the current key (no end) */
} issuer_key_info;

/*
 * The handle's live keys, as of issuer_open(), the current one first:
 * *count of them to out[] (room for ISSUER_MAX_KEYS). Errors:
 * VEIL_ERR_ARGUMENT (a NULL pointer); *count is 0 then.
 */
veil_err issuer_keys(const issuer *is, issuer_key_info out[ISSUER_MAX_KEYS], size_t *count)
        __attribute__((warn_unused_result));

/*
 * The key whose token_key_id is key_id, if it is one of the handle's live
 * keys and still valid at now (the current key always; a retiring key
 * while now is before its not-after); else NULL. What redemption
 * verifies a token with (token_verify()). Owned by the handle, valid
 * until issuer_close().
 */
const oprf_key *issuer_key(const issuer *is, const uint8_t key_id[TOKEN_KEY_ID_SIZE], int64_t now);

/*
 * Copies the keys of the issuer state in from_dir that are live and
 * still valid at now (unix seconds; as issuer_key() says: the current
 * key, and each retiring key whose not-after is after now) into to_dir,
 * as this file lays them out: each key file written through keyfile.h
 * (0600, fsynced), then to_dir's issuer.keys listing them
 * (store_file_write_synced(), which fsyncs to_dir). The copy opens with
 * issuer_open_keys(). kept_out[] (room for ISSUER_MAX_KEYS) gets the
 * keys copied, the current one first, *count their number. What an
 * origin's copy of the issuer is made of (redeem_link()). to_dir must
 * exist and hold none of the key files. Errors: VEIL_ERR_ARGUMENT (a
 * NULL pointer); those of issuer_open_keys() on from_dir;
 * VEIL_ERR_EXISTS (a key file already in to_dir); VEIL_ERR_SYSTEM,
 * VEIL_ERR_NOMEM. On error *count is 0 and to_dir may hold part of the
 * copy: the caller erases it.
 */
veil_err issuer_copy_live_keys(const char *from_dir, const char *to_dir, int64_t now,
                               issuer_key_info kept_out[ISSUER_MAX_KEYS], size_t *count)
        __attribute__((warn_unused_result));

/*
 * Answers count TokenRequests (1 to TOKEN_MAX_BATCH) of the account
 * whose public key is client_key, at now (unix seconds), writing
 * responses_out[i] for requests[i]. In order:
 *   - every request's truncated_token_key_id must be the current key's,
 *     else VEIL_ERR_NOT_FOUND (an unknown key, or a retiring one: see
 *     "Why never a token under a retiring key");
 *   - the account must be enrolled (when the store's configuration
 *     requires it), else VEIL_ERR_PERMISSION;
 *   - every blinded_msg must be a valid point (oprf_element_check(), far
 *     cheaper than an evaluation), else VEIL_ERR_ELEMENT;
 *   - count tokens are charged to the account's ration (clients_charge()),
 *     else VEIL_ERR_LIMIT with *retry_after the seconds until the UTC
 *     midnight by which enough tokens return (1 to 86400 for one day),
 *     or ISSUER_RETRY_NEVER when the batch can never fit (more than the
 *     bucket holds, or more than TOKEN_MAX_BATCH);
 *   - then the responses are computed (token_issue(), a proof each).
 * A handle of issuer_open_keys() refuses with VEIL_ERR_UNSUPPORTED.
 * Nothing is charged when any of the checks refuses, and an account past
 * its ration costs no scalar multiplication. No response is output on an
 * error: responses_out is zeroed. *retry_after is 0 unless
 * VEIL_ERR_LIMIT. Other errors: VEIL_ERR_ARGUMENT (a NULL pointer, count
 * 0); VEIL_ERR_SYSTEM (the clients store failed: nothing charged, or,
 * when the charge's own write failed, as clients.h says); VEIL_ERR_NOMEM,
 * VEIL_ERR_CRYPTO (from the element check, nothing charged, or from
 * token_issue() after the charge, which then stands). Thread safe.
 */
veil_err issuer_issue(issuer *is, const uint8_t client_key[ISSUER_CLIENT_KEY_SIZE], int64_t now,
                      const token_request requests[], size_t count, token_response responses_out[],
                      uint32_t *retry_after) __attribute__((warn_unused_result));

/* What issuer_rotate() or issuer_retire() did. */
typedef struct issuer_rotation {
	uint32_t new_key_id; /* 0 for issuer_retire() */
	uint32_t removed_count;
	uint32_t removed[ISSUER_MAX_KEYS]; /* key ids retired, their files erased */
	uint32_t erased_files;             /* key files erased (retired, or orphans) */
} issuer_rotation;

/*
 * Rotates the issuer key of the state in dir, under an exclusive flock
 * of dir: retires the keys whose not-after is at or before now (as
 * issuer_retire()), erases key files whose id is not live (orphans of a
 * killed rotation), writes the key file of the next id (the current + 1;
 * a fresh key whose truncated token key id no live key has), then
 * replaces issuer.keys: the new key current, the old current one retiring
 * at now + grace_hours * 3600. Then erases the retired keys' files. A
 * kill at any moment leaves issuer.keys before or after; a key file
 * written before it is an orphan the next rotation erases. out may be
 * NULL. Errors: VEIL_ERR_ARGUMENT (dir NULL, now not positive);
 * VEIL_ERR_LIMIT (ISSUER_MAX_KEYS keys would be live: retire first);
 * VEIL_ERR_NOT_FOUND (no issuer.keys); VEIL_ERR_CORRUPT (a damaged
 * issuer.keys); VEIL_ERR_SYSTEM, VEIL_ERR_NOMEM.
 */
veil_err issuer_rotate(const char *dir, int64_t now, uint32_t grace_hours, issuer_rotation *out)
        __attribute__((warn_unused_result));

/*
 * Drops the retiring keys of dir whose not-after is at or before now:
 * replaces issuer.keys without them, then erases their files and any
 * orphaned key files, under the same flock. out may be NULL. Errors:
 * as issuer_rotate() (but VEIL_ERR_LIMIT).
 */
veil_err issuer_retire(const char *dir, int64_t now, issuer_rotation *out)
        __attribute__((warn_unused_result));

#endif

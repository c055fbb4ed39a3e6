/*
 * Redemption of Privacy Pass tokens (common/token.h) by an origin: what
 * veild in tokens mode needs to accept one token per request without
 * learning who it was issued to. The issuer (issuer.h) knows accounts and
 * issues; the origin holds a copy of the issuer's live keys (type 0x0001
 * tokens are privately verifiable: checking one takes the issuer's secret
 * key), the TokenChallenge its tokens must answer, and the double-spend
 * set (server/store/spent.h).
 *
 * In the origin's state directory STATE:
 *   STATE/tokens/               (0700) the copy, made by redeem_link()
 *     issuer.keys, issuer-<id>.key   as issuer.h lays them out: the live
 *                               keys valid when the copy was made
 *     challenge                 (0644, public) three lines:
 *                               "veil-token-challenge-v1",
 *                               "issuer <issuer name>", "origin <origin>"
 *   STATE/tokens.new/          a new copy being written, or an old one
 *                               being erased (redeem_link())
 *   STATE/spent.key, STATE/spent/   the double-spend set (spent.h)
 *
 * The TokenChallenge (RFC 9577) is token_type 0x0001, issuer_name = the
 * issuer's name (issuer_name_read()), an empty redemption_context (so a
 * client can fetch tokens ahead of time, at a time of its choosing, and
 * keep them), origin_info = the origin's name. A token is accepted when
 * its challenge_digest is SHA-256 of that challenge, its token_key_id
 * names a key of the copy valid at the time of redemption, its
 * authenticator verifies under that key, and its nonce was not spent
 * under that key before.
 *
 * Nothing here logs or prints; no error carries a key, a nonce or a
 * token.
 *
 * May use: common/ (clock.h, error.h, file.h, token.h); server/store/
 * (spent.h, store_file.h); its own folder (issuer.h); nothing else of
 * the project.
 */
#ifndef VEIL_SERVER_REDEEM_H
#define VEIL_SERVER_REDEEM_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "issuer.h"
#include "spent.h"
#include "token.h"

#define REDEEM_DIR            "tokens"
#define REDEEM_CHALLENGE_FILE "challenge"
#define REDEEM_ORIGIN_MAX     ISSUER_NAME_MAX /* an origin name: as an issuer name */

/* What redeem_link() did. */
typedef struct redeem_link_result {
	uint32_t keys;                         /* live keys in the copy now */
	uint32_t keys_removed;                 /* keys that left the copy (their files erased) */
	uint64_t tokens_forgotten;             /* spent digests erased with them */
	char issuer_name[ISSUER_NAME_MAX + 1]; /* the copy's challenge now: the issuer's name */
	char origin[REDEEM_ORIGIN_MAX + 1];    /* and the origin's */
} redeem_link_result;

/*
 * Makes or refreshes state_dir's copy of the issuer in issuer_dir: the
 * issuer's live keys valid at now (unix seconds; a retiring key whose
 * not-after has passed is left out) and its name (issuer_name_read()),
 * with origin as the origin's name (origin NULL: the origin of the
 * existing copy). Run again after every issuer rotation or retirement.
 * out may be NULL.
 *
 * How, under an exclusive flock of state_dir (store_file_lock_dir(): two
 * links, or a link and a key rotation of the state, wait for each other):
 * the new copy is written whole beside the old one, in
 * STATE/tokens.new/ (the keys by issuer_copy_live_keys(), then the
 * challenge, 0644, by store_file_write_synced(): each file fsynced, then
 * the directory), opened once as veild will open it, and then exchanged
 * with STATE/tokens/ in one rename (renameat2() RENAME_EXCHANGE; a
 * plain rename the first time), STATE fsynced. A crash at any moment leaves STATE/tokens/ the old
 * copy or the new one, never a mix; a STATE/tokens.new/ left behind (the new copy unfinished, or
 * the old one not yet erased) is erased by the next link, which also counts its keys among those
 * that may leave. After the exchange the spent sets of the keys that left (in the old copy or in a
 * leftover, not in the new one) are forgotten (spent_forget_key()) and the old copy is erased:
 * every file zeroed, fsynced and unlinked (store_file_erase()). A crash between the exchange and
 * the forgetting leaves those sets in place, only taking room: the keys are gone, so none of their
 * tokens redeems.
 *
 * Errors: VEIL_ERR_ARGUMENT (issuer_dir or state_dir NULL, now not
 * positive, an origin that is not a valid name (token_name_valid()), or
 * origin NULL with no copy yet: both refused before anything of
 * issuer_dir is read); VEIL_ERR_NOT_FOUND (no state_dir, no
 * issuer name file, no issuer.keys or a key file in issuer_dir);
 * VEIL_ERR_PERMISSION (a key file of the issuer that the group or others
 * may read or write); VEIL_ERR_CORRUPT (a damaged issuer name, key list
 * or key file; with origin NULL, a damaged challenge in the existing
 * copy: link with an origin); VEIL_ERR_UNSUPPORTED (a
 * build without P-384); VEIL_ERR_SYSTEM (a file could not be written or
 * erased, or the file system cannot exchange directories); those of
 * spent_open() and spent_forget_key(); VEIL_ERR_NOMEM. On an error
 * before the exchange the old copy is untouched and STATE/tokens.new/
 * erased; after it (forgetting or erasing failed), the new copy is in
 * place and a later link finishes the rest.
 */
veil_err redeem_link(const char *issuer_dir, const char *state_dir, const char *origin, int64_t now,
                     redeem_link_result *out) __attribute__((warn_unused_result));

/*
 * Reads the challenge of state_dir's copy: the issuer's name and the
 * origin's (NUL-terminated; "" on error). Errors: VEIL_ERR_ARGUMENT (a
 * NULL pointer), VEIL_ERR_NOT_FOUND (no copy), VEIL_ERR_CORRUPT (not the
 * three lines of a challenge file, or a name that is not valid),
 * VEIL_ERR_SYSTEM, VEIL_ERR_NOMEM.
 */
veil_err redeem_challenge_read(const char *state_dir, char issuer_name[ISSUER_NAME_MAX + 1],
                               char origin[REDEEM_ORIGIN_MAX + 1])
        __attribute__((warn_unused_result));

typedef struct redeemer redeemer;

/*
 * Opens the copy (issuer_open_keys() of STATE/tokens and its challenge)
 * and the spent set of state_dir (spent_open() with spent, NULL: the
 * defaults) into *out, the caller's to redeemer_close(). Errors:
 * VEIL_ERR_ARGUMENT (state_dir or out NULL); VEIL_ERR_NOT_FOUND (no
 * copy: run redeem_link() first); VEIL_ERR_PERMISSION (a key file of the
 * copy that the group or others may read or write); VEIL_ERR_CORRUPT (a
 * damaged copy: key list, key file or challenge); VEIL_ERR_BUSY (the
 * copy was relinked three times while it was read); VEIL_ERR_SYSTEM,
 * VEIL_ERR_NOMEM, VEIL_ERR_UNSUPPORTED and the errors of spent_open().
 * On error *out is NULL and nothing stays open.
 *
 * A running redeemer follows a relink through redeemer_refresh(), which
 * its owner calls periodically (veild: from its receive loop, outside
 * any request); redemption never reloads. For about a second after a
 * link, tokens are checked against the copy before it: a key that left a
 * copy because its grace ended is refused by both (its not-after has
 * passed).
 */
veil_err redeemer_open(const char *state_dir, const spent_config *spent, redeemer **out)
        __attribute__((warn_unused_result));

/*
 * The issuer's name and the origin of the challenge of the copy
 * redeemer_open() loaded (NUL-terminated, valid names), what a server
 * announces when it starts. Owned by the handle, valid until
 * redeemer_close(); fixed at open: a later relink that changes them is
 * followed by redemption, not here. NULL for NULL.
 */
const char *redeemer_issuer_name(const redeemer *r);
const char *redeemer_origin(const redeemer *r);

/* Closes the spent set and wipes and frees the keys. NULL is a no-op. */
void redeemer_close(redeemer *r);

typedef enum redeem_verdict {
	REDEEM_OK,      /* valid and not spent before: spent now */
	REDEEM_INVALID, /* another challenge, an unknown or retired key, or it does not verify */
	REDEEM_SPENT,   /* redeemed before */
	REDEEM_ERROR,   /* the spent set failed or is full, or the check could not be
	                   computed (memory): refuse, nothing recorded */
} redeem_verdict;

/*
 * Checks and spends t at now (unix seconds), in order: its
 * challenge_digest is the copy's (compared in constant time); its
 * token_key_id names a key of the copy valid at now (issuer_key());
 * token_verify() under that key holds; then spent_redeem(). Nothing is
 * recorded unless all checks pass: an invalid token is never spent.
 * REDEEM_ERROR for r or t NULL. Thread safe: any number of threads at
 * once on one handle.
 */
redeem_verdict redeemer_redeem(redeemer *r, const token *t, int64_t now)
        __attribute__((warn_unused_result));

/*
 * Follows a relink: at most once a second (on the monotonic clock;
 * calls in between return at once), looks at STATE/tokens/issuer.keys
 * (a stat), and when it is another file than the one loaded, loads the
 * new copy and swaps it in under the write lock (redemptions in flight
 * finish on the old copy; the lock prefers the writer, so the swap
 * waits for those alone). A copy that does not load leaves the loaded
 * one in force, and is tried again at the next call a second later.
 * Redemption itself never reloads: the caller calls this periodically
 * (veild: from its receive loop, at least every few hundred
 * milliseconds), from any thread; the load's file reads happen in the
 * caller's. NULL is a no-op.
 */
void redeemer_refresh(redeemer *r);

#endif

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
 * May use: common/ (error.h, token.h); server/store/ (spent.h,
 * store_file.h); its own folder (issuer.h); nothing else of the project.
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
	uint32_t keys;             /* live keys in the copy now */
	uint32_t keys_removed;     /* keys that left the copy (their files erased) */
	uint64_t tokens_forgotten; /* spent digests erased with them */
} redeem_link_result;

/*
 * Makes or refreshes state_dir's copy of the issuer in issuer_dir: its
 * live keys valid at now and its name, with origin as the origin's name
 * (origin NULL: the origin of the existing copy). Replaces the copy
 * whole; keys that leave it have their files erased and their spent sets
 * forgotten (spent_forget_key()). Run again after every issuer rotation
 * or retirement. out may be NULL.
 */
veil_err redeem_link(const char *issuer_dir, const char *state_dir, const char *origin, int64_t now,
                     redeem_link_result *out) __attribute__((warn_unused_result));

/*
 * Reads the challenge of state_dir's copy: the issuer's name and the
 * origin's (NUL-terminated). Errors: VEIL_ERR_NOT_FOUND (no copy),
 * VEIL_ERR_CORRUPT, VEIL_ERR_SYSTEM, VEIL_ERR_ARGUMENT.
 */
veil_err redeem_challenge_read(const char *state_dir, char issuer_name[ISSUER_NAME_MAX + 1],
                               char origin[REDEEM_ORIGIN_MAX + 1])
        __attribute__((warn_unused_result));

typedef struct redeemer redeemer;

/* Opens the copy and the spent set of state_dir. */
veil_err redeemer_open(const char *state_dir, const spent_config *spent, redeemer **out)
        __attribute__((warn_unused_result));
void redeemer_close(redeemer *r);

typedef enum redeem_verdict {
	REDEEM_OK,      /* valid and not spent before: spent now */
	REDEEM_INVALID, /* another challenge, an unknown or retired key, or it does not verify */
	REDEEM_SPENT,   /* redeemed before */
	REDEEM_ERROR,   /* the spent set failed or is full: refuse, nothing recorded */
} redeem_verdict;

/* Checks and spends t at now (unix seconds). Thread safe. */
redeem_verdict redeemer_redeem(redeemer *r, const token *t, int64_t now)
        __attribute__((warn_unused_result));

#endif

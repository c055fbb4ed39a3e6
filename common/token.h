/*
 * Privacy Pass tokens of type 0x0001: the privately verifiable tokens of
 * RFC 9578 (VOPRF(P-384, SHA-384), RFC 9497), in the formats of RFC 9577.
 *
 * The parties and the four structures, all integers big-endian:
 *
 *   TokenChallenge  token_type (2) | issuer_name (2-byte length, 1..65535
 *                   bytes) | redemption_context (1-byte length, 0 or 32
 *                   bytes) | origin_info (2-byte length, 0..65535 bytes).
 *                   The origin sends it; the client hashes it, as sent,
 *                   into the token (challenge_digest = SHA-256 of it).
 *   TokenRequest    token_type (2) | truncated_token_key_id (1) |
 *                   blinded_msg (49): the client to the issuer.
 *   TokenResponse   evaluate_msg (49) | evaluate_proof (96, c || s): the
 *                   issuer to the client.
 *   Token           token_type (2) | nonce (32) | challenge_digest (32) |
 *                   token_key_id (32) | authenticator (48): the client to
 *                   the origin, which asks the issuer (the holder of skI)
 *                   whether it is valid.
 *
 * token_key_id is SHA-256 of the issuer's public key pkI in its 49-byte
 * compressed encoding (RFC 9497 SerializeElement); a request carries its
 * last byte only. The token's authenticator is the RFC 9497 VOPRF output
 * F(skI, token_input), where token_input = token_type | nonce |
 * challenge_digest | token_key_id: the client gets it blindly through
 * a request and a response (whose DLEQ proof shows that the issuer used
 * the key behind pkI), and the issuer recomputes it from skI to verify.
 *
 * The issuer's key is an oprf_key of the suite token_suite() (P384-SHA384,
 * from oprf_key_import() of the 48-byte skI or oprf_key_generate()).
 *
 * This module serves token type 0x0001 only: every decoder refuses another
 * type with VEIL_ERR_UNSUPPORTED, and the encoders write 0x0001. The
 * decoders check the syntax (type, every length, no trailing bytes); the
 * group elements inside are checked where they are used (token_issue,
 * token_client_finalize), as VEIL_ERR_ELEMENT.
 *
 * Output parameters are written only when a function returns VEIL_OK; on
 * any error their contents are zeroed. Besides the errors listed, every
 * function that computes on the curve may fail with VEIL_ERR_NOMEM,
 * VEIL_ERR_CRYPTO or VEIL_ERR_SYSTEM as described in oprf.h.
 * veil_crypto_init() must have succeeded first. No function here keeps
 * state: any number of threads may call them at once.
 */
#ifndef VEIL_COMMON_TOKEN_H
#define VEIL_COMMON_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "oprf.h"

#define TOKEN_WARN_UNUSED __attribute__((warn_unused_result))

/* The token type served: VOPRF(P-384, SHA-384), privately verifiable. */
#define TOKEN_TYPE_PRIVATE 0x0001

#define TOKEN_ELEMENT_SIZE            49 /* a compressed P-384 point */
#define TOKEN_SCALAR_SIZE             48 /* a P-384 scalar: skI, a blind */
#define TOKEN_PROOF_SIZE              96 /* c || s */
#define TOKEN_NONCE_SIZE              32
#define TOKEN_DIGEST_SIZE             32 /* SHA-256 */
#define TOKEN_KEY_ID_SIZE             32 /* SHA-256 */
#define TOKEN_AUTHENTICATOR_SIZE      48 /* SHA-384 */
#define TOKEN_REDEMPTION_CONTEXT_SIZE 32
/* token_type | nonce | challenge_digest | token_key_id */
#define TOKEN_INPUT_SIZE              (2 + TOKEN_NONCE_SIZE + TOKEN_DIGEST_SIZE + TOKEN_KEY_ID_SIZE)

/* The encoded sizes of the fixed-size structures. */
#define TOKEN_REQUEST_SIZE  (2 + 1 + TOKEN_ELEMENT_SIZE)
#define TOKEN_RESPONSE_SIZE (TOKEN_ELEMENT_SIZE + TOKEN_PROOF_SIZE)
#define TOKEN_SIZE          (TOKEN_INPUT_SIZE + TOKEN_AUTHENTICATOR_SIZE)

/* Field limits of a TokenChallenge, and its largest encoding. */
#define TOKEN_ISSUER_NAME_MAX_SIZE 65535
#define TOKEN_ORIGIN_INFO_MAX_SIZE 65535
#define TOKEN_CHALLENGE_MAX_SIZE                                                                   \
	(2 + 2 + TOKEN_ISSUER_NAME_MAX_SIZE + 1 + TOKEN_REDEMPTION_CONTEXT_SIZE + 2 +              \
	 TOKEN_ORIGIN_INFO_MAX_SIZE)

/* The most requests token_issue() takes in one call. */
#define TOKEN_MAX_BATCH 65535

/*
 * A TokenChallenge of type 0x0001. Its fields point into memory the
 * caller owns: after token_challenge_decode(), into the decoded bytes,
 * which must outlive the struct's use. A pointer may be NULL when its
 * length is 0.
 */
typedef struct token_challenge {
	const uint8_t *issuer_name; /* 1 to TOKEN_ISSUER_NAME_MAX_SIZE bytes */
	size_t issuer_name_len;
	const uint8_t *redemption_context; /* 0 or TOKEN_REDEMPTION_CONTEXT_SIZE bytes */
	size_t redemption_context_len;
	const uint8_t *origin_info; /* 0 to TOKEN_ORIGIN_INFO_MAX_SIZE bytes */
	size_t origin_info_len;
} token_challenge;

/* A TokenRequest of type 0x0001 (the type is implied). */
typedef struct token_request {
	uint8_t truncated_token_key_id;
	uint8_t blinded_msg[TOKEN_ELEMENT_SIZE];
} token_request;

/* A TokenResponse for type 0x0001. */
typedef struct token_response {
	uint8_t evaluate_msg[TOKEN_ELEMENT_SIZE];
	uint8_t evaluate_proof[TOKEN_PROOF_SIZE];
} token_response;

/* A Token of type 0x0001 (the type is implied). */
typedef struct token {
	uint8_t nonce[TOKEN_NONCE_SIZE];
	uint8_t challenge_digest[TOKEN_DIGEST_SIZE];
	uint8_t token_key_id[TOKEN_KEY_ID_SIZE];
	uint8_t authenticator[TOKEN_AUTHENTICATOR_SIZE];
} token;

/*
 * Appends the encoding of c to out (nothing is appended on error).
 * Errors: VEIL_ERR_ARGUMENT (NULL c or out, an empty or too long issuer
 * name, a redemption context of neither 0 nor 32 bytes, a too long origin
 * info, or a NULL pointer with a non-zero length); VEIL_ERR_NOMEM and
 * VEIL_ERR_LIMIT from buf_append(), also kept as out's sticky error.
 */
veil_err token_challenge_encode(const token_challenge *c, buf *out) TOKEN_WARN_UNUSED;

/*
 * Decodes the len bytes at in as one TokenChallenge into *out, whose
 * pointers then point into in. Errors: VEIL_ERR_ARGUMENT (NULL out, or
 * NULL in with a non-zero len); VEIL_ERR_UNSUPPORTED (a token type other
 * than 0x0001); VEIL_ERR_PARSE (truncated, an empty issuer name, a
 * redemption context of 1 to 31 or more than 32 bytes, trailing bytes).
 */
veil_err token_challenge_decode(const uint8_t *in, size_t len,
                                token_challenge *out) TOKEN_WARN_UNUSED;

/* SHA-256 of the len bytes at challenge (the encoding, as sent). */
void token_challenge_digest(const uint8_t *challenge, size_t len,
                            uint8_t digest_out[static TOKEN_DIGEST_SIZE]);

/* Writes the TOKEN_REQUEST_SIZE bytes encoding r. Cannot fail. */
void token_request_encode(const token_request *r, uint8_t out[static TOKEN_REQUEST_SIZE]);

/*
 * Decodes the len bytes at in as one TokenRequest. Errors:
 * VEIL_ERR_ARGUMENT (NULL out, or NULL in with a non-zero len);
 * VEIL_ERR_UNSUPPORTED (a type other than 0x0001); VEIL_ERR_PARSE (len
 * is not TOKEN_REQUEST_SIZE: truncated or trailing bytes).
 */
veil_err token_request_decode(const uint8_t *in, size_t len, token_request *out) TOKEN_WARN_UNUSED;

/* Writes the TOKEN_RESPONSE_SIZE bytes encoding r. Cannot fail. */
void token_response_encode(const token_response *r, uint8_t out[static TOKEN_RESPONSE_SIZE]);

/*
 * Decodes the len bytes at in as one TokenResponse (it has no type field).
 * Errors: VEIL_ERR_ARGUMENT (NULL out, or NULL in with a non-zero len);
 * VEIL_ERR_PARSE (len is not TOKEN_RESPONSE_SIZE).
 */
veil_err token_response_decode(const uint8_t *in, size_t len,
                               token_response *out) TOKEN_WARN_UNUSED;

/* Writes the TOKEN_SIZE bytes encoding t. Cannot fail. */
void token_encode(const token *t, uint8_t out[static TOKEN_SIZE]);

/*
 * Decodes the len bytes at in as one Token. Errors: VEIL_ERR_ARGUMENT
 * (NULL out, or NULL in with a non-zero len); VEIL_ERR_UNSUPPORTED (a type
 * other than 0x0001); VEIL_ERR_PARSE (len is not TOKEN_SIZE).
 */
veil_err token_decode(const uint8_t *in, size_t len, token *out) TOKEN_WARN_UNUSED;

/* The OPRF suite of type 0x0001, P384-SHA384; NULL if this build lacks it. */
const oprf_suite *token_suite(void);

/* token_key_id: SHA-256 of the issuer's public key pk (49 bytes, as sent). */
void token_key_id(const uint8_t pk[static TOKEN_ELEMENT_SIZE],
                  uint8_t key_id_out[static TOKEN_KEY_ID_SIZE]);

/*
 * The issuer's public key pkI (compressed, TOKEN_ELEMENT_SIZE bytes to
 * pk_out) and its token_key_id (TOKEN_KEY_ID_SIZE bytes to key_id_out),
 * from its key. Errors: VEIL_ERR_ARGUMENT (a NULL pointer);
 * VEIL_ERR_UNSUPPORTED (key is not of token_suite()).
 */
veil_err token_issuer_public(const oprf_key *key, uint8_t *pk_out,
                             uint8_t *key_id_out) TOKEN_WARN_UNUSED;

/*
 * Client: a TokenRequest for the challenge (challenge_len bytes, the
 * encoding as the origin sent it; it must decode) to the issuer whose
 * public key is pk (TOKEN_ELEMENT_SIZE bytes). The nonce is nonce_in
 * (TOKEN_NONCE_SIZE bytes) or, when that is NULL, fresh random bytes; the
 * blind is blind_in (TOKEN_SCALAR_SIZE bytes, non-zero and below the
 * group order) or, when that is NULL, a fresh random scalar. The nonce
 * and blind used go to nonce_out (TOKEN_NONCE_SIZE bytes) and blind_out
 * (TOKEN_SCALAR_SIZE bytes), which may be the same memory as nonce_in and
 * blind_in; keep both, and the challenge, for token_client_finalize().
 * The blind is secret: the caller must wipe it after finalizing.
 * pk is not checked here; token_client_finalize() checks it.
 * Errors: VEIL_ERR_ARGUMENT (a NULL pointer other than nonce_in and
 * blind_in); VEIL_ERR_UNSUPPORTED, VEIL_ERR_PARSE (the challenge does not
 * decode, as token_challenge_decode()); VEIL_ERR_SCALAR (a bad blind_in);
 * VEIL_ERR_INVALID_INPUT (the token input maps to the identity, which
 * happens with negligible probability).
 */
veil_err token_client_request(const uint8_t *pk, const uint8_t *challenge, size_t challenge_len,
                              const uint8_t *nonce_in, const uint8_t *blind_in, uint8_t *nonce_out,
                              uint8_t *blind_out, token_request *request_out) TOKEN_WARN_UNUSED;

/*
 * Client: the Token from the issuer's response to the request that
 * token_client_request() made from pk, challenge, nonce and blind (sizes
 * as there). The response's proof is verified against pk first; no token
 * is output unless it holds. Errors: VEIL_ERR_ARGUMENT (a NULL pointer);
 * VEIL_ERR_UNSUPPORTED, VEIL_ERR_PARSE (the challenge does not decode);
 * VEIL_ERR_SCALAR (a bad blind); VEIL_ERR_ELEMENT (pk or the response's
 * evaluate_msg is not a valid point); VEIL_ERR_VERIFY (the proof does not
 * verify: another key, or a response to another request);
 * VEIL_ERR_INVALID_INPUT as for token_client_request().
 */
veil_err token_client_finalize(const uint8_t *pk, const uint8_t *challenge, size_t challenge_len,
                               const uint8_t *nonce, const uint8_t *blind,
                               const token_response *response, token *token_out) TOKEN_WARN_UNUSED;

/*
 * Issuer: answers count requests (count > 0) under key, writing
 * responses_out[i] for requests[i]. Each response carries its own proof
 * (made with a hedged random nonce, see oprf_blind_evaluate()), as each
 * is finalized on its own, by its own client. All or nothing: the key
 * ids of all requests are checked before any is evaluated, and on any
 * error but VEIL_ERR_LIMIT every response is zeroed; a caller that wants a verdict per
 * request calls with count 1. Errors: VEIL_ERR_ARGUMENT (a NULL pointer,
 * count 0); VEIL_ERR_LIMIT (count above TOKEN_MAX_BATCH);
 * VEIL_ERR_UNSUPPORTED (key is not of token_suite()); VEIL_ERR_NOT_FOUND
 * (a request's truncated_token_key_id is not that of key);
 * VEIL_ERR_ELEMENT (a blinded_msg is not a valid point).
 */
veil_err token_issue(const oprf_key *key, size_t count, const token_request requests[],
                     token_response responses_out[]) TOKEN_WARN_UNUSED;

/*
 * Issuer, on an origin's behalf: whether t is a valid token under key.
 * *valid_out is 1 when t's authenticator equals F(skI, token_input),
 * compared in constant time, else 0 (another key, a forged or altered
 * token). Whether t answers the origin's own challenge (its
 * challenge_digest) and was not spent before is the caller's to check.
 * Errors: VEIL_ERR_ARGUMENT (a NULL pointer); VEIL_ERR_UNSUPPORTED (key
 * is not of token_suite()); VEIL_ERR_INVALID_INPUT (negligible, as for
 * token_client_request()).
 */
veil_err token_verify(const oprf_key *key, const token *t, int *valid_out) TOKEN_WARN_UNUSED;

/*
 * The names veil puts in a TokenChallenge (the issuer's, the origin's):
 * 1 to TOKEN_NAME_MAX bytes of printable ASCII without spaces (a host
 * name, say "issuer.example.org"). token_name_valid() is 1 for such a
 * NUL-terminated string, else 0 (NULL too).
 */
#define TOKEN_NAME_MAX 255
int token_name_valid(const char *name);

/*
 * The TokenChallenge veil uses (RFC 9577): type 0x0001, issuer_name, an
 * empty redemption context, origin_info = origin. token_challenge_of()
 * appends its encoding to out; token_challenge_digest_of() writes its
 * challenge_digest (SHA-256 of the encoding) to digest_out. Errors:
 * VEIL_ERR_ARGUMENT (a name not valid, a NULL pointer), VEIL_ERR_NOMEM.
 */
veil_err token_challenge_of(const char *issuer_name, const char *origin,
                            buf *out) TOKEN_WARN_UNUSED;
veil_err token_challenge_digest_of(const char *issuer_name, const char *origin,
                                   uint8_t digest_out[TOKEN_DIGEST_SIZE]) TOKEN_WARN_UNUSED;

/*
 * Issuer: sets t->authenticator to F(skI, token_input) for t's nonce,
 * challenge_digest and token_key_id: a valid token made without the blind issuance
 * protocol, which only the holder of skI can do. For load generators and
 * tests that need many tokens; a client never holds skI and always uses
 * token_client_request(). Errors: VEIL_ERR_ARGUMENT (a NULL pointer);
 * t's authenticator is zeroed on every error;
 * VEIL_ERR_UNSUPPORTED and VEIL_ERR_INVALID_INPUT as token_verify().
 */
veil_err token_authenticate(const oprf_key *key, token *t) TOKEN_WARN_UNUSED;

#endif

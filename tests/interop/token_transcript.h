/*
 * Privacy Pass type 0x0001 tokens (RFC 9578, formats of RFC 9577) as JSON
 * Lines, for interoperability testing against other implementations: one
 * request line in, one answer line out. This is the logic of the
 * veil-token tool (tests/interop/veil-token.c), kept apart from its main
 * so that tests and the fuzzer can drive it directly; the line handling
 * shared with veil-oprf (ids, errors, hex) is in jsonl.h.
 *
 * A request is one JSON object on one line, with "id" (any JSON value,
 * optional, echoed back), "op" and the operation's members, every one of
 * them required, all bytes as hex:
 *
 *   "op":"key",      "skI"                        -> "pkI", "token_key_id"
 *   "op":"issue",    "skI", "request"             -> "response"
 *   "op":"request",  "pkI", "challenge", "nonce",
 *                    "blind"                      -> "request"
 *   "op":"finalize", "pkI", "challenge", "nonce",
 *                    "blind", "response"          -> "token"
 *   "op":"verify",   "skI", "token"               -> "valid": true | false
 *
 * skI is the issuer's 48-byte P-384 secret scalar, pkI its 49-byte
 * compressed public key, nonce 32 bytes, blind a 48-byte scalar;
 * challenge is an encoded TokenChallenge, request a TokenRequest, response
 * a TokenResponse and token a Token, each as common/token.h decodes them.
 * "key" gives pkI and token_key_id (SHA-256 of pkI). "issue" answers one
 * request as the issuer holding skI would (with a fresh proof, so the
 * response differs from run to run); "request" and "finalize" are the
 * client's two steps; "finalize" verifies the response's proof against
 * pkI and fails when it does not hold. "verify" is the issuer's verdict
 * on a token: valid false for a well-formed token that is not valid
 * under skI.
 *
 * Any other member name is an error, as is a missing one: a typo must not
 * pass silently. Success:
 *
 *   {"id":...,"ok":true,<the operation's members>}
 *
 * and anything that cannot be served (bad JSON, unknown op, a missing
 * field, bad hex, a wrong length, a structure that does not decode, a
 * scalar out of range, a proof that does not verify) gets
 *
 *   {"id":...,"ok":false,"error":"<field>: <reason>"}
 *
 * with the message built from fixed text and field names only.
 */
#ifndef VEIL_TESTS_TOKEN_TRANSCRIPT_H
#define VEIL_TESTS_TOKEN_TRANSCRIPT_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

/*
 * Serves one request line of len bytes (its newline may be included or
 * not; line may be NULL when len is 0) and appends the answer line to out.
 * A blank line (nothing but spaces, tabs, CR and LF) is skipped: nothing is
 * appended. Every request, well-formed or not, gets its answer; a line
 * longer than JSONL_MAX_LINE is answered with an error unread.
 *
 * Returns VEIL_OK when the answer (or nothing, for a blank line) was
 * appended. Otherwise out could not take the answer: the error of
 * buf_append() is returned (VEIL_ERR_NOMEM or VEIL_ERR_LIMIT, also
 * recorded in out as its sticky error), and out holds what it held before.
 * VEIL_ERR_ARGUMENT for a NULL line with a non-zero len. Calls
 * veil_crypto_init() itself; VEIL_ERR_CRYPTO if that fails.
 */
veil_err token_transcript_line(const char *line, size_t len, buf *out)
        __attribute__((warn_unused_result));

#endif

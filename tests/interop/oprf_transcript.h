/*
 * RFC 9497 transcripts as JSON Lines, for interoperability testing against
 * other implementations: one request line in, one answer line out. This is
 * the logic of the veil-oprf tool (tests/interop/veil-oprf.c), kept apart
 * from its main so that tests and the fuzzer can drive it directly; the
 * line handling shared with veil-token (ids, errors, hex) is in jsonl.h.
 *
 * A request is one JSON object on one line:
 *
 *   {"id": any JSON value (optional; echoed back),
 *    "suite": "ristretto255-SHA512" | "P256-SHA256" | "P384-SHA384"
 *             | "P521-SHA512",
 *    "mode": 0 | 1 | 2,                    OPRF, VOPRF, POPRF
 *    "seed": hex, "keyInfo": hex,          the key by DeriveKeyPair, or
 *    "skSm": hex,                          the key itself (not both ways)
 *    "input": [hex, ...],                  1 to OPRF_MAX_BATCH inputs
 *    "blind": [hex, ...],                  optional; one per input
 *    "info": hex,                          mode 2 only, and required there
 *    "proofRandomScalar": hex}             modes 1 and 2 only; optional
 *
 * Hex is accepted in either case and must have exactly two digits per
 * byte; skSm, each blind and proofRandomScalar must be exactly Ns bytes,
 * and seed from OPRF_MIN_SEED_SIZE (32) to Ns bytes (RFC 9497's vectors
 * use 32 in every suite). Any other member name is an error, as is a member that does not
 * belong to the mode (info outside mode 2, proofRandomScalar in mode 0):
 * a typo must not pass silently for a default.
 *
 * The request is served as a client and a server would run it: the key is
 * derived or imported; each input is blinded with its blind; the batch is
 * evaluated with BlindEvaluate (with one proof for the whole batch, made
 * with proofRandomScalar, in modes 1 and 2); and Finalize verifies that
 * proof against pkSm and computes the outputs.
 *
 * When "blind" is absent, each input gets a fresh random blind: the
 * blinded and evaluated elements then differ from run to run, but the
 * outputs do not, as they depend only on the key, the input and info.
 * When "proofRandomScalar" is absent, a fresh random one is used: the
 * proof differs from run to run and still verifies.
 *
 * The answer is one line of compact JSON ending in "\n". It always starts
 * with the id: the request's "id" value written back compactly (the same
 * JSON value, with numbers as their source text), or null when the
 * request had none or was not a JSON object. Success:
 *
 *   {"id":...,"ok":true,"skSm":hex,"pkSm":hex,"blindedElement":[hex,...],
 *    "evaluationElement":[hex,...],"proof":hex,"output":[hex,...]}
 *
 * with "proof" (c || s) in modes 1 and 2 only, and all hex in lowercase.
 * A request that cannot be served (bad JSON, bad hex, a missing field, a
 * wrong length, a scalar out of range, an unknown suite or mode, ...) gets
 *
 *   {"id":...,"ok":false,"error":"<field>: <reason>"}
 *
 * where the message is built only from fixed text and field names, never
 * from the request's values.
 *
 * Suites are those oprf_suite_by_name() serves; any other identifier is
 * answered as unsupported.
 */
#ifndef VEIL_TESTS_OPRF_TRANSCRIPT_H
#define VEIL_TESTS_OPRF_TRANSCRIPT_H

#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "json.h"

/* The longest request line served; longer lines get an error answer. */
#define OPRF_TRANSCRIPT_MAX_LINE JSON_MAX_INPUT_SIZE

/*
 * Serves one request line of len bytes (its newline may be included or
 * not; line may be NULL when len is 0) and appends the answer line to out.
 * A blank line (nothing but spaces, tabs, CR and LF) is skipped: nothing is
 * appended. Every request, well-formed or not, gets its answer; a line
 * longer than OPRF_TRANSCRIPT_MAX_LINE is answered with an error unread.
 *
 * Returns VEIL_OK when the answer (or nothing, for a blank line) was
 * appended. Otherwise out could not take the answer: the error of
 * buf_append() is returned (VEIL_ERR_NOMEM or VEIL_ERR_LIMIT, also
 * recorded in out as its sticky error), and out holds what it held before.
 * Calls veil_crypto_init() itself; VEIL_ERR_CRYPTO if that fails.
 */
veil_err oprf_transcript_line(const char *line, size_t len, buf *out)
        __attribute__((warn_unused_result));

/*
 * Appends the answer {"id":null,"ok":false,"error":<message>} and its
 * newline to out, for a line the caller could not pass to
 * oprf_transcript_line() (one too long to read, say). message must be
 * valid UTF-8. Errors as for oprf_transcript_line(), plus
 * VEIL_ERR_ARGUMENT for a message that is not valid UTF-8.
 */
veil_err oprf_transcript_refuse(buf *out, const char *message) __attribute__((warn_unused_result));

#endif

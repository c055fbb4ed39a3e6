/*
 * RFC 9497 oblivious pseudorandom functions.
 *
 * The three modes of RFC 9497 over a suite chosen at run time, one of
 * "ristretto255-SHA512" (libsodium), "P256-SHA256", "P384-SHA384" and
 * "P521-SHA512" (OpenSSL; what is constant-time there: group_nist.h):
 *
 *   OPRF  (0x00)  client learns F(k, x); server learns nothing about x.
 *   VOPRF (0x01)  as OPRF, plus a batched DLEQ proof that the server used
 *                 the key whose public half the client holds.
 *   POPRF (0x02)  as VOPRF, with a public info string bound into the key.
 *
 * The client side is oprf_blind() then oprf_finalize(); the server side is
 * oprf_blind_evaluate(), and oprf_evaluate() computes F(k, x) directly (used
 * to build the registry). Everything is suite-agnostic: callers obtain an
 * oprf_suite descriptor by name and never see a group or hash type.
 *
 * Encodings are the RFC's: elements are Ne bytes (SerializeElement),
 * scalars Ns bytes (SerializeScalar), outputs Nh bytes, a proof is c || s
 * (2 * Ns bytes). Arrays of elements or scalars are passed flat:
 * element i of a batch starts at byte i * Ne.
 *
 * Validation: every element taken from a caller is checked to be a
 * canonical encoding of a non-identity point (VEIL_ERR_ELEMENT); every
 * scalar taken from a caller is checked to be below the group order and,
 * where the RFC needs it, non-zero (VEIL_ERR_SCALAR).
 *
 * Secrets: an oprf_key lives in libsodium guarded memory; blinds are the
 * caller's to keep secret and wipe. Temporaries are wiped before return.
 *
 * Output parameters are written only when the function returns VEIL_OK;
 * on any error their contents are zeroed.
 *
 * On the NIST suites, every function below that computes on elements
 * (key derivation, generation and import, Blind, BlindEvaluate, Finalize,
 * Evaluate) may also fail with VEIL_ERR_NOMEM (OpenSSL could not allocate)
 * or VEIL_ERR_CRYPTO (OpenSSL reported an internal failure), and in the
 * unlikely event that a lock cannot be taken, VEIL_ERR_SYSTEM. These are
 * never reported as a failed proof or an invalid input. On every suite,
 * BlindEvaluate and Finalize in VOPRF and POPRF modes may fail with
 * VEIL_ERR_NOMEM: the batch proof's composites take memory in proportion
 * to count.
 *
 * Thread safety: suites and contexts are immutable once made and may be
 * shared by any number of threads; so may a key. veil_crypto_init() must
 * have succeeded before any function here is called.
 */
#ifndef VEIL_COMMON_OPRF_H
#define VEIL_COMMON_OPRF_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define OPRF_WARN_UNUSED __attribute__((warn_unused_result))

/* Upper bounds over every suite, for callers that size buffers statically. */
#define OPRF_MAX_ELEMENT_SIZE 67 /* P521 compressed point */
#define OPRF_MAX_SCALAR_SIZE  66 /* P521 scalar */
#define OPRF_MAX_HASH_SIZE    64 /* SHA-512 */
#define OPRF_MAX_PROOF_SIZE   (2 * OPRF_MAX_SCALAR_SIZE)

/* DeriveKeyPair's seed: RFC 9497's vectors use 32 bytes in every suite. */
#define OPRF_MIN_SEED_SIZE 32

/* Lengths the RFC encodes in two bytes cannot exceed this. */
#define OPRF_MAX_INPUT_SIZE 65535
#define OPRF_MAX_INFO_SIZE  65535
/* Batch index i is encoded in two bytes in ComputeComposites. */
#define OPRF_MAX_BATCH      65535

typedef enum oprf_mode {
	OPRF_MODE_OPRF = 0x00,
	OPRF_MODE_VOPRF = 0x01,
	OPRF_MODE_POPRF = 0x02,
} oprf_mode;

/* A static descriptor of an RFC 9497 ciphersuite. Never freed. */
typedef struct oprf_suite oprf_suite;

/* Suite, mode and the derived context string and DSTs. */
typedef struct oprf_ctx oprf_ctx;

/* A server key pair (skS, pkS) in guarded memory. */
typedef struct oprf_key oprf_key;

/*
 * Initializes the crypto libraries. Idempotent and thread-safe.
 * Returns VEIL_OK, or VEIL_ERR_CRYPTO when libsodium cannot start.
 */
veil_err veil_crypto_init(void) OPRF_WARN_UNUSED;

/*
 * The suite whose RFC 9497 identifier is `identifier` (for example
 * "ristretto255-SHA512" or "P384-SHA384"; the match is exact, case
 * included), or NULL when this build does not serve it.
 */
const oprf_suite *oprf_suite_by_name(const char *identifier);

/* Properties of a suite. */
const char *oprf_suite_name(const oprf_suite *suite);
size_t oprf_suite_element_size(const oprf_suite *suite); /* Ne */
size_t oprf_suite_scalar_size(const oprf_suite *suite);  /* Ns */
size_t oprf_suite_output_size(const oprf_suite *suite);  /* Nh */
size_t oprf_suite_proof_size(const oprf_suite *suite);   /* 2 * Ns */

/*
 * Makes a context for suite and mode. *out is set to NULL first.
 * Errors: VEIL_ERR_ARGUMENT (NULL suite or out), VEIL_ERR_UNSUPPORTED
 * (unknown mode), VEIL_ERR_NOMEM. Free with oprf_ctx_free().
 */
veil_err oprf_ctx_new(const oprf_suite *suite, oprf_mode mode, oprf_ctx **out) OPRF_WARN_UNUSED;
void oprf_ctx_free(oprf_ctx *ctx); /* NULL is a no-op */
const oprf_suite *oprf_ctx_suite(const oprf_ctx *ctx);
oprf_mode oprf_ctx_mode(const oprf_ctx *ctx);

/*
 * RFC 9497 DeriveKeyPair: a key pair from seed (from OPRF_MIN_SEED_SIZE
 * to Ns bytes) and info (at most OPRF_MAX_INFO_SIZE bytes; may be NULL
 * when info_len is 0).
 * The derivation depends on the context's mode, as the RFC specifies.
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_LIMIT, VEIL_ERR_DERIVE_KEY_PAIR,
 * VEIL_ERR_NOMEM. Free with oprf_key_free().
 */
veil_err oprf_key_derive(const oprf_ctx *ctx, const uint8_t *seed, size_t seed_len,
                         const uint8_t *info, size_t info_len, oprf_key **out) OPRF_WARN_UNUSED;

/* A fresh random key pair. Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_NOMEM. */
veil_err oprf_key_generate(const oprf_suite *suite, oprf_key **out) OPRF_WARN_UNUSED;

/*
 * A key pair from the serialized secret scalar sk (Ns bytes).
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_SCALAR (zero or not below the
 * order), VEIL_ERR_NOMEM.
 */
veil_err oprf_key_import(const oprf_suite *suite, const uint8_t *sk,
                         oprf_key **out) OPRF_WARN_UNUSED;

/* Copies the secret scalar (Ns bytes) out. The caller must wipe it. */
void oprf_key_export_secret(const oprf_key *key, uint8_t *sk_out);
/* Copies the public element pkS (Ne bytes) out. */
void oprf_key_public(const oprf_key *key, uint8_t *pk_out);
const oprf_suite *oprf_key_suite(const oprf_key *key);

/*
 * RFC 9497's input check of one serialized element (Ne bytes of suite):
 * VEIL_OK for a canonical encoding of a non-identity element; else
 * VEIL_ERR_ELEMENT, or on the NIST suites VEIL_ERR_NOMEM / VEIL_ERR_CRYPTO
 * when OpenSSL fails. Far cheaper than an evaluation: lets a server
 * refuse bad input before it charges for work.
 */
veil_err oprf_element_check(const oprf_suite *suite, const uint8_t *element) OPRF_WARN_UNUSED;
/* Wipes and frees. NULL is a no-op. */
void oprf_key_free(oprf_key *key);

/*
 * Client, RFC 9497 Blind. Maps input to the group and multiplies it by a
 * blind: the one given in blind_in (Ns bytes, non-zero, below the order)
 * or, when blind_in is NULL, a fresh random one. Writes the blind used to
 * blind_out (Ns bytes; keep it secret until oprf_finalize) and the blinded
 * element to blinded_out (Ne bytes). The mode does not change Blind; the
 * POPRF tweaked key is computed in oprf_finalize.
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_LIMIT (input too long),
 * VEIL_ERR_SCALAR (bad blind_in), VEIL_ERR_INVALID_INPUT.
 */
veil_err oprf_blind(const oprf_ctx *ctx, const uint8_t *input, size_t input_len,
                    const uint8_t *blind_in, uint8_t *blind_out,
                    uint8_t *blinded_out) OPRF_WARN_UNUSED;

/*
 * Server, RFC 9497 BlindEvaluate over a batch of count blinded elements
 * (count * Ne bytes) into count evaluated elements (count * Ne bytes).
 * In VOPRF and POPRF modes it also writes one proof (2 * Ns bytes) for the
 * whole batch, made with proof_random_scalar (Ns bytes, non-zero, below
 * the order; for reproducing test vectors only) or, when that is NULL, a
 * hedged nonce: HashToScalar over the secret key, the public key, the
 * batch's composite elements M and Z, 32 fresh random bytes and the label
 * "HedgedNonce". A weak or repeated random source thus cannot give the
 * same nonce to two different statements, which would reveal the key, and
 * the nonce is still unpredictable from the key alone. The proof stays an
 * ordinary RFC 9497 proof: verifiers cannot tell and need not care. In
 * OPRF mode proof_random_scalar and proof_out must be NULL. info is used
 * in POPRF mode only (NULL with info_len 0 elsewhere).
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_LIMIT (count 0 or above
 * OPRF_MAX_BATCH, info too long), VEIL_ERR_ELEMENT (any blinded element
 * invalid: nothing is evaluated), VEIL_ERR_SCALAR, VEIL_ERR_INVERSE.
 */
veil_err oprf_blind_evaluate(const oprf_ctx *ctx, const oprf_key *key, const uint8_t *info,
                             size_t info_len, size_t count, const uint8_t *blinded,
                             uint8_t *evaluated_out, const uint8_t *proof_random_scalar,
                             uint8_t *proof_out) OPRF_WARN_UNUSED;

/*
 * Client, RFC 9497 Finalize over a batch. inputs[i] (input_lens[i] bytes)
 * is the input blinded with blinds[i] into blinded[i]; evaluated[i] is the
 * server's answer. In VOPRF and POPRF modes the proof (2 * Ns bytes) is
 * verified against pk (Ne bytes) first, and nothing is output unless it
 * holds; in OPRF mode pk and proof must be NULL. info as for BlindEvaluate.
 * Writes count outputs of Nh bytes each to outputs_out.
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_LIMIT, VEIL_ERR_ELEMENT,
 * VEIL_ERR_SCALAR, VEIL_ERR_VERIFY, VEIL_ERR_INVALID_INPUT (POPRF tweaked
 * key is the identity).
 */
veil_err oprf_finalize(const oprf_ctx *ctx, const uint8_t *pk, const uint8_t *info, size_t info_len,
                       size_t count, const uint8_t *const inputs[], const size_t input_lens[],
                       const uint8_t *blinds, const uint8_t *blinded, const uint8_t *evaluated,
                       const uint8_t *proof, uint8_t *outputs_out) OPRF_WARN_UNUSED;

/*
 * The two halves of oprf_finalize, for a client that finalizes one batch
 * on several threads: oprf_verify_batch() once over the whole batch, then
 * oprf_finalize_unverified() over sub-ranges of it, one per thread. Their
 * outputs equal oprf_finalize's byte for byte.
 *
 * oprf_verify_batch: checks every blinded and evaluated element (count
 * each, Ne bytes apiece) and, in VOPRF and POPRF modes, pk (Ne bytes) and
 * the batch's proof (2 * Ns bytes) as oprf_finalize does; in OPRF mode pk
 * and proof must be NULL and only the elements are checked. Writes
 * nothing. Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_LIMIT (count 0 or above
 * OPRF_MAX_BATCH, info too long), VEIL_ERR_ELEMENT, VEIL_ERR_VERIFY,
 * VEIL_ERR_INVALID_INPUT (POPRF tweaked key is the identity), and
 * VEIL_ERR_NOMEM as the header says.
 */
veil_err oprf_verify_batch(const oprf_ctx *ctx, const uint8_t *pk, const uint8_t *info,
                           size_t info_len, size_t count, const uint8_t *blinded,
                           const uint8_t *evaluated, const uint8_t *proof) OPRF_WARN_UNUSED;

/*
 * oprf_finalize_unverified: RFC 9497 Finalize of count items without the
 * proof: inputs[i] (input_lens[i] bytes) blinded with blinds[i] (Ns
 * bytes each), evaluated[i] the server's answer (Ne bytes each); writes
 * count outputs of Nh bytes to outputs_out. The items may be any
 * sub-range of a batch (pass pointers to its first item). In VOPRF and
 * POPRF modes its outputs may be used only once oprf_verify_batch()
 * accepted the whole batch; in OPRF mode there is nothing to verify and
 * the blinded elements take no part. Every evaluated element is validated
 * (by its multiplication); blinded elements are not looked at. The blinds
 * are inverted together (Montgomery's trick, constant time), and the
 * inverses wiped. Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_LIMIT (count 0 or
 * above OPRF_MAX_BATCH, an input or info too long), VEIL_ERR_SCALAR (a
 * blind zero or not below the order), VEIL_ERR_ELEMENT (an evaluated
 * element invalid or the identity); outputs_out is zeroed on error.
 */
veil_err oprf_finalize_unverified(const oprf_ctx *ctx, const uint8_t *info, size_t info_len,
                                  size_t count, const uint8_t *const inputs[],
                                  const size_t input_lens[], const uint8_t *blinds,
                                  const uint8_t *evaluated, uint8_t *outputs_out) OPRF_WARN_UNUSED;

/*
 * inverses_out[i] = scalars[i]^-1 in suite's scalar field for i < count
 * (count * Ns bytes each way; inverses_out must not overlap scalars), by
 * Montgomery's trick: one inversion and 3 (count - 1) multiplications,
 * all constant time: the scalars may be secret. The caller must wipe the
 * inverses. Errors: VEIL_ERR_ARGUMENT (NULL, or overlapping buffers),
 * VEIL_ERR_LIMIT (count 0 or above OPRF_MAX_BATCH), VEIL_ERR_SCALAR (a
 * scalar zero or not below the order); inverses_out is zeroed on an error
 * other than VEIL_ERR_ARGUMENT, which writes nothing.
 */
veil_err oprf_scalar_invert_batch(const oprf_suite *suite, size_t count, const uint8_t *scalars,
                                  uint8_t *inverses_out) OPRF_WARN_UNUSED;

/*
 * Server, RFC 9497 Evaluate: F(k, input) computed directly, Nh bytes to
 * output_out. Equal to what oprf_finalize yields for the same input, key
 * and info. Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_LIMIT,
 * VEIL_ERR_INVALID_INPUT, VEIL_ERR_INVERSE.
 */
veil_err oprf_evaluate(const oprf_ctx *ctx, const oprf_key *key, const uint8_t *info,
                       size_t info_len, const uint8_t *input, size_t input_len,
                       uint8_t *output_out) OPRF_WARN_UNUSED;

#endif

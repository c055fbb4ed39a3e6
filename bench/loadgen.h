/*
 * The protocol side of veil-bench: a synthetic population of handles, and
 * pools of pre-blinded, pre-sealed LOOKUP frames with what is needed to
 * check their answers afterwards. No threads, no clocks, no printing: the
 * driver (veil_bench.c) owns those.
 *
 * Population. The registry a benchmark runs against holds exactly the
 * handles loadgen_handle(1, i) for i < registered (veil-bench
 * --print-handles writes them as an import file); loadgen_handle(0, i) is
 * never registered. Handles are email addresses in normal form, so the
 * import's normalization leaves them as they are.
 *
 * A pool belongs to one connection and is used by one thread at a time.
 * Its requests are built once and sent again and again, each resealed per
 * send under its own ephemeral key (made with the pool) with a new nonce:
 * each carries its own random request id. The blinds of
 * every frame are kept (in guarded memory, wiped on free) so that any
 * reply can be finalized and checked against the truth after the clock has
 * stopped.
 */
#ifndef VEIL_BENCH_LOADGEN_H
#define VEIL_BENCH_LOADGEN_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "error.h"
#include "msg.h"
#include "oprf.h"
#include "token.h"
#include "transport.h"

/* Bytes a handle of the population takes, with its NUL. */
#define LOADGEN_HANDLE_SIZE 48

/*
 * Writes handle index of the registered (registered != 0) or the never
 * registered population to out, NUL-terminated; returns its length.
 */
size_t loadgen_handle(char out[static LOADGEN_HANDLE_SIZE], int registered, uint32_t index);

/* A client identity pinned to one server: an X25519 key pair (guarded
 * memory) and the key of its identity proof to that server. */
typedef struct loadgen_peer loadgen_peer;

/*
 * client_secret (ENVELOPE_SECRET_KEY_SIZE bytes, copied) is the client's
 * key, for a server that serves only enrolled keys; NULL makes a fresh
 * random one, which a server with open enrolment serves with its default
 * quota. Errors: VEIL_ERR_NOMEM, VEIL_ERR_CRYPTO (server_key is a
 * small-order point). Free with loadgen_peer_free (NULL ok), which wipes.
 */
veil_err loadgen_peer_new(const uint8_t server_key[static ENVELOPE_PUBLIC_KEY_SIZE],
                          const uint8_t *client_secret, loadgen_peer **out)
        __attribute__((warn_unused_result));
void loadgen_peer_free(loadgen_peer *peer);

/*
 * A peer of a veild in tokens mode: no client key at all. Its INFO and
 * pools are sealed in SEALED_ANONYMOUS frames, and each send of a pool
 * carries a LOOKUP_TOKEN with a token of its own (loadgen_tokens).
 * Errors: VEIL_ERR_NOMEM.
 */
veil_err loadgen_peer_new_anonymous(const uint8_t server_key[static ENVELOPE_PUBLIC_KEY_SIZE],
                                    loadgen_peer **out) __attribute__((warn_unused_result));

/*
 * Tokens for a tokens-mode load: count valid tokens for the challenge
 * whose digest is challenge_digest, made by the issuer's own shortcut
 * (token_authenticate(): the benchmark holds a copy of the issuer key, as
 * veild does), before any clock starts, on threads threads. Each is taken
 * once, by any connection (loadgen_tokens_take is thread safe).
 * *seconds_each (when not NULL) gets the wall time one token took on one
 * thread: one evaluation under the issuer key, what veild's check of a
 * token costs too. Errors: VEIL_ERR_ARGUMENT (count 0, threads 0),
 * VEIL_ERR_NOMEM, token_authenticate()'s.
 */
typedef struct loadgen_tokens loadgen_tokens;
veil_err loadgen_tokens_new(const oprf_key *issuer_key,
                            const uint8_t challenge_digest[TOKEN_DIGEST_SIZE], size_t count,
                            unsigned threads, double *seconds_each, loadgen_tokens **out)
        __attribute__((warn_unused_result));
/* Wipes and frees. NULL ok. */
void loadgen_tokens_free(loadgen_tokens *tokens);
/* The next unspent token into *out: 1, or 0 when none is left. */
int loadgen_tokens_take(loadgen_tokens *tokens, token *out);
/* Tokens taken so far. */
size_t loadgen_tokens_taken(loadgen_tokens *tokens);

/*
 * Asks INFO over transport and checks the answer as the real client does
 * (sealed by the pinned key, answers this request, a current key of a
 * suite this build serves, in OPRF or VOPRF mode). Pools then work on that
 * key's suite. *status gets a server's refusal code, else 0.
 * Errors: VEIL_ERR_TIMEOUT, VEIL_ERR_TRANSPORT (transport_strerror() says
 * why), VEIL_ERR_VERIFY (not sealed by the pinned server key),
 * VEIL_ERR_UNSUPPORTED (the server refused, *status set, or offers no
 * usable key), VEIL_ERR_PARSE, VEIL_ERR_NOMEM.
 */
veil_err loadgen_info(const loadgen_peer *peer, transport_client *transport,
                      proto_info_reply *info_out, uint16_t *status)
        __attribute__((warn_unused_result));

/* What a pool's requests look like. */
typedef struct loadgen_plan {
	const proto_info_reply *info; /* from loadgen_info; keys[0] is used */
	unsigned prefix_bits;         /* within [p_min, p_max] */
	size_t batch;                 /* items per request, 1..batch_cap */
	size_t frames;                /* requests in the pool, >= 1 */
	/* The registry holds loadgen_handle(1, i) for i < registered. */
	uint32_t registered;
	/* For an anonymous peer (tokens mode): where each send takes its
	 * token (borrowed; must outlive the pool). NULL otherwise. */
	loadgen_tokens *tokens;
} loadgen_plan;

typedef struct loadgen_pool loadgen_pool;

/*
 * Builds plan->frames sealed LOOKUP frames for peer (borrowed: it must
 * outlive the pool): random handles, half of them registered (none when
 * plan->registered is 0), each blinded with a fresh blind. This is where
 * all the client-side OPRF work happens, before any clock starts.
 * Errors: VEIL_ERR_ARGUMENT (a plan the server's INFO rules out),
 * VEIL_ERR_UNSUPPORTED (INFO's current key of no suite served),
 * VEIL_ERR_NOMEM, and oprf_blind's errors.
 */
veil_err loadgen_pool_new(const loadgen_peer *peer, const loadgen_plan *plan, loadgen_pool **out)
        __attribute__((warn_unused_result));
/* Wipes (blinds) and frees. NULL ok. */
void loadgen_pool_free(loadgen_pool *pool);

size_t loadgen_pool_frames(const loadgen_pool *pool);
/* Seals request i (i < frames) afresh into frame_out: a new nonce and the
 * current time, under request i's own ephemeral key made with the pool
 * (no X25519 per send). The server serves a sealed request once, so every
 * send needs its own; in tokens mode each also carries a fresh token.
 * Errors: envelope_seal_request_with's, envelope_seal_anonymous's;
 * VEIL_ERR_LIMIT (tokens mode: no token left). */
veil_err loadgen_pool_seal(loadgen_pool *pool, size_t i, buf *frame_out)
        __attribute__((warn_unused_result));

typedef enum loadgen_verdict {
	/* A sealed LOOKUP_REPLY to frame i, of the shape asked for. */
	LOADGEN_REPLY_OK,
	/* The server refused: a plaintext ERROR frame or a sealed ERROR
	 * answering frame i; *status holds the code (BUSY among them). */
	LOADGEN_REPLY_REFUSED,
	/* Anything else: not a frame, not sealed by the server, not an
	 * answer to frame i, a LOOKUP_REPLY of the wrong shape. */
	LOADGEN_REPLY_INVALID,
} loadgen_verdict;

/*
 * The check made on every reply while the clock runs, kept cheap: it
 * opens the box with request i's exchange keys (no X25519 per reply),
 * decodes the inner message and compares its request id and shape with
 * frame i. It does not finalize. Not for concurrent use of one pool (it
 * uses the pool's scratch buffer).
 */
loadgen_verdict loadgen_pool_classify(loadgen_pool *pool, size_t i, const uint8_t *reply,
                                      size_t len, uint16_t *status);

/* What loadgen_pool_check found in one reply. */
typedef struct loadgen_check {
	size_t items;      /* answers checked */
	size_t registered; /* of them, registered by the truth */
	size_t wrong;      /* answers that disagree with the truth */
	size_t slots;      /* entries per item in this reply */
	/* When the reply itself is bad: a fixed reason. Else NULL. */
	const char *failure;
} loadgen_check;

/*
 * The full check of a reply to frame i, by the same steps as libveil-
 * client: envelope_open_reply under request i's exchange, decode, match the
 * request, verify the VOPRF proof against the advertised key and finalize
 * with the kept blinds, derive each tag and look for it among the item's
 * entries; then compare registered / not registered with the truth.
 * Returns VEIL_OK when the reply could be checked (out->wrong may still
 * be non-zero); otherwise out->failure says why (VEIL_ERR_PARSE,
 * VEIL_ERR_VERIFY, VEIL_ERR_UNSUPPORTED for a refusal, VEIL_ERR_NOMEM).
 */
veil_err loadgen_pool_check(loadgen_pool *pool, size_t i, const uint8_t *reply, size_t len,
                            loadgen_check *out) __attribute__((warn_unused_result));

#endif

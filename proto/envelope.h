/*
 * Frames and sealing (proto/PROTOCOL.md, "Frames"), version 2. Each
 * request is sealed from a fresh ephemeral X25519 key pair to the server's
 * pinned transport key, and its reply back under the same exchange's
 * keys: one key per direction, derived from that X25519 with a label, so
 * a request box never opens as a reply nor the reverse. The client's
 * static key travels only inside the request box, with a proof (a
 * crypto_auth under a key of the client's and server's static keys) that
 * binds it to the ephemeral key, the nonce and the time. libsodium's
 * constructions only: crypto_box_beforenm, crypto_generichash (keyed
 * BLAKE2b, as a key derivation), crypto_secretbox, crypto_auth.
 *
 * Decoded frames point into the bytes they came from; keep those alive.
 * Secret keys are the caller's (in guarded memory); nothing here keeps a
 * copy (an identity cache, below, keeps keys derived from them, in
 * guarded memory of its own). Plaintext output buffers hold secrets of
 * the peer (blinded elements): callers wipe them with buf_free (which
 * wipes).
 *
 * Tokens mode adds the SEALED_ANONYMOUS frame: the same sealing to a fresh
 * ephemeral key, with no client key and no proof in the box (the inner
 * message carries a Privacy Pass token instead). Its exchange's keys are
 * derived under labels of their own, so an anonymous box never opens as
 * a SEALED one nor the reverse, and their replies cannot be swapped.
 */
#ifndef VEIL_PROTO_ENVELOPE_H
#define VEIL_PROTO_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "buf.h"
#include "error.h"

#define PROTO_MAGIC             "VEIL"
#define PROTO_VERSION           2
#define PROTO_FRAME_HEADER_SIZE 6
#define PROTO_MAX_REQUEST_SIZE  ((size_t)1 << 20)
#define PROTO_MAX_REPLY_SIZE    ((size_t)16 << 20)

#define ENVELOPE_PUBLIC_KEY_SIZE crypto_box_PUBLICKEYBYTES
#define ENVELOPE_SECRET_KEY_SIZE crypto_box_SECRETKEYBYTES
#define ENVELOPE_NONCE_SIZE      crypto_box_NONCEBYTES
#define ENVELOPE_KEY_SIZE        crypto_secretbox_KEYBYTES
#define ENVELOPE_MAC_SIZE        crypto_secretbox_MACBYTES
#define ENVELOPE_PROOF_SIZE      crypto_auth_BYTES
/* A request's box holds the client's static key, its proof and the
 * client's time (unix seconds, u64 BE) before the inner message. */
#define ENVELOPE_TIME_SIZE       8
#define ENVELOPE_REQUEST_OVERHEAD                                                                  \
	(ENVELOPE_PUBLIC_KEY_SIZE + ENVELOPE_PROOF_SIZE + ENVELOPE_TIME_SIZE)
/* A SEALED_ANONYMOUS frame's bytes beyond its inner message: the box
 * holds only the client's time before it. */
#define ENVELOPE_ANONYMOUS_OVERHEAD                                                                \
	(PROTO_FRAME_HEADER_SIZE + ENVELOPE_PUBLIC_KEY_SIZE + ENVELOPE_NONCE_SIZE +                \
	 ENVELOPE_MAC_SIZE + ENVELOPE_TIME_SIZE)
/* A SEALED frame's bytes beyond its inner message. */
#define ENVELOPE_SEALED_OVERHEAD                                                                   \
	(PROTO_FRAME_HEADER_SIZE + ENVELOPE_PUBLIC_KEY_SIZE + ENVELOPE_NONCE_SIZE +                \
	 ENVELOPE_MAC_SIZE + ENVELOPE_REQUEST_OVERHEAD)

typedef enum proto_frame_type {
	PROTO_FRAME_SEALED = 0x01,
	PROTO_FRAME_SEALED_REPLY = 0x02,
	PROTO_FRAME_ERROR = 0x03,
	PROTO_FRAME_SEALED_ANONYMOUS = 0x04, /* tokens mode */
} proto_frame_type;

typedef struct proto_frame {
	proto_frame_type type;
	const uint8_t *ephemeral_key; /* SEALED, SEALED_ANONYMOUS: the exchange's public key */
	const uint8_t *nonce;         /* SEALED, SEALED_ANONYMOUS, SEALED_REPLY */
	const uint8_t *box;           /* SEALED, SEALED_ANONYMOUS, SEALED_REPLY */
	size_t box_len;
	uint16_t error_code; /* ERROR */
} proto_frame;

/* 1 when data starts with a version-2 frame header: magic, version and a
 * known frame type. */
int proto_frame_has_header(const uint8_t *data, size_t len);

/* 1 when data starts with the magic and a version below PROTO_VERSION:
 * a client of an older protocol, which a server answers BAD_FRAME. A
 * server silently drops what is neither this nor a frame header. */
int proto_frame_is_old_version(const uint8_t *data, size_t len);

/*
 * Decodes a whole frame. On failure *out is zeroed. Errors:
 * VEIL_ERR_PARSE (no frame header, a body too short for its type, or
 * trailing bytes), VEIL_ERR_LIMIT (larger than PROTO_MAX_REPLY_SIZE).
 */
veil_err proto_frame_decode(const uint8_t *data, size_t len, proto_frame *out)
        __attribute__((warn_unused_result));

/*
 * The keys of one exchange (one request and its reply). A client makes
 * one with envelope_exchange_begin per request; a server gets one from
 * envelope_open_request. Callers treat the fields as opaque, keep the
 * struct only as long as the exchange and wipe it with
 * envelope_exchange_wipe.
 */
typedef struct envelope_exchange {
	uint8_t ephemeral_pk[ENVELOPE_PUBLIC_KEY_SIZE];
	uint8_t request_key[ENVELOPE_KEY_SIZE];
	uint8_t reply_key[ENVELOPE_KEY_SIZE];
} envelope_exchange;

/*
 * Client: a fresh ephemeral key pair and its keys with server_pk; the
 * ephemeral secret key is wiped before returning, so only this exchange
 * can be opened with *out. Errors: VEIL_ERR_CRYPTO (server_pk is a
 * small-order point); *out is wiped then.
 */
veil_err envelope_exchange_begin(envelope_exchange *out,
                                 const uint8_t server_pk[static ENVELOPE_PUBLIC_KEY_SIZE])
        __attribute__((warn_unused_result));

/*
 * Client: as envelope_exchange_begin, for a SEALED_ANONYMOUS request (the
 * keys derived under the anonymous labels). An exchange of one kind seals
 * nothing that opens as the other kind. Errors: VEIL_ERR_CRYPTO
 * (server_pk is a small-order point); *out is wiped then.
 */
veil_err envelope_exchange_begin_anonymous(envelope_exchange *out,
                                           const uint8_t server_pk[static ENVELOPE_PUBLIC_KEY_SIZE])
        __attribute__((warn_unused_result));

/* Wipes an exchange's keys. NULL ok. */
void envelope_exchange_wipe(envelope_exchange *ex);

/*
 * Client: the key that proves the client's static key to the server
 * (derived from X25519(client_sk, server_pk)), computed once per server
 * for many requests. The caller wipes it. Errors: VEIL_ERR_CRYPTO
 * (server_pk is a small-order point; identity_out is wiped).
 */
veil_err envelope_identity_key(const uint8_t server_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
                               const uint8_t client_sk[static ENVELOPE_SECRET_KEY_SIZE],
                               uint8_t identity_out[static ENVELOPE_KEY_SIZE])
        __attribute__((warn_unused_result));

/*
 * Client: appends a SEALED frame under exchange ex carrying the client's
 * static key client_pk, its proof under identity (from
 * envelope_identity_key), sent_at and inner. nonce is the frame's nonce,
 * NULL for a random one (the protocol's way; a chosen nonce is for tests
 * that replay). Sealing again under one exchange is allowed with distinct
 * nonces. Errors: VEIL_ERR_LIMIT (inner longer than
 * PROTO_MAX_REQUEST_SIZE), VEIL_ERR_NOMEM; frame_out is left as it was.
 */
veil_err envelope_seal_request_with(const envelope_exchange *ex,
                                    const uint8_t client_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
                                    const uint8_t identity[static ENVELOPE_KEY_SIZE],
                                    uint64_t sent_at, const uint8_t *nonce, const uint8_t *inner,
                                    size_t inner_len, buf *frame_out)
        __attribute__((warn_unused_result));

/*
 * Client: the whole of it for one request stamped with the clock: begins
 * *ex_out (which the reply opens with; wipe it after), derives the
 * identity key and appends the SEALED frame. Errors: VEIL_ERR_CRYPTO
 * (server_pk is a small-order point), VEIL_ERR_LIMIT, VEIL_ERR_NOMEM;
 * *ex_out is wiped on any error.
 */
veil_err envelope_seal_request(const uint8_t client_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
                               const uint8_t client_sk[static ENVELOPE_SECRET_KEY_SIZE],
                               const uint8_t server_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
                               const uint8_t *inner, size_t inner_len, buf *frame_out,
                               envelope_exchange *ex_out) __attribute__((warn_unused_result));

/*
 * Server: opens a decoded SEALED frame into inner_out (appended),
 * *sent_at (the client's time), client_pk_out (the client's static key,
 * authenticated by its proof) and *ex_out (for envelope_seal_reply; wipe
 * it after). Errors: VEIL_ERR_ARGUMENT (not a SEALED frame),
 * VEIL_ERR_VERIFY (the box does not open: wrong key, tampered, truncated,
 * too short for its fields; or the proof does not verify for the claimed
 * client key, or that key is a small-order point), VEIL_ERR_NOMEM. On
 * error inner_out is as it was and the outputs are zeroed.
 */
veil_err envelope_open_request(const proto_frame *frame,
                               const uint8_t server_sk[static ENVELOPE_SECRET_KEY_SIZE],
                               buf *inner_out, uint64_t *sent_at,
                               uint8_t client_pk_out[static ENVELOPE_PUBLIC_KEY_SIZE],
                               envelope_exchange *ex_out) __attribute__((warn_unused_result));

/*
 * Server: the identity keys of returning clients, so that opening a
 * request of a client seen before costs one X25519 (the exchange's)
 * instead of two. A table of sets of ENVELOPE_IDENTITY_CACHE_WAYS
 * entries, each a client's static key and its identity key (what
 * envelope_identity_key() gives the client), in libsodium guarded
 * memory, read-only but while an entry is written, wiped by
 * envelope_identity_cache_free(). An entry's set is chosen by a keyed
 * hash (SipHash under a random key made with the cache), so a peer
 * cannot aim its keys at another client's set. An entry is written
 * only once a request's proof verified under the key computed afresh
 * (by anyone holding the client's secret key: enrolment is the
 * caller's to check).
 *
 * What is secret: the identity keys (each proves its client to this
 * server), the hash key and the server key's fingerprint. The clients'
 * keys are the server's to keep private too. Nothing here is written to
 * disk, logged or printed.
 *
 * One server key at a time: the cache remembers a fingerprint (keyed
 * BLAKE2b) of the server secret key its entries were made under, and
 * an open under another server key empties it first, so no entry made
 * for one server key ever verifies a request to another.
 *
 * Not thread-safe, and not locked: one cache per thread (a worker).
 */
#define ENVELOPE_IDENTITY_CACHE_WAYS        2
#define ENVELOPE_IDENTITY_CACHE_MAX_ENTRIES ((size_t)1 << 20)

typedef struct envelope_identity_cache envelope_identity_cache;

/* What a cache did, for tests and operators (no secrets). */
typedef struct envelope_identity_cache_stats {
	uint64_t hits;     /* opens whose proof verified under a cached key */
	uint64_t misses;   /* proofs checked under a key computed afresh (one X25519 each) */
	uint64_t entries;  /* entries in use now */
	uint64_t capacity; /* entries it holds at most */
} envelope_identity_cache_stats;

/*
 * Makes an empty cache of at least entries entries (rounded up to a
 * power of two, ENVELOPE_IDENTITY_CACHE_WAYS per set). The caller owns
 * *out and frees it with envelope_identity_cache_free(). Errors:
 * VEIL_ERR_ARGUMENT (entries below ENVELOPE_IDENTITY_CACHE_WAYS or above
 * ENVELOPE_IDENTITY_CACHE_MAX_ENTRIES), VEIL_ERR_NOMEM; *out is NULL
 * then.
 */
veil_err envelope_identity_cache_new(size_t entries, envelope_identity_cache **out)
        __attribute__((warn_unused_result));

/* Wipes and frees a cache. NULL ok. */
void envelope_identity_cache_free(envelope_identity_cache *cache);

/* What cache has done since it was made, and how full it is now. */
void envelope_identity_cache_stats_get(const envelope_identity_cache *cache,
                                       envelope_identity_cache_stats *out);

/*
 * Server: envelope_open_request() with the identity keys of cache
 * (NULL: none, the same as envelope_open_request()). The outputs and
 * errors are exactly envelope_open_request()'s. A client key in the
 * cache has its proof checked under the cached key; a proof that does
 * not verify under it (or a key not cached) is checked under the key
 * computed afresh, so only the computed key ever refuses a request, and
 * a refused request writes nothing into the cache. A proof that verifies
 * under the computed key stores it (replacing an entry of its set when
 * both are in use). A refused request costs the same whether or not its
 * claimed key is cached. Beyond envelope_open_request(), each open
 * costs a keyed BLAKE2b of server_sk and a SipHash; a miss that stores
 * makes the table writable and read-only again (two mprotect calls).
 */
veil_err envelope_open_request_cached(const proto_frame *frame,
                                      const uint8_t server_sk[static ENVELOPE_SECRET_KEY_SIZE],
                                      envelope_identity_cache *cache, buf *inner_out,
                                      uint64_t *sent_at,
                                      uint8_t client_pk_out[static ENVELOPE_PUBLIC_KEY_SIZE],
                                      envelope_exchange *ex_out)
        __attribute__((warn_unused_result));

/*
 * Client: appends a SEALED_ANONYMOUS frame under exchange ex (from
 * envelope_exchange_begin_anonymous) carrying sent_at (unix seconds) and
 * inner; nothing in it names the client. nonce as for
 * envelope_seal_request_with: NULL for a random one. The reply opens with
 * envelope_open_reply under ex. Errors: VEIL_ERR_LIMIT (inner longer than
 * PROTO_MAX_REQUEST_SIZE), VEIL_ERR_NOMEM; frame_out is left as it was.
 */
veil_err envelope_seal_anonymous(const envelope_exchange *ex, uint64_t sent_at,
                                 const uint8_t *nonce, const uint8_t *inner, size_t inner_len,
                                 buf *frame_out) __attribute__((warn_unused_result));

/*
 * Server: opens a decoded SEALED_ANONYMOUS frame into inner_out
 * (appended), *sent_at (the client's time) and *ex_out (for
 * envelope_seal_reply; wipe it after). Nothing authenticates the sender:
 * the inner message must (a token). Errors: VEIL_ERR_ARGUMENT (not a
 * SEALED_ANONYMOUS frame), VEIL_ERR_VERIFY (the box does not open under
 * the anonymous request key: wrong server key, tampered, truncated, a
 * small-order ephemeral key, a SEALED frame's box; or its plaintext is
 * shorter than sent_at), VEIL_ERR_NOMEM. On error inner_out is as it was
 * and the outputs are zeroed.
 */
veil_err envelope_open_anonymous(const proto_frame *frame,
                                 const uint8_t server_sk[static ENVELOPE_SECRET_KEY_SIZE],
                                 buf *inner_out, uint64_t *sent_at, envelope_exchange *ex_out)
        __attribute__((warn_unused_result));

/* Server: appends a SEALED_REPLY frame carrying inner under the reply key
 * of ex, with a fresh random nonce. Errors: VEIL_ERR_LIMIT (inner longer
 * than PROTO_MAX_REPLY_SIZE), VEIL_ERR_NOMEM; frame_out is left as it
 * was. */
veil_err envelope_seal_reply(const envelope_exchange *ex, const uint8_t *inner, size_t inner_len,
                             buf *frame_out) __attribute__((warn_unused_result));

/* Server: appends a plaintext ERROR frame. */
void envelope_error_frame(buf *frame_out, uint16_t code);

/*
 * Client: opens a reply to the request of exchange ex. A SEALED_REPLY is
 * opened into inner_out and *error_code set to 0; an ERROR frame sets
 * *error_code and leaves inner_out alone. Errors: VEIL_ERR_PARSE (not a
 * reply frame), VEIL_ERR_VERIFY (the box does not open under this
 * exchange's reply key: not the server's, another exchange's, or a
 * request box), VEIL_ERR_NOMEM.
 */
veil_err envelope_open_reply(const uint8_t *data, size_t len, const envelope_exchange *ex,
                             buf *inner_out, uint16_t *error_code)
        __attribute__((warn_unused_result));

#endif

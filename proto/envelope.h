/*
 * Frames and sealing (proto/PROTOCOL.md, "Frames"): a request is
 * crypto_box'ed by the client's static X25519 key to the server's static
 * key, the reply crypto_box'ed back. libsodium's construction, unchanged.
 *
 * Decoded frames point into the bytes they came from; keep those alive.
 * Secret keys are the caller's (in guarded memory); nothing here keeps a
 * copy. Plaintext output buffers hold secrets of the peer (blinded
 * elements): callers wipe them with buf_free (which wipes).
 */
#ifndef VEIL_PROTO_ENVELOPE_H
#define VEIL_PROTO_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "buf.h"
#include "error.h"

#define PROTO_MAGIC "VEIL"
#define PROTO_VERSION 1
#define PROTO_FRAME_HEADER_SIZE 6
#define PROTO_MAX_REQUEST_SIZE ((size_t)1 << 20)
#define PROTO_MAX_REPLY_SIZE ((size_t)16 << 20)

#define ENVELOPE_PUBLIC_KEY_SIZE crypto_box_PUBLICKEYBYTES
#define ENVELOPE_SECRET_KEY_SIZE crypto_box_SECRETKEYBYTES
#define ENVELOPE_NONCE_SIZE crypto_box_NONCEBYTES
#define ENVELOPE_SHARED_KEY_SIZE crypto_box_BEFORENMBYTES
/* A request's box holds the client's time (unix seconds, u64 BE) first. */
#define ENVELOPE_TIME_SIZE 8

typedef enum proto_frame_type {
	PROTO_FRAME_SEALED = 0x01,
	PROTO_FRAME_SEALED_REPLY = 0x02,
	PROTO_FRAME_ERROR = 0x03,
} proto_frame_type;

typedef struct proto_frame {
	proto_frame_type type;
	const uint8_t *client_key; /* SEALED */
	const uint8_t *nonce;	   /* SEALED, SEALED_REPLY */
	const uint8_t *box;	   /* SEALED, SEALED_REPLY */
	size_t box_len;
	uint16_t error_code; /* ERROR */
} proto_frame;

/* 1 when data starts with a version-1 frame header: magic, version and a
 * known frame type. A server silently drops anything else. */
int proto_frame_has_header(const uint8_t *data, size_t len);

/*
 * Decodes a whole frame. On failure *out is zeroed. Errors:
 * VEIL_ERR_PARSE (no frame header, a body too short for its type, or
 * trailing bytes), VEIL_ERR_LIMIT (larger than PROTO_MAX_REPLY_SIZE).
 */
veil_err proto_frame_decode(const uint8_t *data, size_t len, proto_frame *out)
	__attribute__((warn_unused_result));

/*
 * The crypto_box shared key of a key pair and a peer's public key, for
 * sealing many requests without an X25519 each. The caller wipes it.
 * Errors: VEIL_ERR_CRYPTO (peer_pk is a small-order point).
 */
veil_err envelope_shared_key(const uint8_t peer_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
			     const uint8_t own_sk[static ENVELOPE_SECRET_KEY_SIZE],
			     uint8_t shared_out[static ENVELOPE_SHARED_KEY_SIZE])
	__attribute__((warn_unused_result));

/* Client: appends a SEALED frame carrying sent_at and inner, sealed under
 * a shared key from envelope_shared_key(server_pk, client_sk). */
veil_err envelope_seal_request_shared(const uint8_t client_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
				      const uint8_t shared[static ENVELOPE_SHARED_KEY_SIZE],
				      uint64_t sent_at, const uint8_t *inner, size_t inner_len,
				      buf *frame_out) __attribute__((warn_unused_result));

/* Client: appends a SEALED frame carrying inner, stamped with the clock. */
veil_err envelope_seal_request(const uint8_t client_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
			       const uint8_t client_sk[static ENVELOPE_SECRET_KEY_SIZE],
			       const uint8_t server_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
			       const uint8_t *inner, size_t inner_len, buf *frame_out)
	__attribute__((warn_unused_result));

/*
 * Server: opens a decoded SEALED frame into inner_out (appended) and
 * *sent_at (the client's time). Errors: VEIL_ERR_ARGUMENT (not a SEALED
 * frame), VEIL_ERR_VERIFY (the box does not open: wrong key, tampered,
 * truncated, or too short to hold the time), VEIL_ERR_NOMEM.
 */
veil_err envelope_open_request(const proto_frame *frame,
			       const uint8_t server_sk[static ENVELOPE_SECRET_KEY_SIZE],
			       buf *inner_out, uint64_t *sent_at) __attribute__((warn_unused_result));

/* Server: appends a SEALED_REPLY frame carrying inner, boxed to client_pk. */
veil_err envelope_seal_reply(const uint8_t client_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
			     const uint8_t server_sk[static ENVELOPE_SECRET_KEY_SIZE],
			     const uint8_t *inner, size_t inner_len, buf *frame_out)
	__attribute__((warn_unused_result));

/* Server: appends a plaintext ERROR frame. */
void envelope_error_frame(buf *frame_out, uint16_t code);

/*
 * Client: opens a reply. A SEALED_REPLY is opened into inner_out and
 * *error_code set to 0; an ERROR frame sets *error_code and leaves
 * inner_out alone. Errors: VEIL_ERR_PARSE (not a reply frame),
 * VEIL_ERR_VERIFY (the box does not open under the pinned server key),
 * VEIL_ERR_NOMEM.
 */
veil_err envelope_open_reply(const uint8_t *data, size_t len,
			     const uint8_t server_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
			     const uint8_t client_sk[static ENVELOPE_SECRET_KEY_SIZE],
			     buf *inner_out, uint16_t *error_code) __attribute__((warn_unused_result));

#endif

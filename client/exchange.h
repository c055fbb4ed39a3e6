/*
 * Inside libveil-client: one request to a veil server and its reply,
 * for lookups and token fetches alike. The request is sealed to the
 * server's pinned transport key from a fresh ephemeral key (a SEALED
 * frame under the client's key, or a SEALED_ANONYMOUS frame naming no
 * client), sent, and its reply opened under that exchange's keys,
 * decoded and matched to the request id; the exchange's keys are wiped
 * when it is done.
 */
#ifndef VEIL_CLIENT_EXCHANGE_H
#define VEIL_CLIENT_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "msg.h"
#include "transport.h"

/* Who is asked, and as whom. Nothing here is owned. */
typedef struct client_peer {
	transport_client *transport;
	const char *url;           /* in messages */
	const uint8_t *server_key; /* the pinned transport key, 32 bytes */
	/* The client's static public key and the identity key proving it
	 * (envelope_identity_key()); client_public NULL: anonymous. */
	const uint8_t *client_public;
	const uint8_t *identity;
	char *error; /* a description of a failure goes here */
	size_t error_size;
} client_peer;

/* What became of a request that did not end in a reply to it. */
typedef struct client_outcome {
	int sent;             /* the frame was handed to the transport */
	uint16_t status;      /* the wire status of an ERROR, else 0 */
	int unsealed;         /* that ERROR came in an ERROR frame (not opened) */
	uint32_t retry_after; /* of a sealed ERROR message */
} client_outcome;

/*
 * Seals inner (which carries request_id) for peer, sends it, opens the
 * reply into reply_inner and decodes it into *msg, using frame and reply
 * as scratch (all three reset first). *outcome says what happened.
 * Errors: those of the envelope and the transport (VEIL_ERR_TIMEOUT,
 * VEIL_ERR_TRANSPORT, VEIL_ERR_CRYPTO, VEIL_ERR_NOMEM, VEIL_ERR_LIMIT);
 * VEIL_ERR_VERIFY (a reply that does not open, or an ERROR frame of a
 * code a server sends only sealed); VEIL_ERR_PARSE (malformed, or an
 * answer to another request); VEIL_ERR_BUSY (BUSY, in a frame or
 * sealed); VEIL_ERR_UNSUPPORTED (any other ERROR: outcome->status).
 */
veil_err client_exchange(const client_peer *peer, const buf *inner,
                         const uint8_t request_id[PROTO_REQUEST_ID_SIZE], buf *frame, buf *reply,
                         buf *reply_inner, proto_msg *msg, client_outcome *outcome)
        __attribute__((warn_unused_result));

/*
 * After a BUSY: sleeps a jittered, exponentially growing while (50 ms,
 * doubling per try up to 2 s, each 0.5x to 1.5x at random), so that
 * clients turned away together do not come back together, counts the try
 * in *tries (0 before the first) and returns 0; or returns -1 at once,
 * without sleeping, when that while would pass deadline (monotonic
 * seconds, as clock_monotonic_seconds()).
 */
int client_backoff(double deadline, unsigned *tries) __attribute__((warn_unused_result));

#endif

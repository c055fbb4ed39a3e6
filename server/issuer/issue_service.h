/*
 * The request handler of veil-issuer: one frame in, one reply frame out
 * (or nothing, for bytes that are not a frame). Independent of the
 * transport and of threads, so that tests can drive it directly.
 *
 * What it serves: TOKEN_ISSUE (proto/PROTOCOL.md, "Tokens mode") in a
 * SEALED frame, whose proven client key is the account charged
 * (issuer.h). The checks, cheapest and least fillable first:
 *   - the frame: bytes that are no frame are dropped unanswered; a frame
 *     of an older version, one that does not decode, and every frame type
 *     but SEALED (a SEALED_ANONYMOUS one included: the issuer serves no
 *     one it cannot name) get an ERROR frame BAD_FRAME;
 *   - the envelope (envelope_open_request() under the issuer's transport
 *     key): ERROR frame BAD_ENVELOPE;
 *   - enrolment (a read of the clients store): UNAUTHORIZED;
 *   - the replay guard (server/daemon/replay.h; REPLAYED, STALE, BUSY):
 *     a sealed request is answered once, so a replayed TOKEN_ISSUE is
 *     never charged twice; a stranger fills nothing of the guard;
 *   - the message: BAD_REQUEST (does not decode), UNSUPPORTED (another
 *     message than TOKEN_ISSUE, or a TokenRequest of another type),
 *     BATCH_TOO_LARGE (count above the batch cap);
 *   - issuer_issue(): KEY_UNKNOWN (not the current key's truncated id),
 *     UNAUTHORIZED, BAD_ELEMENT, RATE_LIMITED with retry_after (the
 *     seconds to the UTC midnight by which enough tokens return, or
 *     UINT32_MAX when the batch can never fit the account's bucket),
 *     INTERNAL;
 *   - then TOKEN_ISSUE_REPLY, sealed. Every refusal after the envelope is
 *     a sealed inner ERROR; nothing is issued with one.
 *
 * Nothing here prints. The stats count requests and replies by status,
 * never a client key, an element or a peer.
 *
 * A service is shared by all workers and immutable after creation; each
 * worker thread owns one issue_worker (reusable buffers, its stats).
 *
 * May use: common/ (buf.h, clock.h, error.h, token.h); proto/
 * (envelope.h, msg.h); server/store/ (clients.h); server/daemon/
 * (admission.h and replay.h, compiled into this folder's service
 * library); its own folder
 * (issuer.h); nothing else of the project.
 */
#ifndef VEIL_SERVER_ISSUE_SERVICE_H
#define VEIL_SERVER_ISSUE_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "issuer.h"
#include "msg.h"

struct replay_guard;

typedef struct issue_service_config {
	uint32_t batch_cap;   /* most TokenRequests per TOKEN_ISSUE: 1..PROTO_MAX_TOKEN_BATCH */
	int64_t clock_offset; /* seconds added to the ration's clock (drills, tests) */
	struct replay_guard *replay; /* refuses repeated and stale requests: required */
} issue_service_config;

/* Counters for operators: no secrets, no peers. */
typedef struct issue_stats {
	uint64_t requests;
	uint64_t dropped;                              /* not a frame */
	uint64_t tokens;                               /* TokenResponses sent */
	uint64_t errors[PROTO_STATUS_TOKEN_SPENT + 1]; /* error replies by wire status */
} issue_stats;

typedef struct issue_service issue_service;
typedef struct issue_worker issue_worker;

/*
 * Makes a service over is, an issuer_open() handle (with its transport
 * key and clients store), which must outlive it, as must config->replay.
 * Errors: VEIL_ERR_ARGUMENT (a NULL pointer, no replay guard: without
 * one a replayed TOKEN_ISSUE would be charged again; a handle without a
 * transport key or clients store, a batch cap out of range),
 * VEIL_ERR_NOMEM.
 */
veil_err issue_service_new(issuer *is, const issue_service_config *config, issue_service **out)
        __attribute__((warn_unused_result));

/* Frees the service (not the issuer). NULL is a no-op. */
void issue_service_free(issue_service *svc);

/* One worker's buffers. Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_NOMEM. */
veil_err issue_worker_new(issue_service *svc, issue_worker **out)
        __attribute__((warn_unused_result));

/* Wipes and frees. NULL is a no-op. */
void issue_worker_free(issue_worker *w);

/*
 * Handles one request frame of len bytes: appends the reply frame to
 * reply, or leaves reply as it was when the bytes must be dropped
 * unanswered. Never fails on peer input: every problem becomes an ERROR
 * frame or a sealed ERROR, in the order above.
 */
void issue_handle(issue_worker *w, const uint8_t *request, size_t len, buf *reply);

/* Adds this worker's counters to *total. */
void issue_worker_stats(const issue_worker *w, issue_stats *total);

/*
 * The bytes of a sealed TOKEN_ISSUE of batch_cap requests: what a
 * transport must read for such a request to be answered. veil-issuer
 * reads up to issue_max_request_size(PROTO_MAX_TOKEN_BATCH) (53,417
 * bytes), whatever its batch cap, so that a count above the cap is
 * answered BATCH_TOO_LARGE rather than dropped unread.
 */
size_t issue_max_request_size(uint32_t batch_cap);

#endif

/*
 * What veil's daemons do alike with an opened sealed request: before its
 * message, the refusals (a sealed inner ERROR, counted by wire status),
 * enrolment and the quota (clients.h), and the replay guard (replay.h);
 * after it, the sealing of the reply.
 * veild's service (service.h) and veil-issuer's (issue_service.h) both
 * admit a SEALED request in the same order: enrolment first, a read, so
 * that a stranger's requests fill nothing of the guard; then the guard,
 * before the message, so that nothing of a replay is served again, not
 * even its errors.
 *
 * Nothing here prints, and no refusal carries more than its status (and
 * a wait).
 *
 * May use: common/ (buf.h, clock.h, error.h); proto/ (envelope.h,
 * msg.h); server/store/ (clients.h); its own folder (replay.h); nothing
 * else of the project.
 */
#ifndef VEIL_SERVER_ADMISSION_H
#define VEIL_SERVER_ADMISSION_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "clients.h"
#include "envelope.h"
#include "error.h"
#include "msg.h"
#include "replay.h"

/* Wire statuses counted: every status an ERROR may carry. */
#define ADMISSION_STATUS_COUNT (PROTO_STATUS_TOKEN_SPENT + 1)

/* Where a worker builds the reply to one request, and counts its refusals. */
typedef struct admission_reply {
	buf *inner;       /* the inner reply before sealing: the worker's */
	uint64_t *errors; /* the worker's ADMISSION_STATUS_COUNT error counters */
	uint16_t status;  /* of the reply built: PROTO_STATUS_OK until a refusal */
} admission_reply;

/*
 * Replaces r's reply with an ERROR of code under request_id (with
 * retry_after, 0 but for BUSY and RATE_LIMITED), sets r->status and
 * counts it.
 */
void admission_error(admission_reply *r, const uint8_t *request_id, uint16_t code,
                     uint32_t retry_after);

/* The request id of an opened inner message, readable even when it does
 * not decode (all zero when it is too short to hold one). Points into
 * inner, or at static zeros. */
const uint8_t *admission_request_id(const buf *inner);

/*
 * The wire status of a request refused for err: a message or token
 * request that does not decode (proto_msg_decode(),
 * token_request_decode(): UNSUPPORTED, BATCH_TOO_LARGE, BAD_REQUEST), an
 * element that is no point (BAD_ELEMENT); anything else INTERNAL.
 */
uint16_t admission_status_of(veil_err err);

/* Unix seconds now, plus clock_offset (drills, simulations). */
int64_t admission_now(int64_t clock_offset);

/*
 * Charges items to client_key at now (clients_charge(); 0 items only
 * checks enrolment, a read). Returns 0 to go on (c NULL: anyone,
 * unlimited), or -1 with the refusal in r: UNAUTHORIZED, RATE_LIMITED
 * with its wait, INTERNAL (the store failed).
 */
int admission_charge(admission_reply *r, clients *c, const uint8_t *request_id,
                     const uint8_t client_key[CLIENTS_KEY_SIZE], uint32_t items, int64_t now);

/*
 * admission_charge() of one sealed request, charged at most once by all
 * the processes of the state (clients_charge_request()): also REPLAYED
 * for a request charged before, and STALE for one whose sent_at is no
 * longer within the window the clients store remembers (the replay
 * guard's default window: a request the guard found fresh a moment ago
 * may have turned stale since).
 */
int admission_charge_request(admission_reply *r, clients *c, const uint8_t *request_id,
                             const uint8_t client_key[CLIENTS_KEY_SIZE],
                             const clients_request *request, uint32_t items, int64_t now);

/*
 * The replay guard's verdict on an opened request of client_key, whose
 * box had nonce and whose client sealed it at sent_at: judged against
 * the real clock, which the client's shares (an offset moves only what
 * a daemon counts days by). Returns 0 to go on (guard NULL: none), or -1
 * with the refusal in r: REPLAYED, STALE, BUSY with the seconds until
 * the guard's generation turns.
 */
int admission_check_replay(admission_reply *r, replay_guard *guard, const uint8_t *request_id,
                           const uint8_t client_key[REPLAY_CLIENT_KEY_SIZE],
                           const uint8_t nonce[REPLAY_NONCE_SIZE], uint64_t sent_at);

/*
 * A sealed request's admission, in the order above:
 * admission_charge() of 0 items at now, then admission_check_replay().
 * Returns 0 to go on, or -1 with the refusal in r.
 */
int admission_admit(admission_reply *r, clients *c, replay_guard *guard, int64_t now,
                    const uint8_t *request_id, const uint8_t client_key[CLIENTS_KEY_SIZE],
                    const uint8_t nonce[REPLAY_NONCE_SIZE], uint64_t sent_at);

/*
 * Seals inner, the reply built, into reply for the requester of
 * exchange (envelope_seal_reply()), or, when that fails (out of
 * memory), replaces reply with an ERROR frame BAD_ENVELOPE: of the codes
 * an ERROR frame may carry, the one that says this exchange failed.
 * Then wipes exchange.
 */
void admission_seal(envelope_exchange *exchange, const buf *inner, buf *reply);

#endif

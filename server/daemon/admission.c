#include "admission.h"

#include <time.h>

#include "clock.h"

_Static_assert(CLIENTS_KEY_SIZE == REPLAY_CLIENT_KEY_SIZE, "a client key is one size");
_Static_assert(CLIENTS_NONCE_SIZE == REPLAY_NONCE_SIZE, "a nonce is one size");
_Static_assert(CLIENTS_REPLAY_WINDOW == REPLAY_DEFAULT_WINDOW &&
                       CLIENTS_REPLAY_SKEW == REPLAY_DEFAULT_SKEW,
               "the clients store remembers a request while the guard finds it fresh");

void
admission_error(admission_reply *r, const uint8_t *request_id, uint16_t code, uint32_t retry_after)
{
	buf_reset(r->inner);
	proto_encode_error(r->inner, request_id, code, retry_after);
	r->status = code;
	if (code < ADMISSION_STATUS_COUNT)
		r->errors[code]++;
}

const uint8_t *
admission_request_id(const buf *inner)
{
	static const uint8_t none[PROTO_REQUEST_ID_SIZE];
	return buf_len(inner) >= 1 + PROTO_REQUEST_ID_SIZE ? (const uint8_t *)buf_data(inner) + 1
	                                                   : none;
}

uint16_t
admission_status_of(veil_err err)
{
	switch (err) {
	case VEIL_ERR_UNSUPPORTED:
		return PROTO_STATUS_UNSUPPORTED;
	case VEIL_ERR_LIMIT:
		return PROTO_STATUS_BATCH_TOO_LARGE;
	case VEIL_ERR_ELEMENT:
		return PROTO_STATUS_BAD_ELEMENT;
	case VEIL_ERR_PARSE:
	case VEIL_ERR_ARGUMENT:
		return PROTO_STATUS_BAD_REQUEST;
	default:
		return PROTO_STATUS_INTERNAL;
	}
}

int64_t
admission_now(int64_t clock_offset)
{
	return (int64_t)time(NULL) + clock_offset;
}

int
admission_charge(admission_reply *r, clients *c, const uint8_t *request_id,
                 const uint8_t client_key[CLIENTS_KEY_SIZE], uint32_t items, int64_t now)
{
	if (c == NULL)
		return 0;
	uint32_t retry_after = 0;
	switch (clients_charge(c, client_key, items, now, &retry_after)) {
	case CLIENTS_OK:
		return 0;
	case CLIENTS_UNAUTHORIZED:
		admission_error(r, request_id, PROTO_STATUS_UNAUTHORIZED, 0);
		return -1;
	case CLIENTS_RATE_LIMITED:
		admission_error(r, request_id, PROTO_STATUS_RATE_LIMITED, retry_after);
		return -1;
	default:
		admission_error(r, request_id, PROTO_STATUS_INTERNAL, 0);
		return -1;
	}
}

int
admission_charge_request(admission_reply *r, clients *c, const uint8_t *request_id,
                         const uint8_t client_key[CLIENTS_KEY_SIZE], const clients_request *request,
                         uint32_t items, int64_t now)
{
	if (c == NULL)
		return 0;
	uint32_t retry_after = 0;
	switch (clients_charge_request(c, client_key, request, items, now, &retry_after)) {
	case CLIENTS_REQUEST_OK:
		return 0;
	case CLIENTS_REQUEST_UNAUTHORIZED:
		admission_error(r, request_id, PROTO_STATUS_UNAUTHORIZED, 0);
		return -1;
	case CLIENTS_REQUEST_RATE_LIMITED:
		admission_error(r, request_id, PROTO_STATUS_RATE_LIMITED, retry_after);
		return -1;
	case CLIENTS_REQUEST_REPLAYED:
		admission_error(r, request_id, PROTO_STATUS_REPLAYED, 0);
		return -1;
	case CLIENTS_REQUEST_STALE:
		admission_error(r, request_id, PROTO_STATUS_STALE, 0);
		return -1;
	case CLIENTS_REQUEST_ERROR:
	default:
		admission_error(r, request_id, PROTO_STATUS_INTERNAL, 0);
		return -1;
	}
}

int
admission_check_replay(admission_reply *r, replay_guard *guard, const uint8_t *request_id,
                       const uint8_t client_key[REPLAY_CLIENT_KEY_SIZE],
                       const uint8_t nonce[REPLAY_NONCE_SIZE], uint64_t sent_at)
{
	if (guard == NULL)
		return 0;
	uint32_t retry_after = 0;
	switch (replay_guard_check(guard, client_key, nonce, sent_at, (int64_t)time(NULL),
	                           (int64_t)clock_monotonic_seconds(), &retry_after)) {
	case REPLAY_FRESH:
		return 0;
	case REPLAY_SEEN:
		admission_error(r, request_id, PROTO_STATUS_REPLAYED, 0);
		return -1;
	case REPLAY_STALE:
		admission_error(r, request_id, PROTO_STATUS_STALE, 0);
		return -1;
	case REPLAY_FULL:
	case REPLAY_BUDGET:
	default:
		admission_error(r, request_id, PROTO_STATUS_BUSY, retry_after);
		return -1;
	}
}

void
admission_seal(envelope_exchange *exchange, const buf *inner, buf *reply)
{
	if (envelope_seal_reply(exchange, (const uint8_t *)buf_data(inner), buf_len(inner),
	                        reply) != VEIL_OK) {
		buf_reset(reply);
		envelope_error_frame(reply, PROTO_STATUS_BAD_ENVELOPE);
	}
	envelope_exchange_wipe(exchange);
}

int
admission_admit(admission_reply *r, clients *c, replay_guard *guard, int64_t now,
                const uint8_t *request_id, const uint8_t client_key[CLIENTS_KEY_SIZE],
                const uint8_t nonce[REPLAY_NONCE_SIZE], uint64_t sent_at)
{
	if (admission_charge(r, c, request_id, client_key, 0, now) != 0)
		return -1;
	return admission_check_replay(r, guard, request_id, client_key, nonce, sent_at);
}

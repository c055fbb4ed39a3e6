/*
 * libveil-client: one sealed request and its reply (exchange.h).
 */
#include "exchange.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "clock.h"
#include "envelope.h"

/* BUSY backoff: the first wait, and the most any one wait grows to. */
#define BACKOFF_FIRST_MS 50
#define BACKOFF_MAX_MS   2000

static void peer_error(const client_peer *p, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void
peer_error(const client_peer *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->error, p->error_size, fmt, ap);
	va_end(ap);
}

veil_err
client_exchange(const client_peer *p, const buf *inner,
                const uint8_t request_id[PROTO_REQUEST_ID_SIZE], buf *frame, buf *reply,
                buf *reply_inner, proto_msg *msg, client_outcome *outcome)
{
	memset(outcome, 0, sizeof(*outcome));
	buf_reset(frame);
	buf_reset(reply);
	buf_reset(reply_inner);
	/* A fresh ephemeral key per request: nothing in the frame names the
	 * client or links its requests; the reply opens only with this
	 * exchange's keys, wiped when it is done. */
	envelope_exchange ex;
	const uint8_t *data = (const uint8_t *)buf_data(inner);
	const uint64_t now = (uint64_t)time(NULL);
	veil_err err;
	if (p->client_public != NULL) {
		if ((err = envelope_exchange_begin(&ex, p->server_key)) != VEIL_OK)
			return err;
		err = envelope_seal_request_with(&ex, p->client_public, p->identity, now, NULL,
		                                 data, buf_len(inner), frame);
	} else {
		if ((err = envelope_exchange_begin_anonymous(&ex, p->server_key)) != VEIL_OK)
			return err;
		err = envelope_seal_anonymous(&ex, now, NULL, data, buf_len(inner), frame);
	}
	if (err != VEIL_OK) {
		envelope_exchange_wipe(&ex);
		return err;
	}
	outcome->sent = 1;
	err = transport_client_request(p->transport, (const uint8_t *)buf_data(frame),
	                               buf_len(frame), reply);
	if (err == VEIL_ERR_TIMEOUT) {
		envelope_exchange_wipe(&ex);
		peer_error(p, "no reply from %s in time", p->url);
		return err;
	}
	if (err != VEIL_OK) {
		envelope_exchange_wipe(&ex);
		peer_error(p, "transport: %s", transport_strerror());
		return err;
	}
	uint16_t frame_error = 0;
	err = envelope_open_reply((const uint8_t *)buf_data(reply), buf_len(reply), &ex,
	                          reply_inner, &frame_error);
	envelope_exchange_wipe(&ex);
	if (err != VEIL_OK) {
		peer_error(p, "%s",
		           err == VEIL_ERR_VERIFY ? "reply not sealed by the pinned server key"
		                                  : "malformed reply frame");
		return err == VEIL_ERR_VERIFY ? VEIL_ERR_VERIFY : VEIL_ERR_PARSE;
	}
	if (frame_error != 0 && frame_error != PROTO_STATUS_BUSY &&
	    frame_error != PROTO_STATUS_BAD_FRAME && frame_error != PROTO_STATUS_BAD_ENVELOPE) {
		/* A server sends every other code sealed: this one is not its. */
		peer_error(p, "unsealed error frame (code %u) that a server sends only sealed",
		           (unsigned)frame_error);
		return VEIL_ERR_VERIFY;
	}
	if (frame_error != 0) {
		outcome->status = frame_error;
		outcome->unsealed = 1;
		peer_error(p, "server refused the request: %s", proto_status_str(frame_error));
		return frame_error == PROTO_STATUS_BUSY ? VEIL_ERR_BUSY : VEIL_ERR_UNSUPPORTED;
	}
	err = proto_msg_decode((const uint8_t *)buf_data(reply_inner), buf_len(reply_inner), msg);
	if (err != VEIL_OK) {
		peer_error(p, "%s", "malformed reply from server");
		return VEIL_ERR_PARSE;
	}
	if (sodium_memcmp(msg->request_id, request_id, PROTO_REQUEST_ID_SIZE) != 0) {
		peer_error(p, "%s", "reply answers another request");
		return VEIL_ERR_PARSE;
	}
	if (msg->type == PROTO_MSG_ERROR) {
		outcome->status = msg->u.error.code;
		outcome->retry_after = msg->u.error.retry_after;
		if (outcome->status == PROTO_STATUS_RATE_LIMITED)
			peer_error(p,
			           "server refused the request: %s; enough quota returns in %u s",
			           proto_status_str(outcome->status),
			           (unsigned)msg->u.error.retry_after);
		else
			peer_error(p, "server refused the request: %s",
			           proto_status_str(outcome->status));
		return outcome->status == PROTO_STATUS_BUSY ? VEIL_ERR_BUSY : VEIL_ERR_UNSUPPORTED;
	}
	return VEIL_OK;
}

int
client_backoff(double deadline, unsigned *tries)
{
	double wait = BACKOFF_FIRST_MS;
	for (unsigned i = 0; i < *tries && wait < BACKOFF_MAX_MS; i++)
		wait *= 2;
	if (wait > BACKOFF_MAX_MS)
		wait = BACKOFF_MAX_MS;
	wait = wait / 2 + randombytes_uniform((uint32_t)wait); /* 0.5x to 1.5x */
	(*tries)++;
	if (clock_monotonic_seconds() + wait / 1000.0 > deadline)
		return -1;
	clock_sleep_seconds(wait / 1000.0);
	return 0;
}

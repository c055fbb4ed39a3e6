#include "issue_service.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "admission.h"
#include "clients.h"
#include "envelope.h"
#include "replay.h"

_Static_assert(sizeof(((issue_stats *)0)->errors) / sizeof(uint64_t) == ADMISSION_STATUS_COUNT,
               "the stats count every status admission_error() counts");

struct issue_service {
	issuer *issuer;
	issue_service_config config;
};

struct issue_worker {
	issue_service *svc;
	buf inner;             /* the opened request */
	buf reply_inner;       /* the reply before sealing */
	admission_reply reply; /* into reply_inner */
	token_request *requests;
	token_response *responses;
	issue_stats stats;
};

veil_err
issue_service_new(issuer *is, const issue_service_config *config, issue_service **out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (is == NULL || config == NULL || config->replay == NULL ||
	    issuer_transport_secret(is) == NULL || issuer_clients(is) == NULL ||
	    config->batch_cap == 0 || config->batch_cap > PROTO_MAX_TOKEN_BATCH)
		return VEIL_ERR_ARGUMENT;
	issue_service *svc = calloc(1, sizeof(*svc));
	if (svc == NULL)
		return VEIL_ERR_NOMEM;
	svc->issuer = is;
	svc->config = *config;
	*out = svc;
	return VEIL_OK;
}

void
issue_service_free(issue_service *svc)
{
	free(svc);
}

void
issue_worker_free(issue_worker *w)
{
	if (w == NULL)
		return;
	buf_free(&w->inner); /* wipes */
	buf_free(&w->reply_inner);
	if (w->requests != NULL)
		sodium_memzero(w->requests, w->svc->config.batch_cap * sizeof(*w->requests));
	if (w->responses != NULL)
		sodium_memzero(w->responses, w->svc->config.batch_cap * sizeof(*w->responses));
	free(w->requests);
	free(w->responses);
	free(w);
}

veil_err
issue_worker_new(issue_service *svc, issue_worker **out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (svc == NULL)
		return VEIL_ERR_ARGUMENT;
	issue_worker *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return VEIL_ERR_NOMEM;
	w->svc = svc;
	buf_init(&w->inner);
	buf_init(&w->reply_inner);
	w->reply = (admission_reply){&w->reply_inner, w->stats.errors, PROTO_STATUS_OK};
	w->requests = calloc(svc->config.batch_cap, sizeof(*w->requests));
	w->responses = calloc(svc->config.batch_cap, sizeof(*w->responses));
	if (w->requests == NULL || w->responses == NULL) {
		issue_worker_free(w);
		return VEIL_ERR_NOMEM;
	}
	*out = w;
	return VEIL_OK;
}

void
issue_worker_stats(const issue_worker *w, issue_stats *total)
{
	total->requests += w->stats.requests;
	total->dropped += w->stats.dropped;
	total->tokens += w->stats.tokens;
	for (size_t i = 0; i < sizeof(total->errors) / sizeof(total->errors[0]); i++)
		total->errors[i] += w->stats.errors[i];
}

size_t
issue_max_request_size(uint32_t batch_cap)
{
	return ENVELOPE_SEALED_OVERHEAD + proto_token_issue_size(batch_cap);
}

/* ------------------------------------------------------------------ */

static void
reply_error(issue_worker *w, const uint8_t *request_id, uint16_t code)
{
	admission_error(&w->reply, request_id, code, 0);
}

static int64_t
service_now(const issue_service *svc)
{
	return admission_now(svc->config.clock_offset);
}

/* The wire status of issuer_issue()'s refusal (PROTOCOL.md's TOKEN_ISSUE table). */
static uint16_t
issue_status(veil_err err)
{
	switch (err) {
	case VEIL_ERR_NOT_FOUND:
		return PROTO_STATUS_KEY_UNKNOWN;
	case VEIL_ERR_PERMISSION:
		return PROTO_STATUS_UNAUTHORIZED;
	case VEIL_ERR_ELEMENT:
		return PROTO_STATUS_BAD_ELEMENT;
	case VEIL_ERR_LIMIT:
		return PROTO_STATUS_RATE_LIMITED;
	case VEIL_ERR_ARGUMENT:
		return PROTO_STATUS_BAD_REQUEST;
	default:
		return PROTO_STATUS_INTERNAL;
	}
}

static void
handle_token_issue(issue_worker *w, const proto_msg *msg, const uint8_t *client_key)
{
	const proto_token_issue *issue = &msg->u.token_issue;
	const size_t count = issue->count;
	uint32_t retry_after = 0;
	veil_err err;

	if (count > w->svc->config.batch_cap) {
		reply_error(w, msg->request_id, PROTO_STATUS_BATCH_TOO_LARGE);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		if ((err = token_request_decode(issue->requests + i * TOKEN_REQUEST_SIZE,
		                                TOKEN_REQUEST_SIZE, &w->requests[i])) != VEIL_OK) {
			reply_error(w, msg->request_id, admission_status_of(err));
			return;
		}
	}
	/* issuer_issue() checks enrolment again, before its element checks:
	 * one more read of the clients store (no write, no fsync) for an
	 * account admission_admit() has just found enrolled, next to the
	 * charge's write and count evaluations with proofs. Kept, so that
	 * issuer_issue() stays whole for its other callers; an account
	 * withdrawn in between is refused UNAUTHORIZED there. */
	err = issuer_issue(w->svc->issuer, client_key, service_now(w->svc), w->requests, count,
	                   w->responses, &retry_after);
	sodium_memzero(w->requests, count * sizeof(*w->requests));
	if (err != VEIL_OK) {
		const uint16_t code = issue_status(err);
		admission_error(&w->reply, msg->request_id, code,
		                code == PROTO_STATUS_RATE_LIMITED ? retry_after : 0);
		return;
	}
	buf_reset(&w->reply_inner);
	proto_encode_token_issue_reply(&w->reply_inner, msg->request_id, (uint16_t)count,
	                               w->responses);
	sodium_memzero(w->responses, count * sizeof(*w->responses));
	if (buf_error(&w->reply_inner) != VEIL_OK) {
		reply_error(w, msg->request_id, PROTO_STATUS_INTERNAL);
		return;
	}
	w->stats.tokens += count;
}

void
issue_handle(issue_worker *w, const uint8_t *request, size_t len, buf *reply)
{
	proto_frame frame;
	proto_msg msg;
	envelope_exchange exchange;
	uint8_t client_key[ENVELOPE_PUBLIC_KEY_SIZE];
	uint64_t sent_at = 0;
	veil_err err;

	w->stats.requests++;
	if (!proto_frame_has_header(request, len) && !proto_frame_is_old_version(request, len)) {
		w->stats.dropped++;
		return;
	}
	/* Only SEALED frames: an anonymous one names no account to charge. */
	if (proto_frame_decode(request, len, &frame) != VEIL_OK ||
	    frame.type != PROTO_FRAME_SEALED) {
		envelope_error_frame(reply, PROTO_STATUS_BAD_FRAME);
		w->stats.errors[PROTO_STATUS_BAD_FRAME]++;
		return;
	}
	buf_reset(&w->inner);
	if (envelope_open_request(&frame, issuer_transport_secret(w->svc->issuer), &w->inner,
	                          &sent_at, client_key, &exchange) != VEIL_OK) {
		envelope_error_frame(reply, PROTO_STATUS_BAD_ENVELOPE);
		w->stats.errors[PROTO_STATUS_BAD_ENVELOPE]++;
		return;
	}

	/* Enrolment, a read, then the replay guard (admission.h): a stranger
	 * fills nothing of the guard, and nothing of a replay is served
	 * again, not even its errors. */
	const uint8_t *id = admission_request_id(&w->inner);
	w->reply.status = PROTO_STATUS_OK;
	if (admission_admit(&w->reply, issuer_clients(w->svc->issuer), w->svc->config.replay,
	                    service_now(w->svc), id, client_key, frame.nonce, sent_at) != 0) {
		/* refused: counted */
	} else if ((err = proto_msg_decode((const uint8_t *)buf_data(&w->inner), buf_len(&w->inner),
	                                   &msg)) != VEIL_OK) {
		reply_error(w, id, admission_status_of(err));
	} else if (msg.type != PROTO_MSG_TOKEN_ISSUE) {
		reply_error(w, msg.request_id, PROTO_STATUS_UNSUPPORTED);
	} else {
		handle_token_issue(w, &msg, client_key);
	}

	admission_seal(&exchange, &w->reply_inner, reply);
	sodium_memzero(client_key, sizeof(client_key));
	buf_reset(&w->inner);
	buf_reset(&w->reply_inner);
}

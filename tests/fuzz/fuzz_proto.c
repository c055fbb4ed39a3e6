/*
 * Fuzz target for the wire decoders: frames and inner messages. Every
 * message that decodes must re-encode to exactly the same bytes (the
 * encoding is canonical), and decoding must never read out of bounds.
 * Frames are also opened: a SEALED or SEALED_ANONYMOUS frame with the
 * fixed server key below, a SEALED_REPLY with the fixed exchange below
 * (the seed corpus holds frames sealed to them, so the fuzzer gets past
 * the MAC); whatever opens must have the lengths the protocol gives.
 *
 * The seeds of the tokens-mode messages and the SEALED_ANONYMOUS frame
 * (lookup-token, token-issue, token-issue-reply, frame-sealed-anonymous)
 * were written by a throwaway C program on the encoders of msg.h and
 * envelope_seal_anonymous under the fixed server key, with the request
 * id, token and element bytes set to small constants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "msg.h"
#include "wire.h"

/* The LOOKUP fields of l, as its encoder takes them (malloc'd; the caller
 * frees both). */
static void
lookup_items(const proto_lookup *l, uint32_t **prefixes, uint8_t **elements)
{
	*prefixes = malloc(l->count * sizeof(**prefixes));
	*elements = malloc(l->count * l->element_size);
	if (*prefixes == NULL || *elements == NULL)
		abort();
	for (size_t i = 0; i < l->count; i++) {
		const uint8_t *e;
		proto_lookup_item(l, i, &(*prefixes)[i], &e);
		memcpy(*elements + i * l->element_size, e, l->element_size);
	}
}

static void
reencode(const proto_msg *m, buf *out)
{
	switch (m->type) {
	case PROTO_MSG_INFO:
		proto_encode_info(out, m->request_id);
		break;
	case PROTO_MSG_INFO_REPLY:
		proto_encode_info_reply(out, m->request_id, &m->u.info_reply);
		break;
	case PROTO_MSG_LOOKUP: {
		const proto_lookup *l = &m->u.lookup;
		uint32_t *prefixes;
		uint8_t *elements;
		lookup_items(l, &prefixes, &elements);
		proto_encode_lookup(out, m->request_id, l->suite, l->mode, l->key_id,
		                    l->prefix_bits, l->count, prefixes, elements);
		free(prefixes);
		free(elements);
		break;
	}
	case PROTO_MSG_LOOKUP_REPLY: {
		const proto_lookup_reply *r = &m->u.lookup_reply;
		proto_encode_lookup_reply_head(out, m->request_id, r->suite, r->mode, r->key_id,
		                               r->count, r->slots, r->entry_size);
		const size_t item = r->element_size + (size_t)r->slots * r->entry_size;
		wire_put_bytes(out, r->items, r->count * item);
		if (r->proof != NULL)
			wire_put_bytes(out, r->proof, r->proof_size);
		break;
	}
	case PROTO_MSG_LOOKUP_TOKEN: {
		const proto_lookup *l = &m->u.lookup_token.lookup;
		uint32_t *prefixes;
		uint8_t *elements;
		token t;
		if (token_decode(m->u.lookup_token.token, TOKEN_SIZE, &t) != VEIL_OK)
			abort(); /* the codec checked its length and type */
		lookup_items(l, &prefixes, &elements);
		proto_encode_lookup_token(out, m->request_id, &t, l->suite, l->mode, l->key_id,
		                          l->prefix_bits, l->count, prefixes, elements);
		free(prefixes);
		free(elements);
		break;
	}
	case PROTO_MSG_TOKEN_ISSUE: {
		const proto_token_issue *issue = &m->u.token_issue;
		token_request *requests = malloc(issue->count * sizeof(*requests));
		if (requests == NULL)
			abort();
		for (size_t i = 0; i < issue->count; i++)
			if (token_request_decode(issue->requests + i * TOKEN_REQUEST_SIZE,
			                         TOKEN_REQUEST_SIZE, &requests[i]) != VEIL_OK)
				abort();
		proto_encode_token_issue(out, m->request_id, issue->count, requests);
		free(requests);
		break;
	}
	case PROTO_MSG_TOKEN_ISSUE_REPLY: {
		const proto_token_issue_reply *reply = &m->u.token_issue_reply;
		token_response *responses = malloc(reply->count * sizeof(*responses));
		if (responses == NULL)
			abort();
		for (size_t i = 0; i < reply->count; i++)
			if (token_response_decode(reply->responses + i * TOKEN_RESPONSE_SIZE,
			                          TOKEN_RESPONSE_SIZE, &responses[i]) != VEIL_OK)
				abort();
		proto_encode_token_issue_reply(out, m->request_id, reply->count, responses);
		free(responses);
		break;
	}
	case PROTO_MSG_ERROR:
		proto_encode_error(out, m->request_id, m->u.error.code, m->u.error.retry_after);
		break;
	}
}

/* The fixed keys of the seeds: the server's secret key is 32 bytes of
 * 0x42; the reply key of the exchange, 32 bytes of 0x24. */
#define FUZZ_SERVER_SECRET_BYTE 0x42
#define FUZZ_REPLY_KEY_BYTE     0x24

static void
open_frame(const proto_frame *frame, const uint8_t *data, size_t size)
{
	uint8_t server_sk[ENVELOPE_SECRET_KEY_SIZE], client_pk[ENVELOPE_PUBLIC_KEY_SIZE];
	envelope_exchange ex;
	uint64_t sent_at;
	uint16_t code;
	buf opened;
	buf_init(&opened);
	memset(server_sk, FUZZ_SERVER_SECRET_BYTE, sizeof(server_sk));
	if (frame->type == PROTO_FRAME_SEALED &&
	    envelope_open_request(frame, server_sk, &opened, &sent_at, client_pk, &ex) == VEIL_OK &&
	    buf_len(&opened) != frame->box_len - ENVELOPE_MAC_SIZE - ENVELOPE_REQUEST_OVERHEAD)
		abort();
	envelope_exchange_wipe(&ex);
	buf_reset(&opened);
	/* An anonymous box opens only as one, and never as a SEALED box. */
	if (frame->type == PROTO_FRAME_SEALED_ANONYMOUS &&
	    envelope_open_anonymous(frame, server_sk, &opened, &sent_at, &ex) == VEIL_OK) {
		if (buf_len(&opened) != frame->box_len - ENVELOPE_MAC_SIZE - ENVELOPE_TIME_SIZE)
			abort();
		proto_frame as_sealed = *frame;
		as_sealed.type = PROTO_FRAME_SEALED;
		buf_reset(&opened);
		if (envelope_open_request(&as_sealed, server_sk, &opened, &sent_at, client_pk,
		                          &ex) != VEIL_ERR_VERIFY)
			abort();
	}
	memset(&ex, 0, sizeof(ex));
	memset(ex.reply_key, FUZZ_REPLY_KEY_BYTE, sizeof(ex.reply_key));
	buf_reset(&opened);
	if (envelope_open_reply(data, size, &ex, &opened, &code) == VEIL_OK &&
	    (frame->type == PROTO_FRAME_ERROR
	             ? buf_len(&opened) != 0 || code == 0
	             : buf_len(&opened) != frame->box_len - ENVELOPE_MAC_SIZE || code != 0))
		abort();
	buf_free(&opened);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialized;
	if (!initialized) {
		if (veil_crypto_init() != VEIL_OK)
			abort();
		initialized = 1;
	}
	proto_frame frame;
	if (proto_frame_decode(data, size, &frame) == VEIL_OK) {
		if (!proto_frame_has_header(data, size))
			abort();
		if (frame.box != NULL &&
		    (frame.box < data || frame.box + frame.box_len != data + size))
			abort();
		open_frame(&frame, data, size);
	}

	proto_msg msg;
	if (proto_msg_decode(data, size, &msg) != VEIL_OK)
		return 0;
	buf out;
	buf_init(&out);
	reencode(&msg, &out);
	if (buf_error(&out) != VEIL_OK || buf_len(&out) != size ||
	    memcmp(buf_data(&out), data, size) != 0)
		abort();
	buf_free(&out);
	return 0;
}

#include "service.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "admission.h"
#include "clock.h"
#include "entry.h"
#include "envelope.h"
#include "replay.h"
#include "oprf.h"
#include "wire.h"

struct service {
	veil_state *state;
	service_config config;
	const oprf_suite *suite;      /* the state's, served alone */
	uint8_t suite_id;             /* its wire number */
	replay_config fresh;          /* tokens mode: the window a sent_at must be in */
	_Atomic int64_t last_refresh; /* when keys were last reloaded (monotonic s) */
};

/*
 * The OPRF key of a key id the registry lists as live. A key rotated in
 * by veil-admin while veild runs is not loaded yet: reload the keys, at
 * most once a second whatever the requests ask for.
 */
static const oprf_key *
live_key(service *svc, const registry_view *view, uint32_t key_id)
{
	if (!registry_view_has_key(view, key_id))
		return NULL;
	const oprf_key *key = state_oprf_key(svc->state, key_id);
	if (key != NULL)
		return key;
	const int64_t now = (int64_t)clock_monotonic_seconds();
	int64_t last = atomic_load(&svc->last_refresh);
	if (now > last && atomic_compare_exchange_strong(&svc->last_refresh, &last, now) &&
	    state_refresh_keys(svc->state) != VEIL_OK)
		fprintf(stderr, "veild: a rotated-in OPRF key could not be loaded\n");
	return state_oprf_key(svc->state, key_id);
}

_Static_assert(CLIENTS_EPHEMERAL_KEY_SIZE == ENVELOPE_PUBLIC_KEY_SIZE &&
                       CLIENTS_NONCE_SIZE == ENVELOPE_NONCE_SIZE,
               "the clients store tells requests apart by their frame's key and nonce");

struct service_worker {
	service *svc;
	registry_reader *reader;
	oprf_ctx *ctx[2]; /* by mode: OPRF, VOPRF; the registry's mode is served */
	buf inner;        /* the opened request */
	buf reply_inner;  /* the reply before sealing */
	uint8_t *blinded; /* PROTO_MAX_BATCH * Ne */
	uint8_t *evaluated;
	uint32_t *prefixes;    /* of the request being answered, for the log */
	admission_reply reply; /* into reply_inner; its status, the log's */
	/* Keys mode: the identity keys of the clients this worker served
	 * lately (envelope.h), so that a returning client costs one X25519. */
	envelope_identity_cache *identities;
	/* Keys mode: the request being answered, as the clients store tells
	 * one from another (pointing into its frame). */
	clients_request request;
	int charged;         /* the request being answered was charged: evaluated */
	service_stats stats; /* the worker's own, updated as it goes */
	/* A copy of stats as of the last request handled, for other threads
	 * (service_worker_stats()), under published_lock. */
	pthread_mutex_t published_lock;
	service_stats published;
};

_Static_assert(sizeof(((service_stats *)0)->errors) / sizeof(uint64_t) == ADMISSION_STATUS_COUNT,
               "the stats count every status admission_error() counts");

int64_t
service_now(const service *svc)
{
	return admission_now(svc->config.clock_offset);
}

void
service_free(service *svc)
{
	free(svc);
}

veil_err
service_new(veil_state *state, const service_config *config, service **out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (state == NULL || config == NULL || config->batch_cap == 0 ||
	    config->batch_cap > PROTO_MAX_BATCH ||
	    (config->redeemer != NULL && (config->clients != NULL || config->replay != NULL)))
		return VEIL_ERR_ARGUMENT;
	service *svc = calloc(1, sizeof(*svc));
	if (svc == NULL)
		return VEIL_ERR_NOMEM;
	svc->state = state;
	svc->config = *config;
	svc->suite = state_suite(state);
	svc->suite_id = proto_suite_id(svc->suite);
	/* Tokens mode: no guard remembers a request, so sent_at is held to
	 * the window alone (a start of 0 refuses nothing). */
	replay_config_defaults(&svc->fresh, 0);
	if (svc->suite_id == 0) {
		free(svc);
		return VEIL_ERR_UNSUPPORTED;
	}
	*out = svc;
	return VEIL_OK;
}

void
service_worker_free(service_worker *w)
{
	if (w == NULL)
		return;
	registry_reader_free(w->reader);
	envelope_identity_cache_free(w->identities);
	oprf_ctx_free(w->ctx[0]);
	oprf_ctx_free(w->ctx[1]);
	buf_free(&w->inner);
	buf_free(&w->reply_inner);
	if (w->blinded != NULL)
		sodium_memzero(w->blinded,
		               PROTO_MAX_BATCH * oprf_suite_element_size(w->svc->suite));
	free(w->blinded);
	free(w->evaluated);
	free(w->prefixes);
	pthread_mutex_destroy(&w->published_lock);
	free(w);
}

veil_err
service_worker_new(service *svc, service_worker **out)
{
	*out = NULL;
	service_worker *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return VEIL_ERR_NOMEM;
	w->svc = svc;
	pthread_mutex_init(&w->published_lock, NULL);
	buf_init(&w->inner);
	buf_init(&w->reply_inner);
	w->reply = (admission_reply){&w->reply_inner, w->stats.errors, PROTO_STATUS_OK};
	const size_t ne = oprf_suite_element_size(svc->suite);
	veil_err err = VEIL_ERR_NOMEM;
	w->blinded = malloc(PROTO_MAX_BATCH * ne);
	w->evaluated = malloc(PROTO_MAX_BATCH * ne);
	w->prefixes = malloc(PROTO_MAX_BATCH * sizeof(*w->prefixes));
	if (w->blinded == NULL || w->evaluated == NULL || w->prefixes == NULL)
		goto fail;
	if ((err = oprf_ctx_new(svc->suite, OPRF_MODE_OPRF, &w->ctx[0])) != VEIL_OK ||
	    (err = oprf_ctx_new(svc->suite, OPRF_MODE_VOPRF, &w->ctx[1])) != VEIL_OK ||
	    (err = registry_reader_new(state_registry(svc->state), &w->reader)) != VEIL_OK)
		goto fail;
	if (svc->config.redeemer == NULL &&
	    (err = envelope_identity_cache_new(SERVICE_IDENTITY_CACHE_ENTRIES, &w->identities)) !=
	            VEIL_OK)
		goto fail;
	*out = w;
	return VEIL_OK;
fail:
	service_worker_free(w);
	return err;
}

void
service_worker_stats(service_worker *w, service_stats *total)
{
	pthread_mutex_lock(&w->published_lock);
	const service_stats s = w->published;
	pthread_mutex_unlock(&w->published_lock);
	total->requests += s.requests;
	total->dropped += s.dropped;
	total->items += s.items;
	total->tokens += s.tokens;
	for (size_t i = 0; i < sizeof(total->errors) / sizeof(total->errors[0]); i++)
		total->errors[i] += s.errors[i];
}

/*
 * Whether a reply of count items, each of slots entries of entry_size,
 * fits PROTO_MAX_REPLY_SIZE (with room for the head and a proof), and its
 * slot count the u16 of the wire.
 */
static int
prefix_fits(uint32_t slots, size_t entry_size, unsigned count)
{
	const size_t budget = PROTO_MAX_REPLY_SIZE - 4096;
	if (count == 0)
		count = 1;
	return slots <= UINT16_MAX &&
	       OPRF_MAX_ELEMENT_SIZE + (size_t)slots * entry_size <= budget / count;
}

/*
 * The prefix lengths a registry view allows, as INFO advertises them: the
 * recommended one gives about 64 handles per bucket; the largest is two
 * bits past it. Every length from p_min to p_max keeps a full batch's
 * reply under PROTO_MAX_REPLY_SIZE: the recommendation is raised to p_min
 * and p_max lowered to the last length that fits. When no length fits,
 * all three are PROTO_MAX_PREFIX_BITS and every LOOKUP is refused
 * BAD_PREFIX.
 */
static void
service_prefix_range(const registry_view *view, unsigned batch_cap, size_t entry_size,
                     uint8_t *p_min, uint8_t *p_recommended, uint8_t *p_max)
{
	/* About 64 handles per bucket. */
	const double buckets = (double)view->handles / 64.0;
	int rec = buckets <= 1.0 ? 1 : (int)lround(log2(buckets));
	if (rec < 1)
		rec = 1;
	if (rec > PROTO_MAX_PREFIX_BITS)
		rec = PROTO_MAX_PREFIX_BITS;

	/* The shortest prefix whose fullest bucket fits a whole batch's reply;
	 * none fits: the longest, which lookups then refuse. */
	int min = PROTO_MAX_PREFIX_BITS;
	for (int p = 0; p <= PROTO_MAX_PREFIX_BITS; p++) {
		if (prefix_fits(view->slots[p], entry_size, batch_cap)) {
			min = p;
			break;
		}
	}
	/* Every length from min on that fits, up to two past the
	 * recommendation; the recommendation within them. */
	const int limit = rec + 2 > PROTO_MAX_PREFIX_BITS ? PROTO_MAX_PREFIX_BITS : rec + 2;
	int max = min;
	while (max < limit && prefix_fits(view->slots[max + 1], entry_size, batch_cap))
		max++;
	if (rec < min)
		rec = min;
	if (rec > max)
		rec = max;
	*p_min = (uint8_t)min;
	*p_recommended = (uint8_t)rec;
	*p_max = (uint8_t)max;
}

static size_t
payload_size_of(const registry_view *view)
{
	return view->payloads > 0 ? ENTRY_SEALED_PAYLOAD_SIZE : 0;
}

veil_err
service_state_prefix_bits(const char *dir, uint8_t *recommended, const char **why)
{
	veil_state *st = NULL;
	registry_stats stats;
	*why = NULL;
	veil_err err = state_open(dir, &st, why);
	if (err == VEIL_OK)
		err = registry_stats_read(state_registry(st), &stats);
	state_free(st);
	if (err != VEIL_OK)
		return err;
	uint8_t p_min, p_max;
	const size_t entry_size = stats.view.tag_len + payload_size_of(&stats.view);
	service_prefix_range(&stats.view, SERVICE_DEFAULT_BATCH_CAP, entry_size, &p_min,
	                     recommended, &p_max);
	return VEIL_OK;
}

static void
reply_error(service_worker *w, const uint8_t *request_id, uint16_t code)
{
	admission_error(&w->reply, request_id, code, 0);
}

static void
handle_info(service_worker *w, const proto_msg *msg, const registry_view *view)
{
	const size_t ne = oprf_suite_element_size(w->svc->suite);
	proto_info_reply info;
	memset(&info, 0, sizeof(info));
	info.batch_cap = (uint16_t)w->svc->config.batch_cap;
	info.tag_len = view->tag_len;
	info.payload_size = (uint16_t)payload_size_of(view);
	service_prefix_range(view, w->svc->config.batch_cap, info.tag_len + info.payload_size,
	                     &info.p_min, &info.p_recommended, &info.p_max);
	for (uint32_t i = 0; i < view->key_count && info.key_count < PROTO_MAX_KEYS; i++) {
		const oprf_key *key = live_key(w->svc, view, view->key_ids[i]);
		if (key == NULL)
			continue; /* listed but not loaded: not served */
		proto_key_info *k = &info.keys[info.key_count++];
		k->key_id = view->key_ids[i];
		k->suite = w->svc->suite_id;
		k->modes =
		        view->mode == OPRF_MODE_VOPRF ? PROTO_MODE_BIT_VOPRF : PROTO_MODE_BIT_OPRF;
		k->pk_len = (uint16_t)ne;
		oprf_key_public(key, k->pk);
	}
	if (info.key_count == 0) {
		reply_error(w, msg->request_id, PROTO_STATUS_INTERNAL);
		return;
	}
	buf_reset(&w->reply_inner);
	proto_encode_info_reply(&w->reply_inner, msg->request_id, &info);
}

/*
 * The token of a LOOKUP_TOKEN pays for its lookup: redeemed once every
 * other check has passed. Returns 0 to go on, or -1 with the refusal
 * (TOKEN_INVALID, TOKEN_SPENT, INTERNAL) already replied.
 */
static int
redeem(service_worker *w, const uint8_t *request_id, const token *t)
{
	switch (redeemer_redeem(w->svc->config.redeemer, t, service_now(w->svc))) {
	case REDEEM_OK:
		w->stats.tokens++;
		return 0;
	case REDEEM_INVALID:
		reply_error(w, request_id, PROTO_STATUS_TOKEN_INVALID);
		return -1;
	case REDEEM_SPENT:
		reply_error(w, request_id, PROTO_STATUS_TOKEN_SPENT);
		return -1;
	case REDEEM_ERROR:
	default:
		reply_error(w, request_id, PROTO_STATUS_INTERNAL);
		return -1;
	}
}

/* The lookup body of a LOOKUP or a LOOKUP_TOKEN. */
static const proto_lookup *
lookup_of(const proto_msg *msg)
{
	return msg->type == PROTO_MSG_LOOKUP_TOKEN ? &msg->u.lookup_token.lookup : &msg->u.lookup;
}

/*
 * A LOOKUP (client_key the requester's, t NULL) or, in tokens mode, a
 * LOOKUP_TOKEN (client_key NULL, t its token).
 */
static void
handle_lookup(service_worker *w, const proto_msg *msg, const registry_view *view,
              const uint8_t *client_key, const token *t)
{
	const proto_lookup *lookup = lookup_of(msg);
	const service_config *config = &w->svc->config;
	const size_t ne = lookup->element_size;
	const oprf_key *key = live_key(w->svc, view, lookup->key_id);
	uint32_t slots_by_prefix[33];

	if (lookup->suite != w->svc->suite_id || lookup->mode != view->mode) {
		/* Outputs of another suite or mode match no tag: refuse, do
		 * not mislead. */
		reply_error(w, msg->request_id, PROTO_STATUS_UNSUPPORTED);
		return;
	}
	if (lookup->count > config->batch_cap) {
		reply_error(w, msg->request_id, PROTO_STATUS_BATCH_TOO_LARGE);
		return;
	}
	if (!proto_is_size_class(lookup->count, config->batch_cap)) {
		/* Every client pads to a class: a count that is none would
		 * single its sender out. */
		reply_error(w, msg->request_id, PROTO_STATUS_BAD_REQUEST);
		return;
	}
	if (key == NULL ||
	    registry_reader_slots(w->reader, lookup->key_id, slots_by_prefix) != VEIL_OK) {
		reply_error(w, msg->request_id, PROTO_STATUS_KEY_UNKNOWN);
		return;
	}
	const size_t payload_size = payload_size_of(view);
	const size_t entry_size = view->tag_len + payload_size;
	uint8_t p_min, p_rec, p_max;
	service_prefix_range(view, config->batch_cap, entry_size, &p_min, &p_rec, &p_max);
	const unsigned bits = lookup->prefix_bits;
	if (bits < p_min || bits > p_max ||
	    !prefix_fits(slots_by_prefix[bits], entry_size, lookup->count)) {
		reply_error(w, msg->request_id, PROTO_STATUS_BAD_PREFIX);
		return;
	}
	for (size_t i = 0; i < lookup->count; i++) {
		uint32_t prefix;
		const uint8_t *element;
		proto_lookup_item(lookup, i, &prefix, &element);
		if (entry_prefix(prefix, bits) != prefix) {
			reply_error(w, msg->request_id, PROTO_STATUS_BAD_PREFIX);
			return;
		}
		w->prefixes[i] = prefix; /* for the log, if the lookup is evaluated */
		memcpy(w->blinded + i * ne, element, ne);
	}

	/* Every request is valid from here on but for its elements: the
	 * quota, or the token, pays for them before any scalar multiplication.
	 * The quota charges a request once in all the processes of the state:
	 * the replay guard is this process's only. */
	w->request.clock = (int64_t)time(NULL);
	if (t != NULL ? redeem(w, msg->request_id, t) != 0
	              : admission_charge_request(&w->reply, config->clients, msg->request_id,
	                                         client_key, &w->request, lookup->count,
	                                         service_now(w->svc)) != 0)
		return;
	w->charged = 1;
	const int verifiable = lookup->mode == OPRF_MODE_VOPRF;
	const size_t proof_size = oprf_suite_proof_size(w->svc->suite);
	uint8_t proof[OPRF_MAX_PROOF_SIZE];
	veil_err err =
	        oprf_blind_evaluate(w->ctx[verifiable], key, NULL, 0, lookup->count, w->blinded,
	                            w->evaluated, NULL, verifiable ? proof : NULL);
	if (err != VEIL_OK) {
		reply_error(w, msg->request_id, admission_status_of(err));
		return;
	}
	w->stats.items += lookup->count;

	const uint16_t slots = (uint16_t)slots_by_prefix[bits];
	buf *out = &w->reply_inner;
	buf_reset(out);
	/*
	 * Unused slots look like entries: random bytes, the ChaCha20 stream
	 * of a key drawn for this reply, item i's under nonce i (one call
	 * into the kernel's generator per reply, not several per item).
	 */
	uint8_t pad_key[crypto_stream_chacha20_KEYBYTES];
	randombytes_buf(pad_key, sizeof(pad_key));
	proto_encode_lookup_reply_head(out, msg->request_id, lookup->suite, lookup->mode,
	                               lookup->key_id, lookup->count, slots, (uint16_t)entry_size);
	for (size_t i = 0; i < lookup->count; i++) {
		uint32_t prefix;
		const uint8_t *element;
		proto_lookup_item(lookup, i, &prefix, &element);
		wire_put_bytes(out, w->evaluated + i * ne, ne);
		const size_t item_size = (size_t)slots * entry_size;
		uint8_t *entries = wire_put_space(out, item_size);
		size_t found = 0;
		if (entries == NULL ||
		    registry_reader_bucket(w->reader, lookup->key_id, prefix, bits, payload_size,
		                           entries, slots, &found) != VEIL_OK) {
			sodium_memzero(pad_key, sizeof(pad_key));
			reply_error(w, msg->request_id, PROTO_STATUS_INTERNAL);
			return;
		}
		uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = {0};
		for (size_t b = 0; b < sizeof(nonce); b++)
			nonce[b] = (uint8_t)((uint64_t)i >> (8 * b));
		crypto_stream_chacha20(entries + found * entry_size, item_size - found * entry_size,
		                       nonce, pad_key);
	}
	sodium_memzero(pad_key, sizeof(pad_key));
	if (verifiable)
		wire_put_bytes(out, proof, proof_size);
	if (buf_error(out) != VEIL_OK)
		reply_error(w, msg->request_id, PROTO_STATUS_INTERNAL);
}

/* Records an evaluated LOOKUP in the query log: its items' prefixes, as
 * handle_lookup checked them. */
static void
log_lookup(service_worker *w, const proto_msg *msg, const uint8_t *client_key)
{
	const proto_lookup *lookup = lookup_of(msg);
	qlog_record(w->svc->config.log, service_now(w->svc), client_key, lookup->prefix_bits,
	            w->prefixes, lookup->count, w->reply.status);
}

/*
 * An opened request, its inner message in w->inner, once admitted
 * (admitted 0; -1: refused, the refusal replied): decodes it into *msg,
 * which must be INFO or a lookup of lookup_type (LOOKUP in keys mode,
 * LOOKUP_TOKEN in tokens mode), and answers it under a read snapshot of
 * the registry. client_key: the requester in keys mode, NULL in tokens
 * mode. The reply is left in w->reply_inner.
 */
static void
dispatch(service_worker *w, int admitted, proto_msg_type lookup_type, const uint8_t *client_key,
         proto_msg *msg)
{
	registry_view view;
	token t;
	veil_err err;
	memset(&t, 0, sizeof(t));
	if (admitted != 0) {
		/* refused: counted, not logged */
	} else if ((err = proto_msg_decode((const uint8_t *)buf_data(&w->inner), buf_len(&w->inner),
	                                   msg)) != VEIL_OK) {
		/* Answer under the request id when there is one to read. */
		reply_error(w, admission_request_id(&w->inner), admission_status_of(err));
	} else if (msg->type != PROTO_MSG_INFO && msg->type != lookup_type) {
		reply_error(w, msg->request_id, PROTO_STATUS_UNSUPPORTED);
	} else if (msg->type == PROTO_MSG_LOOKUP_TOKEN &&
	           token_decode(msg->u.lookup_token.token, TOKEN_SIZE, &t) != VEIL_OK) {
		reply_error(w, msg->request_id, PROTO_STATUS_BAD_REQUEST);
	} else if (registry_reader_begin(w->reader, &view) != VEIL_OK) {
		reply_error(w, msg->request_id, PROTO_STATUS_INTERNAL);
	} else {
		if (msg->type == PROTO_MSG_INFO)
			handle_info(w, msg, &view);
		else
			handle_lookup(w, msg, &view, client_key,
			              msg->type == PROTO_MSG_LOOKUP_TOKEN ? &t : NULL);
		registry_reader_end(w->reader);
	}
	sodium_memzero(&t, sizeof(t));
}

/* service_handle() but for publishing the counters. */
static void
handle_request(service_worker *w, const uint8_t *request, size_t len, buf *reply)
{
	veil_state *state = w->svc->state;
	const int tokens = w->svc->config.redeemer != NULL;
	proto_frame frame;
	proto_msg msg;
	envelope_exchange exchange;
	uint8_t client_key[ENVELOPE_PUBLIC_KEY_SIZE];

	w->stats.requests++;
	w->reply.status = PROTO_STATUS_OK;
	w->charged = 0;
	memset(&msg, 0, sizeof(msg));
	if (!proto_frame_has_header(request, len) && !proto_frame_is_old_version(request, len)) {
		w->stats.dropped++;
		return;
	}
	/* A frame of an older version decodes as none: BAD_FRAME tells its
	 * client at once, where a drop would leave it waiting. A frame of the
	 * other mode is not opened: in tokens mode veild never reads a client
	 * key. */
	if (proto_frame_decode(request, len, &frame) != VEIL_OK ||
	    frame.type != (tokens ? PROTO_FRAME_SEALED_ANONYMOUS : PROTO_FRAME_SEALED)) {
		envelope_error_frame(reply, PROTO_STATUS_BAD_FRAME);
		w->stats.errors[PROTO_STATUS_BAD_FRAME]++;
		return;
	}
	buf_reset(&w->inner);
	uint64_t sent_at;
	const veil_err opened =
	        tokens ? envelope_open_anonymous(&frame, state_transport_secret(state), &w->inner,
	                                         &sent_at, &exchange)
	               : envelope_open_request_cached(&frame, state_transport_secret(state),
	                                              w->identities, &w->inner, &sent_at,
	                                              client_key, &exchange);
	if (opened != VEIL_OK) {
		envelope_error_frame(reply, PROTO_STATUS_BAD_ENVELOPE);
		w->stats.errors[PROTO_STATUS_BAD_ENVELOPE]++;
		return;
	}

	/* The cheap checks first, each before anything a stranger could
	 * fill. Keys mode: enrolment (a read), then the replay guard (a
	 * sealed request is served once, and only while it is fresh; nothing
	 * of a replay is served again, not even its errors). Tokens mode:
	 * sent_at within the window, against the real clock, which the
	 * client's shares; the token, redeemed last, is the guard. */
	const uint8_t *id = admission_request_id(&w->inner);
	int admitted;
	w->request = (clients_request){frame.ephemeral_key, frame.nonce, sent_at, 0};
	if (!tokens) {
		admitted =
		        admission_admit(&w->reply, w->svc->config.clients, w->svc->config.replay,
		                        service_now(w->svc), id, client_key, frame.nonce, sent_at);
	} else if (!replay_fresh(&w->svc->fresh, sent_at, (int64_t)time(NULL))) {
		reply_error(w, id, PROTO_STATUS_STALE);
		admitted = -1;
	} else {
		admitted = 0;
	}
	dispatch(w, admitted, tokens ? PROTO_MSG_LOOKUP_TOKEN : PROTO_MSG_LOOKUP,
	         tokens ? NULL : client_key, &msg);

	/* The log keeps what was evaluated: the lookups the quota, or a token,
	 * paid for; in tokens mode with no requester. */
	if (w->svc->config.log != NULL && w->charged)
		log_lookup(w, &msg, tokens ? NULL : client_key);

	admission_seal(&exchange, &w->reply_inner, reply);
	sodium_memzero(client_key, sizeof(client_key));
	memset(&w->request, 0, sizeof(w->request)); /* it points into the frame */
	buf_reset(&w->inner);
	buf_reset(&w->reply_inner);
}

void
service_handle(service_worker *w, const uint8_t *request, size_t len, buf *reply)
{
	handle_request(w, request, len, reply);
	pthread_mutex_lock(&w->published_lock);
	w->published = w->stats;
	pthread_mutex_unlock(&w->published_lock);
}

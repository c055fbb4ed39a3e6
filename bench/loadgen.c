#include "loadgen.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "clock.h"
#include "entry.h"
#include "oprf.h"

struct loadgen_peer {
	uint8_t server_key[ENVELOPE_PUBLIC_KEY_SIZE];
	uint8_t client_public[ENVELOPE_PUBLIC_KEY_SIZE];
	uint8_t *client_secret; /* guarded */
	uint8_t *identity;      /* guarded: envelope_identity_key(server, client) */
	int anonymous;          /* tokens mode: no client key, SEALED_ANONYMOUS frames */
};

struct loadgen_tokens {
	token *all; /* guarded */
	size_t count;
	atomic_size_t next;
};

struct loadgen_pool {
	const loadgen_peer *peer;
	loadgen_plan plan;
	proto_info_reply info; /* the plan's, copied */
	const oprf_suite *suite;
	oprf_ctx *ctx;
	size_t ne, ns, nh;
	buf *frames;                                   /* plan.frames; tokens mode: LOOKUP_TOKEN */
	buf sending;                                   /* tokens mode: the message with its token */
	uint8_t (*request_ids)[PROTO_REQUEST_ID_SIZE]; /* per frame */
	envelope_exchange *exchanges;                  /* per frame, guarded */
	uint32_t *indices;                             /* frames * batch: the handle of each item */
	uint8_t *registered;                           /* frames * batch: the truth */
	uint8_t *blinds;                               /* frames * batch * Ns, guarded */
	uint8_t *blinded;                              /* frames * batch * Ne */
	/* Scratch of classify: the opened reply. */
	uint8_t *plain;
	size_t plain_cap;
	/* Scratch of check, batch sized. */
	char (*handles)[LOADGEN_HANDLE_SIZE];
	const uint8_t **inputs;
	size_t *input_lens;
	uint8_t *evaluated;
	uint8_t *outputs; /* guarded */
};

size_t
loadgen_handle(char out[static LOADGEN_HANDLE_SIZE], int registered, uint32_t index)
{
	/* Lowercase, one '@', a dotted domain: already in normal form. */
	const int n = snprintf(out, LOADGEN_HANDLE_SIZE, "mailto:%c%u@bench.example.org",
	                       registered ? 'r' : 's', index);
	if (n < 0 || n >= LOADGEN_HANDLE_SIZE)
		abort();
	return (size_t)n;
}

void
loadgen_peer_free(loadgen_peer *peer)
{
	if (peer == NULL)
		return;
	sodium_free(peer->client_secret); /* NULL ok */
	sodium_free(peer->identity);
	sodium_memzero(peer, sizeof(*peer));
	free(peer);
}

veil_err
loadgen_peer_new(const uint8_t server_key[static ENVELOPE_PUBLIC_KEY_SIZE],
                 const uint8_t *client_secret, loadgen_peer **out)
{
	*out = NULL;
	loadgen_peer *peer = calloc(1, sizeof(*peer));
	if (peer == NULL)
		return VEIL_ERR_NOMEM;
	veil_err err = VEIL_ERR_NOMEM;
	peer->client_secret = sodium_malloc(ENVELOPE_SECRET_KEY_SIZE);
	peer->identity = sodium_malloc(ENVELOPE_KEY_SIZE);
	if (peer->client_secret == NULL || peer->identity == NULL)
		goto fail;
	memcpy(peer->server_key, server_key, ENVELOPE_PUBLIC_KEY_SIZE);
	err = VEIL_ERR_CRYPTO;
	if (client_secret != NULL) {
		memcpy(peer->client_secret, client_secret, ENVELOPE_SECRET_KEY_SIZE);
		if (crypto_scalarmult_base(peer->client_public, peer->client_secret) != 0)
			goto fail;
	} else if (crypto_box_keypair(peer->client_public, peer->client_secret) != 0) {
		goto fail;
	}
	if ((err = envelope_identity_key(peer->server_key, peer->client_secret, peer->identity)) !=
	    VEIL_OK)
		goto fail;
	*out = peer;
	return VEIL_OK;
fail:
	loadgen_peer_free(peer);
	return err;
}

veil_err
loadgen_peer_new_anonymous(const uint8_t server_key[static ENVELOPE_PUBLIC_KEY_SIZE],
                           loadgen_peer **out)
{
	*out = NULL;
	loadgen_peer *peer = calloc(1, sizeof(*peer));
	if (peer == NULL)
		return VEIL_ERR_NOMEM;
	memcpy(peer->server_key, server_key, ENVELOPE_PUBLIC_KEY_SIZE);
	peer->anonymous = 1;
	*out = peer;
	return VEIL_OK;
}

/* ------------------------------------------------------------------ */
/* Tokens */

typedef struct mint_job {
	const oprf_key *key;
	token *first;
	size_t count;
	veil_err err;
} mint_job;

static void *
mint(void *arg)
{
	mint_job *job = arg;
	for (size_t i = 0; i < job->count && job->err == VEIL_OK; i++)
		job->err = token_authenticate(job->key, &job->first[i]);
	return NULL;
}

veil_err
loadgen_tokens_new(const oprf_key *issuer_key, const uint8_t challenge_digest[TOKEN_DIGEST_SIZE],
                   size_t count, unsigned threads, double *seconds_each, loadgen_tokens **out)
{
	uint8_t pk[TOKEN_ELEMENT_SIZE], key_id[TOKEN_KEY_ID_SIZE];
	*out = NULL;
	if (issuer_key == NULL || challenge_digest == NULL || count == 0 || threads == 0)
		return VEIL_ERR_ARGUMENT;
	veil_err err = token_issuer_public(issuer_key, pk, key_id);
	if (err != VEIL_OK)
		return err;
	loadgen_tokens *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->all = sodium_allocarray(count, sizeof(token))) == NULL) {
		free(t);
		return VEIL_ERR_NOMEM;
	}
	t->count = count;
	atomic_init(&t->next, 0);
	for (size_t i = 0; i < count; i++) {
		randombytes_buf(t->all[i].nonce, TOKEN_NONCE_SIZE);
		memcpy(t->all[i].challenge_digest, challenge_digest, TOKEN_DIGEST_SIZE);
		memcpy(t->all[i].token_key_id, key_id, TOKEN_KEY_ID_SIZE);
	}
	if (threads > count)
		threads = (unsigned)count;
	mint_job *jobs = calloc(threads, sizeof(*jobs));
	pthread_t *ids = calloc(threads, sizeof(*ids));
	err = jobs != NULL && ids != NULL ? VEIL_OK : VEIL_ERR_NOMEM;
	const double start = clock_monotonic_seconds();
	size_t started = 0, done = 0;
	for (unsigned j = 0; j < threads && err == VEIL_OK; j++) {
		const size_t share = count / threads + (j < count % threads ? 1 : 0);
		jobs[j] = (mint_job){issuer_key, t->all + done, share, VEIL_OK};
		done += share;
		if (pthread_create(&ids[j], NULL, mint, &jobs[j]) != 0)
			err = VEIL_ERR_SYSTEM;
		else
			started++;
	}
	for (size_t j = 0; j < started; j++) {
		pthread_join(ids[j], NULL);
		if (err == VEIL_OK)
			err = jobs[j].err;
	}
	/* Each thread made count / threads tokens in the elapsed time. */
	if (seconds_each != NULL && err == VEIL_OK)
		*seconds_each = (clock_monotonic_seconds() - start) * started / (double)count;
	free(jobs);
	free(ids);
	if (err != VEIL_OK) {
		loadgen_tokens_free(t);
		return err;
	}
	*out = t;
	return VEIL_OK;
}

void
loadgen_tokens_free(loadgen_tokens *tokens)
{
	if (tokens == NULL)
		return;
	sodium_free(tokens->all); /* wipes */
	free(tokens);
}

int
loadgen_tokens_take(loadgen_tokens *tokens, token *out)
{
	const size_t i = atomic_fetch_add(&tokens->next, 1);
	if (i >= tokens->count)
		return 0;
	*out = tokens->all[i];
	sodium_memzero(&tokens->all[i], sizeof(tokens->all[i]));
	return 1;
}

size_t
loadgen_tokens_taken(loadgen_tokens *tokens)
{
	const size_t n = atomic_load(&tokens->next);
	return n < tokens->count ? n : tokens->count;
}

/* ------------------------------------------------------------------ */

veil_err
loadgen_info(const loadgen_peer *peer, transport_client *transport, proto_info_reply *info_out,
             uint16_t *status)
{
	uint8_t request_id[PROTO_REQUEST_ID_SIZE];
	buf inner, frame, reply, reply_inner;
	envelope_exchange ex;
	proto_msg msg;
	veil_err err;

	memset(info_out, 0, sizeof(*info_out));
	memset(&ex, 0, sizeof(ex));
	*status = 0;
	buf_init(&inner);
	buf_init(&frame);
	buf_init(&reply);
	buf_init(&reply_inner);
	randombytes_buf(request_id, sizeof(request_id));
	proto_encode_info(&inner, request_id);
	if ((err = buf_error(&inner)) != VEIL_OK)
		goto out;
	if (peer->anonymous) {
		err = envelope_exchange_begin_anonymous(&ex, peer->server_key);
		if (err == VEIL_OK)
			err = envelope_seal_anonymous(&ex, (uint64_t)time(NULL), NULL,
			                              (const uint8_t *)buf_data(&inner),
			                              buf_len(&inner), &frame);
	} else {
		err = envelope_seal_request(peer->client_public, peer->client_secret,
		                            peer->server_key, (const uint8_t *)buf_data(&inner),
		                            buf_len(&inner), &frame, &ex);
	}
	if (err != VEIL_OK)
		goto out;
	if ((err = transport_client_request(transport, (const uint8_t *)buf_data(&frame),
	                                    buf_len(&frame), &reply)) != VEIL_OK)
		goto out;
	err = envelope_open_reply((const uint8_t *)buf_data(&reply), buf_len(&reply), &ex,
	                          &reply_inner, status);
	if (err != VEIL_OK || *status != 0) {
		err = err != VEIL_OK ? err : VEIL_ERR_UNSUPPORTED;
		goto out;
	}
	err = VEIL_ERR_PARSE;
	if (proto_msg_decode((const uint8_t *)buf_data(&reply_inner), buf_len(&reply_inner),
	                     &msg) != VEIL_OK ||
	    memcmp(msg.request_id, request_id, PROTO_REQUEST_ID_SIZE) != 0)
		goto out;
	if (msg.type == PROTO_MSG_ERROR) {
		*status = msg.u.error.code;
		err = VEIL_ERR_UNSUPPORTED;
		goto out;
	}
	if (msg.type != PROTO_MSG_INFO_REPLY)
		goto out;
	const proto_key_info *current = &msg.u.info_reply.keys[0];
	const oprf_suite *suite = proto_suite(current->suite);
	err = VEIL_ERR_UNSUPPORTED;
	if (msg.u.info_reply.key_count == 0 || suite == NULL ||
	    !(current->modes & (PROTO_MODE_BIT_OPRF | PROTO_MODE_BIT_VOPRF)) ||
	    current->pk_len != oprf_suite_element_size(suite))
		goto out;
	*info_out = msg.u.info_reply;
	err = VEIL_OK;
out:
	envelope_exchange_wipe(&ex);
	buf_free(&inner);
	buf_free(&frame);
	buf_free(&reply);
	buf_free(&reply_inner);
	return err;
}

/* The one mode the server's registry serves (INFO's modes bits). */
static oprf_mode
served_mode(const proto_info_reply *info)
{
	return info->keys[0].modes & PROTO_MODE_BIT_VOPRF ? OPRF_MODE_VOPRF : OPRF_MODE_OPRF;
}

static int
plan_valid(const loadgen_plan *plan)
{
	const proto_info_reply *info = plan->info;
	return info != NULL && plan->batch >= 1 && plan->batch <= info->batch_cap &&
	       plan->frames >= 1 && plan->prefix_bits >= info->p_min &&
	       plan->prefix_bits <= info->p_max && info->tag_len >= ENTRY_MIN_TAG_SIZE &&
	       info->tag_len <= ENTRY_MAX_TAG_SIZE;
}

/* Draws, blinds, encodes and seals frame f. */
static veil_err
pool_build_frame(loadgen_pool *pool, size_t f, uint32_t *prefixes, buf *inner)
{
	const size_t batch = pool->plan.batch, first = f * batch;
	char handle[LOADGEN_HANDLE_SIZE];
	veil_err err = VEIL_OK;

	randombytes_buf(pool->request_ids[f], PROTO_REQUEST_ID_SIZE);
	for (size_t j = 0; j < batch && err == VEIL_OK; j++) {
		const size_t k = first + j;
		const int registered = pool->plan.registered > 0 && randombytes_uniform(2) == 1;
		const uint32_t index = registered ? randombytes_uniform(pool->plan.registered)
		                                  : randombytes_random();
		const size_t len = loadgen_handle(handle, registered, index);

		pool->indices[k] = index;
		pool->registered[k] = (uint8_t)registered;
		prefixes[j] = entry_prefix(entry_bucket(handle, len), pool->plan.prefix_bits);
		err = oprf_blind(pool->ctx, (const uint8_t *)handle, len, NULL,
		                 pool->blinds + k * pool->ns, pool->blinded + k * pool->ne);
	}
	sodium_memzero(handle, sizeof(handle));
	if (err != VEIL_OK)
		return err;

	buf_reset(inner);
	if (pool->peer->anonymous) {
		/* A placeholder token, replaced by a fresh one at each send. */
		token none;
		memset(&none, 0, sizeof(none));
		proto_encode_lookup_token(
		        inner, pool->request_ids[f], &none, pool->info.keys[0].suite,
		        (uint8_t)served_mode(&pool->info), pool->info.keys[0].key_id,
		        (uint8_t)pool->plan.prefix_bits, (uint16_t)batch, prefixes,
		        pool->blinded + first * pool->ne);
	} else {
		proto_encode_lookup(inner, pool->request_ids[f], pool->info.keys[0].suite,
		                    (uint8_t)served_mode(&pool->info), pool->info.keys[0].key_id,
		                    (uint8_t)pool->plan.prefix_bits, (uint16_t)batch, prefixes,
		                    pool->blinded + first * pool->ne);
	}
	if ((err = buf_error(inner)) != VEIL_OK)
		return err;
	/* Kept unsealed: each send seals it afresh (loadgen_pool_seal), since
	 * the server serves a sealed request once. */
	return buf_append(&pool->frames[f], buf_data(inner), buf_len(inner));
}

veil_err
loadgen_pool_new(const loadgen_peer *peer, const loadgen_plan *plan, loadgen_pool **out)
{
	*out = NULL;
	if (peer == NULL || plan == NULL || !plan_valid(plan) ||
	    (plan->tokens != NULL) != (peer->anonymous != 0))
		return VEIL_ERR_ARGUMENT;
	loadgen_pool *pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return VEIL_ERR_NOMEM;
	pool->peer = peer;
	pool->plan = *plan;
	pool->info = *plan->info;
	pool->plan.info = &pool->info;
	pool->suite = proto_suite(pool->info.keys[0].suite); /* served: loadgen_info() checked */
	if (pool->suite == NULL) {
		free(pool);
		return VEIL_ERR_UNSUPPORTED;
	}
	pool->ne = oprf_suite_element_size(pool->suite);
	pool->ns = oprf_suite_scalar_size(pool->suite);
	buf_init(&pool->sending);
	pool->nh = oprf_suite_output_size(pool->suite);

	const size_t frames = plan->frames, batch = plan->batch, items = frames * batch;
	uint32_t *prefixes = malloc(batch * sizeof(*prefixes));
	buf inner;
	buf_init(&inner);
	veil_err err = VEIL_ERR_NOMEM;

	pool->frames = calloc(frames, sizeof(*pool->frames));
	pool->request_ids = calloc(frames, sizeof(*pool->request_ids));
	pool->exchanges = sodium_allocarray(frames, sizeof(*pool->exchanges));
	pool->indices = calloc(items, sizeof(*pool->indices));
	pool->registered = calloc(items, 1);
	pool->blinds = sodium_malloc(items * pool->ns);
	pool->blinded = malloc(items * pool->ne);
	pool->handles = calloc(batch, sizeof(*pool->handles));
	pool->inputs = calloc(batch, sizeof(*pool->inputs));
	pool->input_lens = calloc(batch, sizeof(*pool->input_lens));
	pool->evaluated = malloc(batch * pool->ne);
	pool->outputs = sodium_malloc(batch * pool->nh);
	if (prefixes == NULL || pool->frames == NULL || pool->request_ids == NULL ||
	    pool->exchanges == NULL || pool->indices == NULL || pool->registered == NULL ||
	    pool->blinds == NULL || pool->blinded == NULL || pool->handles == NULL ||
	    pool->inputs == NULL || pool->input_lens == NULL || pool->evaluated == NULL ||
	    pool->outputs == NULL)
		goto out;
	for (size_t f = 0; f < frames; f++)
		buf_init(&pool->frames[f]);
	if ((err = oprf_ctx_new(pool->suite, served_mode(&pool->info), &pool->ctx)) != VEIL_OK)
		goto out;
	/* Each request its own ephemeral key, made here, before any clock
	 * starts: a send seals with it and its reply opens with it. */
	for (size_t f = 0; f < frames && err == VEIL_OK; f++)
		err = peer->anonymous
		              ? envelope_exchange_begin_anonymous(&pool->exchanges[f],
		                                                  peer->server_key)
		              : envelope_exchange_begin(&pool->exchanges[f], peer->server_key);
	for (size_t f = 0; f < frames && err == VEIL_OK; f++)
		err = pool_build_frame(pool, f, prefixes, &inner);
out:
	buf_free(&inner); /* wipes the plaintext, blinded elements included */
	free(prefixes);
	if (err != VEIL_OK) {
		loadgen_pool_free(pool);
		return err;
	}
	*out = pool;
	return VEIL_OK;
}

/* Wipes len bytes at p, if any, and frees it (malloc'd memory). */
static void
wipe_free(void *p, size_t len)
{
	if (p != NULL)
		sodium_memzero(p, len);
	free(p);
}

void
loadgen_pool_free(loadgen_pool *pool)
{
	if (pool == NULL)
		return;
	const size_t items = pool->plan.frames * pool->plan.batch;
	if (pool->frames != NULL)
		for (size_t f = 0; f < pool->plan.frames; f++)
			buf_free(&pool->frames[f]);
	free(pool->frames);
	buf_free(&pool->sending);
	free(pool->request_ids);
	sodium_free(pool->exchanges); /* wipes */
	free(pool->indices);
	free(pool->registered);
	sodium_free(pool->blinds); /* NULL ok, as for free() */
	wipe_free(pool->blinded, items * pool->ne);
	wipe_free(pool->plain, pool->plain_cap);
	wipe_free(pool->handles, pool->plan.batch * sizeof(*pool->handles));
	free(pool->inputs);
	free(pool->input_lens);
	free(pool->evaluated);
	sodium_free(pool->outputs);
	oprf_ctx_free(pool->ctx);
	free(pool);
}

size_t
loadgen_pool_frames(const loadgen_pool *pool)
{
	return pool->plan.frames;
}

veil_err
loadgen_pool_seal(loadgen_pool *pool, size_t i, buf *frame_out)
{
	buf_reset(frame_out);
	if (pool->peer->anonymous) {
		/* The frame's message with the next token in place of its placeholder. */
		const uint8_t *kept = (const uint8_t *)buf_data(&pool->frames[i]);
		const size_t len = buf_len(&pool->frames[i]), at = PROTO_HEAD_SIZE;
		uint8_t encoded[TOKEN_SIZE];
		token t;
		if (!loadgen_tokens_take(pool->plan.tokens, &t))
			return VEIL_ERR_LIMIT;
		token_encode(&t, encoded);
		sodium_memzero(&t, sizeof(t));
		buf_reset(&pool->sending); /* wipes the last one */
		buf_append(&pool->sending, kept, at);
		buf_append(&pool->sending, encoded, TOKEN_SIZE);
		sodium_memzero(encoded, sizeof(encoded));
		veil_err err =
		        buf_append(&pool->sending, kept + at + TOKEN_SIZE, len - at - TOKEN_SIZE);
		if (err == VEIL_OK)
			err = envelope_seal_anonymous(&pool->exchanges[i], (uint64_t)time(NULL),
			                              NULL,
			                              (const uint8_t *)buf_data(&pool->sending),
			                              buf_len(&pool->sending), frame_out);
		return err;
	}
	return envelope_seal_request_with(&pool->exchanges[i], pool->peer->client_public,
	                                  pool->peer->identity, (uint64_t)time(NULL), NULL,
	                                  (const uint8_t *)buf_data(&pool->frames[i]),
	                                  buf_len(&pool->frames[i]), frame_out);
}

/* The reply's fields that must repeat the request's, or its shape. */
static int
reply_matches(const loadgen_pool *pool, const proto_lookup_reply *r)
{
	return r->suite == pool->info.keys[0].suite && r->mode == served_mode(&pool->info) &&
	       r->key_id == pool->info.keys[0].key_id && r->count == pool->plan.batch &&
	       r->entry_size == (size_t)pool->info.tag_len + pool->info.payload_size &&
	       (r->proof != NULL) == (r->mode == OPRF_MODE_VOPRF);
}

loadgen_verdict
loadgen_pool_classify(loadgen_pool *pool, size_t i, const uint8_t *reply, size_t len,
                      uint16_t *status)
{
	proto_frame frame;
	proto_msg msg;

	*status = 0;
	if (proto_frame_decode(reply, len, &frame) != VEIL_OK)
		return LOADGEN_REPLY_INVALID;
	if (frame.type == PROTO_FRAME_ERROR) {
		*status = frame.error_code;
		return LOADGEN_REPLY_REFUSED;
	}
	if (frame.type != PROTO_FRAME_SEALED_REPLY)
		return LOADGEN_REPLY_INVALID;

	const size_t plain_len = frame.box_len - ENVELOPE_MAC_SIZE;
	if (plain_len > pool->plain_cap) {
		/* Grows to the largest reply once; the old block is wiped. */
		uint8_t *bigger = malloc(plain_len);
		if (bigger == NULL)
			return LOADGEN_REPLY_INVALID;
		wipe_free(pool->plain, pool->plain_cap);
		pool->plain = bigger;
		pool->plain_cap = plain_len;
	}
	/* The same box as envelope_open_reply opens, into the pool's
	 * scratch instead of a buffer of its own. */
	if (crypto_secretbox_open_easy(pool->plain, frame.box, frame.box_len, frame.nonce,
	                               pool->exchanges[i].reply_key) != 0 ||
	    proto_msg_decode(pool->plain, plain_len, &msg) != VEIL_OK ||
	    memcmp(msg.request_id, pool->request_ids[i], PROTO_REQUEST_ID_SIZE) != 0)
		return LOADGEN_REPLY_INVALID;
	if (msg.type == PROTO_MSG_ERROR) {
		*status = msg.u.error.code;
		return LOADGEN_REPLY_REFUSED;
	}
	if (msg.type != PROTO_MSG_LOOKUP_REPLY || !reply_matches(pool, &msg.u.lookup_reply))
		return LOADGEN_REPLY_INVALID;
	return LOADGEN_REPLY_OK;
}

/* Sets out->failure and returns err. */
static veil_err
check_failed(loadgen_check *out, veil_err err, const char *why)
{
	out->failure = why;
	return err;
}

veil_err
loadgen_pool_check(loadgen_pool *pool, size_t i, const uint8_t *reply, size_t len,
                   loadgen_check *out)
{
	const size_t batch = pool->plan.batch, first = i * batch;
	const size_t ne = pool->ne, ns = pool->ns, nh = pool->nh;
	const size_t tag_len = pool->info.tag_len;
	uint16_t status = 0;
	proto_msg msg;
	buf inner;
	veil_err err;

	memset(out, 0, sizeof(*out));
	buf_init(&inner);
	err = envelope_open_reply(reply, len, &pool->exchanges[i], &inner, &status);
	if (err != VEIL_OK) {
		err = check_failed(out, err == VEIL_ERR_NOMEM ? err : VEIL_ERR_PARSE,
		                   err == VEIL_ERR_VERIFY ? "reply not sealed by the pinned key"
		                                          : "malformed reply frame");
		goto out;
	}
	if (status != 0) {
		err = check_failed(out, VEIL_ERR_UNSUPPORTED, "the server refused the request");
		goto out;
	}
	if (proto_msg_decode((const uint8_t *)buf_data(&inner), buf_len(&inner), &msg) != VEIL_OK) {
		err = check_failed(out, VEIL_ERR_PARSE, "malformed reply");
		goto out;
	}
	if (memcmp(msg.request_id, pool->request_ids[i], PROTO_REQUEST_ID_SIZE) != 0) {
		err = check_failed(out, VEIL_ERR_PARSE, "reply answers another request");
		goto out;
	}
	if (msg.type == PROTO_MSG_ERROR) {
		err = check_failed(out, VEIL_ERR_UNSUPPORTED, "the server refused the request");
		goto out;
	}
	const proto_lookup_reply *r = &msg.u.lookup_reply;
	if (msg.type != PROTO_MSG_LOOKUP_REPLY || !reply_matches(pool, r)) {
		err = check_failed(out, VEIL_ERR_PARSE, "lookup reply does not match the request");
		goto out;
	}

	for (size_t j = 0; j < batch; j++) {
		const uint8_t *element, *entries;
		pool->input_lens[j] = loadgen_handle(pool->handles[j], pool->registered[first + j],
		                                     pool->indices[first + j]);
		pool->inputs[j] = (const uint8_t *)pool->handles[j];
		proto_lookup_reply_item(r, j, &element, &entries);
		memcpy(pool->evaluated + j * ne, element, ne);
	}
	const int verifiable = r->mode == OPRF_MODE_VOPRF;
	err = oprf_finalize(pool->ctx, verifiable ? pool->info.keys[0].pk : NULL, NULL, 0, batch,
	                    pool->inputs, pool->input_lens, pool->blinds + first * ns,
	                    pool->blinded + first * ne, pool->evaluated, r->proof, pool->outputs);
	if (err != VEIL_OK) {
		err = check_failed(out, err == VEIL_ERR_VERIFY ? VEIL_ERR_VERIFY : VEIL_ERR_PARSE,
		                   err == VEIL_ERR_VERIFY ? "the server's proof does not verify"
		                                          : "the server sent an invalid element");
		goto out;
	}
	out->slots = r->slots;
	for (size_t j = 0; j < batch; j++) {
		const uint8_t *element, *entries;
		uint8_t tag[ENTRY_MAX_TAG_SIZE];
		int found = 0;

		proto_lookup_reply_item(r, j, &element, &entries);
		if ((err = entry_tag(pool->outputs + j * nh, nh, tag, tag_len)) != VEIL_OK) {
			err = check_failed(out, err, "cannot derive a tag");
			goto out;
		}
		for (size_t s = 0; s < r->slots && !found; s++)
			found = memcmp(entries + s * r->entry_size, tag, tag_len) == 0;
		out->items++;
		out->registered += pool->registered[first + j];
		out->wrong += found != pool->registered[first + j];
	}
	err = VEIL_OK;
out:
	sodium_memzero(pool->outputs, batch * nh);
	buf_free(&inner);
	return err;
}

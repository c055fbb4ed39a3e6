/*
 * libveil-client: normalize, bucket, blind, ask, unblind, match.
 */
#include "veil_client.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "clock.h"
#include "entry.h"
#include "envelope.h"
#include "exchange.h"
#include "file.h"
#include "msg.h"
#include "normalize.h"
#include "oprf.h"
#include "tokens.h"
#include "transport.h"

#define DEFAULT_TIMEOUT_MS  10000
#define DEFAULT_DEADLINE_MS 30000
/* The privacy floor's defaults: buckets of at least 10^4 of 10^10 handles. */
#define DEFAULT_MIN_BUCKET  10000ULL
#define DEFAULT_UNIVERSE    10000000000ULL

/* The most server URLs a client takes: server_url and its fallbacks. */
#define MAX_SERVER_URLS 64
/* The most LOOKUP requests of one lookup in flight at once, each on a
 * connection of its own (a lane); a lookup of more batches sends them in
 * waves of this many. A veild queues 4 requests per worker thread by
 * default before it answers BUSY, so that even one of a single thread
 * takes a whole wave; after a BUSY the lookup sends fewer at once. */
#define CLIENT_LANES    4

struct veil_client {
	char *url;   /* the server asked now: urls[url_at] */
	char **urls; /* server_url, then the fallback URLs */
	size_t url_count, url_at;
	char *region;
	int timeout_ms;
	int deadline_ms;
	unsigned prefix_bits;
	unsigned floor_bits; /* the most prefix bits the privacy floor allows */
	uint64_t min_bucket, universe;
	oprf_mode mode; /* the pinned mode */
	size_t pin_count;
	veil_oprf_key pins[VEIL_MAX_OPRF_KEYS];
	const proto_key_info *key; /* the pinned key INFO offers, in info */
	uint8_t server_key[VEIL_KEY_SIZE];
	uint8_t client_public[VEIL_KEY_SIZE];
	uint8_t *client_secret; /* guarded */
	/* The key proving client_public to server_key (guarded): computed on
	 * the first request, then reused, since neither key changes. */
	uint8_t *identity;
	int have_identity;
	transport_client *transport;
	/* The connections of lanes 1 and up, opened on the first need, to
	 * the server asked now; lane 0's is transport. */
	transport_client *lanes[CLIENT_LANES - 1];
	unsigned threads;        /* worker threads of a lookup; 0: the online cores */
	const oprf_suite *suite; /* the pins' */
	uint8_t suite_id;        /* its wire number */
	oprf_ctx *ctx;
	int have_info;
	proto_info_reply info;
	unsigned refresh_seconds;
	/* Tokens mode: the token file, and the challenge its tokens must
	 * answer; during a lookup, a token taken and not yet sent (have_token). */
	veil_auth auth;
	char *token_file;
	uint8_t challenge_digest[TOKEN_DIGEST_SIZE];
	int have_token;
	token token;
	struct cache_entry *cache; /* sorted by handle */
	size_t cache_count, cache_cap;
	char last_error[160];
};

/* What the registry says of one handle. */
typedef struct answer {
	int registered;
	int has_payload;
	size_t payload_len;
	uint8_t payload[VEIL_MAX_PAYLOAD];
} answer;

/* A remembered answer. */
typedef struct cache_entry {
	char handle[VEIL_MAX_HANDLE + 1];
	answer answer;
	int64_t checked_at; /* monotonic seconds */
} cache_entry;

/* One distinct handle of a lookup and the contacts that map to it. */
typedef struct pending {
	const char *handle; /* points into a result */
	size_t handle_len;
	uint32_t bucket;
	uint32_t prefix; /* the bucket's top bits sent */
	int cached;      /* answered from the cache, not asked */
	answer answer;
} pending;

static void set_error(veil_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_error(veil_client *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->last_error, sizeof(c->last_error), fmt, ap);
	va_end(ap);
}

veil_err
veil_client_public_key(const uint8_t secret[VEIL_KEY_SIZE], uint8_t public_out[VEIL_KEY_SIZE])
{
	if (secret == NULL || public_out == NULL)
		return VEIL_ERR_ARGUMENT;
	if (veil_crypto_init() != VEIL_OK)
		return VEIL_ERR_CRYPTO;
	return crypto_scalarmult_base(public_out, secret) == 0 ? VEIL_OK : VEIL_ERR_CRYPTO;
}

void
veil_client_free(veil_client *c)
{
	if (c == NULL)
		return;
	transport_client_close(c->transport);
	for (size_t i = 0; i < CLIENT_LANES - 1; i++)
		transport_client_close(c->lanes[i]);
	oprf_ctx_free(c->ctx);
	if (c->client_secret != NULL)
		sodium_free(c->client_secret);
	if (c->identity != NULL)
		sodium_free(c->identity);
	if (c->cache != NULL) {
		sodium_memzero(c->cache, c->cache_cap * sizeof(*c->cache));
		free(c->cache);
	}
	for (size_t i = 0; c->urls != NULL && i < c->url_count; i++)
		free(c->urls[i]);
	free(c->urls);
	free(c->region);
	free(c->token_file);
	sodium_memzero(c, sizeof(*c));
	free(c);
}

/* The suite a pin names (empty: ristretto255-SHA512), or NULL when it names none served. */
static const oprf_suite *
pin_suite(const veil_oprf_key *pin)
{
	if (memchr(pin->suite, '\0', sizeof(pin->suite)) == NULL)
		return NULL;
	const oprf_suite *suite =
	        oprf_suite_by_name(pin->suite[0] != '\0' ? pin->suite : "ristretto255-SHA512");
	return proto_suite_id(suite) != 0 ? suite : NULL;
}

veil_err
veil_client_new(const veil_client_options *options, veil_client **out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (options == NULL || options->server_url == NULL || options->timeout_ms < 0 ||
	    options->prefix_bits > PROTO_MAX_PREFIX_BITS ||
	    (options->fallback_url_count > 0 && options->fallback_urls == NULL) ||
	    options->fallback_url_count >= MAX_SERVER_URLS)
		return VEIL_ERR_ARGUMENT;
	for (size_t i = 0; i < options->fallback_url_count; i++)
		if (options->fallback_urls[i] == NULL)
			return VEIL_ERR_ARGUMENT;
	const int tokens = options->auth == VEIL_AUTH_TOKENS;
	if (tokens ? options->token_file == NULL || !token_name_valid(options->token_issuer) ||
	                     !token_name_valid(options->token_origin)
	           : options->auth != VEIL_AUTH_KEYS || options->client_secret == NULL)
		return VEIL_ERR_ARGUMENT;
	if (options->region != NULL && !normalize_region_valid(options->region))
		return VEIL_ERR_ARGUMENT;
	if ((options->mode != VEIL_MODE_OPRF && options->mode != VEIL_MODE_VOPRF) ||
	    (options->require_verifiable && options->mode != VEIL_MODE_VOPRF) ||
	    options->oprf_key_count == 0 || options->oprf_key_count > VEIL_MAX_OPRF_KEYS)
		return VEIL_ERR_ARGUMENT;
	for (size_t i = 0; i < options->oprf_key_count; i++)
		for (size_t j = 0; j < i; j++)
			if (options->oprf_keys[i].key_id == options->oprf_keys[j].key_id)
				return VEIL_ERR_ARGUMENT;
	if (veil_crypto_init() != VEIL_OK)
		return VEIL_ERR_CRYPTO;
	const oprf_suite *suite = pin_suite(&options->oprf_keys[0]);
	for (size_t i = 0; i < options->oprf_key_count; i++) {
		const veil_oprf_key *pin = &options->oprf_keys[i];
		if (suite == NULL || pin_suite(pin) != suite ||
		    (pin->public_key_len != 0 &&
		     pin->public_key_len != oprf_suite_element_size(suite)))
			return VEIL_ERR_ARGUMENT;
	}
	const uint64_t min_bucket = options->min_bucket ? options->min_bucket : DEFAULT_MIN_BUCKET;
	const uint64_t universe = options->universe ? options->universe : DEFAULT_UNIVERSE;
	if (min_bucket > universe)
		return VEIL_ERR_ARGUMENT;

	veil_err err = VEIL_ERR_NOMEM;
	veil_client *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return VEIL_ERR_NOMEM;
	if ((c->urls = calloc(options->fallback_url_count + 1, sizeof(*c->urls))) == NULL)
		goto fail;
	for (; c->url_count <= options->fallback_url_count; c->url_count++) {
		const char *url = c->url_count == 0 ? options->server_url
		                                    : options->fallback_urls[c->url_count - 1];
		if ((c->urls[c->url_count] = strdup(url)) == NULL)
			goto fail;
	}
	c->url = c->urls[0];
	c->region = options->region != NULL ? strdup(options->region) : NULL;
	if (options->region != NULL && c->region == NULL)
		goto fail;
	memcpy(c->server_key, options->server_key, VEIL_KEY_SIZE);
	c->auth = options->auth;
	if (tokens) {
		/* No client key: nothing sent names this client. */
		if ((c->token_file = strdup(options->token_file)) == NULL ||
		    (err = veil_tokens_challenge_digest(options->token_issuer,
		                                        options->token_origin,
		                                        c->challenge_digest)) != VEIL_OK)
			goto fail;
	} else {
		c->client_secret = sodium_malloc(VEIL_KEY_SIZE);
		c->identity = sodium_malloc(ENVELOPE_KEY_SIZE);
		if (c->client_secret == NULL || c->identity == NULL)
			goto fail;
		memcpy(c->client_secret, options->client_secret, VEIL_KEY_SIZE);
		if ((err = veil_client_public_key(c->client_secret, c->client_public)) != VEIL_OK)
			goto fail;
	}
	c->timeout_ms = options->timeout_ms ? options->timeout_ms : DEFAULT_TIMEOUT_MS;
	c->deadline_ms = options->deadline_ms > 0 ? options->deadline_ms : DEFAULT_DEADLINE_MS;
	c->refresh_seconds = options->refresh_seconds;
	c->prefix_bits = options->prefix_bits;
	/* floor(log2(universe / min_bucket)): the bits that keep min_bucket. */
	c->min_bucket = min_bucket;
	c->universe = universe;
	c->floor_bits = (unsigned)(63 - __builtin_clzll(universe / min_bucket));
	if (c->floor_bits > PROTO_MAX_PREFIX_BITS)
		c->floor_bits = PROTO_MAX_PREFIX_BITS;
	c->mode = options->mode == VEIL_MODE_VOPRF ? OPRF_MODE_VOPRF : OPRF_MODE_OPRF;
	c->pin_count = options->oprf_key_count;
	memcpy(c->pins, options->oprf_keys, c->pin_count * sizeof(c->pins[0]));
	c->suite = suite;
	c->suite_id = proto_suite_id(suite);
	if ((err = oprf_ctx_new(c->suite, c->mode, &c->ctx)) != VEIL_OK)
		goto fail;
	if ((err = transport_client_open(c->url, c->timeout_ms, PROTO_MAX_REPLY_SIZE,
	                                 &c->transport)) != VEIL_OK)
		goto fail;
	*out = c;
	return VEIL_OK;
fail:
	veil_client_free(c);
	return err;
}

const char *
veil_client_last_error(const veil_client *c)
{
	return c->last_error;
}

/* The identity key of keys mode, computed on the first request; nothing in tokens mode. */
static veil_err
ensure_identity(veil_client *c)
{
	if (c->auth == VEIL_AUTH_TOKENS || c->have_identity)
		return VEIL_OK;
	const veil_err err = envelope_identity_key(c->server_key, c->client_secret, c->identity);
	c->have_identity = err == VEIL_OK;
	return err;
}

/* This client as the peer of a request on transport, its error text into error. */
static client_peer
peer_of(const veil_client *c, transport_client *transport, char *error, size_t error_size)
{
	const int anonymous = c->auth == VEIL_AUTH_TOKENS;
	return (client_peer){
	        .transport = transport,
	        .url = c->url,
	        .server_key = c->server_key,
	        .client_public = anonymous ? NULL : c->client_public,
	        .identity = anonymous ? NULL : c->identity,
	        .error = error,
	        .error_size = error_size,
	};
}

/*
 * client_exchange() with this client: a SEALED frame under its key, or in
 * tokens mode a SEALED_ANONYMOUS one. The identity key is computed on
 * the first request.
 */
static veil_err
exchange(veil_client *c, const buf *inner, const uint8_t *request_id, buf *frame, buf *reply,
         buf *reply_inner, proto_msg *msg, client_outcome *outcome)
{
	memset(outcome, 0, sizeof(*outcome));
	const veil_err err = ensure_identity(c);
	if (err != VEIL_OK)
		return err;
	const client_peer peer = peer_of(c, c->transport, c->last_error, sizeof(c->last_error));
	return client_exchange(&peer, inner, request_id, frame, reply, reply_inner, msg, outcome);
}

/* Asks INFO and keeps the answer. */
static veil_err
fetch_info(veil_client *c, buf *inner, buf *frame, buf *reply, buf *reply_inner)
{
	uint8_t request_id[PROTO_REQUEST_ID_SIZE];
	proto_msg msg;
	client_outcome outcome;

	randombytes_buf(request_id, sizeof(request_id));
	buf_reset(inner);
	proto_encode_info(inner, request_id);
	veil_err err = exchange(c, inner, request_id, frame, reply, reply_inner, &msg, &outcome);
	if (err != VEIL_OK)
		return err;
	if (msg.type != PROTO_MSG_INFO_REPLY) {
		set_error(c, "%s", "server answered INFO with another message");
		return VEIL_ERR_PARSE;
	}
	/* Only what was pinned: the mode, and a key of a pinned id with
	 * the pinned public key (INFO lists the current key first). */
	const proto_info_reply *info = &msg.u.info_reply;
	const uint8_t mode_bit =
	        c->mode == OPRF_MODE_VOPRF ? PROTO_MODE_BIT_VOPRF : PROTO_MODE_BIT_OPRF;
	int chosen = -1;
	for (size_t i = 0; i < info->key_count; i++) {
		const proto_key_info *k = &info->keys[i];
		const veil_oprf_key *pin = NULL;
		for (size_t j = 0; j < c->pin_count && pin == NULL; j++)
			if (c->pins[j].key_id == k->key_id)
				pin = &c->pins[j];
		if (pin == NULL)
			continue;
		if (k->suite != c->suite_id) {
			const oprf_suite *offered = proto_suite(k->suite);
			set_error(c, "server's OPRF key %u is of suite %s, not the pinned %s",
			          (unsigned)k->key_id,
			          offered != NULL ? oprf_suite_name(offered) : "unknown",
			          oprf_suite_name(c->suite));
			return VEIL_ERR_VERIFY;
		}
		const size_t ne = oprf_suite_element_size(c->suite);
		if (k->pk_len != ne || sodium_memcmp(k->pk, pin->public_key, ne) != 0) {
			set_error(c, "server's OPRF key %u is not the one pinned for that id",
			          (unsigned)k->key_id);
			return VEIL_ERR_VERIFY;
		}
		if (!(k->modes & mode_bit)) {
			set_error(c, "server serves key %u in another mode than the pinned %s",
			          (unsigned)k->key_id,
			          c->mode == OPRF_MODE_VOPRF ? "voprf" : "oprf");
			return VEIL_ERR_UNSUPPORTED;
		}
		if (chosen < 0)
			chosen = (int)i;
	}
	if (chosen < 0) {
		set_error(c, "%s",
		          "server offers no pinned OPRF key (rotated? pin the keys veil-admin info "
		          "prints now)");
		return VEIL_ERR_UNSUPPORTED;
	}
	c->info = *info;
	c->key = &c->info.keys[chosen];
	c->have_info = 1;
	return VEIL_OK;
}

/* What the token file's trouble means, as the last error. */
static void
token_file_error(veil_client *c, veil_err err)
{
	if (err == VEIL_ERR_LIMIT)
		set_error(c, "%s", "no tokens left: run veil tokens fetch");
	else
		tokens_file_describe(c->token_file, err, c->last_error, sizeof(c->last_error));
}

/*
 * Tokens mode: the token for the next LOOKUP_TOKEN into *t, the one held
 * (c->token) if any, else the oldest of the pinned challenge, taken out
 * of the token file. Errors: those of tokens_file_take, as the last error.
 */
static veil_err
take_token(veil_client *c, token *t)
{
	if (c->have_token) {
		*t = c->token;
		sodium_memzero(&c->token, sizeof(c->token));
		c->have_token = 0;
		return VEIL_OK;
	}
	const veil_err err = tokens_file_take(c->token_file, c->challenge_digest, t);
	if (err != VEIL_OK)
		token_file_error(c, err);
	return err;
}

/* Puts a token that was never sent back into the token file, and wipes
 * it. Should that fail, the token is lost: it is never sent twice. */
static void
give_back(veil_client *c, token *t)
{
	if (tokens_file_give_back(c->token_file, t) != VEIL_OK) {
		/* lost, and so never sent twice */
	}
	sodium_memzero(t, sizeof(*t));
}

/* ---- A lookup's batches: blinded and finalized on every core, sent at once ---- */

/* A dummy item's input: random bytes, so that its blinded element is a
 * fresh random point, as every real one is. */
#define DUMMY_INPUT_SIZE 32

/* Items of one blinding or finalizing task, and contacts of one
 * normalizing task: enough work per task to outweigh handing it out. */
#define CHUNK_ITEMS     16
#define NORMALIZE_CHUNK 32
/* Items of one finalizing task: more, since its blinds are inverted at
 * once (one inversion a task), yet a wave's batches still make several
 * tasks for each core. */
#define FINALIZE_CHUNK  64

/*
 * One LOOKUP of a wave: count real items (items, in the lookup's array)
 * in a request of n, its size class, filled with dummies (random inputs
 * under random prefixes), all in a random order: sent k is item order[k],
 * or a dummy when order[k] >= count. The server evaluates every item and
 * a VOPRF proof covers them all; only the real ones are matched.
 */
typedef struct batch {
	pending *items;
	size_t count, n;
	/* The secrets, blinds (n * Ns) then outputs (n * Nh), share one
	 * guarded region. */
	uint8_t *secrets, *blinds, *outputs;
	uint8_t *blinded, *evaluated, *dummy_inputs;
	uint32_t *prefixes;
	size_t *order;
	const uint8_t **inputs;
	size_t *input_lens;
	uint8_t request_id[PROTO_REQUEST_ID_SIZE];
	int have_token; /* tokens mode: the token this request carries */
	token token;
	client_peer peer; /* its own connection, and error text */
	buf inner, frame, reply, reply_inner;
	proto_msg msg;
	client_outcome outcome;
	veil_err err; /* VEIL_OK: answered, its items' answers filled */
	char error[sizeof(((veil_client *)0)->last_error)];
} batch;

/* A share of a batch's items for one worker: [begin, end). */
typedef struct chunk {
	batch *batch;
	size_t begin, end;
	int verify; /* the task is the batch's proof, not its items */
	veil_err err;
} chunk;

/* What the workers of one wave share. */
typedef struct wave {
	veil_client *c;
	batch *batches;
	size_t count;
	chunk *chunks;
	size_t chunk_count;
} wave;

/* Tasks [0, count) handed out one at a time to the workers of a job. */
typedef struct parallel_job {
	void (*run)(void *arg, size_t task);
	void *arg;
	size_t count;
	atomic_size_t next;
} parallel_job;

static void *
parallel_worker(void *arg)
{
	parallel_job *job = arg;
	for (size_t task; (task = atomic_fetch_add(&job->next, 1)) < job->count;)
		job->run(job->arg, task);
	return NULL;
}

/*
 * Runs run(arg, task) for every task of [0, count), on up to threads
 * threads, the calling one among them, and returns when all are done.
 * Tasks must not depend on one another. A thread that cannot be started
 * leaves its share to the others: the work is done all the same.
 */
static void
parallel_run(unsigned threads, size_t count, void (*run)(void *arg, size_t task), void *arg)
{
	parallel_job job = {.run = run, .arg = arg, .count = count};
	atomic_init(&job.next, 0);
	pthread_t helpers[VEIL_MAX_THREADS];
	size_t started = 0;
	while (started + 1 < threads && started + 1 < count &&
	       pthread_create(&helpers[started], NULL, parallel_worker, &job) == 0)
		started++;
	parallel_worker(&job);
	for (size_t i = 0; i < started; i++)
		pthread_join(helpers[i], NULL);
}

/* The worker threads a lookup uses: as set, or the online cores. */
static unsigned
worker_threads(const veil_client *c)
{
	if (c->threads != 0)
		return c->threads;
	const long cores = sysconf(_SC_NPROCESSORS_ONLN);
	return cores < 1 ? 1 : cores > VEIL_MAX_THREADS ? VEIL_MAX_THREADS : (unsigned)cores;
}

veil_err
veil_client_set_threads(veil_client *c, unsigned threads)
{
	if (c == NULL || threads > VEIL_MAX_THREADS)
		return VEIL_ERR_ARGUMENT;
	c->threads = threads;
	return VEIL_OK;
}

/* Wipes and frees what batch_prepare() and the exchange left in b. */
static void
batch_release(batch *b)
{
	if (b->secrets != NULL)
		sodium_free(b->secrets); /* wipes */
	free(b->blinded);
	free(b->evaluated);
	free(b->dummy_inputs);
	if (b->prefixes != NULL) /* the contacts' buckets */
		sodium_memzero(b->prefixes, b->n * sizeof(*b->prefixes));
	free(b->prefixes);
	if (b->order != NULL)
		sodium_memzero(b->order, b->n * sizeof(*b->order)); /* which items were real */
	free(b->order);
	free(b->inputs);
	free(b->input_lens);
	sodium_memzero(&b->token, sizeof(b->token));
	buf_free(&b->inner);
	buf_free(&b->frame);
	buf_free(&b->reply);
	buf_free(&b->reply_inner);
}

/*
 * Makes b, of b->count items at b->items, ready to blind: its size class,
 * order, dummies and prefixes of bits bits. VEIL_ERR_NOMEM when memory
 * runs out (batch_release() frees what was had).
 */
static veil_err
batch_prepare(veil_client *c, batch *b, unsigned bits)
{
	const size_t ne = oprf_suite_element_size(c->suite), ns = oprf_suite_scalar_size(c->suite);
	const size_t nh = oprf_suite_output_size(c->suite);
	const size_t n = proto_size_class((uint32_t)b->count, c->info.batch_cap), count = b->count;
	b->n = n;
	b->err = VEIL_ERR_NOMEM;
	buf_init(&b->inner);
	buf_init(&b->frame);
	buf_init(&b->reply);
	buf_init(&b->reply_inner);
	b->secrets = sodium_malloc(n * (ns + nh));
	b->blinded = malloc(n * ne);
	b->evaluated = malloc(n * ne);
	b->dummy_inputs = malloc((n - count) * DUMMY_INPUT_SIZE + 1);
	b->prefixes = malloc(n * sizeof(*b->prefixes));
	b->order = malloc(n * sizeof(*b->order));
	b->inputs = malloc(n * sizeof(*b->inputs));
	b->input_lens = malloc(n * sizeof(*b->input_lens));
	if (b->secrets == NULL || b->blinded == NULL || b->evaluated == NULL ||
	    b->dummy_inputs == NULL || b->prefixes == NULL || b->order == NULL ||
	    b->inputs == NULL || b->input_lens == NULL)
		return VEIL_ERR_NOMEM;
	b->blinds = b->secrets;
	b->outputs = b->secrets + n * ns;
	for (size_t k = 0; k < n; k++)
		b->order[k] = k;
	for (size_t k = n - 1; k > 0; k--) { /* Fisher-Yates */
		const size_t j = randombytes_uniform((uint32_t)k + 1), t = b->order[k];
		b->order[k] = b->order[j];
		b->order[j] = t;
	}
	randombytes_buf(b->dummy_inputs, (n - count) * DUMMY_INPUT_SIZE);
	for (size_t k = 0; k < n; k++) {
		if (b->order[k] < count) {
			pending *item = &b->items[b->order[k]];
			item->prefix = entry_prefix(item->bucket, bits);
			b->inputs[k] = (const uint8_t *)item->handle;
			b->input_lens[k] = item->handle_len;
			b->prefixes[k] = item->prefix;
		} else {
			b->inputs[k] = b->dummy_inputs + (b->order[k] - count) * DUMMY_INPUT_SIZE;
			b->input_lens[k] = DUMMY_INPUT_SIZE;
			b->prefixes[k] = entry_prefix(randombytes_random(), bits);
		}
	}
	b->err = VEIL_OK;
	return VEIL_OK;
}

/* A worker's task: blinds the chunk's items. */
static void
blind_chunk(void *arg, size_t task)
{
	const wave *w = arg;
	chunk *ch = &w->chunks[task];
	const batch *b = ch->batch;
	const oprf_suite *suite = w->c->suite;
	const size_t ne = oprf_suite_element_size(suite), ns = oprf_suite_scalar_size(suite);
	for (size_t k = ch->begin; k < ch->end && ch->err == VEIL_OK; k++)
		ch->err = oprf_blind(w->c->ctx, b->inputs[k], b->input_lens[k], NULL,
		                     b->blinds + k * ns, b->blinded + k * ne);
}

/* Matches the real items of the chunk's answered batch, whose outputs
 * are final, against their bucket's entries. */
static veil_err
match_chunk(const veil_client *c, const chunk *ch)
{
	const batch *b = ch->batch;
	const size_t nh = oprf_suite_output_size(c->suite);
	const proto_lookup_reply *r = &b->msg.u.lookup_reply;
	const size_t tag_len = c->info.tag_len, payload_size = c->info.payload_size;
	veil_err err = VEIL_OK;
	for (size_t k = ch->begin; k < ch->end && err == VEIL_OK; k++) {
		if (b->order[k] >= b->count)
			continue; /* a dummy */
		const uint8_t *element, *entries;
		uint8_t tag[ENTRY_MAX_TAG_SIZE];
		proto_lookup_reply_item(r, k, &element, &entries);
		if ((err = entry_tag(b->outputs + k * nh, nh, tag, tag_len)) != VEIL_OK)
			break;
		for (size_t s = 0; s < r->slots; s++) {
			const uint8_t *entry = entries + s * r->entry_size;
			if (memcmp(entry, tag, tag_len) != 0)
				continue;
			answer *a = &b->items[b->order[k]].answer;
			a->registered = 1;
			if (payload_size == ENTRY_SEALED_PAYLOAD_SIZE &&
			    entry_open_payload(b->outputs + k * nh, nh, entry + tag_len, a->payload,
			                       &a->payload_len) == VEIL_OK)
				a->has_payload = 1;
			break;
		}
	}
	return err;
}

/*
 * A worker's task on an answered batch: verifies its proof (a verify
 * chunk, VOPRF mode, one per batch), or finalizes the chunk's items;
 * in OPRF mode it then matches them too. In VOPRF mode the outputs are
 * matched only after the proof held (lookup_wave). Each chunk's items
 * are finalized on their own thread: the proof covers the batch, but
 * unblinding needs only the items' own blinds.
 */
static void
finalize_chunk(void *arg, size_t task)
{
	const wave *w = arg;
	chunk *ch = &w->chunks[task];
	batch *b = ch->batch;
	const veil_client *c = w->c;
	if (b->err != VEIL_OK)
		return;
	const size_t ne = oprf_suite_element_size(c->suite), ns = oprf_suite_scalar_size(c->suite);
	const size_t nh = oprf_suite_output_size(c->suite);
	const proto_lookup_reply *r = &b->msg.u.lookup_reply;
	const size_t at = ch->begin, m = ch->end - ch->begin;
	if (ch->verify) {
		ch->err = oprf_verify_batch(c->ctx, c->key->pk, NULL, 0, b->n, b->blinded,
		                            b->evaluated, r->proof);
		return;
	}
	/* The blinded elements are this client's own: only the server's
	 * evaluated ones need a check, which their multiplication makes. */
	ch->err = oprf_finalize_unverified(c->ctx, NULL, 0, m, b->inputs + at, b->input_lens + at,
	                                   b->blinds + at * ns, b->evaluated + at * ne,
	                                   b->outputs + at * nh);
	if (ch->err == VEIL_OK && c->mode == OPRF_MODE_OPRF)
		ch->err = match_chunk(c, ch);
}

/*
 * VOPRF, after the chunks' errors went to their batches: matches a
 * chunk's items when its batch is sound (its proof held, and every chunk
 * of its items was unblinded).
 */
static void
match_sound_chunk(void *arg, size_t task)
{
	const wave *w = arg;
	chunk *ch = &w->chunks[task];
	if (!ch->verify && ch->batch->err == VEIL_OK)
		ch->err = match_chunk(w->c, ch);
}

/*
 * Cuts the wave's batches into chunks of step items for its workers;
 * with verify set, one verify chunk per batch first (the longest tasks,
 * handed out first). VEIL_ERR_NOMEM.
 */
static veil_err
wave_chunks(wave *w, size_t step, int verify)
{
	size_t total = 0;
	for (size_t i = 0; i < w->count; i++)
		total += (verify != 0) + (w->batches[i].n + step - 1) / step;
	free(w->chunks);
	w->chunk_count = 0;
	if ((w->chunks = calloc(total, sizeof(*w->chunks))) == NULL)
		return VEIL_ERR_NOMEM;
	for (size_t i = 0; i < w->count && verify; i++)
		w->chunks[w->chunk_count++] = (chunk){
		        .batch = &w->batches[i], .begin = 0, .end = w->batches[i].n, .verify = 1};
	for (size_t i = 0; i < w->count; i++) {
		batch *b = &w->batches[i];
		for (size_t at = 0; at < b->n; at += step)
			w->chunks[w->chunk_count++] =
			        (chunk){.batch = b,
			                .begin = at,
			                .end = at + step < b->n ? at + step : b->n};
	}
	return VEIL_OK;
}

/* The error of a request that went out on the wire, to say in b->error. */
static void
batch_error(batch *b, veil_err err, const char *text)
{
	b->err = err;
	snprintf(b->error, sizeof(b->error), "%s", text);
}

/* The first failed chunk of each batch still sound fails the batch, said as the error it is. */
static void
chunk_errors_to_batches(const wave *w)
{
	for (size_t i = 0; i < w->chunk_count; i++) {
		batch *b = w->chunks[i].batch;
		const veil_err e = w->chunks[i].err;
		if (e == VEIL_OK || b->err != VEIL_OK)
			continue;
		if (e == VEIL_ERR_VERIFY)
			batch_error(b, VEIL_ERR_VERIFY, "server's proof does not verify");
		else if (e == VEIL_ERR_ELEMENT || e == VEIL_ERR_SCALAR)
			batch_error(b, VEIL_ERR_PARSE, "server sent an invalid element");
		else
			batch_error(b, e, "");
	}
}

/* The connection of lane i of a wave: the client's own for lane 0, else
 * one opened on the first need to the server asked now. */
static veil_err
lane_transport(veil_client *c, size_t i, transport_client **out)
{
	if (i == 0) {
		*out = c->transport;
		return VEIL_OK;
	}
	if (c->lanes[i - 1] == NULL) {
		const veil_err err = transport_client_open(c->url, c->timeout_ms,
		                                           PROTO_MAX_REPLY_SIZE, &c->lanes[i - 1]);
		if (err != VEIL_OK)
			return err;
	}
	*out = c->lanes[i - 1];
	return VEIL_OK;
}

/* Closes the extra connections (those of lanes past the first). */
static void
lanes_close(veil_client *c)
{
	for (size_t i = 0; i < CLIENT_LANES - 1; i++) {
		transport_client_close(c->lanes[i]);
		c->lanes[i] = NULL;
	}
}

/* A thread of a wave: one batch's request and its reply. */
static void *
exchange_thread(void *arg)
{
	batch *b = arg;
	b->err = client_exchange(&b->peer, &b->inner, b->request_id, &b->frame, &b->reply,
	                         &b->reply_inner, &b->msg, &b->outcome);
	return NULL;
}

/*
 * Checks b's reply against its request and takes its evaluated elements;
 * in tokens mode puts back or wipes its token, and names a refused one.
 */
static void
batch_reply(veil_client *c, batch *b)
{
	if (b->have_token) {
		/* Once a frame carrying it has left, a token is spent whatever
		 * comes back, even an unsealed BUSY, which anyone on the path
		 * can forge: the same nonce twice would link the two requests. */
		if (!b->outcome.sent)
			give_back(c, &b->token);
		sodium_memzero(&b->token, sizeof(b->token));
		b->have_token = 0;
		if (b->err == VEIL_ERR_UNSUPPORTED && b->outcome.status == PROTO_STATUS_TOKEN_SPENT)
			batch_error(
			        b, VEIL_ERR_PERMISSION,
			        "token refused: spent (redeemed before: was the token file copied "
			        "or restored?)");
		if (b->err == VEIL_ERR_UNSUPPORTED &&
		    b->outcome.status == PROTO_STATUS_TOKEN_INVALID)
			batch_error(
			        b, VEIL_ERR_PERMISSION,
			        "token refused: invalid (of a retired issuer key, or for another "
			        "issuer or origin: run veil tokens fetch)");
	}
	if (b->err != VEIL_OK)
		return;
	const proto_lookup_reply *r = &b->msg.u.lookup_reply;
	const size_t ne = oprf_suite_element_size(c->suite);
	if (b->msg.type != PROTO_MSG_LOOKUP_REPLY || r->suite != c->suite_id ||
	    r->mode != c->mode || r->key_id != c->key->key_id || r->count != b->n ||
	    r->entry_size != c->info.tag_len + c->info.payload_size) {
		batch_error(b, VEIL_ERR_PARSE, "lookup reply does not match the request");
		return;
	}
	/* The decoder and the mode check above already refuse this; kept so
	 * that no later change lets an unproven answer through. */
	if (c->mode == OPRF_MODE_VOPRF && r->proof == NULL) {
		batch_error(b, VEIL_ERR_VERIFY,
		            "lookup reply without a proof from a VOPRF registry");
		return;
	}
	for (size_t k = 0; k < b->n; k++) {
		const uint8_t *element, *entries;
		proto_lookup_reply_item(r, k, &element, &entries);
		memcpy(b->evaluated + k * ne, element, ne);
	}
}

/*
 * Looks up the wave's batches (count of them, at most CLIENT_LANES, their
 * items and counts set) under prefixes of bits bits: blinds them all on
 * the worker threads, sends them at once, each on a connection of its
 * own, and finalizes the answered ones on the worker threads. Each batch
 * ends with its own err: VEIL_OK when answered, its items' answers
 * filled. Returns VEIL_OK when all were answered; else the error of the
 * first that was not, its wire status in *status and its description as
 * the client's last error. An error before anything was sent (memory, no
 * token for the first request) is returned with every batch failed. In
 * tokens mode each request takes a token first; when they run out, the
 * requests that have one are sent, the others fail with the token file's
 * error. Tokens never sent go back to the file.
 */
static veil_err
lookup_wave(veil_client *c, batch *batches, size_t count, unsigned bits, uint16_t *status)
{
	const int tokens = c->auth == VEIL_AUTH_TOKENS;
	const unsigned threads = worker_threads(c);
	wave w = {.c = c, .batches = batches, .count = count};
	veil_err err = VEIL_OK;
	*status = 0;
	for (size_t i = 0; i < count; i++)
		if ((err = batch_prepare(c, &batches[i], bits)) != VEIL_OK)
			goto out;
	if ((err = wave_chunks(&w, CHUNK_ITEMS, 0)) != VEIL_OK)
		goto out;
	parallel_run(threads, w.chunk_count, blind_chunk, &w);
	for (size_t i = 0; i < w.chunk_count; i++)
		if ((err = w.chunks[i].err) != VEIL_OK)
			goto out;
	if ((err = ensure_identity(c)) != VEIL_OK)
		goto out;
	/* A token per request; when they run out, the requests that have one
	 * still go, and those after fail as the token file says. */
	for (size_t i = 0; i < count && tokens; i++) {
		if ((err = take_token(c, &batches[i].token)) != VEIL_OK && i == 0)
			goto out;
		if (err != VEIL_OK) {
			for (size_t j = i; j < count; j++)
				batch_error(&batches[j], err, c->last_error);
			err = VEIL_OK;
			break;
		}
		batches[i].have_token = 1;
	}
	for (size_t i = 0; i < count; i++) {
		batch *b = &batches[i];
		transport_client *t = NULL;
		if (b->err != VEIL_OK)
			continue; /* no token */
		randombytes_buf(b->request_id, sizeof(b->request_id));
		if (tokens)
			proto_encode_lookup_token(&b->inner, b->request_id, &b->token, c->suite_id,
			                          (uint8_t)c->mode, c->key->key_id, (uint8_t)bits,
			                          (uint16_t)b->n, b->prefixes, b->blinded);
		else
			proto_encode_lookup(&b->inner, b->request_id, c->suite_id, (uint8_t)c->mode,
			                    c->key->key_id, (uint8_t)bits, (uint16_t)b->n,
			                    b->prefixes, b->blinded);
		if ((err = buf_error(&b->inner)) != VEIL_OK)
			goto out;
		if ((b->err = lane_transport(c, i, &t)) != VEIL_OK)
			snprintf(b->error, sizeof(b->error), "transport: %s", transport_strerror());
		b->peer = peer_of(c, t, b->error, sizeof(b->error));
	}
	/* The requests go out together; lane 0's is this thread's. */
	pthread_t senders[CLIENT_LANES];
	int started[CLIENT_LANES] = {0};
	for (size_t i = 1; i < count; i++)
		if (batches[i].err == VEIL_OK)
			started[i] = pthread_create(&senders[i], NULL, exchange_thread,
			                            &batches[i]) == 0;
	for (size_t i = 0; i < count; i++)
		if (batches[i].err == VEIL_OK && !started[i])
			exchange_thread(&batches[i]);
	for (size_t i = 1; i < count; i++)
		if (started[i])
			pthread_join(senders[i], NULL);
	for (size_t i = 0; i < count; i++)
		batch_reply(c, &batches[i]);

	if ((err = wave_chunks(&w, FINALIZE_CHUNK, c->mode == OPRF_MODE_VOPRF)) != VEIL_OK)
		goto out;
	parallel_run(threads, w.chunk_count, finalize_chunk, &w);
	chunk_errors_to_batches(&w);
	/* VOPRF: a batch's outputs count once its proof held (its verify
	 * chunk came out VEIL_OK, as did every chunk of its items). */
	if (c->mode == OPRF_MODE_VOPRF) {
		parallel_run(threads, w.chunk_count, match_sound_chunk, &w);
		chunk_errors_to_batches(&w);
	}
	for (size_t i = 0; i < count; i++) {
		if (batches[i].err == VEIL_OK)
			continue;
		err = batches[i].err;
		*status = batches[i].outcome.status;
		set_error(c, "%s", batches[i].error);
		break;
	}
out:
	for (size_t i = 0; i < count; i++) {
		if (err != VEIL_OK && batches[i].err == VEIL_OK && !batches[i].outcome.sent)
			batches[i].err = err; /* never sent, not answered */
		if (batches[i].have_token)    /* never sent */
			give_back(c, &batches[i].token);
		batches[i].have_token = 0;
		batch_release(&batches[i]);
	}
	free(w.chunks);
	return err;
}

/*
 * The prefix bits to reveal: the least of the server's advice, the
 * caller's choice and the privacy floor, so that no server can make this
 * client reveal more. VEIL_ERR_UNSUPPORTED when that is fewer than the
 * server accepts.
 */
static veil_err
prefix_bits_to_reveal(veil_client *c, unsigned *bits_out)
{
	unsigned bits = c->info.p_recommended;
	if (c->prefix_bits != 0 && c->prefix_bits < bits)
		bits = c->prefix_bits;
	if (c->floor_bits < bits)
		bits = c->floor_bits;
	*bits_out = bits;
	if (bits >= c->info.p_min)
		return VEIL_OK;
	if (c->floor_bits < c->info.p_min)
		set_error(c,
		          "the privacy floor (buckets of %llu of %llu handles) allows at most %u "
		          "prefix bits; the server needs at least %u",
		          (unsigned long long)c->min_bucket, (unsigned long long)c->universe,
		          c->floor_bits, c->info.p_min);
	else
		set_error(c, "prefix of %u bits below the server's least, %u", bits, c->info.p_min);
	return VEIL_ERR_UNSUPPORTED;
}

static int64_t
monotonic_ms(void)
{
	return (int64_t)(clock_monotonic_seconds() * 1000.0);
}

/* client_backoff(), with the message when it gives up. */
static int
backoff(veil_client *c, double deadline, unsigned *tries)
{
	if (client_backoff(deadline, tries) == 0)
		return 0;
	set_error(c, "server busy; gave up after %d ms of retries", c->deadline_ms);
	return -1;
}

/*
 * After a request that got no reply (err VEIL_ERR_TIMEOUT or
 * VEIL_ERR_TRANSPORT), with fallback URLs: moves to the next server,
 * round robin, on a fresh connection, and returns 0 for the request to be
 * made again (anew: freshly blinded, and in tokens mode with a new
 * token). Once every server has been tried, each further move waits as
 * client_backoff() does. Returns -1, staying put, for any other error,
 * without fallbacks, or when the deadline would pass (the error stands).
 */
static int
fail_over(veil_client *c, veil_err err, double deadline, unsigned *moves, unsigned *tries)
{
	if ((err != VEIL_ERR_TIMEOUT && err != VEIL_ERR_TRANSPORT) || c->url_count < 2 ||
	    clock_monotonic_seconds() >= deadline)
		return -1;
	if (++*moves >= c->url_count && client_backoff(deadline, tries) != 0)
		return -1;
	const size_t next = (c->url_at + 1) % c->url_count;
	transport_client *t = NULL;
	if (transport_client_open(c->urls[next], c->timeout_ms, PROTO_MAX_REPLY_SIZE, &t) !=
	    VEIL_OK)
		return -1;
	transport_client_close(c->transport);
	lanes_close(c);
	c->transport = t;
	c->url_at = next;
	c->url = c->urls[next];
	return 0;
}

static int
compare_pending(const void *a, const void *b)
{
	const pending *x = a, *y = b;
	return strcmp(x->handle, y->handle);
}

/* Asked first, then by handle: the batches run over the first ones. */
static int
compare_asked_first(const void *a, const void *b)
{
	const pending *x = a, *y = b;
	if (x->cached != y->cached)
		return x->cached - y->cached;
	return strcmp(x->handle, y->handle);
}

static int
compare_cache(const void *a, const void *b)
{
	return strcmp(((const cache_entry *)a)->handle, ((const cache_entry *)b)->handle);
}

static cache_entry *
cache_find(const veil_client *c, const char *handle)
{
	cache_entry key;
	if (c->cache_count == 0 || strlen(handle) > VEIL_MAX_HANDLE)
		return NULL;
	memcpy(key.handle, handle, strlen(handle) + 1);
	return bsearch(&key, c->cache, c->cache_count, sizeof(*c->cache), compare_cache);
}

/* Fills the items whose answer is fresh in the cache; marks them cached. */
static void
cache_answer(veil_client *c, pending *items, size_t count, int64_t now)
{
	if (c->refresh_seconds == 0)
		return;
	for (size_t i = 0; i < count; i++) {
		const cache_entry *e = cache_find(c, items[i].handle);
		if (e == NULL || now - e->checked_at >= (int64_t)c->refresh_seconds)
			continue;
		items[i].cached = 1;
		items[i].answer = e->answer;
	}
}

/* Remembers the answers of the asked items; out of memory, remembers fewer. */
static void
cache_store(veil_client *c, const pending *items, size_t count, int64_t now)
{
	if (c->refresh_seconds == 0)
		return;
	size_t added = 0;
	for (size_t i = 0; i < count; i++) {
		if (items[i].cached)
			continue;
		cache_entry *e = cache_find(c, items[i].handle);
		if (e == NULL) {
			if (c->cache_count + added == c->cache_cap) {
				size_t cap = c->cache_cap ? 2 * c->cache_cap : 256;
				cache_entry *grown = calloc(cap, sizeof(*grown));
				if (grown == NULL)
					break;
				if (c->cache != NULL) {
					memcpy(grown, c->cache,
					       (c->cache_count + added) * sizeof(*grown));
					sodium_memzero(c->cache, c->cache_cap * sizeof(*c->cache));
					free(c->cache);
				}
				c->cache = grown;
				c->cache_cap = cap;
			}
			/* Appended past the sorted part (cache_find does not see
			 * it: items are distinct), sorted in below. */
			e = &c->cache[c->cache_count + added++];
			snprintf(e->handle, sizeof(e->handle), "%s", items[i].handle);
		}
		e->answer = items[i].answer;
		e->checked_at = now;
	}
	c->cache_count += added;
	qsort(c->cache, c->cache_count, sizeof(*c->cache), compare_cache);
}

/* What the normalizing workers share: contact i's handle goes to
 * results[i], and its pending to items[i] (handle NULL when invalid). */
typedef struct normalize_job {
	const veil_client *c;
	const char *const *contacts;
	size_t count;
	veil_lookup_result *results;
	pending *items;
} normalize_job;

/* A worker's task: normalizes and buckets NORMALIZE_CHUNK contacts. */
static void
normalize_chunk(void *arg, size_t task)
{
	const normalize_job *job = arg;
	const size_t end = (task + 1) * NORMALIZE_CHUNK;
	for (size_t i = task * NORMALIZE_CHUNK; i < end && i < job->count; i++) {
		veil_lookup_result *res = &job->results[i];
		if (job->contacts[i] == NULL) {
			res->status = VEIL_LOOKUP_INVALID;
			res->error = "no contact";
			continue;
		}
		size_t len = 0;
		normalize_status ns =
		        normalize_handle(job->contacts[i], strlen(job->contacts[i]), job->c->region,
		                         res->handle, sizeof(res->handle), &len);
		if (ns != NORMALIZE_OK) {
			res->status = VEIL_LOOKUP_INVALID;
			res->error = normalize_strerror(ns);
			res->handle[0] = '\0';
			continue;
		}
		job->items[i].handle = res->handle;
		job->items[i].handle_len = len;
		job->items[i].bucket = entry_bucket(res->handle, len);
	}
}

/*
 * Moves the items of the wave's answered batches (batches[0..count), over
 * items[0..) in order) ahead of those of the others, keeping the order
 * within each; returns how many were answered. The items to ask again
 * follow them.
 */
static size_t
answered_first(pending *items, const batch *batches, size_t count, pending *scratch)
{
	size_t total = 0, answered = 0;
	int all = 1;
	for (size_t i = 0; i < count; i++) {
		total += batches[i].count;
		all &= batches[i].err == VEIL_OK;
	}
	if (all) /* the usual case: nothing to move */
		return total;
	total = 0;
	for (size_t pass = 0; pass < 2; pass++) {
		const pending *from = items;
		for (size_t i = 0; i < count; i++) {
			if ((batches[i].err == VEIL_OK) == (pass == 0)) {
				memcpy(scratch + total, from, batches[i].count * sizeof(*items));
				for (size_t k = 0; pass == 1 && k < batches[i].count; k++)
					memset(&scratch[total + k].answer, 0, sizeof(answer));
				total += batches[i].count;
			}
			from += batches[i].count;
		}
		if (pass == 0)
			answered = total;
	}
	memcpy(items, scratch, total * sizeof(*items));
	sodium_memzero(scratch, total * sizeof(*items));
	return answered;
}

veil_err
veil_client_lookup(veil_client *c, const char *const contacts[], size_t count,
                   veil_lookup_result *results)
{
	if (c == NULL || (count != 0 && (contacts == NULL || results == NULL)))
		return VEIL_ERR_ARGUMENT;
	c->last_error[0] = '\0';
	for (size_t i = 0; i < count; i++)
		memset(&results[i], 0, sizeof(results[i]));

	/* Normalize on the worker threads; collect the distinct valid handles. */
	pending *items = calloc(count ? count : 1, sizeof(*items));
	pending *scratch = calloc(count ? count : 1, sizeof(*scratch));
	if (items == NULL || scratch == NULL) {
		free(items);
		free(scratch);
		return VEIL_ERR_NOMEM;
	}
	normalize_job job = {
	        .c = c, .contacts = contacts, .count = count, .results = results, .items = items};
	parallel_run(worker_threads(c), (count + NORMALIZE_CHUNK - 1) / NORMALIZE_CHUNK,
	             normalize_chunk, &job);
	size_t distinct = 0;
	for (size_t i = 0; i < count; i++)
		if (items[i].handle != NULL)
			items[distinct++] = items[i];
	qsort(items, distinct, sizeof(*items), compare_pending);
	size_t unique = 0;
	for (size_t i = 0; i < distinct; i++)
		if (unique == 0 || strcmp(items[unique - 1].handle, items[i].handle) != 0)
			items[unique++] = items[i];

	/* Fresh answers come from the cache; the rest are asked, first. */
	const int64_t now_s = monotonic_ms() / 1000;
	cache_answer(c, items, unique, now_s);
	qsort(items, unique, sizeof(*items), compare_asked_first);
	size_t asked = 0;
	while (asked < unique && !items[asked].cached)
		asked++;

	buf inner, frame, reply, reply_inner;
	buf_init(&inner);
	buf_init(&frame);
	buf_init(&reply);
	buf_init(&reply_inner);
	veil_err err = VEIL_OK;
	uint16_t status = 0;
	int key_retry = 1;

	const double deadline = clock_monotonic_seconds() + c->deadline_ms / 1000.0;
	unsigned busy_tries = 0, moves = 0, move_tries = 0;
	size_t lanes = CLIENT_LANES; /* after a BUSY: as many as were answered */
	/* Nothing is asked, not even INFO, without a token to ask with: the
	 * first is taken now, held for the first LOOKUP_TOKEN. */
	if (asked > 0 && c->auth == VEIL_AUTH_TOKENS && (err = take_token(c, &c->token)) == VEIL_OK)
		c->have_token = 1;
	if (err == VEIL_OK && asked > 0 && !c->have_info) {
		while ((err = fetch_info(c, &inner, &frame, &reply, &reply_inner)) != VEIL_OK &&
		       (err == VEIL_ERR_BUSY
		                ? backoff(c, deadline, &busy_tries)
		                : fail_over(c, err, deadline, &moves, &move_tries)) == 0)
			;
	}
	/* The items [done, asked) are still to be answered: each wave asks
	 * up to CLIENT_LANES batches of them at once; the answered ones move
	 * ahead, the others are asked again (anew: freshly blinded). */
	for (size_t done = 0; err == VEIL_OK && done < asked;) {
		unsigned bits;
		if ((err = prefix_bits_to_reveal(c, &bits)) != VEIL_OK)
			break;
		batch batches[CLIENT_LANES];
		memset(batches, 0, sizeof(batches));
		size_t wave_count = 0;
		for (size_t at = done; at < asked && wave_count < lanes; wave_count++) {
			const size_t n =
			        asked - at < c->info.batch_cap ? asked - at : c->info.batch_cap;
			batches[wave_count].items = items + at;
			batches[wave_count].count = n;
			at += n;
		}
		err = lookup_wave(c, batches, wave_count, bits, &status);
		const size_t answered = answered_first(items + done, batches, wave_count, scratch);
		done += answered;
		if (answered > 0)
			moves = 0; /* a server answered: the next failure may try all again */
		if (err == VEIL_ERR_BUSY) {
			/* The server took this many at once; more only cost quota
			 * (in tokens mode, tokens) to be turned away. */
			size_t took = 0;
			for (size_t i = 0; i < wave_count; i++)
				took += batches[i].err == VEIL_OK;
			lanes = took > 0 ? took : 1;
		}
		if (err == VEIL_ERR_UNSUPPORTED && status == PROTO_STATUS_KEY_UNKNOWN &&
		    key_retry) {
			/* The key rotated under us: learn the new one, retry once. */
			key_retry = 0;
			err = fetch_info(c, &inner, &frame, &reply, &reply_inner);
			continue;
		}
		if (err == VEIL_ERR_BUSY && backoff(c, deadline, &busy_tries) == 0) {
			err = VEIL_OK; /* the same batches again, freshly blinded */
			continue;
		}
		if (err != VEIL_OK && fail_over(c, err, deadline, &moves, &move_tries) == 0) {
			err = VEIL_OK; /* the same batches of the next server, freshly blinded */
			continue;
		}
	}

	if (c->have_token) /* never sent: INFO failed, or no prefix fits */
		give_back(c, &c->token);
	c->have_token = 0;
	if (err == VEIL_OK) {
		cache_store(c, items, asked, now_s);
		qsort(items, unique, sizeof(*items), compare_pending);
		for (size_t i = 0; i < count; i++) {
			veil_lookup_result *res = &results[i];
			if (res->status == VEIL_LOOKUP_INVALID)
				continue;
			pending key = {.handle = res->handle};
			const pending *p =
			        bsearch(&key, items, unique, sizeof(*items), compare_pending);
			if (p == NULL || !p->answer.registered)
				continue;
			res->status = VEIL_LOOKUP_REGISTERED;
			res->has_payload = p->answer.has_payload;
			res->payload_len = p->answer.payload_len;
			memcpy(res->payload, p->answer.payload, p->answer.payload_len);
		}
	} else {
		for (size_t i = 0; i < count; i++)
			memset(&results[i], 0, sizeof(results[i]));
	}
	sodium_memzero(items, (count ? count : 1) * sizeof(*items));
	free(items);
	free(scratch);
	buf_free(&inner);
	buf_free(&frame);
	buf_free(&reply);
	buf_free(&reply_inner);
	return err;
}

/* Exactly 2 * VEIL_KEY_SIZE hex digits, and nothing else, into key. */
static int
hex_key(const char *hex, size_t len, uint8_t key[VEIL_KEY_SIZE])
{
	size_t bin_len = 0;
	const char *end = NULL;
	return len == 2 * VEIL_KEY_SIZE &&
	       sodium_hex2bin(key, VEIL_KEY_SIZE, hex, len, NULL, &bin_len, &end) == 0 &&
	       bin_len == VEIL_KEY_SIZE && end == hex + len;
}

veil_err
veil_server_key_read(const char *hex_or_file, uint8_t key[VEIL_KEY_SIZE])
{
	if (hex_key(hex_or_file, strlen(hex_or_file), key))
		return VEIL_OK;
	FILE *f = fopen(hex_or_file, "r");
	if (f == NULL)
		return VEIL_ERR_PARSE;
	char line[256];
	veil_err err = VEIL_ERR_PARSE;
	while (err != VEIL_OK && fgets(line, sizeof(line), f) != NULL) {
		const char *hex = strncmp(line, "server-key ", 11) == 0 ? line + 11 : line;
		if (hex_key(hex, strcspn(hex, "\r\n"), key))
			err = VEIL_OK;
	}
	fclose(f);
	return err;
}

/* One "oprf-key ID SUITE HEX" line's fields, after the word: into key. */
static int
oprf_key_line(const char *fields, veil_oprf_key *key)
{
	char suite_name[32], hex[2 * VEIL_OPRF_KEY_SIZE + 2];
	unsigned long id;
	int end = 0;
	size_t bin_len = 0;
	if (sscanf(fields, "%lu %31s %135s%n", &id, suite_name, hex, &end) != 3 ||
	    fields[end] != '\0' || id > UINT32_MAX)
		return 0;
	const oprf_suite *suite = oprf_suite_by_name(suite_name);
	if (suite == NULL || proto_suite_id(suite) == 0 ||
	    strlen(suite_name) >= VEIL_SUITE_NAME_SIZE)
		return 0;
	const size_t ne = oprf_suite_element_size(suite);
	memset(key, 0, sizeof(*key));
	if (strlen(hex) != 2 * ne ||
	    sodium_hex2bin(key->public_key, ne, hex, strlen(hex), NULL, &bin_len, NULL) != 0 ||
	    bin_len != ne)
		return 0;
	key->key_id = (uint32_t)id;
	memcpy(key->suite, suite_name, strlen(suite_name) + 1);
	key->public_key_len = ne;
	return 1;
}

/* The longest line of `veil-admin info` output that the parser reads. */
#define INFO_MAX_LINE 255
/* The largest file veil_server_info_read() takes. */
#define INFO_MAX_FILE 65536

/*
 * The line of text (len bytes) at *at, without its LF or CRLF, into line
 * (its first INFO_MAX_LINE bytes, NUL-terminated); *at moves past it.
 * Returns 1 when the line was read whole: no NUL in it, not cut short.
 */
static int
info_next_line(const char *text, size_t len, size_t *at, char line[INFO_MAX_LINE + 1])
{
	const char *start = text + *at, *nl = memchr(start, '\n', len - *at);
	size_t n = nl != NULL ? (size_t)(nl - start) : len - *at;
	*at += n + (nl != NULL);
	if (n > 0 && start[n - 1] == '\r')
		n--;
	const size_t kept = n < INFO_MAX_LINE ? n : INFO_MAX_LINE;
	memcpy(line, start, kept);
	line[kept] = '\0';
	return kept == n && strlen(line) == n;
}

/* A "WORD NAME" line's name, read once into name (VEIL_TOKEN_NAME_SIZE):
 * 0 when the line is not whole, was seen before or its name is not one. */
static int
info_name(const char *value, int whole, int *seen, char *name)
{
	if (!whole || *seen || !token_name_valid(value))
		return 0;
	*seen = 1;
	memset(name, 0, VEIL_TOKEN_NAME_SIZE);
	memcpy(name, value, strlen(value));
	return 1;
}

veil_err
veil_server_info_parse(const char *text, size_t len, veil_client_options *options)
{
	if ((text == NULL && len != 0) || options == NULL)
		return VEIL_ERR_ARGUMENT;
	uint8_t server_key[VEIL_KEY_SIZE];
	veil_oprf_key keys[VEIL_MAX_OPRF_KEYS];
	veil_mode mode = VEIL_MODE_NONE;
	memset(keys, 0, sizeof(keys)); /* padding too: the pins copied out are all defined */
	size_t key_count = 0;
	int have_server_key = 0, have_auth = 0, have_issuer = 0, have_origin = 0;
	veil_auth auth = VEIL_AUTH_KEYS;
	char issuer[VEIL_TOKEN_NAME_SIZE], origin[VEIL_TOKEN_NAME_SIZE];
	memset(issuer, 0, sizeof(issuer));
	memset(origin, 0, sizeof(origin));
	veil_err err = VEIL_OK;
	for (size_t at = 0; err == VEIL_OK && at < len;) {
		char line[INFO_MAX_LINE + 1];
		const int whole = info_next_line(text, len, &at, line);
		if (strncmp(line, "auth ", 5) == 0) {
			if (!whole || have_auth ||
			    (strcmp(line + 5, "keys") != 0 && strcmp(line + 5, "tokens") != 0))
				err = VEIL_ERR_PARSE;
			have_auth = 1;
			auth = strcmp(line + 5, "tokens") == 0 ? VEIL_AUTH_TOKENS : VEIL_AUTH_KEYS;
		} else if (strncmp(line, "token-issuer ", 13) == 0) {
			if (!info_name(line + 13, whole, &have_issuer, issuer))
				err = VEIL_ERR_PARSE;
		} else if (strncmp(line, "token-origin ", 13) == 0) {
			if (!info_name(line + 13, whole, &have_origin, origin))
				err = VEIL_ERR_PARSE;
		} else if (strncmp(line, "server-key ", 11) == 0) {
			if (!whole || have_server_key ||
			    !hex_key(line + 11, strlen(line + 11), server_key))
				err = VEIL_ERR_PARSE;
			have_server_key = 1;
		} else if (strncmp(line, "mode ", 5) == 0) {
			const veil_mode m = !whole                           ? VEIL_MODE_NONE
			                    : strcmp(line + 5, "oprf") == 0  ? VEIL_MODE_OPRF
			                    : strcmp(line + 5, "voprf") == 0 ? VEIL_MODE_VOPRF
			                                                     : VEIL_MODE_NONE;
			if (mode != VEIL_MODE_NONE || m == VEIL_MODE_NONE)
				err = VEIL_ERR_PARSE;
			mode = m;
		} else if (strncmp(line, "oprf-key ", 9) == 0) {
			veil_oprf_key k;
			if (key_count == VEIL_MAX_OPRF_KEYS)
				err = VEIL_ERR_LIMIT;
			else if (!whole || !oprf_key_line(line + 9, &k))
				err = VEIL_ERR_PARSE;
			for (size_t i = 0; err == VEIL_OK && i < key_count; i++)
				if (keys[i].key_id == k.key_id ||
				    strcmp(keys[i].suite, k.suite) != 0)
					err = VEIL_ERR_PARSE; /* an id twice, or two suites */
			if (err == VEIL_OK)
				memcpy(&keys[key_count++], &k, sizeof(k));
		}
	}
	if (err == VEIL_OK && (!have_server_key || mode == VEIL_MODE_NONE || key_count == 0))
		err = VEIL_ERR_PARSE;
	/* Tokens mode names its issuer and origin; keys mode names neither. */
	if (err == VEIL_OK &&
	    (auth == VEIL_AUTH_TOKENS ? !(have_issuer && have_origin) : have_issuer || have_origin))
		err = VEIL_ERR_PARSE;
	if (err == VEIL_OK) {
		memcpy(options->server_key, server_key, VEIL_KEY_SIZE);
		options->mode = mode;
		options->oprf_key_count = key_count;
		memcpy(options->oprf_keys, keys, key_count * sizeof(keys[0]));
		options->auth = auth;
		memcpy(options->token_issuer, issuer, sizeof(issuer));
		memcpy(options->token_origin, origin, sizeof(origin));
	}
	return err;
}

/* One "token-key ID HEX" line's fields, after the word: into key. */
static int
token_key_line(const char *fields, veil_token_key *key)
{
	char hex[2 * VEIL_TOKEN_KEY_SIZE + 2];
	unsigned long id;
	int end = 0;
	size_t bin_len = 0;
	const char *hex_end = NULL;
	if (fields[0] < '0' || fields[0] > '9' ||
	    sscanf(fields, "%lu %99s%n", &id, hex, &end) != 2 || fields[end] != '\0' ||
	    id > UINT32_MAX || strlen(hex) != 2 * VEIL_TOKEN_KEY_SIZE)
		return 0;
	memset(key, 0, sizeof(*key));
	if (sodium_hex2bin(key->public_key, VEIL_TOKEN_KEY_SIZE, hex, strlen(hex), NULL, &bin_len,
	                   &hex_end) != 0 ||
	    bin_len != VEIL_TOKEN_KEY_SIZE || hex_end != hex + strlen(hex))
		return 0;
	key->key_id = (uint32_t)id;
	return 1;
}

veil_err
veil_issuer_info_parse(const char *text, size_t len, veil_issuer_options *options)
{
	if ((text == NULL && len != 0) || options == NULL)
		return VEIL_ERR_ARGUMENT;
	uint8_t issuer_key[VEIL_KEY_SIZE];
	char name[VEIL_TOKEN_NAME_SIZE];
	veil_token_key keys[VEIL_MAX_TOKEN_KEYS];
	memset(keys, 0, sizeof(keys));
	memset(name, 0, sizeof(name));
	size_t key_count = 0;
	int have_key = 0, have_name = 0;
	veil_err err = VEIL_OK;
	for (size_t at = 0; err == VEIL_OK && at < len;) {
		char line[INFO_MAX_LINE + 1];
		const int whole = info_next_line(text, len, &at, line);
		if (strncmp(line, "issuer-key ", 11) == 0) {
			if (!whole || have_key ||
			    !hex_key(line + 11, strlen(line + 11), issuer_key))
				err = VEIL_ERR_PARSE;
			have_key = 1;
		} else if (strncmp(line, "issuer-name ", 12) == 0) {
			if (!info_name(line + 12, whole, &have_name, name))
				err = VEIL_ERR_PARSE;
		} else if (strncmp(line, "token-key ", 10) == 0) {
			veil_token_key k;
			if (key_count == VEIL_MAX_TOKEN_KEYS)
				err = VEIL_ERR_LIMIT;
			else if (!whole || !token_key_line(line + 10, &k))
				err = VEIL_ERR_PARSE;
			for (size_t i = 0; err == VEIL_OK && i < key_count; i++)
				if (keys[i].key_id == k.key_id)
					err = VEIL_ERR_PARSE;
			if (err == VEIL_OK)
				memcpy(&keys[key_count++], &k, sizeof(k));
		}
	}
	if (err == VEIL_OK && (!have_key || !have_name || key_count == 0))
		err = VEIL_ERR_PARSE;
	if (err == VEIL_OK) {
		memcpy(options->issuer_key, issuer_key, VEIL_KEY_SIZE);
		memcpy(options->issuer_name, name, sizeof(name));
		options->token_key_count = key_count;
		memcpy(options->token_keys, keys, key_count * sizeof(keys[0]));
	}
	return err;
}

/* The text of an info file (at most INFO_MAX_FILE bytes) into *text, the caller's to free. */
static veil_err
info_file_read(const char *path, char **text, size_t *len)
{
	if (file_read_all(path, INFO_MAX_FILE, text, len) != 0)
		return errno == EFBIG    ? VEIL_ERR_PARSE
		       : errno == ENOMEM ? VEIL_ERR_NOMEM
		                         : VEIL_ERR_SYSTEM;
	return VEIL_OK;
}

veil_err
veil_issuer_info_read(const char *path, veil_issuer_options *options)
{
	char *text = NULL;
	size_t len = 0;
	if (path == NULL || options == NULL)
		return VEIL_ERR_ARGUMENT;
	veil_err err = info_file_read(path, &text, &len);
	if (err == VEIL_OK)
		err = veil_issuer_info_parse(text, len, options);
	free(text);
	return err;
}

veil_err
veil_server_info_read(const char *path, veil_client_options *options)
{
	char *text = NULL;
	size_t len = 0;
	if (path == NULL || options == NULL)
		return VEIL_ERR_ARGUMENT;
	veil_err err = info_file_read(path, &text, &len);
	if (err == VEIL_OK)
		err = veil_server_info_parse(text, len, options);
	free(text);
	return err;
}

#include "replay.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* A request's or a client's identity: a keyed BLAKE2b of this size. */
#define ID_SIZE 16

/* The id of an empty slot. */
static const uint8_t empty[ID_SIZE];
#define KEY_SIZE crypto_generichash_KEYBYTES

/* Domain separation of the two identities under one key. */
#define DOMAIN_REQUEST 0x01
#define DOMAIN_CLIENT  0x02

typedef struct generation {
	uint8_t *ids; /* slots * ID_SIZE; an all-zero id is an empty slot */
	size_t count;
	int64_t start; /* monotonic time the generation began */
} generation;

/* One client's requests in the current generation. */
typedef struct client_count {
	uint8_t id[ID_SIZE]; /* all zero: empty */
	uint32_t count;
} client_count;

struct replay_guard {
	pthread_mutex_t lock;
	replay_config config;
	uint8_t key[KEY_SIZE]; /* the slot key: random, never stored */
	size_t slots;          /* a power of two, at least 2 * capacity */
	generation gen[2];     /* [0] current, [1] previous */
	client_count *clients; /* slots of them, for gen[0] */
	int locked;            /* lock initialized */
};

void
replay_config_defaults(replay_config *config, int64_t started)
{
	config->window = REPLAY_DEFAULT_WINDOW;
	config->skew = REPLAY_DEFAULT_SKEW;
	config->capacity = REPLAY_DEFAULT_CAPACITY;
	config->client_budget = REPLAY_DEFAULT_CLIENT_BUDGET;
	config->started = started;
}

void
replay_guard_free(replay_guard *g)
{
	if (g == NULL)
		return;
	free(g->gen[0].ids);
	free(g->gen[1].ids);
	free(g->clients);
	if (g->locked)
		pthread_mutex_destroy(&g->lock);
	sodium_memzero(g->key, sizeof(g->key));
	free(g);
}

veil_err
replay_guard_new(const replay_config *config, replay_guard **out)
{
	*out = NULL;
	if (config->window == 0 || config->capacity == 0 ||
	    config->capacity > REPLAY_MAX_CAPACITY || config->client_budget == 0 ||
	    config->client_budget > config->capacity)
		return VEIL_ERR_ARGUMENT;
	replay_guard *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return VEIL_ERR_NOMEM;
	g->config = *config;
	g->slots = 1;
	while (g->slots < 2 * config->capacity)
		g->slots <<= 1;
	for (int i = 0; i < 2; i++) {
		g->gen[i].ids = calloc(g->slots, ID_SIZE);
		g->gen[i].start = INT64_MIN;
	}
	g->clients = calloc(g->slots, sizeof(*g->clients));
	if (g->gen[0].ids == NULL || g->gen[1].ids == NULL || g->clients == NULL ||
	    pthread_mutex_init(&g->lock, NULL) != 0) {
		replay_guard_free(g);
		return VEIL_ERR_NOMEM;
	}
	g->locked = 1;
	randombytes_buf(g->key, sizeof(g->key));
	*out = g;
	return VEIL_OK;
}

/* The keyed identity of domain || a || b (b may be NULL); never all zero. */
static void
identity(const replay_guard *g, uint8_t domain, const uint8_t *a, size_t a_len, const uint8_t *b,
         size_t b_len, uint8_t id[ID_SIZE])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, g->key, sizeof(g->key), ID_SIZE);
	crypto_generichash_update(&st, &domain, 1);
	crypto_generichash_update(&st, a, a_len);
	if (b != NULL)
		crypto_generichash_update(&st, b, b_len);
	crypto_generichash_final(&st, id, ID_SIZE);
	sodium_memzero(&st, sizeof(st));
	if (memcmp(id, empty, ID_SIZE) == 0)
		id[0] = 1; /* keep the all-zero id meaning "empty" */
}

/* The first slot to probe for id: its bytes are a keyed hash already. */
static size_t
slot_of(const replay_guard *g, const uint8_t id[ID_SIZE])
{
	uint64_t h;
	memcpy(&h, id, sizeof(h));
	return (size_t)h & (g->slots - 1);
}

/* 1 when id is in gen; else 0 and *free_slot is where it would go. */
static int
lookup(const replay_guard *g, const generation *gen, const uint8_t id[ID_SIZE], size_t *free_slot)
{
	for (size_t i = slot_of(g, id);; i = (i + 1) & (g->slots - 1)) {
		const uint8_t *slot = gen->ids + i * ID_SIZE;
		if (memcmp(slot, id, ID_SIZE) == 0)
			return 1;
		if (memcmp(slot, empty, ID_SIZE) == 0) {
			*free_slot = i;
			return 0;
		}
	}
}

/* The client's counter in the current generation: found or a free one. */
static client_count *
client_of(const replay_guard *g, const uint8_t id[ID_SIZE])
{
	for (size_t i = slot_of(g, id);; i = (i + 1) & (g->slots - 1)) {
		client_count *c = &g->clients[i];
		if (memcmp(c->id, id, ID_SIZE) == 0 || memcmp(c->id, empty, ID_SIZE) == 0)
			return c;
	}
}

int
replay_fresh(const replay_config *config, uint64_t sent_at, int64_t now)
{
	return sent_at <= (uint64_t)INT64_MAX / 2 &&
	       (int64_t)sent_at >= now - (int64_t)config->window &&
	       (int64_t)sent_at <= now + (int64_t)config->skew &&
	       (int64_t)sent_at >= config->started - (int64_t)config->skew;
}

replay_verdict
replay_guard_check(replay_guard *g, const uint8_t client_key[REPLAY_CLIENT_KEY_SIZE],
                   const uint8_t nonce[REPLAY_NONCE_SIZE], uint64_t sent_at, int64_t now,
                   int64_t mono, uint32_t *retry_after)
{
	const replay_config *cf = &g->config;
	if (retry_after != NULL)
		*retry_after = 0;
	if (!replay_fresh(cf, sent_at, now))
		return REPLAY_STALE;

	uint8_t request_id[ID_SIZE], client_id[ID_SIZE];
	identity(g, DOMAIN_REQUEST, client_key, REPLAY_CLIENT_KEY_SIZE, nonce, REPLAY_NONCE_SIZE,
	         request_id);
	identity(g, DOMAIN_CLIENT, client_key, REPLAY_CLIENT_KEY_SIZE, NULL, 0, client_id);

	replay_verdict verdict = REPLAY_FRESH;
	pthread_mutex_lock(&g->lock);
	const int64_t length = (int64_t)cf->window + cf->skew + 1;
	if (g->gen[0].start == INT64_MIN)
		g->gen[0].start = mono;
	if (mono >= g->gen[0].start + length) {
		/* The previous generation is older than any valid request. */
		generation old = g->gen[1];
		g->gen[1] = g->gen[0];
		memset(old.ids, 0, g->slots * ID_SIZE);
		old.count = 0;
		old.start = mono;
		g->gen[0] = old;
		memset(g->clients, 0, g->slots * sizeof(*g->clients));
	}
	size_t free_slot = 0, unused;
	client_count *client = client_of(g, client_id);
	if (lookup(g, &g->gen[1], request_id, &unused) ||
	    lookup(g, &g->gen[0], request_id, &free_slot)) {
		verdict = REPLAY_SEEN;
	} else if (client->count >= cf->client_budget) {
		verdict = REPLAY_BUDGET;
	} else if (g->gen[0].count >= cf->capacity) {
		verdict = REPLAY_FULL;
	} else {
		memcpy(g->gen[0].ids + free_slot * ID_SIZE, request_id, ID_SIZE);
		g->gen[0].count++;
		memcpy(client->id, client_id, ID_SIZE);
		client->count++;
	}
	if ((verdict == REPLAY_FULL || verdict == REPLAY_BUDGET) && retry_after != NULL) {
		const int64_t left = g->gen[0].start + length - mono;
		*retry_after = left < 1 ? 1 : left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
	}
	pthread_mutex_unlock(&g->lock);
	return verdict;
}

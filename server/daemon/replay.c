#include "replay.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A nonce's first 16 bytes identify it: random, so collisions are 2^-128. */
#define KEY_SIZE 16

typedef struct generation {
	uint8_t *keys;	/* slots * KEY_SIZE; an all-zero key is an empty slot */
	size_t count;
	int64_t start;	/* server time the generation began */
} generation;

struct replay_guard {
	pthread_mutex_t lock;
	uint32_t window, skew;
	size_t capacity, slots; /* slots: a power of two, at least 2 * capacity */
	generation gen[2];	/* [0] current, [1] previous */
};

void
replay_guard_free(replay_guard *g)
{
	if (g == NULL)
		return;
	free(g->gen[0].keys);
	free(g->gen[1].keys);
	if (g->gen[0].keys != NULL && g->gen[1].keys != NULL)
		pthread_mutex_destroy(&g->lock);
	free(g);
}

veil_err
replay_guard_new(uint32_t window, uint32_t skew, size_t capacity, replay_guard **out)
{
	*out = NULL;
	if (window == 0 || capacity == 0 || capacity > REPLAY_MAX_CAPACITY)
		return VEIL_ERR_ARGUMENT;
	replay_guard *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return VEIL_ERR_NOMEM;
	g->window = window;
	g->skew = skew;
	g->capacity = capacity;
	g->slots = 1;
	while (g->slots < 2 * capacity)
		g->slots <<= 1;
	for (int i = 0; i < 2; i++) {
		g->gen[i].keys = calloc(g->slots, KEY_SIZE);
		g->gen[i].start = INT64_MIN;
		if (g->gen[i].keys == NULL) {
			replay_guard_free(g);
			return VEIL_ERR_NOMEM;
		}
	}
	pthread_mutex_init(&g->lock, NULL);
	*out = g;
	return VEIL_OK;
}

static size_t
slot_of(const replay_guard *g, const uint8_t *key)
{
	uint64_t h;
	memcpy(&h, key, sizeof(h)); /* the nonce is random: its bytes are the hash */
	return (size_t)h & (g->slots - 1);
}

/* 1 when key is in gen; else 0 and *free_slot is where it would go. */
static int
lookup(const replay_guard *g, const generation *gen, const uint8_t *key, size_t *free_slot)
{
	static const uint8_t empty[KEY_SIZE];
	for (size_t i = slot_of(g, key);; i = (i + 1) & (g->slots - 1)) {
		const uint8_t *slot = gen->keys + i * KEY_SIZE;
		if (memcmp(slot, empty, KEY_SIZE) == 0) {
			*free_slot = i;
			return 0;
		}
		if (memcmp(slot, key, KEY_SIZE) == 0)
			return 1;
	}
}

replay_verdict
replay_guard_check(replay_guard *g, const uint8_t nonce[REPLAY_NONCE_SIZE], uint64_t sent_at,
		   int64_t now)
{
	if ((int64_t)sent_at < now - (int64_t)g->window || (int64_t)sent_at > now + g->skew ||
	    sent_at > (uint64_t)INT64_MAX)
		return REPLAY_STALE;

	uint8_t key[KEY_SIZE];
	memcpy(key, nonce, KEY_SIZE);
	if (memcmp(key, (const uint8_t[KEY_SIZE]){0}, KEY_SIZE) == 0)
		key[0] = 1; /* keep the all-zero key meaning "empty" */

	replay_verdict verdict = REPLAY_FRESH;
	pthread_mutex_lock(&g->lock);
	const int64_t length = (int64_t)g->window + g->skew;
	if (g->gen[0].start == INT64_MIN)
		g->gen[0].start = now;
	if (now >= g->gen[0].start + length) {
		/* The previous generation is older than any valid request. */
		generation old = g->gen[1];
		g->gen[1] = g->gen[0];
		memset(old.keys, 0, g->slots * KEY_SIZE);
		old.count = 0;
		old.start = now;
		g->gen[0] = old;
	}
	size_t free_slot, unused;
	if (lookup(g, &g->gen[1], key, &unused) || lookup(g, &g->gen[0], key, &free_slot)) {
		verdict = REPLAY_SEEN;
	} else if (g->gen[0].count >= g->capacity) {
		verdict = REPLAY_FULL;
	} else {
		memcpy(g->gen[0].keys + free_slot * KEY_SIZE, key, KEY_SIZE);
		g->gen[0].count++;
	}
	pthread_mutex_unlock(&g->lock);
	return verdict;
}

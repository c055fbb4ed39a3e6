/*
 * Replay protection for sealed requests. A request carries the client's
 * time (sent_at) inside its box, and its box has a random nonce. The
 * guard accepts a request once, and only while sent_at is within the
 * window: REPLAYED for a nonce seen before, STALE for a time outside
 * [now - window, now + skew] or before the guard's start (see below).
 *
 * Memory and generations. It remembers requests for two generations of
 * window + skew + 1 seconds each, counted on the monotonic clock (a step
 * of the wall clock neither empties nor prolongs a generation): a request
 * stays remembered at least window + skew seconds after it was accepted,
 * longer than its sent_at stays valid. Each generation holds at most
 * `capacity` requests, and at most `client_budget` of one client; past
 * either it answers FULL or BUDGET (the server says BUSY, with the
 * seconds until the generation turns) rather than forget one.
 *
 * Slots. A request is remembered as a keyed BLAKE2b-128 of the client
 * key and the nonce, under a random key made by replay_guard_new() and
 * never stored: a peer cannot aim requests at one slot, so the open
 * addressing tables (at most half full) keep short probes whatever the
 * nonces are. A client is counted under a keyed BLAKE2b-128 of its key
 * alone. Two distinct requests share an identity with probability 2^-128.
 *
 * Restarts. A new guard remembers nothing of the requests an earlier
 * process accepted, so it refuses (STALE) any sent_at earlier than its
 * start minus the skew. What is left: a request sealed within the skew
 * before a restart, and accepted then, can be accepted once more after it.
 *
 * The defaults:
 *   - window 300 s, skew 30 s: a generation lasts 331 s;
 *   - capacity 2^18 requests per generation, about 790 a second sustained,
 *     for all clients together;
 *   - client_budget 2^14 (capacity / 16) requests per generation, about 49
 *     a second sustained for one client: far above what a client needs
 *     (a 5,000-contact address book is 20 requests of 256 items), so it
 *     takes 16 clients at full rate to fill the table. Only enrolled
 *     clients reach the guard (service.h), so a stranger fills nothing.
 *   - memory: 2 generations * 2 * capacity * 16 bytes of requests plus
 *     2 * capacity * 20 bytes of client counts: 26 MiB.
 *
 * May use: common/ (error.h); nothing else of the project.
 */
#ifndef VEIL_SERVER_REPLAY_H
#define VEIL_SERVER_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define REPLAY_DEFAULT_WINDOW        300               /* seconds a request stays valid */
#define REPLAY_DEFAULT_SKEW          30                /* seconds a client's clock may run ahead */
#define REPLAY_DEFAULT_CAPACITY      ((size_t)1 << 18) /* requests per generation */
#define REPLAY_DEFAULT_CLIENT_BUDGET ((size_t)1 << 14) /* one client's, per generation */
#define REPLAY_MAX_CAPACITY          ((size_t)1 << 24)
#define REPLAY_CLIENT_KEY_SIZE       32
#define REPLAY_NONCE_SIZE            24

typedef struct replay_guard replay_guard;

typedef struct replay_config {
	uint32_t window;      /* seconds; 1 or more */
	uint32_t skew;        /* seconds */
	size_t capacity;      /* requests per generation: 1..REPLAY_MAX_CAPACITY */
	size_t client_budget; /* requests per generation of one client: 1..capacity */
	int64_t started; /* unix seconds of the start: sent_at before started - skew is STALE */
} replay_config;

/* The defaults above, with started as given. */
void replay_config_defaults(replay_config *config, int64_t started);

typedef enum replay_verdict {
	REPLAY_FRESH = 0, /* first time seen: accepted and remembered */
	REPLAY_SEEN,      /* the same sealed request again */
	REPLAY_STALE,     /* sent_at outside the window, or before the start */
	REPLAY_FULL,      /* too many requests this generation to remember one more */
	REPLAY_BUDGET,    /* this client's budget for this generation is spent */
} replay_verdict;

/*
 * Whether sent_at (a request's, unix seconds) is fresh at now (the wall
 * clock): within [now - window, now + skew] and not before started -
 * skew. 1 yes, 0 no (REPLAY_STALE). What replay_guard_check() asks
 * first; for requests no guard remembers (tokens mode), the window
 * alone, with started 0.
 */
int replay_fresh(const replay_config *config, uint64_t sent_at, int64_t now);

/*
 * Makes a guard with a fresh random slot key (veil_crypto_init() must
 * have succeeded). Errors: VEIL_ERR_ARGUMENT (window 0, capacity 0 or
 * above the maximum, client_budget 0 or above capacity), VEIL_ERR_NOMEM.
 */
veil_err replay_guard_new(const replay_config *config, replay_guard **out)
        __attribute__((warn_unused_result));

/* Wipes the slot key and frees. NULL ok. */
void replay_guard_free(replay_guard *g);

/*
 * Checks one opened request and, when it is FRESH, remembers it. Thread
 * safe. client_key: the frame's client key; nonce: the box's nonce. now:
 * the wall clock in unix seconds (sent_at is judged against it); mono: a
 * monotonic clock in seconds (generations turn on it). *retry_after (may
 * be NULL) gets, for FULL and BUDGET, the seconds until the generation
 * turns (at least 1), else 0. Every request costs the same hashing, and
 * the lock is held only for the table probes.
 */
replay_verdict replay_guard_check(replay_guard *g, const uint8_t client_key[REPLAY_CLIENT_KEY_SIZE],
                                  const uint8_t nonce[REPLAY_NONCE_SIZE], uint64_t sent_at,
                                  int64_t now, int64_t mono, uint32_t *retry_after);

#endif

/*
 * Replay protection for sealed requests. A request carries the client's
 * time (sent_at) inside its box, and its box has a random nonce. The
 * guard accepts a request once, and only while sent_at is within the
 * window: REPLAYED for a nonce seen before, STALE for a time outside
 * [now - window, now + skew]. It remembers nonces for two generations of
 * window + skew seconds each, which covers every request still inside the
 * window, in memory bounded by its capacity: when a generation is full it
 * answers FULL (the server then says BUSY) rather than forget.
 *
 * May use: common/ (error.h); nothing else of the project.
 */
#ifndef VEIL_SERVER_REPLAY_H
#define VEIL_SERVER_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define REPLAY_DEFAULT_WINDOW 300 /* seconds a request stays valid */
#define REPLAY_DEFAULT_SKEW 30	  /* seconds a client's clock may run ahead */
#define REPLAY_DEFAULT_CAPACITY ((size_t)1 << 18) /* requests per generation */
#define REPLAY_MAX_CAPACITY ((size_t)1 << 24)
#define REPLAY_NONCE_SIZE 24

typedef struct replay_guard replay_guard;

typedef enum replay_verdict {
	REPLAY_FRESH = 0, /* first time seen: accepted and remembered */
	REPLAY_SEEN,	  /* the same sealed request again */
	REPLAY_STALE,	  /* sent_at outside the window */
	REPLAY_FULL,	  /* too many requests this generation to remember one more */
} replay_verdict;

/* Errors: VEIL_ERR_ARGUMENT (window 0, capacity 0 or too large), VEIL_ERR_NOMEM.
 * Memory: about 2 * 2 * capacity * 16 bytes. */
veil_err replay_guard_new(uint32_t window, uint32_t skew, size_t capacity, replay_guard **out)
	__attribute__((warn_unused_result));
void replay_guard_free(replay_guard *g); /* NULL ok */

/* Thread safe. now is the server's clock in unix seconds. */
replay_verdict replay_guard_check(replay_guard *g, const uint8_t nonce[REPLAY_NONCE_SIZE],
				  uint64_t sent_at, int64_t now);

#endif

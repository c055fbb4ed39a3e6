/*
 * A store's background thread (the clients' syncer, the query log's
 * writer) and what wakes it: a mutex, a condition variable whose timed
 * waits run on the monotonic clock (a step of the wall clock neither cuts
 * a wait short nor stretches it), and a stop flag.
 *
 * The thread's main function waits on wake under lock for its work or
 * for stop, and returns soon after it sees stop set. The owner may guard
 * its own state with lock too (the query log's queue).
 *
 * May use: common/ (error.h); nothing else of the project.
 */
#ifndef VEIL_SERVER_STORE_THREAD_H
#define VEIL_SERVER_STORE_THREAD_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "error.h"

typedef struct store_thread {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* deadlines from store_thread_deadline() */
	pthread_t thread;
	int stop;    /* set, under lock, by store_thread_stop() */
	int running; /* started and not yet joined */
	int made;    /* which of lock and wake exist */
} store_thread;

/*
 * Makes t's lock and wake; t must be zeroed first (calloc'd with its
 * owner). Errors: VEIL_ERR_SYSTEM; what was made before the failure is
 * left for store_thread_destroy().
 */
veil_err store_thread_init(store_thread *t) __attribute__((warn_unused_result));

/*
 * Starts run(arg) on the thread (t made by store_thread_init()). Errors:
 * VEIL_ERR_SYSTEM (no thread runs).
 */
veil_err store_thread_start(store_thread *t, void *(*run)(void *), void *arg)
        __attribute__((warn_unused_result));

/*
 * When the thread runs: sets stop under lock, signals wake, and joins it.
 * Otherwise nothing.
 */
void store_thread_stop(store_thread *t);

/* Destroys what store_thread_init() made (the thread stopped first). */
void store_thread_destroy(store_thread *t);

/* *deadline becomes ns nanoseconds from now on CLOCK_MONOTONIC. */
void store_thread_deadline(struct timespec *deadline, uint64_t ns);

#endif

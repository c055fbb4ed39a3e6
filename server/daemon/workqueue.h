/*
 * A bounded queue of received requests between veild's receiver and its
 * workers. When it is full the receiver answers BUSY at once instead of
 * letting work pile up without bound: memory stays flat and every request
 * gets an answer, a result or BUSY.
 *
 * May use: common/ (error.h); proto/ (transport.h); nothing else of the
 * project.
 */
#ifndef VEIL_SERVER_WORKQUEUE_H
#define VEIL_SERVER_WORKQUEUE_H

#include <stddef.h>

#include "error.h"
#include "transport.h"

#define WORKQUEUE_MAX_CAPACITY 65536

typedef struct workqueue workqueue;

/* Errors: VEIL_ERR_ARGUMENT (capacity 0 or above the maximum), VEIL_ERR_NOMEM. */
veil_err workqueue_new(size_t capacity, workqueue **out) __attribute__((warn_unused_result));

/* Frees the queue; requests still in it are dropped unanswered. NULL ok. */
void workqueue_free(workqueue *q);

/* Takes ownership of *req and returns 0, or returns -1 when the queue is
 * full or closed (*req stays the caller's). Never blocks on a full queue. */
int workqueue_push(workqueue *q, transport_request *req);

/* Waits up to timeout_ms for a request. 0 and *req filled; -1 on timeout
 * or when the queue is closed and empty. */
int workqueue_pop(workqueue *q, int timeout_ms, transport_request *req);

/* Wakes every waiter; later pushes fail. */
void workqueue_close(workqueue *q);

#endif

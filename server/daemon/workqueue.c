#include "workqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct workqueue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	transport_request *ring;
	size_t capacity, head, length;
	int closed;
};

void
workqueue_free(workqueue *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->length; i++)
		transport_request_drop(&q->ring[(q->head + i) % q->capacity]);
	pthread_cond_destroy(&q->nonempty);
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	free(q);
}

veil_err
workqueue_new(size_t capacity, workqueue **out)
{
	*out = NULL;
	if (capacity == 0 || capacity > WORKQUEUE_MAX_CAPACITY)
		return VEIL_ERR_ARGUMENT;
	workqueue *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return VEIL_ERR_NOMEM;
	q->ring = calloc(capacity, sizeof(*q->ring));
	if (q->ring == NULL) {
		free(q);
		return VEIL_ERR_NOMEM;
	}
	q->capacity = capacity;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->nonempty, NULL);
	*out = q;
	return VEIL_OK;
}

int
workqueue_push(workqueue *q, transport_request *req)
{
	int rc = -1;
	pthread_mutex_lock(&q->lock);
	if (!q->closed && q->length < q->capacity) {
		q->ring[(q->head + q->length) % q->capacity] = *req;
		q->length++;
		rc = 0;
		pthread_cond_signal(&q->nonempty);
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

int
workqueue_pop(workqueue *q, int timeout_ms, transport_request *req)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	int rc = -1;
	pthread_mutex_lock(&q->lock);
	while (q->length == 0 && !q->closed)
		if (pthread_cond_timedwait(&q->nonempty, &q->lock, &until) == ETIMEDOUT)
			break;
	if (q->length > 0) {
		*req = q->ring[q->head];
		q->head = (q->head + 1) % q->capacity;
		q->length--;
		rc = 0;
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

void
workqueue_close(workqueue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = 1;
	pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
}

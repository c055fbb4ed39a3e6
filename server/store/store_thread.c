#include "store_thread.h"

#define NS_PER_SECOND 1000000000L

enum {
	MADE_LOCK = 1 << 0,
	MADE_WAKE = 1 << 1,
};

veil_err
store_thread_init(store_thread *t)
{
	pthread_condattr_t attr;
	if (pthread_mutex_init(&t->lock, NULL) != 0)
		return VEIL_ERR_SYSTEM;
	t->made |= MADE_LOCK;
	if (pthread_condattr_init(&attr) != 0)
		return VEIL_ERR_SYSTEM;
	int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0 && (rc = pthread_cond_init(&t->wake, &attr)) == 0)
		t->made |= MADE_WAKE;
	pthread_condattr_destroy(&attr);
	return rc == 0 ? VEIL_OK : VEIL_ERR_SYSTEM;
}

veil_err
store_thread_start(store_thread *t, void *(*run)(void *), void *arg)
{
	if (pthread_create(&t->thread, NULL, run, arg) != 0)
		return VEIL_ERR_SYSTEM;
	t->running = 1;
	return VEIL_OK;
}

void
store_thread_stop(store_thread *t)
{
	if (!t->running)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = 1;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	t->running = 0;
}

void
store_thread_destroy(store_thread *t)
{
	if (t->made & MADE_LOCK)
		pthread_mutex_destroy(&t->lock);
	if (t->made & MADE_WAKE)
		pthread_cond_destroy(&t->wake);
	t->made = 0;
}

void
store_thread_deadline(struct timespec *deadline, uint64_t ns)
{
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += (time_t)(ns / NS_PER_SECOND);
	deadline->tv_nsec += (long)(ns % NS_PER_SECOND);
	if (deadline->tv_nsec >= NS_PER_SECOND) {
		deadline->tv_nsec -= NS_PER_SECOND;
		deadline->tv_sec++;
	}
}

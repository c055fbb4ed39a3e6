#include "daemon_loop.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "msg.h"

/* Set by SIGINT and SIGTERM (handled in the main thread only) and by
 * daemon_stop(); read by the receiver and the workers. */
static atomic_int stopping;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a signal handler may store to stopping");

/* Set by SIGHUP, cleared by daemon_reload_requested(). */
static atomic_int reload;

/* The receive loop's BUSY answers. */
static _Atomic uint64_t busy_answers;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		atomic_store(&reload, 1);
	else
		atomic_store(&stopping, 1);
}

/* The signals the main thread alone handles. */
static void
handled_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

void
daemon_signals_block(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigset_t set;
	handled_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void
daemon_signals_unblock(void)
{
	sigset_t set;
	handled_signals(&set);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int
daemon_reload_requested(void)
{
	return atomic_exchange(&reload, 0) != 0;
}

uint64_t
daemon_busy_answers(void)
{
	return atomic_load(&busy_answers);
}

/* The workers' gate (daemon_workers_pause()): how many handle a request,
 * and whether new ones must wait. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_changed = PTHREAD_COND_INITIALIZER;
static int gate_paused;
static unsigned gate_busy;

/* Waits while the workers are paused; 0 when the worker may handle its
 * request (then gate_leave() after), -1 when the daemon stopped while
 * they were paused (drop it). */
static int
gate_enter(void)
{
	int rc = 0;
	pthread_mutex_lock(&gate_lock);
	while (gate_paused && !daemon_stopping()) {
		/* The stop flag is set from a signal handler, which cannot
		 * signal the condition: look at it at each poll. */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += DAEMON_POLL_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&gate_changed, &gate_lock, &until);
	}
	if (gate_paused)
		rc = -1;
	else
		gate_busy++;
	pthread_mutex_unlock(&gate_lock);
	return rc;
}

static void
gate_leave(void)
{
	pthread_mutex_lock(&gate_lock);
	if (--gate_busy == 0)
		pthread_cond_broadcast(&gate_changed);
	pthread_mutex_unlock(&gate_lock);
}

void
daemon_workers_pause(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_paused = 1;
	while (gate_busy > 0)
		pthread_cond_wait(&gate_changed, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
}

void
daemon_workers_resume(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_paused = 0;
	pthread_cond_broadcast(&gate_changed);
	pthread_mutex_unlock(&gate_lock);
}

void
daemon_stop(void)
{
	atomic_store(&stopping, 1);
}

int
daemon_stopping(void)
{
	return atomic_load(&stopping) != 0;
}

/* Serves requests from the queue until it is closed and drained. */
static void *
worker_main(void *arg)
{
	daemon_worker *w = arg;
	buf reply;
	buf_init(&reply);
	for (;;) {
		transport_request req;
		if (workqueue_pop(w->queue, DAEMON_POLL_MS, &req) != 0) {
			if (daemon_stopping())
				break;
			continue;
		}
		if (gate_enter() != 0) {
			transport_request_drop(&req);
			continue;
		}
		buf_reset(&reply);
		w->handle(w->state, req.data, req.len, &reply);
		if (buf_len(&reply) == 0)
			transport_request_drop(&req);
		else
			(void)transport_server_reply(w->server, &req,
			                             (const uint8_t *)buf_data(&reply),
			                             buf_len(&reply));
		gate_leave();
	}
	buf_free(&reply);
	return NULL;
}

unsigned
daemon_workers_start(const char *program, daemon_worker *workers, unsigned count,
                     transport_server *server, workqueue *queue, daemon_handler handle,
                     const daemon_worker_states *states)
{
	unsigned started = 0;
	for (; started < count; started++) {
		daemon_worker *w = &workers[started];
		void *state = NULL;
		*w = (daemon_worker){.server = server, .queue = queue};
		veil_err err = states->make(states->arg, &state);
		if (err == VEIL_OK) {
			w->handle = handle;
			w->state = state;
			if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
				err = VEIL_ERR_SYSTEM; /* a thread could not be made */
		}
		if (err != VEIL_OK) {
			fprintf(stderr, "%s: cannot start worker: %s\n", program,
			        veil_strerror(err));
			states->release(state);
			daemon_stop();
			break;
		}
	}
	return started;
}

void
daemon_workers_join(daemon_worker *workers, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		pthread_join(workers[i].thread, NULL);
}

long long
daemon_receive_loop(const char *program, transport_server *server, workqueue *queue,
                    void (*periodic)(void *arg), void *arg)
{
	long long busy = 0;
	buf frame;
	buf_init(&frame);
	envelope_error_frame(&frame, PROTO_STATUS_BUSY);
	while (!daemon_stopping()) {
		if (periodic != NULL)
			periodic(arg);
		transport_request req;
		veil_err err = transport_server_receive(server, DAEMON_POLL_MS, &req);
		if (err == VEIL_ERR_TIMEOUT)
			continue;
		if (err != VEIL_OK) {
			if (daemon_stopping() || errno == EINTR)
				continue; /* a signal: the loop condition decides */
			fprintf(stderr, "%s: receive failed: %s\n", program, transport_strerror());
			busy = -1;
			break;
		}
		if (workqueue_push(queue, &req) != 0) {
			(void)transport_server_reply(
			        server, &req, (const uint8_t *)buf_data(&frame), buf_len(&frame));
			busy++;
			atomic_fetch_add(&busy_answers, 1);
		}
	}
	buf_free(&frame);
	return busy;
}

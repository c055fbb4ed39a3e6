#include "daemon_loop.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "msg.h"

/* Set by SIGINT and SIGTERM (handled in the main thread only) and by
 * daemon_stop(); read by the receiver and the workers. */
static atomic_int stopping;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a signal handler may store to stopping");

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&stopping, 1);
}

/* The signals that stop a daemon. */
static void
stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
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
	signal(SIGPIPE, SIG_IGN);
	sigset_t set;
	stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void
daemon_signals_unblock(void)
{
	sigset_t set;
	stop_signals(&set);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
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
		buf_reset(&reply);
		w->handle(w->state, req.data, req.len, &reply);
		if (buf_len(&reply) == 0)
			transport_request_drop(&req);
		else
			(void)transport_server_reply(w->server, &req,
			                             (const uint8_t *)buf_data(&reply),
			                             buf_len(&reply));
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
		}
	}
	buf_free(&frame);
	return busy;
}

/*
 * The serving loops of veil's daemons (veild, veil-issuer): the stop
 * signals, the receiver that queues requests for the workers (or
 * answers BUSY), and the workers that hand each request to the daemon's
 * handler. The handler is the daemon's: service_handle() (service.h),
 * issue_handle() (issue_service.h).
 *
 * Stopping: SIGINT and SIGTERM set a process-wide flag, handled in the
 * main thread only (every other thread starts with them blocked); the
 * receiver stops at the next poll, and the workers once their queue is
 * closed and drained. One process serves one loop.
 *
 * Reloading: SIGHUP sets another flag, handled likewise, which the
 * daemon reads (daemon_reload_requested()) from its periodic work; a
 * daemon that does not read it carries on as before. To change what the
 * workers use, the daemon pauses them (daemon_workers_pause()): requests
 * keep queueing meanwhile, none is dropped.
 *
 * Nothing here prints but the receiver's transport failure, with the
 * transport's reason (never a peer or a request).
 *
 * May use: common/ (buf.h, error.h); proto/ (envelope.h, msg.h,
 * transport.h); its own folder (workqueue.h); nothing else of the
 * project.
 */
#ifndef VEIL_SERVER_DAEMON_LOOP_H
#define VEIL_SERVER_DAEMON_LOOP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "transport.h"
#include "workqueue.h"

/* How long a worker or the receiver waits before it looks at the stop flag. */
#define DAEMON_POLL_MS 200

/*
 * Installs the handler of the stop signals and of SIGHUP, ignores
 * SIGPIPE and blocks SIGINT, SIGTERM and SIGHUP in the calling thread,
 * so that every thread started after it inherits them blocked. Call from
 * main() before any thread starts (the stores and the transport start
 * some): a signal that comes before daemon_signals_unblock() is kept
 * pending until then.
 */
void daemon_signals_block(void);

/* Unblocks SIGINT, SIGTERM and SIGHUP in the calling thread (main(), once
 * every worker runs): from then on the first two stop the loops and the
 * third asks for a reload. */
void daemon_signals_unblock(void);

/* 1 when SIGHUP came since the last call (several count as one), else
 * 0; clears the request. */
int daemon_reload_requested(void);

/* Sets the stop flag, as the signals do: the loops end. */
void daemon_stop(void);

/* 1 once the stop flag is set, else 0. */
int daemon_stopping(void);

/* What a worker runs on each request: appends the reply frame to reply,
 * or leaves it empty when the request is dropped unanswered. */
typedef void (*daemon_handler)(void *state, const uint8_t *request, size_t len, buf *reply);

/* One worker thread, as daemon_workers_start() fills it in. */
typedef struct daemon_worker {
	pthread_t thread;
	transport_server *server; /* replies go back through it */
	workqueue *queue;         /* requests come from it */
	daemon_handler handle;
	void *state; /* the handler's per-worker state, the caller's */
} daemon_worker;

/* How each worker's handler state is made and freed: the daemon's
 * (service_worker_new(), issue_worker_new()). */
typedef struct daemon_worker_states {
	/* Makes one worker's state into *state: VEIL_OK, or the error that
	 * stops the start. */
	veil_err (*make)(void *arg, void **state);
	void (*release)(void *state); /* frees one; NULL is a no-op */
	void *arg;                    /* make's */
} daemon_worker_states;

/*
 * Starts count workers in workers[0..count), the caller's array: for
 * each in turn, states->make() gives its state, then its thread starts
 * serving requests from queue with handle, replying through server,
 * until the queue is closed and drained or it waits idle with the stop
 * flag set. At the first that fails (its state, or its thread) it says
 * "PROGRAM: cannot start worker: REASON" on stderr (REASON make's
 * error), frees that worker's state with states->release, sets the stop
 * flag (daemon_stop()) and starts no more. Returns the number started,
 * n: workers[0..n) run, each with its state in .state, the caller's to
 * read and free after daemon_workers_join().
 */
unsigned daemon_workers_start(const char *program, daemon_worker *workers, unsigned count,
                              transport_server *server, workqueue *queue, daemon_handler handle,
                              const daemon_worker_states *states)
        __attribute__((warn_unused_result));

/*
 * Waits until no worker is handling a request, and keeps them from
 * starting another until daemon_workers_resume(): meanwhile the caller
 * may change the workers' states and what they share. Requests keep
 * queueing (a worker that has taken one waits with it); the receiver
 * answers BUSY when the queue is full, as always. Call from the thread
 * that runs daemon_receive_loop() (its periodic work), never from a
 * worker, and pair each call with daemon_workers_resume(), unless the
 * daemon stops (daemon_stop()): paused workers then drop what they
 * take, unanswered, so that daemon_workers_join() returns.
 */
void daemon_workers_pause(void);

/* Lets the workers paused by daemon_workers_pause() go on. */
void daemon_workers_resume(void);

/* Waits for the threads of workers[0..count), count what
 * daemon_workers_start() returned, to end: call daemon_stop() and
 * workqueue_close() first. Their states stay, the caller's. */
void daemon_workers_join(daemon_worker *workers, unsigned count);

/*
 * The receiver, until the stop flag is set: queues each request for the
 * workers or, when the queue is full, answers BUSY at once (a plaintext
 * ERROR frame: opening the box would already cost what an overloaded
 * server does not have). periodic(arg), when not NULL, runs in this
 * thread before each receive: after each request and at least every
 * DAEMON_POLL_MS; it paces its own work. Returns the number of BUSY
 * answers, or -1 when the transport failed ("PROGRAM: receive failed:
 * REASON" on stderr).
 */
long long daemon_receive_loop(const char *program, transport_server *server, workqueue *queue,
                              void (*periodic)(void *arg), void *arg);

/* The BUSY answers of the receive loop so far (queue full), readable from
 * any thread while it runs: what the daemon's metrics report. */
uint64_t daemon_busy_answers(void);

#endif

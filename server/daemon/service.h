/*
 * The request handler of veild: one sealed frame in, one reply frame out
 * (or nothing, for bytes that are not a frame). Independent of the
 * transport and of threads, so it can be driven by tests directly.
 *
 * A service is shared by all workers and immutable after creation; each
 * worker thread owns one service_worker (registry read snapshot, OPRF
 * contexts, reusable buffers and, in keys mode, the identity keys of
 * the clients it served lately: envelope_identity_cache, in guarded
 * memory, never written anywhere, gone with the worker). Nothing a peer
 * sends can change the registry: the handler only reads it.
 *
 * Two modes (PROTOCOL.md, "Tokens mode"). In keys mode (the default)
 * a request comes in a SEALED frame that proves its client key, by which
 * it is enrolled, charged, guarded against replay and logged. In tokens
 * mode (service_config.redeemer set) veild never learns a client key: it
 * serves INFO and LOOKUP_TOKEN in SEALED_ANONYMOUS frames only, and
 * answers a SEALED frame with an ERROR frame BAD_FRAME without opening
 * it; a LOOKUP_TOKEN pays with one Privacy Pass token (redeem.h) instead
 * of a quota, the spent set is its replay guard (a sealed request
 * carries a token that redeems once), and the log records it with no
 * requester (qlog.h, Anonymous logs). Keys mode answers a
 * SEALED_ANONYMOUS frame BAD_FRAME.
 *
 * May use: common/ (buf.h, clock.h, entry.h, error.h, oprf.h, token.h);
 * proto/ (envelope.h, msg.h, wire.h); server/store/ (clients.h, qlog.h,
 * registry.h, state.h); server/issuer/ (redeem.h); its own folder
 * (admission.h, replay.h); nothing else of the project.
 */
#ifndef VEIL_SERVER_SERVICE_H
#define VEIL_SERVER_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "msg.h"
#include "clients.h"
#include "qlog.h"
#include "redeem.h"
#include "registry.h"
#include "state.h"

#define SERVICE_DEFAULT_BATCH_CAP      256
/* Keys mode: the identity keys each worker keeps (envelope_identity_cache_new()). */
#define SERVICE_IDENTITY_CACHE_ENTRIES 512

typedef struct service_config {
	unsigned batch_cap;          /* 1..PROTO_MAX_BATCH */
	long long clock_offset;      /* seconds added to the clock (drills, simulations) */
	qlog *log;                   /* where evaluated lookups are recorded; NULL: nowhere */
	struct replay_guard *replay; /* refuses repeated and stale requests; NULL: none */
	clients *clients;            /* enrolment and quotas; NULL: anyone, unlimited */
	/* Tokens mode when not NULL: the tokens that pay for lookups. clients
	 * and replay are then not used (leave them NULL), and log must be
	 * an anonymous one (qlog_config.anonymous). */
	redeemer *redeemer;
} service_config;

/* Counters a service keeps for operators (no secrets, no peers). */
typedef struct service_stats {
	uint64_t requests;
	uint64_t dropped; /* not a frame */
	uint64_t items;   /* elements evaluated */
	uint64_t tokens;  /* tokens mode: tokens redeemed (each paid for one lookup) */
	/* Error replies (refusals included) by wire status code. */
	uint64_t errors[PROTO_STATUS_TOKEN_SPENT + 1];
} service_stats;

typedef struct service service;
typedef struct service_worker service_worker;

/*
 * Makes a service over an open state (which must outlive it). It serves
 * the state's suite (state_suite()) alone: INFO advertises its wire
 * number, and a LOOKUP of another suite is refused UNSUPPORTED.
 * Errors: VEIL_ERR_ARGUMENT (batch cap out of range; a redeemer with
 * clients or a replay guard), VEIL_ERR_UNSUPPORTED
 * (a suite with no wire number), VEIL_ERR_NOMEM.
 */
veil_err service_new(veil_state *state, const service_config *config, service **out)
        __attribute__((warn_unused_result));
void service_free(service *svc);

/* The service's clock: unix seconds plus the configured offset. */
int64_t service_now(const service *svc);

/*
 * A worker's state over svc, for one thread at a time; in keys mode it
 * keeps up to SERVICE_IDENTITY_CACHE_ENTRIES clients' identity keys
 * (envelope_open_request_cached()), under the state's transport key.
 * Errors: VEIL_ERR_NOMEM, and those of oprf_ctx_new() and
 * registry_reader_new(). service_worker_free() wipes what it kept.
 * NULL ok there.
 */
veil_err service_worker_new(service *svc, service_worker **out) __attribute__((warn_unused_result));
void service_worker_free(service_worker *w);

/*
 * Handles one request frame. Appends the reply frame to reply, or leaves
 * reply empty when the request must be dropped unanswered. Never fails on
 * peer input: every problem becomes an ERROR reply. The checks, cheapest
 * and least fillable first: the frame; the envelope (only a box that
 * opens names its requester); enrolment (a read of the client store,
 * UNAUTHORIZED); the replay guard (REPLAYED, STALE, BUSY), which so
 * remembers nothing of a stranger; the message and its limits; the quota
 * (RATE_LIMITED), which charges a request once for all the processes of
 * the state (clients_charge_request(): REPLAYED for a request another
 * process, or this one before a restart, already charged; the guard is
 * this process's alone, and must use the default window); then
 * evaluation. Only a LOOKUP that reached evaluation
 * (the quota paid for its items) is recorded in the query log, with its
 * status; INFO and every refusal are not, and are counted in the
 * worker's stats by status instead.
 *
 * In tokens mode: the frame (SEALED_ANONYMOUS only, else BAD_FRAME in an
 * ERROR frame); the envelope (BAD_ENVELOPE); sent_at within the replay
 * guard's default window, REPLAY_DEFAULT_WINDOW seconds back and
 * REPLAY_DEFAULT_SKEW ahead (STALE); the message (INFO or LOOKUP_TOKEN,
 * else UNSUPPORTED) and every check of its lookup body (suite, mode,
 * batch cap and size class, key, prefixes), all before the token is
 * redeemed, so a request refused for its body spends nothing; then the
 * token (TOKEN_INVALID, TOKEN_SPENT, or INTERNAL when the spent set
 * fails); then evaluation. A LOOKUP_TOKEN whose token redeemed is
 * logged, with no requester.
 */
void service_handle(service_worker *w, const uint8_t *request, size_t len, buf *reply);

/* Adds this worker's counters, as of the last request it finished, to
 * *total. From any thread, also while the worker handles requests. */
void service_worker_stats(service_worker *w, service_stats *total);

/*
 * The prefix length a veild with the default batch cap recommends for the
 * registry of the state directory dir, as its INFO advertises it: what
 * clients will send. Errors: those of state_open() (*why as there) and
 * registry_stats_read().
 */
veil_err service_state_prefix_bits(const char *dir, uint8_t *recommended, const char **why)
        __attribute__((warn_unused_result));

#endif

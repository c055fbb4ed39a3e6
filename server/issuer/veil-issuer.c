/*
 * veil-issuer: the token issuer of tokens mode. A thin main: options and
 * config, the issuer state directory (issuer.h), a transport socket, and
 * N worker threads that each run issue_handle() (issue_service.h) on what
 * they receive.
 *
 * What it prints: one ready line, operational errors and a summary at
 * shutdown, all on stderr; never a client key, an element, a key or a
 * peer.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clients.h"
#include "daemon_config.h"
#include "daemon_loop.h"
#include "envelope.h"
#include "issue_service.h"
#include "issuer.h"
#include "notify.h"
#include "replay.h"
#include "transport.h"
#include "workqueue.h"

#define PROGRAM          "veil-issuer"
#define MAX_THREADS      256
/* --clock-offset at most, either way: about 100 years. */
#define MAX_CLOCK_OFFSET 3155760000LL

typedef struct options {
	const char *state_dir;
	const char *listen;
	uint32_t threads; /* 0: the number of cores */
	uint32_t batch_cap;
	uint32_t queue;         /* requests waiting for a worker; more get BUSY; 0: 4 per thread */
	int64_t clock_offset;   /* seconds added to the ration's clock: drills and tests */
	const char *enrolment;  /* --enrolment, over [clients] enrolment */
	const char *config;     /* --config FILE */
	clients_config clients; /* the [clients] section */
} options;

static const char synopsis[] =
        "--state DIR --listen URL [--threads N] [--batch-cap N] [--queue N]\n"
        "             [--enrolment required|open] [--clock-offset S] [--config FILE]";

/* --help, after the usage line. */
static void
print_help(void)
{
	printf("Issues Privacy Pass tokens (type 0x0001) to the accounts of the issuer\n"
	       "state directory DIR (made by `veil-admin issuer create`, accounts enrolled\n"
	       "with `veil-admin client add`), on URL, tcp://HOST:PORT or ipc:///PATH.\n"
	       "Serves TOKEN_ISSUE in SEALED frames only; each account gets its daily\n"
	       "ration of tokens.\n"
	       "\n"
	       "  --state DIR      issuer state directory (keys and accounts)\n"
	       "  --listen URL     where to listen\n"
	       "  --threads N      worker threads, 1..%d (default: the number of cores)\n"
	       "  --batch-cap N    most tokens asked in one request, 1..%d (default %d);\n"
	       "                   more are refused BATCH_TOO_LARGE\n"
	       "  --queue N        requests waiting for a worker before new ones are\n"
	       "                   answered BUSY at once, 1..%d (default: 4 per thread)\n"
	       "  --enrolment E    required (default): only accounts enrolled with\n"
	       "                   veil-admin client add get tokens; open: any key, the\n"
	       "                   default ration\n"
	       "  --clock-offset S shift the clock the ration's days are counted on by S\n"
	       "                   seconds (may be negative); for drills only (default 0)\n"
	       "  --config FILE    INI file; section [issuer] with keys state, listen,\n"
	       "                   threads, batch_cap, queue, clock_offset; section\n"
	       "                   [clients] with keys enrolment, capacity (default %d\n"
	       "                   tokens), refill_per_day (default %d). Command-line\n"
	       "                   options win.\n"
	       "  --help           this text\n"
	       "  --version        the version\n"
	       "\n"
	       "The issuer keys are read at start: restart it after `veil-admin issuer\n"
	       "rotate`. SIGINT or SIGTERM stops it cleanly.\n",
	       MAX_THREADS, PROTO_MAX_TOKEN_BATCH, PROTO_MAX_TOKEN_BATCH, WORKQUEUE_MAX_CAPACITY,
	       CLIENTS_DEFAULT_CAPACITY, CLIENTS_DEFAULT_REFILL_PER_DAY);
}

/*
 * Fills opt in from the command line and the configuration file it
 * names, the command line winning. Returns -1 to run, else the exit
 * status: 0 after --help or --version, 2 after a usage error. texts gets
 * what the file gave (free each).
 */
static int
parse_options(int argc, char **argv, options *opt, char *texts[CLI_MAX_OPTIONS])
{
	const cli_option table[] = {
	        CLI_TEXT_OPTION("state", &opt->state_dir),
	        CLI_TEXT_OPTION("listen", &opt->listen),
	        CLI_U32_OPTION("threads", &opt->threads, 1, MAX_THREADS),
	        CLI_U32_OPTION("batch-cap", &opt->batch_cap, 1, PROTO_MAX_TOKEN_BATCH),
	        CLI_U32_OPTION("queue", &opt->queue, 1, WORKQUEUE_MAX_CAPACITY),
	        CLI_I64_OPTION("clock-offset", &opt->clock_offset, -MAX_CLOCK_OFFSET,
	                       MAX_CLOCK_OFFSET),
	        CLI_TEXT_OPTION("enrolment", &opt->enrolment),
	        CLI_TEXT_OPTION("config", &opt->config),
	        CLI_END,
	};
	const cli_command cmd = {PROGRAM, synopsis, table};
	const daemon_config_file file = {"issuer", &opt->clients, NULL, NULL, NULL};
	const int rc = daemon_parse_options(&cmd, argc, argv, print_help, &file, texts);
	if (rc >= 0)
		return rc;
	if (opt->state_dir == NULL || opt->listen == NULL)
		return cli_usage_error(&cmd, "--state and --listen are required");
	return -1;
}

/* ------------------------------------------------------------------ */
/* Serving */

/* A worker's handler: issue_handle() on its issue_worker. */
static void
handle(void *state, const uint8_t *request, size_t len, buf *reply)
{
	issue_handle(state, request, len, reply);
}

/* A worker's state: an issue_worker of the service arg. */
static veil_err
worker_state_new(void *arg, void **state)
{
	issue_worker *iw = NULL;
	const veil_err err = issue_worker_new(arg, &iw);
	*state = iw;
	return err;
}

static void
worker_state_free(void *state)
{
	issue_worker_free(state);
}

/* What opening the state failed on, for the message. */
static const char *
open_hint(veil_err err)
{
	switch (err) {
	case VEIL_ERR_NOT_FOUND:
		return " (not an issuer state directory? make one with `veil-admin issuer create`)";
	case VEIL_ERR_PERMISSION:
		return " (a key file, or clients.key, may be read by the group or others)";
	default:
		return "";
	}
}

int
main(int argc, char **argv)
{
	options opt = {.batch_cap = PROTO_MAX_TOKEN_BATCH};
	issuer_config config;
	issuer *is = NULL;
	replay_guard *replay = NULL;
	issue_service *svc = NULL;
	transport_server *server = NULL;
	workqueue *queue = NULL;
	daemon_worker *workers = NULL;
	unsigned started = 0;
	long long busy = 0;
	char *config_texts[CLI_MAX_OPTIONS] = {NULL};
	int rc = 1;

	clients_config_defaults(&opt.clients);
	const int parsed = parse_options(argc, argv, &opt, config_texts);
	if (parsed >= 0) {
		rc = parsed;
		goto out;
	}
	if (opt.threads == 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		opt.threads = cores < 1 ? 1 : cores > MAX_THREADS ? MAX_THREADS : (unsigned)cores;
	}
	/* Before any thread starts: only the main thread handles the stop
	 * signals, once everything runs. */
	daemon_signals_block();

	if (veil_crypto_init() != VEIL_OK) {
		fprintf(stderr, PROGRAM ": crypto library failed to start\n");
		goto out;
	}
	issuer_config_defaults(&config);
	config.clients = opt.clients;
	veil_err err = issuer_open(opt.state_dir, &config, &is);
	if (err != VEIL_OK) {
		fprintf(stderr, PROGRAM ": cannot open issuer state %s: %s%s\n", opt.state_dir,
		        veil_strerror(err), open_hint(err));
		goto out;
	}
	/* Requests sealed before this start were never remembered here. */
	replay_config guard_config;
	replay_config_defaults(&guard_config, (int64_t)time(NULL));
	if ((err = replay_guard_new(&guard_config, &replay)) != VEIL_OK) {
		fprintf(stderr, PROGRAM ": %s\n", veil_strerror(err));
		goto out;
	}
	const issue_service_config service_config = {
	        .batch_cap = opt.batch_cap, .clock_offset = opt.clock_offset, .replay = replay};
	if ((err = issue_service_new(is, &service_config, &svc)) != VEIL_OK) {
		fprintf(stderr, PROGRAM ": %s\n", veil_strerror(err));
		goto out;
	}
	/* The codec's largest TOKEN_ISSUE is read whatever the batch cap, so
	 * that a count above the cap gets its BATCH_TOO_LARGE, not silence. */
	if ((err = transport_server_open(opt.listen, issue_max_request_size(PROTO_MAX_TOKEN_BATCH),
	                                 &server)) != VEIL_OK) {
		fprintf(stderr, PROGRAM ": cannot listen on %s: %s\n", opt.listen,
		        transport_strerror());
		goto out;
	}

	if (opt.queue == 0)
		opt.queue = 4 * opt.threads;
	workers = calloc(opt.threads, sizeof(*workers));
	if (workers == NULL || workqueue_new(opt.queue, &queue) != VEIL_OK) {
		fprintf(stderr, PROGRAM ": out of memory\n");
		goto out;
	}
	const daemon_worker_states states = {worker_state_new, worker_state_free, svc};
	started =
	        daemon_workers_start(PROGRAM, workers, opt.threads, server, queue, handle, &states);
	daemon_signals_unblock();
	if (!daemon_stopping()) {
		issuer_key_info keys[ISSUER_MAX_KEYS];
		size_t key_count = 0;
		if (issuer_keys(is, keys, &key_count) != VEIL_OK || key_count == 0)
			keys[0].id = 0;
		fprintf(stderr,
		        PROGRAM ": ready on %s, %u threads, batch cap %u, queue %u, enrolment %s, "
		                "ration %u tokens a day (bucket %u), current key %u%s\n",
		        opt.listen, opt.threads, opt.batch_cap, opt.queue,
		        opt.clients.enrolment_required ? "required" : "open",
		        opt.clients.refill_per_day, opt.clients.capacity, keys[0].id,
		        opt.clock_offset != 0 ? ", clock offset in force" : "");
		notify_say(PROGRAM, "READY=1");
		busy = daemon_receive_loop(PROGRAM, server, queue, NULL, NULL);
		notify_say(PROGRAM, "STOPPING=1");
		rc = busy < 0 ? 1 : 0;
	}
	daemon_stop();
	workqueue_close(queue);

	issue_stats total;
	memset(&total, 0, sizeof(total));
	daemon_workers_join(workers, started);
	for (unsigned i = 0; i < started; i++) {
		issue_worker_stats(workers[i].state, &total);
		issue_worker_free(workers[i].state);
	}
	if (started > 0) {
		uint64_t errors = 0;
		for (size_t i = 0; i < sizeof(total.errors) / sizeof(total.errors[0]); i++)
			errors += total.errors[i];
		fprintf(stderr,
		        PROGRAM
		        ": stopped; %llu requests, %llu tokens issued, %llu error replies "
		        "(%llu unauthorized, %llu rate limited, %llu replayed), %llu dropped, "
		        "%lld busy\n",
		        (unsigned long long)total.requests, (unsigned long long)total.tokens,
		        (unsigned long long)errors,
		        (unsigned long long)total.errors[PROTO_STATUS_UNAUTHORIZED],
		        (unsigned long long)total.errors[PROTO_STATUS_RATE_LIMITED],
		        (unsigned long long)total.errors[PROTO_STATUS_REPLAYED],
		        (unsigned long long)total.dropped, busy > 0 ? busy : 0);
	}
out:
	free(workers);
	workqueue_free(queue);
	transport_server_close(server);
	issue_service_free(svc);
	replay_guard_free(replay);
	issuer_close(is);
	for (size_t i = 0; i < CLI_MAX_OPTIONS; i++)
		free(config_texts[i]);
	return rc;
}

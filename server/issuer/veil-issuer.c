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
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>

#include "cli.h"
#include "clients.h"
#include "envelope.h"
#include "issue_service.h"
#include "issuer.h"
#include "replay.h"
#include "transport.h"
#include "workqueue.h"

#define PROGRAM          "veil-issuer"
#define MAX_THREADS      256
#define POLL_MS          200
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

/* Set by SIGINT and SIGTERM (handled in the main thread only: every other
 * thread starts with them blocked); read by the receiver and the workers. */
static atomic_int stopping;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a signal handler may store to stopping");

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&stopping, 1);
}

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

/* ------------------------------------------------------------------ */
/* The configuration file */

/* A whole decimal number in [min, max] into a 32-bit value; 1 on success. */
static int
config_u32(const char *value, uint64_t min, uint64_t max, uint32_t *out)
{
	uint64_t v;
	if (cli_parse_u64(value, min, max, &v) != 0)
		return 0;
	*out = (uint32_t)v;
	return 1;
}

/* required or open: --enrolment and [clients] enrolment; 0 or -1. */
static int
parse_enrolment(const char *value, int *required)
{
	if (strcmp(value, "required") == 0)
		*required = 1;
	else if (strcmp(value, "open") == 0)
		*required = 0;
	else
		return -1;
	return 0;
}

/* One key of the [clients] section; 1 on success. */
static int
clients_config_entry(clients_config *c, const char *name, const char *value)
{
	if (strcmp(name, "enrolment") == 0)
		return parse_enrolment(value, &c->enrolment_required) == 0;
	if (strcmp(name, "capacity") == 0)
		return config_u32(value, 1, UINT32_MAX, &c->capacity);
	if (strcmp(name, "refill_per_day") == 0)
		return config_u32(value, 1, UINT32_MAX, &c->refill_per_day);
	fprintf(stderr, PROGRAM ": config: unknown key '%s' in [clients]\n", name);
	return 0;
}

/*
 * Reading the file: its [issuer] keys are the command line's options
 * (batch_cap for --batch-cap), checked by the same table; inih keeps no
 * value, so the texts are copied, one per option.
 */
typedef struct config_reader {
	options *opt;
	const cli_option *table;
	char *texts[CLI_MAX_OPTIONS];
} config_reader;

/* One key of the [issuer] section, by the option of that name; 1 on success. */
static int
issuer_config_entry(config_reader *r, const char *name, const char *value)
{
	char option[32];
	const size_t len = strlen(name);
	if (len < sizeof(option)) {
		for (size_t i = 0; i <= len; i++)
			option[i] = name[i] == '_' ? '-' : name[i];
		for (size_t i = 0; r->table[i].name != NULL; i++) {
			const cli_option *o = &r->table[i];
			/* --enrolment has its key in [clients]; --config none. */
			if (strcmp(o->name, option) != 0 || o->target == &r->opt->enrolment ||
			    o->target == &r->opt->config)
				continue;
			switch (o->kind) {
			case CLI_TEXT: /* a key given twice: the last one */
				free(r->texts[i]);
				r->texts[i] = value[0] != '\0' ? strdup(value) : NULL;
				*(const char **)o->target = r->texts[i];
				return r->texts[i] != NULL;
			case CLI_U32:
				return config_u32(value, o->min, o->max != 0 ? o->max : UINT32_MAX,
				                  o->target);
			case CLI_I64:
				return cli_parse_i64(value, o->smin, o->smax, o->target) == 0;
			default:
				return 0;
			}
		}
	}
	fprintf(stderr, PROGRAM ": config: unknown key '%s' in [issuer]\n", name);
	return 0;
}

/* inih handler: 1 on success, 0 on error (inih reports the line). */
static int
config_entry(void *user, const char *section, const char *name, const char *value)
{
	config_reader *r = user;
	if (strcmp(section, "clients") == 0)
		return clients_config_entry(&r->opt->clients, name, value);
	if (strcmp(section, "issuer") == 0)
		return issuer_config_entry(r, name, value);
	fprintf(stderr, PROGRAM ": config: unknown section [%s]\n", section);
	return 0;
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
	int rc = cli_parse_options(&cmd, argc, argv, print_help);
	if (rc < 0 && opt->config != NULL) {
		config_reader reader = {opt, table, {NULL}};
		const int line = ini_parse(opt->config, config_entry, &reader);
		memcpy(texts, reader.texts, sizeof(reader.texts));
		if (line < 0) {
			cli_error(cmd.name, "cannot read config %s", opt->config);
			return CLI_EXIT_USAGE;
		}
		if (line > 0) {
			cli_error(cmd.name, "config %s: bad line %d", opt->config, line);
			return CLI_EXIT_USAGE;
		}
		/* The command line again, over the file. */
		rc = cli_parse_options(&cmd, argc, argv, print_help);
	}
	if (rc >= 0)
		return rc;
	if (opt->enrolment != NULL &&
	    parse_enrolment(opt->enrolment, &opt->clients.enrolment_required) != 0)
		return cli_usage_error(&cmd, "--enrolment takes required or open, not %s",
		                       opt->enrolment);
	if (opt->state_dir == NULL || opt->listen == NULL)
		return cli_usage_error(&cmd, "--state and --listen are required");
	return -1;
}

/* ------------------------------------------------------------------ */
/* Serving */

typedef struct worker {
	pthread_t thread;
	transport_server *server;
	workqueue *queue;
	issue_worker *iw;
} worker;

/* Serves requests from the queue until it is closed and drained. */
static void *
worker_main(void *arg)
{
	worker *wk = arg;
	buf reply;
	buf_init(&reply);
	for (;;) {
		transport_request req;
		if (workqueue_pop(wk->queue, POLL_MS, &req) != 0) {
			if (atomic_load(&stopping))
				break;
			continue;
		}
		buf_reset(&reply);
		issue_handle(wk->iw, req.data, req.len, &reply);
		if (buf_len(&reply) == 0)
			transport_request_drop(&req);
		else
			(void)transport_server_reply(wk->server, &req,
			                             (const uint8_t *)buf_data(&reply),
			                             buf_len(&reply));
	}
	buf_free(&reply);
	return NULL;
}

/*
 * The receiver: queues each request for the workers or, when the queue
 * is full, answers BUSY at once in an ERROR frame. Returns the number of
 * BUSY answers, or -1 when the transport failed.
 */
static long long
receive_loop(transport_server *server, workqueue *queue)
{
	long long busy = 0;
	buf frame;
	buf_init(&frame);
	envelope_error_frame(&frame, PROTO_STATUS_BUSY);
	while (!atomic_load(&stopping)) {
		transport_request req;
		veil_err err = transport_server_receive(server, POLL_MS, &req);
		if (err == VEIL_ERR_TIMEOUT)
			continue;
		if (err != VEIL_OK) {
			if (atomic_load(&stopping) || errno == EINTR)
				continue; /* a signal: the loop condition decides */
			fprintf(stderr, PROGRAM ": receive failed: %s\n", transport_strerror());
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
	worker *workers = NULL;
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
	/* Block the stop signals before any thread starts (the stores, the
	 * transport and the workers start some): only the main thread, which
	 * unblocks them once everything runs, handles them. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigset_t stop_set;
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_set, NULL);

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
	for (; started < opt.threads; started++) {
		worker *wk = &workers[started];
		wk->server = server;
		wk->queue = queue;
		if ((err = issue_worker_new(svc, &wk->iw)) != VEIL_OK ||
		    pthread_create(&wk->thread, NULL, worker_main, wk) != 0) {
			fprintf(stderr, PROGRAM ": cannot start worker: %s\n", veil_strerror(err));
			issue_worker_free(wk->iw);
			atomic_store(&stopping, 1);
			break;
		}
	}
	pthread_sigmask(SIG_UNBLOCK, &stop_set, NULL);
	if (!atomic_load(&stopping)) {
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
		busy = receive_loop(server, queue);
		rc = busy < 0 ? 1 : 0;
	}
	atomic_store(&stopping, 1);
	workqueue_close(queue);

	issue_stats total;
	memset(&total, 0, sizeof(total));
	for (unsigned i = 0; i < started; i++) {
		pthread_join(workers[i].thread, NULL);
		issue_worker_stats(workers[i].iw, &total);
		issue_worker_free(workers[i].iw);
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

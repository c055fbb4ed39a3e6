/*
 * veild: the contact discovery server. A thin main: options and config,
 * the state directory, a transport socket, and N worker threads that each
 * run service_handle on what they receive.
 *
 * What it prints: one ready line, operational errors and a summary at
 * shutdown, all on stderr; never a handle, an element, a key or a peer.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>

#include "envelope.h"
#include "qlog.h"
#include "service.h"
#include "state.h"
#include "transport.h"
#include "workqueue.h"
#include "replay.h"
#include "clients.h"

#define MAX_THREADS 256
#define POLL_MS 200

typedef struct options {
	char *state_dir;
	char *listen;
	unsigned threads;
	unsigned batch_cap;
	unsigned queue; /* requests waiting for a worker; more get BUSY */
	long long clock_offset; /* seconds added to the clock: drills and simulations */
	int clock_offset_set;
	qlog_config log;	/* the [log] section */
	clients_config clients; /* the [clients] section */
	int enrolment_set;
} options;

/* Accounts the requester-anonymity target refers to, until enrolment
 * counts them: the operator's estimate of the population. */
#define DEFAULT_LOG_ACCOUNTS 1000000

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
usage(FILE *to)
{
	fprintf(to,
		"usage: veild --state DIR --listen URL [--threads N] [--batch-cap N] [--queue N]\n"
		"             [--enrolment required|open] [--clock-offset S] [--config FILE]\n"
		"\n"
		"Serves privacy-preserving contact discovery from the state directory DIR\n"
		"(made by `veil-admin keygen`) on URL, tcp://HOST:PORT or ipc:///PATH.\n"
		"\n"
		"  --state DIR      state directory (keys and registry)\n"
		"  --listen URL     where to listen\n"
		"  --threads N      worker threads (default: the number of cores)\n"
		"  --batch-cap N    most items per lookup, 1..%d (default %d)\n"
		"  --queue N        requests waiting for a worker before new ones are\n"
		"                   answered BUSY at once (default: 4 per thread)\n"
		"  --enrolment E    required (default): only keys enrolled with veil-admin\n"
		"                   client add are served; open: any key, default quota\n"
		"  --clock-offset S shift the server's clock by S seconds (may be negative);\n"
		"                   for drills and simulations only (default 0)\n"
		"  --config FILE    INI file; section [veild] with keys state, listen,\n"
		"                   threads, batch_cap, queue, clock_offset; section [log] with keys\n"
		"                   accounts (default %d), universe, k_r, k_b, t_r, t_b,\n"
		"                   entry_retention_days, salt_retention_days,\n"
		"                   allow_long_retention; section [clients] with keys\n"
		"                   enrolment, capacity (default %d), refill_per_day\n"
		"                   (default %d). Command-line options win.\n"
		"  --help           this text\n"
		"\n"
		"SIGINT or SIGTERM stops it cleanly.\n",
		PROTO_MAX_BATCH, SERVICE_DEFAULT_BATCH_CAP, DEFAULT_LOG_ACCOUNTS,
		CLIENTS_DEFAULT_CAPACITY, CLIENTS_DEFAULT_REFILL_PER_DAY);
}

/* Parses a whole, possibly negative, decimal number of seconds (|s| < 100 years). */
static int
parse_offset(const char *s, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > 3155760000LL || v < -3155760000LL)
		return -1;
	*out = v;
	return 0;
}

/* Parses a whole decimal number in [min, max]. */
static int
parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int
set_string(char **slot, const char *value)
{
	char *copy = strdup(value);
	if (copy == NULL)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

/* Parses a whole decimal number in [min, max] into a 64-bit value. */
static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* One key of the [log] section; 1 on success. */
static int
log_config_entry(qlog_config *log, const char *name, const char *value)
{
	uint64_t v;
	if (strcmp(name, "accounts") == 0)
		return parse_u64(value, 1, UINT64_MAX / 2, &log->accounts) == 0;
	if (strcmp(name, "universe") == 0)
		return parse_u64(value, 1, UINT64_MAX / 2, &log->universe) == 0;
	if (strcmp(name, "k_r") == 0 || strcmp(name, "k_b") == 0) {
		if (parse_u64(value, 1, UINT32_MAX, &v) != 0)
			return 0;
		*(name[2] == 'r' ? &log->k_r : &log->k_b) = (uint32_t)v;
		return 1;
	}
	if (strcmp(name, "t_r") == 0 || strcmp(name, "t_b") == 0) {
		if (parse_u64(value, 1, QLOG_MAX_WIDTH, &v) != 0)
			return 0;
		*(name[2] == 'r' ? &log->t_r : &log->t_b) = (uint8_t)v;
		return 1;
	}
	if (strcmp(name, "entry_retention_days") == 0 || strcmp(name, "salt_retention_days") == 0) {
		if (parse_u64(value, 1, QLOG_MAX_LONG_RETENTION_DAYS, &v) != 0)
			return 0;
		*(name[0] == 'e' ? &log->entry_retention_days : &log->salt_retention_days) =
			(uint32_t)v;
		return 1;
	}
	if (strcmp(name, "allow_long_retention") == 0) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
			return 0;
		log->allow_long_retention = strcmp(value, "yes") == 0;
		return 1;
	}
	fprintf(stderr, "veild: config: unknown key '%s' in [log]\n", name);
	return 0;
}

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
	uint64_t v;
	if (strcmp(name, "enrolment") == 0)
		return parse_enrolment(value, &c->enrolment_required) == 0;
	if (strcmp(name, "capacity") == 0 || strcmp(name, "refill_per_day") == 0) {
		if (parse_u64(value, 1, UINT32_MAX, &v) != 0)
			return 0;
		*(name[0] == 'c' ? &c->capacity : &c->refill_per_day) = (uint32_t)v;
		return 1;
	}
	fprintf(stderr, "veild: config: unknown key '%s' in [clients]\n", name);
	return 0;
}

/* inih handler: 1 on success, 0 on error (inih reports the line). */
static int
config_entry(void *user, const char *section, const char *name, const char *value)
{
	options *opt = user;
	if (strcmp(section, "log") == 0)
		return log_config_entry(&opt->log, name, value);
	if (strcmp(section, "clients") == 0)
		return clients_config_entry(&opt->clients, name, value);
	if (strcmp(section, "veild") != 0) {
		fprintf(stderr, "veild: config: unknown section [%s]\n", section);
		return 0;
	}
	if (strcmp(name, "state") == 0)
		return set_string(&opt->state_dir, value) == 0;
	if (strcmp(name, "listen") == 0)
		return set_string(&opt->listen, value) == 0;
	if (strcmp(name, "threads") == 0)
		return parse_unsigned(value, 1, MAX_THREADS, &opt->threads) == 0;
	if (strcmp(name, "batch_cap") == 0)
		return parse_unsigned(value, 1, PROTO_MAX_BATCH, &opt->batch_cap) == 0;
	if (strcmp(name, "queue") == 0)
		return parse_unsigned(value, 1, WORKQUEUE_MAX_CAPACITY, &opt->queue) == 0;
	if (strcmp(name, "clock_offset") == 0) {
		opt->clock_offset_set = 1;
		return parse_offset(value, &opt->clock_offset) == 0;
	}
	fprintf(stderr, "veild: config: unknown key '%s'\n", name);
	return 0;
}

/* Returns 0 to run, 1 for --help (done), 2 for a usage error. */
static int
parse_options(int argc, char **argv, options *opt)
{
	options cli = {0};
	const char *config = NULL;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage(stdout);
			return 1;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "veild: %s needs a value (or is unknown); see --help\n", arg);
			return 2;
		}
		const char *value = argv[++i];
		if (strcmp(arg, "--state") == 0) {
			if (set_string(&cli.state_dir, value) != 0)
				return 2;
		} else if (strcmp(arg, "--listen") == 0) {
			if (set_string(&cli.listen, value) != 0)
				return 2;
		} else if (strcmp(arg, "--threads") == 0) {
			if (parse_unsigned(value, 1, MAX_THREADS, &cli.threads) != 0) {
				fprintf(stderr, "veild: --threads takes 1..%d\n", MAX_THREADS);
				return 2;
			}
		} else if (strcmp(arg, "--batch-cap") == 0) {
			if (parse_unsigned(value, 1, PROTO_MAX_BATCH, &cli.batch_cap) != 0) {
				fprintf(stderr, "veild: --batch-cap takes 1..%d\n", PROTO_MAX_BATCH);
				return 2;
			}
		} else if (strcmp(arg, "--queue") == 0) {
			if (parse_unsigned(value, 1, WORKQUEUE_MAX_CAPACITY, &cli.queue) != 0) {
				fprintf(stderr, "veild: --queue takes 1..%d\n", WORKQUEUE_MAX_CAPACITY);
				return 2;
			}
		} else if (strcmp(arg, "--enrolment") == 0) {
			if (parse_enrolment(value, &cli.clients.enrolment_required) != 0) {
				fprintf(stderr, "veild: --enrolment takes required or open\n");
				return 2;
			}
			cli.enrolment_set = 1;
		} else if (strcmp(arg, "--clock-offset") == 0) {
			if (parse_offset(value, &cli.clock_offset) != 0) {
				fprintf(stderr, "veild: --clock-offset takes whole seconds\n");
				return 2;
			}
			cli.clock_offset_set = 1;
		} else if (strcmp(arg, "--config") == 0) {
			config = value;
		} else {
			fprintf(stderr, "veild: unknown option %s; see --help\n", arg);
			return 2;
		}
	}
	if (config != NULL) {
		const int line = ini_parse(config, config_entry, opt);
		if (line < 0) {
			fprintf(stderr, "veild: cannot read config %s\n", config);
			return 2;
		}
		if (line > 0) {
			fprintf(stderr, "veild: config %s: bad line %d\n", config, line);
			return 2;
		}
	}
	if (cli.state_dir != NULL)
		set_string(&opt->state_dir, cli.state_dir);
	if (cli.listen != NULL)
		set_string(&opt->listen, cli.listen);
	if (cli.threads != 0)
		opt->threads = cli.threads;
	if (cli.batch_cap != 0)
		opt->batch_cap = cli.batch_cap;
	if (cli.queue != 0)
		opt->queue = cli.queue;
	if (cli.enrolment_set)
		opt->clients.enrolment_required = cli.clients.enrolment_required;
	if (cli.clock_offset_set)
		opt->clock_offset = cli.clock_offset;
	free(cli.state_dir);
	free(cli.listen);
	if (opt->state_dir == NULL || opt->listen == NULL) {
		fprintf(stderr, "veild: --state and --listen are required; see --help\n");
		return 2;
	}
	return 0;
}

typedef struct worker {
	pthread_t thread;
	transport_server *server;
	workqueue *queue;
	service_worker *sw;
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
			if (stopping)
				break;
			continue;
		}
		buf_reset(&reply);
		service_handle(wk->sw, req.data, req.len, &reply);
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
 * The receiver: queues each request for the workers or, when the queue is
 * full, answers BUSY at once (a plaintext ERROR frame: opening the box
 * would already cost what an overloaded server does not have). Returns
 * the number of BUSY answers, or -1 when the transport failed.
 */
static long long
receive_loop(transport_server *server, workqueue *queue)
{
	long long busy = 0;
	buf frame;
	buf_init(&frame);
	envelope_error_frame(&frame, PROTO_STATUS_BUSY);
	while (!stopping) {
		transport_request req;
		veil_err err = transport_server_receive(server, POLL_MS, &req);
		if (err == VEIL_ERR_TIMEOUT)
			continue;
		if (err != VEIL_OK) {
			if (stopping || errno == EINTR)
				continue; /* a signal: the loop condition decides */
			fprintf(stderr, "veild: receive failed: %s\n", transport_strerror());
			busy = -1;
			break;
		}
		if (workqueue_push(queue, &req) != 0) {
			(void)transport_server_reply(server, &req, (const uint8_t *)buf_data(&frame),
						     buf_len(&frame));
			busy++;
		}
	}
	buf_free(&frame);
	return busy;
}

int
main(int argc, char **argv)
{
	options opt = {.batch_cap = SERVICE_DEFAULT_BATCH_CAP};
	workqueue *queue = NULL;
	replay_guard *replay = NULL;
	long long busy = 0;
	qlog *log = NULL;
	qlog_config_defaults(&opt.log);
	opt.log.accounts = DEFAULT_LOG_ACCOUNTS;
	clients_config_defaults(&opt.clients);
	clients *enrolled = NULL;
	veil_state *state = NULL;
	service *svc = NULL;
	transport_server *server = NULL;
	worker *workers = NULL;
	unsigned started = 0;
	int rc = 1;

	const int parsed = parse_options(argc, argv, &opt);
	if (parsed != 0) {
		rc = parsed == 1 ? 0 : 2;
		goto out;
	}
	if (opt.threads == 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		opt.threads = cores < 1 ? 1 : cores > MAX_THREADS ? MAX_THREADS : (unsigned)cores;
	}
	if (veil_crypto_init() != VEIL_OK) {
		fprintf(stderr, "veild: crypto library failed to start\n");
		goto out;
	}

	const char *why = NULL;
	veil_err err = state_open(opt.state_dir, &state, &why);
	if (err != VEIL_OK) {
		fprintf(stderr, "veild: cannot open state %s: %s%s%s\n", opt.state_dir,
			veil_strerror(err), why ? ": " : "", why ? why : "");
		goto out;
	}
	/* The log refuses a configuration that breaks an anonymity target,
	 * and says by how much. */
	char why_log[256] = "";
	const int64_t now = (int64_t)time(NULL) + opt.clock_offset;
	if ((err = qlog_open(opt.state_dir, &opt.log, now, &log, why_log, sizeof(why_log))) !=
	    VEIL_OK) {
		fprintf(stderr, "veild: cannot open the query log: %s%s%s\n", veil_strerror(err),
			why_log[0] ? ": " : "", why_log);
		goto out;
	}
	if ((err = clients_open(opt.state_dir, &opt.clients, &enrolled)) != VEIL_OK) {
		fprintf(stderr, "veild: cannot open the client store: %s\n", veil_strerror(err));
		goto out;
	}
	if ((err = replay_guard_new(REPLAY_DEFAULT_WINDOW, REPLAY_DEFAULT_SKEW,
				    REPLAY_DEFAULT_CAPACITY, &replay)) != VEIL_OK) {
		fprintf(stderr, "veild: %s\n", veil_strerror(err));
		goto out;
	}
	service_config config = {.batch_cap = opt.batch_cap,
				 .clock_offset = opt.clock_offset,
				 .log = log,
				 .replay = replay,
				 .clients = enrolled};
	if ((err = service_new(state, &config, &svc)) != VEIL_OK) {
		fprintf(stderr, "veild: %s\n", veil_strerror(err));
		goto out;
	}
	if ((err = transport_server_open(opt.listen, PROTO_MAX_REQUEST_SIZE, &server)) != VEIL_OK) {
		fprintf(stderr, "veild: cannot listen on %s: %s\n", opt.listen,
			transport_strerror());
		goto out;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (opt.queue == 0)
		opt.queue = 4 * opt.threads;
	workers = calloc(opt.threads, sizeof(*workers));
	if (workers == NULL || workqueue_new(opt.queue, &queue) != VEIL_OK) {
		fprintf(stderr, "veild: out of memory\n");
		goto out;
	}
	for (; started < opt.threads; started++) {
		worker *wk = &workers[started];
		wk->server = server;
		wk->queue = queue;
		if ((err = service_worker_new(svc, &wk->sw)) != VEIL_OK ||
		    pthread_create(&wk->thread, NULL, worker_main, wk) != 0) {
			fprintf(stderr, "veild: cannot start worker: %s\n", veil_strerror(err));
			service_worker_free(wk->sw);
			stopping = 1;
			break;
		}
	}
	if (!stopping) {
		fprintf(stderr, "veild: ready on %s, %u threads, batch cap %u, queue %u, enrolment %s%s\n",
			opt.listen, opt.threads, opt.batch_cap, opt.queue,
			opt.clients.enrolment_required ? "required" : "open",
			opt.clock_offset != 0 ? ", clock offset in force" : "");
		busy = receive_loop(server, queue);
		rc = busy < 0 ? 1 : 0;
	}
	stopping = 1;
	workqueue_close(queue);

	service_stats total;
	memset(&total, 0, sizeof(total));
	for (unsigned i = 0; i < started; i++) {
		pthread_join(workers[i].thread, NULL);
		service_worker_stats(workers[i].sw, &total);
		service_worker_free(workers[i].sw);
	}
	qlog_counters counters = {0};
	if (log != NULL) {
		if (qlog_flush(log) != VEIL_OK)
			fprintf(stderr, "veild: the query log could not be flushed\n");
		qlog_counters_get(log, &counters);
	}
	if (started > 0) {
		uint64_t errors = 0;
		for (size_t i = 0; i < sizeof(total.errors) / sizeof(total.errors[0]); i++)
			errors += total.errors[i];
		fprintf(stderr,
			"veild: stopped; %llu requests, %llu items evaluated, %llu error replies, "
			"%llu dropped, %lld busy; log: %llu entries written, %llu dropped\n",
			(unsigned long long)total.requests, (unsigned long long)total.items,
			(unsigned long long)errors, (unsigned long long)total.dropped,
			busy > 0 ? busy : 0,
			(unsigned long long)counters.written, (unsigned long long)counters.dropped);
	}
out:
	free(workers);
	workqueue_free(queue);
	replay_guard_free(replay);
	clients_close(enrolled);
	transport_server_close(server);
	qlog_close(log);
	service_free(svc);
	state_free(state);
	free(opt.state_dir);
	free(opt.listen);
	return rc;
}

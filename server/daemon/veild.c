/*
 * veild: the contact discovery server. A thin main: options and config,
 * the state directory, a transport socket, and N worker threads that each
 * run service_handle on what they receive.
 *
 * What it prints: one ready line, operational errors, what a reload
 * changed and a summary at shutdown, all on stderr; never a handle, an
 * element, a key or a peer. With --metrics-file, its counters as a
 * Prometheus textfile (metrics.h).
 *
 * SIGHUP reloads (reload()): the configuration file, read again as at
 * the start (the command line winning), and the OPRF keys; [clients]
 * capacity and refill_per_day and the metrics options take effect, the
 * other keys at the next start (said on stderr).
 *
 * A registry installed into the state directory (veil-admin snapshot
 * install: DIR/registry switched to a new generation) is served from
 * within a second, or at SIGHUP (swap_registry()): the receive loop
 * checks once a second, opens the state again and swaps it in with the
 * workers paused, so requests wait and none is dropped; the query log,
 * client store, spent set and salt chain stay open throughout.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "clock.h"
#include "daemon_config.h"
#include "daemon_loop.h"
#include "metrics.h"
#include "envelope.h"
#include "notify.h"
#include "qlog.h"
#include "qlog_store.h"
#include "service.h"
#include "state.h"
#include "store_file.h"
#include "transport.h"
#include "workqueue.h"
#include "replay.h"
#include "clients.h"
#include "redeem.h"

#define MAX_THREADS              256
/* --clock-offset at most, either way: about 100 years. */
#define MAX_CLOCK_OFFSET         3155760000LL
/* --metrics-interval: the default, and at most a day. */
#define DEFAULT_METRICS_INTERVAL 10
#define MAX_METRICS_INTERVAL     86400

typedef struct options {
	const char *state_dir;
	const char *listen;
	uint32_t threads; /* 0: the number of cores */
	uint32_t batch_cap;
	uint32_t queue;          /* requests waiting for a worker; more get BUSY; 0: 4 per thread */
	uint32_t replay_budget;  /* one client's requests per replay generation; 0: the default */
	int64_t clock_offset;    /* seconds added to the clock: drills and simulations */
	bool force_clock_offset; /* --force-clock-offset: even over a log that holds entries */
	const char *enrolment;   /* --enrolment, over [clients] enrolment */
	const char *auth;        /* --auth keys|tokens; NULL: keys */
	const char *config;      /* --config FILE */
	const char *metrics_file;  /* --metrics-file; NULL: none */
	uint32_t metrics_interval; /* --metrics-interval, seconds */
	qlog_config log;           /* the [log] section */
	clients_config clients;    /* the [clients] section */
} options;

/* Accounts the requester-anonymity target refers to, until enrolment
 * counts them: the operator's estimate of the population. */
#define DEFAULT_LOG_ACCOUNTS 1000000

static const char synopsis[] =
        "--state DIR --listen URL [--threads N] [--batch-cap N] [--queue N]\n"
        "             [--enrolment required|open] [--replay-budget N] [--clock-offset S]\n"
        "             [--force-clock-offset] [--auth keys|tokens] [--config FILE]\n"
        "             [--metrics-file PATH] [--metrics-interval S]";

/* --help, after the usage line. */
static void
print_help(void)
{
	printf("Serves privacy-preserving contact discovery from the state directory DIR\n"
	       "(made by `veil-admin keygen`) on URL, tcp://HOST:PORT or ipc:///PATH.\n"
	       "\n"
	       "  --state DIR      state directory (keys and registry)\n"
	       "  --listen URL     where to listen\n"
	       "  --threads N      worker threads, 1..%d (default: the number of cores)\n"
	       "  --batch-cap N    most items per lookup, 1..%d (default %d)\n"
	       "  --queue N        requests waiting for a worker before new ones are\n"
	       "                   answered BUSY at once, 1..%d (default: 4 per thread)\n"
	       "  --enrolment E    required (default): only keys enrolled with veil-admin\n"
	       "                   client add are served; open: any key, default quota\n"
	       "  --replay-budget N\n"
	       "                   requests one client may send in one replay generation\n"
	       "                   (%d s), 1..%zu (default %zu); more are answered BUSY\n"
	       "  --clock-offset S shift the server's clock by S seconds (may be negative);\n"
	       "                   for drills and simulations only (default 0); refused\n"
	       "                   when the query log holds entries\n"
	       "  --force-clock-offset\n"
	       "                   allow --clock-offset over a log that holds entries\n"
	       "  --auth A         keys (default): requests sealed under enrolled client\n"
	       "                   keys, charged to their quotas; tokens: anonymous\n"
	       "                   requests, each lookup paid with one Privacy Pass token\n"
	       "                   of the issuer linked by veil-admin tokens link (no\n"
	       "                   client keys, quotas or [clients]; the log records no\n"
	       "                   requester)\n"
	       "  --metrics-file PATH\n"
	       "                   write the counters to PATH as a Prometheus textfile,\n"
	       "                   replaced whole (by a rename) at each write\n"
	       "  --metrics-interval S\n"
	       "                   seconds between writes, 1..%d (default %d)\n"
	       "  --config FILE    INI file; section [veild] with keys state, listen,\n"
	       "                   threads, batch_cap, queue, replay_budget, clock_offset,\n"
	       "                   force_clock_offset (yes or no), auth, metrics_file,\n"
	       "                   metrics_interval;\n"
	       "                   section [log] with keys accounts (default %d),\n"
	       "                   universe, k_r, k_b, t_r, t_b,\n"
	       "                   entry_retention_days, salt_retention_days,\n"
	       "                   allow_long_retention; section [clients] with keys\n"
	       "                   enrolment, capacity (default %d), refill_per_day\n"
	       "                   (default %d). Command-line options win.\n"
	       "  --help           this text\n"
	       "  --version        the version\n"
	       "\n"
	       "SIGINT or SIGTERM stops it cleanly. SIGHUP reloads the configuration\n"
	       "file and the OPRF keys without dropping a request: [clients] capacity\n"
	       "and refill_per_day, metrics_file and metrics_interval take effect; the\n"
	       "other keys need a restart (veild says which changed).\n",
	       MAX_THREADS, PROTO_MAX_BATCH, SERVICE_DEFAULT_BATCH_CAP, WORKQUEUE_MAX_CAPACITY,
	       REPLAY_DEFAULT_WINDOW + REPLAY_DEFAULT_SKEW + 1, REPLAY_DEFAULT_CAPACITY,
	       REPLAY_DEFAULT_CLIENT_BUDGET, MAX_METRICS_INTERVAL, DEFAULT_METRICS_INTERVAL,
	       DEFAULT_LOG_ACCOUNTS, CLIENTS_DEFAULT_CAPACITY, CLIENTS_DEFAULT_REFILL_PER_DAY);
}

/* ------------------------------------------------------------------ */
/* The configuration file */

/* One key of the [log] section (arg: the qlog_config); 1 on success. */
static int
log_config_entry(void *arg, const char *name, const char *value)
{
	qlog_config *log = arg;
	uint32_t width;
	if (strcmp(name, "accounts") == 0)
		return cli_parse_u64(value, 1, UINT64_MAX / 2, &log->accounts) == 0;
	if (strcmp(name, "universe") == 0)
		return cli_parse_u64(value, 1, UINT64_MAX / 2, &log->universe) == 0;
	if (strcmp(name, "k_r") == 0)
		return cli_parse_u32(value, 1, UINT32_MAX, &log->k_r) == 0;
	if (strcmp(name, "k_b") == 0)
		return cli_parse_u32(value, 1, UINT32_MAX, &log->k_b) == 0;
	if (strcmp(name, "t_r") == 0 || strcmp(name, "t_b") == 0) {
		if (cli_parse_u32(value, 1, QLOG_MAX_WIDTH, &width) != 0)
			return 0;
		*(name[2] == 'r' ? &log->t_r : &log->t_b) = (uint8_t)width;
		return 1;
	}
	if (strcmp(name, "entry_retention_days") == 0)
		return cli_parse_u32(value, 1, QLOG_MAX_LONG_RETENTION_DAYS,
		                     &log->entry_retention_days) == 0;
	if (strcmp(name, "salt_retention_days") == 0)
		return cli_parse_u32(value, 1, QLOG_MAX_LONG_RETENTION_DAYS,
		                     &log->salt_retention_days) == 0;
	if (strcmp(name, "allow_long_retention") == 0) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
			return 0;
		log->allow_long_retention = strcmp(value, "yes") == 0;
		return 1;
	}
	fprintf(stderr, "veild: config: unknown key '%s' in [log]\n", name);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The command line */

/* The options before the command line and the file are read. */
static void
options_defaults(options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->batch_cap = SERVICE_DEFAULT_BATCH_CAP;
	opt->metrics_interval = DEFAULT_METRICS_INTERVAL;
	qlog_config_defaults(&opt->log);
	opt->log.accounts = DEFAULT_LOG_ACCOUNTS;
	clients_config_defaults(&opt->clients);
}

/*
 * Fills opt in from the command line and the configuration file it
 * names, the command line winning. Returns -1 to run, else the exit
 * status: 0 after --help or --version, 2 after a usage error. texts
 * gets what the file gave (free each).
 */
static int
parse_options(int argc, char **argv, options *opt, char *texts[CLI_MAX_OPTIONS])
{
	const cli_option table[] = {
	        CLI_TEXT_OPTION("state", &opt->state_dir),
	        CLI_TEXT_OPTION("listen", &opt->listen),
	        CLI_U32_OPTION("threads", &opt->threads, 1, MAX_THREADS),
	        CLI_U32_OPTION("batch-cap", &opt->batch_cap, 1, PROTO_MAX_BATCH),
	        CLI_U32_OPTION("queue", &opt->queue, 1, WORKQUEUE_MAX_CAPACITY),
	        CLI_I64_OPTION("clock-offset", &opt->clock_offset, -MAX_CLOCK_OFFSET,
	                       MAX_CLOCK_OFFSET),
	        CLI_FLAG_OPTION("force-clock-offset", &opt->force_clock_offset),
	        CLI_TEXT_OPTION("enrolment", &opt->enrolment),
	        CLI_U32_OPTION("replay-budget", &opt->replay_budget, 1, REPLAY_DEFAULT_CAPACITY),
	        CLI_TEXT_OPTION("auth", &opt->auth),
	        CLI_TEXT_OPTION("config", &opt->config),
	        CLI_TEXT_OPTION("metrics-file", &opt->metrics_file),
	        CLI_U32_OPTION("metrics-interval", &opt->metrics_interval, 1, MAX_METRICS_INTERVAL),
	        CLI_END,
	};
	const cli_command cmd = {"veild", synopsis, table};
	const daemon_config_file file = {"veild", &opt->clients, "log", log_config_entry,
	                                 &opt->log};
	const int rc = daemon_parse_options(&cmd, argc, argv, print_help, &file, texts);
	if (rc >= 0)
		return rc;
	if (opt->auth != NULL && strcmp(opt->auth, "keys") != 0 && strcmp(opt->auth, "tokens") != 0)
		return cli_usage_error(&cmd, "--auth takes keys or tokens, not %s", opt->auth);
	if (opt->state_dir == NULL || opt->listen == NULL)
		return cli_usage_error(&cmd, "--state and --listen are required");
	return -1;
}

/*
 * The largest request a client of this server has reason to send: a
 * sealed LOOKUP of batch_cap items of element_size bytes. The frame is
 * header | ephemeral key | nonce | MAC | (client key | proof | time |
 * inner), the inner LOOKUP msg_type u8 | request_id | suite u8 | mode u8
 * | key_id u32 | prefix_bits u8 | count u16, then count * (prefix u32 |
 * element). The transport discards anything larger unread.
 */
static size_t
max_request_size(uint32_t batch_cap, size_t element_size, bool tokens)
{
	/* Tokens mode: a SEALED_ANONYMOUS LOOKUP_TOKEN, the token before the body. */
	return tokens ? ENVELOPE_ANONYMOUS_OVERHEAD +
	                        proto_lookup_token_size(batch_cap, element_size)
	              : ENVELOPE_SEALED_OVERHEAD + proto_lookup_size(batch_cap, element_size);
}

/* qlog_store_scan's callback: stops at the first entry. */
static veil_err
stop_at_entry(void *arg, const qlog_entry *entry)
{
	(void)entry;
	*(int *)arg = 1;
	return VEIL_ERR_EXISTS;
}

/*
 * Whether the query log under state_dir holds any entry: 1 yes, 0 no (or
 * no log yet), -1 when it cannot be read. Read before qlog_open(), which
 * advances the salt chain to the (offset) clock's day for good.
 */
static int
log_has_entries(const char *state_dir)
{
	char *dir = store_file_join(state_dir, QLOG_DIR);
	if (dir == NULL)
		return -1;
	int found = 0;
	qlog_store *store = NULL;
	veil_err err = qlog_store_open(dir, 1, &store); /* NOT_FOUND: no log yet */
	free(dir);
	if (err == VEIL_ERR_NOT_FOUND)
		return 0;
	if (err == VEIL_OK)
		err = qlog_store_scan(store, 0, UINT32_MAX, stop_at_entry, &found);
	qlog_store_close(store);
	return found ? 1 : err == VEIL_OK ? 0 : -1;
}

/* clients_list's callback: counts the enrolled. */
static int
count_enrolled(void *arg, const clients_record *r)
{
	if (r->enrolled)
		(*(uint64_t *)arg)++;
	return 0;
}

/* The number of enrolled clients into *out; VEIL_OK or clients_list's error. */
static veil_err
enrolled_count(clients *c, uint64_t *out)
{
	*out = 0;
	return clients_list(c, (int64_t)time(NULL), count_enrolled, out);
}

/*
 * What the running server checks hourly: the enrolled population against
 * the log's requester target. Clients enrolled or removed since the
 * start do not change the widths in force (a restart does); when the
 * count has moved so that a restart would refuse, it says so on stderr,
 * with the figures (never a key).
 */
typedef struct population_check {
	clients *clients;
	qlog_config log; /* as the log was opened, accounts included */
	int enrolment_required;
	uint64_t last_count;
	int64_t next; /* time(NULL) of the next check */
} population_check;

#define POPULATION_CHECK_SECONDS 3600

static void
population_check_run(population_check *pc)
{
	const int64_t now = (int64_t)time(NULL);
	if (!pc->enrolment_required || now < pc->next)
		return;
	pc->next = now + POPULATION_CHECK_SECONDS;
	uint64_t count;
	if (enrolled_count(pc->clients, &count) != VEIL_OK || count == pc->last_count)
		return;
	pc->last_count = count;
	qlog_config at_restart = pc->log;
	if (count < at_restart.accounts)
		at_restart.accounts = count;
	uint8_t t_r, t_b;
	char why[256] = "";
	if (qlog_widths(&at_restart, &t_r, &t_b, why, sizeof(why)) != VEIL_OK)
		fprintf(stderr,
		        "veild: warning: %llu clients are enrolled now (the log counts %llu "
		        "accounts); a restart would refuse: %s\n",
		        (unsigned long long)count, (unsigned long long)pc->log.accounts, why);
}

/* A worker's handler: service_handle() on its service_worker. */
static void
handle(void *state, const uint8_t *request, size_t len, buf *reply)
{
	service_handle(state, request, len, reply);
}

/* A worker's state: a service_worker of the service arg. */
static veil_err
worker_state_new(void *arg, void **state)
{
	service_worker *sw = NULL;
	const veil_err err = service_worker_new(arg, &sw);
	*state = sw;
	return err;
}

static void
worker_state_free(void *state)
{
	service_worker_free(state);
}

/* ------------------------------------------------------------------ */
/* Serving, and what SIGHUP changes */

/*
 * What veild serves with, as main() made it and reload() changes it:
 * only the main thread (the receiver's periodic work, then the
 * shutdown) reads or writes it, and it changes what the workers use
 * only while they are paused.
 */
typedef struct serving {
	int argc;
	char **argv;                        /* to read the options again */
	options given;                      /* as last read, before main() filled defaults in */
	char *given_texts[CLI_MAX_OPTIONS]; /* the last reload's file texts (given's) */
	const char *state_dir;              /* in force */
	veil_state **state;                 /* main()'s; a registry swap replaces it */
	double swap_next;                   /* monotonic seconds of the next swap check */
	int swap_failing;                   /* the last swap failed (said once) */
	service_config config;              /* the service's; clients changes on reload */
	clients_config clients;             /* what the client store counts with */
	service **svc;                      /* main()'s */
	clients **enrolled;                 /* main()'s; NULL in tokens mode */
	population_check *population;       /* its clients follow *enrolled */
	daemon_worker *workers;
	const unsigned *started;   /* workers[0..*started) run */
	service_stats retired;     /* of worker states a reload freed */
	const char *metrics_file;  /* in force; NULL: none */
	uint32_t metrics_interval; /* seconds */
	double metrics_next;       /* monotonic seconds of the next write */
	int metrics_failing;       /* the last write failed (said once) */
	int64_t start_time;
} serving;

/* The counters of the whole server: the workers' (running or not) and
 * those a reload retired, the receiver's BUSY and the log's. */
static void
serving_counters(const serving *sv, int up, metrics_values *v)
{
	memset(v, 0, sizeof(*v));
	v->service = sv->retired;
	for (unsigned i = 0; i < *sv->started; i++)
		service_worker_stats(sv->workers[i].state, &v->service);
	v->busy = daemon_busy_answers();
	if (sv->config.log != NULL)
		qlog_counters_get(sv->config.log, &v->log);
	v->start_time = sv->start_time;
	v->interval = sv->metrics_interval;
	v->up = up;
}

/* Writes the metrics file now, when there is one; a failure is said
 * once, until a write succeeds again. */
static void
metrics_now(serving *sv, int up)
{
	if (sv->metrics_file == NULL)
		return;
	metrics_values v;
	serving_counters(sv, up, &v);
	if (metrics_write(sv->metrics_file, &v) != VEIL_OK) {
		if (!sv->metrics_failing)
			fprintf(stderr, "veild: cannot write the metrics file %s: %s\n",
			        sv->metrics_file, strerror(errno));
		sv->metrics_failing = 1;
	} else {
		sv->metrics_failing = 0;
	}
}

/* 1 when two optional texts differ. */
static int
text_changed(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/*
 * Says which of the keys only a restart applies changed between was and
 * now (never their values: a path or an address is the operator's
 * business, not the log's); returns how many.
 */
static unsigned
restart_changes(const options *was, const options *now)
{
	const struct {
		const char *name;
		int changed;
	} keys[] = {
	        {"[veild] state", text_changed(was->state_dir, now->state_dir)},
	        {"[veild] listen", text_changed(was->listen, now->listen)},
	        {"[veild] threads", was->threads != now->threads},
	        {"[veild] batch_cap", was->batch_cap != now->batch_cap},
	        {"[veild] queue", was->queue != now->queue},
	        {"[veild] replay_budget", was->replay_budget != now->replay_budget},
	        {"[veild] clock_offset", was->clock_offset != now->clock_offset},
	        {"[veild] force_clock_offset", was->force_clock_offset != now->force_clock_offset},
	        {"[veild] auth", text_changed(was->auth, now->auth)},
	        {"[clients] enrolment",
	         was->clients.enrolment_required != now->clients.enrolment_required},
	        {"[log] accounts", was->log.accounts != now->log.accounts},
	        {"[log] universe", was->log.universe != now->log.universe},
	        {"[log] k_r", was->log.k_r != now->log.k_r},
	        {"[log] k_b", was->log.k_b != now->log.k_b},
	        {"[log] t_r", was->log.t_r != now->log.t_r},
	        {"[log] t_b", was->log.t_b != now->log.t_b},
	        {"[log] entry_retention_days",
	         was->log.entry_retention_days != now->log.entry_retention_days},
	        {"[log] salt_retention_days",
	         was->log.salt_retention_days != now->log.salt_retention_days},
	        {"[log] allow_long_retention",
	         was->log.allow_long_retention != now->log.allow_long_retention},
	};
	unsigned count = 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].changed) {
			fprintf(stderr,
			        "veild: reload: %s changed; it takes effect at the next start\n",
			        keys[i].name);
			count++;
		}
	return count;
}

/*
 * Makes the service over state with config, and each worker's state
 * anew over it, then (all made) puts them in place of the old ones, whose
 * counters go to sv->retired; sv->config becomes config. The workers
 * must be paused. On error nothing changed (what was made is freed).
 */
static veil_err
replace_service(serving *sv, veil_state *state, const service_config *config)
{
	service *svc = NULL;
	void **states = NULL;
	const unsigned count = *sv->started;
	veil_err err = (states = calloc(count, sizeof(*states))) != NULL ? VEIL_OK : VEIL_ERR_NOMEM;
	if (err == VEIL_OK)
		err = service_new(state, config, &svc);
	for (unsigned i = 0; i < count && err == VEIL_OK; i++)
		err = worker_state_new(svc, &states[i]);
	if (err != VEIL_OK) {
		for (unsigned i = 0; states != NULL && i < count; i++)
			worker_state_free(states[i]);
		free(states);
		service_free(svc);
		return err;
	}
	for (unsigned i = 0; i < count; i++) {
		service_worker_stats(sv->workers[i].state, &sv->retired);
		worker_state_free(sv->workers[i].state);
		sv->workers[i].state = states[i];
	}
	free(states);
	service_free(*sv->svc);
	*sv->svc = svc;
	sv->config = *config;
	return VEIL_OK;
}

/*
 * When DIR/registry names another registry than the one served
 * (veil-admin snapshot install switched it: state_registry_changed()),
 * opens the state again, which opens the new registry and loads the OPRF
 * keys it lists live, and, with the workers paused (requests wait in the
 * queue, none is dropped), serves from it: a new service and worker
 * states over it, then the old state closed. A new state that does not
 * open, or has another transport key or suite, is refused: the old one
 * keeps serving, said once on stderr until a swap succeeds. Returns 1
 * when it swapped, else 0.
 */
static int
swap_registry(serving *sv)
{
	if (!state_registry_changed(*sv->state))
		return 0;
	veil_state *fresh = NULL;
	const char *why = NULL;
	veil_err err = state_open(sv->state_dir, &fresh, &why);
	if (err == VEIL_OK &&
	    (state_suite(fresh) != state_suite(*sv->state) ||
	     sodium_memcmp(state_transport_public(fresh), state_transport_public(*sv->state),
	                   STATE_TRANSPORT_KEY_SIZE) != 0)) {
		err = VEIL_ERR_ARGUMENT;
		why = "another transport key or suite (restart veild to serve another server)";
	}
	if (err == VEIL_OK) {
		daemon_workers_pause();
		err = replace_service(sv, fresh, &sv->config);
		if (err == VEIL_OK) {
			state_free(*sv->state);
			*sv->state = fresh;
			fresh = NULL;
		}
		daemon_workers_resume();
	}
	state_free(fresh);
	if (err != VEIL_OK) {
		if (!sv->swap_failing)
			fprintf(stderr,
			        "veild: a new registry was installed but cannot be served: %s%s%s; "
			        "the old one stays\n",
			        veil_strerror(err), why != NULL ? ": " : "",
			        why != NULL ? why : "");
		sv->swap_failing = 1;
		return 0;
	}
	sv->swap_failing = 0;
	fprintf(stderr, "veild: serving a newly installed registry\n");
	return 1;
}

/*
 * Reopens the client store counting with wanted (the workers paused),
 * then makes the service and each worker's state anew over it, the old
 * ones' counters kept in sv->retired. A store that does not open with
 * wanted is opened again as it was. Returns 1 when wanted is in force,
 * 0 when the old configuration stays, -1 when veild cannot go on: said
 * on stderr, the stop flag set, the old states left for the shutdown
 * to free (the paused workers drop what they take).
 */
static int
reopen_clients(serving *sv, const clients_config *wanted)
{
	clients_close(*sv->enrolled);
	*sv->enrolled = NULL;
	clients_config in_force = *wanted;
	veil_err err = clients_open(sv->state_dir, &in_force, sv->enrolled);
	if (err != VEIL_OK) {
		fprintf(stderr,
		        "veild: reload: the client store does not open with the new "
		        "[clients] keys (%s); the old ones stay\n",
		        veil_strerror(err));
		in_force = sv->clients;
		err = clients_open(sv->state_dir, &in_force, sv->enrolled);
	}
	service_config config = sv->config;
	config.clients = *sv->enrolled;
	if (err == VEIL_OK)
		err = replace_service(sv, *sv->state, &config);
	if (err != VEIL_OK) {
		fprintf(stderr, "veild: reload: cannot reopen the client store: %s; stopping\n",
		        veil_strerror(err));
		daemon_stop();
		return -1;
	}
	sv->population->clients = *sv->enrolled;
	sv->clients = in_force;
	return in_force.capacity == wanted->capacity &&
	       in_force.refill_per_day == wanted->refill_per_day;
}

/*
 * SIGHUP: reads the options again as at the start (the file, then the
 * command line over it) and, with the workers paused, reloads the OPRF
 * keys and, in keys mode, reopens the client store when [clients]
 * capacity or refill_per_day changed; the metrics options take effect
 * at once. Requests queue meanwhile. What changed is said on stderr,
 * with the new value for the keys in force now and the name alone for
 * those that wait for a restart; then one line "veild: reloaded ...".
 * A file that does not read leaves every option as it was (the keys
 * are reloaded all the same).
 */
static void
reload(serving *sv)
{
	options fresh;
	options_defaults(&fresh);
	char *texts[CLI_MAX_OPTIONS] = {NULL};
	const int parsed = parse_options(sv->argc, sv->argv, &fresh, texts);
	const int read = parsed < 0;
	unsigned applied = 0, waiting = 0;
	if (!read)
		fprintf(stderr, "veild: reload: the configuration did not read (above); the one in "
		                "force stays\n");

	/* A newly installed registry first: its keys come with it. */
	const int swapped = swap_registry(sv);
	daemon_workers_pause();
	if (!swapped && state_refresh_keys(*sv->state) != VEIL_OK)
		fprintf(stderr, "veild: reload: not every live OPRF key could be loaded\n");
	if (read && *sv->enrolled != NULL &&
	    (fresh.clients.capacity != sv->clients.capacity ||
	     fresh.clients.refill_per_day != sv->clients.refill_per_day)) {
		clients_config wanted = sv->clients;
		wanted.capacity = fresh.clients.capacity;
		wanted.refill_per_day = fresh.clients.refill_per_day;
		const clients_config was = sv->clients;
		const int rc = reopen_clients(sv, &wanted);
		if (rc < 0) {
			for (size_t i = 0; i < CLI_MAX_OPTIONS; i++)
				free(texts[i]);
			return; /* stopping: the workers stay paused */
		}
		if (rc > 0) {
			fprintf(stderr,
			        "veild: reload: [clients] capacity %u (was %u), refill_per_day %u "
			        "(was %u)\n",
			        wanted.capacity, was.capacity, wanted.refill_per_day,
			        was.refill_per_day);
			applied++;
		}
	}
	daemon_workers_resume();
	/* The token keys' copy: periodic() refreshes it right after. */

	if (read) {
		if (text_changed(fresh.metrics_file, sv->metrics_file) ||
		    fresh.metrics_interval != sv->metrics_interval) {
			fprintf(stderr, "veild: reload: metrics %s, every %u s\n",
			        fresh.metrics_file != NULL ? "file changed" : "off",
			        fresh.metrics_interval);
			applied++;
		}
		sv->metrics_file = fresh.metrics_file;
		sv->metrics_interval = fresh.metrics_interval;
		sv->metrics_next = 0;
		sv->metrics_failing = 0;
		waiting = restart_changes(&sv->given, &fresh);
		/* given now points into texts: the previous texts go. */
		sv->given = fresh;
		for (size_t i = 0; i < CLI_MAX_OPTIONS; i++) {
			free(sv->given_texts[i]);
			sv->given_texts[i] = texts[i];
		}
	}
	fprintf(stderr,
	        "veild: reloaded the %sOPRF keys; %u change%s in force, %u waiting for a "
	        "restart\n",
	        read ? "configuration and the " : "", applied, applied == 1 ? "" : "s", waiting);
}

/* What veild's receive loop does between requests: a reload after
 * SIGHUP, the hourly population check, in tokens mode following a
 * relink, and the metrics file when it is due. */
typedef struct periodic_work {
	population_check *population;
	redeemer *redeemer; /* NULL: keys mode */
	serving *serving;
} periodic_work;

static void
periodic(void *arg)
{
	periodic_work *work = arg;
	serving *sv = work->serving;
	if (daemon_reload_requested())
		reload(sv);
	if (daemon_stopping())
		return;
	population_check_run(work->population);
	redeemer_refresh(work->redeemer);
	const double now = clock_monotonic_seconds();
	if (now >= sv->swap_next) {
		sv->swap_next = now + 1;
		swap_registry(sv);
	}
	if (sv->metrics_file != NULL && now >= sv->metrics_next) {
		sv->metrics_next = now + sv->metrics_interval;
		metrics_now(sv, 1);
	}
}

int
main(int argc, char **argv)
{
	options opt;
	options_defaults(&opt);
	workqueue *queue = NULL;
	replay_guard *replay = NULL;
	long long busy = 0;
	qlog *log = NULL;
	clients *enrolled = NULL;
	redeemer *tokens_redeemer = NULL;
	veil_state *state = NULL;
	service *svc = NULL;
	transport_server *server = NULL;
	daemon_worker *workers = NULL;
	unsigned started = 0;
	char *config_texts[CLI_MAX_OPTIONS] = {NULL};
	population_check population = {0};
	serving sv = {.argc = argc, .argv = argv, .started = &started, .population = &population};
	int rc = 1;

	const int parsed = parse_options(argc, argv, &opt, config_texts);
	if (parsed >= 0) {
		rc = parsed;
		goto out;
	}
	sv.given = opt; /* before the defaults below: what a reload compares with */
	sv.start_time = (int64_t)time(NULL);
	const bool tokens = opt.auth != NULL && strcmp(opt.auth, "tokens") == 0;
	if (opt.threads == 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		opt.threads = cores < 1 ? 1 : cores > MAX_THREADS ? MAX_THREADS : (unsigned)cores;
	}
	/* Before any thread starts: only the main thread handles the stop
	 * signals, once everything runs. */
	daemon_signals_block();

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
	/* A shifted clock over entries recorded on the real one would mix
	 * two timelines in one log (and move its salt chain to the shifted
	 * day for good): only on an empty log, unless forced. */
	if (opt.clock_offset != 0 && !opt.force_clock_offset) {
		const int has = log_has_entries(opt.state_dir);
		if (has != 0) {
			const char *why_refused =
			        has > 0 ? "the query log is not empty (use a fresh state, or "
			                  "--force-clock-offset)"
			                : "the query log could not be read to see that it is empty";
			fprintf(stderr, "veild: --clock-offset refused: %s\n", why_refused);
			goto out;
		}
	}
	uint64_t enrolled_now = 0;
	const char *accounts_from = "configured";
	if (tokens) {
		/* Tokens mode: the issuer's keys and the spent set, no client store. */
		err = redeemer_open(opt.state_dir, NULL, &tokens_redeemer);
		if (err == VEIL_ERR_NOT_FOUND) {
			fprintf(stderr,
			        "veild: --auth tokens needs the token issuer's keys in %s/%s: run "
			        "`veil-admin tokens link --state %s --issuer IDIR --origin NAME` "
			        "first\n",
			        opt.state_dir, REDEEM_DIR, opt.state_dir);
			goto out;
		}
		if (err != VEIL_OK) {
			fprintf(stderr, "veild: cannot open the token keys or the spent set: %s\n",
			        veil_strerror(err));
			goto out;
		}
		opt.log.anonymous = 1;
		opt.clients.enrolment_required = 0;
	} else if ((err = clients_open(opt.state_dir, &opt.clients, &enrolled)) != VEIL_OK) {
		fprintf(stderr, "veild: cannot open the client store: %s\n", veil_strerror(err));
		goto out;
	}
	/* With enrolment required, the requester target refers to those
	 * enrolled: when they are fewer than the configured figure, the
	 * log counts them instead. None yet (a new deployment, enrolling
	 * while it runs): the configured figure, said in the ready line, and
	 * the hourly check warns once the enrolled cannot meet the target. */
	if (opt.clients.enrolment_required) {
		if ((err = enrolled_count(enrolled, &enrolled_now)) != VEIL_OK) {
			fprintf(stderr, "veild: cannot count the enrolled clients: %s\n",
			        veil_strerror(err));
			goto out;
		}
		if (enrolled_now == 0) {
			accounts_from = "configured, none enrolled yet";
		} else if (enrolled_now < opt.log.accounts) {
			opt.log.accounts = enrolled_now;
			accounts_from = "enrolled";
		}
	}
	/* The log refuses a configuration that breaks an anonymity target,
	 * and says by how much. */
	char why_log[256] = "";
	const int64_t now = (int64_t)time(NULL) + opt.clock_offset;
	if ((err = qlog_open(opt.state_dir, &opt.log, now, &log, why_log, sizeof(why_log))) !=
	    VEIL_OK) {
		fprintf(stderr, "veild: cannot open the query log (%llu accounts, %s): %s%s%s\n",
		        (unsigned long long)opt.log.accounts, accounts_from, veil_strerror(err),
		        why_log[0] ? ": " : "", why_log);
		goto out;
	}
	/* Requests sealed before this start were never remembered here. In
	 * tokens mode the spent set is the guard: a token redeems once. */
	replay_config guard_config;
	replay_config_defaults(&guard_config, (int64_t)time(NULL));
	if (opt.replay_budget != 0)
		guard_config.client_budget = opt.replay_budget;
	if (!tokens && (err = replay_guard_new(&guard_config, &replay)) != VEIL_OK) {
		fprintf(stderr, "veild: %s\n", veil_strerror(err));
		goto out;
	}
	service_config config = {.batch_cap = opt.batch_cap,
	                         .clock_offset = opt.clock_offset,
	                         .log = log,
	                         .replay = replay,
	                         .clients = enrolled,
	                         .redeemer = tokens_redeemer};
	if ((err = service_new(state, &config, &svc)) != VEIL_OK) {
		fprintf(stderr, "veild: %s\n", veil_strerror(err));
		goto out;
	}
	/* Sized by the suite served: Ne is 32 to 67 bytes. */
	const size_t max_request = max_request_size(
	        opt.batch_cap, oprf_suite_element_size(state_suite(state)), tokens);
	if ((err = transport_server_open(opt.listen, max_request, &server)) != VEIL_OK) {
		fprintf(stderr, "veild: cannot listen on %s: %s\n", opt.listen,
		        transport_strerror());
		goto out;
	}

	if (opt.queue == 0)
		opt.queue = 4 * opt.threads;
	workers = calloc(opt.threads, sizeof(*workers));
	if (workers == NULL || workqueue_new(opt.queue, &queue) != VEIL_OK) {
		fprintf(stderr, "veild: out of memory\n");
		goto out;
	}
	sv = (serving){.argc = argc,
	               .argv = argv,
	               .given = sv.given,
	               .state_dir = opt.state_dir,
	               .state = &state,
	               .config = config,
	               .clients = opt.clients,
	               .svc = &svc,
	               .enrolled = &enrolled,
	               .population = &population,
	               .workers = workers,
	               .started = &started,
	               .metrics_file = opt.metrics_file,
	               .metrics_interval = opt.metrics_interval,
	               .start_time = sv.start_time};
	if (!tokens)
		clients_config_get(enrolled, &sv.clients);
	const daemon_worker_states states = {worker_state_new, worker_state_free, svc};
	started =
	        daemon_workers_start("veild", workers, opt.threads, server, queue, handle, &states);
	daemon_signals_unblock();
	if (!daemon_stopping() && tokens) {
		fprintf(stderr,
		        "veild: ready on %s, %u threads, batch cap %u, queue %u, auth tokens "
		        "(issuer %s, origin %s)%s\n",
		        opt.listen, opt.threads, opt.batch_cap, opt.queue,
		        redeemer_issuer_name(tokens_redeemer), redeemer_origin(tokens_redeemer),
		        opt.clock_offset != 0 ? ", clock offset in force" : "");
	} else if (!daemon_stopping()) {
		fprintf(stderr,
		        "veild: ready on %s, %u threads, batch cap %u, queue %u, enrolment %s, "
		        "log accounts %llu (%s)%s\n",
		        opt.listen, opt.threads, opt.batch_cap, opt.queue,
		        opt.clients.enrolment_required ? "required" : "open",
		        (unsigned long long)opt.log.accounts, accounts_from,
		        opt.clock_offset != 0 ? ", clock offset in force" : "");
	}
	if (!daemon_stopping()) {
		notify_say("veild", "READY=1"); /* systemd's Type=notify: after the ready line */
		population = (population_check){enrolled, opt.log, opt.clients.enrolment_required,
		                                enrolled_now,
		                                (int64_t)time(NULL) + POPULATION_CHECK_SECONDS};
		periodic_work work = {&population, tokens_redeemer, &sv};
		busy = daemon_receive_loop("veild", server, queue, periodic, &work);
		notify_say("veild", "STOPPING=1");
		rc = busy < 0 ? 1 : 0;
	}
	daemon_stop();
	workqueue_close(queue);

	daemon_workers_join(workers, started);
	if (log != NULL && qlog_flush(log) != VEIL_OK)
		fprintf(stderr, "veild: the query log could not be flushed\n");
	/* The last write of the metrics: the final counters, veild_up 0. */
	metrics_values last;
	serving_counters(&sv, 0, &last);
	if (started > 0)
		metrics_now(&sv, 0);
	const service_stats total = last.service;
	const qlog_counters counters = last.log;
	for (unsigned i = 0; i < started; i++)
		service_worker_free(workers[i].state);
	if (started > 0) {
		uint64_t errors = 0;
		for (size_t i = 0; i < sizeof(total.errors) / sizeof(total.errors[0]); i++)
			errors += total.errors[i];
		fprintf(stderr,
		        "veild: stopped; %llu requests, %llu items evaluated, %llu error replies, "
		        "%llu dropped, %lld busy; log: %llu entries written, %llu dropped\n",
		        (unsigned long long)total.requests, (unsigned long long)total.items,
		        (unsigned long long)errors, (unsigned long long)total.dropped,
		        busy > 0 ? busy : 0, (unsigned long long)counters.written,
		        (unsigned long long)counters.dropped);
		if (tokens)
			fprintf(stderr,
			        "veild: tokens: %llu redeemed, %llu invalid, %llu spent before\n",
			        (unsigned long long)total.tokens,
			        (unsigned long long)total.errors[PROTO_STATUS_TOKEN_INVALID],
			        (unsigned long long)total.errors[PROTO_STATUS_TOKEN_SPENT]);
	}
out:
	free(workers);
	workqueue_free(queue);
	replay_guard_free(replay);
	clients_close(enrolled);
	transport_server_close(server);
	redeemer_close(tokens_redeemer);
	qlog_close(log);
	service_free(svc);
	state_free(state);
	for (size_t i = 0; i < CLI_MAX_OPTIONS; i++) {
		free(config_texts[i]);
		free(sv.given_texts[i]);
	}
	return rc;
}

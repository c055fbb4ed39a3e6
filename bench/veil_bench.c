/*
 * veil-bench: drives a running veild with LOOKUPs and reports what it
 * serves, as a ratio to a floor measured in the same run (benchmarks are
 * not tests; see bench/timing.h): one core's raw scalar multiplications
 * per second on the curve of the suite the server serves (its INFO's
 * current key; bench/suite_floor.h: crypto_scalarmult_ristretto255 for
 * ristretto255-SHA512, OpenSSL's EC_POINT_mul for the NIST suites), times
 * the server's worker threads.
 *
 * A second floor judges requests rather than items: the per-request
 * floor, one call of the suite's floor plus one X25519
 * (crypto_scalarmult, the key agreement that opens a request's
 * ephemeral sealing) on one core, times the server's worker threads. A
 * request of one item can cost no less than that, so requests/s over it
 * is how near batch 1 comes to its own floor (at larger batches the
 * item floor says more). Both are measured before and after the load.
 *
 * C connections, one thread and one REQ socket each, send batches of B
 * items back to back for a warm-up and then T measured seconds. All the
 * client-side work is done before the clock starts: each connection
 * blinds, encodes and seals a pool of frames (loadgen.h) and cycles
 * through them. While the clock runs, every reply is opened with a
 * precomputed box key and classified (OK, BUSY, other errors); a sample of
 * the OK ones (each connection's first, then one in --sample-every) is
 * kept and fully checked afterwards: proof verified, outputs finalized,
 * registered / not registered compared with the truth.
 *
 * Measured window: replies that complete between the end of the warm-up
 * and the deadline are counted; counting completions in a fixed window
 * does not depend on how requests straddle its edges. CPU use of this
 * process and, with --server-pid, of veild (/proc) is taken over the same
 * window, so that the share the load generator takes of the cores it
 * shares with the server is visible. The floor is also
 * rated per CPU-second of its own thread; items/s per veild CPU-second
 * over that gives the server's efficiency even when the cores are shared
 * with other work (when it is not, the two floors agree).
 *
 * The registry must hold the handles of `veil-bench --print-handles N`,
 * and --handles N must say so. A veild that serves only enrolled keys
 * needs --client-key, enrolled with a quota the load cannot exhaust:
 * bench/run-veil-bench.sh sets all that up.
 *
 * Tokens mode (--tokens-state, for a veild --auth tokens): no client key;
 * every request is a LOOKUP_TOKEN in a SEALED_ANONYMOUS frame carrying a
 * token of its own, made before the clock starts from the state's copy
 * of the issuer key (loadgen_tokens_new). The report adds what checking a
 * token costs veild, measured here on the same machine: one evaluation
 * under the issuer key (the minting time of one token, the same P-384
 * work as the check) and one synced spent-set commit (timed after the
 * load in a scratch set beside the state), as a share of a request's
 * server time. A connection that runs out of tokens stops early and the
 * run says so; that is not an error.
 *
 * Exit status: 0 when no reply was an error (BUSY is not one), some were
 * answered and every sampled answer was right; 1 otherwise; 2 for a usage
 * error. It never depends on timings: every connection sends at least one
 * request, and its first OK reply is always sampled, so a window too short
 * for a machine is reported, not failed. Targets are reported by the
 * caller, never enforced here.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "clock.h"
#include "keyfile.h"
#include "loadgen.h"
#include "issuer.h"
#include "oprf.h"
#include "redeem.h"
#include "spent.h"
#include "suite_floor.h"
#include "timing.h"
#include "veil_client.h"

#define PROGRAM "veil-bench"

#define DEFAULT_CONNECTIONS   2
#define DEFAULT_BATCH         256
#define DEFAULT_SECONDS       10.0
#define DEFAULT_WARMUP        1.0
#define DEFAULT_FLOOR_SECONDS 1.0
#define DEFAULT_FLOOR_THREADS 2
#define DEFAULT_TIMEOUT       10.0
#define DEFAULT_SAMPLE_EVERY  50
#define MAX_CONNECTIONS       256
/* Pool size: at most this many frames, and about this many items, per
 * connection, so that building pools stays a matter of seconds. */
#define POOL_MAX_FRAMES       64
#define POOL_ITEMS            4096
/* Items of sampled replies kept per connection, so checking stays short. */
#define SAMPLE_ITEMS          8192
/* Status codes counted one by one; larger ones share the last slot. */
#define STATUS_SLOTS          17
/* Tokens mode: tokens timed to estimate the cost of one, and spent-set
 * writes timed after the load. */
#define TOKEN_CALIBRATION     64
#define SPENT_SAMPLES         200
/* Tokens made per request the server could answer at most, for slack. */
#define TOKEN_SLACK           1.5

typedef struct options {
	const char *server;
	const char *server_key;
	const char *client_key; /* NULL: a fresh key per connection */
	uint32_t handles;
	bool handles_given;
	uint32_t connections;
	uint32_t batch;
	double seconds;
	double warmup;
	uint32_t prefix_bits; /* 0: the server's recommendation */
	uint32_t floor_threads;
	double floor_seconds;
	uint32_t pool; /* 0: chosen from the batch */
	uint32_t sample_every;
	double timeout;
	uint32_t server_pid; /* 0: none */
	bool json;
	uint32_t print_handles;
	bool print_handles_given;
	const char *tokens_state; /* tokens mode: veild's state directory (its tokens/ copy) */
	uint32_t tokens;          /* tokens to make; 0: estimated */
} options;

/* Replies by what they were. */
typedef struct tally {
	uint64_t ok;
	uint64_t refused[STATUS_SLOTS]; /* by status code; BUSY among them */
	uint64_t invalid;
	uint64_t timeouts;
	uint64_t transport_errors;
	uint64_t out_of_tokens; /* tokens mode: a send found none left (the
	                           connection stopped; not an error) */
} tally;

typedef struct sample {
	size_t frame;
	uint8_t *reply;
	size_t len;
} sample;

typedef struct run run;

typedef struct connection {
	run *run;
	pthread_t thread;
	loadgen_peer *peer;
	transport_client *transport;
	loadgen_pool *pool;
	/* Set up: what failed, if anything. */
	veil_err setup_err;
	const char *setup_step;
	uint16_t setup_status;
	/* The measured window. */
	tally window;
	uint64_t items;
	uint64_t request_bytes, reply_bytes;
	double *latencies; /* seconds, of the window's OK replies */
	size_t latency_count, latency_cap;
	/* Warm-up and tail, outside the window: only for the exit status. */
	tally outside;
	sample *samples;
	size_t sample_count, sample_cap;
	bool out_of_memory;
} connection;

struct run {
	const options *opt;
	proto_info_reply info;
	uint8_t server_key[ENVELOPE_PUBLIC_KEY_SIZE];
	uint8_t *client_secret; /* guarded; NULL: a fresh key per connection */
	unsigned prefix_bits;
	size_t frames;
	pthread_barrier_t ready, start;
	bool abandon;           /* written before the start barrier */
	double measure_from;    /* likewise */
	double deadline;        /* likewise */
	loadgen_tokens *tokens; /* tokens mode; made before the start barrier */
};

/* ------------------------------------------------------------------ */
/* Errors and options */

/* A fatal error: the message on stderr, exit status 1. */
#define DIE(...)                                                                                   \
	do {                                                                                       \
		cli_error(PROGRAM, __VA_ARGS__);                                                   \
		exit(1);                                                                           \
	} while (0)

static const char synopsis[] = "--server URL --server-key HEX|FILE --handles N [options]\n"
                               "       " PROGRAM " --print-handles N";

/* --help, after the usage line. */
static void
print_help(void)
{
	printf("Drives a running veild with LOOKUPs from pre-blinded, pre-sealed requests\n"
	       "and reports evaluated items/s as a ratio to a floor measured in the same\n"
	       "run: raw scalar multiplications/s on the curve of the server's suite\n"
	       "(crypto_scalarmult_ristretto255, or OpenSSL EC_POINT_mul on P-256, P-384,\n"
	       "P-521) on one core x the server's threads; and requests/s as a ratio to a\n"
	       "per-request floor: that multiplication plus one X25519 (the key agreement\n"
	       "of a request's sealing) on one core x the server's threads.\n"
	       "bench/run-veil-bench.sh sets up a registry and a veild and runs this.\n"
	       "\n"
	       "  --server URL          veild's URL, tcp://HOST:PORT or ipc:///PATH\n"
	       "  --server-key K        its key: 64 hex digits, or a file holding them alone\n"
	       "                        or as the server-key line of `veil-admin info`\n"
	       "  --client-key FILE     the client key every connection uses, as `veil keygen\n"
	       "                        --out FILE` writes it: for a veild that serves only\n"
	       "                        enrolled keys, enrolled with a quota the load cannot\n"
	       "                        exhaust (default: a fresh key per connection, which an\n"
	       "                        open veild serves with its default quota)\n"
	       "  --handles N           the registry holds the N handles of --print-handles N\n"
	       "                        (the truth sampled answers are checked against)\n"
	       "  --connections C       concurrent connections, a thread each (default %d)\n"
	       "  --batch B             items per request: a size class, a power of two below\n"
	       "                        the server's cap or the cap (default %d)\n"
	       "  --seconds T           measured seconds (default %.0f)\n"
	       "  --warmup S            seconds of load before the measure (default %.0f)\n"
	       "  --prefix-bits P       bucket prefix length (default: the server's advice)\n"
	       "  --floor-threads N     the server's worker threads, for the floor (default %d)\n"
	       "  --floor-seconds S     time of each floor measurement, before and after the\n"
	       "                        load (default %.0f)\n"
	       "  --pool F              pre-sealed requests per connection (default: %d, fewer\n"
	       "                        for batches above %d so that a pool holds ~%d items)\n"
	       "  --sample-every K      fully check the first reply and one in K (default %d)\n"
	       "  --timeout S           seconds to wait for a reply (default %.0f)\n"
	       "  --server-pid PID      also report veild's CPU use over the window (Linux)\n"
	       "  --json                one JSON object instead of text\n"
	       "  --print-handles N     write an import file of N handles for veil-admin import\n"
	       "                        to standard output, and exit\n"
	       "  --tokens-state DIR    tokens mode: veild's state directory, whose copy of\n"
	       "                        the issuer key (veil-admin tokens link) makes one\n"
	       "                        token per request before the clock starts; reports\n"
	       "                        the token check's share of a request's cost\n"
	       "  --tokens N            tokens to make (default: enough for the most requests\n"
	       "                        the server could answer in the run, from the floor)\n"
	       "  --version             print the version\n"
	       "  --help                this text\n"
	       "\n"
	       "Every connection sends at least one request, however short the window.\n"
	       "Exit status: 0 when no reply was an error (BUSY is not one), some were\n"
	       "answered and every sampled answer was right; 1 otherwise; 2 for a usage\n"
	       "error. Timings are reported, never judged.\n",
	       DEFAULT_CONNECTIONS, DEFAULT_BATCH, DEFAULT_SECONDS, DEFAULT_WARMUP,
	       DEFAULT_FLOOR_THREADS, DEFAULT_FLOOR_SECONDS, POOL_MAX_FRAMES,
	       POOL_ITEMS / POOL_MAX_FRAMES, POOL_ITEMS, DEFAULT_SAMPLE_EVERY, DEFAULT_TIMEOUT);
}

/*
 * Reads the options into opt and --server-key into server_key. Returns
 * -1 to run, else the exit status (the help, the version, a usage error).
 */
static int
parse_options(int argc, char **argv, options *opt,
              uint8_t server_key[static ENVELOPE_PUBLIC_KEY_SIZE])
{
	*opt = (options){
	        .connections = DEFAULT_CONNECTIONS,
	        .batch = DEFAULT_BATCH,
	        .seconds = DEFAULT_SECONDS,
	        .warmup = DEFAULT_WARMUP,
	        .floor_threads = DEFAULT_FLOOR_THREADS,
	        .floor_seconds = DEFAULT_FLOOR_SECONDS,
	        .sample_every = DEFAULT_SAMPLE_EVERY,
	        .timeout = DEFAULT_TIMEOUT,
	};
	const cli_option table[] = {
	        CLI_TEXT_OPTION("server", &opt->server),
	        CLI_TEXT_OPTION("server-key", &opt->server_key),
	        CLI_TEXT_OPTION("client-key", &opt->client_key),
	        {.name = "handles",
	         .kind = CLI_U32,
	         .target = &opt->handles,
	         .given = &opt->handles_given},
	        CLI_U32_OPTION("connections", &opt->connections, 1, MAX_CONNECTIONS),
	        CLI_U32_OPTION("batch", &opt->batch, 1, PROTO_MAX_BATCH),
	        CLI_DOUBLE_OPTION("seconds", &opt->seconds, 0.01, 86400),
	        CLI_DOUBLE_OPTION("warmup", &opt->warmup, 0, 3600),
	        CLI_U32_OPTION("prefix-bits", &opt->prefix_bits, 0, PROTO_MAX_PREFIX_BITS),
	        CLI_U32_OPTION("floor-threads", &opt->floor_threads, 1, 4096),
	        CLI_DOUBLE_OPTION("floor-seconds", &opt->floor_seconds, 0.01, 600),
	        CLI_U32_OPTION("pool", &opt->pool, 1, 4096),
	        CLI_U32_OPTION("sample-every", &opt->sample_every, 1, UINT32_MAX),
	        CLI_DOUBLE_OPTION("timeout", &opt->timeout, 0.001, 3600),
	        CLI_U32_OPTION("server-pid", &opt->server_pid, 1, INT32_MAX),
	        CLI_FLAG_OPTION("json", &opt->json),
	        {.name = "print-handles",
	         .kind = CLI_U32,
	         .target = &opt->print_handles,
	         .given = &opt->print_handles_given},
	        CLI_TEXT_OPTION("tokens-state", &opt->tokens_state),
	        CLI_U32_OPTION("tokens", &opt->tokens, 1, 100000000),
	        CLI_END,
	};
	const cli_command cmd = {PROGRAM, synopsis, table};
	const int status = cli_parse_options(&cmd, argc, argv, print_help);
	if (status >= 0)
		return status;
	if (opt->print_handles_given)
		return -1;
	if (opt->server == NULL || opt->server_key == NULL)
		return cli_usage_error(&cmd, "--server and --server-key are required");
	if (!opt->handles_given)
		return cli_usage_error(&cmd, "--handles N is required: how many --print-handles "
		                             "handles the registry holds (0 for none)");
	if (veil_server_key_read(opt->server_key, server_key) != VEIL_OK)
		return cli_usage_error(&cmd,
		                       "--server-key: '%s' is neither 64 hex digits nor a file "
		                       "holding them",
		                       opt->server_key);
	return -1;
}

static int
print_handles(uint32_t count)
{
	char handle[LOADGEN_HANDLE_SIZE];
	static char out[1 << 16];

	setvbuf(stdout, out, _IOFBF, sizeof(out));
	printf("# %u handles for veil-bench --handles %u\n", count, count);
	for (uint32_t i = 0; i < count; i++) {
		loadgen_handle(handle, 1, i);
		puts(handle);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* The floor */

/*
 * The floor's rate over wall time (bench_rate), which is what the server's
 * items/s compares with, and over this thread's CPU time in *per_cpu: the
 * two part when other processes take the core (the machine is shared).
 */
static double
measure_floor(const bench_work *work, double seconds, double *per_cpu)
{
	uint64_t calls = 0;
	const double cpu = clock_thread_cpu_seconds();
	const double rate = bench_rate(work, seconds, &calls);
	*per_cpu = (double)calls / (clock_thread_cpu_seconds() - cpu);
	return rate;
}

/* X25519 pairs the per-request floor cycles through. */
#define REQUEST_FLOOR_PAIRS 64

/* The per-request floor: one call of the suite's floor and one X25519. */
typedef struct request_floor {
	bench_work suite; /* borrowed */
	uint8_t scalars[REQUEST_FLOOR_PAIRS][crypto_scalarmult_SCALARBYTES];
	uint8_t points[REQUEST_FLOOR_PAIRS][crypto_scalarmult_BYTES];
	uint8_t shared[crypto_scalarmult_BYTES];
	size_t next;
} request_floor;

static void
request_floor_run(void *arg)
{
	request_floor *f = arg;
	f->suite.run(f->suite.arg);
	if (crypto_scalarmult(f->shared, f->scalars[f->next], f->points[f->next]) != 0)
		DIE("X25519 of the per-request floor failed");
	bench_consume(f->shared, sizeof(f->shared));
	f->next = (f->next + 1) % REQUEST_FLOOR_PAIRS;
}

/* Draws f's pairs (public keys of random secrets, as a client's ephemeral
 * keys are) over suite, borrowed; one request a call. */
static bench_work
request_floor_init(request_floor *f, const bench_work *suite)
{
	memset(f, 0, sizeof(*f));
	f->suite = *suite;
	for (size_t i = 0; i < REQUEST_FLOOR_PAIRS; i++) {
		uint8_t other[crypto_scalarmult_SCALARBYTES];
		randombytes_buf(f->scalars[i], sizeof(f->scalars[i]));
		randombytes_buf(other, sizeof(other));
		if (crypto_scalarmult_base(f->points[i], other) != 0)
			DIE("X25519 of the per-request floor failed");
	}
	return (bench_work){request_floor_run, f, 1};
}

/* ------------------------------------------------------------------ */
/* Connections */

static void
tally_add(tally *to, const tally *from)
{
	to->ok += from->ok;
	for (size_t i = 0; i < STATUS_SLOTS; i++)
		to->refused[i] += from->refused[i];
	to->invalid += from->invalid;
	to->timeouts += from->timeouts;
	to->transport_errors += from->transport_errors;
	to->out_of_tokens += from->out_of_tokens;
}

static uint64_t
tally_errors(const tally *t)
{
	uint64_t n = t->invalid + t->timeouts + t->transport_errors;
	for (size_t i = 0; i < STATUS_SLOTS; i++)
		if (i != PROTO_STATUS_BUSY)
			n += t->refused[i];
	return n;
}

static void
keep_latency(connection *c, double seconds)
{
	if (c->latency_count == c->latency_cap) {
		const size_t cap = c->latency_cap ? 2 * c->latency_cap : 4096;
		double *bigger = realloc(c->latencies, cap * sizeof(*bigger));
		if (bigger == NULL) {
			c->out_of_memory = true;
			return;
		}
		c->latencies = bigger;
		c->latency_cap = cap;
	}
	c->latencies[c->latency_count++] = seconds;
}

static void
keep_sample(connection *c, size_t frame, const buf *reply)
{
	if (c->sample_count == c->sample_cap)
		return;
	uint8_t *copy = malloc(buf_len(reply));
	if (copy == NULL) {
		c->out_of_memory = true;
		return;
	}
	memcpy(copy, buf_data(reply), buf_len(reply));
	c->samples[c->sample_count++] = (sample){frame, copy, buf_len(reply)};
}

/* Sends requests back to back until the deadline. */
static void
connection_load(connection *c)
{
	const run *r = c->run;
	const size_t frames = loadgen_pool_frames(c->pool);
	const uint64_t every = r->opt->sample_every;
	buf reply, frame;
	buf_init(&reply);
	buf_init(&frame);

	/* At least one request, however late this thread starts: the run's
	 * verdict never depends on how fast the machine is. */
	for (uint64_t n = 0; n == 0 || clock_monotonic_seconds() < r->deadline; n++) {
		const size_t i = n % frames;
		uint16_t status = 0;

		buf_reset(&reply);
		const double sent = clock_monotonic_seconds();
		veil_err err = loadgen_pool_seal(c->pool, i, &frame);
		if (err == VEIL_OK)
			err = transport_client_request(c->transport,
			                               (const uint8_t *)buf_data(&frame),
			                               buf_len(&frame), &reply);
		const double done = clock_monotonic_seconds();
		const bool counted = done >= r->measure_from && done <= r->deadline;
		tally *t = counted ? &c->window : &c->outside;

		if (err == VEIL_ERR_LIMIT) { /* no token left: nothing was sent */
			t->out_of_tokens++;
			break;
		}
		if (err != VEIL_OK) {
			/* A REQ socket that timed out or failed is not trusted again. */
			if (err == VEIL_ERR_TIMEOUT)
				t->timeouts++;
			else
				t->transport_errors++;
			break;
		}
		switch (loadgen_pool_classify(c->pool, i, (const uint8_t *)buf_data(&reply),
		                              buf_len(&reply), &status)) {
		case LOADGEN_REPLY_OK:
			t->ok++;
			if (counted) {
				c->items += r->opt->batch;
				c->request_bytes += buf_len(&frame);
				c->reply_bytes += buf_len(&reply);
				keep_latency(c, done - sent);
			}
			if (c->sample_count == 0 || n % every == 0)
				keep_sample(c, i, &reply);
			break;
		case LOADGEN_REPLY_REFUSED:
			t->refused[status < STATUS_SLOTS ? status : STATUS_SLOTS - 1]++;
			break;
		case LOADGEN_REPLY_INVALID:
			t->invalid++;
			break;
		}
	}
	buf_free(&reply);
	buf_free(&frame);
}

/* A peer of the run's server: anonymous in tokens mode, else of the run's client key. */
static veil_err
new_peer(const run *r, loadgen_peer **out)
{
	return r->opt->tokens_state != NULL
	               ? loadgen_peer_new_anonymous(r->server_key, out)
	               : loadgen_peer_new(r->server_key, r->client_secret, out);
}

/* Pool, socket and a first exchange (INFO) so the connection is up. */
static void
connection_setup(connection *c)
{
	const run *r = c->run;
	proto_info_reply info;
	const loadgen_plan plan = {
	        .info = &r->info,
	        .prefix_bits = r->prefix_bits,
	        .batch = r->opt->batch,
	        .frames = r->frames,
	        .registered = (uint32_t)r->opt->handles,
	        .tokens = r->tokens, /* NULL but in tokens mode */
	};

	c->setup_step = "key pair";
	if ((c->setup_err = new_peer(r, &c->peer)) != VEIL_OK)
		return;
	c->setup_step = "socket";
	if ((c->setup_err = transport_client_open(r->opt->server, (int)(r->opt->timeout * 1000),
	                                          PROTO_MAX_REPLY_SIZE, &c->transport)) != VEIL_OK)
		return;
	c->setup_step = "INFO";
	/* An overloaded server may answer BUSY even now: ask again, for as
	 * long as a reply may take. */
	const double give_up = clock_monotonic_seconds() + r->opt->timeout;
	for (;;) {
		c->setup_err = loadgen_info(c->peer, c->transport, &info, &c->setup_status);
		if (c->setup_status != PROTO_STATUS_BUSY || clock_monotonic_seconds() > give_up)
			break;
		clock_sleep_seconds(0.02);
	}
	if (c->setup_err != VEIL_OK)
		return;
	c->setup_step = "building the pool";
	if ((c->setup_err = loadgen_pool_new(c->peer, &plan, &c->pool)) != VEIL_OK)
		return;
	c->sample_cap = SAMPLE_ITEMS / r->opt->batch;
	if (c->sample_cap < 2)
		c->sample_cap = 2;
	c->samples = calloc(c->sample_cap, sizeof(*c->samples));
	if (c->samples == NULL)
		c->setup_err = VEIL_ERR_NOMEM;
}

static void *
connection_main(void *arg)
{
	connection *c = arg;
	run *r = c->run;

	connection_setup(c);
	pthread_barrier_wait(&r->ready);
	pthread_barrier_wait(&r->start);
	if (!r->abandon)
		connection_load(c);
	return NULL;
}

static void
connection_free(connection *c)
{
	loadgen_pool_free(c->pool);
	transport_client_close(c->transport);
	loadgen_peer_free(c->peer);
	for (size_t i = 0; i < c->sample_count; i++)
		free(c->samples[i].reply);
	free(c->samples);
	free(c->latencies);
}

/* ------------------------------------------------------------------ */
/* Measuring */

static void
sleep_until(double when)
{
	for (double now = clock_monotonic_seconds(); now < when; now = clock_monotonic_seconds())
		clock_sleep_seconds(when - now);
}

/* User + system CPU seconds of another process, from /proc; NAN if unknown. */
static double
other_cpu_seconds(uint32_t pid)
{
	char path[64], text[1024];
	unsigned long long user, system;

	if (pid == 0)
		return NAN;
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NAN;
	const size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	/* The command name may hold spaces: fields restart after its ')'. */
	const char *p = strrchr(text, ')');
	if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	                        &user, &system) != 2)
		return NAN;
	return (double)(user + system) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds every process of the machine has used, from /proc/stat. */
static double
machine_cpu_seconds(void)
{
	unsigned long long user, nice, system, idle, iowait, irq, softirq, steal;

	FILE *f = fopen("/proc/stat", "r");
	if (f == NULL)
		return NAN;
	const int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice,
	                     &system, &idle, &iowait, &irq, &softirq, &steal);
	fclose(f);
	if (n != 8)
		return NAN;
	return (double)(user + nice + system + irq + softirq + steal) /
	       (double)sysconf(_SC_CLK_TCK);
}

static int
compare_double(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Nearest rank of sorted values; NAN when there are none. */
static double
percentile(const double *sorted, size_t count, double q)
{
	if (count == 0)
		return NAN;
	size_t rank = (size_t)ceil(q * (double)count);
	rank = rank < 1 ? 1 : rank > count ? count : rank;
	return sorted[rank - 1];
}

typedef struct report {
	double window_seconds;
	tally window, outside;
	uint64_t items, request_bytes, reply_bytes;
	double p50, p99, latency_max;
	size_t latency_count;
	double floor_before, floor_after, floor_per_core, floor_total, ratio;
	double floor_cpu_before, floor_cpu_after, floor_per_cpu; /* per CPU-second */
	/* The per-request floor (request_floor): requests/s on one core, and
	 * per CPU-second of its thread; requests/s over its total. */
	double request_floor_before, request_floor_after, request_floor_per_core;
	double request_floor_cpu_before, request_floor_cpu_after, request_floor_per_cpu;
	double request_floor_total, request_ratio;
	double bench_cpu, server_cpu, machine_cpu; /* cores, over the window */
	long online_cores;
	size_t checked_replies, checked_items, checked_registered, wrong, check_failures;
	const char *first_failure;
	bool out_of_memory;
	size_t slots;
	unsigned prefix_bits;
	size_t frames;
	const char *suite;           /* the server's, from INFO */
	const char *floor_operation; /* bench_suite_floor_operation() */
	/* Tokens mode: made, taken, and what checking one costs veild. */
	bool tokens_mode;
	size_t tokens_made, tokens_taken;
	double token_verify_s;   /* one evaluation under the issuer key, one thread */
	double spent_write_s;    /* one spent-set redemption (a synced LMDB commit), wall */
	double request_server_s; /* server threads x window / requests answered */
	double token_share;      /* (verify + spent write) / request_server_s */
} report;

static void
check_samples(connection *conns, size_t count, report *rep)
{
	for (size_t k = 0; k < count; k++) {
		connection *c = &conns[k];
		for (size_t i = 0; i < c->sample_count; i++) {
			loadgen_check check;
			const sample *s = &c->samples[i];
			if (loadgen_pool_check(c->pool, s->frame, s->reply, s->len, &check) !=
			    VEIL_OK) {
				rep->check_failures++;
				if (rep->first_failure == NULL)
					rep->first_failure = check.failure;
				continue;
			}
			rep->slots = check.slots;
			rep->checked_replies++;
			rep->checked_items += check.items;
			rep->checked_registered += check.registered;
			rep->wrong += check.wrong;
		}
	}
}

static void
collect(connection *conns, size_t count, report *rep)
{
	size_t total = 0;
	for (size_t k = 0; k < count; k++) {
		tally_add(&rep->window, &conns[k].window);
		tally_add(&rep->outside, &conns[k].outside);
		rep->items += conns[k].items;
		rep->request_bytes += conns[k].request_bytes;
		rep->reply_bytes += conns[k].reply_bytes;
		rep->out_of_memory = rep->out_of_memory || conns[k].out_of_memory;
		total += conns[k].latency_count;
	}
	double *all = malloc((total ? total : 1) * sizeof(*all));
	if (all == NULL)
		DIE("out of memory");
	size_t n = 0;
	for (size_t k = 0; k < count; k++) {
		memcpy(all + n, conns[k].latencies, conns[k].latency_count * sizeof(*all));
		n += conns[k].latency_count;
	}
	qsort(all, n, sizeof(*all), compare_double);
	rep->latency_count = n;
	rep->p50 = percentile(all, n, 0.50);
	rep->p99 = percentile(all, n, 0.99);
	rep->latency_max = n ? all[n - 1] : NAN;
	free(all);
}

/* ------------------------------------------------------------------ */
/* Output */

/* Whatever the timings: answered, no errors, the samples right. */
static bool
run_ok(const report *rep)
{
	return rep->window.ok + rep->outside.ok > 0 && tally_errors(&rep->window) == 0 &&
	       tally_errors(&rep->outside) == 0 && rep->check_failures == 0 && rep->wrong == 0 &&
	       rep->checked_replies > 0 && !rep->out_of_memory;
}

/* "name n, " for each status refused in t but BUSY, into out. */
static void
format_refusals(const tally *t, buf *out)
{
	for (size_t i = 0; i < STATUS_SLOTS; i++)
		if (i != PROTO_STATUS_BUSY && t->refused[i] > 0)
			buf_printf(out, ", %s %llu", proto_status_str((uint16_t)i),
			           (unsigned long long)t->refused[i]);
	if (t->invalid > 0)
		buf_printf(out, ", invalid %llu", (unsigned long long)t->invalid);
	if (t->timeouts > 0)
		buf_printf(out, ", timeouts %llu", (unsigned long long)t->timeouts);
	if (t->transport_errors > 0)
		buf_printf(out, ", transport errors %llu", (unsigned long long)t->transport_errors);
	if (t->out_of_tokens > 0)
		buf_printf(out, ", out of tokens %llu", (unsigned long long)t->out_of_tokens);
}

static double
per_item(uint64_t bytes, uint64_t items)
{
	return items ? (double)bytes / (double)items : NAN;
}

static void
print_text(const options *opt, const report *rep)
{
	const double items_per_s = (double)rep->items / rep->window_seconds;
	const uint64_t requests = rep->window.ok;
	buf refusals;
	buf_init(&refusals);
	format_refusals(&rep->window, &refusals);

	printf("%s: %s (%s%s), %u connection%s, batch %u, prefix %u bits (%zu slots), "
	       "%zu pre-sealed requests each\n",
	       PROGRAM, opt->server, rep->suite, rep->tokens_mode ? ", tokens mode" : "",
	       opt->connections, opt->connections == 1 ? "" : "s", opt->batch, rep->prefix_bits,
	       rep->slots, rep->frames);
	printf("window         %.2f s after %.2f s of warm-up\n", rep->window_seconds, opt->warmup);
	printf("throughput     %.0f items/s (%.1f requests/s)\n", items_per_s,
	       (double)requests / rep->window_seconds);
	printf("floor          %s on one core: %.0f/s (before %.0f, "
	       "after %.0f;\n"
	       "               per CPU-second %.0f) x %u server threads = %.0f/s\n",
	       rep->floor_operation, rep->floor_per_core, rep->floor_before, rep->floor_after,
	       rep->floor_per_cpu, opt->floor_threads, rep->floor_total);
	printf("ratio          %.3f of the floor\n", rep->ratio);
	printf("request floor  %s + X25519 on one core: %.0f requests/s (before %.0f,\n"
	       "               after %.0f; per CPU-second %.0f) x %u server threads = %.0f/s\n",
	       rep->floor_operation, rep->request_floor_per_core, rep->request_floor_before,
	       rep->request_floor_after, rep->request_floor_per_cpu, opt->floor_threads,
	       rep->request_floor_total);
	printf("request ratio  %.3f of the per-request floor\n", rep->request_ratio);
	printf("latency        p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu requests of %u items)\n",
	       rep->p50 * 1e3, rep->p99 * 1e3, rep->latency_max * 1e3, rep->latency_count,
	       opt->batch);
	printf("wire           %.1f bytes per contact (request %.1f + reply %.1f; frames only)\n",
	       per_item(rep->request_bytes + rep->reply_bytes, rep->items),
	       per_item(rep->request_bytes, rep->items), per_item(rep->reply_bytes, rep->items));
	printf("replies        OK %llu, BUSY %llu, errors %llu%s\n",
	       (unsigned long long)rep->window.ok,
	       (unsigned long long)rep->window.refused[PROTO_STATUS_BUSY],
	       (unsigned long long)tally_errors(&rep->window), buf_data(&refusals));
	if (tally_errors(&rep->outside) > 0)
		printf("               and %llu errors outside the window\n",
		       (unsigned long long)tally_errors(&rep->outside));
	/* On a shared machine, what else ran says how far to trust the figures. */
	printf("cpu            %s %.2f cores (%.0f%% of %ld online)", PROGRAM, rep->bench_cpu,
	       100.0 * rep->bench_cpu / (double)rep->online_cores, rep->online_cores);
	if (!isnan(rep->server_cpu))
		printf(", veild %.2f, other processes %.2f\n"
		       "               %.3f of the floor, %.3f of the per-request floor,\n"
		       "               per veild CPU-second\n",
		       rep->server_cpu, rep->machine_cpu - rep->bench_cpu - rep->server_cpu,
		       items_per_s / rep->server_cpu / rep->floor_per_cpu,
		       (double)requests / rep->window_seconds / rep->server_cpu /
		               rep->request_floor_per_cpu);
	else
		printf(", all other processes %.2f\n", rep->machine_cpu - rep->bench_cpu);
	if (rep->tokens_mode)
		printf("tokens         %zu made, %zu spent; a token's check: verify %.3f ms + "
		       "spent-set write %.3f ms\n"
		       "               = %.1f%% of a request's server time (%.3f ms: %u threads x "
		       "window / requests)\n",
		       rep->tokens_made, rep->tokens_taken, rep->token_verify_s * 1e3,
		       rep->spent_write_s * 1e3, 100.0 * rep->token_share,
		       rep->request_server_s * 1e3, opt->floor_threads);
	printf("checked        %zu sampled replies, %zu answers (%zu registered): ",
	       rep->checked_replies, rep->checked_items, rep->checked_registered);
	if (rep->wrong == 0 && rep->check_failures == 0)
		printf("all right\n");
	else
		printf("%zu wrong answers, %zu bad replies%s%s\n", rep->wrong, rep->check_failures,
		       rep->first_failure ? ": " : "",
		       rep->first_failure ? rep->first_failure : "");
	if (rep->window.ok == 0)
		printf("warning        no reply completed within the window: the figures measure\n"
		       "               nothing (give more --seconds)\n");
	if (rep->out_of_memory)
		printf("warning        ran out of memory keeping latencies or samples\n");
	buf_free(&refusals);
}

/* A JSON number, or null for what was not measured. */
static void
json_number(buf *out, const char *name, double v, bool last)
{
	if (isnan(v) || isinf(v))
		buf_printf(out, "\"%s\":null%s", name, last ? "" : ",");
	else
		buf_printf(out, "\"%s\":%.6g%s", name, v, last ? "" : ",");
}

static void
json_tally(buf *out, const tally *t)
{
	buf_printf(out,
	           "{\"ok\":%llu,\"busy\":%llu,\"errors\":%llu,\"invalid\":%llu,"
	           "\"timeouts\":%llu,\"transport_errors\":%llu,\"refused\":{",
	           (unsigned long long)t->ok, (unsigned long long)t->refused[PROTO_STATUS_BUSY],
	           (unsigned long long)tally_errors(t), (unsigned long long)t->invalid,
	           (unsigned long long)t->timeouts, (unsigned long long)t->transport_errors);
	bool first = true;
	for (size_t i = 0; i < STATUS_SLOTS; i++) {
		if (t->refused[i] == 0)
			continue;
		buf_printf(out, "%s\"%zu\":%llu", first ? "" : ",", i,
		           (unsigned long long)t->refused[i]);
		first = false;
	}
	buf_append_str(out, "}}");
}

static void
print_json(const options *opt, const report *rep)
{
	const double items_per_s = (double)rep->items / rep->window_seconds;
	buf out;
	buf_init(&out);

	/* The URL is the operator's own text: escape what JSON needs. */
	buf_append_str(&out, "{\"benchmark\":\"veil-bench\",\"server\":\"");
	for (const char *p = opt->server; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_printf(&out, "\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			buf_printf(&out, "\\u%04x", (unsigned)(unsigned char)*p);
		else
			buf_append_byte(&out, *p);
	}
	buf_printf(&out,
	           "\",\"suite\":\"%s\",\"connections\":%u,\"batch\":%u,\"prefix_bits\":%u,"
	           "\"slots\":%zu,"
	           "\"pool_frames\":%zu,\"handles\":%u,\"warmup_s\":%g,",
	           rep->suite, opt->connections, opt->batch, rep->prefix_bits, rep->slots,
	           rep->frames, opt->handles, opt->warmup);
	json_number(&out, "window_s", rep->window_seconds, false);
	buf_printf(&out, "\"items\":%llu,", (unsigned long long)rep->items);
	json_number(&out, "items_per_s", items_per_s, false);
	json_number(&out, "requests_per_s", (double)rep->window.ok / rep->window_seconds, false);
	buf_append_str(&out, "\"latency_ms\":{");
	json_number(&out, "p50", rep->p50 * 1e3, false);
	json_number(&out, "p99", rep->p99 * 1e3, false);
	json_number(&out, "max", rep->latency_max * 1e3, false);
	buf_printf(&out, "\"requests\":%zu},", rep->latency_count);
	buf_append_str(&out, "\"wire\":{");
	json_number(&out, "bytes_per_item",
	            per_item(rep->request_bytes + rep->reply_bytes, rep->items), false);
	json_number(&out, "request_bytes_per_item", per_item(rep->request_bytes, rep->items),
	            false);
	json_number(&out, "reply_bytes_per_item", per_item(rep->reply_bytes, rep->items), false);
	buf_append_str(&out, "\"counts\":\"frames only\"},\"replies\":");
	json_tally(&out, &rep->window);
	buf_append_str(&out, ",\"outside_window\":");
	json_tally(&out, &rep->outside);
	buf_printf(&out,
	           ",\"floor\":{\"operation\":\"%s\","
	           "\"threads\":%u,",
	           rep->floor_operation, opt->floor_threads);
	json_number(&out, "per_core_before", rep->floor_before, false);
	json_number(&out, "per_core_after", rep->floor_after, false);
	json_number(&out, "per_core", rep->floor_per_core, false);
	json_number(&out, "per_cpu_second_before", rep->floor_cpu_before, false);
	json_number(&out, "per_cpu_second_after", rep->floor_cpu_after, false);
	json_number(&out, "ops_per_s", rep->floor_total, true);
	buf_printf(&out, "},\"request_floor\":{\"operation\":\"%s + X25519\",\"threads\":%u,",
	           rep->floor_operation, opt->floor_threads);
	json_number(&out, "per_core_before", rep->request_floor_before, false);
	json_number(&out, "per_core_after", rep->request_floor_after, false);
	json_number(&out, "per_core", rep->request_floor_per_core, false);
	json_number(&out, "per_cpu_second_before", rep->request_floor_cpu_before, false);
	json_number(&out, "per_cpu_second_after", rep->request_floor_cpu_after, false);
	json_number(&out, "requests_per_s", rep->request_floor_total, true);
	buf_append_str(&out, "},");
	json_number(&out, "ratio", rep->ratio, false);
	json_number(&out, "request_ratio", rep->request_ratio, false);
	buf_printf(&out, "\"cpu\":{\"online_cores\":%ld,", rep->online_cores);
	json_number(&out, "bench_cores", rep->bench_cpu, false);
	json_number(&out, "server_cores", rep->server_cpu, false);
	json_number(&out, "machine_cores", rep->machine_cpu, false);
	json_number(&out, "ratio_per_server_core",
	            items_per_s / rep->server_cpu / rep->floor_per_cpu, false);
	json_number(&out, "request_ratio_per_server_core",
	            (double)rep->window.ok / rep->window_seconds / rep->server_cpu /
	                    rep->request_floor_per_cpu,
	            true);
	buf_append_str(&out, "},\"tokens\":");
	if (rep->tokens_mode) {
		buf_printf(&out, "{\"made\":%zu,\"spent\":%zu,", rep->tokens_made,
		           rep->tokens_taken);
		json_number(&out, "verify_ms", rep->token_verify_s * 1e3, false);
		json_number(&out, "spent_write_ms", rep->spent_write_s * 1e3, false);
		json_number(&out, "request_server_ms", rep->request_server_s * 1e3, false);
		json_number(&out, "check_share", rep->token_share, true);
		buf_append_str(&out, "}");
	} else {
		buf_append_str(&out, "null");
	}
	buf_printf(&out,
	           ",\"checked\":{\"replies\":%zu,\"items\":%zu,\"registered\":%zu,"
	           "\"wrong\":%zu,\"bad_replies\":%zu},\"ok\":%s}\n",
	           rep->checked_replies, rep->checked_items, rep->checked_registered, rep->wrong,
	           rep->check_failures, run_ok(rep) ? "true" : "false");
	if (buf_error(&out) != VEIL_OK)
		DIE("out of memory");
	fwrite(buf_data(&out), 1, buf_len(&out), stdout);
	buf_free(&out);
}

/* ------------------------------------------------------------------ */
/* Tokens mode */

/* The issuer's current key in the copy of --tokens-state, and the digest of
 * the challenge veild accepts. */
static void
open_token_key(const char *state, issuer **keys, const oprf_key **key,
               uint8_t digest[TOKEN_DIGEST_SIZE])
{
	char issuer_name[ISSUER_NAME_MAX + 1], origin[REDEEM_ORIGIN_MAX + 1], *copy = NULL;
	issuer_key_info info[ISSUER_MAX_KEYS];
	size_t count = 0;
	veil_err err;

	if (asprintf(&copy, "%s/%s", state, REDEEM_DIR) < 0)
		DIE("out of memory");
	if ((err = issuer_open_keys(copy, keys)) != VEIL_OK)
		DIE("--tokens-state %s: cannot read the issuer key copy %s: %s (veil-admin tokens "
		    "link)",
		    state, copy, veil_strerror(err));
	free(copy);
	if ((err = redeem_challenge_read(state, issuer_name, origin)) != VEIL_OK)
		DIE("--tokens-state %s: cannot read the token challenge: %s", state,
		    veil_strerror(err));
	if (issuer_keys(*keys, info, &count) != VEIL_OK || count == 0 ||
	    (*key = issuer_key(*keys, info[0].token_key_id, (int64_t)time(NULL))) == NULL)
		DIE("--tokens-state %s: no current issuer key", state);
	if (veil_tokens_challenge_digest(issuer_name, origin, digest) != VEIL_OK)
		DIE("--tokens-state %s: the challenge does not encode", state);
}

/*
 * Makes the run's tokens: --tokens of them, or enough for the most
 * requests the server could answer in the whole run, by the lesser of two
 * bounds: the floor (items/s) over the batch, and the server's threads
 * over the cost of checking one token; with slack. Each bound is an upper
 * one, so a run rarely runs out (it says so when it does).
 */
static void
make_tokens(const options *opt, const bench_work *floor_work, run *r, report *rep)
{
	uint8_t digest[TOKEN_DIGEST_SIZE];
	const oprf_key *key = NULL;
	issuer *keys = NULL;
	loadgen_tokens *calibration = NULL;
	const unsigned threads = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);

	open_token_key(opt->tokens_state, &keys, &key, digest);
	if (loadgen_tokens_new(key, digest, TOKEN_CALIBRATION, threads, &rep->token_verify_s,
	                       &calibration) != VEIL_OK)
		DIE("cannot make tokens");
	loadgen_tokens_free(calibration);
	size_t count = opt->tokens;
	if (count == 0) {
		const double floor = bench_rate(floor_work, 0.2, NULL) * opt->floor_threads;
		double per_s = floor / opt->batch;
		const double check_bound = opt->floor_threads / rep->token_verify_s;
		per_s = per_s < check_bound ? per_s : check_bound;
		count = (size_t)(TOKEN_SLACK * per_s * (opt->warmup + opt->seconds + 1.0)) +
		        4 * opt->connections;
	}
	fprintf(stderr, "%s: making %zu tokens (%.3f ms each on one thread)\n", PROGRAM, count,
	        rep->token_verify_s * 1e3);
	if (loadgen_tokens_new(key, digest, count, threads, NULL, &r->tokens) != VEIL_OK)
		DIE("cannot make %zu tokens", count);
	rep->tokens_mode = true;
	rep->tokens_made = count;
	issuer_close(keys);
}

/*
 * The wall time of one redemption in a spent set (spent.h): one synced
 * LMDB commit, as veild makes per token. Measured after the load, in a
 * scratch set beside --tokens-state (the same file system), then erased.
 */
static double
time_spent_writes(const char *state)
{
	char *dir = NULL;
	spent *set = NULL;
	uint8_t key_id[SPENT_KEY_ID_SIZE], nonce[SPENT_NONCE_SIZE];
	double seconds = NAN;

	if (asprintf(&dir, "%s/../veil-bench-spent.XXXXXX", state) < 0 || mkdtemp(dir) == NULL) {
		free(dir);
		return NAN;
	}
	randombytes_buf(key_id, sizeof(key_id));
	if (spent_open(dir, NULL, &set) == VEIL_OK) {
		const double start = clock_monotonic_seconds();
		size_t n = 0;
		for (; n < SPENT_SAMPLES; n++) {
			randombytes_buf(nonce, sizeof(nonce));
			if (spent_redeem(set, key_id, nonce) != SPENT_OK)
				break;
		}
		if (n == SPENT_SAMPLES)
			seconds = (clock_monotonic_seconds() - start) / SPENT_SAMPLES;
		spent_close(set);
	}
	/* The scratch set's files, then its directories. */
	static const char *const made[] = {SPENT_DIR "/data.mdb", SPENT_DIR "/lock.mdb",
	                                   SPENT_KEY_FILE, SPENT_DIR, ""};
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		char *path = NULL;
		if (asprintf(&path, "%s/%s", dir, made[i]) >= 0 && remove(path) != 0 &&
		    errno != ENOENT)
			fprintf(stderr, "%s: could not remove %s\n", PROGRAM, path);
		free(path);
	}
	free(dir);
	return seconds;
}

/* ------------------------------------------------------------------ */

/* The secret of --client-key, into guarded memory r->client_secret. */
static void
read_client_key(const char *path, run *r)
{
	if ((r->client_secret = sodium_malloc(ENVELOPE_SECRET_KEY_SIZE)) == NULL)
		DIE("out of memory");
	const veil_err err = keyfile_read(path, VEIL_CLIENT_KEY_KIND, r->client_secret,
	                                  ENVELOPE_SECRET_KEY_SIZE);
	if (err != VEIL_OK)
		DIE("--client-key %s: %s%s%s", path, veil_strerror(err),
		    err == VEIL_ERR_SYSTEM ? ": " : "",
		    err == VEIL_ERR_SYSTEM ? strerror(errno) : "");
}

/* INFO over a socket of our own: the server's parameters, and a clear
 * message when it is not there. */
static void
ask_info(const options *opt, run *r)
{
	loadgen_peer *peer = NULL;
	transport_client *transport = NULL;
	uint16_t status = 0;

	if (new_peer(r, &peer) != VEIL_OK)
		DIE("--server-key is not a usable key");
	if (transport_client_open(opt->server, (int)(opt->timeout * 1000), PROTO_MAX_REPLY_SIZE,
	                          &transport) != VEIL_OK)
		DIE("cannot use %s: %s", opt->server, transport_strerror());
	const veil_err err = loadgen_info(peer, transport, &r->info, &status);
	switch (err) {
	case VEIL_OK:
		break;
	case VEIL_ERR_TIMEOUT:
		DIE("no reply from %s within %g s: is veild running there?", opt->server,
		    opt->timeout);
	case VEIL_ERR_TRANSPORT:
		DIE("cannot reach %s: %s", opt->server, transport_strerror());
	case VEIL_ERR_VERIFY:
		DIE("the reply from %s is not sealed by --server-key", opt->server);
	case VEIL_ERR_UNSUPPORTED:
		if (status == PROTO_STATUS_BAD_ENVELOPE)
			DIE("%s cannot open our request: is --server-key its key?", opt->server);
		if (status == PROTO_STATUS_UNAUTHORIZED)
			DIE("%s serves only enrolled keys: %s (veil-admin client add --quota "
			    "unlimited PUBKEY)",
			    opt->server,
			    opt->client_key != NULL ? "enrol the key of --client-key"
			                            : "give --client-key, a key enrolled there");
		if (status == PROTO_STATUS_BAD_FRAME)
			DIE("%s refused INFO: %s (%s)", opt->server, proto_status_str(status),
			    opt->tokens_state != NULL
			            ? "is it in tokens mode? veild --auth tokens"
			            : "is it in tokens mode? give --tokens-state");
		if (status != 0)
			DIE("%s refused INFO: %s", opt->server, proto_status_str(status));
		DIE("%s offers no key of a suite and mode this bench knows", opt->server);
	default:
		DIE("INFO to %s failed: %s", opt->server, veil_strerror(err));
	}
	transport_client_close(transport);
	loadgen_peer_free(peer);
}

int
main(int argc, char **argv)
{
	options opt;
	static run r;
	report rep;

	const int status = parse_options(argc, argv, &opt, r.server_key);
	if (status >= 0)
		return status;
	if (opt.print_handles_given)
		return print_handles(opt.print_handles);
	if (veil_crypto_init() != VEIL_OK)
		DIE("the crypto library failed to start");
	memset(&rep, 0, sizeof(rep));
	r.opt = &opt;
	if (opt.client_key != NULL)
		read_client_key(opt.client_key, &r);

	ask_info(&opt, &r);
	if (opt.batch > r.info.batch_cap)
		DIE("--batch %u is above the server's batch cap of %u", opt.batch,
		    r.info.batch_cap);
	if (!proto_is_size_class(opt.batch, r.info.batch_cap))
		DIE("--batch %u is not a size class of the server's cap %u: a power of two "
		    "below it, or the cap",
		    opt.batch, r.info.batch_cap);
	r.prefix_bits = opt.prefix_bits ? opt.prefix_bits : r.info.p_recommended;
	if (r.prefix_bits < r.info.p_min || r.prefix_bits > r.info.p_max)
		DIE("--prefix-bits %u is outside the server's range %u..%u", r.prefix_bits,
		    r.info.p_min, r.info.p_max);
	r.frames = opt.pool ? opt.pool : POOL_ITEMS / opt.batch;
	r.frames = r.frames < 1                              ? 1
	           : r.frames > POOL_MAX_FRAMES && !opt.pool ? POOL_MAX_FRAMES
	                                                     : r.frames;
	rep.prefix_bits = r.prefix_bits;
	rep.frames = r.frames;
	rep.suite = oprf_suite_name(proto_suite(r.info.keys[0].suite)); /* ask_info checked it */
	bench_suite_floor *floor = bench_suite_floor_new(rep.suite);
	if (floor == NULL)
		DIE("no floor for suite %s", rep.suite);
	rep.floor_operation = bench_suite_floor_operation(floor);
	const bench_work floor_work = bench_suite_floor_work(floor);
	static request_floor request_floor_state;
	const bench_work request_floor_work = request_floor_init(&request_floor_state, &floor_work);
	if (opt.tokens_state != NULL)
		make_tokens(&opt, &floor_work, &r, &rep);

	/* Pools are built by the connection threads, in parallel. */
	connection *conns = calloc(opt.connections, sizeof(*conns));
	if (conns == NULL)
		DIE("out of memory");
	if (pthread_barrier_init(&r.ready, NULL, opt.connections + 1) != 0 ||
	    pthread_barrier_init(&r.start, NULL, opt.connections + 1) != 0)
		DIE("cannot make barriers");
	for (unsigned k = 0; k < opt.connections; k++) {
		conns[k].run = &r;
		if (pthread_create(&conns[k].thread, NULL, connection_main, &conns[k]) != 0)
			DIE("cannot start thread %u", k);
	}
	pthread_barrier_wait(&r.ready);
	const connection *failed = NULL;
	for (unsigned k = 0; k < opt.connections && failed == NULL; k++)
		if (conns[k].setup_err != VEIL_OK)
			failed = &conns[k];
	r.abandon = failed != NULL;

	/* The floor, before: the server idle, our threads waiting. */
	if (!r.abandon) {
		(void)bench_rate(&floor_work, BENCH_FLOOR_WARMUP_SECONDS, NULL);
		rep.floor_before =
		        measure_floor(&floor_work, opt.floor_seconds, &rep.floor_cpu_before);
		rep.request_floor_before = measure_floor(&request_floor_work, opt.floor_seconds,
		                                         &rep.request_floor_cpu_before);
	}

	const double start = clock_monotonic_seconds();
	r.measure_from = start + opt.warmup;
	r.deadline = r.measure_from + opt.seconds;
	pthread_barrier_wait(&r.start);
	if (r.abandon) {
		for (unsigned k = 0; k < opt.connections; k++)
			pthread_join(conns[k].thread, NULL);
		if (failed->setup_err == VEIL_ERR_TIMEOUT)
			DIE("no reply from %s within %g s while connecting", opt.server,
			    opt.timeout);
		DIE("setting up a connection failed at %s: %s%s%s", failed->setup_step,
		    failed->setup_status ? proto_status_str(failed->setup_status)
		                         : veil_strerror(failed->setup_err),
		    failed->setup_err == VEIL_ERR_TRANSPORT ? ": " : "",
		    failed->setup_err == VEIL_ERR_TRANSPORT ? transport_strerror() : "");
	}

	sleep_until(r.measure_from);
	const double cpu0 = clock_process_cpu_seconds(),
	             server0 = other_cpu_seconds(opt.server_pid);
	const double machine0 = machine_cpu_seconds();
	sleep_until(r.deadline);
	const double cpu1 = clock_process_cpu_seconds(),
	             server1 = other_cpu_seconds(opt.server_pid);
	const double machine1 = machine_cpu_seconds();
	rep.window_seconds = r.deadline - r.measure_from;
	for (unsigned k = 0; k < opt.connections; k++)
		pthread_join(conns[k].thread, NULL);

	rep.floor_after = measure_floor(&floor_work, opt.floor_seconds, &rep.floor_cpu_after);
	rep.request_floor_after =
	        measure_floor(&request_floor_work, opt.floor_seconds, &rep.request_floor_cpu_after);
	rep.request_floor_per_core = (rep.request_floor_before + rep.request_floor_after) / 2;
	rep.request_floor_per_cpu =
	        (rep.request_floor_cpu_before + rep.request_floor_cpu_after) / 2;
	rep.request_floor_total = rep.request_floor_per_core * opt.floor_threads;
	rep.floor_per_core = (rep.floor_before + rep.floor_after) / 2;
	rep.floor_per_cpu = (rep.floor_cpu_before + rep.floor_cpu_after) / 2;
	rep.floor_total = rep.floor_per_core * opt.floor_threads;
	rep.online_cores = sysconf(_SC_NPROCESSORS_ONLN);
	rep.bench_cpu = (cpu1 - cpu0) / rep.window_seconds;
	rep.server_cpu = (server1 - server0) / rep.window_seconds;
	rep.machine_cpu = (machine1 - machine0) / rep.window_seconds;
	collect(conns, opt.connections, &rep);
	rep.ratio = (double)rep.items / rep.window_seconds / rep.floor_total;
	rep.request_ratio = (double)rep.window.ok / rep.window_seconds / rep.request_floor_total;
	check_samples(conns, opt.connections, &rep);
	if (rep.tokens_mode) {
		rep.tokens_taken = loadgen_tokens_taken(r.tokens);
		rep.spent_write_s = time_spent_writes(opt.tokens_state);
		rep.request_server_s =
		        opt.floor_threads * rep.window_seconds / (double)rep.window.ok;
		rep.token_share = (rep.token_verify_s + rep.spent_write_s) / rep.request_server_s;
		if (rep.window.out_of_tokens + rep.outside.out_of_tokens > 0)
			fprintf(stderr,
			        "%s: ran out of tokens: connections stopped early, so the figures "
			        "are low; give more --tokens\n",
			        PROGRAM);
	}
	const uint64_t timeouts = rep.window.timeouts + rep.outside.timeouts;
	if (timeouts > 0)
		fprintf(stderr,
		        "%s: no reply from %s within %g s during the run: %llu of %u connections "
		        "stopped\n",
		        PROGRAM, opt.server, opt.timeout, (unsigned long long)timeouts,
		        opt.connections);

	if (opt.json)
		print_json(&opt, &rep);
	else
		print_text(&opt, &rep);

	for (unsigned k = 0; k < opt.connections; k++)
		connection_free(&conns[k]);
	free(conns);
	bench_suite_floor_free(floor);
	loadgen_tokens_free(r.tokens);
	pthread_barrier_destroy(&r.ready);
	pthread_barrier_destroy(&r.start);
	if (r.client_secret != NULL)
		sodium_free(r.client_secret);
	if (fflush(stdout) != 0)
		return 1;
	return run_ok(&rep) ? 0 : 1;
}

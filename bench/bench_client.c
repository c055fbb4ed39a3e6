/*
 * veil-bench-client: one client lookup of N contacts (default 1024), end
 * to end through libveil-client against a running veild, as a ratio to
 * the crypto floor of the lookup measured in the same run.
 *
 * The floor per contact is what the OPRF must compute: on the client, one
 * HashToGroup (crypto_core_ristretto255_from_hash over a SHA-512 of the
 * input) and two scalar multiplications (blind, unblind); on the server,
 * one scalar multiplication; all of it spread over --floor-threads cores
 * (default 2). Each run times one lookup (wall clock, and the client's CPU
 * time, all its threads), then the floor's two operations on one core, in
 * that thread's CPU time (other load on the machine does not slow the
 * floor; it does slow the lookup's wall time, so a loaded machine shows a
 * worse ratio, never a better one); the figure reported is the median
 * ratio over the runs. The client's CPU time is also given as a ratio to
 * its own share of the floor (2 multiplications and 1 HashToGroup a
 * contact, on one core), which other load hardly moves.
 *
 * The registry must hold the handles of `veil-bench --print-handles N`
 * (this program's --print-handles writes the same), as
 * bench/run-veil-bench.sh sets up:
 *
 *   bench/run-veil-bench.sh --build build-rel --bench build-rel/bench/veil-bench-client \
 *       --handles 10000 -- --contacts 1024 --runs 9
 *
 * The contacts: half registered handles, a quarter never registered
 * handles, a quarter phone numbers in national form (region US), never
 * registered, which the client must normalize. After the runs every
 * answer is checked (exit 1 if one is wrong). Progress goes to stderr.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "clock.h"
#include "loadgen.h"
#include "oprf.h"
#include "timing.h"
#include "veil_client.h"

#define PROGRAM  "veil-bench-client"
#define MAX_RUNS 64

typedef struct options {
	const char *server, *info, *client_key;
	unsigned long contacts, handles, runs, threads, floor_threads;
	int json;
} options;

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: " PROGRAM " --server URL --server-key INFO --client-key FILE [options]\n"
	        "       " PROGRAM " --print-handles N\n"
	        "  --server URL          veild to ask\n"
	        "  --server-key INFO     what veil-admin info printed (the pins)\n"
	        "  --client-key FILE     an enrolled client key (veil keygen)\n"
	        "  --handles N           the registry holds the N handles of --print-handles N\n"
	        "                        (default 10000)\n"
	        "  --contacts N          contacts of one lookup (default 1024)\n"
	        "  --runs N              lookups timed, 1..%d (default 5)\n"
	        "  --threads N           the client's worker threads (0: the cores; default 0)\n"
	        "  --floor-threads N     cores the floor is spread over (default 2)\n"
	        "  --server-pid PID      accepted, for bench/run-veil-bench.sh; unused\n"
	        "  --json                one JSON object on stdout\n"
	        "  --print-handles N     write an import file of N handles for veil-admin import\n"
	        "  --help, --version\n",
	        MAX_RUNS);
}

static unsigned long
number(const char *name, const char *text, unsigned long min, unsigned long max)
{
	char *end = NULL;
	const unsigned long v = strtoul(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, PROGRAM ": --%s takes a number from %lu to %lu, not '%s'\n", name,
		        min, max, text);
		exit(2);
	}
	return v;
}

static void
die(const char *what, veil_err err, const char *detail)
{
	fprintf(stderr, PROGRAM ": %s: %s%s%s\n", what, veil_strerror(err),
	        detail != NULL && detail[0] != '\0' ? ": " : "", detail != NULL ? detail : "");
	exit(1);
}

/*
 * Seconds of CPU one call of work takes, over calls calls: CPU time, not
 * wall time, so that other load on the machine (which only takes turns
 * with this thread) does not make the floor look slower than it is.
 */
static double
cpu_seconds_per_call(const bench_work *work, unsigned calls)
{
	const double t0 = clock_thread_cpu_seconds();
	for (unsigned i = 0; i < calls; i++)
		work->run(work->arg);
	return (clock_thread_cpu_seconds() - t0) / calls;
}

/* The floor's HashToGroup: SHA-512 of a handle, then from_hash. */
typedef struct hash_floor {
	char handle[LOADGEN_HANDLE_SIZE];
	uint32_t next;
	uint8_t point[crypto_core_ristretto255_BYTES];
} hash_floor;

static void
hash_floor_run(void *arg)
{
	hash_floor *h = arg;
	uint8_t digest[crypto_hash_sha512_BYTES];
	const size_t len = loadgen_handle(h->handle, 0, h->next++ % 4096);
	crypto_hash_sha512(digest, (const uint8_t *)h->handle, len);
	crypto_core_ristretto255_from_hash(h->point, digest);
	bench_consume(h->point, sizeof(h->point));
}

/* Contact i of the lookup, into out (see the top of this file). */
static void
contact(char *out, size_t size, size_t i, unsigned long handles, int *registered)
{
	static const unsigned area[] = {212, 646, 415, 617};
	*registered = 0;
	if (i % 2 == 0 && i / 2 < handles) {
		*registered = 1;
		loadgen_handle(out, 1, (uint32_t)(i / 2));
	} else if (i % 4 == 1) {
		loadgen_handle(out, 0, (uint32_t)i);
	} else {
		snprintf(out, size, "(%u) 555-%04zu", area[(i / 40000) % 4], (i / 4) % 10000);
	}
}

int
main(int argc, char **argv)
{
	options o = {.contacts = 1024, .handles = 10000, .runs = 5, .floor_threads = 2};
	enum {
		O_SERVER = 1,
		O_KEY,
		O_CLIENT,
		O_HANDLES,
		O_CONTACTS,
		O_RUNS,
		O_THREADS,
		O_FLOOR,
		O_PID,
		O_JSON,
		O_PRINT,
		O_HELP,
		O_VERSION
	};
	static const struct option longs[] = {
	        {"server", required_argument, NULL, O_SERVER},
	        {"server-key", required_argument, NULL, O_KEY},
	        {"client-key", required_argument, NULL, O_CLIENT},
	        {"handles", required_argument, NULL, O_HANDLES},
	        {"contacts", required_argument, NULL, O_CONTACTS},
	        {"runs", required_argument, NULL, O_RUNS},
	        {"threads", required_argument, NULL, O_THREADS},
	        {"floor-threads", required_argument, NULL, O_FLOOR},
	        {"server-pid", required_argument, NULL, O_PID},
	        {"json", no_argument, NULL, O_JSON},
	        {"print-handles", required_argument, NULL, O_PRINT},
	        {"help", no_argument, NULL, O_HELP},
	        {"version", no_argument, NULL, O_VERSION},
	        {NULL, 0, NULL, 0},
	};
	for (int opt; (opt = getopt_long(argc, argv, "", longs, NULL)) != -1;) {
		switch (opt) {
		case O_SERVER:
			o.server = optarg;
			break;
		case O_KEY:
			o.info = optarg;
			break;
		case O_CLIENT:
			o.client_key = optarg;
			break;
		case O_HANDLES:
			o.handles = number("handles", optarg, 0, 1UL << 31);
			break;
		case O_CONTACTS:
			o.contacts = number("contacts", optarg, 1, 1000000);
			break;
		case O_RUNS:
			o.runs = number("runs", optarg, 1, MAX_RUNS);
			break;
		case O_THREADS:
			o.threads = number("threads", optarg, 0, VEIL_MAX_THREADS);
			break;
		case O_FLOOR:
			o.floor_threads = number("floor-threads", optarg, 1, 1024);
			break;
		case O_PID:
			break;
		case O_JSON:
			o.json = 1;
			break;
		case O_PRINT: {
			const unsigned long n = number("print-handles", optarg, 0, 1UL << 31);
			char handle[LOADGEN_HANDLE_SIZE];
			for (unsigned long i = 0; i < n; i++) {
				loadgen_handle(handle, 1, (uint32_t)i);
				printf("%s\n", handle);
			}
			return fflush(stdout) == 0 ? 0 : 1;
		}
		case O_HELP:
			usage(stdout);
			return 0;
		case O_VERSION:
			printf(PROGRAM " %s\n", veil_client_version());
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || o.server == NULL || o.info == NULL || o.client_key == NULL) {
		usage(stderr);
		return 2;
	}
	if (veil_crypto_init() != VEIL_OK)
		die("libsodium", VEIL_ERR_CRYPTO, NULL);

	uint8_t secret[VEIL_KEY_SIZE];
	veil_client_options co;
	memset(&co, 0, sizeof(co));
	veil_err err = veil_client_key_read(o.client_key, secret);
	if (err != VEIL_OK)
		die(o.client_key, err, NULL);
	if ((err = veil_server_info_read(o.info, &co)) != VEIL_OK)
		die(o.info, err, NULL);
	co.server_url = o.server;
	co.client_secret = secret;
	co.region = "US";
	co.timeout_ms = 60000;
	veil_client *client = NULL;
	if ((err = veil_client_new(&co, &client)) != VEIL_OK)
		die("veil_client_new", err, NULL);
	sodium_memzero(secret, sizeof(secret));
	if ((err = veil_client_set_threads(client, (unsigned)o.threads)) != VEIL_OK)
		die("--threads", err, NULL);

	const size_t n = o.contacts;
	char **contacts = calloc(n, sizeof(*contacts));
	int *registered = calloc(n, sizeof(*registered));
	veil_lookup_result *results = calloc(n, sizeof(*results));
	if (contacts == NULL || registered == NULL || results == NULL)
		die("memory", VEIL_ERR_NOMEM, NULL);
	for (size_t i = 0; i < n; i++) {
		char text[LOADGEN_HANDLE_SIZE];
		contact(text, sizeof(text), i, o.handles, &registered[i]);
		if ((contacts[i] = strdup(text)) == NULL)
			die("memory", VEIL_ERR_NOMEM, NULL);
	}

	/* One lookup first, untimed: it connects and asks INFO. */
	if ((err = veil_client_lookup(client, (const char *const *)contacts, n, results)) !=
	    VEIL_OK)
		die("lookup", err, veil_client_last_error(client));

	bench_floor mult;
	bench_floor_init(&mult);
	bench_work mult_work = bench_floor_work(&mult);
	hash_floor hash = {.next = 0};
	bench_work hash_work = {.run = hash_floor_run, .arg = &hash, .items = 1};
	(void)bench_rate(&mult_work, BENCH_FLOOR_WARMUP_SECONDS, NULL);

	double ratio[MAX_RUNS], wall[MAX_RUNS], cpu[MAX_RUNS], floor_s[MAX_RUNS];
	double cpu_ratio[MAX_RUNS];
	for (unsigned long r = 0; r < o.runs; r++) {
		const double t0 = clock_monotonic_seconds(), c0 = clock_process_cpu_seconds();
		err = veil_client_lookup(client, (const char *const *)contacts, n, results);
		wall[r] = clock_monotonic_seconds() - t0;
		cpu[r] = clock_process_cpu_seconds() - c0;
		if (err != VEIL_OK)
			die("lookup", err, veil_client_last_error(client));
		/* 3 multiplications (2 client, 1 server) and 1 HashToGroup a contact. */
		const double mult_s = cpu_seconds_per_call(&mult_work, 2000);
		const double hash_s = cpu_seconds_per_call(&hash_work, 2000);
		floor_s[r] = (double)n * (3.0 * mult_s + hash_s) / (double)o.floor_threads;
		ratio[r] = wall[r] / floor_s[r];
		/* The client's own share, on one core: 2 multiplications and 1
		 * HashToGroup a contact. Less sensitive to other load than wall. */
		cpu_ratio[r] = cpu[r] / ((double)n * (2.0 * mult_s + hash_s));
		fprintf(stderr,
		        PROGRAM ": run %lu: %.4f s wall, %.4f s client CPU, floor %.4f s: %.2fx\n",
		        r + 1, wall[r], cpu[r], floor_s[r], ratio[r]);
	}
	size_t wrong = 0;
	for (size_t i = 0; i < n; i++)
		if (results[i].status !=
		    (registered[i] ? VEIL_LOOKUP_REGISTERED : VEIL_LOOKUP_NOT_REGISTERED))
			wrong++;

	double ratio_sorted[MAX_RUNS];
	memcpy(ratio_sorted, ratio, o.runs * sizeof(double));
	double rmin = ratio[0], rmax = ratio[0];
	for (unsigned long r = 0; r < o.runs; r++) {
		rmin = ratio[r] < rmin ? ratio[r] : rmin;
		rmax = ratio[r] > rmax ? ratio[r] : rmax;
	}
	const double med_ratio = bench_median(ratio_sorted, o.runs);
	const double med_wall = bench_median(wall, o.runs);
	const double med_cpu = bench_median(cpu, o.runs);
	const double med_floor = bench_median(floor_s, o.runs);
	const double med_cpu_ratio = bench_median(cpu_ratio, o.runs);
	if (o.json)
		printf("{\"contacts\": %zu, \"runs\": %lu, \"threads\": %lu, \"floor_threads\": "
		       "%lu, "
		       "\"wall_seconds\": %.6f, \"client_cpu_seconds\": %.6f, "
		       "\"floor_seconds\": %.6f, \"ratio\": %.4f, \"ratio_min\": %.4f, "
		       "\"ratio_max\": %.4f, \"client_cpu_ratio\": %.4f, \"wrong\": %zu}\n",
		       n, o.runs, o.threads, o.floor_threads, med_wall, med_cpu, med_floor,
		       med_ratio, rmin, rmax, med_cpu_ratio, wrong);
	else
		printf("lookup of %zu contacts, median of %lu runs: %.4f s wall, %.4f s client "
		       "CPU\n"
		       "floor (3 ristretto255 scalar multiplications + 1 HashToGroup a contact,\n"
		       "       over %lu cores): %.4f s\n"
		       "wall / floor: %.2fx (runs %.2fx to %.2fx); %zu wrong answers\n"
		       "client CPU / the client's crypto on one core: %.2fx\n",
		       n, o.runs, med_wall, med_cpu, o.floor_threads, med_floor, med_ratio, rmin,
		       rmax, wrong, med_cpu_ratio);
	for (size_t i = 0; i < n; i++)
		free(contacts[i]);
	free(contacts);
	free(registered);
	free(results);
	veil_client_free(client);
	return wrong == 0 ? 0 : 1;
}

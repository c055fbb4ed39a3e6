/*
 * veil-bench-import: how fast veil-admin import fills a registry, as a
 * ratio to the floor measured in the same run.
 *
 * The floor is what the import cannot avoid per handle: RFC 9497
 * HashToGroup (expand_message_xmd with SHA-512, then ristretto255
 * from_hash) and one scalar multiplication, on THREADS threads at once
 * (so a two-core machine gives the two-core floor). It is measured before
 * and after the import and averaged, so that drift shows.
 *
 * The import is the real code: a generated file of N lines (phone numbers
 * in international form, some emails, half with payloads) is parsed by
 * import_parse() and stored by registry_import() into a new state in a
 * temporary directory, on THREADS threads. Reported: handles/s of the
 * import alone (sort, evaluate, write, commit) and end to end (plus
 * parsing and normalization), each with its ratio to the floor.
 *
 *   veil-bench-import [--handles N] [--threads T] [--seconds S] [--keep]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "clock.h"
#include "hash.h"
#include "import.h"
#include "oprf.h"
#include "registry.h"
#include "state.h"
#include "xmd.h"

#define PROGRAM     "veil-bench-import"
#define DST         "HashToGroup-OPRFV1-\x00-ristretto255-SHA512"
#define MAX_THREADS 64

static const int area_codes[] = {
        201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219,
        224, 225, 228, 229, 231, 234, 239, 240, 248, 251, 252, 253, 254, 256, 260, 262, 267,
        269, 270, 272, 276, 281, 301, 302, 303, 304, 305, 307, 308, 309, 310, 312, 313, 314,
        315, 316, 317, 318, 319, 320, 321, 323, 325, 330, 331, 334, 336, 337, 339, 347, 351,
        352, 360, 361, 385, 386, 401, 402, 404, 405, 406, 407, 408, 409, 410, 412, 413, 414,
        415, 417, 419, 423, 424, 425, 430, 432, 434, 435, 440, 442, 443, 469, 470, 475, 478,
        479, 480, 484, 501, 502, 503, 504, 505, 507, 508, 509, 510, 512, 513, 515, 516, 517,
};
#define AREA_COUNT (sizeof(area_codes) / sizeof(area_codes[0]))
/* Subscriber parts of generate(): (2..9)(00..99) 0000..9999. */
#define SUBSCRIBERS     8000000u
#define AREAS_PER_BLOCK 13u
#define MAX_HANDLES     (SUBSCRIBERS * (AREA_COUNT / AREAS_PER_BLOCK))

/* Floor measurements, added up over the runs. */
static uint64_t floor_ops;
static double floor_cpu;

static void
die(const char *what, veil_err err)
{
	cli_error(PROGRAM, "%s: %s", what, veil_strerror(err));
	exit(1);
}

/* ------------------------------------------------------------------ */
/* The floor */

typedef struct floor_run {
	unsigned thread;
	atomic_bool *stop;
	uint64_t count;
} floor_run;

static void *
floor_thread(void *arg)
{
	floor_run *run = arg;
	uint8_t scalar[crypto_core_ristretto255_SCALARBYTES];
	uint8_t uniform[crypto_core_ristretto255_HASHBYTES];
	uint8_t point[crypto_core_ristretto255_BYTES], product[crypto_core_ristretto255_BYTES];
	char input[32];

	crypto_core_ristretto255_scalar_random(scalar);
	while (!atomic_load(run->stop)) {
		int len = snprintf(input, sizeof(input), "tel:+1415%07u",
		                   (unsigned)((run->count * 7919 + run->thread) % 10000000));
		if (xmd_expand(&hash_sha512, (const uint8_t *)input, (size_t)len,
		               (const uint8_t *)DST, sizeof(DST) - 1, uniform,
		               sizeof(uniform)) != VEIL_OK)
			die("floor", VEIL_ERR_CRYPTO);
		crypto_core_ristretto255_from_hash(point, uniform);
		if (crypto_scalarmult_ristretto255(product, scalar, point) != 0)
			die("floor", VEIL_ERR_CRYPTO);
		run->count++;
	}
	return NULL;
}

/* Handles per second of HashToGroup + scalar multiplication on threads threads. */
static double
measure_floor(unsigned threads, double seconds)
{
	pthread_t ids[MAX_THREADS];
	floor_run runs[MAX_THREADS];
	atomic_bool stop;
	atomic_init(&stop, false);
	const double start = clock_monotonic_seconds(), cpu_start = clock_process_cpu_seconds();
	for (unsigned i = 0; i < threads; i++) {
		runs[i] = (floor_run){i, &stop, 0};
		if (pthread_create(&ids[i], NULL, floor_thread, &runs[i]) != 0)
			die("pthread_create", VEIL_ERR_SYSTEM);
	}
	clock_sleep_seconds(seconds);
	atomic_store(&stop, true);
	uint64_t total = 0;
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(ids[i], NULL);
		total += runs[i].count;
	}
	floor_ops += total;
	floor_cpu += clock_process_cpu_seconds() - cpu_start;
	return (double)total / (clock_monotonic_seconds() - start);
}

/* When each stage of registry_import() first reported. */
typedef struct stage_times {
	double first[4];
} stage_times;

static void
on_progress(void *arg, registry_stage stage, uint64_t done, uint64_t total)
{
	stage_times *t = arg;
	if ((unsigned)stage < 4 && t->first[stage] == 0)
		t->first[stage] = clock_monotonic_seconds();
	(void)done;
	(void)total;
}

/* ------------------------------------------------------------------ */

static char *
generate(size_t n, size_t *len_out)
{
	const size_t cap = n * 64 + 1;
	char *text = malloc(cap);
	size_t len = 0;
	if (text == NULL)
		die("generate", VEIL_ERR_NOMEM);
	for (size_t i = 0; i < n; i++) {
		const uint32_t r = randombytes_uniform(UINT32_MAX);
		/*
		 * Distinct: i picks the subscriber part (SUBSCRIBERS of them) and
		 * the block of AREAS_PER_BLOCK area codes it is drawn from, r the
		 * rest; blocks do not share area codes.
		 */
		const size_t block = i / SUBSCRIBERS;
		if (r % 5 == 0)
			len += (size_t)snprintf(text + len, cap - len, "user%zu@example%u.org", i,
			                        r % 100);
		else
			len += (size_t)snprintf(
			        text + len, cap - len, "+1 %d %u%02zu %04zu",
			        area_codes[block * AREAS_PER_BLOCK + r % AREAS_PER_BLOCK],
			        2 + (unsigned)(i % 8), i / 8 % 100, i / 800 % 10000);
		if ((r >> 8) % 2 == 0)
			len += (size_t)snprintf(text + len, cap - len, ",payload %zu", i);
		text[len++] = '\n';
	}
	text[len] = '\0';
	*len_out = len;
	return text;
}

/* --help, after the usage line. */
static void
print_help(void)
{
	printf("Imports N generated handles (default 1000000, at most %u) into a\n"
	       "fresh registry on T threads (default 2, at most %d) and reports handles/s\n"
	       "as a ratio to the floor of HashToGroup + scalar multiplication on T\n"
	       "threads, measured for S seconds (default 3) before and after. --keep\n"
	       "leaves the state directory.\n",
	       (unsigned)MAX_HANDLES, MAX_THREADS);
}

int
main(int argc, char **argv)
{
	uint32_t handles = 1000000;
	uint32_t threads = 2;
	double seconds = 3.0;
	bool keep = false;
	const cli_option table[] = {
	        CLI_U32_OPTION("handles", &handles, 1, MAX_HANDLES),
	        CLI_U32_OPTION("threads", &threads, 1, MAX_THREADS),
	        CLI_DOUBLE_OPTION("seconds", &seconds, 0.01, 3600),
	        CLI_FLAG_OPTION("keep", &keep),
	        CLI_END,
	};
	const cli_command command = {PROGRAM, "[--handles N] [--threads T] [--seconds S] [--keep]",
	                             table};
	const int status = cli_parse_options(&command, argc, argv, print_help);
	if (status >= 0)
		return status;
	if (veil_crypto_init() != VEIL_OK)
		die("init", VEIL_ERR_CRYPTO);

	char dir[] = "/tmp/veil-bench-import-XXXXXX";
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", VEIL_ERR_SYSTEM);
	char state_dir[sizeof(dir) + 8];
	snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
	const char *why = NULL;
	veil_err err;
	veil_state *st = NULL;
	if ((err = state_create(state_dir, OPRF_MODE_OPRF, NULL, &why)) != VEIL_OK ||
	    (err = state_open(state_dir, &st, &why)) != VEIL_OK)
		die(why != NULL ? why : "state", err);

	size_t text_len = 0;
	char *text = generate(handles, &text_len);

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("handles %u, threads %u\n", handles, threads);
	const double floor_before = measure_floor(threads, seconds);
	printf("floor before     %10.0f handles/s (HashToGroup + scalar mult, %u threads)\n",
	       floor_before, threads);

	import_batch *batch = NULL;
	const double t0 = clock_monotonic_seconds(), c0 = clock_process_cpu_seconds();
	const import_options parse_options = {NULL, threads, NULL, NULL, NULL, NULL};
	if ((err = import_parse(text, text_len, &parse_options, &batch)) != VEIL_OK)
		die("import_parse", err);
	const double t1 = clock_monotonic_seconds(), c1 = clock_process_cpu_seconds();
	size_t count = 0, key_count = 0;
	const registry_record *records = import_batch_records(batch, &count);
	const registry_key *keys = state_keys(st, &key_count);
	stage_times times = {{0}};
	const registry_import_options options = {threads, on_progress, &times};
	registry_change change;
	if ((err = registry_import(state_registry(st), keys, key_count, records, count, &options,
	                           &change)) != VEIL_OK)
		die("registry_import", err);
	const double t2 = clock_monotonic_seconds(), c2 = clock_process_cpu_seconds();
	import_summary summary;
	import_batch_summary(batch, &summary);

	const double floor_after = measure_floor(threads, seconds);
	printf("floor after      %10.0f handles/s\n", floor_after);
	const double floor = (floor_before + floor_after) / 2;
	const double imported = (double)(change.added + change.replaced);
	printf("parse            %10.0f lines/s (%.2f s, %llu bad lines)\n",
	       (double)summary.lines / (t1 - t0), t1 - t0, (unsigned long long)summary.bad);
	printf("import           %10.0f handles/s (%.2f s)   ratio to floor %.3f\n",
	       imported / (t2 - t1), t2 - t1, imported / (t2 - t1) / floor);
	printf("parse + import   %10.0f handles/s (%.2f s)   ratio to floor %.3f\n",
	       imported / (t2 - t0), t2 - t0, imported / (t2 - t0) / floor);
	/*
	 * The same in CPU time, which other processes on the machine do not
	 * take: floor CPU seconds per operation over import CPU seconds per
	 * handle.
	 */
	const double floor_cpu_each = floor_cpu / (double)floor_ops;
	printf("cpu per handle   floor %.1f us, import %.1f us (ratio %.3f), parse %.1f us "
	       "(parse + import ratio %.3f)\n",
	       floor_cpu_each * 1e6, (c2 - c1) / imported * 1e6,
	       floor_cpu_each / ((c2 - c1) / imported), (c1 - c0) / imported * 1e6,
	       floor_cpu_each / ((c2 - c0) / imported));
	/* SORT reports once, when sorting is done. */
	printf("  stages: sort %.2f s, evaluate %.2f s, write %.2f s, commit %.2f s\n",
	       times.first[REGISTRY_STAGE_SORT] - t1,
	       times.first[REGISTRY_STAGE_WRITE] - times.first[REGISTRY_STAGE_COMPUTE],
	       times.first[REGISTRY_STAGE_COMMIT] - times.first[REGISTRY_STAGE_WRITE],
	       t2 - times.first[REGISTRY_STAGE_COMMIT]);

	import_batch_free(batch);
	free(text);
	registry_verify_summary v;
	if (handles <= 100000) {
		if ((err = registry_verify(state_registry(st), keys, key_count, threads, &v)) !=
		            VEIL_OK ||
		    !registry_verify_ok(&v))
			die("verify", err != VEIL_OK ? err : VEIL_ERR_CORRUPT);
		printf("verify           ok\n");
	}
	state_free(st);
	if (keep) {
		printf("state kept in %s\n", state_dir);
	} else {
		char cmd[sizeof(dir) + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			cli_error(PROGRAM, "could not remove %s", dir);
	}
	return 0;
}

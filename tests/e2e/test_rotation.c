/*
 * Key rotation under load: a client looks up continuously against a real
 * veild while veil-admin rotates the OPRF key, the grace period runs, and
 * the old key is retired. Every answer stays right, veild picks up the new
 * key without a restart, and verify passes before, during and after.
 *
 * Arguments: veil-admin veild
 */
#define _GNU_SOURCE /* asprintf */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "fixture.h"
#include "harness.h"
#include "proc.h"
#include "veil_client.h"

#define BATCH 40

static const char *admin_path, *veild_path;
static char *work_dir, *state_dir, *url;
static uint8_t server_key[VEIL_KEY_SIZE];
static atomic_int stop_load;

typedef struct load {
	pthread_t thread;
	unsigned long lookups, wrong, failures;
	char last_error[200];
} load;

/* Even lines 0..1998 of 415-555 are registered (see main). */
static void *
load_main(void *arg)
{
	load *l = arg;
	uint8_t secret[VEIL_KEY_SIZE];
	char *texts[BATCH];
	veil_lookup_result results[BATCH];
	veil_client *client = NULL;
	randombytes_buf(secret, sizeof(secret));
	veil_client_options opt = {.server_url = url, .client_secret = secret, .region = "US",
				   .timeout_ms = 10000};
	memcpy(opt.server_key, server_key, VEIL_KEY_SIZE);
	if (veil_client_new(&opt, &client) != VEIL_OK) {
		l->failures++;
		return NULL;
	}
	for (unsigned round = 0; !atomic_load(&stop_load); round++) {
		for (unsigned i = 0; i < BATCH; i++)
			if (asprintf(&texts[i], "(415) 555-%04u", (round * BATCH + i) % 4000) < 0)
				abort();
		veil_err err = veil_client_lookup(client, (const char *const *)texts, BATCH, results);
		if (err != VEIL_OK) {
			l->failures++;
			snprintf(l->last_error, sizeof(l->last_error), "%s",
				 veil_client_last_error(client));
		} else {
			for (unsigned i = 0; i < BATCH; i++) {
				const unsigned line = (round * BATCH + i) % 4000;
				const int want = line < 2000 && line % 2 == 0;
				l->wrong += (results[i].status == VEIL_LOOKUP_REGISTERED) != want;
			}
			l->lookups++;
		}
		for (unsigned i = 0; i < BATCH; i++)
			free(texts[i]);
	}
	veil_client_free(client);
	return NULL;
}

static int
admin_ok(const char *const argv[], char **out)
{
	char *err = NULL;
	int rc = proc_run(argv, NULL, out, &err);
	if (rc != 0)
		printf("# %s %s failed: %s", argv[1], argv[2] ? argv[2] : "", err);
	free(err);
	return rc == 0;
}

static int
verify(void)
{
	const char *argv[] = {admin_path, "verify", "--state", state_dir, NULL};
	return admin_ok(argv, NULL);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void
case_rotation_under_load(void)
{
	/* A quota the load cannot exhaust: this test is about keys. */
	char *config;
	if (asprintf(&config, "%s/veild.ini", work_dir) < 0)
		abort();
	const char ini[] = "[clients]\nenrolment = open\ncapacity = 100000000\n";
	proc_write_file(config, ini, sizeof(ini) - 1);
	const char *argv[] = {veild_path, "--state", state_dir, "--listen", url, "--threads", "2",
			      "--config", config, NULL};
	proc_daemon d;
	REQUIRE(proc_start(&d, argv, "ready", 20000) == 0);
	load l;
	memset(&l, 0, sizeof(l));
	REQUIRE(pthread_create(&l.thread, NULL, load_main, &l) == 0);

	sleep_ms(500);
	CHECK(verify());
	const unsigned long before = l.lookups;
	const char *rotate[] = {admin_path, "rotate", "--state", state_dir, "--grace", "1", NULL};
	CHECK(admin_ok(rotate, NULL));
	sleep_ms(700);
	CHECK(verify()); /* two live keys */
	const unsigned long during = l.lookups;

	/* Past the grace period: the old key and its index go. */
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL) + 2 * 3600);
	const char *finish[] = {admin_path, "rotate",	"--finish", "--state",
				state_dir,  "--now",	now,	    NULL};
	CHECK(admin_ok(finish, NULL));
	sleep_ms(1500);
	CHECK(verify());
	const char *show[] = {admin_path, "info", "--state", state_dir, NULL};
	char *info = NULL;
	CHECK(admin_ok(show, &info));
	CHECK(info != NULL && strstr(info, "oprf-key 2 ") != NULL && strstr(info, "oprf-key 1 ") == NULL);
	free(info);

	atomic_store(&stop_load, 1);
	pthread_join(l.thread, NULL);
	printf("# %lu lookups of %d (%lu before the rotation, %lu by the finish), %lu wrong answers, "
	       "%lu failures\n",
	       l.lookups, BATCH, before, during, l.wrong, l.failures);
	if (l.failures)
		printf("# last failure: %s\n", l.last_error);
	CHECK(l.wrong == 0);
	CHECK(l.failures == 0);
	CHECK(before > 0 && during > before && l.lookups > during); /* served throughout */
	CHECK(proc_alive(&d));
	CHECK(proc_stop(&d) == 0);
	proc_release(&d);
	free(config);
}

int
main(int argc, char **argv)
{
	static const test_case cases[] = {
		{"rotation under load: every answer right", case_rotation_under_load},
	};
	if (argc != 3 || sodium_init() < 0)
		return 2;
	admin_path = argv[1];
	veild_path = argv[2];
	work_dir = proc_temp_dir("rotation");
	char *import;
	if (asprintf(&state_dir, "%s/state", work_dir) < 0 ||
	    asprintf(&import, "%s/import.txt", work_dir) < 0 ||
	    asprintf(&url, "ipc://%s/veild.sock", work_dir) < 0)
		abort();
	FILE *f = fopen(import, "w");
	if (f == NULL)
		abort();
	for (unsigned i = 0; i < 2000; i += 2)
		fprintf(f, "+1 415 555 %04u\n", i);
	fclose(f);
	fixture_state(admin_path, state_dir, import, server_key);
	free(import);
	int rc = test_main(argc, argv, cases, TEST_COUNT(cases));
	proc_remove_tree(work_dir);
	return rc;
}

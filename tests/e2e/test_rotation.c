/*
 * Key rotation under load: a client looks up continuously against a real
 * veild while veil-admin rotates the OPRF key, the grace period runs, and
 * the old key is retired. The client pins OPRF keys: it is handed the new
 * `veil-admin info` during the grace period, as an operator would, and
 * until then keeps asking under the old key. Every answer stays right,
 * veild picks up the new key without a restart, and verify passes before,
 * during and after.
 *
 * Each phase lasts until the load has completed PHASE_LOOKUPS more
 * lookups, however long that takes on this machine.
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

#include <sodium.h>

#include "e2e_client.h"
#include "fixture.h"
#include "harness.h"
#include "veil_client.h"

#define BATCH         40
#define PHASE_LOOKUPS 10

static atomic_int stop_load;
/* Bumped each time the pins in fx.info_path change; fixture_info() and
 * making a client from the pins hold pins_lock. */
static atomic_int pins_generation;
static pthread_mutex_t pins_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct load {
	pthread_t thread;
	atomic_ulong lookups, wrong, failures;
	unsigned long mark; /* for load_passed() */
	char last_error[200];
} load;

/* A client of the current pins. */
static veil_err
pinned_client(const uint8_t secret[VEIL_KEY_SIZE], veil_client **client)
{
	pthread_mutex_lock(&pins_lock);
	const veil_err err = fixture_client(NULL, secret, client);
	pthread_mutex_unlock(&pins_lock);
	return err;
}

/* Even lines 0..1998 of 415-555 are registered (see setup). */
static void *
load_main(void *arg)
{
	load *l = arg;
	uint8_t secret[VEIL_KEY_SIZE];
	char *texts[BATCH];
	veil_lookup_result results[BATCH];
	veil_client *client = NULL;
	randombytes_buf(secret, sizeof(secret));
	int generation = atomic_load(&pins_generation);
	if (pinned_client(secret, &client) != VEIL_OK) {
		atomic_fetch_add(&l->failures, 1);
		return NULL;
	}
	for (unsigned round = 0; !atomic_load(&stop_load); round++) {
		if (generation != atomic_load(&pins_generation)) {
			/* New pins: the client an app update would bring. */
			generation = atomic_load(&pins_generation);
			veil_client_free(client);
			if (pinned_client(secret, &client) != VEIL_OK) {
				atomic_fetch_add(&l->failures, 1);
				return NULL;
			}
		}
		for (unsigned i = 0; i < BATCH; i++)
			if (asprintf(&texts[i], "(415) 555-%04u", (round * BATCH + i) % 4000) < 0)
				abort();
		veil_err err =
		        veil_client_lookup(client, (const char *const *)texts, BATCH, results);
		if (err != VEIL_OK) {
			snprintf(l->last_error, sizeof(l->last_error), "%s",
			         veil_client_last_error(client));
			atomic_fetch_add(&l->failures, 1);
		} else {
			for (unsigned i = 0; i < BATCH; i++) {
				const unsigned line = (round * BATCH + i) % 4000;
				const int want = line < 2000 && line % 2 == 0;
				if ((results[i].status == VEIL_LOOKUP_REGISTERED) != want)
					atomic_fetch_add(&l->wrong, 1);
			}
			atomic_fetch_add(&l->lookups, 1);
		}
		for (unsigned i = 0; i < BATCH; i++)
			free(texts[i]);
	}
	veil_client_free(client);
	return NULL;
}

/* The load has finished PHASE_LOOKUPS lookups (or failed some) since its mark. */
static int
load_passed(void *arg)
{
	load *l = arg;
	return atomic_load(&l->lookups) + atomic_load(&l->failures) >= l->mark + PHASE_LOOKUPS;
}

/* Waits until the load has done a phase's lookups; returns the lookups so far. */
static unsigned long
next_phase(load *l)
{
	l->mark = atomic_load(&l->lookups) + atomic_load(&l->failures);
	CHECK(test_wait_until(load_passed, l));
	return atomic_load(&l->lookups);
}

static int
admin_ok(const char *const args[], char **out)
{
	proc_result r = proc_call_args(fx.admin, args, NULL);
	if (r.status != 0)
		printf("# %s %s failed: %s", args[0], args[1] ? args[1] : "", r.err);
	if (out != NULL)
		*out = r.out;
	else
		free(r.out);
	free(r.err);
	return r.status == 0;
}

static int
verify(void)
{
	const char *args[] = {"verify", "--state", fx.state, NULL};
	return admin_ok(args, NULL);
}

static void
case_rotation_under_load(void)
{
	/* A quota the load cannot exhaust: this test is about keys. */
	char *config = fixture_file(&fx, "veild.ini",
	                            "[clients]\nenrolment = open\ncapacity = 100000000\n");
	REQUIRE(fixture_start(&fx, NULL, "ready", "--threads", "2", "--config", config, NULL) == 0);
	load l;
	memset(&l, 0, sizeof(l));
	REQUIRE(pthread_create(&l.thread, NULL, load_main, &l) == 0);

	const unsigned long before = next_phase(&l);
	CHECK(verify());
	const char *rotate[] = {"rotate", "--state", fx.state, "--grace", "1", NULL};
	CHECK(admin_ok(rotate, NULL));
	const unsigned long during = next_phase(&l); /* still under the old key */
	CHECK(verify());                             /* two live keys */
	pthread_mutex_lock(&pins_lock);
	fixture_info(&fx); /* the new key handed out within the grace period */
	pthread_mutex_unlock(&pins_lock);
	atomic_fetch_add(&pins_generation, 1);
	next_phase(&l);

	/* Past the grace period: the old key and its index go. */
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL) + 2 * 3600);
	const char *finish[] = {"rotate", "--finish", "--state", fx.state, "--now", now, NULL};
	CHECK(admin_ok(finish, NULL));
	next_phase(&l);
	CHECK(verify());
	const char *show[] = {"info", "--state", fx.state, NULL};
	char *info = NULL;
	CHECK(admin_ok(show, &info));
	CHECK(info != NULL && strstr(info, "oprf-key 2 ") != NULL &&
	      strstr(info, "oprf-key 1 ") == NULL);
	free(info);

	atomic_store(&stop_load, 1);
	pthread_join(l.thread, NULL);
	const unsigned long lookups = atomic_load(&l.lookups), failures = atomic_load(&l.failures);
	printf("# %lu lookups of %d (%lu before the rotation, %lu by the finish), %lu wrong "
	       "answers, "
	       "%lu failures\n",
	       lookups, BATCH, before, during, (unsigned long)atomic_load(&l.wrong), failures);
	if (failures)
		printf("# last failure: %s\n", l.last_error);
	CHECK(atomic_load(&l.wrong) == 0);
	CHECK(failures == 0);
	CHECK(before > 0 && during > before && lookups > during); /* served throughout */
	CHECK(proc_alive(&fx.daemon));
	CHECK(fixture_stop(&fx) == 0);
	free(config);
}

static const test_case cases[] = {
        {"rotation under load: every answer right", case_rotation_under_load},
};

FIXTURE_MAIN(cases, .label = "rotation", .numbered = "+1 415 555 ", .end = 2000, .step = 2)

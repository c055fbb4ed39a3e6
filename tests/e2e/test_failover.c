/*
 * Replicas: veil-admin snapshot copies a state while veild serves it, and
 * a client given several replicas' URLs fails over between them. A
 * snapshot verifies clean, holds nothing a serving veild gathers (query
 * log, clients, spent tokens), and a veild on it answers as the
 * original does; a snapshot never replaces an existing directory. Two
 * veilds on two snapshots of one state serve a client doing lookups
 * without pause while each of them in turn is killed (SIGKILL) and
 * restarted: no lookup fails, none is answered wrong, and both replicas
 * verify clean after.
 *
 * Arguments: veil-admin veild
 */
#define _GNU_SOURCE /* asprintf */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "e2e_client.h"
#include "e2e_lookups.h"
#include "fixture.h"
#include "harness.h"
#include "veil_client.h"

#define CONTACTS E2E_CONTACTS

/* Registered: +1 617 556 0000, 0002, ... 1998 (see the spec below). */
static const e2e_numbers numbers = {"+1 617 556 ", 2100, 2000};

/* veil-admin snapshot of fx's state into dir/name; returns its exit status. */
static int
snapshot(const char *name, char **out)
{
	*out = test_keep(proc_join(fx.dir, name));
	proc_result r = proc_call(fx.admin, "snapshot", "--state", fx.state, "--out", *out, NULL);
	if (r.status != 0)
		printf("# snapshot: %s", r.err);
	proc_result_free(&r);
	return r.status;
}

static int
verify_ok(const char *state)
{
	proc_result r = proc_call(fx.admin, "verify", "--state", state, NULL);
	proc_result_free(&r);
	return r.status == 0;
}

static int
exists(const char *dir, const char *name)
{
	char *path = proc_join(dir, name);
	struct stat st;
	const int found = lstat(path, &st) == 0;
	free(path);
	return found;
}

/* Starts veild on state at url; 0 once it is ready. */
static int
start_replica(proc_daemon *d, const char *state, const char *url)
{
	const char *argv[] = {fx.veild,    "--state", state,         "--listen", url,
	                      "--threads", "2",       "--enrolment", "open",     NULL};
	proc_release(d);
	return proc_start(d, argv, "ready");
}

static char *
url_of(const char *name)
{
	char *url;
	if (asprintf(&url, "ipc://%s/%s.sock", fx.dir, name) < 0)
		abort();
	return test_keep(url);
}

static void
case_snapshot_while_serving(void)
{
	REQUIRE(fixture_start(&fx, NULL, "ready", "--threads", "2", "--enrolment", "open", NULL) ==
	        0);
	uint8_t secret[VEIL_KEY_SIZE];
	randombytes_buf(secret, sizeof(secret));
	char *texts[CONTACTS] = {0};
	veil_lookup_result results[CONTACTS];
	veil_client *client = NULL;
	/* The original served (and logged) a lookup before the copy. */
	e2e_contacts_from(&numbers, 0, texts);
	REQUIRE(fixture_client(NULL, secret, &client) == VEIL_OK);
	CHECK(veil_client_lookup(client, (const char *const *)texts, CONTACTS, results) == VEIL_OK);
	CHECK(e2e_wrong_answers(&numbers, 0, results) == 0);
	veil_client_free(client);
	CHECK(exists(fx.state, "log") && exists(fx.state, "clients"));

	char *copy;
	REQUIRE(snapshot("replica-s", &copy) == 0);
	CHECK(verify_ok(copy));
	/* What a replica's veild needs, and nothing it gathers. */
	CHECK(exists(copy, "transport.key") && exists(copy, "oprf-00000001.key") &&
	      exists(copy, "registry/data.mdb"));
	static const char *const never[] = {"log", "clients", "clients.key", "spent", "spent.key"};
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		CHECK_ROW(!exists(copy, never[i]), never[i]);
	struct stat st;
	CHECK(stat(copy, &st) == 0 && (st.st_mode & 0777) == 0700);
	char *key = proc_join(copy, "transport.key");
	CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600);
	free(key);

	/* A veild on the copy answers the same lookups. */
	proc_daemon replica = {0};
	const char *url = url_of("replica-s");
	REQUIRE(start_replica(&replica, copy, url) == 0);
	REQUIRE(fixture_client(&(veil_client_options){.server_url = url}, secret, &client) ==
	        VEIL_OK);
	for (unsigned i0 = 0; i0 < 2100; i0 += 700) {
		e2e_contacts_from(&numbers, i0, texts);
		CHECK(veil_client_lookup(client, (const char *const *)texts, CONTACTS, results) ==
		      VEIL_OK);
		CHECK(e2e_wrong_answers(&numbers, i0, results) == 0);
	}
	veil_client_free(client);
	CHECK(proc_stop(&replica) == 0);
	proc_release(&replica);
	CHECK(fixture_stop(&fx) == 0);

	/* Never over an existing directory: refused, nothing left behind. */
	char *again;
	CHECK(snapshot("replica-s", &again) != 0);
	CHECK(!exists(fx.dir, "replica-s.tmp"));
	CHECK(verify_ok(copy));
	e2e_contacts_free(texts);
}

/* A client of both replicas (urls[2]), failing over soon. */
static veil_err
failover_client(const void *arg, const uint8_t secret[VEIL_KEY_SIZE], veil_client **out)
{
	const char *const *urls = arg;
	/* A reply timeout that fails over soon; a deadline only a hang reaches. */
	const veil_client_options o = {.server_url = urls[0],
	                               .fallback_urls = urls + 1,
	                               .fallback_url_count = 1,
	                               .timeout_ms = 1000,
	                               .deadline_ms = 2000 * (int)TEST_PATIENCE_SECONDS};
	return fixture_client(&o, secret, out);
}

static void
case_failover(void)
{
	char *state[2];
	proc_daemon d[2] = {{0}, {0}};
	REQUIRE(snapshot("replica-a", &state[0]) == 0);
	REQUIRE(snapshot("replica-b", &state[1]) == 0);
	const char *urls[2] = {url_of("replica-a"), url_of("replica-b")};
	e2e_lookups l = {.numbers = &numbers, .new_client = failover_client, .arg = urls};
	for (int i = 0; i < 2; i++)
		REQUIRE(start_replica(&d[i], state[i], urls[i]) == 0);
	pthread_t thread;
	REQUIRE(pthread_create(&thread, NULL, e2e_lookups_main, &l) == 0);
	CHECK(e2e_more_lookups(&l, 20));
	/* Each replica in turn: killed mid-run, lookups go on, restarted. */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 2; i++) {
			proc_kill(&d[i]);
			CHECK(e2e_more_lookups(&l, 20));
			CHECK(start_replica(&d[i], state[i], urls[i]) == 0);
			CHECK(e2e_more_lookups(&l, 20));
		}
	}
	atomic_store(&l.stop, 1);
	pthread_join(thread, NULL);
	printf("# %u lookups of %d contacts: %u failed, %u wrong answers\n", atomic_load(&l.done),
	       CONTACTS, l.failed, l.wrong);
	CHECK(l.failed == 0);
	CHECK(l.wrong == 0);
	for (int i = 0; i < 2; i++) {
		CHECK(proc_stop(&d[i]) == 0);
		proc_release(&d[i]);
		CHECK(verify_ok(state[i]));
	}
}

static const test_case cases[] = {
        {"snapshot while veild serves: clean, complete, serves the same",
         case_snapshot_while_serving},
        {"two replicas, each killed and restarted: no lookup fails or errs", case_failover},
};

FIXTURE_MAIN(cases, .label = "failover", .numbered = "+1 617 556 ", .end = 2000, .step = 2)

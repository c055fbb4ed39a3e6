/*
 * A replica swaps in a new snapshot while it serves: veil-admin snapshot
 * install moves a new registry into the replica's state and switches
 * DIR/registry to it, and the replica's veild follows within a second
 * with its workers paused. A client doing lookups without pause sees no
 * failure and no wrong answer across the swap; a handle added to the
 * primary before the snapshot is found after it; the replica's query
 * log keeps the entries from before; the replica verifies clean. A key
 * rotation on the primary ships the same way: clients that pin the
 * replica's new `veil-admin info` are served under the new key, by a
 * veild restarted on the installed replica as well as by the one that
 * swapped. Changes made on a replica's registry are refused.
 *
 * Arguments: veil-admin veild
 */
#define _GNU_SOURCE /* asprintf */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "e2e_client.h"
#include "e2e_lookups.h"
#include "fixture.h"
#include "harness.h"
#include "veil_client.h"

#define CONTACTS   E2E_CONTACTS
#define NEW_HANDLE "+1 617 557 2050"

/* Registered: +1 617 557 0000, 0002, ... 1998 (see the spec below). */
static const e2e_numbers numbers = {"+1 617 557 ", 2000, 2000};

/* The replica both cases share: its state directory, URL and veild. */
static char replica_state[4096];
static char replica_url[4096];
static proc_daemon replica;

static char *
path_of(const char *name)
{
	return test_keep(proc_join(fx.dir, name));
}

/* veil-admin snapshot of the primary into dir/name; its exit status. */
static int
snapshot(const char *name)
{
	proc_result r =
	        proc_call(fx.admin, "snapshot", "--state", fx.state, "--out", path_of(name), NULL);
	if (r.status != 0)
		printf("# snapshot: %s", r.err);
	proc_result_free(&r);
	return r.status;
}

/* veil-admin snapshot install of dir/name into the replica; its exit status. */
static int
install(const char *name)
{
	proc_result r = proc_call(fx.admin, "snapshot", "install", "--state", replica_state,
	                          "--from", path_of(name), NULL);
	if (r.status != 0)
		printf("# install: %s", r.err);
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

/* The entries the replica's query log holds (log stats --json); 0 if unknown. */
static unsigned long long
log_entries(void)
{
	proc_result r =
	        proc_call(fx.admin, "log", "stats", "--state", replica_state, "--json", NULL);
	unsigned long long entries = 0;
	const char *at = r.status == 0 ? strstr(r.out, "\"entries\":") : NULL;
	if (at != NULL)
		entries = strtoull(at + strlen("\"entries\":"), NULL, 10);
	proc_result_free(&r);
	return entries;
}

/* test_wait_until(): 1 once the replica's log holds an entry. */
static int
log_written(void *arg)
{
	(void)arg;
	return log_entries() > 0;
}

/* The replica's `log export`, its entry lines only (heap string; NULL on failure). */
static char *
log_export_entries(void)
{
	proc_result r = proc_call(fx.admin, "log", "export", "--state", replica_state, NULL);
	const char *body = r.status == 0 ? strchr(r.out, '\n') : NULL;
	char *entries = body != NULL ? strdup(body + 1) : NULL;
	proc_result_free(&r);
	return entries;
}

/* Whether every line of lines is a line of text. */
static int
lines_kept(const char *lines, const char *text)
{
	int kept = 1;
	for (const char *line = lines; kept && *line != '\0';) {
		const char *end = strchr(line, '\n');
		if (end == NULL)
			break;
		char *one = strndup(line, (size_t)(end - line + 1));
		kept = one != NULL && strstr(text, one) != NULL;
		free(one);
		line = end + 1;
	}
	return kept;
}

static int
start_replica(void)
{
	const char *argv[] = {fx.veild,    "--state", replica_state, "--listen", replica_url,
	                      "--threads", "2",       "--enrolment", "open",     NULL};
	proc_release(&replica);
	return proc_start(&replica, argv, "ready");
}

/* A client of the replica pinning info_path (NULL: the primary's). */
static veil_err
replica_client(const char *info_path, const uint8_t secret[VEIL_KEY_SIZE], veil_client **out)
{
	veil_client_options o = {.server_url = replica_url};
	if (info_path != NULL) {
		const veil_err err = veil_server_info_read(info_path, &o);
		if (err != VEIL_OK)
			return err;
	}
	return fixture_client(&o, secret, out);
}

/* e2e_lookups' client: of the replica, pinning the info path arg (NULL: the primary's). */
static veil_err
pinned_client(const void *arg, const uint8_t secret[VEIL_KEY_SIZE], veil_client **out)
{
	return replica_client(arg, secret, out);
}

/* What found() looks up, and with which pins. */
typedef struct probe {
	const char *info_path; /* NULL: the primary's */
	const char *handle;
} probe;

/* 1 once a fresh client pinning p's info finds p's handle registered. */
static int
found(void *arg)
{
	const probe *p = arg;
	uint8_t secret[VEIL_KEY_SIZE];
	randombytes_buf(secret, sizeof(secret));
	veil_client *client = NULL;
	veil_lookup_result result;
	const char *texts[1] = {p->handle};
	int registered = replica_client(p->info_path, secret, &client) == VEIL_OK &&
	                 veil_client_lookup(client, texts, 1, &result) == VEIL_OK &&
	                 result.status == VEIL_LOOKUP_REGISTERED;
	veil_client_free(client);
	return registered;
}

/* veil-admin info of the replica into dir/name; the path. */
static char *
replica_info(const char *name)
{
	proc_result r = proc_call(fx.admin, "info", "--state", replica_state, NULL);
	if (r.status != 0)
		abort(); /* a replica without info has nothing to test */
	char *path = fixture_file(&fx, name, r.out);
	proc_result_free(&r);
	return test_keep(path);
}

static void
case_install_while_serving(void)
{
	snprintf(replica_state, sizeof(replica_state), "%s/replica", fx.dir);
	snprintf(replica_url, sizeof(replica_url), "ipc://%s/replica.sock", fx.dir);
	REQUIRE(snapshot("replica") == 0);
	REQUIRE(start_replica() == 0);
	e2e_lookups l = {.numbers = &numbers, .new_client = pinned_client, .arg = NULL};
	pthread_t thread;
	REQUIRE(pthread_create(&thread, NULL, e2e_lookups_main, &l) == 0);
	CHECK(e2e_more_lookups(&l, 20));
	probe new_handle = {NULL, NEW_HANDLE};
	CHECK(!found(&new_handle));

	/* A handle added on the primary, shipped by snapshot and install mid-run. */
	fixture_import(&fx, NEW_HANDLE "\n");
	REQUIRE(snapshot("snap-1") == 0);
	CHECK(test_wait_until(log_written, NULL));
	char *before = log_export_entries();
	CHECK(before != NULL && before[0] != '\0');
	CHECK(install("snap-1") == 0);
	CHECK(test_wait_until(found, &new_handle));
	CHECK(e2e_more_lookups(&l, 20));
	/* Twice more: each generation replaces the one before it. */
	for (int i = 2; i <= 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "snap-%d", i);
		REQUIRE(snapshot(name) == 0);
		CHECK(install(name) == 0);
		CHECK(e2e_more_lookups(&l, 20));
	}
	atomic_store(&l.stop, 1);
	pthread_join(thread, NULL);
	printf("# %u lookups of %d contacts: %u failed, %u wrong answers\n", atomic_load(&l.done),
	       CONTACTS, l.failed, l.wrong);
	CHECK(l.failed == 0);
	CHECK(l.wrong == 0);
	CHECK(found(&new_handle));
	/* The replica's own log lives on: every entry from before the swaps stays. */
	char *after = log_export_entries();
	CHECK(before != NULL && after != NULL && lines_kept(before, after));
	CHECK(after != NULL && before != NULL && strlen(after) > strlen(before));
	free(before);
	free(after);
	CHECK(verify_ok(replica_state));
	char *stderr_text = proc_stderr(&replica);
	CHECK(stderr_text != NULL && strstr(stderr_text, "newly installed registry") != NULL);
	free(stderr_text);

	/* A replica's registry takes no change: the next install would undo it. */
	proc_result r = proc_call(fx.admin, "add", "--state", replica_state, "--region", "US",
	                          "+1 617 557 2060", NULL);
	CHECK(r.status == 1 && strstr(r.err, "replica") != NULL);
	proc_result_free(&r);
	r = proc_call(fx.admin, "rotate", "--state", replica_state, NULL);
	CHECK(r.status == 1 && strstr(r.err, "replica") != NULL);
	proc_result_free(&r);
}

static void
case_rotation_shipped_by_install(void)
{
	REQUIRE(replica_state[0] != '\0' && proc_alive(&replica));
	proc_result r = proc_call(fx.admin, "rotate", "--state", fx.state, "--grace", "24", NULL);
	CHECK(r.status == 0);
	proc_result_free(&r);
	REQUIRE(snapshot("snap-rotated") == 0);
	CHECK(install("snap-rotated") == 0);
	/* Clients re-pin from the replica's info: the new key, current. */
	const char *info = replica_info("replica-rotated.info");
	char *text = test_read_file(info, NULL);
	CHECK(text != NULL && strstr(text, "oprf-key 2 ") != NULL);
	free(text);
	probe pinned_new = {info, "+1 617 557 0002"};
	CHECK(test_wait_until(found, &pinned_new));
	e2e_lookups l = {.numbers = &numbers, .new_client = pinned_client, .arg = info};
	pthread_t thread;
	REQUIRE(pthread_create(&thread, NULL, e2e_lookups_main, &l) == 0);
	CHECK(e2e_more_lookups(&l, 20));
	atomic_store(&l.stop, 1);
	pthread_join(thread, NULL);
	CHECK(l.failed == 0 && l.wrong == 0);

	/* A veild started on the installed replica serves the same. */
	CHECK(proc_stop(&replica) == 0);
	REQUIRE(start_replica() == 0);
	CHECK(found(&pinned_new));
	probe added = {info, NEW_HANDLE};
	CHECK(found(&added));
	CHECK(proc_stop(&replica) == 0);
	proc_release(&replica);
	CHECK(verify_ok(replica_state));
}

static const test_case cases[] = {
        {"install mid-run: no lookup fails or errs, the new handle is found, the log stays",
         case_install_while_serving},
        {"a rotation shipped by install: served under the new key",
         case_rotation_shipped_by_install},
};

FIXTURE_MAIN(cases, .label = "swap", .numbered = "+1 617 557 ", .end = 2000, .step = 2)

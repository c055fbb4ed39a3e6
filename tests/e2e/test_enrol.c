/*
 * Enrolment and quotas against a real veild (enrolment required, the
 * default): an unenrolled key is refused and costs no evaluation; an
 * enrolled one is served until its quota runs out, then gets
 * RATE_LIMITED with the wait, evaluates nothing, and stays limited after
 * a restart; another client is unaffected; a removed key is refused from
 * its next request on.
 *
 * Arguments: veil-admin veild
 */
#define _GNU_SOURCE /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fixture.h"
#include "harness.h"
#include "proc.h"
#include "veil_client.h"

static const char *admin_path, *veild_path;
static char *work_dir, *state_dir, *url;
static uint8_t server_key[VEIL_KEY_SIZE];
static uint8_t secret_a[VEIL_KEY_SIZE], secret_b[VEIL_KEY_SIZE];
static proc_daemon daemon_proc;
static long evaluated_total; /* items veild reported evaluating, over its runs */

static void
start_veild(void)
{
	const char *argv[] = {veild_path, "--state", state_dir, "--listen", url, "--threads", "1",
			      NULL};
	if (proc_start(&daemon_proc, argv, "enrolment required", 20000) != 0)
		abort();
}

/* Stops veild and adds the items it evaluated to evaluated_total. */
static void
stop_veild(void)
{
	CHECK(proc_stop(&daemon_proc) == 0);
	char *said = proc_stderr(&daemon_proc);
	const char *at = strstr(said, " requests, ");
	CHECK(at != NULL);
	if (at != NULL)
		evaluated_total += strtol(at + strlen(" requests, "), NULL, 10);
	free(said);
	proc_release(&daemon_proc);
}

static int
admin(const char *sub, const uint8_t *secret, const char *quota)
{
	uint8_t pub[VEIL_KEY_SIZE];
	char hex[2 * VEIL_KEY_SIZE + 1];
	if (veil_client_public_key(secret, pub) != VEIL_OK)
		abort();
	sodium_bin2hex(hex, sizeof(hex), pub, sizeof(pub));
	const char *argv[] = {admin_path, "client", sub, "--state", state_dir, hex,
			      quota ? "--quota" : NULL, quota, NULL};
	return proc_run(argv, NULL, NULL, NULL);
}

/* Looks up count distinct numbers starting at first; returns the error. */
static veil_err
lookup(const uint8_t *secret, unsigned first, unsigned count, char *why, size_t why_len)
{
	char **texts = calloc(count, sizeof(*texts));
	veil_lookup_result *results = calloc(count, sizeof(*results));
	veil_client *client = NULL;
	for (unsigned i = 0; i < count; i++)
		if (asprintf(&texts[i], "+1 312 555 %04u", first + i) < 0)
			abort();
	veil_client_options opt = {.server_url = url, .client_secret = secret, .region = "US",
				   .timeout_ms = 10000};
	memcpy(opt.server_key, server_key, VEIL_KEY_SIZE);
	veil_err err = veil_client_new(&opt, &client);
	if (err == VEIL_OK)
		err = veil_client_lookup(client, (const char *const *)texts, count, results);
	if (client != NULL)
		snprintf(why, why_len, "%s", veil_client_last_error(client));
	veil_client_free(client);
	for (unsigned i = 0; i < count; i++)
		free(texts[i]);
	free(texts);
	free(results);
	return err;
}

static void
case_unenrolled_key_is_refused(void)
{
	char why[200];
	CHECK(lookup(secret_a, 0, 5, why, sizeof(why)) == VEIL_ERR_UNSUPPORTED);
	CHECK(strstr(why, "not enrolled") != NULL);
}

static void
case_quota_runs_out_and_survives_a_restart(void)
{
	char why[200];
	/* --quota 10: 10 items a day, a bucket of 40. */
	REQUIRE(admin("add", secret_a, "10") == 0);
	CHECK(lookup(secret_a, 0, 30, why, sizeof(why)) == VEIL_OK);
	CHECK(lookup(secret_a, 100, 30, why, sizeof(why)) == VEIL_ERR_UNSUPPORTED);
	CHECK(strstr(why, "quota exhausted") != NULL && strstr(why, "returns in") != NULL);

	stop_veild();
	start_veild();
	CHECK(lookup(secret_a, 200, 30, why, sizeof(why)) == VEIL_ERR_UNSUPPORTED);
	CHECK(strstr(why, "quota exhausted") != NULL);
	/* What the bucket still holds is served. */
	CHECK(lookup(secret_a, 300, 5, why, sizeof(why)) == VEIL_OK);
}

static void
case_other_client_unaffected_removed_refused(void)
{
	char why[200];
	REQUIRE(admin("add", secret_b, NULL) == 0);
	CHECK(lookup(secret_b, 0, 50, why, sizeof(why)) == VEIL_OK);
	REQUIRE(admin("remove", secret_b, NULL) == 0);
	CHECK(lookup(secret_b, 400, 5, why, sizeof(why)) == VEIL_ERR_UNSUPPORTED);
	CHECK(strstr(why, "not enrolled") != NULL);
}

static void
case_only_served_items_were_evaluated(void)
{
	stop_veild();
	/* 30 + 5 for A, 50 for B: the refused requests evaluated nothing. */
	CHECK(evaluated_total == 30 + 5 + 50);
	if (evaluated_total != 85)
		printf("# veild evaluated %ld items\n", evaluated_total);
}

int
main(int argc, char **argv)
{
	static const test_case cases[] = {
		{"an unenrolled key is refused", case_unenrolled_key_is_refused},
		{"a quota runs out and survives a restart",
		 case_quota_runs_out_and_survives_a_restart},
		{"another client is unaffected; a removed one refused",
		 case_other_client_unaffected_removed_refused},
		{"only served items were evaluated", case_only_served_items_were_evaluated},
	};
	if (argc != 3 || sodium_init() < 0)
		return 2;
	admin_path = argv[1];
	veild_path = argv[2];
	work_dir = proc_temp_dir("enrol");
	if (asprintf(&state_dir, "%s/state", work_dir) < 0 ||
	    asprintf(&url, "ipc://%s/veild.sock", work_dir) < 0)
		abort();
	fixture_state(admin_path, state_dir, NULL, server_key);
	randombytes_buf(secret_a, sizeof(secret_a));
	randombytes_buf(secret_b, sizeof(secret_b));
	start_veild();
	int rc = test_main(argc, argv, cases, TEST_COUNT(cases));
	if (proc_alive(&daemon_proc))
		proc_stop(&daemon_proc);
	proc_remove_tree(work_dir);
	return rc;
}

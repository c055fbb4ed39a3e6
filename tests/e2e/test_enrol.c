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

#include "e2e_client.h"
#include "fixture.h"
#include "harness.h"
#include "veil_client.h"

static uint8_t secret_a[VEIL_KEY_SIZE], secret_b[VEIL_KEY_SIZE];
static long evaluated_total; /* items veild reported evaluating, over its runs */

/* With enrolment required the log counts the enrolled clients: with one
 * or two of them, only a requester target of 1 can be met. */
static void
start_veild(void)
{
	char *config = fixture_file(&fx, "veild.ini", "[log]\nk_r = 1\n");
	if (fixture_start(&fx, NULL, "enrolment required", "--threads", "1", "--config", config,
	                  NULL) != 0)
		abort();
	free(config);
}

/* Stops veild and adds the items it evaluated to evaluated_total. */
static void
stop_veild(void)
{
	CHECK(fixture_stop(&fx) == 0);
	char *said = proc_stderr(&fx.daemon);
	const char *at = strstr(said, " requests, ");
	CHECK(at != NULL);
	if (at != NULL)
		evaluated_total += strtol(at + strlen(" requests, "), NULL, 10);
	free(said);
}

/* veil-admin client sub (add, remove) of secret's public key, with --quota unless NULL. */
static int
admin(const char *sub, const uint8_t *secret, const char *quota)
{
	uint8_t pub[VEIL_KEY_SIZE];
	char hex[2 * VEIL_KEY_SIZE + 1];
	if (veil_client_public_key(secret, pub) != VEIL_OK)
		abort();
	sodium_bin2hex(hex, sizeof(hex), pub, sizeof(pub));
	proc_result r = proc_call(fx.admin, "client", sub, "--state", fx.state, hex,
	                          quota ? "--quota" : NULL, quota, NULL);
	proc_result_free(&r);
	return r.status;
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
	veil_err err = fixture_client(NULL, secret, &client);
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
	/* --quota 10: 10 items a day, a bucket of 40. Requests are padded to
	 * their size class, and dummies cost tokens: 30 items take 32. */
	REQUIRE(admin("add", secret_a, "10") == 0);
	CHECK(lookup(secret_a, 0, 30, why, sizeof(why)) == VEIL_OK);
	CHECK(lookup(secret_a, 100, 30, why, sizeof(why)) == VEIL_ERR_UNSUPPORTED);
	CHECK(strstr(why, "quota exhausted") != NULL && strstr(why, "returns in") != NULL);

	stop_veild();
	start_veild();
	CHECK(lookup(secret_a, 200, 30, why, sizeof(why)) == VEIL_ERR_UNSUPPORTED);
	CHECK(strstr(why, "quota exhausted") != NULL);
	/* What the bucket still holds is served: 5 items, padded to 8. */
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
	/* 30 + 5 for A, 50 for B, each padded to its size class (32, 8 and
	 * 64): the refused requests evaluated nothing. */
	CHECK(evaluated_total == 32 + 8 + 64);
	if (evaluated_total != 32 + 8 + 64)
		printf("# veild evaluated %ld items\n", evaluated_total);
}

static const test_case cases[] = {
        {"an unenrolled key is refused", case_unenrolled_key_is_refused},
        {"a quota runs out and survives a restart", case_quota_runs_out_and_survives_a_restart},
        {"another client is unaffected; a removed one refused",
         case_other_client_unaffected_removed_refused},
        {"only served items were evaluated", case_only_served_items_were_evaluated},
};

static void
setup(void)
{
	randombytes_buf(secret_a, sizeof(secret_a));
	randombytes_buf(secret_b, sizeof(secret_b));
	start_veild();
}

FIXTURE_MAIN(cases, .label = "enrol", .setup = setup)

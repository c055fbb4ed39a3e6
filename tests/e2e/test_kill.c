/*
 * kill -9 at random moments: veil-admin add, remove, import, rotate and
 * log purge, and veild under load, are killed again and again. Every time
 * the state reopens, verify passes, the registry holds the handle count
 * of before the command or of after it (never between), and a restarted
 * veild answers right.
 *
 * Arguments: veil-admin veild
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "e2e_client.h"
#include "fixture.h"
#include "harness.h"
#include "veil_client.h"

static long
handle_count(void)
{
	proc_result r = proc_call(fx.admin, "stats", "--state", fx.state, NULL);
	long n = -1;
	if (r.status == 0 && strncmp(r.out, "handles", 7) == 0)
		n = strtol(r.out + 7, NULL, 10);
	proc_result_free(&r);
	return n;
}

static int
verify_ok(void)
{
	proc_result r = proc_call(fx.admin, "verify", "--state", fx.state, NULL);
	proc_result_free(&r);
	return r.status == 0;
}

/* Runs veil-admin with args to its end; returns its exit status. */
static int
run_to_end(const char *const args[])
{
	proc_result r = proc_call_args(fx.admin, args, NULL);
	proc_result_free(&r);
	return r.status;
}

static void
case_admin_commands_killed(void)
{
	static const char *const handles[] = {"+1 617 555 0101", "+1 617 555 0102",
	                                      "+1 617 555 0103"};
	unsigned kills = 0, before = 0, after = 0;
	for (int round = 0; round < 3; round++) {
		for (int command = 0; command < 5; command++) {
			const long n0 = handle_count();
			long want_after = n0;
			const char *add[] = {"add", "--state",      fx.state, "--region",
			                     "US",  handles[round], NULL};
			const char *rm[] = {"remove", "--state",      fx.state, "--region",
			                    "US",     handles[round], NULL};
			const char *imp[] = {"import", "--state",      fx.state, "--region",
			                     "US",     fx.import_path, NULL};
			const char *rot[] = {"rotate", "--state", fx.state, "--grace", "0", NULL};
			const char *purge[] = {"log", "purge", "--state", fx.state, NULL};
			const char *const *argv = add;
			switch (command) {
			case 0:
				want_after = n0 + 1;
				break;
			case 1:
				argv = rm;
				want_after = n0 - 1;
				break;
			case 2:
				argv = imp; /* re-imports the same handles: same count */
				break;
			case 3:
				argv = rot;
				break;
			default:
				argv = purge;
			}
			/* add/remove pair up: remove only what this round added. */
			if (command == 1 && n0 == 0)
				continue;
			/* Any moment will do: before, in or after the command's work. */
			proc_kill_after(fx.admin, argv,
			                randombytes_uniform(command >= 2 ? 400000 : 40000) / 1e6);
			kills++;
			const long n1 = handle_count();
			CHECK(n1 == n0 || n1 == want_after);
			before += n1 == n0;
			after += n1 != n0;
			CHECK(verify_ok());
			/* Finish what was interrupted, so the next round starts known. */
			if (command == 0 && n1 == n0)
				CHECK(run_to_end(add) == 0);
			if (command == 1 && n1 == n0)
				CHECK(run_to_end(rm) == 0);
		}
	}
	printf("# %u kills: %u left the state before, %u after (count changed)\n", kills, before,
	       after);
}

static void
case_veild_killed_under_load(void)
{
	uint8_t secret[VEIL_KEY_SIZE];
	randombytes_buf(secret, sizeof(secret));
	const char *contacts[] = {"+1 617 555 0200", "+1 617 555 0201"};
	fixture_info(&fx); /* the keys the rotations above left, as clients would be given them */
	for (int round = 0; round < 3; round++) {
		REQUIRE(fixture_start(&fx, NULL, "ready", "--threads", "2", "--enrolment", "open",
		                      NULL) == 0);
		veil_client *client = NULL;
		veil_lookup_result r[2];
		REQUIRE(fixture_client(NULL, secret, &client) == VEIL_OK);
		CHECK(veil_client_lookup(client, contacts, 2, r) == VEIL_OK);
		CHECK(r[0].status == VEIL_LOOKUP_REGISTERED &&
		      r[1].status == VEIL_LOOKUP_NOT_REGISTERED);
		veil_client_free(client);
		proc_kill(&fx.daemon);
		CHECK(verify_ok());
	}
}

static const test_case cases[] = {
        {"veil-admin commands killed at random moments", case_admin_commands_killed},
        {"veild killed under load, restarted", case_veild_killed_under_load},
};

FIXTURE_MAIN(cases, .label = "kill", .import = "+1 617 555 0200\n", .numbered = "+1 617 556 ",
             .end = 3000)

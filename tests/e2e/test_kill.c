/*
 * kill -9 at random moments: veil-admin add, remove, import, rotate and
 * log purge, and veild under load, are killed again and again. Every time
 * the state reopens, verify passes, the registry holds the handle count
 * of before the command or of after it (never between), and a restarted
 * veild answers right.
 *
 * Arguments: veil-admin veild
 */
#define _GNU_SOURCE /* asprintf */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "harness.h"
#include "proc.h"
#include "veil_client.h"

static const char *admin_path, *veild_path;
static char *work_dir, *state_dir, *import_path;

static long
handle_count(void)
{
	const char *argv[] = {admin_path, "stats", "--state", state_dir, NULL};
	char *out = NULL;
	long n = -1;
	if (proc_run(argv, NULL, &out, NULL) == 0 && strncmp(out, "handles", 7) == 0)
		n = strtol(out + 7, NULL, 10);
	free(out);
	return n;
}

static int
verify_ok(void)
{
	const char *argv[] = {admin_path, "verify", "--state", state_dir, NULL};
	return proc_run(argv, NULL, NULL, NULL) == 0;
}

/* Starts argv, kills it with SIGKILL after delay_us (if still running). */
static void
run_and_kill(const char *const argv[], long delay_us)
{
	pid_t pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	struct timespec ts = {.tv_sec = delay_us / 1000000, .tv_nsec = (delay_us % 1000000) * 1000};
	nanosleep(&ts, NULL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
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
			const char *add[] = {admin_path, "add",	 "--state", state_dir, "--region",
					     "US",	 handles[round], NULL};
			const char *rm[] = {admin_path, "remove", "--state", state_dir, "--region",
					    "US",	handles[round], NULL};
			const char *imp[] = {admin_path, "import", "--state", state_dir, "--region",
					     "US",	 import_path, NULL};
			const char *rot[] = {admin_path, "rotate", "--state", state_dir, "--grace", "0",
					     NULL};
			const char *purge[] = {admin_path, "log", "purge", "--state", state_dir, NULL};
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
			run_and_kill(argv, (long)randombytes_uniform(command >= 2 ? 400000 : 40000));
			kills++;
			const long n1 = handle_count();
			CHECK(n1 == n0 || n1 == want_after);
			before += n1 == n0;
			after += n1 != n0;
			CHECK(verify_ok());
			/* Finish what was interrupted, so the next round starts known. */
			if (command == 0 && n1 == n0)
				CHECK(proc_run(add, NULL, NULL, NULL) == 0);
			if (command == 1 && n1 == n0)
				CHECK(proc_run(rm, NULL, NULL, NULL) == 0);
		}
	}
	printf("# %u kills: %u left the state before, %u after (count changed)\n", kills, before,
	       after);
}

static void
case_veild_killed_under_load(void)
{
	char *url;
	if (asprintf(&url, "ipc://%s/veild.sock", work_dir) < 0)
		abort();
	const char *show[] = {admin_path, "info", "--state", state_dir, NULL};
	char *info = NULL;
	uint8_t server_key[VEIL_KEY_SIZE], secret[VEIL_KEY_SIZE];
	REQUIRE(proc_run(show, NULL, &info, NULL) == 0);
	REQUIRE(sodium_hex2bin(server_key, sizeof(server_key), info + 11, 64, NULL, NULL, NULL) ==
		0);
	free(info);
	randombytes_buf(secret, sizeof(secret));
	const char *argv[] = {veild_path, "--state", state_dir, "--listen", url, "--threads", "2",
			      "--enrolment", "open", NULL};
	const char *contacts[] = {"+1 617 555 0200", "+1 617 555 0201"};
	for (int round = 0; round < 3; round++) {
		proc_daemon d;
		REQUIRE(proc_start(&d, argv, "ready", 20000) == 0);
		veil_client_options opt = {.server_url = url, .client_secret = secret,
					   .region = "US", .timeout_ms = 5000};
		memcpy(opt.server_key, server_key, VEIL_KEY_SIZE);
		veil_client *client = NULL;
		veil_lookup_result r[2];
		REQUIRE(veil_client_new(&opt, &client) == VEIL_OK);
		CHECK(veil_client_lookup(client, contacts, 2, r) == VEIL_OK);
		CHECK(r[0].status == VEIL_LOOKUP_REGISTERED && r[1].status == VEIL_LOOKUP_NOT_REGISTERED);
		veil_client_free(client);
		kill(d.pid, SIGKILL);
		waitpid(d.pid, NULL, 0);
		d.pid = 0;
		proc_release(&d);
		CHECK(verify_ok());
	}
	free(url);
}

int
main(int argc, char **argv)
{
	static const test_case cases[] = {
		{"veil-admin commands killed at random moments", case_admin_commands_killed},
		{"veild killed under load, restarted", case_veild_killed_under_load},
	};
	if (argc != 3 || sodium_init() < 0)
		return 2;
	admin_path = argv[1];
	veild_path = argv[2];
	work_dir = proc_temp_dir("kill");
	if (asprintf(&state_dir, "%s/state", work_dir) < 0 ||
	    asprintf(&import_path, "%s/import.txt", work_dir) < 0)
		abort();
	FILE *f = fopen(import_path, "w");
	if (f == NULL)
		abort();
	fprintf(f, "+1 617 555 0200\n");
	for (unsigned i = 0; i < 3000; i++)
		fprintf(f, "+1 617 556 %04u\n", i);
	fclose(f);
	const char *keygen[] = {admin_path, "keygen", "--state", state_dir, NULL};
	const char *imp[] = {admin_path, "import", "--state", state_dir, "--region", "US",
			     import_path, NULL};
	if (proc_run(keygen, NULL, NULL, NULL) != 0 || proc_run(imp, NULL, NULL, NULL) != 0)
		abort();
	int rc = test_main(argc, argv, cases, TEST_COUNT(cases));
	proc_remove_tree(work_dir);
	return rc;
}

/*
 * Overload: a veild with one worker and a queue of one is offered far
 * more than it can take by clients in parallel threads. It answers the
 * excess BUSY at once instead of queueing it, stays up, and every client,
 * retrying with jittered backoff, ends with every answer right.
 *
 * Arguments: veil-admin veild
 */
#define _GNU_SOURCE /* asprintf */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fixture.h"
#include "harness.h"
#include "proc.h"
#include "veil_client.h"

#define CLIENTS 8
#define CONTACTS 200

static const char *admin_path, *veild_path;
static char *work_dir, *state_dir, *url;
static uint8_t server_key[VEIL_KEY_SIZE];

typedef struct client_run {
	pthread_t thread;
	veil_err err;
	unsigned wrong;
} client_run;

static void *
client_main(void *arg)
{
	client_run *run = arg;
	uint8_t secret[VEIL_KEY_SIZE];
	char *texts[CONTACTS];
	veil_lookup_result *results = calloc(CONTACTS, sizeof(*results));
	veil_client *client = NULL;
	randombytes_buf(secret, sizeof(secret));
	for (unsigned i = 0; i < CONTACTS; i++)
		if (asprintf(&texts[i], "+1 212 555 %04u", i) < 0)
			abort();
	veil_client_options opt = {.server_url = url, .client_secret = secret, .region = "US",
				   .timeout_ms = 20000, .deadline_ms = 120000};
	memcpy(opt.server_key, server_key, VEIL_KEY_SIZE);
	run->err = veil_client_new(&opt, &client);
	for (int round = 0; round < 3 && run->err == VEIL_OK; round++) {
		run->err = veil_client_lookup(client, (const char *const *)texts, CONTACTS, results);
		/* Even lines 0000..0099 are registered (see setup). */
		for (unsigned i = 0; i < CONTACTS && run->err == VEIL_OK; i++) {
			const int want = i < 100 && i % 2 == 0;
			run->wrong += (results[i].status == VEIL_LOOKUP_REGISTERED) != want;
		}
	}
	if (run->err != VEIL_OK && client != NULL)
		printf("# client: %s: %s\n", veil_strerror(run->err), veil_client_last_error(client));
	veil_client_free(client);
	for (unsigned i = 0; i < CONTACTS; i++)
		free(texts[i]);
	free(results);
	return NULL;
}

static void
case_excess_is_busy_and_every_client_gets_right_answers(void)
{
	const char *argv[] = {veild_path, "--state", state_dir, "--listen", url, "--enrolment", "open", "--threads", "1",
			      "--queue", "1", NULL};
	proc_daemon d;
	REQUIRE(proc_start(&d, argv, "ready", 20000) == 0);
	client_run runs[CLIENTS];
	memset(runs, 0, sizeof(runs));
	for (int i = 0; i < CLIENTS; i++)
		REQUIRE(pthread_create(&runs[i].thread, NULL, client_main, &runs[i]) == 0);
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(runs[i].thread, NULL);
		CHECK(runs[i].err == VEIL_OK);
		CHECK(runs[i].wrong == 0);
	}
	CHECK(proc_alive(&d));
	CHECK(proc_stop(&d) == 0);
	char *said = proc_stderr(&d);
	const char *busy = strstr(said, " busy;");
	long count = 0;
	if (busy != NULL) {
		const char *p = busy;
		while (p > said && p[-1] != ' ')
			p--;
		count = strtol(p, NULL, 10);
	}
	printf("# veild answered BUSY %ld times\n", count);
	CHECK(busy != NULL && count > 0);
	free(said);
	proc_release(&d);
}

int
main(int argc, char **argv)
{
	static const test_case cases[] = {
		{"excess is answered BUSY, every client gets right answers",
		 case_excess_is_busy_and_every_client_gets_right_answers},
	};
	if (argc != 3 || sodium_init() < 0)
		return 2;
	admin_path = argv[1];
	veild_path = argv[2];
	work_dir = proc_temp_dir("overload");
	char *import;
	if (asprintf(&state_dir, "%s/state", work_dir) < 0 ||
	    asprintf(&import, "%s/import.txt", work_dir) < 0 ||
	    asprintf(&url, "ipc://%s/veild.sock", work_dir) < 0)
		abort();
	FILE *f = fopen(import, "w");
	if (f == NULL)
		abort();
	for (unsigned i = 0; i < 100; i += 2)
		fprintf(f, "+1 212 555 %04u\n", i);
	fclose(f);
	fixture_state(admin_path, state_dir, import, server_key);
	free(import);
	int rc = test_main(argc, argv, cases, TEST_COUNT(cases));
	proc_remove_tree(work_dir);
	return rc;
}

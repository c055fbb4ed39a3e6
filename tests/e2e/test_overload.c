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

#include "e2e_client.h"
#include "fixture.h"
#include "harness.h"
#include "veil_client.h"

#define CLIENTS  8
#define CONTACTS 200

static pthread_barrier_t all_ready; /* the clients' first lookups start together */

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
	/* BUSY answers are retried until the deadline: one only a hang reaches. */
	run->err = fixture_client(
	        &(veil_client_options){.deadline_ms = 2000 * (int)TEST_PATIENCE_SECONDS}, secret,
	        &client);
	pthread_barrier_wait(&all_ready);
	for (int round = 0; round < 3 && run->err == VEIL_OK; round++) {
		run->err =
		        veil_client_lookup(client, (const char *const *)texts, CONTACTS, results);
		/* Even lines 0000..0099 are registered (see setup). */
		for (unsigned i = 0; i < CONTACTS && run->err == VEIL_OK; i++) {
			const int want = i < 100 && i % 2 == 0;
			run->wrong += (results[i].status == VEIL_LOOKUP_REGISTERED) != want;
		}
	}
	if (run->err != VEIL_OK && client != NULL)
		printf("# client: %s: %s\n", veil_strerror(run->err),
		       veil_client_last_error(client));
	veil_client_free(client);
	for (unsigned i = 0; i < CONTACTS; i++)
		free(texts[i]);
	free(results);
	return NULL;
}

static void
case_excess_is_busy_and_every_client_gets_right_answers(void)
{
	/* Quotas the clients' retries cannot exhaust: this test is about load. */
	char *config = fixture_file(&fx, "veild.ini",
	                            "[clients]\nenrolment = open\ncapacity = 100000000\n");
	REQUIRE(fixture_start(&fx, NULL, "ready", "--config", config, "--threads", "1", "--queue",
	                      "1", NULL) == 0);
	free(config);
	client_run runs[CLIENTS];
	memset(runs, 0, sizeof(runs));
	for (int i = 0; i < CLIENTS; i++)
		REQUIRE(pthread_create(&runs[i].thread, NULL, client_main, &runs[i]) == 0);
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(runs[i].thread, NULL);
		CHECK(runs[i].err == VEIL_OK);
		CHECK(runs[i].wrong == 0);
	}
	CHECK(proc_alive(&fx.daemon));
	CHECK(fixture_stop(&fx) == 0);
	char *said = proc_stderr(&fx.daemon);
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
}

static const test_case cases[] = {
        {"excess is answered BUSY, every client gets right answers",
         case_excess_is_busy_and_every_client_gets_right_answers},
};

static void
setup(void)
{
	if (pthread_barrier_init(&all_ready, NULL, CLIENTS) != 0)
		abort();
}

static void
teardown(void)
{
	pthread_barrier_destroy(&all_ready);
}

FIXTURE_MAIN(cases, .label = "overload", .numbered = "+1 212 555 ", .end = 100, .step = 2,
             .setup = setup, .teardown = teardown)

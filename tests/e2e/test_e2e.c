/*
 * End to end: veil-admin builds a registry of 20,000 handles (phones and
 * emails, some with payloads), a real veild serves it over tcp and over
 * ipc, and libveil-client looks up 2,000 contacts in mixed formats, half of
 * them registered. Every answer must be exactly right, and nothing veild
 * prints may contain a handle or a client key.
 *
 * Arguments: veil-admin veild
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "e2e_client.h"
#include "fixture.h"
#include "harness.h"
#include "veil_client.h"

#define REGISTERED 20000
#define LOOKUPS    2000

static uint8_t client_secret[VEIL_KEY_SIZE];

/* A contact of the test population: its handle and how it is written. */
typedef struct person {
	char handle[64];  /* normalized: tel:+1... or mailto:... */
	char written[80]; /* as a user's address book might have it */
	char payload[32]; /* "" for none */
} person;

static person *registry_people; /* REGISTERED of them, imported */
static person *strangers;       /* LOOKUPS / 2, never imported */

static const char *const area_codes[] = {"415", "650", "212", "917", "312", "617"};

/* Person i of a population; seed separates the registered from strangers. */
static void
make_person(person *p, unsigned i, unsigned seed)
{
	if (i % 2 == 0) {
		/* Unique by construction: one area code per seed, line = i / 2. */
		const unsigned k = i / 2;
		const char *area = area_codes[(k / 10000 + seed) % 6];
		unsigned exchange = 200 + (k * 37 + seed * 11) % 700;
		if (exchange % 100 == 11)
			exchange++; /* N11 codes are not subscriber exchanges */
		const unsigned line = k % 10000;
		snprintf(p->handle, sizeof(p->handle), "tel:+1%s%03u%04u", area, exchange, line);
		switch (i % 8) {
		case 0:
			snprintf(p->written, sizeof(p->written), "(%s) %03u-%04u", area, exchange,
			         line);
			break;
		case 2:
			snprintf(p->written, sizeof(p->written), "+1 %s-%03u-%04u", area, exchange,
			         line);
			break;
		case 4:
			snprintf(p->written, sizeof(p->written), "%s.%03u.%04u", area, exchange,
			         line);
			break;
		default:
			snprintf(p->written, sizeof(p->written), "tel:+1-%s-%03u-%04u", area,
			         exchange, line);
		}
	} else {
		snprintf(p->handle, sizeof(p->handle), "mailto:user%u.s%u@example.org", i, seed);
		snprintf(p->written, sizeof(p->written), "  User%u.S%u@Example.ORG ", i, seed);
	}
	p->payload[0] = '\0';
	if (i % 5 == 0)
		snprintf(p->payload, sizeof(p->payload), "id=%u", i);
}

static void
setup(void)
{
	registry_people = calloc(REGISTERED, sizeof(person));
	strangers = calloc(LOOKUPS / 2, sizeof(person));
	if (registry_people == NULL || strangers == NULL)
		abort();
	/* The import file: written forms, so import normalizes like lookup. */
	buf import;
	buf_init(&import);
	for (unsigned i = 0; i < REGISTERED; i++) {
		make_person(&registry_people[i], i, 1);
		const person *p = &registry_people[i];
		buf_printf(&import, "%s%s%s\n", p->written, p->payload[0] ? "," : "", p->payload);
	}
	for (unsigned i = 0; i < LOOKUPS / 2; i++)
		make_person(&strangers[i], i, 2);
	fixture_import(&fx, buf_data(&import));
	buf_free(&import);
	randombytes_buf(client_secret, sizeof(client_secret)); /* any 32 bytes are an X25519 key */
}

static void
teardown(void)
{
	free(registry_people);
	free(strangers);
}

/* Looks up half registered people, half strangers, against url. */
static void
lookup_all(const char *url)
{
	const char **contacts = calloc(LOOKUPS, sizeof(*contacts));
	const person **expect = calloc(LOOKUPS, sizeof(*expect));
	int *registered = calloc(LOOKUPS, sizeof(*registered));
	veil_lookup_result *results = calloc(LOOKUPS, sizeof(*results));
	veil_client *client = NULL;
	if (contacts == NULL || expect == NULL || registered == NULL || results == NULL)
		abort();
	for (unsigned i = 0; i < LOOKUPS; i++) {
		const person *p =
		        i % 2 ? &strangers[i / 2] : &registry_people[(i * 7) % REGISTERED];
		contacts[i] = p->written;
		expect[i] = p;
		registered[i] = i % 2 == 0;
	}

	REQUIRE(fixture_client(&(veil_client_options){.server_url = url}, client_secret, &client) ==
	        VEIL_OK);
	veil_err err = veil_client_lookup(client, contacts, LOOKUPS, results);
	CHECK(err == VEIL_OK);
	if (err != VEIL_OK)
		fprintf(stderr, "lookup: %s: %s\n", veil_strerror(err),
		        veil_client_last_error(client));

	unsigned wrong = 0;
	for (unsigned i = 0; i < LOOKUPS && err == VEIL_OK; i++) {
		const veil_lookup_result *r = &results[i];
		const person *p = expect[i];
		int ok = strcmp(r->handle, p->handle) == 0 &&
		         r->status == (registered[i] ? VEIL_LOOKUP_REGISTERED
		                                     : VEIL_LOOKUP_NOT_REGISTERED);
		if (ok && registered[i]) {
			const size_t want = strlen(p->payload);
			ok = r->has_payload == (want > 0) && r->payload_len == want &&
			     memcmp(r->payload, p->payload, want) == 0;
		}
		if (!ok && wrong++ < 5)
			fprintf(stderr, "wrong answer for contact %u (%s): status %d handle %s\n",
			        i, p->written, r->status, r->handle);
	}
	CHECK(wrong == 0);
	veil_client_free(client);
	free(contacts);
	free(expect);
	free(registered);
	free(results);
}

static void
serve_and_lookup(const char *url)
{
	REQUIRE(fixture_start(&fx, url, "ready", "--threads", "2", "--enrolment", "open", NULL) ==
	        0);
	lookup_all(url);
	CHECK(proc_alive(&fx.daemon));
	CHECK(fixture_stop(&fx) == 0);

	/* Nothing veild said names a handle or this client. */
	char *said = proc_stderr(&fx.daemon);
	char client_hex[2 * VEIL_KEY_SIZE + 1];
	uint8_t client_public[VEIL_KEY_SIZE];
	REQUIRE(veil_client_public_key(client_secret, client_public) == VEIL_OK);
	sodium_bin2hex(client_hex, sizeof(client_hex), client_public, sizeof(client_public));
	CHECK(strstr(said, client_hex) == NULL);
	for (unsigned i = 0; i < LOOKUPS / 2; i += 97) {
		CHECK(strstr(said, registry_people[i].handle + 5) == NULL);
		CHECK(strstr(said, strangers[i].handle + 5) == NULL);
	}
	CHECK(strstr(said, "ready") != NULL);
	free(said);
}

static void
case_lookup_over_tcp(void)
{
	char url[64];
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", proc_free_port());
	serve_and_lookup(url);
}

static void
case_lookup_over_ipc(void)
{
	serve_and_lookup(fx.url);
}

/* Items veild says it evaluated, once stopped. */
static long
evaluated_by_veild(void)
{
	char *said = proc_stderr(&fx.daemon);
	const char *at = strstr(said, " requests, ");
	const long items = at != NULL ? strtol(at + strlen(" requests, "), NULL, 10) : -1;
	free(said);
	return items;
}

/*
 * Answers younger than the refresh interval come from the client's cache:
 * they are given even with the server gone; a new contact is still asked
 * (the server, back, evaluates it and nothing else).
 */
static void
case_cache_answers_without_asking(void)
{
	REQUIRE(fixture_start(&fx, NULL, "ready", "--threads", "1", "--enrolment", "open", NULL) ==
	        0);

	const char *contacts[100];
	veil_lookup_result first[100], again[100];
	for (unsigned i = 0; i < 100; i++)
		contacts[i] = i % 2 ? strangers[i].written : registry_people[i].written;
	veil_client *client = NULL;
	REQUIRE(fixture_client(&(veil_client_options){.refresh_seconds = 3600}, client_secret,
	                       &client) == VEIL_OK);
	CHECK(veil_client_lookup(client, contacts, 100, first) == VEIL_OK);
	CHECK(fixture_stop(&fx) == 0);

	CHECK(veil_client_lookup(client, contacts, 100, again) == VEIL_OK);
	int same = 1;
	for (unsigned i = 0; i < 100; i++)
		same &= again[i].status == first[i].status &&
		        again[i].status ==
		                (i % 2 ? VEIL_LOOKUP_NOT_REGISTERED : VEIL_LOOKUP_REGISTERED) &&
		        strcmp(again[i].handle, first[i].handle) == 0;
	CHECK(same);
	REQUIRE(fixture_start(&fx, NULL, "ready", "--threads", "1", "--enrolment", "open", NULL) ==
	        0);
	const char *with_new[2] = {contacts[0], "+1 917 555 0999"};
	CHECK(veil_client_lookup(client, with_new, 2, again) == VEIL_OK);
	CHECK(again[0].status == VEIL_LOOKUP_REGISTERED);
	CHECK(fixture_stop(&fx) == 0);
	CHECK(evaluated_by_veild() == 1);
	veil_client_free(client);
}

/* The log holds one entry per request, and the items add up. */
static void
case_log_export_counts_the_lookups(void)
{
	proc_result r = proc_call(fx.admin, "log", "export", "--state", fx.state, NULL);
	char *out = r.out;
	CHECK(r.status == 0);
	REQUIRE(out != NULL && strncmp(out, "{\"schema\":\"veil-log-v1\"", 23) == 0);
	long items = 0, entries = 0;
	for (const char *p = strchr(out, '\n'); p != NULL && p[1] != '\0';
	     p = strchr(p + 1, '\n')) {
		const char *at = strstr(p, "\"items\":");
		REQUIRE(at != NULL);
		items += strtol(at + 8, NULL, 10);
		entries++;
		/* Every entry was answered OK, and names no handle. */
		const char *end = strchr(p + 1, '\n');
		const char *status = strstr(p, "\"status\":0");
		CHECK(status != NULL && (end == NULL || status < end));
	}
	/* Two runs (tcp, ipc) of LOOKUPS distinct contacts, plus INFO requests. */
	CHECK(items == 2 * LOOKUPS);
	CHECK(entries > 2 * (LOOKUPS / 256));
	CHECK(strstr(out, "tel:") == NULL && strstr(out, "mailto:") == NULL);
	proc_result_free(&r);
}

static void
case_no_server_is_a_clear_error(void)
{
	char url[64];
	veil_client *client = NULL;
	veil_lookup_result r;
	const char *contact = "+1 415 555 0100";
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", proc_free_port());
	/* Nothing listens: any timeout ends in the same error. */
	REQUIRE(fixture_client(&(veil_client_options){.server_url = url, .timeout_ms = 300},
	                       client_secret, &client) == VEIL_OK);
	CHECK(veil_client_lookup(client, &contact, 1, &r) == VEIL_ERR_TIMEOUT);
	CHECK(r.status == VEIL_LOOKUP_NOT_REGISTERED);
	CHECK(strstr(veil_client_last_error(client), "no reply") != NULL);
	veil_client_free(client);
}

static const test_case cases[] = {
        {"2k lookups over tcp, every answer right", case_lookup_over_tcp},
        {"2k lookups over ipc, every answer right", case_lookup_over_ipc},
        {"the log export counts the lookups", case_log_export_counts_the_lookups},
        {"the cache answers without asking", case_cache_answers_without_asking},
        {"no server is a clear error", case_no_server_is_a_clear_error},
};

FIXTURE_MAIN(cases, .label = "e2e", .setup = setup, .teardown = teardown)

/*
 * End to end: veil-admin builds a registry of 20,000 handles (phones and
 * emails, some with payloads), a real veild serves it over tcp and over
 * ipc, and libveil-client looks up 2,000 contacts in mixed formats, half of
 * them registered. Every answer must be exactly right, and nothing veild
 * prints may contain a handle or a client key.
 *
 * Arguments: veil-admin veild
 */
#define _GNU_SOURCE /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "proc.h"
#include "veil_client.h"

#define REGISTERED 20000
#define LOOKUPS 2000

static const char *admin_path, *veild_path;
static char *work_dir, *state_dir;
static uint8_t server_key[VEIL_KEY_SIZE];
static uint8_t client_secret[VEIL_KEY_SIZE];

/* A contact of the test population: its handle and how it is written. */
typedef struct person {
	char handle[64];  /* normalized: tel:+1... or mailto:... */
	char written[80]; /* as a user's address book might have it */
	char payload[32]; /* "" for none */
} person;

static person *registry_people; /* REGISTERED of them, imported */
static person *strangers;	/* LOOKUPS / 2, never imported */

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

static char *
path_in(const char *dir, const char *name)
{
	char *p;
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

static int
admin(const char *sub, const char *arg, char **out)
{
	const char *argv[] = {admin_path, sub, "--state", state_dir, arg, NULL};
	if (arg == NULL)
		argv[4] = NULL;
	char *err = NULL;
	int rc = proc_run(argv, NULL, out, &err);
	if (rc != 0)
		fprintf(stderr, "veil-admin %s failed (%d): %s\n", sub, rc, err);
	free(err);
	return rc;
}

static void
setup(void)
{
	work_dir = proc_temp_dir("e2e");
	state_dir = path_in(work_dir, "state");
	registry_people = calloc(REGISTERED, sizeof(person));
	strangers = calloc(LOOKUPS / 2, sizeof(person));
	if (registry_people == NULL || strangers == NULL)
		abort();

	/* The import file: written forms, so import normalizes like lookup. */
	FILE *f;
	char *import_path = path_in(work_dir, "import.txt");
	if ((f = fopen(import_path, "w")) == NULL)
		abort();
	for (unsigned i = 0; i < REGISTERED; i++) {
		make_person(&registry_people[i], i, 1);
		const person *p = &registry_people[i];
		fprintf(f, "%s%s%s\n", p->written, p->payload[0] ? "," : "", p->payload);
	}
	fclose(f);
	for (unsigned i = 0; i < LOOKUPS / 2; i++)
		make_person(&strangers[i], i, 2);

	if (admin("keygen", NULL, NULL) != 0)
		abort();
	const char *import_argv[] = {admin_path, "import", "--state", state_dir, "--region",
			       "US", "--strict", import_path, NULL};
	char *err = NULL;
	if (proc_run(import_argv, NULL, NULL, &err) != 0) {
		fprintf(stderr, "import failed: %s\n", err);
		abort();
	}
	free(err);
	free(import_path);

	char *info = NULL;
	if (admin("info", NULL, &info) != 0 || strncmp(info, "server-key ", 11) != 0 ||
	    sodium_hex2bin(server_key, sizeof(server_key), info + 11, 64, NULL, NULL, NULL) != 0)
		abort();
	free(info);
	randombytes_buf(client_secret, sizeof(client_secret)); /* any 32 bytes are an X25519 key */
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
		const person *p = i % 2 ? &strangers[i / 2] : &registry_people[(i * 7) % REGISTERED];
		contacts[i] = p->written;
		expect[i] = p;
		registered[i] = i % 2 == 0;
	}

	veil_client_options opt = {.server_url = url, .client_secret = client_secret,
				   .region = "US", .timeout_ms = 30000};
	memcpy(opt.server_key, server_key, VEIL_KEY_SIZE);
	REQUIRE(veil_client_new(&opt, &client) == VEIL_OK);
	veil_err err = veil_client_lookup(client, contacts, LOOKUPS, results);
	CHECK(err == VEIL_OK);
	if (err != VEIL_OK)
		fprintf(stderr, "lookup: %s: %s\n", veil_strerror(err), veil_client_last_error(client));

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
			fprintf(stderr, "wrong answer for contact %u (%s): status %d handle %s\n", i,
				p->written, r->status, r->handle);
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
	const char *argv[] = {veild_path, "--state", state_dir, "--listen", url,
			      "--threads", "2", "--enrolment", "open", NULL};
	proc_daemon d;
	REQUIRE(proc_start(&d, argv, "ready", 20000) == 0);
	lookup_all(url);
	CHECK(proc_alive(&d));
	CHECK(proc_stop(&d) == 0);

	/* Nothing veild said names a handle or this client. */
	char *said = proc_stderr(&d);
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
	proc_release(&d);
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
	char *sock = path_in(work_dir, "veild.sock");
	char *url;
	if (asprintf(&url, "ipc://%s", sock) < 0)
		abort();
	serve_and_lookup(url);
	free(url);
	free(sock);
}

/* Answers younger than the refresh interval come from the client's cache:
 * they are given even with the server gone; a new contact is still asked. */
static void
case_cache_answers_without_asking(void)
{
	char url[64];
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", proc_free_port());
	const char *argv[] = {veild_path, "--state", state_dir, "--listen", url,
			      "--threads", "1", "--enrolment", "open", NULL};
	proc_daemon d;
	REQUIRE(proc_start(&d, argv, "ready", 20000) == 0);

	const char *contacts[100];
	veil_lookup_result first[100], again[100];
	for (unsigned i = 0; i < 100; i++)
		contacts[i] = i % 2 ? strangers[i].written : registry_people[i].written;
	veil_client_options opt = {.server_url = url, .client_secret = client_secret,
				   .region = "US", .timeout_ms = 500, .refresh_seconds = 3600};
	memcpy(opt.server_key, server_key, VEIL_KEY_SIZE);
	veil_client *client = NULL;
	REQUIRE(veil_client_new(&opt, &client) == VEIL_OK);
	CHECK(veil_client_lookup(client, contacts, 100, first) == VEIL_OK);
	CHECK(proc_stop(&d) == 0);
	proc_release(&d);

	CHECK(veil_client_lookup(client, contacts, 100, again) == VEIL_OK);
	int same = 1;
	for (unsigned i = 0; i < 100; i++)
		same &= again[i].status == first[i].status &&
			again[i].status == (i % 2 ? VEIL_LOOKUP_NOT_REGISTERED : VEIL_LOOKUP_REGISTERED) &&
			strcmp(again[i].handle, first[i].handle) == 0;
	CHECK(same);
	const char *with_new[2] = {contacts[0], "+1 917 555 0999"};
	CHECK(veil_client_lookup(client, with_new, 2, again) == VEIL_ERR_TIMEOUT);
	veil_client_free(client);
}

/* The log holds one entry per request, and the items add up. */
static void
case_log_export_counts_the_lookups(void)
{
	const char *argv[] = {admin_path, "log", "export", "--state", state_dir, NULL};
	char *out = NULL, *err = NULL;
	CHECK(proc_run(argv, NULL, &out, &err) == 0);
	REQUIRE(out != NULL && strncmp(out, "{\"schema\":\"veil-log-v1\"", 23) == 0);
	long items = 0, entries = 0;
	for (const char *p = strchr(out, '\n'); p != NULL && p[1] != '\0'; p = strchr(p + 1, '\n')) {
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
	free(out);
	free(err);
}

static void
case_no_server_is_a_clear_error(void)
{
	char url[64];
	veil_client *client = NULL;
	veil_lookup_result r;
	const char *contact = "+1 415 555 0100";
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", proc_free_port());
	veil_client_options opt = {.server_url = url, .client_secret = client_secret,
				   .region = "US", .timeout_ms = 300};
	memcpy(opt.server_key, server_key, VEIL_KEY_SIZE);
	REQUIRE(veil_client_new(&opt, &client) == VEIL_OK);
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

int
main(int argc, char **argv)
{
	if (argc != 3 || sodium_init() < 0)
		return 2;
	admin_path = argv[1];
	veild_path = argv[2];
	setup();
	int rc = test_main(argc, argv, cases, TEST_COUNT(cases));
	proc_remove_tree(work_dir);
	return rc;
}

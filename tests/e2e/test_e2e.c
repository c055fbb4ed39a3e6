/*
 * End to end: veil-admin builds a registry of 20,000 handles (phones and
 * emails, some with payloads), a real veild serves it over tcp and over
 * ipc, and libveil-client looks up 2,000 contacts in mixed formats, half of
 * them registered. Every answer must be exactly right, and nothing veild
 * prints may contain a handle or a client key.
 *
 * A second, small VOPRF registry (SMALL handles, no payloads) shows what
 * the client refuses to let a server decide: its privacy floor caps the
 * prefix bits whatever the server advises (the query log records the
 * shorter prefix), a floor below the server's least prefix fails before
 * anything is evaluated, and a client requiring VOPRF refuses an OPRF
 * registry. A fake server on a bare transport socket shows that an
 * unsealed ERROR frame of a code a server sends only sealed is refused.
 *
 * Arguments: veil-admin veild
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "e2e_client.h"
#include "envelope.h"
#include "fixture.h"
#include "harness.h"
#include "msg.h"
#include "transport.h"
#include "veil_client.h"

#define REGISTERED 20000
#define LOOKUPS    2000
/* The small VOPRF registry: +1 628 555 0000 onwards; the server advises
 * about log2(SMALL / 64) = 6 prefix bits. */
#define SMALL      3000

static uint8_t client_secret[VEIL_KEY_SIZE];
static fixture small; /* the small VOPRF registry */
/* A floor of 3 bits: buckets of 2^17 of 2^20 handles. */
static const veil_client_options three_bits = {.universe = (uint64_t)1 << 20,
                                               .min_bucket = (uint64_t)1 << 17};

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
	buf_reset(&import);
	fixture_begin(&small, "e2e-small", fx.admin, fx.veild);
	fixture_state(&small, "--verifiable");
	for (unsigned i = 0; i < SMALL; i++)
		buf_printf(&import, "+1 628 555 %04u\n", i);
	fixture_import(&small, buf_data(&import));
	buf_free(&import);
	randombytes_buf(client_secret, sizeof(client_secret)); /* any 32 bytes are an X25519 key */
}

static void
teardown(void)
{
	if (fixture_end(&small) != 0)
		fprintf(stderr, "the small registry's veild did not stop cleanly\n");
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

/* The size class the log stores for n items (server/store/qlog.h). */
static long
size_class(long n)
{
	long c = 1;
	if (n == 0)
		return 0;
	while (c < n)
		c <<= 1;
	return c;
}

/* The log holds one entry per request, and the items add up. */
static void
case_log_export_counts_the_lookups(void)
{
	proc_result r = proc_call(fx.admin, "log", "export", "--state", fx.state, NULL);
	char *out = r.out;
	CHECK(r.status == 0);
	REQUIRE(out != NULL && strncmp(out, "{\"schema\":\"veil-log-v2\"", 23) == 0);
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
	/* Two runs (tcp, ipc) of LOOKUPS distinct contacts in batches of the
	 * server's cap (256): one entry per LOOKUP; INFO is not logged. Each
	 * entry's items is its batch's size class (the least power of two at
	 * or above it): 256 for a full batch. */
	CHECK(items == 2 * (LOOKUPS / 256 * 256 + size_class(LOOKUPS % 256)));
	CHECK(entries == 2 * ((LOOKUPS + 255) / 256));
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

/*
 * Sums the items of f's log export (-1 when it fails); *widths_seen
 * collects, as bits, the bucket widths ("t_b") of the entries that hold
 * items (an entry's width is the least of the log's and its prefix's).
 */
static long
logged_items(const fixture *f, uint64_t *widths_seen)
{
	proc_result r = proc_call(f->admin, "log", "export", "--state", f->state, NULL);
	const char *at = r.out != NULL ? strstr(r.out, "\"t_b\":") : NULL;
	CHECK(r.status == 0 && at != NULL);
	if (r.status != 0 || at == NULL) {
		proc_result_free(&r);
		return -1;
	}
	const long header_width = strtol(at + 6, NULL, 10);
	long items = 0;
	if (widths_seen != NULL)
		*widths_seen = 0;
	for (char *line = strchr(r.out, '\n'); line != NULL && line[1] != '\0';) {
		line++;
		char *end = strchr(line, '\n');
		if (end != NULL)
			*end = '\0';
		const char *count = strstr(line, "\"items\":");
		CHECK(count != NULL);
		const long n = count != NULL ? strtol(count + 8, NULL, 10) : 0;
		const char *width = strstr(line, "\"t_b\":");
		const long w = width != NULL ? strtol(width + 6, NULL, 10) : header_width;
		if (n > 0 && widths_seen != NULL && w >= 0 && w < 64)
			*widths_seen |= (uint64_t)1 << w;
		items += n;
		line = end;
	}
	proc_result_free(&r);
	return items;
}

/* Looks up the first 10 of the small registry and 10 strangers with the
 * options of some; every answer must be right. */
static veil_err
lookup_small(const veil_client_options *some, char *why, size_t why_size)
{
	char written[20][32];
	const char *contacts[20];
	veil_lookup_result results[20];
	veil_client *client = NULL;
	for (unsigned i = 0; i < 20; i++) {
		snprintf(written[i], sizeof(written[i]), "(628) 555-%04u", i < 10 ? i : 5000 + i);
		contacts[i] = written[i];
	}
	veil_err err = fixture_client_of(&small, some, client_secret, &client);
	CHECK(err == VEIL_OK);
	if (err != VEIL_OK)
		return err;
	err = veil_client_lookup(client, contacts, 20, results);
	snprintf(why, why_size, "%s", veil_client_last_error(client));
	for (unsigned i = 0; i < 20; i++)
		CHECK(results[i].status == (err == VEIL_OK && i < 10 ? VEIL_LOOKUP_REGISTERED
		                                                     : VEIL_LOOKUP_NOT_REGISTERED));
	veil_client_free(client);
	return err;
}

/*
 * The server advises about 6 bits; a client whose floor allows 3 reveals
 * 3, and the log's entry for its lookup has a bucket width of 3 (an
 * entry's width is the least of the log's and the prefix length).
 */
static void
case_floor_wins_over_the_servers_advice(void)
{
	char why[160];
	uint64_t widths;
	REQUIRE(fixture_start(&small, NULL, "ready", "--threads", "1", "--enrolment", "open",
	                      NULL) == 0);
	/* The advice, as a client without its own floor follows it. */
	CHECK(lookup_small(&(veil_client_options){.universe = (uint64_t)1 << 40}, why,
	                   sizeof(why)) == VEIL_OK);
	CHECK(fixture_stop(&small) == 0);
	CHECK(logged_items(&small, &widths) == size_class(20));
	CHECK(widths != 0 && (widths & 0xf) == 0); /* more than 3 bits */

	REQUIRE(fixture_start(&small, NULL, "ready", "--threads", "1", "--enrolment", "open",
	                      NULL) == 0);
	const veil_err err = lookup_small(&three_bits, why, sizeof(why));
	CHECK(err == VEIL_OK);
	if (err != VEIL_OK)
		fprintf(stderr, "# %s: %s\n", veil_strerror(err), why);
	CHECK(fixture_stop(&small) == 0);
	uint64_t after;
	CHECK(logged_items(&small, &after) == 2 * size_class(20));
	CHECK((after & ~widths) == (uint64_t)1 << 3); /* the new entry: 3 bits */
}

/*
 * The big registry (payloads) needs at least 6 bits to fit a batch's
 * reply: a client whose floor allows 3 asks INFO, refuses, and nothing
 * is evaluated or logged with items.
 */
static void
case_floor_below_the_servers_least_fails_clearly(void)
{
	const long before = logged_items(&fx, NULL);
	REQUIRE(fixture_start(&fx, NULL, "ready", "--threads", "1", "--enrolment", "open", NULL) ==
	        0);
	veil_client *client = NULL;
	veil_lookup_result r[2];
	const char *contacts[2] = {registry_people[0].written, strangers[0].written};
	REQUIRE(fixture_client(&three_bits, client_secret, &client) == VEIL_OK);
	CHECK(veil_client_lookup(client, contacts, 2, r) == VEIL_ERR_UNSUPPORTED);
	CHECK(strstr(veil_client_last_error(client), "privacy floor") != NULL);
	CHECK(strstr(veil_client_last_error(client), "at most 3 prefix bits") != NULL);
	CHECK(r[0].status == VEIL_LOOKUP_NOT_REGISTERED && r[0].handle[0] == '\0');
	veil_client_free(client);
	CHECK(fixture_stop(&fx) == 0);
	CHECK(evaluated_by_veild() == 0);
	CHECK(logged_items(&fx, NULL) == before);
}

/* Looks up one contact of fx's veild with options o; its error, and why. */
static veil_err
lookup_one_pinned(const veil_client_options *o, char *why, size_t why_size)
{
	veil_client *client = NULL;
	veil_lookup_result r;
	const char *contact = registry_people[0].written;
	veil_err err = fixture_client(o, client_secret, &client);
	CHECK(err == VEIL_OK);
	if (err != VEIL_OK)
		return err;
	err = veil_client_lookup(client, &contact, 1, &r);
	snprintf(why, why_size, "%s", veil_client_last_error(client));
	CHECK(r.status == (err == VEIL_OK ? VEIL_LOOKUP_REGISTERED : VEIL_LOOKUP_NOT_REGISTERED));
	veil_client_free(client);
	return err;
}

/*
 * The client asks only under what it pinned. Against the OPRF registry
 * (fx): pins of another mode, another public key under its key id, or
 * only a key id it does not serve are refused after INFO, with nothing
 * evaluated; pins of mode oprf cannot be made to require VOPRF. The
 * VOPRF registry (small) answers a client that requires VOPRF.
 */
static void
case_pins_and_require_voprf(void)
{
	char why[160];
	veil_client_options own, voprf, other_key, other_id;
	memset(&own, 0, sizeof(own));
	REQUIRE(veil_server_info_read(fx.info_path, &own) == VEIL_OK);
	CHECK(own.mode == VEIL_MODE_OPRF && own.oprf_key_count == 1);
	voprf = own;
	voprf.mode = VEIL_MODE_VOPRF;
	other_key = own;
	other_key.oprf_keys[0].public_key[0] ^= 1; /* a key of its own for one user */
	other_id = own;
	other_id.oprf_keys[0].key_id += 1;

	veil_client *client = NULL;
	veil_client_options strict = own;
	strict.require_verifiable = 1;
	CHECK(fixture_client(&strict, client_secret, &client) == VEIL_ERR_ARGUMENT);
	CHECK(client == NULL);

	REQUIRE(fixture_start(&fx, NULL, "ready", "--threads", "1", "--enrolment", "open", NULL) ==
	        0);
	CHECK(lookup_one_pinned(&voprf, why, sizeof(why)) == VEIL_ERR_UNSUPPORTED);
	CHECK(strstr(why, "another mode") != NULL);
	CHECK(lookup_one_pinned(&other_key, why, sizeof(why)) == VEIL_ERR_VERIFY);
	CHECK(strstr(why, "not the one pinned") != NULL);
	CHECK(lookup_one_pinned(&other_id, why, sizeof(why)) == VEIL_ERR_UNSUPPORTED);
	CHECK(strstr(why, "no pinned OPRF key") != NULL);
	CHECK(fixture_stop(&fx) == 0);
	CHECK(evaluated_by_veild() == 0);

	/* The same pins, right, are answered. */
	REQUIRE(fixture_start(&fx, NULL, "ready", "--threads", "1", "--enrolment", "open", NULL) ==
	        0);
	CHECK(lookup_one_pinned(&own, why, sizeof(why)) == VEIL_OK);
	CHECK(fixture_stop(&fx) == 0);

	REQUIRE(fixture_start(&small, NULL, "ready", "--threads", "1", "--enrolment", "open",
	                      NULL) == 0);
	CHECK(lookup_small(&(veil_client_options){.require_verifiable = 1}, why, sizeof(why)) ==
	      VEIL_OK);
	CHECK(fixture_stop(&small) == 0);
}

/* A fake server: answers each request with an unsealed ERROR frame of the
 * next code, until a code 0. */
typedef struct fake_server {
	transport_server *server;
	const uint16_t *codes;
} fake_server;

static void *
fake_serve(void *arg)
{
	const fake_server *f = arg;
	for (const uint16_t *code = f->codes; *code != 0; code++) {
		transport_request req;
		if (transport_server_receive(f->server, 1000 * (int)TEST_PATIENCE_SECONDS, &req) !=
		    VEIL_OK)
			break;
		buf frame;
		buf_init(&frame);
		envelope_error_frame(&frame, *code);
		transport_server_reply(f->server, &req, (const uint8_t *)buf_data(&frame),
		                       buf_len(&frame));
		buf_free(&frame);
	}
	return NULL;
}

/*
 * Before it opens a request, a server can send only BUSY, BAD_FRAME and
 * BAD_ENVELOPE; an unsealed frame of any other code is not the server's,
 * and the client refuses it as a reply that does not verify. The ones it
 * can send are honoured as they say.
 */
static void
case_unsealed_error_of_a_sealed_only_code_is_refused(void)
{
	static const uint16_t codes[] = {PROTO_STATUS_UNAUTHORIZED, PROTO_STATUS_RATE_LIMITED,
	                                 PROTO_STATUS_BAD_ENVELOPE, 0};
	char url[512];
	snprintf(url, sizeof(url), "ipc://%s", proc_path(fx.dir, "fake.sock"));
	fake_server f = {.codes = codes};
	REQUIRE(transport_server_open(url, 1 << 20, &f.server) == VEIL_OK);
	pthread_t thread;
	REQUIRE(pthread_create(&thread, NULL, fake_serve, &f) == 0);

	const char *contact = "+1 415 555 0100";
	veil_lookup_result r;
	for (size_t i = 0; i < 3; i++) {
		veil_client *client = NULL;
		REQUIRE(fixture_client(&(veil_client_options){.server_url = url}, client_secret,
		                       &client) == VEIL_OK);
		const veil_err err = veil_client_lookup(client, &contact, 1, &r);
		if (codes[i] == PROTO_STATUS_BAD_ENVELOPE) {
			CHECK(err == VEIL_ERR_UNSUPPORTED);
			CHECK(strstr(veil_client_last_error(client), "bad envelope") != NULL);
		} else {
			CHECK(err == VEIL_ERR_VERIFY);
			CHECK(strstr(veil_client_last_error(client), "unsealed") != NULL);
		}
		CHECK(r.status == VEIL_LOOKUP_NOT_REGISTERED);
		veil_client_free(client);
	}
	pthread_join(thread, NULL);
	transport_server_close(f.server);
}

static const test_case cases[] = {
        {"2k lookups over tcp, every answer right", case_lookup_over_tcp},
        {"2k lookups over ipc, every answer right", case_lookup_over_ipc},
        {"the log export counts the lookups", case_log_export_counts_the_lookups},
        {"the cache answers without asking", case_cache_answers_without_asking},
        {"no server is a clear error", case_no_server_is_a_clear_error},
        {"the privacy floor wins over the server's advice",
         case_floor_wins_over_the_servers_advice},
        {"a floor below the server's least prefix fails clearly",
         case_floor_below_the_servers_least_fails_clearly},
        {"pins: another mode, key or key id is refused; VOPRF can be required",
         case_pins_and_require_voprf},
        {"an unsealed ERROR of a sealed-only code is refused",
         case_unsealed_error_of_a_sealed_only_code_is_refused},
};

FIXTURE_MAIN(cases, .label = "e2e", .setup = setup, .teardown = teardown)

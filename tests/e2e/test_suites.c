/*
 * Registries on the NIST suites, end to end: veil-admin keygen --suite
 * makes a P256-SHA256 VOPRF registry and a P384-SHA384 OPRF registry, a
 * real veild serves each, and libveil-client, pinned from veil-admin
 * info, looks up registered and unregistered handles in one request of
 * the server's batch cap: every answer right.
 * A ristretto255-SHA512 registry beside them shows that the suites do not
 * mix: a client pinned to a ristretto255 key is refused by the P-256
 * server's INFO, and one pinned to the P-256 key by the ristretto255
 * server's, with nothing evaluated either way.
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
#include "proc.h"
#include "veil_client.h"

/* Registered: +1 212 555 0000 to 0029; never registered: 0100 to 0109. */
#define REGISTERED 30
#define STRANGERS  10

static uint8_t client_secret[VEIL_KEY_SIZE];
static fixture p256, p384, ristretto;

/* A registry of suite (with keygen_flag, or NULL) holding the REGISTERED handles. */
static void
make_registry(fixture *f, const char *label, const char *suite, const char *keygen_flag)
{
	fixture_begin(f, label, test_argv[0], test_argv[1]);
	if (suite != NULL)
		fixture_state_of_suite(f, suite, keygen_flag);
	else
		fixture_state(f, keygen_flag);
	buf text;
	buf_init(&text);
	for (unsigned i = 0; i < REGISTERED; i++)
		buf_printf(&text, "+1 212 555 %04u%s\n", i, i % 2 ? ",paid" : "");
	if (buf_error(&text) != VEIL_OK)
		abort();
	fixture_import(f, buf_data(&text));
	buf_free(&text);
}

static void
setup(void)
{
	randombytes_buf(client_secret, sizeof(client_secret));
	make_registry(&p256, "suites-p256", "P256-SHA256", "--verifiable");
	make_registry(&p384, "suites-p384", "P384-SHA384", NULL);
	make_registry(&ristretto, "suites-r255", NULL, "--verifiable");
}

static int
teardown(void)
{
	const int a = fixture_end(&p256), b = fixture_end(&p384), c = fixture_end(&ristretto);
	return a != 0 ? a : b != 0 ? b : c;
}

/*
 * Starts f's veild with a batch cap of REGISTERED + STRANGERS: a lookup of
 * them all is one request of exactly the cap, the largest veild takes,
 * which it sizes by the suite's Ne (a P-384 item is 53 bytes, not 36).
 */
static int
start(fixture *f)
{
	char cap[16];
	snprintf(cap, sizeof(cap), "%d", REGISTERED + STRANGERS);
	return fixture_start(f, NULL, "ready", "--threads", "1", "--enrolment", "open",
	                     "--batch-cap", cap, NULL);
}

/* Items f's veild says it evaluated, once stopped. */
static long
evaluated_by(fixture *f)
{
	char *said = proc_stderr(&f->daemon);
	const char *at = strstr(said, " requests, ");
	const long items = at != NULL ? strtol(at + strlen(" requests, "), NULL, 10) : -1;
	free(said);
	return items;
}

/* The file at path as a NUL-terminated string (malloc'd; at most 64 KiB), or NULL. */
static char *
read_text(const char *path)
{
	FILE *file = fopen(path, "r");
	char *text = malloc(65536 + 1);
	size_t n = 0;
	if (file != NULL && text != NULL)
		n = fread(text, 1, 65536, file);
	if (file != NULL)
		fclose(file);
	if (text != NULL)
		text[n] = '\0';
	return text;
}

/* Whether f's pins (veil-admin info) name suite, with keys of 2 * ne hex digits. */
static int
info_names_suite(const fixture *f, const char *suite, size_t ne)
{
	veil_client_options o;
	memset(&o, 0, sizeof(o));
	char *text = read_text(f->info_path);
	char want[64];
	snprintf(want, sizeof(want), "\noprf-key 1 %s ", suite);
	const char *line = text != NULL ? strstr(text, want) : NULL;
	const int ok = line != NULL && strspn(line + strlen(want), "0123456789abcdef") == 2 * ne &&
	               veil_server_info_read(f->info_path, &o) == VEIL_OK &&
	               o.oprf_key_count == 1 && strcmp(o.oprf_keys[0].suite, suite) == 0 &&
	               o.oprf_keys[0].public_key_len == ne;
	free(text);
	return ok;
}

/* Looks up every registered handle and STRANGERS others on f's veild: all right. */
static void
lookup_all(fixture *f, veil_mode mode)
{
	enum { COUNT = REGISTERED + STRANGERS };
	char written[COUNT][32];
	const char *contacts[COUNT];
	veil_lookup_result r[COUNT];
	for (unsigned i = 0; i < COUNT; i++) {
		snprintf(written[i], sizeof(written[i]), "(212) 555-%04u",
		         i < REGISTERED ? i : 100 + i - REGISTERED);
		contacts[i] = written[i];
	}
	veil_client *client = NULL;
	REQUIRE(fixture_client_of(f, NULL, client_secret, &client) == VEIL_OK);
	const veil_err err = veil_client_lookup(client, contacts, COUNT, r);
	if (err != VEIL_OK)
		printf("# %s: %s\n", veil_strerror(err), veil_client_last_error(client));
	CHECK(err == VEIL_OK);
	veil_client_free(client);
	size_t right = 0;
	for (unsigned i = 0; i < COUNT; i++) {
		const int registered = i < REGISTERED;
		char handle[32];
		snprintf(handle, sizeof(handle), "tel:+1212555%04u", i);
		const int paid = registered && i % 2 && r[i].payload_len == 4 &&
		                 memcmp(r[i].payload, "paid", 4) == 0;
		right += registered ? r[i].status == VEIL_LOOKUP_REGISTERED &&
		                              strcmp(r[i].handle, handle) == 0 &&
		                              (i % 2 ? paid : r[i].payload_len == 0)
		                    : r[i].status == VEIL_LOOKUP_NOT_REGISTERED;
	}
	CHECK(right == COUNT);
	veil_client_options o;
	memset(&o, 0, sizeof(o));
	REQUIRE(veil_server_info_read(f->info_path, &o) == VEIL_OK);
	CHECK(o.mode == mode);
}

static void
case_p256_voprf_registry(void)
{
	CHECK(info_names_suite(&p256, "P256-SHA256", 33));
	REQUIRE(start(&p256) == 0);
	lookup_all(&p256, VEIL_MODE_VOPRF);
	CHECK(fixture_stop(&p256) == 0);
	CHECK(evaluated_by(&p256) > 0);
}

static void
case_p384_oprf_registry(void)
{
	CHECK(info_names_suite(&p384, "P384-SHA384", 49));
	REQUIRE(start(&p384) == 0);
	lookup_all(&p384, VEIL_MODE_OPRF);
	CHECK(fixture_stop(&p384) == 0);
	CHECK(evaluated_by(&p384) > 0);
}

/*
 * A client of server whose OPRF key pins are those of pins_of (same key
 * id 1, same mode, another suite) is refused after INFO: VEIL_ERR_VERIFY,
 * naming both suites; server evaluates nothing.
 */
static void
pins_of_another_suite_refused(fixture *server, const fixture *pins_of, const char *offered,
                              const char *pinned)
{
	veil_client_options o, other;
	memset(&o, 0, sizeof(o));
	memset(&other, 0, sizeof(other));
	REQUIRE(veil_server_info_read(server->info_path, &o) == VEIL_OK);
	REQUIRE(veil_server_info_read(pins_of->info_path, &other) == VEIL_OK);
	REQUIRE(o.mode == other.mode && o.oprf_keys[0].key_id == other.oprf_keys[0].key_id);
	o.oprf_keys[0] = other.oprf_keys[0];

	REQUIRE(start(server) == 0);
	veil_client *client = NULL;
	veil_lookup_result r;
	const char *contact = "(212) 555-0001";
	REQUIRE(fixture_client_of(server, &o, client_secret, &client) == VEIL_OK);
	CHECK(veil_client_lookup(client, &contact, 1, &r) == VEIL_ERR_VERIFY);
	char want[96];
	snprintf(want, sizeof(want), "of suite %s, not the pinned %s", offered, pinned);
	CHECK(strstr(veil_client_last_error(client), want) != NULL);
	if (strstr(veil_client_last_error(client), want) == NULL)
		printf("# said: %s\n", veil_client_last_error(client));
	CHECK(r.status == VEIL_LOOKUP_NOT_REGISTERED);
	veil_client_free(client);
	CHECK(fixture_stop(server) == 0);
	CHECK(evaluated_by(server) == 0);
}

static void
case_ristretto_pins_refused_by_p256(void)
{
	pins_of_another_suite_refused(&p256, &ristretto, "P256-SHA256", "ristretto255-SHA512");
}

static void
case_p256_pins_refused_by_ristretto(void)
{
	pins_of_another_suite_refused(&ristretto, &p256, "ristretto255-SHA512", "P256-SHA256");
}

static const test_case cases[] = {
        {"a P256-SHA256 VOPRF registry answers right", case_p256_voprf_registry},
        {"a P384-SHA384 OPRF registry answers right", case_p384_oprf_registry},
        {"ristretto255 pins against a P-256 server: refused, nothing evaluated",
         case_ristretto_pins_refused_by_p256},
        {"P-256 pins against a ristretto255 server: refused, nothing evaluated",
         case_p256_pins_refused_by_ristretto},
};

TEST_MAIN_WITH(cases, .usage = "VEIL-ADMIN VEILD", .arguments = 2, .setup = setup,
               .teardown = teardown)

/*
 * The veil command line against a real veild: keygen writes 0600 keys
 * and never overwrites; lookup reads plain, CSV and vCard input, prints
 * one line per contact in order (plain and --json), reports unparseable
 * contacts without dropping them, refuses a key file readable by others,
 * and exits non-zero with a clear message when no server answers;
 * tokens mode: `veil tokens fetch` and `status` and `lookup --tokens`
 * refuse what does not fit before they ask anything, and status counts
 * a token file's tokens.
 * The library's lookups of many contacts: the same answers on one worker
 * thread and on several, every answer right when the batches go out
 * together (and in more than one wave); a server that answers INFO but
 * never a LOOKUP fails the lookup with no answer left standing, or hands
 * it over to a fallback that answers all.
 *
 * Arguments: veil veil-admin veild address-book.vcf
 */
#define _GNU_SOURCE /* asprintf */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "buf.h"
#include "fixture.h"
#include "harness.h"
#include "json.h"
#include "transport.h"
#include "veil_client.h"

static const char *veil_path, *sample_path;
static char *url, *key_only_path, *key_path;
static const char *info_path;

/* veil lookup against the test's veild, with extra (NULL: none), on input_path. */
static proc_result
lookup(const char *input_path, const char *extra)
{
	return proc_call(veil_path, "lookup", "--server", url, "--server-info", info_path,
	                 "--client-key", key_path, "--region", "US", "--timeout", "60",
	                 extra != NULL ? extra : input_path, extra != NULL ? input_path : NULL,
	                 NULL);
}

/* Writes text to the case's file name and looks it up. */
static proc_result
lookup_text(const char *name, const char *text, const char *extra)
{
	const char *input = test_case_path(name);
	proc_write_file(input, text, strlen(text));
	return lookup(input, extra);
}

static void
case_keygen_writes_0600_and_never_overwrites(void)
{
	const char *path = test_case_path("k1.key");
	proc_result r = proc_call(veil_path, "keygen", "--out", path, NULL);
	CHECK(r.status == 0);
	CHECK(strlen(r.out) == 65 && r.out[64] == '\n');
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	proc_result_free(&r);

	r = proc_call(veil_path, "keygen", "--out", path, NULL);
	CHECK(r.status == 1);
	CHECK(strstr(r.err, "already exists") != NULL);
	proc_result_free(&r);
}

static void
case_plain_input_one_line_per_contact(void)
{
	proc_result r = lookup_text(
	        "plain.txt", "(415) 555-0100\ncall me maybe\n  Ann@Example.ORG \n+1 415 555 0199\n",
	        NULL);
	CHECK(r.status == 0);
	CHECK(test_count_char(r.out, '\n') == 4);
	const char *lines[] = {
	        "(415) 555-0100\ttel:+14155550100\tregistered\tfriend\n",
	        "call me maybe\t-\terror: not a phone number\n",
	        "Ann@Example.ORG\tmailto:ann@example.org\tregistered\n", /* lines are trimmed */
	        "+1 415 555 0199\ttel:+14155550199\tnot registered\n"};
	const char *at = r.out;
	for (size_t i = 0; i < 4; i++) {
		const char *found = strstr(at, lines[i]);
		CHECK(found == at); /* in input order, nothing in between */
		if (found != at) {
			printf("# line %zu: got: %s", i, at);
			break;
		}
		at += strlen(lines[i]);
	}
	proc_result_free(&r);
}

static void
case_json_output_parses(void)
{
	proc_result r = lookup_text(
	        "contacts.csv",
	        "name,Phone,Email\nAnn,(415) 555-0100,ann@example.org\nBob,,bob@example.net\n",
	        "--json");
	CHECK(r.status == 0);
	CHECK(test_count_char(r.out, '\n') == 3);
	const char *want_handles[] = {"tel:+14155550100", "mailto:ann@example.org",
	                              "mailto:bob@example.net"};
	const int want_registered[] = {1, 1, 0};
	char *line = r.out;
	for (size_t i = 0; i < 3 && line != NULL; i++) {
		char *end = strchr(line, '\n');
		json_value *v = NULL;
		REQUIRE(end != NULL);
		CHECK(json_parse(line, (size_t)(end - line), &v) == VEIL_OK);
		if (v != NULL) {
			const char *handle = json_string(json_object_get(v, "handle"), NULL);
			CHECK(handle != NULL && strcmp(handle, want_handles[i]) == 0);
			CHECK(json_type_of(json_object_get(v, "registered")) ==
			      (want_registered[i] ? JSON_TRUE : JSON_FALSE));
			json_free(v);
		}
		line = end + 1;
	}
	proc_result_free(&r);
}

static void
case_vcard_sample(void)
{
	proc_result r = lookup(sample_path, "--json");
	CHECK(r.status == 0);
	/* 31 contact values in the sample, two of them unparseable. */
	CHECK(test_count_char(r.out, '\n') == 31);
	int errors = 0;
	for (const char *p = r.out; (p = strstr(p, "\"error\"")) != NULL; p++)
		errors++;
	CHECK(errors == 2);
	CHECK(strstr(r.out, "{\"input\": \"(415) 555-0100\", \"handle\": \"tel:+14155550100\", "
	                    "\"registered\": true, \"payload\": \"friend\"}") != NULL);
	proc_result_free(&r);
}

static void
case_key_readable_by_others_is_refused(void)
{
	const char *loose = test_case_path("loose.key");
	proc_result r = proc_call(veil_path, "keygen", "--out", loose, NULL);
	REQUIRE(r.status == 0);
	proc_result_free(&r);
	REQUIRE(chmod(loose, 0644) == 0);
	const char *input = test_case_path("one.txt");
	proc_write_file(input, "+1 415 555 0100\n", 16);
	r = proc_call(veil_path, "lookup", "--server", url, "--server-info", info_path,
	              "--client-key", loose, input, NULL);
	CHECK(r.status == 1);
	CHECK(strstr(r.err, "readable by others") != NULL);
	CHECK(r.out[0] == '\0');
	proc_result_free(&r);
}

static void
case_usage_errors_and_help(void)
{
	const proc_expect runs[] = {
	        {"no server", {"lookup", "--server-info", info_path}, 2, NULL, "--server"},
	        {"no pins", {"lookup", "--server", url}, 2, NULL, "--server-info"},
	        {"pins that are not a file",
	         {"lookup", "--server", url, "--server-info", "abcd"},
	         2,
	         NULL,
	         "cannot read abcd"},
	        {"pins without a mode or OPRF key",
	         {"lookup", "--server", url, "--server-info", key_only_path},
	         2,
	         NULL,
	         "needs its server-key, mode and oprf-key lines"},
	        {"unknown command", {"frobnicate"}, 2, NULL, NULL},
	        {"help", {"lookup", "--help"}, 0, "usage: veil lookup", NULL},
	};
	proc_check_runs(veil_path, runs, TEST_COUNT(runs), NULL);
}

static void
case_no_server_is_a_clear_failure(void)
{
	const char *input = test_case_path("one.txt");
	proc_write_file(input, "+1 415 555 0100\n", 16);
	char dead[64];
	snprintf(dead, sizeof(dead), "tcp://127.0.0.1:%d", proc_free_port());
	proc_result r = proc_call(veil_path, "lookup", "--server", dead, "--server-info", info_path,
	                          "--client-key", key_path, "--timeout", "1", input, NULL);
	CHECK(r.status == 1);
	CHECK(strstr(r.err, "lookup failed") != NULL && strstr(r.err, "no reply") != NULL);
	CHECK(r.out[0] == '\0'); /* no half answer */
	proc_result_free(&r);
}

/*
 * --min-bucket and --universe reach the library: a floor of 0 bits (buckets
 * of the whole space) still answers right against this tiny registry,
 * which accepts 0 bits; a floor that no prefix can keep is refused.
 */
static void
case_privacy_floor_options(void)
{
	const char *input = test_case_path("floor.txt");
	proc_write_file(input, "(415) 555-0100\n+1 415 555 0199\n", 31);
	proc_result r = proc_call(veil_path, "lookup", "--server", url, "--server-info", info_path,
	                          "--client-key", key_path, "--region", "US", "--min-bucket",
	                          "1000", "--universe", "1999", input, NULL);
	CHECK(r.status == 0);
	CHECK(strstr(r.out, "tel:+14155550100\tregistered") != NULL);
	CHECK(strstr(r.out, "tel:+14155550199\tnot registered") != NULL);
	proc_result_free(&r);

	r = proc_call(veil_path, "lookup", "--server", url, "--server-info", info_path,
	              "--client-key", key_path, "--min-bucket", "100", "--universe", "10", input,
	              NULL);
	CHECK(r.status == 1);
	CHECK(strstr(r.err, "--min-bucket") != NULL);
	CHECK(r.out[0] == '\0');
	proc_result_free(&r);
}

/* This registry serves OPRF, and the pins say so: --verifiable refuses
 * them before asking anything. */
static void
case_verifiable_refuses_an_oprf_server(void)
{
	proc_result r = lookup_text("one.txt", "(415) 555-0100\n", "--verifiable");
	CHECK(r.status == 2);
	CHECK(strstr(r.err, "--verifiable") != NULL && strstr(r.err, "pins mode oprf") != NULL);
	CHECK(r.out[0] == '\0');
	proc_result_free(&r);
}

#define ISSUER_KEY_HEX "fbfb3e73cd739b5b735bf9ae42fdffe926ac42907338bc80e5453a2efba5735f"
/* 146 bytes of type 0x0001: a token's form. */
#define A_TOKEN_HEX                                                                                \
	"0001" ISSUER_KEY_HEX ISSUER_KEY_HEX ISSUER_KEY_HEX ISSUER_KEY_HEX                         \
	"00112233445566778899aabbccddeeff"

/*
 * The test's pins (of a keys-mode state: their "auth keys" line dropped)
 * with the tokens-mode lines of issuer (and origin veil.test), into a file.
 */
static const char *
tokens_pins(const char *name, const char *issuer)
{
	size_t len;
	char *pins = test_read_file(info_path, &len), *text, *auth = strstr(pins, "auth keys\n");
	if (auth == NULL)
		abort();
	memmove(auth, auth + strlen("auth keys\n"), strlen(auth + strlen("auth keys\n")) + 1);
	if (asprintf(&text, "%sauth tokens\ntoken-issuer %s\ntoken-origin veil.test\n", pins,
	             issuer) < 0)
		abort();
	const char *path = test_case_path(name);
	proc_write_file(path, text, strlen(text));
	free(pins);
	free(text);
	return path;
}

static void
case_tokens_usage_errors(void)
{
	const char *tokens_info = tokens_pins("tokens.info", "issuer.test");
	const char *other_info = tokens_pins("other.info", "other.test");
	const char *issuer_info = test_case_path("issuer.info");
	const char *text = "issuer-key " ISSUER_KEY_HEX "\nissuer-name issuer.test\ntoken-key 3 "
	                   "02" ISSUER_KEY_HEX "00112233445566778899aabbccddeeff\n";
	proc_write_file(issuer_info, text, strlen(text));
	const char *t = test_case_path("tokens");
	const proc_expect runs[] = {
	        {"tokens alone", {"tokens"}, 2, NULL, "fetch or status"},
	        {"tokens of another kind", {"tokens", "spend"}, 2, NULL, "unknown command"},
	        {"fetch without its options",
	         {"tokens", "fetch", "--tokens", t},
	         2,
	         NULL,
	         "--issuer, --issuer-info, --server-info and --tokens are required"},
	        {"fetch for a keys-mode server",
	         {"tokens", "fetch", "--issuer", url, "--issuer-info", issuer_info, "--server-info",
	          info_path, "--tokens", t},
	         2,
	         NULL,
	         "pins auth keys"},
	        {"fetch from another issuer",
	         {"tokens", "fetch", "--issuer", url, "--issuer-info", issuer_info, "--server-info",
	          other_info, "--tokens", t},
	         2,
	         NULL,
	         "takes tokens of issuer other.test"},
	        {"fetch with server pins as issuer pins",
	         {"tokens", "fetch", "--issuer", url, "--issuer-info", info_path, "--server-info",
	          tokens_info, "--tokens", t},
	         2,
	         NULL,
	         "needs its issuer-key, issuer-name and token-key lines"},
	        {"fetch of no tokens",
	         {"tokens", "fetch", "--issuer", url, "--issuer-info", issuer_info, "--server-info",
	          tokens_info, "--tokens", t, "--count", "0"},
	         2,
	         NULL,
	         "--count"},
	        {"fetch with a key that is not there",
	         {"tokens", "fetch", "--issuer", url, "--issuer-info", issuer_info, "--server-info",
	          tokens_info, "--tokens", t, "--key", "/nonexistent/client.key"},
	         1,
	         NULL,
	         "client key /nonexistent/client.key"},
	        {"lookup of tokens pins without --tokens",
	         {"lookup", "--server", url, "--server-info", tokens_info},
	         2,
	         NULL,
	         "give --tokens FILE"},
	        {"lookup --tokens of keys pins",
	         {"lookup", "--server", url, "--server-info", info_path, "--tokens", t},
	         2,
	         NULL,
	         "takes no tokens"},
	        {"status without --tokens", {"tokens", "status"}, 2, NULL, "--tokens is required"},
	        {"status of no file", {"tokens", "status", "--tokens", t}, 1, NULL, "not found"},
	        {"help tokens fetch",
	         {"help", "tokens", "fetch"},
	         0,
	         "usage: veil tokens fetch",
	         NULL},
	        {"tokens status --help",
	         {"tokens", "status", "--help"},
	         0,
	         "usage: veil tokens status",
	         NULL},
	};
	proc_check_runs(veil_path, runs, TEST_COUNT(runs), NULL);
}

/* status counts by key and challenge; a lookup without a usable token asks nothing. */
static void
case_tokens_status_and_lookup(void)
{
	const char *tokens_info = tokens_pins("tokens.info", "issuer.test");
	const char *t = test_case_path("tokens");
	const char *text = "veil-tokens-v1\n" A_TOKEN_HEX "\n" A_TOKEN_HEX "\n";
	proc_write_file(t, text, strlen(text));
	REQUIRE(chmod(t, 0600) == 0);
	proc_result r = proc_call(veil_path, "tokens", "status", "--tokens", t, "--server-info",
	                          tokens_info, NULL);
	CHECK(r.status == 0);
	CHECK(strcmp(r.out, "tokens 2\ngroup 2 token-key-id " ISSUER_KEY_HEX
	                    " challenge " ISSUER_KEY_HEX "\nusable 0\n") == 0);
	proc_result_free(&r);

	const char *input = test_case_path("one.txt");
	proc_write_file(input, "+1 415 555 0100\n", 16);
	r = proc_call(veil_path, "lookup", "--server", url, "--server-info", tokens_info,
	              "--tokens", t, input, NULL);
	CHECK(r.status == 1);
	CHECK(strstr(r.err, "no tokens left: run veil tokens fetch") != NULL);
	CHECK(r.out[0] == '\0');
	proc_result_free(&r);

	REQUIRE(chmod(t, 0644) == 0);
	r = proc_call(veil_path, "tokens", "status", "--tokens", t, NULL);
	CHECK(r.status == 1 && strstr(r.err, "chmod 600") != NULL);
	proc_result_free(&r);
}

/*
 * status of more groups than one first guess holds: every group is
 * printed, in the order of its first token, and the usable ones are
 * counted wherever they are (here the last group is the server's).
 */
static void
case_tokens_status_of_many_groups(void)
{
	enum { GROUPS = 40 };
	const char *tokens_info = tokens_pins("tokens.info", "issuer.test");
	uint8_t digest[32];
	char digest_hex[65];
	REQUIRE(veil_tokens_challenge_digest("issuer.test", "veil.test", digest) == VEIL_OK);
	sodium_bin2hex(digest_hex, sizeof(digest_hex), digest, sizeof(digest));
	buf file, want;
	buf_init(&file);
	buf_init(&want);
	buf_append_str(&file, "veil-tokens-v1\n");
	buf_printf(&want, "tokens %d\n", GROUPS);
	for (int g = 0; g < GROUPS; g++) {
		/* The challenge: g in its first byte, or the server's for the last. */
		char challenge[65];
		snprintf(challenge, sizeof(challenge), "%02x%s", g, &ISSUER_KEY_HEX[2]);
		if (g == GROUPS - 1)
			memcpy(challenge, digest_hex, sizeof(challenge));
		buf_printf(&file, "0001%s%s%s%s00112233445566778899aabbccddeeff\n", ISSUER_KEY_HEX,
		           challenge, ISSUER_KEY_HEX, ISSUER_KEY_HEX);
		buf_printf(&want, "group 1 token-key-id %s challenge %s\n", ISSUER_KEY_HEX,
		           challenge);
	}
	buf_append_str(&want, "usable 1\n");
	REQUIRE(buf_error(&file) == VEIL_OK && buf_error(&want) == VEIL_OK);
	const char *t = test_case_path("tokens");
	proc_write_file(t, buf_data(&file), buf_len(&file));
	REQUIRE(chmod(t, 0600) == 0);
	proc_result r = proc_call(veil_path, "tokens", "status", "--tokens", t, "--server-info",
	                          tokens_info, NULL);
	CHECK(r.status == 0);
	CHECK(strlen(r.out) == buf_len(&want) &&
	      memcmp(r.out, buf_data(&want), buf_len(&want)) == 0);
	proc_result_free(&r);
	buf_free(&file);
	buf_free(&want);
}

/* --server URL,URL: a first server that does not answer, then the test's
 * veild, which does; and a list with an empty URL is a usage error. */
static void
case_server_list_fails_over(void)
{
	const char *input = test_case_path("one.txt");
	proc_write_file(input, "(415) 555-0100\n", 15);
	char *servers = NULL;
	REQUIRE(asprintf(&servers, "ipc://%s,%s", test_case_path("none.sock"), url) > 0);
	proc_result r = proc_call(veil_path, "lookup", "--server", servers, "--server-info",
	                          info_path, "--client-key", key_path, "--region", "US",
	                          "--timeout", "1", input, NULL);
	CHECK(r.status == 0);
	CHECK(strcmp(r.out, "(415) 555-0100\ttel:+14155550100\tregistered\tfriend\n") == 0);
	proc_result_free(&r);
	free(servers);
	REQUIRE(asprintf(&servers, "%s,,%s", url, url) > 0);
	r = proc_call(veil_path, "lookup", "--server", servers, "--server-info", info_path,
	              "--client-key", key_path, input, NULL);
	CHECK(r.status == 2 && strstr(r.err, "empty URL") != NULL);
	proc_result_free(&r);
	free(servers);
}

/*
 * The many-contact lookups: numbers +1 646 555 0000 to 1399, of which
 * the registry holds the even ones below NUMBERED_END, each with the
 * payload "pN" (N its number); every fifth contact is also given again
 * in another form, and every seventh is not a number at all.
 */
#define NUMBERED_END 1200
#define MANY         1400

static fixture many_fx; /* their registry and veild */

typedef struct many_contacts {
	char *text[MANY + MANY / 5 + MANY / 7 + 3];
	size_t count;
} many_contacts;

static void
many_make(many_contacts *m)
{
	m->count = 0;
	for (unsigned i = 0; i < MANY; i++) {
		REQUIRE(asprintf(&m->text[m->count++], "+1 646 555 %04u", i) > 0);
		if (i % 5 == 0)
			REQUIRE(asprintf(&m->text[m->count++], "(646) 555-%04u", i) > 0);
		if (i % 7 == 0)
			REQUIRE(asprintf(&m->text[m->count++], "no number %u", i) > 0);
	}
}

static void
many_free(many_contacts *m)
{
	for (size_t i = 0; i < m->count; i++)
		free(m->text[i]);
}

/* The answers that disagree with the registry (see many_make). */
static size_t
many_wrong(const many_contacts *m, const veil_lookup_result *results)
{
	size_t wrong = 0;
	for (size_t i = 0; i < m->count; i++) {
		const veil_lookup_result *r = &results[i];
		unsigned number = 0;
		char want[32], payload[16];
		if (strncmp(m->text[i], "no number", 9) == 0) {
			wrong += r->status != VEIL_LOOKUP_INVALID || r->handle[0] != '\0';
			continue;
		}
		if (sscanf(m->text[i] + strlen(m->text[i]) - 4, "%u", &number) != 1) {
			wrong++;
			continue;
		}
		snprintf(want, sizeof(want), "tel:+1646555%04u", number);
		snprintf(payload, sizeof(payload), "p%u", number);
		const int registered = number % 2 == 0 && number < NUMBERED_END;
		wrong += strcmp(r->handle, want) != 0 ||
		         r->status != (registered ? VEIL_LOOKUP_REGISTERED
		                                  : VEIL_LOOKUP_NOT_REGISTERED) ||
		         r->has_payload != registered ||
		         (registered && (r->payload_len != strlen(payload) ||
		                         memcmp(r->payload, payload, r->payload_len) != 0));
	}
	return wrong;
}

/* A client of the test's key and pins, asking server_url (then the
 * fallback, unless NULL) with a timeout of timeout_ms. */
static veil_client *
many_client(const char *server_url, const char *fallback, int timeout_ms)
{
	veil_client_options o;
	uint8_t secret[VEIL_KEY_SIZE];
	memset(&o, 0, sizeof(o));
	if (veil_client_key_read(key_path, secret) != VEIL_OK ||
	    veil_server_info_read(many_fx.info_path, &o) != VEIL_OK)
		abort(); /* the setup made both */
	static const char *fallbacks[1];
	fallbacks[0] = fallback;
	o.server_url = server_url;
	o.fallback_urls = fallback != NULL ? fallbacks : NULL;
	o.fallback_url_count = fallback != NULL;
	o.client_secret = secret;
	o.region = "US";
	o.timeout_ms = timeout_ms;
	veil_client *c = NULL;
	if (veil_client_new(&o, &c) != VEIL_OK)
		abort();
	sodium_memzero(secret, sizeof(secret));
	return c;
}

static void
case_many_contacts_same_answers_on_any_threads(void)
{
	many_contacts m;
	many_make(&m);
	veil_lookup_result *one = calloc(m.count, sizeof(*one));
	veil_lookup_result *four = calloc(m.count, sizeof(*four));
	REQUIRE(one != NULL && four != NULL);
	veil_client *c = many_client(many_fx.url, NULL, 1000 * (int)TEST_PATIENCE_SECONDS);
	CHECK(veil_client_set_threads(NULL, 1) == VEIL_ERR_ARGUMENT);
	CHECK(veil_client_set_threads(c, VEIL_MAX_THREADS + 1) == VEIL_ERR_ARGUMENT);
	CHECK(veil_client_set_threads(c, 1) == VEIL_OK);
	CHECK(veil_client_lookup(c, (const char *const *)m.text, m.count, one) == VEIL_OK);
	CHECK(veil_client_set_threads(c, 4) == VEIL_OK);
	CHECK(veil_client_lookup(c, (const char *const *)m.text, m.count, four) == VEIL_OK);
	const size_t wrong_one = many_wrong(&m, one), wrong_four = many_wrong(&m, four);
	printf("# %zu contacts: %zu wrong on 1 thread, %zu on 4\n", m.count, wrong_one, wrong_four);
	CHECK(wrong_one == 0 && wrong_four == 0);
	CHECK(memcmp(one, four, m.count * sizeof(*one)) == 0);
	/* The default, the online cores. */
	CHECK(veil_client_set_threads(c, 0) == VEIL_OK);
	memset(four, 0xff, m.count * sizeof(*four));
	CHECK(veil_client_lookup(c, (const char *const *)m.text, m.count, four) == VEIL_OK);
	CHECK(memcmp(one, four, m.count * sizeof(*one)) == 0);
	veil_client_free(c);
	free(one);
	free(four);
	many_free(&m);
}

/*
 * A server that takes every request and answers only the small ones:
 * INFO is passed on to many_fx's veild, a LOOKUP never answered, as
 * from a server that stopped after INFO.
 */
typedef struct half_server {
	transport_server *server;
	const char *url;
	atomic_int stop;
	pthread_t thread;
} half_server;

/* The largest request passed on: an INFO's frame is far smaller. */
#define HALF_SERVER_PASSES 2048

static void *
half_server_run(void *arg)
{
	half_server *h = arg;
	transport_client *veild = NULL;
	buf reply;
	buf_init(&reply);
	if (transport_client_open(many_fx.url, 1000 * (int)TEST_PATIENCE_SECONDS, 1 << 24,
	                          &veild) != VEIL_OK)
		abort();
	while (!atomic_load(&h->stop)) {
		transport_request req;
		if (transport_server_receive(h->server, 50, &req) != VEIL_OK)
			continue;
		buf_reset(&reply);
		if (req.len > HALF_SERVER_PASSES ||
		    transport_client_request(veild, req.data, req.len, &reply) != VEIL_OK) {
			transport_request_drop(&req);
			continue;
		}
		transport_server_reply(h->server, &req, (const uint8_t *)buf_data(&reply),
		                       buf_len(&reply));
	}
	transport_client_close(veild);
	buf_free(&reply);
	return NULL;
}

static void
half_server_start(half_server *h, const char *name)
{
	memset(h, 0, sizeof(*h));
	h->url = test_keep(proc_join("ipc://", test_case_path(name)));
	REQUIRE(transport_server_open(h->url, 1 << 24, &h->server) == VEIL_OK);
	atomic_init(&h->stop, 0);
	REQUIRE(pthread_create(&h->thread, NULL, half_server_run, h) == 0);
}

static void
half_server_stop(half_server *h)
{
	atomic_store(&h->stop, 1);
	pthread_join(h->thread, NULL);
	transport_server_close(h->server);
}

static void
case_server_that_stops_mid_lookup(void)
{
	many_contacts m;
	many_make(&m);
	veil_lookup_result *results = calloc(m.count, sizeof(*results));
	REQUIRE(results != NULL);
	half_server h;
	half_server_start(&h, "half.sock");

	/* Alone: the lookups time out, and no answer is left standing. */
	veil_client *c = many_client(h.url, NULL, 2000);
	CHECK(veil_client_lookup(c, (const char *const *)m.text, m.count, results) ==
	      VEIL_ERR_TIMEOUT);
	CHECK(strstr(veil_client_last_error(c), "no reply") != NULL);
	size_t standing = 0;
	for (size_t i = 0; i < m.count; i++)
		standing += results[i].status != VEIL_LOOKUP_NOT_REGISTERED ||
		            results[i].handle[0] != '\0';
	CHECK(standing == 0);
	veil_client_free(c);

	/* With a fallback: it answers every batch, the answers all right. */
	c = many_client(h.url, many_fx.url, 2000);
	CHECK(veil_client_lookup(c, (const char *const *)m.text, m.count, results) == VEIL_OK);
	const size_t wrong = many_wrong(&m, results);
	printf("# failed over mid-lookup: %zu wrong\n", wrong);
	CHECK(wrong == 0);
	veil_client_free(c);
	half_server_stop(&h);
	free(results);
	many_free(&m);
}

static const test_case cases[] = {
        {"keygen writes 0600 and never overwrites", case_keygen_writes_0600_and_never_overwrites},
        {"plain input: one line per contact, in order", case_plain_input_one_line_per_contact},
        {"CSV input, --json output parses", case_json_output_parses},
        {"the sample vCard address book", case_vcard_sample},
        {"a key readable by others is refused", case_key_readable_by_others_is_refused},
        {"usage errors and --help", case_usage_errors_and_help},
        {"no server is a clear failure", case_no_server_is_a_clear_failure},
        {"--server URL,URL fails over", case_server_list_fails_over},
        {"--min-bucket and --universe set the privacy floor", case_privacy_floor_options},
        {"--verifiable refuses an OPRF server", case_verifiable_refuses_an_oprf_server},
        {"tokens: usage errors and --help", case_tokens_usage_errors},
        {"tokens: status counts, a lookup without a token asks nothing",
         case_tokens_status_and_lookup},
        {"tokens: status prints every group of many", case_tokens_status_of_many_groups},
        {"many contacts: the same answers on 1 and 4 threads, every one right",
         case_many_contacts_same_answers_on_any_threads},
        {"a server that stops answering mid-lookup: the error, or the fallback's answers",
         case_server_that_stops_mid_lookup},
};

static void
setup(void)
{
	veil_path = test_argv[0];
	sample_path = test_argv[3];
	fixture_begin(&fx, "cli", test_argv[1], test_argv[2]);
	fixture_state(&fx, NULL);
	fixture_import(&fx, "(415) 555-0100,friend\nann@example.org\n+1 212 555 0104\n");
	key_path = proc_join(fx.dir, "client.key");
	info_path = fx.info_path;
	/* The transport key alone: no mode, no OPRF key. */
	char line[11 + 64 + 2] = "server-key ";
	sodium_bin2hex(line + 11, 65, fx.server_key, 32);
	strcat(line, "\n");
	key_only_path = fixture_file(&fx, "key-only.info", line);
	proc_result r = proc_call(veil_path, "keygen", "--out", key_path, NULL);
	if (r.status != 0)
		abort();
	proc_result_free(&r);
	if (asprintf(&url, "tcp://127.0.0.1:%d", proc_free_port()) < 0 ||
	    fixture_start(&fx, url, "ready", "--enrolment", "open", "--threads", "1", NULL) != 0)
		abort();

	/* The registry of the many-contact lookups, served by a veild of its own. */
	buf import;
	buf_init(&import);
	for (unsigned i = 0; i < NUMBERED_END; i += 2)
		buf_printf(&import, "+1 646 555 %04u,p%u\n", i, i);
	if (buf_error(&import) != VEIL_OK)
		abort();
	fixture_begin(&many_fx, "cli-many", test_argv[1], test_argv[2]);
	fixture_state(&many_fx, NULL);
	fixture_import(&many_fx, buf_data(&import));
	buf_free(&import);
	if (fixture_start(&many_fx, NULL, "ready", "--enrolment", "open", "--threads", "1", NULL) !=
	    0)
		abort();
}

static int
teardown(void)
{
	free(url);
	free(key_only_path);
	free(key_path);
	const int many_status = fixture_end(&many_fx);
	return fixture_end(&fx) != 0 ? 1 : many_status;
}

TEST_MAIN_WITH(cases, .usage = "VEIL VEIL-ADMIN VEILD ADDRESS-BOOK.VCF", .arguments = 4,
               .setup = setup, .teardown = teardown)

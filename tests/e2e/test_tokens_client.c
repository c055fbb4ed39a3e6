/*
 * Tokens mode from end to end, the way a messenger uses it: an account
 * enrolled at a real veil-issuer fetches tokens with libveil-client, then
 * looks up 2,000 contacts through a real veild in tokens mode, every
 * answer checked against the registry; a copy of the token file (tokens
 * already spent) is refused, also after veild restarts; the issuer
 * refuses an account past its ration with the time until the next one;
 * after an issuer key rotation and re-link the old tokens are refused and
 * new ones, fetched under the re-pinned key, are served; and veild's
 * whole state directory and log hold no client key, no token nonce and no
 * requester.
 *
 * Arguments: veil-admin veild veil-issuer
 */
#define _GNU_SOURCE /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "e2e_client.h"
#include "fixture.h"
#include "harness.h"
#include "veil_client.h"

#define ISSUER_NAME      "issuer.test"
#define ORIGIN           "lookup.test"
#define CONTACTS         2000
/* The issuer's ration: every case's fetches fit, and case "ration" empties it. */
#define RATION           200
/* veild's default batch cap: 2,000 contacts are 8 requests, so 8 tokens. */
#define BATCH_CAP        256
#define REQUESTS         ((CONTACTS + BATCH_CAP - 1) / BATCH_CAP)
/* A token file that holds none (veil_client.h's format). */
#define EMPTY_TOKEN_FILE "veil-tokens-v1\n"

static const char *issuer_path, *issuer_dir, *issuer_url, *issuer_info, *token_file;
static uint8_t secret[VEIL_KEY_SIZE], public_key[VEIL_KEY_SIZE];
static proc_daemon issuer_daemon;
static char *contacts[CONTACTS];

/* Runs veil-admin with the arguments up to NULL; its status (stdout to out_path unless NULL). */
static int
admin(const char *out_path, ...)
{
	const char *args[24];
	va_list ap;
	va_start(ap, out_path);
	proc_take_args(args, 24, ap);
	va_end(ap);
	proc_result r = proc_call_args(fx.admin, args, NULL);
	if (r.status != 0)
		printf("# veil-admin %s %s: %s", args[0], args[1] ? args[1] : "", r.err);
	else if (out_path != NULL)
		proc_write_file(out_path, r.out, strlen(r.out));
	const int status = r.status;
	proc_result_free(&r);
	return status;
}

static int
start_issuer(void)
{
	static char config[512];
	char *path = fixture_file(&fx, "issuer.ini", "");
	snprintf(config, sizeof(config),
	         "[clients]\nenrolment = required\ncapacity = %d\nrefill_per_day = %d\n", RATION,
	         RATION);
	proc_write_file(path, config, strlen(config));
	const char *const argv[] = {issuer_path, "--state", issuer_dir, "--listen", issuer_url,
	                            "--threads", "1",       "--config", path,       NULL};
	const int rc = proc_start(&issuer_daemon, argv, "veil-issuer: ready");
	free(path);
	return rc;
}

static int
start_veild(void)
{
	return fixture_start(&fx, NULL, "auth tokens (issuer", "--threads", "1", "--auth", "tokens",
	                     NULL);
}

/* The tokens in the file, 0 when there is none. */
static size_t
tokens_held(void)
{
	size_t count = 0, groups = 0;
	if (veil_tokens_status(token_file, &count, NULL, 0, &groups) != VEIL_OK)
		return 0;
	return count;
}

/* Fetches count tokens for this account; *retry_after and the error as the library says. */
static veil_err
fetch(size_t count, size_t *fetched, uint32_t *retry_after)
{
	veil_issuer_options o;
	memset(&o, 0, sizeof(o));
	veil_err err = veil_issuer_info_read(issuer_info, &o);
	if (err != VEIL_OK)
		return err;
	o.issuer_url = issuer_url;
	o.client_secret = secret;
	o.timeout_ms = 1000 * (int)TEST_PATIENCE_SECONDS;
	err = veil_tokens_fetch(&o, ORIGIN, token_file, count, fetched, retry_after);
	if (err != VEIL_OK)
		printf("# fetch: %s\n", veil_tokens_last_error());
	return err;
}

/*
 * Looks up the CONTACTS numbers in tokens mode; the error, with the
 * client's last error in why. *wrong (unless NULL) counts answers that
 * disagree with the registry (the even numbers are registered).
 */
static veil_err
lookup(size_t *wrong, char *why, size_t why_len)
{
	veil_client_options o;
	memset(&o, 0, sizeof(o));
	o.token_file = token_file;
	veil_lookup_result *results = calloc(CONTACTS, sizeof(*results));
	veil_client *client = NULL;
	if (results == NULL)
		abort();
	veil_err err = fixture_client(&o, NULL, &client);
	if (err == VEIL_OK)
		err = veil_client_lookup(client, (const char *const *)contacts, CONTACTS, results);
	snprintf(why, why_len, "%s", client != NULL ? veil_client_last_error(client) : "");
	if (wrong != NULL) {
		*wrong = 0;
		for (size_t i = 0; i < CONTACTS; i++) {
			char want[32];
			snprintf(want, sizeof(want), "tel:+1212555%04zu", i);
			const veil_lookup_status status =
			        i % 2 == 0 ? VEIL_LOOKUP_REGISTERED : VEIL_LOOKUP_NOT_REGISTERED;
			if (results[i].status != status || strcmp(results[i].handle, want) != 0)
				(*wrong)++;
		}
	}
	veil_client_free(client);
	free(results);
	return err;
}

static void
setup(void)
{
	issuer_path = test_argv[2];
	issuer_dir = test_keep(proc_join(fx.dir, "issuer"));
	token_file = test_keep(proc_join(fx.dir, "tokens"));
	issuer_info = test_keep(proc_join(fx.dir, "issuer.info"));
	char *url = NULL;
	if (asprintf(&url, "ipc://%s/issuer.sock", fx.dir) < 0)
		abort();
	issuer_url = test_keep(url);
	for (size_t i = 0; i < CONTACTS; i++)
		if (asprintf(&contacts[i], "+1 212 555 %04zu", i) < 0)
			abort();

	randombytes_buf(secret, sizeof(secret));
	char hex[2 * VEIL_KEY_SIZE + 1];
	if (veil_client_public_key(secret, public_key) != VEIL_OK)
		abort();
	sodium_bin2hex(hex, sizeof(hex), public_key, sizeof(public_key));
	if (admin(NULL, "issuer", "create", "--state", issuer_dir, "--name", ISSUER_NAME, NULL) !=
	            0 ||
	    admin(NULL, "client", "add", "--state", issuer_dir, hex, NULL) != 0 ||
	    admin(issuer_info, "issuer", "info", "--state", issuer_dir, NULL) != 0 ||
	    admin(NULL, "tokens", "link", "--state", fx.state, "--issuer", issuer_dir, "--origin",
	          ORIGIN, NULL) != 0)
		abort();
	fixture_info(&fx); /* now with auth tokens, token-issuer and token-origin */
	if (start_issuer() != 0 || start_veild() != 0)
		abort();
}

static void
teardown(void)
{
	if (proc_alive(&issuer_daemon))
		CHECK(proc_stop(&issuer_daemon) == 0);
	proc_release(&issuer_daemon);
	for (size_t i = 0; i < CONTACTS; i++)
		free(contacts[i]);
}

/* The pins a client is handed say tokens mode, with the challenge's names. */
static void
case_pins(void)
{
	veil_client_options o;
	memset(&o, 0, sizeof(o));
	CHECK(veil_server_info_read(fx.info_path, &o) == VEIL_OK);
	CHECK(o.auth == VEIL_AUTH_TOKENS);
	CHECK(strcmp(o.token_issuer, ISSUER_NAME) == 0 && strcmp(o.token_origin, ORIGIN) == 0);
	veil_issuer_options io;
	memset(&io, 0, sizeof(io));
	CHECK(veil_issuer_info_read(issuer_info, &io) == VEIL_OK);
	CHECK(strcmp(io.issuer_name, ISSUER_NAME) == 0 && io.token_key_count == 1);
}

/* Without tokens nothing is sent; with them, 2,000 contacts, every answer right. */
static void
case_two_thousand_contacts(void)
{
	char why[256];
	size_t fetched = 0, wrong = 0;
	uint32_t retry = 7;
	CHECK(lookup(NULL, why, sizeof(why)) == VEIL_ERR_LIMIT);
	CHECK(strstr(why, "no tokens left") != NULL);

	CHECK(fetch(REQUESTS + 2, &fetched, &retry) == VEIL_OK);
	CHECK(fetched == REQUESTS + 2 && retry == 0);
	CHECK(tokens_held() == REQUESTS + 2);
	struct stat st;
	CHECK(stat(token_file, &st) == 0 && (st.st_mode & 0777) == 0600);

	CHECK(lookup(&wrong, why, sizeof(why)) == VEIL_OK);
	printf("# 2000 contacts: %zu wrong answers, %zu tokens left (%d requests)\n", wrong,
	       tokens_held(), REQUESTS);
	CHECK(wrong == 0);
	CHECK(tokens_held() == 2); /* one token per request, each a size class of the cap */
}

/* A copy of the token file taken before a lookup holds spent tokens afterwards. */
static void
case_spent_refused(void)
{
	char why[256], *saved = NULL;
	size_t len = 0, fetched = 0, wrong = 0;
	CHECK(fetch(REQUESTS, &fetched, NULL) == VEIL_OK);
	const size_t before = tokens_held();
	saved = test_read_file(token_file, &len);
	CHECK(lookup(&wrong, why, sizeof(why)) == VEIL_OK && wrong == 0);

	/* The copy again: its first token was redeemed. */
	proc_write_file(token_file, saved, len);
	CHECK(tokens_held() == before);
	CHECK(lookup(NULL, why, sizeof(why)) == VEIL_ERR_PERMISSION);
	CHECK(strstr(why, "spent") != NULL);
	printf("# a spent token: %s\n", why);

	/* Still spent after veild restarts (the set is on disk). */
	CHECK(fixture_stop(&fx) == 0);
	CHECK(start_veild() == 0);
	proc_write_file(token_file, saved, len);
	CHECK(lookup(NULL, why, sizeof(why)) == VEIL_ERR_PERMISSION);
	CHECK(strstr(why, "spent") != NULL);
	free(saved);
}

/* The issuer refuses past the ration, says when the next comes, and issues nothing. */
static void
case_ration(void)
{
	size_t fetched = 9;
	uint32_t retry = 0;
	const size_t before = tokens_held();
	CHECK(fetch(RATION, &fetched, &retry) == VEIL_ERR_LIMIT);
	CHECK(fetched == 0);
	CHECK(retry > 0 && retry <= 86400);
	CHECK(tokens_held() == before);
	printf("# past the ration: retry after %u s\n", (unsigned)retry);
}

/*
 * The issuer rotates with no grace and veild is re-linked: tokens of the
 * old key are refused as invalid; the client re-pins the issuer's info,
 * fetches under the new key and is served.
 */
static void
case_rotation(void)
{
	char why[256];
	size_t fetched = 0, wrong = 0;
	/* One token of the current key, alone in the file (the copies of the
	 * case before left spent ones). */
	proc_write_file(token_file, EMPTY_TOKEN_FILE, strlen(EMPTY_TOKEN_FILE));
	CHECK(fetch(1, &fetched, NULL) == VEIL_OK && tokens_held() == 1);
	CHECK(proc_stop(&issuer_daemon) == 0);
	proc_release(&issuer_daemon);
	CHECK(admin(NULL, "issuer", "rotate", "--state", issuer_dir, "--grace-hours", "0", NULL) ==
	      0);
	CHECK(admin(NULL, "issuer", "retire", "--state", issuer_dir, NULL) == 0);
	CHECK(admin(NULL, "tokens", "link", "--state", fx.state, "--issuer", issuer_dir, NULL) ==
	      0);
	CHECK(start_issuer() == 0);
	/* veild notices the new copy within about a second: restart it to not wait. */
	CHECK(fixture_stop(&fx) == 0);
	CHECK(start_veild() == 0);

	CHECK(lookup(NULL, why, sizeof(why)) == VEIL_ERR_PERMISSION);
	CHECK(strstr(why, "invalid") != NULL);
	/* The old pins ask under a key the issuer no longer issues with. */
	CHECK(fetch(1, &fetched, NULL) == VEIL_ERR_UNSUPPORTED);
	CHECK(admin(issuer_info, "issuer", "info", "--state", issuer_dir, NULL) == 0);
	CHECK(tokens_held() == 0);
	CHECK(fetch(REQUESTS, &fetched, NULL) == VEIL_OK);
	CHECK(lookup(&wrong, why, sizeof(why)) == VEIL_OK);
	CHECK(wrong == 0);
}

/*
 * After all that traffic, veild's state directory (registry, log, spent
 * set, the issuer key copy) holds neither the client key (bytes or hex)
 * nor any token nonce of the file; the log's export names no requester;
 * neither daemon printed the client key.
 */
static void
case_nothing_names_the_client(void)
{
	char hex[2 * VEIL_KEY_SIZE + 1], *saved = NULL;
	size_t len = 0, fetched = 0, wrong = 0;
	sodium_bin2hex(hex, sizeof(hex), public_key, sizeof(public_key));
	/* Tokens whose nonces the scan looks for: fetched, then all spent. */
	CHECK(fetch(REQUESTS, &fetched, NULL) == VEIL_OK);
	saved = test_read_file(token_file, &len);
	char why[256];
	while (tokens_held() > 0 && lookup(&wrong, why, sizeof(why)) == VEIL_OK)
		CHECK(wrong == 0);
	CHECK(tokens_held() == 0);
	CHECK(fixture_stop(&fx) == 0); /* the log written, the sets closed */

	CHECK(!proc_tree_holds(fx.state, public_key, sizeof(public_key)));
	CHECK(!proc_tree_holds(fx.state, hex, strlen(hex)));
	size_t nonces = 0;
	for (const char *line = strchr(saved, '\n'); line != NULL && line[1] != '\0';
	     line = strchr(line + 1, '\n')) {
		uint8_t bytes[146], *nonce = bytes + 2;
		size_t got = 0;
		if (sodium_hex2bin(bytes, sizeof(bytes), line + 1, 292, NULL, &got, NULL) != 0 ||
		    got != sizeof(bytes))
			continue;
		char nonce_hex[65];
		sodium_bin2hex(nonce_hex, sizeof(nonce_hex), nonce, 32);
		CHECK(!proc_tree_holds(fx.state, nonce, 32));
		CHECK(!proc_tree_holds(fx.state, nonce_hex, 64));
		nonces++;
	}
	CHECK(nonces == REQUESTS);
	free(saved);

	proc_result r = proc_call(fx.admin, "log", "export", "--state", fx.state, NULL);
	CHECK(r.status == 0);
	CHECK(strstr(r.out, "\"auth\":\"tokens\"") != NULL ||
	      strstr(r.out, "\"auth\": \"tokens\"") != NULL);
	size_t entries = 0;
	/* The entries, after the header line (whose "fields" name the member). */
	const char *body = strchr(r.out, '\n');
	for (const char *at = body != NULL ? strstr(body, "\"requester\"") : NULL; at != NULL;
	     at = strstr(at + 1, "\"requester\"")) {
		const char *value = at + strlen("\"requester\"");
		while (*value == ':' || *value == ' ')
			value++;
		CHECK(*value == '0' && (value[1] == ',' || value[1] == '}'));
		entries++;
	}
	CHECK(entries >= 4 * REQUESTS); /* every lookup of the cases is an entry */
	printf("# %zu log entries, requester 0 in each; %zu nonces not in the state\n", entries,
	       nonces);
	proc_result_free(&r);

	char *said = proc_stderr(&fx.daemon), *issuer_said = proc_stderr(&issuer_daemon);
	CHECK(strstr(said, hex) == NULL && strstr(issuer_said, hex) == NULL);
	free(said);
	free(issuer_said);
	CHECK(start_veild() == 0); /* fixture_end stops it */
}

static const test_case cases[] = {
        {"the pins say tokens mode", case_pins},
        {"2,000 contacts through tokens mode, every answer right", case_two_thousand_contacts},
        {"a spent token is refused, also after a restart", case_spent_refused},
        {"past the ration: refused with the time until the next", case_ration},
        {"after a rotation: old tokens refused, new ones served", case_rotation},
        {"nothing in veild's state names the client or a token", case_nothing_names_the_client},
};

FIXTURE_MAIN(cases, .label = "tokens-client", .numbered = "+1 212 555 ", .first = 0,
             .end = CONTACTS, .step = 2, .setup = setup, .teardown = teardown)

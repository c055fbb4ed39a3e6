/*
 * What veild takes and refuses at start, against a real veild: the
 * largest request the transport takes follows from the batch cap (one
 * byte more is dropped unread, and the server goes on serving), and a
 * --clock-offset is refused over a query log that holds entries unless
 * --force-clock-offset is given; with enrolment required, the log's
 * accounts are the enrolled clients when fewer than configured, and a
 * population below k_r is refused.
 *
 * Arguments: veil-admin veild
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "e2e_client.h"
#include "envelope.h"
#include "fixture.h"
#include "harness.h"
#include "msg.h"
#include "transport.h"
#include "veil_client.h"

#define BATCH_CAP  "10"
#define ELEMENT    32 /* ristretto255's Ne */
/* How long a raw client waits for an answer that must not come. */
#define UNANSWERED 400

static uint8_t secret[VEIL_KEY_SIZE];

/* A sealed LOOKUP of 10 items: frame header, ephemeral key, nonce, MAC,
 * client key, proof, time; then the inner message's head and the items. */
static size_t
largest_request(void)
{
	return PROTO_FRAME_HEADER_SIZE + ENVELOPE_PUBLIC_KEY_SIZE + ENVELOPE_NONCE_SIZE +
	       ENVELOPE_MAC_SIZE + ENVELOPE_PUBLIC_KEY_SIZE + ENVELOPE_PROOF_SIZE +
	       ENVELOPE_TIME_SIZE + 1 + PROTO_REQUEST_ID_SIZE + 9 + 10 * (4 + ELEMENT);
}

/* Sends a sealed frame header and len - 6 random bytes over a fresh
 * connection that waits timeout_ms; returns the transport's answer. */
static veil_err
send_frame(size_t len, int timeout_ms, buf *reply)
{
	uint8_t *frame = malloc(len);
	if (frame == NULL)
		abort();
	memcpy(frame, PROTO_MAGIC, 4);
	frame[4] = PROTO_VERSION;
	frame[5] = PROTO_FRAME_SEALED;
	randombytes_buf(frame + 6, len - 6);
	transport_client *c = NULL;
	if (transport_client_open(fx.url, timeout_ms, PROTO_MAX_REPLY_SIZE, &c) != VEIL_OK)
		abort();
	veil_err err = transport_client_request(c, frame, len, reply);
	transport_client_close(c);
	free(frame);
	return err;
}

static veil_err
lookup(void)
{
	const char *texts[] = {"+1 312 555 0001", "+1 312 555 0002", "+1 312 555 0003"};
	veil_lookup_result results[3];
	veil_client *client = NULL;
	veil_err err = fixture_client(NULL, secret, &client);
	if (err == VEIL_OK)
		err = veil_client_lookup(client, texts, 3, results);
	veil_client_free(client);
	return err;
}

/* Starts veild with --clock-offset and the arguments that follow; 0 when ready. */
static int
start_with_offset(const char *force)
{
	return fixture_start(&fx, NULL, "ready", "--threads", "1", "--enrolment", "open",
	                     "--clock-offset=-7200", force, NULL);
}

/* The state is fresh: its log holds no entry yet (an offset back in
 * time, so that the real clock after it never steps back). */
static void
case_clock_offset_taken_on_an_empty_log(void)
{
	REQUIRE(start_with_offset(NULL) == 0);
	CHECK(fixture_stop(&fx) == 0);
}

static void
case_request_size_follows_the_batch_cap(void)
{
	REQUIRE(fixture_start(&fx, NULL, "ready", "--threads", "1", "--enrolment", "open",
	                      "--batch-cap", BATCH_CAP, NULL) == 0);
	buf reply;
	buf_init(&reply);
	/* The largest request is read (and refused: the box is random). */
	CHECK(send_frame(largest_request(), 1000 * (int)TEST_PATIENCE_SECONDS, &reply) == VEIL_OK);
	proto_frame f;
	CHECK(proto_frame_decode((const uint8_t *)buf_data(&reply), buf_len(&reply), &f) ==
	              VEIL_OK &&
	      f.type == PROTO_FRAME_ERROR);
	/* One byte more is not: no answer; then the server still serves. */
	buf_reset(&reply);
	CHECK(send_frame(largest_request() + 1, UNANSWERED, &reply) == VEIL_ERR_TIMEOUT);
	CHECK(buf_len(&reply) == 0);
	CHECK(lookup() == VEIL_OK);
	buf_free(&reply);
	CHECK(fixture_stop(&fx) == 0);
}

static void
case_clock_offset_refused_over_a_log_with_entries(void)
{
	/* The first case's lookup left an entry in the log. */
	CHECK(start_with_offset(NULL) != 0);
	char *said = proc_stderr(&fx.daemon);
	CHECK(strstr(said, "--clock-offset refused") != NULL);
	CHECK(strstr(said, "--force-clock-offset") != NULL);
	free(said);

	/* Forced, it starts; so does the config file's key. */
	REQUIRE(start_with_offset("--force-clock-offset") == 0);
	CHECK(fixture_stop(&fx) == 0);
	char *config = fixture_file(&fx, "force.ini", "[veild]\nforce_clock_offset = yes\n");
	REQUIRE(fixture_start(&fx, NULL, "clock offset in force", "--config", config, "--enrolment",
	                      "open", "--clock-offset=-7200", NULL) == 0);
	CHECK(fixture_stop(&fx) == 0);
	free(config);
}

/* veil-admin client add of a fresh key; its exit status. */
static int
enrol_one(void)
{
	uint8_t key[VEIL_KEY_SIZE], pub[VEIL_KEY_SIZE];
	char hex[2 * VEIL_KEY_SIZE + 1];
	randombytes_buf(key, sizeof(key));
	if (veil_client_public_key(key, pub) != VEIL_OK)
		abort();
	sodium_bin2hex(hex, sizeof(hex), pub, sizeof(pub));
	proc_result r = proc_call(fx.admin, "client", "add", "--state", fx.state, hex, NULL);
	proc_result_free(&r);
	return r.status;
}

static void
case_log_accounts_are_the_enrolled(void)
{
	/* None enrolled yet: the configured figure, and the ready line says so. */
	REQUIRE(fixture_start(&fx, NULL, "ready on", "--threads", "1", NULL) == 0);
	CHECK(fixture_stop(&fx) == 0);
	char *said = proc_stderr(&fx.daemon);
	CHECK(strstr(said, "log accounts 1000000 (configured, none enrolled yet)") != NULL);
	free(said);

	for (int i = 0; i < 3; i++)
		REQUIRE(enrol_one() == 0);
	/* Three cannot meet the default k_r: refused, with the figures. */
	CHECK(fixture_start(&fx, NULL, "ready on", "--threads", "1", NULL) != 0);
	said = proc_stderr(&fx.daemon);
	CHECK(strstr(said, "3 accounts, enrolled") != NULL);
	CHECK(strstr(said, "k_r = 1000") != NULL);
	free(said);

	/* They meet k_r = 2, and the log counts them. */
	char *config = fixture_file(&fx, "k_r.ini", "[log]\nk_r = 2\n");
	REQUIRE(fixture_start(&fx, NULL, "ready on", "--threads", "1", "--config", config, NULL) ==
	        0);
	CHECK(fixture_stop(&fx) == 0);
	said = proc_stderr(&fx.daemon);
	CHECK(strstr(said, "log accounts 3 (enrolled)") != NULL);
	free(said);
	proc_result r = proc_call(fx.admin, "log", "export", "--state", fx.state, NULL);
	CHECK(r.status == 0 && strstr(r.out, "\"accounts\":3,") != NULL);
	proc_result_free(&r);
	free(config);

	/* Open enrolment keeps the configured figure. */
	REQUIRE(fixture_start(&fx, NULL, "ready on", "--threads", "1", "--enrolment", "open",
	                      NULL) == 0);
	CHECK(fixture_stop(&fx) == 0);
	said = proc_stderr(&fx.daemon);
	CHECK(strstr(said, "log accounts 1000000 (configured)") != NULL);
	free(said);
}

static const test_case cases[] = {
        {"--clock-offset is taken on an empty log", case_clock_offset_taken_on_an_empty_log},
        {"the largest request follows the batch cap", case_request_size_follows_the_batch_cap},
        {"--clock-offset is refused over a log with entries, unless forced",
         case_clock_offset_refused_over_a_log_with_entries},
        {"the log counts the enrolled clients", case_log_accounts_are_the_enrolled},
};

static void
setup(void)
{
	randombytes_buf(secret, sizeof(secret));
}

FIXTURE_MAIN(cases, .label = "limits", .import = "+1 312 555 0001\n", .setup = setup)

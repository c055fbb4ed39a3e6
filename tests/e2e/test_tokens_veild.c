/*
 * veild --auth tokens against a real veild: the test is its own client
 * and issuer. It makes an issuer state, links it into veild's state
 * (veil-admin tokens link), mints tokens for the linked challenge
 * (token_client_request, issuer_issue, token_client_finalize) and sends
 * INFO and LOOKUP_TOKEN in SEALED_ANONYMOUS frames. A token buys one
 * lookup, once, also after a restart; tokens of another challenge, an
 * unknown key, a retired key or another issuer are TOKEN_INVALID; a
 * lookup refused for its body spends nothing; a SEALED frame is
 * BAD_FRAME; the log export names no requester and says "auth":"tokens";
 * the state holds no token and no nonce.
 *
 * Arguments: veil-admin veild
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "clock.h"
#include "entry.h"
#include "envelope.h"
#include "fixture.h"
#include "harness.h"
#include "issuer.h"
#include "msg.h"
#include "transport.h"
#include "wire.h"

#define ORIGIN     "veil.test"
#define NAME       "issuer.test"
#define NE         32 /* ristretto255's Ne */
#define MAX_TOKENS 32

static const char *issuer_dir, *other_dir;
static transport_client *raw;
static proto_info_reply info;
static uint8_t account[ISSUER_CLIENT_KEY_SIZE];
/* Every token sent, for the byte scan of the state at the end. */
static token sent[MAX_TOKENS];
static size_t sent_count;

static const uint8_t request_id[PROTO_REQUEST_ID_SIZE] = {0x70, 1, 2,  3,  4,  5,  6,  7,
                                                          8,    9, 10, 11, 12, 13, 14, 15};

/*
 * A new issuer state in dir, named name. The one call of issuer_create()
 * in this file.
 */
static void
make_issuer(const char *dir, const char *name)
{
	veil_err err = issuer_create(dir, name);
	if (err != VEIL_OK) {
		fprintf(stderr, "test setup: issuer %s: %s\n", dir, veil_strerror(err));
		abort();
	}
}

static int
link_issuer(const char *origin)
{
	proc_result r = proc_call(fx.admin, "tokens", "link", "--state", fx.state, "--issuer",
	                          issuer_dir, origin != NULL ? "--origin" : NULL, origin, NULL);
	const int status = r.status;
	if (status != 0)
		printf("# tokens link: %s", r.err);
	proc_result_free(&r);
	return status;
}

static int
start_veild(void)
{
	return fixture_start(&fx, NULL, "auth tokens (issuer", "--threads", "1", "--auth", "tokens",
	                     NULL);
}

/* A token of the current key of the issuer in dir for the challenge of name and origin. */
static token
mint_for(const char *dir, const char *name, const char *origin)
{
	const token_challenge c = {.issuer_name = (const uint8_t *)name,
	                           .issuer_name_len = strlen(name),
	                           .origin_info = (const uint8_t *)origin,
	                           .origin_info_len = strlen(origin)};
	issuer *is = NULL;
	issuer_key_info keys[ISSUER_MAX_KEYS];
	size_t n = 0;
	uint8_t nonce[TOKEN_NONCE_SIZE], blind[TOKEN_SCALAR_SIZE];
	token_request req;
	token_response resp;
	uint32_t retry = 0;
	token t;
	buf challenge;
	buf_init(&challenge);
	const int64_t now = (int64_t)time(NULL);
	if (token_challenge_encode(&c, &challenge) != VEIL_OK ||
	    issuer_open(dir, NULL, &is) != VEIL_OK ||
	    clients_enrol(issuer_clients(is), account, CLIENTS_QUOTA_UNLIMITED, now, NULL) !=
	            VEIL_OK ||
	    issuer_keys(is, keys, &n) != VEIL_OK ||
	    token_client_request(keys[0].public_key, (const uint8_t *)buf_data(&challenge),
	                         buf_len(&challenge), NULL, NULL, nonce, blind, &req) != VEIL_OK ||
	    issuer_issue(is, account, now, &req, 1, &resp, &retry) != VEIL_OK ||
	    token_client_finalize(keys[0].public_key, (const uint8_t *)buf_data(&challenge),
	                          buf_len(&challenge), nonce, blind, &resp, &t) != VEIL_OK)
		abort();
	issuer_close(is);
	buf_free(&challenge);
	sodium_memzero(blind, sizeof(blind));
	return t;
}

static token
mint(void)
{
	return mint_for(issuer_dir, NAME, ORIGIN);
}

/* Seals inner anonymously, sends it, and opens the answer: the reply's
 * inner message into *msg (its bytes in opened), or *frame_error. */
static int
exchange_anonymous(const buf *inner, buf *opened, proto_msg *msg, uint16_t *frame_error)
{
	envelope_exchange ex;
	buf frame, reply;
	buf_init(&frame);
	buf_init(&reply);
	buf_reset(opened);
	*frame_error = 0;
	int ok = envelope_exchange_begin_anonymous(&ex, fx.server_key) == VEIL_OK &&
	         envelope_seal_anonymous(&ex, (uint64_t)time(NULL), NULL,
	                                 (const uint8_t *)buf_data(inner), buf_len(inner),
	                                 &frame) == VEIL_OK &&
	         transport_client_request(raw, (const uint8_t *)buf_data(&frame), buf_len(&frame),
	                                  &reply) == VEIL_OK &&
	         envelope_open_reply((const uint8_t *)buf_data(&reply), buf_len(&reply), &ex,
	                             opened, frame_error) == VEIL_OK;
	if (ok && *frame_error == 0)
		ok = proto_msg_decode((const uint8_t *)buf_data(opened), buf_len(opened), msg) ==
		     VEIL_OK;
	envelope_exchange_wipe(&ex);
	buf_free(&frame);
	buf_free(&reply);
	return ok;
}

/* A valid blinded element. */
static void
valid_element(uint8_t out[NE])
{
	oprf_ctx *ctx = NULL;
	uint8_t blind[32];
	if (oprf_ctx_new(oprf_suite_by_name("ristretto255-SHA512"), OPRF_MODE_OPRF, &ctx) !=
	            VEIL_OK ||
	    oprf_blind(ctx, (const uint8_t *)"tel:+13125550001", 16, NULL, blind, out) != VEIL_OK)
		abort();
	oprf_ctx_free(ctx);
}

/*
 * Sends a LOOKUP_TOKEN of t with count items (1 is a size class, 3 is
 * not); returns the reply's type, or its status for an ERROR, as
 * 0x100 + status; -1 when nothing sealed came back.
 */
static int
lookup_with(const token *t, uint16_t count)
{
	uint8_t element[NE];
	buf inner, opened;
	proto_msg msg;
	uint16_t frame_error;
	buf_init(&inner);
	buf_init(&opened);
	valid_element(element);
	if (sent_count < MAX_TOKENS)
		sent[sent_count++] = *t;
	const uint8_t bits = info.p_recommended;
	proto_encode_lookup_token_head(&inner, request_id, t, PROTO_SUITE_RISTRETTO255_SHA512,
	                               OPRF_MODE_OPRF, info.keys[0].key_id, bits, count);
	for (uint16_t i = 0; i < count; i++) {
		wire_put_u32(&inner, entry_prefix(0x12345678u * (i + 1), bits));
		wire_put_bytes(&inner, element, NE);
	}
	int result = -1;
	if (exchange_anonymous(&inner, &opened, &msg, &frame_error) && frame_error == 0)
		result = msg.type == PROTO_MSG_ERROR ? 0x100 + msg.u.error.code : (int)msg.type;
	buf_free(&inner);
	buf_free(&opened);
	return result;
}

static int
lookup(const token *t)
{
	return lookup_with(t, 1);
}

#define REPLY   PROTO_MSG_LOOKUP_REPLY
#define INVALID (0x100 + PROTO_STATUS_TOKEN_INVALID)
#define SPENT   (0x100 + PROTO_STATUS_TOKEN_SPENT)

static token first;   /* spent in the first case */
static token current; /* spent under the current key, checked again after a restart */

static void
case_info_in_an_anonymous_frame(void)
{
	buf inner, opened;
	proto_msg msg;
	uint16_t frame_error;
	buf_init(&inner);
	buf_init(&opened);
	proto_encode_info(&inner, request_id);
	CHECK(exchange_anonymous(&inner, &opened, &msg, &frame_error) && frame_error == 0 &&
	      msg.type == PROTO_MSG_INFO_REPLY);
	info = msg.u.info_reply;
	CHECK(info.key_count >= 1);
	buf_free(&inner);
	buf_free(&opened);
}

static void
case_a_token_buys_one_lookup(void)
{
	first = mint();
	CHECK(lookup(&first) == REPLY);
	CHECK(lookup(&first) == SPENT);
}

static void
case_a_refused_body_spends_nothing(void)
{
	const token t = mint();
	/* 3 items: not a size class, BAD_REQUEST before the token is looked at. */
	CHECK(lookup_with(&t, 3) == 0x100 + PROTO_STATUS_BAD_REQUEST);
	CHECK(lookup(&t) == REPLY);
}

static void
case_invalid_tokens(void)
{
	token wrong_origin = mint_for(issuer_dir, NAME, "another.origin");
	token foreign = mint_for(other_dir, NAME, ORIGIN);
	token unknown_key = mint();
	unknown_key.token_key_id[0] ^= 1;
	token forged = mint();
	forged.authenticator[5] ^= 1;
	CHECK(lookup(&wrong_origin) == INVALID);
	CHECK(lookup(&foreign) == INVALID);
	CHECK(lookup(&unknown_key) == INVALID);
	CHECK(lookup(&forged) == INVALID);
}

static void
case_a_retired_key_after_a_relink(void)
{
	const token old = mint();
	issuer_rotation rot;
	/* Rotated without grace: the old key's tokens are refused at once. */
	REQUIRE(issuer_rotate(issuer_dir, (int64_t)time(NULL), 0, &rot) == VEIL_OK);
	const token fresh = mint();
	REQUIRE(link_issuer(NULL) == 0);
	/* The running veild follows the relink within a second: a token of the
	 * new key is refused (and not spent) until then. A wait for a state. */
	int got = INVALID;
	const double deadline = clock_monotonic_seconds() + TEST_PATIENCE_SECONDS;
	while (got == INVALID && clock_monotonic_seconds() < deadline) {
		got = lookup(&fresh);
		if (got == INVALID)
			clock_sleep_seconds(0.05);
	}
	CHECK(got == REPLY);
	current = fresh;
	/* Then the old key, which left the copy, is unknown. */
	CHECK(lookup(&old) == INVALID);
}

static void
case_a_sealed_frame_is_bad_frame(void)
{
	uint8_t pk[32], sk[32];
	envelope_exchange ex;
	buf inner, frame, reply;
	proto_frame f;
	buf_init(&inner);
	buf_init(&frame);
	buf_init(&reply);
	crypto_box_keypair(pk, sk);
	proto_encode_info(&inner, request_id);
	REQUIRE(envelope_seal_request(pk, sk, fx.server_key, (const uint8_t *)buf_data(&inner),
	                              buf_len(&inner), &frame, &ex) == VEIL_OK);
	CHECK(transport_client_request(raw, (const uint8_t *)buf_data(&frame), buf_len(&frame),
	                               &reply) == VEIL_OK);
	CHECK(proto_frame_decode((const uint8_t *)buf_data(&reply), buf_len(&reply), &f) ==
	              VEIL_OK &&
	      f.type == PROTO_FRAME_ERROR && f.error_code == PROTO_STATUS_BAD_FRAME);
	envelope_exchange_wipe(&ex);
	sodium_memzero(sk, sizeof(sk));
	buf_free(&inner);
	buf_free(&frame);
	buf_free(&reply);
}

static void
case_spent_after_a_restart(void)
{
	CHECK(fixture_stop(&fx) == 0);
	char *said = proc_stderr(&fx.daemon);
	CHECK(strstr(said, "veild: tokens: 3 redeemed") != NULL);
	free(said);
	REQUIRE(start_veild() == 0);
	CHECK(lookup(&current) == SPENT);
	/* The first token's key left the copy with the relink: unknown now. */
	CHECK(lookup(&first) == INVALID);
}

static void
case_the_log_names_no_requester(void)
{
	CHECK(fixture_stop(&fx) == 0);
	proc_result r = proc_call(fx.admin, "log", "export", "--state", fx.state, NULL);
	CHECK(r.status == 0);
	CHECK(strstr(r.out, "\"auth\":\"tokens\"") != NULL);
	CHECK(strstr(r.out, "\"t_r\":0,") != NULL);
	size_t entries = 0, anonymous = 0;
	for (const char *line = strchr(r.out, '\n'); line != NULL && line[1] != '\0';
	     line = strchr(line + 1, '\n')) {
		entries++;
		anonymous += strncmp(strstr(line, "\"requester\":"), "\"requester\":0,", 14) == 0;
	}
	CHECK(entries == 3 && anonymous == entries);
	proc_result_free(&r);
	r = proc_call(fx.admin, "info", "--state", fx.state, NULL);
	CHECK(r.status == 0 && strstr(r.out, "\nauth tokens\ntoken-issuer " NAME
	                                     "\ntoken-origin " ORIGIN "\n") != NULL);
	proc_result_free(&r);
}

static void
case_the_state_holds_no_token(void)
{
	size_t found = 0;
	for (size_t i = 0; i < sent_count; i++) {
		uint8_t encoded[TOKEN_SIZE];
		token_encode(&sent[i], encoded);
		found += proc_tree_holds(fx.state, sent[i].nonce, TOKEN_NONCE_SIZE);
		found += proc_tree_holds(fx.state, sent[i].authenticator, TOKEN_AUTHENTICATOR_SIZE);
		found += proc_tree_holds(fx.state, encoded, sizeof(encoded));
	}
	CHECK(sent_count > 5 && found == 0);
}

static const test_case cases[] = {
        {"INFO in a SEALED_ANONYMOUS frame", case_info_in_an_anonymous_frame},
        {"a token buys one lookup", case_a_token_buys_one_lookup},
        {"a lookup refused for its body spends nothing", case_a_refused_body_spends_nothing},
        {"tokens of another challenge, key or issuer are invalid", case_invalid_tokens},
        {"a retired key after a relink", case_a_retired_key_after_a_relink},
        {"a SEALED frame is BAD_FRAME", case_a_sealed_frame_is_bad_frame},
        {"spent after a restart", case_spent_after_a_restart},
        {"the log names no requester", case_the_log_names_no_requester},
        {"the state holds no token", case_the_state_holds_no_token},
};

static void
setup(void)
{
	issuer_dir = proc_path(fx.dir, "issuer");
	other_dir = proc_path(fx.dir, "other-issuer");
	/* proc_path's paths last for a case: keep copies for the program. */
	issuer_dir = test_keep(strdup(issuer_dir));
	other_dir = test_keep(strdup(other_dir));
	make_issuer(issuer_dir, NAME);
	make_issuer(other_dir, NAME);
	randombytes_buf(account, sizeof(account));
	/* Not linked yet: refused, with what to do. */
	if (start_veild() == 0)
		abort();
	char *said = proc_stderr(&fx.daemon);
	if (strstr(said, "veil-admin tokens link") == NULL)
		abort();
	free(said);
	if (link_issuer(ORIGIN) != 0 || start_veild() != 0 ||
	    transport_client_open(fx.url, 1000 * (int)TEST_PATIENCE_SECONDS, PROTO_MAX_REPLY_SIZE,
	                          &raw) != VEIL_OK)
		abort();
}

static void
teardown(void)
{
	transport_client_close(raw);
}

FIXTURE_MAIN(cases, .label = "tokens", .numbered = "+1 312 555 ", .end = 50, .setup = setup,
             .teardown = teardown)

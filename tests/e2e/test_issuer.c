/*
 * veil-issuer end to end: a real veil-issuer on an ipc socket over an
 * issuer state made with veil-admin issuer create, accounts enrolled with
 * veil-admin client add, and a client written here from the wire's parts
 * (envelope.h, msg.h, token.h): it seals TOKEN_ISSUE itself under the
 * issuer-key and token-key that `veil-admin issuer info` prints, and
 * finalizes the tokens. An enrolled account gets tokens that verify
 * under the issuer's key; every refusal of PROTOCOL.md's TOKEN_ISSUE
 * table issues nothing and charges nothing; a replayed frame is refused
 * and charged once; anonymous and garbage frames are refused and the
 * daemon goes on serving; after a rotation and a restart the old key is
 * KEY_UNKNOWN; nothing the daemon printed holds a client key. Then the
 * command line: --help, --version, usage errors.
 *
 * Arguments: veil-admin veil-issuer
 */
#define _GNU_SOURCE /* kill */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "clock.h"
#include "envelope.h"
#include "harness.h"
#include "issuer.h"
#include "msg.h"
#include "proc.h"
#include "token.h"
#include "transport.h"

#define ISSUER_NAME "issuer.example.org"
#define ORIGIN      "veil.example.org"
#define RATION      10 /* tokens a day, and the bucket */
#define BATCH_CAP   8
#define MAX_TOKENS  BATCH_CAP

static const char *admin_path, *issuer_path;
static const char *idir;
static char *url;

/* What clients pin, from veil-admin issuer info. */
static uint8_t pinned_issuer_key[ISSUER_TRANSPORT_KEY_SIZE];
static uint8_t token_pk[TOKEN_ELEMENT_SIZE];

/* The TokenChallenge the tokens answer. */
static uint8_t challenge[64];
static size_t challenge_len;

/* A client: its X25519 key pair and its hex, which the daemon must never print. */
typedef struct client {
	uint8_t sk[32], pk[32];
	char hex[65];
} client;

static client enrolled, stranger, replayer, worker_a, late, rotated;

/* The running veil-issuer and what it printed over all its runs. */
static proc_child daemon_child;
static int daemon_running;
static char *printed;
static uint64_t tokens_issued_total; /* from the shutdown summaries */

/* ------------------------------------------------------------------ */
/* The daemon */

static char *
read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = calloc(1, 1);
	if (f == NULL || text == NULL) {
		if (f != NULL)
			fclose(f);
		return text;
	}
	size_t len = 0;
	char chunk[4096];
	for (size_t n; (n = fread(chunk, 1, sizeof(chunk), f)) > 0;) {
		char *more = realloc(text, len + n + 1);
		if (more == NULL)
			abort();
		text = more;
		memcpy(text + len, chunk, n);
		len += n;
		text[len] = '\0';
	}
	fclose(f);
	return text;
}

static int
ready(void *arg)
{
	(void)arg;
	char *text = read_text(daemon_child.err_path);
	const int found = strstr(text, "veil-issuer: ready") != NULL;
	free(text);
	return found;
}

/* Keeps what the daemon printed, on both streams. */
static void
keep_printed(const char *text)
{
	const size_t old = printed != NULL ? strlen(printed) : 0;
	char *more = realloc(printed, old + strlen(text) + 1);
	if (more == NULL)
		abort();
	memcpy(more + old, text, strlen(text) + 1);
	printed = more;
}

/* Starts veil-issuer on idir with the batch cap and the ration's config; 0 when ready. */
static int
start_issuer(void)
{
	const char *config = proc_path(test_dir, "issuer.ini");
	static const char text[] = "[issuer]\nbatch_cap = 8\n[clients]\ncapacity = 10\n"
	                           "refill_per_day = 10\n";
	proc_write_file(config, text, sizeof(text) - 1);
	const char *args[] = {"--state", idir,       "--listen", url, "--threads",
	                      "2",       "--config", config,     NULL};
	proc_spawn(&daemon_child, issuer_path, args, NULL, -1);
	daemon_running = 1;
	return test_wait_until(ready, NULL) ? 0 : -1;
}

/* SIGTERM; returns the exit status and adds the tokens its summary counts. */
static int
stop_issuer(void)
{
	kill(daemon_child.pid, SIGTERM);
	proc_result r = proc_finish(&daemon_child);
	daemon_running = 0;
	keep_printed(r.out);
	keep_printed(r.err);
	const char *at = strstr(r.err, " requests, ");
	if (at != NULL)
		tokens_issued_total += strtoull(at + strlen(" requests, "), NULL, 10);
	CHECK(at != NULL);
	const int status = r.status;
	proc_result_free(&r);
	return status;
}

/* ------------------------------------------------------------------ */
/* The client side */

static void
client_make(client *c)
{
	randombytes_buf(c->sk, sizeof(c->sk));
	if (crypto_scalarmult_base(c->pk, c->sk) != 0)
		abort();
	sodium_bin2hex(c->hex, sizeof(c->hex), c->pk, sizeof(c->pk));
}

static int
admin_enrol(const client *c)
{
	proc_result r = proc_call(admin_path, "client", "add", "--state", idir, c->hex, NULL);
	const int status = r.status;
	proc_result_free(&r);
	return status;
}

/* Reads the pins from veil-admin issuer info; 0 on success. */
static int
read_info(void)
{
	proc_result r = proc_call(admin_path, "issuer", "info", "--state", idir, NULL);
	char key_hex[65] = "", name[300] = "", pk_hex[99] = "";
	unsigned id = 0;
	int ok = r.status == 0 &&
	         sscanf(r.out, "issuer-key %64s\nissuer-name %299s\ntoken-key %u %98s", key_hex,
	                name, &id, pk_hex) == 4;
	ok = ok && strcmp(name, ISSUER_NAME) == 0 &&
	     test_unhex(key_hex, pinned_issuer_key, sizeof(pinned_issuer_key)) == 0 &&
	     test_unhex(pk_hex, token_pk, sizeof(token_pk)) == 0;
	if (!ok)
		printf("# issuer info said: %s%s\n", r.out, r.err);
	proc_result_free(&r);
	return ok ? 0 : -1;
}

/* What the issuer answered one request. */
typedef struct answer {
	int transport_ok;
	uint16_t frame_error; /* an ERROR frame's code, else 0 */
	uint16_t status;      /* an inner ERROR's code, else 0 */
	uint32_t retry_after;
	size_t tokens; /* finalized tokens that verify under the pinned key */
	token issued[MAX_TOKENS];
} answer;

/* Sends frame (len bytes) and returns the raw reply in reply. */
static veil_err
send_raw(const uint8_t *frame, size_t len, buf *reply)
{
	transport_client *t = NULL;
	if (transport_client_open(url, 1000 * (int)TEST_PATIENCE_SECONDS, PROTO_MAX_REPLY_SIZE,
	                          &t) != VEIL_OK)
		abort();
	veil_err err = transport_client_request(t, frame, len, reply);
	transport_client_close(t);
	return err;
}

/* A pending batch: the requests and the secrets that finalize them. */
typedef struct batch {
	size_t count;
	uint8_t nonce[MAX_TOKENS][TOKEN_NONCE_SIZE];
	uint8_t blind[MAX_TOKENS][TOKEN_SCALAR_SIZE];
	token_request req[MAX_TOKENS];
} batch;

static void
batch_make(batch *b, size_t count)
{
	memset(b, 0, sizeof(*b));
	b->count = count;
	for (size_t i = 0; i < count; i++)
		if (token_client_request(token_pk, challenge, challenge_len, NULL, NULL,
		                         b->nonce[i], b->blind[i], &b->req[i]) != VEIL_OK)
			abort();
}

/*
 * Seals inner from c to the issuer, sends it (twice when twice), and
 * reads the (last) reply into *a, finalizing b's tokens when it is a
 * TOKEN_ISSUE_REPLY.
 */
static void
exchange(const client *c, const buf *inner, const batch *b, int twice, answer *a)
{
	envelope_exchange ex;
	buf frame, reply, opened;
	memset(a, 0, sizeof(*a));
	buf_init(&frame);
	buf_init(&reply);
	buf_init(&opened);
	if (envelope_seal_request(c->pk, c->sk, pinned_issuer_key, (const uint8_t *)buf_data(inner),
	                          buf_len(inner), &frame, &ex) != VEIL_OK)
		abort();
	for (int i = 0; i <= twice; i++) {
		buf_reset(&reply);
		a->transport_ok = send_raw((const uint8_t *)buf_data(&frame), buf_len(&frame),
		                           &reply) == VEIL_OK;
	}
	proto_msg msg;
	if (a->transport_ok &&
	    envelope_open_reply((const uint8_t *)buf_data(&reply), buf_len(&reply), &ex, &opened,
	                        &a->frame_error) == VEIL_OK &&
	    a->frame_error == 0 &&
	    proto_msg_decode((const uint8_t *)buf_data(&opened), buf_len(&opened), &msg) ==
	            VEIL_OK) {
		if (msg.type == PROTO_MSG_ERROR) {
			a->status = msg.u.error.code;
			a->retry_after = msg.u.error.retry_after;
		} else if (msg.type == PROTO_MSG_TOKEN_ISSUE_REPLY && b != NULL &&
		           msg.u.token_issue_reply.count == b->count) {
			for (size_t i = 0; i < b->count; i++) {
				token_response resp;
				if (token_response_decode(msg.u.token_issue_reply.responses +
				                                  i * TOKEN_RESPONSE_SIZE,
				                          TOKEN_RESPONSE_SIZE, &resp) == VEIL_OK &&
				    token_client_finalize(token_pk, challenge, challenge_len,
				                          b->nonce[i], b->blind[i], &resp,
				                          &a->issued[a->tokens]) == VEIL_OK)
					a->tokens++;
			}
		}
	}
	envelope_exchange_wipe(&ex);
	buf_free(&frame);
	buf_free(&reply);
	buf_free(&opened);
}

/* TOKEN_ISSUE of b from c; sent twice when twice. */
static void
ask(const client *c, const batch *b, int twice, answer *a)
{
	uint8_t id[PROTO_REQUEST_ID_SIZE];
	buf inner;
	buf_init(&inner);
	randombytes_buf(id, sizeof(id));
	proto_encode_token_issue(&inner, id, (uint16_t)b->count, b->req);
	exchange(c, &inner, b, twice, a);
	buf_free(&inner);
}

/* count fresh requests from c under the pinned key. */
static void
ask_for(const client *c, size_t count, answer *a)
{
	batch b;
	batch_make(&b, count);
	ask(c, &b, 0, a);
	sodium_memzero(&b, sizeof(b));
}

/* How many of a's tokens verify under the issuer's key, read from its state. */
static size_t
verifying(const answer *a)
{
	issuer *keys = NULL;
	size_t valid = 0;
	if (issuer_open_keys(idir, &keys) != VEIL_OK)
		return 0;
	for (size_t i = 0; i < a->tokens; i++) {
		const oprf_key *key =
		        issuer_key(keys, a->issued[i].token_key_id, (int64_t)time(NULL));
		int ok = 0;
		if (key != NULL && token_verify(key, &a->issued[i], &ok) == VEIL_OK && ok == 1)
			valid++;
	}
	issuer_close(keys);
	return valid;
}

/* ------------------------------------------------------------------ */
/* Cases */

static void
case_enrolled_account_gets_tokens_that_verify(void)
{
	answer a;
	ask_for(&enrolled, 3, &a);
	CHECK(a.transport_ok && a.frame_error == 0 && a.status == 0);
	CHECK(a.tokens == 3);
	CHECK(verifying(&a) == 3);
	/* They answer the origin's challenge, under the pinned key. */
	uint8_t digest[TOKEN_DIGEST_SIZE], key_id[TOKEN_KEY_ID_SIZE];
	token_challenge_digest(challenge, challenge_len, digest);
	token_key_id(token_pk, key_id);
	CHECK(memcmp(a.issued[0].challenge_digest, digest, sizeof(digest)) == 0);
	CHECK(memcmp(a.issued[0].token_key_id, key_id, sizeof(key_id)) == 0);
	/* An altered one does not verify. */
	a.issued[1].authenticator[0] ^= 1;
	CHECK(verifying(&a) == 2);
}

static void
case_unenrolled_is_unauthorized(void)
{
	answer a;
	ask_for(&stranger, 1, &a);
	CHECK(a.status == PROTO_STATUS_UNAUTHORIZED);
	CHECK(a.retry_after == 0 && a.tokens == 0);
}

static void
case_past_the_ration_is_rate_limited(void)
{
	answer a;
	/* 3 of the 10 went to the first case: 7 more fit, in one batch. */
	ask_for(&enrolled, 7, &a);
	CHECK(a.status == 0 && a.tokens == 7);
	ask_for(&enrolled, 1, &a);
	CHECK(a.status == PROTO_STATUS_RATE_LIMITED);
	CHECK(a.retry_after > 0 && a.retry_after <= 86400);
	CHECK(a.tokens == 0);
}

static void
case_unknown_key_bad_element_too_many(void)
{
	answer a;
	batch b;
	REQUIRE(admin_enrol(&worker_a) == 0);
	/* Another truncated key id than the current key's. */
	batch_make(&b, 2);
	b.req[1].truncated_token_key_id ^= 0x01;
	ask(&worker_a, &b, 0, &a);
	CHECK(a.status == PROTO_STATUS_KEY_UNKNOWN && a.tokens == 0);
	/* A blinded_msg that is no point. */
	batch_make(&b, 2);
	memset(b.req[0].blinded_msg, 0xff, TOKEN_ELEMENT_SIZE);
	ask(&worker_a, &b, 0, &a);
	CHECK(a.status == PROTO_STATUS_BAD_ELEMENT && a.tokens == 0);
	/* Above the batch cap of 8. */
	batch_make(&b, BATCH_CAP); /* 8 fit the cap, 9 do not: */
	{
		uint8_t id[PROTO_REQUEST_ID_SIZE] = {0};
		buf inner;
		buf_init(&inner);
		token_request nine[BATCH_CAP + 1];
		memcpy(nine, b.req, sizeof(b.req));
		nine[BATCH_CAP] = b.req[0];
		proto_encode_token_issue(&inner, id, BATCH_CAP + 1, nine);
		exchange(&worker_a, &inner, NULL, 0, &a);
		CHECK(a.status == PROTO_STATUS_BATCH_TOO_LARGE);
		/* Above the codec's 1024: the count alone, no requests. */
		buf_reset(&inner);
		static const uint8_t head[] = {PROTO_MSG_TOKEN_ISSUE,
		                               0,
		                               0,
		                               0,
		                               0,
		                               0,
		                               0,
		                               0,
		                               0,
		                               0,
		                               0,
		                               0,
		                               0,
		                               0,
		                               0,
		                               0,
		                               0,
		                               0x07,
		                               0xd0};
		buf_append(&inner, head, sizeof(head));
		exchange(&worker_a, &inner, NULL, 0, &a);
		CHECK(a.status == PROTO_STATUS_BATCH_TOO_LARGE);
		buf_free(&inner);
	}
	/* None of it was charged: the whole ration is still there. */
	ask_for(&worker_a, BATCH_CAP, &a);
	CHECK(a.status == 0 && a.tokens == BATCH_CAP);
	ask_for(&worker_a, RATION - BATCH_CAP, &a);
	CHECK(a.status == 0 && a.tokens == RATION - BATCH_CAP);
}

static void
case_replayed_frame_refused_and_charged_once(void)
{
	answer a;
	batch b;
	REQUIRE(admin_enrol(&replayer) == 0);
	batch_make(&b, 6);
	/* The same sealed frame twice: the second is REPLAYED. */
	ask(&replayer, &b, 1, &a);
	CHECK(a.status == PROTO_STATUS_REPLAYED && a.tokens == 0);
	/* Charged once: 4 of the 10 are left, not none. */
	ask_for(&replayer, 4, &a);
	CHECK(a.status == 0 && a.tokens == 4);
	ask_for(&replayer, 1, &a);
	CHECK(a.status == PROTO_STATUS_RATE_LIMITED);
}

/* The ERROR frame's code of the reply to frame, or 0 when it is none. */
static uint16_t
error_frame_of(const uint8_t *frame, size_t len)
{
	buf reply;
	proto_frame f;
	uint16_t code = 0;
	buf_init(&reply);
	if (send_raw(frame, len, &reply) == VEIL_OK &&
	    proto_frame_decode((const uint8_t *)buf_data(&reply), buf_len(&reply), &f) == VEIL_OK &&
	    f.type == PROTO_FRAME_ERROR)
		code = f.error_code;
	buf_free(&reply);
	return code;
}

static void
case_anonymous_and_garbage_frames_refused_serving_goes_on(void)
{
	uint8_t junk[300];
	buf frame, inner;
	envelope_exchange ex;
	uint8_t id[PROTO_REQUEST_ID_SIZE] = {1};
	buf_init(&frame);
	buf_init(&inner);

	/* A well-made SEALED_ANONYMOUS TOKEN_ISSUE: BAD_FRAME, unopened. */
	batch b;
	batch_make(&b, 1);
	proto_encode_token_issue(&inner, id, 1, b.req);
	REQUIRE(envelope_exchange_begin_anonymous(&ex, pinned_issuer_key) == VEIL_OK);
	REQUIRE(envelope_seal_anonymous(&ex, (uint64_t)time(NULL), NULL,
	                                (const uint8_t *)buf_data(&inner), buf_len(&inner),
	                                &frame) == VEIL_OK);
	envelope_exchange_wipe(&ex);
	CHECK(error_frame_of((const uint8_t *)buf_data(&frame), buf_len(&frame)) ==
	      PROTO_STATUS_BAD_FRAME);

	/* A SEALED header over random bytes: the box does not open. */
	memcpy(junk, PROTO_MAGIC, 4);
	junk[4] = PROTO_VERSION;
	junk[5] = PROTO_FRAME_SEALED;
	randombytes_buf(junk + 6, sizeof(junk) - 6);
	CHECK(error_frame_of(junk, sizeof(junk)) == PROTO_STATUS_BAD_ENVELOPE);
	/* Too short for a SEALED body; an older version: BAD_FRAME. */
	CHECK(error_frame_of(junk, 20) == PROTO_STATUS_BAD_FRAME);
	junk[4] = PROTO_VERSION - 1;
	CHECK(error_frame_of(junk, sizeof(junk)) == PROTO_STATUS_BAD_FRAME);
	/* No frame at all: dropped, so a short wait sees no answer. */
	randombytes_buf(junk, sizeof(junk));
	junk[0] = 'X';
	{
		transport_client *t = NULL;
		buf reply;
		buf_init(&reply);
		REQUIRE(transport_client_open(url, 300, PROTO_MAX_REPLY_SIZE, &t) == VEIL_OK);
		CHECK(transport_client_request(t, junk, sizeof(junk), &reply) == VEIL_ERR_TIMEOUT);
		transport_client_close(t);
		buf_free(&reply);
	}

	/* Sealed, but no TOKEN_ISSUE: INFO and LOOKUP_TOKEN are UNSUPPORTED,
	 * bytes that do not decode BAD_REQUEST. */
	answer a;
	buf_reset(&inner);
	proto_encode_info(&inner, id);
	exchange(&enrolled, &inner, NULL, 0, &a);
	CHECK(a.status == PROTO_STATUS_UNSUPPORTED);
	buf_reset(&inner);
	buf_append(&inner, "\x12garbage", 8);
	exchange(&enrolled, &inner, NULL, 0, &a);
	CHECK(a.status == PROTO_STATUS_BAD_REQUEST);
	/* A TokenRequest of another type. */
	uint8_t other_type[1 + PROTO_REQUEST_ID_SIZE + 2 + TOKEN_REQUEST_SIZE];
	buf_reset(&inner);
	proto_encode_token_issue(&inner, id, 1, b.req);
	REQUIRE(buf_len(&inner) == sizeof(other_type));
	memcpy(other_type, buf_data(&inner), sizeof(other_type));
	other_type[1 + PROTO_REQUEST_ID_SIZE + 2 + 1] = 0x02;
	buf_reset(&inner);
	buf_append(&inner, other_type, sizeof(other_type));
	exchange(&enrolled, &inner, NULL, 0, &a);
	CHECK(a.status == PROTO_STATUS_UNSUPPORTED);

	/* Still serving: a fresh account gets its tokens. */
	REQUIRE(admin_enrol(&late) == 0);
	ask_for(&late, 2, &a);
	CHECK(a.status == 0 && a.tokens == 2 && verifying(&a) == 2);
	buf_free(&frame);
	buf_free(&inner);
}

static void
case_after_rotation_the_old_key_is_unknown(void)
{
	answer a;
	REQUIRE(admin_enrol(&rotated) == 0);
	uint8_t old_pk[TOKEN_ELEMENT_SIZE];
	memcpy(old_pk, token_pk, sizeof(old_pk));
	proc_result r = proc_call(admin_path, "issuer", "rotate", "--state", idir, "--grace-hours",
	                          "0", NULL);
	CHECK(r.status == 0 && strstr(r.out, "current key 2") != NULL);
	proc_result_free(&r);
	r = proc_call(admin_path, "issuer", "retire", "--state", idir, NULL);
	CHECK(r.status == 0 && strstr(r.out, "retired key 1") != NULL);
	proc_result_free(&r);
	CHECK(stop_issuer() == 0);
	REQUIRE(start_issuer() == 0);
	/* Under the retired key: KEY_UNKNOWN, nothing charged. */
	ask_for(&rotated, 2, &a);
	CHECK(a.status == PROTO_STATUS_KEY_UNKNOWN && a.tokens == 0);
	/* Pinned again: the new key issues, the whole ration. */
	REQUIRE(read_info() == 0);
	CHECK(memcmp(old_pk, token_pk, sizeof(old_pk)) != 0);
	ask_for(&rotated, BATCH_CAP, &a);
	CHECK(a.status == 0 && a.tokens == BATCH_CAP && verifying(&a) == BATCH_CAP);
}

static void
case_output_holds_no_client_key(void)
{
	CHECK(stop_issuer() == 0);
	/* 3 + 7 + 8 + 2 + 6 (the replay's first) + 4 + 2, then 8: what the
	 * cases were given, and nothing else. */
	CHECK(tokens_issued_total == 3 + 7 + 8 + 2 + 6 + 4 + 2 + 8);
	if (tokens_issued_total != 3 + 7 + 8 + 2 + 6 + 4 + 2 + 8)
		printf("# veil-issuer issued %llu tokens\n",
		       (unsigned long long)tokens_issued_total);
	const client *all[] = {&enrolled, &stranger, &replayer, &worker_a, &late, &rotated};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		char prefix[17];
		memcpy(prefix, all[i]->hex, 16);
		prefix[16] = '\0';
		CHECK(strstr(printed, prefix) == NULL);
	}
	CHECK(strstr(printed, "veil-issuer: ready") != NULL);
	CHECK(strstr(printed, "veil-issuer: stopped") != NULL);
}

static const proc_expect runs[] = {
        {"--help", {"--help"}, 0, "usage: veil-issuer", NULL},
        {"--version", {"--version"}, 0, "veil-issuer ", NULL},
        {"no arguments", {NULL}, 2, NULL, "--state and --listen are required"},
        {"unknown option",
         {"--state", "DIR", "--listen", "ipc:///x", "--bogus"},
         2,
         NULL,
         "unknown option"},
        {"bad enrolment",
         {"--state", "DIR", "--listen", "ipc:///x", "--enrolment", "some"},
         2,
         NULL,
         "--enrolment takes required or open"},
        {"batch cap too large",
         {"--state", "DIR", "--listen", "ipc:///x", "--batch-cap", "1025"},
         2,
         NULL,
         NULL},
        {"not an issuer state",
         {"--state", "DIR", "--listen", "ipc:///x"},
         1,
         NULL,
         "veil-admin issuer create"},
};

static void
case_command_line(void)
{
	proc_check_runs(issuer_path, runs, TEST_COUNT(runs), test_dir);
	const char *config = proc_path(test_dir, "bad.ini");
	static const char text[] = "[issuer]\nno_such_key = 1\n";
	proc_write_file(config, text, sizeof(text) - 1);
	proc_result r = proc_call(issuer_path, "--config", config, NULL);
	CHECK(r.status == 2 && strstr(r.err, "unknown key 'no_such_key'") != NULL);
	proc_result_free(&r);
	r = proc_call(admin_path, "issuer", "create", "--state", proc_path(test_dir, "x"), NULL);
	CHECK(r.status == 2 && strstr(r.err, "--name NAME is required") != NULL);
	proc_result_free(&r);
	r = proc_call(admin_path, "issuer", "create", "--state", idir, "--name", ISSUER_NAME, NULL);
	CHECK(r.status == 1 && strstr(r.err, "nothing was changed") != NULL);
	proc_result_free(&r);
	r = proc_call(admin_path, "issuer", "rotate", "--state", idir, "--grace-hours", "87601",
	              NULL);
	CHECK(r.status == 2);
	proc_result_free(&r);
}

static const test_case cases[] = {
        {"an enrolled account gets tokens that verify",
         case_enrolled_account_gets_tokens_that_verify},
        {"an unenrolled key is UNAUTHORIZED", case_unenrolled_is_unauthorized},
        {"past the ration: RATE_LIMITED with the wait, nothing issued",
         case_past_the_ration_is_rate_limited},
        {"KEY_UNKNOWN, BAD_ELEMENT, BATCH_TOO_LARGE: nothing charged",
         case_unknown_key_bad_element_too_many},
        {"a replayed frame is REPLAYED and charged once",
         case_replayed_frame_refused_and_charged_once},
        {"anonymous and garbage frames refused; serving goes on",
         case_anonymous_and_garbage_frames_refused_serving_goes_on},
        {"after a rotation and restart the old key is KEY_UNKNOWN",
         case_after_rotation_the_old_key_is_unknown},
        {"what the daemon printed holds no client key", case_output_holds_no_client_key},
        {"the command line: help, version, usage errors", case_command_line},
};

static void
setup(void)
{
	admin_path = test_argv[0];
	issuer_path = test_argv[1];
	idir = test_keep(proc_join(test_dir, "issuer"));
	char *sock = proc_join(test_dir, "issuer.sock");
	url = malloc(strlen(sock) + 8);
	if (url == NULL)
		abort();
	sprintf(url, "ipc://%s", sock);
	free(sock);

	const token_challenge c = {(const uint8_t *)ISSUER_NAME, strlen(ISSUER_NAME), NULL, 0,
	                           (const uint8_t *)ORIGIN,      strlen(ORIGIN)};
	buf encoded;
	buf_init(&encoded);
	if (token_challenge_encode(&c, &encoded) != VEIL_OK ||
	    buf_len(&encoded) > sizeof(challenge))
		abort();
	challenge_len = buf_len(&encoded);
	memcpy(challenge, buf_data(&encoded), challenge_len);
	buf_free(&encoded);

	proc_result r = proc_call(admin_path, "issuer", "create", "--state", idir, "--name",
	                          ISSUER_NAME, NULL);
	if (r.status != 0) {
		printf("# issuer create: %s\n", r.err);
		abort();
	}
	proc_result_free(&r);
	if (read_info() != 0)
		abort();
	client_make(&enrolled);
	client_make(&stranger);
	client_make(&replayer);
	client_make(&worker_a);
	client_make(&late);
	client_make(&rotated);
	if (admin_enrol(&enrolled) != 0 || start_issuer() != 0)
		abort();
}

static int
teardown(void)
{
	if (daemon_running)
		(void)stop_issuer();
	free(printed);
	free(url);
	return 0;
}

TEST_MAIN_WITH(cases, .usage = "VEIL-ADMIN VEIL-ISSUER", .arguments = 2, .temp_dir = "issuer",
               .setup = setup, .teardown = teardown)

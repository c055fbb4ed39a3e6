/*
 * The malformed-frame battery: a live veild gets every kind of bad input
 * a peer can send (bytes that are no frame, bad envelopes, undecodable or
 * out-of-range requests, invalid group elements, oversized batches,
 * unknown suites, a suite other than the one served, modes and key ids). Each gets its ERROR code,
 * or is dropped when it is not a frame at all; afterwards the server still answers a correct lookup
 * exactly, and its registry file is unchanged. The registry here serves VOPRF (keygen
 * --verifiable), so the final lookup also checks the server's proof.
 *
 * Arguments: veil-admin veild
 */
#define _GNU_SOURCE /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "e2e_client.h"
#include "entry.h"
#include "envelope.h"
#include "fixture.h"
#include "harness.h"
#include "msg.h"
#include "transport.h"
#include "veil_client.h"
#include "wire.h"

#define BATCH_CAP 16
#define NE        32

static char *url; /* veild listens on tcp */
static uint8_t client_pk[32], client_sk[32];
static proto_info_reply info;
static uint8_t registry_digest[32];
/* Two raw connections: one that waits for answers as long as a slow
 * machine needs, and one that gives up soon, for what must get none. */
static transport_client *raw, *raw_unanswered;
static int64_t started; /* when the battery began, unix seconds */
/* The keys of the request sealed last: the battery has one request in
 * flight at a time, and its reply opens with them. */
static envelope_exchange last_exchange;

/* ---- plumbing ---- */

static void
digest_file(const char *path, uint8_t out[32])
{
	size_t len;
	char *data = test_read_file(path, &len);
	crypto_hash_sha256(out, (const uint8_t *)data, len);
	free(data);
}

static char *
registry_file(void)
{
	return proc_join(fx.state, "registry/data.mdb");
}

/* Sends bytes as they are; the reply (if any) is appended to reply. */
static veil_err
send_raw(const uint8_t *bytes, size_t len, buf *reply)
{
	buf_reset(reply);
	return transport_client_request(raw, bytes, len, reply);
}

static void
seal(const buf *inner, buf *frame)
{
	buf_reset(frame);
	if (envelope_seal_request(client_pk, client_sk, fx.server_key,
	                          (const uint8_t *)buf_data(inner), buf_len(inner), frame,
	                          &last_exchange) != VEIL_OK)
		abort();
}

/* Opens a sealed reply and decodes it; 0 on success. */
static int
open_reply(const buf *reply, buf *inner, proto_msg *msg)
{
	uint16_t frame_error;
	buf_reset(inner);
	if (envelope_open_reply((const uint8_t *)buf_data(reply), buf_len(reply), &last_exchange,
	                        inner, &frame_error) != VEIL_OK ||
	    frame_error != 0)
		return -1;
	return proto_msg_decode((const uint8_t *)buf_data(inner), buf_len(inner), msg) == VEIL_OK
	               ? 0
	               : -1;
}

static const uint8_t request_id[PROTO_REQUEST_ID_SIZE] = {0xee, 1, 2,  3,  4,  5,  6,  7,
                                                          8,    9, 10, 11, 12, 13, 14, 15};

/* One request and its answer. */
typedef struct exchange {
	buf inner;  /* the message */
	buf frame;  /* as sent */
	buf reply;  /* as received */
	buf opened; /* the reply, opened */
	proto_msg msg;
} exchange;

/* Applies fn to each of x's buffers: init and free cannot miss one. */
static void
exchange_each_buf(exchange *x, void (*fn)(buf *b))
{
	buf *const bufs[] = {&x->inner, &x->frame, &x->reply, &x->opened};
	for (size_t i = 0; i < TEST_COUNT(bufs); i++)
		fn(bufs[i]);
}

static void
exchange_init(exchange *x)
{
	exchange_each_buf(x, buf_init);
}

static void
exchange_free(exchange *x)
{
	exchange_each_buf(x, buf_free);
}

/* Sends x->frame; returns 0 when a sealed reply came back and opened into x->msg. */
static int
exchange_send(exchange *x)
{
	if (send_raw((const uint8_t *)buf_data(&x->frame), buf_len(&x->frame), &x->reply) !=
	    VEIL_OK)
		return -1;
	return open_reply(&x->reply, &x->opened, &x->msg);
}

static void
fetch_info(void)
{
	exchange x;
	exchange_init(&x);
	proto_encode_info(&x.inner, request_id);
	seal(&x.inner, &x.frame);
	if (exchange_send(&x) != 0 || x.msg.type != PROTO_MSG_INFO_REPLY)
		abort();
	info = x.msg.u.info_reply;
	exchange_free(&x);
}

/* A valid blinded element for some handle. */
static void
valid_element(uint8_t out[NE])
{
	const oprf_suite *suite = oprf_suite_by_name("ristretto255-SHA512");
	oprf_ctx *ctx = NULL;
	uint8_t blind[32];
	if (oprf_ctx_new(suite, OPRF_MODE_VOPRF, &ctx) != VEIL_OK ||
	    oprf_blind(ctx, (const uint8_t *)"tel:+14155550100", 16, NULL, blind, out) != VEIL_OK)
		abort();
	oprf_ctx_free(ctx);
}

/* A LOOKUP of count valid items, with the fields below overridable. */
typedef struct lookup_spec {
	uint8_t suite, mode, bits;
	uint32_t key_id;
	uint16_t count;
	uint32_t low_bits;      /* ORed into item 0's prefix */
	int bad_element;        /* index of an item whose element is replaced, or -1 */
	const uint8_t *element; /* the replacement */
} lookup_spec;

static lookup_spec
lookup_default(void)
{
	lookup_spec s = {.suite = PROTO_SUITE_RISTRETTO255_SHA512,
	                 .mode = OPRF_MODE_VOPRF,
	                 .bits = info.p_recommended,
	                 .key_id = info.keys[0].key_id,
	                 .count = 4,
	                 .bad_element = -1};
	return s;
}

static void
encode_lookup(const lookup_spec *s, buf *inner)
{
	uint8_t element[NE];
	valid_element(element);
	buf_reset(inner);
	/* proto_encode_lookup() refuses suites it does not know; the head writes any. */
	proto_encode_lookup_head(inner, request_id, s->suite, s->mode, s->key_id, s->bits,
	                         s->count);
	for (size_t i = 0; i < s->count; i++) {
		uint32_t prefix = entry_prefix((uint32_t)(i * 0x9e3779b9u), s->bits);
		if (i == 0)
			prefix |= s->low_bits;
		wire_put_u32(inner, prefix);
		wire_put_bytes(inner, (int)i == s->bad_element ? s->element : element, NE);
	}
}

/* ---- expectations ---- */

typedef enum expect_kind { EXPECT_DROP, EXPECT_FRAME_ERROR, EXPECT_SEALED_ERROR } expect_kind;

/* Sends frame and checks the server's answer is the expected one. */
static void
expect(const char *what, const uint8_t *frame, size_t len, expect_kind kind, uint16_t code)
{
	exchange x;
	exchange_init(&x);
	veil_err err = kind == EXPECT_DROP
	                       ? transport_client_request(raw_unanswered, frame, len, &x.reply)
	                       : send_raw(frame, len, &x.reply);
	int ok = 0;
	switch (kind) {
	case EXPECT_DROP:
		ok = err == VEIL_ERR_TIMEOUT;
		break;
	case EXPECT_FRAME_ERROR: {
		proto_frame f;
		ok = err == VEIL_OK &&
		     proto_frame_decode((const uint8_t *)buf_data(&x.reply), buf_len(&x.reply),
		                        &f) == VEIL_OK &&
		     f.type == PROTO_FRAME_ERROR && f.error_code == code;
		break;
	}
	case EXPECT_SEALED_ERROR:
		ok = err == VEIL_OK && open_reply(&x.reply, &x.opened, &x.msg) == 0 &&
		     x.msg.type == PROTO_MSG_ERROR && x.msg.u.error.code == code;
		break;
	}
	if (!ok)
		printf("# %s: transport %s, %zu reply bytes, wanted %s %u\n", what,
		       veil_strerror(err), buf_len(&x.reply),
		       kind == EXPECT_DROP          ? "drop"
		       : kind == EXPECT_FRAME_ERROR ? "frame error"
		                                    : "sealed error",
		       code);
	CHECK(ok);
	exchange_free(&x);
}

/* Seals x->inner and checks that the answer is the sealed error code. */
static void
expect_sealed(const char *what, exchange *x, uint16_t code)
{
	seal(&x->inner, &x->frame);
	expect(what, (const uint8_t *)buf_data(&x->frame), buf_len(&x->frame), EXPECT_SEALED_ERROR,
	       code);
}

static void
expect_lookup(const char *what, const lookup_spec *s, uint16_t code)
{
	exchange x;
	exchange_init(&x);
	encode_lookup(s, &x.inner);
	expect_sealed(what, &x, code);
	exchange_free(&x);
}

/* ---- the battery ---- */

static void
case_bytes_that_are_no_frame_are_dropped(void)
{
	uint8_t junk[100];
	randombytes_buf(junk, sizeof(junk));
	expect("random bytes", junk, sizeof(junk), EXPECT_DROP, 0);
	expect("empty message", junk, 0, EXPECT_DROP, 0);
	uint8_t wrong_version[] = {'V', 'E', 'I', 'L', 9, PROTO_FRAME_SEALED, 0};
	expect("wrong version", wrong_version, sizeof(wrong_version), EXPECT_DROP, 0);
	uint8_t wrong_type[] = {'V', 'E', 'I', 'L', PROTO_VERSION, 0x44, 0};
	expect("unknown frame type", wrong_type, sizeof(wrong_type), EXPECT_DROP, 0);

	/* Larger than the server takes: the transport discards it unread. */
	const size_t big_len = PROTO_MAX_REQUEST_SIZE + 1024;
	uint8_t *big = calloc(1, big_len);
	REQUIRE(big != NULL);
	const uint8_t header[] = {'V', 'E', 'I', 'L', PROTO_VERSION, PROTO_FRAME_SEALED};
	memcpy(big, header, sizeof(header));
	expect("oversized frame", big, big_len, EXPECT_DROP, 0);
	free(big);
}

static void
case_bad_frame_bodies(void)
{
	uint8_t short_sealed[6 + 10] = {'V', 'E', 'I', 'L', PROTO_VERSION, PROTO_FRAME_SEALED};
	expect("truncated sealed frame", short_sealed, sizeof(short_sealed), EXPECT_FRAME_ERROR,
	       PROTO_STATUS_BAD_FRAME);
	uint8_t reply_type[6 + 24 + 16] = {'V', 'E',           'I',
	                                   'L', PROTO_VERSION, PROTO_FRAME_SEALED_REPLY};
	expect("a reply frame as request", reply_type, sizeof(reply_type), EXPECT_FRAME_ERROR,
	       PROTO_STATUS_BAD_FRAME);
	uint8_t error_type[] = {'V', 'E', 'I', 'L', PROTO_VERSION, PROTO_FRAME_ERROR, 0, 1};
	expect("an error frame as request", error_type, sizeof(error_type), EXPECT_FRAME_ERROR,
	       PROTO_STATUS_BAD_FRAME);
	/* Tokens mode's frame, which this veild (keys mode) does not serve. */
	uint8_t anonymous[6 + 32 + 24 + 16] = {'V', 'E',           'I',
	                                       'L', PROTO_VERSION, PROTO_FRAME_SEALED_ANONYMOUS};
	expect("an anonymous frame in keys mode", anonymous, sizeof(anonymous), EXPECT_FRAME_ERROR,
	       PROTO_STATUS_BAD_FRAME);

	/* A version-1 request (client key in clear | nonce | box): its
	 * client is told at once rather than left waiting. */
	uint8_t version_1[6 + 32 + 24 + 16 + 8 + 17] = {'V', 'E', 'I', 'L', 1, PROTO_FRAME_SEALED};
	randombytes_buf(version_1 + 6, sizeof(version_1) - 6);
	memcpy(version_1 + 6, client_pk, 32);
	expect("a version-1 frame", version_1, sizeof(version_1), EXPECT_FRAME_ERROR,
	       PROTO_STATUS_BAD_FRAME);
	uint8_t version_1_info[] = {'V', 'E', 'I', 'L', 1, PROTO_FRAME_ERROR, 0, 1};
	expect("a version-1 error frame", version_1_info, sizeof(version_1_info),
	       EXPECT_FRAME_ERROR, PROTO_STATUS_BAD_FRAME);
}

static void
case_bad_envelopes(void)
{
	exchange x;
	exchange_init(&x);
	proto_encode_info(&x.inner, request_id);

	uint8_t garbage[6 + 32 + 24 + 64] = {'V', 'E', 'I', 'L', PROTO_VERSION, PROTO_FRAME_SEALED};
	randombytes_buf(garbage + 6, sizeof(garbage) - 6);
	expect("random box", garbage, sizeof(garbage), EXPECT_FRAME_ERROR,
	       PROTO_STATUS_BAD_ENVELOPE);

	/* Sealed to another server's key. */
	uint8_t other_pk[32], other_sk[32];
	crypto_box_keypair(other_pk, other_sk);
	REQUIRE(envelope_seal_request(client_pk, client_sk, other_pk,
	                              (const uint8_t *)buf_data(&x.inner), buf_len(&x.inner),
	                              &x.frame, &last_exchange) == VEIL_OK);
	expect("sealed to another server", (const uint8_t *)buf_data(&x.frame), buf_len(&x.frame),
	       EXPECT_FRAME_ERROR, PROTO_STATUS_BAD_ENVELOPE);

	/* One flipped ciphertext bit. */
	seal(&x.inner, &x.frame);
	((uint8_t *)x.frame.data)[buf_len(&x.frame) - 1] ^= 0x80;
	expect("tampered box", (const uint8_t *)buf_data(&x.frame), buf_len(&x.frame),
	       EXPECT_FRAME_ERROR, PROTO_STATUS_BAD_ENVELOPE);

	/* A small-order ephemeral key: no box opens under it. */
	seal(&x.inner, &x.frame);
	memset(x.frame.data + 6, 0, 32);
	expect("all-zero ephemeral key", (const uint8_t *)buf_data(&x.frame), buf_len(&x.frame),
	       EXPECT_FRAME_ERROR, PROTO_STATUS_BAD_ENVELOPE);

	/* A box that opens, claiming this client with another's proof. */
	uint8_t other_client_pk[32], other_client_sk[32], identity[ENVELOPE_KEY_SIZE];
	crypto_box_keypair(other_client_pk, other_client_sk);
	REQUIRE(envelope_exchange_begin(&last_exchange, fx.server_key) == VEIL_OK);
	REQUIRE(envelope_identity_key(fx.server_key, other_client_sk, identity) == VEIL_OK);
	buf_reset(&x.frame);
	REQUIRE(envelope_seal_request_with(&last_exchange, client_pk, identity,
	                                   (uint64_t)time(NULL), NULL,
	                                   (const uint8_t *)buf_data(&x.inner), buf_len(&x.inner),
	                                   &x.frame) == VEIL_OK);
	expect("a client key with another's proof", (const uint8_t *)buf_data(&x.frame),
	       buf_len(&x.frame), EXPECT_FRAME_ERROR, PROTO_STATUS_BAD_ENVELOPE);
	sodium_memzero(identity, sizeof(identity));
	exchange_free(&x);
}

static void
case_undecodable_requests(void)
{
	exchange x;
	exchange_init(&x);
	expect_sealed("empty inner message", &x, PROTO_STATUS_BAD_REQUEST);

	wire_put_u8(&x.inner, 0x7e);
	wire_put_bytes(&x.inner, request_id, sizeof(request_id));
	expect_sealed("unknown message type", &x, PROTO_STATUS_BAD_REQUEST);

	lookup_spec s = lookup_default();
	encode_lookup(&s, &x.inner);
	buf_truncate(&x.inner, buf_len(&x.inner) - 1);
	expect_sealed("truncated lookup", &x, PROTO_STATUS_BAD_REQUEST);

	encode_lookup(&s, &x.inner);
	wire_put_u8(&x.inner, 0);
	expect_sealed("lookup with a trailing byte", &x, PROTO_STATUS_BAD_REQUEST);

	buf_reset(&x.inner);
	proto_encode_info_reply(&x.inner, request_id, &info);
	expect_sealed("a reply message as request", &x, PROTO_STATUS_UNSUPPORTED);
	exchange_free(&x);

	/* Clients pad every batch to a size class; any other count would
	 * single its sender out, so veild refuses it. */
	const uint16_t unpadded[] = {3, 5, BATCH_CAP - 1};
	for (size_t i = 0; i < TEST_COUNT(unpadded); i++) {
		s.count = unpadded[i];
		char name[48];
		snprintf(name, sizeof(name), "a batch of %u, no size class", (unsigned)s.count);
		expect_lookup(name, &s, PROTO_STATUS_BAD_REQUEST);
	}
}

/*
 * A well-formed LOOKUP of P256-SHA256 (a suite the codec knows, with valid
 * P-256 elements of 33 bytes) to this ristretto255-SHA512 server: refused
 * UNSUPPORTED before anything is evaluated, as an unknown suite is.
 */
static void
expect_p256_lookup_refused(void)
{
	const oprf_suite *suite = proto_suite(PROTO_SUITE_P256_SHA256);
	enum { COUNT = 4, P256_NE = 33 };
	uint8_t blind[32], elements[COUNT * P256_NE];
	uint32_t prefixes[COUNT];
	oprf_ctx *ctx = NULL;
	REQUIRE(suite != NULL && oprf_suite_element_size(suite) == P256_NE &&
	        oprf_ctx_new(suite, OPRF_MODE_VOPRF, &ctx) == VEIL_OK);
	for (size_t i = 0; i < COUNT; i++) {
		prefixes[i] = entry_prefix((uint32_t)(i * 0x9e3779b9u), info.p_recommended);
		REQUIRE(oprf_blind(ctx, (const uint8_t *)"tel:+14155550100", 16, NULL, blind,
		                   elements + i * P256_NE) == VEIL_OK);
	}
	oprf_ctx_free(ctx);
	exchange x;
	exchange_init(&x);
	proto_encode_lookup(&x.inner, request_id, PROTO_SUITE_P256_SHA256, OPRF_MODE_VOPRF,
	                    info.keys[0].key_id, info.p_recommended, COUNT, prefixes, elements);
	expect_sealed("a P256-SHA256 lookup to a ristretto255-SHA512 server", &x,
	              PROTO_STATUS_UNSUPPORTED);
	exchange_free(&x);
}

static void
case_unknown_suite_mode_and_key(void)
{
	lookup_spec s = lookup_default();
	s.suite = 0x42;
	expect_lookup("unknown suite", &s, PROTO_STATUS_UNSUPPORTED);
	CHECK(info.keys[0].suite == PROTO_SUITE_RISTRETTO255_SHA512 && info.keys[0].pk_len == NE);
	expect_p256_lookup_refused();
	CHECK(info.keys[0].modes == PROTO_MODE_BIT_VOPRF);
	s = lookup_default();
	s.mode = OPRF_MODE_OPRF;
	expect_lookup("OPRF mode on a VOPRF registry", &s, PROTO_STATUS_UNSUPPORTED);
	s.mode = OPRF_MODE_POPRF;
	expect_lookup("POPRF mode", &s, PROTO_STATUS_UNSUPPORTED);
	s = lookup_default();
	s.key_id = info.keys[0].key_id + 1000;
	expect_lookup("unknown key id", &s, PROTO_STATUS_KEY_UNKNOWN);
}

static void
case_oversized_batches(void)
{
	/* veild takes no request larger than a sealed LOOKUP of its batch cap:
	 * a batch above it is discarded unread, unanswered, and costs nothing. */
	lookup_spec s = lookup_default();
	exchange big;
	const size_t counts[] = {BATCH_CAP + 1, PROTO_MAX_BATCH + 1};
	const char *const names[] = {"batch above the server's cap", "batch above the codec's cap"};
	for (size_t i = 0; i < 2; i++) {
		exchange_init(&big);
		s.count = (uint16_t)counts[i];
		encode_lookup(&s, &big.inner);
		seal(&big.inner, &big.frame);
		expect(names[i], (const uint8_t *)buf_data(&big.frame), buf_len(&big.frame),
		       EXPECT_DROP, 0);
		exchange_free(&big);
	}

	/* At the cap exactly, the same request is served. */
	exchange x;
	exchange_init(&x);
	s.count = BATCH_CAP;
	encode_lookup(&s, &x.inner);
	seal(&x.inner, &x.frame);
	CHECK(exchange_send(&x) == 0 && x.msg.type == PROTO_MSG_LOOKUP_REPLY &&
	      x.msg.u.lookup_reply.count == BATCH_CAP);
	exchange_free(&x);
}

static void
case_bad_prefixes(void)
{
	lookup_spec s = lookup_default();
	s.bits = (uint8_t)(info.p_max + 1);
	expect_lookup("prefix longer than p_max", &s, PROTO_STATUS_BAD_PREFIX);
	s.bits = 33;
	expect_lookup("prefix of 33 bits", &s, PROTO_STATUS_BAD_REQUEST);
	s = lookup_default();
	s.low_bits = 1;
	expect_lookup("prefix with low bits set", &s, PROTO_STATUS_BAD_PREFIX);
}

static void
case_invalid_elements(void)
{
	uint8_t identity[NE] = {0}, top_bit[NE], odd[NE], not_reduced[NE];
	valid_element(top_bit);
	top_bit[NE - 1] |= 0x80;
	valid_element(odd);
	odd[0] |= 1;
	memset(not_reduced, 0xff, NE);
	not_reduced[0] = 0xed;
	not_reduced[NE - 1] = 0x7f;
	const uint8_t *bad[] = {identity, top_bit, odd, not_reduced};
	const char *names[] = {"identity element", "top bit set", "negative encoding",
	                       "unreduced field element"};
	for (size_t i = 0; i < 4; i++) {
		lookup_spec s = lookup_default();
		s.bad_element = (int)(i % s.count);
		s.element = bad[i];
		expect_lookup(names[i], &s, PROTO_STATUS_BAD_ELEMENT);
	}
}

static void
case_server_still_answers_right_and_registry_unchanged(void)
{
	CHECK(proc_alive(&fx.daemon));
	veil_client *client = NULL;
	REQUIRE(fixture_client(&(veil_client_options){.server_url = url}, client_sk, &client) ==
	        VEIL_OK);
	const char *contacts[] = {"(415) 555-0100", "ann@example.org", "+1 415 555 0199"};
	veil_lookup_result r[3];
	CHECK(veil_client_lookup(client, contacts, 3, r) == VEIL_OK);
	CHECK(r[0].status == VEIL_LOOKUP_REGISTERED);
	CHECK(r[0].has_payload && r[0].payload_len == 5 && memcmp(r[0].payload, "hello", 5) == 0);
	CHECK(r[1].status == VEIL_LOOKUP_REGISTERED);
	CHECK(r[2].status == VEIL_LOOKUP_NOT_REGISTERED);
	veil_client_free(client);

	uint8_t now[32];
	char *path = registry_file();
	digest_file(path, now);
	free(path);
	CHECK(memcmp(now, registry_digest, sizeof(now)) == 0);
}

/* The most bytes of one entry: a tag and a payload slot. */
#define SLOT_MAX 256

/* The last slot of each of count items of a lookup reply, into last[i]. */
static int
last_slots(const proto_msg *msg, size_t count, uint8_t last[][SLOT_MAX])
{
	const proto_lookup_reply *r = &msg->u.lookup_reply;
	if (msg->type != PROTO_MSG_LOOKUP_REPLY || r->count != count || r->slots == 0 ||
	    r->entry_size == 0 || r->entry_size > SLOT_MAX)
		return -1;
	for (size_t i = 0; i < count; i++) {
		const uint8_t *element, *entries;
		proto_lookup_reply_item(r, i, &element, &entries);
		memset(last[i], 0, SLOT_MAX);
		memcpy(last[i], entries + (size_t)(r->slots - 1) * r->entry_size, r->entry_size);
	}
	return 0;
}

/*
 * Slots no entry fills are random bytes, fresh for every item and every
 * reply: four items of one prefix (one bucket, so the same entries) in
 * two lookups; the last slot (slots are rounded up to 8, past what this
 * small registry's buckets hold) differs between any two items of a reply
 * and between the replies, and is not zero.
 */
static void
case_unused_slots_are_fresh_random_bytes(void)
{
	enum { COUNT = 4 };
	uint8_t last[2][COUNT][SLOT_MAX];
	const lookup_spec s = lookup_default();
	uint8_t element[NE];
	valid_element(element);
	for (int round = 0; round < 2; round++) {
		exchange x;
		exchange_init(&x);
		proto_encode_lookup_head(&x.inner, request_id, s.suite, s.mode, s.key_id, s.bits,
		                         COUNT);
		for (size_t i = 0; i < COUNT; i++) {
			wire_put_u32(&x.inner, 0);
			wire_put_bytes(&x.inner, element, NE);
		}
		seal(&x.inner, &x.frame);
		REQUIRE(exchange_send(&x) == 0);
		REQUIRE(last_slots(&x.msg, COUNT, last[round]) == 0);
		exchange_free(&x);
	}
	static const uint8_t zero[SLOT_MAX];
	for (size_t i = 0; i < COUNT; i++) {
		CHECK_ROW(memcmp(last[0][i], zero, sizeof(zero)) != 0, "not zero");
		CHECK_ROW(memcmp(last[0][i], last[1][i], SLOT_MAX) != 0, "fresh in each reply");
		for (size_t j = i + 1; j < COUNT; j++)
			CHECK_ROW(memcmp(last[0][i], last[0][j], SLOT_MAX) != 0,
			          "fresh for each item");
	}
}

/* Seals inner with the client's key at the given time. */
static void
seal_at(const buf *inner, uint64_t sent_at, buf *frame)
{
	uint8_t identity[ENVELOPE_KEY_SIZE];
	buf_reset(frame);
	if (envelope_exchange_begin(&last_exchange, fx.server_key) != VEIL_OK ||
	    envelope_identity_key(fx.server_key, client_sk, identity) != VEIL_OK ||
	    envelope_seal_request_with(&last_exchange, client_pk, identity, sent_at, NULL,
	                               (const uint8_t *)buf_data(inner), buf_len(inner),
	                               frame) != VEIL_OK)
		abort();
	sodium_memzero(identity, sizeof(identity));
}

static void
case_replayed_and_stale_requests(void)
{
	exchange x;
	exchange_init(&x);
	lookup_spec s = lookup_default();
	encode_lookup(&s, &x.inner);

	/* The first time it is served; the same bytes again are refused,
	 * and the refusal carries nothing of the first answer. */
	seal_at(&x.inner, (uint64_t)time(NULL), &x.frame);
	CHECK(exchange_send(&x) == 0 && x.msg.type == PROTO_MSG_LOOKUP_REPLY);
	expect("replayed request", (const uint8_t *)buf_data(&x.frame), buf_len(&x.frame),
	       EXPECT_SEALED_ERROR, PROTO_STATUS_REPLAYED);
	CHECK(exchange_send(&x) == 0 && x.msg.type == PROTO_MSG_ERROR &&
	      buf_len(&x.opened) == 1 + PROTO_REQUEST_ID_SIZE + 2 + 4);

	seal_at(&x.inner, (uint64_t)time(NULL) - 3600, &x.frame);
	expect("an hour old", (const uint8_t *)buf_data(&x.frame), buf_len(&x.frame),
	       EXPECT_SEALED_ERROR, PROTO_STATUS_STALE);
	seal_at(&x.inner, (uint64_t)time(NULL) + 600, &x.frame);
	expect("ten minutes ahead", (const uint8_t *)buf_data(&x.frame), buf_len(&x.frame),
	       EXPECT_SEALED_ERROR, PROTO_STATUS_STALE);
	exchange_free(&x);
}

/* What veil-admin log export shows of the query log (veild stopped). */
typedef struct log_export {
	int entries;
	int by_status[32];
} log_export;

static log_export
export_log(void)
{
	log_export x;
	memset(&x, 0, sizeof(x));
	proc_result r = proc_call(fx.admin, "log", "export", "--state", fx.state, NULL);
	CHECK(r.status == 0 && r.out != NULL);
	int line = 0;
	for (const char *p = r.out; p != NULL && *p != '\0'; line++) {
		const char *end = strchr(p, '\n');
		if (line > 0) { /* the header line is not an entry */
			const char *st = strstr(p, "\"status\":");
			CHECK(st != NULL && (end == NULL || st < end));
			if (st != NULL) {
				const long code = strtol(st + strlen("\"status\":"), NULL, 10);
				x.entries++;
				if (code >= 0 && code < (long)TEST_COUNT(x.by_status))
					x.by_status[code]++;
			}
		}
		p = end != NULL ? end + 1 : NULL;
	}
	proc_result_free(&r);
	return x;
}

/*
 * After real traffic, every byte of the query log's files (the database
 * and its lock file; the salt and chain key files are meant to hold
 * salts) holds no client key, blinded element, handle, plain hash of a
 * handle, or exact timestamp.
 */
static void
case_log_files_hold_nothing_identifying(void)
{
	CHECK(fixture_stop(&fx) == 0); /* flushes the log */

	/* The log recorded what was evaluated (the lookups the quota paid
	 * for: served, and the four with an invalid element), and no
	 * refusal, nor any INFO. */
	log_export export = export_log();
	CHECK(export.entries >= 4 + 3);
	CHECK(export.by_status[PROTO_STATUS_BAD_ELEMENT] == 4);
	CHECK(export.by_status[PROTO_STATUS_OK] + export.by_status[PROTO_STATUS_BAD_ELEMENT] ==
	      export.entries);
	const int64_t now = (int64_t)time(NULL);
	const char *handles[] = {"tel:+14155550100", "mailto:ann@example.org", "tel:+14155550199"};
	uint8_t element[NE];
	valid_element(element);
	const char *files[] = {"log/data.mdb", "log/lock.mdb"};
	for (size_t f = 0; f < 2; f++) {
		char *path = proc_join(fx.state, files[f]);
		size_t len;
		const uint8_t *bytes = (const uint8_t *)test_read_file(path, &len);
		CHECK(len > 0);
		CHECK(!test_contains(bytes, len, client_pk, sizeof(client_pk)));
		CHECK(!test_contains(bytes, len, element, sizeof(element)));
		for (size_t h = 0; h < 3; h++) {
			uint8_t sha256[32], sha512[64];
			crypto_hash_sha256(sha256, (const uint8_t *)handles[h], strlen(handles[h]));
			crypto_hash_sha512(sha512, (const uint8_t *)handles[h], strlen(handles[h]));
			CHECK(!test_contains(bytes, len, (const uint8_t *)handles[h] + 4,
			                     strlen(handles[h]) - 4));
			CHECK(!test_contains(bytes, len, sha256, sizeof(sha256)));
			CHECK(!test_contains(bytes, len, sha512, sizeof(sha512)));
		}
		/* Any second since the battery began (or of the last ten minutes), 8
		 * bytes in either order. */
		int stamped = 0;
		for (int64_t t = started < now - 600 ? started : now - 600; t <= now + 5; t++) {
			uint8_t be[8], le[8];
			for (int i = 0; i < 8; i++) {
				be[i] = (uint8_t)((uint64_t)t >> (56 - 8 * i));
				le[i] = (uint8_t)((uint64_t)t >> (8 * i));
			}
			stamped |=
			        test_contains(bytes, len, be, 8) | test_contains(bytes, len, le, 8);
		}
		CHECK(!stamped);
		free((void *)(uintptr_t)bytes);
		free(path);
	}
}

/* veil-admin client list's last line: "# E enrolled, T tracked without enrolment". */
static void
count_clients(unsigned long long *enrolled, unsigned long long *tracked)
{
	proc_result r = proc_call(fx.admin, "client", "list", "--state", fx.state, NULL);
	CHECK(r.status == 0 && r.out != NULL);
	const char *last = r.out != NULL ? strstr(r.out, "\n# ") : NULL;
	*enrolled = *tracked = ~0ull;
	CHECK(last != NULL &&
	      sscanf(last, "\n# %llu enrolled, %llu tracked", enrolled, tracked) == 2);
	proc_result_free(&r);
}

/*
 * Seals inner from the key pair (pk, sk) with the given frame nonce (NULL:
 * a random one), as a peer that chooses its nonces can.
 */
static void
seal_as(const uint8_t pk[32], const uint8_t sk[32], const uint8_t *nonce, const buf *inner,
        buf *frame)
{
	uint8_t identity[ENVELOPE_KEY_SIZE];
	buf_reset(frame);
	if (envelope_exchange_begin(&last_exchange, fx.server_key) != VEIL_OK ||
	    envelope_identity_key(fx.server_key, sk, identity) != VEIL_OK ||
	    envelope_seal_request_with(&last_exchange, pk, identity, (uint64_t)time(NULL), nonce,
	                               (const uint8_t *)buf_data(inner), buf_len(inner),
	                               frame) != VEIL_OK)
		abort();
	sodium_memzero(identity, sizeof(identity));
}

/* Sends frame on t; the opened reply's type, and its error code in *code
 * (0 for a non-error); -1 when no sealed reply came back. */
static int
send_as(transport_client *t, const uint8_t sk[32], const buf *frame, uint16_t *code)
{
	buf reply, opened;
	proto_msg msg;
	uint16_t frame_error = 0;
	int type = -1;
	buf_init(&reply);
	buf_init(&opened);
	*code = 0;
	if (transport_client_request(t, (const uint8_t *)buf_data(frame), buf_len(frame), &reply) ==
	            VEIL_OK &&
	    envelope_open_reply((const uint8_t *)buf_data(&reply), buf_len(&reply), &last_exchange,
	                        &opened, &frame_error) == VEIL_OK &&
	    frame_error == 0 &&
	    proto_msg_decode((const uint8_t *)buf_data(&opened), buf_len(&opened), &msg) ==
	            VEIL_OK) {
		type = msg.type;
		if (msg.type == PROTO_MSG_ERROR)
			*code = msg.u.error.code;
	}
	buf_free(&reply);
	buf_free(&opened);
	return type;
}

/*
 * With enrolment required, a stranger (made-up keys, repeated frames,
 * nonces alike but for their last bytes, the very nonce an enrolled
 * client then uses) is refused UNAUTHORIZED every time, before the
 * replay guard: a repeat is not even REPLAYED. It adds no query log
 * entry and no client record, while the enrolled client's lookups are
 * served, and its own repeat is refused and not logged either.
 */
static void
case_a_stranger_writes_neither_log_nor_clients(void)
{
	/* veild is stopped (the case before): the log is flushed. */
	const log_export before = export_log();
	unsigned long long enrolled_before, tracked_before;
	count_clients(&enrolled_before, &tracked_before);

	uint8_t member_pk[32], member_sk[32];
	crypto_box_keypair(member_pk, member_sk);
	char hex[65];
	sodium_bin2hex(hex, sizeof(hex), member_pk, sizeof(member_pk));
	proc_result added = proc_call(fx.admin, "client", "add", "--state", fx.state, hex, NULL);
	REQUIRE(added.status == 0);
	proc_result_free(&added);
	/* A handful of enrolled clients: the log's requester target must be 1. */
	char *config = fixture_file(&fx, "veild.ini", "[log]\nk_r = 1\n");
	REQUIRE(fixture_start(&fx, url, "ready", "--enrolment", "required", "--threads", "2",
	                      "--batch-cap", "16", "--config", config, NULL) == 0);
	free(config);
	transport_client *t = NULL;
	REQUIRE(transport_client_open(url, 1000 * (int)TEST_PATIENCE_SECONDS, PROTO_MAX_REPLY_SIZE,
	                              &t) == VEIL_OK);

	buf lookup_inner, info_inner, frame;
	buf_init(&lookup_inner);
	buf_init(&info_inner);
	buf_init(&frame);
	lookup_spec spec = lookup_default();
	encode_lookup(&spec, &lookup_inner);
	proto_encode_info(&info_inner, request_id);
	uint8_t nonce[ENVELOPE_NONCE_SIZE];
	memset(nonce, 0x5a, sizeof(nonce));

	uint16_t code;
	int unauthorized = 0, sent = 0;
	for (int k = 0; k < 8; k++) {
		uint8_t pk[32], sk[32];
		crypto_box_keypair(pk, sk);
		for (int n = 0; n < 4; n++) {
			nonce[ENVELOPE_NONCE_SIZE - 1] = (uint8_t)n;
			seal_as(pk, sk, nonce, n % 2 ? &info_inner : &lookup_inner, &frame);
			/* Each frame twice: the repeat is refused the same way. */
			for (int again = 0; again < 2; again++, sent++)
				unauthorized += send_as(t, sk, &frame, &code) == PROTO_MSG_ERROR &&
				                code == PROTO_STATUS_UNAUTHORIZED;
		}
	}
	CHECK(unauthorized == sent);

	/* The enrolled client, with one of the stranger's nonces and with
	 * random ones: served; its repeat refused. */
	nonce[ENVELOPE_NONCE_SIZE - 1] = 0;
	seal_as(member_pk, member_sk, nonce, &lookup_inner, &frame);
	CHECK(send_as(t, member_sk, &frame, &code) == PROTO_MSG_LOOKUP_REPLY);
	CHECK(send_as(t, member_sk, &frame, &code) == PROTO_MSG_ERROR &&
	      code == PROTO_STATUS_REPLAYED);
	for (int i = 0; i < 2; i++) {
		seal_as(member_pk, member_sk, NULL, &lookup_inner, &frame);
		CHECK(send_as(t, member_sk, &frame, &code) == PROTO_MSG_LOOKUP_REPLY);
	}
	seal_as(member_pk, member_sk, NULL, &info_inner, &frame);
	CHECK(send_as(t, member_sk, &frame, &code) == PROTO_MSG_INFO_REPLY);
	transport_client_close(t);
	buf_free(&lookup_inner);
	buf_free(&info_inner);
	buf_free(&frame);
	CHECK(fixture_stop(&fx) == 0);

	/* Exactly the three served lookups were logged: no refusal, no INFO. */
	const log_export after = export_log();
	CHECK(after.entries == before.entries + 3);
	CHECK(after.by_status[PROTO_STATUS_OK] == before.by_status[PROTO_STATUS_OK] + 3);
	CHECK(after.by_status[PROTO_STATUS_UNAUTHORIZED] == 0);
	CHECK(after.by_status[PROTO_STATUS_REPLAYED] == 0);
	unsigned long long enrolled_after, tracked_after;
	count_clients(&enrolled_after, &tracked_after);
	CHECK(enrolled_after == enrolled_before + 1);
	CHECK(tracked_after == tracked_before);
}

static const test_case cases[] = {
        {"bytes that are no frame are dropped", case_bytes_that_are_no_frame_are_dropped},
        {"bad frame bodies", case_bad_frame_bodies},
        {"bad envelopes", case_bad_envelopes},
        {"undecodable requests", case_undecodable_requests},
        {"unknown suite, mode and key id", case_unknown_suite_mode_and_key},
        {"oversized batches", case_oversized_batches},
        {"bad prefixes", case_bad_prefixes},
        {"invalid group elements", case_invalid_elements},
        {"replayed and stale requests", case_replayed_and_stale_requests},
        {"unused slots are fresh random bytes", case_unused_slots_are_fresh_random_bytes},
        {"server still answers right, registry unchanged",
         case_server_still_answers_right_and_registry_unchanged},
        {"the log's files hold nothing identifying", case_log_files_hold_nothing_identifying},
        {"a stranger writes neither the log nor the client store",
         case_a_stranger_writes_neither_log_nor_clients},
};

static void
setup(void)
{
	started = (int64_t)time(NULL);
	if (asprintf(&url, "tcp://127.0.0.1:%d", proc_free_port()) < 0)
		abort();
	char *path = registry_file();
	digest_file(path, registry_digest);
	free(path);
	if (fixture_start(&fx, url, "ready", "--enrolment", "open", "--threads", "2", "--batch-cap",
	                  "16", NULL) != 0)
		abort();
	crypto_box_keypair(client_pk, client_sk);
	if (transport_client_open(url, 1000 * (int)TEST_PATIENCE_SECONDS, PROTO_MAX_REPLY_SIZE,
	                          &raw) != VEIL_OK ||
	    transport_client_open(url, 400, PROTO_MAX_REPLY_SIZE, &raw_unanswered) != VEIL_OK)
		abort();
	fetch_info();
}

static void
teardown(void)
{
	transport_client_close(raw);
	transport_client_close(raw_unanswered);
	free(url);
}

FIXTURE_MAIN(cases, .label = "battery", .keygen_flag = "--verifiable",
             .import = "+1 415 555 0100,hello\nann@example.org\n", .numbered = "+1 212 555 ",
             .end = 500, .setup = setup, .teardown = teardown)

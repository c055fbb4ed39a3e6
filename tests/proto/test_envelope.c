/*
 * Frames and sealing: round trips both ways, and every way a frame can be
 * wrong: bad or old header, short body, trailing bytes, tampered box,
 * wrong key, another exchange's keys, a box of the other direction, an
 * identity proof moved to another ephemeral key. And what an observer
 * sees: two seals of one message by one client share nothing past the
 * fixed header. And the SEALED_ANONYMOUS frame of tokens mode: its round
 * trip, tampering, and that its boxes and a SEALED frame's never open as
 * each other.
 */
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "envelope.h"
#include "harness.h"
#include "wire.h"

typedef struct keys {
	uint8_t client_pk[32], client_sk[32];
	uint8_t server_pk[32], server_sk[32];
} keys;

static void
keys_make(keys *k)
{
	crypto_box_keypair(k->client_pk, k->client_sk);
	crypto_box_keypair(k->server_pk, k->server_sk);
}

static const uint8_t inner[] = "\x10 sixteen byte id";

/* Decodes and opens a request frame; the open's result. */
static veil_err
open_request_bytes(const uint8_t *bytes, size_t len, const uint8_t server_sk[32], buf *opened,
                   uint8_t client_pk[32], envelope_exchange *ex)
{
	proto_frame f;
	uint64_t sent_at;
	if (proto_frame_decode(bytes, len, &f) != VEIL_OK)
		return VEIL_ERR_PARSE;
	return envelope_open_request(&f, server_sk, opened, &sent_at, client_pk, ex);
}

static void
case_request_and_reply_round_trip(void)
{
	keys k;
	buf frame, opened, reply, reply_opened;
	proto_frame f;
	envelope_exchange client_ex, server_ex;
	uint8_t client_pk[32];
	uint16_t error_code = 99;
	uint64_t sent_at = 0;
	keys_make(&k);
	buf_init(&frame);
	buf_init(&opened);
	buf_init(&reply);
	buf_init(&reply_opened);

	/* Stamped with the time of sealing, however long the sealing takes. */
	const uint64_t before = (uint64_t)time(NULL);
	CHECK(envelope_seal_request(k.client_pk, k.client_sk, k.server_pk, inner, sizeof(inner),
	                            &frame, &client_ex) == VEIL_OK);
	const uint64_t after = (uint64_t)time(NULL);
	CHECK(buf_len(&frame) == 6 + 32 + 24 + 16 + 32 + 32 + 8 + sizeof(inner));
	CHECK(((const uint8_t *)buf_data(&frame))[4] == 2);
	CHECK(proto_frame_decode((const uint8_t *)buf_data(&frame), buf_len(&frame), &f) ==
	      VEIL_OK);
	CHECK(f.type == PROTO_FRAME_SEALED);
	CHECK(memcmp(f.ephemeral_key, client_ex.ephemeral_pk, 32) == 0);
	REQUIRE(envelope_open_request(&f, k.server_sk, &opened, &sent_at, client_pk, &server_ex) ==
	        VEIL_OK);
	CHECK(buf_len(&opened) == sizeof(inner) &&
	      memcmp(buf_data(&opened), inner, sizeof(inner)) == 0);
	CHECK(sent_at >= before && sent_at <= after);
	CHECK(memcmp(client_pk, k.client_pk, 32) == 0);

	CHECK(envelope_seal_reply(&server_ex, inner, sizeof(inner), &reply) == VEIL_OK);
	CHECK(buf_len(&reply) == 6 + 24 + 16 + sizeof(inner));
	CHECK(envelope_open_reply((const uint8_t *)buf_data(&reply), buf_len(&reply), &client_ex,
	                          &reply_opened, &error_code) == VEIL_OK);
	CHECK(error_code == 0);
	CHECK(buf_len(&reply_opened) == sizeof(inner) &&
	      memcmp(buf_data(&reply_opened), inner, sizeof(inner)) == 0);

	/* Wiping leaves nothing to open with. */
	envelope_exchange_wipe(&client_ex);
	CHECK(sodium_is_zero((const unsigned char *)&client_ex, sizeof(client_ex)));
	envelope_exchange_wipe(&server_ex);
	envelope_exchange_wipe(NULL);
	buf_free(&frame);
	buf_free(&opened);
	buf_free(&reply);
	buf_free(&reply_opened);
}

static void
case_tampered_or_misaddressed_requests_do_not_open(void)
{
	keys k, other;
	buf frame, opened;
	envelope_exchange ex, server_ex;
	uint8_t client_pk[32];
	keys_make(&k);
	keys_make(&other);
	buf_init(&frame);
	buf_init(&opened);
	REQUIRE(envelope_seal_request(k.client_pk, k.client_sk, k.server_pk, inner, sizeof(inner),
	                              &frame, &ex) == VEIL_OK);
	uint8_t *bytes = (uint8_t *)frame.data;
	const size_t len = buf_len(&frame);
	REQUIRE(open_request_bytes(bytes, len, k.server_sk, &opened, client_pk, &server_ex) ==
	        VEIL_OK);
	buf_reset(&opened);

	/* Every byte past the header, low bit and high bit (X25519 ignores
	 * the top bit of a key, the box's key derivation does not): the
	 * ephemeral key, the nonce, the box. */
	int refused = 0, tried = 0;
	for (size_t i = 6; i < len; i++) {
		for (unsigned bit = 0x01; bit <= 0x80; bit <<= 7) {
			bytes[i] ^= (uint8_t)bit;
			memset(client_pk, 0x55, sizeof(client_pk));
			refused += open_request_bytes(bytes, len, k.server_sk, &opened, client_pk,
			                              &server_ex) == VEIL_ERR_VERIFY &&
			           buf_len(&opened) == 0 && sodium_is_zero(client_pk, 32) &&
			           sodium_is_zero((const unsigned char *)&server_ex,
			                          sizeof(server_ex));
			tried++;
			bytes[i] ^= (uint8_t)bit;
		}
	}
	CHECK(refused == tried);

	/* Sealed to another server. */
	CHECK(open_request_bytes(bytes, len, other.server_sk, &opened, client_pk, &server_ex) ==
	      VEIL_ERR_VERIFY);
	/* A small-order ephemeral key. */
	memset(bytes + 6, 0, 32);
	CHECK(open_request_bytes(bytes, len, k.server_sk, &opened, client_pk, &server_ex) ==
	      VEIL_ERR_VERIFY);
	CHECK(buf_len(&opened) == 0);

	/* Too short for the client key, proof and time: sealed by hand. */
	buf_reset(&frame);
	envelope_exchange_wipe(&ex);
	REQUIRE(envelope_exchange_begin(&ex, k.server_pk) == VEIL_OK);
	uint8_t nonce[24], plain[32 + 32 + 7] = {0}, box[sizeof(plain) + 16];
	randombytes_buf(nonce, sizeof(nonce));
	crypto_secretbox_easy(box, plain, sizeof(plain), nonce, ex.request_key);
	const uint8_t header[] = {'V', 'E', 'I', 'L', 2, PROTO_FRAME_SEALED};
	wire_put_bytes(&frame, header, sizeof(header));
	wire_put_bytes(&frame, ex.ephemeral_pk, 32);
	wire_put_bytes(&frame, nonce, sizeof(nonce));
	wire_put_bytes(&frame, box, sizeof(box));
	CHECK(open_request_bytes((const uint8_t *)buf_data(&frame), buf_len(&frame), k.server_sk,
	                         &opened, client_pk, &server_ex) == VEIL_ERR_VERIFY);
	CHECK(buf_len(&opened) == 0);
	envelope_exchange_wipe(&ex);
	buf_free(&frame);
	buf_free(&opened);
}

/* A client key whose proof was made with another client's secret. */
static void
case_a_claimed_client_key_needs_its_own_proof(void)
{
	keys k, other;
	buf frame, opened;
	envelope_exchange ex, server_ex;
	uint8_t identity[ENVELOPE_KEY_SIZE], client_pk[32];
	keys_make(&k);
	keys_make(&other);
	buf_init(&frame);
	buf_init(&opened);
	REQUIRE(envelope_exchange_begin(&ex, k.server_pk) == VEIL_OK);
	REQUIRE(envelope_identity_key(k.server_pk, other.client_sk, identity) == VEIL_OK);
	REQUIRE(envelope_seal_request_with(&ex, k.client_pk, identity, 1, NULL, inner,
	                                   sizeof(inner), &frame) == VEIL_OK);
	CHECK(open_request_bytes((const uint8_t *)buf_data(&frame), buf_len(&frame), k.server_sk,
	                         &opened, client_pk, &server_ex) == VEIL_ERR_VERIFY);
	/* The same with the right proof opens: the refusal was the proof's. */
	buf_reset(&frame);
	REQUIRE(envelope_identity_key(k.server_pk, k.client_sk, identity) == VEIL_OK);
	REQUIRE(envelope_seal_request_with(&ex, k.client_pk, identity, 1, NULL, inner,
	                                   sizeof(inner), &frame) == VEIL_OK);
	CHECK(open_request_bytes((const uint8_t *)buf_data(&frame), buf_len(&frame), k.server_sk,
	                         &opened, client_pk, &server_ex) == VEIL_OK);
	CHECK(memcmp(client_pk, k.client_pk, 32) == 0);
	/* A small-order server key has no identity key. */
	uint8_t zero[32] = {0};
	CHECK(envelope_identity_key(zero, k.client_sk, identity) == VEIL_ERR_CRYPTO);
	CHECK(sodium_is_zero(identity, sizeof(identity)));
	CHECK(envelope_exchange_begin(&ex, zero) == VEIL_ERR_CRYPTO);
	envelope_exchange_wipe(&server_ex);
	buf_free(&frame);
	buf_free(&opened);
}

/*
 * One who can open a request (the server, or a thief of its key) takes
 * its client key, proof and time and seals them under an ephemeral key of
 * its own, with the same nonce: the proof names the first ephemeral key,
 * so the request does not open. Re-sealing under the original key does:
 * the refusal is the proof's binding, not the hand sealing.
 */
static void
case_an_identity_proof_cannot_move_to_another_ephemeral_key(void)
{
	keys k;
	buf frame, plain, moved;
	proto_frame f;
	envelope_exchange ex, thief, server_ex;
	uint8_t client_pk[32];
	uint64_t sent_at;
	keys_make(&k);
	buf_init(&frame);
	buf_init(&plain);
	buf_init(&moved);
	REQUIRE(envelope_seal_request(k.client_pk, k.client_sk, k.server_pk, inner, sizeof(inner),
	                              &frame, &ex) == VEIL_OK);
	REQUIRE(proto_frame_decode((const uint8_t *)buf_data(&frame), buf_len(&frame), &f) ==
	        VEIL_OK);
	/* The whole plaintext, client key and proof included. */
	REQUIRE(envelope_open_request(&f, k.server_sk, &moved, &sent_at, client_pk, &server_ex) ==
	        VEIL_OK);
	const size_t plain_len = f.box_len - ENVELOPE_MAC_SIZE;
	uint8_t *space = wire_put_space(&plain, plain_len);
	REQUIRE(space != NULL);
	REQUIRE(crypto_secretbox_open_easy(space, f.box, f.box_len, f.nonce,
	                                   server_ex.request_key) == 0);

	const envelope_exchange *under[] = {&ex, &thief};
	const veil_err want[] = {VEIL_OK, VEIL_ERR_VERIFY};
	REQUIRE(envelope_exchange_begin(&thief, k.server_pk) == VEIL_OK);
	for (size_t i = 0; i < 2; i++) {
		uint8_t box[1024];
		REQUIRE(plain_len + ENVELOPE_MAC_SIZE <= sizeof(box));
		crypto_secretbox_easy(box, space, plain_len, f.nonce, under[i]->request_key);
		buf_reset(&moved);
		wire_put_bytes(&moved, (const uint8_t *)buf_data(&frame), 6);
		wire_put_bytes(&moved, under[i]->ephemeral_pk, 32);
		wire_put_bytes(&moved, f.nonce, 24);
		wire_put_bytes(&moved, box, plain_len + ENVELOPE_MAC_SIZE);
		buf opened;
		buf_init(&opened);
		CHECK(open_request_bytes((const uint8_t *)buf_data(&moved), buf_len(&moved),
		                         k.server_sk, &opened, client_pk, &server_ex) == want[i]);
		buf_free(&opened);
	}
	envelope_exchange_wipe(&ex);
	envelope_exchange_wipe(&thief);
	envelope_exchange_wipe(&server_ex);
	buf_free(&frame);
	buf_free(&plain);
	buf_free(&moved);
}

/* Turns a SEALED frame into a SEALED_REPLY of the same nonce and box, or
 * the reverse (ephemeral_pk given), into out. */
static void
retype(const proto_frame *f, proto_frame_type type, const uint8_t *ephemeral_pk, buf *out)
{
	const uint8_t header[] = {'V', 'E', 'I', 'L', PROTO_VERSION, (uint8_t)type};
	buf_reset(out);
	wire_put_bytes(out, header, sizeof(header));
	if (ephemeral_pk != NULL)
		wire_put_bytes(out, ephemeral_pk, 32);
	wire_put_bytes(out, f->nonce, 24);
	wire_put_bytes(out, f->box, f->box_len);
}

static void
case_replies_open_only_in_their_exchange_and_direction(void)
{
	keys k, other;
	buf frame, reply, opened, swapped;
	proto_frame f, rf;
	envelope_exchange ex, ex2, server_ex, wrong_server_ex;
	uint8_t client_pk[32];
	uint16_t error_code;
	keys_make(&k);
	keys_make(&other);
	buf_init(&frame);
	buf_init(&reply);
	buf_init(&opened);
	buf_init(&swapped);
	REQUIRE(envelope_seal_request(k.client_pk, k.client_sk, k.server_pk, inner, sizeof(inner),
	                              &frame, &ex) == VEIL_OK);
	REQUIRE(envelope_exchange_begin(&ex2, k.server_pk) == VEIL_OK);
	REQUIRE(open_request_bytes((const uint8_t *)buf_data(&frame), buf_len(&frame), k.server_sk,
	                           &opened, client_pk, &server_ex) == VEIL_OK);
	REQUIRE(envelope_seal_reply(&server_ex, inner, sizeof(inner), &reply) == VEIL_OK);
	buf_reset(&opened);

	/* Another exchange of the same client and server. */
	CHECK(envelope_open_reply((const uint8_t *)buf_data(&reply), buf_len(&reply), &ex2, &opened,
	                          &error_code) == VEIL_ERR_VERIFY);
	CHECK(buf_len(&opened) == 0);
	/* The same ephemeral key, answered by another server key (what one
	 * who does not hold the pinned key can make). */
	REQUIRE(proto_frame_decode((const uint8_t *)buf_data(&frame), buf_len(&frame), &f) ==
	        VEIL_OK);
	memset(&wrong_server_ex, 0, sizeof(wrong_server_ex));
	memcpy(wrong_server_ex.ephemeral_pk, ex.ephemeral_pk, 32);
	randombytes_buf(wrong_server_ex.reply_key, sizeof(wrong_server_ex.reply_key));
	buf_reset(&swapped);
	REQUIRE(envelope_seal_reply(&wrong_server_ex, inner, sizeof(inner), &swapped) == VEIL_OK);
	CHECK(envelope_open_reply((const uint8_t *)buf_data(&swapped), buf_len(&swapped), &ex,
	                          &opened, &error_code) == VEIL_ERR_VERIFY);

	/* The request's own box, presented as a reply. */
	retype(&f, PROTO_FRAME_SEALED_REPLY, NULL, &swapped);
	CHECK(envelope_open_reply((const uint8_t *)buf_data(&swapped), buf_len(&swapped), &ex,
	                          &opened, &error_code) == VEIL_ERR_VERIFY);
	/* The reply's box, presented as a request under the exchange's key. */
	REQUIRE(proto_frame_decode((const uint8_t *)buf_data(&reply), buf_len(&reply), &rf) ==
	        VEIL_OK);
	retype(&rf, PROTO_FRAME_SEALED, ex.ephemeral_pk, &swapped);
	CHECK(open_request_bytes((const uint8_t *)buf_data(&swapped), buf_len(&swapped),
	                         k.server_sk, &opened, client_pk, &server_ex) == VEIL_ERR_VERIFY);
	CHECK(buf_len(&opened) == 0);
	/* The right exchange opens it. */
	REQUIRE(envelope_open_reply((const uint8_t *)buf_data(&reply), buf_len(&reply), &ex,
	                            &opened, &error_code) == VEIL_OK);
	CHECK(error_code == 0 && buf_len(&opened) == sizeof(inner));
	/* A request frame is no reply at all. */
	CHECK(envelope_open_reply((const uint8_t *)buf_data(&frame), buf_len(&frame), &ex, &opened,
	                          &error_code) == VEIL_ERR_PARSE);
	envelope_exchange_wipe(&ex);
	envelope_exchange_wipe(&ex2);
	envelope_exchange_wipe(&server_ex);
	buf_free(&frame);
	buf_free(&reply);
	buf_free(&opened);
	buf_free(&swapped);
}

static void
case_two_seals_of_one_message_share_nothing_past_the_header(void)
{
	keys k;
	buf a, b;
	envelope_exchange ea, eb;
	keys_make(&k);
	buf_init(&a);
	buf_init(&b);
	REQUIRE(envelope_seal_request(k.client_pk, k.client_sk, k.server_pk, inner, sizeof(inner),
	                              &a, &ea) == VEIL_OK);
	REQUIRE(envelope_seal_request(k.client_pk, k.client_sk, k.server_pk, inner, sizeof(inner),
	                              &b, &eb) == VEIL_OK);
	const uint8_t *pa = (const uint8_t *)buf_data(&a), *pb = (const uint8_t *)buf_data(&b);
	CHECK(buf_len(&a) == buf_len(&b));
	CHECK(memcmp(pa, pb, PROTO_FRAME_HEADER_SIZE) == 0);
	CHECK(!test_share_run(pa, buf_len(&a), pb, buf_len(&b), PROTO_FRAME_HEADER_SIZE));
	/* Neither names the client, by its key or by a run of it. */
	CHECK(!test_share_run(pa, buf_len(&a), k.client_pk, 32, 0));
	CHECK(!test_share_run(pb, buf_len(&b), k.client_pk, 32, 0));
	CHECK(!test_contains(pa, buf_len(&a), k.client_pk, 32));
	envelope_exchange_wipe(&ea);
	envelope_exchange_wipe(&eb);
	buf_free(&a);
	buf_free(&b);
}

static void
case_frame_headers(void)
{
	uint8_t frame[6 + 32 + 24 + 16] = {'V', 'E', 'I', 'L', 2, PROTO_FRAME_SEALED};
	proto_frame f;
	CHECK(proto_frame_has_header(frame, sizeof(frame)));
	CHECK(!proto_frame_is_old_version(frame, sizeof(frame)));
	CHECK(proto_frame_decode(frame, sizeof(frame), &f) == VEIL_OK);
	CHECK(f.box_len == 16);
	CHECK(f.ephemeral_key == frame + 6 && f.nonce == frame + 38);

	CHECK(!proto_frame_has_header(frame, 5));
	frame[0] = 'X';
	CHECK(!proto_frame_has_header(frame, sizeof(frame)));
	CHECK(!proto_frame_is_old_version(frame, sizeof(frame)));
	CHECK(proto_frame_decode(frame, sizeof(frame), &f) == VEIL_ERR_PARSE);
	frame[0] = 'V';
	/* Version 1: not a frame of this version, but one of an older one. */
	frame[4] = 1;
	CHECK(!proto_frame_has_header(frame, sizeof(frame)));
	CHECK(proto_frame_is_old_version(frame, sizeof(frame)));
	CHECK(!proto_frame_is_old_version(frame, 5));
	CHECK(proto_frame_decode(frame, sizeof(frame), &f) == VEIL_ERR_PARSE);
	frame[4] = 3;
	CHECK(!proto_frame_has_header(frame, sizeof(frame)));
	CHECK(!proto_frame_is_old_version(frame, sizeof(frame)));
	frame[4] = 0;
	CHECK(!proto_frame_is_old_version(frame, sizeof(frame)));
	frame[4] = 2;
	frame[5] = 9; /* type */
	CHECK(!proto_frame_has_header(frame, sizeof(frame)));
	frame[5] = PROTO_FRAME_SEALED;

	/* A body one byte short of a MAC. */
	memset(&f, 0x55, sizeof(f));
	CHECK(proto_frame_decode(frame, sizeof(frame) - 1, &f) == VEIL_ERR_PARSE);
	CHECK(sodium_is_zero((const unsigned char *)&f, sizeof(f)));
}

static void
case_error_frames(void)
{
	buf b, opened;
	uint16_t code = 0;
	envelope_exchange ex;
	memset(&ex, 0, sizeof(ex));
	buf_init(&b);
	buf_init(&opened);
	envelope_error_frame(&b, 7);
	CHECK(buf_len(&b) == 8);
	CHECK(envelope_open_reply((const uint8_t *)buf_data(&b), buf_len(&b), &ex, &opened,
	                          &code) == VEIL_OK);
	CHECK(code == 7 && buf_len(&opened) == 0);
	/* A trailing byte makes it no frame. */
	wire_put_u8(&b, 0);
	CHECK(envelope_open_reply((const uint8_t *)buf_data(&b), buf_len(&b), &ex, &opened,
	                          &code) == VEIL_ERR_PARSE);
	buf_free(&b);
	buf_free(&opened);
}

/* ---- SEALED_ANONYMOUS ---- */

/* Decodes and opens an anonymous frame; the open's result. */
static veil_err
open_anonymous_bytes(const uint8_t *bytes, size_t len, const uint8_t server_sk[32], buf *opened,
                     uint64_t *sent_at, envelope_exchange *ex)
{
	proto_frame f;
	if (proto_frame_decode(bytes, len, &f) != VEIL_OK)
		return VEIL_ERR_PARSE;
	return envelope_open_anonymous(&f, server_sk, opened, sent_at, ex);
}

static void
case_anonymous_request_and_reply_round_trip(void)
{
	const uint64_t times[] = {0, 1, 1767225600, UINT64_MAX};
	keys k;
	keys_make(&k);
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		buf frame, opened, reply, reply_opened;
		proto_frame f;
		envelope_exchange client_ex, server_ex;
		uint64_t sent_at = 99;
		uint16_t error_code = 99;
		buf_init(&frame);
		buf_init(&opened);
		buf_init(&reply);
		buf_init(&reply_opened);
		REQUIRE(envelope_exchange_begin_anonymous(&client_ex, k.server_pk) == VEIL_OK);
		REQUIRE(envelope_seal_anonymous(&client_ex, times[i], NULL, inner, sizeof(inner),
		                                &frame) == VEIL_OK);
		CHECK(buf_len(&frame) == ENVELOPE_ANONYMOUS_OVERHEAD + sizeof(inner));
		CHECK(buf_len(&frame) == 6 + 32 + 24 + 16 + 8 + sizeof(inner));
		const uint8_t *bytes = (const uint8_t *)buf_data(&frame);
		CHECK(bytes[4] == 2 && bytes[5] == 0x04);
		REQUIRE(proto_frame_decode(bytes, buf_len(&frame), &f) == VEIL_OK);
		CHECK(f.type == PROTO_FRAME_SEALED_ANONYMOUS);
		CHECK(f.ephemeral_key == bytes + 6 && f.nonce == bytes + 38);
		CHECK(memcmp(f.ephemeral_key, client_ex.ephemeral_pk, 32) == 0);
		CHECK(!test_contains(bytes, buf_len(&frame), inner, sizeof(inner)));
		REQUIRE(envelope_open_anonymous(&f, k.server_sk, &opened, &sent_at, &server_ex) ==
		        VEIL_OK);
		CHECK(sent_at == times[i]);
		CHECK(buf_len(&opened) == sizeof(inner) &&
		      memcmp(buf_data(&opened), inner, sizeof(inner)) == 0);

		/* An ordinary SEALED_REPLY under the exchange's reply key. */
		REQUIRE(envelope_seal_reply(&server_ex, inner, sizeof(inner), &reply) == VEIL_OK);
		CHECK(((const uint8_t *)buf_data(&reply))[5] == PROTO_FRAME_SEALED_REPLY);
		CHECK(envelope_open_reply((const uint8_t *)buf_data(&reply), buf_len(&reply),
		                          &client_ex, &reply_opened, &error_code) == VEIL_OK);
		CHECK(error_code == 0 && buf_len(&reply_opened) == sizeof(inner) &&
		      memcmp(buf_data(&reply_opened), inner, sizeof(inner)) == 0);
		envelope_exchange_wipe(&client_ex);
		envelope_exchange_wipe(&server_ex);
		buf_free(&frame);
		buf_free(&opened);
		buf_free(&reply);
		buf_free(&reply_opened);
	}
}

static void
case_tampered_or_misaddressed_anonymous_requests_do_not_open(void)
{
	keys k, other;
	buf frame, opened;
	envelope_exchange ex, server_ex;
	uint64_t sent_at;
	keys_make(&k);
	keys_make(&other);
	buf_init(&frame);
	buf_init(&opened);
	REQUIRE(envelope_exchange_begin_anonymous(&ex, k.server_pk) == VEIL_OK);
	REQUIRE(envelope_seal_anonymous(&ex, 1234, NULL, inner, sizeof(inner), &frame) == VEIL_OK);
	uint8_t *bytes = (uint8_t *)frame.data;
	const size_t len = buf_len(&frame);
	REQUIRE(open_anonymous_bytes(bytes, len, k.server_sk, &opened, &sent_at, &server_ex) ==
	        VEIL_OK);
	buf_reset(&opened);

	/* Every byte past the header, low bit and high bit: the ephemeral
	 * key, the nonce, the box. */
	int refused = 0, tried = 0;
	for (size_t i = 6; i < len; i++) {
		for (unsigned bit = 0x01; bit <= 0x80; bit <<= 7) {
			bytes[i] ^= (uint8_t)bit;
			sent_at = 77;
			refused += open_anonymous_bytes(bytes, len, k.server_sk, &opened, &sent_at,
			                                &server_ex) == VEIL_ERR_VERIFY &&
			           buf_len(&opened) == 0 && sent_at == 0 &&
			           sodium_is_zero((const unsigned char *)&server_ex,
			                          sizeof(server_ex));
			tried++;
			bytes[i] ^= (uint8_t)bit;
		}
	}
	CHECK(refused == tried);

	/* Sealed to another server. */
	CHECK(open_anonymous_bytes(bytes, len, other.server_sk, &opened, &sent_at, &server_ex) ==
	      VEIL_ERR_VERIFY);
	/* A small-order ephemeral key. */
	memset(bytes + 6, 0, 32);
	CHECK(open_anonymous_bytes(bytes, len, k.server_sk, &opened, &sent_at, &server_ex) ==
	      VEIL_ERR_VERIFY);
	CHECK(buf_len(&opened) == 0);

	/* A box too short for sent_at (7 bytes), sealed by hand, does not
	 * open; one of sent_at alone opens to an empty inner message. */
	for (size_t plain_len = 7; plain_len <= 8; plain_len++) {
		uint8_t nonce[24], plain[8] = {0, 0, 0, 0, 0, 0, 0, 5}, box[8 + 16];
		randombytes_buf(nonce, sizeof(nonce));
		crypto_secretbox_easy(box, plain, plain_len, nonce, ex.request_key);
		const uint8_t header[] = {'V', 'E', 'I', 'L', 2, PROTO_FRAME_SEALED_ANONYMOUS};
		buf_reset(&frame);
		wire_put_bytes(&frame, header, sizeof(header));
		wire_put_bytes(&frame, ex.ephemeral_pk, 32);
		wire_put_bytes(&frame, nonce, sizeof(nonce));
		wire_put_bytes(&frame, box, plain_len + 16);
		buf_reset(&opened);
		CHECK(open_anonymous_bytes((const uint8_t *)buf_data(&frame), buf_len(&frame),
		                           k.server_sk, &opened, &sent_at, &server_ex) ==
		      (plain_len == 8 ? VEIL_OK : VEIL_ERR_VERIFY));
		CHECK(buf_len(&opened) == 0 && sent_at == (plain_len == 8 ? 5 : 0));
	}
	envelope_exchange_wipe(&ex);
	envelope_exchange_wipe(&server_ex);
	buf_free(&frame);
	buf_free(&opened);
}

/*
 * A SEALED_ANONYMOUS box never opens as a SEALED one, nor the reverse,
 * however the frame is typed: the two kinds derive their keys under
 * different labels. Without that, a SEALED box read as anonymous would
 * open, its client key taken for a time and an inner message.
 */
static void
case_anonymous_and_sealed_boxes_do_not_open_as_each_other(void)
{
	keys k;
	buf anonymous, sealed, swapped, opened;
	proto_frame af, sf;
	envelope_exchange ex, sealed_ex, server_ex;
	uint8_t client_pk[32], identity[ENVELOPE_KEY_SIZE];
	uint64_t sent_at;
	keys_make(&k);
	buf_init(&anonymous);
	buf_init(&sealed);
	buf_init(&swapped);
	buf_init(&opened);
	REQUIRE(envelope_exchange_begin_anonymous(&ex, k.server_pk) == VEIL_OK);
	REQUIRE(envelope_seal_anonymous(&ex, 1, NULL, inner, sizeof(inner), &anonymous) == VEIL_OK);
	REQUIRE(envelope_seal_request(k.client_pk, k.client_sk, k.server_pk, inner, sizeof(inner),
	                              &sealed, &sealed_ex) == VEIL_OK);
	REQUIRE(proto_frame_decode((const uint8_t *)buf_data(&anonymous), buf_len(&anonymous),
	                           &af) == VEIL_OK);
	REQUIRE(proto_frame_decode((const uint8_t *)buf_data(&sealed), buf_len(&sealed), &sf) ==
	        VEIL_OK);

	/* Each opener refuses the other's frame type outright. */
	CHECK(envelope_open_request(&af, k.server_sk, &opened, &sent_at, client_pk, &server_ex) ==
	      VEIL_ERR_ARGUMENT);
	CHECK(envelope_open_anonymous(&sf, k.server_sk, &opened, &sent_at, &server_ex) ==
	      VEIL_ERR_ARGUMENT);
	/* Retyped: the anonymous box as SEALED, the SEALED box as anonymous. */
	retype(&af, PROTO_FRAME_SEALED, af.ephemeral_key, &swapped);
	CHECK(open_request_bytes((const uint8_t *)buf_data(&swapped), buf_len(&swapped),
	                         k.server_sk, &opened, client_pk, &server_ex) == VEIL_ERR_VERIFY);
	retype(&sf, PROTO_FRAME_SEALED_ANONYMOUS, sf.ephemeral_key, &swapped);
	CHECK(open_anonymous_bytes((const uint8_t *)buf_data(&swapped), buf_len(&swapped),
	                           k.server_sk, &opened, &sent_at, &server_ex) == VEIL_ERR_VERIFY);
	CHECK(buf_len(&opened) == 0);

	/* One ephemeral key, the other kind's sealing: a request sealed under
	 * an anonymous exchange, and an anonymous box under a SEALED one. */
	REQUIRE(envelope_identity_key(k.server_pk, k.client_sk, identity) == VEIL_OK);
	buf_reset(&swapped);
	REQUIRE(envelope_seal_request_with(&ex, k.client_pk, identity, 1, NULL, inner,
	                                   sizeof(inner), &swapped) == VEIL_OK);
	CHECK(open_request_bytes((const uint8_t *)buf_data(&swapped), buf_len(&swapped),
	                         k.server_sk, &opened, client_pk, &server_ex) == VEIL_ERR_VERIFY);
	buf_reset(&swapped);
	REQUIRE(envelope_seal_anonymous(&sealed_ex, 1, NULL, inner, sizeof(inner), &swapped) ==
	        VEIL_OK);
	CHECK(open_anonymous_bytes((const uint8_t *)buf_data(&swapped), buf_len(&swapped),
	                           k.server_sk, &opened, &sent_at, &server_ex) == VEIL_ERR_VERIFY);
	CHECK(buf_len(&opened) == 0);
	/* The originals still open as their own kind. */
	CHECK(envelope_open_anonymous(&af, k.server_sk, &opened, &sent_at, &server_ex) == VEIL_OK);
	buf_reset(&opened);
	CHECK(envelope_open_request(&sf, k.server_sk, &opened, &sent_at, client_pk, &server_ex) ==
	      VEIL_OK);
	sodium_memzero(identity, sizeof(identity));
	envelope_exchange_wipe(&ex);
	envelope_exchange_wipe(&sealed_ex);
	envelope_exchange_wipe(&server_ex);
	buf_free(&anonymous);
	buf_free(&sealed);
	buf_free(&swapped);
	buf_free(&opened);
}

static void
case_anonymous_replies_open_only_in_their_exchange(void)
{
	keys k;
	buf frame, reply, opened, swapped;
	proto_frame f;
	envelope_exchange ex, ex2, sealed_ex, server_ex;
	uint64_t sent_at;
	uint16_t error_code;
	keys_make(&k);
	buf_init(&frame);
	buf_init(&reply);
	buf_init(&opened);
	buf_init(&swapped);
	REQUIRE(envelope_exchange_begin_anonymous(&ex, k.server_pk) == VEIL_OK);
	REQUIRE(envelope_exchange_begin_anonymous(&ex2, k.server_pk) == VEIL_OK);
	REQUIRE(envelope_exchange_begin(&sealed_ex, k.server_pk) == VEIL_OK);
	REQUIRE(envelope_seal_anonymous(&ex, 1, NULL, inner, sizeof(inner), &frame) == VEIL_OK);
	REQUIRE(open_anonymous_bytes((const uint8_t *)buf_data(&frame), buf_len(&frame),
	                             k.server_sk, &opened, &sent_at, &server_ex) == VEIL_OK);
	REQUIRE(envelope_seal_reply(&server_ex, inner, sizeof(inner), &reply) == VEIL_OK);
	buf_reset(&opened);

	/* Another anonymous exchange, a SEALED exchange: neither opens it. */
	CHECK(envelope_open_reply((const uint8_t *)buf_data(&reply), buf_len(&reply), &ex2, &opened,
	                          &error_code) == VEIL_ERR_VERIFY);
	CHECK(envelope_open_reply((const uint8_t *)buf_data(&reply), buf_len(&reply), &sealed_ex,
	                          &opened, &error_code) == VEIL_ERR_VERIFY);
	/* The request's own box, presented as a reply. */
	REQUIRE(proto_frame_decode((const uint8_t *)buf_data(&frame), buf_len(&frame), &f) ==
	        VEIL_OK);
	retype(&f, PROTO_FRAME_SEALED_REPLY, NULL, &swapped);
	CHECK(envelope_open_reply((const uint8_t *)buf_data(&swapped), buf_len(&swapped), &ex,
	                          &opened, &error_code) == VEIL_ERR_VERIFY);
	CHECK(buf_len(&opened) == 0);
	/* An anonymous request frame is no reply at all. */
	CHECK(envelope_open_reply((const uint8_t *)buf_data(&frame), buf_len(&frame), &ex, &opened,
	                          &error_code) == VEIL_ERR_PARSE);
	/* Its own exchange does. */
	CHECK(envelope_open_reply((const uint8_t *)buf_data(&reply), buf_len(&reply), &ex, &opened,
	                          &error_code) == VEIL_OK);
	CHECK(error_code == 0 && buf_len(&opened) == sizeof(inner));
	envelope_exchange_wipe(&ex);
	envelope_exchange_wipe(&ex2);
	envelope_exchange_wipe(&sealed_ex);
	envelope_exchange_wipe(&server_ex);
	buf_free(&frame);
	buf_free(&reply);
	buf_free(&opened);
	buf_free(&swapped);
}

/* Two anonymous seals of one message, even under one exchange, share no
 * bytes past the header, and no small-order server key begins one. */
static void
case_two_anonymous_seals_share_nothing_past_the_header(void)
{
	keys k;
	buf a, b;
	envelope_exchange ea, eb;
	uint8_t zero[32] = {0};
	keys_make(&k);
	buf_init(&a);
	buf_init(&b);
	REQUIRE(envelope_exchange_begin_anonymous(&ea, k.server_pk) == VEIL_OK);
	REQUIRE(envelope_exchange_begin_anonymous(&eb, k.server_pk) == VEIL_OK);
	REQUIRE(envelope_seal_anonymous(&ea, 7, NULL, inner, sizeof(inner), &a) == VEIL_OK);
	REQUIRE(envelope_seal_anonymous(&eb, 7, NULL, inner, sizeof(inner), &b) == VEIL_OK);
	const uint8_t *pa = (const uint8_t *)buf_data(&a), *pb = (const uint8_t *)buf_data(&b);
	CHECK(buf_len(&a) == buf_len(&b));
	CHECK(memcmp(pa, pb, PROTO_FRAME_HEADER_SIZE) == 0);
	CHECK(!test_share_run(pa, buf_len(&a), pb, buf_len(&b), PROTO_FRAME_HEADER_SIZE));
	CHECK(envelope_exchange_begin_anonymous(&ea, zero) == VEIL_ERR_CRYPTO);
	CHECK(sodium_is_zero((const unsigned char *)&ea, sizeof(ea)));
	envelope_exchange_wipe(&eb);
	buf_free(&a);
	buf_free(&b);
}

static void
case_anonymous_frame_header_and_body(void)
{
	uint8_t frame[6 + 32 + 24 + 16] = {'V', 'E', 'I', 'L', 2, PROTO_FRAME_SEALED_ANONYMOUS};
	proto_frame f;
	CHECK(proto_frame_has_header(frame, sizeof(frame)));
	CHECK(!proto_frame_is_old_version(frame, sizeof(frame)));
	CHECK(proto_frame_decode(frame, sizeof(frame), &f) == VEIL_OK);
	CHECK(f.type == PROTO_FRAME_SEALED_ANONYMOUS && f.box_len == 16);
	CHECK(f.ephemeral_key == frame + 6 && f.nonce == frame + 38 && f.box == frame + 62);
	/* A body one byte short of a MAC. */
	memset(&f, 0x55, sizeof(f));
	CHECK(proto_frame_decode(frame, sizeof(frame) - 1, &f) == VEIL_ERR_PARSE);
	CHECK(sodium_is_zero((const unsigned char *)&f, sizeof(f)));
	/* Type 0x05 is still no frame type. */
	frame[5] = 0x05;
	CHECK(!proto_frame_has_header(frame, sizeof(frame)));
}

/* Identity caches ------------------------------------------------------ */

/* Decodes and opens a request frame with cache; the open's result. */
static veil_err
open_cached_bytes(const buf *frame, const uint8_t server_sk[32], envelope_identity_cache *cache,
                  buf *opened, uint64_t *sent_at, uint8_t client_pk[32], envelope_exchange *ex)
{
	proto_frame f;
	if (proto_frame_decode((const uint8_t *)buf_data(frame), buf_len(frame), &f) != VEIL_OK)
		return VEIL_ERR_PARSE;
	return envelope_open_request_cached(&f, server_sk, cache, opened, sent_at, client_pk, ex);
}

/* A fresh request of client c to server s (s's keys in *s), in *frame. */
static int
seal_fresh(const keys *c, const keys *s, buf *frame)
{
	envelope_exchange ex;
	buf_reset(frame);
	const veil_err err = envelope_seal_request(c->client_pk, c->client_sk, s->server_pk, inner,
	                                           sizeof(inner), frame, &ex);
	envelope_exchange_wipe(&ex);
	return err == VEIL_OK;
}

/* 1 when client c's fresh request opens at server s through cache as
 * from c, with the inner message sealed. */
static int
opens_as(const keys *c, const keys *s, envelope_identity_cache *cache)
{
	buf frame, opened;
	envelope_exchange ex;
	uint8_t client_pk[32];
	uint64_t sent_at;
	buf_init(&frame);
	buf_init(&opened);
	const int ok = seal_fresh(c, s, &frame) &&
	               open_cached_bytes(&frame, s->server_sk, cache, &opened, &sent_at, client_pk,
	                                 &ex) == VEIL_OK &&
	               memcmp(client_pk, c->client_pk, 32) == 0 &&
	               buf_len(&opened) == sizeof(inner) &&
	               memcmp(buf_data(&opened), inner, sizeof(inner)) == 0;
	envelope_exchange_wipe(&ex);
	buf_free(&frame);
	buf_free(&opened);
	return ok;
}

static envelope_identity_cache_stats
stats_of(const envelope_identity_cache *cache)
{
	envelope_identity_cache_stats st;
	envelope_identity_cache_stats_get(cache, &st);
	return st;
}

/* Whatever the cache holds, an open through it gives exactly what
 * envelope_open_request() gives; a client's second request is a hit. */
static void
case_a_cached_open_gives_what_an_uncached_one_gives(void)
{
	keys k;
	buf frame, plain, cached;
	envelope_exchange plain_ex, cached_ex;
	uint8_t plain_pk[32], cached_pk[32];
	uint64_t plain_at, cached_at;
	envelope_identity_cache *cache = NULL;
	keys_make(&k);
	buf_init(&frame);
	buf_init(&plain);
	buf_init(&cached);
	REQUIRE(envelope_identity_cache_new(512, &cache) == VEIL_OK);
	envelope_identity_cache_stats st = stats_of(cache);
	CHECK(st.hits == 0 && st.misses == 0 && st.entries == 0 && st.capacity == 512);

	/* A miss (stored), then a hit: both as the uncached open. */
	for (int round = 0; round < 2; round++) {
		REQUIRE(seal_fresh(&k, &k, &frame));
		/* Something already in the output buffers stays in front. */
		buf_reset(&plain);
		buf_reset(&cached);
		wire_put_bytes(&plain, (const uint8_t *)"ab", 2);
		wire_put_bytes(&cached, (const uint8_t *)"ab", 2);
		proto_frame f;
		REQUIRE(proto_frame_decode((const uint8_t *)buf_data(&frame), buf_len(&frame),
		                           &f) == VEIL_OK);
		REQUIRE(envelope_open_request(&f, k.server_sk, &plain, &plain_at, plain_pk,
		                              &plain_ex) == VEIL_OK);
		REQUIRE(envelope_open_request_cached(&f, k.server_sk, cache, &cached, &cached_at,
		                                     cached_pk, &cached_ex) == VEIL_OK);
		CHECK(buf_len(&plain) == 2 + sizeof(inner) && buf_len(&cached) == buf_len(&plain) &&
		      memcmp(buf_data(&plain), buf_data(&cached), buf_len(&plain)) == 0);
		CHECK(plain_at == cached_at && plain_at != 0);
		CHECK(memcmp(plain_pk, cached_pk, 32) == 0 &&
		      memcmp(cached_pk, k.client_pk, 32) == 0);
		CHECK(memcmp(&plain_ex, &cached_ex, sizeof(plain_ex)) == 0);
		st = stats_of(cache);
		CHECK(st.misses == 1 && st.hits == (uint64_t)round && st.entries == 1);
		envelope_exchange_wipe(&plain_ex);
		envelope_exchange_wipe(&cached_ex);
	}
	/* The same frame again (a replay is the replay guard's to refuse)
	 * and a NULL cache: as envelope_open_request(). */
	buf_reset(&cached);
	CHECK(open_cached_bytes(&frame, k.server_sk, cache, &cached, &cached_at, cached_pk,
	                        &cached_ex) == VEIL_OK);
	CHECK(stats_of(cache).hits == 2);
	buf_reset(&cached);
	CHECK(open_cached_bytes(&frame, k.server_sk, NULL, &cached, &cached_at, cached_pk,
	                        &cached_ex) == VEIL_OK);
	CHECK(buf_len(&cached) == sizeof(inner));
	CHECK(stats_of(cache).hits == 2 && stats_of(cache).misses == 1);
	/* Not a SEALED frame: refused before the cache. */
	proto_frame f;
	REQUIRE(proto_frame_decode((const uint8_t *)buf_data(&frame), buf_len(&frame), &f) ==
	        VEIL_OK);
	f.type = PROTO_FRAME_SEALED_ANONYMOUS;
	CHECK(envelope_open_request_cached(&f, k.server_sk, cache, &cached, &cached_at, cached_pk,
	                                   &cached_ex) == VEIL_ERR_ARGUMENT);
	envelope_exchange_wipe(&cached_ex);
	envelope_identity_cache_free(cache);
	envelope_identity_cache_free(NULL);
	buf_free(&frame);
	buf_free(&plain);
	buf_free(&cached);
}

/*
 * A request claiming a cached client's key with a proof under another
 * key is refused, and the entry stays: the client's next request is
 * still a hit. So is one claiming a small-order key (all zero: an empty
 * entry's) with a proof under an all-zero key, on an empty cache and on
 * a used one.
 */
static void
case_a_forged_proof_of_a_cached_client_is_refused_and_evicts_nothing(void)
{
	keys k, other;
	buf frame, opened;
	envelope_exchange ex, server_ex;
	uint8_t identity[ENVELOPE_KEY_SIZE], client_pk[32];
	const uint8_t zero[32] = {0};
	uint64_t sent_at;
	envelope_identity_cache *cache = NULL;
	keys_make(&k);
	keys_make(&other);
	buf_init(&frame);
	buf_init(&opened);
	REQUIRE(envelope_identity_cache_new(2, &cache) == VEIL_OK);
	REQUIRE(envelope_exchange_begin(&ex, k.server_pk) == VEIL_OK);

	/* All zero: the key an empty entry holds, the proof under its
	 * all-zero identity, on an empty cache. */
	REQUIRE(envelope_seal_request_with(&ex, zero, zero, 1, NULL, inner, sizeof(inner),
	                                   &frame) == VEIL_OK);
	CHECK(open_cached_bytes(&frame, k.server_sk, cache, &opened, &sent_at, client_pk,
	                        &server_ex) == VEIL_ERR_VERIFY);
	CHECK(stats_of(cache).entries == 0 && stats_of(cache).hits == 0);

	REQUIRE(opens_as(&k, &k, cache));
	CHECK(stats_of(cache).entries == 1 && stats_of(cache).misses == 2);

	/* k's key, another client's proof. */
	REQUIRE(envelope_identity_key(k.server_pk, other.client_sk, identity) == VEIL_OK);
	buf_reset(&frame);
	REQUIRE(envelope_seal_request_with(&ex, k.client_pk, identity, 1, NULL, inner,
	                                   sizeof(inner), &frame) == VEIL_OK);
	buf_reset(&opened);
	wire_put_bytes(&opened, (const uint8_t *)"ab", 2);
	CHECK(open_cached_bytes(&frame, k.server_sk, cache, &opened, &sent_at, client_pk,
	                        &server_ex) == VEIL_ERR_VERIFY);
	CHECK(buf_len(&opened) == 2 && sent_at == 0 && sodium_is_zero(client_pk, 32) &&
	      sodium_is_zero((const unsigned char *)&server_ex, sizeof(server_ex)));
	envelope_identity_cache_stats st = stats_of(cache);
	CHECK(st.hits == 0 && st.misses == 3 && st.entries == 1);
	/* The all-zero one again, now that the cache is in use. */
	buf_reset(&frame);
	REQUIRE(envelope_seal_request_with(&ex, zero, zero, 1, NULL, inner, sizeof(inner),
	                                   &frame) == VEIL_OK);
	CHECK(open_cached_bytes(&frame, k.server_sk, cache, &opened, &sent_at, client_pk,
	                        &server_ex) == VEIL_ERR_VERIFY);
	/* k's own next request: a hit, its entry untouched. */
	CHECK(opens_as(&k, &k, cache));
	st = stats_of(cache);
	CHECK(st.hits == 1 && st.misses == 4 && st.entries == 1);
	sodium_memzero(identity, sizeof(identity));
	envelope_exchange_wipe(&ex);
	envelope_identity_cache_free(cache);
	buf_free(&frame);
	buf_free(&opened);
}

/*
 * The smallest cache, one set of two: every client shares it. Two
 * clients are both remembered; a third takes one's place; every request
 * of each opens as its own all along.
 */
static void
case_clients_sharing_a_set_all_open_right(void)
{
	keys a, b, c;
	envelope_identity_cache *cache = NULL;
	keys_make(&a);
	keys_make(&b);
	keys_make(&c);
	/* One server for all: a's. */
	memcpy(b.server_pk, a.server_pk, 32);
	memcpy(b.server_sk, a.server_sk, 32);
	memcpy(c.server_pk, a.server_pk, 32);
	memcpy(c.server_sk, a.server_sk, 32);
	REQUIRE(envelope_identity_cache_new(2, &cache) == VEIL_OK);
	CHECK(stats_of(cache).capacity == 2);

	CHECK(opens_as(&a, &a, cache));
	CHECK(opens_as(&b, &a, cache));
	CHECK(opens_as(&a, &a, cache));
	CHECK(opens_as(&b, &a, cache));
	envelope_identity_cache_stats st = stats_of(cache);
	CHECK(st.misses == 2 && st.hits == 2 && st.entries == 2);
	/* c replaces a or b; all three still open as themselves. */
	CHECK(opens_as(&c, &a, cache));
	CHECK(opens_as(&c, &a, cache));
	CHECK(opens_as(&a, &a, cache));
	CHECK(opens_as(&b, &a, cache));
	st = stats_of(cache);
	CHECK(st.entries == 2 && st.hits + st.misses == 8 && st.misses >= 4 && st.hits >= 2);
	envelope_identity_cache_free(cache);
}

/*
 * A cache holds one server key's entries. Server one's operator knows
 * the identity key of each of its clients with server one, and forges
 * a request to server two claiming client c under that key: refused by
 * server two, with or without the cache filled at server one. Then c's
 * requests to two open (a miss, then a hit), and back at one it is a
 * miss again: the cache was emptied when it changed servers.
 */
static void
case_a_cache_holds_one_server_keys_entries(void)
{
	keys c, one, two;
	buf frame, opened;
	envelope_exchange ex, server_ex;
	uint8_t identity[ENVELOPE_KEY_SIZE], client_pk[32];
	uint64_t sent_at;
	envelope_identity_cache *cache = NULL;
	keys_make(&c);
	keys_make(&one);
	keys_make(&two);
	buf_init(&frame);
	buf_init(&opened);
	REQUIRE(envelope_identity_cache_new(512, &cache) == VEIL_OK);
	REQUIRE(opens_as(&c, &one, cache));
	REQUIRE(opens_as(&c, &one, cache));
	CHECK(stats_of(cache).hits == 1 && stats_of(cache).entries == 1);

	/* One's operator: c's identity with one, from one's secret key. */
	REQUIRE(envelope_identity_key(c.client_pk, one.server_sk, identity) == VEIL_OK);
	REQUIRE(envelope_exchange_begin(&ex, two.server_pk) == VEIL_OK);
	REQUIRE(envelope_seal_request_with(&ex, c.client_pk, identity, 1, NULL, inner,
	                                   sizeof(inner), &frame) == VEIL_OK);
	CHECK(open_cached_bytes(&frame, two.server_sk, NULL, &opened, &sent_at, client_pk,
	                        &server_ex) == VEIL_ERR_VERIFY);
	CHECK(open_cached_bytes(&frame, two.server_sk, cache, &opened, &sent_at, client_pk,
	                        &server_ex) == VEIL_ERR_VERIFY);
	CHECK(buf_len(&opened) == 0);
	CHECK(stats_of(cache).entries == 0 && stats_of(cache).hits == 1);

	CHECK(opens_as(&c, &two, cache));
	CHECK(opens_as(&c, &two, cache));
	envelope_identity_cache_stats st = stats_of(cache);
	CHECK(st.hits == 2 && st.misses == 3 && st.entries == 1);
	CHECK(opens_as(&c, &one, cache));
	st = stats_of(cache);
	CHECK(st.hits == 2 && st.misses == 4 && st.entries == 1);
	sodium_memzero(identity, sizeof(identity));
	envelope_exchange_wipe(&ex);
	envelope_identity_cache_free(cache);
	buf_free(&frame);
	buf_free(&opened);
}

typedef struct cache_size_row {
	const char *name;
	size_t asked;
	veil_err expected;
	uint64_t capacity;
} cache_size_row;

static const cache_size_row cache_size_rows[] = {
        {"none", 0, VEIL_ERR_ARGUMENT, 0},
        {"less than a set", 1, VEIL_ERR_ARGUMENT, 0},
        {"one set", 2, VEIL_OK, 2},
        {"rounded up to a power of two", 3, VEIL_OK, 4},
        {"a power of two", 512, VEIL_OK, 512},
        {"the most", ENVELOPE_IDENTITY_CACHE_MAX_ENTRIES, VEIL_OK,
         ENVELOPE_IDENTITY_CACHE_MAX_ENTRIES},
        {"past the most", ENVELOPE_IDENTITY_CACHE_MAX_ENTRIES + 1, VEIL_ERR_ARGUMENT, 0},
};

static int
check_cache_size(const void *row)
{
	const cache_size_row *r = row;
	envelope_identity_cache *cache = (envelope_identity_cache *)&cache;
	const veil_err err = envelope_identity_cache_new(r->asked, &cache);
	const int ok = err == r->expected &&
	               (err != VEIL_OK ? cache == NULL : stats_of(cache).capacity == r->capacity);
	envelope_identity_cache_free(cache);
	return ok;
}

TEST_ROWS_CASE(case_identity_cache_sizes, cache_size_rows, check_cache_size)

static const test_case cases[] = {
        {"request and reply round trip", case_request_and_reply_round_trip},
        {"tampered or misaddressed requests do not open",
         case_tampered_or_misaddressed_requests_do_not_open},
        {"a claimed client key needs its own proof", case_a_claimed_client_key_needs_its_own_proof},
        {"an identity proof cannot move to another ephemeral key",
         case_an_identity_proof_cannot_move_to_another_ephemeral_key},
        {"replies open only in their exchange and direction",
         case_replies_open_only_in_their_exchange_and_direction},
        {"two seals of one message share nothing past the header",
         case_two_seals_of_one_message_share_nothing_past_the_header},
        {"frame headers", case_frame_headers},
        {"error frames", case_error_frames},
        {"anonymous request and reply round trip", case_anonymous_request_and_reply_round_trip},
        {"tampered or misaddressed anonymous requests do not open",
         case_tampered_or_misaddressed_anonymous_requests_do_not_open},
        {"anonymous and sealed boxes do not open as each other",
         case_anonymous_and_sealed_boxes_do_not_open_as_each_other},
        {"anonymous replies open only in their exchange",
         case_anonymous_replies_open_only_in_their_exchange},
        {"two anonymous seals share nothing past the header",
         case_two_anonymous_seals_share_nothing_past_the_header},
        {"anonymous frame header and body", case_anonymous_frame_header_and_body},
        {"a cached open gives what an uncached one gives",
         case_a_cached_open_gives_what_an_uncached_one_gives},
        {"a forged proof of a cached client is refused and evicts nothing",
         case_a_forged_proof_of_a_cached_client_is_refused_and_evicts_nothing},
        {"clients sharing a set all open right", case_clients_sharing_a_set_all_open_right},
        {"a cache holds one server key's entries", case_a_cache_holds_one_server_keys_entries},
        {"identity cache sizes", case_identity_cache_sizes},
};

TEST_MAIN(cases)

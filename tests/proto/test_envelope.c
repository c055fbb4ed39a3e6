/*
 * Frames and sealing: round trips both ways, and every way a frame can be
 * wrong: bad header, short body, trailing bytes, tampered box, wrong key.
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

static void
case_request_and_reply_round_trip(void)
{
	keys k;
	buf frame, opened, reply, reply_opened;
	proto_frame f;
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
	                            &frame) == VEIL_OK);
	const uint64_t after = (uint64_t)time(NULL);
	CHECK(buf_len(&frame) == 6 + 32 + 24 + 16 + 8 + sizeof(inner));
	CHECK(proto_frame_decode((const uint8_t *)buf_data(&frame), buf_len(&frame), &f) ==
	      VEIL_OK);
	CHECK(f.type == PROTO_FRAME_SEALED);
	CHECK(memcmp(f.client_key, k.client_pk, 32) == 0);
	REQUIRE(envelope_open_request(&f, k.server_sk, &opened, &sent_at) == VEIL_OK);
	CHECK(buf_len(&opened) == sizeof(inner) &&
	      memcmp(buf_data(&opened), inner, sizeof(inner)) == 0);
	CHECK(sent_at >= before && sent_at <= after);

	CHECK(envelope_seal_reply(f.client_key, k.server_sk, inner, sizeof(inner), &reply) ==
	      VEIL_OK);
	CHECK(envelope_open_reply((const uint8_t *)buf_data(&reply), buf_len(&reply), k.server_pk,
	                          k.client_sk, &reply_opened, &error_code) == VEIL_OK);
	CHECK(error_code == 0);
	CHECK(buf_len(&reply_opened) == sizeof(inner));
	buf_free(&frame);
	buf_free(&opened);
	buf_free(&reply);
	buf_free(&reply_opened);
}

static void
case_tampered_or_misaddressed_boxes_do_not_open(void)
{
	keys k, other;
	buf frame, opened;
	proto_frame f;
	uint64_t sent_at;
	keys_make(&k);
	keys_make(&other);
	buf_init(&frame);
	buf_init(&opened);
	REQUIRE(envelope_seal_request(k.client_pk, k.client_sk, k.server_pk, inner, sizeof(inner),
	                              &frame) == VEIL_OK);
	uint8_t *bytes = (uint8_t *)frame.data;
	const size_t len = buf_len(&frame);

	/* Every single-bit flip past the header breaks the box (or the
	 * claimed client key, which breaks it too). */
	for (size_t i = 6; i < len; i += 7) {
		bytes[i] ^= 0x01;
		REQUIRE(proto_frame_decode(bytes, len, &f) == VEIL_OK);
		CHECK(envelope_open_request(&f, k.server_sk, &opened, &sent_at) == VEIL_ERR_VERIFY);
		CHECK(buf_len(&opened) == 0);
		bytes[i] ^= 0x01;
	}
	/* Sealed to another server. */
	REQUIRE(proto_frame_decode(bytes, len, &f) == VEIL_OK);
	CHECK(envelope_open_request(&f, other.server_sk, &opened, &sent_at) == VEIL_ERR_VERIFY);

	/* A reply opened under the wrong pinned key. */
	buf reply;
	uint16_t error_code;
	buf_init(&reply);
	REQUIRE(envelope_seal_reply(k.client_pk, other.server_sk, inner, sizeof(inner), &reply) ==
	        VEIL_OK);
	CHECK(envelope_open_reply((const uint8_t *)buf_data(&reply), buf_len(&reply), k.server_pk,
	                          k.client_sk, &opened, &error_code) == VEIL_ERR_VERIFY);
	CHECK(buf_len(&opened) == 0);
	buf_free(&reply);
	buf_free(&frame);
	buf_free(&opened);
}

static void
case_frame_headers(void)
{
	uint8_t frame[6 + 32 + 24 + 16] = {'V', 'E', 'I', 'L', 1, PROTO_FRAME_SEALED};
	proto_frame f;
	CHECK(proto_frame_has_header(frame, sizeof(frame)));
	CHECK(proto_frame_decode(frame, sizeof(frame), &f) == VEIL_OK);
	CHECK(f.box_len == 16);

	CHECK(!proto_frame_has_header(frame, 5));
	frame[0] = 'X';
	CHECK(!proto_frame_has_header(frame, sizeof(frame)));
	CHECK(proto_frame_decode(frame, sizeof(frame), &f) == VEIL_ERR_PARSE);
	frame[0] = 'V';
	frame[4] = 2; /* version */
	CHECK(!proto_frame_has_header(frame, sizeof(frame)));
	frame[4] = 1;
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
	uint8_t key[32] = {0};
	buf_init(&b);
	buf_init(&opened);
	envelope_error_frame(&b, 7);
	CHECK(buf_len(&b) == 8);
	CHECK(envelope_open_reply((const uint8_t *)buf_data(&b), buf_len(&b), key, key, &opened,
	                          &code) == VEIL_OK);
	CHECK(code == 7 && buf_len(&opened) == 0);
	/* A trailing byte makes it no frame. */
	wire_put_u8(&b, 0);
	CHECK(envelope_open_reply((const uint8_t *)buf_data(&b), buf_len(&b), key, key, &opened,
	                          &code) == VEIL_ERR_PARSE);
	buf_free(&b);
	buf_free(&opened);
}

static const test_case cases[] = {
        {"request and reply round trip", case_request_and_reply_round_trip},
        {"tampered or misaddressed boxes do not open",
         case_tampered_or_misaddressed_boxes_do_not_open},
        {"frame headers", case_frame_headers},
        {"error frames", case_error_frames},
};

TEST_MAIN(cases)

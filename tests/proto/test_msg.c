/*
 * The inner-message codec: round trips, and for every decoder truncated,
 * oversized, trailing and wrong-type input, each leaving the output zeroed.
 * The tokens-mode messages (TOKEN_ISSUE, its reply, LOOKUP_TOKEN) too:
 * counts 0, at and above their cap, and tokens of another type.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "msg.h"
#include "wire.h"

#define NE 32

static const uint8_t request_id[PROTO_REQUEST_ID_SIZE] = {1, 2,  3,  4,  5,  6,  7,  8,
                                                          9, 10, 11, 12, 13, 14, 15, 16};

static int
msg_is_zero(const proto_msg *m)
{
	return sodium_is_zero((const unsigned char *)m, sizeof(*m));
}

static void
encode_sample_lookup(buf *b, uint16_t count)
{
	uint32_t prefixes[8];
	uint8_t elements[8 * NE];
	for (size_t i = 0; i < count; i++) {
		prefixes[i] = (uint32_t)(i + 1) << 20;
		memset(elements + i * NE, (int)(0x10 + i), NE);
	}
	proto_encode_lookup(b, request_id, PROTO_SUITE_RISTRETTO255_SHA512, OPRF_MODE_VOPRF, 7, 12,
	                    count, prefixes, elements);
}

static void
case_lookup_round_trip(void)
{
	buf b;
	proto_msg m;
	buf_init(&b);
	encode_sample_lookup(&b, 3);
	REQUIRE(buf_error(&b) == VEIL_OK);
	CHECK(buf_len(&b) == 1 + 16 + 1 + 1 + 4 + 1 + 2 + 3 * (4 + NE));
	CHECK(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_OK);
	CHECK(m.type == PROTO_MSG_LOOKUP);
	CHECK(memcmp(m.request_id, request_id, sizeof(request_id)) == 0);
	CHECK(m.u.lookup.key_id == 7 && m.u.lookup.prefix_bits == 12 && m.u.lookup.count == 3);
	CHECK(m.u.lookup.mode == OPRF_MODE_VOPRF);
	for (size_t i = 0; i < 3; i++) {
		uint32_t prefix;
		const uint8_t *element;
		proto_lookup_item(&m.u.lookup, i, &prefix, &element);
		CHECK(prefix == (uint32_t)(i + 1) << 20);
		CHECK(element[0] == 0x10 + i && element[NE - 1] == 0x10 + i);
	}
	buf_free(&b);
}

static void
case_every_truncation_fails_cleanly(void)
{
	buf b;
	buf_init(&b);
	encode_sample_lookup(&b, 2);
	const uint8_t *data = (const uint8_t *)buf_data(&b);
	for (size_t len = 0; len < buf_len(&b); len++) {
		proto_msg m;
		memset(&m, 0x77, sizeof(m));
		CHECK(proto_msg_decode(data, len, &m) == VEIL_ERR_PARSE);
		CHECK(msg_is_zero(&m));
	}
	buf_free(&b);
}

static void
case_trailing_byte_fails(void)
{
	buf b;
	proto_msg m;
	buf_init(&b);
	encode_sample_lookup(&b, 2);
	wire_put_u8(&b, 0);
	CHECK(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_ERR_PARSE);
	CHECK(msg_is_zero(&m));

	buf_reset(&b);
	proto_encode_info(&b, request_id);
	CHECK(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_OK);
	wire_put_u8(&b, 0);
	CHECK(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_ERR_PARSE);
	buf_free(&b);
}

/* Rewrites one byte of an encoded lookup and expects err. */
static void
check_patched_lookup(size_t offset, uint8_t value, veil_err want)
{
	buf b;
	proto_msg m;
	buf_init(&b);
	encode_sample_lookup(&b, 2);
	((uint8_t *)b.data)[offset] = value;
	memset(&m, 0x77, sizeof(m));
	CHECK(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == want);
	if (want != VEIL_OK)
		CHECK(msg_is_zero(&m));
	buf_free(&b);
}

static void
case_fields_out_of_range(void)
{
	/* Layout: type 0 | id 1..16 | suite 17 | mode 18 | key 19..22 |
	 * bits 23 | count 24..25 | items. */
	check_patched_lookup(0, 0x7e, VEIL_ERR_PARSE);     /* unknown type */
	check_patched_lookup(17, 9, VEIL_ERR_UNSUPPORTED); /* unknown suite */
	check_patched_lookup(18, OPRF_MODE_POPRF, VEIL_ERR_UNSUPPORTED);
	check_patched_lookup(23, 33, VEIL_ERR_PARSE);   /* prefix bits */
	check_patched_lookup(25, 0, VEIL_ERR_PARSE);    /* count 0 */
	check_patched_lookup(25, 3, VEIL_ERR_PARSE);    /* count past the data */
	check_patched_lookup(24, 0xff, VEIL_ERR_LIMIT); /* count above the codec's cap */
	check_patched_lookup(23, 32, VEIL_OK);
}

static void
case_info_reply_round_trip_and_checks(void)
{
	proto_info_reply info;
	memset(&info, 0, sizeof(info));
	info.p_min = 4;
	info.p_recommended = 10;
	info.p_max = 12;
	info.batch_cap = 256;
	info.tag_len = 8;
	info.payload_size = 105;
	info.key_count = 2;
	for (size_t i = 0; i < 2; i++) {
		info.keys[i].key_id = (uint32_t)(i + 1);
		info.keys[i].suite = PROTO_SUITE_RISTRETTO255_SHA512;
		info.keys[i].modes = 3;
		info.keys[i].pk_len = NE;
		memset(info.keys[i].pk, (int)i + 1, NE);
	}
	buf b;
	proto_msg m;
	buf_init(&b);
	proto_encode_info_reply(&b, request_id, &info);
	CHECK(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_OK);
	CHECK(m.type == PROTO_MSG_INFO_REPLY);
	CHECK(memcmp(&m.u.info_reply, &info, sizeof(info)) == 0);

	/* p_min above p_recommended is refused. */
	((uint8_t *)b.data)[17] = 11;
	CHECK(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_ERR_PARSE);
	((uint8_t *)b.data)[17] = 4;
	/* A tag shorter than 8 bytes is refused. */
	((uint8_t *)b.data)[22] = 7;
	CHECK(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_ERR_PARSE);
	CHECK(msg_is_zero(&m));
	buf_free(&b);
}

static void
case_lookup_reply_sizes(void)
{
	buf b;
	proto_msg m;
	const uint16_t count = 2, slots = 8, entry_size = 8;
	buf_init(&b);
	proto_encode_lookup_reply_head(&b, request_id, PROTO_SUITE_RISTRETTO255_SHA512,
	                               OPRF_MODE_VOPRF, 1, count, slots, entry_size);
	for (size_t i = 0; i < count; i++) {
		uint8_t item[NE + 8 * 8];
		memset(item, (int)i, sizeof(item));
		wire_put_bytes(&b, item, sizeof(item));
	}
	uint8_t proof[64] = {9};
	wire_put_bytes(&b, proof, sizeof(proof));
	CHECK(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_OK);
	CHECK(m.u.lookup_reply.slots == slots && m.u.lookup_reply.proof_size == 64);
	const uint8_t *element, *entries;
	proto_lookup_reply_item(&m.u.lookup_reply, 1, &element, &entries);
	CHECK(element[0] == 1 && entries[0] == 1 && entries - element == NE);
	/* Without its proof the VOPRF reply is truncated. */
	CHECK(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b) - 64, &m) ==
	      VEIL_ERR_PARSE);
	buf_free(&b);
}

static void
case_items_size_refuses_a_product_past_size_t(void)
{
	size_t n = 7;
	CHECK(proto_items_size(SIZE_MAX / 2 + 1, 2, &n) == -1 && n == 7);
	CHECK(proto_items_size(2, SIZE_MAX / 2 + 1, &n) == -1 && n == 7);
	CHECK(proto_items_size(SIZE_MAX / 3, 3, &n) == 0 && n == SIZE_MAX / 3 * 3);
	CHECK(proto_items_size(SIZE_MAX, 0, &n) == 0 && n == 0);
	CHECK(proto_items_size(0, SIZE_MAX, &n) == 0 && n == 0);
	/* The largest reply the format allows fits only a 64-bit size_t. */
	const size_t largest_item = NE + (size_t)65535 * (PROTO_MAX_TAG + PROTO_MAX_PAYLOAD_SIZE);
	const int fits = SIZE_MAX / PROTO_MAX_BATCH >= largest_item;
	CHECK(proto_items_size(PROTO_MAX_BATCH, largest_item, &n) == (fits ? 0 : -1));
	CHECK(!fits || n == (size_t)PROTO_MAX_BATCH * largest_item);
}

/*
 * 4096 items of 32 + 65534 * 16 = 2^20 bytes: 2^32 bytes in all, which a
 * 32-bit size_t would wrap to 0, letting an empty body pass for them.
 */
static void
case_lookup_reply_whose_size_wraps_32_bits_is_refused(void)
{
	buf b;
	proto_msg m;
	buf_init(&b);
	proto_encode_lookup_reply_head(&b, request_id, PROTO_SUITE_RISTRETTO255_SHA512,
	                               OPRF_MODE_OPRF, 1, PROTO_MAX_BATCH, 65534, 16);
	REQUIRE(buf_error(&b) == VEIL_OK);
	CHECK((uint64_t)PROTO_MAX_BATCH * (NE + 65534 * 16) == (uint64_t)1 << 32);
	memset(&m, 0x77, sizeof(m));
	CHECK(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_ERR_PARSE);
	CHECK(msg_is_zero(&m));
	/* And the largest counts, slots and entry size the format allows. */
	buf_reset(&b);
	proto_encode_lookup_reply_head(&b, request_id, PROTO_SUITE_RISTRETTO255_SHA512,
	                               OPRF_MODE_VOPRF, 1, PROTO_MAX_BATCH, 65535,
	                               PROTO_MAX_TAG + PROTO_MAX_PAYLOAD_SIZE);
	uint8_t some[4096] = {0};
	wire_put_bytes(&b, some, sizeof(some));
	CHECK(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_ERR_PARSE);
	CHECK(msg_is_zero(&m));
	buf_free(&b);
}

static void
case_error_round_trip(void)
{
	buf b;
	proto_msg m;
	buf_init(&b);
	proto_encode_error(&b, request_id, PROTO_STATUS_BUSY, 30);
	CHECK(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_OK);
	CHECK(m.type == PROTO_MSG_ERROR && m.u.error.code == PROTO_STATUS_BUSY &&
	      m.u.error.retry_after == 30);
	CHECK(strcmp(proto_status_str(PROTO_STATUS_BUSY), "server busy") == 0);
	CHECK(strcmp(proto_status_str(999), "unknown status") == 0);
	buf_free(&b);
}

static void
case_reader_consumes_nothing_on_failure(void)
{
	const uint8_t bytes[3] = {0xaa, 0xbb, 0xcc};
	wire_reader r;
	uint32_t v32 = 5;
	uint16_t v16;
	wire_reader_init(&r, bytes, sizeof(bytes));
	CHECK(wire_get_u32(&r, &v32) == -1);
	CHECK(v32 == 5 && r.left == 3 && r.p == bytes);
	CHECK(wire_get_u16(&r, &v16) == 0 && v16 == 0xaabb && r.left == 1);
}

typedef struct class_row {
	const char *name;
	uint32_t count, cap, size_class;
} class_row;

/* The least class holding count items, and which counts are classes. */
static const class_row class_rows[] = {
        {"no items", 0, 256, 0},
        {"one item", 1, 256, 1},
        {"two items", 2, 256, 2},
        {"three items fill four", 3, 256, 4},
        {"a power of two is its own class", 64, 256, 64},
        {"one past a power of two", 129, 256, 256},
        {"the cap", 256, 256, 256},
        {"above the cap", 257, 256, 0},
        {"under a cap that is no power of two", 600, 1000, 1000},
        {"a power of two under that cap", 300, 1000, 512},
        {"the codec's cap", PROTO_MAX_BATCH, PROTO_MAX_BATCH, PROTO_MAX_BATCH},
        {"past 2^31 under the largest cap", 0x80000001u, UINT32_MAX, UINT32_MAX},
};

static int
check_class(const void *p)
{
	const class_row *row = p;
	const uint32_t got = proto_size_class(row->count, row->cap);
	const int is_class = row->count != 0 && row->size_class == row->count;
	if (got != row->size_class)
		printf("# %s: class %u, expected %u\n", row->name, got, row->size_class);
	return got == row->size_class && proto_is_size_class(row->count, row->cap) == is_class;
}

TEST_ROWS_CASE(case_size_classes, class_rows, check_class)

/* A wire suite number: the suite it names (NULL: none), its Ne and Ns. */
typedef struct suite_row {
	const char *name;
	uint8_t id;
	const char *suite;
	size_t ne, ns;
} suite_row;

static const suite_row suite_rows[] = {
        {"1: ristretto255-SHA512", PROTO_SUITE_RISTRETTO255_SHA512, "ristretto255-SHA512", 32, 32},
        {"2: P256-SHA256", PROTO_SUITE_P256_SHA256, "P256-SHA256", 33, 32},
        {"3: P384-SHA384", PROTO_SUITE_P384_SHA384, "P384-SHA384", 49, 48},
        {"4: P521-SHA512", PROTO_SUITE_P521_SHA512, "P521-SHA512", 67, 66},
        {"0: none", 0, NULL, 0, 0},
        {"5: none", 5, NULL, 0, 0},
        {"255: none", 255, NULL, 0, 0},
};

/*
 * Both directions of the mapping; for a suite, a LOOKUP of 3 items sized
 * by its Ne (encoded and decoded), a LOOKUP_REPLY whose VOPRF proof is
 * 2 * Ns, and an INFO key of another length refused. For none, a LOOKUP
 * head of that number is UNSUPPORTED.
 */
static int
check_suite(const void *p)
{
	const suite_row *row = p;
	const oprf_suite *suite = proto_suite(row->id);
	buf b;
	proto_msg m;
	int ok = 1;
	buf_init(&b);
	if (row->suite == NULL) {
		proto_encode_lookup_head(&b, request_id, row->id, OPRF_MODE_OPRF, 1, 8, 1);
		wire_put_u32(&b, 0);
		wire_put_bytes(&b, (const uint8_t[32]){1}, 32);
		ok = suite == NULL && proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b),
		                                       &m) == VEIL_ERR_UNSUPPORTED;
		buf_free(&b);
		return ok;
	}
	ok = suite != NULL && suite == oprf_suite_by_name(row->suite) &&
	     proto_suite_id(suite) == row->id && oprf_suite_element_size(suite) == row->ne &&
	     oprf_suite_scalar_size(suite) == row->ns;
	if (!ok)
		return 0;
	uint32_t prefixes[3] = {0, 1u << 31, 1u << 30};
	uint8_t elements[3 * OPRF_MAX_ELEMENT_SIZE];
	memset(elements, 0x5a, sizeof(elements));
	proto_encode_lookup(&b, request_id, row->id, OPRF_MODE_VOPRF, 7, 2, 3, prefixes, elements);
	ok &= buf_len(&b) == proto_lookup_size(3, row->ne) &&
	      buf_len(&b) == 1 + 16 + 1 + 1 + 4 + 1 + 2 + 3 * (4 + row->ne) &&
	      proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_OK &&
	      m.u.lookup.suite == row->id && m.u.lookup.element_size == row->ne;

	/* A reply of 2 items, 1 slot of 8 bytes each, and the proof. */
	buf_reset(&b);
	proto_encode_lookup_reply_head(&b, request_id, row->id, OPRF_MODE_VOPRF, 7, 2, 1, 8);
	wire_put_bytes(&b, elements, 2 * (row->ne + 8));
	wire_put_bytes(&b, elements, 2 * row->ns);
	ok &= proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_OK &&
	      m.u.lookup_reply.element_size == row->ne &&
	      m.u.lookup_reply.proof_size == 2 * row->ns;
	wire_put_u8(&b, 0);
	ok &= proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_ERR_PARSE;

	/* INFO: a key of the suite's length is read, one byte short is not. */
	proto_info_reply info;
	memset(&info, 0, sizeof(info));
	info.p_min = 1;
	info.p_recommended = 2;
	info.p_max = 3;
	info.batch_cap = 16;
	info.tag_len = 8;
	info.key_count = 1;
	info.keys[0] = (proto_key_info){
	        .key_id = 1, .suite = row->id, .modes = 2, .pk_len = (uint16_t)row->ne};
	buf_reset(&b);
	proto_encode_info_reply(&b, request_id, &info);
	ok &= proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_OK &&
	      m.u.info_reply.keys[0].pk_len == row->ne;
	info.keys[0].pk_len = (uint16_t)(row->ne - 1);
	buf_reset(&b);
	proto_encode_info_reply(&b, request_id, &info);
	ok &= proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_ERR_PARSE;
	buf_free(&b);
	return ok;
}

TEST_ROWS_CASE(case_suites, suite_rows, check_suite)

/* ---- tokens mode ---- */

static void
sample_token(token *t)
{
	memset(t->nonce, 0xa1, sizeof(t->nonce));
	memset(t->challenge_digest, 0xa2, sizeof(t->challenge_digest));
	memset(t->token_key_id, 0xa3, sizeof(t->token_key_id));
	memset(t->authenticator, 0xa4, sizeof(t->authenticator));
}

/* Requests and responses whose bytes differ per index i. */
static void
sample_request(token_request *r, size_t i)
{
	r->truncated_token_key_id = (uint8_t)(0x30 + i);
	memset(r->blinded_msg, (int)(0x40 + i), sizeof(r->blinded_msg));
}

static void
sample_response(token_response *r, size_t i)
{
	memset(r->evaluate_msg, (int)(0x50 + i), sizeof(r->evaluate_msg));
	memset(r->evaluate_proof, (int)(0x60 + i), sizeof(r->evaluate_proof));
}

typedef enum token_msg { TOKEN_MSG_ISSUE, TOKEN_MSG_ISSUE_REPLY, TOKEN_MSG_LOOKUP } token_msg;

/* A sample of each tokens-mode message: 2 requests, 2 responses, or a
 * LOOKUP_TOKEN of 2 ristretto255 items under sample_token(). */
static void
encode_sample_token_msg(buf *b, token_msg which)
{
	token_request requests[2];
	token_response responses[2];
	token t;
	uint32_t prefixes[2] = {1u << 20, 2u << 20};
	uint8_t elements[2 * NE];
	for (size_t i = 0; i < 2; i++) {
		sample_request(&requests[i], i);
		sample_response(&responses[i], i);
		memset(elements + i * NE, (int)(0x10 + i), NE);
	}
	sample_token(&t);
	switch (which) {
	case TOKEN_MSG_ISSUE:
		proto_encode_token_issue(b, request_id, 2, requests);
		break;
	case TOKEN_MSG_ISSUE_REPLY:
		proto_encode_token_issue_reply(b, request_id, 2, responses);
		break;
	case TOKEN_MSG_LOOKUP:
		proto_encode_lookup_token(b, request_id, &t, PROTO_SUITE_RISTRETTO255_SHA512,
		                          OPRF_MODE_OPRF, 7, 12, 2, prefixes, elements);
		break;
	}
}

static void
case_token_issue_round_trip(void)
{
	buf b;
	proto_msg m;
	uint8_t want[TOKEN_REQUEST_SIZE];
	buf_init(&b);
	encode_sample_token_msg(&b, TOKEN_MSG_ISSUE);
	REQUIRE(buf_error(&b) == VEIL_OK);
	CHECK(buf_len(&b) == 1 + 16 + 2 + 2 * 52);
	CHECK(buf_len(&b) == proto_token_issue_size(2));
	REQUIRE(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_OK);
	CHECK(m.type == PROTO_MSG_TOKEN_ISSUE);
	CHECK(memcmp(m.request_id, request_id, sizeof(request_id)) == 0);
	CHECK(m.u.token_issue.count == 2);
	for (size_t i = 0; i < 2; i++) {
		token_request r, got;
		sample_request(&r, i);
		token_request_encode(&r, want);
		const uint8_t *at = m.u.token_issue.requests + i * TOKEN_REQUEST_SIZE;
		CHECK_BYTES(at, want, TOKEN_REQUEST_SIZE);
		CHECK(at[0] == 0x00 && at[1] == 0x01 && at[2] == 0x30 + i);
		CHECK(token_request_decode(at, TOKEN_REQUEST_SIZE, &got) == VEIL_OK &&
		      memcmp(&got, &r, sizeof(r)) == 0);
	}
	buf_free(&b);
}

static void
case_token_issue_reply_round_trip(void)
{
	buf b;
	proto_msg m;
	uint8_t want[TOKEN_RESPONSE_SIZE];
	buf_init(&b);
	encode_sample_token_msg(&b, TOKEN_MSG_ISSUE_REPLY);
	REQUIRE(buf_error(&b) == VEIL_OK);
	CHECK(buf_len(&b) == 1 + 16 + 2 + 2 * 145);
	CHECK(buf_len(&b) == proto_token_issue_reply_size(2));
	REQUIRE(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_OK);
	CHECK(m.type == PROTO_MSG_TOKEN_ISSUE_REPLY);
	CHECK(memcmp(m.request_id, request_id, sizeof(request_id)) == 0);
	CHECK(m.u.token_issue_reply.count == 2);
	for (size_t i = 0; i < 2; i++) {
		token_response r;
		sample_response(&r, i);
		token_response_encode(&r, want);
		CHECK_BYTES(m.u.token_issue_reply.responses + i * TOKEN_RESPONSE_SIZE, want,
		            TOKEN_RESPONSE_SIZE);
	}
	buf_free(&b);
}

static void
case_lookup_token_round_trip(void)
{
	buf b, plain;
	proto_msg m;
	token t, got;
	uint8_t want[TOKEN_SIZE];
	buf_init(&b);
	buf_init(&plain);
	encode_sample_token_msg(&b, TOKEN_MSG_LOOKUP);
	REQUIRE(buf_error(&b) == VEIL_OK);
	CHECK(buf_len(&b) == 1 + 16 + 146 + 1 + 1 + 4 + 1 + 2 + 2 * (4 + NE));
	CHECK(buf_len(&b) == proto_lookup_token_size(2, NE));
	REQUIRE(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_OK);
	CHECK(m.type == PROTO_MSG_LOOKUP_TOKEN);
	CHECK(memcmp(m.request_id, request_id, sizeof(request_id)) == 0);
	sample_token(&t);
	token_encode(&t, want);
	CHECK_BYTES(m.u.lookup_token.token, want, TOKEN_SIZE);
	CHECK(token_decode(m.u.lookup_token.token, TOKEN_SIZE, &got) == VEIL_OK &&
	      memcmp(&got, &t, sizeof(t)) == 0);
	const proto_lookup *l = &m.u.lookup_token.lookup;
	CHECK(l->suite == PROTO_SUITE_RISTRETTO255_SHA512 && l->mode == OPRF_MODE_OPRF);
	CHECK(l->key_id == 7 && l->prefix_bits == 12 && l->count == 2 && l->element_size == NE);
	for (size_t i = 0; i < 2; i++) {
		uint32_t prefix;
		const uint8_t *element;
		proto_lookup_item(l, i, &prefix, &element);
		CHECK(prefix == (uint32_t)(i + 1) << 20);
		CHECK(element[0] == 0x10 + i && element[NE - 1] == 0x10 + i);
	}
	/* Past the token, exactly the body of the same LOOKUP. */
	uint32_t prefixes[2] = {1u << 20, 2u << 20};
	uint8_t elements[2 * NE];
	memset(elements, 0x10, NE);
	memset(elements + NE, 0x11, NE);
	proto_encode_lookup(&plain, request_id, PROTO_SUITE_RISTRETTO255_SHA512, OPRF_MODE_OPRF, 7,
	                    12, 2, prefixes, elements);
	REQUIRE(buf_len(&plain) + TOKEN_SIZE == buf_len(&b));
	CHECK_BYTES((const uint8_t *)buf_data(&b) + 17 + TOKEN_SIZE,
	            (const uint8_t *)buf_data(&plain) + 17, buf_len(&plain) - 17);
	/* The head alone, then the items, writes the same bytes. */
	buf_reset(&plain);
	proto_encode_lookup_token_head(&plain, request_id, &t, PROTO_SUITE_RISTRETTO255_SHA512,
	                               OPRF_MODE_OPRF, 7, 12, 2);
	for (size_t i = 0; i < 2; i++) {
		wire_put_u32(&plain, prefixes[i]);
		wire_put_bytes(&plain, elements + i * NE, NE);
	}
	CHECK(buf_len(&plain) == buf_len(&b) &&
	      memcmp(buf_data(&plain), buf_data(&b), buf_len(&b)) == 0);
	buf_free(&b);
	buf_free(&plain);
}

/* Every proper prefix of each tokens-mode message fails, output zeroed;
 * one byte more fails too. */
static void
case_token_messages_truncated_or_trailing_fail(void)
{
	const token_msg all[] = {TOKEN_MSG_ISSUE, TOKEN_MSG_ISSUE_REPLY, TOKEN_MSG_LOOKUP};
	for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
		buf b;
		proto_msg m;
		buf_init(&b);
		encode_sample_token_msg(&b, all[k]);
		const uint8_t *data = (const uint8_t *)buf_data(&b);
		int clean = 0;
		for (size_t len = 0; len < buf_len(&b); len++) {
			memset(&m, 0x77, sizeof(m));
			clean += proto_msg_decode(data, len, &m) == VEIL_ERR_PARSE &&
			         msg_is_zero(&m);
		}
		CHECK(clean == (int)buf_len(&b));
		CHECK(proto_msg_decode(data, buf_len(&b), &m) == VEIL_OK);
		wire_put_u8(&b, 0);
		memset(&m, 0x77, sizeof(m));
		CHECK(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) ==
		      VEIL_ERR_PARSE);
		CHECK(msg_is_zero(&m));
		buf_free(&b);
	}
}

/* One u16 of a sample tokens-mode message rewritten, and the decoder's
 * verdict. */
typedef struct token_patch_row {
	const char *name;
	token_msg which;
	size_t offset; /* of the big-endian u16 rewritten */
	uint16_t value;
	veil_err want;
} token_patch_row;

/*
 * Layouts. TOKEN_ISSUE and its reply: type 0 | id 1..16 | count 17..18 |
 * items from 19 (a request's token_type at 19 + 52 i). LOOKUP_TOKEN:
 * token 17..162 (its token_type at 17..18) | suite 163 | mode 164 |
 * key 165..168 | bits 169 | count 170..171 | items.
 */
static const token_patch_row token_patch_rows[] = {
        {"issue: unchanged", TOKEN_MSG_ISSUE, 17, 2, VEIL_OK},
        {"issue: count 0", TOKEN_MSG_ISSUE, 17, 0, VEIL_ERR_PARSE},
        {"issue: count 1, a request left over", TOKEN_MSG_ISSUE, 17, 1, VEIL_ERR_PARSE},
        {"issue: count past the data", TOKEN_MSG_ISSUE, 17, 3, VEIL_ERR_PARSE},
        {"issue: count one above the cap", TOKEN_MSG_ISSUE, 17, PROTO_MAX_TOKEN_BATCH + 1,
         VEIL_ERR_LIMIT},
        {"issue: count 65535", TOKEN_MSG_ISSUE, 17, 0xffff, VEIL_ERR_LIMIT},
        {"issue: first request of type 2", TOKEN_MSG_ISSUE, 19, 0x0002, VEIL_ERR_UNSUPPORTED},
        {"issue: second request of type 0", TOKEN_MSG_ISSUE, 19 + 52, 0x0000, VEIL_ERR_UNSUPPORTED},
        {"issue: second request of type 0x0100", TOKEN_MSG_ISSUE, 19 + 52, 0x0100,
         VEIL_ERR_UNSUPPORTED},
        {"issue reply: unchanged", TOKEN_MSG_ISSUE_REPLY, 17, 2, VEIL_OK},
        {"issue reply: count 0", TOKEN_MSG_ISSUE_REPLY, 17, 0, VEIL_ERR_PARSE},
        {"issue reply: count 1, a response left over", TOKEN_MSG_ISSUE_REPLY, 17, 1,
         VEIL_ERR_PARSE},
        {"issue reply: count past the data", TOKEN_MSG_ISSUE_REPLY, 17, 3, VEIL_ERR_PARSE},
        {"issue reply: count one above the cap", TOKEN_MSG_ISSUE_REPLY, 17,
         PROTO_MAX_TOKEN_BATCH + 1, VEIL_ERR_LIMIT},
        {"lookup token: unchanged", TOKEN_MSG_LOOKUP, 17, TOKEN_TYPE_PRIVATE, VEIL_OK},
        {"lookup token: token of type 2", TOKEN_MSG_LOOKUP, 17, 0x0002, VEIL_ERR_UNSUPPORTED},
        {"lookup token: token of type 0", TOKEN_MSG_LOOKUP, 17, 0x0000, VEIL_ERR_UNSUPPORTED},
        {"lookup token: unknown suite", TOKEN_MSG_LOOKUP, 163, 0x0900, VEIL_ERR_UNSUPPORTED},
        {"lookup token: POPRF mode", TOKEN_MSG_LOOKUP, 163, 0x0100 | OPRF_MODE_POPRF,
         VEIL_ERR_UNSUPPORTED},
        {"lookup token: 33 prefix bits", TOKEN_MSG_LOOKUP, 169, 0x2100, VEIL_ERR_PARSE},
        {"lookup token: count 0", TOKEN_MSG_LOOKUP, 170, 0, VEIL_ERR_PARSE},
        {"lookup token: count past the data", TOKEN_MSG_LOOKUP, 170, 3, VEIL_ERR_PARSE},
        {"lookup token: count above the codec's cap", TOKEN_MSG_LOOKUP, 170, PROTO_MAX_BATCH + 1,
         VEIL_ERR_LIMIT},
        /* Read as a LOOKUP, the token's type 0x0001 is suite 0: no suite. */
        {"lookup token: type byte of a LOOKUP", TOKEN_MSG_LOOKUP, 0, PROTO_MSG_LOOKUP << 8 | 1,
         VEIL_ERR_UNSUPPORTED},
};

static int
check_token_patch(const void *p)
{
	const token_patch_row *row = p;
	buf b;
	proto_msg m;
	buf_init(&b);
	encode_sample_token_msg(&b, row->which);
	uint8_t *bytes = (uint8_t *)b.data;
	bytes[row->offset] = (uint8_t)(row->value >> 8);
	bytes[row->offset + 1] = (uint8_t)row->value;
	memset(&m, 0x77, sizeof(m));
	const veil_err got = proto_msg_decode(bytes, buf_len(&b), &m);
	buf_free(&b);
	if (got != row->want)
		printf("# %s: %s, expected %s\n", row->name, veil_strerror(got),
		       veil_strerror(row->want));
	return got == row->want && (got == VEIL_OK || msg_is_zero(&m));
}

TEST_ROWS_CASE(case_token_patches, token_patch_rows, check_token_patch)

/* PROTO_MAX_TOKEN_BATCH requests and responses, the most a message holds. */
static void
case_token_batches_at_the_cap(void)
{
	token_request *requests = calloc(PROTO_MAX_TOKEN_BATCH, sizeof(*requests));
	token_response *responses = calloc(PROTO_MAX_TOKEN_BATCH, sizeof(*responses));
	REQUIRE(requests != NULL && responses != NULL);
	for (size_t i = 0; i < PROTO_MAX_TOKEN_BATCH; i++) {
		sample_request(&requests[i], i % 7);
		sample_response(&responses[i], i % 7);
	}
	buf b;
	proto_msg m;
	buf_init(&b);
	proto_encode_token_issue(&b, request_id, PROTO_MAX_TOKEN_BATCH, requests);
	CHECK(buf_len(&b) == proto_token_issue_size(PROTO_MAX_TOKEN_BATCH));
	CHECK(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_OK &&
	      m.u.token_issue.count == PROTO_MAX_TOKEN_BATCH);
	buf_reset(&b);
	proto_encode_token_issue_reply(&b, request_id, PROTO_MAX_TOKEN_BATCH, responses);
	CHECK(buf_len(&b) == proto_token_issue_reply_size(PROTO_MAX_TOKEN_BATCH));
	CHECK(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_OK &&
	      m.u.token_issue_reply.count == PROTO_MAX_TOKEN_BATCH);
	buf_free(&b);
	free(requests);
	free(responses);
}

static void
case_token_status_codes(void)
{
	CHECK(PROTO_STATUS_TOKEN_INVALID == 15 && PROTO_STATUS_TOKEN_SPENT == 16);
	CHECK(strcmp(proto_status_str(PROTO_STATUS_TOKEN_INVALID), "token not valid") == 0);
	CHECK(strcmp(proto_status_str(PROTO_STATUS_TOKEN_SPENT), "token already spent") == 0);
	CHECK(strcmp(proto_status_str(17), "unknown status") == 0);
	buf b;
	proto_msg m;
	buf_init(&b);
	proto_encode_error(&b, request_id, PROTO_STATUS_TOKEN_SPENT, 0);
	CHECK(proto_msg_decode((const uint8_t *)buf_data(&b), buf_len(&b), &m) == VEIL_OK &&
	      m.u.error.code == PROTO_STATUS_TOKEN_SPENT);
	buf_free(&b);
}

static const test_case cases[] = {
        {"lookup round trip", case_lookup_round_trip},
        {"every truncation fails cleanly", case_every_truncation_fails_cleanly},
        {"trailing byte fails", case_trailing_byte_fails},
        {"fields out of range", case_fields_out_of_range},
        {"info reply round trip and checks", case_info_reply_round_trip_and_checks},
        {"lookup reply sizes", case_lookup_reply_sizes},
        {"items size refuses a product past size_t", case_items_size_refuses_a_product_past_size_t},
        {"lookup reply whose size wraps 32 bits is refused",
         case_lookup_reply_whose_size_wraps_32_bits_is_refused},
        {"batch size classes", case_size_classes},
        {"suite numbers: the four suites, their sizes, and none", case_suites},
        {"error round trip", case_error_round_trip},
        {"reader consumes nothing on failure", case_reader_consumes_nothing_on_failure},
        {"token issue round trip", case_token_issue_round_trip},
        {"token issue reply round trip", case_token_issue_reply_round_trip},
        {"lookup token round trip", case_lookup_token_round_trip},
        {"token messages: every truncation and a trailing byte fail",
         case_token_messages_truncated_or_trailing_fail},
        {"token messages: counts, caps and token types", case_token_patches},
        {"token batches at the cap", case_token_batches_at_the_cap},
        {"token status codes", case_token_status_codes},
};

TEST_MAIN(cases)

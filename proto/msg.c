#include "msg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

const char *
proto_status_str(uint16_t status)
{
	switch ((proto_status)status) {
	case PROTO_STATUS_OK:
		return "ok";
	case PROTO_STATUS_BAD_FRAME:
		return "bad frame";
	case PROTO_STATUS_BAD_ENVELOPE:
		return "bad envelope";
	case PROTO_STATUS_BAD_REQUEST:
		return "bad request";
	case PROTO_STATUS_UNSUPPORTED:
		return "unsupported suite, mode or message";
	case PROTO_STATUS_KEY_UNKNOWN:
		return "unknown key id";
	case PROTO_STATUS_BAD_ELEMENT:
		return "invalid group element";
	case PROTO_STATUS_BATCH_TOO_LARGE:
		return "batch too large";
	case PROTO_STATUS_BAD_PREFIX:
		return "bad bucket prefix";
	case PROTO_STATUS_INTERNAL:
		return "internal server error";
	case PROTO_STATUS_BUSY:
		return "server busy";
	case PROTO_STATUS_UNAUTHORIZED:
		return "client key not enrolled";
	case PROTO_STATUS_RATE_LIMITED:
		return "quota exhausted";
	case PROTO_STATUS_REPLAYED:
		return "request replayed";
	case PROTO_STATUS_STALE:
		return "request outside the time window";
	case PROTO_STATUS_TOKEN_INVALID:
		return "token not valid";
	case PROTO_STATUS_TOKEN_SPENT:
		return "token already spent";
	}
	return "unknown status";
}

const oprf_suite *
proto_suite(uint8_t suite_id)
{
	switch (suite_id) {
	case PROTO_SUITE_RISTRETTO255_SHA512:
		return oprf_suite_by_name("ristretto255-SHA512");
	case PROTO_SUITE_P256_SHA256:
		return oprf_suite_by_name("P256-SHA256");
	case PROTO_SUITE_P384_SHA384:
		return oprf_suite_by_name("P384-SHA384");
	case PROTO_SUITE_P521_SHA512:
		return oprf_suite_by_name("P521-SHA512");
	}
	return NULL;
}

uint8_t
proto_suite_id(const oprf_suite *suite)
{
	static const uint8_t ids[] = {PROTO_SUITE_RISTRETTO255_SHA512, PROTO_SUITE_P256_SHA256,
	                              PROTO_SUITE_P384_SHA384, PROTO_SUITE_P521_SHA512};
	for (size_t i = 0; suite != NULL && i < sizeof(ids); i++)
		if (proto_suite(ids[i]) == suite)
			return ids[i];
	return 0;
}

int
proto_items_size(size_t count, size_t item_size, size_t *out)
{
	if (item_size != 0 && count > SIZE_MAX / item_size)
		return -1;
	*out = count * item_size;
	return 0;
}

static int
mode_known(uint8_t mode)
{
	return mode == OPRF_MODE_OPRF || mode == OPRF_MODE_VOPRF;
}

static veil_err
decode_info_reply(wire_reader *r, proto_info_reply *info)
{
	if (wire_get_u8(r, &info->p_min) || wire_get_u8(r, &info->p_max) ||
	    wire_get_u8(r, &info->p_recommended) || wire_get_u16(r, &info->batch_cap) ||
	    wire_get_u8(r, &info->tag_len) || wire_get_u16(r, &info->payload_size) ||
	    wire_get_u8(r, &info->key_count))
		return VEIL_ERR_PARSE;
	if (info->p_min > info->p_recommended || info->p_recommended > info->p_max ||
	    info->p_max > PROTO_MAX_PREFIX_BITS || info->batch_cap == 0 ||
	    info->batch_cap > PROTO_MAX_BATCH || info->tag_len < PROTO_MIN_TAG ||
	    info->tag_len > PROTO_MAX_TAG || info->payload_size > PROTO_MAX_PAYLOAD_SIZE ||
	    info->key_count == 0)
		return VEIL_ERR_PARSE;
	if (info->key_count > PROTO_MAX_KEYS)
		return VEIL_ERR_LIMIT;
	for (size_t i = 0; i < info->key_count; i++) {
		proto_key_info *key = &info->keys[i];
		if (wire_get_u32(r, &key->key_id) || wire_get_u8(r, &key->suite) ||
		    wire_get_u8(r, &key->modes) || wire_get_u16(r, &key->pk_len))
			return VEIL_ERR_PARSE;
		/* Keys of unknown suites are legal (a newer server); their pk
		 * must still fit. */
		if (key->pk_len > OPRF_MAX_ELEMENT_SIZE || wire_get_bytes(r, key->pk, key->pk_len))
			return VEIL_ERR_PARSE;
		const oprf_suite *suite = proto_suite(key->suite);
		if (suite != NULL && key->pk_len != oprf_suite_element_size(suite))
			return VEIL_ERR_PARSE;
	}
	return VEIL_OK;
}

/*
 * What a LOOKUP and its reply check once their fixed fields are read, in
 * this order: a suite and mode this build knows (VEIL_ERR_UNSUPPORTED),
 * no field out of range (bad_field) and at least one item
 * (VEIL_ERR_PARSE), at most PROTO_MAX_BATCH items (VEIL_ERR_LIMIT). Sets
 * *suite_out on success.
 */
static veil_err
check_batch(uint8_t suite_id, uint8_t mode, int bad_field, uint16_t count,
            const oprf_suite **suite_out)
{
	const oprf_suite *suite = proto_suite(suite_id);
	if (suite == NULL || !mode_known(mode))
		return VEIL_ERR_UNSUPPORTED;
	if (bad_field || count == 0)
		return VEIL_ERR_PARSE;
	if (count > PROTO_MAX_BATCH)
		return VEIL_ERR_LIMIT;
	*suite_out = suite;
	return VEIL_OK;
}

static veil_err
decode_lookup(wire_reader *r, proto_lookup *lookup)
{
	const oprf_suite *suite;
	if (wire_get_u8(r, &lookup->suite) || wire_get_u8(r, &lookup->mode) ||
	    wire_get_u32(r, &lookup->key_id) || wire_get_u8(r, &lookup->prefix_bits) ||
	    wire_get_u16(r, &lookup->count))
		return VEIL_ERR_PARSE;
	veil_err err =
	        check_batch(lookup->suite, lookup->mode,
	                    lookup->prefix_bits > PROTO_MAX_PREFIX_BITS, lookup->count, &suite);
	if (err != VEIL_OK)
		return err;
	lookup->element_size = oprf_suite_element_size(suite);
	size_t items_len;
	if (proto_items_size(lookup->count, 4 + lookup->element_size, &items_len) ||
	    wire_get_view(r, &lookup->items, items_len))
		return VEIL_ERR_PARSE;
	return VEIL_OK;
}

static veil_err
decode_lookup_reply(wire_reader *r, proto_lookup_reply *reply)
{
	const oprf_suite *suite;
	if (wire_get_u8(r, &reply->suite) || wire_get_u8(r, &reply->mode) ||
	    wire_get_u32(r, &reply->key_id) || wire_get_u16(r, &reply->count) ||
	    wire_get_u16(r, &reply->slots) || wire_get_u16(r, &reply->entry_size))
		return VEIL_ERR_PARSE;
	veil_err err =
	        check_batch(reply->suite, reply->mode,
	                    reply->entry_size < PROTO_MIN_TAG ||
	                            reply->entry_size > PROTO_MAX_TAG + PROTO_MAX_PAYLOAD_SIZE,
	                    reply->count, &suite);
	if (err != VEIL_OK)
		return err;
	reply->element_size = oprf_suite_element_size(suite);
	/* Up to 4096 * (32 + 65535 * 1056) bytes, past a 32-bit size_t: the
	 * products are checked (the sum cannot wrap once the product fits in
	 * 32 bits, since slots * entry_size < 2^32 - 2^16). */
	size_t entries_size, items_len;
	if (proto_items_size(reply->slots, reply->entry_size, &entries_size) ||
	    entries_size > SIZE_MAX - reply->element_size ||
	    proto_items_size(reply->count, reply->element_size + entries_size, &items_len) ||
	    wire_get_view(r, &reply->items, items_len))
		return VEIL_ERR_PARSE;
	reply->proof = NULL;
	reply->proof_size = 0;
	if (reply->mode == OPRF_MODE_VOPRF) {
		reply->proof_size = oprf_suite_proof_size(suite);
		if (wire_get_view(r, &reply->proof, reply->proof_size))
			return VEIL_ERR_PARSE;
	}
	return VEIL_OK;
}

/*
 * The count of a tokens-mode batch, then count items of item_size bytes
 * (*items points at them): at least one (VEIL_ERR_PARSE), at most
 * PROTO_MAX_TOKEN_BATCH (VEIL_ERR_LIMIT), all present (VEIL_ERR_PARSE).
 */
static veil_err
decode_token_batch(wire_reader *r, size_t item_size, uint16_t *count, const uint8_t **items)
{
	if (wire_get_u16(r, count) || *count == 0)
		return VEIL_ERR_PARSE;
	if (*count > PROTO_MAX_TOKEN_BATCH)
		return VEIL_ERR_LIMIT;
	/* At most 1024 * 145 bytes: no product here can wrap. */
	if (wire_get_view(r, items, (size_t)*count * item_size))
		return VEIL_ERR_PARSE;
	return VEIL_OK;
}

/* Whether the bytes at p start with the token type this codec serves. */
static int
token_type_known(const uint8_t *p)
{
	return ((uint16_t)p[0] << 8 | p[1]) == TOKEN_TYPE_PRIVATE;
}

static veil_err
decode_token_issue(wire_reader *r, proto_token_issue *issue)
{
	veil_err err = decode_token_batch(r, TOKEN_REQUEST_SIZE, &issue->count, &issue->requests);
	for (size_t i = 0; err == VEIL_OK && i < issue->count; i++)
		if (!token_type_known(issue->requests + i * TOKEN_REQUEST_SIZE))
			err = VEIL_ERR_UNSUPPORTED;
	return err;
}

static veil_err
decode_lookup_token(wire_reader *r, proto_lookup_token *lookup_token)
{
	if (wire_get_view(r, &lookup_token->token, TOKEN_SIZE))
		return VEIL_ERR_PARSE;
	if (!token_type_known(lookup_token->token))
		return VEIL_ERR_UNSUPPORTED;
	return decode_lookup(r, &lookup_token->lookup);
}

veil_err
proto_msg_decode(const uint8_t *data, size_t len, proto_msg *out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (data == NULL && len != 0)
		return VEIL_ERR_ARGUMENT;

	wire_reader r;
	uint8_t type;
	veil_err err = VEIL_OK;
	wire_reader_init(&r, data, len);
	if (wire_get_u8(&r, &type) || wire_get_bytes(&r, out->request_id, PROTO_REQUEST_ID_SIZE)) {
		err = VEIL_ERR_PARSE;
		goto out;
	}
	out->type = (proto_msg_type)type;
	switch (type) {
	case PROTO_MSG_INFO:
		break;
	case PROTO_MSG_INFO_REPLY:
		err = decode_info_reply(&r, &out->u.info_reply);
		break;
	case PROTO_MSG_LOOKUP:
		err = decode_lookup(&r, &out->u.lookup);
		break;
	case PROTO_MSG_LOOKUP_REPLY:
		err = decode_lookup_reply(&r, &out->u.lookup_reply);
		break;
	case PROTO_MSG_TOKEN_ISSUE:
		err = decode_token_issue(&r, &out->u.token_issue);
		break;
	case PROTO_MSG_TOKEN_ISSUE_REPLY:
		err = decode_token_batch(&r, TOKEN_RESPONSE_SIZE, &out->u.token_issue_reply.count,
		                         &out->u.token_issue_reply.responses);
		break;
	case PROTO_MSG_LOOKUP_TOKEN:
		err = decode_lookup_token(&r, &out->u.lookup_token);
		break;
	case PROTO_MSG_ERROR:
		if (wire_get_u16(&r, &out->u.error.code) ||
		    wire_get_u32(&r, &out->u.error.retry_after))
			err = VEIL_ERR_PARSE;
		break;
	default:
		err = VEIL_ERR_PARSE;
	}
	if (err == VEIL_OK && r.left != 0)
		err = VEIL_ERR_PARSE; /* trailing bytes */
out:
	if (err != VEIL_OK)
		memset(out, 0, sizeof(*out));
	return err;
}

void
proto_lookup_item(const proto_lookup *lookup, size_t i, uint32_t *prefix, const uint8_t **element)
{
	const uint8_t *item = lookup->items + i * (4 + lookup->element_size);
	*prefix = wire_load_u32(item);
	*element = item + 4;
}

void
proto_lookup_reply_item(const proto_lookup_reply *reply, size_t i, const uint8_t **element,
                        const uint8_t **entries)
{
	const size_t item_size = reply->element_size + (size_t)reply->slots * reply->entry_size;
	const uint8_t *item = reply->items + i * item_size;
	*element = item;
	*entries = item + reply->element_size;
}

/* ---- encoders ---- */

static void
put_head(buf *out, proto_msg_type type, const uint8_t request_id[PROTO_REQUEST_ID_SIZE])
{
	wire_put_u8(out, (uint8_t)type);
	wire_put_bytes(out, request_id, PROTO_REQUEST_ID_SIZE);
}

void
proto_encode_info(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE])
{
	put_head(out, PROTO_MSG_INFO, request_id);
}

void
proto_encode_info_reply(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE],
                        const proto_info_reply *info)
{
	if (info->key_count == 0 || info->key_count > PROTO_MAX_KEYS)
		abort();
	put_head(out, PROTO_MSG_INFO_REPLY, request_id);
	wire_put_u8(out, info->p_min);
	wire_put_u8(out, info->p_max);
	wire_put_u8(out, info->p_recommended);
	wire_put_u16(out, info->batch_cap);
	wire_put_u8(out, info->tag_len);
	wire_put_u16(out, info->payload_size);
	wire_put_u8(out, info->key_count);
	for (size_t i = 0; i < info->key_count; i++) {
		const proto_key_info *key = &info->keys[i];
		if (key->pk_len > OPRF_MAX_ELEMENT_SIZE)
			abort();
		wire_put_u32(out, key->key_id);
		wire_put_u8(out, key->suite);
		wire_put_u8(out, key->modes);
		wire_put_u16(out, key->pk_len);
		wire_put_bytes(out, key->pk, key->pk_len);
	}
}

/* A LOOKUP's body up to its items: suite, mode, key id, prefix bits, count. */
static void
put_lookup_fields(buf *out, uint8_t suite, uint8_t mode, uint32_t key_id, uint8_t prefix_bits,
                  uint16_t count)
{
	wire_put_u8(out, suite);
	wire_put_u8(out, mode);
	wire_put_u32(out, key_id);
	wire_put_u8(out, prefix_bits);
	wire_put_u16(out, count);
}

/* A LOOKUP's items, each a u32 prefix and an element of ne bytes. */
static void
put_lookup_items(buf *out, size_t ne, uint16_t count, const uint32_t *prefixes,
                 const uint8_t *elements)
{
	for (size_t i = 0; i < count; i++) {
		wire_put_u32(out, prefixes[i]);
		wire_put_bytes(out, elements + i * ne, ne);
	}
}

void
proto_encode_lookup_head(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE], uint8_t suite,
                         uint8_t mode, uint32_t key_id, uint8_t prefix_bits, uint16_t count)
{
	put_head(out, PROTO_MSG_LOOKUP, request_id);
	put_lookup_fields(out, suite, mode, key_id, prefix_bits, count);
}

size_t
proto_lookup_size(size_t count, size_t element_size)
{
	/* type, request id, suite, mode, key id, prefix bits, count; then items */
	const size_t head = 1 + PROTO_REQUEST_ID_SIZE + 1 + 1 + 4 + 1 + 2;
	return head + count * (4 + element_size);
}

void
proto_encode_lookup(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE], uint8_t suite_id,
                    uint8_t mode, uint32_t key_id, uint8_t prefix_bits, uint16_t count,
                    const uint32_t *prefixes, const uint8_t *elements)
{
	const oprf_suite *suite = proto_suite(suite_id);
	if (suite == NULL || count == 0 || count > PROTO_MAX_BATCH)
		abort();
	proto_encode_lookup_head(out, request_id, suite_id, mode, key_id, prefix_bits, count);
	put_lookup_items(out, oprf_suite_element_size(suite), count, prefixes, elements);
}

void
proto_encode_lookup_token_head(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE],
                               const token *t, uint8_t suite, uint8_t mode, uint32_t key_id,
                               uint8_t prefix_bits, uint16_t count)
{
	uint8_t *at;
	put_head(out, PROTO_MSG_LOOKUP_TOKEN, request_id);
	if ((at = wire_put_space(out, TOKEN_SIZE)) != NULL)
		token_encode(t, at);
	put_lookup_fields(out, suite, mode, key_id, prefix_bits, count);
}

void
proto_encode_lookup_token(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE], const token *t,
                          uint8_t suite_id, uint8_t mode, uint32_t key_id, uint8_t prefix_bits,
                          uint16_t count, const uint32_t *prefixes, const uint8_t *elements)
{
	const oprf_suite *suite = proto_suite(suite_id);
	if (suite == NULL || count == 0 || count > PROTO_MAX_BATCH)
		abort();
	proto_encode_lookup_token_head(out, request_id, t, suite_id, mode, key_id, prefix_bits,
	                               count);
	put_lookup_items(out, oprf_suite_element_size(suite), count, prefixes, elements);
}

size_t
proto_lookup_token_size(size_t count, size_t element_size)
{
	return TOKEN_SIZE + proto_lookup_size(count, element_size);
}

/* type, request id, count */
#define TOKEN_BATCH_HEAD_SIZE (PROTO_HEAD_SIZE + 2)

size_t
proto_token_issue_size(size_t count)
{
	return TOKEN_BATCH_HEAD_SIZE + count * TOKEN_REQUEST_SIZE;
}

size_t
proto_token_issue_reply_size(size_t count)
{
	return TOKEN_BATCH_HEAD_SIZE + count * TOKEN_RESPONSE_SIZE;
}

void
proto_encode_token_issue(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE], uint16_t count,
                         const token_request requests[])
{
	if (count == 0 || count > PROTO_MAX_TOKEN_BATCH)
		abort();
	put_head(out, PROTO_MSG_TOKEN_ISSUE, request_id);
	wire_put_u16(out, count);
	uint8_t *at = wire_put_space(out, (size_t)count * TOKEN_REQUEST_SIZE);
	for (size_t i = 0; at != NULL && i < count; i++)
		token_request_encode(&requests[i], at + i * TOKEN_REQUEST_SIZE);
}

void
proto_encode_token_issue_reply(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE],
                               uint16_t count, const token_response responses[])
{
	if (count == 0 || count > PROTO_MAX_TOKEN_BATCH)
		abort();
	put_head(out, PROTO_MSG_TOKEN_ISSUE_REPLY, request_id);
	wire_put_u16(out, count);
	uint8_t *at = wire_put_space(out, (size_t)count * TOKEN_RESPONSE_SIZE);
	for (size_t i = 0; at != NULL && i < count; i++)
		token_response_encode(&responses[i], at + i * TOKEN_RESPONSE_SIZE);
}

void
proto_encode_lookup_reply_head(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE],
                               uint8_t suite, uint8_t mode, uint32_t key_id, uint16_t count,
                               uint16_t slots, uint16_t entry_size)
{
	put_head(out, PROTO_MSG_LOOKUP_REPLY, request_id);
	wire_put_u8(out, suite);
	wire_put_u8(out, mode);
	wire_put_u32(out, key_id);
	wire_put_u16(out, count);
	wire_put_u16(out, slots);
	wire_put_u16(out, entry_size);
}

void
proto_encode_error(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE], uint16_t code,
                   uint32_t retry_after)
{
	put_head(out, PROTO_MSG_ERROR, request_id);
	wire_put_u16(out, code);
	wire_put_u32(out, retry_after);
}

uint32_t
proto_size_class(uint32_t count, uint32_t cap)
{
	if (count == 0 || count > cap)
		return 0;
	uint64_t size_class = 1;
	while (size_class < count)
		size_class <<= 1;
	return size_class < cap ? (uint32_t)size_class : cap;
}

int
proto_is_size_class(uint32_t count, uint32_t cap)
{
	return count != 0 && proto_size_class(count, cap) == count;
}

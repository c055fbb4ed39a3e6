/*
 * Inner messages of the veil wire protocol (proto/PROTOCOL.md, "Inner
 * messages"): decoding with hard limits, and encoding.
 *
 * Decoded messages point into the bytes they were decoded from (element
 * arrays, entries, proofs): the caller keeps those bytes alive and
 * unchanged for as long as it uses the message. Nothing is allocated.
 */
#ifndef VEIL_PROTO_MSG_H
#define VEIL_PROTO_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "oprf.h"
#include "token.h"

#define PROTO_REQUEST_ID_SIZE  16
/* Every inner message begins type u8 | request_id; a LOOKUP_TOKEN's token follows. */
#define PROTO_HEAD_SIZE        (1 + PROTO_REQUEST_ID_SIZE)
/* The codec's own bounds; a server's advertised caps are at most these. */
#define PROTO_MAX_BATCH        4096
#define PROTO_MAX_KEYS         8
#define PROTO_MIN_TAG          8
#define PROTO_MAX_TAG          32
#define PROTO_MAX_PREFIX_BITS  32
#define PROTO_MAX_PAYLOAD_SIZE 1024
/* The most TokenRequests one TOKEN_ISSUE carries (PROTOCOL.md, "Tokens mode"). */
#define PROTO_MAX_TOKEN_BATCH  1024

/* Suite numbers on the wire (PROTOCOL.md, "Suites"): RFC 9497's suites. */
#define PROTO_SUITE_RISTRETTO255_SHA512 1
#define PROTO_SUITE_P256_SHA256         2
#define PROTO_SUITE_P384_SHA384         3
#define PROTO_SUITE_P521_SHA512         4
/* Bits of the INFO `modes` field. */
#define PROTO_MODE_BIT_OPRF             0x01
#define PROTO_MODE_BIT_VOPRF            0x02

typedef enum proto_msg_type {
	PROTO_MSG_INFO = 0x10,
	PROTO_MSG_LOOKUP = 0x11,
	PROTO_MSG_TOKEN_ISSUE = 0x12,  /* tokens mode: client to issuer, in a SEALED frame */
	PROTO_MSG_LOOKUP_TOKEN = 0x13, /* tokens mode: client to veild, in SEALED_ANONYMOUS */
	PROTO_MSG_INFO_REPLY = 0x20,
	PROTO_MSG_LOOKUP_REPLY = 0x21,
	PROTO_MSG_TOKEN_ISSUE_REPLY = 0x22,
	PROTO_MSG_ERROR = 0x2f,
} proto_msg_type;

/* Status codes sent to peers: a smaller set than veil_err, by design. */
typedef enum proto_status {
	PROTO_STATUS_OK = 0,
	PROTO_STATUS_BAD_FRAME = 1,
	PROTO_STATUS_BAD_ENVELOPE = 2,
	PROTO_STATUS_BAD_REQUEST = 3,
	PROTO_STATUS_UNSUPPORTED = 4,
	PROTO_STATUS_KEY_UNKNOWN = 5,
	PROTO_STATUS_BAD_ELEMENT = 6,
	PROTO_STATUS_BATCH_TOO_LARGE = 7,
	PROTO_STATUS_BAD_PREFIX = 8,
	PROTO_STATUS_INTERNAL = 9,
	PROTO_STATUS_BUSY = 10,
	PROTO_STATUS_UNAUTHORIZED = 11,
	PROTO_STATUS_RATE_LIMITED = 12,
	PROTO_STATUS_REPLAYED = 13,
	PROTO_STATUS_STALE = 14,
	/* Tokens mode: the token does not verify, names an issuer key that is
	 * unknown or retired, or answers another challenge. */
	PROTO_STATUS_TOKEN_INVALID = 15,
	/* Tokens mode: the token was redeemed before. */
	PROTO_STATUS_TOKEN_SPENT = 16,
} proto_status;

/* A fixed description of a wire status; "unknown status" otherwise. */
const char *proto_status_str(uint16_t status);

/* The oprf suite of a wire suite number, or NULL for a number that names none. */
const oprf_suite *proto_suite(uint8_t suite_id);

/* The wire suite number of suite (the reverse of proto_suite()), or 0 for NULL. */
uint8_t proto_suite_id(const oprf_suite *suite);

typedef struct proto_key_info {
	uint32_t key_id;
	uint8_t suite;
	uint8_t modes;
	uint16_t pk_len;
	uint8_t pk[OPRF_MAX_ELEMENT_SIZE];
} proto_key_info;

typedef struct proto_info_reply {
	uint8_t p_min, p_max, p_recommended;
	uint16_t batch_cap;
	uint8_t tag_len;
	uint16_t payload_size;
	uint8_t key_count;
	proto_key_info keys[PROTO_MAX_KEYS];
} proto_info_reply;

typedef struct proto_lookup {
	uint8_t suite;
	uint8_t mode;
	uint32_t key_id;
	uint8_t prefix_bits;
	uint16_t count;
	size_t element_size;  /* Ne of the suite */
	const uint8_t *items; /* count * (4 + Ne) bytes: prefix u32 | element */
} proto_lookup;

typedef struct proto_lookup_reply {
	uint8_t suite;
	uint8_t mode;
	uint32_t key_id;
	uint16_t count;
	uint16_t slots;
	uint16_t entry_size;
	size_t element_size;  /* Ne */
	const uint8_t *items; /* count * (Ne + slots * entry_size) bytes */
	const uint8_t *proof; /* 2 * Ns bytes in VOPRF mode, else NULL */
	size_t proof_size;
} proto_lookup_reply;

/*
 * TOKEN_ISSUE: count (1..PROTO_MAX_TOKEN_BATCH) RFC 9578 TokenRequests of
 * type 0x0001, TOKEN_REQUEST_SIZE bytes each; request i starts at
 * requests + i * TOKEN_REQUEST_SIZE and token_request_decode() reads it.
 */
typedef struct proto_token_issue {
	uint16_t count;
	const uint8_t *requests; /* count * TOKEN_REQUEST_SIZE bytes */
} proto_token_issue;

/*
 * TOKEN_ISSUE_REPLY: count (1..PROTO_MAX_TOKEN_BATCH) RFC 9578
 * TokenResponses, TOKEN_RESPONSE_SIZE bytes each, response i (for request
 * i) at responses + i * TOKEN_RESPONSE_SIZE; token_response_decode()
 * reads it.
 */
typedef struct proto_token_issue_reply {
	uint16_t count;
	const uint8_t *responses; /* count * TOKEN_RESPONSE_SIZE bytes */
} proto_token_issue_reply;

/*
 * LOOKUP_TOKEN: an RFC 9577 Token of type 0x0001 (TOKEN_SIZE bytes, which
 * token_decode() reads; only its length and type are checked here), then
 * a LOOKUP's body, decoded and checked as a LOOKUP's.
 */
typedef struct proto_lookup_token {
	const uint8_t *token; /* TOKEN_SIZE bytes */
	proto_lookup lookup;
} proto_lookup_token;

typedef struct proto_error {
	uint16_t code;
	uint32_t retry_after;
} proto_error;

typedef struct proto_msg {
	proto_msg_type type;
	uint8_t request_id[PROTO_REQUEST_ID_SIZE];
	union {
		proto_info_reply info_reply;
		proto_lookup lookup;
		proto_lookup_reply lookup_reply;
		proto_token_issue token_issue;
		proto_token_issue_reply token_issue_reply;
		proto_lookup_token lookup_token;
		proto_error error;
	} u;
} proto_msg;

/*
 * Decodes one inner message that fills data exactly. On failure *out is
 * zeroed. Errors: VEIL_ERR_ARGUMENT; VEIL_ERR_PARSE (truncated, trailing
 * bytes, unknown type, a field out of range, a count of 0);
 * VEIL_ERR_UNSUPPORTED (a suite or mode this build does not know, or a
 * token or TokenRequest of a type other than 0x0001); VEIL_ERR_LIMIT (a
 * count above the codec's bounds: PROTO_MAX_BATCH items of a LOOKUP or
 * LOOKUP_TOKEN, PROTO_MAX_TOKEN_BATCH of a TOKEN_ISSUE or its reply).
 */
veil_err proto_msg_decode(const uint8_t *data, size_t len, proto_msg *out)
        __attribute__((warn_unused_result));

/*
 * The decoders' one multiplication: *out = count * item_size. Returns 0,
 * or -1 when the product does not fit in size_t (*out is then left
 * alone): a count and item size read from the wire can wrap a 32-bit
 * size_t, and a wrapped size would let a short message pass as a long one.
 */
int proto_items_size(size_t count, size_t item_size, size_t *out)
        __attribute__((warn_unused_result));

/* Item i of a decoded LOOKUP (i < count): its prefix and element. */
void proto_lookup_item(const proto_lookup *lookup, size_t i, uint32_t *prefix,
                       const uint8_t **element);

/* Item i of a decoded LOOKUP_REPLY: its evaluated element and entries. */
void proto_lookup_reply_item(const proto_lookup_reply *reply, size_t i, const uint8_t **element,
                             const uint8_t **entries);

/*
 * Encoders append one whole inner message to out. Arguments are trusted
 * (the caller's own values); they abort on values the codec cannot
 * represent, which is a programming error. Allocation failure shows as
 * buf_error(out).
 */
void proto_encode_info(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE]);
void proto_encode_info_reply(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE],
                             const proto_info_reply *info);
/* prefixes: count values; elements: count * Ne bytes. */
void proto_encode_lookup(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE], uint8_t suite,
                         uint8_t mode, uint32_t key_id, uint8_t prefix_bits, uint16_t count,
                         const uint32_t *prefixes, const uint8_t *elements);
/*
 * The head of a LOOKUP, as proto_encode_lookup() writes it, for any field
 * values (it checks none); the caller then appends count items of a u32
 * prefix and Ne bytes of element each.
 */
void proto_encode_lookup_head(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE],
                              uint8_t suite, uint8_t mode, uint32_t key_id, uint8_t prefix_bits,
                              uint16_t count);

/*
 * Batch size classes. A LOOKUP carries a count from a small set, so that
 * its size and its reply's say little about how many contacts the client
 * has: the classes under a batch cap of cap items are the powers of two
 * below cap, and cap itself (1, 2, 4, ..., 128, 256 under the default
 * 256). Clients fill a batch up to its class with dummy items; veild
 * refuses a count that is not a class (BAD_REQUEST).
 *
 * proto_size_class() is the least class holding count items (1..cap):
 * 0 when count is 0 or above cap. proto_is_size_class() says whether
 * count is a class under cap.
 */
uint32_t proto_size_class(uint32_t count, uint32_t cap);
int proto_is_size_class(uint32_t count, uint32_t cap);

/* The bytes of a LOOKUP message of count items of element_size bytes each,
 * as proto_encode_lookup() writes it. */
size_t proto_lookup_size(size_t count, size_t element_size);
/*
 * The head of a LOOKUP_REPLY; the caller then appends count items of
 * Ne + slots * entry_size bytes each and, in VOPRF mode, the proof.
 */
void proto_encode_lookup_reply_head(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE],
                                    uint8_t suite, uint8_t mode, uint32_t key_id, uint16_t count,
                                    uint16_t slots, uint16_t entry_size);
/*
 * TOKEN_ISSUE of count requests (1..PROTO_MAX_TOKEN_BATCH), each written
 * as token_request_encode() writes it (type 0x0001).
 */
void proto_encode_token_issue(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE],
                              uint16_t count, const token_request requests[]);
/* TOKEN_ISSUE_REPLY of count responses (1..PROTO_MAX_TOKEN_BATCH). */
void proto_encode_token_issue_reply(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE],
                                    uint16_t count, const token_response responses[]);
/*
 * LOOKUP_TOKEN: the token t (written as token_encode() writes it), then
 * the body proto_encode_lookup() writes for the same arguments (a suite
 * this build knows, count 1..PROTO_MAX_BATCH; prefixes: count values;
 * elements: count * Ne bytes).
 */
void proto_encode_lookup_token(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE],
                               const token *t, uint8_t suite, uint8_t mode, uint32_t key_id,
                               uint8_t prefix_bits, uint16_t count, const uint32_t *prefixes,
                               const uint8_t *elements);
/*
 * The head of a LOOKUP_TOKEN, as proto_encode_lookup_token() writes it,
 * for any field values (it checks none); the caller then appends count
 * items of a u32 prefix and Ne bytes of element each.
 */
void proto_encode_lookup_token_head(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE],
                                    const token *t, uint8_t suite, uint8_t mode, uint32_t key_id,
                                    uint8_t prefix_bits, uint16_t count);

/*
 * The bytes of the tokens-mode messages as their encoders write them, so
 * that a server can bound its requests and a client its replies: a
 * LOOKUP_TOKEN of count items of element_size bytes (TOKEN_SIZE more
 * than proto_lookup_size()), a TOKEN_ISSUE and a TOKEN_ISSUE_REPLY of
 * count requests or responses. The caller keeps count within the codec's
 * bounds (the products cannot wrap then).
 */
size_t proto_lookup_token_size(size_t count, size_t element_size);
size_t proto_token_issue_size(size_t count);
size_t proto_token_issue_reply_size(size_t count);

void proto_encode_error(buf *out, const uint8_t request_id[PROTO_REQUEST_ID_SIZE], uint16_t code,
                        uint32_t retry_after);

#endif

#include "envelope.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire.h"

int
proto_frame_has_header(const uint8_t *data, size_t len)
{
	if (data == NULL || len < PROTO_FRAME_HEADER_SIZE || memcmp(data, PROTO_MAGIC, 4) != 0 ||
	    data[4] != PROTO_VERSION)
		return 0;
	return data[5] == PROTO_FRAME_SEALED || data[5] == PROTO_FRAME_SEALED_REPLY ||
	       data[5] == PROTO_FRAME_ERROR;
}

veil_err
proto_frame_decode(const uint8_t *data, size_t len, proto_frame *out)
{
	wire_reader r;
	veil_err err = VEIL_OK;

	memset(out, 0, sizeof(*out));
	if (!proto_frame_has_header(data, len))
		return VEIL_ERR_PARSE;
	if (len > PROTO_MAX_REPLY_SIZE)
		return VEIL_ERR_LIMIT;
	wire_reader_init(&r, data + PROTO_FRAME_HEADER_SIZE, len - PROTO_FRAME_HEADER_SIZE);
	out->type = (proto_frame_type)data[5];
	if (out->type == PROTO_FRAME_ERROR) {
		if (wire_get_u16(&r, &out->error_code))
			err = VEIL_ERR_PARSE;
	} else {
		/* [client key (SEALED only)] | nonce | box, the box being the
		 * rest and holding at least its MAC. */
		if (out->type == PROTO_FRAME_SEALED &&
		    wire_get_view(&r, &out->client_key, ENVELOPE_PUBLIC_KEY_SIZE))
			err = VEIL_ERR_PARSE;
		if (err == VEIL_OK && wire_get_view(&r, &out->nonce, ENVELOPE_NONCE_SIZE))
			err = VEIL_ERR_PARSE;
		if (err == VEIL_OK && r.left < crypto_box_MACBYTES)
			err = VEIL_ERR_PARSE;
		if (err == VEIL_OK) {
			out->box_len = r.left;
			if (wire_get_view(&r, &out->box, r.left))
				err = VEIL_ERR_PARSE;
		}
	}
	if (err == VEIL_OK && r.left != 0)
		err = VEIL_ERR_PARSE;
	if (err != VEIL_OK)
		memset(out, 0, sizeof(*out));
	return err;
}

static void
put_frame_header(buf *out, proto_frame_type type)
{
	wire_put_bytes(out, (const uint8_t *)PROTO_MAGIC, 4);
	wire_put_u8(out, PROTO_VERSION);
	wire_put_u8(out, (uint8_t)type);
}

/* Appends nonce | box(inner) sealed from sk to pk. */
static veil_err
put_box(buf *out, const uint8_t *pk, const uint8_t *sk, const uint8_t *inner, size_t inner_len)
{
	if (inner_len > PROTO_MAX_REPLY_SIZE)
		return VEIL_ERR_LIMIT;
	uint8_t *nonce = wire_put_space(out, ENVELOPE_NONCE_SIZE + crypto_box_MACBYTES + inner_len);
	if (nonce == NULL)
		return buf_error(out);
	randombytes_buf(nonce, ENVELOPE_NONCE_SIZE);
	if (crypto_box_easy(nonce + ENVELOPE_NONCE_SIZE, inner, inner_len, nonce, pk, sk) != 0)
		return VEIL_ERR_CRYPTO; /* pk is a small-order point */
	return VEIL_OK;
}

veil_err
envelope_shared_key(const uint8_t peer_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
		    const uint8_t own_sk[static ENVELOPE_SECRET_KEY_SIZE],
		    uint8_t shared_out[static ENVELOPE_SHARED_KEY_SIZE])
{
	if (crypto_box_beforenm(shared_out, peer_pk, own_sk) != 0) {
		sodium_memzero(shared_out, ENVELOPE_SHARED_KEY_SIZE);
		return VEIL_ERR_CRYPTO; /* a small-order public key */
	}
	return VEIL_OK;
}

veil_err
envelope_seal_request_shared(const uint8_t client_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
			     const uint8_t shared[static ENVELOPE_SHARED_KEY_SIZE],
			     uint64_t sent_at, const uint8_t *inner, size_t inner_len,
			     buf *frame_out)
{
	if (inner_len > PROTO_MAX_REQUEST_SIZE)
		return VEIL_ERR_LIMIT;
	const size_t plain_len = ENVELOPE_TIME_SIZE + inner_len;
	uint8_t *plain = malloc(plain_len);
	if (plain == NULL)
		return VEIL_ERR_NOMEM;
	for (size_t i = 0; i < ENVELOPE_TIME_SIZE; i++)
		plain[i] = (uint8_t)(sent_at >> (56 - 8 * i));
	if (inner_len != 0)
		memcpy(plain + ENVELOPE_TIME_SIZE, inner, inner_len);

	const size_t start = buf_len(frame_out);
	put_frame_header(frame_out, PROTO_FRAME_SEALED);
	wire_put_bytes(frame_out, client_pk, ENVELOPE_PUBLIC_KEY_SIZE);
	veil_err err = VEIL_OK;
	uint8_t *nonce = wire_put_space(frame_out,
					ENVELOPE_NONCE_SIZE + crypto_box_MACBYTES + plain_len);
	if (nonce == NULL) {
		err = buf_error(frame_out);
	} else {
		randombytes_buf(nonce, ENVELOPE_NONCE_SIZE);
		crypto_box_easy_afternm(nonce + ENVELOPE_NONCE_SIZE, plain, plain_len, nonce,
					shared);
	}
	if (err != VEIL_OK && buf_error(frame_out) == VEIL_OK)
		buf_truncate(frame_out, start);
	sodium_memzero(plain, plain_len);
	free(plain);
	return err;
}

veil_err
envelope_seal_request(const uint8_t client_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
		      const uint8_t client_sk[static ENVELOPE_SECRET_KEY_SIZE],
		      const uint8_t server_pk[static ENVELOPE_PUBLIC_KEY_SIZE], const uint8_t *inner,
		      size_t inner_len, buf *frame_out)
{
	uint8_t shared[ENVELOPE_SHARED_KEY_SIZE];
	veil_err err = envelope_shared_key(server_pk, client_sk, shared);
	if (err == VEIL_OK)
		err = envelope_seal_request_shared(client_pk, shared, (uint64_t)time(NULL), inner,
						   inner_len, frame_out);
	sodium_memzero(shared, sizeof(shared));
	return err;
}

veil_err
envelope_seal_reply(const uint8_t client_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
		    const uint8_t server_sk[static ENVELOPE_SECRET_KEY_SIZE], const uint8_t *inner,
		    size_t inner_len, buf *frame_out)
{
	const size_t start = buf_len(frame_out);
	put_frame_header(frame_out, PROTO_FRAME_SEALED_REPLY);
	veil_err err = put_box(frame_out, client_pk, server_sk, inner, inner_len);
	if (err == VEIL_OK)
		err = buf_error(frame_out);
	if (err != VEIL_OK && buf_error(frame_out) == VEIL_OK)
		buf_truncate(frame_out, start);
	return err;
}

void
envelope_error_frame(buf *frame_out, uint16_t code)
{
	put_frame_header(frame_out, PROTO_FRAME_ERROR);
	wire_put_u16(frame_out, code);
}

/* Opens nonce/box from pk to sk, appending the plaintext to out. */
static veil_err
open_box(const proto_frame *frame, const uint8_t *pk, const uint8_t *sk, buf *out)
{
	const size_t plain_len = frame->box_len - crypto_box_MACBYTES;
	const size_t start = buf_len(out);
	uint8_t *plain = wire_put_space(out, plain_len);
	if (plain == NULL)
		return buf_error(out);
	if (crypto_box_open_easy(plain, frame->box, frame->box_len, frame->nonce, pk, sk) != 0) {
		buf_truncate(out, start);
		return VEIL_ERR_VERIFY;
	}
	return VEIL_OK;
}

veil_err
envelope_open_request(const proto_frame *frame,
		      const uint8_t server_sk[static ENVELOPE_SECRET_KEY_SIZE], buf *inner_out,
		      uint64_t *sent_at)
{
	*sent_at = 0;
	if (frame->type != PROTO_FRAME_SEALED)
		return VEIL_ERR_ARGUMENT;
	const size_t start = buf_len(inner_out);
	veil_err err = open_box(frame, frame->client_key, server_sk, inner_out);
	if (err != VEIL_OK)
		return err;
	/* sent_at u64 | inner: a box too short for the time is no request. */
	if (buf_len(inner_out) - start < ENVELOPE_TIME_SIZE) {
		buf_truncate(inner_out, start);
		return VEIL_ERR_VERIFY;
	}
	uint8_t *plain = (uint8_t *)inner_out->data + start;
	uint64_t t = 0;
	for (size_t i = 0; i < ENVELOPE_TIME_SIZE; i++)
		t = t << 8 | plain[i];
	const size_t inner_len = buf_len(inner_out) - start - ENVELOPE_TIME_SIZE;
	memmove(plain, plain + ENVELOPE_TIME_SIZE, inner_len);
	buf_truncate(inner_out, start + inner_len);
	*sent_at = t;
	return VEIL_OK;
}

veil_err
envelope_open_reply(const uint8_t *data, size_t len,
		    const uint8_t server_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
		    const uint8_t client_sk[static ENVELOPE_SECRET_KEY_SIZE], buf *inner_out,
		    uint16_t *error_code)
{
	proto_frame frame;
	*error_code = 0;
	veil_err err = proto_frame_decode(data, len, &frame);
	if (err != VEIL_OK)
		return VEIL_ERR_PARSE;
	if (frame.type == PROTO_FRAME_ERROR) {
		*error_code = frame.error_code != 0 ? frame.error_code : 0xffff;
		return VEIL_OK;
	}
	if (frame.type != PROTO_FRAME_SEALED_REPLY)
		return VEIL_ERR_PARSE;
	return open_box(&frame, server_pk, client_sk, inner_out);
}

#include "envelope.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire.h"

/* Labels of the key derivations (PROTOCOL.md, "Frames"). */
static const char label_request[] = "veil-req-v2";
static const char label_reply[] = "veil-rep-v2";
static const char label_identity[] = "veil-id-v2";
/* SEALED_ANONYMOUS exchanges (PROTOCOL.md, "Tokens mode"). */
static const char label_anonymous_request[] = "veil-anon-req-v2";
static const char label_anonymous_reply[] = "veil-anon-rep-v2";

int
proto_frame_has_header(const uint8_t *data, size_t len)
{
	if (data == NULL || len < PROTO_FRAME_HEADER_SIZE || memcmp(data, PROTO_MAGIC, 4) != 0 ||
	    data[4] != PROTO_VERSION)
		return 0;
	return data[5] == PROTO_FRAME_SEALED || data[5] == PROTO_FRAME_SEALED_REPLY ||
	       data[5] == PROTO_FRAME_ERROR || data[5] == PROTO_FRAME_SEALED_ANONYMOUS;
}

int
proto_frame_is_old_version(const uint8_t *data, size_t len)
{
	return data != NULL && len >= PROTO_FRAME_HEADER_SIZE &&
	       memcmp(data, PROTO_MAGIC, 4) == 0 && data[4] >= 1 && data[4] < PROTO_VERSION;
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
		/* [ephemeral key (requests only)] | nonce | box, the box
		 * being the rest and holding at least its MAC. */
		if (out->type != PROTO_FRAME_SEALED_REPLY &&
		    wire_get_view(&r, &out->ephemeral_key, ENVELOPE_PUBLIC_KEY_SIZE))
			err = VEIL_ERR_PARSE;
		if (err == VEIL_OK && wire_get_view(&r, &out->nonce, ENVELOPE_NONCE_SIZE))
			err = VEIL_ERR_PARSE;
		if (err == VEIL_OK && r.left < ENVELOPE_MAC_SIZE)
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

/* One direction's key: BLAKE2b-256(key = shared, label || ephemeral_pk). */
static void
direction_key(uint8_t out[ENVELOPE_KEY_SIZE], const uint8_t shared[ENVELOPE_KEY_SIZE],
              const char *label, const uint8_t ephemeral_pk[ENVELOPE_PUBLIC_KEY_SIZE])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, shared, ENVELOPE_KEY_SIZE, ENVELOPE_KEY_SIZE);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	crypto_generichash_update(&st, ephemeral_pk, ENVELOPE_PUBLIC_KEY_SIZE);
	crypto_generichash_final(&st, out, ENVELOPE_KEY_SIZE);
	sodium_memzero(&st, sizeof(st));
}

/* Both directions' keys of an exchange from its X25519 (the crypto_box
 * shared key of the ephemeral and the server's static key pair), for a
 * SEALED frame or, when anonymous, a SEALED_ANONYMOUS one. */
static veil_err
exchange_from(envelope_exchange *ex, const uint8_t ephemeral_pk[ENVELOPE_PUBLIC_KEY_SIZE],
              const uint8_t *peer_pk, const uint8_t *own_sk, int anonymous)
{
	uint8_t shared[crypto_box_BEFORENMBYTES];
	memcpy(ex->ephemeral_pk, ephemeral_pk, ENVELOPE_PUBLIC_KEY_SIZE);
	if (crypto_box_beforenm(shared, peer_pk, own_sk) != 0) {
		sodium_memzero(shared, sizeof(shared));
		envelope_exchange_wipe(ex);
		return VEIL_ERR_CRYPTO; /* a small-order public key */
	}
	direction_key(ex->request_key, shared, anonymous ? label_anonymous_request : label_request,
	              ephemeral_pk);
	direction_key(ex->reply_key, shared, anonymous ? label_anonymous_reply : label_reply,
	              ephemeral_pk);
	sodium_memzero(shared, sizeof(shared));
	return VEIL_OK;
}

static veil_err
exchange_begin(envelope_exchange *out, const uint8_t *server_pk, int anonymous)
{
	uint8_t ephemeral_pk[ENVELOPE_PUBLIC_KEY_SIZE], ephemeral_sk[ENVELOPE_SECRET_KEY_SIZE];
	crypto_box_keypair(ephemeral_pk, ephemeral_sk);
	veil_err err = exchange_from(out, ephemeral_pk, server_pk, ephemeral_sk, anonymous);
	sodium_memzero(ephemeral_sk, sizeof(ephemeral_sk));
	return err;
}

veil_err
envelope_exchange_begin(envelope_exchange *out,
                        const uint8_t server_pk[static ENVELOPE_PUBLIC_KEY_SIZE])
{
	return exchange_begin(out, server_pk, 0);
}

veil_err
envelope_exchange_begin_anonymous(envelope_exchange *out,
                                  const uint8_t server_pk[static ENVELOPE_PUBLIC_KEY_SIZE])
{
	return exchange_begin(out, server_pk, 1);
}

void
envelope_exchange_wipe(envelope_exchange *ex)
{
	if (ex != NULL)
		sodium_memzero(ex, sizeof(*ex));
}

veil_err
envelope_identity_key(const uint8_t server_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
                      const uint8_t client_sk[static ENVELOPE_SECRET_KEY_SIZE],
                      uint8_t identity_out[static ENVELOPE_KEY_SIZE])
{
	uint8_t shared[crypto_box_BEFORENMBYTES];
	veil_err err = VEIL_OK;
	if (crypto_box_beforenm(shared, server_pk, client_sk) != 0) {
		sodium_memzero(identity_out, ENVELOPE_KEY_SIZE);
		err = VEIL_ERR_CRYPTO; /* a small-order public key */
	} else {
		crypto_generichash(identity_out, ENVELOPE_KEY_SIZE, (const uint8_t *)label_identity,
		                   strlen(label_identity), shared, sizeof(shared));
	}
	sodium_memzero(shared, sizeof(shared));
	return err;
}

/* The proof's message: ephemeral_pk | nonce | sent_at u64. */
#define PROOF_MESSAGE_SIZE (ENVELOPE_PUBLIC_KEY_SIZE + ENVELOPE_NONCE_SIZE + ENVELOPE_TIME_SIZE)

static void
proof_message(uint8_t out[PROOF_MESSAGE_SIZE], const uint8_t *ephemeral_pk, const uint8_t *nonce,
              const uint8_t time_be[ENVELOPE_TIME_SIZE])
{
	memcpy(out, ephemeral_pk, ENVELOPE_PUBLIC_KEY_SIZE);
	memcpy(out + ENVELOPE_PUBLIC_KEY_SIZE, nonce, ENVELOPE_NONCE_SIZE);
	memcpy(out + ENVELOPE_PUBLIC_KEY_SIZE + ENVELOPE_NONCE_SIZE, time_be, ENVELOPE_TIME_SIZE);
}

/*
 * Seals a request frame of type under ex's request key, with nonce (NULL:
 * fresh): the box holds client_pk | proof | sent_at u64 | inner when
 * client_pk is given (the proof made under identity once the nonce is
 * known), else sent_at u64 | inner. frame_out is left as it was on error.
 */
static veil_err
seal_request_frame(const envelope_exchange *ex, proto_frame_type type, const uint8_t *client_pk,
                   const uint8_t *identity, uint64_t sent_at, const uint8_t *nonce,
                   const uint8_t *inner, size_t inner_len, buf *frame_out)
{
	if (inner_len > PROTO_MAX_REQUEST_SIZE)
		return VEIL_ERR_LIMIT;
	const size_t head_len =
	        client_pk != NULL ? ENVELOPE_PUBLIC_KEY_SIZE + ENVELOPE_PROOF_SIZE : 0;
	const size_t plain_len = head_len + ENVELOPE_TIME_SIZE + inner_len;
	uint8_t *plain = malloc(plain_len);
	if (plain == NULL)
		return VEIL_ERR_NOMEM;
	uint8_t *time_be = plain + head_len;
	if (client_pk != NULL)
		memcpy(plain, client_pk, ENVELOPE_PUBLIC_KEY_SIZE);
	for (size_t i = 0; i < ENVELOPE_TIME_SIZE; i++)
		time_be[i] = (uint8_t)(sent_at >> (56 - 8 * i));
	if (inner_len != 0)
		memcpy(time_be + ENVELOPE_TIME_SIZE, inner, inner_len);

	const size_t start = buf_len(frame_out);
	put_frame_header(frame_out, type);
	wire_put_bytes(frame_out, ex->ephemeral_pk, ENVELOPE_PUBLIC_KEY_SIZE);
	uint8_t *at =
	        wire_put_space(frame_out, ENVELOPE_NONCE_SIZE + ENVELOPE_MAC_SIZE + plain_len);
	const veil_err err = buf_error(frame_out);
	if (at != NULL) {
		if (nonce != NULL)
			memcpy(at, nonce, ENVELOPE_NONCE_SIZE);
		else
			randombytes_buf(at, ENVELOPE_NONCE_SIZE);
		if (client_pk != NULL) {
			uint8_t message[PROOF_MESSAGE_SIZE];
			proof_message(message, ex->ephemeral_pk, at, time_be);
			crypto_auth(plain + ENVELOPE_PUBLIC_KEY_SIZE, message, sizeof(message),
			            identity);
		}
		crypto_secretbox_easy(at + ENVELOPE_NONCE_SIZE, plain, plain_len, at,
		                      ex->request_key);
	}
	if (err != VEIL_OK && buf_error(frame_out) == VEIL_OK)
		buf_truncate(frame_out, start);
	sodium_memzero(plain, plain_len);
	free(plain);
	return err;
}

veil_err
envelope_seal_request_with(const envelope_exchange *ex,
                           const uint8_t client_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
                           const uint8_t identity[static ENVELOPE_KEY_SIZE], uint64_t sent_at,
                           const uint8_t *nonce, const uint8_t *inner, size_t inner_len,
                           buf *frame_out)
{
	return seal_request_frame(ex, PROTO_FRAME_SEALED, client_pk, identity, sent_at, nonce,
	                          inner, inner_len, frame_out);
}

veil_err
envelope_seal_request(const uint8_t client_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
                      const uint8_t client_sk[static ENVELOPE_SECRET_KEY_SIZE],
                      const uint8_t server_pk[static ENVELOPE_PUBLIC_KEY_SIZE],
                      const uint8_t *inner, size_t inner_len, buf *frame_out,
                      envelope_exchange *ex_out)
{
	uint8_t identity[ENVELOPE_KEY_SIZE];
	veil_err err = envelope_exchange_begin(ex_out, server_pk);
	if (err == VEIL_OK)
		err = envelope_identity_key(server_pk, client_sk, identity);
	if (err == VEIL_OK)
		err = envelope_seal_request_with(ex_out, client_pk, identity, (uint64_t)time(NULL),
		                                 NULL, inner, inner_len, frame_out);
	sodium_memzero(identity, sizeof(identity));
	if (err != VEIL_OK)
		envelope_exchange_wipe(ex_out);
	return err;
}

veil_err
envelope_seal_anonymous(const envelope_exchange *ex, uint64_t sent_at, const uint8_t *nonce,
                        const uint8_t *inner, size_t inner_len, buf *frame_out)
{
	return seal_request_frame(ex, PROTO_FRAME_SEALED_ANONYMOUS, NULL, NULL, sent_at, nonce,
	                          inner, inner_len, frame_out);
}

veil_err
envelope_seal_reply(const envelope_exchange *ex, const uint8_t *inner, size_t inner_len,
                    buf *frame_out)
{
	if (inner_len > PROTO_MAX_REPLY_SIZE)
		return VEIL_ERR_LIMIT;
	const size_t start = buf_len(frame_out);
	put_frame_header(frame_out, PROTO_FRAME_SEALED_REPLY);
	uint8_t *nonce =
	        wire_put_space(frame_out, ENVELOPE_NONCE_SIZE + ENVELOPE_MAC_SIZE + inner_len);
	veil_err err = buf_error(frame_out);
	if (nonce != NULL) {
		randombytes_buf(nonce, ENVELOPE_NONCE_SIZE);
		crypto_secretbox_easy(nonce + ENVELOPE_NONCE_SIZE, inner, inner_len, nonce,
		                      ex->reply_key);
	}
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

/* Opens a frame's nonce/box under key, appending the plaintext to out. */
static veil_err
open_box(const proto_frame *frame, const uint8_t *key, buf *out)
{
	const size_t plain_len = frame->box_len - ENVELOPE_MAC_SIZE;
	const size_t start = buf_len(out);
	uint8_t *plain = wire_put_space(out, plain_len);
	if (plain == NULL)
		return buf_error(out);
	if (crypto_secretbox_open_easy(plain, frame->box, frame->box_len, frame->nonce, key) != 0) {
		buf_truncate(out, start);
		return VEIL_ERR_VERIFY;
	}
	return VEIL_OK;
}

/*
 * The opened request at start of inner_out begins with head_len bytes of
 * fields ending in sent_at u64: *sent_at gets that time, and the inner
 * message after the fields moves to start, the fields wiped.
 */
static void
strip_request_head(buf *inner_out, size_t start, size_t head_len, uint64_t *sent_at)
{
	uint8_t *plain = (uint8_t *)inner_out->data + start;
	const uint8_t *time_be = plain + head_len - ENVELOPE_TIME_SIZE;
	uint64_t t = 0;
	for (size_t i = 0; i < ENVELOPE_TIME_SIZE; i++)
		t = t << 8 | time_be[i];
	const size_t inner_len = buf_len(inner_out) - start - head_len;
	memmove(plain, plain + head_len, inner_len);
	sodium_memzero(plain + inner_len, head_len);
	buf_truncate(inner_out, start + inner_len);
	*sent_at = t;
}

/* The guarded part of an identity cache, one sodium_malloc() block: bytes
 * only, so that its unaligned address (sodium_malloc() puts the end
 * against a guard page) aligns every field. */
typedef struct identity_entry {
	uint8_t client_pk[ENVELOPE_PUBLIC_KEY_SIZE];
	uint8_t identity[ENVELOPE_KEY_SIZE];
	uint8_t used;
} identity_entry;

typedef struct identity_secrets {
	uint8_t index_key[crypto_shorthash_KEYBYTES];         /* picks a client key's set */
	uint8_t fingerprint_key[crypto_generichash_KEYBYTES]; /* of server_fingerprint */
	uint8_t server_fingerprint[crypto_generichash_BYTES]; /* of the entries' server key */
	uint8_t bound;                                        /* server_fingerprint is set */
	identity_entry entries[];                             /* sets * WAYS */
} identity_secrets;

struct envelope_identity_cache {
	identity_secrets *secrets;
	size_t sets;     /* a power of two */
	unsigned victim; /* the way a replacement takes when its set is full */
	envelope_identity_cache_stats stats;
};

#define CACHE_WAYS ENVELOPE_IDENTITY_CACHE_WAYS

static size_t
cache_secrets_size(size_t sets)
{
	return sizeof(identity_secrets) + sets * CACHE_WAYS * sizeof(identity_entry);
}

veil_err
envelope_identity_cache_new(size_t entries, envelope_identity_cache **out)
{
	*out = NULL;
	if (entries < CACHE_WAYS || entries > ENVELOPE_IDENTITY_CACHE_MAX_ENTRIES)
		return VEIL_ERR_ARGUMENT;
	size_t sets = 1;
	while (sets * CACHE_WAYS < entries)
		sets <<= 1;
	envelope_identity_cache *c = calloc(1, sizeof(*c));
	identity_secrets *s = sodium_malloc(cache_secrets_size(sets));
	if (c == NULL || s == NULL) {
		free(c);
		sodium_free(s);
		return VEIL_ERR_NOMEM;
	}
	sodium_memzero(s, cache_secrets_size(sets));
	crypto_shorthash_keygen(s->index_key);
	crypto_generichash_keygen(s->fingerprint_key);
	sodium_mprotect_readonly(s);
	c->secrets = s;
	c->sets = sets;
	*out = c;
	return VEIL_OK;
}

void
envelope_identity_cache_free(envelope_identity_cache *cache)
{
	if (cache == NULL)
		return;
	/* sodium_free() makes the block writable and wipes it. */
	sodium_free(cache->secrets);
	free(cache);
}

void
envelope_identity_cache_stats_get(const envelope_identity_cache *cache,
                                  envelope_identity_cache_stats *out)
{
	*out = cache->stats;
	out->capacity = cache->sets * CACHE_WAYS;
}

/*
 * Makes cache hold entries of server_sk only: when its entries were made
 * under another server key (or none yet), empties it and names
 * server_sk's. Returns 0, or -1 when the cache cannot be written to (it
 * is not to be used then).
 */
static int
cache_bind(envelope_identity_cache *cache, const uint8_t *server_sk)
{
	identity_secrets *s = cache->secrets;
	uint8_t fingerprint[crypto_generichash_BYTES];
	crypto_generichash(fingerprint, sizeof(fingerprint), server_sk, ENVELOPE_SECRET_KEY_SIZE,
	                   s->fingerprint_key, sizeof(s->fingerprint_key));
	int rc = 0;
	if (!s->bound ||
	    sodium_memcmp(fingerprint, s->server_fingerprint, sizeof(fingerprint)) != 0) {
		if (sodium_mprotect_readwrite(s) != 0) {
			rc = -1;
		} else {
			sodium_memzero(s->entries,
			               cache->sets * CACHE_WAYS * sizeof(identity_entry));
			memcpy(s->server_fingerprint, fingerprint, sizeof(fingerprint));
			s->bound = 1;
			sodium_mprotect_readonly(s);
			cache->stats.entries = 0;
		}
	}
	sodium_memzero(fingerprint, sizeof(fingerprint));
	return rc;
}

/* The first entry of client_pk's set. */
static identity_entry *
cache_set(const envelope_identity_cache *cache, const uint8_t *client_pk)
{
	uint8_t hash[crypto_shorthash_BYTES];
	crypto_shorthash(hash, client_pk, ENVELOPE_PUBLIC_KEY_SIZE, cache->secrets->index_key);
	uint64_t h = 0;
	for (size_t i = 0; i < sizeof(hash); i++)
		h = h << 8 | hash[i];
	return cache->secrets->entries + (h & (cache->sets - 1)) * CACHE_WAYS;
}

/* Stores client_pk's identity in its set: over found (an entry of
 * client_pk's whose key failed), else in a free way, else over the
 * victim. Nothing when the cache cannot be written to. */
static void
cache_store(envelope_identity_cache *cache, identity_entry *set, identity_entry *found,
            const uint8_t *client_pk, const uint8_t *identity)
{
	identity_entry *e = found;
	for (size_t w = 0; e == NULL && w < CACHE_WAYS; w++)
		if (!set[w].used)
			e = &set[w];
	if (e == NULL) {
		e = &set[cache->victim];
		cache->victim = (cache->victim + 1) % CACHE_WAYS;
	}
	if (sodium_mprotect_readwrite(cache->secrets) != 0)
		return;
	if (!e->used)
		cache->stats.entries++;
	memcpy(e->client_pk, client_pk, ENVELOPE_PUBLIC_KEY_SIZE);
	memcpy(e->identity, identity, ENVELOPE_KEY_SIZE);
	e->used = 1;
	sodium_mprotect_readonly(cache->secrets);
}

/*
 * 1 when proof, over message, verifies for client_pk: under its cached
 * identity key when cache holds one that verifies it, else under the one
 * computed from client_pk and server_sk (then stored in cache). A proof
 * that fails is checked under both keys (a key not cached: under none
 * that counts) whether or not client_pk is cached, so that a refusal
 * takes as long either way.
 */
static int
proof_verifies(envelope_identity_cache *cache, const uint8_t *server_sk, const uint8_t *client_pk,
               const uint8_t *proof, const uint8_t *message, size_t message_len)
{
	static const uint8_t no_key[ENVELOPE_KEY_SIZE];
	identity_entry *set = NULL, *found = NULL;
	if (cache != NULL && cache_bind(cache, server_sk) != 0)
		cache = NULL;
	if (cache != NULL) {
		set = cache_set(cache, client_pk);
		for (size_t w = 0; w < CACHE_WAYS; w++) {
			const int same = sodium_memcmp(set[w].client_pk, client_pk,
			                               ENVELOPE_PUBLIC_KEY_SIZE) == 0;
			if (same && set[w].used)
				found = &set[w];
		}
		/* A key not cached is checked under none that counts. */
		const int verified =
		        crypto_auth_verify(proof, message, message_len,
		                           found != NULL ? found->identity : no_key) == 0;
		if (verified && found != NULL) {
			cache->stats.hits++;
			return 1;
		}
	}
	/* envelope_identity_key(client_pk, server_sk) is the client's
	 * envelope_identity_key(server_pk, client_sk): X25519 is symmetric. */
	uint8_t identity[ENVELOPE_KEY_SIZE];
	const int proven = envelope_identity_key(client_pk, server_sk, identity) == VEIL_OK &&
	                   crypto_auth_verify(proof, message, message_len, identity) == 0;
	if (cache != NULL) {
		cache->stats.misses++;
		if (proven)
			cache_store(cache, set, found, client_pk, identity);
	}
	sodium_memzero(identity, sizeof(identity));
	return proven;
}

veil_err
envelope_open_request_cached(const proto_frame *frame,
                             const uint8_t server_sk[static ENVELOPE_SECRET_KEY_SIZE],
                             envelope_identity_cache *cache, buf *inner_out, uint64_t *sent_at,
                             uint8_t client_pk_out[static ENVELOPE_PUBLIC_KEY_SIZE],
                             envelope_exchange *ex_out)
{
	*sent_at = 0;
	memset(client_pk_out, 0, ENVELOPE_PUBLIC_KEY_SIZE);
	memset(ex_out, 0, sizeof(*ex_out));
	if (frame->type != PROTO_FRAME_SEALED)
		return VEIL_ERR_ARGUMENT;
	if (exchange_from(ex_out, frame->ephemeral_key, frame->ephemeral_key, server_sk, 0) !=
	    VEIL_OK)
		return VEIL_ERR_VERIFY; /* a small-order ephemeral key */
	const size_t start = buf_len(inner_out);
	veil_err err = open_box(frame, ex_out->request_key, inner_out);
	if (err != VEIL_OK)
		goto fail;
	/* client_pk | proof | sent_at u64 | inner: shorter is no request. */
	err = VEIL_ERR_VERIFY;
	if (buf_len(inner_out) - start < ENVELOPE_REQUEST_OVERHEAD)
		goto fail;
	uint8_t *plain = (uint8_t *)inner_out->data + start;
	const uint8_t *proof = plain + ENVELOPE_PUBLIC_KEY_SIZE;
	const uint8_t *time_be = proof + ENVELOPE_PROOF_SIZE;
	uint8_t message[PROOF_MESSAGE_SIZE];
	proof_message(message, frame->ephemeral_key, frame->nonce, time_be);
	if (!proof_verifies(cache, server_sk, plain, proof, message, sizeof(message)))
		goto fail;
	memcpy(client_pk_out, plain, ENVELOPE_PUBLIC_KEY_SIZE);
	strip_request_head(inner_out, start, ENVELOPE_REQUEST_OVERHEAD, sent_at);
	return VEIL_OK;
fail:
	if (buf_len(inner_out) > start) {
		sodium_memzero((uint8_t *)inner_out->data + start, buf_len(inner_out) - start);
		buf_truncate(inner_out, start);
	}
	envelope_exchange_wipe(ex_out);
	return err;
}

veil_err
envelope_open_request(const proto_frame *frame,
                      const uint8_t server_sk[static ENVELOPE_SECRET_KEY_SIZE], buf *inner_out,
                      uint64_t *sent_at, uint8_t client_pk_out[static ENVELOPE_PUBLIC_KEY_SIZE],
                      envelope_exchange *ex_out)
{
	return envelope_open_request_cached(frame, server_sk, NULL, inner_out, sent_at,
	                                    client_pk_out, ex_out);
}

veil_err
envelope_open_anonymous(const proto_frame *frame,
                        const uint8_t server_sk[static ENVELOPE_SECRET_KEY_SIZE], buf *inner_out,
                        uint64_t *sent_at, envelope_exchange *ex_out)
{
	*sent_at = 0;
	memset(ex_out, 0, sizeof(*ex_out));
	if (frame->type != PROTO_FRAME_SEALED_ANONYMOUS)
		return VEIL_ERR_ARGUMENT;
	if (exchange_from(ex_out, frame->ephemeral_key, frame->ephemeral_key, server_sk, 1) !=
	    VEIL_OK)
		return VEIL_ERR_VERIFY; /* a small-order ephemeral key */
	const size_t start = buf_len(inner_out);
	veil_err err = open_box(frame, ex_out->request_key, inner_out);
	if (err == VEIL_OK && buf_len(inner_out) - start < ENVELOPE_TIME_SIZE) {
		/* sent_at u64 | inner: shorter is no request. */
		sodium_memzero((uint8_t *)inner_out->data + start, buf_len(inner_out) - start);
		buf_truncate(inner_out, start);
		err = VEIL_ERR_VERIFY;
	}
	if (err != VEIL_OK) {
		envelope_exchange_wipe(ex_out);
		return err;
	}
	strip_request_head(inner_out, start, ENVELOPE_TIME_SIZE, sent_at);
	return VEIL_OK;
}

veil_err
envelope_open_reply(const uint8_t *data, size_t len, const envelope_exchange *ex, buf *inner_out,
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
	return open_box(&frame, ex->reply_key, inner_out);
}

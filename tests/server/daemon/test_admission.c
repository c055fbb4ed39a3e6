/*
 * What both daemons do alike with a sealed request (admission.h), on a
 * real clients store and replay guard in temporary directories: each
 * refusal as its wire status, counted; enrolment before the guard, so
 * that a stranger's request never enters it; a replay refused; the
 * mapping of errors to statuses; the sealing of the reply. Then
 * veil-issuer's handler, which admits that way (issue_service.h): a
 * service without a guard refused, a replayed TOKEN_ISSUE charged once,
 * a stranger filling nothing of the guard.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "admission.h"
#include "harness.h"
#include "issue_service.h"
#include "issuer.h"
#include "token.h"

#define DAY      86400
#define NOW      ((int64_t)20000 * DAY + 12 * 3600) /* noon of a UTC day */
#define CAPACITY 10                                 /* a client's bucket */
#define NAME     "issuer.example.org"

/* A worker's reply and its counters, as a daemon's worker keeps them. */
typedef struct reply_under_test {
	buf inner;
	uint64_t errors[ADMISSION_STATUS_COUNT + 1]; /* one past: nothing may count there */
	admission_reply r;
} reply_under_test;

static void
reply_free(void *arg)
{
	buf_free(&((reply_under_test *)arg)->inner);
}

static reply_under_test *
reply_new(void)
{
	reply_under_test *t = test_keep(calloc(1, sizeof(*t)));
	buf_init(&t->inner);
	t->r = (admission_reply){&t->inner, t->errors, PROTO_STATUS_OK};
	test_defer(reply_free, t);
	return t;
}

/* The ERROR the reply holds: 1 when it decodes as one with this code,
 * request id and retry_after. */
static int
holds_error(const reply_under_test *t, const uint8_t *request_id, uint16_t code,
            uint32_t retry_after)
{
	proto_msg msg;
	if (proto_msg_decode((const uint8_t *)buf_data(&t->inner), buf_len(&t->inner), &msg) !=
	    VEIL_OK)
		return 0;
	return msg.type == PROTO_MSG_ERROR && msg.u.error.code == code &&
	       msg.u.error.retry_after == retry_after &&
	       memcmp(msg.request_id, request_id, PROTO_REQUEST_ID_SIZE) == 0 &&
	       t->r.status == code;
}

/* How many refusals were counted, over every status. */
static uint64_t
counted(const reply_under_test *t)
{
	uint64_t n = 0;
	for (size_t i = 0; i < ADMISSION_STATUS_COUNT + 1; i++)
		n += t->errors[i];
	return n;
}

static void
key_of(uint8_t key[CLIENTS_KEY_SIZE], uint8_t who)
{
	memset(key, who, CLIENTS_KEY_SIZE);
	key[0] = 0xc1;
}

static void
nonce_of(uint8_t nonce[REPLAY_NONCE_SIZE], uint8_t n)
{
	memset(nonce, 0x5a, REPLAY_NONCE_SIZE);
	nonce[REPLAY_NONCE_SIZE - 1] = n;
}

static void
clients_close_deferred(void *c)
{
	clients_close(c);
}

/* A fresh clients store in a case directory: a bucket of CAPACITY a day,
 * enrolment as given. */
static clients *
store_new(int enrolment_required)
{
	clients_config config = {enrolment_required, CAPACITY, CAPACITY};
	clients *c = NULL;
	if (clients_open(test_case_dir(), &config, &c) != VEIL_OK)
		return NULL;
	test_defer(clients_close_deferred, c);
	return c;
}

static int
enrol(clients *c, uint8_t who)
{
	uint8_t key[CLIENTS_KEY_SIZE];
	key_of(key, who);
	return clients_enrol(c, key, 0, NOW, NULL) == VEIL_OK;
}

static void
guard_free_deferred(void *g)
{
	replay_guard_free(g);
}

/* A guard started now on the real clock, holding capacity requests a
 * generation, budget of one client's. */
static replay_guard *
guard_new(size_t capacity, size_t budget)
{
	replay_config config;
	replay_config_defaults(&config, (int64_t)time(NULL));
	config.capacity = capacity;
	config.client_budget = budget;
	replay_guard *g = NULL;
	if (replay_guard_new(&config, &g) != VEIL_OK)
		return NULL;
	test_defer(guard_free_deferred, g);
	return g;
}

/* ------------------------------------------------------------------ */
/* The error reply, the request id, the status of an error, the clock */

static void
case_error_reply(void)
{
	reply_under_test *t = reply_new();
	uint8_t id[PROTO_REQUEST_ID_SIZE];
	memset(id, 0x42, sizeof(id));
	REQUIRE(buf_append_str(&t->inner, "what the worker had built") == VEIL_OK);
	admission_error(&t->r, id, PROTO_STATUS_RATE_LIMITED, 77);
	CHECK(holds_error(t, id, PROTO_STATUS_RATE_LIMITED, 77));
	CHECK(t->errors[PROTO_STATUS_RATE_LIMITED] == 1 && counted(t) == 1);
	/* Another replaces it, and is counted under its own status. */
	admission_error(&t->r, id, PROTO_STATUS_TOKEN_SPENT, 0);
	CHECK(holds_error(t, id, PROTO_STATUS_TOKEN_SPENT, 0));
	CHECK(t->errors[PROTO_STATUS_TOKEN_SPENT] == 1 && counted(t) == 2);
	/* A status past those counted is sent, but counted nowhere. */
	admission_error(&t->r, id, ADMISSION_STATUS_COUNT, 0);
	CHECK(t->r.status == ADMISSION_STATUS_COUNT);
	CHECK(counted(t) == 2 && t->errors[ADMISSION_STATUS_COUNT] == 0);
}

typedef struct id_row {
	const char *name;
	size_t len; /* of the inner message: type u8 | request id | ... */
	int has_id;
} id_row;

static const id_row id_rows[] = {
        {"empty", 0, 0},
        {"the type alone", 1, 0},
        {"one byte short of an id", PROTO_REQUEST_ID_SIZE, 0},
        {"the type and an id", 1 + PROTO_REQUEST_ID_SIZE, 1},
        {"a message that does not decode", 1 + PROTO_REQUEST_ID_SIZE + 3, 1},
};

static int
check_id(const void *row)
{
	const id_row *r = row;
	static const uint8_t zeros[PROTO_REQUEST_ID_SIZE];
	buf inner;
	buf_init(&inner);
	for (size_t i = 0; i < r->len; i++)
		(void)buf_append_byte(&inner, (char)('a' + i));
	const uint8_t *id = admission_request_id(&inner);
	const int ok = r->has_id ? id == (const uint8_t *)buf_data(&inner) + 1
	                         : memcmp(id, zeros, sizeof(zeros)) == 0;
	buf_free(&inner);
	return ok;
}

TEST_ROWS_CASE(case_request_id, id_rows, check_id)

typedef struct status_row {
	const char *name;
	veil_err err;
	uint16_t status;
} status_row;

static const status_row status_rows[] = {
        {"unsupported: UNSUPPORTED", VEIL_ERR_UNSUPPORTED, PROTO_STATUS_UNSUPPORTED},
        {"limit: BATCH_TOO_LARGE", VEIL_ERR_LIMIT, PROTO_STATUS_BATCH_TOO_LARGE},
        {"element: BAD_ELEMENT", VEIL_ERR_ELEMENT, PROTO_STATUS_BAD_ELEMENT},
        {"parse: BAD_REQUEST", VEIL_ERR_PARSE, PROTO_STATUS_BAD_REQUEST},
        {"argument: BAD_REQUEST", VEIL_ERR_ARGUMENT, PROTO_STATUS_BAD_REQUEST},
        {"ok: INTERNAL", VEIL_OK, PROTO_STATUS_INTERNAL},
        {"nomem: INTERNAL", VEIL_ERR_NOMEM, PROTO_STATUS_INTERNAL},
        {"scalar: INTERNAL", VEIL_ERR_SCALAR, PROTO_STATUS_INTERNAL},
        {"invalid input: INTERNAL", VEIL_ERR_INVALID_INPUT, PROTO_STATUS_INTERNAL},
        {"derive key pair: INTERNAL", VEIL_ERR_DERIVE_KEY_PAIR, PROTO_STATUS_INTERNAL},
        {"inverse: INTERNAL", VEIL_ERR_INVERSE, PROTO_STATUS_INTERNAL},
        {"verify: INTERNAL", VEIL_ERR_VERIFY, PROTO_STATUS_INTERNAL},
        {"system: INTERNAL", VEIL_ERR_SYSTEM, PROTO_STATUS_INTERNAL},
        {"crypto: INTERNAL", VEIL_ERR_CRYPTO, PROTO_STATUS_INTERNAL},
        {"timeout: INTERNAL", VEIL_ERR_TIMEOUT, PROTO_STATUS_INTERNAL},
        {"transport: INTERNAL", VEIL_ERR_TRANSPORT, PROTO_STATUS_INTERNAL},
        {"busy: INTERNAL", VEIL_ERR_BUSY, PROTO_STATUS_INTERNAL},
        {"corrupt: INTERNAL", VEIL_ERR_CORRUPT, PROTO_STATUS_INTERNAL},
        {"exists: INTERNAL", VEIL_ERR_EXISTS, PROTO_STATUS_INTERNAL},
        {"not found: INTERNAL", VEIL_ERR_NOT_FOUND, PROTO_STATUS_INTERNAL},
        {"permission: INTERNAL", VEIL_ERR_PERMISSION, PROTO_STATUS_INTERNAL},
        {"a value no error has: INTERNAL", (veil_err)1000, PROTO_STATUS_INTERNAL},
};

static int
check_status(const void *row)
{
	const status_row *r = row;
	return admission_status_of(r->err) == r->status;
}

TEST_ROWS_CASE(case_status_of, status_rows, check_status)

static void
case_now_adds_the_offset(void)
{
	const int64_t offsets[] = {0, 86400, -3155760000LL};
	for (size_t i = 0; i < TEST_COUNT(offsets); i++) {
		const int64_t before = (int64_t)time(NULL);
		const int64_t now = admission_now(offsets[i]);
		const int64_t after = (int64_t)time(NULL);
		CHECK(before + offsets[i] <= now && now <= after + offsets[i]);
	}
}

/* ------------------------------------------------------------------ */
/* Enrolment and the quota */

static void
case_charge_without_a_store(void)
{
	reply_under_test *t = reply_new();
	uint8_t id[PROTO_REQUEST_ID_SIZE] = {1}, key[CLIENTS_KEY_SIZE];
	key_of(key, 9);
	CHECK(admission_charge(&t->r, NULL, id, key, 1000, NOW) == 0);
	CHECK(t->r.status == PROTO_STATUS_OK && buf_len(&t->inner) == 0 && counted(t) == 0);
}

static void
case_charge_refusals(void)
{
	reply_under_test *t = reply_new();
	clients *c = store_new(1);
	REQUIRE(c != NULL);
	REQUIRE(enrol(c, 1));
	uint8_t id[PROTO_REQUEST_ID_SIZE] = {7}, member[CLIENTS_KEY_SIZE],
	        stranger[CLIENTS_KEY_SIZE];
	key_of(member, 1);
	key_of(stranger, 2);

	/* Enrolment required: a stranger is UNAUTHORIZED, even for nothing. */
	CHECK(admission_charge(&t->r, c, id, stranger, 0, NOW) == -1);
	CHECK(holds_error(t, id, PROTO_STATUS_UNAUTHORIZED, 0));
	CHECK(t->errors[PROTO_STATUS_UNAUTHORIZED] == 1);
	CHECK(admission_charge(&t->r, c, id, stranger, 1, NOW) == -1);
	CHECK(t->errors[PROTO_STATUS_UNAUTHORIZED] == 2 && counted(t) == 2);

	/* The member: 0 items checks enrolment only, then the bucket. */
	buf_reset(&t->inner);
	t->r.status = PROTO_STATUS_OK;
	CHECK(admission_charge(&t->r, c, id, member, 0, NOW) == 0);
	CHECK(admission_charge(&t->r, c, id, member, 4, NOW) == 0);
	CHECK(t->r.status == PROTO_STATUS_OK && buf_len(&t->inner) == 0);
	/* 7 of the 6 left: RATE_LIMITED until the midnight that refills it,
	 * and nothing taken. */
	CHECK(admission_charge(&t->r, c, id, member, 7, NOW) == -1);
	CHECK(holds_error(t, id, PROTO_STATUS_RATE_LIMITED, 12 * 3600));
	CHECK(t->errors[PROTO_STATUS_RATE_LIMITED] == 1 && counted(t) == 3);
	CHECK(admission_charge(&t->r, c, id, member, 6, NOW) == 0);
	CHECK(admission_charge(&t->r, c, id, member, 1, NOW) == -1);
	CHECK(t->errors[PROTO_STATUS_RATE_LIMITED] == 2);
}

static void
case_charge_open_enrolment(void)
{
	reply_under_test *t = reply_new();
	clients *c = store_new(0);
	REQUIRE(c != NULL);
	uint8_t id[PROTO_REQUEST_ID_SIZE] = {3}, stranger[CLIENTS_KEY_SIZE];
	key_of(stranger, 2);
	CHECK(admission_charge(&t->r, c, id, stranger, CAPACITY, NOW) == 0);
	CHECK(admission_charge(&t->r, c, id, stranger, 1, NOW) == -1);
	CHECK(holds_error(t, id, PROTO_STATUS_RATE_LIMITED, 12 * 3600));
}

/* ------------------------------------------------------------------ */
/* The replay guard */

static void
case_replay_verdicts(void)
{
	reply_under_test *t = reply_new();
	uint8_t id[PROTO_REQUEST_ID_SIZE] = {5}, a[CLIENTS_KEY_SIZE], b[CLIENTS_KEY_SIZE],
	        nonce[REPLAY_NONCE_SIZE];
	key_of(a, 1);
	key_of(b, 2);
	const uint64_t sent_at = (uint64_t)time(NULL);

	/* No guard: anything goes on. */
	nonce_of(nonce, 1);
	CHECK(admission_check_replay(&t->r, NULL, id, a, nonce, sent_at) == 0);
	CHECK(admission_check_replay(&t->r, NULL, id, a, nonce, sent_at) == 0);
	CHECK(counted(t) == 0);

	/* A generation of 3 requests, 2 of one client's. */
	replay_guard *g = guard_new(3, 2);
	REQUIRE(g != NULL);
	CHECK(admission_check_replay(&t->r, g, id, a, nonce, sent_at) == 0);
	CHECK(t->r.status == PROTO_STATUS_OK && buf_len(&t->inner) == 0);
	CHECK(admission_check_replay(&t->r, g, id, a, nonce, sent_at) == -1);
	CHECK(holds_error(t, id, PROTO_STATUS_REPLAYED, 0));
	CHECK(t->errors[PROTO_STATUS_REPLAYED] == 1);
	/* Sent at the epoch: STALE, and not remembered. */
	nonce_of(nonce, 2);
	CHECK(admission_check_replay(&t->r, g, id, a, nonce, 0) == -1);
	CHECK(holds_error(t, id, PROTO_STATUS_STALE, 0));
	CHECK(admission_check_replay(&t->r, g, id, a, nonce, sent_at) == 0);
	/* The client's budget spent: BUSY, with the wait until the
	 * generation turns (at least 1 s, at most a generation). */
	const uint32_t generation = REPLAY_DEFAULT_WINDOW + REPLAY_DEFAULT_SKEW + 1;
	proto_msg msg;
	nonce_of(nonce, 3);
	CHECK(admission_check_replay(&t->r, g, id, a, nonce, sent_at) == -1);
	CHECK(t->r.status == PROTO_STATUS_BUSY && t->errors[PROTO_STATUS_BUSY] == 1);
	REQUIRE(proto_msg_decode((const uint8_t *)buf_data(&t->inner), buf_len(&t->inner), &msg) ==
	        VEIL_OK);
	CHECK(msg.type == PROTO_MSG_ERROR && msg.u.error.code == PROTO_STATUS_BUSY);
	CHECK(msg.u.error.retry_after >= 1 && msg.u.error.retry_after <= generation);
	/* The table full (another client's third request): BUSY too. */
	nonce_of(nonce, 4);
	CHECK(admission_check_replay(&t->r, g, id, b, nonce, sent_at) == 0);
	nonce_of(nonce, 5);
	CHECK(admission_check_replay(&t->r, g, id, b, nonce, sent_at) == -1);
	CHECK(t->r.status == PROTO_STATUS_BUSY && t->errors[PROTO_STATUS_BUSY] == 2);
	CHECK(counted(t) == 4);
}

/* ------------------------------------------------------------------ */
/* Admission: enrolment, then the guard */

static void
case_stranger_never_enters_the_guard(void)
{
	reply_under_test *t = reply_new();
	clients *c = store_new(1);
	/* Room for one request in the whole generation. */
	replay_guard *g = guard_new(1, 1);
	REQUIRE(c != NULL && g != NULL);
	REQUIRE(enrol(c, 1));
	uint8_t id[PROTO_REQUEST_ID_SIZE] = {9}, member[CLIENTS_KEY_SIZE],
	        stranger[CLIENTS_KEY_SIZE], nonce[REPLAY_NONCE_SIZE];
	key_of(member, 1);
	key_of(stranger, 2);
	nonce_of(nonce, 1);
	const uint64_t sent_at = (uint64_t)time(NULL);

	for (int i = 0; i < 3; i++) {
		CHECK(admission_admit(&t->r, c, g, NOW, id, stranger, nonce, sent_at) == -1);
		CHECK(holds_error(t, id, PROTO_STATUS_UNAUTHORIZED, 0));
	}
	CHECK(t->errors[PROTO_STATUS_UNAUTHORIZED] == 3 && counted(t) == 3);
	/* The guard's one place is still free: the stranger, once enrolled,
	 * sends that very request and it is new to the guard. */
	REQUIRE(enrol(c, 2));
	CHECK(admission_admit(&t->r, c, g, NOW, id, stranger, nonce, sent_at) == 0);
	/* And now the place is taken. */
	nonce_of(nonce, 2);
	CHECK(admission_admit(&t->r, c, g, NOW, id, member, nonce, sent_at) == -1);
	CHECK(t->r.status == PROTO_STATUS_BUSY);
}

static void
case_replay_refused_after_enrolment(void)
{
	reply_under_test *t = reply_new();
	clients *c = store_new(1);
	replay_guard *g = guard_new(16, 8);
	REQUIRE(c != NULL && g != NULL);
	REQUIRE(enrol(c, 1));
	uint8_t id[PROTO_REQUEST_ID_SIZE] = {4}, member[CLIENTS_KEY_SIZE], nonce[REPLAY_NONCE_SIZE];
	key_of(member, 1);
	nonce_of(nonce, 1);
	const uint64_t sent_at = (uint64_t)time(NULL);
	CHECK(admission_admit(&t->r, c, g, NOW, id, member, nonce, sent_at) == 0);
	CHECK(t->r.status == PROTO_STATUS_OK && counted(t) == 0);
	CHECK(admission_admit(&t->r, c, g, NOW, id, member, nonce, sent_at) == -1);
	CHECK(holds_error(t, id, PROTO_STATUS_REPLAYED, 0));
	CHECK(admission_admit(&t->r, c, g, NOW, id, member, nonce, 0) == -1);
	CHECK(holds_error(t, id, PROTO_STATUS_STALE, 0));
	/* No guard (tokens mode's path): enrolment alone. */
	CHECK(admission_admit(&t->r, c, NULL, NOW, id, member, nonce, sent_at) == 0);
	CHECK(counted(t) == 2);
}

/* ------------------------------------------------------------------ */
/* Sealing the reply */

static void
case_seal_reply(void)
{
	uint8_t server_pk[ENVELOPE_PUBLIC_KEY_SIZE], server_sk[ENVELOPE_SECRET_KEY_SIZE];
	crypto_box_keypair(server_pk, server_sk);
	sodium_memzero(server_sk, sizeof(server_sk));
	envelope_exchange client, server;
	REQUIRE(envelope_exchange_begin(&client, server_pk) == VEIL_OK);
	server = client; /* what envelope_open_request() gives the server */

	buf inner, reply, opened;
	buf_init(&inner);
	buf_init(&reply);
	buf_init(&opened);
	uint8_t id[PROTO_REQUEST_ID_SIZE] = {6};
	proto_encode_error(&inner, id, PROTO_STATUS_REPLAYED, 0);
	admission_seal(&server, &inner, &reply);
	CHECK(sodium_is_zero((const unsigned char *)&server, sizeof(server)));
	uint16_t code = 99;
	CHECK(envelope_open_reply((const uint8_t *)buf_data(&reply), buf_len(&reply), &client,
	                          &opened, &code) == VEIL_OK);
	CHECK(code == 0 && buf_len(&opened) == buf_len(&inner) &&
	      memcmp(buf_data(&opened), buf_data(&inner), buf_len(&inner)) == 0);

	/* A reply that cannot be sealed (here: too large) becomes an
	 * ERROR frame BAD_ENVELOPE in place of what reply held. */
	server = client;
	buf_reset(&inner);
	uint8_t *large = test_keep(calloc(1, PROTO_MAX_REPLY_SIZE + 1));
	REQUIRE(large != NULL);
	REQUIRE(buf_append(&inner, large, PROTO_MAX_REPLY_SIZE + 1) == VEIL_OK);
	REQUIRE(buf_append_str(&reply, "an earlier frame") == VEIL_OK);
	admission_seal(&server, &inner, &reply);
	CHECK(sodium_is_zero((const unsigned char *)&server, sizeof(server)));
	proto_frame frame;
	CHECK(proto_frame_decode((const uint8_t *)buf_data(&reply), buf_len(&reply), &frame) ==
	      VEIL_OK);
	CHECK(frame.type == PROTO_FRAME_ERROR && frame.error_code == PROTO_STATUS_BAD_ENVELOPE);

	envelope_exchange_wipe(&client);
	buf_free(&inner);
	buf_free(&reply);
	buf_free(&opened);
}

/* ------------------------------------------------------------------ */
/* veil-issuer's handler */

static const uint8_t challenge[] = {0x00, 0x01, 0x00, 0x04, 'v', 'e', 'i', 'l', 0x00, 0x00, 0x00};

static void
issuer_close_deferred(void *is)
{
	issuer_close(is);
}

/* A new issuer state in a case directory, opened with enrolment
 * required and a ration of CAPACITY a day. */
static issuer *
issuer_fresh(void)
{
	const char *dir = test_case_path("issuer");
	issuer_config config;
	issuer *is = NULL;
	issuer_config_defaults(&config);
	config.clients = (clients_config){1, CAPACITY, CAPACITY};
	if (issuer_create(dir, NAME) != VEIL_OK || issuer_open(dir, &config, &is) != VEIL_OK)
		return NULL;
	test_defer(issuer_close_deferred, is);
	return is;
}

typedef struct service_row {
	const char *name;
	int no_issuer, no_config, no_out, keys_only, no_guard;
	uint32_t batch_cap;
	veil_err want;
} service_row;

static const service_row service_rows[] = {
        {"a guard and a batch cap", 0, 0, 0, 0, 0, 8, VEIL_OK},
        {"no replay guard", 0, 0, 0, 0, 1, 8, VEIL_ERR_ARGUMENT},
        {"no issuer", 1, 0, 0, 0, 0, 8, VEIL_ERR_ARGUMENT},
        {"no config", 0, 1, 0, 0, 0, 8, VEIL_ERR_ARGUMENT},
        {"no out", 0, 0, 1, 0, 0, 8, VEIL_ERR_ARGUMENT},
        {"a handle without a transport key", 0, 0, 0, 1, 0, 8, VEIL_ERR_ARGUMENT},
        {"a batch cap of 0", 0, 0, 0, 0, 0, 0, VEIL_ERR_ARGUMENT},
        {"the largest batch cap", 0, 0, 0, 0, 0, PROTO_MAX_TOKEN_BATCH, VEIL_OK},
        {"a batch cap past the codec's", 0, 0, 0, 0, 0, PROTO_MAX_TOKEN_BATCH + 1,
         VEIL_ERR_ARGUMENT},
};

static void
case_service_new(void)
{
	issuer *is = issuer_fresh();
	issuer *keys_only = NULL;
	replay_guard *g = guard_new(16, 8);
	REQUIRE(is != NULL && g != NULL);
	REQUIRE(issuer_open_keys(test_case_path("issuer"), &keys_only) == VEIL_OK);
	test_defer(issuer_close_deferred, keys_only);
	for (size_t i = 0; i < TEST_COUNT(service_rows); i++) {
		const service_row *r = &service_rows[i];
		const issue_service_config config = {r->batch_cap, 0, r->no_guard ? NULL : g};
		static int anything;
		issue_service *svc = (issue_service *)&anything; /* not NULL */
		const veil_err err =
		        issue_service_new(r->no_issuer   ? NULL
		                          : r->keys_only ? keys_only
		                                         : is,
		                          r->no_config ? NULL : &config, r->no_out ? NULL : &svc);
		CHECK_ROW(err == r->want, r->name);
		if (!r->no_out)
			CHECK_ROW((svc != NULL) == (err == VEIL_OK), r->name);
		if (!r->no_out && err == VEIL_OK)
			issue_service_free(svc);
	}
}

/* A client of the issuer: its key pair. */
typedef struct account {
	uint8_t pk[ENVELOPE_PUBLIC_KEY_SIZE], sk[ENVELOPE_SECRET_KEY_SIZE];
} account;

/* A fresh key pair, enrolled (on the clients store of is) when enrolled. */
static void
account_new(issuer *is, account *a, int enrolled)
{
	crypto_box_keypair(a->pk, a->sk);
	if (enrolled &&
	    clients_enrol(issuer_clients(is), a->pk, 0, (int64_t)time(NULL), NULL) != VEIL_OK)
		abort();
}

/*
 * Sends one sealed TOKEN_ISSUE of count from a through w (twice when
 * twice, the same frame) and gives the status of the last reply:
 * PROTO_STATUS_OK for a TOKEN_ISSUE_REPLY of count, the ERROR's code,
 * or UINT16_MAX when the reply does not open or decode.
 */
static uint16_t
ask(issuer *is, issue_worker *w, const account *a, size_t count, int twice)
{
	issuer_key_info keys[ISSUER_MAX_KEYS];
	size_t n = 0;
	token_request requests[8];
	uint8_t nonce[TOKEN_NONCE_SIZE], blind[TOKEN_SCALAR_SIZE], id[PROTO_REQUEST_ID_SIZE];
	envelope_exchange ex;
	uint16_t status = UINT16_MAX, code = 0;
	proto_msg msg;
	buf inner, frame, reply, opened;
	buf_init(&inner);
	buf_init(&frame);
	buf_init(&reply);
	buf_init(&opened);
	if (count > 8 || issuer_keys(is, keys, &n) != VEIL_OK || n == 0)
		abort();
	for (size_t i = 0; i < count; i++)
		if (token_client_request(keys[0].public_key, challenge, sizeof(challenge), NULL,
		                         NULL, nonce, blind, &requests[i]) != VEIL_OK)
			abort();
	randombytes_buf(id, sizeof(id));
	proto_encode_token_issue(&inner, id, (uint16_t)count, requests);
	if (envelope_seal_request(a->pk, a->sk, issuer_transport_public(is),
	                          (const uint8_t *)buf_data(&inner), buf_len(&inner), &frame,
	                          &ex) != VEIL_OK)
		abort();
	for (int i = 0; i <= twice; i++) {
		buf_reset(&reply);
		issue_handle(w, (const uint8_t *)buf_data(&frame), buf_len(&frame), &reply);
	}
	if (envelope_open_reply((const uint8_t *)buf_data(&reply), buf_len(&reply), &ex, &opened,
	                        &code) == VEIL_OK &&
	    code == 0 &&
	    proto_msg_decode((const uint8_t *)buf_data(&opened), buf_len(&opened), &msg) ==
	            VEIL_OK) {
		if (msg.type == PROTO_MSG_ERROR)
			status = msg.u.error.code;
		else if (msg.type == PROTO_MSG_TOKEN_ISSUE_REPLY &&
		         msg.u.token_issue_reply.count == count)
			status = PROTO_STATUS_OK;
	}
	envelope_exchange_wipe(&ex);
	sodium_memzero(blind, sizeof(blind));
	buf_free(&inner);
	buf_free(&frame);
	buf_free(&reply);
	buf_free(&opened);
	return status;
}

typedef struct find {
	uint8_t digest[CLIENTS_DIGEST_SIZE];
	uint32_t tokens;
	int found;
} find;

static int
find_record(void *arg, const clients_record *r)
{
	find *f = arg;
	if (memcmp(r->digest, f->digest, CLIENTS_DIGEST_SIZE) != 0)
		return 0;
	f->tokens = r->tokens;
	f->found = 1;
	return 1;
}

/* The tokens a has left, as of the day of at (no later than its last
 * charge: nothing refilled since); UINT32_MAX without a record. */
static uint32_t
tokens_left(issuer *is, const account *a, int64_t at)
{
	find f = {{0}, 0, 0};
	clients_digest(issuer_clients(is), a->pk, f.digest);
	if (clients_list(issuer_clients(is), at, find_record, &f) != VEIL_OK || !f.found)
		return UINT32_MAX;
	return f.tokens;
}

static void
worker_free_deferred(void *w)
{
	issue_worker_free(w);
}

static void
service_free_deferred(void *svc)
{
	issue_service_free(svc);
}

/* A service over is with guard g, and one worker of it. */
static issue_worker *
worker_new(issuer *is, replay_guard *g)
{
	const issue_service_config config = {8, 0, g};
	issue_service *svc = NULL;
	issue_worker *w = NULL;
	if (issue_service_new(is, &config, &svc) != VEIL_OK)
		return NULL;
	test_defer(service_free_deferred, svc);
	if (issue_worker_new(svc, &w) != VEIL_OK)
		return NULL;
	test_defer(worker_free_deferred, w);
	return w;
}

static void
case_issuer_replay_charged_once(void)
{
	issuer *is = issuer_fresh();
	replay_guard *g = guard_new(16, 8);
	REQUIRE(is != NULL && g != NULL);
	issue_worker *w = worker_new(is, g);
	REQUIRE(w != NULL);
	account a;
	account_new(is, &a, 1);
	const int64_t before = (int64_t)time(NULL);
	CHECK(ask(is, w, &a, 3, 1) == PROTO_STATUS_REPLAYED);
	/* The first was served and charged; the replay neither. */
	CHECK(tokens_left(is, &a, before) == CAPACITY - 3);
	issue_stats stats;
	memset(&stats, 0, sizeof(stats));
	issue_worker_stats(w, &stats);
	CHECK(stats.requests == 2 && stats.tokens == 3);
	CHECK(stats.errors[PROTO_STATUS_REPLAYED] == 1);
	/* A new request of the account is served and charged as usual. */
	CHECK(ask(is, w, &a, 3, 0) == PROTO_STATUS_OK);
	CHECK(tokens_left(is, &a, before) == CAPACITY - 6);
	sodium_memzero(a.sk, sizeof(a.sk));
}

static void
case_issuer_stranger_fills_nothing(void)
{
	issuer *is = issuer_fresh();
	replay_guard *g = guard_new(1, 1); /* one request a generation */
	REQUIRE(is != NULL && g != NULL);
	issue_worker *w = worker_new(is, g);
	REQUIRE(w != NULL);
	account stranger, member;
	account_new(is, &stranger, 0);
	account_new(is, &member, 1);
	for (int i = 0; i < 3; i++)
		CHECK(ask(is, w, &stranger, 1, 0) == PROTO_STATUS_UNAUTHORIZED);
	CHECK(ask(is, w, &member, 1, 0) == PROTO_STATUS_OK);
	/* The one place is the member's now. */
	CHECK(ask(is, w, &member, 1, 0) == PROTO_STATUS_BUSY);
	issue_stats stats;
	memset(&stats, 0, sizeof(stats));
	issue_worker_stats(w, &stats);
	CHECK(stats.errors[PROTO_STATUS_UNAUTHORIZED] == 3 && stats.errors[PROTO_STATUS_BUSY] == 1);
	CHECK(stats.tokens == 1);
	sodium_memzero(stranger.sk, sizeof(stranger.sk));
	sodium_memzero(member.sk, sizeof(member.sk));
}

static const test_case cases[] = {
        {"an error reply: its status, counted", case_error_reply},
        {"the request id of an inner message", case_request_id},
        {"the wire status of an error", case_status_of},
        {"the clock with its offset", case_now_adds_the_offset},
        {"no store charges anyone", case_charge_without_a_store},
        {"charge refusals: UNAUTHORIZED, RATE_LIMITED", case_charge_refusals},
        {"open enrolment charges a stranger", case_charge_open_enrolment},
        {"the guard's verdicts: REPLAYED, STALE, BUSY", case_replay_verdicts},
        {"a stranger's request never enters the guard", case_stranger_never_enters_the_guard},
        {"an enrolled client's replay is refused", case_replay_refused_after_enrolment},
        {"the reply sealed, or BAD_ENVELOPE", case_seal_reply},
        {"issue_service_new refuses no replay guard", case_service_new},
        {"veil-issuer: a replayed TOKEN_ISSUE is charged once", case_issuer_replay_charged_once},
        {"veil-issuer: a stranger fills nothing of the guard", case_issuer_stranger_fills_nothing},
};

TEST_MAIN(cases)

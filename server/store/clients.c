#include "clients.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lmdb.h>
#include <sodium.h>

#include "keyfile.h"
#include "lmdb_util.h"
#include "store_file.h"
#include "store_thread.h"

#define KEY_KIND            "veil-clients-key-v1"
#define SECRET_SIZE         32
/* Sparse: only pages in use take disk space. About 10^7 clients. */
#define MAP_SIZE            ((size_t)4 << 30)
#define MAX_DBS             3
#define DB_CLIENTS          "clients"
#define DB_REQUESTS         "requests"
#define DB_META             "meta"
#define META_CONFIG         "config"
#define CONFIG_VERSION      1
#define CONFIG_SIZE         10
#define VALUE_VERSION       2
#define VALUE_SIZE          18
#define FLAG_ENROLLED       0x01
/* Version 1 (older veild): tokens in 1/86400 units and the exact second they were as of. */
#define V1_VERSION          1
#define V1_SIZE             26
#define V1_UNITS            86400u
#define SECONDS_PER_DAY     86400
/* A request's key in requests: its generation u32 BE, then its digest. */
#define REQUEST_DIGEST_SIZE 16
#define REQUEST_KEY_SIZE    (4 + REQUEST_DIGEST_SIZE)
#define REQUEST_LABEL       "veil-clients-request-v1"

struct clients {
	MDB_env *env;
	MDB_dbi records;
	MDB_dbi requests;
	MDB_dbi meta;
	clients_config config;
	uint8_t *secret; /* sodium_malloc'd digest key */

	int background_sync; /* veild's handle: written without fsync, synced by a thread */
	store_thread syncer;
	atomic_int dirty;
	uint32_t swept_day; /* the syncer's: the day of the last sweep */
};

/* A client's record, decoded. */
typedef struct record {
	int enrolled;
	uint32_t quota;
	uint32_t day;    /* the UTC day the tokens are as of */
	uint32_t tokens; /* whole tokens */
	uint32_t last_use_day;
	int old; /* decoded from version 1: to be written as version 2 */
} record;

void
clients_config_defaults(clients_config *c)
{
	c->enrolment_required = 1;
	c->capacity = CLIENTS_DEFAULT_CAPACITY;
	c->refill_per_day = CLIENTS_DEFAULT_REFILL_PER_DAY;
}

void
clients_config_get(const clients *c, clients_config *out)
{
	*out = c->config;
}

/* ------------------------------------------------------------------ */
/* Records and the bucket arithmetic */

static void
record_encode(uint8_t out[VALUE_SIZE], const record *r)
{
	out[0] = VALUE_VERSION;
	out[1] = r->enrolled ? FLAG_ENROLLED : 0;
	put_be32(out + 2, r->quota);
	put_be32(out + 6, r->day);
	put_be32(out + 10, r->tokens);
	put_be32(out + 14, r->last_use_day);
}

/* The UTC day of now (unix seconds): 0 before 1970. */
static uint32_t
day_of(int64_t now)
{
	if (now <= 0)
		return 0;
	const int64_t day = now / SECONDS_PER_DAY;
	return day > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)day;
}

/* A version-1 record (older veild) as version 2: its day and whole tokens. */
static veil_err
record_decode_v1(const uint8_t *p, record *r)
{
	const uint64_t tokens = get_be64(p + 6) / V1_UNITS;
	r->enrolled = (p[1] & FLAG_ENROLLED) != 0;
	r->quota = get_be32(p + 2);
	r->tokens = tokens > UINT32_MAX ? UINT32_MAX : (uint32_t)tokens;
	r->day = day_of((int64_t)get_be64(p + 14));
	r->last_use_day = get_be32(p + 22);
	r->old = 1;
	return VEIL_OK;
}

static veil_err
record_decode(const MDB_val *v, record *r)
{
	const uint8_t *p = v->mv_data;
	if (v->mv_size < 2 || (p[1] & ~FLAG_ENROLLED) != 0)
		return VEIL_ERR_CORRUPT;
	if (v->mv_size == V1_SIZE && p[0] == V1_VERSION)
		return record_decode_v1(p, r);
	if (v->mv_size != VALUE_SIZE || p[0] != VALUE_VERSION)
		return VEIL_ERR_CORRUPT;
	r->enrolled = (p[1] & FLAG_ENROLLED) != 0;
	r->quota = get_be32(p + 2);
	r->day = get_be32(p + 6);
	r->tokens = get_be32(p + 10);
	r->last_use_day = get_be32(p + 14);
	r->old = 0;
	return VEIL_OK;
}

/* The capacity and refill in force for a client with quota override quota. */
static void
bucket_of(const clients_config *config, uint32_t quota, uint32_t *capacity, uint32_t *refill)
{
	*capacity = config->capacity;
	*refill = config->refill_per_day;
	if (quota == 0)
		return;
	*refill = quota;
	if (config->refill_per_day > 0) {
		const uint64_t scaled = (uint64_t)config->capacity * quota / config->refill_per_day;
		*capacity = scaled < 1 ? 1 : scaled > UINT32_MAX ? UINT32_MAX : (uint32_t)scaled;
	}
}

/*
 * Brings r's tokens to the day today: (today - day) refills, never past
 * capacity. Within a day, and on a clock that steps back, nothing.
 */
static void
refill(record *r, uint32_t capacity, uint32_t rate, uint32_t today)
{
	if (r->tokens > capacity)
		r->tokens = capacity; /* the capacity was lowered */
	if (today <= r->day)
		return;
	const uint64_t tokens = r->tokens + (uint64_t)(today - r->day) * rate;
	r->tokens = tokens > capacity ? capacity : (uint32_t)tokens;
	r->day = today;
}

/*
 * Decides a charge of items on r at now, updating r when it is taken.
 * Returns CLIENTS_OK or CLIENTS_RATE_LIMITED (with *retry_after: the
 * seconds until the first midnight by which the bucket holds items).
 */
static clients_verdict
decide(const clients_config *config, record *r, uint32_t items, int64_t now, uint32_t *retry_after)
{
	uint32_t capacity, rate;
	if (r->quota == CLIENTS_QUOTA_UNLIMITED) {
		if (items > 0 && now >= 0)
			r->last_use_day = day_of(now);
		return CLIENTS_OK;
	}
	bucket_of(config, r->quota, &capacity, &rate);
	refill(r, capacity, rate, day_of(now));
	if (items <= r->tokens) {
		r->tokens -= items;
		if (items > 0 && now >= 0)
			r->last_use_day = day_of(now);
		return CLIENTS_OK;
	}
	if (items > capacity || rate == 0) {
		*retry_after = CLIENTS_RETRY_NEVER;
	} else {
		const uint64_t days = ((uint64_t)items - r->tokens + rate - 1) / rate;
		const int64_t midnight = ((int64_t)r->day + (int64_t)days) * SECONDS_PER_DAY;
		const int64_t seconds = midnight - now; /* 1 or more: r->day is today or later */
		*retry_after = seconds >= (int64_t)CLIENTS_RETRY_NEVER ? CLIENTS_RETRY_NEVER - 1
		               : seconds < 1                           ? 1
		                                                       : (uint32_t)seconds;
	}
	return CLIENTS_RATE_LIMITED;
}

void
clients_digest(const clients *c, const uint8_t client_key[CLIENTS_KEY_SIZE],
               uint8_t out[CLIENTS_DIGEST_SIZE])
{
	crypto_generichash(out, CLIENTS_DIGEST_SIZE, client_key, CLIENTS_KEY_SIZE, c->secret,
	                   SECRET_SIZE);
}

/* ------------------------------------------------------------------ */
/* Charging */

/*
 * The record of digest in txn into *r: VEIL_OK, or VEIL_ERR_NOT_FOUND
 * with *r a fresh bucket (full at now) for an unknown client.
 */
static veil_err
load(const clients *c, MDB_txn *txn, const uint8_t digest[CLIENTS_DIGEST_SIZE], int64_t now,
     record *r)
{
	MDB_val k = val_of(digest, CLIENTS_DIGEST_SIZE), v;
	const int rc = mdb_get(txn, c->records, &k, &v);
	if (rc == MDB_NOTFOUND) {
		memset(r, 0, sizeof(*r));
		r->tokens = c->config.capacity;
		r->day = day_of(now);
		return VEIL_ERR_NOT_FOUND;
	}
	if (rc != 0)
		return lmdb_err(rc);
	return record_decode(&v, r);
}

static veil_err
store(clients *c, MDB_txn *txn, const uint8_t digest[CLIENTS_DIGEST_SIZE], const record *r)
{
	uint8_t value[VALUE_SIZE];
	record_encode(value, r);
	MDB_val k = val_of(digest, CLIENTS_DIGEST_SIZE), v = val_of(value, sizeof(value));
	return lmdb_err(mdb_put(txn, c->records, &k, &v, 0));
}

static void
note_write(clients *c)
{
	if (c->background_sync)
		atomic_store(&c->dirty, 1);
}

/* One pass of the charge in txn; on CLIENTS_OK, *r is the record to store. */
static clients_verdict
charge_in(clients *c, MDB_txn *txn, const uint8_t digest[CLIENTS_DIGEST_SIZE], uint32_t items,
          int64_t now, uint32_t *retry_after, record *r)
{
	veil_err err = load(c, txn, digest, now, r);
	if (err == VEIL_ERR_NOT_FOUND && !c->config.enrolment_required)
		err = VEIL_OK; /* open enrolment: a fresh bucket */
	else if (err == VEIL_ERR_NOT_FOUND ||
	         (err == VEIL_OK && !r->enrolled && c->config.enrolment_required))
		return CLIENTS_UNAUTHORIZED;
	if (err != VEIL_OK)
		return CLIENTS_ERROR;
	return decide(&c->config, r, items, now, retry_after);
}

/* A charge, decided in a transaction by charge_txn(). */
typedef struct charge {
	clients *c;
	uint8_t digest[CLIENTS_DIGEST_SIZE];
	uint32_t items;
	int64_t now;
	uint32_t *retry_after;
	int take; /* in a write transaction: store the tokens taken */
	/* clients_charge_request(): the request's key in requests, and
	 * whether its sent_at is stale; request NULL for clients_charge(). */
	const uint8_t *request;
	int stale;
	clients_request_verdict verdict;
} charge;

static clients_request_verdict
request_verdict_of(clients_verdict v)
{
	switch (v) {
	case CLIENTS_OK:
		return CLIENTS_REQUEST_OK;
	case CLIENTS_UNAUTHORIZED:
		return CLIENTS_REQUEST_UNAUTHORIZED;
	case CLIENTS_RATE_LIMITED:
		return CLIENTS_REQUEST_RATE_LIMITED;
	case CLIENTS_ERROR:
	default:
		return CLIENTS_REQUEST_ERROR;
	}
}

/* Refuses ch with verdict (nothing to write): the error that aborts the transaction. */
static veil_err
refuse(charge *ch, clients_request_verdict verdict)
{
	ch->verdict = verdict;
	if (verdict != CLIENTS_REQUEST_RATE_LIMITED)
		*ch->retry_after = 0;
	return VEIL_ERR_LIMIT;
}

static veil_err
charge_txn(void *arg, MDB_txn *txn)
{
	charge *ch = arg;
	record r;
	memset(&r, 0, sizeof(r)); /* load() fills it; -O3 cannot see that it always does */
	const clients_verdict quota =
	        charge_in(ch->c, txn, ch->digest, ch->items, ch->now, ch->retry_after, &r);
	if (quota == CLIENTS_UNAUTHORIZED || quota == CLIENTS_ERROR)
		return refuse(ch, request_verdict_of(quota));
	MDB_val key = val_of(ch->request, REQUEST_KEY_SIZE), value = val_of(NULL, 0);
	if (ch->request != NULL) {
		if (ch->stale)
			return refuse(ch, CLIENTS_REQUEST_STALE);
		const int rc = mdb_get(txn, ch->c->requests, &key, &value);
		if (rc == 0)
			return refuse(ch, CLIENTS_REQUEST_REPLAYED);
		if (rc != MDB_NOTFOUND) {
			refuse(ch, CLIENTS_REQUEST_ERROR);
			return lmdb_err(rc);
		}
	}
	/* Refused or failed (the verdict says which): nothing to write. */
	if (quota != CLIENTS_OK)
		return refuse(ch, request_verdict_of(quota));
	ch->verdict = CLIENTS_REQUEST_OK;
	if (!ch->take)
		return VEIL_OK;
	veil_err err = store(ch->c, txn, ch->digest, &r);
	if (err == VEIL_OK && ch->request != NULL) {
		value = val_of(NULL, 0);
		err = lmdb_err(mdb_put(txn, ch->c->requests, &key, &value, MDB_NOOVERWRITE));
	}
	return err;
}

/* Decides ch (its digest, items and request set): a read, then a write for a charge. */
static clients_request_verdict
charge_run(charge *ch)
{
	ch->verdict = CLIENTS_REQUEST_ERROR;
	/* Refusals and free requests are decided in a read transaction. */
	if (lmdb_read(ch->c->env, charge_txn, ch) != VEIL_OK || ch->items == 0)
		return ch->verdict;

	/* Taking tokens: again, in the write transaction, as other charges may have come first. */
	ch->take = 1;
	ch->verdict = CLIENTS_REQUEST_ERROR;
	if (lmdb_run(ch->c->env, 0, charge_txn, ch) != VEIL_OK)
		return ch->verdict == CLIENTS_REQUEST_OK ? CLIENTS_REQUEST_ERROR : ch->verdict;
	note_write(ch->c);
	return CLIENTS_REQUEST_OK;
}

clients_verdict
clients_charge(clients *c, const uint8_t client_key[CLIENTS_KEY_SIZE], uint32_t items, int64_t now,
               uint32_t *retry_after)
{
	uint32_t ignored = 0;

	if (retry_after == NULL)
		retry_after = &ignored;
	*retry_after = 0;
	if (c == NULL || client_key == NULL)
		return CLIENTS_ERROR;
	charge ch = {.c = c, .items = items, .now = now, .retry_after = retry_after};
	clients_digest(c, client_key, ch.digest);
	switch (charge_run(&ch)) {
	case CLIENTS_REQUEST_OK:
		return CLIENTS_OK;
	case CLIENTS_REQUEST_UNAUTHORIZED:
		return CLIENTS_UNAUTHORIZED;
	case CLIENTS_REQUEST_RATE_LIMITED:
		return CLIENTS_RATE_LIMITED;
	case CLIENTS_REQUEST_ERROR:
	case CLIENTS_REQUEST_REPLAYED: /* no request: never */
	case CLIENTS_REQUEST_STALE:
	default:
		return CLIENTS_ERROR;
	}
}

/* The generation of sent_at (unix seconds). */
static uint32_t
generation_of(uint64_t sent_at)
{
	const uint64_t g = sent_at / CLIENTS_REPLAY_GENERATION;
	return g > UINT32_MAX ? UINT32_MAX : (uint32_t)g;
}

/* The key of request in requests (Storage). */
static void
request_key(const clients *c, const clients_request *request, uint8_t out[REQUEST_KEY_SIZE])
{
	crypto_generichash_state st;
	put_be32(out, generation_of(request->sent_at));
	crypto_generichash_init(&st, c->secret, SECRET_SIZE, REQUEST_DIGEST_SIZE);
	crypto_generichash_update(&st, (const uint8_t *)REQUEST_LABEL, sizeof(REQUEST_LABEL));
	crypto_generichash_update(&st, request->ephemeral_key, CLIENTS_EPHEMERAL_KEY_SIZE);
	crypto_generichash_update(&st, request->nonce, CLIENTS_NONCE_SIZE);
	crypto_generichash_final(&st, out + 4, REQUEST_DIGEST_SIZE);
	sodium_memzero(&st, sizeof(st));
}

/* Whether sent_at is outside [clock - window, clock + skew]. */
static int
stale(uint64_t sent_at, int64_t clock)
{
	return sent_at > (uint64_t)INT64_MAX / 2 ||
	       (int64_t)sent_at < clock - (int64_t)CLIENTS_REPLAY_WINDOW ||
	       (int64_t)sent_at > clock + (int64_t)CLIENTS_REPLAY_SKEW;
}

clients_request_verdict
clients_charge_request(clients *c, const uint8_t client_key[CLIENTS_KEY_SIZE],
                       const clients_request *request, uint32_t items, int64_t now,
                       uint32_t *retry_after)
{
	uint32_t ignored = 0;
	uint8_t key[REQUEST_KEY_SIZE];

	if (retry_after == NULL)
		retry_after = &ignored;
	*retry_after = 0;
	if (c == NULL || client_key == NULL || request == NULL || request->ephemeral_key == NULL ||
	    request->nonce == NULL)
		return CLIENTS_REQUEST_ERROR;
	request_key(c, request, key);
	charge ch = {.c = c,
	             .items = items,
	             .now = now,
	             .retry_after = retry_after,
	             .request = key,
	             .stale = stale(request->sent_at, request->clock)};
	clients_digest(c, client_key, ch.digest);
	return charge_run(&ch);
}

/* An expiry in progress (clients_expire_requests()). */
typedef struct expiry {
	clients *c;
	uint32_t cutoff; /* generations before it are deleted */
	uint64_t erased; /* by the last transaction */
	int old;         /* the read found one to delete */
} expiry;

/* Whether key (in requests) is of a generation before cutoff; -1 for a damaged key. */
static int
expired(const MDB_val *key, uint32_t cutoff)
{
	if (key->mv_size != REQUEST_KEY_SIZE)
		return -1;
	return get_be32(key->mv_data) < cutoff;
}

/* The read: whether the oldest digest is expired. */
static veil_err
expiry_peek_txn(void *arg, MDB_txn *txn)
{
	expiry *ex = arg;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, ex->c->requests, &cur);
	if (rc != 0)
		return lmdb_err(rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return VEIL_OK;
	if (rc != 0)
		return lmdb_err(rc);
	ex->old = expired(&k, ex->cutoff);
	return ex->old < 0 ? VEIL_ERR_CORRUPT : VEIL_OK;
}

/* One write: up to CLIENTS_REPLAY_SWEEP_BATCH expired digests deleted, from the oldest. */
static veil_err
expiry_txn(void *arg, MDB_txn *txn)
{
	expiry *ex = arg;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	veil_err err = VEIL_OK;
	int rc = mdb_cursor_open(txn, ex->c->requests, &cur);
	if (rc != 0)
		return lmdb_err(rc);
	ex->erased = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	     rc == 0 && ex->erased < CLIENTS_REPLAY_SWEEP_BATCH;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const int old = expired(&k, ex->cutoff);
		if (old < 0)
			err = VEIL_ERR_CORRUPT;
		if (old != 1)
			break; /* sorted by generation: the rest are younger */
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		ex->erased++;
	}
	mdb_cursor_close(cur);
	if (err == VEIL_OK && rc != 0 && rc != MDB_NOTFOUND)
		err = lmdb_err(rc);
	if (err != VEIL_OK)
		ex->erased = 0; /* aborted */
	return err;
}

veil_err
clients_expire_requests(clients *c, int64_t clock, uint64_t *erased)
{
	uint64_t total = 0;
	veil_err err = VEIL_OK;

	if (erased != NULL)
		*erased = 0;
	if (c == NULL)
		return VEIL_ERR_ARGUMENT;
	if (clock < CLIENTS_REPLAY_WINDOW)
		return VEIL_OK;
	/* Generation g's last sent_at, (g + 1) * G - 1, is stale once it is
	 * before clock - window: for every g before (clock - window) / G. */
	expiry ex = {c, generation_of((uint64_t)(clock - CLIENTS_REPLAY_WINDOW)), 0, 0};
	if ((err = lmdb_read(c->env, expiry_peek_txn, &ex)) == VEIL_OK && ex.old == 1) {
		do {
			if ((err = lmdb_run(c->env, 0, expiry_txn, &ex)) != VEIL_OK)
				break;
			total += ex.erased;
		} while (ex.erased == CLIENTS_REPLAY_SWEEP_BATCH);
		note_write(c);
	}
	if (erased != NULL)
		*erased = total;
	return err;
}

/* A count in progress (clients_request_count()). */
typedef struct counting {
	const clients *c;
	uint64_t count;
} counting;

static veil_err
request_count_txn(void *arg, MDB_txn *txn)
{
	counting *n = arg;
	MDB_stat st;
	const int rc = mdb_stat(txn, n->c->requests, &st);
	if (rc == 0)
		n->count = st.ms_entries;
	return lmdb_err(rc);
}

veil_err
clients_request_count(clients *c, uint64_t *count)
{
	if (count != NULL)
		*count = 0;
	if (c == NULL || count == NULL)
		return VEIL_ERR_ARGUMENT;
	counting n = {c, 0};
	const veil_err err = lmdb_read(c->env, request_count_txn, &n);
	if (err == VEIL_OK)
		*count = n.count;
	return err;
}

/* ------------------------------------------------------------------ */
/* Enrolment */

/*
 * A change to one client's record in a write transaction: apply() edits
 * the record load() gave (with its result), then the record is stored.
 */
typedef struct edit edit;
struct edit {
	clients *c;
	uint8_t digest[CLIENTS_DIGEST_SIZE];
	int64_t now;
	uint32_t quota;
	int *was_enrolled;
	veil_err (*apply)(const edit *e, record *r, veil_err loaded);
};

static veil_err
edit_txn(void *arg, MDB_txn *txn)
{
	const edit *e = arg;
	record r;
	veil_err err = e->apply(e, &r, load(e->c, txn, e->digest, e->now, &r));
	return err != VEIL_OK ? err : store(e->c, txn, e->digest, &r);
}

static veil_err
edit_record(clients *c, const uint8_t client_key[CLIENTS_KEY_SIZE], edit *e)
{
	if (c == NULL || client_key == NULL)
		return VEIL_ERR_ARGUMENT;
	e->c = c;
	clients_digest(c, client_key, e->digest);
	veil_err err = lmdb_run(c->env, 0, edit_txn, e);
	if (err == VEIL_OK)
		note_write(c);
	return err;
}

static veil_err
enrol_apply(const edit *e, record *r, veil_err loaded)
{
	if (loaded == VEIL_ERR_NOT_FOUND) {
		/* A full bucket of the size the override gives. */
		uint32_t capacity, rate;
		bucket_of(&e->c->config, e->quota, &capacity, &rate);
		r->tokens = capacity;
		loaded = VEIL_OK;
	}
	if (loaded != VEIL_OK)
		return loaded;
	if (e->was_enrolled != NULL)
		*e->was_enrolled = r->enrolled;
	r->enrolled = 1;
	r->quota = e->quota;
	return VEIL_OK;
}

veil_err
clients_enrol(clients *c, const uint8_t client_key[CLIENTS_KEY_SIZE], uint32_t quota, int64_t now,
              int *was_enrolled)
{
	edit e = {.now = now, .quota = quota, .was_enrolled = was_enrolled, .apply = enrol_apply};
	if (was_enrolled != NULL)
		*was_enrolled = 0;
	return edit_record(c, client_key, &e);
}

/* ------------------------------------------------------------------ */
/* Scrubbing freed pages */

/* After a deletion: lmdb_scrub() of the records' freed pages (best effort). */
static veil_err
scrub(clients *c)
{
	const veil_err err = lmdb_scrub(c->env, c->meta);
	note_write(c);
	return err;
}

/* Deletes the record of the enrolled client digest (arg) in txn. */
static veil_err
remove_txn(void *arg, MDB_txn *txn)
{
	const edit *e = arg;
	record r;
	memset(&r, 0, sizeof(r)); /* load() fills it; -O3 cannot see that it always does */
	veil_err err = load(e->c, txn, e->digest, 0, &r);
	if (err != VEIL_OK)
		return err;
	if (!r.enrolled)
		return VEIL_ERR_NOT_FOUND;
	MDB_val k = val_of(e->digest, CLIENTS_DIGEST_SIZE);
	return lmdb_err(mdb_del(txn, e->c->records, &k, NULL));
}

veil_err
clients_remove(clients *c, const uint8_t client_key[CLIENTS_KEY_SIZE])
{
	edit e = {.c = c};
	if (c == NULL || client_key == NULL)
		return VEIL_ERR_ARGUMENT;
	clients_digest(c, client_key, e.digest);
	veil_err err = lmdb_run(c->env, 0, remove_txn, &e);
	if (err != VEIL_OK)
		return err;
	note_write(c);
	(void)scrub(c); /* the record is deleted; a failed scrub leaves old copies in freed pages */
	return VEIL_OK;
}

/* ------------------------------------------------------------------ */
/* The sweep */

/* A sweep in progress (clients_sweep()). */
typedef struct sweep {
	clients *c;
	uint32_t today;
	uint64_t erased;
	uint64_t converted; /* version-1 records rewritten */
} sweep;

/* Whether r is an unenrolled record idle for CLIENTS_IDLE_DAYS by today. */
static int
idle(const record *r, uint32_t today)
{
	const uint32_t seen = r->last_use_day > r->day ? r->last_use_day : r->day;
	return !r->enrolled && today >= seen && today - seen >= CLIENTS_IDLE_DAYS;
}

static veil_err
sweep_txn(void *arg, MDB_txn *txn)
{
	sweep *sw = arg;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	veil_err err = VEIL_OK;
	int rc = mdb_cursor_open(txn, sw->c->records, &cur);
	if (rc != 0)
		return lmdb_err(rc);
	sw->erased = 0;
	sw->converted = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		record r;
		if (k.mv_size != CLIENTS_DIGEST_SIZE || record_decode(&v, &r) != VEIL_OK) {
			err = VEIL_ERR_CORRUPT;
			break;
		}
		if (idle(&r, sw->today)) {
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			sw->erased++;
		} else if (r.old) {
			uint8_t value[VALUE_SIZE];
			record_encode(value, &r);
			MDB_val nv = val_of(value, sizeof(value));
			if ((rc = mdb_cursor_put(cur, &k, &nv, MDB_CURRENT)) != 0)
				break;
			sw->converted++;
		}
	}
	mdb_cursor_close(cur);
	if (err == VEIL_OK && rc != MDB_NOTFOUND)
		err = lmdb_err(rc);
	return err;
}

veil_err
clients_sweep(clients *c, int64_t now, uint64_t *erased)
{
	if (erased != NULL)
		*erased = 0;
	if (c == NULL)
		return VEIL_ERR_ARGUMENT;
	sweep sw = {c, day_of(now), 0, 0};
	veil_err err = lmdb_run(c->env, 0, sweep_txn, &sw);
	if (err != VEIL_OK)
		return err;
	note_write(c);
	if (sw.erased > 0 || sw.converted > 0)
		(void)scrub(c); /* as in clients_remove(); version 1 held exact seconds */
	if (erased != NULL)
		*erased = sw.erased;
	return VEIL_OK;
}

/* A listing in progress (clients_list()). */
typedef struct listing {
	const clients *c;
	int64_t now;
	int (*fn)(void *arg, const clients_record *r);
	void *arg;
} listing;

static veil_err
list_one(void *arg, const MDB_val *k, const MDB_val *v, int *stop)
{
	const listing *l = arg;
	clients_record out;
	record r;
	if (k->mv_size != CLIENTS_DIGEST_SIZE || record_decode(v, &r) != VEIL_OK)
		return VEIL_ERR_CORRUPT;
	memset(&out, 0, sizeof(out));
	memcpy(out.digest, k->mv_data, CLIENTS_DIGEST_SIZE);
	bucket_of(&l->c->config, r.quota, &out.capacity, &out.refill_per_day);
	if (r.quota != CLIENTS_QUOTA_UNLIMITED)
		refill(&r, out.capacity, out.refill_per_day, day_of(l->now));
	out.enrolled = r.enrolled;
	out.quota = r.quota;
	out.tokens = r.tokens;
	out.last_use_day = r.last_use_day;
	*stop = l->fn(l->arg, &out) != 0;
	return VEIL_OK;
}

veil_err
clients_list(clients *c, int64_t now, int (*fn)(void *arg, const clients_record *r), void *arg)
{
	if (c == NULL || fn == NULL)
		return VEIL_ERR_ARGUMENT;
	listing l = {c, now, fn, arg};
	return lmdb_read_each(c->env, c->records, NULL, list_one, &l);
}

/* A last-use lookup in progress (clients_last_use()). */
typedef struct last_use {
	const clients *c;
	uint8_t digest[CLIENTS_DIGEST_SIZE];
	uint32_t day;
} last_use;

static veil_err
last_use_txn(void *arg, MDB_txn *txn)
{
	last_use *l = arg;
	record r = {0};
	const veil_err err = load(l->c, txn, l->digest, 0, &r);
	if (err == VEIL_OK)
		l->day = r.last_use_day;
	return err == VEIL_ERR_NOT_FOUND ? VEIL_OK : err;
}

veil_err
clients_last_use(clients *c, const uint8_t client_key[CLIENTS_KEY_SIZE], uint32_t *day)
{
	if (day != NULL)
		*day = 0;
	if (c == NULL || client_key == NULL || day == NULL)
		return VEIL_ERR_ARGUMENT;
	last_use l = {c, {0}, 0};
	clients_digest(c, client_key, l.digest);
	const veil_err err = lmdb_read(c->env, last_use_txn, &l);
	if (err == VEIL_OK)
		*day = l.day;
	return err;
}

/* ------------------------------------------------------------------ */
/* The sync thread */

static void *
syncer_main(void *arg)
{
	clients *c = arg;
	struct timespec deadline;

	pthread_mutex_lock(&c->syncer.lock);
	while (!c->syncer.stop) {
		store_thread_deadline(&deadline, (uint64_t)CLIENTS_SYNC_INTERVAL_MS * 1000000u);
		while (!c->syncer.stop && pthread_cond_timedwait(&c->syncer.wake, &c->syncer.lock,
		                                                 &deadline) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&c->syncer.lock);
		const int64_t now = (int64_t)time(NULL);
		if (day_of(now) != c->swept_day && clients_sweep(c, now, NULL) == VEIL_OK)
			c->swept_day = day_of(now); /* on failure the next round tries again */
		if (clients_expire_requests(c, now, NULL) != VEIL_OK) {
			/* likewise */
		}
		if (atomic_exchange(&c->dirty, 0))
			(void)mdb_env_sync(c->env, 1); /* on failure the next round tries again */
		/* A process of this state killed inside a transaction leaves its reader
		 * slot behind, which keeps every page since then from reuse. */
		int dead = 0;
		(void)mdb_reader_check(c->env, &dead);
		pthread_mutex_lock(&c->syncer.lock);
	}
	pthread_mutex_unlock(&c->syncer.lock);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Opening and closing */

/* meta "config" into *out: the defaults when there is none. */
static veil_err
config_decode(void *arg, const MDB_val *v)
{
	clients_config *out = arg;
	if (v == NULL) {
		clients_config_defaults(out);
		return VEIL_OK;
	}
	const uint8_t *p = v->mv_data;
	if (v->mv_size != CONFIG_SIZE || p[0] != CONFIG_VERSION || p[1] > 1 || get_be32(p + 2) == 0)
		return VEIL_ERR_CORRUPT;
	out->enrolment_required = p[1];
	out->capacity = get_be32(p + 2);
	out->refill_per_day = get_be32(p + 6);
	return VEIL_OK;
}

static veil_err
config_write(clients *c, MDB_txn *txn)
{
	uint8_t value[CONFIG_SIZE];
	value[0] = CONFIG_VERSION;
	value[1] = c->config.enrolment_required ? 1 : 0;
	put_be32(value + 2, c->config.capacity);
	put_be32(value + 6, c->config.refill_per_day);
	return lmdb_meta_put(txn, c->meta, META_CONFIG, value, sizeof(value));
}

/* What clients_open() does in its write transaction. */
typedef struct opening {
	clients *c;
	const clients_config *config; /* to write; NULL to read the stored one */
} opening;

static veil_err
open_txn(void *arg, MDB_txn *txn)
{
	const opening *o = arg;
	clients *c = o->c;
	const lmdb_db dbs[] = {
	        {DB_CLIENTS, &c->records}, {DB_REQUESTS, &c->requests}, {DB_META, &c->meta}};
	veil_err err = lmdb_dbs_open(txn, dbs, sizeof(dbs) / sizeof(dbs[0]), MDB_CREATE);
	if (err != VEIL_OK)
		return err;
	if (o->config == NULL)
		return lmdb_meta_decode(txn, c->meta, META_CONFIG, config_decode, &c->config);
	c->config = *o->config;
	return config_write(c, txn);
}

void
clients_close(clients *c)
{
	if (c == NULL)
		return;
	store_thread_stop(&c->syncer);
	if (c->env != NULL) {
		if (c->background_sync)
			(void)mdb_env_sync(c->env, 1);
		mdb_env_close(c->env);
	}
	store_thread_destroy(&c->syncer);
	if (c->secret != NULL)
		sodium_free(c->secret); /* wipes it */
	free(c);
}

veil_err
clients_open(const char *state_dir, const clients_config *config, clients **out)
{
	clients *c = NULL;
	char *dir = NULL;
	struct stat st;
	veil_err err;
	int rc;

	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (state_dir == NULL || (config != NULL && config->capacity == 0))
		return VEIL_ERR_ARGUMENT;
	if (stat(state_dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return VEIL_ERR_NOT_FOUND;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (dir = store_file_join(state_dir, CLIENTS_DIR)) == NULL ||
	    (c->secret = sodium_malloc(SECRET_SIZE)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	c->background_sync = config != NULL;
	if ((err = store_file_secret(state_dir, CLIENTS_KEY_FILE, KEY_KIND, c->secret,
	                             SECRET_SIZE)) != VEIL_OK)
		goto out;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		err = VEIL_ERR_SYSTEM;
		goto out;
	}
	if ((rc = lmdb_env_open(dir, MAP_SIZE, MAX_DBS, c->background_sync ? MDB_NOSYNC : 0,
	                        &c->env)) != 0) {
		err = lmdb_err(rc);
		goto out;
	}
	opening o = {c, config};
	if ((err = lmdb_run(c->env, 0, open_txn, &o)) != VEIL_OK)
		goto out;
	const int64_t now = (int64_t)time(NULL);
	if ((err = clients_sweep(c, now, NULL)) != VEIL_OK)
		goto out;
	c->swept_day = day_of(now);
	if ((err = clients_expire_requests(c, now, NULL)) != VEIL_OK)
		goto out;
	if (c->background_sync && (rc = mdb_env_sync(c->env, 1)) != 0) {
		err = lmdb_err(rc);
		goto out;
	}
	if (c->background_sync &&
	    ((err = store_thread_init(&c->syncer)) != VEIL_OK ||
	     (err = store_thread_start(&c->syncer, syncer_main, c)) != VEIL_OK))
		goto out;
	*out = c;
	c = NULL;
out:
	clients_close(c);
	free(dir);
	return err;
}

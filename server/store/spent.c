#include "spent.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>
#include <sodium.h>

#include "keyfile.h"
#include "lmdb_util.h"
#include "store_file.h"
#include "token.h"

_Static_assert(SPENT_KEY_ID_SIZE == TOKEN_KEY_ID_SIZE, "a token's token_key_id");
_Static_assert(SPENT_NONCE_SIZE == TOKEN_NONCE_SIZE, "a token's nonce");
_Static_assert(sizeof(size_t) >= 8, "the map does not fit a 32-bit address space");

#define KEY_KIND      "veil-spent-key-v1"
#define SECRET_SIZE   32
/* Sparse: only pages in use take disk space. A digest takes 32 bytes in
 * a page of sorted fixed-size duplicates, under 64 with the pages' slack,
 * so 16 GiB holds two full sets of SPENT_MAX_CAPACITY. */
#define MAP_SIZE      ((size_t)16 << 30)
#define MAX_DBS       2
#define DB_SPENT      "spent"
#define DB_META       "meta"
#define META_CHECK    "check"
#define CHECK_SIZE    32
/* The first byte of each keyed hash's message: one key, three uses. */
#define DOMAIN_LABEL  'L'
#define DOMAIN_DIGEST 'D'
#define DOMAIN_CHECK  'C'

struct spent {
	/* Read-held by every call, write-held by spent_forget_key(), which reopens env. */
	pthread_rwlock_t lock;
	int locked;   /* lock exists */
	char *dir;    /* state_dir/SPENT_DIR */
	MDB_env *env; /* NULL after a failed reopen: every call fails */
	MDB_dbi set;  /* DB_SPENT: label -> digests */
	MDB_dbi meta; /* DB_META */
	uint32_t capacity;
	uint8_t *secret; /* sodium_malloc'd digest key */
};

void
spent_config_defaults(spent_config *c)
{
	c->capacity = SPENT_DEFAULT_CAPACITY;
}

uint32_t
spent_capacity(const spent *s)
{
	return s->capacity;
}

/* BLAKE2b-256 keyed with the secret of domain | a | b (b may be NULL). */
static void
keyed_hash(const spent *s, uint8_t domain, const uint8_t *a, size_t a_len, const uint8_t *b,
           size_t b_len, uint8_t out[32])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, s->secret, SECRET_SIZE, 32);
	crypto_generichash_update(&st, &domain, 1);
	if (a != NULL)
		crypto_generichash_update(&st, a, a_len);
	if (b != NULL)
		crypto_generichash_update(&st, b, b_len);
	crypto_generichash_final(&st, out, 32);
	sodium_memzero(&st, sizeof(st));
}

void
spent_label(const spent *s, const uint8_t token_key_id[SPENT_KEY_ID_SIZE],
            uint8_t out[SPENT_LABEL_SIZE])
{
	keyed_hash(s, DOMAIN_LABEL, token_key_id, SPENT_KEY_ID_SIZE, NULL, 0, out);
}

void
spent_digest(const spent *s, const uint8_t token_key_id[SPENT_KEY_ID_SIZE],
             const uint8_t nonce[SPENT_NONCE_SIZE], uint8_t out[SPENT_DIGEST_SIZE])
{
	keyed_hash(s, DOMAIN_DIGEST, token_key_id, SPENT_KEY_ID_SIZE, nonce, SPENT_NONCE_SIZE, out);
}

/* ------------------------------------------------------------------ */
/* Redeeming */

/* A redemption, decided and recorded in one write transaction (redeem_txn()). */
typedef struct redemption {
	const spent *s;
	uint8_t label[SPENT_LABEL_SIZE];
	uint8_t digest[SPENT_DIGEST_SIZE];
	spent_verdict verdict;
} redemption;

static veil_err
redeem_txn(void *arg, MDB_txn *txn)
{
	redemption *r = arg;
	MDB_cursor *cur = NULL;
	MDB_val k = val_of(r->label, SPENT_LABEL_SIZE), v = val_of(r->digest, SPENT_DIGEST_SIZE);
	size_t count = 0;
	int rc = mdb_cursor_open(txn, r->s->set, &cur);
	if (rc != 0)
		return lmdb_err(rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH);
	if (rc == 0) {
		r->verdict = SPENT_AGAIN;
	} else if (rc == MDB_NOTFOUND) {
		MDB_val first;
		k = val_of(r->label, SPENT_LABEL_SIZE);
		rc = mdb_cursor_get(cur, &k, &first, MDB_SET);
		if (rc == 0)
			rc = mdb_cursor_count(cur, &count);
		else if (rc == MDB_NOTFOUND)
			rc = 0; /* the key's first token */
		if (rc == 0 && count >= r->s->capacity)
			r->verdict = SPENT_FULL;
	}
	mdb_cursor_close(cur);
	if (rc != 0)
		return lmdb_err(rc);
	if (r->verdict != SPENT_ERROR)
		return VEIL_ERR_EXISTS; /* refused: nothing to write, the transaction aborts */
	k = val_of(r->label, SPENT_LABEL_SIZE);
	v = val_of(r->digest, SPENT_DIGEST_SIZE);
	rc = mdb_put(txn, r->s->set, &k, &v, MDB_NODUPDATA);
	if (rc == MDB_KEYEXIST) {
		r->verdict =
		        SPENT_AGAIN; /* cannot happen in this transaction; refused all the same */
		return VEIL_ERR_EXISTS;
	}
	if (rc != 0)
		return lmdb_err(rc);
	r->verdict = SPENT_OK;
	return VEIL_OK;
}

spent_verdict
spent_redeem(spent *s, const uint8_t token_key_id[SPENT_KEY_ID_SIZE],
             const uint8_t nonce[SPENT_NONCE_SIZE])
{
	if (s == NULL || token_key_id == NULL || nonce == NULL)
		return SPENT_ERROR;
	redemption r = {s, {0}, {0}, SPENT_ERROR};
	spent_label(s, token_key_id, r.label);
	spent_digest(s, token_key_id, nonce, r.digest);
	pthread_rwlock_rdlock(&s->lock);
	const veil_err err = s->env != NULL ? lmdb_run(s->env, 0, redeem_txn, &r) : VEIL_ERR_SYSTEM;
	pthread_rwlock_unlock(&s->lock);
	if (err != VEIL_OK && r.verdict == SPENT_OK)
		r.verdict = SPENT_ERROR; /* the commit failed: nothing recorded */
	return r.verdict;
}

/* ------------------------------------------------------------------ */
/* Counting and listing */

/* A count of one key's set (count_txn()). */
typedef struct counting {
	const spent *s;
	uint8_t label[SPENT_LABEL_SIZE];
	uint64_t count;
} counting;

/* The number of digests under the label at cur's position; a label of another size is CORRUPT. */
static veil_err
count_here(MDB_cursor *cur, const MDB_val *k, uint64_t *count)
{
	size_t n = 0;
	if (k->mv_size != SPENT_LABEL_SIZE)
		return VEIL_ERR_CORRUPT;
	const int rc = mdb_cursor_count(cur, &n);
	*count = n;
	return lmdb_err(rc);
}

static veil_err
count_txn(void *arg, MDB_txn *txn)
{
	counting *c = arg;
	MDB_cursor *cur = NULL;
	MDB_val k = val_of(c->label, SPENT_LABEL_SIZE), v;
	veil_err err = VEIL_OK;
	int rc = mdb_cursor_open(txn, c->s->set, &cur);
	if (rc != 0)
		return lmdb_err(rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET);
	if (rc == 0)
		err = count_here(cur, &k, &c->count);
	else if (rc != MDB_NOTFOUND)
		err = lmdb_err(rc);
	mdb_cursor_close(cur);
	return err;
}

veil_err
spent_count(spent *s, const uint8_t token_key_id[SPENT_KEY_ID_SIZE], uint64_t *count)
{
	if (count != NULL)
		*count = 0;
	if (s == NULL || token_key_id == NULL || count == NULL)
		return VEIL_ERR_ARGUMENT;
	counting c = {s, {0}, 0};
	spent_label(s, token_key_id, c.label);
	pthread_rwlock_rdlock(&s->lock);
	const veil_err err = s->env != NULL ? lmdb_read(s->env, count_txn, &c) : VEIL_ERR_SYSTEM;
	pthread_rwlock_unlock(&s->lock);
	if (err == VEIL_OK)
		*count = c.count;
	return err;
}

/* A listing in progress (spent_keys()). */
typedef struct listing {
	const spent *s;
	int (*fn)(void *arg, const uint8_t label[SPENT_LABEL_SIZE], uint64_t count);
	void *arg;
} listing;

static veil_err
keys_txn(void *arg, MDB_txn *txn)
{
	const listing *l = arg;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	veil_err err = VEIL_OK;
	int rc = mdb_cursor_open(txn, l->s->set, &cur);
	if (rc != 0)
		return lmdb_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_NODUP)) {
		uint64_t count = 0;
		if ((err = count_here(cur, &k, &count)) != VEIL_OK)
			break;
		if (l->fn(l->arg, k.mv_data, count) != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (err == VEIL_OK && rc != 0 && rc != MDB_NOTFOUND)
		err = lmdb_err(rc);
	return err;
}

veil_err
spent_keys(spent *s, int (*fn)(void *arg, const uint8_t label[SPENT_LABEL_SIZE], uint64_t count),
           void *arg)
{
	if (s == NULL || fn == NULL)
		return VEIL_ERR_ARGUMENT;
	listing l = {s, fn, arg};
	pthread_rwlock_rdlock(&s->lock);
	const veil_err err = s->env != NULL ? lmdb_read(s->env, keys_txn, &l) : VEIL_ERR_SYSTEM;
	pthread_rwlock_unlock(&s->lock);
	return err;
}

/* ------------------------------------------------------------------ */
/* Forgetting a key */

static veil_err
forget_txn(void *arg, MDB_txn *txn)
{
	counting *c = arg;
	MDB_cursor *cur = NULL;
	MDB_val k = val_of(c->label, SPENT_LABEL_SIZE), v;
	veil_err err;
	int rc = mdb_cursor_open(txn, c->s->set, &cur);
	if (rc != 0)
		return lmdb_err(rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET);
	if (rc != 0)
		err = lmdb_err(rc); /* MDB_NOTFOUND: VEIL_ERR_NOT_FOUND */
	else if ((err = count_here(cur, &k, &c->count)) == VEIL_OK)
		err = lmdb_err(mdb_cursor_del(cur, MDB_NODUPDATA)); /* every digest of the label */
	mdb_cursor_close(cur);
	return err;
}

/*
 * Rewrites the entry where label was (the next label's, or the one
 * before), with the same value: LMDB copies that leaf page to a clean
 * buffer, so the gap the deletion left in it, which may still hold bytes
 * of the deleted entry, is written as zeros, and the old page goes to the
 * free list for the scrub. No entry left: nothing to rewrite.
 */
static veil_err
touch_txn(void *arg, MDB_txn *txn)
{
	counting *c = arg;
	MDB_cursor *cur = NULL;
	MDB_val k = val_of(c->label, SPENT_LABEL_SIZE), v;
	int rc = mdb_cursor_open(txn, c->s->set, &cur);
	if (rc != 0)
		return lmdb_err(rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST_DUP);
	if (rc == 0) {
		uint8_t same[SPENT_DIGEST_SIZE];
		if (v.mv_size != sizeof(same)) {
			mdb_cursor_close(cur);
			return VEIL_ERR_CORRUPT;
		}
		memcpy(same, v.mv_data, sizeof(same));
		MDB_val nv = val_of(same, sizeof(same));
		rc = mdb_cursor_put(cur, &k, &nv, MDB_CURRENT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? VEIL_OK : lmdb_err(rc);
}

static veil_err env_open(spent *s) __attribute__((warn_unused_result));

/*
 * After a set was deleted: closes and opens the environment again, so
 * that LMDB's pool of page buffers, which holds old page images and
 * fills the unused parts of pages it writes, starts over with zeroed
 * memory; rewrites the leaf the deletion left (touch_txn()); then
 * scrubs the freed pages. Under the write lock.
 */
static veil_err
forget_clean(spent *s, counting *c)
{
	mdb_env_close(s->env);
	s->env = NULL;
	veil_err err = env_open(s);
	if (err != VEIL_OK)
		return err;
	err = lmdb_run(s->env, 0, touch_txn, c);
	const veil_err scrubbed = lmdb_scrub(s->env, s->meta);
	return err != VEIL_OK ? err : scrubbed;
}

veil_err
spent_forget_key(spent *s, const uint8_t token_key_id[SPENT_KEY_ID_SIZE], uint64_t *erased)
{
	if (erased != NULL)
		*erased = 0;
	if (s == NULL || token_key_id == NULL)
		return VEIL_ERR_ARGUMENT;
	counting c = {s, {0}, 0};
	spent_label(s, token_key_id, c.label);
	pthread_rwlock_wrlock(&s->lock);
	veil_err err = s->env != NULL ? lmdb_run(s->env, 0, forget_txn, &c) : VEIL_ERR_SYSTEM;
	if (err == VEIL_OK)
		(void)forget_clean(s, &c); /* the set is gone; a failed clean leaves old copies */
	pthread_rwlock_unlock(&s->lock);
	if (err == VEIL_OK && erased != NULL)
		*erased = c.count;
	return err;
}

/* ------------------------------------------------------------------ */
/* Opening and closing */

/* What spent_open() does in its write transaction: the databases, and the key's check. */
static veil_err
open_txn(void *arg, MDB_txn *txn)
{
	spent *s = arg;
	const lmdb_db set[] = {{DB_SPENT, &s->set}}, meta[] = {{DB_META, &s->meta}};
	uint8_t check[CHECK_SIZE];
	MDB_val v;
	veil_err err = lmdb_dbs_open(txn, set, 1, MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED);
	if (err == VEIL_OK)
		err = lmdb_dbs_open(txn, meta, 1, MDB_CREATE);
	if (err != VEIL_OK)
		return err;
	keyed_hash(s, DOMAIN_CHECK, NULL, 0, NULL, 0, check);
	const int rc = lmdb_meta_get(txn, s->meta, META_CHECK, &v);
	if (rc == MDB_NOTFOUND)
		return lmdb_meta_put(txn, s->meta, META_CHECK, check, sizeof(check));
	if (rc != 0)
		return lmdb_err(rc);
	if (v.mv_size != CHECK_SIZE || sodium_memcmp(v.mv_data, check, CHECK_SIZE) != 0)
		return VEIL_ERR_CORRUPT; /* another key than the set was made with */
	return VEIL_OK;
}

/* Opens s->env on s->dir, fsyncs the directory, and opens the databases (open_txn()). */
static veil_err
env_open(spent *s)
{
	const int rc = lmdb_env_open(s->dir, MAP_SIZE, MAX_DBS, 0, &s->env);
	if (rc != 0)
		return lmdb_err(rc);
	veil_err err = store_file_sync_dir(s->dir);
	if (err == VEIL_OK)
		err = lmdb_run(s->env, 0, open_txn, s);
	if (err != VEIL_OK) {
		mdb_env_close(s->env);
		s->env = NULL;
	}
	return err;
}

void
spent_close(spent *s)
{
	if (s == NULL)
		return;
	if (s->env != NULL)
		mdb_env_close(s->env);
	if (s->locked)
		pthread_rwlock_destroy(&s->lock);
	if (s->secret != NULL)
		sodium_free(s->secret); /* wipes it */
	free(s->dir);
	free(s);
}

veil_err
spent_open(const char *state_dir, const spent_config *config, spent **out)
{
	spent *s = NULL;
	struct stat st;
	veil_err err = VEIL_OK;

	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (state_dir == NULL ||
	    (config != NULL && (config->capacity == 0 || config->capacity > SPENT_MAX_CAPACITY)))
		return VEIL_ERR_ARGUMENT;
	if (stat(state_dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return VEIL_ERR_NOT_FOUND;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->dir = store_file_join(state_dir, SPENT_DIR)) == NULL ||
	    (s->secret = sodium_malloc(SECRET_SIZE)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	if (pthread_rwlock_init(&s->lock, NULL) != 0) {
		err = VEIL_ERR_SYSTEM;
		goto out;
	}
	s->locked = 1;
	s->capacity = config != NULL ? config->capacity : SPENT_DEFAULT_CAPACITY;
	if ((err = store_file_secret(state_dir, SPENT_KEY_FILE, KEY_KIND, s->secret,
	                             SECRET_SIZE)) != VEIL_OK)
		goto out;
	if (mkdir(s->dir, 0700) == 0)
		err = store_file_sync_dir(state_dir);
	else if (errno != EEXIST)
		err = VEIL_ERR_SYSTEM;
	if (err != VEIL_OK || (err = env_open(s)) != VEIL_OK)
		goto out;
	*out = s;
	s = NULL;
out:
	spent_close(s);
	return err;
}

#include "lmdb_util.h"

#include <errno.h>
#include <string.h>

veil_err
lmdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return VEIL_OK;
	case MDB_NOTFOUND:
		return VEIL_ERR_NOT_FOUND;
	case MDB_KEYEXIST:
		return VEIL_ERR_EXISTS;
	case MDB_MAP_FULL:
	case MDB_DBS_FULL:
	case MDB_READERS_FULL:
	case MDB_TXN_FULL:
	case MDB_CURSOR_FULL:
	case MDB_PAGE_FULL:
		return VEIL_ERR_LIMIT;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
	case MDB_BAD_VALSIZE:
		return VEIL_ERR_CORRUPT;
	case ENOMEM:
		return VEIL_ERR_NOMEM;
	default:
		return VEIL_ERR_SYSTEM;
	}
}

int
lmdb_env_open(const char *dir, size_t map_size, unsigned max_dbs, unsigned flags, MDB_env **out)
{
	MDB_env *env = NULL;
	int rc;

	*out = NULL;
	if ((rc = mdb_env_create(&env)) != 0)
		return rc;
	if ((rc = mdb_env_set_maxdbs(env, max_dbs)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, map_size)) != 0 ||
	    (rc = mdb_env_set_maxreaders(env, LMDB_MAX_READERS)) != 0 ||
	    (rc = mdb_env_open(env, dir, MDB_NOTLS | flags, 0600)) != 0) {
		mdb_env_close(env);
		return rc;
	}
	int dead = 0;
	mdb_reader_check(env, &dead);
	*out = env;
	return 0;
}

veil_err
lmdb_dbs_open(MDB_txn *txn, const lmdb_db *dbs, size_t count, unsigned flags)
{
	for (size_t i = 0; i < count; i++) {
		const int rc = mdb_dbi_open(txn, dbs[i].name, flags, dbs[i].dbi);
		if (rc != 0)
			return rc == MDB_NOTFOUND ? VEIL_ERR_CORRUPT : lmdb_err(rc);
	}
	return VEIL_OK;
}

veil_err
lmdb_commit(MDB_txn **txn)
{
	const int rc = mdb_txn_commit(*txn);
	*txn = NULL;
	return lmdb_err(rc);
}

veil_err
lmdb_run(MDB_env *env, unsigned flags, lmdb_txn_fn *fn, void *arg)
{
	MDB_txn *txn = NULL;
	const int rc = mdb_txn_begin(env, NULL, flags, &txn);
	if (rc != 0)
		return lmdb_err(rc);
	const veil_err err = fn(arg, txn);
	if (err != VEIL_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	return lmdb_commit(&txn);
}

veil_err
lmdb_read(MDB_env *env, lmdb_txn_fn *fn, void *arg)
{
	MDB_txn *txn = NULL;
	const int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return lmdb_err(rc);
	const veil_err err = fn(arg, txn);
	mdb_txn_abort(txn);
	return err;
}

veil_err
lmdb_each(MDB_txn *txn, MDB_dbi dbi, const MDB_val *from, lmdb_visit_fn *visit, void *arg)
{
	MDB_cursor *cursor = NULL;
	MDB_val k, v;
	veil_err err = VEIL_OK;
	int stop = 0;

	int rc = mdb_cursor_open(txn, dbi, &cursor);
	if (rc != 0)
		return lmdb_err(rc);
	if (from != NULL)
		k = *from;
	rc = mdb_cursor_get(cursor, &k, &v, from != NULL ? MDB_SET_RANGE : MDB_FIRST);
	while (rc == 0) {
		if ((err = visit(arg, &k, &v, &stop)) != VEIL_OK || stop)
			break;
		rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cursor);
	if (err != VEIL_OK || stop)
		return err;
	return rc == MDB_NOTFOUND ? VEIL_OK : lmdb_err(rc);
}

int
lmdb_meta_get(MDB_txn *txn, MDB_dbi dbi, const char *name, MDB_val *value)
{
	MDB_val k = val_of(name, strlen(name));
	return mdb_get(txn, dbi, &k, value);
}

veil_err
lmdb_meta_put(MDB_txn *txn, MDB_dbi dbi, const char *name, const void *data, size_t size)
{
	MDB_val k = val_of(name, strlen(name)), v = val_of(data, size);
	return lmdb_err(mdb_put(txn, dbi, &k, &v, 0));
}

veil_err
lmdb_meta_decode(MDB_txn *txn, MDB_dbi dbi, const char *name, lmdb_decode_fn *decode, void *out)
{
	MDB_val v;
	const int rc = lmdb_meta_get(txn, dbi, name, &v);
	if (rc == MDB_NOTFOUND)
		return decode(out, NULL);
	return rc != 0 ? lmdb_err(rc) : decode(out, &v);
}

/* A read in a transaction of its own: a walk (visit), or a meta record (decode). */
typedef struct own_read {
	MDB_dbi dbi;
	const MDB_val *from;
	const char *name;
	lmdb_visit_fn *visit;
	lmdb_decode_fn *decode;
	void *arg;
} own_read;

static veil_err
own_read_txn(void *arg, MDB_txn *txn)
{
	const own_read *r = arg;
	if (r->visit != NULL)
		return lmdb_each(txn, r->dbi, r->from, r->visit, r->arg);
	return lmdb_meta_decode(txn, r->dbi, r->name, r->decode, r->arg);
}

veil_err
lmdb_read_each(MDB_env *env, MDB_dbi dbi, const MDB_val *from, lmdb_visit_fn *visit, void *arg)
{
	own_read r = {dbi, from, NULL, visit, NULL, arg};
	return lmdb_read(env, own_read_txn, &r);
}

veil_err
lmdb_meta_read(MDB_env *env, MDB_dbi dbi, const char *name, lmdb_decode_fn *decode, void *out)
{
	own_read r = {.dbi = dbi, .name = name, .decode = decode, .arg = out};
	return lmdb_read(env, own_read_txn, &r);
}

/* ------------------------------------------------------------------ */
/* Scrubbing freed pages */

/* The meta keys of the scrub: a marker, and fillers "scrub" + index u32 BE. */
#define SCRUB_KEY      "scrub"
#define SCRUB_KEY_SIZE 5
/* LMDB's page header and a margin: a filler of a page less this is one overflow page. */
#define SCRUB_SLACK    64

typedef enum scrub_step { SCRUB_AGE, SCRUB_FILL, SCRUB_EMPTY } scrub_step;

typedef struct scrubbing {
	MDB_env *env;
	MDB_dbi meta;
	scrub_step step;
	uint64_t free_pages; /* SCRUB_FILL: how many fillers */
} scrubbing;

/*
 * The pages on LMDB's free list, in a read transaction: each record of
 * database 0 is a list of page numbers led by its length (as mdb_stat -f
 * reads it). Counted rather than derived from the databases' page
 * counts, which leave out the pages of sorted duplicates.
 */
static veil_err
free_pages_txn(void *arg, MDB_txn *txn)
{
	scrubbing *sc = arg;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, 0, &cur);
	if (rc != 0)
		return lmdb_err(rc);
	sc->free_pages = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		size_t n;
		/* The length, then that many page numbers: no more than fit. */
		if (v.mv_size < sizeof(n) ||
		    (memcpy(&n, v.mv_data, sizeof(n)), n > v.mv_size / sizeof(n) - 1)) {
			mdb_cursor_close(cur);
			return VEIL_ERR_CORRUPT;
		}
		sc->free_pages += n;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? VEIL_OK : lmdb_err(rc);
}

/* SCRUB_FILL: one zeroed filler of one overflow page for each free page. */
static veil_err
scrub_fill(const scrubbing *sc, MDB_txn *txn)
{
	MDB_stat st;
	int rc = mdb_env_stat(sc->env, &st);
	if (rc != 0)
		return lmdb_err(rc);
	for (uint64_t i = 0; i < sc->free_pages && i < UINT32_MAX; i++) {
		uint8_t key[SCRUB_KEY_SIZE + 4];
		memcpy(key, SCRUB_KEY, SCRUB_KEY_SIZE);
		put_be32(key + SCRUB_KEY_SIZE, (uint32_t)i);
		MDB_val k = val_of(key, sizeof(key)), v = val_of(NULL, st.ms_psize - SCRUB_SLACK);
		if ((rc = mdb_put(txn, sc->meta, &k, &v, MDB_RESERVE)) != 0)
			return lmdb_err(rc);
		memset(v.mv_data, 0, v.mv_size);
	}
	return VEIL_OK;
}

/* SCRUB_EMPTY: deletes the marker and every filler. */
static veil_err
scrub_empty(const scrubbing *sc, MDB_txn *txn)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, sc->meta, &cur);
	if (rc != 0)
		return lmdb_err(rc);
	for (;;) {
		k = val_of(SCRUB_KEY, SCRUB_KEY_SIZE);
		if ((rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) != 0)
			break;
		if (k.mv_size < SCRUB_KEY_SIZE || memcmp(k.mv_data, SCRUB_KEY, SCRUB_KEY_SIZE) != 0)
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? VEIL_OK : lmdb_err(rc);
}

static veil_err
scrub_txn(void *arg, MDB_txn *txn)
{
	const scrubbing *sc = arg;
	MDB_val k = val_of(SCRUB_KEY, SCRUB_KEY_SIZE), v = val_of("", 1);
	switch (sc->step) {
	case SCRUB_AGE:
		return lmdb_err(mdb_put(txn, sc->meta, &k, &v, 0));
	case SCRUB_FILL:
		return scrub_fill(sc, txn);
	case SCRUB_EMPTY:
		return scrub_empty(sc, txn);
	}
	return VEIL_ERR_ARGUMENT;
}

veil_err
lmdb_scrub(MDB_env *env, MDB_dbi meta)
{
	scrubbing sc = {env, meta, SCRUB_AGE, 0};
	veil_err err = lmdb_run(env, 0, scrub_txn, &sc);
	if (err == VEIL_OK)
		err = lmdb_read(env, free_pages_txn, &sc);
	sc.step = SCRUB_FILL;
	if (err == VEIL_OK)
		err = lmdb_run(env, 0, scrub_txn, &sc);
	sc.step = SCRUB_EMPTY; /* also after a failed fill: the marker goes */
	const veil_err emptied = lmdb_run(env, 0, scrub_txn, &sc);
	return err != VEIL_OK ? err : emptied;
}

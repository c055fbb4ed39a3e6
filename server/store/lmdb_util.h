/*
 * What the stores (registry, clients, query log) share about LMDB and the
 * byte order of what they store: big-endian integers (so keys sort by
 * value), MDB_val construction, the mapping of LMDB's return codes to
 * veil_err, and the steps every store takes the same way: opening an
 * environment and its named databases, running work in a transaction,
 * walking a database with a cursor, and the records of a meta database
 * keyed by name.
 *
 * Nothing here logs; no error carries a key or a value.
 *
 * May use: common/ (error.h); nothing else of the project.
 */
#ifndef VEIL_SERVER_LMDB_UTIL_H
#define VEIL_SERVER_LMDB_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "error.h"

static inline void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t
get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static inline uint64_t
get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* LMDB takes keys and data to store as MDB_val, but never writes through them. */
static inline MDB_val
val_of(const void *data, size_t size)
{
	MDB_val v;
	v.mv_size = size;
	v.mv_data = (void *)(uintptr_t)data;
	return v;
}

/* An LMDB return code as a veil_err: NOT_FOUND, EXISTS, LIMIT (a map or
 * table is full), CORRUPT (damaged or foreign file), NOMEM, else SYSTEM. */
veil_err lmdb_err(int rc);

/* Reader slots of every store's environment: processes and threads reading at once. */
#define LMDB_MAX_READERS 1024

/*
 * Creates and opens the environment in the directory dir as every store
 * does: at most max_dbs named databases, a map of map_size bytes (sparse:
 * only pages in use take disk space), LMDB_MAX_READERS reader slots,
 * MDB_NOTLS (a read transaction is not tied to its thread) plus flags
 * (0, MDB_RDONLY or MDB_NOSYNC), files made 0600. Then frees the reader
 * slots of processes that died (kill -9), which would pin old pages.
 *
 * On success *out is the environment, the caller's to mdb_env_close().
 * On failure *out is NULL and nothing stays open. Returns 0 or the code
 * LMDB returned, unmapped (ENOENT: dir does not exist, or has no data.mdb
 * with MDB_RDONLY), so that each store maps it as its header documents.
 */
int lmdb_env_open(const char *dir, size_t map_size, unsigned max_dbs, unsigned flags, MDB_env **out)
        __attribute__((warn_unused_result));

/* A named database, and where its handle goes (lmdb_dbs_open()). */
typedef struct lmdb_db {
	const char *name;
	MDB_dbi *dbi;
} lmdb_db;

/*
 * Opens the named databases dbs[0..count) in txn, each handle into
 * *dbs[i].dbi. flags is 0, or MDB_CREATE to make those missing (txn is
 * then a write transaction). Handles opened in a transaction that aborts
 * are closed again: commit it to keep them. Errors: VEIL_ERR_CORRUPT (a
 * database is missing, without MDB_CREATE, or the name is no database),
 * else those of lmdb_err(); the handles opened before the failure stay
 * set, to be closed by the abort.
 */
veil_err lmdb_dbs_open(MDB_txn *txn, const lmdb_db *dbs, size_t count, unsigned flags)
        __attribute__((warn_unused_result));

/*
 * Commits *txn and sets *txn to NULL: LMDB frees the transaction whether
 * or not the commit succeeds. Errors: those of lmdb_err() (VEIL_ERR_LIMIT:
 * the map is full; VEIL_ERR_SYSTEM: the write or fsync failed).
 */
veil_err lmdb_commit(MDB_txn **txn) __attribute__((warn_unused_result));

/*
 * Work done inside a transaction (lmdb_run(), lmdb_read()). Returns
 * VEIL_OK to have lmdb_run() commit; anything else aborts, and is passed
 * on to the caller.
 */
typedef veil_err lmdb_txn_fn(void *arg, MDB_txn *txn);

/*
 * Begins a transaction of env (flags: 0 to write, MDB_RDONLY to read),
 * runs fn(arg, txn) in it, and commits it when fn returns VEIL_OK, else
 * aborts it: a write is all or nothing. A write transaction holds env's
 * write lock from begin to end, so what fn read still holds when it
 * commits. Committing a read-only transaction is how database handles it
 * opened outlive it; for a plain read, lmdb_read(). Returns fn's error,
 * or lmdb_err() of beginning or committing.
 */
veil_err lmdb_run(MDB_env *env, unsigned flags, lmdb_txn_fn *fn, void *arg)
        __attribute__((warn_unused_result));

/*
 * After a deletion in env: overwrites with zeros the pages LMDB has freed,
 * which may still hold copies of what was deleted, in three write
 * transactions. The first (a marker record in meta) makes the pages the
 * deletion freed reusable, since LMDB keeps them for the snapshot before
 * it; the free list is then counted (a read), and the second takes that
 * many pages for zeroed fillers of one overflow page each and commits
 * them; the third deletes the marker and the fillers, also after a failed
 * fill. meta is a database of the store's own where the records "scrub"
 * and "scrub" + index u32 BE may live for the while. Pages a reader still
 * holds (another charge, another process) are not reused: best effort.
 * Errors: those of lmdb_err(); VEIL_ERR_CORRUPT for a free list LMDB
 * cannot have written.
 */
veil_err lmdb_scrub(MDB_env *env, MDB_dbi meta) __attribute__((warn_unused_result));

/*
 * Runs fn(arg, txn) in a new read-only transaction of env, then aborts
 * it, whatever fn returns. Returns fn's error, or lmdb_err() of beginning.
 */
veil_err lmdb_read(MDB_env *env, lmdb_txn_fn *fn, void *arg) __attribute__((warn_unused_result));

/*
 * One entry for lmdb_each(). key and value point into the transaction's
 * pages: valid until it ends or writes. Setting *stop ends the walk
 * without an error; returning anything but VEIL_OK ends it with that.
 */
typedef veil_err lmdb_visit_fn(void *arg, const MDB_val *key, const MDB_val *value, int *stop);

/*
 * Calls visit on the entries of dbi in txn, in key order: all of them, or
 * with from not NULL those from the first key at or after *from. Opens
 * and closes its own cursor; visit must not write to dbi meanwhile.
 * Returns VEIL_OK at the end or when visit set *stop; else visit's error,
 * or lmdb_err() of the cursor.
 */
veil_err lmdb_each(MDB_txn *txn, MDB_dbi dbi, const MDB_val *from, lmdb_visit_fn *visit, void *arg)
        __attribute__((warn_unused_result));

/*
 * lmdb_each() over dbi in a read-only transaction of env of its own.
 * Returns as lmdb_each() does, or lmdb_err() of beginning.
 */
veil_err lmdb_read_each(MDB_env *env, MDB_dbi dbi, const MDB_val *from, lmdb_visit_fn *visit,
                        void *arg) __attribute__((warn_unused_result));

/*
 * The record keyed by the C string name in dbi (the stores' meta
 * databases) into *value, pointing into txn's pages. Returns 0,
 * MDB_NOTFOUND or another LMDB code, unmapped: each store reads a missing
 * record its own way.
 */
int lmdb_meta_get(MDB_txn *txn, MDB_dbi dbi, const char *name, MDB_val *value)
        __attribute__((warn_unused_result));

/*
 * Stores size bytes of data (copied) under the C string name in dbi,
 * replacing any value, in the write transaction txn. Errors: those of
 * lmdb_err().
 */
veil_err lmdb_meta_put(MDB_txn *txn, MDB_dbi dbi, const char *name, const void *data, size_t size)
        __attribute__((warn_unused_result));

/*
 * Decodes a meta record (lmdb_meta_decode()) into out: value is NULL when
 * there is none, else it points into the transaction's pages. Returns
 * VEIL_OK, or the error the caller passes on (VEIL_ERR_CORRUPT for a
 * record that does not decode, VEIL_ERR_NOT_FOUND for a missing one that
 * must be there).
 */
typedef veil_err lmdb_decode_fn(void *out, const MDB_val *value);

/*
 * Reads the record keyed by the C string name in dbi in txn and hands it
 * to decode(out, value), value NULL when there is none. Returns decode's
 * result, or lmdb_err() of the read.
 */
veil_err lmdb_meta_decode(MDB_txn *txn, MDB_dbi dbi, const char *name, lmdb_decode_fn *decode,
                          void *out) __attribute__((warn_unused_result));

/*
 * lmdb_meta_decode() in a read-only transaction of env of its own. Returns
 * decode's result, or lmdb_err() of beginning or of the read.
 */
veil_err lmdb_meta_read(MDB_env *env, MDB_dbi dbi, const char *name, lmdb_decode_fn *decode,
                        void *out) __attribute__((warn_unused_result));

#endif

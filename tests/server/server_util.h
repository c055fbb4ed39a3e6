/*
 * The registry's logical contents, read straight from LMDB, for the
 * server tests' before/after comparisons. (Temporary directories and
 * files: tests/lib/proc.h.)
 */
#ifndef VEIL_TESTS_SERVER_UTIL_H
#define VEIL_TESTS_SERVER_UTIL_H

#include <string.h>

#include <lmdb.h>

#include "buf.h"

/*
 * Appends every named database of the LMDB environment at path, with every
 * key and value, in order, to out: the registry's logical contents. Index
 * values hold random nonces, so two registries built apart differ, but
 * one registry compared with itself before and after must not.
 * Returns 0, or -1 when the environment cannot be read.
 */
static inline int
util_dump_registry(const char *path, buf *out)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_cursor *names = NULL;
	MDB_dbi main_dbi;
	MDB_val k, v;
	int rc = -1;

	if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 64) != 0 ||
	    mdb_env_set_mapsize(env, (size_t)16 << 30) != 0 ||
	    mdb_env_open(env, path, MDB_RDONLY | MDB_NOTLS, 0600) != 0)
		goto out;
	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0 ||
	    mdb_dbi_open(txn, NULL, 0, &main_dbi) != 0 ||
	    mdb_cursor_open(txn, main_dbi, &names) != 0)
		goto out;
	for (int r = mdb_cursor_get(names, &k, &v, MDB_FIRST); r == 0;
	     r = mdb_cursor_get(names, &k, &v, MDB_NEXT)) {
		char name[128];
		MDB_dbi dbi;
		MDB_cursor *c = NULL;
		MDB_val dk, dv;
		if (k.mv_size >= sizeof(name))
			goto out;
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		buf_printf(out, "[%s]\n", name);
		if (mdb_dbi_open(txn, name, 0, &dbi) != 0 || mdb_cursor_open(txn, dbi, &c) != 0)
			goto out;
		for (int s = mdb_cursor_get(c, &dk, &dv, MDB_FIRST); s == 0;
		     s = mdb_cursor_get(c, &dk, &dv, MDB_NEXT)) {
			buf_printf(out, "%zu:", dk.mv_size);
			buf_append(out, dk.mv_data, dk.mv_size);
			buf_printf(out, "=%zu:", dv.mv_size);
			buf_append(out, dv.mv_data, dv.mv_size);
			buf_append_byte(out, '\n');
		}
		mdb_cursor_close(c);
	}
	rc = buf_error(out) == VEIL_OK ? 0 : -1;
out:
	if (names != NULL)
		mdb_cursor_close(names);
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (env != NULL)
		mdb_env_close(env);
	return rc;
}

#endif

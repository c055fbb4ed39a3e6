#include "qlog_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "lmdb_util.h"
/* The map is sparse: only pages in use take disk space. */
#define MAP_SIZE    ((size_t)16 << 30)
#define MAX_DBS     4
#define MAX_READERS 1024

#define DB_ENTRIES   "entries"
#define DB_META      "meta"
#define META_FORMAT  "format"
#define META_CONFIG  "config"
#define META_DROPPED "dropped"

#define KEY_SIZE      12
#define VALUE_VERSION 1
#define VALUE_HEAD    8

#define CONFIG_VERSION 1
/* version | accounts u64 | universe u64 | k_r u32 | k_b u32 | t_r u8 | t_b u8 |
 * max_prefix_bits u8 | entry_retention u32 | salt_retention u32 | allow_long u8 |
 * t_r in force u8 | t_b in force u8 */
#define CONFIG_SIZE    40

/* Deletions per write transaction during a sweep. */
#define DELETE_CHUNK 8192

struct qlog_store {
	MDB_env *env;
	MDB_dbi entries;
	MDB_dbi meta;
	int read_only;
};

static void
entry_key(uint8_t key[KEY_SIZE], uint32_t day, uint64_t seq)
{
	put_be32(key, day);
	put_be64(key + 4, seq);
}

/* ------------------------------------------------------------------ */
/* Values */

static size_t
digest_bytes(uint8_t width)
{
	return ((size_t)width + 7) / 8;
}

static void
put_digest(uint8_t *p, uint8_t width, uint32_t digest)
{
	const size_t n = digest_bytes(width);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(digest >> (8 * (n - 1 - i)));
}

static uint32_t
get_digest(const uint8_t *p, uint8_t width)
{
	const size_t n = digest_bytes(width);
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

size_t
qlog_value_size(uint8_t t_r, uint8_t t_b, uint32_t item_count)
{
	return VALUE_HEAD + digest_bytes(t_r) + (size_t)item_count * digest_bytes(t_b);
}

void
qlog_value_encode_head(uint8_t *out, uint8_t hour, uint16_t status, uint8_t t_r, uint8_t t_b,
                       uint32_t item_count, uint32_t requester)
{
	if (t_r > QLOG_MAX_WIDTH || t_b > QLOG_MAX_WIDTH || item_count > QLOG_STORE_MAX_ITEMS)
		abort();
	out[0] = VALUE_VERSION;
	out[1] = hour;
	put_be16(out + 2, status);
	out[4] = t_r;
	out[5] = t_b;
	put_be16(out + 6, (uint16_t)item_count);
	put_digest(out + VALUE_HEAD, t_r, requester);
}

void
qlog_value_set_bucket(uint8_t *out, uint8_t t_r, uint8_t t_b, uint32_t index, uint32_t digest)
{
	put_digest(out + VALUE_HEAD + digest_bytes(t_r) + (size_t)index * digest_bytes(t_b), t_b,
	           digest);
}

static int
digest_fits(uint32_t digest, uint8_t width)
{
	return width >= 32 || digest >> width == 0;
}

veil_err
qlog_value_decode(const uint8_t *value, size_t len, qlog_entry *out)
{
	if (len < VALUE_HEAD || value[0] != VALUE_VERSION || value[1] > 23 ||
	    value[4] > QLOG_MAX_WIDTH || value[5] > QLOG_MAX_WIDTH)
		return VEIL_ERR_CORRUPT;
	const uint8_t t_r = value[4], t_b = value[5];
	const uint32_t count = get_be16(value + 6);
	if (len != qlog_value_size(t_r, t_b, count))
		return VEIL_ERR_CORRUPT;
	const uint32_t requester = get_digest(value + VALUE_HEAD, t_r);
	if (!digest_fits(requester, t_r))
		return VEIL_ERR_CORRUPT;
	const uint8_t *buckets = value + VALUE_HEAD + digest_bytes(t_r);
	for (uint32_t i = 0; i < count; i++)
		if (!digest_fits(get_digest(buckets + (size_t)i * digest_bytes(t_b), t_b), t_b))
			return VEIL_ERR_CORRUPT;
	out->hour = value[1];
	out->status = get_be16(value + 2);
	out->t_r = t_r;
	out->t_b = t_b;
	out->item_count = count;
	out->requester = requester;
	out->buckets = buckets;
	return VEIL_OK;
}

uint32_t
qlog_entry_bucket(const qlog_entry *entry, uint32_t index)
{
	if (index >= entry->item_count)
		abort();
	return get_digest(entry->buckets + (size_t)index * digest_bytes(entry->t_b), entry->t_b);
}

/* ------------------------------------------------------------------ */
/* The environment */

veil_err
qlog_store_open(const char *dir, int read_only, qlog_store **out)
{
	qlog_store *s = NULL;
	MDB_txn *txn = NULL;
	struct stat st;
	int rc;
	veil_err err;

	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (dir == NULL)
		return VEIL_ERR_ARGUMENT;
	if (read_only) {
		/* LMDB would create data.mdb; a reader must not. */
		const size_t need = strlen(dir) + sizeof("/data.mdb");
		char *path = malloc(need);
		if (path == NULL)
			return VEIL_ERR_NOMEM;
		snprintf(path, need, "%s/data.mdb", dir);
		rc = stat(path, &st);
		free(path);
		if (rc != 0)
			return errno == ENOENT ? VEIL_ERR_NOT_FOUND : VEIL_ERR_SYSTEM;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return VEIL_ERR_NOMEM;
	s->read_only = read_only;
	if ((rc = mdb_env_create(&s->env)) != 0) {
		free(s);
		return lmdb_err(rc);
	}
	if ((rc = mdb_env_set_maxdbs(s->env, MAX_DBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(s->env, MAP_SIZE)) != 0 ||
	    (rc = mdb_env_set_maxreaders(s->env, MAX_READERS)) != 0 ||
	    (rc = mdb_env_open(s->env, dir, MDB_NOTLS | (read_only ? MDB_RDONLY : 0), 0600)) != 0) {
		err = lmdb_err(rc);
		goto out;
	}
	/* Reader slots left by processes that died. */
	int dead = 0;
	mdb_reader_check(s->env, &dead);

	const unsigned flags = read_only ? 0 : MDB_CREATE;
	if ((rc = mdb_txn_begin(s->env, NULL, read_only ? MDB_RDONLY : 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, DB_ENTRIES, flags, &s->entries)) != 0 ||
	    (rc = mdb_dbi_open(txn, DB_META, flags, &s->meta)) != 0) {
		err = rc == MDB_NOTFOUND ? VEIL_ERR_CORRUPT : lmdb_err(rc);
		goto out;
	}
	MDB_val k = val_of(META_FORMAT, strlen(META_FORMAT)), v;
	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == MDB_NOTFOUND && !read_only) {
		v = val_of(QLOG_STORE_FORMAT, strlen(QLOG_STORE_FORMAT));
		rc = mdb_put(txn, s->meta, &k, &v, 0);
	} else if (rc == 0 && (v.mv_size != strlen(QLOG_STORE_FORMAT) ||
	                       memcmp(v.mv_data, QLOG_STORE_FORMAT, v.mv_size) != 0)) {
		rc = MDB_INCOMPATIBLE;
	}
	if (rc != 0) {
		err = rc == MDB_NOTFOUND ? VEIL_ERR_CORRUPT : lmdb_err(rc);
		goto out;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		err = lmdb_err(rc);
		goto out;
	}
	*out = s;
	s = NULL;
	err = VEIL_OK;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	qlog_store_close(s);
	return err;
}

void
qlog_store_close(qlog_store *s)
{
	if (s == NULL)
		return;
	mdb_env_close(s->env);
	free(s);
}

veil_err
qlog_store_write_config(qlog_store *s, const qlog_store_config *c)
{
	uint8_t b[CONFIG_SIZE];
	MDB_txn *txn = NULL;
	int rc;

	b[0] = CONFIG_VERSION;
	put_be64(b + 1, c->config.accounts);
	put_be64(b + 9, c->config.universe);
	put_be32(b + 17, c->config.k_r);
	put_be32(b + 21, c->config.k_b);
	b[25] = c->config.t_r;
	b[26] = c->config.t_b;
	b[27] = c->config.max_prefix_bits;
	put_be32(b + 28, c->config.entry_retention_days);
	put_be32(b + 32, c->config.salt_retention_days);
	b[36] = c->config.allow_long_retention ? 1 : 0;
	b[37] = c->t_r;
	b[38] = c->t_b;
	b[39] = 0;
	MDB_val k = val_of(META_CONFIG, strlen(META_CONFIG)), v = val_of(b, sizeof(b));
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		return lmdb_err(rc);
	if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		return lmdb_err(rc);
	}
	return lmdb_err(mdb_txn_commit(txn));
}

veil_err
qlog_store_read_config(qlog_store *s, qlog_store_config *out)
{
	MDB_txn *txn = NULL;
	MDB_val k = val_of(META_CONFIG, strlen(META_CONFIG)), v;
	veil_err err = VEIL_OK;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0)
		return lmdb_err(rc);
	if ((rc = mdb_get(txn, s->meta, &k, &v)) != 0) {
		err = lmdb_err(rc);
		goto out;
	}
	const uint8_t *b = v.mv_data;
	if (v.mv_size != CONFIG_SIZE || b[0] != CONFIG_VERSION || b[36] > 1 || b[39] != 0 ||
	    b[25] > QLOG_MAX_WIDTH || b[26] > QLOG_MAX_WIDTH || b[27] > QLOG_MAX_WIDTH ||
	    b[37] > QLOG_MAX_WIDTH || b[38] > QLOG_MAX_WIDTH) {
		err = VEIL_ERR_CORRUPT;
		goto out;
	}
	out->config.accounts = get_be64(b + 1);
	out->config.universe = get_be64(b + 9);
	out->config.k_r = get_be32(b + 17);
	out->config.k_b = get_be32(b + 21);
	out->config.t_r = b[25];
	out->config.t_b = b[26];
	out->config.max_prefix_bits = b[27];
	out->config.entry_retention_days = get_be32(b + 28);
	out->config.salt_retention_days = get_be32(b + 32);
	out->config.allow_long_retention = b[36];
	out->t_r = b[37];
	out->t_b = b[38];
	if (out->config.entry_retention_days < 1 || out->config.salt_retention_days < 1 ||
	    out->config.salt_retention_days > out->config.entry_retention_days)
		err = VEIL_ERR_CORRUPT;
out:
	mdb_txn_abort(txn);
	if (err != VEIL_OK)
		memset(out, 0, sizeof(*out));
	return err;
}

static int
read_dropped(MDB_txn *txn, MDB_dbi meta, uint64_t *out)
{
	MDB_val k = val_of(META_DROPPED, strlen(META_DROPPED)), v;
	*out = 0;
	int rc = mdb_get(txn, meta, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (v.mv_size != 8)
		return MDB_CORRUPTED;
	*out = get_be64(v.mv_data);
	return 0;
}

veil_err
qlog_store_read_dropped(qlog_store *s, uint64_t *out)
{
	MDB_txn *txn = NULL;
	int rc;

	*out = 0;
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0)
		return lmdb_err(rc);
	rc = read_dropped(txn, s->meta, out);
	mdb_txn_abort(txn);
	return lmdb_err(rc);
}

/* The next sequence number of day: one past its last entry, or 0. */
static int
next_seq(MDB_cursor *c, uint32_t day, uint64_t *seq)
{
	uint8_t key[KEY_SIZE];
	MDB_val k, v;
	int rc;

	*seq = 0;
	if (day == UINT32_MAX) {
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	} else {
		entry_key(key, day + 1, 0);
		k = val_of(key, sizeof(key));
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (rc == 0)
			rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
		else if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	}
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (k.mv_size != KEY_SIZE)
		return MDB_CORRUPTED;
	if (get_be32(k.mv_data) == day)
		*seq = get_be64((const uint8_t *)k.mv_data + 4) + 1;
	return 0;
}

veil_err
qlog_store_append(qlog_store *s, const qlog_pending *entries, size_t count, uint64_t add_dropped)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cursor = NULL;
	uint8_t key[KEY_SIZE], dropped_be[8];
	uint32_t day = 0;
	uint64_t seq = 0, dropped = 0;
	int have_day = 0;
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		return lmdb_err(rc);
	if ((rc = mdb_cursor_open(txn, s->entries, &cursor)) != 0)
		goto out;
	for (size_t i = 0; i < count; i++) {
		if (!have_day || entries[i].day != day) {
			day = entries[i].day;
			have_day = 1;
			if ((rc = next_seq(cursor, day, &seq)) != 0)
				goto out;
		}
		entry_key(key, day, seq++);
		MDB_val k = val_of(key, sizeof(key));
		MDB_val v = val_of(entries[i].value, entries[i].value_len);
		if ((rc = mdb_put(txn, s->entries, &k, &v, MDB_NOOVERWRITE)) != 0)
			goto out;
	}
	if (add_dropped > 0) {
		if ((rc = read_dropped(txn, s->meta, &dropped)) != 0)
			goto out;
		put_be64(dropped_be, dropped + add_dropped);
		MDB_val k = val_of(META_DROPPED, strlen(META_DROPPED));
		MDB_val v = val_of(dropped_be, sizeof(dropped_be));
		if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
			goto out;
	}
	mdb_cursor_close(cursor);
	cursor = NULL;
	rc = mdb_txn_commit(txn);
	txn = NULL;
out:
	if (cursor != NULL)
		mdb_cursor_close(cursor);
	if (txn != NULL)
		mdb_txn_abort(txn);
	return lmdb_err(rc);
}

veil_err
qlog_store_delete_before(qlog_store *s, uint32_t day, uint64_t *deleted)
{
	uint64_t total = 0;
	int rc = 0, more = 1;

	while (more) {
		MDB_txn *txn = NULL;
		MDB_cursor *cursor = NULL;
		MDB_val k, v;
		size_t n = 0;

		more = 0;
		if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
			break;
		if ((rc = mdb_cursor_open(txn, s->entries, &cursor)) != 0) {
			mdb_txn_abort(txn);
			break;
		}
		/* The oldest entry each time: deletes always come from the front. */
		while ((rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST)) == 0) {
			if (k.mv_size != KEY_SIZE) {
				rc = MDB_CORRUPTED;
				break;
			}
			if (get_be32(k.mv_data) >= day) {
				rc = MDB_NOTFOUND;
				break;
			}
			if (n == DELETE_CHUNK) {
				more = 1;
				rc = MDB_NOTFOUND;
				break;
			}
			if ((rc = mdb_cursor_del(cursor, 0)) != 0)
				break;
			n++;
		}
		mdb_cursor_close(cursor);
		if (rc != MDB_NOTFOUND) {
			mdb_txn_abort(txn);
			break;
		}
		if ((rc = mdb_txn_commit(txn)) != 0)
			break;
		total += n;
	}
	if (deleted != NULL)
		*deleted = total;
	return lmdb_err(rc);
}

veil_err
qlog_store_scan(qlog_store *s, uint32_t since, uint32_t until,
                veil_err (*fn)(void *arg, const qlog_entry *entry), void *arg)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cursor = NULL;
	uint8_t key[KEY_SIZE];
	MDB_val k, v;
	veil_err err = VEIL_OK;
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0)
		return lmdb_err(rc);
	if ((rc = mdb_cursor_open(txn, s->entries, &cursor)) != 0) {
		err = lmdb_err(rc);
		goto out;
	}
	entry_key(key, since, 0);
	k = val_of(key, sizeof(key));
	for (rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
		qlog_entry e;
		if (k.mv_size != KEY_SIZE) {
			err = VEIL_ERR_CORRUPT;
			goto out;
		}
		e.day = get_be32(k.mv_data);
		if (e.day > until)
			break;
		e.seq = get_be64((const uint8_t *)k.mv_data + 4);
		if ((err = qlog_value_decode(v.mv_data, v.mv_size, &e)) != VEIL_OK ||
		    (err = fn(arg, &e)) != VEIL_OK)
			goto out;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		err = lmdb_err(rc);
out:
	if (cursor != NULL)
		mdb_cursor_close(cursor);
	mdb_txn_abort(txn);
	return err;
}

#include "qlog_store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>
#include <sodium.h>

#include "lmdb_util.h"
#include "store_file.h"

/* The map is sparse: only pages in use take disk space. */
#define MAP_SIZE ((size_t)16 << 30)
#define MAX_DBS  4

#define DB_ENTRIES   "entries"
#define DB_META      "meta"
#define META_FORMAT  "format"
#define META_CONFIG  "config"
#define META_DROPPED "dropped"

#define KEY_SIZE      12
#define VALUE_VERSION 2
#define VALUE_V1      1 /* exact count, the client's order */
#define VALUE_HEAD    8

#define CONFIG_VERSION   1
/* version | accounts u64 | universe u64 | k_r u32 | k_b u32 | t_r u8 | t_b u8 |
 * max_prefix_bits u8 | entry_retention u32 | salt_retention u32 | allow_long u8 |
 * t_r in force u8 | t_b in force u8 | flags u8 (bit 0: anonymous, tokens mode; a log
 * written before the flag has 0 there) */
#define CONFIG_SIZE      40
#define CONFIG_ANONYMOUS 0x01

/* Deletions per write transaction during a sweep. */
#define DELETE_CHUNK 8192

struct qlog_store {
	MDB_env *env;
	MDB_dbi entries;
	MDB_dbi meta;
	int read_only;
};

static void
entry_key(uint8_t key[KEY_SIZE], uint32_t day, uint64_t id)
{
	put_be32(key, day);
	put_be64(key + 4, id);
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
	if (len < VALUE_HEAD || (value[0] != VALUE_VERSION && value[0] != VALUE_V1) ||
	    value[1] > 23 || value[4] > QLOG_MAX_WIDTH || value[5] > QLOG_MAX_WIDTH)
		return VEIL_ERR_CORRUPT;
	const uint8_t version = value[0], t_r = value[4], t_b = value[5];
	const uint32_t count = get_be16(value + 6);
	if (len != qlog_value_size(t_r, t_b, count) ||
	    (version == VALUE_VERSION && qlog_size_class(count) != count))
		return VEIL_ERR_CORRUPT;
	const uint32_t requester = get_digest(value + VALUE_HEAD, t_r);
	if (!digest_fits(requester, t_r))
		return VEIL_ERR_CORRUPT;
	const uint8_t *buckets = value + VALUE_HEAD + digest_bytes(t_r);
	uint32_t previous = 0;
	for (uint32_t i = 0; i < count; i++) {
		const uint32_t d = get_digest(buckets + (size_t)i * digest_bytes(t_b), t_b);
		/* Version 2 stores its digests ascending. */
		if (!digest_fits(d, t_b) || (version == VALUE_VERSION && d < previous))
			return VEIL_ERR_CORRUPT;
		previous = d;
	}
	out->version = version;
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

static int
is_format(const MDB_val *v, const char *format)
{
	return v->mv_size == strlen(format) && memcmp(v->mv_data, format, v->mv_size) == 0;
}

/* Opens the databases and checks (or, writing, makes or updates) meta "format". */
static veil_err
open_txn(void *arg, MDB_txn *txn)
{
	qlog_store *s = arg;
	const lmdb_db dbs[] = {{DB_ENTRIES, &s->entries}, {DB_META, &s->meta}};
	veil_err err = lmdb_dbs_open(txn, dbs, sizeof(dbs) / sizeof(dbs[0]),
	                             s->read_only ? 0 : MDB_CREATE);
	if (err != VEIL_OK)
		return err;
	MDB_val v;
	const int rc = lmdb_meta_get(txn, s->meta, META_FORMAT, &v);
	if (rc == MDB_NOTFOUND && !s->read_only)
		return lmdb_meta_put(txn, s->meta, META_FORMAT, QLOG_STORE_FORMAT,
		                     strlen(QLOG_STORE_FORMAT));
	if (rc != 0)
		return rc == MDB_NOTFOUND ? VEIL_ERR_CORRUPT : lmdb_err(rc);
	if (is_format(&v, QLOG_STORE_FORMAT))
		return VEIL_OK;
	if (!is_format(&v, QLOG_STORE_FORMAT_V1))
		return VEIL_ERR_CORRUPT;
	/* The older layout: read as it is; from now on written as the new one. */
	return s->read_only ? VEIL_OK
	                    : lmdb_meta_put(txn, s->meta, META_FORMAT, QLOG_STORE_FORMAT,
	                                    strlen(QLOG_STORE_FORMAT));
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
qlog_store_open(const char *dir, int read_only, qlog_store **out)
{
	qlog_store *s = NULL;
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
		char *path = store_file_join(dir, "data.mdb");
		if (path == NULL)
			return VEIL_ERR_NOMEM;
		rc = stat(path, &st);
		free(path);
		if (rc != 0)
			return errno == ENOENT ? VEIL_ERR_NOT_FOUND : VEIL_ERR_SYSTEM;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return VEIL_ERR_NOMEM;
	s->read_only = read_only;
	const unsigned flags = read_only ? MDB_RDONLY : 0;
	if ((rc = lmdb_env_open(dir, MAP_SIZE, MAX_DBS, flags, &s->env)) != 0)
		err = lmdb_err(rc);
	else
		err = lmdb_run(s->env, flags, open_txn, s);
	if (err != VEIL_OK) {
		qlog_store_close(s);
		return err;
	}
	*out = s;
	return VEIL_OK;
}

/* meta "config", and the buffer it is encoded in. */
typedef struct config_record {
	qlog_store *s;
	uint8_t b[CONFIG_SIZE];
} config_record;

static veil_err
config_put(void *arg, MDB_txn *txn)
{
	const config_record *r = arg;
	return lmdb_meta_put(txn, r->s->meta, META_CONFIG, r->b, sizeof(r->b));
}

veil_err
qlog_store_write_config(qlog_store *s, const qlog_store_config *c)
{
	config_record r = {.s = s};
	uint8_t *b = r.b;

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
	b[39] = c->config.anonymous ? CONFIG_ANONYMOUS : 0;
	return lmdb_run(s->env, 0, config_put, &r);
}

static veil_err
config_decode(void *arg, const MDB_val *v)
{
	qlog_store_config *out = arg;
	if (v == NULL)
		return VEIL_ERR_NOT_FOUND;
	const uint8_t *b = v->mv_data;
	if (v->mv_size != CONFIG_SIZE || b[0] != CONFIG_VERSION || b[36] > 1 ||
	    (b[39] & ~CONFIG_ANONYMOUS) != 0 || b[25] > QLOG_MAX_WIDTH || b[26] > QLOG_MAX_WIDTH ||
	    b[27] > QLOG_MAX_WIDTH || b[37] > QLOG_MAX_WIDTH || b[38] > QLOG_MAX_WIDTH)
		return VEIL_ERR_CORRUPT;
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
	out->config.anonymous = (b[39] & CONFIG_ANONYMOUS) != 0;
	out->t_r = b[37];
	out->t_b = b[38];
	if (out->config.entry_retention_days < 1 || out->config.salt_retention_days < 1 ||
	    out->config.salt_retention_days > out->config.entry_retention_days)
		return VEIL_ERR_CORRUPT;
	return VEIL_OK;
}

veil_err
qlog_store_read_config(qlog_store *s, qlog_store_config *out)
{
	memset(out, 0, sizeof(*out));
	veil_err err = lmdb_meta_read(s->env, s->meta, META_CONFIG, config_decode, out);
	if (err != VEIL_OK)
		memset(out, 0, sizeof(*out));
	return err;
}

/* meta "dropped": 0 when never written. */
static veil_err
dropped_decode(void *arg, const MDB_val *v)
{
	uint64_t *out = arg;
	*out = 0;
	if (v == NULL)
		return VEIL_OK;
	if (v->mv_size != 8)
		return VEIL_ERR_CORRUPT;
	*out = get_be64(v->mv_data);
	return VEIL_OK;
}

veil_err
qlog_store_read_dropped(qlog_store *s, uint64_t *out)
{
	*out = 0;
	return lmdb_meta_read(s->env, s->meta, META_DROPPED, dropped_decode, out);
}

/* What qlog_store_append() writes. */
typedef struct append {
	qlog_store *s;
	const qlog_pending *entries;
	size_t count;
	uint64_t add_dropped;
} append;

/* Stores value under day and a random id, drawing again while the key is taken. */
static int
put_random(MDB_txn *txn, MDB_dbi dbi, uint32_t day, MDB_val *v)
{
	uint8_t key[KEY_SIZE], id[8];
	int rc;
	do {
		randombytes_buf(id, sizeof(id));
		entry_key(key, day, get_be64(id));
		MDB_val k = val_of(key, sizeof(key));
		rc = mdb_put(txn, dbi, &k, v, MDB_NOOVERWRITE);
	} while (rc == MDB_KEYEXIST);
	return rc;
}

static veil_err
append_txn(void *arg, MDB_txn *txn)
{
	const append *a = arg;
	uint8_t dropped_be[8];
	uint64_t dropped = 0;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < a->count; i++) {
		MDB_val v = val_of(a->entries[i].value, a->entries[i].value_len);
		rc = put_random(txn, a->s->entries, a->entries[i].day, &v);
	}
	veil_err err = lmdb_err(rc);
	if (err != VEIL_OK || a->add_dropped == 0 ||
	    (err = lmdb_meta_decode(txn, a->s->meta, META_DROPPED, dropped_decode, &dropped)) !=
	            VEIL_OK)
		return err;
	put_be64(dropped_be, dropped + a->add_dropped);
	return lmdb_meta_put(txn, a->s->meta, META_DROPPED, dropped_be, sizeof(dropped_be));
}

veil_err
qlog_store_append(qlog_store *s, const qlog_pending *entries, size_t count, uint64_t add_dropped)
{
	append a = {s, entries, count, add_dropped};
	return lmdb_run(s->env, 0, append_txn, &a);
}

/* One transaction of qlog_store_delete_before(). */
typedef struct sweep {
	qlog_store *s;
	uint32_t day;
	size_t deleted; /* by the last transaction */
	int more;       /* the last transaction stopped at DELETE_CHUNK */
} sweep;

static veil_err
delete_txn(void *arg, MDB_txn *txn)
{
	sweep *d = arg;
	MDB_cursor *cursor = NULL;
	MDB_val k, v;

	d->deleted = 0;
	d->more = 0;
	int rc = mdb_cursor_open(txn, d->s->entries, &cursor);
	if (rc != 0)
		return lmdb_err(rc);
	/* The oldest entry each time: deletes always come from the front. */
	while ((rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST)) == 0) {
		if (k.mv_size != KEY_SIZE) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (get_be32(k.mv_data) >= d->day) {
			rc = MDB_NOTFOUND;
			break;
		}
		if (d->deleted == DELETE_CHUNK) {
			d->more = 1;
			rc = MDB_NOTFOUND;
			break;
		}
		if ((rc = mdb_cursor_del(cursor, 0)) != 0)
			break;
		d->deleted++;
	}
	mdb_cursor_close(cursor);
	return rc == MDB_NOTFOUND ? VEIL_OK : lmdb_err(rc);
}

veil_err
qlog_store_delete_before(qlog_store *s, uint32_t day, uint64_t *deleted)
{
	sweep d = {s, day, 0, 1};
	uint64_t total = 0;
	veil_err err = VEIL_OK;

	while (d.more && (err = lmdb_run(s->env, 0, delete_txn, &d)) == VEIL_OK)
		total += d.deleted;
	if (deleted != NULL)
		*deleted = total;
	return err;
}

/* A scan in progress (qlog_store_scan()). */
typedef struct scan {
	uint32_t until;
	veil_err (*fn)(void *arg, const qlog_entry *entry);
	void *arg;
} scan;

static veil_err
scan_one(void *arg, const MDB_val *k, const MDB_val *v, int *stop)
{
	const scan *sc = arg;
	qlog_entry e;
	if (k->mv_size != KEY_SIZE)
		return VEIL_ERR_CORRUPT;
	e.day = get_be32(k->mv_data);
	if (e.day > sc->until) {
		*stop = 1;
		return VEIL_OK;
	}
	e.id = get_be64((const uint8_t *)k->mv_data + 4);
	veil_err err = qlog_value_decode(v->mv_data, v->mv_size, &e);
	return err != VEIL_OK ? err : sc->fn(sc->arg, &e);
}

veil_err
qlog_store_scan(qlog_store *s, uint32_t since, uint32_t until,
                veil_err (*fn)(void *arg, const qlog_entry *entry), void *arg)
{
	scan sc = {until, fn, arg};
	uint8_t key[KEY_SIZE];
	entry_key(key, since, 0);
	const MDB_val from = val_of(key, sizeof(key));
	return lmdb_read_each(s->env, s->entries, &from, scan_one, &sc);
}

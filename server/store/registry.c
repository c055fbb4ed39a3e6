#include "registry.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "entry.h"
#include "lmdb_util.h"
#include "store_file.h"

/* The map is sparse: only pages in use take disk space. */
#define MAP_SIZE    ((size_t)16 << 30)
#define MAX_DBS     64
/* Index databases a registry keeps open: every key id seen live. */
#define MAX_INDEXES (MAX_DBS - 2)

#define RECORD_VERSION 1
/* version u8 | added u64 | payload_len u8 | payload */
#define RECORD_HEAD    10
#define RECORD_MAX     (RECORD_HEAD + ENTRY_MAX_PAYLOAD)
#define INDEX_KEY_MAX  (4 + ENTRY_MAX_TAG_SIZE)
#define OUTPUT_MAX     OPRF_MAX_HASH_SIZE

/* Handles a worker claims at a time. */
#define CHUNK            256
#define MAX_THREADS      256
/* Progress is reported this often (ns), and every this many records written. */
#define PROGRESS_NS      100000000L
#define PROGRESS_RECORDS 65536

#define DB_HANDLES     "handles"
#define DB_META        "meta"
#define META_FORMAT    "format"
#define META_TAG_LEN   "tag_len"
#define META_KEYS      "keys"
#define META_HANDLES   "handles"
#define META_PAYLOADS  "payloads"
#define META_MODE      "mode"
#define META_SUITE     "suite"
/* The longest RFC 9497 suite identifier a meta suite record may hold. */
#define SUITE_NAME_MAX 32

typedef struct index_dbi {
	uint32_t key_id;
	MDB_dbi dbi;
} index_dbi;

struct registry {
	MDB_env *env;
	char *path;
	MDB_dbi handles;
	MDB_dbi meta;
	/* Index databases opened so far; never closed before registry_free. */
	pthread_mutex_t lock;
	int lock_made;
	index_dbi indexes[MAX_INDEXES];
	size_t index_count;
	uint32_t max_per_bucket; /* registry_set_max_per_bucket() */
};

typedef struct reader_index {
	uint32_t key_id;
	MDB_dbi dbi;
	MDB_cursor *cursor;   /* NULL until first used */
	uint64_t cursor_snap; /* the snapshot the cursor was last renewed in */
} reader_index;

struct registry_reader {
	registry *reg;
	MDB_txn *txn; /* reset between begin and end */
	int active;
	uint64_t snap; /* counts begins */
	registry_view view;
	reader_index indexes[REGISTRY_MAX_KEYS];
	size_t index_count;
};

/* ------------------------------------------------------------------ */
/* Small helpers */

/* LMDB's default key order: bytes, then the shorter first. */
static int
key_cmp(const void *a, size_t a_len, const void *b, size_t b_len)
{
	int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
	if (c != 0)
		return c;
	return a_len < b_len ? -1 : a_len > b_len;
}

static void
index_name(char name[sizeof("index/00000000")], uint32_t key_id)
{
	snprintf(name, sizeof("index/00000000"), "index/%08x", key_id);
}

static void
slots_name(char name[sizeof("slots/00000000")], uint32_t key_id)
{
	snprintf(name, sizeof("slots/00000000"), "slots/%08x", key_id);
}

static unsigned
thread_count(unsigned asked)
{
	if (asked == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		asked = cpus < 1 ? 1 : (unsigned)(cpus > MAX_THREADS ? MAX_THREADS : cpus);
	}
	return asked > MAX_THREADS ? MAX_THREADS : asked;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Handle records: version u8 | added u64 | payload_len u8 | payload */

typedef struct handle_record {
	uint64_t added;
	const uint8_t *payload;
	size_t payload_len;
} handle_record;

static int
record_parse(const MDB_val *v, handle_record *out)
{
	const uint8_t *p = v->mv_data;
	if (v->mv_size < RECORD_HEAD || p[0] != RECORD_VERSION || p[9] > ENTRY_MAX_PAYLOAD ||
	    v->mv_size != RECORD_HEAD + (size_t)p[9])
		return -1;
	out->added = get_be64(p + 1);
	out->payload_len = p[9];
	out->payload = p + RECORD_HEAD;
	return 0;
}

static size_t
record_encode(uint8_t out[RECORD_MAX], uint64_t added, const uint8_t *payload, size_t payload_len)
{
	out[0] = RECORD_VERSION;
	put_be64(out + 1, added);
	out[9] = (uint8_t)payload_len;
	if (payload_len > 0)
		memcpy(out + RECORD_HEAD, payload, payload_len);
	return RECORD_HEAD + payload_len;
}

/* ------------------------------------------------------------------ */
/* Meta */

/* A meta record that must be there, of size bytes (any size when 0). */
static veil_err
meta_get(MDB_txn *txn, MDB_dbi meta, const char *name, size_t size, MDB_val *out)
{
	const int rc = lmdb_meta_get(txn, meta, name, out);
	if (rc == MDB_NOTFOUND)
		return VEIL_ERR_CORRUPT;
	if (rc != 0)
		return lmdb_err(rc);
	if (size != 0 && out->mv_size != size)
		return VEIL_ERR_CORRUPT;
	return VEIL_OK;
}

static veil_err
meta_read_slots(MDB_txn *txn, MDB_dbi meta, uint32_t key_id, uint32_t slots[REGISTRY_PREFIXES])
{
	char name[sizeof("slots/00000000")];
	MDB_val v;
	slots_name(name, key_id);
	veil_err err = meta_get(txn, meta, name, 4 * REGISTRY_PREFIXES, &v);
	if (err != VEIL_OK)
		return err;
	for (size_t p = 0; p < REGISTRY_PREFIXES; p++) {
		slots[p] = get_be32((const uint8_t *)v.mv_data + 4 * p);
		if (slots[p] < REGISTRY_SLOT_QUANTUM || slots[p] % REGISTRY_SLOT_QUANTUM != 0)
			return VEIL_ERR_CORRUPT;
	}
	return VEIL_OK;
}

static veil_err
meta_write_slots(MDB_txn *txn, MDB_dbi meta, uint32_t key_id,
                 const uint32_t slots[REGISTRY_PREFIXES])
{
	char name[sizeof("slots/00000000")];
	uint8_t raw[4 * REGISTRY_PREFIXES];
	slots_name(name, key_id);
	for (size_t p = 0; p < REGISTRY_PREFIXES; p++)
		put_be32(raw + 4 * p, slots[p]);
	return lmdb_meta_put(txn, meta, name, raw, sizeof(raw));
}

/*
 * The registry's suite: the meta suite record, or REGISTRY_DEFAULT_SUITE
 * when there is none (a registry made before suites were recorded). A
 * record that names no suite this build serves is VEIL_ERR_CORRUPT.
 */
static veil_err
meta_read_suite(MDB_txn *txn, MDB_dbi meta, const oprf_suite **suite)
{
	char name[SUITE_NAME_MAX + 1];
	MDB_val v;
	const int rc = lmdb_meta_get(txn, meta, META_SUITE, &v);
	if (rc == MDB_NOTFOUND) {
		*suite = oprf_suite_by_name(REGISTRY_DEFAULT_SUITE);
		return *suite != NULL ? VEIL_OK : VEIL_ERR_CORRUPT;
	}
	if (rc != 0)
		return lmdb_err(rc);
	if (v.mv_size == 0 || v.mv_size > SUITE_NAME_MAX)
		return VEIL_ERR_CORRUPT;
	memcpy(name, v.mv_data, v.mv_size);
	name[v.mv_size] = '\0';
	*suite = oprf_suite_by_name(name);
	return *suite != NULL ? VEIL_OK : VEIL_ERR_CORRUPT;
}

/* The view of a snapshot, slots of the current key included; zeroed on error. */
static veil_err
meta_read_view(MDB_txn *txn, MDB_dbi meta, registry_view *view)
{
	MDB_val v;
	veil_err err;

	memset(view, 0, sizeof(*view));
	if ((err = meta_get(txn, meta, META_FORMAT, 4, &v)) != VEIL_OK)
		goto out;
	if (get_be32(v.mv_data) != REGISTRY_FORMAT) {
		err = VEIL_ERR_CORRUPT;
		goto out;
	}
	if ((err = meta_get(txn, meta, META_TAG_LEN, 1, &v)) != VEIL_OK)
		goto out;
	view->tag_len = *(const uint8_t *)v.mv_data;
	if (view->tag_len < ENTRY_MIN_TAG_SIZE || view->tag_len > ENTRY_MAX_TAG_SIZE) {
		err = VEIL_ERR_CORRUPT;
		goto out;
	}
	if ((err = meta_get(txn, meta, META_MODE, 1, &v)) != VEIL_OK)
		goto out;
	view->mode = *(const uint8_t *)v.mv_data;
	if (view->mode != OPRF_MODE_OPRF && view->mode != OPRF_MODE_VOPRF) {
		err = VEIL_ERR_CORRUPT;
		goto out;
	}
	if ((err = meta_read_suite(txn, meta, &view->suite)) != VEIL_OK)
		goto out;
	if ((err = meta_get(txn, meta, META_KEYS, 0, &v)) != VEIL_OK)
		goto out;
	if (v.mv_size == 0 || v.mv_size % 4 != 0 || v.mv_size / 4 > REGISTRY_MAX_KEYS) {
		err = VEIL_ERR_CORRUPT;
		goto out;
	}
	view->key_count = (uint32_t)(v.mv_size / 4);
	for (uint32_t i = 0; i < view->key_count; i++) {
		view->key_ids[i] = get_be32((const uint8_t *)v.mv_data + 4 * i);
		for (uint32_t j = 0; j < i; j++)
			if (view->key_ids[j] == view->key_ids[i]) {
				err = VEIL_ERR_CORRUPT;
				goto out;
			}
	}
	if ((err = meta_get(txn, meta, META_HANDLES, 8, &v)) != VEIL_OK)
		goto out;
	view->handles = get_be64(v.mv_data);
	if ((err = meta_get(txn, meta, META_PAYLOADS, 8, &v)) != VEIL_OK)
		goto out;
	view->payloads = get_be64(v.mv_data);
	if (view->payloads > view->handles) {
		err = VEIL_ERR_CORRUPT;
		goto out;
	}
	err = meta_read_slots(txn, meta, view->key_ids[0], view->slots);
out:
	if (err != VEIL_OK)
		memset(view, 0, sizeof(*view));
	return err;
}

static veil_err
meta_write_counts(MDB_txn *txn, MDB_dbi meta, uint64_t handles, uint64_t payloads)
{
	uint8_t raw[8];
	veil_err err;
	put_be64(raw, handles);
	if ((err = lmdb_meta_put(txn, meta, META_HANDLES, raw, 8)) != VEIL_OK)
		return err;
	put_be64(raw, payloads);
	return lmdb_meta_put(txn, meta, META_PAYLOADS, raw, 8);
}

int
registry_view_has_key(const registry_view *view, uint32_t key_id)
{
	for (uint32_t i = 0; i < view->key_count; i++)
		if (view->key_ids[i] == key_id)
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Slots: one sorted scan tracking the run length of every prefix length */

typedef struct slot_counter {
	uint64_t entries;
	uint32_t previous;
	uint64_t run[REGISTRY_PREFIXES];
	uint64_t most[REGISTRY_PREFIXES];
} slot_counter;

static void
slot_counter_add(slot_counter *c, uint32_t bucket)
{
	/* Prefix lengths up to `same` continue the run; longer ones start anew. */
	unsigned same = 0;
	if (c->entries > 0) {
		uint32_t diff = bucket ^ c->previous;
		same = diff == 0 ? 32 : (unsigned)__builtin_clz(diff);
	}
	for (unsigned p = 0; p < REGISTRY_PREFIXES; p++) {
		if (c->entries > 0 && p <= same)
			c->run[p]++;
		else
			c->run[p] = 1;
		if (c->run[p] > c->most[p])
			c->most[p] = c->run[p];
	}
	c->previous = bucket;
	c->entries++;
}

static void
slot_counter_slots(const slot_counter *c, uint32_t slots[REGISTRY_PREFIXES])
{
	for (size_t p = 0; p < REGISTRY_PREFIXES; p++) {
		uint64_t s = (c->most[p] + REGISTRY_SLOT_QUANTUM - 1) / REGISTRY_SLOT_QUANTUM *
		             REGISTRY_SLOT_QUANTUM;
		if (s < REGISTRY_SLOT_QUANTUM)
			s = REGISTRY_SLOT_QUANTUM;
		slots[p] = s > UINT32_MAX ? UINT32_MAX - UINT32_MAX % REGISTRY_SLOT_QUANTUM
		                          : (uint32_t)s;
	}
}

/* An index scan in progress (index_scan()). */
typedef struct index_counter {
	size_t tag_len;
	slot_counter slots;
	uint64_t payloads;
} index_counter;

static veil_err
index_count_one(void *arg, const MDB_val *k, const MDB_val *v, int *stop)
{
	index_counter *c = arg;
	(void)stop;
	if (k->mv_size != 4 + c->tag_len ||
	    (v->mv_size != 0 && v->mv_size != ENTRY_SEALED_PAYLOAD_SIZE))
		return VEIL_ERR_CORRUPT;
	slot_counter_add(&c->slots, get_be32(k->mv_data));
	c->payloads += v->mv_size != 0;
	return VEIL_OK;
}

/*
 * Scans an index: its slots, entry counts and (when most is not NULL) the
 * most entries any one 32-bit bucket holds. Key sizes are checked.
 */
static veil_err
index_scan(MDB_txn *txn, MDB_dbi dbi, size_t tag_len, uint32_t slots[REGISTRY_PREFIXES],
           uint64_t *entries, uint64_t *with_payload, uint64_t *most)
{
	index_counter counter;

	memset(&counter, 0, sizeof(counter));
	counter.tag_len = tag_len;
	veil_err err = lmdb_each(txn, dbi, NULL, index_count_one, &counter);
	if (err != VEIL_OK)
		return err;
	slot_counter_slots(&counter.slots, slots);
	if (entries != NULL)
		*entries = counter.slots.entries;
	if (with_payload != NULL)
		*with_payload = counter.payloads;
	if (most != NULL)
		*most = counter.slots.most[REGISTRY_PREFIXES - 1];
	return VEIL_OK;
}

/* ------------------------------------------------------------------ */
/* Opening */

static veil_err
env_open(const char *path, MDB_env **out)
{
	const int rc = lmdb_env_open(path, MAP_SIZE, MAX_DBS, 0, out);
	return rc == ENOENT ? VEIL_ERR_NOT_FOUND : lmdb_err(rc);
}

static char *
parent_of(const char *path)
{
	char *copy = strdup(path);
	if (copy == NULL)
		return NULL;
	size_t n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	char *slash = strrchr(copy, '/');
	if (slash == NULL) {
		free(copy);
		return strdup(".");
	}
	if (slash == copy)
		slash[1] = '\0';
	else
		*slash = '\0';
	return copy;
}

static void
remove_env_files(const char *path)
{
	static const char *const names[] = {"data.mdb", "lock.mdb"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *p = store_file_join(path, names[i]);
		if (p != NULL)
			unlink(p);
		free(p);
	}
	rmdir(path);
}

/* Makes the databases of a new registry, and writes the meta of its first view. */
static veil_err
create_txn(void *arg, MDB_txn *txn)
{
	const registry_view *view = arg;
	const uint32_t key_id = view->key_ids[0];
	MDB_dbi handles, meta, index;
	char name[sizeof("index/00000000")];
	uint8_t raw[8];
	veil_err err;

	index_name(name, key_id);
	const lmdb_db dbs[] = {{DB_HANDLES, &handles}, {DB_META, &meta}, {name, &index}};
	if ((err = lmdb_dbs_open(txn, dbs, sizeof(dbs) / sizeof(dbs[0]), MDB_CREATE)) != VEIL_OK)
		return err;
	put_be32(raw, REGISTRY_FORMAT);
	if ((err = lmdb_meta_put(txn, meta, META_FORMAT, raw, 4)) != VEIL_OK ||
	    (err = lmdb_meta_put(txn, meta, META_TAG_LEN, &view->tag_len, 1)) != VEIL_OK ||
	    (err = lmdb_meta_put(txn, meta, META_MODE, &view->mode, 1)) != VEIL_OK)
		return err;
	const char *suite = oprf_suite_name(view->suite);
	if ((err = lmdb_meta_put(txn, meta, META_SUITE, suite, strlen(suite))) != VEIL_OK)
		return err;
	put_be32(raw, key_id);
	if ((err = lmdb_meta_put(txn, meta, META_KEYS, raw, 4)) != VEIL_OK ||
	    (err = meta_write_counts(txn, meta, view->handles, view->payloads)) != VEIL_OK)
		return err;
	return meta_write_slots(txn, meta, key_id, view->slots);
}

veil_err
registry_create(const char *path, uint8_t tag_len, uint32_t key_id, uint8_t mode,
                const oprf_suite *suite)
{
	MDB_env *env = NULL;
	char *parent = NULL;
	int made = 0;
	veil_err err;

	if (path == NULL || path[0] == '\0' || tag_len < ENTRY_MIN_TAG_SIZE ||
	    tag_len > ENTRY_MAX_TAG_SIZE || (mode != OPRF_MODE_OPRF && mode != OPRF_MODE_VOPRF) ||
	    suite == NULL || strlen(oprf_suite_name(suite)) > SUITE_NAME_MAX)
		return VEIL_ERR_ARGUMENT;
	if (mkdir(path, 0700) != 0) {
		err = errno == EEXIST ? VEIL_ERR_EXISTS : VEIL_ERR_SYSTEM;
		goto out;
	}
	made = 1;
	/* One key, no handles, the least slots. */
	registry_view view = {.tag_len = tag_len, .mode = mode, .suite = suite, .key_count = 1};
	view.key_ids[0] = key_id;
	for (size_t p = 0; p < REGISTRY_PREFIXES; p++)
		view.slots[p] = REGISTRY_SLOT_QUANTUM;
	if ((err = env_open(path, &env)) != VEIL_OK ||
	    (err = lmdb_run(env, 0, create_txn, &view)) != VEIL_OK)
		goto out;
	/* The new directory's entry, and what is in it, survive a crash. */
	if ((parent = parent_of(path)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	if (store_file_sync_dir(path) != VEIL_OK || store_file_sync_dir(parent) != VEIL_OK)
		err = VEIL_ERR_SYSTEM;
out:
	if (env != NULL)
		mdb_env_close(env);
	if (err != VEIL_OK && made)
		remove_env_files(path);
	free(parent);
	return err;
}

static veil_err
dbs_open_txn(void *arg, MDB_txn *txn)
{
	return lmdb_dbs_open(txn, arg, 1, 0);
}

/* The index database of key_id, opening it when this registry has not yet. */
static veil_err
registry_index(registry *reg, uint32_t key_id, MDB_dbi *out)
{
	veil_err err = VEIL_OK;
	char name[sizeof("index/00000000")];

	pthread_mutex_lock(&reg->lock);
	for (size_t i = 0; i < reg->index_count; i++)
		if (reg->indexes[i].key_id == key_id) {
			*out = reg->indexes[i].dbi;
			goto out;
		}
	if (reg->index_count == MAX_INDEXES) {
		err = VEIL_ERR_LIMIT;
		goto out;
	}
	/*
	 * A handle opened in a read transaction becomes shared once that
	 * transaction commits; the mutex keeps this the only transaction of
	 * the process opening one.
	 */
	index_name(name, key_id);
	MDB_dbi dbi;
	lmdb_db db = {name, &dbi};
	if ((err = lmdb_run(reg->env, MDB_RDONLY, dbs_open_txn, &db)) != VEIL_OK)
		goto out;
	reg->indexes[reg->index_count].key_id = key_id;
	reg->indexes[reg->index_count].dbi = dbi;
	reg->index_count++;
	*out = dbi;
out:
	pthread_mutex_unlock(&reg->lock);
	return err;
}

/* Whether key_id's index is open, without opening it. */
static int
registry_index_known(registry *reg, uint32_t key_id, MDB_dbi *out)
{
	int found = 0;
	pthread_mutex_lock(&reg->lock);
	for (size_t i = 0; i < reg->index_count && !found; i++)
		if (reg->indexes[i].key_id == key_id) {
			*out = reg->indexes[i].dbi;
			found = 1;
		}
	pthread_mutex_unlock(&reg->lock);
	return found;
}

/* Opens the index of every key id view lists. */
static veil_err
registry_open_indexes(registry *reg, const registry_view *view)
{
	for (uint32_t i = 0; i < view->key_count; i++) {
		MDB_dbi dbi;
		veil_err err = registry_index(reg, view->key_ids[i], &dbi);
		if (err != VEIL_OK)
			return err;
	}
	return VEIL_OK;
}

/* What registry_open() reads in its first transaction: the handles and the view. */
typedef struct opening {
	registry *reg;
	registry_view view;
} opening;

static veil_err
open_txn(void *arg, MDB_txn *txn)
{
	opening *o = arg;
	const lmdb_db dbs[] = {{DB_HANDLES, &o->reg->handles}, {DB_META, &o->reg->meta}};
	veil_err err = lmdb_dbs_open(txn, dbs, sizeof(dbs) / sizeof(dbs[0]), 0);
	return err != VEIL_OK ? err : meta_read_view(txn, o->reg->meta, &o->view);
}

veil_err
registry_copy_compact(registry *reg, int fd)
{
	if (reg == NULL || fd < 0)
		return VEIL_ERR_ARGUMENT;
	const int rc = mdb_env_copyfd2(reg->env, fd, MDB_CP_COMPACT);
	if (rc != 0)
		return rc == ENOMEM ? VEIL_ERR_NOMEM : VEIL_ERR_SYSTEM;
	return fsync(fd) == 0 ? VEIL_OK : VEIL_ERR_SYSTEM;
}

void
registry_free(registry *reg)
{
	if (reg == NULL)
		return;
	mdb_env_close(reg->env); /* NULL when the open failed before it */
	if (reg->lock_made)
		pthread_mutex_destroy(&reg->lock);
	free(reg->path);
	free(reg);
}

int
registry_is_at(const registry *reg, const char *path)
{
	int fd = -1;
	struct stat open_st, named_st;
	if (reg == NULL || path == NULL)
		return -1;
	char *data = store_file_join(path, "data.mdb");
	if (data == NULL)
		return -1;
	int at = -1;
	if (mdb_env_get_fd(reg->env, &fd) == 0 && fstat(fd, &open_st) == 0)
		at = stat(data, &named_st) == 0 && named_st.st_dev == open_st.st_dev &&
		     named_st.st_ino == open_st.st_ino;
	free(data);
	return at;
}

veil_err
registry_open(const char *path, registry **out)
{
	registry *reg = NULL;
	opening o;
	struct stat st;
	char *data = NULL;
	veil_err err;

	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (path == NULL)
		return VEIL_ERR_ARGUMENT;
	/* LMDB would make a new, empty environment in an empty directory. */
	if ((data = store_file_join(path, "data.mdb")) == NULL)
		return VEIL_ERR_NOMEM;
	if (stat(data, &st) != 0) {
		err = errno == ENOENT || errno == ENOTDIR ? VEIL_ERR_NOT_FOUND : VEIL_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = VEIL_ERR_CORRUPT;
		goto out;
	}
	if ((reg = calloc(1, sizeof(*reg))) == NULL || (reg->path = strdup(path)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	if (pthread_mutex_init(&reg->lock, NULL) != 0) {
		err = VEIL_ERR_SYSTEM;
		goto out;
	}
	reg->lock_made = 1;
	reg->max_per_bucket = REGISTRY_MAX_PER_BUCKET;
	o.reg = reg;
	/* Committed, so that the handles opened in it stay open. */
	if ((err = env_open(path, &reg->env)) != VEIL_OK ||
	    (err = lmdb_run(reg->env, MDB_RDONLY, open_txn, &o)) != VEIL_OK ||
	    (err = registry_open_indexes(reg, &o.view)) != VEIL_OK)
		goto out;
	*out = reg;
	reg = NULL;
out:
	registry_free(reg);
	free(data);
	return err;
}

veil_err
registry_set_max_per_bucket(registry *reg, uint32_t cap)
{
	if (reg == NULL || cap < 1 || cap > REGISTRY_MAX_PER_BUCKET)
		return VEIL_ERR_ARGUMENT;
	reg->max_per_bucket = cap;
	return VEIL_OK;
}

/* ------------------------------------------------------------------ */
/* Readers */

veil_err
registry_reader_new(registry *reg, registry_reader **out)
{
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (reg == NULL)
		return VEIL_ERR_ARGUMENT;
	registry_reader *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return VEIL_ERR_NOMEM;
	r->reg = reg;
	int rc = mdb_txn_begin(reg->env, NULL, MDB_RDONLY, &r->txn);
	if (rc != 0) {
		free(r);
		return lmdb_err(rc);
	}
	mdb_txn_reset(r->txn);
	*out = r;
	return VEIL_OK;
}

void
registry_reader_end(registry_reader *r)
{
	if (r == NULL || !r->active)
		return;
	mdb_txn_reset(r->txn);
	r->active = 0;
}

void
registry_reader_free(registry_reader *r)
{
	if (r == NULL)
		return;
	registry_reader_end(r);
	for (size_t i = 0; i < r->index_count; i++)
		mdb_cursor_close(r->indexes[i].cursor);
	mdb_txn_abort(r->txn);
	free(r);
}

/* Drops cached indexes of keys no longer live; 0 when a live one is unknown. */
static int
reader_sync_indexes(registry_reader *r, const registry_view *view)
{
	size_t kept = 0;
	for (size_t i = 0; i < r->index_count; i++) {
		if (registry_view_has_key(view, r->indexes[i].key_id))
			r->indexes[kept++] = r->indexes[i];
		else
			mdb_cursor_close(r->indexes[i].cursor);
	}
	r->index_count = kept;
	for (uint32_t i = 0; i < view->key_count; i++) {
		size_t j = 0;
		while (j < r->index_count && r->indexes[j].key_id != view->key_ids[i])
			j++;
		if (j < r->index_count)
			continue;
		MDB_dbi dbi;
		if (!registry_index_known(r->reg, view->key_ids[i], &dbi))
			return 0;
		reader_index *ri = &r->indexes[r->index_count++];
		memset(ri, 0, sizeof(*ri));
		ri->key_id = view->key_ids[i];
		ri->dbi = dbi;
	}
	return 1;
}

veil_err
registry_reader_begin(registry_reader *r, registry_view *view)
{
	veil_err err = VEIL_ERR_CORRUPT;

	if (view != NULL)
		memset(view, 0, sizeof(*view));
	if (r == NULL || view == NULL)
		return VEIL_ERR_ARGUMENT;
	registry_reader_end(r);
	/*
	 * A snapshot can list a key whose index this process has not opened
	 * (rotated in by another process). Handles opened after a transaction
	 * began are invisible to it, so open them and start over.
	 */
	for (int attempt = 0; attempt < 3; attempt++) {
		int rc = mdb_txn_renew(r->txn);
		if (rc != 0)
			return lmdb_err(rc);
		if ((err = meta_read_view(r->txn, r->reg->meta, &r->view)) != VEIL_OK)
			break;
		if (reader_sync_indexes(r, &r->view)) {
			r->active = 1;
			r->snap++;
			*view = r->view;
			return VEIL_OK;
		}
		mdb_txn_reset(r->txn);
		if ((err = registry_open_indexes(r->reg, &r->view)) != VEIL_OK)
			return err;
		err = VEIL_ERR_CORRUPT;
	}
	mdb_txn_reset(r->txn);
	memset(&r->view, 0, sizeof(r->view));
	return err;
}

veil_err
registry_reader_slots(registry_reader *r, uint32_t key_id, uint32_t slots[REGISTRY_PREFIXES])
{
	if (slots == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(slots, 0, 4 * REGISTRY_PREFIXES);
	if (r == NULL || !r->active)
		return VEIL_ERR_ARGUMENT;
	if (!registry_view_has_key(&r->view, key_id))
		return VEIL_ERR_NOT_FOUND;
	if (key_id == r->view.key_ids[0]) {
		memcpy(slots, r->view.slots, sizeof(r->view.slots));
		return VEIL_OK;
	}
	veil_err err = meta_read_slots(r->txn, r->reg->meta, key_id, slots);
	if (err != VEIL_OK)
		memset(slots, 0, 4 * REGISTRY_PREFIXES);
	return err;
}

veil_err
registry_reader_bucket(registry_reader *r, uint32_t key_id, uint32_t prefix, unsigned prefix_bits,
                       size_t payload_size, uint8_t *out, size_t max_entries, size_t *count)
{
	reader_index *ri = NULL;
	MDB_val k, v;
	uint8_t start[4];
	size_t n = 0;
	veil_err err = VEIL_OK;
	int rc;

	if (count == NULL)
		return VEIL_ERR_ARGUMENT;
	*count = 0;
	if (r == NULL || !r->active || prefix_bits > 32 ||
	    entry_prefix(prefix, prefix_bits) != prefix ||
	    (payload_size != 0 && payload_size != ENTRY_SEALED_PAYLOAD_SIZE) ||
	    (out == NULL && max_entries != 0))
		return VEIL_ERR_ARGUMENT;
	for (size_t i = 0; i < r->index_count && ri == NULL; i++)
		if (r->indexes[i].key_id == key_id)
			ri = &r->indexes[i];
	if (ri == NULL)
		return VEIL_ERR_NOT_FOUND;
	if (ri->cursor == NULL) {
		if ((rc = mdb_cursor_open(r->txn, ri->dbi, &ri->cursor)) != 0)
			return lmdb_err(rc);
		ri->cursor_snap = r->snap;
	} else if (ri->cursor_snap != r->snap) {
		if ((rc = mdb_cursor_renew(r->txn, ri->cursor)) != 0)
			return lmdb_err(rc);
		ri->cursor_snap = r->snap;
	}

	const size_t tag_len = r->view.tag_len;
	const size_t entry_size = tag_len + payload_size;
	const uint32_t mask = prefix_bits == 0 ? 0 : UINT32_MAX << (32 - prefix_bits);
	put_be32(start, prefix);
	k.mv_size = sizeof(start);
	k.mv_data = start;
	for (rc = mdb_cursor_get(ri->cursor, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(ri->cursor, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 4 + tag_len) {
			err = VEIL_ERR_CORRUPT;
			goto out;
		}
		if ((get_be32(k.mv_data) & mask) != prefix)
			break;
		if (n == max_entries) {
			err = VEIL_ERR_LIMIT;
			goto out;
		}
		uint8_t *entry = out + n * entry_size;
		memcpy(entry, (const uint8_t *)k.mv_data + 4, tag_len);
		if (payload_size != 0) {
			if (v.mv_size == ENTRY_SEALED_PAYLOAD_SIZE)
				memcpy(entry + tag_len, v.mv_data, payload_size);
			else if (v.mv_size == 0)
				randombytes_buf(entry + tag_len, payload_size);
			else {
				err = VEIL_ERR_CORRUPT;
				goto out;
			}
		}
		n++;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		err = lmdb_err(rc);
out:
	if (err == VEIL_OK)
		*count = n;
	return err;
}

/* ------------------------------------------------------------------ */
/* A pool of worker threads over the range 0..n, in chunks */

typedef veil_err work_fn(void *ctx, size_t begin, size_t end);

typedef struct pool {
	work_fn *fn;
	void *ctx;
	size_t n;
	atomic_size_t next;
	atomic_size_t done;
	atomic_int error; /* the first veil_err a chunk returned */
	pthread_mutex_t lock;
	pthread_cond_t finished;
	unsigned running;
} pool;

static void
pool_work(pool *p)
{
	for (;;) {
		if (atomic_load(&p->error) != VEIL_OK)
			return;
		size_t begin = atomic_fetch_add(&p->next, CHUNK);
		if (begin >= p->n)
			return;
		size_t end = p->n - begin < CHUNK ? p->n : begin + CHUNK;
		veil_err err = p->fn(p->ctx, begin, end);
		if (err != VEIL_OK) {
			int expected = VEIL_OK;
			atomic_compare_exchange_strong(&p->error, &expected, (int)err);
		}
		atomic_fetch_add(&p->done, end - begin);
	}
}

static void *
pool_thread(void *arg)
{
	pool *p = arg;
	pool_work(p);
	pthread_mutex_lock(&p->lock);
	p->running--;
	pthread_cond_signal(&p->finished);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/*
 * Runs fn over 0..n on up to threads threads, reporting progress from the
 * calling thread. With one thread, or when no thread can be started, the
 * calling thread does the work itself.
 */
static veil_err
pool_run(work_fn *fn, void *ctx, size_t n, unsigned threads, registry_progress_fn *progress,
         void *progress_arg, registry_stage stage)
{
	pool p;
	pthread_t ids[MAX_THREADS];
	unsigned started = 0;

	memset(&p, 0, sizeof(p));
	p.fn = fn;
	p.ctx = ctx;
	p.n = n;
	atomic_init(&p.next, 0);
	atomic_init(&p.done, 0);
	atomic_init(&p.error, VEIL_OK);
	if (progress != NULL)
		progress(progress_arg, stage, 0, n);
	if (threads > (n + CHUNK - 1) / CHUNK)
		threads = (unsigned)((n + CHUNK - 1) / CHUNK);
	if (threads > 1 && pthread_mutex_init(&p.lock, NULL) == 0) {
		if (pthread_cond_init(&p.finished, NULL) == 0) {
			pthread_mutex_lock(&p.lock);
			for (; started < threads; started++) {
				p.running++;
				if (pthread_create(&ids[started], NULL, pool_thread, &p) != 0) {
					p.running--;
					break;
				}
			}
			while (p.running > 0) {
				struct timespec until;
				clock_gettime(CLOCK_REALTIME, &until);
				until.tv_nsec += PROGRESS_NS;
				if (until.tv_nsec >= 1000000000L) {
					until.tv_sec++;
					until.tv_nsec -= 1000000000L;
				}
				pthread_cond_timedwait(&p.finished, &p.lock, &until);
				if (progress != NULL && p.running > 0) {
					pthread_mutex_unlock(&p.lock);
					progress(progress_arg, stage, atomic_load(&p.done), n);
					pthread_mutex_lock(&p.lock);
				}
			}
			pthread_mutex_unlock(&p.lock);
			for (unsigned i = 0; i < started; i++)
				pthread_join(ids[i], NULL);
			pthread_cond_destroy(&p.finished);
		}
		pthread_mutex_destroy(&p.lock);
	}
	/* Whatever no thread took (none started, or one thread asked). */
	pool_work(&p);
	if (progress != NULL && atomic_load(&p.error) == VEIL_OK)
		progress(progress_arg, stage, n, n);
	return (veil_err)atomic_load(&p.error);
}

/* ------------------------------------------------------------------ */
/* Sorting index arrays with a context (C17 has no qsort_r) */

typedef int index_cmp_fn(const void *ctx, uint32_t a, uint32_t b);

/* Stable bottom-up merge sort of a[0..n); tmp holds n values. */
static void
merge_sort(uint32_t *a, uint32_t *tmp, size_t n, index_cmp_fn *cmp, const void *ctx)
{
	/* Runs of 16 by insertion sort first: fewer passes, fewer misses. */
	const size_t run = 16;
	for (size_t lo = 0; lo < n; lo += run) {
		size_t hi = n - lo < run ? n : lo + run;
		for (size_t i = lo + 1; i < hi; i++) {
			uint32_t x = a[i];
			size_t j = i;
			while (j > lo && cmp(ctx, a[j - 1], x) > 0) {
				a[j] = a[j - 1];
				j--;
			}
			a[j] = x;
		}
	}
	uint32_t *src = a, *dst = tmp;
	for (size_t width = run; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = n - lo < width ? n : lo + width;
			size_t hi = n - lo < 2 * width ? n : lo + 2 * width;
			size_t i = lo, j = mid, o = lo;
			while (i < mid && j < hi)
				dst[o++] = cmp(ctx, src[j], src[i]) < 0 ? src[j++] : src[i++];
			while (i < mid)
				dst[o++] = src[i++];
			while (j < hi)
				dst[o++] = src[j++];
		}
		uint32_t *swap = src;
		src = dst;
		dst = swap;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
}

static int
record_order(const void *ctx, uint32_t a, uint32_t b)
{
	const registry_record *records = ctx;
	return key_cmp(records[a].handle, records[a].handle_len, records[b].handle,
	               records[b].handle_len);
}

/* ------------------------------------------------------------------ */
/* Writers */

typedef struct writer {
	registry *reg;
	MDB_txn *txn;
	registry_view view;
	MDB_dbi index[REGISTRY_MAX_KEYS];
	const oprf_key *key[REGISTRY_MAX_KEYS];
	oprf_ctx *ctx;
} writer;

static veil_err
check_keys(const registry_key *keys, size_t key_count, const oprf_suite *suite)
{
	if (keys == NULL && key_count != 0)
		return VEIL_ERR_ARGUMENT;
	for (size_t i = 0; i < key_count; i++)
		if (keys[i].key == NULL || (suite != NULL && oprf_key_suite(keys[i].key) != suite))
			return VEIL_ERR_ARGUMENT;
	return VEIL_OK;
}

static void
writer_abort(writer *w)
{
	if (w->txn != NULL)
		mdb_txn_abort(w->txn);
	w->txn = NULL;
	oprf_ctx_free(w->ctx);
	w->ctx = NULL;
}

/*
 * Begins the write transaction: the meta of the state it starts from, the
 * index and key of every live key id. The write lock is held from here to
 * commit or abort, so the computation in between sees no other writer.
 */
static veil_err
writer_begin(registry *reg, const registry_key *keys, size_t key_count, writer *w)
{
	veil_err err;

	memset(w, 0, sizeof(*w));
	w->reg = reg;
	if (reg == NULL)
		return VEIL_ERR_ARGUMENT;
	if ((err = check_keys(keys, key_count, NULL)) != VEIL_OK)
		return err;
	for (int attempt = 0; attempt < 3; attempt++) {
		int rc = mdb_txn_begin(reg->env, NULL, 0, &w->txn);
		if (rc != 0) {
			w->txn = NULL;
			err = lmdb_err(rc);
			goto out;
		}
		if ((err = meta_read_view(w->txn, reg->meta, &w->view)) != VEIL_OK)
			goto out;
		/* Entries are made in the registry's suite and mode (entry.h). */
		if ((err = check_keys(keys, key_count, w->view.suite)) != VEIL_OK)
			goto out;
		oprf_ctx_free(w->ctx);
		w->ctx = NULL;
		if ((err = oprf_ctx_new(w->view.suite, (oprf_mode)w->view.mode, &w->ctx)) !=
		    VEIL_OK)
			goto out;
		int known = 1;
		for (uint32_t i = 0; i < w->view.key_count; i++) {
			const uint32_t id = w->view.key_ids[i];
			known &= registry_index_known(reg, id, &w->index[i]);
			w->key[i] = NULL;
			for (size_t j = 0; j < key_count && w->key[i] == NULL; j++)
				if (keys[j].id == id)
					w->key[i] = keys[j].key;
			if (w->key[i] == NULL) {
				err = VEIL_ERR_NOT_FOUND;
				goto out;
			}
		}
		if (known)
			return VEIL_OK;
		/* A key rotated in elsewhere: open its index outside this txn. */
		registry_view view = w->view;
		mdb_txn_abort(w->txn);
		w->txn = NULL;
		if ((err = registry_open_indexes(reg, &view)) != VEIL_OK)
			goto out;
	}
	err = VEIL_ERR_CORRUPT;
out:
	writer_abort(w);
	return err;
}

/*
 * Recomputes the slots of every live key, writes counts, and commits.
 * With cap > 0, refuses (VEIL_ERR_LIMIT, *crowded set to the count) when
 * a bucket holds more than cap entries; buckets are the same under every
 * key, so the first index tells.
 */
static veil_err
writer_commit(writer *w, uint64_t handles, uint64_t payloads, uint32_t cap, uint64_t *crowded)
{
	veil_err err;
	for (uint32_t i = 0; i < w->view.key_count; i++) {
		uint32_t slots[REGISTRY_PREFIXES];
		uint64_t entries, most = 0;
		if ((err = index_scan(w->txn, w->index[i], w->view.tag_len, slots, &entries, NULL,
		                      &most)) != VEIL_OK)
			goto out;
		if (cap > 0 && most > cap) {
			*crowded = most;
			err = VEIL_ERR_LIMIT;
			goto out;
		}
		if ((err = meta_write_slots(w->txn, w->reg->meta, w->view.key_ids[i], slots)) !=
		    VEIL_OK)
			goto out;
		if (entries != handles) {
			err = VEIL_ERR_CORRUPT;
			goto out;
		}
	}
	if ((err = meta_write_counts(w->txn, w->reg->meta, handles, payloads)) != VEIL_OK)
		goto out;
	err = lmdb_commit(&w->txn);
out:
	writer_abort(w);
	return err;
}

/* y = F(k, handle), then bucket || tag into key_out (4 + tag_len bytes). */
static veil_err
index_key_of(const oprf_ctx *ctx, const oprf_key *key, const char *handle, size_t handle_len,
             uint32_t bucket, size_t tag_len, uint8_t *key_out, uint8_t y[OUTPUT_MAX])
{
	veil_err err = oprf_evaluate(ctx, key, NULL, 0, (const uint8_t *)handle, handle_len, y);
	if (err != VEIL_OK)
		return err;
	put_be32(key_out, bucket);
	return entry_tag(y, oprf_suite_output_size(oprf_ctx_suite(ctx)), key_out + 4, tag_len);
}

/* What the import computes, indexed by position in the sorted, deduplicated batch. */
typedef struct import_job {
	const registry_record *records;
	const uint32_t *order; /* unique records, by handle */
	size_t n;
	const oprf_ctx *ctx;
	size_t output_size;
	size_t tag_len;
	uint32_t key_count;
	const oprf_key *keys[REGISTRY_MAX_KEYS];
	uint32_t *buckets;                  /* n */
	uint8_t *tags[REGISTRY_MAX_KEYS];   /* n * tag_len */
	uint8_t *sealed[REGISTRY_MAX_KEYS]; /* payload_count * ENTRY_SEALED_PAYLOAD_SIZE */
	uint32_t *payload_slot;             /* n: index in sealed, or UINT32_MAX */
} import_job;

static veil_err
import_compute(void *arg, size_t begin, size_t end)
{
	import_job *job = arg;
	uint8_t y[OUTPUT_MAX];
	veil_err err = VEIL_OK;

	for (size_t i = begin; i < end; i++) {
		const registry_record *rec = &job->records[job->order[i]];
		job->buckets[i] = entry_bucket(rec->handle, rec->handle_len);
		for (uint32_t k = 0; k < job->key_count; k++) {
			err = oprf_evaluate(job->ctx, job->keys[k], NULL, 0,
			                    (const uint8_t *)rec->handle, rec->handle_len, y);
			if (err == VEIL_OK)
				err = entry_tag(y, job->output_size,
				                job->tags[k] + i * job->tag_len, job->tag_len);
			if (err == VEIL_OK && rec->payload_len > 0)
				err = entry_seal_payload(
				        y, job->output_size, rec->payload, rec->payload_len,
				        job->sealed[k] + (size_t)job->payload_slot[i] *
				                                 ENTRY_SEALED_PAYLOAD_SIZE);
			if (err != VEIL_OK)
				goto out;
		}
	}
out:
	sodium_memzero(y, sizeof(y));
	return err;
}

typedef struct index_order {
	const uint32_t *buckets;
	const uint8_t *tags;
	size_t tag_len;
} index_order;

static int
index_entry_order(const void *ctx, uint32_t a, uint32_t b)
{
	const index_order *o = ctx;
	if (o->buckets[a] != o->buckets[b])
		return o->buckets[a] < o->buckets[b] ? -1 : 1;
	return memcmp(o->tags + (size_t)a * o->tag_len, o->tags + (size_t)b * o->tag_len,
	              o->tag_len);
}

static void
import_job_free(import_job *job)
{
	free(job->buckets);
	free(job->payload_slot);
	for (size_t k = 0; k < REGISTRY_MAX_KEYS; k++) {
		free(job->tags[k]);
		free(job->sealed[k]);
	}
}

static veil_err
check_records(const registry_record *records, size_t count)
{
	if (records == NULL && count != 0)
		return VEIL_ERR_ARGUMENT;
	if (count >= UINT32_MAX)
		return VEIL_ERR_LIMIT;
	for (size_t i = 0; i < count; i++) {
		const registry_record *r = &records[i];
		if (r->handle == NULL || r->handle_len == 0 ||
		    r->handle_len > REGISTRY_MAX_HANDLE || r->payload_len > ENTRY_MAX_PAYLOAD ||
		    (r->payload == NULL && r->payload_len != 0))
			return VEIL_ERR_ARGUMENT;
	}
	return VEIL_OK;
}

/* Progress of the write stage, throttled. */
typedef struct write_progress {
	registry_progress_fn *fn;
	void *arg;
	uint64_t done, total;
	uint64_t last_ns;
} write_progress;

static void
write_progress_step(write_progress *wp)
{
	wp->done++;
	if (wp->fn == NULL || wp->done % 4096 != 0)
		return;
	uint64_t t = now_ns();
	if (t - wp->last_ns >= (uint64_t)PROGRESS_NS) {
		wp->last_ns = t;
		wp->fn(wp->arg, REGISTRY_STAGE_WRITE, wp->done, wp->total);
	}
}

/*
 * Opens *cursor on dbi to write in key order: *last gets the last key
 * there, or *append is set when dbi is empty (every key goes at its end).
 * On error *cursor may be NULL; the caller closes it.
 */
static veil_err
cursor_open_at_end(MDB_txn *txn, MDB_dbi dbi, MDB_cursor **cursor, MDB_val *last, int *append)
{
	MDB_val v;
	*cursor = NULL;
	*append = 0;
	int rc = mdb_cursor_open(txn, dbi, cursor);
	if (rc == 0 && (rc = mdb_cursor_get(*cursor, last, &v, MDB_LAST)) == MDB_NOTFOUND) {
		*append = 1;
		rc = 0;
	}
	return lmdb_err(rc);
}

/* Writes the handle records; existed[i] says whether handle i was there. */
static veil_err
import_write_handles(writer *w, const import_job *job, uint8_t *existed, uint64_t *handles,
                     uint64_t *payloads, registry_change *change, write_progress *wp)
{
	MDB_cursor *cursor = NULL;
	MDB_val k, v, last;
	uint8_t record[RECORD_MAX];
	uint8_t *last_key = NULL;
	size_t last_len = 0;
	int append = 0, rc;
	const uint64_t added_at = (uint64_t)time(NULL);

	veil_err err = cursor_open_at_end(w->txn, w->reg->handles, &cursor, &last, &append);
	if (err != VEIL_OK)
		goto out;
	if (!append) {
		/* Later puts may move the page this points into: copy. */
		if ((last_key = malloc(last.mv_size)) == NULL) {
			err = VEIL_ERR_NOMEM;
			goto out;
		}
		memcpy(last_key, last.mv_data, last.mv_size);
		last_len = last.mv_size;
	}
	for (size_t i = 0; i < job->n; i++) {
		const registry_record *rec = &job->records[job->order[i]];
		uint64_t added = added_at;
		k = val_of(rec->handle, rec->handle_len);
		if (!append && key_cmp(k.mv_data, k.mv_size, last_key, last_len) > 0)
			append = 1;
		existed[i] = 0;
		if (!append) {
			rc = mdb_get(w->txn, w->reg->handles, &k, &v);
			if (rc == 0) {
				handle_record old;
				if (record_parse(&v, &old) != 0) {
					err = VEIL_ERR_CORRUPT;
					goto out;
				}
				existed[i] = 1;
				added = old.added;
				*payloads -= old.payload_len > 0;
			} else if (rc != MDB_NOTFOUND) {
				err = lmdb_err(rc);
				goto out;
			}
		}
		if (existed[i]) {
			change->replaced++;
		} else {
			change->added++;
			(*handles)++;
		}
		*payloads += rec->payload_len > 0;
		v.mv_size = record_encode(record, added, rec->payload, rec->payload_len);
		v.mv_data = record;
		rc = mdb_cursor_put(cursor, &k, &v, append ? MDB_APPEND : 0);
		if (rc != 0) {
			err = lmdb_err(rc);
			goto out;
		}
		write_progress_step(wp);
	}
out:
	sodium_memzero(record, sizeof(record));
	free(last_key);
	mdb_cursor_close(cursor);
	return err;
}

/* Writes key number k's index entries, in key order. */
static veil_err
import_write_index(writer *w, const import_job *job, uint32_t k, const uint8_t *existed,
                   uint32_t *sorted, uint32_t *tmp, write_progress *wp)
{
	MDB_cursor *cursor = NULL;
	MDB_val key, val, last;
	uint8_t raw[INDEX_KEY_MAX], last_key[INDEX_KEY_MAX], previous[INDEX_KEY_MAX];
	const size_t tag_len = job->tag_len, key_len = 4 + tag_len;
	int append = 0, have_previous = 0;
	veil_err err = VEIL_OK;

	const index_order order = {job->buckets, job->tags[k], tag_len};
	for (size_t i = 0; i < job->n; i++)
		sorted[i] = (uint32_t)i;
	merge_sort(sorted, tmp, job->n, index_entry_order, &order);

	if ((err = cursor_open_at_end(w->txn, w->index[k], &cursor, &last, &append)) != VEIL_OK)
		goto out;
	if (!append) {
		if (last.mv_size != key_len) {
			err = VEIL_ERR_CORRUPT;
			goto out;
		}
		memcpy(last_key, last.mv_data, key_len);
	}
	for (size_t s = 0; s < job->n; s++) {
		const size_t i = sorted[s];
		put_be32(raw, job->buckets[i]);
		memcpy(raw + 4, job->tags[k] + i * tag_len, tag_len);
		/* Two handles on one entry would share it: refuse (see header). */
		if (have_previous && memcmp(raw, previous, key_len) == 0) {
			err = VEIL_ERR_EXISTS;
			goto out;
		}
		memcpy(previous, raw, key_len);
		have_previous = 1;
		if (!append && memcmp(raw, last_key, key_len) > 0)
			append = 1;
		key.mv_size = key_len;
		key.mv_data = raw;
		if (job->payload_slot[i] != UINT32_MAX) {
			val.mv_size = ENTRY_SEALED_PAYLOAD_SIZE;
			val.mv_data = job->sealed[k] +
			              (size_t)job->payload_slot[i] * ENTRY_SEALED_PAYLOAD_SIZE;
		} else {
			val.mv_size = 0;
			val.mv_data = NULL;
		}
		unsigned flags = append ? MDB_APPEND : existed[i] ? 0 : MDB_NOOVERWRITE;
		if ((err = lmdb_err(mdb_cursor_put(cursor, &key, &val, flags))) != VEIL_OK)
			goto out;
		write_progress_step(wp);
	}
out:
	mdb_cursor_close(cursor);
	return err;
}

veil_err
registry_import(registry *reg, const registry_key *keys, size_t key_count,
                const registry_record *records, size_t count,
                const registry_import_options *options, registry_change *change)
{
	uint64_t crowded = 0; /* the fullest bucket, when the cap refused the commit */
	static const registry_import_options defaults = {0, NULL, NULL};
	writer w;
	import_job job;
	uint32_t *order = NULL, *tmp = NULL, *sorted = NULL;
	uint8_t *existed = NULL;
	size_t n = 0, payload_count = 0;
	int begun = 0;
	veil_err err;

	memset(&job, 0, sizeof(job));
	memset(&w, 0, sizeof(w));
	if (change == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(change, 0, sizeof(*change));
	if (options == NULL)
		options = &defaults;
	registry_progress_fn *progress = options->progress;
	void *progress_arg = options->progress_arg;
	if ((err = check_records(records, count)) != VEIL_OK)
		return err;
	if ((err = writer_begin(reg, keys, key_count, &w)) != VEIL_OK)
		return err;
	begun = 1;

	/* Sort by handle, stably, and keep the last record of each handle. */
	if ((order = malloc((count + 1) * sizeof(*order))) == NULL ||
	    (tmp = malloc((count + 1) * sizeof(*tmp))) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < count; i++)
		order[i] = (uint32_t)i;
	merge_sort(order, tmp, count, record_order, records);
	for (size_t i = 0; i < count; i++) {
		if (i + 1 < count && record_order(records, order[i], order[i + 1]) == 0) {
			change->duplicates++;
			continue;
		}
		order[n++] = order[i];
	}
	if (progress != NULL)
		progress(progress_arg, REGISTRY_STAGE_SORT, count, count);

	job.records = records;
	job.order = order;
	job.n = n;
	job.ctx = w.ctx;
	job.output_size = oprf_suite_output_size(oprf_ctx_suite(w.ctx));
	job.tag_len = w.view.tag_len;
	job.key_count = w.view.key_count;
	if ((job.buckets = malloc((n + 1) * sizeof(*job.buckets))) == NULL ||
	    (job.payload_slot = malloc((n + 1) * sizeof(*job.payload_slot))) == NULL ||
	    (sorted = malloc((n + 1) * sizeof(*sorted))) == NULL ||
	    (existed = malloc(n + 1)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		job.payload_slot[i] =
		        records[order[i]].payload_len > 0 ? (uint32_t)payload_count++ : UINT32_MAX;
	for (uint32_t k = 0; k < job.key_count; k++) {
		job.keys[k] = w.key[k];
		if ((job.tags[k] = malloc((n + 1) * job.tag_len)) == NULL ||
		    (job.sealed[k] = malloc((payload_count + 1) * ENTRY_SEALED_PAYLOAD_SIZE)) ==
		            NULL) {
			err = VEIL_ERR_NOMEM;
			goto out;
		}
	}
	if ((err = pool_run(import_compute, &job, n, thread_count(options->threads), progress,
	                    progress_arg, REGISTRY_STAGE_COMPUTE)) != VEIL_OK)
		goto out;

	uint64_t handles = w.view.handles, payloads = w.view.payloads;
	write_progress wp = {progress, progress_arg, 0, (uint64_t)n * (1 + job.key_count), 0};
	if (progress != NULL)
		progress(progress_arg, REGISTRY_STAGE_WRITE, 0, wp.total);
	if ((err = import_write_handles(&w, &job, existed, &handles, &payloads, change, &wp)) !=
	    VEIL_OK)
		goto out;
	for (uint32_t k = 0; k < job.key_count; k++)
		if ((err = import_write_index(&w, &job, k, existed, sorted, tmp, &wp)) != VEIL_OK)
			goto out;
	if (progress != NULL) {
		progress(progress_arg, REGISTRY_STAGE_WRITE, wp.total, wp.total);
		progress(progress_arg, REGISTRY_STAGE_COMMIT, 0, 1);
	}
	begun = 0;
	if ((err = writer_commit(&w, handles, payloads, reg->max_per_bucket, &crowded)) != VEIL_OK)
		goto out;
	if (progress != NULL)
		progress(progress_arg, REGISTRY_STAGE_COMMIT, 1, 1);
out:
	if (begun)
		writer_abort(&w);
	if (err != VEIL_OK) {
		memset(change, 0, sizeof(*change));
		change->crowded = crowded;
	}
	import_job_free(&job);
	free(existed);
	free(sorted);
	free(order);
	free(tmp);
	return err;
}

veil_err
registry_add(registry *reg, const registry_key *keys, size_t key_count,
             const registry_record *record, registry_change *change)
{
	const registry_import_options one_thread = {1, NULL, NULL};
	if (record == NULL) {
		if (change != NULL)
			memset(change, 0, sizeof(*change));
		return VEIL_ERR_ARGUMENT;
	}
	return registry_import(reg, keys, key_count, record, 1, &one_thread, change);
}

veil_err
registry_remove(registry *reg, const registry_key *keys, size_t key_count, const char *handle,
                size_t handle_len)
{
	writer w;
	MDB_val k, v;
	handle_record old;
	uint8_t y[OUTPUT_MAX], raw[INDEX_KEY_MAX];
	int begun = 0;
	veil_err err;

	if (handle == NULL || handle_len == 0 || handle_len > REGISTRY_MAX_HANDLE)
		return VEIL_ERR_ARGUMENT;
	if ((err = writer_begin(reg, keys, key_count, &w)) != VEIL_OK)
		return err;
	begun = 1;
	k = val_of(handle, handle_len);
	int rc = mdb_get(w.txn, reg->handles, &k, &v);
	if (rc != 0) {
		err = lmdb_err(rc);
		goto out;
	}
	if (record_parse(&v, &old) != 0) {
		err = VEIL_ERR_CORRUPT;
		goto out;
	}
	const uint64_t had_payload = old.payload_len > 0;
	const uint32_t bucket = entry_bucket(handle, handle_len);
	const size_t key_len = 4 + (size_t)w.view.tag_len;
	for (uint32_t i = 0; i < w.view.key_count; i++) {
		if ((err = index_key_of(w.ctx, w.key[i], handle, handle_len, bucket, w.view.tag_len,
		                        raw, y)) != VEIL_OK)
			goto out;
		MDB_val ik = {key_len, raw};
		if ((rc = mdb_del(w.txn, w.index[i], &ik, NULL)) != 0) {
			err = rc == MDB_NOTFOUND ? VEIL_ERR_CORRUPT : lmdb_err(rc);
			goto out;
		}
	}
	if ((rc = mdb_del(w.txn, reg->handles, &k, NULL)) != 0) {
		err = lmdb_err(rc);
		goto out;
	}
	begun = 0;
	uint64_t unused = 0;
	/* Removing never crowds a bucket: no cap, so a crowded registry can be thinned. */
	err = writer_commit(&w, w.view.handles - 1, w.view.payloads - had_payload, 0, &unused);
out:
	if (begun)
		writer_abort(&w);
	sodium_memzero(y, sizeof(y));
	return err;
}

/*
 * Begins a transaction (flags: MDB_RDONLY to read, 0 to write) in which
 * every live key's index is open; dbis[i] is that of view->key_ids[i].
 * Indexes rotated in elsewhere are opened outside it (as writer_begin
 * does), and it starts over.
 */
static veil_err
snapshot_begin(registry *reg, unsigned flags, MDB_txn **txn, registry_view *view,
               MDB_dbi dbis[REGISTRY_MAX_KEYS])
{
	veil_err err = VEIL_ERR_CORRUPT;
	*txn = NULL;
	for (int attempt = 0; attempt < 3; attempt++) {
		int rc = mdb_txn_begin(reg->env, NULL, flags, txn);
		if (rc != 0) {
			*txn = NULL;
			return lmdb_err(rc);
		}
		if ((err = meta_read_view(*txn, reg->meta, view)) != VEIL_OK)
			break;
		int known = 1;
		for (uint32_t i = 0; i < view->key_count; i++)
			known &= registry_index_known(reg, view->key_ids[i], &dbis[i]);
		if (known)
			return VEIL_OK;
		mdb_txn_abort(*txn);
		*txn = NULL;
		if ((err = registry_open_indexes(reg, view)) != VEIL_OK)
			return err;
		err = VEIL_ERR_CORRUPT;
	}
	if (*txn != NULL)
		mdb_txn_abort(*txn);
	*txn = NULL;
	return err;
}

/* Work on a snapshot (snapshot_read()): dbis[i] is the index of view->key_ids[i]. */
typedef veil_err snapshot_fn(void *out, registry *reg, MDB_txn *txn, const registry_view *view,
                             const MDB_dbi dbis[REGISTRY_MAX_KEYS]);

/*
 * What the readers of a snapshot share: clears *out (size bytes), runs
 * fn(out, ...) in a read transaction in which every live index is open,
 * and clears *out again when that fails.
 */
static veil_err
snapshot_read(registry *reg, void *out, size_t size, snapshot_fn *fn)
{
	MDB_txn *txn = NULL;
	MDB_dbi dbis[REGISTRY_MAX_KEYS];
	registry_view view;

	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(out, 0, size);
	if (reg == NULL)
		return VEIL_ERR_ARGUMENT;
	veil_err err = snapshot_begin(reg, MDB_RDONLY, &txn, &view, dbis);
	if (err == VEIL_OK) {
		err = fn(out, reg, txn, &view, dbis);
		mdb_txn_abort(txn);
	}
	if (err != VEIL_OK)
		memset(out, 0, size);
	return err;
}

static veil_err
stats_of(void *arg, registry *reg, MDB_txn *txn, const registry_view *view,
         const MDB_dbi dbis[REGISTRY_MAX_KEYS])
{
	registry_stats *out = arg;
	MDB_envinfo info;
	MDB_stat st;
	struct stat file;
	veil_err err;
	int rc;

	out->view = *view;
	for (uint32_t i = 0; i < view->key_count; i++) {
		if ((err = meta_read_slots(txn, reg->meta, view->key_ids[i], out->slots[i])) !=
		    VEIL_OK)
			return err;
		if ((rc = mdb_stat(txn, dbis[i], &st)) != 0)
			return lmdb_err(rc);
		out->index_entries[i] = st.ms_entries;
	}
	if ((rc = mdb_env_info(reg->env, &info)) != 0 || (rc = mdb_env_stat(reg->env, &st)) != 0)
		return lmdb_err(rc);
	out->used_size = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	char *data = store_file_join(reg->path, "data.mdb");
	if (data == NULL)
		return VEIL_ERR_NOMEM;
	rc = stat(data, &file);
	free(data);
	if (rc != 0)
		return VEIL_ERR_SYSTEM;
	out->file_size = (uint64_t)file.st_size;
	out->file_allocated = (uint64_t)file.st_blocks * 512;
	return VEIL_OK;
}

veil_err
registry_stats_read(registry *reg, registry_stats *out)
{
	return snapshot_read(reg, out, sizeof(*out), stats_of);
}

/* ------------------------------------------------------------------ */
/* Verification */

/* An entry of a snapshot: a handle and its record, or an index key and its value. */
typedef struct verify_entry {
	MDB_val key, value; /* in the snapshot's pages */
} verify_entry;

typedef struct verify_job {
	const oprf_ctx *ctx;
	size_t output_size;
	size_t tag_len;
	uint32_t key_count;
	const oprf_key *keys[REGISTRY_MAX_KEYS];
	const verify_entry *handles;
	const verify_entry *entries[REGISTRY_MAX_KEYS]; /* sorted, as the index */
	size_t entry_count[REGISTRY_MAX_KEYS];
	atomic_uchar *seen[REGISTRY_MAX_KEYS];
	atomic_uint_fast64_t payloads, bad_records, missing, mismatch;
} verify_job;

static const verify_entry *
verify_find(const verify_entry *entries, size_t count, const uint8_t *key, size_t key_len)
{
	size_t lo = 0, hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(entries[mid].key.mv_data, key, key_len);
		if (c == 0)
			return &entries[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static veil_err
verify_compute(void *arg, size_t begin, size_t end)
{
	verify_job *job = arg;
	uint8_t y[OUTPUT_MAX], raw[INDEX_KEY_MAX], opened[ENTRY_MAX_PAYLOAD];
	uint64_t payloads = 0, bad = 0, missing = 0, mismatch = 0;
	const size_t key_len = 4 + job->tag_len;
	veil_err err = VEIL_OK;

	for (size_t i = begin; i < end; i++) {
		const verify_entry *h = &job->handles[i];
		const char *handle = h->key.mv_data;
		const size_t handle_len = h->key.mv_size;
		handle_record rec;
		if (record_parse(&h->value, &rec) != 0) {
			bad++;
			continue;
		}
		payloads += rec.payload_len > 0;
		const uint32_t bucket = entry_bucket(handle, handle_len);
		for (uint32_t k = 0; k < job->key_count; k++) {
			if ((err = index_key_of(job->ctx, job->keys[k], handle, handle_len, bucket,
			                        job->tag_len, raw, y)) != VEIL_OK)
				goto out;
			const verify_entry *e =
			        verify_find(job->entries[k], job->entry_count[k], raw, key_len);
			if (e == NULL ||
			    atomic_exchange(&job->seen[k][e - job->entries[k]], 1) != 0) {
				missing++;
				continue;
			}
			size_t opened_len = 0;
			if (rec.payload_len == 0) {
				mismatch += e->value.mv_size != 0;
			} else if (e->value.mv_size != ENTRY_SEALED_PAYLOAD_SIZE ||
			           entry_open_payload(y, job->output_size, e->value.mv_data, opened,
			                              &opened_len) != VEIL_OK ||
			           opened_len != rec.payload_len ||
			           memcmp(opened, rec.payload, opened_len) != 0) {
				mismatch++;
			}
		}
	}
out:
	sodium_memzero(y, sizeof(y));
	sodium_memzero(opened, sizeof(opened));
	atomic_fetch_add(&job->payloads, payloads);
	atomic_fetch_add(&job->bad_records, bad);
	atomic_fetch_add(&job->missing, missing);
	atomic_fetch_add(&job->mismatch, mismatch);
	return err;
}

/* What verify_collect() gathers. */
typedef struct collection {
	size_t key_len; /* 0: any */
	uint64_t *malformed;
	verify_entry *entries;
	size_t count, most;
} collection;

static veil_err
collect_one(void *arg, const MDB_val *k, const MDB_val *v, int *stop)
{
	collection *c = arg;
	if (c->count == c->most) {
		*stop = 1;
		return VEIL_OK;
	}
	if (c->key_len != 0 && k->mv_size != c->key_len) {
		(*c->malformed)++;
		return VEIL_OK;
	}
	c->entries[c->count].key = *k;
	c->entries[c->count].value = *v;
	c->count++;
	return VEIL_OK;
}

/*
 * Collects the entries of dbi in a snapshot (pointers into its pages).
 * With key_len not 0, keys of another size are counted in *malformed,
 * not kept.
 */
static veil_err
verify_collect(MDB_txn *txn, MDB_dbi dbi, size_t key_len, verify_entry **out, size_t *count,
               uint64_t *malformed)
{
	collection c = {key_len, malformed, NULL, 0, 0};
	MDB_stat st;

	*out = NULL;
	*count = 0;
	int rc = mdb_stat(txn, dbi, &st);
	if (rc != 0)
		return lmdb_err(rc);
	if ((c.entries = calloc(st.ms_entries + 1, sizeof(*c.entries))) == NULL)
		return VEIL_ERR_NOMEM;
	c.most = st.ms_entries;
	veil_err err = lmdb_each(txn, dbi, NULL, collect_one, &c);
	if (err != VEIL_OK) {
		free(c.entries);
		return err;
	}
	*out = c.entries;
	*count = c.count;
	return VEIL_OK;
}

static veil_err verify_leftovers(registry *reg, MDB_txn *txn, const registry_view *view,
                                 uint64_t *found);

veil_err
registry_verify(registry *reg, const registry_key *keys, size_t key_count, unsigned threads,
                registry_verify_summary *out)
{
	MDB_txn *txn = NULL;
	MDB_dbi dbis[REGISTRY_MAX_KEYS];
	registry_view view;
	verify_job job;
	verify_entry *handles = NULL;
	verify_entry *entries[REGISTRY_MAX_KEYS] = {0};
	oprf_ctx *ctx = NULL;
	size_t handle_count = 0;
	uint64_t malformed = 0;
	veil_err err;

	memset(&job, 0, sizeof(job));
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (reg == NULL)
		return VEIL_ERR_ARGUMENT;
	if ((err = check_keys(keys, key_count, NULL)) != VEIL_OK)
		return err;
	if ((err = snapshot_begin(reg, MDB_RDONLY, &txn, &view, dbis)) != VEIL_OK)
		goto out;
	if ((err = check_keys(keys, key_count, view.suite)) != VEIL_OK ||
	    (err = oprf_ctx_new(view.suite, (oprf_mode)view.mode, &ctx)) != VEIL_OK)
		goto out;
	job.ctx = ctx;
	job.output_size = oprf_suite_output_size(view.suite);
	job.tag_len = view.tag_len;
	job.key_count = view.key_count;
	for (uint32_t k = 0; k < view.key_count; k++) {
		for (size_t j = 0; j < key_count && job.keys[k] == NULL; j++)
			if (keys[j].id == view.key_ids[k])
				job.keys[k] = keys[j].key;
		if (job.keys[k] == NULL) {
			err = VEIL_ERR_NOT_FOUND;
			goto out;
		}
	}
	if ((err = verify_collect(txn, reg->handles, 0, &handles, &handle_count, NULL)) != VEIL_OK)
		goto out;
	job.handles = handles;
	for (uint32_t k = 0; k < view.key_count; k++) {
		if ((err = verify_collect(txn, dbis[k], 4 + (size_t)view.tag_len, &entries[k],
		                          &job.entry_count[k], &malformed)) != VEIL_OK)
			goto out;
		job.entries[k] = entries[k];
		if ((job.seen[k] = calloc(job.entry_count[k] + 1, sizeof(atomic_uchar))) == NULL) {
			err = VEIL_ERR_NOMEM;
			goto out;
		}
		for (size_t i = 0; i < job.entry_count[k]; i++)
			atomic_init(&job.seen[k][i], 0);
	}
	atomic_init(&job.payloads, 0);
	atomic_init(&job.bad_records, 0);
	atomic_init(&job.missing, 0);
	atomic_init(&job.mismatch, 0);
	if ((err = pool_run(verify_compute, &job, handle_count, thread_count(threads), NULL, NULL,
	                    REGISTRY_STAGE_COMPUTE)) != VEIL_OK)
		goto out;

	out->handles = handle_count;
	out->payloads = atomic_load(&job.payloads);
	out->bad_records = atomic_load(&job.bad_records);
	out->missing_entries = atomic_load(&job.missing);
	out->payload_mismatch = atomic_load(&job.mismatch);
	out->dangling_entries = malformed;
	for (uint32_t k = 0; k < view.key_count; k++) {
		uint32_t stored[REGISTRY_PREFIXES], counted[REGISTRY_PREFIXES];
		for (size_t i = 0; i < job.entry_count[k]; i++)
			out->dangling_entries += atomic_load(&job.seen[k][i]) == 0;
		if ((err = meta_read_slots(txn, reg->meta, view.key_ids[k], stored)) != VEIL_OK)
			goto out;
		if ((err = index_scan(txn, dbis[k], view.tag_len, counted, NULL, NULL, NULL)) ==
		    VEIL_ERR_CORRUPT) {
			out->count_mismatch++;
			err = VEIL_OK;
			continue;
		}
		if (err != VEIL_OK)
			goto out;
		out->count_mismatch += memcmp(stored, counted, sizeof(stored)) != 0;
	}
	out->count_mismatch += view.handles != out->handles;
	out->count_mismatch += view.payloads != out->payloads;
	if ((err = verify_leftovers(reg, txn, &view, &out->count_mismatch)) != VEIL_OK)
		goto out;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (err != VEIL_OK)
		memset(out, 0, sizeof(*out));
	for (uint32_t k = 0; k < REGISTRY_MAX_KEYS; k++) {
		free(entries[k]);
		free(job.seen[k]);
	}
	free(handles);
	oprf_ctx_free(ctx);
	return err;
}

int
registry_verify_ok(const registry_verify_summary *s)
{
	return s != NULL && s->bad_records == 0 && s->missing_entries == 0 &&
	       s->payload_mismatch == 0 && s->dangling_entries == 0 && s->count_mismatch == 0;
}

/* ------------------------------------------------------------------ */
/* Key rotation */

#define GRACE_NAME_SIZE sizeof("grace/00000000")

static void
grace_name(char name[GRACE_NAME_SIZE], uint32_t key_id)
{
	snprintf(name, GRACE_NAME_SIZE, "grace/%08x", key_id);
}

/* A retirement deadline: 0 when there is none. */
static veil_err
grace_decode(void *arg, const MDB_val *v)
{
	uint64_t *deadline = arg;
	*deadline = 0;
	if (v == NULL)
		return VEIL_OK;
	if (v->mv_size != 8 || get_be64(v->mv_data) == 0)
		return VEIL_ERR_CORRUPT;
	*deadline = get_be64(v->mv_data);
	return VEIL_OK;
}

/* The retirement deadline of key_id; 0 when it has none. */
static veil_err
meta_read_grace(MDB_txn *txn, MDB_dbi meta, uint32_t key_id, uint64_t *deadline)
{
	char name[GRACE_NAME_SIZE];
	*deadline = 0;
	grace_name(name, key_id);
	return lmdb_meta_decode(txn, meta, name, grace_decode, deadline);
}

static veil_err
meta_del(MDB_txn *txn, MDB_dbi meta, const char *name)
{
	MDB_val k = val_of(name, strlen(name));
	int rc = mdb_del(txn, meta, &k, NULL);
	return rc == MDB_NOTFOUND ? VEIL_OK : lmdb_err(rc);
}

static veil_err
meta_write_keys(MDB_txn *txn, MDB_dbi meta, const uint32_t *ids, uint32_t count)
{
	uint8_t raw[4 * REGISTRY_MAX_KEYS];
	for (uint32_t i = 0; i < count; i++)
		put_be32(raw + 4 * i, ids[i]);
	return lmdb_meta_put(txn, meta, META_KEYS, raw, 4 * (size_t)count);
}

/* Forgets the handle of a dropped index. The caller holds reg->lock. */
static void
registry_forget_index(registry *reg, uint32_t key_id)
{
	size_t kept = 0;
	for (size_t i = 0; i < reg->index_count; i++)
		if (reg->indexes[i].key_id != key_id)
			reg->indexes[kept++] = reg->indexes[i];
	reg->index_count = kept;
}

/*
 * In txn, drops every live key but the current one whose deadline is at
 * or before now: its index, slots and deadline; compacts view and dbis
 * to the keys that stay (the key list itself is the caller's to write).
 * The caller holds reg->lock: mdb_drop closes the handle at once, so the
 * dropped ids go to removed[] and must be forgotten whatever happens.
 */
static veil_err
retire_expired(registry *reg, MDB_txn *txn, registry_view *view, MDB_dbi dbis[REGISTRY_MAX_KEYS],
               uint64_t now, registry_rotation *result)
{
	char name[GRACE_NAME_SIZE];
	uint32_t kept = 1;
	veil_err err = VEIL_OK;

	for (uint32_t i = 1; i < view->key_count; i++) {
		uint64_t deadline = 0;
		if ((err = meta_read_grace(txn, reg->meta, view->key_ids[i], &deadline)) != VEIL_OK)
			return err;
		if (deadline == 0 || deadline > now) {
			view->key_ids[kept] = view->key_ids[i];
			dbis[kept] = dbis[i];
			kept++;
			continue;
		}
		result->removed[result->removed_count++] = view->key_ids[i];
		int rc = mdb_drop(txn, dbis[i], 1);
		if (rc != 0)
			return lmdb_err(rc);
		slots_name(name, view->key_ids[i]);
		if ((err = meta_del(txn, reg->meta, name)) != VEIL_OK)
			return err;
		grace_name(name, view->key_ids[i]);
		if ((err = meta_del(txn, reg->meta, name)) != VEIL_OK)
			return err;
	}
	view->key_count = kept;
	return VEIL_OK;
}

/*
 * The end of a retirement or a rotation: aborts txn unless it was
 * committed (NULL); when locked, forgets the handles of the indexes
 * dropped (result->removed) and unlocks reg->lock; clears *result on
 * error. Returns err.
 */
static veil_err
rotation_end(registry *reg, MDB_txn *txn, int locked, registry_rotation *result, veil_err err)
{
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (locked) {
		for (uint32_t i = 0; i < result->removed_count; i++)
			registry_forget_index(reg, result->removed[i]);
		pthread_mutex_unlock(&reg->lock);
	}
	if (err != VEIL_OK)
		memset(result, 0, sizeof(*result));
	return err;
}

veil_err
registry_retire(registry *reg, uint64_t now, registry_rotation *result)
{
	MDB_txn *txn = NULL;
	MDB_dbi dbis[REGISTRY_MAX_KEYS];
	registry_view view;
	veil_err err;

	if (result == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(result, 0, sizeof(*result));
	if (reg == NULL)
		return VEIL_ERR_ARGUMENT;
	if ((err = snapshot_begin(reg, 0, &txn, &view, dbis)) != VEIL_OK)
		return err;
	pthread_mutex_lock(&reg->lock);
	/* Nothing expired: nothing to commit. */
	if ((err = retire_expired(reg, txn, &view, dbis, now, result)) == VEIL_OK &&
	    result->removed_count > 0 &&
	    (err = meta_write_keys(txn, reg->meta, view.key_ids, view.key_count)) == VEIL_OK)
		err = lmdb_commit(&txn);
	return rotation_end(reg, txn, 1, result, err);
}

/* The handle records of a snapshot, copied by rotation_collect(): sizes first, then bytes. */
typedef struct record_copy {
	registry_record *records;
	uint8_t *blob;
	size_t count, size;  /* the first pass */
	size_t copied, used; /* the second */
} record_copy;

static veil_err
measure_one(void *arg, const MDB_val *k, const MDB_val *v, int *stop)
{
	record_copy *c = arg;
	handle_record rec;
	(void)stop;
	if (k->mv_size == 0 || k->mv_size > REGISTRY_MAX_HANDLE || record_parse(v, &rec) != 0)
		return VEIL_ERR_CORRUPT;
	c->size += k->mv_size + rec.payload_len;
	c->count++;
	return VEIL_OK;
}

static veil_err
copy_one(void *arg, const MDB_val *k, const MDB_val *v, int *stop)
{
	record_copy *c = arg;
	handle_record rec;
	if (c->copied == c->count) {
		*stop = 1;
		return VEIL_OK;
	}
	if (record_parse(v, &rec) != 0)
		return VEIL_ERR_CORRUPT;
	registry_record *r = &c->records[c->copied++];
	memcpy(c->blob + c->used, k->mv_data, k->mv_size);
	r->handle = (const char *)(c->blob + c->used);
	r->handle_len = k->mv_size;
	c->used += k->mv_size;
	if (rec.payload_len > 0)
		memcpy(c->blob + c->used, rec.payload, rec.payload_len);
	r->payload = rec.payload_len > 0 ? c->blob + c->used : NULL;
	r->payload_len = rec.payload_len;
	c->used += rec.payload_len;
	return VEIL_OK;
}

/* Copies the handle records of txn into records[] over one blob. */
static veil_err
rotation_collect(registry *reg, MDB_txn *txn, registry_record **records_out, uint8_t **blob_out,
                 size_t *blob_size, size_t *count_out)
{
	record_copy c;
	MDB_stat st;
	veil_err err;

	memset(&c, 0, sizeof(c));
	*records_out = NULL;
	*blob_out = NULL;
	*blob_size = 0;
	*count_out = 0;
	int rc = mdb_stat(txn, reg->handles, &st);
	if (rc != 0)
		return lmdb_err(rc);
	if (st.ms_entries >= UINT32_MAX)
		return VEIL_ERR_LIMIT;
	if ((err = lmdb_each(txn, reg->handles, NULL, measure_one, &c)) != VEIL_OK)
		return err;
	if (c.count != st.ms_entries)
		return VEIL_ERR_CORRUPT;
	if ((c.records = calloc(c.count + 1, sizeof(*c.records))) == NULL ||
	    (c.blob = malloc(c.size + 1)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	/* A failure now, when the first pass went through, is damage. */
	if (lmdb_each(txn, reg->handles, NULL, copy_one, &c) != VEIL_OK || c.copied != c.count) {
		err = VEIL_ERR_CORRUPT;
		goto out;
	}
	*records_out = c.records;
	*blob_out = c.blob;
	*blob_size = c.size + 1;
	*count_out = c.count;
	c.records = NULL;
	c.blob = NULL;
out:
	if (c.blob != NULL) {
		sodium_memzero(c.blob, c.used);
		free(c.blob);
	}
	free(c.records);
	return err;
}

veil_err
registry_rotate(registry *reg, const registry_key *new_key, uint64_t now, uint64_t retire_at,
                const registry_import_options *options, registry_rotation *result)
{
	static const registry_import_options defaults = {0, NULL, NULL};
	MDB_txn *txn = NULL;
	MDB_dbi dbis[REGISTRY_MAX_KEYS], dbi;
	registry_view view;
	import_job job;
	registry_record *records = NULL;
	uint8_t *blob = NULL, *existed = NULL;
	uint32_t *order = NULL, *sorted = NULL, *tmp = NULL;
	oprf_ctx *ctx = NULL;
	size_t blob_size = 0, n = 0, payload_count = 0;
	uint64_t crowded = 0;
	int locked = 0, rc;
	veil_err err;

	memset(&job, 0, sizeof(job));
	if (result == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(result, 0, sizeof(*result));
	if (reg == NULL || new_key == NULL || new_key->key == NULL || new_key->id == 0 ||
	    retire_at == 0)
		return VEIL_ERR_ARGUMENT;
	if (options == NULL)
		options = &defaults;
	if ((err = snapshot_begin(reg, 0, &txn, &view, dbis)) != VEIL_OK)
		return err;
	for (uint32_t i = 0; i < view.key_count; i++)
		if (view.key_ids[i] >= new_key->id) {
			err = VEIL_ERR_EXISTS;
			goto out;
		}
	if (oprf_key_suite(new_key->key) != view.suite) {
		err = VEIL_ERR_ARGUMENT;
		goto out;
	}
	if ((err = oprf_ctx_new(view.suite, (oprf_mode)view.mode, &ctx)) != VEIL_OK)
		goto out;
	if ((err = rotation_collect(reg, txn, &records, &blob, &blob_size, &n)) != VEIL_OK)
		goto out;
	if (n != view.handles) {
		err = VEIL_ERR_CORRUPT;
		goto out;
	}
	if (options->progress != NULL)
		options->progress(options->progress_arg, REGISTRY_STAGE_SORT, n, n);

	/* The handles come sorted and unique: the job's order is the identity. */
	if ((order = malloc((n + 1) * sizeof(*order))) == NULL ||
	    (sorted = malloc((n + 1) * sizeof(*sorted))) == NULL ||
	    (tmp = malloc((n + 1) * sizeof(*tmp))) == NULL ||
	    (existed = calloc(n + 1, 1)) == NULL ||
	    (job.buckets = malloc((n + 1) * sizeof(*job.buckets))) == NULL ||
	    (job.payload_slot = malloc((n + 1) * sizeof(*job.payload_slot))) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		order[i] = (uint32_t)i;
		job.payload_slot[i] =
		        records[i].payload_len > 0 ? (uint32_t)payload_count++ : UINT32_MAX;
	}
	job.records = records;
	job.order = order;
	job.n = n;
	job.ctx = ctx;
	job.output_size = oprf_suite_output_size(view.suite);
	job.tag_len = view.tag_len;
	job.key_count = 1;
	job.keys[0] = new_key->key;
	if ((job.tags[0] = malloc((n + 1) * job.tag_len)) == NULL ||
	    (job.sealed[0] = malloc((payload_count + 1) * ENTRY_SEALED_PAYLOAD_SIZE)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	if ((err = pool_run(import_compute, &job, n, thread_count(options->threads),
	                    options->progress, options->progress_arg, REGISTRY_STAGE_COMPUTE)) !=
	    VEIL_OK)
		goto out;

	/* Opening, dropping and closing handles: one transaction of the process at a time. */
	pthread_mutex_lock(&reg->lock);
	locked = 1;
	if ((err = retire_expired(reg, txn, &view, dbis, now, result)) != VEIL_OK)
		goto out;
	if (view.key_count >= REGISTRY_MAX_KEYS || reg->index_count >= MAX_INDEXES) {
		err = VEIL_ERR_LIMIT;
		goto out;
	}
	char name[sizeof("index/00000000")];
	MDB_stat st;
	index_name(name, new_key->id);
	if ((rc = mdb_dbi_open(txn, name, MDB_CREATE, &dbi)) != 0 ||
	    (rc = mdb_stat(txn, dbi, &st)) != 0) {
		err = lmdb_err(rc);
		goto out;
	}
	/* Not live, so nothing reads it: a leftover is emptied. */
	if (st.ms_entries != 0 && (rc = mdb_drop(txn, dbi, 0)) != 0) {
		err = lmdb_err(rc);
		goto out;
	}
	writer w;
	memset(&w, 0, sizeof(w));
	w.reg = reg;
	w.txn = txn;
	w.index[0] = dbi;
	write_progress wp = {options->progress, options->progress_arg, 0, n, 0};
	if (options->progress != NULL)
		options->progress(options->progress_arg, REGISTRY_STAGE_WRITE, 0, n);
	if ((err = import_write_index(&w, &job, 0, existed, sorted, tmp, &wp)) != VEIL_OK)
		goto out;
	uint32_t slots[REGISTRY_PREFIXES];
	uint64_t entries = 0, most = 0;
	if ((err = index_scan(txn, dbi, view.tag_len, slots, &entries, NULL, &most)) != VEIL_OK)
		goto out;
	if (entries != n) {
		err = VEIL_ERR_CORRUPT;
		goto out;
	}
	if (most > reg->max_per_bucket) {
		crowded = most;
		err = VEIL_ERR_LIMIT;
		goto out;
	}
	uint8_t raw[8];
	char grace[GRACE_NAME_SIZE];
	uint64_t old_deadline = 0;
	if ((err = meta_read_grace(txn, reg->meta, view.key_ids[0], &old_deadline)) != VEIL_OK)
		goto out;
	put_be64(raw, old_deadline != 0 && old_deadline < retire_at ? old_deadline : retire_at);
	grace_name(grace, view.key_ids[0]);
	if ((err = meta_write_slots(txn, reg->meta, new_key->id, slots)) != VEIL_OK ||
	    (err = lmdb_meta_put(txn, reg->meta, grace, raw, 8)) != VEIL_OK)
		goto out;
	uint32_t ids[REGISTRY_MAX_KEYS];
	ids[0] = new_key->id;
	memcpy(ids + 1, view.key_ids, 4 * (size_t)view.key_count);
	if ((err = meta_write_keys(txn, reg->meta, ids, view.key_count + 1)) != VEIL_OK)
		goto out;
	if (options->progress != NULL) {
		options->progress(options->progress_arg, REGISTRY_STAGE_WRITE, n, n);
		options->progress(options->progress_arg, REGISTRY_STAGE_COMMIT, 0, 1);
	}
	if ((err = lmdb_commit(&txn)) != VEIL_OK)
		goto out;
	reg->indexes[reg->index_count].key_id = new_key->id;
	reg->indexes[reg->index_count].dbi = dbi;
	reg->index_count++;
	if (options->progress != NULL)
		options->progress(options->progress_arg, REGISTRY_STAGE_COMMIT, 1, 1);
out:
	err = rotation_end(reg, txn, locked, result, err);
	result->crowded = crowded;
	if (blob != NULL) {
		sodium_memzero(blob, blob_size);
		free(blob);
	}
	import_job_free(&job);
	free(records);
	free(order);
	free(sorted);
	free(tmp);
	free(existed);
	oprf_ctx_free(ctx);
	return err;
}

static veil_err
schedule_of(void *arg, registry *reg, MDB_txn *txn, const registry_view *view,
            const MDB_dbi dbis[REGISTRY_MAX_KEYS])
{
	registry_schedule *out = arg;
	veil_err err = VEIL_OK;
	(void)dbis;
	out->key_count = view->key_count;
	for (uint32_t i = 0; i < view->key_count && err == VEIL_OK; i++) {
		out->key_ids[i] = view->key_ids[i];
		err = meta_read_grace(txn, reg->meta, view->key_ids[i], &out->retire_at[i]);
	}
	return err;
}

veil_err
registry_schedule_read(registry *reg, registry_schedule *out)
{
	return snapshot_read(reg, out, sizeof(*out), schedule_of);
}

/* Whether name is prefix followed by 8 lowercase hex digits; *id gets them. */
static int
parse_key_name(const MDB_val *k, const char *prefix, uint32_t *id)
{
	const size_t plen = strlen(prefix);
	const char *p = k->mv_data;
	if (k->mv_size != plen + 8 || memcmp(p, prefix, plen) != 0)
		return 0;
	return registry_parse_key_id(p + plen, id);
}

int
registry_parse_key_id(const char *hex, uint32_t *id)
{
	uint32_t v = 0;
	for (size_t i = 0; i < 8; i++) {
		const char c = hex[i];
		if (c >= '0' && c <= '9')
			v = v << 4 | (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint32_t)(c - 'a' + 10);
		else
			return 0;
	}
	*id = v;
	return 1;
}

/* What verify_leftovers() counts against, in the main database or in meta. */
typedef struct leftovers {
	const registry_view *view;
	uint64_t *found;
	int in_meta;
} leftovers;

static veil_err
leftover_one(void *arg, const MDB_val *k, const MDB_val *v, int *stop)
{
	const leftovers *l = arg;
	uint32_t id;
	(void)v;
	(void)stop;
	if (!l->in_meta) {
		if (parse_key_name(k, "index/", &id) && !registry_view_has_key(l->view, id))
			(*l->found)++;
	} else if ((parse_key_name(k, "slots/", &id) || parse_key_name(k, "grace/", &id)) &&
	           !registry_view_has_key(l->view, id)) {
		(*l->found)++;
	} else if (parse_key_name(k, "grace/", &id) && id == l->view->key_ids[0]) {
		(*l->found)++;
	}
	return VEIL_OK;
}

/*
 * What a rotation could leave wrong: an index database, slots or a
 * deadline of a key id that is not live, or a deadline on the current
 * key. Each adds one to *found.
 */
static veil_err
verify_leftovers(registry *reg, MDB_txn *txn, const registry_view *view, uint64_t *found)
{
	leftovers l = {view, found, 0};
	MDB_dbi main_dbi;

	int rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
	if (rc != 0)
		return lmdb_err(rc);
	veil_err err = lmdb_each(txn, main_dbi, NULL, leftover_one, &l);
	l.in_meta = 1;
	return err != VEIL_OK ? err : lmdb_each(txn, reg->meta, NULL, leftover_one, &l);
}

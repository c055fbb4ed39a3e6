#define _GNU_SOURCE /* renameat2, RENAME_NOREPLACE */
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "keyfile.h"
#include "store_file.h"

#define OPRF_KEY_NAME_SIZE sizeof("oprf-00000000.key")

/* Every OPRF key loaded, newest first; kept until state_free(). */
typedef struct loaded_key {
	struct loaded_key *next;
	uint32_t id;
	oprf_key *key;
} loaded_key;

/*
 * The keys as published to readers: immutable once published. A refresh
 * publishes a new set and keeps the old ones (chained by older) until
 * state_free(), so a reader never sees one freed.
 */
typedef struct key_set {
	struct key_set *older;
	size_t count;
	registry_key keys[]; /* live ones in the registry's order, then the others */
} key_set;

struct veil_state {
	registry *reg;
	const oprf_suite *suite; /* the registry's, fixed at creation */
	char *dir;
	uint8_t *transport_secret; /* guarded */
	uint8_t transport_public[STATE_TRANSPORT_KEY_SIZE];
	_Atomic(key_set *) keys;
	pthread_mutex_t refresh_lock; /* one refresh at a time */
	int lock_made;
	loaded_key *loaded;
	char *registry_path; /* DIR/registry, maybe a link to a generation */
};

/* A macro's value as a string literal. */
#define TEXT(x)    #x
#define TEXT_OF(x) TEXT(x)

static void
oprf_key_name(char name[OPRF_KEY_NAME_SIZE], uint32_t key_id)
{
	snprintf(name, OPRF_KEY_NAME_SIZE, "oprf-%08x.key", key_id);
}

char *
state_registry_path(const char *dir)
{
	return dir == NULL ? NULL : store_file_join(dir, STATE_REGISTRY_DIR);
}

static void
set_why(const char **why, const char *what)
{
	if (why != NULL)
		*why = what;
}

/* Whether path exists (as anything); -1 when that cannot be told. */
static int
exists(const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

/* Each suite a registry may be made on, and the label of its key files. */
static const char *const kinds[][2] = {
        {"ristretto255-SHA512", STATE_OPRF_KEY_KIND},
        {"P256-SHA256", STATE_OPRF_KEY_KIND "-P256-SHA256"},
        {"P384-SHA384", STATE_OPRF_KEY_KIND "-P384-SHA384"},
        {"P521-SHA512", STATE_OPRF_KEY_KIND "-P521-SHA512"},
};

const char *
state_oprf_key_kind(const oprf_suite *suite)
{
	for (size_t i = 0; suite != NULL && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(oprf_suite_name(suite), kinds[i][0]) == 0)
			return kinds[i][1];
	return NULL;
}

veil_err
state_create(const char *dir, oprf_mode mode, const oprf_suite *suite, const char **why)
{
	if (suite == NULL)
		suite = oprf_suite_by_name(REGISTRY_DEFAULT_SUITE);
	const char *kind = state_oprf_key_kind(suite);
	char name[OPRF_KEY_NAME_SIZE];
	char *transport_path = NULL, *oprf_path = NULL, *registry_path = NULL;
	uint8_t *secret = NULL;
	oprf_key *key = NULL;
	int made_dir = 0, made_transport = 0, made_oprf = 0;
	struct stat st;
	veil_err err;

	set_why(why, NULL);
	if (kind == NULL) {
		set_why(why, "suite");
		return VEIL_ERR_UNSUPPORTED;
	}
	if (dir == NULL || dir[0] == '\0') {
		set_why(why, "state directory");
		return VEIL_ERR_ARGUMENT;
	}
	oprf_key_name(name, STATE_FIRST_KEY_ID);
	if ((transport_path = store_file_join(dir, STATE_TRANSPORT_KEY_FILE)) == NULL ||
	    (oprf_path = store_file_join(dir, name)) == NULL ||
	    (registry_path = state_registry_path(dir)) == NULL ||
	    (secret = sodium_malloc(OPRF_MAX_SCALAR_SIZE)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}

	if (mkdir(dir, 0700) == 0) {
		made_dir = 1;
	} else if (errno != EEXIST || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		set_why(why, "state directory");
		err = errno == EEXIST ? VEIL_ERR_EXISTS : VEIL_ERR_SYSTEM;
		goto out;
	}
	/* Check all three first, so that a refusal touches nothing. */
	static const char *const names[] = {"transport key file transport.key",
	                                    "OPRF key file oprf-00000001.key",
	                                    "registry directory"};
	const char *paths[] = {transport_path, oprf_path, registry_path};
	for (size_t i = 0; i < 3; i++) {
		int e = exists(paths[i]);
		if (e != 0) {
			set_why(why, names[i]);
			err = e > 0 ? VEIL_ERR_EXISTS : VEIL_ERR_SYSTEM;
			goto out;
		}
	}

	/* X25519: any 32 random bytes are a secret key (clamped when used). */
	randombytes_buf(secret, STATE_TRANSPORT_KEY_SIZE);
	err = keyfile_write(transport_path, STATE_TRANSPORT_KEY_KIND, secret,
	                    STATE_TRANSPORT_KEY_SIZE);
	sodium_memzero(secret, STATE_TRANSPORT_KEY_SIZE);
	if (err != VEIL_OK) {
		set_why(why, names[0]);
		goto out;
	}
	made_transport = 1;

	if ((err = oprf_key_generate(suite, &key)) != VEIL_OK) {
		set_why(why, names[1]);
		goto out;
	}
	oprf_key_export_secret(key, secret);
	err = keyfile_write(oprf_path, kind, secret, oprf_suite_scalar_size(suite));
	sodium_memzero(secret, OPRF_MAX_SCALAR_SIZE);
	if (err != VEIL_OK) {
		set_why(why, names[1]);
		goto out;
	}
	made_oprf = 1;

	if ((err = registry_create(registry_path, STATE_TAG_LEN, STATE_FIRST_KEY_ID, (uint8_t)mode,
	                           suite)) != VEIL_OK) {
		set_why(why, names[2]);
		goto out;
	}
out:
	if (err != VEIL_OK) {
		if (made_oprf)
			unlink(oprf_path);
		if (made_transport)
			unlink(transport_path);
		if (made_dir)
			rmdir(dir);
	}
	oprf_key_free(key);
	sodium_free(secret);
	free(transport_path);
	free(oprf_path);
	free(registry_path);
	return err;
}

void
state_free(veil_state *st)
{
	if (st == NULL)
		return;
	for (loaded_key *k = st->loaded, *next; k != NULL; k = next) {
		next = k->next;
		oprf_key_free(k->key);
		free(k);
	}
	for (key_set *set = atomic_load(&st->keys), *older; set != NULL; set = older) {
		older = set->older;
		free(set);
	}
	if (st->lock_made)
		pthread_mutex_destroy(&st->refresh_lock);
	registry_free(st->reg);
	sodium_free(st->transport_secret);
	sodium_memzero(st->transport_public, sizeof(st->transport_public));
	free(st->dir);
	free(st->registry_path);
	free(st);
}

veil_err
state_transport_key_load(const char *dir, uint8_t *secret,
                         uint8_t public_out[STATE_TRANSPORT_KEY_SIZE])
{
	if (dir == NULL || secret == NULL || public_out == NULL)
		return VEIL_ERR_ARGUMENT;
	char *path = store_file_join(dir, STATE_TRANSPORT_KEY_FILE);
	veil_err err = VEIL_ERR_NOMEM;
	if (path != NULL)
		err = keyfile_read(path, STATE_TRANSPORT_KEY_KIND, secret,
		                   STATE_TRANSPORT_KEY_SIZE);
	free(path);
	if (err == VEIL_OK && crypto_scalarmult_base(public_out, secret) != 0)
		err = VEIL_ERR_CORRUPT;
	if (err != VEIL_OK) {
		sodium_memzero(secret, STATE_TRANSPORT_KEY_SIZE);
		sodium_memzero(public_out, STATE_TRANSPORT_KEY_SIZE);
	}
	return err;
}

veil_err
state_open(const char *dir, veil_state **out, const char **why)
{
	veil_state *st = NULL;
	char *path = NULL;
	registry_reader *reader = NULL;
	registry_view view;
	veil_err err;

	set_why(why, NULL);
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (dir == NULL) {
		set_why(why, "state directory");
		return VEIL_ERR_ARGUMENT;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->transport_secret = sodium_malloc(STATE_TRANSPORT_KEY_SIZE)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}

	struct stat dir_st;
	set_why(why, "state directory");
	if (stat(dir, &dir_st) != 0) {
		err = errno == ENOENT || errno == ENOTDIR ? VEIL_ERR_NOT_FOUND : VEIL_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISDIR(dir_st.st_mode)) {
		err = VEIL_ERR_NOT_FOUND;
		goto out;
	}
	set_why(why, "registry directory");
	if ((path = state_registry_path(dir)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	if ((err = registry_open(path, &st->reg)) != VEIL_OK ||
	    (err = registry_reader_new(st->reg, &reader)) != VEIL_OK ||
	    (err = registry_reader_begin(reader, &view)) != VEIL_OK)
		goto out;
	registry_reader_end(reader);
	st->suite = view.suite;

	set_why(why, "transport key file transport.key");
	if ((err = state_transport_key_load(dir, st->transport_secret, st->transport_public)) !=
	    VEIL_OK)
		goto out;
	sodium_mprotect_readonly(st->transport_secret);

	set_why(why, "an OPRF key file (oprf-<key id>.key)");
	if ((st->dir = strdup(dir)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	if (pthread_mutex_init(&st->refresh_lock, NULL) != 0) {
		err = VEIL_ERR_SYSTEM;
		goto out;
	}
	st->lock_made = 1;
	if ((err = state_refresh_keys(st)) != VEIL_OK) {
		if (err == VEIL_ERR_UNSUPPORTED)
			set_why(why,
			        "an OPRF key file (oprf-<key id>.key) of another suite than the "
			        "registry's");
		goto out;
	}
	set_why(why, NULL);
	st->registry_path = path;
	path = NULL;
	*out = st;
	st = NULL;
out:
	registry_reader_free(reader);
	state_free(st);
	free(path);
	return err;
}

registry *
state_registry(const veil_state *st)
{
	return st->reg;
}

const oprf_suite *
state_suite(const veil_state *st)
{
	return st->suite;
}

const uint8_t *
state_transport_public(const veil_state *st)
{
	return st->transport_public;
}

const uint8_t *
state_transport_secret(const veil_state *st)
{
	return st->transport_secret;
}

static const key_set *
published(const veil_state *st)
{
	return atomic_load_explicit(&((veil_state *)(uintptr_t)st)->keys, memory_order_acquire);
}

const oprf_key *
state_oprf_key(const veil_state *st, uint32_t key_id)
{
	const key_set *set = published(st);
	for (size_t i = 0; set != NULL && i < set->count; i++)
		if (set->keys[i].id == key_id)
			return set->keys[i].key;
	return NULL;
}

uint32_t
state_current_key_id(const veil_state *st)
{
	const key_set *set = published(st);
	return set != NULL && set->count > 0 ? set->keys[0].id : 0;
}

const registry_key *
state_keys(const veil_state *st, size_t *count)
{
	const key_set *set = published(st);
	*count = set != NULL ? set->count : 0;
	return set != NULL ? set->keys : NULL;
}

/* ------------------------------------------------------------------ */
/* Refreshing the loaded keys, and rotation */

static const oprf_key *
loaded_find(const veil_state *st, uint32_t key_id)
{
	for (const loaded_key *k = st->loaded; k != NULL; k = k->next)
		if (k->id == key_id)
			return k->key;
	return NULL;
}

/*
 * Whether the key file at path holds a key of a suite other than st's:
 * one that reads under that suite's label and length.
 */
static int
of_another_suite(const veil_state *st, const char *path, uint8_t *secret)
{
	int found = 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && !found; i++) {
		const oprf_suite *other = oprf_suite_by_name(kinds[i][0]);
		if (other == NULL || other == st->suite)
			continue;
		found = keyfile_read(path, state_oprf_key_kind(other), secret,
		                     oprf_suite_scalar_size(other)) == VEIL_OK;
	}
	sodium_memzero(secret, OPRF_MAX_SCALAR_SIZE);
	return found;
}

/* Reads DIR/oprf-<id>.key and adds it to st->loaded. Under refresh_lock. */
static veil_err
load_key(veil_state *st, uint32_t key_id)
{
	const oprf_suite *suite = st->suite;
	char name[OPRF_KEY_NAME_SIZE];
	char *path = NULL;
	uint8_t *secret = NULL;
	loaded_key *k = NULL;
	veil_err err;

	oprf_key_name(name, key_id);
	if ((path = store_file_join(st->dir, name)) == NULL ||
	    (secret = sodium_malloc(OPRF_MAX_SCALAR_SIZE)) == NULL ||
	    (k = calloc(1, sizeof(*k))) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	if ((err = keyfile_read(path, state_oprf_key_kind(suite), secret,
	                        oprf_suite_scalar_size(suite))) != VEIL_OK) {
		if (err == VEIL_ERR_CORRUPT && of_another_suite(st, path, secret))
			err = VEIL_ERR_UNSUPPORTED;
		goto out;
	}
	if ((err = oprf_key_import(suite, secret, &k->key)) != VEIL_OK)
		goto out;
	k->id = key_id;
	k->next = st->loaded;
	st->loaded = k;
	k = NULL;
out:
	if (secret != NULL) {
		sodium_memzero(secret, OPRF_MAX_SCALAR_SIZE);
		sodium_free(secret);
	}
	free(k);
	free(path);
	return err;
}

veil_err
state_refresh_keys(veil_state *st)
{
	registry_schedule schedule;
	veil_err err, first = VEIL_OK;
	key_set *set = NULL;

	if (st == NULL)
		return VEIL_ERR_ARGUMENT;
	pthread_mutex_lock(&st->refresh_lock);
	if ((err = registry_schedule_read(st->reg, &schedule)) != VEIL_OK)
		goto out;
	for (uint32_t i = 0; i < schedule.key_count; i++)
		if (loaded_find(st, schedule.key_ids[i]) == NULL &&
		    (err = load_key(st, schedule.key_ids[i])) != VEIL_OK && first == VEIL_OK)
			first = err;
	size_t loaded = 0;
	for (const loaded_key *k = st->loaded; k != NULL; k = k->next)
		loaded++;
	if ((set = calloc(1, sizeof(*set) + loaded * sizeof(registry_key))) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	/* The live keys in the registry's order (current first), then the rest. */
	for (uint32_t i = 0; i < schedule.key_count; i++) {
		const oprf_key *key = loaded_find(st, schedule.key_ids[i]);
		if (key != NULL)
			set->keys[set->count++] = (registry_key){schedule.key_ids[i], key};
	}
	for (const loaded_key *k = st->loaded; k != NULL; k = k->next) {
		size_t i = 0;
		while (i < set->count && set->keys[i].id != k->id)
			i++;
		if (i == set->count)
			set->keys[set->count++] = (registry_key){k->id, k->key};
	}
	set->older = atomic_load_explicit(&st->keys, memory_order_relaxed);
	if (set->older != NULL && set->older->count == set->count &&
	    memcmp(set->older->keys, set->keys, set->count * sizeof(registry_key)) == 0) {
		free(set); /* nothing new */
	} else {
		atomic_store_explicit(&st->keys, set, memory_order_release);
	}
	set = NULL;
	err = first;
out:
	pthread_mutex_unlock(&st->refresh_lock);
	free(set);
	return err;
}

/* Erases a key file (store_file_erase()) and syncs the directory. A missing one is no error. */
static veil_err
erase_key_file(const char *dir, uint32_t key_id)
{
	char name[OPRF_KEY_NAME_SIZE];
	oprf_key_name(name, key_id);
	char *path = store_file_join(dir, name);
	if (path == NULL)
		return VEIL_ERR_NOMEM;
	veil_err err = store_file_erase(path);
	free(path);
	if (err == VEIL_ERR_NOT_FOUND)
		return VEIL_OK;
	return err != VEIL_OK ? err : store_file_sync_dir(dir);
}

/* Whether name is "oprf-<8 lowercase hex>.key"; *id gets the id. */
static int
parse_key_file_name(const char *name, uint32_t *id)
{
	if (strlen(name) != OPRF_KEY_NAME_SIZE - 1 || strncmp(name, "oprf-", 5) != 0 ||
	    strcmp(name + 13, ".key") != 0)
		return 0;
	return registry_parse_key_id(name + 5, id);
}

/* Erases every OPRF key file of an id that schedule does not list. */
static veil_err
erase_orphans(const char *dir, const registry_schedule *schedule, uint32_t *erased)
{
	uint32_t ids[64];
	size_t n = 0;
	veil_err err = VEIL_OK;
	DIR *d = opendir(dir);
	if (d == NULL)
		return VEIL_ERR_SYSTEM;
	for (struct dirent *e; (e = readdir(d)) != NULL && n < sizeof(ids) / sizeof(ids[0]);) {
		uint32_t id;
		if (!parse_key_file_name(e->d_name, &id))
			continue;
		int live = 0;
		for (uint32_t i = 0; i < schedule->key_count; i++)
			live |= schedule->key_ids[i] == id;
		if (!live)
			ids[n++] = id;
	}
	closedir(d);
	for (size_t i = 0; i < n && err == VEIL_OK; i++)
		if ((err = erase_key_file(dir, ids[i])) == VEIL_OK && erased != NULL)
			(*erased)++;
	return err;
}

/*
 * The start of a rotation or a retirement: clears *out, refuses bad
 * arguments (st NULL, or args_ok 0), and takes the rotation lock into
 * *lock (-1 when not taken; the caller closes it).
 */
static veil_err
rotation_start(veil_state *st, int args_ok, state_rotation *out, const char **why, int *lock)
{
	*lock = -1;
	set_why(why, NULL);
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (st == NULL || !args_ok) {
		set_why(why, "arguments");
		return VEIL_ERR_ARGUMENT;
	}
	set_why(why, "state directory");
	/* Excludes other rotations of the same state (released by close, or by death). */
	if ((*lock = store_file_lock_dir(st->dir)) < 0)
		return VEIL_ERR_SYSTEM;
	set_why(why, "registry");
	return VEIL_OK;
}

/* After a change: report the keys it removed, erase the key files retired and orphaned, reload. */
static veil_err
rotation_cleanup(veil_state *st, const registry_rotation *rotation, state_rotation *out,
                 const char **why)
{
	registry_schedule schedule;
	veil_err err;
	out->removed_count = rotation->removed_count;
	memcpy(out->removed, rotation->removed, sizeof(out->removed));
	set_why(why, "registry");
	if ((err = registry_schedule_read(st->reg, &schedule)) != VEIL_OK)
		return err;
	set_why(why, "an OPRF key file (oprf-<key id>.key)");
	if ((err = erase_orphans(st->dir, &schedule, &out->erased_files)) != VEIL_OK)
		return err;
	if ((err = state_refresh_keys(st)) != VEIL_OK)
		return err;
	set_why(why, NULL);
	return VEIL_OK;
}

veil_err
state_rotate(veil_state *st, uint64_t now, uint64_t grace_seconds,
             const registry_import_options *options, state_rotation *out, const char **why)
{
	const oprf_suite *suite = st != NULL ? st->suite : NULL;
	registry_schedule schedule;
	registry_rotation rotation;
	char name[OPRF_KEY_NAME_SIZE];
	char *path = NULL;
	uint8_t *secret = NULL;
	oprf_key *key = NULL;
	int lock, made = 0;
	veil_err err;

	if ((err = rotation_start(st,
	                          suite != NULL && now != 0 && grace_seconds <= UINT64_MAX - now,
	                          out, why, &lock)) != VEIL_OK)
		return err;
	if ((err = registry_schedule_read(st->reg, &schedule)) != VEIL_OK)
		goto out;
	uint32_t highest = 0;
	for (uint32_t i = 0; i < schedule.key_count; i++)
		highest = schedule.key_ids[i] > highest ? schedule.key_ids[i] : highest;
	if (highest == UINT32_MAX) {
		err = VEIL_ERR_LIMIT;
		goto out;
	}
	out->new_key_id = highest + 1;

	/* A killed rotation may have left the new id's file: not live, so erased. */
	set_why(why, "an OPRF key file (oprf-<key id>.key)");
	if ((err = erase_orphans(st->dir, &schedule, &out->erased_files)) != VEIL_OK)
		goto out;
	oprf_key_name(name, out->new_key_id);
	if ((path = store_file_join(st->dir, name)) == NULL ||
	    (secret = sodium_malloc(OPRF_MAX_SCALAR_SIZE)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	if ((err = oprf_key_generate(suite, &key)) != VEIL_OK)
		goto out;
	oprf_key_export_secret(key, secret);
	err = keyfile_write(path, state_oprf_key_kind(suite), secret,
	                    oprf_suite_scalar_size(suite));
	sodium_memzero(secret, OPRF_MAX_SCALAR_SIZE);
	if (err != VEIL_OK)
		goto out;
	made = 1;
	if ((err = store_file_sync_dir(st->dir)) != VEIL_OK)
		goto out;

	set_why(why, "registry");
	const registry_key new_key = {out->new_key_id, key};
	if ((err = registry_rotate(st->reg, &new_key, now, now + grace_seconds, options,
	                           &rotation)) != VEIL_OK) {
		if (err == VEIL_ERR_LIMIT && rotation.crowded > 0)
			set_why(why,
			        "a bucket holds more handles than the cap of " TEXT_OF(
			                REGISTRY_MAX_PER_BUCKET) " per bucket; remove some first");
		goto out;
	}
	made = 0; /* live now */
	out->retire_at = now + grace_seconds;
	err = rotation_cleanup(st, &rotation, out, why);
out:
	if (made)
		(void)erase_key_file(st->dir, out->new_key_id);
	if (err != VEIL_OK && out->removed_count == 0)
		memset(out, 0, sizeof(*out));
	if (lock >= 0)
		close(lock);
	oprf_key_free(key);
	sodium_free(secret);
	free(path);
	return err;
}

veil_err
state_retire_keys(veil_state *st, uint64_t now, state_rotation *out, const char **why)
{
	registry_rotation rotation;
	int lock;

	veil_err err = rotation_start(st, 1, out, why, &lock);
	if (err != VEIL_OK)
		return err;
	if ((err = registry_retire(st->reg, now, &rotation)) == VEIL_OK)
		err = rotation_cleanup(st, &rotation, out, why);
	close(lock);
	return err;
}

/* ------------------------------------------------------------------ */
/* Snapshots */

/* dir's parent directory (or "."), fsynced. */
static veil_err
sync_parent(const char *path)
{
	char *parent = strdup(path);
	if (parent == NULL)
		return VEIL_ERR_NOMEM;
	char *slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	const veil_err err = store_file_sync_dir(slash == NULL ? "." : parent);
	free(parent);
	return err;
}

/* The most bytes a file copied beside the registry may hold (key files, a challenge). */
#define SNAPSHOT_MAX_FILE 65536

/*
 * Reads the regular file path (never through a link) whole into bytes
 * (SNAPSHOT_MAX_FILE bytes, guarded); *len gets its length.
 */
static veil_err
read_small_file(const char *path, uint8_t *bytes, size_t *len)
{
	*len = 0;
	const int in = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return store_file_errno_err(errno);
	veil_err err = VEIL_OK;
	for (ssize_t n; *len < SNAPSHOT_MAX_FILE; *len += (size_t)n) {
		n = read(in, bytes + *len, SNAPSHOT_MAX_FILE - *len);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n < 0) {
			err = VEIL_ERR_SYSTEM;
			break;
		}
		if (n == 0)
			break;
	}
	close(in);
	if (err == VEIL_OK && *len == SNAPSHOT_MAX_FILE)
		err = VEIL_ERR_CORRUPT; /* larger than any file a state keeps */
	return err;
}

/*
 * Copies the regular file dir/name to out/name (0600, fsynced, never
 * through a link or over a file). The bytes pass through guarded memory,
 * wiped after.
 */
static veil_err
copy_small_file(const char *dir, const char *out, const char *name)
{
	char *from = store_file_join(dir, name), *to = store_file_join(out, name);
	uint8_t *bytes = sodium_malloc(SNAPSHOT_MAX_FILE);
	veil_err err = VEIL_ERR_NOMEM;
	int fd = -1;
	size_t len = 0;
	if (from == NULL || to == NULL || bytes == NULL)
		goto done;
	if ((err = read_small_file(from, bytes, &len)) != VEIL_OK)
		goto done;
	err = VEIL_ERR_SYSTEM;
	if ((fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    fchmod(fd, 0600) != 0)
		goto done;
	for (size_t done = 0; done < len;) {
		const ssize_t n = write(fd, bytes + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto done;
		done += (size_t)n;
	}
	if (fsync(fd) == 0)
		err = VEIL_OK;
done:
	if (fd >= 0)
		close(fd);
	sodium_free(bytes); /* wipes */
	free(from);
	free(to);
	return err;
}

/* Makes dir (0700 whatever the umask). */
static veil_err
make_private_dir(const char *dir)
{
	if (mkdir(dir, 0700) != 0)
		return errno == EEXIST ? VEIL_ERR_EXISTS : store_file_errno_err(errno);
	return chmod(dir, 0700) == 0 ? VEIL_OK : VEIL_ERR_SYSTEM;
}

/* Removes dir and the files in it and in its subdirectories, one level
 * deep (what a snapshot makes); secret files are erased. Best effort. */
static void
remove_snapshot_dir(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (d != NULL) {
		for (struct dirent *e; (e = readdir(d)) != NULL;) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char *path = store_file_join(dir, e->d_name);
			if (path == NULL)
				continue;
			struct stat st;
			const int known = lstat(path, &st) == 0;
			if (known && S_ISDIR(st.st_mode) && depth > 0)
				remove_snapshot_dir(path, depth - 1);
			else if (known && S_ISREG(st.st_mode) && st.st_size <= SNAPSHOT_MAX_FILE) {
				if (store_file_erase(path) != VEIL_OK)
					(void)unlink(path);
			} else
				(void)unlink(path);
			free(path);
		}
		closedir(d);
	}
	(void)rmdir(dir);
}

/* Copies every regular file of dir/sub to out/sub (made 0700). */
static veil_err
copy_flat_dir(const char *dir, const char *out, const char *sub)
{
	char *from = store_file_join(dir, sub), *to = store_file_join(out, sub);
	veil_err err = VEIL_ERR_NOMEM;
	DIR *d = NULL;
	if (from == NULL || to == NULL)
		goto done;
	if ((err = make_private_dir(to)) != VEIL_OK)
		goto done;
	if ((d = opendir(from)) == NULL) {
		err = store_file_errno_err(errno);
		goto done;
	}
	for (struct dirent *e; err == VEIL_OK && (e = readdir(d)) != NULL;) {
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			err = copy_small_file(from, to, e->d_name);
	}
	if (err == VEIL_OK)
		err = store_file_sync_dir(to);
done:
	if (d != NULL)
		closedir(d);
	free(from);
	free(to);
	return err;
}

/* Writes tmp/registry/data.mdb, the compact copy of dir's registry, and
 * sets *copy to it opened. */
static veil_err
snapshot_registry(const char *dir, const char *tmp, registry **copy, const char **why)
{
	char *src = state_registry_path(dir), *dst = state_registry_path(tmp);
	char *file = dst == NULL ? NULL : store_file_join(dst, "data.mdb");
	registry *reg = NULL;
	veil_err err = VEIL_ERR_NOMEM;
	int fd = -1;
	*copy = NULL;
	set_why(why, "registry");
	if (src == NULL || dst == NULL || file == NULL)
		goto done;
	if ((err = registry_open(src, &reg)) != VEIL_OK)
		goto done;
	set_why(why, "registry copy");
	if ((err = make_private_dir(dst)) != VEIL_OK)
		goto done;
	err = VEIL_ERR_SYSTEM;
	if ((fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    fchmod(fd, 0600) != 0)
		goto done;
	if ((err = registry_copy_compact(reg, fd)) != VEIL_OK)
		goto done;
	if (close(fd) != 0) {
		fd = -1;
		err = VEIL_ERR_SYSTEM;
		goto done;
	}
	fd = -1;
	/* Opened as a replica's veild will open it: the copy is a registry. */
	set_why(why, "registry copy (opening it)");
	if ((err = registry_open(dst, copy)) != VEIL_OK)
		goto done;
	err = store_file_sync_dir(dst);
done:
	if (fd >= 0)
		close(fd);
	registry_free(reg);
	free(src);
	free(dst);
	free(file);
	return err;
}

veil_err
state_snapshot(const char *dir, const char *out_dir, const char **why)
{
	set_why(why, NULL);
	if (dir == NULL || out_dir == NULL)
		return VEIL_ERR_ARGUMENT;
	char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp", out_dir) < 0)
		return VEIL_ERR_NOMEM;
	int lock = -1, made = 0;
	registry *copy = NULL;
	veil_err err = VEIL_ERR_EXISTS;
	set_why(why, "output directory");
	if (exists(out_dir) != 0)
		goto done;
	set_why(why, "output directory's .tmp, left by an interrupted snapshot (remove it)");
	if (exists(tmp) != 0)
		goto done;
	set_why(why, "state directory (lock)");
	if ((lock = store_file_lock_dir(dir)) < 0) {
		err = store_file_errno_err(errno);
		goto done;
	}
	set_why(why, "output directory");
	if ((err = make_private_dir(tmp)) != VEIL_OK)
		goto done;
	made = 1;
	if ((err = snapshot_registry(dir, tmp, &copy, why)) != VEIL_OK)
		goto done;
	registry_schedule schedule;
	set_why(why, "registry copy (its keys)");
	if ((err = registry_schedule_read(copy, &schedule)) != VEIL_OK)
		goto done;
	set_why(why, "transport key file");
	if ((err = copy_small_file(dir, tmp, STATE_TRANSPORT_KEY_FILE)) != VEIL_OK)
		goto done;
	set_why(why, "OPRF key file");
	for (uint32_t i = 0; i < schedule.key_count; i++) {
		char name[OPRF_KEY_NAME_SIZE];
		oprf_key_name(name, schedule.key_ids[i]);
		if ((err = copy_small_file(dir, tmp, name)) != VEIL_OK)
			goto done;
	}
	set_why(why, "token issuer keys (" STATE_TOKENS_DIR ")");
	if (store_file_exists(dir, STATE_TOKENS_DIR) &&
	    (err = copy_flat_dir(dir, tmp, STATE_TOKENS_DIR)) != VEIL_OK)
		goto done;
	set_why(why, "output directory (its " STATE_SNAPSHOT_MARK " file)");
	if ((err = store_file_write_synced(tmp, STATE_SNAPSHOT_MARK, STATE_SNAPSHOT_MARK_TEXT,
	                                   strlen(STATE_SNAPSHOT_MARK_TEXT), 0600)) != VEIL_OK)
		goto done;
	set_why(why, "output directory");
	if ((err = store_file_sync_dir(tmp)) != VEIL_OK)
		goto done;
	registry_free(copy);
	copy = NULL;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out_dir, RENAME_NOREPLACE) != 0) {
		err = errno == EEXIST ? VEIL_ERR_EXISTS : VEIL_ERR_SYSTEM;
		goto done;
	}
	made = 0;
	err = sync_parent(out_dir);
	set_why(why, err == VEIL_OK ? NULL : "output directory's parent (fsync)");
done:
	registry_free(copy);
	if (made)
		remove_snapshot_dir(tmp, 1);
	if (lock >= 0)
		close(lock);
	free(tmp);
	return err;
}

/* ------------------------------------------------------------------ */
/* Installing a snapshot into a replica */

#define GENERATION_PREFIX    "registry."
#define REGISTRY_NEXT        "registry.next"
/* "registry." and a uint32_t in decimal. */
#define GENERATION_NAME_SIZE (sizeof(GENERATION_PREFIX) + 10)

int
state_is_replica(const char *dir)
{
	char *reg = state_registry_path(dir), *mark = store_file_join(dir, STATE_SNAPSHOT_MARK);
	int replica = -1;
	struct stat st;
	if (reg != NULL && mark != NULL) {
		const int link = lstat(reg, &st) == 0 && S_ISLNK(st.st_mode);
		const int marked = exists(mark);
		if (marked >= 0)
			replica = link || marked;
	}
	free(reg);
	free(mark);
	return replica;
}

int
state_registry_changed(const veil_state *st)
{
	/* The file open against the one the link names now: no window in
	 * which an install goes unnoticed, or the registry open is reopened. */
	return st != NULL && registry_is_at(st->reg, st->registry_path) == 0;
}

/* Whether name is "registry.<N>", N decimal without leading zeros; *n gets N. */
static int
parse_generation(const char *name, uint32_t *n)
{
	const size_t prefix = sizeof(GENERATION_PREFIX) - 1;
	if (strncmp(name, GENERATION_PREFIX, prefix) != 0)
		return 0;
	const char *digits = name + prefix;
	const size_t len = strlen(digits);
	if (len == 0 || len > 10 || (digits[0] == '0' && len > 1))
		return 0;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (digits[i] < '0' || digits[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(digits[i] - '0');
	}
	if (v > UINT32_MAX)
		return 0;
	*n = (uint32_t)v;
	return 1;
}

/*
 * The generation DIR/registry names: *current gets N for a link to
 * registry.<N>, 0 (and *plain 1) for a plain directory. VEIL_ERR_NOT_FOUND
 * when there is none, VEIL_ERR_CORRUPT for anything else.
 */
static veil_err
current_generation(const char *dir, uint32_t *current, int *plain)
{
	char *reg = state_registry_path(dir);
	char target[GENERATION_NAME_SIZE + 1];
	struct stat st;
	veil_err err = VEIL_ERR_NOMEM;
	*current = 0;
	*plain = 0;
	if (reg == NULL)
		return err;
	if (lstat(reg, &st) != 0) {
		err = store_file_errno_err(errno);
	} else if (S_ISDIR(st.st_mode)) {
		*plain = 1;
		err = VEIL_OK;
	} else if (S_ISLNK(st.st_mode)) {
		const ssize_t n = readlink(reg, target, sizeof(target) - 1);
		err = VEIL_ERR_CORRUPT;
		if (n > 0 && (size_t)n < sizeof(target) - 1) {
			target[n] = '\0';
			if (parse_generation(target, current) && *current > 0)
				err = VEIL_OK;
		}
	} else {
		err = VEIL_ERR_CORRUPT;
	}
	free(reg);
	return err;
}

/* The highest generation in dir (registry.<N>, any kind of file), 0 if none. */
static veil_err
highest_generation(const char *dir, uint32_t *highest)
{
	*highest = 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return store_file_errno_err(errno);
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		uint32_t n;
		if (parse_generation(e->d_name, &n) && n > *highest)
			*highest = n;
	}
	closedir(d);
	return VEIL_OK;
}

/*
 * Removes dir/name whatever it is: a link, a file, or a generation, whose
 * files are unlinked, never overwritten (a registry holds no key, and a
 * veild that has not switched yet keeps reading the files it has open:
 * their pages stay until it closes them). Best effort.
 */
static void
remove_entry(const char *dir, const char *name)
{
	char *path = store_file_join(dir, name);
	struct stat st;
	const int known = path != NULL && lstat(path, &st) == 0;
	if (known && !S_ISDIR(st.st_mode))
		(void)unlink(path);
	if (known && S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				(void)unlinkat(dirfd(d), e->d_name, 0);
		if (d != NULL)
			closedir(d);
		(void)rmdir(path);
	}
	free(path);
}

/*
 * Whether from looks like what state_snapshot() writes: the mark, a
 * registry that is a plain directory, and nothing but the transport
 * key, OPRF key files and tokens/ beside them.
 */
static veil_err
check_snapshot_shape(const char *from, const char **why)
{
	char *mark = store_file_join(from, STATE_SNAPSHOT_MARK), *reg = state_registry_path(from);
	uint8_t text[sizeof(STATE_SNAPSHOT_MARK_TEXT)];
	veil_err err = VEIL_ERR_NOMEM;
	struct stat st;
	DIR *d = NULL;
	if (mark == NULL || reg == NULL)
		goto done;
	set_why(why, "source directory: not a snapshot (no " STATE_SNAPSHOT_MARK
	             " file: make one with veil-admin snapshot)");
	err = VEIL_ERR_NOT_FOUND;
	const int fd = open(mark, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		goto done;
	const ssize_t n = read(fd, text, sizeof(text));
	close(fd);
	if (n != (ssize_t)strlen(STATE_SNAPSHOT_MARK_TEXT) ||
	    memcmp(text, STATE_SNAPSHOT_MARK_TEXT, (size_t)n) != 0)
		goto done;
	set_why(why, "source directory: its registry is not a plain directory");
	err = VEIL_ERR_CORRUPT;
	if (lstat(reg, &st) != 0) {
		err = store_file_errno_err(errno);
		set_why(why, "source directory: no registry (installed already?)");
		goto done;
	}
	if (!S_ISDIR(st.st_mode))
		goto done;
	set_why(why, "source directory: it holds more than a snapshot does (a state in use?)");
	if ((d = opendir(from)) == NULL) {
		err = store_file_errno_err(errno);
		goto done;
	}
	err = VEIL_OK;
	for (struct dirent *e; err == VEIL_OK && (e = readdir(d)) != NULL;) {
		uint32_t id;
		const char *name = e->d_name;
		if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
		    strcmp(name, STATE_SNAPSHOT_MARK) != 0 &&
		    strcmp(name, STATE_REGISTRY_DIR) != 0 &&
		    strcmp(name, STATE_TRANSPORT_KEY_FILE) != 0 &&
		    strcmp(name, STATE_TOKENS_DIR) != 0 && !parse_key_file_name(name, &id))
			err = VEIL_ERR_CORRUPT;
	}
	if (err == VEIL_OK)
		set_why(why, NULL);
done:
	if (d != NULL)
		closedir(d);
	free(mark);
	free(reg);
	return err;
}

/* The live key ids and the suite of the registry at path. */
static veil_err
registry_facts(const char *path, registry_schedule *schedule, const oprf_suite **suite)
{
	registry *reg = NULL;
	registry_reader *reader = NULL;
	registry_view view;
	veil_err err;
	if ((err = registry_open(path, &reg)) == VEIL_OK &&
	    (err = registry_schedule_read(reg, schedule)) == VEIL_OK &&
	    (err = registry_reader_new(reg, &reader)) == VEIL_OK &&
	    (err = registry_reader_begin(reader, &view)) == VEIL_OK) {
		*suite = view.suite;
		registry_reader_end(reader);
	}
	registry_reader_free(reader);
	registry_free(reg);
	return err;
}

/*
 * Whether dir and from hold the same transport key: VEIL_OK, or
 * VEIL_ERR_ARGUMENT when they differ, or what loading one returned.
 */
static veil_err
same_transport_key(const char *dir, const char *from)
{
	uint8_t *secret = sodium_malloc(STATE_TRANSPORT_KEY_SIZE);
	uint8_t mine[STATE_TRANSPORT_KEY_SIZE], theirs[STATE_TRANSPORT_KEY_SIZE];
	veil_err err = VEIL_ERR_NOMEM;
	if (secret != NULL && (err = state_transport_key_load(dir, secret, mine)) == VEIL_OK &&
	    (err = state_transport_key_load(from, secret, theirs)) == VEIL_OK)
		err = sodium_memcmp(mine, theirs, sizeof(mine)) == 0 ? VEIL_OK : VEIL_ERR_ARGUMENT;
	sodium_free(secret); /* wipes */
	return err;
}

/*
 * For the key file name: VEIL_OK with *present 1 when dir has it and it
 * holds from's bytes, 0 when dir lacks it; VEIL_ERR_NOT_FOUND when from
 * lacks it, VEIL_ERR_EXISTS when both have it and they differ.
 */
static veil_err
compare_key_file(const char *dir, const char *from, const char *name, int *present)
{
	char *a = store_file_join(dir, name), *b = store_file_join(from, name);
	uint8_t *mine = sodium_malloc(SNAPSHOT_MAX_FILE),
	        *theirs = sodium_malloc(SNAPSHOT_MAX_FILE);
	size_t mine_len = 0, theirs_len = 0;
	veil_err err = VEIL_ERR_NOMEM;
	*present = 0;
	if (a == NULL || b == NULL || mine == NULL || theirs == NULL)
		goto done;
	if ((err = read_small_file(b, theirs, &theirs_len)) != VEIL_OK)
		goto done;
	err = read_small_file(a, mine, &mine_len);
	if (err == VEIL_ERR_NOT_FOUND) {
		err = VEIL_OK;
		goto done;
	}
	if (err != VEIL_OK)
		goto done;
	*present = 1;
	if (mine_len != theirs_len || sodium_memcmp(mine, theirs, mine_len) != 0)
		err = VEIL_ERR_EXISTS;
done:
	sodium_free(mine); /* wipes */
	sodium_free(theirs);
	free(a);
	free(b);
	return err;
}

/* Steps 1 and 2 of state_install(): every check, then the missing key files. */
static veil_err
install_check_and_copy_keys(const char *dir, const char *from, registry_schedule *old_keys,
                            registry_schedule *new_keys, state_install_result *out,
                            const char **why)
{
	char *old_path = state_registry_path(dir), *new_path = state_registry_path(from);
	const oprf_suite *old_suite = NULL, *new_suite = NULL;
	int present[REGISTRY_MAX_KEYS] = {0};
	veil_err err = VEIL_ERR_NOMEM;
	if (old_path == NULL || new_path == NULL)
		goto done;
	set_why(why, "transport key files");
	if ((err = same_transport_key(dir, from)) != VEIL_OK) {
		if (err == VEIL_ERR_ARGUMENT)
			set_why(why,
			        "the snapshot's transport key is not the replica's (a snapshot "
			        "of another server)");
		goto done;
	}
	set_why(why, "replica's registry");
	if ((err = registry_facts(old_path, old_keys, &old_suite)) != VEIL_OK)
		goto done;
	set_why(why, "snapshot's registry");
	if ((err = registry_facts(new_path, new_keys, &new_suite)) != VEIL_OK)
		goto done;
	set_why(why, "the snapshot's registry is of another suite than the replica's");
	if (old_suite != new_suite) {
		err = VEIL_ERR_ARGUMENT;
		goto done;
	}
	for (uint32_t i = 0; i < new_keys->key_count; i++) {
		char name[OPRF_KEY_NAME_SIZE];
		oprf_key_name(name, new_keys->key_ids[i]);
		set_why(why, "an OPRF key file (oprf-<key id>.key) of the snapshot");
		err = compare_key_file(dir, from, name, &present[i]);
		if (err == VEIL_ERR_EXISTS)
			set_why(why, "an OPRF key file (oprf-<key id>.key) of the replica differs "
			             "from the snapshot's (a key made on the replica?)");
		if (err != VEIL_OK)
			goto done;
	}
	set_why(why, "copying an OPRF key file into the replica");
	for (uint32_t i = 0; i < new_keys->key_count; i++) {
		char name[OPRF_KEY_NAME_SIZE];
		oprf_key_name(name, new_keys->key_ids[i]);
		if (present[i])
			continue;
		if ((err = copy_small_file(from, dir, name)) != VEIL_OK)
			goto done;
		out->keys_copied++;
	}
	if (out->keys_copied > 0 && (err = store_file_sync_dir(dir)) != VEIL_OK)
		goto done;
	set_why(why, NULL);
done:
	free(old_path);
	free(new_path);
	return err;
}

/* Step 5 of state_install(): what the switch left behind. Best effort. */
static void
install_tidy(const char *dir, const char *from, int was_plain, const registry_schedule *old_keys,
             const registry_schedule *new_keys, state_install_result *out)
{
	/* The old pointer: a link goes, a plain directory becomes registry.0. */
	char *next = store_file_join(dir, REGISTRY_NEXT),
	     *zero = store_file_join(dir, "registry.0");
	if (next != NULL && zero != NULL) {
		if (was_plain)
			(void)renameat2(AT_FDCWD, next, AT_FDCWD, zero, RENAME_NOREPLACE);
		else
			(void)unlink(next);
	}
	free(next);
	free(zero);
	uint32_t doomed[64];
	size_t n = 0;
	DIR *d = opendir(dir);
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL && n < 64;) {
		uint32_t g;
		if (parse_generation(e->d_name, &g) && g != out->generation && g != out->previous)
			doomed[n++] = g;
	}
	if (d != NULL)
		closedir(d);
	for (size_t i = 0; i < n; i++) {
		char name[GENERATION_NAME_SIZE];
		snprintf(name, sizeof(name), GENERATION_PREFIX "%u", doomed[i]);
		remove_entry(dir, name);
		out->removed++;
	}
	/* Key files live in neither registry go (the old one's stay while it may serve). */
	registry_schedule both = *new_keys;
	for (uint32_t i = 0; i < old_keys->key_count && both.key_count < REGISTRY_MAX_KEYS; i++)
		both.key_ids[both.key_count++] = old_keys->key_ids[i];
	veil_err err = erase_orphans(dir, &both, &out->erased_files);
	if (err == VEIL_OK)
		err = store_file_sync_dir(dir);
	(void)err; /* in force already: tidying is best effort */
	/* What is left of the snapshot: its key files (erased) and the mark. */
	remove_snapshot_dir(from, 1);
	err = sync_parent(from);
	(void)err;
}

veil_err
state_install(const char *dir, const char *from, state_install_result *out, const char **why)
{
	registry_schedule old_keys, new_keys;
	char gen_name[GENERATION_NAME_SIZE];
	char *moved_from = NULL, *moved_to = NULL, *next = NULL, *reg = NULL;
	uint32_t highest = 0;
	int lock = -1, plain = 0;
	veil_err err;

	set_why(why, "arguments");
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	memset(out, 0, sizeof(*out));
	if (dir == NULL || from == NULL)
		return VEIL_ERR_ARGUMENT;
	if ((err = check_snapshot_shape(from, why)) != VEIL_OK)
		goto done;
	set_why(why, "state directory (lock)");
	if ((lock = store_file_lock_dir(dir)) < 0) {
		err = store_file_errno_err(errno);
		goto done;
	}
	set_why(why, "replica's registry (" STATE_REGISTRY_DIR " is neither a directory nor a "
	             "link to a generation)");
	if ((err = current_generation(dir, &out->previous, &plain)) != VEIL_OK)
		goto done;
	if ((err = install_check_and_copy_keys(dir, from, &old_keys, &new_keys, out, why)) !=
	    VEIL_OK)
		goto done;

	/* Step 3: the new generation. A registry.next left by a crash goes first. */
	set_why(why, "state directory");
	err = VEIL_ERR_NOMEM;
	if ((next = store_file_join(dir, REGISTRY_NEXT)) == NULL ||
	    (reg = state_registry_path(dir)) == NULL ||
	    (moved_from = state_registry_path(from)) == NULL)
		goto done;
	remove_entry(dir, REGISTRY_NEXT);
	if ((err = highest_generation(dir, &highest)) != VEIL_OK)
		goto done;
	if (highest < out->previous)
		highest = out->previous;
	err = VEIL_ERR_LIMIT;
	if (highest == UINT32_MAX)
		goto done;
	out->generation = highest + 1;
	snprintf(gen_name, sizeof(gen_name), GENERATION_PREFIX "%u", out->generation);
	err = VEIL_ERR_NOMEM;
	if ((moved_to = store_file_join(dir, gen_name)) == NULL)
		goto done;
	set_why(why, "moving the snapshot's registry into the replica (it must be on the same "
	             "file system)");
	if (renameat2(AT_FDCWD, moved_from, AT_FDCWD, moved_to, RENAME_NOREPLACE) != 0) {
		err = errno == EEXIST ? VEIL_ERR_EXISTS : VEIL_ERR_SYSTEM;
		goto done;
	}
	if ((err = store_file_sync_dir(dir)) != VEIL_OK ||
	    (err = store_file_sync_dir(from)) != VEIL_OK)
		goto done;

	/* Step 4: the switch, one atomic exchange. */
	set_why(why, "switching the registry link");
	if (symlink(gen_name, next) != 0 ||
	    renameat2(AT_FDCWD, next, AT_FDCWD, reg, RENAME_EXCHANGE) != 0) {
		err = store_file_errno_err(errno);
		(void)unlink(next);
		goto done;
	}
	set_why(why, "state directory (fsync after the switch)");
	if ((err = store_file_sync_dir(dir)) != VEIL_OK)
		goto done;
	set_why(why, NULL);
	install_tidy(dir, from, plain, &old_keys, &new_keys, out);
done:
	if (err != VEIL_OK && out->generation != 0 && moved_to != NULL && moved_from != NULL) {
		/* Before the switch: the generation goes back where it came from. */
		struct stat st;
		if (lstat(reg, &st) == 0 && S_ISLNK(st.st_mode) &&
		    current_generation(dir, &highest, &plain) == VEIL_OK &&
		    highest == out->generation) {
			/* switched (only the fsync failed): in force, keep it */
		} else {
			(void)renameat2(AT_FDCWD, moved_to, AT_FDCWD, moved_from, RENAME_NOREPLACE);
		}
	}
	if (err != VEIL_OK)
		memset(out, 0, sizeof(*out));
	if (lock >= 0)
		close(lock);
	free(moved_from);
	free(moved_to);
	free(next);
	free(reg);
	return err;
}

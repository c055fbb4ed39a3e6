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

/* The most bytes a file copied beside the registry may hold (key files, a challenge). */
#define SNAPSHOT_MAX_FILE 65536

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
	int in = -1, fd = -1;
	if (from == NULL || to == NULL || bytes == NULL)
		goto done;
	if ((in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		err = store_file_errno_err(errno);
		goto done;
	}
	size_t len = 0;
	for (ssize_t n; len < SNAPSHOT_MAX_FILE; len += (size_t)n) {
		n = read(in, bytes + len, SNAPSHOT_MAX_FILE - len);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n < 0) {
			err = VEIL_ERR_SYSTEM;
			goto done;
		}
		if (n == 0)
			break;
	}
	err = VEIL_ERR_CORRUPT; /* larger than any file a state keeps */
	if (len == SNAPSHOT_MAX_FILE)
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
	if (in >= 0)
		close(in);
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
			if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && depth > 0)
				remove_snapshot_dir(path, depth - 1);
			else if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
			         st.st_size <= SNAPSHOT_MAX_FILE) {
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
	char *tmp = NULL, *parent = NULL;
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
	err = VEIL_ERR_NOMEM;
	if ((parent = strdup(out_dir)) == NULL)
		goto done;
	char *slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	err = store_file_sync_dir(slash == NULL ? "." : parent);
	set_why(why, err == VEIL_OK ? NULL : "output directory's parent (fsync)");
done:
	registry_free(copy);
	if (made)
		remove_snapshot_dir(tmp, 1);
	if (lock >= 0)
		close(lock);
	free(tmp);
	free(parent);
	return err;
}

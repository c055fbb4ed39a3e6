#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "keyfile.h"

#define OPRF_KEY_NAME_SIZE sizeof("oprf-00000000.key")

struct veil_state {
	registry *reg;
	uint8_t *transport_secret; /* guarded */
	uint8_t transport_public[STATE_TRANSPORT_KEY_SIZE];
	oprf_key *oprf[REGISTRY_MAX_KEYS];
	registry_key keys[REGISTRY_MAX_KEYS]; /* .key points to oprf[i] */
	size_t key_count;
};

static char *
join(const char *dir, const char *name)
{
	size_t need = strlen(dir) + 1 + strlen(name) + 1;
	char *p = malloc(need);
	if (p != NULL)
		snprintf(p, need, "%s/%s", dir, name);
	return p;
}

static void
oprf_key_name(char name[OPRF_KEY_NAME_SIZE], uint32_t key_id)
{
	snprintf(name, OPRF_KEY_NAME_SIZE, "oprf-%08x.key", key_id);
}

char *
state_registry_path(const char *dir)
{
	return dir == NULL ? NULL : join(dir, STATE_REGISTRY_DIR);
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

veil_err
state_create(const char *dir, oprf_mode mode, const char **why)
{
	const oprf_suite *suite = oprf_suite_by_name(REGISTRY_SUITE);
	char name[OPRF_KEY_NAME_SIZE];
	char *transport_path = NULL, *oprf_path = NULL, *registry_path = NULL;
	uint8_t *secret = NULL;
	oprf_key *key = NULL;
	int made_dir = 0, made_transport = 0, made_oprf = 0;
	struct stat st;
	veil_err err;

	set_why(why, NULL);
	if (dir == NULL || dir[0] == '\0' || suite == NULL) {
		set_why(why, "state directory");
		return VEIL_ERR_ARGUMENT;
	}
	oprf_key_name(name, STATE_FIRST_KEY_ID);
	if ((transport_path = join(dir, STATE_TRANSPORT_KEY_FILE)) == NULL ||
	    (oprf_path = join(dir, name)) == NULL ||
	    (registry_path = state_registry_path(dir)) == NULL ||
	    (secret = sodium_malloc(STATE_TRANSPORT_KEY_SIZE)) == NULL) {
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
	err = keyfile_write(oprf_path, STATE_OPRF_KEY_KIND, secret, oprf_suite_scalar_size(suite));
	sodium_memzero(secret, STATE_TRANSPORT_KEY_SIZE);
	if (err != VEIL_OK) {
		set_why(why, names[1]);
		goto out;
	}
	made_oprf = 1;

	if ((err = registry_create(registry_path, STATE_TAG_LEN, STATE_FIRST_KEY_ID, (uint8_t)mode)) != VEIL_OK) {
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

veil_err
state_open(const char *dir, veil_state **out, const char **why)
{
	const oprf_suite *suite = oprf_suite_by_name(REGISTRY_SUITE);
	veil_state *st = NULL;
	char *path = NULL;
	uint8_t *secret = NULL;
	registry_reader *reader = NULL;
	registry_view view;
	veil_err err;

	set_why(why, NULL);
	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (dir == NULL || suite == NULL) {
		set_why(why, "state directory");
		return VEIL_ERR_ARGUMENT;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->transport_secret = sodium_malloc(STATE_TRANSPORT_KEY_SIZE)) == NULL ||
	    (secret = sodium_malloc(OPRF_MAX_SCALAR_SIZE)) == NULL) {
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
	free(path);

	set_why(why, "transport key file transport.key");
	if ((path = join(dir, STATE_TRANSPORT_KEY_FILE)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	if ((err = keyfile_read(path, STATE_TRANSPORT_KEY_KIND, st->transport_secret,
	                        STATE_TRANSPORT_KEY_SIZE)) != VEIL_OK)
		goto out;
	if (crypto_scalarmult_base(st->transport_public, st->transport_secret) != 0) {
		err = VEIL_ERR_CORRUPT;
		goto out;
	}
	sodium_mprotect_readonly(st->transport_secret);

	set_why(why, "an OPRF key file (oprf-<key id>.key)");
	const size_t ns = oprf_suite_scalar_size(suite);
	for (uint32_t i = 0; i < view.key_count; i++) {
		char name[OPRF_KEY_NAME_SIZE];
		oprf_key_name(name, view.key_ids[i]);
		free(path);
		if ((path = join(dir, name)) == NULL) {
			err = VEIL_ERR_NOMEM;
			goto out;
		}
		err = keyfile_read(path, STATE_OPRF_KEY_KIND, secret, ns);
		if (err == VEIL_OK) {
			oprf_key *key = NULL;
			err = oprf_key_import(suite, secret, &key);
			if (err == VEIL_OK) {
				st->oprf[st->key_count] = key;
				st->keys[st->key_count].id = view.key_ids[i];
				st->keys[st->key_count].key = key;
				st->key_count++;
			}
		}
		sodium_memzero(secret, ns);
		if (err != VEIL_OK)
			goto out;
	}
	set_why(why, NULL);
	*out = st;
	st = NULL;
out:
	registry_reader_free(reader);
	state_free(st);
	sodium_free(secret);
	free(path);
	return err;
}

void
state_free(veil_state *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->key_count; i++)
		oprf_key_free(st->oprf[i]);
	registry_free(st->reg);
	sodium_free(st->transport_secret);
	sodium_memzero(st->transport_public, sizeof(st->transport_public));
	free(st);
}

registry *
state_registry(const veil_state *st)
{
	return st->reg;
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

const oprf_key *
state_oprf_key(const veil_state *st, uint32_t key_id)
{
	for (size_t i = 0; i < st->key_count; i++)
		if (st->keys[i].id == key_id)
			return st->keys[i].key;
	return NULL;
}

uint32_t
state_current_key_id(const veil_state *st)
{
	return st->key_count > 0 ? st->keys[0].id : 0;
}

const registry_key *
state_keys(const veil_state *st, size_t *count)
{
	*count = st->key_count;
	return st->keys;
}

#include "issuer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "file.h"
#include "keyfile.h"
#include "state.h"
#include "store_file.h"

_Static_assert(ISSUER_TRANSPORT_KEY_SIZE == STATE_TRANSPORT_KEY_SIZE,
               "the issuer's transport key is veild's kind of key");

/* The longest issuer.keys: the header and ISSUER_MAX_KEYS lines. */
#define KEYS_FILE_MAX 2048
/* Draws of a rotation's new key before giving up on a free truncated id. */
#define KEY_DRAWS     64

/* A live key as issuer.keys lists it. */
typedef struct key_entry {
	uint32_t id;
	uint64_t not_after; /* 0: current */
} key_entry;

typedef struct key_list {
	size_t count;
	key_entry keys[ISSUER_MAX_KEYS]; /* the current first */
} key_list;

struct issuer {
	clients *clients;
	uint8_t *transport_secret; /* guarded, read-only; NULL for issuer_open_keys() */
	uint8_t transport_public[ISSUER_TRANSPORT_KEY_SIZE];
	size_t count;
	issuer_key_info info[ISSUER_MAX_KEYS];
	oprf_key *keys[ISSUER_MAX_KEYS];
};

void
issuer_config_defaults(issuer_config *c)
{
	clients_config_defaults(&c->clients);
}

static char *
key_path(const char *dir, uint32_t id)
{
	char name[32];
	snprintf(name, sizeof(name), "issuer-%08" PRIx32 ".key", id);
	return store_file_join(dir, name);
}

/* ------------------------------------------------------------------ */
/* issuer.keys */

/* Parses text (len bytes) as issuer.keys into *out. */
static veil_err
keys_parse(const char *text, size_t len, key_list *out)
{
	const char *p = text, *end = text + len;
	size_t header = strlen(ISSUER_KEYS_HEADER);

	memset(out, 0, sizeof(*out));
	if (len < header + 1 || memcmp(p, ISSUER_KEYS_HEADER "\n", header + 1) != 0)
		return VEIL_ERR_CORRUPT;
	p += header + 1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char line[64], id_text[9];
		uint64_t not_after;
		char tail;
		if (nl == NULL || (size_t)(nl - p) >= sizeof(line) || out->count == ISSUER_MAX_KEYS)
			return VEIL_ERR_CORRUPT;
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		p = nl + 1;
		if (sscanf(line, "%8[0-9a-f] %" SCNu64 "%c", id_text, &not_after, &tail) != 2 ||
		    strlen(id_text) != 8 || line[8] != ' ' || line[9] < '0' || line[9] > '9')
			return VEIL_ERR_CORRUPT;
		uint32_t id = (uint32_t)strtoul(id_text, NULL, 16);
		/* The current key first, and only there; ids unique and non-zero. */
		if (id == 0 || (out->count == 0) != (not_after == 0))
			return VEIL_ERR_CORRUPT;
		for (size_t i = 0; i < out->count; i++)
			if (out->keys[i].id == id)
				return VEIL_ERR_CORRUPT;
		out->keys[out->count++] = (key_entry){id, not_after};
	}
	return out->count > 0 ? VEIL_OK : VEIL_ERR_CORRUPT;
}

static veil_err
keys_read(const char *dir, key_list *out)
{
	char text[KEYS_FILE_MAX];
	char *path = store_file_join(dir, ISSUER_KEYS_FILE);
	veil_err err;
	ssize_t n = 0;
	int fd;

	memset(out, 0, sizeof(*out));
	if (path == NULL)
		return VEIL_ERR_NOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd < 0)
		return store_file_errno_err(errno);
	for (size_t got = 0;; got += (size_t)n) {
		if (got == sizeof(text)) {
			close(fd);
			return VEIL_ERR_CORRUPT;
		}
		n = read(fd, text + got, sizeof(text) - got);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n < 0) {
			close(fd);
			return VEIL_ERR_SYSTEM;
		}
		if (n == 0) {
			close(fd);
			err = keys_parse(text, got, out);
			return err;
		}
	}
}

/* Replaces dir's issuer.keys by list (store_file_write_synced(), 0600). */
static veil_err
keys_write(const char *dir, const key_list *list)
{
	char text[KEYS_FILE_MAX];
	size_t len = (size_t)snprintf(text, sizeof(text), "%s\n", ISSUER_KEYS_HEADER);
	for (size_t i = 0; i < list->count; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		                        "%08" PRIx32 " %" PRIu64 "\n", list->keys[i].id,
		                        list->keys[i].not_after);
	return store_file_write_synced(dir, ISSUER_KEYS_FILE, text, len, 0600);
}

/* ------------------------------------------------------------------ */
/* Key files */

/* Loads key id of dir into *out. */
static veil_err
key_load(const char *dir, uint32_t id, oprf_key **out)
{
	const oprf_suite *suite = token_suite();
	uint8_t *sk = NULL;
	char *path = NULL;
	veil_err err;

	*out = NULL;
	if (suite == NULL)
		return VEIL_ERR_UNSUPPORTED;
	if ((path = key_path(dir, id)) == NULL || (sk = sodium_malloc(TOKEN_SCALAR_SIZE)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	err = keyfile_read(path, ISSUER_KEY_KIND, sk, TOKEN_SCALAR_SIZE);
	if (err == VEIL_OK) {
		err = oprf_key_import(suite, sk, out);
		if (err == VEIL_ERR_SCALAR)
			err = VEIL_ERR_CORRUPT; /* a scalar out of range: a damaged file */
	}
out:
	sodium_free(sk); /* wipes */
	free(path);
	return err;
}

/*
 * Writes to dir, as key id, a fresh key whose truncated token key id is
 * none of the taken_count bytes at taken (VEIL_ERR_LIMIT if KEY_DRAWS
 * draws find none: with at most ISSUER_MAX_KEYS taken, never in practice).
 */
static veil_err
key_make(const char *dir, uint32_t id, const uint8_t *taken, size_t taken_count)
{
	const oprf_suite *suite = token_suite();
	uint8_t pk[TOKEN_ELEMENT_SIZE], key_id[TOKEN_KEY_ID_SIZE];
	oprf_key *key = NULL;
	uint8_t *sk = NULL;
	char *path = NULL;
	veil_err err = VEIL_ERR_LIMIT;

	if (suite == NULL)
		return VEIL_ERR_UNSUPPORTED;
	if ((path = key_path(dir, id)) == NULL || (sk = sodium_malloc(TOKEN_SCALAR_SIZE)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	for (int draw = 0; draw < KEY_DRAWS; draw++) {
		int free_id = 1;
		oprf_key_free(key);
		key = NULL;
		if ((err = oprf_key_generate(suite, &key)) != VEIL_OK ||
		    (err = token_issuer_public(key, pk, key_id)) != VEIL_OK)
			goto out;
		for (size_t i = 0; i < taken_count; i++)
			if (taken[i] == key_id[TOKEN_KEY_ID_SIZE - 1])
				free_id = 0;
		if (free_id) {
			err = VEIL_OK;
			break;
		}
		err = VEIL_ERR_LIMIT;
	}
	if (err != VEIL_OK)
		goto out;
	oprf_key_export_secret(key, sk);
	err = keyfile_write(path, ISSUER_KEY_KIND, sk, TOKEN_SCALAR_SIZE);
out:
	oprf_key_free(key);
	sodium_free(sk);
	free(path);
	return err;
}

/* Parses name as "issuer-XXXXXXXX.key": its id into *id, else 0. */
static int
key_file_id(const char *name, uint32_t *id)
{
	char hex[9];
	if (strlen(name) != strlen("issuer-00000000.key") || strncmp(name, "issuer-", 7) != 0 ||
	    strcmp(name + 15, ".key") != 0)
		return 0;
	memcpy(hex, name + 7, 8);
	hex[8] = '\0';
	for (int i = 0; i < 8; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return 0;
	*id = (uint32_t)strtoul(hex, NULL, 16);
	return 1;
}

static int
listed(const key_list *list, uint32_t id)
{
	for (size_t i = 0; i < list->count; i++)
		if (list->keys[i].id == id)
			return 1;
	return 0;
}

/* Erases every key file of dir whose id list does not hold; counts them in *erased. */
static veil_err
erase_unlisted(const char *dir, const key_list *list, uint32_t *erased)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	veil_err err = VEIL_OK;

	if (d == NULL)
		return store_file_errno_err(errno);
	while ((e = readdir(d)) != NULL) {
		uint32_t id;
		char *path;
		if (!key_file_id(e->d_name, &id) || listed(list, id))
			continue;
		if ((path = store_file_join(dir, e->d_name)) == NULL) {
			err = VEIL_ERR_NOMEM;
			break;
		}
		veil_err e2 = store_file_erase(path);
		free(path);
		if (e2 == VEIL_OK)
			(*erased)++;
		else if (e2 != VEIL_ERR_NOT_FOUND) {
			err = e2;
			break;
		}
	}
	closedir(d);
	if (err == VEIL_OK && *erased > 0)
		err = store_file_sync_dir(dir);
	return err;
}

/* An exclusive flock of dir: the descriptor, or -1 with *err set. */
static int
lock_dir(const char *dir, veil_err *err)
{
	const int fd = store_file_lock_dir(dir);
	if (fd < 0)
		*err = store_file_errno_err(errno);
	return fd;
}

/* ------------------------------------------------------------------ */
/* Create, open, close */

static int
exists(const char *dir, const char *name)
{
	char *path = store_file_join(dir, name);
	struct stat st;
	int found = path == NULL || lstat(path, &st) == 0 || errno != ENOENT;
	free(path);
	return found;
}

/* Undoing a failed create: what cannot be erased stays, the error reported is the first one. */
static void
erase_quietly(const char *path)
{
	veil_err err = store_file_erase(path);
	(void)err;
}

/*
 * Writes a fresh X25519 secret (any 32 random bytes are one) to
 * dir/transport.key, which issuer_create() saw absent under the lock.
 */
static veil_err
transport_make(const char *dir)
{
	uint8_t *secret = sodium_malloc(ISSUER_TRANSPORT_KEY_SIZE);
	veil_err err = VEIL_ERR_NOMEM;
	if (secret != NULL)
		err = store_file_secret(dir, STATE_TRANSPORT_KEY_FILE, STATE_TRANSPORT_KEY_KIND,
		                        secret, ISSUER_TRANSPORT_KEY_SIZE);
	sodium_free(secret); /* wipes */
	return err;
}

/* Erases dir/name when this call made it (made non-zero). */
static void
undo_file(const char *dir, const char *name, int made)
{
	char *path;
	if (made && (path = store_file_join(dir, name)) != NULL) {
		erase_quietly(path);
		free(path);
	}
}

veil_err
issuer_create(const char *dir, const char *name)
{
	char first[32];
	key_list list = {1, {{ISSUER_FIRST_KEY_ID, 0}}};
	int made_dir = 0, made_key = 0, made_transport = 0, made_name = 0, lock = -1;
	clients *c = NULL;
	veil_err err;

	if (dir == NULL || !token_name_valid(name))
		return VEIL_ERR_ARGUMENT;
	if (token_suite() == NULL)
		return VEIL_ERR_UNSUPPORTED;
	if (mkdir(dir, 0700) == 0)
		made_dir = 1;
	else if (errno != EEXIST)
		return store_file_errno_err(errno);
	if ((lock = lock_dir(dir, &err)) < 0)
		goto out;
	snprintf(first, sizeof(first), "issuer-%08x.key", ISSUER_FIRST_KEY_ID);
	if (exists(dir, STATE_TRANSPORT_KEY_FILE) || exists(dir, ISSUER_NAME_FILE) ||
	    exists(dir, ISSUER_KEYS_FILE) || exists(dir, first) || exists(dir, CLIENTS_KEY_FILE) ||
	    exists(dir, CLIENTS_DIR)) {
		err = VEIL_ERR_EXISTS;
		goto out;
	}
	/* Absent under the lock: whatever is there after a failure is this call's. */
	made_transport = 1;
	if ((err = transport_make(dir)) != VEIL_OK)
		goto out;
	if ((err = issuer_name_write(dir, name)) != VEIL_OK)
		goto out;
	made_name = 1;
	if ((err = key_make(dir, ISSUER_FIRST_KEY_ID, NULL, 0)) != VEIL_OK)
		goto out;
	made_key = 1;
	if ((err = clients_open(dir, NULL, &c)) != VEIL_OK)
		goto out;
	clients_close(c);
	err = keys_write(dir, &list);
out:
	if (err != VEIL_OK && err != VEIL_ERR_EXISTS) {
		/* Remove what this call made: the keys, the name, the clients store. */
		char *path;
		undo_file(dir, STATE_TRANSPORT_KEY_FILE, made_transport);
		undo_file(dir, ISSUER_NAME_FILE, made_name);
		undo_file(dir, first, made_key);
		if ((path = store_file_join(dir, CLIENTS_KEY_FILE)) != NULL) {
			erase_quietly(path);
			free(path);
		}
		if ((path = store_file_join(dir, CLIENTS_DIR "/data.mdb")) != NULL) {
			unlink(path);
			free(path);
		}
		if ((path = store_file_join(dir, CLIENTS_DIR "/lock.mdb")) != NULL) {
			unlink(path);
			free(path);
		}
		if ((path = store_file_join(dir, CLIENTS_DIR)) != NULL) {
			rmdir(path);
			free(path);
		}
	}
	if (lock >= 0)
		close(lock);
	if (err != VEIL_OK && err != VEIL_ERR_EXISTS && made_dir)
		rmdir(dir);
	return err;
}

veil_err
issuer_transport_public_read(const char *dir, uint8_t public_out[ISSUER_TRANSPORT_KEY_SIZE])
{
	uint8_t *secret;
	veil_err err;
	if (public_out != NULL)
		memset(public_out, 0, ISSUER_TRANSPORT_KEY_SIZE);
	if (dir == NULL || public_out == NULL)
		return VEIL_ERR_ARGUMENT;
	if ((secret = sodium_malloc(ISSUER_TRANSPORT_KEY_SIZE)) == NULL)
		return VEIL_ERR_NOMEM;
	err = state_transport_key_load(dir, secret, public_out);
	sodium_free(secret); /* wipes */
	return err;
}

const uint8_t *
issuer_transport_public(const issuer *is)
{
	return is != NULL && is->transport_secret != NULL ? is->transport_public : NULL;
}

const uint8_t *
issuer_transport_secret(const issuer *is)
{
	return is != NULL ? is->transport_secret : NULL;
}

/* Opens the live keys of dir; with the clients store unless keys_only. */
static veil_err
open_handle(const char *dir, const issuer_config *config, int keys_only, issuer **out)
{
	key_list list;
	issuer *is = NULL;
	veil_err err;

	if (out != NULL)
		*out = NULL;
	if (dir == NULL || out == NULL || (config != NULL && config->clients.capacity == 0))
		return VEIL_ERR_ARGUMENT;
	if ((err = keys_read(dir, &list)) != VEIL_OK)
		return err;
	if ((is = calloc(1, sizeof(*is))) == NULL)
		return VEIL_ERR_NOMEM;
	if (!keys_only) {
		if ((is->transport_secret = sodium_malloc(ISSUER_TRANSPORT_KEY_SIZE)) == NULL) {
			err = VEIL_ERR_NOMEM;
			goto out;
		}
		if ((err = state_transport_key_load(dir, is->transport_secret,
		                                    is->transport_public)) != VEIL_OK)
			goto out;
		sodium_mprotect_readonly(is->transport_secret);
	}
	for (size_t i = 0; i < list.count; i++) {
		issuer_key_info *info = &is->info[i];
		if ((err = key_load(dir, list.keys[i].id, &is->keys[i])) != VEIL_OK)
			goto out;
		is->count = i + 1;
		if ((err = token_issuer_public(is->keys[i], info->public_key,
		                               info->token_key_id)) != VEIL_OK)
			goto out;
		info->id = list.keys[i].id;
		info->truncated_token_key_id = info->token_key_id[TOKEN_KEY_ID_SIZE - 1];
		info->not_after = list.keys[i].not_after;
	}
	if (!keys_only)
		err = clients_open(dir, config != NULL ? &config->clients : NULL, &is->clients);
out:
	if (err != VEIL_OK) {
		issuer_close(is);
		return err;
	}
	*out = is;
	return VEIL_OK;
}

veil_err
issuer_open(const char *dir, const issuer_config *config, issuer **out)
{
	return open_handle(dir, config, 0, out);
}

veil_err
issuer_open_keys(const char *dir, issuer **out)
{
	return open_handle(dir, NULL, 1, out);
}

/* ------------------------------------------------------------------ */
/* The issuer's name */

veil_err
issuer_name_write(const char *dir, const char *name)
{
	char line[ISSUER_NAME_MAX + 2];
	if (dir == NULL || !token_name_valid(name))
		return VEIL_ERR_ARGUMENT;
	const int n = snprintf(line, sizeof(line), "%s\n", name);
	return store_file_write_synced(dir, ISSUER_NAME_FILE, line, (size_t)n, 0644);
}

veil_err
issuer_name_read(const char *dir, char out[ISSUER_NAME_MAX + 1])
{
	char *text = NULL;
	size_t len = 0;
	if (out != NULL)
		out[0] = '\0';
	if (dir == NULL || out == NULL)
		return VEIL_ERR_ARGUMENT;
	char *path = store_file_join(dir, ISSUER_NAME_FILE);
	if (path == NULL)
		return VEIL_ERR_NOMEM;
	int rc = file_read_all(path, ISSUER_NAME_MAX + 2, &text, &len);
	int e = errno;
	free(path);
	if (rc != 0)
		return e == ENOENT  ? VEIL_ERR_NOT_FOUND
		       : e == EFBIG ? VEIL_ERR_CORRUPT
		                    : VEIL_ERR_SYSTEM;
	veil_err err = VEIL_ERR_CORRUPT;
	if (len >= 2 && text[len - 1] == '\n' && memchr(text, '\0', len) == NULL) {
		text[len - 1] = '\0';
		if (token_name_valid(text)) {
			memcpy(out, text, len);
			err = VEIL_OK;
		}
	}
	free(text);
	return err;
}

void
issuer_close(issuer *is)
{
	if (is == NULL)
		return;
	clients_close(is->clients);
	for (size_t i = 0; i < is->count; i++)
		oprf_key_free(is->keys[i]);
	sodium_free(is->transport_secret); /* wipes, read-only or not */
	sodium_memzero(is->transport_public, sizeof(is->transport_public));
	free(is);
}

clients *
issuer_clients(issuer *is)
{
	return is != NULL ? is->clients : NULL;
}

veil_err
issuer_keys(const issuer *is, issuer_key_info out[ISSUER_MAX_KEYS], size_t *count)
{
	if (count != NULL)
		*count = 0;
	if (is == NULL || out == NULL || count == NULL)
		return VEIL_ERR_ARGUMENT;
	memcpy(out, is->info, is->count * sizeof(out[0]));
	*count = is->count;
	return VEIL_OK;
}

const oprf_key *
issuer_key(const issuer *is, const uint8_t key_id[TOKEN_KEY_ID_SIZE], int64_t now)
{
	if (is == NULL || key_id == NULL)
		return NULL;
	for (size_t i = 0; i < is->count; i++) {
		const issuer_key_info *info = &is->info[i];
		if (sodium_memcmp(info->token_key_id, key_id, TOKEN_KEY_ID_SIZE) != 0)
			continue;
		if (info->not_after != 0 && (now < 0 || (uint64_t)now >= info->not_after))
			return NULL;
		return is->keys[i];
	}
	return NULL;
}

veil_err
issuer_copy_live_keys(const char *from_dir, const char *to_dir, int64_t now,
                      issuer_key_info kept_out[ISSUER_MAX_KEYS], size_t *count)
{
	key_list list = {0};
	issuer *is = NULL;
	uint8_t *sk = NULL;
	veil_err err;

	if (count != NULL)
		*count = 0;
	if (from_dir == NULL || to_dir == NULL || kept_out == NULL || count == NULL)
		return VEIL_ERR_ARGUMENT;
	if ((err = issuer_open_keys(from_dir, &is)) != VEIL_OK)
		return err;
	if ((sk = sodium_malloc(TOKEN_SCALAR_SIZE)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < is->count; i++) {
		const issuer_key_info *info = &is->info[i];
		if (issuer_key(is, info->token_key_id, now) == NULL)
			continue; /* past its grace, not retired yet */
		char *path = key_path(to_dir, info->id);
		if (path == NULL) {
			err = VEIL_ERR_NOMEM;
			goto out;
		}
		oprf_key_export_secret(is->keys[i], sk);
		err = keyfile_write(path, ISSUER_KEY_KIND, sk, TOKEN_SCALAR_SIZE);
		sodium_memzero(sk, TOKEN_SCALAR_SIZE);
		free(path);
		if (err != VEIL_OK)
			goto out;
		kept_out[list.count] = *info;
		list.keys[list.count++] = (key_entry){info->id, info->not_after};
	}
	/* The key files' entries are made durable with issuer.keys'. */
	err = keys_write(to_dir, &list);
out:
	sodium_free(sk); /* wipes */
	issuer_close(is);
	if (err == VEIL_OK)
		*count = list.count;
	return err;
}

/* ------------------------------------------------------------------ */
/* Issuance */

veil_err
issuer_issue(issuer *is, const uint8_t client_key[ISSUER_CLIENT_KEY_SIZE], int64_t now,
             const token_request requests[], size_t count, token_response responses_out[],
             uint32_t *retry_after)
{
	uint32_t ignored = 0;
	veil_err err;

	if (retry_after == NULL)
		retry_after = &ignored;
	*retry_after = 0;
	if (responses_out != NULL && count > 0 && count <= TOKEN_MAX_BATCH)
		sodium_memzero(responses_out, count * sizeof(responses_out[0]));
	if (is == NULL || client_key == NULL || requests == NULL || responses_out == NULL ||
	    count == 0)
		return VEIL_ERR_ARGUMENT;
	if (is->clients == NULL)
		return VEIL_ERR_UNSUPPORTED; /* issuer_open_keys(): keys alone */
	if (count > TOKEN_MAX_BATCH) {
		*retry_after = ISSUER_RETRY_NEVER;
		return VEIL_ERR_LIMIT;
	}

	/* Only the current key issues. */
	for (size_t i = 0; i < count; i++)
		if (requests[i].truncated_token_key_id != is->info[0].truncated_token_key_id)
			return VEIL_ERR_NOT_FOUND;

	/* Enrolment, before any work: a charge of nothing reads and writes nothing. */
	switch (clients_charge(is->clients, client_key, 0, now, retry_after)) {
	case CLIENTS_OK:
		break;
	case CLIENTS_UNAUTHORIZED:
		*retry_after = 0;
		return VEIL_ERR_PERMISSION;
	case CLIENTS_RATE_LIMITED: /* never for nothing: a store that says so is broken */
	case CLIENTS_ERROR:
		*retry_after = 0;
		return VEIL_ERR_SYSTEM;
	}

	/* Bad elements are refused uncharged, by the cheap check; the
	 * evaluations and proofs are paid for before they are made, so an
	 * account past its ration costs the issuer no scalar multiplication. */
	const oprf_suite *suite = oprf_key_suite(is->keys[0]);
	for (size_t i = 0; i < count; i++)
		if ((err = oprf_element_check(suite, requests[i].blinded_msg)) != VEIL_OK)
			return err;

	switch (clients_charge(is->clients, client_key, (uint32_t)count, now, retry_after)) {
	case CLIENTS_OK:
		/* Charged: a failure from here on (memory, OpenSSL) has been paid for. */
		if ((err = token_issue(is->keys[0], count, requests, responses_out)) != VEIL_OK)
			sodium_memzero(responses_out, count * sizeof(responses_out[0]));
		return err;
	case CLIENTS_UNAUTHORIZED: /* withdrawn in between */
		err = VEIL_ERR_PERMISSION;
		*retry_after = 0;
		break;
	case CLIENTS_RATE_LIMITED:
		err = VEIL_ERR_LIMIT;
		if (*retry_after == 0)
			*retry_after = 1;
		break;
	case CLIENTS_ERROR:
		err = VEIL_ERR_SYSTEM;
		*retry_after = 0;
		break;
	}
	sodium_memzero(responses_out, count * sizeof(responses_out[0]));
	return err;
}

/* ------------------------------------------------------------------ */
/* Rotation */

/* Retires list's keys due at now into out; out->removed gets their ids. */
static void
retire_due(key_list *list, int64_t now, issuer_rotation *out)
{
	size_t kept = 0;
	for (size_t i = 0; i < list->count; i++) {
		const key_entry *k = &list->keys[i];
		if (k->not_after != 0 && k->not_after <= (uint64_t)now)
			out->removed[out->removed_count++] = k->id;
		else
			list->keys[kept++] = *k;
	}
	list->count = kept;
}

/* The rotation (rotate) or retirement (!rotate) of dir, under its lock. */
static veil_err
rotate_or_retire(const char *dir, int64_t now, uint32_t grace_hours, int rotate,
                 issuer_rotation *out)
{
	issuer_rotation done;
	key_list list;
	veil_err err;
	int lock;

	memset(&done, 0, sizeof(done));
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (dir == NULL || now <= 0)
		return VEIL_ERR_ARGUMENT;
	if ((lock = lock_dir(dir, &err)) < 0)
		return err;
	if ((err = keys_read(dir, &list)) != VEIL_OK)
		goto out;
	retire_due(&list, now, &done);
	/* Orphans of a killed rotation first: the next id may be one of them. */
	{
		key_list with_retired = list;
		for (uint32_t i = 0; i < done.removed_count; i++)
			with_retired.keys[with_retired.count++] = (key_entry){done.removed[i], 1};
		if ((err = erase_unlisted(dir, &with_retired, &done.erased_files)) != VEIL_OK)
			goto out;
	}
	if (rotate) {
		uint8_t taken[ISSUER_MAX_KEYS];
		uint32_t next = list.keys[0].id + 1;
		if (list.count == ISSUER_MAX_KEYS || next == 0) {
			err = VEIL_ERR_LIMIT;
			goto out;
		}
		for (size_t i = 0; i < list.count; i++) {
			oprf_key *key = NULL;
			uint8_t pk[TOKEN_ELEMENT_SIZE], key_id[TOKEN_KEY_ID_SIZE];
			if ((err = key_load(dir, list.keys[i].id, &key)) != VEIL_OK)
				goto out;
			err = token_issuer_public(key, pk, key_id);
			oprf_key_free(key);
			if (err != VEIL_OK)
				goto out;
			taken[i] = key_id[TOKEN_KEY_ID_SIZE - 1];
		}
		if ((err = key_make(dir, next, taken, list.count)) != VEIL_OK)
			goto out;
		if ((err = store_file_sync_dir(dir)) != VEIL_OK)
			goto out;
		uint64_t grace = (uint64_t)grace_hours * 3600u;
		memmove(&list.keys[1], &list.keys[0], list.count * sizeof(list.keys[0]));
		list.keys[1].not_after = (uint64_t)now + grace;
		list.keys[0] = (key_entry){next, 0};
		list.count++;
		done.new_key_id = next;
	}
	if ((rotate || done.removed_count > 0) && (err = keys_write(dir, &list)) != VEIL_OK)
		goto out;
	/* Now the retired keys' files. */
	err = erase_unlisted(dir, &list, &done.erased_files);
out:
	close(lock);
	if (err == VEIL_OK && out != NULL)
		*out = done;
	return err;
}

veil_err
issuer_rotate(const char *dir, int64_t now, uint32_t grace_hours, issuer_rotation *out)
{
	return rotate_or_retire(dir, now, grace_hours, 1, out);
}

veil_err
issuer_retire(const char *dir, int64_t now, issuer_rotation *out)
{
	return rotate_or_retire(dir, now, 0, 0, out);
}

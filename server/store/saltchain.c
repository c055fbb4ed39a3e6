#include "saltchain.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "keyfile.h"
#include "store_file.h"

#define KDF_CONTEXT "veil-log" /* crypto_kdf_CONTEXTBYTES (8) characters */
#define KDF_ID_NEXT 1
#define KDF_ID_SALT 2

/* fresh() is one key-sized region of the guarded memory. */
_Static_assert(SALTCHAIN_STEP_RANDOM_SIZE == SALTCHAIN_KEY_SIZE, "one region per secret");

/* "chain-4294967295.key" */
#define FILE_NAME_MAX 32

struct saltchain {
	uint32_t retention;
	int has_key;
	uint32_t day;
	/* Guarded memory: chain key | scratch | fresh | retention salts, slot = day % retention. */
	uint8_t *secret;
	uint32_t *salt_day; /* per slot */
	uint8_t *held;      /* per slot */
};

typedef enum file_kind {
	FILE_OTHER,
	FILE_CHAIN,
	FILE_SALT,
} file_kind;

static uint8_t *
chain_key(const saltchain *c)
{
	return c->secret;
}

static uint8_t *
scratch(const saltchain *c)
{
	return c->secret + SALTCHAIN_KEY_SIZE;
}

/* The fresh randomness of a step (SALTCHAIN_STEP_RANDOM_SIZE bytes). */
static uint8_t *
fresh(const saltchain *c)
{
	return c->secret + 2 * SALTCHAIN_KEY_SIZE;
}

static uint8_t *
salt_slot(const saltchain *c, size_t slot)
{
	return c->secret + 3 * SALTCHAIN_KEY_SIZE + slot * SALTCHAIN_KEY_SIZE;
}

static size_t
secret_size(uint32_t retention)
{
	return (3 + (size_t)retention) * SALTCHAIN_KEY_SIZE;
}

/* "chain-<day>.key" or "salt-<day>.key", day in decimal without leading zeros. */
static file_kind
parse_name(const char *name, uint32_t *day)
{
	file_kind kind;
	const char *p;
	uint64_t v = 0;

	if (strncmp(name, "chain-", 6) == 0) {
		kind = FILE_CHAIN;
		p = name + 6;
	} else if (strncmp(name, "salt-", 5) == 0) {
		kind = FILE_SALT;
		p = name + 5;
	} else {
		return FILE_OTHER;
	}
	const size_t digits = strspn(p, "0123456789");
	if (digits == 0 || digits > 10 || (digits > 1 && p[0] == '0') ||
	    strcmp(p + digits, ".key") != 0)
		return FILE_OTHER;
	for (size_t i = 0; i < digits; i++)
		v = v * 10 + (uint64_t)(p[i] - '0');
	if (v > UINT32_MAX)
		return FILE_OTHER;
	*day = (uint32_t)v;
	return kind;
}

static void
file_name(char name[FILE_NAME_MAX], file_kind kind, uint32_t day)
{
	snprintf(name, FILE_NAME_MAX, "%s-%u.key", kind == FILE_CHAIN ? "chain" : "salt", day);
}

static char *
file_path(const char *dir, file_kind kind, uint32_t day)
{
	char name[FILE_NAME_MAX];
	file_name(name, kind, day);
	return store_file_join(dir, name);
}

static int
in_window(const saltchain *c, uint32_t day)
{
	return day <= c->day && (uint64_t)day + c->retention > c->day;
}

static int
holds(const saltchain *c, uint32_t day)
{
	const size_t slot = day % c->retention;
	return c->held[slot] && c->salt_day[slot] == day;
}

static void
forget_slot(saltchain *c, size_t slot)
{
	sodium_memzero(salt_slot(c, slot), SALTCHAIN_KEY_SIZE);
	c->held[slot] = 0;
	c->salt_day[slot] = 0;
}

/* Derives the salt of the chain key's day into its slot. */
static void
derive_salt(saltchain *c)
{
	const size_t slot = c->day % c->retention;
	if (crypto_kdf_derive_from_key(salt_slot(c, slot), SALTCHAIN_KEY_SIZE, KDF_ID_SALT,
	                               KDF_CONTEXT, chain_key(c)) != 0)
		abort(); /* only for sizes out of range: a bug */
	c->held[slot] = 1;
	c->salt_day[slot] = c->day;
}

void
saltchain_free(saltchain *c)
{
	if (c == NULL)
		return;
	if (c->secret != NULL)
		sodium_free(c->secret); /* wipes */
	free(c->salt_day);
	free(c->held);
	free(c);
}

veil_err
saltchain_new(uint32_t retention_days, saltchain **out)
{
	saltchain *c = NULL;

	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (retention_days < 1 || retention_days > SALTCHAIN_MAX_RETENTION)
		return VEIL_ERR_ARGUMENT;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return VEIL_ERR_NOMEM;
	c->retention = retention_days;
	c->secret = sodium_malloc(secret_size(retention_days));
	c->salt_day = calloc(retention_days, sizeof(*c->salt_day));
	c->held = calloc(retention_days, 1);
	if (c->secret == NULL || c->salt_day == NULL || c->held == NULL) {
		saltchain_free(c);
		return VEIL_ERR_NOMEM;
	}
	sodium_memzero(c->secret, secret_size(retention_days));
	*out = c;
	return VEIL_OK;
}

void
saltchain_clear(saltchain *c)
{
	sodium_memzero(c->secret, secret_size(c->retention));
	memset(c->salt_day, 0, c->retention * sizeof(*c->salt_day));
	memset(c->held, 0, c->retention);
	c->has_key = 0;
	c->day = 0;
}

void
saltchain_copy(saltchain *dst, const saltchain *src)
{
	if (dst->retention != src->retention)
		abort();
	memcpy(dst->secret, src->secret, secret_size(src->retention));
	memcpy(dst->salt_day, src->salt_day, src->retention * sizeof(*src->salt_day));
	memcpy(dst->held, src->held, src->retention);
	dst->has_key = src->has_key;
	dst->day = src->day;
}

int
saltchain_has_key(const saltchain *c)
{
	return c->has_key;
}

uint32_t
saltchain_day(const saltchain *c)
{
	return c->day;
}

const uint8_t *
saltchain_salt(const saltchain *c, uint32_t day)
{
	return holds(c, day) ? salt_slot(c, day % c->retention) : NULL;
}

/*
 * chain = BLAKE2b-256(key chain, message r, salt id 1, personal "veil-log"):
 * crypto_kdf_derive_from_key() with the fresh r as its message. r lives
 * in guarded memory for the call and is wiped.
 */
static void
step(saltchain *c)
{
	uint8_t *r = fresh(c);
	uint8_t salt[crypto_generichash_blake2b_SALTBYTES] = {0};
	uint8_t personal[crypto_generichash_blake2b_PERSONALBYTES] = {0};

	salt[0] = KDF_ID_NEXT; /* the subkey id, little-endian, as crypto_kdf_derive_from_key() */
	memcpy(personal, KDF_CONTEXT, crypto_kdf_CONTEXTBYTES);
	randombytes_buf(r, SALTCHAIN_STEP_RANDOM_SIZE);
	if (crypto_generichash_blake2b_salt_personal(scratch(c), SALTCHAIN_KEY_SIZE, r,
	                                             SALTCHAIN_STEP_RANDOM_SIZE, chain_key(c),
	                                             SALTCHAIN_KEY_SIZE, salt, personal) != 0)
		abort(); /* only for sizes out of range: a bug */
	memcpy(chain_key(c), scratch(c), SALTCHAIN_KEY_SIZE);
	sodium_memzero(scratch(c), SALTCHAIN_KEY_SIZE);
	sodium_memzero(r, SALTCHAIN_STEP_RANDOM_SIZE);
}

void
saltchain_advance(saltchain *c, uint32_t day)
{
	if (day < c->day)
		return;
	if (c->has_key) {
		while (c->day < day) {
			/* The salts of days still in the new window are kept. */
			if ((uint64_t)c->day + c->retention > day && !holds(c, c->day))
				derive_salt(c);
			step(c);
			c->day++;
		}
	} else {
		c->day = day;
	}
	for (size_t slot = 0; slot < c->retention; slot++)
		if (c->held[slot] && !in_window(c, c->salt_day[slot]))
			forget_slot(c, slot);
	if (c->has_key && !holds(c, c->day))
		derive_salt(c);
}

/* ------------------------------------------------------------------ */
/* Files */

/* The chain and salt files of dir: (kind, day) pairs, malloc'd. */
typedef struct dir_file {
	file_kind kind;
	uint32_t day;
} dir_file;

static veil_err
list_files(const char *dir, dir_file **files, size_t *count)
{
	DIR *d = NULL;
	struct dirent *e;
	dir_file *list = NULL;
	size_t n = 0, cap = 0;
	veil_err err = VEIL_OK;

	*files = NULL;
	*count = 0;
	if ((d = opendir(dir)) == NULL)
		return VEIL_ERR_SYSTEM;
	for (;;) {
		errno = 0;
		if ((e = readdir(d)) == NULL) {
			if (errno != 0)
				err = VEIL_ERR_SYSTEM;
			break;
		}
		uint32_t day = 0;
		const file_kind kind = parse_name(e->d_name, &day);
		if (kind == FILE_OTHER)
			continue;
		if (n == cap) {
			const size_t grown = cap == 0 ? 16 : 2 * cap;
			dir_file *bigger = realloc(list, grown * sizeof(*list));
			if (bigger == NULL) {
				err = VEIL_ERR_NOMEM;
				break;
			}
			list = bigger;
			cap = grown;
		}
		list[n].kind = kind;
		list[n].day = day;
		n++;
	}
	closedir(d);
	if (err != VEIL_OK) {
		free(list);
		return err;
	}
	*files = list;
	*count = n;
	return VEIL_OK;
}

veil_err
saltchain_load(saltchain *c, const char *dir, uint32_t today, int create)
{
	dir_file *files = NULL;
	size_t count = 0;
	char *path = NULL;
	int found_chain = 0;
	uint32_t chain_day = 0, newest_salt = 0;
	veil_err err;

	if ((err = list_files(dir, &files, &count)) != VEIL_OK)
		return err;
	for (size_t i = 0; i < count; i++) {
		if (files[i].kind == FILE_CHAIN && (!found_chain || files[i].day > chain_day)) {
			chain_day = files[i].day;
			found_chain = 1;
		}
		if (files[i].kind == FILE_SALT && files[i].day > newest_salt)
			newest_salt = files[i].day;
	}
	if (found_chain) {
		if ((path = file_path(dir, FILE_CHAIN, chain_day)) == NULL) {
			err = VEIL_ERR_NOMEM;
			goto out;
		}
		err = keyfile_read(path, SALTCHAIN_CHAIN_KIND, chain_key(c), SALTCHAIN_KEY_SIZE);
		if (err == VEIL_ERR_NOT_FOUND)
			err = VEIL_ERR_CORRUPT; /* listed a moment ago */
		if (err != VEIL_OK)
			goto out;
		c->has_key = 1;
		c->day = chain_day;
	} else if (create) {
		randombytes_buf(chain_key(c), SALTCHAIN_KEY_SIZE);
		c->has_key = 1;
		c->day = today;
	}
	/* The current day: the chain's or today; without a key, the newest salt's too. */
	uint32_t current = c->has_key && c->day > today ? c->day : today;
	if (!c->has_key && newest_salt > current)
		current = newest_salt;
	const uint32_t key_day = c->day;
	c->day = current; /* for in_window() */
	for (size_t i = 0; i < count; i++) {
		if (files[i].kind != FILE_SALT || !in_window(c, files[i].day))
			continue;
		const size_t slot = files[i].day % c->retention;
		free(path);
		if ((path = file_path(dir, FILE_SALT, files[i].day)) == NULL) {
			err = VEIL_ERR_NOMEM;
			goto out;
		}
		err = keyfile_read(path, SALTCHAIN_SALT_KIND, salt_slot(c, slot),
		                   SALTCHAIN_KEY_SIZE);
		if (err == VEIL_ERR_NOT_FOUND) {
			err = VEIL_OK; /* erased meanwhile by another process */
			continue;
		}
		if (err != VEIL_OK)
			goto out;
		c->held[slot] = 1;
		c->salt_day[slot] = files[i].day;
	}
	if (c->has_key) {
		c->day = key_day;
		saltchain_advance(c, current);
	}
	err = VEIL_OK;
out:
	if (err != VEIL_OK)
		saltchain_clear(c);
	free(path);
	free(files);
	return err;
}

static veil_err
write_secret(const char *dir, file_kind kind, uint32_t day, const uint8_t *secret)
{
	char *path = file_path(dir, kind, day);
	if (path == NULL)
		return VEIL_ERR_NOMEM;
	veil_err err =
	        keyfile_write(path, kind == FILE_CHAIN ? SALTCHAIN_CHAIN_KIND : SALTCHAIN_SALT_KIND,
	                      secret, SALTCHAIN_KEY_SIZE);
	free(path);
	/* Present already: written by an earlier sync, or by another process of the same log. */
	return err == VEIL_ERR_EXISTS ? VEIL_OK : err;
}

static veil_err newest_chain_day(const char *dir, uint32_t *day);

/* saltchain_sync() with the directory's lock held. */
static veil_err
sync_files(const saltchain *c, const char *dir, uint32_t *salts_erased)
{
	dir_file *files = NULL;
	size_t count = 0;
	uint32_t erased = 0, on_disk = 0;

	if (salts_erased != NULL)
		*salts_erased = 0;
	/*
	 * Another process stepped further: the files are its chain's, and
	 * ours would bring back the chain key and salts it erased.
	 */
	veil_err err = newest_chain_day(dir, &on_disk);
	if (err != VEIL_OK || on_disk > c->day)
		return err;
	/* New files first: a crash between the steps leaves a usable log. */
	for (size_t slot = 0; slot < c->retention; slot++)
		if (c->held[slot] && (err = write_secret(dir, FILE_SALT, c->salt_day[slot],
		                                         salt_slot(c, slot))) != VEIL_OK)
			goto out;
	if (c->has_key && (err = write_secret(dir, FILE_CHAIN, c->day, chain_key(c))) != VEIL_OK)
		goto out;
	if ((err = store_file_sync_dir(dir)) != VEIL_OK ||
	    (err = list_files(dir, &files, &count)) != VEIL_OK)
		goto out;
	/*
	 * Erase what is older than c: earlier chain keys, and salts that left
	 * the window. Newer files belong to another process of the same log
	 * that has advanced further; it erases ours in turn.
	 */
	for (size_t i = 0; i < count; i++) {
		const int obsolete = files[i].kind == FILE_CHAIN
		                             ? c->has_key && files[i].day < c->day
		                             : (uint64_t)files[i].day + c->retention <= c->day;
		if (!obsolete)
			continue;
		char *path = file_path(dir, files[i].kind, files[i].day);
		if (path == NULL) {
			err = VEIL_ERR_NOMEM;
			goto out;
		}
		veil_err e = store_file_erase(path);
		free(path);
		if (e == VEIL_ERR_NOT_FOUND)
			continue;
		if (e != VEIL_OK) {
			err = e;
			goto out;
		}
		if (files[i].kind == FILE_SALT)
			erased++;
	}
	err = store_file_sync_dir(dir);
out:
	if (salts_erased != NULL)
		*salts_erased = erased;
	free(files);
	return err;
}

/* Opens dir's lock file and takes its lock (take_lock()): the descriptor;
 * -1 (errno set) when the file cannot be opened or locked; -2 out of memory. */
static int lock_dir(const char *dir, int patient);

veil_err
saltchain_sync(const saltchain *c, const char *dir, uint32_t *salts_erased)
{
	if (salts_erased != NULL)
		*salts_erased = 0;
	const int fd = lock_dir(dir, 1);
	if (fd < 0)
		return fd == -2 ? VEIL_ERR_NOMEM : VEIL_ERR_SYSTEM;
	const veil_err err = sync_files(c, dir, salts_erased);
	close(fd); /* releases the lock */
	return err;
}

static int
day_cmp(const void *a, const void *b)
{
	const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

veil_err
saltchain_list_salts(const char *dir, uint32_t **days, size_t *count)
{
	dir_file *files = NULL;
	size_t n = 0, salts = 0;
	uint32_t *out = NULL;

	if (days == NULL || count == NULL)
		return VEIL_ERR_ARGUMENT;
	*days = NULL;
	*count = 0;
	veil_err err = list_files(dir, &files, &n);
	if (err != VEIL_OK)
		return err;
	if ((out = malloc((n > 0 ? n : 1) * sizeof(*out))) == NULL) {
		free(files);
		return VEIL_ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (files[i].kind == FILE_SALT)
			out[salts++] = files[i].day;
	free(files);
	qsort(out, salts, sizeof(*out), day_cmp);
	*days = out;
	*count = salts;
	return VEIL_OK;
}

veil_err
saltchain_read_salt(const char *dir, uint32_t day, uint8_t salt[SALTCHAIN_KEY_SIZE])
{
	char *path = file_path(dir, FILE_SALT, day);
	if (path == NULL)
		return VEIL_ERR_NOMEM;
	veil_err err = keyfile_read(path, SALTCHAIN_SALT_KIND, salt, SALTCHAIN_KEY_SIZE);
	free(path);
	return err;
}

/* The day of the newest chain file in dir, in *day; 0 when there is none. */
static veil_err
newest_chain_day(const char *dir, uint32_t *day)
{
	dir_file *files = NULL;
	size_t count = 0;
	const veil_err err = list_files(dir, &files, &count);
	*day = 0;
	for (size_t i = 0; err == VEIL_OK && i < count; i++)
		if (files[i].kind == FILE_CHAIN && files[i].day > *day)
			*day = files[i].day;
	free(files);
	return err;
}

/* How long the record path waits for another process's step (ms). */
#define LOCK_PATIENCE_MS 2000

/* Takes fd's exclusive lock: waiting as long as it takes, or when patient
 * is 0 up to LOCK_PATIENCE_MS. Returns 0, or -1 with errno set. */
static int
take_lock(int fd, int patient)
{
	for (int waited = 0;; waited += 10) {
		if (flock(fd, patient ? LOCK_EX : LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (patient || errno != EWOULDBLOCK || waited >= LOCK_PATIENCE_MS)
			return -1;
		const struct timespec pause = {0, 10 * 1000 * 1000};
		nanosleep(&pause, NULL);
	}
}

static int
lock_dir(const char *dir, int patient)
{
	char *lock_path = store_file_join(dir, SALTCHAIN_LOCK_FILE);
	if (lock_path == NULL)
		return -2;
	const int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lock_path);
	if (fd >= 0 && take_lock(fd, patient) != 0) {
		const int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

veil_err
saltchain_step_shared(saltchain *c, const char *dir, uint32_t day, int create, int patient,
                      uint32_t *salts_erased)
{
	const int fd = lock_dir(dir, patient);
	if (fd == -2)
		return VEIL_ERR_NOMEM;
	if (fd < 0) {
		const int saved = errno;
		if (c->day != 0)
			saltchain_advance(c, day); /* alone; the files follow later */
		errno = saved;
		return VEIL_ERR_SYSTEM;
	}
	uint32_t on_disk = 0;
	veil_err err = VEIL_OK;
	if (c->day == 0) {
		saltchain_clear(c);
		err = saltchain_load(c, dir, day, create);
	} else if ((err = newest_chain_day(dir, &on_disk)) == VEIL_OK && on_disk > c->day) {
		/* Another process stepped further: its files are the log's
		 * chain. Loaded aside, so that a failure leaves c as it was. */
		saltchain *theirs = NULL;
		if ((err = saltchain_new(c->retention, &theirs)) == VEIL_OK &&
		    (err = saltchain_load(theirs, dir, day, create)) == VEIL_OK)
			saltchain_copy(c, theirs);
		saltchain_free(theirs);
		if (err != VEIL_OK)
			saltchain_advance(c, day); /* alone; the files follow later */
	} else {
		saltchain_advance(c, day); /* c is the newest: it steps for everyone */
	}
	if (err == VEIL_OK)
		err = sync_files(c, dir, salts_erased);
	close(fd); /* releases the lock */
	return err;
}

#define _GNU_SOURCE /* renameat2, RENAME_EXCHANGE */
#include "redeem.h"

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

#include "clock.h"
#include "file.h"
#include "store_file.h"

#define CHALLENGE_HEADER "veil-token-challenge-v1"
/* The longest challenge file: its header and two lines of a name. */
#define CHALLENGE_MAX    (sizeof(CHALLENGE_HEADER) + 2 * (ISSUER_NAME_MAX + 10))
/* Key ids a link may forget: the old copy's and a leftover copy's. */
#define CANDIDATES_MAX   (2 * ISSUER_MAX_KEYS)

/* ------------------------------------------------------------------ */
/* The challenge */

/* Copies the rest of line "<key> <value>" into out when it starts with key; 1 on success. */
static int
take_line(char **p, const char *key, char out[ISSUER_NAME_MAX + 1])
{
	const size_t key_len = strlen(key);
	char *nl = strchr(*p, '\n');
	if (nl == NULL || strncmp(*p, key, key_len) != 0 || (*p)[key_len] != ' ')
		return 0;
	*nl = '\0';
	const char *value = *p + key_len + 1;
	*p = nl + 1;
	if (!token_name_valid(value))
		return 0;
	memcpy(out, value, strlen(value) + 1);
	return 1;
}

static veil_err
challenge_read_dir(const char *dir, char issuer_name[ISSUER_NAME_MAX + 1],
                   char origin[REDEEM_ORIGIN_MAX + 1])
{
	char *path = store_file_join(dir, REDEEM_CHALLENGE_FILE), *text = NULL;
	size_t len = 0;
	if (path == NULL)
		return VEIL_ERR_NOMEM;
	const int rc = file_read_all(path, CHALLENGE_MAX, &text, &len);
	const int e = errno;
	free(path);
	if (rc != 0)
		return e == ENOENT  ? VEIL_ERR_NOT_FOUND
		       : e == EFBIG ? VEIL_ERR_CORRUPT
		                    : store_file_errno_err(e);
	char *p = text;
	veil_err err = VEIL_ERR_CORRUPT;
	if (memchr(text, '\0', len) == NULL &&
	    strncmp(p, CHALLENGE_HEADER "\n", sizeof(CHALLENGE_HEADER)) == 0) {
		p += sizeof(CHALLENGE_HEADER);
		if (take_line(&p, "issuer", issuer_name) && take_line(&p, "origin", origin) &&
		    *p == '\0')
			err = VEIL_OK;
	}
	free(text);
	if (err != VEIL_OK) {
		issuer_name[0] = '\0';
		origin[0] = '\0';
	}
	return err;
}

veil_err
redeem_challenge_read(const char *state_dir, char issuer_name[ISSUER_NAME_MAX + 1],
                      char origin[REDEEM_ORIGIN_MAX + 1])
{
	if (issuer_name != NULL)
		issuer_name[0] = '\0';
	if (origin != NULL)
		origin[0] = '\0';
	if (state_dir == NULL || issuer_name == NULL || origin == NULL)
		return VEIL_ERR_ARGUMENT;
	char *dir = store_file_join(state_dir, REDEEM_DIR);
	if (dir == NULL)
		return VEIL_ERR_NOMEM;
	const veil_err err = challenge_read_dir(dir, issuer_name, origin);
	free(dir);
	return err;
}

/* Writes dir's challenge file (0644, store_file_write_synced()). */
static veil_err
challenge_write(const char *dir, const char *issuer_name, const char *origin)
{
	char text[CHALLENGE_MAX + 1];
	const int n = snprintf(text, sizeof(text), "%s\nissuer %s\norigin %s\n", CHALLENGE_HEADER,
	                       issuer_name, origin);
	return store_file_write_synced(dir, REDEEM_CHALLENGE_FILE, text, (size_t)n, 0644);
}

/* ------------------------------------------------------------------ */
/* Copies */

/* Erases a copy directory: its key files zeroed, the rest unlinked, then the directory. */
static veil_err
copy_erase(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	veil_err err = VEIL_OK;
	if (d == NULL)
		return errno == ENOENT ? VEIL_OK : store_file_errno_err(errno);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *path = store_file_join(dir, e->d_name);
		if (path == NULL) {
			err = VEIL_ERR_NOMEM;
			break;
		}
		veil_err e2 = store_file_erase(path); /* every file: the key files are secret */
		free(path);
		if (e2 != VEIL_OK && e2 != VEIL_ERR_NOT_FOUND) {
			err = e2;
			break;
		}
	}
	closedir(d);
	if (err == VEIL_OK && rmdir(dir) != 0 && errno != ENOENT)
		err = VEIL_ERR_SYSTEM;
	return err;
}

/* Appends the key ids of the copy in dir (if it opens) to ids. */
static void
note_key_ids(const char *dir, uint8_t ids[][TOKEN_KEY_ID_SIZE], size_t *count)
{
	issuer *old = NULL;
	issuer_key_info info[ISSUER_MAX_KEYS];
	size_t n = 0;
	if (issuer_open_keys(dir, &old) != VEIL_OK)
		return;
	if (issuer_keys(old, info, &n) == VEIL_OK)
		for (size_t i = 0; i < n && *count < CANDIDATES_MAX; i++)
			memcpy(ids[(*count)++], info[i].token_key_id, TOKEN_KEY_ID_SIZE);
	issuer_close(old);
}

/* Puts the copy in fresh into place as dir: an atomic exchange when dir exists. */
static veil_err
copy_install(const char *fresh, const char *dir, int *exchanged)
{
	*exchanged = 0;
	if (renameat2(AT_FDCWD, fresh, AT_FDCWD, dir, RENAME_NOREPLACE) == 0)
		return VEIL_OK;
	if (errno != EEXIST)
		return VEIL_ERR_SYSTEM;
	if (renameat2(AT_FDCWD, fresh, AT_FDCWD, dir, RENAME_EXCHANGE) != 0)
		return VEIL_ERR_SYSTEM;
	*exchanged = 1;
	return VEIL_OK;
}

static int
key_id_in(const uint8_t id[TOKEN_KEY_ID_SIZE], const issuer_key_info *info, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (memcmp(info[i].token_key_id, id, TOKEN_KEY_ID_SIZE) == 0)
			return 1;
	return 0;
}

veil_err
redeem_link(const char *issuer_dir, const char *state_dir, const char *origin, int64_t now,
            redeem_link_result *out)
{
	char old_issuer[ISSUER_NAME_MAX + 1];
	uint8_t candidates[CANDIDATES_MAX][TOKEN_KEY_ID_SIZE];
	size_t candidate_count = 0, live = 0;
	issuer_key_info kept[ISSUER_MAX_KEYS];
	redeem_link_result done;
	issuer *check = NULL;
	spent *sp = NULL;
	char *dir = NULL, *fresh = NULL;
	int lock = -1, exchanged = 0;
	veil_err err;

	memset(&done, 0, sizeof(done));
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (issuer_dir == NULL || state_dir == NULL || now <= 0 ||
	    (origin != NULL && !token_name_valid(origin)))
		return VEIL_ERR_ARGUMENT;
	if ((dir = store_file_join(state_dir, REDEEM_DIR)) == NULL ||
	    (fresh = store_file_join(state_dir, REDEEM_DIR ".new")) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	if ((lock = store_file_lock_dir(state_dir)) < 0) {
		err = store_file_errno_err(errno);
		goto out;
	}
	/* Without an origin, the copy's; a new one replaces a damaged copy too. */
	if (origin == NULL) {
		err = challenge_read_dir(dir, old_issuer, done.origin);
		if (err == VEIL_ERR_NOT_FOUND)
			err = VEIL_ERR_ARGUMENT; /* the first link names the origin */
		if (err != VEIL_OK)
			goto out;
	} else {
		memcpy(done.origin, origin, strlen(origin) + 1);
	}
	if ((err = issuer_name_read(issuer_dir, done.issuer_name)) != VEIL_OK)
		goto out;

	/* The keys that may leave: the copy in place, and one a killed link left. */
	note_key_ids(dir, candidates, &candidate_count);
	note_key_ids(fresh, candidates, &candidate_count);
	if ((err = copy_erase(fresh)) != VEIL_OK)
		goto out;

	/* The new copy beside the old one, whole and synced, then swapped in. */
	if (mkdir(fresh, 0700) != 0) {
		err = store_file_errno_err(errno);
		goto out;
	}
	if ((err = issuer_copy_live_keys(issuer_dir, fresh, now, kept, &live)) != VEIL_OK ||
	    (err = challenge_write(fresh, done.issuer_name, done.origin)) != VEIL_OK)
		goto out;
	/* What veild will load: it must open. */
	if ((err = issuer_open_keys(fresh, &check)) != VEIL_OK)
		goto out;
	issuer_close(check);
	if ((err = copy_install(fresh, dir, &exchanged)) != VEIL_OK ||
	    (err = store_file_sync_dir(state_dir)) != VEIL_OK)
		goto out;
	done.keys = (uint32_t)live;

	/* Keys that left: their spent sets, then the old copy's files. */
	if ((err = spent_open(state_dir, NULL, &sp)) != VEIL_OK)
		goto out;
	for (size_t i = 0; i < candidate_count; i++) {
		uint64_t erased = 0;
		int again = 0;
		if (key_id_in(candidates[i], kept, live))
			continue;
		for (size_t j = 0; j < i; j++)
			again |= memcmp(candidates[j], candidates[i], TOKEN_KEY_ID_SIZE) == 0;
		if (again)
			continue;
		done.keys_removed++;
		veil_err e2 = spent_forget_key(sp, candidates[i], &erased);
		if (e2 == VEIL_OK)
			done.tokens_forgotten += erased;
		else if (e2 != VEIL_ERR_NOT_FOUND) {
			err = e2;
			goto out;
		}
	}
	if (exchanged)
		err = copy_erase(fresh);
	if (err == VEIL_OK)
		err = store_file_sync_dir(state_dir);
out:
	if (err != VEIL_OK && fresh != NULL && !exchanged)
		(void)copy_erase(fresh); /* a failed link leaves the old copy alone */
	spent_close(sp);
	if (lock >= 0)
		close(lock);
	free(dir);
	free(fresh);
	if (err == VEIL_OK && out != NULL)
		*out = done;
	return err;
}

/* ------------------------------------------------------------------ */
/* Redemption */

/* What a copy is, on disk: its issuer.keys file. */
typedef struct copy_stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
} copy_stamp;

/* One loaded copy: its keys and the digest of its challenge. */
typedef struct loaded_copy {
	issuer *keys;
	uint8_t digest[TOKEN_DIGEST_SIZE];
	copy_stamp stamp;
} loaded_copy;

struct redeemer {
	char *dir; /* STATE/tokens */
	spent *spent;
	pthread_rwlock_t lock; /* over copy: read to redeem, write to swap */
	loaded_copy copy;
	_Atomic int64_t last_check; /* monotonic seconds of the last look at the stamp */
	/* The names of the challenge of the copy loaded at redeemer_open(). */
	char issuer_name[ISSUER_NAME_MAX + 1];
	char origin[REDEEM_ORIGIN_MAX + 1];
};

/* The redeemer's lock, writer-preferring: under a steady stream of
 * redemptions a swap waits only for those in flight, not for a gap. */
static int
lock_init(pthread_rwlock_t *lock)
{
	pthread_rwlockattr_t attr;
	if (pthread_rwlockattr_init(&attr) != 0)
		return -1;
	int rc = pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	if (rc == 0)
		rc = pthread_rwlock_init(lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	return rc == 0 ? 0 : -1;
}

static veil_err
stamp_of(const char *dir, copy_stamp *out)
{
	char *path = store_file_join(dir, ISSUER_KEYS_FILE);
	struct stat st;
	memset(out, 0, sizeof(*out));
	if (path == NULL)
		return VEIL_ERR_NOMEM;
	const int rc = stat(path, &st);
	const int e = errno;
	free(path);
	if (rc != 0)
		return store_file_errno_err(e);
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	out->size = st.st_size;
	out->mtime = st.st_mtim;
	return VEIL_OK;
}

static int
stamp_equal(const copy_stamp *a, const copy_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/*
 * Loads the copy in dir, its challenge's names into name and origin;
 * VEIL_ERR_BUSY when it was relinked while read (try again).
 */
static veil_err
copy_load_named(const char *dir, loaded_copy *out, char name[ISSUER_NAME_MAX + 1],
                char origin[REDEEM_ORIGIN_MAX + 1])
{
	copy_stamp after;
	veil_err err;
	memset(out, 0, sizeof(*out));
	if ((err = stamp_of(dir, &out->stamp)) != VEIL_OK ||
	    (err = issuer_open_keys(dir, &out->keys)) != VEIL_OK ||
	    (err = challenge_read_dir(dir, name, origin)) != VEIL_OK ||
	    (err = token_challenge_digest_of(name, origin, out->digest)) != VEIL_OK ||
	    (err = stamp_of(dir, &after)) != VEIL_OK)
		goto out;
	if (!stamp_equal(&out->stamp, &after))
		err = VEIL_ERR_BUSY; /* relinked meanwhile: the parts may not match */
out:
	if (err != VEIL_OK) {
		issuer_close(out->keys);
		memset(out, 0, sizeof(*out));
	}
	return err;
}

/* copy_load_named() without the names. */
static veil_err
copy_load(const char *dir, loaded_copy *out)
{
	char name[ISSUER_NAME_MAX + 1], origin[REDEEM_ORIGIN_MAX + 1];
	return copy_load_named(dir, out, name, origin);
}

veil_err
redeemer_open(const char *state_dir, const spent_config *spent_cfg, redeemer **out)
{
	if (out != NULL)
		*out = NULL;
	if (state_dir == NULL || out == NULL)
		return VEIL_ERR_ARGUMENT;
	redeemer *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return VEIL_ERR_NOMEM;
	veil_err err = VEIL_ERR_NOMEM;
	if ((r->dir = store_file_join(state_dir, REDEEM_DIR)) == NULL)
		goto fail;
	/* A copy relinked while it is read: once more. */
	for (int attempt = 0; attempt < 3; attempt++)
		if ((err = copy_load_named(r->dir, &r->copy, r->issuer_name, r->origin)) !=
		    VEIL_ERR_BUSY)
			break;
	if (err != VEIL_OK)
		goto fail;
	if ((err = spent_open(state_dir, spent_cfg, &r->spent)) != VEIL_OK)
		goto fail;
	if (lock_init(&r->lock) != 0) {
		err = VEIL_ERR_SYSTEM;
		goto fail;
	}
	atomic_store(&r->last_check, (int64_t)clock_monotonic_seconds());
	*out = r;
	return VEIL_OK;
fail:
	spent_close(r->spent);
	issuer_close(r->copy.keys);
	free(r->dir);
	free(r);
	return err;
}

const char *
redeemer_issuer_name(const redeemer *r)
{
	return r != NULL ? r->issuer_name : NULL;
}

const char *
redeemer_origin(const redeemer *r)
{
	return r != NULL ? r->origin : NULL;
}

void
redeemer_close(redeemer *r)
{
	if (r == NULL)
		return;
	pthread_rwlock_destroy(&r->lock);
	spent_close(r->spent);
	issuer_close(r->copy.keys);
	free(r->dir);
	free(r);
}

void
redeemer_refresh(redeemer *r)
{
	if (r == NULL)
		return;
	const int64_t now = (int64_t)clock_monotonic_seconds();
	int64_t last = atomic_load(&r->last_check);
	if (now <= last || !atomic_compare_exchange_strong(&r->last_check, &last, now))
		return;
	copy_stamp on_disk;
	if (stamp_of(r->dir, &on_disk) != VEIL_OK)
		return;
	pthread_rwlock_rdlock(&r->lock);
	const int same = stamp_equal(&on_disk, &r->copy.stamp);
	pthread_rwlock_unlock(&r->lock);
	loaded_copy fresh;
	if (same || copy_load(r->dir, &fresh) != VEIL_OK)
		return;
	pthread_rwlock_wrlock(&r->lock);
	loaded_copy old = r->copy;
	r->copy = fresh;
	pthread_rwlock_unlock(&r->lock);
	issuer_close(old.keys);
}

redeem_verdict
redeemer_redeem(redeemer *r, const token *t, int64_t now)
{
	if (r == NULL || t == NULL)
		return REDEEM_ERROR;
	redeem_verdict verdict = REDEEM_INVALID;
	int valid = 0;
	pthread_rwlock_rdlock(&r->lock);
	if (sodium_memcmp(t->challenge_digest, r->copy.digest, TOKEN_DIGEST_SIZE) == 0) {
		const oprf_key *key = issuer_key(r->copy.keys, t->token_key_id, now);
		if (key != NULL) {
			const veil_err err = token_verify(key, t, &valid);
			if (err != VEIL_OK && err != VEIL_ERR_INVALID_INPUT)
				verdict = REDEEM_ERROR;
		}
	}
	pthread_rwlock_unlock(&r->lock);
	if (verdict == REDEEM_ERROR || !valid)
		return verdict;
	switch (spent_redeem(r->spent, t->token_key_id, t->nonce)) {
	case SPENT_OK:
		return REDEEM_OK;
	case SPENT_AGAIN:
		return REDEEM_SPENT;
	case SPENT_FULL:
	case SPENT_ERROR:
	default:
		return REDEEM_ERROR;
	}
}

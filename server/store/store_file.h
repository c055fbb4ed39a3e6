/*
 * Files the stores keep beside their databases: paths in a directory,
 * small files replaced whole, directory entries made durable, and secret
 * files erased.
 *
 * Durability follows one order everywhere: a file is written and fsynced
 * (keyfile.h does so), then its directory is fsynced, so that a crash
 * leaves either no entry or the whole file; an erased file is zeroed and
 * fsynced before it is unlinked, and the directory fsynced after.
 *
 * May use: common/ (error.h, keyfile.h); nothing else of the project.
 */
#ifndef VEIL_SERVER_STORE_FILE_H
#define VEIL_SERVER_STORE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/*
 * "dir/name" in a new heap string, the caller's to free; NULL when out of
 * memory.
 */
char *store_file_join(const char *dir, const char *name) __attribute__((warn_unused_result));

/*
 * 1 when dir/name exists (stat(2): a link is followed, so a dangling one
 * does not count), else 0: also when that cannot be told (out of memory,
 * a directory that cannot be searched).
 */
int store_file_exists(const char *dir, const char *name);

/*
 * Takes an exclusive flock(2) of the directory dir itself, waiting for it
 * (the lock of a multi-step change that two processes must not make at
 * once: a key rotation). Returns the descriptor that holds it (close it to
 * release), or -1 with errno set (the directory cannot be opened, or the
 * lock failed other than by a signal).
 */
int store_file_lock_dir(const char *dir) __attribute__((warn_unused_result));

/*
 * The secret of a store's key file: reads the common/keyfile.h file
 * dir/name of kind into secret (len bytes, the caller's guarded memory),
 * or, when there is none, makes one of random bytes (0600) and fsyncs dir,
 * so that the key is durable before anything keyed with it. When another
 * process makes it first, that one is read. Errors: those of
 * keyfile_read() and keyfile_write(), VEIL_ERR_NOMEM, VEIL_ERR_SYSTEM.
 */
veil_err store_file_secret(const char *dir, const char *name, const char *kind, uint8_t *secret,
                           size_t len) __attribute__((warn_unused_result));

/*
 * Writes a small file whole: len bytes of data to dir/name, replacing
 * what was there in one step. The bytes go to dir/name.tmp first (a
 * stale one, or a link of that name, removed before; created with mode,
 * less the umask, never through a link), are fsynced, the temporary is
 * renamed over dir/name and dir fsynced: a crash leaves the old file or
 * the new one, never a part. Not for two writers of one name at once
 * (take store_file_lock_dir() of dir). Errors: VEIL_ERR_ARGUMENT (dir or
 * name NULL, data NULL with len > 0); VEIL_ERR_NOMEM; VEIL_ERR_SYSTEM (no
 * such dir, or a write, fsync or rename failed: the temporary is removed
 * and dir/name untouched; or fsyncing dir after the rename failed: the
 * new file is in place but may not survive a crash).
 */
veil_err store_file_write_synced(const char *dir, const char *name, const void *data, size_t len,
                                 mode_t mode) __attribute__((warn_unused_result));

/*
 * The veil_err of a failed system call's errno e: VEIL_ERR_NOT_FOUND for
 * ENOENT, VEIL_ERR_NOMEM for ENOMEM, else VEIL_ERR_SYSTEM.
 */
veil_err store_file_errno_err(int e);

/*
 * fsyncs the directory dir, so that the entries made or removed in it
 * survive a crash. Errors: VEIL_ERR_SYSTEM.
 */
veil_err store_file_sync_dir(const char *dir) __attribute__((warn_unused_result));

/*
 * Erases the regular file at path (a link is not followed): overwrites
 * its bytes with zeros, fsyncs and unlinks it; fsyncing the directory is
 * the caller's. A file another process unlinked meanwhile counts as erased.
 * Errors: VEIL_ERR_NOT_FOUND (no file there), VEIL_ERR_SYSTEM (not a
 * regular file, or a write, fsync or unlink failed).
 */
veil_err store_file_erase(const char *path) __attribute__((warn_unused_result));

#endif

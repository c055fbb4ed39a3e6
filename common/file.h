/*
 * Whole files in and out, for the programs: read a file into memory,
 * write a buffer to a file. Secrets have their own module (keyfile.h).
 */
#ifndef VEIL_COMMON_FILE_H
#define VEIL_COMMON_FILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Reads the whole of path into a new NUL-terminated heap buffer (the
 * caller frees *text); *len gets its length, without the NUL. A file
 * larger than max bytes is refused with errno EFBIG. Returns 0, or -1
 * with errno set and *text NULL.
 */
int file_read_all(const char *path, size_t max, char **text, size_t *len)
        __attribute__((warn_unused_result));

/*
 * Creates or truncates path with mode (before the umask) and writes len
 * bytes of data to it. Returns 0, or -1 with errno set (the file may
 * then hold part of data).
 */
int file_write_all(const char *path, const void *data, size_t len, mode_t mode)
        __attribute__((warn_unused_result));

/*
 * fsyncs the directory dir, so that the entries made, renamed or removed
 * in it survive a crash. Returns 0, or -1 with errno set.
 */
int file_sync_dir(const char *dir) __attribute__((warn_unused_result));

/*
 * Opens path with flags (and mode, when they create it) and takes an
 * exclusive flock(2) of it, waiting for another holder and retrying when
 * a signal interrupts the wait: a lock of a directory (O_DIRECTORY) or of
 * a lock file, held until the descriptor is closed. Returns the
 * descriptor, or -1 with errno set (nothing left open).
 */
int file_open_locked(const char *path, int flags, mode_t mode) __attribute__((warn_unused_result));

#endif

#include "store_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

#include <sodium.h>

#include "keyfile.h"

char *
store_file_join(const char *dir, const char *name)
{
	const size_t need = strlen(dir) + 1 + strlen(name) + 1;
	char *path = malloc(need);
	if (path != NULL)
		snprintf(path, need, "%s/%s", dir, name);
	return path;
}

int
store_file_exists(const char *dir, const char *name)
{
	char *path = store_file_join(dir, name);
	struct stat st;
	const int found = path != NULL && stat(path, &st) == 0;
	free(path);
	return found;
}

veil_err
store_file_errno_err(int e)
{
	return e == ENOENT ? VEIL_ERR_NOT_FOUND : e == ENOMEM ? VEIL_ERR_NOMEM : VEIL_ERR_SYSTEM;
}

veil_err
store_file_write_synced(const char *dir, const char *name, const void *data, size_t len,
                        mode_t mode)
{
	if (dir == NULL || name == NULL || (data == NULL && len > 0))
		return VEIL_ERR_ARGUMENT;
	char *path = store_file_join(dir, name);
	const size_t tmp_size = path != NULL ? strlen(path) + sizeof(".tmp") : 0;
	char *tmp = path != NULL ? malloc(tmp_size) : NULL;
	veil_err err = VEIL_ERR_NOMEM;
	int fd = -1, written = 0;

	if (tmp == NULL)
		goto out;
	snprintf(tmp, tmp_size, "%s.tmp", path);
	err = VEIL_ERR_SYSTEM;
	if (unlink(tmp) != 0 && errno != ENOENT)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		goto out;
	for (size_t done = 0; done < len;) {
		const ssize_t n = write(fd, (const uint8_t *)data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		done += (size_t)n;
	}
	written = fsync(fd) == 0;
	written = close(fd) == 0 && written;
	fd = -1;
	if (written && rename(tmp, path) == 0)
		err = store_file_sync_dir(dir);
out:
	if (fd >= 0)
		close(fd);
	if (err != VEIL_OK && tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(path);
	return err;
}

veil_err
store_file_sync_dir(const char *dir)
{
	return file_sync_dir(dir) == 0 ? VEIL_OK : VEIL_ERR_SYSTEM;
}

veil_err
store_file_erase(const char *path)
{
	static const uint8_t zeros[4096];
	struct stat st;
	veil_err err = VEIL_OK;

	const int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? VEIL_ERR_NOT_FOUND : VEIL_ERR_SYSTEM;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err = VEIL_ERR_SYSTEM;
		goto out;
	}
	for (off_t done = 0; done < st.st_size;) {
		const size_t want = st.st_size - done < (off_t)sizeof(zeros)
		                            ? (size_t)(st.st_size - done)
		                            : sizeof(zeros);
		const ssize_t w = pwrite(fd, zeros, want, done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = VEIL_ERR_SYSTEM;
			goto out;
		}
		done += w;
	}
	if (fsync(fd) != 0)
		err = VEIL_ERR_SYSTEM;
out:
	close(fd);
	if (err == VEIL_OK && unlink(path) != 0 && errno != ENOENT)
		err = VEIL_ERR_SYSTEM;
	return err;
}

int
store_file_lock_dir(const char *dir)
{
	return file_open_locked(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
}

veil_err
store_file_secret(const char *dir, const char *name, const char *kind, uint8_t *secret, size_t len)
{
	char *path = store_file_join(dir, name);
	if (path == NULL)
		return VEIL_ERR_NOMEM;
	veil_err err = keyfile_read(path, kind, secret, len);
	if (err == VEIL_ERR_NOT_FOUND) {
		randombytes_buf(secret, len);
		err = keyfile_write(path, kind, secret, len);
		if (err == VEIL_ERR_EXISTS) /* another process made it first */
			err = keyfile_read(path, kind, secret, len);
		else if (err == VEIL_OK)
			err = store_file_sync_dir(dir);
	}
	free(path);
	return err;
}

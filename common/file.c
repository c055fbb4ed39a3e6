#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
file_read_all(const char *path, size_t max, char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	int err = b == NULL ? ENOMEM : 0;
	while (err == 0) {
		if (n + 1 >= cap) {
			char *grown = realloc(b, cap * 2);
			if (grown == NULL) {
				err = ENOMEM;
				break;
			}
			b = grown;
			cap *= 2;
		}
		const size_t got = fread(b + n, 1, cap - n - 1, f);
		n += got;
		if (n > max)
			err = EFBIG;
		else if (got == 0 && ferror(f))
			err = EIO;
		else if (got == 0)
			break;
	}
	fclose(f);
	if (err != 0) {
		free(b);
		errno = err;
		return -1;
	}
	b[n] = '\0';
	*text = b;
	*len = n;
	return 0;
}

int
file_write_all(const char *path, const void *data, size_t len, mode_t mode)
{
	const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	const char *p = data;
	size_t done = 0;
	while (done < len) {
		const ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			const int saved = n < 0 ? errno : EIO;
			close(fd);
			errno = saved;
			return -1;
		}
		done += (size_t)n;
	}
	return close(fd);
}

int
file_sync_dir(const char *dir)
{
	const int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	const int rc = fsync(fd);
	const int saved = errno;
	close(fd);
	errno = saved;
	return rc == 0 ? 0 : -1;
}

int
file_open_locked(const char *path, int flags, mode_t mode)
{
	const int fd = open(path, flags, mode);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			const int saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
	}
	return fd;
}

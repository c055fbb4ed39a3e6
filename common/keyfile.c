#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

/* label, space, hex, newline */
#define LINE_MAX_SIZE (64 + 1 + 2 * KEYFILE_MAX_SECRET + 1)

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

veil_err
keyfile_write(const char *path, const char *kind, const uint8_t *secret, size_t len)
{
	char line[LINE_MAX_SIZE];
	const size_t kind_len = kind != NULL ? strlen(kind) : 0;
	if (path == NULL || secret == NULL || len == 0 || len > KEYFILE_MAX_SECRET ||
	    kind_len == 0 || kind_len > 64 || strchr(kind, ' ') != NULL)
		return VEIL_ERR_ARGUMENT;

	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errno == EEXIST ? VEIL_ERR_EXISTS : VEIL_ERR_SYSTEM;
	memcpy(line, kind, kind_len);
	line[kind_len] = ' ';
	sodium_bin2hex(line + kind_len + 1, 2 * len + 1, secret, len);
	const size_t line_len = kind_len + 1 + 2 * len + 1;
	line[line_len - 1] = '\n';

	veil_err err = VEIL_OK;
	/* The umask may have widened nothing, but be explicit. */
	if (fchmod(fd, 0600) != 0 || write_all(fd, line, line_len) != 0 || fsync(fd) != 0)
		err = VEIL_ERR_SYSTEM;
	const int saved = errno;
	if (close(fd) != 0 && err == VEIL_OK)
		err = VEIL_ERR_SYSTEM;
	if (err != VEIL_OK)
		unlink(path);
	sodium_memzero(line, sizeof(line));
	errno = saved;
	return err;
}

veil_err
keyfile_read(const char *path, const char *kind, uint8_t *secret_out, size_t len)
{
	char line[LINE_MAX_SIZE + 1];
	struct stat st;
	veil_err err = VEIL_OK;
	ssize_t got = 0;

	if (path == NULL || kind == NULL || secret_out == NULL || len == 0 ||
	    len > KEYFILE_MAX_SECRET)
		return VEIL_ERR_ARGUMENT;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? VEIL_ERR_NOT_FOUND : VEIL_ERR_SYSTEM;
	if (fstat(fd, &st) != 0) {
		err = VEIL_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = VEIL_ERR_CORRUPT;
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		err = VEIL_ERR_PERMISSION;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, line + got, sizeof(line) - 1 - (size_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = VEIL_ERR_SYSTEM;
			goto out;
		}
		if (r == 0 || (size_t)(got += r) == sizeof(line) - 1)
			break;
	}
	line[got] = '\0';

	const size_t kind_len = strlen(kind);
	const size_t want = kind_len + 1 + 2 * len + 1;
	size_t bin_len = 0;
	const char *hex_end = NULL;
	if ((size_t)got != want || memcmp(line, kind, kind_len) != 0 || line[kind_len] != ' ' ||
	    line[want - 1] != '\n' ||
	    sodium_hex2bin(secret_out, len, line + kind_len + 1, 2 * len, NULL, &bin_len,
	                   &hex_end) != 0 ||
	    bin_len != len || hex_end != line + want - 1) {
		sodium_memzero(secret_out, len);
		err = VEIL_ERR_CORRUPT;
	}
out:
	sodium_memzero(line, sizeof(line));
	close(fd);
	return err;
}

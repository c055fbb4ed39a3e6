/*
 * Replays a fuzz target's seed corpus without libFuzzer, so that the
 * corpus runs as an ordinary test under meson (and under the sanitizers).
 * Arguments are files or directories; every regular file is fed once to
 * LLVMFuzzerTestOneInput. A target signals a broken invariant by abort(),
 * which fails the test.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		perror(path);
		return -1;
	}
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			uint8_t *grown = realloc(buf, cap);
			if (grown == NULL) {
				free(buf);
				fclose(f);
				return -1;
			}
			buf = grown;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		if (got == 0)
			break;
		len += got;
	}
	int failed = ferror(f);
	fclose(f);
	if (!failed)
		LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return failed ? -1 : 0;
}

static int
replay_path(const char *path, unsigned *count)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	DIR *dir = opendir(path);
	if (dir == NULL) {
		perror(path);
		return -1;
	}
	int rc = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.')
			continue;
		size_t need = strlen(path) + strlen(entry->d_name) + 2;
		char *child = malloc(need);
		if (child == NULL) {
			rc = -1;
			break;
		}
		snprintf(child, need, "%s/%s", path, entry->d_name);
		if (replay_path(child, count) != 0)
			rc = -1;
		free(child);
	}
	closedir(dir);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned count = 0;
	int rc = 0;
	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) != 0)
			rc = 1;
	if (count == 0) {
		fprintf(stderr, "no corpus files replayed\n");
		return 1;
	}
	printf("replayed %u corpus files\n", count);
	return rc;
}

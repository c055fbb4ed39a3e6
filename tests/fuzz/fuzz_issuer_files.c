/*
 * Fuzzes the readers of the text files of an issuer's state and of
 * veild's copy of it: the challenge file (redeem_challenge_read), the
 * key list issuer.keys (issuer_open_keys) and the name file
 * (issuer_name_read). The first byte picks the file, the rest is its
 * content, written to a scratch state directory made once. Whatever the
 * bytes:
 *
 *   - a reader returns VEIL_OK or a documented error, never crashes;
 *   - the challenge on VEIL_OK is two valid names, the same on a second
 *     read; on error both outputs are "";
 *   - the name on VEIL_OK is a valid name, "" on error;
 *   - the key list opens (VEIL_OK) only when every key it lists has a key
 *     file: the scratch directory has none, so a list that names a key is
 *     refused (NOT_FOUND), and one that names none is refused as damaged.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "issuer.h"
#include "oprf.h"
#include "redeem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char state[64], copy[96];

/* Removes the scratch directory and the files the inputs were written to. */
static void
remove_scratch(void)
{
	static const char *const names[] = {REDEEM_CHALLENGE_FILE, ISSUER_NAME_FILE,
	                                    ISSUER_KEYS_FILE};
	char path[160];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", copy, names[i]);
		unlink(path);
	}
	rmdir(copy);
	rmdir(state);
}

/* The scratch state directory, with its tokens/ copy directory, once. */
static void
scratch(void)
{
	if (state[0] != '\0')
		return;
	if (veil_crypto_init() != VEIL_OK)
		abort();
	umask(077); /* the files as the programs make them: 0600, which the readers ask */
	snprintf(state, sizeof(state), "/tmp/veil-fuzz-issuer-XXXXXX");
	if (mkdtemp(state) == NULL)
		abort();
	snprintf(copy, sizeof(copy), "%s/%s", state, REDEEM_DIR);
	if (mkdir(copy, 0700) != 0)
		abort();
	atexit(remove_scratch);
}

static void
put(const char *dir, const char *name, const uint8_t *data, size_t size)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	scratch();
	const uint8_t which = data[0] % 3;
	data++;
	size--;
	if (which == 0) {
		char name[ISSUER_NAME_MAX + 1], origin[REDEEM_ORIGIN_MAX + 1];
		char name2[ISSUER_NAME_MAX + 1], origin2[REDEEM_ORIGIN_MAX + 1];
		put(copy, REDEEM_CHALLENGE_FILE, data, size);
		const veil_err err = redeem_challenge_read(state, name, origin);
		if (err == VEIL_OK) {
			if (!token_name_valid(name) || !token_name_valid(origin) ||
			    redeem_challenge_read(state, name2, origin2) != VEIL_OK ||
			    strcmp(name, name2) != 0 || strcmp(origin, origin2) != 0)
				abort();
		} else if (err != VEIL_ERR_CORRUPT || name[0] != '\0' || origin[0] != '\0') {
			abort();
		}
	} else if (which == 1) {
		char name[ISSUER_NAME_MAX + 1];
		put(copy, ISSUER_NAME_FILE, data, size);
		const veil_err err = issuer_name_read(copy, name);
		if (err == VEIL_OK ? !token_name_valid(name)
		                   : err != VEIL_ERR_CORRUPT || name[0] != '\0')
			abort();
	} else {
		issuer *keys = NULL;
		put(copy, ISSUER_KEYS_FILE, data, size);
		const veil_err err = issuer_open_keys(copy, &keys);
		if (err == VEIL_OK || keys != NULL ||
		    (err != VEIL_ERR_CORRUPT && err != VEIL_ERR_NOT_FOUND))
			abort();
	}
	return 0;
}

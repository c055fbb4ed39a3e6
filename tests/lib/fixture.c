#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proc.h"

/* Runs one veil-admin step; aborts with its stderr if it fails. */
static void
step(const char *const argv[], char **out)
{
	char *err = NULL;
	if (proc_run(argv, NULL, out, &err) != 0) {
		fprintf(stderr, "test setup: veil-admin %s failed: %s\n", argv[1], err);
		abort();
	}
	free(err);
}

void
fixture_state(const char *admin_path, const char *state_dir, const char *import_path,
	      uint8_t server_key[32])
{
	const char *keygen[] = {admin_path, "keygen", "--state", state_dir, NULL};
	const char *imp[] = {admin_path, "import", "--state",	state_dir,
			     "--region", "US",	   import_path, NULL};
	const char *info[] = {admin_path, "info", "--state", state_dir, NULL};
	char *out = NULL;
	step(keygen, NULL);
	if (import_path != NULL)
		step(imp, NULL);
	step(info, &out);
	if (strncmp(out, "server-key ", 11) != 0 ||
	    sodium_hex2bin(server_key, 32, out + 11, 64, NULL, NULL, NULL) != 0) {
		fprintf(stderr, "test setup: no server-key line from veil-admin info\n");
		abort();
	}
	free(out);
}

#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proc.h"

void
fixture_state(const char *admin_path, const char *state_dir, const char *import_path,
	      uint8_t server_key[32])
{
	const char *keygen[] = {admin_path, "keygen", "--state", state_dir, NULL};
	const char *imp[] = {admin_path, "import", "--state",	state_dir,
			     "--region", "US",	   import_path, NULL};
	const char *info[] = {admin_path, "info", "--state", state_dir, NULL};
	char *out = NULL, *err = NULL;
	if (proc_run(keygen, NULL, NULL, &err) != 0 ||
	    (import_path != NULL && proc_run(imp, NULL, NULL, &err) != 0) ||
	    proc_run(info, NULL, &out, &err) != 0 || strncmp(out, "server-key ", 11) != 0 ||
	    sodium_hex2bin(server_key, 32, out + 11, 64, NULL, NULL, NULL) != 0) {
		fprintf(stderr, "test setup: veil-admin failed: %s\n", err ? err : "");
		abort();
	}
	free(out);
	free(err);
}

/*
 * A veil state directory made the way an operator makes one: veil-admin
 * keygen, import (when an import file is given), and info for the server
 * key clients pin. Shared by the end-to-end tests.
 */
#ifndef VEIL_TESTS_FIXTURE_H
#define VEIL_TESTS_FIXTURE_H

#include <stdint.h>

/*
 * Makes state_dir with the real veil-admin at admin_path; imports
 * import_path with region US unless it is NULL; writes the transport
 * public key to server_key (32 bytes). Aborts on any failure: a test
 * that cannot set up has nothing to report.
 */
void fixture_state(const char *admin_path, const char *state_dir, const char *import_path,
		   uint8_t server_key[32]);

#endif

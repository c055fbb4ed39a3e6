/*
 * libveil-client for the end-to-end tests: a client of the fixture's
 * veild (tests/lib/fixture.h). A header, since the harness library does
 * not link the client library.
 */
#ifndef VEIL_TESTS_E2E_CLIENT_H
#define VEIL_TESTS_E2E_CLIENT_H

#include <string.h>

#include "fixture.h"
#include "harness.h"
#include "veil_client.h"

/*
 * Makes *out a client of f's veild with the options of some (NULL: none),
 * completed: the server at f->url unless they name one, f's server key,
 * mode and OPRF keys pinned from f->info_path unless they pin keys of
 * their own, the client secret, region US, and, unless they set one, a
 * reply timeout only a hang reaches. Returns veil_server_info_read()'s
 * or veil_client_new()'s error.
 */
static inline veil_err
fixture_client_of(const fixture *f, const veil_client_options *some,
                  const uint8_t secret[VEIL_KEY_SIZE], veil_client **out)
{
	veil_client_options o;
	memset(&o, 0, sizeof(o));
	if (some != NULL)
		o = *some;
	if (o.server_url == NULL)
		o.server_url = f->url;
	if (o.timeout_ms == 0)
		o.timeout_ms = 1000 * (int)TEST_PATIENCE_SECONDS;
	o.client_secret = secret;
	o.region = "US";
	if (o.oprf_key_count == 0) {
		const veil_err err = veil_server_info_read(f->info_path, &o);
		if (err != VEIL_OK) {
			*out = NULL;
			return err;
		}
	}
	return veil_client_new(&o, out);
}

/* fixture_client_of() the program's fixture, fx. */
static inline veil_err
fixture_client(const veil_client_options *some, const uint8_t secret[VEIL_KEY_SIZE],
               veil_client **out)
{
	return fixture_client_of(&fx, some, secret, out);
}

#endif

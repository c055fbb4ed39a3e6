/*
 * Fuzzes veil_server_info_parse, the reader of the pins an app is given
 * (`veil-admin info` output). Whatever the input:
 *
 *   - parsing is deterministic;
 *   - on failure the error is a parse or limit error and the options are
 *     untouched, byte for byte;
 *   - on success the mode is OPRF or VOPRF, 1 to VEIL_MAX_OPRF_KEYS keys
 *     of distinct ids and of one suite were read, each of that suite's
 *     length, the other fields are untouched, and a client can be made
 *     from the pins (veil_client_new takes them); in tokens mode the
 *     issuer and origin are names (a tokens-mode client can be made),
 *     in keys mode both are empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veil_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	veil_client_options before, first, again;
	memset(&before, 0xa5, sizeof(before));
	first = again = before;
	const veil_err err = veil_server_info_parse((const char *)data, size, &first);
	if (veil_server_info_parse((const char *)data, size, &again) != err ||
	    memcmp(&first, &again, sizeof(first)) != 0)
		abort();
	if (err != VEIL_OK) {
		if ((err != VEIL_ERR_PARSE && err != VEIL_ERR_LIMIT) ||
		    memcmp(&first, &before, sizeof(first)) != 0)
			abort();
		return 0;
	}
	if ((first.mode != VEIL_MODE_OPRF && first.mode != VEIL_MODE_VOPRF) ||
	    first.oprf_key_count == 0 || first.oprf_key_count > VEIL_MAX_OPRF_KEYS ||
	    first.server_url != before.server_url || first.timeout_ms != before.timeout_ms)
		abort();
	for (size_t i = 0; i < first.oprf_key_count; i++)
		for (size_t j = 0; j < i; j++)
			if (first.oprf_keys[i].key_id == first.oprf_keys[j].key_id ||
			    strcmp(first.oprf_keys[i].suite, first.oprf_keys[j].suite) != 0 ||
			    first.oprf_keys[i].public_key_len != first.oprf_keys[j].public_key_len)
				abort();
	static const uint8_t secret[VEIL_KEY_SIZE] = {1};
	veil_client_options o;
	memset(&o, 0, sizeof(o));
	o.server_url = "ipc:///nonexistent/veil-fuzz.sock";
	o.client_secret = secret;
	memcpy(o.server_key, first.server_key, sizeof(o.server_key));
	o.mode = first.mode;
	o.oprf_key_count = first.oprf_key_count;
	memcpy(o.oprf_keys, first.oprf_keys, sizeof(o.oprf_keys));
	if (first.auth == VEIL_AUTH_TOKENS) {
		o.auth = VEIL_AUTH_TOKENS;
		memcpy(o.token_issuer, first.token_issuer, sizeof(o.token_issuer));
		memcpy(o.token_origin, first.token_origin, sizeof(o.token_origin));
		o.token_file = "/nonexistent/veil-fuzz.tokens";
	} else if (first.auth != VEIL_AUTH_KEYS || first.token_issuer[0] != '\0' ||
	           first.token_origin[0] != '\0')
		abort();
	veil_client *client = NULL;
	if (veil_client_new(&o, &client) != VEIL_OK)
		abort();
	veil_client_free(client);
	return 0;
}

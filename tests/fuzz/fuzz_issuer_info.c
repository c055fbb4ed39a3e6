/*
 * Fuzzes veil_issuer_info_parse, the reader of an issuer's pins
 * (`veil-admin issuer info` output). Whatever the input:
 *
 *   - parsing is deterministic;
 *   - on failure the error is a parse or limit error and the options are
 *     untouched, byte for byte;
 *   - on success 1 to VEIL_MAX_TOKEN_KEYS token keys of distinct ids were
 *     read, the name is 1 to 255 printable bytes without spaces, and the
 *     other fields are untouched.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "veil_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	veil_issuer_options before, first, again;
	memset(&before, 0xa5, sizeof(before));
	first = again = before;
	const veil_err err = veil_issuer_info_parse((const char *)data, size, &first);
	if (veil_issuer_info_parse((const char *)data, size, &again) != err ||
	    memcmp(&first, &again, sizeof(first)) != 0)
		abort();
	if (err != VEIL_OK) {
		if ((err != VEIL_ERR_PARSE && err != VEIL_ERR_LIMIT) ||
		    memcmp(&first, &before, sizeof(first)) != 0)
			abort();
		return 0;
	}
	if (first.token_key_count == 0 || first.token_key_count > VEIL_MAX_TOKEN_KEYS ||
	    first.issuer_url != before.issuer_url || first.client_secret != before.client_secret ||
	    first.timeout_ms != before.timeout_ms)
		abort();
	const size_t len = strnlen(first.issuer_name, sizeof(first.issuer_name));
	if (len == 0 || len == sizeof(first.issuer_name))
		abort();
	for (size_t i = 0; i < len; i++)
		if (first.issuer_name[i] <= ' ' || first.issuer_name[i] > '~')
			abort();
	for (size_t i = 0; i < first.token_key_count; i++)
		for (size_t j = 0; j < i; j++)
			if (first.token_keys[i].key_id == first.token_keys[j].key_id)
				abort();
	return 0;
}

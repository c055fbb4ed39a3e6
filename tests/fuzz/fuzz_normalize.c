/*
 * Fuzzes normalize_handle. The first byte picks the default region (a
 * digit in the seed corpus, so the files stay readable: '0' none, '1' US,
 * '2' GB, '3' DE, '4' FR, '5' "", '6' IN, '7' an unknown one); the rest is
 * the text. Whatever the input:
 *
 *   - the call is deterministic;
 *   - on failure the output is "" with length 0;
 *   - on success the output is "tel:+" and 1 to 15 digits, or "mailto:"
 *     and an address with exactly one '@', no ASCII upper case, no ASCII
 *     space or control character; its length is reported right and it
 *     fits NORMALIZE_MAX_HANDLE;
 *   - the output normalizes to itself, with the same region and with none.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const regions[8] = {NULL, "US", "GB", "DE", "FR", "", "IN", "XX"};

static int
tel_handle_valid(const char *out, size_t len)
{
	size_t digits = len - strlen("tel:+");
	if (digits < 1 || digits > 15)
		return 0;
	for (size_t i = strlen("tel:+"); i < len; i++)
		if (out[i] < '0' || out[i] > '9')
			return 0;
	return 1;
}

static int
mailto_handle_valid(const char *out, size_t len)
{
	size_t ats = 0;
	for (size_t i = strlen("mailto:"); i < len; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c == '@')
			ats++;
		if ((c >= 'A' && c <= 'Z') || c <= ' ' || c == 0x7f)
			return 0;
	}
	return ats == 1;
}

static int
handle_valid(const char *out, size_t len)
{
	if (len >= NORMALIZE_MAX_HANDLE || strlen(out) != len)
		return 0;
	if (strncmp(out, "tel:+", 5) == 0)
		return tel_handle_valid(out, len);
	if (strncmp(out, "mailto:", 7) == 0)
		return mailto_handle_valid(out, len);
	return 0;
}

/* Normalizing handle (of length len) again gives it back. */
static int
fixed_point(const char *handle, size_t len, const char *region)
{
	char again[NORMALIZE_MAX_HANDLE];
	size_t again_len;
	if (normalize_handle(handle, len, region, again, sizeof(again), &again_len) != NORMALIZE_OK)
		return 0;
	return again_len == len && memcmp(again, handle, len) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *region = regions[data[0] % 8];
	const char *text = (const char *)data + 1;
	size_t len = size - 1;

	char out[NORMALIZE_MAX_HANDLE], second[NORMALIZE_MAX_HANDLE];
	size_t out_len = 1, second_len = 1;
	normalize_status s = normalize_handle(text, len, region, out, sizeof(out), &out_len);
	normalize_status t =
	        normalize_handle(text, len, region, second, sizeof(second), &second_len);
	if (s != t || out_len != second_len || strcmp(out, second) != 0)
		abort();
	if (normalize_strerror(s) == NULL)
		abort();
	if (s != NORMALIZE_OK) {
		if (out[0] != '\0' || out_len != 0)
			abort();
		if (s == NORMALIZE_ARGUMENT || s == NORMALIZE_INTERNAL)
			abort();
		return 0;
	}
	if (!handle_valid(out, out_len))
		abort();
	if (!fixed_point(out, out_len, region) || !fixed_point(out, out_len, NULL))
		abort();
	return 0;
}

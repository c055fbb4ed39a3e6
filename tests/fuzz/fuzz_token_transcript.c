/*
 * Fuzzes the veil-token line logic. Whatever the bytes, the answer must be
 * nothing for a blank line and otherwise exactly one line of JSON: an
 * object whose first member is "id", with "ok" true (and the operation's
 * members: lowercase hex strings of the sizes the formats fix, or "valid"
 * true or false) or false (and an "error" string).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonl_oracle.h"
#include "token.h"
#include "token_transcript.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether v is a string of 2 * n lowercase hex digits. */
static int
is_hex_of(const json_value *v, size_t n)
{
	size_t len;
	const char *s = json_string(v, &len);
	if (s == NULL || len != 2 * n)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (strchr("0123456789abcdef", s[i]) == NULL || s[i] == '\0')
			return 0;
	return 1;
}

static void
check_success(const json_value *answer)
{
	const char *first = json_object_key(answer, 2);
	const json_value *value = json_object_value(answer, 2);
	size_t members = 3;
	if (strcmp(first, "pkI") == 0) {
		members = 4;
		if (!is_hex_of(value, TOKEN_ELEMENT_SIZE) ||
		    !is_hex_of(json_object_get(answer, "token_key_id"), TOKEN_KEY_ID_SIZE))
			abort();
	} else if (strcmp(first, "response") == 0) {
		if (!is_hex_of(value, TOKEN_RESPONSE_SIZE))
			abort();
	} else if (strcmp(first, "request") == 0) {
		if (!is_hex_of(value, TOKEN_REQUEST_SIZE))
			abort();
	} else if (strcmp(first, "token") == 0) {
		if (!is_hex_of(value, TOKEN_SIZE))
			abort();
	} else if (strcmp(first, "valid") == 0) {
		if (json_type_of(value) != JSON_TRUE && json_type_of(value) != JSON_FALSE)
			abort();
	} else {
		abort();
	}
	if (json_object_size(answer) != members)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jsonl_oracle_check(data, size, token_transcript_line, check_success);
	return 0;
}

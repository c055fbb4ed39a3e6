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
#include "token.h"
#include "token_transcript.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether every byte is a space, tab, CR or LF (the tool's own test is not the oracle). */
static int
is_blank(const uint8_t *data, size_t size)
{
	static const char blanks[] = " \t\r\n";
	for (size_t i = 0; i < size; i++)
		if (memchr(blanks, data[i], sizeof(blanks) - 1) == NULL)
			return 0;
	return 1;
}

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
check_answer(const json_value *answer)
{
	if (json_type_of(answer) != JSON_OBJECT || json_object_size(answer) < 3)
		abort();
	if (strcmp(json_object_key(answer, 0), "id") != 0 ||
	    strcmp(json_object_key(answer, 1), "ok") != 0)
		abort();
	const json_value *ok = json_object_get(answer, "ok");
	if (json_type_of(ok) == JSON_FALSE) {
		if (json_object_size(answer) != 3 ||
		    json_string(json_object_get(answer, "error"), NULL) == NULL)
			abort();
		return;
	}
	if (json_type_of(ok) != JSON_TRUE)
		abort();
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
	buf out;
	json_value *answer = NULL;

	buf_init(&out);
	buf_append_str(&out, "kept"); /* what is there must stay */
	if (token_transcript_line((const char *)data, size, &out) != VEIL_OK)
		abort(); /* only running out of memory may fail */
	const char *text = buf_data(&out);
	size_t len = buf_len(&out);
	if (len < 4 || memcmp(text, "kept", 4) != 0)
		abort();
	text += 4;
	len -= 4;

	if (len == 0) {
		if (!is_blank(data, size))
			abort();
		goto out;
	}
	/* One line: a newline at the end and nowhere else. */
	if (text[len - 1] != '\n' || memchr(text, '\n', len - 1) != NULL)
		abort();
	if (json_parse(text, len - 1, &answer) != VEIL_OK)
		abort();
	check_answer(answer);
out:
	json_free(answer);
	buf_free(&out);
	return 0;
}

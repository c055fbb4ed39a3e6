/*
 * Fuzzes json_parse. Any input must either be refused cleanly or parse
 * into a tree that writes out as compact JSON which parses back into an
 * equal tree and writes out as the same bytes again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
values_equal(const json_value *a, const json_value *b)
{
	json_type type = json_type_of(a);
	if (type != json_type_of(b))
		return 0;

	size_t a_len, b_len;
	const char *a_text, *b_text;
	switch (type) {
	case JSON_NULL:
	case JSON_FALSE:
	case JSON_TRUE:
		return 1;
	case JSON_NUMBER:
		a_text = json_number_text(a, &a_len);
		b_text = json_number_text(b, &b_len);
		return a_len == b_len && memcmp(a_text, b_text, a_len) == 0;
	case JSON_STRING:
		a_text = json_string(a, &a_len);
		b_text = json_string(b, &b_len);
		return a_len == b_len && memcmp(a_text, b_text, a_len) == 0;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!values_equal(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return 0;
		for (size_t i = 0; i < json_object_size(a); i++) {
			a_len = json_object_key_len(a, i);
			b_len = json_object_key_len(b, i);
			if (a_len != b_len ||
			    memcmp(json_object_key(a, i), json_object_key(b, i), a_len) != 0 ||
			    !values_equal(json_object_value(a, i), json_object_value(b, i)))
				return 0;
			/* Lookup by key finds the member, unless the key holds NUL. */
			if (strlen(json_object_key(a, i)) == a_len &&
			    json_object_get(a, json_object_key(a, i)) != json_object_value(a, i))
				return 0;
		}
		return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_value *first = NULL, *second = NULL;
	buf once, twice;
	buf_init(&once);
	buf_init(&twice);

	veil_err err = json_parse((const char *)data, size, &first);
	if (err != VEIL_OK) {
		if (first != NULL)
			abort();
		goto out;
	}
	if (json_write_value(&once, first) != VEIL_OK)
		abort();
	if (json_parse(buf_data(&once), buf_len(&once), &second) != VEIL_OK)
		abort();
	if (!values_equal(first, second))
		abort();
	if (json_write_value(&twice, second) != VEIL_OK)
		abort();
	if (buf_len(&once) != buf_len(&twice) ||
	    memcmp(buf_data(&once), buf_data(&twice), buf_len(&once)) != 0)
		abort();
	/*
	 * Compact output is never longer than the input: whitespace goes and
	 * every escape written comes from an escape at least as long.
	 */
	if (buf_len(&once) > size)
		abort();
out:
	json_free(first);
	json_free(second);
	buf_free(&once);
	buf_free(&twice);
	return 0;
}

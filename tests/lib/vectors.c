#include "vectors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

json_value *
vectors_load(const char *path)
{
	size_t len;
	char *text = test_read_file(path, &len);
	json_value *root = NULL;
	if (json_parse(text, len, &root) != VEIL_OK) {
		fprintf(stderr, "%s: not valid JSON\n", path);
		abort();
	}
	free(text);
	return root;
}

const char *
vectors_string(const json_value *obj, const char *key)
{
	return json_string(json_object_get(obj, key), NULL);
}

int64_t
vectors_integer(const json_value *obj, const char *key)
{
	int64_t v;
	if (json_integer(json_object_get(obj, key), &v) != 0) {
		fprintf(stderr, "vector field %s is not an integer\n", key);
		abort();
	}
	return v;
}

uint8_t *
vectors_hex(const char *hex, size_t *len_out)
{
	const size_t n = strlen(hex) / 2;
	uint8_t *out = malloc(n ? n : 1);
	if (out == NULL || strlen(hex) % 2 != 0 || test_unhex(hex, out, n) != 0) {
		fprintf(stderr, "bad hex in vector: %.40s\n", hex);
		abort();
	}
	*len_out = n;
	return out;
}

size_t
vectors_hex_list(const char *list, uint8_t **items, size_t *lens, size_t max)
{
	size_t count = 0;
	const char *p = list;
	for (;;) {
		const char *comma = strchr(p, ',');
		const size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (count == max) {
			fprintf(stderr, "vector list longer than %zu\n", max);
			abort();
		}
		char *piece = malloc(n + 1);
		if (piece == NULL)
			abort();
		memcpy(piece, p, n);
		piece[n] = '\0';
		items[count] = vectors_hex(piece, &lens[count]);
		free(piece);
		count++;
		if (comma == NULL)
			return count;
		p = comma + 1;
	}
}

void
vectors_free_list(uint8_t **items, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(items[i]);
}

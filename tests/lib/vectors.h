/*
 * Reading the published known-answer files in tests/vectors/. Any
 * malformed vector file aborts the test program: the vectors are fixed
 * data, so a parse failure is a broken checkout, not a test result.
 */
#ifndef VEIL_TESTS_VECTORS_H
#define VEIL_TESTS_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

/* Parses a whole JSON file. Free with json_free(). */
json_value *vectors_load(const char *path);

/* The string member key of obj, or NULL when absent. */
const char *vectors_string(const json_value *obj, const char *key);

/* The integer member key of obj; aborts when absent. */
int64_t vectors_integer(const json_value *obj, const char *key);

/* Decodes hex into a fresh buffer; *len_out gets its length. */
uint8_t *vectors_hex(const char *hex, size_t *len_out);

/*
 * Splits a comma-separated list of hex strings (the RFC 9497 batch form)
 * and decodes each. Returns the count; items[i] / lens[i] are fresh
 * buffers, at most max items. Free with vectors_free_list().
 */
size_t vectors_hex_list(const char *list, uint8_t **items, size_t *lens, size_t max);
void vectors_free_list(uint8_t **items, size_t count);

#endif

/*
 * Strict JSON (RFC 8259): a parser into a read-only tree, and a compact
 * writer.
 *
 * The parser accepts exactly the RFC 8259 grammar and nothing more:
 *
 *   - one value, optionally surrounded by whitespace (space, tab, LF, CR);
 *     any other trailing byte is an error, and so is a byte order mark;
 *   - the literals null, true and false, spelled exactly;
 *   - numbers as the grammar has them: no leading zeros, no leading '+',
 *     no bare '.', no NaN or Infinity, no hexadecimal;
 *   - strings in valid UTF-8 (no overlong forms, no surrogates, nothing
 *     above U+10FFFF) with no raw control character (below 0x20); escapes
 *     are the RFC's eight plus \uXXXX, where a surrogate must come as a
 *     high-low pair and decodes to one UTF-8 sequence;
 *   - no comments, no trailing commas, no single quotes;
 *   - objects without duplicate keys (keys are compared after unescaping,
 *     so "a" and "\u0061" are the same key).
 *
 * Hard limits, each reported as VEIL_ERR_LIMIT: JSON_MAX_INPUT_SIZE bytes of
 * text, JSON_MAX_DEPTH levels of nested arrays and objects,
 * JSON_MAX_STRING_SIZE bytes in one decoded string or key,
 * JSON_MAX_NUMBER_SIZE bytes in the text of one number, and JSON_MAX_VALUES
 * values in one document (this bounds the memory a document can take).
 *
 * Numbers keep their source text, so that a parsed document written back
 * with json_write_value() carries every number exactly as it came.
 *
 * Ownership: json_parse() returns a tree that the caller frees, once, with
 * json_free(). Every pointer the accessors return (values, keys, string
 * bytes) points into that tree and is valid until it is freed. The tree is
 * never modified after parsing, so any number of threads may read it.
 *
 * The accessors are lenient about what they are given: asked about a
 * value of the wrong type, or about NULL (as an absent member is), they
 * return NULL, 0 or -1 as documented, so lookups can be chained. Only
 * json_type_of() needs a value.
 */
#ifndef VEIL_COMMON_JSON_H
#define VEIL_COMMON_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

#define JSON_MAX_INPUT_SIZE  ((size_t)16 << 20) /* 16 MiB of text */
#define JSON_MAX_DEPTH       64                 /* nested arrays and objects */
#define JSON_MAX_STRING_SIZE ((size_t)1 << 20)  /* decoded bytes in one string */
#define JSON_MAX_NUMBER_SIZE 1024               /* characters in one number */
#define JSON_MAX_VALUES      ((size_t)1 << 20)  /* values in one document */

typedef enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
} json_type;

/* A parsed value: the root of a document, or a value inside one. */
typedef struct json_value json_value;

/*
 * Parses len bytes of text (which need not be NUL-terminated and may be
 * NULL when len is 0) as one JSON document. *out is set to NULL first and
 * to the root on success; free it with json_free().
 *
 * Errors, with *out left NULL and nothing allocated:
 *   VEIL_ERR_ARGUMENT  out is NULL, or text is NULL with len > 0;
 *   VEIL_ERR_PARSE     the text is not one strict JSON document (see above);
 *   VEIL_ERR_LIMIT     a limit above was exceeded;
 *   VEIL_ERR_NOMEM     memory ran out.
 */
veil_err json_parse(const char *text, size_t len, json_value **out)
        __attribute__((warn_unused_result));

/*
 * Frees a whole document. v must be a root returned by json_parse(), never
 * a value inside it. NULL is a no-op.
 */
void json_free(json_value *v);

/* The type of v. v must not be NULL: that is a caller bug and aborts. */
json_type json_type_of(const json_value *v);

/*
 * The member of obj whose key equals the NUL-terminated key; NULL when obj
 * is NULL or not an object, or has no such member. (A key containing
 * "\u0000" cannot be looked up this way; walk the members instead.)
 * Takes O(log n) in the size of the object.
 */
const json_value *json_object_get(const json_value *obj, const char *key);

/* The number of members of obj; 0 when obj is NULL or not an object. */
size_t json_object_size(const json_value *obj);

/*
 * The key and value of member i of obj, in the order of the source text;
 * NULL when obj is NULL, not an object, or i >= json_object_size(obj).
 * The key is NUL-terminated; json_object_key_len() gives its length, which
 * matters when the key holds "\u0000".
 */
const char *json_object_key(const json_value *obj, size_t i);
size_t json_object_key_len(const json_value *obj, size_t i); /* 0 when out of range */
const json_value *json_object_value(const json_value *obj, size_t i);

/* The number of elements of arr; 0 when arr is NULL or not an array. */
size_t json_array_size(const json_value *arr);

/* Element i of arr; NULL when arr is NULL, not an array, or i is out of range. */
const json_value *json_array_get(const json_value *arr, size_t i);

/*
 * The decoded bytes of a string value, NUL-terminated, with its length in
 * *len_out (when len_out is not NULL). The bytes may themselves hold NUL
 * (from "\u0000"), so the length is what counts. NULL, with *len_out set
 * to 0, when v is NULL or not a string.
 */
const char *json_string(const json_value *v, size_t *len_out);

/*
 * The source text of a number value, NUL-terminated, with its length in
 * *len_out (when not NULL); for example "-1.5e3". NULL, with *len_out set
 * to 0, when v is NULL or not a number.
 */
const char *json_number_text(const json_value *v, size_t *len_out);

/*
 * Stores in *out the value of a number written as an integer: an optional
 * minus sign and digits, with no fraction and no exponent ("10", "-0";
 * not "1e1" or "10.0"), within the range of int64_t. Returns 0, or -1 with
 * *out set to 0 when v is NULL, not a number, not written as an integer,
 * or out of range.
 */
int json_integer(const json_value *v, int64_t *out);

/*
 * Appends s (len bytes, which may hold NUL; s may be NULL when len is 0)
 * to b as a JSON string: quoted, with '"', '\\' and every control
 * character escaped (as \b \f \n \r \t, or \u00XX), and every other byte
 * as it is. Returns VEIL_OK; VEIL_ERR_ARGUMENT when s is not valid UTF-8,
 * which no JSON string can carry (b is then unchanged); or an error of
 * buf_append(), which b also records.
 */
veil_err json_write_string(buf *b, const char *s, size_t len);

/*
 * Appends v to b as compact JSON (no whitespace), members and elements in
 * their source order, numbers as their source text, strings as by
 * json_write_string(). Parsing the result gives back an equal tree.
 * Returns VEIL_OK, VEIL_ERR_ARGUMENT when v is NULL, or an error of
 * buf_append(); on error the contents of b are as before the call.
 */
veil_err json_write_value(buf *b, const json_value *v);

#endif

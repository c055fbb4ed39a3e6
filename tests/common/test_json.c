#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Parses and, on failure, checks that nothing escaped. */
static veil_err
parse_checked(const char *text, size_t len, json_value **out)
{
	veil_err err = json_parse(text, len, out);
	if (err != VEIL_OK)
		CHECK(*out == NULL);
	return err;
}

/* Parses text, writes it back compact, and returns a heap copy of that. */
static char *
rewrite(const char *text, size_t len)
{
	json_value *v = NULL;
	char *copy = NULL;
	buf b;
	buf_init(&b);
	if (json_parse(text, len, &v) == VEIL_OK && json_write_value(&b, v) == VEIL_OK)
		copy = strdup(buf_data(&b));
	json_free(v);
	buf_free(&b);
	return copy;
}

/* A document that parses. */
typedef struct doc {
	const char *name;
	const char *text;
} doc;

static const doc valid_docs[] = {
        {"null", "null"},
        {"true", "true"},
        {"false", "false"},
        {"zero", "0"},
        {"negative_zero", "-0"},
        {"integer", "1234567890"},
        {"fraction", "-0.5"},
        {"exponent", "1e10"},
        {"exponent_signs", "1E+2 "},
        {"full_number", "-12.34e-56"},
        {"empty_string", "\"\""},
        {"escapes", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""},
        {"unicode_escape", "\"\\u00e9\\u20AC\""},
        {"surrogate_pair", "\"\\ud83d\\ude00\""},
        {"raw_utf8", "\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\""},
        {"raw_del", "\"\x7f\""},
        {"empty_array", "[]"},
        {"empty_object", "{}"},
        {"nested", "{\"a\":[1,{\"b\":null}],\"c\":{}}"},
        {"whitespace", " \t\r\n[ 1 , 2 ]\n\t\r "},
        {"keys_differ_by_case", "{\"a\":1,\"A\":2}"},
        {"key_prefix", "{\"ab\":1,\"a\":2}"},
        {"nul_in_string", "\"a\\u0000b\""},
        {"nul_key", "{\"\\u0000\":1,\"\":2}"},
};

/* A document refused with want, given with its length so that it may hold NUL bytes. */
typedef struct bad_doc {
	const char *name;
	const char *text;
	size_t len; /* 0: strlen(text) */
	veil_err want;
} bad_doc;

static const bad_doc invalid_docs[] = {
        /* Nothing, or not one value. */
        {"empty", "", 0, VEIL_ERR_PARSE},
        {"only_whitespace", " \n\t ", 0, VEIL_ERR_PARSE},
        {"two_values", "1 2", 0, VEIL_ERR_PARSE},
        {"trailing_garbage", "{} x", 0, VEIL_ERR_PARSE},
        {"trailing_nul", "null\0", 5, VEIL_ERR_PARSE},
        {"trailing_comma_top", "1,", 0, VEIL_ERR_PARSE},
        {"byte_order_mark", "\xef\xbb\xbf{}", 0, VEIL_ERR_PARSE},
        {"form_feed_whitespace", "\f1", 0, VEIL_ERR_PARSE},
        {"vertical_tab_whitespace", "1\v", 0, VEIL_ERR_PARSE},
        /* Comments and trailing commas. */
        {"line_comment", "[1] // c", 0, VEIL_ERR_PARSE},
        {"block_comment", "/* c */ [1]", 0, VEIL_ERR_PARSE},
        {"hash_comment", "# c\n1", 0, VEIL_ERR_PARSE},
        {"array_trailing_comma", "[1,]", 0, VEIL_ERR_PARSE},
        {"object_trailing_comma", "{\"a\":1,}", 0, VEIL_ERR_PARSE},
        {"array_leading_comma", "[,1]", 0, VEIL_ERR_PARSE},
        {"array_double_comma", "[1,,2]", 0, VEIL_ERR_PARSE},
        {"array_missing_comma", "[1 2]", 0, VEIL_ERR_PARSE},
        {"object_missing_comma", "{\"a\":1 \"b\":2}", 0, VEIL_ERR_PARSE},
        /* Numbers. */
        {"leading_zero", "01", 0, VEIL_ERR_PARSE},
        {"leading_zeros_negative", "-007", 0, VEIL_ERR_PARSE},
        {"leading_zero_in_array", "[00]", 0, VEIL_ERR_PARSE},
        {"plus_sign", "+1", 0, VEIL_ERR_PARSE},
        {"bare_minus", "-", 0, VEIL_ERR_PARSE},
        {"minus_dot", "-.5", 0, VEIL_ERR_PARSE},
        {"leading_dot", ".5", 0, VEIL_ERR_PARSE},
        {"trailing_dot", "1.", 0, VEIL_ERR_PARSE},
        {"dot_exponent", "1.e5", 0, VEIL_ERR_PARSE},
        {"empty_exponent", "1e", 0, VEIL_ERR_PARSE},
        {"signed_empty_exponent", "1e+", 0, VEIL_ERR_PARSE},
        {"hex_number", "0x10", 0, VEIL_ERR_PARSE},
        {"nan", "NaN", 0, VEIL_ERR_PARSE},
        {"infinity", "Infinity", 0, VEIL_ERR_PARSE},
        {"negative_infinity", "-Infinity", 0, VEIL_ERR_PARSE},
        {"nan_in_array", "[nan]", 0, VEIL_ERR_PARSE},
        /* Literals. */
        {"null_capitalized", "Null", 0, VEIL_ERR_PARSE},
        {"true_capitalized", "True", 0, VEIL_ERR_PARSE},
        {"null_truncated", "nul", 0, VEIL_ERR_PARSE},
        {"false_truncated", "fals", 0, VEIL_ERR_PARSE},
        {"null_extended", "nulll", 0, VEIL_ERR_PARSE},
        {"true_extended", "[truex]", 0, VEIL_ERR_PARSE},
        {"undefined", "undefined", 0, VEIL_ERR_PARSE},
        /* Strings: syntax. */
        {"single_quotes", "'a'", 0, VEIL_ERR_PARSE},
        {"unterminated_string", "\"abc", 0, VEIL_ERR_PARSE},
        {"unterminated_escape", "\"abc\\", 0, VEIL_ERR_PARSE},
        {"escaped_final_quote", "\"abc\\\"", 0, VEIL_ERR_PARSE},
        {"unknown_escape", "\"\\x41\"", 0, VEIL_ERR_PARSE},
        {"escaped_apostrophe", "\"\\'\"", 0, VEIL_ERR_PARSE},
        {"u_escape_short", "\"\\u12\"", 0, VEIL_ERR_PARSE},
        {"u_escape_bad_hex", "\"\\u12g4\"", 0, VEIL_ERR_PARSE},
        {"u_escape_uppercase_u", "\"\\U0041\"", 0, VEIL_ERR_PARSE},
        {"lone_high_surrogate", "\"\\ud800\"", 0, VEIL_ERR_PARSE},
        {"lone_high_then_text", "\"\\ud800abcdef\"", 0, VEIL_ERR_PARSE},
        {"lone_low_surrogate", "\"\\udc00\"", 0, VEIL_ERR_PARSE},
        {"reversed_surrogates", "\"\\udc00\\ud800\"", 0, VEIL_ERR_PARSE},
        {"high_then_bmp", "\"\\ud800\\u0041\"", 0, VEIL_ERR_PARSE},
        {"high_then_high", "\"\\ud800\\ud800\"", 0, VEIL_ERR_PARSE},
        {"high_then_short", "\"\\ud800\\udc0\"", 0, VEIL_ERR_PARSE},
        /* Strings: raw control characters. */
        {"raw_newline", "\"a\nb\"", 0, VEIL_ERR_PARSE},
        {"raw_tab", "\"a\tb\"", 0, VEIL_ERR_PARSE},
        {"raw_nul", "\"a\0b\"", 5, VEIL_ERR_PARSE},
        {"raw_unit_separator", "\"\x1f\"", 0, VEIL_ERR_PARSE},
        /* Strings: invalid UTF-8. */
        {"stray_continuation", "\"\x80\"", 0, VEIL_ERR_PARSE},
        {"overlong_slash", "\"\xc0\xaf\"", 0, VEIL_ERR_PARSE},
        {"overlong_c1", "\"\xc1\xbf\"", 0, VEIL_ERR_PARSE},
        {"overlong_three_byte", "\"\xe0\x80\xaf\"", 0, VEIL_ERR_PARSE},
        {"overlong_four_byte", "\"\xf0\x80\x80\xaf\"", 0, VEIL_ERR_PARSE},
        {"encoded_surrogate", "\"\xed\xa0\x80\"", 0, VEIL_ERR_PARSE},
        {"above_max_code_point", "\"\xf4\x90\x80\x80\"", 0, VEIL_ERR_PARSE},
        {"f5_lead", "\"\xf5\x80\x80\x80\"", 0, VEIL_ERR_PARSE},
        {"ff_byte", "\"\xff\"", 0, VEIL_ERR_PARSE},
        {"truncated_two_byte", "\"\xc3\"", 0, VEIL_ERR_PARSE},
        {"truncated_three_byte", "\"\xe2\x82\"", 0, VEIL_ERR_PARSE},
        {"truncated_at_end", "\"\xe2\x82", 0, VEIL_ERR_PARSE},
        {"bad_continuation", "\"\xe2\x28\xa1\"", 0, VEIL_ERR_PARSE},
        {"utf8_outside_string", "\xc3\xa9", 0, VEIL_ERR_PARSE},
        /* Structure. */
        {"unclosed_array", "[1", 0, VEIL_ERR_PARSE},
        {"unclosed_object", "{\"a\":1", 0, VEIL_ERR_PARSE},
        {"unopened_array", "]", 0, VEIL_ERR_PARSE},
        {"mismatched_brackets", "[}", 0, VEIL_ERR_PARSE},
        {"key_not_string", "{1:2}", 0, VEIL_ERR_PARSE},
        {"key_unquoted", "{a:2}", 0, VEIL_ERR_PARSE},
        {"missing_colon", "{\"a\" 1}", 0, VEIL_ERR_PARSE},
        {"missing_value", "{\"a\":}", 0, VEIL_ERR_PARSE},
        {"key_only", "{\"a\"}", 0, VEIL_ERR_PARSE},
        {"equals_for_colon", "{\"a\"=1}", 0, VEIL_ERR_PARSE},
        {"duplicate_key", "{\"a\":1,\"a\":2}", 0, VEIL_ERR_PARSE},
        {"duplicate_key_escaped", "{\"a\":1,\"\\u0061\":2}", 0, VEIL_ERR_PARSE},
        {"duplicate_key_nested", "[{\"x\":{},\"y\":1,\"x\":[]}]", 0, VEIL_ERR_PARSE},
        {"duplicate_empty_key", "{\"\":1,\"\":1}", 0, VEIL_ERR_PARSE},
};

static int
check_valid(const void *row)
{
	const doc *d = row;
	json_value *v = NULL;
	const int ok = json_parse(d->text, strlen(d->text), &v) == VEIL_OK && v != NULL;
	json_free(v);
	return ok;
}

/* Refused with its status, and the output cleared. */
static int
check_invalid(const void *row)
{
	const bad_doc *d = row;
	json_value *v = (json_value *)&v;
	return json_parse(d->text, d->len ? d->len : strlen(d->text), &v) == d->want && v == NULL;
}

TEST_ROWS_CASE(case_valid, valid_docs, check_valid)
TEST_ROWS_CASE(case_invalid, invalid_docs, check_invalid)

static void
case_arguments(void)
{
	json_value *v = (json_value *)&v;
	CHECK(json_parse(NULL, 1, &v) == VEIL_ERR_ARGUMENT);
	CHECK(v == NULL);
	CHECK(json_parse("1", 1, NULL) == VEIL_ERR_ARGUMENT);
	CHECK(json_parse(NULL, 0, &v) == VEIL_ERR_PARSE);
	CHECK(v == NULL);
	json_free(NULL);
	/* Only len bytes are read: the rest of the text is not looked at. */
	CHECK(json_parse("[1]garbage", 3, &v) == VEIL_OK);
	CHECK(json_array_size(v) == 1);
	json_free(v);
}

static void
case_depth_limit(void)
{
	char text[2 * (JSON_MAX_DEPTH + 1) + 1];
	json_value *v = NULL;

	for (size_t depth = JSON_MAX_DEPTH; depth <= JSON_MAX_DEPTH + 1; depth++) {
		memset(text, '[', depth);
		memset(text + depth, ']', depth);
		veil_err err = parse_checked(text, 2 * depth, &v);
		CHECK(err == (depth <= JSON_MAX_DEPTH ? VEIL_OK : VEIL_ERR_LIMIT));
		json_free(v);
	}
	/* Objects count towards the same depth. */
	buf b;
	buf_init(&b);
	for (size_t i = 0; i <= JSON_MAX_DEPTH; i++)
		buf_append_str(&b, "{\"k\":");
	buf_append_str(&b, "0");
	for (size_t i = 0; i <= JSON_MAX_DEPTH; i++)
		buf_append_byte(&b, '}');
	REQUIRE(buf_error(&b) == VEIL_OK);
	CHECK(parse_checked(buf_data(&b), buf_len(&b), &v) == VEIL_ERR_LIMIT);
	buf_free(&b);
}

static void
case_input_size_limit(void)
{
	size_t len = JSON_MAX_INPUT_SIZE + 1;
	char *text = malloc(len);
	REQUIRE(text != NULL);
	json_value *v = NULL;

	/* A document of exactly the input limit parses... */
	memset(text, ' ', len);
	text[0] = '0';
	CHECK(parse_checked(text, JSON_MAX_INPUT_SIZE, &v) == VEIL_OK);
	json_free(v);
	/* ...one byte more is refused before it is read. */
	CHECK(parse_checked(text, len, &v) == VEIL_ERR_LIMIT);
	free(text);
}

static void
case_string_limit(void)
{
	size_t max = JSON_MAX_STRING_SIZE;
	char *text = malloc(max + 4);
	REQUIRE(text != NULL);
	json_value *v = NULL;
	size_t len = 0;

	text[0] = '"';
	memset(text + 1, 'a', max + 1);
	text[max + 1] = '"';
	CHECK(parse_checked(text, max + 2, &v) == VEIL_OK);
	CHECK(json_string(v, &len) != NULL && len == max);
	json_free(v);

	text[max + 2] = '"';
	text[max + 1] = 'a';
	CHECK(parse_checked(text, max + 3, &v) == VEIL_ERR_LIMIT);

	/* The limit is on decoded bytes: a multi-byte tail crossing it. */
	memcpy(text + max, "\xc3\xa9\"", 3);
	CHECK(parse_checked(text, max + 3, &v) == VEIL_ERR_LIMIT);
	memcpy(text + max - 1, "\\n\"", 3);
	CHECK(parse_checked(text, max + 2, &v) == VEIL_OK);
	CHECK(json_string(v, &len) != NULL && len == max - 1);
	json_free(v);
	free(text);
}

static void
case_number_limit(void)
{
	char text[JSON_MAX_NUMBER_SIZE + 2];
	json_value *v = NULL;
	memset(text, '1', sizeof(text));
	CHECK(parse_checked(text, JSON_MAX_NUMBER_SIZE, &v) == VEIL_OK);
	json_free(v);
	CHECK(parse_checked(text, JSON_MAX_NUMBER_SIZE + 1, &v) == VEIL_ERR_LIMIT);
}

static void
case_values_limit(void)
{
	/* "[0,0,...,0]": the array itself plus n zeros. */
	size_t n = JSON_MAX_VALUES;
	char *text = malloc(2 * n + 1);
	REQUIRE(text != NULL);
	json_value *v = NULL;

	text[0] = '[';
	for (size_t i = 0; i < n; i++) {
		text[1 + 2 * i] = '0';
		text[2 + 2 * i] = ',';
	}
	text[2 * n] = ']'; /* n zeros: one value too many */
	CHECK(parse_checked(text, 2 * n + 1, &v) == VEIL_ERR_LIMIT);
	text[2 * n - 2] = ']'; /* n - 1 zeros: exactly the limit */
	CHECK(parse_checked(text, 2 * n - 1, &v) == VEIL_OK);
	CHECK(json_array_size(v) == n - 1);
	json_free(v);
	free(text);
}

/* A document (which names the row) and the type of its value. */
typedef struct typed_doc {
	const char *text;
	json_type type;
} typed_doc;

static const typed_doc typed_docs[] = {
        {"null", JSON_NULL},    {"false", JSON_FALSE}, {"true", JSON_TRUE}, {"-1.5", JSON_NUMBER},
        {"\"s\"", JSON_STRING}, {"[]", JSON_ARRAY},    {"{}", JSON_OBJECT},
};

static int
check_type(const void *row)
{
	const typed_doc *d = row;
	json_value *v = NULL;
	const int ok =
	        json_parse(d->text, strlen(d->text), &v) == VEIL_OK && json_type_of(v) == d->type;
	json_free(v);
	return ok;
}

TEST_ROWS_CASE(case_types, typed_docs, check_type)

static void
case_object_access(void)
{
	const char *text = "{\"b\":1,\"a\":\"x\",\"c\":[true],\"\\u0000k\":null}";
	json_value *v = NULL;
	REQUIRE(json_parse(text, strlen(text), &v) == VEIL_OK);

	CHECK(json_object_size(v) == 4);
	CHECK(json_type_of(json_object_get(v, "b")) == JSON_NUMBER);
	CHECK(json_type_of(json_object_get(v, "a")) == JSON_STRING);
	CHECK(json_type_of(json_object_get(v, "c")) == JSON_ARRAY);
	CHECK(json_object_get(v, "d") == NULL);
	CHECK(json_object_get(v, "") == NULL);
	CHECK(json_object_get(v, "k") == NULL);
	CHECK(json_object_get(v, NULL) == NULL);

	/* Members keep the order of the source text. */
	CHECK(strcmp(json_object_key(v, 0), "b") == 0);
	CHECK(strcmp(json_object_key(v, 1), "a") == 0);
	CHECK(strcmp(json_object_key(v, 2), "c") == 0);
	CHECK(json_object_key_len(v, 3) == 2);
	CHECK(memcmp(json_object_key(v, 3), "\0k", 3) == 0);
	CHECK(json_type_of(json_object_value(v, 3)) == JSON_NULL);
	CHECK(json_object_value(v, 1) == json_object_get(v, "a"));
	CHECK(json_object_key(v, 4) == NULL);
	CHECK(json_object_key_len(v, 4) == 0);
	CHECK(json_object_value(v, 4) == NULL);

	/* Wrong types and NULL give the documented empties. */
	const json_value *arr = json_object_get(v, "c");
	CHECK(json_object_get(arr, "b") == NULL);
	CHECK(json_object_size(arr) == 0);
	CHECK(json_object_key(arr, 0) == NULL);
	CHECK(json_object_get(NULL, "b") == NULL);
	CHECK(json_object_size(NULL) == 0);
	CHECK(json_array_size(v) == 0);
	CHECK(json_array_get(v, 0) == NULL);
	json_free(v);
}

static void
case_object_lookup_many(void)
{
	buf b;
	buf_init(&b);
	buf_append_byte(&b, '{');
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", (i * 7919) % 1000, i);
	buf_append_byte(&b, '}');
	REQUIRE(buf_error(&b) == VEIL_OK);
	json_value *v = NULL;
	REQUIRE(json_parse(buf_data(&b), buf_len(&b), &v) == VEIL_OK);
	int found = 0;
	for (int i = 0; i < 1000; i++) {
		char key[16];
		snprintf(key, sizeof(key), "k%d", i);
		int64_t n;
		if (json_integer(json_object_get(v, key), &n) == 0 && (n * 7919) % 1000 == i)
			found++;
	}
	CHECK(found == 1000);
	json_free(v);
	buf_free(&b);
}

static void
case_array_access(void)
{
	json_value *v = NULL;
	REQUIRE(json_parse("[1,\"two\",[3]]", 13, &v) == VEIL_OK);
	CHECK(json_array_size(v) == 3);
	CHECK(json_type_of(json_array_get(v, 0)) == JSON_NUMBER);
	CHECK(json_type_of(json_array_get(v, 1)) == JSON_STRING);
	CHECK(json_array_size(json_array_get(v, 2)) == 1);
	CHECK(json_array_get(v, 3) == NULL);
	CHECK(json_array_get(NULL, 0) == NULL);
	CHECK(json_array_size(NULL) == 0);
	CHECK(json_array_size(json_array_get(v, 0)) == 0);
	json_free(v);
}

static void
case_string_decoding(void)
{
	static const struct {
		const char *name;
		const char *text;
		const char *want;
		size_t want_len;
	} table[] = {
	        {"plain", "\"abc\"", "abc", 3},
	        {"short_escapes", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8},
	        {"u_ascii", "\"\\u0041\"", "A", 1},
	        {"u_two_byte", "\"\\u00e9\"", "\xc3\xa9", 2},
	        {"u_three_byte_upper", "\"\\u20AC\"", "\xe2\x82\xac", 3},
	        {"u_max_bmp", "\"\\uffff\"", "\xef\xbf\xbf", 3},
	        {"surrogate_pair", "\"\\uD83D\\uDE00\"", "\xf0\x9f\x98\x80", 4},
	        {"max_code_point", "\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4},
	        {"u_nul", "\"a\\u0000b\"", "a\0b", 3},
	        {"raw_utf8", "\"\xe2\x82\xac\"", "\xe2\x82\xac", 3},
	};
	for (size_t i = 0; i < TEST_COUNT(table); i++) {
		json_value *v = NULL;
		size_t len = 99;
		veil_err err = json_parse(table[i].text, strlen(table[i].text), &v);
		const char *s = json_string(v, &len);
		int ok = err == VEIL_OK && s != NULL && len == table[i].want_len &&
		         memcmp(s, table[i].want, len) == 0 && s[len] == '\0';
		CHECK_ROW(ok, table[i].name);
		json_free(v);
	}
	size_t len = 99;
	CHECK(json_string(NULL, &len) == NULL && len == 0);
	CHECK(json_string(NULL, NULL) == NULL);
}

static void
case_number_text(void)
{
	static const char *const numbers[] = {
	        "0", "-0", "1.50E+03", "-12.340e-0", "1e400", "123456789012345678901234567890"};
	for (size_t i = 0; i < TEST_COUNT(numbers); i++) {
		json_value *v = NULL;
		size_t len = 0;
		REQUIRE(json_parse(numbers[i], strlen(numbers[i]), &v) == VEIL_OK);
		const char *text = json_number_text(v, &len);
		CHECK(text != NULL && len == strlen(numbers[i]) && strcmp(text, numbers[i]) == 0);
		json_free(v);
	}
	size_t len = 99;
	json_value *v = NULL;
	REQUIRE(json_parse("\"1\"", 3, &v) == VEIL_OK);
	CHECK(json_number_text(v, &len) == NULL && len == 0);
	json_free(v);
}

/* Parses text and reads it as an integer: returns json_integer()'s result, *n the value. */
static int
integer_of(const char *text, int64_t *n)
{
	json_value *v = NULL;
	*n = 12345;
	if (json_parse(text, strlen(text), &v) != VEIL_OK)
		return -2;
	const int rc = json_integer(v, n);
	json_free(v);
	return rc;
}

/* A document that reads as an integer (the document names the row), and its value. */
typedef struct integer_doc {
	const char *text;
	int64_t value;
} integer_doc;

static const integer_doc integers[] = {
        {"0", 0},
        {"-0", 0},
        {"42", 42},
        {"-42", -42},
        {"9223372036854775807", INT64_MAX},
        {"-9223372036854775808", INT64_MIN},
};

/* Out of range, or numbers that are not integers, or no numbers at all. */
static const char *const not_integers[] = {"9223372036854775808",
                                           "-9223372036854775809",
                                           "18446744073709551616",
                                           "99999999999999999999999",
                                           "1.0",
                                           "1e2",
                                           "-1E0",
                                           "0.5",
                                           "\"1\"",
                                           "true",
                                           "null",
                                           "[1]"};

static int
check_integer(const void *row)
{
	const integer_doc *d = row;
	int64_t n;
	return integer_of(d->text, &n) == 0 && n == d->value;
}

/* Refused, and the value cleared. */
static int
check_not_integer(const void *row)
{
	int64_t n;
	return integer_of(*(const char *const *)row, &n) == -1 && n == 0;
}

static void
case_integer(void)
{
	CHECK_ROWS(integers, check_integer);
	CHECK_ROWS(not_integers, check_not_integer);
	int64_t n = 1;
	CHECK(json_integer(NULL, &n) == -1 && n == 0);
}

static void
case_write_string(void)
{
	static const struct {
		const char *name;
		const char *s;
		size_t len;
		const char *want;
	} table[] = {
	        {"empty", "", 0, "\"\""},
	        {"plain", "abc", 3, "\"abc\""},
	        {"quote_backslash", "a\"b\\c", 5, "\"a\\\"b\\\\c\""},
	        {"slash_kept", "a/b", 3, "\"a/b\""},
	        {"short_escapes", "\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\""},
	        {"other_controls", "\x01\x1f", 2, "\"\\u0001\\u001f\""},
	        {"nul", "a\0b", 3, "\"a\\u0000b\""},
	        {"del_raw", "\x7f", 1, "\"\x7f\""},
	        {"utf8_raw", "\xc3\xa9\xf0\x9f\x98\x80", 6, "\"\xc3\xa9\xf0\x9f\x98\x80\""},
	};
	for (size_t i = 0; i < TEST_COUNT(table); i++) {
		buf b;
		buf_init(&b);
		veil_err err = json_write_string(&b, table[i].s, table[i].len);
		int ok = err == VEIL_OK && strcmp(buf_data(&b), table[i].want) == 0;
		CHECK_ROW(ok, table[i].name);
		buf_free(&b);
	}
	buf b;
	buf_init(&b);
	CHECK(json_write_string(&b, NULL, 0) == VEIL_OK);
	CHECK(strcmp(buf_data(&b), "\"\"") == 0);
	buf_free(&b);
}

static void
case_write_string_rejects_invalid_utf8(void)
{
	static const char *const bad[] = {"\x80", "\xc3", "\xed\xa0\x80", "\xc0\xaf", "ok\xff"};
	for (size_t i = 0; i < TEST_COUNT(bad); i++) {
		buf b;
		buf_init(&b);
		buf_append_str(&b, "prefix");
		CHECK(json_write_string(&b, bad[i], strlen(bad[i])) == VEIL_ERR_ARGUMENT);
		CHECK(strcmp(buf_data(&b), "prefix") == 0);
		CHECK(buf_error(&b) == VEIL_OK);
		buf_free(&b);
	}
	buf b;
	buf_init(&b);
	CHECK(json_write_string(&b, NULL, 1) == VEIL_ERR_ARGUMENT);
	CHECK(buf_len(&b) == 0);
	buf_free(&b);
}

static void
case_write_value_errors(void)
{
	buf b;
	buf_init(&b);
	CHECK(json_write_value(&b, NULL) == VEIL_ERR_ARGUMENT);
	CHECK(buf_len(&b) == 0);

	/* A buffer already in error writes nothing and reports that error. */
	json_value *v = NULL;
	REQUIRE(json_parse("[1,2]", 5, &v) == VEIL_OK);
	CHECK(buf_append_str(&b, "x") == VEIL_OK);
	CHECK(buf_append(&b, "", BUF_MAX_SIZE) == VEIL_ERR_LIMIT);
	CHECK(json_write_value(&b, v) == VEIL_ERR_LIMIT);
	CHECK(strcmp(buf_data(&b), "x") == 0);
	json_free(v);
	buf_free(&b);
}

static const struct {
	const char *name;
	const char *text;
	const char *compact;
} round_trips[] = {
        {"literals", " [ null , true , false ] ", "[null,true,false]"},
        {"numbers_verbatim", "[0,-0,1.50E+03,-12.340e-0,1e400]",
         "[0,-0,1.50E+03,-12.340e-0,1e400]"},
        {"object_order_kept", "{ \"z\" : 1 , \"a\" : { } , \"m\" : [ ] }",
         "{\"z\":1,\"a\":{},\"m\":[]}"},
        {"escapes_canonical", "\"\\u0041\\/\\u00e9\\u001F\\ud83d\\ude00\"",
         "\"A/\xc3\xa9\\u001f\xf0\x9f\x98\x80\""},
        {"nul_key_and_value", "{\"\\u0000\":\"\\u0000\"}", "{\"\\u0000\":\"\\u0000\"}"},
        {"deep", "[[[[{\"a\":[[{}]]}]]]]", "[[[[{\"a\":[[{}]]}]]]]"},
        {"scalar_string", "\"plain\"", "\"plain\""},
};

static void
case_round_trip(void)
{
	for (size_t i = 0; i < TEST_COUNT(round_trips); i++) {
		char *once = rewrite(round_trips[i].text, strlen(round_trips[i].text));
		char *twice = once != NULL ? rewrite(once, strlen(once)) : NULL;
		int ok = once != NULL && twice != NULL &&
		         strcmp(once, round_trips[i].compact) == 0 && strcmp(once, twice) == 0;
		CHECK_ROW(ok, round_trips[i].name);
		free(once);
		free(twice);
	}
}

static void
case_round_trip_valid_docs(void)
{
	/* Every valid document above: write, re-parse, write again, same bytes. */
	for (size_t i = 0; i < TEST_COUNT(valid_docs); i++) {
		const doc *d = &valid_docs[i];
		char *once = rewrite(d->text, strlen(d->text));
		char *twice = once != NULL ? rewrite(once, strlen(once)) : NULL;
		int ok = once != NULL && twice != NULL && strcmp(once, twice) == 0;
		CHECK_ROW(ok, d->name);
		free(once);
		free(twice);
	}
}

static void
case_write_appends(void)
{
	json_value *v = NULL;
	buf b;
	buf_init(&b);
	REQUIRE(json_parse("{\"k\":[1]}", 9, &v) == VEIL_OK);
	CHECK(buf_append_str(&b, "x=") == VEIL_OK);
	CHECK(json_write_value(&b, v) == VEIL_OK);
	CHECK(json_write_value(&b, json_object_get(v, "k")) == VEIL_OK);
	CHECK(strcmp(buf_data(&b), "x={\"k\":[1]}[1]") == 0);
	json_free(v);
	buf_free(&b);
}

static const test_case cases[] = {
        {"arguments", case_arguments},
        {"depth_limit", case_depth_limit},
        {"input_size_limit", case_input_size_limit},
        {"string_limit", case_string_limit},
        {"number_limit", case_number_limit},
        {"values_limit", case_values_limit},
        {"types", case_types},
        {"object_access", case_object_access},
        {"object_lookup_many", case_object_lookup_many},
        {"array_access", case_array_access},
        {"string_decoding", case_string_decoding},
        {"number_text", case_number_text},
        {"integer", case_integer},
        {"write_string", case_write_string},
        {"write_string_rejects_invalid_utf8", case_write_string_rejects_invalid_utf8},
        {"write_value_errors", case_write_value_errors},
        {"round_trip", case_round_trip},
        {"round_trip_valid_docs", case_round_trip_valid_docs},
        {"write_appends", case_write_appends},
        {"valid", case_valid},
        {"invalid", case_invalid},
};

TEST_MAIN(cases)

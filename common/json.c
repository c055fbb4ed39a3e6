#include "json.h"
#include "array.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

typedef struct json_member json_member;

struct json_value {
	json_type type;
	union {
		struct {
			/* a number's source text, or a string decoded; NUL-terminated */
			char *bytes;
			size_t len;
		} text; /* numbers and strings */
		struct {
			json_value *items;
			size_t count;
		} array;
		struct {
			json_member *members;       /* source order */
			const json_member **sorted; /* by key, for lookup */
			size_t count;
		} object;
	} u;
};

struct json_member {
	char *key; /* decoded, NUL-terminated */
	size_t key_len;
	json_value value;
};

typedef struct json_parser {
	const unsigned char *pos;
	const unsigned char *end;
	size_t depth;  /* arrays and objects open around pos */
	size_t values; /* values parsed so far */
} json_parser;

static veil_err parse_value(json_parser *p, json_value *out);

/* Frees what v owns (not v itself) and leaves it a null. */
static void
value_clear(json_value *v)
{
	switch (v->type) {
	case JSON_NUMBER:
	case JSON_STRING:
		free(v->u.text.bytes);
		break;
	case JSON_ARRAY:
		for (size_t i = 0; i < v->u.array.count; i++)
			value_clear(&v->u.array.items[i]);
		free(v->u.array.items);
		break;
	case JSON_OBJECT:
		for (size_t i = 0; i < v->u.object.count; i++) {
			free(v->u.object.members[i].key);
			value_clear(&v->u.object.members[i].value);
		}
		free(v->u.object.members);
		free(v->u.object.sorted);
		break;
	case JSON_NULL:
	case JSON_FALSE:
	case JSON_TRUE:
		break;
	}
	memset(v, 0, sizeof(*v));
	v->type = JSON_NULL;
}

/*
 * The two-character escapes: a backslash and escape_letters[i] stand for
 * escape_bytes[i]. The writer uses the first ESCAPES_WRITTEN: '/' is read
 * but never needs escaping.
 */
static const char escape_letters[] = "\"\\bfnrt/";
static const char escape_bytes[] = "\"\\\b\f\n\r\t/";
#define ESCAPES_WRITTEN 7

static size_t
utf8_encode(uint32_t cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

static void
skip_whitespace(json_parser *p)
{
	while (p->pos < p->end &&
	       (*p->pos == ' ' || *p->pos == '\t' || *p->pos == '\n' || *p->pos == '\r'))
		p->pos++;
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads the four hex digits of a \u escape at s (s + 4 <= end checked by caller). */
static int
read_hex4(const unsigned char *s, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		int d = hex_value(s[i]);
		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

/*
 * Decodes the string whose opening quote is at p->pos into a new
 * NUL-terminated heap block. Consumes through the closing quote only on
 * success.
 */
static veil_err
parse_string(json_parser *p, char **bytes_out, size_t *len_out)
{
	const unsigned char *start = p->pos + 1, *close = start;
	unsigned char *bytes = NULL;
	size_t len = 0;
	veil_err err = VEIL_ERR_PARSE;

	*bytes_out = NULL;
	*len_out = 0;

	/*
	 * First find the closing quote, to size the output: a decoded string
	 * is never longer than its source text.
	 */
	while (close < p->end && *close != '"') {
		if (*close == '\\' && p->end - close < 2)
			goto out;
		close += *close == '\\' ? 2 : 1;
	}
	if (close >= p->end)
		goto out;

	if ((bytes = malloc((size_t)(close - start) + 1)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	for (const unsigned char *s = start; s < close;) {
		if (len >= JSON_MAX_STRING_SIZE) {
			err = VEIL_ERR_LIMIT;
			goto out;
		}
		if (*s < 0x20)
			goto out;
		if (*s != '\\') {
			uint32_t cp;
			size_t n = utf8_decode(s, (size_t)(close - s), &cp);
			if (n == 0 || len + n > JSON_MAX_STRING_SIZE) {
				err = n == 0 ? VEIL_ERR_PARSE : VEIL_ERR_LIMIT;
				goto out;
			}
			memcpy(bytes + len, s, n);
			len += n;
			s += n;
			continue;
		}
		/* The first pass guarantees s[1] exists and is before close. */
		unsigned char c = s[1];
		s += 2;
		const char *letter = memchr(escape_letters, c, sizeof(escape_letters) - 1);
		if (letter != NULL) {
			bytes[len++] = (unsigned char)escape_bytes[letter - escape_letters];
			continue;
		}
		if (c != 'u')
			goto out;
		uint32_t cp, low;
		if (close - s < 4 || read_hex4(s, &cp) != 0)
			goto out;
		s += 4;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			goto out; /* a low surrogate with no high one before it */
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (close - s < 6 || s[0] != '\\' || s[1] != 'u' ||
			    read_hex4(s + 2, &low) != 0 || low < 0xdc00 || low > 0xdfff)
				goto out;
			s += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
		}
		unsigned char utf8[4];
		size_t n = utf8_encode(cp, utf8);
		if (len + n > JSON_MAX_STRING_SIZE) {
			err = VEIL_ERR_LIMIT;
			goto out;
		}
		memcpy(bytes + len, utf8, n);
		len += n;
	}
	bytes[len] = '\0';
	*bytes_out = (char *)bytes;
	*len_out = len;
	bytes = NULL;
	p->pos = close + 1;
	err = VEIL_OK;
out:
	free(bytes);
	return err;
}

static int
is_digit(const json_parser *p)
{
	return p->pos < p->end && *p->pos >= '0' && *p->pos <= '9';
}

static veil_err
parse_number(json_parser *p, json_value *out)
{
	const unsigned char *start = p->pos;
	json_parser scan = *p;

	if (scan.pos < scan.end && *scan.pos == '-')
		scan.pos++;
	if (!is_digit(&scan))
		return VEIL_ERR_PARSE;
	if (*scan.pos++ != '0')
		while (is_digit(&scan))
			scan.pos++;
	if (scan.pos < scan.end && *scan.pos == '.') {
		scan.pos++;
		if (!is_digit(&scan))
			return VEIL_ERR_PARSE;
		while (is_digit(&scan))
			scan.pos++;
	}
	if (scan.pos < scan.end && (*scan.pos == 'e' || *scan.pos == 'E')) {
		scan.pos++;
		if (scan.pos < scan.end && (*scan.pos == '+' || *scan.pos == '-'))
			scan.pos++;
		if (!is_digit(&scan))
			return VEIL_ERR_PARSE;
		while (is_digit(&scan))
			scan.pos++;
	}

	size_t len = (size_t)(scan.pos - start);
	if (len > JSON_MAX_NUMBER_SIZE)
		return VEIL_ERR_LIMIT;
	char *text = malloc(len + 1);
	if (text == NULL)
		return VEIL_ERR_NOMEM;
	memcpy(text, start, len);
	text[len] = '\0';
	out->type = JSON_NUMBER;
	out->u.text.bytes = text;
	out->u.text.len = len;
	p->pos = scan.pos;
	return VEIL_OK;
}

static veil_err
parse_literal(json_parser *p, const char *word, json_type type, json_value *out)
{
	size_t n = strlen(word);
	if ((size_t)(p->end - p->pos) < n || memcmp(p->pos, word, n) != 0)
		return VEIL_ERR_PARSE;
	p->pos += n;
	out->type = type;
	return VEIL_OK;
}

/*
 * Parses the elements of an array or the members of an object: from the
 * opening byte at p->pos to the matching close, separated by commas, each
 * by parse_one into the next of a growing array of size-byte slots. On
 * success *items_out and *count_out own them (NULL and 0 when there are
 * none); on error the elements parsed so far are cleared with clear_one
 * and freed, and the outputs are NULL and 0.
 */
static veil_err
parse_elements(json_parser *p, unsigned char close, size_t size,
               veil_err (*parse_one)(json_parser *p, void *slot), void (*clear_one)(void *slot),
               void **items_out, size_t *count_out)
{
	void *items = NULL;
	size_t count = 0, cap = 0;
	veil_err err = VEIL_ERR_PARSE;

	p->pos++; /* '[' or '{' */
	skip_whitespace(p);
	if (p->pos < p->end && *p->pos == close) {
		p->pos++;
		err = VEIL_OK;
		goto out;
	}
	for (;;) {
		if ((err = array_reserve(&items, &cap, count + 1, size, 4)) != VEIL_OK ||
		    (err = parse_one(p, (unsigned char *)items + count * size)) != VEIL_OK)
			goto out;
		count++;
		skip_whitespace(p);
		err = VEIL_ERR_PARSE;
		if (p->pos >= p->end)
			goto out;
		if (*p->pos == close) {
			p->pos++;
			break;
		}
		if (*p->pos != ',')
			goto out;
		p->pos++;
		skip_whitespace(p);
	}
	err = VEIL_OK;
out:
	if (err != VEIL_OK) {
		for (size_t i = 0; i < count; i++)
			clear_one((unsigned char *)items + i * size);
		free(items);
		items = NULL;
		count = 0;
	}
	*items_out = items;
	*count_out = count;
	return err;
}

static veil_err
parse_item(json_parser *p, void *slot)
{
	return parse_value(p, slot);
}

static void
clear_item(void *slot)
{
	value_clear(slot);
}

static veil_err
parse_array(json_parser *p, json_value *out)
{
	void *items;
	size_t count;
	veil_err err =
	        parse_elements(p, ']', sizeof(json_value), parse_item, clear_item, &items, &count);
	if (err == VEIL_OK) {
		out->type = JSON_ARRAY;
		out->u.array.items = items;
		out->u.array.count = count;
	}
	return err;
}

/* One member, "key" ':' value, into slot (a json_member). */
static veil_err
parse_member(json_parser *p, void *slot)
{
	json_member *m = slot;
	veil_err err;

	if (p->pos >= p->end || *p->pos != '"')
		return VEIL_ERR_PARSE;
	if ((err = parse_string(p, &m->key, &m->key_len)) != VEIL_OK)
		return err;
	skip_whitespace(p);
	if (p->pos >= p->end || *p->pos != ':') {
		err = VEIL_ERR_PARSE;
	} else {
		p->pos++;
		skip_whitespace(p);
		err = parse_value(p, &m->value);
	}
	if (err != VEIL_OK)
		free(m->key);
	return err;
}

static void
clear_member(void *slot)
{
	json_member *m = slot;
	free(m->key);
	value_clear(&m->value);
}

static int
key_compare(const char *a, size_t a_len, const char *b, size_t b_len)
{
	int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
	if (c != 0)
		return c;
	return (a_len > b_len) - (a_len < b_len);
}

static int
member_compare(const void *a, const void *b)
{
	const json_member *ma = *(const json_member *const *)a;
	const json_member *mb = *(const json_member *const *)b;
	return key_compare(ma->key, ma->key_len, mb->key, mb->key_len);
}

static veil_err
parse_object(json_parser *p, json_value *out)
{
	void *members;
	size_t count;
	veil_err err = parse_elements(p, '}', sizeof(json_member), parse_member, clear_member,
	                              &members, &count);
	if (err != VEIL_OK)
		return err;
	out->type = JSON_OBJECT;
	out->u.object.members = members;
	out->u.object.count = count;
	if (count == 0)
		return VEIL_OK;

	/* A sorted index both finds duplicate keys and serves lookups. */
	const json_member **sorted = malloc(count * sizeof(*sorted));
	out->u.object.sorted = sorted;
	err = VEIL_ERR_NOMEM;
	if (sorted == NULL)
		goto fail;
	for (size_t i = 0; i < count; i++)
		sorted[i] = &out->u.object.members[i];
	qsort(sorted, count, sizeof(*sorted), member_compare);
	err = VEIL_ERR_PARSE;
	for (size_t i = 1; i < count; i++)
		if (member_compare(&sorted[i - 1], &sorted[i]) == 0)
			goto fail;
	return VEIL_OK;
fail:
	value_clear(out); /* the members, and out a null again */
	return err;
}

/*
 * Parses one value at p->pos into *out (a null on entry). On error *out
 * is a null again and owns nothing.
 */
static veil_err
parse_value(json_parser *p, json_value *out)
{
	veil_err err;

	memset(out, 0, sizeof(*out));
	out->type = JSON_NULL;
	if (p->pos >= p->end)
		return VEIL_ERR_PARSE;
	if (++p->values > JSON_MAX_VALUES)
		return VEIL_ERR_LIMIT;

	switch (*p->pos) {
	case 'n':
		return parse_literal(p, "null", JSON_NULL, out);
	case 'f':
		return parse_literal(p, "false", JSON_FALSE, out);
	case 't':
		return parse_literal(p, "true", JSON_TRUE, out);
	case '"':
		out->type = JSON_STRING;
		err = parse_string(p, &out->u.text.bytes, &out->u.text.len);
		if (err != VEIL_OK)
			out->type = JSON_NULL;
		return err;
	case '[':
	case '{':
		if (p->depth == JSON_MAX_DEPTH)
			return VEIL_ERR_LIMIT;
		p->depth++;
		err = *p->pos == '[' ? parse_array(p, out) : parse_object(p, out);
		p->depth--;
		return err;
	default:
		return parse_number(p, out);
	}
}

void
json_free(json_value *v)
{
	if (v == NULL)
		return;
	value_clear(v);
	free(v);
}

veil_err
json_parse(const char *text, size_t len, json_value **out)
{
	json_value *root = NULL;
	json_parser p;
	veil_err err = VEIL_ERR_ARGUMENT;

	if (out == NULL)
		return VEIL_ERR_ARGUMENT;
	*out = NULL;
	if (text == NULL && len > 0)
		goto out;
	err = VEIL_ERR_LIMIT;
	if (len > JSON_MAX_INPUT_SIZE)
		goto out;

	if (text == NULL)
		text = "";
	p.pos = (const unsigned char *)text;
	p.end = p.pos + len;
	p.depth = 0;
	p.values = 0;
	if ((root = malloc(sizeof(*root))) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	skip_whitespace(&p);
	if ((err = parse_value(&p, root)) != VEIL_OK)
		goto out;
	skip_whitespace(&p);
	if (p.pos != p.end) {
		err = VEIL_ERR_PARSE;
		goto out;
	}
	*out = root;
	root = NULL;
	err = VEIL_OK;
out:
	json_free(root);
	return err;
}

json_type
json_type_of(const json_value *v)
{
	if (v == NULL)
		abort();
	return v->type;
}

const json_value *
json_object_get(const json_value *obj, const char *key)
{
	if (obj == NULL || obj->type != JSON_OBJECT || key == NULL)
		return NULL;
	size_t key_len = strlen(key);
	size_t lo = 0, hi = obj->u.object.count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const json_member *m = obj->u.object.sorted[mid];
		int c = key_compare(key, key_len, m->key, m->key_len);
		if (c == 0)
			return &m->value;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

size_t
json_object_size(const json_value *obj)
{
	if (obj == NULL || obj->type != JSON_OBJECT)
		return 0;
	return obj->u.object.count;
}

static const json_member *
object_member(const json_value *obj, size_t i)
{
	if (obj == NULL || obj->type != JSON_OBJECT || i >= obj->u.object.count)
		return NULL;
	return &obj->u.object.members[i];
}

const char *
json_object_key(const json_value *obj, size_t i)
{
	const json_member *m = object_member(obj, i);
	return m != NULL ? m->key : NULL;
}

size_t
json_object_key_len(const json_value *obj, size_t i)
{
	const json_member *m = object_member(obj, i);
	return m != NULL ? m->key_len : 0;
}

const json_value *
json_object_value(const json_value *obj, size_t i)
{
	const json_member *m = object_member(obj, i);
	return m != NULL ? &m->value : NULL;
}

size_t
json_array_size(const json_value *arr)
{
	if (arr == NULL || arr->type != JSON_ARRAY)
		return 0;
	return arr->u.array.count;
}

const json_value *
json_array_get(const json_value *arr, size_t i)
{
	if (arr == NULL || arr->type != JSON_ARRAY || i >= arr->u.array.count)
		return NULL;
	return &arr->u.array.items[i];
}

/* The text of v when it is a value of type (a number or a string). */
static const char *
text_of(const json_value *v, json_type type, size_t *len_out)
{
	if (len_out != NULL)
		*len_out = 0;
	if (v == NULL || v->type != type)
		return NULL;
	if (len_out != NULL)
		*len_out = v->u.text.len;
	return v->u.text.bytes;
}

const char *
json_string(const json_value *v, size_t *len_out)
{
	return text_of(v, JSON_STRING, len_out);
}

const char *
json_number_text(const json_value *v, size_t *len_out)
{
	return text_of(v, JSON_NUMBER, len_out);
}

int
json_integer(const json_value *v, int64_t *out)
{
	*out = 0;
	if (v == NULL || v->type != JSON_NUMBER)
		return -1;

	const char *s = v->u.text.bytes;
	int negative = *s == '-';
	if (negative)
		s++;
	/* INT64_MAX, or its magnitude plus one for INT64_MIN. */
	uint64_t limit = (uint64_t)INT64_MAX + (uint64_t)negative;
	uint64_t magnitude = 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1; /* a fraction or an exponent */
		uint64_t digit = (uint64_t)(*s - '0');
		if (magnitude > (limit - digit) / 10)
			return -1;
		magnitude = magnitude * 10 + digit;
	}
	if (negative)
		*out = magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)magnitude;
	else
		*out = (int64_t)magnitude;
	return 0;
}

veil_err
json_write_string(buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u;
	size_t mark = buf_len(b), run = 0;

	if (s == NULL && len > 0)
		return VEIL_ERR_ARGUMENT;
	if (s == NULL)
		s = "";
	u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(u + i, len - i, &cp);
		if (n == 0)
			return VEIL_ERR_ARGUMENT;
		i += n;
	}

	buf_append_byte(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = u[i];
		char escape[7] = {'\\', 0};
		size_t escape_len = 2;
		const char *byte = memchr(escape_bytes, c, ESCAPES_WRITTEN);

		if (byte != NULL) {
			escape[1] = escape_letters[byte - escape_bytes];
		} else if (c >= 0x20) {
			continue; /* part of the current run of plain bytes */
		} else {
			memcpy(escape + 1, "u00", 3);
			escape[4] = hex[c >> 4];
			escape[5] = hex[c & 0xf];
			escape_len = 6;
		}
		buf_append(b, s + run, i - run);
		buf_append(b, escape, escape_len);
		run = i + 1;
	}
	buf_append(b, s + run, len - run);
	veil_err err = buf_append_byte(b, '"');
	if (err != VEIL_OK)
		buf_truncate(b, mark);
	return err;
}

static veil_err
write_value(buf *b, const json_value *v)
{
	switch (v->type) {
	case JSON_NULL:
		return buf_append_str(b, "null");
	case JSON_FALSE:
		return buf_append_str(b, "false");
	case JSON_TRUE:
		return buf_append_str(b, "true");
	case JSON_NUMBER:
		return buf_append(b, v->u.text.bytes, v->u.text.len);
	case JSON_STRING:
		return json_write_string(b, v->u.text.bytes, v->u.text.len);
	case JSON_ARRAY:
		buf_append_byte(b, '[');
		for (size_t i = 0; i < v->u.array.count; i++) {
			if (i > 0)
				buf_append_byte(b, ',');
			write_value(b, &v->u.array.items[i]);
		}
		return buf_append_byte(b, ']');
	case JSON_OBJECT:
		buf_append_byte(b, '{');
		for (size_t i = 0; i < v->u.object.count; i++) {
			const json_member *m = &v->u.object.members[i];
			if (i > 0)
				buf_append_byte(b, ',');
			json_write_string(b, m->key, m->key_len);
			buf_append_byte(b, ':');
			write_value(b, &m->value);
		}
		return buf_append_byte(b, '}');
	}
	abort();
}

veil_err
json_write_value(buf *b, const json_value *v)
{
	if (v == NULL)
		return VEIL_ERR_ARGUMENT;
	size_t mark = buf_len(b);
	/* Appends are sticky, so the last one reports any failure before it. */
	veil_err err = write_value(b, v);
	if (err != VEIL_OK)
		buf_truncate(b, mark);
	return err;
}

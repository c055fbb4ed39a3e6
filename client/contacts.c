#include "contacts.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "array.h"
#include "buf.h"

struct contact_list {
	contacts_format format;
	size_t count;
	contact_entry *entries;
	char *text; /* every entry's bytes and NUL, back to back */
	size_t text_len;
};

/*
 * Bytes of a parser buffer and the line they start on: an entry while
 * parsing (in parser.values), or a CSV cell while its record is read (in
 * parser.scratch).
 */
typedef struct text_span {
	size_t offset;
	size_t len;
	unsigned line;
} text_span;

typedef struct parser {
	const char *text;
	size_t len;
	size_t pos;    /* next byte to read */
	unsigned line; /* 1-based line of the byte at pos */
	unsigned error_line;

	buf values; /* entry bytes, each followed by a NUL */
	text_span *entries;
	size_t count, cap;

	buf scratch; /* one CSV record's cells, or one unfolded vCard line */
	buf value;   /* one vCard value, unescaped */
	text_span *cells;
	size_t cell_count, cell_cap;
} parser;

static int
is_blank_char(char c)
{
	return c == ' ' || c == '\t';
}

static int
is_break_char(char c)
{
	return c == '\n' || c == '\r';
}

static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int
equals_nocase(const char *s, size_t n, const char *word)
{
	size_t word_len = strlen(word);
	if (n != word_len)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(s[i]) != word[i])
			return 0;
	return 1;
}

/* Narrows [*s, *s + *n) to leave out spaces and tabs at both ends. */
static void
trim_blanks(const char **s, size_t *n)
{
	while (*n > 0 && is_blank_char((*s)[0])) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_blank_char((*s)[*n - 1]))
		(*n)--;
}

static veil_err
fail(parser *p, veil_err err, unsigned line)
{
	p->error_line = line;
	return err;
}

/* Line breaks in [s, s + n), CRLF counted once. */
static unsigned
count_breaks(const char *s, size_t n)
{
	unsigned breaks = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\n' || (s[i] == '\r' && (i + 1 >= n || s[i + 1] != '\n')))
			breaks++;
	return breaks;
}

/* Consumes a line break at p->pos, if there is one. */
static void
skip_break(parser *p)
{
	if (p->pos < p->len && p->text[p->pos] == '\r') {
		p->pos++;
		if (p->pos < p->len && p->text[p->pos] == '\n')
			p->pos++;
		p->line++;
	} else if (p->pos < p->len && p->text[p->pos] == '\n') {
		p->pos++;
		p->line++;
	}
}

/*
 * Reads the physical line at p->pos, without its break, and moves past
 * the break. Returns VEIL_OK, or VEIL_ERR_LIMIT for a line above
 * CONTACTS_MAX_LINE. The caller checks p->pos < p->len first.
 */
static veil_err
next_line(parser *p, const char **line, size_t *line_len, unsigned *line_no)
{
	size_t start = p->pos, end = start;
	while (end < p->len && !is_break_char(p->text[end]))
		end++;
	if (end - start > CONTACTS_MAX_LINE)
		return fail(p, VEIL_ERR_LIMIT, p->line);
	*line = p->text + start;
	*line_len = end - start;
	*line_no = p->line;
	p->pos = end;
	skip_break(p);
	return VEIL_OK;
}

/*
 * Adds the n bytes at s, trimmed of spaces and tabs, as an entry that
 * starts on line; blank text adds nothing.
 */
static veil_err
add_entry(parser *p, const char *s, size_t n, unsigned line)
{
	trim_blanks(&s, &n);
	if (n == 0)
		return VEIL_OK;
	if (n > CONTACTS_MAX_FIELD || p->count >= CONTACTS_MAX_ENTRIES)
		return fail(p, VEIL_ERR_LIMIT, line);
	if (array_reserve((void **)&p->entries, &p->cap, p->count + 1, sizeof(*p->entries), 64) !=
	    VEIL_OK)
		return VEIL_ERR_NOMEM;
	size_t offset = buf_len(&p->values);
	buf_append(&p->values, s, n);
	veil_err err = buf_append_byte(&p->values, '\0');
	if (err != VEIL_OK)
		return err;
	p->entries[p->count++] = (text_span){offset, n, line};
	return VEIL_OK;
}

/* Plain lines. */

static veil_err
parse_plain(parser *p)
{
	while (p->pos < p->len) {
		const char *line;
		size_t n;
		unsigned line_no;
		veil_err err = next_line(p, &line, &n, &line_no);
		if (err != VEIL_OK)
			return err;
		trim_blanks(&line, &n);
		if (n == 0 || line[0] == '#')
			continue;
		err = add_entry(p, line, n, line_no);
		if (err != VEIL_OK)
			return err;
	}
	return VEIL_OK;
}

/* CSV. */

static const char *const header_keywords[] = {
        "phone", "phones",    "telephone", "tel",    "mobile",
        "cell",  "cellphone", "email",     "emails", "e-mail",
};
static const char *const header_exclusions[] = {"type", "label", "name", "display", "kind"};

static int
word_in(const char *s, size_t n, const char *const *words, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (equals_nocase(s, n, words[i]))
			return 1;
	return 0;
}

/* Looks at a word and its '-'-separated parts: *key and *excluded are set. */
static void
header_word(const char *s, size_t n, int *key, int *excluded)
{
	const size_t keys = sizeof(header_keywords) / sizeof(header_keywords[0]);
	const size_t exclusions = sizeof(header_exclusions) / sizeof(header_exclusions[0]);

	*key |= word_in(s, n, header_keywords, keys);
	*excluded |= word_in(s, n, header_exclusions, exclusions);
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '-')
			continue;
		*key |= word_in(s + start, i - start, header_keywords, keys);
		*excluded |= word_in(s + start, i - start, header_exclusions, exclusions);
		start = i + 1;
	}
}

/* Whether a header cell names a contact column (see contacts.h). */
static int
header_names_contact_column(const char *s, size_t n)
{
	int key = 0, excluded = 0;
	size_t digit_run = 0, word_start = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int digit = c >= '0' && c <= '9';
		int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		digit_run = digit ? digit_run + 1 : 0;
		if (digit_run >= 3)
			return 0;
		if (!digit && !letter && c != '-' && !strchr(" \t_/()", c))
			return 0;
	}
	for (size_t i = 0; i <= n; i++) {
		if (i < n && !strchr(" \t_/()", s[i]))
			continue;
		if (i > word_start)
			header_word(s + word_start, i - word_start, &key, &excluded);
		word_start = i + 1;
	}
	return key && !excluded;
}

static veil_err
csv_add_cell(parser *p, size_t offset, unsigned line)
{
	if (p->cell_count >= CONTACTS_MAX_COLUMNS)
		return fail(p, VEIL_ERR_LIMIT, line);
	if (array_reserve((void **)&p->cells, &p->cell_cap, p->cell_count + 1, sizeof(*p->cells),
	                  16) != VEIL_OK)
		return VEIL_ERR_NOMEM;
	p->cells[p->cell_count++] = (text_span){offset, buf_len(&p->scratch) - offset, line};
	return buf_error(&p->scratch);
}

/*
 * Reads the quoted field whose opening quote is at p->pos, into scratch,
 * and the blanks after its closing quote.
 */
static veil_err
csv_quoted(parser *p, size_t record_start, unsigned cell_line)
{
	p->pos++;
	for (;;) {
		size_t run = p->pos;
		while (run < p->len && p->text[run] != '"')
			run++;
		if (run - record_start > CONTACTS_MAX_LINE)
			return fail(p, VEIL_ERR_LIMIT, cell_line);
		if (run == p->len)
			return fail(p, VEIL_ERR_PARSE, cell_line);
		buf_append(&p->scratch, p->text + p->pos, run - p->pos);
		p->line += count_breaks(p->text + p->pos, run - p->pos);
		p->pos = run + 1;
		if (p->pos < p->len && p->text[p->pos] == '"') {
			buf_append_byte(&p->scratch, '"');
			p->pos++;
			continue;
		}
		break;
	}
	while (p->pos < p->len && is_blank_char(p->text[p->pos]))
		p->pos++;
	if (p->pos < p->len && p->text[p->pos] != ',' && !is_break_char(p->text[p->pos]))
		return fail(p, VEIL_ERR_PARSE, p->line);
	return buf_error(&p->scratch);
}

/*
 * Reads the record at p->pos into p->cells and p->scratch, and moves past
 * its line break. *line_no is the line it starts on.
 */
static veil_err
csv_record(parser *p, unsigned *line_no)
{
	size_t record_start = p->pos;
	veil_err err;

	buf_reset(&p->scratch);
	p->cell_count = 0;
	*line_no = p->line;
	for (;;) {
		size_t offset = buf_len(&p->scratch);
		unsigned cell_line = p->line;
		size_t first = p->pos;
		while (first < p->len && is_blank_char(p->text[first]))
			first++;
		if (first < p->len && p->text[first] == '"') {
			p->pos = first;
			err = csv_quoted(p, record_start, cell_line);
		} else {
			size_t end = p->pos;
			while (end < p->len && p->text[end] != ',' && !is_break_char(p->text[end]))
				end++;
			if (end - record_start > CONTACTS_MAX_LINE)
				return fail(p, VEIL_ERR_LIMIT, cell_line);
			err = buf_append(&p->scratch, p->text + p->pos, end - p->pos);
			p->pos = end;
		}
		if (err != VEIL_OK)
			return err;
		err = csv_add_cell(p, offset, cell_line);
		if (err != VEIL_OK)
			return err;
		if (p->pos < p->len && p->text[p->pos] == ',') {
			p->pos++;
			continue;
		}
		skip_break(p);
		return VEIL_OK;
	}
}

static const char *
cell_text(const parser *p, size_t i, size_t *n)
{
	*n = p->cells[i].len;
	return buf_data(&p->scratch) + p->cells[i].offset;
}

static int
csv_record_blank(const parser *p)
{
	for (size_t i = 0; i < p->cell_count; i++) {
		size_t n;
		const char *s = cell_text(p, i, &n);
		trim_blanks(&s, &n);
		if (n > 0)
			return 0;
	}
	return 1;
}

static veil_err
parse_csv(parser *p)
{
	size_t *columns = NULL, column_count = 0;
	int header_seen = 0;
	veil_err err = VEIL_OK;

	while (p->pos < p->len) {
		unsigned line_no;
		err = csv_record(p, &line_no);
		if (err != VEIL_OK)
			goto out;
		if (csv_record_blank(p))
			continue;
		if (!header_seen) {
			header_seen = 1;
			columns = calloc(p->cell_count, sizeof(*columns));
			if (columns == NULL) {
				err = VEIL_ERR_NOMEM;
				goto out;
			}
			for (size_t i = 0; i < p->cell_count; i++) {
				size_t n;
				const char *s = cell_text(p, i, &n);
				if (header_names_contact_column(s, n))
					columns[column_count++] = i;
			}
			if (column_count > 0)
				continue;
			columns[column_count++] = 0;
		}
		for (size_t c = 0; c < column_count; c++) {
			size_t n;
			if (columns[c] >= p->cell_count)
				break;
			const char *s = cell_text(p, columns[c], &n);
			err = add_entry(p, s, n, p->cells[columns[c]].line);
			if (err != VEIL_OK)
				goto out;
		}
	}
out:
	free(columns);
	return err;
}

/* vCard. */

/*
 * Reads the logical line at p->pos: a physical line and the lines after
 * it that start with a space or a tab, each without that character.
 * Leaves it in p->scratch.
 */
static veil_err
vcard_unfold(parser *p, unsigned *line_no)
{
	const char *line;
	size_t n;
	unsigned first_line, ignored;
	veil_err err = next_line(p, &line, &n, &first_line);
	if (err != VEIL_OK)
		return err;
	buf_reset(&p->scratch);
	buf_append(&p->scratch, line, n);
	while (p->pos < p->len && is_blank_char(p->text[p->pos])) {
		err = next_line(p, &line, &n, &ignored);
		if (err != VEIL_OK)
			return err;
		if (buf_len(&p->scratch) + n - 1 > CONTACTS_MAX_LINE)
			return fail(p, VEIL_ERR_LIMIT, first_line);
		buf_append(&p->scratch, line + 1, n - 1);
	}
	*line_no = first_line;
	return buf_error(&p->scratch);
}

static int
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

/* A content line, split: name (without group) and value, if any. */
typedef struct vcard_property {
	const char *name;
	size_t name_len;
	const char *value; /* NULL when the line has no ':' outside quotes */
	size_t value_len;
} vcard_property;

/* Splits line; returns 0 if it is not shaped as a property at all. */
static int
vcard_split(const char *line, size_t n, vcard_property *prop)
{
	size_t i = 0, start;
	memset(prop, 0, sizeof(*prop));

	while (i < n && is_name_char(line[i]))
		i++;
	if (i < n && line[i] == '.' && i > 0) {
		i++;
		start = i;
		while (i < n && is_name_char(line[i]))
			i++;
	} else {
		start = 0;
	}
	if (i == start || i == n || (line[i] != ':' && line[i] != ';'))
		return 0;
	prop->name = line + start;
	prop->name_len = i - start;

	int quoted = 0;
	for (; i < n; i++) {
		if (line[i] == '"')
			quoted = !quoted;
		else if (line[i] == ':' && !quoted)
			break;
	}
	if (i < n) {
		prop->value = line + i + 1;
		prop->value_len = n - i - 1;
	}
	return 1;
}

/* Leaves in p->value the n bytes at s with vCard escapes undone. */
static veil_err
vcard_unescape(parser *p, const char *s, size_t n)
{
	size_t run = 0;
	buf_reset(&p->value);
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\' || i + 1 == n)
			continue;
		char next = s[i + 1];
		if (next == 'n' || next == 'N')
			next = '\n';
		else if (next != ',' && next != ';' && next != '\\')
			continue;
		buf_append(&p->value, s + run, i - run);
		buf_append_byte(&p->value, next);
		i++;
		run = i + 1;
	}
	return buf_append(&p->value, s + run, n - run);
}

static int
value_is(const vcard_property *prop, const char *word)
{
	const char *s = prop->value;
	size_t n = prop->value_len;
	if (s == NULL)
		return 0;
	trim_blanks(&s, &n);
	return equals_nocase(s, n, word);
}

static veil_err
parse_vcard(parser *p)
{
	int in_card = 0;
	unsigned card_line = 0;

	while (p->pos < p->len) {
		unsigned line_no;
		veil_err err = vcard_unfold(p, &line_no);
		if (err != VEIL_OK)
			return err;
		const char *line = buf_data(&p->scratch);
		size_t n = buf_len(&p->scratch);
		const char *trimmed = line;
		size_t trimmed_len = n;
		trim_blanks(&trimmed, &trimmed_len);
		if (trimmed_len == 0)
			continue;

		/* Only a file's first line can start with a blank: the rest fold. */
		vcard_property prop;
		int is_property = vcard_split(trimmed, trimmed_len, &prop);
		if (is_property && equals_nocase(prop.name, prop.name_len, "begin") &&
		    value_is(&prop, "vcard")) {
			if (in_card)
				return fail(p, VEIL_ERR_PARSE, line_no);
			in_card = 1;
			card_line = line_no;
			continue;
		}
		if (is_property && equals_nocase(prop.name, prop.name_len, "end") &&
		    value_is(&prop, "vcard")) {
			if (!in_card)
				return fail(p, VEIL_ERR_PARSE, line_no);
			in_card = 0;
			continue;
		}
		if (!in_card)
			return fail(p, VEIL_ERR_PARSE, line_no);
		if (!is_property || (!equals_nocase(prop.name, prop.name_len, "tel") &&
		                     !equals_nocase(prop.name, prop.name_len, "email")))
			continue;
		if (prop.value == NULL)
			return fail(p, VEIL_ERR_PARSE, line_no);
		err = vcard_unescape(p, prop.value, prop.value_len);
		if (err != VEIL_OK)
			return err;
		err = add_entry(p, buf_data(&p->value), buf_len(&p->value), line_no);
		if (err != VEIL_OK)
			return err;
	}
	if (in_card)
		return fail(p, VEIL_ERR_PARSE, card_line);
	return VEIL_OK;
}

/* Detection. */

static contacts_format
detect_format(parser *p)
{
	size_t saved_pos = p->pos;
	unsigned saved_line = p->line;
	contacts_format format = CONTACTS_PLAIN;

	while (p->pos < p->len) {
		const char *line;
		size_t n;
		unsigned line_no;
		/* A line above the cap is refused again by the parser proper. */
		if (next_line(p, &line, &n, &line_no) != VEIL_OK)
			break;
		trim_blanks(&line, &n);
		if (n == 0)
			continue;
		if (equals_nocase(line, n, "begin:vcard"))
			format = CONTACTS_VCARD;
		else if (line[0] == '#')
			format = CONTACTS_PLAIN;
		else if (memchr(line, ',', n) != NULL)
			format = CONTACTS_CSV;
		else if (n >= 2 && line[0] == '"' && line[n - 1] == '"')
			format = header_names_contact_column(line + 1, n - 2) ? CONTACTS_CSV
			                                                      : CONTACTS_PLAIN;
		else
			format = header_names_contact_column(line, n) ? CONTACTS_CSV
			                                              : CONTACTS_PLAIN;
		break;
	}
	p->pos = saved_pos;
	p->line = saved_line;
	p->error_line = 0;
	return format;
}

static veil_err
finish(parser *p, contacts_format format, contact_list **out)
{
	contact_list *list = calloc(1, sizeof(*list));
	if (list == NULL)
		return VEIL_ERR_NOMEM;
	list->format = format;
	if (p->count > 0) {
		list->text_len = buf_len(&p->values);
		list->text = malloc(list->text_len);
		list->entries = calloc(p->count, sizeof(*list->entries));
		if (list->text == NULL || list->entries == NULL) {
			contacts_free(list);
			return VEIL_ERR_NOMEM;
		}
		memcpy(list->text, buf_data(&p->values), list->text_len);
		for (size_t i = 0; i < p->count; i++)
			list->entries[i] = (contact_entry){list->text + p->entries[i].offset,
			                                   p->entries[i].len, p->entries[i].line};
		list->count = p->count;
	}
	*out = list;
	return VEIL_OK;
}

veil_err
contacts_parse(const char *text, size_t len, contact_list **out, unsigned *error_line)
{
	parser p;
	veil_err err;

	memset(&p, 0, sizeof(p));
	buf_init(&p.values);
	buf_init(&p.scratch);
	buf_init(&p.value);
	if (error_line != NULL)
		*error_line = 0;
	if (out == NULL || (text == NULL && len > 0)) {
		err = VEIL_ERR_ARGUMENT;
		goto out;
	}
	*out = NULL;
	if (len > CONTACTS_MAX_SIZE) {
		err = VEIL_ERR_LIMIT;
		goto out;
	}
	p.text = text;
	p.len = len;
	p.line = 1;

	const char *nul = len > 0 ? memchr(text, '\0', len) : NULL;
	if (nul != NULL) {
		/* The line of the NUL: one more than the breaks before it. */
		err = fail(&p, VEIL_ERR_PARSE, 1 + count_breaks(text, (size_t)(nul - text)));
		goto out;
	}
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		p.pos = 3;

	contacts_format format = detect_format(&p);
	switch (format) {
	case CONTACTS_PLAIN:
		err = parse_plain(&p);
		break;
	case CONTACTS_CSV:
		err = parse_csv(&p);
		break;
	case CONTACTS_VCARD:
		err = parse_vcard(&p);
		break;
	default:
		err = VEIL_ERR_ARGUMENT;
		break;
	}
	if (err == VEIL_OK)
		err = finish(&p, format, out);
out:
	if (err != VEIL_OK && error_line != NULL)
		*error_line = p.error_line;
	buf_free(&p.values);
	buf_free(&p.scratch);
	buf_free(&p.value);
	free(p.entries);
	free(p.cells);
	return err;
}

void
contacts_free(contact_list *list)
{
	if (list == NULL)
		return;
	if (list->text != NULL) {
		sodium_memzero(list->text, list->text_len);
		free(list->text);
	}
	free(list->entries);
	free(list);
}

size_t
contacts_count(const contact_list *list)
{
	return list != NULL ? list->count : 0;
}

const contact_entry *
contacts_get(const contact_list *list, size_t i)
{
	if (list == NULL || i >= list->count)
		return NULL;
	return &list->entries[i];
}

contacts_format
contacts_format_of(const contact_list *list)
{
	return list != NULL ? list->format : CONTACTS_PLAIN;
}

const char *
contacts_format_name(contacts_format format)
{
	switch (format) {
	case CONTACTS_PLAIN:
		return "plain";
	case CONTACTS_CSV:
		return "csv";
	case CONTACTS_VCARD:
		return "vcard";
	}
	return "unknown";
}

/*
 * Fuzzes contacts_parse. Whatever the input:
 *
 *   - parsing is deterministic;
 *   - on failure nothing is returned, the error is a parse or limit error,
 *     and its line is within the file;
 *   - on success every entry is 1 to CONTACTS_MAX_FIELD bytes, NUL-
 *     terminated, holds no NUL, does not start or end with a space or a
 *     tab, and its line is within the file and not before the entry
 *     before it;
 *   - every entry goes through normalize_handle() without harm, as the
 *     lookup will send it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "contacts.h"
#include "normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The number of lines, as contacts.h counts them (CRLF is one break). */
static unsigned long
line_count(const char *text, size_t len)
{
	unsigned long lines = 1;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == len || text[i + 1] != '\n')))
			lines++;
	return lines;
}

static int
entry_valid(const contact_entry *e, unsigned previous_line, unsigned long lines)
{
	if (e == NULL || e->input == NULL || e->input_len == 0 || e->input_len > CONTACTS_MAX_FIELD)
		return 0;
	if (e->input[e->input_len] != '\0' || memchr(e->input, '\0', e->input_len) != NULL)
		return 0;
	char first = e->input[0], last = e->input[e->input_len - 1];
	if (first == ' ' || first == '\t' || last == ' ' || last == '\t')
		return 0;
	return e->line >= 1 && e->line >= previous_line && e->line <= lines;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	contact_list *first = NULL, *second = NULL;
	unsigned first_line = 0, second_line = 0;
	unsigned long lines = line_count(text, size);

	veil_err err = contacts_parse(text, size, &first, &first_line);
	veil_err again = contacts_parse(text, size, &second, &second_line);
	if (err != again || first_line != second_line)
		abort();
	if (err != VEIL_OK) {
		if (first != NULL || second != NULL)
			abort();
		if (err != VEIL_ERR_PARSE && err != VEIL_ERR_LIMIT)
			abort();
		if (first_line > lines)
			abort();
		return 0;
	}
	if (first_line != 0 || contacts_count(first) != contacts_count(second) ||
	    contacts_format_of(first) != contacts_format_of(second) ||
	    contacts_count(first) > CONTACTS_MAX_ENTRIES)
		abort();

	unsigned previous_line = 1;
	for (size_t i = 0; i < contacts_count(first); i++) {
		const contact_entry *a = contacts_get(first, i), *b = contacts_get(second, i);
		if (!entry_valid(a, previous_line, lines) || b == NULL ||
		    a->input_len != b->input_len || a->line != b->line ||
		    memcmp(a->input, b->input, a->input_len) != 0)
			abort();
		previous_line = a->line;

		char out[NORMALIZE_MAX_HANDLE];
		size_t out_len;
		normalize_status s =
		        normalize_handle(a->input, a->input_len, "US", out, sizeof(out), &out_len);
		if (s == NORMALIZE_ARGUMENT || s == NORMALIZE_INTERNAL)
			abort();
	}
	if (contacts_get(first, contacts_count(first)) != NULL)
		abort();
	contacts_free(first);
	contacts_free(second);
	return 0;
}

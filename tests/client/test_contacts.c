#include "contacts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "normalize.h"

#define MAX_WANT 8

typedef struct want_entry {
	const char *input;
	unsigned line;
} want_entry;

/* A file, and what it must parse into (or fail with, on which line). */
typedef struct file_case {
	const char *name;
	const char *text;
	size_t len; /* 0: strlen(text) */
	veil_err want_err;
	unsigned want_line; /* on error */
	contacts_format want_format;
	want_entry want[MAX_WANT]; /* ends at the first NULL input */
} file_case;

#define OK_PLAIN       VEIL_OK, 0, CONTACTS_PLAIN
#define OK_CSV         VEIL_OK, 0, CONTACTS_CSV
#define OK_VCARD       VEIL_OK, 0, CONTACTS_VCARD
#define PARSE_AT(line) VEIL_ERR_PARSE, (line), CONTACTS_PLAIN

static const file_case cases_plain[] = {
        {"empty", "", 0, OK_PLAIN, {{NULL, 0}}},
        {"blank_lines_only", " \n\t\n\r\n", 0, OK_PLAIN, {{NULL, 0}}},
        {"comments_only", "# contacts\n  # more\n", 0, OK_PLAIN, {{NULL, 0}}},
        {"one_per_line",
         "+1 415 555 0100\nann@example.org\n",
         0,
         OK_PLAIN,
         {{"+1 415 555 0100", 1}, {"ann@example.org", 2}}},
        {"trimmed_with_comments_and_blanks",
         "# my list\n\n  (415) 555-0100  \n\t# indented comment\nbob@example.com",
         0,
         OK_PLAIN,
         {{"(415) 555-0100", 3}, {"bob@example.com", 5}}},
        {"crlf",
         "415.555.0100\r\n\r\n+44 20 7946 0018\r\n",
         0,
         OK_PLAIN,
         {{"415.555.0100", 1}, {"+44 20 7946 0018", 3}}},
        {"lone_cr", "one\rtwo\r\rthree", 0, OK_PLAIN, {{"one", 1}, {"two", 2}, {"three", 4}}},
        {"byte_order_mark", "\xef\xbb\xbf+1 415 555 0100\n", 0, OK_PLAIN, {{"+1 415 555 0100", 1}}},
        {"comment_with_comma_stays_plain",
         "# name, number\n415 555 0100\n",
         0,
         OK_PLAIN,
         {{"415 555 0100", 2}}},
        {"semicolons_are_text", "Ann;415 555 0100\n", 0, OK_PLAIN, {{"Ann;415 555 0100", 1}}},
        {"label_with_colon_is_plain",
         "Mobile: 415 555 0100\nann@example.org\n",
         0,
         OK_PLAIN,
         {{"Mobile: 415 555 0100", 1}, {"ann@example.org", 2}}},
        {"quotes_kept", "\"415 555 0100\"\n", 0, OK_PLAIN, {{"\"415 555 0100\"", 1}}},
        {"hash_inside_kept", "415 555 0100 #work\n", 0, OK_PLAIN, {{"415 555 0100 #work", 1}}},
        {"invalid_utf8_passed_on", "caf\xe9\n", 0, OK_PLAIN, {{"caf\xe9", 1}}},
        {"nul_byte", "ann@example.org\nbob\0@example.org\n", 33, PARSE_AT(2), {{NULL, 0}}},
        {"nul_byte_after_crlf", "a\r\nb\r\n\0", 7, PARSE_AT(3), {{NULL, 0}}},
};

static const file_case cases_csv[] = {
        {"first_column",
         "+1 415 555 0100,Ann\nann@example.org,Ann\n",
         0,
         OK_CSV,
         {{"+1 415 555 0100", 1}, {"ann@example.org", 2}}},
        {"header_without_contact_column_is_data",
         "Name,Number\nAnn,415\n",
         0,
         OK_CSV,
         {{"Name", 1}, {"Ann", 2}}},
        {"header_phone",
         "Name,Phone\nAnn,+1 415 555 0100\nBob,\n",
         0,
         OK_CSV,
         {{"+1 415 555 0100", 2}}},
        {"header_several_columns",
         "Name,Email,Mobile Phone,Notes\nAnn,ann@example.org,(415) 555-0100,x\n"
         "Bob,,415.555.0101,\n",
         0,
         OK_CSV,
         {{"ann@example.org", 2}, {"(415) 555-0100", 2}, {"415.555.0101", 3}}},
        {"header_case_and_hyphen",
         "NAME,E-MAIL,TEL\nAnn,Ann@Example.org,1\n",
         0,
         OK_CSV,
         {{"Ann@Example.org", 2}, {"1", 2}}},
        {"header_single_column", "phone\n+1 415 555 0100\n", 0, OK_CSV, {{"+1 415 555 0100", 2}}},
        {"header_single_quoted_column",
         "\"E-mail Address\"\nann@example.org\n",
         0,
         OK_CSV,
         {{"ann@example.org", 2}}},
        {"google_export",
         "Name,Phone 1 - Type,Phone 1 - Value,E-mail 1 - Type,E-mail 1 - Value\n"
         "Ann,Mobile,+1 415 555 0100,Home,ann@example.org\n",
         0,
         OK_CSV,
         {{"+1 415 555 0100", 2}, {"ann@example.org", 2}}},
        {"outlook_display_name_not_taken",
         "First Name,E-mail Address,E-mail Display Name,Business Phone\n"
         "Ann,ann@example.org,Ann (ann@example.org),415 555 0100\n",
         0,
         OK_CSV,
         {{"ann@example.org", 2}, {"415 555 0100", 2}}},
        {"quoted_fields",
         "Name,Phone\n\"Smith, Ann\",\"+1 (415) 555-0100\"\n",
         0,
         OK_CSV,
         {{"+1 (415) 555-0100", 2}}},
        {"doubled_quotes",
         "\"say \"\"hi\"\"\",x\n\"\"\"\",y\n",
         0,
         OK_CSV,
         {{"say \"hi\"", 1}, {"\"", 2}}},
        {"line_breaks_in_quotes",
         "Name,Phone\n\"Ann\nSmith\",\"+1 415\n555 0100\"\nBob,415 555 0101\n",
         0,
         OK_CSV,
         {{"+1 415\n555 0100", 3}, {"415 555 0101", 5}}},
        {"crlf",
         "Name,Phone\r\nAnn,+1 415 555 0100\r\nBob,+1 415 555 0101",
         0,
         OK_CSV,
         {{"+1 415 555 0100", 2}, {"+1 415 555 0101", 3}}},
        {"blank_records_skipped", "\n\nName,Phone\n\n,\n \t, \nAnn,1\n", 0, OK_CSV, {{"1", 7}}},
        {"short_and_long_rows",
         "Name,Phone,Email\nAnn\nBob,1\nCid,,c@example.org,extra\n",
         0,
         OK_CSV,
         {{"1", 3}, {"c@example.org", 4}}},
        {"blanks_around_quotes",
         "Phone, Email\n \"1\" , \"x@example.org\"\t\n",
         0,
         OK_CSV,
         {{"1", 2}, {"x@example.org", 2}}},
        {"bare_quote_inside_unquoted", "5\" screen,x\n", 0, OK_CSV, {{"5\" screen", 1}}},
        {"byte_order_mark", "\xef\xbb\xbfPhone,Name\n1,Ann\n", 0, OK_CSV, {{"1", 2}}},
        {"empty_quoted_cell_skipped", "Phone\n\"\"\n\" \"\n2\n", 0, OK_CSV, {{"2", 4}}},
        {"unterminated_quote", "Name,Phone\nAnn,\"+1 415\n\n", 0, PARSE_AT(2), {{NULL, 0}}},
        {"unterminated_quote_later", "a,b\nc,d\ne,\"f\ng\nh", 0, PARSE_AT(3), {{NULL, 0}}},
        {"text_after_closing_quote", "Name,Phone\nAnn,\"1\"x\n", 0, PARSE_AT(2), {{NULL, 0}}},
        {"text_after_multiline_quote", "a,b\n\"c\nd\"e,f\n", 0, PARSE_AT(3), {{NULL, 0}}},
};

static const file_case cases_vcard[] = {
        {"vcard3",
         "BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nTEL;TYPE=CELL:+1 415 555 0100\n"
         "EMAIL;TYPE=INTERNET:ann@example.org\nEND:VCARD\n",
         0,
         OK_VCARD,
         {{"+1 415 555 0100", 4}, {"ann@example.org", 5}}},
        {"vcard4_uri",
         "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Bob\r\nTEL;VALUE=uri;TYPE=cell:tel:+1-415-555-0101\r\n"
         "END:VCARD\r\n",
         0,
         OK_VCARD,
         {{"tel:+1-415-555-0101", 4}}},
        {"names_any_case_and_groups",
         "begin:vcard\nitem1.tel;type=pref:1\nitem1.X-ABLabel:Mobile\nEmail:a@example.org\n"
         "x-y.EMAIL:b@example.org\nEnd:VCard\n",
         0,
         OK_VCARD,
         {{"1", 2}, {"a@example.org", 4}, {"b@example.org", 5}}},
        {"folded_lines",
         "BEGIN:VCARD\r\nVERSION:3.0\r\nTEL;TYPE=CELL:+1 415\r\n  555 0100\r\nEM\r\n "
         "AIL:ann@exa\r\n"
         "\tmple.org\r\nEND:VCARD\r\n",
         0,
         OK_VCARD,
         {{"+1 415 555 0100", 3}, {"ann@example.org", 5}}},
        {"folded_lf_only",
         "BEGIN:VCARD\nTEL:+1\n 415\n 5550100\nEND:VCARD",
         0,
         OK_VCARD,
         {{"+14155550100", 2}}},
        {"escapes",
         "BEGIN:VCARD\nEMAIL:a\\,b\\;c\\\\d@example.org\nTEL:1\\n2\\N3\\q\\\nEND:VCARD\n",
         0,
         OK_VCARD,
         {{"a,b;c\\d@example.org", 2}, {"1\n2\n3\\q\\", 3}}},
        {"quoted_parameters",
         "BEGIN:VCARD\nTEL;TYPE=\"voice,cell\";X-LABEL=\"a:b\":+1 415 555 0100\nEND:VCARD\n",
         0,
         OK_VCARD,
         {{"+1 415 555 0100", 2}}},
        {"several_cards_blank_lines_between",
         "\xef\xbb\xbf\n  \nBEGIN:VCARD\nTEL:1\nEND:VCARD\n\n\nBEGIN:VCARD\nVERSION:4.0\n"
         "EMAIL:b@example.org\nEND:VCARD\n\n",
         0,
         OK_VCARD,
         {{"1", 4}, {"b@example.org", 10}}},
        {"other_properties_ignored",
         "BEGIN:VCARD\nVERSION:3.0\nN:Ann;;;\nNOTE:TEL:123\\nEMAIL:x@example.org\n"
         "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQ\n SkZJRg==\nADR:;;TEL:5;;;\nTELX:9\n"
         "X-TEL:8\nTEL:7\nEND:VCARD\n",
         0,
         OK_VCARD,
         {{"7", 10}}},
        {"unfolded_base64_ignored",
         "BEGIN:VCARD\nVERSION:2.1\nPHOTO;ENCODING=BASE64;TYPE=JPEG:\nAAAABBBBCCCC\nDDDDEEEE==\n\n"
         "TEL;CELL:+1 415 555 0100\nEND:VCARD\n",
         0,
         OK_VCARD,
         {{"+1 415 555 0100", 7}}},
        {"empty_values_skipped",
         "BEGIN:VCARD\nTEL:\nEMAIL;TYPE=home:  \nTEL:2\nEND:VCARD\n",
         0,
         OK_VCARD,
         {{"2", 4}}},
        {"value_with_colons_and_semicolons",
         "BEGIN:VCARD\nTEL;VALUE=uri:tel:+1-415-555-0100;ext=5\nEND:VCARD\n",
         0,
         OK_VCARD,
         {{"tel:+1-415-555-0100;ext=5", 2}}},
        {"other_object_inside_card",
         "BEGIN:VCARD\nBEGIN:VCALENDAR\nEND:VCALENDAR\nTEL:3\nEND:VCARD\n",
         0,
         OK_VCARD,
         {{"3", 4}}},
        {"begin_with_blanks", "  begin:vcard  \nTEL:1\nEND:VCARD\n", 0, OK_VCARD, {{"1", 2}}},
        {"end_without_begin", "BEGIN:VCARD\nEND:VCARD\nEND:VCARD\n", 0, PARSE_AT(3), {{NULL, 0}}},
        {"nested_begin",
         "BEGIN:VCARD\nBEGIN:VCARD\nEND:VCARD\nEND:VCARD\n",
         0,
         PARSE_AT(2),
         {{NULL, 0}}},
        {"card_left_open", "BEGIN:VCARD\nTEL:1\n", 0, PARSE_AT(1), {{NULL, 0}}},
        {"second_card_left_open",
         "BEGIN:VCARD\nTEL:1\nEND:VCARD\nBEGIN:VCARD\nTEL:2\n",
         0,
         PARSE_AT(4),
         {{NULL, 0}}},
        {"property_outside_card", "BEGIN:VCARD\nEND:VCARD\nTEL:1\n", 0, PARSE_AT(3), {{NULL, 0}}},
        {"text_outside_card", "BEGIN:VCARD\nEND:VCARD\nhello\n", 0, PARSE_AT(3), {{NULL, 0}}},
        {"other_begin_outside_card",
         "BEGIN:VCARD\nEND:VCARD\nBEGIN:VCALENDAR\n",
         0,
         PARSE_AT(3),
         {{NULL, 0}}},
        {"tel_with_open_parameter_quote",
         "BEGIN:VCARD\nVERSION:3.0\nTEL;TYPE=\"cell:+1 415 555 0100\nEND:VCARD\n",
         0,
         PARSE_AT(3),
         {{NULL, 0}}},
        {"error_line_of_folded_start",
         "BEGIN:VCARD\nEND:VCARD\nTEL:1\n 2\n 3\n",
         0,
         PARSE_AT(3),
         {{NULL, 0}}},
};

static size_t
file_len(const file_case *c)
{
	return c->len ? c->len : strlen(c->text);
}

/* Parses one file; returns 1 if it gave what the table says. */
static int
run_file_case(const file_case *c)
{
	/* Not NULL, so that the test sees contacts_parse() clear it. */
	static char poison;
	contact_list *list = (contact_list *)(void *)&poison;
	unsigned line = 12345;
	veil_err err = contacts_parse(c->text, file_len(c), &list, &line);
	int ok = 1;

	if (err != c->want_err) {
		printf("# %s: got %s, want %s (line %u)\n", c->name, veil_strerror(err),
		       veil_strerror(c->want_err), line);
		ok = 0;
		goto out;
	}
	if (err != VEIL_OK) {
		if (list != NULL || line != c->want_line) {
			printf("# %s: error line %u, want %u\n", c->name, line, c->want_line);
			ok = 0;
		}
		goto out;
	}
	if (line != 0 || contacts_format_of(list) != c->want_format) {
		printf("# %s: format %s\n", c->name,
		       contacts_format_name(contacts_format_of(list)));
		ok = 0;
	}
	size_t want_count = 0;
	while (want_count < MAX_WANT && c->want[want_count].input != NULL)
		want_count++;
	if (contacts_count(list) != want_count) {
		printf("# %s: %zu entries, want %zu\n", c->name, contacts_count(list), want_count);
		ok = 0;
	}
	for (size_t i = 0; i < want_count && i < contacts_count(list); i++) {
		const contact_entry *e = contacts_get(list, i);
		const want_entry *w = &c->want[i];
		if (e->input_len != strlen(w->input) ||
		    memcmp(e->input, w->input, e->input_len) != 0 ||
		    e->input[e->input_len] != '\0' || e->line != w->line) {
			printf("# %s: entry %zu is \"%s\" on line %u, want \"%s\" on line %u\n",
			       c->name, i, e->input, e->line, w->input, w->line);
			ok = 0;
		}
	}
	if (contacts_get(list, want_count) != NULL)
		ok = 0;
out:
	if (err == VEIL_OK)
		contacts_free(list);
	return ok;
}

static void
run_file_table(const file_case *table, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ok = run_file_case(&table[i]);
		if (!ok)
			test_fail(__FILE__, __LINE__, table[i].name);
		CHECK(ok);
	}
}

static void
case_plain(void)
{
	run_file_table(cases_plain, TEST_COUNT(cases_plain));
}

static void
case_csv(void)
{
	run_file_table(cases_csv, TEST_COUNT(cases_csv));
}

static void
case_vcard(void)
{
	run_file_table(cases_vcard, TEST_COUNT(cases_vcard));
}

static void
case_arguments(void)
{
	contact_list *list = NULL;
	unsigned line = 7;

	CHECK(contacts_parse("a", 1, NULL, &line) == VEIL_ERR_ARGUMENT);
	CHECK(line == 0);
	CHECK(contacts_parse(NULL, 1, &list, NULL) == VEIL_ERR_ARGUMENT);
	CHECK(list == NULL);
	CHECK(contacts_parse(NULL, 0, &list, NULL) == VEIL_OK);
	CHECK(contacts_count(list) == 0);
	contacts_free(list);
	/* Only len bytes are read. */
	CHECK(contacts_parse("a\nb", 1, &list, NULL) == VEIL_OK);
	CHECK(contacts_count(list) == 1);
	contacts_free(list);

	contacts_free(NULL);
	CHECK(contacts_count(NULL) == 0);
	CHECK(contacts_get(NULL, 0) == NULL);
	CHECK(contacts_format_of(NULL) == CONTACTS_PLAIN);
	CHECK(strcmp(contacts_format_name(CONTACTS_PLAIN), "plain") == 0);
	CHECK(strcmp(contacts_format_name(CONTACTS_CSV), "csv") == 0);
	CHECK(strcmp(contacts_format_name(CONTACTS_VCARD), "vcard") == 0);
	CHECK(strcmp(contacts_format_name((contacts_format)99), "unknown") == 0);
}

/* Parses text and checks for err on line; frees what a success returns. */
static void
check_parse(const char *text, size_t len, veil_err want, unsigned want_line, size_t want_count)
{
	contact_list *list = NULL;
	unsigned line = 0;
	veil_err err = contacts_parse(text, len, &list, &line);
	CHECK(err == want);
	CHECK(line == want_line);
	if (err == VEIL_OK)
		CHECK(contacts_count(list) == want_count);
	else
		CHECK(list == NULL);
	contacts_free(list);
}

static char *
xmalloc(size_t n)
{
	char *p = malloc(n);
	if (p == NULL)
		abort();
	return p;
}

static void
case_file_size_cap(void)
{
	/* Lines of "1\n": the size is checked first, so no other cap trips. */
	size_t len = CONTACTS_MAX_SIZE + 1;
	char *text = xmalloc(len);
	memset(text, '#', len);
	check_parse(text, len, VEIL_ERR_LIMIT, 0, 0);
	free(text);
}

static void
case_entry_cap(void)
{
	size_t len = 2 * ((size_t)CONTACTS_MAX_ENTRIES + 1);
	char *text = xmalloc(len);
	for (size_t i = 0; i < len; i += 2)
		memcpy(text + i, "1\n", 2);
	check_parse(text, len - 2, VEIL_OK, 0, CONTACTS_MAX_ENTRIES);
	check_parse(text, len, VEIL_ERR_LIMIT, CONTACTS_MAX_ENTRIES + 1, 0);
	free(text);
}

static void
case_line_cap(void)
{
	size_t len = 2 + CONTACTS_MAX_LINE + 1 + 2;
	char *text = xmalloc(len);
	/* "1\n" then a comment line of CONTACTS_MAX_LINE bytes, then "2\n". */
	memcpy(text, "1\n", 2);
	memset(text + 2, '#', CONTACTS_MAX_LINE);
	memcpy(text + 2 + CONTACTS_MAX_LINE, "\n2", 2);
	check_parse(text, 2 + CONTACTS_MAX_LINE + 2, VEIL_OK, 0, 2);
	text[2 + CONTACTS_MAX_LINE] = '#';
	memcpy(text + 2 + CONTACTS_MAX_LINE + 1, "\n2", 2);
	check_parse(text, len, VEIL_ERR_LIMIT, 2, 0);
	free(text);
}

static void
case_field_cap(void)
{
	char text[CONTACTS_MAX_FIELD + 16];
	memset(text, '5', sizeof(text));
	memcpy(text, "a\n  ", 4);
	/* Trimmed first: the blanks do not count. */
	memcpy(text + 4 + CONTACTS_MAX_FIELD, "  \n", 3);
	check_parse(text, 4 + CONTACTS_MAX_FIELD + 3, VEIL_OK, 0, 2);
	text[4 + CONTACTS_MAX_FIELD] = '5';
	check_parse(text, 4 + CONTACTS_MAX_FIELD + 3, VEIL_ERR_LIMIT, 2, 0);
}

/* An unfolded vCard line and a CSV record are capped as a whole. */
static void
case_logical_line_cap(void)
{
	const char *head = "BEGIN:VCARD\nNOTE:";
	size_t chunk = 1000, chunks = CONTACTS_MAX_LINE / chunk + 1;
	size_t len = strlen(head) + chunks * (chunk + 2) + 64;
	char *text = xmalloc(len);
	size_t at = strlen(head);
	memcpy(text, head, at);
	for (size_t i = 0; i < chunks; i++) {
		memset(text + at, 'x', chunk);
		at += chunk;
		memcpy(text + at, "\n ", 2);
		at += 2;
	}
	memcpy(text + at, "x\nEND:VCARD\n", 12);
	at += 12;
	check_parse(text, at, VEIL_ERR_LIMIT, 2, 0);

	/* A quoted CSV cell spanning many lines. */
	at = 0;
	memcpy(text, "Phone\n\"", 7);
	at = 7;
	for (size_t i = 0; i < chunks; i++) {
		memset(text + at, 'y', chunk);
		at += chunk;
		text[at++] = '\n';
	}
	memcpy(text + at, "\"\n", 2);
	at += 2;
	check_parse(text, at, VEIL_ERR_LIMIT, 2, 0);
	free(text);
}

static void
case_column_cap(void)
{
	size_t len = 2 * (CONTACTS_MAX_COLUMNS + 1);
	char *text = xmalloc(len);
	for (size_t i = 0; i < len; i += 2)
		memcpy(text + i, "1,", 2);
	/* CONTACTS_MAX_COLUMNS fields: that many "1," less the last comma. */
	check_parse(text, 2 * CONTACTS_MAX_COLUMNS - 1, VEIL_OK, 0, 1);
	check_parse(text, len - 1, VEIL_ERR_LIMIT, 1, 0);
	free(text);
}

/* The sample address book the demo uses, read and normalized (region US). */
static const struct {
	unsigned line;
	normalize_status status;
	const char *handle;
} sample_want[] = {
        {6, NORMALIZE_OK, "tel:+14155550100"},
        {7, NORMALIZE_OK, "mailto:ann@example.org"},
        {13, NORMALIZE_OK, "tel:+14155550101"},
        {19, NORMALIZE_OK, "tel:+14155550102"},
        {26, NORMALIZE_OK, "tel:+12125550103"},
        {27, NORMALIZE_OK, "tel:+12125550104"},
        {28, NORMALIZE_OK, "mailto:dan.okafor@example.com"},
        {36, NORMALIZE_OK, "tel:+16465550105"},
        {43, NORMALIZE_OK, "tel:+17185550106"},
        {50, NORMALIZE_NOT_A_NUMBER, NULL},
        {55, NORMALIZE_INVALID_NUMBER, NULL},
        {60, NORMALIZE_OK, "mailto:ivan@example.net"},
        {66, NORMALIZE_OK, "tel:+442079460018"},
        {67, NORMALIZE_OK, "mailto:judy.hughes@example.co.uk"},
        {73, NORMALIZE_OK, "tel:+13125550107"},
        {78, NORMALIZE_OK, "tel:+13055550108"},
        {84, NORMALIZE_OK, "mailto:olivia.quinn@example.org"},
        {90, NORMALIZE_OK, "tel:+14155550109"},
        {96, NORMALIZE_OK, "tel:+12065550110"},
        {102, NORMALIZE_OK, "mailto:sybil.fontaine-longaddress@example.com"},
        {108, NORMALIZE_OK, "tel:+16175550111"},
        {114, NORMALIZE_OK, "tel:+15035550112"},
        {120, NORMALIZE_OK, "tel:+17205550113"},
        {127, NORMALIZE_OK, "tel:+442079460019"},
        {137, NORMALIZE_OK, "tel:+17025550114"},
        {142, NORMALIZE_OK, "mailto:yolanda@mail.example.org"},
        {143, NORMALIZE_OK, "tel:+14045550115"},
        {149, NORMALIZE_OK, "tel:+12135550116"},
        {155, NORMALIZE_OK, "tel:+14155550100"},
        {161, NORMALIZE_OK, "tel:+19175550117"},
        {162, NORMALIZE_OK, "mailto:kim.lee@example.net"},
};

static void
case_sample_address_book(void)
{
	REQUIRE(test_argc >= 1);
	size_t len;
	char *text = test_read_file(test_argv[0], &len);
	contact_list *list = NULL;
	unsigned line;
	REQUIRE(contacts_parse(text, len, &list, &line) == VEIL_OK);
	CHECK(contacts_format_of(list) == CONTACTS_VCARD);
	CHECK(contacts_count(list) == TEST_COUNT(sample_want));
	for (size_t i = 0; i < contacts_count(list) && i < TEST_COUNT(sample_want); i++) {
		const contact_entry *e = contacts_get(list, i);
		char out[NORMALIZE_MAX_HANDLE];
		size_t out_len;
		normalize_status s =
		        normalize_handle(e->input, e->input_len, "US", out, sizeof(out), &out_len);
		int ok = e->line == sample_want[i].line && s == sample_want[i].status &&
		         (s != NORMALIZE_OK || strcmp(out, sample_want[i].handle) == 0);
		if (!ok)
			printf("# entry %zu line %u \"%s\": %s \"%s\"\n", i, e->line, e->input,
			       normalize_strerror(s), out);
		CHECK(ok);
	}
	contacts_free(list);
	free(text);
}

static const test_case cases[] = {
        {"plain lines", case_plain},
        {"csv", case_csv},
        {"vcard", case_vcard},
        {"arguments", case_arguments},
        {"file size cap", case_file_size_cap},
        {"entry cap", case_entry_cap},
        {"line cap", case_line_cap},
        {"field cap", case_field_cap},
        {"logical line cap", case_logical_line_cap},
        {"column cap", case_column_cap},
        {"sample address book", case_sample_address_book},
};

int
main(int argc, char **argv)
{
	return test_main(argc, argv, cases, TEST_COUNT(cases));
}

#include "contacts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "harness.h"
#include "normalize.h"

/*
 * A file and what parsing it gives, as text: its format on a line, then
 * each entry as "line: input" on a line of its own, in order; or the
 * error and its line ("malformed input on line 2").
 */
typedef struct file_case {
	const char *name;
	const char *text;
	size_t len;
	const char *want;
} file_case;

/* A string literal and its length, NUL bytes and all. */
#define TEXT(literal) literal, sizeof(literal) - 1

static const file_case cases_plain[] = {
        {"empty", TEXT(""), "plain\n"},
        {"blank_lines_only", TEXT(" \n\t\n\r\n"), "plain\n"},
        {"comments_only", TEXT("# contacts\n  # more\n"), "plain\n"},
        {"one_per_line", TEXT("+1 415 555 0100\nann@example.org\n"),
         "plain\n1: +1 415 555 0100\n2: ann@example.org\n"},
        {"trimmed_with_comments_and_blanks",
         TEXT("# my list\n\n  (415) 555-0100  \n\t# indented comment\nbob@example.com"),
         "plain\n3: (415) 555-0100\n5: bob@example.com\n"},
        {"crlf", TEXT("415.555.0100\r\n\r\n+44 20 7946 0018\r\n"),
         "plain\n1: 415.555.0100\n3: +44 20 7946 0018\n"},
        {"lone_cr", TEXT("one\rtwo\r\rthree"), "plain\n1: one\n2: two\n4: three\n"},
        {"byte_order_mark", TEXT("\xef\xbb\xbf+1 415 555 0100\n"), "plain\n1: +1 415 555 0100\n"},
        {"comment_with_comma_stays_plain", TEXT("# name, number\n415 555 0100\n"),
         "plain\n2: 415 555 0100\n"},
        {"semicolons_are_text", TEXT("Ann;415 555 0100\n"), "plain\n1: Ann;415 555 0100\n"},
        {"label_with_colon_is_plain", TEXT("Mobile: 415 555 0100\nann@example.org\n"),
         "plain\n1: Mobile: 415 555 0100\n2: ann@example.org\n"},
        {"quotes_kept", TEXT("\"415 555 0100\"\n"), "plain\n1: \"415 555 0100\"\n"},
        {"hash_inside_kept", TEXT("415 555 0100 #work\n"), "plain\n1: 415 555 0100 #work\n"},
        {"invalid_utf8_passed_on", TEXT("caf\xe9\n"), "plain\n1: caf\xe9\n"},
        {"nul_byte", TEXT("ann@example.org\nbob\0@example.org\n"), "malformed input on line 2"},
        {"nul_byte_after_crlf", TEXT("a\r\nb\r\n\0"), "malformed input on line 3"},
};

static const file_case cases_csv[] = {
        {"first_column", TEXT("+1 415 555 0100,Ann\nann@example.org,Ann\n"),
         "csv\n1: +1 415 555 0100\n2: ann@example.org\n"},
        {"header_without_contact_column_is_data", TEXT("Name,Number\nAnn,415\n"),
         "csv\n1: Name\n2: Ann\n"},
        {"header_phone", TEXT("Name,Phone\nAnn,+1 415 555 0100\nBob,\n"),
         "csv\n2: +1 415 555 0100\n"},
        {"header_several_columns",
         TEXT("Name,Email,Mobile Phone,Notes\nAnn,ann@example.org,(415) 555-0100,x\n"
              "Bob,,415.555.0101,\n"),
         "csv\n2: ann@example.org\n2: (415) 555-0100\n3: 415.555.0101\n"},
        {"header_case_and_hyphen", TEXT("NAME,E-MAIL,TEL\nAnn,Ann@Example.org,1\n"),
         "csv\n2: Ann@Example.org\n2: 1\n"},
        {"header_single_column", TEXT("phone\n+1 415 555 0100\n"), "csv\n2: +1 415 555 0100\n"},
        {"header_single_quoted_column", TEXT("\"E-mail Address\"\nann@example.org\n"),
         "csv\n2: ann@example.org\n"},
        {"google_export",
         TEXT("Name,Phone 1 - Type,Phone 1 - Value,E-mail 1 - Type,E-mail 1 - Value\n"
              "Ann,Mobile,+1 415 555 0100,Home,ann@example.org\n"),
         "csv\n2: +1 415 555 0100\n2: ann@example.org\n"},
        {"outlook_display_name_not_taken",
         TEXT("First Name,E-mail Address,E-mail Display Name,Business Phone\n"
              "Ann,ann@example.org,Ann (ann@example.org),415 555 0100\n"),
         "csv\n2: ann@example.org\n2: 415 555 0100\n"},
        {"quoted_fields", TEXT("Name,Phone\n\"Smith, Ann\",\"+1 (415) 555-0100\"\n"),
         "csv\n2: +1 (415) 555-0100\n"},
        {"doubled_quotes", TEXT("\"say \"\"hi\"\"\",x\n\"\"\"\",y\n"),
         "csv\n1: say \"hi\"\n2: \"\n"},
        {"line_breaks_in_quotes",
         TEXT("Name,Phone\n\"Ann\nSmith\",\"+1 415\n555 0100\"\nBob,415 555 0101\n"),
         "csv\n3: +1 415\n555 0100\n5: 415 555 0101\n"},
        {"crlf", TEXT("Name,Phone\r\nAnn,+1 415 555 0100\r\nBob,+1 415 555 0101"),
         "csv\n2: +1 415 555 0100\n3: +1 415 555 0101\n"},
        {"blank_records_skipped", TEXT("\n\nName,Phone\n\n,\n \t, \nAnn,1\n"), "csv\n7: 1\n"},
        {"short_and_long_rows", TEXT("Name,Phone,Email\nAnn\nBob,1\nCid,,c@example.org,extra\n"),
         "csv\n3: 1\n4: c@example.org\n"},
        {"blanks_around_quotes", TEXT("Phone, Email\n \"1\" , \"x@example.org\"\t\n"),
         "csv\n2: 1\n2: x@example.org\n"},
        {"bare_quote_inside_unquoted", TEXT("5\" screen,x\n"), "csv\n1: 5\" screen\n"},
        {"byte_order_mark", TEXT("\xef\xbb\xbfPhone,Name\n1,Ann\n"), "csv\n2: 1\n"},
        {"empty_quoted_cell_skipped", TEXT("Phone\n\"\"\n\" \"\n2\n"), "csv\n4: 2\n"},
        {"unterminated_quote", TEXT("Name,Phone\nAnn,\"+1 415\n\n"), "malformed input on line 2"},
        {"unterminated_quote_later", TEXT("a,b\nc,d\ne,\"f\ng\nh"), "malformed input on line 3"},
        {"text_after_closing_quote", TEXT("Name,Phone\nAnn,\"1\"x\n"), "malformed input on line 2"},
        {"text_after_multiline_quote", TEXT("a,b\n\"c\nd\"e,f\n"), "malformed input on line 3"},
};

static const file_case cases_vcard[] = {
        {"vcard3",
         TEXT("BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nTEL;TYPE=CELL:+1 415 555 0100\n"
              "EMAIL;TYPE=INTERNET:ann@example.org\nEND:VCARD\n"),
         "vcard\n4: +1 415 555 0100\n5: ann@example.org\n"},
        {"vcard4_uri",
         TEXT("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Bob\r\nTEL;VALUE=uri;TYPE=cell:tel:+1-415-555-"
              "0101\r\n"
              "END:VCARD\r\n"),
         "vcard\n4: tel:+1-415-555-0101\n"},
        {"names_any_case_and_groups",
         TEXT("begin:vcard\nitem1.tel;type=pref:1\nitem1.X-ABLabel:Mobile\nEmail:a@example.org\n"
              "x-y.EMAIL:b@example.org\nEnd:VCard\n"),
         "vcard\n2: 1\n4: a@example.org\n5: b@example.org\n"},
        {"folded_lines",
         TEXT("BEGIN:VCARD\r\nVERSION:3.0\r\nTEL;TYPE=CELL:+1 415\r\n  555 0100\r\nEM\r\n "
              "AIL:ann@exa\r\n"
              "\tmple.org\r\nEND:VCARD\r\n"),
         "vcard\n3: +1 415 555 0100\n5: ann@example.org\n"},
        {"folded_lf_only", TEXT("BEGIN:VCARD\nTEL:+1\n 415\n 5550100\nEND:VCARD"),
         "vcard\n2: +14155550100\n"},
        {"escapes",
         TEXT("BEGIN:VCARD\nEMAIL:a\\,b\\;c\\\\d@example.org\nTEL:1\\n2\\N3\\q\\\nEND:VCARD\n"),
         "vcard\n2: a,b;c\\d@example.org\n3: 1\n2\n3\\q\\\n"},
        {"quoted_parameters",
         TEXT("BEGIN:VCARD\nTEL;TYPE=\"voice,cell\";X-LABEL=\"a:b\":+1 415 555 0100\nEND:VCARD\n"),
         "vcard\n2: +1 415 555 0100\n"},
        {"several_cards_blank_lines_between",
         TEXT("\xef\xbb\xbf\n  \nBEGIN:VCARD\nTEL:1\nEND:VCARD\n\n\nBEGIN:VCARD\nVERSION:4.0\n"
              "EMAIL:b@example.org\nEND:VCARD\n\n"),
         "vcard\n4: 1\n10: b@example.org\n"},
        {"other_properties_ignored",
         TEXT("BEGIN:VCARD\nVERSION:3.0\nN:Ann;;;\nNOTE:TEL:123\\nEMAIL:x@example.org\n"
              "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQ\n SkZJRg==\nADR:;;TEL:5;;;\nTELX:9\n"
              "X-TEL:8\nTEL:7\nEND:VCARD\n"),
         "vcard\n10: 7\n"},
        {"unfolded_base64_ignored",
         TEXT("BEGIN:VCARD\nVERSION:2.1\nPHOTO;ENCODING=BASE64;TYPE=JPEG:\nAAAABBBBCCCC\nDDDDEEEE=="
              "\n\n"
              "TEL;CELL:+1 415 555 0100\nEND:VCARD\n"),
         "vcard\n7: +1 415 555 0100\n"},
        {"empty_values_skipped", TEXT("BEGIN:VCARD\nTEL:\nEMAIL;TYPE=home:  \nTEL:2\nEND:VCARD\n"),
         "vcard\n4: 2\n"},
        {"value_with_colons_and_semicolons",
         TEXT("BEGIN:VCARD\nTEL;VALUE=uri:tel:+1-415-555-0100;ext=5\nEND:VCARD\n"),
         "vcard\n2: tel:+1-415-555-0100;ext=5\n"},
        {"other_object_inside_card",
         TEXT("BEGIN:VCARD\nBEGIN:VCALENDAR\nEND:VCALENDAR\nTEL:3\nEND:VCARD\n"), "vcard\n4: 3\n"},
        {"begin_with_blanks", TEXT("  begin:vcard  \nTEL:1\nEND:VCARD\n"), "vcard\n2: 1\n"},
        {"end_without_begin", TEXT("BEGIN:VCARD\nEND:VCARD\nEND:VCARD\n"),
         "malformed input on line 3"},
        {"nested_begin", TEXT("BEGIN:VCARD\nBEGIN:VCARD\nEND:VCARD\nEND:VCARD\n"),
         "malformed input on line 2"},
        {"card_left_open", TEXT("BEGIN:VCARD\nTEL:1\n"), "malformed input on line 1"},
        {"second_card_left_open", TEXT("BEGIN:VCARD\nTEL:1\nEND:VCARD\nBEGIN:VCARD\nTEL:2\n"),
         "malformed input on line 4"},
        {"property_outside_card", TEXT("BEGIN:VCARD\nEND:VCARD\nTEL:1\n"),
         "malformed input on line 3"},
        {"text_outside_card", TEXT("BEGIN:VCARD\nEND:VCARD\nhello\n"), "malformed input on line 3"},
        {"other_begin_outside_card", TEXT("BEGIN:VCARD\nEND:VCARD\nBEGIN:VCALENDAR\n"),
         "malformed input on line 3"},
        {"tel_with_open_parameter_quote",
         TEXT("BEGIN:VCARD\nVERSION:3.0\nTEL;TYPE=\"cell:+1 415 555 0100\nEND:VCARD\n"),
         "malformed input on line 3"},
        {"error_line_of_folded_start", TEXT("BEGIN:VCARD\nEND:VCARD\nTEL:1\n 2\n 3\n"),
         "malformed input on line 3"},
};

/* Parses one file; returns 1 if it gave what the table says. */
static int
check_file(const void *row)
{
	const file_case *c = row;
	/* Not NULL, so that the test sees contacts_parse() clear it. */
	static char poison;
	contact_list *list = (contact_list *)(void *)&poison;
	unsigned line = 12345;
	const veil_err err = contacts_parse(c->text, c->len, &list, &line);
	buf got;
	buf_init(&got);
	int ok = 1;
	if (err != VEIL_OK) {
		buf_printf(&got, "%s on line %u", veil_strerror(err), line);
		ok = list == NULL;
	} else {
		buf_printf(&got, "%s\n", contacts_format_name(contacts_format_of(list)));
		for (size_t i = 0; i < contacts_count(list); i++) {
			const contact_entry *e = contacts_get(list, i);
			buf_printf(&got, "%u: ", e->line);
			buf_append(&got, e->input, e->input_len);
			buf_append_byte(&got, '\n');
			ok &= e->input[e->input_len] == '\0';
		}
		ok &= line == 0 && contacts_get(list, contacts_count(list)) == NULL;
		contacts_free(list);
	}
	ok &= buf_len(&got) == strlen(c->want) &&
	      memcmp(buf_data(&got), c->want, buf_len(&got)) == 0;
	if (!ok)
		printf("# %s: got \"%s\"\n", c->name, buf_data(&got));
	buf_free(&got);
	return ok;
}

TEST_ROWS_CASE(case_plain, cases_plain, check_file)
TEST_ROWS_CASE(case_csv, cases_csv, check_file)
TEST_ROWS_CASE(case_vcard, cases_vcard, check_file)

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
        {"arguments", case_arguments},   {"file size cap", case_file_size_cap},
        {"entry cap", case_entry_cap},   {"line cap", case_line_cap},
        {"field cap", case_field_cap},   {"logical line cap", case_logical_line_cap},
        {"column cap", case_column_cap}, {"sample address book", case_sample_address_book},
        {"plain lines", case_plain},     {"csv", case_csv},
        {"vcard", case_vcard},
};

TEST_MAIN(cases)

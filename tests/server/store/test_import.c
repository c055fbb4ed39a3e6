/*
 * Import file parsing: single lines as a table of named cases, then whole
 * files (line numbers across parallel slices, order, counts).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "harness.h"
#include "import.h"
#include "proc.h"
#include "server_util.h"

typedef struct line_case {
	const char *name;
	const char *line;
	size_t len; /* 0: strlen(line) */
	const char *region;
	import_status status;
	const char *handle;  /* for IMPORT_RECORD */
	const char *payload; /* NULL: none */
	normalize_status handle_status;
} line_case;

static const line_case line_cases[] = {
        {"international phone", "+1 415 555 0100", 0, NULL, IMPORT_RECORD, "tel:+14155550100", NULL,
         NORMALIZE_OK},
        {"email with payload", "Ann@Example.org,Ann", 0, NULL, IMPORT_RECORD,
         "mailto:ann@example.org", "Ann", NORMALIZE_OK},
        {"national phone with region", "(415) 555-0100,x", 0, "US", IMPORT_RECORD,
         "tel:+14155550100", "x", NORMALIZE_OK},
        {"national phone without region", "(415) 555-0100", 0, NULL, IMPORT_BAD_HANDLE, NULL, NULL,
         NORMALIZE_NEEDS_REGION},
        {"crlf", "+1 415 555 0100,pay\r", 0, NULL, IMPORT_RECORD, "tel:+14155550100", "pay",
         NORMALIZE_OK},
        {"crlf without payload", "ann@example.org\r", 0, NULL, IMPORT_RECORD,
         "mailto:ann@example.org", NULL, NORMALIZE_OK},
        {"empty payload is none", "ann@example.org,", 0, NULL, IMPORT_RECORD,
         "mailto:ann@example.org", NULL, NORMALIZE_OK},
        {"payload keeps later commas and spaces", "ann@example.org, a,b ", 0, NULL, IMPORT_RECORD,
         "mailto:ann@example.org", " a,b ", NORMALIZE_OK},
        {"payload utf-8", "ann@example.org,Zo\xc3\xab \xf0\x9f\x99\x82", 0, NULL, IMPORT_RECORD,
         "mailto:ann@example.org", "Zo\xc3\xab \xf0\x9f\x99\x82", NORMALIZE_OK},
        {"payload of 64 bytes",
         "ann@example.org,0123456789012345678901234567890123456789012345678901234567890123", 0,
         NULL, IMPORT_RECORD, "mailto:ann@example.org",
         "0123456789012345678901234567890123456789012345678901234567890123", NORMALIZE_OK},
        {"payload of 65 bytes",
         "ann@example.org,01234567890123456789012345678901234567890123456789012345678901234", 0,
         NULL, IMPORT_PAYLOAD_TOO_LONG, NULL, NULL, NORMALIZE_OK},
        {"payload with a tab", "ann@example.org,a\tb", 0, NULL, IMPORT_PAYLOAD_CONTROL, NULL, NULL,
         NORMALIZE_OK},
        {"payload with DEL", "ann@example.org,a\x7f", 0, NULL, IMPORT_PAYLOAD_CONTROL, NULL, NULL,
         NORMALIZE_OK},
        {"payload with C1 control", "ann@example.org,a\xc2\x85", 0, NULL, IMPORT_PAYLOAD_CONTROL,
         NULL, NULL, NORMALIZE_OK},
        {"payload with NUL", "ann@example.org,a\0b", 19, NULL, IMPORT_PAYLOAD_CONTROL, NULL, NULL,
         NORMALIZE_OK},
        {"payload with a stray CR", "ann@example.org,a\rb", 0, NULL, IMPORT_PAYLOAD_CONTROL, NULL,
         NULL, NORMALIZE_OK},
        {"payload not utf-8", "ann@example.org,\xff", 0, NULL, IMPORT_PAYLOAD_ENCODING, NULL, NULL,
         NORMALIZE_OK},
        {"payload overlong utf-8", "ann@example.org,\xc0\xaf", 0, NULL, IMPORT_PAYLOAD_ENCODING,
         NULL, NULL, NORMALIZE_OK},
        {"payload surrogate", "ann@example.org,\xed\xa0\x80", 0, NULL, IMPORT_PAYLOAD_ENCODING,
         NULL, NULL, NORMALIZE_OK},
        {"payload truncated utf-8", "ann@example.org,\xe2\x82", 0, NULL, IMPORT_PAYLOAD_ENCODING,
         NULL, NULL, NORMALIZE_OK},
        {"not a handle", "hello there", 0, NULL, IMPORT_BAD_HANDLE, NULL, NULL,
         NORMALIZE_NOT_A_NUMBER},
        {"bad email", "ann@@example.org,x", 0, NULL, IMPORT_BAD_HANDLE, NULL, NULL,
         NORMALIZE_BAD_EMAIL},
        {"empty handle with payload", ",payload", 0, NULL, IMPORT_BAD_HANDLE, NULL, NULL,
         NORMALIZE_EMPTY},
        {"empty line", "", 0, NULL, IMPORT_SKIP, NULL, NULL, NORMALIZE_OK},
        {"blank line", " \t ", 0, NULL, IMPORT_SKIP, NULL, NULL, NORMALIZE_OK},
        {"blank crlf line", "\r", 0, NULL, IMPORT_SKIP, NULL, NULL, NORMALIZE_OK},
        {"comment", "# +1 415 555 0100", 0, NULL, IMPORT_SKIP, NULL, NULL, NORMALIZE_OK},
        {"indented comment", "  #,x", 0, NULL, IMPORT_SKIP, NULL, NULL, NORMALIZE_OK},
};

static void
case_lines(void)
{
	import_line out;
	for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		const line_case *c = &line_cases[i];
		const size_t len = c->len != 0 ? c->len : strlen(c->line);
		import_status s = import_parse_line(c->line, len, c->region, &out);
		test_checks++;
		if (s != c->status || out.status != s || out.handle_status != c->handle_status) {
			printf("# case '%s': status %d (want %d), handle status %d (want %d)\n",
			       c->name, s, c->status, out.handle_status, c->handle_status);
			test_fail(__FILE__, __LINE__, c->name);
			continue;
		}
		if (c->status == IMPORT_RECORD) {
			CHECK(out.handle_len == strlen(c->handle) &&
			      memcmp(out.handle, c->handle, out.handle_len) == 0);
		} else {
			CHECK(out.handle_len == 0);
		}
		if (c->payload != NULL)
			CHECK(out.payload_len == strlen(c->payload) &&
			      memcmp(out.payload, c->payload, out.payload_len) == 0);
		else
			CHECK(out.payload == NULL && out.payload_len == 0);
		const char *reason = import_line_reason(out.status, out.handle_status);
		CHECK(reason != NULL && reason[0] != '\0');
	}
}

static void
case_line_length_cap(void)
{
	import_line out;
	char *line = malloc(IMPORT_MAX_LINE + 2);
	REQUIRE(line != NULL);
	memset(line, 'x', IMPORT_MAX_LINE + 1);
	memcpy(line, "ann@example.org,", 16);
	/* At the cap, the line is read (and its payload is too long). */
	CHECK(import_parse_line(line, IMPORT_MAX_LINE, NULL, &out) == IMPORT_PAYLOAD_TOO_LONG);
	CHECK(import_parse_line(line, IMPORT_MAX_LINE + 1, NULL, &out) == IMPORT_LINE_TOO_LONG);
	CHECK(strcmp(import_line_reason(IMPORT_LINE_TOO_LONG, NORMALIZE_OK), "line too long") == 0);
	/* A handle far above normalize's input cap. */
	memset(line, '1', IMPORT_MAX_LINE);
	CHECK(import_parse_line(line, IMPORT_MAX_LINE, NULL, &out) == IMPORT_BAD_HANDLE);
	CHECK(out.handle_status == NORMALIZE_TOO_LONG);
	free(line);
}

static void
case_reasons_never_echo_input(void)
{
	import_line out;
	static const char secret_line[] = "+1 999 SECRET,payload\xff";
	import_parse_line(secret_line, sizeof(secret_line) - 1, NULL, &out);
	const char *reason = import_line_reason(out.status, out.handle_status);
	CHECK(strstr(reason, "SECRET") == NULL && strstr(reason, "999") == NULL);
	for (int s = IMPORT_RECORD; s <= IMPORT_PAYLOAD_CONTROL; s++)
		CHECK(import_line_reason((import_status)s, NORMALIZE_BAD_EMAIL) != NULL);
	CHECK(strcmp(import_line_reason((import_status)99, NORMALIZE_OK), "unknown error") == 0);
}

/* Bad lines as reported: line numbers in order. */
typedef struct reported {
	uint64_t lines[4096];
	size_t count;
} reported;

static void
collect(void *arg, uint64_t line, const char *reason)
{
	reported *r = arg;
	if (r->count < sizeof(r->lines) / sizeof(r->lines[0]))
		r->lines[r->count++] = line;
	(void)reason;
}

static void
case_file_lines_counts_and_order(void)
{
	static const char text[] = "# header\n"
	                           "+1 415 555 0100,one\n"
	                           "\n"
	                           "bad one\n"
	                           "ann@example.org\r\n"
	                           "(415) 555-0101\n"
	                           "+1 415 555 0100,two"; /* no final newline */
	import_batch *b = NULL;
	import_summary s;
	reported r = {{0}, 0};
	size_t count = 0;
	const import_options reporting = {NULL, 1, collect, &r, NULL, NULL};
	const import_options in_us = {"US", 1, NULL, NULL, NULL, NULL};
	const import_options four_threads = {NULL, 4, collect, &r, NULL, NULL};
	const import_options bad_region = {"XX", 1, NULL, NULL, NULL, NULL};
	REQUIRE(import_parse(text, sizeof(text) - 1, &reporting, &b) == VEIL_OK);
	import_batch_summary(b, &s);
	CHECK(s.lines == 7 && s.records == 3 && s.skipped == 2 && s.bad == 2);
	CHECK(r.count == 2 && r.lines[0] == 4 && r.lines[1] == 6);
	const registry_record *rec = import_batch_records(b, &count);
	REQUIRE(count == 3);
	CHECK(rec[0].handle_len == 16 && memcmp(rec[0].handle, "tel:+14155550100", 16) == 0);
	CHECK(rec[0].payload_len == 3 && memcmp(rec[0].payload, "one", 3) == 0);
	CHECK(rec[1].handle_len == 22 && rec[1].payload == NULL && rec[1].payload_len == 0);
	CHECK(rec[2].payload_len == 3 && memcmp(rec[2].payload, "two", 3) == 0);
	import_batch_free(b);

	/* With a region, the national number is good. */
	REQUIRE(import_parse(text, sizeof(text) - 1, &in_us, &b) == VEIL_OK);
	import_batch_summary(b, &s);
	CHECK(s.records == 4 && s.bad == 1);
	import_batch_free(b);

	REQUIRE(import_parse("", 0, &four_threads, &b) == VEIL_OK);
	import_batch_summary(b, &s);
	CHECK(s.lines == 0 && s.records == 0);
	import_batch_free(b);
	REQUIRE(import_parse("\n", 1, NULL, &b) == VEIL_OK);
	import_batch_summary(b, &s);
	CHECK(s.lines == 1 && s.skipped == 1);
	import_batch_free(b);

	CHECK(import_parse(text, 4, &bad_region, &b) == VEIL_ERR_ARGUMENT && b == NULL);
	CHECK(import_parse(NULL, 4, NULL, &b) == VEIL_ERR_ARGUMENT);
	CHECK(import_parse(text, 4, NULL, NULL) == VEIL_ERR_ARGUMENT);
}

typedef struct parse_progress {
	unsigned calls;
	unsigned monotonic; /* times done went backwards */
	uint64_t last_done, last_lines;
} parse_progress;

static void
on_progress(void *arg, uint64_t done, uint64_t total, uint64_t lines)
{
	parse_progress *p = arg;
	p->monotonic += done < p->last_done || done > total;
	p->last_done = done;
	p->last_lines = lines;
	p->calls++;
}

static void
case_parallel_slices_keep_lines_and_order(void)
{
	/* Large enough to be cut into slices; every 7th line bad. */
	const size_t n = 12000;
	buf text;
	buf_init(&text);
	for (size_t i = 0; i < n; i++) {
		if (i % 7 == 3)
			buf_printf(&text, "bad line %zu\n", i);
		else
			buf_printf(&text, "user%zu@example.org,%zu\n", i, i);
	}
	REQUIRE(buf_error(&text) == VEIL_OK);
	for (unsigned threads = 1; threads <= 5; threads += 2) {
		import_batch *b = NULL;
		import_summary s;
		static reported r;
		size_t count = 0;
		r.count = 0;
		parse_progress progress = {0, 0, 0, 0};
		const import_options options = {NULL, threads, collect, &r, on_progress, &progress};
		REQUIRE(import_parse(buf_data(&text), buf_len(&text), &options, &b) == VEIL_OK);
		CHECK(progress.calls > 1 && progress.monotonic == 0);
		CHECK(progress.last_done == buf_len(&text) && progress.last_lines == n);
		import_batch_summary(b, &s);
		CHECK(s.lines == n);
		CHECK(s.bad == (n + 3) / 7);
		CHECK(r.count == s.bad);
		int lines_ok = 1;
		for (size_t j = 0; j < r.count; j++)
			lines_ok &= r.lines[j] == 7 * j + 4;
		CHECK(lines_ok);
		const registry_record *rec = import_batch_records(b, &count);
		CHECK(count == n - s.bad);
		/* File order: the payloads count up. */
		int order_ok = 1;
		size_t previous = 0;
		for (size_t j = 0; j < count; j++) {
			char number[16] = {0};
			memcpy(number, rec[j].payload, rec[j].payload_len);
			size_t v = strtoul(number, NULL, 10);
			order_ok &= j == 0 || v > previous;
			previous = v;
		}
		CHECK(order_ok);
		import_batch_free(b);
	}
	buf_free(&text);
}

static void
case_read_file(void)
{
	const char *path = test_case_path("contacts.txt");
	char *text = NULL;
	size_t len = 0;
	proc_write_file(path, "a@b.org\n", 8);
	REQUIRE(import_read_file(path, &text, &len) == VEIL_OK);
	CHECK(len == 8 && strcmp(text, "a@b.org\n") == 0);
	free(text);
	proc_write_file(path, "", 0);
	REQUIRE(import_read_file(path, &text, &len) == VEIL_OK);
	CHECK(len == 0 && text != NULL && text[0] == '\0');
	free(text);
	const char *missing = test_case_path("missing.txt");
	CHECK(import_read_file(missing, &text, &len) == VEIL_ERR_NOT_FOUND && text == NULL);
	CHECK(import_read_file(NULL, &text, &len) == VEIL_ERR_ARGUMENT);
}

static const test_case cases[] = {
        {"lines", case_lines},
        {"line length cap", case_line_length_cap},
        {"reasons never echo input", case_reasons_never_echo_input},
        {"file lines, counts and order", case_file_lines_counts_and_order},
        {"parallel slices keep lines and order", case_parallel_slices_keep_lines_and_order},
        {"read file", case_read_file},
};

TEST_MAIN(cases)

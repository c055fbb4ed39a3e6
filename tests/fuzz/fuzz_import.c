/*
 * Fuzzes the import file parser: import_parse_line() on the whole input
 * as one line, and import_parse() on it as a file, with no default region
 * and with one. Whatever the bytes, a record must be a typed handle in its
 * own normal form with a payload that passes the payload rules, a bad line
 * must carry a reason, and the file's counts must add up to its lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "import.h"
#include "normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_record(const char *handle, size_t handle_len, const uint8_t *payload, size_t payload_len)
{
	char again[NORMALIZE_MAX_HANDLE];
	size_t again_len = 0;
	if (handle_len == 0 || handle_len >= NORMALIZE_MAX_HANDLE)
		abort();
	if (!(handle_len > 5 && memcmp(handle, "tel:+", 5) == 0) &&
	    !(handle_len > 7 && memcmp(handle, "mailto:", 7) == 0))
		abort();
	/* A normalized handle is its own normal form, in any region. */
	if (normalize_handle(handle, handle_len, "GB", again, sizeof(again), &again_len) !=
	            NORMALIZE_OK ||
	    again_len != handle_len || memcmp(again, handle, handle_len) != 0)
		abort();
	if (payload_len > ENTRY_MAX_PAYLOAD || (payload == NULL) != (payload_len == 0))
		abort();
	if (import_check_payload(payload, payload_len) != IMPORT_RECORD)
		abort();
}

static void
one_line(const char *text, size_t size, const char *region)
{
	import_line line;
	import_status s = import_parse_line(text, size, region, &line);
	if (s != line.status)
		abort();
	const char *reason = import_line_reason(s, line.handle_status);
	if (reason == NULL || reason[0] == '\0')
		abort();
	if (s == IMPORT_RECORD) {
		check_record(line.handle, line.handle_len, line.payload, line.payload_len);
		/* The payload is the tail of the line. */
		if (line.payload != NULL &&
		    ((const char *)line.payload < text ||
		     (const char *)line.payload + line.payload_len > text + size))
			abort();
	} else if (line.handle_len != 0 || line.payload != NULL || line.payload_len != 0) {
		abort();
	}
	if ((s == IMPORT_BAD_HANDLE) != (line.handle_status != NORMALIZE_OK))
		abort();
}

typedef struct bad_lines {
	uint64_t count;
	uint64_t last;
} bad_lines;

static void
on_bad(void *arg, uint64_t line, const char *reason)
{
	bad_lines *b = arg;
	if (reason == NULL || line <= b->last)
		abort();
	b->last = line;
	b->count++;
}

static void
whole_file(const char *text, size_t size, const char *region)
{
	import_batch *batch = NULL;
	import_summary s;
	bad_lines bad = {0, 0};
	size_t count = 0;
	const import_options options = {region, 1, on_bad, &bad, NULL, NULL};
	if (import_parse(text, size, &options, &batch) != VEIL_OK)
		abort();
	import_batch_summary(batch, &s);
	uint64_t lines = 0;
	for (size_t i = 0; i < size; i++)
		lines += text[i] == '\n';
	if (size > 0 && text[size - 1] != '\n')
		lines++;
	if (s.lines != lines || s.records + s.skipped + s.bad != s.lines || bad.count != s.bad ||
	    (s.bad > 0 && bad.last > s.lines))
		abort();
	const registry_record *records = import_batch_records(batch, &count);
	if (count != s.records)
		abort();
	for (size_t i = 0; i < count; i++)
		check_record(records[i].handle, records[i].handle_len, records[i].payload,
		             records[i].payload_len);
	import_batch_free(batch);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	static const char *const regions[] = {NULL, "US"};
	for (size_t r = 0; r < 2; r++) {
		one_line(text, size, regions[r]);
		whole_file(text, size, regions[r]);
	}
	return 0;
}

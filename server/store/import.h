/*
 * Import files for veil-admin: one contact per line.
 *
 *   # a comment line            skipped (first non-blank byte '#')
 *                               blank lines (spaces, tabs) skipped
 *   +1 415 555 0100             a handle, normalized by normalize_handle()
 *   ann@example.org,Ann         a handle and its payload
 *
 * A line ends at LF; a CR before the LF (or at the end of the last line)
 * is dropped. The handle is what comes before the first comma, the
 * payload everything after it, byte for byte: 1 to ENTRY_MAX_PAYLOAD
 * bytes of UTF-8 with no control character (C0, DEL, C1). A comma
 * followed by nothing means no payload. A line longer than
 * IMPORT_MAX_LINE bytes (without its line ending) is refused unread.
 *
 * A bad line gets a fixed reason (never its content). Duplicates are kept
 * in file order: registry_import() lets the last line of a handle win.
 *
 * Nothing here logs or prints.
 *
 * May use: common/ (entry.h, error.h, normalize.h, utf8.h); its own folder
 * (registry.h); nothing else of the project.
 */
#ifndef VEIL_SERVER_IMPORT_H
#define VEIL_SERVER_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "normalize.h"
#include "registry.h"

#define IMPORT_MAX_LINE  4096
/* import_read_file() refuses larger input (1 GiB). */
#define IMPORT_MAX_INPUT ((size_t)1 << 30)

typedef enum import_status {
	IMPORT_RECORD = 0,       /* a handle, perhaps with a payload */
	IMPORT_SKIP,             /* blank or comment */
	IMPORT_LINE_TOO_LONG,    /* above IMPORT_MAX_LINE bytes */
	IMPORT_BAD_HANDLE,       /* normalize_handle() refused it; see handle_status */
	IMPORT_PAYLOAD_TOO_LONG, /* above ENTRY_MAX_PAYLOAD bytes */
	IMPORT_PAYLOAD_ENCODING, /* payload not valid UTF-8 */
	IMPORT_PAYLOAD_CONTROL,  /* payload holds a control character */
} import_status;

/* One parsed line. */
typedef struct import_line {
	import_status status;
	normalize_status handle_status; /* for IMPORT_BAD_HANDLE, else NORMALIZE_OK */
	char handle[NORMALIZE_MAX_HANDLE];
	size_t handle_len;
	const uint8_t *payload; /* points into the line; NULL when none */
	size_t payload_len;
} import_line;

/*
 * Parses one line of len bytes (without its LF; a trailing CR is dropped)
 * with default_region as for normalize_handle() (NULL for none). Fills
 * *out entirely and returns out->status. line may be NULL when len is 0.
 */
import_status import_parse_line(const char *line, size_t len, const char *default_region,
                                import_line *out);

/*
 * Checks a payload as import_parse_line() does: IMPORT_RECORD when it is
 * fit (an empty one is), else IMPORT_PAYLOAD_TOO_LONG,
 * IMPORT_PAYLOAD_ENCODING or IMPORT_PAYLOAD_CONTROL. p may be NULL when
 * len is 0.
 */
import_status import_check_payload(const uint8_t *p, size_t len);

/*
 * A fixed English reason for a bad line: status and, for
 * IMPORT_BAD_HANDLE, handle_status. Never NULL; static.
 */
const char *import_line_reason(import_status status, normalize_status handle_status);

/* A parsed import file: its records own their bytes. */
typedef struct import_batch import_batch;

typedef struct import_summary {
	uint64_t lines;   /* lines read */
	uint64_t records; /* lines holding a handle (duplicates included) */
	uint64_t skipped; /* blank and comment lines */
	uint64_t bad;     /* lines refused */
} import_summary;

/* Told about each bad line (lines count from 1). */
typedef void import_report_fn(void *arg, uint64_t line_number, const char *reason);

/*
 * Told how parsing goes: bytes parsed of total, and lines so far. Called
 * from the calling thread, every thousand lines or so, then once at
 * the end with done == total.
 */
typedef void import_progress_fn(void *arg, uint64_t done, uint64_t total, uint64_t lines);

typedef struct import_options {
	/* As for normalize_handle(): national numbers are read in it; NULL for none. */
	const char *default_region;
	/* Threads parsing at once; 0 = online CPUs. Small inputs use one. */
	unsigned threads;
	/* May be NULL. Called after parsing, once per bad line, in line order. */
	import_report_fn *report;
	void *report_arg;
	/* May be NULL. */
	import_progress_fn *progress;
	void *progress_arg;
} import_options;

/*
 * Parses len bytes of text (an import file) as options say (NULL: no
 * region, every CPU, no reports). *out is set to NULL first; on success
 * it holds every good line's record, in file order, and owns copies of
 * their bytes (text may be freed).
 * Errors: VEIL_ERR_ARGUMENT (NULL out, NULL text with len > 0, a
 * default_region normalize_region_valid() refuses), VEIL_ERR_NOMEM,
 * VEIL_ERR_LIMIT (more than UINT32_MAX - 1 records).
 */
veil_err import_parse(const char *text, size_t len, const import_options *options,
                      import_batch **out) __attribute__((warn_unused_result));

/* The records (valid until import_batch_free) and their number. */
const registry_record *import_batch_records(const import_batch *batch, size_t *count);

/* How the lines went. */
void import_batch_summary(const import_batch *batch, import_summary *out);

/* Wipes and frees. NULL is a no-op. */
void import_batch_free(import_batch *batch);

/*
 * Reads a whole file, or standard input when path is "-", into a new
 * buffer (*text, free()d by the caller, wiped first if it matters;
 * *len bytes, NUL-terminated). Errors: VEIL_ERR_ARGUMENT,
 * VEIL_ERR_NOT_FOUND, VEIL_ERR_LIMIT (above IMPORT_MAX_INPUT),
 * VEIL_ERR_NOMEM, VEIL_ERR_SYSTEM (errno tells).
 */
veil_err import_read_file(const char *path, char **text, size_t *len)
        __attribute__((warn_unused_result));

#endif

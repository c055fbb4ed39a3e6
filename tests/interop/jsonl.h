/*
 * The JSON Lines machinery the interop tools share (veil-oprf, veil-token):
 * one request object per line in, one compact answer line out.
 *
 * Every answer starts with the id: the request's "id" value written back
 * compactly (the same JSON value, with numbers as their source text), or
 * null when the request had none or was not a JSON object. A request that
 * cannot be served is answered
 *
 *   {"id":...,"ok":false,"error":"<field>: <reason>"}
 *
 * (or "<reason>" alone when no field is at fault), built only from fixed
 * text and field names, never from the request's values.
 *
 * Hex fields are accepted in either case and must have exactly two digits
 * per byte; answers write hex in lowercase.
 */
#ifndef VEIL_TESTS_JSONL_H
#define VEIL_TESTS_JSONL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "error.h"
#include "json.h"

#define JSONL_WARN_UNUSED __attribute__((warn_unused_result))

/* The longest request line served; longer lines get an error answer. */
#define JSONL_MAX_LINE JSON_MAX_INPUT_SIZE

/*
 * Why a request cannot be served: the field at fault (or NULL) and a fixed
 * reason. Both point to static text.
 */
typedef struct jsonl_failure {
	const char *field;
	const char *reason;
} jsonl_failure;

/* Records field and reason in f; returns -1, for `return jsonl_fail(...)`. */
int jsonl_fail(jsonl_failure *f, const char *field, const char *reason);

/* 1 when the len bytes at line are only spaces, tabs, CRs and LFs. */
int jsonl_is_blank(const char *line, size_t len);

/*
 * Parses the line of len bytes into *request_out. Returns 1 for a blank
 * line (nothing to answer; *request_out is NULL), 0 for a JSON object
 * (free it with json_free()), or -1 with f set (a line longer than
 * JSONL_MAX_LINE, bad JSON, a JSON limit exceeded, no memory, not an
 * object; *request_out is NULL). A NULL line with len 0 is blank.
 */
int jsonl_parse_request(const char *line, size_t len, json_value **request_out, jsonl_failure *f);

/*
 * Fails (f: no field, "unknown field") unless every member name of request
 * is one of the count names in known.
 */
int jsonl_check_fields(const json_value *request, const char *const known[], size_t count,
                       jsonl_failure *f);

/*
 * The hex string v (the member field) as text: -1 with f set when v is
 * NULL ("missing"), not a string, of an odd length ("bad hex"), or longer
 * than 2 * max digits ("too long"). *len_out gets the number of digits.
 */
const char *jsonl_hex_text(const json_value *v, const char *field, size_t max, size_t *len_out,
                           jsonl_failure *f);

/* Decodes len hex digits (len even) into len / 2 bytes at out; -1 on a non-digit. */
int jsonl_hex_decode(const char *s, size_t len, uint8_t *out);

/*
 * Decodes the hex string v (the member field) of min to max bytes into out
 * (max bytes); *len_out gets the length. Returns 0, or -1 with f set
 * ("missing", "not a string", "bad hex", "wrong length").
 */
int jsonl_take_between(const json_value *v, const char *field, uint8_t *out, size_t min, size_t max,
                       size_t *len_out, jsonl_failure *f);

/* As jsonl_take_between() for exactly n bytes. */
int jsonl_take_fixed(const json_value *v, const char *field, uint8_t *out, size_t n,
                     jsonl_failure *f);

/*
 * Decodes the hex string v of at most max bytes into a new block (malloc;
 * the caller frees it, with one spare byte so that it is never NULL on
 * success); *len_out gets the length. As jsonl_take_between(), plus "too
 * long" and "out of memory" (no field).
 */
int jsonl_take_variable(const json_value *v, const char *field, size_t max, uint8_t **out,
                        size_t *len_out, jsonl_failure *f);

/* Appends the n bytes as a quoted lowercase hex string (wiping its scratch). */
void jsonl_append_hex(buf *b, const uint8_t *bytes, size_t n);

/* Wipes the n bytes at p (which may be NULL) and frees them: a job's
 * secrets and the client's private data. */
void jsonl_free_wiped(void *p, size_t n);

/* Appends count items of size bytes each, from flat, as a JSON array of hex strings. */
void jsonl_append_hex_list(buf *b, const uint8_t *flat, size_t count, size_t size);

/* Appends {"id": and the id (or null when id is NULL). */
void jsonl_append_id(buf *b, const json_value *id);

/*
 * Appends the failure answer for f, with its newline. Returns what writing
 * the message returned: VEIL_ERR_ARGUMENT when it is not valid UTF-8.
 */
veil_err jsonl_append_failure(buf *b, const json_value *id, const jsonl_failure *f);

/*
 * Ends an answer begun at byte mark of out: returns out's sticky error and,
 * on error, drops what was appended after mark.
 */
veil_err jsonl_finish(buf *out, size_t mark) JSONL_WARN_UNUSED;

/*
 * Appends {"id":null,"ok":false,"error":<message>} and its newline to out,
 * for a line that could not be served at all (one too long to read, say).
 * message must be valid UTF-8. Returns VEIL_OK; VEIL_ERR_ARGUMENT (NULL or
 * not UTF-8: nothing appended); VEIL_ERR_NOMEM or VEIL_ERR_LIMIT from
 * buf_append(), with out as before.
 */
veil_err jsonl_refuse(buf *out, const char *message) JSONL_WARN_UNUSED;

/*
 * Serves one line of len bytes, appending its answer (nothing for a blank
 * line) to out; returns VEIL_OK, or the error of an answer out could not
 * take (out as before).
 */
typedef veil_err (*jsonl_serve_fn)(const char *line, size_t len, buf *out);

/*
 * The loop of a JSON Lines tool: reads lines from in (bytes past
 * JSONL_MAX_LINE are read and dropped, and the line is refused, so a huge
 * line costs no more memory than the cap), serves each with serve, and
 * writes each answer to out, flushed, so that another program can drive
 * the tool line by line. An answer that cannot be built is replaced by an
 * "out of memory" failure. Returns 0 at the end of input, or 1 after
 * reporting, as program, that in or out failed.
 */
int jsonl_serve_stream(const char *program, FILE *in, FILE *out, jsonl_serve_fn serve);

/*
 * The main of a JSON Lines tool named program, taking argc and argv as
 * main() does. --help prints the usage line, a blank line and then calls
 * help (which writes the rest to stdout); --version prints the version; a
 * word that is not an option is a usage error (the requests come on
 * standard input). Otherwise initializes the crypto library and serves
 * stdin to stdout with jsonl_serve_stream(). Returns the exit status: 0 at
 * the end of input and after --help or --version; 1 when stdin or stdout
 * fails or the crypto library cannot be initialized (reported on stderr);
 * CLI_EXIT_USAGE (2) for bad arguments (explained on stderr).
 */
int jsonl_tool_main(const char *program, void (*help)(void), jsonl_serve_fn serve, int argc,
                    char **argv);

#endif

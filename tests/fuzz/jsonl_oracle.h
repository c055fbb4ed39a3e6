/*
 * The oracle the fuzz targets of the JSON Lines tools share (veil-oprf,
 * veil-token; their line logic is in ../interop). Whatever the bytes, a
 * tool's answer must be nothing for a blank line and otherwise exactly one
 * line of JSON: an object whose members are "id", then "ok", then either
 * "error" alone (a string) when ok is false, or the operation's members
 * when ok is true, which the target checks itself.
 */
#ifndef VEIL_TESTS_FUZZ_JSONL_ORACLE_H
#define VEIL_TESTS_FUZZ_JSONL_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "jsonl.h"

/*
 * Checks the members of a success answer (an object whose first members
 * are "id" and "ok" true, at least three in all); aborts when they are not
 * what the tool promises.
 */
typedef void (*jsonl_oracle_success_fn)(const json_value *answer);

/*
 * Serves the size bytes at data with serve, into a buffer that already
 * holds text, and aborts unless serve succeeds (running out of memory is
 * its only excuse, and the fuzzer's budget leaves it none), keeps what the
 * buffer held, and appends an answer as this header describes, whose
 * success members check_success accepts. Everything it allocates is freed
 * on return.
 */
void jsonl_oracle_check(const uint8_t *data, size_t size, jsonl_serve_fn serve,
                        jsonl_oracle_success_fn check_success);

#endif

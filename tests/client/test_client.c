/*
 * libveil-client's helpers that need no server (client/veil_client.h):
 * veil_server_key_read() on every form an operator hands a key out in,
 * and on what is not a key. Lookups are tested against a real veild in
 * tests/e2e/.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "proc.h"
#include "veil_client.h"

#define KEY_HEX "fbfb3e73cd739b5b735bf9ae42fdffe926ac42907338bc80e5453a2efba5735f"

/* A row: its name, the text (given as is, or written to a file first),
 * and whether it holds the key. */
typedef struct key_row {
	const char *name;
	const char *text;
	int as_file;
	int holds_key;
} key_row;

static const key_row key_rows[] = {
        {"64 hex digits", KEY_HEX, 0, 1},
        {"upper-case hex", "FBFB3E73CD739B5B735BF9AE42FDFFE926AC42907338BC80E5453A2EFBA5735F", 0,
         1},
        {"63 digits", "fbfb3e73cd739b5b735bf9ae42fdffe926ac42907338bc80e5453a2efba5735", 0, 0},
        {"65 digits", KEY_HEX "0", 0, 0},
        {"a space after", KEY_HEX " ", 0, 0},
        {"not hex", "gbfb3e73cd739b5b735bf9ae42fdffe926ac42907338bc80e5453a2efba5735f", 0, 0},
        {"empty", "", 0, 0},
        {"a missing file", "/nonexistent/veil/server.info", 0, 0},
        {"file: the key alone", KEY_HEX "\n", 1, 1},
        {"file: the key without a newline", KEY_HEX, 1, 1},
        {"file: veil-admin info",
         "server-key " KEY_HEX "\noprf-key 1 ristretto255-SHA512 "
         "00\nhandles 3\n",
         1, 1},
        {"file: CRLF", "server-key " KEY_HEX "\r\n", 1, 1},
        {"file: the key after other lines", "# pinned 2026-12-01\nhandles 3\n" KEY_HEX "\n", 1, 1},
        {"file: empty", "", 1, 0},
        {"file: a short key", "server-key fbfb3e73\n", 1, 0},
        {"file: another label", "oprf-key " KEY_HEX "\n", 1, 0},
        {"file: trailing words", "server-key " KEY_HEX " extra\n", 1, 0},
};

static int
check_key(const void *p)
{
	const key_row *row = p;
	const char *arg = row->text;
	if (row->as_file) {
		arg = test_case_path("server.info");
		proc_write_file(arg, row->text, strlen(row->text));
	}
	uint8_t want[VEIL_KEY_SIZE], got[VEIL_KEY_SIZE];
	if (test_unhex(KEY_HEX, want, sizeof(want)) != 0)
		return 0;
	memset(got, 0, sizeof(got));
	const veil_err err = veil_server_key_read(arg, got);
	if (!row->holds_key)
		return err == VEIL_ERR_PARSE;
	return err == VEIL_OK && memcmp(got, want, sizeof(want)) == 0;
}

TEST_ROWS_CASE(case_server_key, key_rows, check_key)

static const test_case cases[] = {
        {"server key: every form, and what is not a key", case_server_key},
};

TEST_MAIN(cases)

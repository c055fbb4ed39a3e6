/*
 * libveil-client's helpers that need no server (client/veil_client.h):
 * veil_server_key_read() on every form an operator hands a key out in,
 * and on what is not a key; veil_server_info_read() on `veil-admin info`
 * output of every suite and on what is not; veil_client_new() on pins
 * of one suite or several. Lookups are tested against a real veild in
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

#define OPRF_HEX  "e2f2aef3b4ed9b2a4e4a63f5ea9d47e19d4b6cbfa1d1f9a63a4d6a3e1ac4a76b"
#define OPRF2_HEX "0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526272829"
#define INFO_HEAD "server-key " KEY_HEX "\nmode voprf\n"
#define KEY_LINE  "oprf-key 2 ristretto255-SHA512 " OPRF_HEX "\n"
#define KEY2_LINE "oprf-key 1 ristretto255-SHA512 " OPRF2_HEX "\n"
/* Keys of the NIST suites' lengths (33, 49 and 67 bytes); the parser
 * checks lengths, the client's INFO exchange the keys themselves. */
#define P256_HEX  "02" OPRF_HEX
#define P384_HEX  "03" OPRF_HEX "0a0b0c0d0e0f10111213141516171819"
#define P521_HEX  "02" OPRF_HEX OPRF2_HEX "0001"
#define P256_LINE "oprf-key 2 P256-SHA256 " P256_HEX "\n"

/* A row: the file's text, the error expected, and when it reads, the mode,
 * the key count, and the first key's suite and hex (NULL: ristretto255's
 * OPRF_HEX). */
typedef struct info_row {
	const char *name;
	const char *text;
	veil_err err;
	veil_mode mode;
	size_t keys;
	const char *suite, *hex;
} info_row;

static const info_row info_rows[] = {
        {"veil-admin info", INFO_HEAD KEY_LINE "handles 3\ntag-len 8\n", VEIL_OK, VEIL_MODE_VOPRF,
         1, NULL, NULL},
        {"two keys, mode oprf", "server-key " KEY_HEX "\nmode oprf\n" KEY_LINE KEY2_LINE, VEIL_OK,
         VEIL_MODE_OPRF, 2, NULL, NULL},
        {"CRLF", "server-key " KEY_HEX "\r\nmode voprf\r\n" KEY_LINE, VEIL_OK, VEIL_MODE_VOPRF, 1,
         NULL, NULL},
        {"no file", NULL, VEIL_ERR_SYSTEM, 0, 0, NULL, NULL},
        {"the server key alone", "server-key " KEY_HEX "\n", VEIL_ERR_PARSE, 0, 0, NULL, NULL},
        {"no mode", "server-key " KEY_HEX "\n" KEY_LINE, VEIL_ERR_PARSE, 0, 0, NULL, NULL},
        {"no OPRF key", INFO_HEAD, VEIL_ERR_PARSE, 0, 0, NULL, NULL},
        {"no server key", "mode voprf\n" KEY_LINE, VEIL_ERR_PARSE, 0, 0, NULL, NULL},
        {"an unknown mode", "server-key " KEY_HEX "\nmode poprf\n" KEY_LINE, VEIL_ERR_PARSE, 0, 0,
         NULL, NULL},
        {"two modes", INFO_HEAD "mode oprf\n" KEY_LINE, VEIL_ERR_PARSE, 0, 0, NULL, NULL},
        {"a P256-SHA256 key", INFO_HEAD P256_LINE, VEIL_OK, VEIL_MODE_VOPRF, 1, "P256-SHA256",
         P256_HEX},
        {"two P384-SHA384 keys, mode oprf",
         "server-key " KEY_HEX "\nmode oprf\noprf-key 2 P384-SHA384 " P384_HEX
         "\noprf-key 1 P384-SHA384 " P384_HEX "\n",
         VEIL_OK, VEIL_MODE_OPRF, 2, "P384-SHA384", P384_HEX},
        {"a P521-SHA512 key", INFO_HEAD "oprf-key 2 P521-SHA512 " P521_HEX "\n", VEIL_OK,
         VEIL_MODE_VOPRF, 1, "P521-SHA512", P521_HEX},
        {"a P256-SHA256 key of ristretto255's length",
         INFO_HEAD "oprf-key 2 P256-SHA256 " OPRF_HEX "\n", VEIL_ERR_PARSE, 0, 0, NULL, NULL},
        {"a ristretto255 key of P-256's length",
         INFO_HEAD "oprf-key 2 ristretto255-SHA512 " P256_HEX "\n", VEIL_ERR_PARSE, 0, 0, NULL,
         NULL},
        {"keys of two suites", INFO_HEAD KEY_LINE "oprf-key 1 P256-SHA256 " P256_HEX "\n",
         VEIL_ERR_PARSE, 0, 0, NULL, NULL},
        {"an unknown suite", INFO_HEAD "oprf-key 2 P224-SHA224 " OPRF_HEX "\n", VEIL_ERR_PARSE, 0,
         0, NULL, NULL},
        {"a suite in lowercase", INFO_HEAD "oprf-key 2 p256-sha256 " P256_HEX "\n", VEIL_ERR_PARSE,
         0, 0, NULL, NULL},
        {"a short OPRF key", INFO_HEAD "oprf-key 2 ristretto255-SHA512 e2f2\n", VEIL_ERR_PARSE, 0,
         0, NULL, NULL},
        {"words after the key", INFO_HEAD "oprf-key 2 ristretto255-SHA512 " OPRF_HEX " x\n",
         VEIL_ERR_PARSE, 0, 0, NULL, NULL},
        {"an id past 32 bits", INFO_HEAD "oprf-key 4294967296 ristretto255-SHA512 " OPRF_HEX "\n",
         VEIL_ERR_PARSE, 0, 0, NULL, NULL},
        {"one id twice", INFO_HEAD KEY_LINE KEY_LINE, VEIL_ERR_PARSE, 0, 0, NULL, NULL},
        {"nine keys",
         INFO_HEAD
         "oprf-key 1 ristretto255-SHA512 " OPRF_HEX "\noprf-key 2 ristretto255-SHA512 " OPRF_HEX
         "\noprf-key 3 ristretto255-SHA512 " OPRF_HEX "\noprf-key 4 ristretto255-SHA512 " OPRF_HEX
         "\noprf-key 5 ristretto255-SHA512 " OPRF_HEX "\noprf-key 6 ristretto255-SHA512 " OPRF_HEX
         "\noprf-key 7 ristretto255-SHA512 " OPRF_HEX "\noprf-key 8 ristretto255-SHA512 " OPRF_HEX
         "\noprf-key 9 ristretto255-SHA512 " OPRF_HEX "\n",
         VEIL_ERR_LIMIT, 0, 0, NULL, NULL},
};

static int
check_info(const void *p)
{
	const info_row *row = p;
	const char *path = test_case_path("pins.info");
	if (row->text != NULL)
		proc_write_file(path, row->text, strlen(row->text));
	else
		path = "/nonexistent/veil/server.info";
	veil_client_options o, before;
	memset(&o, 0x5a, sizeof(o));
	before = o;
	const veil_err err = veil_server_info_read(path, &o);
	if (err != row->err) {
		printf("# %s: %s\n", row->name, veil_strerror(err));
		return 0;
	}
	if (err != VEIL_OK) /* nothing is touched */
		return memcmp(&o, &before, sizeof(o)) == 0;
	uint8_t key[VEIL_KEY_SIZE], oprf[VEIL_OPRF_KEY_SIZE];
	const char *hex = row->hex != NULL ? row->hex : OPRF_HEX;
	const char *suite = row->suite != NULL ? row->suite : "ristretto255-SHA512";
	const size_t len = strlen(hex) / 2;
	if (test_unhex(KEY_HEX, key, sizeof(key)) != 0 || test_unhex(hex, oprf, len) != 0)
		return 0;
	return o.mode == row->mode && o.oprf_key_count == row->keys &&
	       memcmp(o.server_key, key, sizeof(key)) == 0 && o.oprf_keys[0].key_id == 2 &&
	       strcmp(o.oprf_keys[0].suite, suite) == 0 && o.oprf_keys[0].public_key_len == len &&
	       memcmp(o.oprf_keys[0].public_key, oprf, len) == 0 &&
	       (row->keys < 2 ||
	        (o.oprf_keys[1].key_id == 1 && strcmp(o.oprf_keys[1].suite, suite) == 0)) &&
	       o.server_url == before.server_url; /* the rest untouched */
}

TEST_ROWS_CASE(case_server_info, info_rows, check_info)

/* What only a length can say: a NUL inside a line, and long lines. */
static void
case_server_info_parse_by_length(void)
{
	veil_client_options o;
	memset(&o, 0, sizeof(o));
	static const char nul[] = INFO_HEAD "oprf-key 2 ristretto255-SHA512 " OPRF_HEX "\0x\n";
	CHECK(veil_server_info_parse(nul, sizeof(nul) - 1, &o) == VEIL_ERR_PARSE);
	/* The same text cut before the NUL is whole. */
	CHECK(veil_server_info_parse(nul, strlen(nul), &o) == VEIL_OK && o.oprf_key_count == 1);

	char text[2048];
	char filler[600];
	memset(filler, 'x', sizeof(filler) - 1);
	filler[sizeof(filler) - 1] = '\0';
	snprintf(text, sizeof(text), "# %s\n" INFO_HEAD KEY_LINE, filler);
	CHECK(veil_server_info_parse(text, strlen(text), &o) ==
	      VEIL_OK); /* another line, skipped */
	snprintf(text, sizeof(text), INFO_HEAD "oprf-key 2 ristretto255-SHA512 " OPRF_HEX " %s\n",
	         filler);
	CHECK(veil_server_info_parse(text, strlen(text), &o) == VEIL_ERR_PARSE);
	CHECK(veil_server_info_parse(NULL, 0, &o) == VEIL_ERR_PARSE);
	CHECK(veil_server_info_parse(NULL, 1, &o) == VEIL_ERR_ARGUMENT);
}

/* A row of pins given to veil_client_new(): the two keys' suites and
 * lengths, and the error expected. */
typedef struct pins_row {
	const char *name;
	const char *suite[2];
	size_t len[2];
	veil_err err;
} pins_row;

static const pins_row pins_rows[] = {
        {"ristretto255-SHA512", {"ristretto255-SHA512", "ristretto255-SHA512"}, {32, 32}, VEIL_OK},
        {"unnamed: ristretto255-SHA512, its length", {"", ""}, {0, 0}, VEIL_OK},
        {"unnamed and named ristretto255-SHA512", {"", "ristretto255-SHA512"}, {32, 0}, VEIL_OK},
        {"P256-SHA256", {"P256-SHA256", "P256-SHA256"}, {33, 33}, VEIL_OK},
        {"P521-SHA512, length 0 for the suite's", {"P521-SHA512", "P521-SHA512"}, {0, 67}, VEIL_OK},
        {"two suites", {"ristretto255-SHA512", "P256-SHA256"}, {32, 33}, VEIL_ERR_ARGUMENT},
        {"unnamed and P256-SHA256", {"", "P256-SHA256"}, {0, 33}, VEIL_ERR_ARGUMENT},
        {"an unknown suite", {"P224-SHA224", "P224-SHA224"}, {28, 28}, VEIL_ERR_ARGUMENT},
        {"a length not the suite's", {"P384-SHA384", "P384-SHA384"}, {49, 48}, VEIL_ERR_ARGUMENT},
};

static int
check_pins(const void *p)
{
	const pins_row *row = p;
	uint8_t secret[VEIL_KEY_SIZE];
	veil_client_options o;
	veil_client *client = NULL;
	memset(&o, 0, sizeof(o));
	memset(secret, 7, sizeof(secret));
	o.server_url = "ipc:///nonexistent/veil.sock"; /* connected lazily: never here */
	o.mode = VEIL_MODE_VOPRF;
	o.client_secret = secret;
	o.oprf_key_count = 2;
	for (size_t i = 0; i < 2; i++) {
		o.oprf_keys[i].key_id = (uint32_t)i + 1;
		snprintf(o.oprf_keys[i].suite, sizeof(o.oprf_keys[i].suite), "%s", row->suite[i]);
		o.oprf_keys[i].public_key_len = row->len[i];
	}
	const veil_err err = veil_client_new(&o, &client);
	veil_client_free(client);
	if (err != row->err)
		printf("# %s: %s\n", row->name, veil_strerror(err));
	return err == row->err && (err == VEIL_OK) == (client != NULL);
}

TEST_ROWS_CASE(case_client_pins, pins_rows, check_pins)

static const test_case cases[] = {
        {"server key: every form, and what is not a key", case_server_key},
        {"server info: the pins, and what is not them", case_server_info},
        {"server info: a NUL or a long line by length", case_server_info_parse_by_length},
        {"client pins: one suite, of its length", case_client_pins},
};

TEST_MAIN(cases)

/*
 * libveil-client's helpers that need no server (client/veil_client.h):
 * veil_server_key_read() on every form an operator hands a key out in,
 * and on what is not a key; veil_server_info_read() on `veil-admin info`
 * output of every suite and on what is not; veil_client_new() on pins
 * of one suite or several; tokens mode: the pins of a tokens-mode server
 * and of an issuer, the token file (real tokens, made with common/token.h:
 * round trip, spend order, permissions, damage), what a lookup or a
 * fetch refuses before it sends anything, and that a token once sent is
 * spent even when someone on the path answers BUSY; and that a VOPRF
 * answer counts only when its proof holds, told by a server that holds
 * the key and lies (no real veild does). Lookups are tested against a
 * real veild in tests/e2e/.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "entry.h"
#include "envelope.h"
#include "harness.h"
#include "msg.h"
#include "normalize.h"
#include "oprf.h"
#include "proc.h"
#include "token.h"
#include "tokens.h"
#include "transport.h"
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

/* ---- tokens mode: the pins ---- */

#define PINS        INFO_HEAD KEY_LINE
#define ISSUER_LINE "token-issuer issuer.example.org\n"
#define ORIGIN_LINE "token-origin veil.example.org\n"

/* A row of tokens-mode pins: the error, and when they read, the mode and names. */
typedef struct auth_row {
	const char *name;
	const char *text;
	veil_err err;
	veil_auth auth;
	const char *issuer, *origin;
} auth_row;

static const auth_row auth_rows[] = {
        {"no auth line: keys", PINS, VEIL_OK, VEIL_AUTH_KEYS, "", ""},
        {"auth keys", PINS "auth keys\n", VEIL_OK, VEIL_AUTH_KEYS, "", ""},
        {"auth tokens", PINS "auth tokens\n" ISSUER_LINE ORIGIN_LINE, VEIL_OK, VEIL_AUTH_TOKENS,
         "issuer.example.org", "veil.example.org"},
        {"auth tokens first, CRLF", "auth tokens\r\ntoken-origin o\r\ntoken-issuer i\r\n" PINS,
         VEIL_OK, VEIL_AUTH_TOKENS, "i", "o"},
        {"an unknown line is skipped", PINS "auth tokens\ntoken-ration 5\n" ISSUER_LINE ORIGIN_LINE,
         VEIL_OK, VEIL_AUTH_TOKENS, "issuer.example.org", "veil.example.org"},
        {"auth tokens without an origin", PINS "auth tokens\n" ISSUER_LINE, VEIL_ERR_PARSE, 0, NULL,
         NULL},
        {"auth tokens without an issuer", PINS "auth tokens\n" ORIGIN_LINE, VEIL_ERR_PARSE, 0, NULL,
         NULL},
        {"an issuer without auth tokens", PINS ISSUER_LINE ORIGIN_LINE, VEIL_ERR_PARSE, 0, NULL,
         NULL},
        {"auth keys with an origin", PINS "auth keys\n" ORIGIN_LINE, VEIL_ERR_PARSE, 0, NULL, NULL},
        {"auth twice", PINS "auth keys\nauth keys\n", VEIL_ERR_PARSE, 0, NULL, NULL},
        {"auth of another word", PINS "auth token\n", VEIL_ERR_PARSE, 0, NULL, NULL},
        {"auth in capitals", PINS "auth TOKENS\n" ISSUER_LINE ORIGIN_LINE, VEIL_ERR_PARSE, 0, NULL,
         NULL},
        {"an issuer twice", PINS "auth tokens\n" ISSUER_LINE ISSUER_LINE ORIGIN_LINE,
         VEIL_ERR_PARSE, 0, NULL, NULL},
        {"a name with a space", PINS "auth tokens\ntoken-issuer a b\n" ORIGIN_LINE, VEIL_ERR_PARSE,
         0, NULL, NULL},
        {"an empty name", PINS "auth tokens\ntoken-issuer \n" ORIGIN_LINE, VEIL_ERR_PARSE, 0, NULL,
         NULL},
        {"a name with a tab", PINS "auth tokens\n" ISSUER_LINE "token-origin a\tb\n",
         VEIL_ERR_PARSE, 0, NULL, NULL},
        {"a name of a non-ASCII byte",
         PINS "auth tokens\n" ISSUER_LINE "token-origin caf\xc3\xa9\n", VEIL_ERR_PARSE, 0, NULL,
         NULL},
};

static int
check_auth(const void *p)
{
	const auth_row *row = p;
	veil_client_options o, before;
	memset(&o, 0x5a, sizeof(o));
	before = o;
	const veil_err err = veil_server_info_parse(row->text, strlen(row->text), &o);
	if (err != row->err) {
		printf("# %s: %s\n", row->name, veil_strerror(err));
		return 0;
	}
	if (err != VEIL_OK) /* nothing is touched */
		return memcmp(&o, &before, sizeof(o)) == 0;
	return o.auth == row->auth && strcmp(o.token_issuer, row->issuer) == 0 &&
	       strcmp(o.token_origin, row->origin) == 0 && o.oprf_key_count == 1 &&
	       o.token_file == before.token_file;
}

TEST_ROWS_CASE(case_server_info_auth, auth_rows, check_auth)

/* A long name: 255 bytes is one, 256 is not (nor a line of 255 bytes). */
static void
case_server_info_name_lengths(void)
{
	char name[300], text[1024];
	memset(name, 'n', sizeof(name));
	veil_client_options o;
	memset(&o, 0, sizeof(o));
	name[242] = '\0'; /* "token-origin " and 242 bytes: a line of 255 */
	snprintf(text, sizeof(text), PINS "auth tokens\n" ISSUER_LINE "token-origin %s\n", name);
	CHECK(veil_server_info_parse(text, strlen(text), &o) == VEIL_OK);
	CHECK(strlen(o.token_origin) == 242);
	name[242] = 'n';
	name[243] = '\0';
	snprintf(text, sizeof(text), PINS "auth tokens\n" ISSUER_LINE "token-origin %s\n", name);
	CHECK(veil_server_info_parse(text, strlen(text), &o) == VEIL_ERR_PARSE);
}

#define PK_HEX      "02" OPRF_HEX "0a0b0c0d0e0f10111213141516171819" /* 49 bytes: 98 digits */
#define ISSUER_HEAD "issuer-key " KEY_HEX "\nissuer-name issuer.example.org\n"

/* A row of issuer pins: the error, and when they read, the key count and first id. */
typedef struct issuer_row {
	const char *name;
	const char *text;
	veil_err err;
	size_t keys;
	uint32_t first_id;
} issuer_row;

static const issuer_row issuer_rows[] = {
        {"veil-admin issuer info", ISSUER_HEAD "token-key 7 " PK_HEX "\ntoken-key 6 " PK_HEX "\n",
         VEIL_OK, 2, 7},
        {"CRLF, other lines skipped",
         "# pinned today\r\nissuer-name issuer.example.org\r\ntoken-key 4294967295 " PK_HEX
         "\r\nissuer-key " KEY_HEX "\r\n",
         VEIL_OK, 1, 4294967295u},
        {"no file", NULL, VEIL_ERR_SYSTEM, 0, 0},
        {"no issuer key", "issuer-name i\ntoken-key 1 " PK_HEX "\n", VEIL_ERR_PARSE, 0, 0},
        {"no name", "issuer-key " KEY_HEX "\ntoken-key 1 " PK_HEX "\n", VEIL_ERR_PARSE, 0, 0},
        {"no token key", ISSUER_HEAD, VEIL_ERR_PARSE, 0, 0},
        {"the issuer key twice", ISSUER_HEAD "issuer-key " KEY_HEX "\ntoken-key 1 " PK_HEX "\n",
         VEIL_ERR_PARSE, 0, 0},
        {"the name twice", ISSUER_HEAD "issuer-name j\ntoken-key 1 " PK_HEX "\n", VEIL_ERR_PARSE, 0,
         0},
        {"a name with a space", "issuer-key " KEY_HEX "\nissuer-name a b\ntoken-key 1 " PK_HEX "\n",
         VEIL_ERR_PARSE, 0, 0},
        {"a short issuer key", "issuer-key fbfb\nissuer-name i\ntoken-key 1 " PK_HEX "\n",
         VEIL_ERR_PARSE, 0, 0},
        {"a token key of 48 bytes", ISSUER_HEAD "token-key 1 " OPRF_HEX OPRF_HEX "\n",
         VEIL_ERR_PARSE, 0, 0},
        {"a token key of 50 bytes", ISSUER_HEAD "token-key 1 " PK_HEX "00\n", VEIL_ERR_PARSE, 0, 0},
        {"a token key not hex",
         ISSUER_HEAD "token-key 1 zz" OPRF_HEX "0a0b0c0d0e0f10111213141516171819\n", VEIL_ERR_PARSE,
         0, 0},
        {"words after the key", ISSUER_HEAD "token-key 1 " PK_HEX " x\n", VEIL_ERR_PARSE, 0, 0},
        {"no id", ISSUER_HEAD "token-key " PK_HEX "\n", VEIL_ERR_PARSE, 0, 0},
        {"a negative id", ISSUER_HEAD "token-key -1 " PK_HEX "\n", VEIL_ERR_PARSE, 0, 0},
        {"an id past 32 bits", ISSUER_HEAD "token-key 4294967296 " PK_HEX "\n", VEIL_ERR_PARSE, 0,
         0},
        {"one id twice", ISSUER_HEAD "token-key 1 " PK_HEX "\ntoken-key 1 " PK_HEX "\n",
         VEIL_ERR_PARSE, 0, 0},
        {"nine keys",
         ISSUER_HEAD "token-key 1 " PK_HEX "\ntoken-key 2 " PK_HEX "\ntoken-key 3 " PK_HEX
                     "\ntoken-key 4 " PK_HEX "\ntoken-key 5 " PK_HEX "\ntoken-key 6 " PK_HEX
                     "\ntoken-key 7 " PK_HEX "\ntoken-key 8 " PK_HEX "\ntoken-key 9 " PK_HEX "\n",
         VEIL_ERR_LIMIT, 0, 0},
};

static int
check_issuer(const void *p)
{
	const issuer_row *row = p;
	const char *path = test_case_path("issuer.info");
	if (row->text != NULL)
		proc_write_file(path, row->text, strlen(row->text));
	else
		path = "/nonexistent/veil/issuer.info";
	veil_issuer_options o, before;
	memset(&o, 0x5a, sizeof(o));
	before = o;
	const veil_err err = veil_issuer_info_read(path, &o);
	if (err != row->err) {
		printf("# %s: %s\n", row->name, veil_strerror(err));
		return 0;
	}
	if (err != VEIL_OK)
		return memcmp(&o, &before, sizeof(o)) == 0;
	uint8_t key[VEIL_KEY_SIZE], pk[VEIL_TOKEN_KEY_SIZE];
	if (test_unhex(KEY_HEX, key, sizeof(key)) != 0 || test_unhex(PK_HEX, pk, sizeof(pk)) != 0)
		return 0;
	return o.token_key_count == row->keys && o.token_keys[0].key_id == row->first_id &&
	       memcmp(o.token_keys[0].public_key, pk, sizeof(pk)) == 0 &&
	       memcmp(o.issuer_key, key, sizeof(key)) == 0 &&
	       strcmp(o.issuer_name, "issuer.example.org") == 0 &&
	       o.issuer_url == before.issuer_url && o.client_secret == before.client_secret;
}

TEST_ROWS_CASE(case_issuer_info, issuer_rows, check_issuer)

/* ---- tokens mode: the token file ---- */

/* n real tokens of a fresh issuer key for issuer and origin, into out. */
static void
make_tokens(const char *issuer, const char *origin, size_t n, token *out)
{
	oprf_key *key = NULL;
	uint8_t pk[TOKEN_ELEMENT_SIZE], key_id[TOKEN_KEY_ID_SIZE];
	buf challenge;
	buf_init(&challenge);
	if (oprf_key_generate(token_suite(), &key) != VEIL_OK ||
	    token_issuer_public(key, pk, key_id) != VEIL_OK ||
	    token_challenge_of(issuer, origin, &challenge) != VEIL_OK)
		abort();
	for (size_t i = 0; i < n; i++) {
		uint8_t nonce[TOKEN_NONCE_SIZE], blind[TOKEN_SCALAR_SIZE];
		token_request request;
		token_response response;
		const uint8_t *c = (const uint8_t *)buf_data(&challenge);
		if (token_client_request(pk, c, buf_len(&challenge), NULL, NULL, nonce, blind,
		                         &request) != VEIL_OK ||
		    token_issue(key, 1, &request, &response) != VEIL_OK ||
		    token_client_finalize(pk, c, buf_len(&challenge), nonce, blind, &response,
		                          &out[i]) != VEIL_OK)
			abort();
	}
	buf_free(&challenge);
	oprf_key_free(key);
}

static int
same_token(const token *a, const token *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* The file's tokens, compared with want (count of them). */
static int
file_holds(const char *path, const token *want, size_t count)
{
	token *got;
	size_t n;
	if (tokens_file_load(path, &got, &n) != VEIL_OK)
		return 0;
	int same = n == count;
	for (size_t i = 0; same && i < n; i++)
		same = same_token(&got[i], &want[i]);
	sodium_free(got);
	return same;
}

static void
case_token_file_round_trip(void)
{
	const char *path = test_case_path("tokens");
	token t[3];
	make_tokens("issuer.example.org", "veil.example.org", 3, t);
	size_t count = 9, groups = 9;
	CHECK(veil_tokens_status(path, &count, NULL, 0, &groups) == VEIL_ERR_NOT_FOUND);
	CHECK(count == 0 && groups == 0);
	REQUIRE(tokens_file_append(path, t, 2) == VEIL_OK);
	REQUIRE(tokens_file_append(path, t + 2, 1) == VEIL_OK);
	CHECK(file_holds(path, t, 3));
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	size_t len;
	char *text = test_read_file(path, &len);
	CHECK(len == 15 + 3 * 293 && memcmp(text, "veil-tokens-v1\n", 15) == 0);
	CHECK(strncmp(text + 15, "0001", 4) == 0 && text[15 + 292] == '\n');
	free(text);

	veil_token_group g[2];
	uint8_t digest[32];
	CHECK(veil_tokens_status(path, &count, g, 2, &groups) == VEIL_OK);
	CHECK(count == 3 && groups == 1 && g[0].count == 3 && g[1].count == 0);
	CHECK(memcmp(g[0].token_key_id, t[0].token_key_id, 32) == 0);
	REQUIRE(veil_tokens_challenge_digest("issuer.example.org", "veil.example.org", digest) ==
	        VEIL_OK);
	CHECK(memcmp(g[0].challenge_digest, digest, 32) == 0);
	CHECK(veil_tokens_challenge_digest("issuer example", "o", digest) == VEIL_ERR_ARGUMENT);
	CHECK(veil_tokens_challenge_digest("i", "", digest) == VEIL_ERR_ARGUMENT);
	CHECK(veil_tokens_status(path, &count, NULL, 1, &groups) == VEIL_ERR_ARGUMENT);
}

/* The oldest token of the challenge asked is taken; one given back is next. */
static void
case_token_file_spend_order(void)
{
	const char *path = test_case_path("tokens");
	token x[3], y[1], got;
	make_tokens("issuer.example.org", "veil.example.org", 3, x);
	make_tokens("issuer.example.org", "other.example.org", 1, y);
	uint8_t dx[32], dy[32];
	REQUIRE(veil_tokens_challenge_digest("issuer.example.org", "veil.example.org", dx) ==
	        VEIL_OK);
	REQUIRE(veil_tokens_challenge_digest("issuer.example.org", "other.example.org", dy) ==
	        VEIL_OK);
	const token order[] = {x[0], y[0], x[1], x[2]};
	REQUIRE(tokens_file_append(path, order, 4) == VEIL_OK);
	veil_token_group g[3];
	size_t count, groups;
	CHECK(veil_tokens_status(path, &count, g, 3, &groups) == VEIL_OK);
	CHECK(count == 4 && groups == 2 && g[0].count == 3 && g[1].count == 1);
	CHECK(memcmp(g[1].challenge_digest, dy, 32) == 0);

	CHECK(tokens_file_take(path, dy, &got) == VEIL_OK && same_token(&got, &y[0]));
	CHECK(tokens_file_take(path, dy, &got) == VEIL_ERR_LIMIT &&
	      sodium_is_zero((void *)&got, sizeof(got)));
	CHECK(tokens_file_take(path, dx, &got) == VEIL_OK && same_token(&got, &x[0]));
	CHECK(file_holds(path, x + 1, 2)); /* gone from the file once taken */
	CHECK(tokens_file_give_back(path, &got) == VEIL_OK);
	CHECK(file_holds(path, x, 3)); /* back in front */
	for (size_t i = 0; i < 3; i++)
		CHECK(tokens_file_take(path, dx, &got) == VEIL_OK && same_token(&got, &x[i]));
	CHECK(tokens_file_take(path, dx, &got) == VEIL_ERR_LIMIT);
	CHECK(file_holds(path, NULL, 0));
	CHECK(tokens_file_take(test_case_path("none"), dx, &got) == VEIL_ERR_LIMIT);

	/* Given back behind another challenge's tokens: in front of its own, or at the end. */
	REQUIRE(tokens_file_append(path, y, 1) == VEIL_OK);
	CHECK(tokens_file_give_back(path, &x[2]) == VEIL_OK);
	CHECK(tokens_file_give_back(path, &x[1]) == VEIL_OK);
	const token mixed[] = {y[0], x[1], x[2]};
	CHECK(file_holds(path, mixed, 3));
}

/* A token file the group or others may read is refused by every reader. */
static void
case_token_file_permissions(void)
{
	const char *path = test_case_path("tokens");
	token t[1], got;
	make_tokens("i", "o", 1, t);
	REQUIRE(tokens_file_append(path, t, 1) == VEIL_OK);
	uint8_t digest[32];
	REQUIRE(veil_tokens_challenge_digest("i", "o", digest) == VEIL_OK);
	size_t count, groups;
	const mode_t modes[] = {0640, 0604, 0620, 0602};
	for (size_t i = 0; i < TEST_COUNT(modes); i++) {
		REQUIRE(chmod(path, modes[i]) == 0);
		CHECK(veil_tokens_status(path, &count, NULL, 0, &groups) == VEIL_ERR_PERMISSION);
		CHECK(tokens_file_take(path, digest, &got) == VEIL_ERR_PERMISSION);
		CHECK(tokens_file_append(path, t, 1) == VEIL_ERR_PERMISSION);
	}
	REQUIRE(chmod(path, 0600) == 0);
	CHECK(file_holds(path, t, 1)); /* untouched */
	const char *link = test_case_path("link");
	REQUIRE(symlink(path, link) == 0);
	CHECK(veil_tokens_status(link, &count, NULL, 0, &groups) == VEIL_ERR_PERMISSION);
	CHECK(veil_tokens_status(test_case_dir(), &count, NULL, 0, &groups) ==
	      VEIL_ERR_PERMISSION); /* not a regular file */
}

/* 146 bytes of type 0x0001: a token's form (its values are the issuer's to check). */
#define A_TOKEN_HEX "0001" OPRF_HEX OPRF_HEX OPRF_HEX OPRF_HEX "0a0b0c0d0e0f10111213141516171819"

/* A row: a token file's text that is not one. */
typedef struct damage_row {
	const char *name;
	const char *text;
} damage_row;

static const damage_row damage_rows[] = {
        {"empty", ""},
        {"no header", A_TOKEN_HEX "\n"},
        {"another version", "veil-tokens-v2\n" A_TOKEN_HEX "\n"},
        {"the header without its LF", "veil-tokens-v1"},
        {"a CRLF header", "veil-tokens-v1\r\n" A_TOKEN_HEX "\n"},
        {"a token cut short", "veil-tokens-v1\n" A_TOKEN_HEX "\n" A_TOKEN_HEX},
        {"no last LF", "veil-tokens-v1\n" A_TOKEN_HEX},
        {"a CRLF line", "veil-tokens-v1\n" A_TOKEN_HEX "\r\n"},
        {"a token of type 2", "veil-tokens-v1\n0002" OPRF_HEX OPRF_HEX OPRF_HEX OPRF_HEX
                              "0a0b0c0d0e0f10111213141516171819\n"},
        {"not hex", "veil-tokens-v1\n0001zz" OPRF_HEX OPRF_HEX OPRF_HEX OPRF_HEX
                    "0b0c0d0e0f10111213141516171819\n"},
        {"a token line one digit short", "veil-tokens-v1\n0001" OPRF_HEX OPRF_HEX OPRF_HEX OPRF_HEX
                                         "0a0b0c0d0e0f1011121314151617181\n"},
        {"a line of text after", "veil-tokens-v1\n" A_TOKEN_HEX "\n# note\n"},
        {"a blank line", "veil-tokens-v1\n\n" A_TOKEN_HEX "\n"},
};

static int
check_damage(const void *p)
{
	const damage_row *row = p;
	const char *path = test_case_path("tokens");
	proc_write_file(path, row->text, strlen(row->text));
	if (chmod(path, 0600) != 0)
		return 0;
	size_t count = 7, groups = 7;
	token got;
	uint8_t digest[32] = {0};
	const veil_err status = veil_tokens_status(path, &count, NULL, 0, &groups);
	const veil_err take = tokens_file_take(path, digest, &got);
	const veil_err append = tokens_file_append(path, &got, 1);
	size_t len;
	char *after = test_read_file(path, &len);
	const int same = len == strlen(row->text) && memcmp(after, row->text, len) == 0;
	free(after);
	if (status != VEIL_ERR_CORRUPT)
		printf("# %s: %s\n", row->name, veil_strerror(status));
	return status == VEIL_ERR_CORRUPT && count == 0 && take == VEIL_ERR_CORRUPT &&
	       append == VEIL_ERR_CORRUPT && same;
}

TEST_ROWS_CASE(case_token_file_damage, damage_rows, check_damage)

/* The well-formed line of the rows above reads, so each row fails for its damage. */
static void
case_token_file_hand_made(void)
{
	const char *text = "veil-tokens-v1\n" A_TOKEN_HEX "\n" A_TOKEN_HEX "\n";
	token *tokens;
	size_t count;
	CHECK(tokens_parse(text, strlen(text), &tokens, &count) == VEIL_OK && count == 2);
	if (count == 2)
		sodium_free(tokens);
	CHECK(tokens_parse("veil-tokens-v1\n", 15, &tokens, &count) == VEIL_OK && count == 0);
	if (tokens != NULL)
		sodium_free(tokens);
}

/* Tokens-mode options: what veil_client_new() takes and refuses. */
static void
case_tokens_client_options(void)
{
	veil_client_options o;
	memset(&o, 0, sizeof(o));
	REQUIRE(veil_server_info_parse(PINS "auth tokens\n" ISSUER_LINE ORIGIN_LINE,
	                               strlen(PINS "auth tokens\n" ISSUER_LINE ORIGIN_LINE),
	                               &o) == VEIL_OK);
	o.server_url = "ipc:///nonexistent/veil.sock";
	veil_client *c = NULL;
	CHECK(veil_client_new(&o, &c) == VEIL_ERR_ARGUMENT && c == NULL); /* no token file */
	o.token_file = "/nonexistent/tokens";
	CHECK(veil_client_new(&o, &c) == VEIL_OK); /* no client key needed */
	veil_client_free(c);
	c = NULL;
	snprintf(o.token_origin, sizeof(o.token_origin), "%s", "a b");
	CHECK(veil_client_new(&o, &c) == VEIL_ERR_ARGUMENT);
	o.token_origin[0] = '\0';
	CHECK(veil_client_new(&o, &c) == VEIL_ERR_ARGUMENT);
	o.auth = VEIL_AUTH_KEYS; /* keys mode: the client key is needed */
	CHECK(veil_client_new(&o, &c) == VEIL_ERR_ARGUMENT);
	o.auth = (veil_auth)7;
	CHECK(veil_client_new(&o, &c) == VEIL_ERR_ARGUMENT);
	CHECK(c == NULL);
}

/*
 * A tokens-mode lookup asks nothing, not even INFO, without a token of
 * its challenge, and says so; a token file it cannot use is its error;
 * with a token, a server that is not there costs none (INFO spends none).
 */
static void
case_tokens_lookup_before_sending(void)
{
	const char *path = test_case_path("tokens");
	veil_client_options o;
	memset(&o, 0, sizeof(o));
	REQUIRE(veil_server_info_parse(PINS "auth tokens\n" ISSUER_LINE ORIGIN_LINE,
	                               strlen(PINS "auth tokens\n" ISSUER_LINE ORIGIN_LINE),
	                               &o) == VEIL_OK);
	o.server_url = "ipc:///nonexistent/veil.sock";
	o.token_file = path;
	o.timeout_ms = 200;
	o.deadline_ms = 200;
	veil_client *c = NULL;
	REQUIRE(veil_client_new(&o, &c) == VEIL_OK);
	const char *contacts[] = {"+14155550100"};
	veil_lookup_result r[1];
	CHECK(veil_client_lookup(c, contacts, 1, r) == VEIL_ERR_LIMIT);
	CHECK(strncmp(veil_client_last_error(c), "no tokens left: run veil tokens fetch", 37) == 0);
	token other[1], mine[1];
	make_tokens("issuer.example.org", "other.example.org", 1, other);
	REQUIRE(tokens_file_append(path, other, 1) == VEIL_OK);
	CHECK(veil_client_lookup(c, contacts, 1, r) == VEIL_ERR_LIMIT); /* not this challenge */
	CHECK(file_holds(path, other, 1));
	REQUIRE(chmod(path, 0644) == 0);
	CHECK(veil_client_lookup(c, contacts, 1, r) == VEIL_ERR_PERMISSION);
	CHECK(strstr(veil_client_last_error(c), "chmod 600") != NULL);
	REQUIRE(chmod(path, 0600) == 0);
	make_tokens("issuer.example.org", "veil.example.org", 1, mine);
	REQUIRE(tokens_file_append(path, mine, 1) == VEIL_OK);
	const veil_err err = veil_client_lookup(c, contacts, 1, r);
	CHECK(err == VEIL_ERR_TIMEOUT || err == VEIL_ERR_TRANSPORT);
	const token both[] = {other[0], mine[0]};
	CHECK(file_holds(path, both, 2));
	CHECK(veil_client_lookup(c, contacts, 0, r) == VEIL_OK); /* nothing asked */
	veil_client_free(c);
}

/*
 * Someone on the path to a tokens-mode server, or the server itself: it
 * answers INFO as the pinned server would (it holds the key), then every
 * LOOKUP_TOKEN with an unsealed ERROR frame BUSY, which needs no key at
 * all. The tokens those carried are kept, in order.
 */
typedef struct on_path {
	transport_server *server;
	uint8_t secret[VEIL_KEY_SIZE];
	size_t lookups; /* the LOOKUP_TOKENs to answer, then it stops */
	int silent;     /* LOOKUP_TOKENs get no reply at all, not BUSY */
	size_t seen;
	uint8_t tokens[4][TOKEN_SIZE];
	/* With a VOPRF key, INFO offers it and each LOOKUP_TOKEN is answered
	 * (answer_lookup()), every item's one entry being tag. */
	const oprf_key *key;
	int tamper;
	uint8_t tag[16];
} on_path;

/* How answer_lookup() spoils its answer. */
enum {
	TAMPER_NONE,
	TAMPER_PROOF,   /* a bit of the proof flipped */
	TAMPER_SWAPPED, /* two evaluated elements swapped */
	TAMPER_KEY,     /* evaluated and proved under another key */
};

/* One request's sealed answer: INFO_REPLY offering the pins' key. 0 or -1. */
static int
answer_info(on_path *p, transport_request *req, const envelope_exchange *ex,
            const uint8_t *request_id)
{
	proto_info_reply info = {.p_min = 1,
	                         .p_max = 32,
	                         .p_recommended = 8,
	                         .batch_cap = 256,
	                         .tag_len = 16,
	                         .key_count = 1};
	info.keys[0] =
	        (proto_key_info){.key_id = 2,
	                         .suite = proto_suite_id(oprf_suite_by_name("ristretto255-SHA512")),
	                         .modes = PROTO_MODE_BIT_VOPRF,
	                         .pk_len = 32};
	if (p->key != NULL)
		oprf_key_public(p->key, info.keys[0].pk);
	else if (test_unhex(OPRF_HEX, info.keys[0].pk, 32) != 0)
		return -1;
	buf inner, frame;
	buf_init(&inner);
	buf_init(&frame);
	proto_encode_info_reply(&inner, request_id, &info);
	int rc = buf_error(&inner) == VEIL_OK &&
	                         envelope_seal_reply(ex, (const uint8_t *)buf_data(&inner),
	                                             buf_len(&inner), &frame) == VEIL_OK
	                 ? 0
	                 : -1;
	if (rc == 0)
		transport_server_reply(p->server, req, (const uint8_t *)buf_data(&frame),
		                       buf_len(&frame));
	buf_free(&inner);
	buf_free(&frame);
	return rc;
}

/*
 * A VOPRF LOOKUP_REPLY to lookup, sealed: each blinded element evaluated
 * under p->key with a proof, spoilt as p->tamper says. 0 or -1.
 */
static int
answer_lookup(on_path *p, transport_request *req, const envelope_exchange *ex,
              const uint8_t *request_id, const proto_lookup *lookup)
{
	const size_t n = lookup->count;
	oprf_ctx *ctx = NULL;
	oprf_key *other = NULL;
	uint8_t *blinded = malloc(n * 32), *evaluated = malloc(n * 32), proof[64];
	buf inner, frame;
	buf_init(&inner);
	buf_init(&frame);
	int rc = -1;
	if (blinded == NULL || evaluated == NULL || n < 2 ||
	    oprf_ctx_new(oprf_suite_by_name("ristretto255-SHA512"), OPRF_MODE_VOPRF, &ctx) !=
	            VEIL_OK ||
	    oprf_key_generate(oprf_suite_by_name("ristretto255-SHA512"), &other) != VEIL_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		uint32_t prefix;
		const uint8_t *element;
		proto_lookup_item(lookup, i, &prefix, &element);
		memcpy(blinded + i * 32, element, 32);
	}
	if (oprf_blind_evaluate(ctx, p->tamper == TAMPER_KEY ? other : p->key, NULL, 0, n, blinded,
	                        evaluated, NULL, proof) != VEIL_OK)
		goto out;
	if (p->tamper == TAMPER_PROOF)
		proof[3] ^= 1;
	if (p->tamper == TAMPER_SWAPPED) {
		memcpy(blinded, evaluated, 32);
		memcpy(evaluated, evaluated + (n - 1) * 32, 32);
		memcpy(evaluated + (n - 1) * 32, blinded, 32);
	}
	proto_encode_lookup_reply_head(&inner, request_id, lookup->suite, lookup->mode,
	                               lookup->key_id, lookup->count, 1, sizeof(p->tag));
	for (size_t i = 0; i < n; i++) {
		buf_append(&inner, evaluated + i * 32, 32);
		buf_append(&inner, p->tag, sizeof(p->tag));
	}
	buf_append(&inner, proof, sizeof(proof));
	if (buf_error(&inner) != VEIL_OK ||
	    envelope_seal_reply(ex, (const uint8_t *)buf_data(&inner), buf_len(&inner), &frame) !=
	            VEIL_OK)
		goto out;
	transport_server_reply(p->server, req, (const uint8_t *)buf_data(&frame), buf_len(&frame));
	rc = 0;
out:
	free(blinded);
	free(evaluated);
	oprf_key_free(other);
	oprf_ctx_free(ctx);
	buf_free(&inner);
	buf_free(&frame);
	return rc;
}

static void *
on_path_serve(void *arg)
{
	on_path *p = arg;
	while (p->seen < p->lookups) {
		transport_request req;
		if (transport_server_receive(p->server, 1000 * (int)TEST_PATIENCE_SECONDS, &req) !=
		    VEIL_OK)
			break;
		proto_frame frame;
		envelope_exchange ex;
		uint64_t sent_at;
		proto_msg msg;
		buf inner;
		buf_init(&inner);
		int ok = proto_frame_decode(req.data, req.len, &frame) == VEIL_OK &&
		         envelope_open_anonymous(&frame, p->secret, &inner, &sent_at, &ex) ==
		                 VEIL_OK &&
		         proto_msg_decode((const uint8_t *)buf_data(&inner), buf_len(&inner),
		                          &msg) == VEIL_OK;
		if (ok && msg.type == PROTO_MSG_INFO) {
			ok = answer_info(p, &req, &ex, msg.request_id) == 0;
		} else if (ok && msg.type == PROTO_MSG_LOOKUP_TOKEN) {
			memcpy(p->tokens[p->seen++], msg.u.lookup_token.token, TOKEN_SIZE);
			if (p->key != NULL) {
				ok = answer_lookup(p, &req, &ex, msg.request_id,
				                   &msg.u.lookup_token.lookup) == 0;
				envelope_exchange_wipe(&ex);
				buf_free(&inner);
				if (!ok) {
					transport_request_drop(&req);
					break;
				}
				continue;
			}
			if (p->silent) {
				transport_request_drop(&req);
				envelope_exchange_wipe(&ex);
				buf_free(&inner);
				continue;
			}
			buf busy;
			buf_init(&busy);
			envelope_error_frame(&busy, PROTO_STATUS_BUSY);
			transport_server_reply(p->server, &req, (const uint8_t *)buf_data(&busy),
			                       buf_len(&busy));
			buf_free(&busy);
		} else {
			ok = 0;
		}
		envelope_exchange_wipe(&ex);
		buf_free(&inner);
		if (!ok) {
			transport_request_drop(&req);
			break;
		}
	}
	return NULL;
}

/*
 * An unsealed BUSY proves nothing (anyone on the path can send one), so
 * a token once sent is spent whatever the answer: each retry takes a new
 * one, and no two requests carry the same token (its nonce would link
 * them). With two tokens, two BUSY answers use both, and the lookup ends
 * with none left.
 */
static void
case_tokens_busy_spends_the_token(void)
{
	const char *path = test_case_path("tokens");
	token mine[2];
	make_tokens("issuer.example.org", "veil.example.org", 2, mine);
	REQUIRE(tokens_file_append(path, mine, 2) == VEIL_OK);

	on_path p = {.lookups = 2};
	veil_client_options o;
	memset(&o, 0, sizeof(o));
	REQUIRE(veil_server_info_parse(PINS "auth tokens\n" ISSUER_LINE ORIGIN_LINE,
	                               strlen(PINS "auth tokens\n" ISSUER_LINE ORIGIN_LINE),
	                               &o) == VEIL_OK);
	crypto_box_keypair(o.server_key, p.secret); /* the pins name this server's key */
	char url[512];
	snprintf(url, sizeof(url), "ipc://%s", test_case_path("on-path.sock"));
	REQUIRE(transport_server_open(url, PROTO_MAX_REQUEST_SIZE, &p.server) == VEIL_OK);
	pthread_t thread;
	REQUIRE(pthread_create(&thread, NULL, on_path_serve, &p) == 0);
	o.server_url = url;
	o.token_file = path;
	o.timeout_ms = 1000 * (int)TEST_PATIENCE_SECONDS;
	o.deadline_ms = 1000 * (int)TEST_PATIENCE_SECONDS;
	veil_client *c = NULL;
	REQUIRE(veil_client_new(&o, &c) == VEIL_OK);
	const char *contacts[] = {"+14155550100"};
	veil_lookup_result r[1];
	CHECK(veil_client_lookup(c, contacts, 1, r) == VEIL_ERR_LIMIT);
	CHECK(strncmp(veil_client_last_error(c), "no tokens left", 14) == 0);
	veil_client_free(c);
	pthread_join(thread, NULL);
	transport_server_close(p.server);

	CHECK(p.seen == 2);
	uint8_t sent[TOKEN_SIZE];
	for (size_t i = 0; i < p.seen; i++) {
		token_encode(&mine[i], sent);
		CHECK(memcmp(p.tokens[i], sent, TOKEN_SIZE) == 0); /* the oldest first, each once */
	}
	CHECK(file_holds(path, NULL, 0));
	sodium_memzero(p.secret, sizeof(p.secret));
}

/*
 * A VOPRF answer counts only when its proof holds. A server holding the
 * pinned key answers a lookup of 100 contacts (one batch, finalized in
 * several chunks on 2 threads while its proof is checked) giving every
 * item the entry of the first contact: told honestly, exactly that
 * contact is registered; with a bit of the proof flipped, two answers
 * swapped, or evaluated under another key, the lookup fails with
 * VEIL_ERR_VERIFY and reports nothing registered.
 */
typedef struct proof_row {
	const char *name;
	int tamper;
	veil_err want;
} proof_row;

static const proof_row proof_rows[] = {
        {"an honest answer", TAMPER_NONE, VEIL_OK},
        {"a flipped proof bit", TAMPER_PROOF, VEIL_ERR_VERIFY},
        {"two answers swapped", TAMPER_SWAPPED, VEIL_ERR_VERIFY},
        {"another key", TAMPER_KEY, VEIL_ERR_VERIFY},
};

#define PROOF_CONTACTS 100

static void
check_proof_row(const proof_row *r)
{
	char name[64];
	snprintf(name, sizeof(name), "tokens-%d", r->tamper);
	const char *path = test_case_path(name);
	token mine[1];
	make_tokens("issuer.example.org", "veil.example.org", 1, mine);
	REQUIRE(tokens_file_append(path, mine, 1) == VEIL_OK);

	oprf_key *key = NULL;
	oprf_ctx *ctx = NULL;
	const oprf_suite *suite = oprf_suite_by_name("ristretto255-SHA512");
	REQUIRE(oprf_key_generate(suite, &key) == VEIL_OK);
	REQUIRE(oprf_ctx_new(suite, OPRF_MODE_VOPRF, &ctx) == VEIL_OK);
	on_path p = {.lookups = 1, .key = key, .tamper = r->tamper};
	char contacts_text[PROOF_CONTACTS][16];
	const char *contacts[PROOF_CONTACTS];
	for (size_t i = 0; i < PROOF_CONTACTS; i++) {
		snprintf(contacts_text[i], sizeof(contacts_text[i]), "+1415555%04zu", i);
		contacts[i] = contacts_text[i];
	}
	/* The entry of contact 0: its tag under the key. */
	char handle[VEIL_MAX_HANDLE + 1];
	size_t handle_len = 0;
	uint8_t output[64];
	REQUIRE(normalize_handle(contacts[0], strlen(contacts[0]), NULL, handle, sizeof(handle),
	                         &handle_len) == NORMALIZE_OK);
	REQUIRE(oprf_evaluate(ctx, key, NULL, 0, (const uint8_t *)handle, handle_len, output) ==
	        VEIL_OK);
	REQUIRE(entry_tag(output, sizeof(output), p.tag, sizeof(p.tag)) == VEIL_OK);

	veil_client_options o;
	memset(&o, 0, sizeof(o));
	REQUIRE(veil_server_info_parse(PINS "auth tokens\n" ISSUER_LINE ORIGIN_LINE,
	                               strlen(PINS "auth tokens\n" ISSUER_LINE ORIGIN_LINE),
	                               &o) == VEIL_OK);
	oprf_key_public(key, o.oprf_keys[0].public_key); /* the pin: this server's key */
	crypto_box_keypair(o.server_key, p.secret);
	char url[512];
	snprintf(url, sizeof(url), "ipc://%s", test_case_path("proof.sock"));
	REQUIRE(transport_server_open(url, PROTO_MAX_REQUEST_SIZE, &p.server) == VEIL_OK);
	pthread_t thread;
	REQUIRE(pthread_create(&thread, NULL, on_path_serve, &p) == 0);
	o.server_url = url;
	o.token_file = path;
	o.timeout_ms = 1000 * (int)TEST_PATIENCE_SECONDS;
	o.deadline_ms = 1000 * (int)TEST_PATIENCE_SECONDS;
	veil_client *c = NULL;
	REQUIRE(veil_client_new(&o, &c) == VEIL_OK);
	REQUIRE(veil_client_set_threads(c, 2) == VEIL_OK);
	veil_lookup_result *results = calloc(PROOF_CONTACTS, sizeof(*results));
	REQUIRE(results != NULL);
	CHECK(veil_client_lookup(c, contacts, PROOF_CONTACTS, results) == r->want);
	if (r->want == VEIL_ERR_VERIFY)
		CHECK(strstr(veil_client_last_error(c), "proof does not verify") != NULL);
	size_t registered = 0;
	for (size_t i = 0; i < PROOF_CONTACTS; i++)
		registered += results[i].status == VEIL_LOOKUP_REGISTERED;
	CHECK(registered == (r->want == VEIL_OK));
	CHECK(results[0].status ==
	      (r->want == VEIL_OK ? VEIL_LOOKUP_REGISTERED : VEIL_LOOKUP_NOT_REGISTERED));
	veil_client_free(c);
	pthread_join(thread, NULL);
	transport_server_close(p.server);
	CHECK(p.seen == 1);
	free(results);
	oprf_ctx_free(ctx);
	oprf_key_free(key);
	sodium_memzero(p.secret, sizeof(p.secret));
}

static void
case_voprf_answer_counts_only_with_its_proof(void)
{
	for (size_t i = 0; i < sizeof(proof_rows) / sizeof(proof_rows[0]); i++)
		check_proof_row(&proof_rows[i]);
}

/*
 * Failover in tokens mode: a request that got no reply is made again to
 * the next server with a new token, never the one sent (it may have
 * reached a server, and its nonce would link the two requests). Two
 * servers that take lookups and never answer: with two tokens, each gets
 * one, a different one, and the lookup ends with none left.
 */
static void
case_tokens_failover_takes_a_new_token(void)
{
	const char *path = test_case_path("tokens");
	token mine[2];
	make_tokens("issuer.example.org", "veil.example.org", 2, mine);
	REQUIRE(tokens_file_append(path, mine, 2) == VEIL_OK);

	on_path p[2] = {{.lookups = 1, .silent = 1}, {.lookups = 1, .silent = 1}};
	veil_client_options o;
	memset(&o, 0, sizeof(o));
	REQUIRE(veil_server_info_parse(PINS "auth tokens\n" ISSUER_LINE ORIGIN_LINE,
	                               strlen(PINS "auth tokens\n" ISSUER_LINE ORIGIN_LINE),
	                               &o) == VEIL_OK);
	crypto_box_keypair(o.server_key, p[0].secret); /* replicas: one key */
	memcpy(p[1].secret, p[0].secret, sizeof(p[0].secret));
	char url[2][512];
	pthread_t thread[2];
	for (int i = 0; i < 2; i++) {
		snprintf(url[i], sizeof(url[i]), "ipc://%s",
		         test_case_path(i ? "b.sock" : "a.sock"));
		REQUIRE(transport_server_open(url[i], PROTO_MAX_REQUEST_SIZE, &p[i].server) ==
		        VEIL_OK);
		REQUIRE(pthread_create(&thread[i], NULL, on_path_serve, &p[i]) == 0);
	}
	const char *fallback = url[1];
	o.server_url = url[0];
	o.fallback_urls = &fallback;
	o.fallback_url_count = 1;
	o.token_file = path;
	o.timeout_ms = 200; /* a silent server: every wait runs out */
	o.deadline_ms = 1000 * (int)TEST_PATIENCE_SECONDS;
	veil_client *c = NULL;
	REQUIRE(veil_client_new(&o, &c) == VEIL_OK);
	const char *contacts[] = {"+14155550100"};
	veil_lookup_result r[1];
	CHECK(veil_client_lookup(c, contacts, 1, r) == VEIL_ERR_LIMIT);
	CHECK(strncmp(veil_client_last_error(c), "no tokens left", 14) == 0);
	veil_client_free(c);
	for (int i = 0; i < 2; i++) {
		pthread_join(thread[i], NULL);
		transport_server_close(p[i].server);
		sodium_memzero(p[i].secret, sizeof(p[i].secret));
	}
	CHECK(p[0].seen == 1 && p[1].seen == 1);
	CHECK(memcmp(p[0].tokens[0], p[1].tokens[0], TOKEN_SIZE) != 0);
	uint8_t sent[TOKEN_SIZE];
	token_encode(&mine[0], sent);
	CHECK(memcmp(p[0].tokens[0], sent, TOKEN_SIZE) == 0); /* the first server, the oldest */
	token_encode(&mine[1], sent);
	CHECK(memcmp(p[1].tokens[0], sent, TOKEN_SIZE) == 0);
	CHECK(file_holds(path, NULL, 0));
}

/* Fallback URLs: what veil_client_new() takes and refuses. */
static void
case_fallback_url_options(void)
{
	veil_client_options o;
	memset(&o, 0, sizeof(o));
	REQUIRE(veil_server_info_parse(PINS, strlen(PINS), &o) == VEIL_OK);
	uint8_t secret[VEIL_KEY_SIZE] = {1};
	o.client_secret = secret;
	o.server_url = "ipc:///nonexistent/a.sock";
	const char *urls[64] = {"ipc:///nonexistent/b.sock", NULL};
	veil_client *c = NULL;
	o.fallback_url_count = 1;
	CHECK(veil_client_new(&o, &c) == VEIL_ERR_ARGUMENT && c == NULL); /* no list */
	o.fallback_urls = urls;
	CHECK(veil_client_new(&o, &c) == VEIL_OK);
	veil_client_free(c);
	c = NULL;
	o.fallback_url_count = 2; /* a NULL in the list */
	CHECK(veil_client_new(&o, &c) == VEIL_ERR_ARGUMENT && c == NULL);
	for (size_t i = 0; i < 64; i++)
		urls[i] = "ipc:///nonexistent/b.sock";
	o.fallback_url_count = 63;
	CHECK(veil_client_new(&o, &c) == VEIL_OK);
	veil_client_free(c);
	c = NULL;
	o.fallback_url_count = 64;
	CHECK(veil_client_new(&o, &c) == VEIL_ERR_ARGUMENT && c == NULL);
	o.fallback_url_count = 0;
	o.fallback_urls = NULL;
	CHECK(veil_client_new(&o, &c) == VEIL_OK);
	veil_client_free(c);
}

/* A fetch checks its arguments and the token file before it asks. */
static void
case_tokens_fetch_before_sending(void)
{
	veil_issuer_options o;
	memset(&o, 0, sizeof(o));
	const char *text = ISSUER_HEAD "token-key 7 " PK_HEX "\n";
	REQUIRE(veil_issuer_info_parse(text, strlen(text), &o) == VEIL_OK);
	uint8_t secret[VEIL_KEY_SIZE];
	memset(secret, 7, sizeof(secret));
	o.issuer_url = "ipc:///nonexistent/issuer.sock";
	o.client_secret = secret;
	o.timeout_ms = 200;
	const char *path = test_case_path("tokens");
	size_t fetched = 9;
	uint32_t retry = 9;
	CHECK(veil_tokens_fetch(&o, "a b", path, 1, &fetched, &retry) == VEIL_ERR_ARGUMENT);
	CHECK(fetched == 0 && retry == 0);
	CHECK(veil_tokens_fetch(&o, "o", path, 0, NULL, NULL) == VEIL_ERR_ARGUMENT);
	CHECK(veil_tokens_fetch(&o, "o", path, VEIL_MAX_TOKENS + 1, NULL, NULL) ==
	      VEIL_ERR_ARGUMENT);
	CHECK(veil_tokens_fetch(&o, "o", NULL, 1, NULL, NULL) == VEIL_ERR_ARGUMENT);
	proc_write_file(path, "veil-tokens-v1\nx\n", 17);
	REQUIRE(chmod(path, 0600) == 0);
	CHECK(veil_tokens_fetch(&o, "o", path, 1, &fetched, NULL) == VEIL_ERR_CORRUPT);
	CHECK(strstr(veil_tokens_last_error(), path) != NULL);
	REQUIRE(chmod(path, 0644) == 0);
	CHECK(veil_tokens_fetch(&o, "o", path, 1, &fetched, NULL) == VEIL_ERR_PERMISSION);
	REQUIRE(unlink(path) == 0);
	/* A good file and no issuer: no reply, and no file made. */
	const veil_err err = veil_tokens_fetch(&o, "o", path, 1, &fetched, NULL);
	CHECK(err == VEIL_ERR_TIMEOUT || err == VEIL_ERR_TRANSPORT);
	CHECK(fetched == 0 && access(path, F_OK) != 0);
	o.token_key_count = 0;
	CHECK(veil_tokens_fetch(&o, "o", path, 1, NULL, NULL) == VEIL_ERR_ARGUMENT);
}

/* The delay of --at-random-time is within the day. */
static void
case_tokens_fetch_delay(void)
{
	uint32_t least = UINT32_MAX, most = 0;
	for (int i = 0; i < 1000; i++) {
		const uint32_t d = veil_tokens_fetch_delay();
		least = d < least ? d : least;
		most = d > most ? d : most;
	}
	CHECK(most < 86400 && least < most);
}

static const test_case cases[] = {
        {"server key: every form, and what is not a key", case_server_key},
        {"server info: the pins, and what is not them", case_server_info},
        {"server info: a NUL or a long line by length", case_server_info_parse_by_length},
        {"client pins: one suite, of its length", case_client_pins},
        {"server info: auth, token-issuer and token-origin", case_server_info_auth},
        {"server info: names up to 255 bytes", case_server_info_name_lengths},
        {"issuer info: the pins, and what is not them", case_issuer_info},
        {"token file: round trip, 0600, status", case_token_file_round_trip},
        {"token file: oldest of the challenge first, given back in front",
         case_token_file_spend_order},
        {"token file: refused when others may read it", case_token_file_permissions},
        {"token file: damage is refused, the file left alone", case_token_file_damage},
        {"token file: a hand-made file reads", case_token_file_hand_made},
        {"tokens mode: client options", case_tokens_client_options},
        {"tokens mode: a lookup needs a token before it asks", case_tokens_lookup_before_sending},
        {"tokens mode: a BUSY costs the token sent, the retry takes another",
         case_tokens_busy_spends_the_token},
        {"tokens mode: a fetch checks the file before it asks", case_tokens_fetch_before_sending},
        {"tokens mode: failover takes a new token", case_tokens_failover_takes_a_new_token},
        {"fallback URLs: taken and refused", case_fallback_url_options},
        {"tokens mode: the random fetch delay is within the day", case_tokens_fetch_delay},
        {"VOPRF: an answer counts only when its proof holds",
         case_voprf_answer_counts_only_with_its_proof},
};

TEST_MAIN(cases)

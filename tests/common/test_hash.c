/*
 * The hash functions behind the OPRF suites: SHA-384, which is built here
 * on libsodium's SHA-512, against the FIPS 180-4 examples (and the
 * long-message value of the NIST example set), one-shot and incremental.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hash.h"

typedef struct sha384_row {
	const char *name;
	const char *message; /* repeated `repeat` times */
	size_t repeat;
	const char *digest; /* hex */
} sha384_row;

static const sha384_row sha384_rows[] = {
        {"SHA-384 of \"abc\" (one block)", "abc", 1,
         "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163"
         "1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"},
        {"SHA-384 of the empty string", "", 1,
         "38b060a751ac96384cd9327eb1b1e36a21fdb71114be0743"
         "4c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"},
        {"SHA-384 of the 112-byte two-block message",
         "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
         "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         1,
         "09330c33f71147e83d192fc782cd1b4753111b173b3b05d2"
         "2fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039"},
        {"SHA-384 of one million \"a\"", "a", 1000000,
         "9d0e1809716474cb086e834e310a4a1ced149e9c00f24852"
         "7972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8985"},
};

/* The row's message hashed one-shot, and fed in pieces of 1, 7 and 128 bytes. */
static int
check_sha384(const void *row)
{
	const sha384_row *r = row;
	const size_t part = strlen(r->message), len = part * r->repeat;
	uint8_t want[HASH_SHA384_BYTES], got[HASH_SHA384_BYTES];
	uint8_t *message = malloc(len + 1);
	int ok = 1;

	if (message == NULL || test_unhex(r->digest, want, sizeof(want)) != 0)
		abort();
	for (size_t i = 0; i < r->repeat; i++)
		memcpy(message + i * part, r->message, part);

	hash_once(&hash_sha384, message, len, got);
	ok &= memcmp(got, want, sizeof(want)) == 0;
	static const size_t pieces[] = {1, 7, 128};
	for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
		hash_state state;
		memset(got, 0, sizeof(got));
		hash_sha384.init(&state);
		for (size_t at = 0; at < len; at += pieces[p])
			hash_sha384.update(&state, message + at,
			                   len - at < pieces[p] ? len - at : pieces[p]);
		hash_sha384.final(&state, got);
		ok &= memcmp(got, want, sizeof(want)) == 0;
	}
	free(message);
	return ok;
}

TEST_ROWS_CASE(case_sha384_known_answers, sha384_rows, check_sha384)

static void
case_sha384_sizes(void)
{
	CHECK(hash_sha384.output_size == 48);
	CHECK(hash_sha384.block_size == 128);
	CHECK(strcmp(hash_sha384.name, "SHA384") == 0);
}

/* SHA-384 is not SHA-512 cut short: the initial values differ. */
static void
case_sha384_is_not_truncated_sha512(void)
{
	uint8_t a[HASH_SHA384_BYTES], b[HASH_MAX_OUTPUT_SIZE];
	hash_once(&hash_sha384, (const uint8_t *)"abc", 3, a);
	hash_once(&hash_sha512, (const uint8_t *)"abc", 3, b);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
}

static const test_case cases[] = {
        {"SHA-384 known answers", case_sha384_known_answers},
        {"SHA-384 sizes", case_sha384_sizes},
        {"SHA-384 is not truncated SHA-512", case_sha384_is_not_truncated_sha512},
};

TEST_MAIN(cases)

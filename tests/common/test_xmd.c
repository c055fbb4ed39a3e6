/*
 * expand_message_xmd against RFC 9380 Appendix K.1-K.3 (SHA-256, SHA-256
 * with an oversize DST, SHA-512), and its limits.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "vectors.h"
#include "xmd.h"

static const hash_alg *
hash_by_name(const char *name)
{
	if (strcmp(name, "SHA256") == 0)
		return &hash_sha256;
	if (strcmp(name, "SHA512") == 0)
		return &hash_sha512;
	return NULL;
}

/* Runs every test of every suite in the file; returns how many ran. */
static size_t
run_vectors(const char *want_hash)
{
	json_value *root = vectors_load(test_argv[0]);
	const json_value *suites = json_object_get(root, "suites");
	size_t ran = 0;

	for (size_t s = 0; s < json_array_size(suites); s++) {
		const json_value *suite = json_array_get(suites, s);
		const char *hash_name = vectors_string(suite, "hash");
		if (strcmp(hash_name, want_hash) != 0)
			continue;
		const hash_alg *h = hash_by_name(hash_name);
		const char *dst = vectors_string(suite, "DST");
		const json_value *tests = json_object_get(suite, "tests");
		if (h == NULL)
			abort();
		for (size_t t = 0; t < json_array_size(tests); t++) {
			const json_value *test = json_array_get(tests, t);
			const char *msg = vectors_string(test, "msg");
			const size_t out_len =
			        strtoul(vectors_string(test, "len_in_bytes"), NULL, 16);
			size_t want_len;
			uint8_t *want =
			        vectors_hex(vectors_string(test, "uniform_bytes"), &want_len);
			uint8_t *got = malloc(out_len);
			if (got == NULL || want_len != out_len)
				abort();
			CHECK(xmd_expand(h, (const uint8_t *)msg, strlen(msg), (const uint8_t *)dst,
			                 strlen(dst), got, out_len) == VEIL_OK);
			CHECK_BYTES(got, want, out_len);
			free(got);
			free(want);
			ran++;
		}
	}
	json_free(root);
	return ran;
}

static void
case_sha512_vectors(void)
{
	CHECK(run_vectors("SHA512") == 10);
}

static void
case_sha256_vectors_including_oversize_dst(void)
{
	CHECK(run_vectors("SHA256") == 20);
}

static void
case_limits(void)
{
	static const uint8_t dst[] = "DST";
	uint8_t out[256 * 64];

	memset(out, 0xaa, sizeof(out));
	/* SHA-256: 255 blocks of 32 bytes is the most one call may produce. */
	CHECK(xmd_expand(&hash_sha256, NULL, 0, dst, 3, out, 255 * 32) == VEIL_OK);
	CHECK(xmd_expand(&hash_sha256, NULL, 0, dst, 3, out, 255 * 32 + 1) == VEIL_ERR_LIMIT);
	CHECK(xmd_expand(&hash_sha512, NULL, 0, dst, 3, out, 0) == VEIL_ERR_LIMIT);
	CHECK(xmd_expand(&hash_sha512, NULL, 0, dst, 3, out, 65536) == VEIL_ERR_LIMIT);
	CHECK(xmd_expand(&hash_sha512, NULL, 5, dst, 3, out, 64) == VEIL_ERR_ARGUMENT);
	CHECK(xmd_expand(&hash_sha512, NULL, 0, NULL, 3, out, 64) == VEIL_ERR_ARGUMENT);
}

static void
case_failed_expand_leaves_no_output(void)
{
	static const uint8_t dst[] = "DST";
	uint8_t out[255 * 32 + 1];

	memset(out, 0xaa, sizeof(out));
	CHECK(xmd_expand(&hash_sha256, NULL, 0, dst, 3, out, sizeof(out)) == VEIL_ERR_LIMIT);
	uint8_t zero[sizeof(out)] = {0};
	CHECK(memcmp(out, zero, sizeof(out)) == 0);
}

static void
case_dst_changes_output(void)
{
	static const uint8_t msg[] = "abc";
	uint8_t a[64], b[64];

	CHECK(xmd_expand(&hash_sha512, msg, 3, (const uint8_t *)"A", 1, a, 64) == VEIL_OK);
	CHECK(xmd_expand(&hash_sha512, msg, 3, (const uint8_t *)"B", 1, b, 64) == VEIL_OK);
	CHECK(memcmp(a, b, 64) != 0);
}

static const test_case cases[] = {
        {"RFC 9380 K.3 SHA-512 vectors", case_sha512_vectors},
        {"RFC 9380 K.1-K.2 SHA-256 vectors (oversize DST)",
         case_sha256_vectors_including_oversize_dst},
        {"length limits", case_limits},
        {"failed expand leaves no output", case_failed_expand_leaves_no_output},
        {"domain separation", case_dst_changes_output},
};

TEST_MAIN_WITH(cases, .usage = "expand_message_xmd.json", .arguments = 1)

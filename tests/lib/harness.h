/*
 * A small test harness: a test program is a table of named cases, run in
 * order, reported as TAP so that meson counts and names them.
 *
 *   static void case_roundtrip(void) { CHECK(f() == 0); }
 *   static const test_case cases[] = { { "roundtrip", case_roundtrip } };
 *   int main(int argc, char **argv) { return test_main(argc, argv, cases, TEST_COUNT(cases)); }
 *
 * CHECK records a failure and goes on, so one run shows every broken
 * assertion of a case; REQUIRE also returns from the case.
 */
#ifndef VEIL_TESTS_HARNESS_H
#define VEIL_TESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct test_case {
	const char *name;
	void (*run)(void);
} test_case;

#define TEST_COUNT(cases) (sizeof(cases) / sizeof((cases)[0]))

/* Arguments after argv[0], as passed by meson (for example data paths). */
extern int test_argc;
extern char **test_argv;

void test_fail(const char *file, int line, const char *expr);
int test_main(int argc, char **argv, const test_case *cases, size_t count);

/* Number of CHECKs that ran in the current case (a case must check something). */
extern unsigned long test_checks;

#define CHECK(expr)                                                    \
	do {                                                           \
		test_checks++;                                         \
		if (!(expr))                                           \
			test_fail(__FILE__, __LINE__, #expr);          \
	} while (0)

#define REQUIRE(expr)                                                  \
	do {                                                           \
		test_checks++;                                         \
		if (!(expr)) {                                         \
			test_fail(__FILE__, __LINE__, #expr);          \
			return;                                        \
		}                                                      \
	} while (0)

/* Compares n bytes and, on mismatch, prints both sides in hex. */
#define CHECK_BYTES(got, want, n)                                                  \
	do {                                                                       \
		test_checks++;                                                     \
		test_check_bytes(__FILE__, __LINE__, #got, (got), (want), (n));    \
	} while (0)

void test_check_bytes(const char *file, int line, const char *what, const uint8_t *got,
		      const uint8_t *want, size_t n);

/* Reads a whole file into a NUL-terminated heap buffer; aborts on failure. */
char *test_read_file(const char *path, size_t *len_out);

/* Decodes hex of exactly 2 * n digits into out (n bytes); returns 0 or -1. */
int test_unhex(const char *hex, uint8_t *out, size_t n);

#endif

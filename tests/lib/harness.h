/*
 * A small test harness: a test program is a table of named cases, run in
 * order, reported as TAP so that meson counts and names them.
 *
 *   static void case_roundtrip(void) { CHECK(f() == 0); }
 *   static const test_case cases[] = { { "roundtrip", case_roundtrip } };
 *   TEST_MAIN(cases)
 *
 * A program that needs arguments (the paths meson passes), or state made
 * before its cases and removed after them, names them in its hooks:
 *
 *   TEST_MAIN_WITH(cases, .usage = "VEIL-ADMIN VEILD", .arguments = 2, .setup = setup)
 *
 * A case may also be a table of named rows that one function checks:
 * TEST_ROWS_CASE(case_valid, valid_rows, check_valid) defines that case.
 * A table whose every row is a case of its own is listed in the hooks:
 * TEST_MAIN_WITH(cases, TEST_TABLES(tables)).
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

/*
 * A table of rows, each checked by one function: check returns non-zero
 * when the row behaves as it says. Every row begins with its name (a
 * const char *), under which a failing row is reported.
 */
typedef struct test_table {
	const void *rows;
	size_t count, size;
	int (*check)(const void *row);
} test_table;

#define TEST_TABLE(rows, check)                                                                    \
	{                                                                                          \
		(rows), TEST_COUNT(rows), sizeof((rows)[0]), (check)                               \
	}

/* CHECKs every row of t. */
void test_rows(const test_table *t);

/* CHECKs every row of the array rows with check. */
#define CHECK_ROWS(rows, check) test_rows(&(const test_table)TEST_TABLE(rows, check))

/* Defines the case fn, which CHECKs every row of the array rows with check. */
#define TEST_ROWS_CASE(fn, rows, check)                                                            \
	static void fn(void)                                                                       \
	{                                                                                          \
		CHECK_ROWS(rows, check);                                                           \
	}

/* What a test program needs around its cases. Every member may be left out. */
typedef struct test_hooks {
	const char *usage;        /* its arguments, for the usage line ("VEIL-ADMIN VEILD") */
	int arguments;            /* how many arguments it needs at least */
	const char *temp_dir;     /* when set, test_dir is a fresh directory named after it */
	void (*setup)(void);      /* after the arguments are counted; aborts on failure */
	int (*teardown)(void);    /* after the last case; non-zero fails the run */
	const test_table *tables; /* each row a case, named by the row; after the others */
	size_t table_count;
} test_hooks;

/* The hooks of a program whose cases include tables. */
#define TEST_TABLES(tables) .tables = (tables), .table_count = TEST_COUNT(tables)

/*
 * Counts the arguments (exit 2 with a usage line when too few),
 * initializes the crypto libraries (veil_crypto_init), makes test_dir,
 * runs setup, every case, then teardown, and removes test_dir with
 * everything in it. Returns the exit status: 0 when every case passed.
 */
int test_main(int argc, char **argv, const test_case *cases, size_t count, const test_hooks *hooks);

#define TEST_MAIN(cases)                                                                           \
	int main(int argc, char **argv)                                                            \
	{                                                                                          \
		return test_main(argc, argv, cases, TEST_COUNT(cases), NULL);                      \
	}

#define TEST_MAIN_WITH(cases, ...)                                                                 \
	int main(int argc, char **argv)                                                            \
	{                                                                                          \
		static const test_hooks hooks = {__VA_ARGS__};                                     \
		return test_main(argc, argv, cases, TEST_COUNT(cases), &hooks);                    \
	}

/* Arguments after argv[0], as passed by meson (for example data paths). */
extern int test_argc;
extern char **test_argv;

/* The program's temporary directory (see test_hooks.temp_dir), or NULL. */
extern char *test_dir;

/* Calls fn(arg) when the running case ends (the last deferred first). */
void test_defer(void (*fn)(void *arg), void *arg);

/* Frees p when the running case ends; returns p. */
void *test_keep(void *p);

/* A fresh directory for the running case, made on the first call and
 * removed with everything in it when the case ends. */
const char *test_case_dir(void);

/* test_case_dir()/name (not created), freed when the case ends. */
const char *test_case_path(const char *name);

/* The name of the case running: a function that serves several cases
 * (one per row group of a table) finds its rows by it. */
extern const char *test_case_name;

void test_fail(const char *file, int line, const char *expr);

/* Number of CHECKs that ran in the current case (a case must check something). */
extern unsigned long test_checks;

#define CHECK(expr)                                                                                \
	do {                                                                                       \
		test_checks++;                                                                     \
		if (!(expr))                                                                       \
			test_fail(__FILE__, __LINE__, #expr);                                      \
	} while (0)

#define REQUIRE(expr)                                                                              \
	do {                                                                                       \
		test_checks++;                                                                     \
		if (!(expr)) {                                                                     \
			test_fail(__FILE__, __LINE__, #expr);                                      \
			return;                                                                    \
		}                                                                                  \
	} while (0)

/* A CHECK for one row of a table: a failure is reported under the row's name. */
#define CHECK_ROW(expr, name)                                                                      \
	do {                                                                                       \
		test_checks++;                                                                     \
		if (!(expr))                                                                       \
			test_fail(__FILE__, __LINE__, (name));                                     \
	} while (0)

/* Compares n bytes and, on mismatch, prints both sides in hex. */
#define CHECK_BYTES(got, want, n)                                                                  \
	do {                                                                                       \
		test_checks++;                                                                     \
		test_check_bytes(__FILE__, __LINE__, #got, (got), (want), (n));                    \
	} while (0)

void test_check_bytes(const char *file, int line, const char *what, const uint8_t *got,
                      const uint8_t *want, size_t n);

/* Reads a whole file into a NUL-terminated heap buffer; aborts on failure. */
char *test_read_file(const char *path, size_t *len_out);

/* How many times c occurs in s. */
size_t test_count_char(const char *s, char c);

/* Whether the n bytes of needle occur in the len bytes of hay. */
int test_contains(const void *hay, size_t len, const void *needle, size_t n);

/* 1 when a and b, past their first skip bytes each, share a run of 8
 * bytes: what a wiretap could link two messages by. */
int test_share_run(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, size_t skip);

/* Decodes hex of exactly 2 * n digits into out (n bytes); returns 0 or -1. */
int test_unhex(const char *hex, uint8_t *out, size_t n);

/*
 * How long a test waits for something that only a hang would keep from
 * happening (a daemon's readiness, another thread's progress): long
 * enough for a slow machine or a sanitizer build, so that only a real
 * hang fails.
 */
#define TEST_PATIENCE_SECONDS 60.0

/*
 * Polls done(arg) until it returns non-zero or TEST_PATIENCE_SECONDS have
 * passed. Returns 1 when it did, 0 on the deadline.
 */
int test_wait_until(int (*done)(void *arg), void *arg);

#endif

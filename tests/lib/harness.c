#include "harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clock.h"
#include "file.h"
#include "oprf.h"
#include "proc.h"

int test_argc;
char **test_argv;
char *test_dir;
const char *test_case_name;
unsigned long test_checks;
static unsigned long case_failures;

void
test_fail(const char *file, int line, const char *expr)
{
	case_failures++;
	printf("# FAIL %s:%d: %s\n", file, line, expr);
	fflush(stdout);
}

static void
print_hex(const char *label, const uint8_t *b, size_t n)
{
	printf("#   %s ", label);
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

void
test_check_bytes(const char *file, int line, const char *what, const uint8_t *got,
                 const uint8_t *want, size_t n)
{
	if (memcmp(got, want, n) == 0)
		return;
	test_fail(file, line, what);
	print_hex("got: ", got, n);
	print_hex("want:", want, n);
}

char *
test_read_file(const char *path, size_t *len_out)
{
	char *text = NULL;
	size_t len = 0;
	if (file_read_all(path, SIZE_MAX, &text, &len) != 0) {
		perror(path);
		abort();
	}
	if (len_out != NULL)
		*len_out = len;
	return text;
}

size_t
test_count_char(const char *s, char c)
{
	size_t n = 0;
	while ((s = strchr(s, c)) != NULL && *s++ != '\0')
		n++;
	return n;
}

int
test_share_run(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, size_t skip)
{
	for (size_t i = skip; i + 8 <= a_len; i++)
		for (size_t j = skip; j + 8 <= b_len; j++)
			if (memcmp(a + i, b + j, 8) == 0)
				return 1;
	return 0;
}

int
test_contains(const void *hay, size_t len, const void *needle, size_t n)
{
	const uint8_t *at = hay, *end = at + len;
	if (n == 0)
		return 1;
	/* memchr finds the candidates: the tests scan whole database files. */
	while (n <= (size_t)(end - at) &&
	       (at = memchr(at, *(const uint8_t *)needle, (size_t)(end - at) - n + 1)) != NULL) {
		if (memcmp(at, needle, n) == 0)
			return 1;
		at++;
	}
	return 0;
}

int
test_unhex(const char *hex, uint8_t *out, size_t n)
{
	size_t got = 0;
	const char *end = NULL;
	if (strlen(hex) != 2 * n || sodium_hex2bin(out, n, hex, 2 * n, NULL, &got, &end) != 0 ||
	    got != n)
		return -1;
	return 0;
}

/* What runs when the case ends. */
typedef struct deferred {
	void (*fn)(void *arg);
	void *arg;
	struct deferred *next;
} deferred;

static deferred *to_run;
static char *case_dir;

void
test_defer(void (*fn)(void *arg), void *arg)
{
	deferred *d = malloc(sizeof(*d));
	if (d == NULL)
		abort();
	d->fn = fn;
	d->arg = arg;
	d->next = to_run;
	to_run = d;
}

void *
test_keep(void *p)
{
	test_defer(free, p);
	return p;
}

static void
remove_case_dir(void *dir)
{
	proc_remove_tree(dir);
	free(dir);
	case_dir = NULL;
}

const char *
test_case_dir(void)
{
	if (case_dir == NULL) {
		case_dir = proc_temp_dir("case");
		test_defer(remove_case_dir, case_dir);
	}
	return case_dir;
}

const char *
test_case_path(const char *name)
{
	return proc_path(test_case_dir(), name);
}

/* Runs what was deferred since the list was at mark. */
static void
run_deferred(const deferred *mark)
{
	while (to_run != mark) {
		deferred *d = to_run;
		to_run = d->next;
		d->fn(d->arg);
		free(d);
	}
}

void
test_rows(const test_table *t)
{
	const char *row = t->rows;
	for (size_t i = 0; i < t->count; i++, row += t->size)
		CHECK_ROW(t->check(row), *(const char *const *)(const void *)row);
}

int
test_wait_until(int (*done)(void *arg), void *arg)
{
	const double deadline = clock_monotonic_seconds() + TEST_PATIENCE_SECONDS;
	while (!done(arg)) {
		if (clock_monotonic_seconds() > deadline)
			return 0;
		clock_sleep_seconds(0.01);
	}
	return 1;
}

int
test_main(int argc, char **argv, const test_case *cases, size_t count, const test_hooks *hooks)
{
	static const test_hooks none;
	if (hooks == NULL)
		hooks = &none;
	test_argc = argc - 1;
	test_argv = argv + 1;
	if (test_argc < hooks->arguments) {
		fprintf(stderr, "usage: %s %s\n", argv[0], hooks->usage ? hooks->usage : "");
		return 2;
	}
	if (veil_crypto_init() != VEIL_OK) {
		fprintf(stderr, "%s: cannot initialize the crypto libraries\n", argv[0]);
		return 2;
	}
	if (hooks->temp_dir != NULL)
		test_dir = proc_temp_dir(hooks->temp_dir);
	if (hooks->setup != NULL)
		hooks->setup();

	/* The cases, then each row of each table as a case of its own. */
	size_t total = count;
	for (size_t t = 0; t < hooks->table_count; t++)
		total += hooks->tables[t].count;
	unsigned long failed = 0;
	printf("1..%zu\n", total);
	size_t table = 0, row = 0;
	for (size_t i = 0; i < total; i++) {
		case_failures = 0;
		test_checks = 0;
		const deferred *before = to_run;
		if (i < count) {
			test_case_name = cases[i].name;
			cases[i].run();
		} else {
			while (row == hooks->tables[table].count) {
				table++; /* done, or no rows */
				row = 0;
			}
			const test_table *t = &hooks->tables[table];
			const test_table one = {(const char *)t->rows + row++ * t->size, 1, t->size,
			                        t->check};
			test_case_name = *(const char *const *)one.rows;
			test_rows(&one);
		}
		run_deferred(before);
		if (test_checks == 0) {
			/* A case that asserts nothing proves nothing. */
			printf("# case ran no CHECK\n");
			case_failures++;
		}
		printf("%s %zu - %s\n", case_failures ? "not ok" : "ok", i + 1, test_case_name);
		fflush(stdout);
		if (case_failures)
			failed++;
	}
	if (hooks->teardown != NULL && hooks->teardown() != 0)
		failed++;
	run_deferred(NULL);
	if (test_dir != NULL) {
		proc_remove_tree(test_dir);
		free(test_dir);
		test_dir = NULL;
	}
	return failed ? 1 : 0;
}

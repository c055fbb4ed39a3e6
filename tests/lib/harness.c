#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int test_argc;
char **test_argv;
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
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		abort();
	}
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (buf == NULL)
		abort();
	for (;;) {
		if (len + 1 >= cap) {
			cap *= 2;
			char *grown = realloc(buf, cap);
			if (grown == NULL)
				abort();
			buf = grown;
		}
		size_t got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		abort();
	fclose(f);
	buf[len] = '\0';
	if (len_out != NULL)
		*len_out = len;
	return buf;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
test_unhex(const char *hex, uint8_t *out, size_t n)
{
	if (strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int
test_main(int argc, char **argv, const test_case *cases, size_t count)
{
	test_argc = argc - 1;
	test_argv = argv + 1;
	unsigned long failed = 0;

	printf("1..%zu\n", count);
	for (size_t i = 0; i < count; i++) {
		case_failures = 0;
		test_checks = 0;
		cases[i].run();
		if (test_checks == 0) {
			/* A case that asserts nothing proves nothing. */
			printf("# case ran no CHECK\n");
			case_failures++;
		}
		printf("%s %zu - %s\n", case_failures ? "not ok" : "ok", i + 1, cases[i].name);
		fflush(stdout);
		if (case_failures)
			failed++;
	}
	return failed ? 1 : 0;
}

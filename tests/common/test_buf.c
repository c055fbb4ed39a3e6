#include "buf.h"

#include <string.h>

#include "harness.h"

static void
case_empty(void)
{
	buf b;
	buf_init(&b);
	CHECK(buf_len(&b) == 0);
	CHECK(strcmp(buf_data(&b), "") == 0);
	CHECK(buf_error(&b) == VEIL_OK);
	buf_free(&b);
	buf_free(&b); /* freeing twice leaves an empty buffer, as documented */
	CHECK(buf_len(&b) == 0);
}

static void
case_append(void)
{
	buf b;
	buf_init(&b);
	CHECK(buf_append(&b, "ab", 2) == VEIL_OK);
	CHECK(buf_append(&b, NULL, 0) == VEIL_OK);
	CHECK(buf_append_str(&b, "cd") == VEIL_OK);
	CHECK(buf_append_byte(&b, 'e') == VEIL_OK);
	CHECK(buf_len(&b) == 5);
	CHECK(strcmp(buf_data(&b), "abcde") == 0);
	buf_free(&b);
}

static void
case_append_nul_byte(void)
{
	buf b;
	buf_init(&b);
	CHECK(buf_append(&b, "a\0b", 3) == VEIL_OK);
	CHECK(buf_len(&b) == 3);
	CHECK(memcmp(buf_data(&b), "a\0b", 4) == 0); /* and the terminating NUL */
	buf_free(&b);
}

static void
case_growth(void)
{
	buf b;
	buf_init(&b);
	char expect[10000];
	for (size_t i = 0; i < sizeof(expect); i++) {
		expect[i] = (char)('a' + i % 26);
		if (buf_append_byte(&b, expect[i]) != VEIL_OK)
			break;
	}
	CHECK(buf_len(&b) == sizeof(expect));
	CHECK(memcmp(buf_data(&b), expect, sizeof(expect)) == 0);
	CHECK(buf_data(&b)[sizeof(expect)] == '\0');
	buf_free(&b);
}

static void
case_printf(void)
{
	buf b;
	buf_init(&b);
	CHECK(buf_printf(&b, "%s=%d", "x", 42) == VEIL_OK);
	CHECK(buf_printf(&b, "%s", "") == VEIL_OK);
	CHECK(buf_printf(&b, ";%05u", 7u) == VEIL_OK);
	CHECK(strcmp(buf_data(&b), "x=42;00007") == 0);
	CHECK(buf_len(&b) == 10);
	buf_free(&b);
}

static void
case_printf_long(void)
{
	buf b;
	buf_init(&b);
	char big[5000];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(buf_append_str(&b, "<") == VEIL_OK);
	CHECK(buf_printf(&b, "%s>", big) == VEIL_OK);
	CHECK(buf_len(&b) == sizeof(big) + 1);
	CHECK(buf_data(&b)[0] == '<' && buf_data(&b)[sizeof(big)] == '>');
	buf_free(&b);
}

static void
case_truncate(void)
{
	buf b;
	buf_init(&b);
	CHECK(buf_append_str(&b, "hello world") == VEIL_OK);
	buf_truncate(&b, 5);
	CHECK(buf_len(&b) == 5);
	CHECK(strcmp(buf_data(&b), "hello") == 0);
	buf_truncate(&b, 5);
	CHECK(strcmp(buf_data(&b), "hello") == 0);
	buf_truncate(&b, 0);
	CHECK(buf_len(&b) == 0 && strcmp(buf_data(&b), "") == 0);
	buf_free(&b);
	buf_truncate(&b, 0); /* on a buffer that never allocated */
	CHECK(buf_len(&b) == 0);
}

/* Resets b, which holds data or an error, and checks that it is empty,
 * without error, and takes appends again. */
static void
check_reset(buf *b)
{
	buf_reset(b);
	CHECK(buf_len(b) == 0);
	CHECK(strcmp(buf_data(b), "") == 0);
	CHECK(buf_error(b) == VEIL_OK);
	CHECK(buf_append_str(b, "again") == VEIL_OK);
	CHECK(strcmp(buf_data(b), "again") == 0);
}

static void
case_reset(void)
{
	buf b;
	buf_init(&b);
	CHECK(buf_append_str(&b, "secret") == VEIL_OK);
	check_reset(&b);
	buf_free(&b);
}

static void
case_limit_is_sticky(void)
{
	buf b;
	buf_init(&b);
	CHECK(buf_append_str(&b, "keep") == VEIL_OK);
	/* Rejected on size alone: the data pointer is never read. */
	CHECK(buf_append(&b, "", BUF_MAX_SIZE) == VEIL_ERR_LIMIT);
	CHECK(buf_error(&b) == VEIL_ERR_LIMIT);
	CHECK(strcmp(buf_data(&b), "keep") == 0);
	CHECK(buf_append_str(&b, "more") == VEIL_ERR_LIMIT);
	CHECK(buf_printf(&b, "%d", 1) == VEIL_ERR_LIMIT);
	CHECK(buf_append_byte(&b, 'x') == VEIL_ERR_LIMIT);
	CHECK(strcmp(buf_data(&b), "keep") == 0);
	buf_truncate(&b, 2);
	CHECK(buf_error(&b) == VEIL_ERR_LIMIT);
	check_reset(&b);
	buf_free(&b);
}

static void
case_limit_on_empty(void)
{
	buf b;
	buf_init(&b);
	CHECK(buf_append(&b, "", BUF_MAX_SIZE + 1) == VEIL_ERR_LIMIT);
	CHECK(buf_len(&b) == 0 && strcmp(buf_data(&b), "") == 0);
	buf_free(&b);
	CHECK(buf_error(&b) == VEIL_OK); /* free clears the error too */
}

static const test_case cases[] = {
        {"empty", case_empty},
        {"append", case_append},
        {"append_nul_byte", case_append_nul_byte},
        {"growth", case_growth},
        {"printf", case_printf},
        {"printf_long", case_printf_long},
        {"truncate", case_truncate},
        {"reset", case_reset},
        {"limit_is_sticky", case_limit_is_sticky},
        {"limit_on_empty", case_limit_on_empty},
};

TEST_MAIN(cases)

/*
 * The readers cli.h offers for values read elsewhere than argv:
 * cli_parse_u32() (decimal, whole text, no sign, within [min, max]) and
 * cli_config_option(), which sets a configuration file's key through a
 * program's option table, each kind checked as the command line checks
 * it. A refused value leaves its target as it was (a text's: NULL).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "harness.h"

/* ------------------------------------------------------------------ */
/* cli_parse_u32 */

#define UNTOUCHED 0xdeadbeefu

typedef struct u32_row {
	const char *name;
	const char *text;
	uint32_t min, max;
	int ok;
	uint32_t want; /* when ok */
} u32_row;

static const u32_row u32_rows[] = {
        {"zero at the bottom of the range", "0", 0, 10, 1, 0},
        {"the top of the range", "10", 1, 10, 1, 10},
        {"the largest 32-bit value", "4294967295", 0, UINT32_MAX, 1, UINT32_MAX},
        {"one past 32 bits", "4294967296", 0, UINT32_MAX, 0, 0},
        {"past 64 bits", "99999999999999999999", 0, UINT32_MAX, 0, 0},
        {"below the range", "0", 1, 10, 0, 0},
        {"above the range", "11", 1, 10, 0, 0},
        {"a minus sign", "-1", 0, 10, 0, 0},
        {"a plus sign", "+1", 0, 10, 0, 0},
        {"a leading space", " 1", 0, 10, 0, 0},
        {"a trailing space", "1 ", 0, 10, 0, 0},
        {"empty", "", 0, 10, 0, 0},
        {"hexadecimal", "0x10", 0, 100, 0, 0},
        {"a fraction", "1.5", 0, 10, 0, 0},
        {"a word", "ten", 0, 10, 0, 0},
};

static int
check_u32(const void *row)
{
	const u32_row *r = row;
	uint32_t out = UNTOUCHED;
	const int rc = cli_parse_u32(r->text, r->min, r->max, &out);
	if (r->ok)
		return rc == 0 && out == r->want;
	return rc == -1 && out == UNTOUCHED;
}

/* ------------------------------------------------------------------ */
/* cli_config_option */

/* The targets of the table below. */
typedef struct targets {
	const char *state;  /* CLI_TEXT */
	uint32_t batch_cap; /* CLI_U32, 1..100 */
	uint32_t threads;   /* CLI_U32, max 0: the type's largest */
	uint64_t accounts;  /* CLI_U64, 1..1000 */
	int64_t offset;     /* CLI_I64, -50..50 */
	double ratio;       /* CLI_DOUBLE, 0.5..2 */
	bool force;         /* CLI_FLAG, false until set */
	bool allow;         /* CLI_FLAG, true until set */
} targets;

/* The targets in the order above. */
#define TARGETS(state, batch_cap, threads, accounts, offset, ratio, force, allow)                  \
	{                                                                                          \
		(state), (batch_cap), (threads), (accounts), (offset), (ratio), (force), (allow)   \
	}
/* What every row starts from; a row that changes nothing wants it back. */
#define DEFAULTS TARGETS(NULL, 7, 3, 9, 3, 1.0, false, true)

/* The table, over t; the text option at index STATE_INDEX. */
#define STATE_INDEX 0
#define TABLE(t)                                                                                   \
	{                                                                                          \
		CLI_TEXT_OPTION("state", &(t)->state),                                             \
		        CLI_U32_OPTION("batch-cap", &(t)->batch_cap, 1, 100),                      \
		        CLI_U32_OPTION("threads", &(t)->threads, 1, 0),                            \
		        CLI_U64_OPTION("accounts", &(t)->accounts, 1, 1000),                       \
		        CLI_I64_OPTION("clock-offset", &(t)->offset, -50, 50),                     \
		        CLI_DOUBLE_OPTION("ratio", &(t)->ratio, 0.5, 2.0),                         \
		        CLI_FLAG_OPTION("force-clock-offset", &(t)->force),                        \
		        CLI_FLAG_OPTION("allow-long-retention", &(t)->allow), CLI_END,             \
	}

typedef struct config_row {
	const char *name;
	const char *key, *value;
	int rc;
	targets want;
} config_row;

static const config_row config_rows[] = {
        {"a text", "state", "/srv/veil", CLI_CONFIG_OK,
         TARGETS("/srv/veil", 7, 3, 9, 3, 1.0, false, true)},
        {"an empty text", "state", "", CLI_CONFIG_BAD_VALUE, DEFAULTS},
        {"a u32, '_' for '-'", "batch_cap", "42", CLI_CONFIG_OK,
         TARGETS(NULL, 42, 3, 9, 3, 1.0, false, true)},
        {"a u32 at the bottom", "batch_cap", "1", CLI_CONFIG_OK,
         TARGETS(NULL, 1, 3, 9, 3, 1.0, false, true)},
        {"a u32 below the range", "batch_cap", "0", CLI_CONFIG_BAD_VALUE, DEFAULTS},
        {"a u32 above the range", "batch_cap", "101", CLI_CONFIG_BAD_VALUE, DEFAULTS},
        {"a u32 that is no number", "batch_cap", "ten", CLI_CONFIG_BAD_VALUE, DEFAULTS},
        {"a negative u32", "batch_cap", "-1", CLI_CONFIG_BAD_VALUE, DEFAULTS},
        {"a u32 up to the type's largest", "threads", "4294967295", CLI_CONFIG_OK,
         TARGETS(NULL, 7, UINT32_MAX, 9, 3, 1.0, false, true)},
        {"a u32 past 32 bits", "threads", "4294967296", CLI_CONFIG_BAD_VALUE, DEFAULTS},
        {"a u64", "accounts", "1000", CLI_CONFIG_OK,
         TARGETS(NULL, 7, 3, 1000, 3, 1.0, false, true)},
        {"a u64 above the range", "accounts", "1001", CLI_CONFIG_BAD_VALUE, DEFAULTS},
        {"a negative i64", "clock_offset", "-50", CLI_CONFIG_OK,
         TARGETS(NULL, 7, 3, 9, -50, 1.0, false, true)},
        {"an i64 with a plus sign", "clock_offset", "+7", CLI_CONFIG_OK,
         TARGETS(NULL, 7, 3, 9, 7, 1.0, false, true)},
        {"an i64 below the range", "clock_offset", "-51", CLI_CONFIG_BAD_VALUE, DEFAULTS},
        {"an i64 above the range", "clock_offset", "51", CLI_CONFIG_BAD_VALUE, DEFAULTS},
        {"a double", "ratio", "1.5", CLI_CONFIG_OK, TARGETS(NULL, 7, 3, 9, 3, 1.5, false, true)},
        {"a double above the range", "ratio", "2.5", CLI_CONFIG_BAD_VALUE, DEFAULTS},
        {"a double that is not a number", "ratio", "nan", CLI_CONFIG_BAD_VALUE, DEFAULTS},
        {"a flag set by yes", "force_clock_offset", "yes", CLI_CONFIG_OK,
         TARGETS(NULL, 7, 3, 9, 3, 1.0, true, true)},
        {"a flag cleared by no", "allow_long_retention", "no", CLI_CONFIG_OK,
         TARGETS(NULL, 7, 3, 9, 3, 1.0, false, false)},
        {"a flag given true", "force_clock_offset", "true", CLI_CONFIG_BAD_VALUE, DEFAULTS},
        {"a flag given 1", "allow_long_retention", "1", CLI_CONFIG_BAD_VALUE, DEFAULTS},
        {"a flag given nothing", "force_clock_offset", "", CLI_CONFIG_BAD_VALUE, DEFAULTS},
        {"an unknown key", "colour", "red", CLI_CONFIG_UNKNOWN, DEFAULTS},
        {"a key that only begins a name", "batch", "42", CLI_CONFIG_UNKNOWN, DEFAULTS},
        {"a name's other case", "Batch_Cap", "42", CLI_CONFIG_UNKNOWN, DEFAULTS},
        {"the help option is no key", "help", "yes", CLI_CONFIG_UNKNOWN, DEFAULTS},
        {"a key longer than any name",
         "batch_cap_batch_cap_batch_cap_batch_cap_batch_cap_batch_cap_batch_cap", "42",
         CLI_CONFIG_UNKNOWN, DEFAULTS},
};

static int
same_targets(const targets *a, const targets *b)
{
	const int texts = a->state == NULL || b->state == NULL ? a->state == b->state
	                                                       : strcmp(a->state, b->state) == 0;
	return texts && a->batch_cap == b->batch_cap && a->threads == b->threads &&
	       a->accounts == b->accounts && a->offset == b->offset && a->ratio == b->ratio &&
	       a->force == b->force && a->allow == b->allow;
}

static int
check_config(const void *row)
{
	const config_row *r = row;
	targets t = DEFAULTS;
	const cli_option table[] = TABLE(&t);
	char *texts[CLI_MAX_OPTIONS] = {NULL};
	const int rc = cli_config_option(table, r->key, r->value, texts);
	int ok = rc == r->rc && same_targets(&t, &r->want);
	/* A text is a copy, kept in texts at the option's index; nothing else is. */
	for (size_t i = 0; i < CLI_MAX_OPTIONS; i++)
		ok &= i == STATE_INDEX ? texts[i] == t.state : texts[i] == NULL;
	ok &= t.state != r->value;
	for (size_t i = 0; i < CLI_MAX_OPTIONS; i++)
		free(texts[i]);
	return ok;
}

/* A key given twice: the last value, the first copy replaced; a bad
 * text after a good one leaves none. */
static void
case_text_given_twice(void)
{
	targets t = DEFAULTS;
	const cli_option table[] = TABLE(&t);
	char *texts[CLI_MAX_OPTIONS] = {NULL};
	char value[] = "/first";
	CHECK(cli_config_option(table, "state", value, texts) == CLI_CONFIG_OK);
	value[1] = 'X'; /* the caller's buffer changes; the copy does not */
	CHECK(t.state != NULL && strcmp(t.state, "/first") == 0);
	CHECK(cli_config_option(table, "state", "/second", texts) == CLI_CONFIG_OK);
	CHECK(t.state == texts[STATE_INDEX] && strcmp(t.state, "/second") == 0);
	CHECK(cli_config_option(table, "state", "", texts) == CLI_CONFIG_BAD_VALUE);
	CHECK(t.state == NULL && texts[STATE_INDEX] == NULL);
	for (size_t i = 0; i < CLI_MAX_OPTIONS; i++)
		free(texts[i]);
}

TEST_ROWS_CASE(case_parse_u32, u32_rows, check_u32)
TEST_ROWS_CASE(case_config_option, config_rows, check_config)

static const test_case cases[] = {
        {"cli_parse_u32: decimal, whole, within the range", case_parse_u32},
        {"cli_config_option: each kind through the table", case_config_option},
        {"cli_config_option: a text given twice", case_text_given_twice},
};

TEST_MAIN(cases)

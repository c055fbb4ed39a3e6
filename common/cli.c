#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"

/* getopt_long values: the table's options from OPTION_BASE on. */
#define OPTION_HELP    'h'
#define OPTION_VERSION 1
#define OPTION_BASE    256

const char *
cli_version(void)
{
	return VEIL_VERSION;
}

void
cli_print_usage(const cli_command *cmd, FILE *f)
{
	fprintf(f, "usage: %s %s\n", cmd->name, cmd->synopsis != NULL ? cmd->synopsis : "");
}

/* "NAME: <message>\n" on stderr. */
static void verror(const char *name, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));

static void
verror(const char *name, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
cli_error(const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verror(name, fmt, ap);
	va_end(ap);
}

int
cli_usage_error(const cli_command *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verror(cmd->name, fmt, ap);
	va_end(ap);
	cli_print_usage(cmd, stderr);
	fprintf(stderr, "('%s --help' says more)\n", cmd->name);
	return CLI_EXIT_USAGE;
}

int
cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	if (text[0] < '0' || text[0] > '9')
		return -1; /* no sign, no space: strtoull would take " -1" */
	char *end = NULL;
	errno = 0;
	const unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
cli_parse_i64(const char *text, int64_t min, int64_t max, int64_t *out)
{
	const char *digits = text[0] == '-' || text[0] == '+' ? text + 1 : text;
	if (digits[0] < '0' || digits[0] > '9')
		return -1;
	char *end = NULL;
	errno = 0;
	const long long v = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
cli_parse_double(const char *text, double low, double high, double *out)
{
	if (text[0] == '\0' || text[0] == ' ' || text[0] == '\t')
		return -1;
	char *end = NULL;
	errno = 0;
	const double v = strtod(text, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || !(v >= low) || !(v <= high))
		return -1;
	*out = v;
	return 0;
}

/* The largest value of a CLI_U32 or CLI_U64 option. */
static uint64_t
unsigned_max(const cli_option *o)
{
	const uint64_t type_max = o->kind == CLI_U32 ? UINT32_MAX : UINT64_MAX;
	return o->max == 0 || o->max > type_max ? type_max : o->max;
}

/* The range of a CLI_I64 option. */
static void
signed_range(const cli_option *o, int64_t *min, int64_t *max)
{
	const bool any = o->smin == 0 && o->smax == 0;
	*min = any ? INT64_MIN : o->smin;
	*max = any ? INT64_MAX : o->smax;
}

/* The range of a CLI_DOUBLE option; any: none was given. */
static void
double_range(const cli_option *o, double *low, double *high, bool *any)
{
	*any = o->low == 0 && o->high == 0;
	*low = *any ? -HUGE_VAL : o->low;
	*high = *any ? HUGE_VAL : o->high;
}

/* Checks a number's text against o's range and stores it; 0, or -1
 * (the target untouched). */
static int
store_number(const cli_option *o, const char *value)
{
	switch (o->kind) {
	case CLI_U32:
	case CLI_U64: {
		uint64_t v;
		if (cli_parse_u64(value, o->min, unsigned_max(o), &v) != 0)
			return -1;
		if (o->kind == CLI_U32)
			*(uint32_t *)o->target = (uint32_t)v;
		else
			*(uint64_t *)o->target = v;
		return 0;
	}
	case CLI_I64: {
		int64_t min, max;
		signed_range(o, &min, &max);
		return cli_parse_i64(value, min, max, (int64_t *)o->target);
	}
	case CLI_DOUBLE: {
		double low, high;
		bool any;
		double_range(o, &low, &high, &any);
		return cli_parse_double(value, low, high, (double *)o->target);
	}
	default:
		return -1;
	}
}

/* Checks and stores one value; 0, or CLI_EXIT_USAGE after the message. */
static int
store(const cli_command *cmd, const cli_option *o, const char *value)
{
	if (o->kind != CLI_FLAG && value[0] == '\0')
		return cli_usage_error(cmd, "--%s needs a value", o->name);
	switch (o->kind) {
	case CLI_FLAG:
		*(bool *)o->target = true;
		return 0;
	case CLI_TEXT:
		*(const char **)o->target = value;
		return 0;
	case CLI_U32:
	case CLI_U64:
		if (store_number(o, value) != 0)
			return cli_usage_error(cmd,
			                       "--%s takes a whole number from %" PRIu64
			                       " to %" PRIu64 ", not '%s'",
			                       o->name, o->min, unsigned_max(o), value);
		return 0;
	case CLI_I64: {
		int64_t min, max;
		signed_range(o, &min, &max);
		if (store_number(o, value) != 0)
			return cli_usage_error(cmd,
			                       "--%s takes a whole number from %" PRId64
			                       " to %" PRId64 ", not '%s'",
			                       o->name, min, max, value);
		return 0;
	}
	case CLI_DOUBLE: {
		double low, high;
		bool any;
		double_range(o, &low, &high, &any);
		if (store_number(o, value) != 0) {
			if (any)
				return cli_usage_error(cmd, "--%s takes a number, not '%s'",
				                       o->name, value);
			return cli_usage_error(cmd, "--%s takes a number from %g to %g, not '%s'",
			                       o->name, low, high, value);
		}
		return 0;
	}
	}
	return cli_usage_error(cmd, "--%s: unknown option kind", o->name);
}

int
cli_config_option(const cli_option *table, const char *key, const char *value,
                  char *texts[CLI_MAX_OPTIONS])
{
	char name[64];
	const size_t len = strlen(key);
	if (len >= sizeof(name))
		return CLI_CONFIG_UNKNOWN;
	for (size_t i = 0; i <= len; i++)
		name[i] = key[i] == '_' ? '-' : key[i];
	for (size_t i = 0; table[i].name != NULL && i < CLI_MAX_OPTIONS; i++) {
		const cli_option *o = &table[i];
		if (strcmp(o->name, name) != 0)
			continue;
		switch (o->kind) {
		case CLI_FLAG:
			if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
				return CLI_CONFIG_BAD_VALUE;
			*(bool *)o->target = strcmp(value, "yes") == 0;
			return CLI_CONFIG_OK;
		case CLI_TEXT: /* a key given twice: the last one */
			free(texts[i]);
			texts[i] = value[0] != '\0' ? strdup(value) : NULL;
			*(const char **)o->target = texts[i];
			return texts[i] != NULL ? CLI_CONFIG_OK : CLI_CONFIG_BAD_VALUE;
		default:
			return store_number(o, value) == 0 ? CLI_CONFIG_OK : CLI_CONFIG_BAD_VALUE;
		}
	}
	return CLI_CONFIG_UNKNOWN;
}

int
cli_parse_u32(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;
	if (cli_parse_u64(text, min, max, &v) != 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

cli_result
cli_parse(const cli_command *cmd, int argc, char **argv, int *first)
{
	struct option longopts[CLI_MAX_OPTIONS + 3];
	size_t n = 0;

	*first = argc;
	for (const cli_option *o = cmd->options; o != NULL && o->name != NULL; o++) {
		if (n == CLI_MAX_OPTIONS)
			abort(); /* the program's table is wrong, not its input */
		longopts[n] = (struct option){o->name,
		                              o->kind == CLI_FLAG ? no_argument : required_argument,
		                              NULL, OPTION_BASE + (int)n};
		n++;
	}
	longopts[n++] = (struct option){"help", no_argument, NULL, OPTION_HELP};
	longopts[n++] = (struct option){"version", no_argument, NULL, OPTION_VERSION};
	longopts[n] = (struct option){NULL, 0, NULL, 0};

	/* ':' first: a missing value is told apart from an unknown option.
	 * optind 0 makes glibc start afresh, so a program may parse twice. */
	opterr = 0;
	optind = 0;
	for (;;) {
		const int c = getopt_long(argc, argv, ":h", longopts, NULL);
		if (c == -1)
			break;
		const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "";
		if (c == OPTION_HELP)
			return CLI_HELP;
		if (c == OPTION_VERSION) {
			const size_t len = strcspn(cmd->name, " ");
			printf("%.*s %s\n", (int)len, cmd->name, VEIL_VERSION);
			return CLI_VERSION;
		}
		if (c == ':') {
			cli_usage_error(cmd, "%.*s needs a value", (int)strcspn(word, "="), word);
			return CLI_USAGE;
		}
		if (c == '?') {
			if (optopt >= OPTION_BASE || optopt == OPTION_VERSION ||
			    optopt == OPTION_HELP)
				cli_usage_error(cmd, "%.*s takes no value", (int)strcspn(word, "="),
				                word);
			else if (optopt != 0)
				cli_usage_error(cmd, "unknown option -%c", optopt);
			else
				cli_usage_error(cmd, "unknown option %s", word);
			return CLI_USAGE;
		}
		const cli_option *o = &cmd->options[c - OPTION_BASE];
		if (o->given != NULL)
			*o->given = true;
		if (store(cmd, o, o->kind == CLI_FLAG ? "" : optarg) != 0)
			return CLI_USAGE;
	}
	*first = optind;
	return CLI_RUN;
}

int
cli_parse_options(const cli_command *cmd, int argc, char **argv, void (*help)(void))
{
	int first = 0;
	switch (cli_parse(cmd, argc, argv, &first)) {
	case CLI_RUN:
		break;
	case CLI_HELP:
		cli_print_usage(cmd, stdout);
		if (help != NULL) {
			fputc('\n', stdout);
			help();
		}
		return 0;
	case CLI_VERSION:
		return 0;
	case CLI_USAGE:
		return CLI_EXIT_USAGE;
	}
	if (first < argc)
		return cli_usage_error(cmd, "unexpected argument %s", argv[first]);
	return -1;
}

int
cli_parse_program(const cli_command *program, int argc, char **argv, void (*help)(void))
{
	if (argc < 2)
		return cli_usage_error(program, "missing command");
	if (argc == 2 && strcmp(argv[1], "help") == 0) {
		char *words[] = {argv[0], (char[]){"--help"}};
		return cli_parse_options(program, 2, words, help);
	}
	if (argv[1][0] == '-')
		return cli_parse_options(program, 2, argv, help);
	return -1;
}

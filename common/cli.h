/*
 * One way to read a program's arguments: getopt_long underneath, the
 * options described by a table.
 *
 *   uint32_t threads = 2;
 *   const char *state = NULL;
 *   bool json = false;
 *   const cli_option options[] = {
 *           CLI_TEXT_OPTION("state", &state),
 *           CLI_U32_OPTION("threads", &threads, 1, 256),
 *           CLI_FLAG_OPTION("json", &json),
 *           CLI_END,
 *   };
 *   const cli_command cmd = {"veil-admin verify", "--state DIR [--threads N]", options};
 *   int first;
 *   switch (cli_parse(&cmd, argc, argv, &first)) {
 *   case CLI_RUN: break;                          (arguments: argv[first..argc))
 *   case CLI_HELP: print the help to stdout; return 0;
 *   case CLI_VERSION: return 0;                   (already printed)
 *   case CLI_USAGE: return 2;                     (already explained on stderr)
 *   }
 *
 * Every program accepts `--opt value` and `--opt=value`, `--help` (and
 * `-h`), `--version`, and `--` to end the options; options and arguments
 * may be mixed (GNU getopt reorders argv). The errors, each on stderr as
 * "NAME: ..." followed by the usage line:
 *
 *   unknown option --x          a name the table does not hold
 *   --x needs a value           a valued option at the end of argv, or given ""
 *   --x takes no value          a flag written --x=value
 *   --x takes ...               a value out of range or not a number
 *
 * Values are checked against the table's ranges before anything runs;
 * what else a value must satisfy (a known region, a readable file) is
 * the program's to check, with cli_usage_error() for the message.
 *
 * Not thread-safe: getopt_long keeps global state. Call from main().
 */
#ifndef VEIL_COMMON_CLI_H
#define VEIL_COMMON_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum cli_kind {
	CLI_FLAG,   /* bool *: set to true; takes no value */
	CLI_TEXT,   /* const char **: any non-empty value, kept as given */
	CLI_U32,    /* uint32_t *: a decimal whole number in [min, max] */
	CLI_U64,    /* uint64_t *: a decimal whole number in [min, max] */
	CLI_I64,    /* int64_t *: a signed decimal number in [smin, smax] */
	CLI_DOUBLE, /* double *: a finite number in [low, high] */
} cli_kind;

typedef struct cli_option {
	const char *name; /* without the dashes; NULL ends a table */
	cli_kind kind;
	void *target;       /* where the value goes, by kind */
	uint64_t min, max;  /* CLI_U32, CLI_U64; max 0 means the type's largest */
	int64_t smin, smax; /* CLI_I64; both 0 means any int64_t */
	double low, high;   /* CLI_DOUBLE; both 0 means any finite number */
	bool *given;        /* optional: set to true when the option appears */
} cli_option;

/* Table entries; a table ends with CLI_END. For .given, write the entry
 * out with designated initializers. */
#define CLI_FLAG_OPTION(n, t)                                                                      \
	{                                                                                          \
		.name = (n), .kind = CLI_FLAG, .target = (t)                                       \
	}
#define CLI_TEXT_OPTION(n, t)                                                                      \
	{                                                                                          \
		.name = (n), .kind = CLI_TEXT, .target = (t)                                       \
	}
#define CLI_U32_OPTION(n, t, lo, hi)                                                               \
	{                                                                                          \
		.name = (n), .kind = CLI_U32, .target = (t), .min = (lo), .max = (hi)              \
	}
#define CLI_U64_OPTION(n, t, lo, hi)                                                               \
	{                                                                                          \
		.name = (n), .kind = CLI_U64, .target = (t), .min = (lo), .max = (hi)              \
	}
#define CLI_I64_OPTION(n, t, lo, hi)                                                               \
	{                                                                                          \
		.name = (n), .kind = CLI_I64, .target = (t), .smin = (lo), .smax = (hi)            \
	}
#define CLI_DOUBLE_OPTION(n, t, lo, hi)                                                            \
	{                                                                                          \
		.name = (n), .kind = CLI_DOUBLE, .target = (t), .low = (lo), .high = (hi)          \
	}
#define CLI_END                                                                                    \
	{                                                                                          \
		.name = NULL                                                                       \
	}

typedef struct cli_command {
	const char *name;     /* in messages: "veild", "veil-admin import" */
	const char *synopsis; /* after the name in "usage: NAME SYNOPSIS" */
	const cli_option *options;
} cli_command;

typedef enum cli_result {
	CLI_RUN,     /* parsed: the arguments are argv[*first .. argc) */
	CLI_HELP,    /* --help or -h: the caller prints its help, exits 0 */
	CLI_VERSION, /* --version: "PROGRAM VERSION" printed on stdout, exit 0 */
	CLI_USAGE,   /* an error, explained on stderr: exit 2 */
} cli_result;

/* The exit status of a usage error. */
#define CLI_EXIT_USAGE 2

/*
 * Parses argv[1..argc) against cmd->options, writing each value to its
 * target as it is read (targets of options not given keep their
 * defaults). argv may be reordered. *first gets the index of the first
 * argument that is not an option. At most CLI_MAX_OPTIONS options.
 */
#define CLI_MAX_OPTIONS 48
cli_result cli_parse(const cli_command *cmd, int argc, char **argv, int *first)
        __attribute__((warn_unused_result));

/*
 * cli_parse() and what a program whose arguments are all options does
 * with its result: on --help, the usage line, a blank line and what
 * help() prints (help NULL: the usage line alone) on stdout; an argument
 * that is not an option is a usage error ("unexpected argument X").
 * Returns -1 when the program should go on, else the status to exit
 * with: 0 after --help or --version, CLI_EXIT_USAGE after a usage error
 * (explained on stderr).
 */
int cli_parse_options(const cli_command *cmd, int argc, char **argv, void (*help)(void))
        __attribute__((warn_unused_result));

/*
 * The start of a program made of commands ("PROGRAM COMMAND [ARGS]"):
 * its own options come before the command and are read as
 * cli_parse_options() reads them; "PROGRAM help" alone is "PROGRAM
 * --help", and no command at all is a usage error. Returns -1 when
 * argv[1] names the command to run, else the status to exit with.
 */
int cli_parse_program(const cli_command *program, int argc, char **argv, void (*help)(void))
        __attribute__((warn_unused_result));

/*
 * Prints "NAME: <message>" and the usage line to stderr, as cli_parse()
 * does for its own errors; returns CLI_EXIT_USAGE.
 */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* "NAME: <message>\n" on stderr: a program's errors that are not usage
 * errors. name is the program's, or "program subcommand". */
void cli_error(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "usage: NAME SYNOPSIS\n" on f. */
void cli_print_usage(const cli_command *cmd, FILE *f);

/* The project's version, "0.1.0". */
const char *cli_version(void);

/*
 * The number parsers cli_parse() uses, for values read elsewhere
 * (configuration files, subcommand words): decimal, whole text, no sign
 * for the unsigned ones, within [min, max]. 0 on success, -1 otherwise
 * (*out untouched).
 */
int cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
        __attribute__((warn_unused_result));
int cli_parse_i64(const char *text, int64_t min, int64_t max, int64_t *out)
        __attribute__((warn_unused_result));
int cli_parse_double(const char *text, double low, double high, double *out)
        __attribute__((warn_unused_result));

/* cli_parse_u64() into a 32-bit value, within [min, max]. */
int cli_parse_u32(const char *text, uint32_t min, uint32_t max, uint32_t *out)
        __attribute__((warn_unused_result));

/*
 * A configuration file whose keys are a program's options: key is an
 * option's name with '_' for '-' ("batch_cap" for --batch-cap), value
 * its text, checked against table's entry as the command line's is, but
 * for a flag, whose value is "yes" or "no" (false). The value of a
 * CLI_TEXT option is copied into texts[i], i the option's index in
 * table (any earlier copy freed: a key given twice gives the last
 * value), and the target points at the copy: the caller frees each
 * texts[i] after the last use of the targets, and starts with all NULL.
 * Returns CLI_CONFIG_OK; CLI_CONFIG_BAD_VALUE (out of range, not a
 * number, an empty text, no memory for the copy; the target untouched
 * but for a text's, then NULL); CLI_CONFIG_UNKNOWN (no option of that
 * name). Prints nothing.
 */
#define CLI_CONFIG_OK        0
#define CLI_CONFIG_BAD_VALUE -1
#define CLI_CONFIG_UNKNOWN   -2
int cli_config_option(const cli_option *table, const char *key, const char *value,
                      char *texts[CLI_MAX_OPTIONS]) __attribute__((warn_unused_result));

#endif

/*
 * Every program's command line, run for real: --version prints "PROGRAM
 * VERSION" and exits 0; --help exits 0 with the usage line; an option
 * written --opt=value is taken; a valued option at the end says it "needs
 * a value" and an unknown one is an "unknown option", both exit 2. Each
 * subcommand of veil-admin and veil counts as a program.
 *
 * Arguments: the programs' paths, in any order; a program is known by its
 * file name, and one not given (the benchmarks in a build without them)
 * is not checked.
 */
#define _GNU_SOURCE /* vasprintf */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "harness.h"
#include "proc.h"

/* Any 64 hex digits are a public key to `veil-admin client` and `veil`. */
#define KEY       "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"
#define OTHER_KEY "8e24d237729ff4ec4ca69b11099e14683a2769dde4ec9f1d8757f03c36e40b7a"

typedef struct program_spec {
	const char *name;   /* the program's file name, then its subcommand's words */
	const char *valued; /* an option that takes a value, or NULL when it has none */
	/* A run with options written --opt=value (after the name's words; "DIR"
	 * stands for the test's directory): harmless, or failing later than
	 * the parsing. NULL first when the program takes no valued option. */
	const char *assigned[5];
	int assigned_status; /* what that run exits with: 0, or 1 */
} program_spec;

static const program_spec programs[] = {
        {"veild", "state", {"--state=DIR/no-state", "--listen=ipc://DIR/veild.sock"}, 1},
        {"veil-admin", NULL, {NULL}, 0},
        {"veil-admin keygen", "state", {"--state=DIR/another-state"}, 0},
        {"veil-admin import", "state", {"--state=DIR/state", "--region=US", "DIR/import.txt"}, 0},
        {"veil-admin add", "region", {"--state=DIR/state", "--region=US", "ann@example.org"}, 0},
        {"veil-admin remove", "state", {"--state=DIR/state", "bob@example.org"}, 1},
        {"veil-admin stats", "state", {"--state=DIR/state"}, 0},
        {"veil-admin info", "state", {"--state=DIR/state"}, 0},
        {"veil-admin verify", "threads", {"--state=DIR/state", "--threads=1"}, 0},
        {"veil-admin rotate", "now", {"--state=DIR/state", "--finish", "--now=1000"}, 0},
        /* No query log until veild has run: the log commands fail, later. */
        {"veil-admin log export", "since", {"--state=DIR/state", "--since=2025-01-01"}, 1},
        {"veil-admin log purge", "now", {"--state=DIR/state", "--now=1000"}, 1},
        {"veil-admin log stats", "state", {"--state=DIR/state"}, 1},
        {"veil-admin log salts", "state", {"--state=DIR/state"}, 1},
        {"veil-admin exposure analyze", "export", {"--export=DIR/no-export.jsonl"}, 1},
        {"veil-admin client add", "quota", {"--state=DIR/state", "--quota=5", KEY}, 0},
        {"veil-admin client remove", "state", {"--state=DIR/state", OTHER_KEY}, 1},
        {"veil-admin client list", "state", {"--state=DIR/state"}, 0},
        {"veil-admin issuer create",
         "name",
         {"--state=DIR/issuer", "--name=issuer.example.org"},
         0},
        {"veil-admin issuer info", "state", {"--state=DIR/issuer"}, 0},
        {"veil-admin issuer rotate", "grace-hours", {"--state=DIR/issuer", "--grace-hours=1"}, 0},
        {"veil-admin issuer retire", "now", {"--state=DIR/issuer", "--now=1000"}, 0},
        {"veil-admin tokens link",
         "origin",
         {"--state=DIR/no-state", "--issuer=DIR/issuer", "--origin=lookup.example.org"},
         1},
        {"veil-issuer", "state", {"--state=DIR/no-state", "--listen=ipc://DIR/issuer.sock"}, 1},
        {"veil", NULL, {NULL}, 0},
        {"veil keygen", "out", {"--out=DIR/client.key"}, 0},
        {"veil tokens status", "tokens", {"--tokens=DIR/no-tokens"}, 1},
        {"veil tokens fetch",
         "tokens",
         {"--issuer=ipc://DIR/no.sock", "--issuer-info=DIR/no.info",
          "--server-info=DIR/server.info", "--tokens=DIR/tokens"},
         2},
        {"veil lookup",
         "server",
         {"--server=ipc://DIR/no.sock", "--server-info=DIR/server.info",
          "--client-key=DIR/no-such.key"},
         1},
        {"veil-oprf-demo", NULL, {NULL}, 0},
        {"veil-oprf", NULL, {NULL}, 0},
        {"veil-token", NULL, {NULL}, 0},
        {"veil-bench", "server", {"--print-handles=2"}, 0},
        /* Runs that would measure for seconds: --help after the option
         * shows it was taken (a refused one exits 2 first). */
        {"veil-bench-oprf", "seconds", {"--seconds=1", "--help"}, 0},
        {"veil-bench-import", "handles", {"--handles=10", "--help"}, 0},
        {"veil-exposure-sim", "users", {"--veild=DIR/no-veild"}, 1},
};

/* The path given for the program name begins with, or NULL when none was. */
static const char *
program_path(const char *name)
{
	const size_t len = strcspn(name, " ");
	for (int i = 0; i < test_argc; i++) {
		const char *slash = strrchr(test_argv[i], '/');
		const char *base = slash != NULL ? slash + 1 : test_argv[i];
		if (strlen(base) == len && strncmp(base, name, len) == 0)
			return test_argv[i];
	}
	return NULL;
}

/* A command line: the name's words after the program, then a case's. */
typedef struct command_line {
	char *words; /* a copy of the name, cut into words */
	char *owned[8];
	size_t owned_count;
	const char *args[16];
	size_t count;
} command_line;

static void
line_add(command_line *l, const char *arg)
{
	if (l->count + 1 >= TEST_COUNT(l->args))
		abort();
	l->args[l->count++] = arg;
	l->args[l->count] = NULL;
}

/* Adds a copy of the text printf makes. */
static void line_addf(command_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
line_addf(command_line *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (l->owned_count == TEST_COUNT(l->owned) ||
	    vasprintf(&l->owned[l->owned_count], fmt, ap) < 0)
		abort();
	va_end(ap);
	line_add(l, l->owned[l->owned_count++]);
}

static void
line_free(command_line *l)
{
	for (size_t i = 0; i < l->owned_count; i++)
		free(l->owned[i]);
	free(l->words);
}

/* What a case gives each program after its words, and expects of it. */
typedef enum run_kind {
	ASK_VERSION,     /* --version: "PROGRAM VERSION", exit 0 */
	ASK_HELP,        /* --help: the usage line, exit 0 */
	ASSIGNED_VALUES, /* the spec's --opt=value run: its status */
	VALUE_MISSING,   /* --VALUED last: "needs a value", exit 2 */
	UNKNOWN_OPTION,  /* --no-such-option: "unknown option", exit 2 */
} run_kind;

/* Adds kind's arguments for spec to l; -1 when kind does not apply to
 * spec (it has no valued option). */
static int
add_arguments(run_kind kind, const program_spec *spec, command_line *l)
{
	switch (kind) {
	case ASK_VERSION:
		line_add(l, "--version");
		return 0;
	case ASK_HELP:
		line_add(l, "--help");
		return 0;
	case ASSIGNED_VALUES:
		for (size_t i = 0; i < TEST_COUNT(spec->assigned) && spec->assigned[i] != NULL;
		     i++) {
			const char *arg = spec->assigned[i], *dir = strstr(arg, "DIR");
			if (dir == NULL)
				line_add(l, arg);
			else
				line_addf(l, "%.*s%s%s", (int)(dir - arg), arg, test_dir, dir + 3);
		}
		return spec->assigned[0] != NULL ? 0 : -1;
	case VALUE_MISSING:
		if (spec->valued == NULL)
			return -1;
		line_addf(l, "--%s", spec->valued);
		return 0;
	case UNKNOWN_OPTION:
		line_add(l, "--no-such-option");
		return 0;
	}
	return -1;
}

/* Whether the run r is what kind expects of spec. */
static int
as_expected(run_kind kind, const program_spec *spec, const proc_result *r)
{
	char want[128];
	switch (kind) {
	case ASK_VERSION:
		snprintf(want, sizeof(want), "%.*s %s\n", (int)strcspn(spec->name, " "), spec->name,
		         cli_version());
		return r->status == 0 && strcmp(r->out, want) == 0;
	case ASK_HELP:
		snprintf(want, sizeof(want), "usage: %s ", spec->name);
		return r->status == 0 && strstr(r->out, want) != NULL;
	case ASSIGNED_VALUES:
		return r->status == spec->assigned_status;
	case VALUE_MISSING:
		snprintf(want, sizeof(want), "--%s needs a value", spec->valued);
		return r->status == CLI_EXIT_USAGE && strstr(r->err, want) != NULL;
	case UNKNOWN_OPTION:
		return r->status == CLI_EXIT_USAGE &&
		       strstr(r->err, "unknown option --no-such-option") != NULL;
	}
	return 0;
}

/* Runs each program given that kind applies to, and checks the run. */
static void
run_each(run_kind kind)
{
	size_t ran = 0;
	for (size_t i = 0; i < TEST_COUNT(programs); i++) {
		const program_spec *spec = &programs[i];
		const char *path = program_path(spec->name);
		command_line l;
		if (path == NULL)
			continue;
		memset(&l, 0, sizeof(l));
		if ((l.words = strdup(spec->name)) == NULL)
			abort();
		strtok(l.words, " ");
		for (char *w = strtok(NULL, " "); w != NULL; w = strtok(NULL, " "))
			line_add(&l, w);
		if (add_arguments(kind, spec, &l) == 0) {
			proc_result r = proc_call_args(path, l.args, NULL);
			const int ok = as_expected(kind, spec, &r);
			if (!ok)
				printf("# %s: status %d\n# stdout: %s\n# stderr: %s\n", spec->name,
				       r.status, r.out, r.err);
			CHECK_ROW(ok, spec->name);
			proc_result_free(&r);
			ran++;
		}
		line_free(&l);
	}
	CHECK(ran > 0);
}

static void
case_version(void)
{
	run_each(ASK_VERSION);
}

static void
case_help(void)
{
	run_each(ASK_HELP);
}

static void
case_assigned_values(void)
{
	run_each(ASSIGNED_VALUES);
}

static void
case_missing_value(void)
{
	run_each(VALUE_MISSING);
}

static void
case_unknown_option(void)
{
	run_each(UNKNOWN_OPTION);
}

/* "PROGRAM help COMMAND" is "PROGRAM COMMAND --help", for veil-admin and
 * veil; an unknown command is a usage error. */
static void
case_help_command(void)
{
	size_t ran = 0;
	for (size_t i = 0; i < TEST_COUNT(programs); i++) {
		const program_spec *spec = &programs[i];
		const char *path = program_path(spec->name), *words = strchr(spec->name, ' ');
		if (path == NULL || words == NULL)
			continue;
		command_line l;
		memset(&l, 0, sizeof(l));
		if ((l.words = strdup(words + 1)) == NULL)
			abort();
		line_add(&l, "help");
		for (char *w = strtok(l.words, " "); w != NULL; w = strtok(NULL, " "))
			line_add(&l, w);
		proc_result r = proc_call_args(path, l.args, NULL);
		char want[128];
		snprintf(want, sizeof(want), "usage: %s ", spec->name);
		CHECK_ROW(r.status == 0 && strstr(r.out, want) != NULL, spec->name);
		proc_result_free(&r);
		line_free(&l);
		ran++;
	}
	CHECK(ran > 0);
	const char *const programs_with_commands[] = {"veil-admin", "veil"};
	for (size_t i = 0; i < TEST_COUNT(programs_with_commands); i++) {
		const char *path = program_path(programs_with_commands[i]);
		if (path == NULL)
			continue;
		proc_result r = proc_call(path, "help", "no-such-command", NULL);
		CHECK_ROW(r.status == CLI_EXIT_USAGE &&
		                  strstr(r.err, "unknown command 'no-such-command'") != NULL,
		          programs_with_commands[i]);
		proc_result_free(&r);
	}
}

/* ------------------------------------------------------------------ */

/* The state the admin subcommands work on, and a file to import. */
static void
setup(void)
{
	const char *path = program_path("veil-admin");
	char *state = proc_join(test_dir, "state");
	char *import = proc_join(test_dir, "import.txt");
	if (path == NULL)
		abort();
	proc_result r = proc_call(path, "keygen", "--state", state, NULL);
	if (r.status != 0)
		abort();
	proc_result_free(&r);
	/* What veil lookup pins. */
	r = proc_call(path, "info", "--state", state, NULL);
	char *info = proc_join(test_dir, "server.info");
	if (r.status != 0)
		abort();
	proc_write_file(info, r.out, strlen(r.out));
	proc_result_free(&r);
	free(info);
	proc_write_file(import, "+1 415 555 0100\n", 16);
	free(import);
	free(state);
}

static const test_case cases[] = {
        {"--version says the program and version", case_version},
        {"--help prints the usage", case_help},
        {"--opt=value is taken", case_assigned_values},
        {"a valued option at the end needs a value", case_missing_value},
        {"an unknown option is refused", case_unknown_option},
        {"help COMMAND describes the command", case_help_command},
};

TEST_MAIN_WITH(cases, .usage = "PROGRAM...", .arguments = 1, .temp_dir = "options", .setup = setup)

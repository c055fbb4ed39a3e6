/*
 * The daemons' options (daemon_config.h) on real INI files in a
 * temporary directory: the program's own section through its option
 * table (each kind, range errors), the [clients] section, the one more
 * section the program reads itself, the command line winning over the
 * file, --enrolment, and what is said on stderr about a bad file: the
 * documented messages, never the value.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon_config.h"
#include "harness.h"
#include "proc.h"

#define PROGRAM "testd"

/* What the table below fills in. */
typedef struct options {
	const char *state, *listen, *enrolment, *config;
	uint32_t threads;       /* 1..256 */
	uint64_t limit;         /* 1..1000000 */
	int64_t clock_offset;   /* -100..100 */
	double ratio;           /* 0.5..2 */
	bool force;             /* a flag */
	clients_config clients; /* [clients] */
	uint32_t log_accounts;  /* [log] accounts, read by the program's own entry */
} options;

/* The program's reader of its [log] section: one key. */
static int
log_entry(void *arg, const char *name, const char *value)
{
	options *o = arg;
	if (strcmp(name, "accounts") == 0)
		return cli_parse_u32(value, 1, 1000, &o->log_accounts) == 0;
	fprintf(stderr, PROGRAM ": config: unknown key '%s' in [log]\n", name);
	return 0;
}

/* One run: its exit status and what it said. */
typedef struct run {
	int rc;
	options opt;
	char *err; /* stderr, freed when the case ends */
} run;

/*
 * daemon_parse_options() on args (NULL-terminated, after the program
 * name) with "CONFIG" standing for the path of a file holding file (NULL:
 * none written), the program having a [log] section when with_log.
 * stdout and stderr go to files while it runs.
 */
static void
parse(const char *file, int with_log, const char *const args[], run *r)
{
	memset(r, 0, sizeof(*r));
	r->opt.threads = 2;
	r->opt.limit = 5;
	r->opt.ratio = 1.0;
	clients_config_defaults(&r->opt.clients);
	const char *path = test_case_path("daemon.ini");
	if (file != NULL)
		proc_write_file(path, file, strlen(file));
	char *argv[32];
	int argc = 0;
	argv[argc++] = test_keep(strdup(PROGRAM)); /* getopt may reorder argv */
	for (size_t i = 0; args[i] != NULL && argc < 31; i++)
		argv[argc++] = test_keep(strdup(strcmp(args[i], "CONFIG") == 0 ? path : args[i]));
	argv[argc] = NULL;

	options *o = &r->opt;
	const cli_option table[] = {
	        CLI_TEXT_OPTION("state", &o->state),
	        CLI_TEXT_OPTION("listen", &o->listen),
	        CLI_U32_OPTION("threads", &o->threads, 1, 256),
	        CLI_U64_OPTION("limit", &o->limit, 1, 1000000),
	        CLI_I64_OPTION("clock-offset", &o->clock_offset, -100, 100),
	        CLI_DOUBLE_OPTION("ratio", &o->ratio, 0.5, 2.0),
	        CLI_FLAG_OPTION("force", &o->force),
	        CLI_TEXT_OPTION("enrolment", &o->enrolment),
	        CLI_TEXT_OPTION("config", &o->config),
	        CLI_END,
	};
	const cli_command cmd = {PROGRAM, "[options]", table};
	const daemon_config_file config = {"testd", &o->clients, with_log ? "log" : NULL,
	                                   with_log ? log_entry : NULL, o};
	char *texts[CLI_MAX_OPTIONS] = {NULL};

	const char *out_path = test_case_path("stderr");
	fflush(stdout);
	fflush(stderr);
	const int saved_out = dup(1), saved_err = dup(2);
	FILE *out = fopen(out_path, "w");
	if (saved_out < 0 || saved_err < 0 || out == NULL)
		abort();
	dup2(fileno(out), 1);
	dup2(fileno(out), 2);
	r->rc = daemon_parse_options(&cmd, argc, argv, NULL, &config, texts);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	fclose(out);
	r->err = test_keep(test_read_file(out_path, NULL));

	/* The texts the file gave are the caller's: kept until the case ends. */
	for (size_t i = 0; i < CLI_MAX_OPTIONS; i++)
		if (texts[i] != NULL)
			test_keep(texts[i]);
}

static int
said(const run *r, const char *text)
{
	return strstr(r->err, text) != NULL;
}

static int
text_is(const char *got, const char *want)
{
	return got != NULL && strcmp(got, want) == 0;
}

/* ------------------------------------------------------------------ */

static void
case_each_kind_from_the_file(void)
{
	run r;
	parse("; a comment\n"
	      "[testd]\n"
	      "state = /srv/veil\n"
	      "listen = tcp://127.0.0.1:7000\n"
	      "threads = 16\n"
	      "limit = 1000000\n"
	      "clock_offset = -100\n"
	      "ratio = 1.5\n"
	      "force = yes\n"
	      "[clients]\n"
	      "enrolment = open\n"
	      "capacity = 40\n"
	      "refill_per_day = 10\n"
	      "[log]\n"
	      "accounts = 500\n",
	      1, (const char *[]){"--config", "CONFIG", NULL}, &r);
	CHECK(r.rc == -1);
	CHECK(r.err[0] == '\0');
	CHECK(text_is(r.opt.state, "/srv/veil"));
	CHECK(text_is(r.opt.listen, "tcp://127.0.0.1:7000"));
	CHECK(r.opt.threads == 16);
	CHECK(r.opt.limit == 1000000);
	CHECK(r.opt.clock_offset == -100);
	CHECK(r.opt.ratio == 1.5);
	CHECK(r.opt.force);
	CHECK(r.opt.clients.enrolment_required == 0);
	CHECK(r.opt.clients.capacity == 40 && r.opt.clients.refill_per_day == 10);
	CHECK(r.opt.log_accounts == 500);
	CHECK(r.opt.enrolment == NULL);
}

static void
case_command_line_wins(void)
{
	run r;
	const char *file = "[testd]\n"
	                   "state = /from/file\n"
	                   "listen = ipc:///from/file\n"
	                   "threads = 4\n"
	                   "force = no\n"
	                   "[clients]\n"
	                   "enrolment = open\n";
	parse(file, 0,
	      (const char *[]){"--threads", "8", "--config", "CONFIG", "--state=/from/argv",
	                       "--force", "--enrolment", "required", NULL},
	      &r);
	CHECK(r.rc == -1);
	CHECK(text_is(r.opt.state, "/from/argv"));
	CHECK(r.opt.threads == 8);
	CHECK(r.opt.force);
	CHECK(r.opt.clients.enrolment_required == 1);
	/* What the command line does not give, the file does. */
	CHECK(text_is(r.opt.listen, "ipc:///from/file"));
	/* And without the command line's, the file's. */
	parse(file, 0, (const char *[]){"--config", "CONFIG", NULL}, &r);
	CHECK(r.rc == -1);
	CHECK(text_is(r.opt.state, "/from/file") && r.opt.threads == 4 && !r.opt.force);
	CHECK(r.opt.clients.enrolment_required == 0);
}

/* A file refused: the message naming what is wrong, and the line. */
typedef struct bad_row {
	const char *name;
	const char *file;
	int with_log;
	const char *message; /* NULL: only the bad line is said */
	const char *line;    /* "bad line N" */
	const char *value;   /* never said; NULL: nothing to look for */
} bad_row;

static const bad_row bad_rows[] = {
        {"a u32 above the range", "[testd]\nthreads = 2570\n", 0, NULL, "bad line 2", "2570"},
        {"a u32 of 0, below the range", "[testd]\n\nthreads = 0\n", 0, NULL, "bad line 3", NULL},
        {"a negative u32", "[testd]\nthreads = -12345\n", 0, NULL, "bad line 2", "12345"},
        {"a u64 above the range", "[testd]\nlimit = 1000001\n", 0, NULL, "bad line 2", "1000001"},
        {"an i64 below the range", "[testd]\nclock_offset = -31337\n", 0, NULL, "bad line 2",
         "31337"},
        {"a double above the range", "[testd]\nratio = 2.75\n", 0, NULL, "bad line 2", "2.75"},
        {"a number that is none", "[testd]\nthreads = sixteen\n", 0, NULL, "bad line 2", "sixteen"},
        {"a flag neither yes nor no", "[testd]\nforce = maybe\n", 0, NULL, "bad line 2", "maybe"},
        {"an empty text", "[testd]\nstate =\n", 0, NULL, "bad line 2", NULL},
        {"an unknown key", "[testd]\nthreads = 3\ncolour = mauve\n", 0,
         PROGRAM ": config: unknown key 'colour' in [testd]", "bad line 3", "mauve"},
        {"config is no key", "[testd]\nconfig = /etc/other.ini\n", 0,
         PROGRAM ": config: unknown key 'config' in [testd]", "bad line 2", "other.ini"},
        {"enrolment's key is in [clients]", "[testd]\nenrolment = open\n", 0,
         PROGRAM ": config: unknown key 'enrolment' in [testd]", "bad line 2", NULL},
        {"an unknown section", "[testd]\nthreads = 3\n[elsewhere]\nkey = secretvalue\n", 0,
         PROGRAM ": config: unknown section [elsewhere]", "bad line 4", "secretvalue"},
        {"a key before any section", "threads = 3\n", 0, PROGRAM ": config: unknown section []",
         "bad line 1", NULL},
        {"the other section, when the program has none", "[log]\naccounts = 500\n", 0,
         PROGRAM ": config: unknown section [log]", "bad line 2", NULL},
        {"the other section's unknown key", "[log]\nwidth = 77777\n", 1,
         PROGRAM ": config: unknown key 'width' in [log]", "bad line 2", "77777"},
        {"the other section's bad value", "[log]\naccounts = 1001\n", 1, NULL, "bad line 2",
         "1001"},
        {"[clients]: an unknown key", "[clients]\nquota = 77777\n", 0,
         PROGRAM ": config: unknown key 'quota' in [clients]", "bad line 2", "77777"},
        {"[clients]: enrolment neither required nor open", "[clients]\nenrolment = closed\n", 0,
         NULL, "bad line 2", "closed"},
        {"[clients]: a capacity of 0", "[clients]\ncapacity = 0\n", 0, NULL, "bad line 2", NULL},
        {"[clients]: a refill past 32 bits", "[clients]\nrefill_per_day = 4294967296\n", 0, NULL,
         "bad line 2", "4294967296"},
        {"a line that is no key", "[testd]\nthreads\n", 0, NULL, "bad line 2", NULL},
};

static int
check_bad(const void *row)
{
	const bad_row *b = row;
	run r;
	parse(b->file, b->with_log, (const char *[]){"--config", "CONFIG", NULL}, &r);
	char line[300];
	snprintf(line, sizeof(line), PROGRAM ": config %s: %s\n", test_case_path("daemon.ini"),
	         b->line);
	int ok = r.rc == CLI_EXIT_USAGE && said(&r, line);
	if (b->message != NULL)
		ok &= said(&r, b->message);
	/* The value, nowhere but (by chance) in the file's random path. */
	const char *path = test_case_path("daemon.ini");
	for (char *at = strstr(r.err, path); at != NULL; at = strstr(at, path))
		memset(at, '/', strlen(path));
	if (b->value != NULL)
		ok &= !said(&r, b->value);
	return ok;
}

TEST_ROWS_CASE(case_bad_files, bad_rows, check_bad)

static void
case_file_that_cannot_be_read(void)
{
	run r;
	parse(NULL, 0, (const char *[]){"--config", "/nonexistent/veil-test.ini", NULL}, &r);
	CHECK(r.rc == CLI_EXIT_USAGE);
	CHECK(said(&r, PROGRAM ": cannot read config /nonexistent/veil-test.ini"));
}

static void
case_clients_section(void)
{
	run r;
	parse("[clients]\nenrolment = required\ncapacity = 4294967295\nrefill_per_day = 1\n", 0,
	      (const char *[]){"--config", "CONFIG", NULL}, &r);
	CHECK(r.rc == -1);
	CHECK(r.opt.clients.enrolment_required == 1);
	CHECK(r.opt.clients.capacity == UINT32_MAX && r.opt.clients.refill_per_day == 1);
	/* Without the section, the defaults stay. */
	clients_config defaults;
	clients_config_defaults(&defaults);
	parse("[testd]\nthreads = 3\n", 0, (const char *[]){"--config", "CONFIG", NULL}, &r);
	CHECK(r.rc == -1 && r.opt.threads == 3);
	CHECK(memcmp(&r.opt.clients, &defaults, sizeof(defaults)) == 0);
}

/* --enrolment on the command line. */
typedef struct enrolment_row {
	const char *name;
	const char *value;
	int rc;
	int required; /* when rc is -1 */
} enrolment_row;

static const enrolment_row enrolment_rows[] = {
        {"required", "required", -1, 1},
        {"open", "open", -1, 0},
        {"another word", "closed", CLI_EXIT_USAGE, 0},
        {"a capital", "Open", CLI_EXIT_USAGE, 0},
        {"a trailing space", "open ", CLI_EXIT_USAGE, 0},
};

static int
check_enrolment(const void *row)
{
	const enrolment_row *e = row;
	run r;
	parse(NULL, 0, (const char *[]){"--enrolment", e->value, NULL}, &r);
	if (e->rc != -1) {
		char message[128];
		snprintf(message, sizeof(message),
		         PROGRAM ": --enrolment takes required or open, not %s\n", e->value);
		return r.rc == e->rc && said(&r, message);
	}
	return r.rc == -1 && r.opt.clients.enrolment_required == e->required;
}

TEST_ROWS_CASE(case_enrolment_option, enrolment_rows, check_enrolment)

/* daemon_enrolment_parse() alone. */
typedef struct parse_row {
	const char *name;
	const char *value;
	int rc, required;
} parse_row;

static const parse_row parse_rows[] = {
        {"required is 1", "required", 0, 1},
        {"open is 0", "open", 0, 0},
        {"empty", "", -1, 7},
        {"a prefix", "req", -1, 7},
        {"a capital", "Required", -1, 7},
        {"more after", "opened", -1, 7},
};

static int
check_parse(const void *row)
{
	const parse_row *p = row;
	int required = 7;
	return daemon_enrolment_parse(p->value, &required) == p->rc && required == p->required;
}

TEST_ROWS_CASE(case_enrolment_parse, parse_rows, check_parse)

static void
case_usage_error_before_the_file(void)
{
	/* A bad command line is refused as such: the file is not what is blamed. */
	run r;
	parse("[testd]\nthreads = 3\n", 0,
	      (const char *[]){"--config", "CONFIG", "--threads", "0", NULL}, &r);
	CHECK(r.rc == CLI_EXIT_USAGE);
	CHECK(said(&r, PROGRAM ": --threads takes a whole number from 1 to 256, not '0'"));
	CHECK(!said(&r, "bad line"));
	/* --version ends it with 0, the file unread. */
	parse("[nowhere]\n", 0, (const char *[]){"--config", "CONFIG", "--version", NULL}, &r);
	CHECK(r.rc == 0);
	CHECK(!said(&r, "unknown section"));
}

static const test_case cases[] = {
        {"each kind of key from the file", case_each_kind_from_the_file},
        {"the command line wins over the file", case_command_line_wins},
        {"bad files: the message and the line, never the value", case_bad_files},
        {"a file that cannot be read", case_file_that_cannot_be_read},
        {"the [clients] section", case_clients_section},
        {"--enrolment required or open", case_enrolment_option},
        {"daemon_enrolment_parse", case_enrolment_parse},
        {"a usage error or --version before the file", case_usage_error_before_the_file},
};

TEST_MAIN(cases)

/*
 * veil-admin: keys and registry of a veild state directory.
 *
 * A flat table of subcommands, each with its own --help. Exit status: 0
 * on success, 1 when the operation failed, 2 for a usage error. Errors go
 * to stderr; results to stdout. Nothing printed holds a secret key or a
 * handle (bad import lines are named by number and reason only).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "admin_clients.h"
#include "admin_exposure.h"
#include "admin_log.h"
#include "cli.h"
#include "entry.h"
#include "import.h"
#include "normalize.h"
#include "oprf.h"
#include "registry.h"
#include "state.h"

#define PROGRAM             "veil-admin"
#define EXIT_USAGE          2
/* Bad import lines reported one by one; the rest are counted. */
#define MAX_BAD_LINES_SHOWN 100
#define MAX_THREADS         256
/* The progress bar is redrawn at most this often (seconds). */
#define PROGRESS_INTERVAL   0.2

typedef struct options {
	const char *state;
	const char *region;
	bool strict;
	bool verifiable;
	unsigned threads;
	const char *since, *until, *now; /* log subcommands; parsed there */
	const char *grace;               /* rotate: hours; parsed there */
	bool finish;                     /* rotate --finish */
	bool help;
	int positional_count;
	char **positional;
} options;

/* Which options a subcommand takes. */
enum {
	OPT_STATE = 1 << 0,
	OPT_REGION = 1 << 1,
	OPT_STRICT = 1 << 2,
	OPT_THREADS = 1 << 3,
	OPT_VERIFIABLE = 1 << 4,
	OPT_SINCE = 1 << 5,
	OPT_UNTIL = 1 << 6,
	OPT_NOW = 1 << 7,
	OPT_OWN = 1 << 8, /* the command parses its own options */
	OPT_GRACE = 1 << 9,
	OPT_FINISH = 1 << 10,
};

typedef struct command {
	const char *name;
	const char *synopsis; /* after "veil-admin NAME " */
	const char *summary;
	const char *details;
	unsigned accepts;
	int min_args, max_args;
	int (*run)(const options *opt);
} command;

static const command *current;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", PROGRAM);
	if (current != NULL)
		fprintf(stderr, "%s: ", current->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static double
seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
print_hex(FILE *f, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", b[i]);
}

/* ------------------------------------------------------------------ */
/* Opening the state */

static veil_state *
open_state(const options *opt)
{
	veil_state *st = NULL;
	const char *why = NULL;
	veil_err err = state_open(opt->state, &st, &why);
	if (err != VEIL_OK) {
		fail("cannot open state %s: %s%s%s", opt->state, veil_strerror(err),
		     why != NULL ? ": " : "", why != NULL ? why : "");
		return NULL;
	}
	return st;
}

/* Normalizes a handle typed on the command line; never echoes it. */
static int
normalize_argument(const options *opt, const char *text, char out[NORMALIZE_MAX_HANDLE],
                   size_t *out_len)
{
	normalize_status s = normalize_handle(text, strlen(text), opt->region, out,
	                                      NORMALIZE_MAX_HANDLE, out_len);
	if (s != NORMALIZE_OK) {
		fail("the handle given is not valid: %s", normalize_strerror(s));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* keygen */

static int
run_keygen(const options *opt)
{
	const char *why = NULL;
	veil_state *st = NULL;
	veil_err err = state_create(opt->state, opt->verifiable ? OPRF_MODE_VOPRF : OPRF_MODE_OPRF,
				    &why);
	if (err != VEIL_OK) {
		fail("cannot create state in %s: %s%s%s", opt->state, veil_strerror(err),
		     why != NULL ? ": " : "", why != NULL ? why : "");
		return 1;
	}
	if ((st = open_state(opt)) == NULL)
		return 1;
	printf("server-key ");
	print_hex(stdout, state_transport_public(st), STATE_TRANSPORT_KEY_SIZE);
	printf("\n");
	state_free(st);
	fprintf(stderr, "%s: created state in %s\n", PROGRAM, opt->state);
	return 0;
}

/* ------------------------------------------------------------------ */
/* import */

typedef struct progress {
	bool tty;
	double started; /* of the stage */
	double last_drawn;
	int stage; /* a registry_stage, or STAGE_PARSE */
	bool drawn;
} progress;

#define STAGE_PARSE (-1)

static const char *
stage_name(int stage)
{
	switch (stage) {
	case STAGE_PARSE:
		return "parsing";
	case REGISTRY_STAGE_SORT:
		return "sorting";
	case REGISTRY_STAGE_COMPUTE:
		return "evaluating";
	case REGISTRY_STAGE_WRITE:
		return "writing";
	case REGISTRY_STAGE_COMMIT:
		return "committing";
	}
	return "";
}

/*
 * Redraws the bar: stage, fraction done, items per second (items done so
 * far), time left. Only on a terminal, and at most every
 * PROGRESS_INTERVAL seconds but for a stage's first and last report.
 */
static void
progress_draw(progress *p, int stage, uint64_t done, uint64_t total, uint64_t items)
{
	const double now = seconds_now();
	if (!p->tty)
		return;
	if (stage != p->stage) {
		p->stage = stage;
		p->started = now;
		p->last_drawn = 0;
	}
	if (now - p->last_drawn < PROGRESS_INTERVAL && done != total)
		return;
	p->last_drawn = now;
	const double fraction = total > 0 ? (double)done / (double)total : 1.0;
	const double elapsed = now - p->started;
	const double rate = elapsed > 0 ? (double)items / elapsed : 0;
	char bar[31];
	const int filled = (int)(fraction * 30);
	for (int i = 0; i < 30; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[30] = '\0';
	fprintf(stderr, "\r%-10s [%s] %3d%%", stage_name(stage), bar, (int)(fraction * 100));
	/* A stage reported only when done has no rate worth showing. */
	if (elapsed >= PROGRESS_INTERVAL)
		fprintf(stderr, " %9.0f/s", rate);
	else
		fprintf(stderr, " %11s", "");
	if (elapsed > 0 && done > 0 && done < total) {
		const double left = (double)(total - done) * elapsed / (double)done;
		const unsigned long eta = (unsigned long)left;
		fprintf(stderr, "  ETA %lu:%02lu:%02lu ", eta / 3600, eta / 60 % 60, eta % 60);
	} else {
		fprintf(stderr, "                ");
	}
	p->drawn = true;
}

static void
on_progress(void *arg, registry_stage stage, uint64_t done, uint64_t total)
{
	progress_draw(arg, (int)stage, done, total, done);
}

static void
on_parse_progress(void *arg, uint64_t done, uint64_t total, uint64_t lines)
{
	progress_draw(arg, STAGE_PARSE, done, total, lines);
}

static void
progress_clear(progress *p)
{
	if (p->tty && p->drawn)
		fprintf(stderr, "\r%79s\r", "");
	p->drawn = false;
}

typedef struct bad_lines {
	uint64_t count;
	progress *bar; /* cleared before a report */
} bad_lines;

static void
report_bad_line(void *arg, uint64_t line, const char *reason)
{
	bad_lines *bad = arg;
	progress_clear(bad->bar);
	if (bad->count++ < MAX_BAD_LINES_SHOWN)
		fprintf(stderr, "%s: import: line %llu: %s\n", PROGRAM, (unsigned long long)line,
		        reason);
}

static int
run_import(const options *opt)
{
	const char *path = opt->positional[0];
	veil_state *st = NULL;
	import_batch *batch = NULL;
	char *text = NULL;
	size_t text_len = 0, count = 0, key_count = 0;
	bad_lines bad = {0, NULL};
	import_summary summary;
	registry_change change;
	progress prog = {.tty = isatty(STDERR_FILENO) == 1, .stage = STAGE_PARSE};
	int status = 1;
	veil_err err;

	const double started = seconds_now();
	prog.started = started;
	bad.bar = &prog;
	if ((st = open_state(opt)) == NULL)
		goto out;
	if ((err = import_read_file(path, &text, &text_len)) != VEIL_OK) {
		fail("cannot read %s: %s%s%s", strcmp(path, "-") == 0 ? "standard input" : path,
		     veil_strerror(err), err == VEIL_ERR_SYSTEM ? ": " : "",
		     err == VEIL_ERR_SYSTEM ? strerror(errno) : "");
		goto out;
	}
	const import_options parse_options = {opt->region, opt->threads,      report_bad_line,
	                                      &bad,        on_parse_progress, &prog};
	err = import_parse(text, text_len, &parse_options, &batch);
	progress_clear(&prog);
	sodium_memzero(text, text_len);
	if (err != VEIL_OK) {
		fail("cannot parse %s: %s", path, veil_strerror(err));
		goto out;
	}
	import_batch_summary(batch, &summary);
	if (summary.bad > MAX_BAD_LINES_SHOWN)
		fprintf(stderr, "%s: import: ... and %llu more bad lines\n", PROGRAM,
		        (unsigned long long)(summary.bad - MAX_BAD_LINES_SHOWN));
	if (opt->strict && summary.bad > 0) {
		fail("refused (--strict): %llu bad line%s; the registry is unchanged",
		     (unsigned long long)summary.bad, summary.bad == 1 ? "" : "s");
		goto out;
	}

	const registry_record *records = import_batch_records(batch, &count);
	const registry_key *keys = state_keys(st, &key_count);
	const registry_import_options store_options = {opt->threads, on_progress, &prog};
	err = registry_import(state_registry(st), keys, key_count, records, count, &store_options,
	                      &change);
	progress_clear(&prog);
	if (err != VEIL_OK) {
		fail("failed, the registry is unchanged: %s", veil_strerror(err));
		goto out;
	}
	const double seconds = seconds_now() - started;
	const uint64_t imported = change.added + change.replaced;
	printf("imported %llu handles (%llu new, %llu replaced), %llu duplicate lines, "
	       "%llu bad lines skipped, %.1f s, %.0f handles/s\n",
	       (unsigned long long)imported, (unsigned long long)change.added,
	       (unsigned long long)change.replaced, (unsigned long long)change.duplicates,
	       (unsigned long long)summary.bad, seconds,
	       seconds > 0 ? (double)imported / seconds : 0.0);
	status = 0;
out:
	import_batch_free(batch);
	free(text);
	state_free(st);
	return status;
}

/* ------------------------------------------------------------------ */
/* add, remove */

static int
run_add(const options *opt)
{
	char handle[NORMALIZE_MAX_HANDLE];
	size_t handle_len = 0, key_count = 0;
	const char *payload = opt->positional_count > 1 ? opt->positional[1] : "";
	const size_t payload_len = strlen(payload);
	registry_change change;
	veil_state *st = NULL;
	int status = 1;

	if (normalize_argument(opt, opt->positional[0], handle, &handle_len) != 0)
		goto out;
	import_status ps = import_check_payload((const uint8_t *)payload, payload_len);
	if (ps != IMPORT_RECORD) {
		fail("the payload given is not valid: %s", import_line_reason(ps, NORMALIZE_OK));
		goto out;
	}
	if ((st = open_state(opt)) == NULL)
		goto out;
	const registry_record record = {handle, handle_len, (const uint8_t *)payload, payload_len};
	const registry_key *keys = state_keys(st, &key_count);
	veil_err err = registry_add(state_registry(st), keys, key_count, &record, &change);
	if (err != VEIL_OK) {
		fail("failed, the registry is unchanged: %s", veil_strerror(err));
		goto out;
	}
	printf("%s\n", change.added > 0 ? "added" : "replaced the payload of a registered handle");
	status = 0;
out:
	sodium_memzero(handle, sizeof(handle));
	state_free(st);
	return status;
}

static int
run_remove(const options *opt)
{
	char handle[NORMALIZE_MAX_HANDLE];
	size_t handle_len = 0, key_count = 0;
	veil_state *st = NULL;
	int status = 1;

	if (normalize_argument(opt, opt->positional[0], handle, &handle_len) != 0)
		goto out;
	if ((st = open_state(opt)) == NULL)
		goto out;
	const registry_key *keys = state_keys(st, &key_count);
	veil_err err = registry_remove(state_registry(st), keys, key_count, handle, handle_len);
	if (err == VEIL_ERR_NOT_FOUND) {
		fail("that handle is not registered; nothing changed");
		goto out;
	}
	if (err != VEIL_OK) {
		fail("failed, the registry is unchanged: %s", veil_strerror(err));
		goto out;
	}
	printf("removed\n");
	status = 0;
out:
	sodium_memzero(handle, sizeof(handle));
	state_free(st);
	return status;
}

/* ------------------------------------------------------------------ */
/* stats, info, verify */

static void
print_size(const char *label, uint64_t bytes)
{
	printf("%-16s %llu (%.1f MiB)\n", label, (unsigned long long)bytes,
	       (double)bytes / (1024.0 * 1024.0));
}

static int
run_stats(const options *opt)
{
	registry_stats s;
	veil_state *st = open_state(opt);
	if (st == NULL)
		return 1;
	veil_err err = registry_stats_read(state_registry(st), &s);
	if (err != VEIL_OK) {
		fail("cannot read the registry: %s", veil_strerror(err));
		state_free(st);
		return 1;
	}
	printf("%-16s %llu\n", "handles", (unsigned long long)s.view.handles);
	printf("%-16s %llu\n", "payloads", (unsigned long long)s.view.payloads);
	printf("%-16s %u\n", "tag-len", s.view.tag_len);
	printf("%-16s", "key-ids");
	for (uint32_t i = 0; i < s.view.key_count; i++)
		printf(" %u%s", s.view.key_ids[i], i == 0 ? " (current)" : "");
	printf("\n");
	for (uint32_t i = 0; i < s.view.key_count; i++)
		printf("index %-10u %llu entries\n", s.view.key_ids[i],
		       (unsigned long long)s.index_entries[i]);
	print_size("file-size", s.file_size);
	print_size("file-allocated", s.file_allocated);
	print_size("pages-in-use", s.used_size);

	/* Around the prefix length that gives about 64 handles per bucket. */
	const double handles = s.view.handles > 0 ? (double)s.view.handles : 1.0;
	int recommended = (int)lround(log2(handles / 64.0));
	recommended = recommended < 0 ? 0 : recommended > 32 ? 32 : recommended;
	const int low = recommended < 4 ? 0 : recommended - 4;
	const int high = recommended + 4 > 32 ? 32 : recommended + 4;
	printf("slots of key %u (prefix length: buckets, mean handles per bucket, slots, "
	       "slots/mean)\n",
	       s.view.key_ids[0]);
	for (int p = low; p <= high; p++) {
		const double buckets = ldexp(1.0, p);
		const double mean = (double)s.view.handles / buckets;
		printf("  p=%-2d %12.0f %12.2f %8u", p, buckets, mean, s.slots[0][p]);
		if (mean > 0)
			printf(" %8.2f", (double)s.slots[0][p] / mean);
		printf("%s\n", p == recommended ? "  (about 64 per bucket)" : "");
	}
	state_free(st);
	return 0;
}

static int
run_info(const options *opt)
{
	registry_stats s;
	uint8_t pk[OPRF_MAX_ELEMENT_SIZE];
	veil_state *st = open_state(opt);
	if (st == NULL)
		return 1;
	veil_err err = registry_stats_read(state_registry(st), &s);
	if (err != VEIL_OK) {
		fail("cannot read the registry: %s", veil_strerror(err));
		state_free(st);
		return 1;
	}
	printf("server-key ");
	print_hex(stdout, state_transport_public(st), STATE_TRANSPORT_KEY_SIZE);
	printf("\n");
	for (uint32_t i = 0; i < s.view.key_count; i++) {
		const oprf_key *key = state_oprf_key(st, s.view.key_ids[i]);
		if (key == NULL)
			continue;
		const oprf_suite *suite = oprf_key_suite(key);
		oprf_key_public(key, pk);
		printf("oprf-key %u %s ", s.view.key_ids[i], oprf_suite_name(suite));
		print_hex(stdout, pk, oprf_suite_element_size(suite));
		printf("\n");
	}
	printf("handles %llu\n", (unsigned long long)s.view.handles);
	printf("payloads %llu\n", (unsigned long long)s.view.payloads);
	printf("tag-len %u\n", s.view.tag_len);
	printf("payload-size %u\n", s.view.payloads > 0 ? ENTRY_SEALED_PAYLOAD_SIZE : 0);
	state_free(st);
	return 0;
}

static int
run_verify(const options *opt)
{
	registry_verify_summary v;
	size_t key_count = 0;
	veil_state *st = open_state(opt);
	if (st == NULL)
		return 1;
	const registry_key *keys = state_keys(st, &key_count);
	veil_err err = registry_verify(state_registry(st), keys, key_count, opt->threads, &v);
	state_free(st);
	if (err != VEIL_OK) {
		fail("cannot verify: %s", veil_strerror(err));
		return 1;
	}
	printf("handles %llu\npayloads %llu\nbad-records %llu\nmissing-entries %llu\n"
	       "payload-mismatches %llu\ndangling-entries %llu\ncount-mismatches %llu\n",
	       (unsigned long long)v.handles, (unsigned long long)v.payloads,
	       (unsigned long long)v.bad_records, (unsigned long long)v.missing_entries,
	       (unsigned long long)v.payload_mismatch, (unsigned long long)v.dangling_entries,
	       (unsigned long long)v.count_mismatch);
	if (!registry_verify_ok(&v)) {
		fail("the registry is inconsistent");
		return 1;
	}
	printf("ok\n");
	return 0;
}

/* ------------------------------------------------------------------ */
/* rotate */

/* Hours of grace at most: ten years. */
#define MAX_GRACE_HOURS 87600

/* A decimal number in 0..max; -1 when text is not one. */
static int
parse_number(const char *text, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	if (text == NULL || text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static void
print_time(const char *label, uint64_t t)
{
	char when[32] = "";
	const time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s %llu (%s)\n", label, (unsigned long long)t, when);
}

static int
run_rotate(const options *opt)
{
	uint64_t now = (uint64_t)time(NULL), hours = 24;
	progress prog = {.tty = isatty(STDERR_FILENO) == 1, .stage = STAGE_PARSE};
	state_rotation rot;
	const char *why = NULL;
	veil_err err;

	if (opt->now != NULL &&
	    (parse_number(opt->now, (uint64_t)1 << 40, &now) != 0 || now == 0)) {
		fail("--now takes a unix time in seconds, not %s", opt->now);
		return EXIT_USAGE;
	}
	if (opt->grace != NULL &&
	    (opt->finish || parse_number(opt->grace, MAX_GRACE_HOURS, &hours) != 0)) {
		fail(opt->finish ? "--grace does not go with --finish"
		                 : "--grace takes 0 to 87600 hours");
		return EXIT_USAGE;
	}
	veil_state *st = open_state(opt);
	if (st == NULL)
		return 1;
	prog.started = seconds_now();
	if (opt->finish) {
		err = state_retire_keys(st, now, &rot, &why);
	} else {
		const registry_import_options build = {opt->threads, on_progress, &prog};
		err = state_rotate(st, now, hours * 3600, &build, &rot, &why);
		progress_clear(&prog);
	}
	for (uint32_t i = 0; i < rot.removed_count; i++)
		printf("retired key %u\n", rot.removed[i]);
	if (err != VEIL_OK) {
		fail("failed%s: %s%s%s",
		     rot.removed_count > 0 ? " after retiring keys" : ", the registry is unchanged",
		     veil_strerror(err), why != NULL ? ": " : "", why != NULL ? why : "");
		state_free(st);
		return 1;
	}
	if (!opt->finish) {
		printf("current key %u\n", rot.new_key_id);
		print_time("grace-until", rot.retire_at);
	} else if (rot.removed_count == 0) {
		printf("nothing to retire\n");
	}
	registry_schedule schedule;
	if (registry_schedule_read(state_registry(st), &schedule) == VEIL_OK) {
		printf("live-keys");
		for (uint32_t i = 0; i < schedule.key_count; i++)
			printf(" %u", schedule.key_ids[i]);
		printf("\n");
	}
	state_free(st);
	return 0;
}

/* ------------------------------------------------------------------ */
/* log (server/admin/admin_log.c) */

static int
run_log_export(const options *opt)
{
	return admin_log_export(opt->state, opt->since, opt->until);
}

static int
run_log_purge(const options *opt)
{
	return admin_log_purge(opt->state, opt->now);
}

static int
run_log_stats(const options *opt)
{
	return admin_log_stats(opt->state);
}

static int
run_log_salts(const options *opt)
{
	return admin_log_salts(opt->state);
}

/* ------------------------------------------------------------------ */
/* exposure (server/admin/admin_exposure.c) */

static int
run_exposure_analyze(const options *opt)
{
	/* The word before the options is the command's name: argv[0] to getopt. */
	return admin_exposure_analyze(opt->positional_count + 1, opt->positional - 1);
}

/* ------------------------------------------------------------------ */
/* client (server/admin/admin_clients.c) */

static int
run_client_add(const options *opt)
{
	return admin_client_add(opt->positional_count, opt->positional);
}

static int
run_client_remove(const options *opt)
{
	return admin_client_remove(opt->positional_count, opt->positional);
}

static int
run_client_list(const options *opt)
{
	return admin_client_list(opt->positional_count, opt->positional);
}

/* ------------------------------------------------------------------ */
/* The table, usage and option parsing */

static const command commands[] = {
        {"keygen", "--state DIR [--verifiable]",
         "create a state directory: keys and an empty registry",
         "Creates DIR (mode 0700) unless it exists, the transport key pair\n"
         "(transport.key), OPRF key id 1 (oprf-00000001.key) and an empty registry\n"
         "(registry/). Refuses to touch a directory that already holds any of them.\n"
         "Prints the server-key line clients pin.\n"
         "--verifiable: the registry serves RFC 9497 VOPRF, whose proof lets every\n"
         "client check the server evaluated with the key it publishes to all; each\n"
         "contact then costs the server about 2.3 scalar multiplications instead of\n"
         "one. Default: OPRF. The mode is fixed for the life of the registry.\n",
         OPT_STATE | OPT_VERIFIABLE, 0, 0, run_keygen},
        {"import", "--state DIR [--region CC] [--strict] [--threads N] FILE|-",
         "add or update handles from a file, in one transaction",
         "One contact per line: a handle, then optionally a comma and a payload (the\n"
         "rest of the line, at most 64 bytes of UTF-8 without control characters).\n"
         "Blank lines and lines starting with # are skipped; CRLF is accepted.\n"
         "Phone numbers in national form need --region (ISO 3166 code, e.g. US).\n"
         "A handle already registered gets the line's payload (or none); when a\n"
         "handle appears on several lines, the last one wins. Bad lines are reported\n"
         "by number and reason, and skipped; with --strict any bad line refuses the\n"
         "whole import. FILE - reads standard input. --threads N evaluates on N\n"
         "threads (default: every online CPU). Either every line is imported or,\n"
         "on failure or interruption, none is.\n",
         OPT_STATE | OPT_REGION | OPT_STRICT | OPT_THREADS, 1, 1, run_import},
        {"add", "--state DIR [--region CC] HANDLE [PAYLOAD]",
         "register one handle, or replace its payload",
         "Registers HANDLE with PAYLOAD (none when omitted). A handle already\n"
         "registered gets PAYLOAD in place of its old one.\n",
         OPT_STATE | OPT_REGION, 1, 2, run_add},
        {"remove", "--state DIR [--region CC] HANDLE", "unregister one handle",
         "Removes HANDLE and its index entries. Fails, changing nothing, when it is\n"
         "not registered.\n",
         OPT_STATE | OPT_REGION, 1, 1, run_remove},
        {"stats", "--state DIR", "show registry figures",
         "Handles, payloads, key ids, index entries, file size, and the slots per\n"
         "bucket for prefix lengths around the recommended one.\n",
         OPT_STATE, 0, 0, run_stats},
        {"info", "--state DIR", "show the public keys clients pin",
         "First line: server-key <hex>, the transport public key clients pin.\n"
         "Then one line per live OPRF key: oprf-key <key id> <suite> <public key hex>,\n"
         "and the registry figures. Never prints a secret.\n",
         OPT_STATE, 0, 0, run_info},
        {"verify", "--state DIR [--threads N]", "check the registry's consistency",
         "Recomputes every handle's index entry under every live key and checks\n"
         "that the index holds exactly those, that payloads open, and that the counts\n"
         "and slots agree. Exits 1 when anything is wrong.\n",
         OPT_STATE | OPT_THREADS, 0, 0, run_verify},
        {"rotate", "--state DIR [--grace HOURS] [--threads N] [--now UNIXTIME] | --finish",
         "rotate the OPRF key; retire old keys after their grace",
         "Makes a new OPRF key id (the highest live one + 1, file oprf-<id>.key),\n"
         "builds its index from every registered handle while veild keeps serving\n"
         "from the current one, then in one transaction makes it current. The key\n"
         "that was current stays live, with its index, for HOURS (default 24), so\n"
         "clients holding it keep working; veild picks the new key up without a\n"
         "restart. Keys whose grace has passed are retired first: index dropped,\n"
         "key file overwritten and removed. --finish only retires (and removes key\n"
         "files no live key owns, left by an interrupted rotation). --now sets the\n"
         "clock, for tests and drills. Interrupted at any moment, the registry is as\n"
         "before or as after; `verify` passes either way.\n",
         OPT_STATE | OPT_GRACE | OPT_FINISH | OPT_NOW | OPT_THREADS, 0, 0, run_rotate},
        {"log export", "--state DIR [--since DAY] [--until DAY]",
         "write the query log as JSON Lines, exactly as stored",
         "First line: the schema and the widths and targets in force; then one line\n"
         "per entry (day, seq, hour, requester and bucket digests, status). DAY is\n"
         "YYYY-MM-DD (UTC) or a day number; both bounds are inclusive. Reads the\n"
         "log in DIR/log while veild runs, if it does.\n",
         OPT_STATE | OPT_SINCE | OPT_UNTIL, 0, 0, run_log_export},
        {"log purge", "--state DIR [--now UNIXTIME]", "run the query log's retention sweep",
         "Advances the salt chain to today (or the day of --now, for tests and drills),\n"
         "erases the chain keys and salts retention no longer allows, and deletes the\n"
         "entries older than the entry retention; the log's own configuration says\n"
         "how long. veild runs the same sweep at start-up and hourly.\n",
         OPT_STATE | OPT_NOW, 0, 0, run_log_purge},
        {"log stats", "--state DIR", "show the query log's figures",
         "Entries in all and per day, entries dropped (all time), the oldest entry,\n"
         "the days whose salts are held (never the salts), widths, targets and\n"
         "retention.\n",
         OPT_STATE, 0, 0, run_log_stats},
        {"log salts", "--state DIR", "write the retained salts as JSON Lines",
         "One line per retained salt: {\"day\": N, \"salt\": \"<hex>\"}. For drills and\n"
         "the exposure analysis: this output is as sensitive as the salts themselves,\n"
         "since with it every digest of those days can be tested against guesses.\n",
         OPT_STATE, 0, 0, run_log_salts},
        {"exposure analyze", admin_exposure_analyze_synopsis,
         "measure what a log export reveals", admin_exposure_analyze_details, OPT_OWN, 0, 0,
         run_exposure_analyze},
        {"client add", "--state DIR [--quota N] PUBKEY", "enrol a client key",
         admin_client_add_details, OPT_OWN, 0, 0, run_client_add},
        {"client remove", "--state DIR PUBKEY", "withdraw a client's enrolment",
         admin_client_remove_details, OPT_OWN, 0, 0, run_client_remove},
        {"client list", "--state DIR", "show enrolled clients and their quotas, never keys",
         admin_client_list_details, OPT_OWN, 0, 0, run_client_list},
};
#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static void
program_usage(FILE *f)
{
	fprintf(f, "usage: %s COMMAND [OPTIONS] [ARGS]\n\ncommands:\n", PROGRAM);
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'%s COMMAND --help' describes a command.\n", PROGRAM);
}

static void
command_usage(FILE *f, const command *c)
{
	fprintf(f, "usage: %s %s %s\n\n%s.\n\n%s", PROGRAM, c->name, c->synopsis, c->summary,
	        c->details);
}

static int usage_error(const command *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static int
usage_error(const command *c, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: %s: ", PROGRAM, c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s %s %s\n", PROGRAM, c->name, c->synopsis);
	return EXIT_USAGE;
}

/* Parses argv (after the command name); returns 0 or an exit status. */
static int
parse_options(const command *c, int argc, char **argv, options *opt)
{
	static const struct {
		const char *name;
		unsigned bit;
		bool takes_value;
	} known[] = {
	        {"--state", OPT_STATE, true},
	        {"--region", OPT_REGION, true},
	        {"--strict", OPT_STRICT, false},
	        {"--threads", OPT_THREADS, true},
	        {"--verifiable", OPT_VERIFIABLE, false},
	        {"--since", OPT_SINCE, true},
	        {"--until", OPT_UNTIL, true},
	        {"--now", OPT_NOW, true},
	        {"--grace", OPT_GRACE, true},
	        {"--finish", OPT_FINISH, false},
	};
	bool only_positional = false;

	memset(opt, 0, sizeof(*opt));
	opt->positional = argv;
	if (c->accepts & OPT_OWN) {
		/* The command parses its words itself; only --help is looked for. */
		for (int i = 0; i < argc; i++)
			if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
				opt->help = true;
		opt->positional_count = argc;
		return 0;
	}
	for (int i = 0; i < argc; i++) {
		char *arg = argv[i];
		if (only_positional || arg[0] != '-' || strcmp(arg, "-") == 0) {
			opt->positional[opt->positional_count++] = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			only_positional = true;
			continue;
		}
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			opt->help = true;
			return 0;
		}
		const char *value = NULL;
		size_t name_len = strcspn(arg, "=");
		size_t k = 0;
		while (k < sizeof(known) / sizeof(known[0]) &&
		       (strlen(known[k].name) != name_len ||
		        strncmp(known[k].name, arg, name_len) != 0))
			k++;
		if (k == sizeof(known) / sizeof(known[0]) || (c->accepts & known[k].bit) == 0)
			return usage_error(c, "unknown option %s", arg);
		if (known[k].takes_value) {
			if (arg[name_len] == '=')
				value = arg + name_len + 1;
			else if (i + 1 < argc)
				value = argv[++i];
			else
				return usage_error(c, "%s needs a value", known[k].name);
		} else if (arg[name_len] == '=') {
			return usage_error(c, "%s takes no value", known[k].name);
		}
		switch (known[k].bit) {
		case OPT_STATE:
			opt->state = value;
			break;
		case OPT_REGION:
			if (!normalize_region_valid(value))
				return usage_error(c, "unknown region code %s (e.g. US, GB)",
				                   value);
			opt->region = value;
			break;
		case OPT_STRICT:
			opt->strict = true;
			break;
		case OPT_VERIFIABLE:
			opt->verifiable = true;
			break;
		case OPT_SINCE:
			opt->since = value;
			break;
		case OPT_UNTIL:
			opt->until = value;
			break;
		case OPT_NOW:
			opt->now = value;
			break;
		case OPT_GRACE:
			opt->grace = value;
			break;
		case OPT_FINISH:
			opt->finish = true;
			break;
		case OPT_THREADS: {
			char *end = NULL;
			errno = 0;
			unsigned long n = strtoul(value, &end, 10);
			if (errno != 0 || end == value || *end != '\0' || n < 1 ||
			    n > MAX_THREADS || value[0] == '-')
				return usage_error(c, "--threads takes 1 to 256, not %s", value);
			opt->threads = (unsigned)n;
			break;
		}
		}
	}
	if ((c->accepts & OPT_STATE) && (opt->state == NULL || opt->state[0] == '\0'))
		return usage_error(c, "--state DIR is required");
	if (opt->positional_count < c->min_args)
		return usage_error(c, "missing argument");
	if (opt->positional_count > c->max_args)
		return usage_error(c, "too many arguments");
	return 0;
}

/*
 * The command argv[0] names, or argv[0] and argv[1] for a two-word one
 * ("log export"); *words gets how many words it took. NULL if none.
 */
static const command *
find_command(int argc, char **argv, int *words)
{
	for (size_t i = 0; i < COMMAND_COUNT && argc > 0; i++) {
		const char *name = commands[i].name;
		const char *space = strchr(name, ' ');
		*words = space == NULL ? 1 : 2;
		if (space == NULL ? strcmp(name, argv[0]) == 0
		                  : argc > 1 && strlen(argv[0]) == (size_t)(space - name) &&
		                            strncmp(name, argv[0], (size_t)(space - name)) == 0 &&
		                            strcmp(space + 1, argv[1]) == 0)
			return &commands[i];
	}
	*words = 0;
	return NULL;
}

int
main(int argc, char **argv)
{
	int words = 0;
	options opt;

	if (argc < 2) {
		program_usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		if (argc > 2 && strcmp(name, "help") == 0) {
			const command *c = find_command(argc - 2, argv + 2, &words);
			if (c != NULL) {
				command_usage(stdout, c);
				return 0;
			}
			fprintf(stderr, "%s: unknown command '%s'\n", PROGRAM, argv[2]);
			return EXIT_USAGE;
		}
		program_usage(stdout);
		return 0;
	}
	if (strcmp(name, "--version") == 0) {
		printf("%s %s\n", PROGRAM, cli_version());
		return 0;
	}
	if ((current = find_command(argc - 1, argv + 1, &words)) != NULL) {
		int rc = parse_options(current, argc - 1 - words, argv + 1 + words, &opt);
		if (rc != 0)
			return rc;
		if (opt.help) {
			command_usage(stdout, current);
			return 0;
		}
		if (veil_crypto_init() != VEIL_OK) {
			fail("the crypto library failed to start");
			return 1;
		}
		rc = current->run(&opt);
		if (fflush(stdout) != 0) {
			fail("cannot write the output: %s", strerror(errno));
			return 1;
		}
		return rc;
	}
	fprintf(stderr, "%s: unknown command '%s'\n", PROGRAM, name);
	program_usage(stderr);
	return EXIT_USAGE;
}

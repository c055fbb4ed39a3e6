/*
 * veil-admin: keys and registry of a veild state directory.
 *
 * A flat table of subcommands, each with its own options and --help.
 * Exit status: 0 on success, 1 when the operation failed, 2 for a usage
 * error. Errors go to stderr as "veil-admin COMMAND: ..."; results to
 * stdout. Nothing printed holds a secret key or a handle (bad import
 * lines are named by number and reason only).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "commands.h"
#include "cli.h"
#include "clock.h"
#include "entry.h"
#include "import.h"
#include "json.h"
#include "metrics.h"
#include "normalize.h"
#include "oprf.h"
#include "registry.h"
#include "state.h"
#include "store_file.h"

#define PROGRAM             "veil-admin"
/* Bad import lines reported one by one; the rest are counted. */
#define MAX_BAD_LINES_SHOWN 100
#define MAX_THREADS         256
/* The progress bar is redrawn at most this often (seconds). */
#define PROGRESS_INTERVAL   0.2
/* Hours of grace at most: ten years. */
#define MAX_GRACE_HOURS     87600
/* The suites keygen --suite takes (RFC 9497's identifiers). */
#define KNOWN_SUITES        "ristretto255-SHA512, P256-SHA256, P384-SHA384, P521-SHA512"

/* rotate --now at most: unix seconds, about the year 36812. */
#define MAX_NOW ((uint64_t)1 << 40)

/*
 * The options of the commands in this file. cli_parse() writes them
 * through the tables beside the command table, before a command runs;
 * veil-admin runs one command, so they start at their defaults.
 */
static struct {
	const char *state;
	const char *region;
	const char *suite; /* keygen: an RFC 9497 identifier; NULL: REGISTRY_DEFAULT_SUITE */
	bool strict;
	bool verifiable;
	uint32_t threads; /* 0: every online CPU */
	uint64_t grace;   /* rotate: hours */
	bool grace_given;
	bool finish;              /* rotate --finish */
	uint64_t now;             /* rotate: unix seconds; 0: the clock */
	bool json;                /* stats, status: one JSON object */
	const char *metrics_file; /* status */
	uint32_t max_age;         /* status: seconds; 0: 3 intervals of the file's */
	const char *out;          /* snapshot: the new directory */
	const char *from;         /* snapshot install: the snapshot */
} opt = {.grace = 24};

void
admin_print_hex(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
}

/* ------------------------------------------------------------------ */
/* Opening the state */

/*
 * Refuses (1, said on stderr) a change to a replica's registry: the next
 * snapshot install would replace it. 0 when the state is no replica.
 */
static int
refuse_replica(const cli_command *cmd)
{
	const int replica = state_is_replica(opt.state);
	if (replica == 0)
		return 0;
	if (replica > 0)
		cli_error(cmd->name,
		          "refused: %s is a replica (its registry comes from snapshots, and the "
		          "next `veil-admin snapshot install` replaces it); change the primary, "
		          "then snapshot and install",
		          opt.state);
	else
		cli_error(cmd->name, "cannot tell whether %s is a replica: %s", opt.state,
		          strerror(errno));
	return 1;
}

static veil_state *
open_state(const cli_command *cmd)
{
	veil_state *st = NULL;
	const char *why = NULL;
	veil_err err = state_open(opt.state, &st, &why);
	if (err != VEIL_OK) {
		cli_error(cmd->name, "cannot open state %s: %s%s%s", opt.state, veil_strerror(err),
		          why != NULL ? ": " : "", why != NULL ? why : "");
		return NULL;
	}
	return st;
}

/* Normalizes a handle typed on the command line; never echoes it. */
static int
normalize_argument(const cli_command *cmd, const char *text, char out[NORMALIZE_MAX_HANDLE],
                   size_t *out_len)
{
	normalize_status s = normalize_handle(text, strlen(text), opt.region, out,
	                                      NORMALIZE_MAX_HANDLE, out_len);
	if (s != NORMALIZE_OK) {
		cli_error(cmd->name, "the handle given is not valid: %s", normalize_strerror(s));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* keygen */

static int
run_keygen(const cli_command *cmd, int argc, char **argv)
{
	const char *why = NULL;
	veil_state *st = NULL;
	const oprf_suite *suite =
	        oprf_suite_by_name(opt.suite != NULL ? opt.suite : REGISTRY_DEFAULT_SUITE);
	if (suite == NULL)
		return cli_usage_error(cmd, "unknown suite %s (known: %s)", opt.suite,
		                       KNOWN_SUITES);
	veil_err err = state_create(opt.state, opt.verifiable ? OPRF_MODE_VOPRF : OPRF_MODE_OPRF,
	                            suite, &why);
	if (err != VEIL_OK) {
		cli_error(cmd->name, "cannot create state in %s: %s%s%s", opt.state,
		          veil_strerror(err), why != NULL ? ": " : "", why != NULL ? why : "");
		return 1;
	}
	if ((st = open_state(cmd)) == NULL)
		return 1;
	printf("server-key ");
	admin_print_hex(state_transport_public(st), STATE_TRANSPORT_KEY_SIZE);
	printf("\n");
	state_free(st);
	cli_error(cmd->name, "created state in %s", opt.state);
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
	const double now = clock_monotonic_seconds();
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
	const char *name; /* the command's, in messages */
	uint64_t count;
	progress *bar; /* cleared before a report */
} bad_lines;

static void
report_bad_line(void *arg, uint64_t line, const char *reason)
{
	bad_lines *bad = arg;
	progress_clear(bad->bar);
	if (bad->count++ < MAX_BAD_LINES_SHOWN)
		cli_error(bad->name, "line %llu: %s", (unsigned long long)line, reason);
}

/* Why an import or add failed; the registry is unchanged either way. */
static void
change_failed(const cli_command *cmd, veil_err err, const registry_change *change)
{
	if (err == VEIL_ERR_LIMIT && change->crowded > 0)
		cli_error(cmd->name,
		          "refused, the registry is unchanged: one bucket would hold %llu handles, "
		          "above the cap of %u per bucket",
		          (unsigned long long)change->crowded, (unsigned)REGISTRY_MAX_PER_BUCKET);
	else
		cli_error(cmd->name, "failed, the registry is unchanged: %s", veil_strerror(err));
}

static int
run_import(const cli_command *cmd, int argc, char **argv)
{
	const char *path = argv[0];
	veil_state *st = NULL;
	import_batch *batch = NULL;
	char *text = NULL;
	size_t text_len = 0, count = 0, key_count = 0;
	progress prog = {.tty = isatty(STDERR_FILENO) == 1, .stage = STAGE_PARSE};
	bad_lines bad = {cmd->name, 0, &prog};
	import_summary summary;
	registry_change change = {0};
	int status = 1;
	veil_err err;

	const double started = clock_monotonic_seconds();
	prog.started = started;
	if (refuse_replica(cmd) || (st = open_state(cmd)) == NULL)
		goto out;
	if ((err = import_read_file(path, &text, &text_len)) != VEIL_OK) {
		cli_error(cmd->name, "cannot read %s: %s%s%s",
		          strcmp(path, "-") == 0 ? "standard input" : path, veil_strerror(err),
		          err == VEIL_ERR_SYSTEM ? ": " : "",
		          err == VEIL_ERR_SYSTEM ? strerror(errno) : "");
		goto out;
	}
	const import_options parse_options = {opt.region, opt.threads,       report_bad_line,
	                                      &bad,       on_parse_progress, &prog};
	err = import_parse(text, text_len, &parse_options, &batch);
	progress_clear(&prog);
	sodium_memzero(text, text_len);
	if (err != VEIL_OK) {
		cli_error(cmd->name, "cannot parse %s: %s", path, veil_strerror(err));
		goto out;
	}
	import_batch_summary(batch, &summary);
	if (summary.bad > MAX_BAD_LINES_SHOWN)
		cli_error(cmd->name, "... and %llu more bad lines",
		          (unsigned long long)(summary.bad - MAX_BAD_LINES_SHOWN));
	if (opt.strict && summary.bad > 0) {
		cli_error(cmd->name,
		          "refused (--strict): %llu bad line%s; the registry is unchanged",
		          (unsigned long long)summary.bad, summary.bad == 1 ? "" : "s");
		goto out;
	}

	const registry_record *records = import_batch_records(batch, &count);
	const registry_key *keys = state_keys(st, &key_count);
	const registry_import_options store_options = {opt.threads, on_progress, &prog};
	err = registry_import(state_registry(st), keys, key_count, records, count, &store_options,
	                      &change);
	progress_clear(&prog);
	if (err != VEIL_OK) {
		change_failed(cmd, err, &change);
		goto out;
	}
	const double seconds = clock_monotonic_seconds() - started;
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

/* Registers text with payload or, when payload is NULL, removes it. */
static int
change_one(const cli_command *cmd, const char *text, const char *payload)
{
	char handle[NORMALIZE_MAX_HANDLE];
	size_t handle_len = 0, key_count = 0;
	registry_change change = {0};
	veil_state *st = NULL;
	veil_err err;
	int status = 1;

	if (refuse_replica(cmd) || normalize_argument(cmd, text, handle, &handle_len) != 0)
		goto out;
	const registry_record record = {handle, handle_len, (const uint8_t *)payload,
	                                payload != NULL ? strlen(payload) : 0};
	const import_status ps = payload != NULL
	                                 ? import_check_payload(record.payload, record.payload_len)
	                                 : IMPORT_RECORD;
	if (ps != IMPORT_RECORD) {
		cli_error(cmd->name, "the payload given is not valid: %s",
		          import_line_reason(ps, NORMALIZE_OK));
		goto out;
	}
	if ((st = open_state(cmd)) == NULL)
		goto out;
	const registry_key *keys = state_keys(st, &key_count);
	if (payload != NULL)
		err = registry_add(state_registry(st), keys, key_count, &record, &change);
	else
		err = registry_remove(state_registry(st), keys, key_count, handle, handle_len);
	if (err == VEIL_ERR_NOT_FOUND) {
		cli_error(cmd->name, "that handle is not registered; nothing changed");
		goto out;
	}
	if (err != VEIL_OK) {
		change_failed(cmd, err, &change);
		goto out;
	}
	printf("%s\n", payload == NULL    ? "removed"
	               : change.added > 0 ? "added"
	                                  : "replaced the payload of a registered handle");
	status = 0;
out:
	sodium_memzero(handle, sizeof(handle));
	state_free(st);
	return status;
}

static int
run_add(const cli_command *cmd, int argc, char **argv)
{
	return change_one(cmd, argv[0], argc > 1 ? argv[1] : "");
}

static int
run_remove(const cli_command *cmd, int argc, char **argv)
{
	return change_one(cmd, argv[0], NULL);
}

/* ------------------------------------------------------------------ */
/* stats, info, verify */

static void
print_size(const char *label, uint64_t bytes)
{
	printf("%-16s %llu (%.1f MiB)\n", label, (unsigned long long)bytes,
	       (double)bytes / (1024.0 * 1024.0));
}

/* Opens the state and reads the registry's figures; NULL after the message. */
static veil_state *
open_with_stats(const cli_command *cmd, registry_stats *s)
{
	veil_state *st = open_state(cmd);
	if (st == NULL)
		return NULL;
	veil_err err = registry_stats_read(state_registry(st), s);
	if (err != VEIL_OK) {
		cli_error(cmd->name, "cannot read the registry: %s", veil_strerror(err));
		state_free(st);
		return NULL;
	}
	return st;
}

/* The prefix length of about 64 handles per bucket, and the range
 * around it that stats shows. */
static int
stats_prefix_range(const registry_stats *s, int *low, int *high)
{
	const double handles = s->view.handles > 0 ? (double)s->view.handles : 1.0;
	int recommended = (int)lround(log2(handles / 64.0));
	recommended = recommended < 0 ? 0 : recommended > 32 ? 32 : recommended;
	*low = recommended < 4 ? 0 : recommended - 4;
	*high = recommended + 4 > 32 ? 32 : recommended + 4;
	return recommended;
}

/* stats --json: the same figures as one JSON object. */
static void
print_stats_json(const registry_stats *s)
{
	int low, high;
	const int recommended = stats_prefix_range(s, &low, &high);
	printf("{\"handles\":%llu,\"payloads\":%llu,\"tag_len\":%u,\"suite\":\"%s\","
	       "\"current_key_id\":%u,\"keys\":[",
	       (unsigned long long)s->view.handles, (unsigned long long)s->view.payloads,
	       s->view.tag_len, oprf_suite_name(s->view.suite),
	       s->view.key_count > 0 ? s->view.key_ids[0] : 0);
	for (uint32_t i = 0; i < s->view.key_count; i++)
		printf("%s{\"key_id\":%u,\"index_entries\":%llu}", i == 0 ? "" : ",",
		       s->view.key_ids[i], (unsigned long long)s->index_entries[i]);
	printf("],\"file_size\":%llu,\"file_allocated\":%llu,\"pages_in_use\":%llu,"
	       "\"recommended_prefix_bits\":%d,\"slots\":[",
	       (unsigned long long)s->file_size, (unsigned long long)s->file_allocated,
	       (unsigned long long)s->used_size, recommended);
	for (int p = low; p <= high; p++)
		printf("%s{\"prefix_bits\":%d,\"buckets\":%.0f,\"mean\":%.2f,\"slots\":%u}",
		       p == low ? "" : ",", p, ldexp(1.0, p),
		       (double)s->view.handles / ldexp(1.0, p), s->slots[0][p]);
	printf("]}\n");
}

static int
run_stats(const cli_command *cmd, int argc, char **argv)
{
	registry_stats s;
	veil_state *st = open_with_stats(cmd, &s);
	if (st == NULL)
		return 1;
	if (opt.json) {
		print_stats_json(&s);
		state_free(st);
		return 0;
	}
	printf("%-16s %llu\n", "handles", (unsigned long long)s.view.handles);
	printf("%-16s %llu\n", "payloads", (unsigned long long)s.view.payloads);
	printf("%-16s %u\n", "tag-len", s.view.tag_len);
	printf("%-16s %s\n", "suite", oprf_suite_name(s.view.suite));
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
	int low, high;
	const int recommended = stats_prefix_range(&s, &low, &high);
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
run_info(const cli_command *cmd, int argc, char **argv)
{
	registry_stats s;
	uint8_t pk[OPRF_MAX_ELEMENT_SIZE];
	veil_state *st = open_with_stats(cmd, &s);
	if (st == NULL)
		return 1;
	printf("server-key ");
	admin_print_hex(state_transport_public(st), STATE_TRANSPORT_KEY_SIZE);
	printf("\nmode %s\n", s.view.mode == OPRF_MODE_VOPRF ? "voprf" : "oprf");
	for (uint32_t i = 0; i < s.view.key_count; i++) {
		const oprf_key *key = state_oprf_key(st, s.view.key_ids[i]);
		if (key == NULL)
			continue;
		const oprf_suite *suite = oprf_key_suite(key);
		oprf_key_public(key, pk);
		printf("oprf-key %u %s ", s.view.key_ids[i], oprf_suite_name(suite));
		admin_print_hex(pk, oprf_suite_element_size(suite));
		printf("\n");
	}
	printf("handles %llu\n", (unsigned long long)s.view.handles);
	printf("payloads %llu\n", (unsigned long long)s.view.payloads);
	printf("tag-len %u\n", s.view.tag_len);
	printf("payload-size %u\n", s.view.payloads > 0 ? ENTRY_SEALED_PAYLOAD_SIZE : 0);
	state_free(st);
	if (admin_tokens_info(opt.state) != 0) {
		cli_error(cmd->name, "the token issuer's copy in %s/tokens is damaged", opt.state);
		return 1;
	}
	return 0;
}

/* The size data.mdb spans in the registry of state dir; 0 when it cannot be told. */
static uint64_t
registry_file_size(const char *dir)
{
	char *reg = state_registry_path(dir);
	char *path = reg != NULL ? store_file_join(reg, "data.mdb") : NULL;
	struct stat st;
	uint64_t size = 0;
	if (path != NULL && stat(path, &st) == 0)
		size = (uint64_t)st.st_size;
	free(path);
	free(reg);
	return size;
}

static int
run_snapshot(const cli_command *cmd, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (opt.out == NULL)
		return cli_usage_error(cmd, "--out NEWDIR is required");
	const char *why = NULL;
	const veil_err err = state_snapshot(opt.state, opt.out, &why);
	if (err != VEIL_OK) {
		cli_error(cmd->name, "cannot snapshot %s into %s: %s%s%s", opt.state, opt.out,
		          veil_strerror(err), why != NULL ? ": " : "", why != NULL ? why : "");
		return 1;
	}
	print_size("registry-bytes", registry_file_size(opt.state));
	print_size("snapshot-bytes", registry_file_size(opt.out));
	if (store_file_exists(opt.out, STATE_TOKENS_DIR))
		fprintf(stderr,
		        "veil-admin snapshot: note: the copy holds the token issuer's keys, and "
		        "each "
		        "replica keeps its own spent set: a token could be redeemed once on each "
		        "(give each replica its own issuer key, or run tokens mode on one)\n");
	return 0;
}

static int
run_snapshot_install(const cli_command *cmd, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (opt.from == NULL)
		return cli_usage_error(cmd, "--from SNAPSHOT is required");
	const char *why = NULL;
	state_install_result r;
	const veil_err err = state_install(opt.state, opt.from, &r, &why);
	if (err != VEIL_OK) {
		cli_error(cmd->name, "cannot install %s into %s: %s%s%s", opt.from, opt.state,
		          veil_strerror(err), why != NULL ? ": " : "", why != NULL ? why : "");
		return 1;
	}
	printf("generation %u\nprevious %u\nkeys-copied %u\ngenerations-removed %u\n"
	       "key-files-erased %u\n",
	       r.generation, r.previous, r.keys_copied, r.removed, r.erased_files);
	return 0;
}

static int
run_verify(const cli_command *cmd, int argc, char **argv)
{
	registry_verify_summary v;
	size_t key_count = 0;
	veil_state *st = open_state(cmd);
	if (st == NULL)
		return 1;
	const registry_key *keys = state_keys(st, &key_count);
	veil_err err = registry_verify(state_registry(st), keys, key_count, opt.threads, &v);
	state_free(st);
	if (err != VEIL_OK) {
		cli_error(cmd->name, "cannot verify: %s", veil_strerror(err));
		return 1;
	}
	printf("handles %llu\npayloads %llu\nbad-records %llu\nmissing-entries %llu\n"
	       "payload-mismatches %llu\ndangling-entries %llu\ncount-mismatches %llu\n",
	       (unsigned long long)v.handles, (unsigned long long)v.payloads,
	       (unsigned long long)v.bad_records, (unsigned long long)v.missing_entries,
	       (unsigned long long)v.payload_mismatch, (unsigned long long)v.dangling_entries,
	       (unsigned long long)v.count_mismatch);
	if (!registry_verify_ok(&v)) {
		cli_error(cmd->name, "the registry is inconsistent");
		return 1;
	}
	printf("ok\n");
	return 0;
}

/* ------------------------------------------------------------------ */
/* rotate */

void
admin_print_time(const char *label, uint64_t t)
{
	char when[32] = "";
	const time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s %llu (%s)\n", label, (unsigned long long)t, when);
}

static int
run_rotate(const cli_command *cmd, int argc, char **argv)
{
	const uint64_t now = opt.now != 0 ? opt.now : (uint64_t)time(NULL);
	progress prog = {.tty = isatty(STDERR_FILENO) == 1, .stage = STAGE_PARSE};
	state_rotation rot;
	const char *why = NULL;
	veil_err err;

	if (opt.grace_given && opt.finish)
		return cli_usage_error(cmd, "--grace does not go with --finish");
	if (refuse_replica(cmd))
		return 1;
	veil_state *st = open_state(cmd);
	if (st == NULL)
		return 1;
	prog.started = clock_monotonic_seconds();
	if (opt.finish) {
		err = state_retire_keys(st, now, &rot, &why);
	} else {
		const registry_import_options build = {opt.threads, on_progress, &prog};
		err = state_rotate(st, now, opt.grace * 3600, &build, &rot, &why);
		progress_clear(&prog);
	}
	for (uint32_t i = 0; i < rot.removed_count; i++)
		printf("retired key %u\n", rot.removed[i]);
	if (err != VEIL_OK) {
		cli_error(cmd->name, "failed%s: %s%s%s",
		          rot.removed_count > 0 ? " after retiring keys"
		                                : ", the registry is unchanged",
		          veil_strerror(err), why != NULL ? ": " : "", why != NULL ? why : "");
		state_free(st);
		return 1;
	}
	if (!opt.finish) {
		printf("current key %u\n", rot.new_key_id);
		admin_print_time("grace-until", rot.retire_at);
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
/* status */

/* The most a metrics file may be: a few kilobytes are written. */
#define MAX_METRICS_FILE (1 << 20)

/* The file at path, NUL-terminated, into *text (the caller frees it) and
 * its length into *len; -1 with errno set when it cannot be read. */
static int
read_metrics_file(const char *path, char **text, size_t *len)
{
	*text = NULL;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	char *data = malloc(MAX_METRICS_FILE + 1);
	const size_t n = data != NULL ? fread(data, 1, MAX_METRICS_FILE + 1, f) : 0;
	const int failed = data == NULL || ferror(f) || n > MAX_METRICS_FILE;
	fclose(f);
	if (failed) {
		free(data);
		errno = data == NULL ? ENOMEM : EFBIG;
		return -1;
	}
	data[n] = '\0';
	*text = data;
	*len = n;
	return 0;
}

/* A sample's value: integers as integers. */
static void
print_value(double v)
{
	printf("%.17g", v);
}

/* status --json: one object, the samples in the file's order. */
static void
print_status_json(const char *verdict, double up, long long age, double max_age, double interval,
                  const metrics_sample *samples, size_t count)
{
	buf b;
	buf_init(&b);
	(void)json_write_string(&b, opt.metrics_file, strlen(opt.metrics_file));
	printf("{\"metrics_file\":%.*s,\"status\":\"%s\",\"up\":%s,\"age_seconds\":%lld,"
	       "\"max_age_seconds\":",
	       (int)buf_len(&b), (const char *)buf_data(&b), verdict, up == 1 ? "true" : "false",
	       age);
	print_value(max_age);
	printf(",\"interval_seconds\":");
	print_value(interval);
	printf(",\"metrics\":{");
	for (size_t i = 0; i < count; i++) {
		buf_reset(&b);
		(void)json_write_string(&b, samples[i].name, strlen(samples[i].name));
		printf("%s%.*s:", i == 0 ? "" : ",", (int)buf_len(&b), (const char *)buf_data(&b));
		print_value(samples[i].value);
	}
	printf("}}\n");
	buf_free(&b);
}

static int
run_status(const cli_command *cmd, int argc, char **argv)
{
	char *text = NULL;
	size_t len = 0, count = 0;
	struct stat st;
	int status = 1;
	if (opt.metrics_file == NULL)
		return cli_usage_error(cmd, "--metrics-file PATH is required");
	metrics_sample *samples = calloc(METRICS_MAX_SAMPLES, sizeof(*samples));
	if (samples == NULL) {
		cli_error(cmd->name, "out of memory");
		return 1;
	}
	if (stat(opt.metrics_file, &st) != 0 || read_metrics_file(opt.metrics_file, &text, &len)) {
		cli_error(cmd->name, "cannot read %s: %s (does veild run with --metrics-file?)",
		          opt.metrics_file, strerror(errno));
		goto out;
	}
	double up = 0, interval = 0, started = 0;
	veil_err err = metrics_parse(text, len, samples, METRICS_MAX_SAMPLES, &count);
	if (err != VEIL_OK || metrics_find(samples, count, "veild_up", &up) != 0) {
		cli_error(cmd->name, "%s is not a metrics file of veild: %s", opt.metrics_file,
		          err != VEIL_OK ? veil_strerror(err) : "no veild_up");
		goto out;
	}
	if (metrics_find(samples, count, "veild_metrics_interval_seconds", &interval) != 0 ||
	    interval < 1)
		interval = 10;
	(void)metrics_find(samples, count, "veild_start_time_seconds", &started);
	const double max_age = opt.max_age > 0 ? (double)opt.max_age : 3 * interval;
	long long age = (long long)time(NULL) - (long long)st.st_mtime;
	if (age < 0)
		age = 0; /* written by a clock ahead of ours */
	const char *verdict = up != 1 ? "stopped" : (double)age > max_age ? "stale" : "up";
	if (opt.json) {
		print_status_json(verdict, up, age, max_age, interval, samples, count);
	} else {
		printf("%-16s %s\n", "status", verdict);
		printf("%-16s %lld s (written every %.0f s; stale after %.0f s)\n", "age", age,
		       interval, max_age);
		if (started > 0)
			admin_print_time("started", (uint64_t)started);
		for (size_t i = 0; i < count; i++) {
			printf("%-44s ", samples[i].name);
			print_value(samples[i].value);
			printf("\n");
		}
	}
	status = strcmp(verdict, "up") == 0 ? 0 : 1;
out:
	free(text);
	free(samples);
	return status;
}

/* ------------------------------------------------------------------ */
/* The table */

/* Option tables of this file's commands (the log and client commands
 * bring theirs); every command whose table holds --state requires it. */
#define STATE_OPTION   CLI_TEXT_OPTION("state", &opt.state)
#define REGION_OPTION  CLI_TEXT_OPTION("region", &opt.region)
#define THREADS_OPTION CLI_U32_OPTION("threads", &opt.threads, 1, MAX_THREADS)

static const cli_option keygen_options[] = {
        STATE_OPTION,
        CLI_FLAG_OPTION("verifiable", &opt.verifiable),
        CLI_TEXT_OPTION("suite", &opt.suite),
        CLI_END,
};
static const cli_option import_file_options[] = {
        STATE_OPTION,   REGION_OPTION, CLI_FLAG_OPTION("strict", &opt.strict),
        THREADS_OPTION, CLI_END,
};
static const cli_option handle_options[] = {STATE_OPTION, REGION_OPTION, CLI_END};
static const cli_option state_options[] = {STATE_OPTION, CLI_END};
static const cli_option stats_options[] = {STATE_OPTION, CLI_FLAG_OPTION("json", &opt.json),
                                           CLI_END};
static const cli_option status_options[] = {
        CLI_TEXT_OPTION("metrics-file", &opt.metrics_file),
        CLI_FLAG_OPTION("json", &opt.json),
        CLI_U32_OPTION("max-age", &opt.max_age, 1, UINT32_MAX),
        CLI_END,
};
static const cli_option verify_options[] = {STATE_OPTION, THREADS_OPTION, CLI_END};
static const cli_option snapshot_options[] = {STATE_OPTION, CLI_TEXT_OPTION("out", &opt.out),
                                              CLI_END};
static const cli_option install_options[] = {STATE_OPTION, CLI_TEXT_OPTION("from", &opt.from),
                                             CLI_END};
static const cli_option rotate_options[] = {
        STATE_OPTION,
        {.name = "grace",
         .kind = CLI_U64,
         .target = &opt.grace,
         .max = MAX_GRACE_HOURS,
         .given = &opt.grace_given},
        THREADS_OPTION,
        CLI_U64_OPTION("now", &opt.now, 1, MAX_NOW),
        CLI_FLAG_OPTION("finish", &opt.finish),
        CLI_END,
};

typedef struct command {
	const char *name;
	const char *synopsis; /* after "veil-admin NAME " */
	const char *summary;
	const char *details;
	/* Parsed here: run gets the arguments after the options, between
	 * min_args and max_args of them, and cmd for its messages. */
	const cli_option *options;
	int min_args, max_args;
	int (*run)(const cli_command *cmd, int argc, char **argv);
	bool state_optional; /* a --state in options may be left out */
} command;

static const command commands[] = {
        {"keygen", "--state DIR [--verifiable] [--suite NAME]",
         "create a state directory: keys and an empty registry",
         "Creates DIR (mode 0700) unless it exists, the transport key pair\n"
         "(transport.key), OPRF key id 1 (oprf-00000001.key) and an empty registry\n"
         "(registry/). Refuses to touch a directory that already holds any of them.\n"
         "Prints the server-key line clients pin.\n"
         "--verifiable: the registry serves RFC 9497 VOPRF, whose proof lets every\n"
         "client check the server evaluated with the key it publishes to all; each\n"
         "contact then costs the server about 2.3 scalar multiplications instead of\n"
         "one. Default: OPRF. The mode is fixed for the life of the registry.\n"
         "--suite NAME: the RFC 9497 suite of the keys and the registry, one of\n" KNOWN_SUITES
         " (default\n"
         "ristretto255-SHA512). Fixed for the life of the registry: rotated keys are\n"
         "of it too, and clients pin it with the keys.\n",
         keygen_options, 0, 0, run_keygen, false},
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
         "threads, 1 to 256 (default: every online CPU). Either every line is\n"
         "imported or, on failure or interruption, none is.\n",
         import_file_options, 1, 1, run_import, false},
        {"add", "--state DIR [--region CC] HANDLE [PAYLOAD]",
         "register one handle, or replace its payload",
         "Registers HANDLE with PAYLOAD (none when omitted). A handle already\n"
         "registered gets PAYLOAD in place of its old one.\n",
         handle_options, 1, 2, run_add, false},
        {"remove", "--state DIR [--region CC] HANDLE", "unregister one handle",
         "Removes HANDLE and its index entries. Fails, changing nothing, when it is\n"
         "not registered.\n",
         handle_options, 1, 1, run_remove, false},
        {"stats", "--state DIR [--json]", "show registry figures",
         "Handles, payloads, key ids, index entries, file size, and the slots per\n"
         "bucket for prefix lengths around the recommended one. --json: one JSON\n"
         "object (handles, payloads, tag_len, suite, current_key_id, keys: [{key_id,\n"
         "index_entries}], file_size, file_allocated, pages_in_use,\n"
         "recommended_prefix_bits, slots: [{prefix_bits, buckets, mean, slots}]).\n",
         stats_options, 0, 0, run_stats, false},
        {"status", "--metrics-file PATH [--max-age S] [--json]",
         "show veild's metrics file: is it serving, and its counters",
         "Reads the Prometheus textfile veild writes (veild --metrics-file) and prints\n"
         "its status, how old the file is and every counter; sends nothing to veild.\n"
         "The status is up (veild_up 1 and the file at most S seconds old; default:\n"
         "three of veild's write intervals), stale (older: veild hangs or died without\n"
         "a word), or stopped (veild's last write, at shutdown). Exits 0 when up, 1\n"
         "otherwise, and when the file is missing or not veild's. --json: one JSON\n"
         "object (metrics_file, status, up, age_seconds, max_age_seconds,\n"
         "interval_seconds, metrics: {sample name: value}).\n",
         status_options, 0, 0, run_status, true},
        {"info", "--state DIR", "show the public keys clients pin",
         "What clients pin, then the registry figures; never a secret:\n"
         "  server-key <hex>                      the transport public key\n"
         "  mode oprf|voprf                       the OPRF mode the registry serves\n"
         "  oprf-key <key id> <suite> <hex>       one line per live OPRF key\n"
         "  auth keys|tokens                      tokens once `tokens link` ran, then:\n"
         "  token-issuer <name>                   the token issuer's name\n"
         "  token-origin <name>                   this server's name in its tokens\n"
         "Hand the whole output to clients (veil lookup --server-info FILE).\n",
         state_options, 0, 0, run_info, false},
        {"verify", "--state DIR [--threads N]", "check the registry's consistency",
         "Recomputes every handle's index entry under every live key and checks\n"
         "that the index holds exactly those, that payloads open, and that the counts\n"
         "and slots agree. Exits 1 when anything is wrong.\n",
         verify_options, 0, 0, run_verify, false},
        {"snapshot install", "--state DIR --from SNAPSHOT",
         "make a replica serve a new snapshot, without stopping its veild",
         "Installs SNAPSHOT (a directory `veil-admin snapshot` wrote, on the same file\n"
         "system as DIR) as the registry the replica state DIR serves; DIR keeps its\n"
         "query log, clients, spent tokens, salts and tokens/. Refused, changing\n"
         "nothing, when SNAPSHOT is no snapshot, its transport key or suite is not\n"
         "DIR's, a key file is missing from it, or DIR holds a key file of the same\n"
         "name with other bytes. Copies the OPRF key files DIR lacks, moves the\n"
         "registry in as DIR/registry.<N> and switches the link DIR/registry to it in\n"
         "one rename: interrupted at any moment, DIR serves the old registry or the\n"
         "new one, whole. A veild on DIR switches within a second (or at SIGHUP),\n"
         "its requests waiting meanwhile. The generation it replaced stays until the\n"
         "next install; older ones, key files neither lists live, and what is left\n"
         "of SNAPSHOT are removed (key files overwritten first). Prints the new\n"
         "generation, the one replaced, and what was copied and removed. A replica's\n"
         "registry takes no import, add, remove or rotate: change the primary.\n",
         install_options, 0, 0, run_snapshot_install, false},
        {"snapshot", "--state DIR --out NEWDIR",
         "copy what a replica serves into a new state directory",
         "Writes NEWDIR (mode 0700; refused when it exists), a state directory a\n"
         "replica veild serves the same lookups from: a compact copy of the registry\n"
         "as of one moment (LMDB's copy with compaction, made from a read snapshot:\n"
         "veild may serve and other commands write meanwhile), the transport key,\n"
         "the key file of every OPRF key the copy lists live, and the token issuer's\n"
         "keys when linked. Never the query log, the enrolled clients, the spent\n"
         "tokens or the salts: a replica's veild starts those fresh. Files are 0600.\n"
         "Written to NEWDIR.tmp, then renamed: interrupted, no NEWDIR is left (remove\n"
         "a NEWDIR.tmp left by a crash). A key rotation waits for it, or it for one.\n"
         "Prints the registry's data file size and the copy's, in bytes.\n",
         snapshot_options, 0, 0, run_snapshot, false},
        {"rotate", "--state DIR [--grace HOURS] [--threads N] [--now UNIXTIME] | --finish",
         "rotate the OPRF key; retire old keys after their grace",
         "Makes a new OPRF key id (the highest live one + 1, file oprf-<id>.key),\n"
         "builds its index from every registered handle while veild keeps serving\n"
         "from the current one, then in one transaction makes it current. The key\n"
         "that was current stays live, with its index, for HOURS (0 to 87600,\n"
         "default 24), so clients holding it keep working; veild picks the new key\n"
         "up without a restart. Keys whose grace has passed are retired first: index\n"
         "dropped, key file overwritten and removed. --finish only retires (and\n"
         "removes key files no live key owns, left by an interrupted rotation).\n"
         "--now sets the clock, for tests and drills. Interrupted at any moment, the\n"
         "registry is as before or as after; `verify` passes either way.\n",
         rotate_options, 0, 0, run_rotate, false},
        {"log export", "--state DIR [--since DAY] [--until DAY] [DIR...]",
         "write the query log as JSON Lines, exactly as stored",
         "First line: the schema and the widths and targets in force; then one line\n"
         "per entry (day, hour, requester, item size class, sorted bucket digests,\n"
         "status). DAY is YYYY-MM-DD (UTC) or a day number; both bounds are\n"
         "inclusive. Reads the log in DIR/log while veild runs, if it does.\n"
         "More state directories after the options (replicas, each with its own log\n"
         "and salts): one export with a section per replica, in the order given,\n"
         "each a header line with \"replica\": i (from 0) and \"replicas\": n, then\n"
         "its entries. Their digests are under different salts and cannot be\n"
         "joined, so the sections stay apart. Every log must open, or nothing is\n"
         "written.\n",
         admin_log_export_options, 0, 63, admin_log_export, false},
        {"log purge", "--state DIR [--now UNIXTIME]", "run the query log's retention sweep",
         "Advances the salt chain to today (or the day of --now, for tests and drills),\n"
         "erases the chain keys and salts retention no longer allows, and deletes the\n"
         "entries older than the entry retention; the log's own configuration says\n"
         "how long. veild runs the same sweep at start-up and hourly.\n",
         admin_log_purge_options, 0, 0, admin_log_purge, false},
        {"log stats", "--state DIR [--json]", "show the query log's figures",
         "Entries in all and per day, entries dropped (all time), the oldest entry,\n"
         "the days whose salts are held (never the salts), widths, targets and\n"
         "retention. --json: one JSON object (entries, dropped, oldest, salts, t_r,\n"
         "t_b, k_r, accounts, k_b, universe, max_prefix_bits, entry_retention_days,\n"
         "salt_retention_days, days: [{day, entries}]; days as YYYY-MM-DD, oldest\n"
         "null when the log is empty).\n",
         admin_log_stats_options, 0, 0, admin_log_stats, false},
        {"log salts", "--state DIR [DIR...]", "write the retained salts as JSON Lines",
         "One line per retained salt: {\"day\": N, \"salt\": \"<hex>\"}. For drills and\n"
         "the exposure analysis: this output is as sensitive as the salts themselves,\n"
         "since with it every digest of those days can be tested against guesses.\n"
         "More state directories after the options: a section per replica, as in\n"
         "log export, each after a line {\"replica\": i, \"replicas\": n}.\n",
         admin_log_state_options, 0, 63, admin_log_salts, false},
        {"exposure analyze", admin_exposure_analyze_synopsis, "measure what a log export reveals",
         admin_exposure_analyze_details, admin_exposure_analyze_options, 0, 0,
         admin_exposure_analyze, true},
        {"client add", "--state DIR [--quota N] PUBKEY", "enrol a client key",
         admin_client_add_details, admin_client_add_options, 1, 1, admin_client_add, false},
        {"client remove", "--state DIR PUBKEY", "withdraw a client's enrolment",
         admin_client_remove_details, admin_client_state_options, 1, 1, admin_client_remove, false},
        {"client list", "--state DIR [--json]",
         "show enrolled clients and their quotas, never keys", admin_client_list_details,
         admin_client_list_options, 0, 0, admin_client_list, false},
        {"issuer create", "--state DIR --name NAME", "create a token issuer's state directory",
         admin_issuer_create_details, admin_issuer_create_options, 0, 0, admin_issuer_create,
         false},
        {"issuer info", "--state DIR", "show the issuer's public keys and name clients pin",
         admin_issuer_info_details, admin_issuer_state_options, 0, 0, admin_issuer_info, false},
        {"issuer rotate", "--state DIR [--grace-hours HOURS] [--now UNIXTIME]",
         "make a new current issuer key; retire old keys after their grace",
         admin_issuer_rotate_details, admin_issuer_rotate_options, 0, 0, admin_issuer_rotate,
         false},
        {"issuer retire", "--state DIR [--now UNIXTIME]",
         "retire the issuer keys whose grace has passed", admin_issuer_retire_details,
         admin_issuer_retire_options, 0, 0, admin_issuer_retire, false},
        {"tokens link", "--state DIR --issuer IDIR [--origin NAME]",
         "copy a token issuer's keys for veild --auth tokens", admin_tokens_link_details,
         admin_tokens_link_options, 0, 0, admin_tokens_link, false},
};
#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

/* ------------------------------------------------------------------ */
/* Usage and dispatch */

static const cli_command program = {PROGRAM, "COMMAND [OPTIONS] [ARGS]", NULL};

/* veil-admin --help, after the usage line. */
static void
list_commands(void)
{
	printf("commands:\n");
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		printf("  %-16s %s\n", commands[i].name, commands[i].summary);
	printf("\n'%s COMMAND --help' or '%s help COMMAND' describes a command;\n"
	       "'%s --version' says which veil-admin.\n",
	       PROGRAM, PROGRAM, PROGRAM);
}

static void
command_usage(FILE *f, const command *c)
{
	fprintf(f, "usage: %s %s %s\n\n%s.\n\n%s", PROGRAM, c->name, c->synopsis, c->summary,
	        c->details);
}

/* True when options hold --state and it was not given. */
static bool
state_missing(const cli_option *options)
{
	for (const cli_option *o = options; o->name != NULL; o++)
		if (strcmp(o->name, "state") == 0)
			return *(const char *const *)o->target == NULL;
	return false;
}

/*
 * Runs c with argv[0] its (last) name and its options and arguments
 * after it; returns the exit status.
 */
static int
run_command(const command *c, int argc, char **argv)
{
	char name[64];
	snprintf(name, sizeof(name), "%s %s", PROGRAM, c->name);
	const cli_command cmd = {name, c->synopsis, c->options};
	int first = 0;

	switch (cli_parse(&cmd, argc, argv, &first)) {
	case CLI_RUN:
		break;
	case CLI_HELP:
		command_usage(stdout, c);
		return 0;
	case CLI_VERSION:
		return 0;
	case CLI_USAGE:
		return CLI_EXIT_USAGE;
	}
	if (!c->state_optional && state_missing(c->options))
		return cli_usage_error(&cmd, "--state DIR is required");
	if (opt.region != NULL && !normalize_region_valid(opt.region))
		return cli_usage_error(&cmd, "unknown region code %s (e.g. US, GB)", opt.region);
	if (argc - first < c->min_args)
		return cli_usage_error(&cmd, "missing argument");
	if (argc - first > c->max_args)
		return cli_usage_error(&cmd, "too many arguments");
	if (veil_crypto_init() != VEIL_OK) {
		cli_error(name, "the crypto library failed to start");
		return 1;
	}
	const int rc = c->run(&cmd, argc - first, argv + first);
	if (fflush(stdout) != 0) {
		cli_error(name, "cannot write the output: %s", strerror(errno));
		return 1;
	}
	return rc;
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
	const int rc = cli_parse_program(&program, argc, argv, list_commands);
	if (rc >= 0)
		return rc;
	if (strcmp(argv[1], "help") == 0) {
		const command *c = find_command(argc - 2, argv + 2, &words);
		if (c == NULL)
			return cli_usage_error(&program, "unknown command '%s'", argv[2]);
		command_usage(stdout, c);
		return 0;
	}
	const command *c = find_command(argc - 1, argv + 1, &words);
	if (c == NULL)
		return cli_usage_error(&program, "unknown command '%s'", argv[1]);
	/* The command's last word stands as argv[0] before its options. */
	return run_command(c, argc - words, argv + words);
}

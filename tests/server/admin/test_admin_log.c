/*
 * `veil-admin log ...` (the real binary, path in argv[1]) on logs written
 * by the library in temporary directories: the export read back with
 * common/json.h and checked digest by digest against qlog.h's formulas
 * under the salts `log salts` prints (padded to size classes, sorted, in
 * no arrival order); entries of the older layout exported as they were
 * stored; the day window; `log purge --now`; `log stats`; and the errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lmdb.h>
#include <sodium.h>

#include "entry.h"
#include "harness.h"
#include "json.h"
#include "lmdb_util.h"
#include "log_digest.h"
#include "oprf.h"
#include "proc.h"
#include "qlog.h"
#include "server_util.h"

#define DAY       86400
#define MAX_SALTS 8
#define MAX_LINES 64
#define MAX_ITEMS 4

static const char *admin;
static uint32_t base_day;
static uint8_t client_keys[3][QLOG_KEY_SIZE];

static const char *const handles[MAX_ITEMS] = {
        "tel:+14155550100",
        "tel:+14155550199",
        "mailto:bob@example.org",
        "tel:+33142685300",
};

/* What a test recorded: the export must hold exactly this. */
typedef struct recorded {
	uint32_t day_offset;
	unsigned hour;
	size_t client;
	unsigned p;
	size_t items;
	uint16_t status;
} recorded;

static const recorded entries[] = {
        {0, 3, 0, 16, 3, 0}, {0, 3, 1, 10, 1, 5},  {0, 22, 2, 20, 4, 0},
        {1, 0, 0, 0, 2, 2},  {1, 13, 1, 16, 4, 0},
};
#define ENTRY_COUNT (sizeof(entries) / sizeof(entries[0]))

static int64_t
at(uint32_t day_offset, unsigned hour, unsigned second)
{
	return (int64_t)(base_day + day_offset) * DAY + hour * 3600 + second;
}

static uint32_t
prefix_of(size_t handle, unsigned p)
{
	return entry_prefix(entry_bucket(handles[handle], strlen(handles[handle])), p);
}

/* A log in state (a directory that exists), as new_log(). */
static const char *
new_log_at(const char *state, const qlog_config *c, int with_entries)
{
	char why[256];
	qlog *log = NULL;
	if (qlog_open(state, c, at(0, 0, 0), &log, why, sizeof(why)) != VEIL_OK) {
		printf("# qlog_open: %s\n", why);
		abort();
	}
	for (size_t i = 0; with_entries && i < ENTRY_COUNT; i++) {
		const recorded *r = &entries[i];
		uint32_t prefixes[MAX_ITEMS];
		for (size_t k = 0; k < r->items; k++)
			prefixes[k] = prefix_of(k, r->p);
		qlog_record(log, at(r->day_offset, r->hour, (unsigned)i), client_keys[r->client],
		            r->p, prefixes, r->items, r->status);
	}
	qlog_close(log);
	return state;
}

/* A log with the recorded entries (or none) in the case's directory. */
static const char *
new_log(const qlog_config *c, int with_entries)
{
	return new_log_at(test_case_dir(), c, with_entries);
}

static void
config_for_tests(qlog_config *c)
{
	qlog_config_defaults(c);
	c->accounts = 2000000;
}

/* Runs veil-admin with args (NULL-terminated). */
static proc_result
admin_run(const char *const *args)
{
	return proc_call_args(admin, args, NULL);
}

/* Splits text into lines, each parsed as one JSON document; returns the count or -1. */
static int
parse_lines(char *text, json_value *docs[MAX_LINES])
{
	int n = 0;
	for (char *line = text; *line != '\0';) {
		char *end = strchr(line, '\n');
		if (end == NULL || n == MAX_LINES)
			return -1; /* every line ends with a newline */
		if (json_parse(line, (size_t)(end - line), &docs[n]) != VEIL_OK)
			return -1;
		n++;
		line = end + 1;
	}
	return n;
}

static void
free_docs(json_value *docs[], int n)
{
	for (int i = 0; i < n; i++)
		json_free(docs[i]);
}

static int64_t
integer(const json_value *obj, const char *key)
{
	int64_t v = -1;
	if (json_integer(json_object_get(obj, key), &v) != 0)
		return -1;
	return v;
}

typedef struct salts {
	uint32_t day[MAX_SALTS];
	uint8_t salt[MAX_SALTS][32];
	size_t count;
} salts;

/* The salt lines docs[first..end), into out; -1 when one is not as documented. */
static int
salts_of(json_value *docs[], int first, int end, salts *out)
{
	memset(out, 0, sizeof(*out));
	if (end - first > MAX_SALTS)
		return -1;
	for (int i = first; i < end; i++) {
		size_t len = 0;
		const char *hex = json_string(json_object_get(docs[i], "salt"), &len);
		const int64_t day = integer(docs[i], "day");
		if (json_object_size(docs[i]) != 2 || hex == NULL || day < 0 ||
		    test_unhex(hex, out->salt[out->count], 32) != 0)
			return -1;
		out->day[out->count++] = (uint32_t)day;
	}
	return 0;
}

/* `log salts`, parsed; -1 when the output is not as documented. */
static int
read_salts(const char *state, salts *out)
{
	const char *args[] = {"log", "salts", "--state", state, NULL};
	json_value *docs[MAX_LINES];
	int rc = -1;
	proc_result r = admin_run(args);
	memset(out, 0, sizeof(*out));
	const int n = r.status == 0 ? parse_lines(r.out, docs) : -1;
	if (n < 0)
		goto out;
	rc = salts_of(docs, 0, n, out);
	free_docs(docs, n);
out:
	sodium_memzero(r.out, strlen(r.out));
	proc_result_free(&r);
	return rc;
}

static const uint8_t *
salt_of(const salts *s, uint32_t day)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->day[i] == day)
			return s->salt[i];
	return NULL;
}

/*
 * Does export line doc hold exactly recorded entry r: its size class of
 * bucket digests, ascending, among them the real ones?
 */
static int
entry_matches(const json_value *doc, const recorded *r, const salts *s)
{
	const unsigned t_r = 10, t_b = r->p < 14 ? r->p : 14;
	const uint8_t *salt = salt_of(s, base_day + r->day_offset);
	const json_value *buckets = json_object_get(doc, "buckets");
	const size_t size_class = qlog_size_class((uint32_t)r->items);
	if (salt == NULL || json_array_size(buckets) != size_class)
		return 0;
	int ok = integer(doc, "day") == base_day + r->day_offset &&
	         integer(doc, "hour") == r->hour && integer(doc, "items") == (int64_t)size_class &&
	         integer(doc, "status") == r->status &&
	         integer(doc, "requester") ==
	                 log_digest_requester(salt, client_keys[r->client], t_r);
	int64_t got[MAX_ITEMS];
	int used[MAX_ITEMS] = {0};
	for (size_t k = 0; k < size_class; k++) {
		got[k] = -1;
		json_integer(json_array_get(buckets, k), &got[k]);
		ok &= k == 0 || got[k - 1] <= got[k];
	}
	for (size_t k = 0; k < r->items; k++) {
		const int64_t want = log_digest_bucket(salt, r->p, prefix_of(k, r->p), t_b);
		int found = 0;
		for (size_t m = 0; m < size_class && !found; m++)
			if (!used[m] && got[m] == want)
				found = used[m] = 1;
		ok &= found;
	}
	/* Six members, and "t_b" only where the entry's width differs. */
	const size_t members = t_b != 14 ? 7 : 6;
	ok &= json_object_size(doc) == members && json_object_get(doc, "t_r") == NULL;
	ok &= t_b == 14 ? json_object_get(doc, "t_b") == NULL : integer(doc, "t_b") == t_b;
	return ok;
}

static void
day_text(char out[16], uint32_t day)
{
	const time_t t = (time_t)day * DAY;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

/* ------------------------------------------------------------------ */

static void
case_export_round_trip(void)
{
	qlog_config c;
	salts s;
	json_value *docs[MAX_LINES];
	const char *fields[] = {"day", "hour", "requester", "items", "buckets", "status"};

	config_for_tests(&c);
	const char *state = new_log(&c, 1);
	REQUIRE(read_salts(state, &s) == 0);
	CHECK(s.count == 2 && salt_of(&s, base_day) != NULL && salt_of(&s, base_day + 1) != NULL);

	const char *args[] = {"log", "export", "--state", state, NULL};
	proc_result r = admin_run(args);
	CHECK(r.status == 0 && r.err[0] == '\0');
	const int n = parse_lines(r.out, docs);
	REQUIRE(n == (int)ENTRY_COUNT + 1);

	const json_value *h = docs[0];
	size_t len = 0;
	const char *schema = json_string(json_object_get(h, "schema"), &len);
	CHECK(schema != NULL && strcmp(schema, "veil-log-v2") == 0);
	CHECK(integer(h, "t_r") == 10 && integer(h, "t_b") == 14);
	CHECK(integer(h, "k_r") == 1000 && integer(h, "k_b") == 10000);
	CHECK(integer(h, "accounts") == 2000000 && integer(h, "universe") == 10000000000LL);
	CHECK(integer(h, "entry_retention_days") == 30 && integer(h, "salt_retention_days") == 2);
	CHECK(integer(h, "max_prefix_bits") == 32);
	CHECK(json_object_get(h, "replica") == NULL); /* one state: no sections */
	const json_value *names = json_object_get(h, "fields");
	REQUIRE(json_array_size(names) == TEST_COUNT(fields));
	for (size_t i = 0; i < TEST_COUNT(fields); i++) {
		const char *name = json_string(json_array_get(names, i), NULL);
		CHECK(name != NULL && strcmp(name, fields[i]) == 0);
	}

	/* By day, in no particular order within one: each recorded entry is on exactly one line. */
	for (size_t i = 0; i < ENTRY_COUNT; i++) {
		int lines = 0;
		for (size_t j = 0; j < ENTRY_COUNT; j++)
			lines += entry_matches(docs[j + 1], &entries[i], &s);
		if (lines != 1)
			printf("# entry %zu is on %d lines\n", i, lines);
		CHECK(lines == 1);
	}
	for (size_t j = 1; j < ENTRY_COUNT; j++)
		CHECK(integer(docs[j], "day") <= integer(docs[j + 1], "day"));
	free_docs(docs, n);
	proc_result_free(&r);
	sodium_memzero(&s, sizeof(s));
}

/* Two entries of the older layout (qlog_store.h): key day | seq, value version 1. */
static const log_v1_entry old_entries[] = {
        {0, 4, 0, 613, {900, 5, 77}},
        {1, 5, 0, 12, {16000, 16000, 1}},
};

/*
 * Entries of the older layout, in a log veild has since opened, are
 * exported as they were stored (exact count, the client's order), under
 * the new header and without their sequence number.
 */
static void
case_export_old_layout(void)
{
	qlog_config c;
	json_value *docs[MAX_LINES];
	char why[256];
	qlog *log = NULL;
	const char *state = test_case_dir();

	char log_dir[512];
	snprintf(log_dir, sizeof(log_dir), "%s/%s", state, QLOG_DIR);
	REQUIRE(log_write_v1(log_dir, base_day, old_entries, TEST_COUNT(old_entries)) == 0);
	config_for_tests(&c);
	REQUIRE(qlog_open(state, &c, at(0, 6, 0), &log, why, sizeof(why)) == VEIL_OK);
	qlog_close(log);

	const char *args[] = {"log", "export", "--state", state, NULL};
	proc_result r = admin_run(args);
	CHECK(r.status == 0 && r.err[0] == '\0');
	const int n = parse_lines(r.out, docs);
	REQUIRE(n == 1 + (int)TEST_COUNT(old_entries));
	const char *schema = json_string(json_object_get(docs[0], "schema"), NULL);
	CHECK(schema != NULL && strcmp(schema, "veil-log-v2") == 0);
	for (size_t i = 0; i < TEST_COUNT(old_entries); i++) {
		const json_value *doc = docs[1 + i];
		const json_value *buckets = json_object_get(doc, "buckets");
		CHECK(json_object_size(doc) == 6 && json_object_get(doc, "seq") == NULL);
		CHECK(integer(doc, "day") == base_day &&
		      integer(doc, "hour") == old_entries[i].hour);
		CHECK(integer(doc, "requester") == old_entries[i].requester);
		CHECK(integer(doc, "items") == 3 && json_array_size(buckets) == 3);
		for (size_t b = 0; b < 3; b++) {
			int64_t got = -1;
			json_integer(json_array_get(buckets, b), &got);
			CHECK(got == old_entries[i].buckets[b]);
		}
	}
	free_docs(docs, n);
	proc_result_free(&r);
}

typedef struct window_case {
	const char *name;
	const char *since, *until; /* "D0", "D1": the test days as numbers; "T0": as a date */
	int status;
	size_t entries; /* lines after the header */
} window_case;

static const window_case window_cases[] = {
        {"all", NULL, NULL, 0, ENTRY_COUNT},
        {"since_second_day", "D1", NULL, 0, 2},
        {"until_first_day_as_date", NULL, "T0", 0, 3},
        {"one_day", "T1", "D1", 0, 2},
        {"empty_window", "D1", "D0", 0, 0},
        {"bad_date", "2025-02-30", NULL, 2, 0},
        {"not_a_day", "yesterday", NULL, 2, 0},
        {"leading_zero", NULL, "020000", 2, 0},
};

static void
resolve_day(const char *spec, char out[16])
{
	if (spec[0] == 'D')
		snprintf(out, 16, "%u", base_day + (uint32_t)(spec[1] - '0'));
	else if (spec[0] == 'T')
		day_text(out, base_day + (uint32_t)(spec[1] - '0'));
	else
		snprintf(out, 16, "%s", spec);
}

static void
case_export_window(void)
{
	qlog_config c;
	config_for_tests(&c);
	const char *state = new_log(&c, 1);
	for (size_t i = 0; i < TEST_COUNT(window_cases); i++) {
		const window_case *w = &window_cases[i];
		const char *args[9] = {"log", "export", "--state", state};
		char since[16], until[16];
		json_value *docs[MAX_LINES];
		size_t n = 4;
		if (w->since != NULL) {
			resolve_day(w->since, since);
			args[n++] = "--since";
			args[n++] = since;
		}
		if (w->until != NULL) {
			resolve_day(w->until, until);
			args[n++] = "--until";
			args[n++] = until;
		}
		args[n] = NULL;
		proc_result r = admin_run(args);
		int ok = r.status == w->status;
		if (w->status == 0) {
			const int lines = parse_lines(r.out, docs);
			ok &= lines == (int)w->entries + 1;
			free_docs(docs, lines > 0 ? lines : 0);
		} else {
			ok &= r.out[0] == '\0' && strstr(r.err, "YYYY-MM-DD") != NULL;
		}
		if (!ok)
			printf("# %s: status %d: %s", w->name, r.status, r.err);
		CHECK(ok);
		proc_result_free(&r);
	}
}

static size_t
export_entries(const char *state)
{
	const char *args[] = {"log", "export", "--state", state, NULL};
	proc_result r = admin_run(args);
	size_t lines = 0;
	for (const char *p = r.out; *p != '\0'; p++)
		lines += *p == '\n';
	proc_result_free(&r);
	return lines > 0 ? lines - 1 : 0;
}

static proc_result
purge_at(const char *state, int64_t now)
{
	char text[32];
	snprintf(text, sizeof(text), "%lld", (long long)now);
	const char *args[] = {"log", "purge", "--state", state, "--now", text, NULL};
	return admin_run(args);
}

/* Day 0's entries stay through day 29 and are gone on day 30; salts after 2 days. */
static void
case_purge_now(void)
{
	qlog_config c;
	salts s;
	config_for_tests(&c);
	const char *state = new_log(&c, 1);

	proc_result r = purge_at(state, at(1, 23, 59));
	CHECK(r.status == 0 && strstr(r.out, "deleted 0 entries, erased 0 salt files") != NULL);
	proc_result_free(&r);
	CHECK(read_salts(state, &s) == 0 && s.count == 2);

	r = purge_at(state, at(2, 0, 0));
	CHECK(r.status == 0 && strstr(r.out, "erased 1 salt files") != NULL);
	proc_result_free(&r);
	CHECK(read_salts(state, &s) == 0 && s.count == 2 && salt_of(&s, base_day) == NULL &&
	      salt_of(&s, base_day + 2) != NULL);
	CHECK(export_entries(state) == ENTRY_COUNT);

	r = purge_at(state, at(29, 12, 0));
	CHECK(r.status == 0 && strstr(r.out, "deleted 0 entries") != NULL);
	proc_result_free(&r);
	CHECK(export_entries(state) == ENTRY_COUNT);

	r = purge_at(state, at(30, 0, 0));
	CHECK(r.status == 0 && strstr(r.out, "deleted 3 entries") != NULL);
	proc_result_free(&r);
	CHECK(export_entries(state) == 2);

	/* A --now in the past moves nothing back. */
	r = purge_at(state, at(5, 0, 0));
	char day[16];
	snprintf(day, sizeof(day), "day %u)", base_day + 30);
	CHECK(r.status == 0 && strstr(r.out, day) != NULL);
	proc_result_free(&r);
	CHECK(read_salts(state, &s) == 0 && s.count == 2 && salt_of(&s, base_day + 30) != NULL);

	r = purge_at(state, at(31, 0, 0));
	CHECK(r.status == 0 && strstr(r.out, "deleted 2 entries") != NULL);
	proc_result_free(&r);
	CHECK(export_entries(state) == 0);
	sodium_memzero(&s, sizeof(s));
}

/* Figures without secrets: drops, days, salts by day only. */
static void
case_stats(void)
{
	qlog_config c;
	char why[256], line[64], date[16];
	salts s;
	qlog *log = NULL;
	uint32_t prefixes[1] = {0};

	config_for_tests(&c);
	c.queue_capacity = 2;
	const char *state = test_case_dir();
	REQUIRE(qlog_open(state, &c, at(0, 9, 0), &log, why, sizeof(why)) == VEIL_OK);
	qlog_pause_writer(log, 1);
	for (unsigned i = 0; i < 7; i++)
		qlog_record(log, at(0, 9, i), client_keys[0], 0, prefixes, 1, 0);
	qlog_pause_writer(log, 0);
	qlog_close(log);

	const char *args[] = {"log", "stats", "--state", state, NULL};
	proc_result r = admin_run(args);
	CHECK(r.status == 0);
	CHECK(strstr(r.out, "entries          2\n") != NULL);
	CHECK(strstr(r.out, "dropped          5\n") != NULL);
	day_text(date, base_day);
	snprintf(line, sizeof(line), "oldest           %s (day %u)\n", date, base_day);
	CHECK(strstr(r.out, line) != NULL);
	snprintf(line, sizeof(line), "salts            %s (day %u)\n", date, base_day);
	CHECK(strstr(r.out, line) != NULL);
	CHECK(strstr(r.out, "widths           t_r 10, t_b 14\n") != NULL);
	REQUIRE(read_salts(state, &s) == 0 && s.count == 1);
	char hex[65];
	sodium_bin2hex(hex, sizeof(hex), s.salt[0], 32);
	CHECK(strstr(r.out, hex) == NULL && strstr(r.err, hex) == NULL);
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(&s, sizeof(s));
	proc_result_free(&r);
}

/* "DIR": an empty state directory, with no log. */
static const proc_expect error_cases[] = {
        {"export_without_log", {"log", "export", "--state", "DIR"}, 1, NULL, "no query log"},
        {"stats_without_log", {"log", "stats", "--state", "DIR"}, 1, NULL, "no query log"},
        {"salts_without_log", {"log", "salts", "--state", "DIR"}, 1, NULL, "no query log"},
        {"purge_without_log", {"log", "purge", "--state", "DIR"}, 1, NULL, "no query log"},
        {"purge_bad_now", {"log", "purge", "--state", "DIR", "--now", "soon"}, 2, NULL, "--now"},
        {"purge_negative_now", {"log", "purge", "--state", "DIR", "--now", "-5"}, 2, NULL, "--now"},
        {"no_state", {"log", "export"}, 2, NULL, "--state DIR is required"},
        {"log_alone", {"log"}, 2, NULL, "unknown command"},
        {"unknown_log_command", {"log", "shred", "--state", "DIR"}, 2, NULL, "unknown command"},
        {"option_of_another_command",
         {"log", "stats", "--state", "DIR", "--now", "1"},
         2,
         NULL,
         "unknown option"},
        /* Help for a two-word command, both ways. */
        {"help_log_salts", {"help", "log", "salts"}, 0, "as sensitive as the salts", NULL},
        {"log_export_help", {"log", "export", "--help"}, 0, "usage: veil-admin log export", NULL},
};

static void
case_errors(void)
{
	const char *state = test_case_dir();
	proc_check_runs(admin, error_cases, TEST_COUNT(error_cases), state);
}

/*
 * Two replicas' logs, each with its own salt chain, exported together:
 * a section per replica, in the order given, each a header with its
 * number, then exactly its entries, which match under its own salts and
 * not the other's; the salts in sections too. One missing log writes
 * nothing. `exposure analyze` refuses to read the sections as one log,
 * and analyzes one section with its own salts (--replica N).
 */
static void
case_export_of_two_replicas(void)
{
	qlog_config c;
	config_for_tests(&c);
	const char *state[2] = {new_log(&c, 1), test_case_path("replica-b")};
	REQUIRE(mkdir(state[1], 0700) == 0);
	new_log_at(state[1], &c, 1);

	const char *salts_args[] = {"log", "salts", "--state", state[0], state[1], NULL};
	proc_result r = admin_run(salts_args);
	const char *salts_path = test_case_path("two-salts.jsonl");
	proc_write_file(salts_path, r.out, strlen(r.out));
	json_value *docs[MAX_LINES];
	int n = r.status == 0 ? parse_lines(r.out, docs) : -1;
	REQUIRE(n == 6);
	salts s[2];
	for (int i = 0; i < 2; i++) {
		CHECK(json_object_size(docs[3 * i]) == 2 && integer(docs[3 * i], "replica") == i &&
		      integer(docs[3 * i], "replicas") == 2);
		CHECK(salts_of(docs, 3 * i + 1, 3 * i + 3, &s[i]) == 0 && s[i].count == 2);
	}
	/* Two chains: the same day, different salts. */
	CHECK(salt_of(&s[0], base_day) != NULL && salt_of(&s[1], base_day) != NULL &&
	      memcmp(salt_of(&s[0], base_day), salt_of(&s[1], base_day), 32) != 0);
	free_docs(docs, n);
	sodium_memzero(r.out, strlen(r.out));
	proc_result_free(&r);

	const char *args[] = {"log", "export", "--state", state[0], state[1], NULL};
	r = admin_run(args);
	CHECK(r.status == 0 && r.err[0] == '\0');
	n = parse_lines(r.out, docs);
	REQUIRE(n == 2 * ((int)ENTRY_COUNT + 1));
	for (int i = 0; i < 2; i++) {
		const json_value *h = docs[i * ((int)ENTRY_COUNT + 1)];
		CHECK(integer(h, "replica") == i && integer(h, "replicas") == 2);
		CHECK(integer(h, "t_r") == 10 && integer(h, "accounts") == 2000000);
		for (size_t e = 0; e < ENTRY_COUNT; e++) {
			int mine = 0, other = 0;
			for (size_t j = 0; j < ENTRY_COUNT; j++) {
				const json_value *line =
				        docs[i * ((int)ENTRY_COUNT + 1) + 1 + (int)j];
				mine += entry_matches(line, &entries[e], &s[i]);
				other += entry_matches(line, &entries[e], &s[1 - i]);
			}
			CHECK_ROW(mine == 1 && other == 0, i == 0 ? "replica 0" : "replica 1");
		}
	}
	free_docs(docs, n);

	/* The analysis reads one replica at a time, never the sections as one. */
	const char *export_path = test_case_path("two.jsonl");
	proc_write_file(export_path, r.out, strlen(r.out));
	proc_result_free(&r);
	const char *analyze[] = {"exposure", "analyze", "--export", export_path, NULL};
	r = admin_run(analyze);
	CHECK(r.status == 1 && strstr(r.err, "several replicas") != NULL);
	proc_result_free(&r);
	/* One section with its salts: that section's entries only, each with its salt. */
	char want[96];
	snprintf(want, sizeof(want), "\"entries\":%zu,\"entries_with_salt\":%zu,", ENTRY_COUNT,
	         ENTRY_COUNT);
	for (int i = 0; i < 2; i++) {
		const char *one[] = {"exposure", "analyze", "--export", export_path, "--salts",
		                     salts_path, "--replica", i == 0 ? "0" : "1", "--json", NULL};
		r = admin_run(one);
		CHECK_ROW(r.status == 0 && strstr(r.out, want) != NULL,
		          i == 0 ? "--replica 0" : "--replica 1");
		proc_result_free(&r);
	}
	const char *absent[] = {"exposure", "analyze", "--export", export_path, "--replica", "2",
	                        NULL};
	r = admin_run(absent);
	CHECK(r.status == 1 && r.out[0] == '\0');
	proc_result_free(&r);
	const char *malformed[] = {"exposure", "analyze", "--export", export_path, "--replica",
	                           "-1", NULL};
	r = admin_run(malformed);
	CHECK(r.status == 2 && strstr(r.err, "--replica") != NULL);
	proc_result_free(&r);

	/* A state without a log: refused before a line is written. */
	const char *missing[] = {"log", "export", "--state", state[0], test_case_path("none"),
	                         NULL};
	r = admin_run(missing);
	CHECK(r.status == 1 && r.out[0] == '\0' && strstr(r.err, "no query log") != NULL);
	proc_result_free(&r);
	const char *missing_salts[] = {"log", "salts", "--state", state[0], test_case_path("none"),
	                               NULL};
	r = admin_run(missing_salts);
	CHECK(r.status == 1 && r.out[0] == '\0' && strstr(r.err, "no query log") != NULL);
	proc_result_free(&r);
	sodium_memzero(s, sizeof(s));
}

static const test_case cases[] = {
        {"export_round_trip", case_export_round_trip},
        {"export_of_two_replicas", case_export_of_two_replicas},
        {"export_old_layout", case_export_old_layout},
        {"export_window", case_export_window},
        {"purge_now", case_purge_now},
        {"stats", case_stats},
        {"errors", case_errors},
};

static void
setup(void)
{
	admin = test_argv[0];
	base_day = (uint32_t)(time(NULL) / DAY) + 1;
	for (size_t i = 0; i < 3; i++)
		randombytes_buf(client_keys[i], QLOG_KEY_SIZE);
}

TEST_MAIN_WITH(cases, .usage = "VEIL-ADMIN", .arguments = 1, .setup = setup)

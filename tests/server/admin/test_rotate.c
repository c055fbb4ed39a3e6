/*
 * OPRF key rotation (registry_rotate, state_rotate, veil-admin rotate;
 * the real veil-admin binary's path in argv[1]): both indexes answer
 * during the grace period, checked against tags computed here from the
 * key files; writers keep every live key's index; --finish retires the
 * old key (index, slots, deadline, key file); orphan key files; a state
 * refreshed while other threads read its keys; kill -9 of a rotation at
 * random moments leaves the registry before or after.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "clock.h"
#include "entry.h"
#include "harness.h"
#include "keyfile.h"
#include "normalize.h"
#include "oprf.h"
#include "proc.h"
#include "registry.h"
#include "server_util.h"
#include "state.h"

static const char *admin; /* veil-admin, the program's argument */

static void
setup(void)
{
	admin = test_argv[0];
}

/* Runs veil-admin with args (NULL-terminated); returns its exit status. */
static int
admin_run(const char *const args[], char **out)
{
	proc_result r = proc_call_args(admin, args, NULL);
	if (r.status != 0)
		printf("# veil-admin %s: status %d: %s", args[0], r.status, r.err);
	if (out != NULL)
		*out = r.out;
	else
		free(r.out);
	free(r.err);
	return r.status;
}

/* A new state of suite (NULL: the default) with user0 .. user<handles - 1>. */
static const char *
fresh_state_of(const char *name, int handles, const char *suite)
{
	const char *dir = test_case_path(name);
	const char *keygen[] = {"keygen", "--state", dir, "--suite", suite, NULL};
	if (suite == NULL)
		keygen[3] = NULL;
	if (admin_run(keygen, NULL) != 0)
		abort();
	if (handles > 0) {
		const char *file = test_case_path("handles.txt");
		buf text;
		buf_init(&text);
		for (int i = 0; i < handles; i++)
			buf_printf(&text, "user%d@example.org%s\n", i, i % 3 ? ",p" : "");
		proc_write_file(file, buf_data(&text), buf_len(&text));
		buf_free(&text);
		const char *import[] = {"import", "--state", dir, file, NULL};
		if (admin_run(import, NULL) != 0)
			abort();
	}
	return dir;
}

static const char *
fresh_state(const char *name, int handles)
{
	return fresh_state_of(name, handles, NULL);
}

/* The key of key_id of suite read from its file, independently of the state. */
static oprf_key *
key_from_file(const char *dir, uint32_t key_id, const oprf_suite *suite)
{
	char name[32];
	uint8_t sk[OPRF_MAX_SCALAR_SIZE];
	oprf_key *key = NULL;
	snprintf(name, sizeof(name), "oprf-%08x.key", key_id);
	const char *path = proc_path(dir, name);
	if (keyfile_read(path, state_oprf_key_kind(suite), sk, oprf_suite_scalar_size(suite)) !=
	            VEIL_OK ||
	    oprf_key_import(suite, sk, &key) != VEIL_OK)
		key = NULL;
	sodium_memzero(sk, sizeof(sk));
	return key;
}

/* Whether the dump (binary) holds text. */
static int
dump_has(const buf *dump, const char *text)
{
	const size_t n = strlen(text), len = buf_len(dump);
	const char *d = (const char *)buf_data(dump);
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(d + i, text, n) == 0)
			return 1;
	return 0;
}

static int
file_exists(const char *dir, const char *name)
{
	const char *path = proc_path(dir, name);
	int e = access(path, F_OK) == 0;
	return e;
}

/*
 * Whether key_id's index, read through r, holds the entry of
 * user<i>@example.org: the tag computed here with oprf_evaluate, and a
 * payload that opens to "p" when i % 3 != 0 (none otherwise).
 */
static int
index_holds(registry_reader *r, oprf_ctx *ctx, const oprf_key *key, uint32_t key_id, int i)
{
	enum { MAX = 64, ENTRY = 8 + ENTRY_SEALED_PAYLOAD_SIZE };
	const size_t y_len = oprf_suite_output_size(oprf_ctx_suite(ctx));
	uint8_t entries[MAX * ENTRY], y[OPRF_MAX_HASH_SIZE], tag[8], opened[ENTRY_MAX_PAYLOAD];
	char text[64], handle[NORMALIZE_MAX_HANDLE];
	size_t handle_len = 0, n = 0, opened_len = 0;
	snprintf(text, sizeof(text), "user%d@example.org", i);
	if (normalize_handle(text, strlen(text), NULL, handle, sizeof(handle), &handle_len) !=
	            NORMALIZE_OK ||
	    oprf_evaluate(ctx, key, NULL, 0, (const uint8_t *)handle, handle_len, y) != VEIL_OK ||
	    entry_tag(y, y_len, tag, sizeof(tag)) != VEIL_OK ||
	    registry_reader_bucket(r, key_id, entry_bucket(handle, handle_len), 32,
	                           ENTRY_SEALED_PAYLOAD_SIZE, entries, MAX, &n) != VEIL_OK)
		return 0;
	for (size_t e = 0; e < n; e++) {
		if (memcmp(entries + e * ENTRY, tag, sizeof(tag)) != 0)
			continue;
		const veil_err open =
		        entry_open_payload(y, y_len, entries + e * ENTRY + 8, opened, &opened_len);
		return i % 3 != 0 ? open == VEIL_OK && opened_len == 1 && opened[0] == 'p'
		                  : open != VEIL_OK;
	}
	return 0;
}

/* Whether key_id's index holds the entries of user0 .. user<count - 1>. */
static int
index_answers(const char *dir, uint32_t key_id, int count)
{
	veil_state *st = NULL;
	registry_reader *r = NULL;
	registry_view view;
	oprf_ctx *ctx = NULL;
	oprf_key *key = NULL;
	int good = state_open(dir, &st, NULL) == VEIL_OK &&
	           (key = key_from_file(dir, key_id, state_suite(st))) != NULL &&
	           registry_reader_new(state_registry(st), &r) == VEIL_OK &&
	           registry_reader_begin(r, &view) == VEIL_OK && view.tag_len == 8 &&
	           view.suite == state_suite(st) &&
	           oprf_ctx_new(view.suite, (oprf_mode)view.mode, &ctx) == VEIL_OK;
	for (int i = 0; good && i < count; i++)
		good = index_holds(r, ctx, key, key_id, i);
	registry_reader_free(r);
	state_free(st);
	oprf_ctx_free(ctx);
	oprf_key_free(key);
	return good;
}

static registry_schedule
schedule_of(const char *dir)
{
	veil_state *st = NULL;
	registry_schedule s;
	memset(&s, 0, sizeof(s));
	if (state_open(dir, &st, NULL) != VEIL_OK ||
	    registry_schedule_read(state_registry(st), &s) != VEIL_OK)
		memset(&s, 0, sizeof(s));
	state_free(st);
	return s;
}

static int
verified(const char *dir)
{
	const char *verify[] = {"verify", "--state", dir, NULL};
	char *out = NULL;
	int ok = admin_run(verify, &out) == 0 && out != NULL && strstr(out, "\nok\n") != NULL;
	free(out);
	return ok;
}

/* ------------------------------------------------------------------ */

static const proc_expect usage[] = {
        {"help", {"rotate", "--help"}, 0, NULL, NULL},
        {"no state", {"rotate"}, 2, NULL, NULL},
        {"bad grace", {"rotate", "--state", "x", "--grace", "-1"}, 2, NULL, NULL},
        {"grace too long", {"rotate", "--state", "x", "--grace", "87601"}, 2, NULL, NULL},
        {"grace with finish",
         {"rotate", "--state", "x", "--finish", "--grace", "1"},
         2,
         NULL,
         NULL},
        {"bad now", {"rotate", "--state", "x", "--now", "soon"}, 2, NULL, NULL},
        {"argument", {"rotate", "--state", "x", "extra"}, 2, NULL, NULL},
        {"no such state", {"rotate", "--state", "/nonexistent/veil"}, 1, NULL, NULL},
};

static void
case_usage(void)
{
	proc_check_runs(admin, usage, TEST_COUNT(usage), NULL);
}

static void
case_rotation_with_grace(void)
{
	const int handles = 300;
	const char *dir = fresh_state("grace", handles);
	char now_text[32], *out = NULL;
	const uint64_t now = 1800000000;

	registry_schedule s = schedule_of(dir);
	CHECK(s.key_count == 1 && s.key_ids[0] == 1 && s.retire_at[0] == 0);
	CHECK(index_answers(dir, 1, handles));
	CHECK(verified(dir));

	snprintf(now_text, sizeof(now_text), "%llu", (unsigned long long)now);
	const char *rotate[] = {"rotate", "--state", dir, "--now", now_text, NULL};
	REQUIRE(admin_run(rotate, &out) == 0);
	CHECK(strstr(out, "current key 2\n") != NULL && strstr(out, "live-keys 2 1\n") != NULL);
	free(out);
	out = NULL;
	s = schedule_of(dir);
	CHECK(s.key_count == 2 && s.key_ids[0] == 2 && s.key_ids[1] == 1);
	CHECK(s.retire_at[0] == 0 && s.retire_at[1] == now + 24 * 3600);
	CHECK(file_exists(dir, "oprf-00000001.key") && file_exists(dir, "oprf-00000002.key"));
	/* Both indexes answer for the same handles, each under its own key. */
	CHECK(index_answers(dir, 2, handles));
	CHECK(index_answers(dir, 1, handles));
	CHECK(verified(dir));

	/* Before the grace is over, --finish retires nothing. */
	snprintf(now_text, sizeof(now_text), "%llu", (unsigned long long)(now + 23 * 3600));
	const char *finish[] = {"rotate", "--finish", "--state", dir, "--now", now_text, NULL};
	REQUIRE(admin_run(finish, &out) == 0);
	CHECK(strstr(out, "nothing to retire") != NULL);
	free(out);
	out = NULL;
	CHECK(schedule_of(dir).key_count == 2);

	snprintf(now_text, sizeof(now_text), "%llu", (unsigned long long)(now + 24 * 3600));
	REQUIRE(admin_run(finish, &out) == 0);
	CHECK(strstr(out, "retired key 1\n") != NULL && strstr(out, "live-keys 2\n") != NULL);
	free(out);
	s = schedule_of(dir);
	CHECK(s.key_count == 1 && s.key_ids[0] == 2 && s.retire_at[0] == 0);
	CHECK(!file_exists(dir, "oprf-00000001.key") && file_exists(dir, "oprf-00000002.key"));
	const char *reg = proc_path(dir, "registry");
	buf dump;
	buf_init(&dump);
	REQUIRE(util_dump_registry(reg, &dump) == 0);
	CHECK(!dump_has(&dump, "[index/00000001]"));
	CHECK(dump_has(&dump, "[index/00000002]"));
	CHECK(!dump_has(&dump, "slots/00000001"));
	CHECK(dump_has(&dump, "slots/00000002"));
	CHECK(!dump_has(&dump, "grace/"));
	buf_free(&dump);
	CHECK(index_answers(dir, 2, handles));
	CHECK(verified(dir));
}

/* Import, add, remove, rotate and verify keep every live key's index, on suite. */
static void
writers_keep_every_live_key(const char *suite)
{
	const char *dir = fresh_state_of("writers", 30, suite);
	const char *rotate[] = {"rotate", "--state", dir, NULL};
	REQUIRE(admin_run(rotate, NULL) == 0);
	REQUIRE(schedule_of(dir).key_count == 2);

	/* user30..user44 by import, user45 by add, then user0 removed. */
	const char *file = test_case_path("more.txt");
	buf text;
	buf_init(&text);
	for (int i = 30; i < 45; i++)
		buf_printf(&text, "user%d@example.org%s\n", i, i % 3 ? ",p" : "");
	proc_write_file(file, buf_data(&text), buf_len(&text));
	buf_free(&text);
	const char *import[] = {"import", "--state", dir, file, NULL};
	CHECK(admin_run(import, NULL) == 0);
	const char *add[] = {"add", "--state", dir, "user45@example.org", NULL};
	CHECK(admin_run(add, NULL) == 0);
	CHECK(index_answers(dir, 1, 46) && index_answers(dir, 2, 46));
	CHECK(verified(dir));
	const char *remove[] = {"remove", "--state", dir, "user45@example.org", NULL};
	CHECK(admin_run(remove, NULL) == 0);
	CHECK(index_answers(dir, 1, 45) && index_answers(dir, 2, 45));
	CHECK(verified(dir));

	/* A third key: three live indexes, all written, all verified. */
	REQUIRE(admin_run(rotate, NULL) == 0);
	registry_schedule s = schedule_of(dir);
	CHECK(s.key_count == 3 && s.key_ids[0] == 3 && s.key_ids[1] == 2 && s.key_ids[2] == 1);
	CHECK(admin_run(add, NULL) == 0);
	CHECK(index_answers(dir, 1, 46) && index_answers(dir, 2, 46) && index_answers(dir, 3, 46));
	CHECK(verified(dir));
	/* Every key info lists is of the state's suite, the rotated ones too. */
	const char *info[] = {"info", "--state", dir, NULL};
	char *out = NULL, want[64];
	REQUIRE(admin_run(info, &out) == 0);
	for (int id = 1; id <= 3; id++) {
		snprintf(want, sizeof(want), "\noprf-key %d %s ", id,
		         suite != NULL ? suite : REGISTRY_DEFAULT_SUITE);
		CHECK(strstr(out, want) != NULL);
	}
	free(out);
}

static void
case_writers_keep_every_live_key(void)
{
	writers_keep_every_live_key(NULL);
}

static void
case_writers_keep_every_live_key_p384(void)
{
	writers_keep_every_live_key("P384-SHA384");
}

static void
case_orphan_key_file_ignored_then_erased(void)
{
	const char *dir = fresh_state("orphan", 20);
	uint8_t junk[32] = {1};
	const char *orphan = proc_path(dir, "oprf-00000002.key");
	const char *other = proc_path(dir, "oprf-00000009.key");
	REQUIRE(keyfile_write(orphan, STATE_OPRF_KEY_KIND, junk, sizeof(junk)) == VEIL_OK);
	REQUIRE(keyfile_write(other, STATE_OPRF_KEY_KIND, junk, sizeof(junk)) == VEIL_OK);

	/* Not live: the state opens without it, verify passes. */
	veil_state *st = NULL;
	REQUIRE(state_open(dir, &st, NULL) == VEIL_OK);
	CHECK(state_oprf_key(st, 2) == NULL && state_oprf_key(st, 9) == NULL);
	state_free(st);
	CHECK(verified(dir));

	const char *rotate[] = {"rotate", "--state", dir, NULL};
	REQUIRE(admin_run(rotate, NULL) == 0);
	CHECK(!file_exists(dir, "oprf-00000009.key"));
	uint8_t sk[32];
	REQUIRE(keyfile_read(orphan, STATE_OPRF_KEY_KIND, sk, sizeof(sk)) == VEIL_OK);
	CHECK(memcmp(sk, junk, sizeof(sk)) != 0); /* a new key, not the orphan */
	sodium_memzero(sk, sizeof(sk));
	CHECK(index_answers(dir, 2, 20) && index_answers(dir, 1, 20));
	CHECK(verified(dir));
}

typedef struct reader_arg {
	veil_state *st;
	atomic_int stop;
	atomic_ulong lookups;
	atomic_int bad;
	unsigned long mark; /* lookups so far, for readers_passed() */
} reader_arg;

static void *
key_reader(void *p)
{
	reader_arg *a = p;
	while (!atomic_load(&a->stop)) {
		size_t count = 0;
		const registry_key *keys = state_keys(a->st, &count);
		if (state_oprf_key(a->st, 1) == NULL || count == 0 || keys == NULL)
			atomic_store(&a->bad, 1);
		for (size_t i = 0; i < count; i++)
			if (state_oprf_key(a->st, keys[i].id) != keys[i].key)
				atomic_store(&a->bad, 1);
		(void)state_oprf_key(a->st, 2);
		atomic_fetch_add(&a->lookups, 1);
	}
	return NULL;
}

/* The readers have looked keys up since the mark was set. */
static int
readers_passed(void *arg)
{
	reader_arg *a = arg;
	return atomic_load(&a->lookups) > a->mark;
}

static void
case_refresh_while_readers_run(void)
{
	const char *dir = fresh_state("refresh", 50);
	reader_arg a;
	pthread_t threads[4];
	memset(&a, 0, sizeof(a));
	REQUIRE(state_open(dir, &a.st, NULL) == VEIL_OK);
	CHECK(state_current_key_id(a.st) == 1 && state_oprf_key(a.st, 2) == NULL);
	/* Nothing new: the published keys stay. */
	size_t count = 0;
	const registry_key *before = state_keys(a.st, &count);
	CHECK(state_refresh_keys(a.st) == VEIL_OK);
	CHECK(state_keys(a.st, &count) == before && count == 1);

	for (int i = 0; i < 4; i++)
		REQUIRE(pthread_create(&threads[i], NULL, key_reader, &a) == 0);
	/* However the threads are scheduled, the readers run before, during
	 * and after the refreshes. */
	CHECK(test_wait_until(readers_passed, &a));
	const char *rotate[] = {"rotate", "--state", dir, NULL};
	CHECK(admin_run(rotate, NULL) == 0);
	for (int i = 0; i < 20; i++)
		CHECK(state_refresh_keys(a.st) == VEIL_OK);
	a.mark = atomic_load(&a.lookups);
	CHECK(test_wait_until(readers_passed, &a));
	atomic_store(&a.stop, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	CHECK(atomic_load(&a.bad) == 0 && atomic_load(&a.lookups) > 0);

	CHECK(state_current_key_id(a.st) == 2);
	const registry_key *keys = state_keys(a.st, &count);
	CHECK(count == 2 && keys[0].id == 2 && keys[1].id == 1);
	/* The key loaded is the one in the file. */
	oprf_key *file_key = key_from_file(dir, 2, oprf_suite_by_name(REGISTRY_DEFAULT_SUITE));
	REQUIRE(file_key != NULL && state_oprf_key(a.st, 2) != NULL);
	uint8_t pk1[32], pk2[32];
	oprf_key_public(file_key, pk1);
	oprf_key_public(state_oprf_key(a.st, 2), pk2);
	CHECK_BYTES(pk2, pk1, 32);
	/* The old set a reader may still hold stays valid. */
	CHECK(before[0].id == 1 && before[0].key == state_oprf_key(a.st, 1));

	/* Retired elsewhere: key 1 stays loaded, the registry says it is not live. */
	const char *finish[] = {"rotate", "--finish", "--state", dir, "--now", "99999999999", NULL};
	CHECK(admin_run(finish, NULL) == 0);
	CHECK(state_refresh_keys(a.st) == VEIL_OK);
	keys = state_keys(a.st, &count);
	CHECK(count == 2 && keys[0].id == 2 && keys[1].id == 1);
	CHECK(state_oprf_key(a.st, 1) != NULL);
	CHECK(schedule_of(dir).key_count == 1);
	oprf_key_free(file_key);
	state_free(a.st);
}

static int
dump_equal(const buf *a, const buf *b)
{
	return buf_len(a) == buf_len(b) && memcmp(buf_data(a), buf_data(b), buf_len(a)) == 0;
}

static void
case_kill_during_rotate(void)
{
	const int handles = 20000, attempts = 5;
	const char *dir = fresh_state("kill", handles);
	const char *reg = proc_path(dir, "registry");
	char now_text[32];
	uint64_t now = 1800000000;

	/*
	 * Each rotation has --grace 0 and a later --now, so it also retires
	 * the key before: the transaction killed drops an index and builds one.
	 */
	snprintf(now_text, sizeof(now_text), "%llu", (unsigned long long)now);
	const char *timed[] = {"rotate", "--state", dir, "--grace", "0", "--now", now_text, NULL};
	const double t0 = clock_monotonic_seconds();
	REQUIRE(admin_run(timed, NULL) == 0);
	const double whole = clock_monotonic_seconds() - t0;
	printf("# a whole rotation of %d handles takes %.3f s\n", handles, whole);

	for (int i = 0; i < attempts; i++) {
		registry_schedule was = schedule_of(dir);
		REQUIRE(was.key_count >= 1);
		buf before, after;
		buf_init(&before);
		buf_init(&after);
		REQUIRE(util_dump_registry(reg, &before) == 0);

		now += 10;
		snprintf(now_text, sizeof(now_text), "%llu", (unsigned long long)now);
		const char *rotate[] = {"rotate", "--state", dir,      "--grace",
		                        "0",      "--now",   now_text, NULL};
		double delay;
		const int killed = proc_kill_aimed(admin, rotate, whole, i, 0.7, &delay);

		REQUIRE(util_dump_registry(reg, &after) == 0);
		registry_schedule s = schedule_of(dir);
		const int unchanged = dump_equal(&before, &after);
		const int rotated = s.key_count == 2 && s.key_ids[0] == was.key_ids[0] + 1 &&
		                    s.key_ids[1] == was.key_ids[0];
		CHECK(unchanged || rotated);
		CHECK(verified(dir));
		if (rotated)
			CHECK(index_answers(dir, s.key_ids[0], 50) &&
			      index_answers(dir, s.key_ids[1], 50));
		printf("# kill after %.3f s: %s, registry %s\n", delay,
		       killed ? "killed" : "had finished", unchanged ? "before" : "after");

		/* A follow-up rotation succeeds and leaves a sound registry. */
		const registry_schedule mid = schedule_of(dir);
		now += 10;
		snprintf(now_text, sizeof(now_text), "%llu", (unsigned long long)now);
		REQUIRE(admin_run(rotate, NULL) == 0);
		s = schedule_of(dir);
		CHECK(s.key_count == 2 && s.key_ids[0] == mid.key_ids[0] + 1);
		CHECK(verified(dir));
		/* Only the live keys' files remain. */
		char name[32];
		snprintf(name, sizeof(name), "oprf-%08x.key", s.key_ids[0] + 1);
		CHECK(!file_exists(dir, name));
		snprintf(name, sizeof(name), "oprf-%08x.key", s.key_ids[1] - 1);
		CHECK(!file_exists(dir, name));
		buf_free(&before);
		buf_free(&after);
	}
}

static const test_case cases[] = {
        {"usage", case_usage},
        {"rotation with grace, then finish", case_rotation_with_grace},
        {"writers keep every live key", case_writers_keep_every_live_key},
        {"writers keep every live key, P384-SHA384", case_writers_keep_every_live_key_p384},
        {"orphan key file ignored, then erased", case_orphan_key_file_ignored_then_erased},
        {"refresh while readers run", case_refresh_while_readers_run},
        {"kill -9 during rotate leaves before or after", case_kill_during_rotate},
};

TEST_MAIN_WITH(cases, .usage = "VEIL-ADMIN", .arguments = 1, .setup = setup)

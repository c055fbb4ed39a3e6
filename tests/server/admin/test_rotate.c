/*
 * OPRF key rotation (registry_rotate, state_rotate, veil-admin rotate;
 * the real veil-admin binary's path in argv[1]): both indexes answer
 * during the grace period, checked against tags computed here from the
 * key files; writers keep every live key's index; --finish retires the
 * old key (index, slots, deadline, key file); orphan key files; a state
 * refreshed while other threads read its keys; kill -9 of a rotation at
 * random moments leaves the registry before or after.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "entry.h"
#include "harness.h"
#include "keyfile.h"
#include "normalize.h"
#include "oprf.h"
#include "proc.h"
#include "registry.h"
#include "server_util.h"
#include "state.h"

static const char *admin;
static char *base;

/* Runs veil-admin with args (NULL-terminated); returns its exit status. */
static int
admin_run(const char *const args[], char **out)
{
	const char *argv[32];
	size_t n = 0;
	argv[n++] = admin;
	for (size_t i = 0; args[i] != NULL && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	char *err = NULL;
	int status = proc_run(argv, NULL, out, &err);
	if (status != 0)
		printf("# veil-admin %s: status %d: %s", args[0], status, err != NULL ? err : "");
	free(err);
	return status;
}

static char *
fresh_state(const char *name, int handles)
{
	char *dir = util_join(base, name);
	const char *keygen[] = {"keygen", "--state", dir, NULL};
	if (admin_run(keygen, NULL) != 0)
		abort();
	if (handles > 0) {
		char *file = util_join(base, "handles.txt");
		buf text;
		buf_init(&text);
		for (int i = 0; i < handles; i++)
			buf_printf(&text, "user%d@example.org%s\n", i, i % 3 ? ",p" : "");
		util_write_file(file, buf_data(&text), buf_len(&text));
		buf_free(&text);
		const char *import[] = {"import", "--state", dir, file, NULL};
		if (admin_run(import, NULL) != 0)
			abort();
		free(file);
	}
	return dir;
}

/* The key of key_id read from its file, independently of the state. */
static oprf_key *
key_from_file(const char *dir, uint32_t key_id)
{
	const oprf_suite *suite = oprf_suite_by_name(REGISTRY_SUITE);
	char name[32];
	uint8_t sk[32];
	oprf_key *key = NULL;
	snprintf(name, sizeof(name), "oprf-%08x.key", key_id);
	char *path = util_join(dir, name);
	if (keyfile_read(path, STATE_OPRF_KEY_KIND, sk, sizeof(sk)) != VEIL_OK ||
	    oprf_key_import(suite, sk, &key) != VEIL_OK)
		key = NULL;
	sodium_memzero(sk, sizeof(sk));
	free(path);
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
	char *path = util_join(dir, name);
	int e = access(path, F_OK) == 0;
	free(path);
	return e;
}

/*
 * Whether key_id's index, read through a registry reader, holds the
 * entry of every one of handles[0..count): the tag computed here with
 * oprf_evaluate, and a payload that opens to "p" when i % 3 != 0.
 */
static int
index_answers(const char *dir, uint32_t key_id, int count)
{
	const oprf_suite *suite = oprf_suite_by_name(REGISTRY_SUITE);
	veil_state *st = NULL;
	registry_reader *r = NULL;
	registry_view view;
	oprf_ctx *ctx = NULL;
	oprf_key *key = key_from_file(dir, key_id);
	enum { MAX = 64 };
	const size_t entry_size = 8 + ENTRY_SEALED_PAYLOAD_SIZE;
	uint8_t *entries = malloc(MAX * entry_size);
	int good = 0;

	if (key == NULL || entries == NULL || state_open(dir, &st, NULL) != VEIL_OK ||
	    registry_reader_new(state_registry(st), &r) != VEIL_OK ||
	    registry_reader_begin(r, &view) != VEIL_OK || view.tag_len != 8 ||
	    oprf_ctx_new(suite, (oprf_mode)view.mode, &ctx) != VEIL_OK)
		goto out;
	for (int i = 0; i < count; i++) {
		char text[64], handle[NORMALIZE_MAX_HANDLE];
		size_t handle_len = 0, n = 0, opened_len = 0;
		uint8_t y[OPRF_MAX_HASH_SIZE], tag[8], opened[ENTRY_MAX_PAYLOAD];
		snprintf(text, sizeof(text), "user%d@example.org", i);
		if (normalize_handle(text, strlen(text), NULL, handle, sizeof(handle),
		                     &handle_len) != NORMALIZE_OK ||
		    oprf_evaluate(ctx, key, NULL, 0, (const uint8_t *)handle, handle_len, y) !=
		            VEIL_OK ||
		    entry_tag(y, oprf_suite_output_size(suite), tag, sizeof(tag)) != VEIL_OK ||
		    registry_reader_bucket(r, key_id, entry_bucket(handle, handle_len), 32,
		                           ENTRY_SEALED_PAYLOAD_SIZE, entries, MAX, &n) != VEIL_OK)
			goto out;
		const uint8_t *found = NULL;
		for (size_t e = 0; e < n && found == NULL; e++)
			if (memcmp(entries + e * entry_size, tag, sizeof(tag)) == 0)
				found = entries + e * entry_size;
		if (found == NULL)
			goto out;
		veil_err open = entry_open_payload(y, oprf_suite_output_size(suite), found + 8,
		                                   opened, &opened_len);
		if (i % 3 != 0 ? open != VEIL_OK || opened_len != 1 || opened[0] != 'p'
		               : open == VEIL_OK)
			goto out;
	}
	good = 1;
out:
	registry_reader_free(r);
	state_free(st);
	oprf_ctx_free(ctx);
	oprf_key_free(key);
	free(entries);
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

static void
case_usage(void)
{
	static const struct {
		const char *name;
		const char *args[8];
		int status;
	} cases[] = {
	        {"help", {"rotate", "--help", NULL}, 0},
	        {"no state", {"rotate", NULL}, 2},
	        {"bad grace", {"rotate", "--state", "x", "--grace", "-1", NULL}, 2},
	        {"grace too long", {"rotate", "--state", "x", "--grace", "87601", NULL}, 2},
	        {"grace with finish",
	         {"rotate", "--state", "x", "--finish", "--grace", "1", NULL},
	         2},
	        {"bad now", {"rotate", "--state", "x", "--now", "soon", NULL}, 2},
	        {"argument", {"rotate", "--state", "x", "extra", NULL}, 2},
	        {"no such state", {"rotate", "--state", "/nonexistent/veil", NULL}, 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[10] = {admin};
		for (size_t j = 0; cases[i].args[j] != NULL; j++)
			argv[j + 1] = cases[i].args[j];
		int status = proc_run(argv, NULL, NULL, NULL);
		test_checks++;
		if (status != cases[i].status) {
			printf("# case '%s': status %d\n", cases[i].name, status);
			test_fail(__FILE__, __LINE__, cases[i].name);
		}
	}
}

static void
case_rotation_with_grace(void)
{
	const int handles = 300;
	char *dir = fresh_state("grace", handles);
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
	char *reg = util_join(dir, "registry");
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
	free(reg);
	free(dir);
}

static void
case_writers_keep_every_live_key(void)
{
	char *dir = fresh_state("writers", 30);
	const char *rotate[] = {"rotate", "--state", dir, NULL};
	REQUIRE(admin_run(rotate, NULL) == 0);
	REQUIRE(schedule_of(dir).key_count == 2);

	/* user30..user44 by import, user45 by add, then user0 removed. */
	char *file = util_join(base, "more.txt");
	buf text;
	buf_init(&text);
	for (int i = 30; i < 45; i++)
		buf_printf(&text, "user%d@example.org%s\n", i, i % 3 ? ",p" : "");
	util_write_file(file, buf_data(&text), buf_len(&text));
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
	free(file);
	free(dir);
}

static void
case_orphan_key_file_ignored_then_erased(void)
{
	char *dir = fresh_state("orphan", 20);
	uint8_t junk[32] = {1};
	char *orphan = util_join(dir, "oprf-00000002.key");
	char *other = util_join(dir, "oprf-00000009.key");
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
	free(orphan);
	free(other);
	free(dir);
}

typedef struct reader_arg {
	veil_state *st;
	atomic_int stop;
	atomic_ulong lookups;
	atomic_int bad;
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

static void
case_refresh_while_readers_run(void)
{
	char *dir = fresh_state("refresh", 50);
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
	const char *rotate[] = {"rotate", "--state", dir, NULL};
	CHECK(admin_run(rotate, NULL) == 0);
	for (int i = 0; i < 20; i++)
		CHECK(state_refresh_keys(a.st) == VEIL_OK);
	atomic_store(&a.stop, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	CHECK(atomic_load(&a.bad) == 0 && atomic_load(&a.lookups) > 0);

	CHECK(state_current_key_id(a.st) == 2);
	const registry_key *keys = state_keys(a.st, &count);
	CHECK(count == 2 && keys[0].id == 2 && keys[1].id == 1);
	/* The key loaded is the one in the file. */
	oprf_key *file_key = key_from_file(dir, 2);
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
	free(dir);
}

static double
seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pid_t
start_admin(const char *const args[])
{
	const char *argv[16];
	size_t n = 0;
	argv[n++] = admin;
	for (size_t i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		execv(admin, (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	return pid;
}

static int
dump_equal(const buf *a, const buf *b)
{
	return buf_len(a) == buf_len(b) && memcmp(buf_data(a), buf_data(b), buf_len(a)) == 0;
}

static void
case_kill_during_rotate_leaves_before_or_after(void)
{
	const int handles = 20000, attempts = 5;
	char *dir = fresh_state("kill", handles);
	char *reg = util_join(dir, "registry");
	char now_text[32];
	uint64_t now = 1800000000;
	int before_count = 0, after_count = 0;

	/*
	 * Each rotation has --grace 0 and a later --now, so it also retires
	 * the key before: the transaction killed drops an index and builds one.
	 */
	snprintf(now_text, sizeof(now_text), "%llu", (unsigned long long)now);
	const char *timed[] = {"rotate", "--state", dir, "--grace", "0", "--now", now_text, NULL};
	const double t0 = seconds_now();
	REQUIRE(admin_run(timed, NULL) == 0);
	const double whole = seconds_now() - t0;
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
		const double u = (double)randombytes_uniform(1000000) / 1e6;
		const double delay = i % 2 == 0 ? u * whole : whole * (0.7 + 0.4 * u);
		pid_t pid = start_admin(rotate);
		struct timespec pause = {(time_t)delay,
		                         (long)((delay - (double)(time_t)delay) * 1e9)};
		nanosleep(&pause, NULL);
		kill(pid, SIGKILL);
		int wstatus = 0;
		while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
		const int killed = WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL;

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
		before_count += unchanged;
		after_count += rotated;
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
	printf("# %d before, %d after\n", before_count, after_count);
	free(reg);
	free(dir);
}

static const test_case cases[] = {
        {"usage", case_usage},
        {"rotation with grace, then finish", case_rotation_with_grace},
        {"writers keep every live key", case_writers_keep_every_live_key},
        {"orphan key file ignored, then erased", case_orphan_key_file_ignored_then_erased},
        {"refresh while readers run", case_refresh_while_readers_run},
        {"kill -9 during rotate leaves before or after",
         case_kill_during_rotate_leaves_before_or_after},
};

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_server_rotate PATH-TO-veil-admin\n");
		return 2;
	}
	if (veil_crypto_init() != VEIL_OK)
		return 1;
	admin = argv[1];
	base = util_temp_dir();
	int rc = test_main(argc, argv, cases, TEST_COUNT(cases));
	util_remove_tree(base);
	free(base);
	return rc;
}

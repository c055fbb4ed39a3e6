/*
 * Client enrolment and quotas (server/store/clients.h) on real LMDB files in
 * temporary directories, time passed in as `now`; and the real
 * veil-admin binary (path in argv[1]) for `client add|remove|list`.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "clients.h"
#include "harness.h"
#include "oprf.h"
#include "proc.h"
#include "server_util.h"

#define T0  1760000000 /* a fixed "now": 2025-10-09 */
#define DAY 86400

static const char *admin;
static uint8_t key_a[CLIENTS_KEY_SIZE], key_b[CLIENTS_KEY_SIZE], key_c[CLIENTS_KEY_SIZE];

static clients *
open_with(const char *dir, int required, uint32_t capacity, uint32_t refill)
{
	clients_config config;
	clients *c = NULL;
	clients_config_defaults(&config);
	config.enrolment_required = required;
	config.capacity = capacity;
	config.refill_per_day = refill;
	if (clients_open(dir, &config, &c) != VEIL_OK)
		abort();
	return c;
}

static clients *
open_default(const char *dir)
{
	return open_with(dir, 1, CLIENTS_DEFAULT_CAPACITY, CLIENTS_DEFAULT_REFILL_PER_DAY);
}

static void
enrol(clients *c, const uint8_t *key, uint32_t quota, int64_t now)
{
	if (clients_enrol(c, key, quota, now, NULL) != VEIL_OK)
		abort();
}

/* Seconds until n tokens return at refill r a day: ceil(n * 86400 / r). */
static uint32_t
seconds_for(uint64_t n, uint32_t r)
{
	return (uint32_t)((n * DAY + r - 1) / r);
}

/* ------------------------------------------------------------------ */

static void
case_defaults(void)
{
	clients_config c;
	memset(&c, 0xff, sizeof(c));
	clients_config_defaults(&c);
	CHECK(c.enrolment_required == 1);
	CHECK(c.capacity == 6000);
	CHECK(c.refill_per_day == 1500);
	/* A 5,000-contact book fits a full bucket; a week re-checks it with room to spare. */
	CHECK(c.capacity >= 5000);
	CHECK(7u * c.refill_per_day >= 5000 + 7 * 300);
	/* One area code (8M) takes more than ten years. */
	CHECK(8000000.0 / c.refill_per_day / 365.0 > 10.0);
}

static void
case_unenrolled_refused(void)
{
	char *dir = util_temp_dir();
	clients *c = open_default(dir);
	uint32_t retry = 99;
	CHECK(clients_charge(c, key_a, 1, T0, &retry) == CLIENTS_UNAUTHORIZED);
	CHECK(retry == 0);
	CHECK(clients_charge(c, key_a, 0, T0, &retry) == CLIENTS_UNAUTHORIZED);
	CHECK(clients_remove(c, key_a) == VEIL_ERR_NOT_FOUND);
	clients_close(c);
	clients *admin_view = NULL;
	REQUIRE(clients_open(dir, NULL, &admin_view) == VEIL_OK);
	clients_config config;
	clients_config_get(admin_view, &config);
	CHECK(config.enrolment_required == 1 && config.capacity == 6000); /* recorded by veild */
	clients_close(admin_view);
	util_remove_tree(dir);
	free(dir);
}

static void
case_enrolled_accepted(void)
{
	char *dir = util_temp_dir();
	clients *c = open_default(dir);
	uint32_t retry = 99;
	int was = -1;
	REQUIRE(clients_enrol(c, key_a, 0, T0, &was) == VEIL_OK);
	CHECK(was == 0);
	CHECK(clients_charge(c, key_a, 100, T0, &retry) == CLIENTS_OK);
	CHECK(retry == 0);
	CHECK(clients_charge(c, key_a, 0, T0, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_b, 1, T0, &retry) == CLIENTS_UNAUTHORIZED);
	/* Enrolling again keeps the tokens. */
	REQUIRE(clients_enrol(c, key_a, 0, T0, &was) == VEIL_OK);
	CHECK(was == 1);
	CHECK(clients_charge(c, key_a, 5900, T0, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_a, 1, T0, &retry) == CLIENTS_RATE_LIMITED);
	clients_close(c);
	util_remove_tree(dir);
	free(dir);
}

static void
case_removed_refused(void)
{
	char *dir = util_temp_dir();
	clients *c = open_default(dir);
	uint32_t retry = 0;
	enrol(c, key_a, 0, T0);
	CHECK(clients_charge(c, key_a, 10, T0, &retry) == CLIENTS_OK);
	CHECK(clients_remove(c, key_a) == VEIL_OK);
	CHECK(clients_charge(c, key_a, 10, T0, &retry) == CLIENTS_UNAUTHORIZED);
	CHECK(clients_remove(c, key_a) == VEIL_ERR_NOT_FOUND);
	/* Enrolled again, the bucket is as it was: removal refills nothing. */
	enrol(c, key_a, 0, T0);
	CHECK(clients_charge(c, key_a, 5990, T0, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_a, 1, T0, &retry) == CLIENTS_RATE_LIMITED);
	clients_close(c);
	util_remove_tree(dir);
	free(dir);
}

/* A second handle (another process's view, like veil-admin's) removes: the first sees it next call.
 */
static void
case_removed_by_another_handle(void)
{
	char *dir = util_temp_dir();
	clients *server = open_default(dir);
	clients *other = NULL;
	uint32_t retry = 0;
	REQUIRE(clients_open(dir, NULL, &other) == VEIL_OK);
	CHECK(clients_enrol(other, key_a, 0, T0, NULL) == VEIL_OK);
	CHECK(clients_charge(server, key_a, 1, T0, &retry) == CLIENTS_OK);
	CHECK(clients_remove(other, key_a) == VEIL_OK);
	CHECK(clients_charge(server, key_a, 1, T0, &retry) == CLIENTS_UNAUTHORIZED);
	clients_close(other);
	clients_close(server);
	util_remove_tree(dir);
	free(dir);
}

static void
case_quota_exhaustion(void)
{
	char *dir = util_temp_dir();
	clients *c = open_default(dir);
	uint32_t retry = 0;
	enrol(c, key_a, 0, T0);
	CHECK(clients_charge(c, key_a, 4000, T0, &retry) == CLIENTS_OK);
	/* 2,000 left: 2,001 is refused whole, and takes nothing. */
	CHECK(clients_charge(c, key_a, 2001, T0, &retry) == CLIENTS_RATE_LIMITED);
	CHECK(retry == seconds_for(1, 1500)); /* one token short: 58 s */
	CHECK(clients_charge(c, key_a, 2010, T0, &retry) == CLIENTS_RATE_LIMITED);
	CHECK(retry == seconds_for(10, 1500)); /* 576 s */
	CHECK(clients_charge(c, key_a, 2000, T0, &retry) == CLIENTS_OK);
	CHECK(retry == 0);
	CHECK(clients_charge(c, key_a, 1, T0, &retry) == CLIENTS_RATE_LIMITED);
	CHECK(retry == 58);
	/* Waiting retry_after is enough, and one second less is not. */
	CHECK(clients_charge(c, key_a, 100, T0, &retry) == CLIENTS_RATE_LIMITED);
	const uint32_t wait = retry;
	CHECK(wait == seconds_for(100, 1500));
	CHECK(clients_charge(c, key_a, 100, T0 + wait - 1, &retry) == CLIENTS_RATE_LIMITED);
	CHECK(retry == 1);
	CHECK(clients_charge(c, key_a, 100, T0 + wait, &retry) == CLIENTS_OK);
	/* More than the bucket holds can never be served. */
	CHECK(clients_charge(c, key_a, 6001, T0 + 100 * DAY, &retry) == CLIENTS_RATE_LIMITED);
	CHECK(retry == CLIENTS_RETRY_NEVER);
	clients_close(c);
	util_remove_tree(dir);
	free(dir);
}

static void
case_refill_over_time(void)
{
	char *dir = util_temp_dir();
	clients *c = open_default(dir);
	uint32_t retry = 0;
	enrol(c, key_a, 0, T0);
	CHECK(clients_charge(c, key_a, 6000, T0, &retry) == CLIENTS_OK);
	/* A day later: 1,500 back, not one more. */
	CHECK(clients_charge(c, key_a, 1501, T0 + DAY, &retry) == CLIENTS_RATE_LIMITED);
	CHECK(retry == 58);
	CHECK(clients_charge(c, key_a, 1500, T0 + DAY, &retry) == CLIENTS_OK);
	/* Half a day: 750. */
	CHECK(clients_charge(c, key_a, 750, T0 + DAY + DAY / 2, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_a, 1, T0 + DAY + DAY / 2, &retry) == CLIENTS_RATE_LIMITED);
	/* Ten days: the bucket is full, never more. */
	CHECK(clients_charge(c, key_a, 6000, T0 + 12 * DAY, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_a, 1, T0 + 12 * DAY, &retry) == CLIENTS_RATE_LIMITED);
	/* A clock that steps back refills nothing, and does not break the bucket. */
	CHECK(clients_charge(c, key_a, 1, T0, &retry) == CLIENTS_RATE_LIMITED);
	CHECK(clients_charge(c, key_a, 1500, T0 + 13 * DAY, &retry) == CLIENTS_OK);
	clients_close(c);
	util_remove_tree(dir);
	free(dir);
}

static void
case_restart_keeps_charges(void)
{
	char *dir = util_temp_dir();
	clients *c = open_default(dir);
	uint32_t retry = 0, before = 0;
	enrol(c, key_a, 0, T0);
	enrol(c, key_b, 0, T0);
	CHECK(clients_charge(c, key_a, 5999, T0, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_a, 100, T0, &before) == CLIENTS_RATE_LIMITED);
	clients_close(c);
	c = open_default(dir);
	CHECK(clients_charge(c, key_a, 100, T0, &retry) == CLIENTS_RATE_LIMITED);
	CHECK(retry == before);
	CHECK(clients_charge(c, key_a, 1, T0, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_a, 1, T0, &retry) == CLIENTS_RATE_LIMITED);
	CHECK(clients_charge(c, key_b, 6000, T0, &retry) == CLIENTS_OK);
	clients_close(c);
	util_remove_tree(dir);
	free(dir);
}

static void
case_other_client_unaffected(void)
{
	char *dir = util_temp_dir();
	clients *c = open_default(dir);
	uint32_t retry = 0;
	enrol(c, key_a, 0, T0);
	enrol(c, key_b, 0, T0);
	CHECK(clients_charge(c, key_a, 6000, T0, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_a, 1, T0, &retry) == CLIENTS_RATE_LIMITED);
	CHECK(clients_charge(c, key_b, 6000, T0, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_c, 1, T0, &retry) == CLIENTS_UNAUTHORIZED);
	clients_close(c);
	util_remove_tree(dir);
	free(dir);
}

static void
case_quota_override(void)
{
	char *dir = util_temp_dir();
	clients *c = open_default(dir);
	uint32_t retry = 0;
	enrol(c, key_a, 100, T0); /* 100 a day, a bucket of 400 */
	enrol(c, key_b, 15000, T0);
	CHECK(clients_charge(c, key_a, 401, T0, &retry) == CLIENTS_RATE_LIMITED);
	CHECK(retry == CLIENTS_RETRY_NEVER);
	CHECK(clients_charge(c, key_a, 400, T0, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_a, 1, T0, &retry) == CLIENTS_RATE_LIMITED);
	CHECK(retry == seconds_for(1, 100));
	CHECK(clients_charge(c, key_a, 100, T0 + DAY, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_b, 60000, T0, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_b, 15000, T0 + DAY, &retry) == CLIENTS_OK);
	clients_close(c);
	util_remove_tree(dir);
	free(dir);
}

/* An unlimited client is never refused and never charged, however much it asks. */
static void
case_unlimited_quota(void)
{
	char *dir = util_temp_dir();
	clients *c = open_default(dir);
	uint32_t retry = 7;
	enrol(c, key_a, CLIENTS_QUOTA_UNLIMITED, T0);
	enrol(c, key_b, 0, T0);
	for (int i = 0; i < 1000; i++)
		CHECK(clients_charge(c, key_a, UINT32_MAX, T0, &retry) == CLIENTS_OK);
	CHECK(retry == 0);
	/* The others keep their own buckets. */
	CHECK(clients_charge(c, key_b, CLIENTS_DEFAULT_CAPACITY + 1, T0, &retry) ==
	      CLIENTS_RATE_LIMITED);
	clients_close(c);
	/* Kept across a restart. */
	c = open_default(dir);
	CHECK(clients_charge(c, key_a, UINT32_MAX, T0 + 1, &retry) == CLIENTS_OK);
	clients_close(c);
	util_remove_tree(dir);
	free(dir);
}

static void
case_open_enrolment(void)
{
	char *dir = util_temp_dir();
	clients *c = open_with(dir, 0, 50, 10);
	uint32_t retry = 0;
	CHECK(clients_charge(c, key_c, 30, T0, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_c, 21, T0, &retry) == CLIENTS_RATE_LIMITED);
	CHECK(retry == seconds_for(1, 10));
	CHECK(clients_charge(c, key_c, 20, T0, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_b, 50, T0, &retry) == CLIENTS_OK); /* its own bucket */
	clients_close(c);
	/* Tracked across a restart; and refused once enrolment is required. */
	c = open_with(dir, 0, 50, 10);
	CHECK(clients_charge(c, key_c, 1, T0, &retry) == CLIENTS_RATE_LIMITED);
	clients_close(c);
	c = open_with(dir, 1, 50, 10);
	CHECK(clients_charge(c, key_c, 1, T0 + DAY, &retry) == CLIENTS_UNAUTHORIZED);
	clients_close(c);
	util_remove_tree(dir);
	free(dir);
}

typedef struct racer {
	clients *c;
	unsigned granted;
} racer;

static void *
race(void *arg)
{
	racer *r = arg;
	uint32_t retry = 0;
	for (int i = 0; i < 400; i++)
		if (clients_charge(r->c, key_a, 1, T0, &retry) == CLIENTS_OK)
			r->granted++;
	return NULL;
}

/* Threads charging one client at once get exactly its tokens between them. */
static void
case_concurrent_charges(void)
{
	char *dir = util_temp_dir();
	clients *c = open_with(dir, 1, 1000, 1);
	pthread_t threads[8];
	racer racers[8];
	enrol(c, key_a, 0, T0);
	for (int i = 0; i < 8; i++) {
		racers[i].c = c;
		racers[i].granted = 0;
		REQUIRE(pthread_create(&threads[i], NULL, race, &racers[i]) == 0);
	}
	unsigned total = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(threads[i], NULL);
		total += racers[i].granted;
	}
	CHECK(total == 1000);
	clients_close(c);
	util_remove_tree(dir);
	free(dir);
}

/* Whether the n bytes of needle occur in the file at path. */
static int
file_holds(const char *path, const uint8_t *needle, size_t n)
{
	size_t len = 0;
	char *data = test_read_file(path, &len);
	int found = 0;
	for (size_t i = 0; !found && i + n <= len; i++)
		found = memcmp(data + i, needle, n) == 0;
	free(data);
	return found;
}

static int
tree_holds(const char *path, const uint8_t *needle, size_t n)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return 0;
	if (S_ISREG(st.st_mode))
		return file_holds(path, needle, n);
	if (!S_ISDIR(st.st_mode))
		return 0;
	int found = 0;
	DIR *d = opendir(path);
	struct dirent *e;
	while (d != NULL && !found && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *child = util_join(path, e->d_name);
		found = tree_holds(child, needle, n);
		free(child);
	}
	if (d != NULL)
		closedir(d);
	return found;
}

static void
case_no_key_stored(void)
{
	char *dir = util_temp_dir();
	clients *c = open_with(dir, 0, CLIENTS_DEFAULT_CAPACITY, CLIENTS_DEFAULT_REFILL_PER_DAY);
	uint32_t retry = 0;
	enrol(c, key_a, 0, T0);
	enrol(c, key_b, 77, T0);
	CHECK(clients_charge(c, key_a, 10, T0, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_c, 10, T0, &retry) == CLIENTS_OK); /* open: tracked */
	CHECK(clients_remove(c, key_b) == VEIL_OK);
	uint8_t digest[CLIENTS_DIGEST_SIZE];
	clients_digest(c, key_a, digest);
	clients_close(c);

	const uint8_t *keys[] = {key_a, key_b, key_c};
	for (size_t i = 0; i < 3; i++) {
		char hex[2 * CLIENTS_KEY_SIZE + 1];
		sodium_bin2hex(hex, sizeof(hex), keys[i], CLIENTS_KEY_SIZE);
		CHECK(!tree_holds(dir, keys[i], CLIENTS_KEY_SIZE));
		CHECK(!tree_holds(dir, (const uint8_t *)hex, 2 * CLIENTS_KEY_SIZE));
		CHECK(!tree_holds(dir, keys[i], 8)); /* not even a piece */
	}
	/* The digest is what is stored (sanity of the scan itself). */
	CHECK(tree_holds(dir, digest, sizeof(digest)));

	/* The digest key file is 0600; the database directory 0700. */
	struct stat st;
	char *key_path = util_join(dir, CLIENTS_KEY_FILE);
	char *db_path = util_join(dir, CLIENTS_DIR);
	CHECK(stat(key_path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(stat(db_path, &st) == 0 && (st.st_mode & 0777) == 0700);
	/* A digest key others may read is refused. */
	CHECK(chmod(key_path, 0644) == 0);
	clients *again = NULL;
	CHECK(clients_open(dir, NULL, &again) == VEIL_ERR_PERMISSION);
	CHECK(again == NULL);
	free(key_path);
	free(db_path);
	util_remove_tree(dir);
	free(dir);
}

static void
case_digests_differ_per_state(void)
{
	char *d1 = util_temp_dir(), *d2 = util_temp_dir();
	clients *c1 = open_default(d1), *c2 = open_default(d2);
	uint8_t x[CLIENTS_DIGEST_SIZE], y[CLIENTS_DIGEST_SIZE], z[CLIENTS_DIGEST_SIZE];
	clients_digest(c1, key_a, x);
	clients_digest(c2, key_a, y);
	CHECK(memcmp(x, y, sizeof(x)) != 0);
	clients_close(c1);
	c1 = open_default(d1); /* the key file is reused */
	clients_digest(c1, key_a, z);
	CHECK(memcmp(x, z, sizeof(x)) == 0);
	clients_close(c1);
	clients_close(c2);
	util_remove_tree(d1);
	util_remove_tree(d2);
	free(d1);
	free(d2);
}

static void
case_open_errors(void)
{
	clients *c = (clients *)(uintptr_t)1;
	clients_config config;
	clients_config_defaults(&config);
	CHECK(clients_open("/nonexistent/veil-state", &config, &c) == VEIL_ERR_NOT_FOUND);
	CHECK(c == NULL);
	config.capacity = 0;
	char *dir = util_temp_dir();
	CHECK(clients_open(dir, &config, &c) == VEIL_ERR_ARGUMENT);
	CHECK(clients_open(NULL, NULL, &c) == VEIL_ERR_ARGUMENT);
	CHECK(clients_open(dir, NULL, NULL) == VEIL_ERR_ARGUMENT);
	clients_close(NULL);
	util_remove_tree(dir);
	free(dir);
}

typedef struct listed {
	int count;
	clients_record last;
} listed;

static int
collect(void *arg, const clients_record *r)
{
	listed *l = arg;
	l->count++;
	l->last = *r;
	return 0;
}

static void
case_list(void)
{
	char *dir = util_temp_dir();
	clients *c = open_default(dir);
	uint32_t retry = 0;
	listed l;
	memset(&l, 0, sizeof(l));
	enrol(c, key_a, 100, T0);
	CHECK(clients_charge(c, key_a, 150, T0 + 2 * DAY, &retry) == CLIENTS_OK);
	REQUIRE(clients_list(c, T0 + 2 * DAY, collect, &l) == VEIL_OK);
	CHECK(l.count == 1);
	CHECK(l.last.enrolled == 1);
	CHECK(l.last.quota == 100);
	CHECK(l.last.capacity == 400 && l.last.refill_per_day == 100);
	CHECK(l.last.tokens == 250);
	CHECK(l.last.last_use_day == (T0 + 2 * DAY) / DAY);
	REQUIRE(clients_list(c, T0 + 2 * DAY + DAY / 2, collect, &l) == VEIL_OK);
	CHECK(l.last.tokens == 300);
	clients_close(c);
	util_remove_tree(dir);
	free(dir);
}

/* ------------------------------------------------------------------ */
/* veil-admin client ... */

typedef struct ran {
	int status;
	char *out, *err;
} ran;

static ran
run(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5, const char *a6,
    const char *a7)
{
	ran r;
	const char *argv[] = {admin, a1, a2, a3, a4, a5, a6, a7, NULL};
	r.status = proc_run(argv, NULL, &r.out, &r.err);
	return r;
}

static void
ran_free(ran *r)
{
	free(r->out);
	free(r->err);
}

static void
case_admin(void)
{
	char *dir = util_temp_dir();
	char *state = util_join(dir, "state");
	char hex_a[2 * CLIENTS_KEY_SIZE + 1], hex_b[2 * CLIENTS_KEY_SIZE + 1];
	sodium_bin2hex(hex_a, sizeof(hex_a), key_a, CLIENTS_KEY_SIZE);
	sodium_bin2hex(hex_b, sizeof(hex_b), key_b, CLIENTS_KEY_SIZE);

	ran r = run("keygen", "--state", state, NULL, NULL, NULL, NULL);
	REQUIRE(r.status == 0);
	ran_free(&r);

	r = run("client", "add", "--state", state, hex_a, NULL, NULL);
	CHECK(r.status == 0);
	CHECK(strncmp(r.out, "enrolled ", 9) == 0 && strlen(r.out) == 9 + 16 + 1);
	char fingerprint[17];
	memcpy(fingerprint, r.out + 9, 16);
	fingerprint[16] = '\0';
	ran_free(&r);
	r = run("client", "add", "--state", state, "--quota", "300", hex_a);
	CHECK(r.status == 0);
	CHECK(strncmp(r.out, "updated ", 8) == 0 && strstr(r.out, fingerprint) != NULL);
	ran_free(&r);
	r = run("client", "add", "--state=", hex_b, NULL, NULL, NULL);
	CHECK(r.status == 2);
	ran_free(&r);
	r = run("client", "add", "--state", state, "--quota", "lots", hex_b);
	CHECK(r.status == 2 && strstr(r.err, "unlimited") != NULL);
	ran_free(&r);
	r = run("client", "add", "--state", state, hex_b, NULL, NULL);
	CHECK(r.status == 0);
	ran_free(&r);

	/* The server's view: enrolled, with the override. */
	clients *c = open_default(state);
	uint32_t retry = 0;
	CHECK(clients_charge(c, key_a, 1200, T0, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_a, 1, T0, &retry) == CLIENTS_RATE_LIMITED);
	CHECK(clients_charge(c, key_b, 1, T0, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_c, 1, T0, &retry) == CLIENTS_UNAUTHORIZED);
	uint8_t digest[CLIENTS_DIGEST_SIZE];
	char want[17];
	clients_digest(c, key_a, digest);
	sodium_bin2hex(want, sizeof(want), digest, 8);
	CHECK(strcmp(want, fingerprint) == 0);

	r = run("client", "list", "--state", state, NULL, NULL, NULL);
	CHECK(r.status == 0);
	CHECK(strstr(r.out, fingerprint) != NULL);
	CHECK(strstr(r.out, "enrolment required") != NULL);
	CHECK(strstr(r.out, "# 2 enrolled, 0 tracked") != NULL);
	CHECK(strstr(r.out, hex_a) == NULL && strstr(r.out, hex_b) == NULL);
	CHECK(strstr(r.out, "300") != NULL); /* the override */
	ran_free(&r);

	r = run("client", "remove", "--state", state, hex_a, NULL, NULL);
	CHECK(r.status == 0);
	CHECK(strncmp(r.out, "removed ", 8) == 0 && strstr(r.out, fingerprint) != NULL);
	ran_free(&r);
	CHECK(clients_charge(c, key_a, 0, T0, &retry) == CLIENTS_UNAUTHORIZED);
	clients_close(c);
	r = run("client", "remove", "--state", state, hex_a, NULL, NULL);
	CHECK(r.status == 1);
	CHECK(strstr(r.err, "not enrolled") != NULL);
	CHECK(strstr(r.err, hex_a) == NULL);
	ran_free(&r);
	r = run("client", "list", "--state", state, NULL, NULL, NULL);
	CHECK(r.status == 0 && strstr(r.out, fingerprint) == NULL);
	CHECK(strstr(r.out, "# 1 enrolled, 1 tracked") != NULL);
	ran_free(&r);

	/* Help, and usage errors (2) against failures (1). */
	static const struct {
		const char *name;
		const char *args[5];
		int status;
		const char *said; /* in stdout for 0, stderr otherwise */
	} table[] = {
	        {"add --help", {"add", "--help"}, 0, "usage: veil-admin client add"},
	        {"remove --help", {"remove", "--help"}, 0, "usage: veil-admin client remove"},
	        {"list --help", {"list", "--help"}, 0, "Never prints a"},
	        {"add without key", {"add", "--state", "X"}, 2, "missing argument"},
	        {"add short key", {"add", "--state", "X", "abcd"}, 2, "64 hex digits"},
	        {"add bad quota", {"add", "--state", "X", "--quota", "0"}, 2, "--quota"},
	        {"add without state", {"add", "--quota", "5"}, 2, "--state DIR is required"},
	        {"unknown option", {"list", "--state", "X", "--quota", "1"}, 2, "unknown option"},
	        {"list extra", {"list", "--state", "X", "extra"}, 2, "too many arguments"},
	        {"not a state", {"list", "--state", "/nonexistent/veil"}, 1, "not a veil state"},
	        {"remove no state", {"remove", "--state", "/nonexistent/veil", ""}, 2, "64 hex"},
	};
	for (size_t i = 0; i < TEST_COUNT(table); i++) {
		const char *const *a = table[i].args;
		if (i == 5) /* a valid key after the bad quota */
			r = run("client", a[0], a[1], a[2], a[3], a[4], hex_a);
		else
			r = run("client", a[0], a[1], a[2], a[3], a[4], NULL);
		const char *text = table[i].status == 0 ? r.out : r.err;
		if (r.status != table[i].status || strstr(text, table[i].said) == NULL)
			printf("# case %s: status %d, out: %s, err: %s\n", table[i].name, r.status,
			       r.out, r.err);
		CHECK(r.status == table[i].status);
		CHECK(strstr(text, table[i].said) != NULL);
		ran_free(&r);
	}
	/* The key is checked before the state is opened, and is never echoed. */
	r = run("client", "add", "--state", state, "zz", NULL, NULL);
	CHECK(r.status == 2 && strstr(r.err, "zz") == NULL);
	ran_free(&r);
	/* The program's overview names the commands. */
	r = run("--help", NULL, NULL, NULL, NULL, NULL, NULL);
	CHECK(r.status == 0 && strstr(r.out, "client add") != NULL &&
	      strstr(r.out, "client list") != NULL);
	ran_free(&r);

	free(state);
	util_remove_tree(dir);
	free(dir);
}

static const test_case cases[] = {
        {"defaults", case_defaults},
        {"unenrolled refused", case_unenrolled_refused},
        {"enrolled accepted", case_enrolled_accepted},
        {"removed refused", case_removed_refused},
        {"removed by another handle", case_removed_by_another_handle},
        {"quota exhaustion", case_quota_exhaustion},
        {"refill over time", case_refill_over_time},
        {"restart keeps charges", case_restart_keeps_charges},
        {"other client unaffected", case_other_client_unaffected},
        {"quota override", case_quota_override},
        {"unlimited quota", case_unlimited_quota},
        {"open enrolment", case_open_enrolment},
        {"concurrent charges", case_concurrent_charges},
        {"no key stored", case_no_key_stored},
        {"digests differ per state", case_digests_differ_per_state},
        {"open errors", case_open_errors},
        {"list", case_list},
        {"admin", case_admin},
};

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_server_clients PATH-TO-veil-admin\n");
		return 2;
	}
	if (veil_crypto_init() != VEIL_OK)
		return 1;
	admin = argv[1];
	randombytes_buf(key_a, sizeof(key_a));
	randombytes_buf(key_b, sizeof(key_b));
	randombytes_buf(key_c, sizeof(key_c));
	return test_main(argc, argv, cases, TEST_COUNT(cases));
}

/*
 * Client enrolment and quotas (server/store/clients.h) on real LMDB files in
 * temporary directories, time passed in as `now`; and the real
 * veil-admin binary (path in argv[1]) for `client add|remove|list`.
 *
 * Most cases are ledgers: a table of steps (enrol, charge, remove,
 * reopen) on one fresh store, each with the answer it must get, down to
 * the exact retry_after.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lmdb.h>

#include <sodium.h>

#include "clients.h"
#include "harness.h"
#include "oprf.h"
#include "proc.h"

#define DAY 86400

/* "Now" for the cases: the last UTC midnight, set by setup(). Near the
 * real clock, because clients_open() sweeps idle records at time(NULL). */
static int64_t T0;

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

/* ------------------------------------------------------------------ */
/* Ledgers */

typedef enum step_kind {
	ENROL,             /* n: the quota override (0: none); want: FRESH or AGAIN */
	CHARGE,            /* n items; want: a clients_status, with retry_after */
	REMOVE,            /* want: a veil_err */
	REOPEN,            /* close, and open again with the ledger's configuration; want VEIL_OK */
	REQUIRE_ENROLMENT, /* reopen with enrolment required; want VEIL_OK */
} step_kind;

typedef enum who { KEY_A, KEY_B, KEY_C, NOBODY } who;

/* What ENROL says the key was before. */
enum { FRESH, AGAIN };

typedef struct step {
	const char *ledger; /* the case it belongs to */
	step_kind kind;
	who key;
	uint32_t n;
	uint32_t day, second; /* now: T0 + day days + second seconds */
	int want;
	uint32_t retry; /* CHARGE: retry_after, to the midnight by which enough returns */
} step;

/* retry_after for a charge that can never be served, as the ledger spells it. */
_Static_assert(CLIENTS_RETRY_NEVER == 4294967295, "CLIENTS_RETRY_NEVER");

/*
 * Defaults: a bucket of 6,000 refilled by 1,500 at each UTC midnight. An
 * override N: a bucket of 4 N refilled by N. T0 is a midnight, so a step
 * at second s of a day that is k refills short waits k * 86400 - s.
 */
static const step ledger[] = {
        {"unenrolled refused", CHARGE, KEY_A, 1, 0, 0, CLIENTS_UNAUTHORIZED, 0},
        {"unenrolled refused", CHARGE, KEY_A, 0, 0, 0, CLIENTS_UNAUTHORIZED, 0},
        {"unenrolled refused", REMOVE, KEY_A, 0, 0, 0, VEIL_ERR_NOT_FOUND, 0},

        {"enrolled accepted", ENROL, KEY_A, 0, 0, 0, FRESH, 0},
        {"enrolled accepted", CHARGE, KEY_A, 100, 0, 0, CLIENTS_OK, 0},
        {"enrolled accepted", CHARGE, KEY_A, 0, 0, 0, CLIENTS_OK, 0},
        {"enrolled accepted", CHARGE, KEY_B, 1, 0, 0, CLIENTS_UNAUTHORIZED, 0},
        /* Enrolling again keeps the tokens. */
        {"enrolled accepted", ENROL, KEY_A, 0, 0, 0, AGAIN, 0},
        {"enrolled accepted", CHARGE, KEY_A, 5900, 0, 0, CLIENTS_OK, 0},
        {"enrolled accepted", CHARGE, KEY_A, 1, 0, 0, CLIENTS_RATE_LIMITED, 86400},

        {"removed refused", ENROL, KEY_A, 0, 0, 0, FRESH, 0},
        {"removed refused", CHARGE, KEY_A, 10, 0, 0, CLIENTS_OK, 0},
        {"removed refused", REMOVE, KEY_A, 0, 0, 0, VEIL_OK, 0},
        {"removed refused", CHARGE, KEY_A, 10, 0, 0, CLIENTS_UNAUTHORIZED, 0},
        {"removed refused", REMOVE, KEY_A, 0, 0, 0, VEIL_ERR_NOT_FOUND, 0},
        /* The record is gone: enrolled again, the bucket starts full. */
        {"removed refused", ENROL, KEY_A, 0, 0, 5, FRESH, 0},
        {"removed refused", CHARGE, KEY_A, 6000, 0, 5, CLIENTS_OK, 0},
        {"removed refused", CHARGE, KEY_A, 1, 0, 5, CLIENTS_RATE_LIMITED, 86395},

        {"quota exhaustion", ENROL, KEY_A, 0, 0, 0, FRESH, 0},
        {"quota exhaustion", CHARGE, KEY_A, 4000, 0, 0, CLIENTS_OK, 0},
        /* 2,000 left: 2,001 is refused whole, and takes nothing. */
        {"quota exhaustion", CHARGE, KEY_A, 2001, 0, 0, CLIENTS_RATE_LIMITED, 86400},
        {"quota exhaustion", CHARGE, KEY_A, 2010, 0, 0, CLIENTS_RATE_LIMITED, 86400},
        {"quota exhaustion", CHARGE, KEY_A, 2000, 0, 0, CLIENTS_OK, 0},
        {"quota exhaustion", CHARGE, KEY_A, 1, 0, 0, CLIENTS_RATE_LIMITED, 86400},
        /* More than one day's refill short: the midnight by which enough returns. */
        {"quota exhaustion", CHARGE, KEY_A, 1500, 0, 0, CLIENTS_RATE_LIMITED, 86400},
        {"quota exhaustion", CHARGE, KEY_A, 1501, 0, 0, CLIENTS_RATE_LIMITED, 172800},
        {"quota exhaustion", CHARGE, KEY_A, 4000, 0, 100, CLIENTS_RATE_LIMITED, 259100},
        /* Waiting retry_after is enough, and one second less is not. */
        {"quota exhaustion", CHARGE, KEY_A, 100, 0, 5759, CLIENTS_RATE_LIMITED, 80641},
        {"quota exhaustion", CHARGE, KEY_A, 100, 0, 86399, CLIENTS_RATE_LIMITED, 1},
        {"quota exhaustion", CHARGE, KEY_A, 100, 1, 0, CLIENTS_OK, 0},
        /* More than the bucket holds can never be served. */
        {"quota exhaustion", CHARGE, KEY_A, 6001, 100, 0, CLIENTS_RATE_LIMITED, 4294967295},

        {"refill over time", ENROL, KEY_A, 0, 0, 0, FRESH, 0},
        {"refill over time", CHARGE, KEY_A, 6000, 0, 0, CLIENTS_OK, 0},
        /* A day later: 1,500 back, not one more. */
        {"refill over time", CHARGE, KEY_A, 1501, 1, 0, CLIENTS_RATE_LIMITED, 86400},
        {"refill over time", CHARGE, KEY_A, 1500, 1, 0, CLIENTS_OK, 0},
        /* Within a day nothing returns, however long it has run. */
        {"refill over time", CHARGE, KEY_A, 1, 1, 43200, CLIENTS_RATE_LIMITED, 43200},
        {"refill over time", CHARGE, KEY_A, 1500, 2, 43200, CLIENTS_OK, 0},
        /* Ten days: the bucket is full, never more. */
        {"refill over time", CHARGE, KEY_A, 6000, 12, 0, CLIENTS_OK, 0},
        {"refill over time", CHARGE, KEY_A, 1, 12, 0, CLIENTS_RATE_LIMITED, 86400},
        /* A clock that steps back refills nothing, and does not break the bucket:
         * the wait runs to the midnight after the bucket's day. */
        {"refill over time", CHARGE, KEY_A, 1, 0, 0, CLIENTS_RATE_LIMITED, 13 * 86400},
        {"refill over time", CHARGE, KEY_A, 1500, 13, 0, CLIENTS_OK, 0},

        /* The last second of a day, then the first of the next. */
        {"day-boundary refill", ENROL, KEY_A, 0, 0, 0, FRESH, 0},
        {"day-boundary refill", CHARGE, KEY_A, 6000, 0, 86399, CLIENTS_OK, 0},
        {"day-boundary refill", CHARGE, KEY_A, 1, 0, 86399, CLIENTS_RATE_LIMITED, 1},
        {"day-boundary refill", CHARGE, KEY_A, 1500, 1, 0, CLIENTS_OK, 0},
        {"day-boundary refill", CHARGE, KEY_A, 1, 1, 0, CLIENTS_RATE_LIMITED, 86400},
        {"day-boundary refill", CHARGE, KEY_A, 1, 1, 86399, CLIENTS_RATE_LIMITED, 1},
        /* Three midnights: 4,500, and the fourth would fill it. */
        {"day-boundary refill", CHARGE, KEY_A, 4501, 4, 1, CLIENTS_RATE_LIMITED, 86399},
        {"day-boundary refill", CHARGE, KEY_A, 4500, 4, 1, CLIENTS_OK, 0},
        {"day-boundary refill", CHARGE, KEY_A, 6000, 8, 0, CLIENTS_OK, 0},

        {"restart keeps charges", ENROL, KEY_A, 0, 0, 0, FRESH, 0},
        {"restart keeps charges", ENROL, KEY_B, 0, 0, 0, FRESH, 0},
        {"restart keeps charges", CHARGE, KEY_A, 5999, 0, 0, CLIENTS_OK, 0},
        {"restart keeps charges", CHARGE, KEY_A, 100, 0, 0, CLIENTS_RATE_LIMITED, 86400},
        {"restart keeps charges", REOPEN, NOBODY, 0, 0, 0, VEIL_OK, 0},
        {"restart keeps charges", CHARGE, KEY_A, 100, 0, 0, CLIENTS_RATE_LIMITED, 86400},
        {"restart keeps charges", CHARGE, KEY_A, 1, 0, 0, CLIENTS_OK, 0},
        {"restart keeps charges", CHARGE, KEY_A, 1, 0, 0, CLIENTS_RATE_LIMITED, 86400},
        {"restart keeps charges", CHARGE, KEY_B, 6000, 0, 0, CLIENTS_OK, 0},

        {"other client unaffected", ENROL, KEY_A, 0, 0, 0, FRESH, 0},
        {"other client unaffected", ENROL, KEY_B, 0, 0, 0, FRESH, 0},
        {"other client unaffected", CHARGE, KEY_A, 6000, 0, 0, CLIENTS_OK, 0},
        {"other client unaffected", CHARGE, KEY_A, 1, 0, 0, CLIENTS_RATE_LIMITED, 86400},
        {"other client unaffected", CHARGE, KEY_B, 6000, 0, 0, CLIENTS_OK, 0},
        {"other client unaffected", CHARGE, KEY_C, 1, 0, 0, CLIENTS_UNAUTHORIZED, 0},

        /* 100 a day, a bucket of 400; 15,000 a day, a bucket of 60,000. */
        {"quota override", ENROL, KEY_A, 100, 0, 0, FRESH, 0},
        {"quota override", ENROL, KEY_B, 15000, 0, 0, FRESH, 0},
        {"quota override", CHARGE, KEY_A, 401, 0, 0, CLIENTS_RATE_LIMITED, 4294967295},
        {"quota override", CHARGE, KEY_A, 400, 0, 0, CLIENTS_OK, 0},
        {"quota override", CHARGE, KEY_A, 1, 0, 0, CLIENTS_RATE_LIMITED, 86400},
        {"quota override", CHARGE, KEY_A, 101, 1, 0, CLIENTS_RATE_LIMITED, 86400},
        {"quota override", CHARGE, KEY_A, 100, 1, 0, CLIENTS_OK, 0},
        {"quota override", CHARGE, KEY_B, 60000, 0, 0, CLIENTS_OK, 0},
        {"quota override", CHARGE, KEY_B, 15000, 1, 0, CLIENTS_OK, 0},

        /* Open, a bucket of 50 refilled by 10 a day (see ledger_open). */
        {"open enrolment", CHARGE, KEY_C, 30, 0, 0, CLIENTS_OK, 0},
        {"open enrolment", CHARGE, KEY_C, 21, 0, 0, CLIENTS_RATE_LIMITED, 86400},
        {"open enrolment", CHARGE, KEY_C, 40, 0, 7, CLIENTS_RATE_LIMITED, 2 * 86400 - 7},
        {"open enrolment", CHARGE, KEY_C, 20, 0, 0, CLIENTS_OK, 0},
        {"open enrolment", CHARGE, KEY_B, 50, 0, 0, CLIENTS_OK, 0}, /* its own bucket */
        /* Tracked across a restart; and refused once enrolment is required. */
        {"open enrolment", REOPEN, NOBODY, 0, 0, 0, VEIL_OK, 0},
        {"open enrolment", CHARGE, KEY_C, 1, 0, 0, CLIENTS_RATE_LIMITED, 86400},
        {"open enrolment", CHARGE, KEY_C, 25, 0, 0, CLIENTS_RATE_LIMITED, 3 * 86400},
        {"open enrolment", REQUIRE_ENROLMENT, NOBODY, 0, 0, 0, VEIL_OK, 0},
        {"open enrolment", CHARGE, KEY_C, 1, 1, 0, CLIENTS_UNAUTHORIZED, 0},
};

/* The ledger that does not run with the default configuration. */
static const char ledger_open[] = "open enrolment";

static const uint8_t *
key_of(who w)
{
	const uint8_t *const keys[] = {key_a, key_b, key_c};
	return keys[w];
}

/* Does one step; returns whether it got what the step says. */
static int
take_step(const step *s, clients **c, const char *dir, int *required)
{
	const int64_t now = T0 + (int64_t)s->day * DAY + s->second;
	const int open = strcmp(s->ledger, ledger_open) == 0;
	uint32_t retry = 99;
	int was = -1;
	switch (s->kind) {
	case ENROL:
		return clients_enrol(*c, key_of(s->key), s->n, now, &was) == VEIL_OK &&
		       was == s->want;
	case CHARGE: {
		const int got = (int)clients_charge(*c, key_of(s->key), s->n, now, &retry);
		if (got != s->want || retry != s->retry)
			printf("# %u items at day %u + %u s: status %d, retry_after %u\n", s->n,
			       s->day, s->second, got, retry);
		return got == s->want && retry == s->retry;
	}
	case REMOVE:
		return (int)clients_remove(*c, key_of(s->key)) == s->want;
	case REOPEN:
	case REQUIRE_ENROLMENT:
		*required |= s->kind == REQUIRE_ENROLMENT;
		clients_close(*c);
		*c = open ? open_with(dir, *required, 50, 10) : open_default(dir);
		return s->want == VEIL_OK;
	}
	return 0;
}

/* Runs the steps of the ledger named after the case, on a fresh store. */
static void
run_ledger(void)
{
	const char *dir = test_case_dir();
	int required = strcmp(test_case_name, ledger_open) != 0;
	clients *c = required ? open_default(dir) : open_with(dir, 0, 50, 10);
	size_t steps = 0;
	for (size_t i = 0; i < TEST_COUNT(ledger); i++) {
		if (strcmp(ledger[i].ledger, test_case_name) != 0)
			continue;
		const int ok = take_step(&ledger[i], &c, dir, &required);
		if (!ok)
			printf("# step %zu of the ledger went otherwise\n", steps + 1);
		CHECK(ok);
		steps++;
	}
	CHECK(steps > 0);
	clients_close(c);
}

/* ------------------------------------------------------------------ */
/* Other cases */

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

/* veild's configuration is recorded for veil-admin, which opens without one. */
static void
case_config_recorded(void)
{
	const char *dir = test_case_dir();
	clients *c = open_default(dir);
	clients_close(c);
	clients *admin_view = NULL;
	REQUIRE(clients_open(dir, NULL, &admin_view) == VEIL_OK);
	clients_config config;
	clients_config_get(admin_view, &config);
	CHECK(config.enrolment_required == 1 && config.capacity == 6000);
	clients_close(admin_view);
}

/* A second handle (another process's view, like veil-admin's) removes: the first sees it next call.
 */
static void
case_removed_by_another_handle(void)
{
	const char *dir = test_case_dir();
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
}

/* An unlimited client is never refused and never charged, however much it asks. */
static void
case_unlimited_quota(void)
{
	const char *dir = test_case_dir();
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
	const char *dir = test_case_dir();
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
}

static void
case_no_key_stored(void)
{
	const char *dir = test_case_dir();
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
		CHECK(!proc_tree_holds(dir, keys[i], CLIENTS_KEY_SIZE));
		CHECK(!proc_tree_holds(dir, (const uint8_t *)hex, 2 * CLIENTS_KEY_SIZE));
		CHECK(!proc_tree_holds(dir, keys[i], 8)); /* not even a piece */
	}
	/* The digest is what is stored (sanity of the scan itself). */
	CHECK(proc_tree_holds(dir, digest, sizeof(digest)));

	/* The digest key file is 0600; the database directory 0700. */
	struct stat st;
	char *key_path = proc_join(dir, CLIENTS_KEY_FILE);
	char *db_path = proc_join(dir, CLIENTS_DIR);
	CHECK(stat(key_path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(stat(db_path, &st) == 0 && (st.st_mode & 0777) == 0700);
	/* A digest key others may read is refused. */
	CHECK(chmod(key_path, 0644) == 0);
	clients *again = NULL;
	CHECK(clients_open(dir, NULL, &again) == VEIL_ERR_PERMISSION);
	CHECK(again == NULL);
	free(key_path);
	free(db_path);
}

static void
case_digests_differ_per_state(void)
{
	const char *d1 = test_case_path("one"), *d2 = test_case_path("two");
	REQUIRE(mkdir(d1, 0700) == 0 && mkdir(d2, 0700) == 0);
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
	const char *dir = test_case_dir();
	CHECK(clients_open(dir, &config, &c) == VEIL_ERR_ARGUMENT);
	CHECK(clients_open(NULL, NULL, &c) == VEIL_ERR_ARGUMENT);
	CHECK(clients_open(dir, NULL, NULL) == VEIL_ERR_ARGUMENT);
	clients_close(NULL);
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
	const char *dir = test_case_dir();
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
	/* Nothing returns within the day; the next midnight brings 100. */
	REQUIRE(clients_list(c, T0 + 2 * DAY + DAY - 1, collect, &l) == VEIL_OK);
	CHECK(l.last.tokens == 250);
	REQUIRE(clients_list(c, T0 + 3 * DAY, collect, &l) == VEIL_OK);
	CHECK(l.last.tokens == 350);
	clients_close(c);
}

/* The day of a key's last charge: 0 with no record, or a record never charged. */
static void
case_last_use(void)
{
	const char *dir = test_case_dir();
	clients *c = open_with(dir, 0, 100, 10);
	uint32_t retry = 0, day = 7;
	CHECK(clients_last_use(c, key_a, &day) == VEIL_OK && day == 0);
	enrol(c, key_b, 0, T0);
	CHECK(clients_last_use(c, key_b, &day) == VEIL_OK && day == 0);
	CHECK(clients_charge(c, key_a, 5, T0 + DAY + 5, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_a, 5, T0 + 3 * DAY + 5, &retry) == CLIENTS_OK);
	CHECK(clients_last_use(c, key_a, &day) == VEIL_OK && day == T0 / DAY + 3);
	/* A refused charge is no use; a charge of nothing neither. */
	CHECK(clients_charge(c, key_a, 1000, T0 + 4 * DAY, &retry) == CLIENTS_RATE_LIMITED);
	CHECK(clients_charge(c, key_a, 0, T0 + 5 * DAY, &retry) == CLIENTS_OK);
	CHECK(clients_last_use(c, key_a, &day) == VEIL_OK && day == T0 / DAY + 3);
	CHECK(clients_last_use(c, key_c, &day) == VEIL_OK && day == 0);
	day = 9;
	CHECK(clients_last_use(NULL, key_a, &day) == VEIL_ERR_ARGUMENT && day == 0);
	CHECK(clients_last_use(c, NULL, &day) == VEIL_ERR_ARGUMENT);
	CHECK(clients_last_use(c, key_a, NULL) == VEIL_ERR_ARGUMENT);
	clients_close(c);
	/* Kept across a restart, read by a handle without a configuration. */
	REQUIRE(clients_open(dir, NULL, &c) == VEIL_OK);
	CHECK(clients_last_use(c, key_a, &day) == VEIL_OK && day == T0 / DAY + 3);
	clients_close(c);
}

/* Raw LMDB on the clients environment of dir: put (value not NULL) or get digest's record. */
static int
raw_record(const char *dir, const uint8_t digest[CLIENTS_DIGEST_SIZE], const uint8_t *value,
           size_t size, uint8_t *out, size_t *out_size)
{
	char *path = proc_join(dir, CLIENTS_DIR);
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k = {CLIENTS_DIGEST_SIZE, (void *)(uintptr_t)digest}, v;
	int rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(env, 2);
	if (rc == 0)
		rc = mdb_env_set_mapsize(env, (size_t)4 << 30);
	if (rc == 0)
		rc = mdb_env_open(env, path, MDB_NOTLS, 0600);
	if (rc == 0)
		rc = mdb_txn_begin(env, NULL, value != NULL ? 0 : MDB_RDONLY, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "clients", 0, &dbi);
	if (rc == 0 && value != NULL) {
		v.mv_size = size;
		v.mv_data = (void *)(uintptr_t)value;
		rc = mdb_put(txn, dbi, &k, &v, 0);
	} else if (rc == 0) {
		rc = mdb_get(txn, dbi, &k, &v);
		if (rc == 0 && v.mv_size <= *out_size) {
			memcpy(out, v.mv_data, v.mv_size);
			*out_size = v.mv_size;
		}
	}
	if (txn != NULL && value != NULL && rc == 0)
		rc = mdb_txn_commit(txn);
	else if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	free(path);
	return rc;
}

static void
put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Whether clients_list() at now reports digest. */
typedef struct finding {
	const uint8_t *digest;
	int found;
	clients_record record;
} finding;

static int
find_digest(void *arg, const clients_record *r)
{
	finding *f = arg;
	if (memcmp(r->digest, f->digest, CLIENTS_DIGEST_SIZE) == 0) {
		f->found = 1;
		f->record = *r;
	}
	return 0;
}

static int
listed_at(clients *c, const uint8_t digest[CLIENTS_DIGEST_SIZE], int64_t now, clients_record *out)
{
	finding f = {digest, 0, {{0}, 0, 0, 0, 0, 0, 0}};
	const veil_err err = clients_list(c, now, find_digest, &f);
	if (out != NULL)
		*out = f.record;
	return err != VEIL_OK ? -1 : f.found;
}

/* The clients' data file of the state dir holds needle (the digest, as clients_digest() makes it).
 */
static int
data_file_holds(const char *dir, const void *needle, size_t n)
{
	char *clients_dir = proc_join(dir, CLIENTS_DIR);
	char *data = proc_join(clients_dir, "data.mdb");
	const int holds = proc_tree_holds(data, needle, n);
	free(data);
	free(clients_dir);
	return holds;
}

/*
 * Removal deletes the record: the API lists none, LMDB itself finds no
 * record under its digest, and no byte of the data file, freed pages
 * included, holds the digest.
 */
static void
case_removed_record_gone(void)
{
	const char *dir = test_case_dir();
	clients *c = open_default(dir);
	uint8_t digest[CLIENTS_DIGEST_SIZE], other[CLIENTS_DIGEST_SIZE];
	uint32_t retry = 0;
	clients_digest(c, key_a, digest);
	clients_digest(c, key_b, other);
	enrol(c, key_a, 0, T0);
	enrol(c, key_b, 0, T0);
	CHECK(clients_charge(c, key_a, 10, T0 + 100, &retry) == CLIENTS_OK);
	CHECK(listed_at(c, digest, T0 + 100, NULL) == 1);
	CHECK(clients_remove(c, key_a) == VEIL_OK);
	CHECK(listed_at(c, digest, T0 + 100, NULL) == 0);
	CHECK(listed_at(c, other, T0 + 100, NULL) == 1);
	clients_close(c);
	uint8_t value[64];
	size_t size = sizeof(value);
	CHECK(raw_record(dir, digest, NULL, 0, value, &size) == MDB_NOTFOUND);
	size = sizeof(value);
	CHECK(raw_record(dir, other, NULL, 0, value, &size) == 0 && size == 18);
	CHECK(!data_file_holds(dir, digest, sizeof(digest)));
	CHECK(data_file_holds(dir, other, sizeof(other))); /* the scan finds what is there */
	CHECK(clients_remove(NULL, key_a) == VEIL_ERR_ARGUMENT);
}

/* Unenrolled records idle for CLIENTS_IDLE_DAYS are swept; enrolled ones stay. */
static void
case_idle_swept(void)
{
	const char *dir = test_case_dir();
	clients *c = open_with(dir, 0, 50, 10);
	uint8_t da[CLIENTS_DIGEST_SIZE], db[CLIENTS_DIGEST_SIZE], dc[CLIENTS_DIGEST_SIZE];
	uint32_t retry = 0;
	uint64_t erased = 99;
	clients_record r;
	clients_digest(c, key_a, da);
	clients_digest(c, key_b, db);
	clients_digest(c, key_c, dc);
	enrol(c, key_a, 0, T0);
	CHECK(clients_charge(c, key_a, 5, T0, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_c, 50, T0 + 3600, &retry) == CLIENTS_OK); /* open: tracked */
	CHECK(clients_charge(c, key_b, 1, T0 + 10 * DAY, &retry) == CLIENTS_OK);
	/* A day short of idle: nothing goes. */
	CHECK(clients_sweep(c, T0 + 30 * DAY - 1, &erased) == VEIL_OK && erased == 0);
	CHECK(listed_at(c, dc, T0 + 30 * DAY - 1, NULL) == 1);
	/* Thirty days after its last charge, key_c's record is gone. */
	CHECK(clients_sweep(c, T0 + 30 * DAY, &erased) == VEIL_OK && erased == 1);
	CHECK(listed_at(c, dc, T0 + 30 * DAY, NULL) == 0);
	CHECK(listed_at(c, db, T0 + 30 * DAY, NULL) == 1);
	CHECK(listed_at(c, da, T0 + 30 * DAY, NULL) == 1);
	/* Back, it starts with a full bucket. */
	CHECK(clients_charge(c, key_c, 50, T0 + 31 * DAY, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_c, 1, T0 + 31 * DAY, &retry) == CLIENTS_RATE_LIMITED);
	/* Later: key_b goes too; the enrolled key_a stays, idle or not. */
	CHECK(clients_sweep(c, T0 + 45 * DAY, &erased) == VEIL_OK && erased == 1);
	CHECK(listed_at(c, db, T0 + 45 * DAY, NULL) == 0);
	CHECK(listed_at(c, da, T0 + 45 * DAY, &r) == 1);
	CHECK(r.enrolled && r.last_use_day == T0 / DAY && r.tokens == 50);
	CHECK(listed_at(c, dc, T0 + 45 * DAY, NULL) == 1);
	/* A clock far behind the records sweeps nothing. */
	CHECK(clients_sweep(c, T0 - 100 * DAY, &erased) == VEIL_OK && erased == 0);
	CHECK(clients_sweep(NULL, T0, &erased) == VEIL_ERR_ARGUMENT && erased == 0);
	clients_close(c);
	uint8_t value[64];
	size_t size = sizeof(value);
	CHECK(raw_record(dir, db, NULL, 0, value, &size) == MDB_NOTFOUND);
	CHECK(!data_file_holds(dir, db, sizeof(db)));
	CHECK(data_file_holds(dir, da, sizeof(da)));
}

/* A record an older veild wrote (version 1: 1/86400 units, the exact second) still counts. */
static void
case_version_1_record(void)
{
	const char *dir = test_case_dir();
	clients *c = open_default(dir);
	uint8_t digest[CLIENTS_DIGEST_SIZE];
	clients_digest(c, key_a, digest);
	clients_close(c);

	/* Enrolled, no override, 1000.5 tokens as of day 5 at 01:00, last used day 5. */
	const int64_t at = T0 + 5 * DAY + 3600;
	uint8_t v1[26];
	v1[0] = 1;
	v1[1] = 1;
	put_be(v1 + 2, 0, 4);
	put_be(v1 + 6, 1000ull * 86400 + 43200, 8);
	put_be(v1 + 14, (uint64_t)at, 8);
	put_be(v1 + 22, (uint64_t)(at / DAY), 4);
	REQUIRE(raw_record(dir, digest, v1, sizeof(v1), NULL, NULL) == 0);
	uint8_t second[8];
	put_be(second, (uint64_t)at, 8);
	CHECK(data_file_holds(dir, second, sizeof(second))); /* the scan finds what is there */

	/* Opening converts it: version 2, 18 bytes, day 5, 1000 whole tokens. */
	c = open_default(dir);
	uint8_t got[64];
	size_t size = sizeof(got);
	REQUIRE(raw_record(dir, digest, NULL, 0, got, &size) == 0);
	CHECK(size == 18 && got[0] == 2 && got[1] == 1);
	uint8_t want_day[4], want_tokens[4];
	put_be(want_day, (uint64_t)(at / DAY), 4);
	put_be(want_tokens, 1000, 4);
	CHECK(size == 18 && memcmp(got + 6, want_day, 4) == 0 &&
	      memcmp(got + 10, want_tokens, 4) == 0);

	uint32_t retry = 0;
	clients_record r;
	CHECK(listed_at(c, digest, at, &r) == 1 && r.enrolled && r.tokens == 1000 &&
	      r.last_use_day == at / DAY);
	CHECK(clients_charge(c, key_a, 1001, at + 60, &retry) == CLIENTS_RATE_LIMITED);
	CHECK(retry == (uint32_t)(T0 + 6 * DAY - (at + 60)));
	CHECK(clients_charge(c, key_a, 1000, at + 60, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_a, 1500, T0 + 6 * DAY, &retry) == CLIENTS_OK);
	CHECK(clients_charge(c, key_a, 1, T0 + 6 * DAY, &retry) == CLIENTS_RATE_LIMITED);
	clients_close(c);

	/* A damaged record (a version-1 size with version 2) is refused, not guessed at. */
	v1[0] = 2;
	REQUIRE(raw_record(dir, digest, v1, sizeof(v1), NULL, NULL) == 0);
	clients *bad = NULL;
	CHECK(clients_open(dir, NULL, &bad) == VEIL_ERR_CORRUPT && bad == NULL);
}

/* Nothing in the clients directory encodes the exact second of a charge. */
static void
case_no_seconds_stored(void)
{
	const char *dir = test_case_dir();
	clients *c = open_with(dir, 0, CLIENTS_DEFAULT_CAPACITY, CLIENTS_DEFAULT_REFILL_PER_DAY);
	const int64_t times[] = {T0 + 12345, T0 + 12346, T0 + DAY + 7, T0 + 3 * DAY + 86399,
	                         T0 + 4 * DAY + 43210};
	uint32_t retry = 0;
	enrol(c, key_a, 0, times[0]);
	enrol(c, key_b, 200, times[0]);
	for (size_t i = 0; i < TEST_COUNT(times); i++) {
		CHECK(clients_charge(c, key_a, 700, times[i], &retry) == CLIENTS_OK);
		CHECK(clients_charge(c, key_b, 100, times[i], &retry) == CLIENTS_OK);
		CHECK(clients_charge(c, key_c, 3, times[i], &retry) == CLIENTS_OK); /* open */
		(void)clients_charge(c, key_b, 5000, times[i], &retry);             /* refused */
	}
	CHECK(clients_remove(c, key_b) == VEIL_OK);
	clients_close(c);
	clients_close(open_default(dir)); /* reopened: swept, synced */

	char *clients_dir = proc_join(dir, CLIENTS_DIR);
	for (size_t i = 0; i < TEST_COUNT(times); i++) {
		const uint64_t values[] = {(uint64_t)times[i], (uint64_t)times[i] * 86400};
		for (size_t j = 0; j < 2; j++) {
			uint8_t be[8], le[8];
			put_be(be, values[j], 8);
			for (int b = 0; b < 8; b++)
				le[b] = be[7 - b];
			CHECK(!proc_tree_holds(clients_dir, be, 8));
			CHECK(!proc_tree_holds(clients_dir, le, 8));
		}
	}
	/* The day is there (sanity of the scan itself). */
	uint8_t day[4];
	put_be(day, (uint64_t)(times[4] / DAY), 4);
	CHECK(proc_tree_holds(clients_dir, day, 4));
	free(clients_dir);
}

/* ------------------------------------------------------------------ */
/* veil-admin client ... */

/* A syntactically valid client key, for runs refused before it is used. */
#define SOME_KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* Help, and usage errors (2) against failures (1). */
static const proc_expect admin_usage[] = {
        {"add --help", {"client", "add", "--help"}, 0, "usage: veil-admin client add", NULL},
        {"remove --help",
         {"client", "remove", "--help"},
         0,
         "usage: veil-admin client remove",
         NULL},
        {"list --help", {"client", "list", "--help"}, 0, "Never prints a", NULL},
        {"add without key", {"client", "add", "--state", "X"}, 2, NULL, "missing argument"},
        {"add short key", {"client", "add", "--state", "X", "abcd"}, 2, NULL, "64 hex digits"},
        {"add bad quota",
         {"client", "add", "--state", "X", "--quota", "0", SOME_KEY},
         2,
         NULL,
         "--quota"},
        {"add without state",
         {"client", "add", "--quota", "5"},
         2,
         NULL,
         "--state DIR is required"},
        {"unknown option",
         {"client", "list", "--state", "X", "--quota", "1"},
         2,
         NULL,
         "unknown option"},
        {"list extra", {"client", "list", "--state", "X", "extra"}, 2, NULL, "too many arguments"},
        {"not a state",
         {"client", "list", "--state", "/nonexistent/veil"},
         1,
         NULL,
         "not a veil state"},
        {"remove no state",
         {"client", "remove", "--state", "/nonexistent/veil", ""},
         2,
         NULL,
         "64 hex"},
        /* The program's overview names the commands. */
        {"overview", {"--help"}, 0, "client list", NULL},
        {"overview names add", {"--help"}, 0, "client add", NULL},
};

static void
case_admin(void)
{
	const char *state = test_case_path("state");
	char hex_a[2 * CLIENTS_KEY_SIZE + 1], hex_b[2 * CLIENTS_KEY_SIZE + 1];
	sodium_bin2hex(hex_a, sizeof(hex_a), key_a, CLIENTS_KEY_SIZE);
	sodium_bin2hex(hex_b, sizeof(hex_b), key_b, CLIENTS_KEY_SIZE);

	proc_result r = proc_call(admin, "keygen", "--state", state, NULL);
	REQUIRE(r.status == 0);
	proc_result_free(&r);

	r = proc_call(admin, "client", "add", "--state", state, hex_a, NULL);
	CHECK(r.status == 0);
	CHECK(strncmp(r.out, "enrolled ", 9) == 0 && strlen(r.out) == 9 + 16 + 1);
	char fingerprint[17];
	memcpy(fingerprint, r.out + 9, 16);
	fingerprint[16] = '\0';
	proc_result_free(&r);
	r = proc_call(admin, "client", "add", "--state", state, "--quota", "300", hex_a, NULL);
	CHECK(r.status == 0);
	CHECK(strncmp(r.out, "updated ", 8) == 0 && strstr(r.out, fingerprint) != NULL);
	proc_result_free(&r);
	r = proc_call(admin, "client", "add", "--state=", hex_b, NULL);
	CHECK(r.status == 2);
	proc_result_free(&r);
	r = proc_call(admin, "client", "add", "--state", state, "--quota", "lots", hex_b, NULL);
	CHECK(r.status == 2 && strstr(r.err, "unlimited") != NULL);
	proc_result_free(&r);
	r = proc_call(admin, "client", "add", "--state", state, hex_b, NULL);
	CHECK(r.status == 0);
	proc_result_free(&r);

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

	r = proc_call(admin, "client", "list", "--state", state, NULL);
	CHECK(r.status == 0);
	CHECK(strstr(r.out, fingerprint) != NULL);
	CHECK(strstr(r.out, "enrolment required") != NULL);
	CHECK(strstr(r.out, "# 2 enrolled, 0 tracked") != NULL);
	CHECK(strstr(r.out, hex_a) == NULL && strstr(r.out, hex_b) == NULL);
	CHECK(strstr(r.out, "300") != NULL); /* the override */
	proc_result_free(&r);

	r = proc_call(admin, "client", "remove", "--state", state, hex_a, NULL);
	CHECK(r.status == 0);
	CHECK(strncmp(r.out, "removed ", 8) == 0 && strstr(r.out, fingerprint) != NULL);
	proc_result_free(&r);
	CHECK(clients_charge(c, key_a, 0, T0, &retry) == CLIENTS_UNAUTHORIZED);
	clients_close(c);
	r = proc_call(admin, "client", "remove", "--state", state, hex_a, NULL);
	CHECK(r.status == 1);
	CHECK(strstr(r.err, "not enrolled") != NULL);
	CHECK(strstr(r.err, hex_a) == NULL);
	proc_result_free(&r);
	r = proc_call(admin, "client", "list", "--state", state, NULL);
	CHECK(r.status == 0 && strstr(r.out, fingerprint) == NULL);
	CHECK(strstr(r.out, "# 1 enrolled, 0 tracked") != NULL); /* its record is gone */
	proc_result_free(&r);

	proc_check_runs(admin, admin_usage, TEST_COUNT(admin_usage), NULL);
	/* The key is checked before the state is opened, and is never echoed. */
	r = proc_call(admin, "client", "add", "--state", state, "zz", NULL);
	CHECK(r.status == 2 && strstr(r.err, "zz") == NULL);
	proc_result_free(&r);
}

/* ------------------------------------------------------------------ */
/* Requests charged once (clients_charge_request()) */

/* A sealed request's identity, random as a client's, sent at sent_at, judged at clock. */
typedef struct sealed {
	uint8_t ephemeral_key[CLIENTS_EPHEMERAL_KEY_SIZE];
	uint8_t nonce[CLIENTS_NONCE_SIZE];
	clients_request request;
} sealed;

static void
sealed_new(sealed *s, uint64_t sent_at, int64_t clock)
{
	randombytes_buf(s->ephemeral_key, sizeof(s->ephemeral_key));
	randombytes_buf(s->nonce, sizeof(s->nonce));
	s->request = (clients_request){s->ephemeral_key, s->nonce, sent_at, clock};
}

static clients_request_verdict
charge_at(clients *c, const uint8_t *key, sealed *s, uint32_t items, int64_t clock, uint32_t *retry)
{
	s->request.clock = clock;
	return clients_charge_request(c, key, &s->request, items, clock, retry);
}

static uint64_t
request_count(clients *c)
{
	uint64_t n = UINT64_MAX;
	CHECK(clients_request_count(c, &n) == VEIL_OK);
	return n;
}

/*
 * A bucket of 8: a request of 4 is charged once, by this handle or
 * another of the state (another process), and after a restart; a
 * refusal for the quota is not remembered; the order of the checks;
 * stale times. Near the real clock: clients_open() expires digests at
 * time(NULL).
 */
static void
case_request_charged_once(void)
{
	const char *dir = test_case_dir();
	const int64_t now = (int64_t)time(NULL);
	clients *c = open_with(dir, 1, 8, 2), *other = open_with(dir, 1, 8, 2);
	uint32_t retry = 7;
	sealed r, r2, r3, late, early;
	sealed_new(&r, (uint64_t)now, now);
	sealed_new(&r2, (uint64_t)now, now);
	sealed_new(&r3, (uint64_t)now, now);
	enrol(c, key_a, 0, now);

	CHECK(charge_at(c, key_a, &r, 4, now, &retry) == CLIENTS_REQUEST_OK);
	CHECK(request_count(c) == 1);
	CHECK(charge_at(c, key_a, &r, 4, now, &retry) == CLIENTS_REQUEST_REPLAYED && retry == 0);
	CHECK(charge_at(other, key_a, &r, 4, now + 1, &retry) == CLIENTS_REQUEST_REPLAYED);
	CHECK(charge_at(other, key_a, &r, 0, now + 1, &retry) == CLIENTS_REQUEST_REPLAYED);
	/* Neither replay took a token: 4 are left for another request. */
	CHECK(charge_at(other, key_a, &r2, 4, now, &retry) == CLIENTS_REQUEST_OK);
	CHECK(charge_at(c, key_a, &r3, 1, now, &retry) == CLIENTS_REQUEST_RATE_LIMITED &&
	      retry > 0);
	CHECK(request_count(c) == 2); /* r3, refused, is not remembered */
	/* A replay is REPLAYED rather than RATE_LIMITED; a stranger UNAUTHORIZED first. */
	CHECK(charge_at(c, key_a, &r2, 4, now, &retry) == CLIENTS_REQUEST_REPLAYED && retry == 0);
	CHECK(charge_at(c, key_b, &r, 4, now, &retry) == CLIENTS_REQUEST_UNAUTHORIZED);

	/* sent_at within [clock - window, clock + skew], or STALE, remembering nothing. */
	enrol(c, key_b, CLIENTS_QUOTA_UNLIMITED, now);
	const struct {
		int64_t offset;
		clients_request_verdict want;
	} times[] = {{-CLIENTS_REPLAY_WINDOW - 1, CLIENTS_REQUEST_STALE},
	             {-CLIENTS_REPLAY_WINDOW, CLIENTS_REQUEST_OK},
	             {CLIENTS_REPLAY_SKEW, CLIENTS_REQUEST_OK},
	             {CLIENTS_REPLAY_SKEW + 1, CLIENTS_REQUEST_STALE}};
	for (size_t i = 0; i < TEST_COUNT(times); i++) {
		sealed_new(&late, (uint64_t)(now + times[i].offset), now);
		CHECK_ROW(charge_at(c, key_b, &late, 1, now, &retry) == times[i].want, "offset");
	}
	CHECK(request_count(c) == 4);
	sealed_new(&early, (uint64_t)INT64_MAX, now);
	CHECK(charge_at(c, key_b, &early, 1, now, &retry) == CLIENTS_REQUEST_STALE);
	CHECK(clients_charge_request(c, key_b, NULL, 1, now, &retry) == CLIENTS_REQUEST_ERROR);
	clients_close(other);
	clients_close(c);

	/* Kept across a restart. */
	c = open_with(dir, 1, 8, 2);
	CHECK(charge_at(c, key_a, &r, 4, now + 2, &retry) == CLIENTS_REQUEST_REPLAYED);
	CHECK(charge_at(c, key_b, &r3, 1, now + 2, &retry) == CLIENTS_REQUEST_OK);
	clients_close(c);
}

/*
 * Digests expire by generation, once every sent_at of theirs is stale,
 * oldest first, in batches of CLIENTS_REPLAY_SWEEP_BATCH. Ten days
 * ahead of the real clock, so that the sync thread, which expires at
 * time(NULL), deletes none of them.
 */
static void
case_requests_expire_by_generation(void)
{
	const char *dir = test_case_dir();
	const int64_t G = CLIENTS_REPLAY_GENERATION, W = CLIENTS_REPLAY_WINDOW;
	const int64_t F = ((int64_t)time(NULL) + 10 * DAY) / G * G; /* a generation's start */
	clients *c = open_default(dir);
	uint32_t retry = 0;
	uint64_t erased = 7;
	enrol(c, key_a, CLIENTS_QUOTA_UNLIMITED, F);
	sealed a, b, more;
	sealed_new(&a, (uint64_t)(F - 1), F); /* the generation before F's */
	sealed_new(&b, (uint64_t)F, F);       /* F's */
	CHECK(charge_at(c, key_a, &a, 1, F, &retry) == CLIENTS_REQUEST_OK);
	CHECK(charge_at(c, key_a, &b, 1, F, &retry) == CLIENTS_REQUEST_OK);
	/* More than a batch in the generation after F's. */
	for (unsigned i = 0; i < CLIENTS_REPLAY_SWEEP_BATCH + 5; i++) {
		sealed_new(&more, (uint64_t)(F + G), F + G);
		CHECK(charge_at(c, key_a, &more, 1, F + G, &retry) == CLIENTS_REQUEST_OK);
	}
	CHECK(request_count(c) == CLIENTS_REPLAY_SWEEP_BATCH + 7);

	/* a's last possible sent_at, F - 1, is stale from F + W on. */
	CHECK(clients_expire_requests(c, F + W - 1, &erased) == VEIL_OK && erased == 0);
	CHECK(charge_at(c, key_a, &a, 1, F + W - 1, &retry) == CLIENTS_REQUEST_REPLAYED);
	CHECK(clients_expire_requests(c, F + W, &erased) == VEIL_OK && erased == 1);
	CHECK(request_count(c) == CLIENTS_REPLAY_SWEEP_BATCH + 6);
	CHECK(charge_at(c, key_a, &a, 1, F + W, &retry) == CLIENTS_REQUEST_STALE);
	CHECK(charge_at(c, key_a, &b, 1, F + W, &retry) == CLIENTS_REQUEST_REPLAYED);
	CHECK(clients_expire_requests(c, F + W, &erased) == VEIL_OK && erased == 0);

	CHECK(clients_expire_requests(c, F + G + W - 1, &erased) == VEIL_OK && erased == 0);
	CHECK(clients_expire_requests(c, F + G + W, &erased) == VEIL_OK && erased == 1);
	CHECK(charge_at(c, key_a, &b, 1, F + G + W, &retry) == CLIENTS_REQUEST_STALE);
	/* The last generation, in two transactions. */
	CHECK(clients_expire_requests(c, F + 2 * G + W, &erased) == VEIL_OK &&
	      erased == CLIENTS_REPLAY_SWEEP_BATCH + 5);
	CHECK(request_count(c) == 0);
	CHECK(clients_expire_requests(NULL, F, &erased) == VEIL_ERR_ARGUMENT && erased == 0);
	clients_close(c);
}

static const test_case cases[] = {
        {"defaults", case_defaults},
        {"unenrolled refused", run_ledger},
        {"config recorded", case_config_recorded},
        {"enrolled accepted", run_ledger},
        {"removed refused", run_ledger},
        {"removed by another handle", case_removed_by_another_handle},
        {"quota exhaustion", run_ledger},
        {"refill over time", run_ledger},
        {"day-boundary refill", run_ledger},
        {"restart keeps charges", run_ledger},
        {"other client unaffected", run_ledger},
        {"quota override", run_ledger},
        {"unlimited quota", case_unlimited_quota},
        {"a request charged once, by every handle, across a restart", case_request_charged_once},
        {"request digests expire by generation", case_requests_expire_by_generation},
        {"open enrolment", run_ledger},
        {"concurrent charges", case_concurrent_charges},
        {"no key stored", case_no_key_stored},
        {"digests differ per state", case_digests_differ_per_state},
        {"open errors", case_open_errors},
        {"list", case_list},
        {"last use", case_last_use},
        {"removed record gone", case_removed_record_gone},
        {"idle unenrolled swept", case_idle_swept},
        {"version 1 record", case_version_1_record},
        {"no seconds stored", case_no_seconds_stored},
        {"admin", case_admin},
};

static void
setup(void)
{
	admin = test_argv[0];
	T0 = (int64_t)time(NULL) / DAY * DAY;
	randombytes_buf(key_a, sizeof(key_a));
	randombytes_buf(key_b, sizeof(key_b));
	randombytes_buf(key_c, sizeof(key_c));
}

TEST_MAIN_WITH(cases, .usage = "VEIL-ADMIN", .arguments = 1, .setup = setup)

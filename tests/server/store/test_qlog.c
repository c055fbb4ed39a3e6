/*
 * The query log on real LMDB files in temporary directories: widths
 * against their targets (by formula and by experiment), what the files
 * hold and do not hold, digests recomputed from qlog.h's formulas, the
 * retention of entries and salts, the chain's forward security, drops
 * under a full queue, a file that stops growing under a steady load, and
 * metadata that says no more than the digests: random order within a
 * day, size classes, padding, sorted digests; and the older layout read.
 *
 * Simulated days start tomorrow, so that the wall clock, which the
 * writer's hourly sweep also reads, never runs ahead of them.
 */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "entry.h"
#include "harness.h"
#include "keyfile.h"
#include "lmdb_util.h"
#include "log_digest.h"
#include "oprf.h"
#include "proc.h"
#include "qlog.h"
#include "qlog_store.h"
#include "saltchain.h"
#include "server_util.h"

#define DAY 86400

static const char *const handles[] = {
        "tel:+14155550100",
        "tel:+14155550101",
        "mailto:ann@example.org",
        "tel:+442079460000",
};
#define HANDLE_COUNT (sizeof(handles) / sizeof(handles[0]))
#define CLIENT_COUNT 4

static uint8_t client_keys[CLIENT_COUNT][QLOG_KEY_SIZE];
static uint32_t base_day;

static int64_t
at(uint32_t day_offset, unsigned hour, unsigned second)
{
	return (int64_t)(base_day + day_offset) * DAY + hour * 3600 + second;
}

static void
config_for_tests(qlog_config *c)
{
	qlog_config_defaults(c);
	c->accounts = 2000000;
}

/* config_for_tests(), keeping entries and salts that many days. */
static void
config_retaining(qlog_config *c, uint32_t entry_days, uint32_t salt_days)
{
	config_for_tests(c);
	c->entry_retention_days = entry_days;
	c->salt_retention_days = salt_days;
}

typedef struct fixture {
	char *state;
	char *log_dir;
	qlog *log;
} fixture;

static int
fixture_open(fixture *f, const qlog_config *c, int64_t now)
{
	char why[256];
	memset(f, 0, sizeof(*f));
	f->state = proc_temp_dir("qlog");
	f->log_dir = proc_join(f->state, QLOG_DIR);
	veil_err err = qlog_open(f->state, c, now, &f->log, why, sizeof(why));
	if (err != VEIL_OK)
		printf("# qlog_open: %s: %s\n", veil_strerror(err), why);
	return err == VEIL_OK ? 0 : -1;
}

static int
fixture_reopen(fixture *f, const qlog_config *c, int64_t now)
{
	char why[256];
	veil_err err = qlog_open(f->state, c, now, &f->log, why, sizeof(why));
	if (err != VEIL_OK)
		printf("# qlog_open: %s: %s\n", veil_strerror(err), why);
	return err == VEIL_OK ? 0 : -1;
}

/* Opens f at hour h of day 0 and records one entry a second later. */
static int
fixture_open_recorded(fixture *f, const qlog_config *c, unsigned h, const uint32_t *prefixes)
{
	if (fixture_open(f, c, at(0, h, 0)) != 0)
		return -1;
	qlog_record(f->log, at(0, h, 1), client_keys[0], 16, prefixes, 1, 0);
	return 0;
}

static void
fixture_close(fixture *f)
{
	qlog_close(f->log);
	f->log = NULL;
}

static void
fixture_free(fixture *f)
{
	fixture_close(f);
	proc_remove_tree(f->state);
	free(f->state);
	free(f->log_dir);
}

static uint32_t
bucket_of(size_t handle)
{
	return entry_bucket(handles[handle], strlen(handles[handle]));
}

/* The prefixes of every handle, in order, at p bits. */
static void
prefixes_at(unsigned p, uint32_t out[HANDLE_COUNT])
{
	for (size_t i = 0; i < HANDLE_COUNT; i++)
		out[i] = entry_prefix(bucket_of(i), p);
}

/* Bucket digests kept per entry read back. */
#define KEPT_BUCKETS 64

/* Entries read back from a closed log. */
typedef struct stored {
	qlog_entry e[64];
	uint32_t buckets[64][KEPT_BUCKETS];
	size_t count;
	size_t total; /* including those beyond e[] */
} stored;

static veil_err
keep_entry(void *arg, const qlog_entry *e)
{
	stored *s = arg;
	if (s->count < 64) {
		s->e[s->count] = *e;
		for (uint32_t i = 0; i < e->item_count && i < KEPT_BUCKETS; i++)
			s->buckets[s->count][i] = qlog_entry_bucket(e, i);
		s->e[s->count].buckets = NULL;
		s->count++;
	}
	s->total++;
	return VEIL_OK;
}

static int
read_entries(const char *log_dir, uint32_t since, uint32_t until, stored *out)
{
	qlog_store *store = NULL;
	memset(out, 0, sizeof(*out));
	if (qlog_store_open(log_dir, 1, &store) != VEIL_OK)
		return -1;
	veil_err err = qlog_store_scan(store, since, until, keep_entry, out);
	qlog_store_close(store);
	return err == VEIL_OK ? 0 : -1;
}

static int
file_exists(const char *dir, const char *kind, uint32_t day)
{
	char name[64];
	snprintf(name, sizeof(name), "%s-%u.key", kind, day);
	char *path = proc_join(dir, name);
	struct stat st;
	const int found = stat(path, &st) == 0;
	free(path);
	return found;
}

/* Byte strings that must never be in a file. */
typedef struct needle {
	char what[64];
	uint8_t bytes[128];
	size_t len;
} needle;

static size_t
add_needle(needle *list, size_t n, const char *what, const void *bytes, size_t len)
{
	snprintf(list[n].what, sizeof(list[n].what), "%s", what);
	memcpy(list[n].bytes, bytes, len);
	list[n].len = len;
	return n + 1;
}

static int
is_secret_file(const char *name)
{
	return strncmp(name, "chain-", 6) == 0 || strncmp(name, "salt-", 5) == 0;
}

/* Checks every file of dir (secret files too when with_secret) against the needles. */
static void
check_no_needles(const char *dir, int with_secret, const needle *list, size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t files = 0;
	REQUIRE(d != NULL);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || (!with_secret && is_secret_file(e->d_name)))
			continue;
		char *path = proc_join(dir, e->d_name);
		size_t len = 0;
		uint8_t *data = (uint8_t *)test_read_file(path, &len);
		files++;
		for (size_t i = 0; i < n; i++) {
			const int found = test_contains(data, len, list[i].bytes, list[i].len);
			if (found)
				printf("# %s holds %s\n", e->d_name, list[i].what);
			CHECK(!found);
		}
		free(data);
		free(path);
	}
	closedir(d);
	CHECK(files >= 2); /* data.mdb and lock.mdb at least */
}

/* ------------------------------------------------------------------ */
/* Widths */

/* qlog.h's margin, recomputed. */
static double
z2(unsigned bits)
{
	return 2.0 * log(2.0) * (bits + QLOG_MARGIN_BITS);
}

static double
least_accounts(double accounts, unsigned t)
{
	if (t == 0)
		return accounts;
	const double m = accounts / pow(2.0, t);
	return m - sqrt(z2(t) * m);
}

static double
least_handles(double universe, unsigned t, unsigned max_p)
{
	double least = universe;
	for (unsigned p = 0; p <= max_p; p++) {
		const unsigned w = t < p ? t : p;
		if (w == 0)
			continue;
		const double mu = universe / pow(2.0, p), m = universe / pow(2.0, w);
		const double a = m - sqrt(z2(w) * m * (1 + mu)), b = mu - sqrt(z2(p) * mu);
		const double f = a > b ? a : b;
		if (f < least)
			least = f;
	}
	return least;
}

#define ANY 0xff

typedef struct width_case {
	const char *name;
	uint64_t accounts, universe;
	uint32_t k_r, k_b;
	uint8_t t_r, t_b, max_p;
	veil_err want;
	uint8_t want_t_r, want_t_b; /* ANY: only the targets are checked */
	const char *why_holds[3];   /* phrases the refusal must hold */
} width_case;

static const width_case width_cases[] = {
        {"defaults", 2000000, QLOG_DEFAULT_UNIVERSE, 1000, 10000, 0, 0, 32, VEIL_OK, 10, 14, {0}},
        {"prefixes_that_alone_meet_k_b",
         2000000,
         QLOG_DEFAULT_UNIVERSE,
         1000,
         10000,
         0,
         0,
         19,
         VEIL_OK,
         10,
         19,
         {0}},
        {"one_bit_more_prefix",
         2000000,
         QLOG_DEFAULT_UNIVERSE,
         1000,
         10000,
         0,
         0,
         20,
         VEIL_OK,
         10,
         14,
         {0}},
        {"accounts_equal_k_r",
         1000,
         QLOG_DEFAULT_UNIVERSE,
         1000,
         10000,
         0,
         0,
         32,
         VEIL_OK,
         0,
         14,
         {0}},
        {"explicit_widths_kept",
         2000000,
         QLOG_DEFAULT_UNIVERSE,
         1000,
         10000,
         5,
         9,
         32,
         VEIL_OK,
         5,
         9,
         {0}},
        {"t_b_cut_to_prefix_bits",
         2000000,
         QLOG_DEFAULT_UNIVERSE,
         1000,
         10000,
         0,
         12,
         10,
         VEIL_OK,
         10,
         10,
         {0}},
        {"small_world", 100000, 1000000, 1000, 1000, 0, 0, 16, VEIL_OK, 6, ANY, {0}},
        {"t_r_too_wide",
         1000000,
         QLOG_DEFAULT_UNIVERSE,
         1000,
         10000,
         12,
         0,
         32,
         VEIL_ERR_ARGUMENT,
         0,
         0,
         {"t_r = 12", "244 accounts", "k_r = 1000"}},
        {"t_b_too_wide",
         2000000,
         QLOG_DEFAULT_UNIVERSE,
         1000,
         10000,
         0,
         16,
         32,
         VEIL_ERR_ARGUMENT,
         0,
         0,
         {"t_b = 16", "21-bit prefixes", "k_b = 10000"}},
        {"too_few_accounts",
         999,
         QLOG_DEFAULT_UNIVERSE,
         1000,
         10000,
         0,
         0,
         32,
         VEIL_ERR_ARGUMENT,
         0,
         0,
         {"999 enrolled accounts", "k_r = 1000", NULL}},
        {"no_accounts_set",
         0,
         QLOG_DEFAULT_UNIVERSE,
         1000,
         10000,
         0,
         0,
         32,
         VEIL_ERR_ARGUMENT,
         0,
         0,
         {"0 enrolled accounts", NULL, NULL}},
        {"universe_below_k_b",
         2000000,
         9999,
         1000,
         10000,
         0,
         0,
         32,
         VEIL_ERR_ARGUMENT,
         0,
         0,
         {"9999 handles", "k_b = 10000", NULL}},
        {"width_above_32",
         2000000,
         QLOG_DEFAULT_UNIVERSE,
         1000,
         10000,
         33,
         0,
         32,
         VEIL_ERR_ARGUMENT,
         0,
         0,
         {"t_r = 33", NULL, NULL}},
        {"prefix_bits_above_32",
         2000000,
         QLOG_DEFAULT_UNIVERSE,
         1000,
         10000,
         0,
         0,
         33,
         VEIL_ERR_ARGUMENT,
         0,
         0,
         {"max_prefix_bits = 33", NULL, NULL}},
};

static void
case_widths(void)
{
	for (size_t i = 0; i < TEST_COUNT(width_cases); i++) {
		const width_case *w = &width_cases[i];
		/* The fields the widths depend on: the row's, all of them. */
		const qlog_config c = {.accounts = w->accounts,
		                       .universe = w->universe,
		                       .k_r = w->k_r,
		                       .k_b = w->k_b,
		                       .t_r = w->t_r,
		                       .t_b = w->t_b,
		                       .max_prefix_bits = w->max_p};
		char why[256];
		uint8_t t_r = ANY, t_b = ANY;
		int ok = 1;
		const veil_err err = qlog_widths(&c, &t_r, &t_b, why, sizeof(why));
		ok &= err == w->want;
		if (err != VEIL_OK) {
			ok &= t_r == 0 && t_b == 0;
			for (size_t k = 0; k < 3 && w->why_holds[k] != NULL; k++)
				ok &= strstr(why, w->why_holds[k]) != NULL;
		} else {
			ok &= w->want_t_r == ANY || t_r == w->want_t_r;
			ok &= w->want_t_b == ANY || t_b == w->want_t_b;
			ok &= t_b <= w->max_p;
			/* The targets hold, and (derived) one more bit would break them. */
			ok &= least_accounts((double)w->accounts, t_r) >= w->k_r;
			ok &= least_handles((double)w->universe, t_b, w->max_p) >= w->k_b;
			if (w->t_r == 0 && t_r < 32)
				ok &= least_accounts((double)w->accounts, t_r + 1u) < w->k_r;
			if (w->t_b == 0 && t_b < w->max_p)
				ok &= least_handles((double)w->universe, t_b + 1u, w->max_p) <
				      w->k_b;
		}
		if (!ok)
			printf("# %s: %s, t_r %u, t_b %u: %s\n", w->name, veil_strerror(err), t_r,
			       t_b, why);
		CHECK(ok);
	}
}

/*
 * The targets by experiment, in a world small enough to enumerate: every
 * requester digest value of 100000 random accounts, and every bucket
 * digest value of a million handles at every prefix length, under a
 * random salt, stands for at least k of them.
 */
static void
case_widths_by_experiment(void)
{
	enum { ACCOUNTS = 100000, UNIVERSE = 1000000, K = 1000, MAX_P = 16 };
	qlog_config c;
	uint8_t t_r = 0, t_b = 0, salt[32], key[QLOG_KEY_SIZE];
	char handle[32];

	config_for_tests(&c);
	c.accounts = ACCOUNTS;
	c.universe = UNIVERSE;
	c.k_r = K;
	c.k_b = K;
	c.max_prefix_bits = MAX_P;
	REQUIRE(qlog_widths(&c, &t_r, &t_b, NULL, 0) == VEIL_OK);
	CHECK(t_r > 0 && t_b > 0);
	randombytes_buf(salt, sizeof(salt));

	uint32_t *per_value = calloc((size_t)1 << 16, sizeof(uint32_t));
	uint32_t *per_prefix = calloc((size_t)1 << MAX_P, sizeof(uint32_t));
	uint32_t *buckets = malloc(UNIVERSE * sizeof(uint32_t));
	REQUIRE(per_value != NULL && per_prefix != NULL && buckets != NULL);

	for (uint32_t i = 0; i < ACCOUNTS; i++) {
		randombytes_buf(key, sizeof(key));
		per_value[log_digest_requester(salt, key, t_r)]++;
	}
	uint32_t least = UINT32_MAX;
	for (uint32_t v = 0; v < (1u << t_r); v++)
		least = per_value[v] < least ? per_value[v] : least;
	printf("# t_r %u: at least %u of %u accounts per value\n", t_r, least, ACCOUNTS);
	CHECK(least >= K);

	for (uint32_t i = 0; i < UNIVERSE; i++) {
		const int n = snprintf(handle, sizeof(handle), "tel:+1415%07u", i);
		buckets[i] = entry_bucket(handle, (size_t)n);
	}
	uint32_t least_b = UINT32_MAX;
	for (unsigned p = 0; p <= MAX_P; p++) {
		const unsigned w = t_b < p ? t_b : p;
		memset(per_prefix, 0, ((size_t)1 << p) * sizeof(uint32_t));
		memset(per_value, 0, ((size_t)1 << w) * sizeof(uint32_t));
		for (uint32_t i = 0; i < UNIVERSE; i++)
			per_prefix[p == 0 ? 0 : buckets[i] >> (32 - p)]++;
		for (uint32_t q = 0; q < (1u << p); q++)
			if (per_prefix[q] > 0) {
				const uint32_t prefix = p == 0 ? 0 : q << (32 - p);
				per_value[log_digest_bucket(salt, p, prefix, w)] += per_prefix[q];
			}
		/* Only values some request could show count: those holding a handle. */
		for (uint32_t v = 0; v < (1u << w); v++)
			if (per_value[v] > 0 && per_value[v] < least_b)
				least_b = per_value[v];
	}
	printf("# t_b %u: at least %u of %u handles per seen value\n", t_b, least_b, UNIVERSE);
	CHECK(least_b >= K);
	free(per_value);
	free(per_prefix);
	free(buckets);
}

/* A configuration: config_for_tests() with these fields, and what qlog_open() says of it. */
typedef struct open_case {
	const char *name;
	uint64_t accounts;
	uint8_t t_r;
	uint32_t entry_retention_days, salt_retention_days;
	int allow_long_retention;
	size_t queue_capacity;
	veil_err want;
	const char *why_holds;
} open_case;

static const open_case open_cases[] = {
        {"t_r_too_wide", 1000000, 12, 30, 2, 0, 65536, VEIL_ERR_ARGUMENT,
         "244 accounts per requester digest"},
        {"too_few_accounts", 10, 0, 30, 2, 0, 65536, VEIL_ERR_ARGUMENT, "10 enrolled accounts"},
        {"retention_above_30", 2000000, 0, 31, 2, 0, 65536, VEIL_ERR_ARGUMENT,
         "allow_long_retention"},
        {"long_retention_allowed", 2000000, 0, 90, 2, 1, 65536, VEIL_OK, NULL},
        {"salts_outlive_entries", 2000000, 0, 5, 6, 0, 65536, VEIL_ERR_ARGUMENT, "salt_retention"},
        {"no_queue", 2000000, 0, 30, 2, 0, 0, VEIL_ERR_ARGUMENT, "queue_capacity"},
        {"shorter_retention", 2000000, 0, 7, 1, 0, 65536, VEIL_OK, NULL},
};

/* qlog_open refuses a broken configuration before it touches the disk. */
static void
case_open_checks_config(void)
{
	for (size_t i = 0; i < TEST_COUNT(open_cases); i++) {
		const open_case *o = &open_cases[i];
		qlog_config c;
		char why[256] = "unchanged";
		qlog *log = (qlog *)&c; /* must be reset */
		struct stat st;

		config_for_tests(&c);
		c.accounts = o->accounts;
		c.t_r = o->t_r;
		c.entry_retention_days = o->entry_retention_days;
		c.salt_retention_days = o->salt_retention_days;
		c.allow_long_retention = o->allow_long_retention;
		c.queue_capacity = o->queue_capacity;
		char *state = proc_temp_dir("qlog");
		char *log_dir = proc_join(state, QLOG_DIR);
		const veil_err err = qlog_open(state, &c, at(0, 12, 0), &log, why, sizeof(why));
		int ok = err == o->want;
		if (err != VEIL_OK)
			ok &= log == NULL && strstr(why, o->why_holds) != NULL &&
			      stat(log_dir, &st) != 0;
		else
			ok &= log != NULL && stat(log_dir, &st) == 0 && (st.st_mode & 0777) == 0700;
		if (!ok)
			printf("# %s: %s: %s\n", o->name, veil_strerror(err), why);
		CHECK(ok);
		if (err == VEIL_OK)
			qlog_close(log);
		proc_remove_tree(state);
		free(state);
		free(log_dir);
	}
}

/* ------------------------------------------------------------------ */
/* Entries */

/* What the log keeps is qlog.h's formulas over what was recorded, widths capped by p. */
static void
case_digests_as_documented(void)
{
	qlog_config c;
	fixture f;
	uint32_t pre16[HANDLE_COUNT], pre10[HANDLE_COUNT], pre0[HANDLE_COUNT];
	uint8_t salt[32];
	stored s;

	config_for_tests(&c);
	REQUIRE(fixture_open(&f, &c, at(0, 14, 5)) == 0);
	prefixes_at(16, pre16);
	prefixes_at(10, pre10);
	prefixes_at(0, pre0);
	qlog_record(f.log, at(0, 14, 5), client_keys[0], 16, pre16, 3, 0);
	qlog_record(f.log, at(0, 15, 59), client_keys[1], 10, pre10 + 3, 1, 3);
	qlog_record(f.log, at(0, 23, 1), client_keys[2], 0, pre0, 2, 7);
	/* Low bits beyond p are not the client's to choose: they are ignored. */
	const uint32_t noisy = pre16[0] | 0x1;
	qlog_record(f.log, at(0, 0, 0), client_keys[3], 16, &noisy, 1, 0);
	CHECK(qlog_flush(f.log) == VEIL_OK);
	qlog_counters counters;
	qlog_counters_get(f.log, &counters);
	CHECK(counters.recorded == 4 && counters.written == 4 && counters.dropped == 0);
	fixture_close(&f);

	REQUIRE(saltchain_read_salt(f.log_dir, base_day, salt) == VEIL_OK);
	REQUIRE(read_entries(f.log_dir, 0, UINT32_MAX, &s) == 0);
	REQUIRE(s.count == 4);
	const struct {
		size_t client;
		unsigned p, hour, items, size_class, status;
		const uint32_t *prefixes;
	} want[] = {
	        {0, 16, 14, 3, 4, 0, pre16},
	        {1, 10, 15, 1, 1, 3, pre10 + 3},
	        {2, 0, 23, 2, 2, 7, pre0},
	        {3, 16, 0, 1, 1, 0, pre16},
	};
	/* The entries of a day come in random order: each is found by its hour. */
	for (size_t i = 0; i < 4; i++) {
		const qlog_entry *e = NULL;
		size_t at_index = 0;
		for (size_t j = 0; j < s.count; j++)
			if (s.e[j].hour == want[i].hour) {
				e = &s.e[j];
				at_index = j;
			}
		REQUIRE(e != NULL);
		const unsigned width = want[i].p < 14 ? want[i].p : 14;
		CHECK(e->day == base_day && e->version == 2);
		CHECK(e->status == want[i].status);
		CHECK(e->item_count == want[i].size_class);
		CHECK(e->t_r == 10 && e->t_b == width);
		CHECK(e->requester == log_digest_requester(salt, client_keys[want[i].client], 10));
		/* Each real digest is in the list (ascending), the rest is padding. */
		const uint32_t *got = s.buckets[at_index];
		for (size_t k = 1; k < e->item_count; k++)
			CHECK(got[k - 1] <= got[k]);
		uint8_t used[KEPT_BUCKETS] = {0};
		for (size_t k = 0; k < want[i].items; k++) {
			const uint32_t d =
			        log_digest_bucket(salt, want[i].p, want[i].prefixes[k], width);
			int found = 0;
			for (size_t m = 0; m < e->item_count && !found; m++)
				if (!used[m] && got[m] == d)
					found = used[m] = 1;
			CHECK(found);
		}
	}
	sodium_memzero(salt, sizeof(salt));
	fixture_free(&f);
}

/*
 * Every byte of the log's files: no client key, no handle, no plain hash
 * of one, no exact time. The secret files are 0600 and hold exactly one
 * salt or the chain key each.
 */
static void
case_files_hold_no_secrets(void)
{
	static needle list[128];
	qlog_config c;
	fixture f;
	size_t n = 0;
	uint8_t hash[64];
	char what[64];
	struct stat st;

	config_for_tests(&c);
	REQUIRE(fixture_open(&f, &c, at(0, 9, 0)) == 0);
	for (size_t i = 0; i < CLIENT_COUNT; i++) {
		snprintf(what, sizeof(what), "client key %zu", i);
		n = add_needle(list, n, what, client_keys[i], QLOG_KEY_SIZE);
	}
	for (size_t i = 0; i < HANDLE_COUNT; i++) {
		const char *h = handles[i];
		const size_t len = strlen(h);
		snprintf(what, sizeof(what), "handle %zu", i);
		n = add_needle(list, n, what, h, len);
		/* Without its scheme too ("+14155550100"). */
		n = add_needle(list, n, what, strchr(h, ':') + 1, strlen(strchr(h, ':') + 1));
		crypto_hash_sha256(hash, (const uint8_t *)h, len);
		snprintf(what, sizeof(what), "SHA-256 of handle %zu", i);
		n = add_needle(list, n, what, hash, 32);
		crypto_hash_sha512(hash, (const uint8_t *)h, len);
		snprintf(what, sizeof(what), "SHA-512 of handle %zu", i);
		n = add_needle(list, n, what, hash, 64);
		/* The bucket's own hash, in full and its first 8 bytes. */
		crypto_hash_sha512_state sha;
		crypto_hash_sha512_init(&sha);
		crypto_hash_sha512_update(&sha, (const uint8_t *)"veil-bucket-v1", 15);
		crypto_hash_sha512_update(&sha, (const uint8_t *)h, len);
		crypto_hash_sha512_final(&sha, hash);
		snprintf(what, sizeof(what), "bucket hash of handle %zu", i);
		n = add_needle(list, n, what, hash, 8);
	}
	for (unsigned i = 0; i < 40; i++) {
		uint32_t prefixes[HANDLE_COUNT];
		const int64_t now = at(0, 9 + i % 10, 17 * i + 3);
		const unsigned p = 12 + i % 8;
		prefixes_at(p, prefixes);
		qlog_record(f.log, now, client_keys[i % CLIENT_COUNT], p, prefixes, HANDLE_COUNT,
		            (uint16_t)(i % 3));
		uint8_t be[8], le[8];
		for (int k = 0; k < 8; k++) {
			be[k] = (uint8_t)((uint64_t)now >> (56 - 8 * k));
			le[k] = (uint8_t)((uint64_t)now >> (8 * k));
		}
		snprintf(what, sizeof(what), "time %lld (big-endian)", (long long)now);
		n = add_needle(list, n, what, be, 8);
		snprintf(what, sizeof(what), "time %lld (little-endian)", (long long)now);
		n = add_needle(list, n, what, le, 8);
	}
	CHECK(qlog_flush(f.log) == VEIL_OK);
	fixture_close(&f);

	check_no_needles(f.log_dir, 1, list, n);
	REQUIRE(stat(f.log_dir, &st) == 0);
	CHECK((st.st_mode & 0777) == 0700);

	/* The secret files: 0600, each one line of one key. */
	const struct {
		const char *prefix, *kind;
	} secrets[] = {
	        {"salt", SALTCHAIN_SALT_KIND},
	        {"chain", SALTCHAIN_CHAIN_KIND},
	};
	for (size_t i = 0; i < 2; i++) {
		char name[64];
		uint8_t key[32];
		snprintf(name, sizeof(name), "%s-%u.key", secrets[i].prefix, base_day);
		char *path = proc_join(f.log_dir, name);
		CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
		CHECK(st.st_size == (off_t)(strlen(secrets[i].kind) + 1 + 64 + 1));
		CHECK(keyfile_read(path, secrets[i].kind, key, sizeof(key)) == VEIL_OK);
		free(path);
	}
	DIR *d = opendir(f.log_dir);
	struct dirent *e;
	size_t secret_files = 0;
	REQUIRE(d != NULL);
	while ((e = readdir(d)) != NULL)
		secret_files += (size_t)is_secret_file(e->d_name);
	closedir(d);
	CHECK(secret_files == 2); /* today's salt and chain key: nothing else */
	fixture_free(&f);
}

/* Entries leave after 30 days, salts after 2: files, memory, and the database. */
static void
case_retention(void)
{
	qlog_config c;
	fixture f;
	uint32_t prefixes[HANDLE_COUNT];
	stored s;

	config_for_tests(&c);
	REQUIRE(fixture_open(&f, &c, at(0, 8, 0)) == 0);
	prefixes_at(16, prefixes);
	qlog_record(f.log, at(0, 8, 1), client_keys[0], 16, prefixes, 2, 0);
	qlog_record(f.log, at(0, 9, 1), client_keys[1], 16, prefixes, 2, 0);
	CHECK(qlog_flush(f.log) == VEIL_OK);
	CHECK(qlog_salt_held(f.log, base_day) == 1);

	CHECK(qlog_sweep(f.log, at(1, 0, 0)) == VEIL_OK);
	CHECK(qlog_salt_held(f.log, base_day) == 1);
	CHECK(file_exists(f.log_dir, "salt", base_day));

	CHECK(qlog_sweep(f.log, at(2, 0, 0)) == VEIL_OK);
	CHECK(qlog_salt_held(f.log, base_day) == 0);
	CHECK(!file_exists(f.log_dir, "salt", base_day));
	CHECK(qlog_salt_held(f.log, base_day + 1) && qlog_salt_held(f.log, base_day + 2));
	/* Nothing can digest that day any more: a late entry for it is dropped. */
	qlog_counters before, after;
	qlog_counters_get(f.log, &before);
	qlog_record(f.log, at(0, 23, 0), client_keys[0], 16, prefixes, 1, 0);
	qlog_counters_get(f.log, &after);
	CHECK(after.dropped == before.dropped + 1 && after.recorded == before.recorded);

	CHECK(qlog_sweep(f.log, at(29, 23, 59)) == VEIL_OK);
	fixture_close(&f);
	CHECK(read_entries(f.log_dir, base_day, base_day, &s) == 0 && s.total == 2);

	/* Reopening on day 29 sweeps nothing more; day 30 deletes the entries. */
	REQUIRE(fixture_reopen(&f, &c, at(29, 23, 59)) == 0);
	CHECK(qlog_sweep(f.log, at(30, 0, 0)) == VEIL_OK);
	fixture_close(&f);
	CHECK(read_entries(f.log_dir, 0, UINT32_MAX, &s) == 0 && s.total == 0);
	CHECK(!file_exists(f.log_dir, "salt", base_day + 28));
	CHECK(file_exists(f.log_dir, "salt", base_day + 29));
	CHECK(file_exists(f.log_dir, "salt", base_day + 30));
	fixture_free(&f);
}

static int
any_file_holds(const char *dir, const uint8_t *bytes, size_t len)
{
	char hex[2 * 64 + 1];
	needle list[2];
	sodium_bin2hex(hex, sizeof(hex), bytes, len);
	size_t n = add_needle(list, 0, "the bytes", bytes, len);
	n = add_needle(list, n, "their hex", hex, 2 * len);
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;
	if (d == NULL)
		return 1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char *path = proc_join(dir, e->d_name);
		size_t data_len = 0;
		uint8_t *data = (uint8_t *)test_read_file(path, &data_len);
		for (size_t i = 0; i < n; i++)
			found |= test_contains(data, data_len, list[i].bytes, list[i].len);
		free(data);
		free(path);
	}
	closedir(d);
	return found;
}

/*
 * The chain moves one way: after a day ends, no file holds its chain key
 * (raw or hex), and the salts follow from the chain keys by qlog.h's KDF.
 * The next key is not the bare KDF of the old one: the step mixes in
 * fresh randomness (saltchain.h).
 */
static void
case_chain_forward_only(void)
{
	qlog_config c;
	fixture f;
	uint8_t old_chain[32], next[32], salt[32], stored_salt[32];
	uint32_t prefixes[HANDLE_COUNT];
	char name[64];

	config_for_tests(&c);
	REQUIRE(fixture_open(&f, &c, at(0, 10, 0)) == 0);
	snprintf(name, sizeof(name), "chain-%u.key", base_day);
	char *old_path = proc_join(f.log_dir, name);
	REQUIRE(keyfile_read(old_path, SALTCHAIN_CHAIN_KIND, old_chain, 32) == VEIL_OK);
	REQUIRE(saltchain_read_salt(f.log_dir, base_day, stored_salt) == VEIL_OK);
	crypto_kdf_derive_from_key(salt, 32, 2, "veil-log", old_chain);
	CHECK_BYTES(stored_salt, salt, 32);

	/* The first entry of the next day moves the chain. */
	prefixes_at(16, prefixes);
	qlog_record(f.log, at(1, 0, 30), client_keys[0], 16, prefixes, 1, 0);
	CHECK(qlog_flush(f.log) == VEIL_OK);
	CHECK(access(old_path, F_OK) != 0);
	uint8_t unmixed[32];
	crypto_kdf_derive_from_key(unmixed, 32, 1, "veil-log", old_chain);
	snprintf(name, sizeof(name), "chain-%u.key", base_day + 1);
	char *new_path = proc_join(f.log_dir, name);
	REQUIRE(keyfile_read(new_path, SALTCHAIN_CHAIN_KIND, next, 32) == VEIL_OK);
	CHECK(memcmp(next, unmixed, 32) != 0);
	CHECK(memcmp(next, old_chain, 32) != 0);
	crypto_kdf_derive_from_key(salt, 32, 2, "veil-log", next);
	REQUIRE(saltchain_read_salt(f.log_dir, base_day + 1, stored_salt) == VEIL_OK);
	CHECK_BYTES(stored_salt, salt, 32);
	CHECK(!any_file_holds(f.log_dir, old_chain, 32));

	/* Reopened, the log carries on from the stored key, never from an older one. */
	fixture_close(&f);
	REQUIRE(fixture_reopen(&f, &c, at(3, 1, 0)) == 0);
	CHECK(qlog_flush(f.log) == VEIL_OK);
	CHECK(!any_file_holds(f.log_dir, old_chain, 32));
	CHECK(!any_file_holds(f.log_dir, next, 32));
	CHECK(access(new_path, F_OK) != 0);
	CHECK(!qlog_salt_held(f.log, base_day + 1) && qlog_salt_held(f.log, base_day + 2) &&
	      qlog_salt_held(f.log, base_day + 3));
	sodium_memzero(old_chain, 32);
	sodium_memzero(next, 32);
	sodium_memzero(unmixed, 32);
	free(old_path);
	free(new_path);
	fixture_free(&f);
}

/* Copies the files of the log under state into a new state directory (returned, malloc'd). */
static char *
copy_log(const char *state)
{
	char *from = proc_join(state, QLOG_DIR);
	char *copy = proc_temp_dir("qlog-copy");
	char *to = proc_join(copy, QLOG_DIR);
	DIR *d = opendir(from);
	struct dirent *e;

	if (d == NULL || mkdir(to, 0700) != 0)
		abort();
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char *src = proc_join(from, e->d_name), *dst = proc_join(to, e->d_name);
		size_t len = 0;
		char *data = test_read_file(src, &len);
		FILE *out = fopen(dst, "wb");
		if (data == NULL || out == NULL || chmod(dst, 0600) != 0 ||
		    fwrite(data, 1, len, out) != len || fclose(out) != 0)
			abort();
		sodium_memzero(data, len);
		free(data);
		free(src);
		free(dst);
	}
	closedir(d);
	free(from);
	free(to);
	return copy;
}

/*
 * Post-compromise security: two copies of one log directory, taken on
 * day 0, each go on to day 1, one through qlog_purge() (veil-admin log
 * purge) and one through qlog_open() (veild). They agree on day 0's salt,
 * which existed when they were copied, and disagree on day 1's: the copy
 * did not give the next day's salt. Each day-1 salt is still the KDF of
 * its own chain key, and the day-0 chain key is erased from both.
 */
static void
case_chain_copies_diverge(void)
{
	qlog_config c;
	fixture f;
	uint32_t prefixes[HANDLE_COUNT];
	uint8_t day0[2][32], day1[2][32], chain[2][32], expected[32], original[32];
	char *copies[2];

	config_for_tests(&c);
	prefixes_at(16, prefixes);
	REQUIRE(fixture_open_recorded(&f, &c, 6, prefixes) == 0);
	fixture_close(&f);
	REQUIRE(saltchain_read_salt(f.log_dir, base_day, original) == VEIL_OK);
	copies[0] = copy_log(f.state);
	copies[1] = copy_log(f.state);

	char why[256];
	qlog *log = NULL;
	CHECK(qlog_purge(copies[0], at(1, 0, 10), NULL, why, sizeof(why)) == VEIL_OK);
	CHECK(qlog_open(copies[1], &c, at(1, 0, 10), &log, why, sizeof(why)) == VEIL_OK);
	qlog_close(log);
	for (int i = 0; i < 2; i++) {
		char *dir = proc_join(copies[i], QLOG_DIR);
		char name[64];
		snprintf(name, sizeof(name), "chain-%u.key", base_day + 1);
		char *chain_path = proc_join(dir, name);
		CHECK(saltchain_read_salt(dir, base_day, day0[i]) == VEIL_OK);
		CHECK(saltchain_read_salt(dir, base_day + 1, day1[i]) == VEIL_OK);
		CHECK(keyfile_read(chain_path, SALTCHAIN_CHAIN_KIND, chain[i], 32) == VEIL_OK);
		crypto_kdf_derive_from_key(expected, 32, 2, "veil-log", chain[i]);
		CHECK_BYTES(day1[i], expected, 32);
		CHECK(!file_exists(dir, "chain", base_day));
		free(chain_path);
		free(dir);
	}
	CHECK_BYTES(day0[0], original, 32);
	CHECK_BYTES(day0[1], original, 32);
	CHECK(memcmp(day1[0], day1[1], 32) != 0);
	CHECK(memcmp(chain[0], chain[1], 32) != 0);
	for (int i = 0; i < 2; i++) {
		proc_remove_tree(copies[i]);
		free(copies[i]);
	}
	sodium_memzero(day0, sizeof(day0));
	sodium_memzero(day1, sizeof(day1));
	sodium_memzero(chain, sizeof(chain));
	sodium_memzero(expected, sizeof(expected));
	sodium_memzero(original, sizeof(original));
	fixture_free(&f);
}

/*
 * No step reuses randomness: two chains in the same state (one a
 * saltchain_copy() of the other) advanced over the same days agree on
 * the salts they already held and on none of the days stepped to.
 */
static void
case_chain_steps_fresh(void)
{
	qlog_config c;
	fixture f;
	saltchain *a = NULL, *b = NULL;
	const uint32_t retention = 4;

	config_for_tests(&c);
	REQUIRE(fixture_open(&f, &c, at(0, 6, 0)) == 0);
	fixture_close(&f);
	REQUIRE(saltchain_new(retention, &a) == VEIL_OK);
	REQUIRE(saltchain_new(retention, &b) == VEIL_OK);
	REQUIRE(saltchain_load(a, f.log_dir, base_day, 0) == VEIL_OK);
	REQUIRE(saltchain_has_key(a) && saltchain_day(a) == base_day);
	saltchain_copy(b, a);
	saltchain_advance(a, base_day + 3);
	saltchain_advance(b, base_day + 3);
	CHECK(saltchain_day(a) == base_day + 3 && saltchain_day(b) == base_day + 3);
	const uint8_t *sa = saltchain_salt(a, base_day), *sb = saltchain_salt(b, base_day);
	CHECK(sa != NULL && sb != NULL);
	if (sa != NULL && sb != NULL)
		CHECK_BYTES(sa, sb, SALTCHAIN_KEY_SIZE);
	for (uint32_t d = base_day + 1; d <= base_day + 3; d++) {
		sa = saltchain_salt(a, d);
		sb = saltchain_salt(b, d);
		CHECK(sa != NULL && sb != NULL);
		if (sa != NULL && sb != NULL)
			CHECK(memcmp(sa, sb, SALTCHAIN_KEY_SIZE) != 0);
	}
	saltchain_free(a);
	saltchain_free(b);
	fixture_free(&f);
}

/* Ten records offered to a log whose writer is paused. */
typedef struct burst {
	qlog *log;
	const uint32_t *prefixes;
	atomic_int done;
} burst;

static void *
record_burst(void *arg)
{
	burst *b = arg;
	for (unsigned i = 0; i < 10; i++)
		qlog_record(b->log, at(0, 12, i), client_keys[i % CLIENT_COUNT], 16, b->prefixes,
		            HANDLE_COUNT, 0);
	atomic_store(&b->done, 1);
	return NULL;
}

static int
burst_done(void *arg)
{
	return atomic_load(&((burst *)arg)->done);
}

/*
 * A full queue drops and counts, at once; the count reaches the log's
 * meta. "At once" is that the records end while the writer is still
 * paused: a record that waited for room would wait for ever.
 */
static void
case_drops_when_full(void)
{
	qlog_config c;
	fixture f;
	uint32_t prefixes[HANDLE_COUNT];
	qlog_counters counters;
	uint64_t dropped = 0;
	pthread_t thread;

	config_for_tests(&c);
	c.queue_capacity = 4;
	REQUIRE(fixture_open(&f, &c, at(0, 12, 0)) == 0);
	prefixes_at(16, prefixes);
	burst b = {f.log, prefixes, 0};
	qlog_pause_writer(f.log, 1);
	REQUIRE(pthread_create(&thread, NULL, record_burst, &b) == 0);
	CHECK(test_wait_until(burst_done, &b));
	qlog_counters_get(f.log, &counters);
	CHECK(counters.recorded == 4 && counters.dropped == 6 && counters.written == 0);
	qlog_pause_writer(f.log, 0);
	pthread_join(thread, NULL);
	CHECK(qlog_flush(f.log) == VEIL_OK);
	qlog_counters_get(f.log, &counters);
	CHECK(counters.written == 4);
	fixture_close(&f);

	qlog_store *store = NULL;
	REQUIRE(qlog_store_open(f.log_dir, 1, &store) == VEIL_OK);
	CHECK(qlog_store_read_dropped(store, &dropped) == VEIL_OK && dropped == 6);
	qlog_store_close(store);
	fixture_free(&f);
}

typedef struct drop_case {
	const char *name;
	int64_t day_offset; /* from base_day; the log is at day 1 */
	unsigned prefix_bits;
	size_t items;
} drop_case;

static const drop_case drop_cases[] = {
        {"before_1970", -100000, 16, 1},
        {"prefix_bits_above_32", 1, 33, 1},
        {"too_many_items", 1, 16, QLOG_MAX_ITEMS + 1},
        {"clock_far_ahead", 1 + 3661, 16, 1},
        {"salt_erased", -1, 16, 1},
};

/* Requests the log cannot keep are counted as drops, and change nothing else. */
static void
case_unusable_requests_dropped(void)
{
	static uint32_t many[QLOG_MAX_ITEMS + 1];
	qlog_config c;
	fixture f;
	qlog_counters before, after;

	config_for_tests(&c);
	c.salt_retention_days = 1;
	REQUIRE(fixture_open(&f, &c, at(1, 12, 0)) == 0);
	for (size_t i = 0; i < TEST_COUNT(drop_cases); i++) {
		const drop_case *d = &drop_cases[i];
		qlog_counters_get(f.log, &before);
		const int64_t now = ((int64_t)base_day + d->day_offset) * DAY + 3600;
		qlog_record(f.log, now, client_keys[0], d->prefix_bits, many, d->items, 0);
		qlog_counters_get(f.log, &after);
		const int ok =
		        after.dropped == before.dropped + 1 && after.recorded == before.recorded;
		if (!ok)
			printf("# %s not dropped\n", d->name);
		CHECK(ok);
	}
	/* A wild clock moved nothing: the writer's next round keeps today's salt. */
	qlog_record(f.log, at(1, 13, 0), client_keys[0], 16, many, 1, 0);
	CHECK(qlog_flush(f.log) == VEIL_OK);
	qlog_counters_get(f.log, &after);
	CHECK(after.written == 1);
	CHECK(qlog_salt_held(f.log, base_day + 1) && !qlog_salt_held(f.log, base_day + 3662));
	fixture_free(&f);
}

/* Reopened the same day: the same salt, and the entries of both runs. */
static void
case_reopen_same_day(void)
{
	qlog_config c;
	fixture f;
	uint32_t prefixes[HANDLE_COUNT];
	uint8_t first[32], second[32];
	stored s;

	config_for_tests(&c);
	prefixes_at(16, prefixes);
	REQUIRE(fixture_open_recorded(&f, &c, 6, prefixes) == 0);
	fixture_close(&f);
	REQUIRE(saltchain_read_salt(f.log_dir, base_day, first) == VEIL_OK);
	REQUIRE(fixture_reopen(&f, &c, at(0, 7, 0)) == 0);
	qlog_record(f.log, at(0, 7, 1), client_keys[0], 16, prefixes, 1, 0);
	fixture_close(&f);
	REQUIRE(saltchain_read_salt(f.log_dir, base_day, second) == VEIL_OK);
	CHECK_BYTES(second, first, 32);
	REQUIRE(read_entries(f.log_dir, 0, UINT32_MAX, &s) == 0);
	REQUIRE(s.count == 2);
	CHECK((s.e[0].hour == 6 && s.e[1].hour == 7) || (s.e[0].hour == 7 && s.e[1].hour == 6));
	CHECK(s.e[0].requester == s.e[1].requester && s.buckets[0][0] == s.buckets[1][0]);
	sodium_memzero(first, 32);
	sodium_memzero(second, 32);
	fixture_free(&f);
}

static off_t
file_size(const char *dir, const char *name)
{
	struct stat st;
	char *path = proc_join(dir, name);
	const int rc = stat(path, &st);
	free(path);
	return rc == 0 ? st.st_size : -1;
}

/*
 * A steady load for longer than the retention, swept daily: LMDB reuses
 * the pages of deleted entries, so data.mdb stops growing. Entry keys are
 * random, so the tree's fill varies from run to run by some 10%; without
 * reuse the file would grow with every day written, by 16/20 = 80% from
 * day 2R to the last, so a bound of 25% tells the two apart on any run.
 */
static void
case_file_size_bounded(void)
{
	enum { RETENTION = 10, DAYS = 36, PER_DAY = 300 };
	qlog_config c;
	fixture f;
	uint32_t prefixes[16];
	off_t steady = 0, last = 0;
	stored s;

	config_for_tests(&c);
	c.entry_retention_days = RETENTION;
	for (size_t i = 0; i < 16; i++)
		prefixes[i] = (uint32_t)(i * 0x10000u * 4099u);
	REQUIRE(fixture_open(&f, &c, at(0, 0, 0)) == 0);
	for (uint32_t day = 0; day < DAYS; day++) {
		for (unsigned i = 0; i < PER_DAY; i++)
			qlog_record(f.log, at(day, i % 24, i), client_keys[i % CLIENT_COUNT], 16,
			            prefixes, 16, 0);
		CHECK(qlog_flush(f.log) == VEIL_OK);
		CHECK(qlog_sweep(f.log, at(day, 23, 59)) == VEIL_OK);
		if (day == 2 * RETENTION)
			steady = file_size(f.log_dir, "data.mdb");
	}
	last = file_size(f.log_dir, "data.mdb");
	qlog_counters counters;
	qlog_counters_get(f.log, &counters);
	CHECK(counters.written == (uint64_t)DAYS * PER_DAY && counters.dropped == 0);
	fixture_close(&f);
	printf("# data.mdb: %lld bytes on day %d, %lld on day %d\n", (long long)steady,
	       2 * RETENTION, (long long)last, DAYS);
	CHECK(steady > 0 && last <= steady + steady / 4);
	CHECK(read_entries(f.log_dir, 0, UINT32_MAX, &s) == 0);
	CHECK(s.total == (size_t)RETENTION * PER_DAY);
	CHECK(s.count > 0 && s.e[0].day == base_day + DAYS - RETENTION);
	fixture_free(&f);
}

/* qlog_purge: the sweep with the log's own configuration, and nothing where no log is. */
static void
case_purge(void)
{
	qlog_config c;
	fixture f;
	uint32_t prefixes[HANDLE_COUNT];
	qlog_sweep_result r;
	char why[256];
	stored s;

	config_retaining(&c, 3, 1);
	prefixes_at(16, prefixes);
	REQUIRE(fixture_open_recorded(&f, &c, 6, prefixes) == 0);
	fixture_close(&f);

	CHECK(qlog_purge(f.state, at(2, 23, 0), &r, why, sizeof(why)) == VEIL_OK);
	CHECK(r.entries_deleted == 0 && r.salts_erased == 1 && r.day == base_day + 2);
	CHECK(read_entries(f.log_dir, 0, UINT32_MAX, &s) == 0 && s.total == 1);
	CHECK(qlog_purge(f.state, at(3, 0, 0), &r, why, sizeof(why)) == VEIL_OK);
	CHECK(r.entries_deleted == 1 && r.day == base_day + 3);
	CHECK(read_entries(f.log_dir, 0, UINT32_MAX, &s) == 0 && s.total == 0);
	CHECK(file_exists(f.log_dir, "chain", base_day + 3));
	CHECK(!file_exists(f.log_dir, "chain", base_day + 2));

	const char *empty = test_case_dir();
	CHECK(qlog_purge(empty, at(3, 0, 0), &r, why, sizeof(why)) == VEIL_ERR_NOT_FOUND);
	CHECK(strstr(why, "no query log") != NULL);
	fixture_free(&f);
}

/*
 * veild's log and a `log purge` cross one midnight: the purge steps the
 * chain first (as a cron job at 00:00 would), then veild records its
 * first entry of the day. Both must end with the one salt the files
 * hold, or the day's entries would be digested under a salt nobody has.
 */
static void
case_purge_and_log_agree_on_a_new_day(void)
{
	qlog_config c;
	fixture f;
	uint32_t prefixes[HANDLE_COUNT];
	qlog_sweep_result r;
	char why[256];
	uint8_t salt[32];
	stored s;

	config_for_tests(&c);
	prefixes_at(16, prefixes);
	REQUIRE(fixture_open_recorded(&f, &c, 23, prefixes) == 0);
	CHECK(qlog_purge(f.state, at(1, 0, 0), &r, why, sizeof(why)) == VEIL_OK);
	CHECK(r.day == base_day + 1);
	qlog_record(f.log, at(1, 0, 5), client_keys[1], 16, prefixes, 1, 0);
	CHECK(qlog_flush(f.log) == VEIL_OK);
	fixture_close(&f);

	REQUIRE(saltchain_read_salt(f.log_dir, base_day + 1, salt) == VEIL_OK);
	REQUIRE(read_entries(f.log_dir, base_day + 1, base_day + 1, &s) == 0);
	REQUIRE(s.count == 1);
	CHECK(s.e[0].requester == log_digest_requester(salt, client_keys[1], s.e[0].t_r));
	CHECK(s.buckets[0][0] == log_digest_bucket(salt, 16, prefixes[0], s.e[0].t_b));
	sodium_memzero(salt, sizeof(salt));
	fixture_free(&f);
}

typedef struct recorder {
	qlog *log;
	size_t index;
} recorder;

enum { RECORDERS = 4, RECORDS_EACH = 3000 };

static void *
record_many(void *arg)
{
	const recorder *r = arg;
	uint32_t prefixes[HANDLE_COUNT];
	prefixes_at(18, prefixes);
	for (unsigned i = 0; i < RECORDS_EACH; i++) {
		/* Halfway through, the day ends: the chain moves under the other threads. */
		const int64_t now =
		        i < RECORDS_EACH / 2 ? at(0, 23, 59 * 60 + i % 60) : at(1, 0, i % 60);
		qlog_record(r->log, now, client_keys[r->index], 18, prefixes, HANDLE_COUNT, 0);
	}
	return NULL;
}

/* Threads record at once, across midnight: every entry is written, under its day's salt. */
static void
case_concurrent_recorders(void)
{
	qlog_config c;
	fixture f;
	pthread_t threads[RECORDERS];
	recorder args[RECORDERS];
	qlog_counters counters;
	stored s;

	config_for_tests(&c);
	c.queue_capacity = RECORDERS * RECORDS_EACH; /* a slow disk must not drop day 1 */
	REQUIRE(fixture_open(&f, &c, at(0, 23, 0)) == 0);
	for (size_t i = 0; i < RECORDERS; i++) {
		args[i].log = f.log;
		args[i].index = i;
		REQUIRE(pthread_create(&threads[i], NULL, record_many, &args[i]) == 0);
	}
	for (size_t i = 0; i < RECORDERS; i++)
		pthread_join(threads[i], NULL);
	CHECK(qlog_flush(f.log) == VEIL_OK);
	qlog_counters_get(f.log, &counters);
	CHECK(counters.recorded == RECORDERS * RECORDS_EACH && counters.dropped == 0);
	CHECK(counters.written == counters.recorded);
	CHECK(qlog_salt_held(f.log, base_day) && qlog_salt_held(f.log, base_day + 1));
	fixture_close(&f);
	size_t total = 0;
	REQUIRE(read_entries(f.log_dir, base_day, base_day, &s) == 0);
	total += s.total;
	REQUIRE(read_entries(f.log_dir, base_day + 1, base_day + 1, &s) == 0);
	total += s.total;
	CHECK(total == counters.written);
	CHECK(!file_exists(f.log_dir, "chain", base_day) &&
	      file_exists(f.log_dir, "chain", base_day + 1));
	fixture_free(&f);
}

/* The writer sweeps by itself once the log's hour changes: no qlog_sweep() needed. */
static void
case_writer_sweeps(void)
{
	qlog_config c;
	fixture f;
	uint32_t prefixes[HANDLE_COUNT];
	stored s;

	config_retaining(&c, 2, 1);
	prefixes_at(16, prefixes);
	REQUIRE(fixture_open_recorded(&f, &c, 5, prefixes) == 0);
	CHECK(qlog_flush(f.log) == VEIL_OK);
	qlog_record(f.log, at(2, 7, 0), client_keys[0], 16, prefixes, 1, 0);
	CHECK(qlog_flush(f.log) == VEIL_OK);
	CHECK(!file_exists(f.log_dir, "salt", base_day) && !qlog_salt_held(f.log, base_day));
	fixture_close(&f);
	CHECK(read_entries(f.log_dir, 0, UINT32_MAX, &s) == 0 && s.total == 1);
	CHECK(s.count == 1 && s.e[0].day == base_day + 2);
	fixture_free(&f);
}

/* ------------------------------------------------------------------ */
/* What the metadata says */

typedef struct class_case {
	uint32_t count, size_class;
} class_case;

static const class_case class_cases[] = {
        {0, 0},         {1, 1},         {2, 2},         {3, 4},         {4, 4},       {5, 8},
        {255, 256},     {256, 256},     {257, 512},     {4095, 4096},   {4096, 4096}, {4097, 8192},
        {32768, 32768}, {32769, 65535}, {65535, 65535}, {65536, 65535},
};

/* Counts are stored as the least power of two at or above them, capped by the u16 field. */
static void
case_size_classes(void)
{
	for (size_t i = 0; i < TEST_COUNT(class_cases); i++) {
		const uint32_t got = qlog_size_class(class_cases[i].count);
		if (got != class_cases[i].size_class)
			printf("# %u items: class %u\n", class_cases[i].count, got);
		CHECK(got == class_cases[i].size_class);
	}
}

enum { ORDERED = 64 };

/*
 * Entries recorded in a known order (their status numbers them) are not
 * stored in it: the chance that 64 entries under random ids come back in
 * their arrival order is 1 / 64! (about 10^-89).
 */
static void
case_arrival_order_hidden(void)
{
	qlog_config c;
	fixture f;
	uint32_t prefixes[HANDLE_COUNT];
	stored s;
	uint8_t seen[ORDERED] = {0};

	config_for_tests(&c);
	prefixes_at(16, prefixes);
	REQUIRE(fixture_open(&f, &c, at(0, 8, 0)) == 0);
	for (uint16_t i = 0; i < ORDERED; i++)
		qlog_record(f.log, at(0, 8, i), client_keys[0], 16, prefixes, 1, i);
	CHECK(qlog_flush(f.log) == VEIL_OK);
	fixture_close(&f);
	REQUIRE(read_entries(f.log_dir, 0, UINT32_MAX, &s) == 0);
	REQUIRE(s.count == ORDERED);
	size_t in_order = 0, small_ids = 0;
	for (size_t i = 0; i < ORDERED; i++) {
		REQUIRE(s.e[i].status < ORDERED);
		seen[s.e[i].status]++;
		in_order += s.e[i].status == i;
		small_ids += s.e[i].id < ORDERED; /* a sequence number would be */
	}
	for (size_t i = 0; i < ORDERED; i++)
		CHECK(seen[i] == 1);
	printf("# %zu of %d entries at their arrival rank\n", in_order, ORDERED);
	CHECK(in_order < ORDERED);
	CHECK(small_ids < ORDERED);
	fixture_free(&f);
}

enum { PADDED_P = 10, PADDED_ITEMS = 33, PADDED_CLASS = 64 };

/*
 * Padding: at p = t = 10 about 37% of the 2^10 digest values are no
 * prefix's, so 31 uniformly random values would all be some prefix's
 * with chance 0.63^31 (about 10^-6): every stored digest is a prefix's,
 * the real ones are all there, the list is ascending and as long as the
 * class, and the same request padded twice differs.
 */
static void
case_padding_looks_real(void)
{
	static uint32_t of_prefix[1u << PADDED_P];
	qlog_config c;
	fixture f;
	uint32_t prefixes[PADDED_ITEMS];
	uint8_t salt[32];
	stored s;

	config_for_tests(&c);
	for (uint32_t i = 0; i < PADDED_ITEMS; i++)
		prefixes[i] = i * 29u << (32 - PADDED_P);
	REQUIRE(fixture_open(&f, &c, at(0, 9, 0)) == 0);
	for (unsigned run = 0; run < 2; run++)
		qlog_record(f.log, at(0, 9, run), client_keys[1], PADDED_P, prefixes, PADDED_ITEMS,
		            0);
	CHECK(qlog_flush(f.log) == VEIL_OK);
	fixture_close(&f);
	REQUIRE(saltchain_read_salt(f.log_dir, base_day, salt) == VEIL_OK);
	REQUIRE(read_entries(f.log_dir, 0, UINT32_MAX, &s) == 0);
	REQUIRE(s.count == 2);
	for (uint32_t v = 0; v < (1u << PADDED_P); v++)
		of_prefix[v] = log_digest_bucket(salt, PADDED_P, v << (32 - PADDED_P), PADDED_P);
	for (size_t i = 0; i < 2; i++) {
		const uint32_t *got = s.buckets[i];
		REQUIRE(s.e[i].item_count == PADDED_CLASS && s.e[i].t_b == PADDED_P);
		size_t not_prefix = 0;
		for (size_t k = 0; k < PADDED_CLASS; k++) {
			int found = 0;
			for (uint32_t v = 0; v < (1u << PADDED_P) && !found; v++)
				found = of_prefix[v] == got[k];
			not_prefix += !found;
			CHECK(k == 0 || got[k - 1] <= got[k]);
		}
		CHECK(not_prefix == 0);
		uint8_t used[PADDED_CLASS] = {0};
		for (size_t k = 0; k < PADDED_ITEMS; k++) {
			const uint32_t d = of_prefix[prefixes[k] >> (32 - PADDED_P)];
			int found = 0;
			for (size_t m = 0; m < PADDED_CLASS && !found; m++)
				if (!used[m] && got[m] == d)
					found = used[m] = 1;
			CHECK(found);
		}
	}
	CHECK(memcmp(s.buckets[0], s.buckets[1], PADDED_CLASS * sizeof(uint32_t)) != 0);
	sodium_memzero(salt, sizeof(salt));
	sodium_memzero(of_prefix, sizeof(of_prefix));
	fixture_free(&f);
}

/* Entries of the older layout (qlog_store.h): the key holds seq, the value version 1. */
static const log_v1_entry old_entries[] = {
        {0, 4, 0, 613, {900, 5, 77}},
        {1, 5, 3, 12, {16000, 16000, 1}},
};

/* The meta "format" a log holds, into out; -1 when it cannot be read. */
static int
read_format(const char *log_dir, char out[32])
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi meta;
	MDB_val k = val_of("format", 6), v;
	int rc = mdb_env_create(&env);
	if (rc == 0 && (rc = mdb_env_set_maxdbs(env, 4)) == 0 &&
	    (rc = mdb_env_open(env, log_dir, MDB_RDONLY, 0600)) == 0 &&
	    (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) == 0 &&
	    (rc = mdb_dbi_open(txn, "meta", 0, &meta)) == 0 &&
	    (rc = mdb_get(txn, meta, &k, &v)) == 0)
		snprintf(out, 32, "%.*s", v.mv_size < 31 ? (int)v.mv_size : 31,
		         (const char *)v.mv_data);
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc == 0 ? 0 : -1;
}

/* Does a read-back entry hold old_entries[i] as it was stored? */
static int
old_entry_intact(const stored *s, size_t at_index, const log_v1_entry *o)
{
	const qlog_entry *e = &s->e[at_index];
	return e->day == base_day && e->id == o->seq && e->version == 1 && e->hour == o->hour &&
	       e->status == o->status && e->t_r == 10 && e->t_b == 14 && e->item_count == 3 &&
	       e->requester == o->requester && s->buckets[at_index][0] == o->buckets[0] &&
	       s->buckets[at_index][1] == o->buckets[1] && s->buckets[at_index][2] == o->buckets[2];
}

/*
 * A log of the older layout (sequence numbers, exact counts, the
 * client's order) is read as it is; opened for writing it takes new
 * entries and is marked veil-log-v2, its old entries unchanged.
 */
static void
case_old_layout_read(void)
{
	qlog_config c;
	uint32_t prefixes[HANDLE_COUNT];
	char format[32] = "";
	stored s;
	fixture f;

	memset(&f, 0, sizeof(f));
	f.state = proc_temp_dir("qlog");
	f.log_dir = proc_join(f.state, QLOG_DIR);
	REQUIRE(log_write_v1(f.log_dir, base_day, old_entries, TEST_COUNT(old_entries)) == 0);
	REQUIRE(read_entries(f.log_dir, 0, UINT32_MAX, &s) == 0);
	REQUIRE(s.count == 2);
	CHECK(old_entry_intact(&s, 0, &old_entries[0]) && old_entry_intact(&s, 1, &old_entries[1]));

	config_for_tests(&c);
	prefixes_at(16, prefixes);
	REQUIRE(fixture_reopen(&f, &c, at(0, 10, 0)) == 0);
	qlog_record(f.log, at(0, 10, 1), client_keys[0], 16, prefixes, 3, 0);
	fixture_close(&f);
	CHECK(read_format(f.log_dir, format) == 0 && strcmp(format, "veil-log-v2") == 0);
	REQUIRE(read_entries(f.log_dir, 0, UINT32_MAX, &s) == 0);
	REQUIRE(s.count == 3);
	size_t old = 0, fresh = 0;
	for (size_t i = 0; i < s.count; i++) {
		if (s.e[i].version == 1)
			old += old_entry_intact(&s, i, &old_entries[s.e[i].id == 0 ? 0 : 1]);
		else
			fresh += s.e[i].version == 2 && s.e[i].item_count == 4 && s.e[i].hour == 10;
	}
	CHECK(old == 2 && fresh == 1);
	fixture_free(&f);
}

static void
setup(void)
{
	base_day = (uint32_t)(time(NULL) / DAY) + 1;
	for (size_t i = 0; i < CLIENT_COUNT; i++)
		randombytes_buf(client_keys[i], QLOG_KEY_SIZE);
}

static const test_case cases[] = {
        {"widths", case_widths},
        {"widths_by_experiment", case_widths_by_experiment},
        {"open_checks_config", case_open_checks_config},
        {"digests_as_documented", case_digests_as_documented},
        {"files_hold_no_secrets", case_files_hold_no_secrets},
        {"retention", case_retention},
        {"chain_forward_only", case_chain_forward_only},
        {"chain_copies_diverge", case_chain_copies_diverge},
        {"chain_steps_fresh", case_chain_steps_fresh},
        {"drops_when_full", case_drops_when_full},
        {"unusable_requests_dropped", case_unusable_requests_dropped},
        {"reopen_same_day", case_reopen_same_day},
        {"file_size_bounded", case_file_size_bounded},
        {"purge", case_purge},
        {"a purge and the log agree on a new day's salt", case_purge_and_log_agree_on_a_new_day},
        {"concurrent_recorders", case_concurrent_recorders},
        {"writer_sweeps", case_writer_sweeps},
        {"size_classes", case_size_classes},
        {"arrival_order_hidden", case_arrival_order_hidden},
        {"padding_looks_real", case_padding_looks_real},
        {"old_layout_read", case_old_layout_read},
};

TEST_MAIN_WITH(cases, .setup = setup)

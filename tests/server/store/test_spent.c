/*
 * The double-spend set of Privacy Pass tokens (server/store/spent.h) on
 * real LMDB files in temporary directories: redemptions once and again,
 * across restarts, keys and capacity; erasing a key's set down to the
 * bytes of data.mdb; threads and processes redeeming the same tokens at
 * once; and what the files hold.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "harness.h"
#include "proc.h"
#include "spent.h"

#define NONCES 512

static uint8_t key_a[SPENT_KEY_ID_SIZE], key_b[SPENT_KEY_ID_SIZE], key_c[SPENT_KEY_ID_SIZE];
static uint8_t nonces[NONCES][SPENT_NONCE_SIZE];

static spent *
open_with(const char *dir, uint32_t capacity)
{
	spent_config config;
	spent *s = NULL;
	spent_config_defaults(&config);
	config.capacity = capacity;
	if (spent_open(dir, &config, &s) != VEIL_OK)
		abort();
	return s;
}

static uint64_t
count_of(spent *s, const uint8_t *key_id)
{
	uint64_t n = 0;
	if (spent_count(s, key_id, &n) != VEIL_OK)
		abort();
	return n;
}

/* spent/data.mdb of the state directory dir holds the n bytes of needle. */
static int
data_file_holds(const char *dir, const void *needle, size_t n)
{
	char *spent_dir = proc_join(dir, SPENT_DIR);
	char *data = proc_join(spent_dir, "data.mdb");
	const int holds = proc_tree_holds(data, needle, n);
	free(data);
	free(spent_dir);
	return holds;
}

/* ------------------------------------------------------------------ */
/* Ledgers: steps on one fresh store, each with the verdict it must get */

typedef enum step_kind {
	REDEEM, /* the nonce under the key; want: a spent_verdict */
	FORGET, /* the key's set; want: a veil_err */
	REOPEN, /* close, and open again with the ledger's capacity */
	COUNT,  /* spent_count() of the key; want: the count */
} step_kind;

typedef enum who { KEY_A, KEY_B, KEY_C } who;

typedef struct step {
	const char *ledger; /* the case it belongs to */
	step_kind kind;
	who key;
	unsigned nonce; /* an index into nonces */
	int want;
} step;

/* The capacity each ledger opens with. */
typedef struct ledger_capacity {
	const char *ledger;
	uint32_t capacity;
} ledger_capacity;

static const ledger_capacity capacities[] = {
        {"redeem once", SPENT_DEFAULT_CAPACITY}, {"kept across restarts", SPENT_DEFAULT_CAPACITY},
        {"keys apart", SPENT_DEFAULT_CAPACITY},  {"capacity", 3},
        {"forget key", SPENT_DEFAULT_CAPACITY},
};

static const step ledger[] = {
        {"redeem once", REDEEM, KEY_A, 0, SPENT_OK},
        {"redeem once", REDEEM, KEY_A, 0, SPENT_AGAIN},
        {"redeem once", REDEEM, KEY_A, 0, SPENT_AGAIN},
        {"redeem once", REDEEM, KEY_A, 1, SPENT_OK},
        {"redeem once", COUNT, KEY_A, 0, 2},
        {"redeem once", COUNT, KEY_B, 0, 0},

        {"kept across restarts", REDEEM, KEY_A, 0, SPENT_OK},
        {"kept across restarts", REDEEM, KEY_B, 1, SPENT_OK},
        {"kept across restarts", REOPEN, KEY_A, 0, VEIL_OK},
        {"kept across restarts", REDEEM, KEY_A, 0, SPENT_AGAIN},
        {"kept across restarts", REDEEM, KEY_B, 1, SPENT_AGAIN},
        {"kept across restarts", REDEEM, KEY_A, 1, SPENT_OK},
        {"kept across restarts", REOPEN, KEY_A, 0, VEIL_OK},
        {"kept across restarts", REDEEM, KEY_A, 1, SPENT_AGAIN},
        {"kept across restarts", COUNT, KEY_A, 0, 2},

        /* The same nonce under another token key is another token. */
        {"keys apart", REDEEM, KEY_A, 7, SPENT_OK},
        {"keys apart", REDEEM, KEY_B, 7, SPENT_OK},
        {"keys apart", REDEEM, KEY_C, 7, SPENT_OK},
        {"keys apart", REDEEM, KEY_B, 7, SPENT_AGAIN},
        {"keys apart", COUNT, KEY_A, 0, 1},
        {"keys apart", COUNT, KEY_B, 0, 1},

        /* Three tokens a key: the fourth is refused, a spent one is still AGAIN. */
        {"capacity", REDEEM, KEY_A, 0, SPENT_OK},
        {"capacity", REDEEM, KEY_A, 1, SPENT_OK},
        {"capacity", REDEEM, KEY_A, 2, SPENT_OK},
        {"capacity", REDEEM, KEY_A, 3, SPENT_FULL},
        {"capacity", REDEEM, KEY_A, 1, SPENT_AGAIN},
        {"capacity", COUNT, KEY_A, 0, 3},
        /* The other keys are unaffected. */
        {"capacity", REDEEM, KEY_B, 3, SPENT_OK},
        {"capacity", REDEEM, KEY_B, 4, SPENT_OK},
        {"capacity", REDEEM, KEY_C, 0, SPENT_OK},
        {"capacity", REOPEN, KEY_A, 0, VEIL_OK},
        {"capacity", REDEEM, KEY_A, 4, SPENT_FULL},
        {"capacity", REDEEM, KEY_B, 5, SPENT_OK},
        {"capacity", REDEEM, KEY_B, 6, SPENT_FULL},
        /* Rotation: the old key's set erased, its nonces are new again. */
        {"capacity", FORGET, KEY_A, 0, VEIL_OK},
        {"capacity", REDEEM, KEY_A, 3, SPENT_OK},
        {"capacity", COUNT, KEY_A, 0, 1},

        {"forget key", FORGET, KEY_A, 0, VEIL_ERR_NOT_FOUND},
        {"forget key", REDEEM, KEY_A, 0, SPENT_OK},
        {"forget key", REDEEM, KEY_B, 0, SPENT_OK},
        {"forget key", FORGET, KEY_A, 0, VEIL_OK},
        {"forget key", COUNT, KEY_A, 0, 0},
        {"forget key", FORGET, KEY_A, 0, VEIL_ERR_NOT_FOUND},
        {"forget key", REDEEM, KEY_A, 0, SPENT_OK},
        {"forget key", REDEEM, KEY_A, 0, SPENT_AGAIN},
        {"forget key", REDEEM, KEY_B, 0, SPENT_AGAIN}, /* the other key kept its set */
        {"forget key", REOPEN, KEY_A, 0, VEIL_OK},
        {"forget key", REDEEM, KEY_A, 0, SPENT_AGAIN},
};

static const uint8_t *
key_of(who w)
{
	return w == KEY_A ? key_a : w == KEY_B ? key_b : key_c;
}

/* Runs the steps of the ledger named as the running case. */
static void
run_ledger(void)
{
	const char *dir = test_case_dir();
	uint32_t capacity = 0;
	for (size_t i = 0; i < TEST_COUNT(capacities); i++)
		if (strcmp(capacities[i].ledger, test_case_name) == 0)
			capacity = capacities[i].capacity;
	REQUIRE(capacity > 0);
	spent *s = open_with(dir, capacity);
	size_t ran = 0;
	for (size_t i = 0; i < TEST_COUNT(ledger); i++) {
		const step *st = &ledger[i];
		if (strcmp(st->ledger, test_case_name) != 0)
			continue;
		ran++;
		const uint8_t *key = key_of(st->key);
		char where[64];
		snprintf(where, sizeof(where), "step %zu", i);
		switch (st->kind) {
		case REDEEM:
			CHECK_ROW((int)spent_redeem(s, key, nonces[st->nonce]) == st->want, where);
			break;
		case FORGET:
			CHECK_ROW((int)spent_forget_key(s, key, NULL) == st->want, where);
			break;
		case REOPEN:
			spent_close(s);
			s = open_with(dir, capacity);
			break;
		case COUNT:
			CHECK_ROW(count_of(s, key) == (uint64_t)st->want, where);
			break;
		}
	}
	CHECK(ran > 0);
	spent_close(s);
}

/* ------------------------------------------------------------------ */
/* Erasing */

/*
 * A set large enough for its own pages, and a small one stored inside a
 * page: after spent_forget_key() no byte of data.mdb, freed pages
 * included, holds a digest or the label of the erased key; the other
 * key's are still there (the scan finds what is there).
 */
static void
case_forget_leaves_no_digest(void)
{
	const unsigned sizes[] = {5, 400};
	for (size_t t = 0; t < TEST_COUNT(sizes); t++) {
		const char *dir = test_case_path(t == 0 ? "small" : "large");
		REQUIRE(mkdir(dir, 0700) == 0);
		spent *s = open_with(dir, SPENT_DEFAULT_CAPACITY);
		static uint8_t gone[NONCES][SPENT_DIGEST_SIZE];
		uint8_t kept[SPENT_DIGEST_SIZE], label_a[SPENT_LABEL_SIZE],
		        label_b[SPENT_LABEL_SIZE];
		for (unsigned i = 0; i < sizes[t]; i++) {
			CHECK(spent_redeem(s, key_a, nonces[i]) == SPENT_OK);
			spent_digest(s, key_a, nonces[i], gone[i]);
		}
		CHECK(spent_redeem(s, key_b, nonces[0]) == SPENT_OK);
		spent_digest(s, key_b, nonces[0], kept);
		spent_label(s, key_a, label_a);
		spent_label(s, key_b, label_b);
		spent_close(s);
		CHECK(data_file_holds(dir, gone[0], SPENT_DIGEST_SIZE));
		CHECK(data_file_holds(dir, label_a, SPENT_LABEL_SIZE));

		s = open_with(dir, SPENT_DEFAULT_CAPACITY);
		uint64_t erased = 0;
		CHECK(spent_forget_key(s, key_a, &erased) == VEIL_OK);
		CHECK(erased == sizes[t]);
		CHECK(count_of(s, key_a) == 0 && count_of(s, key_b) == 1);
		spent_close(s);
		unsigned found = 0;
		for (unsigned i = 0; i < sizes[t]; i++)
			found += (unsigned)data_file_holds(dir, gone[i], SPENT_DIGEST_SIZE);
		CHECK(found == 0);
		CHECK(!data_file_holds(dir, label_a, SPENT_LABEL_SIZE));
		CHECK(data_file_holds(dir, kept, SPENT_DIGEST_SIZE));
		CHECK(data_file_holds(dir, label_b, SPENT_LABEL_SIZE));

		/* The key's nonces are new again. */
		s = open_with(dir, SPENT_DEFAULT_CAPACITY);
		CHECK(spent_redeem(s, key_a, nonces[0]) == SPENT_OK);
		CHECK(spent_redeem(s, key_a, nonces[sizes[t] - 1]) == SPENT_OK);
		CHECK(spent_redeem(s, key_b, nonces[0]) == SPENT_AGAIN);
		uint64_t none = 7;
		CHECK(spent_forget_key(s, key_c, &none) == VEIL_ERR_NOT_FOUND && none == 0);
		CHECK(spent_forget_key(NULL, key_c, &none) == VEIL_ERR_ARGUMENT);
		CHECK(spent_forget_key(s, NULL, NULL) == VEIL_ERR_ARGUMENT);
		spent_close(s);
	}
}

/* ------------------------------------------------------------------ */
/* Threads and processes */

#define THREADS       8
#define SHARED_NONCES 64

static atomic_uint granted[SHARED_NONCES];
static atomic_uint refused, failed;

typedef struct racer {
	spent *s;
	unsigned first; /* where in the shared nonces this thread starts */
} racer;

static void *
race(void *arg)
{
	const racer *r = arg;
	for (unsigned i = 0; i < SHARED_NONCES; i++) {
		const unsigned n = (r->first + i) % SHARED_NONCES;
		switch (spent_redeem(r->s, key_a, nonces[n])) {
		case SPENT_OK:
			atomic_fetch_add(&granted[n], 1);
			break;
		case SPENT_AGAIN:
			atomic_fetch_add(&refused, 1);
			break;
		default:
			atomic_fetch_add(&failed, 1);
		}
	}
	return NULL;
}

/* Threads redeeming the same tokens at once: each token is granted exactly once. */
static void
case_threads(void)
{
	spent *s = open_with(test_case_dir(), SPENT_DEFAULT_CAPACITY);
	pthread_t threads[THREADS];
	racer racers[THREADS];
	for (unsigned i = 0; i < SHARED_NONCES; i++)
		atomic_store(&granted[i], 0);
	atomic_store(&refused, 0);
	atomic_store(&failed, 0);
	for (unsigned i = 0; i < THREADS; i++) {
		racers[i].s = s;
		racers[i].first = i * (SHARED_NONCES / THREADS);
		REQUIRE(pthread_create(&threads[i], NULL, race, &racers[i]) == 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	unsigned once = 0;
	for (unsigned i = 0; i < SHARED_NONCES; i++)
		once += atomic_load(&granted[i]) == 1;
	CHECK(once == SHARED_NONCES);
	CHECK(atomic_load(&refused) == (THREADS - 1) * SHARED_NONCES);
	CHECK(atomic_load(&failed) == 0);
	CHECK(count_of(s, key_a) == SHARED_NONCES);
	spent_close(s);
}

/*
 * In a child process: opens its own handle on dir, redeems the shared
 * nonces from first on under key_a, and, when forget, erases key_b's set.
 * Exits with the number granted, or 255 on any error (the exit status is
 * the report). Never returns.
 */
static void
child_redeem(const char *dir, unsigned first, int forget)
{
	spent *s = NULL;
	if (spent_open(dir, NULL, &s) != VEIL_OK)
		_exit(255);
	unsigned ok = 0;
	for (unsigned i = 0; i < SHARED_NONCES; i++) {
		const spent_verdict v = spent_redeem(s, key_a, nonces[(first + i) % SHARED_NONCES]);
		if (v == SPENT_OK)
			ok++;
		else if (v != SPENT_AGAIN)
			_exit(255);
	}
	if (forget && spent_forget_key(s, key_b, NULL) != VEIL_OK)
		_exit(255);
	spent_close(s);
	_exit((int)ok);
}

static pid_t
spawn_child(const char *dir, unsigned first, int forget)
{
	const pid_t pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0)
		child_redeem(dir, first, forget);
	return pid;
}

/* The exit status of pid: 0..254 as the child reported, -1 otherwise. */
static int
child_report(pid_t pid)
{
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 255)
		return -1;
	return WEXITSTATUS(status);
}

/*
 * Handles in separate processes on one state directory (veild and
 * veil-admin): two children redeem the same tokens at once, one of them
 * spent before by this process; exactly one grant per token between the
 * three, and each handle sees what the others recorded, erasures too.
 */
static void
case_processes(void)
{
	const char *dir = test_case_dir();
	spent *s = open_with(dir, SPENT_DEFAULT_CAPACITY);
	CHECK(spent_redeem(s, key_a, nonces[0]) == SPENT_OK);
	CHECK(spent_redeem(s, key_b, nonces[0]) == SPENT_OK);
	const pid_t one = spawn_child(dir, 0, 0), two = spawn_child(dir, SHARED_NONCES / 2, 1);
	const int got_one = child_report(one), got_two = child_report(two);
	CHECK(got_one >= 0 && got_two >= 0);
	CHECK(got_one + got_two == SHARED_NONCES - 1);
	/* This handle sees the children's grants, and the set the second erased. */
	unsigned again = 0;
	for (unsigned i = 0; i < SHARED_NONCES; i++)
		again += spent_redeem(s, key_a, nonces[i]) == SPENT_AGAIN;
	CHECK(again == SHARED_NONCES);
	CHECK(count_of(s, key_b) == 0);
	CHECK(spent_redeem(s, key_b, nonces[0]) == SPENT_OK);
	spent_close(s);
}

/*
 * A child redeems tokens and reports each grant on a pipe; it is killed
 * (SIGKILL) after some grants, in the middle of its work. Every token it
 * reported granted is still spent.
 */
static void
case_killed_keeps_grants(void)
{
	const char *dir = test_case_dir();
	spent_close(open_with(dir, SPENT_DEFAULT_CAPACITY)); /* the key file and the set exist */
	int fds[2];
	REQUIRE(pipe(fds) == 0);
	const pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		spent *s = NULL;
		if (spent_open(dir, NULL, &s) != VEIL_OK)
			_exit(255);
		for (unsigned char i = 0; i < 255; i++) {
			if (spent_redeem(s, key_a, nonces[i]) != SPENT_OK ||
			    write(fds[1], &i, 1) != 1)
				_exit(255);
		}
		for (;;)
			pause(); /* until killed */
	}
	close(fds[1]);
	unsigned reported = 0;
	unsigned char index;
	while (reported < 20 && read(fds[0], &index, 1) == 1)
		reported++;
	kill(pid, SIGKILL);
	int status = 0;
	waitpid(pid, &status, 0);
	close(fds[0]);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	REQUIRE(reported == 20);
	spent *s = open_with(dir, SPENT_DEFAULT_CAPACITY);
	unsigned again = 0;
	for (unsigned i = 0; i < reported; i++)
		again += spent_redeem(s, key_a, nonces[i]) == SPENT_AGAIN;
	CHECK(again == reported);
	CHECK(count_of(s, key_a) >= reported);
	spent_close(s);
}

/* ------------------------------------------------------------------ */
/* Listing */

typedef struct seen {
	uint8_t labels[4][SPENT_LABEL_SIZE];
	uint64_t counts[4];
	unsigned n;
	unsigned stop_after; /* 0: never */
} seen;

static int
note_key(void *arg, const uint8_t label[SPENT_LABEL_SIZE], uint64_t count)
{
	seen *s = arg;
	if (s->n < 4) {
		memcpy(s->labels[s->n], label, SPENT_LABEL_SIZE);
		s->counts[s->n] = count;
	}
	s->n++;
	return s->stop_after != 0 && s->n >= s->stop_after;
}

/* The count spent_keys() gave label, or -1 when it did not list it. */
static int64_t
listed(const seen *s, const uint8_t label[SPENT_LABEL_SIZE])
{
	for (unsigned i = 0; i < s->n && i < 4; i++)
		if (memcmp(s->labels[i], label, SPENT_LABEL_SIZE) == 0)
			return (int64_t)s->counts[i];
	return -1;
}

static void
case_keys(void)
{
	spent *s = open_with(test_case_dir(), SPENT_DEFAULT_CAPACITY);
	seen got = {0};
	CHECK(spent_keys(s, note_key, &got) == VEIL_OK && got.n == 0);
	for (unsigned i = 0; i < 3; i++)
		CHECK(spent_redeem(s, key_a, nonces[i]) == SPENT_OK);
	CHECK(spent_redeem(s, key_b, nonces[0]) == SPENT_OK);
	uint8_t label_a[SPENT_LABEL_SIZE], label_b[SPENT_LABEL_SIZE], label_c[SPENT_LABEL_SIZE];
	spent_label(s, key_a, label_a);
	spent_label(s, key_b, label_b);
	spent_label(s, key_c, label_c);
	CHECK(spent_keys(s, note_key, &got) == VEIL_OK);
	CHECK(got.n == 2);
	CHECK(listed(&got, label_a) == 3 && listed(&got, label_b) == 1 &&
	      listed(&got, label_c) == -1);
	CHECK(memcmp(got.labels[0], got.labels[1], SPENT_LABEL_SIZE) < 0); /* label order */
	seen first = {.stop_after = 1};
	CHECK(spent_keys(s, note_key, &first) == VEIL_OK && first.n == 1);
	CHECK(spent_forget_key(s, key_a, NULL) == VEIL_OK);
	seen after = {0};
	CHECK(spent_keys(s, note_key, &after) == VEIL_OK && after.n == 1);
	CHECK(listed(&after, label_b) == 1);
	CHECK(spent_keys(NULL, note_key, &after) == VEIL_ERR_ARGUMENT);
	CHECK(spent_keys(s, NULL, NULL) == VEIL_ERR_ARGUMENT);
	uint64_t n = 9;
	CHECK(spent_count(NULL, key_a, &n) == VEIL_ERR_ARGUMENT && n == 0);
	CHECK(spent_count(s, NULL, &n) == VEIL_ERR_ARGUMENT);
	CHECK(spent_count(s, key_a, NULL) == VEIL_ERR_ARGUMENT);
	spent_close(s);
}

/* ------------------------------------------------------------------ */
/* What the files hold; the key file */

/* Neither a nonce nor a token key id, raw or in hex, nor a piece of one, is in any file. */
static void
case_nothing_raw_stored(void)
{
	const char *dir = test_case_dir();
	spent *s = open_with(dir, SPENT_DEFAULT_CAPACITY);
	const uint8_t *keys[] = {key_a, key_b, key_c};
	uint8_t digest[SPENT_DIGEST_SIZE];
	for (unsigned k = 0; k < 3; k++)
		for (unsigned i = 0; i < 8; i++)
			CHECK(spent_redeem(s, keys[k], nonces[i]) == SPENT_OK);
	CHECK(spent_forget_key(s, key_c, NULL) == VEIL_OK);
	spent_digest(s, key_a, nonces[3], digest);
	spent_close(s);

	unsigned found = 0;
	for (unsigned i = 0; i < 8; i++) {
		char hex[2 * SPENT_NONCE_SIZE + 1];
		sodium_bin2hex(hex, sizeof(hex), nonces[i], SPENT_NONCE_SIZE);
		found += (unsigned)proc_tree_holds(dir, nonces[i], 8);
		found += (unsigned)proc_tree_holds(dir, hex, 16);
	}
	for (unsigned k = 0; k < 3; k++) {
		char hex[2 * SPENT_KEY_ID_SIZE + 1];
		sodium_bin2hex(hex, sizeof(hex), keys[k], SPENT_KEY_ID_SIZE);
		found += (unsigned)proc_tree_holds(dir, keys[k], 8);
		found += (unsigned)proc_tree_holds(dir, hex, 16);
	}
	CHECK(found == 0);
	/* The digests are what is stored (sanity of the scan itself). */
	CHECK(data_file_holds(dir, digest, sizeof(digest)));

	/* The key file is 0600, the directory 0700, its files 0600. */
	struct stat st;
	char *spent_dir = proc_join(dir, SPENT_DIR);
	char *data = proc_join(spent_dir, "data.mdb");
	CHECK(stat(proc_path(dir, SPENT_KEY_FILE), &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(stat(spent_dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK(stat(data, &st) == 0 && (st.st_mode & 0777) == 0600);
	free(data);
	free(spent_dir);
}

/* Labels and digests depend on the state's key: two states store the same token apart. */
static void
case_digests_differ_per_state(void)
{
	const char *one = test_case_path("one"), *two = test_case_path("two");
	REQUIRE(mkdir(one, 0700) == 0 && mkdir(two, 0700) == 0);
	spent *s1 = open_with(one, SPENT_DEFAULT_CAPACITY),
	      *s2 = open_with(two, SPENT_DEFAULT_CAPACITY);
	uint8_t x[SPENT_DIGEST_SIZE], y[SPENT_DIGEST_SIZE], z[SPENT_DIGEST_SIZE];
	uint8_t la[SPENT_LABEL_SIZE], lb[SPENT_LABEL_SIZE];
	spent_digest(s1, key_a, nonces[0], x);
	spent_digest(s2, key_a, nonces[0], y);
	CHECK(memcmp(x, y, sizeof(x)) != 0);
	spent_label(s1, key_a, la);
	spent_label(s2, key_a, lb);
	CHECK(memcmp(la, lb, sizeof(la)) != 0);
	CHECK(memcmp(la, x, sizeof(la)) != 0);
	spent_close(s1);
	s1 = open_with(one, SPENT_DEFAULT_CAPACITY); /* the key file is reused */
	spent_digest(s1, key_a, nonces[0], z);
	CHECK(memcmp(x, z, sizeof(x)) == 0);
	spent_close(s1);
	spent_close(s2);
}

/* spent_open() refuses a key file others may read, a damaged one, and one not the set's. */
static void
case_key_file(void)
{
	const char *dir = test_case_dir();
	const char *key_path = proc_path(dir, SPENT_KEY_FILE);
	spent *s = open_with(dir, SPENT_DEFAULT_CAPACITY);
	CHECK(spent_redeem(s, key_a, nonces[0]) == SPENT_OK);
	spent_close(s);
	size_t len = 0;
	char *good = test_keep(test_read_file(key_path, &len));

	spent *bad = (spent *)1;
	CHECK(chmod(key_path, 0644) == 0);
	CHECK(spent_open(dir, NULL, &bad) == VEIL_ERR_PERMISSION && bad == NULL);
	CHECK(chmod(key_path, 0600) == 0);

	/* Damaged: a wrong label, and hex cut short. */
	const char *damaged[] = {"veil-clients-key-v1 00\n", "veil-spent-key-v1 abcd\n"};
	for (size_t i = 0; i < TEST_COUNT(damaged); i++) {
		proc_write_file(key_path, damaged[i], strlen(damaged[i]));
		CHECK(chmod(key_path, 0600) == 0);
		CHECK(spent_open(dir, NULL, &bad) == VEIL_ERR_CORRUPT && bad == NULL);
	}

	/* Another well-formed key: the set's digests would not match; refused. */
	char other[] = "veil-spent-key-v1 "
	               "0000000000000000000000000000000000000000000000000000000000000000\n";
	proc_write_file(key_path, other, strlen(other));
	CHECK(chmod(key_path, 0600) == 0);
	CHECK(spent_open(dir, NULL, &bad) == VEIL_ERR_CORRUPT && bad == NULL);

	/* No key beside the set: a new one is made, and refused all the same. */
	CHECK(unlink(key_path) == 0);
	CHECK(spent_open(dir, NULL, &bad) == VEIL_ERR_CORRUPT && bad == NULL);

	/* The right key again: the token is still spent. */
	CHECK(unlink(key_path) == 0);
	proc_write_file(key_path, good, len);
	CHECK(chmod(key_path, 0600) == 0);
	s = open_with(dir, SPENT_DEFAULT_CAPACITY);
	CHECK(spent_redeem(s, key_a, nonces[0]) == SPENT_AGAIN);
	spent_close(s);
}

static void
case_open_errors(void)
{
	const char *dir = test_case_dir();
	spent_config config;
	spent *s = (spent *)1;
	spent_config_defaults(&config);
	CHECK(config.capacity == SPENT_DEFAULT_CAPACITY);
	CHECK(spent_open(dir, &config, NULL) == VEIL_ERR_ARGUMENT);
	CHECK(spent_open(NULL, &config, &s) == VEIL_ERR_ARGUMENT && s == NULL);
	config.capacity = 0;
	CHECK(spent_open(dir, &config, &s) == VEIL_ERR_ARGUMENT && s == NULL);
	config.capacity = SPENT_MAX_CAPACITY + 1;
	CHECK(spent_open(dir, &config, &s) == VEIL_ERR_ARGUMENT && s == NULL);
	CHECK(spent_open(proc_path(dir, "missing"), NULL, &s) == VEIL_ERR_NOT_FOUND && s == NULL);
	/* Nothing was made by the refused opens. */
	struct stat st;
	CHECK(stat(proc_path(dir, SPENT_KEY_FILE), &st) != 0);
	config.capacity = SPENT_MAX_CAPACITY;
	CHECK(spent_open(dir, &config, &s) == VEIL_OK && s != NULL);
	CHECK(spent_capacity(s) == SPENT_MAX_CAPACITY);
	CHECK(spent_redeem(NULL, key_a, nonces[0]) == SPENT_ERROR);
	CHECK(spent_redeem(s, NULL, nonces[0]) == SPENT_ERROR);
	CHECK(spent_redeem(s, key_a, NULL) == SPENT_ERROR);
	CHECK(count_of(s, key_a) == 0); /* the refused calls recorded nothing */
	spent_close(s);
	spent_close(NULL);
	CHECK(spent_open(dir, NULL, &s) == VEIL_OK && spent_capacity(s) == SPENT_DEFAULT_CAPACITY);
	spent_close(s);
}

static const test_case cases[] = {
        {"redeem once", run_ledger},
        {"kept across restarts", run_ledger},
        {"keys apart", run_ledger},
        {"capacity", run_ledger},
        {"forget key", run_ledger},
        {"forget leaves no digest", case_forget_leaves_no_digest},
        {"threads", case_threads},
        {"processes", case_processes},
        {"killed keeps grants", case_killed_keeps_grants},
        {"keys", case_keys},
        {"nothing raw stored", case_nothing_raw_stored},
        {"digests differ per state", case_digests_differ_per_state},
        {"key file", case_key_file},
        {"open errors", case_open_errors},
};

static void
setup(void)
{
	randombytes_buf(key_a, sizeof(key_a));
	randombytes_buf(key_b, sizeof(key_b));
	randombytes_buf(key_c, sizeof(key_c));
	randombytes_buf(nonces, sizeof(nonces));
}

TEST_MAIN_WITH(cases, .setup = setup)

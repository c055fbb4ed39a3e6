/*
 * The replay guard: a request is accepted once, only while fresh and not
 * from before the guard's start; one client cannot spend the table, nor
 * can nonces chosen to collide; generations turn on the monotonic clock.
 * Clocks are passed in, so every case is exact.
 */
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "replay.h"

#define T0       1800000000 /* the wall clock at the guard's start */
#define WINDOW   300
#define SKEW     30
#define LENGTH   (WINDOW + SKEW + 1) /* a generation, monotonic seconds */
#define CAPACITY 64
#define BUDGET   8

static replay_guard *
guard_new(size_t capacity, size_t budget)
{
	replay_config c = {.window = WINDOW,
	                   .skew = SKEW,
	                   .capacity = capacity,
	                   .client_budget = budget,
	                   .started = T0};
	replay_guard *g = NULL;
	if (replay_guard_new(&c, &g) != VEIL_OK)
		return NULL;
	return g;
}

static void
client_key(uint8_t key[REPLAY_CLIENT_KEY_SIZE], uint8_t who)
{
	memset(key, who, REPLAY_CLIENT_KEY_SIZE);
}

/* Nonce number n: equal to every other in all but the last bytes, which
 * is what an attacker aiming at one slot of a table keyed by nonce bytes
 * would send. */
static void
nonce_of(uint8_t nonce[REPLAY_NONCE_SIZE], uint32_t n)
{
	memset(nonce, 0xab, REPLAY_NONCE_SIZE);
	for (int i = 0; i < 4; i++)
		nonce[REPLAY_NONCE_SIZE - 1 - i] = (uint8_t)(n >> (8 * i));
}

/* One check at wall time now and monotonic time mono, sent at now. */
static replay_verdict
check_at(replay_guard *g, uint8_t who, uint32_t n, int64_t now, int64_t mono)
{
	uint8_t key[REPLAY_CLIENT_KEY_SIZE], nonce[REPLAY_NONCE_SIZE];
	client_key(key, who);
	nonce_of(nonce, n);
	return replay_guard_check(g, key, nonce, (uint64_t)now, now, mono, NULL);
}

static void
case_arguments(void)
{
	const replay_config good = {WINDOW, SKEW, CAPACITY, BUDGET, T0};
	replay_config bad[] = {good, good, good, good, good};
	bad[0].window = 0;
	bad[1].capacity = 0;
	bad[2].capacity = REPLAY_MAX_CAPACITY + 1;
	bad[3].client_budget = 0;
	bad[4].client_budget = CAPACITY + 1;
	for (size_t i = 0; i < TEST_COUNT(bad); i++) {
		replay_guard *g = (replay_guard *)1;
		CHECK(replay_guard_new(&bad[i], &g) == VEIL_ERR_ARGUMENT && g == NULL);
	}
	replay_config defaults;
	replay_config_defaults(&defaults, T0);
	CHECK(defaults.client_budget <= defaults.capacity && defaults.started == T0);
	replay_guard_free(NULL);
}

static void
case_repeats_are_refused(void)
{
	replay_guard *g = guard_new(CAPACITY, BUDGET);
	REQUIRE(g != NULL);
	CHECK(check_at(g, 1, 7, T0, 0) == REPLAY_FRESH);
	CHECK(check_at(g, 1, 7, T0, 0) == REPLAY_SEEN);
	CHECK(check_at(g, 1, 7, T0 + 10, 5) == REPLAY_SEEN);
	/* The same nonce under another client key is another request. */
	CHECK(check_at(g, 2, 7, T0, 0) == REPLAY_FRESH);
	CHECK(check_at(g, 2, 7, T0, 0) == REPLAY_SEEN);
	replay_guard_free(g);
}

static void
case_stale_times_are_refused(void)
{
	replay_guard *g = guard_new(CAPACITY, BUDGET);
	REQUIRE(g != NULL);
	uint8_t key[REPLAY_CLIENT_KEY_SIZE], nonce[REPLAY_NONCE_SIZE];
	client_key(key, 1);
	const int64_t now = T0 + 1000;
	const struct {
		int64_t sent_at;
		replay_verdict want;
	} rows[] = {
	        {now - WINDOW - 1, REPLAY_STALE},
	        {now - WINDOW, REPLAY_FRESH},
	        {now + SKEW, REPLAY_FRESH},
	        {now + SKEW + 1, REPLAY_STALE},
	        {0, REPLAY_STALE},
	        {INT64_MAX, REPLAY_STALE},
	};
	for (uint32_t i = 0; i < TEST_COUNT(rows); i++) {
		nonce_of(nonce, i);
		CHECK(replay_guard_check(g, key, nonce, (uint64_t)rows[i].sent_at, now, 0, NULL) ==
		      rows[i].want);
	}
	/* UINT64_MAX is no time at all. */
	nonce_of(nonce, 100);
	CHECK(replay_guard_check(g, key, nonce, UINT64_MAX, now, 0, NULL) == REPLAY_STALE);
	replay_guard_free(g);
}

static void
case_sent_before_the_start_is_refused(void)
{
	replay_guard *g = guard_new(CAPACITY, BUDGET);
	REQUIRE(g != NULL);
	uint8_t key[REPLAY_CLIENT_KEY_SIZE], nonce[REPLAY_NONCE_SIZE];
	client_key(key, 1);
	/* Within the window of now, but sealed before the start (less the
	 * skew): an earlier process may have served it. */
	const int64_t now = T0 + 60;
	nonce_of(nonce, 1);
	CHECK(replay_guard_check(g, key, nonce, (uint64_t)(T0 - SKEW - 1), now, 0, NULL) ==
	      REPLAY_STALE);
	nonce_of(nonce, 2);
	CHECK(replay_guard_check(g, key, nonce, (uint64_t)(T0 - SKEW), now, 0, NULL) ==
	      REPLAY_FRESH);
	replay_guard_free(g);
}

/* replay_fresh(), the guard's first test and tokens mode's only one:
 * the window's edges, the start (0: none), and times that are none. */
#define NOW (T0 + 1000)

typedef struct fresh_row {
	const char *name;
	int64_t started;
	uint64_t sent_at;
	int want;
} fresh_row;

static const fresh_row fresh_rows[] = {
        {"a window back", T0, NOW - REPLAY_DEFAULT_WINDOW, 1},
        {"a second more", T0, NOW - REPLAY_DEFAULT_WINDOW - 1, 0},
        {"the skew ahead", T0, NOW + REPLAY_DEFAULT_SKEW, 1},
        {"a second more ahead", T0, NOW + REPLAY_DEFAULT_SKEW + 1, 0},
        {"the skew before the start", NOW, NOW - REPLAY_DEFAULT_SKEW, 1},
        {"earlier than that", NOW, NOW - REPLAY_DEFAULT_SKEW - 1, 0},
        {"no start", 0, NOW - REPLAY_DEFAULT_WINDOW, 1},
        {"zero", 0, 0, 0},
        {"INT64_MAX", 0, (uint64_t)INT64_MAX, 0},
        {"UINT64_MAX", 0, UINT64_MAX, 0},
};

static int
check_fresh(const void *row)
{
	const fresh_row *r = row;
	replay_config c;
	replay_config_defaults(&c, r->started);
	return replay_fresh(&c, r->sent_at, NOW) == r->want;
}

TEST_ROWS_CASE(case_freshness_alone, fresh_rows, check_fresh)

static void
case_one_clients_budget_does_not_block_another(void)
{
	replay_guard *g = guard_new(CAPACITY, BUDGET);
	REQUIRE(g != NULL);
	for (uint32_t n = 0; n < BUDGET; n++)
		CHECK(check_at(g, 1, n, T0, 0) == REPLAY_FRESH);
	uint8_t key[REPLAY_CLIENT_KEY_SIZE], nonce[REPLAY_NONCE_SIZE];
	client_key(key, 1);
	nonce_of(nonce, BUDGET);
	uint32_t retry_after = 0;
	CHECK(replay_guard_check(g, key, nonce, T0, T0, 10, &retry_after) == REPLAY_BUDGET);
	CHECK(retry_after == LENGTH - 10);
	/* A repeat is still a repeat. */
	CHECK(check_at(g, 1, 0, T0, 10) == REPLAY_SEEN);
	/* Another client is served, up to its own budget. */
	for (uint32_t n = 0; n < BUDGET; n++)
		CHECK(check_at(g, 2, n, T0, 10) == REPLAY_FRESH);
	CHECK(check_at(g, 2, BUDGET, T0, 10) == REPLAY_BUDGET);
	/* The next generation gives the budget back; the requests stay remembered. */
	CHECK(check_at(g, 1, BUDGET, T0 + LENGTH, LENGTH) == REPLAY_FRESH);
	CHECK(check_at(g, 1, 0, T0 + LENGTH, LENGTH) == REPLAY_SEEN);
	replay_guard_free(g);
}

static void
case_colliding_nonces_do_not_degrade_others(void)
{
	/* One key sends many nonces alike in all but their last bytes (once
	 * one slot and one identity): each is its own request, its budget
	 * stops it, and another client is still accepted. */
	const size_t capacity = 4096, budget = 1024;
	replay_guard *g = guard_new(capacity, budget);
	REQUIRE(g != NULL);
	size_t fresh = 0, refused = 0;
	for (uint32_t n = 0; n < capacity; n++) {
		const replay_verdict v = check_at(g, 0xa7, n, T0, 0);
		fresh += v == REPLAY_FRESH;
		refused += v == REPLAY_BUDGET;
	}
	CHECK(fresh == budget);
	CHECK(refused == capacity - budget);
	for (uint32_t n = 0; n < 16; n++)
		CHECK(check_at(g, 0x11, n, T0, 0) == REPLAY_FRESH);
	replay_guard_free(g);
}

static void
case_the_table_full_says_full(void)
{
	replay_guard *g = guard_new(CAPACITY, CAPACITY / 2);
	REQUIRE(g != NULL);
	for (uint32_t n = 0; n < CAPACITY / 2; n++) {
		CHECK(check_at(g, 1, n, T0, 0) == REPLAY_FRESH);
		CHECK(check_at(g, 2, n, T0, 0) == REPLAY_FRESH);
	}
	uint32_t retry_after = 0;
	uint8_t key[REPLAY_CLIENT_KEY_SIZE], nonce[REPLAY_NONCE_SIZE];
	client_key(key, 3);
	nonce_of(nonce, 0);
	CHECK(replay_guard_check(g, key, nonce, T0, T0, 0, &retry_after) == REPLAY_FULL);
	CHECK(retry_after == LENGTH);
	replay_guard_free(g);
}

static void
case_generations_turn_on_the_monotonic_clock(void)
{
	replay_guard *g = guard_new(CAPACITY, BUDGET);
	REQUIRE(g != NULL);
	for (uint32_t n = 0; n < BUDGET; n++)
		CHECK(check_at(g, 1, n, T0, 0) == REPLAY_FRESH);
	/* The wall clock jumps ahead a generation and more: nothing turns. */
	CHECK(check_at(g, 1, BUDGET, T0 + 2 * LENGTH, LENGTH - 1) == REPLAY_BUDGET);
	/* A generation later (monotonic) the requests are still remembered;
	 * two later they are forgotten (by then their times are stale). */
	CHECK(check_at(g, 1, 0, T0, LENGTH) == REPLAY_SEEN);
	CHECK(check_at(g, 1, 1, T0, 2 * LENGTH - 1) == REPLAY_SEEN);
	CHECK(check_at(g, 1, 2, T0, 2 * LENGTH) == REPLAY_FRESH);
	replay_guard_free(g);
}

static const test_case cases[] = {
        {"arguments", case_arguments},
        {"repeats are refused", case_repeats_are_refused},
        {"stale times are refused", case_stale_times_are_refused},
        {"sent before the start is refused", case_sent_before_the_start_is_refused},
        {"freshness alone", case_freshness_alone},
        {"one client's budget does not block another",
         case_one_clients_budget_does_not_block_another},
        {"colliding nonces do not degrade others", case_colliding_nonces_do_not_degrade_others},
        {"a full table says full", case_the_table_full_says_full},
        {"generations turn on the monotonic clock", case_generations_turn_on_the_monotonic_clock},
};

TEST_MAIN(cases)

#include "qlog.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "qlog_store.h"
#include "saltchain.h"
#include "store_file.h"
#include "store_thread.h"

#define SECONDS_PER_DAY   86400
#define SECONDS_PER_HOUR  3600
/* The writer commits this many entries per transaction at most, and at
 * least every GROUP_INTERVAL_NS when there are any. */
#define GROUP_SIZE        1024
#define GROUP_INTERVAL_NS 100000000L
/* qlog_record() advances the chain at most this far (a broken clock). */
#define MAX_ADVANCE_DAYS  3660
/* Records of up to this many items digest on the stack (qlog_record()). */
#define SMALL_DIGESTS     256

static const char requester_label[] = "veil-log-requester-v1";
static const char bucket_label[] = "veil-log-bucket-v1";

struct qlog {
	char *dir; /* DIR/log */
	qlog_config config;
	uint8_t t_r, t_b; /* in force */
	qlog_store *store;

	/* The chain: read locked to use a salt, write locked to change it (memory only). */
	pthread_rwlock_t chain_lock;
	saltchain *chain;
	atomic_int chain_dirty; /* files lag memory */

	/* Writing the secret files: from a snapshot, one writer at a time. */
	pthread_mutex_t persist_lock;
	saltchain *snapshot;

	/* The writer; its lock guards the queue too, and its stop flag says the log is closing. */
	store_thread writer;
	pthread_cond_t done; /* flushers wait on it, under writer.lock */
	qlog_pending *ring;  /* capacity slots, FIFO from head */
	size_t capacity, head, count;
	uint64_t issued;       /* entries queued, all time */
	uint64_t finished;     /* entries taken by the writer and committed or dropped */
	uint64_t flush_target; /* a flusher waits until finished reaches it */
	int paused;
	qlog_pending *group;     /* the writer's */
	int64_t last_sweep_hour; /* the writer's */

	_Atomic size_t queued; /* count, for a lock-free "full" check */
	_Atomic uint64_t recorded, dropped, written;
	_Atomic uint64_t unsaved_drops; /* not yet added to the log's meta */
	_Atomic int64_t latest_now;

	int locks_made;
};

/* ------------------------------------------------------------------ */
/* Widths */

static void explain(char *why, size_t why_len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void
explain(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;
	if (why == NULL || why_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

/* z^2 of the margin for a union over 2^bits values (qlog.h). */
static double
z_squared(unsigned bits)
{
	return 2.0 * log(2.0) * (double)(bits + QLOG_MARGIN_BITS);
}

/* The least number of accounts, with margin, any requester digest of t bits stands for. */
static double
requester_floor(uint64_t accounts, unsigned t)
{
	const double n = (double)accounts;
	if (t == 0)
		return n;
	const double mean = ldexp(n, -(int)t);
	return mean - sqrt(z_squared(t) * mean);
}

/* The same for bucket digests of width min(t, p) over p-bit prefixes. */
static double
bucket_floor_at(uint64_t universe, unsigned t, unsigned p)
{
	const unsigned w = t < p ? t : p;
	const double u = (double)universe;
	if (w == 0)
		return u;
	const double per_prefix = ldexp(u, -(int)p), per_value = ldexp(u, -(int)w);
	const double aggregate = per_value - sqrt(z_squared(w) * per_value * (1.0 + per_prefix));
	const double one_prefix = per_prefix - sqrt(z_squared(p) * per_prefix);
	return aggregate > one_prefix ? aggregate : one_prefix;
}

/* The worst case over the prefix lengths the server accepts; *worst_p gets it. */
static double
bucket_floor(uint64_t universe, unsigned t, unsigned max_p, unsigned *worst_p)
{
	double least = HUGE_VAL;
	for (unsigned p = 0; p <= max_p; p++) {
		const double f = bucket_floor_at(universe, t, p);
		if (f < least) {
			least = f;
			*worst_p = p;
		}
	}
	return least;
}

static double
not_negative(double x)
{
	return x < 0 ? 0 : x;
}

veil_err
qlog_widths(const qlog_config *c, uint8_t *t_r, uint8_t *t_b, char *why, size_t why_len)
{
	unsigned worst_p = 0;

	explain(why, why_len, "%s", "");
	if (t_r != NULL)
		*t_r = 0;
	if (t_b != NULL)
		*t_b = 0;
	if (c == NULL || t_r == NULL || t_b == NULL) {
		explain(why, why_len, "no configuration");
		return VEIL_ERR_ARGUMENT;
	}
	if (c->max_prefix_bits > 32) {
		explain(why, why_len, "max_prefix_bits = %u is above 32", c->max_prefix_bits);
		return VEIL_ERR_ARGUMENT;
	}
	if (c->t_r > QLOG_MAX_WIDTH || c->t_b > QLOG_MAX_WIDTH) {
		explain(why, why_len, "t_r = %u, t_b = %u: a width is above %d bits", c->t_r,
		        c->t_b, QLOG_MAX_WIDTH);
		return VEIL_ERR_ARGUMENT;
	}

	uint8_t requester = c->t_r;
	if (c->anonymous) {
		requester = 0; /* no requester to digest: nothing to hide it among */
	} else if (c->accounts < c->k_r) {
		explain(why, why_len,
		        "%llu enrolled accounts are fewer than k_r = %u: no requester digest "
		        "width can meet the target",
		        (unsigned long long)c->accounts, c->k_r);
		return VEIL_ERR_ARGUMENT;
	} else if (requester != 0) {
		const double least = requester_floor(c->accounts, requester);
		if (least < (double)c->k_r) {
			explain(why, why_len,
			        "t_r = %u leaves %.0f accounts per requester digest (at least %.0f "
			        "with the margin), below k_r = %u",
			        requester, ldexp((double)c->accounts, -(int)requester),
			        not_negative(least), c->k_r);
			return VEIL_ERR_ARGUMENT;
		}
	} else {
		requester = QLOG_MAX_WIDTH;
		while (requester > 0 && requester_floor(c->accounts, requester) < (double)c->k_r)
			requester--;
	}

	if (c->universe < c->k_b) {
		explain(why, why_len,
		        "a numbering space of %llu handles is smaller than k_b = %u: no bucket "
		        "digest width can meet the target",
		        (unsigned long long)c->universe, c->k_b);
		return VEIL_ERR_ARGUMENT;
	}
	uint8_t bucket = c->t_b < c->max_prefix_bits ? c->t_b : c->max_prefix_bits;
	if (c->t_b != 0) {
		const double least =
		        bucket_floor(c->universe, bucket, c->max_prefix_bits, &worst_p);
		if (least < (double)c->k_b) {
			const unsigned w = bucket < worst_p ? bucket : worst_p;
			explain(why, why_len,
			        "t_b = %u leaves, for %u-bit prefixes, at least %.0f handles per "
			        "bucket digest (%.0f on average, %.0f per prefix), below k_b = %u",
			        bucket, worst_p, not_negative(least),
			        ldexp((double)c->universe, -(int)w),
			        ldexp((double)c->universe, -(int)worst_p), c->k_b);
			return VEIL_ERR_ARGUMENT;
		}
	} else {
		bucket = c->max_prefix_bits;
		while (bucket > 0 && bucket_floor(c->universe, bucket, c->max_prefix_bits,
		                                  &worst_p) < (double)c->k_b)
			bucket--;
	}
	*t_r = requester;
	*t_b = bucket;
	return VEIL_OK;
}

void
qlog_config_defaults(qlog_config *c)
{
	memset(c, 0, sizeof(*c));
	c->universe = QLOG_DEFAULT_UNIVERSE;
	c->k_r = QLOG_DEFAULT_K_R;
	c->k_b = QLOG_DEFAULT_K_B;
	c->max_prefix_bits = QLOG_DEFAULT_MAX_PREFIX_BITS;
	c->entry_retention_days = QLOG_DEFAULT_ENTRY_RETENTION_DAYS;
	c->salt_retention_days = QLOG_DEFAULT_SALT_RETENTION_DAYS;
	c->queue_capacity = QLOG_DEFAULT_QUEUE_CAPACITY;
}

static veil_err
config_check(const qlog_config *c, char *why, size_t why_len)
{
	const uint32_t most = c->allow_long_retention ? QLOG_MAX_LONG_RETENTION_DAYS
	                                              : QLOG_MAX_ENTRY_RETENTION_DAYS;
	if (c->entry_retention_days < 1 || c->entry_retention_days > most) {
		explain(why, why_len, "entry_retention_days = %u is outside 1..%u%s",
		        c->entry_retention_days, most,
		        c->allow_long_retention ? "" : " (more needs allow_long_retention)");
		return VEIL_ERR_ARGUMENT;
	}
	if (c->salt_retention_days < 1 || c->salt_retention_days > c->entry_retention_days) {
		explain(why, why_len,
		        "salt_retention_days = %u is outside 1..%u (the entry retention)",
		        c->salt_retention_days, c->entry_retention_days);
		return VEIL_ERR_ARGUMENT;
	}
	if (c->queue_capacity < 1 || c->queue_capacity > QLOG_MAX_QUEUE_CAPACITY) {
		explain(why, why_len, "queue_capacity = %zu is outside 1..%zu", c->queue_capacity,
		        QLOG_MAX_QUEUE_CAPACITY);
		return VEIL_ERR_ARGUMENT;
	}
	return VEIL_OK;
}

/* ------------------------------------------------------------------ */
/* Clock and counters */

static void
note_now(qlog *log, int64_t now)
{
	int64_t seen = atomic_load(&log->latest_now);
	while (now > seen && !atomic_compare_exchange_weak(&log->latest_now, &seen, now))
		;
}

/* The later of the wall clock and the latest now a caller gave. */
static int64_t
effective_now(qlog *log)
{
	const int64_t wall = (int64_t)time(NULL), seen = atomic_load(&log->latest_now);
	return wall > seen ? wall : seen;
}

static uint32_t
day_of(int64_t now)
{
	if (now < 0)
		return 0;
	const int64_t day = now / SECONDS_PER_DAY;
	return day > UINT32_MAX ? UINT32_MAX : (uint32_t)day;
}

static void
count_drops(qlog *log, uint64_t n)
{
	atomic_fetch_add(&log->dropped, n);
	atomic_fetch_add(&log->unsaved_drops, n);
}

static uint32_t
chain_day(qlog *log)
{
	pthread_rwlock_rdlock(&log->chain_lock);
	const uint32_t day = saltchain_day(log->chain);
	pthread_rwlock_unlock(&log->chain_lock);
	return day;
}

/*
 * Moves the chain forward to day (never back), in step with any other
 * process of this log (saltchain_step_shared(): the files are written
 * under its lock, once a day). When that fails the chain has moved in
 * memory alone and the writer writes the files later.
 */
static void
advance_to(qlog *log, uint32_t day)
{
	pthread_rwlock_wrlock(&log->chain_lock);
	if (day > saltchain_day(log->chain) &&
	    saltchain_step_shared(log->chain, log->dir, day, saltchain_has_key(log->chain), 0,
	                          NULL) != VEIL_OK)
		atomic_store(&log->chain_dirty, 1);
	pthread_rwlock_unlock(&log->chain_lock);
}

/* Writes the secret files from a snapshot of the chain, without holding its lock. */
static veil_err
persist(qlog *log, uint32_t *salts_erased)
{
	pthread_mutex_lock(&log->persist_lock);
	atomic_store(&log->chain_dirty, 0);
	pthread_rwlock_rdlock(&log->chain_lock);
	saltchain_copy(log->snapshot, log->chain);
	pthread_rwlock_unlock(&log->chain_lock);
	veil_err err = saltchain_sync(log->snapshot, log->dir, salts_erased);
	saltchain_clear(log->snapshot);
	if (err != VEIL_OK)
		atomic_store(&log->chain_dirty, 1);
	pthread_mutex_unlock(&log->persist_lock);
	return err;
}

/* ------------------------------------------------------------------ */
/* Recording */

static uint32_t
leading_bits(const uint8_t mac[crypto_auth_hmacsha256_BYTES], unsigned t)
{
	if (t == 0)
		return 0;
	const uint32_t v =
	        (uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 | (uint32_t)mac[2] << 8 | mac[3];
	return t >= 32 ? v : v >> (32 - t);
}

static uint32_t
prefix_mask(unsigned prefix_bits)
{
	return prefix_bits == 0 ? 0 : UINT32_MAX << (32 - prefix_bits);
}

static void
enqueue(qlog *log, uint32_t day, uint8_t *value, size_t len)
{
	pthread_mutex_lock(&log->writer.lock);
	if (log->count == log->capacity || log->writer.stop) {
		pthread_mutex_unlock(&log->writer.lock);
		free(value);
		count_drops(log, 1);
		return;
	}
	qlog_pending *slot = &log->ring[(log->head + log->count) % log->capacity];
	slot->day = day;
	slot->value = value;
	slot->value_len = (uint32_t)len;
	log->count++;
	log->issued++;
	atomic_store(&log->queued, log->count);
	if (log->count >= GROUP_SIZE)
		pthread_cond_signal(&log->writer.wake);
	pthread_mutex_unlock(&log->writer.lock);
	atomic_fetch_add(&log->recorded, 1);
}

uint32_t
qlog_size_class(uint32_t item_count)
{
	if (item_count == 0)
		return 0;
	if (item_count > QLOG_MAX_ITEMS / 2 + 1)
		return QLOG_MAX_ITEMS;
	uint32_t size_class = 1;
	while (size_class < item_count)
		size_class <<= 1;
	return size_class;
}

static int
compare_digest(const void *a, const void *b)
{
	const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* The bucket digest of width width of a prefix_bits-bit prefix, under keyed. */
static uint32_t
bucket_digest(const crypto_auth_hmacsha256_state *keyed, unsigned prefix_bits, uint32_t prefix,
              unsigned width)
{
	crypto_auth_hmacsha256_state state = *keyed;
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	const uint8_t p = (uint8_t)prefix_bits;
	prefix &= prefix_mask(prefix_bits);
	const uint8_t prefix_be[4] = {(uint8_t)(prefix >> 24), (uint8_t)(prefix >> 16),
	                              (uint8_t)(prefix >> 8), (uint8_t)prefix};
	crypto_auth_hmacsha256_update(&state, (const uint8_t *)bucket_label,
	                              sizeof(bucket_label) - 1);
	crypto_auth_hmacsha256_update(&state, &p, 1);
	crypto_auth_hmacsha256_update(&state, prefix_be, sizeof(prefix_be));
	crypto_auth_hmacsha256_final(&state, mac);
	const uint32_t digest = leading_bits(mac, width);
	/* The keyed states are as good as the salt. */
	sodium_memzero(&state, sizeof(state));
	sodium_memzero(mac, sizeof(mac));
	return digest;
}

void
qlog_record(qlog *log, int64_t now, const uint8_t client_key[QLOG_KEY_SIZE], unsigned prefix_bits,
            const uint32_t *prefixes, size_t item_count, uint16_t status)
{
	crypto_auth_hmacsha256_state keyed, state;
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	uint8_t *value = NULL;
	uint32_t *digests = NULL;
	/* The digests of a record of up to SMALL_DIGESTS items (every batch
	 * of veild's default cap) need no allocation. */
	uint32_t small[SMALL_DIGESTS];

	if (log == NULL || (client_key == NULL) != (log->config.anonymous != 0) ||
	    (item_count > 0 && prefixes == NULL))
		abort(); /* a caller bug */
	if (now < 0 || now / SECONDS_PER_DAY > UINT32_MAX || prefix_bits > 32 ||
	    item_count > QLOG_MAX_ITEMS || atomic_load(&log->queued) >= log->capacity) {
		count_drops(log, 1);
		return;
	}
	const uint32_t day = (uint32_t)(now / SECONDS_PER_DAY);
	const uint8_t hour = (uint8_t)(now % SECONDS_PER_DAY / SECONDS_PER_HOUR);
	const uint8_t width = log->t_b < prefix_bits ? log->t_b : (uint8_t)prefix_bits;
	const uint32_t size_class = qlog_size_class((uint32_t)item_count);
	const size_t len = qlog_value_size(log->t_r, width, size_class);

	const uint32_t current = chain_day(log);
	if (day > current) {
		if (day - current > MAX_ADVANCE_DAYS) {
			count_drops(log, 1);
			return;
		}
		advance_to(log, day);
	}
	/* Only a plausible now may drive the writer's sweeps. */
	note_now(log, now);
	digests = size_class <= SMALL_DIGESTS ? small
	                                      : malloc(((size_t)size_class + 1) * sizeof(*digests));
	if ((value = malloc(len)) == NULL || digests == NULL) {
		free(value);
		if (digests != small)
			free(digests);
		count_drops(log, 1);
		return;
	}
	pthread_rwlock_rdlock(&log->chain_lock);
	const uint8_t *salt = saltchain_salt(log->chain, day);
	if (salt != NULL)
		crypto_auth_hmacsha256_init(&keyed, salt, QLOG_SALT_SIZE);
	pthread_rwlock_unlock(&log->chain_lock);
	if (salt == NULL) {
		/* The clock stepped back past an erased salt: nothing can digest it. */
		free(value);
		if (digests != small)
			free(digests);
		count_drops(log, 1);
		return;
	}

	uint32_t requester = 0; /* an anonymous log: none */
	if (client_key != NULL) {
		state = keyed;
		crypto_auth_hmacsha256_update(&state, (const uint8_t *)requester_label,
		                              sizeof(requester_label) - 1);
		crypto_auth_hmacsha256_update(&state, client_key, QLOG_KEY_SIZE);
		crypto_auth_hmacsha256_final(&state, mac);
		requester = leading_bits(mac, log->t_r);
	}
	qlog_value_encode_head(value, hour, status, log->t_r, width, size_class, requester);
	/* The real digests, then padding: the digests of random prefixes. */
	for (uint32_t i = 0; i < size_class; i++)
		digests[i] =
		        bucket_digest(&keyed, prefix_bits,
		                      i < item_count ? prefixes[i] : randombytes_random(), width);
	qsort(digests, size_class, sizeof(*digests), compare_digest);
	for (uint32_t i = 0; i < size_class; i++)
		qlog_value_set_bucket(value, log->t_r, width, i, digests[i]);
	/* The keyed states are as good as the salt; the digests were in the client's order. */
	sodium_memzero(&keyed, sizeof(keyed));
	sodium_memzero(&state, sizeof(state));
	sodium_memzero(mac, sizeof(mac));
	sodium_memzero(digests, (size_t)size_class * sizeof(*digests));
	if (digests != small)
		free(digests);
	enqueue(log, day, value, len);
}

/* ------------------------------------------------------------------ */
/* Sweeping */

static veil_err
sweep(qlog *log, int64_t now, qlog_sweep_result *result)
{
	uint32_t erased = 0;
	uint64_t deleted = 0;

	note_now(log, now);
	advance_to(log, day_of(now));
	veil_err err = persist(log, &erased);
	const uint32_t today = chain_day(log);
	const uint32_t retention = log->config.entry_retention_days;
	/* Entries of the retained days (today - retention, today] stay. */
	const uint32_t cutoff = today + 1 >= retention ? today + 1 - retention : 0;
	veil_err del = qlog_store_delete_before(log->store, cutoff, &deleted);
	if (result != NULL) {
		result->entries_deleted = deleted;
		result->salts_erased = erased;
		result->day = today;
	}
	return err != VEIL_OK ? err : del;
}

veil_err
qlog_sweep(qlog *log, int64_t now)
{
	if (log == NULL)
		return VEIL_ERR_ARGUMENT;
	return sweep(log, now, NULL);
}

/* ------------------------------------------------------------------ */
/* The writer */

static void
commit_group(qlog *log, qlog_pending *group, size_t n)
{
	const uint64_t drops = atomic_exchange(&log->unsaved_drops, 0);
	if (n == 0 && drops == 0)
		return;
	if (qlog_store_append(log->store, group, n, drops) == VEIL_OK) {
		atomic_fetch_add(&log->written, n);
	} else {
		atomic_fetch_add(&log->unsaved_drops, drops);
		count_drops(log, n);
	}
	for (size_t i = 0; i < n; i++) {
		free(group[i].value);
		group[i].value = NULL;
	}
}

static void *
writer_main(void *arg)
{
	qlog *log = arg;
	struct timespec deadline;

	pthread_mutex_lock(&log->writer.lock);
	store_thread_deadline(&deadline, GROUP_INTERVAL_NS);
	for (;;) {
		while (!log->writer.stop) {
			if (!log->paused &&
			    (log->count >= GROUP_SIZE || log->flush_target > log->finished))
				break;
			if (pthread_cond_timedwait(&log->writer.wake, &log->writer.lock,
			                           &deadline) == ETIMEDOUT) {
				store_thread_deadline(&deadline, GROUP_INTERVAL_NS);
				if (!log->paused)
					break;
			}
		}
		size_t n = 0;
		while (n < GROUP_SIZE && log->count > 0) {
			log->group[n++] = log->ring[log->head];
			log->head = (log->head + 1) % log->capacity;
			log->count--;
		}
		atomic_store(&log->queued, log->count);
		const uint64_t through = log->finished + n;
		const int last = log->writer.stop && log->count == 0;
		pthread_mutex_unlock(&log->writer.lock);

		if (atomic_load(&log->chain_dirty))
			(void)persist(log, NULL); /* on failure the next round tries again */
		commit_group(log, log->group, n);
		const int64_t now = effective_now(log);
		if (now / SECONDS_PER_HOUR != log->last_sweep_hour) {
			log->last_sweep_hour = now / SECONDS_PER_HOUR;
			(void)sweep(log, now, NULL); /* likewise */
		}

		pthread_mutex_lock(&log->writer.lock);
		log->finished = through;
		pthread_cond_broadcast(&log->done);
		if (last)
			break;
	}
	pthread_mutex_unlock(&log->writer.lock);
	return NULL;
}

veil_err
qlog_flush(qlog *log)
{
	if (log == NULL)
		return VEIL_ERR_ARGUMENT;
	pthread_mutex_lock(&log->writer.lock);
	const uint64_t target = log->issued;
	if (log->writer.running && log->finished < target) {
		if (log->flush_target < target)
			log->flush_target = target;
		pthread_cond_signal(&log->writer.wake);
		while (log->finished < target)
			pthread_cond_wait(&log->done, &log->writer.lock);
	}
	pthread_mutex_unlock(&log->writer.lock);
	return persist(log, NULL);
}

void
qlog_pause_writer(qlog *log, int paused)
{
	pthread_mutex_lock(&log->writer.lock);
	log->paused = paused != 0;
	pthread_cond_signal(&log->writer.wake);
	pthread_mutex_unlock(&log->writer.lock);
}

int
qlog_salt_held(qlog *log, uint32_t day)
{
	pthread_rwlock_rdlock(&log->chain_lock);
	const int held = saltchain_salt(log->chain, day) != NULL;
	pthread_rwlock_unlock(&log->chain_lock);
	return held;
}

void
qlog_counters_get(const qlog *log, qlog_counters *out)
{
	qlog *l = (qlog *)(uintptr_t)log; /* atomics are read through a non-const pointer */
	out->recorded = atomic_load(&l->recorded);
	out->dropped = atomic_load(&l->dropped);
	out->written = atomic_load(&l->written);
}

/* ------------------------------------------------------------------ */
/* Opening and closing */

enum {
	MADE_CHAIN_LOCK = 1 << 0,
	MADE_PERSIST_LOCK = 1 << 1,
	MADE_DONE = 1 << 2,
};

static void
destroy(qlog *log)
{
	if (log == NULL)
		return;
	if (log->ring != NULL)
		for (size_t i = 0; i < log->count; i++)
			free(log->ring[(log->head + i) % log->capacity].value);
	free(log->ring);
	free(log->group);
	qlog_store_close(log->store);
	saltchain_free(log->chain);
	saltchain_free(log->snapshot);
	if (log->locks_made & MADE_CHAIN_LOCK)
		pthread_rwlock_destroy(&log->chain_lock);
	if (log->locks_made & MADE_PERSIST_LOCK)
		pthread_mutex_destroy(&log->persist_lock);
	store_thread_destroy(&log->writer);
	if (log->locks_made & MADE_DONE)
		pthread_cond_destroy(&log->done);
	free(log->dir);
	free(log);
}

static veil_err
make_locks(qlog *log)
{
	if (pthread_rwlock_init(&log->chain_lock, NULL) != 0)
		return VEIL_ERR_SYSTEM;
	log->locks_made |= MADE_CHAIN_LOCK;
	if (pthread_mutex_init(&log->persist_lock, NULL) != 0)
		return VEIL_ERR_SYSTEM;
	log->locks_made |= MADE_PERSIST_LOCK;
	if (store_thread_init(&log->writer) != VEIL_OK)
		return VEIL_ERR_SYSTEM;
	if (pthread_cond_init(&log->done, NULL) != 0)
		return VEIL_ERR_SYSTEM;
	log->locks_made |= MADE_DONE;
	return VEIL_OK;
}

static const char *
open_failure(veil_err err)
{
	switch (err) {
	case VEIL_ERR_PERMISSION:
		return "a secret file may be read by the group or others";
	case VEIL_ERR_CORRUPT:
		return "damaged, or not a veil log";
	default:
		return veil_strerror(err);
	}
}

/*
 * qlog_open() and qlog_purge(): config NULL reads the configuration kept
 * in the log, opens only an existing log, makes no chain and starts no
 * writer.
 */
static veil_err
start(const char *state_dir, const qlog_config *config, int64_t now, qlog **out,
      qlog_sweep_result *result, char *why, size_t why_len)
{
	const int purge_only = config == NULL;
	qlog_store_config stored;
	qlog *log = NULL;
	struct stat st;
	veil_err err;

	explain(why, why_len, "%s", "");
	if (out != NULL)
		*out = NULL;
	if (out == NULL || state_dir == NULL) {
		explain(why, why_len, "no state directory");
		return VEIL_ERR_ARGUMENT;
	}
	if (now < 0) {
		explain(why, why_len, "the clock is before 1970");
		return VEIL_ERR_ARGUMENT;
	}
	if (!purge_only) {
		memset(&stored, 0, sizeof(stored));
		stored.config = *config;
		if ((err = config_check(config, why, why_len)) != VEIL_OK ||
		    (err = qlog_widths(config, &stored.t_r, &stored.t_b, why, why_len)) != VEIL_OK)
			return err;
	}
	if ((log = calloc(1, sizeof(*log))) == NULL ||
	    (log->dir = store_file_join(state_dir, QLOG_DIR)) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	if (purge_only) {
		if (stat(log->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			explain(why, why_len, "no query log in %s", log->dir);
			err = VEIL_ERR_NOT_FOUND;
			goto out;
		}
	} else {
		if (stat(state_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			explain(why, why_len, "no state directory %s", state_dir);
			err = VEIL_ERR_NOT_FOUND;
			goto out;
		}
		if (mkdir(log->dir, 0700) != 0 && errno != EEXIST) {
			explain(why, why_len, "cannot create %s: %s", log->dir, strerror(errno));
			err = VEIL_ERR_SYSTEM;
			goto out;
		}
	}
	if ((err = make_locks(log)) != VEIL_OK) {
		explain(why, why_len, "cannot make the log's locks");
		goto out;
	}
	if ((err = qlog_store_open(log->dir, 0, &log->store)) != VEIL_OK) {
		explain(why, why_len, "cannot open the log database in %s: %s", log->dir,
		        open_failure(err));
		goto out;
	}
	if (purge_only) {
		if ((err = qlog_store_read_config(log->store, &stored)) != VEIL_OK) {
			explain(why, why_len, "the log in %s holds no usable configuration: %s",
			        log->dir, veil_strerror(err));
			goto out;
		}
		stored.config.queue_capacity = 1;
	} else if ((err = qlog_store_write_config(log->store, &stored)) != VEIL_OK) {
		explain(why, why_len, "cannot write the log's configuration: %s",
		        veil_strerror(err));
		goto out;
	}
	log->config = stored.config;
	log->t_r = stored.t_r;
	log->t_b = stored.t_b;
	log->capacity = log->config.queue_capacity;
	if ((log->ring = calloc(log->capacity, sizeof(*log->ring))) == NULL ||
	    (log->group = calloc(GROUP_SIZE, sizeof(*log->group))) == NULL) {
		err = VEIL_ERR_NOMEM;
		goto out;
	}
	if ((err = saltchain_new(log->config.salt_retention_days, &log->chain)) != VEIL_OK ||
	    (err = saltchain_new(log->config.salt_retention_days, &log->snapshot)) != VEIL_OK) {
		explain(why, why_len, "cannot hold the salts: %s", veil_strerror(err));
		goto out;
	}
	uint32_t erased_at_load = 0;
	if ((err = saltchain_step_shared(log->chain, log->dir, day_of(now), !purge_only, 1,
	                                 &erased_at_load)) != VEIL_OK) {
		explain(why, why_len, "cannot read the salt chain in %s: %s", log->dir,
		        open_failure(err));
		goto out;
	}
	atomic_store(&log->latest_now, now);
	if ((err = sweep(log, now, result)) != VEIL_OK) {
		explain(why, why_len, "the retention sweep failed: %s", veil_strerror(err));
		goto out;
	}
	if (result != NULL)
		result->salts_erased += erased_at_load;
	if (!purge_only) {
		log->last_sweep_hour = now / SECONDS_PER_HOUR;
		if ((err = store_thread_start(&log->writer, writer_main, log)) != VEIL_OK) {
			explain(why, why_len, "cannot start the log writer");
			goto out;
		}
	}
	*out = log;
	log = NULL;
	err = VEIL_OK;
out:
	if (err == VEIL_ERR_NOMEM && why != NULL && why_len > 0 && why[0] == '\0')
		explain(why, why_len, "out of memory");
	destroy(log);
	return err;
}

veil_err
qlog_open(const char *state_dir, const qlog_config *config, int64_t now, qlog **out, char *why,
          size_t why_len)
{
	if (config == NULL) {
		if (out != NULL)
			*out = NULL;
		explain(why, why_len, "no configuration");
		return VEIL_ERR_ARGUMENT;
	}
	return start(state_dir, config, now, out, NULL, why, why_len);
}

void
qlog_close(qlog *log)
{
	if (log == NULL)
		return;
	/* This ends a pause too: once closing, the writer drains the queue. */
	store_thread_stop(&log->writer);
	if (atomic_load(&log->chain_dirty))
		(void)persist(log, NULL);
	destroy(log);
}

veil_err
qlog_purge(const char *state_dir, int64_t now, qlog_sweep_result *result, char *why, size_t why_len)
{
	qlog *log = NULL;
	if (result != NULL)
		memset(result, 0, sizeof(*result));
	veil_err err = start(state_dir, NULL, now, &log, result, why, why_len);
	qlog_close(log);
	return err;
}

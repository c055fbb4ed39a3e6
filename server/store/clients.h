/*
 * Clients: who may ask (enrolment) and how much (quota). docs/DESIGN.md,
 * "Abuse": a per-client quota of evaluated items bounds
 * what an enumerating client learns (Hagen et al., NDSS 2021).
 *
 * Quota: a token bucket per client, one token per evaluated item. It
 * holds at most `capacity` tokens and regains `refill_per_day` tokens at
 * each UTC midnight: a charge on day d, when the bucket is as of an
 * earlier day, first adds refill_per_day for each day between (never past
 * capacity); within a day nothing returns. A request is charged before
 * anything is evaluated; one that would take more tokens than the bucket
 * holds is refused whole and takes none, with retry_after the seconds
 * until the first UTC midnight at which the bucket will hold enough.
 *
 * The defaults, CLIENTS_DEFAULT_CAPACITY 6,000 and
 * CLIENTS_DEFAULT_REFILL_PER_DAY 1,500:
 *   - a full bucket re-checks a 5,000-contact address book at once, with
 *     1,000 to spare;
 *   - re-checking that book once a week takes 5,000 / 7 = 715 a day, which
 *     leaves about 785 a day for new contacts ("a few hundred");
 *   - enumerating one area code (10^7 numbers, ~8M of them live) takes
 *     8,000,000 / 1,500 = 5,333 days, 14.6 years, per enrolled key; all of
 *     NANP (10^10) takes 18,000 years.
 * A per-client quota override N (veil-admin client add --quota N) sets
 * that client's refill to N a day and its capacity in the same ratio as
 * the configuration's (capacity * N / refill_per_day; 4 N by default).
 *
 * Storage, in the state directory (the query log's pattern, qlog.h):
 *   clients.key        a 32-byte secret (common/keyfile.h, 0600), made on
 *                      first use: the key of the digests below
 *   clients/data.mdb   the LMDB environment (directory mode 0700), DBs:
 *     clients  key:   BLAKE2b-256(key = clients.key, message = client
 *                     public key): the client key itself is never stored
 *              value: version u8 (2) | flags u8 (bit 0: enrolled) |
 *                     quota override u32 BE (0: none) | day u32 BE (unix
 *                     seconds / 86400: the UTC day the tokens are as of) |
 *                     tokens u32 BE (whole tokens left on that day) |
 *                     last use u32 BE (the day of the last charge; 0:
 *                     never)
 *     requests key:   generation u32 BE (the request's sent_at /
 *                     CLIENTS_REPLAY_GENERATION) | BLAKE2b-128(key =
 *                     clients.key, message = a label | the request's
 *                     ephemeral key | its nonce)
 *              value: empty. One per request charged
 *                     (clients_charge_request()), kept while its sent_at
 *                     may still be judged fresh, then deleted (below)
 *     meta     "config"  version u8 (1) | enrolment_required u8 |
 *                        capacity u32 BE | refill_per_day u32 BE: the
 *                        configuration veild last opened with, so that
 *                        veil-admin shows tokens as veild counts them
 * Nothing in a record is finer than a day. Version-1 records, written by
 * an older veild (tokens in 1/86400 units and the exact unix second they
 * were as of), are read as day = that second / 86400 and whole tokens
 * rounded down, and rewritten as version 2 by the sweep at open.
 *
 * What a copy of the state directory reveals, to whoever also has
 * candidate client keys (clients.key is in it): which of them are
 * enrolled, and their quota overrides; for each client with a record,
 * the day its tokens are as of, the tokens it had left on that day, and
 * the day of its last charge. Never a time of day, so a record cannot be
 * lined up with one query-log entry, only with a day's entries.
 * requests holds no client key, digest or time beyond its generation (5
 * minutes 31 seconds): it tells how many requests were charged in each of
 * the last two or three generations, and, to whoever also holds a
 * captured request frame, that this request was charged (which its reply
 * on the wire showed already). Which client made a request it cannot
 * tell: the digest is of the frame's ephemeral key and nonce, fresh for
 * every request, and of nothing of the client.
 *
 * LMDB writes a changed page to a free page and keeps the old one, so
 * freed pages of data.mdb hold old versions of records until reused.
 * After a deletion (clients_remove(), or a sweep that deleted or rewrote
 * records) the handle scrubs them: three more write transactions, the
 * second of which takes every free page for a zeroed filler record in
 * meta (keys "scrub" + index), the third deletes them. The file then
 * holds no copy of what was deleted, unless a reader (another charge,
 * another process) held an old snapshot during the scrub: those pages
 * wait for the next scrub. A scrub writes as many pages as are free.
 *
 * What is forgotten:
 *   - clients_remove() deletes the record. Enrolling the key again starts
 *     a fresh, full bucket: a removed client that an operator re-enrols
 *     gains up to one bucket, which is worth less than keeping, for every
 *     client ever removed, a record that names its last day of use.
 *   - A record of a client not enrolled (open enrolment's unknown keys;
 *     version-1 records of removed clients) whose day and last use are
 *     both CLIENTS_IDLE_DAYS or more in the past is deleted by the sweep
 *     (clients_sweep()), which runs at clients_open() and then, in veild's
 *     handle, once a UTC day from the sync thread, on the system clock
 *     (time(NULL)). Such a key that comes back gets a fresh, full bucket,
 *     as any new key does under open enrolment.
 *   - Enrolled clients keep their records while they are enrolled.
 *   - A request's digest is deleted once the clock is past its
 *     generation's end plus CLIENTS_REPLAY_WINDOW: by
 *     clients_expire_requests(), which runs at clients_open() and then,
 *     in veild's handle, every CLIENTS_SYNC_INTERVAL_MS from the sync
 *     thread, in transactions of at most CLIENTS_REPLAY_SWEEP_BATCH
 *     deletions (charges wait for no long one). These deletions are not
 *     scrubbed: the pages they free are reused by the next charges, and
 *     what they held names no client. Removing a client deletes none:
 *     nothing says which are its.
 *
 * Durability: veild's handle (clients_open() with a config) writes each
 * charge in its own LMDB transaction without fsync, and a thread fsyncs
 * the environment every CLIENTS_SYNC_INTERVAL_MS and at close. A veild
 * crash or kill loses no charge (the pages are in the OS's cache); a
 * power loss or OS crash loses at most the last second of charges. Any
 * number of processes may open the environment (veil-admin beside a
 * running veild, several veilds on one state directory); LMDB serializes
 * writers, and a charge sees enrolment changes from the next call on.
 * A charge decides and takes its tokens in one write transaction, so a
 * bucket is one for every process: what one took, another does not give
 * again (MDB_NOSYNC defers only the fsync, not what other processes
 * see). Each handle counts with its own config: give every process of
 * one state the same. A sweep is one write transaction over every
 * record. A process killed (kill -9) inside a transaction leaves its
 * LMDB reader slot behind, which would keep every page written since
 * from reuse and so grow data.mdb while the others charge: clients_open()
 * frees such slots, and veild's sync thread does so again every
 * CLIENTS_SYNC_INTERVAL_MS.
 *
 * Threads: clients_charge() and clients_charge_request() from any
 * number of threads at once; the other calls on one handle from one
 * thread at a time. veil_crypto_init()
 * must have succeeded before clients_open().
 *
 * May use: common/ (error.h, keyfile.h); its own folder (lmdb_util.h,
 * store_file.h, store_thread.h); nothing else of the project.
 */
#ifndef VEIL_SERVER_CLIENTS_H
#define VEIL_SERVER_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CLIENTS_DIR                    "clients"     /* under the state directory */
#define CLIENTS_KEY_FILE               "clients.key" /* likewise */
#define CLIENTS_KEY_SIZE               32            /* a client's X25519 public key */
#define CLIENTS_DIGEST_SIZE            32
#define CLIENTS_DEFAULT_CAPACITY       6000
#define CLIENTS_DEFAULT_REFILL_PER_DAY 1500
#define CLIENTS_SYNC_INTERVAL_MS       1000
/* Days after which the sweep deletes an unenrolled client's record. */
#define CLIENTS_IDLE_DAYS              30
/* A quota override that charges nothing: for benchmark and test states,
 * whose load must not depend on how fast the machine is. */
#define CLIENTS_QUOTA_UNLIMITED        UINT32_MAX
/* retry_after when the request can never fit: more items than the bucket holds, or no refill. */
#define CLIENTS_RETRY_NEVER            UINT32_MAX
/* Requests (clients_charge_request()): the seconds a sent_at stays fresh,
 * back and ahead of the clock, as veild's replay guard judges it
 * (replay.h); a generation of digests lasts window + skew + 1 seconds. */
#define CLIENTS_REPLAY_WINDOW          300
#define CLIENTS_REPLAY_SKEW            30
#define CLIENTS_REPLAY_GENERATION      (CLIENTS_REPLAY_WINDOW + CLIENTS_REPLAY_SKEW + 1)
/* Digests one transaction of clients_expire_requests() deletes at most. */
#define CLIENTS_REPLAY_SWEEP_BATCH     4096
#define CLIENTS_EPHEMERAL_KEY_SIZE     32
#define CLIENTS_NONCE_SIZE             24

typedef struct clients clients;

typedef struct clients_config {
	int enrolment_required; /* 1: only enrolled keys; 0 (open): any key, default quota */
	uint32_t capacity;      /* tokens a full bucket holds; 1 or more */
	uint32_t refill_per_day;
} clients_config;

/* Enrolment required, CLIENTS_DEFAULT_CAPACITY, CLIENTS_DEFAULT_REFILL_PER_DAY. */
void clients_config_defaults(clients_config *c);

/*
 * Opens (creating) the clients database of state_dir and its digest key.
 * config: veild's configuration, recorded for veil-admin; the handle then
 * syncs in the background (see Durability). config NULL (veil-admin): the
 * configuration last recorded, or the defaults; every write is synced.
 * Then sweeps (clients_sweep()) at time(NULL); veild's handle sweeps
 * again at each new UTC day. Then deletes expired request digests
 * (clients_expire_requests()) at time(NULL); veild's handle, every
 * CLIENTS_SYNC_INTERVAL_MS. Errors: VEIL_ERR_ARGUMENT (capacity 0), VEIL_ERR_NOT_FOUND (no
 * state_dir), VEIL_ERR_PERMISSION (clients.key readable by others),
 * VEIL_ERR_CORRUPT (a damaged key file, database or record),
 * VEIL_ERR_LIMIT (the database is full), VEIL_ERR_NOMEM, VEIL_ERR_SYSTEM.
 */
veil_err clients_open(const char *state_dir, const clients_config *config, clients **out)
        __attribute__((warn_unused_result));

/* Syncs, stops the sync thread, wipes the digest key. NULL is a no-op. */
void clients_close(clients *c);

typedef enum clients_verdict {
	CLIENTS_OK,
	CLIENTS_UNAUTHORIZED, /* enrolment required and client_key is not enrolled */
	CLIENTS_RATE_LIMITED, /* *retry_after: seconds until the UTC midnight by which enough
	                         tokens return, or CLIENTS_RETRY_NEVER */
	CLIENTS_ERROR,        /* the database failed: answer INTERNAL, evaluate nothing */
} clients_verdict;

/*
 * Charges items tokens to client_key at now (unix seconds), or refuses
 * and takes none. *retry_after is 0 but for CLIENTS_RATE_LIMITED. A read
 * transaction decides refusals; only a charge that takes tokens (items >
 * 0) writes. Open enrolment: an unknown key starts with a full bucket of
 * the default size, as of now's day. A clock that steps back refills
 * nothing. Thread safe.
 */
clients_verdict clients_charge(clients *c, const uint8_t client_key[CLIENTS_KEY_SIZE],
                               uint32_t items, int64_t now, uint32_t *retry_after);

/* A sealed request, as clients_charge_request() tells one from another. */
typedef struct clients_request {
	const uint8_t *ephemeral_key; /* CLIENTS_EPHEMERAL_KEY_SIZE: its exchange's public key */
	const uint8_t *nonce;         /* CLIENTS_NONCE_SIZE: its box's nonce */
	uint64_t sent_at;             /* the client's time in it, unix seconds */
	int64_t clock; /* the real clock now, unix seconds: what sent_at is judged by */
} clients_request;

typedef enum clients_request_verdict {
	CLIENTS_REQUEST_OK,           /* charged, and remembered */
	CLIENTS_REQUEST_UNAUTHORIZED, /* as CLIENTS_UNAUTHORIZED */
	CLIENTS_REQUEST_RATE_LIMITED, /* as CLIENTS_RATE_LIMITED (not remembered) */
	CLIENTS_REQUEST_ERROR,        /* as CLIENTS_ERROR */
	CLIENTS_REQUEST_REPLAYED,     /* charged before, by any process of the state */
	CLIENTS_REQUEST_STALE,        /* sent_at not within [clock - CLIENTS_REPLAY_WINDOW,
	                                 clock + CLIENTS_REPLAY_SKEW]: its digest may be gone */
} clients_request_verdict;

/*
 * clients_charge() of one sealed request, charged at most once by all the
 * processes of the state: a request charged before, and still within
 * the window, is refused REPLAYED and takes nothing. The checks, in
 * order: enrolment (UNAUTHORIZED), sent_at against clock (STALE), the
 * request's digest (REPLAYED), the quota (RATE_LIMITED); refusals are
 * decided in a read transaction. A charge (items > 0) stores the tokens
 * taken and the request's digest (Storage) in one write transaction,
 * which decides again: two processes given the same request at once
 * charge it once. items 0 checks enrolment and the digest, and
 * remembers nothing. Thread safe. Returns CLIENTS_REQUEST_ERROR for c,
 * client_key, request or its pointers NULL.
 */
clients_request_verdict clients_charge_request(clients *c,
                                               const uint8_t client_key[CLIENTS_KEY_SIZE],
                                               const clients_request *request, uint32_t items,
                                               int64_t now, uint32_t *retry_after);

/*
 * Deletes the digests of requests whose sent_at can no longer be fresh
 * at clock (unix seconds): those of every generation that ended more
 * than CLIENTS_REPLAY_WINDOW seconds before it, in write transactions
 * of at most CLIENTS_REPLAY_SWEEP_BATCH deletions, from the oldest;
 * first a read, so that with nothing to delete nothing is written.
 * *erased (when not NULL) is the number deleted, also on failure.
 * clients_open() and veild's sync thread call it; tests may too. Errors:
 * VEIL_ERR_ARGUMENT (c NULL), VEIL_ERR_CORRUPT (a key of another size),
 * VEIL_ERR_LIMIT, VEIL_ERR_SYSTEM.
 */
veil_err clients_expire_requests(clients *c, int64_t clock, uint64_t *erased)
        __attribute__((warn_unused_result));

/* The number of request digests the store holds (a read): for tests and tools. Errors: LMDB's. */
veil_err clients_request_count(clients *c, uint64_t *count) __attribute__((warn_unused_result));

/* ------------------------------------------------------------------ */
/* Enrolment (veil-admin client ...) */

/*
 * Enrols client_key with quota override quota (0: the configuration's;
 * CLIENTS_QUOTA_UNLIMITED: never refused, never charged), or sets the
 * override of an enrolled one. A new client (never seen, removed, or
 * swept) starts with a full bucket as of now's day; a known one keeps its
 * tokens. *was_enrolled (when
 * not NULL) says whether it already was. Errors: VEIL_ERR_LIMIT (the
 * database is full), VEIL_ERR_CORRUPT, VEIL_ERR_SYSTEM.
 */
veil_err clients_enrol(clients *c, const uint8_t client_key[CLIENTS_KEY_SIZE], uint32_t quota,
                       int64_t now, int *was_enrolled) __attribute__((warn_unused_result));

/*
 * Withdraws client_key's enrolment by deleting its record, bucket and
 * all (see "What is forgotten"), then scrubs the freed pages (Storage;
 * a failed scrub is not an error: the record is gone). Errors: VEIL_ERR_ARGUMENT (c or
 * client_key NULL), VEIL_ERR_NOT_FOUND (not enrolled; nothing changed),
 * those of clients_enrol().
 */
veil_err clients_remove(clients *c, const uint8_t client_key[CLIENTS_KEY_SIZE])
        __attribute__((warn_unused_result));

/* One client as clients_list() reports it: never its key. */
typedef struct clients_record {
	uint8_t digest[CLIENTS_DIGEST_SIZE];
	int enrolled;
	uint32_t quota;          /* the override, 0 for none */
	uint32_t capacity;       /* in force for this client */
	uint32_t refill_per_day; /* likewise */
	uint32_t tokens;         /* whole tokens on the day of the now given to clients_list() */
	uint32_t last_use_day;   /* 0: never charged */
} clients_record;

/*
 * Calls fn for every client known (enrolled or not), in digest order,
 * with tokens as of now. fn returning non-zero stops the walk (VEIL_OK).
 * Errors: VEIL_ERR_CORRUPT (a damaged record), LMDB's.
 */
veil_err clients_list(clients *c, int64_t now, int (*fn)(void *arg, const clients_record *r),
                      void *arg) __attribute__((warn_unused_result));

/*
 * Deletes the records of clients not enrolled whose day and last use are
 * both CLIENTS_IDLE_DAYS or more before now's day, and rewrites version-1
 * records as version 2, in one write transaction; then, when it changed
 * any, scrubs the freed pages (Storage). *erased (when not NULL) is the
 * number deleted, 0 on failure. clients_open() and veild's
 * sync thread call it; tests and tools may too. Errors:
 * VEIL_ERR_ARGUMENT (c NULL), VEIL_ERR_CORRUPT (a damaged record: nothing
 * changed), VEIL_ERR_LIMIT (the database is full), VEIL_ERR_SYSTEM.
 */
veil_err clients_sweep(clients *c, int64_t now, uint64_t *erased)
        __attribute__((warn_unused_result));

/*
 * The day (unix seconds / 86400) of client_key's last charge into *day:
 * 0 when it has no record or was never charged. What a holder of the
 * state directory reads of a candidate key (see "What a copy of the state
 * directory reveals"); one read transaction, nothing written. Errors:
 * VEIL_ERR_ARGUMENT (c, client_key or day NULL), VEIL_ERR_CORRUPT (a
 * damaged record), LMDB's. On error *day is 0.
 */
veil_err clients_last_use(clients *c, const uint8_t client_key[CLIENTS_KEY_SIZE], uint32_t *day)
        __attribute__((warn_unused_result));

/* The digest client_key is stored under (its first bytes are its fingerprint). */
void clients_digest(const clients *c, const uint8_t client_key[CLIENTS_KEY_SIZE],
                    uint8_t out[CLIENTS_DIGEST_SIZE]);

/* The configuration the handle counts with. */
void clients_config_get(const clients *c, clients_config *out);

#endif

/*
 * The registry: which handles are registered, and the index veild serves
 * lookups from. One LMDB environment (a directory holding data.mdb and
 * lock.mdb) with these named databases:
 *
 *   handles         normalized handle -> version u8 (1) | added u64 |
 *                   payload_len u8 | payload. The source of truth.
 *   index/<id>      one per live OPRF key id (8 lowercase hex digits):
 *                   bucket u32 || tag[tag_len] -> the sealed payload
 *                   (ENTRY_SEALED_PAYLOAD_SIZE bytes) when the handle has a
 *                   payload, else nothing. y = F(k, handle) under that key,
 *                   bucket, tag and sealing as common/entry.h computes them.
 *   meta            format u32 (1), tag_len u8, mode u8, suite (the RFC 9497
 *                   identifier of the suite entries are made in, ASCII, for
 *                   example "P256-SHA256"; a registry without this record,
 *                   made before suites were recorded, is of
 *                   REGISTRY_DEFAULT_SUITE), keys (u32 each, the current
 *                   one first), handles u64, payloads u64, and per key id
 *                   slots/<id>: 33 u32, for each prefix length p the most
 *                   index entries any bucket of that prefix holds, rounded
 *                   up to a multiple of 8, at least 8; per live key id but
 *                   the current one, grace/<id>: u64 unix time after which
 *                   it is retired (see registry_rotate()).
 *
 * All integers are big-endian. A payload is 1 to ENTRY_MAX_PAYLOAD bytes;
 * a handle without one has payload_len 0 (an empty payload is no payload).
 *
 * Every change is one LMDB write transaction that also recomputes the
 * counts and the slots: readers see the registry before or after a change,
 * never in between, and a crash or kill -9 leaves one or the other.
 * Several processes may have the same registry open (veild readers,
 * veil-admin writing); LMDB serializes writers, and a writer holds the
 * write lock from its first read to its commit (an import, through all
 * its OPRF evaluations), so that what it computed from still holds when
 * it commits. Readers never wait for writers.
 *
 * The memory map is 16 GiB, sparse: a handle takes about 70 bytes, 190
 * with a payload (measured), so tens of millions fit; beyond, writes fail
 * with VEIL_ERR_LIMIT.
 *
 * Nothing here logs; no error carries a handle or a key.
 *
 * May use: common/ (entry.h, error.h, oprf.h); its own folder
 * (lmdb_util.h, store_file.h); nothing else of the project.
 */
#ifndef VEIL_SERVER_REGISTRY_H
#define VEIL_SERVER_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "oprf.h"

#define REGISTRY_WARN_UNUSED __attribute__((warn_unused_result))

/* The registry format this code reads and writes. */
#define REGISTRY_FORMAT         1
/* At most this many live OPRF key ids. */
#define REGISTRY_MAX_KEYS       8
/* Prefix lengths 0..32: slots has this many values. */
#define REGISTRY_PREFIXES       33
/* The longest handle stored, in bytes (LMDB's key limit is 511). */
#define REGISTRY_MAX_HANDLE     320
/* Slots are a multiple of this, and at least this. */
#define REGISTRY_SLOT_QUANTUM   8
/* The suite of a registry whose meta has no suite record, and keygen's default. */
#define REGISTRY_DEFAULT_SUITE  "ristretto255-SHA512"
/*
 * The most handles one 32-bit bucket may hold. Buckets are a public,
 * unkeyed hash (common/entry.h), so whoever can register handles of their
 * choosing can pile them into one bucket and raise the slots of every
 * prefix length, until a full batch no longer fits a reply. Honest data
 * never comes near: n handles put n / 2^32 in a bucket on average (0.23
 * at 10^9), and the chance that any bucket holds more than 16 is about
 * 2^32 * P(Poisson(0.23) >= 17), below 2 * 10^-16 at 10^9 handles (and
 * 10^-32 at 10^8; the registry's map holds tens of millions). Every
 * writer that adds index entries (registry_import(), registry_add(),
 * registry_rotate()) refuses a result with a fuller bucket.
 */
#define REGISTRY_MAX_PER_BUCKET 16

typedef struct registry registry;

/* One worker thread's read handle; see registry_reader_begin(). */
typedef struct registry_reader registry_reader;

/* What a read snapshot shows. */
typedef struct registry_view {
	uint8_t tag_len;
	uint8_t mode;            /* the RFC 9497 mode entries are made in: OPRF or VOPRF */
	const oprf_suite *suite; /* the RFC 9497 suite entries are made in (meta suite) */
	uint64_t handles;        /* registered handles */
	uint64_t payloads;       /* handles with a payload */
	uint32_t key_count;
	uint32_t key_ids[REGISTRY_MAX_KEYS]; /* current first */
	uint32_t slots[REGISTRY_PREFIXES];   /* for the current key id, per prefix length */
} registry_view;

/* 1 when view lists key_id as live, else 0. */
int registry_view_has_key(const registry_view *view, uint32_t key_id);

/* An OPRF key the writers compute index entries with (borrowed). */
typedef struct registry_key {
	uint32_t id;
	const oprf_key *key;
} registry_key;

/* One handle to store. The pointers are borrowed for the call. */
typedef struct registry_record {
	const char *handle; /* normalized (common/normalize.h), not NUL-terminated */
	size_t handle_len;  /* 1..REGISTRY_MAX_HANDLE */
	const uint8_t *payload;
	size_t payload_len; /* 0 (none)..ENTRY_MAX_PAYLOAD */
} registry_record;

/* What a change did. */
typedef struct registry_change {
	uint64_t added;      /* handles that were not registered before */
	uint64_t replaced;   /* handles already registered: payload replaced */
	uint64_t duplicates; /* records dropped for a later one with the same handle */
	/*
	 * Set only when the change was refused for the bucket cap
	 * (VEIL_ERR_LIMIT): the handles the fullest bucket would have held,
	 * above the cap. 0 otherwise.
	 */
	uint64_t crowded;
} registry_change;

/* The stages of registry_import(), as reported to its progress callback. */
typedef enum registry_stage {
	REGISTRY_STAGE_SORT,    /* done/total: records (reported once, at the end) */
	REGISTRY_STAGE_COMPUTE, /* done/total: handles evaluated under every key */
	REGISTRY_STAGE_WRITE,   /* done/total: index and handle records written */
	REGISTRY_STAGE_COMMIT,  /* done/total: 0/1 before the commit, 1/1 after */
} registry_stage;

typedef void registry_progress_fn(void *arg, registry_stage stage, uint64_t done, uint64_t total);

typedef struct registry_import_options {
	/* Worker threads for the OPRF evaluations; 0 = online CPUs. */
	unsigned threads;
	/* Called from the calling thread about every 100 ms; may be NULL. */
	registry_progress_fn *progress;
	void *progress_arg;
} registry_import_options;

/* Figures for an operator (veil-admin stats and info). */
typedef struct registry_stats {
	registry_view view;
	/* slots[i] are those of view.key_ids[i]. */
	uint32_t slots[REGISTRY_MAX_KEYS][REGISTRY_PREFIXES];
	uint64_t file_size;      /* data.mdb: bytes the file spans */
	uint64_t file_allocated; /* data.mdb: bytes allocated on disk */
	uint64_t used_size;      /* bytes of LMDB pages in use */
	uint64_t index_entries[REGISTRY_MAX_KEYS];
} registry_stats;

/* The result of registry_verify(). Counts are of what was found wrong. */
typedef struct registry_verify_summary {
	uint64_t handles;          /* records in handles */
	uint64_t payloads;         /* of those, with a payload */
	uint64_t bad_records;      /* handle records that do not parse */
	uint64_t missing_entries;  /* (handle, key) pairs with no index entry */
	uint64_t payload_mismatch; /* index values that do not open to the handle's payload */
	uint64_t dangling_entries; /* index entries no handle accounts for */
	uint64_t count_mismatch;   /* meta counts or slots that disagree with the data */
} registry_verify_summary;

/*
 * Creates a registry at path: makes the directory (mode 0700; it must not
 * exist), the LMDB files (0600), and the meta for tag_len
 * (ENTRY_MIN_TAG_SIZE..ENTRY_MAX_TAG_SIZE) and the single live key id
 * key_id, with no handles, whose entries are made in RFC 9497 mode mode
 * (OPRF_MODE_OPRF or OPRF_MODE_VOPRF) on suite (borrowed; recorded in the
 * meta: every writer then takes keys of that suite only). Synced to disk
 * before returning.
 * Errors: VEIL_ERR_ARGUMENT (also a NULL suite), VEIL_ERR_EXISTS (path exists),
 * VEIL_ERR_SYSTEM (errno may tell), VEIL_ERR_NOMEM. On error nothing
 * is left behind.
 */
veil_err registry_create(const char *path, uint8_t tag_len, uint32_t key_id, uint8_t mode,
                         const oprf_suite *suite) REGISTRY_WARN_UNUSED;

/*
 * Opens the registry at path. *out is set to NULL first; on success it
 * owns the environment until registry_free(). Checks the meta (format,
 * tag_len, mode, suite, key list) and opens the index of every live key.
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_NOT_FOUND (no registry there),
 * VEIL_ERR_CORRUPT (not a registry, or of another format, or of a suite
 * this build does not serve),
 * VEIL_ERR_SYSTEM, VEIL_ERR_NOMEM.
 */
veil_err registry_open(const char *path, registry **out) REGISTRY_WARN_UNUSED;

/*
 * Writes a compact copy of the registry to the new file fd (open for
 * writing, empty; the caller's to close): LMDB's copy with compaction
 * (free pages left out, pages renumbered) of one read snapshot, so the
 * copy is the registry as of one moment even while writers commit
 * meanwhile; they are not held up. The file is fsynced. Made into a
 * registry by naming it data.mdb in a directory of its own.
 * Errors: VEIL_ERR_ARGUMENT (reg NULL, fd negative), VEIL_ERR_SYSTEM
 * (a write or the fsync failed; errno may tell), VEIL_ERR_NOMEM.
 */
veil_err registry_copy_compact(registry *reg, int fd) REGISTRY_WARN_UNUSED;

/* Closes the environment. Every reader must have been freed. NULL is a no-op. */
void registry_free(registry *reg);

/*
 * Whether path names the registry reg has open: 1 when path/data.mdb
 * (links followed) is the very file reg's environment maps, 0 when it is
 * another file or none, -1 when that cannot be told (reg or path NULL,
 * out of memory). One stat(2) and one fstat(2). A state directory whose
 * registry link was switched (state_install()) says 0 here.
 */
int registry_is_at(const registry *reg, const char *path);

/*
 * Sets the most handles one 32-bit bucket may hold after this process's
 * writes through reg (registry_open() sets REGISTRY_MAX_PER_BUCKET): cap
 * 1..REGISTRY_MAX_PER_BUCKET, so it can only be made stricter (tests use
 * a low cap, since 17 handles in one 32-bit bucket cost about 2^30
 * hashes to find). Not stored: other processes keep their own. Not
 * while another thread writes through reg. Errors: VEIL_ERR_ARGUMENT.
 */
veil_err registry_set_max_per_bucket(registry *reg, uint32_t cap) REGISTRY_WARN_UNUSED;

/*
 * A reader for one thread at a time (one per worker thread). It holds an
 * LMDB reader slot from registry_reader_new() to registry_reader_free(),
 * and a read snapshot between registry_reader_begin() and
 * registry_reader_end(): keep that span short, since pages a snapshot
 * sees cannot be reused by writers.
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_NOMEM, VEIL_ERR_LIMIT (no reader
 * slot left), VEIL_ERR_SYSTEM.
 */
veil_err registry_reader_new(registry *reg, registry_reader **out) REGISTRY_WARN_UNUSED;

/* Ends any snapshot and frees. NULL is a no-op. */
void registry_reader_free(registry_reader *r);

/*
 * Starts a read snapshot and fills *view from it (zeroed on error, and
 * then no snapshot is held). Calling it while a snapshot is held ends
 * that one first.
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_CORRUPT (meta damaged),
 * VEIL_ERR_SYSTEM.
 */
veil_err registry_reader_begin(registry_reader *r, registry_view *view) REGISTRY_WARN_UNUSED;

/*
 * The slots of another live key id in the same snapshot (zeroed on error).
 * Errors: VEIL_ERR_ARGUMENT (no snapshot held), VEIL_ERR_NOT_FOUND (key
 * id not live), VEIL_ERR_CORRUPT.
 */
veil_err registry_reader_slots(registry_reader *r, uint32_t key_id,
                               uint32_t slots[REGISTRY_PREFIXES]) REGISTRY_WARN_UNUSED;

/*
 * Writes the entries of key_id whose bucket's top prefix_bits bits equal
 * prefix (whose low bits must be zero) into out, each entry_size bytes:
 * the tag (tag_len bytes) then, when payload_size > 0, the sealed payload,
 * or payload_size random bytes for an entry without one (entry_size ==
 * tag_len + payload_size; payload_size is 0 or ENTRY_SEALED_PAYLOAD_SIZE).
 * Entries come in index order. *count is the number written.
 * Errors: VEIL_ERR_ARGUMENT (no snapshot, prefix_bits above 32, low bits
 * set in prefix, bad payload_size), VEIL_ERR_NOT_FOUND (key id not live),
 * VEIL_ERR_LIMIT (more than max_entries entries: *count is 0 and
 * nothing is promised about out), VEIL_ERR_CORRUPT (an entry of the
 * wrong size), VEIL_ERR_SYSTEM.
 */
veil_err registry_reader_bucket(registry_reader *r, uint32_t key_id, uint32_t prefix,
                                unsigned prefix_bits, size_t payload_size, uint8_t *out,
                                size_t max_entries, size_t *count) REGISTRY_WARN_UNUSED;

/* Ends the snapshot; the reader can begin again. Harmless without one. */
void registry_reader_end(registry_reader *r);

/*
 * The writers below take the OPRF keys: keys[0..key_count) must hold a
 * key for every live key id (more are ignored), each of the registry's
 * suite (registry_view.suite; else VEIL_ERR_ARGUMENT, or
 * VEIL_ERR_NOT_FOUND for a live id without a key). On any error the
 * registry is unchanged and *change is zeroed (but for crowded, when the
 * bucket cap refused it).
 *
 * The bucket cap (registry_set_max_per_bucket()) is checked on the
 * registry as the change would leave it, every bucket, not only those
 * the change adds to: a registry that holds a fuller bucket already
 * (written before the cap, or by a process with a higher one) takes no
 * import or add until handles are removed (registry_remove() is never
 * refused for it).
 */

/*
 * Stores count records (in any order) in one write transaction. A handle
 * already registered keeps its added time and gets the record's payload
 * (or none). When several records carry the same handle, the last one
 * wins and the others count as duplicates. The OPRF evaluations run on
 * options->threads threads (options may be NULL); the index is then
 * written in key order.
 * Errors: VEIL_ERR_ARGUMENT (a record out of bounds, bad keys),
 * VEIL_ERR_NOT_FOUND, VEIL_ERR_EXISTS (two handles with the same bucket
 * and tag: a 2^-64-scale accident, refused so no entry is shared),
 * VEIL_ERR_LIMIT (the registry file is full; or, with change->crowded
 * set, a bucket would hold more handles than the cap), VEIL_ERR_CORRUPT,
 * VEIL_ERR_SYSTEM, VEIL_ERR_NOMEM, and what oprf_evaluate() returns.
 */
veil_err registry_import(registry *reg, const registry_key *keys, size_t key_count,
                         const registry_record *records, size_t count,
                         const registry_import_options *options,
                         registry_change *change) REGISTRY_WARN_UNUSED;

/* registry_import() of one record, on the calling thread. */
veil_err registry_add(registry *reg, const registry_key *keys, size_t key_count,
                      const registry_record *record, registry_change *change) REGISTRY_WARN_UNUSED;

/*
 * Removes a registered handle and its index entries.
 * Errors: VEIL_ERR_NOT_FOUND (not registered, or no key for a live id:
 * nothing changed), VEIL_ERR_ARGUMENT, VEIL_ERR_CORRUPT (its index
 * entry is missing), VEIL_ERR_SYSTEM, and what oprf_evaluate() returns.
 */
veil_err registry_remove(registry *reg, const registry_key *keys, size_t key_count,
                         const char *handle, size_t handle_len) REGISTRY_WARN_UNUSED;

/*
 * Fills *out from one read snapshot (zeroed on error).
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_CORRUPT, VEIL_ERR_SYSTEM.
 */
veil_err registry_stats_read(registry *reg, registry_stats *out) REGISTRY_WARN_UNUSED;

/*
 * Checks one read snapshot: every handle record parses and has exactly one
 * index entry per live key (at bucket || tag of F(k, handle)) whose value
 * opens to its payload; every index entry belongs to a handle; the meta
 * counts and slots agree; no index, slots or deadline is left of a key id
 * not live, and the current key has no deadline (count_mismatch).
 * Evaluates on threads threads (0 = online CPUs). Returns VEIL_OK when
 * the check ran (then *out says what is wrong, all zero when nothing
 * is), or VEIL_ERR_ARGUMENT, VEIL_ERR_NOT_FOUND,
 * VEIL_ERR_CORRUPT (meta damaged), VEIL_ERR_SYSTEM, VEIL_ERR_NOMEM,
 * or what oprf_evaluate() returns.
 */
veil_err registry_verify(registry *reg, const registry_key *keys, size_t key_count,
                         unsigned threads, registry_verify_summary *out) REGISTRY_WARN_UNUSED;

/* Whether a summary from registry_verify() found nothing wrong: 1 or 0. */
int registry_verify_ok(const registry_verify_summary *summary);

/*
 * Key rotation. A rotation makes a new key id current: its index is
 * built from handles under that key, and in the same transaction it goes
 * first in the key list while the key that was current stays live, with
 * its index, until a deadline (meta grace/<id>: u64 unix time) recorded
 * then. Retiring drops, in one transaction, every live key but the
 * current one whose deadline has come: its index, slots and deadline.
 * Key ids only grow, so an id is never reused.
 *
 * Retiring closes the dropped index's handle in this process (LMDB closes
 * it at mdb_drop): call registry_rotate() and registry_retire() only in a
 * process where no other thread uses the registry (veil-admin), never in
 * veild. Other processes are unaffected: their snapshots show the key
 * live or not, and their readers follow.
 */

/* What a rotation or retirement removed. */
typedef struct registry_rotation {
	uint32_t removed_count;
	uint32_t removed[REGISTRY_MAX_KEYS]; /* key ids retired */
	/* As registry_change's: set only when registry_rotate() was refused for the bucket cap. */
	uint64_t crowded;
} registry_rotation;

/* The live keys and their deadlines, from one snapshot. */
typedef struct registry_schedule {
	uint32_t key_count;
	uint32_t key_ids[REGISTRY_MAX_KEYS];   /* current first */
	uint64_t retire_at[REGISTRY_MAX_KEYS]; /* unix time; 0: none (the current key) */
} registry_schedule;

/*
 * In one write transaction: retires the keys whose deadline is at or
 * before now (as registry_retire()), builds the index of new_key from
 * every handle (OPRF evaluations on options->threads threads, progress
 * as registry_import() reports it; options may be NULL), makes new_key
 * current, and gives the key that was current the deadline retire_at
 * (unless it has an earlier one). new_key->id must exceed every live id.
 * The write lock is held from the first read to the commit; readers keep
 * seeing the registry before until then. *result says what was retired
 * (zeroed on error, and then the registry is unchanged).
 * Errors: VEIL_ERR_ARGUMENT (no key, id 0, a key of another suite than the
 * registry's, retire_at 0),
 * VEIL_ERR_EXISTS (a live id not below new_key->id: rotated meanwhile),
 * VEIL_ERR_LIMIT (REGISTRY_MAX_KEYS live keys, or the file is full, or,
 * with result->crowded set, a bucket holds more handles than the cap),
 * VEIL_ERR_CORRUPT, VEIL_ERR_SYSTEM, VEIL_ERR_NOMEM, and what
 * oprf_evaluate() returns.
 */
veil_err registry_rotate(registry *reg, const registry_key *new_key, uint64_t now,
                         uint64_t retire_at, const registry_import_options *options,
                         registry_rotation *result) REGISTRY_WARN_UNUSED;

/*
 * Retires, in one write transaction, the live keys (never the current
 * one) whose deadline is at or before now. Nothing to retire changes
 * nothing. *result lists them (zeroed on error: then nothing changed).
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_CORRUPT, VEIL_ERR_SYSTEM, VEIL_ERR_LIMIT.
 */
veil_err registry_retire(registry *reg, uint64_t now,
                         registry_rotation *result) REGISTRY_WARN_UNUSED;

/*
 * Fills *out from one read snapshot (zeroed on error).
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_CORRUPT, VEIL_ERR_SYSTEM.
 */
veil_err registry_schedule_read(registry *reg, registry_schedule *out) REGISTRY_WARN_UNUSED;

/* Reads a key id written as 8 lowercase hex digits (as in index names and
 * key file names) from hex; 1 and *id set, or 0 when they are not that. */
int registry_parse_key_id(const char *hex, uint32_t *id);

#endif

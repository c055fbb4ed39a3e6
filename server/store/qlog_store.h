/*
 * The query log's LMDB environment (qlog.h): the entries, and the meta
 * that lets veil-admin read them without the server.
 *
 * Databases of the environment DIR/log/:
 *
 *   entries   key:   day u32 BE | id u64 BE
 *             value: version u8 (2) | hour u8 | status u16 BE | t_r u8 |
 *                    t_b u8 | item count u16 BE | requester digest |
 *                    item count bucket digests, ascending
 *             where a digest of width t takes ceil(t / 8) bytes, big-endian
 *             (none for t = 0), and t_b is this entry's bucket width.
 *   meta      "format"  "veil-log-v2"
 *             "config"  the configuration the log was last opened with
 *                       (its anonymous flag included: tokens mode), and
 *                       the widths then in force (qlog_store_config)
 *             "dropped" u64 BE: entries dropped, all time
 *
 * id is random (libsodium's randombytes; drawn again on the rare clash
 * with an entry already stored), so the entries of a day sort in an
 * order that says nothing of their arrival. In a version 2 value the
 * item count is a size class (qlog_size_class()) and the digests, real
 * and padding alike (qlog.h), are stored in ascending order.
 *
 * The older layout, "veil-log-v1", is read too: its keys hold a sequence
 * number (the entries of a day counted from 0 in commit order), its
 * values are version 1 (the exact item count, the digests in the
 * client's order). Opening such a log for writing marks it "veil-log-v2";
 * its old entries stay as they are (and are read as they are) until
 * retention deletes them.
 *
 * Any number of processes may have the environment open; LMDB
 * serializes the writers. Within a process, open it once (LMDB's rule):
 * any number of threads may then use the store at once, each call
 * running its own transaction (the environment is opened MDB_NOTLS).
 *
 * May use: common/ (error.h); its own folder (lmdb_util.h, qlog.h,
 * store_file.h); nothing else of the project.
 */
#ifndef VEIL_SERVER_QLOG_STORE_H
#define VEIL_SERVER_QLOG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "qlog.h"

#define QLOG_STORE_FORMAT    "veil-log-v2"
/* The older layout, still read (see above). */
#define QLOG_STORE_FORMAT_V1 "veil-log-v1"
/* The most items an entry holds (the item count is a u16). */
#define QLOG_STORE_MAX_ITEMS 65535

typedef struct qlog_store qlog_store;

/* What meta "config" holds. */
typedef struct qlog_store_config {
	qlog_config config; /* as given (t_r, t_b 0 when derived); queue_capacity is not kept */
	uint8_t t_r, t_b;   /* the widths in force */
} qlog_store_config;

/* One entry as stored; buckets points into the store's read transaction. */
typedef struct qlog_entry {
	uint32_t day;
	uint64_t id;     /* the key's random part (a sequence number in a version 1 entry) */
	uint8_t version; /* of the value: 1 (exact count, client's order) or 2 */
	uint8_t hour;
	uint16_t status;
	uint8_t t_r, t_b;
	uint32_t requester;
	uint32_t item_count; /* version 2: the size class, padding included */
	const uint8_t *buckets; /* item_count packed digests: see qlog_entry_bucket() */
} qlog_entry;

/* An entry waiting for the writer: its day and its encoded value (malloc'd). */
typedef struct qlog_pending {
	uint32_t day;
	uint32_t value_len;
	uint8_t *value;
} qlog_pending;

/*
 * Opens the environment in dir (which must exist). read_only opens it
 * for reading only and requires the databases to exist; otherwise they
 * are created and meta "format" written. *out is set to NULL first.
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_NOT_FOUND (read_only and no log
 * there), VEIL_ERR_CORRUPT (not a veil log, or damaged), VEIL_ERR_SYSTEM,
 * VEIL_ERR_NOMEM.
 */
veil_err qlog_store_open(const char *dir, int read_only, qlog_store **out)
        __attribute__((warn_unused_result));

/* Closes. NULL is a no-op. */
void qlog_store_close(qlog_store *s);

/* Writes meta "config". Errors: LMDB's, mapped as in registry.c. */
veil_err qlog_store_write_config(qlog_store *s, const qlog_store_config *config)
        __attribute__((warn_unused_result));

/*
 * Reads meta "config" into *out. Errors: VEIL_ERR_NOT_FOUND (never
 * written), VEIL_ERR_CORRUPT, LMDB's.
 */
veil_err qlog_store_read_config(qlog_store *s, qlog_store_config *out)
        __attribute__((warn_unused_result));

/* Reads meta "dropped" (0 when never written). */
veil_err qlog_store_read_dropped(qlog_store *s, uint64_t *out) __attribute__((warn_unused_result));

/*
 * Stores count entries, each under a fresh random id, and adds
 * add_dropped to meta "dropped", in one write transaction: all or
 * nothing. The values stay the caller's. Errors: VEIL_ERR_LIMIT (the map
 * is full), LMDB's.
 */
veil_err qlog_store_append(qlog_store *s, const qlog_pending *entries, size_t count,
                           uint64_t add_dropped) __attribute__((warn_unused_result));

/*
 * Deletes every entry of a day before day, in transactions of a bounded
 * size (a running server's commits interleave). *deleted (when not NULL)
 * gets how many. Errors: LMDB's; what was deleted stays deleted.
 */
veil_err qlog_store_delete_before(qlog_store *s, uint32_t day, uint64_t *deleted)
        __attribute__((warn_unused_result));

/*
 * Calls fn for each entry of the days since..until (inclusive), in key
 * order (by day, then by the random id), in one read transaction; the entry is valid during the call
 * only. Stops at the first error fn returns, and returns it. Errors:
 * VEIL_ERR_CORRUPT (a key or value that does not decode), LMDB's.
 */
veil_err qlog_store_scan(qlog_store *s, uint32_t since, uint32_t until,
                         veil_err (*fn)(void *arg, const qlog_entry *entry), void *arg)
        __attribute__((warn_unused_result));

/* The bytes an entry's value takes. */
size_t qlog_value_size(uint8_t t_r, uint8_t t_b, uint32_t item_count);

/*
 * Writes the head of a version 2 value (version through requester
 * digest) into out, which has qlog_value_size() bytes; then
 * qlog_value_set_bucket() fills in the bucket digests, which the caller
 * gives in ascending order. item_count is the size class (qlog.h).
 */
void qlog_value_encode_head(uint8_t *out, uint8_t hour, uint16_t status, uint8_t t_r, uint8_t t_b,
                            uint32_t item_count, uint32_t requester);
void qlog_value_set_bucket(uint8_t *out, uint8_t t_r, uint8_t t_b, uint32_t index, uint32_t digest);

/*
 * Decodes a value of version 1 or 2 (all of it: trailing bytes, widths
 * above QLOG_MAX_WIDTH or a digest of t bits not below 2^t are errors)
 * into *out, whose day and id are left to the caller. VEIL_ERR_CORRUPT.
 */
veil_err qlog_value_decode(const uint8_t *value, size_t len, qlog_entry *out)
        __attribute__((warn_unused_result));

/* Bucket digest index (below item_count) of a decoded entry. */
uint32_t qlog_entry_bucket(const qlog_entry *entry, uint32_t index);

#endif

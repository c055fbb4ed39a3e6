/*
 * The query log's salt chain (qlog.h): the chain key of the current
 * epoch day and the salts of the retained days, in guarded memory, and
 * their secret files in the log directory.
 *
 *   chain_{e+1} = BLAKE2b-256(key chain_e, message r_e, salt id 1, personal "veil-log")
 *   salt_e      = crypto_kdf_derive_from_key(32, 2, "veil-log", chain_e)
 *
 * r_e is SALTCHAIN_STEP_RANDOM_SIZE fresh random bytes (randombytes_buf)
 * drawn for that one step, held in guarded memory for it and wiped:
 * never stored, never reused. (The step is libsodium's KDF, BLAKE2b-256
 * keyed with chain_e with the subkey id as its salt and "veil-log" as
 * its personalization, with r_e as the message the KDF leaves empty;
 * salt_e is that KDF itself.) Advancing overwrites the chain key in
 * place, so memory only ever holds the current one. Two properties
 * follow:
 *
 *   forward security: BLAKE2b is one-way, so neither chain_{e+1} nor
 *   any salt gives back chain_e or an earlier salt;
 *   post-compromise security: whoever copies the state on day e (chain_e
 *   and the retained salts) learns nothing of salt_{e+1} or any later
 *   salt, since each step mixes in a secret they never saw.
 *
 * The price: a step is not repeatable. Two processes that step the same
 * chain key to the same day (veild and `veil-admin log purge` both
 * crossing a day change) would reach different keys, and one of them
 * would digest the day's entries under a salt no file holds. So the
 * processes of one log step only through saltchain_step_shared(), which
 * holds a lock on the directory while it steps and writes the files, and
 * takes the files' chain when another process has stepped further; and
 * they write files only through saltchain_sync(), under the same lock,
 * which leaves the files alone when another process has stepped further
 * (a lagging chain would bring back what that process erased).
 *
 * Files, in the log directory, each a common/keyfile.h file (mode 0600):
 *
 *   chain-<day>.key   "veil-log-chain-v1 <hex>": the current chain key;
 *                     one file (two for a moment during an advance: the
 *                     newer is written before the older is erased)
 *   salt-<day>.key    "veil-log-salt-v1 <hex>": a retained salt
 *   chain.lock        empty (mode 0600): the lock saltchain_step_shared()
 *                     and saltchain_sync() hold while they step or write
 *
 * <day> is the epoch day in decimal (days since 1970-01-01 UTC). Erasing
 * a file overwrites its bytes with zeros, fsyncs, unlinks it and fsyncs
 * the directory. (On a copy-on-write file system or flash, overwriting
 * in place is best effort: keep the state on a plain file system.)
 *
 * Retention: with retention R, the salts of the days (day - R, day] are
 * held, day being the chain's current day; older ones are wiped from
 * memory as the chain advances, and from disk by saltchain_sync().
 *
 * A saltchain is not thread safe; qlog.c guards it with a lock, and
 * writes files from a snapshot (saltchain_copy) so that no lock is held
 * across I/O. veil_crypto_init() must have succeeded first.
 *
 * May use: common/ (error.h, keyfile.h); its own folder (store_file.h);
 * nothing else of the project.
 */
#ifndef VEIL_SERVER_SALTCHAIN_H
#define VEIL_SERVER_SALTCHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SALTCHAIN_KEY_SIZE         32
/* Fresh random bytes mixed into each step of the chain. */
#define SALTCHAIN_STEP_RANDOM_SIZE 32
#define SALTCHAIN_CHAIN_KIND       "veil-log-chain-v1"
#define SALTCHAIN_SALT_KIND        "veil-log-salt-v1"
#define SALTCHAIN_LOCK_FILE        "chain.lock"
/* The retention a chain can be made with (days). */
#define SALTCHAIN_MAX_RETENTION    3660

typedef struct saltchain saltchain;

/*
 * An empty chain (no chain key, no salt) keeping retention_days
 * (1..SALTCHAIN_MAX_RETENTION) salts. Errors: VEIL_ERR_ARGUMENT,
 * VEIL_ERR_NOMEM.
 */
veil_err saltchain_new(uint32_t retention_days, saltchain **out)
        __attribute__((warn_unused_result));

/* Wipes the chain key and the salts, and frees. NULL is a no-op. */
void saltchain_free(saltchain *c);

/*
 * Loads c (empty, as from saltchain_new) from dir: the newest chain file,
 * then the salt files of the days within the retention of the current
 * day, which is the later of the chain's day and today; then advances the
 * chain to that day (saltchain_advance(): each day stepped draws fresh
 * randomness). With no chain file, create makes a random chain key
 * for today; without create the chain stays keyless and only the loaded
 * salts are held. Touches no file (saltchain_sync() erases what is
 * obsolete). Errors: VEIL_ERR_PERMISSION (a file the group or others may
 * read), VEIL_ERR_CORRUPT (the newest chain file or a salt file in the
 * window is damaged), VEIL_ERR_SYSTEM (the directory cannot be read).
 */
veil_err saltchain_load(saltchain *c, const char *dir, uint32_t today, int create)
        __attribute__((warn_unused_result));

/* 1 when c holds a chain key. */
int saltchain_has_key(const saltchain *c);

/* The current day (0 for a chain never loaded). */
uint32_t saltchain_day(const saltchain *c);

/*
 * Moves c forward to day (nothing when day is before its current day):
 * derives the salts of the days of the new window, steps the chain
 * key once per day with fresh randomness (so two chains advanced from
 * the same state reach different keys and salts), and wipes the salts
 * that fell out of the window. Memory only, no I/O; a keyless chain only
 * forgets salts. Takes one KDF and SALTCHAIN_STEP_RANDOM_SIZE random
 * bytes per day.
 */
void saltchain_advance(saltchain *c, uint32_t day);

/*
 * The salt of day (SALTCHAIN_KEY_SIZE bytes), or NULL when c does not
 * hold it. Valid until c is next changed.
 */
const uint8_t *saltchain_salt(const saltchain *c, uint32_t day);

/*
 * Makes dst (made with the same retention) an exact copy of src, for
 * writing outside a lock; wipe it with saltchain_clear() after use.
 */
void saltchain_copy(saltchain *dst, const saltchain *src);

/* Wipes c's key and salts; c is then empty, as from saltchain_new(). */
void saltchain_clear(saltchain *c);

/*
 * Makes dir agree with c, holding the lock saltchain_step_shared() takes
 * (waiting for it): writes the files of the held salts and of the chain
 * key that are missing (and fsyncs the directory), then erases every
 * chain file of an earlier day and every salt file of a day before the
 * window. When dir holds a chain file of a later day than c's, another
 * process of the same log has stepped further: the files are its
 * chain's, and it writes and erases nothing (c's files would bring back
 * the chain key and salts that process erased); c catches up at its next
 * saltchain_step_shared(). *salts_erased (when not NULL) gets the number
 * of salt files erased. Errors: VEIL_ERR_SYSTEM (errno tells; also: the
 * lock cannot be taken), VEIL_ERR_NOMEM; what was done stays done, the
 * next call finishes it.
 */
veil_err saltchain_sync(const saltchain *c, const char *dir, uint32_t *salts_erased)
        __attribute__((warn_unused_result));

/*
 * Brings c and dir to day together, as every process of one log must:
 * holds an exclusive lock on dir/SALTCHAIN_LOCK_FILE (flock(2), waiting
 * for it) while it finds the day of the newest chain file, then, when c
 * was never loaded or that file is of a later day than c (another process
 * stepped further), loads c from dir as saltchain_load(c, dir, day,
 * create) does; otherwise advances c to day. Either way it writes the
 * files (saltchain_sync(), *salts_erased when not NULL) before the lock
 * is released. So two processes crossing one midnight end with one salt
 * for the new day, whichever steps first. patient: wait for the lock as
 * long as it takes (veil-admin, veild's start); 0 (veild's record path,
 * whose workers wait meanwhile): at most 2 s, for a process that holds
 * the lock longer than a step takes is not stepping. Errors:
 * VEIL_ERR_NOMEM; VEIL_ERR_SYSTEM (the lock cannot be taken, or not in
 * time: c is then advanced alone, as saltchain_advance() would; or the
 * directory cannot be read or written: the next call writes what is
 * missing); those of saltchain_load() (c is then empty when it was
 * never loaded, else advanced alone).
 */
veil_err saltchain_step_shared(saltchain *c, const char *dir, uint32_t day, int create, int patient,
                               uint32_t *salts_erased) __attribute__((warn_unused_result));

/*
 * The days of the salt files in dir, ascending, in *days (malloc'd; free
 * it) and their number in *count; reads no secret. Errors:
 * VEIL_ERR_SYSTEM, VEIL_ERR_NOMEM.
 */
veil_err saltchain_list_salts(const char *dir, uint32_t **days, size_t *count)
        __attribute__((warn_unused_result));

/*
 * Reads the salt file of day from dir into salt (the caller's guarded
 * memory). Errors: those of keyfile_read().
 */
veil_err saltchain_read_salt(const char *dir, uint32_t day, uint8_t salt[SALTCHAIN_KEY_SIZE])
        __attribute__((warn_unused_result));

#endif

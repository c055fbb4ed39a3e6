/*
 * A server's state directory: its keys and its registry.
 *
 *   DIR/                       mode 0700
 *   DIR/transport.key          X25519 secret key, "veil-transport-key-v1"
 *   DIR/oprf-<id>.key          OPRF secret scalar of key id <id> (8 lowercase
 *                              hex digits), Ns bytes of the registry's
 *                              suite, labelled state_oprf_key_kind():
 *                              "veil-oprf-key-v1" for ristretto255-SHA512,
 *                              "veil-oprf-key-v1-<suite>" for the others
 *                              ("veil-oprf-key-v1-P256-SHA256")
 *   DIR/registry/              the LMDB registry (server/store/registry.h),
 *                              whose meta records the state's RFC 9497
 *                              suite (absent in a registry made before
 *                              suites were recorded: ristretto255-SHA512)
 *
 * A replica's state, once state_install() has run on it, holds its
 * registry in generations instead, and DIR/registry is the pointer:
 *
 *   DIR/registry -> registry.<N>   a symbolic link (relative) naming the
 *                              generation in force; everything that
 *                              opens DIR/registry follows it
 *   DIR/registry.<N>/          a generation (N decimal, from 1; 0 is a
 *                              registry that was a plain directory)
 *   DIR/snapshot               in a directory state_snapshot() wrote:
 *                              the line "veil-snapshot-v1"; what
 *                              state_install() takes as proof that it
 *                              may move the registry out
 *
 * The switch is one rename(2) of a new link over the old one (exchanged,
 * so that a plain directory is replaced too), so a crash at any point
 * leaves the old or the new generation in force, whole. The generation
 * that was in force stays until the next install, so that a veild still
 * serving from it (it switches within a second, or at SIGHUP:
 * state_registry_changed()) never has it removed from under it.
 *
 * Key files are common/keyfile.h files (0600, refused when the group or
 * others may read them). The live key ids are those the registry's meta
 * lists, the current one first. The suite is chosen at state_create() and
 * never changes: every key of the state is of it, and a key file labelled
 * for another suite is refused (VEIL_ERR_UNSUPPORTED), not read as one of
 * this suite.
 *
 * Secrets: the transport secret and the OPRF keys live in libsodium
 * guarded memory for the life of the state, read-only once loaded, and
 * are wiped by state_free(). Nothing here prints or logs.
 *
 * Errors come with a `why`: when the out parameter is not NULL it is set
 * to NULL on success, else to a fixed, secret-free phrase naming what
 * failed ("transport key file DIR/transport.key"), fit to follow
 * veil_strerror(err) in a message. It is static; do not free it.
 *
 * Thread safety: an open state may be shared by any number of threads
 * (the registry's readers are per thread; see registry.h). Its keys only
 * change by state_refresh_keys(), which is safe to run while other
 * threads call state_oprf_key(), state_keys() or state_current_key_id():
 * each set of keys, once published, stays valid until state_free().
 * state_rotate() and state_retire_keys() are for a process where no
 * other thread uses the state (veil-admin; see registry_rotate()).
 * veil_crypto_init() must have succeeded first.
 *
 * May use: common/ (error.h, keyfile.h, oprf.h); its own folder
 * (registry.h, store_file.h); nothing else of the project.
 */
#ifndef VEIL_SERVER_STATE_H
#define VEIL_SERVER_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "oprf.h"
#include "registry.h"

#define STATE_TRANSPORT_KEY_KIND "veil-transport-key-v1"
#define STATE_OPRF_KEY_KIND      "veil-oprf-key-v1"
#define STATE_TRANSPORT_KEY_FILE "transport.key"
#define STATE_REGISTRY_DIR       "registry"
#define STATE_TRANSPORT_KEY_SIZE 32
/* The key id state_create() makes, and the tag length of a new registry. */
#define STATE_FIRST_KEY_ID       1
#define STATE_TAG_LEN            8

typedef struct veil_state veil_state;

/*
 * The label of an OPRF key file of suite (keyfile.h), as above; NULL for
 * a suite that has none (NULL, or one this code does not know).
 */
const char *state_oprf_key_kind(const oprf_suite *suite);

/*
 * Makes a new state in dir: creates dir (0700) unless it exists, then a
 * transport key pair, OPRF key id STATE_FIRST_KEY_ID of suite, and an
 * empty registry (tag length STATE_TAG_LEN, that single key live, mode
 * mode, suite recorded). suite NULL means REGISTRY_DEFAULT_SUITE.
 * Errors: VEIL_ERR_UNSUPPORTED (a suite with no key file label: *why is
 * "suite"), VEIL_ERR_ARGUMENT, VEIL_ERR_EXISTS (a key file or the
 * registry already exists: nothing is touched), VEIL_ERR_SYSTEM,
 * VEIL_ERR_NOMEM, VEIL_ERR_CRYPTO. On error what this call created is
 * removed again.
 */
veil_err state_create(const char *dir, oprf_mode mode, const oprf_suite *suite, const char **why)
        __attribute__((warn_unused_result));

/*
 * Opens the state in dir: the registry, the transport key pair, and the
 * OPRF key of every live key id, of the registry's suite. *out is set to
 * NULL first.
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_NOT_FOUND (a file is missing),
 * VEIL_ERR_PERMISSION (a key file readable or writable by the group or
 * others), VEIL_ERR_UNSUPPORTED (an OPRF key file labelled for another
 * suite than the registry's; *why says so), VEIL_ERR_CORRUPT (a key file
 * or the registry damaged, or a registry of a suite this build does not serve),
 * VEIL_ERR_SCALAR (an OPRF key out of range), VEIL_ERR_LIMIT,
 * VEIL_ERR_SYSTEM, VEIL_ERR_NOMEM; *why names the file.
 */
veil_err state_open(const char *dir, veil_state **out, const char **why)
        __attribute__((warn_unused_result));

/*
 * Reads the transport key of the state (or token issuer state) in dir,
 * DIR/transport.key, into secret (STATE_TRANSPORT_KEY_SIZE bytes, the
 * caller's guarded memory) and its X25519 public key into public_out,
 * opening nothing else. Errors: VEIL_ERR_ARGUMENT (a NULL pointer);
 * VEIL_ERR_NOT_FOUND (no such file), VEIL_ERR_PERMISSION (open to the
 * group or others), VEIL_ERR_CORRUPT (damaged, or a key with no public
 * key), VEIL_ERR_SYSTEM: as keyfile_read(); VEIL_ERR_NOMEM. Both outputs
 * are zeroed on error.
 */
veil_err state_transport_key_load(const char *dir, uint8_t *secret,
                                  uint8_t public_out[STATE_TRANSPORT_KEY_SIZE])
        __attribute__((warn_unused_result));

/* Wipes the keys, closes the registry, frees. NULL is a no-op. */
void state_free(veil_state *st);

/* The registry; owned by the state and valid until state_free(). */
registry *state_registry(const veil_state *st);

/* The state's RFC 9497 suite (its registry's; static, never NULL for an open state). */
const oprf_suite *state_suite(const veil_state *st);

/* The transport public key (STATE_TRANSPORT_KEY_SIZE bytes), the one clients pin. */
const uint8_t *state_transport_public(const veil_state *st);

/* The transport secret key (STATE_TRANSPORT_KEY_SIZE bytes, guarded, read-only). */
const uint8_t *state_transport_secret(const veil_state *st);

/*
 * The OPRF key of key_id, or NULL when it is not loaded (not live at open
 * or at the last state_refresh_keys()). A key retired since stays loaded:
 * whether a key id is live is the registry snapshot's to say. Lock-free.
 */
const oprf_key *state_oprf_key(const veil_state *st, uint32_t key_id);

/* The current (first live) key id at open or at the last refresh. */
uint32_t state_current_key_id(const veil_state *st);

/*
 * The loaded keys as registry writers take them: the live ones in the
 * registry's order (current first) as of the last refresh, then any
 * others loaded before; *count gets their number. Valid until
 * state_free(), also after later refreshes.
 */
const registry_key *state_keys(const veil_state *st, size_t *count);

/*
 * Loads the key file of every key id live in the registry now and not
 * loaded yet, and publishes the new set of keys (state_keys() order)
 * atomically; keys already loaded stay. Thread-safe (see above);
 * refreshes are serialized. It reads files: callers in a request path
 * should rate-limit it (veild: at most once a second).
 * Errors: VEIL_ERR_ARGUMENT, what registry_schedule_read() returns, and
 * for a key file VEIL_ERR_NOT_FOUND, VEIL_ERR_PERMISSION,
 * VEIL_ERR_UNSUPPORTED (labelled for another suite), VEIL_ERR_CORRUPT,
 * VEIL_ERR_SCALAR, VEIL_ERR_NOMEM: the keys that did
 * load are published all the same.
 */
veil_err state_refresh_keys(veil_state *st) __attribute__((warn_unused_result));

/* What state_rotate() or state_retire_keys() did. */
typedef struct state_rotation {
	uint32_t new_key_id; /* 0 for state_retire_keys() */
	uint64_t retire_at;  /* the deadline given the key that was current */
	uint32_t removed_count;
	uint32_t removed[REGISTRY_MAX_KEYS]; /* key ids retired, their files erased */
	uint32_t erased_files;               /* key files erased (retired or orphaned) */
} state_rotation;

/*
 * Rotates the OPRF key (registry_rotate()): under an exclusive flock of
 * DIR (other rotations wait), erases key files of ids not live (orphans
 * of a killed rotation), writes DIR/oprf-<id>.key (0600, fsynced) for the
 * next id (highest live + 1), then in one registry transaction retires
 * the keys whose deadline is at or before now, builds the new index and
 * makes it current, the old current key retiring at now + grace_seconds.
 * Then erases the key files of the keys retired (zeros, fsync, unlink)
 * and refreshes the state's keys. A kill at any moment leaves the
 * registry before or after; a key file written before the commit is an
 * orphan the next rotation erases. *out is zeroed on error unless keys
 * were retired (then the registry changed: a later step failed).
 * Errors: VEIL_ERR_ARGUMENT (now 0, overflow), VEIL_ERR_LIMIT, what
 * registry_rotate() and keyfile_write() return, VEIL_ERR_SYSTEM; *why
 * names what failed.
 */
veil_err state_rotate(veil_state *st, uint64_t now, uint64_t grace_seconds,
                      const registry_import_options *options, state_rotation *out, const char **why)
        __attribute__((warn_unused_result));

/*
 * Retires the keys whose deadline is at or before now (registry_retire())
 * and erases their key files and any orphaned ones, under the same flock.
 * Errors: as state_rotate().
 */
veil_err state_retire_keys(veil_state *st, uint64_t now, state_rotation *out, const char **why)
        __attribute__((warn_unused_result));

/* A state's copy of a token issuer's keys (veild --auth tokens), when linked. */
#define STATE_TOKENS_DIR "tokens"

/*
 * Makes out_dir a replica of the state in dir: what a veild needs to
 * serve the same lookups, and nothing of what a serving veild gathers.
 * Under the flock of dir that rotations take (a rotation waits, or is
 * waited for), it writes out_dir.tmp/ (mode 0700): registry/data.mdb, a
 * compact copy of one read snapshot of the registry
 * (registry_copy_compact(); veild may serve and veil-admin write
 * meanwhile), transport.key, the oprf-<id>.key file of every key id the
 * copy lists live, and a copy of tokens/ when the state has one; every
 * file 0600 and fsynced. The query log, the clients store, the spent set
 * and the salt chain are not copied: a replica's veild starts them fresh.
 * The file out_dir/snapshot (STATE_SNAPSHOT_MARK) marks the copy as a
 * snapshot, which state_install() requires. The copy is then opened as a
 * registry, and out_dir.tmp renamed to out_dir (never over an existing
 * one) and out_dir's parent fsynced: a crash leaves no out_dir or a whole
 * one. Secrets pass through guarded memory only as bytes copied, wiped
 * after. Run with umask 077 or not: modes are set explicitly.
 * Errors: VEIL_ERR_ARGUMENT (a NULL path); VEIL_ERR_EXISTS (out_dir or
 * out_dir.tmp exists: nothing is touched; *why says which);
 * VEIL_ERR_NOT_FOUND (no registry or key file in dir); VEIL_ERR_CORRUPT,
 * those of registry_open(); VEIL_ERR_SYSTEM, VEIL_ERR_NOMEM. *why names
 * what failed. On error out_dir.tmp is removed again.
 */
veil_err state_snapshot(const char *dir, const char *out_dir, const char **why)
        __attribute__((warn_unused_result));

/* The registry's path inside dir ("DIR/registry"), malloc'd; NULL if out of memory. */
char *state_registry_path(const char *dir);

/* The file that marks a directory state_snapshot() wrote, and its one line. */
#define STATE_SNAPSHOT_MARK      "snapshot"
#define STATE_SNAPSHOT_MARK_TEXT "veil-snapshot-v1\n"

/*
 * 1 when the state in dir is a replica's: its registry is installed
 * (DIR/registry is a link, state_install()) or dir is a snapshot
 * (DIR/snapshot exists); 0 when not; -1 when that cannot be told (out of
 * memory, or dir cannot be searched). Commands that change the registry
 * refuse a replica's: the next install would replace what they wrote.
 */
int state_is_replica(const char *dir);

/*
 * 1 when DIR/registry now names another registry than the one st has
 * open (an install switched it: open the state again to serve the new
 * one), else 0 (also when that cannot be told): registry_is_at(), the
 * data file open against the one the link names now, so that no install
 * goes unnoticed and the registry open is never opened twice. One stat(2)
 * and one fstat(2); cheap enough to call once a second. Thread-safe.
 */
int state_registry_changed(const veil_state *st);

/* What state_install() did. */
typedef struct state_install_result {
	uint32_t generation;   /* now in force: DIR/registry -> registry.<generation> */
	uint32_t previous;     /* the one it replaced, kept (0: a plain directory) */
	uint32_t keys_copied;  /* OPRF key files the replica lacked */
	uint32_t removed;      /* older generations removed */
	uint32_t erased_files; /* key files no longer live in either, erased */
} state_install_result;

/*
 * Installs the snapshot in from (a directory state_snapshot() wrote) as
 * the registry the replica state in dir serves, in place of its own,
 * keeping everything else of dir (the query log, the clients store, the
 * spent set, the salt chain, tokens/). Under the flock of dir that
 * rotations and snapshots take:
 *
 *  1. checks, touching nothing on refusal: from holds DIR/snapshot and
 *     nothing but what a snapshot holds, its registry a plain directory;
 *     its transport key is dir's; its registry opens and is of dir's
 *     suite; the key file of every key id it lists live is in from, and
 *     where dir has a file of that name it holds the same bytes;
 *  2. copies the key files dir lacks (0600, fsynced, dir fsynced);
 *  3. renames from/registry to DIR/registry.<N> (N one above every
 *     generation there), fsyncs both directories;
 *  4. makes the link DIR/registry.next -> registry.<N> and exchanges it
 *     with DIR/registry (renameat2 RENAME_EXCHANGE), fsyncs dir: from
 *     here the new registry is in force;
 *  5. tidies: the link exchanged out is removed (a plain directory
 *     exchanged out becomes registry.0); every generation but the new
 *     one and the one it replaced is removed (its files unlinked, never
 *     overwritten: a veild two installs behind keeps reading the files
 *     it has open), and the key files that neither lists live are
 *     erased (store_file_erase(); a veild holds its keys in memory);
 *     what is left of from (its key files, erased; the mark) is removed.
 *
 * A crash before step 4 leaves the old registry in force (and at worst a
 * generation nothing points to, or key files not live, which the next
 * install removes; from may have lost its registry: make a new
 * snapshot); a crash after it, the new one (a leftover registry.next is
 * removed by the next install). from must be on dir's file system (a
 * rename moves it; the registry is not copied).
 * Errors (*why says which check or step): VEIL_ERR_ARGUMENT (a NULL
 * path or out; the transport keys differ: a snapshot of another server;
 * another suite); VEIL_ERR_NOT_FOUND (from is not a snapshot: no mark;
 * a key file missing from from; no registry in dir); VEIL_ERR_CORRUPT
 * (from holds more than a snapshot, or its registry is not a plain
 * directory; DIR/registry is a link to something other than a
 * generation; what registry_open() says of either registry);
 * VEIL_ERR_EXISTS (a key file of dir differs from from's);
 * VEIL_ERR_PERMISSION (a key file open to others); VEIL_ERR_SYSTEM
 * (also: from on another file system), VEIL_ERR_NOMEM. On an error
 * before step 4, dir's registry in force is untouched (a registry
 * already moved in goes back to from). *out is zeroed on error.
 */
veil_err state_install(const char *dir, const char *from, state_install_result *out,
                       const char **why) __attribute__((warn_unused_result));

#endif

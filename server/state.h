/*
 * A server's state directory: its keys and its registry.
 *
 *   DIR/                       mode 0700
 *   DIR/transport.key          X25519 secret key, "veil-transport-key-v1"
 *   DIR/oprf-<id>.key          OPRF secret scalar of key id <id> (8 lowercase
 *                              hex digits), "veil-oprf-key-v1",
 *                              suite ristretto255-SHA512
 *   DIR/registry/              the LMDB registry (server/registry.h)
 *
 * Key files are common/keyfile.h files (0600, refused when the group or
 * others may read them). The live key ids are those the registry's meta
 * lists, the current one first.
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
 * Thread safety: an open state is immutable, and may be shared by any
 * number of threads (the registry's readers are per thread; see
 * registry.h). veil_crypto_init() must have succeeded first.
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
 * Makes a new state in dir: creates dir (0700) unless it exists, then a
 * transport key pair, OPRF key id STATE_FIRST_KEY_ID, and an empty
 * registry (tag length STATE_TAG_LEN, that single key live).
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_EXISTS (a key file or the
 * registry already exists: nothing is touched), VEIL_ERR_SYSTEM,
 * VEIL_ERR_NOMEM, VEIL_ERR_CRYPTO. On error what this call created is
 * removed again.
 */
veil_err state_create(const char *dir, oprf_mode mode, const char **why)
	__attribute__((warn_unused_result));

/*
 * Opens the state in dir: the registry, the transport key pair, and the
 * OPRF key of every live key id. *out is set to NULL first.
 * Errors: VEIL_ERR_ARGUMENT, VEIL_ERR_NOT_FOUND (a file is missing),
 * VEIL_ERR_PERMISSION (a key file readable or writable by the group or
 * others), VEIL_ERR_CORRUPT (a key file or the registry damaged),
 * VEIL_ERR_SCALAR (an OPRF key out of range), VEIL_ERR_LIMIT,
 * VEIL_ERR_SYSTEM, VEIL_ERR_NOMEM; *why names the file.
 */
veil_err state_open(const char *dir, veil_state **out, const char **why)
        __attribute__((warn_unused_result));

/* Wipes the keys, closes the registry, frees. NULL is a no-op. */
void state_free(veil_state *st);

/* The registry; owned by the state and valid until state_free(). */
registry *state_registry(const veil_state *st);

/* The transport public key (STATE_TRANSPORT_KEY_SIZE bytes), the one clients pin. */
const uint8_t *state_transport_public(const veil_state *st);

/* The transport secret key (STATE_TRANSPORT_KEY_SIZE bytes, guarded, read-only). */
const uint8_t *state_transport_secret(const veil_state *st);

/* The OPRF key of key_id, or NULL when it is not one loaded (not live at open). */
const oprf_key *state_oprf_key(const veil_state *st, uint32_t key_id);

/* The current (first live) key id when the state was opened. */
uint32_t state_current_key_id(const veil_state *st);

/*
 * The loaded keys as registry writers take them, current first; *count
 * gets their number. Valid until state_free().
 */
const registry_key *state_keys(const veil_state *st, size_t *count);

/* The registry's path inside dir ("DIR/registry"), malloc'd; NULL if out of memory. */
char *state_registry_path(const char *dir);

#endif

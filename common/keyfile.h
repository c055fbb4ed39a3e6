/*
 * Secret key files: one line "<kind> <hex>\n", for example
 * "veil-oprf-key-v1 5ebc...". Created 0600 and never overwritten; refused
 * on reading when the group or others may read or write them.
 */
#ifndef VEIL_COMMON_KEYFILE_H
#define VEIL_COMMON_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The longest secret a key file holds: a P521-SHA512 OPRF scalar. */
#define KEYFILE_MAX_SECRET 66

/*
 * Creates path (O_EXCL, mode 0600) holding secret (len bytes, at most
 * KEYFILE_MAX_SECRET) under the label kind, and fsyncs it. Errors:
 * VEIL_ERR_ARGUMENT, VEIL_ERR_EXISTS (never overwrites), VEIL_ERR_SYSTEM
 * (errno tells; a partly written file is removed).
 */
veil_err keyfile_write(const char *path, const char *kind, const uint8_t *secret, size_t len)
        __attribute__((warn_unused_result));

/*
 * Reads exactly len bytes of secret labelled kind from path into
 * secret_out (the caller's guarded memory); temporaries are wiped.
 * Errors: VEIL_ERR_NOT_FOUND, VEIL_ERR_PERMISSION (mode allows group or
 * others), VEIL_ERR_CORRUPT (wrong label, length or hex), VEIL_ERR_SYSTEM.
 */
veil_err keyfile_read(const char *path, const char *kind, uint8_t *secret_out, size_t len)
        __attribute__((warn_unused_result));

#endif

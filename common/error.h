/*
 * veil error codes.
 *
 * One enum for every internal failure, the same the library's users see:
 * it is defined in the public header include/veil/veil_error.h (installed
 * as <veil/veil_error.h>), with veil_strerror(), so that there is one
 * definition. VEIL_OK is zero so that `if (err != VEIL_OK)` and `if (err)`
 * read the same. Messages are fixed literals: no code path formats a
 * secret, a handle or an element into one.
 *
 * What a peer is told travels as the smaller set of wire status codes
 * defined in proto/PROTOCOL.md.
 */
#ifndef VEIL_COMMON_ERROR_H
#define VEIL_COMMON_ERROR_H

#include <veil/veil_error.h>

#endif

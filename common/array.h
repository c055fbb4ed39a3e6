/*
 * Growing arrays of fixed-size elements, for the readers that collect an
 * unknown number of items.
 */
#ifndef VEIL_COMMON_ARRAY_H
#define VEIL_COMMON_ARRAY_H

#include <stddef.h>

#include "error.h"

/*
 * Makes room for need elements of size bytes in the array *items (cast to
 * void **), which has room for *cap of them (and may be NULL when *cap is
 * 0). When *cap is smaller than need, the capacity doubles, starting from
 * first when *cap is 0, until it reaches need, and the array is
 * reallocated: elements move with it, and the new room is uninitialized.
 * Returns VEIL_OK; or VEIL_ERR_NOMEM, with *items and *cap unchanged, when
 * memory runs out or the size would overflow. first must not be 0.
 */
veil_err array_reserve(void **items, size_t *cap, size_t need, size_t size, size_t first)
        __attribute__((warn_unused_result));

#endif

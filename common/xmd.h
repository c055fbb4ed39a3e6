/*
 * RFC 9380 section 5.3.1 expand_message_xmd, with the oversize-DST rule
 * of section 5.3.3.
 */
#ifndef VEIL_COMMON_XMD_H
#define VEIL_COMMON_XMD_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "hash.h"

/* RFC 9380 bounds: len_in_bytes <= 65535 and ell = ceil(len / b) <= 255. */
#define XMD_MAX_OUTPUT_SIZE 65535

/*
 * Writes out_len uniformly random-looking bytes derived from msg under the
 * domain separation tag dst. A dst longer than 255 bytes is first reduced
 * to H("H2C-OVERSIZE-DST-" || dst) as the RFC prescribes.
 * Errors: VEIL_ERR_ARGUMENT (NULL out, or NULL msg/dst with non-zero
 * length), VEIL_ERR_LIMIT (out_len 0, above 65535, or more than 255
 * hash blocks). On error out is zeroed.
 */
veil_err xmd_expand(const hash_alg *h, const uint8_t *msg, size_t msg_len, const uint8_t *dst,
                    size_t dst_len, uint8_t *out, size_t out_len)
        __attribute__((warn_unused_result));

#endif

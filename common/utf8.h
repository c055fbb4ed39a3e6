/*
 * UTF-8 decoding, strict: the one definition of "valid UTF-8" that the
 * JSON parser, the import file parser and handle normalization share.
 */
#ifndef VEIL_COMMON_UTF8_H
#define VEIL_COMMON_UTF8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Decodes the UTF-8 sequence at s (at most len bytes, len >= 1) into *cp.
 * Returns its length, 1 to 4, or 0 when the bytes are not well-formed
 * UTF-8: a stray continuation byte, an overlong form, a surrogate, a code
 * point above U+10FFFF, or a sequence cut short (*cp is then untouched).
 */
size_t utf8_decode(const uint8_t *s, size_t len, uint32_t *cp);

#ifdef __cplusplus
}
#endif

#endif

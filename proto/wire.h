/*
 * Big-endian field readers and writers for the wire codec.
 *
 * A reader walks a caller-owned byte range. Every read either succeeds and
 * consumes exactly its field, or fails and consumes nothing, so a decoder
 * can stop at the first failure with its position still meaningful. A
 * writer appends to a common/buf.h buffer whose error is sticky: encoders
 * append freely and check buf_error() once at the end.
 */
#ifndef VEIL_PROTO_WIRE_H
#define VEIL_PROTO_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct wire_reader {
	const uint8_t *p; /* next unread byte */
	size_t left;      /* bytes not yet read */
} wire_reader;

void wire_reader_init(wire_reader *r, const uint8_t *data, size_t len);

/* Each returns 0 and consumes the field, or -1 and consumes nothing. */
int wire_get_u8(wire_reader *r, uint8_t *v) __attribute__((warn_unused_result));
int wire_get_u16(wire_reader *r, uint16_t *v) __attribute__((warn_unused_result));
int wire_get_u32(wire_reader *r, uint32_t *v) __attribute__((warn_unused_result));
int wire_get_u64(wire_reader *r, uint64_t *v) __attribute__((warn_unused_result));
/* Copies n bytes out. */
int wire_get_bytes(wire_reader *r, uint8_t *out, size_t n) __attribute__((warn_unused_result));
/* Points *out at the next n bytes, in the reader's range, and skips them. */
int wire_get_view(wire_reader *r, const uint8_t **out, size_t n)
        __attribute__((warn_unused_result));

void wire_put_u8(buf *b, uint8_t v);
void wire_put_u16(buf *b, uint16_t v);
void wire_put_u32(buf *b, uint32_t v);
void wire_put_u64(buf *b, uint64_t v);
void wire_put_bytes(buf *b, const uint8_t *data, size_t n);
/* Appends n zero bytes and returns where they start, or NULL when the
 * buffer has failed (buf_error). For n == 0 too the pointer is a real one
 * (into the buffer's storage). It lives until the next append. */
uint8_t *wire_put_space(buf *b, size_t n);

/* Big-endian loads and stores on plain memory. */
uint32_t wire_load_u32(const uint8_t *p);
void wire_store_u32(uint8_t *p, uint32_t v);

#endif

/*
 * A growable byte buffer for building output (JSON answers, messages).
 *
 *   buf b;
 *   buf_init(&b);
 *   buf_append_str(&b, "{\"ok\":");
 *   buf_printf(&b, "%d}", 1);
 *   if (buf_error(&b) == VEIL_OK)
 *           fwrite(buf_data(&b), 1, buf_len(&b), stdout);
 *   buf_free(&b);
 *
 * Errors are sticky: the first append that fails (out of memory, or a size
 * above BUF_MAX_SIZE) leaves the contents as they were, records the error,
 * and every later append does nothing and returns that same error. So a
 * writer may append many pieces and check once, with buf_error(), at the
 * end; each append also returns the error for callers that stop early.
 * buf_reset() and buf_free() clear the error.
 *
 * The contents are always followed by a NUL byte that is not counted in
 * buf_len(), so buf_data() can be used as a C string when the contents
 * hold no NUL of their own.
 *
 * The buffer may hold secrets (an answer carrying a key, for instance):
 * growing copies the contents into a new block and wipes the old one, and
 * buf_reset(), buf_truncate() and buf_free() wipe what they drop.
 *
 * The struct is public so that a buffer can live on the stack; its fields
 * are private to buf.c. A buffer is not thread-safe.
 */
#ifndef VEIL_COMMON_BUF_H
#define VEIL_COMMON_BUF_H

#include <stddef.h>

#include "error.h"

/* No buffer grows beyond this many bytes of contents (256 MiB). */
#define BUF_MAX_SIZE ((size_t)256 << 20)

typedef struct buf {
	char *data;     /* NULL until the first append; else cap bytes */
	size_t len;     /* bytes of contents, not counting the NUL */
	size_t cap;     /* bytes allocated at data */
	veil_err error; /* sticky: the first failed append, else VEIL_OK */
} buf;

/* Makes b an empty buffer. Allocates nothing; cannot fail. */
void buf_init(buf *b);

/*
 * Wipes and frees the contents and leaves b empty, as after buf_init();
 * b itself is not freed. A buffer that was only initialized, or was
 * already freed, is fine.
 */
void buf_free(buf *b);

/* Wipes the contents, empties b and clears its error; keeps the memory. */
void buf_reset(buf *b);

/*
 * Drops the contents after the first len bytes (wiping them). len must not
 * exceed buf_len(b): a larger len is a caller bug and aborts. The sticky
 * error is kept.
 */
void buf_truncate(buf *b, size_t len);

/*
 * Appends len bytes from data (which may be NULL when len is 0).
 * Returns VEIL_OK, VEIL_ERR_NOMEM, or VEIL_ERR_LIMIT (the contents would
 * exceed BUF_MAX_SIZE); or the sticky error if an earlier append failed.
 * On error the contents are unchanged.
 */
veil_err buf_append(buf *b, const void *data, size_t len);

/* Appends the NUL-terminated string s, without its NUL. As buf_append(). */
veil_err buf_append_str(buf *b, const char *s);

/* Appends one byte. As buf_append(). */
veil_err buf_append_byte(buf *b, char c);

/*
 * Appends the printf-formatted text. As buf_append(), plus VEIL_ERR_ARGUMENT
 * when vsnprintf itself fails (an invalid format); nothing is appended then.
 */
veil_err buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The sticky error: VEIL_OK, or what the first failed append returned. */
veil_err buf_error(const buf *b);

/*
 * The contents, NUL-terminated; "" for an empty buffer. Valid until the
 * next call that changes b.
 */
const char *buf_data(const buf *b);

/* The number of bytes of contents. */
size_t buf_len(const buf *b);

#endif

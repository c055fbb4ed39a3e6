#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define BUF_MIN_CAP 64

void
buf_init(buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->error = VEIL_OK;
}

void
buf_free(buf *b)
{
	if (b->data != NULL) {
		sodium_memzero(b->data, b->cap);
		free(b->data);
	}
	buf_init(b);
}

void
buf_reset(buf *b)
{
	if (b->data != NULL) {
		sodium_memzero(b->data, b->len);
		b->data[0] = '\0';
	}
	b->len = 0;
	b->error = VEIL_OK;
}

void
buf_truncate(buf *b, size_t len)
{
	if (len > b->len)
		abort();
	if (b->data == NULL)
		return;
	sodium_memzero(b->data + len, b->len - len);
	b->len = len;
	b->data[len] = '\0';
}

/*
 * Makes room for extra more bytes of contents plus the NUL. Records and
 * returns the error on failure, leaving the contents unchanged.
 */
static veil_err
buf_reserve(buf *b, size_t extra)
{
	if (b->error != VEIL_OK)
		return b->error;
	if (extra > BUF_MAX_SIZE - b->len) {
		b->error = VEIL_ERR_LIMIT;
		return b->error;
	}
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return VEIL_OK;

	size_t cap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
	while (cap < need)
		cap *= 2;
	if (cap > BUF_MAX_SIZE + 1)
		cap = BUF_MAX_SIZE + 1;

	/* Not realloc: the old block is wiped, not left behind in the heap. */
	char *grown = malloc(cap);
	if (grown == NULL) {
		b->error = VEIL_ERR_NOMEM;
		return b->error;
	}
	if (b->data != NULL) {
		memcpy(grown, b->data, b->len + 1);
		sodium_memzero(b->data, b->cap);
		free(b->data);
	} else {
		grown[0] = '\0';
	}
	b->data = grown;
	b->cap = cap;
	return VEIL_OK;
}

veil_err
buf_append(buf *b, const void *data, size_t len)
{
	veil_err err = buf_reserve(b, len);
	if (err != VEIL_OK)
		return err;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return VEIL_OK;
}

veil_err
buf_append_str(buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

veil_err
buf_append_byte(buf *b, char c)
{
	return buf_append(b, &c, 1);
}

veil_err
buf_printf(buf *b, const char *fmt, ...)
{
	va_list ap;
	veil_err err = VEIL_OK;

	if (b->error != VEIL_OK)
		return b->error;

	va_start(ap, fmt);
	int need = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (need < 0) {
		err = VEIL_ERR_ARGUMENT;
		goto out;
	}
	if ((err = buf_reserve(b, (size_t)need)) != VEIL_OK)
		goto out;
	va_start(ap, fmt);
	int wrote = vsnprintf(b->data + b->len, (size_t)need + 1, fmt, ap);
	va_end(ap);
	if (wrote != need) {
		b->data[b->len] = '\0';
		err = VEIL_ERR_ARGUMENT;
		goto out;
	}
	b->len += (size_t)need;
out:
	return err;
}

veil_err
buf_error(const buf *b)
{
	return b->error;
}

const char *
buf_data(const buf *b)
{
	return b->data != NULL ? b->data : "";
}

size_t
buf_len(const buf *b)
{
	return b->len;
}

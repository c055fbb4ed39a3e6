#include "wire.h"

#include <string.h>

void
wire_reader_init(wire_reader *r, const uint8_t *data, size_t len)
{
	r->p = data;
	r->left = data != NULL ? len : 0;
}

int
wire_get_view(wire_reader *r, const uint8_t **out, size_t n)
{
	if (n > r->left)
		return -1;
	*out = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

int
wire_get_bytes(wire_reader *r, uint8_t *out, size_t n)
{
	const uint8_t *at;
	if (wire_get_view(r, &at, n) != 0)
		return -1;
	if (n != 0)
		memcpy(out, at, n);
	return 0;
}

static int
get_be(wire_reader *r, size_t n, uint64_t *v)
{
	const uint8_t *at;
	if (wire_get_view(r, &at, n) != 0)
		return -1;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++)
		x = x << 8 | at[i];
	*v = x;
	return 0;
}

static void
put_be(buf *b, uint64_t v, size_t n)
{
	uint8_t bytes[8];
	for (size_t i = 0; i < n; i++)
		bytes[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	buf_append(b, bytes, n);
}

/*
 * The typed readers and writers, one pair for each width: the field is
 * sizeof(the type) bytes, big-endian.
 */
#define WIRE_UINT(bits)                                                                            \
	int wire_get_u##bits(wire_reader *r, uint##bits##_t *v)                                    \
	{                                                                                          \
		uint64_t x;                                                                        \
		if (get_be(r, sizeof(*v), &x) != 0)                                                \
			return -1;                                                                 \
		*v = (uint##bits##_t)x;                                                            \
		return 0;                                                                          \
	}                                                                                          \
                                                                                                   \
	void wire_put_u##bits(buf *b, uint##bits##_t v)                                            \
	{                                                                                          \
		put_be(b, v, sizeof(v));                                                           \
	}

WIRE_UINT(8)
WIRE_UINT(16)
WIRE_UINT(32)
WIRE_UINT(64)

void
wire_put_bytes(buf *b, const uint8_t *data, size_t n)
{
	if (n != 0)
		buf_append(b, data, n);
}

uint32_t
wire_load_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void
wire_store_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint8_t *
wire_put_space(buf *b, size_t n)
{
	static const uint8_t zeros[256];
	const size_t start = buf_len(b);
	/* Storage even for n == 0, so that the pointer is never NULL + 0 (a
	 * box of no plaintext opens into it). */
	if (b->data == NULL && buf_append(b, zeros, 1) == VEIL_OK)
		buf_truncate(b, start);
	for (size_t done = 0; done < n;) {
		const size_t chunk = n - done < sizeof(zeros) ? n - done : sizeof(zeros);
		if (buf_append(b, zeros, chunk) != VEIL_OK)
			return NULL;
		done += chunk;
	}
	if (buf_error(b) != VEIL_OK)
		return NULL;
	return (uint8_t *)b->data + start;
}

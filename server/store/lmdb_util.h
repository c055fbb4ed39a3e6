/*
 * What the registry and the query log share about LMDB and the byte order
 * of what they store: big-endian integers (so keys sort by value), the
 * mapping of LMDB's return codes to veil_err, and MDB_val construction.
 */
#ifndef VEIL_SERVER_LMDB_UTIL_H
#define VEIL_SERVER_LMDB_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "error.h"

static inline void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t
get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static inline uint64_t
get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* LMDB takes keys and data to store as MDB_val, but never writes through them. */
static inline MDB_val
val_of(const void *data, size_t size)
{
	MDB_val v;
	v.mv_size = size;
	v.mv_data = (void *)(uintptr_t)data;
	return v;
}

/* An LMDB return code as a veil_err: NOT_FOUND, EXISTS, LIMIT (a map or
 * table is full), CORRUPT (damaged or foreign file), NOMEM, else SYSTEM. */
veil_err lmdb_err(int rc);

#endif

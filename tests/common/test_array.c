#include "array.h"

#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

/*
 * One call: an array with room for cap elements of size bytes (NULL when
 * cap is 0, else filled with a pattern), asked for room for need of them.
 */
typedef struct reserve_case {
	const char *name;
	size_t cap, need, size, first;
	veil_err want;
	size_t want_cap; /* the room after */
} reserve_case;

static const reserve_case reserve_cases[] = {
        {"first growth from empty to the starting size", 0, 1, 4, 8, VEIL_OK, 8},
        {"first growth to exactly the starting size", 0, 8, 4, 8, VEIL_OK, 8},
        {"first growth doubles the starting size until need", 0, 20, 4, 8, VEIL_OK, 32},
        {"growth doubles the room, not the starting size", 8, 9, 4, 64, VEIL_OK, 16},
        {"growth doubles until need", 8, 100, 2, 1, VEIL_OK, 128},
        {"no-op when there is room", 8, 8, 4, 64, VEIL_OK, 8},
        {"no-op when there is more room", 8, 3, 4, 64, VEIL_OK, 8},
        {"no-op on an empty array that needs nothing", 0, 0, 4, 8, VEIL_OK, 0},
        /* Refused before any allocation: nothing changes. */
        {"count times size overflows", 2, SIZE_MAX / 8 + 1, 8, 4, VEIL_ERR_NOMEM, 2},
        {"count times size overflows from empty", 0, 1, SIZE_MAX / 2, 4, VEIL_ERR_NOMEM, 0},
        {"doubling the count overflows", 2, SIZE_MAX, 1, 4, VEIL_ERR_NOMEM, 2},
};

static unsigned char
pattern(size_t i)
{
	return (unsigned char)(i * 7 + 1);
}

/* Whether the first n bytes at p hold the pattern. */
static int
holds_pattern(const void *p, size_t n)
{
	const unsigned char *bytes = p;
	for (size_t i = 0; i < n; i++)
		if (bytes[i] != pattern(i))
			return 0;
	return 1;
}

static int
check_reserve(const void *row)
{
	const reserve_case *c = row;
	const size_t bytes = c->cap * c->size;
	unsigned char *array = NULL;
	if (c->cap > 0) {
		if ((array = malloc(bytes)) == NULL)
			abort();
		for (size_t i = 0; i < bytes; i++)
			array[i] = pattern(i);
	}
	void *items = array;
	size_t cap = c->cap;
	const veil_err err = array_reserve(&items, &cap, c->need, c->size, c->first);
	int ok = err == c->want && cap == c->want_cap;
	if (err != VEIL_OK || c->need <= c->cap)
		ok &= items == array; /* not moved, not freed */
	else
		ok &= items != NULL;
	/* The elements there were are still there, wherever the array now is. */
	ok &= items == NULL || holds_pattern(items, bytes);
	free(items);
	return ok;
}

/* As the readers use it: one more element at a time, from nothing. */
static void
case_one_at_a_time(void)
{
	uint32_t *items = NULL;
	size_t cap = 0, count = 0, reallocations = 0;
	for (; count < 1000; count++) {
		const size_t before = cap;
		if (array_reserve((void **)&items, &cap, count + 1, sizeof(*items), 4) != VEIL_OK)
			break;
		if (cap != before) {
			reallocations++;
			CHECK(cap == (before == 0 ? 4 : 2 * before));
		}
		items[count] = (uint32_t)count * 2654435761u;
	}
	CHECK(count == 1000);
	CHECK(cap == 1024 && reallocations == 9); /* 4, 8, ..., 1024 */
	int intact = 1;
	for (size_t i = 0; i < count; i++)
		intact &= items[i] == (uint32_t)i * 2654435761u;
	CHECK(intact);
	free(items);
}

static const test_case cases[] = {
        {"one at a time", case_one_at_a_time},
};

static const test_table tables[] = {TEST_TABLE(reserve_cases, check_reserve)};

TEST_MAIN_WITH(cases, TEST_TABLES(tables))

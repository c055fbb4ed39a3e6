#include "array.h"

#include <stdint.h>
#include <stdlib.h>

veil_err
array_reserve(void **items, size_t *cap, size_t need, size_t size, size_t first)
{
	if (first == 0)
		abort();
	if (need <= *cap)
		return VEIL_OK;
	size_t n = *cap > 0 ? *cap : first;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return VEIL_ERR_NOMEM;
		n *= 2;
	}
	if (size != 0 && n > SIZE_MAX / size)
		return VEIL_ERR_NOMEM;
	void *grown = realloc(*items, n * size);
	if (grown == NULL)
		return VEIL_ERR_NOMEM;
	*items = grown;
	*cap = n;
	return VEIL_OK;
}

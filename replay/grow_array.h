/*
 * The one way the tools and the recorder grow a malloc'd array: doubling,
 * so that appending one element at a time stays linear. (The replay engine
 * keeps its own memory out of the allocator under test: see vec.h.)
 */
#ifndef BPFTAPE_GROW_ARRAY_H
#define BPFTAPE_GROW_ARRAY_H

#include <stddef.h>
#include <stdlib.h>

/*
 * Room for need elements of elem bytes in arr, whose capacity is *cap.
 * Returns the array, moved or not, or NULL when out of memory (arr and
 * *cap are then unchanged and still valid).
 */
static inline void *grow_array(void *arr, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap ? *cap * 2 : 64;
	void *p;

	if (need <= *cap)
		return arr;
	while (c < need)
		c *= 2;
	p = realloc(arr, c * elem);
	if (p)
		*cap = c;
	return p;
}

/* The same, for the tools that have no way on without memory: they stop. */
static inline void *grow_array_or_abort(void *arr, size_t *cap, size_t need, size_t elem)
{
	void *p = grow_array(arr, cap, need, elem);

	if (!p)
		abort();
	return p;
}

#endif

/*
 * Growable arrays on mmap/mremap: the replay engine's bookkeeping must never
 * come from the allocator under test, whose behaviour it measures.
 */
#ifndef BPFTAPE_VEC_H
#define BPFTAPE_VEC_H

#include <stddef.h>

struct vec {
	void *data;
	size_t len;		/* elements */
	size_t cap;		/* elements */
	size_t elem;		/* bytes per element */
};

void vec__init(struct vec *v, size_t elem);
void vec__free(struct vec *v);
/* Room for n more elements. 0 or -ENOMEM. */
int vec__reserve(struct vec *v, size_t n);
/* Appends one element (copied from src). 0 or -ENOMEM. */
int vec__push(struct vec *v, const void *src);
/* A copy of src's elements into dst (initialised). 0 or -ENOMEM. */
int vec__copy(struct vec *dst, const struct vec *src);

#define VEC_AT(v, type, i) (((type *)(v)->data)[i])

/* Anonymous memory from mmap, and back. */
void *mem_alloc(size_t bytes);
void mem_free(void *p, size_t bytes);

#endif

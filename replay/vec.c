/* Growable arrays on mmap: see vec.h. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "vec.h"

void *mem_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void mem_free(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes ? bytes : 1);
}

void vec__init(struct vec *v, size_t elem)
{
	memset(v, 0, sizeof(*v));
	v->elem = elem;
}

void vec__free(struct vec *v)
{
	mem_free(v->data, v->cap * v->elem);
	v->data = NULL;
	v->len = v->cap = 0;
}

int vec__reserve(struct vec *v, size_t n)
{
	size_t cap;
	void *p;

	if (v->cap - v->len >= n)
		return 0;
	cap = v->cap ? v->cap : 4096 / v->elem + 1;
	while (cap - v->len < n)
		cap *= 2;
	if (v->data)
		p = mremap(v->data, v->cap * v->elem, cap * v->elem, MREMAP_MAYMOVE);
	else
		p = mmap(NULL, cap * v->elem, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	v->data = p;
	v->cap = cap;
	return 0;
}

int vec__push(struct vec *v, const void *src)
{
	if (v->len == v->cap && vec__reserve(v, 1))
		return -ENOMEM;
	memcpy((char *)v->data + v->len * v->elem, src, v->elem);
	v->len++;
	return 0;
}

int vec__copy(struct vec *dst, const struct vec *src)
{
	vec__init(dst, src->elem);
	if (vec__reserve(dst, src->len))
		return -ENOMEM;
	memcpy(dst->data, src->data, src->len * src->elem);
	dst->len = src->len;
	return 0;
}

/*
 * The allocator under test, as the replay loop calls it. Functions the
 * allocator does not define itself would reach another allocator (under
 * LD_PRELOAD=libjemalloc, pvalloc and reallocarray are still glibc's, whose
 * blocks jemalloc's free cannot take back): those are replayed with the
 * allocator's own functions that mean the same, and the report says so.
 */
#ifndef BPFTAPE_ALLOC_API_H
#define BPFTAPE_ALLOC_API_H

#include <stddef.h>

struct alloc_api {
	void *(*pvalloc)(size_t size);
	void *(*reallocarray)(void *ptr, size_t nmemb, size_t size);
	void *(*valloc)(size_t size);
	void *(*memalign)(size_t align, size_t size);
	void *(*aligned_alloc)(size_t align, size_t size);
	char emulated[128];	/* "pvalloc, reallocarray" or "" */
	char name[64];		/* the file malloc comes from, as a name: "libc.so.6" */
};

/* Looks the allocator up; call before the replay (dlsym may allocate). */
void alloc_api__init(struct alloc_api *api);

/*
 * The allocator's own statistics, where it offers them, as "name=value"
 * pairs separated by spaces (glibc mallinfo2, jemalloc mallctl, tcmalloc
 * properties, mimalloc process info). Empty when it offers none.
 */
void alloc_api__stats(char *buf, size_t len);

#endif

/*
 * The thinnest interposing wrapper: every allocator function passes the
 * call on to the next definition with a tail call (a jump, not a call), as
 * optimised wrappers do. The recorder must still write one record per call
 * the program made: tests run tests/workloads/alloc_workload under it and
 * compare the tape with the workload's own log.
 */
#include <dlfcn.h>
#include <stddef.h>

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

void *malloc(size_t n);
void *calloc(size_t m, size_t n);
void *realloc(void *p, size_t n);
void free(void *p);

static void *(*next_malloc)(size_t);
static void *(*next_realloc)(void *, size_t);
static void (*next_free)(void *);

/* dlsym may call calloc: zeroed static memory until the real one is known. */
static char early[1024] __attribute__((aligned(16)));
static size_t early_used;
static void *(*next_calloc)(size_t, size_t);
static int resolving;

__attribute__((constructor)) static void init(void)
{
	resolving = 1;
	next_calloc = NEXT(calloc);
	next_malloc = NEXT(malloc);
	next_realloc = NEXT(realloc);
	next_free = NEXT(free);
	resolving = 0;
}

void *malloc(size_t n)
{
	if (!next_malloc)
		init();
	return next_malloc(n);
}

void *calloc(size_t m, size_t n)
{
	if (!next_calloc) {
		void *p = early + early_used;

		if (!resolving)
			init();
		if (!next_calloc) {
			early_used += (m * n + 15) & ~(size_t)15;
			return early_used <= sizeof(early) ? p : NULL;
		}
	}
	return next_calloc(m, n);
}

void *realloc(void *p, size_t n)
{
	if (!next_realloc)
		init();
	return next_realloc(p, n);
}

void free(void *p)
{
	if ((char *)p >= early && (char *)p < early + sizeof(early))
		return;
	if (!next_free)
		init();
	next_free(p);
}

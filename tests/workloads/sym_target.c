/*
 * Allocates from a known function of its own and from one of a shared
 * library (lib/symtest.c), so that the tools' symbolisation can be checked
 * against names that are known.
 */
#include <stdlib.h>

void *alloc_in_library(size_t n);

__attribute__((noinline)) void *alloc_in_main(size_t n)
{
	void *volatile p = malloc(n);	/* volatile: a real call, not a tail jump */

	return p;
}

int main(void)
{
	for (int i = 0; i < 10; i++) {
		free(alloc_in_main(100));
		free(alloc_in_library(200));
	}
	/* Held at exit, for leaks. */
	alloc_in_main(300);
	alloc_in_library(400);
	return 0;
}

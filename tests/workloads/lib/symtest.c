/* A shared library with a known function that allocates, for symbolisation tests. */
#include <stdlib.h>

void *alloc_in_library(size_t n);

__attribute__((noinline)) void *alloc_in_library(size_t n)
{
	void *volatile p = malloc(n);	/* volatile: a real call, not a tail jump */

	return p;
}

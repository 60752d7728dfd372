/*
 * Allocations from known call chains, for checking recorded stacks: chain
 * functions f1..f8, each noinline, each writing its own return address
 * (the frame above it) into a table before calling the next; the last one
 * mallocs a size that names the chain, and makes a syscall that names it
 * too (lseek(-1, size), which fails: its stack starts in libc's lseek, then
 * the same chain). Built twice by the Makefile, with
 * and without frame pointers (-O2): the stack walker must get both right.
 * Writes "SIZE RA1 RA2 ... RA_DEPTH" lines (hex; RA_i is f_i's return
 * address, innermost last) to the file named by its first argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define DEPTH 8

static void *ra[DEPTH + 1];
static void *volatile sink;

#define CHAIN(i, next)                                                        \
	__attribute__((noinline)) static void f##i(size_t size, int depth)     \
	{                                                                     \
		ra[i] = __builtin_return_address(0);                          \
		if (depth == i) {                                             \
			sink = malloc(size);                                  \
			lseek(-1, (off_t)size, SEEK_SET);                     \
		} else                                                        \
			next(size, depth);                                    \
		__asm__ volatile("" ::: "memory");                            \
	}

static void none(size_t size, int depth)
{
	(void)size;
	(void)depth;
}

CHAIN(8, none)
CHAIN(7, f8)
CHAIN(6, f7)
CHAIN(5, f6)
CHAIN(4, f5)
CHAIN(3, f4)
CHAIN(2, f3)
CHAIN(1, f2)

int main(int argc, char **argv)
{
	FILE *out = argc > 1 ? fopen(argv[1], "w") : NULL;

	if (!out)
		return 2;
	/* Depths 3 to 8; a size of 1000 * depth + 7 names each chain in the tape. */
	for (int depth = 3; depth <= DEPTH; depth++) {
		size_t size = 1000 * depth + 7;

		f1(size, depth);
		free(sink);
		fprintf(out, "%zu", size);
		for (int i = 1; i <= depth; i++)
			fprintf(out, " %lx", (unsigned long)ra[i]);
		fprintf(out, "\n");
	}
	return fclose(out) ? 1 : 0;
}

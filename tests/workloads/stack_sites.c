/*
 * Allocations from known call chains, with the chains written down by the
 * program itself, for checking symbolised stacks (function, file and line
 * of every call). Built twice by the Makefile (-O2 -g, with and without
 * frame pointers). The chains: depth 3, depth 12, one through a function
 * inlined into its caller, and a FILE leaked through fopen. Every block is
 * left allocated: the leak report must name each chain.
 *
 * How the program knows its chains (tests/workloads/stack_truth.h):
 * CALL(...) notes, at each call of the next function, the calling
 * function's name (__func__) and the call's line (__LINE__), and each
 * called function notes its own return address (where in its caller it
 * returns to). Usage: stack_sites LOG
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack_truth.h"

static void *volatile sink;

/* Frame 0 of every chain but fopen's: the function that calls malloc. */
NOINLINE static void *leaf_alloc(struct truth *t, int at, size_t size)
{
	void *p;

	NOTE_RETURN(t, at);
	p = CALL(t, at, malloc(size));
	sink = p;
	BARRIER();
	return p;
}

/* Depth 3: main -> three_a -> three_b -> leaf_alloc. */
NOINLINE static void *three_b(struct truth *t, int at, size_t size)
{
	void *p;

	NOTE_RETURN(t, at);
	p = CALL(t, at, leaf_alloc(t, at + 1, size));
	BARRIER();
	return p;
}

NOINLINE static void *three_a(struct truth *t, int at, size_t size)
{
	void *p;

	NOTE_RETURN(t, at);
	p = CALL(t, at, three_b(t, at + 1, size));
	BARRIER();
	return p;
}

/* Depth 12: deep_1 .. deep_11 (each calls the next), then leaf_alloc. */
#define DEEP(i, next)                                                      \
	NOINLINE static void *deep_##i(struct truth *t, int at, size_t size) \
	{                                                                   \
		void *p;                                                    \
		NOTE_RETURN(t, at);                                         \
		p = CALL(t, at, next(t, at + 1, size));                     \
		BARRIER();                                                  \
		return p;                                                   \
	}

DEEP(11, leaf_alloc)
DEEP(10, deep_11)
DEEP(9, deep_10)
DEEP(8, deep_9)
DEEP(7, deep_8)
DEEP(6, deep_7)
DEEP(5, deep_6)
DEEP(4, deep_5)
DEEP(3, deep_4)
DEEP(2, deep_3)
DEEP(1, deep_2)

/*
 * Inlined: with_inline -> make_record (always inlined into it) -> leaf_alloc.
 * The return address into with_inline is also make_record's: one address,
 * two frames.
 */
static inline __attribute__((always_inline)) void *make_record(struct truth *t, int at,
								  size_t size)
{
	void *p;

	NOTE_INLINED(t, at);
	p = CALL(t, at, leaf_alloc(t, at + 1, size));
	BARRIER();
	return p;
}

NOINLINE static void *with_inline(struct truth *t, int at, size_t size)
{
	void *p;

	NOTE_RETURN(t, at);
	p = CALL(t, at, make_record(t, at + 1, size));
	BARRIER();
	return p;
}

/* A FILE never closed: fopen allocates it (and its buffer) inside libc. */
NOINLINE static FILE *open_log(struct truth *t, int at, const char *path)
{
	FILE *f;

	NOTE_RETURN(t, at);
	f = CALL(t, at, fopen(path, "w"));
	BARRIER();
	return f;
}

int main(int argc, char **argv)
{
	struct truth t;
	FILE *log = argc > 1 ? fopen(argv[1], "w") : NULL, *leaked;

	if (!log)
		return 2;
	truth_maps(log);
	/* A size per chain names its blocks in the tape. */
	truth_start(&t, "three", 3007);
	CALL(&t, 0, three_a(&t, 1, 3007));
	truth_write(&t, log);

	truth_start(&t, "deep", 12007);
	CALL(&t, 0, deep_1(&t, 1, 12007));
	truth_write(&t, log);

	truth_start(&t, "inlined", 5007);
	CALL(&t, 0, with_inline(&t, 1, 5007));
	truth_write(&t, log);

	truth_start(&t, "fopen", 0);
	leaked = CALL(&t, 0, open_log(&t, 1, "/dev/null"));
	truth_write(&t, log);
	if (!leaked)
		return 1;
	sink = leaked;
	return fclose(log) ? 1 : 0;
}

/*
 * The recorder benchmark's malloc-heavy workload: THREADS threads, each
 * ITERS pairs of malloc and free of varied small sizes. Prints the calls it
 * made and the loop's own time (start to end of the loop, not of the
 * process), so that probe attach and detach stay out of the figure.
 *
 * Usage: malloc_loop THREADS ITERS
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

static long iters;

static void *loop(void *arg)
{
	void *volatile keep;

	(void)arg;
	for (long i = 0; i < iters; i++) {
		keep = malloc(16 + (i & 255) * 8);
		free(keep);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc == 3 ? atoi(argv[1]) : 0;
	double secs;

	iters = argc == 3 ? atol(argv[2]) : 0;
	if (n < 1 || n > 64 || iters < 1) {
		fprintf(stderr, "usage: malloc_loop THREADS ITERS\n");
		return 2;
	}
	secs = bench_threads(n, loop);
	if (secs < 0)
		return 1;
	printf("calls %ld seconds %.6f\n", 2 * iters * n, secs);
	return 0;
}

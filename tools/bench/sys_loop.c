/*
 * The syscall benchmark's workload: THREADS threads, each ITERS raw
 * getppid calls, the cheapest syscall that glibc does not cache. Prints the
 * calls made and the loop's own time.
 *
 * Usage: sys_loop THREADS ITERS
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

static long iters;

static void *loop(void *arg)
{
	(void)arg;
	for (long i = 0; i < iters; i++)
		syscall(SYS_getppid);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc == 3 ? atoi(argv[1]) : 0;
	double secs;

	iters = argc == 3 ? atol(argv[2]) : 0;
	if (n < 1 || n > 64 || iters < 1) {
		fprintf(stderr, "usage: sys_loop THREADS ITERS\n");
		return 2;
	}
	secs = bench_threads(n, loop);
	if (secs < 0)
		return 1;
	printf("calls %ld seconds %.6f\n", iters * n, secs);
	return 0;
}

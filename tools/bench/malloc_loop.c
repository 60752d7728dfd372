/*
 * The recorder benchmark's malloc-heavy workload: THREADS threads, each
 * ITERS pairs of malloc and free of varied small sizes. Prints the calls it
 * made and the loop's own time (start to end of the loop, not of the
 * process), so that probe attach and detach stay out of the figure.
 *
 * Usage: malloc_loop THREADS ITERS
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	pthread_t th[64];
	int n = argc == 3 ? atoi(argv[1]) : 0;
	double t0;

	iters = argc == 3 ? atol(argv[2]) : 0;
	if (n < 1 || n > 64 || iters < 1) {
		fprintf(stderr, "usage: malloc_loop THREADS ITERS\n");
		return 2;
	}
	t0 = now();
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, loop, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	printf("calls %ld seconds %.6f\n", 2 * iters * n, now() - t0);
	return 0;
}

/* What the benchmark drivers share: one clock, and a loop run on N threads. */
#ifndef BPFTAPE_BENCH_H
#define BPFTAPE_BENCH_H

#include <pthread.h>
#include <time.h>

/* Monotonic seconds. */
static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs fn on n threads (at most 64) and returns the seconds until all ended; < 0 on failure. */
static inline double bench_threads(int n, void *(*fn)(void *))
{
	pthread_t th[64];
	double t0 = bench_now();

	if (n < 1 || n > 64)
		return -1;
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, fn, NULL))
			return -1;
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return bench_now() - t0;
}

#endif

/*
 * Process trees shaped the way services and tools really run, for the
 * recorder's tree tests. Every process allocates; the counts come from the
 * preloaded counter (tests/workloads/lib/alloc_counter.c), not from here.
 *
 * Usage: tree_workload MODE [N] [CALLS]
 *   prefork N CALLS   a parent forks N workers that each make CALLS calls and exit
 *   daemon CALLS      double fork: the child exits at once, the grandchild sleeps
 *                     0.5 s, makes CALLS calls and exits (after its parent is gone)
 *   storm N           N children, one after another, each living about 1 ms
 *   threads N CALLS   N threads at once, each making CALLS calls
 *   spawn N           N children started with posix_spawn (vfork + exec of /bin/true)
 */
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* A mix of calls: about `calls` of them, every function of the C API used. */
static void allocate(long calls)
{
	void *keep[16] = { 0 };

	for (long i = 0; i < calls; i += 8) {
		void *a = malloc(16 + i % 200), *b = calloc(4, 8 + i % 32), *c;
		void *d = NULL;

		c = realloc(a, 300 + i % 500);
		if (posix_memalign(&d, 64, 128))
			d = NULL;
		free(keep[i % 16]);
		keep[i % 16] = c;
		free(b);
		free(d);
		free(aligned_alloc(32, 64));
	}
	for (int i = 0; i < 16; i++)
		free(keep[i]);
}

static void *thread_main(void *arg)
{
	allocate((long)arg);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	long n = argc > 2 ? atol(argv[2]) : 8, calls = argc > 3 ? atol(argv[3]) : 1000;

	allocate(64);
	if (!strcmp(mode, "prefork")) {
		for (long i = 0; i < n; i++)
			if (fork() == 0) {
				allocate(calls);
				_exit(0);
			}
		while (wait(NULL) > 0)
			;
	} else if (!strcmp(mode, "daemon")) {
		calls = n;
		if (fork() == 0) {
			if (fork() == 0) {
				setsid();
				sleep_ms(500);
				allocate(calls);
				_exit(0);
			}
			_exit(0);	/* the grandchild is orphaned, as a daemon is */
		}
		wait(NULL);
	} else if (!strcmp(mode, "storm")) {
		for (long i = 0; i < n; i++) {
			pid_t pid = fork();

			if (pid == 0) {
				allocate(16);
				_exit(0);
			}
			waitpid(pid, NULL, 0);
		}
	} else if (!strcmp(mode, "threads")) {
		pthread_t *t = calloc(n, sizeof(*t));

		for (long i = 0; i < n; i++)
			if (pthread_create(&t[i], NULL, thread_main, (void *)calls))
				return 1;
		for (long i = 0; i < n; i++)
			pthread_join(t[i], NULL);
		free(t);
	} else if (!strcmp(mode, "spawn")) {
		char *args[] = { "true", NULL };

		for (long i = 0; i < n; i++) {
			pid_t pid;

			if (!posix_spawn(&pid, "/bin/true", NULL, NULL, args, environ))
				waitpid(pid, NULL, 0);
		}
	} else {
		fprintf(stderr, "usage: tree_workload prefork|daemon|storm|threads|spawn [N] [CALLS]\n");
		return 2;
	}
	allocate(64);
	return 0;
}

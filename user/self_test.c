/*
 * bpftape record --self-test: what a probed allocator call costs on this
 * machine. Times a malloc/free loop unprobed, then records the same loop
 * (the full recorder: probes, ring buffer, tape), and prints the difference
 * per call, with what it means for a program that allocates a lot. The loop
 * is this binary itself (a hidden command), so nothing else is needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "self_test.h"

#define LOOP_PAIRS 20000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define QUICK_PAIRS 500

double self_test_call_ns(void)
{
	void *(*volatile alloc)(size_t) = malloc;
	void (*volatile release)(void *) = free;
	double start = now_s();

	for (int i = 0; i < QUICK_PAIRS; i++)
		release(alloc(64));
	return (now_s() - start) * 1e9 / (2 * QUICK_PAIRS);
}

int self_test_loop(int argc, char **argv)
{
	/* Through volatile pointers: the compiler may not fold a malloc and a free away. */
	void *(*volatile alloc)(size_t) = malloc;
	void (*volatile release)(void *) = free;
	long n = argc > 1 ? atol(argv[1]) : LOOP_PAIRS;
	double start;
	FILE *out;

	if (argc < 3)
		return EXIT_USAGE;
	start = now_s();
	for (long i = 0; i < n; i++)
		release(alloc(32 + (i & 255)));
	out = fopen(argv[2], "we");
	if (!out)
		return EXIT_FAIL;
	fprintf(out, "%.9f\n", now_s() - start);
	return fclose(out) ? EXIT_FAIL : EXIT_OK;
}

/* Runs `bpftape ARGS...` (this binary) and waits: its exit status, or -1. */
static int run_self(char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int read_seconds(const char *path, double *s)
{
	FILE *f = fopen(path, "re");
	int ok = f && fscanf(f, "%lf", s) == 1;

	if (f)
		fclose(f);
	return ok ? 0 : -EIO;
}

int self_test_run(void)
{
	char dir[] = "/tmp/bpftape-self-test.XXXXXX", bare[64], probed[64], tape[64], n[32];
	double bare_s, probed_s, per_call;
	int err = 0;

	if (!mkdtemp(dir)) {
		cli_error("cannot make a scratch directory in /tmp: %s", strerror(errno));
		return EXIT_FAIL;
	}
	snprintf(bare, sizeof(bare), "%s/bare", dir);
	snprintf(probed, sizeof(probed), "%s/probed", dir);
	snprintf(tape, sizeof(tape), "%s/loop.tape", dir);
	snprintf(n, sizeof(n), "%d", LOOP_PAIRS);
	{
		char *loop[] = { "bpftape", "__self-test-loop", n, bare, NULL };
		char *rec[] = { "bpftape", "record", "-q", "-e", "alloc", "-o", tape, "--",
				"/proc/self/exe", "__self-test-loop", n, probed, NULL };

		if (run_self(loop) != 0 || read_seconds(bare, &bare_s))
			err = -1;
		else if (run_self(rec) != 0 || read_seconds(probed, &probed_s))
			err = -2;
	}
	unlink(bare);
	unlink(probed);
	unlink(tape);
	rmdir(dir);
	if (err) {
		cli_error("%s", err == -1 ? "the unprobed loop failed" :
			  "recording the loop failed (run 'bpftape record' on a command to see why)");
		return EXIT_FAIL;
	}
	/* A pair is a malloc (entry and return probes) and a free (entry probe). */
	per_call = (probed_s - bare_s) / (2.0 * LOOP_PAIRS);
	printf("bpftape self-test: %d malloc+free pairs: %.3f s unprobed, %.3f s recorded\n",
	       LOOP_PAIRS, bare_s, probed_s);
	printf("  a probed allocator call costs %.2f us here (unprobed: %.3f us)\n", per_call * 1e6,
	       bare_s / (2.0 * LOOP_PAIRS) * 1e6);
	printf("  a program making 100,000 allocator calls a second spends %.0f%% more time while "
	       "recorded;\n  with -a and no filter, every process using the allocator does\n",
	       per_call * 1e5 * 100);
	return EXIT_OK;
}

/*
 * A test workload that calls every allocation function in a known,
 * deterministic sequence on several threads, including failures, and writes
 * its own ground truth: one line per call with its arguments and result.
 * tests/tools/check_alloc compares a tape with that log.
 *
 * Each thread brackets its sequence with two marker calls, malloc of sizes
 * that always fail, so that the checker finds the sequence among what libc
 * allocates by itself. Between the markers a thread makes no call but the
 * logged ones: the log lives in memory from mmap and is written with
 * write(2) at the end.
 *
 * Options:
 *   --threads N      worker threads besides the main one (default 2)
 *   --log FILE       where the ground truth goes (default: none)
 *   --wait FILE      allocate a few blocks, write "ready" to FILE's .ready,
 *                    then wait until FILE exists before the sequence
 *   --fork           after the sequence, fork a child that sleeps, then runs
 *                    the sequence itself (log FILE.child)
 *   --exec           like --fork, but the child execs this program again
 *   --name NAME      set the thread name first (prctl)
 *   --flood SECONDS  malloc/free in a loop for that long (0: until killed)
 *   --sleep-before MS  sleep before starting (the child after fork)
 */
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 16
#define LOG_BYTES (1 << 20)
#define LOOP_CALLS 200

/* Marker sizes: larger than PTRDIFF_MAX, so malloc fails at once. */
#define MARK_BEGIN(t) (SIZE_MAX - 0x1000 * (size_t)(t) - 1)
#define MARK_END(t) (SIZE_MAX - 0x1000 * (size_t)(t) - 2)

struct thread_log {
	char *buf;		/* from mmap: logging never calls the allocator */
	size_t len;
	int index;
	pid_t tid;
};

static struct thread_log logs[MAX_THREADS + 1];
static void *handoff[MAX_THREADS + 1];	/* blocks freed by the next thread */
static pthread_barrier_t barrier;
/* Volatile: the compiler must not see that the products overflow. */
static volatile size_t huge_count = SIZE_MAX / 2;
static int nthreads = 2;

static void put_hex(struct thread_log *l, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = digits[v & 15];
		v >>= 4;
	} while (v);
	l->buf[l->len++] = ' ';
	l->buf[l->len++] = '0';
	l->buf[l->len++] = 'x';
	while (n)
		l->buf[l->len++] = tmp[--n];
}

/* "tid func ptr size nmemb align result err": the fields of a tape alloc event. */
static void log_call(struct thread_log *l, const char *func, const void *ptr, size_t size,
		     size_t nmemb, size_t align, const void *result, int err)
{
	size_t n = strlen(func);

	if (l->len + 200 > LOG_BYTES)
		return;
	put_hex(l, l->tid);
	l->buf[l->len++] = ' ';
	memcpy(l->buf + l->len, func, n);
	l->len += n;
	put_hex(l, (uintptr_t)ptr);
	put_hex(l, size);
	put_hex(l, nmemb);
	put_hex(l, align);
	put_hex(l, (uintptr_t)result);
	put_hex(l, (unsigned)err);
	l->buf[l->len++] = '\n';
}

#define LOG(l, func, ptr, size, nmemb, align, result, err) \
	log_call(l, func, ptr, size, nmemb, align, result, err)

/* The sequence every thread runs. Volatile stores keep the compiler honest. */
static void run_sequence(struct thread_log *l)
{
	int t = l->index;
	void *volatile p[16];
	void *q;
	int r;

	q = malloc(MARK_BEGIN(t));
	LOG(l, "malloc", NULL, MARK_BEGIN(t), 0, 0, q, 0);

	p[0] = malloc(24 + t);
	LOG(l, "malloc", NULL, 24 + t, 0, 0, p[0], 0);
	p[1] = calloc(10, 16);
	LOG(l, "calloc", NULL, 16, 10, 0, p[1], 0);
	q = realloc(p[0], 100);
	LOG(l, "realloc", p[0], 100, 0, 0, q, 0);
	p[0] = q;
	p[2] = realloc(NULL, 50);
	LOG(l, "realloc", NULL, 50, 0, 0, p[2], 0);
	q = reallocarray(p[1], 20, 8);
	LOG(l, "reallocarray", p[1], 8, 20, 0, q, 0);
	p[1] = q;
	r = posix_memalign((void **)&p[3], 64, 200);
	LOG(l, "posix_memalign", NULL, 200, 0, 64, r ? NULL : p[3], r);
	q = (void *)0x1;
	r = posix_memalign(&q, 3, 10);	/* EINVAL: not a power of two */
	LOG(l, "posix_memalign", NULL, 10, 0, 3, NULL, r);
	p[4] = aligned_alloc(128, 256);
	LOG(l, "aligned_alloc", NULL, 256, 0, 128, p[4], 0);
	p[5] = memalign(32, 40);
	LOG(l, "memalign", NULL, 40, 0, 32, p[5], 0);
	p[6] = valloc(100);
	LOG(l, "valloc", NULL, 100, 0, 0, p[6], 0);
	p[7] = pvalloc(5000);
	LOG(l, "pvalloc", NULL, 5000, 0, 0, p[7], 0);
	free(NULL);
	LOG(l, "free", NULL, 0, 0, 0, NULL, 0);
	q = malloc((size_t)1 << 50);	/* ENOMEM */
	LOG(l, "malloc", NULL, (size_t)1 << 50, 0, 0, q, 0);
	q = calloc(huge_count, 4);	/* nmemb * size overflows */
	LOG(l, "calloc", NULL, 4, huge_count, 0, q, 0);
	q = reallocarray(p[6], huge_count, 4);	/* overflows: p[6] stays */
	LOG(l, "reallocarray", p[6], 4, huge_count, 0, q, 0);
	q = realloc(p[2], 0);	/* glibc frees p[2] and returns NULL; others may not */
	LOG(l, "realloc", p[2], 0, 0, 0, q, 0);
	p[2] = q;

	for (int i = 0; i < LOOP_CALLS; i++) {
		size_t size = 16 * (i % 37) + (size_t)t;

		p[8] = malloc(size);
		LOG(l, "malloc", NULL, size, 0, 0, p[8], 0);
		if (i % 3 == 0) {
			q = realloc(p[8], size * 2 + 1);
			LOG(l, "realloc", p[8], size * 2 + 1, 0, 0, q, 0);
			p[8] = q;
		}
		free(p[8]);
		LOG(l, "free", p[8], 0, 0, 0, NULL, 0);
	}

	/* A block for the next thread to free: a free across threads. */
	handoff[t] = malloc(777);
	LOG(l, "malloc", NULL, 777, 0, 0, handoff[t], 0);

	for (int i = 0; i < 8; i++) {
		free(p[i]);
		LOG(l, "free", p[i], 0, 0, 0, NULL, 0);
	}

	q = malloc(MARK_END(t));
	LOG(l, "malloc", NULL, MARK_END(t), 0, 0, q, 0);
}

/* The free of the block the previous thread handed over, between its own markers. */
static void free_handoff(struct thread_log *l)
{
	int from = (l->index + nthreads) % (nthreads + 1);
	void *q;

	q = malloc(MARK_BEGIN(l->index + 100));
	LOG(l, "malloc", NULL, MARK_BEGIN(l->index + 100), 0, 0, q, 0);
	free(handoff[from]);
	LOG(l, "free", handoff[from], 0, 0, 0, NULL, 0);
	q = malloc(MARK_END(l->index + 100));
	LOG(l, "malloc", NULL, MARK_END(l->index + 100), 0, 0, q, 0);
}

static void *thread_main(void *arg)
{
	struct thread_log *l = arg;

	l->tid = syscall(SYS_gettid);
	pthread_barrier_wait(&barrier);
	run_sequence(l);
	pthread_barrier_wait(&barrier);
	free_handoff(l);
	return NULL;
}

static int write_logs(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -1;
	for (int i = 0; i <= nthreads; i++)
		if (logs[i].len && write(fd, logs[i].buf, logs[i].len) != (ssize_t)logs[i].len)
			return -1;
	return close(fd);
}

static void flood(double seconds)
{
	struct timespec start, now;
	unsigned long n = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		void *volatile p = malloc(64 + n % 512);

		free(p);
		if (++n % 1024 == 0 && seconds > 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - start.tv_sec + (now.tv_nsec - start.tv_nsec) * 1e-9 >= seconds)
				break;
		}
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	const char *log_path = NULL, *wait_path = NULL, *name = NULL;
	bool do_fork = false, do_exec = false;
	double flood_secs = -1;
	long sleep_before = 0;
	pthread_t th[MAX_THREADS];
	void *pre_attach[4] = { 0 };
	char child_log[4096];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nthreads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--log") && i + 1 < argc)
			log_path = argv[++i];
		else if (!strcmp(argv[i], "--wait") && i + 1 < argc)
			wait_path = argv[++i];
		else if (!strcmp(argv[i], "--fork"))
			do_fork = true;
		else if (!strcmp(argv[i], "--exec"))
			do_exec = true;
		else if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--flood") && i + 1 < argc)
			flood_secs = atof(argv[++i]);
		else if (!strcmp(argv[i], "--sleep-before") && i + 1 < argc)
			sleep_before = atol(argv[++i]);
		else {
			fprintf(stderr, "alloc_workload: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	if (nthreads < 0 || nthreads > MAX_THREADS)
		return 2;
	if (name)
		prctl(PR_SET_NAME, name);
	if (sleep_before)
		sleep_ms(sleep_before);
	if (flood_secs >= 0) {
		flood(flood_secs);
		return 0;
	}
	for (int i = 0; i <= nthreads; i++) {
		logs[i].buf = mmap(NULL, LOG_BYTES, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		logs[i].index = i;
	}
	logs[0].tid = syscall(SYS_gettid);
	if (wait_path) {
		char ready[4096];
		int fd;

		/* Blocks from before the recorder attached: their frees come after. */
		for (int i = 0; i < 4; i++)
			pre_attach[i] = malloc(1000 + i);
		snprintf(ready, sizeof(ready), "%s.ready", wait_path);
		fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, "ready\n", 6) != 6)
			return 1;
		close(fd);
		while (access(wait_path, F_OK))
			sleep_ms(5);
	}
	pthread_barrier_init(&barrier, NULL, nthreads + 1);
	for (int i = 1; i <= nthreads; i++)
		pthread_create(&th[i - 1], NULL, thread_main, &logs[i]);
	pthread_barrier_wait(&barrier);
	run_sequence(&logs[0]);
	pthread_barrier_wait(&barrier);
	free_handoff(&logs[0]);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++)
		if (pre_attach[i]) {
			free(pre_attach[i]);
			LOG(&logs[0], "free-pre-attach", pre_attach[i], 0, 0, 0, NULL, 0);
		}
	if (log_path && write_logs(log_path))
		return 1;
	if (do_fork || do_exec) {
		pid_t pid;
		int status;

		snprintf(child_log, sizeof(child_log), "%s.child", log_path ? log_path : "/dev/null");
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			/* Give the recorder time to attach to the child: the gap is then empty. */
			sleep_ms(300);
			if (do_exec) {
				char *args[] = { argv[0], "--threads", "1", "--log", child_log, NULL };

				execv("/proc/self/exe", args);
				_exit(126);
			}
			nthreads = 1;
			memset(logs, 0, sizeof(logs));
			for (int i = 0; i <= nthreads; i++) {
				logs[i].buf = mmap(NULL, LOG_BYTES, PROT_READ | PROT_WRITE,
						   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
				logs[i].index = i;
			}
			logs[0].tid = syscall(SYS_gettid);
			pthread_barrier_init(&barrier, NULL, 2);
			pthread_create(&th[0], NULL, thread_main, &logs[1]);
			pthread_barrier_wait(&barrier);
			run_sequence(&logs[0]);
			pthread_barrier_wait(&barrier);
			free_handoff(&logs[0]);
			pthread_join(th[0], NULL);
			_exit(write_logs(child_log) ? 1 : 0);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
			return 1;
	}
	return 0;
}

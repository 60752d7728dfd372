/*
 * Ground truth from inside every process of a tree: an LD_PRELOAD library
 * that interposes the allocator functions, counts each call the process
 * makes, and passes it on to the next definition (libc's). It is also the
 * kind of wrapper (mwrap, heaptrack's preload, sanitizer shims) whose nested
 * calls the recorder must not count twice.
 *
 * Counts go to $ALLOC_COUNT_DIR/PID, a small file mapped shared, updated on
 * every call: they survive _exit, exec and kill -9, and a forked child
 * starts a file of its own. Format: struct counts below, native endian.
 * A program whose executable's name is $ALLOC_COUNT_SKIP (the recorder,
 * which passes LD_PRELOAD on to the command) counts nothing.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Indexes are the tape's event types (replay/tape.h): 1 malloc .. 10 free. */
#define KINDS 16
#define COUNTS_MAGIC 0x74756f63636f6c61ull	/* "alloccout" */

struct counts {
	uint64_t magic;
	uint64_t pid;
	_Atomic uint64_t calls[KINDS];
};

enum { MALLOC = 1, CALLOC, REALLOC, REALLOCARRAY, POSIX_MEMALIGN, ALIGNED_ALLOC, MEMALIGN, VALLOC,
       PVALLOC, FREE };

static struct counts *counts;
static pid_t counts_pid;
/* In the recorder itself (LD_PRELOAD set for the command it starts): nothing to count. */
static int disabled;
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;

static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static void *(*next_reallocarray)(void *, size_t, size_t);
static int (*next_posix_memalign)(void **, size_t, size_t);
static void *(*next_aligned_alloc)(size_t, size_t);
static void *(*next_memalign)(size_t, size_t);
static void *(*next_valloc)(size_t);
static void *(*next_pvalloc)(size_t);
static void (*next_free)(void *);

/* dlsym itself may call calloc: served from here until the real one is known. */
static char bootstrap[4096] __attribute__((aligned(16)));
static size_t bootstrap_used;
static _Atomic int resolving;

static int is_bootstrap(void *p)
{
	return (char *)p >= bootstrap && (char *)p < bootstrap + sizeof(bootstrap);
}

static void resolve(void)
{
	if (next_free || atomic_exchange(&resolving, 1))
		return;
	next_malloc = dlsym(RTLD_NEXT, "malloc");
	next_calloc = dlsym(RTLD_NEXT, "calloc");
	next_realloc = dlsym(RTLD_NEXT, "realloc");
	next_reallocarray = dlsym(RTLD_NEXT, "reallocarray");
	next_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	next_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	next_memalign = dlsym(RTLD_NEXT, "memalign");
	next_valloc = dlsym(RTLD_NEXT, "valloc");
	next_pvalloc = dlsym(RTLD_NEXT, "pvalloc");
	next_free = dlsym(RTLD_NEXT, "free");
}

/* This process's counts file, made on its first call (and again in a forked child). */
static struct counts *my_counts(void)
{
	pid_t pid = syscall(SYS_getpid);
	const char *dir;
	char path[4096];
	int fd;

	if (counts && counts_pid == pid)
		return counts;
	pthread_mutex_lock(&open_lock);
	if (!counts || counts_pid != pid) {
		struct counts *c = NULL;

		dir = getenv("ALLOC_COUNT_DIR");
		if (dir && snprintf(path, sizeof(path), "%s/%d", dir, pid) < (int)sizeof(path)) {
			/* Not truncated: after an exec, the same process goes on counting. */
			fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
			if (fd >= 0 && !ftruncate(fd, sizeof(struct counts)))
				c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (fd >= 0)
				close(fd);
			if (c == MAP_FAILED)
				c = NULL;
		}
		if (c) {
			c->pid = pid;
			c->magic = COUNTS_MAGIC;
		}
		counts = c;
		counts_pid = pid;
	}
	pthread_mutex_unlock(&open_lock);
	return counts;
}

/*
 * Calls the program made, not the ones the C library makes to itself
 * through the wrapper (glibc's reallocarray calls realloc through the PLT):
 * only the outermost call of a thread counts.
 */
static __thread int depth;

static void count(int kind)
{
	struct counts *c = disabled || depth ? NULL : my_counts();

	if (c)
		atomic_fetch_add_explicit(&c->calls[kind], 1, memory_order_relaxed);
}

#define CALL(kind, expr)                                                                   \
	do {                                                                               \
		count(kind);                                                               \
		resolve();                                                                 \
		depth++;                                                                   \
		expr;                                                                      \
		depth--;                                                                   \
	} while (0)

__attribute__((constructor)) static void init(void)
{
	const char *skip = getenv("ALLOC_COUNT_SKIP");
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (skip && n > 0) {
		const char *base;

		exe[n] = 0;
		base = strrchr(exe, '/');
		disabled = !strcmp(base ? base + 1 : exe, skip);
	}
	resolve();
}

void *malloc(size_t n)
{
	void *r;

	CALL(MALLOC, r = next_malloc(n));
	return r;
}

void *calloc(size_t m, size_t n)
{
	void *p;

	count(CALLOC);
	if (!next_calloc) {
		size_t need = (m * n + 15) & ~(size_t)15;

		resolve();
		if (!next_calloc) {
			/* Called by dlsym while resolving: zeroed static memory. */
			p = bootstrap + bootstrap_used;
			if (bootstrap_used + need > sizeof(bootstrap))
				return NULL;
			bootstrap_used += need;
			return p;
		}
	}
	depth++;
	p = next_calloc(m, n);
	depth--;
	return p;
}

void *realloc(void *p, size_t n)
{
	void *r;

	CALL(REALLOC, r = next_realloc(p, n));
	return r;
}

void *reallocarray(void *p, size_t m, size_t n)
{
	void *r;

	CALL(REALLOCARRAY, r = next_reallocarray(p, m, n));
	return r;
}

int posix_memalign(void **out, size_t align, size_t n)
{
	int r;

	CALL(POSIX_MEMALIGN, r = next_posix_memalign(out, align, n));
	return r;
}

void *aligned_alloc(size_t align, size_t n)
{
	void *r;

	CALL(ALIGNED_ALLOC, r = next_aligned_alloc(align, n));
	return r;
}

void *memalign(size_t align, size_t n)
{
	void *r;

	CALL(MEMALIGN, r = next_memalign(align, n));
	return r;
}

void *valloc(size_t n)
{
	void *r;

	CALL(VALLOC, r = next_valloc(n));
	return r;
}

void *pvalloc(size_t n)
{
	void *r;

	CALL(PVALLOC, r = next_pvalloc(n));
	return r;
}

void free(void *p)
{
	if (is_bootstrap(p)) {
		count(FREE);
		return;
	}
	CALL(FREE, next_free(p));
}

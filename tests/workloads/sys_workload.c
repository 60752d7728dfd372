/*
 * A known sequence of syscalls, on several threads and processes, with its
 * own ground truth, for tests/tools/check_sys.
 *
 * Every syscall between a thread's start and end markers is a raw
 * syscall(2) whose arguments and result this program logs in memory (no
 * syscall of its own), into a shared mapping that the main thread writes
 * out at the end. A forked child and an exec'd helper log the same way.
 *
 * Log lines (one per fact, in each thread's order):
 *   B tid [first]         a section starts with the start marker; "first":
 *                         it is the thread's first recorded syscall
 *   S tid nr ret n a0..an-1 state path
 *                         one syscall; state is none, ok, truncated or
 *                         unreadable; path is "-" when there is none
 *   E tid                 the section ends with the end marker
 *   N tid                 the section ends without one (execve succeeded)
 *   F parent child        a fork of a new process
 *   X tid code process    an exit, with its wait(2) status; process: 1 when
 *                         the whole process ended
 *   C pid path            an exec
 *
 * Usage: sys_workload --log FILE [--threads N]
 *        sys_workload --helper FILE   (what the exec'd child runs)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MARK_START (-12345L)	/* close() of these: EBADF, and unmistakable */
#define MARK_END (-12346L)
#define SLOT_BYTES (64 << 10)
#define MAX_SLOTS 16

/* One writer per slot of the shared log: no locks, no syscalls. */
struct slot {
	size_t len;
	char text[SLOT_BYTES - sizeof(size_t)];
};

struct thread_ctx {
	struct slot *slot;
	char *resident_path;	/* a file-backed page not yet faulted in */
	pid_t tid;
};

/* The calling thread's ID, learnt before its markers: gettid inside would be seen. */
static __thread pid_t cur_tid;

static void say(struct slot *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->text + s->len, sizeof(s->text) - s->len, fmt, ap);
	va_end(ap);
	if (n > 0 && s->len + n < sizeof(s->text))
		s->len += n;
}

/* Issues a raw syscall and logs it; ipath is the path argument's index, or -1. */
static long sys(struct slot *s, const char *state, int ipath, long nr, int n, long a0, long a1,
		long a2, long a3)
{
	long args[4] = { a0, a1, a2, a3 };
	long ret = syscall(nr, a0, a1, a2, a3, 0L, 0L);

	if (ret == -1)
		ret = -errno;
	say(s, "S %d %ld %ld %d", cur_tid, nr, ret, n);
	for (int i = 0; i < n; i++)
		say(s, " %ld", args[i]);
	say(s, " %s %s\n", state, ipath >= 0 && strcmp(state, "none") && strcmp(state, "unreadable") ?
					 (const char *)args[ipath] : "-");
	return ret;
}

static void mark(struct slot *s, pid_t tid, long which, const char *extra)
{
	if (which == MARK_START)
		say(s, "B %d%s\n", tid, extra);
	syscall(SYS_close, which);
	if (which == MARK_END)
		say(s, "E %d\n", tid);
}

/* The syscalls every worker thread makes: successes, errors, and each kind of path. */
static void path_calls(struct slot *s, const char *resident_path)
{
	static __thread char longpath[400], buf[64], missing[64];
	long fd;
	int i;

	snprintf(missing, sizeof(missing), "/nonexistent/bpftape-%d", cur_tid);
	memcpy(longpath, "/nonexistent", 12);
	for (i = 12; i + 2 < (int)sizeof(longpath); i += 2)
		memcpy(longpath + i, "/a", 2);
	longpath[i] = 0;

	fd = sys(s, "ok", 1, SYS_openat, 4, AT_FDCWD, (long)"/etc/hostname", O_RDONLY, 0);
	sys(s, "none", -1, SYS_read, 3, fd, (long)buf, sizeof(buf), 0);
	sys(s, "none", -1, SYS_close, 1, fd, 0, 0, 0);
	sys(s, "ok", 1, SYS_openat, 4, AT_FDCWD, (long)missing, O_RDONLY, 0);
	sys(s, "truncated", 1, SYS_openat, 4, AT_FDCWD, (long)longpath, O_RDONLY, 0);
	sys(s, "unreadable", 1, SYS_openat, 4, AT_FDCWD, 1L, O_RDONLY, 0);
	/* Not resident at entry; the kernel faults it in, so it is read at exit. */
	fd = sys(s, "ok", 1, SYS_openat, 4, AT_FDCWD, (long)resident_path, O_RDONLY, 0);
	sys(s, "none", -1, SYS_close, 1, fd, 0, 0, 0);
	sys(s, "none", -1, SYS_read, 3, -1, (long)buf, 1, 0);
	sys(s, "ok", 1, SYS_faccessat, 3, AT_FDCWD, (long)"/etc/hostname", R_OK, 0);
	sys(s, "none", -1, SYS_getppid, 0, 0, 0, 0, 0);
}

static void *worker(void *arg)
{
	struct thread_ctx *c = arg;

	c->tid = cur_tid = (pid_t)syscall(SYS_gettid);
	mark(c->slot, c->tid, MARK_START, "");
	path_calls(c->slot, c->resident_path);
	mark(c->slot, c->tid, MARK_END, "");
	return NULL;
}

/* A page holding path, mapped from a file and not touched, so not resident. */
static char *untouched_path(const char *dir, const char *path)
{
	char name[PATH_MAX];
	char *p;
	int fd;

	snprintf(name, sizeof(name), "%s/path.XXXXXX", dir);
	fd = mkstemp(name);
	if (fd < 0 || write(fd, path, strlen(path) + 1) < 0)
		return NULL;
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	unlink(name);
	return p == MAP_FAILED ? NULL : p;
}

static int run_helper(const char *log)
{
	struct slot s = { 0 };
	pid_t me = cur_tid = (pid_t)syscall(SYS_gettid);
	FILE *f;

	mark(&s, me, MARK_START, "");
	sys(&s, "none", -1, SYS_getppid, 0, 0, 0, 0, 0);
	sys(&s, "ok", 1, SYS_openat, 4, AT_FDCWD, (long)"/nonexistent/helper", O_RDONLY, 0);
	mark(&s, me, MARK_END, "");
	say(&s, "X %d %d 1\n", me, 3 << 8);
	f = fopen(log, "w");
	if (!f || fwrite(s.text, 1, s.len, f) != s.len || fclose(f))
		return 1;
	syscall(SYS_exit_group, 3L);
	return 3;
}

int main(int argc, char **argv)
{
	int nthreads = 3, status;
	const char *log = NULL;
	char self[PATH_MAX], helper_log[PATH_MAX + 8];
	struct thread_ctx ctx[MAX_SLOTS];
	pthread_t th[MAX_SLOTS];
	struct slot *slots, *m;
	long child, r;
	pid_t me;
	FILE *f;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--helper") && i + 1 < argc)
			return run_helper(argv[++i]);
		if (!strcmp(argv[i], "--log") && i + 1 < argc)
			log = argv[++i];
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nthreads = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: sys_workload --log FILE [--threads N]\n");
			return 2;
		}
	}
	if (!log || nthreads < 1 || nthreads > MAX_SLOTS - 3) {
		fprintf(stderr, "sys_workload: --log FILE is needed; 1 to %d threads\n",
			MAX_SLOTS - 3);
		return 2;
	}
	slots = mmap(NULL, sizeof(*slots) * MAX_SLOTS, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED)
		return 1;
	snprintf(helper_log, sizeof(helper_log), "%s.helper", log);
	if (readlink("/proc/self/exe", self, sizeof(self) - 1) <= 0)
		return 1;
	self[strnlen(self, sizeof(self) - 1)] = 0;
	for (int i = 0; i < nthreads; i++) {
		ctx[i].slot = &slots[3 + i];
		ctx[i].resident_path = untouched_path("/tmp", "/etc/hostname");
		if (!ctx[i].resident_path)
			return 1;
	}
	me = cur_tid = (pid_t)syscall(SYS_gettid);
	m = &slots[0];

	mark(m, me, MARK_START, "");
	sys(m, "none", -1, SYS_getppid, 0, 0, 0, 0, 0);
	/* A child process, followed from its first syscall. */
	child = syscall(SYS_clone, SIGCHLD, 0L, 0L, 0L, 0L);
	if (child == 0) {
		pid_t c = cur_tid = (pid_t)syscall(SYS_gettid);

		mark(&slots[1], c, MARK_START, " first");
		sys(&slots[1], "none", -1, SYS_getppid, 0, 0, 0, 0, 0);
		sys(&slots[1], "ok", 1, SYS_openat, 4, AT_FDCWD, (long)"/nonexistent/child",
		    O_RDONLY, 0);
		mark(&slots[1], c, MARK_END, "");
		say(&slots[1], "X %d %d 1\n", c, 7 << 8);
		syscall(SYS_exit_group, 7L);
	}
	say(m, "S %d %d %ld 5 %d 0 0 0 0 none -\n", me, SYS_clone, child, SIGCHLD);
	say(m, "F %d %ld\n", me, child);
	r = sys(m, "none", -1, SYS_wait4, 4, child, (long)&status, 0, 0);
	(void)r;
	/* A child that executes a helper: its execve, then the helper's own log. */
	child = syscall(SYS_clone, SIGCHLD, 0L, 0L, 0L, 0L);
	if (child == 0) {
		pid_t c = cur_tid = (pid_t)syscall(SYS_gettid);
		char *args[] = { "sys_workload", "--helper", helper_log, NULL };

		mark(&slots[2], c, MARK_START, " first");
		sys(&slots[2], "none", -1, SYS_getppid, 0, 0, 0, 0, 0);
		/* Logged before the call: a successful execve does not come back here. */
		say(&slots[2], "S %d %d 0 3 %ld %ld %ld ok %s\nN %d\nC %d %s\n", c, SYS_execve,
		    (long)self, (long)args, (long)environ, self, c, c, self);
		syscall(SYS_execve, (long)self, (long)args, (long)environ);
		syscall(SYS_exit_group, 127L);
	}
	say(m, "S %d %d %ld 5 %d 0 0 0 0 none -\n", me, SYS_clone, child, SIGCHLD);
	say(m, "F %d %ld\n", me, child);
	sys(m, "none", -1, SYS_wait4, 4, child, (long)&status, 0, 0);
	mark(m, me, MARK_END, "");

	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, &ctx[i]))
			return 1;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		say(m, "X %d 0 0\n", ctx[i].tid);
	}
	say(m, "X %d 0 1\n", me);
	f = fopen(log, "w");
	if (!f)
		return 1;
	for (int i = 0; i < 3 + nthreads; i++)
		fwrite(slots[i].text, 1, slots[i].len, f);
	return fclose(f) ? 1 : 0;
}

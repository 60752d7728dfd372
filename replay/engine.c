/*
 * The replay loop, serial and faithful, with its measurements.
 *
 * Faithful mode runs one thread per recorded thread. An op that releases a
 * block another thread touched last waits until that block's generation
 * reaches the value the preparation computed: a wait on that one op, not a
 * lock. Every wait points backwards in the tape's order, and each thread runs
 * its ops in that order, so the earliest op not yet done can always run: no
 * deadlock. prepared_check.c proves this of every prepared form before it
 * runs, fences around forks included.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc_api.h"
#include "engine.h"
#include "vec.h"

#define TIME_EVERY 64		/* one call in this many is timed on its own */
/* In a slot: the allocation failed in this replay (NULL is "not made yet"). */
#define FAILED_HERE ((void *)1)
#define SPIN_WAITS 200
#define YIELD_WAITS 20

struct runtime;

struct thread_rt {
	struct runtime *rt;
	const struct op *ops;
	uint64_t nops;
	uint32_t index;		/* global thread index */
	_Atomic uint32_t done;
	_Atomic uint32_t at_fence;	/* fork number + 1 it is held at */
	pthread_t pthread;
	uint64_t since_sample;
	uint64_t by_kind[OP_KINDS];
	uint64_t timed_ns[OP_KINDS], timed_n[OP_KINDS];
	uint64_t failures, waits, empty, untouched;
	char pad[64];		/* no false sharing between threads' counters */
};

struct runtime {
	const struct prepared *p;
	const struct engine_opts *o;
	const struct exec_context *exec;
	struct results *res;
	struct proc_result *out;
	uint32_t image;
	const struct prep_process *pr;
	struct alloc_api api;
	void **slots;
	_Atomic uint32_t *gen;
	size_t slot_bytes, gen_bytes;
	struct thread_rt *threads;
	size_t threads_bytes;
	_Atomic uint32_t forks_done;
	_Atomic uint32_t waiters;
	_Atomic uint64_t ops_done;
	_Atomic uint64_t peak_rss;
	_Atomic uint64_t npoints;
	struct timeline_point *points;
	uint64_t max_points;
	uint64_t sample_every;
	uint64_t baseline;
	uint64_t touch_max;	/* blocks above this are not touched: half the machine's memory */
	uint64_t wall0, cpu0;	/* when this image's replay started */
	int statm_fd;
	long page;
	bool faithful;
	bool root;		/* this process carries a whole tree (see engine_run) */
	struct vec children;	/* pid_t of forked replay processes */
	pthread_barrier_t start;
};

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Anonymous resident bytes of this process, from /proc/self/statm (no allocation). */
static uint64_t anon_rss(const struct runtime *rt)
{
	char buf[128];
	unsigned long long v[3] = { 0, 0, 0 };
	ssize_t n = pread(rt->statm_fd, buf, sizeof(buf) - 1, 0);
	int field = 0;

	if (n <= 0)
		return 0;
	buf[n] = 0;
	for (char *c = buf; *c && field < 3; c++) {
		if (*c == ' ') {
			field++;
			continue;
		}
		v[field] = v[field] * 10 + (unsigned)(*c - '0');
	}
	/* resident minus shared (file and shmem pages: the prepared form). */
	return v[1] > v[2] ? (v[1] - v[2]) * (uint64_t)rt->page : 0;
}

static void sample(struct runtime *rt, uint64_t op_index)
{
	uint64_t rss = anon_rss(rt), heap = rss > rt->baseline ? rss - rt->baseline : 0;
	uint64_t peak = rt->peak_rss, n;

	while (heap > peak && !atomic_compare_exchange_weak(&rt->peak_rss, &peak, heap))
		;
	n = atomic_fetch_add(&rt->npoints, 1);
	if (n < rt->max_points) {
		uint64_t li = op_index / rt->p->h->sample_every;
		uint64_t live = 0;

		if (rt->pr->nlive)
			live = rt->p->live[rt->pr->first_live +
					   (li < rt->pr->nlive ? li : rt->pr->nlive - 1)];
		rt->points[n] = (struct timeline_point){ op_index, heap, live };
	}
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

/* Waits until *addr >= want: spins a little, then sleeps on the futex. */
static void wait_for(struct runtime *rt, _Atomic uint32_t *addr, uint32_t want,
		     struct thread_rt *tr)
{
	uint32_t v;

	for (int i = 0; i < SPIN_WAITS; i++) {
		if (atomic_load_explicit(addr, memory_order_acquire) >= want)
			return;
		__builtin_ia32_pause();
	}
	/* With more replay threads than CPUs, the one we wait for may need ours. */
	for (int i = 0; i < YIELD_WAITS; i++) {
		if (atomic_load_explicit(addr, memory_order_acquire) >= want)
			return;
		sched_yield();
	}
	tr->waits++;
	atomic_fetch_add(&rt->waiters, 1);
	while ((v = atomic_load_explicit(addr, memory_order_acquire)) < want)
		futex_wait(addr, v);
	atomic_fetch_sub(&rt->waiters, 1);
}

/* Publishes a new value, and wakes sleepers only when there are any. */
static void publish(struct runtime *rt, _Atomic uint32_t *addr, uint32_t v)
{
	atomic_store_explicit(addr, v, memory_order_release);
	if (atomic_load_explicit(&rt->waiters, memory_order_acquire))
		futex_wake(addr);
}

static void touch_block(struct runtime *rt, struct thread_rt *tr, void *p, uint64_t bytes)
{
	enum touch_policy touch = rt->o->touch;
	long page = rt->page;
	char *c = p;

	if (!p || touch == TOUCH_NONE)
		return;
	/* Writing to a block larger than the machine could hold would only get us killed. */
	if (bytes > rt->touch_max) {
		tr->untouched++;
		return;
	}
	if (touch == TOUCH_ALL) {
		memset(p, 0xa5, bytes);
		return;
	}
	for (uint64_t off = 0; off < bytes; off += page)
		c[off] = 1;
	if (bytes)
		c[bytes - 1] = 1;
}

static uint64_t op_bytes(const struct op *op)
{
	uint64_t total;

	if (op->kind == OP_CALLOC || op->kind == OP_REALLOCARRAY)
		return __builtin_mul_overflow(op->aux, op->size, &total) ? 0 : total;
	return op->size;
}

static void *call_allocator(struct runtime *rt, const struct op *op, void *old)
{
	void *p = NULL;

	switch (op->kind) {
	case OP_MALLOC:
		return malloc(op->size);
	case OP_CALLOC:
		return calloc(op->aux, op->size);
	case OP_REALLOC:
		return realloc(old, op->size);
	case OP_REALLOCARRAY:
		return rt->api.reallocarray(old, op->aux, op->size);
	case OP_POSIX_MEMALIGN:
		return posix_memalign(&p, op->aux, op->size) ? NULL : p;
	case OP_ALIGNED_ALLOC:
		return rt->api.aligned_alloc(op->aux, op->size);
	case OP_MEMALIGN:
		return rt->api.memalign(op->aux, op->size);
	case OP_VALLOC:
		return rt->api.valloc(op->size);
	case OP_PVALLOC:
		return rt->api.pvalloc(op->size);
	}
	return NULL;
}

/* One allocator call. faithful is a constant at each call site: two loops in one. */
static inline __attribute__((always_inline)) void
do_call(struct runtime *rt, struct thread_rt *tr, const struct op *op, bool faithful)
{
	uint32_t rel = op->kind == OP_FREE ? op->slot : op->old_slot;
	void *old = NULL;

	if (rel != NO_SLOT) {
		if (faithful && (op->flags & OPF_WAIT) && !rt->o->no_waits)
			wait_for(rt, &rt->gen[rel], op->expect, tr);
		old = rt->slots[rel];
		/* A recorded block whose allocation has not run: a missed dependency. */
		if (!old)
			tr->empty++;
		else if (old == FAILED_HERE)
			old = NULL;
	}
	if (op->kind == OP_FREE) {
		if (old && rt->o->touch == TOUCH_ALL && op->size <= rt->touch_max)
			memset(old, 0, op->size);
		free(old);
	} else {
		void *p = call_allocator(rt, op, old);

		touch_block(rt, tr, p, op_bytes(op));
		if (!p) {
			tr->failures++;
			p = FAILED_HERE;
		}
		if (faithful && rel != NO_SLOT)
			publish(rt, &rt->gen[rel], atomic_load_explicit(&rt->gen[rel],
									memory_order_relaxed) + 1);
		rt->slots[op->slot] = p;
		if (faithful)
			publish(rt, &rt->gen[op->slot],
				atomic_load_explicit(&rt->gen[op->slot], memory_order_relaxed) + 1);
		tr->by_kind[op->kind]++;
		return;
	}
	if (faithful && rel != NO_SLOT)
		publish(rt, &rt->gen[rel], atomic_load_explicit(&rt->gen[rel], memory_order_relaxed) + 1);
	tr->by_kind[op->kind]++;
}

/* Op number i; one in TIME_EVERY is timed on its own, for the per-function figures. */
static inline __attribute__((always_inline)) void
call_op(struct runtime *rt, struct thread_rt *tr, const struct op *op, uint64_t i, bool faithful)
{
	uint64_t t0;

	if (i % TIME_EVERY) {
		do_call(rt, tr, op, faithful);
		return;
	}
	t0 = now_ns(CLOCK_MONOTONIC);
	do_call(rt, tr, op, faithful);
	tr->timed_ns[op->kind] += now_ns(CLOCK_MONOTONIC) - t0;
	tr->timed_n[op->kind]++;
}

static int run_image(struct runtime *parent, const struct prepared *p, uint32_t image, bool root,
		     const struct engine_opts *o, struct results *res,
		     const struct exec_context *exec, uint64_t baseline, char *msg, size_t msglen);

static void finish_result(struct runtime *rt);

/* A replayed fork: the child continues with the child's image, from this heap. */
static void do_fork(struct runtime *rt, const struct op *op)
{
	char msg[256];
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "bpftape-replay: cannot replay a fork: %s\n", strerror(errno));
		return;
	}
	if (pid == 0) {
		int err = run_image(rt, rt->p, op->aux, false, rt->o, rt->res, rt->exec, rt->baseline,
				    msg, sizeof(msg));

		if (err)
			fprintf(stderr, "bpftape-replay: %s\n", msg);
		_exit(err ? 1 : 0);
	}
	vec__push(&rt->children, &pid);
}

/* A replayed exec: this image ends; the new one starts from a fresh heap. */
static void do_exec(struct runtime *rt, const struct op *op)
{
	char image[16], pfd[16], rfd[16];
	char *argv[64];
	int n = 0;

	/* The new image starts from an empty heap, as after the recorded exec. */

	finish_result(rt);
	snprintf(image, sizeof(image), "%llu", (unsigned long long)op->aux);
	snprintf(pfd, sizeof(pfd), "%d", rt->exec->prepared_fd);
	snprintf(rfd, sizeof(rfd), "%d", rt->exec->results_fd);
	argv[n++] = (char *)rt->exec->self;
	for (char *const *a = rt->exec->args; *a && n < 56; a++)
		argv[n++] = *a;
	argv[n++] = "--image";
	argv[n++] = image;
	argv[n++] = "--prepared-fd";
	argv[n++] = pfd;
	argv[n++] = "--results-fd";
	argv[n++] = rfd;
	if (rt->root)
		argv[n++] = "--root";
	argv[n] = NULL;
	execv(rt->exec->self, argv);
	fprintf(stderr, "bpftape-replay: cannot replay an exec: %s\n", strerror(errno));
	_exit(1);
}

static void maybe_sample(struct runtime *rt, struct thread_rt *tr)
{
	if (++tr->since_sample < 256)
		return;
	uint64_t before = atomic_fetch_add(&rt->ops_done, tr->since_sample);
	uint64_t after = before + tr->since_sample;

	tr->since_sample = 0;
	if (after / rt->sample_every != before / rt->sample_every)
		sample(rt, after);
}

static void run_serial(struct runtime *rt)
{
	const struct prep_process *pr = rt->pr;
	uint64_t cursors_bytes = pr->nthreads * sizeof(uint64_t);
	uint64_t *cursor = mem_alloc(cursors_bytes);
	struct thread_rt *tr = &rt->threads[0];

	if (!cursor)
		return;
	memset(cursor, 0, cursors_bytes);
	for (uint64_t i = 0; i < pr->nops; i++) {
		uint32_t local = rt->p->order[pr->first_order + i] - pr->first_thread;
		const struct prep_thread *th = &rt->p->threads[pr->first_thread + local];
		const struct op *op;

		do
			op = &rt->p->ops[th->first_op + cursor[local]++];
		while (op->kind == OP_FENCE);
		if (op->kind == OP_FORK) {
			tr->by_kind[OP_FORK]++;
			do_fork(rt, op);
			continue;
		}
		if (op->kind == OP_EXEC) {
			tr->by_kind[OP_EXEC]++;
			mem_free(cursor, cursors_bytes);
			do_exec(rt, op);
		}
		call_op(rt, tr, op, i, false);
		if (++tr->since_sample >= rt->sample_every) {
			tr->since_sample = 0;
			sample(rt, i + 1);
		}
	}
	mem_free(cursor, cursors_bytes);
}

/* At fork number k: every other thread is held at its fence, or done. */
static void wait_fork_point(struct runtime *rt, struct thread_rt *self, uint32_t k)
{
	for (uint32_t t = 0; t < rt->pr->nthreads; t++) {
		struct thread_rt *o = &rt->threads[t];

		if (o == self)
			continue;
		while (!atomic_load(&o->done) && atomic_load(&o->at_fence) != k + 1) {
			uint32_t v = atomic_load(&o->at_fence);

			atomic_fetch_add(&rt->waiters, 1);
			if (!atomic_load(&o->done) && v != k + 1) {
				struct timespec ms = { 0, 1000000 };

				syscall(SYS_futex, &o->at_fence, FUTEX_WAIT_PRIVATE, v, &ms, NULL, 0);
			}
			atomic_fetch_sub(&rt->waiters, 1);
		}
	}
}

static void *run_thread(void *arg)
{
	struct thread_rt *tr = arg;
	struct runtime *rt = tr->rt;

	pthread_barrier_wait(&rt->start);
	for (uint64_t i = 0; i < tr->nops; i++) {
		const struct op *op = &tr->ops[i];

		switch (op->kind) {
		case OP_FENCE:
			publish(rt, &tr->at_fence, op->aux + 1);
			wait_for(rt, &rt->forks_done, op->aux + 1, tr);
			continue;
		case OP_FORK:
			tr->by_kind[OP_FORK]++;
			wait_fork_point(rt, tr, op->expect);
			do_fork(rt, op);
			publish(rt, &rt->forks_done, op->expect + 1);
			continue;
		case OP_EXEC:
			tr->by_kind[OP_EXEC]++;
			do_exec(rt, op);
		}
		call_op(rt, tr, op, i, true);
		maybe_sample(rt, tr);
	}
	atomic_fetch_add(&rt->ops_done, tr->since_sample);
	publish(rt, &tr->done, 1);
	/* A forking thread may sleep on our fence word: wake it too. */
	futex_wake(&tr->at_fence);
	return NULL;
}

static void finish_result(struct runtime *rt)
{
	struct proc_result *out = rt->out;
	uint64_t final = anon_rss(rt);

	final = final > rt->baseline ? final - rt->baseline : 0;
	if (final > rt->peak_rss)
		rt->peak_rss = final;
	out->wall_ns = now_ns(CLOCK_MONOTONIC) - rt->wall0;
	out->cpu_ns = now_ns(CLOCK_PROCESS_CPUTIME_ID) - rt->cpu0;
	out->final_rss = final;
	out->peak_rss = rt->peak_rss;
	out->baseline_rss = rt->baseline;
	out->faithful = rt->faithful;
	out->nthreads = rt->pr->nthreads;
	out->pid = rt->pr->pid;
	out->engine_bytes = rt->slot_bytes + rt->gen_bytes + rt->threads_bytes;
	out->ntimeline = rt->npoints < rt->max_points ? rt->npoints : rt->max_points;
	for (uint32_t t = 0; t < (rt->faithful ? rt->pr->nthreads : 1); t++) {
		struct thread_rt *tr = &rt->threads[t];

		for (int k = 0; k < OP_KINDS; k++) {
			out->ops[k] += tr->by_kind[k];
			out->timed_ns[k] += tr->timed_ns[k];
			out->timed_n[k] += tr->timed_n[k];
		}
		out->replay_failures += tr->failures;
		out->waits += tr->waits;
		out->empty_releases += tr->empty;
		out->untouched += tr->untouched;
	}
	snprintf(out->allocator, sizeof(out->allocator), "%s", rt->api.name);
	snprintf(out->emulated, sizeof(out->emulated), "%s", rt->api.emulated);
	alloc_api__stats(out->allocator_stats, sizeof(out->allocator_stats));
	out->ran = 1;
}

uint64_t engine_sample_every(const struct prepared *p, const struct engine_opts *o)
{
	uint64_t n;

	if (o->sample_every)
		return o->sample_every;
	/*
	 * About 1024 samples, between every 1024 and every 65536 ops: a sample
	 * is a read of /proc/self/statm, a few microseconds, and more of them
	 * showed in the replay's own time (make bench).
	 */
	n = p->h->nops / 1024;
	return n < 1024 ? 1024 : n > 65536 ? 65536 : n;
}

/* Timeline room for an image: a sample every sample_every ops, the first and the last. */
static uint64_t image_points(const struct prepared *p, uint32_t i, uint64_t sample_every)
{
	return p->procs[i].nops / sample_every + 4;
}

size_t results_size(const struct prepared *p, uint64_t sample_every)
{
	size_t points = 0;

	for (uint32_t i = 0; i < p->h->nprocesses; i++)
		points += image_points(p, i, sample_every);
	return sizeof(struct results) + p->h->nprocesses * sizeof(struct proc_result) +
	       points * sizeof(struct timeline_point);
}

struct timeline_point *results_points(struct results *r)
{
	return (struct timeline_point *)&r->procs[r->nprocesses];
}

/* Slot and generation tables: prefaulted, so that the baseline includes them. */
static int tables(struct runtime *rt, struct runtime *parent)
{
	if (parent) {
		/* A forked child keeps the inherited tables: they hold its heap. */
		rt->slots = parent->slots;
		rt->gen = parent->gen;
		rt->slot_bytes = parent->slot_bytes;
		rt->gen_bytes = parent->gen_bytes;
		return 0;
	}
	rt->slot_bytes = (rt->p->h->nslots + 1) * sizeof(void *);
	rt->gen_bytes = (rt->p->h->nslots + 1) * sizeof(uint32_t);
	rt->slots = mem_alloc(rt->slot_bytes);
	rt->gen = mem_alloc(rt->gen_bytes);
	if (!rt->slots || !rt->gen)
		return -ENOMEM;
	memset(rt->slots, 0, rt->slot_bytes);
	memset((void *)rt->gen, 0, rt->gen_bytes);
	return 0;
}

/* A whole tree is done: say so, then keep the heap if asked. */
static void tree_done(const struct engine_opts *o, struct results *res)
{
	atomic_fetch_add(&res->roots_done, 1);
	syscall(SYS_futex, &res->roots_done, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
	if (!o->hold)
		return;
	fprintf(stderr, "bpftape-replay: holding the replayed heap in PID %d%s\n", getpid(),
		o->hold_secs < 0 ? " until killed" : "");
	if (o->hold_secs < 0)
		for (;;)
			pause();
	struct timespec ts = { (time_t)o->hold_secs,
			       (long)((o->hold_secs - (time_t)o->hold_secs) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int run_image(struct runtime *parent, const struct prepared *p, uint32_t image, bool root,
		     const struct engine_opts *o, struct results *res,
		     const struct exec_context *exec, uint64_t baseline, char *msg, size_t msglen)
{
	struct runtime rt = { .p = p, .o = o, .res = res, .exec = exec, .image = image,
			      .root = root };
	const struct prep_process *pr = &p->procs[image];
	int err;

	rt.pr = pr;
	rt.out = &res->procs[image];
	rt.page = sysconf(_SC_PAGESIZE);
	rt.touch_max = (uint64_t)sysconf(_SC_PHYS_PAGES) * rt.page / 2;
	rt.sample_every = res->sample_every;
	rt.faithful = o->threads == THREADS_FAITHFUL ||
		      (o->threads == THREADS_AUTO && pr->nthreads > 1 && p->h->has_threads);
	vec__init(&rt.children, sizeof(pid_t));
	memset(rt.out, 0, sizeof(*rt.out));
	/* Each image's timeline in its own part of the shared area, in image order. */
	for (uint32_t i = 0; i < image; i++)
		rt.out->first_point += image_points(p, i, rt.sample_every);
	rt.max_points = image_points(p, image, rt.sample_every);
	rt.points = results_points(res) + rt.out->first_point;
	rt.statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (rt.statm_fd < 0) {
		snprintf(msg, msglen, "cannot read /proc/self/statm: %s", strerror(errno));
		return -errno;
	}
	alloc_api__init(&rt.api);
	err = tables(&rt, parent);
	rt.threads_bytes = (pr->nthreads ? pr->nthreads : 1) * sizeof(struct thread_rt);
	rt.threads = mem_alloc(rt.threads_bytes);
	if (err || !rt.threads) {
		snprintf(msg, msglen, "out of memory for the replay's tables");
		return -ENOMEM;
	}
	memset(rt.threads, 0, rt.threads_bytes);
	for (uint32_t t = 0; t < pr->nthreads; t++) {
		const struct prep_thread *th = &p->threads[pr->first_thread + t];

		rt.threads[t].rt = &rt;
		rt.threads[t].index = pr->first_thread + t;
		rt.threads[t].ops = &p->ops[th->first_op];
		rt.threads[t].nops = th->nops;
	}
	if (rt.faithful) {
		pthread_barrier_init(&rt.start, NULL, pr->nthreads + 1);
		for (uint32_t t = 0; t < pr->nthreads; t++)
			if (pthread_create(&rt.threads[t].pthread, NULL, run_thread, &rt.threads[t])) {
				snprintf(msg, msglen, "cannot start replay thread %u", t);
				return -EAGAIN;
			}
	}
	/* The baseline: the engine and its threads, before the first replayed call. */
	rt.baseline = parent ? baseline : anon_rss(&rt);
	sample(&rt, 0);
	rt.wall0 = now_ns(CLOCK_MONOTONIC);
	rt.cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	if (rt.faithful) {
		pthread_barrier_wait(&rt.start);
		for (uint32_t t = 0; t < pr->nthreads; t++)
			pthread_join(rt.threads[t].pthread, NULL);
	} else if (pr->nthreads) {
		run_serial(&rt);
	}
	sample(&rt, pr->nops);
	finish_result(&rt);
	for (size_t i = 0; i < rt.children.len; i++) {
		int status;

		while (waitpid(VEC_AT(&rt.children, pid_t, i), &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			res->failed = 1;
	}
	vec__free(&rt.children);
	close(rt.statm_fd);
	if (root)
		tree_done(o, res);
	return 0;
}

int engine_run(const struct prepared *p, uint32_t image, bool root, const struct engine_opts *o,
	       struct results *res, const struct exec_context *exec, char *msg, size_t msglen)
{
	int err;

	if (image >= p->h->nprocesses) {
		snprintf(msg, msglen, "no process image %u to replay", image);
		return -EINVAL;
	}
	err = run_image(NULL, p, image, root, o, res, exec, 0, msg, msglen);
	if (err) {
		res->failed = 1;
		if (root)
			tree_done(o, res);
	}
	return err;
}

int engine_run_all(const struct prepared *p, const struct engine_opts *o, struct results *res,
		   const struct exec_context *exec, pid_t *pids, int max, int *n, char *msg,
		   size_t msglen)
{
	uint32_t nroots = 0, done;

	*n = 0;
	/* Each tree in a process forked from this pristine one: an exec may end it. */
	for (uint32_t i = 0; i < p->h->nprocesses && *n < max; i++) {
		pid_t pid;

		if (p->procs[i].parent != NO_INDEX || p->procs[i].exec_of != NO_INDEX)
			continue;
		nroots++;
		pid = fork();
		if (pid < 0) {
			snprintf(msg, msglen, "cannot fork: %s", strerror(errno));
			return -errno;
		}
		if (pid == 0) {
			int err = engine_run(p, i, true, o, res, exec, msg, msglen);

			if (err)
				fprintf(stderr, "bpftape-replay: %s\n", msg);
			_exit(err ? 1 : 0);
		}
		pids[(*n)++] = pid;
	}
	/* Wait for every tree's signal, or for a replay process to die without it. */
	while ((done = atomic_load(&res->roots_done)) < nroots) {
		struct timespec tick = { 0, 100 * 1000 * 1000 };
		int status;

		syscall(SYS_futex, &res->roots_done, FUTEX_WAIT, done, &tick, NULL, 0);
		for (int k = 0; k < *n; k++)
			if (pids[k] > 0 && waitpid(pids[k], &status, WNOHANG) == pids[k]) {
				pids[k] = -pids[k];	/* reaped */
				if (!WIFEXITED(status) || WEXITSTATUS(status)) {
					res->failed = 1;
					if (atomic_load(&res->roots_done) < nroots) {
						snprintf(msg, msglen,
							 "a replay process died (%s %d): the allocator crashed?",
							 WIFSIGNALED(status) ? "signal" : "status",
							 WIFSIGNALED(status) ? WTERMSIG(status) :
							 WEXITSTATUS(status));
						return -EIO;
					}
				}
			}
	}
	return 0;
}

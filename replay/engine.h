/*
 * The replay engine: runs a prepared form against whatever allocator this
 * process has (glibc, or one preloaded), and measures it. Results go to a
 * shared memory area, one record per process image, because a replayed fork
 * or exec runs in a process of its own.
 */
#ifndef BPFTAPE_ENGINE_H
#define BPFTAPE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "prepare.h"

enum threads_mode {
	THREADS_AUTO,
	THREADS_SERIAL,		/* the tape's order, on one thread (mwrap's way) */
	THREADS_FAITHFUL,	/* one thread per recorded thread, waits on real dependencies */
};

enum touch_policy {
	TOUCH_NONE,		/* write nothing, as mwrap's replay */
	TOUCH_PAGE,		/* one byte in every page of each block */
	TOUCH_ALL,		/* every byte, and wipe freed blocks, as glibc's trace_run */
};

struct engine_opts {
	enum threads_mode threads;
	enum touch_policy touch;
	uint64_t sample_every;	/* resident memory every this many ops; 0: chosen from the size */
	bool hold;		/* keep the replayed heap after the replay */
	bool no_waits;		/* diagnostics only: faithful mode without dependency waits */
	double hold_secs;	/* negative: until killed */
};

struct timeline_point {
	uint64_t op;		/* ops done in this process so far */
	uint64_t rss;		/* heap resident bytes */
	uint64_t live;		/* requested bytes live (from the preparation) */
};

/* One process image's measurements. */
struct proc_result {
	uint32_t ran;
	uint32_t faithful;
	uint32_t nthreads;
	uint32_t pid;
	uint64_t ops[OP_KINDS];		/* replayed, by kind */
	uint64_t replay_failures;	/* allocations that returned NULL here */
	uint64_t empty_releases;	/* releases that found their slot empty: a missed dependency */
	uint64_t untouched;		/* blocks larger than half the machine's memory: not touched */
	uint64_t waits;			/* waits on another thread that had to block */
	uint64_t wall_ns;
	uint64_t cpu_ns;
	uint64_t peak_rss;		/* heap resident: anonymous memory above the baseline */
	uint64_t final_rss;
	uint64_t baseline_rss;		/* the engine's own resident memory before replaying */
	uint64_t engine_bytes;		/* the engine's bookkeeping, from mmap */
	uint64_t timed_ns[OP_KINDS];	/* sampled timings of single calls, by kind */
	uint64_t timed_n[OP_KINDS];
	uint64_t ntimeline;
	uint64_t first_point;		/* its timeline points in the shared area */
	char allocator[64];
	char emulated[128];
	char allocator_stats[512];
};

/* The shared area: a header, the results, then the timeline points. */
struct results {
	uint32_t nprocesses;
	uint32_t touch;
	uint64_t sample_every;
	_Atomic uint32_t roots_done;	/* process trees finished (their results written) */
	uint32_t failed;		/* a replay process failed */
	struct proc_result procs[];
};

/* Size of the shared area for a prepared form. */
size_t results_size(const struct prepared *p, uint64_t sample_every);
struct timeline_point *results_points(struct results *r);
/* The sampling interval the engine uses for this prepared form. */
uint64_t engine_sample_every(const struct prepared *p, const struct engine_opts *o);

/* How a replayed exec starts the next image: this binary again, with these options. */
struct exec_context {
	const char *self;		/* /proc/self/exe */
	char *const *args;		/* the options to pass on, NULL-terminated */
	int prepared_fd, results_fd;
};

/*
 * Replays process image `image` (and everything it forks) in this process,
 * filling results. root: this process carries a whole tree, so it signals
 * roots_done when the tree is done, then holds if asked. Returns 0 or a
 * negative errno with msg.
 */
int engine_run(const struct prepared *p, uint32_t image, bool root, const struct engine_opts *o,
	       struct results *res, const struct exec_context *exec, char *msg, size_t msglen);

/*
 * Replays every root image, each in a process of its own forked from this
 * one (whose heap is untouched), and returns when all trees are done. Their
 * pids go to pids (at most max); *n says how many, for the caller to reap.
 */
int engine_run_all(const struct prepared *p, const struct engine_opts *o, struct results *res,
		   const struct exec_context *exec, pid_t *pids, int max, int *n, char *msg,
		   size_t msglen);

#endif

/*
 * Allocator probes over the life of a recording: switching them on for the
 * targets at start, keeping track of which files are probed in which
 * process as processes fork, exec and exit, and probing the files a new
 * image brings (another allocator after an exec, a process that starts
 * matching -a's filter). That work takes milliseconds, so it runs on its
 * own thread and never stalls the drain.
 *
 * A child inherits its parent's probes in the kernel, in fork, before it
 * first runs (probes.h): following a tree leaves no gap. What the kernel
 * cannot do is probe a file before the recorder has seen it: an exec into
 * an image with another allocator, a process that starts matching a
 * filter. Those are probed as soon as they are seen, and when the file was
 * already mapped by then, the time in between is written into the tape as
 * a loss record of unknown count, never hidden.
 */
#ifndef BPFTAPE_FOLLOW_H
#define BPFTAPE_FOLLOW_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib_resolve.h"

struct drain;
struct probes;
struct follow_work;
struct traced_proc;
struct exec_lane;
struct map_watch;

/* How new processes are found and probed. */
struct follow_opts {
	bool inherit;		/* children follow their parent (command, -p -f, -a filters) */
	bool fixed_libs;	/* --lib: probe only these files, after exec too */
	bool match_filter;	/* -a with --comm, --uid or --cgroup: probe processes as they match */
	bool system_wide;	/* -a without a filter: probes everywhere already */
	uint32_t uid;		/* the filters, as user space checks them when scanning */
	bool filter_uid;
	const char *comm;
	uint64_t cgroup_id;
};

struct follower {
	struct probes *probes;
	struct drain *drain;
	struct follow_opts opts;
	const struct lib_set *fixed;	/* --lib's files */
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct follow_work *work, *work_tail;
	bool stopping;
	bool disarmed;			/* after stop: no more probing, gaps only */
	uint64_t disarm_ts;
	struct exec_lane *lane;		/* new images read as execs happen; NULL: none */
	bool abandoned;			/* its thread did not stop in time: left to the exit */
	struct traced_proc *procs;	/* guarded by lock */
	size_t nprocs, cap;
	struct map_watch *watches;	/* new images whose mappings are being read */
	size_t nwatches, watches_cap;
	double next_scan;		/* -a filters: the next look through /proc */
	uint64_t gaps;			/* loss records of unknown count written */
	uint64_t late_files;		/* files probed after an exec or a match */
};

void follower__init(struct follower *f, struct probes *probes, struct drain *drain,
		    const struct follow_opts *opts, const struct lib_set *fixed);
/*
 * Probes libs in process pid now, on every thread (before arming: no gap).
 * Returns 0 or a negative errno with msg (-ESRCH: the process is gone).
 */
int follower__attach(struct follower *f, pid_t pid, const struct lib_set *libs, char *msg,
		     size_t msglen);
/* -a with a filter: every process that matches it now. Returns how many, or -errno. */
int follower__attach_matching(struct follower *f, char *msg, size_t msglen);
int follower__start(struct follower *f);
/* Queue work for the thread; each returns at once. */
void follower__fork(struct follower *f, pid_t child, pid_t parent, uint64_t ts);
void follower__exec(struct follower *f, pid_t pid, pid_t old_tid, uint64_t ts);
void follower__renamed(struct follower *f, pid_t pid, uint64_t ts);
void follower__exited(struct follower *f, pid_t pid);
/*
 * Stops the thread. The probes are disarmed already (at disarm_ts): work
 * still queued only writes the loss records it would have needed.
 */
void follower__stop(struct follower *f, uint64_t disarm_ts);
void follower__free(struct follower *f);

#endif

/*
 * Per-process allocator probes over the life of a recording: attaching them
 * to the targets, to followed children as they are born, and again after an
 * exec brings in another allocator. Attaching takes milliseconds, so it runs
 * on its own thread and never stalls the drain.
 *
 * A uprobe filtered by process cannot follow a fork by itself (perf's
 * inherit flag makes the child's fork fail with EFAULT: the kernel reads the
 * probe's path from the forking process), so a child runs unprobed until its
 * probes are attached. That gap is written as a loss record of unknown count,
 * never hidden.
 */
#ifndef BPFTAPE_FOLLOW_H
#define BPFTAPE_FOLLOW_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib_resolve.h"

struct drain;
struct record_bpf;
struct follow_work;
struct proc_probes;
struct map_watch;

struct follower {
	struct record_bpf *skel;
	struct drain *drain;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct follow_work *work, *work_tail;
	bool stopping;
	struct proc_probes *procs;	/* guarded by lock */
	size_t nprocs, cap;
	struct map_watch *watches;	/* new images whose mappings are being read */
	size_t nwatches, watches_cap;
	uint64_t attached_children;
	uint64_t gaps;
};

void follower__init(struct follower *f, struct record_bpf *skel, struct drain *drain);
/*
 * Attaches probes of libs for pid (-1: system-wide) now, and writes the
 * attach marker, and the process's mappings when snapshot is set. 0 or a
 * negative errno with msg.
 */
int follower__attach(struct follower *f, pid_t pid, const struct lib_set *libs, bool snapshot,
		     char *msg, size_t msglen);
int follower__start(struct follower *f);
/* Queue work for the thread; each returns at once. */
void follower__fork(struct follower *f, pid_t child, pid_t parent, uint64_t ts);
void follower__exec(struct follower *f, pid_t pid, pid_t old_tid, uint64_t ts);
void follower__exited(struct follower *f, pid_t pid);
/* Stops the thread and detaches every probe (entries first, then returns). */
void follower__stop(struct follower *f);
/* The files probed so far (for the header and the summary), calling fn once per file. */
void follower__each_lib(struct follower *f, void (*fn)(const struct alloc_lib *lib, void *ctx),
			void *ctx);

#endif

/*
 * Loading unwind tables (unwind_table.h) into the BPF stack walker's maps,
 * on a thread of their own: a big executable's table takes half a second to
 * build, and neither the drain nor the follower may wait for it. Each file
 * is loaded once per recording (by device and inode); frames in a file whose
 * table is not loaded yet are walked by frame pointer meanwhile.
 */
#ifndef BPFTAPE_UNWIND_LOADER_H
#define BPFTAPE_UNWIND_LOADER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct record_bpf;
struct unwind_job;

struct unwind_loader {
	struct record_bpf *skel;
	struct unwind_row *rows;	/* the BPF array, mapped */
	size_t capacity, used;		/* rows */
	pthread_t thread;
	bool running, stopping;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct unwind_job *jobs, *jobs_tail;
	uint64_t *done;			/* device << 32 ^ inode of files queued or loaded */
	size_t ndone, done_cap;
	uint64_t files, rows_loaded, full;	/* loaded; rows; files that did not fit */
};

/* Maps the rows array. Returns 0 or a negative errno with msg. */
int unwind_loader__init(struct unwind_loader *l, struct record_bpf *skel, char *msg,
			size_t msglen);
int unwind_loader__start(struct unwind_loader *l);
/* Loads the file open at fd now, on this thread (before a command starts). */
void unwind_loader__load_now(struct unwind_loader *l, int fd);
/* Queues the file at path (opened with safe_open) for the thread; returns at once. */
void unwind_loader__queue(struct unwind_loader *l, const char *path);
void unwind_loader__stop(struct unwind_loader *l);

#endif

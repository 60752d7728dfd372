/*
 * Memory-map records for the tape: the executable file mappings of traced
 * processes, with the files' build IDs, so that caller addresses can be
 * symbolised offline.
 *
 * Knowing a mapping and writing it are separate. Mappings are learnt
 * whenever /proc/PID/maps can be read: at attach, on a schedule after each
 * exec (a short-lived process may be gone by the time its events are
 * drained), and when a caller falls outside everything known. A mapping is
 * written by the drain, in order, just before the first event whose caller
 * falls in it, so that a reader streaming the tape always has it in time.
 *
 * Where the kernel can, BPF reports a caller's mapping itself, at the call
 * (bpf/callers.bpf.h), by device and inode: a registry of the files the
 * recorder knows (executables, what their loader lists, what /proc shows)
 * turns those into paths.
 */
#ifndef BPFTAPE_MAPS_SNAPSHOT_H
#define BPFTAPE_MAPS_SNAPSHOT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tape.h"
#include "u64map.h"

typedef void (*event_sink)(const struct tape_event *ev, void *ctx);

struct proc_maps;
struct file_id;

struct maps_tracker {
	pthread_mutex_t lock;
	struct u64map pids;		/* pid -> index in procs */
	struct proc_maps *procs;
	size_t nprocs, cap;
	struct u64map build_ids;	/* file key -> index in ids */
	struct file_id *ids;
	size_t nids, ids_cap;
	struct u64map files;		/* file key -> index in paths */
	char **paths;
	size_t npaths, paths_cap;
	uint64_t scans;
	uint64_t written;
	/* Called (under the lock) for each executable file the first time it is seen. */
	void (*on_new_file)(const char *open_path, void *ctx);
	void *on_new_file_ctx;
};

void maps_tracker__init(struct maps_tracker *t);
void maps_tracker__free(struct maps_tracker *t);
/*
 * Learns pid's executable mappings from /proc/PID/maps. Returns how many
 * were new, or a negative errno (the process is gone).
 */
int maps_tracker__learn(struct maps_tracker *t, pid_t pid);
/*
 * For a caller address of pid: writes (through emit) the mapping holding it
 * if it was not written yet, first reading /proc/PID/maps again when no
 * known mapping holds it (at most every 100 ms per process).
 */
void maps_tracker__need(struct maps_tracker *t, pid_t pid, uint64_t addr, uint64_t ts,
			event_sink emit, void *ctx);
/* After exec: the process's old mappings are gone. */
void maps_tracker__forget(struct maps_tracker *t, pid_t pid);
/* After exit: the process and what was known of it go. */
void maps_tracker__drop(struct maps_tracker *t, pid_t pid);
/*
 * Remembers the file at open_path (through /proc/PID/root, say) under the
 * name shown, for turning device and inode into a path.
 */
void maps_tracker__register_file(struct maps_tracker *t, const char *shown, const char *open_path);
/*
 * A mapping BPF saw a caller in: learnt and written (through emit) unless
 * already written. kdev is the kernel's device encoding; name the file's
 * base name, for when nothing else knows it.
 */
void maps_tracker__vma(struct maps_tracker *t, pid_t pid, uint64_t start, uint64_t end,
		       uint64_t offset, uint32_t kdev, uint64_t ino, const char *name, uint64_t ts,
		       event_sink emit, void *ctx);

#endif

/*
 * The probed files and the perf events that switch their probes on.
 *
 * Each allocator file gets, once per recording: probe IDs in the BPF
 * tables (bpf/probes.bpf.h), an entry and a return uprobe event in tracefs
 * (probe_events.h), and the BPF programs, attached to one perf event of
 * each opened on the probe host (probe_host.h). Then, per target, perf
 * events of those uprobe events are opened on the target's threads, with
 * inherit when its children are followed: they hold no program, and are
 * only the kernel's filter of which processes take the breakpoints. A
 * child inherits them in fork, before it first runs; they stay across
 * exec; and processes that have none never trap. With -a and no filter,
 * one event per CPU makes the probes system-wide instead.
 */
#ifndef BPFTAPE_PROBES_H
#define BPFTAPE_PROBES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "alloc.h"
#include "probe_events.h"

struct record_bpf;
struct bpf_link;

struct probed_file {
	struct alloc_lib lib;
	int entry_id, return_id;	/* perf tracepoint IDs; return_id -1 if none */
	int anchor_fd[2];
	struct bpf_link *anchor[2];
	uint32_t first_probe;		/* its probes' IDs: first_probe + index in lib.probes */
};

struct probes {
	struct record_bpf *skel;
	pid_t host;
	struct probe_events events;
	pthread_mutex_t lock;
	struct probed_file *files;
	int nfiles;
	size_t cap;
	uint32_t next_probe;
	/* Every filter event opened, closed at the end (inherited copies go with them). */
	int *fds;
	size_t nfds, fds_cap;
};

/* Returns 0 or a negative errno with msg. */
int probes__init(struct probes *p, struct record_bpf *skel, pid_t host, const char *tracefs,
		 char *msg, size_t msglen);
/*
 * The file's index, probing it first if it is new: fd is the file as read
 * (probes are defined through it). Returns the index or a negative errno
 * with msg.
 */
int probes__file(struct probes *p, const struct alloc_lib *lib, int fd, char *msg, size_t msglen);
/*
 * Opens the file's filter events on thread tid (inherit: its future
 * children and threads get copies). Returns 0 or a negative errno with msg
 * (-ESRCH: the thread is gone).
 */
int probes__open_task(struct probes *p, int file, pid_t tid, bool inherit, char *msg,
		      size_t msglen);
/* Opens the file's filter events on every CPU: system-wide probes. */
int probes__open_system(struct probes *p, int file, char *msg, size_t msglen);
/* Calls fn for each probed file. */
void probes__each(struct probes *p, void (*fn)(const struct alloc_lib *lib, void *ctx), void *ctx);
/*
 * Closes every perf event and removes the tracefs events. The caller
 * disarms first (record_state.armed), so that nothing is recorded while
 * probes go away one by one.
 */
void probes__free(struct probes *p);

#endif

/*
 * Uprobe events defined through tracefs (uprobe_events), one entry event
 * and one return event per probed file, each holding all of that file's
 * probes: a perf event opened on a task for each of them (with inherit) is
 * the kernel's own filter, which follows the task's forks and execs before
 * the child first runs, so that only traced processes take the trap.
 *
 * Events are named bpftape_<recorder PID>/e<N> and r<N>; at start, those a
 * killed recorder left behind are removed (defined but unopened, they arm
 * nothing). Files are named to the kernel as /proc/<recorder>/fd/<fd> of a
 * file the recorder opened and read itself: no path a traced process chose
 * is ever parsed by tracefs, and what is probed is exactly what was read.
 */
#ifndef BPFTAPE_PROBE_EVENTS_H
#define BPFTAPE_PROBE_EVENTS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

struct probe_events {
	char dir[PATH_MAX];	/* tracefs */
	char group[32];
	int next;		/* events defined so far (their numbers) */
};

/* Removes stale events of dead recorders. Returns 0 or -errno with msg. */
int probe_events__init(struct probe_events *pe, const char *tracefs, char *msg, size_t msglen);

/*
 * Defines the entry event (every offset in entries) and the return event
 * (every offset in returns; none when n_returns is 0) of the file open at
 * fd, and gives their perf tracepoint IDs (-1 for no return event).
 */
int probe_events__define(struct probe_events *pe, int fd, const uint64_t *entries, int n_entries,
			 const uint64_t *returns, int n_returns, int *entry_id, int *return_id,
			 char *msg, size_t msglen);

/* Removes every event this recorder defined (after their perf events are closed). */
void probe_events__remove_all(struct probe_events *pe);

#endif

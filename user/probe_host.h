/*
 * The probe host: a small child process of the recorder, started before
 * anything else, that
 *  - carries the BPF programs: a tracefs uprobe event runs the programs
 *    attached to any one perf event of it for every process its perf events
 *    filter in, so the programs go on one event opened on this process, which
 *    never allocates and never forks (an inherited event holding a program
 *    would detach it for everyone when its task exits);
 *  - mounts tracefs, when the system has not, in a mount namespace of its
 *    own: the recorder reaches it through /proc/PID/root, and nothing stays
 *    mounted when the host goes, even after kill -9 (it dies with the
 *    recorder: PR_SET_PDEATHSIG).
 */
#ifndef BPFTAPE_PROBE_HOST_H
#define BPFTAPE_PROBE_HOST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct probe_host {
	pid_t pid;
	int ctl_fd;		/* closing it ends the host */
	bool mounted;		/* tracefs was mounted for us, in the host's namespace */
	char tracefs[PATH_MAX];	/* tracefs as the recorder reaches it */
};

/* Call before any thread is started. Returns 0 or a negative errno with msg. */
int probe_host__start(struct probe_host *h, char *msg, size_t msglen);
void probe_host__stop(struct probe_host *h);

#endif

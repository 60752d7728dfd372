/*
 * Starting a command under the recorder: the child is created first and
 * waits, so that the probes can be attached to its PID; only then does it
 * exec the command, with every probe already on.
 */
#ifndef BPFTAPE_HELD_CHILD_H
#define BPFTAPE_HELD_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct spawned {
	pid_t pid;
	int go_fd;	/* writing a byte lets the child exec */
	int err_fd;	/* the child writes exec's errno here; EOF means exec worked */
	const char *name;
};

/*
 * Forks the held child, which will exec exe (already found in PATH) with
 * argv. stdout_to_stderr: the tape goes to standard output.
 */
int spawn_held(const char *exe, char *const argv[], bool stdout_to_stderr, struct spawned *s,
	       char *msg, size_t msglen);
/* Lets the child exec; returns 0, or -errno with msg when exec failed. */
int spawn_release(struct spawned *s, char *msg, size_t msglen);
/* Kills a child that was never released. */
void spawn_abort(struct spawned *s);

#endif

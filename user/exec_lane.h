/*
 * The exec lane's reader: a thread that reads each traced exec's new image
 * (image_capture) the moment BPF reports it, so that the follower, however
 * far behind, judges what the process really ran. Captures wait here, per
 * process, until the follower takes them; a bounded number is kept.
 */
#ifndef BPFTAPE_EXEC_LANE_H
#define BPFTAPE_EXEC_LANE_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "image_capture.h"

struct ring_buffer;
struct exec_lane_entry;

struct exec_lane {
	struct ring_buffer *rb;
	pthread_t thread;
	bool running;
	volatile bool stopping;
	pthread_mutex_t lock;
	struct exec_lane_entry *head, *tail;	/* oldest first */
	size_t n;
};

/* Starts reading the lane map (fd). Returns 0 or a negative errno. */
int exec_lane__start(struct exec_lane *l, int map_fd);
/* The oldest capture of pid's exec, or NULL (the caller reads it itself). */
struct image_capture *exec_lane__take(struct exec_lane *l, pid_t pid);
void exec_lane__stop(struct exec_lane *l);

#endif

/*
 * What an exec'd process's dynamic loader will read, taken as soon as the
 * exec is known: the process may be gone, or have exec'd again, by the time
 * the follower judges it. Read as data: the executable and the process's
 * root, open, and its environment (for LD_PRELOAD and LD_LIBRARY_PATH).
 */
#ifndef BPFTAPE_IMAGE_CAPTURE_H
#define BPFTAPE_IMAGE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib_resolve.h"

struct image_capture {
	int exe_fd, root_fd;
	char *exe;		/* the path /proc/PID/exe showed */
	char *env;		/* /proc/PID/environ */
	size_t env_len;
	bool secure;		/* AT_SECURE: the loader ignores LD_* variables */
};

/* NULL when the process is gone (or no memory). */
struct image_capture *image_capture__read(pid_t pid);
void image_capture__free(struct image_capture *c);
/*
 * The allocator files of the captured image: with exe_only, the executable
 * alone (mapped at exec, so the one that may already run); else everything
 * its loader will load. Returns 0 or a negative errno with msg.
 */
int image_capture__libs(const struct image_capture *c, bool exe_only, struct lib_set *libs,
			char *msg, size_t msglen);

#endif

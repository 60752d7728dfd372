/*
 * Opening files that a traced process (or a tape) names, as root, without
 * letting it choose what happens: regular files only (a FIFO or a device is
 * never opened: opening one can block or have side effects), never a
 * terminal, with a size bound, and, inside a process's root directory,
 * resolved as that process would (absolute symlinks stay in its root).
 */
#ifndef BPFTAPE_SAFE_OPEN_H
#define BPFTAPE_SAFE_OPEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Opens path read-only, relative to rootfd as the process's "/" when rootfd
 * is not -1 (openat2 RESOLVE_IN_ROOT; plain openat on kernels without it).
 * Returns an fd or a negative errno: -EINVAL for anything but a regular
 * file, -EFBIG beyond max_size bytes.
 */
int safe_open(int rootfd, const char *path, uint64_t max_size);

/* The directory fd of /proc/PID/root, to pass to safe_open; -errno when gone. */
int proc_root_open(pid_t pid);

/*
 * Reads a whole small file (a /proc file or one opened by safe_open) into a
 * malloc'd, NUL-terminated buffer of at most max bytes (*len without the
 * NUL). Longer content is cut at max; *cut says so. Returns 0 or -errno.
 */
int read_small_fd(int fd, size_t max, char **buf, size_t *len, int *cut);
int read_small_file(const char *path, size_t max, char **buf, size_t *len, int *cut);

#endif

/*
 * The shared objects the dynamic loader will load for an executable, found
 * the way glibc's ld.so finds them, but by reading files as data: the
 * executable's and each library's DT_NEEDED, DT_RPATH and DT_RUNPATH (with
 * $ORIGIN), LD_PRELOAD and /etc/ld.so.preload, LD_LIBRARY_PATH,
 * /etc/ld.so.cache and the default directories. The recorder runs as root
 * and the executable and environment are the traced process's choice: it
 * never runs the loader (or anything else) to ask.
 *
 * Everything is resolved inside a root directory (the process's
 * /proc/PID/root), opened with safe_open, and bounded: at most LD_MAX_OBJECTS
 * objects, names and search lists of bounded length.
 */
#ifndef BPFTAPE_LD_SEARCH_H
#define BPFTAPE_LD_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

#define LD_MAX_OBJECTS 512

struct ld_env {
	const char *preload;		/* LD_PRELOAD, or NULL */
	const char *library_path;	/* LD_LIBRARY_PATH, or NULL */
	bool secure;			/* setuid/setgid: the loader ignores both */
};

/*
 * Called for each object found, in load order (preloads, then breadth
 * first from the executable's DT_NEEDED), once each: fd is the open file
 * (the caller must not close it; it is closed after fn returns), path the
 * name inside the root. fn returns 0, or a negative errno that stops the
 * search and is returned.
 */
typedef int (*ld_found_fn)(int fd, const char *path, void *ctx);

/*
 * rootfd: the root to resolve in (-1 for ours). exe_fd and exe_path: the
 * executable (its path inside the root gives $ORIGIN). Objects that cannot
 * be found are skipped, as the loader would fail on them anyway. Returns 0
 * or a negative errno.
 */
int ld_search(int rootfd, int exe_fd, const char *exe_path, const struct ld_env *env,
	      ld_found_fn fn, void *ctx);

/*
 * LD_PRELOAD and LD_LIBRARY_PATH out of a NUL-separated environment block
 * (/proc/PID/environ), pointing into it.
 */
void ld_env_from_block(const char *block, size_t len, struct ld_env *env);

#endif

/*
 * Finding the allocator a process actually uses, not just libc: an
 * allocator preloaded with LD_PRELOAD, linked in as a library, or linked
 * into the executable makes libc's malloc dead code. Every file of the
 * process (mapped, or that its loader will load) that defines allocator
 * functions is probed; the outermost-call rule in BPF keeps one event per
 * call when one allocator (or a wrapper) calls another.
 *
 * Nothing is ever executed to find out: mapped files are read through
 * /proc/PID/map_files, files an image will load are found as data
 * (ld_search.h), and everything is opened with safe_open. Results are
 * cached per file, so that a shell running ls a thousand times reads libc's
 * symbols once.
 */
#ifndef BPFTAPE_LIB_RESOLVE_H
#define BPFTAPE_LIB_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "alloc.h"
#include "ld_search.h"

struct lib_set {
	struct alloc_lib *libs;
	int *fds;		/* each file, open: probes are defined through it */
	int n;
	/*
	 * Every file of an image (the executable and what its loader loads),
	 * allocator or not, as the process names it: callers in them are
	 * named by device and inode.
	 */
	char **files;
	int nfiles;
};

void lib_set__free(struct lib_set *s);
/* Is the file (device and inode) in the set? */
bool lib_set__has(const struct lib_set *s, dev_t dev, ino_t ino);

/* The allocator files mapped by a running process. Errors name the process and what to do. */
int libs_of_pid(pid_t pid, struct lib_set *out, char *msg, size_t msglen);

/*
 * The allocator files of an image about to run (a command not yet started,
 * or a process that has just called execve): the executable and what its
 * loader will load, found in rootfd (-1: ours). -ENOENT with msg when none.
 */
int libs_of_image(int rootfd, int exe_fd, const char *exe_path, const struct ld_env *env,
		  struct lib_set *out, char *msg, size_t msglen);

/* The one file open at fd, if it defines allocator functions (an empty set if not). */
int libs_of_file(int fd, const char *path, struct lib_set *out, char *msg, size_t msglen);

/* Files named with --lib: each must define allocator functions. */
int libs_of_paths(char *const paths[], int n, struct lib_set *out, char *msg, size_t msglen);

/* The system's libc, for -a without --lib. */
int libs_system_default(struct lib_set *out, char *msg, size_t msglen);

/* Resolves a command name through PATH, as execvp would; false when not found. */
bool find_in_path(const char *name, char *out, size_t outlen);

/* Frees the per-file cache (at the end of a recording). */
void lib_resolve__cleanup(void);

#endif

/*
 * Finding the allocator a process actually uses, not just libc: an
 * allocator preloaded with LD_PRELOAD, or linked into the executable, makes
 * libc's malloc dead code. Every mapped file (or, for a command not yet
 * started, every file the dynamic loader would map) that defines allocator
 * functions is probed; the outermost-call rule in BPF keeps one event per
 * call when one allocator calls another.
 */
#ifndef BPFTAPE_LIB_RESOLVE_H
#define BPFTAPE_LIB_RESOLVE_H

#include <stddef.h>
#include <sys/types.h>

#include "alloc.h"

struct lib_set {
	struct alloc_lib *libs;
	int n;
	/*
	 * Every file of a command (the executable and what its loader lists),
	 * allocator or not: callers in them are named by device and inode.
	 */
	char **files;
	int nfiles;
};

void lib_set__free(struct lib_set *s);

/*
 * The allocator files mapped by a running process, read through
 * /proc/PID/root so that processes in containers work; a file mapped under
 * two names is probed once. Errors name the process and what to do.
 */
int libs_of_pid(pid_t pid, struct lib_set *out, char *msg, size_t msglen);

/*
 * The allocator files of a command about to be started: the executable and
 * what its dynamic loader lists for it (`ld.so --list`, which honours
 * LD_PRELOAD and LD_LIBRARY_PATH from envp).
 */
int libs_of_command(const char *exe, char *const envp[], struct lib_set *out, char *msg,
		    size_t msglen);

/* Files named with --lib: each must define allocator functions. */
int libs_of_paths(char *const paths[], int n, struct lib_set *out, char *msg, size_t msglen);

/* The system's libc, for -a without --lib. */
int libs_system_default(struct lib_set *out, char *msg, size_t msglen);

/* Resolves a command name through PATH, as execvp would; false when not found. */
bool find_in_path(const char *name, char *out, size_t outlen);

#endif

/*
 * Checks made before recording, each failing with one sentence that names
 * the problem and what to do: privileges, BTF, ring buffers, uprobes.
 */
#ifndef BPFTAPE_PREFLIGHT_H
#define BPFTAPE_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

int preflight_check(bool need_uprobes, char *msg, size_t msglen);

/* Is the capability in our effective set? */
bool preflight_has_cap(int cap);

/*
 * May we record process pid? Another user's process needs CAP_SYS_PTRACE,
 * as ptrace would: BPF alone would let CAP_BPF read anyone's calls.
 * Returns 0 or a negative errno with msg.
 */
int preflight_may_trace(pid_t pid, char *msg, size_t msglen);

#endif

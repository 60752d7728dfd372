/*
 * uprobe_multi links (Linux 6.6): one BPF link for a program at several
 * offsets of one file, filtered by process. Chosen over perf-event uprobes
 * where the kernel has them: a perf-event uprobe's teardown waits out an
 * RCU-tasks grace period under a global mutex (measured here: 80 ms each,
 * one after the other, so 1.4 s for one process's 17 probes), while
 * uprobe_multi links released together share one grace period (40 links in
 * 32 ms). That matters when following children that come and go.
 *
 * libbpf 1.1 (Debian bookworm) predates them, so the link is made with the
 * bpf(2) syscall directly.
 */
#ifndef BPFTAPE_UPROBE_MULTI_H
#define BPFTAPE_UPROBE_MULTI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* enum bpf_attach_type's BPF_TRACE_UPROBE_MULTI, from Linux 6.6's uapi. */
#define ATTACH_UPROBE_MULTI 48

/* Can this kernel make uprobe_multi links? Probed once. */
bool uprobe_multi_supported(void);
/*
 * Attaches prog_fd at n offsets of path, each with its cookie, for process
 * pid (0: every process); retprobe for return probes. Returns the link's fd,
 * or a negative errno.
 */
int uprobe_multi_attach(int prog_fd, const char *path, const uint64_t *offsets,
			const uint64_t *cookies, uint32_t n, pid_t pid, bool retprobe);

#endif

/*
 * Allocator probes, the user side of bpf/alloc.bpf.c: which files of a
 * process define allocator functions, at which offsets, and attaching the
 * uprobes and uretprobes there (per process, or system-wide for -a).
 */
#ifndef BPFTAPE_ALLOC_H
#define BPFTAPE_ALLOC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "elf_file.h"

#define ALLOC_FUNCS 10

struct record_bpf;
struct bpf_link;

/* One file that defines allocator functions, and where to probe them. */
struct alloc_lib {
	char path[PATH_MAX];	/* to open and probe: may be under /proc/PID/root */
	char shown[PATH_MAX];	/* as the traced process names it */
	dev_t dev;
	ino_t ino;
	uint8_t build_id[BUILD_ID_MAX];
	size_t build_id_len;
	int nprobes;
	struct {
		uint32_t kind;		/* EV_MALLOC .. EV_FREE */
		uint64_t offset;	/* in the file */
		uint64_t cookie;	/* the allocator's own code around it: bytes below << 32 | above */
		const char *name;	/* the name recorded; aliases at one address share it */
	} probes[ALLOC_FUNCS];
	char skipped[128];	/* names that could not be probed (IFUNC), for a warning */
};

/*
 * Reads path's symbols. Returns 0, -ENOENT when it defines none of the
 * allocator functions, or another negative errno; msg says why.
 */
int alloc_lib__load(struct alloc_lib *lib, const char *path, const char *shown, char *msg,
		    size_t msglen);

/* A uprobe_multi link's fd, or libbpf's perf-event link on older kernels. */
struct probe_link {
	struct bpf_link *link;
	int fd;
};

/* Probes of one file in one process (pid -1: every process). */
struct alloc_attachment {
	pid_t pid;
	dev_t dev;
	ino_t ino;
	int nret;		/* links[0, nret) are return probes, the rest entry probes */
	int nlinks;
	struct probe_link links[2 * ALLOC_FUNCS];
};

/* Before the programs load: prepares them for uprobe_multi links where the kernel has them. */
void alloc_prepare(struct record_bpf *skel);

/*
 * Attaches lib's probes for pid: uretprobes first, so that no call is seen
 * entering without its return. Returns 0 or a negative errno with msg.
 */
int alloc_attach(struct record_bpf *skel, const struct alloc_lib *lib, pid_t pid,
		 struct alloc_attachment *out, char *msg, size_t msglen);
/*
 * Detaches every probe of n attachments: all entry probes first, then the
 * returns, so that calls under way still complete. Each detach waits for an
 * RCU grace period (tens of milliseconds), so they run concurrently.
 */
void alloc_detach(struct alloc_attachment *a, int n);

#endif

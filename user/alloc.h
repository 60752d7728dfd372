/*
 * Allocator functions in an ELF file: which of malloc, calloc, realloc,
 * reallocarray, posix_memalign, aligned_alloc, memalign, valloc, pvalloc,
 * free and the C++ operators new and delete (every form: array, nothrow,
 * aligned, sized) a file defines, at which offsets, and what the BPF entry
 * program must know about each (struct probe_info, bpf/record.h).
 */
#ifndef BPFTAPE_ALLOC_H
#define BPFTAPE_ALLOC_H

#include <limits.h>
#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bpf/record.h"
#include "elf_file.h"

#define ALLOC_FUNCS 30

/* One probed function. */
struct alloc_probe {
	const char *name;	/* the name recorded; aliases at one address share it */
	uint64_t offset;	/* in the file */
	struct probe_info info;
};

/* One file that defines allocator functions, and where to probe them. */
struct alloc_lib {
	char shown[PATH_MAX];	/* as the traced process names it */
	dev_t dev;		/* of the file as opened */
	ino_t ino;
	uint8_t build_id[BUILD_ID_MAX];
	size_t build_id_len;
	int nprobes;
	struct alloc_probe probes[ALLOC_FUNCS];
	char skipped[128];	/* names that could not be probed (IFUNC), for a warning */
};

/*
 * Reads the symbols of the file open at fd. Returns 0, -ENOENT when it
 * defines none of the allocator functions, or another negative errno; msg
 * says why.
 */
int alloc_lib__load(struct alloc_lib *lib, int fd, const char *shown, char *msg, size_t msglen);

/* Does the probe's function return a block (a return probe is needed)? */
static inline bool alloc_probe__returns(const struct alloc_probe *p)
{
	return p->info.kind != EV_FREE && p->info.kind != EV_DELETE;
}

#endif

/* Allocator symbols and what their probes need: see alloc.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"

/*
 * The functions probed. When several share one address (glibc's
 * aligned_alloc is memalign), the address is probed once, under the first
 * of them in this order. C++ names are the Itanium ABI's for 64-bit size_t.
 */
static const struct {
	const char *name;
	uint32_t kind;
	uint32_t flags;
} funcs[ALLOC_FUNCS] = {
	{ "malloc", EV_MALLOC, 0 },
	{ "calloc", EV_CALLOC, 0 },
	{ "realloc", EV_REALLOC, 0 },
	{ "reallocarray", EV_REALLOCARRAY, 0 },
	{ "posix_memalign", EV_POSIX_MEMALIGN, 0 },
	{ "memalign", EV_MEMALIGN, 0 },
	{ "aligned_alloc", EV_ALIGNED_ALLOC, 0 },
	{ "valloc", EV_VALLOC, 0 },
	{ "pvalloc", EV_PVALLOC, 0 },
	{ "free", EV_FREE, 0 },
	{ "_Znwm", EV_NEW, 0 },
	{ "_Znam", EV_NEW, ALLOC_V_ARRAY },
	{ "_ZnwmRKSt9nothrow_t", EV_NEW, ALLOC_V_NOTHROW },
	{ "_ZnamRKSt9nothrow_t", EV_NEW, ALLOC_V_ARRAY | ALLOC_V_NOTHROW },
	{ "_ZnwmSt11align_val_t", EV_NEW, ALLOC_V_ALIGNED },
	{ "_ZnamSt11align_val_t", EV_NEW, ALLOC_V_ARRAY | ALLOC_V_ALIGNED },
	{ "_ZnwmSt11align_val_tRKSt9nothrow_t", EV_NEW, ALLOC_V_ALIGNED | ALLOC_V_NOTHROW },
	{ "_ZnamSt11align_val_tRKSt9nothrow_t", EV_NEW,
	  ALLOC_V_ARRAY | ALLOC_V_ALIGNED | ALLOC_V_NOTHROW },
	{ "_ZdlPv", EV_DELETE, 0 },
	{ "_ZdaPv", EV_DELETE, ALLOC_V_ARRAY },
	{ "_ZdlPvm", EV_DELETE, ALLOC_V_SIZED },
	{ "_ZdaPvm", EV_DELETE, ALLOC_V_ARRAY | ALLOC_V_SIZED },
	{ "_ZdlPvSt11align_val_t", EV_DELETE, ALLOC_V_ALIGNED },
	{ "_ZdaPvSt11align_val_t", EV_DELETE, ALLOC_V_ARRAY | ALLOC_V_ALIGNED },
	{ "_ZdlPvmSt11align_val_t", EV_DELETE, ALLOC_V_SIZED | ALLOC_V_ALIGNED },
	{ "_ZdaPvmSt11align_val_t", EV_DELETE, ALLOC_V_ARRAY | ALLOC_V_SIZED | ALLOC_V_ALIGNED },
	{ "_ZdlPvRKSt9nothrow_t", EV_DELETE, ALLOC_V_NOTHROW },
	{ "_ZdaPvRKSt9nothrow_t", EV_DELETE, ALLOC_V_ARRAY | ALLOC_V_NOTHROW },
	{ "_ZdlPvSt11align_val_tRKSt9nothrow_t", EV_DELETE, ALLOC_V_ALIGNED | ALLOC_V_NOTHROW },
	{ "_ZdaPvSt11align_val_tRKSt9nothrow_t", EV_DELETE,
	  ALLOC_V_ARRAY | ALLOC_V_ALIGNED | ALLOC_V_NOTHROW },
};

struct found {
	struct elf_func fn[ALLOC_FUNCS];
	bool have[ALLOC_FUNCS];
};

static int note_func(const struct elf_func *fn, void *ctx)
{
	struct found *f = ctx;

	for (int i = 0; i < ALLOC_FUNCS; i++) {
		if (strcmp(fn->name, funcs[i].name))
			continue;
		/* Prefer the exported, default-version definition. */
		if (f->have[i] && (f->fn[i].dynamic && f->fn[i].default_version))
			continue;
		f->fn[i] = *fn;
		f->fn[i].name = funcs[i].name;
		f->have[i] = true;
	}
	return 0;
}

/* Distance from a to b, bounded for a 32-bit field (a span that large is not code). */
static uint32_t span(uint64_t a, uint64_t b)
{
	return b > a ? (b - a > UINT32_MAX ? UINT32_MAX : (uint32_t)(b - a)) : 0;
}

int alloc_lib__load(struct alloc_lib *lib, int fd, const char *shown, char *msg, size_t msglen)
{
	struct elf_file *elf;
	struct found found = { 0 };
	uint64_t alloc_lo = 0, alloc_hi = 0;
	struct stat st;
	int err;

	memset(lib, 0, sizeof(*lib));
	if (fstat(fd, &st)) {
		err = -errno;
		snprintf(msg, msglen, "cannot read %s: %s", shown, strerror(errno));
		return err;
	}
	snprintf(lib->shown, sizeof(lib->shown), "%s", shown);
	lib->dev = st.st_dev;
	lib->ino = st.st_ino;
	err = elf_file__open_fd(&elf, fd, shown, msg, msglen);
	if (err)
		return err;
	elf_file__build_id(elf, lib->build_id, &lib->build_id_len);
	elf_file__each_func(elf, note_func, &found);
	/*
	 * The allocator's own code: from the lowest of its functions to the
	 * end of the highest. A call returning into it is the allocator's.
	 */
	for (int i = 0; i < ALLOC_FUNCS; i++) {
		if (!found.have[i] || found.fn[i].ifunc)
			continue;
		if (!alloc_hi || found.fn[i].vaddr < alloc_lo)
			alloc_lo = found.fn[i].vaddr;
		if (found.fn[i].vaddr + found.fn[i].size > alloc_hi)
			alloc_hi = found.fn[i].vaddr + found.fn[i].size;
	}
	for (int i = 0; i < ALLOC_FUNCS; i++) {
		struct alloc_probe *p = &lib->probes[lib->nprobes];
		uint64_t vaddr = found.fn[i].vaddr;
		int64_t off;
		bool alias = false;

		if (!found.have[i])
			continue;
		if (found.fn[i].ifunc) {
			size_t n = strlen(lib->skipped);

			snprintf(lib->skipped + n, sizeof(lib->skipped) - n, "%s%s", n ? ", " : "",
				 funcs[i].name);
			continue;
		}
		for (int j = 0; j < i; j++)
			alias |= found.have[j] && !found.fn[j].ifunc && found.fn[j].vaddr == vaddr;
		if (alias)
			continue;	/* probed once, under the earlier name */
		off = elf_file__vaddr_to_offset(elf, vaddr);
		if (off < 0)
			continue;
		p->name = funcs[i].name;
		p->offset = off;
		p->info.kind = funcs[i].kind;
		p->info.flags = funcs[i].flags;
		p->info.alloc_below = span(alloc_lo, vaddr);
		p->info.alloc_above = span(vaddr, alloc_hi);
		lib->nprobes++;
	}
	elf_file__close(elf);
	if (!lib->nprobes) {
		snprintf(msg, msglen, "%s defines none of malloc, calloc, realloc, free and the rest%s",
			 shown, lib->skipped[0] ? " that can be probed" : "");
		return -ENOENT;
	}
	return 0;
}

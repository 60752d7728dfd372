/* Allocator symbols and their uprobes: see alloc.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <bpf/libbpf.h>

#include "alloc.h"
#include "record_skel.h"

/*
 * The functions probed. When several share one address (glibc's
 * aligned_alloc is memalign), the address is probed once, under the first
 * of them in this order.
 */
static const struct {
	const char *name;
	uint32_t kind;
} funcs[ALLOC_FUNCS] = {
	{ "malloc", EV_MALLOC },
	{ "calloc", EV_CALLOC },
	{ "realloc", EV_REALLOC },
	{ "reallocarray", EV_REALLOCARRAY },
	{ "posix_memalign", EV_POSIX_MEMALIGN },
	{ "memalign", EV_MEMALIGN },
	{ "aligned_alloc", EV_ALIGNED_ALLOC },
	{ "valloc", EV_VALLOC },
	{ "pvalloc", EV_PVALLOC },
	{ "free", EV_FREE },
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

int alloc_lib__load(struct alloc_lib *lib, const char *path, const char *shown, char *msg,
		    size_t msglen)
{
	struct elf_file *elf;
	struct found found = { 0 };
	struct stat st;
	int err;

	memset(lib, 0, sizeof(*lib));
	if (stat(path, &st)) {
		err = -errno;
		snprintf(msg, msglen, "cannot read %s: %s", shown, strerror(errno));
		return err;
	}
	snprintf(lib->path, sizeof(lib->path), "%s", path);
	snprintf(lib->shown, sizeof(lib->shown), "%s", shown);
	lib->dev = st.st_dev;
	lib->ino = st.st_ino;
	err = elf_file__open(&elf, path, msg, msglen);
	if (err)
		return err;
	elf_file__build_id(elf, lib->build_id, &lib->build_id_len);
	elf_file__each_func(elf, note_func, &found);
	for (int i = 0; i < ALLOC_FUNCS; i++) {
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
			alias |= found.have[j] && !found.fn[j].ifunc &&
				 found.fn[j].vaddr == found.fn[i].vaddr;
		if (alias)
			continue;	/* probed once, under the earlier name */
		off = elf_file__vaddr_to_offset(elf, found.fn[i].vaddr);
		if (off < 0)
			continue;
		lib->probes[lib->nprobes].kind = funcs[i].kind;
		lib->probes[lib->nprobes].offset = off;
		lib->probes[lib->nprobes].name = funcs[i].name;
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

static struct bpf_program *entry_prog(struct record_bpf *skel, uint32_t kind)
{
	switch (kind) {
	case EV_MALLOC: return skel->progs.malloc_enter;
	case EV_CALLOC: return skel->progs.calloc_enter;
	case EV_REALLOC: return skel->progs.realloc_enter;
	case EV_REALLOCARRAY: return skel->progs.reallocarray_enter;
	case EV_POSIX_MEMALIGN: return skel->progs.posix_memalign_enter;
	case EV_ALIGNED_ALLOC: return skel->progs.aligned_alloc_enter;
	case EV_MEMALIGN: return skel->progs.memalign_enter;
	case EV_VALLOC: return skel->progs.valloc_enter;
	case EV_PVALLOC: return skel->progs.pvalloc_enter;
	case EV_FREE: return skel->progs.free_enter;
	}
	return NULL;
}

static int attach_one(struct bpf_program *prog, const struct alloc_lib *lib, int i, pid_t pid,
		      bool retprobe, struct alloc_attachment *a, char *msg, size_t msglen)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe);
	struct bpf_link *link;
	int err;

	link = bpf_program__attach_uprobe_opts(prog, pid, lib->path, lib->probes[i].offset, &opts);
	if (!link) {
		err = errno ? -errno : -EINVAL;
		snprintf(msg, msglen, "cannot attach a %s to %s in %s%s: %s",
			 retprobe ? "uretprobe" : "uprobe", lib->probes[i].name, lib->shown,
			 pid > 0 ? "" : " (system-wide)", strerror(-err));
		return err;
	}
	a->links[a->nlinks++] = link;
	return 0;
}

int alloc_attach(struct record_bpf *skel, const struct alloc_lib *lib, pid_t pid,
		 struct alloc_attachment *a, char *msg, size_t msglen)
{
	int err = 0;

	memset(a, 0, sizeof(*a));
	a->pid = pid;
	a->dev = lib->dev;
	a->ino = lib->ino;
	/* Returns first: a call entering after its entry probe is on must be seen returning. */
	for (int i = 0; i < lib->nprobes && !err; i++)
		if (lib->probes[i].kind != EV_FREE)
			err = attach_one(skel->progs.alloc_return, lib, i, pid, true, a, msg, msglen);
	for (int i = 0; i < lib->nprobes && !err; i++)
		err = attach_one(entry_prog(skel, lib->probes[i].kind), lib, i, pid, false, a, msg,
				 msglen);
	if (err)
		alloc_detach(a);
	return err;
}

void alloc_detach(struct alloc_attachment *a)
{
	/* Entry links were attached last: destroy from the end. */
	for (int i = a->nlinks - 1; i >= 0; i--)
		bpf_link__destroy(a->links[i]);
	a->nlinks = 0;
}

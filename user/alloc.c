/* Allocator symbols and their uprobes: see alloc.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "alloc.h"
#include "uprobe_multi.h"
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
	uint64_t span_lo = 0, span_hi = 0;
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
	/*
	 * The allocator's own code: from the lowest of its functions to the
	 * end of the highest. A call returning into it is the allocator's.
	 */
	for (int i = 0; i < ALLOC_FUNCS; i++) {
		if (!found.have[i] || found.fn[i].ifunc)
			continue;
		if (!span_hi || found.fn[i].vaddr < span_lo)
			span_lo = found.fn[i].vaddr;
		if (found.fn[i].vaddr + found.fn[i].size > span_hi)
			span_hi = found.fn[i].vaddr + found.fn[i].size;
	}
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
		lib->probes[lib->nprobes].cookie = (found.fn[i].vaddr - span_lo) << 32 |
						   (uint32_t)(span_hi - found.fn[i].vaddr);
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

void alloc_prepare(struct record_bpf *skel)
{
	static const uint32_t kinds[] = { EV_MALLOC, EV_CALLOC, EV_REALLOC, EV_REALLOCARRAY,
					  EV_POSIX_MEMALIGN, EV_ALIGNED_ALLOC, EV_MEMALIGN,
					  EV_VALLOC, EV_PVALLOC, EV_FREE };

	if (!uprobe_multi_supported())
		return;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		bpf_program__set_expected_attach_type(entry_prog(skel, kinds[i]),
						      ATTACH_UPROBE_MULTI);
	bpf_program__set_expected_attach_type(skel->progs.alloc_return, ATTACH_UPROBE_MULTI);
}

/* Attaches prog at the given probes of lib (entry or return); one link, or one per offset. */
static int attach_probes(struct bpf_program *prog, const struct alloc_lib *lib, const int *which,
			 int n, pid_t pid, bool retprobe, struct alloc_attachment *a, char *msg,
			 size_t msglen)
{
	uint64_t offsets[ALLOC_FUNCS], cookies[ALLOC_FUNCS];
	int err = 0;

	for (int i = 0; i < n; i++) {
		offsets[i] = lib->probes[which[i]].offset;
		cookies[i] = retprobe ? 0 : lib->probes[which[i]].cookie;
	}
	if (uprobe_multi_supported()) {
		int fd = uprobe_multi_attach(bpf_program__fd(prog), lib->path, offsets, cookies, n,
					     pid, retprobe);

		if (fd >= 0)
			a->links[a->nlinks++] = (struct probe_link){ NULL, fd };
		else
			err = fd;
	} else {
		for (int i = 0; i < n && !err; i++) {
			LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe,
				    .bpf_cookie = cookies[i]);
			struct bpf_link *link = bpf_program__attach_uprobe_opts(prog, pid, lib->path,
									     offsets[i], &opts);

			if (link)
				a->links[a->nlinks++] = (struct probe_link){ link, -1 };
			else
				err = errno ? -errno : -EINVAL;
		}
	}
	if (err)
		snprintf(msg, msglen, "cannot attach %s to %s in %s%s: %s",
			 retprobe ? "return probes" : "a probe", retprobe ? "the allocator" :
			 lib->probes[which[0]].name, lib->shown, pid > 0 ? "" : " (system-wide)",
			 err == -ESRCH ? "the process has exited" : strerror(-err));
	return err;
}

int alloc_attach(struct record_bpf *skel, const struct alloc_lib *lib, pid_t pid,
		 struct alloc_attachment *a, char *msg, size_t msglen)
{
	int which[ALLOC_FUNCS], n = 0, err = 0;

	memset(a, 0, sizeof(*a));
	a->pid = pid;
	a->dev = lib->dev;
	a->ino = lib->ino;
	/* Returns first: a call entering after its entry probe is on must be seen returning. */
	for (int i = 0; i < lib->nprobes; i++)
		if (lib->probes[i].kind != EV_FREE)
			which[n++] = i;
	if (n)
		err = attach_probes(skel->progs.alloc_return, lib, which, n, pid, true, a, msg,
				    msglen);
	a->nret = a->nlinks;
	for (int i = 0; i < lib->nprobes && !err; i++)
		err = attach_probes(entry_prog(skel, lib->probes[i].kind), lib, &i, 1, pid, false, a,
				    msg, msglen);
	if (err)
		alloc_detach(a, 1);
	return err;
}

struct destroy_job {
	struct probe_link *links;
	size_t n, stride, first;
};

static void *destroy_some(void *arg)
{
	struct destroy_job *job = arg;

	for (size_t i = job->first; i < job->n; i += job->stride) {
		if (job->links[i].link)
			bpf_link__destroy(job->links[i].link);
		else
			close(job->links[i].fd);
	}
	return NULL;
}

/*
 * Destroys links on up to 32 threads at once: uprobe_multi links released
 * together share one grace period (perf-event ones serialize in the kernel).
 */
static void destroy_concurrently(struct probe_link *links, size_t n)
{
	enum { MAX_THREADS = 32 };
	struct destroy_job jobs[MAX_THREADS];
	pthread_t threads[MAX_THREADS];
	bool started[MAX_THREADS] = { false };
	size_t nthreads = n < MAX_THREADS ? n : MAX_THREADS;

	for (size_t t = 0; t < nthreads; t++) {
		jobs[t] = (struct destroy_job){ links, n, nthreads, t };
		started[t] = !pthread_create(&threads[t], NULL, destroy_some, &jobs[t]);
		if (!started[t])
			destroy_some(&jobs[t]);
	}
	for (size_t t = 0; t < nthreads; t++)
		if (started[t])
			pthread_join(threads[t], NULL);
}

void alloc_detach(struct alloc_attachment *a, int n)
{
	size_t total = 0, k = 0;
	struct probe_link *links;

	for (int i = 0; i < n; i++)
		total += a[i].nlinks;
	links = malloc((total ? total : 1) * sizeof(*links));
	if (!links) {
		for (int i = 0; i < n; i++)	/* no memory: one at a time, entries first */
			for (int j = a[i].nlinks - 1; j >= 0; j--) {
				struct destroy_job one = { &a[i].links[j], 1, 1, 0 };

				destroy_some(&one);
			}
	} else {
		for (int i = 0; i < n; i++)
			for (int j = a[i].nret; j < a[i].nlinks; j++)
				links[k++] = a[i].links[j];
		destroy_concurrently(links, k);
		k = 0;
		for (int i = 0; i < n; i++)
			for (int j = 0; j < a[i].nret; j++)
				links[k++] = a[i].links[j];
		destroy_concurrently(links, k);
		free(links);
	}
	for (int i = 0; i < n; i++)
		a[i].nlinks = a[i].nret = 0;
}

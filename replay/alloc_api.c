/* The allocator under test: see alloc_api.h. */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc_api.h"

static size_t page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (size_t)p : 4096;
}

static void *aligned(size_t align, size_t size)
{
	void *p;

	return posix_memalign(&p, align, size) ? NULL : p;
}

static void *emulate_pvalloc(size_t size)
{
	size_t page = page_size();

	return aligned(page, size ? (size + page - 1) / page * page : page);
}

static void *emulate_valloc(size_t size)
{
	return aligned(page_size(), size);
}

static void *emulate_memalign(size_t align, size_t size)
{
	return aligned(align, size);
}

static void *emulate_reallocarray(void *ptr, size_t nmemb, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(nmemb, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(ptr, total);
}

/* Does name come from the same file as malloc? */
static bool same_file(const char *name, const Dl_info *of_malloc)
{
	void *f = dlsym(RTLD_DEFAULT, name);
	Dl_info info;

	return f && dladdr(f, &info) && info.dli_fname && of_malloc->dli_fname &&
	       !strcmp(info.dli_fname, of_malloc->dli_fname);
}

static void note(struct alloc_api *api, const char *name)
{
	size_t n = strlen(api->emulated);

	snprintf(api->emulated + n, sizeof(api->emulated) - n, "%s%s", n ? ", " : "", name);
}

void alloc_api__init(struct alloc_api *api)
{
	Dl_info m = { 0 };
	const char *base;

	memset(api, 0, sizeof(*api));
	dladdr(dlsym(RTLD_DEFAULT, "malloc"), &m);
	base = m.dli_fname ? strrchr(m.dli_fname, '/') : NULL;
	snprintf(api->name, sizeof(api->name), "%s", base ? base + 1 : m.dli_fname ? m.dli_fname : "?");
	api->pvalloc = pvalloc;
	api->reallocarray = reallocarray;
	api->valloc = valloc;
	api->memalign = memalign;
	api->aligned_alloc = aligned_alloc;
	if (!same_file("pvalloc", &m)) {
		api->pvalloc = emulate_pvalloc;
		note(api, "pvalloc");
	}
	if (!same_file("reallocarray", &m)) {
		api->reallocarray = emulate_reallocarray;
		note(api, "reallocarray");
	}
	if (!same_file("valloc", &m)) {
		api->valloc = emulate_valloc;
		note(api, "valloc");
	}
	if (!same_file("memalign", &m)) {
		api->memalign = emulate_memalign;
		note(api, "memalign");
	}
	if (!same_file("aligned_alloc", &m)) {
		api->aligned_alloc = emulate_memalign;
		note(api, "aligned_alloc");
	}
}

/* Appends "name=value" to buf. */
static void add(char *buf, size_t len, const char *name, unsigned long long value)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s=%llu", n ? " " : "", name, value);
}

void alloc_api__stats(char *buf, size_t len)
{
	int (*mallctl)(const char *, void *, size_t *, void *, size_t) = dlsym(RTLD_DEFAULT, "mallctl");
	int (*tc_prop)(const char *, size_t *) = dlsym(RTLD_DEFAULT,
						       "MallocExtension_GetNumericProperty");
	void (*mi_info)(size_t *, size_t *, size_t *, size_t *, size_t *, size_t *, size_t *,
			size_t *) = dlsym(RTLD_DEFAULT, "mi_process_info");

	buf[0] = 0;
	if (mallctl) {
		static const char *const names[] = { "stats.allocated", "stats.active",
						     "stats.resident", "stats.mapped",
						     "stats.retained" };
		uint64_t epoch = 1;
		size_t sz = sizeof(epoch);

		mallctl("epoch", &epoch, &sz, &epoch, sz);
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			size_t v = 0;

			sz = sizeof(v);
			if (!mallctl(names[i], &v, &sz, NULL, 0))
				add(buf, len, names[i] + 6, v);
		}
	} else if (tc_prop) {
		static const char *const names[] = { "generic.current_allocated_bytes",
						     "generic.heap_size",
						     "tcmalloc.pageheap_free_bytes",
						     "tcmalloc.pageheap_unmapped_bytes" };

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			size_t v = 0;

			if (tc_prop(names[i], &v))
				add(buf, len, strchr(names[i], '.') + 1, v);
		}
	} else if (mi_info) {
		size_t elapsed, user, sys, rss, peak_rss, commit, peak_commit, faults;

		mi_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
		add(buf, len, "current_commit", commit);
		add(buf, len, "peak_commit", peak_commit);
		add(buf, len, "page_faults", faults);
	} else {
		struct mallinfo2 mi = mallinfo2();

		add(buf, len, "arena", mi.arena);
		add(buf, len, "in_use", mi.uordblks);
		add(buf, len, "free", mi.fordblks);
		add(buf, len, "mmapped", mi.hblkhd);
		add(buf, len, "releasable", mi.keepcost);
	}
}

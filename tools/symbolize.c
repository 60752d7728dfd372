/* Caller addresses to function names, offline, from map records and ELF files. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "elf_file.h"
#include "grow_array.h"
#include "symbolize.h"

struct sym {
	uint64_t vaddr, size;
	char *name;
	int rank;		/* lower is the better name for an address with aliases */
};

struct sym_file {
	char *path;
	uint8_t build_id[BUILD_ID_MAX];
	size_t build_id_len;
	bool loaded;
	bool usable;		/* found, and the same build as recorded */
	struct elf_file *elf;
	struct sym *syms;
	size_t nsyms;
};

struct sym_map {
	uint32_t pid;
	uint64_t start, end, offset;
	size_t file;		/* index into files */
};

struct symbolizer {
	char *symfs;
	struct sym_file *files;
	size_t nfiles, files_cap;
	struct sym_map *maps;
	size_t nmaps, maps_cap;
	bool sorted;
};

struct symbolizer *symbolizer__new(const char *symfs)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (s && symfs)
		s->symfs = strdup(symfs);
	return s;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfiles; i++) {
		for (size_t j = 0; j < s->files[i].nsyms; j++)
			free(s->files[i].syms[j].name);
		free(s->files[i].syms);
		free(s->files[i].path);
		elf_file__close(s->files[i].elf);
	}
	free(s->files);
	free(s->maps);
	free(s->symfs);
	free(s);
}

static size_t file_index(struct symbolizer *s, const char *path, size_t plen, const uint8_t *id,
			 size_t idlen)
{
	struct sym_file *f;

	if (idlen > BUILD_ID_MAX)
		idlen = BUILD_ID_MAX;
	for (size_t i = 0; i < s->nfiles; i++) {
		f = &s->files[i];
		if (strlen(f->path) == plen && !memcmp(f->path, path, plen) &&
		    f->build_id_len == idlen && !memcmp(f->build_id, id, idlen))
			return i;
	}
	f = grow_array(s->files, &s->files_cap, s->nfiles + 1, sizeof(*s->files));
	if (!f)
		return SIZE_MAX;
	s->files = f;
	f = &s->files[s->nfiles];
	memset(f, 0, sizeof(*f));
	f->path = strndup(path, plen);
	memcpy(f->build_id, id, idlen);
	f->build_id_len = idlen;
	return s->nfiles++;
}

static void add_map(struct symbolizer *s, uint32_t pid, uint64_t start, uint64_t end,
		    uint64_t offset, size_t file)
{
	struct sym_map *m;
	size_t out = 0;

	/* A new mapping replaces whatever it overlaps: the old one was unmapped. */
	for (size_t i = 0; i < s->nmaps; i++) {
		m = &s->maps[i];
		if (m->pid == pid && m->start < end && start < m->end)
			continue;
		s->maps[out++] = *m;
	}
	s->nmaps = out;
	m = grow_array(s->maps, &s->maps_cap, s->nmaps + 1, sizeof(*s->maps));
	if (!m)
		return;
	s->maps = m;
	s->maps[s->nmaps++] = (struct sym_map){ pid, start, end, offset, file };
	s->sorted = false;
}

static void drop_pid(struct symbolizer *s, uint32_t pid)
{
	size_t out = 0;

	for (size_t i = 0; i < s->nmaps; i++)
		if (s->maps[i].pid != pid)
			s->maps[out++] = s->maps[i];
	s->nmaps = out;
}

void symbolizer__update(struct symbolizer *s, const struct tape_event *ev)
{
	size_t n;

	switch (ev->type) {
	case TAPE_EV_MAP: {
		size_t f = file_index(s, ev->map.path, ev->map.path_len, ev->map.build_id,
				      ev->map.build_id_len);

		if (f != SIZE_MAX)
			add_map(s, ev->pid, ev->map.start, ev->map.end, ev->map.offset, f);
		break;
	}
	case TAPE_EV_FORK:
		/* A new process starts with its parent's mappings. */
		if (ev->fork.flags & TAPE_FORK_THREAD)
			break;
		n = s->nmaps;
		for (size_t i = 0; i < n; i++)
			if (s->maps[i].pid == ev->pid)
				add_map(s, ev->fork.child_pid, s->maps[i].start, s->maps[i].end,
					s->maps[i].offset, s->maps[i].file);
		break;
	case TAPE_EV_EXEC:
		drop_pid(s, ev->pid);
		break;
	default:
		break;
	}
}

static int cmp_map(const void *a, const void *b)
{
	const struct sym_map *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	if (x->vaddr != y->vaddr)
		return x->vaddr < y->vaddr ? -1 : 1;
	return x->rank - y->rank;
}

struct collect {
	struct sym_file *f;
	size_t cap;
};

static int collect_sym(const struct elf_func *fn, void *ctx)
{
	struct collect *c = ctx;
	struct sym *syms;

	if (fn->ifunc)
		return 0;
	syms = grow_array(c->f->syms, &c->cap, c->f->nsyms + 1, sizeof(*syms));
	if (!syms)
		return -1;
	c->f->syms = syms;
	/* Prefer exported names, then names without a leading underscore. */
	syms[c->f->nsyms++] = (struct sym){ fn->vaddr, fn->size, strdup(fn->name),
					    (fn->dynamic ? 0 : 2) + (fn->name[0] == '_') };
	return 0;
}

static void load_file(struct symbolizer *s, struct sym_file *f)
{
	char path[PATH_MAX + 256], msg[256];
	uint8_t id[BUILD_ID_MAX];
	size_t idlen;
	struct collect c = { f, 0 };

	f->loaded = true;
	snprintf(path, sizeof(path), "%s%s", s->symfs ? s->symfs : "", f->path);
	if (elf_file__open(&f->elf, path, msg, sizeof(msg))) {
		cli_warn("%s: its callers are shown as file+offset", msg);
		return;
	}
	elf_file__build_id(f->elf, id, &idlen);
	if (f->build_id_len && (idlen != f->build_id_len || memcmp(id, f->build_id, idlen))) {
		cli_warn("%s has changed since the recording (another build ID): its callers are shown as file+offset",
			 path);
		return;
	}
	elf_file__each_func(f->elf, collect_sym, &c);
	qsort(f->syms, f->nsyms, sizeof(*f->syms), cmp_sym);
	f->usable = true;
}

static const struct sym *find_sym(const struct sym_file *f, uint64_t vaddr)
{
	size_t lo = 0, hi = f->nsyms;
	const struct sym *best;

	/* The last symbol starting at or below vaddr... */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (f->syms[mid].vaddr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	best = &f->syms[lo - 1];
	/* ...but the best-ranked of the aliases at that address. */
	while (best > f->syms && best[-1].vaddr == best->vaddr)
		best--;
	for (const struct sym *p = best; p < f->syms + f->nsyms && p->vaddr == best->vaddr; p++)
		if (vaddr < p->vaddr + p->size)
			return p;
	return NULL;
}

static const struct sym_map *find_map(struct symbolizer *s, uint32_t pid, uint64_t addr)
{
	const struct sym_map *m = NULL;
	size_t lo = 0, hi;

	if (!s->sorted) {
		qsort(s->maps, s->nmaps, sizeof(*s->maps), cmp_map);
		s->sorted = true;
	}
	hi = s->nmaps;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct sym_map *x = &s->maps[mid];

		if (x->pid < pid || (x->pid == pid && x->start <= addr))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo)
		m = &s->maps[lo - 1];
	if (!m || m->pid != pid || addr >= m->end)
		return NULL;
	return m;
}

int symbolizer__frames(struct symbolizer *s, uint32_t pid, uint64_t addr, struct sym_frame *out,
		       int max)
{
	const struct sym_map *m = find_map(s, pid, addr);
	struct sym_file *f;
	int64_t vaddr;

	if (!m || max < 1)
		return 0;
	f = &s->files[m->file];
	if (!f->loaded)
		load_file(s, f);
	out[0] = (struct sym_frame){
		.module = f->path,
		.build_id = f->build_id,
		.build_id_len = f->build_id_len,
		.offset = addr - m->start + m->offset,
	};
	vaddr = f->usable ? elf_file__offset_to_vaddr(f->elf, out[0].offset) : -1;
	if (vaddr >= 0) {
		const struct sym *sym = find_sym(f, (uint64_t)vaddr);

		if (sym) {
			out[0].function = sym->name;
			out[0].function_offset = (uint64_t)vaddr - sym->vaddr;
		}
	}
	return 1;
}

bool symbolizer__describe(struct symbolizer *s, uint32_t pid, uint64_t addr, char *buf,
			  size_t len)
{
	struct sym_frame fr;
	const char *base;

	if (!symbolizer__frames(s, pid, addr, &fr, 1))
		return false;
	base = strrchr(fr.module, '/') ? strrchr(fr.module, '/') + 1 : fr.module;
	if (fr.function)
		snprintf(buf, len, "%s+0x%llx (%s)", fr.function,
			 (unsigned long long)fr.function_offset, base);
	else
		snprintf(buf, len, "%s+0x%llx", base, (unsigned long long)fr.offset);
	return true;
}

/*
 * Addresses to functions, files and lines, offline: processes' maps from the
 * tape's map records, one module per recorded file, libdw through
 * sym_dwarf.c, and a bounded cache of what each location resolved to.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "debuginfo.h"
#include "elf_file.h"
#include "grow_array.h"
#include "sym_dwarf.h"
#include "symbolize.h"
#include "u64map.h"

/* Bounds on what a tape can make this hold. */
#define MODULES_MAX 65536	/* distinct files */
#define MAPS_MAX (1u << 22)	/* map entries, all processes */
#define OPEN_MAX 16		/* files open at once (the least recently used is closed) */
#define CACHE_MAX (1u << 18)	/* locations resolved and kept */
#define STRINGS_BLOCK (1u << 16)
#define STRINGS_MAX (4096u * STRINGS_BLOCK)	/* 256 MiB of names, kept until the end */
#define NOTE_MAX 1024

struct module {
	struct sym_module_info info;
	char *path;
	uint8_t build_id[BUILD_ID_MAX];
	size_t build_id_len;
	uint64_t exec_map_offset;
	struct sym_dwarf *dw;	/* open now, or NULL */
	bool missing;		/* looked for and not found */
	uint64_t last_use;
	char *found;
};

struct sym_map {
	uint64_t start, end, offset;
	uint32_t module;
};

struct proc_maps {
	uint32_t pid;
	struct sym_map *maps;	/* sorted by start, never overlapping */
	size_t n, cap;
};

/* A function at a resolved location (sym_frame without what the location gives). */
struct resolved {
	const char *function;
	const char *file;
	uint64_t function_offset;
	uint32_t line;
	bool inlined;
};

/* A location resolved: its frames are frames[first, first + n). */
struct cached {
	uint32_t module;
	uint64_t offset;
	uint32_t first, n;
};

/* Strings kept for the cache's frames, each once, in blocks that never move. */
struct strings {
	char **blocks;
	size_t nblocks, blocks_cap, used;	/* bytes used in the last block */
	struct u64map index;			/* hash -> pointer (probing on collision) */
};

struct symbolizer {
	struct debuginfo *di;
	uint32_t page_size;
	struct module *modules;
	size_t nmodules, modules_cap;
	struct u64map module_index;	/* hash of (path or build ID) -> index + 1, probed */
	struct proc_maps *procs;
	size_t nprocs, procs_cap;
	struct u64map proc_index;	/* pid -> index + 1 */
	size_t total_maps;
	bool maps_full;
	size_t open;
	uint64_t clock;
	struct u64map cache_index;	/* hash of (module, offset) -> index + 1, probed */
	struct cached *cache;
	size_t ncache, cache_cap;
	struct resolved *frames;
	size_t nframes, frames_cap;
	struct strings strings;
};

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const unsigned char *b = p;

	/* FNV-1a, then a final mix: keys only need to spread. */
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

/* ------------------------------------------------------------------- strings */

static void strings__free(struct strings *s)
{
	for (size_t i = 0; i < s->nblocks; i++)
		free(s->blocks[i]);
	free(s->blocks);
	u64map__free(&s->index);
	memset(s, 0, sizeof(*s));
}

static const char *strings__intern(struct strings *s, const char *str)
{
	size_t len;
	uint64_t key;
	char *copy;

	if (!str)
		return NULL;
	len = strlen(str);
	if (len >= STRINGS_BLOCK)
		len = STRINGS_BLOCK - 1;	/* a name this long is cut, not refused */
	key = hash_bytes(str, len, 0xcbf29ce484222325ull);
	for (;; key++) {
		uint64_t *v = u64map__get(&s->index, key);
		const char *old = v ? (const char *)(uintptr_t)*v : NULL;

		if (!old)
			break;
		if (!strncmp(old, str, len) && !old[len])
			return old;
	}
	if (!s->nblocks || s->used + len + 1 > STRINGS_BLOCK) {
		if (s->nblocks * (size_t)STRINGS_BLOCK >= STRINGS_MAX)
			return NULL;	/* the name is shown as unknown */
		char **b = grow_array(s->blocks, &s->blocks_cap, s->nblocks + 1, sizeof(*b));
		char *block = malloc(STRINGS_BLOCK);

		if (!b || !block) {
			free(block);
			if (b)
				s->blocks = b;
			return NULL;
		}
		s->blocks = b;
		s->blocks[s->nblocks++] = block;
		s->used = 0;
	}
	copy = s->blocks[s->nblocks - 1] + s->used;
	memcpy(copy, str, len);
	copy[len] = 0;
	s->used += len + 1;
	if (u64map__put(&s->index, key, (uintptr_t)copy))
		return NULL;
	return copy;
}

/* ------------------------------------------------------------------ lifecycle */

struct symbolizer *symbolizer__new(const struct symbolizer_opts *o)
{
	struct debuginfo_opts dio = { o->symfs, o->debug_dirs, o->ndebug_dirs, o->no_debuginfod };
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->di = debuginfo__new(&dio);
	if (!s->di) {
		free(s);
		return NULL;
	}
	s->page_size = o->page_size;
	u64map__init(&s->module_index);
	u64map__init(&s->proc_index);
	u64map__init(&s->cache_index);
	u64map__init(&s->strings.index);
	return s;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmodules; i++) {
		sym_dwarf__close(s->modules[i].dw);
		free(s->modules[i].path);
		free(s->modules[i].found);
	}
	for (size_t i = 0; i < s->nprocs; i++)
		free(s->procs[i].maps);
	free(s->modules);
	free(s->procs);
	free(s->cache);
	free(s->frames);
	u64map__free(&s->module_index);
	u64map__free(&s->proc_index);
	u64map__free(&s->cache_index);
	strings__free(&s->strings);
	debuginfo__free(s->di);
	free(s);
}

/* --------------------------------------------------------------------- maps */

/* The module of a recorded file: one per build ID (or per path without one). */
static uint32_t module_of(struct symbolizer *s, const char *path, uint32_t plen, const uint8_t *id,
			  uint32_t idlen, uint64_t map_offset)
{
	uint64_t key = idlen ? hash_bytes(id, idlen, 1) : hash_bytes(path, plen, 2);
	struct module *m;

	if (idlen > BUILD_ID_MAX)
		idlen = BUILD_ID_MAX;
	for (;; key++) {
		uint64_t *v = u64map__get(&s->module_index, key);

		if (!v)
			break;
		m = &s->modules[*v - 1];
		if (idlen ? m->build_id_len == idlen && !memcmp(m->build_id, id, idlen) :
			    !m->build_id_len && strlen(m->path) == plen && !memcmp(m->path, path, plen))
			return *v - 1;
	}
	if (s->nmodules >= MODULES_MAX)
		return SYM_NO_MODULE;
	m = grow_array(s->modules, &s->modules_cap, s->nmodules + 1, sizeof(*m));
	if (!m)
		return SYM_NO_MODULE;
	s->modules = m;
	m = &s->modules[s->nmodules];
	memset(m, 0, sizeof(*m));
	m->path = strndup(path, plen);
	if (!m->path || u64map__put(&s->module_index, key, s->nmodules + 1)) {
		free(m->path);
		return SYM_NO_MODULE;
	}
	memcpy(m->build_id, id, idlen);
	m->build_id_len = idlen;
	m->exec_map_offset = map_offset;
	return s->nmodules++;
}

static struct proc_maps *proc_of(struct symbolizer *s, uint32_t pid, bool create)
{
	uint64_t *v = u64map__get(&s->proc_index, pid);
	struct proc_maps *p;

	if (v)
		return &s->procs[*v - 1];
	if (!create)
		return NULL;
	p = grow_array(s->procs, &s->procs_cap, s->nprocs + 1, sizeof(*p));
	if (!p)
		return NULL;
	s->procs = p;
	p = &s->procs[s->nprocs];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	if (u64map__put(&s->proc_index, pid, s->nprocs + 1))
		return NULL;
	return &s->procs[s->nprocs++];
}

/* A new mapping replaces whatever it overlaps (that was unmapped), in start order. */
static void add_map(struct symbolizer *s, struct proc_maps *p, const struct sym_map *m)
{
	size_t out = 0, at;
	struct sym_map *maps;

	if (m->end <= m->start)
		return;
	for (size_t i = 0; i < p->n; i++)
		if (!(p->maps[i].start < m->end && m->start < p->maps[i].end))
			p->maps[out++] = p->maps[i];
	s->total_maps -= p->n - out;
	p->n = out;
	if (s->total_maps >= MAPS_MAX) {
		if (!s->maps_full)
			cli_warn("more than %u mappings in the tape: later ones are not used for symbols",
				 MAPS_MAX);
		s->maps_full = true;
		return;
	}
	maps = grow_array(p->maps, &p->cap, p->n + 1, sizeof(*maps));
	if (!maps)
		return;
	p->maps = maps;
	for (at = p->n; at > 0 && maps[at - 1].start > m->start; at--)
		maps[at] = maps[at - 1];
	maps[at] = *m;
	p->n++;
	s->total_maps++;
}

static void drop_maps(struct symbolizer *s, struct proc_maps *p)
{
	s->total_maps -= p->n;
	p->n = 0;
}

void symbolizer__update(struct symbolizer *s, const struct tape_event *ev)
{
	struct proc_maps *p, *child;

	switch (ev->type) {
	case TAPE_EV_MAP: {
		uint32_t mod = module_of(s, ev->map.path, ev->map.path_len, ev->map.build_id,
					 ev->map.build_id_len, ev->map.offset);
		struct sym_map m = { ev->map.start, ev->map.end, ev->map.offset, mod };

		p = proc_of(s, ev->pid, true);
		if (p && mod != SYM_NO_MODULE)
			add_map(s, p, &m);
		break;
	}
	case TAPE_EV_FORK:
		/* A new process starts with its parent's mappings. */
		if (ev->fork.flags & TAPE_FORK_THREAD || ev->fork.child_pid == ev->pid)
			break;
		p = proc_of(s, ev->pid, false);
		if (!p || !p->n)
			break;
		child = proc_of(s, ev->fork.child_pid, true);
		p = proc_of(s, ev->pid, false);	/* the array may have moved */
		if (!child || !p)
			break;
		drop_maps(s, child);
		for (size_t i = 0; i < p->n; i++)
			add_map(s, child, &p->maps[i]);
		break;
	case TAPE_EV_EXEC:
		p = proc_of(s, ev->pid, false);
		if (p)
			drop_maps(s, p);
		break;
	default:
		break;
	}
}

struct sym_loc symbolizer__locate(struct symbolizer *s, uint32_t pid, uint64_t addr)
{
	struct proc_maps *p = proc_of(s, pid, false);
	struct sym_loc loc = { SYM_NO_MODULE, addr };
	size_t lo = 0, hi;

	if (!p)
		return loc;
	hi = p->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (p->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < p->maps[lo - 1].end) {
		const struct sym_map *m = &p->maps[lo - 1];

		loc.module = m->module;
		loc.offset = addr - m->start + m->offset;
	}
	return loc;
}

const struct sym_module_info *symbolizer__module(struct symbolizer *s, uint32_t module)
{
	struct module *m;

	if (module >= s->nmodules)
		return NULL;
	m = &s->modules[module];
	m->info.path = m->path;
	m->info.name = strrchr(m->path, '/') ? strrchr(m->path, '/') + 1 : m->path;
	m->info.build_id = m->build_id;
	m->info.build_id_len = m->build_id_len;
	m->info.found = m->found;
	m->info.looked = m->found || m->missing;
	return &m->info;
}

/* ------------------------------------------------------------------ modules */

static void close_least_used(struct symbolizer *s)
{
	struct module *lru = NULL;

	for (size_t i = 0; i < s->nmodules; i++)
		if (s->modules[i].dw && (!lru || s->modules[i].last_use < lru->last_use))
			lru = &s->modules[i];
	if (lru) {
		sym_dwarf__close(lru->dw);
		lru->dw = NULL;
		s->open--;
	}
}

/* The module's file, open; NULL when it cannot be (said once, on stderr). */
static struct sym_dwarf *module_open(struct symbolizer *s, struct module *m)
{
	struct sym_dwarf_file f = { m->path, m->build_id, m->build_id_len, m->exec_map_offset,
				    s->page_size };
	char note[NOTE_MAX], hex[2 * BUILD_ID_MAX + 1], *found = NULL;
	bool first = !m->found;
	int err;

	m->last_use = ++s->clock;
	if (m->dw || m->missing)
		return m->dw;
	if (s->open >= OPEN_MAX)
		close_least_used(s);
	err = sym_dwarf__open(&m->dw, s->di, &f, &found, note, sizeof(note));
	build_id_hex(m->build_id, m->build_id_len, hex, sizeof(hex));
	if (err) {
		m->missing = true;
		cli_warn("%s%s%s%s: %s: its addresses are shown as %s+0xOFFSET", m->path,
			 hex[0] ? " (build ID " : "", hex, hex[0] ? ")" : "",
			 err == -ENOMEM ? "out of memory" : note,
			 strrchr(m->path, '/') ? strrchr(m->path, '/') + 1 : m->path);
		return NULL;
	}
	s->open++;
	if (first) {
		m->found = found;
		found = NULL;
		if (note[0])
			cli_warn("%s: %s", m->path, note);
	}
	free(found);
	return m->dw;
}

/* -------------------------------------------------------------------- cache */

/* Forgets resolved locations (not their strings: callers may hold those). */
static void cache_clear(struct symbolizer *s)
{
	u64map__free(&s->cache_index);
	u64map__init(&s->cache_index);
	s->ncache = 0;
	s->nframes = 0;
}

struct collect {
	struct symbolizer *s;
	uint32_t n;
	bool failed;
};

static void collect_frame(void *ctx, const char *function, const char *file, unsigned line,
			  bool inlined, uint64_t function_offset)
{
	struct collect *c = ctx;
	struct symbolizer *s = c->s;
	struct resolved *f = grow_array(s->frames, &s->frames_cap, s->nframes + 1, sizeof(*f));

	if (!f) {
		c->failed = true;
		return;
	}
	s->frames = f;
	f = &s->frames[s->nframes++];
	f->function = strings__intern(&s->strings, function);
	f->file = strings__intern(&s->strings, file);
	f->line = line;
	f->inlined = inlined;
	f->function_offset = function_offset;
	c->n++;
}

/* What a location resolved to, from the cache or from its file: *first and the count. */
static uint32_t resolve(struct symbolizer *s, const struct sym_loc *loc, uint32_t *first)
{
	uint64_t key = hash_bytes(&loc->offset, sizeof(loc->offset), loc->module + 3), *v;
	struct collect c = { s, 0, false };
	struct sym_dwarf *dw;
	struct cached *e;

	for (;; key++) {
		v = u64map__get(&s->cache_index, key);
		if (!v)
			break;
		e = &s->cache[*v - 1];
		if (e->module == loc->module && e->offset == loc->offset) {
			*first = e->first;
			return e->n;
		}
	}
	dw = module_open(s, &s->modules[loc->module]);
	if (!dw)
		return 0;
	if (s->ncache >= CACHE_MAX)
		cache_clear(s);
	*first = s->nframes;
	sym_dwarf__lookup(dw, loc->offset, collect_frame, &c);
	e = grow_array(s->cache, &s->cache_cap, s->ncache + 1, sizeof(*e));
	if (c.failed || !e || u64map__put(&s->cache_index, key, s->ncache + 1)) {
		s->nframes = *first;
		return 0;
	}
	s->cache = e;
	s->cache[s->ncache++] = (struct cached){ loc->module, loc->offset, *first, c.n };
	return c.n;
}

int symbolizer__frames_at(struct symbolizer *s, const struct sym_loc *loc, struct sym_frame *out,
			  int max)
{
	const struct sym_module_info *mi;
	uint32_t first = 0, n;

	if (loc->module >= s->nmodules || max < 1)
		return 0;
	mi = symbolizer__module(s, loc->module);
	n = resolve(s, loc, &first);
	for (uint32_t i = 0; i < n || i == 0; i++) {
		const struct resolved *r = n ? &s->frames[first + i] : NULL;

		if ((int)i == max)
			return max;
		out[i] = (struct sym_frame){
			.module = mi->path,
			.build_id = mi->build_id,
			.build_id_len = mi->build_id_len,
			.offset = loc->offset,
		};
		if (r) {
			out[i].function = r->function;
			out[i].function_offset = r->function_offset;
			out[i].file = r->file;
			out[i].line = r->line;
			out[i].inlined = r->inlined;
		}
	}
	return n ? (int)n : 1;
}

int symbolizer__frames(struct symbolizer *s, uint32_t pid, uint64_t addr, struct sym_frame *out,
		       int max)
{
	struct sym_loc loc = symbolizer__locate(s, pid, addr);

	return symbolizer__frames_at(s, &loc, out, max);
}

bool symbolizer__describe(struct symbolizer *s, uint32_t pid, uint64_t addr, char *buf,
			  size_t len)
{
	struct sym_frame fr[SYM_INLINE_MAX];
	const struct sym_frame *f;
	const char *base;
	int n = symbolizer__frames(s, pid, addr, fr, SYM_INLINE_MAX);

	if (!n)
		return false;
	/* One caller as before: the function the code belongs to, not what was inlined there. */
	f = &fr[n - 1];
	base = strrchr(f->module, '/') ? strrchr(f->module, '/') + 1 : f->module;
	if (f->function && f->function_offset)
		snprintf(buf, len, "%s+0x%" PRIx64 " (%s)", f->function, f->function_offset, base);
	else if (f->function)
		snprintf(buf, len, "%s (%s)", f->function, base);
	else
		snprintf(buf, len, "%s+0x%" PRIx64, base, f->offset);
	return true;
}

/* One file's functions and lines through libdwfl: see sym_dwarf.h. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <gelf.h>
#include <libiberty/demangle.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debuginfo.h"
#include "elf_file.h"
#include "grow_array.h"
#include "sym_dwarf.h"
#include "u64map.h"

/* Inlined calls nest at most this deep here (a bound against looping debug information). */
#define INLINE_MAX 64
/* DIE trees are walked at most this deep (a bound against hostile nesting). */
#define DIE_DEPTH_MAX 256

struct segment {
	uint64_t vaddr, offset, filesz, memsz;
	bool exec;
};

/* A function symbol of the file's symbol tables. */
struct symbol {
	uint64_t addr, size;
	const char *name;	/* libelf's: valid while the module is open */
	int rank;		/* lower is the better name for an address with aliases */
};

/* A function, or a call inlined into one, in a compilation unit's DIE tree. */
struct cu_fn {
	Dwarf_Die die;
	int32_t parent;		/* the function around it, index in fns; -1: none */
	uint16_t depth;
	bool inlined;
};

/* One address range of a cu_fn. */
struct cu_range {
	uint64_t low, high;
	uint32_t fn;
};

/*
 * A compilation unit's functions and inlined calls, by address: its DIE tree
 * walked once, where libdw's dwarf_getscopes walks it again for every address.
 */
struct cu_index {
	Dwarf_Die cu;
	Dwarf_Files *files;
	size_t nfiles;
	struct cu_fn *fns;
	size_t nfns, fns_cap;
	struct cu_range *ranges;	/* sorted by low */
	size_t nranges, ranges_cap;
};

struct sym_dwarf {
	struct debuginfo *d;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	struct segment *segs;
	size_t nsegs;
	bool stand_in;		/* the debug file in place of the binary (gone) */
	uint64_t exec_map_offset;
	uint32_t page_size;
	bool use_dwarf;
	/* What the find_debuginfo callback is asked for next. */
	bool want_alt;
	const struct sym_dwarf_file *f;
	char *main_path;	/* the file read as the binary */
	char *debug_path;	/* the file read for its DWARF */
	char *alt_name;		/* the dwz file the DWARF needs (.gnu_debugaltlink) */
	uint8_t alt_id[BUILD_ID_MAX];
	size_t alt_id_len;
	bool alt_found;
	struct symbol *syms;	/* sorted by address */
	size_t nsyms;
	bool syms_read;
	struct u64map cu_by_offset;	/* CU DIE offset -> index in cus + 1 */
	struct cu_index *cus;
	size_t ncus, cus_cap;
};

char *sym_demangle(const char *name)
{
	/*
	 * libiberty's demangler: C++ (Itanium) and Rust (legacy and v0), told apart by the
	 * name. Return types are left out: a site reads "ns::f<int>(long)".
	 */
	return name ? cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_RET_DROP) : NULL;
}

/* ------------------------------------------------------------------ ELF data */

static Elf_Scn *section_named(Elf *elf, const char *name)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (gelf_getshdr(scn, &sh) && (n = elf_strptr(elf, shstrndx, sh.sh_name)) &&
		    !strcmp(n, name))
			return scn;
	}
	return NULL;
}

/* Does libdw find DWARF in this file (what dwarf_begin_elf looks for)? */
static bool has_dwarf(Elf *elf)
{
	static const char *const names[] = { ".debug_info", ".debug_line", ".debug_frame",
					     ".zdebug_info", ".zdebug_line", ".zdebug_frame" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		Elf_Scn *scn = section_named(elf, names[i]);
		GElf_Shdr sh;

		if (scn && gelf_getshdr(scn, &sh) && sh.sh_type != SHT_NOBITS)
			return true;
	}
	return false;
}

/* The dwz supplementary file a file's DWARF needs: a NUL-terminated name, then its build ID. */
static void read_altlink(struct sym_dwarf *m, Elf *elf)
{
	Elf_Scn *scn = section_named(elf, ".gnu_debugaltlink");
	Elf_Data *data = scn ? elf_getdata(scn, NULL) : NULL;
	const char *p;
	size_t nlen;

	if (!data || !data->d_buf || !data->d_size)
		return;
	p = data->d_buf;
	nlen = strnlen(p, data->d_size);
	if (nlen + 1 >= data->d_size || data->d_size - nlen - 1 > BUILD_ID_MAX)
		return;
	m->alt_name = strndup(p, nlen);
	m->alt_id_len = data->d_size - nlen - 1;
	memcpy(m->alt_id, p + nlen + 1, m->alt_id_len);
}

static int read_segments(struct sym_dwarf *m, Elf *elf)
{
	size_t n;

	if (elf_getphdrnum(elf, &n))
		return -ENOEXEC;
	m->segs = calloc(n ? n : 1, sizeof(*m->segs));
	if (!m->segs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		m->segs[m->nsegs++] = (struct segment){ ph.p_vaddr, ph.p_offset, ph.p_filesz,
							ph.p_memsz, (ph.p_flags & PF_X) != 0 };
	}
	return 0;
}

/*
 * The address a file offset is loaded at, as the file's own program
 * headers say. A debug file standing in for its binary has lost the file
 * offsets of its segments: its one executable segment's is rebuilt from
 * the recorded mapping (page-aligned) and the segment's address within its
 * page, which mmap keeps equal to the offset's.
 */
static bool to_vaddr(const struct sym_dwarf *m, uint64_t offset, uint64_t *vaddr)
{
	const struct segment *exec = NULL;
	uint64_t page = m->page_size ? m->page_size : 4096, start;

	if (!m->stand_in) {
		for (size_t i = 0; i < m->nsegs; i++) {
			const struct segment *s = &m->segs[i];

			if (offset >= s->offset && offset - s->offset < s->filesz) {
				*vaddr = s->vaddr + (offset - s->offset);
				return true;
			}
		}
		return false;
	}
	for (size_t i = 0; i < m->nsegs; i++) {
		if (!m->segs[i].exec)
			continue;
		if (exec)
			return false;	/* several: which one the mapping was is unknown */
		exec = &m->segs[i];
	}
	if (!exec)
		return false;
	start = m->exec_map_offset + exec->vaddr % page;
	if (offset < start || offset - start >= exec->memsz)
		return false;
	*vaddr = exec->vaddr + (offset - start);
	return true;
}

/* ---------------------------------------------------------------- callbacks */

static int cb_find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		       char **file_name, Elf **elfp)
{
	(void)mod, (void)userdata, (void)modname, (void)base, (void)file_name, (void)elfp;
	return -1;	/* every file is reported with its fd */
}

/*
 * libdwfl asks for the separate debug file (when the binary has no DWARF),
 * then for the supplementary file the DWARF names: both found here, safely.
 */
static int cb_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			     Dwarf_Addr base, const char *file_name, const char *link, GElf_Word crc,
			     char **found)
{
	struct sym_dwarf *m = *userdata;
	char *path = NULL;
	int fd;

	(void)mod, (void)modname, (void)base, (void)file_name;
	if (!m->want_alt) {
		m->want_alt = true;
		fd = debuginfo__find_debug(m->d, m->main_path, m->f->path, m->f->build_id,
					   m->f->build_id_len, link, crc, &path);
		if (fd < 0)
			return -1;
		Elf *elf = elf_begin(fd, ELF_C_READ, NULL);

		if (elf) {
			read_altlink(m, elf);
			elf_end(elf);
		}
		m->debug_path = strdup(path);
		*found = path;
		return fd;
	}
	/* Only the supplementary file this module's DWARF names. */
	if (!m->alt_name || !link || strcmp(link, m->alt_name) || crc)
		return -1;
	fd = debuginfo__find_alt(m->d, m->debug_path ? m->debug_path : m->main_path, m->alt_name,
				 m->alt_id, m->alt_id_len, &path);
	if (fd < 0)
		return -1;
	m->alt_found = true;
	*found = path;
	return fd;
}

static const Dwfl_Callbacks callbacks = {
	.find_elf = cb_find_elf,
	.find_debuginfo = cb_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

/* ------------------------------------------------------------------ opening */

/* Split DWARF's skeleton units send libdw to .dwo files by name: not read. */
static bool has_split_units(Dwarf *dw)
{
	Dwarf_CU *cu = NULL;
	uint8_t type;

	while (dwarf_get_units(dw, cu, &cu, NULL, &type, NULL, NULL) == 0)
		if (type == DW_UT_skeleton)
			return true;
	return false;
}

/* Loads the DWARF, if any can be used safely; says in note what cannot. */
static void load_dwarf(struct sym_dwarf *m, Elf *main_elf, char *note, size_t notelen)
{
	Dwarf_Addr bias;
	Dwarf *dw;

	m->want_alt = has_dwarf(main_elf);
	if (m->want_alt)
		read_altlink(m, main_elf);
	dw = dwfl_module_getdwarf(m->mod, &bias);
	if (!dw)
		return;
	if (m->alt_name && !m->alt_found) {
		snprintf(note, notelen,
			 "its debug information needs the supplementary file %s (dwz), not found: functions from its symbol table, no lines",
			 m->alt_name);
		return;
	}
	if (has_split_units(dw)) {
		snprintf(note, notelen,
			 "split DWARF (.dwo files) is not read: functions from its symbol table, no lines");
		return;
	}
	m->use_dwarf = true;
}

int sym_dwarf__open(struct sym_dwarf **out, struct debuginfo *d, const struct sym_dwarf_file *f,
		    char **found, char *note, size_t notelen)
{
	struct sym_dwarf *m = calloc(1, sizeof(*m));
	const char *name = strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path;
	GElf_Addr bias;
	void **userdata;
	Elf *elf;
	int fd, err;

	note[0] = 0;
	*found = NULL;
	if (!m)
		return -ENOMEM;
	m->d = d;
	m->f = f;
	u64map__init(&m->cu_by_offset);
	m->exec_map_offset = f->exec_map_offset;
	m->page_size = f->page_size;
	fd = debuginfo__find_binary(d, f->path, f->build_id, f->build_id_len, &m->main_path, note,
				    notelen);
	if (fd < 0 && f->build_id_len) {
		/* Gone, but its debug file has its code's addresses. */
		int dfd = debuginfo__find_debug(d, f->path, f->path, f->build_id, f->build_id_len,
						NULL, 0, &m->main_path);

		if (dfd >= 0) {
			fd = dfd;
			m->stand_in = true;
		}
	}
	if (fd < 0) {
		free(m);
		return fd;
	}
	err = -ENOMEM;
	m->dwfl = dwfl_begin(&callbacks);
	if (!m->dwfl) {
		close(fd);
		goto fail;
	}
	dwfl_report_begin(m->dwfl);
	m->mod = dwfl_report_elf(m->dwfl, name, m->main_path, fd, 0, false);
	dwfl_report_end(m->dwfl, NULL, NULL);
	if (!m->mod) {
		close(fd);
		snprintf(note, notelen, "%s is not an ELF file libdw can read: %s", m->main_path,
			 dwfl_errmsg(-1));
		err = -ENOEXEC;
		goto fail;
	}
	dwfl_module_info(m->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
	*userdata = m;
	elf = dwfl_module_getelf(m->mod, &bias);
	err = elf ? read_segments(m, elf) : -ENOEXEC;
	if (err) {
		snprintf(note, notelen, "%s: cannot read its program headers", m->main_path);
		goto fail;
	}
	/* A stand-in's DWARF is in the file itself; a binary's may be elsewhere. */
	load_dwarf(m, elf, note, notelen);
	if (m->stand_in && !note[0])
		snprintf(note, notelen, "the file is gone: read from its debug file %s",
			 m->main_path);
	*found = strdup(m->main_path);
	*out = m;
	return 0;
fail:
	sym_dwarf__close(m);
	return err;
}

void sym_dwarf__close(struct sym_dwarf *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->ncus; i++) {
		free(m->cus[i].fns);
		free(m->cus[i].ranges);
	}
	free(m->cus);
	u64map__free(&m->cu_by_offset);
	free(m->syms);
	if (m->dwfl)
		dwfl_end(m->dwfl);
	free(m->segs);
	free(m->main_path);
	free(m->debug_path);
	free(m->alt_name);
	free(m);
}

/* ------------------------------------------------------------------ symbols */

static int cmp_symbol(const void *a, const void *b)
{
	const struct symbol *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->rank - y->rank;
}

/*
 * The file's function symbols (its own tables, or its debug file's), sorted
 * once: libdwfl's dwfl_module_addrinfo searches them all for every address.
 */
static void read_symbols(struct sym_dwarf *m)
{
	int n = dwfl_module_getsymtab(m->mod);
	size_t cap = 0;

	m->syms_read = true;
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(m->mod, i, &sym, &addr, NULL, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		struct symbol *syms;

		if (!name || !*name || sym.st_shndx == SHN_UNDEF ||
		    (type != STT_FUNC && type != STT_GNU_IFUNC))
			continue;
		syms = grow_array(m->syms, &cap, m->nsyms + 1, sizeof(*syms));
		if (!syms)
			break;
		m->syms = syms;
		/* Exported names first, then names without a leading underscore. */
		syms[m->nsyms++] = (struct symbol){ addr, sym.st_size, name,
						    (GELF_ST_BIND(sym.st_info) == STB_LOCAL ? 2 : 0) +
						    (name[0] == '_') };
	}
	if (m->nsyms)
		qsort(m->syms, m->nsyms, sizeof(*m->syms), cmp_symbol);
}

/* The symbol whose function holds pc (a sizeless one only when nothing else does). */
static const struct symbol *symbol_at(struct sym_dwarf *m, uint64_t pc)
{
	size_t lo = 0, hi;
	const struct symbol *best;

	if (!m->syms_read)
		read_symbols(m);
	hi = m->nsyms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->syms[mid].addr <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	best = &m->syms[lo - 1];
	while (best > m->syms && best[-1].addr == best->addr)
		best--;
	for (const struct symbol *p = best; p < m->syms + m->nsyms && p->addr == best->addr; p++)
		if (pc < p->addr + p->size)
			return p;
	return best->size ? NULL : best;
}

/* ------------------------------------------------------------- DIE indexes */

static int cmp_range(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	return x->low < y->low ? -1 : x->low > y->low;
}

/* Collects the functions under die; depth is the DIE tree's, bounded. */
static void index_walk(struct cu_index *x, Dwarf_Die *die, int32_t parent, unsigned depth)
{
	Dwarf_Die child;

	if (depth > DIE_DEPTH_MAX || dwarf_child(die, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child);
		int32_t me = parent;

		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			Dwarf_Addr base, low, high;
			ptrdiff_t off = 0;
			struct cu_fn *fns = grow_array(x->fns, &x->fns_cap, x->nfns + 1, sizeof(*fns));

			if (!fns)
				return;
			x->fns = fns;
			me = x->nfns++;
			/* Depth counts functions: one deeper than the function around it. */
			fns[me] = (struct cu_fn){ child, parent,
						  parent < 0 ? 0 : fns[parent].depth + 1,
						  tag == DW_TAG_inlined_subroutine };
			while ((off = dwarf_ranges(&child, off, &base, &low, &high)) > 0) {
				struct cu_range *r = grow_array(x->ranges, &x->ranges_cap,
								x->nranges + 1, sizeof(*r));

				if (!r)
					return;
				x->ranges = r;
				if (high > low)
					r[x->nranges++] = (struct cu_range){ low, high, me };
			}
		}
		if (dwarf_haschildren(&child))
			index_walk(x, &child, me, depth + 1);
	} while (dwarf_siblingof(&child, &child) == 0);
}

static struct cu_index *cu_index_of(struct sym_dwarf *m, Dwarf_Die *cu)
{
	uint64_t key = dwarf_dieoffset(cu), *v = u64map__get(&m->cu_by_offset, key);
	struct cu_index *x;

	if (v)
		return &m->cus[*v - 1];
	x = grow_array(m->cus, &m->cus_cap, m->ncus + 1, sizeof(*x));
	if (!x || u64map__put(&m->cu_by_offset, key, m->ncus + 1))
		return NULL;
	m->cus = x;
	x = &m->cus[m->ncus++];
	memset(x, 0, sizeof(*x));
	x->cu = *cu;
	if (dwarf_getsrcfiles(cu, &x->files, &x->nfiles))
		x->files = NULL;
	index_walk(x, cu, -1, 0);
	if (x->nranges)
		qsort(x->ranges, x->nranges, sizeof(*x->ranges), cmp_range);
	return x;
}

/* The innermost function or inlined call at pc: the deepest range holding it. */
static const struct cu_fn *innermost(const struct cu_index *x, uint64_t pc)
{
	size_t lo = 0, hi = x->nranges;
	const struct cu_fn *best = NULL;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (x->ranges[mid].low <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Back from the last range starting at or below pc, to its function's start. */
	while (lo-- > 0) {
		const struct cu_range *r = &x->ranges[lo];
		const struct cu_fn *f = &x->fns[r->fn];

		if (pc >= r->high)
			continue;
		if (!best || f->depth > best->depth)
			best = f;
		if (f->parent < 0)
			break;
	}
	return best;
}

/* ------------------------------------------------------------------- lookup */
/* A function DIE's name: its linkage name demangled, else its own name. */
static const char *die_name(Dwarf_Die *die, char **tofree)
{
	Dwarf_Attribute a;
	const char *linkage = NULL;

	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &a) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a))
		linkage = dwarf_formstring(&a);
	if (linkage && (*tofree = sym_demangle(linkage)))
		return *tofree;
	return dwarf_diename(die) ? dwarf_diename(die) : linkage;
}

static void call_site(const struct cu_index *x, Dwarf_Die *inlined, const char **file, int *line)
{
	Dwarf_Attribute a;
	Dwarf_Word v;

	*file = NULL;
	*line = 0;
	if (x->files && dwarf_attr(inlined, DW_AT_call_file, &a) && !dwarf_formudata(&a, &v) &&
	    v < x->nfiles)
		*file = dwarf_filesrc(x->files, v, NULL, NULL);
	if (dwarf_attr(inlined, DW_AT_call_line, &a) && !dwarf_formudata(&a, &v) && v <= INT32_MAX)
		*line = v;
}

/*
 * The innermost function at pc, then each call it was inlined at, outwards,
 * to the function the code belongs to: its source line from the line table,
 * theirs from the inlined calls' call sites.
 */
static int dwarf_frames(struct sym_dwarf *m, Dwarf_Addr pc, const char *symbol, uint64_t symoff,
			sym_dwarf_emit emit, void *ctx)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(m->mod, pc, &bias);
	Dwfl_Line *ln = dwfl_module_getsrc(m->mod, pc);
	const struct cu_index *x;
	const struct cu_fn *fn;
	const char *file = NULL;
	int line = 0, emitted = 0;

	if (!cu || !(x = cu_index_of(m, cu)))
		return 0;
	if (ln)
		file = dwfl_lineinfo(ln, NULL, &line, NULL, NULL, NULL);
	fn = innermost(x, pc - bias);
	if (!fn) {
		/* Code the debug information has lines for but no function: the symbol's name. */
		char *dm = sym_demangle(symbol);

		if (!symbol && !file)
			return 0;
		emit(ctx, dm ? dm : symbol, file, line > 0 ? line : 0, false, symoff);
		free(dm);
		return 1;
	}
	for (int depth = 0; depth < INLINE_MAX; depth++) {
		Dwarf_Die die = fn->die;
		char *tofree = NULL;
		const char *name = die_name(&die, &tofree);
		bool inlined = fn->inlined && fn->parent >= 0;

		/* The function the code belongs to (or the outermost known) ends the chain. */
		emit(ctx, name, file, line > 0 ? line : 0, inlined, inlined ? 0 : symoff);
		free(tofree);
		emitted++;
		if (!inlined)
			break;
		call_site(x, &die, &file, &line);
		fn = &x->fns[fn->parent];
	}
	return emitted;
}

int sym_dwarf__lookup(struct sym_dwarf *m, uint64_t offset, sym_dwarf_emit emit, void *ctx)
{
	uint64_t vaddr, symoff = 0;
	const struct symbol *sym;
	const char *symbol;
	Dwarf_Addr pc;
	char *dm;
	int n;

	if (!to_vaddr(m, offset, &vaddr) || !vaddr)
		return 0;
	/* A return address: the call is the instruction before it. */
	pc = vaddr - 1;
	sym = symbol_at(m, pc);
	symbol = sym ? sym->name : NULL;
	if (sym)
		symoff = vaddr - sym->addr;
	if (m->use_dwarf && (n = dwarf_frames(m, pc, symbol, symoff, emit, ctx)) > 0)
		return n;
	if (!symbol)
		return 0;
	dm = sym_demangle(symbol);
	emit(ctx, dm ? dm : symbol, NULL, 0, false, symoff);
	free(dm);
	return 1;
}

/*
 * One recorded file's symbols and debug information, through libdwfl: file
 * offsets to functions, source lines and inlined calls. Files come from
 * debuginfo.h; libdw is never left to open a file by a name it read in one
 * (a supplementary dwz file is found here, and split DWARF, whose .dwo
 * files libdw would open blindly, is not read: names then come from the
 * symbol table).
 */
#ifndef BPFTAPE_SYM_DWARF_H
#define BPFTAPE_SYM_DWARF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct debuginfo;
struct sym_dwarf;

/* What the file's mappings said about it. */
struct sym_dwarf_file {
	const char *path;	/* as the process saw it */
	const uint8_t *build_id;
	size_t build_id_len;
	uint64_t exec_map_offset;	/* file offset of its executable mapping (page-aligned) */
	uint32_t page_size;		/* the traced machine's; 0: 4096 */
};

/*
 * Finds and opens the file (or, when it is gone, its separate debug file
 * found by build ID, which has the same addresses). Returns 0 with *found
 * naming the file read and, in note, a sentence when only part of its
 * information can be used; or a negative errno with the reason in note.
 */
int sym_dwarf__open(struct sym_dwarf **out, struct debuginfo *d, const struct sym_dwarf_file *f,
		    char **found, char *note, size_t notelen);
void sym_dwarf__close(struct sym_dwarf *m);

/* Called for each function at an address, innermost first; strings are transient. */
typedef void (*sym_dwarf_emit)(void *ctx, const char *function, const char *file, unsigned line,
			       bool inlined, uint64_t symbol_offset);

/*
 * The functions at a return address (at this file offset): the call it
 * returns from is looked up. Returns how many were emitted (0: none known).
 */
int sym_dwarf__lookup(struct sym_dwarf *m, uint64_t offset, sym_dwarf_emit emit, void *ctx);

/* A demangled C++ or Rust name (malloc'd), or NULL when name is not mangled. */
char *sym_demangle(const char *name);

#endif

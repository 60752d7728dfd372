/*
 * What bpftape reads from ELF files, through libelf: function symbols (the
 * recorder's probe points, the tools' names for callers), the GNU build ID,
 * and the mapping between file offsets and virtual addresses.
 */
#ifndef BPFTAPE_ELF_FILE_H
#define BPFTAPE_ELF_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUILD_ID_MAX 64

struct elf_file;

struct elf_func {
	const char *name;	/* without a symbol version */
	uint64_t vaddr;
	uint64_t size;
	bool ifunc;		/* an IFUNC resolver, not the function itself */
	bool dynamic;		/* from .dynsym (exported) rather than .symtab */
	bool default_version;	/* unversioned, or the default (@@) version */
};

/* On failure returns a negative errno and a sentence in msg. */
int elf_file__open(struct elf_file **out, const char *path, char *msg, size_t msglen);
/* The same from an open fd (duplicated: the caller keeps its own); path is for messages. */
int elf_file__open_fd(struct elf_file **out, int fd, const char *path, char *msg, size_t msglen);
/* Is it an ELF object for this machine (class and architecture)? */
bool elf_file__native(const struct elf_file *f);
/*
 * Calls fn for each DT_NEEDED (tag 'N'), DT_RPATH ('R') and DT_RUNPATH ('U')
 * string of the dynamic section, in order; stops when fn returns non-zero.
 */
int elf_file__each_dynamic(struct elf_file *f, int (*fn)(char tag, const char *s, void *ctx),
			   void *ctx);

void elf_file__close(struct elf_file *f);
/* The GNU build ID; *len is 0 when the file has none. */
void elf_file__build_id(const struct elf_file *f, uint8_t *id, size_t *len);
/* Calls fn for each function symbol (.symtab and .dynsym); stops when fn returns non-zero. */
int elf_file__each_func(struct elf_file *f, int (*fn)(const struct elf_func *fn_, void *ctx),
			void *ctx);
/* File offset of a virtual address (uprobes take offsets), or -1 when not in a segment. */
int64_t elf_file__vaddr_to_offset(const struct elf_file *f, uint64_t vaddr);
/* Virtual address of a file offset in an executable segment, or -1. */
int64_t elf_file__offset_to_vaddr(const struct elf_file *f, uint64_t offset);

/* The program interpreter (PT_INTERP) into buf; false for a static executable. */
bool elf_file__interp(const struct elf_file *f, char *buf, size_t len);

/* Hex text of a build ID. */
void build_id_hex(const uint8_t *id, size_t len, char *out, size_t outlen);

#endif

/*
 * Offline symbolisation of a tape's addresses, on any machine: the tape's
 * map records say which file (path and build ID) an address fell in and at
 * which offset; libdw (elfutils) turns a file offset into functions, source
 * files and lines, inlined calls expanded, C++ and Rust names demangled.
 * Files are found as debuginfo.h says (recorded path, --symfs, build-ID
 * directories, debuginfod). A file that cannot be found, or has another
 * build ID than the recorded one, is named once on stderr, and its
 * addresses are shown as file+offset with the build ID: never dropped,
 * never given a wrong name.
 *
 * Memory is bounded: a few files are open at a time (the least recently
 * used is closed), and resolved addresses are cached up to a bound.
 */
#ifndef BPFTAPE_SYMBOLIZE_H
#define BPFTAPE_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tape.h"

struct symbolizer_opts {
	const char *symfs;		/* root under which the recorded paths are looked up */
	const char *const *debug_dirs;	/* build-ID directories searched first (--debug-dir) */
	size_t ndebug_dirs;
	bool no_debuginfod;		/* never ask DEBUGINFOD_URLS's servers */
	uint32_t page_size;		/* the traced machine's (the tape's header); 0: 4096 */
};

struct symbolizer;

struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts);
void symbolizer__free(struct symbolizer *s);
/* Learns from map, fork, exec and exit records; ignores the rest. */
void symbolizer__update(struct symbolizer *s, const struct tape_event *ev);

#define SYM_NO_MODULE UINT32_MAX

/* Where an address lies, independent of the process: a file and an offset in it. */
struct sym_loc {
	uint32_t module;	/* SYM_NO_MODULE: in no mapping the tape knows */
	uint64_t offset;	/* in the file; the address itself without a module */
};

/*
 * The file and offset of addr in process pid, with the maps known now. A
 * location of SYM_NO_MODULE (offset = addr) when no map record covers it.
 */
struct sym_loc symbolizer__locate(struct symbolizer *s, uint32_t pid, uint64_t addr);

/* A recorded file, as the tools name it. */
struct sym_module_info {
	const char *path;	/* as the process saw it */
	const char *name;	/* its last component */
	const uint8_t *build_id;
	size_t build_id_len;
	const char *found;	/* the file read for it, once looked for; NULL: not found */
	bool looked;		/* looked for yet */
};

const struct sym_module_info *symbolizer__module(struct symbolizer *s, uint32_t module);

/*
 * One source-level frame of an address. Inlined calls make one address several
 * frames; the innermost comes first and is marked inlined into the next one.
 * Strings are owned by the symbolizer and live until symbolizer__free.
 */
struct sym_frame {
	const char *module;	/* the file's path as recorded */
	const uint8_t *build_id;	/* as recorded; build_id_len 0 when none */
	size_t build_id_len;
	uint64_t offset;	/* of the address in the file */
	const char *function;	/* demangled; NULL when unknown */
	uint64_t function_offset;	/* of the address from the function's start (last frame) */
	const char *file;	/* source file; NULL when unknown */
	uint32_t line;		/* 0 when unknown */
	bool inlined;		/* inlined into the next frame's function, which called it
				   at that frame's file and line */
};

/*
 * Fills up to max frames for addr, innermost first; 0 when no map holds
 * addr. A mapped address has at least one frame (function NULL when nothing
 * names it). Addresses are return addresses: the call instruction before
 * one is what is looked up.
 */
#define SYM_INLINE_MAX 64	/* frames one address can have at most */

int symbolizer__frames(struct symbolizer *s, uint32_t pid, uint64_t addr, struct sym_frame *out,
		       int max);
/* The same for a location (symbolizer__locate), whatever process it came from. */
int symbolizer__frames_at(struct symbolizer *s, const struct sym_loc *loc, struct sym_frame *out,
			  int max);

/* "fn+0x14 (file)", "file+0x1234" or false when no map holds addr: one caller, as before. */
bool symbolizer__describe(struct symbolizer *s, uint32_t pid, uint64_t addr, char *buf,
			  size_t len);

#endif

/*
 * Offline symbolisation of caller addresses: the tape's memory-map records
 * say which file an address fell in; the file's ELF symbols name it. A file
 * that is missing or has another build ID than the recorded one is named
 * once, and its addresses are shown as file+offset, never as a wrong name.
 */
#ifndef BPFTAPE_SYMBOLIZE_H
#define BPFTAPE_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tape.h"

struct symbolizer;

/* symfs: a directory under which the recorded paths are looked up (may be NULL). */
struct symbolizer *symbolizer__new(const char *symfs);
void symbolizer__free(struct symbolizer *s);
/* Learns from map, fork and exec records; ignores the rest. */
void symbolizer__update(struct symbolizer *s, const struct tape_event *ev);
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
	const char *function;	/* NULL when unknown */
	uint64_t function_offset;	/* of the address from the function's start */
	const char *file;	/* source file; NULL when unknown */
	uint32_t line;		/* 0 when unknown */
	bool inlined;
};

/* Fills up to max frames for addr, innermost first; 0 when no map holds addr. */
int symbolizer__frames(struct symbolizer *s, uint32_t pid, uint64_t addr, struct sym_frame *out,
		       int max);
/* Writes "fn+0x14 (file)" or "file+0x1234"; false when no map holds addr. */
bool symbolizer__describe(struct symbolizer *s, uint32_t pid, uint64_t addr, char *buf,
			  size_t len);

#endif

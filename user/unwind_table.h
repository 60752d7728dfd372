/*
 * Unwind tables for the BPF stack walker (bpf/unwind.h): what .eh_frame
 * says about each address of a file's code, reduced to the rules a walker
 * of x86-64 code compiled without frame pointers needs (CFA from rsp or
 * rbp, return address at CFA - 8, rbp saved on the stack or not). libdw
 * interprets the call frame information; this only asks it, range by range,
 * from each function's start (.eh_frame_hdr lists them).
 */
#ifndef BPFTAPE_UNWIND_TABLE_H
#define BPFTAPE_UNWIND_TABLE_H

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/unwind.h"

struct unwind_table {
	struct unwind_row *rows;
	size_t n;
	uint64_t text_vaddr;	/* the executable segment */
	uint64_t text_offset;
};

/*
 * Builds the table of the ELF file open at fd (not closed), at most max_rows
 * rows. Returns 0, -ENOENT when the file has no usable call frame
 * information, or another negative errno, with msg.
 */
int unwind_table__build(struct unwind_table *t, int fd, size_t max_rows, char *msg,
			size_t msglen);
void unwind_table__free(struct unwind_table *t);

#endif

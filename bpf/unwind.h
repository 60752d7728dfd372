/*
 * Call stacks without frame pointers: unwind tables, built in user space
 * from each probed process's files' .eh_frame (user/unwind_table.c), and
 * walked in BPF at the allocator call (bpf/unwind.bpf.h). Shared by both
 * sides. Include bpf/record.h first.
 *
 * A table is a file's rows, sorted by address: from a row's pc to the next
 * row's, the canonical frame address (CFA) is rsp or rbp plus cfa_off, the
 * return address is at CFA - 8 (x86-64), and rbp was saved at CFA +
 * 8 * rbp_off8, or is unchanged when rbp_off8 is 0.
 */
#ifndef BPFTAPE_BPF_UNWIND_H
#define BPFTAPE_BPF_UNWIND_H

#define UNWIND_CFA_RBP 1	/* the CFA is rbp + cfa_off (else rsp + cfa_off) */
#define UNWIND_STOP 2		/* no rule here that the unwinder follows: stop */

struct unwind_row {
	__u32 pc;		/* virtual address in the file, as linked */
	__s16 cfa_off;
	__s8 rbp_off8;
	__u8 flags;		/* UNWIND_* */
};

/* Where a file's rows are, by the file's inode (as the kernel maps it). */
struct unwind_file {
	__u32 first;		/* index of its first row in unwind_rows */
	__u32 count;
	__u64 text_vaddr;	/* its executable segment: virtual address ... */
	__u64 text_offset;	/* ... and file offset (vaddr = offset + vaddr - text_offset) */
};

#define UNWIND_MAX_DEPTH 64

#endif

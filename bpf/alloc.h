/*
 * Allocator calls: the records alloc.bpf.c puts in the ring buffer, shared
 * with user/drain.c. Include bpf/record.h and bpf/unwind.h first.
 */
#ifndef BPFTAPE_BPF_ALLOC_H
#define BPFTAPE_BPF_ALLOC_H

/*
 * An allocation, written when it returns. args are the function's first
 * three arguments as passed: (size), (nmemb, size), (ptr, size),
 * (ptr, nmemb, size), (memptr, align, size), (align, size).
 */
struct alloc_rec {
	struct rec_hdr hdr;	/* kind: EV_MALLOC .. EV_PVALLOC, EV_NEW; flags: ALLOC_V_* */
	__u64 args[3];
	__u64 result;		/* returned pointer; posix_memalign: *memptr when ret is 0 */
	__u64 caller;		/* return address, read from the stack at entry */
	__s64 ret;		/* the raw return register (posix_memalign's error code) */
	__u64 stack;		/* the call stack's hash (a stack_rec came first); 0: none */
};

/*
 * A free, written when it is entered, before the block is given back. args
 * are the second and third arguments: operator delete's size and alignment
 * (hdr.flags says which it takes).
 */
struct free_rec {
	struct rec_hdr hdr;	/* kind: EV_FREE, EV_DELETE */
	__u64 ptr;
	__u64 caller;
	__u64 args[2];
	__u64 stack;		/* as in alloc_rec */
};

/*
 * A call stack's frames, innermost first (the caller's return address),
 * the first time process pid shows a stack with this hash: later records
 * carry the hash only. Only nframes frames are sent.
 */
struct stack_rec {
	struct rec_hdr hdr;	/* kind EV_STACK */
	__u64 hash;
	__u32 nframes;
	__u32 flags;		/* STACK_F_* */
	__u64 frames[UNWIND_MAX_DEPTH];
};

/* How a walk ended, when not at the outermost frame; the tape's stack flags. */
#define STACK_F_CUT 1		/* at the depth asked for: outer frames not taken */
#define STACK_F_PARTIAL 2	/* at a frame it could not unwind */

#define STACK_REC_FIXED 40	/* offsetof(struct stack_rec, frames) */

#define VMA_NAME_MAX 48

/*
 * The file mapping a caller address falls in, the first time a process's
 * call comes from it: so that callers can be symbolised even when the
 * process is gone before /proc/PID/maps could be read. User space turns the
 * inode into a path.
 */
struct vma_rec {
	struct rec_hdr hdr;	/* kind EV_VMA */
	__u64 start;
	__u64 end;
	__u64 offset;		/* in the file, bytes */
	__u64 ino;
	__u32 dev;		/* the kernel's encoding: major << 20 | minor */
	__u32 pad;
	char name[VMA_NAME_MAX];	/* the file's name, without its directory */
};

#endif

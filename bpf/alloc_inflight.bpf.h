/*
 * Per-thread allocator state, in task-local storage (freed with the task,
 * no capacity to run out of, one pointer lookup): the call in progress,
 * written at entry by alloc.bpf.c and sent at its return, the last free the
 * program made, and what stack walks keep. Include common.bpf.h and
 * unwind.bpf.h first.
 */
#ifndef BPFTAPE_ALLOC_INFLIGHT_BPF_H
#define BPFTAPE_ALLOC_INFLIGHT_BPF_H

struct alloc_call {
	__u64 args[3];
	__u64 sp;
	__u64 caller;
	__u64 entry_ts;
	__u64 stack;		/* its stack's hash, taken at entry */
	__u32 kind;
	__u32 flags;		/* ALLOC_V_* */
	__u32 depth;		/* nested calls entered and not yet returned */
	__u32 active;		/* a call is in progress */
};

#define FREE_NEST 4	/* free -> wrapper's free -> the next free ... */
#define STACKS_SENT 128	/* a power of two */

struct alloc_thread {
	struct alloc_call call;
	/*
	 * The last free the program itself made, and the frees found nested
	 * in it: a free entered below its stack pointer, from the allocator
	 * functions of a file one of them is in, is that chain's own (a
	 * wrapper library calling the next free; operator delete calling
	 * free), not the program's. Frees have no return probe, so this is
	 * how they nest.
	 */
	__u64 free_sp;
	__u64 free_caller;	/* its return address, at free_sp while it runs */
	__u64 free_ts;
	__u32 free_depth;	/* functions in the chain */
	__u32 pad;
	__u64 free_ip[FREE_NEST];
	__u64 free_lo[FREE_NEST];	/* each one's file's allocator functions */
	__u64 free_hi[FREE_NEST];
	/* Call stacks (unwind.bpf.h): this thread's view of the mappings ... */
	struct unwind_vmas vmas;
	/* ... the stacks it knows user space has, by hash (direct-mapped) ... */
	__u64 sent[STACKS_SENT];
	/* ... what makes its process's hashes its own: its start time ... */
	__u64 stack_seed;
	/* ... all of it about this address space: an exec makes another. */
	__u64 stack_mm;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct alloc_thread);
} alloc_threads SEC(".maps") __weak;

static __always_inline struct alloc_thread *alloc_thread(bool create)
{
	return bpf_task_storage_get(&alloc_threads, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

#endif

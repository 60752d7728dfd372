/*
 * Allocator calls in progress, one entry per thread: written by alloc.bpf.c,
 * and dropped by proc.bpf.c when the thread exits. Include common.bpf.h first.
 */
#ifndef BPFTAPE_ALLOC_INFLIGHT_BPF_H
#define BPFTAPE_ALLOC_INFLIGHT_BPF_H

struct alloc_inflight {
	__u64 args[3];
	__u64 sp;
	__u64 caller;
	__u64 entry_ts;
	__u32 kind;
	__u32 depth;		/* nested calls entered and not yet returned */
};

/* Keyed by thread: arguments kept per thread, never per process. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct alloc_inflight);
} alloc_inflight SEC(".maps") __weak;

#endif

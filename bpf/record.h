/*
 * What every BPF program of the recorder shares with user space: the header
 * of each ring-buffer record, event kinds, loss accounting and the read-only
 * configuration. Included by the BPF programs and by user/; fixed-width types
 * only, explicit padding, no includes (the includer provides __u8..__u64).
 * user/record_abi.c checks sizes and offsets at compile time.
 */
#ifndef BPFTAPE_BPF_RECORD_H
#define BPFTAPE_BPF_RECORD_H

/*
 * Event kinds. They are the tape's own type numbers (replay/tape.h), so that
 * records pass to the tape untranslated; user/record_abi.c asserts each one.
 */
#define EV_MALLOC 1
#define EV_CALLOC 2
#define EV_REALLOC 3
#define EV_REALLOCARRAY 4
#define EV_POSIX_MEMALIGN 5
#define EV_ALIGNED_ALLOC 6
#define EV_MEMALIGN 7
#define EV_VALLOC 8
#define EV_PVALLOC 9
#define EV_FREE 10
#define EV_NEW 11		/* C++ operator new, new[] and their variants (hdr.flags) */
#define EV_DELETE 12		/* C++ operator delete, delete[] and their variants */
#define EV_SYSCALL 16
#define EV_FORK 20
#define EV_EXEC 21
#define EV_EXIT 22
#define EV_COMM 23
#define EV_VMA 24		/* a caller's mapping: user space makes it a tape map record */
#define EV_STACK 25		/* a call stack's frames, the first time a process shows it */
#define EV_KINDS 32		/* kinds are below this */

/* Every record in the ring buffer starts with this. */
struct rec_hdr {
	__u8 kind;		/* EV_* */
	__u8 flags;		/* per kind */
	__u16 size;		/* bytes of the whole record */
	__u32 pid;		/* thread group */
	__u32 tid;
	__u32 cpu;		/* where it was recorded (sharded buffers merge by ts) */
	__u64 ts;		/* bpf_ktime_get_ns(): when the event took effect */
};

/*
 * Losses counted in BPF, per CPU, in a per-CPU array indexed by
 * reason * EV_KINDS + kind. User space turns increases into loss records.
 */
#define LOSS_RINGBUF 0		/* bpf_ringbuf_reserve/output failed: buffer full */
#define LOSS_INFLIGHT 1		/* no room in a per-thread map of calls in progress */
#define LOSS_NO_RETURN 2	/* a call whose return was never seen (stale entry replaced) */
#define LOSS_UNKNOWN_PROBE 3	/* a probe hit whose function could not be identified */
#define LOSS_REASONS 4

struct loss_count {
	__u64 count;
	__u64 last_ts;
};

#define COMM_SIZE 16
#define SYSCALL_SLOTS 512	/* syscall numbers the filter and path table cover */

/*
 * C++ variants, in rec_hdr.flags of EV_NEW and EV_DELETE records and in
 * probe_info.flags: which arguments the function takes after the first.
 */
#define ALLOC_V_ARRAY 1		/* new[] / delete[] */
#define ALLOC_V_NOTHROW 2	/* takes a std::nothrow_t (returns NULL instead of throwing) */
#define ALLOC_V_ALIGNED 4	/* takes a std::align_val_t */
#define ALLOC_V_SIZED 8		/* delete takes the block's size */

/*
 * One probed function. User space fills probe_table (indexed by probe ID)
 * and probe_index (by file and offset) before attaching; the entry program
 * finds its probe from the attach cookie (ID + 1) or, where one event holds
 * many probes and cookies cannot tell them apart, from the address hit.
 */
struct probe_info {
	__u32 kind;		/* EV_MALLOC .. EV_DELETE */
	__u32 flags;		/* ALLOC_V_* */
	/* The file's allocator functions around this one, in bytes: calls from there are its own. */
	__u32 alloc_below;
	__u32 alloc_above;
};

/* A probe by file (the inode as the kernel maps it) and the function's file offset. */
struct probe_key {
	__u64 ino;
	__u64 offset;
};

#define MAX_PROBES 4096

/*
 * Shared mutable state, one entry, written by user space: allocator probes
 * record nothing until `armed`, so that every function of every target
 * starts (and, cleared, stops) at one instant, whatever order the probes
 * were attached in.
 */
struct record_state {
	__u32 armed;
	__u32 pad;
};

/* Read-only configuration, set by user space before the programs load. */
struct record_config {
	__u32 self_tgid;	/* the recorder: never traced */
	__u32 helper_tgid;	/* the recorder's probe host: never traced */
	__u32 filter_pids;	/* only processes in traced_pids */
	__u32 follow;		/* children of traced processes join traced_pids */
	__u32 filter_uid;
	__u32 uid;
	__u32 filter_cgroup;
	__u32 pad;
	__u64 cgroup_id;
	__u32 filter_comm;
	char comm[COMM_SIZE];
	__u32 nshards;		/* 0: one ring buffer (events); else shards[cpu % nshards] */
	__u32 wakeup_bytes;	/* wake user space once this much is waiting; 0: every record */
	__u32 trace_alloc;
	__u32 trace_syscalls;
	__u32 syscall_other;	/* trace syscall numbers >= SYSCALL_SLOTS */
	__s32 nr_exit;		/* syscalls that never return, written at entry */
	__s32 nr_exit_group;
	__u32 stack_depth;	/* frames of each allocator call's stack; 0: no stacks */
	__u32 pad1;
	__u64 syscall_bits[SYSCALL_SLOTS / 64];
	__u64 syscall_stack_bits[SYSCALL_SLOTS / 64];	/* syscalls whose stacks are taken */
	__s8 path_arg[SYSCALL_SLOTS];	/* argument holding a path, -1 for none */
};

#endif

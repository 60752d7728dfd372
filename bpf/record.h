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
#define EV_SYSCALL 16
#define EV_FORK 20
#define EV_EXEC 21
#define EV_EXIT 22
#define EV_COMM 23
#define EV_VMA 24		/* a caller's mapping: user space makes it a tape map record */
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
#define LOSS_REASONS 3

struct loss_count {
	__u64 count;
	__u64 last_ts;
};

#define COMM_SIZE 16
#define SYSCALL_SLOTS 512	/* syscall numbers the filter and path table cover */

/* Read-only configuration, set by user space before the programs load. */
struct record_config {
	__u32 self_tgid;	/* the recorder: never traced */
	__u32 filter_pids;	/* only processes in traced_pids */
	__u32 follow;		/* children of traced processes join traced_pids */
	__u32 filter_uid;
	__u32 uid;
	__u32 filter_cgroup;
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
	__u64 syscall_bits[SYSCALL_SLOTS / 64];
	__s8 path_arg[SYSCALL_SLOTS];	/* argument holding a path, -1 for none */
};

#endif

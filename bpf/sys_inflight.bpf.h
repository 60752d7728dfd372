/*
 * Syscalls in progress, one entry per thread: written by sys.bpf.c, and by
 * proc.bpf.c for the calls a thread never returns from (it died, or exec
 * changed its thread ID). Include common.bpf.h and sys.h first.
 */
#ifndef BPFTAPE_SYS_INFLIGHT_BPF_H
#define BPFTAPE_SYS_INFLIGHT_BPF_H

struct sys_inflight {
	__u32 active;		/* a call is in progress */
	__u32 pad;
	struct sys_rec rec;	/* the record being built */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct sys_inflight);
} sys_inflight SEC(".maps") __weak;

/* Sends the record with only the path bytes it holds. */
static __always_inline void sys_emit(struct sys_inflight *in)
{
	__u32 len = in->rec.path_len;

	if (len > SYS_PATH_MAX)
		len = SYS_PATH_MAX;
	in->rec.hdr.size = SYS_REC_FIXED + len;
	emit(&in->rec, SYS_REC_FIXED + len, EV_SYSCALL, in->rec.hdr.ts);
}

#endif

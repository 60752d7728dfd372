/*
 * Syscalls in progress, one per thread, in task-local storage (one pointer
 * away from the task, freed with it; a hash map by thread ID cost two
 * lookups per syscall): written by sys.bpf.c, and by proc.bpf.c for the
 * calls a thread never returns from. A thread that calls execve keeps its
 * storage as it takes the leader's ID. Include common.bpf.h and sys.h first.
 */
#ifndef BPFTAPE_SYS_INFLIGHT_BPF_H
#define BPFTAPE_SYS_INFLIGHT_BPF_H

struct sys_inflight {
	__u32 active;		/* a call is in progress */
	__u32 pad;
	struct sys_rec rec;	/* the record being built */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sys_inflight);
} sys_threads SEC(".maps") __weak;

static __always_inline struct sys_inflight *sys_thread(struct task_struct *task, bool create)
{
	return bpf_task_storage_get(&sys_threads, task, 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

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

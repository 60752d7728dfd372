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
	char path2[SYS_PATH_MAX + 2];	/* read here; moved after the first path when sent */
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

/* Sends the record with only the path bytes it holds: the first path, then the second. */
static __always_inline void sys_emit(struct sys_inflight *in)
{
	__u32 len = in->rec.path_len, len2 = in->rec.path2_len;

	if (len > SYS_PATH_MAX)
		len = SYS_PATH_MAX;
	if (len2 > SYS_PATH_MAX)
		len2 = SYS_PATH_MAX;
	if (len2 && bpf_probe_read_kernel(in->rec.path + len, len2, in->path2))
		len2 = 0;
	in->rec.path2_len = len2;
	in->rec.hdr.size = SYS_REC_FIXED + len + len2;
	emit(&in->rec, SYS_REC_FIXED + len + len2, EV_SYSCALL, in->rec.hdr.ts);
}

#endif

/*
 * Process and thread lifecycle from the scheduler's BTF-typed tracepoints:
 * fork and clone, exec, exit, thread names. Followed children join the
 * traced set here, at the moment of fork, before they run: none of their
 * syscalls is missed.
 */
#include "common.bpf.h"
#include "unwind.h"
#include "alloc.h"
#include "probes.bpf.h"
#include "proc.h"
#include "sys.h"
#include "sys_inflight.bpf.h"

/* Larger than the BPF stack allows with everything else: built here. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_rec);
} exec_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EXEC_LANE_BYTES);
} exec_lane SEC(".maps");

static __always_inline bool task_traced(struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);

	if (tgid == cfg.self_tgid || tgid == cfg.helper_tgid)
		return false;
	if (cfg.filter_pids)
		return bpf_map_lookup_elem(&traced_pids, &tgid) != NULL;
	return traced(bpf_get_current_pid_tgid());
}


static __always_inline __u64 task_id(struct task_struct *task)
{
	return (__u64)BPF_CORE_READ(task, tgid) << 32 | (__u32)BPF_CORE_READ(task, pid);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(proc_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 child_pid = BPF_CORE_READ(child, tgid), child_tid = BPF_CORE_READ(child, pid);
	__u64 now = bpf_ktime_get_ns();
	struct fork_rec r = {};
	__u8 one = 1;

	if (!task_traced(parent))
		return 0;
	fill_hdr(&r.hdr, EV_FORK, sizeof(r), task_id(parent), now);
	r.child_pid = child_pid;
	r.child_tid = child_tid;
	if (child_pid == r.hdr.pid) {
		r.flags = FORK_F_THREAD;
	} else if (cfg.filter_pids && cfg.follow) {
		/* Before the child first runs: all its syscalls are seen. */
		bpf_map_update_elem(&traced_pids, &child_pid, &one, BPF_ANY);
	} else if (cfg.filter_pids) {
		return 0;	/* not followed: the child is none of our business */
	}
	/* Not urgent: the child inherited its probes in the kernel already. */
	emit(&r, sizeof(r), EV_FORK, now);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(task, tgid), old = old_pid, zero = 0;
	__u64 now = bpf_ktime_get_ns();
	struct exec_note note = {};
	struct exec_rec *r;
	long n;

	/* The new image's addresses are all new, in every process, traced or not yet. */
	bpf_map_delete_elem(&probe_cache, &tgid);
	if (!task_traced(task))
		return 0;
	r = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!r)
		return 0;
	fill_hdr(&r->hdr, EV_EXEC, EXEC_REC_FIXED, task_id(task), now);
	r->old_tid = old;
	n = bpf_probe_read_kernel_str(r->filename, sizeof(r->filename), BPF_CORE_READ(bprm, filename));
	r->name_len = n > 0 ? n - 1 : 0;
	if (r->name_len > PROC_NAME_MAX - 1)
		r->name_len = PROC_NAME_MAX - 1;
	r->hdr.size = EXEC_REC_FIXED + r->name_len;
	emit_urgent(r, EXEC_REC_FIXED + (r->name_len & (PROC_NAME_MAX - 1)), EV_EXEC, now);
	/* Full (nobody reads it: -a, --lib): user space reads the image when it can. */
	note.pid = tgid;
	bpf_ringbuf_output(&exec_lane, &note, sizeof(note), BPF_RB_FORCE_WAKEUP);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(proc_exit, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u64 now = bpf_ktime_get_ns();
	struct sys_inflight *in;
	struct exit_rec r = {};
	bool group_dead;

	if (!task_traced(task))
		return 0;
	in = sys_thread(task, false);
	if (in && in->active) {
		/* The thread died inside a syscall: write it, marked as never returning. */
		in->active = 0;
		in->rec.hdr.flags = SYS_F_NO_RETURN;
		in->rec.duration = now - in->rec.hdr.ts;
		sys_emit(in);
	}
	/*
	 * do_exit() decrements signal->live before this tracepoint on every
	 * kernel; newer ones also pass group_dead, older ones do not.
	 */
	group_dead = BPF_CORE_READ(task, signal, live.counter) == 0;
	fill_hdr(&r.hdr, EV_EXIT, sizeof(r), task_id(task), now);
	r.code = BPF_CORE_READ(task, exit_code);
	r.flags = group_dead ? EXIT_F_PROCESS : 0;
	emit(&r, sizeof(r), EV_EXIT, now);
	if (group_dead && cfg.filter_pids)
		bpf_map_delete_elem(&traced_pids, &tgid);	/* its PID may be reused */
	return 0;
}

SEC("tp_btf/task_rename")
int BPF_PROG(proc_rename, struct task_struct *task, const char *comm)
{
	__u64 now = bpf_ktime_get_ns();
	struct comm_rec r = {};

	bpf_probe_read_kernel_str(r.comm, sizeof(r.comm), comm);
	/* With --comm, a thread taking the name is news too: user space probes it. */
	if (!task_traced(task) && !(cfg.filter_comm && !cfg.filter_pids && comm_is_filtered(r.comm)))
		return 0;
	fill_hdr(&r.hdr, EV_COMM, sizeof(r), task_id(task), now);
	emit_urgent(&r, sizeof(r), EV_COMM, now);
	return 0;
}

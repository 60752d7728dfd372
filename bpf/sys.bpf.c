/*
 * Syscalls, from the raw sys_enter/sys_exit tracepoints attached as BTF-typed
 * tracepoints (no tracefs needed). Entry and exit merge into one record in a
 * per-thread map: arguments and path at entry, result and duration at exit.
 * Calls that never return (exit, exit_group) are written at entry; a thread
 * that dies inside a call has it written by proc.bpf.c, marked as such.
 */
#include "common.bpf.h"
#include "unwind.h"
#include "alloc.h"
#include "sys.h"
#include "sys_inflight.bpf.h"
#include "unwind.bpf.h"
#include "alloc_inflight.bpf.h"
#include "stack_send.bpf.h"

static __always_inline bool syscall_selected(long nr)
{
	if (nr < 0)
		return false;
	if (nr >= SYSCALL_SLOTS)
		return cfg.syscall_other;
	return (cfg.syscall_bits[nr / 64] >> (nr % 64)) & 1;
}

static __always_inline bool stack_selected(long nr)
{
	if (!cfg.stack_depth || nr < 0 || nr >= SYSCALL_SLOTS)
		return false;
	return (cfg.syscall_stack_bits[nr / 64] >> (nr % 64)) & 1;
}

/*
 * The stack of the code that made the call (--syscall-stacks): from the
 * user registers the syscall saved, the instruction after it first. The
 * walker's per-thread state is the allocator programs' own.
 */
static __always_inline __u64 syscall_stack(struct pt_regs *regs, __u64 id, __u64 now)
{
	struct alloc_thread *t = alloc_thread(true);

	if (!t)
		return 0;
	same_image(t);
	return send_stack(unwind_from(regs->ip, regs->sp, regs->bp, id, now, &t->vmas,
				      t->stack_mm, cfg.stack_depth), t, id, now);
}

static __always_inline int path_arg_of(long nr)
{
	if (nr < 0 || nr >= SYSCALL_SLOTS)
		return -1;
	return cfg.path_arg[nr];
}

/*
 * Reads the path argument. A page that is not resident cannot be faulted in
 * here, so a failed read is retried at exit, when the kernel has read the
 * path itself and the page is in; only then is it marked unreadable.
 */
static __always_inline void read_path(struct sys_rec *r, __u64 uptr)
{
	long n;

	if (!uptr) {
		r->path_state = SYS_PATH_NONE;
		r->path_len = 0;
		return;
	}
	n = bpf_probe_read_user_str(r->path, sizeof(r->path), (void *)uptr);
	if (n <= 0) {
		r->path_state = SYS_PATH_UNREADABLE;
		r->path_len = 0;
	} else if (n - 1 > SYS_PATH_MAX) {
		r->path_state = SYS_PATH_TRUNCATED;
		r->path_len = SYS_PATH_MAX;
	} else {
		r->path_state = SYS_PATH_OK;
		r->path_len = n - 1;
	}
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long nr)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct sys_inflight *in;
	__u64 id, now;
	int path;

	if (!cfg.trace_syscalls || !syscall_selected(nr))
		return 0;
	/* Two loads from the task at hand: cheaper than a helper call for the same IDs. */
	id = (__u64)task->tgid << 32 | (__u32)task->pid;
	/*
	 * With a PID filter, a thread has storage only if it was traced when
	 * the storage was made, and a traced process stays traced until it
	 * exits: the storage alone says "traced", which saves the lookup of
	 * the process on every syscall.
	 */
	in = cfg.filter_pids ? sys_thread(task, false) : NULL;
	if (!in && !traced(id))
		return 0;
	now = bpf_ktime_get_ns();
	if (!in)
		in = sys_thread(task, true);
	if (!in) {
		count_loss(LOSS_INFLIGHT, EV_SYSCALL, now);
		return 0;
	}
	fill_hdr(&in->rec.hdr, EV_SYSCALL, SYS_REC_FIXED, id, now);
	in->rec.nr = nr;
	/*
	 * regs is a BTF pointer here: plain loads (relocated by CO-RE), not a
	 * probe-read helper call per argument, which costed more than the rest.
	 */
	in->rec.args[0] = PT_REGS_PARM1_SYSCALL(regs);
	in->rec.args[1] = PT_REGS_PARM2_SYSCALL(regs);
	in->rec.args[2] = PT_REGS_PARM3_SYSCALL(regs);
	in->rec.args[3] = PT_REGS_PARM4_SYSCALL(regs);
	in->rec.args[4] = PT_REGS_PARM5_SYSCALL(regs);
	in->rec.args[5] = regs->r9;	/* libbpf 1.1 has no PARM6 macro */
	in->rec.ret = 0;
	in->rec.duration = 0;
	in->rec.stack = stack_selected(nr) ? syscall_stack(regs, id, now) : 0;
	in->rec.path_state = SYS_PATH_NONE;
	in->rec.path_len = 0;
	path = path_arg_of(nr);
	if (path >= 0 && path < 6)
		read_path(&in->rec, in->rec.args[path]);
	if (nr == cfg.nr_exit || nr == cfg.nr_exit_group) {
		/* These never return: write them now. */
		in->rec.hdr.flags = SYS_F_NO_RETURN;
		sys_emit(in);
		return 0;
	}
	in->active = 1;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	struct sys_inflight *in = sys_thread(bpf_get_current_task_btf(), false);
	int path;

	if (!in || !in->active)
		return 0;
	in->active = 0;
	in->rec.ret = ret;
	in->rec.duration = bpf_ktime_get_ns() - in->rec.hdr.ts;
	if (in->rec.path_state == SYS_PATH_UNREADABLE) {
		path = path_arg_of(in->rec.nr);
		if (path >= 0 && path < 6)
			read_path(&in->rec, in->rec.args[path]);
	}
	sys_emit(in);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";

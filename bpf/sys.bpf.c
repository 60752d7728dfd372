/*
 * Syscalls, from the raw sys_enter/sys_exit tracepoints attached as BTF-typed
 * tracepoints (no tracefs needed). Entry and exit merge into one record in a
 * per-thread map: arguments and path at entry, result and duration at exit.
 * Calls that never return (exit, exit_group) are written at entry; a thread
 * that dies inside a call has it written by proc.bpf.c, marked as such.
 */
#include "common.bpf.h"
#include "sys.h"
#include "sys_inflight.bpf.h"

/* A zeroed value to create map entries from: too large for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sys_inflight);
} sys_zero SEC(".maps");

static __always_inline bool syscall_selected(long nr)
{
	if (nr < 0)
		return false;
	if (nr >= SYSCALL_SLOTS)
		return cfg.syscall_other;
	return (cfg.syscall_bits[nr / 64] >> (nr % 64)) & 1;
}

static __always_inline int path_arg_of(long nr)
{
	if (nr < 0 || nr >= SYSCALL_SLOTS)
		return -1;
	return cfg.path_arg[nr];
}

/* The thread's entry, created on its first syscall and reused until it exits. */
static __always_inline struct sys_inflight *inflight_for(__u32 tid)
{
	struct sys_inflight *in = bpf_map_lookup_elem(&sys_inflight, &tid);
	__u32 zero = 0;
	void *blank;

	if (in)
		return in;
	blank = bpf_map_lookup_elem(&sys_zero, &zero);
	if (!blank || bpf_map_update_elem(&sys_inflight, &tid, blank, BPF_NOEXIST))
		return NULL;
	return bpf_map_lookup_elem(&sys_inflight, &tid);
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
	__u64 id = bpf_get_current_pid_tgid(), now;
	__u32 tid = (__u32)id;
	struct sys_inflight *in;
	int path;

	if (!cfg.trace_syscalls || !syscall_selected(nr))
		return 0;
	/*
	 * With a PID filter, a thread has an entry only if it was traced when
	 * the entry was made, and every exit deletes it: the entry alone says
	 * "traced", which saves a hash lookup on every syscall.
	 */
	in = cfg.filter_pids ? bpf_map_lookup_elem(&sys_inflight, &tid) : NULL;
	if (!in && !traced(id))
		return 0;
	now = bpf_ktime_get_ns();
	if (!in)
		in = inflight_for(tid);
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
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sys_inflight *in = bpf_map_lookup_elem(&sys_inflight, &tid);
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

/*
 * Allocator calls, from uprobes on function entry and uretprobes on return.
 *
 * An allocation is written when it returns, with the arguments kept from its
 * entry in a per-thread map; a free is written when it is entered. So a block
 * freed by one thread is in the tape before another thread's allocation that
 * reuses its address (docs/FORMAT.md, "Order of events").
 *
 * Exactly one record per call the program made: calls made inside another
 * allocator call (glibc's reallocarray tail-calls realloc through the PLT; a
 * preloaded wrapper calls the real malloc) are nested, and only the outermost
 * is written. A nested call runs on the same stack, at or below the outer
 * call's stack pointer (equal for a tail call), and soon after its entry.
 */
#include "common.bpf.h"
#include "alloc.h"
#include "alloc_inflight.bpf.h"
#include "callers.bpf.h"

/*
 * A call entered more than this long after the one in progress on its
 * thread is not nested in it: that one's return was lost (it is counted).
 * Calls nested by a wrapper or a tail call follow their outer call's entry
 * within microseconds; a second is for threads descheduled in between.
 */
#define NESTED_WINDOW_NS (1000ull * 1000 * 1000)

/* Is a call at stack pointer sp, now, nested in the call in progress? */
static __always_inline bool nested_in(const struct alloc_inflight *cur, __u64 sp, __u64 now)
{
	return sp <= cur->sp && now - cur->entry_ts < NESTED_WINDOW_NS;
}

/* Does caller lie in the allocator's own code, around the probed function? */
static __always_inline bool internal_call(struct pt_regs *ctx, __u64 caller)
{
	__u64 cookie, ip;

	/* Attach cookies for uprobes came with Linux 5.15: older ones do without. */
	if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_attach_cookie))
		return false;
	cookie = bpf_get_attach_cookie(ctx);
	ip = PT_REGS_IP(ctx);
	return cookie && caller >= ip - (cookie >> 32) && caller < ip + (__u32)cookie;
}

static __always_inline int alloc_enter(struct pt_regs *ctx, __u32 kind)
{
	__u64 id = bpf_get_current_pid_tgid(), sp = PT_REGS_SP(ctx), now;
	__u32 tid = (__u32)id;
	struct alloc_inflight *cur, v = {};
	bool internal;

	if (!traced(id))
		return 0;
	now = bpf_ktime_get_ns();
	/* At the first instruction the return address is on top of the stack. */
	bpf_probe_read_user(&v.caller, sizeof(v.caller), (void *)sp);
	internal = internal_call(ctx, v.caller);
	cur = bpf_map_lookup_elem(&alloc_inflight, &tid);
	if (cur) {
		/* An internal call below a call in progress is nested, however late. */
		if (sp <= cur->sp && (internal || nested_in(cur, sp, now))) {
			cur->depth++;
			return 0;
		}
		/* Not nested: its return was lost. Its entry must not take ours. */
		count_loss(LOSS_NO_RETURN, cur->kind, now);
		bpf_map_delete_elem(&alloc_inflight, &tid);
	}
	if (internal)
		return 0;	/* its return finds no entry and is ignored */
	note_caller(id, v.caller, now);
	v.args[0] = PT_REGS_PARM1(ctx);
	v.args[1] = PT_REGS_PARM2(ctx);
	v.args[2] = PT_REGS_PARM3(ctx);
	v.sp = sp;
	v.entry_ts = now;
	v.kind = kind;
	if (bpf_map_update_elem(&alloc_inflight, &tid, &v, BPF_ANY))
		count_loss(LOSS_INFLIGHT, kind, now);
	return 0;
}

SEC("uprobe")
int malloc_enter(struct pt_regs *ctx)
{
	return alloc_enter(ctx, EV_MALLOC);
}

SEC("uprobe")
int calloc_enter(struct pt_regs *ctx)
{
	return alloc_enter(ctx, EV_CALLOC);
}

SEC("uprobe")
int realloc_enter(struct pt_regs *ctx)
{
	return alloc_enter(ctx, EV_REALLOC);
}

SEC("uprobe")
int reallocarray_enter(struct pt_regs *ctx)
{
	return alloc_enter(ctx, EV_REALLOCARRAY);
}

SEC("uprobe")
int posix_memalign_enter(struct pt_regs *ctx)
{
	return alloc_enter(ctx, EV_POSIX_MEMALIGN);
}

SEC("uprobe")
int aligned_alloc_enter(struct pt_regs *ctx)
{
	return alloc_enter(ctx, EV_ALIGNED_ALLOC);
}

SEC("uprobe")
int memalign_enter(struct pt_regs *ctx)
{
	return alloc_enter(ctx, EV_MEMALIGN);
}

SEC("uprobe")
int valloc_enter(struct pt_regs *ctx)
{
	return alloc_enter(ctx, EV_VALLOC);
}

SEC("uprobe")
int pvalloc_enter(struct pt_regs *ctx)
{
	return alloc_enter(ctx, EV_PVALLOC);
}

/* One return program for every allocating function: the kind was kept at entry. */
SEC("uretprobe")
int alloc_return(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct alloc_inflight *cur = bpf_map_lookup_elem(&alloc_inflight, &tid);
	struct alloc_rec r;
	__u64 now;

	if (!cur)
		return 0;	/* entered before the probes were on */
	if (cur->depth) {
		cur->depth--;	/* a nested call returning */
		return 0;
	}
	now = bpf_ktime_get_ns();
	fill_hdr(&r.hdr, cur->kind, sizeof(r), id, now);
	r.args[0] = cur->args[0];
	r.args[1] = cur->args[1];
	r.args[2] = cur->args[2];
	r.caller = cur->caller;
	r.ret = PT_REGS_RC(ctx);
	r.result = 0;
	if (cur->kind != EV_POSIX_MEMALIGN)
		r.result = r.ret;
	else if (r.ret == 0)	/* *memptr is only written on success */
		bpf_probe_read_user(&r.result, sizeof(r.result), (void *)cur->args[0]);
	bpf_map_delete_elem(&alloc_inflight, &tid);
	emit(&r, sizeof(r), r.hdr.kind, now);
	return 0;
}

SEC("uprobe")
int free_enter(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), sp = PT_REGS_SP(ctx), now;
	__u32 tid = (__u32)id;
	struct alloc_inflight *cur;
	struct free_rec r;

	if (!traced(id))
		return 0;
	now = bpf_ktime_get_ns();
	r.caller = 0;
	bpf_probe_read_user(&r.caller, sizeof(r.caller), (void *)sp);
	cur = bpf_map_lookup_elem(&alloc_inflight, &tid);
	/* Inside an allocator call, or the allocator's own: not a call of the program. */
	if (cur && sp <= cur->sp && nested_in(cur, sp, now))
		return 0;
	if (internal_call(ctx, r.caller))
		return 0;
	note_caller(id, r.caller, now);
	fill_hdr(&r.hdr, EV_FREE, sizeof(r), id, now);
	r.ptr = PT_REGS_PARM1(ctx);
	emit(&r, sizeof(r), EV_FREE, now);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";

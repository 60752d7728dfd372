/*
 * Allocator calls, from uprobes on function entry and uretprobes on return.
 *
 * One entry program serves every probed function: it finds which function
 * it is in (struct probe_info) from the attach cookie where each probe has
 * its own, or from the address hit where one tracefs event holds all of a
 * file's probes (user/probe_events.c: an event per file, so that a forked
 * child inherits two perf events, not twenty).
 *
 * An allocation is written when it returns, with the arguments kept from its
 * entry in per-thread storage; a free is written when it is entered. So a
 * block freed by one thread is in the tape before another thread's
 * allocation that reuses its address (docs/FORMAT.md, "Order of events").
 *
 * Exactly one record per call the program made: calls made inside another
 * allocator call (glibc's reallocarray tail-calls realloc through the PLT; a
 * preloaded wrapper calls the real malloc and the real free) are nested, and
 * only the outermost is written. A nested call runs on the same stack, below
 * the outer call's stack pointer, soon after its entry.
 */
#include "common.bpf.h"
#include "unwind.h"
#include "alloc.h"
#include "unwind.bpf.h"
#include "alloc_inflight.bpf.h"
#include "stack_send.bpf.h"
#include "probes.bpf.h"

/*
 * A call entered more than this long after the one in progress on its
 * thread is not nested in it: that one's return was lost (it is counted).
 * Calls nested by a wrapper or a tail call follow their outer call's entry
 * within microseconds; a second is for threads descheduled in between.
 */
#define NESTED_WINDOW_NS (1000ull * 1000 * 1000)

/* Reports the mapping of the caller, the first time this thread meets it. */
static __always_inline void note_caller(struct alloc_thread *t, __u64 id, __u64 caller, __u64 now)
{
	if (t)
		vma_slot(&t->vmas, caller, id, now);
}

/*
 * The call's stack, its frames sent the first time this process shows it.
 * Returns its hash, or 0 when stacks are off or it could not be taken.
 */
static __always_inline __u64 take_stack(struct pt_regs *ctx, struct alloc_thread *t, __u64 id,
					__u64 now)
{
	if (!cfg.stack_depth)
		return 0;
	return send_stack(unwind_stack(ctx, id, now, &t->vmas, t->stack_mm, cfg.stack_depth), t,
			  id, now);
}

/* Is a call at stack pointer sp, now, nested in the call in progress? */
static __always_inline bool nested_in(const struct alloc_call *cur, __u64 sp, __u64 now)
{
	return cur->active && sp <= cur->sp && now - cur->entry_ts < NESTED_WINDOW_NS;
}

/* Is ip one of the chain's functions; is caller in one of their files' allocator code? */
static __always_inline bool in_chain(const struct alloc_thread *t, __u64 ip, __u64 caller,
				     bool *ip_in, bool *caller_in)
{
	*ip_in = *caller_in = false;
	for (int i = 0; i < FREE_NEST; i++) {
		if (i >= t->free_depth)
			break;
		*ip_in |= t->free_ip[i] == ip;
		*caller_in |= caller >= t->free_lo[i] && caller < t->free_hi[i];
	}
	return *ip_in || *caller_in;
}

/*
 * Is a free entered at ip and sp, called from caller, nested in the
 * program's last free? Either a function of that chain tail-called it
 * (another function entered at the same stack pointer for the same caller:
 * a loop freeing from one call site calls the same function each time), or
 * called it: below the chain's stack pointer, from the allocator functions
 * of one of its files (a wrapper's free, operator delete), while the chain's
 * return address is still in place on the stack (once it has returned, the
 * next call from its caller overwrites the slot). Allocator code only: a
 * whole file's code would take in the program's own frees (its libc's
 * fclose freeing a buffer) where the old slot happens to be untouched.
 */
static __always_inline bool nested_in_free(const struct alloc_thread *t, __u64 ip, __u64 sp,
					   __u64 caller, __u64 now)
{
	bool ip_in, caller_in;
	__u64 slot = 0;

	if (!t->free_ts || now - t->free_ts >= NESTED_WINDOW_NS)
		return false;
	in_chain(t, ip, caller, &ip_in, &caller_in);
	if (sp == t->free_sp)
		return caller == t->free_caller && !ip_in;
	if (sp > t->free_sp || !caller_in)
		return false;
	bpf_probe_read_user(&slot, sizeof(slot), (void *)t->free_sp);
	return slot == t->free_caller;
}

/* A free found nested joins the chain: what it calls in turn is nested too. */
static __always_inline void chain_add(struct alloc_thread *t, const struct probe_info *p,
				      __u64 ip)
{
	__u32 i = t->free_depth;

	if (i >= FREE_NEST)
		return;
	t->free_ip[i] = ip;
	t->free_lo[i] = ip - p->alloc_below;
	t->free_hi[i] = ip + p->alloc_above;
	t->free_depth = i + 1;
}

static __always_inline void free_enter(struct pt_regs *ctx, const struct probe_info *p, __u64 id,
				       __u64 ip, __u64 sp, __u64 caller, bool internal, __u64 now)
{
	struct alloc_thread *t = alloc_thread(true);
	struct free_rec r;

	if (internal)
		return;	/* the allocator's own */
	if (t) {
		same_image(t);
		/* Inside an allocator call: not a call of the program. */
		if (nested_in(&t->call, sp, now))
			return;
		if (nested_in_free(t, ip, sp, caller, now)) {
			chain_add(t, p, ip);
			return;
		}
		t->free_sp = sp;
		t->free_caller = caller;
		t->free_ts = now;
		t->free_depth = 0;
		chain_add(t, p, ip);
	}
	note_caller(t, id, caller, now);
	fill_hdr(&r.hdr, p->kind, sizeof(r), id, now);
	r.hdr.flags = p->flags;
	r.ptr = PT_REGS_PARM1(ctx);
	r.caller = caller;
	r.args[0] = PT_REGS_PARM2(ctx);
	r.args[1] = PT_REGS_PARM3(ctx);
	r.stack = t ? take_stack(ctx, t, id, now) : 0;
	emit(&r, sizeof(r), p->kind, now);
}

SEC("uprobe")
int alloc_enter(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), sp = PT_REGS_SP(ctx), ip = PT_REGS_IP(ctx), now;
	const struct probe_info *p;
	struct alloc_thread *t;
	struct alloc_call *cur;
	__u64 caller = 0;
	bool internal;

	if (!traced(id) || !armed())
		return 0;
	now = bpf_ktime_get_ns();
	p = probe_of(id >> 32, ip);
	if (!p) {
		count_loss(LOSS_UNKNOWN_PROBE, 0, now);
		return 0;
	}
	/* At the first instruction the return address is on top of the stack. */
	bpf_probe_read_user(&caller, sizeof(caller), (void *)sp);
	internal = caller >= ip - p->alloc_below && caller < ip + p->alloc_above;
	if (p->kind == EV_FREE || p->kind == EV_DELETE) {
		free_enter(ctx, p, id, ip, sp, caller, internal, now);
		return 0;
	}
	t = alloc_thread(true);
	if (!t) {
		count_loss(LOSS_INFLIGHT, p->kind, now);
		return 0;
	}
	same_image(t);
	cur = &t->call;
	if (cur->active) {
		/* An internal call below a call in progress is nested, however late. */
		if (sp <= cur->sp && (internal || nested_in(cur, sp, now))) {
			cur->depth++;
			return 0;
		}
		/* Not nested: its return was lost. Its entry must not take ours. */
		count_loss(LOSS_NO_RETURN, cur->kind, now);
		cur->active = 0;
	}
	if (internal)
		return 0;	/* its return finds no call in progress and is ignored */
	note_caller(t, id, caller, now);
	cur->args[0] = PT_REGS_PARM1(ctx);
	cur->args[1] = PT_REGS_PARM2(ctx);
	cur->args[2] = PT_REGS_PARM3(ctx);
	cur->sp = sp;
	cur->caller = caller;
	cur->entry_ts = now;
	cur->stack = take_stack(ctx, t, id, now);
	cur->kind = p->kind;
	cur->flags = p->flags;
	cur->depth = 0;
	cur->active = 1;
	return 0;
}

/* One return program for every allocating function: the kind was kept at entry. */
SEC("uretprobe")
int alloc_return(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), now;
	struct alloc_thread *t = alloc_thread(false);
	struct alloc_call *cur;
	struct alloc_rec r;

	if (!t || !t->call.active)
		return 0;	/* entered before the probes were armed */
	cur = &t->call;
	if (cur->depth) {
		cur->depth--;	/* a nested call returning */
		return 0;
	}
	now = bpf_ktime_get_ns();
	fill_hdr(&r.hdr, cur->kind, sizeof(r), id, now);
	r.hdr.flags = cur->flags;
	r.args[0] = cur->args[0];
	r.args[1] = cur->args[1];
	r.args[2] = cur->args[2];
	r.caller = cur->caller;
	r.stack = cur->stack;
	r.ret = PT_REGS_RC(ctx);
	r.result = 0;
	if (cur->kind != EV_POSIX_MEMALIGN)
		r.result = r.ret;
	else if (r.ret == 0)	/* *memptr is only written on success */
		bpf_probe_read_user(&r.result, sizeof(r.result), (void *)cur->args[0]);
	cur->active = 0;
	emit(&r, sizeof(r), r.hdr.kind, now);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";

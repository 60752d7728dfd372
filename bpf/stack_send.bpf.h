/*
 * Call stacks into the ring buffer, once per process and distinct stack:
 * shared by the allocator and syscall programs. Include common.bpf.h,
 * unwind.bpf.h and alloc_inflight.bpf.h first.
 */
#ifndef BPFTAPE_STACK_SEND_BPF_H
#define BPFTAPE_STACK_SEND_BPF_H

/* A stack record is built here: too large for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stack_rec);
} stack_scratch SEC(".maps") __weak;

/* Sends the stack record with its frames only; 0 when it went. */
static __always_inline int emit_stack(struct stack_rec *r)
{
	__u32 size = STACK_REC_FIXED + (r->nframes & (UNWIND_MAX_DEPTH - 1)) * 8;
	void *rb = ring();

	if (r->nframes >= UNWIND_MAX_DEPTH)
		size = sizeof(*r);
	if (!rb || bpf_ringbuf_output(rb, r, size, wakeup_flags(size))) {
		count_loss(LOSS_RINGBUF, EV_STACK, r->hdr.ts);
		return -1;
	}
	return 0;
}

/*
 * What the thread knows of its address space (mappings, stacks sent) is of
 * the image it ran when it learnt it: after an exec, forget it.
 */
static __always_inline void same_image(struct alloc_thread *t)
{
	__u64 mm = (__u64)BPF_CORE_READ(bpf_get_current_task_btf(), mm), zero = 0;

	if (t->stack_mm == mm)
		return;
	/* An opaque zero: clang would make a memset of these loops, which BPF lacks. */
	asm volatile("" : "+r"(zero));
	for (int i = 0; i < UNWIND_VMAS; i++)
		t->vmas.start[i] = t->vmas.end[i] = zero;
	for (int i = 0; i < STACKS_SENT; i++)
		t->sent[i] = zero;
	t->stack_seed = 0;
	t->stack_mm = mm;
}

/*
 * Sends walk s's stack the first time this process shows it. Returns its
 * hash (the ID the records carry), or 0 when there is none.
 */
static __always_inline __u64 send_stack(struct stack_walk *s, struct alloc_thread *t, __u64 id,
					__u64 now)
{
	struct stack_seen_key key = { .tgid = id >> 32 };
	struct stack_rec *r;
	__u32 zero = 0, slot;
	__u8 one = 1;

	if (!s || !s->n)
		return 0;
	/* The process's start time: a reused PID's stacks are not its predecessor's. */
	if (!t->stack_seed)
		t->stack_seed = BPF_CORE_READ(bpf_get_current_task_btf(), group_leader,
					      start_time) | 1;
	key.hash = (s->hash ^ t->stack_seed) | 1;
	slot = key.hash & (STACKS_SENT - 1);
	if (t->sent[slot] == key.hash)
		return key.hash;
	if (bpf_map_lookup_elem(&stacks_seen, &key)) {
		t->sent[slot] = key.hash;
		return key.hash;
	}
	r = bpf_map_lookup_elem(&stack_scratch, &zero);
	if (!r)
		return 0;
	fill_hdr(&r->hdr, EV_STACK, STACK_REC_FIXED, id, now);
	r->hash = key.hash;
	r->nframes = s->n > UNWIND_MAX_DEPTH ? UNWIND_MAX_DEPTH : s->n;
	r->flags = s->flags;
	for (int i = 0; i < UNWIND_MAX_DEPTH; i++)
		if (i < r->nframes)
			r->frames[i] = s->frames[i];
	r->hdr.size = STACK_REC_FIXED + r->nframes * 8;
	/* Known to be sent only once it went: a full ring buffer sends it again next time. */
	if (emit_stack(r))
		return 0;
	bpf_map_update_elem(&stacks_seen, &key, &one, BPF_ANY);
	t->sent[slot] = key.hash;
	return key.hash;
}

#endif

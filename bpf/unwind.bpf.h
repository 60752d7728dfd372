/*
 * The user call stack of an allocator call, walked in BPF with the unwind
 * tables user space loads (bpf/unwind.h), so that code built without frame
 * pointers (most of Debian, most -O2 builds) unwinds too; frames in a file
 * with no table (JIT code, a table not loaded yet) are stepped over by the
 * frame pointer where it looks sound. Each distinct stack is hashed: the
 * frames go to user space once per process and hash (alloc.bpf.c), later
 * events carry the hash only. Include common.bpf.h first.
 */
#ifndef BPFTAPE_UNWIND_BPF_H
#define BPFTAPE_UNWIND_BPF_H


#define UNWIND_VMAS 16
#define UNWIND_SEARCH 23	/* binary search steps: tables of up to 8M rows */

/* Every file's rows, one after another; user space writes them through a mapping. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);		/* user space sizes it (--stack-memory) */
	__type(key, __u32);
	__type(value, struct unwind_row);
} unwind_rows SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);		/* inode */
	__type(value, struct unwind_file);
} unwind_files SEC(".maps") __weak;

/*
 * The file mappings frames were found in (bpf_find_vma on a miss), kept per
 * thread, in its allocator state (alloc_inflight.bpf.h): one lookup less
 * per call than a map by process. An exec empties it.
 */
struct unwind_vmas {
	__u64 start[UNWIND_VMAS];
	__u64 end[UNWIND_VMAS];
	__u64 ino[UNWIND_VMAS];		/* 0: anonymous */
	__s64 bias[UNWIND_VMAS];	/* vaddr in the file = pc + bias (once its table is known) */
	__u32 first[UNWIND_VMAS];	/* its table's rows */
	__u32 count[UNWIND_VMAS];	/* 0: no table (yet: looked up again at tables_gen) */
	__u32 gen[UNWIND_VMAS];		/* tables_gen when it was looked up */
	__u64 pgoff[UNWIND_VMAS];	/* bytes */
	__u32 next;
	__u32 pad;
};

/* Bumped by user space whenever it loads a table: slots without one look again. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tables_gen SEC(".maps") __weak;


/*
 * Rows already found, per CPU, by address: stacks repeat, and a hit skips
 * the mapping and the table search. An entry is the address space's too
 * (mm), since another process may run other code at the same address.
 */
#define ROW_CACHE 1024

struct row_cache_entry {
	__u64 pc;
	__u64 mm;
	struct unwind_row row;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ROW_CACHE);
	__type(key, __u32);
	__type(value, struct row_cache_entry);
} row_cache SEC(".maps") __weak;

/* The walk in progress (per CPU: too large for the BPF stack). */
#define STACK_WINDOW 2048	/* bytes of stack read at once: most frames' words are in it */

struct stack_walk {
	__u64 pc, sp, bp;
	__u32 n;		/* frames so far */
	__u32 tgid;
	__u32 flags;		/* STACK_F_*: how the walk ended */
	__u32 stopped;		/* a step ended it (else the depth did) */
	__u64 hash;
	__u64 window_start;	/* the user address of window[0] */
	__u64 window_len;	/* bytes of window read */
	__u64 frames[UNWIND_MAX_DEPTH];
	__u64 window[STACK_WINDOW / 8];
};

/* What each step of bpf_loop gets (on the BPF stack: pointers cannot be kept in maps). */
struct unwind_loop {
	struct stack_walk *s;
	struct unwind_vmas *vmas;	/* the thread's mappings */
	__u64 mm;			/* the address space, for the row cache */
	__u64 id;			/* pid_tgid and time, for reporting mappings */
	__u64 now;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stack_walk);
} unwind_scratch SEC(".maps") __weak;

/* Stacks whose frames user space has: (process, hash), so they are sent once. */
struct stack_seen_key {
	__u32 tgid;
	__u32 pad;
	__u64 hash;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct stack_seen_key);
	__type(value, __u8);
} stacks_seen SEC(".maps") __weak;

struct vma_found {
	struct vma_rec *rec;
	bool file;
};

static long vma_of(struct task_struct *task, struct vm_area_struct *vma, struct vma_found *f)
{
	struct file *file = BPF_CORE_READ(vma, vm_file);

	(void)task;
	f->rec->start = BPF_CORE_READ(vma, vm_start);
	f->rec->end = BPF_CORE_READ(vma, vm_end);
	f->rec->offset = BPF_CORE_READ(vma, vm_pgoff) << 12;
	if (!file)
		return 0;	/* anonymous (JIT code): cached, never reported */
	f->rec->ino = BPF_CORE_READ(file, f_inode, i_ino);
	f->rec->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	bpf_probe_read_kernel_str(f->rec->name, sizeof(f->rec->name),
				  BPF_CORE_READ(file, f_path.dentry, d_name.name));
	f->file = true;
	return 0;
}

/*
 * The slot of v holding the mapping of addr, found (and reported, when it
 * is a file's) on a miss; -1 when there is none or it cannot be looked up.
 */
static __always_inline int vma_slot(struct unwind_vmas *v, __u64 addr, __u64 pid_tgid, __u64 now)
{
	struct vma_rec r = {};
	struct vma_found f = { &r, false };
	__u32 i;

	for (int k = 0; k < UNWIND_VMAS; k++)
		if (addr >= v->start[k] && addr < v->end[k])
			return k;
	if (!addr || !bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_find_vma) ||
	    bpf_find_vma(bpf_get_current_task_btf(), addr, vma_of, &f, 0))
		return -1;
	/* Anonymous ranges too: an address in JIT code would search the VMAs every call. */
	i = v->next++ & (UNWIND_VMAS - 1);
	v->start[i] = r.start;
	v->end[i] = r.end;
	v->ino[i] = r.ino;
	v->pgoff[i] = r.offset;
	v->count[i] = 0;
	v->gen[i] = (__u32)-1;
	if (f.file) {
		fill_hdr(&r.hdr, EV_VMA, sizeof(r), pid_tgid, now);
		emit(&r, sizeof(r), EV_VMA, now);
	}
	return i;
}

/* The slot's table, looked up once (and again after user space loads more). */
static __always_inline bool slot_table(struct unwind_vmas *v, int slot)
{
	__u32 zero = 0, *gen = bpf_map_lookup_elem(&tables_gen, &zero);
	struct unwind_file *f;

	if (slot < 0 || slot >= UNWIND_VMAS || !v->ino[slot])
		return false;
	if (v->count[slot] || !gen || v->gen[slot] == *gen)
		return v->count[slot] != 0;
	v->gen[slot] = *gen;
	f = bpf_map_lookup_elem(&unwind_files, &v->ino[slot]);
	if (!f)
		return false;
	v->first[slot] = f->first;
	v->bias[slot] = (__s64)(v->pgoff[slot] - f->text_offset + f->text_vaddr - v->start[slot]);
	v->count[slot] = f->count;
	return f->count != 0;
}

/* The row for vaddr in a table (the last one at or before it), or NULL. */
static __always_inline struct unwind_row *row_for(__u32 first, __u32 count, __u64 vaddr)
{
	__u32 lo = 0, hi = count, key;

	for (int i = 0; i < UNWIND_SEARCH && lo < hi; i++) {
		__u32 mid = lo + (hi - lo) / 2, k = first + mid;
		struct unwind_row *r = bpf_map_lookup_elem(&unwind_rows, &k);

		if (!r)
			return NULL;
		if (r->pc <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	key = first + lo - 1;
	return bpf_map_lookup_elem(&unwind_rows, &key);
}

/* Two words of the user stack at addr: from the window when they are in it. */
static __always_inline int read_words(struct stack_walk *s, __u64 addr, __u64 out[2])
{
	__u64 off = addr - s->window_start;

	if (addr >= s->window_start && off + 16 <= s->window_len && !(off & 7)) {
		__u32 i = (off / 8) & (STACK_WINDOW / 8 - 1);

		if (i + 1 < STACK_WINDOW / 8) {
			out[0] = s->window[i];
			out[1] = s->window[i + 1];
			return 0;
		}
	}
	return bpf_probe_read_user(out, 16, (void *)addr);
}

/* A step by the frame pointer, where it looks sound: above sp, word-aligned. */
static __always_inline bool fp_step(struct stack_walk *s)
{
	__u64 next[2];

	if (s->bp <= s->sp || s->bp - s->sp > (8 << 20) || (s->bp & 7) ||
	    read_words(s, s->bp, next))
		return false;
	s->sp = s->bp + 16;
	s->bp = next[0];
	s->pc = next[1];
	return true;
}

/* The rule for the code at pc (a return address), cached, or NULL: not known. */
static __always_inline struct unwind_row *rule_at(struct unwind_loop *l, __u64 pc)
{
	__u32 key = (pc ^ pc >> 10 ^ pc >> 20) & (ROW_CACHE - 1);
	struct row_cache_entry *c = bpf_map_lookup_elem(&row_cache, &key);
	struct unwind_vmas *v = l->vmas;
	struct unwind_row *row;
	int slot;

	if (c && c->pc == pc && c->mm == l->mm)
		return &c->row;
	slot = vma_slot(v, pc, l->id, l->now);
	if (!slot_table(v, slot) || slot < 0 || slot >= UNWIND_VMAS)
		return NULL;
	/* A return address is just past its call: the call's own row is the one before. */
	row = row_for(v->first[slot], v->count[slot], pc - 1 + v->bias[slot]);
	if (row && c) {
		c->pc = pc;
		c->mm = l->mm;
		c->row = *row;
	}
	return row;
}

/* One frame: record pc, then find the caller's pc, sp and bp. 1 stops the walk. */
static long unwind_step(__u32 i, struct unwind_loop *l)
{
	struct stack_walk *s = l->s;
	struct unwind_row *row;
	__u64 cfa, ra, saved[2];

	(void)i;
	if (!s->pc || s->pc >= (1ull << 47) || s->n >= UNWIND_MAX_DEPTH) {
		s->stopped = 1;	/* the end of the chain (a zero return address) */
		return 1;
	}
	s->frames[s->n & (UNWIND_MAX_DEPTH - 1)] = s->pc;
	s->n++;
	s->hash = (s->hash ^ s->pc) * 0x100000001b3ull;
	row = rule_at(l, s->pc);
	if (!row) {
		if (fp_step(s))
			return 0;
		/* The outermost frame sets rbp to 0; anything else is a frame not unwound. */
		s->stopped = 1;
		if (s->bp)
			s->flags |= STACK_F_PARTIAL;
		return 1;
	}
	if (row->flags & UNWIND_STOP) {
		s->stopped = 1;	/* the outermost frame, as its unwind table says */
		return 1;
	}
	cfa = ((row->flags & UNWIND_CFA_RBP) ? s->bp : s->sp) + row->cfa_off;
	/* The return address, and the word below it: rbp, in the usual frame. */
	if (read_words(s, cfa - 16, saved)) {
		s->stopped = 1;
		s->flags |= STACK_F_PARTIAL;
		return 1;
	}
	ra = saved[1];
	if (row->rbp_off8 == -2)
		s->bp = saved[0];
	else if (row->rbp_off8 && read_words(s, cfa + row->rbp_off8 * 8, saved)) {
		s->stopped = 1;
		s->flags |= STACK_F_PARTIAL;
		return 1;
	}
	else if (row->rbp_off8)
		s->bp = saved[0];
	s->sp = cfa;
	s->pc = ra;
	return 0;
}

/*
 * The stack from user registers pc, sp and bp: pc first, then up to depth
 * frames in all. Returns the walk (frames, n, hash), or NULL when stacks are
 * off or cannot be taken.
 */
static __always_inline struct stack_walk *unwind_from(__u64 pc, __u64 sp, __u64 bp, __u64 id,
						      __u64 now, struct unwind_vmas *vmas,
						      __u64 mm, __u32 depth)
{
	struct unwind_loop l;
	struct stack_walk *s;
	__u32 zero = 0;

	if (!depth || !pc || !bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_loop))
		return NULL;
	s = bpf_map_lookup_elem(&unwind_scratch, &zero);
	if (!s)
		return NULL;
	s->pc = pc;
	s->sp = sp;
	s->bp = bp;
	s->n = 0;
	s->tgid = id >> 32;
	s->hash = 0xcbf29ce484222325ull;
	s->window_len = 0;
	s->flags = 0;
	s->stopped = 0;
	l.s = s;
	l.vmas = vmas;
	l.mm = mm;
	l.id = id;
	l.now = now;
	bpf_loop(depth > UNWIND_MAX_DEPTH ? UNWIND_MAX_DEPTH : depth, unwind_step, &l, 0);
	/* Every step went on: the depth ended it, if there was a caller left. */
	if (!s->stopped && s->pc && s->pc < (1ull << 47))
		s->flags |= STACK_F_CUT;
	s->hash ^= s->n;
	return s;
}

/*
 * The stack at a function's first instruction (a uprobe): its caller, the
 * return address at sp, first.
 */
static __always_inline struct stack_walk *unwind_stack(struct pt_regs *ctx, __u64 id, __u64 now,
							 struct unwind_vmas *vmas, __u64 mm,
							 __u32 depth)
{
	__u64 sp = PT_REGS_SP(ctx), ra = 0;

	if (!depth || bpf_probe_read_user(&ra, sizeof(ra), (void *)sp))
		return NULL;
	/* sp + 8: the caller's sp, as the call left it. */
	return unwind_from(ra, sp + 8, PT_REGS_FP(ctx), id, now, vmas, mm, depth);
}

#endif

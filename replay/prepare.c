/*
 * The preparation pass: tape events to per-thread streams of slot-numbered
 * ops (prepared.h). All bookkeeping lives in mmap'd memory (vec.h, u64map).
 *
 * Addresses become slots. A slot freed by a thread goes to that thread's own
 * free list, so an allocation never depends on another thread; only a free
 * or realloc of a block another thread touched last does, and it carries the
 * generation it waits for.
 *
 * Inversions (an address made again while the tape still holds it live) are
 * resolved by addr_map.c, the same way for the replay and for the tools.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr_map.h"
#include "prepare.h"
#include "u64map.h"
#include "vec.h"

#define DEFAULT_SAMPLE_EVERY 1024

struct pthr {
	uint32_t tid;
	uint32_t proc;
	struct vec ops;		/* struct op */
	struct vec free_slots;	/* uint32_t, a stack */
};

struct pproc {
	uint32_t pid, parent, exec_of, main_thread;
	bool ended;
	bool lost_allocs;	/* a loss record: unknown blocks may be lost ones */
	struct addr_map addrs;	/* recorded address -> slot */
	struct vec bytes;	/* uint64_t per slot: requested bytes live in it */
	struct vec gen;		/* uint32_t per slot: ops that touched it so far */
	struct vec last;	/* uint32_t per slot: thread that touched it last */
	uint32_t next_slot;
	struct vec threads;	/* uint32_t thread indices */
	struct vec order;	/* uint32_t thread index per op, tape order */
	struct vec live;	/* uint64_t samples */
	struct vec forks;	/* struct fork_point */
	struct vec fork_counts;	/* uint64_t: ops of each thread at each fork */
	uint64_t live_bytes, peak, nops;
};

/* Where a fork happened: every thread's op count then, for its fences. */
struct fork_point {
	uint32_t thread;	/* the forking thread */
	uint32_t nthreads;	/* threads the process had then */
	uint64_t counts;	/* index in fork_counts of their counts */
};

struct prep {
	const struct prepare_opts *o;
	bool has_threads;
	struct vec procs;	/* struct pproc */
	struct vec threads;	/* struct pthr */
	struct u64map pid_index;	/* pid -> current image's index + 1 */
	struct u64map tid_index;	/* process << 32 | tid -> thread index */
	struct prep_stats stats;
};

#define PROC(p, i) (&VEC_AT(&(p)->procs, struct pproc, i))
#define THREAD(p, i) (&VEC_AT(&(p)->threads, struct pthr, i))

static int new_process(struct prep *p, uint32_t pid, uint32_t parent, uint32_t exec_of,
		       uint32_t *index)
{
	struct pproc pr = { .pid = pid, .parent = parent, .exec_of = exec_of,
			    .main_thread = NO_INDEX };

	addr_map__init(&pr.addrs, p->has_threads);
	vec__init(&pr.bytes, sizeof(uint64_t));
	vec__init(&pr.gen, sizeof(uint32_t));
	vec__init(&pr.last, sizeof(uint32_t));
	vec__init(&pr.threads, sizeof(uint32_t));
	vec__init(&pr.order, sizeof(uint32_t));
	vec__init(&pr.live, sizeof(uint64_t));
	vec__init(&pr.forks, sizeof(struct fork_point));
	vec__init(&pr.fork_counts, sizeof(uint64_t));
	*index = p->procs.len;
	if (vec__push(&p->procs, &pr))
		return -ENOMEM;
	return u64map__put(&p->pid_index, pid, *index + 1);
}

static int thread_of(struct prep *p, uint32_t proc, uint32_t tid, uint32_t *index)
{
	uint64_t key = (uint64_t)proc << 32 | tid, *found = u64map__get(&p->tid_index, key);
	struct pthr t = { .tid = tid, .proc = proc };

	if (found) {
		*index = *found;
		return 0;
	}
	vec__init(&t.ops, sizeof(struct op));
	vec__init(&t.free_slots, sizeof(uint32_t));
	*index = p->threads.len;
	if (vec__push(&p->threads, &t) || vec__push(&PROC(p, proc)->threads, index))
		return -ENOMEM;
	if (PROC(p, proc)->main_thread == NO_INDEX)
		PROC(p, proc)->main_thread = *index;
	return u64map__put(&p->tid_index, key, *index);
}

/* The process image a pid stands for now, created on first sight (unless filtered out). */
static int process_of(struct prep *p, uint32_t pid, uint32_t *index)
{
	uint64_t *found = u64map__get(&p->pid_index, pid);

	if (found && *found) {
		*index = *found - 1;
		return 0;
	}
	if (p->o->pid && pid != p->o->pid)
		return 1;	/* not selected */
	return new_process(p, pid, NO_INDEX, NO_INDEX, index);
}

static int emit(struct prep *p, uint32_t proc, uint32_t thread, struct op *op, int64_t delta)
{
	struct pproc *pr = PROC(p, proc);

	if (vec__push(&THREAD(p, thread)->ops, op) || vec__push(&pr->order, &thread))
		return -ENOMEM;
	pr->live_bytes += delta;
	if (pr->live_bytes > pr->peak)
		pr->peak = pr->live_bytes;
	if (pr->live_bytes > p->stats.peak_live_bytes) {
		p->stats.peak_live_bytes = pr->live_bytes;
		p->stats.peak_live_op = pr->nops;
	}
	pr->nops++;
	p->stats.ops++;
	if (op->kind < OP_KINDS)
		p->stats.by_kind[op->kind]++;
	if (pr->nops % p->o->sample_every == 0 && vec__push(&pr->live, &pr->live_bytes))
		return -ENOMEM;
	return 0;
}

/* Slot bookkeeping: every op that touches a slot advances its generation. */
static int grow_slots(struct pproc *pr, uint32_t slot)
{
	static const uint64_t zero;
	static const uint32_t none = NO_INDEX, gen0;

	while (pr->bytes.len <= slot)
		if (vec__push(&pr->bytes, &zero) || vec__push(&pr->gen, &gen0) ||
		    vec__push(&pr->last, &none))
			return -ENOMEM;
	return 0;
}

/* Records that thread touches slot; op waits for it when another thread did last. */
static void touch(struct prep *p, struct pproc *pr, uint32_t slot, uint32_t thread,
		  struct op *op)
{
	uint32_t *gen = &VEC_AT(&pr->gen, uint32_t, slot), *last = &VEC_AT(&pr->last, uint32_t, slot);

	if (op) {
		op->expect = *gen;
		if (*last != NO_INDEX && *last != thread) {
			op->flags |= OPF_WAIT;
			p->stats.cross_thread++;
		}
	}
	(*gen)++;
	*last = thread;
}

static int take_slot(struct pproc *pr, struct pthr *t, uint32_t *slot)
{
	if (t->free_slots.len) {
		*slot = VEC_AT(&t->free_slots, uint32_t, --t->free_slots.len);
		return 0;
	}
	if (pr->next_slot == NO_SLOT)
		return -E2BIG;
	*slot = pr->next_slot++;
	return grow_slots(pr, *slot);
}

/* A block goes (input_block unmapped it): its slot to the releasing thread's list. */
static int release(struct prep *p, struct pproc *pr, uint32_t thread, uint32_t slot,
		   struct op *op, int64_t *delta)
{
	touch(p, pr, slot, thread, op);
	*delta -= VEC_AT(&pr->bytes, uint64_t, slot);
	VEC_AT(&pr->bytes, uint64_t, slot) = 0;
	return vec__push(&THREAD(p, thread)->free_slots, &slot);
}

static uint64_t requested_bytes(const struct tape_event *ev)
{
	const struct tape_alloc *a = &ev->alloc;
	unsigned __int128 total;

	switch (ev->type) {
	case TAPE_EV_CALLOC:
	case TAPE_EV_REALLOCARRAY:
		total = (unsigned __int128)a->nmemb * a->size;
		return total > UINT64_MAX ? UINT64_MAX : (uint64_t)total;
	default:
		return a->size;
	}
}

static bool failed(const struct tape_event *ev)
{
	return !ev->alloc.result || (ev->type == TAPE_EV_POSIX_MEMALIGN && ev->alloc.err);
}

/* A block the tape never saw made: from before the recording, or lost. */
static void unknown_block(struct prep *p, struct pproc *pr)
{
	if (pr->lost_allocs)
		p->stats.skipped_lost++;
	else
		p->stats.skipped_pre_attach++;
}

/* Allocates the block of a successful allocating call: slot, size, mapping. */
/*
 * Allocates the block of a successful allocating call: slot, size, mapping.
 * A block displaced by a third inversion on its address stays live, in its
 * slot, to the end: two live blocks never share a slot.
 */
static int make_block(struct prep *p, struct pproc *pr, uint32_t thread, uint64_t addr,
		      uint64_t bytes, struct op *op, int64_t *delta)
{
	uint32_t displaced;
	int err = take_slot(pr, THREAD(p, thread), &op->slot);

	if (err)
		return err;
	touch(p, pr, op->slot, thread, NULL);
	VEC_AT(&pr->bytes, uint64_t, op->slot) = bytes;
	*delta += bytes;
	return addr_map__make(&pr->addrs, addr, op->slot, thread, &displaced);
}

/* The slot a free or realloc of addr releases, or NO_SLOT (addr_map.h). */
static uint32_t input_block(struct pproc *pr, uint32_t thread, uint64_t addr)
{
	uint32_t slot = addr_map__release(&pr->addrs, addr, thread);

	return slot == ADDR_NONE ? NO_SLOT : slot;
}

/*
 * C++'s new and delete replay as the C calls they make in every allocator
 * measured: malloc (memalign for the aligned forms) and free.
 */
static struct tape_event as_c_call(const struct tape_event *ev)
{
	struct tape_event c = *ev;

	if (ev->type == TAPE_EV_NEW)
		c.type = ev->alloc.variant & TAPE_VARIANT_ALIGNED ? TAPE_EV_MEMALIGN : TAPE_EV_MALLOC;
	else if (ev->type == TAPE_EV_DELETE)
		c.type = TAPE_EV_FREE;
	c.alloc.variant = 0;
	return c;
}

static int process_alloc(struct prep *p, uint32_t proc, uint32_t thread,
			 const struct tape_event *cxx_ev)
{
	struct tape_event c_ev = as_c_call(cxx_ev);
	const struct tape_event *ev = &c_ev;
	struct pproc *pr = PROC(p, proc);
	const struct tape_alloc *a = &ev->alloc;
	bool takes_ptr = ev->type == TAPE_EV_FREE || ev->type == TAPE_EV_REALLOC ||
			 ev->type == TAPE_EV_REALLOCARRAY;
	struct op op = { .kind = ev->type, .size = a->size, .slot = NO_SLOT, .old_slot = NO_SLOT };
	int64_t delta = 0;
	uint32_t slot;
	int err;

	if (ev->type == TAPE_EV_CALLOC || ev->type == TAPE_EV_REALLOCARRAY)
		op.aux = a->nmemb;
	else if (ev->type >= TAPE_EV_POSIX_MEMALIGN && ev->type <= TAPE_EV_MEMALIGN)
		op.aux = a->align;

	if (ev->type == TAPE_EV_FREE) {
		if (!a->ptr)
			return emit(p, proc, thread, &op, 0);	/* free(NULL) is a call too */
		slot = input_block(pr, thread, a->ptr);
		if (slot == NO_SLOT) {
			unknown_block(p, pr);
			return 0;
		}
		op.slot = slot;
		op.size = VEC_AT(&pr->bytes, uint64_t, slot);	/* for --touch all's wipe */
		err = release(p, pr, thread, slot, &op, &delta);
		return err ? err : emit(p, proc, thread, &op, delta);
	}

	if (failed(ev)) {
		/* glibc's realloc(p, 0) frees p and returns NULL: that is a free. */
		if (takes_ptr && a->ptr && !requested_bytes(ev) && !a->result) {
			struct tape_event as_free = *ev;

			p->stats.realloc_zero_frees++;
			as_free.type = TAPE_EV_FREE;
			as_free.alloc.result = 0;
			return process_alloc(p, proc, thread, &as_free);
		}
		p->stats.skipped_failed++;
		return 0;	/* a failed realloc leaves its block as it was */
	}

	if (takes_ptr && a->ptr) {
		slot = input_block(pr, thread, a->ptr);
		if (slot == NO_SLOT) {
			unknown_block(p, pr);	/* replayed as realloc(NULL, size) */
		} else {
			op.old_slot = slot;
			err = release(p, pr, thread, slot, &op, &delta);
			if (err)
				return err;
		}
	}
	err = make_block(p, pr, thread, a->result, requested_bytes(ev), &op, &delta);
	return err ? err : emit(p, proc, thread, &op, delta);
}

/* A process image ends (exit, exec): what still waits will never be released. */
static int end_process(struct prep *p, uint32_t proc)
{
	struct pproc *pr = PROC(p, proc);

	/* Old blocks whose release never came stay live to the end. */
	p->stats.inversions += pr->addrs.inversions;
	p->stats.unresolved_inversions += pr->addrs.unresolved + addr_map__aside(&pr->addrs);
	pr->ended = true;
	return 0;
}

static int copy_state(struct pproc *child, const struct pproc *parent)
{
	addr_map__free(&child->addrs);
	if (addr_map__copy(&child->addrs, &parent->addrs))
		return -ENOMEM;
	vec__free(&child->bytes);
	vec__free(&child->gen);
	vec__free(&child->last);
	if (vec__copy(&child->bytes, &parent->bytes) || vec__copy(&child->gen, &parent->gen) ||
	    vec__copy(&child->last, &parent->last))
		return -ENOMEM;
	/* The child's threads are new: no slot was touched by any of them. */
	memset(child->last.data, 0xff, child->last.len * sizeof(uint32_t));
	child->next_slot = parent->next_slot;
	child->live_bytes = parent->live_bytes;
	child->peak = parent->live_bytes;
	child->lost_allocs = parent->lost_allocs;
	return 0;
}

/* Notes each thread's position at a fork, for the fences (see prepared.h). */
static int note_fork(struct prep *p, struct pproc *pr, uint32_t thread, uint32_t *number)
{
	struct fork_point f = { thread, pr->threads.len, pr->fork_counts.len };

	for (size_t i = 0; i < pr->threads.len; i++) {
		uint64_t n = THREAD(p, VEC_AT(&pr->threads, uint32_t, i))->ops.len;

		if (vec__push(&pr->fork_counts, &n))
			return -ENOMEM;
	}
	*number = pr->forks.len;
	return vec__push(&pr->forks, &f);
}

static int on_fork(struct prep *p, uint32_t proc, uint32_t thread, const struct tape_event *ev)
{
	struct op op = { .kind = OP_FORK, .slot = NO_SLOT, .old_slot = NO_SLOT };
	uint32_t child, child_thread;
	int err;

	if (ev->fork.flags & TAPE_FORK_THREAD)
		return 0;	/* threads appear with their first event */
	if (p->o->pid && ev->fork.child_pid != p->o->pid)
		return 0;	/* --pid: the child is not replayed */
	err = new_process(p, ev->fork.child_pid, proc, NO_INDEX, &child);
	if (!err)
		err = copy_state(PROC(p, child), PROC(p, proc));
	if (!err)
		err = thread_of(p, child, ev->fork.child_tid, &child_thread);
	if (err)
		return err;
	/* The forking thread's free slots are its child's main thread's too. */
	vec__free(&THREAD(p, child_thread)->free_slots);
	err = vec__copy(&THREAD(p, child_thread)->free_slots, &THREAD(p, thread)->free_slots);
	if (!err)
		err = note_fork(p, PROC(p, proc), thread, &op.expect);
	if (err)
		return err;
	op.aux = child;
	return emit(p, proc, thread, &op, 0);
}

/* Puts each thread's fences into its ops, where the forks found it. */
static int insert_fences(struct prep *p, struct pproc *pr)
{
	if (!pr->forks.len || pr->threads.len < 2)
		return 0;
	for (size_t i = 0; i < pr->threads.len; i++) {
		uint32_t t = VEC_AT(&pr->threads, uint32_t, i);
		struct pthr *th = THREAD(p, t);
		struct vec ops;
		size_t next = 0;

		vec__init(&ops, sizeof(struct op));
		for (size_t k = 0; k < pr->forks.len; k++) {
			const struct fork_point *f = &VEC_AT(&pr->forks, struct fork_point, k);
			/* Threads born after the fork had no ops then. */
			uint64_t at = i < f->nthreads ?
				      VEC_AT(&pr->fork_counts, uint64_t, f->counts + i) : 0;
			struct op fence = { .kind = OP_FENCE, .aux = k, .slot = NO_SLOT,
					    .old_slot = NO_SLOT };

			if (f->thread == t || at >= th->ops.len)
				continue;	/* the forker, or nothing of it after the fork */
			while (next < at)
				if (vec__push(&ops, &VEC_AT(&th->ops, struct op, next++)))
					return -ENOMEM;
			if (vec__push(&ops, &fence))
				return -ENOMEM;
		}
		if (!ops.len) {
			vec__free(&ops);
			continue;
		}
		while (next < th->ops.len)
			if (vec__push(&ops, &VEC_AT(&th->ops, struct op, next++)))
				return -ENOMEM;
		vec__free(&th->ops);
		th->ops = ops;
	}
	return 0;
}

static int on_exec(struct prep *p, uint32_t proc, uint32_t thread, const struct tape_event *ev)
{
	struct op op = { .kind = OP_EXEC, .slot = NO_SLOT, .old_slot = NO_SLOT };
	uint32_t image, t;
	int err = end_process(p, proc);

	if (!err)
		err = new_process(p, ev->pid, NO_INDEX, proc, &image);
	if (!err)
		err = thread_of(p, image, ev->tid, &t);
	if (err)
		return err;
	op.aux = image;
	return emit(p, proc, thread, &op, 0);
}

static int on_event(struct prep *p, const struct tape_event *ev)
{
	uint32_t proc, thread;
	int r;

	if (ev->type == TAPE_EV_LOSS) {
		if (ev->loss.lost_type && !tape_type_is_alloc(ev->loss.lost_type))
			return 0;
		p->stats.lost_events += ev->loss.count;
		p->stats.follow_gaps += ev->loss.reason == TAPE_LOSS_FOLLOW_GAP;
		if (ev->loss.reason == TAPE_LOSS_DAMAGE)
			p->stats.damaged_events += ev->loss.count;
		for (size_t i = 0; i < p->procs.len; i++)
			if (!ev->pid || PROC(p, i)->pid == ev->pid)
				PROC(p, i)->lost_allocs = true;
		return 0;
	}
	if (!tape_type_is_alloc(ev->type) && ev->type != TAPE_EV_FORK && ev->type != TAPE_EV_EXEC &&
	    ev->type != TAPE_EV_EXIT)
		return 0;
	r = process_of(p, ev->pid, &proc);
	if (r)
		return r > 0 ? 0 : r;
	if (ev->type == TAPE_EV_EXIT) {
		if (!(ev->exit.flags & TAPE_EXIT_PROCESS))
			return 0;
		u64map__put(&p->pid_index, ev->pid, 0);	/* the pid may come back */
		return end_process(p, proc);
	}
	r = thread_of(p, proc, ev->tid, &thread);
	if (r)
		return r;
	if (ev->type == TAPE_EV_FORK)
		return on_fork(p, proc, thread, ev);
	if (ev->type == TAPE_EV_EXEC)
		return on_exec(p, proc, thread, ev);
	return process_alloc(p, proc, thread, ev);
}

/* Writes n bytes at off of fd, all of them. */
static int put(int fd, const void *data, size_t n, uint64_t *off)
{
	const char *p = data;

	while (n) {
		ssize_t w = pwrite(fd, p, n, *off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= w;
		*off += w;
	}
	return 0;
}

static int write_prepared(struct prep *p, const char *source, bool native, int fd)
{
	struct prep_header h = { .version = PREPARED_VERSION, .header_size = sizeof(h),
				 .pointer_size = sizeof(void *) };
	uint64_t off, first_op = 0, first_order = 0, first_live = 0;
	long page = sysconf(_SC_PAGESIZE);
	int err = 0;

	memcpy(h.magic, PREPARED_MAGIC, PREPARED_MAGIC_LEN);
	h.page_size = page > 0 ? page : 4096;
	h.nprocesses = p->procs.len;
	h.nthreads = p->threads.len;
	/* Every op of the thread tables, fences too (stats.ops counts calls only). */
	for (size_t i = 0; i < p->threads.len; i++)
		h.nops += THREAD(p, i)->ops.len;
	h.sample_every = p->o->sample_every;
	h.has_threads = p->has_threads;
	h.source_format = native ? SOURCE_NATIVE : SOURCE_MWRAP;
	snprintf(h.source, sizeof(h.source), "%s", source);
	for (size_t i = 0; i < p->procs.len; i++) {
		if (PROC(p, i)->next_slot > h.nslots)
			h.nslots = PROC(p, i)->next_slot;
		h.nlive += PROC(p, i)->live.len;
		p->stats.final_live_bytes += PROC(p, i)->live_bytes;
	}
	h.processes_offset = sizeof(h);
	h.threads_offset = h.processes_offset + p->procs.len * sizeof(struct prep_process);
	h.ops_offset = h.threads_offset + p->threads.len * sizeof(struct prep_thread);
	h.order_offset = h.ops_offset + h.nops * sizeof(struct op);
	h.live_offset = h.order_offset + ((h.nops * sizeof(uint32_t) + 7) & ~7ull);
	h.file_size = h.live_offset + h.nlive * sizeof(uint64_t);
	h.stats = p->stats;

	off = 0;
	err = put(fd, &h, sizeof(h), &off);
	for (size_t i = 0; i < p->procs.len && !err; i++) {
		struct pproc *pr = PROC(p, i);
		struct prep_process out = {
			.pid = pr->pid, .parent = pr->parent, .exec_of = pr->exec_of,
			.main_thread = pr->main_thread, .nthreads = pr->threads.len,
			.nops = pr->nops, .first_order = first_order, .first_live = first_live,
			.nlive = pr->live.len, .peak_live_bytes = pr->peak, .nslots = pr->next_slot,
			.first_thread = pr->threads.len ? VEC_AT(&pr->threads, uint32_t, 0) : 0,
		};

		first_order += pr->nops;
		first_live += pr->live.len;
		err = put(fd, &out, sizeof(out), &off);
	}
	for (size_t i = 0; i < p->threads.len && !err; i++) {
		struct pthr *t = THREAD(p, i);
		struct prep_thread out = { .tid = t->tid, .process = t->proc, .first_op = first_op,
					   .nops = t->ops.len };

		first_op += t->ops.len;
		err = put(fd, &out, sizeof(out), &off);
	}
	for (size_t i = 0; i < p->threads.len && !err; i++)
		err = put(fd, THREAD(p, i)->ops.data, THREAD(p, i)->ops.len * sizeof(struct op), &off);
	for (size_t i = 0; i < p->procs.len && !err; i++)
		err = put(fd, PROC(p, i)->order.data, PROC(p, i)->order.len * sizeof(uint32_t), &off);
	/* The order table is shorter than its room (fences have no place in it): a hole of zeros. */
	if (off < h.live_offset)
		off = h.live_offset;
	for (size_t i = 0; i < p->procs.len && !err; i++)
		err = put(fd, PROC(p, i)->live.data, PROC(p, i)->live.len * sizeof(uint64_t), &off);
	if (!err && ftruncate(fd, h.file_size))
		err = -errno;
	return err;
}

/*
 * A process's threads must be contiguous in the thread table: they are,
 * when the table is sorted by process. Thread indices in ops, orders and
 * processes are renumbered to match.
 */
static int group_threads(struct prep *p)
{
	size_t n = p->threads.len, k = 0;
	struct vec sorted, renumber;
	int err;

	vec__init(&sorted, sizeof(struct pthr));
	vec__init(&renumber, sizeof(uint32_t));
	err = vec__reserve(&sorted, n) || vec__reserve(&renumber, n) ? -ENOMEM : 0;
	for (size_t pi = 0; pi < p->procs.len && !err; pi++) {
		struct pproc *pr = PROC(p, pi);

		for (size_t j = 0; j < pr->threads.len; j++) {
			uint32_t old = VEC_AT(&pr->threads, uint32_t, j);

			VEC_AT(&sorted, struct pthr, k) = *THREAD(p, old);
			VEC_AT(&renumber, uint32_t, old) = k;
			VEC_AT(&pr->threads, uint32_t, j) = k++;
		}
	}
	if (err) {
		vec__free(&sorted);
		vec__free(&renumber);
		return err;
	}
	sorted.len = k;
	for (size_t pi = 0; pi < p->procs.len; pi++) {
		struct pproc *pr = PROC(p, pi);

		if (pr->main_thread != NO_INDEX)
			pr->main_thread = VEC_AT(&renumber, uint32_t, pr->main_thread);
		for (size_t j = 0; j < pr->order.len; j++)
			VEC_AT(&pr->order, uint32_t, j) =
				VEC_AT(&renumber, uint32_t, VEC_AT(&pr->order, uint32_t, j));
	}
	vec__free(&p->threads);
	p->threads = sorted;
	vec__free(&renumber);
	return 0;
}

static void free_prep(struct prep *p)
{
	for (size_t i = 0; i < p->procs.len; i++) {
		struct pproc *pr = PROC(p, i);

		addr_map__free(&pr->addrs);
		vec__free(&pr->bytes);
		vec__free(&pr->gen);
		vec__free(&pr->last);
		vec__free(&pr->threads);
		vec__free(&pr->order);
		vec__free(&pr->live);
		vec__free(&pr->forks);
		vec__free(&pr->fork_counts);
	}
	for (size_t i = 0; i < p->threads.len; i++) {
		vec__free(&THREAD(p, i)->ops);
		vec__free(&THREAD(p, i)->free_slots);
	}
	vec__free(&p->procs);
	vec__free(&p->threads);
	u64map__free(&p->pid_index);
	u64map__free(&p->tid_index);
}

int prepare(struct event_source *src, const char *source, const struct prepare_opts *o,
	    int out_fd, char *msg, size_t msglen)
{
	struct prepare_opts opts = *o;
	struct prep p = { .o = &opts };
	struct tape_event ev;
	int err = 0, r;

	msg[0] = 0;
	if (!opts.sample_every)
		opts.sample_every = DEFAULT_SAMPLE_EVERY;
	p.has_threads = event_source__has_threads(src);
	vec__init(&p.procs, sizeof(struct pproc));
	vec__init(&p.threads, sizeof(struct pthr));
	u64map__init(&p.pid_index);
	u64map__init(&p.tid_index);
	while (!err && (r = event_source__next(src, &ev)) == 1) {
		p.stats.events++;
		err = on_event(&p, &ev);
	}
	if (!err && r < 0) {
		err = r;
		snprintf(msg, msglen, "cannot read the input: %s", strerror(-r));
	}
	for (size_t i = 0; i < p.procs.len && !err; i++)
		if (!PROC(&p, i)->ended)
			err = end_process(&p, i);
	p.stats.damaged_events += event_source__tape_damage(src)->corrupt_events;
	for (size_t i = 0; i < p.procs.len && !err; i++)
		err = insert_fences(&p, PROC(&p, i));
	if (!err)
		err = group_threads(&p);
	if (!err)
		err = write_prepared(&p, source, event_source__format(src) == SOURCE_NATIVE, out_fd);
	if (err && !msg[0]) {
		if (err == -E2BIG)
			snprintf(msg, msglen, "a process has more than 2^32 blocks live at once");
		else if (err == -ENOMEM)
			snprintf(msg, msglen, "out of memory while preparing the replay");
		else
			snprintf(msg, msglen, "cannot write the prepared form: %s", strerror(-err));
	}
	free_prep(&p);
	return err;
}

/* The heap a tape describes: see heap_model.h. */
#include <stdlib.h>
#include <string.h>

#include "grow_array.h"
#include "heap_model.h"

#define NO_BLOCK UINT32_MAX

void heap_model__init(struct heap_model *m, bool has_threads, block_end_fn on_end, void *ctx)
{
	memset(m, 0, sizeof(*m));
	m->has_threads = has_threads;
	u64map__init(&m->by_pid);
	u64map__init(&m->site_index);
	m->free_block = NO_BLOCK;
	m->on_end = on_end;
	m->ctx = ctx;
}

void heap_model__free(struct heap_model *m)
{
	for (uint32_t i = 0; i < m->nprocs; i++)
		addr_map__free(&m->procs[i].addrs);
	free(m->procs);
	free(m->blocks);
	free(m->sites);
	u64map__free(&m->by_pid);
	u64map__free(&m->site_index);
}

static struct heap_process *process(struct heap_model *m, uint32_t pid)
{
	uint64_t *idx;
	struct heap_process *pr;

	/* Events come in runs of one process: skip the lookup for the same one. */
	if (m->last_proc && m->procs[m->last_proc - 1].pid == pid &&
	    !m->procs[m->last_proc - 1].exited)
		return &m->procs[m->last_proc - 1];
	idx = u64map__get(&m->by_pid, pid);

	/* An exited process keeps its blocks (held at exit); a reused pid starts anew. */
	if (idx && *idx && !m->procs[*idx - 1].exited) {
		m->last_proc = *idx;
		return &m->procs[*idx - 1];
	}
	m->procs = grow_array_or_abort(m->procs, &m->procs_cap, m->nprocs + 1, sizeof(*m->procs));
	pr = &m->procs[m->nprocs++];
	memset(pr, 0, sizeof(*pr));
	pr->pid = pid;
	addr_map__init(&pr->addrs, m->has_threads);
	u64map__put(&m->by_pid, pid, m->nprocs);
	m->last_proc = m->nprocs;
	return pr;
}

/*
 * A site is a caller in a process, with the call's stack when the tape has
 * stacks (the stack table's handle, in place of the tape's id: see stat.c).
 */
static uint32_t site_of(struct heap_model *m, uint32_t pid, uint64_t caller, uint32_t stack)
{
	/* Callers are per process (address spaces differ): mix the pid in. */
	uint64_t key = caller ^ ((uint64_t)pid << 47) ^ ((uint64_t)stack << 20) ^ 1, *idx;
	struct heap_site *s;

	/* Keys can collide now that stacks are mixed in: the next key is tried. */
	for (; (idx = u64map__get(&m->site_index, key)); key++) {
		s = &m->sites[*idx - 1];
		if (s->pid == pid && s->caller == caller && s->stack == stack)
			return *idx - 1;
	}
	m->sites = grow_array_or_abort(m->sites, &m->sites_cap, m->nsites + 1, sizeof(*m->sites));
	s = &m->sites[m->nsites];
	memset(s, 0, sizeof(*s));
	s->pid = pid;
	s->caller = caller;
	s->stack = stack;
	u64map__put(&m->site_index, key, m->nsites + 1);
	return m->nsites++;
}

static uint32_t new_block(struct heap_model *m)
{
	uint32_t b = m->free_block;

	if (b != NO_BLOCK) {
		m->free_block = m->blocks[b].site;
		return b;
	}
	m->blocks = grow_array_or_abort(m->blocks, &m->blocks_cap, m->nblocks + 1, sizeof(*m->blocks));
	return m->nblocks++;
}

static void drop_block(struct heap_model *m, uint32_t b)
{
	m->blocks[b].site = m->free_block;
	m->free_block = b;
}

static void end_block(struct heap_model *m, struct heap_process *pr, uint32_t b,
		      const struct tape_event *ev)
{
	pr->live_bytes -= m->blocks[b].size;
	pr->live_blocks--;
	if (m->on_end && ev)
		m->on_end(&m->blocks[b], ev, pr, m->ctx);
	drop_block(m, b);
}

/* A free or realloc of addr ends the block it releases (addr_map.h). */
static void release(struct heap_model *m, struct heap_process *pr, uint64_t addr,
		    const struct tape_event *ev)
{
	uint32_t b = addr_map__release(&pr->addrs, addr, ev->tid);

	if (b == ADDR_NONE)
		pr->unknown_releases++;
	else
		end_block(m, pr, b, ev);
}

static void make_block(struct heap_model *m, struct heap_process *pr, uint64_t addr,
		       uint64_t size, const struct tape_event *ev)
{
	uint32_t b, displaced, site = site_of(m, ev->pid, ev->alloc.caller, ev->alloc.stack);

	b = new_block(m);
	m->blocks[b] = (struct heap_block){ size, ev->ts, pr->ops, site, ev->pid, ev->tid };
	addr_map__make(&pr->addrs, addr, b, ev->tid, &displaced);
	/* Displaced by a third inversion: its release will never be told apart. */
	if (displaced != ADDR_NONE)
		end_block(m, pr, displaced, NULL);
	m->sites[site].calls++;
	m->sites[site].bytes += size;
	pr->live_bytes += size;
	pr->live_blocks++;
	if (pr->live_bytes > pr->peak_bytes) {
		pr->peak_bytes = pr->live_bytes;
		pr->peak_ts = ev->ts;
	}
}

static uint64_t requested(const struct tape_event *ev)
{
	const struct tape_alloc *a = &ev->alloc;

	if (ev->type == TAPE_EV_CALLOC || ev->type == TAPE_EV_REALLOCARRAY)
		return a->nmemb && a->size > UINT64_MAX / a->nmemb ? UINT64_MAX : a->nmemb * a->size;
	return a->size;
}

static void on_alloc(struct heap_model *m, const struct tape_event *ev)
{
	struct heap_process *pr = process(m, ev->pid);
	const struct tape_alloc *a = &ev->alloc;
	bool reall = ev->type == TAPE_EV_REALLOC || ev->type == TAPE_EV_REALLOCARRAY;

	pr->ops++;
	if (tape_type_frees(ev->type)) {
		if (a->ptr)
			release(m, pr, a->ptr, ev);
		return;
	}
	if (!a->result || (ev->type == TAPE_EV_POSIX_MEMALIGN && a->err)) {
		/* glibc's realloc(p, 0) frees p and returns NULL. */
		if (reall && a->ptr && !requested(ev))
			release(m, pr, a->ptr, ev);
		return;
	}
	if (reall && a->ptr)
		release(m, pr, a->ptr, ev);
	make_block(m, pr, a->result, requested(ev), ev);
}

/* Copies one map of the parent's into the child's, with copies of the blocks. */
static void copy_blocks(struct heap_model *m, uint32_t parent, uint32_t child, bool aside)
{
	struct u64map *src = aside ? &m->procs[parent].addrs.aside : &m->procs[parent].addrs.live;

	for (size_t i = 0; i < src->cap; i++) {
		struct u64map_slot *s = &src->slots[i];
		uint32_t b, from;

		if (!s->key)
			continue;
		from = aside ? (uint32_t)s->value : (uint32_t)(s->value >> 32);
		b = new_block(m);
		m->blocks[b] = m->blocks[from];
		m->blocks[b].pid = m->procs[child].pid;
		if (aside)
			u64map__put(&m->procs[child].addrs.aside, s->key, b);
		else
			u64map__put(&m->procs[child].addrs.live, s->key,
				    (uint64_t)b << 32 | (uint32_t)s->value);
	}
}

/* A forked child starts with copies of its parent's blocks. */
static void on_fork(struct heap_model *m, const struct tape_event *ev)
{
	struct heap_process *child;
	uint32_t pi, ci;

	if (ev->fork.flags & TAPE_FORK_THREAD)
		return;
	pi = process(m, ev->pid) - m->procs;
	u64map__put(&m->by_pid, ev->fork.child_pid, 0);	/* a reused pid starts anew */
	child = process(m, ev->fork.child_pid);	/* may move procs: indices from here */
	ci = child - m->procs;
	copy_blocks(m, pi, ci, false);
	copy_blocks(m, pi, ci, true);
	child = &m->procs[ci];
	child->live_bytes = child->peak_bytes = m->procs[pi].live_bytes;
	child->live_blocks = m->procs[pi].live_blocks;
	child->peak_ts = ev->ts;
}

/* After exec the old image's heap is gone: a new process record for the pid. */
static void on_exec(struct heap_model *m, const struct tape_event *ev)
{
	struct heap_process *pr = process(m, ev->pid);

	for (size_t i = 0; i < pr->addrs.live.cap; i++)
		if (pr->addrs.live.slots[i].key)
			drop_block(m, pr->addrs.live.slots[i].value >> 32);
	for (size_t i = 0; i < pr->addrs.aside.cap; i++)
		if (pr->addrs.aside.slots[i].key)
			drop_block(m, pr->addrs.aside.slots[i].value);
	addr_map__free(&pr->addrs);
	addr_map__init(&pr->addrs, m->has_threads);
	pr->live_bytes = pr->live_blocks = 0;
	pr->exited = true;
	process(m, ev->pid);
}

void heap_model__event(struct heap_model *m, const struct tape_event *ev)
{
	if (tape_type_is_alloc(ev->type))
		on_alloc(m, ev);
	else if (ev->type == TAPE_EV_FORK)
		on_fork(m, ev);
	else if (ev->type == TAPE_EV_EXEC)
		on_exec(m, ev);
	else if (ev->type == TAPE_EV_EXIT && (ev->exit.flags & TAPE_EXIT_PROCESS))
		process(m, ev->pid)->exited = true;
}

void heap_model__each_live(struct heap_model *m,
			   void (*fn)(const struct heap_block *b, uint64_t addr, void *ctx),
			   void *ctx)
{
	for (uint32_t i = 0; i < m->nprocs; i++) {
		struct u64map *live = &m->procs[i].addrs.live, *aside = &m->procs[i].addrs.aside;

		for (size_t k = 0; k < live->cap; k++)
			if (live->slots[k].key)
				fn(&m->blocks[live->slots[k].value >> 32], live->slots[k].key, ctx);
		/* Set-aside blocks are live too: their release never came. */
		for (size_t k = 0; k < aside->cap; k++)
			if (aside->slots[k].key)
				fn(&m->blocks[aside->slots[k].value], aside->slots[k].key, ctx);
	}
}

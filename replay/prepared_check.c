/*
 * Mapping a prepared form back in, and checking all the engine relies on:
 * a saved file may be damaged or hostile. Beyond bounds and indices, each
 * process is simulated in tape order (children from their parent's state at
 * the fork): every slot an op releases must be live, every slot it makes must
 * be free, and an op touching a slot another thread touched last must wait
 * for exactly the generation it has then. So the replay can neither free a
 * block twice, nor race another thread for a block, nor wait forever.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prepare.h"
#include "vec.h"

#define FAIL(...)                                               \
	do {                                                    \
		snprintf(msg, msglen, "corrupt prepared file: " __VA_ARGS__); \
		return -EBADMSG;                                \
	} while (0)

static bool range_ok(uint64_t off, uint64_t n, uint64_t elem, uint64_t size)
{
	return n <= size / (elem ? elem : 1) && off <= size && n * elem <= size - off;
}

static bool releases(const struct op *op, uint32_t *slot)
{
	if (op->kind == OP_FREE && op->slot != NO_SLOT) {
		*slot = op->slot;
		return true;
	}
	if ((op->kind == OP_REALLOC || op->kind == OP_REALLOCARRAY) && op->old_slot != NO_SLOT) {
		*slot = op->old_slot;
		return true;
	}
	return false;
}

static bool makes(const struct op *op)
{
	return op->kind >= OP_MALLOC && op->kind <= OP_PVALLOC;
}

/* Slot state during the simulation. */
struct sim {
	uint32_t *gen;
	uint32_t *last;		/* thread that touched it last, or NO_INDEX */
	uint8_t *live;
	uint64_t nslots;
};

static int sim_new(struct sim *s, uint64_t nslots, const struct sim *from)
{
	s->nslots = nslots;
	s->gen = mem_alloc(nslots * 4 + 4);
	s->last = mem_alloc(nslots * 4 + 4);
	s->live = mem_alloc(nslots + 1);
	if (!s->gen || !s->last || !s->live)
		return -ENOMEM;
	if (from) {
		memcpy(s->gen, from->gen, (from->nslots < nslots ? from->nslots : nslots) * 4);
		memcpy(s->live, from->live, from->nslots < nslots ? from->nslots : nslots);
	}
	/* A child's threads are new: none touched any slot yet. */
	for (uint64_t i = 0; i < nslots; i++)
		s->last[i] = NO_INDEX;
	return 0;
}

static void sim_free(struct sim *s)
{
	mem_free(s->gen, s->nslots * 4 + 4);
	mem_free(s->last, s->nslots * 4 + 4);
	mem_free(s->live, s->nslots + 1);
}

static int simulate(const struct prepared *p, uint32_t pi, const struct sim *from, int depth,
		    char *msg, size_t msglen);

/* Checks one op against the slot state, then applies it. */
static int step(const struct prepared *p, const struct op *op, uint32_t t, struct sim *s,
		char *msg, size_t msglen)
{
	uint32_t slot;

	if (releases(op, &slot)) {
		if (slot >= s->nslots || !s->live[slot])
			FAIL("an op releases slot %u, which is not live", slot);
		if (s->last[slot] != NO_INDEX && s->last[slot] != t &&
		    (!(op->flags & OPF_WAIT) || op->expect != s->gen[slot]))
			FAIL("an op on slot %u does not wait for the thread that touched it last", slot);
		s->gen[slot]++;
		s->last[slot] = t;
		s->live[slot] = 0;
	}
	if (makes(op)) {
		slot = op->slot;
		if (slot >= s->nslots || s->live[slot])
			FAIL("an op makes slot %u, which is not free", slot);
		if (s->last[slot] != NO_INDEX && s->last[slot] != t)
			FAIL("an allocation takes slot %u from another thread", slot);
		s->gen[slot]++;
		s->last[slot] = t;
		s->live[slot] = 1;
	}
	(void)p;
	return 0;
}

/*
 * At fork number k, every other thread with ops still to come must be held
 * at its fence k: the child then inherits exactly the state of the tape.
 */
static int check_fork_point(const struct prepared *p, const struct prep_process *pr,
			    const uint64_t *cursor, uint32_t forker, uint64_t k, char *msg,
			    size_t msglen)
{
	for (uint32_t local = 0; local < pr->nthreads; local++) {
		const struct prep_thread *th = &p->threads[pr->first_thread + local];
		bool more = false;

		if (pr->first_thread + local == forker)
			continue;
		for (uint64_t c = cursor[local]; c < th->nops && !more; c++)
			more = p->ops[th->first_op + c].kind != OP_FENCE;
		if (more && (cursor[local] >= th->nops ||
			     p->ops[th->first_op + cursor[local]].kind != OP_FENCE ||
			     p->ops[th->first_op + cursor[local]].aux != k))
			FAIL("a thread is not held at the fence of fork %llu", (unsigned long long)k);
	}
	return 0;
}

static int simulate(const struct prepared *p, uint32_t pi, const struct sim *from, int depth,
		    char *msg, size_t msglen)
{
	const struct prep_process *pr = &p->procs[pi];
	uint64_t cursor_storage[64], *cursor = cursor_storage, forks = 0;
	struct sim s;
	int err;

	if (depth > 1024)
		FAIL("processes nest too deeply");
	if (pr->nthreads > 64) {
		cursor = mem_alloc(pr->nthreads * sizeof(*cursor));
		if (!cursor)
			return -ENOMEM;
	}
	memset(cursor, 0, pr->nthreads * sizeof(*cursor));
	err = sim_new(&s, pr->nslots, from);
	for (uint64_t i = 0; i < pr->nops && !err; i++) {
		uint32_t t = p->order[pr->first_order + i];
		uint32_t local = t - pr->first_thread;
		const struct prep_thread *th = &p->threads[t];
		const struct op *op;

		/* Fences are not in the serial order; each is passed after its fork. */
		do {
			if (cursor[local] >= th->nops) {
				snprintf(msg, msglen, "corrupt prepared file: a thread's order runs past its ops");
				err = -EBADMSG;
				break;
			}
			op = &p->ops[th->first_op + cursor[local]++];
			if (op->kind == OP_FENCE && op->aux >= forks) {
				snprintf(msg, msglen, "corrupt prepared file: a fence before its fork");
				err = -EBADMSG;
				break;
			}
		} while (op->kind == OP_FENCE);
		if (err)
			break;
		err = step(p, op, t, &s, msg, msglen);
		if (!err && op->kind == OP_FORK) {
			if (op->expect != forks)
				err = -EBADMSG, snprintf(msg, msglen, "corrupt prepared file: forks out of order");
			else
				err = check_fork_point(p, pr, cursor, t, forks, msg, msglen);
			forks++;
		}
		if (!err && op->kind == OP_FORK)
			err = simulate(p, op->aux, &s, depth + 1, msg, msglen);
		if (!err && op->kind == OP_EXEC)
			err = simulate(p, op->aux, NULL, depth + 1, msg, msglen);
	}
	/* Whatever a thread holds beyond the serial order could only be fences. */
	for (uint32_t local = 0; local < pr->nthreads && !err; local++) {
		const struct prep_thread *th = &p->threads[pr->first_thread + local];

		for (uint64_t c = cursor[local]; c < th->nops && !err; c++)
			if (p->ops[th->first_op + c].kind != OP_FENCE ||
			    p->ops[th->first_op + c].aux >= forks)
				err = -EBADMSG, snprintf(msg, msglen,
							 "corrupt prepared file: ops outside the serial order");
	}
	sim_free(&s);
	if (cursor != cursor_storage)
		mem_free(cursor, pr->nthreads * sizeof(*cursor));
	return err;
}

static int check_op(const struct prepared *p, const struct op *op, uint32_t pi, uint64_t nslots,
		    char *msg, size_t msglen)
{
	switch (op->kind) {
	case OP_MALLOC ... OP_PVALLOC:
	case OP_FREE:
		if ((op->slot != NO_SLOT && op->slot >= nslots) ||
		    (op->old_slot != NO_SLOT && op->old_slot >= nslots))
			FAIL("an op's slot is out of range");
		if (op->kind != OP_FREE && op->slot == NO_SLOT)
			FAIL("an allocation has no slot");
		return 0;
	case OP_FORK:
		if (op->aux >= p->h->nprocesses || p->procs[op->aux].parent != pi || op->aux <= pi)
			FAIL("a fork names a process that is not its child");
		return 0;
	case OP_EXEC:
		if (op->aux >= p->h->nprocesses || p->procs[op->aux].exec_of != pi || op->aux <= pi)
			FAIL("an exec names a process that is not its image");
		return 0;
	case OP_FENCE:
		return 0;
	}
	FAIL("unknown op kind %u", op->kind);
}

int prepared__check(struct prepared *p, const void *data, size_t size, char *msg, size_t msglen)
{
	const struct prep_header *h = data;
	int err;

	memset(p, 0, sizeof(*p));
	if (size < sizeof(*h) || memcmp(h->magic, PREPARED_MAGIC, PREPARED_MAGIC_LEN))
		FAIL("no prepared-file magic");
	if (h->version != PREPARED_VERSION || h->header_size != sizeof(*h))
		FAIL("version %u, this engine reads version %u", h->version, PREPARED_VERSION);
	if (h->pointer_size != sizeof(void *)) {
		snprintf(msg, msglen,
			 "the prepared file was made on a machine with %u-byte pointers; this one has %zu: prepare it again here",
			 h->pointer_size, sizeof(void *));
		return -EINVAL;
	}
	if (h->file_size > size)
		FAIL("it is cut short (%zu of %llu bytes)", size, (unsigned long long)h->file_size);
	/* Every slot is made by an allocation: never more slots than ops. */
	if (h->nslots > h->nops + 1)
		FAIL("%llu slots for %llu ops", (unsigned long long)h->nslots,
		     (unsigned long long)h->nops);
	size = h->file_size;
	if (!range_ok(h->processes_offset, h->nprocesses, sizeof(struct prep_process), size) ||
	    !range_ok(h->threads_offset, h->nthreads, sizeof(struct prep_thread), size) ||
	    !range_ok(h->ops_offset, h->nops, sizeof(struct op), size) ||
	    !range_ok(h->live_offset, h->nlive, sizeof(uint64_t), size) ||
	    h->processes_offset % 8 || h->threads_offset % 8 || h->ops_offset % 8 ||
	    h->order_offset % 8 || h->live_offset % 8 || !h->sample_every)
		FAIL("its tables lie outside it");
	p->h = h;
	p->procs = (const void *)((const char *)data + h->processes_offset);
	p->threads = (const void *)((const char *)data + h->threads_offset);
	p->ops = (const void *)((const char *)data + h->ops_offset);
	p->order = (const void *)((const char *)data + h->order_offset);
	p->live = (const void *)((const char *)data + h->live_offset);

	uint64_t total_ops = 0, serial = 0;

	for (uint32_t t = 0; t < h->nthreads; t++) {
		const struct prep_thread *th = &p->threads[t];

		if (th->process >= h->nprocesses || th->first_op > h->nops ||
		    th->nops > h->nops - th->first_op)
			FAIL("thread %u lies outside the tables", t);
		total_ops += th->nops;
	}
	for (uint32_t i = 0; i < h->nprocesses; i++) {
		const struct prep_process *pr = &p->procs[i];

		if (pr->first_thread > h->nthreads || pr->nthreads > h->nthreads - pr->first_thread ||
		    pr->nslots > h->nslots || pr->nlive > h->nlive ||
		    pr->first_live > h->nlive - pr->nlive || pr->nops > h->nops - serial ||
		    pr->first_order != serial)
			FAIL("process %u lies outside the tables", i);
		if ((pr->parent != NO_INDEX && pr->parent >= i) ||
		    (pr->exec_of != NO_INDEX && pr->exec_of >= i))
			FAIL("process %u comes before its parent", i);
		if (pr->main_thread != NO_INDEX && (pr->main_thread < pr->first_thread ||
						    pr->main_thread - pr->first_thread >= pr->nthreads))
			FAIL("process %u's main thread is not its own", i);
		for (uint32_t t = pr->first_thread; t < pr->first_thread + pr->nthreads; t++)
			if (p->threads[t].process != i)
				FAIL("thread %u is listed under the wrong process", t);
		serial += pr->nops;
	}
	if (serial > h->nops || !range_ok(h->order_offset, serial, sizeof(uint32_t), size) ||
	    total_ops > h->nops)
		FAIL("the op counts do not add up");
	for (uint32_t i = 0; i < h->nprocesses; i++) {
		const struct prep_process *pr = &p->procs[i];

		for (uint64_t k = 0; k < pr->nops; k++) {
			uint32_t t = p->order[pr->first_order + k];

			if (t < pr->first_thread || t - pr->first_thread >= pr->nthreads)
				FAIL("process %u's order names another process's thread", i);
		}
		for (uint32_t t = pr->first_thread; t < pr->first_thread + pr->nthreads; t++)
			for (uint64_t k = 0; k < p->threads[t].nops; k++) {
				err = check_op(p, &p->ops[p->threads[t].first_op + k], i, pr->nslots, msg,
					       msglen);
				if (err)
					return err;
			}
	}
	/* Roots and exec images start empty; children start from their parent's state. */
	for (uint32_t i = 0; i < h->nprocesses; i++) {
		if (p->procs[i].parent != NO_INDEX || p->procs[i].exec_of != NO_INDEX)
			continue;
		err = simulate(p, i, NULL, 0, msg, msglen);
		if (err)
			return err;
	}
	return 0;
}

int prepared__map(struct prepared *p, int fd, char *msg, size_t msglen)
{
	struct stat st;
	void *map;
	int err;

	if (fstat(fd, &st)) {
		snprintf(msg, msglen, "cannot read the prepared form: %s", strerror(errno));
		return -errno;
	}
	if ((size_t)st.st_size < sizeof(struct prep_header)) {
		snprintf(msg, msglen, "corrupt prepared file: too short");
		return -EBADMSG;
	}
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		snprintf(msg, msglen, "cannot map the prepared form: %s", strerror(errno));
		return -errno;
	}
	err = prepared__check(p, map, st.st_size, msg, msglen);
	if (err) {
		munmap(map, st.st_size);
		return err;
	}
	p->map = map;
	p->size = st.st_size;
	return 0;
}

void prepared__unmap(struct prepared *p)
{
	if (p->map)
		munmap(p->map, p->size);
	memset(p, 0, sizeof(*p));
}

/*
 * The replay benchmark's two baselines, each timing only its replay loop,
 * as the engine's report does:
 *
 *   replay_baselines limit PREPARED  the physical limit: the same calls to
 *       the allocator with the same sizes, in the same order, from a
 *       pre-built array; nothing else (no timing, sampling or touching)
 *   replay_baselines hash TAPE       a replayer built like mwrap's: one
 *       global stream of recorded pointers, a hash map from each recorded
 *       pointer to the one the replay got
 *
 * Both print "ops N seconds S".
 */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "event_source.h"
#include "prepare.h"
#include "u64map.h"

/* One call, as the allocator sees it. */
static void *call(unsigned kind, uint64_t size, uint64_t aux, void *old)
{
	void *p = NULL;

	switch (kind) {
	case OP_MALLOC:
		return malloc(size);
	case OP_CALLOC:
		return calloc(aux, size);
	case OP_REALLOC:
		return realloc(old, size);
	case OP_REALLOCARRAY:
		return reallocarray(old, aux, size);
	case OP_POSIX_MEMALIGN:
		return posix_memalign(&p, aux, size) ? NULL : p;
	case OP_ALIGNED_ALLOC:
		return aligned_alloc(aux, size);
	case OP_MEMALIGN:
		return memalign(aux, size);
	case OP_VALLOC:
		return valloc(size);
	case OP_PVALLOC:
		return pvalloc(size);
	}
	return NULL;
}

struct flat_op {
	uint64_t size, aux;
	uint32_t slot, rel;
	uint32_t kind;
};

static int limit(const char *path)
{
	struct prepared p;
	char msg[512];
	int fd = open(path, O_RDONLY);
	const struct prep_process *pr;
	struct flat_op *ops;
	uint64_t *cursor, n = 0;
	void **slots;
	double t0;

	if (fd < 0 || prepared__map(&p, fd, msg, sizeof(msg))) {
		fprintf(stderr, "replay_baselines: %s: cannot map\n", path);
		return 1;
	}
	/* The process with the most calls (a started command's first image has none). */
	pr = &p.procs[0];
	for (uint32_t i = 1; i < p.h->nprocesses; i++)
		if (p.procs[i].nops > pr->nops)
			pr = &p.procs[i];
	ops = malloc(pr->nops * sizeof(*ops));
	cursor = calloc(pr->nthreads, sizeof(*cursor));
	slots = calloc(pr->nslots + 1, sizeof(*slots));
	if (!ops || !cursor || !slots)
		return 1;
	/* The first process's calls in the tape's order: what serial replay makes. */
	for (uint64_t i = 0; i < pr->nops; i++) {
		uint32_t local = p.order[pr->first_order + i] - pr->first_thread;
		const struct prep_thread *th = &p.threads[pr->first_thread + local];
		const struct op *op;

		do
			op = &p.ops[th->first_op + cursor[local]++];
		while (op->kind == OP_FENCE);
		if (op->kind > OP_PVALLOC && op->kind != OP_FREE)
			continue;
		ops[n++] = (struct flat_op){ op->size, op->aux, op->slot,
					     op->kind == OP_FREE ? op->slot : op->old_slot, op->kind };
	}
	t0 = bench_now();
	for (uint64_t i = 0; i < n; i++) {
		const struct flat_op *o = &ops[i];
		void *old = o->rel != NO_SLOT ? slots[o->rel] : NULL;

		if (o->kind == OP_FREE) {
			free(old);
			continue;
		}
		slots[o->slot] = call(o->kind, o->size, o->aux, old);
	}
	printf("ops %llu seconds %.6f\n", (unsigned long long)n, bench_now() - t0);
	return 0;
}

struct rec {
	uint64_t size, aux, old, result;
	unsigned kind;
};

static unsigned op_of(unsigned type)
{
	switch (type) {
	case TAPE_EV_MALLOC: return OP_MALLOC;
	case TAPE_EV_CALLOC: return OP_CALLOC;
	case TAPE_EV_REALLOC: return OP_REALLOC;
	case TAPE_EV_REALLOCARRAY: return OP_REALLOCARRAY;
	case TAPE_EV_POSIX_MEMALIGN: return OP_POSIX_MEMALIGN;
	case TAPE_EV_ALIGNED_ALLOC: return OP_ALIGNED_ALLOC;
	case TAPE_EV_MEMALIGN: return OP_MEMALIGN;
	case TAPE_EV_VALLOC: return OP_VALLOC;
	case TAPE_EV_PVALLOC: return OP_PVALLOC;
	case TAPE_EV_FREE: return OP_FREE;
	}
	return 0;
}

static int hash(const char *path)
{
	struct event_source *src;
	struct tape_event ev;
	struct rec *recs = NULL;
	size_t n = 0, cap = 0;
	struct u64map map;
	char msg[512];
	double t0;

	if (event_source__open(&src, path, msg, sizeof(msg))) {
		fprintf(stderr, "replay_baselines: %s\n", msg);
		return 1;
	}
	while (event_source__next(src, &ev) > 0) {
		unsigned kind = op_of(ev.type);

		/* Like mwrap: successful calls only. */
		if (!kind || (kind != OP_FREE && (!ev.alloc.result || ev.alloc.err)) ||
		    (kind == OP_FREE && !ev.alloc.ptr))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1 << 20;
			recs = realloc(recs, cap * sizeof(*recs));
			if (!recs)
				return 1;
		}
		recs[n++] = (struct rec){ ev.alloc.size, ev.alloc.nmemb ? ev.alloc.nmemb : ev.alloc.align,
					  ev.alloc.ptr,
					  ev.alloc.result, kind };
	}
	event_source__close(src, NULL, 0);
	u64map__init(&map);
	t0 = bench_now();
	for (size_t i = 0; i < n; i++) {
		const struct rec *r = &recs[i];
		uint64_t got = 0;
		void *p;

		if (r->old && !u64map__del(&map, r->old, &got) && r->kind == OP_FREE)
			continue;	/* from before the recording */
		if (r->kind == OP_FREE) {
			free((void *)got);
			continue;
		}
		p = call(r->kind, r->size, r->aux, (void *)got);
		u64map__put(&map, r->result, (uint64_t)p);
	}
	printf("ops %zu seconds %.6f\n", n, bench_now() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "limit"))
		return limit(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "hash"))
		return hash(argv[2]);
	fprintf(stderr, "usage: replay_baselines limit PREPARED | replay_baselines hash TAPE\n");
	return 2;
}

/* A tape's stacks, by (pid, id), located and interned: see stack_table.h. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "grow_array.h"
#include "stack_table.h"
#include "u64map.h"

/* Frames kept at most, defined (addresses) and located (file, offset): about 200 MiB. */
#define FRAMES_MAX (8u << 20)

/* A stack record, by (pid, id): its frames until first used, then its handle. */
struct defined {
	uint32_t pid;
	uint32_t first;		/* in raw */
	uint32_t n, flags;
	uint32_t handle;	/* 0: not located yet */
};

/* An interned stack: handle h is stacks[h - 1]. */
struct stack {
	uint64_t hash;
	uint32_t first;		/* in locs */
	uint32_t n, flags;
};

struct stack_table {
	struct symbolizer *sym;
	struct defined *defs;
	size_t ndefs, defs_cap;
	struct u64map by_id;		/* pid << 32 | id -> defs index + 1 */
	uint64_t *raw;
	size_t nraw, raw_cap;
	struct stack *stacks;
	size_t nstacks, stacks_cap;
	struct u64map by_content;	/* hash -> handle, probed */
	struct sym_loc *locs;
	size_t nlocs, locs_cap;
	uint64_t unknown;
	bool full;
};

struct stack_table *stack_table__new(struct symbolizer *sym)
{
	struct stack_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->sym = sym;
	u64map__init(&t->by_id);
	u64map__init(&t->by_content);
	return t;
}

void stack_table__free(struct stack_table *t)
{
	if (!t)
		return;
	u64map__free(&t->by_id);
	u64map__free(&t->by_content);
	free(t->defs);
	free(t->raw);
	free(t->stacks);
	free(t->locs);
	free(t);
}

static bool over_budget(struct stack_table *t, size_t more)
{
	if (t->nraw + t->nlocs + more <= FRAMES_MAX)
		return false;
	if (!t->full)
		cli_warn("the tape holds more than %u stack frames: later stacks are not kept, and their calls are shown by their caller",
			 FRAMES_MAX);
	t->full = true;
	return true;
}

void stack_table__add(struct stack_table *t, const struct tape_event *ev)
{
	const struct tape_stack *st = &ev->stack;
	uint64_t key = (uint64_t)ev->pid << 32 | st->id, *v;
	struct defined *d;
	uint64_t *raw;
	bool seen;

	if (ev->type != TAPE_EV_STACK || !st->id || over_budget(t, st->nframes))
		return;
	raw = grow_array(t->raw, &t->raw_cap, t->nraw + st->nframes, sizeof(*raw));
	d = grow_array(t->defs, &t->defs_cap, t->ndefs + 1, sizeof(*d));
	if (raw)
		t->raw = raw;
	if (d)
		t->defs = d;
	v = raw && d ? u64map__upsert(&t->by_id, key, &seen) : NULL;
	if (!v)
		return;
	/* A second definition of (pid, id) replaces the first from here on. */
	if (!seen)
		*v = ++t->ndefs;
	d = &t->defs[*v - 1];
	*d = (struct defined){ ev->pid, t->nraw, st->nframes, st->flags, 0 };
	memcpy(t->raw + t->nraw, st->frames, st->nframes * sizeof(*t->raw));
	t->nraw += st->nframes;
}

static bool same_locs(const struct sym_loc *a, const struct sym_loc *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (a[i].module != b[i].module || a[i].offset != b[i].offset)
			return false;
	return true;
}

static uint64_t hash_locs(const struct sym_loc *locs, uint32_t n, uint32_t flags)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ flags;

	for (uint32_t i = 0; i < n; i++) {
		h ^= locs[i].offset + ((uint64_t)locs[i].module << 40);
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	return h ^ n;
}

/* The handle of a located stack, the one already kept when the same. */
static uint32_t intern(struct stack_table *t, const struct sym_loc *locs, uint32_t n,
		       uint32_t flags)
{
	uint64_t hash = hash_locs(locs, n, flags), key = hash, *v;
	struct stack *s;

	for (;; key++) {
		v = u64map__get(&t->by_content, key);
		if (!v)
			break;
		s = &t->stacks[*v - 1];
		if (s->hash == hash && s->n == n && s->flags == flags &&
		    same_locs(t->locs + s->first, locs, n))
			return *v;
	}
	s = grow_array(t->stacks, &t->stacks_cap, t->nstacks + 1, sizeof(*s));
	if (!s)
		return 0;
	t->stacks = s;
	if (u64map__put(&t->by_content, key, t->nstacks + 1))
		return 0;
	/* The located frames were built at the end of locs: they stay where they are. */
	t->stacks[t->nstacks] = (struct stack){ hash, (uint32_t)(locs - t->locs), n, flags };
	t->nlocs += n;
	return ++t->nstacks;
}

uint32_t stack_table__use(struct stack_table *t, uint32_t pid, uint32_t id)
{
	uint64_t *v;
	struct defined *d;
	struct sym_loc *locs;

	if (!id)
		return 0;
	v = u64map__get(&t->by_id, (uint64_t)pid << 32 | id);
	if (!v) {
		t->unknown++;
		return 0;
	}
	d = &t->defs[*v - 1];
	if (d->handle)
		return d->handle;
	if (over_budget(t, d->n)) {
		t->unknown++;
		return 0;
	}
	/* Located now, with the maps of the call that first used it. */
	locs = grow_array(t->locs, &t->locs_cap, t->nlocs + d->n, sizeof(*locs));
	if (!locs)
		return 0;
	t->locs = locs;
	locs += t->nlocs;
	for (uint32_t i = 0; i < d->n; i++)
		locs[i] = t->sym ? symbolizer__locate(t->sym, pid, t->raw[d->first + i]) :
				   (struct sym_loc){ SYM_NO_MODULE, t->raw[d->first + i] };
	d->handle = intern(t, locs, d->n, d->flags);
	return d->handle;
}

bool stack_table__get(const struct stack_table *t, uint32_t handle, struct stack_view *v)
{
	const struct stack *s;

	if (!handle || handle > t->nstacks)
		return false;
	s = &t->stacks[handle - 1];
	v->locs = t->locs + s->first;
	v->n = s->n;
	v->flags = s->flags;
	return true;
}

uint64_t stack_table__unknown(const struct stack_table *t)
{
	return t->unknown;
}

uint32_t stack_table__count(const struct stack_table *t)
{
	return t->nstacks;
}

/*
 * Compares the allocator calls in a tape with the ground truth that
 * tests/workloads/alloc_workload wrote: for every thread of the log, each
 * marked sequence must appear in that thread's events exactly (function,
 * pointers, sizes, results, errors), in order, with nothing in between.
 *
 * Usage: check_alloc TAPE LOG [--pre-attach] [--allow-gaps]
 *   --pre-attach  the log's pre-attach frees must be in the tape, as frees
 *                 of blocks the tape never saw allocated
 *   --allow-gaps  follow-gap loss records are expected; other losses still fail
 * Prints what differs and exits 1, or prints a summary and exits 0.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_source.h"
#include "grow_array.h"
#include "tape.h"
#include "u64map.h"

struct call {
	uint32_t tid;
	unsigned type;
	bool pre_attach;
	struct tape_alloc a;
};

struct list {
	struct call *v;
	size_t n, cap;
};

static void push(struct list *l, const struct call *c)
{
	l->v = grow_array_or_abort(l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = *c;
}

/* Marker sizes: every malloc this large is one of the workload's markers. */
static bool is_marker(const struct call *c)
{
	return c->type == TAPE_EV_MALLOC && c->a.size > UINT64_MAX - 0x1000000;
}

/* glibc's aligned_alloc and memalign are one function, probed under one name. */
static bool same_type(unsigned a, unsigned b)
{
	if (a == TAPE_EV_ALIGNED_ALLOC)
		a = TAPE_EV_MEMALIGN;
	if (b == TAPE_EV_ALIGNED_ALLOC)
		b = TAPE_EV_MEMALIGN;
	return a == b;
}

static bool same_call(const struct call *x, const struct call *y)
{
	return same_type(x->type, y->type) && x->a.ptr == y->a.ptr && x->a.size == y->a.size &&
	       x->a.nmemb == y->a.nmemb && x->a.align == y->a.align &&
	       x->a.result == y->a.result && x->a.err == y->a.err;
}

static void show(const char *what, const struct call *c)
{
	printf("  %s: tid %u %s ptr 0x%" PRIx64 " size 0x%" PRIx64 " nmemb 0x%" PRIx64
	       " align 0x%" PRIx64 " result 0x%" PRIx64 " err %d\n",
	       what, c->tid, tape_type_name(c->type), c->a.ptr, c->a.size, c->a.nmemb, c->a.align,
	       c->a.result, c->a.err);
}

static int read_log(const char *path, struct list *out)
{
	char line[512], func[64];
	FILE *f = fopen(path, "r");

	if (!f) {
		printf("cannot open the log %s\n", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct call c = { 0 };
		uint64_t tid, err;

		if (sscanf(line, "%" SCNx64 " %63s %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64
			   " %" SCNx64 " %" SCNx64, &tid, func, &c.a.ptr, &c.a.size, &c.a.nmemb,
			   &c.a.align, &c.a.result, &err) != 8)
			continue;
		c.tid = tid;
		c.a.err = (int32_t)err;
		c.pre_attach = !strcmp(func, "free-pre-attach");
		c.type = c.pre_attach ? TAPE_EV_FREE : tape_type_from_name(func);
		push(out, &c);
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	struct list log = { 0 }, tape = { 0 };
	bool pre_attach = false, allow_gaps = false;
	struct event_source *src;
	struct tape_event ev;
	struct u64map allocated;
	size_t matched = 0, failures = 0, losses = 0, gaps = 0, sequences = 0;
	char msg[512];

	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--pre-attach"))
			pre_attach = true;
		else if (!strcmp(argv[i], "--allow-gaps"))
			allow_gaps = true;
	}
	if (argc < 3 || read_log(argv[2], &log))
		return 2;
	if (event_source__open(&src, argv[1], msg, sizeof(msg))) {
		printf("%s\n", msg);
		return 1;
	}
	u64map__init(&allocated);
	while (event_source__next(src, &ev) == 1) {
		struct call c = { .tid = ev.tid, .type = ev.type };

		if (ev.type == TAPE_EV_LOSS) {
			if (ev.loss.reason == TAPE_LOSS_FOLLOW_GAP)
				gaps++;
			else
				losses++;
			continue;
		}
		if (!tape_type_is_alloc(ev.type))
			continue;
		c.a = ev.alloc;
		c.a.caller = 0;
		if (!ev.alloc.caller && !is_marker(&c)) {
			printf("tid %u: a %s with no caller address\n", ev.tid, tape_type_name(ev.type));
			failures++;
		}
		/* Pre-attach frees must be of blocks the tape never saw allocated. */
		if (tape_type_allocates(ev.type) && ev.alloc.result)
			u64map__put(&allocated, ev.alloc.result, 1);
		if (ev.type == TAPE_EV_FREE)
			for (size_t i = 0; pre_attach && i < log.n; i++)
				if (log.v[i].pre_attach && log.v[i].a.ptr == ev.alloc.ptr &&
				    log.v[i].tid == ev.tid) {
					if (u64map__get(&allocated, ev.alloc.ptr)) {
						printf("pre-attach block 0x%" PRIx64 " was allocated in the tape\n",
						       ev.alloc.ptr);
						failures++;
					}
					log.v[i].pre_attach = false;	/* seen */
					matched++;
				}
		push(&tape, &c);
	}
	if (event_source__damage(src, msg, sizeof(msg))) {
		printf("the tape is damaged: %s\n", msg);
		failures++;
	}
	event_source__close(src, NULL, 0);
	if (losses) {
		printf("the tape has %zu loss records\n", losses);
		failures++;
	}
	if (gaps && !allow_gaps) {
		printf("the tape has %zu follow-gap records\n", gaps);
		failures++;
	}

	/* Each marked sequence of the log, found in its thread's events. */
	for (size_t i = 0; i < log.n;) {
		const struct call *begin = &log.v[i];
		size_t j, k, len;

		if (begin->pre_attach || log.v[i].type == TAPE_EV_FREE) {
			if (pre_attach && begin->pre_attach) {
				printf("pre-attach free of 0x%" PRIx64 " is not in the tape\n", begin->a.ptr);
				failures++;
			}
			i++;
			continue;
		}
		if (!is_marker(begin)) {
			show("log entry outside a marked sequence", begin);
			return 2;
		}
		for (len = 1; i + len < log.n && !is_marker(&log.v[i + len]); len++)
			;
		len++;	/* the end marker */
		sequences++;
		for (j = 0; j < tape.n; j++)
			if (tape.v[j].tid == begin->tid && same_call(&tape.v[j], begin))
				break;
		if (j == tape.n) {
			printf("tid %u: sequence %zu not found in the tape\n", begin->tid, sequences);
			failures++;
			i += len;
			continue;
		}
		for (k = 0; k < len; k++) {
			const struct call *want = &log.v[i + k];

			/* The next event of this thread in the tape. */
			while (j < tape.n && tape.v[j].tid != want->tid)
				j++;
			if (j == tape.n) {
				printf("tid %u: the tape ends after %zu of %zu calls of a sequence\n",
				       want->tid, k, len);
				failures++;
				break;
			}
			if (!same_call(&tape.v[j], want)) {
				printf("tid %u: call %zu of its sequence differs\n", want->tid, k);
				show("log ", want);
				show("tape", &tape.v[j]);
				failures++;
				break;
			}
			matched++;
			j++;
		}
		i += len;
	}
	if (failures) {
		printf("FAILED: %zu problems; %zu calls matched\n", failures, matched);
		return 1;
	}
	printf("ok: %zu calls in %zu sequences matched the log exactly (%zu tape events)\n", matched,
	       sequences, tape.n);
	return 0;
}

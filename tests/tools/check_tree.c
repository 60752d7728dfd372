/*
 * Compares the allocator calls of every process in a tape with what the
 * processes counted themselves (tests/workloads/lib/alloc_counter.c, one
 * counts file per PID in a directory).
 *
 * Usage: check_tree TAPE COUNT_DIR [--min-processes N]
 * Every counted process must have exactly its counted calls in the tape, per
 * function; a process may have fewer only where the tape holds a loss record
 * for it (the gap is written down), and never more (a call recorded twice).
 * Prints a summary (processes, calls made, calls in the tape, coverage) and
 * exits 1 on any difference.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "event_source.h"
#include "grow_array.h"
#include "tape.h"
#include "u64map.h"

#define KINDS 16
#define COUNTS_MAGIC 0x74756f63636f6c61ull

struct counts {
	uint64_t magic;
	uint64_t pid;
	uint64_t calls[KINDS];
};

struct proc {
	uint32_t pid;
	uint64_t tape[KINDS];
	uint64_t losses;	/* loss records naming the process (or every process) */
};

struct procs {
	struct proc *v;
	size_t n, cap;
	struct u64map index;
	uint64_t global_losses;
};

static struct proc *proc(struct procs *ps, uint32_t pid)
{
	uint64_t *i = u64map__get(&ps->index, pid);

	if (i)
		return &ps->v[*i];
	ps->v = grow_array_or_abort(ps->v, &ps->cap, ps->n + 1, sizeof(*ps->v));
	memset(&ps->v[ps->n], 0, sizeof(ps->v[0]));
	ps->v[ps->n].pid = pid;
	u64map__put(&ps->index, pid, ps->n);
	return &ps->v[ps->n++];
}

/*
 * The kind of call the counter sees: glibc's aligned_alloc is its memalign
 * (one kind here), and C++'s new and delete, which the counter does not
 * wrap, reach it as the malloc (memalign) and free they make.
 */
static unsigned kind_of(const struct tape_event *ev)
{
	switch (ev->type) {
	case TAPE_EV_ALIGNED_ALLOC:
		return TAPE_EV_MEMALIGN;
	case TAPE_EV_NEW:
		return ev->alloc.variant & TAPE_VARIANT_ALIGNED ? TAPE_EV_MEMALIGN : TAPE_EV_MALLOC;
	case TAPE_EV_DELETE:
		return TAPE_EV_FREE;
	}
	return ev->type;
}

int main(int argc, char **argv)
{
	struct procs ps = { 0 };
	struct event_source *src;
	struct tape_event ev;
	uint64_t made = 0, taped = 0, matched_procs = 0, gap_procs = 0, counted_procs = 0;
	long min_procs = 0;
	int failures = 0;
	char msg[512];
	DIR *dir;
	struct dirent *de;

	if (argc < 3) {
		fprintf(stderr, "usage: check_tree TAPE COUNT_DIR [--min-processes N]\n");
		return 2;
	}
	if (argc == 5 && !strcmp(argv[3], "--min-processes"))
		min_procs = atol(argv[4]);
	u64map__init(&ps.index);
	if (event_source__open(&src, argv[1], msg, sizeof(msg))) {
		printf("%s\n", msg);
		return 1;
	}
	while (event_source__next(src, &ev) == 1) {
		if (ev.type == TAPE_EV_LOSS) {
			if (ev.pid)
				proc(&ps, ev.pid)->losses++;
			else
				ps.global_losses++;
		} else if (tape_type_is_alloc(ev.type) && ev.type < KINDS) {
			proc(&ps, ev.pid)->tape[kind_of(&ev)]++;
		}
	}
	if (event_source__damage(src, msg, sizeof(msg))) {
		printf("the tape is damaged: %s\n", msg);
		failures++;
	}
	event_source__close(src, NULL, 0);

	dir = opendir(argv[2]);
	if (!dir) {
		printf("cannot read %s\n", argv[2]);
		return 2;
	}
	while ((de = readdir(dir))) {
		char path[4096];
		struct counts c;
		struct proc *p;
		uint64_t pmade = 0, ptaped = 0;
		bool differs = false, more = false;
		int fd;

		if (atoi(de->d_name) <= 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[2], de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0 || read(fd, &c, sizeof(c)) != sizeof(c) || c.magic != COUNTS_MAGIC) {
			printf("%s: not a counts file\n", path);
			failures++;
			if (fd >= 0)
				close(fd);
			continue;
		}
		close(fd);
		counted_procs++;
		p = proc(&ps, c.pid);
		c.calls[TAPE_EV_MEMALIGN] += c.calls[TAPE_EV_ALIGNED_ALLOC];
		c.calls[TAPE_EV_ALIGNED_ALLOC] = 0;
		for (unsigned k = 1; k < KINDS; k++) {
			pmade += c.calls[k];
			ptaped += p->tape[k];
			differs |= c.calls[k] != p->tape[k];
			more |= p->tape[k] > c.calls[k];
		}
		made += pmade;
		taped += ptaped < pmade ? ptaped : pmade;
		if (!differs) {
			matched_procs++;
			continue;
		}
		if (!more && (p->losses || ps.global_losses)) {
			gap_procs++;	/* missing calls, written down as a loss */
			continue;
		}
		failures++;
		printf("process %" PRIu64 ": %s without a loss record:", c.pid,
		       more ? "more calls in the tape than it made" : "calls missing");
		for (unsigned k = 1; k < KINDS; k++)
			if (c.calls[k] != p->tape[k])
				printf(" %s %" PRIu64 "/%" PRIu64, tape_type_name(k), p->tape[k],
				       c.calls[k]);
		printf(" (tape/made)\n");
	}
	closedir(dir);
	if (counted_procs < (uint64_t)min_procs) {
		printf("only %" PRIu64 " processes counted their calls, expected %ld at least\n",
		       counted_procs, min_procs);
		failures++;
	}
	printf("%s: %" PRIu64 " processes, %" PRIu64 " exact, %" PRIu64
	       " with gaps written down; %" PRIu64 " calls made, %" PRIu64
	       " in the tape (%.3f%%)\n", failures ? "FAILED" : "ok", counted_procs, matched_procs,
	       gap_procs, made, taped, made ? 100.0 * taped / made : 100.0);
	u64map__free(&ps.index);
	free(ps.v);
	return failures ? 1 : 0;
}

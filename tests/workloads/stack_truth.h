/*
 * Ground truth for symbolised stacks, written by the test workloads
 * (stack_sites.c, stack_sites_cxx.cc) about themselves. Frames are numbered
 * from the outside: main is 0, each call one deeper.
 *
 *   CALL(t, at, expr)   in the function at depth at, evaluates expr (its call
 *                       of the next function) and notes the caller's name
 *                       (__func__) and the line of the call (__LINE__).
 *   NOTE_RETURN(t, at)  in a called function: its return address, that is
 *                       where frame at - 1 continues.
 *   NOTE_INLINED(t, at) in a function always inlined: it has no return
 *                       address of its own; the function it is inlined into
 *                       shares the one its callee notes.
 *
 * The log: the program's executable mappings, then per chain
 *   chain NAME SIZE NFRAMES
 *   FUNCTION FILE LINE RETURN_ADDRESS inlined|-     (NFRAMES lines, innermost first)
 * The innermost frame calls a library function (malloc, fopen, operator new
 * through std::vector): its return address is 0, unknown to the program.
 */
#ifndef BPFTAPE_STACK_TRUTH_H
#define BPFTAPE_STACK_TRUTH_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TRUTH_MAX 16
#define NOINLINE __attribute__((noinline))
/* Keeps each call a call (not a jump): code after it uses memory. */
#define BARRIER() __asm__ volatile("" ::: "memory")

struct truth_frame {
	const char *function;
	const char *file;
	int line;
	void *ra;
	int inlined;
};

struct truth {
	const char *name;
	unsigned long size;
	struct truth_frame f[TRUTH_MAX];
};

static inline void truth_note(struct truth *t, int at, const char *fn, const char *file, int line)
{
	t->f[at].function = fn;
	t->f[at].file = file;
	t->f[at].line = line;
}

#define CALL(t, at, expr) (truth_note((t), (at), __func__, __FILE__, __LINE__), (expr))
#define NOTE_RETURN(t, at) ((t)->f[(at) - 1].ra = __builtin_return_address(0))
#define NOTE_INLINED(t, at) ((t)->f[(at)].inlined = 1)

static inline void truth_start(struct truth *t, const char *name, unsigned long size)
{
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->size = size;
}

static inline void truth_write(struct truth *t, FILE *log)
{
	int n = 0;

	while (n < TRUTH_MAX && t->f[n].function)
		n++;
	/* The function an inlined one sits in returns where it does. */
	for (int i = n - 1; i > 0; i--)
		if (t->f[i].inlined)
			t->f[i - 1].ra = t->f[i].ra;
	fprintf(log, "chain %s %lu %d\n", t->name, t->size, n);
	for (int i = n - 1; i >= 0; i--)
		fprintf(log, "%s %s %d %p %s\n", t->f[i].function, t->f[i].file, t->f[i].line,
			t->f[i].ra, t->f[i].inlined ? "inlined" : "-");
}

/* The executable file mappings, as the kernel lists them: "map START END OFFSET PATH". */
static inline void truth_maps(FILE *log)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[4096];

	fprintf(log, "pid %d\n", (int)getpid());
	while (maps && fgets(line, sizeof(line), maps)) {
		unsigned long start, end, offset;
		char perms[8], path[4096];

		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095s", &start, &end, perms, &offset,
			   path) == 5 && perms[2] == 'x' && path[0] == '/')
			fprintf(log, "map %#lx %#lx %#lx %s\n", start, end, offset, path);
	}
	if (maps)
		fclose(maps);
}

#endif

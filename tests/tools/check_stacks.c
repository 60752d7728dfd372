/*
 * Compares the stacks a tape recorded with the call chains that
 * tests/workloads/stack_chain wrote itself: for each chain, the malloc of
 * its size must carry a stack whose first frame is the malloc's caller and
 * whose next frames are the chain's return addresses, innermost first.
 * With --syscalls, the chain's lseek(-1, size) too: its stack starts in
 * libc's lseek, at the instruction after the syscall, then lseek's caller,
 * then the same return addresses.
 * --syscalls-only: those alone (a recording with --no-alloc).
 * Usage: check_stacks TAPE LOG [--syscalls|--syscalls-only]   exits 1 on any difference.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_source.h"
#include "tape.h"

#define MAX_STACKS 65536
#define DEPTH 8

struct chain {
	uint64_t size;
	int depth;
	uint64_t ra[DEPTH + 1];
};

int main(int argc, char **argv)
{
	static uint64_t *stacks[MAX_STACKS + 1];
	static uint32_t nframes[MAX_STACKS + 1];
	struct chain chains[16];
	int nchains = 0, failures = 0, found = 0;
	struct event_source *src;
	struct tape_event ev;
	char line[512], msg[512];
	FILE *log;

	bool only = argc == 4 && !strcmp(argv[3], "--syscalls-only");
	bool syscalls = only || (argc == 4 && !strcmp(argv[3], "--syscalls"));
	int sys_found = 0;

	if (argc < 3 || !(log = fopen(argv[2], "r")))
		return 2;
	while (nchains < 16 && fgets(line, sizeof(line), log)) {
		struct chain *c = &chains[nchains];
		char *p = line, *end;

		c->size = strtoull(p, &end, 10);
		for (c->depth = 0; c->depth < DEPTH; c->depth++) {
			p = end;
			c->ra[c->depth + 1] = strtoull(p, &end, 16);
			if (end == p)
				break;
		}
		nchains++;
	}
	fclose(log);
	if (event_source__open(&src, argv[1], msg, sizeof(msg))) {
		printf("%s\n", msg);
		return 1;
	}
	while (event_source__next(src, &ev) == 1) {
		if (ev.type == TAPE_EV_STACK && ev.stack.id <= MAX_STACKS) {
			stacks[ev.stack.id] = malloc(ev.stack.nframes * sizeof(uint64_t));
			memcpy(stacks[ev.stack.id], ev.stack.frames, ev.stack.nframes * sizeof(uint64_t));
			nframes[ev.stack.id] = ev.stack.nframes;
			continue;
		}
		if (syscalls && ev.type == TAPE_EV_SYSCALL && ev.sys.nargs >= 2 &&
		    (int32_t)ev.sys.args[0] == -1) {
			for (int i = 0; i < nchains; i++) {
				const struct chain *c = &chains[i];
				const uint64_t *f;

				if (ev.sys.args[1] != c->size)
					continue;
				sys_found++;
				if (!ev.sys.stack || ev.sys.stack > MAX_STACKS || !stacks[ev.sys.stack] ||
				    nframes[ev.sys.stack] < (uint32_t)c->depth + 2) {
					printf("chain %" PRIu64 ": lseek has no stack of %d frames\n", c->size,
					       c->depth + 2);
					failures++;
					continue;
				}
				f = stacks[ev.sys.stack];
				for (int k = 2; k <= c->depth + 1; k++)
					if (f[k] != c->ra[c->depth + 2 - k]) {
						printf("chain %" PRIu64 ": lseek's frame %d is 0x%" PRIx64 ", the program says 0x%" PRIx64 "\n",
						       c->size, k, f[k], c->ra[c->depth + 2 - k]);
						failures++;
						break;
					}
			}
			continue;
		}
		if (ev.type != TAPE_EV_MALLOC)
			continue;
		for (int i = 0; i < nchains; i++) {
			const struct chain *c = &chains[i];
			const uint64_t *f;

			if (ev.alloc.size != c->size)
				continue;
			found++;
			if (!ev.alloc.stack || ev.alloc.stack > MAX_STACKS || !stacks[ev.alloc.stack]) {
				printf("chain %" PRIu64 ": no stack recorded\n", c->size);
				failures++;
				continue;
			}
			f = stacks[ev.alloc.stack];
			if (nframes[ev.alloc.stack] < (uint32_t)c->depth + 1 || f[0] != ev.alloc.caller) {
				printf("chain %" PRIu64 ": %u frames, first 0x%" PRIx64 " (caller 0x%" PRIx64 ")\n",
				       c->size, nframes[ev.alloc.stack], f[0], ev.alloc.caller);
				failures++;
				continue;
			}
			for (int k = 1; k <= c->depth; k++)
				if (f[k] != c->ra[c->depth + 1 - k]) {
					printf("chain %" PRIu64 ": frame %d is 0x%" PRIx64 ", the program says 0x%" PRIx64 "\n",
					       c->size, k, f[k], c->ra[c->depth + 1 - k]);
					failures++;
					break;
				}
		}
	}
	event_source__close(src, NULL, 0);
	if (syscalls && sys_found != nchains) {
		printf("%d of %d chains' lseek calls found with stacks\n", sys_found, nchains);
		failures++;
	}
	if (!only && found != nchains) {
		printf("%d of %d chains' calls found in the tape\n", found, nchains);
		failures++;
	}
	printf("%s: %d chains checked\n", failures ? "FAILED" : "ok", nchains);
	return failures ? 1 : 0;
}

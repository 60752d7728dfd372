/*
 * The heap a tape describes, rebuilt as it streams: each process's live
 * blocks (address, size, when, by which call site), live and peak bytes,
 * and the call sites. A forked child starts with its parent's blocks; an
 * exec empties the process. stat and leaks both read a tape through this.
 */
#ifndef BPFTAPE_HEAP_MODEL_H
#define BPFTAPE_HEAP_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "addr_map.h"
#include "tape.h"
#include "u64map.h"

struct heap_block {
	uint64_t size;		/* requested bytes */
	uint64_t ts;		/* when it was made */
	uint64_t op;		/* the process's allocator-call count then */
	uint32_t site;		/* index in the model's sites */
	uint32_t pid;
	uint32_t tid;		/* the thread that made it */
};

struct heap_site {
	uint32_t pid;		/* the process it was first seen in (for symbolising) */
	uint64_t caller;
	uint32_t stack;		/* the call's stack: a handle in the tool's stack table; 0: none */
	uint64_t calls;		/* allocations made there */
	uint64_t bytes;		/* bytes requested there */
};

struct heap_process {
	uint32_t pid;
	bool exited;
	struct addr_map addrs;	/* address -> index in the model's blocks */
	uint64_t live_bytes, live_blocks;
	uint64_t peak_bytes, peak_ts;
	uint64_t ops;		/* allocator calls so far */
	uint64_t unknown_releases;	/* frees/reallocs of blocks never seen made */
};

/* Called when a block ends (free, realloc), with the process it lived in. */
typedef void (*block_end_fn)(const struct heap_block *b, const struct tape_event *ev,
			     const struct heap_process *pr, void *ctx);

struct heap_model {
	struct heap_process *procs;
	uint32_t nprocs;
	size_t procs_cap;
	struct u64map by_pid;		/* pid -> process index + 1 (the current one) */
	uint32_t last_proc;		/* the last one looked up, index + 1; 0: none */
	struct heap_block *blocks;
	uint32_t nblocks;
	size_t blocks_cap;
	uint32_t free_block;		/* a free list through blocks[i].site */
	struct heap_site *sites;
	uint32_t nsites;
	size_t sites_cap;
	struct u64map site_index;	/* caller address ^ pid mix -> site index + 1 */
	block_end_fn on_end;
	void *ctx;
	bool has_threads;
};

/* has_threads: the tape knows its threads (mwrap's does not), for inversions. */
void heap_model__init(struct heap_model *m, bool has_threads, block_end_fn on_end, void *ctx);
void heap_model__free(struct heap_model *m);
/* Learns from an event; allocator and lifecycle events change the heap. */
void heap_model__event(struct heap_model *m, const struct tape_event *ev);
/* Calls fn for each block still live, in each process. */
void heap_model__each_live(struct heap_model *m,
			   void (*fn)(const struct heap_block *b, uint64_t addr, void *ctx),
			   void *ctx);

#endif

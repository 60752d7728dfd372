/*
 * The prepared form of a tape: what the replay loop runs. A first pass
 * (prepare.c) turns recorded addresses into dense slot numbers and splits
 * the stream per thread, so that the loop indexes arrays and never looks up
 * a hash table. `bpftape-replay --prepare OUT` saves it; the engine maps a
 * saved one straight back in.
 *
 * File layout (native byte order: a prepared file is for the machine that
 * prepared it, and says so): header, processes, threads, ops, serial order,
 * live-bytes samples. Offsets in the header are from the file's start.
 */
#ifndef BPFTAPE_PREPARED_H
#define BPFTAPE_PREPARED_H

#include <stdint.h>

#include "prepared_magic.h"

#define PREPARED_VERSION 1
#define NO_SLOT UINT32_MAX
#define NO_INDEX UINT32_MAX

enum op_kind {
	OP_MALLOC = 1,
	OP_CALLOC,
	OP_REALLOC,
	OP_REALLOCARRAY,
	OP_POSIX_MEMALIGN,
	OP_ALIGNED_ALLOC,
	OP_MEMALIGN,
	OP_VALLOC,
	OP_PVALLOC,
	OP_FREE,		/* values 1..10 are the tape's allocator event types */
	OP_FORK = 16,		/* aux: index of the child process; expect: the fork's number */
	OP_EXEC = 17,		/* aux: index of the process the image becomes */
	OP_FENCE = 18,		/* aux: number of a fork this thread must not pass early */
	OP_KINDS = 19,
};

#define OPF_WAIT 1		/* the block was last touched by another thread: wait for it */

/*
 * One replayed call. slot is the block made (allocations) or released
 * (free); realloc releases old_slot and makes slot. expect is the
 * generation old_slot (or slot, for free) must have reached: every op that
 * touches a slot advances its generation by one, so a wait on it is a wait
 * on exactly the op that last touched the block.
 */
struct op {
	uint64_t size;
	uint64_t aux;		/* nmemb (calloc, reallocarray), alignment (aligned forms) */
	uint32_t slot;
	uint32_t old_slot;	/* realloc, reallocarray: NO_SLOT for NULL */
	uint32_t expect;
	uint16_t kind;
	uint16_t flags;
};

/*
 * One process image: a recorded process, or what it became after an exec
 * (which starts from an empty heap). A child made by fork starts with its
 * parent's heap and slots, as the recorded child did.
 */
struct prep_process {
	uint32_t pid;
	uint32_t parent;	/* index of the process that forked it, or NO_INDEX */
	uint32_t exec_of;	/* index of the image it replaced by exec, or NO_INDEX */
	uint32_t main_thread;	/* the thread that forked or exec'd into it (global index) */
	uint32_t first_thread;	/* its threads: [first_thread, first_thread + nthreads) */
	uint32_t nthreads;
	uint64_t nops;
	uint64_t first_order;	/* its ops in tape order: order[first_order, + nops) */
	uint64_t first_live;	/* its live-bytes samples: live[first_live, + nlive) */
	uint64_t nlive;
	uint64_t peak_live_bytes;
	uint64_t nslots;	/* slots it may use */
};

/*
 * A thread's ops. In faithful mode a fork is a barrier: the forked child
 * must inherit the heap as it was at that point of the tape, so every other
 * thread that has ops after it holds a fence there, and the forking thread
 * waits until each is at its fence or done. Fences are not in the serial
 * order; serial replay skips them.
 */
struct prep_thread {
	uint32_t tid;
	uint32_t process;
	uint64_t first_op;	/* index in the ops array */
	uint64_t nops;		/* fences included */
};

/* What the preparation counted: the report repeats it. */
struct prep_stats {
	uint64_t events;		/* read from the input */
	uint64_t ops;			/* to replay */
	uint64_t by_kind[OP_KINDS];
	uint64_t skipped_failed;	/* recorded failures: never replayed as successes */
	uint64_t skipped_pre_attach;	/* free/realloc of a block from before the recording */
	uint64_t skipped_lost;		/* ... of a block whose allocation a loss record took */
	uint64_t realloc_zero_frees;	/* realloc(p, 0) that returned NULL: replayed as free */
	uint64_t inversions;		/* an address handed out again while the tape held it live */
	uint64_t unresolved_inversions;	/* ... whose old block's release never came */
	uint64_t cross_thread;		/* ops that wait on another thread */
	uint64_t lost_events;		/* counted by the tape's loss records */
	uint64_t follow_gaps;
	uint64_t peak_live_bytes;	/* requested bytes live at once, at most */
	uint64_t peak_live_op;		/* the op (serial order) where that was reached */
	uint64_t final_live_bytes;
	uint64_t damaged_events;	/* lost to damage in the input */
};

struct prep_header {
	char magic[PREPARED_MAGIC_LEN];
	uint32_t version;
	uint32_t header_size;
	uint32_t pointer_size;
	uint32_t page_size;
	uint32_t nprocesses;
	uint32_t nthreads;
	uint64_t nslots;
	uint64_t nops;
	uint64_t processes_offset;
	uint64_t threads_offset;
	uint64_t ops_offset;
	uint64_t order_offset;		/* nops u32 thread indices: the tape's order */
	uint64_t live_offset;		/* live bytes after every sample_every ops, in that order */
	uint64_t nlive;
	uint64_t sample_every;
	uint64_t file_size;
	uint32_t has_threads;		/* the input knew its threads (mwrap does not) */
	uint32_t source_format;
	char source[256];		/* what was prepared, for the report */
	char damage[256];		/* what the reader had to skip, or "" */
	struct prep_stats stats;
};

#endif

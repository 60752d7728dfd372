/*
 * mwrap's allocation-trace format, read and written exactly as mwrap does
 * (see ../shared/docs/mwrap-format.md and docs/FORMAT.md, "mwrap"): records
 * of machine words, native byte order, tag in the low three bits.
 */
#ifndef BPFTAPE_MWRAP_H
#define BPFTAPE_MWRAP_H

#include <stdint.h>

#include "byte_input.h"
#include "tape.h"

enum mwrap_tag {
	MWRAP_FREE = 0,
	MWRAP_MEMALIGN = 1,
	MWRAP_MALLOC = 2,
	MWRAP_REALLOC = 3,
	MWRAP_CALLOC = 4,
};

struct mwrap_read_stats {
	uint64_t records;
	uint64_t bad_entries;		/* tags 5 to 7 */
	uint64_t truncated_bytes;	/* a record cut short at the end */
};

struct mwrap_reader;

/* Takes ownership of in. */
int mwrap_reader__open(struct mwrap_reader **out, struct byte_input *in);
/*
 * Next record as an event (pid, tid, ts and caller are 0: mwrap has none).
 * Returns 1, 0 at the end, or a negative errno.
 */
int mwrap_reader__next(struct mwrap_reader *r, struct tape_event *ev);
const struct mwrap_read_stats *mwrap_reader__stats(const struct mwrap_reader *r);
uint64_t mwrap_reader__offset(const struct mwrap_reader *r);
/* Returns the decompressor's verdict, as byte_input__close. */
int mwrap_reader__close(struct mwrap_reader *r, char *msg, size_t msglen);

/* What the mwrap format cannot hold, counted as a writer drops it. */
struct mwrap_drops {
	uint64_t failed;	/* failed allocations: mwrap writes nothing for them */
	uint64_t free_null;	/* free(NULL): mwrap writes nothing */
	uint64_t misaligned;	/* pointers with low bits set: no room for the tag */
	uint64_t other;		/* syscalls, lifecycle, maps, markers, stacks */
	uint64_t losses;	/* loss records: mwrap has no way to say so */
	uint64_t stacks;	/* of other: stack records (mwrap has no call stacks) */
};

struct byte_output;
struct mwrap_writer;

/* Writes through out (not owned). page_size is the traced machine's (valloc). */
int mwrap_writer__open(struct mwrap_writer **w, struct byte_output *out, uint32_t page_size);
/* Returns 1 when written, 0 when the event has no mwrap form, or -errno. */
int mwrap_writer__add(struct mwrap_writer *w, const struct tape_event *ev);
const struct mwrap_drops *mwrap_writer__drops(const struct mwrap_writer *w);
uint64_t mwrap_writer__records(const struct mwrap_writer *w);
/* Bytes of records written (before any compression). */
uint64_t mwrap_writer__bytes(const struct mwrap_writer *w);
void mwrap_writer__free(struct mwrap_writer *w);

#endif

/*
 * The recorder's writing thread: takes raw chunks from the drain thread,
 * compresses, checksums, writes and fsyncs them (or, with --format mwrap,
 * turns them into mwrap records). A slow disk never stalls the drain: the
 * queue is bounded by a memory cap, and the drain counts what does not fit
 * as lost instead of growing without bound.
 */
#ifndef BPFTAPE_WRITER_H
#define BPFTAPE_WRITER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mwrap.h"
#include "tape.h"

enum output_format {
	OUTPUT_NATIVE,
	OUTPUT_MWRAP,
};

struct writer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* a chunk was queued, or closing */
	pthread_cond_t space;		/* a slot was freed */
	struct tape_raw_chunk *queue;	/* a ring of cap_chunks slots */
	size_t head, count, slots;
	_Atomic uint64_t queued_bytes;
	uint64_t cap_bytes;
	uint64_t *queued_at;		/* per slot: when the chunk was queued (CLOCK_MONOTONIC ns) */
	_Atomic uint64_t oldest_ns;	/* the oldest chunk still to write; 0: none */
	uint64_t max_age_ns;		/* beyond this backlog, events are counted as lost */
	bool closing;
	int err;
	char errmsg[256];
	enum output_format format;
	const char *path;
	int fd;
	struct tape_writer *tape;
	struct byte_output *out;
	struct mwrap_writer *mwrap;
	_Atomic uint64_t bytes_written;
	_Atomic uint64_t events_written;
	/* --format mwrap: what its format could not hold, for the summary. */
	struct mwrap_drops mwrap_drops;
	uint32_t mwrap_pid;		/* the first process with allocations */
	bool mwrap_several_pids;
};

/*
 * Starts the thread; for the native format writes the header now. Returns
 * 0 or a negative errno with msg.
 */
int writer__start(struct writer *w, int fd, const char *path, enum output_format format,
		  const struct tape_header *h, uint64_t cap_bytes, char *msg, size_t msglen);
/*
 * Would `more` raw bytes fit under the memory cap, with a queue slot for
 * their chunk, and is the oldest chunk waiting younger than the backlog
 * bound (a second)? What is held waiting is what a crash would lose.
 */
bool writer__has_room(struct writer *w, size_t more);
/* How far behind the writer is: seconds of the oldest chunk waiting, and bytes waiting. */
double writer__backlog(struct writer *w, uint64_t *bytes);
/* Hands a chunk over; the writer owns its buffer. Never blocks. */
void writer__push(struct writer *w, struct tape_raw_chunk *c);
/* Writes what is queued, ends the output, joins the thread. 0 or -errno with msg. */
int writer__finish(struct writer *w, char *msg, size_t msglen);
/* A write error seen so far (the disk is full...): the recording should stop. */
int writer__error(struct writer *w, char *msg, size_t msglen);

#endif

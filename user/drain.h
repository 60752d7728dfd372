/*
 * The drain: turns ring-buffer records into tape events and encodes them into
 * chunks, on the thread that polls the ring buffer. Closes a chunk when it
 * reaches its size or half a second, and hands it to the writer. Turns every
 * loss (BPF's counters, the writer's memory cap) into loss records.
 */
#ifndef BPFTAPE_DRAIN_H
#define BPFTAPE_DRAIN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maps_snapshot.h"
#include "merge.h"
#include "record_abi.h"
#include "tape.h"
#include "u64map.h"
#include "writer.h"

struct record_bpf;

struct drain_stats {
	uint64_t events[EV_KINDS];	/* written to the tape, by kind */
	uint64_t lost_bpf;		/* counted in BPF: buffer full, no room, no return */
	uint64_t lost_writer;		/* dropped at the memory cap */
	uint64_t follow_gaps;		/* loss records of unknown count */
	uint64_t gap_ns;		/* the time they cover, summed */
	uint64_t unread_images;		/* processes gone before their new image was read */
	uint64_t thread_forks;		/* fork records that made threads, not processes */
	uint64_t stacks;		/* distinct call stacks written */
	uint64_t chunks;
};

struct posted_event;

struct drain {
	struct tape_encoder *enc;
	struct writer *writer;
	struct maps_tracker *maps;	/* NULL: no map records (no allocator tracing) */
	struct record_bpf *skel;
	uint64_t zero_ns;		/* CLOCK_MONOTONIC ns at the tape's time 0 */
	size_t chunk_bytes;
	double chunk_opened;
	double last_loss_poll;
	int ncpus;
	uint64_t *loss_seen;		/* per reason, kind and CPU */
	uint64_t loss_last_ts;
	/* Dropped at the memory cap and not yet written as loss records. */
	uint64_t dropping[EV_KINDS];
	uint64_t drop_first_ts, drop_last_ts;
	/* Events other threads hand over (markers, maps, follow gaps). */
	pthread_mutex_t post_lock;
	struct posted_event *posted, *posted_tail;
	/* The recorder's reaction to lifecycle events (follow, targets). */
	void (*on_lifecycle)(const struct tape_event *ev, void *ctx);
	void *hook_ctx;
	/*
	 * With -a, threads come and go without the recorder having named them:
	 * the first event of each is preceded by its name (named_tids), and
	 * the set forgets a thread when it exits, so that it stays small.
	 */
	bool name_threads;
	struct u64map named_tids;
	/* Call stacks: BPF's hash (its process's own) -> the tape's stack ID. */
	struct u64map stack_ids;
	uint32_t next_stack_id;
	/* Sharded ring buffers: records wait here to be released in time order. */
	struct shard_merge merge;
	struct drain_stats stats;
	int err;
};

int drain__init(struct drain *d, struct record_bpf *skel, struct writer *w,
		struct maps_tracker *maps, uint64_t zero_ns);
void drain__free(struct drain *d);
/* libbpf's ring_buffer sample callback. */
int drain__sample(void *ctx, void *data, size_t size);
/* The same for sharded buffers: records are staged for the in-order merge. */
int drain__sample_shard(void *ctx, void *data, size_t size);
/* Encodes one event (the drain's thread only). */
void drain__add(struct drain *d, const struct tape_event *ev);
/* Queues an event from another thread; it is written at the next tick. */
void drain__post(struct drain *d, const struct tape_event *ev);
/* event_sink for drain__post. */
void drain__post_sink(const struct tape_event *ev, void *ctx);
/*
 * Periodic work: merged records older than watermark (CLOCK_MONOTONIC ns),
 * posted events, BPF loss counters, closing an old chunk.
 */
void drain__tick(struct drain *d, uint64_t watermark);
/* Everything out: loss counters, posted events, the last chunk. */
void drain__finish(struct drain *d);
/* A monotonic reading as tape time. */
uint64_t drain__tape_time(const struct drain *d, uint64_t mono_ns);
uint64_t drain__now(const struct drain *d);

#endif

/*
 * In-order merge of sharded ring buffers. Each shard delivers its records in
 * its own order; the merge stages them, and releases in timestamp order those
 * old enough that no shard can still deliver an older one: a BPF program
 * commits its record microseconds after taking its timestamp, so anything
 * older than the poll's start minus a slack is complete.
 *
 * The key is when an event took effect: an allocation's return, a free's
 * entry, a syscall's exit. So a free still precedes the allocation that
 * reuses its address, as with one buffer.
 */
#ifndef BPFTAPE_MERGE_H
#define BPFTAPE_MERGE_H

#include <stddef.h>
#include <stdint.h>

struct merge_item {
	uint64_t key;
	uint64_t seq;		/* arrival order, to keep ties stable */
	size_t offset;
	uint32_t size;
};

struct shard_merge {
	uint8_t *arena;
	size_t len, cap;
	struct merge_item *items;
	size_t n, items_cap;
	uint64_t seq;
	uint64_t max_staged;	/* high-water mark, for the benchmark */
};

void merge__init(struct shard_merge *m);
void merge__free(struct shard_merge *m);
/* Copies a record in. Returns 0 or -ENOMEM. */
int merge__stage(struct shard_merge *m, const void *data, size_t size);
/*
 * Calls fn on every staged record with key <= watermark, in key order, and
 * drops them. UINT64_MAX releases everything.
 */
void merge__release(struct shard_merge *m, uint64_t watermark,
		    int (*fn)(void *ctx, void *data, size_t size), void *ctx);

#endif

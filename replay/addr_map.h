/*
 * Recorded addresses to the blocks living at them, with inversions resolved
 * one way for everyone (the replay's preparation, stat, leaks).
 *
 * An inversion is an address made again while the tape still holds it live.
 * In a native tape only realloc causes them: written when it returns, it
 * released its old block during the call, and another thread received the
 * address before the realloc's record was written. In an mwrap trace of a
 * threaded program, per-thread buffering causes them anywhere. The old block
 * is set aside, the new one takes the address, and the old one is released
 * by the next use of the address from another thread than the new block's
 * (that late realloc); without threads (mwrap), by the next use at all.
 */
#ifndef BPFTAPE_ADDR_MAP_H
#define BPFTAPE_ADDR_MAP_H

#include <stdbool.h>
#include <stdint.h>

#include "u64map.h"

#define ADDR_NONE UINT32_MAX

struct addr_map {
	struct u64map live;	/* address -> block id << 32 | thread that made it */
	struct u64map aside;	/* address -> id of its old block, after an inversion */
	bool has_threads;
	uint64_t inversions;
	uint64_t unresolved;	/* set-aside blocks displaced by yet another inversion */
};

void addr_map__init(struct addr_map *m, bool has_threads);
void addr_map__free(struct addr_map *m);
/* A copy, for a forked child. 0 or -ENOMEM. */
int addr_map__copy(struct addr_map *dst, const struct addr_map *src);
/*
 * Block id, made by thread, is at addr. When addr was live, that block is
 * set aside (an inversion); one already aside is then displaced and its id
 * returned in *displaced (else ADDR_NONE). 0 or -ENOMEM.
 */
int addr_map__make(struct addr_map *m, uint64_t addr, uint32_t id, uint32_t thread,
		   uint32_t *displaced);
/* The block a free or realloc of addr by thread releases (unmapped), or ADDR_NONE. */
uint32_t addr_map__release(struct addr_map *m, uint64_t addr, uint32_t thread);
/* Blocks still set aside: their releases never came. */
uint64_t addr_map__aside(const struct addr_map *m);

#endif

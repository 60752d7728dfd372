/*
 * A hash map from u64 to u64 (open addressing, linear probing, deletion by
 * backward shift). Its table comes from mmap, never from malloc, so that the
 * replay engine's bookkeeping stays out of the allocator under test.
 */
#ifndef BPFTAPE_U64MAP_H
#define BPFTAPE_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64map {
	struct u64map_slot {
		uint64_t key;
		uint64_t value;
	} *slots;
	size_t cap;		/* a power of two, or 0 */
	size_t count;
	bool has_zero;		/* key 0 lives outside the table */
	uint64_t zero_value;
};

void u64map__init(struct u64map *m);
void u64map__free(struct u64map *m);
/* Inserts or replaces. Returns 0 or -ENOMEM. */
int u64map__put(struct u64map *m, uint64_t key, uint64_t value);
/*
 * The value of key, inserted as 0 when absent (*existed says which): one
 * search where a get and a put would take two. NULL when out of memory.
 * Valid until the next put or del.
 */
uint64_t *u64map__upsert(struct u64map *m, uint64_t key, bool *existed);
/* Pointer to the value, or NULL. Valid until the next put or del. */
uint64_t *u64map__get(const struct u64map *m, uint64_t key);
/* Removes key; returns whether it was there (and its value in *value). */
bool u64map__del(struct u64map *m, uint64_t key, uint64_t *value);
/* Bytes of memory the table holds. */
size_t u64map__bytes(const struct u64map *m);

/* Visits every entry; stops when fn returns non-zero and returns that. */
int u64map__each(const struct u64map *m, int (*fn)(uint64_t key, uint64_t value, void *ctx),
		 void *ctx);

#endif

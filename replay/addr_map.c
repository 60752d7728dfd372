/* Addresses to blocks, inversions resolved: see addr_map.h. */
#include <errno.h>

#include "addr_map.h"

void addr_map__init(struct addr_map *m, bool has_threads)
{
	u64map__init(&m->live);
	u64map__init(&m->aside);
	m->has_threads = has_threads;
	m->inversions = m->unresolved = 0;
}

void addr_map__free(struct addr_map *m)
{
	u64map__free(&m->live);
	u64map__free(&m->aside);
}

static int copy_map(struct u64map *dst, const struct u64map *src)
{
	if (src->has_zero && u64map__put(dst, 0, src->zero_value))
		return -ENOMEM;
	for (size_t i = 0; i < src->cap; i++)
		if (src->slots[i].key && u64map__put(dst, src->slots[i].key, src->slots[i].value))
			return -ENOMEM;
	return 0;
}

int addr_map__copy(struct addr_map *dst, const struct addr_map *src)
{
	addr_map__init(dst, src->has_threads);
	if (copy_map(&dst->live, &src->live) || copy_map(&dst->aside, &src->aside))
		return -ENOMEM;
	return 0;
}

int addr_map__make(struct addr_map *m, uint64_t addr, uint32_t id, uint32_t thread,
		   uint32_t *displaced)
{
	bool held;
	uint64_t *v = u64map__upsert(&m->live, addr, &held), old;

	*displaced = ADDR_NONE;
	if (!v)
		return -ENOMEM;
	if (held) {
		m->inversions++;
		if (u64map__del(&m->aside, addr, &old)) {
			m->unresolved++;
			*displaced = old;
		}
		if (u64map__put(&m->aside, addr, *v >> 32))
			return -ENOMEM;
	}
	*v = (uint64_t)id << 32 | thread;
	return 0;
}

uint32_t addr_map__release(struct addr_map *m, uint64_t addr, uint32_t thread)
{
	uint64_t *mapped, id;

	/* The common case, nothing set aside: one search. */
	if (!m->aside.count)
		return u64map__del(&m->live, addr, &id) ? (uint32_t)(id >> 32) : ADDR_NONE;
	mapped = u64map__get(&m->live, addr);
	/* The late release of a set-aside block: from another thread than the new block's. */
	if (u64map__get(&m->aside, addr) &&
	    (!m->has_threads || !mapped || (uint32_t)*mapped != thread)) {
		u64map__del(&m->aside, addr, &id);
		return id;
	}
	if (!mapped)
		return ADDR_NONE;
	id = *mapped >> 32;
	u64map__del(&m->live, addr, NULL);
	return id;
}

uint64_t addr_map__aside(const struct addr_map *m)
{
	return m->aside.count;
}

/* u64 -> u64 hash map on mmap'd memory. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "u64map.h"

static inline size_t hash(uint64_t k, size_t mask)
{
	/* Pointers share their low and high bits: mix before masking. */
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k & mask;
}

void u64map__init(struct u64map *m)
{
	memset(m, 0, sizeof(*m));
}

void u64map__free(struct u64map *m)
{
	if (m->slots)
		munmap(m->slots, m->cap * sizeof(*m->slots));
	u64map__init(m);
}

static int grow(struct u64map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 256;
	struct u64map_slot *slots = mmap(NULL, cap * sizeof(*slots), PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (slots == MAP_FAILED)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->slots[i].key)
			continue;
		for (j = hash(m->slots[i].key, cap - 1); slots[j].key; j = (j + 1) & (cap - 1))
			;
		slots[j] = m->slots[i];
	}
	if (m->slots)
		munmap(m->slots, m->cap * sizeof(*m->slots));
	m->slots = slots;
	m->cap = cap;
	return 0;
}

uint64_t *u64map__upsert(struct u64map *m, uint64_t key, bool *existed)
{
	size_t i;

	if (!key) {
		*existed = m->has_zero;
		if (!m->has_zero) {
			m->count++;
			m->has_zero = true;
			m->zero_value = 0;
		}
		return &m->zero_value;
	}
	/* Keep the load under 1/2: linear probing's clusters stay short (stat spends its time here). */
	if ((m->count + 1) * 2 > m->cap && grow(m))
		return NULL;
	for (i = hash(key, m->cap - 1); m->slots[i].key; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].key == key) {
			*existed = true;
			return &m->slots[i].value;
		}
	}
	*existed = false;
	m->slots[i].key = key;
	m->slots[i].value = 0;
	m->count++;
	return &m->slots[i].value;
}

int u64map__put(struct u64map *m, uint64_t key, uint64_t value)
{
	bool existed;
	uint64_t *v = u64map__upsert(m, key, &existed);

	if (!v)
		return -ENOMEM;
	*v = value;
	return 0;
}

uint64_t *u64map__get(const struct u64map *m, uint64_t key)
{
	if (!key)
		return m->has_zero ? (uint64_t *)&m->zero_value : NULL;
	if (!m->cap)
		return NULL;
	for (size_t i = hash(key, m->cap - 1); m->slots[i].key; i = (i + 1) & (m->cap - 1))
		if (m->slots[i].key == key)
			return &m->slots[i].value;
	return NULL;
}

bool u64map__del(struct u64map *m, uint64_t key, uint64_t *value)
{
	size_t mask = m->cap - 1, i, j;

	if (!key) {
		if (!m->has_zero)
			return false;
		if (value)
			*value = m->zero_value;
		m->has_zero = false;
		m->count--;
		return true;
	}
	if (!m->cap)
		return false;
	for (i = hash(key, mask); m->slots[i].key != key; i = (i + 1) & mask)
		if (!m->slots[i].key)
			return false;
	if (value)
		*value = m->slots[i].value;
	/* Backward shift: move later members of the cluster into the hole. */
	for (j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t home = hash(m->slots[j].key, mask);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].key = 0;
	m->count--;
	return true;
}

size_t u64map__bytes(const struct u64map *m)
{
	return m->cap * sizeof(*m->slots);
}

int u64map__each(const struct u64map *m, int (*fn)(uint64_t key, uint64_t value, void *ctx),
		 void *ctx)
{
	int r;

	if (m->has_zero && (r = fn(0, m->zero_value, ctx)))
		return r;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key && (r = fn(m->slots[i].key, m->slots[i].value, ctx)))
			return r;
	return 0;
}

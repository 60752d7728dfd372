/* Timestamp-ordered merge of sharded ring buffers: see merge.h. */
#include <errno.h>
#include <linux/types.h>
#include <stdlib.h>
#include <string.h>

#include "grow_array.h"
#include "merge.h"
#include "record_abi.h"

void merge__init(struct shard_merge *m)
{
	memset(m, 0, sizeof(*m));
}

void merge__free(struct shard_merge *m)
{
	free(m->arena);
	free(m->items);
	memset(m, 0, sizeof(*m));
}

/* When the event took effect: a syscall's record carries its entry time. */
static uint64_t effect_time(const void *data, size_t size)
{
	const struct rec_hdr *h = data;

	if (h->kind == EV_SYSCALL && size >= SYS_REC_FIXED)
		return h->ts + ((const struct sys_rec *)data)->duration;
	return h->ts;
}

int merge__stage(struct shard_merge *m, const void *data, size_t size)
{
	struct merge_item *items;

	if (size < sizeof(struct rec_hdr))
		return 0;
	if (m->cap - m->len < size) {
		size_t cap = m->cap ? m->cap : 1 << 20;
		uint8_t *p;

		while (cap - m->len < size)
			cap *= 2;
		p = realloc(m->arena, cap);
		if (!p)
			return -ENOMEM;
		m->arena = p;
		m->cap = cap;
	}
	items = grow_array(m->items, &m->items_cap, m->n + 1, sizeof(*items));
	if (!items)
		return -ENOMEM;
	m->items = items;
	memcpy(m->arena + m->len, data, size);
	m->items[m->n++] = (struct merge_item){ effect_time(data, size), m->seq++, m->len, size };
	m->len += size;
	if (m->n > m->max_staged)
		m->max_staged = m->n;
	return 0;
}

static int cmp_item(const void *a, const void *b)
{
	const struct merge_item *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void merge__release(struct shard_merge *m, uint64_t watermark,
		    int (*fn)(void *ctx, void *data, size_t size), void *ctx)
{
	size_t done = 0, keep_len = 0;

	if (!m->n)
		return;
	qsort(m->items, m->n, sizeof(*m->items), cmp_item);
	while (done < m->n && m->items[done].key <= watermark) {
		fn(ctx, m->arena + m->items[done].offset, m->items[done].size);
		done++;
	}
	if (done == m->n) {
		m->n = 0;
		m->len = 0;
		return;
	}
	/* Compact what stays, in key order. */
	uint8_t *arena = malloc(m->cap);

	if (!arena)
		return;		/* keep everything staged; released next time */
	for (size_t i = done; i < m->n; i++) {
		struct merge_item *it = &m->items[i];

		memcpy(arena + keep_len, m->arena + it->offset, it->size);
		it->offset = keep_len;
		keep_len += it->size;
		m->items[i - done] = *it;
	}
	free(m->arena);
	m->arena = arena;
	m->len = keep_len;
	m->n -= done;
}

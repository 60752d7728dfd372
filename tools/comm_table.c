/* Thread names from a tape's lifecycle records. */
#include <stdlib.h>
#include <string.h>

#include "grow_array.h"
#include "comm_table.h"

void comm_table__init(struct comm_table *t)
{
	memset(t, 0, sizeof(*t));
	u64map__init(&t->index);
}

void comm_table__free(struct comm_table *t)
{
	u64map__free(&t->index);
	free(t->names);
	memset(t, 0, sizeof(*t));
}

static void set_name(struct comm_table *t, uint32_t tid, const char *name, size_t len)
{
	uint64_t *slot = u64map__get(&t->index, tid);
	size_t i;

	if (slot) {
		i = *slot;
	} else {
		void *p = grow_array(t->names, &t->cap, t->count + 1, COMM_LEN);

		if (!p)
			return;
		t->names = p;
		i = t->count;
		if (u64map__put(&t->index, tid, i))
			return;
		t->count++;
	}
	if (len >= COMM_LEN)
		len = COMM_LEN - 1;
	memcpy(t->names[i], name, len);
	t->names[i][len] = 0;
}

void comm_table__update(struct comm_table *t, const struct tape_event *ev)
{
	const char *parent;

	switch (ev->type) {
	case TAPE_EV_COMM:
		set_name(t, ev->tid, ev->comm.name, ev->comm.len);
		break;
	case TAPE_EV_FORK:
		parent = comm_table__get(t, ev->tid);
		if (strcmp(parent, "-"))
			set_name(t, ev->fork.child_tid, parent, strlen(parent));
		break;
	case TAPE_EV_EXEC: {
		/* The kernel names a thread after the basename of what it executed. */
		const char *base = ev->exec.filename;
		size_t len = ev->exec.name_len;

		for (size_t i = 0; i < ev->exec.name_len; i++)
			if (ev->exec.filename[i] == '/') {
				base = ev->exec.filename + i + 1;
				len = ev->exec.name_len - i - 1;
			}
		set_name(t, ev->tid, base, len);
		break;
	}
	default:
		break;
	}
}

const char *comm_table__get(const struct comm_table *t, uint32_t tid)
{
	uint64_t *slot = u64map__get(&t->index, tid);

	return slot ? t->names[*slot] : "-";
}

/* Field-by-field comparison of two events, strings by content. */
#ifndef BPFTAPE_EVENTS_EQUAL_H
#define BPFTAPE_EVENTS_EQUAL_H

#include <stdbool.h>
#include <string.h>

#include "tape.h"

static inline bool bytes_equal(const void *a, uint32_t alen, const void *b, uint32_t blen)
{
	return alen == blen && (!alen || !memcmp(a, b, alen));
}

static inline bool events_equal(const struct tape_event *a, const struct tape_event *b)
{
	if (a->type != b->type || a->pid != b->pid || a->tid != b->tid || a->ts != b->ts)
		return false;
	switch (a->type) {
	case TAPE_EV_MALLOC ... TAPE_EV_DELETE:
		return a->alloc.ptr == b->alloc.ptr && a->alloc.size == b->alloc.size &&
		       a->alloc.nmemb == b->alloc.nmemb && a->alloc.align == b->alloc.align &&
		       a->alloc.result == b->alloc.result && a->alloc.caller == b->alloc.caller &&
		       a->alloc.err == b->alloc.err && a->alloc.variant == b->alloc.variant &&
		       a->alloc.stack == b->alloc.stack;
	case TAPE_EV_STACK:
		return a->stack.id == b->stack.id && a->stack.flags == b->stack.flags &&
		       bytes_equal(a->stack.frames, a->stack.nframes * 8, b->stack.frames,
				   b->stack.nframes * 8);
	case TAPE_EV_SYSCALL:
		if (a->sys.nr != b->sys.nr || a->sys.nargs != b->sys.nargs ||
		    a->sys.path_state != b->sys.path_state || a->sys.flags != b->sys.flags ||
		    a->sys.ret != b->sys.ret || a->sys.duration != b->sys.duration)
			return false;
		for (unsigned i = 0; i < a->sys.nargs; i++)
			if (a->sys.args[i] != b->sys.args[i])
				return false;
		if (a->sys.path_state == TAPE_PATH_OK || a->sys.path_state == TAPE_PATH_TRUNCATED)
			return bytes_equal(a->sys.path, a->sys.path_len, b->sys.path, b->sys.path_len);
		return true;
	case TAPE_EV_FORK:
		return a->fork.child_pid == b->fork.child_pid &&
		       a->fork.child_tid == b->fork.child_tid && a->fork.flags == b->fork.flags;
	case TAPE_EV_EXEC:
		return a->exec.old_tid == b->exec.old_tid &&
		       bytes_equal(a->exec.filename, a->exec.name_len, b->exec.filename,
				   b->exec.name_len);
	case TAPE_EV_EXIT:
		return a->exit.code == b->exit.code && a->exit.flags == b->exit.flags;
	case TAPE_EV_COMM:
		return bytes_equal(a->comm.name, a->comm.len, b->comm.name, b->comm.len);
	case TAPE_EV_MAP:
		return a->map.start == b->map.start && a->map.end == b->map.end &&
		       a->map.offset == b->map.offset &&
		       bytes_equal(a->map.build_id, a->map.build_id_len, b->map.build_id,
				   b->map.build_id_len) &&
		       bytes_equal(a->map.path, a->map.path_len, b->map.path, b->map.path_len);
	case TAPE_EV_PROBE:
		return bytes_equal(a->probe.build_id, a->probe.build_id_len, b->probe.build_id,
				   b->probe.build_id_len) &&
		       bytes_equal(a->probe.path, a->probe.path_len, b->probe.path, b->probe.path_len);
	case TAPE_EV_LOSS:
		return a->loss.lost_type == b->loss.lost_type && a->loss.reason == b->loss.reason &&
		       a->loss.cpu == b->loss.cpu && a->loss.count == b->loss.count &&
		       a->loss.first_ts == b->loss.first_ts;
	case TAPE_EV_ATTACH:
	case TAPE_EV_DETACH:
		return a->marker.what == b->marker.what;
	}
	return false;
}

#endif

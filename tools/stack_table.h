/*
 * A tape's call stacks as the tools use them. Stack records are kept by
 * (pid, id), as docs/FORMAT.md scopes them, until an allocator record first
 * uses one; the stack is then located, each frame as a file and an offset
 * with the process's maps of that moment (so that an exec or a reused PID
 * later does not change what it meant), and interned: the same stack in
 * several processes, or defined twice, gets one handle. A use of an id
 * whose record never came (lost with a damaged chunk) is counted, and the
 * event keeps its caller.
 *
 * Memory is bounded: past a budget of frames, new stacks are not kept
 * (said once) and their uses count as unknown.
 */
#ifndef BPFTAPE_STACK_TABLE_H
#define BPFTAPE_STACK_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "symbolize.h"
#include "tape.h"

struct stack_table;

/* The stack id an event names (an allocator call's, a syscall's); 0 for none. */
static inline uint32_t tape_event_stack(const struct tape_event *ev)
{
	if (tape_type_is_alloc(ev->type))
		return ev->alloc.stack;
	return ev->type == TAPE_EV_SYSCALL ? ev->sys.stack : 0;
}

/* sym: where frames are located (may be NULL: frames stay addresses). */
struct stack_table *stack_table__new(struct symbolizer *sym);
void stack_table__free(struct stack_table *t);
/* Learns a stack record; ignores other events. */
void stack_table__add(struct stack_table *t, const struct tape_event *ev);
/*
 * The handle of the stack that process pid's id names (an allocator
 * record's stack field): 0 for id 0, and 0 when the id was never defined
 * (counted as unknown).
 */
uint32_t stack_table__use(struct stack_table *t, uint32_t pid, uint32_t id);

/* A located stack: where each frame lies, innermost first. */
struct stack_view {
	const struct sym_loc *locs;
	uint32_t n;
	uint32_t flags;		/* TAPE_STACK_* */
};

/* The frames of a handle from stack_table__use; false for 0 or a bad handle. */
bool stack_table__get(const struct stack_table *t, uint32_t handle, struct stack_view *v);
/* Uses of stacks whose records were missing. */
uint64_t stack_table__unknown(const struct stack_table *t);
/* Distinct stacks kept. */
uint32_t stack_table__count(const struct stack_table *t);

#endif

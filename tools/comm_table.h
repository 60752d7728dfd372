/*
 * Thread names as a tape tells them: comm records, inherited across fork and
 * clone. The tools show a thread's name next to its events.
 */
#ifndef BPFTAPE_COMM_TABLE_H
#define BPFTAPE_COMM_TABLE_H

#include "tape.h"
#include "u64map.h"

#define COMM_LEN 16

struct comm_table {
	struct u64map index;	/* tid -> slot in names */
	char (*names)[COMM_LEN];
	size_t count, cap;
};

void comm_table__init(struct comm_table *t);
void comm_table__free(struct comm_table *t);
/* Learns from comm, fork and exec events; ignores the rest. */
void comm_table__update(struct comm_table *t, const struct tape_event *ev);
/* The thread's name, or "-" when the tape never said. */
const char *comm_table__get(const struct comm_table *t, uint32_t tid);

#endif

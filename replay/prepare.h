/*
 * The preparation pass, and the prepared form mapped back in. See prepared.h
 * for the layout and the reasons.
 */
#ifndef BPFTAPE_PREPARE_H
#define BPFTAPE_PREPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event_source.h"
#include "prepared.h"

struct prepare_opts {
	uint32_t pid;		/* only this process (all its images); 0: every process */
	uint64_t sample_every;	/* a live-bytes sample every this many ops; 0: 1024 */
};

/*
 * Reads every event of src and writes the prepared form to out_fd (a file
 * or a memfd). source names the input for the report. Returns 0, or a
 * negative errno with msg.
 */
int prepare(struct event_source *src, const char *source, const struct prepare_opts *o,
	    int out_fd, char *msg, size_t msglen);

/* A prepared form, mapped read-only. */
struct prepared {
	const struct prep_header *h;
	const struct prep_process *procs;
	const struct prep_thread *threads;
	const struct op *ops;
	const uint32_t *order;
	const uint64_t *live;
	void *map;
	size_t size;
};

/*
 * Maps fd and checks everything the engine relies on (bounds, indices, and
 * that every wait can be met in tape order, so that replay cannot hang).
 * Returns 0, or -EBADMSG (or another errno) with msg.
 */
int prepared__map(struct prepared *p, int fd, char *msg, size_t msglen);
/* The same checks on a prepared form already in memory (the fuzzer's entry). */
int prepared__check(struct prepared *p, const void *data, size_t size, char *msg, size_t msglen);
void prepared__unmap(struct prepared *p);

#endif

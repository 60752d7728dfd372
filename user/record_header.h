/* A recording's tape header: the machine, the command line, targets, libraries, clock. */
#ifndef BPFTAPE_RECORD_HEADER_H
#define BPFTAPE_RECORD_HEADER_H

#include <stdint.h>

#include "alloc.h"
#include "record.h"
#include "tape.h"

void record_header__build(struct tape_header *h, const struct record_opts *o,
			  const uint32_t *target_pids, int ntargets, uint64_t zero_mono,
			  uint64_t zero_wall);
void record_header__add_lib(struct tape_header *h, const struct alloc_lib *lib);

#endif

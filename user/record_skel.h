/* The generated BPF skeleton, after the shared types its read-only data uses. */
#ifndef BPFTAPE_RECORD_SKEL_H
#define BPFTAPE_RECORD_SKEL_H

#include "record_abi.h"
#include "record.skel.h"

#endif

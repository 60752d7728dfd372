/*
 * Checks made before recording, each failing with one sentence that names
 * the problem and what to do: privileges, BTF, ring buffers, uprobes.
 */
#ifndef BPFTAPE_PREFLIGHT_H
#define BPFTAPE_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>

int preflight_check(bool need_uprobes, char *msg, size_t msglen);

#endif

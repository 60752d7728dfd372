/*
 * Syscalls, the user side of bpf/sys.bpf.c: the syscall set of --syscalls
 * turned into the BPF configuration (which numbers, where their paths are).
 */
#ifndef BPFTAPE_SYS_H
#define BPFTAPE_SYS_H

#include <linux/types.h>
#include <stddef.h>

#include "bpf/record.h"

/* Fills cfg's syscall fields. Returns the number selected, or -EINVAL with msg. */
int sys_configure(struct record_config *cfg, const char *spec, const char *stacks, char *msg,
		  size_t msglen);

#endif

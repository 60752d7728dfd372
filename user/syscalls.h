/* The traced machine's syscalls: names, argument counts, path arguments, classes. */
#ifndef BPFTAPE_SYSCALLS_H
#define BPFTAPE_SYSCALLS_H

#include <stddef.h>
#include <stdint.h>

#define SC_FILE 1
#define SC_NET 2
#define SC_MEM 4
#define SC_PROCESS 8
#define SC_SIGNAL 16
#define SC_TRACER 32	/* made by the kernel's uprobe trampolines: never recorded */

/* Syscall numbers the recorder can select; larger ones are recorded as "all". */
#define SYSCALL_NR_MAX 512

struct syscall_info {
	uint16_t nr;
	int8_t nargs;		/* 6 when the kernel did not say */
	int8_t path_arg;	/* index of the argument naming a file, -1 for none */
	int8_t path2_arg;	/* a second one (rename's new name), -1 for none */
	uint8_t classes;	/* SC_* bits */
	const char *name;
};

const struct syscall_info *syscall_by_nr(unsigned nr);
const struct syscall_info *syscall_by_name(const char *name);
/* Number of syscalls in the table, and the i-th one, for listings. */
size_t syscall_count(void);
const struct syscall_info *syscall_at(size_t i);

/*
 * Parses "all", "none", or a comma-separated mix of names and classes
 * (file, net, mem, process, signal) into a bitmap of SYSCALL_NR_MAX bits.
 * The tracer's own syscalls (uretprobe, uprobe) are never in it.
 * Returns the number of syscalls selected, or -EINVAL with msg naming the
 * word that is neither.
 */
int syscall_set_parse(const char *spec, uint64_t *bitmap, char *msg, size_t msglen);

#endif

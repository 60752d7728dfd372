/* --syscalls into the BPF configuration: see sys.h. */
#include <errno.h>
#include <string.h>

#include "sys.h"
#include "syscalls.h"

_Static_assert(SYSCALL_SLOTS == SYSCALL_NR_MAX, "the BPF filter covers the table's range");

int sys_configure(struct record_config *cfg, const char *spec, const char *stacks, char *msg,
		  size_t msglen)
{
	uint64_t bits[SYSCALL_NR_MAX / 64], stack_bits[SYSCALL_NR_MAX / 64];
	const struct syscall_info *sc;
	int n = syscall_set_parse(spec, bits, msg, msglen);

	if (n < 0)
		return n;
	if (syscall_set_parse(stacks, stack_bits, msg, msglen) < 0)
		return -EINVAL;
	for (int i = 0; i < SYSCALL_NR_MAX / 64; i++) {
		cfg->syscall_bits[i] = bits[i];
		cfg->syscall_stack_bits[i] = stack_bits[i];
	}
	cfg->trace_syscalls = n > 0;
	/* Numbers beyond the table are only traced when everything is. */
	cfg->syscall_other = !strcmp(spec, "all");
	memset(cfg->path_arg, -1, sizeof(cfg->path_arg));
	for (size_t i = 0; i < syscall_count(); i++) {
		sc = syscall_at(i);
		if (sc->nr < SYSCALL_SLOTS)
			cfg->path_arg[sc->nr] = sc->path_arg;
	}
	sc = syscall_by_name("exit");
	cfg->nr_exit = sc ? sc->nr : -1;
	sc = syscall_by_name("exit_group");
	cfg->nr_exit_group = sc ? sc->nr : -1;
	return n;
}

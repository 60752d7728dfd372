// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The syscall benchmark's floor: the same tracepoints as bpf/sys.bpf.c,
 * filtered on the same process, doing nothing but count. What bpftape adds
 * beyond this is what we spend per syscall.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

const volatile __u32 target_tgid;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *n;

	if (bpf_get_current_pid_tgid() >> 32 != target_tgid)
		return;
	n = bpf_map_lookup_elem(&counts, &which);
	if (n)
		(*n)++;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(count_enter, struct pt_regs *regs, long nr)
{
	count(0);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(count_exit, struct pt_regs *regs, long ret)
{
	count(1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";

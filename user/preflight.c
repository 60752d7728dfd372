/* Can this machine and this user record? See preflight.h. */
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "preflight.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has_cap(const struct __user_cap_data_struct *data, int cap)
{
	return data[cap / 32].effective & (1u << (cap % 32));
}

static bool privileged(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capget, &hdr, data))
		return geteuid() == 0;
	return has_cap(data, CAP_SYS_ADMIN) || (has_cap(data, CAP_BPF) && has_cap(data, CAP_PERFMON));
}

bool preflight_has_cap(int cap)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capget, &hdr, data))
		return geteuid() == 0;
	return has_cap(data, cap);
}

/* The real and effective user IDs of a process. */
static int process_uids(pid_t pid, unsigned long *ruid, unsigned long *euid)
{
	char path[64], line[256];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "Uid: %lu %lu", ruid, euid) == 2;
	fclose(f);
	return found ? 0 : -EIO;
}

int preflight_may_trace(pid_t pid, char *msg, size_t msglen)
{
	unsigned long ruid, euid;
	int err = process_uids(pid, &ruid, &euid);

	if (err) {
		snprintf(msg, msglen, "no process with PID %d", pid);
		return -ESRCH;
	}
	/* What ptrace would ask of us: the same user, or CAP_SYS_PTRACE. */
	if ((ruid == getuid() && euid == getuid()) || preflight_has_cap(CAP_SYS_PTRACE))
		return 0;
	snprintf(msg, msglen,
		 "process %d belongs to user %lu: recording another user's process needs "
		 "CAP_SYS_PTRACE (or root) as well as CAP_BPF and CAP_PERFMON", pid, euid);
	return -EPERM;
}

/* Is the running kernel at least major.minor? */
static bool kernel_at_least(int major, int minor, char *release, size_t len)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u))
		return true;
	snprintf(release, len, "%s", u.release);
	if (sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return true;
	return ma > major || (ma == major && mi >= minor);
}

int preflight_check(bool need_uprobes, char *msg, size_t msglen)
{
	char release[128] = "";
	int r;

	if (!privileged()) {
		snprintf(msg, msglen,
			 "recording needs root, or the capabilities CAP_BPF and CAP_PERFMON "
			 "(with CAP_SYS_PTRACE to read other users' processes): run it with sudo");
		return -EPERM;
	}
	if (!kernel_at_least(5, 11, release, sizeof(release))) {
		snprintf(msg, msglen,
			 "Linux %s is too old: bpftape needs Linux 5.11 or later (BPF ring buffers, BTF, "
			 "task-local storage)", release);
		return -ENOTSUP;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(msg, msglen,
			 "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): bpftape needs a "
			 "kernel built with CONFIG_DEBUG_INFO_BTF");
		return -ENOTSUP;
	}
	r = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
	if (r == 0) {
		snprintf(msg, msglen, "this kernel (%s) has no BPF ring buffer: bpftape needs Linux 5.11 or later",
			 release);
		return -ENOTSUP;
	}
	if (r < 0) {
		snprintf(msg, msglen, "cannot use BPF here: %s (is BPF disabled for unprivileged use, "
			 "or forbidden by a security module?)", strerror(-r));
		return r;
	}
	if (need_uprobes && access("/sys/bus/event_source/devices/uprobe/type", R_OK)) {
		snprintf(msg, msglen,
			 "this kernel has no uprobes (CONFIG_UPROBE_EVENTS): allocator calls cannot be "
			 "traced; record syscalls only with --no-alloc");
		return -ENOTSUP;
	}
	return 0;
}

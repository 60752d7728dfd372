/* uprobe_multi links through bpf(2): see uprobe_multi.h. */
#include <errno.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "uprobe_multi.h"

#define LINK_CREATE 28			/* BPF_LINK_CREATE */
#define UPROBE_MULTI_RETURN 1		/* BPF_F_UPROBE_MULTI_RETURN */

/* bpf_attr.link_create for uprobe_multi, as Linux 6.6 lays it out. */
struct link_create_uprobe_multi {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t multi_flags;
	uint32_t pid;
};

int uprobe_multi_attach(int prog_fd, const char *path, const uint64_t *offsets,
			const uint64_t *cookies, uint32_t n, pid_t pid, bool retprobe)
{
	/* The kernel reads sizeof(union bpf_attr) and wants the rest zero. */
	union {
		struct link_create_uprobe_multi m;
		char bytes[sizeof(union bpf_attr) > 128 ? sizeof(union bpf_attr) : 128];
	} attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.m.prog_fd = prog_fd;
	attr.m.attach_type = ATTACH_UPROBE_MULTI;
	attr.m.path = (uintptr_t)path;
	attr.m.offsets = (uintptr_t)offsets;
	attr.m.cookies = (uintptr_t)cookies;
	attr.m.cnt = n;
	attr.m.multi_flags = retprobe ? UPROBE_MULTI_RETURN : 0;
	attr.m.pid = pid > 0 ? pid : 0;
	fd = syscall(SYS_bpf, LINK_CREATE, &attr, sizeof(attr));
	return fd < 0 ? -errno : fd;
}

static bool supported;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

/* A program that returns 0, loaded for uprobe_multi: refused by older kernels. */
static void probe(void)
{
	static const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = ATTACH_UPROBE_MULTI);
	int fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns, 2, &opts);
	static const uint64_t offset = 0;
	int link;

	if (fd < 0)
		return;
	/* Attaching to a path that does not exist must fail for that reason. */
	link = uprobe_multi_attach(fd, "/nonexistent/bpftape-probe", &offset, NULL, 1, 0, false);
	supported = link == -ENOENT;
	if (link >= 0)
		close(link);
	close(fd);
}

bool uprobe_multi_supported(void)
{
	pthread_once(&probe_once, probe);
	return supported;
}

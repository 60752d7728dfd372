/* The tape header of a recording: everything needed to know how it was made. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli.h"
#include "record_header.h"

static void add_file_line(struct tape_header *h, uint16_t key, const char *path)
{
	char buf[256];
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = 0;
		tape_header__add_str(h, key, buf);
	}
	fclose(f);
}

static void add_option(struct tape_header *h, const char *name, const char *value)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s=%s", name, value);
	tape_header__add_str(h, TAPE_CFG_OPTION, buf);
}

static void add_option_u64(struct tape_header *h, const char *name, uint64_t value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
	add_option(h, name, buf);
}

void record_header__add_lib(struct tape_header *h, const struct alloc_lib *lib)
{
	uint8_t buf[1 + BUILD_ID_MAX + PATH_MAX];
	size_t plen = strlen(lib->shown);

	buf[0] = lib->build_id_len;
	memcpy(buf + 1, lib->build_id, lib->build_id_len);
	memcpy(buf + 1 + lib->build_id_len, lib->shown, plen);
	tape_header__add(h, TAPE_CFG_LIBRARY, buf, 1 + lib->build_id_len + plen);
}

void record_header__build(struct tape_header *h, const struct record_opts *o,
			  const uint32_t *target_pids, int ntargets, uint64_t zero_mono,
			  uint64_t zero_wall)
{
	static const char *const modes[] = { "pid", "command", "system" };
	struct utsname u;
	char host[256];

	tape_header__init_host(h);
	tape_header__add_str(h, TAPE_CFG_TOOL, "bpftape " BPFTAPE_VERSION);
	/* argv[-1] is the bpftape binary: main passed argv + 1. */
	tape_header__add_argv(h, TAPE_CFG_COMMAND_LINE, o->argc + 1, o->argv - 1);
	for (int i = 0; i < ntargets; i++)
		tape_header__add_u32(h, TAPE_CFG_TARGET_PID, target_pids[i]);
	if (o->command) {
		int n = 0;

		while (o->command[n])
			n++;
		tape_header__add_argv(h, TAPE_CFG_TARGET_COMMAND, n, o->command);
	}
	if (!uname(&u))
		tape_header__add_str(h, TAPE_CFG_KERNEL, u.release);
	if (!gethostname(host, sizeof(host))) {
		host[sizeof(host) - 1] = 0;
		tape_header__add_str(h, TAPE_CFG_HOSTNAME, host);
	}
	add_file_line(h, TAPE_CFG_BOOT_ID, "/proc/sys/kernel/random/boot_id");
	tape_header__add_str(h, TAPE_CFG_CLOCK, "CLOCK_MONOTONIC");
	tape_header__add_u64(h, TAPE_CFG_ZERO_MONO_NS, zero_mono);
	tape_header__add_u64(h, TAPE_CFG_ZERO_WALL_NS, zero_wall);
	tape_header__add_str(h, TAPE_CFG_MODE, modes[o->mode]);
	add_option(h, "alloc", o->alloc ? "yes" : "no");
	add_option(h, "syscalls", o->syscalls);
	if (strcmp(o->syscall_stacks, "none"))
		add_option(h, "syscall_stacks", o->syscall_stacks);
	add_option(h, "follow", o->follow ? "yes" : "no");
	if (o->comm)
		add_option(h, "comm", o->comm);
	if (o->filter_uid)
		add_option_u64(h, "uid", o->uid);
	if (o->cgroup)
		add_option(h, "cgroup", o->cgroup);
	add_option_u64(h, "ringbuf_size", o->ringbuf_size);
	add_option_u64(h, "ringbuf_shards", o->shards);
	add_option_u64(h, "max_memory", o->max_memory);
	add_option_u64(h, "wakeup_bytes", o->wakeup_bytes);
	if (o->duration > 0) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%g", o->duration);
		add_option(h, "duration", buf);
	}
}

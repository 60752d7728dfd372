/* bpftape record's command line: see record.h. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "parse.h"
#include "record.h"
#include "syscalls.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: bpftape record [OPTIONS] -p PID[,PID...]\n"
		"       bpftape record [OPTIONS] -a\n"
		"       bpftape record [OPTIONS] [--] COMMAND [ARGS...]\n\n"
		"Records every allocation call (malloc, calloc, realloc, reallocarray, free,\n"
		"posix_memalign, aligned_alloc, memalign, valloc, pvalloc, C++ new and delete)\n"
		"and the syscalls of its targets into a tape, with eBPF: no restart, no\n"
		"ptrace, no LD_PRELOAD. Needs root, or CAP_BPF and CAP_PERFMON (and\n"
		"CAP_SYS_PTRACE for another user's processes). Stops on Ctrl-C, SIGTERM or\n"
		"SIGHUP, after -d, or when the targets are gone (with children followed: the\n"
		"last process of the tree); always flushes everything.\n\n"
		"A probed call traps into the kernel: several microseconds each in a VM, under\n"
		"a microsecond on bare metal. Only the targets (and, followed, their children)\n"
		"pay it, except with -a and no filter, where every process does.\n\n"
		"Targets:\n"
		"  -p, --pid PIDS       attach to running processes (probes go into them only)\n"
		"  -a, --all            every process that maps the traced allocator (all of\n"
		"                       them pay the trap; with a filter, only matching ones)\n"
		"  COMMAND ARGS         start COMMAND with the probes already on; bpftape exits\n"
		"                       with its status\n"
		"  -c, --command CMD    the same, as one string split at spaces (no shell), as\n"
		"                       perf and bpftrace take it\n"
		"  -f, --follow         follow children made by fork and clone, through exec and\n"
		"                       daemonizing double forks: each is probed in the kernel\n"
		"                       before it first runs (the default for a started\n"
		"                       command); --no-follow to not\n"
		"  --comm NAME          with -a: only threads with this name\n"
		"  --uid UID            with -a: only this user ID\n"
		"  --cgroup PATH        with -a: only this cgroup (v2 directory)\n\n"
		"What:\n"
		"  -e, --events LIST    what to record, perf-style: alloc (allocator calls),\n"
		"                       syscalls (all of them), or syscall names and classes;\n"
		"                       e.g. -e alloc,%%file. Instead of the next two options\n"
		"  --syscalls SET       all, none, or names and classes: openat,read,file,net,\n"
		"                       mem,process,signal, or strace's %%file, %%network,\n"
		"                       %%memory, %%process, %%signal (default: all; none with -a)\n"
		"  --no-alloc           record syscalls only\n"
		"  --stack-depth N      the call stack of each allocator call, up to N frames\n"
		"                       (default 32, at most 64), unwound from .eh_frame where\n"
		"                       code has no frame pointers\n"
		"  --no-stacks          the calling address only (cheaper)\n"
		"  --syscall-stacks SET the call stack of these recorded syscalls too (names\n"
		"                       and classes as for --syscalls; default none)\n"
		"  --lib PATH           probe this allocator (a library, or an executable with a\n"
		"                       static allocator) instead of finding it; repeatable\n\n"
		"Output:\n"
		"  -o, --output FILE    the tape (default bpftape.PID.tape; - for standard output)\n"
		"  --format FORMAT      native (default) or mwrap: mwrap's trace format, compressed\n"
		"                       by the file's suffix (.gz, .zst, .bz2)\n"
		"  --force              overwrite FILE\n"
		"  -d, --duration T     stop after T (seconds, or 500ms, 2m, 1h)\n"
		"  -q, --quiet          no progress line and no summary\n"
		"  --json               the summary as one JSON object (on standard output, or\n"
		"                       standard error when the tape goes to standard output)\n"
		"  --self-test          measure what a probed malloc and free cost on this\n"
		"                       machine (records a short loop), print it, and exit\n"
		"  -v, --verbose        libbpf's own messages too\n\n"
		"Tuning:\n"
		"  --ringbuf-size SIZE  the BPF ring buffer (default 32M; a power of two)\n"
		"  --ringbuf-shards N   N ring buffers, one per group of CPUs, merged by time\n"
		"                       (default 0: one buffer, the faster on small machines)\n"
		"  --max-memory SIZE    memory for chunks waiting to be written (default 256M);\n"
		"                       beyond it events are counted as lost, not kept\n"
		"  --stack-memory SIZE  memory for unwind tables (default 32M: about 40 large\n"
		"                       programs' worth); files beyond it unwind by frame pointer\n"
		"  --wakeup SIZE        wake the recorder when this much is waiting (default\n"
		"                       256K; 0: on every event)\n\n"
		"Examples:\n"
		"  sudo bpftape record -p 4242 -d 60 -o service.tape\n"
		"  sudo bpftape record -- ./myprogram --its-args\n"
		"  sudo bpftape record -e alloc,%%network -c './server --port 8080'\n"
		"  sudo bpftape record --no-alloc --syscalls file,net -p 4242\n"
		"  sudo bpftape record -a --comm nginx --syscalls none\n"
		"  sudo bpftape record --format mwrap -o mwrap.4242.trace.gz -p 4242\n");
}

enum {
	OPT_NO_FOLLOW = 256, OPT_COMM, OPT_UID, OPT_CGROUP, OPT_SYSCALLS, OPT_NO_ALLOC, OPT_LIB,
	OPT_FORMAT, OPT_FORCE, OPT_RINGBUF, OPT_SHARDS, OPT_MAX_MEMORY, OPT_WAKEUP, OPT_JSON,
	OPT_SELF_TEST, OPT_STACK_DEPTH, OPT_NO_STACKS, OPT_STACK_MEMORY, OPT_SYSCALL_STACKS,
};

/* -c CMD: the command split at spaces and tabs, into a NULL-terminated argv. */
static int split_command(struct record_opts *o, const char *cmd)
{
	char *save = NULL, *tok;
	int n = 0;

	free(o->command_buf);
	o->command_buf = strdup(cmd);
	o->command = calloc(strlen(cmd) / 2 + 2, sizeof(*o->command));
	if (!o->command_buf || !o->command)
		return cli_usage("out of memory");
	for (tok = strtok_r(o->command_buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
		o->command[n++] = tok;
	if (!n)
		return cli_bad_value("-c", cmd, 0, "expected a command to run");
	return EXIT_OK;
}

static int parse_option(struct record_opts *o, int c, const char *arg)
{
	uint64_t v;
	int err;

	switch (c) {
	case 'p':
		err = parse_u32_list(arg, o->pids, RECORD_MAX_PIDS);
		if (err < 0)
			return cli_bad_value("-p", arg, err, "expected process IDs separated by commas");
		o->npids = err;
		break;
	case 'a':
		o->mode = MODE_SYSTEM;
		break;
	case 'c':
		return split_command(o, arg);
	case 'e':
		o->events = arg;
		break;
	case OPT_JSON:
		o->json = true;
		break;
	case OPT_STACK_DEPTH:
		err = parse_u64(arg, 1, 64, &v);
		if (err)
			return cli_bad_value("--stack-depth", arg, err, "expected 1 to 64 frames");
		o->stack_depth = v;
		break;
	case OPT_NO_STACKS:
		o->stack_depth = 0;
		o->no_stacks = true;
		break;
	case OPT_SYSCALL_STACKS:
		o->syscall_stacks = arg;
		break;
	case OPT_STACK_MEMORY:
		err = parse_size(arg, 64 << 10, 1ull << 32, &o->stack_memory);
		if (err)
			return cli_bad_value("--stack-memory", arg, err, "expected a size from 64K to 4G");
		break;
	case OPT_SELF_TEST:
		o->self_test = true;
		break;
	case 'f':
		o->follow = true;
		break;
	case OPT_NO_FOLLOW:
		o->follow = false;
		break;
	case OPT_COMM:
		if (strlen(arg) >= 16)
			return cli_bad_value("--comm", arg, 0,
					     "thread names are at most 15 characters");
		o->comm = arg;
		break;
	case OPT_UID:
		err = parse_u64(arg, 0, UINT32_MAX - 1, &v);
		if (err)
			return cli_bad_value("--uid", arg, err, "expected a numeric user ID");
		o->filter_uid = true;
		o->uid = v;
		break;
	case OPT_CGROUP: {
		struct stat st;

		if (stat(arg, &st) || !S_ISDIR(st.st_mode))
			return cli_bad_value("--cgroup", arg, 0,
					     "expected a cgroup v2 directory, such as /sys/fs/cgroup/system.slice/nginx.service");
		o->cgroup = arg;
		o->cgroup_id = st.st_ino;	/* a cgroup v2 directory's inode is its ID */
		break;
	}
	case OPT_SYSCALLS:
		o->syscalls = arg;
		break;
	case OPT_NO_ALLOC:
		o->alloc = false;
		break;
	case OPT_LIB:
		if (o->nlibs == RECORD_MAX_LIBS)
			return cli_usage("at most %d --lib", RECORD_MAX_LIBS);
		o->libs[o->nlibs++] = (char *)arg;
		break;
	case 'o':
		if (strlen(arg) >= sizeof(o->output))
			return cli_bad_value("-o", arg, -ERANGE, "the path is too long");
		snprintf(o->output, sizeof(o->output), "%s", arg);
		break;
	case OPT_FORMAT:
		if (!strcmp(arg, "native"))
			o->format = OUTPUT_NATIVE;
		else if (!strcmp(arg, "mwrap"))
			o->format = OUTPUT_MWRAP;
		else
			return cli_bad_value("--format", arg, 0, "expected native or mwrap");
		break;
	case OPT_FORCE:
		o->force = true;
		break;
	case 'd':
		err = parse_duration(arg, 365 * 86400.0, &o->duration);
		if (err || o->duration <= 0)
			return cli_bad_value("-d", arg, err, "expected a duration such as 10, 1.5, 500ms or 2m");
		break;
	case 'q':
		o->quiet = true;
		break;
	case 'v':
		o->verbose = true;
		break;
	case OPT_RINGBUF:
		err = parse_size(arg, 4096, 1ull << 30, &o->ringbuf_size);
		if (err || (o->ringbuf_size & (o->ringbuf_size - 1)))
			return cli_bad_value("--ringbuf-size", arg, err,
					     "expected a power of two from 4K to 1G, such as 64M");
		break;
	case OPT_SHARDS:
		err = parse_u64(arg, 0, RECORD_MAX_SHARDS, &v);
		if (err)
			return cli_bad_value("--ringbuf-shards", arg, err, "expected 0 to 64");
		o->shards = v;
		break;
	case OPT_MAX_MEMORY:
		err = parse_size(arg, 4 << 20, 1ull << 40, &o->max_memory);
		if (err)
			return cli_bad_value("--max-memory", arg, err, "expected a size of at least 4M");
		break;
	case OPT_WAKEUP:
		err = parse_size(arg, 0, 1ull << 30, &o->wakeup_bytes);
		if (err)
			return cli_bad_value("--wakeup", arg, err, "expected a size such as 256K, or 0");
		break;
	default:
		return cli_usage("unknown option");
	}
	return EXIT_OK;
}

/*
 * -e LIST: alloc and syscalls, and syscall names and classes, into the
 * equivalent of --no-alloc and --syscalls.
 */
static int apply_events(struct record_opts *o, bool syscalls_given, bool no_alloc_given)
{
	static char spec[1024];
	char *copy, *save = NULL, *tok;
	bool alloc = false, all = false;
	size_t n = 0;

	if (syscalls_given || no_alloc_given)
		return cli_usage("-e says what to record: it replaces --syscalls and --no-alloc");
	copy = strdup(o->events);
	if (!copy)
		return cli_usage("out of memory");
	spec[0] = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "alloc"))
			alloc = true;
		else if (!strcmp(tok, "syscalls"))
			all = true;
		else if (n + strlen(tok) + 2 < sizeof(spec))
			n += snprintf(spec + n, sizeof(spec) - n, "%s%s", n ? "," : "", tok);
	}
	free(copy);
	o->alloc = alloc;
	o->syscalls = all ? "all" : n ? spec : "none";
	return EXIT_OK;
}

/* Rules that involve several options, checked together after parsing. */
static int check(struct record_opts *o, bool follow_given, bool syscalls_given,
		 bool no_alloc_given)
{
	int modes = (o->npids > 0) + (o->mode == MODE_SYSTEM) + (o->command != NULL);
	uint64_t bits[SYSCALL_NR_MAX / 64];
	char msg[256];
	int err;

	if (o->self_test) {
		if (modes)
			return cli_usage("--self-test records a loop of its own: give no target");
		return EXIT_OK;
	}
	if (o->events) {
		err = apply_events(o, syscalls_given, no_alloc_given);
		if (err)
			return err;
		syscalls_given = true;
	}

	if (modes != 1)
		return cli_usage(modes ? "give only one of -p, -a and a command" :
				 "what to record? give -p PID, -a, or a command to start");
	if (o->npids)
		o->mode = MODE_PID;
	else if (o->command)
		o->mode = MODE_COMMAND;
	if (o->mode != MODE_SYSTEM && (o->comm || o->filter_uid || o->cgroup))
		return cli_usage("--comm, --uid and --cgroup filter -a; with -p or a command, the targets are already chosen");
	if (o->mode == MODE_SYSTEM && follow_given)
		return cli_usage("-f has no meaning with -a: every process is traced");
	if (!follow_given)
		o->follow = o->mode == MODE_COMMAND;
	if (syscall_set_parse(o->syscall_stacks, bits, msg, sizeof(msg)) < 0)
		return cli_usage("--syscall-stacks: %s", msg);
	bool stacks_of_syscalls = strcmp(o->syscall_stacks, "none") != 0;
	if (stacks_of_syscalls && o->no_stacks)
		return cli_usage("--syscall-stacks takes stacks: it cannot go with --no-stacks");
	if (stacks_of_syscalls && o->format == OUTPUT_MWRAP)
		return cli_usage("--format mwrap holds allocations only: drop --syscall-stacks");
	/* mwrap's format has no stacks; nor does a recording of syscalls only, unless asked. */
	if ((!o->alloc && !stacks_of_syscalls) || o->format == OUTPUT_MWRAP)
		o->stack_depth = 0;
	if (o->format == OUTPUT_MWRAP) {
		if (!o->alloc)
			return cli_usage("--format mwrap holds allocations only: it cannot go with --no-alloc");
		if (syscalls_given && strcmp(o->syscalls, "none"))
			return cli_usage("--format mwrap holds allocations only: drop --syscalls");
		o->syscalls = "none";
	}
	if (!syscalls_given && o->format != OUTPUT_MWRAP)
		o->syscalls = o->mode == MODE_SYSTEM ? "none" : "all";
	if (syscall_set_parse(o->syscalls, bits, msg, sizeof(msg)) < 0)
		return cli_usage("--syscalls: %s", msg);
	if (!o->alloc && !strcmp(o->syscalls, "none"))
		return cli_usage("nothing to record: --no-alloc with --syscalls none");
	if (!o->alloc && o->nlibs)
		return cli_usage("--lib names an allocator to probe: it cannot go with --no-alloc");
	if (o->shards && o->ringbuf_size / o->shards < 4096)
		return cli_usage("--ringbuf-size is too small for %u shards", o->shards);
	if (!o->output[0]) {
		const char *ext = o->format == OUTPUT_MWRAP ? "trace" : "tape";

		if (o->mode == MODE_PID)
			snprintf(o->output, sizeof(o->output), "bpftape.%u.%s", o->pids[0], ext);
		else
			snprintf(o->output, sizeof(o->output), "bpftape.%d.%s", getpid(), ext);
	}
	return EXIT_OK;
}

int record_opts__parse(struct record_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "command", required_argument, NULL, 'c' },
		{ "events", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "stack-depth", required_argument, NULL, OPT_STACK_DEPTH },
		{ "no-stacks", no_argument, NULL, OPT_NO_STACKS },
		{ "stack-memory", required_argument, NULL, OPT_STACK_MEMORY },
		{ "syscall-stacks", required_argument, NULL, OPT_SYSCALL_STACKS },
		{ "self-test", no_argument, NULL, OPT_SELF_TEST },
		{ "follow", no_argument, NULL, 'f' },
		{ "no-follow", no_argument, NULL, OPT_NO_FOLLOW },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "uid", required_argument, NULL, OPT_UID },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "syscalls", required_argument, NULL, OPT_SYSCALLS },
		{ "no-alloc", no_argument, NULL, OPT_NO_ALLOC },
		{ "lib", required_argument, NULL, OPT_LIB },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "duration", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "ringbuf-size", required_argument, NULL, OPT_RINGBUF },
		{ "ringbuf-shards", required_argument, NULL, OPT_SHARDS },
		{ "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
		{ "wakeup", required_argument, NULL, OPT_WAKEUP },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool follow_given = false, syscalls_given = false, no_alloc_given = false;
	int c, err;

	memset(o, 0, sizeof(*o));
	o->alloc = true;
	o->syscalls = "all";
	o->ringbuf_size = 32 << 20;
	o->max_memory = 256 << 20;
	o->wakeup_bytes = 256 << 10;
	o->stack_depth = 32;
	o->stack_memory = 32 << 20;
	o->syscall_stacks = "none";
	o->argc = argc;
	o->argv = argv;
	/* '+': options end at the command's name, so that its own options stay its own. */
	while ((c = getopt_long(argc, argv, "+p:ac:e:fo:d:qvh", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return -1;
		}
		if (c == '?')
			return cli_usage("unknown option");
		follow_given |= c == 'f' || c == OPT_NO_FOLLOW;
		syscalls_given |= c == OPT_SYSCALLS;
		no_alloc_given |= c == OPT_NO_ALLOC;
		err = parse_option(o, c, optarg);
		if (err)
			return err;
	}
	if (optind < argc) {
		if (o->command)
			return cli_usage("give the command either with -c or after the options, not both");
		o->command = argv + optind;
	}
	return check(o, follow_given, syscalls_given, no_alloc_given);
}

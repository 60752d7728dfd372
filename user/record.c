/*
 * bpftape record: load the BPF programs, attach them to the targets, drain
 * the ring buffer into a tape until told to stop, then detach, drain once
 * more, and flush everything.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "commands.h"
#include "drain.h"
#include "event_print.h"
#include "exec_lane.h"
#include "follow.h"
#include "lib_resolve.h"
#include "output_file.h"
#include "preflight.h"
#include "probe_host.h"
#include "probes.h"
#include "unwind_loader.h"
#include "record.h"
#include "record_abi.h"
#include "record_header.h"
#include "held_child.h"
#include "sys.h"
#include "record_skel.h"
#include "safe_open.h"
#include "self_test.h"

#define POLL_MS 100
/* Busy ring buffers are read every DRAIN_PAUSE_NS, unless DRAIN_BATCH records waited. */
#define DRAIN_PAUSE_NS (1000 * 1000)
#define DRAIN_BATCH 16384
/* A record is committed microseconds after its timestamp; wait this long to merge. */
#define MERGE_SLACK_NS (10 * 1000 * 1000)

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

struct target {
	pid_t pid;
	bool alive;
	struct lib_set libs;
};

struct recorder {
	struct record_opts *o;
	struct record_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[8];
	int nlinks;
	struct probe_host host;
	struct probes probes;
	bool probes_ready;
	struct unwind_loader unwind;
	bool armed;
	uint64_t disarm_ts;
	struct writer writer;
	bool writer_started;
	struct drain drain;
	bool drain_ready;
	struct maps_tracker maps;
	struct follower follow;
	bool follow_ready;
	double trap_ns;		/* -a unfiltered: what a probed call costs every process */
	struct exec_lane lane;
	struct spawned child;
	bool child_reaped;
	int child_status;
	struct target targets[RECORD_MAX_PIDS];
	int ntargets;
	struct lib_set system_libs;	/* -a */
	struct lib_set fixed_libs;	/* --lib */
	char exe[4096];			/* the command, found in PATH */
	int out_fd;
	double next_tree_check;
	bool said_tree;
	struct cli_progress progress;
	double started;
	double setup_cpu;	/* our CPU seconds before recording began (BPF load, ELF reading) */
	struct tape_header hdr;
};

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static int libbpf_verbose(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A thread ID given with -p stands for its process. */
static int thread_group_of(pid_t pid, pid_t *tgid)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	*tgid = pid;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", tgid) == 1)
			break;
	fclose(f);
	return 0;
}

static int resolve_command(struct recorder *r, char *msg, size_t msglen)
{
	extern char **environ;
	struct record_opts *o = r->o;
	struct target *t = &r->targets[0];
	struct ld_env env = { 0 };
	int err, fd;

	r->ntargets = 1;
	if (!find_in_path(o->command[0], r->exe, sizeof(r->exe))) {
		snprintf(msg, msglen, "cannot run %s: not found, or not executable", o->command[0]);
		return -ENOENT;
	}
	/* Its files are wanted for probing allocators, or for the unwind tables of stacks. */
	if (!o->alloc && !o->stack_depth)
		return 0;
	/* The executable, for naming callers in it before /proc shows it. */
	maps_tracker__register_file(&r->maps, r->exe, r->exe);
	if (o->nlibs)
		return libs_of_paths(o->libs, o->nlibs, &t->libs, msg, msglen);
	/* What its loader will load, read as data, with the environment it will get. */
	for (char **e = environ; *e; e++) {
		if (!env.preload && !strncmp(*e, "LD_PRELOAD=", 11))
			env.preload = *e + 11;
		else if (!env.library_path && !strncmp(*e, "LD_LIBRARY_PATH=", 16))
			env.library_path = *e + 16;
	}
	fd = safe_open(-1, r->exe, 1ull << 32);
	if (fd < 0) {
		snprintf(msg, msglen, "cannot read %.512s: %s", r->exe,
			 fd == -EINVAL ? "not a regular file" : strerror(-fd));
		return fd;
	}
	err = libs_of_image(-1, fd, r->exe, &env, &t->libs, msg, msglen);
	close(fd);
	for (int i = 0; i < t->libs.nfiles; i++)
		maps_tracker__register_file(&r->maps, t->libs.files[i], t->libs.files[i]);
	/* Syscalls only: no allocator is needed, the files were for the tables. */
	return o->alloc ? err : 0;
}

static int resolve_targets(struct recorder *r, char *msg, size_t msglen)
{
	struct record_opts *o = r->o;
	int err;

	if (o->alloc && o->nlibs) {
		err = libs_of_paths(o->libs, o->nlibs, &r->fixed_libs, msg, msglen);
		if (err)
			return err;
	}
	if (o->mode == MODE_SYSTEM) {
		if (!o->alloc || o->comm || o->filter_uid || o->cgroup)
			return 0;	/* filtered: found in each process that matches */
		return o->nlibs ? libs_of_paths(o->libs, o->nlibs, &r->system_libs, msg, msglen) :
				  libs_system_default(&r->system_libs, msg, msglen);
	}
	if (o->mode == MODE_COMMAND)
		return resolve_command(r, msg, msglen);
	for (int i = 0; i < o->npids; i++) {
		struct target *t = &r->targets[r->ntargets];
		bool dup = false;
		pid_t tgid;

		if (thread_group_of(o->pids[i], &tgid)) {
			snprintf(msg, msglen, "no process with PID %u", o->pids[i]);
			return -ESRCH;
		}
		err = preflight_may_trace(tgid, msg, msglen);
		if (err)
			return err;
		for (int j = 0; j < r->ntargets; j++)
			dup |= r->targets[j].pid == tgid;
		if (dup)
			continue;	/* two threads of one process */
		t->pid = tgid;
		t->alive = true;
		r->ntargets++;
		if (!o->alloc)
			continue;	/* syscall stacks: load_target_tables reads its maps */
		err = o->nlibs ? libs_of_paths(o->libs, o->nlibs, &t->libs, msg, msglen) :
				 libs_of_pid(tgid, &t->libs, msg, msglen);
		if (err)
			return err;
	}
	return 0;
}

static void configure(struct recorder *r)
{
	struct record_config *cfg = &r->skel->rodata->cfg;
	const struct record_opts *o = r->o;
	char msg[256];

	cfg->self_tgid = getpid();
	cfg->helper_tgid = r->host.pid;
	cfg->filter_pids = o->mode != MODE_SYSTEM;
	cfg->follow = o->follow;
	cfg->filter_uid = o->filter_uid;
	cfg->uid = o->uid;
	cfg->filter_cgroup = o->cgroup != NULL;
	cfg->cgroup_id = o->cgroup_id;
	cfg->filter_comm = o->comm != NULL;
	if (o->comm)
		snprintf(cfg->comm, sizeof(cfg->comm), "%s", o->comm);
	cfg->nshards = o->shards;
	cfg->wakeup_bytes = o->wakeup_bytes;
	cfg->trace_alloc = o->alloc;
	cfg->stack_depth = o->stack_depth;
	/* The unwind tables' memory, mapped by user space: only when stacks are taken. */
	bpf_map__set_max_entries(r->skel->maps.unwind_rows,
				 o->stack_depth ? o->stack_memory / sizeof(struct unwind_row) : 1);
	/* The set was checked when the options were parsed. */
	sys_configure(cfg, o->syscalls, o->syscall_stacks, msg, sizeof(msg));
	bpf_map__set_max_entries(r->skel->maps.events, o->shards ? 4096 : o->ringbuf_size);
	bpf_map__set_max_entries(r->skel->maps.shards, o->shards ? o->shards : 1);
	/* Only what is used is attached: the allocator programs when tracing calls. */
	bpf_program__set_autoload(r->skel->progs.alloc_enter, o->alloc);
	bpf_program__set_autoload(r->skel->progs.alloc_return, o->alloc);
}

static int open_ring_buffers(struct recorder *r, char *msg, size_t msglen)
{
	int err = 0;

	if (!r->o->shards) {
		r->rb = ring_buffer__new(bpf_map__fd(r->skel->maps.events), drain__sample, &r->drain,
					 NULL);
		if (!r->rb)
			err = -errno;
	}
	for (uint32_t i = 0; i < r->o->shards && !err; i++) {
		int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "shard", 0, 0,
					r->o->ringbuf_size / r->o->shards, NULL);

		if (fd < 0 || bpf_map_update_elem(bpf_map__fd(r->skel->maps.shards), &i, &fd, 0)) {
			err = -errno;
			break;
		}
		if (!r->rb) {
			r->rb = ring_buffer__new(fd, drain__sample_shard, &r->drain, NULL);
			if (!r->rb)
				err = -errno;
		} else if (ring_buffer__add(r->rb, fd, drain__sample_shard, &r->drain)) {
			err = -errno;
		}
	}
	if (err)
		snprintf(msg, msglen, "cannot set up the ring buffer: %s", strerror(-err));
	return err;
}

static int attach_prog(struct recorder *r, struct bpf_program *prog, char *msg, size_t msglen)
{
	struct bpf_link *link = bpf_program__attach(prog);

	if (!link) {
		int err = -errno;

		snprintf(msg, msglen, "cannot attach %s: %s", bpf_program__name(prog), strerror(-err));
		return err;
	}
	r->links[r->nlinks++] = link;
	return 0;
}

/* Lifecycle first, so that forks during the rest are seen; then syscalls. */
static int attach_tracepoints(struct recorder *r, char *msg, size_t msglen)
{
	struct bpf_program *progs[] = {
		r->skel->progs.proc_fork, r->skel->progs.proc_exec, r->skel->progs.proc_exit,
		r->skel->progs.proc_rename, r->skel->progs.sys_enter, r->skel->progs.sys_exit,
	};
	size_t n = r->skel->rodata->cfg.trace_syscalls ? 6 : 4;
	int err = 0;

	for (size_t i = 0; i < n && !err; i++)
		err = attach_prog(r, progs[i], msg, msglen);
	return err;
}

/* The threads' names at attach, for the tools; later renames come from BPF. */
static void post_thread_names(struct recorder *r, pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	while (dir && (de = readdir(dir))) {
		struct tape_event ev = { .type = TAPE_EV_COMM, .pid = pid };
		char comm_path[96], name[32] = "";
		int tid = atoi(de->d_name);
		FILE *f;

		if (tid <= 0)
			continue;
		snprintf(comm_path, sizeof(comm_path), "/proc/%d/task/%d/comm", pid, tid);
		f = fopen(comm_path, "re");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f)) {
			name[strcspn(name, "\n")] = 0;
			ev.tid = tid;
			ev.ts = drain__now(&r->drain);
			ev.comm.name = name;
			ev.comm.len = strlen(name);
			drain__post(&r->drain, &ev);
		}
		fclose(f);
	}
	if (dir)
		closedir(dir);
}

static int attach_system(struct recorder *r, char *msg, size_t msglen)
{
	for (int i = 0; i < r->system_libs.n; i++) {
		int file = probes__file(&r->probes, &r->system_libs.libs[i], r->system_libs.fds[i],
					msg, msglen), err;

		if (file < 0)
			return file;
		err = probes__open_system(&r->probes, file, msg, msglen);
		if (err)
			return err;
	}
	return 0;
}

/* Switches the allocator probes on for every target; they record once armed. */
static int attach_allocators(struct recorder *r, char *msg, size_t msglen)
{
	const struct record_opts *o = r->o;
	int err, attached = 0;

	if (!o->alloc)
		return 0;
	if (o->mode == MODE_SYSTEM && !r->follow.opts.match_filter)
		return attach_system(r, msg, msglen);
	if (o->mode == MODE_SYSTEM) {
		err = follower__attach_matching(&r->follow, msg, msglen);
		return err < 0 ? err : 0;
	}
	for (int i = 0; i < r->ntargets; i++) {
		struct target *t = &r->targets[i];

		err = follower__attach(&r->follow, t->pid, &t->libs, msg, msglen);
		if (err == -ESRCH && o->mode == MODE_PID) {
			cli_warn("process %d exited before its probes were attached", t->pid);
			t->alive = false;
			continue;
		}
		if (err)
			return err;
		attached++;
	}
	if (!attached) {
		snprintf(msg, msglen, "every target exited before its probes were attached");
		return -ESRCH;
	}
	return 0;
}

static void queue_unwind_table(const char *open_path, void *ctx)
{
	unwind_loader__queue(ctx, open_path);
}

/*
 * The unwind tables of what runs first: a command's files before it starts
 * (its first calls' stacks are whole), a running target's mapped files.
 */
static void load_target_tables(struct recorder *r)
{
	for (int i = 0; i < r->ntargets; i++) {
		struct lib_set *ls = &r->targets[i].libs;

		for (int j = 0; j < ls->nfiles; j++) {
			int fd = safe_open(-1, ls->files[j], 4ull << 30);

			if (fd >= 0) {
				unwind_loader__load_now(&r->unwind, fd);
				close(fd);
			}
		}
		if (r->o->mode == MODE_PID)
			maps_tracker__learn(&r->maps, r->targets[i].pid);
	}
}

/*
 * Every allocator function of every target records from this instant (and
 * stops at disarm), whatever order the probes came on in.
 */
static int set_armed(struct recorder *r, bool on)
{
	struct record_state st = { .armed = on };
	__u32 zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(r->skel->maps.state), &zero, &st, BPF_ANY))
		return -errno;
	r->armed = on;
	return 0;
}

static void write_markers(struct recorder *r, uint32_t type, uint64_t ts)
{
	struct tape_event ev = { .type = type, .ts = ts };

	ev.marker.what = (r->o->alloc ? TAPE_MARK_ALLOC : 0) |
			 (r->skel->rodata->cfg.trace_syscalls ? TAPE_MARK_SYSCALLS : 0);
	if (r->o->mode == MODE_SYSTEM) {
		drain__post(&r->drain, &ev);
		return;
	}
	for (int i = 0; i < r->ntargets; i++) {
		ev.pid = r->targets[i].pid;
		drain__post(&r->drain, &ev);
	}
}

/* The recorder's reaction to lifecycle events, called from the drain. */
static void on_lifecycle(const struct tape_event *ev, void *ctx)
{
	struct recorder *r = ctx;
	bool following = r->o->alloc && r->follow_ready;

	switch (ev->type) {
	case TAPE_EV_FORK:
		if (following && !(ev->fork.flags & TAPE_FORK_THREAD))
			follower__fork(&r->follow, ev->fork.child_pid, ev->pid, ev->ts);
		break;
	case TAPE_EV_EXEC:
		if (following)
			follower__exec(&r->follow, ev->pid, ev->exec.old_tid, ev->ts);
		break;
	case TAPE_EV_COMM:
		if (following && r->follow.opts.match_filter)
			follower__renamed(&r->follow, ev->pid, ev->ts);
		break;
	case TAPE_EV_EXIT:
		if (!(ev->exit.flags & TAPE_EXIT_PROCESS))
			break;
		for (int i = 0; i < r->ntargets; i++)
			if (r->targets[i].pid == (pid_t)ev->pid)
				r->targets[i].alive = false;
		if (following)
			follower__exited(&r->follow, ev->pid);
		break;
	}
}

/* How many followed processes are still alive (BPF forgets each as it exits). */
static int followed_alive(struct recorder *r)
{
	int fd = bpf_map__fd(r->skel->maps.traced_pids), n = 0;
	__u32 key, next, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		n += kill(next, 0) == 0 || errno == EPERM;
		key = next;
		prev = &key;
	}
	return n;
}

/*
 * Are the targets still running? With children followed, the recording
 * goes on until the last of the tree (a daemon's grandchild too) is gone.
 */
static bool targets_alive(struct recorder *r)
{
	bool any = false;
	int left;

	if (r->o->mode == MODE_SYSTEM)
		return true;
	if (r->o->mode == MODE_COMMAND) {
		if (!r->child_reaped && waitpid(r->child.pid, &r->child_status, WNOHANG) > 0)
			r->child_reaped = true;
		any = !r->child_reaped;
	}
	for (int i = 0; i < r->ntargets && r->o->mode == MODE_PID; i++) {
		struct target *t = &r->targets[i];

		/* The exit event is the news; this catches a process gone before attach. */
		if (t->alive && kill(t->pid, 0) && errno == ESRCH)
			t->alive = false;
		any |= t->alive;
	}
	if (any || !r->o->follow)
		return any;
	if (cli_now() < r->next_tree_check)
		return true;
	r->next_tree_check = cli_now() + 0.1;
	left = followed_alive(r);
	if (left && !r->said_tree && !r->o->quiet) {
		cli_progress__clear(&r->progress);
		fprintf(stderr, "bpftape record: %s exited; still recording %d process%s it left "
			"running (Ctrl-C to stop)\n",
			r->o->mode == MODE_COMMAND ? r->o->command[0] : "every target", left,
			left == 1 ? "" : "es");
		r->said_tree = true;
	}
	return left > 0;
}

static uint64_t total_events(const struct drain_stats *s)
{
	uint64_t n = 0;

	for (int k = 0; k < EV_KINDS; k++)
		n += s->events[k];
	return n;
}

static void show_progress(struct recorder *r, struct cli_progress *p)
{
	char n[32], rate[32], bytes[32], behind[64] = "";
	double secs = cli_now() - r->started;
	uint64_t events = total_events(&r->drain.stats), waiting;
	double backlog = writer__backlog(&r->writer, &waiting);

	/* The disk falling behind is what a crash would lose: show it when it is. */
	if (backlog >= 0.1)
		snprintf(behind, sizeof(behind), ", %.1f s (%s) waiting to be written", backlog,
			 cli_bytes(bytes, sizeof(bytes), waiting));
	cli_progress__show(p, "recording: %s events (%s/s), %s written%s, %llu lost",
			   cli_count(n, sizeof(n), events),
			   cli_count(rate, sizeof(rate), secs > 0 ? events / secs : 0),
			   cli_bytes(bytes, sizeof(bytes), r->writer.bytes_written), behind,
			   (unsigned long long)(r->drain.stats.lost_bpf + r->drain.stats.lost_writer));
}

/* This process's CPU time so far, user and system, all threads. */
static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_summary(struct recorder *r, const char *stop_reason)
{
	const struct drain_stats *s = &r->drain.stats;
	double secs = cli_now() - r->started;
	uint64_t events = total_events(s), bytes = r->writer.bytes_written;
	struct rusage ru;
	char b[32];
	bool first = true;
	double cpu;

	fprintf(stderr, "bpftape record: %s after %.1f s: %llu events (%.0f/s) in %s, %s (%.1f bytes/event)\n",
		stop_reason, secs, (unsigned long long)events, secs > 0 ? events / secs : 0,
		r->o->output, cli_bytes(b, sizeof(b), bytes), events ? (double)bytes / events : 0);
	fprintf(stderr, "  ");
	for (int k = 1; k < EV_KINDS; k++) {
		if (!s->events[k])
			continue;
		fprintf(stderr, "%s%s %llu", first ? "" : ", ", tape_type_name(k),
			(unsigned long long)s->events[k]);
		if (k == EV_FORK && s->thread_forks)
			fprintf(stderr, " (%llu of them threads)", (unsigned long long)s->thread_forks);
		first = false;
	}
	fprintf(stderr, "%s\n", first ? "no events" : "");
	fprintf(stderr, "  lost: %llu", (unsigned long long)(s->lost_bpf + s->lost_writer));
	if (s->lost_bpf)
		fprintf(stderr, ", %llu in BPF (ring buffer full or no room: try --ringbuf-size)",
			(unsigned long long)s->lost_bpf);
	if (s->lost_writer)
		fprintf(stderr, ", %llu while writing was more than a second or the memory cap behind "
			"(the disk was too slow)",
			(unsigned long long)s->lost_writer);
	if (s->follow_gaps)
		fprintf(stderr, "; gaps: %llu time%s a process ran an allocator before its probes were "
			"on, %.1f ms in all (loss records say which and when)",
			(unsigned long long)s->follow_gaps, s->follow_gaps == 1 ? "" : "s",
			s->gap_ns / 1e6);
	if (s->unread_images)
		fprintf(stderr, "; %llu process%s exec'd and ended before its new image could be read "
			"(if it brought another allocator, its calls are missing; loss records say which)",
			(unsigned long long)s->unread_images, s->unread_images == 1 ? "" : "es");
	fprintf(stderr, "\n");
	if (r->o->stack_depth) {
		const struct unwind_loader *u = &r->unwind;

		fprintf(stderr, "  stacks: %llu distinct; unwind tables of %llu files (%llu rows)",
			(unsigned long long)s->stacks, (unsigned long long)u->files,
			(unsigned long long)u->rows_loaded);
		if (u->full)
			fprintf(stderr, "; %llu files beyond --stack-memory, walked by frame pointer "
				"only (their stacks may stop early)", (unsigned long long)u->full);
		fprintf(stderr, "\n");
	}
	/*
	 * Our own cost: BPF runs in the targets' time; this is the drain,
	 * compression and writing, apart from setting up.
	 */
	cpu = cpu_seconds() - r->setup_cpu;
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "  recorder: CPU %.2f s while recording (%.0f ns/event), %.2f s to set up; peak memory %s",
		cpu, events ? cpu * 1e9 / events : 0, r->setup_cpu,
		cli_bytes(b, sizeof(b), (uint64_t)ru.ru_maxrss * 1024));
	/* The kernel maps the ring buffer's data twice (for wrap-around): it is in the RSS. */
	if (!r->o->shards)
		fprintf(stderr, " (the ring buffer's %s counts twice in it)",
			cli_bytes(b, sizeof(b), r->o->ringbuf_size));
	fprintf(stderr, "\n");
}

/* What mwrap's format could not hold, as convert says it. */
static void print_mwrap_drops(const struct writer *w)
{
	const struct mwrap_drops *d = &w->mwrap_drops;

	if (d->failed || d->free_null || d->misaligned || d->other)
		fprintf(stderr,
			"  not expressible in mwrap's format, dropped: %llu failed calls, %llu "
			"free(NULL), %llu misaligned pointers, %llu syscall/lifecycle/map/marker/stack "
			"events (%llu stack records)\n",
			(unsigned long long)d->failed, (unsigned long long)d->free_null,
			(unsigned long long)d->misaligned, (unsigned long long)d->other,
			(unsigned long long)d->stacks);
	if (d->losses)
		cli_warn("the recording has %llu loss records: events are missing and mwrap's "
			 "format cannot say so (record the native format to keep them)",
			 (unsigned long long)d->losses);
	if (w->mwrap_several_pids)
		cli_warn("allocations of several processes went into one mwrap trace (mwrap holds one "
			 "address space): record the native format and convert with --pid");
}

/* The summary as one JSON object: for scripts, and what tests read. */
static void print_summary_json(struct recorder *r, const char *stop_reason, int status)
{
	const struct drain_stats *s = &r->drain.stats;
	FILE *out = strcmp(r->o->output, "-") ? stdout : stderr;
	double secs = cli_now() - r->started, cpu = cpu_seconds() - r->setup_cpu;
	uint64_t events = total_events(s);
	struct rusage ru;
	bool first = true;

	getrusage(RUSAGE_SELF, &ru);
	fprintf(out, "{\"stopped\":");
	print_json_string(out, stop_reason, strlen(stop_reason));
	fprintf(out, ",\"seconds\":%.3f,\"output\":", secs);
	print_json_string(out, r->o->output, strlen(r->o->output));
	fprintf(out, ",\"events\":%llu,\"bytes\":%llu,\"kinds\":{", (unsigned long long)events,
		(unsigned long long)r->writer.bytes_written);
	for (int k = 1; k < EV_KINDS; k++) {
		if (!s->events[k])
			continue;
		fprintf(out, "%s\"%s\":%llu", first ? "" : ",", tape_type_name(k),
			(unsigned long long)s->events[k]);
		first = false;
	}
	fprintf(out, "},\"thread_forks\":%llu", (unsigned long long)s->thread_forks);
	fprintf(out, ",\"lost\":{\"total\":%llu,\"bpf\":%llu,\"writer\":%llu}",
		(unsigned long long)(s->lost_bpf + s->lost_writer), (unsigned long long)s->lost_bpf,
		(unsigned long long)s->lost_writer);
	fprintf(out, ",\"gaps\":{\"count\":%llu,\"seconds\":%.6f,\"unread_images\":%llu}",
		(unsigned long long)s->follow_gaps, s->gap_ns / 1e9,
		(unsigned long long)s->unread_images);
	fprintf(out, ",\"stacks\":{\"distinct\":%llu,\"unwind_files\":%llu,\"unwind_rows\":%llu,"
		"\"files_beyond_memory\":%llu}", (unsigned long long)s->stacks,
		(unsigned long long)r->unwind.files, (unsigned long long)r->unwind.rows_loaded,
		(unsigned long long)r->unwind.full);
	fprintf(out, ",\"recorder\":{\"cpu_seconds\":%.3f,\"ns_per_event\":%.0f,\"setup_seconds\":%.3f,"
		"\"peak_rss_bytes\":%llu}", cpu, events ? cpu * 1e9 / events : 0, r->setup_cpu,
		(unsigned long long)ru.ru_maxrss * 1024);
	fprintf(out, ",\"exit_status\":%d}\n", status);
}

/* The header, now that the targets and their allocators are known. */
static void build_header(struct recorder *r)
{
	uint32_t pids[RECORD_MAX_PIDS];
	int n = 0;

	for (int i = 0; i < r->ntargets; i++)
		pids[n++] = r->targets[i].pid;
	record_header__build(&r->hdr, r->o, pids, n, clock_ns(CLOCK_MONOTONIC),
			     clock_ns(CLOCK_REALTIME));
	r->drain.zero_ns = tape_header__u64(&r->hdr, TAPE_CFG_ZERO_MONO_NS, 0);
	for (int i = 0; i < r->system_libs.n; i++)
		record_header__add_lib(&r->hdr, &r->system_libs.libs[i]);
	for (int i = 0; i < r->ntargets; i++) {
		struct lib_set *ls = &r->targets[i].libs;

		for (int j = 0; j < ls->n; j++) {
			bool seen = false;

			for (uint32_t k = 0; k < r->hdr.nentries && !seen; k++) {
				const struct tape_config_entry *e = &r->hdr.entries[k];

				seen = e->key == TAPE_CFG_LIBRARY && e->len > 1 &&
				       !strcmp((const char *)e->data + 1 + e->data[0],
					       ls->libs[j].shown);
			}
			if (!seen)
				record_header__add_lib(&r->hdr, &ls->libs[j]);
		}
	}
}

/* Runs until a signal, -d, the targets' end or a write error; returns why. */
static const char *record_until_done(struct recorder *r, int *status)
{
	struct cli_progress *progress = &r->progress;
	double deadline = r->o->duration > 0 ? r->started + r->o->duration : 0;
	char msg[512];

	for (;;) {
		uint64_t before = clock_ns(CLOCK_MONOTONIC);
		int n = ring_buffer__consume(r->rb);

		/*
		 * A ring buffer is ready for poll whenever it holds anything, so
		 * polling a busy one returns at once with a handful of records, and
		 * the syscalls cost more than the records. Instead: idle, sleep
		 * until the BPF side's batched wake-up (or the timeout, after which
		 * the records below the threshold are taken); busy, let a batch
		 * gather first; far behind, go on at once.
		 */
		if (n == 0)
			n = ring_buffer__poll(r->rb, POLL_MS);
		else if (n < DRAIN_BATCH)
			nanosleep(&(struct timespec){ 0, DRAIN_PAUSE_NS }, NULL);
		if (n < 0 && n != -EINTR) {
			cli_error("reading the ring buffer failed: %s", strerror(-n));
			*status = EXIT_FAIL;
			return "stopped by an error";
		}
		drain__tick(&r->drain, before - MERGE_SLACK_NS);
		/* Reported once, when the writer finishes. */
		if (writer__error(&r->writer, msg, sizeof(msg))) {
			*status = EXIT_FAIL;
			return "stopped by a write error";
		}
		if (r->drain.err) {
			cli_error("out of memory while encoding events");
			*status = EXIT_FAIL;
			return "stopped by an error";
		}
		if (stop_signal)
			return stop_signal == SIGINT ? "interrupted" : "stopped by a signal";
		if (deadline && cli_now() >= deadline)
			return "done";
		if (!targets_alive(r))
			return r->o->mode == MODE_COMMAND ? "the command exited" : "every target exited";
		if (cli_progress__due(progress))
			show_progress(r, progress);
	}
}

static const char *run_loop(struct recorder *r, int *status)
{
	const char *why;

	cli_progress__init(&r->progress);
	r->progress.enabled &= !r->o->quiet;
	why = record_until_done(r, status);
	/* What follows (errors, the summary) starts on a line of its own. */
	cli_progress__clear(&r->progress);
	return why;
}

static int command_status(struct recorder *r)
{
	/* Give a command interrupted along with us a moment to finish. */
	for (int i = 0; i < 20 && !r->child_reaped; i++) {
		if (waitpid(r->child.pid, &r->child_status, WNOHANG) > 0)
			r->child_reaped = true;
		else
			usleep(50 * 1000);
	}
	if (!r->child_reaped) {
		cli_warn("%s (PID %d) is still running; it is no longer recorded", r->o->command[0],
			 r->child.pid);
		return EXIT_OK;
	}
	if (WIFSIGNALED(r->child_status))
		return 128 + WTERMSIG(r->child_status);
	return WEXITSTATUS(r->child_status);
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A reader of -o - that goes away is a write error, not a kill. */
	signal(SIGPIPE, SIG_IGN);
}

/* The follower's rules for this recording. */
static void follow_options(const struct record_opts *o, struct follow_opts *fo)
{
	memset(fo, 0, sizeof(*fo));
	fo->match_filter = o->mode == MODE_SYSTEM && (o->comm || o->filter_uid || o->cgroup);
	fo->system_wide = o->mode == MODE_SYSTEM && !fo->match_filter;
	/* A filter's matching processes: their children match too, as born. */
	fo->inherit = o->follow || fo->match_filter;
	fo->fixed_libs = o->nlibs > 0;
	fo->comm = o->comm;
	fo->filter_uid = o->filter_uid;
	fo->uid = o->uid;
	fo->cgroup_id = o->cgroup ? o->cgroup_id : 0;
}

static void say_recording(struct recorder *r)
{
	const struct record_opts *o = r->o;

	if (o->quiet)
		return;
	/* Also what scripts wait for before starting their workload. */
	if (o->mode == MODE_SYSTEM)
		fprintf(stderr, "bpftape record: recording the whole system to %s; Ctrl-C to stop\n",
			o->output);
	if (o->mode == MODE_SYSTEM && o->alloc && r->follow.opts.system_wide)
		fprintf(stderr, "bpftape record: every process using %s now traps into the kernel on "
			"each allocator call, about %.1f us per call on this machine (measured now); "
			"--comm, --uid or --cgroup limit it to the processes that match\n",
			r->system_libs.n ? r->system_libs.libs[0].shown : "the allocator",
			r->trap_ns > 0 ? r->trap_ns / 1e3 : 0.0);
	else if (o->mode == MODE_COMMAND)
		fprintf(stderr, "bpftape record: recording %s (PID %d) to %s\n", o->command[0],
			r->child.pid, o->output);
	else
		fprintf(stderr, "bpftape record: recording %d process%s to %s; Ctrl-C to stop\n",
			r->ntargets, r->ntargets == 1 ? "" : "es", o->output);
}

/* Everything up to the moment the targets run with their probes armed. */
static int start(struct recorder *r, char *msg, size_t msglen)
{
	struct record_opts *o = r->o;
	struct follow_opts fo;
	double untrapped_ns;
	int err;

	err = preflight_check(o->alloc, msg, msglen);
	/* Before any thread: the host is a fork of this process. */
	if (!err && o->alloc)
		err = probe_host__start(&r->host, msg, msglen);
	if (!err)
		err = resolve_targets(r, msg, msglen);
	if (err)
		return err;
	/* Said now, before the set-up; the file itself is made once set-up is done. */
	if (strcmp(o->output, "-") && !o->force && !access(o->output, F_OK)) {
		snprintf(msg, msglen, "%.900s exists; use --force to overwrite it", o->output);
		return -EEXIST;
	}
	r->skel = record_bpf__open();
	if (!r->skel) {
		err = -errno;
		snprintf(msg, msglen, "cannot open the BPF programs: %s", strerror(-err));
		return err;
	}
	configure(r);
	err = record_bpf__load(r->skel);
	if (err) {
		snprintf(msg, msglen,
			 "cannot load the BPF programs: %s (run with -v to see the kernel's reason)",
			 strerror(-err));
		return err;
	}
	install_signals();
	if (o->mode == MODE_COMMAND) {
		err = spawn_held(r->exe, o->command, !strcmp(o->output, "-"), &r->child, msg,
				 msglen);
		if (err)
			return err;
		r->targets[0].pid = r->child.pid;
		r->targets[0].alive = true;
	}
	for (int i = 0; i < r->ntargets; i++) {
		__u8 one = 1;
		__u32 pid = r->targets[i].pid;

		bpf_map_update_elem(bpf_map__fd(r->skel->maps.traced_pids), &pid, &one, BPF_ANY);
	}
	build_header(r);
	err = drain__init(&r->drain, r->skel, &r->writer, o->alloc || o->stack_depth ? &r->maps : NULL,
			  tape_header__u64(&r->hdr, TAPE_CFG_ZERO_MONO_NS, 0));
	if (err) {
		snprintf(msg, msglen, "out of memory");
		return err;
	}
	r->drain_ready = true;
	r->drain.name_threads = o->mode == MODE_SYSTEM;
	r->drain.on_lifecycle = on_lifecycle;
	r->drain.hook_ctx = r;
	if (o->alloc) {
		err = probes__init(&r->probes, r->skel, r->host.pid, r->host.tracefs, msg, msglen);
		if (err)
			return err;
		r->probes_ready = true;
	}
	if (o->stack_depth) {
		err = unwind_loader__init(&r->unwind, r->skel, msg, msglen);
		if (!err)
			err = unwind_loader__start(&r->unwind);
		if (err)
			return err;
		/* Every executable file the recorder learns of gets its table. */
		r->maps.on_new_file = queue_unwind_table;
		r->maps.on_new_file_ctx = &r->unwind;
		load_target_tables(r);
	}
	follow_options(o, &fo);
	follower__init(&r->follow, &r->probes, &r->drain, &fo, &r->fixed_libs);
	r->follow_ready = true;
	if (o->alloc && fo.inherit && !fo.system_wide && !fo.fixed_libs) {
		err = exec_lane__start(&r->lane, bpf_map__fd(r->skel->maps.exec_lane));
		if (err)	/* images are then read when the follower gets to them */
			cli_warn("cannot read new images as they are exec'd: %s", strerror(-err));
		else
			r->follow.lane = &r->lane;
	}
	untrapped_ns = self_test_call_ns();
	err = open_ring_buffers(r, msg, msglen);
	if (!err)
		err = attach_tracepoints(r, msg, msglen);
	if (!err)
		err = attach_allocators(r, msg, msglen);
	/* What every process pays now: measured on our own calls, which trap too. */
	if (!err && o->mode == MODE_SYSTEM && o->alloc && r->follow.opts.system_wide)
		r->trap_ns = self_test_call_ns() - untrapped_ns;
	if (!err && o->alloc)
		err = set_armed(r, true);
	if (err) {
		if (!msg[0])
			snprintf(msg, msglen, "cannot arm the probes: %s", strerror(-err));
		return err;
	}
	write_markers(r, TAPE_EV_ATTACH, drain__now(&r->drain));
	for (int i = 0; i < r->ntargets && o->mode == MODE_PID; i++)
		post_thread_names(r, r->targets[i].pid);
	/*
	 * The tape is created as late as it can be, once everything is on (the
	 * ring buffer holds what comes meanwhile): a recorder killed while it
	 * set up leaves no empty tape behind.
	 */
	r->out_fd = output_file__create(o->output, o->force, msg, msglen);
	if (r->out_fd < 0)
		return r->out_fd;
	err = writer__start(&r->writer, r->out_fd, o->output, o->format, &r->hdr, o->max_memory,
			    msg, msglen);
	if (err)
		return err;
	r->writer_started = true;
	err = follower__start(&r->follow);
	if (err) {
		snprintf(msg, msglen, "cannot start the following thread: %s", strerror(-err));
		return err;
	}
	if (o->mode == MODE_COMMAND) {
		err = spawn_release(&r->child, msg, msglen);
		if (err) {
			r->child.pid = 0;
			return err;
		}
	}
	return 0;
}

/*
 * Disarm first, at one instant for every function of every process; then
 * let the follower write what its queued work would have needed; then
 * detach, and drain what is left, once.
 */
static void stop(struct recorder *r)
{
	uint64_t ts = r->drain_ready ? drain__now(&r->drain) : 0;

	if (r->armed)
		set_armed(r, false);
	if (r->follow_ready)
		follower__stop(&r->follow, ts);
	if (r->follow.lane)
		exec_lane__stop(&r->lane);
	r->follow.lane = NULL;
	for (int i = r->nlinks - 1; i >= 0; i--)
		bpf_link__destroy(r->links[i]);
	r->nlinks = 0;
	if (r->probes_ready)
		probes__free(&r->probes);
	r->probes_ready = false;
	unwind_loader__stop(&r->unwind);
	probe_host__stop(&r->host);
	if (r->rb) {
		ring_buffer__consume(r->rb);
		if (r->drain_ready)
			write_markers(r, TAPE_EV_DETACH, ts);
	}
	if (r->drain_ready)
		drain__finish(&r->drain);
}

int do_record(int argc, char **argv)
{
	struct record_opts o;
	struct recorder r = { .o = &o, .out_fd = -1 };
	const char *reason = "stopped by an error";
	int status = EXIT_FAIL, err;
	char msg[1024] = "";

	err = record_opts__parse(&o, argc, argv);
	if (err)
		return err < 0 ? EXIT_OK : err;
	if (o.self_test)
		return self_test_run();
	libbpf_set_print(o.verbose ? libbpf_verbose : libbpf_quiet);
	maps_tracker__init(&r.maps);
	err = start(&r, msg, sizeof(msg));
	if (!err) {
		r.started = cli_now();
		r.setup_cpu = cpu_seconds();
		say_recording(&r);
		status = EXIT_OK;
		reason = run_loop(&r, &status);
		/*
		 * A SIGTERM or SIGHUP meant for the recording goes to the command
		 * it started too, rather than leaving it orphaned. (Ctrl-C reaches
		 * both from the terminal.) After -d or a write error, the command
		 * keeps running, unrecorded, and command_status says so.
		 */
		if (o.mode == MODE_COMMAND && (stop_signal == SIGTERM || stop_signal == SIGHUP) &&
		    !r.child_reaped)
			kill(r.child.pid, stop_signal);
	}
	if (err) {
		cli_error("%s", msg);
		status = EXIT_FAIL;
		if (o.mode == MODE_COMMAND)
			spawn_abort(&r.child);
	}
	stop(&r);
	if (r.writer_started) {
		char wmsg[512];

		if (writer__finish(&r.writer, wmsg, sizeof(wmsg))) {
			cli_error("%s", wmsg);
			status = EXIT_FAIL;
		} else if (!err && !o.quiet && !o.json) {
			print_summary(&r, reason);
			if (o.format == OUTPUT_MWRAP)
				print_mwrap_drops(&r.writer);
		}
	}
	if (!err && status == EXIT_OK && o.mode == MODE_COMMAND)
		status = command_status(&r);
	if (!err && o.json && r.writer_started)
		print_summary_json(&r, reason, status);
	ring_buffer__free(r.rb);
	if (r.drain_ready)
		drain__free(&r.drain);
	if (r.follow_ready)
		follower__free(&r.follow);
	maps_tracker__free(&r.maps);
	record_bpf__destroy(r.skel);
	for (int i = 0; i < r.ntargets; i++)
		lib_set__free(&r.targets[i].libs);
	lib_set__free(&r.system_libs);
	lib_set__free(&r.fixed_libs);
	lib_resolve__cleanup();
	tape_header__free(&r.hdr);
	if (r.out_fd >= 0)
		output_file__close(r.out_fd);
	/* A failed start leaves no empty tape behind. */
	if (err && r.out_fd >= 0 && !r.writer_started && strcmp(o.output, "-"))
		unlink(o.output);
	return status;
}

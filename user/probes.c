/* Probed files and their perf events: see probes.h. */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "grow_array.h"
#include "probes.h"
#include "record_skel.h"

/*
 * A perf event of a uprobe event, on one task (or CPU). With inherit, it is
 * copied into the task's children and threads as they are made. Those
 * copies must stay with their own task: perf may swap the event contexts of
 * two related tasks at a context switch (an optimization), and a copy that
 * wandered to another task dies when that one exits, taking the probes of
 * the task it belonged to with it (the uprobe filter goes by the event's
 * task). PERF_SAMPLE_READ (with PERF_SAMPLE_TID, which it requires) with
 * inherit makes perf switch such contexts the slow way, never swapping them
 * (Linux 6.10).
 */
static int perf_open(int id, pid_t pid, int cpu, bool inherit)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.config = id,
		.sample_period = 1,
		.sample_type = inherit ? PERF_SAMPLE_READ | PERF_SAMPLE_TID : 0,
		.inherit = inherit,
	};
	int fd = syscall(SYS_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	static bool warned;

	if (fd < 0 && errno == EINVAL && inherit) {
		/* Before Linux 6.10: no PERF_SAMPLE_READ with inherit. Record, and say what it risks. */
		attr.sample_type = 0;
		fd = syscall(SYS_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd >= 0 && !warned)
			cli_warn("this kernel (before Linux 6.10) may swap the probes of related processes "
				 "and threads; when one of them exits, another's calls can go unrecorded "
				 "without a loss record");
		warned |= fd >= 0;
	}
	return fd < 0 ? -errno : fd;
}

static int keep_fd(struct probes *p, int fd)
{
	int *n = grow_array(p->fds, &p->fds_cap, p->nfds + 1, sizeof(*p->fds));

	if (!n) {
		close(fd);
		return -ENOMEM;
	}
	p->fds = n;
	p->fds[p->nfds++] = fd;
	return 0;
}

int probes__init(struct probes *p, struct record_bpf *skel, pid_t host, const char *tracefs,
		 char *msg, size_t msglen)
{
	memset(p, 0, sizeof(*p));
	p->skel = skel;
	p->host = host;
	pthread_mutex_init(&p->lock, NULL);
	return probe_events__init(&p->events, tracefs, msg, msglen);
}

/* The file's probes into the BPF tables, under IDs from first, found by its entry event. */
static int fill_tables(struct probes *p, const struct alloc_lib *lib, uint32_t first,
		       int entry_id)
{
	int table = bpf_map__fd(p->skel->maps.probe_table);
	int index = bpf_map__fd(p->skel->maps.probe_index);
	int by_event = bpf_map__fd(p->skel->maps.probe_by_event);

	for (int i = 0; i < lib->nprobes; i++) {
		struct probe_key key = { lib->ino, lib->probes[i].offset };
		struct probe_key ekey = { (uint64_t)entry_id, lib->probes[i].offset };
		uint32_t id = first + i;

		if (bpf_map_update_elem(table, &id, &lib->probes[i].info, BPF_ANY) ||
		    bpf_map_update_elem(index, &key, &id, BPF_ANY) ||
		    bpf_map_update_elem(by_event, &ekey, &id, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* The programs go on one perf event of each uprobe event, opened on the host. */
static int anchor(struct probes *p, struct probed_file *f, int which, int id,
		  struct bpf_program *prog, char *msg, size_t msglen)
{
	int fd = perf_open(id, p->host, -1, false), err;

	if (fd < 0) {
		snprintf(msg, msglen, "cannot open a perf event of the uprobes in %s: %s",
			 f->lib.shown, strerror(-fd));
		return fd;
	}
	f->anchor_fd[which] = fd;
	f->anchor[which] = bpf_program__attach_perf_event(prog, fd);
	if (!f->anchor[which]) {
		err = -errno;
		snprintf(msg, msglen, "cannot attach the allocator program to the uprobes in %s: %s",
			 f->lib.shown, strerror(-err));
		return err;
	}
	return 0;
}

static void close_file(struct probed_file *f)
{
	for (int w = 0; w < 2; w++) {
		if (f->anchor[w])
			bpf_link__destroy(f->anchor[w]);
		if (f->anchor_fd[w] >= 0)
			close(f->anchor_fd[w]);
		f->anchor[w] = NULL;
		f->anchor_fd[w] = -1;
	}
}

static int add_file(struct probes *p, const struct alloc_lib *lib, int fd, char *msg,
		    size_t msglen)
{
	uint64_t entries[ALLOC_FUNCS], returns[ALLOC_FUNCS];
	int ne = 0, nr = 0, err;
	struct probed_file *f;

	if (p->next_probe + lib->nprobes > MAX_PROBES) {
		snprintf(msg, msglen, "too many allocator files to probe (at most %d functions)",
			 MAX_PROBES);
		return -ENOSPC;
	}
	f = grow_array(p->files, &p->cap, p->nfiles + 1, sizeof(*p->files));
	if (!f)
		return -ENOMEM;
	p->files = f;
	f = &p->files[p->nfiles];
	memset(f, 0, sizeof(*f));
	f->lib = *lib;
	f->anchor_fd[0] = f->anchor_fd[1] = -1;
	f->first_probe = p->next_probe;
	for (int i = 0; i < lib->nprobes; i++) {
		entries[ne++] = lib->probes[i].offset;
		if (alloc_probe__returns(&lib->probes[i]))
			returns[nr++] = lib->probes[i].offset;
	}
	err = probe_events__define(&p->events, fd, entries, ne, returns, nr, &f->entry_id,
				   &f->return_id, msg, msglen);
	if (!err) {
		err = fill_tables(p, lib, f->first_probe, f->entry_id);
		if (err)
			snprintf(msg, msglen, "cannot fill the probe table: %s", strerror(-err));
	}
	/* Returns first: a call entering once its entry is on must be seen returning. */
	if (!err && f->return_id >= 0)
		err = anchor(p, f, 1, f->return_id, p->skel->progs.alloc_return, msg, msglen);
	if (!err)
		err = anchor(p, f, 0, f->entry_id, p->skel->progs.alloc_enter, msg, msglen);
	if (err) {
		close_file(f);
		return err;
	}
	p->next_probe += lib->nprobes;
	return p->nfiles++;
}

int probes__file(struct probes *p, const struct alloc_lib *lib, int fd, char *msg, size_t msglen)
{
	int r = -1;

	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->nfiles && r < 0; i++)
		if (p->files[i].lib.dev == lib->dev && p->files[i].lib.ino == lib->ino)
			r = i;
	if (r < 0)
		r = add_file(p, lib, fd, msg, msglen);
	pthread_mutex_unlock(&p->lock);
	return r;
}

static int open_pair(struct probes *p, int file, pid_t pid, int cpu, bool inherit, char *msg,
		     size_t msglen)
{
	const struct probed_file *f;
	int ids[2], fd, err = 0;

	pthread_mutex_lock(&p->lock);
	f = &p->files[file];
	ids[0] = f->return_id;
	ids[1] = f->entry_id;
	for (int i = 0; i < 2 && !err; i++) {
		if (ids[i] < 0)
			continue;
		fd = perf_open(ids[i], pid, cpu, inherit);
		err = fd < 0 ? fd : keep_fd(p, fd);
	}
	if (err && err != -ESRCH)
		snprintf(msg, msglen, "cannot switch on the probes of %s for %s %d: %s",
			 f->lib.shown, pid > 0 ? "thread" : "CPU", pid > 0 ? pid : cpu,
			 strerror(-err));
	else if (err)
		snprintf(msg, msglen, "thread %d has exited", pid);
	pthread_mutex_unlock(&p->lock);
	return err;
}

int probes__open_task(struct probes *p, int file, pid_t tid, bool inherit, char *msg,
		      size_t msglen)
{
	return open_pair(p, file, tid, -1, inherit, msg, msglen);
}

int probes__open_system(struct probes *p, int file, char *msg, size_t msglen)
{
	int ncpus = libbpf_num_possible_cpus(), err = 0;

	for (int cpu = 0; cpu < ncpus && !err; cpu++) {
		err = open_pair(p, file, -1, cpu, false, msg, msglen);
		/* A possible CPU that is offline: it runs nothing. */
		if (err == -ENODEV || err == -EINVAL)
			err = 0;
	}
	return err;
}

void probes__each(struct probes *p, void (*fn)(const struct alloc_lib *lib, void *ctx), void *ctx)
{
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < p->nfiles; i++)
		fn(&p->files[i].lib, ctx);
	pthread_mutex_unlock(&p->lock);
}

void probes__free(struct probes *p)
{
	for (size_t i = 0; i < p->nfds; i++)
		close(p->fds[i]);
	for (int i = 0; i < p->nfiles; i++)
		close_file(&p->files[i]);
	probe_events__remove_all(&p->events);
	free(p->fds);
	free(p->files);
	pthread_mutex_destroy(&p->lock);
	memset(p, 0, sizeof(*p));
}

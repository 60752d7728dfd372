/* Allocator probes as the traced tree changes: see follow.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "drain.h"
#include "follow.h"
#include "exec_lane.h"
#include "grow_array.h"
#include "join.h"
#include "image_capture.h"
#include "probes.h"
#include "safe_open.h"

#define MAX_MAPS_BYTES (64u << 20)
#define RESCAN_SECONDS 1.0

enum work_kind {
	WORK_FORK,
	WORK_EXEC,
	WORK_RENAMED,
	WORK_EXITED,
};

struct follow_work {
	struct follow_work *next;
	enum work_kind kind;
	pid_t pid, other;	/* fork: the parent; exec: the thread that called it */
	uint64_t ts;
	struct image_capture *image;	/* exec: NULL when the process was gone already */
};

/*
 * After an exec, the dynamic loader maps the new image's libraries within
 * about a millisecond, and a short-lived process may be gone soon after:
 * its mappings are read on this schedule (seconds after the exec event),
 * for naming callers and for allocator files nothing predicted.
 */
static const double watch_delays[] = { 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032,
				       0.064, 0.128, 0.256 };

struct map_watch {
	pid_t pid;
	int step;
	double due;
	uint64_t exec_ts;
};

/* A file probed in a process, and since when (tape time; 0: from the start). */
struct proc_file {
	int file;		/* index in probes */
	uint64_t since;
};

struct traced_proc {
	pid_t pid;
	pid_t parent;		/* in the traced tree; 0 when unknown */
	struct proc_file *files;
	size_t nfiles, cap;
};

void follower__init(struct follower *f, struct probes *probes, struct drain *drain,
		    const struct follow_opts *opts, const struct lib_set *fixed)
{
	memset(f, 0, sizeof(*f));
	f->probes = probes;
	f->drain = drain;
	f->opts = *opts;
	f->fixed = fixed;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
}

/* ------------------------------------------------------------ bookkeeping */

static struct traced_proc *find_proc(struct follower *f, pid_t pid)
{
	for (size_t i = 0; i < f->nprocs; i++)
		if (f->procs[i].pid == pid)
			return &f->procs[i];
	return NULL;
}

static struct traced_proc *add_proc(struct follower *f, pid_t pid)
{
	struct traced_proc *p = find_proc(f, pid);

	if (p)
		return p;
	p = grow_array(f->procs, &f->cap, f->nprocs + 1, sizeof(*f->procs));
	if (!p)
		return NULL;
	f->procs = p;
	p = &f->procs[f->nprocs++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	return p;
}

static void drop_proc(struct follower *f, pid_t pid)
{
	struct traced_proc *p = find_proc(f, pid);

	if (!p)
		return;
	free(p->files);
	*p = f->procs[--f->nprocs];
}

static struct proc_file *proc_file(struct traced_proc *p, int file)
{
	for (size_t i = 0; i < p->nfiles; i++)
		if (p->files[i].file == file)
			return &p->files[i];
	return NULL;
}

static int add_proc_file(struct traced_proc *p, int file, uint64_t since)
{
	struct proc_file *pf = proc_file(p, file);

	if (pf)
		return 0;
	pf = grow_array(p->files, &p->cap, p->nfiles + 1, sizeof(*p->files));
	if (!pf)
		return -ENOMEM;
	p->files = pf;
	p->files[p->nfiles++] = (struct proc_file){ file, since };
	return 0;
}

/* ------------------------------------------------------------ tape records */

static void post_loss(struct follower *f, pid_t pid, uint64_t from, uint64_t to, uint32_t reason)
{
	struct tape_event ev = { .type = TAPE_EV_LOSS, .pid = pid, .ts = to,
				 .loss = { .reason = reason,
					   .cpu = TAPE_LOSS_NO_CPU, .first_ts = from } };

	drain__post(f->drain, &ev);
	f->gaps++;
}

static void post_gap(struct follower *f, pid_t pid, uint64_t from, uint64_t to)
{
	post_loss(f, pid, from, to, TAPE_LOSS_FOLLOW_GAP);
}

static void post_probed(struct follower *f, pid_t pid, const struct alloc_lib *lib, uint64_t ts)
{
	struct tape_event ev = { .type = TAPE_EV_PROBE, .pid = pid, .ts = ts };

	ev.probe.build_id = lib->build_id;
	ev.probe.build_id_len = lib->build_id_len;
	ev.probe.path = lib->shown;
	ev.probe.path_len = strlen(lib->shown);
	drain__post(f->drain, &ev);
}

/* ---------------------------------------------------------------- probing */

/* Is a file with this inode mapped executable in pid now? */
static bool mapped_now(pid_t pid, ino_t ino)
{
	char path[64], *maps = NULL, *save = NULL;
	size_t len;
	int cut;
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	if (read_small_file(path, MAX_MAPS_BYTES, &maps, &len, &cut))
		return false;
	for (char *line = strtok_r(maps, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long inode = 0;
		char perms[8];

		if (sscanf(line, "%*x-%*x %7s %*x %*s %llu", perms, &inode) == 2 &&
		    strchr(perms, 'x') && inode == (unsigned long long)ino)
			found = true;
	}
	free(maps);
	return found;
}

/* Opens a file's events on every thread of pid, again until no new thread shows up. */
static int open_on_threads(struct follower *f, int file, pid_t pid, char *msg, size_t msglen)
{
	pid_t *done = NULL;
	size_t ndone = 0, cap = 0;
	bool more = true;
	int err = 0, rounds = 0;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	while (more && !err && rounds++ < 100) {
		DIR *dir = opendir(path);
		struct dirent *de;

		if (!dir) {
			err = -ESRCH;
			snprintf(msg, msglen, "process %d has exited", pid);
			break;
		}
		more = false;
		while (!err && (de = readdir(dir))) {
			pid_t tid = atoi(de->d_name);
			bool seen = false;
			void *p;

			if (tid <= 0)
				continue;
			for (size_t i = 0; i < ndone && !seen; i++)
				seen = done[i] == tid;
			if (seen)
				continue;
			err = probes__open_task(f->probes, file, tid, f->opts.inherit, msg, msglen);
			if (err == -ESRCH)
				err = 0;	/* a thread that ended meanwhile */
			p = grow_array(done, &cap, ndone + 1, sizeof(*done));
			if (!p) {
				err = -ENOMEM;
				break;
			}
			done = p;
			done[ndone++] = tid;
			more = true;	/* threads made meanwhile by one not yet probed: look again */
		}
		closedir(dir);
	}
	free(done);
	return err;
}

#define MAX_SPREAD_DEPTH 16

/*
 * A file the tree's processes exec into (a preloaded allocator, a program
 * with its own) is probed late in the first, after a gap. Its ancestors get
 * its probes too, inherited: later children (the next compiler a build
 * starts, the next command of a script) have them from their first
 * instruction. A process pays for a probe only where the file is mapped;
 * its forks pay for inheriting two more events.
 */
static void spread_to_ancestors(struct follower *f, pid_t pid, int file)
{
	char msg[256];

	for (int depth = 0; depth < MAX_SPREAD_DEPTH; depth++) {
		struct traced_proc *p;
		pid_t up = 0;
		bool has = true;

		pthread_mutex_lock(&f->lock);
		p = find_proc(f, pid);
		if (p && p->parent) {
			struct traced_proc *a = find_proc(f, p->parent);

			up = a ? a->pid : 0;
			has = a && proc_file(a, file);
		}
		pthread_mutex_unlock(&f->lock);
		if (!up)
			return;
		if (!has) {
			if (open_on_threads(f, file, up, msg, sizeof(msg)))
				return;	/* gone: its children are on their own */
			struct alloc_lib lib;
			uint64_t now = drain__now(f->drain);

			pthread_mutex_lock(&f->lock);
			p = find_proc(f, up);
			if (p)
				add_proc_file(p, file, now);
			pthread_mutex_unlock(&f->lock);
			pthread_mutex_lock(&f->probes->lock);
			lib = f->probes->files[file].lib;
			pthread_mutex_unlock(&f->probes->lock);
			post_probed(f, up, &lib, now);
		}
		pid = up;
	}
}

/*
 * Probes every file of libs not yet probed in pid. gap_from: when the
 * process may have been running these files unprobed (0: it has not, as
 * before arming). Returns how many files were new, or a negative errno.
 */
static int probe_libs(struct follower *f, pid_t pid, const struct lib_set *libs,
		      uint64_t gap_from, char *msg, size_t msglen)
{
	struct traced_proc *p;
	bool gap = false;
	int added = 0;

	for (int i = 0; i < libs->n; i++) {
		int file = probes__file(f->probes, &libs->libs[i], libs->fds[i], msg, msglen), err;
		uint64_t since;

		if (file < 0) {
			if (gap_from)	/* a file it needs that cannot be probed at all */
				post_gap(f, pid, gap_from, drain__now(f->drain));
			return file;
		}
		pthread_mutex_lock(&f->lock);
		p = add_proc(f, pid);
		err = !p ? -ENOMEM : proc_file(p, file) ? 1 : 0;
		pthread_mutex_unlock(&f->lock);
		if (err)
			continue;	/* probed already, or no memory to know: nothing new */
		err = open_on_threads(f, file, pid, msg, msglen);
		if (err) {
			/*
			 * It ran this file unprobed (or may have) and is gone, or
			 * cannot be probed: the time since gap_from is not in the tape.
			 */
			if (gap_from)
				post_gap(f, pid, gap_from, drain__now(f->drain));
			return err;
		}
		since = gap_from ? drain__now(f->drain) : 0;
		pthread_mutex_lock(&f->lock);
		p = add_proc(f, pid);
		err = p ? add_proc_file(p, file, since) : -ENOMEM;
		pthread_mutex_unlock(&f->lock);
		if (err)
			return err;
		post_probed(f, pid, &libs->libs[i], since ? since : drain__now(f->drain));
		if (gap_from && f->opts.inherit && !f->opts.system_wide)
			spread_to_ancestors(f, pid, file);
		/* Mapped before its probes were on: calls in between may be missing. */
		gap |= gap_from && mapped_now(pid, libs->libs[i].ino);
		added++;
	}
	if (gap)
		post_gap(f, pid, gap_from, drain__now(f->drain));
	f->late_files += gap_from ? added : 0;
	return added;
}

int follower__attach(struct follower *f, pid_t pid, const struct lib_set *libs, char *msg,
		     size_t msglen)
{
	int r = probe_libs(f, pid, libs, 0, msg, msglen);

	if (r >= 0 && f->drain->maps)
		maps_tracker__learn(f->drain->maps, pid);
	return r < 0 ? r : 0;
}

/* ------------------------------------------------------------- new images */

/*
 * The files to probe in pid: --lib's; or, for a new image, what it will
 * load; or, for a running process, what it maps.
 */
static int libs_for(struct follower *f, pid_t pid, const struct image_capture *image,
		    struct lib_set *libs, char *msg, size_t msglen)
{
	memset(libs, 0, sizeof(*libs));
	if (f->opts.fixed_libs) {
		/* Borrowed: the caller must not free it. */
		*libs = *f->fixed;
		return 0;
	}
	return image ? image_capture__libs(image, false, libs, msg, msglen) :
		       libs_of_pid(pid, libs, msg, msglen);
}

static void free_libs(struct follower *f, struct lib_set *libs)
{
	if (!f->opts.fixed_libs)
		lib_set__free(libs);
}

/* Would probing libs in pid add a file it lacks? (For work judged after the stop.) */
static bool lacks(struct follower *f, pid_t pid, const struct lib_set *libs)
{
	struct traced_proc *p;
	bool lack = false;

	pthread_mutex_lock(&f->lock);
	p = find_proc(f, pid);
	for (int i = 0; i < libs->n && !lack; i++) {
		bool have = false;

		for (size_t j = 0; p && j < p->nfiles && !have; j++)
			have = f->probes->files[p->files[j].file].lib.ino == libs->libs[i].ino &&
			       f->probes->files[p->files[j].file].lib.dev == libs->libs[i].dev;
		lack = !have;
	}
	pthread_mutex_unlock(&f->lock);
	return lack;
}

static void watch(struct follower *f, pid_t pid, uint64_t exec_ts)
{
	void *p;

	pthread_mutex_lock(&f->lock);
	p = grow_array(f->watches, &f->watches_cap, f->nwatches + 1, sizeof(*f->watches));
	if (p) {
		f->watches = p;
		f->watches[f->nwatches++] = (struct map_watch){ pid, 0, cli_now() + watch_delays[0],
								exec_ts };
	}
	pthread_mutex_unlock(&f->lock);
}

/*
 * Probes what pid lacks: after an exec at ts (its new image), or for a
 * process found unprobed at ts (a match, a child of an unknown parent).
 */
static void handle_image(struct follower *f, pid_t pid, uint64_t ts, bool exec,
			 const struct image_capture *image)
{
	struct image_capture *own = NULL;
	struct lib_set libs;
	char msg[512];

	if (f->opts.system_wide) {
		if (exec && f->drain->maps)
			watch(f, pid, ts);
		return;
	}
	/* Not read as it happened (no exec lane): now, if it is still there. */
	if (exec && !image && !f->opts.fixed_libs)
		image = own = image_capture__read(pid);
	if (exec && !image && !f->opts.fixed_libs) {
		/*
		 * Gone (or exec'd again) before its image could be read: what it
		 * ran is unknown, so the time from the exec on may have gaps.
		 */
		if (!f->disarmed || ts < f->disarm_ts)
			post_loss(f, pid, ts, f->disarmed ? f->disarm_ts : drain__now(f->drain),
				  TAPE_LOSS_UNREAD_IMAGE);
		return;
	}
	/* The executable first: mapped at exec, it is the one that may already run. */
	if (image && !f->disarmed && !image_capture__libs(image, true, &libs, msg, sizeof(msg))) {
		probe_libs(f, pid, &libs, ts, msg, sizeof(msg));
		lib_set__free(&libs);
	}
	if (libs_for(f, pid, image, &libs, msg, sizeof(msg))) {
		image_capture__free(own);
		return;		/* gone, or no allocator at all: nothing to probe */
	}
	if (f->disarmed) {
		if (lacks(f, pid, &libs))
			post_gap(f, pid, ts, f->disarm_ts);
	} else {
		for (int i = 0; i < libs.nfiles && f->drain->maps; i++)
			maps_tracker__register_file(f->drain->maps, libs.files[i], libs.files[i]);
		if (probe_libs(f, pid, &libs, ts, msg, sizeof(msg)) < 0 && !strstr(msg, "exited"))
			cli_warn("cannot probe process %d after its exec: %s", pid, msg);
		if (exec || f->drain->maps)
			watch(f, pid, ts);
	}
	free_libs(f, &libs);
	image_capture__free(own);
}

/* ------------------------------------------------------------------ forks */

static void handle_fork(struct follower *f, const struct follow_work *w)
{
	struct traced_proc *parent, *child;
	int *late = NULL, nlate = 0;
	char msg[512];

	if (f->opts.system_wide || !f->opts.inherit)
		return;
	pthread_mutex_lock(&f->lock);
	child = add_proc(f, w->pid);
	parent = find_proc(f, w->other);
	if (child && parent)
		child->parent = parent->pid;
	if (child && parent) {
		late = malloc((parent->nfiles + 1) * sizeof(*late));
		/* Inherited in the kernel: the files probed in the parent before the fork. */
		for (size_t i = 0; i < parent->nfiles; i++) {
			if (parent->files[i].since < w->ts)
				add_proc_file(child, parent->files[i].file, parent->files[i].since);
			else if (late)
				late[nlate++] = parent->files[i].file;
		}
	}
	pthread_mutex_unlock(&f->lock);
	if (!parent) {
		/*
		 * A parent the follower never knew has no probes for its children
		 * to inherit: probe what the child maps; it ran without them.
		 */
		handle_image(f, w->pid, w->ts, false, NULL);
	} else if (nlate && f->disarmed) {
		post_gap(f, w->pid, w->ts, f->disarm_ts);
	} else if (nlate) {
		/* Probed in the parent while it forked: the child may have missed them. */
		struct lib_set libs = { calloc(nlate, sizeof(*libs.libs)), calloc(nlate, sizeof(int)) };

		pthread_mutex_lock(&f->probes->lock);
		for (int i = 0; libs.libs && libs.fds && i < nlate; i++) {
			libs.libs[libs.n] = f->probes->files[late[i]].lib;
			libs.fds[libs.n++] = -1;	/* defined already: no file needed */
		}
		pthread_mutex_unlock(&f->probes->lock);
		probe_libs(f, w->pid, &libs, w->ts, msg, sizeof(msg));
		lib_set__free(&libs);
	}
	free(late);
}

/* ------------------------------------------------------------- -a filters */

static bool proc_matches(const struct follower *f, pid_t pid)
{
	char path[64], *text = NULL;
	size_t len;
	int cut;
	bool match = true;

	if (f->opts.comm) {
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		if (read_small_file(path, 64, &text, &len, &cut))
			return false;
		text[strcspn(text, "\n")] = 0;
		match = !strcmp(text, f->opts.comm);
		free(text);
	}
	if (match && f->opts.filter_uid) {
		char *uid;
		unsigned long v = ~0ul;

		snprintf(path, sizeof(path), "/proc/%d/status", pid);
		if (read_small_file(path, 1 << 16, &text, &len, &cut))
			return false;
		uid = strstr(text, "\nUid:");
		match = uid && sscanf(uid + 5, "%lu", &v) == 1 && v == f->opts.uid;
		free(text);
	}
	if (match && f->opts.cgroup_id) {
		char *rel, cg[PATH_MAX];
		struct stat st;

		snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
		if (read_small_file(path, 1 << 16, &text, &len, &cut))
			return false;
		rel = strstr(text, "0::");
		if (rel)
			rel[3 + strcspn(rel + 3, "\n")] = 0;
		match = rel && snprintf(cg, sizeof(cg), "/sys/fs/cgroup%s", rel + 3) < (int)sizeof(cg) &&
			!stat(cg, &st) && (uint64_t)st.st_ino == f->opts.cgroup_id;
		free(text);
	}
	return match;
}

/* Processes that match the filter and are not probed yet; gap_from 0 before arming. */
static int scan_matching(struct follower *f, uint64_t gap_from, char *msg, size_t msglen)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (!dir) {
		snprintf(msg, msglen, "cannot read /proc: %s", strerror(errno));
		return -errno;
	}
	while ((de = readdir(dir))) {
		pid_t pid = atoi(de->d_name);
		struct lib_set libs;
		bool known;

		if (pid <= 0 || pid == getpid() || !proc_matches(f, pid))
			continue;
		pthread_mutex_lock(&f->lock);
		known = find_proc(f, pid) != NULL;
		pthread_mutex_unlock(&f->lock);
		if (known)
			continue;
		if (libs_for(f, pid, false, &libs, msg, msglen))
			continue;	/* no allocator (a kernel thread), or gone */
		if (probe_libs(f, pid, &libs, gap_from, msg, msglen) > 0)
			n++;
		free_libs(f, &libs);
	}
	closedir(dir);
	return n;
}

int follower__attach_matching(struct follower *f, char *msg, size_t msglen)
{
	f->next_scan = cli_now() + RESCAN_SECONDS;
	return scan_matching(f, 0, msg, msglen);
}

/* ----------------------------------------------------------------- thread */

/* Mappings of pid that are allocator files not probed in it yet: probed now. */
static void probe_unpredicted(struct follower *f, const struct map_watch *w)
{
	struct lib_set libs;
	char msg[512];
	bool known;

	if (f->opts.fixed_libs || f->opts.system_wide || f->disarmed)
		return;
	/* One that has exited (its exit was handled) has no probes to gain. */
	pthread_mutex_lock(&f->lock);
	known = find_proc(f, w->pid) != NULL;
	pthread_mutex_unlock(&f->lock);
	if (!known || libs_of_pid(w->pid, &libs, msg, sizeof(msg)))
		return;
	if (lacks(f, w->pid, &libs))
		probe_libs(f, w->pid, &libs, w->exec_ts, msg, sizeof(msg));
	lib_set__free(&libs);
}

/* Reads the mappings of new images that are due; returns when the next one is (0: none). */
static double run_watches(struct follower *f)
{
	double now = cli_now(), next = 0;

	for (size_t i = 0; i < f->nwatches;) {
		struct map_watch w = f->watches[i];
		int r = 0;

		if (w.due > now) {
			next = next && next < w.due ? next : w.due;
			i++;
			continue;
		}
		pthread_mutex_unlock(&f->lock);
		if (f->drain->maps)
			r = maps_tracker__learn(f->drain->maps, w.pid);
		/* Early steps only: an allocator is mapped by the loader, at once. */
		if (r >= 0 && w.step < 4)
			probe_unpredicted(f, &w);
		pthread_mutex_lock(&f->lock);
		if (r < 0 || ++f->watches[i].step == sizeof(watch_delays) / sizeof(watch_delays[0])) {
			f->watches[i] = f->watches[--f->nwatches];
			continue;
		}
		f->watches[i].due = now + watch_delays[f->watches[i].step];
		next = next && next < f->watches[i].due ? next : f->watches[i].due;
		i++;
	}
	return next;
}

static void wait_until(struct follower *f, double when)
{
	struct timespec ts;
	double secs;

	if (!when) {
		pthread_cond_wait(&f->cond, &f->lock);
		return;
	}
	/* cli_now is CLOCK_MONOTONIC; the condition variable waits on CLOCK_REALTIME. */
	secs = when - cli_now();
	if (secs <= 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)secs;
	ts.tv_nsec += (long)((secs - (time_t)secs) * 1e9);
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&f->cond, &f->lock, &ts);
}

/* Is another exec of the same process waiting behind this one? */
static bool exec_again_queued(struct follower *f, const struct follow_work *w)
{
	bool again = false;

	pthread_mutex_lock(&f->lock);
	for (const struct follow_work *q = f->work; q && !again; q = q->next)
		again = q->kind == WORK_EXEC && q->pid == w->pid;
	pthread_mutex_unlock(&f->lock);
	return again;
}

static void do_work(struct follower *f, const struct follow_work *w)
{
	bool known;

	switch (w->kind) {
	case WORK_FORK:
		handle_fork(f, w);
		break;
	case WORK_EXEC:
		/*
		 * The image it made is already replaced (sh -c 'exec prog'): what
		 * runs now is the later exec's, judged from that one's time.
		 */
		if (exec_again_queued(f, w))
			break;
		/* fall through */
	case WORK_RENAMED:
		pthread_mutex_lock(&f->lock);
		known = find_proc(f, w->pid) != NULL;
		pthread_mutex_unlock(&f->lock);
		/* A rename matters only for a process that starts matching --comm. */
		if (w->kind == WORK_EXEC || (!known && f->opts.match_filter))
			handle_image(f, w->pid, w->ts, w->kind == WORK_EXEC, w->image);
		break;
	case WORK_EXITED:
		pthread_mutex_lock(&f->lock);
		drop_proc(f, w->pid);
		/* Its mappings were read while it ran, or not at all: nothing more to watch. */
		for (size_t i = 0; i < f->nwatches;)
			if (f->watches[i].pid == w->pid)
				f->watches[i] = f->watches[--f->nwatches];
			else
				i++;
		pthread_mutex_unlock(&f->lock);
		break;
	}
}

static void *follower_main(void *arg)
{
	struct follower *f = arg;

	pthread_mutex_lock(&f->lock);
	for (;;) {
		double next = f->disarmed ? 0 : run_watches(f);
		struct follow_work *w = f->work;

		if (!w) {
			/* Stopping: the queue is empty, every loss is written. */
			if (f->stopping)
				break;
			if (f->opts.match_filter && !f->disarmed) {
				if (cli_now() >= f->next_scan) {
					uint64_t now = drain__now(f->drain), scan = RESCAN_SECONDS * 1e9;
					char msg[512];

					/* Matching since the last look at the earliest. */
					f->next_scan = cli_now() + RESCAN_SECONDS;
					pthread_mutex_unlock(&f->lock);
					scan_matching(f, now > scan ? now - scan : 1, msg, sizeof(msg));
					pthread_mutex_lock(&f->lock);
					continue;
				}
				next = next && next < f->next_scan ? next : f->next_scan;
			}
			/* run_watches lets go of the lock: work or a stop may have come. */
			if (!f->work && !f->stopping)
				wait_until(f, next);
			continue;
		}
		f->work = w->next;
		if (!f->work)
			f->work_tail = NULL;
		pthread_mutex_unlock(&f->lock);
		do_work(f, w);
		image_capture__free(w->image);
		free(w);
		pthread_mutex_lock(&f->lock);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

int follower__start(struct follower *f)
{
	int err = pthread_create(&f->thread, NULL, follower_main, f);

	f->running = !err;
	return -err;
}

static void queue(struct follower *f, enum work_kind kind, pid_t pid, pid_t other, uint64_t ts,
		  struct image_capture *image)
{
	struct follow_work *w = calloc(1, sizeof(*w));

	if (!w) {
		/* No memory to remember the work: say the process may have gaps. */
		if (kind != WORK_EXITED)
			post_gap(f, pid, ts, drain__now(f->drain));
		image_capture__free(image);
		return;
	}
	*w = (struct follow_work){ NULL, kind, pid, other, ts, image };
	pthread_mutex_lock(&f->lock);
	if (f->work_tail) {
		f->work_tail->next = w;	/* the thread is busy with the queue: no wake-up */
	} else {
		f->work = w;
		pthread_cond_signal(&f->cond);
	}
	f->work_tail = w;
	pthread_mutex_unlock(&f->lock);
}

void follower__fork(struct follower *f, pid_t child, pid_t parent, uint64_t ts)
{
	queue(f, WORK_FORK, child, parent, ts, NULL);
}

void follower__exec(struct follower *f, pid_t pid, pid_t old_tid, uint64_t ts)
{
	struct image_capture *image = NULL;

	/*
	 * Read by the exec lane as the exec happened; else the follower reads
	 * it on its turn (never this thread, the drain's: reading a process's
	 * memory can block for as long as a FUSE server the target runs likes).
	 */
	if (!f->opts.system_wide && !f->opts.fixed_libs && f->lane)
		image = exec_lane__take(f->lane, pid);
	queue(f, WORK_EXEC, pid, old_tid, ts, image);
}

void follower__renamed(struct follower *f, pid_t pid, uint64_t ts)
{
	queue(f, WORK_RENAMED, pid, 0, ts, NULL);
}

void follower__exited(struct follower *f, pid_t pid)
{
	queue(f, WORK_EXITED, pid, 0, 0, NULL);
}

void follower__stop(struct follower *f, uint64_t disarm_ts)
{
	pthread_mutex_lock(&f->lock);
	f->disarmed = true;
	f->disarm_ts = disarm_ts;
	f->stopping = true;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	if (f->running) {
		if (!join_within(f->thread, JOIN_SECONDS, "following new processes")) {
			f->abandoned = true;	/* its queue and tables are its own until the exit */
			return;
		}
		f->running = false;
	}
	/* Never started: judge what was queued here. */
	while (f->work) {
		struct follow_work *w = f->work;

		f->work = w->next;
		do_work(f, w);
		image_capture__free(w->image);
		free(w);
	}
	f->work_tail = NULL;
}

void follower__free(struct follower *f)
{
	if (f->abandoned)
		return;
	for (size_t i = 0; i < f->nprocs; i++)
		free(f->procs[i].files);
	free(f->procs);
	free(f->watches);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	memset(f, 0, sizeof(*f));
}

/* Allocator probes for targets, followed children and exec: see follow.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "grow_array.h"
#include "cli.h"
#include "drain.h"
#include "follow.h"

enum work_kind {
	WORK_FORK,
	WORK_EXEC,
	WORK_EXITED,
};

struct follow_work {
	struct follow_work *next;
	enum work_kind kind;
	pid_t pid, other;	/* fork: the parent; exec: the thread that called it */
	uint64_t ts;
};

/*
 * After an exec, the dynamic loader maps the new image's libraries within
 * about a millisecond, and a short-lived process may be gone soon after: its
 * mappings are read on this schedule (seconds after the exec event), so
 * that its callers can be symbolised.
 */
static const double watch_delays[] = { 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032,
				       0.064, 0.128, 0.256 };

struct map_watch {
	pid_t pid;
	int step;
	double due;
};

struct proc_probes {
	pid_t pid;
	struct lib_set libs;
	struct alloc_attachment *att;	/* one per lib */
};

void follower__init(struct follower *f, struct record_bpf *skel, struct drain *drain)
{
	memset(f, 0, sizeof(*f));
	f->skel = skel;
	f->drain = drain;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
}

static struct proc_probes *find_proc(struct follower *f, pid_t pid)
{
	for (size_t i = 0; i < f->nprocs; i++)
		if (f->procs[i].pid == pid)
			return &f->procs[i];
	return NULL;
}

static void detach_proc(struct proc_probes *p)
{
	alloc_detach(p->att, p->libs.n);
	free(p->att);
	lib_set__free(&p->libs);
	p->att = NULL;
}

static void detach_all(struct follower *f)
{
	struct alloc_attachment *all;
	size_t n = 0, k = 0;

	for (size_t i = 0; i < f->nprocs; i++)
		n += f->procs[i].libs.n;
	all = malloc((n ? n : 1) * sizeof(*all));
	for (size_t i = 0; all && i < f->nprocs; i++)
		for (int j = 0; j < f->procs[i].libs.n; j++)
			all[k++] = f->procs[i].att[j];
	if (all)
		alloc_detach(all, k);
	for (size_t i = 0; i < f->nprocs; i++) {
		if (!all)
			alloc_detach(f->procs[i].att, f->procs[i].libs.n);
		free(f->procs[i].att);
		lib_set__free(&f->procs[i].libs);
	}
	free(all);
}

static void drop_proc(struct follower *f, pid_t pid)
{
	struct proc_probes *p = find_proc(f, pid);

	if (!p)
		return;
	detach_proc(p);
	*p = f->procs[--f->nprocs];
}

static void post_marker(struct follower *f, pid_t pid)
{
	struct tape_event ev = { .type = TAPE_EV_ATTACH, .pid = pid > 0 ? pid : 0,
				 .ts = drain__now(f->drain),
				 .marker = { .what = TAPE_MARK_ALLOC } };

	drain__post(f->drain, &ev);
}

static void post_gap(struct follower *f, pid_t pid, uint64_t from)
{
	struct tape_event ev = { .type = TAPE_EV_LOSS, .pid = pid, .ts = drain__now(f->drain),
				 .loss = { .reason = TAPE_LOSS_FOLLOW_GAP,
					   .cpu = TAPE_LOSS_NO_CPU, .first_ts = from } };

	drain__post(f->drain, &ev);
	f->gaps++;
}

/*
 * Attaches every lib of libs for pid that is not attached yet, into the
 * process's entry (created if needed). Returns how many files were newly
 * attached, or a negative errno.
 */
static int attach_libs(struct follower *f, pid_t pid, const struct lib_set *libs, char *msg,
		       size_t msglen)
{
	struct proc_probes *p;
	int added = 0;

	pthread_mutex_lock(&f->lock);
	p = find_proc(f, pid);
	if (!p) {
		void *np = grow_array(f->procs, &f->cap, f->nprocs + 1, sizeof(*f->procs));

		if (!np) {
			pthread_mutex_unlock(&f->lock);
			return -ENOMEM;
		}
		f->procs = np;
		p = &f->procs[f->nprocs++];
		memset(p, 0, sizeof(*p));
		p->pid = pid;
	}
	for (int i = 0; i < libs->n; i++) {
		const struct alloc_lib *lib = &libs->libs[i];
		bool have = false;
		void *np;
		int err;

		for (int j = 0; j < p->libs.n; j++)
			have |= p->libs.libs[j].dev == lib->dev && p->libs.libs[j].ino == lib->ino;
		if (have)
			continue;
		np = realloc(p->att, (p->libs.n + 1) * sizeof(*p->att));
		if (np)
			p->att = np;
		np = np ? realloc(p->libs.libs, (p->libs.n + 1) * sizeof(*p->libs.libs)) : NULL;
		if (!np) {
			pthread_mutex_unlock(&f->lock);
			return -ENOMEM;
		}
		p->libs.libs = np;
		err = alloc_attach(f->skel, lib, pid, &p->att[p->libs.n], msg, msglen);
		if (err) {
			pthread_mutex_unlock(&f->lock);
			return err;
		}
		p->libs.libs[p->libs.n++] = *lib;
		added++;
	}
	pthread_mutex_unlock(&f->lock);
	return added;
}

int follower__attach(struct follower *f, pid_t pid, const struct lib_set *libs, bool snapshot,
		     char *msg, size_t msglen)
{
	int r = attach_libs(f, pid, libs, msg, msglen);

	if (r < 0)
		return r;
	post_marker(f, pid);
	if (snapshot && pid > 0)
		maps_tracker__learn(f->drain->maps, pid);
	return 0;
}

static void handle_fork(struct follower *f, const struct follow_work *w)
{
	struct lib_set libs = { 0 };
	struct proc_probes *parent;
	char msg[512];
	int r;

	/* A child starts with its parent's mappings: the same files to probe. */
	pthread_mutex_lock(&f->lock);
	parent = find_proc(f, w->other);
	if (parent && parent->libs.n) {
		libs.libs = malloc(parent->libs.n * sizeof(*libs.libs));
		if (libs.libs) {
			memcpy(libs.libs, parent->libs.libs, parent->libs.n * sizeof(*libs.libs));
			libs.n = parent->libs.n;
		}
	}
	pthread_mutex_unlock(&f->lock);
	if (!libs.n)
		return;
	r = attach_libs(f, w->pid, &libs, msg, sizeof(msg));
	lib_set__free(&libs);
	if (r > 0) {
		f->attached_children++;
		post_marker(f, w->pid);
	}
	/* Attached or not (the child may be gone already), it ran unprobed until now. */
	post_gap(f, w->pid, w->ts);
}

/* The environment of a process, for its dynamic loader's search. */
static char **read_environ(pid_t pid, char **buf)
{
	char path[64];
	size_t len = 0, cap = 1 << 16, n = 0;
	char **env;
	ssize_t r;
	int fd;

	*buf = NULL;
	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	*buf = malloc(cap + 1);
	while (*buf && (r = read(fd, *buf + len, cap - len)) > 0) {
		len += r;
		if (len == cap) {
			char *p = realloc(*buf, cap * 2 + 1);

			if (!p)
				break;
			*buf = p;
			cap *= 2;
		}
	}
	close(fd);
	if (!*buf)
		return NULL;
	(*buf)[len] = 0;
	for (size_t i = 0; i < len; i++)
		n += !(*buf)[i];
	env = calloc(n + 2, sizeof(*env));
	for (size_t i = 0, k = 0; env && i < len; i += strlen(*buf + i) + 1)
		env[k++] = *buf + i;
	return env;
}

static void handle_exec(struct follower *f, const struct follow_work *w)
{
	char exe[PATH_MAX], link[64], msg[512], *envbuf;
	struct lib_set libs;
	struct stat a, b;
	char **env;
	ssize_t n;
	int r;

	snprintf(link, sizeof(link), "/proc/%d/exe", w->pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	/* Prefer the real path ($ORIGIN in RUNPATH); fall back to the magic link. */
	if (n <= 0 || (exe[n] = 0, stat(exe, &a)) || stat(link, &b) || a.st_ino != b.st_ino)
		snprintf(exe, sizeof(exe), "%s", link);
	env = read_environ(w->pid, &envbuf);
	r = libs_of_command(exe, env ? env : (char *[]){ NULL }, &libs, msg, sizeof(msg));
	free(env);
	free(envbuf);
	if (r)
		return;		/* gone, or no allocator: nothing to attach */
	for (int i = 0; i < libs.nfiles; i++)
		maps_tracker__register_file(f->drain->maps, libs.files[i], libs.files[i]);
	if (w->other != w->pid) {
		/*
		 * A thread other than the leader called execve: the probes were
		 * tied to the old leader, which is gone. Start over.
		 */
		pthread_mutex_lock(&f->lock);
		drop_proc(f, w->pid);
		pthread_mutex_unlock(&f->lock);
	}
	r = attach_libs(f, w->pid, &libs, msg, sizeof(msg));
	lib_set__free(&libs);
	if (r > 0) {
		post_marker(f, w->pid);
		post_gap(f, w->pid, w->ts);
	}
}

/* Reads the mappings of new images that are due; returns when the next one is (0: none). */
static double run_watches(struct follower *f)
{
	double now = cli_now(), next = 0;

	for (size_t i = 0; i < f->nwatches;) {
		struct map_watch *w = &f->watches[i];
		pid_t pid = w->pid;
		int r;

		if (w->due > now) {
			next = next && next < w->due ? next : w->due;
			i++;
			continue;
		}
		pthread_mutex_unlock(&f->lock);
		r = maps_tracker__learn(f->drain->maps, pid);
		pthread_mutex_lock(&f->lock);
		w = &f->watches[i];
		if (r < 0 || ++w->step == sizeof(watch_delays) / sizeof(watch_delays[0])) {
			*w = f->watches[--f->nwatches];
			continue;
		}
		w->due = now + watch_delays[w->step];
		next = next && next < w->due ? next : w->due;
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

static void *follower_main(void *arg)
{
	struct follower *f = arg;

	pthread_mutex_lock(&f->lock);
	while (!f->stopping) {
		double next = f->drain->maps ? run_watches(f) : 0;
		struct follow_work *w = f->work;

		if (!w) {
			/* run_watches lets go of the lock: a stop may have come meanwhile. */
			if (!f->stopping)
				wait_until(f, next);
			continue;
		}
		f->work = w->next;
		if (!f->work)
			f->work_tail = NULL;
		pthread_mutex_unlock(&f->lock);
		switch (w->kind) {
		case WORK_FORK:
			handle_fork(f, w);
			break;
		case WORK_EXEC:
			handle_exec(f, w);
			break;
		case WORK_EXITED:
			pthread_mutex_lock(&f->lock);
			drop_proc(f, w->pid);
			pthread_mutex_unlock(&f->lock);
			break;
		}
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

static void queue(struct follower *f, enum work_kind kind, pid_t pid, pid_t other, uint64_t ts)
{
	struct follow_work *w;

	if (!f->running)
		return;
	w = calloc(1, sizeof(*w));
	if (!w)
		return;
	*w = (struct follow_work){ NULL, kind, pid, other, ts };
	pthread_mutex_lock(&f->lock);
	if (f->work_tail)
		f->work_tail->next = w;
	else
		f->work = w;
	f->work_tail = w;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

void follower__fork(struct follower *f, pid_t child, pid_t parent, uint64_t ts)
{
	queue(f, WORK_FORK, child, parent, ts);
}

void follower__exec(struct follower *f, pid_t pid, pid_t old_tid, uint64_t ts)
{
	if (f->running && f->drain->maps) {
		void *p;

		pthread_mutex_lock(&f->lock);
		p = grow_array(f->watches, &f->watches_cap, f->nwatches + 1, sizeof(*f->watches));
		if (p)
			f->watches = p;
		if (f->nwatches < f->watches_cap)
			f->watches[f->nwatches++] = (struct map_watch){ pid, 0,
									cli_now() + watch_delays[0] };
		pthread_mutex_unlock(&f->lock);
	}
	queue(f, WORK_EXEC, pid, old_tid, ts);
}

void follower__exited(struct follower *f, pid_t pid)
{
	queue(f, WORK_EXITED, pid, 0, 0);
}

void follower__stop(struct follower *f)
{
	if (f->running) {
		pthread_mutex_lock(&f->lock);
		f->stopping = true;
		pthread_cond_signal(&f->cond);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->thread, NULL);
		f->running = false;
	}
	while (f->work) {
		struct follow_work *w = f->work;

		f->work = w->next;
		free(w);
	}
	/* Every process's probes at once: detaching waits out grace periods. */
	detach_all(f);
	free(f->procs);
	f->procs = NULL;
	f->nprocs = 0;
	free(f->watches);
	f->watches = NULL;
	f->nwatches = 0;
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
}

void follower__each_lib(struct follower *f, void (*fn)(const struct alloc_lib *lib, void *ctx),
			void *ctx)
{
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nprocs; i++)
		for (int j = 0; j < f->procs[i].libs.n; j++) {
			const struct alloc_lib *lib = &f->procs[i].libs.libs[j];
			bool seen = false;

			/* Once per file, whatever the number of processes. */
			for (size_t k = 0; k < i && !seen; k++)
				for (int m = 0; m < f->procs[k].libs.n; m++)
					seen |= f->procs[k].libs.libs[m].dev == lib->dev &&
						f->procs[k].libs.libs[m].ino == lib->ino;
			if (!seen)
				fn(lib, ctx);
		}
	pthread_mutex_unlock(&f->lock);
}

/* Unwind tables into the BPF maps, on their own thread: see unwind_loader.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "grow_array.h"
#include "join.h"
#include "record_skel.h"
#include "safe_open.h"
#include "unwind_loader.h"
#include "unwind_table.h"

#define MAX_ELF_BYTES (4ull << 30)

struct unwind_job {
	struct unwind_job *next;
	char path[];
};

int unwind_loader__init(struct unwind_loader *l, struct record_bpf *skel, char *msg,
			size_t msglen)
{
	size_t bytes;

	memset(l, 0, sizeof(*l));
	l->skel = skel;
	l->capacity = bpf_map__max_entries(skel->maps.unwind_rows);
	bytes = l->capacity * sizeof(struct unwind_row);
	l->rows = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		       bpf_map__fd(skel->maps.unwind_rows), 0);
	if (l->rows == MAP_FAILED) {
		int err = -errno;

		snprintf(msg, msglen, "cannot map the unwind tables' memory: %s", strerror(errno));
		l->rows = NULL;
		return err;
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	return 0;
}

/* Was the file (device, inode) queued or loaded already? Marks it when not. */
static bool seen_before(struct unwind_loader *l, const struct stat *st)
{
	uint64_t key = (uint64_t)st->st_dev << 32 ^ st->st_ino;
	void *p;

	for (size_t i = 0; i < l->ndone; i++)
		if (l->done[i] == key)
			return true;
	p = grow_array(l->done, &l->done_cap, l->ndone + 1, sizeof(*l->done));
	if (!p)
		return true;	/* no memory to remember it: do not load it either */
	l->done = p;
	l->done[l->ndone++] = key;
	return false;
}

/* Builds the file's table and hands it to BPF: rows first, then the file's entry. */
static void load(struct unwind_loader *l, int fd)
{
	struct unwind_table t;
	struct unwind_file f;
	struct stat st;
	char msg[256];
	__u64 ino;

	if (fstat(fd, &st))
		return;
	pthread_mutex_lock(&l->lock);
	if (l->used >= l->capacity) {
		l->full++;
		pthread_mutex_unlock(&l->lock);
		return;
	}
	pthread_mutex_unlock(&l->lock);
	if (unwind_table__build(&t, fd, l->capacity, msg, sizeof(msg)))
		return;		/* no .eh_frame: its frames are walked by frame pointer */
	pthread_mutex_lock(&l->lock);
	if (l->used + t.n > l->capacity) {
		l->full++;
		pthread_mutex_unlock(&l->lock);
		unwind_table__free(&t);
		return;
	}
	f = (struct unwind_file){ l->used, t.n, t.text_vaddr, t.text_offset };
	memcpy(l->rows + l->used, t.rows, t.n * sizeof(*t.rows));
	l->used += t.n;
	l->files++;
	l->rows_loaded += t.n;
	pthread_mutex_unlock(&l->lock);
	ino = st.st_ino;
	/* The rows are in place before the walker can find them. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	bpf_map_update_elem(bpf_map__fd(l->skel->maps.unwind_files), &ino, &f, BPF_ANY);
	/* Processes that looked for it and found none look again. */
	{
		__u32 zero = 0, gen = 0;
		int gfd = bpf_map__fd(l->skel->maps.tables_gen);

		bpf_map_lookup_elem(gfd, &zero, &gen);
		gen++;
		bpf_map_update_elem(gfd, &zero, &gen, BPF_ANY);
	}
	unwind_table__free(&t);
}

void unwind_loader__load_now(struct unwind_loader *l, int fd)
{
	struct stat st;
	bool seen;

	if (!l->rows || fstat(fd, &st))
		return;
	pthread_mutex_lock(&l->lock);
	seen = seen_before(l, &st);
	pthread_mutex_unlock(&l->lock);
	if (!seen)
		load(l, fd);
}

static void *loader_main(void *arg)
{
	struct unwind_loader *l = arg;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		struct unwind_job *j = l->jobs;
		int fd;

		if (!j) {
			if (l->stopping)
				break;
			pthread_cond_wait(&l->cond, &l->lock);
			continue;
		}
		l->jobs = j->next;
		if (!l->jobs)
			l->jobs_tail = NULL;
		pthread_mutex_unlock(&l->lock);
		fd = safe_open(-1, j->path, MAX_ELF_BYTES);
		if (fd >= 0) {
			unwind_loader__load_now(l, fd);
			close(fd);
		}
		free(j);
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

int unwind_loader__start(struct unwind_loader *l)
{
	int err;

	if (!l->rows)
		return 0;
	err = pthread_create(&l->thread, NULL, loader_main, l);
	l->running = !err;
	return -err;
}

void unwind_loader__queue(struct unwind_loader *l, const char *path)
{
	struct unwind_job *j;

	if (!l->running)
		return;
	j = malloc(sizeof(*j) + strlen(path) + 1);
	if (!j)
		return;
	j->next = NULL;
	strcpy(j->path, path);
	pthread_mutex_lock(&l->lock);
	if (l->jobs_tail) {
		l->jobs_tail->next = j;
	} else {
		l->jobs = j;
		pthread_cond_signal(&l->cond);
	}
	l->jobs_tail = j;
	pthread_mutex_unlock(&l->lock);
}

void unwind_loader__stop(struct unwind_loader *l)
{
	if (l->running) {
		pthread_mutex_lock(&l->lock);
		l->stopping = true;
		/* What is still queued is not needed any more: the recording is over. */
		while (l->jobs) {
			struct unwind_job *j = l->jobs;

			l->jobs = j->next;
			free(j);
		}
		l->jobs_tail = NULL;
		pthread_cond_signal(&l->cond);
		pthread_mutex_unlock(&l->lock);
		if (!join_within(l->thread, JOIN_SECONDS, "loading unwind tables"))
			return;	/* still in use by the thread: left to the exit */
		l->running = false;
	}
	if (l->rows) {
		munmap(l->rows, l->capacity * sizeof(struct unwind_row));
		pthread_mutex_destroy(&l->lock);
		pthread_cond_destroy(&l->cond);
	}
	free(l->done);
	l->done = NULL;
	l->ndone = l->done_cap = 0;
	l->rows = NULL;	/* the counters stay, for the summary */
}

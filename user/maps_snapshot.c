/* Memory-map records from /proc/PID/maps: see maps_snapshot.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "grow_array.h"
#include "cli.h"
#include "elf_file.h"
#include "maps_snapshot.h"
#include "fuse_mounts.h"
#include "safe_open.h"

#define RESCAN_INTERVAL 0.1
#define MAX_ELF_BYTES (4ull << 30)

struct file_id {
	uint8_t id[BUILD_ID_MAX];
	size_t len;
};

struct known_map {
	uint64_t start, end, offset;
	char *path;		/* as the process names it */
	size_t id;		/* index in the tracker's ids, or SIZE_MAX */
	bool written;
};

struct proc_maps {
	uint32_t pid;
	bool gone;
	double last_scan;
	struct known_map *maps;	/* sorted by start */
	size_t n, cap;
};

void maps_tracker__init(struct maps_tracker *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	u64map__init(&t->pids);
	u64map__init(&t->build_ids);
	u64map__init(&t->files);
}

static uint64_t file_key(dev_t dev, ino_t ino)
{
	return (uint64_t)dev << 40 ^ ino;
}

static void clear_maps(struct proc_maps *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->maps[i].path);
	p->n = 0;
}

void maps_tracker__free(struct maps_tracker *t)
{
	for (size_t i = 0; i < t->nprocs; i++) {
		clear_maps(&t->procs[i]);
		free(t->procs[i].maps);
	}
	free(t->procs);
	free(t->ids);
	for (size_t i = 0; i < t->npaths; i++)
		free(t->paths[i]);
	free(t->paths);
	u64map__free(&t->pids);
	u64map__free(&t->build_ids);
	u64map__free(&t->files);
	pthread_mutex_destroy(&t->lock);
}

static struct proc_maps *proc_of(struct maps_tracker *t, pid_t pid)
{
	uint64_t *idx = u64map__get(&t->pids, pid);
	struct proc_maps *p;

	if (idx)
		return &t->procs[*idx];
	p = grow_array(t->procs, &t->cap, t->nprocs + 1, sizeof(*p));
	if (!p)
		return NULL;
	t->procs = p;
	if (u64map__put(&t->pids, pid, t->nprocs))
		return NULL;
	p = &t->procs[t->nprocs++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	return p;
}

/* The known mapping holding addr, or NULL. */
static struct known_map *find(struct proc_maps *p, uint64_t addr)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (p->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < p->maps[lo - 1].end ? &p->maps[lo - 1] : NULL;
}

/*
 * The file's build ID, read once per file (by device and inode). known_key:
 * the file's key when the caller has it (BPF told), so that a file seen
 * before is not even opened; 0 when not.
 */
static size_t build_id_of(struct maps_tracker *t, const char *path, uint64_t known_key)
{
	struct elf_file *elf;
	struct file_id *id;
	struct stat st;
	uint64_t key, *idx;
	char msg[256];
	int fd;

	idx = known_key ? u64map__get(&t->build_ids, known_key) : NULL;
	if (idx)
		return *idx;

	/* A path a traced process chose: never a FIFO or a device, never blocking. */
	fd = safe_open(-1, path, MAX_ELF_BYTES);
	if (fd < 0)
		return SIZE_MAX;
	if (fstat(fd, &st)) {
		close(fd);
		return SIZE_MAX;
	}
	key = file_key(st.st_dev, st.st_ino);
	idx = u64map__get(&t->build_ids, key);
	if (idx) {
		close(fd);
		return *idx;
	}
	id = grow_array(t->ids, &t->ids_cap, t->nids + 1, sizeof(*id));
	if (!id) {
		close(fd);
		return SIZE_MAX;
	}
	t->ids = id;
	id = &t->ids[t->nids];
	id->len = 0;
	if (elf_file__open_fd(&elf, fd, path, msg, sizeof(msg)) == 0) {
		elf_file__build_id(elf, id->id, &id->len);
		elf_file__close(elf);
	}
	close(fd);
	if (u64map__put(&t->build_ids, key, t->nids))
		return SIZE_MAX;
	return t->nids++;
}

static void register_locked(struct maps_tracker *t, const char *shown, const char *open_path)
{
	struct stat st;
	uint64_t key;
	char **p;

	if (stat(open_path, &st))
		return;
	key = file_key(st.st_dev, st.st_ino);
	if (u64map__get(&t->files, key))
		return;
	p = grow_array(t->paths, &t->paths_cap, t->npaths + 1, sizeof(*p));
	if (!p)
		return;
	t->paths = p;
	t->paths[t->npaths] = strdup(shown);
	if (t->paths[t->npaths] && !u64map__put(&t->files, key, t->npaths))
		t->npaths++;
	if (t->on_new_file)
		t->on_new_file(open_path, t->on_new_file_ctx);
}

void maps_tracker__register_file(struct maps_tracker *t, const char *shown, const char *open_path)
{
	pthread_mutex_lock(&t->lock);
	register_locked(t, shown, open_path);
	pthread_mutex_unlock(&t->lock);
}

static int insert(struct proc_maps *p, const struct known_map *m)
{
	struct known_map *nm = grow_array(p->maps, &p->cap, p->n + 1, sizeof(*nm));
	size_t i;

	if (!nm)
		return -ENOMEM;
	p->maps = nm;
	for (i = p->n; i > 0 && p->maps[i - 1].start > m->start; i--)
		p->maps[i] = p->maps[i - 1];
	p->maps[i] = *m;
	p->n++;
	return 0;
}

static int learn_locked(struct maps_tracker *t, struct proc_maps *p)
{
	char path[64], line[PATH_MAX + 256];
	int added = 0;
	FILE *f;

	p->last_scan = cli_now();
	t->scans++;
	snprintf(path, sizeof(path), "/proc/%u/maps", p->pid);
	f = fopen(path, "re");
	if (!f) {
		p->gone = true;
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, offset;
		char perms[8], file[PATH_MAX], open_path[PATH_MAX + 64];
		struct known_map m = { 0 };
		int n = 0;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &offset,
			   &n) < 4 || !n)
			continue;
		snprintf(file, sizeof(file), "%s", line + n);
		file[strcspn(file, "\n")] = 0;
		if (file[0] != '/' || !strchr(perms, 'x') || find(p, start))
			continue;
		if (strstr(file, " (deleted)"))
			snprintf(open_path, sizeof(open_path), "/proc/%u/map_files/%llx-%llx", p->pid,
				 start, end);
		else
			snprintf(open_path, sizeof(open_path), "/proc/%u/root%s", p->pid, file);
		m.start = start;
		m.end = end;
		m.offset = offset;
		m.path = strdup(file);
		m.id = build_id_of(t, open_path, 0);
		register_locked(t, file, open_path);
		if (!m.path || insert(p, &m)) {
			free(m.path);
			break;
		}
		added++;
	}
	fclose(f);
	return added;
}

int maps_tracker__learn(struct maps_tracker *t, pid_t pid)
{
	struct proc_maps *p;
	int r = -ENOMEM;

	pthread_mutex_lock(&t->lock);
	p = proc_of(t, pid);
	if (p)
		r = learn_locked(t, p);
	pthread_mutex_unlock(&t->lock);
	return r;
}

static void write_map(struct maps_tracker *t, struct proc_maps *p, struct known_map *m,
		      uint64_t ts, event_sink emit, void *ctx)
{
	struct tape_event ev = { .type = TAPE_EV_MAP, .pid = p->pid, .ts = ts };

	ev.map.start = m->start;
	ev.map.end = m->end;
	ev.map.offset = m->offset;
	ev.map.path = m->path;
	ev.map.path_len = strlen(m->path);
	if (m->id != SIZE_MAX) {
		ev.map.build_id = t->ids[m->id].id;
		ev.map.build_id_len = t->ids[m->id].len;
	}
	emit(&ev, ctx);
	m->written = true;
	t->written++;
}

void maps_tracker__need(struct maps_tracker *t, pid_t pid, uint64_t addr, uint64_t ts,
			event_sink emit, void *ctx)
{
	struct proc_maps *p;
	struct known_map *m;

	pthread_mutex_lock(&t->lock);
	p = proc_of(t, pid);
	if (!p)
		goto out;
	m = find(p, addr);
	if (!m && !p->gone && cli_now() - p->last_scan >= RESCAN_INTERVAL) {
		learn_locked(t, p);
		m = find(p, addr);
	}
	if (m && !m->written)
		write_map(t, p, m, ts, emit, ctx);
out:
	pthread_mutex_unlock(&t->lock);
}

void maps_tracker__forget(struct maps_tracker *t, pid_t pid)
{
	struct proc_maps *p;

	pthread_mutex_lock(&t->lock);
	p = proc_of(t, pid);
	if (p) {
		clear_maps(p);
		p->gone = false;
		p->last_scan = 0;
	}
	pthread_mutex_unlock(&t->lock);
}

void maps_tracker__drop(struct maps_tracker *t, pid_t pid)
{
	uint64_t idx, moved;

	pthread_mutex_lock(&t->lock);
	if (u64map__del(&t->pids, pid, &idx)) {
		clear_maps(&t->procs[idx]);
		free(t->procs[idx].maps);
		/* The last entry takes its place. */
		moved = --t->nprocs;
		if (idx != moved) {
			t->procs[idx] = t->procs[moved];
			u64map__put(&t->pids, t->procs[idx].pid, idx);
		}
	}
	pthread_mutex_unlock(&t->lock);
}

/* The path of a file known by device and inode, or NULL. */
static const char *path_of(struct maps_tracker *t, pid_t pid, uint64_t start, uint64_t end,
			   dev_t dev, uint64_t ino)
{
	uint64_t *idx = u64map__get(&t->files, file_key(dev, ino));
	char link[96], target[PATH_MAX];
	ssize_t n;

	if (idx)
		return t->paths[*idx];
	/* Still alive: the kernel names the mapping's file. */
	snprintf(link, sizeof(link), "/proc/%d/map_files/%llx-%llx", pid, (unsigned long long)start,
		 (unsigned long long)end);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return NULL;
	target[n] = 0;
	register_locked(t, target, link);
	idx = u64map__get(&t->files, file_key(dev, ino));
	return idx ? t->paths[*idx] : NULL;
}

void maps_tracker__vma(struct maps_tracker *t, pid_t pid, uint64_t start, uint64_t end,
		       uint64_t offset, uint32_t kdev, uint64_t ino, const char *name, uint64_t ts,
		       event_sink emit, void *ctx)
{
	dev_t dev = makedev(kdev >> 20, kdev & 0xfffff);
	struct known_map m = { start, end, offset, NULL, SIZE_MAX, false }, *known;
	struct proc_maps *p;
	const char *path;

	pthread_mutex_lock(&t->lock);
	p = proc_of(t, pid);
	if (!p)
		goto out;
	known = find(p, start);
	if (known && known->start == start) {
		if (!known->written)
			write_map(t, p, known, ts, emit, ctx);
		goto out;
	}
	path = path_of(t, pid, start, end, dev, ino);
	/* Unknown to everything: the name alone still says which file it was. */
	m.path = strdup(path ? path : name);
	if (!m.path)
		goto out;
	/* Not on the drain's thread: a FUSE server would answer the read when it likes. */
	if (path && !fuse_mounts__has(kdev, pid))
		m.id = build_id_of(t, path, file_key(dev, ino));
	if (insert(p, &m)) {
		free(m.path);
		goto out;
	}
	write_map(t, p, find(p, start), ts, emit, ctx);
out:
	pthread_mutex_unlock(&t->lock);
}

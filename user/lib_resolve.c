/* Which files of a process or image define its allocator: see lib_resolve.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib_resolve.h"
#include "safe_open.h"

#define MAX_ELF_BYTES (4ull << 30)
#define MAX_MAPS_BYTES (64u << 20)
#define CACHE_MAX 4096

/* What reading a file's symbols found, by device, inode, size and time. */
struct cached_file {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct alloc_lib *lib;	/* NULL: no allocator functions */
};

static struct cached_file *cache;
static size_t ncache;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

void lib_resolve__cleanup(void)
{
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < ncache; i++)
		free(cache[i].lib);
	free(cache);
	cache = NULL;
	ncache = 0;
	pthread_mutex_unlock(&cache_lock);
}

static bool same_file(const struct cached_file *c, const struct stat *st)
{
	return c->dev == st->st_dev && c->ino == st->st_ino && c->size == st->st_size &&
	       c->mtime.tv_sec == st->st_mtim.tv_sec && c->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/*
 * The file's allocator description into *out, read once per file: 1 when
 * the file defines allocator functions, 0 when not, or a negative errno.
 */
static int describe(int fd, const char *shown, struct alloc_lib *out, char *msg, size_t msglen)
{
	struct stat st;
	int err;

	if (fstat(fd, &st))
		return -errno;
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < ncache; i++)
		if (same_file(&cache[i], &st)) {
			if (cache[i].lib)
				*out = *cache[i].lib;
			pthread_mutex_unlock(&cache_lock);
			return cache[i].lib != NULL;
		}
	pthread_mutex_unlock(&cache_lock);
	err = alloc_lib__load(out, fd, shown, msg, msglen);
	if (err && err != -ENOENT && err != -ENOEXEC)
		return err;
	pthread_mutex_lock(&cache_lock);
	if (ncache < CACHE_MAX) {
		struct cached_file c = { st.st_dev, st.st_ino, st.st_size, st.st_mtim, NULL };
		void *p = realloc(cache, (ncache + 1) * sizeof(*cache));

		if (!err)
			c.lib = malloc(sizeof(*c.lib));
		if (c.lib)
			*c.lib = *out;
		if (p && (err || c.lib)) {
			cache = p;
			cache[ncache++] = c;
		} else {
			free(c.lib);
			if (p)
				cache = p;
		}
	}
	pthread_mutex_unlock(&cache_lock);
	return !err;
}

void lib_set__free(struct lib_set *s)
{
	for (int i = 0; i < s->n; i++)
		if (s->fds && s->fds[i] >= 0)
			close(s->fds[i]);
	free(s->libs);
	free(s->fds);
	for (int i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	memset(s, 0, sizeof(*s));
}

bool lib_set__has(const struct lib_set *s, dev_t dev, ino_t ino)
{
	for (int i = 0; i < s->n; i++)
		if (s->libs[i].dev == dev && s->libs[i].ino == ino)
			return true;
	return false;
}

static int add_file(struct lib_set *s, const char *path)
{
	char **p = realloc(s->files, (s->nfiles + 1) * sizeof(*s->files));

	if (!p)
		return -ENOMEM;
	s->files = p;
	s->files[s->nfiles] = strdup(path);
	return s->files[s->nfiles] ? (s->nfiles++, 0) : -ENOMEM;
}

/*
 * Adds the file open at fd if it defines allocator functions and is not in
 * the set yet (a duplicate of fd is kept). 1 when added, 0 when not, or -errno.
 */
static int add_candidate(struct lib_set *s, int fd, const char *shown, char *msg, size_t msglen)
{
	struct alloc_lib lib;
	void *p;
	int err, dup;

	err = describe(fd, shown, &lib, msg, msglen);
	if (err <= 0 || lib_set__has(s, lib.dev, lib.ino))
		return err < 0 ? err : 0;
	p = realloc(s->libs, (s->n + 1) * sizeof(*s->libs));
	if (!p)
		return -ENOMEM;
	s->libs = p;
	p = realloc(s->fds, (s->n + 1) * sizeof(*s->fds));
	if (!p)
		return -ENOMEM;
	s->fds = p;
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return -errno;
	s->libs[s->n] = lib;
	/* The name this process knows it by, not the first one seen. */
	snprintf(s->libs[s->n].shown, sizeof(s->libs[s->n].shown), "%s", shown);
	s->fds[s->n++] = dup;
	return 1;
}

static void process_name(pid_t pid, char *buf, size_t len)
{
	char path[64], *comm = NULL;
	size_t n;
	int cut;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	buf[0] = 0;
	if (!read_small_file(path, 64, &comm, &n, &cut)) {
		comm[strcspn(comm, "\n")] = 0;
		snprintf(buf, len, "%s", comm);
		free(comm);
	}
}

/*
 * The file mapped at start-end of pid, open: through map_files, exactly
 * what is mapped (needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE), else by
 * its name inside the process's root.
 */
static int open_mapped(pid_t pid, unsigned long long start, unsigned long long end,
		       const char *file, int *rootfd)
{
	char open_path[96];
	int fd;

	snprintf(open_path, sizeof(open_path), "/proc/%d/map_files/%llx-%llx", pid, start, end);
	fd = safe_open(-1, open_path, MAX_ELF_BYTES);
	if (fd != -EPERM && fd != -EACCES)
		return fd;
	if (*rootfd < 0)
		*rootfd = proc_root_open(pid);
	return *rootfd < 0 ? *rootfd : safe_open(*rootfd, file, MAX_ELF_BYTES);
}

int libs_of_pid(pid_t pid, struct lib_set *out, char *msg, size_t msglen)
{
	char path[64], name[32], *maps = NULL, *save = NULL;
	size_t len;
	int err, cut, rootfd = -1;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	err = read_small_file(path, MAX_MAPS_BYTES, &maps, &len, &cut);
	if (err) {
		if (err == -ENOENT || err == -ESRCH)
			snprintf(msg, msglen, "no process with PID %d (it has exited)", pid);
		else
			snprintf(msg, msglen, "cannot read /proc/%d/maps: %s", pid, strerror(-err));
		return err == -ENOENT ? -ESRCH : err;
	}
	for (char *line = strtok_r(maps, "\n", &save); line && err >= 0;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long start, end;
		char perms[8];
		const char *file;
		int n = 0, fd;

		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &start, &end, perms, &n) < 3 || !n)
			continue;
		file = line + n;
		if (file[0] != '/' || !strchr(perms, 'x'))
			continue;
		fd = open_mapped(pid, start, end, file, &rootfd);
		if (fd < 0)
			continue;
		err = add_candidate(out, fd, file, msg, msglen);
		close(fd);
	}
	free(maps);
	if (rootfd >= 0)
		close(rootfd);
	if (!err && !out->n && kill(pid, 0) && errno == ESRCH) {
		snprintf(msg, msglen, "process %d exited while its probes were being attached", pid);
		return -ESRCH;
	}
	if (err < 0) {
		lib_set__free(out);
		return err;
	}
	if (!out->n) {
		process_name(pid, name, sizeof(name));
		snprintf(msg, msglen,
			 "process %d (%s): none of its mapped files defines malloc and the rest "
			 "(a stripped static binary?); name the allocator with --lib PATH",
			 pid, name);
		return -ENOENT;
	}
	return 0;
}

struct image_ctx {
	struct lib_set *set;
	bool register_files;
	char *msg;
	size_t msglen;
};

static int add_loaded(int fd, const char *path, void *ctx)
{
	struct image_ctx *c = ctx;
	int err = add_candidate(c->set, fd, path, c->msg, c->msglen);

	if (err >= 0 && c->register_files)
		err = add_file(c->set, path);
	return err < 0 ? err : 0;
}

/*
 * A script's interpreter ("#!/bin/sh -e" gives /bin/sh) into buf, as the
 * kernel reads it; false when fd is not a script.
 */
static bool interpreter_of(int fd, char *buf, size_t len)
{
	char head[256];
	ssize_t n = pread(fd, head, sizeof(head) - 1, 0);
	char *p, *end;

	if (n < 3 || head[0] != '#' || head[1] != '!')
		return false;
	head[n] = 0;
	p = head + 2 + strspn(head + 2, " \t");
	end = p + strcspn(p, " \t\n");
	if (end == p || !memchr(head, '\n', n))
		return false;
	*end = 0;
	snprintf(buf, len, "%s", p);
	return true;
}

int libs_of_image(int rootfd, int exe_fd, const char *exe_path, const struct ld_env *env,
		  struct lib_set *out, char *msg, size_t msglen)
{
	struct image_ctx ctx = { out, rootfd < 0, msg, msglen };
	char interp[PATH_MAX];
	int err, fd = -1;

	memset(out, 0, sizeof(*out));
	/* A script runs its interpreter (which may be a script: the kernel allows 4 levels). */
	for (int depth = 0; depth < 4 && interpreter_of(exe_fd, interp, sizeof(interp)); depth++) {
		if (fd >= 0)
			close(fd);
		fd = safe_open(rootfd, interp, MAX_ELF_BYTES);
		if (fd < 0) {
			snprintf(msg, msglen, "cannot read %s, the interpreter of %s: %s", interp,
				 exe_path, strerror(-fd));
			return fd;
		}
		exe_fd = fd;
		exe_path = interp;
	}
	err = add_loaded(exe_fd, exe_path, &ctx);
	if (!err)
		err = ld_search(rootfd, exe_fd, exe_path, env, add_loaded, &ctx);
	if (fd >= 0)
		close(fd);
	if (err) {
		if (err != -ENOMEM)
			snprintf(msg, msglen, "cannot read %s: %s", exe_path, strerror(-err));
		lib_set__free(out);
		return err;
	}
	if (!out->n) {
		snprintf(msg, msglen,
			 "%s: neither it nor the libraries it loads define malloc and the rest "
			 "(a stripped static binary?); name the allocator with --lib PATH",
			 exe_path);
		return -ENOENT;
	}
	return 0;
}

int libs_of_file(int fd, const char *path, struct lib_set *out, char *msg, size_t msglen)
{
	int err;

	memset(out, 0, sizeof(*out));
	err = add_candidate(out, fd, path, msg, msglen);
	if (err < 0)
		lib_set__free(out);
	return err < 0 ? err : 0;
}

int libs_of_paths(char *const paths[], int n, struct lib_set *out, char *msg, size_t msglen)
{
	int err = 0;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n && err >= 0; i++) {
		struct alloc_lib lib;
		int fd = safe_open(-1, paths[i], MAX_ELF_BYTES);

		if (fd < 0) {
			err = fd;
			snprintf(msg, msglen, "cannot read %s: %s", paths[i],
				 fd == -EINVAL ? "not a regular file" : strerror(-fd));
			break;
		}
		/* Loaded here, not from the cache, for the reason it is not an allocator. */
		err = alloc_lib__load(&lib, fd, paths[i], msg, msglen);
		if (err == -ENOENT)
			snprintf(msg + strlen(msg), msglen - strlen(msg),
				 " (stripped? bpftape needs its symbol table)");
		if (!err)
			err = add_candidate(out, fd, paths[i], msg, msglen);
		close(fd);
	}
	if (err < 0) {
		lib_set__free(out);
		return err;
	}
	return 0;
}

int libs_system_default(struct lib_set *out, char *msg, size_t msglen)
{
	static const char *const candidates[] = {
		"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6",
		"/lib/aarch64-linux-gnu/libc.so.6", "/usr/lib/aarch64-linux-gnu/libc.so.6",
		"/lib64/libc.so.6", "/usr/lib64/libc.so.6", "/lib/libc.so.6",
		"/lib/ld-musl-x86_64.so.1",
	};
	char *one[1];

	/* The libc of PID 1's world (the host), as seen from here. */
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		if (access(candidates[i], R_OK))
			continue;
		one[0] = (char *)candidates[i];
		return libs_of_paths(one, 1, out, msg, msglen);
	}
	snprintf(msg, msglen, "cannot find the system's libc; name the allocator with --lib PATH");
	return -ENOENT;
}

bool find_in_path(const char *name, char *out, size_t outlen)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL, *dir;
	bool found = false;

	if (strchr(name, '/')) {
		/* Absolute, so that the tape names it wherever it is read. */
		if (!realpath(name, out) || strlen(out) >= outlen)
			snprintf(out, outlen, "%s", name);
		return access(out, X_OK) == 0;
	}
	copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = copy ? strtok_r(copy, ":", &save) : NULL; dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		char rel[PATH_MAX];
		struct stat st;

		snprintf(rel, sizeof(rel), "%s/%s", *dir ? dir : ".", name);
		found = stat(rel, &st) == 0 && S_ISREG(st.st_mode) && access(rel, X_OK) == 0;
		if (found && (!realpath(rel, out) || strlen(out) >= outlen))
			snprintf(out, outlen, "%s", rel);
	}
	free(copy);
	return found;
}

/* Which files of a process or command define its allocator: see lib_resolve.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib_resolve.h"

void lib_set__free(struct lib_set *s)
{
	free(s->libs);
	s->libs = NULL;
	s->n = 0;
	for (int i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	s->files = NULL;
	s->nfiles = 0;
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

static bool has_file(const struct lib_set *s, dev_t dev, ino_t ino)
{
	for (int i = 0; i < s->n; i++)
		if (s->libs[i].dev == dev && s->libs[i].ino == ino)
			return true;
	return false;
}

/*
 * Adds path if it defines allocator functions and is not in the set yet.
 * Returns 1 when added, 0 when skipped, or a negative errno.
 */
static int add_candidate(struct lib_set *s, const char *path, const char *shown, char *msg,
			 size_t msglen)
{
	struct alloc_lib lib;
	struct stat st;
	void *p;
	int err;

	if (stat(path, &st) || !S_ISREG(st.st_mode) || has_file(s, st.st_dev, st.st_ino))
		return 0;
	err = alloc_lib__load(&lib, path, shown, msg, msglen);
	if (err)
		return err == -ENOENT || err == -ENOEXEC ? 0 : err;
	p = realloc(s->libs, (s->n + 1) * sizeof(*s->libs));
	if (!p)
		return -ENOMEM;
	s->libs = p;
	s->libs[s->n++] = lib;
	return 1;
}

static void process_name(pid_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	buf[0] = 0;
	if (f) {
		if (fgets(buf, len, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

int libs_of_pid(pid_t pid, struct lib_set *out, char *msg, size_t msglen)
{
	char path[64], line[PATH_MAX + 256], name[32];
	FILE *f;
	int err = 0;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f) {
		err = -errno;
		snprintf(msg, msglen, errno == ENOENT ? "no process with PID %d" :
			 "cannot read /proc/%d/maps: %s", pid, strerror(errno));
		return err;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		unsigned long long start, end;
		char perms[8], file[PATH_MAX], open_path[PATH_MAX + 64];
		char *deleted;
		int n = 0;

		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &start, &end, perms, &n) < 3 || !n)
			continue;
		snprintf(file, sizeof(file), "%s", line + n);
		file[strcspn(file, "\n")] = 0;
		if (file[0] != '/' || !strchr(perms, 'x'))
			continue;
		/* A file replaced since it was mapped is still reachable through map_files. */
		deleted = strstr(file, " (deleted)");
		if (deleted) {
			*deleted = 0;
			snprintf(open_path, sizeof(open_path), "/proc/%d/map_files/%llx-%llx", pid,
				 start, end);
		} else {
			snprintf(open_path, sizeof(open_path), "/proc/%d/root%s", pid, file);
		}
		err = add_candidate(out, open_path, file, msg, msglen);
		err = err < 0 ? err : 0;
	}
	fclose(f);
	if (err) {
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

/* Paths the dynamic loader lists for exe ("ld.so --list exe"), one per call of fn. */
static int loader_list(const char *interp, const char *exe, char *const envp[],
		       int (*fn)(const char *path, void *ctx), void *ctx)
{
	char line[PATH_MAX + 128];
	int fds[2], status, err = 0;
	pid_t pid;
	FILE *f;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(fds[1], 1);
		if (devnull >= 0)
			dup2(devnull, 2);
		execle(interp, interp, "--list", exe, (char *)NULL, envp);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "=> "), *end;

		p = p ? p + 3 : line + strspn(line, " \t");
		if (*p != '/')
			continue;	/* the vDSO, or "not found" */
		end = strstr(p, " (");
		if (end)
			*end = 0;
		p[strcspn(p, "\n")] = 0;
		if (!err)
			err = fn(p, ctx);
	}
	if (f)
		fclose(f);
	waitpid(pid, &status, 0);
	return err;
}

struct command_ctx {
	struct lib_set *set;
	char *msg;
	size_t msglen;
};

static int add_listed(const char *path, void *ctx)
{
	struct command_ctx *c = ctx;
	int err = add_candidate(c->set, path, path, c->msg, c->msglen);

	return err < 0 ? err : add_file(c->set, path);
}

int libs_of_command(const char *exe, char *const envp[], struct lib_set *out, char *msg,
		    size_t msglen)
{
	struct command_ctx ctx = { out, msg, msglen };
	struct elf_file *elf;
	char interp[PATH_MAX];
	bool dynamic;
	int err;

	memset(out, 0, sizeof(*out));
	err = elf_file__open(&elf, exe, msg, msglen);
	if (err)
		return err;
	dynamic = elf_file__interp(elf, interp, sizeof(interp));
	elf_file__close(elf);
	err = add_candidate(out, exe, exe, msg, msglen);
	if (err >= 0)
		err = add_file(out, exe);
	if (err < 0) {
		lib_set__free(out);
		return err;
	}
	if (dynamic) {
		err = loader_list(interp, exe, envp, add_listed, &ctx);
		if (err) {
			lib_set__free(out);
			return err;
		}
	}
	if (!out->n) {
		snprintf(msg, msglen,
			 "%s: neither it nor the libraries it loads define malloc and the rest "
			 "(a stripped static binary?); name the allocator with --lib PATH",
			 exe);
		return -ENOENT;
	}
	return 0;
}

int libs_of_paths(char *const paths[], int n, struct lib_set *out, char *msg, size_t msglen)
{
	struct alloc_lib lib;
	int err;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n; i++) {
		void *p;

		err = alloc_lib__load(&lib, paths[i], paths[i], msg, msglen);
		if (err == -ENOENT && access(paths[i], F_OK) == 0)
			snprintf(msg + strlen(msg), msglen - strlen(msg),
				 " (stripped? bpftape needs its symbol table)");
		if (err) {
			lib_set__free(out);
			return err;
		}
		if (has_file(out, lib.dev, lib.ino))
			continue;
		p = realloc(out->libs, (out->n + 1) * sizeof(*out->libs));
		if (!p) {
			lib_set__free(out);
			return -ENOMEM;
		}
		out->libs = p;
		out->libs[out->n++] = lib;
	}
	return 0;
}

int libs_system_default(struct lib_set *out, char *msg, size_t msglen)
{
	static const char *const candidates[] = {
		"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6",
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
		snprintf(out, outlen, "%s", name);
		return access(name, X_OK) == 0;
	}
	copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		struct stat st;

		snprintf(out, outlen, "%s/%s", *dir ? dir : ".", name);
		found = stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0;
	}
	free(copy);
	return found;
}

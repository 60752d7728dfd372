/* The loader's search, as data: see ld_search.h. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_file.h"
#include "ld_search.h"
#include "safe_open.h"

#define MAX_ELF_BYTES (4ull << 30)
#define MAX_CACHE_BYTES (64u << 20)
#define MAX_LIST 4096		/* bytes of one search list (RPATH, LD_LIBRARY_PATH) */

/* glibc's /etc/ld.so.cache, new format ("glibc-ld.so.cache1.1"). */
#define CACHE_MAGIC "glibc-ld.so.cache1.1"
#define CACHE_MAGIC_LEN 20
#define CACHE_HDR 48
#define CACHE_ENTRY 24
#define CACHE_FLAG_ELF_LIBC6 0x0003
#define CACHE_FLAG_TYPE_MASK 0x00ff

static const char *const default_dirs[] = {
#if defined(__x86_64__)
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
#elif defined(__aarch64__)
	"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64",
#endif
	"/lib", "/usr/lib",
};

struct object {
	char *path;
	char *rpath;		/* DT_RPATH, $ORIGIN already substituted; NULL if none */
	char *runpath;		/* DT_RUNPATH, the same */
	struct stat st;
};

struct search {
	int rootfd;
	const struct ld_env *env;
	struct object obj[LD_MAX_OBJECTS];
	int n;
	char **needed;		/* names still to find, with the object that asked */
	int *needed_by;
	int nneeded, needed_cap;
	uint8_t *cache;		/* ld.so.cache, read on first use */
	size_t cache_len;
	bool cache_read;
	ld_found_fn fn;
	void *ctx;
};

static void dirname_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, len, ".");
	else if (slash == path)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(slash - path), path);
}

/* A search list with $ORIGIN (and ${ORIGIN}) replaced by the object's directory. */
static char *expand_origin(const char *list, const char *origin_of)
{
	char origin[PATH_MAX], *out, *o;
	size_t olen, n = 0;

	if (strlen(list) > MAX_LIST)
		return NULL;
	dirname_of(origin_of, origin, sizeof(origin));
	olen = strlen(origin);
	for (const char *p = list; *p; p++)
		n += *p == '$' ? olen : 1;
	out = o = malloc(n + 1);
	if (!out)
		return NULL;
	for (const char *p = list; *p;) {
		if (!strncmp(p, "$ORIGIN", 7) || !strncmp(p, "${ORIGIN}", 9)) {
			memcpy(o, origin, olen);
			o += olen;
			p += p[1] == '{' ? 9 : 7;
		} else {
			*o++ = *p++;
		}
	}
	*o = 0;
	return out;
}

static bool seen(struct search *s, const struct stat *st)
{
	for (int i = 0; i < s->n; i++)
		if (s->obj[i].st.st_dev == st->st_dev && s->obj[i].st.st_ino == st->st_ino)
			return true;
	return false;
}

struct dyn_ctx {
	struct search *s;
	int self;
};

static int note_dynamic(char tag, const char *str, void *ctx)
{
	struct dyn_ctx *d = ctx;
	struct search *s = d->s;
	struct object *o = &s->obj[d->self];

	if (tag == 'R' && !o->rpath)
		o->rpath = expand_origin(str, o->path);
	else if (tag == 'U' && !o->runpath)
		o->runpath = expand_origin(str, o->path);
	else if (tag == 'N' && s->nneeded < LD_MAX_OBJECTS * 4 && strlen(str) < NAME_MAX) {
		if (s->nneeded == s->needed_cap) {
			int cap = s->needed_cap ? s->needed_cap * 2 : 64;
			char **nn = realloc(s->needed, cap * sizeof(*nn));
			int *nb = nn ? realloc(s->needed_by, cap * sizeof(*nb)) : NULL;

			if (nn)
				s->needed = nn;
			if (!nb)
				return -ENOMEM;
			s->needed_by = nb;
			s->needed_cap = cap;
		}
		s->needed[s->nneeded] = strdup(str);
		if (!s->needed[s->nneeded])
			return -ENOMEM;
		s->needed_by[s->nneeded++] = d->self;
	}
	return 0;
}

/*
 * Takes the file open at fd (a native ELF object, checked here) as the next
 * object: reads its dynamic section and reports it. Returns 1 when taken, 0
 * when not an object for us, fn's value, or a negative errno.
 */
static int take(struct search *s, int fd, const char *path, bool report)
{
	struct elf_file *elf;
	struct dyn_ctx d = { s, s->n };
	struct object *o;
	char msg[256];
	int r;

	if (s->n == LD_MAX_OBJECTS)
		return 0;
	o = &s->obj[s->n];
	memset(o, 0, sizeof(*o));
	if (fstat(fd, &o->st) || seen(s, &o->st))
		return 0;
	if (elf_file__open_fd(&elf, fd, path, msg, sizeof(msg)))
		return 0;
	if (!elf_file__native(elf)) {
		elf_file__close(elf);
		return 0;
	}
	o->path = strdup(path);
	if (!o->path) {
		elf_file__close(elf);
		return -ENOMEM;
	}
	s->n++;
	r = elf_file__each_dynamic(elf, note_dynamic, &d);
	elf_file__close(elf);
	if (r)
		return r;
	if (report && (r = s->fn(fd, path, s->ctx)))
		return r;
	return 1;
}

/* Tries dir/name; 1 when found and taken. */
static int try_path(struct search *s, const char *path)
{
	int fd = safe_open(s->rootfd, path, MAX_ELF_BYTES), r;

	if (fd < 0)
		return 0;
	r = take(s, fd, path, true);
	close(fd);
	return r;
}

static int try_list(struct search *s, const char *list, const char *name)
{
	char path[PATH_MAX];
	const char *p = list;

	while (p && *p) {
		size_t len = strcspn(p, ":;");
		int r;

		/* An empty entry is the current directory, which the loader also searches. */
		if (snprintf(path, sizeof(path), "%.*s/%s", (int)len, len ? p : ".", name) <
		    (int)sizeof(path) && (r = try_path(s, path)))
			return r;
		p += len;
		if (*p)
			p++;
	}
	return 0;
}

static void read_cache(struct search *s)
{
	int fd, cut;

	s->cache_read = true;
	fd = safe_open(s->rootfd, "/etc/ld.so.cache", MAX_CACHE_BYTES);
	if (fd < 0)
		return;
	if (read_small_fd(fd, MAX_CACHE_BYTES, (char **)&s->cache, &s->cache_len, &cut) ||
	    s->cache_len < CACHE_HDR || memcmp(s->cache, CACHE_MAGIC, CACHE_MAGIC_LEN)) {
		free(s->cache);
		s->cache = NULL;
		s->cache_len = 0;
	}
	close(fd);
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A NUL-terminated string at offset off of the cache, or NULL when it runs out. */
static const char *cache_str(const struct search *s, uint32_t off)
{
	if (off >= s->cache_len || !memchr(s->cache + off, 0, s->cache_len - off))
		return NULL;
	return (const char *)s->cache + off;
}

static int try_cache(struct search *s, const char *name)
{
	uint32_t n;

	if (!s->cache_read)
		read_cache(s);
	if (!s->cache)
		return 0;
	n = le32(s->cache + CACHE_MAGIC_LEN);
	if (n > (s->cache_len - CACHE_HDR) / CACHE_ENTRY)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = s->cache + CACHE_HDR + (size_t)i * CACHE_ENTRY;
		const char *key = cache_str(s, le32(e + 4)), *value;
		int r;

		if ((le32(e) & CACHE_FLAG_TYPE_MASK) != CACHE_FLAG_ELF_LIBC6 || !key ||
		    strcmp(key, name))
			continue;
		value = cache_str(s, le32(e + 8));
		/* Entries for other architectures share the name: take fails on them. */
		if (value && value[0] == '/' && (r = try_path(s, value)))
			return r;
	}
	return 0;
}

/* Finds name for the object `by`, in the loader's order. 1 when found. */
static int find(struct search *s, const char *name, int by)
{
	const struct object *o = &s->obj[by];
	int r;

	if (strchr(name, '/'))
		return try_path(s, name);
	/* DT_RPATH of the object, then of the executable, unless the object has DT_RUNPATH. */
	if (!o->runpath) {
		if (o->rpath && (r = try_list(s, o->rpath, name)))
			return r;
		if (by != 0 && s->obj[0].rpath && !s->obj[0].runpath &&
		    (r = try_list(s, s->obj[0].rpath, name)))
			return r;
	}
	if (s->env->library_path && !s->env->secure &&
	    (r = try_list(s, s->env->library_path, name)))
		return r;
	if (o->runpath && (r = try_list(s, o->runpath, name)))
		return r;
	if ((r = try_cache(s, name)))
		return r;
	for (size_t i = 0; i < sizeof(default_dirs) / sizeof(default_dirs[0]); i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", default_dirs[i], name);
		if ((r = try_path(s, path)))
			return r;
	}
	return 0;
}

/* LD_PRELOAD's entries (separated by spaces or colons), then /etc/ld.so.preload's. */
static int preloads(struct search *s)
{
	char *file = NULL, *lists[2] = { NULL, NULL };
	size_t len;
	int fd, cut, r = 0;

	if (s->env->preload && !s->env->secure && strlen(s->env->preload) <= MAX_LIST)
		lists[0] = strdup(s->env->preload);
	fd = safe_open(s->rootfd, "/etc/ld.so.preload", MAX_LIST);
	if (fd >= 0 && !read_small_fd(fd, MAX_LIST, &file, &len, &cut))
		lists[1] = file;
	if (fd >= 0)
		close(fd);
	for (int l = 0; l < 2 && r >= 0; l++) {
		char *save = NULL;

		for (char *name = lists[l] ? strtok_r(lists[l], " :\t\n", &save) : NULL;
		     name && r >= 0; name = strtok_r(NULL, " :\t\n", &save)) {
			/* Secure mode loads only preloads without a slash, from standard places. */
			if (strlen(name) >= PATH_MAX)
				continue;
			r = find(s, name, 0);
			r = r < 0 ? r : 0;
		}
	}
	free(lists[0]);
	free(lists[1]);
	return r;
}

int ld_search(int rootfd, int exe_fd, const char *exe_path, const struct ld_env *env,
	      ld_found_fn fn, void *ctx)
{
	struct search *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->rootfd = rootfd;
	s->env = env;
	s->fn = fn;
	s->ctx = ctx;
	/* The executable is object 0: its RPATH serves every library. Not reported. */
	r = take(s, exe_fd, exe_path, false);
	if (r == 1) {
		r = preloads(s);
		/* Breadth first: the loader's order for symbol lookup, too. */
		for (int i = 0; i < s->nneeded && r >= 0; i++)
			r = find(s, s->needed[i], s->needed_by[i]);
		r = r < 0 ? r : 0;
	}
	for (int i = 0; i < s->n; i++) {
		free(s->obj[i].path);
		free(s->obj[i].rpath);
		free(s->obj[i].runpath);
	}
	for (int i = 0; i < s->nneeded; i++)
		free(s->needed[i]);
	free(s->needed);
	free(s->needed_by);
	free(s->cache);
	free(s);
	return r;
}

void ld_env_from_block(const char *block, size_t len, struct ld_env *env)
{
	memset(env, 0, sizeof(*env));
	for (size_t i = 0; i < len; i += strnlen(block + i, len - i) + 1) {
		/* The first of a name counts, as for getenv. */
		if (!env->preload && !strncmp(block + i, "LD_PRELOAD=", 11))
			env->preload = block + i + 11;
		else if (!env->library_path && !strncmp(block + i, "LD_LIBRARY_PATH=", 16))
			env->library_path = block + i + 16;
	}
}

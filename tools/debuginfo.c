/* Finding and opening symbol files safely: see debuginfo.h. */
#include <dlfcn.h>
#include <elfutils/debuginfod.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cli.h"
#include "debuginfo.h"
#include "elf_file.h"
#include "safe_open.h"

/* The largest symbol file read; a copy of an untrusted one is smaller still. */
#define FILE_MAX (16ull << 30)
#define COPY_MAX (1ull << 30)
/* How long one debuginfod lookup may take, whatever the server does; and all of them. */
#define DEBUGINFOD_BUDGET_S 30.0
#define DEBUGINFOD_TOTAL_S 120.0
#define STANDARD_DEBUG_ROOT "/usr/lib/debug"

typedef debuginfod_client *(*dfd_begin_fn)(void);
typedef void (*dfd_end_fn)(debuginfod_client *);
typedef int (*dfd_find_fn)(debuginfod_client *, const unsigned char *, int, char **);
typedef void (*dfd_progress_set_fn)(debuginfod_client *, debuginfod_progressfn_t);
typedef void (*dfd_user_data_fn)(debuginfod_client *, void *);
typedef void *(*dfd_get_user_data_fn)(debuginfod_client *);

struct debuginfod {
	void *lib;
	debuginfod_client *client;
	dfd_end_fn end;
	dfd_find_fn find_debuginfo, find_executable;
	double deadline;
	double spent;		/* seconds waited for servers so far */
};

struct debuginfo {
	char *symfs;
	char **roots;		/* build-ID directories, in search order */
	size_t nroots;
	bool no_debuginfod;
	bool dfd_tried;		/* the client was set up, or could not be */
	struct debuginfod dfd;	/* .client NULL: none */
};

static char *join(const char *a, const char *b)
{
	char *s;

	return asprintf(&s, "%s%s", a, b) < 0 ? NULL : s;
}

struct debuginfo *debuginfo__new(const struct debuginfo_opts *o)
{
	struct debuginfo *d = calloc(1, sizeof(*d));
	size_t n = o->ndebug_dirs + 2;

	if (!d)
		return NULL;
	d->roots = calloc(n, sizeof(*d->roots));
	if (!d->roots) {
		free(d);
		return NULL;
	}
	for (size_t i = 0; i < o->ndebug_dirs; i++)
		d->roots[d->nroots++] = strdup(o->debug_dirs[i]);
	if (o->symfs) {
		d->symfs = strdup(o->symfs);
		d->roots[d->nroots++] = join(o->symfs, STANDARD_DEBUG_ROOT);
	}
	d->roots[d->nroots++] = strdup(STANDARD_DEBUG_ROOT);
	d->no_debuginfod = o->no_debuginfod;
	for (size_t i = 0; i < d->nroots; i++)
		if (!d->roots[i]) {
			debuginfo__free(d);
			return NULL;
		}
	return d;
}

void debuginfo__free(struct debuginfo *d)
{
	if (!d)
		return;
	if (d->dfd.client)
		d->dfd.end(d->dfd.client);
#ifndef BPFTAPE_STATIC
	if (d->dfd.lib)
		dlclose(d->dfd.lib);
#endif
	for (size_t i = 0; i < d->nroots; i++)
		free(d->roots[i]);
	free(d->roots);
	free(d->symfs);
	free(d);
}

/* ------------------------------------------------------------ opening files */

/*
 * Could someone other than root and us change this file while we read it?
 * Then a truncation would be SIGBUS in libelf's mapping of it.
 */
static bool others_may_write(const struct stat *st)
{
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return true;
	return (st->st_mode & S_IWOTH) || ((st->st_mode & S_IWGRP) && st->st_gid != 0);
}

/* A sealed private copy of fd's size bytes: what is read cannot change under the reader. */
static int sealed_copy(int fd, uint64_t size)
{
	int copy = memfd_create("bpftape-symbols", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	char buf[1 << 16];
	uint64_t done = 0;

	if (copy < 0)
		return -errno;
	while (done < size) {
		ssize_t n = pread(fd, buf, sizeof(buf), done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* shrunk meanwhile: what was there is what is read */
		for (ssize_t w = 0; w < n;) {
			ssize_t r = write(copy, buf + w, n - w);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				int err = -errno;

				close(copy);
				return err;
			}
			w += r;
		}
		done += n;
	}
	if (fcntl(copy, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)) {
		int err = -errno;

		close(copy);
		return err;
	}
	return copy;
}

int debuginfo__open_file(const char *path, char *why, size_t whylen)
{
	struct stat st;
	int fd = safe_open(-1, path, FILE_MAX), copy;

	if (fd < 0) {
		if (fd == -EINVAL)
			snprintf(why, whylen, "not a regular file");
		else if (fd == -EFBIG)
			snprintf(why, whylen, "larger than %llu GiB", FILE_MAX >> 30);
		else
			snprintf(why, whylen, "%s", strerror(-fd));
		return fd;
	}
	if (fstat(fd, &st) || !others_may_write(&st))
		return fd;
	if ((uint64_t)st.st_size > COPY_MAX) {
		snprintf(why, whylen, "another user's file larger than %llu MiB: not read",
			 COPY_MAX >> 20);
		close(fd);
		return -EFBIG;
	}
	copy = sealed_copy(fd, st.st_size);
	close(fd);
	if (copy < 0)
		snprintf(why, whylen, "cannot copy it: %s", strerror(-copy));
	return copy;
}

size_t debuginfo__build_id(int fd, uint8_t *id, size_t max)
{
	uint8_t got[BUILD_ID_MAX];
	struct elf_file *f;
	char msg[256];
	size_t len = 0;

	/* Read, not mapped: the file is checked before it is trusted. */
	if (elf_file__open_fd(&f, fd, "", msg, sizeof(msg)))
		return 0;
	elf_file__build_id(f, got, &len);
	elf_file__close(f);
	if (len > max)
		return 0;
	memcpy(id, got, len);
	return len;
}

static uint32_t file_crc(int fd)
{
	unsigned char buf[1 << 16];
	uLong crc = crc32(0, NULL, 0);
	off_t at = 0;
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), at)) > 0) {
		crc = crc32(crc, buf, n);
		at += n;
	}
	return crc;
}

/*
 * Opens a candidate and checks that it is the file wanted: the same build
 * ID when one is known, else the same CRC when one is known. An fd, -ENOENT
 * (absent or unusable) or -ESTALE (another build).
 */
static int try_candidate(const char *path, const uint8_t *id, size_t idlen, const uint32_t *crc,
			 char **found, char *refused, size_t refusedlen)
{
	uint8_t got[BUILD_ID_MAX];
	size_t glen;
	char why[512];
	int fd = debuginfo__open_file(path, why, sizeof(why));

	/* There, but not opened (not a regular file, too large...): worth saying why. */
	if (fd < 0 && fd != -ENOENT && refused && !refused[0])
		snprintf(refused, refusedlen, "%s: %s", path, why);
	if (fd < 0)
		return -ENOENT;
	if (idlen) {
		glen = debuginfo__build_id(fd, got, sizeof(got));
		if (glen != idlen || memcmp(got, id, idlen)) {
			close(fd);
			return -ESTALE;
		}
	} else if (crc && file_crc(fd) != *crc) {
		close(fd);
		return -ESTALE;
	}
	if (found && !(*found = strdup(path))) {
		close(fd);
		return -ENOMEM;
	}
	return fd;
}

/* root/.build-id/xx/rest[suffix] */
static char *build_id_path(const char *root, const uint8_t *id, size_t idlen, const char *suffix)
{
	char hex[2 * BUILD_ID_MAX + 1], *s;

	build_id_hex(id, idlen, hex, sizeof(hex));
	if (asprintf(&s, "%s/.build-id/%.2s/%s%s", root, hex, hex + 2, suffix) < 0)
		return NULL;
	return s;
}

static int by_build_id(struct debuginfo *d, const uint8_t *id, size_t idlen, const char *suffix,
		       char **found)
{
	if (idlen < 2)
		return -ENOENT;
	for (size_t i = 0; i < d->nroots; i++) {
		char *p = build_id_path(d->roots[i], id, idlen, suffix);
		int fd = p ? try_candidate(p, id, idlen, NULL, found, NULL, 0) : -ENOMEM;

		free(p);
		if (fd >= 0 || fd == -ENOMEM)
			return fd;
	}
	return -ENOENT;
}

/* ---------------------------------------------------------------- debuginfod */

#ifndef BPFTAPE_STATIC
/* The library's own accessor, found with the rest of it (the progress callback has no context). */
static dfd_get_user_data_fn dfd_get_user_data;

static int dfd_progress(debuginfod_client *c, long a, long b)
{
	const struct debuginfod *x = dfd_get_user_data(c);

	(void)a;
	(void)b;
	/* Non-zero cancels the transfer: nothing waits past the budget. */
	return x && cli_now() > x->deadline;
}
#endif

/*
 * The debuginfod client, loaded on first use when DEBUGINFOD_URLS names a
 * server: dlopen'ed, so that bpftape neither needs libcurl to start nor
 * asks the network unless told to.
 */
static struct debuginfod *debuginfod(struct debuginfo *d)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	struct debuginfod *x = &d->dfd;

	if (d->dfd_tried)
		return x->client ? x : NULL;
	d->dfd_tried = true;
	if (d->no_debuginfod || !urls || !*urls)
		return NULL;
#ifdef BPFTAPE_STATIC
	cli_warn("DEBUGINFOD_URLS is set, but this static bpftape cannot load libdebuginfod: use the dynamically linked one to fetch files");
	return NULL;
#else
	dfd_begin_fn begin;
	dfd_progress_set_fn set_progress;
	dfd_user_data_fn set_user_data;

	x->lib = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!x->lib) {
		cli_warn("DEBUGINFOD_URLS is set but libdebuginfod.so.1 cannot be loaded (Debian: apt-get install libdebuginfod1): no files are fetched");
		return NULL;
	}
	begin = (dfd_begin_fn)dlsym(x->lib, "debuginfod_begin");
	x->end = (dfd_end_fn)dlsym(x->lib, "debuginfod_end");
	x->find_debuginfo = (dfd_find_fn)dlsym(x->lib, "debuginfod_find_debuginfo");
	x->find_executable = (dfd_find_fn)dlsym(x->lib, "debuginfod_find_executable");
	set_progress = (dfd_progress_set_fn)dlsym(x->lib, "debuginfod_set_progressfn");
	set_user_data = (dfd_user_data_fn)dlsym(x->lib, "debuginfod_set_user_data");
	dfd_get_user_data = (dfd_get_user_data_fn)dlsym(x->lib, "debuginfod_get_user_data");
	if (!begin || !x->end || !x->find_debuginfo || !x->find_executable || !set_progress ||
	    !set_user_data || !dfd_get_user_data || !(x->client = begin())) {
		cli_warn("libdebuginfod.so.1 is unusable: no files are fetched");
		return NULL;
	}
	set_user_data(x->client, x);
	set_progress(x->client, dfd_progress);
	return x;
#endif
}

/* Asks the servers; a server that fails other than "not there" is not asked again. */
static int from_debuginfod(struct debuginfo *d, dfd_find_fn *which, const uint8_t *id,
			   size_t idlen, const char *what, char **found)
{
	struct debuginfod *x = debuginfod(d);
	dfd_find_fn find;
	char *path = NULL, why[256];
	double start;
	int fd, checked;

	if (!x || idlen < 2)
		return -ENOENT;
	find = *which;
	start = cli_now();
	x->deadline = start + DEBUGINFOD_BUDGET_S;
	if (x->deadline > start + DEBUGINFOD_TOTAL_S - x->spent)
		x->deadline = start + DEBUGINFOD_TOTAL_S - x->spent;
	fd = find(x->client, id, idlen, &path);
	x->spent += cli_now() - start;
	if (fd < 0) {
		if (fd != -ENOENT) {
			char hex[2 * BUILD_ID_MAX + 1];

			build_id_hex(id, idlen, hex, sizeof(hex));
			cli_warn("debuginfod (DEBUGINFOD_URLS=%s) failed for the %s of build ID %s: %s; not asked again",
				 getenv("DEBUGINFOD_URLS"), what, hex,
				 cli_now() > x->deadline ? "no answer in time" : strerror(-fd));
			x->end(x->client);
			x->client = NULL;
		}
		return -ENOENT;
	}
	close(fd);
	if (x->spent >= DEBUGINFOD_TOTAL_S) {
		cli_warn("debuginfod: %.0f s spent waiting for servers: not asked again", x->spent);
		x->end(x->client);
		x->client = NULL;
	}
	/* The client's cache file, opened again like any other and checked. */
	checked = path ? debuginfo__open_file(path, why, sizeof(why)) : -ENOENT;
	if (checked >= 0) {
		uint8_t got[BUILD_ID_MAX];

		if (debuginfo__build_id(checked, got, sizeof(got)) != idlen || memcmp(got, id, idlen)) {
			close(checked);
			checked = -ESTALE;
		} else {
			*found = path;
			path = NULL;
		}
	}
	free(path);
	return checked < 0 ? -ENOENT : checked;
}

/* ------------------------------------------------------------------ searches */

int debuginfo__find_binary(struct debuginfo *d, const char *path, const uint8_t *id, size_t idlen,
			   char **found, char *why, size_t whylen)
{
	bool stale = false;
	char *p;
	int fd;

	*found = NULL;
	why[0] = 0;
	/* Under symfs first: on a foreign machine, that is where the user put the files. */
	if (d->symfs) {
		p = join(d->symfs, path);
		fd = p ? try_candidate(p, id, idlen, NULL, found, why, whylen) : -ENOMEM;
		free(p);
		if (fd >= 0 || fd == -ENOMEM)
			return fd;
		stale |= fd == -ESTALE;
	}
	/* The recorded path: only when a build ID vouches for it, or no symfs says otherwise. */
	if (!d->symfs || idlen) {
		fd = try_candidate(path, id, idlen, NULL, found, why, whylen);
		if (fd >= 0)
			return fd;
		stale |= fd == -ESTALE;
	}
	fd = by_build_id(d, id, idlen, "", found);
	if (fd >= 0)
		return fd;
	fd = from_debuginfod(d, &d->dfd.find_executable, id, idlen, "executable", found);
	if (fd >= 0)
		return fd;
	if (stale)
		snprintf(why, whylen, "it has changed since the recording (another build ID)");
	else if (why[0] && !strncmp(why, path, strlen(path)) && why[strlen(path)] == ':')
		/* Refused at the recorded path, which the caller names already. */
		memmove(why, why + strlen(path) + 2, strlen(why + strlen(path) + 2) + 1);
	else if (!idlen)
		snprintf(why, whylen, "not found%s%s", d->symfs ? " under " : "",
			 d->symfs ? d->symfs : "");
	else
		snprintf(why, whylen, "not found, by path%s%s nor by build ID in %zu debug director%s%s",
			 d->symfs ? " under " : "", d->symfs ? d->symfs : "", d->nroots,
			 d->nroots == 1 ? "y" : "ies",
			 d->dfd.client ? " or from debuginfod" :
			 getenv("DEBUGINFOD_URLS") ? "" : " (DEBUGINFOD_URLS unset)");
	return stale ? -ESTALE : -ENOENT;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? strndup(path, slash - path) : strdup(".");
}

/* One debug-link candidate: which of them is i (-2: beside the file, -1: in .debug/ there). */
static char *link_candidate(const struct debuginfo *d, int i, const char *dir, const char *orig_dir,
			    const char *link)
{
	char *p;
	int n;

	if (i == -2)
		n = asprintf(&p, "%s/%s", dir, link);
	else if (i == -1)
		n = asprintf(&p, "%s/.debug/%s", dir, link);
	else
		n = asprintf(&p, "%s%s/%s", d->roots[i], orig_dir, link);
	return n < 0 ? NULL : p;
}

int debuginfo__find_debug(struct debuginfo *d, const char *found_path, const char *path,
			  const uint8_t *id, size_t idlen, const char *link, uint32_t crc,
			  char **found)
{
	int fd = by_build_id(d, id, idlen, ".debug", found);

	/* A link is a file name: one with a directory in it is not followed. */
	if (fd < 0 && link && *link && !strchr(link, '/')) {
		char *dir = dir_of(found_path), *orig_dir = dir_of(path);

		for (int i = -2; dir && orig_dir && i < (int)d->nroots && fd < 0; i++) {
			char *p = link_candidate(d, i, dir, orig_dir, link);

			fd = p ? try_candidate(p, id, idlen, idlen ? NULL : &crc, found, NULL, 0) :
				 -ENOMEM;
			free(p);
		}
		free(dir);
		free(orig_dir);
	}
	if (fd < 0)
		fd = from_debuginfod(d, &d->dfd.find_debuginfo, id, idlen, "debug information",
				     found);
	return fd < 0 ? -ENOENT : fd;
}

int debuginfo__find_alt(struct debuginfo *d, const char *debug_path, const char *name,
			const uint8_t *id, size_t idlen, char **found)
{
	int fd = by_build_id(d, id, idlen, ".debug", found);
	char *dir, *p = NULL;

	/* By name: relative to the debug file's directory, as dwz writes it. */
	if (fd < 0 && name && *name) {
		dir = dir_of(debug_path);
		if (dir && asprintf(&p, "%s%s%s", name[0] == '/' ? "" : dir, name[0] == '/' ? "" : "/",
				    name) >= 0)
			fd = try_candidate(p, id, idlen, NULL, found, NULL, 0);
		free(p);
		free(dir);
	}
	if (fd < 0)
		fd = from_debuginfod(d, &d->dfd.find_debuginfo, id, idlen, "supplementary file",
				     found);
	return fd < 0 ? -ENOENT : fd;
}

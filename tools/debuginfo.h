/*
 * Finding the files that symbolise a tape's addresses, on any machine: the
 * file a process mapped (by its recorded path, under --symfs, or by build
 * ID), its separate debug information (build-ID directories, its
 * .gnu_debuglink, a debuginfod server) and a dwz supplementary file.
 *
 * Every path comes from a tape or from a file the tape names, so none is
 * trusted: files are opened non-blocking and only when they are regular
 * files of bounded size (never a FIFO or a device), a build ID is checked
 * whenever one is known, and a file that another user could truncate while
 * it is read is read from a sealed private copy instead.
 */
#ifndef BPFTAPE_DEBUGINFO_H
#define BPFTAPE_DEBUGINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct debuginfo_opts {
	const char *symfs;		/* root under which recorded paths are looked up; NULL: / */
	const char *const *debug_dirs;	/* build-ID directories, searched first */
	size_t ndebug_dirs;
	bool no_debuginfod;		/* never ask a server, even with DEBUGINFOD_URLS set */
};

struct debuginfo;

struct debuginfo *debuginfo__new(const struct debuginfo_opts *opts);
void debuginfo__free(struct debuginfo *d);

/* What kind of file a search is for. */
enum debuginfo_kind {
	DEBUGINFO_BINARY,	/* the mapped file itself (or a copy of it) */
	DEBUGINFO_DEBUG,	/* its separate debug information */
	DEBUGINFO_ALT,		/* a dwz supplementary file */
};

/*
 * The file a process mapped: recorded path under symfs, the recorded path
 * itself (when the build ID can vouch for it, or there is no symfs), then
 * by build ID in the build-ID directories and from debuginfod. Returns an
 * fd and the path it came from in *found (malloc'd), or a negative errno
 * with, in why, a sentence of what was tried.
 */
int debuginfo__find_binary(struct debuginfo *d, const char *path, const uint8_t *id, size_t idlen,
			   char **found, char *why, size_t whylen);
/*
 * Separate debug information of a file found at found_path (recorded as
 * path), with build ID id and, when it has one, a .gnu_debuglink name and
 * CRC: build-ID directories, the debug link beside the file and under the
 * debug roots, then debuginfod. An fd, or a negative errno.
 */
int debuginfo__find_debug(struct debuginfo *d, const char *found_path, const char *path,
			  const uint8_t *id, size_t idlen, const char *link, uint32_t crc,
			  char **found);
/* The supplementary file a debug file at debug_path names (name, build ID). */
int debuginfo__find_alt(struct debuginfo *d, const char *debug_path, const char *name,
			const uint8_t *id, size_t idlen, char **found);

/*
 * Opens a file for reading as symbols: a regular file (never a FIFO or a
 * device, never blocking), at most max_size bytes; a file others could
 * truncate is copied into a sealed private file first. An fd or -errno.
 */
int debuginfo__open_file(const char *path, char *why, size_t whylen);

/* The GNU build ID of an open ELF file; 0 bytes when it has none. */
size_t debuginfo__build_id(int fd, uint8_t *id, size_t max);

#endif

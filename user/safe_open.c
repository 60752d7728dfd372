/* Opening files a target or a tape names: see safe_open.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "safe_open.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = { .flags = flags, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int fd;

	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	/* Before Linux 5.6: resolved from the root directory fd, symlinks as we see them. */
	if (fd < 0 && errno == ENOSYS)
		fd = openat(rootfd, path, flags);
	return fd;
}

int safe_open(int rootfd, const char *path, uint64_t max_size)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, fd, err;
	struct stat st;

	/* Look before opening: opening a FIFO or a device can block or act. */
	if (rootfd < 0) {
		if (stat(path, &st))
			return -errno;
		if (!S_ISREG(st.st_mode))
			return -EINVAL;
		fd = open(path, flags);
	} else {
		/* openat2 refuses O_PATH with any flag but these. */
		fd = open_in_root(rootfd, path, O_PATH | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
			close(fd);
			return -EINVAL;
		}
		/* Reopen what was looked at, not the name again. */
		{
			char self[64];

			snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
			err = open(self, flags);
			close(fd);
			fd = err;
		}
	}
	if (fd < 0)
		return -errno;
	/* And check what was opened: the name may have changed in between. */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > max_size) {
		close(fd);
		return -EFBIG;
	}
	return fd;
}

int proc_root_open(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int read_small_fd(int fd, size_t max, char **buf, size_t *len, int *cut)
{
	size_t cap = max < 4096 ? max : 4096, n = 0;
	char *b = malloc(cap + 1), c;
	ssize_t r;

	*cut = 0;
	if (!b)
		return -ENOMEM;
	for (;;) {
		if (n == cap && cap < max) {
			char *nb;

			cap = cap * 2 < max ? cap * 2 : max;
			nb = realloc(b, cap + 1);
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
		}
		r = n < cap ? read(fd, b + n, cap - n) : read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = -errno;

			free(b);
			return err;
		}
		if (r == 0)
			break;
		if (n == cap) {
			*cut = 1;	/* more than max: what fits is kept */
			break;
		}
		n += r;
	}
	b[n] = 0;
	*buf = b;
	*len = n;
	return 0;
}

int read_small_file(const char *path, size_t max, char **buf, size_t *len, int *cut)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY), err;

	if (fd < 0)
		return -errno;
	err = read_small_fd(fd, max, buf, len, cut);
	close(fd);
	return err;
}

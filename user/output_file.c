/* Creating output files safely: see output_file.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output_file.h"
#include "parse.h"

/* Under sudo, the file belongs to the user who ran sudo, not to root. */
static void give_to_sudo_user(int fd)
{
	const char *uid_s = getenv("SUDO_UID"), *gid_s = getenv("SUDO_GID");
	uint64_t uid, gid;

	if (geteuid() != 0 || !uid_s || !gid_s)
		return;
	if (parse_u64(uid_s, 0, UINT32_MAX - 1, &uid) || parse_u64(gid_s, 0, UINT32_MAX - 1, &gid))
		return;
	if (fchown(fd, uid, gid)) {
		/* Not fatal: the file is still there, owned by root. */
	}
}

int output_file__create(const char *path, bool force, char *msg, size_t msglen)
{
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
	int fd, err;

	if (!strcmp(path, "-")) {
		if (isatty(1)) {
			snprintf(msg, msglen,
				 "refusing to write binary output to a terminal; redirect it or give a file name");
			return -EINVAL;
		}
		return 1;
	}
	fd = open(path, flags, 0600);
	if (fd < 0) {
		err = -errno;
		if (errno == EEXIST)
			snprintf(msg, msglen, "%s exists; use --force to overwrite it", path);
		else
			snprintf(msg, msglen, "cannot create %s: %s", path, strerror(errno));
		return err;
	}
	give_to_sudo_user(fd);
	return fd;
}

int output_file__close(int fd)
{
	if (fd == 1)
		return 0;
	return close(fd) ? -errno : 0;
}

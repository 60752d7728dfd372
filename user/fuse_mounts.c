/* FUSE devices, from /proc/self/mountinfo: see fuse_mounts.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuse_mounts.h"
#include "safe_open.h"

#define MAX_MOUNTS 4096
#define RELOAD_SECONDS 1.0	/* a device not seen yet: look again, at most this often */

struct mount_dev {
	uint32_t kdev;
	bool fuse;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mount_dev mounts[MAX_MOUNTS];
static int nmounts;
static double loaded_at;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Reads a mountinfo file ("36 35 0:31 / /mnt rw shared:1 - fuse.sshfs host:
 * rw") into out; returns how many mounts.
 */
static int read_mounts(const char *path, struct mount_dev *out, int max)
{
	char *text = NULL, *save = NULL;
	size_t len;
	int cut, n = 0;

	if (read_small_file(path, 16 << 20, &text, &len, &cut))
		return 0;
	for (char *line = strtok_r(text, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned major, minor;
		const char *type = strstr(line, " - ");

		if (sscanf(line, "%*u %*u %u:%u", &major, &minor) != 2 || !type)
			continue;
		out[n].kdev = major << 20 | minor;
		out[n].fuse = !strncmp(type + 3, "fuse", 4);
		n++;
	}
	free(text);
	return n;
}

static void reload(void)
{
	loaded_at = now_s();
	nmounts = read_mounts("/proc/self/mountinfo", mounts, MAX_MOUNTS);
}

/* A device of another mount namespace (a container's): its own mountinfo says. */
static bool fuse_in(pid_t pid, uint32_t kdev)
{
	static struct mount_dev theirs[MAX_MOUNTS];
	char path[64];
	int n;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	n = read_mounts(path, theirs, MAX_MOUNTS);
	for (int i = 0; i < n; i++)
		if (theirs[i].kdev == kdev)
			return theirs[i].fuse;
	return false;
}

bool fuse_mounts__has(uint32_t kdev, pid_t pid)
{
	bool fuse = false, found = false;

	pthread_mutex_lock(&lock);
	for (int pass = 0; pass < 2 && !found; pass++) {
		if (pass || !loaded_at) {
			if (loaded_at && now_s() - loaded_at < RELOAD_SECONDS)
				break;
			reload();
		}
		for (int i = 0; i < nmounts && !found; i++)
			if (mounts[i].kdev == kdev) {
				found = true;
				fuse = mounts[i].fuse;
			}
	}
	if (!found && pid > 0)
		fuse = fuse_in(pid, kdev);
	pthread_mutex_unlock(&lock);
	return fuse;
}

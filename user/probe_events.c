/* tracefs uprobe events: see probe_events.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe_events.h"
#include "safe_open.h"

#define GROUP_PREFIX "bpftape_"

/* Appends one line to uprobe_events; -errno on failure. */
static int command(const struct probe_events *pe, const char *line)
{
	char path[PATH_MAX + 32];
	ssize_t n, len = strlen(line);
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/uprobe_events", pe->dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, line, len);
	if (n != len)
		err = n < 0 ? -errno : -EIO;
	close(fd);
	return err;
}

/* Is pid a bpftape recorder still running? */
static bool recorder_alive(pid_t pid)
{
	char path[64], *comm = NULL;
	size_t len;
	int cut;
	bool alive;

	if (kill(pid, 0) && errno == ESRCH)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_small_file(path, 64, &comm, &len, &cut))
		return false;
	alive = !strncmp(comm, "bpftape", 7);
	free(comm);
	return alive;
}

/* Removes the events of recorders that are gone. */
static void remove_stale(struct probe_events *pe)
{
	char path[PATH_MAX + 32], *text = NULL, *save = NULL;
	size_t len;
	int cut;

	snprintf(path, sizeof(path), "%s/uprobe_events", pe->dir);
	if (read_small_file(path, 16 << 20, &text, &len, &cut))
		return;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char group[64], event[64], cmd[160];
		int pid;

		/* "p:bpftape_1234/e0 /path:0x..." */
		if (sscanf(line, "%*c:" GROUP_PREFIX "%d/%63[^ ]", &pid, event) != 2)
			continue;
		if (pid <= 0 || recorder_alive(pid))
			continue;
		snprintf(group, sizeof(group), GROUP_PREFIX "%d", pid);
		snprintf(cmd, sizeof(cmd), "-:%s/%s\n", group, event);
		command(pe, cmd);	/* a multi-probe event goes at once; repeats fail: fine */
	}
	free(text);
}

int probe_events__init(struct probe_events *pe, const char *tracefs, char *msg, size_t msglen)
{
	char path[PATH_MAX + 32];

	memset(pe, 0, sizeof(*pe));
	snprintf(pe->dir, sizeof(pe->dir), "%s", tracefs);
	snprintf(pe->group, sizeof(pe->group), GROUP_PREFIX "%d", getpid());
	snprintf(path, sizeof(path), "%s/uprobe_events", pe->dir);
	if (access(path, W_OK)) {
		int err = -errno;

		snprintf(msg, msglen, "cannot use %s: %s (is CONFIG_UPROBE_EVENTS set?)", path,
			 strerror(errno));
		return err;
	}
	remove_stale(pe);
	return 0;
}

static int event_id(const struct probe_events *pe, const char *name)
{
	char path[PATH_MAX + 96], *text = NULL;
	size_t len;
	int cut, id = -1;

	snprintf(path, sizeof(path), "%s/events/%s/%s/id", pe->dir, pe->group, name);
	if (read_small_file(path, 64, &text, &len, &cut))
		return -errno;
	if (sscanf(text, "%d", &id) != 1)
		id = -EINVAL;
	free(text);
	return id;
}

/* One event: every offset, as one multi-probe event. */
static int define_one(struct probe_events *pe, char type, const char *name, int fd,
		      const uint64_t *offs, int n, char *msg, size_t msglen)
{
	char line[256];
	int err = 0;

	for (int i = 0; i < n && !err; i++) {
		snprintf(line, sizeof(line), "%c:%s/%s /proc/%d/fd/%d:0x%" PRIx64 "\n", type,
			 pe->group, name, getpid(), fd, offs[i]);
		err = command(pe, line);
	}
	if (err) {
		snprintf(msg, msglen, "cannot define the uprobe event %s/%s: %s", pe->group, name,
			 strerror(-err));
		return err;
	}
	err = event_id(pe, name);
	if (err < 0)
		snprintf(msg, msglen, "cannot read the ID of the uprobe event %s/%s: %s", pe->group,
			 name, strerror(-err));
	return err;
}

int probe_events__define(struct probe_events *pe, int fd, const uint64_t *entries, int n_entries,
			 const uint64_t *returns, int n_returns, int *entry_id, int *return_id,
			 char *msg, size_t msglen)
{
	char name[16];
	int n = pe->next++;

	*return_id = -1;
	snprintf(name, sizeof(name), "e%d", n);
	*entry_id = define_one(pe, 'p', name, fd, entries, n_entries, msg, msglen);
	if (*entry_id < 0)
		return *entry_id;
	if (!n_returns)
		return 0;
	snprintf(name, sizeof(name), "r%d", n);
	*return_id = define_one(pe, 'r', name, fd, returns, n_returns, msg, msglen);
	return *return_id < 0 ? *return_id : 0;
}

void probe_events__remove_all(struct probe_events *pe)
{
	char line[96];

	for (int i = 0; i < pe->next; i++) {
		snprintf(line, sizeof(line), "-:%s/e%d\n", pe->group, i);
		command(pe, line);
		snprintf(line, sizeof(line), "-:%s/r%d\n", pe->group, i);
		command(pe, line);
	}
	pe->next = 0;
}

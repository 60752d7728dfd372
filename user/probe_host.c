/* The probe host process: see probe_host.h. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe_host.h"

#define TRACEFS "/sys/kernel/tracing"

/* The host's side: 0 with tracefs ready (1 if it mounted it), or -errno. */
static int host_setup(void)
{
	if (access(TRACEFS "/uprobe_events", F_OK) == 0)
		return 0;
	if (unshare(CLONE_NEWNS))
		return -errno;
	/* Our mounts must not reach the system's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -errno;
	if (mount("tracefs", TRACEFS, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return -errno;
	return access(TRACEFS "/uprobe_events", F_OK) ? -ENOENT : 1;
}

static void host_main(int ready_fd, int ctl_fd, pid_t parent)
{
	int r;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);	/* the recorder is already gone */
	prctl(PR_SET_NAME, "bpftape-host");
	r = host_setup();
	if (write(ready_fd, &r, sizeof(r)) != sizeof(r))
		_exit(1);
	close(ready_fd);
	/* Until the recorder closes its end (or dies): no allocation, no fork. */
	while (read(ctl_fd, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

int probe_host__start(struct probe_host *h, char *msg, size_t msglen)
{
	int ready[2], ctl[2], r = 0;
	pid_t parent = getpid();
	ssize_t n;

	memset(h, 0, sizeof(*h));
	h->ctl_fd = -1;
	if (pipe2(ready, O_CLOEXEC) || pipe2(ctl, O_CLOEXEC)) {
		snprintf(msg, msglen, "cannot create a pipe: %s", strerror(errno));
		return -errno;
	}
	h->pid = fork();
	if (h->pid < 0) {
		r = -errno;
		snprintf(msg, msglen, "cannot fork: %s", strerror(errno));
		return r;
	}
	if (h->pid == 0) {
		close(ready[0]);
		close(ctl[1]);
		host_main(ready[1], ctl[0], parent);
	}
	close(ready[1]);
	close(ctl[0]);
	h->ctl_fd = ctl[1];
	do
		n = read(ready[0], &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	close(ready[0]);
	if (n != sizeof(r))
		r = -ECHILD;
	if (r < 0) {
		snprintf(msg, msglen,
			 "cannot use tracefs (%s, not mounted, and mounting it failed: %s); "
			 "mount it with: mount -t tracefs nodev %s",
			 TRACEFS, strerror(-r), TRACEFS);
		probe_host__stop(h);
		return r;
	}
	h->mounted = r == 1;
	snprintf(h->tracefs, sizeof(h->tracefs), "/proc/%d/root" TRACEFS, h->pid);
	return 0;
}

void probe_host__stop(struct probe_host *h)
{
	if (h->ctl_fd >= 0)
		close(h->ctl_fd);
	h->ctl_fd = -1;
	if (h->pid > 0) {
		kill(h->pid, SIGKILL);
		waitpid(h->pid, NULL, 0);
	}
	h->pid = 0;
}

/* A command held until its probes are on: see held_child.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "held_child.h"

int spawn_held(const char *exe, char *const argv[], bool stdout_to_stderr, struct spawned *s,
	       char *msg, size_t msglen)
{
	int go[2], errp[2];
	sigset_t all;

	memset(s, 0, sizeof(*s));
	s->name = argv[0];
	if (pipe2(go, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		snprintf(msg, msglen, "cannot create a pipe: %s", strerror(errno));
		return -errno;
	}
	s->pid = fork();
	if (s->pid < 0) {
		snprintf(msg, msglen, "cannot fork: %s", strerror(errno));
		return -errno;
	}
	if (s->pid == 0) {
		char c;
		int e;

		close(go[1]);
		close(errp[0]);
		/*
		 * What the recorder changed must not reach the command. Done
		 * before the wait: once released, the child's only call is execve.
		 */
		signal(SIGPIPE, SIG_DFL);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (stdout_to_stderr)
			dup2(2, 1);
		/* Wait for the go; EOF means the recorder gave up. */
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execv(exe, argv);
		e = errno;
		if (write(errp[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(errp[1]);
	s->go_fd = go[1];
	s->err_fd = errp[0];
	return 0;
}

int spawn_release(struct spawned *s, char *msg, size_t msglen)
{
	ssize_t n;
	int e = 0;

	if (write(s->go_fd, "g", 1) != 1) {
		snprintf(msg, msglen, "cannot start %s: %s", s->name, strerror(errno));
		return -errno;
	}
	close(s->go_fd);
	s->go_fd = -1;
	do
		n = read(s->err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(s->err_fd);
	s->err_fd = -1;
	if (n == sizeof(e)) {
		snprintf(msg, msglen, "cannot run %s: %s", s->name, strerror(e));
		waitpid(s->pid, NULL, 0);
		return -e;
	}
	return 0;
}

void spawn_abort(struct spawned *s)
{
	if (s->pid <= 0)
		return;
	if (s->go_fd >= 0)
		close(s->go_fd);	/* the child reads EOF and exits */
	if (s->err_fd >= 0)
		close(s->err_fd);
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

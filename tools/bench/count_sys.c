/*
 * Runs a command under tools/bench/count_sys.bpf.c (count only) and prints
 * only what the command printed: the syscall benchmark's
 * baseline for the cost of the tracepoints themselves.
 *
 * Usage: count_sys COMMAND [ARGS...]
 */
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/count_sys.skel.h"

int main(int argc, char **argv)
{
	struct count_sys_bpf *skel;
	int go[2], status;
	char c;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: count_sys COMMAND [ARGS...]\n");
		return 2;
	}
	if (pipe(go))
		return 1;
	/* The child waits for the programs before it runs the command. */
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	close(go[0]);
	skel = count_sys_bpf__open();
	if (!skel)
		return 1;
	skel->rodata->target_tgid = pid;
	if (count_sys_bpf__load(skel) || count_sys_bpf__attach(skel)) {
		fprintf(stderr, "count_sys: cannot load or attach the counting programs\n");
		kill(pid, SIGKILL);
		return 1;
	}
	if (write(go[1], "g", 1) != 1)
		return 1;
	waitpid(pid, &status, 0);
	count_sys_bpf__destroy(skel);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/*
 * Process and thread lifecycle: the records proc.bpf.c puts in the ring
 * buffer. Shared with user/. Include bpf/record.h first.
 */
#ifndef BPFTAPE_BPF_PROC_H
#define BPFTAPE_BPF_PROC_H

#define PROC_NAME_MAX 256

#define FORK_F_THREAD 1		/* a new thread, not a new process */
#define EXIT_F_PROCESS 1	/* the last thread: the process is gone */

/* hdr pid/tid: the parent, which was running when the child was made. */
struct fork_rec {
	struct rec_hdr hdr;	/* kind EV_FORK */
	__u32 child_pid;
	__u32 child_tid;
	__u32 flags;		/* FORK_F_* */
	__u32 pad;
};

/* hdr pid/tid: the thread after exec, which has become the leader. */
struct exec_rec {
	struct rec_hdr hdr;	/* kind EV_EXEC */
	__u32 old_tid;
	__u32 name_len;
	char filename[PROC_NAME_MAX];	/* only name_len bytes are sent */
};

#define EXEC_REC_FIXED 32	/* offsetof(struct exec_rec, filename) */

/*
 * The exec lane: the pid of each traced exec, in a small ring buffer of its
 * own, so that user space reads the new image at once, not behind whatever
 * the main buffer holds (a process can be gone in milliseconds).
 */
struct exec_note {
	__u32 pid;
	__u32 pad;
};

#define EXEC_LANE_BYTES (64 << 10)

struct exit_rec {
	struct rec_hdr hdr;	/* kind EV_EXIT */
	__s32 code;		/* task->exit_code: as wait(2) reports it */
	__u32 flags;		/* EXIT_F_* */
};

struct comm_rec {
	struct rec_hdr hdr;	/* kind EV_COMM */
	char comm[COMM_SIZE];
};

#endif

/*
 * Syscalls: the record sys.bpf.c puts in the ring buffer, one per call with
 * entry and exit merged. Shared with user/. Include bpf/record.h first.
 */
#ifndef BPFTAPE_BPF_SYS_H
#define BPFTAPE_BPF_SYS_H

#define SYS_PATH_MAX 256	/* path bytes kept; longer paths are cut and marked */

/* Path states; the same values as the tape's (user/record_abi.c checks). */
#define SYS_PATH_NONE 0
#define SYS_PATH_OK 1
#define SYS_PATH_TRUNCATED 2
#define SYS_PATH_UNREADABLE 3

#define SYS_F_NO_RETURN 1	/* hdr.flags: exit, exit_group, or died in the call */

struct sys_rec {
	struct rec_hdr hdr;	/* kind EV_SYSCALL; ts: entry time */
	__u32 nr;
	__u16 path_state;
	__u16 path_len;
	__s64 ret;
	__u64 args[6];
	__u64 duration;		/* ns from entry to exit */
	__u64 stack;		/* the caller's stack (alloc.h's hash), 0 when not taken */
	/* Only path_len bytes of path are sent; +2 to see that a path was longer. */
	char path[SYS_PATH_MAX + 2];
};

#define SYS_REC_FIXED 104	/* offsetof(struct sys_rec, path) */

#endif

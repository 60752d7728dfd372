/*
 * The BPF programs' records as user space sees them: the shared headers of
 * bpf/, with the checks that their layout and numbering agree with user
 * space and with the tape format (compile-time only).
 */
#ifndef BPFTAPE_RECORD_ABI_H
#define BPFTAPE_RECORD_ABI_H

#include <linux/types.h>
#include <stddef.h>

#include "bpf/record.h"
#include "bpf/unwind.h"
#include "bpf/alloc.h"
#include "bpf/proc.h"
#include "bpf/sys.h"
#include "tape.h"

#define SAME(a, b) _Static_assert((int)(a) == (int)(b), #a " must equal " #b)

/* Kinds pass to the tape untranslated. */
SAME(EV_MALLOC, TAPE_EV_MALLOC);
SAME(EV_CALLOC, TAPE_EV_CALLOC);
SAME(EV_REALLOC, TAPE_EV_REALLOC);
SAME(EV_REALLOCARRAY, TAPE_EV_REALLOCARRAY);
SAME(EV_POSIX_MEMALIGN, TAPE_EV_POSIX_MEMALIGN);
SAME(EV_ALIGNED_ALLOC, TAPE_EV_ALIGNED_ALLOC);
SAME(EV_MEMALIGN, TAPE_EV_MEMALIGN);
SAME(EV_VALLOC, TAPE_EV_VALLOC);
SAME(EV_PVALLOC, TAPE_EV_PVALLOC);
SAME(EV_FREE, TAPE_EV_FREE);
SAME(EV_NEW, TAPE_EV_NEW);
SAME(EV_DELETE, TAPE_EV_DELETE);
SAME(ALLOC_V_ARRAY, TAPE_VARIANT_ARRAY);
SAME(ALLOC_V_NOTHROW, TAPE_VARIANT_NOTHROW);
SAME(ALLOC_V_ALIGNED, TAPE_VARIANT_ALIGNED);
SAME(ALLOC_V_SIZED, TAPE_VARIANT_SIZED);
SAME(EV_SYSCALL, TAPE_EV_SYSCALL);
SAME(EV_FORK, TAPE_EV_FORK);
SAME(EV_EXEC, TAPE_EV_EXEC);
SAME(EV_EXIT, TAPE_EV_EXIT);
SAME(EV_COMM, TAPE_EV_COMM);
SAME(EV_VMA, TAPE_EV_MAP);
_Static_assert(TAPE_EV_MAX_KNOWN <= EV_KINDS, "loss indexes hold every kind");
SAME(SYS_PATH_NONE, TAPE_PATH_NONE);
SAME(SYS_PATH_OK, TAPE_PATH_OK);
SAME(SYS_PATH_TRUNCATED, TAPE_PATH_TRUNCATED);
SAME(SYS_PATH_UNREADABLE, TAPE_PATH_UNREADABLE);

/* Layouts the BPF side relies on. */
_Static_assert(sizeof(struct rec_hdr) == 24, "rec_hdr layout");
_Static_assert(offsetof(struct rec_hdr, ts) == 16, "rec_hdr.ts offset");
_Static_assert(sizeof(struct alloc_rec) == 80, "alloc_rec layout");
_Static_assert(sizeof(struct free_rec) == 64, "free_rec layout");
_Static_assert(offsetof(struct stack_rec, frames) == STACK_REC_FIXED, "STACK_REC_FIXED");
_Static_assert(sizeof(struct probe_info) == 16, "probe_info layout");
_Static_assert(sizeof(struct probe_key) == 16, "probe_key layout");
_Static_assert(offsetof(struct sys_rec, path) == SYS_REC_FIXED, "SYS_REC_FIXED");
_Static_assert(offsetof(struct exec_rec, filename) == EXEC_REC_FIXED, "EXEC_REC_FIXED");
_Static_assert(sizeof(struct fork_rec) == 40, "fork_rec layout");
_Static_assert(sizeof(struct exit_rec) == 32, "exit_rec layout");
_Static_assert(sizeof(struct comm_rec) == 40, "comm_rec layout");
_Static_assert(offsetof(struct record_config, cgroup_id) % 8 == 0, "record_config alignment");
_Static_assert(offsetof(struct record_config, syscall_bits) % 8 == 0, "record_config alignment");
_Static_assert(STACK_F_CUT == TAPE_STACK_CUT && STACK_F_PARTIAL == TAPE_STACK_PARTIAL,
	       "stack flags are the tape's");

#undef SAME

#endif

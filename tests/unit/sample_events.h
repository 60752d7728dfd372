/*
 * One event of every kind, with the edge cases that matter (failures, NULL
 * pointers, time going backwards between threads, strings). The golden files
 * tests/golden/records.hex and tests/golden/mwrap.hex hold their encodings.
 */
#ifndef BPFTAPE_SAMPLE_EVENTS_H
#define BPFTAPE_SAMPLE_EVENTS_H

#include "tape.h"

#define A(t, p, tt, time, ...) { .type = t, .pid = p, .tid = tt, .ts = time, .alloc = { __VA_ARGS__ } }

static const unsigned char sample_build_id[4] = { 0xde, 0xad, 0xbe, 0xef };

static const struct tape_event sample_events[] = {
	A(TAPE_EV_MALLOC, 100, 101, 1000, .size = 24, .result = 0x1000, .caller = 0x400000),
	A(TAPE_EV_MALLOC, 100, 101, 1100, .size = 1ull << 62, .result = 0, .caller = 0x400010),
	A(TAPE_EV_CALLOC, 100, 102, 1050, .nmemb = 3, .size = 8, .result = 0x1040, .caller = 0x400010),
	A(TAPE_EV_REALLOC, 100, 102, 1200, .ptr = 0x1040, .size = 100, .result = 0x2000, .caller = 0x400020),
	A(TAPE_EV_REALLOC, 100, 102, 1300, .ptr = 0, .size = 5, .result = 0x1040, .caller = 0x400020),
	A(TAPE_EV_REALLOC, 100, 102, 1400, .ptr = 0x1040, .size = 0, .result = 0, .caller = 0x400020),
	A(TAPE_EV_REALLOCARRAY, 100, 101, 1500, .ptr = 0x2000, .nmemb = 10, .size = 16, .result = 0x2000, .caller = 0x400030),
	A(TAPE_EV_POSIX_MEMALIGN, 100, 101, 1600, .align = 64, .size = 200, .result = 0x3000, .caller = 0x400040),
	A(TAPE_EV_POSIX_MEMALIGN, 100, 101, 1700, .align = 3, .size = 200, .result = 0, .err = 22, .caller = 0x400040),
	A(TAPE_EV_ALIGNED_ALLOC, 100, 101, 1800, .align = 4096, .size = 4096, .result = 0x4000, .caller = 0x400050),
	A(TAPE_EV_MEMALIGN, 100, 101, 1900, .align = 32, .size = 33, .result = 0x5020, .caller = 0x400050),
	A(TAPE_EV_VALLOC, 100, 101, 2000, .size = 10, .result = 0x6000, .caller = 0x400060),
	A(TAPE_EV_PVALLOC, 100, 101, 2100, .size = 5000, .result = 0x8000, .caller = 0x400060),
	A(TAPE_EV_FREE, 100, 101, 2200, .ptr = 0x1000, .caller = 0x400070),
	A(TAPE_EV_FREE, 100, 101, 2300, .ptr = 0, .caller = 0),
	{ .type = TAPE_EV_SYSCALL, .pid = 100, .tid = 101, .ts = 2400,
	  .sys = { .nr = 257, .nargs = 4, .path_state = TAPE_PATH_OK, .ret = 3,
		   .args = { (uint64_t)-100, 0x7ffc0000, 0, 0 }, .duration = 1500,
		   .path_len = 11, .path = "/etc/passwd" } },
	{ .type = TAPE_EV_SYSCALL, .pid = 100, .tid = 101, .ts = 2500,
	  .sys = { .nr = 2, .nargs = 3, .path_state = TAPE_PATH_UNREADABLE, .ret = -14,
		   .args = { 0x10, 0, 0 }, .duration = 300 } },
	{ .type = TAPE_EV_SYSCALL, .pid = 100, .tid = 101, .ts = 2600,
	  .sys = { .nr = 21, .nargs = 2, .path_state = TAPE_PATH_TRUNCATED, .ret = -2,
		   .args = { 0x7ffc0100, 0 }, .duration = 800, .path_len = 4, .path = "/aaa" } },
	{ .type = TAPE_EV_SYSCALL, .pid = 100, .tid = 102, .ts = 2700,
	  .sys = { .nr = 231, .nargs = 1, .flags = TAPE_SYS_NO_RETURN, .args = { 7 } } },
	{ .type = TAPE_EV_FORK, .pid = 100, .tid = 101, .ts = 2800,
	  .fork = { .child_pid = 200, .child_tid = 200 } },
	{ .type = TAPE_EV_FORK, .pid = 100, .tid = 101, .ts = 2900,
	  .fork = { .child_pid = 100, .child_tid = 103, .flags = TAPE_FORK_THREAD } },
	{ .type = TAPE_EV_EXEC, .pid = 200, .tid = 200, .ts = 3000,
	  .exec = { .old_tid = 200, .name_len = 7, .filename = "/bin/ls" } },
	{ .type = TAPE_EV_COMM, .pid = 200, .tid = 200, .ts = 3000,
	  .comm = { .len = 2, .name = "ls" } },
	{ .type = TAPE_EV_MAP, .pid = 200, .tid = 0, .ts = 3100,
	  .map = { .start = 0x7f0000000000, .end = 0x7f0000021000, .offset = 0x1000,
		   .build_id_len = 4, .build_id = sample_build_id, .path_len = 12,
		   .path = "/lib/libc.so" } },
	{ .type = TAPE_EV_EXIT, .pid = 200, .tid = 200, .ts = 3200,
	  .exit = { .code = 256, .flags = TAPE_EXIT_PROCESS } },
	{ .type = TAPE_EV_LOSS, .pid = 100, .tid = 0, .ts = 3300,
	  .loss = { .lost_type = TAPE_EV_MALLOC, .reason = TAPE_LOSS_RINGBUF, .cpu = 1,
		    .count = 5, .first_ts = 3250 } },
	{ .type = TAPE_EV_LOSS, .pid = 200, .tid = 0, .ts = 3400,
	  .loss = { .lost_type = 0, .reason = TAPE_LOSS_FOLLOW_GAP, .cpu = TAPE_LOSS_NO_CPU,
		    .count = 0, .first_ts = 2800 } },
	{ .type = TAPE_EV_ATTACH, .pid = 100, .tid = 0, .ts = 900,
	  .marker = { .what = TAPE_MARK_ALLOC | TAPE_MARK_SYSCALLS } },
	{ .type = TAPE_EV_DETACH, .pid = 100, .tid = 0, .ts = 3500,
	  .marker = { .what = TAPE_MARK_ALLOC } },
};

#undef A

#define NSAMPLE_EVENTS (sizeof(sample_events) / sizeof(sample_events[0]))

#endif

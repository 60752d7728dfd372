#!/usr/bin/env bash
# The recorder's syscall and lifecycle tracing against ground truth: the
# workload logs every syscall of its marked sections, on several threads and
# processes; the tape must hold exactly those. Real BPF, real tracepoints.
. "$(dirname "$0")/../lib.sh"

SYS_WORKLOAD=$B/tests/workloads/sys_workload
CHECK_SYS=$B/tests/tools/check_sys

TESTS=(syscalls_ground_truth checker_catches_differences syscalls_only class_filter
	sharded_ring_buffers second_paths_and_made_fds bad_syscall_set)
require_bpf "${TESTS[@]}"

# record_sys NAME [RECORD OPTIONS...]: records the workload into $T/NAME.tape.
record_sys() {
	local name=$1
	shift
	"$BPFTAPE" record -q "$@" -o "$T/$name.tape" -- \
		"$SYS_WORKLOAD" --threads 3 --log "$T/$name.log" || fail "record failed"
}

syscalls_ground_truth() {
	record_sys gt
	"$CHECK_SYS" "$T/gt.tape" "$T/gt.log" "$T/gt.log.helper"
}

# The check is only worth something if a wrong log fails it.
checker_catches_differences() {
	record_sys cc
	"$CHECK_SYS" "$T/cc.tape" "$T/cc.log" "$T/cc.log.helper" >/dev/null || fail "the true log failed"
	sed 's|/nonexistent/child|/nonexistent/other|' "$T/cc.log" >"$T/cc.path"
	sed '0,/^S \([0-9]*\) 110 /s//S \1 39 /' "$T/cc.log" >"$T/cc.nr"
	sed '0,/ -2 4 -100/s// -13 4 -100/' "$T/cc.log" >"$T/cc.ret"
	sed '/^X .* 1792 1$/s/1792/1793/' "$T/cc.log" >"$T/cc.exit"
	local bad
	for bad in path nr ret exit; do
		cmp -s "$T/cc.log" "$T/cc.$bad" && fail "the $bad edit changed nothing"
		if "$CHECK_SYS" "$T/cc.tape" "$T/cc.$bad" "$T/cc.log.helper" >/dev/null; then
			fail "a log with a wrong $bad passed"
		fi
	done
	return 0
}

syscalls_only() {
	record_sys so --no-alloc
	"$CHECK_SYS" "$T/so.tape" "$T/so.log" "$T/so.log.helper" || return 1
	[ "$(count_events "$T/so.tape" alloc)" = 0 ] || fail "allocations recorded with --no-alloc"
}

class_filter() {
	record_sys cf --syscalls file,getppid
	"$BPFTAPE" dump --no-header --no-symbols --event syscall "$T/cf.tape" >"$T/cf.dump"
	grep -q ' openat(-100, "/nonexistent/child"' "$T/cf.dump" || fail "no openat in the file class"
	grep -q ' faccessat(' "$T/cf.dump" || fail "no faccessat in the file class"
	grep -q ' getppid() = ' "$T/cf.dump" || fail "getppid, named, is missing"
	if grep -Eq ' (wait4|clone|gettid|exit_group)\(' "$T/cf.dump"; then
		fail "a syscall outside the set was recorded"
	fi
	# Lifecycle events come whatever the syscall set.
	[ "$(count_events "$T/cf.tape" fork)" -ge 2 ] || fail "forks missing"
}

sharded_ring_buffers() {
	record_sys sh --ringbuf-shards 2
	"$CHECK_SYS" "$T/sh.tape" "$T/sh.log" "$T/sh.log.helper"
}

# rename's, link's and symlink's new names, and the descriptors pipe and
# socketpair write to memory, against what the program itself says.
second_paths_and_made_fds() {
	local bpftape
	bpftape=$(realpath "$BPFTAPE")
	mkdir -p "$T/p2"
	(cd "$T/p2" && "$bpftape" record -q --no-alloc -o "$T/p2.tape" -- python3 -c '
import os, socket
open("old", "w").close()
os.rename("old", "new name")
os.link("new name", "hard")
os.symlink("new name", "soft")
r, w = os.pipe()
a, b = socket.socketpair()
print(r, w, a.fileno(), b.fileno())' >"$T/p2.out") || fail "record failed"
	read -r r w a b <"$T/p2.out"
	"$BPFTAPE" dump --no-header --json --event syscall "$T/p2.tape" >"$T/p2.json"
	grep '"path":"old"' "$T/p2.json" | grep -q '"path2":"new name"' || fail "rename: no new name"
	grep '"path":"new name"' "$T/p2.json" | grep -q '"path2":"hard"' || fail "link: no new name"
	grep '"path":"new name"' "$T/p2.json" | grep -q '"path2":"soft"' || fail "symlink: no link name"
	grep -q "\"fds\":\[$r,$w\]" "$T/p2.json" || fail "pipe: fds not [$r,$w]: $(grep pipe "$T/p2.json")"
	grep -q "\"fds\":\[$a,$b\]" "$T/p2.json" || fail "socketpair: fds not [$a,$b]"
}

bad_syscall_set() {
	local st
	"$BPFTAPE" record --syscalls openat,bogus -- true 2>"$T/bad.err"
	st=$?
	cat "$T/bad.err"
	[ $st = 2 ] || fail "exit status $st for a bad --syscalls, not 2 (usage)"
	grep -q "'bogus' is neither a syscall nor a class" "$T/bad.err" || fail "the error does not name it"
	[ "$(grep -vc "^Try" "$T/bad.err")" = 1 ] || fail "more than one line of error"
}

for name in "${TESTS[@]}"; do
	t "$name" "$name"
done

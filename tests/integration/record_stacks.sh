#!/usr/bin/env bash
# Call stacks against the call chains the workload writes itself (its
# functions' own return addresses), built with and without frame pointers:
# the BPF walker must follow .eh_frame where there are none. Real BPF.
. "$(dirname "$0")/../lib.sh"

TESTS=(stacks_with_frame_pointers stacks_without_frame_pointers syscall_stacks stack_depth_bounds
	no_stacks)
require_bpf "${TESTS[@]}"

CHECK_STACKS=$B/tests/tools/check_stacks

chains() {
	"$BPFTAPE" record -q -o "$T/$1.tape" "${@:3}" -- "$B/tests/workloads/stack_chain_$2" "$T/$1.log" ||
		fail "record failed"
}

stacks_with_frame_pointers() {
	chains fp fp && "$CHECK_STACKS" "$T/fp.tape" "$T/fp.log"
}

stacks_without_frame_pointers() {
	chains nofp nofp && "$CHECK_STACKS" "$T/nofp.tape" "$T/nofp.log"
}

# --syscall-stacks: the stack of the code that made the syscall, from the
# registers the syscall saved, through libc (no frame pointers) and the chain.
syscall_stacks() {
	chains sys nofp --syscall-stacks lseek && "$CHECK_STACKS" "$T/sys.tape" "$T/sys.log" --syscalls ||
		return 1
	chains sysfp fp --syscall-stacks lseek && "$CHECK_STACKS" "$T/sysfp.tape" "$T/sysfp.log" --syscalls ||
		return 1
	# Syscalls only: the unwind tables and the maps come all the same.
	chains sysonly nofp --no-alloc --syscall-stacks lseek &&
		"$CHECK_STACKS" "$T/sysonly.tape" "$T/sysonly.log" --syscalls-only || return 1
	# Only the syscalls asked for: no stacks on the others.
	"$BPFTAPE" dump --no-header --event syscall "$T/sys.tape" | grep -v "lseek(" | grep -q "stack #" &&
		fail "stacks on syscalls not asked for"
	"$BPFTAPE" record --no-stacks --syscall-stacks lseek -o "$T/bad.tape" -- true 2>"$T/bad.err" &&
		fail "--no-stacks with --syscall-stacks was accepted"
	grep -q "cannot go with --no-stacks" "$T/bad.err" || fail "unclear error: $(cat "$T/bad.err")"
}

# --stack-depth N: no stack longer than N frames.
stack_depth_bounds() {
	chains depth nofp --stack-depth 3 || return 1
	local longest
	longest=$("$BPFTAPE" dump --no-header --event stack "$T/depth.tape" |
		awk '{ n = 0; for (i = 1; i <= NF; i++) n += $i ~ /^0x/; if (n > m) m = n } END { print m + 0 }')
	[ "$longest" -ge 1 ] && [ "$longest" -le 3 ] || fail "longest stack has $longest frames, expected 1 to 3"
	# The chains are deeper than 3: their stacks say they were cut.
	"$BPFTAPE" dump --no-header --json --event stack "$T/depth.tape" | grep -q '"cut":true' ||
		fail "no stack says it was cut at the depth"
	# And whole ones do not: the deepest chain has 8 frames and main's callers.
	chains whole nofp --stack-depth 64 || return 1
	! "$BPFTAPE" dump --no-header --json --event stack "$T/whole.tape" | grep -q '"cut":true' ||
		fail "a stack walked to its end says it was cut"
}

no_stacks() {
	chains none nofp --no-stacks || return 1
	[ "$(count_events "$T/none.tape" stack)" = 0 ] || fail "stack records with --no-stacks"
	[ "$(count_events "$T/none.tape" malloc)" -gt 0 ] || fail "no allocations recorded"
}

for name in "${TESTS[@]}"; do
	t "$name" "$name"
done

#!/usr/bin/env bash
# Recorded stacks, symbolised: the stack_sites workloads (C and C++, with and
# without frame pointers) run under the recorder; every block they leave is
# one of their chains, and leaks must show each chain as the program wrote
# it down (stack_truth.h): the function that called the allocator (or
# fopen, or std::vector's push_back) with the line of that call, then each
# caller with the line it called from, inlined calls expanded. Real BPF.
. "$(dirname "$0")/../lib.sh"

TESTS=(c_with_frame_pointers c_without_frame_pointers cxx_with_frame_pointers
	cxx_without_frame_pointers)
require_bpf "${TESTS[@]}"
SITES=$B/tests/workloads/stack_sites
. tests/stacks_lib.sh

recorded() {
	local d=$T/$2 name size want got
	mkdir -p "$d"
	"$BPFTAPE" record -q -o "$d/tape" -- "$1" "$d/log" || fail "record failed"
	"$BPFTAPE" leaks --json --top 1000 --stack-depth 64 "$d/tape" >"$d/leaks.json" || fail "leaks failed"
	"$BPFTAPE" leaks "$d/tape" >"$d/leaks.txt" || fail "leaks (text) failed"
	cat "$d/leaks.txt"
	while read -r _ name size _; do
		want=$(truth "$d/log" "$name" all)
		if [ "$size" = 0 ]; then
			# fopen's FILE: the site whose first frame outside libc is the chain's.
			got=$(jq -c --arg f "$(head -1 <<<"$want" | cut -d'|' -f1)" \
				'[.sites[] | select(.frames[0].function // "" | startswith($f))][0].frames[]' \
				"$d/leaks.json" | json_frames | head -n "$(wc -l <<<"$want")")
		else
			got=$(jq -c --argjson s "$size" '.sites[] | select(.bytes == $s) | .frames[]' \
				"$d/leaks.json" | json_frames | head -n "$(wc -l <<<"$want")")
		fi
		[ "$got" = "$want" ] || fail "chain $name: leaks shows
$got
and the program says
$want"
	done < <(grep '^chain ' "$d/log")
	# The text names the function that called fopen, at its line.
	if grep -q '^chain fopen' "$d/log"; then
		want=$(truth "$d/log" fopen all | head -1 | awk -F'|' '{print $1 " (" $2 ":" $3 ")"}')
		grep -q "^ .*  $want$" "$d/leaks.txt" || fail "the fopen leak is not at $want"
	fi
}

c_with_frame_pointers() { recorded "${SITES}_fp" c_fp; }
c_without_frame_pointers() { recorded "${SITES}_nofp" c_nofp; }
cxx_with_frame_pointers() { recorded "${SITES}_cxx_fp" cxx_fp; }
cxx_without_frame_pointers() { recorded "${SITES}_cxx_nofp" cxx_nofp; }

for name in "${TESTS[@]}"; do
	t "$name" "$name"
done

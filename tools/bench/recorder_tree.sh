#!/usr/bin/env bash
# make bench, recorder part 2: process trees and the rest of the host (issue 11).
# Run by tools/bench/run.sh with B, T, REPS and its helpers (say, section, calc,
# best_of, summary_field) in the environment; needs root and BTF.
#   - coverage: calls in the tape / calls each process counted itself (a
#     preloaded counter), for a shell loop and make -j2 of a small project
#   - what following costs a fork: fork+exit+wait unrecorded against recorded
#   - the recorder's CPU while a tree forks as fast as it can
#   - a neighbour's malloc loop beside -a --comm that does not match it
set -u

COUNTER=$(realpath "$B/tests/workloads/liballoc_counter.so")
TREE=$B/tests/workloads/tree_workload

# coverage NAME COMMAND...: "made tape percent" from check_tree's summary line.
coverage() {
	local name=$1 line
	shift
	rm -rf "$T/$name.counts" && mkdir -p "$T/$name.counts"
	ALLOC_COUNT_SKIP=bpftape ALLOC_COUNT_DIR="$T/$name.counts" LD_PRELOAD=$COUNTER \
		"$B/bpftape" record -q -o "$T/$name.tape" --force -- "$@" >/dev/null 2>&1 || return 1
	line=$("$B/tests/tools/check_tree" "$T/$name.tape" "$T/$name.counts" | tail -1)
	say "$name: $line"
	gaps=$("$B/bpftape" dump --no-header --event loss "$T/$name.tape" | wc -l)
	say "  loss records: $gaps"
}

section "Recorder: process trees (ground truth: a counter inside every process)"
coverage "shell loop" sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do
	ls -l /usr/lib >/dev/null; sort /etc/services | uniq -c | wc -l >/dev/null; done'
mkdir -p "$T/mini"
coverage "make -j2" make -s -j2 -C tests/workloads/mini_project OUT="$T/mini"
coverage "prefork (8 workers)" "$TREE" prefork 8 2000

section "Recorder: following forks (tree_workload storm: fork, allocate 16 calls, exit, wait)"
FORKS=${FORKS:-1000}
# wall_best CMD...: the best wall-clock seconds of REPS runs, as the user waits.
wall_best() {
	local best="" s i start
	for ((i = 0; i < REPS; i++)); do
		start=$EPOCHREALTIME
		"$@" >/dev/null 2>&1 || return 1
		s=$(calc "$EPOCHREALTIME - $start" %.4f)
		if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$s; fi
	done
	echo "$best"
}
bare=$(wall_best "$TREE" storm "$FORKS")
rec=$(wall_best "$B/bpftape" record -q -o "$T/storm.tape" --force -- "$TREE" storm "$FORKS")
fixed=$(wall_best "$B/bpftape" record -q -o "$T/true.tape" --force -- /bin/true)
"$B/bpftape" record -o "$T/storm.tape" --force -- "$TREE" storm "$FORKS" >/dev/null 2>"$T/storm.err"
cpu=$(summary_field "$T/storm.err" 'CPU \([0-9.]*\) s while')
events=$(summary_field "$T/storm.err" ': \([0-9]*\) events')
say "$FORKS children: $bare s unrecorded, $rec s recorded; the recorder's own start and stop: $fixed s"
say "  per fork (16 probed calls in each child included): +$(calc "($rec - $fixed - $bare) / $FORKS * 1e6" %.0f) us"
say "  children probed before their first instruction: loss records $("$B/bpftape" dump --no-header --event loss "$T/storm.tape" | wc -l)"
say "  forks/s recorded $(calc "$FORKS / $rec" %.0f); recorder CPU $cpu s for $events events ($(calc "$cpu / $FORKS * 1e6" %.0f) us per fork)"

section "Recorder: a neighbour beside -a --comm (the filter matches nothing)"
alone=$(best_of "$B/bench/malloc_loop" 1 $((MALLOC_ITERS * 20)))
"$B/bpftape" record -a --comm no-such-name -o "$T/nb-a.tape" --force 2>"$T/nb-a.err" &
rec=$!
for ((i = 0; i < 500; i++)); do grep -q recording "$T/nb-a.err" && break; sleep 0.01; done
beside=$(best_of "$B/bench/malloc_loop" 1 $((MALLOC_ITERS * 20)))
kill -INT $rec
wait $rec
say "neighbour's loop: $alone s alone, $beside s beside bpftape record -a --comm no-such-name"
say "  slowdown $(calc "$beside / $alone")  (target 1.00 within noise; before: 16.7-20x)"

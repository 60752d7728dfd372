#!/usr/bin/env bash
# Whole process trees against ground truth counted inside every process: a
# preloaded counter (tests/workloads/lib/alloc_counter.c) writes each
# process's calls; the tape must hold exactly those, per process and per
# function, or a loss record for the process. Real BPF, real uprobes.
. "$(dirname "$0")/../lib.sh"

TESTS=(shell_loop make_project prefork_workers double_fork_daemon fork_storm thousand_threads
	tail_call_wrapper exec_into_preloaded_allocator short_lived_preloaded_children
	exec_into_static_allocator
	filtered_neighbour_untouched)
require_bpf "${TESTS[@]}"

TREE=$B/tests/workloads/tree_workload
COUNTER=$(realpath "$B/tests/workloads/liballoc_counter.so")
CHECK_TREE=$B/tests/tools/check_tree

# record_counted NAME MIN_PROCESSES COMMAND...: records the command with the
# counter in every process, then compares.
record_counted() {
	local name=$1 min=$2
	shift 2
	mkdir -p "$T/$name.counts"
	ALLOC_COUNT_SKIP=bpftape ALLOC_COUNT_DIR="$T/$name.counts" LD_PRELOAD=$COUNTER \
		"$BPFTAPE" record -q -o "$T/$name.tape" -- "$@" >"$T/$name.out" 2>&1 ||
		fail "record failed: $(tail -3 "$T/$name.out")"
	"$CHECK_TREE" "$T/$name.tape" "$T/$name.counts" --min-processes "$min"
}

# No gap for any child: they inherit their probes before they first run. (A
# child gone before its new image could be read is written down as such, as
# unknown, not missed; the counts of the test say whether anything was.)
no_gaps() {
	local n
	n=$("$BPFTAPE" dump --no-header --event loss "$1" | grep -vc "before the recorder could read its new image")
	[ "$n" = 0 ] || fail "$n loss records: $("$BPFTAPE" dump --no-header --event loss "$1" | head -3)"
}

shell_loop() {
	record_counted sh 41 sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do
		ls -l /usr/lib >/dev/null; sort /etc/services | uniq -c | wc -l >/dev/null; done' || return 1
	no_gaps "$T/sh.tape"
}

# make, the compiler driver, cc1 (C++: operator new in the executable), as, ld.
make_project() {
	command -v cc >/dev/null || fail "no C compiler"
	mkdir -p "$T/mini"
	record_counted make 15 make -s -j2 -C tests/workloads/mini_project OUT="$T/mini" || return 1
	[ -x "$T/mini/mini" ] || fail "the project did not build"
}

prefork_workers() {
	record_counted prefork 9 "$TREE" prefork 8 2000 || return 1
	no_gaps "$T/prefork.tape"
}

# The grandchild outlives its parent and the command: recording goes on until it is gone.
double_fork_daemon() {
	record_counted daemon 2 "$TREE" daemon 20000 || return 1
	no_gaps "$T/daemon.tape"
	grep -q "still recording" "$T/daemon.out" ||
		"$BPFTAPE" record -o "$T/daemon2.tape" -- "$TREE" daemon 200 2>&1 | grep -q "still recording" ||
		fail "the recorder did not say it waits for the processes left running"
}

# 300 children living about a millisecond each.
fork_storm() {
	record_counted storm 301 "$TREE" storm 300 || return 1
	no_gaps "$T/storm.tape"
}

thousand_threads() {
	record_counted threads 1 "$TREE" threads 1000 100 || return 1
	no_gaps "$T/threads.tape"
}

# A wrapper that jumps to the next malloc/free: one record per call the program made.
tail_call_wrapper() {
	LD_PRELOAD=$(realpath "$B/tests/workloads/libtail_wrapper.so") "$BPFTAPE" record -q \
		-o "$T/tail.tape" -- "$WORKLOAD" --threads 2 --log "$T/tail.log" || fail "record failed"
	"$CHECK_ALLOC" "$T/tail.tape" "$T/tail.log"
}

# A child that sets LD_PRELOAD and execs: the new allocator is found as data and probed.
exec_into_preloaded_allocator() {
	local lib=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
	[ -e "$lib" ] || fail "$lib is not installed (make deps)"
	"$BPFTAPE" record -q -o "$T/tc.tape" -- sh -c "LD_PRELOAD=$lib exec $WORKLOAD --sleep-before 300 --threads 2 --log $T/tc.log" ||
		fail "record failed"
	"$BPFTAPE" dump --no-header --event probe "$T/tc.tape" | grep -q tcmalloc ||
		fail "no probe record for tcmalloc"
	"$CHECK_ALLOC" "$T/tc.tape" "$T/tc.log" --allow-gaps
}

# Children that exec with another allocator preloaded and are gone within
# milliseconds, sooner than a new file can be probed: each child's calls (as
# it logs them itself) are all in the tape, or the tape has a loss record for
# that process; never silently short.
short_lived_preloaded_children() {
	local lib=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 i
	[ -e "$lib" ] || fail "$lib is not installed (make deps)"
	mkdir -p "$T/tcs"
	"$BPFTAPE" record -q -o "$T/tcs.tape" -- sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do
		for j in 1 2 3; do LD_PRELOAD=$lib ls /usr >/dev/null; done
		LD_PRELOAD=$lib $WORKLOAD --threads 1 --log $T/tcs/\$i.log >/dev/null; done" ||
		fail "record failed"
	"$BPFTAPE" dump --no-header --no-symbols "$T/tcs.tape" >"$T/tcs.dump" || fail "dump failed"
	# ls logs nothing, but it allocates through tcmalloc from its first steps:
	# each ls must have tcmalloc probed (itself, or inherited from an ancestor
	# probed before the fork on the way down), or a loss record. The first is
	# the first process to map tcmalloc, gone before its probes can be made.
	awk '/ exec .*\/ls$/ { split($2, id, "/"); ls[id[1]] = 1 }
		/ fork -> pid / { split($2, id, "/"); up[$NF] = id[1]; forked[$NF] = $1 }
		/probes on in .*tcmalloc/ { split($2, id, "/"); if (!(id[1] in probed)) probed[id[1]] = $1 }
		/LOST/ { split($2, id, "/"); lost[id[1]] = 1 }
		END {
			for (p in ls) {
				n++
				ok = (p in probed) || lost[p]
				for (c = p; !ok && (c in up); c = up[c])
					ok = (up[c] in probed) && probed[up[c]] < forked[c]
				if (!ok) { print "ls " p ": tcmalloc never probed, no loss record"; bad++ }
			}
			exit bad > 0 || n != 30
		}' "$T/tcs.dump" || fail "a short-lived child ran an unprobed allocator without a loss record"
	# Once one child has brought tcmalloc in, the shell has its probes too,
	# and the children it forks after that inherit them: no gap for those (a
	# child gone before the recorder could read its image, on a loaded
	# machine, is written as such: its allocator is unknown, not missed).
	awk '/ exec \/usr\/bin\/dash$/ { split($2, id, "/"); if (!sh) sh = id[1] }
		/ fork -> pid / { forked[$NF] = $1 }
		/probes on in .*tcmalloc/ { split($2, id, "/"); if (id[1] == sh && !spread) spread = $1 }
		/LOST.*before its probes were on/ { split($2, id, "/"); lost[id[1]] = 1 }
		END {
			if (!spread) { print "the shell never got tcmalloc probes"; exit 1 }
			for (p in lost)
				if (forked[p] > spread) { print "child " p " forked after the shell had tcmalloc probed, yet has a gap"; bad++ }
			exit bad > 0
		}' "$T/tcs.dump" || fail "later children did not inherit tcmalloc's probes"
	# Per thread and function: calls logged against calls in the tape.
	cat "$T/tcs"/*.log | awk -v dump="$T/tcs.dump" '
		BEGIN {
			while ((getline l < dump) > 0) {
				split(l, f, " "); split(f[2], id, "/")
				if (l ~ /LOST/) { lost[id[1]] = 1; continue }
				fn = f[4]; sub(/\(.*/, "", fn)
				if (fn == "aligned_alloc") fn = "memalign"
				taped[id[2] " " fn]++; pid_of[id[2]] = id[1]
			}
		}
		function hex(s,  v, i) {
			v = 0
			for (i = 3; i <= length(s); i++)
				v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
			return v
		}
		# tcmalloc defines aligned_alloc and memalign at one address: one probe,
		# one name (the arguments are the same), so they are counted as one.
		{ made[hex($1) " " ($2 == "aligned_alloc" ? "memalign" : $2)]++ }
		END {
			for (k in made) {
				split(k, w, " ")
				if (taped[k] + 0 >= made[k]) { exact[w[1]] = 1; continue }
				if (lost[pid_of[w[1]]]) { gap[w[1]] = 1; continue }
				printf "thread %s: %s %d in the tape, %d made, and no loss record\n",
					w[1], w[2], taped[k], made[k]; bad++
			}
			n = 0; for (x in exact) n++; g = 0; for (x in gap) g++
			printf "%d children complete, %d with their gap written down\n", n, g
			exit bad > 0 || n + g < 10
		}' || fail "a child's calls are missing without a loss record"
}

# A static allocator in the new executable is mapped at exec: probed late, and the gap written down.
exec_into_static_allocator() {
	"$BPFTAPE" record -q -o "$T/st.tape" -- sh -c "exec ${WORKLOAD}_static --sleep-before 300 --threads 1 --log $T/st.log" ||
		fail "record failed"
	"$BPFTAPE" dump --no-header --event loss "$T/st.tape" | grep -q "allocator before its probes" ||
		fail "no loss record for the time the static allocator ran unprobed"
	"$CHECK_ALLOC" "$T/st.tape" "$T/st.log" --allow-gaps
}

# -a --comm: a process that does not match gets no breakpoint at all.
filtered_neighbour_untouched() {
	"$WORKLOAD" --flood 0 --name neighbour &
	local n=$!
	bg_pids+=($n)
	wait_for_text "/proc/$n/maps" "libc.so" || return 1
	"$BPFTAPE" record -a --comm no-such-name -o "$T/nb.tape" 2>"$T/nb.err" &
	local rp=$!
	bg_pids+=($rp)
	wait_for_text "$T/nb.err" "recording" || return 1
	sleep 0.3
	[ "$(code_byte $n "$LIBC" malloc)" != cc ] || fail "the neighbour's malloc has a breakpoint"
	[ "$(code_byte $n "$LIBC" free)" != cc ] || fail "the neighbour's free has a breakpoint"
	kill -INT $rp
	wait $rp || fail "the recorder failed: $(cat "$T/nb.err")"
}

for name in "${TESTS[@]}"; do
	t "$name" "$name"
done

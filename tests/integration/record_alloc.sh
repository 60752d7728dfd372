#!/usr/bin/env bash
# The recorder's allocation tracing against ground truth: the workload logs
# every call it makes; the tape must hold exactly those. Real BPF, real uprobes.
. "$(dirname "$0")/../lib.sh"

TESTS=(started_command attach_running follow_fork fork_then_exec preload_tcmalloc
	preload_mimalloc static_executable stripped_static_refused system_wide_comm_filter
	probes_only_in_targets probes_switch_at_once sigint_mid_flood kill9_leaves_no_probe duration_stops
	command_exit_status mwrap_output errors_are_clear not_root_refused static_recorder)
require_bpf "${TESTS[@]}"

# make STATIC=1: one file to copy to a production host; it must record as well.
static_recorder() {
	local bin=$B/static/bpftape
	[ -x "$bin" ] || fail "no static build at $bin"
	file "$bin" | grep -q "statically linked" || fail "$bin is not statically linked"
	"$bin" record -q -o "$T/static-bin.tape" -- "$WORKLOAD" --threads 2 --log "$T/static-bin.log" ||
		fail "record failed"
	"$CHECK_ALLOC" "$T/static-bin.tape" "$T/static-bin.log"
}

started_command() {
	"$BPFTAPE" record -q -o "$T/cmd.tape" -- "$WORKLOAD" --threads 3 --log "$T/cmd.log" ||
		fail "record failed"
	"$CHECK_ALLOC" "$T/cmd.tape" "$T/cmd.log"
}

attach_running() {
	"$WORKLOAD" --threads 2 --log "$T/att.log" --wait "$T/att.go" &
	local wp=$!
	bg_pids+=($wp)
	wait_for "$T/att.go.ready" || return 1
	"$BPFTAPE" record -p $wp -o "$T/att.tape" 2>"$T/att.err" &
	local rp=$!
	wait_for_text "$T/att.err" "recording" || return 1
	touch "$T/att.go"
	wait $wp || fail "the workload failed"
	wait $rp || fail "the recorder failed: $(cat "$T/att.err")"
	grep -q "every target exited" "$T/att.err" || fail "the recorder did not stop with its target"
	"$CHECK_ALLOC" "$T/att.tape" "$T/att.log" --pre-attach
}

# A child inherits its parent's probes before it first runs: no gap at all.
follow_fork() {
	"$BPFTAPE" record -q -o "$T/fork.tape" -- "$WORKLOAD" --threads 2 --log "$T/fork.log" --fork ||
		fail "record failed"
	"$CHECK_ALLOC" "$T/fork.tape" "$T/fork.log" || return 1
	"$CHECK_ALLOC" "$T/fork.tape" "$T/fork.log.child" || return 1
}

fork_then_exec() {
	"$BPFTAPE" record -q -o "$T/exec.tape" -- "$WORKLOAD" --threads 2 --log "$T/exec.log" --exec ||
		fail "record failed"
	"$CHECK_ALLOC" "$T/exec.tape" "$T/exec.log" || return 1
	"$CHECK_ALLOC" "$T/exec.tape" "$T/exec.log.child" || return 1
	[ "$(count_events "$T/exec.tape" exec)" -ge 2 ] || fail "the child's exec is not in the tape"
}

# Another allocator, preloaded: libc's malloc is then dead code.
preloaded() {
	local lib=$1 name=$2
	[ -e "$lib" ] || fail "$lib is not installed (make deps)"
	LD_PRELOAD=$lib "$BPFTAPE" record -q -o "$T/$name.tape" -- "$WORKLOAD" --threads 2 \
		--log "$T/$name.log" || fail "record failed"
	"$BPFTAPE" dump "$T/$name.tape" | grep -q "^# library: .*$name" ||
		fail "the header does not name $name as a probed library"
	"$CHECK_ALLOC" "$T/$name.tape" "$T/$name.log"
}

preload_tcmalloc() {
	preloaded /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 tcmalloc
}

preload_mimalloc() {
	preloaded /usr/lib/x86_64-linux-gnu/libmimalloc.so.2 mimalloc
}

static_executable() {
	"$BPFTAPE" record -q -o "$T/stbin.tape" -- "${WORKLOAD}_static" --threads 2 \
		--log "$T/stbin.log" || fail "record failed"
	"$CHECK_ALLOC" "$T/stbin.tape" "$T/stbin.log"
}

stripped_static_refused() {
	cp "${WORKLOAD}_static" "$T/stripped"
	strip "$T/stripped"
	if "$BPFTAPE" record -q -o "$T/stripped.tape" -- "$T/stripped" 2>"$T/stripped.err"; then
		fail "recording a stripped static binary succeeded"
	fi
	cat "$T/stripped.err"
	grep -q "stripped static binary" "$T/stripped.err" &&
		grep -q -- "--lib" "$T/stripped.err" || fail "the error does not say why and what to do"
	[ ! -e "$T/stripped.tape" ] || fail "a failed start left a tape behind"
}

system_wide_comm_filter() {
	"$WORKLOAD" --threads 1 --log "$T/alpha.log" --wait "$T/sys.go" --name alpha &
	local a=$!
	"$WORKLOAD" --threads 1 --log "$T/beta.log" --wait "$T/sys.go" --name beta &
	local b=$!
	bg_pids+=($a $b)
	wait_for "$T/sys.go.ready" || return 1
	"$BPFTAPE" record -a --comm alpha -o "$T/sys.tape" 2>"$T/sys.err" &
	local rp=$!
	wait_for_text "$T/sys.err" "recording" || return 1
	touch "$T/sys.go"
	wait $a && wait $b || fail "a workload failed"
	kill -INT $rp
	wait $rp || fail "the recorder failed: $(cat "$T/sys.err")"
	"$CHECK_ALLOC" "$T/sys.tape" "$T/alpha.log" || return 1
	# beta ran the same calls at the same time: none of them may be in the tape.
	if "$BPFTAPE" dump --no-header --no-symbols --event alloc --pid $b "$T/sys.tape" | grep -q .; then
		fail "events of the filtered-out process are in the tape"
	fi
	"$BPFTAPE" dump --no-header --no-symbols --event alloc --pid $$ "$T/sys.tape" | grep -q . &&
		fail "events of other processes are in the tape"
	return 0
}

# start_flood: a flooding workload, its PID in $flood, once its libc is mapped
# (attached while still in the dynamic loader, it has no allocator to probe).
start_flood() {
	"$WORKLOAD" --flood 0 &
	flood=$!
	bg_pids+=($flood)
	wait_for_text "/proc/$flood/maps" "$(basename "$LIBC")"
}

# record_flood NAME: a flooding workload ($wp), once running, recorded with -p
# by a recorder ($rp) into $T/NAME.tape, its messages in $T/NAME.err; returns
# once recording.
record_flood() {
	local flood
	start_flood
	wp=$flood
	"$BPFTAPE" record -p $wp -o "$T/$1.tape" 2>"$T/$1.err" &
	rp=$!
	wait_for_text "$T/$1.err" "recording"
}

probes_only_in_targets() {
	local wp rp b flood in_a in_b
	start_flood
	b=$flood
	record_flood only
	bg_pids+=($rp)
	in_a=$(code_byte $wp "$LIBC" malloc)
	in_b=$(code_byte $b "$LIBC" malloc)
	echo "first byte of malloc: target $in_a, other $in_b"
	kill -INT $rp
	wait $rp
	[ "$in_a" = cc ] || fail "no breakpoint in the target's malloc"
	[ "$in_b" != cc ] || fail "a breakpoint in a process that was not a target"
}

sigint_mid_flood() {
	local wp rp
	record_flood int
	sleep 1
	kill -INT $rp
	wait $rp || fail "the recorder failed on SIGINT: $(cat "$T/int.err")"
	grep -q "interrupted" "$T/int.err" || fail "no summary after SIGINT"
	"$BPFTAPE" dump --no-header --no-symbols "$T/int.tape" >"$T/int.dump" ||
		fail "the tape is not sound after SIGINT"
	[ "$(grep -c ' malloc(' "$T/int.dump")" -gt 1000 ] || fail "too few events in the tape"
	grep -q "detached probes" "$T/int.dump" || fail "no detach marker at the end"
}

kill9_leaves_no_probe() {
	local wp rp
	record_flood k9
	sleep 1.5
	[ "$(code_byte $wp "$LIBC" malloc)" = cc ] || fail "no breakpoint while recording"
	kill -9 $rp
	wait $rp 2>/dev/null
	local i byte
	for ((i = 0; i < 100; i++)); do
		byte=$(code_byte $wp "$LIBC" malloc)
		[ "$byte" != cc ] && break
		sleep 0.05
	done
	[ "$byte" != cc ] || fail "a breakpoint is left in the target after kill -9"
	# Readable up to its last flushed chunk (the cut is reported, not fatal).
	"$BPFTAPE" dump --no-header --no-symbols --event malloc "$T/k9.tape" >"$T/k9.dump" 2>"$T/k9.dump.err"
	cat "$T/k9.dump.err"
	[ "$(wc -l <"$T/k9.dump")" -gt 1000 ] || fail "the tape lost more than its last second"
}

# The flood frees each block right after allocating it: atomic arming means
# the tape holds a contiguous run of that, malloc(x) then free(x), with at
# most a free first and a malloc last (probes switching on one function at a
# time would leave two mallocs or two frees in a row at either edge).
alternates() {
	"$BPFTAPE" dump --no-header --no-symbols --event alloc --pid "$2" "$1" | awk '
		/ malloc\(/ { if (want == "free") bad++; want = "free"; n++
			p = $0; sub(/.* = /, "", p); sub(/ .*/, "", p); next }
		/ free\(/ { sub(/.*free\(/, ""); sub(/\).*/, "");
			if (want == "malloc" || (want == "free" && $0 != p)) bad++; want = "malloc"; n++ }
		END { print n " calls, " bad + 0 " out of order"; exit !(n > 100 && bad == 0) }'
}

probes_switch_at_once() {
	local wp rp
	record_flood once
	sleep 0.5
	kill -INT $rp
	wait $rp || fail "the recorder failed: $(cat "$T/once.err")"
	alternates "$T/once.tape" $wp || fail "-p: the probes did not switch on and off at once"
	# And system-wide, where every function is probed for every process.
	local flood
	start_flood
	"$BPFTAPE" record -a -o "$T/once-a.tape" 2>"$T/once-a.err" &
	rp=$!
	wait_for_text "$T/once-a.err" "recording" || return 1
	sleep 0.5
	kill -INT $rp
	wait $rp || fail "the recorder failed: $(cat "$T/once-a.err")"
	alternates "$T/once-a.tape" $flood || fail "-a: the probes did not switch on and off at once"
}

duration_stops() {
	local flood start=$SECONDS
	start_flood
	local wp=$flood
	"$BPFTAPE" record -p $wp -d 1 -o "$T/dur.tape" 2>"$T/dur.err" || fail "record -d failed"
	local secs
	secs=$(sed -n 's/.*done after \([0-9.]*\) s.*/\1/p' "$T/dur.err")
	awk -v s="$secs" 'BEGIN { exit !(s >= 1.0 && s < 2.0) }' ||
		fail "did not stop after 1 s: $(cat "$T/dur.err")"
	[ $((SECONDS - start)) -le 5 ] || fail "took too long"
}

command_exit_status() {
	"$BPFTAPE" record -q -o "$T/st.tape" -- sh -c 'exit 3'
	local st=$?
	[ $st = 3 ] || fail "exit status $st, not the command's 3"
}

mwrap_output() {
	"$BPFTAPE" record -q --format mwrap -o "$T/mw.trace.gz" -- "$WORKLOAD" --threads 2 \
		--log "$T/mw.log" || fail "record failed"
	gzip -t "$T/mw.trace.gz" || fail "not gzip"
	$B/tests/tools/check_mwrap "$T/mw.trace.gz" "$T/mw.log"
}

# expect STATUS TEXT COMMAND...: fails unless the command exits with STATUS and says TEXT.
expect() {
	local want=$1 text=$2 got
	shift 2
	"$@" >"$T/expect.out" 2>&1
	got=$?
	cat "$T/expect.out"
	[ $got = "$want" ] || fail "'$*' exited $got, not $want"
	grep -q -- "$text" "$T/expect.out" || fail "'$*' did not say '$text'"
}

errors_are_clear() {
	expect 1 "no process with PID 999999" "$BPFTAPE" record -p 999999 -o "$T/e1.tape" || return 1
	touch "$T/exists.tape"
	expect 1 "exists; use --force" "$BPFTAPE" record -o "$T/exists.tape" -- true || return 1
	expect 2 "what to record" "$BPFTAPE" record || return 1
	expect 2 "only one of" "$BPFTAPE" record -a -p 1 || return 1
	expect 2 "invalid value '5x' for -d" "$BPFTAPE" record -d 5x -- true || return 1
	expect 2 "power of two" "$BPFTAPE" record --ringbuf-size 3M -- true || return 1
	expect 1 "defines none of malloc" "$BPFTAPE" record --lib /bin/true -o "$T/e2.tape" -- true || return 1
	expect 1 "cannot run no-such-command" "$BPFTAPE" record -o "$T/e3.tape" -- no-such-command
}

not_root_refused() {
	command -v setpriv >/dev/null || fail "setpriv is missing (util-linux)"
	cp "$BPFTAPE" "$T/bpftape-copy"
	chmod 755 "$T" "$T/bpftape-copy"
	expect 1 "needs root, or the capabilities CAP_BPF and CAP_PERFMON" \
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$T/bpftape-copy" record -o /tmp/never.tape -- true
}

for name in "${TESTS[@]}"; do
	t "$name" "$name"
done

#!/usr/bin/env bash
# dump, stat, leaks and convert against tapes with known answers, and
# symbolisation against a binary and a library with known functions.
. "$(dirname "$0")/../lib.sh"
MAKE_TAPE=$B/tests/tools/make_tape
SYM=$B/tests/workloads/sym_target
SYMLIB=$B/tests/workloads/libsymtest.so

# A process with two call sites, syscalls, a child that execs, a loss, a
# block from before the recording. Comments give the answers.
cat >"$T/known.txt" <<'EOF'
1000 100 100 comm server
2000 100 100 malloc 100 0x1000 0x400100    # site A; live 100
3000 100 101 malloc 300 0x2000 0x400200    # site B; live 400
4000 100 100 malloc 100 0x3000 0x400100    # site A; live 500 (the peak, at 4000)
5000 100 100 free 0x1000 0x400300          # lives 3000 ns, 2 calls of the process later
6000 100 100 free 0x9999 0x400300          # from before the recording
7000 100 100 syscall 257 -2 1500 /etc/none # openat: ENOENT
8000 100 100 syscall 257 -2 2500 /etc/nope # openat: ENOENT, the slowest
9000 100 101 syscall 0 4096 100            # read
10000 100 101 syscall 0 -11 100            # read: EAGAIN
11000 100 100 fork 200 200
12000 200 200 exec /bin/helper
13000 200 200 exit 256 process
14000 100 100 loss 1 1 7 13500             # 7 mallocs lost: ring buffer full
15000 100 100 malloc 1 0 0x400100          # a failure
EOF

json_num() {
	grep -o "$2" "$1" | head -1 | grep -o '[-0-9]*$'
}

stat_known_answers() {
	"$MAKE_TAPE" "$T/known.txt" "$T/known.tape" || return 1
	"$BPFTAPE" stat --json --no-symbols "$T/known.tape" >"$T/stat.json" || fail "stat failed"
	cat "$T/stat.json"
	local j=$T/stat.json
	[ "$(json_num $j '"malloc":{"calls":[0-9]*')" = 4 ] || fail "malloc calls"
	[ "$(json_num $j '"malloc":{"calls":[0-9]*,"failed":[0-9]*')" = 1 ] || fail "malloc failures"
	[ "$(json_num $j '"malloc":{[^}]*"bytes":[0-9]*')" = 500 ] || fail "malloc bytes"
	[ "$(json_num $j '"peak_live_bytes":[0-9]*')" = 500 ] || fail "peak live bytes"
	[ "$(json_num $j '"peak_ts":[0-9]*')" = 4000 ] || fail "time of the peak"
	[ "$(json_num $j '"unknown_releases":[0-9]*')" = 1 ] || fail "pre-attach frees"
	# Sizes: 100 twice and 300 once, in their log2 buckets [64,127] and [256,511].
	grep -q '"sizes":\[{"log2":7,"count":2},{"log2":9,"count":1}\]' $j || fail "size histogram"
	grep -q '"lifetime_ns":\[{"log2":12,"count":1}\]' $j || fail "lifetime histogram (time)"
	grep -q '"lifetime_ops":\[{"log2":2,"count":1}\]' $j || fail "lifetime histogram (calls)"
	grep -q '"name":"openat","nr":257,"calls":2,"errors":2,"total_ns":4000,"max_ns":2500,"errnos":{"ENOENT":2}' $j ||
		fail "openat's summary"
	grep -q '"name":"read","nr":0,"calls":2,"errors":1,"total_ns":200,"max_ns":100,"errnos":{"EAGAIN":1}' $j ||
		fail "read's summary"
	grep -q '"pid":200,"parent":100,"name":"server","exec":"/bin/helper","exited":true,"status":256' $j ||
		fail "process tree"
	grep -q '"reason":"ring buffer full","lost":"malloc","count":7' $j || fail "losses"
	grep -q '{"pid":100,"tid":101,"allocs":1,"frees":0,"bytes":300,"syscalls":2,"syscall_errors":1}' $j ||
		fail "per-thread counts"
	# And the text report says the same, as a person reads it.
	"$BPFTAPE" stat --no-symbols "$T/known.tape" >"$T/stat.txt" || fail "stat (text) failed"
	grep -q "peak 500 bytes at 0.000004 s in process 100" "$T/stat.txt" || fail "text: peak"
	grep -q "openat (ENOENT 2)" "$T/stat.txt" || fail "text: errno breakdown"
	grep -q "7 malloc events lost: ring buffer full" "$T/stat.txt" || fail "text: losses"
}

leaks_known_answers() {
	"$MAKE_TAPE" "$T/known.txt" "$T/known.tape" || return 1
	"$BPFTAPE" leaks --json --no-symbols "$T/known.tape" >"$T/leaks.json" || fail "leaks failed"
	cat "$T/leaks.json"
	grep -q '"blocks":2,"bytes":400,"sites":\[{"bytes":300,"blocks":1,"oldest_ts":3000,"caller":"0x400200"' "$T/leaks.json" ||
		fail "live blocks at the end, largest site first"
	grep -q '{"bytes":100,"blocks":1,"oldest_ts":4000,"caller":"0x400100"' "$T/leaks.json" ||
		fail "site A at the end"
	# At 4.5 us the first block of site A was still live: 2 blocks there.
	"$BPFTAPE" leaks --json --no-symbols --at 4.5us "$T/known.tape" >"$T/at.json" || return 1
	grep -q '"blocks":3,"bytes":500' "$T/at.json" && grep -q '"bytes":200,"blocks":2' "$T/at.json" ||
		fail "--at: $(cat "$T/at.json")"
}

build_id() {
	readelf -n "$1" | awk '/Build ID/ {print $3}'
}

# Offset in the file of a function's call to malloc: where its caller address points.
call_site() {
	local file=$1 fn=$2 addr
	addr=$(objdump -d "$file" | awk -v f="<$fn>:" '$2 == f {on = 1; next} on && /call.*malloc@plt/ {getline; sub(":", "", $1); print $1; exit}')
	echo $((16#$addr))
}

symbols_from_files() {
	local exe lib so_site exe_site
	exe=$(realpath "$SYM")
	lib=$(realpath "$SYMLIB")
	exe_site=$(call_site "$exe" alloc_in_main)
	so_site=$(call_site "$lib" alloc_in_library)
	[ -n "$exe_site" ] && [ -n "$so_site" ] || fail "cannot find the call sites with objdump"
	cat >"$T/sym.txt" <<EOF
1 300 300 map 0x555500000000 0x555500010000 0 $exe $(build_id "$exe")
1 300 300 map 0x7f0000000000 0x7f0000010000 0 $lib $(build_id "$lib")
2 300 300 malloc 100 0x1000 $((0x555500000000 + exe_site))
3 300 300 malloc 200 0x2000 $((0x7f0000000000 + so_site))
EOF
	"$MAKE_TAPE" "$T/sym.txt" "$T/sym.tape" || return 1
	"$BPFTAPE" leaks "$T/sym.tape" >"$T/sym.out" 2>&1 || fail "leaks failed"
	cat "$T/sym.out"
	grep -q "alloc_in_main+0x[0-9a-f]* (sym_target)" "$T/sym.out" || fail "the executable's function not named"
	grep -q "alloc_in_library+0x[0-9a-f]* (libsymtest.so)" "$T/sym.out" || fail "the library's function not named"
	# The same file with another build ID: named once, shown as file+offset, never named wrong.
	sed "s/$(build_id "$exe")/0123456789abcdef0123456789abcdef01234567/" "$T/sym.txt" >"$T/changed.txt"
	"$MAKE_TAPE" "$T/changed.txt" "$T/changed.tape" || return 1
	"$BPFTAPE" leaks "$T/changed.tape" >"$T/changed.out" 2>&1 || fail "leaks failed"
	cat "$T/changed.out"
	[ "$(grep -c "has changed since the recording" "$T/changed.out")" = 1 ] || fail "not named exactly once"
	grep -q "sym_target+0x$(printf %x "$exe_site")" "$T/changed.out" || fail "no file+offset for the changed file"
	! grep -q "alloc_in_main" "$T/changed.out" || fail "a changed file's address was named"
}

symbols_recorded() {
	if [ "$(id -u)" != 0 ]; then
		echo "needs root to record"
		return 0
	fi
	"$BPFTAPE" record -q -o "$T/rec.tape" -- "$SYM" || fail "record failed"
	# One caller per call, as before stacks: function+offset (file).
	"$BPFTAPE" leaks --no-stacks "$T/rec.tape" >"$T/rec.out" || fail "leaks failed"
	cat "$T/rec.out"
	grep -q "400 *1 .* alloc_in_library+0x[0-9a-f]* (libsymtest.so)" "$T/rec.out" &&
		grep -q "300 *1 .* alloc_in_main+0x[0-9a-f]* (sym_target)" "$T/rec.out" ||
		fail "the blocks held at exit are not named by their functions"
	"$BPFTAPE" stat --no-stacks "$T/rec.tape" | grep -q "2400 *11  alloc_in_library+0x[0-9a-f]* (libsymtest.so)" ||
		fail "stat's sites"
	# With the recorded stacks: the function and its source line, then who called it.
	"$BPFTAPE" leaks "$T/rec.tape" >"$T/stacks.out" || fail "leaks failed"
	cat "$T/stacks.out"
	grep -A1 "400 *1 .* alloc_in_library (symtest.c:[0-9]*)" "$T/stacks.out" | grep -q "<- main (sym_target.c:" &&
		grep -A1 "300 *1 .* alloc_in_main (sym_target.c:[0-9]*)" "$T/stacks.out" | grep -q "<- main (sym_target.c:" ||
		fail "the blocks held at exit are not shown with their stacks"
}

dump_filters() {
	"$MAKE_TAPE" "$T/known.txt" "$T/known.tape" || return 1
	[ "$("$BPFTAPE" dump --no-header --pid 200 "$T/known.tape" | wc -l)" = 2 ] || fail "--pid"
	[ "$("$BPFTAPE" dump --no-header --tid 101 "$T/known.tape" | wc -l)" = 3 ] || fail "--tid"
	[ "$("$BPFTAPE" dump --no-header --event alloc "$T/known.tape" | wc -l)" = 6 ] || fail "--event alloc"
	[ "$("$BPFTAPE" dump --no-header --event syscall,exit "$T/known.tape" | wc -l)" = 5 ] || fail "--event list"
	[ "$("$BPFTAPE" dump --no-header --since 5us --until 9us "$T/known.tape" | wc -l)" = 5 ] || fail "--since/--until"
	[ "$("$BPFTAPE" dump --no-header -n 3 "$T/known.tape" | wc -l)" = 3 ] || fail "-n"
	"$BPFTAPE" dump --json "$T/known.tape" >"$T/dump.json" || return 1
	[ "$(grep -c '^{"event":' "$T/dump.json")" = 15 ] || fail "--json: one object per event"
	head -1 "$T/dump.json" | grep -q '^{"format":"bpftape"' || fail "--json: the header first"
	grep -q '"event":"syscall".*"name":"openat".*"ret":-2.*"path":"/etc/none"' "$T/dump.json" ||
		fail "--json: a syscall's fields"
	"$BPFTAPE" dump --no-header "$T/known.tape" | grep -q 'openat() = -2 ENOENT' ||
		fail "text: a failed syscall"
	if "$BPFTAPE" dump --event nonsense "$T/known.tape" 2>/dev/null; then
		fail "an unknown event name was accepted"
	fi
}

convert_round_trip() {
	"$MAKE_TAPE" "$T/known.txt" "$T/known.tape" || return 1
	"$BPFTAPE" convert "$T/known.tape" "$T/conv.trace.gz" 2>"$T/conv.err" || fail "to mwrap failed"
	cat "$T/conv.err"
	gzip -t "$T/conv.trace.gz" || fail "not gzip"
	grep -q "wrote 4 mwrap records" "$T/conv.err" || fail "mwrap record count"
	grep -q "1 failed calls" "$T/conv.err" || fail "the dropped failure is not reported"
	grep -q "loss records: events are missing and mwrap's format cannot say so" "$T/conv.err" ||
		fail "the loss is not warned about"
	"$BPFTAPE" convert "$T/conv.trace.gz" "$T/back.tape" 2>"$T/back.err" || fail "from mwrap failed"
	cat "$T/back.err"
	grep -q "absent (0) in the tape" "$T/back.err" || fail "what mwrap lacks is not said"
	"$BPFTAPE" dump "$T/back.tape" | grep -q "^# mode: converted" || fail "the header does not say converted"
	[ "$("$BPFTAPE" dump --no-header --event alloc "$T/back.tape" | wc -l)" = 4 ] || fail "events lost in the round trip"
	touch "$T/exists.tape"
	if "$BPFTAPE" convert "$T/known.tape" "$T/exists.tape" 2>"$T/ex.err"; then
		fail "an existing file was overwritten"
	fi
	grep -q "use --force" "$T/ex.err" || fail "no hint about --force"
}

damaged_input_reported() {
	"$MAKE_TAPE" "$T/known.txt" "$T/chunks.tape" --chunk 4 || return 1
	head -c $(($(stat -c %s "$T/chunks.tape") - 20)) "$T/chunks.tape" >"$T/cut.tape"
	"$BPFTAPE" dump --no-header "$T/cut.tape" >"$T/cut.out" 2>"$T/cut.err"
	local st=$?
	cat "$T/cut.err"
	[ $st = 1 ] || fail "exit status $st for a damaged tape"
	grep -q "cut off at byte" "$T/cut.err" || fail "where it was cut is not said"
	[ "$(wc -l <"$T/cut.out")" = 12 ] || fail "the complete chunks were not all read"
	"$BPFTAPE" stat "$T/cut.tape" >/dev/null 2>"$T/stat.err"
	[ $? = 1 ] && grep -q "is damaged" "$T/stat.err" || fail "stat does not report the damage"
	printf 'garbage, no magic' >"$T/junk.tape.gz"
	"$BPFTAPE" stat "$T/junk.tape.gz" 2>"$T/junk.err"
	[ $? = 1 ] && grep -q "expected gzip data" "$T/junk.err" || fail "garbage where gzip was expected"
}

help_and_usage() {
	local c
	for c in record replay convert dump stat leaks; do
		"$BPFTAPE" $c --help | grep -q "^Usage: bpftape $c" || fail "$c --help"
	done
	"$BPFTAPE" --help | grep -q "^Usage: bpftape COMMAND" || fail "bpftape --help"
	"$BPFTAPE" nonsense 2>/dev/null
	[ $? = 2 ] || fail "an unknown command is not a usage error"
	"$BPFTAPE" dump --nonsense x 2>/dev/null
	[ $? = 2 ] || fail "an unknown option is not a usage error"
	"$BPFTAPE" stat "$T/does-not-exist.tape" 2>"$T/nf.err"
	[ $? = 1 ] && grep -q "cannot open .*does-not-exist.tape: No such file" "$T/nf.err" ||
		fail "a missing file: $(cat "$T/nf.err")"
}

for name in stat_known_answers leaks_known_answers symbols_from_files symbols_recorded \
	dump_filters convert_round_trip damaged_input_reported help_and_usage; do
	t "$name" "$name"
done

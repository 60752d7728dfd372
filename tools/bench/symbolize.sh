#!/usr/bin/env bash
# make bench: symbolisation. Run by tools/bench/run.sh with B, T, REPS and its
# helpers (say, section, calc) in the environment; needs no root.
#   The return addresses of every call in bpftape and bpftape-replay (built
#   -O2 -g: thousands of distinct addresses with inlined calls), put in a tape
#   as stacks of one process; bpftape dump shows every frame (function, file,
#   line, inlined calls), against binutils' addr2line -f -i -C and elfutils'
#   eu-addr2line -f -i -C given the same addresses (each one byte back: the
#   call, as bpftape looks it up), in the same run. Best of REPS, cold each time
#   (a new process).
set -u

. tests/stacks_lib.sh

# best TOOL ARGS...: the fastest of REPS runs, in seconds, wall time (output dropped).
best() {
	local b="" s i
	for ((i = 0; i < REPS; i++)); do
		s=$( { TIMEFORMAT=%R; time "$@" >/dev/null 2>&1; } 2>&1 )
		if [ -z "$b" ] || awk -v a="$s" -v b="$b" 'BEGIN { exit !(a < b) }'; then
			b=$s
		fi
	done
	echo "$b"
}

section "Symbolisation: the return addresses of bpftape and bpftape-replay"
if ! command -v eu-addr2line >/dev/null; then
	say "skipped: needs eu-addr2line (elfutils)"
else
	: >"$T/sym.txt"
	n=0
	for bin in "$BPFTAPE" "$ENGINE"; do
		addrs_tape "$bin" $((0x555500000000 + n * 0x10000000)) $((100 + n)) >>"$T/sym.txt"
		return_addresses "$bin" | while read -r a; do printf '0x%x\n' $((16#$a - 1)); done >"$T/sym.$n.addrs"
		n=$((n + 1))
	done
	"$B/tests/tools/make_tape" "$T/sym.txt" "$T/sym.tape" || exit 1
	addrs=$(cat "$T"/sym.*.addrs | wc -l)
	ours=$(best "$BPFTAPE" dump --no-header --event malloc --stack-depth 1000 "$T/sym.tape")
	frames=$("$BPFTAPE" dump --no-header --event malloc --stack-depth 1000 "$T/sym.tape" | grep -c $'^\t')
	gnu=$(best sh -c "addr2line -f -i -C -e '$BPFTAPE' <'$T/sym.0.addrs'; addr2line -f -i -C -e '$ENGINE' <'$T/sym.1.addrs'")
	eu=$(best sh -c "eu-addr2line -f -i -C -e '$BPFTAPE' <'$T/sym.0.addrs'; eu-addr2line -f -i -C -e '$ENGINE' <'$T/sym.1.addrs'")
	say "$addrs distinct addresses ($frames frames with inlined calls), best of $REPS, cold:"
	say "bpftape dump:     $(calc "$ours * 1000" %.0f) ms"
	say "addr2line:        $(calc "$gnu * 1000" %.0f) ms: bpftape takes $(calc "$ours / $gnu")x its time"
	say "eu-addr2line:     $(calc "$eu * 1000" %.0f) ms: bpftape takes $(calc "$ours / $eu")x its time"
fi

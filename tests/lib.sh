# Shared by the integration tests (sourced): paths, a scratch folder, and
# how a test reports. Each test is a function run by t NAME FUNCTION; it
# passes when the function returns 0, and its output is shown when it fails.
set -u
B=${B:-build}
BPFTAPE=$B/bpftape
REPLAY=$B/bpftape-replay
WORKLOAD=$B/tests/workloads/alloc_workload
CHECK_ALLOC=$B/tests/tools/check_alloc
T=$(mktemp -d "${TMPDIR:-/tmp}/bpftape-test.XXXXXX")
LIBC=$(ldd "$WORKLOAD" 2>/dev/null | awk '/libc.so/ {print $3}')
bg_pids=()

# Background processes a test started: killed when its subshell ends, pass or fail.
kill_bg() {
	local p
	for p in "${bg_pids[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
}

cleanup() {
	kill_bg
	rm -rf "$T"
}
trap cleanup EXIT

t() {
	local name=$1 log=$T/$1.out start=$EPOCHREALTIME secs
	shift
	# ONLY=REGEX runs just the tests whose names match (for working on one).
	[ -n "${ONLY:-}" ] && ! [[ $name =~ $ONLY ]] && return 0
	if (trap kill_bg EXIT; "$@") >"$log" 2>&1; then
		secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
		echo "ok $name ($secs s)"
	else
		echo "not ok $name: $(grep -v '^+' "$log" | tail -1)"
		tail -20 "$log" | sed 's/^/# /'
	fi
}

# Every test of the file is skipped, with the reason, when BPF cannot run here.
require_bpf() {
	local why=""
	if [ "$(id -u)" != 0 ]; then
		why="needs root to load BPF programs"
	elif [ ! -r /sys/kernel/btf/vmlinux ]; then
		why="this kernel has no BTF"
	fi
	if [ -n "$why" ]; then
		local name
		for name in "$@"; do
			echo "skip $name: $why"
		done
		exit 0
	fi
}

# Ends the test (each runs in its own subshell) as failed, whatever follows.
fail() {
	echo "$*"
	exit 1
}

# wait_for PATH [SECONDS]: until the file exists.
wait_for() {
	local i
	for ((i = 0; i < ${2:-10} * 100; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.01
	done
	fail "timed out waiting for $1"
}

# wait_for_text FILE TEXT [SECONDS]: until the file holds the text.
wait_for_text() {
	local i
	for ((i = 0; i < ${3:-10} * 100; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.01
	done
	fail "timed out waiting for '$2' in $1: $(tail -3 "$1" 2>/dev/null)"
}

# The first byte of a library function in a process's memory: 0xcc is a breakpoint.
code_byte() {
	local pid=$1 lib base off
	lib=$(realpath "$2")
	base=$(awk -v lib="$lib" '$6 == lib && $3 == "00000000" {split($1, a, "-"); print a[1]; exit}' "/proc/$pid/maps")
	off=$(nm -D --defined-only "$lib" | awk -v s="$3" '{sub(/@.*/, "", $3)} $3 == s {print $1; exit}')
	[ -n "$base" ] && [ -n "$off" ] || return 1
	dd if="/proc/$pid/mem" bs=1 count=1 skip=$((16#$base + 16#$off)) iflag=skip_bytes 2>/dev/null |
		od -An -tx1 | tr -d ' \n'
}

# Events of a kind in a tape, through bpftape dump.
count_events() {
	"$BPFTAPE" dump --no-header --no-symbols --event "$2" "$1" | wc -l
}

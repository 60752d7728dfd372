#!/usr/bin/env bash
# make fuzz: each fuzzer for SECONDS (default 60), from the seed corpus in
# tests/fuzz/seeds, with a working corpus kept in build/fuzz/corpus-NAME.
# Exits non-zero when any fuzzer found a crash (the input is kept there too).
set -u
B=${B:-build}
SECONDS_EACH=${1:-60}
status=0
for bin in "$B"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	corpus=$B/fuzz/corpus-$name
	mkdir -p "$corpus"
	echo "fuzz: $name for $SECONDS_EACH s"
	if "$bin" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$B/fuzz/$name-" -print_final_stats=1 \
		"$corpus" tests/fuzz/seeds >"$B/fuzz/$name.log" 2>&1; then
		grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$B/fuzz/$name.log" |
			tr '\n' ' ' | sed "s/^/fuzz: $name: no finding; /"
		echo
	else
		echo "fuzz: $name FOUND A PROBLEM: see $B/fuzz/$name.log and $B/fuzz/$name-*"
		tail -30 "$B/fuzz/$name.log"
		status=1
	fi
done
exit $status

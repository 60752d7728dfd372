#!/usr/bin/env bash
# Runs every test: the unit tests' binaries, then the integration scripts.
# Each prints "ok NAME", "not ok NAME: why" or "skip NAME: why" lines; this
# counts them and ends with "N passed, N failed" (", N skipped" when some were).
# Usage: tests/run.sh [PATTERN]   only the tests whose file name matches
set -u
cd "$(dirname "$0")/.."
export B=${B:-build}
pattern=${1:-}
pass=0 fail=0 skipped=0
failures=()

run() {
	local name=$1; shift
	local out status line
	[ -n "$pattern" ] && [[ "$name" != *"$pattern"* ]] && return
	out=$("$@" 2>&1)
	status=$?
	local counted=0
	while IFS= read -r line; do
		case "$line" in
		"ok "*) pass=$((pass + 1)); counted=1; echo "  $line" ;;
		"not ok "*) fail=$((fail + 1)); counted=1; failures+=("$name: ${line#not ok }"); echo "  $line" ;;
		"skip "*) skipped=$((skipped + 1)); counted=1; echo "  $line" ;;
		"# "*) echo "  $line" ;;
		esac
	done <<< "$out"
	# A test that crashed, or printed nothing, is a failure too.
	if [ $status -ne 0 ] && ! grep -q "^not ok " <<< "$out"; then
		fail=$((fail + 1))
		failures+=("$name: exited with status $status")
		echo "  not ok $name: exited with status $status"
		echo "$out" | tail -5 | sed 's/^/    /'
	elif [ $counted -eq 0 ]; then
		fail=$((fail + 1))
		failures+=("$name: reported nothing")
	fi
}

start=$(date +%s)
for t in "$B"/tests/unit/*; do
	[ -x "$t" ] || continue
	echo "$(basename "$t")"
	run "$(basename "$t")" "$t"
done
for t in tests/integration/*.sh; do
	echo "$(basename "$t")"
	run "$(basename "$t")" bash "$t"
done
if [ ${#failures[@]} -gt 0 ]; then
	echo
	echo "failures:"
	printf '  %s\n' "${failures[@]}"
fi
echo "($(( $(date +%s) - start )) s)"
summary="$pass passed, $fail failed"
[ $skipped -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ $fail -eq 0 ]

#!/usr/bin/env bash
# The recorder runs as root and must never run anything a traced process
# chooses. The attacks of issue 10 (as an unprivileged user recorded by
# root): a program linked with a dynamic linker of its own, and LD_AUDIT.
# Each hostile piece leaves ran.UID behind whoever runs it: the traced user
# (expected: the attack is live) but never root. Real BPF.
. "$(dirname "$0")/../lib.sh"

TESTS=(own_dynamic_linker_not_run_as_root ld_audit_not_run_as_root)
require_bpf "${TESTS[@]}"

NOBODY=(setpriv --reuid 65534 --regid 65534 --clear-groups)

markers() {
	mkdir -p "$T/$1"
	chmod 1777 "$T" "$T/$1"
	echo "$T/$1"
}

own_dynamic_linker_not_run_as_root() {
	local m
	m=$(markers interp)
	MARKER_DIR=$m "$BPFTAPE" record -q -o "$T/interp.tape" -- "${NOBODY[@]}" \
		"$B/tests/workloads/victim" || fail "record failed"
	[ -e "$m/ran.65534" ] || fail "the hostile loader did not run for the program: the test proves nothing"
	[ ! -e "$m/ran.0" ] || fail "the program's own dynamic linker ran as root"
}

ld_audit_not_run_as_root() {
	local m
	m=$(markers audit)
	cp "$B/tests/workloads/libaudit_marker.so" "$m/"
	chmod 755 "$m/libaudit_marker.so"
	MARKER_DIR=$m "$BPFTAPE" record -q -o "$T/audit.tape" -- "${NOBODY[@]}" \
		env LD_AUDIT="$m/libaudit_marker.so" /bin/sleep 0.3 || fail "record failed"
	[ -e "$m/ran.65534" ] || fail "the audit library did not run for the program: the test proves nothing"
	[ ! -e "$m/ran.0" ] || fail "the program's LD_AUDIT library ran as root"
}

for name in "${TESTS[@]}"; do
	t "$name" "$name"
done

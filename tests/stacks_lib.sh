# Shared by the stack tests (tests/integration/stack_symbols.sh,
# record_sites.sh) and tools/bench/symbolize.sh, sourced: the call chains the
# stack_sites workloads write (tests/workloads/stack_truth.h), frames from
# the tools' JSON in the same form, and addresses to symbolise.

# truth LOG CHAIN [all]: the frames the program wrote for a chain (its name,
# or its size: 1000 + its number when it has none), innermost first, as
# "function|file|line|inlined"; only those whose return address it knew,
# unless all. Files by their last component.
truth() {
	awk -v want="$2" -v all="${3:-}" '
	$1 == "chain" { k++; on = ($2 == want || ($3 ? $3 : 1000 + k) == want); left = $4; next }
	on && left > 0 {
		left--
		n = split($2, p, "/")
		if (all || $4 != "(nil)") print $1 "|" p[n] "|" $3 "|" ($5 == "inlined" ? "true" : "false")
	}' "$1"
}

# Frames from JSON on stdin (objects with function, file, line, inlined), the
# same way: a function by its name alone (no namespace, class or parameters:
# what __func__ says), a file by its last component.
json_frames() {
	jq -r '"\(.function)|\(.file)|\(.line)|\(.inlined)"' | awk -F'|' '{
		f = $1; sub(/\(.*/, "", f); n = split(f, q, "::"); f = q[n]
		m = split($2, p, "/")
		print f "|" p[m] "|" $3 "|" $4
	}'
}

# return_addresses BIN: each call's return address (the next instruction's), hex, sorted.
return_addresses() {
	objdump -d --no-show-raw-insn "$1" | awk -F'\t' '
		NF >= 2 && $1 ~ /^ *[0-9a-f]+:$/ {
			a = $1; gsub(/[ :]/, "", a)
			if (want) print a
			want = ($2 ~ /^call/)
		}' | sort -u
}

# addrs_tape BIN BASE PID: make_tape lines for BIN's executable segment
# mapped at BASE in process PID, then stacks of 100 of its return addresses
# (in return_addresses' order) and a malloc for each.
addrs_tape() {
	local bin=$1 base=$2 pid=$3 off vaddr memsz
	read -r off vaddr memsz < <(readelf -lW "$bin" |
		awk '$1 == "LOAD" && ($7 ~ /E/ || $8 ~ /E/) { print $2, $3, $6; exit }')
	printf '1 %d %d map %#x %#x %#x %s %s\n' "$pid" "$pid" $((base + (vaddr & ~0xfff))) \
		$((base + vaddr + memsz)) $((off & ~0xfff)) "$(realpath "$bin")" \
		"$(readelf -n "$bin" | awk '/Build ID/ {print $3}')"
	return_addresses "$bin" | while read -r a; do printf '0x%x\n' $((base + 16#$a)); done |
		awk -v pid="$pid" '
		{ f = f " " $1; n++ }
		n == 100 { k++; print 2, pid, pid, "stack", k f; print 3, pid, pid, "malloc", 16, 4096 * k, "0", k; f = ""; n = 0 }
		END { if (n) { k++; print 2, pid, pid, "stack", k f; print 3, pid, pid, "malloc", 16, 4096 * k, "0", k } }'
}

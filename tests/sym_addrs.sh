# Addresses to symbolise, shared by tests/integration/stack_symbols.sh and
# tools/bench/symbolize.sh (sourced): the return address of every call in an
# ELF file, and a tape that holds them as stacks.

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

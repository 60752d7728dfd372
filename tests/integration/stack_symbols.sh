#!/usr/bin/env bash
# Symbolised stacks without the recorder: the stack_sites workloads (C and
# C++, with and without frame pointers) write their own call chains and the
# return addresses they know (stack_truth.h); the tests build tapes of those
# addresses with make_tape and check what dump, stat and leaks show against
# the chains: functions, source files and lines, inlined calls. Then the
# same on a "foreign machine" (files moved, found through --symfs, a build-ID
# directory, a debug link, debuginfod), with stripped and deleted files, and
# with hostile paths that must neither hang nor be trusted.
. "$(dirname "$0")/../lib.sh"
MAKE_TAPE=$B/tests/tools/make_tape
HTTP_FILES=$B/tests/tools/http_files
SITES=$B/tests/workloads/stack_sites
. tests/stacks_lib.sh

# A command that must not hang: 30 s at most.
bounded() {
	timeout 30 "$@"
	local s=$?
	[ $s -ne 124 ] || fail "timed out: $*"
	return $s
}

build_id() {
	readelf -n "$1" 2>/dev/null | awk '/Build ID/ {print $3; exit}'
}

# run_copy BIN DIR: a copy of BIN in DIR, run there with its log beside it (DIR/log).
run_copy() {
	mkdir -p "$2"
	cp "$1" "$2/app"
	"$2/app" "$2/log" || fail "$1 failed"
}

# tape_of LOG TAPE [SED]: a tape of what the program knows: its executable
# mappings (build IDs as readelf reads them now), then per chain a stack of
# the return addresses it noted (one per frame it knows, innermost first)
# and a malloc of the chain's size (1000 + its number when it has none)
# that uses it. SED, when given, edits the text first.
tape_of() {
	awk '
	$1 == "pid" { pid = $2 }
	$1 == "map" {
		id = ""; cmd = "readelf -n " $5 " 2>/dev/null"
		while ((cmd | getline l) > 0) if (l ~ /Build ID/) { split(l, w, " "); id = w[3] }
		close(cmd)
		printf "1 %d %d map %s %s %s %s %s\n", pid, pid, $2, $3, $4, $5, id
	}
	$1 == "chain" { k++; left = $4; size = $3 ? $3 : 1000 + k; frames = ""; last = ""; next }
	left > 0 {
		left--
		if ($4 != "(nil)" && $4 != last) { frames = frames " " $4; last = $4 }
		if (!left) {
			split(frames, f, " ")
			printf "%d %d %d stack %d%s\n", 10 * k, pid, pid, k, frames
			printf "%d %d %d malloc %d %#x %s %d\n", 10 * k + 1, pid, pid, size, 4096 * k, f[1], k
		}
	}' "$1" >"$2.txt"
	[ -z "${3:-}" ] || sed -i "$3" "$2.txt"
	"$MAKE_TAPE" "$2.txt" "$2" || fail "make_tape failed"
}

# The chains' sizes in a tape made by tape_of, one a line.
chain_sizes() {
	awk '$1 == "chain" { k++; print ($3 ? $3 : 1000 + k) }' "$1"
}

# expect_chains LOG JSON WHAT [ALL]: every chain's frames in leaks/stat JSON
# (.sites[] of its size) are the program's, in order, and nothing else
# before them.
expect_chains() {
	local size want got
	for size in $(chain_sizes "$1"); do
		want=$(truth "$1" "$size" "${4:-}")
		got=$(jq -c --argjson s "$size" '.sites[] | select(.bytes == $s) | .frames[]' "$2" |
			json_frames | head -n "$(wc -l <<<"$want")")
		[ -n "$want" ] || fail "no truth for the chain of $size bytes"
		[ "$got" = "$want" ] || fail "$3: the chain of $size bytes shows
$got
and the program says
$want"
	done
}

chains() {
	local bin=$1 d=$T/$2
	run_copy "$bin" "$d"
	tape_of "$d/log" "$d/tape"
	bounded "$BPFTAPE" leaks --json --skip-frames '' --stack-depth 64 "$d/tape" >"$d/leaks.json" ||
		fail "leaks failed"
	expect_chains "$d/log" "$d/leaks.json" leaks
	bounded "$BPFTAPE" stat --json --skip-frames '' --stack-depth 64 "$d/tape" >"$d/stat.json" ||
		fail "stat failed"
	expect_chains "$d/log" "$d/stat.json" stat
	# dump: each malloc's frames, in its JSON object.
	bounded "$BPFTAPE" dump --json --no-header --event malloc --stack-depth 64 "$d/tape" >"$d/dump.json" ||
		fail "dump failed"
	local size
	for size in $(chain_sizes "$d/log"); do
		[ "$(jq -c --argjson s "$size" 'select(.size == $s) | .frames[]' "$d/dump.json" | json_frames)" = \
			"$(truth "$d/log" "$size")" ] || fail "dump: the chain of $size bytes differs"
	done
	# And the text report names each chain's innermost known frame with its file and line.
	bounded "$BPFTAPE" leaks --skip-frames '' "$d/tape" >"$d/leaks.txt" || fail "leaks (text) failed"
	cat "$d/leaks.txt"
	for size in $(chain_sizes "$d/log"); do
		local first
		first=$(truth "$d/log" "$size" | head -1 | awk -F'|' '{print $2 ":" $3}')
		grep -q "^ *$size .*($first)" "$d/leaks.txt" || fail "text: the chain of $size bytes is not at $first"
	done
}

c_with_frame_pointers() { chains "${SITES}_fp" c_fp; }
c_without_frame_pointers() { chains "${SITES}_nofp" c_nofp; }
cxx_with_frame_pointers() { chains "${SITES}_cxx_fp" cxx_fp; }
cxx_without_frame_pointers() { chains "${SITES}_cxx_nofp" cxx_nofp; }

# The frames of the chains in leaks' JSON, as addresses the test computes:
# "file+offset" from the program's own maps.
expect_offsets() {
	local log=$1 json=$2 size want got kind a b c start=0 end=0 off=0 k=0 on=0 left=0 last
	for size in $(chain_sizes "$log"); do
		want="" k=0 on=0 left=0 last=""
		while read -r kind a b c rest; do
			if [ "$kind" = map ] && [[ "$rest" == */app ]]; then
				start=$((a)) end=$((b)) off=$((c))
			elif [ "$kind" = chain ]; then
				k=$((k + 1))
				[ "$(( b ? b : 1000 + k ))" = "$size" ] && on=1 || on=0
				left=$c last=""
			elif [ $on = 1 ] && [ $left -gt 0 ]; then
				left=$((left - 1))
				if [ "$c" != "(nil)" ] && [ "$c" != "$last" ] && ((c >= start && c < end)); then
					want+=$(printf '0x%x' $((c - start + off)))$'\n'
				fi
				last=$c
			fi
		done <"$log"
		got=$(jq -r --argjson s "$size" '.sites[] | select(.bytes == $s) | .frames[] |
			select(.module | test("/app$")) | .offset' "$json")
		[ "$got" = "${want%$'\n'}" ] || fail "the chain of $size bytes has offsets $got, not $want"
	done
}

# Moved aside after the "recording": found again under --symfs, or in a
# build-ID directory, and nowhere without them (file+offset, never a name).
foreign_machine() {
	local d=$T/fm id
	run_copy "${SITES}_nofp" "$d/host/opt"
	tape_of "$d/host/opt/log" "$d/tape"
	id=$(build_id "$d/host/opt/app")
	mkdir -p "$d/elsewhere" "$d/ids/.build-id/${id:0:2}"
	mv "$d/host/opt/log" "$d/log"
	mkdir -p "$d/copy$d/host"
	mv "$d/host/opt" "$d/copy$d/host/"
	bounded "$BPFTAPE" leaks --json --skip-frames '' --stack-depth 64 "$d/tape" >"$d/gone.json" 2>"$d/gone.err" ||
		fail "leaks failed"
	cat "$d/gone.err"
	[ "$(grep -c "$d/host/opt/app (build ID $id): not found" "$d/gone.err")" = 1 ] ||
		fail "the missing file is not named once"
	! jq -e '.sites[].frames[] | select(.module | test("/app$")) | .function' "$d/gone.json" | grep -qv null ||
		fail "a frame of a missing file was named"
	expect_offsets "$d/log" "$d/gone.json"
	bounded "$BPFTAPE" leaks --json --skip-frames '' --stack-depth 64 --symfs "$d/copy" "$d/tape" >"$d/symfs.json" ||
		fail "leaks --symfs failed"
	expect_chains "$d/log" "$d/symfs.json" "--symfs"
	cp "$d/copy$d/host/opt/app" "$d/ids/.build-id/${id:0:2}/${id:2}"
	bounded "$BPFTAPE" leaks --json --skip-frames '' --stack-depth 64 --debug-dir "$d/ids" "$d/tape" >"$d/ids.json" ||
		fail "leaks --debug-dir failed"
	expect_chains "$d/log" "$d/ids.json" "--debug-dir"
	# A file at the recorded place with another build ID is not used.
	mkdir -p "$d/host/opt"
	cp "${SITES}_fp" "$d/host/opt/app"
	bounded "$BPFTAPE" leaks --json "$d/tape" >"$d/other.json" 2>"$d/other.err" || fail "leaks failed"
	grep -q "has changed since the recording" "$d/other.err" || fail "another build not said"
}

# Stripped, with the debug information in a file of its own: found by its
# debug link beside it, or by build ID in a debug directory.
stripped_binaries() {
	local d=$T/strip id
	mkdir -p "$d/run" "$d/dbg"
	cp "${SITES}_cxx_nofp" "$d/run/app"
	objcopy --only-keep-debug "$d/run/app" "$d/run/app.debug" || fail "objcopy failed"
	strip --strip-all "$d/run/app"
	objcopy --add-gnu-debuglink="$d/run/app.debug" "$d/run/app"
	! readelf -S "$d/run/app" | grep -q debug_info || fail "not stripped"
	"$d/run/app" "$d/log" || fail "the stripped program failed"
	tape_of "$d/log" "$d/tape"
	bounded "$BPFTAPE" leaks --json --skip-frames '' --stack-depth 64 "$d/tape" >"$d/link.json" ||
		fail "leaks failed"
	expect_chains "$d/log" "$d/link.json" "debug link"
	id=$(build_id "$d/run/app")
	mkdir -p "$d/dbg/.build-id/${id:0:2}"
	mv "$d/run/app.debug" "$d/dbg/.build-id/${id:0:2}/${id:2}.debug"
	bounded "$BPFTAPE" leaks --json --skip-frames '' --stack-depth 64 --debug-dir "$d/dbg" "$d/tape" >"$d/id.json" ||
		fail "leaks failed"
	expect_chains "$d/log" "$d/id.json" "debug file by build ID"
	# Neither: the symbol table is gone too, so the frames are the file and offsets.
	bounded "$BPFTAPE" leaks --json --skip-frames '' "$d/tape" >"$d/none.json" || fail "leaks failed"
	! jq -e '.sites[].frames[] | select(.module | test("/app$")) | .function' "$d/none.json" |
		grep -qv null || fail "a stripped file's frames were named without its debug file"
}

# Deleted after the recording: said once, addresses kept as file+offset with
# the build ID; its debug file alone (by build ID) still names everything.
deleted_binary() {
	local d=$T/del id
	run_copy "${SITES}_fp" "$d/run"
	tape_of "$d/run/log" "$d/tape"
	id=$(build_id "$d/run/app")
	mkdir -p "$d/dbg/.build-id/${id:0:2}"
	objcopy --only-keep-debug "$d/run/app" "$d/dbg/.build-id/${id:0:2}/${id:2}.debug"
	rm "$d/run/app"
	bounded "$BPFTAPE" leaks --skip-frames '' "$d/tape" >"$d/text" 2>"$d/err" || fail "leaks failed"
	cat "$d/text" "$d/err"
	[ "$(grep -c "$d/run/app (build ID $id): not found" "$d/err")" = 1 ] ||
		fail "the deleted file is not named once"
	grep -q "app+0x[0-9a-f]* \[build ID $id\]" "$d/text" || fail "no file+offset with the build ID"
	bounded "$BPFTAPE" leaks --json --skip-frames '' --stack-depth 64 "$d/tape" >"$d/gone.json" 2>/dev/null ||
		fail "leaks failed"
	expect_offsets "$d/run/log" "$d/gone.json"
	bounded "$BPFTAPE" leaks --json --skip-frames '' --stack-depth 64 --debug-dir "$d/dbg" "$d/tape" \
		>"$d/debug.json" 2>"$d/debug.err" || fail "leaks failed"
	cat "$d/debug.err"
	expect_chains "$d/run/log" "$d/debug.json" "the deleted file's debug file"
}

# Gone here, served by a debuginfod server (a local one: no network).
debuginfod_server() {
	local d=$T/dfd id port pid
	run_copy "${SITES}_cxx_fp" "$d/run"
	tape_of "$d/run/log" "$d/tape"
	id=$(build_id "$d/run/app")
	mkdir -p "$d/www/buildid/$id"
	objcopy --only-keep-debug "$d/run/app" "$d/www/buildid/$id/debuginfo"
	cp "$d/run/app" "$d/www/buildid/$id/executable"
	rm "$d/run/app"
	"$HTTP_FILES" "$d/www" "$d/port" 60 2>"$d/http.log" &
	pid=$!
	bg_pids+=("$pid")
	wait_for "$d/port"
	port=$(cat "$d/port")
	DEBUGINFOD_URLS=http://127.0.0.1:$port DEBUGINFOD_CACHE_PATH=$d/cache \
		bounded "$BPFTAPE" leaks --json --skip-frames '' --stack-depth 64 "$d/tape" >"$d/out.json" 2>"$d/err" ||
		fail "leaks failed"
	cat "$d/err" "$d/http.log"
	grep -q "200 GET /buildid/$id/" "$d/http.log" || fail "the server was not asked"
	expect_chains "$d/run/log" "$d/out.json" debuginfod
	# A server that does not answer costs a bounded wait, then is not asked again.
	kill "$pid"
	DEBUGINFOD_URLS=http://127.0.0.1:$port DEBUGINFOD_CACHE_PATH=$d/cache2 \
		bounded "$BPFTAPE" leaks --json "$d/tape" >/dev/null 2>"$d/err2" || fail "leaks failed"
	cat "$d/err2"
}

# Paths a tape names are not trusted: a FIFO, a device, a directory, a
# sparse file too large, an ELF whose debug information names a FIFO as its
# dwz file. Nothing hangs, each is said, addresses are kept.
hostile_paths() {
	local d=$T/hostile id
	mkdir -p "$d"
	mkfifo "$d/fifo" "$d/fifo2"
	truncate -s 20G "$d/huge"
	# A real program whose .gnu_debugaltlink names the FIFO.
	cp "${SITES}_nofp" "$d/alt"
	printf '%s\0' "$d/fifo2" >"$d/altlink"
	head -c 20 /dev/urandom >>"$d/altlink"
	objcopy --add-section .gnu_debugaltlink="$d/altlink" "$d/alt" || fail "objcopy failed"
	id=$(build_id "$d/alt")
	cat >"$d/t.txt" <<EOF
1 5 5 map 0x10000 0x20000 0 $d/fifo
1 5 5 map 0x20000 0x30000 0 /dev/zero
1 5 5 map 0x30000 0x40000 0 $d
1 5 5 map 0x40000 0x50000 0 $d/huge
1 5 5 map 0x555555554000 0x555555556000 0 $d/alt $id
2 5 5 stack 1 0x10010 0x20020 0x30030 0x40040 0x555555555100
3 5 5 malloc 100 0x1000 0x10010 1
EOF
	"$MAKE_TAPE" "$d/t.txt" "$d/t.tape" || fail "make_tape failed"
	bounded "$BPFTAPE" leaks --skip-frames '' "$d/t.tape" >"$d/out" 2>"$d/err" || fail "leaks failed"
	cat "$d/out" "$d/err"
	grep -q "$d/fifo: not a regular file" "$d/err" || fail "the FIFO not said"
	grep -q "/dev/zero: not a regular file" "$d/err" || fail "the device not said"
	grep -q "$d: not a regular file" "$d/err" || fail "the directory not said"
	grep -q "$d/huge: larger than" "$d/err" || fail "the huge file not said"
	for off in fifo+0x10 zero+0x20 hostile+0x30 huge+0x40; do
		grep -q "$off" "$d/out" || fail "frame $off lost"
	done
	grep -q "supplementary file $d/fifo2 (dwz), not found" "$d/err" || fail "the dwz FIFO not said"
	# Another user's file, writable by anyone: read from a private copy, symbolised all the same.
	run_copy "${SITES}_nofp" "$d/other"
	chown nobody "$d/other/app" 2>/dev/null && chmod 0666 "$d/other/app" || { echo "cannot chown"; return 0; }
	tape_of "$d/other/log" "$d/other/tape"
	bounded "$BPFTAPE" leaks --json --skip-frames '' --stack-depth 64 "$d/other/tape" >"$d/other.json" ||
		fail "leaks failed"
	expect_chains "$d/other/log" "$d/other.json" "another user's file"
}

# A stack whose record was in a damaged chunk: the call still counts, shown
# by its caller, and the loss is said.
damaged_stack_record() {
	local d=$T/dmg
	mkdir -p "$d"
	cat >"$d/t.txt" <<EOF
1 7 7 stack 1 0x401000 0x402000
2 7 7 stack 2 0x401100 0x402000
3 7 7 malloc 100 0x1000 0x401000 1
4 7 7 malloc 200 0x2000 0x401100 2
EOF
	"$MAKE_TAPE" "$d/t.txt" "$d/t.tape" --chunk 1 || fail "make_tape failed"
	# The first chunk's payload (stack 1) damaged: one byte flipped past the header.
	local hsize first
	hsize=$(od -An -tu4 -j12 -N4 "$d/t.tape" | tr -d ' ')
	first=$((hsize + 48 + 2))
	printf '\xff' | dd of="$d/t.tape" bs=1 seek=$first conv=notrunc 2>/dev/null
	"$BPFTAPE" leaks --json "$d/t.tape" >"$d/out.json" 2>"$d/err"
	cat "$d/out.json" "$d/err"
	jq -e '.blocks == 2 and .bytes == 300' "$d/out.json" >/dev/null || fail "calls lost with the stack record"
	grep -q "1 allocator calls name stacks whose records are missing" "$d/err" || fail "the missing stack not said"
	jq -e '.sites[] | select(.bytes == 100) | .site == "0x401000"' "$d/out.json" >/dev/null ||
		fail "the call is not shown by its caller"
	jq -e '.sites[] | select(.bytes == 200) | .frames | length == 2' "$d/out.json" >/dev/null ||
		fail "the other stack was lost too"
	"$BPFTAPE" dump --no-header --event malloc "$d/t.tape" 2>/dev/null |
		grep -q "(stack #1: its record is missing from the tape)" || fail "dump does not say the stack is missing"
}

# Grouping: --site-depth K merges stacks alike in their first K frames;
# --skip-frames says which top frames are wrappers; --no-stacks groups by
# caller; --stack-depth bounds what is shown. Answers computed here.
site_depth_and_skip() {
	local d=$T/grp
	mkdir -p "$d"
	# Three stacks: 1 and 2 share their first two frames, 3 only its first.
	cat >"$d/t.txt" <<EOF
1 9 9 stack 1 0x100 0x200 0x300
2 9 9 stack 2 0x100 0x200 0x400
3 9 9 stack 3 0x100 0x500 0x300
4 9 9 malloc 10 0x1000 0x100 1
5 9 9 malloc 20 0x2000 0x100 2
6 9 9 malloc 40 0x3000 0x100 3
EOF
	"$MAKE_TAPE" "$d/t.txt" "$d/t.tape" || fail "make_tape failed"
	rows() { "$BPFTAPE" leaks --json --no-symbols "$@" "$d/t.tape" | jq -c '[.sites[] | .bytes]'; }
	[ "$(rows)" = "[40,20,10]" ] || fail "whole stacks: $(rows)"
	[ "$(rows --site-depth 2)" = "[40,30]" ] || fail "--site-depth 2: $(rows --site-depth 2)"
	[ "$(rows --site-depth 1)" = "[70]" ] || fail "--site-depth 1: $(rows --site-depth 1)"
	[ "$(rows --no-stacks)" = "[70]" ] || fail "--no-stacks: $(rows --no-stacks)"
	# Skipping frames by function: the site starts at the first other one.
	run_copy "${SITES}_fp" "$d/run"
	tape_of "$d/run/log" "$d/run/tape"
	[ "$("$BPFTAPE" leaks --json --skip-frames '^(three_b|deep_.*)$' --site-depth 1 "$d/run/tape" |
		jq -r '[.sites[] | .frames[0].function] | sort | join(",")')" = "main,main,make_record,three_a" ] ||
		fail "--skip-frames: $("$BPFTAPE" leaks --json --skip-frames '^(three_b|deep_.*)$' "$d/run/tape")"
	[ "$("$BPFTAPE" leaks --json --no-symbols --stack-depth 2 "$d/t.tape" |
		jq -c '[.sites[] | .frames | length] | max')" = 2 ] || fail "--stack-depth"
	"$BPFTAPE" leaks --skip-frames '(' "$d/t.tape" >/dev/null 2>&1
	[ $? = 2 ] || fail "a bad regex is not a usage error"
	"$BPFTAPE" stat --stack-depth 0 "$d/t.tape" >/dev/null 2>&1
	[ $? = 2 ] || fail "--stack-depth 0 is not a usage error"
}

# Names as the demangler of binutils' c++filt gives them: C++ and Rust
# (legacy and v0), from a program whose functions have such names.
demangled_names() {
	local d=$T/dem names
	mkdir -p "$d"
	names=(_ZN5sites4growEP5truthi _ZNSt6vectorIiSaIiEE17_M_realloc_insertIJRKiEEEvN9__gnu_cxx17__normal_iteratorIPiS1_EEDpOT_
		_ZN4core3ptr13drop_in_place17h5c1b7a6f3d2e1f0aE _RNvCs1234_7mycrate3foo)
	{
		for i in "${!names[@]}"; do
			echo "void f$i(void) __asm__(\"${names[$i]}\");"
			echo "__attribute__((noinline)) void f$i(void) { __asm__ volatile(\"nop; nop\"); }"
		done
		echo "int main(void) { return 0; }"
	} >"$d/names.c"
	cc -O1 -o "$d/names" "$d/names.c" || fail "cannot build the names"
	local frames="" i addr
	for i in "${!names[@]}"; do
		addr=$(nm "$d/names" | awk -v n="${names[$i]}" '$3 == n {print $1}')
		frames="$frames $((0x400000 + 16#$addr + 2))"
	done
	printf '1 3 3 map 0x400000 0x500000 0 %s %s\n2 3 3 stack 1 %s\n3 3 3 malloc 8 0x1000 0 1\n' \
		"$d/names" "$(build_id "$d/names")" "$frames" >"$d/t.txt"
	"$MAKE_TAPE" "$d/t.txt" "$d/t.tape" || fail "make_tape failed"
	"$BPFTAPE" leaks --json --skip-frames '' "$d/t.tape" | jq -r '.sites[0].frames[].function' >"$d/got"
	for n in "${names[@]}"; do c++filt -i "$n"; done | sed 's/^void //' >"$d/want"
	diff "$d/want" "$d/got" || fail "names differ from c++filt's"
}

# mwrap's format has no stacks: converting drops the stack records, and says so.
mwrap_drops_stacks() {
	local d=$T/mw
	mkdir -p "$d"
	printf '1 4 4 stack 1 0x401000\n2 4 4 malloc 16 0x1000 0x401000 1\n3 4 4 free 0x1000 0x401000 1\n' >"$d/t.txt"
	"$MAKE_TAPE" "$d/t.txt" "$d/t.tape" || fail "make_tape failed"
	"$BPFTAPE" convert "$d/t.tape" "$d/t.trace" 2>"$d/err" || fail "convert failed"
	cat "$d/err"
	grep -q "1 stack records" "$d/err" || fail "the dropped stack record not counted"
	[ "$("$BPFTAPE" dump --no-header "$d/t.trace" | wc -l)" = 2 ] || fail "the calls were not converted"
}

# The return address of every call in bpftape itself (thousands, with
# inlined calls): what dump shows for each is what elfutils' eu-addr2line
# says, function by function, file and line, inlined calls included.
agrees_with_eu_addr2line() {
	local d=$T/eu bin
	command -v eu-addr2line >/dev/null || { echo "eu-addr2line (elfutils) is not installed"; return 0; }
	mkdir -p "$d"
	bin=$(realpath "$BPFTAPE")
	addrs_tape "$bin" $((0x555500000000)) 11 >"$d/t.txt"
	"$MAKE_TAPE" "$d/t.txt" "$d/t.tape" || fail "make_tape failed"
	# Ours: each address's frames on one line, "function file:line" joined by " < ".
	bounded "$BPFTAPE" dump --no-header --event malloc --stack-depth 1000 "$d/t.tape" | awk '
		/^\t/ {
			sub(/^\t/, ""); inl = sub(/ \[inlined\]$/, "")
			if (match($0, / \([^()]*:[0-9]+\)$/)) {
				f = substr($0, RSTART + 2, RLENGTH - 3); n = split(f, p, "/")
				fr = substr($0, 1, RSTART - 1) " " p[n]
			} else {
				fr = $0; sub(/(\+0x[0-9a-f]+)? .*$/, "", fr); fr = fr " ??"
			}
			# GCC clones (f.isra.0, f.part.1) by the name of their function, as both sides show it.
			sub(/\.(isra|constprop|part|cold)(\.[0-9]+)? /, " ", fr)
			line = line (line == "" ? "" : " < ") fr
			if (!inl) { print line; line = "" }
		}' >"$d/ours"
	# eu-addr2line -a: an address, then "function [inlined at ...]" and "file:line:col" per frame.
	return_addresses "$bin" | while read -r a; do printf '0x%x\n' $((16#$a - 1)); done |
		eu-addr2line -a -f -i -e "$bin" | awk '
		/^0x[0-9a-f]+$/ { if (started) print line; started = 1; line = ""; next }
		{ fn = $1; if ((getline pos) <= 0) pos = "??:0"
		  sub(/:[0-9]+$/, "", pos); n = split(pos, p, "/")
		  sub(/\.(isra|constprop|part|cold)(\.[0-9]+)?$/, "", fn)
		  line = line (line == "" ? "" : " < ") fn " " p[n] }
		END { if (started) print line }' >"$d/theirs"
	[ "$(wc -l <"$d/ours")" -gt 1000 ] || fail "too few addresses: $(wc -l <"$d/ours")"
	# Line by line; an address neither knows a function for is shown differently ("?? ??").
	awk 'NR == FNR { theirs[FNR] = $0; next }
	     theirs[FNR] != $0 && theirs[FNR] != "?? ??" { print "eu-addr2line: " theirs[FNR] "\nbpftape:      " $0 }
	     END { if (FNR != length(theirs)) print "not as many addresses" }' "$d/theirs" "$d/ours" >"$d/diff"
	[ ! -s "$d/diff" ] || fail "differs from eu-addr2line at $(grep -c '^eu' "$d/diff") addresses: $(head -4 "$d/diff")"
}

# Every option --help lists is in the man page, and the other way round.
options_documented() {
	local c help man
	for c in dump stat leaks; do
		help=$("$BPFTAPE" $c --help | grep -o -- '^ *\(-[a-z], \)\?--[a-z-]*' | grep -o -- '--[a-z-]*' | sort -u)
		man=$(grep -o -- '^\(-[a-z], \)\?--[a-z-]*' "docs/man/bpftape-$c.1" | grep -o -- '--[a-z-]*' | sort -u)
		[ "$help" = "$man" ] || fail "$c: --help and the man page differ: $(diff <(echo "$help") <(echo "$man"))"
	done
}

TESTS=(c_with_frame_pointers c_without_frame_pointers cxx_with_frame_pointers
	cxx_without_frame_pointers foreign_machine stripped_binaries deleted_binary
	debuginfod_server hostile_paths damaged_stack_record site_depth_and_skip demangled_names
	mwrap_drops_stacks agrees_with_eu_addr2line options_documented)
for name in "${TESTS[@]}"; do
	t "$name" "$name"
done

#!/usr/bin/env bash
# The replay engine against tapes with known answers, and against what the
# recorder records. Unprivileged: nothing here needs BPF, except the test
# that records a tape first (skipped without root).
. "$(dirname "$0")/../lib.sh"
MAKE_TAPE=$B/tests/tools/make_tape

# json_field FILE KEY: a number from the engine's flat JSON report.
json_field() {
	grep -o "\"$2\":[-0-9.e]*" "$1" | head -1 | cut -d: -f2
}

# expect_field FILE KEY VALUE
expect_field() {
	local got
	got=$(json_field "$1" "$2")
	[ "$got" = "$3" ] || fail "$2 is $got, expected $3"
}

# One thread; the comments give each call's effect on live requested bytes.
cat >"$T/known.txt" <<'EOF'
1 100 100 malloc 100 0x1000 0x400100          # live 100
2 100 100 malloc 200 0x2000 0x400100          # live 300
3 100 100 free 0x1000 0x400200                # live 200
4 100 100 calloc 10 10 0x3000 0x400300        # live 300
5 100 100 realloc 0x2000 300 0x4000 0x400400  # live 400 (the peak)
6 100 100 free 0x3000 0x400200                # live 300
7 100 100 malloc 0x7fffffffffffffff 0 0x400100  # failed: not replayed
8 100 100 free 0 0x400200                     # free(NULL): replayed
9 100 100 free 0x9000 0x400200                # a block from before the recording
10 100 100 posix_memalign 64 64 0x5000 0 0x400500  # live 364
11 100 100 posix_memalign 3 64 0 22 0x400500    # EINVAL: not replayed
12 100 100 realloc 0x5000 0 0 0x400400          # glibc's realloc(p, 0): a free; live 300
13 100 100 free 0x4000 0x400200                 # live 0
EOF

exact_counts_and_peak() {
	"$MAKE_TAPE" "$T/known.txt" "$T/known.tape" || return 1
	"$REPLAY" --json "$T/known.tape" >"$T/known.json" || fail "replay failed"
	cat "$T/known.json"
	expect_field "$T/known.json" ops_malloc 2 || return 1
	expect_field "$T/known.json" ops_calloc 1 || return 1
	expect_field "$T/known.json" ops_realloc 1 || return 1
	expect_field "$T/known.json" ops_posix_memalign 1 || return 1
	expect_field "$T/known.json" ops_free 5 || return 1	# 3 frees, free(NULL), realloc(p, 0)
	expect_field "$T/known.json" skipped_failed 2 || return 1
	expect_field "$T/known.json" skipped_pre_attach 1 || return 1
	expect_field "$T/known.json" realloc_zero_frees 1 || return 1
	expect_field "$T/known.json" peak_live 400 || return 1
	expect_field "$T/known.json" empty_releases 0
}

# Thread 200 allocates big blocks (slow with --touch all); thread 201 frees
# each right after, in tape order. Without its waits, 201 runs ahead and
# finds the blocks not made yet.
cross_thread_tape() {
	local i
	for ((i = 0; i < 3000; i++)); do
		printf '%d 200 200 malloc 262144 0x%x 0x401000\n%d 200 201 free 0x%x 0x401100\n' \
			$((2 * i)) $((0x10000000 + i * 0x100000)) $((2 * i + 1)) $((0x10000000 + i * 0x100000))
	done >"$T/cross.txt"
	"$MAKE_TAPE" "$T/cross.txt" "$T/cross.tape"
}

cross_thread_frees_wait() {
	cross_thread_tape || return 1
	"$REPLAY" --json --threads faithful --touch all "$T/cross.tape" >"$T/cross.json" ||
		fail "replay failed"
	expect_field "$T/cross.json" cross_thread 3000 || return 1
	expect_field "$T/cross.json" empty_releases 0 || return 1
	# The same without waiting finds blocks not made yet: the waits are what prevents it.
	"$REPLAY" --json --threads faithful --touch all --unsafe-no-waits "$T/cross.tape" \
		>"$T/nowait.json" || fail "replay without waits failed"
	local empty
	empty=$(json_field "$T/nowait.json" empty_releases)
	echo "without waits: $empty releases found their block not made"
	[ "$empty" -gt 0 ] || fail "removing the waits changed nothing: the test proves nothing"
}

serial_and_faithful_agree() {
	cross_thread_tape || return 1
	"$REPLAY" --json --threads serial "$T/cross.tape" >"$T/s.json" || return 1
	"$REPLAY" --json --threads faithful "$T/cross.tape" >"$T/f.json" || return 1
	grep -q '"threads":"serial"' "$T/s.json" && grep -q '"threads":"faithful"' "$T/f.json" ||
		fail "modes not as asked"
	for k in ops_malloc ops_free peak_live; do
		[ "$(json_field "$T/s.json" $k)" = "$(json_field "$T/f.json" $k)" ] ||
			fail "$k differs between serial and faithful"
	done
}

# A parent's blocks are its forked child's; an exec empties the heap.
multi_process() {
	cat >"$T/mp.txt" <<'EOF'
1 100 100 malloc 1000 0x1000 0x400100
2 100 100 malloc 2000 0x2000 0x400100
3 100 100 fork 200 200
4 200 200 free 0x1000 0x400200      # the child frees what it inherited
5 200 200 malloc 500 0x3000 0x400100
6 200 200 exec /bin/true
7 200 200 free 0x3000 0x400200      # after exec: that heap is gone
8 200 200 malloc 64 0x3000 0x400100
9 200 200 exit 0 process
10 100 100 free 0x2000 0x400200
11 100 100 free 0x1000 0x400200
EOF
	"$MAKE_TAPE" "$T/mp.txt" "$T/mp.tape" || return 1
	"$REPLAY" --json "$T/mp.tape" >"$T/mp.json" || fail "replay failed: $(cat "$T/mp.json")"
	cat "$T/mp.json"
	expect_field "$T/mp.json" forks 1 || return 1
	expect_field "$T/mp.json" execs 1 || return 1
	expect_field "$T/mp.json" ops_malloc 4 || return 1
	expect_field "$T/mp.json" ops_free 3 || return 1
	expect_field "$T/mp.json" skipped_pre_attach 1 || return 1	# the free after exec
	[ "$(grep -o '"pid":200' "$T/mp.json" | wc -l)" -ge 2 ] ||
		fail "the child's images were not replayed in processes of their own"
}

# mwrap traces have no order across threads: an address can come back
# before the free that released it. Repaired, counted, never two blocks in a slot.
mwrap_inversions() {
	cat >"$T/inv.txt" <<'EOF'
0 0 0 malloc 64 0x1000
0 0 0 malloc 64 0x2000
0 0 0 malloc 32 0x1000      # 0x1000 again, before its free (another thread's buffer)
0 0 0 free 0x1000           # the old block's release
0 0 0 free 0x1000           # the new one's
0 0 0 free 0x2000
EOF
	"$MAKE_TAPE" "$T/inv.txt" "$T/inv.trace.zst" --mwrap || return 1
	"$REPLAY" --json "$T/inv.trace.zst" >"$T/inv.json" || fail "replay failed"
	grep -q '"format":"mwrap"' "$T/inv.json" || fail "not read as mwrap"
	expect_field "$T/inv.json" inversions 1 || return 1
	expect_field "$T/inv.json" unresolved_inversions 0 || return 1
	expect_field "$T/inv.json" ops_free 3 || return 1
	expect_field "$T/inv.json" skipped_pre_attach 0 || return 1
	expect_field "$T/inv.json" peak_live 160
}

foreign_tape_refused() {
	"$MAKE_TAPE" "$T/known.txt" "$T/foreign.tape" --foreign || return 1
	if "$REPLAY" "$T/foreign.tape" 2>"$T/foreign.err"; then
		fail "a big-endian 32-bit tape was replayed"
	fi
	cat "$T/foreign.err"
	grep -q "big-endian machine with 4-byte pointers" "$T/foreign.err" &&
		grep -q "little-endian with 8-byte pointers" "$T/foreign.err" ||
		fail "the refusal does not name both machines"
}

truncated_replays_to_the_damage() {
	cross_thread_tape || return 1
	"$MAKE_TAPE" "$T/cross.txt" "$T/chunked.tape" --chunk 500 || return 1
	local size
	size=$(stat -c %s "$T/chunked.tape")
	head -c $((size * 2 / 3)) "$T/chunked.tape" >"$T/cut.tape"
	"$REPLAY" --json "$T/cut.tape" >"$T/cut.json" 2>"$T/cut.err"
	local st=$?
	cat "$T/cut.err"
	[ $st = 1 ] || fail "exit status $st for a damaged tape, not 1"
	grep -q "cut off at byte" "$T/cut.err" || fail "no word about where the tape was cut"
	local ops
	ops=$(json_field "$T/cut.json" ops)
	[ "${ops:-0}" -gt 0 ] && [ "$ops" -lt 6000 ] || fail "replayed $ops calls of a cut tape"
}

prepared_file() {
	"$MAKE_TAPE" "$T/known.txt" "$T/p.tape" || return 1
	"$REPLAY" --prepare "$T/p.prep" "$T/p.tape" || fail "--prepare failed"
	"$REPLAY" --json "$T/p.prep" >"$T/p.json" || fail "replaying a prepared file failed"
	expect_field "$T/p.json" ops_malloc 2 || return 1
	expect_field "$T/p.json" peak_live 400 || return 1
	# Damaged prepared files are refused, never crash: flip a byte all over it.
	local size off st
	size=$(stat -c %s "$T/p.prep")
	for ((off = 0; off < size; off += 97)); do
		cp "$T/p.prep" "$T/bad.prep"
		printf '\xa5' | dd of="$T/bad.prep" bs=1 seek=$off conv=notrunc 2>/dev/null
		"$REPLAY" --json --threads faithful --touch none "$T/bad.prep" >/dev/null 2>"$T/bad.err"
		st=$?
		[ $st -le 1 ] || fail "byte $off flipped: exit status $st ($(cat "$T/bad.err"))"
	done
}

touch_policies() {
	local i
	for ((i = 0; i < 64; i++)); do
		printf '%d 1 1 malloc 1048576 0x%x\n' $i $((0x20000000 + i * 0x200000))
	done >"$T/big.txt"
	"$MAKE_TAPE" "$T/big.txt" "$T/big.tape" || return 1
	"$REPLAY" --json --touch none "$T/big.tape" >"$T/none.json" || return 1
	"$REPLAY" --json --touch page "$T/big.tape" >"$T/page.json" || return 1
	local none page
	none=$(json_field "$T/none.json" peak_rss)
	page=$(json_field "$T/page.json" peak_rss)
	echo "64 MiB of blocks: resident $none untouched, $page touched page by page"
	grep -q '"touch":"page"' "$T/page.json" || fail "the report does not state the policy"
	[ "$page" -gt $((60 * 1048576)) ] || fail "touching every page left only $page resident"
	[ "$none" -lt $((page / 4)) ] || fail "untouched blocks are resident ($none)"
}

compare_allocators() {
	cross_thread_tape || return 1
	"$BPFTAPE" replay --allocators glibc,jemalloc,mimalloc,tcmalloc --plot "$T/cmp.svg" \
		"$T/cross.tape" >"$T/cmp.out" || fail "the comparison failed"
	cat "$T/cmp.out"
	local a
	for a in glibc jemalloc mimalloc tcmalloc; do
		grep -q "^$a " "$T/cmp.out" || fail "no row for $a"
	done
	grep -q "emulated: pvalloc, reallocarray" "$T/cmp.out" || fail "jemalloc's missing functions not reported"
	[ "$(grep -c '<polyline' "$T/cmp.svg")" = 5 ] || fail "the plot lacks a line per allocator"
	tail -1 "$T/cmp.svg" | grep -q '</svg>' || fail "the plot is not a whole SVG"
	if "$BPFTAPE" replay --allocators glibc,nosuchalloc "$T/cross.tape" 2>"$T/cmp.err"; then
		fail "an unknown allocator was accepted"
	fi
	grep -q "unknown allocator 'nosuchalloc'" "$T/cmp.err" || fail "no clear error: $(cat "$T/cmp.err")"
}

recorded_tape_replays_clean() {
	if [ "$(id -u)" != 0 ]; then
		echo "needs root to record a tape"
		return 0
	fi
	"$BPFTAPE" record -q -o "$T/rec.tape" -- "$WORKLOAD" --threads 3 --log "$T/rec.log" ||
		fail "record failed"
	for mode in serial faithful; do
		"$REPLAY" --json --threads $mode "$T/rec.tape" >"$T/rec.json" || fail "$mode replay failed"
		expect_field "$T/rec.json" skipped_pre_attach 0 || return 1
		expect_field "$T/rec.json" skipped_lost 0 || return 1
		expect_field "$T/rec.json" empty_releases 0 || return 1
	done
	# The recorder's mwrap output replays with zero misses through the same engine.
	"$BPFTAPE" record -q --format mwrap -o "$T/rec.trace.gz" -- "$WORKLOAD" --threads 3 \
		--log "$T/rec2.log" || fail "record --format mwrap failed"
	"$REPLAY" --json "$T/rec.trace.gz" >"$T/mw.json" || fail "replaying the mwrap trace failed"
	expect_field "$T/mw.json" skipped_pre_attach 0 || return 1
	expect_field "$T/mw.json" empty_releases 0
}

# Every event kind, forks of multi-threaded processes (fences), execs: the
# prepared form must pass the engine's own checks (a fuzzer found it did not).
every_kind_prepares() {
	"$REPLAY" --touch none --json tests/golden/sample.tape >"$T/kinds.json" 2>"$T/kinds.err" ||
		fail "replay failed: $(cat "$T/kinds.err")"
	grep -q '"forks":2' "$T/kinds.json" || fail "the forks were not replayed"
	"$REPLAY" --prepare "$T/kinds.prep" tests/golden/sample.tape 2>/dev/null || fail "--prepare failed"
	"$REPLAY" --touch none "$T/kinds.prep" >/dev/null 2>&1 || fail "the prepared form was refused"
}

for name in every_kind_prepares exact_counts_and_peak cross_thread_frees_wait serial_and_faithful_agree \
	multi_process mwrap_inversions foreign_tape_refused truncated_replays_to_the_damage \
	prepared_file touch_policies compare_allocators recorded_tape_replays_clean; do
	t "$name" "$name"
done

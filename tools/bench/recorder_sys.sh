# Sourced by run.sh (root only): the syscall recorder's cost against bpftrace
# counting the same two tracepoints on the same getppid loop, in the same run.
# The yardstick is bpftrace's, not ours: a counter is the least any tracer
# of every syscall can cost.
section "Recorder: syscalls (getppid loop, $SYS_ITERS per thread)"
sys_count='tracepoint:raw_syscalls:sys_enter { @enter = count(); }
tracepoint:raw_syscalls:sys_exit { @exit = count(); } END { clear(@enter); clear(@exit); }'
# bpftrace reads tracepoint formats from tracefs: mount it for the run when the
# system has not (and unmount it after).
tracefs_mounted=0
if command -v bpftrace >/dev/null && ! mountpoint -q /sys/kernel/tracing; then
	mount -t tracefs nodev /sys/kernel/tracing && tracefs_mounted=1
fi
for threads in 1 2; do
	a=$(best_of "$B/bench/sys_loop" $threads $SYS_ITERS) || exit 1
	if command -v bpftrace >/dev/null; then
		b=$(best_of bpftrace -q -e "$sys_count" -c "$B/bench/sys_loop $threads $SYS_ITERS") ||
			exit 1
		yard="bpftrace counting"
	else
		b=$(best_of "$B/bench/count_sys" "$B/bench/sys_loop" $threads $SYS_ITERS) || exit 1
		yard="our own counter (bpftrace is not installed: make deps)"
	fi
	calls=$((SYS_ITERS * threads))
	for shards in 0 2; do
		c=$(best_of record_run "$T/s.tape" --no-alloc --ringbuf-shards $shards -- \
			"$B/bench/sys_loop" $threads $SYS_ITERS) || exit 1
		lost=$(summary_field "$T/rec.err" 'lost: \([0-9]*\)')
		cpu=$(summary_field "$T/rec.err" '(\([0-9]*\) ns\/event)')
		bpe=$(summary_field "$T/rec.err" '(\([0-9.]*\) bytes\/event)')
		[ $shards = 0 ] && kind="one ring buffer" || kind="$shards shards"
		say "$threads thread(s), $kind: bare $a s, $yard $b s, bpftape $c s; lost $lost"
		say "  per syscall: bare $(calc "$a / $SYS_ITERS * 1e9" %.0f) ns, counting +$(calc "($b - $a) / $SYS_ITERS * 1e9" %.0f) ns, bpftape +$(calc "($c - $a) / $SYS_ITERS * 1e9" %.0f) ns"
		say "  added cost: bpftape / counting = $(calc "($c - $a) / ($b - $a)")  (target <= 1.5)"
		say "  recorder CPU $cpu ns/event (target <= 200), $bpe bytes/event"
	done
done
[ $tracefs_mounted = 1 ] && umount /sys/kernel/tracing
record_run "$T/big.tape" --no-alloc --ringbuf-size 128M -- "$B/bench/sys_loop" 2 $SYS_ITERS
say "2 threads, 128 MiB ring buffer: lost $(summary_field "$T/rec.err" 'lost: \([0-9]*\)')"
# System-wide: every syscall of the machine, the loop among them.
"$BPFTAPE" record -a --no-alloc --syscalls all -o "$T/sys.tape" 2>"$T/rec.err" &
rec=$!
for ((i = 0; i < 500; i++)); do grep -q recording "$T/rec.err" && break; sleep 0.01; done
"$B/bench/sys_loop" 1 $SYS_ITERS >"$T/last"
kill -INT $rec
wait $rec
say "system-wide (-a --syscalls all), 1 thread: loop $(seconds_of "$T/last") s; lost $(summary_field "$T/rec.err" 'lost: \([0-9]*\)'), recorder CPU $(summary_field "$T/rec.err" '(\([0-9]*\) ns\/event)') ns/event"

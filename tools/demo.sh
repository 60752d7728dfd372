#!/usr/bin/env bash
# The main job, on the bundled demo workload: record a running "service"
# with bpftape record, look at what it did, then replay its allocations
# against glibc, jemalloc, mimalloc and tcmalloc to see which fits it best.
# Run as root (recording loads BPF programs): make demo
set -euo pipefail
cd "$(dirname "$0")/.."
B=${B:-build}
out=${DEMO_DIR:-demo-output}
mkdir -p "$out"

echo "== 1/3 Recording the demo service (4 threads, 8000 requests) with bpftape record"
"$B/bpftape" record --force -o "$out/demo.tape" -- "$B/tests/workloads/demo_service" --requests 2000
echo
echo "== 2/3 What it did (bpftape stat)"
"$B/bpftape" stat --top 5 "$out/demo.tape"
echo
echo "== 3/3 Replaying it against four allocators (bpftape replay)"
"$B/bpftape" replay --allocators glibc,jemalloc,mimalloc,tcmalloc --plot "$out/demo.svg" \
	"$out/demo.tape"
echo
echo "The tape is $out/demo.tape; the plot of resident memory is $out/demo.svg (open it in a browser)."

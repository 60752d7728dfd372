#!/usr/bin/env bash
# Installs the Debian packages bpftape needs (build, tests, benchmarks,
# fuzzing, the allocators replay compares), when they are missing.
# Quick when nothing is: dpkg is asked first, apt-get only when needed.
set -euo pipefail

packages=(
	make gcc clang llvm libc6-dev pkg-config binutils file
	libbpf-dev libelf-dev libdw-dev zlib1g-dev libzstd-dev libxxhash-dev bpftool
	libiberty-dev libdebuginfod-dev libbz2-dev liblzma-dev g++ elfutils jq
	gzip bzip2 zstd util-linux procps
	libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4
	bpftrace libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || { echo "install-deps: missing ${missing[*]}; run as root" >&2; exit 1; }
	sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

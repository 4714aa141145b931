#!/bin/sh
# Installs what building and testing tcptools needs on Debian 12, as root:
# the BPF toolchain and libraries from Debian, and the pinned Deno from npm.
# Safe to run again.
set -eu
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
packages="clang llvm bpftool bpftrace nginx curl debootstrap libbpf-dev libbpf1 libelf1 zlib1g gcc libc6-dev sudo iproute2 util-linux libbpf-tools procps prometheus nftables"
command -v npm >/dev/null 2>&1 || packages="$packages nodejs npm"
apt-get update -qq
apt-get install -y -qq --no-install-recommends $packages >/dev/null
# The version is pinned exactly in toolchain/package.json (npm ci would also
# want lock entries for the other platforms, which this registry omits).
npm install --prefix toolchain --no-audit --no-fund --loglevel=error
# The peer tool in the benchmark (libbpf-tools tcplife) attaches through tracefs.
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing || true
echo "setup done: $(scripts/deno --version | head -1)"

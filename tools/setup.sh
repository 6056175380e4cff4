#!/usr/bin/env bash
# tools/setup.sh - get a fresh Debian 12 machine ready and build nestlab.
#
# Installs the Debian packages nestlab needs that are not installed yet
# (with sudo when not root), configures the build directory `build` if it is
# not configured, and builds everything. Safe to run again: it then only
# rebuilds what changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(
	gcc gcc-multilib meson ninja-build nasm pkg-config
	libglib2.0-dev libgtk-3-dev liblua5.4-dev libcapstone-dev libzstd-dev
	qemu-system-x86 bochs bochsbios bochs-x vgabios xvfb
	clang libclang-rt-14-dev python3 multiboot gdb libreadline-dev
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if ((${#missing[@]})); then
	echo "setup: installing ${missing[*]}"
	sudo=()
	if [ "$(id -u)" != 0 ]; then
		sudo=(sudo)
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -f build/build.ninja ]; then
	meson setup build
fi
ninja -C build

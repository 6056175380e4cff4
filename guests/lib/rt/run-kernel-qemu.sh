#!/bin/sh
# run-kernel-qemu.sh QEMU KERNEL [QEMU ARGS...] - boot a multiboot test
# kernel on QEMU with COM1 on stdout and the exit device on port 0xF4, and
# succeed only if the guest wrote status 0 there (QEMU exit status 1).
# The run is cut off after RT_QEMU_TIMEOUT seconds (default 60).
qemu="$1"
kernel="$2"
shift 2
timeout "${RT_QEMU_TIMEOUT:-60}" "$qemu" -kernel "$kernel" -serial stdio -display none -nodefaults \
	-device isa-debug-exit,iobase=0xf4,iosize=4 -m 32 -no-reboot "$@" </dev/null
status=$?
if [ "$status" -eq 1 ]; then
	exit 0
fi
if [ "$status" -eq 124 ]; then
	echo "run-kernel-qemu.sh: timed out after ${RT_QEMU_TIMEOUT:-60} s" >&2
else
	echo "run-kernel-qemu.sh: QEMU exited with status $status, expected 1 (guest status 0)" >&2
fi
exit 1

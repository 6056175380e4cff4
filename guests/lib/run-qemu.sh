#!/bin/sh
# run-qemu.sh QEMU ROM - boot a test ROM on QEMU the way docs/board.md says
# and succeed only if the guest wrote status 0 to port 0xF4 (QEMU exit
# status 1). The guest's console output goes to stdout.
qemu="$1"
rom="$2"
"$qemu" -bios "$rom" -debugcon stdio -device isa-debug-exit,iobase=0xf4,iosize=4 \
	-display none -m 32 -nodefaults
status=$?
if [ "$status" -eq 1 ]; then
	exit 0
fi
echo "run-qemu.sh: QEMU exited with status $status, expected 1 (guest status 0)" >&2
exit 1

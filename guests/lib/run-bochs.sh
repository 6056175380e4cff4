#!/bin/sh
# run-bochs.sh ROM [MiB] - boot a 64 KiB test ROM on Bochs the way
# docs/board.md describes (ROM at 0xFFFF0000, port 0xE9 console, 32 MiB).
#
# Bochs has no exit device: the guests also write "Shutdown" to port 0x8900,
# which ends the simulation. The guest's console output goes to stdout; the
# exit status is 0 if the output contains "ALL PASSED" (the cputest ROMs)
# or "hello: done" (the demo guest), 1 otherwise. Needs a Bochs with the X
# display library (run under xvfb-run when there is no display) and its
# built-in debugger answering on stdin, as Debian's bochs package is built.
rom="$1"
mem="${2:-32}"
dir=$(mktemp -d) || exit 2
trap 'rm -rf "$dir"' EXIT
vgarom="${BOCHS_VGAROM:-/usr/share/bochs/VGABIOS-lgpl-latest}"   # Debian bochsbios/vgabios
cat > "$dir/bochsrc" <<EOC
megs: $mem
romimage: file=$rom, address=0xffff0000
vgaromimage: file=$vgarom
display_library: x
port_e9_hack: enabled=1
log: $dir/bochs.log
panic: action=fatal
error: action=report
info: action=ignore
clock: sync=none, time0=1
cpu: count=1, ips=50000000
EOC
# Bochs 2.7 reads uninitialized heap memory: a perturbed heap (meson test
# sets MALLOC_PERTURB_) makes it abort.
unset MALLOC_PERTURB_
run="bochs"
if [ -z "$DISPLAY" ] && command -v xvfb-run > /dev/null; then
	run="xvfb-run -a bochs"
fi
printf 'c\nq\n' | $run -q -f "$dir/bochsrc" 2> "$dir/err" | tee "$dir/out" |
	sed -n '/^<bochs:1> c$/,$p' | sed '1d' | grep -v -e '^====' -e '^Bochs is exiting' \
		-e 'Shutdown port' -e '^(0)' -e '^[0-9]*p\[UNMAP'
if grep -q -e 'ALL PASSED' -e 'hello: done' "$dir/out"; then
	exit 0
fi
echo "run-bochs.sh: the guest did not report success; end of the Bochs output:" >&2
tail -n 20 "$dir/out" >&2
tail -n 20 "$dir/err" "$dir/bochs.log" >&2 2> /dev/null
exit 1

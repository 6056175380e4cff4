#!/usr/bin/env bash
# test-multiboot-example.sh NESTLAB_RUN - boots the multiboot specification's
# example kernel (Debian package `multiboot`) and checks what it writes on
# the VGA text screen: the boot information as the kernel itself decoded it
# (flags, memory sizes, command line, modules, memory map), then "Halted."
set -u
run=$1
kernel=/usr/lib/multiboot/examples/kernel
if [ ! -f "$kernel" ]; then
	echo "SKIP: $kernel is missing (apt-get install multiboot; tools/setup.sh does)"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check NAME: reads the screen from $tmp/screen
	if grep -qxF -- "$2" "$tmp/screen"; then echo "ok - $1"; else
		echo "FAIL - $1: no line '$2'"; fails=$((fails + 1)); fi
}

echo "module one" >"$tmp/mod1.txt"
"$run" "$kernel" --mem 64 --cmdline "quiet answer=42" --module "$tmp/mod1.txt,first module" \
	--vga-dump --max-insns 10000000 >"$tmp/screen" 2>"$tmp/err"
status=$?
echo "--- screen (exit $status) ---"
cat "$tmp/screen"
echo "---"
[ "$status" = 4 ] && echo "ok - the kernel halts with interrupts off (exit 4)" ||
	{ echo "FAIL - exit $status, want 4 (halted)"; cat "$tmp/err"; fails=$((fails + 1)); }
check "memory sizes: 639 KiB low, 64 MiB - 1 MiB high" "mem_lower = 639KB, mem_upper = 64512KB"
check "command line: the kernel's path and --cmdline" "cmdline = $kernel quiet answer=42"
grep -q "^mods_count = 1, mods_addr = 0x" "$tmp/screen" && echo "ok - one module" ||
	{ echo "FAIL - mods_count"; fails=$((fails + 1)); }
grep -q "^ mod_start = 0x.*, mod_end = 0x" "$tmp/screen" && echo "ok - module bounds shown" ||
	{ echo "FAIL - module bounds"; fails=$((fails + 1)); }
check "mmap: base memory available" " size = 0x14, base_addr = 0x000000000, length = 0x00009fc00, type = 0x1"
check "mmap: EBDA reserved" " size = 0x14, base_addr = 0x00009fc00, length = 0x000000400, type = 0x2"
check "mmap: BIOS area reserved" " size = 0x14, base_addr = 0x0000f0000, length = 0x000010000, type = 0x2"
check "mmap: RAM above 1 MiB (63 MiB)" " size = 0x14, base_addr = 0x000100000, length = 0x003f00000, type = 0x1"
check "the kernel's last line" "Halted."
exit $fails

#!/usr/bin/env bash
# test-boot-errors.sh NESTLAB_RUN MKELF - every kind of bad input to a
# kernel boot gets its own exit status and a message that names the problem
# (docs/nestlab-run.md, "Exit status"); a guest's writes never reach the
# original disk image.
set -u
run=$1
mkelf=$2
tmp=$(mktemp -d)
trap 'chmod -R u+rwx "$tmp"; rm -rf "$tmp"' EXIT
fails=0

check() { # check NAME STATUS
	if [ "$2" = 0 ]; then echo "ok - $1"; else echo "FAIL - $1"; fails=$((fails + 1)); fi
}

matches() { # matches PATTERN FILE: an empty PATTERN means an empty FILE
	if [ -z "$1" ]; then [ ! -s "$2" ]; else grep -qiE -- "$1" "$2"; fi
}

expect() { # expect NAME STATUS PATTERN CMD... : exit status and a message on stderr
	local name=$1 want=$2 pattern=$3
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	[ "$got" = "$want" ]
	check "$name: exit $got, want $want" $?
	matches "$pattern" "$tmp/err"
	check "$name: message matches /$pattern/" $?
	if [ "$got" != "$want" ] || ! matches "$pattern" "$tmp/err"; then
		sed 's/^/    /' "$tmp/err"
	fi
}

for k in ok x86_64 arm nomb badsum badflags big low truncated overlap; do
	"$mkelf" "$k" "$tmp/$k.elf"
done
echo "this is not a kernel" >"$tmp/text.bin"
head -c 4096 /dev/zero >"$tmp/disk.img"

expect "a kernel that boots" 1 "" "$run" "$tmp/ok.elf"
expect "missing kernel file" 66 "none\.elf" "$run" "$tmp/none.elf"
expect "not an ELF file" 80 "neither|not an ELF|multiboot" "$run" "$tmp/text.bin"
expect "ELF for x86-64" 82 "x86-64|64-bit|architecture" "$run" "$tmp/x86_64.elf"
expect "ELF for ARM" 82 "ARM|architecture|machine" "$run" "$tmp/arm.elf"
expect "truncated ELF" 81 "truncat|short|malformed" "$run" "$tmp/truncated.elf"
expect "no multiboot header" 83 "multiboot header" "$run" "$tmp/nomb.elf"
expect "bad multiboot checksum" 84 "checksum" "$run" "$tmp/badsum.elf"
expect "unknown required multiboot flag" 84 "flag|bit" "$run" "$tmp/badflags.elf"
expect "RAM too small" 86 "MiB|RAM|memory" "$run" "$tmp/big.elf" --mem 16
# A kernel linked over 0x9000 boots: the information goes after it (docs/boot.md)
expect "kernel linked at 0x8000 boots" 1 "" "$run" "$tmp/low.elf"
expect "boot information beyond RAM's end" 86 "boot information|end of RAM|--mem 2" "$run" "$tmp/low.elf" --mem 1
expect "kernel segments overlapping each other" 85 "overlap each other" "$run" "$tmp/overlap.elf"
expect "missing module" 66 "nomod" "$run" "$tmp/ok.elf" --module "$tmp/nomod.bin"
head -c $((3 << 20)) /dev/zero >"$tmp/bigmod.bin"
expect "module too big for RAM" 86 "MiB|RAM|memory" "$run" "$tmp/ok.elf" --mem 2 --module "$tmp/bigmod.bin"

expect "missing disk image" 66 "nodisk\.img" "$run" "$tmp/ok.elf" --disk "$tmp/nodisk.img"
expect "a directory as disk image" 87 "director" "$run" "$tmp/ok.elf" --disk "$tmp"
: >"$tmp/empty.img"
expect "an empty disk image" 87 "empty" "$run" "$tmp/ok.elf" --disk "$tmp/empty.img"
cp "$tmp/disk.img" "$tmp/noread.img"
chmod 000 "$tmp/noread.img"
expect "an unreadable disk image" 77 "read|permission" "$run" "$tmp/ok.elf" --disk "$tmp/noread.img"
cp "$tmp/disk.img" "$tmp/ro.img"
chmod 444 "$tmp/ro.img"
expect "writeback on a read-only disk image" 88 "read-only" \
	"$run" "$tmp/ok.elf" --disk "$tmp/ro.img,writeback"
expect "a read-only disk image without writeback is fine" 1 "" \
	"$run" "$tmp/ok.elf" --disk "$tmp/ro.img"
expect "bad --disk flag" 64 "unknown flag" "$run" "$tmp/ok.elf" --disk "$tmp/disk.img,bogus"
expect "bad --input" 64 "--input" "$run" "$tmp/ok.elf" --input "lpt1:x"
expect "bad --serial" 64 "--serial" "$run" "$tmp/ok.elf" --serial "tcp:1234"
expect "bad --flat" 64 "--flat" "$run" --flat "$tmp/text.bin"
expect "two things to boot" 64 "one of" "$run" "$tmp/ok.elf" --rom "$tmp/x.rom"
exit $fails

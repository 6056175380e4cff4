#!/usr/bin/env bash
# test-nestlab-run.sh NESTLAB_RUN - the runner's command line, exit statuses
# and messages (docs/nestlab-run.md), on tiny ROMs made here.
set -u
run=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # check NAME CONDITION-RESULT
	if [ "$2" = 0 ]; then echo "ok - $1"; else echo "FAIL - $1"; fails=$((fails + 1)); fi
}

# rom FILE HEX-BYTES: a 64 KiB ROM of HLTs, the code at 0, JMP F000:0000 at reset.
rom() {
	head -c 65536 /dev/zero | tr '\0' '\364' >"$1"
	printf "$(echo "$2" | sed 's/\([0-9a-f][0-9a-f]\)/\\x\1/g; s/ //g')" |
		dd of="$1" conv=notrunc status=none
	printf '\xea\x00\x00\x00\xf0' | dd of="$1" bs=1 seek=65520 conv=notrunc status=none
}

expect_status() { # expect_status NAME WANT CMD...
	local name=$1 want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	[ "$got" = "$want" ]
	check "$name (exit $got, want $want)" $?
}

expect_status "--version" 0 "$run" --version
grep -q '^nestlab-run [0-9]' "$tmp/out"; check "--version prints the version" $?
expect_status "--help" 0 "$run" --help
grep -q 'Exit status' "$tmp/out"; check "--help documents exit statuses" $?
expect_status "no arguments is a usage error" 64 "$run"
expect_status "unknown option is a usage error" 64 "$run" --bogus
expect_status "bad --post-port" 64 "$run" --rom x --post-port 0xzz
expect_status "--mem out of range" 64 "$run" --rom x --mem 99999
expect_status "--history-mib without --gdb" 64 "$run" --rom x --history-mib 16
grep -q "give --gdb PORT too" "$tmp/err"; check "--history-mib message says what to add" $?
expect_status "--history-mib out of range" 64 "$run" --rom x --gdb 0 --history-mib 99999
expect_status "missing ROM" 66 "$run" --rom "$tmp/none.rom"
grep -q "none.rom" "$tmp/err"; check "missing ROM message names the file" $?
head -c 1000 /dev/zero >"$tmp/small.rom"
expect_status "ROM of the wrong size" 66 "$run" --rom "$tmp/small.rom"
grep -q "64 KiB" "$tmp/err"; check "wrong-size message gives the sizes" $?
expect_status "missing vector directory" 66 "$run" --vectors "$tmp/novec"

# mov al,'o'; out e9; mov al,'k'; out e9; mov al,0a; out e9; mov al,42; out 80; mov al,2; out f4
rom "$tmp/exit.rom" "b06f e6e9 b06b e6e9 b00a e6e9 b042 e680 b002 e6f4"
expect_status "guest exit 2 gives status 5" 5 "$run" --rom "$tmp/exit.rom"
[ "$(cat "$tmp/out")" = "ok" ]; check "console bytes reach stdout" $?
grep -q "POST code 0x42" "$tmp/err"; check "last POST code is reported" $?
# mov al,77; mov dx,190; out dx,al; mov al,0; out f4
rom "$tmp/post.rom" "b077 ba9001 ee b000 e6f4"
expect_status "--post-port 0x190" 1 "$run" --rom "$tmp/post.rom" --post-port 0x190
grep -q "POST code 0x77" "$tmp/err"; check "POST code read from the chosen port" $?
expect_status "--post-port decimal 400" 1 "$run" --rom "$tmp/post.rom" --post-port 400
grep -q "POST code 0x77" "$tmp/err"; check "decimal POST port" $?

rom "$tmp/loop.rom" "ebfe"
expect_status "--max-insns limit gives 6" 6 "$run" --rom "$tmp/loop.rom" --max-insns 1000
grep -q "instruction limit" "$tmp/err"; check "limit message" $?
rom "$tmp/halt.rom" "fa f4"
expect_status "HLT with nothing to wake gives 4" 4 "$run" --rom "$tmp/halt.rom"
# lidt cs:[0007] (6 zero bytes after the int3: IVT limit 0); int3
rom "$tmp/tf.rom" "2e0f011e0700 cc 000000000000"
expect_status "triple fault gives 2" 2 "$run" --rom "$tmp/tf.rom" --max-insns 100000
grep -q "shut down" "$tmp/err"; check "shutdown message" $?

expect_status "--trace-cpu" 6 "$run" --rom "$tmp/loop.rom" --max-insns 3 --trace-cpu "$tmp/trace"
[ "$(wc -l <"$tmp/trace")" = 3 ]; check "one trace line per instruction" $?
# EDX at RESET is the CPU signature: the default model, pentium2 (0x652; docs/cpu.md)
line='^0 eip=0000fff0 eax=00000000 ecx=00000000 edx=00000652 ebx=00000000 esp=00000000 ebp=00000000 esi=00000000 edi=00000000 efl=00000002 cs=f000 ss=0000 ds=0000 es=0000 fs=0000 gs=0000 cr0=60000010 cr2=00000000 cr3=00000000 cr4=00000000 cpl=0$'
head -1 "$tmp/trace" | grep -Eq "$line"; check "trace line format" $?
sed -n 2p "$tmp/trace" | grep -q '^1 eip=00000000 .* cs=f000 '; check "second line after the far jump" $?
expect_status "trace to an impossible path" 73 "$run" --rom "$tmp/loop.rom" --max-insns 3 --trace-cpu "$tmp/no/dir/t"
expect_status "--stats" 6 "$run" --rom "$tmp/loop.rom" --max-insns 100000 --stats
grep -q "100000 instructions.*MIPS" "$tmp/err"; check "--stats line" $?

# A two-test vector directory: NOP passes; the second expects AX=1 and fails.
mkdir "$tmp/vec"
z="0000 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000"
{
	echo "90 0 h | 90f4 | $z 0100 0002 | 100:90 101:f4 | $z 0102 0002 |  | ffff | -"
	echo "90 1 h | 90f4 | $z 0100 0002 | 100:90 101:f4 | 0001 ${z#0000 } 0102 0002 |  | ffff | -"
} >"$tmp/vec/90.txt"
expect_status "--vectors with a failure gives 5" 5 "$run" --vectors "$tmp/vec"
tail -1 "$tmp/out" | grep -qx "1 passed, 1 failed"; check "--vectors ends with N passed, N failed" $?
grep -q "^FAIL 90 1 " "$tmp/out"; check "--vectors names the failing test" $?
grep -q "ax    expected 0001  actual 0000" "$tmp/out"; check "--vectors shows the diff" $?
echo "90 1 a test listed as a known difference" >"$tmp/known.txt"
expect_status "--known lists the failure" 0 "$run" --vectors "$tmp/vec" --known "$tmp/known.txt"
echo "90 x bad" >"$tmp/badknown.txt"
expect_status "malformed --known file" 66 "$run" --vectors "$tmp/vec" --known "$tmp/badknown.txt"

echo "$fails failed"
[ "$fails" = 0 ]

#!/usr/bin/env bash
# test-cli.sh NESTLAB_RUN - the command line as nestlab-run's option table
# gives it: --help fits an 80-column terminal, and --mem reads sizes as
# QEMU's -m does, checked against what the multiboot example kernel of
# Debian's multiboot package reports from the boot information (mem_upper:
# the KiB above 1 MiB).
set -u
run=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # check NAME CONDITION-RESULT
	if [ "$2" = 0 ]; then echo "ok - $1"; else echo "FAIL - $1"; fails=$((fails + 1)); fi
}

"$run" --help >"$tmp/help"
check "--help exits 0" $?
wide=$(awk 'length > 79 { n++ } END { print n + 0 }' "$tmp/help")
[ "$wide" = 0 ]; check "--help: no line is wider than 79 columns ($wide are)" $?
grep -q -- '--mem SIZE' "$tmp/help"; check "--help names --mem's SIZE" $?
grep -q 'bare number is MiB' "$tmp/help"; check "--help says a bare --mem is MiB" $?
"$run" -h | cmp -s - "$tmp/help"; check "-h is --help" $?
for opt in rom flat module cmdline disk serial input vga-dump state-hash rtc-epoch \
	uart-out2-gate mem max-insns post-port trace-cpu itrace stats vectors form details \
	known monitor cpu device faithful-i386 nest tinyvmm assist vm gdb no-history \
	history-mib record replay snapshot-at restore vm-at vm-save-at vm-load script eval lua allow-host script-limit script-mem \
	version; do
	grep -q -- "^  --$opt\b" "$tmp/help" || { echo "# --help lacks --$opt"; fails=$((fails + 1)); }
done

kernel=/usr/lib/multiboot/examples/kernel
if [ -f "$kernel" ]; then
	upper() { # upper MEM: mem_upper as the kernel prints it
		"$run" "$kernel" --vga-dump --max-insns 5000000 --mem "$1" 2>/dev/null |
			sed -n 's/.*mem_upper = \([0-9]*\)KB.*/\1/p'
	}
	for spec in "64 65536" "64M 65536" "64m 65536" "1G 1048576" "1g 1048576" \
		"1.5G 1572864" "2048K 2048" "512MB 524288" "2G 2097152"; do
		set -- $spec
		got=$(upper "$1")
		[ "$got" = $(($2 - 1024)) ]; check "--mem $1 gives mem_upper $(($2 - 1024)) KiB (got $got)" $?
	done
else
	echo "ok - # SKIP $kernel (Debian's multiboot package) is not installed"
fi

expect() { # expect NAME STATUS PATTERN CMD...
	local name=$1 want=$2 pat=$3
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	[ "$got" = "$want" ] && grep -q -- "$pat" "$tmp/err"
	check "$name (exit $got, want $want)" $?
}
expect "--mem 5X is refused" 64 "--mem '5X' must be a size such as 512M or 1G" "$run" --rom x --mem 5X
expect "--mem 100K (not whole MiB) is refused" 64 "--mem '100K'" "$run" --rom x --mem 100K
expect "--mem 4G is too much" 64 "between 1 and 3072 MiB" "$run" --rom x --mem 4G
expect "--mem 0 is too little" 64 "between 1 and 3072 MiB" "$run" --rom x --mem 0
expect "--vm mem=1X is refused" 64 "mem= must be a size" "$run" x --vm 'a:b,mem=1X'

echo "$fails failed"
[ "$fails" = 0 ]

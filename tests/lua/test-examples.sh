#!/usr/bin/env bash
# test-examples.sh NESTLAB_RUN EXAMPLES_DIR MINIOS_ELF FS_IMG OTHER_KERNEL -
# the example scripts of scripts/examples run and say what they should.
set -u
run=$1 dir=$2 kernel=$3 disk=$4 other=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # check NAME CONDITION-RESULT
	if [ "$2" = 0 ]; then echo "ok - $1"; else echo "FAIL - $1"; fails=$((fails + 1)); fi
}

example() { # example NAME ARGS...: runs it; its stdout in $tmp/out
	"$run" --script "$dir/$1" "${@:2}" >"$tmp/out" 2>"$tmp/err"
	local st=$?
	check "$1 runs (exit $st)" $st
	[ "$st" = 0 ] || sed 's/^/# /' "$tmp/err"
}

example session.lua "$kernel" "$disk"
grep -q "^hello.txt " "$tmp/out" && grep -q "^forktest " "$tmp/out"
check "session.lua: ls lists the files of the disk" $?
grep -q "^the guest ended: exit, exit status 1," "$tmp/out"; check "session.lua: halt ends the guest (exit 1)" $?
grep -Eq "^VM vm0 \(level 1\): [1-9][0-9]* exits$" "$tmp/out"; check "session.lua: counts the exits" $?

example tree.lua "$kernel" "$disk" "$other"
grep -Eq "^vm0 +level 1 .* eip=80" "$tmp/out"; check "tree.lua: vm0's registers" $?
grep -Eq "^second +level 1 " "$tmp/out"; check "tree.lua: the second VM" $?
# vm0 runs miniOS at 0x80000000 and up, mapped to guest-physical 0 and up;
# the second VM's share starts after vm0's 32 MiB and its monitor's 16.
grep -Eq "eip: virtual 801([0-9a-f]{5}) -> guest-physical 001\1 -> host-physical 001\1$" "$tmp/out"
check "tree.lua: vm0's EIP translates through miniOS's high mapping" $?
grep -Eq "eip: virtual (00[0-9a-f]{6}) -> guest-physical \1 -> host-physical 03[0-9a-f]{6}$" "$tmp/out"
check "tree.lua: the second VM's EIP lands in its share of host memory" $?
grep -Eq "^vm0 paused: paused at ([0-9]+) instructions, still \1$" "$tmp/out"
check "tree.lua: a paused VM does not run" $?
grep -Eq "^vm0 resumed: running, now [0-9]+$" "$tmp/out"; check "tree.lua: resumed, it runs" $?

fork=$(nm "$kernel" | awk '$3 == "fork" { print $1 }')
example breakpoint.lua "$kernel" "$disk" "$fork"
[ "$(grep -c "eip=$fork, returns to " "$tmp/out")" = 3 ]; check "breakpoint.lua: three calls of fork" $?
grep -q "^the run stopped: break, 3 calls$" "$tmp/out"; check "breakpoint.lua: the callback stops the run" $?
# Every return address lies in syscall, the dispatcher (sys_fork jumps to
# fork): the text symbol nm -n puts last at or before it.
ret=$(sed -n 's/.*returns to \([0-9a-f]*\)$/\1/p' "$tmp/out" | sort -u)
in=$(nm -n "$kernel" | awk -v r="$ret" '$2 ~ /^[tT]$/ && $1 <= r { f = $3 } END { print f }')
[ -n "$ret" ] && [ "$in" = syscall ]
check "breakpoint.lua: fork returns into syscall (got $ret, in ${in:-?})" $?

example snapshot.lua "$kernel" "$disk" "$tmp/m.snap"
[ "$(grep -c ': *the same$' "$tmp/out")" = 2 ]; check "snapshot.lua: seek and restore give the same state" $?
"$run" --restore "$tmp/m.snap" --max-insns 6000000 --state-hash 2>"$tmp/cli" >/dev/null
want=$(sed -n 's/^nestlab-run: state hash //p' "$tmp/cli")
grep -q "^state hash at 6000000: $want$" "$tmp/out"
check "snapshot.lua: nestlab-run --restore of its file comes to the same state" $?

echo "$fails failed"
[ "$fails" = 0 ]

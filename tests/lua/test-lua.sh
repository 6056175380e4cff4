#!/usr/bin/env bash
# test-lua.sh WHAT NESTLAB_RUN MINIOS_ELF FS_IMG OTHER_KERNEL - the Lua
# module against oracles of its own kind: what nestlab-run itself prints
# for the same run (state hashes, --trace-cpu lines, --restore, --vm-at),
# and symbol addresses from nm. WHAT is one of hash, trace, points,
# snapshot, writes, vms.
set -u
what=$1 run=$2 kernel=$3 disk=$4 other=$5
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # check NAME CONDITION-RESULT
	if [ "$2" = 0 ]; then echo "ok - $1"; else echo "FAIL - $1"; fails=$((fails + 1)); fi
}

lua() { # lua SCRIPT ARGS...: runs it; its stdout in $tmp/out
	"$run" --script "$here/$1" "${@:2}" >"$tmp/out" 2>"$tmp/err"
	local st=$?
	[ "$st" = 0 ] || { echo "# $1 exited $st:"; sed 's/^/# /' "$tmp/err"; }
	return $st
}

case $what in
hash)
	# The same options, the same run: Lua's hashes are nestlab-run's.
	for n in 1 100000 12000000; do
		lua hash.lua "$kernel" "$disk" $n
		"$run" "$kernel" --disk "$disk,slave" --serial none --max-insns $n --state-hash \
			2>"$tmp/cli" >/dev/null
		want=$(sed -n 's/^nestlab-run: \(state hash .*\)/\1/p' "$tmp/cli")
		[ -n "$want" ] && grep -qx "$want" "$tmp/out"
		check "after $n instructions the state hash is nestlab-run's" $?
		want=$(sed -n 's/^nestlab-run: \(console hash .*\)/\1/p' "$tmp/cli")
		grep -qx "$want" "$tmp/out"; check "after $n instructions the console hash is nestlab-run's" $?
	done
	# machine{input=...} is --input: the same session to the same state.
	input='com1~$ :ls\n'
	lua hash.lua "$kernel" "$disk" 40000000 "$input"
	"$run" "$kernel" --disk "$disk,slave" --serial none --max-insns 40000000 --state-hash \
		--input "$input" 2>"$tmp/cli" >/dev/null
	want=$(sed -n 's/^nestlab-run: \(state hash .*\)/\1/p' "$tmp/cli")
	grep -qx "$want" "$tmp/out"; check "machine{input=...} drives the run as --input does" $?
	;;
trace)
	# Registers read through m.regs before each m:step are --trace-cpu's lines.
	n=20000
	lua trace.lua "$kernel" "$disk" $n
	"$run" "$kernel" --disk "$disk,slave" --serial none --max-insns $n --trace-cpu "$tmp/cli" \
		2>/dev/null >/dev/null
	head -n $n "$tmp/cli" | cmp -s - "$tmp/out"
	check "m.regs before each of $n m:step() are the lines of --trace-cpu" $?
	[ "$(wc -l <"$tmp/out")" = $n ]; check "one line per step" $?
	;;
points)
	fork=$(nm "$kernel" | awk '$3 == "fork" { print $1 }')
	ticks=$(nm "$kernel" | awk '$3 == "ticks" { print $1 }')
	[ -n "$fork" ] && [ -n "$ticks" ]; check "nm finds fork and ticks in $kernel" $?
	lua points.lua "$kernel" "$disk" "$fork" "$ticks"
	grep -q "^break stop=break kind=exec addr=$fork eip=$fork$" "$tmp/out"
	check "a breakpoint at fork (nm: $fork) fires there and its callback stops the run" $?
	grep -Eq "^counted forks=[1-9][0-9]* tick_writes=[1-9][0-9]* same_state=true$" "$tmp/out"
	check "callbacks that go on count hits, and the run ends as one without points" $?
	grep -Eq "^on hits=[1-9][0-9]* after_delete=0$" "$tmp/out"
	check "m:on('insn', {addr=fork}) counts, m:delete stops it" $?
	;;
snapshot)
	lua snapshot.lua "$kernel" "$disk" 3000000 9000000 "$tmp/s.snap"
	"$run" --restore "$tmp/s.snap" --max-insns 9000000 --state-hash 2>"$tmp/cli" >/dev/null
	want=$(sed -n 's/^nestlab-run: state hash //p' "$tmp/cli")
	[ -n "$want" ] && grep -qx "on 9000000 $want" "$tmp/out"
	check "m:snapshot's file continues under nestlab-run --restore as the script's machine" $?
	grep -qx "restored 9000000 $want" "$tmp/out"
	check "nestlab.restore(file) continues the same way" $?
	;;
writes)
	lua writes.lua "$kernel" "$disk"
	grep -qx "differs_from_plain true" "$tmp/out"; check "the writes change the run" $?
	grep -qx "again_after_seek true 3200000" "$tmp/out"
	check "after m:seek before them, the logged writes happen again: the same state" $?
	;;
vms)
	lua vms.lua "$kernel" "$disk" "$other" 2000000 6000000
	grep -qx "vm vm0 level=1 state=running icount>0=true exits>0=true" "$tmp/out"
	check "m:vms() lists vm0 at level 1" $?
	grep -Eqx "vm dev level=1 state=(running|stopped) icount>0=true exits>0=true" "$tmp/out"
	check "m:vms() lists the --vm beside it" $?
	grep -qx "after destroy: destroyed" "$tmp/out"; check "vm:destroy()" $?
	"$run" "$kernel" --disk "$disk,slave" --serial none --vm "dev:$other,serial=none" \
		--vm-at destroy:dev@2000000 --max-insns 6000000 --state-hash 2>"$tmp/cli" >/dev/null
	want=$(grep -m1 '^nestlab-run: state hash' "$tmp/cli" | sed 's/^nestlab-run: //')
	[ -n "$want" ] && grep -qx "$want" "$tmp/out"
	check "the machine ends as with --vm-at destroy:dev@2000000 --max-insns 6000000" $?
	;;
*)
	echo "test-lua.sh: no test '$what'"
	exit 2
	;;
esac

echo "$fails failed"
[ "$fails" = 0 ]

#!/usr/bin/env bash
# test-lua.sh WHAT NESTLAB_RUN MINIOS_ELF FS_IMG OTHER_KERNEL - the Lua
# module against oracles of its own kind: what nestlab-run itself prints
# for the same run (state hashes, --trace-cpu lines, --restore, --vm-at),
# and symbol addresses from nm. WHAT is one of hash, trace, points,
# snapshot, writes, vms, vmload, more.
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
	# m:monitor_stats() is the exit table of --stats.
	"$run" --eval "local m = nestlab.machine{kernel = '$kernel', disk = '$disk,slave',
		serial = 'none'}; m:run{insns = 3000000}; io.write(m:monitor_stats())" >"$tmp/out"
	"$run" "$kernel" --disk "$disk,slave" --serial none --max-insns 3000000 --stats \
		2>"$tmp/cli" >/dev/null
	# (But for the memory system's figures, page walks and their cycles,
	# which are not guest state and come out a little higher for the
	# script's machine, which also keeps a history.)
	other='page-walk references|memory-system cycles'
	grep -v '^nestlab-run: ' "$tmp/cli" | grep -Ev "$other" >"$tmp/want"
	grep -Ev "$other" "$tmp/out" | cmp -s - "$tmp/want" && [ -s "$tmp/want" ]
	check "m:monitor_stats() is the exit table --stats prints" $?
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
	grep -qx "com1 expect ok" "$tmp/out"; check "m.com1:expect, m.com2:expect, m.com1:send" $?
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
vmload)
	lua vmload.lua "$kernel" "$disk" "$other" "$tmp/dev.vmsnap" 2000000
	"$run" "$kernel" --disk "$disk,slave" --serial none --vm "dev:$other,serial=none" \
		--vm-load "dev=$tmp/dev.vmsnap" --max-insns 2000000 --state-hash 2>"$tmp/cli" >/dev/null
	want=$(sed -n 's/^nestlab-run: \(vm dev: state hash .*\)/\1/p' "$tmp/cli")
	[ -n "$want" ] && grep -qx "$want" "$tmp/out"
	check "vm:save's file, loaded by m:load_vm, goes on as under --vm-load (the VM's hash)" $?
	want=$(grep '^nestlab-run: state hash' "$tmp/cli" | sed 's/^nestlab-run: //')
	[ -n "$want" ] && grep -qx "$want" "$tmp/out"; check "... and the machine's" $?
	;;
more)
	fork=$(nm "$kernel" | awk '$3 == "fork" { print $1 }')
	"$run" "$kernel" --disk "$disk,slave" --serial none --max-insns 30000000 \
		--input 'com1~$ :ls\n' --record "$tmp/r.rec" 2>/dev/null >/dev/null
	lua more.lua "$kernel" "$disk" "$other" "$tmp/r.rec" "$fork" "$tmp"
	b=$(sed -n 's/^break break //p' "$tmp/out")
	[ -n "$b" ] && grep -qx "until until $b" "$tmp/out"
	check "m:run_until(eip == fork) stops where a breakpoint at fork does ($b)" $?
	"$run" "$kernel" --disk "$disk,slave" --serial "file:$tmp/cli-com1" --vga-dump --stats \
		--vm "dev:$other,serial=none" --max-insns 30000000 --state-hash \
		2>"$tmp/cli" >"$tmp/cli-out"
	grep -qx "run limit limit" "$tmp/out"; check "m.stopped says how the last run ended" $?
	cmp -s "$tmp/com1" "$tmp/cli-com1"; check "m:serial(1) is what --serial file: writes" $?
	cmp -s "$tmp/com1-object" "$tmp/cli-com1"; check "m.com1:output() too" $?
	grep -qx "vga object true" "$tmp/out"; check "m.vga:text() is m:vga_text()" $?
	[ -s "$tmp/vga" ] && tail -c "$(wc -c <"$tmp/vga")" "$tmp/cli-out" | cmp -s - "$tmp/vga"
	check "m:vga_text() is what --vga-dump prints" $?
	c=$(sed -n 's/^nestlab-run: [0-9]* instructions, \([0-9]*\) cycles, .*MIPS, \([0-9.]*\) virtual seconds$/\1 time \2/p' "$tmp/cli")
	[ -n "$c" ] && grep -qx "cycles $c" "$tmp/out"
	check "m.cycles and m.time_ns are --stats' cycles and virtual seconds ($c)" $?
	h=$(sed -n 's/^nestlab-run: vm dev: state hash //p' "$tmp/cli")
	[ -n "$h" ] && grep -qx "dev hash $h" "$tmp/out"; check "vm:state_hash() is --state-hash's for the VM" $?
	"$run" --replay "$tmp/r.rec" 2>"$tmp/cli" >/dev/null
	h=$(sed -n 's/.*replay identical to the recording: .*state hash \([0-9a-f]*\))$/\1/p' "$tmp/cli")
	[ -n "$h" ] && grep -qx "replayed 30000000 $h" "$tmp/out"
	check "nestlab.replay(file) run to the end comes to the recording's end state" $?
	;;
*)
	echo "test-lua.sh: no test '$what'"
	exit 2
	;;
esac

echo "$fails failed"
[ "$fails" = 0 ]

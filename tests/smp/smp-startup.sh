#!/usr/bin/env bash
# smp-startup.sh NESTLAB_RUN STARTUP_BIN SELFINIT_BIN - several CPUs
# (--smp, docs/board.md "Several CPUs"): application processors start as
# on a PC (smp-startup.asm checks INIT, start-up IPIs, their IDs); bad
# --smp options and guests that misuse INIT get clear messages, never a
# crash.
set -u
run=$1 bin=$2 selfinit=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
n=0

expect() { # expect NAME STATUS PATTERN CMD... : exit status and a message (stdout or stderr)
	local name=$1 want=$2 pattern=$3
	shift 3
	"$@" >"$tmp/out" 2>&1
	local got=$?
	n=$((n + 1))
	if [ "$got" = "$want" ] && grep -qiE -- "$pattern" "$tmp/out"; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name: exit $got (want $want), output /$pattern/ wanted:"
		sed 's/^/#    /' "$tmp/out" | tail -5
		fails=$((fails + 1))
	fi
}

flat=(--flat "$bin@0x100000" --max-insns 200000000)
for cpus in 2 3 8 16; do
	expect "$cpus CPUs start by INIT and start-up IPIs" 1 "^smp ok" \
		"$run" --monitor=none --smp $cpus "${flat[@]}"
done
expect "quantum 1" 1 "^smp ok" "$run" --monitor=none --smp 2 --smp-quantum 1 "${flat[@]}"
expect "quantum 1000000" 1 "^smp ok" \
	"$run" --monitor=none --smp 4 --smp-quantum 1000000 "${flat[@]}"
# A turn longer than the BSP's wait: the APs never get theirs in time.
expect "quantum 100000000 (longer than the guest waits)" 3 "did not start every AP" \
	"$run" --monitor=none --smp 4 --smp-quantum 100000000 "${flat[@]}"
expect "one CPU: the MP table lists one" 3 "fewer than 2 CPUs" "$run" --monitor=none "${flat[@]}"
expect "INIT to the bootstrap processor without firmware" 2 \
	"shut down.*INIT to the bootstrap processor" \
	"$run" --monitor=none --smp 2 --flat "$selfinit@0x100000" --max-insns 200000000
expect "--smp 0" 64 "--smp must be a number of CPUs from 1 to 16" \
	"$run" --monitor=none --smp 0 "${flat[@]}"
expect "--smp 17" 64 "--smp must be a number of CPUs from 1 to 16" \
	"$run" --monitor=none --smp 17 "${flat[@]}"
expect "--smp -3" 64 "--smp must be a number of CPUs from 1 to 16" \
	"$run" --monitor=none --smp -3 "${flat[@]}"
expect "--smp 99999999999" 64 "smp" "$run" --monitor=none --smp 99999999999 "${flat[@]}"
expect "--smp two" 64 "smp" "$run" --monitor=none --smp two "${flat[@]}"
expect "--smp-quantum 0" 64 "--smp-quantum must be from 1 to 100000000" \
	"$run" --monitor=none --smp 2 --smp-quantum 0 "${flat[@]}"
expect "--smp-quantum 100000001" 64 "--smp-quantum must be from 1 to 100000000" \
	"$run" --monitor=none --smp 2 --smp-quantum 100000001 "${flat[@]}"
expect "--smp 2 under the monitor (the default for a flat binary)" 64 \
	"bare only.*--monitor=none" "$run" --smp 2 "${flat[@]}"
expect "--smp 2 --monitor=nested" 64 "bare only" "$run" --smp 2 --monitor=nested "${flat[@]}"
# A snapshot of two CPUs into a machine of three, and of one into two.
"$run" --monitor=none --smp 2 "${flat[@]}" --snapshot-at 500000 "$tmp/two.snap" >/dev/null 2>&1
"$run" --monitor=none "${flat[@]}" --snapshot-at 100 "$tmp/one.snap" >/dev/null 2>&1
expect "a 2-CPU snapshot restored with --smp 2" 1 "^smp ok" \
	"$run" --monitor=none --smp 2 "${flat[@]}" --restore "$tmp/two.snap"
expect "a 2-CPU snapshot into 3 CPUs" 89 "2 CPUs, this machine 3.*--smp" \
	"$run" --monitor=none --smp 3 "${flat[@]}" --restore "$tmp/two.snap"
expect "a 1-CPU snapshot into 2 CPUs" 89 "1 CPU, this machine 2.*--smp" \
	"$run" --monitor=none --smp 2 "${flat[@]}" --restore "$tmp/one.snap"
echo "1..$n"
[ $fails -eq 0 ]

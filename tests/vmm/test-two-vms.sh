#!/bin/sh
# usage: test-two-vms.sh NESTLAB_RUN MINIOS_ELF FS_IMG DEVICE_KERNEL
#
# Acceptance 5 of the monitor: miniOS (with its shell session) and a device
# test kernel run side by side as two VMs on one machine and both pass; each
# ends in exactly the state it reaches when it runs alone (the hashes of
# --state-hash); destroying either one mid-run leaves the other passing, in
# its alone state. Under shadow paging and under nested paging.
set -u
run=$1 minios=$2 fs=$3 dev=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; fails=$((fails + 1)); }
session() {
	"$run" "$minios" --disk "$fs,slave" --input 'com1~$ :ls\n' --input 'com1~$ :forktest\n' \
		--input 'com1~$ :halt\n' --state-hash "$@"
}
hash_of() { grep "$1" "$2" | sed 's/.*state hash //'; }

for mode in shadow nested; do
	session --monitor=$mode >"$tmp/alone-minios.out" 2>"$tmp/alone-minios.err"
	"$run" "$dev" --monitor=$mode --state-hash >"$tmp/alone-dev.out" 2>"$tmp/alone-dev.err"
	h_minios=$(hash_of '^nestlab-run: state hash' "$tmp/alone-minios.err")
	h_dev=$(hash_of '^nestlab-run: state hash' "$tmp/alone-dev.err")

	session --monitor=$mode --vm "dev:$dev" >"$tmp/both.out" 2>"$tmp/both.err"
	status=$?
	if [ $status -eq 1 ] && grep -q 'forktest: ok' "$tmp/both.out"; then
		ok "$mode: miniOS beside the device kernel runs its session (forktest: ok, exit 0)"
	else
		notok "$mode: miniOS beside the device kernel: exit $status"; cat "$tmp/both.err"
	fi
	if grep -q '^\[dev\] DONE: 0 failures' "$tmp/both.out" && grep -q 'vm dev: exit, exit status 1' "$tmp/both.err"; then
		ok "$mode: the device kernel beside miniOS passes (DONE: 0 failures)"
	else
		notok "$mode: the device kernel beside miniOS did not pass"; grep '^\[dev\]' "$tmp/both.out" | grep -v PASS; cat "$tmp/both.err"
	fi
	[ "$(hash_of '^nestlab-run: state hash' "$tmp/both.err")" = "$h_minios" ] &&
		ok "$mode: miniOS ends in the state it reaches alone" ||
		notok "$mode: miniOS's state beside the other VM differs from alone"
	[ "$(hash_of 'vm dev: state hash' "$tmp/both.err")" = "$h_dev" ] &&
		ok "$mode: the device kernel ends in the state it reaches alone" ||
		notok "$mode: the device kernel's state beside miniOS differs from alone"

	# Destroy the device kernel early: miniOS goes on to the same end.
	session --monitor=$mode --vm "dev:$dev" --vm-at destroy:dev@600000 >"$tmp/d1.out" 2>"$tmp/d1.err"
	status=$?
	if [ $status -eq 1 ] && grep -q 'vm dev: destroyed' "$tmp/d1.err" &&
	   ! grep -q '^\[dev\] DONE' "$tmp/d1.out" &&
	   [ "$(hash_of '^nestlab-run: state hash' "$tmp/d1.err")" = "$h_minios" ]; then
		ok "$mode: destroying the device kernel mid-run leaves miniOS passing, in its alone state"
	else
		notok "$mode: destroying the device kernel mid-run (exit $status)"; cat "$tmp/d1.err"
	fi
	# Destroy miniOS early: the device kernel goes on to the same end.
	session --monitor=$mode --vm "dev:$dev" --vm-at destroy:vm0@600000 >"$tmp/d2.out" 2>"$tmp/d2.err"
	if grep -q '^\[dev\] DONE: 0 failures' "$tmp/d2.out" && ! grep -q 'forktest: ok' "$tmp/d2.out" &&
	   [ "$(hash_of 'vm dev: state hash' "$tmp/d2.err")" = "$h_dev" ]; then
		ok "$mode: destroying miniOS mid-run leaves the device kernel passing, in its alone state"
	else
		notok "$mode: destroying miniOS mid-run"; cat "$tmp/d2.err"
	fi
	# Pause the device kernel for a while: it still ends where it would alone.
	session --monitor=$mode --vm "dev:$dev" --vm-at pause:dev@300000 --vm-at resume:dev@5000000 \
		>"$tmp/p.out" 2>"$tmp/p.err"
	[ "$(hash_of 'vm dev: state hash' "$tmp/p.err")" = "$h_dev" ] && grep -q 'forktest: ok' "$tmp/p.out" &&
		ok "$mode: pausing and resuming the device kernel changes neither VM's run" ||
		{ notok "$mode: pause and resume"; cat "$tmp/p.err"; }
done
[ $fails -eq 0 ]

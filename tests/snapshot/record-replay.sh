#!/usr/bin/env bash
# Recordings: miniOS's session recorded, then replayed in another process
# must meet every checkpoint and end identically; cut, damaged and wrong
# files get clear messages and their own exit statuses.
set -u
run=$1 kernel=$2 disk=$3 vm=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
session=("$kernel" --disk "$disk,slave" --input 'com1~$ :ls\n' --input 'com1~$ :forktest\n'
         --input 'com1~$ :halt\n')
rec=$("$run" "${session[@]}" --record "$tmp/m.rec" --state-hash 2>&1)
st=$?
hash=$(echo "$rec" | grep -o 'state hash [0-9a-f]*')
[[ -s $tmp/m.rec && -n $hash ]] || { echo "not ok - no recording: $rec"; exit 1; }
echo "ok - recorded: $(echo "$rec" | grep recorded)"
check "replay in another process" $st "replay identical to the recording" --replay "$tmp/m.rec"
check "same final state" $st "$hash" --replay "$tmp/m.rec" --state-hash
size=$(stat -c %s "$tmp/m.rec")
head -c $((size * 3 / 4)) "$tmp/m.rec" >"$tmp/cut.rec"
check "cut recording" 91 "met all its" --replay "$tmp/cut.rec"
cp "$tmp/m.rec" "$tmp/flip.rec"
printf '\xff' | dd of="$tmp/flip.rec" bs=1 seek=$((size / 2)) conv=notrunc status=none
check "damaged recording" 89 "checksum mismatch" --replay "$tmp/flip.rec"
"$run" "${session[@]}" --snapshot-at 1000000 "$tmp/s.snap" >/dev/null 2>&1
check "a snapshot to --replay" 89 "not a recording (use --restore)" --replay "$tmp/s.snap"
check "a recording to --restore" 89 "not a snapshot (use --replay)" --restore "$tmp/m.rec"
# Two VMs: the recorder cuts the run in pieces, the replay runs each
# stretch whole; the VMs' round of turns goes on across the cuts, so the
# marks (counted over both VMs) meet.
if [[ -n $vm ]]; then
	rec=$("$run" "${session[@]}" --vm "dev:$vm" --record "$tmp/two.rec" --state-hash 2>&1)
	st=$?
	hash=$(echo "$rec" | grep '^nestlab-run: state hash' | grep -o 'state hash [0-9a-f]*')
	check "two VMs: replay in another process" $st "replay identical to the recording" \
		--replay "$tmp/two.rec"
	check "two VMs: same final state" $st "$hash" --replay "$tmp/two.rec" --state-hash
fi
echo "# $fails failed"
[[ $fails -eq 0 ]]

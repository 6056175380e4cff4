#!/usr/bin/env bash
# Several CPUs, recorded: the session (nestlab-run's arguments after RUN)
# recorded, then replayed in another process, must meet every checkpoint
# and end with the recording's state hash (every CPU's state, the turns).
set -u
run=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rec=$("$run" "$@" --record "$tmp/m.rec" --state-hash 2>&1)
hash=$(echo "$rec" | grep -o 'state hash [0-9a-f]*')
[[ -s $tmp/m.rec && -n $hash ]] || { echo "not ok 1 - no recording: $rec"; exit 1; }
echo "ok 1 - recorded: $(echo "$rec" | grep recorded)"
rep=$("$run" --replay "$tmp/m.rec" --state-hash 2>&1)
fails=0
if echo "$rep" | grep -q "replay identical to the recording"; then
	echo "ok 2 - replay in another process meets every checkpoint"
else
	echo "not ok 2 - replay in another process: $(echo "$rep" | tail -3)"
	fails=1
fi
if echo "$rep" | grep -q "$hash"; then
	echo "ok 3 - same final state ($hash)"
else
	echo "not ok 3 - final state differs: want $hash, got $(echo "$rep" | grep 'state hash')"
	fails=1
fi
[[ $fails -eq 0 ]]

#!/usr/bin/env bash
# test-determinism.sh NESTLAB_RUN ARGS... - runs the same guest three times,
# once alone, then twice at the same time while two busy loops load the host,
# and requires identical exit statuses, identical machine state hashes and
# identical console hashes (nestlab-run --state-hash). Host timing must never
# reach the guest.
set -u
run=$1
shift
tmp=$(mktemp -d)
hogs=()
cleanup() {
	for p in "${hogs[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

go() {
	local n=$1
	shift
	"$run" "$@" --state-hash >"$tmp/$n.out" 2>"$tmp/$n.err"
	echo $? >"$tmp/$n.status"
}

go 1 "$@"
for _ in 1 2; do
	(while :; do :; done) &
	hogs+=($!)
done
go 2 "$@" &
p2=$!
go 3 "$@" &
p3=$!
wait "$p2" "$p3"

fails=0
for n in 1 2 3; do
	grep -h "hash" "$tmp/$n.err" >"$tmp/$n.hash"
	if [ ! -s "$tmp/$n.hash" ]; then
		echo "FAIL - run $n printed no hashes:"
		cat "$tmp/$n.err"
		fails=1
	fi
done
echo "run 1: exit $(cat "$tmp/1.status")"
cat "$tmp/1.hash"
for n in 2 3; do
	if ! cmp -s "$tmp/1.status" "$tmp/$n.status" || ! cmp -s "$tmp/1.hash" "$tmp/$n.hash" ||
		! cmp -s "$tmp/1.out" "$tmp/$n.out"; then
		echo "FAIL - run $n (under load) differs: exit $(cat "$tmp/$n.status")"
		cat "$tmp/$n.hash"
		diff "$tmp/1.out" "$tmp/$n.out" | head -20
		fails=1
	else
		echo "ok - run $n under load: same exit status, state hash, console hash and stdout"
	fi
done
exit $fails

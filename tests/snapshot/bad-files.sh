#!/usr/bin/env bash
# Bad snapshot files get exit status 89 (66 if missing) and a message that
# names the file and what is wrong; nothing crashes.
set -u
run=$1 kernel=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # name, expected status, expected text, args...
	local name=$1 want=$2 text=$3
	shift 3
	out=$("$run" "$@" 2>&1)
	st=$?
	if [[ $st -eq $want && $out == *"$text"* ]]; then
		echo "ok - $name: status $st, '$text'"
	else
		echo "not ok - $name: status $st (want $want), output:"
		echo "$out" | tail -5
		fails=$((fails + 1))
	fi
}
"$run" "$kernel" --snapshot-at 20000 "$tmp/good.snap" >/dev/null 2>&1
[[ -s $tmp/good.snap ]] || { echo "not ok - no snapshot written"; exit 1; }
size=$(stat -c %s "$tmp/good.snap")
"$run" "$kernel" >/dev/null 2>&1
check "restores" $? "DONE: 0 failures" --restore "$tmp/good.snap"
check "missing file" 66 "cannot restore: " --restore "$tmp/none.snap"
: >"$tmp/empty.snap"
check "empty file" 89 "cannot restore: " --restore "$tmp/empty.snap"
head -c $((size / 2)) "$tmp/good.snap" >"$tmp/cut.snap"
check "truncated" 89 "not a complete snapshot" --restore "$tmp/cut.snap"
cp "$tmp/good.snap" "$tmp/flip.snap"
printf '\xff' | dd of="$tmp/flip.snap" bs=1 seek=$((size / 2)) conv=notrunc status=none
check "damaged" 89 "checksum mismatch" --restore "$tmp/flip.snap"
echo "hello" >"$tmp/text.snap"
check "not a snapshot" 89 "not a nestlab" --restore "$tmp/text.snap"
check "bad --snapshot-at" 64 "--snapshot-at wants" "$kernel" --snapshot-at=x:y
echo "# $fails failed"
[[ $fails -eq 0 ]]

#!/usr/bin/env bash
# Bad snapshot files get exit status 89 (66 if missing) and a message that
# names the file and what is wrong; nothing crashes.
set -u
run=$1 kernel=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
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

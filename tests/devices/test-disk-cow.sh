#!/usr/bin/env bash
# test-disk-cow.sh NESTLAB_RUN KERNEL IMAGE [ARGS...] - a guest that writes to its IDE
# master must leave the image file untouched (copy-on-write is the default),
# and with ',writeback' its writes must reach a copy of the file (so the
# first half of the test could fail: the guest really writes).
set -u
run=$1
kernel=$2
image=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { if [ "$2" = 0 ]; then echo "ok - $1"; else echo "FAIL - $1"; fails=1; fi; }

cp "$image" "$tmp/master.img"
before=$(sha256sum <"$tmp/master.img")
"$run" "$kernel" --disk "$tmp/master.img" "$@" --serial none --max-insns 2000000000 >/dev/null 2>"$tmp/err"
status=$?
[ "$status" = 1 ]
check "the writing guest passes on a copy-on-write disk (exit $status)" $?
[ "$(sha256sum <"$tmp/master.img")" = "$before" ]
check "the image file is unchanged after the guest wrote to its copy" $?

"$run" "$kernel" --disk "$tmp/master.img,writeback" "$@" --serial none --max-insns 2000000000 \
	>/dev/null 2>"$tmp/err"
status=$?
[ "$status" = 1 ]
check "the writing guest passes with ',writeback' (exit $status)" $?
[ "$(sha256sum <"$tmp/master.img")" != "$before" ]
check "with ',writeback' the guest's writes reach the file" $?
exit $fails

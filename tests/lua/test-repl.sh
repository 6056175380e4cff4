#!/usr/bin/env bash
# test-repl.sh NESTLAB_RUN ROM - nestlab-run --lua with its input piped:
# expressions print their values, an open statement reads more lines, an
# error is printed and the prompt goes on with the machine as it was.
set -u
run=$1 rom=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # check NAME CONDITION-RESULT
	if [ "$2" = 0 ]; then echo "ok - $1"; else echo "FAIL - $1"; fails=$((fails + 1)); fi
}

cat >"$tmp/in" <<LUA
6*7
function twice(a)
return a * 2
end
twice(21) + 1
m = nestlab.machine{rom = '$rom', serial = 'none'}
m:run{insns = 50}
m.icount
m:read(nil, 4)
m.icount
m:read(0xffff0, 1, {phys = true}):byte()
LUA
"$run" --lua <"$tmp/in" >"$tmp/out" 2>"$tmp/err"
check "--lua ends with its input, status 0" $?
grep -qx "42" "$tmp/out"; check "an expression prints its value" $?
grep -qx "43" "$tmp/out"; check "a function over three lines, then called" $?
grep -q "^nestlab-run: stdin:1: bad argument #1 to 'read'" "$tmp/err"
check "an error is printed with its line" $?
[ "$(grep -cx 50 "$tmp/out")" = 2 ]; check "the machine is as it was after the error" $?
# The reset vector (physical 0xFFFF0) is the ROM file's 16th byte from its end.
want=$(tail -c 16 "$rom" | od -An -tu1 -N1 | tr -d ' ')
grep -qx "$want" "$tmp/out"; check "a physical read of the reset vector is the ROM file's byte ($want)" $?
printf 'print(arg[0], ...)\nreturn 3\n' | "$run" --script - x y >"$tmp/out" 2>"$tmp/err"
[ $? = 3 ] && [ "$(cat "$tmp/out")" = "-	x	y" ]
check "--script - reads the script from stdin (and returns its status)" $?
"$run" --lua extra </dev/null >/dev/null 2>"$tmp/err"
[ $? = 64 ] && grep -q "takes no arguments" "$tmp/err"; check "--lua takes no arguments" $?

echo "$fails failed"
[ "$fails" = 0 ]

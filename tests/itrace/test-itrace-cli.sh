#!/usr/bin/env bash
# test-itrace-cli.sh NESTLAB_RUN NESTLAB_ITRACE CPUBOUND_ELF - nestlab-run
# --itrace and nestlab-itrace from the command line: a trace written, the
# same state hash as without it, each command's answer and exit status,
# the refused combinations, and files that are not traces or are cut short
# (docs/itrace.md).
set -u
run=$1 itrace=$2 kernel=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # check NAME CONDITION-RESULT
	if [ "$2" = 0 ]; then echo "ok - $1"; else echo "FAIL - $1"; fails=$((fails + 1)); fi
}

expect_status() { # expect_status NAME WANT CMD...
	local name=$1 want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	[ "$got" = "$want" ]
	check "$name (exit $got, want $want)" $?
}

args=("$kernel" --cmdline 'passes=1 fib=12' --state-hash)
"$run" "${args[@]}" >/dev/null 2>"$tmp/plain.err"
"$run" "${args[@]}" --itrace "$tmp/t.itrace" >/dev/null 2>"$tmp/traced.err"
check "the trace is written" $([ -s "$tmp/t.itrace" ]; echo $?)
grep -q 'wrote [0-9]* steps to the instruction trace' "$tmp/traced.err"
check "nestlab-run says how many steps" $?
[ "$(grep 'state hash' "$tmp/plain.err")" = "$(grep 'state hash' "$tmp/traced.err")" ]
check "the same state hash with and without --itrace" $?

expect_status "info" 0 "$itrace" "$tmp/t.itrace" info
grep -q '^finished: *yes' "$tmp/out"
check "info: a finished trace" $?
expect_status "show" 0 "$itrace" "$tmp/t.itrace" show 100 5
check "show: five steps from 100" $([ "$(wc -l <"$tmp/out")" = 5 ] && grep -q '^ *100 L' "$tmp/out"; echo $?)
expect_status "last-eip of an instruction that ran" 0 "$itrace" "$tmp/t.itrace" last-eip 0x100012
grep -q '^instruction 2 at L1 00100012' "$tmp/out"
check "last-eip: the instruction, its level and EIP" $?
expect_status "last-eip before it ran" 1 "$itrace" "$tmp/t.itrace" last-eip 0x100012 --before 2
expect_status "last-write of the stack" 0 "$itrace" "$tmp/t.itrace" last-write 0x114000
expect_status "last-write of a byte never written" 1 "$itrace" "$tmp/t.itrace" last-write 0x3ff000
expect_status "a bad number" 2 "$itrace" "$tmp/t.itrace" last-eip zz
expect_status "an unknown command" 2 "$itrace" "$tmp/t.itrace" frob
expect_status "--help" 0 "$itrace" --help
expect_status "a file that is not a trace" 3 "$itrace" "$kernel" info
grep -q 'not a nestlab' "$tmp/err"
check "... says so" $?
expect_status "a missing file" 3 "$itrace" "$tmp/none.itrace" info
head -c $(($(stat -c %s "$tmp/t.itrace") / 2)) "$tmp/t.itrace" >"$tmp/cut.itrace"
expect_status "a trace cut in half still answers" 0 "$itrace" "$tmp/cut.itrace" info
grep -q 'warning: .*not finished' "$tmp/err"
check "... with a warning" $?
expect_status "--itrace with --vm is refused" 64 "$run" "$kernel" --vm "name=b,kernel=$kernel" \
	--itrace "$tmp/x.itrace"
grep -q -- '--itrace follows one guest' "$tmp/err"
check "... saying why" $?
expect_status "--itrace into a missing directory" 73 "$run" "$kernel" --itrace "$tmp/no/x.itrace"

[ $fails = 0 ]

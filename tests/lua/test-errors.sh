#!/usr/bin/env bash
# test-errors.sh NESTLAB_RUN MINIOS_ELF FS_IMG OTHER_KERNEL - bad scripts
# and bad arguments: each stops the script with exit status 92 and a
# message that names the script's file and line and says what is wrong;
# never a crash.
set -u
run=$(realpath "$1") kernel=$(realpath "$2") disk=$(realpath "$3") other=$(realpath "$4")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
cd "$tmp"

check() { # check NAME CONDITION-RESULT
	if [ "$2" = 0 ]; then echo "ok - $1"; else echo "FAIL - $1"; fails=$((fails + 1)); fi
}

# expect NAME LINE PATTERN CODE: CODE as case.lua fails at LINE with PATTERN.
expect() {
	local name=$1 line=$2 pat=$3
	printf '%s\n' "$4" >case.lua
	"$run" --script case.lua >out 2>err
	local st=$?
	local first
	first=$(head -1 err)
	[ "$st" = 92 ] && grep -qF -- "nestlab-run: case.lua:$line: $pat" err
	check "$name (exit $st: $first)" $?
}

boot="local m = nestlab.machine{kernel='$kernel', disk='$disk,slave', serial='none'}"

expect "a syntax error" 2 "unexpected symbol near ')'" "local x = 1
print(x +)"
expect "a runtime error, with a traceback" 2 "boom" "local function f()
	error('boom')
end
f()"
grep -q "stack traceback" err && grep -q "case.lua:4: in main chunk" err
check "the traceback names the calls" $?
printf 'error(setmetatable({}, {}))\n' >case.lua
"$run" --script case.lua >out 2>err
[ $? = 92 ] && grep -q "^nestlab-run: (an error object that is a table value)" err
check "an error object that is not a string is said to be one" $?

expect "machine{} wants a table" 1 "bad argument #1 to 'machine' (table expected, got number)" \
	"nestlab.machine(3)"
expect "machine{} with a bad disk flag: nestlab-run's message" 1 \
	"nestlab.machine: --disk 'a,bogus': unknown flag 'bogus' (use FILE[,slave][,writeback])" \
	"nestlab.machine{kernel='k', disk='a,bogus'}"
expect "machine{} with a bad size" 1 "nestlab.machine: --mem '5X' must be a size such as 512M" \
	"nestlab.machine{rom='x', mem='5X'}"
expect "machine{} with an unknown option" 1 "nestlab.machine: Unknown option --bogus" \
	"nestlab.machine{rom='x', bogus=1}"
expect "machine{} with an option of a run" 1 \
	"nestlab.machine: --gdb is about a run of nestlab-run, not about a machine" \
	"nestlab.machine{rom='x', gdb=1234}"
expect "machine{} with a value of the wrong type" 1 \
	"nestlab.machine: option disk must be a string, a number, a boolean or a list of them, not a function" \
	"nestlab.machine{kernel='k', disk=print}"
expect "machine{} with a kernel that does not exist" 1 "nestlab.machine: " \
	"nestlab.machine{kernel='$tmp/none.elf'}"
grep -q "none.elf" err; check "... names the file" $?
expect "machine{} with nothing to run" 1 "nestlab.machine: nothing to run" "nestlab.machine{}"
expect "nestlab.restore of a missing file" 1 "nestlab.restore: " "nestlab.restore('$tmp/no.snap')"
expect "nestlab.replay of a missing file" 1 "nestlab.replay: " "nestlab.replay('$tmp/no.rec')"

expect "m:run with a string" 2 "bad argument #1 to 'run' (table expected, got string)" "$boot
m:run('x')"
expect "m:run with a bad count" 2 "option insns must be a whole number of instructions" "$boot
m:run{insns=-3}"
expect "m:read at a negative address" 2 "bad argument #1 to 'read' (address out of range (0 to 0xffffffff))" "$boot
m:read(-1, 4)"
expect "m:read past 4 GiB" 2 "bad argument #2 to 'read' (the range goes past 4 GiB)" "$boot
m:read(0xfffffff0, 100, {phys=true})"
expect "m:read of an unmapped virtual address" 3 \
	"m:read: virtual address 0x70000000 (+4) is not mapped" "$boot
m:run{insns=3000000}
m:read(0x70000000, 4)"
expect "m:write with a number for the bytes" 2 "bad argument #2 to 'write' (string expected, got table)" "$boot
m:write(0x1000, {}, {phys=true})"
expect "a register that does not exist" 2 "there is no register 'rax'" "$boot
print(m.regs.rax)"
expect "a read-only register" 2 "register cs is read-only" "$boot
m.regs.cs = 0x10"
expect "a register value out of range" 2 "register eax takes a value from 0 to 0xffffffff, not 1099511627776" "$boot
m.regs.eax = 2^40 // 1"
expect "eflags bits that are the monitor's" 3 "of eflags only the status flags and DF may change" "$boot
m:run{insns=1000}
m.regs.eflags = m.regs.eflags ~ 0x200"
expect "a machine's field is read-only" 2 "a machine's fields are read-only" "$boot
m.icount = 5"
expect "a method that does not exist" 2 "a machine has no field or method 'fly'" "$boot
m:fly()"
expect "a closed machine" 3 "the machine was closed" "$boot
m:close()
m:run{insns=10}"
expect "a VM that does not exist" 2 "m:vm: there is no VM called 'nope'" "$boot
m:vm('nope')"
expect "a destroyed VM" 5 "vm:pause: VM dev was destroyed" \
	"local m = nestlab.machine{kernel='$kernel', disk='$disk,slave', serial='none', vm='dev:$other,serial=none'}
m:run{insns=100000}
local dev = m:vm('dev')
dev:destroy()
dev:pause()"
expect "m:load_vm into a VM that does not exist" 2 "m:load_vm: there is no VM called 'dev' to load into" "$boot
m:load_vm('dev', 'x.vmsnap')"
expect "m:load_vm of a file that does not exist" 2 "m:load_vm: " "$boot
m:load_vm('vm0', '$tmp/none.vmsnap')"
grep -q "none.vmsnap" err; check "... names the file" $?
expect "a breakpoint callback that is not a function" 2 \
	"bad argument #2 to 'breakpoint' (function expected, got number)" "$boot
m:breakpoint(0x1000, 5)"
expect "a watchpoint of length 0" 2 "bad argument #2 to 'watchpoint' (length out of range (1 to 4096))" "$boot
m:watchpoint(0x1000, 0, 'write')"
expect "a watchpoint of a kind that is not one" 2 "bad argument #3 to 'watchpoint' (invalid option 'jump')" "$boot
m:watchpoint(0x1000, 4, 'jump')"
expect "an event the engine has no hook for" 2 "m:on: events 'exit' are not offered yet" "$boot
m:on('exit', {}, print)"
expect "an error in a breakpoint callback, at the callback's line" 2 "in the callback" "$boot
m:breakpoint(0x$(nm "$kernel" | awk '$3 == "fork" { print $1 }'), function() error('in the callback') end)
m:run{insns=50000000}"
expect "m:seek outside the history" 2 "m:seek: instruction 99999999 is outside the history" "$boot
m:seek(99999999)"
expect "a machine closed by a point's callback" 3 "the machine was closed by a point's callback" "$boot
m:breakpoint(0x$(nm "$kernel" | awk '$3 == "fork" { print $1 }'), function(mm) mm:close() end)
m:run{insns=50000000}"
expect "m:seek on a machine with two VMs" 3 "m:seek: not yet for a machine with more VMs than one" \
	"local m = nestlab.machine{kernel='$kernel', disk='$disk,slave', serial='none', vm='dev:$other,serial=none'}
m:run{insns=100000}
m:seek(10)"
expect "m:snapshot to a directory that does not exist" 2 "m:snapshot: " "$boot
m:snapshot('$tmp/no/dir/s.snap')"

expect "os.execute without --allow-host" 1 "os.execute is not allowed in a script: it reaches the host" \
	"os.execute('true')"
expect "io.popen without --allow-host" 1 "io.popen is not allowed in a script" "io.popen('true')"
expect "os.exit without --allow-host" 1 "os.exit is not allowed in a script" "os.exit(3)"
printf 'local n = 0\nwhile true do n = n + 1 end\n' >case.lua
"$run" --script-limit 1000000 --script case.lua >out 2>err
[ $? = 92 ] && grep -q "^nestlab-run: case.lua:2: the script ran past its limit of 1000000 Lua instructions" err
check "a script that loops forever is stopped by --script-limit, at its line" $?
printf 'local t = {}\nfor i = 1, 1e9 do t[i] = ("x"):rep(64) .. i end\n' >case.lua
"$run" --script-mem 32M --script case.lua >out 2>err
[ $? = 92 ] && grep -q "^nestlab-run: the script ran out of memory (--script-mem 32 MiB)" err
check "a script that allocates without bound is stopped by --script-mem" $?
"$run" --script-limit 0 --eval 1 >out 2>err
[ $? = 64 ] && grep -q "script-limit wants a number" err; check "--script-limit 0 is a usage error" $?
"$run" --allow-host --eval 'os.exit(5)' >out 2>err
check "--allow-host gives os.exit (exit $?, want 5)" $(($? != 5))

"$run" --script "$tmp/none.lua" >out 2>err
st=$?
[ "$st" = 66 ] && grep -q "cannot open $tmp/none.lua" err
check "a script that does not exist: exit 66 (exit $st)" $?
"$run" --script >out 2>err
[ $? = 64 ] && grep -q "needs a FILE" err; check "--script without FILE is a usage error" $?
"$run" --rom x --script y.lua >out 2>err
[ $? = 64 ] && grep -q "come first" err; check "--script after other options says it comes first" $?
"$run" --eval 'return 7' >out 2>err
check "--eval: the integer the chunk returns is the exit status" $(($? != 7))
"$run" --eval 'print(select("#", ...), ..., arg[0], arg[2])' a b >out 2>err
[ "$(cat out)" = "2	a	(eval)	b" ]; check "--eval CODE ARGS: ... and arg hold ARGS" $?

echo "$fails failed"
[ "$fails" = 0 ]

-- breakpoint.lua KERNEL DISK ADDR: a breakpoint with a callback. ADDR is
-- a function's address in hex, e.g. from nm:
--
--   nestlab-run --script scripts/examples/breakpoint.lua \
--       build/guests/minios/minios.elf build/guests/minios/fs.img \
--       $(nm build/guests/minios/minios.elf | awk '$3 == "fork" { print $1 }')
--
-- Each time the guest calls the function, the callback prints the caller's
-- return address (the word at ESP); at the third call it stops the run.
local kernel, disk, addr = ...
assert(kernel and disk and addr, "usage: breakpoint.lua KERNEL DISK ADDR")
addr = tonumber(addr, 16)

local m = nestlab.machine{kernel = kernel, disk = disk .. ",slave", serial = "none"}
local calls = 0
m:breakpoint(addr, function(mm, hit)
	calls = calls + 1
	local ret = string.unpack("<I4", mm:read(mm.regs.esp, 4))
	print(("call %d at instruction %d: eip=%08x, returns to %08x"):format(calls, mm.icount,
	      hit.addr, ret))
	return calls == 3 -- true stops the run
end)
assert(m:expect("$ ", {insns = 200000000}), "no shell prompt")
m:send("forktest\n")
local stop = m:run{insns = 300000000}
print(("the run stopped: %s, %d calls"):format(stop, calls))

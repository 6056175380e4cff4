-- more.lua KERNEL DISK OTHER RECORDING FORK OUT: run_until, serial, vga_text,
-- cycles and time, a VM's hash, nestlab.replay; files to compare in OUT.
local kernel, disk, other, recording, fork, out = ...
fork = tonumber(fork, 16)
local function boot(extra)
	local o = {kernel = kernel, disk = disk .. ",slave", serial = "none"}
	for k, v in pairs(extra or {}) do o[k] = v end
	return nestlab.machine(o)
end
local function save(name, text)
	local f = assert(io.open(out .. "/" .. name, "wb"))
	f:write(text)
	f:close()
end

-- run_until stops where a breakpoint at the same address stops.
local u = boot()
local how = u:run_until(function(m) return m.regs.eip == fork end, {insns = 20000000})
print(("until %s %d %08x"):format(how, u.icount, u.regs.eip))
local b = boot()
b:breakpoint(fork)
print(("break %s %d %08x"):format(b:run{insns = 20000000}, b.icount, b.regs.eip))

-- 30 million instructions beside a second VM: the consoles, the clock.
local m = boot{vm = "dev:" .. other .. ",serial=none"}
print("run " .. m:run{insns = 30000000} .. " " .. m.stopped)
save("com1", m:serial(1))
save("com1-object", m.com1:output())
save("vga", m:vga_text())
print("vga object " .. tostring(m.vga:text() == m:vga_text()))
print(("cycles %d time %.6f"):format(m.cycles, m.time_ns / 1e9))
print("dev hash " .. m:vm("dev"):state_hash())
print("dev console bytes " .. #m:vm("dev"):console())

-- A recording, replayed from its start to its end.
local r = nestlab.replay(recording)
r:run{insns = 30000000 - r.icount}
print(("replayed %d %s"):format(r.icount, r:state_hash()))

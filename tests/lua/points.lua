-- points.lua KERNEL DISK FORK TICKS: a breakpoint at fork and a write
-- watchpoint on ticks (addresses from nm), over miniOS's boot to its prompt.
local kernel, disk, fork, ticks = ...
fork, ticks = tonumber(fork, 16), tonumber(ticks, 16)
local function boot()
	return nestlab.machine{kernel = kernel, disk = disk .. ",slave", serial = "none"}
end

-- A callback that stops the run: the machine is at the breakpoint.
local m = boot()
local seen
m:breakpoint(fork, function(mm, hit)
	seen = hit
	return true
end)
local stop = m:run{insns = 50000000}
print(("break stop=%s kind=%s addr=%08x eip=%08x"):format(stop, seen.kind, seen.addr, m.regs.eip))

-- Callbacks that go on: counted; the run ends where one without points ends.
local c = boot()
local forks, tick_writes = 0, 0
c:breakpoint(fork, function() forks = forks + 1 end)
local w = c:watchpoint(ticks, 4, "write", function(mm, hit)
	assert(hit.kind == "write" and hit.addr >= ticks and hit.addr < ticks + 4)
	tick_writes = tick_writes + 1
end)
c:run{insns = 20000000}
local plain = boot()
plain:run{insns = 20000000}
print(("counted forks=%d tick_writes=%d same_state=%s"):format(forks, tick_writes,
      tostring(c:state_hash() == plain:state_hash())))

-- m:on("insn", {addr=...}) is a breakpoint whose callback goes on; a
-- deleted point fires no more.
local o = boot()
local on_hits = 0
local id = o:on("insn", {addr = fork}, function() on_hits = on_hits + 1 end)
o:run{insns = 20000000}
o:delete(id)
local before = on_hits
o:run{insns = 5000000}
print(("on hits=%d after_delete=%d"):format(on_hits, on_hits - before))

-- snapshot.lua KERNEL DISK N M FILE: a snapshot at N, then on to M; and
-- the same from nestlab.restore(FILE).
local kernel, disk, n, mm, file = ...
n, mm = tonumber(n), tonumber(mm)
local m = nestlab.machine{kernel = kernel, disk = disk .. ",slave", serial = "none"}
m:run{insns = n}
m:snapshot(file)
m:run{insns = mm - n}
print("on " .. m.icount .. " " .. m:state_hash())
local r = nestlab.restore(file)
assert(r.icount == n, "restored at " .. r.icount)
r:run{insns = mm - n}
print("restored " .. r.icount .. " " .. r:state_hash())

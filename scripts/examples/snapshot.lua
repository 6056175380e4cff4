-- snapshot.lua KERNEL DISK FILE: a snapshot, a step back in time, and a
-- restore: the machine comes to the same state each way.
--
--   nestlab-run --script scripts/examples/snapshot.lua \
--       build/guests/minios/minios.elf build/guests/minios/fs.img /tmp/minios.snap
local kernel, disk, file = ...
assert(kernel and disk and file, "usage: snapshot.lua KERNEL DISK FILE")

local m = nestlab.machine{kernel = kernel, disk = disk .. ",slave", serial = "none"}
m:run{insns = 5000000}
m:snapshot(file)
m:run{insns = 1000000}
local ahead = m:state_hash()

m:seek(5000000) -- back to the snapshot's moment, through the history
m:run{insns = 1000000}
print("after seek and run again: " .. (m:state_hash() == ahead and "the same" or "DIFFERENT"))

local r = nestlab.restore(file) -- a second machine, from the file
r:run{insns = 1000000}
print("from the snapshot file:   " .. (r:state_hash() == ahead and "the same" or "DIFFERENT"))
print("state hash at " .. r.icount .. ": " .. ahead)

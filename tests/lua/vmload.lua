-- vmload.lua KERNEL DISK OTHER FILE N: saves VM dev (OTHER) of one machine
-- after 300000 instructions, loads it into the same slot of a second and
-- runs that to N instructions in all.
local kernel, disk, other, file, n = ...
local function boot()
	return nestlab.machine{kernel = kernel, disk = disk .. ",slave", serial = "none",
	                       vm = "dev:" .. other .. ",serial=none"}
end
local a = boot()
a:run{insns = 300000}
local saved = a:vm("dev").icount
a:vm("dev"):save(file)
local b = boot()
local at = b:load_vm("dev", file)
assert(at == saved, ("loaded at %d, saved at %d"):format(at, saved))
b:run{insns = tonumber(n) - b.icount}
print("vm dev: state hash " .. b:vm("dev"):state_hash())
print("state hash " .. b:state_hash())

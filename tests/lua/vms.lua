-- vms.lua KERNEL DISK OTHER N M: two VMs; at N the second is destroyed,
-- then the machine runs to M, as --vm dev:OTHER --vm-at destroy:dev@N does.
local kernel, disk, other, n, mm = ...
n, mm = tonumber(n), tonumber(mm)
local m = nestlab.machine{kernel = kernel, disk = disk .. ",slave", serial = "none",
                          vm = "dev:" .. other .. ",serial=none"}
m:run{insns = n}
local vms = m:vms()
for _, v in ipairs(m:vms()) do
	print(("vm %s level=%d state=%s icount>0=%s exits>0=%s"):format(v.name, v.level, v.state,
	      tostring(v.icount > 0), tostring(v.exits > 0)))
end
assert(vms[1].regs.eip and vms[2].translate, "fields and methods")
m:vm("dev"):destroy()
print("after destroy: " .. vms[2].state)
m:run{insns = mm - n}
print("icount " .. m.icount)
print("state hash " .. m:state_hash())

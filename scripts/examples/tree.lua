-- tree.lua KERNEL DISK OTHER: two VMs under the engine's monitor; prints
-- each one's registers and the translation of its EIP down to host
-- memory, pauses one and shows that the other goes on.
--
--   nestlab-run --script scripts/examples/tree.lua build/guests/minios/minios.elf \
--       build/guests/minios/fs.img build/guests/pic-pit.elf
local kernel, disk, other = ...
assert(kernel and disk and other, "usage: tree.lua KERNEL DISK OTHER")

local m = nestlab.machine{kernel = kernel, disk = disk .. ",slave", serial = "none",
                          vm = "second:" .. other .. ",mem=8M,serial=none"}
m:run{insns = 2000000}

local function show(vm)
	local r = vm.regs
	print(("%-7s level %d  %-9s eip=%08x esp=%08x cr3=%08x cpl=%d  %d instructions, %d exits")
	      :format(vm.name, vm.level, vm.state, r.eip, r.esp, r.cr3, r.cpl, vm.icount, vm.exits))
	local t = vm:translate(r.eip)
	if t then
		print(("        eip: virtual %08x -> guest-physical %08x -> host-physical %08x")
		      :format(t.va, t.gpa, t.hpa))
	end
end

for _, vm in ipairs(m:vms()) do show(vm) end

local first = m:vm("vm0")
local paused_at = first.icount
first:pause()
m:run{insns = 500000}
print(("vm0 paused: %s at %d instructions, still %d"):format(first.state, paused_at,
      first.icount))
first:resume()
m:run{insns = 500000}
print(("vm0 resumed: %s, now %d"):format(first.state, first.icount))

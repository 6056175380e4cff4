-- writes.lua KERNEL DISK: a register and a memory write are logged
-- inputs: going back before them and forward again gives them again.
local kernel, disk = ...
local function boot()
	return nestlab.machine{kernel = kernel, disk = disk .. ",slave", serial = "none"}
end
local m, plain = boot(), boot()
m:run{insns = 3000000}
plain:run{insns = 3000000}
local esp = m.regs.esp
m.regs.esi = 0x1234abcd
m:write(esp - 64, "nestlab")
assert(m.regs.esi == 0x1234abcd, "esi reads back")
assert(m:read(esp - 64, 7) == "nestlab", "memory reads back")
local phys = m:translate(esp - 64)
assert(m:read(phys, 7, {phys = true}) == "nestlab", "physical read of the translation")
m:run{insns = 200000}
plain:run{insns = 200000}
local after = m:state_hash()
print("differs_from_plain " .. tostring(after ~= plain:state_hash()))
m:seek(2999000)
m:run{insns = 201000}
print("again_after_seek " .. tostring(m:state_hash() == after) .. " " .. m.icount)

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

-- m.com1:expect finds text in COM1's output only, each port and the
-- console log with a place of its own; m.com1:send types into COM1.
local s = boot()
assert(s.com1:expect("$ ", {insns = 200000000}), "COM1 shows the prompt")
assert(not s.com2:expect("$ ", {insns = 1000}), "COM2 does not")
s.com1:send("echo nestlab\n")
assert(s.com1:expect("nestlab", {insns = 200000000}), "the echo of what was typed")
assert(s.com1:expect("nestlab", {insns = 200000000}), "the output of echo")
assert(s:expect("nestlab", {insns = 1}), "the console log has it too, from its own place")
print("com1 expect ok")
